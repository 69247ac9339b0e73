// SPDX-License-Identifier: GPL-2.0

//! The module-wide background work that gives back pages no pool owns any more: a
//! delayed work item in a static that runs a [`Reap`], initialised at module load and
//! cancelled (synchronously) at module exit, after every pool is gone.

use super::sys;
use kernel::{
    bindings,
    sync::atomic::{
        Acquire,
        Atomic,
        Full, //
    },
    types::Opaque,
};

/// What the work runs.
pub(crate) trait Reap {
    /// The work; returns after how many milliseconds to run again, if at all.
    fn reap() -> Option<u32>;
}

/// The work item.
///
/// # Invariants
///
/// Once `READY` is true, `work` was initialised by `cmabuf_init_delayed_work` with
/// [`run`] for some [`Reap`]; it is never moved (a static).
struct Reaper {
    work: Opaque<bindings::delayed_work>,
}

// SAFETY: The work item is only touched through the workqueue API, which locks itself.
unsafe impl Sync for Reaper {}

static REAPER: Reaper = Reaper {
    work: Opaque::uninit(),
};
static READY: Atomic<bool> = Atomic::new(false);

/// Initialises the work item to run `R::reap` (module init, before any pool exists).
/// Later calls do nothing until [`stop`].
pub(crate) fn start<R: Reap>() {
    if !READY.xchg(true, Full) {
        // SAFETY: The flag makes this the only initialisation; nothing schedules the
        // work before it (no pool exists yet).
        unsafe { sys::cmabuf_init_delayed_work(REAPER.work.get(), Some(run::<R>)) };
    }
}

/// Runs the [`Reap`] given to [`start`] after `ms` milliseconds.
pub(crate) fn schedule(ms: u32) {
    if READY.load(Acquire) {
        // SAFETY: The work item is initialised (checked above) and static.
        unsafe { sys::cmabuf_schedule_delayed_work(REAPER.work.get(), ms) };
    }
}

/// Cancels the work and waits for a running one to finish (module exit).
pub(crate) fn stop() {
    if READY.xchg(false, Full) {
        // SAFETY: The work item was initialised (the flag was set).
        unsafe { bindings::cancel_delayed_work_sync(REAPER.work.get()) };
    }
}

/// # Safety
///
/// Called by the workqueue for [`REAPER`]'s work item.
unsafe extern "C" fn run<R: Reap>(_work: *mut bindings::work_struct) {
    if let Some(ms) = R::reap() {
        schedule(ms);
    }
}
