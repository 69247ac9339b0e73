// SPDX-License-Identifier: GPL-2.0

//! The warm cache's background work: a delayed work item embedded in the [`Allocator`]
//! (`kernel/workqueue.c`). The `kernel` crate's work items cannot be cancelled, and a
//! work item that outlived its allocator (or the module) would run freed code or touch
//! freed memory; this one is cancelled, synchronously, when the allocator drops.

use super::sys;
use crate::allocator::Allocator;
use kernel::{
    bindings,
    prelude::*,
    types::Opaque, //
};

/// A delayed work item that runs [`Allocator::cache_tick`] on its allocator.
///
/// # Invariants
///
/// `work` was initialised by `cmabuf_init_delayed_work` with [`run`], and lives as the
/// `ticker` field of an [`Allocator`] pinned in memory.
#[pin_data(PinnedDrop)]
pub(crate) struct Ticker {
    #[pin]
    work: Opaque<bindings::delayed_work>,
}

// SAFETY: The work item is only touched through the workqueue API, which locks itself.
unsafe impl Send for Ticker {}
// SAFETY: See `Send`.
unsafe impl Sync for Ticker {}

impl Ticker {
    /// A ticker that is not scheduled.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes; the helper initialises all of it.
            work <- Opaque::ffi_init(|slot| unsafe { sys::cmabuf_init_delayed_work(slot, Some(run)) }),
        })
    }

    /// Runs the allocator's tick after `ms` milliseconds (0: as soon as possible),
    /// moving an already pending tick to that time.
    pub(crate) fn schedule(&self, ms: u32) {
        // SAFETY: The work item is initialised (type invariant) and pinned.
        unsafe { sys::cmabuf_schedule_delayed_work(self.work.get(), ms) };
    }
}

impl Ticker {
    /// Runs a pending tick now and waits until it, or the one running, has finished.
    pub(crate) fn flush(&self) {
        // SAFETY: The work item is initialised (type invariant) and pinned.
        unsafe { bindings::flush_delayed_work(self.work.get()) };
    }

    /// Cancels a pending tick and waits for a running one; a later `schedule` works.
    pub(crate) fn cancel(&self) {
        // SAFETY: The work item is initialised (type invariant).
        unsafe { bindings::cancel_delayed_work_sync(self.work.get()) };
    }
}

#[pinned_drop]
impl PinnedDrop for Ticker {
    fn drop(self: Pin<&mut Self>) {
        // Neither pending nor running once this returns, even if the tick re-arms itself.
        // SAFETY: The work item is initialised (type invariant).
        unsafe { bindings::cancel_delayed_work_sync(self.work.get()) };
    }
}

/// # Safety
///
/// Called by the workqueue with the `work` of a live [`Ticker`] inside an [`Allocator`].
unsafe extern "C" fn run(work: *mut bindings::work_struct) {
    // SAFETY: `work` is the `work` field of a `delayed_work`, which is the `work` of a
    // `Ticker`, the `ticker` field of an `Allocator` (type invariant). The allocator
    // outlives the call: dropping it cancels this work and waits for it.
    let allocator = unsafe {
        let dwork = kernel::container_of!(work, bindings::delayed_work, work);
        let ticker =
            kernel::container_of!(dwork.cast::<Opaque<bindings::delayed_work>>(), Ticker, work);
        &*kernel::container_of!(ticker, Allocator, ticker)
    };
    if let Some(ms) = allocator.cache_tick() {
        allocator.ticker.schedule(ms);
    }
}
