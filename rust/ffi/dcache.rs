// SPDX-License-Identifier: GPL-2.0

//! CPU cache maintenance of buffers, through the DMA API on a device of the module's
//! own (`Documentation/reliability.rst`, "Memory attributes and cache maintenance").
//!
//! Modules cannot call the architecture's cache helpers, only the DMA API, and the DMA
//! API does maintenance only for a device that is not DMA-coherent and only where it
//! does not bounce: a pool's platform device keeps the default 32-bit mask (a pool above
//! 4 GiB would be bounced through swiotlb, its own lines never cleaned) and may be
//! `dma-coherent` (no maintenance at all). The maintenance device is a faux device,
//! never coherent, whose mask covers all of memory; every operation checks that the
//! mapping neither failed nor bounced (DMA address = physical address), else it fails.

use super::sys;
use kernel::{
    bindings,
    error::to_result,
    ffi::c_int,
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
};

/// `enum dma_data_direction` values (`shim.c` asserts them).
pub(crate) const DMA_BIDIRECTIONAL: c_int = 0;

/// Buffers cleaned for write-combine and uncached mappings.
static CLEANS: Atomic<usize> = Atomic::new(0);
/// Maintenance that could not be done (mapping error, bounce buffer).
static FAILURES: Atomic<usize> = Atomic::new(0);
/// `DMA_BUF_IOCTL_SYNC` brackets applied to a buffer no importer had mapped.
static SYNCS_UNATTACHED: Atomic<usize> = Atomic::new(0);

/// The module's cache-maintenance device, `/sys/devices/faux/cmabuf-dcache`, from module
/// init to module exit; destroyed on drop.
pub(crate) struct DcacheDevice(());

impl DcacheDevice {
    /// Creates the device and lets it reach all of memory. Called once, from module init.
    pub(crate) fn create() -> Result<Self> {
        // SAFETY: Called once per module load, before any pool exists; the helper keeps
        // the device in module-static state that `drop` destroys.
        let dev = unsafe { sys::cmabuf_dcache_dev_create() };
        if dev.is_null() {
            pr_err!("could not create the cache-maintenance device cmabuf-dcache\n");
            return Err(ENOMEM);
        }
        let this = Self(());
        // SAFETY: `dev` is the device just created, alive until `drop`.
        to_result(unsafe { sys::cmabuf_set_dma_mask_all(dev) }).inspect_err(|e| {
            pr_err!(
                "cmabuf-dcache: no 64-bit DMA mask (error {}): cannot keep caches coherent\n",
                e.to_errno()
            )
        })?;
        Ok(this)
    }
}

impl Drop for DcacheDevice {
    fn drop(&mut self) {
        // SAFETY: Destroys what `create` made; the pools that used it are gone (it is
        // dropped after the driver and the default pool).
        unsafe { sys::cmabuf_dcache_dev_destroy() };
    }
}

/// The maintenance device, while the module is loaded.
fn device() -> Result<*mut bindings::device> {
    // SAFETY: The helper reads the module-static pointer `DcacheDevice` sets.
    let dev = unsafe { sys::cmabuf_dcache_dev() };
    if dev.is_null() {
        Err(ENODEV)
    } else {
        Ok(dev)
    }
}

/// What to do to the CPU caches over a buffer.
#[derive(Clone, Copy)]
pub(crate) enum Maintenance {
    /// Write back and invalidate (freshly zeroed memory before non-cacheable mappings).
    Clean,
    /// Before the CPU accesses the buffer in this direction (`begin_cpu_access`).
    ForCpu(c_int),
    /// After the CPU accessed it, before a device does (`end_cpu_access`).
    ForDevice(c_int),
}

/// Does `op` on the `bytes` bytes from `page` (physical address `phys`) on.
pub(super) fn maintain(
    page: *mut bindings::page,
    phys: u64,
    bytes: u64,
    op: Maintenance,
) -> Result {
    let result = maintain_raw(page, phys, bytes, op);
    if result.is_err() {
        FAILURES.add(1, Relaxed);
    }
    result
}

