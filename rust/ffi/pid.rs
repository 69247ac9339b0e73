// SPDX-License-Identifier: GPL-2.0

//! Processes as the kernel names them: a counted reference to a thread group's
//! `struct pid` (`kernel/pid.c`).
//!
//! A pid *number* is not an identity: it differs per pid namespace (two containers each
//! have a pid 1) and is reused once the process is gone. A `struct pid` is the same
//! object for the process in every namespace, and while cmabuf holds a reference to it
//! no later process can be given it.

use super::sys;
use core::ptr::NonNull;
use kernel::{
    bindings,
    prelude::*, //
};

/// A reference to the `struct pid` of a thread group.
///
/// # Invariants
///
/// `self.0` points to a `struct pid` whose reference count this object holds one of.
pub(crate) struct PidRef(NonNull<bindings::pid>);

// SAFETY: A `struct pid` is reference counted with atomics and freed through RCU; the
// reference may be dropped from any thread.
unsafe impl Send for PidRef {}
// SAFETY: `&PidRef` only compares the pointer and reads the pid number.
unsafe impl Sync for PidRef {}

impl PidRef {
    /// The calling process (its thread group). `ESRCH` if it is exiting.
    pub(crate) fn current() -> Result<Self> {
        // SAFETY: Takes a reference to the current task's thread-group pid, or NULL.
        let pid = unsafe { sys::cmabuf_current_tgid_pid() };
        // INVARIANT: `cmabuf_current_tgid_pid` returned a counted reference.
        NonNull::new(pid).map(Self).ok_or(ESRCH)
    }

    /// Whether `self` and `other` name the same process.
    pub(crate) fn same(&self, other: &PidRef) -> bool {
        self.0 == other.0
    }

    /// The process's number in the initial pid namespace (0 once it has exited and
    /// been reaped), for messages and debugfs.
    pub(crate) fn nr(&self) -> i32 {
        // SAFETY: The pid is valid while we hold a reference (type invariant).
        unsafe { sys::cmabuf_pid_nr(self.0.as_ptr()) }
    }
}

impl Clone for PidRef {
    fn clone(&self) -> Self {
        // SAFETY: The pid is valid (type invariant); this takes one more reference.
        unsafe { sys::cmabuf_get_pid(self.0.as_ptr()) };
        // INVARIANT: The new object holds the reference just taken.
        Self(self.0)
    }
}

impl Drop for PidRef {
    fn drop(&mut self) {
        // SAFETY: Drops the reference this object holds (type invariant).
        unsafe { sys::cmabuf_put_pid(self.0.as_ptr()) };
    }
}
