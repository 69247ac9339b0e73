// SPDX-License-Identifier: GPL-2.0

//! The warm cache under memory pressure: a shrinker (`mm/shrinker.c`) per bound pool
//! that gives cached runs back to the CMA area, where the system can place movable
//! pages again. The `kernel` crate has no shrinker abstraction.

use super::sys;
use core::{
    marker::PhantomData,
    ptr::NonNull, //
};
use kernel::{bindings, ffi::c_ulong, prelude::*, sync::Arc};

/// `SHRINK_STOP`: no progress possible now (our lock is taken).
const SHRINK_STOP: c_ulong = !0;
/// `SHRINK_EMPTY`: nothing to give back.
const SHRINK_EMPTY: c_ulong = !0 - 1;

/// What a [`CacheShrinker`] shrinks. Both run in reclaim, possibly within an allocation
/// made under the implementor's own locks: they may only `try_lock` them.
pub(crate) trait Shrink: Send + Sync {
    /// How many pages could be given back now (0: none, or the lock is taken).
    fn count(&self) -> u64;

    /// Gives back pages until `want` went; how many did, or `None` when no progress is
    /// possible now (the lock is taken).
    fn scan(&self, want: u64) -> Option<u64>;
}

/// A registered shrinker whose private data is an `Arc<T>`.
///
/// # Invariants
///
/// `shrinker` was allocated and registered by `cmabuf_shrinker_register` with
/// [`count::<T>`] and [`scan::<T>`], and its `private_data` came from `Arc::<T>::into_raw`.
pub(crate) struct CacheShrinker<T: Shrink> {
    shrinker: NonNull<bindings::shrinker>,
    _t: PhantomData<Arc<T>>,
}

// SAFETY: The shrinker core serialises registration and freeing itself; the `Arc<T>` it
// holds may be dropped on any thread (`T: Send + Sync`).
unsafe impl<T: Shrink> Send for CacheShrinker<T> {}
// SAFETY: See `Send`; we hold no other state.
unsafe impl<T: Shrink> Sync for CacheShrinker<T> {}

impl<T: Shrink> CacheShrinker<T> {
    /// Registers a shrinker called `name` for `object`.
    pub(crate) fn register(name: &CStr, object: Arc<T>) -> Result<Self> {
        let data = Arc::into_raw(object).cast_mut().cast();
        // SAFETY: `name` is a valid string for the call (the core copies it); `data`
        // stays valid until `drop` takes it back, after the shrinker is freed.
        let shrinker = unsafe {
            sys::cmabuf_shrinker_register(
                name.as_char_ptr(),
                data,
                Some(count::<T>),
                Some(scan::<T>),
            )
        };
        match NonNull::new(shrinker) {
            // INVARIANT: Registered with our callbacks and `data` above.
            Some(shrinker) => Ok(Self {
                shrinker,
                _t: PhantomData,
            }),
            None => {
                // SAFETY: The shrinker was not created: we still own `data`.
                drop(unsafe { Arc::from_raw(data.cast::<T>()) });
                Err(ENOMEM)
            }
        }
    }
}

impl<T: Shrink> Drop for CacheShrinker<T> {
    fn drop(&mut self) {
        let shrinker = self.shrinker.as_ptr();
        // SAFETY: Valid and registered (type invariant).
        let data = unsafe { (*shrinker).private_data };
        // SAFETY: Unregisters, waits for running callbacks, then frees the shrinker.
        unsafe { bindings::shrinker_free(shrinker) };
        // SAFETY: No callback can run any more; `data` came from `Arc::into_raw`.
        drop(unsafe { Arc::from_raw(data.cast::<T>()) });
    }
}

/// Borrows the object of one of our shrinkers.
///
/// # Safety
///
/// `shrinker` is registered by [`CacheShrinker::<T>::register`] and not yet freed.
unsafe fn object<'a, T: Shrink>(shrinker: *mut bindings::shrinker) -> &'a T {
    // SAFETY: Per the caller, `private_data` is the contents of our `Arc<T>`, alive
    // until the shrinker is freed, which waits for this callback.
    unsafe { &*(*shrinker).private_data.cast::<T>() }
}

/// # Safety
///
/// Called by the shrinker core with one of our shrinkers for `T`.
unsafe extern "C" fn count<T: Shrink>(
    shrinker: *mut bindings::shrinker,
    _sc: *mut bindings::shrink_control,
) -> c_ulong {
    // SAFETY: The shrinker is ours and registered (caller's guarantee).
    match unsafe { object::<T>(shrinker) }.count() {
        0 => SHRINK_EMPTY,
        n => n as c_ulong,
    }
}

/// # Safety
///
/// Called by the shrinker core with one of our shrinkers for `T` and its control block.
unsafe extern "C" fn scan<T: Shrink>(
    shrinker: *mut bindings::shrinker,
    sc: *mut bindings::shrink_control,
) -> c_ulong {
    // SAFETY: The control block is valid during the call (caller's guarantee).
    let want = unsafe { (*sc).nr_to_scan } as u64;
    // SAFETY: The shrinker is ours and registered (caller's guarantee).
    match unsafe { object::<T>(shrinker) }.scan(want) {
        Some(freed) => freed as c_ulong,
        None => SHRINK_STOP,
    }
}
