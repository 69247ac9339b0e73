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

    /// The `struct pid`, for calls that take one (valid while `self` lives).
    pub(crate) fn as_ptr(&self) -> *mut bindings::pid {
        self.0.as_ptr()
    }

    /// Whether `self` and `other` name the same process.
    pub(crate) fn same(&self, other: &PidRef) -> bool {
        self.0 == other.0
    }

    /// The process's number in the initial pid namespace, for messages and debugfs.
    /// Once the process is reaped the number may be given to a new process, while this
    /// object still names the old one: see [`PidRef::alive`].
    pub(crate) fn nr(&self) -> i32 {
        // SAFETY: The pid is valid while we hold a reference (type invariant).
        unsafe { sys::cmabuf_pid_nr(self.0.as_ptr()) }
    }

    /// Whether the process still exists (has not been reaped).
    pub(crate) fn alive(&self) -> bool {
        // SAFETY: The pid is valid while we hold a reference (type invariant).
        unsafe { sys::cmabuf_pid_alive(self.0.as_ptr()) }
    }

    /// The process's command name, NUL-padded; empty once it has been reaped.
    pub(crate) fn comm(&self) -> [u8; 16] {
        let mut comm = [0u8; 16];
        // SAFETY: The pid is valid (type invariant); `comm` is valid for 16 bytes, and
        // the helper NUL-terminates within them.
        unsafe { sys::cmabuf_pid_comm(self.0.as_ptr(), comm.as_mut_ptr().cast(), comm.len()) };
        comm
    }

    /// The process (thread group) the pidfd `fd` names — of a thread too
    /// (`PIDFD_THREAD`) — as a client the caller allocates for, or why not.
    pub(crate) fn from_pidfd(fd: i32) -> Result<PidfdClient, PidfdRefusal> {
        let mut client = sys::cmabuf_pidfd_client::default();
        // SAFETY: `client` is valid for writes; the helper looks `fd` up in the current
        // task's file table and takes a reference to the pid it returns.
        let res = unsafe { sys::cmabuf_pidfd_client(fd, &mut client) };
        let refusal = match res {
            sys::cmabuf_pidfd_CMABUF_PIDFD_OK => match NonNull::new(client.tgid) {
                // INVARIANT: `cmabuf_pidfd_client` returned a counted reference.
                Some(pid) => {
                    return Ok(PidfdClient {
                        pid: Self(pid),
                        may_signal: client.may_signal,
                    })
                }
                None => PidfdRefusal::Exited,
            },
            sys::cmabuf_pidfd_CMABUF_PIDFD_NOT_OPEN => PidfdRefusal::NotOpen,
            sys::cmabuf_pidfd_CMABUF_PIDFD_NOT_PIDFD => PidfdRefusal::NotPidfd,
            _ => PidfdRefusal::Exited,
        };
        Err(refusal)
    }
}

/// A process named by a pidfd: [`PidRef::from_pidfd`].
pub(crate) struct PidfdClient {
    /// Its thread group.
    pub(crate) pid: PidRef,
    /// Whether the caller could signal it: its real or effective uid is the process's
    /// real or saved uid (`kill_ok_by_cred()` in `kernel/signal.c`, without `CAP_KILL`).
    pub(crate) may_signal: bool,
}

/// Why a pidfd names no client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PidfdRefusal {
    /// No file is open with that number.
    NotOpen,
    /// The file is not a pidfd.
    NotPidfd,
    /// The process has exited (its last thread is gone, or it was reaped).
    Exited,
}

impl PidfdRefusal {
    /// The errno: `EBADF` for no pidfd (as `pidfd_send_signal(2)`), `ESRCH` for a
    /// process that has exited.
    pub(crate) fn error(self) -> Error {
        match self {
            Self::NotOpen | Self::NotPidfd => EBADF,
            Self::Exited => ESRCH,
        }
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
