// SPDX-License-Identifier: GPL-2.0

//! Background work embedded in an object: a delayed work item (`kernel/workqueue.c`)
//! that runs the object's [`Tick::tick`] (the warm cache's zeroing and expiry). The
//! `kernel` crate's work items cannot be cancelled, and a work item that outlived its
//! object (or the module) would run freed code or touch freed memory; this one is
//! cancelled, synchronously, when the object drops.
//!
//! The object holds a [`Ticker<Self>`] field and names it with [`crate::ffi_has_ticker!`],
//! the way the `kernel` crate's `impl_has_work!` names a `Work<T>` field.

use super::sys;
use core::marker::PhantomData;
use kernel::{
    bindings,
    prelude::*,
    types::Opaque, //
};

/// What a [`Ticker`] runs.
pub(crate) trait Tick: Send + Sync + Sized {
    /// The work; returns after how many milliseconds to run again, if at all.
    fn tick(&self) -> Option<u32>;
}

/// A [`Tick`] type with a [`Ticker<Self>`] field.
///
/// # Safety
///
/// `container_of` returns the `Self` whose ticker field `ticker` points to, for every
/// `Ticker<Self>` that is such a field. Implement it only with [`crate::ffi_has_ticker!`].
pub(crate) unsafe trait HasTicker: Tick {
    /// The object whose ticker field is `ticker`.
    ///
    /// # Safety
    ///
    /// `ticker` points to the ticker field of a live `Self`.
    unsafe fn container_of(ticker: *const Ticker<Self>) -> *const Self;
}

/// Implements [`HasTicker`] for `$t`, whose field `$field` is a `Ticker<$t>`.
#[macro_export]
macro_rules! ffi_has_ticker {
    ($t:ty, $field:ident) => {
        // SAFETY: `container_of!` checks that `$field` is a `Ticker<$t>` and steps back
        // from it to the `$t` around it.
        unsafe impl $crate::ffi::HasTicker for $t {
            unsafe fn container_of(ticker: *const $crate::ffi::Ticker<Self>) -> *const Self {
                // SAFETY: Per the caller, `ticker` is the `$field` of a live `$t`.
                unsafe { ::kernel::container_of!(ticker.cast_mut(), Self, $field) }.cast_const()
            }
        }
    };
}

/// A delayed work item that runs [`Tick::tick`] on the `T` it is a field of.
///
/// # Invariants
///
/// `work` was initialised by `cmabuf_init_delayed_work` with [`run::<T>`], and lives as
/// the ticker field of a `T` pinned in memory. The types do not enforce the second half:
/// a `Ticker<T>` is only ever initialised in the field [`crate::ffi_has_ticker!`] names.
#[pin_data(PinnedDrop)]
pub(crate) struct Ticker<T: HasTicker> {
    #[pin]
    work: Opaque<bindings::delayed_work>,
    _t: PhantomData<T>,
}

// SAFETY: The work item is only touched through the workqueue API, which locks itself;
// it runs `T::tick` on another thread, so `T` is `Send + Sync` (bound of `Tick`).
unsafe impl<T: HasTicker> Send for Ticker<T> {}
// SAFETY: See `Send`.
unsafe impl<T: HasTicker> Sync for Ticker<T> {}

impl<T: HasTicker> Ticker<T> {
    /// A ticker that is not scheduled.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes; the helper initialises all of it.
            work <- Opaque::ffi_init(|slot| unsafe { sys::cmabuf_init_delayed_work(slot, Some(run::<T>)) }),
            _t: PhantomData,
        })
    }

    /// Runs the object's tick after `ms` milliseconds (0: as soon as possible), moving
    /// an already pending tick to that time.
    pub(crate) fn schedule(&self, ms: u32) {
        // SAFETY: The work item is initialised (type invariant) and pinned.
        unsafe { sys::cmabuf_schedule_delayed_work(self.work.get(), ms) };
    }

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
impl<T: HasTicker> PinnedDrop for Ticker<T> {
    fn drop(self: Pin<&mut Self>) {
        // Neither pending nor running once this returns, even if the tick re-arms itself.
        // SAFETY: The work item is initialised (type invariant).
        unsafe { bindings::cancel_delayed_work_sync(self.work.get()) };
    }
}

/// # Safety
///
/// Called by the workqueue with the `work` of a live [`Ticker<T>`].
unsafe extern "C" fn run<T: HasTicker>(work: *mut bindings::work_struct) {
    // SAFETY: `work` is the `work` field of a `delayed_work`, which is the `work` of a
    // `Ticker<T>`, the ticker field of a `T` (type invariant). The object outlives the
    // call: dropping it cancels this work and waits for it.
    let (ticker, object) = unsafe {
        let dwork = kernel::container_of!(work, bindings::delayed_work, work);
        let ticker = kernel::container_of!(
            dwork.cast::<Opaque<bindings::delayed_work>>(),
            Ticker<T>,
            work
        );
        (&*ticker, &*T::container_of(ticker))
    };
    if let Some(ms) = object.tick() {
        ticker.schedule(ms);
    }
}
