// SPDX-License-Identifier: GPL-2.0

//! cmabuf's trace events (`cmabuf:*` in tracefs): one function per event.
//!
//! The events are defined in C (`cmabuf_trace.h`, created in `trace_events.c`, whose
//! wrappers `trace_events.h` declares). Each function here takes a closure that makes
//! the event's values, and calls it, and then C, only when the event is enabled: the
//! test is the tracepoint's static key, as the kernel's `declare_trace!` does it, so
//! with `CONFIG_JUMP_LABEL` a disabled event costs one patched-out branch (without it,
//! a read of the key's count). Without `CONFIG_TRACEPOINTS` there are no events.

use super::{dma_buf::CacheMode, sys};
use kernel::prelude::*;

/// Whether tracepoint `$tp` (a `sys::__tracepoint_cmabuf_*`) is enabled.
#[cfg(CONFIG_TRACEPOINTS)]
macro_rules! enabled {
    ($tp:ident) => {
        // SAFETY: `sys::$tp` is a `struct tracepoint` that `trace_events.c` defines
        // (`CREATE_TRACE_POINTS`), so its `key` is a real static key of this module.
        unsafe {
            kernel::jump_label::static_branch_unlikely!(sys::$tp, kernel::bindings::tracepoint, key)
        }
    };
}

/// Without tracepoints no event is ever enabled.
#[cfg(not(CONFIG_TRACEPOINTS))]
macro_rules! enabled {
    ($tp:ident) => {
        false
    };
}

/// The pool's name for C (NUL-terminated, lives as long as the call).
fn name(pool: &CStr) -> *const kernel::ffi::c_char {
    pool.as_char_ptr()
}

/// `cmabuf:cmabuf_alloc`: an allocation, served (`errno` 0) or not.
pub(crate) struct Alloc<'a> {
    pub(crate) pool: &'a CStr,
    /// Bytes, whole pages.
    pub(crate) size: u64,
    /// Alignment of the physical address in bytes.
    pub(crate) align: u64,
    pub(crate) cache: CacheMode,
    /// The owner's process id (thread group id) in the initial pid namespace.
    pub(crate) tgid: i32,
    /// Positive errno, 0 when served.
    pub(crate) errno: i32,
    /// What the pool's latency histogram counts (served allocations).
    pub(crate) latency_ns: u64,
    /// Pages migrated around `cma_alloc` (`pgmigrate_success`).
    pub(crate) migrated: u64,
    /// `cma_alloc` calls.
    pub(crate) attempts: u32,
    /// Served from the warm cache.
    pub(crate) warm: bool,
    /// The buffer's number in debugfs, 0 when not served.
    pub(crate) id: u32,
    /// The process (thread group) that allocated it, in the initial pid namespace:
    /// `tgid` unless it allocated for a client.
    pub(crate) by: i32,
}

/// Emits `cmabuf:cmabuf_alloc` if it is enabled, with the values `event` makes then.
#[inline(always)]
pub(crate) fn alloc<'a>(event: impl FnOnce() -> Alloc<'a>) {
    if enabled!(__tracepoint_cmabuf_alloc) {
        let e = event();
        // SAFETY: `name` is NUL-terminated and outlives the call; the rest are values.
        unsafe {
            sys::cmabuf_trace_alloc(
                name(e.pool),
                e.size,
                e.align,
                e.cache as u32,
                e.tgid,
                e.errno,
                e.latency_ns,
                e.migrated,
                e.attempts,
                e.warm,
                e.id,
                e.by,
            )
        }
    }
}

/// `cmabuf:cmabuf_free`: a buffer freed.
pub(crate) struct Free<'a> {
    pub(crate) pool: &'a CStr,
    pub(crate) size: u64,
    /// From its allocation to its free.
    pub(crate) lifetime_ns: u64,
    /// Its pages are still referenced: they stay out of the pool until let go.
    pub(crate) stranded: bool,
    /// Its pages went into the warm cache.
    pub(crate) cached: bool,
    pub(crate) id: u32,
}

/// Whether `cmabuf:cmabuf_free` is enabled, for a caller that must find a field's value
/// before the moment of the event.
#[inline(always)]
pub(crate) fn free_enabled() -> bool {
    enabled!(__tracepoint_cmabuf_free)
}

/// Emits `cmabuf:cmabuf_free` if it is enabled.
#[inline(always)]
pub(crate) fn free<'a>(event: impl FnOnce() -> Free<'a>) {
    if enabled!(__tracepoint_cmabuf_free) {
        let e = event();
        // SAFETY: `name` is NUL-terminated and outlives the call; the rest are values.
        unsafe {
            sys::cmabuf_trace_free(
                name(e.pool),
                e.size,
                e.lifetime_ns,
                e.stranded,
                e.cached,
                e.id,
            )
        }
    }
}

