// SPDX-License-Identifier: GPL-2.0

//! Which reserved-memory regions and pool names the bound pools hold.
//!
//! The reserved-memory core lets any number of devices share one region; cmabuf does
//! not: two pools handing out the same memory would corrupt each other's buffers, and
//! two pools with one name would collide in `/dev` and debugfs. The registry also holds
//! the debugfs root that every pool's directory hangs off.

use crate::{
    allocator::Allocator,
    ffi::{
        debugfs::Dir,
        reaper,
        HeapSlot,
        REGISTRY, //
    },
    orphans::Orphan,
};
use kernel::{
    device::Device,
    prelude::*,
    str::CString,
    sync::Arc, //
};

/// One bound pool's claim.
struct Claim {
    region: CString,
    name: CString,
    heap_name: CString,
    owner: CString,
}

/// Module-wide state behind [`REGISTRY`].
pub(crate) struct Registry {
    claims: KVec<Claim>,
    debugfs_root: Option<Dir>,
    /// Every dma-heap registered since load (they are never removed).
    heaps: KVec<&'static HeapSlot<Allocator>>,
    /// Pages that outlived their pool (`crate::orphans`).
    pub(crate) orphans: KVec<Orphan>,
    /// While module init runs: the pools whose dma-heap waits for init to succeed
    /// (see [`serve_heap`]); `None` once it has.
    pending_heaps: Option<KVec<(CString, Arc<Allocator>)>>,
}

impl Registry {
    /// An empty registry (the lock's initial value).
    pub(crate) const fn new() -> Self {
        Self {
            claims: KVec::new(),
            debugfs_root: None,
            heaps: KVec::new(),
            orphans: KVec::new(),
            pending_heaps: None,
        }
    }
}

/// A pool's exclusive hold on its region and name; released on drop.
pub(crate) struct ClaimGuard {
    region: CString,
}

/// Claims `region`, pool `name` and dma-heap name `heap_name` for `dev`; on a conflict
/// says which device holds it. Heap names are claimed whether or not `dma_heap=1`: two
/// pools of one device tree must not want the same heap.
pub(crate) fn claim(
    dev: &Device,
    region: &CStr,
    name: &CStr,
    heap_name: &CStr,
) -> Result<ClaimGuard> {
    let claim = Claim {
        region: CString::try_from(region)?,
        name: CString::try_from(name)?,
        heap_name: CString::try_from(heap_name)?,
        owner: CString::try_from(dev.name())?,
    };
    let guard = ClaimGuard {
        region: CString::try_from(region)?,
    };
    let mut reg = REGISTRY.lock();
    if let Some(c) = reg.claims.iter().find(|c| *c.region == *region) {
        if *c.owner == *dev.name() {
            dev_err!(
                dev,
                "memory-region {} still holds buffers from before {} was unbound: free them first\n",
                region,
                dev.name()
            );
            return Err(EBUSY);
        }
        dev_err!(
            dev,
            "memory-region {} is already served by {}: give each cmabuf,pool node a region of its own\n",
            region,
            &*c.owner
        );
        return Err(EBUSY);
    }
    if let Some(c) = reg.claims.iter().find(|c| *c.name == *name) {
        dev_err!(
            dev,
            "pool name \"{}\" is already used by {}: set a unique 'label'\n",
            name,
            &*c.owner
        );
        return Err(EBUSY);
    }
    if let Some(c) = reg.claims.iter().find(|c| *c.heap_name == *heap_name) {
        dev_err!(
            dev,
            "dma-heap name \"{}\" of pool {} is already used by {} (pool {}): set a unique 'cmabuf,heap-name'\n",
            heap_name,
            name,
            &*c.owner,
            &*c.name
        );
        return Err(EBUSY);
    }
    reg.claims.push(claim, GFP_KERNEL)?;
    Ok(guard)
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        let mut reg = REGISTRY.lock();
        reg.claims.retain(|c| *c.region != *self.region);
    }
}

