// SPDX-License-Identifier: GPL-2.0

//! Device-memory accounting through the dmem cgroup controller (`kernel/cgroup/dmem.c`).
//!
//! Each pool registers a region `cmabuf/<name>`; each buffer is charged to the cgroup of
//! the task that allocates it, so `dmem.max` limits cmabuf like other device memory.

use super::sys;
use core::ptr::NonNull;
use kernel::{
    error::from_err_ptr,
    prelude::*, //
};

/// A registered dmem region, unregistered on drop.
///
/// # Invariants
///
/// `self.0` is `None` (the controller is off) or a region registered with
/// `dmem_cgroup_register_region` and not yet unregistered.
pub(crate) struct DmemRegion(Option<NonNull<sys::dmem_cgroup_region>>);

// SAFETY: Regions are reference counted and locked by the dmem core; the handle can be
// used and dropped from any thread.
unsafe impl Send for DmemRegion {}
// SAFETY: See `Send`: charging takes the dmem core's own locks.
unsafe impl Sync for DmemRegion {}

/// One buffer's charge, uncharged on drop.
///
/// # Invariants
///
/// `pool` is `None` or the pool state `dmem_cgroup_try_charge` returned for a charge
/// of `size` bytes that has not been undone.
pub(crate) struct DmemCharge {
    pool: Option<NonNull<sys::dmem_cgroup_pool_state>>,
    size: u64,
}

// SAFETY: A charge may be undone from any thread.
unsafe impl Send for DmemCharge {}
// SAFETY: `&DmemCharge` exposes nothing.
unsafe impl Sync for DmemCharge {}

impl DmemRegion {
    /// Registers region `cmabuf/<name>` of `size` bytes.
    pub(crate) fn register(size: u64, name: &CStr) -> Result<Self> {
        // SAFETY: `name` is NUL-terminated; the dmem core copies the formatted name.
        let region = unsafe { sys::cmabuf_dmem_register(size, name.as_char_ptr()) };
        // INVARIANT: NULL (controller off) or a freshly registered region.
        Ok(Self(NonNull::new(from_err_ptr(region)?)))
    }

    /// Charges `size` bytes to the current task's cgroup. `EDQUOT` when a `dmem.max`
    /// on the way to the root is reached.
    pub(crate) fn try_charge(&self, size: u64) -> Result<DmemCharge> {
        let Some(region) = self.0 else {
            return Ok(DmemCharge { pool: None, size });
        };
        let mut pool = core::ptr::null_mut();
        // SAFETY: The region is registered (type invariant); `pool` is a local.
        let ret = unsafe { sys::cmabuf_dmem_try_charge(region.as_ptr(), size, &mut pool) };
        match ret {
            0 => Ok(DmemCharge {
                // INVARIANT: The charge succeeded and returned `pool`.
                pool: NonNull::new(pool),
                size,
            }),
            r if r == -(kernel::bindings::EAGAIN as i32) => Err(super::edquot()),
            r => Err(Error::from_errno(r)),
        }
    }
}

impl DmemCharge {
    /// Moves the charge out, leaving an object that holds none.
    pub(crate) fn take(&mut self) -> DmemCharge {
        DmemCharge {
            // INVARIANT: `self` now holds no charge; the new object holds what it held.
            pool: self.pool.take(),
            size: self.size,
        }
    }
}

impl Drop for DmemRegion {
    fn drop(&mut self) {
        if let Some(region) = self.0 {
            // SAFETY: The region is registered (type invariant) and unregistered once.
            unsafe { sys::cmabuf_dmem_unregister(region.as_ptr()) };
        }
    }
}

impl Drop for DmemCharge {
    fn drop(&mut self) {
        if let Some(pool) = self.pool {
            // SAFETY: `pool` holds this charge (type invariant); undone once.
            unsafe { sys::cmabuf_dmem_uncharge(pool.as_ptr(), self.size) };
        }
    }
}
