// SPDX-License-Identifier: GPL-2.0

//! CMA areas (`struct cma`, `mm/cma.c`).

use super::sys;
use core::ptr::NonNull;
use kernel::prelude::*;

/// A CMA area made by the kernel from a reusable reserved-memory region.
///
/// # Invariants
///
/// `self.0` points to a valid `struct cma`. CMA areas are created at boot and never
/// freed, so the pointer stays valid for the kernel's lifetime.
#[derive(Clone, Copy)]
pub(crate) struct CmaArea(NonNull<sys::cma>);

// SAFETY: A `struct cma` is shared kernel-wide; all of its mutable state is protected by
// its own locks, so the handle may move between threads.
unsafe impl Send for CmaArea {}
// SAFETY: See `Send`: every operation on a `struct cma` takes the area's own locks.
unsafe impl Sync for CmaArea {}

impl CmaArea {
    /// Wraps a pointer obtained from the kernel.
    ///
    /// # Safety
    ///
    /// `ptr` is NULL or points to a CMA area registered with the CMA core.
    pub(super) unsafe fn from_raw(ptr: *mut sys::cma) -> Option<Self> {
        // INVARIANT: Non-NULL pointers point to an area that lives forever (see above).
        NonNull::new(ptr).map(Self)
    }

    /// The area's name: for a reserved-memory region, its device-tree node name.
    pub(crate) fn name(&self) -> &'static CStr {
        // SAFETY: By the type invariants the area is valid forever, and `cma_get_name`
        // returns a pointer to the NUL-terminated name stored inside it.
        unsafe { CStr::from_char_ptr(sys::cma_get_name(self.0.as_ptr())) }
    }
}
