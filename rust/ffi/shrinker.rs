// SPDX-License-Identifier: GPL-2.0

//! The warm cache under memory pressure: a shrinker (`mm/shrinker.c`) per bound pool
//! that gives cached runs back to the CMA area, where the system can place movable
//! pages again. The `kernel` crate has no shrinker abstraction.

use super::sys;
use crate::allocator::Allocator;
use core::ptr::NonNull;
use kernel::{bindings, ffi::c_ulong, prelude::*, sync::Arc};

/// `SHRINK_STOP`: no progress possible now (our lock is taken).
const SHRINK_STOP: c_ulong = !0;
/// `SHRINK_EMPTY`: nothing to give back.
const SHRINK_EMPTY: c_ulong = !0 - 1;

/// A registered shrinker whose private data is an `Arc<Allocator>`.
///
/// # Invariants
///
/// `shrinker` was allocated and registered by `cmabuf_shrinker_register` with
/// [`count`] and [`scan`], and its `private_data` came from `Arc::into_raw`.
pub(crate) struct CacheShrinker {
    shrinker: NonNull<bindings::shrinker>,
}

// SAFETY: The shrinker core serialises registration and freeing itself.
unsafe impl Send for CacheShrinker {}
// SAFETY: See `Send`; we hold no other state.
unsafe impl Sync for CacheShrinker {}

impl CacheShrinker {
    /// Registers a shrinker called `name` for `allocator`'s warm cache.
    pub(crate) fn register(name: &CStr, allocator: Arc<Allocator>) -> Result<Self> {
        let data = Arc::into_raw(allocator).cast_mut().cast();
        // SAFETY: `name` is a valid string for the call (the core copies it); `data`
        // stays valid until `drop` takes it back, after the shrinker is freed.
        let shrinker = unsafe {
            sys::cmabuf_shrinker_register(name.as_char_ptr(), data, Some(count), Some(scan))
        };
        match NonNull::new(shrinker) {
            // INVARIANT: Registered with our callbacks and `data` above.
            Some(shrinker) => Ok(Self { shrinker }),
            None => {
                // SAFETY: The shrinker was not created: we still own `data`.
                drop(unsafe { Arc::from_raw(data.cast::<Allocator>()) });
                Err(ENOMEM)
            }
        }
    }
}

impl Drop for CacheShrinker {
    fn drop(&mut self) {
        let shrinker = self.shrinker.as_ptr();
        // SAFETY: Valid and registered (type invariant).
        let data = unsafe { (*shrinker).private_data };
        // SAFETY: Unregisters, waits for running callbacks, then frees the shrinker.
        unsafe { bindings::shrinker_free(shrinker) };
        // SAFETY: No callback can run any more; `data` came from `Arc::into_raw`.
        drop(unsafe { Arc::from_raw(data.cast::<Allocator>()) });
    }
}

/// Borrows the allocator of one of our shrinkers.
///
/// # Safety
///
/// `shrinker` is registered by [`CacheShrinker::register`] and not yet freed.
unsafe fn allocator<'a>(shrinker: *mut bindings::shrinker) -> &'a Allocator {
    // SAFETY: Per the caller, `private_data` is the contents of our `Arc<Allocator>`,
    // alive until the shrinker is freed, which waits for this callback.
    unsafe { &*(*shrinker).private_data.cast::<Allocator>() }
}

/// # Safety
///
/// Called by the shrinker core with one of our shrinkers.
unsafe extern "C" fn count(
    shrinker: *mut bindings::shrinker,
    _sc: *mut bindings::shrink_control,
) -> c_ulong {
    // SAFETY: The shrinker is ours and registered (caller's guarantee).
    match unsafe { allocator(shrinker) }.cache_shrink_count() {
        0 => SHRINK_EMPTY,
        n => n as c_ulong,
    }
}

/// # Safety
///
/// Called by the shrinker core with one of our shrinkers and its control block.
unsafe extern "C" fn scan(
    shrinker: *mut bindings::shrinker,
    sc: *mut bindings::shrink_control,
) -> c_ulong {
    // SAFETY: The control block is valid during the call (caller's guarantee).
    let want = unsafe { (*sc).nr_to_scan } as u64;
    // SAFETY: The shrinker is ours and registered (caller's guarantee).
    match unsafe { allocator(shrinker) }.cache_shrink(want) {
        Some(freed) => freed as c_ulong,
        None => SHRINK_STOP,
    }
}