/// Serves the dma-heap called `name` from `allocator` (bound to `dev`), registering the
/// heap on first use.
///
/// A dma-heap can never be removed, and its operations are this module's code: if module
/// init failed after a heap was registered, the module would be freed under it. So
/// while init runs the heap only waits here, and [`init_done`] registers it once
/// nothing can fail any more.
///
/// A name that another driver's heap has (the kernel's `system` heap, its CMA heap of
/// each reusable region, ...) is refused with `EBUSY` here, before the pool is up:
/// `dma_heap_add` itself would fail only after a duplicate sysfs entry had filled the
/// kernel log with a stack dump.
pub(crate) fn serve_heap(dev: &Device, name: &CStr, allocator: &Arc<Allocator>) -> Result {
    let mut reg = REGISTRY.lock();
    let ours = reg.heaps.iter().any(|s| s.name() == name);
    if !ours && crate::ffi::dma_heap_exists(dev, name) {
        dev_err!(
            dev,
            "dma-heap name \"{}\" of pool {} is taken: /dev/dma_heap/{} is another driver's heap (the kernel's system heap, or its CMA heap of a region of that name); set another 'cmabuf,heap-name'\n",
            name,
            &*allocator.name,
            name
        );
        return Err(EBUSY);
    }
    if let Some(pending) = &mut reg.pending_heaps {
        pending.push((CString::try_from(name)?, allocator.clone()), GFP_KERNEL)?;
        return Ok(());
    }
    let slot = heap_slot(&mut reg, name)?;
    if slot.serve(Some(allocator.clone())).is_some() {
        // The registry's name claim makes this impossible; never serve two pools.
        slot.serve(None);
        return Err(EBUSY);
    }
    Ok(())
}

/// Stops serving the dma-heap called `name` from `allocator` (pending or registered).
/// The caller keeps `allocator`, so no allocator is dropped under the registry's lock (its claim
/// would take the lock again).
pub(crate) fn stop_heap(name: &CStr, allocator: &Arc<Allocator>) {
    let slot = {
        let mut reg = REGISTRY.lock();
        if let Some(pending) = &mut reg.pending_heaps {
            pending.retain(|(_, p)| !Arc::ptr_eq(p, allocator));
        }
        reg.heaps.iter().find(|s| s.name() == name).copied()
    };
    if let Some(slot) = slot {
        if slot.server().is_some_and(|p| Arc::ptr_eq(&p, allocator)) {
            slot.serve(None);
        }
    }
}

/// The dma-heap called `name`, registered on first use.
fn heap_slot(reg: &mut Registry, name: &CStr) -> Result<&'static HeapSlot<Allocator>> {
    if let Some(slot) = reg.heaps.iter().find(|s| s.name() == name) {
        return Ok(slot);
    }
    reg.heaps.reserve(1, GFP_KERNEL)?;
    let slot = HeapSlot::register(CString::try_from(name)?).inspect_err(|e| {
        pr_err!(
            "could not register dma-heap {}: error {} (does another heap have that name?)\n",
            name,
            e.to_errno()
        );
    })?;
    reg.heaps.push(slot, GFP_KERNEL)?;
    Ok(slot)
}

/// Module init succeeded: registers the dma-heaps of the pools bound meanwhile. One that
/// cannot be registered is logged; its pool is served without it.
pub(crate) fn init_done() {
    let mut reg = REGISTRY.lock();
    let Some(pending) = reg.pending_heaps.take() else {
        return;
    };
    for (name, allocator) in pending {
        // `heap_slot` logs what failed; the pool's frontend still holds `allocator`.
        if let Ok(slot) = heap_slot(&mut reg, &name) {
            if slot.serve(Some(allocator)).is_some() {
                slot.serve(None);
            }
        }
    }
}

/// `/sys/kernel/debug/cmabuf/`, made on first use.
pub(crate) fn debugfs_root() -> Dir {
    REGISTRY
        .lock()
        .debugfs_root
        .get_or_insert_with(|| Dir::new(c"cmabuf"))
        .clone()
}

/// A debugfs directory for pool `name` under `/sys/kernel/debug/cmabuf/`.
pub(crate) fn debugfs_dir(name: &CStr) -> Dir {
    debugfs_root().subdir(name)
}

/// The registry's lifetime within the module: initialised when the module loads,
/// emptied when it unloads. Statics are never dropped, so everything the registry
/// allocated (claim list, debugfs root) must be freed here, after the driver is gone.
pub(crate) struct RegistryLifetime;

impl RegistryLifetime {
    /// Initialises the registry (module init, before the driver registers).
    pub(crate) fn start() -> Self {
        crate::ffi::init_registry();
        reaper::start::<crate::orphans::Orphans>();
        REGISTRY.lock().pending_heaps = Some(KVec::new());
        Self
    }
}

impl Drop for RegistryLifetime {
    fn drop(&mut self) {
        // Orphans hold the module: there are none left once it unloads, and the work
        // that gave back the last one has finished when this returns.
        reaper::stop();
        let mut reg = REGISTRY.lock();
        reg.claims = KVec::new();
        reg.debugfs_root = None;
        // Empty: a registered heap keeps the module from unloading.
        reg.heaps = KVec::new();
        reg.orphans = KVec::new();
        // Left only by a failed init, empty: its pools went first, taking theirs.
        reg.pending_heaps = None;
    }
}