fn maintain_raw(page: *mut bindings::page, phys: u64, bytes: u64, op: Maintenance) -> Result {
    let dev = device()?;
    let size = usize::try_from(bytes).map_err(|_| EINVAL)?;
    let dir = match op {
        Maintenance::Clean => DMA_BIDIRECTIONAL,
        Maintenance::ForCpu(dir) | Maintenance::ForDevice(dir) => dir,
    };
    // SAFETY: `dev` is the maintenance device; the caller passes pages it owns.
    let addr = unsafe { sys::cmabuf_dma_map_nosync(dev, page, size, dir) };
    // SAFETY: `addr` was just returned for `dev`.
    if unsafe { sys::cmabuf_dma_mapping_error(dev, addr) } {
        return Err(EIO);
    }
    // `dma_addr_t` is 32 bits on 32-bit ARM without LPAE, 64 elsewhere.
    #[allow(clippy::useless_conversion)]
    let direct = u64::from(addr) == phys;
    if direct {
        // SAFETY: `addr` maps `size` bytes for `dev` in `dir` (just mapped).
        unsafe {
            match op {
                Maintenance::Clean => {
                    sys::cmabuf_dma_sync_for_device(dev, addr, size, dir);
                    sys::cmabuf_dma_sync_for_cpu(dev, addr, size, dir);
                }
                Maintenance::ForCpu(_) => sys::cmabuf_dma_sync_for_cpu(dev, addr, size, dir),
                Maintenance::ForDevice(_) => sys::cmabuf_dma_sync_for_device(dev, addr, size, dir),
            }
        }
    }
    // SAFETY: Unmaps what was mapped above, without maintenance.
    unsafe { sys::cmabuf_dma_unmap_nosync(dev, addr, size, dir) };
    // A different address means a bounce buffer or an IOMMU: the maintenance would have
    // reached the copy, not the buffer.
    if direct {
        Ok(())
    } else {
        Err(EIO)
    }
}

/// Counts a buffer cleaned for a non-cacheable mapping.
pub(super) fn count_clean() {
    CLEANS.add(1, Relaxed);
}

/// Counts a CPU-access bracket applied to the buffer itself (no importer mapped it).
pub(super) fn count_sync_unattached() {
    SYNCS_UNATTACHED.add(1, Relaxed);
}

/// What debugfs `mapping` shows of the maintenance.
pub(crate) struct DcacheStatus {
    /// Whether the maintenance device exists (module loaded).
    pub(crate) present: bool,
    /// Bits of its DMA mask.
    pub(crate) mask_bits: u32,
    /// Whether it is DMA-coherent (then the DMA API would do no maintenance).
    pub(crate) coherent: bool,
    /// Buffers cleaned, maintenance failures, CPU-access brackets without an importer.
    pub(crate) cleans: usize,
    pub(crate) failures: usize,
    pub(crate) syncs_unattached: usize,
}

/// The maintenance device's state and counters now.
pub(crate) fn status() -> DcacheStatus {
    let (present, mask_bits, coherent) = match device() {
        Ok(dev) => {
            // SAFETY: `dev` is the live maintenance device.
            let mask = unsafe { sys::cmabuf_dma_get_mask(dev) };
            // SAFETY: As above.
            let coherent = unsafe { sys::cmabuf_dev_dma_coherent(dev) };
            (true, u64::BITS - mask.leading_zeros(), coherent)
        }
        Err(_) => (false, 0, false),
    };
    DcacheStatus {
        present,
        mask_bits,
        coherent,
        cleans: CLEANS.load(Relaxed),
        failures: FAILURES.load(Relaxed),
        syncs_unattached: SYNCS_UNATTACHED.load(Relaxed),
    }
}