/// `cmabuf:cmabuf_prepare`: a `CMABUF_IOC_PREPARE` call.
pub(crate) struct Prepare<'a> {
    pub(crate) pool: &'a CStr,
    /// Bytes of each run.
    pub(crate) run_size: u64,
    /// Runs asked for.
    pub(crate) runs: u32,
    pub(crate) tgid: i32,
    pub(crate) duration_ns: u64,
    /// Positive errno, 0 when every run was prepared.
    pub(crate) errno: i32,
}

/// Emits `cmabuf:cmabuf_prepare` if it is enabled.
#[inline(always)]
pub(crate) fn prepare<'a>(event: impl FnOnce() -> Prepare<'a>) {
    if enabled!(__tracepoint_cmabuf_prepare) {
        let e = event();
        // SAFETY: `name` is NUL-terminated and outlives the call; the rest are values.
        unsafe {
            sys::cmabuf_trace_prepare(
                name(e.pool),
                e.run_size,
                e.runs,
                e.tgid,
                e.duration_ns,
                e.errno,
            )
        }
    }
}

/// `cmabuf:cmabuf_alloc_fail`: why an allocation failed.
pub(crate) struct AllocFail<'a> {
    pub(crate) pool: &'a CStr,
    pub(crate) size: u64,
    pub(crate) tgid: i32,
    /// Positive errno.
    pub(crate) errno: i32,
    /// The reason as the pool's counters name it: `no_room`, `limit`, `dmem`, `busy`,
    /// `other`.
    pub(crate) reason: &'a CStr,
    /// A page that could not be migrated, if known.
    pub(crate) pfn: Option<u64>,
    pub(crate) attempts: u32,
}

/// Emits `cmabuf:cmabuf_alloc_fail` if it is enabled.
#[inline(always)]
pub(crate) fn alloc_fail<'a>(event: impl FnOnce() -> AllocFail<'a>) {
    if enabled!(__tracepoint_cmabuf_alloc_fail) {
        let e = event();
        let pfn = e.pfn.map_or(-1, |p| p as i64);
        // SAFETY: `name` and `reason` are NUL-terminated and outlive the call.
        unsafe {
            sys::cmabuf_trace_alloc_fail(
                name(e.pool),
                e.size,
                e.tgid,
                e.errno,
                e.reason.as_char_ptr(),
                pfn,
                e.attempts,
            )
        }
    }
}

/// Emits `cmabuf:cmabuf_cache_hit` if it is enabled: the warm cache served an allocation
/// of `size` bytes with a run already `zeroed`, `prepared` by `CMABUF_IOC_PREPARE` or not.
#[inline(always)]
pub(crate) fn cache_hit(pool: &CStr, size: u64, zeroed: bool, prepared: bool) {
    if enabled!(__tracepoint_cmabuf_cache_hit) {
        // SAFETY: `name` is NUL-terminated and outlives the call; the rest are values.
        unsafe { sys::cmabuf_trace_cache_hit(name(pool), size, zeroed, prepared) }
    }
}

/// Emits `cmabuf:cmabuf_cache_miss` if it is enabled: none of the `cached_runs` runs in
/// the warm cache served an allocation of `size` bytes.
#[inline(always)]
pub(crate) fn cache_miss(pool: &CStr, size: u64, cached_runs: usize) {
    if enabled!(__tracepoint_cmabuf_cache_miss) {
        let runs = u32::try_from(cached_runs).unwrap_or(u32::MAX);
        // SAFETY: `name` is NUL-terminated and outlives the call; the rest are values.
        unsafe { sys::cmabuf_trace_cache_miss(name(pool), size, runs) }
    }
}

/// Emits `cmabuf:cmabuf_cache_zeroed` if it is enabled: the background work zeroed a run
/// of `size` bytes in `duration_ns` (`ok` false: it was interrupted).
#[inline(always)]
pub(crate) fn cache_zeroed(pool: &CStr, size: u64, duration_ns: u64, ok: bool) {
    if enabled!(__tracepoint_cmabuf_cache_zeroed) {
        // SAFETY: `name` is NUL-terminated and outlives the call; the rest are values.
        unsafe { sys::cmabuf_trace_cache_zeroed(name(pool), size, duration_ns, ok) }
    }
}

/// Emits `cmabuf:cmabuf_cache_release` if it is enabled: a cached run of `size` bytes went
/// back to the CMA area, for `reason` (`idle`, `for_room`, `unbind`, `dropped`,
/// `for_memory`).
#[inline(always)]
pub(crate) fn cache_release(pool: &CStr, size: u64, reason: &CStr, prepared: bool) {
    if enabled!(__tracepoint_cmabuf_cache_release) {
        // SAFETY: `name` and `reason` are NUL-terminated and outlive the call.
        unsafe { sys::cmabuf_trace_cache_release(name(pool), size, reason.as_char_ptr(), prepared) }
    }
}
