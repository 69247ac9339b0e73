// SPDX-License-Identifier: GPL-2.0

//! The module parameters (declared in `module!`, crate root): their checks at load and
//! the getters the rest of the crate reads them through.

use crate::{
    ffi::{
        self,
        decimal::dec, //
    },
    region::Limits,
    uapi, //
};
use kernel::prelude::*;

/// Checks the parameters at module load; says which is wrong and how.
pub(crate) fn check() -> Result {
    if ffi::param!(dma_heap) > 1 {
        pr_err!("dma_heap must be 0 (off) or 1 (also serve each pool as a dma-heap)\n");
        return Err(EINVAL);
    }
    let idle_ms = ffi::param!(cache_idle_ms);
    if idle_ms == 0 || idle_ms > uapi::PREPARE_MAX_MS {
        pr_err!("cache_idle_ms must be 1 to 600000 (milliseconds a freed buffer stays cached)\n");
        return Err(EINVAL);
    }
    let arena = small_arena_bytes();
    if !whole_pages(arena) {
        pr_err!(
            "small_arena_bytes={} is not a multiple of the page size ({} bytes): round it to whole pages\n",
            dec(arena),
            kernel::page::PAGE_SIZE
        );
        return Err(EINVAL);
    }
    let budget = default_pool();
    if !whole_pages(budget) {
        pr_err!(
            "default_pool={} is not a multiple of the page size ({} bytes): round it to whole pages\n",
            dec(budget),
            kernel::page::PAGE_SIZE
        );
        return Err(EINVAL);
    }
    Ok(())
}

/// Whether `bytes` is a whole number of pages (a mask: no 64-bit division, which 32-bit
/// ARM kernels lack).
pub(crate) fn whole_pages(bytes: u64) -> bool {
    bytes & (kernel::page::PAGE_SIZE as u64 - 1) == 0
}

/// Whether pools are also dma-heaps (`dma_heap`).
pub(crate) fn dma_heap_enabled() -> bool {
    ffi::param!(dma_heap) == 1
}

/// The bytes of the system's default CMA area to serve as `/dev/cmabuf-default`
/// (`default_pool`; 0: none).
pub(crate) fn default_pool() -> u64 {
    ffi::param!(default_pool)
}

/// The bytes of each pool taken at bind for its small-buffer arena
/// (`small_arena_bytes`; 0: none).
pub(crate) fn small_arena_bytes() -> u64 {
    ffi::param!(small_arena_bytes)
}

/// The warm cache's size limit per pool in bytes (0: off) and idle timeout in ms
/// (`cache_bytes`, `cache_idle_ms`).
pub(crate) fn cache_parameters() -> (u64, u32) {
    (ffi::param!(cache_bytes), ffi::param!(cache_idle_ms))
}

/// The limits set by module parameters; they override the device tree's.
pub(crate) fn limit_parameters() -> Limits {
    Limits {
        max_bytes: ffi::param!(max_bytes),
        max_buffers: ffi::param!(max_buffers),
        max_process_bytes: ffi::param!(max_process_bytes),
        max_process_buffers: ffi::param!(max_process_buffers),
    }
}
