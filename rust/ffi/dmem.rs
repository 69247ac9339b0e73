// SPDX-License-Identifier: GPL-2.0

//! Device-memory accounting through the dmem cgroup controller (`kernel/cgroup/dmem.c`).
//!
//! Each pool's buffers are charged to the region of its CMA area, `cma/<area name>` (the
//! name the upstream proposal for charging CMA allocations gives it); each buffer to the
//! cgroup of the task that allocates it, or of the client process it is allocated for,
//! so `dmem.max` limits cmabuf like other device memory. cmabuf registers the region
//! itself unless the kernel already has (see `cmabuf_dmem_region` in `shim.c`).

use super::{
    sys,
    CmaArea,
    PidRef, //
};
use core::ptr::NonNull;
use kernel::{
    error::from_err_ptr,
    prelude::*, //
};

/// A CMA area's dmem region; unregistered on drop if cmabuf registered it.
///
/// # Invariants
///
/// `region` is `None` (the controller is off) or a registered region: if `owned`, one
/// that cmabuf registered with `dmem_cgroup_register_region` and has not unregistered;
/// otherwise the kernel's own region of the CMA area, which lives as long as the area.
pub(crate) struct DmemRegion {
    region: Option<NonNull<sys::dmem_cgroup_region>>,
    owned: bool,
}

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
    /// The region `cma/<area name>` of `area`: the kernel's, if it registers one, else
    /// registered here with a capacity of `size` bytes.
    pub(crate) fn of_area(area: &CmaArea, size: u64) -> Result<Self> {
        let mut owned = false;
        // SAFETY: The area is valid for ever (`CmaArea` invariant); `owned` is a local.
        let region = unsafe { sys::cmabuf_dmem_region(area.as_ptr(), size, &mut owned) };
        // INVARIANT: NULL (controller off), a freshly registered region (`owned`) or the
        // kernel's region of the area.
        Ok(Self {
            region: NonNull::new(from_err_ptr(region)?),
            owned,
        })
    }

    /// Charges `size` bytes to the current task's cgroup. `EDQUOT` when a `dmem.max`
    /// on the way to the root is reached.
    pub(crate) fn try_charge(&self, size: u64) -> Result<DmemCharge> {
        self.charge(size, core::ptr::null_mut())
    }

    /// Charges `size` bytes to the cgroup of process `owner` (an allocation on behalf
    /// of a client: its cgroup pays, not the service's). `EDQUOT` when a `dmem.max` on
    /// the way to the root is reached, `ESRCH` when the process is gone. Charging
    /// another dmem cgroup than the caller's takes a kernel thread moved into it
    /// (`cmabuf_dmem_try_charge` in `shim.c`): it sleeps.
    pub(crate) fn try_charge_for(&self, size: u64, owner: &PidRef) -> Result<DmemCharge> {
        self.charge(size, owner.as_ptr())
    }

    /// Charges `owner`'s cgroup, or the current task's if `owner` is NULL.
    fn charge(&self, size: u64, owner: *mut kernel::bindings::pid) -> Result<DmemCharge> {
        let Some(region) = self.region else {
            return Ok(DmemCharge { pool: None, size });
        };
        let mut pool = core::ptr::null_mut();
        // SAFETY: The region is registered (type invariant); `owner` is NULL or a pid
        // the caller holds a reference to (`PidRef`); `pool` is a local.
        let ret = unsafe { sys::cmabuf_dmem_try_charge(region.as_ptr(), size, owner, &mut pool) };
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
    /// No charge: for a run whose charge is made elsewhere and put in its place later.
    pub(crate) fn nothing() -> DmemCharge {
        // INVARIANT: `pool` is `None`.
        DmemCharge {
            pool: None,
            size: 0,
        }
    }

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
        if let (Some(region), true) = (self.region, self.owned) {
            // SAFETY: cmabuf registered the region (type invariant); unregistered once.
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
