// SPDX-License-Identifier: GPL-2.0

//! CPU mappings of an exported buffer: user mappings (`mmap`, page-backed, with a fault
//! handler that puts the pages back after a PTE zap) and the kernel's (`vmap`), in the
//! buffer's cache mode.

use super::{
    exported,
    ExportOps, //
};
use crate::ffi::{
    sys,
    uapi_abi::{
        CMABUF_CACHED,
        CMABUF_UNCACHED,
        CMABUF_WRITECOMBINE, //
    },
    CmaPages, //
};
use kernel::{
    bindings,
    error::to_result,
    ffi::c_int,
    prelude::*, //
};

/// How CPU mappings of a buffer see memory. The values are the uAPI's `CMABUF_*` cache
/// modes, which the C shim takes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum CacheMode {
    /// `CMABUF_CACHED`: cached; coherent through `DMA_BUF_IOCTL_SYNC`.
    Cached = CMABUF_CACHED as isize,
    /// `CMABUF_WRITECOMBINE`.
    WriteCombine = CMABUF_WRITECOMBINE as isize,
    /// `CMABUF_UNCACHED`.
    Uncached = CMABUF_UNCACHED as isize,
}

impl CacheMode {
    /// The mode's name in debugfs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Cached => "cached",
            Self::WriteCombine => "writecombine",
            Self::Uncached => "uncached",
        }
    }
}

/// Pages inserted into a user mapping per `vm_insert_pages` call.
const INSERT_BATCH: usize = 64;

/// # Safety
///
/// Called by the dma-buf core with a live dma-buf of `B`'s and a VMA being set up, with
/// the mmap lock held for writing; the core checked that the VMA fits the buffer.
pub(super) unsafe extern "C" fn mmap<B: ExportOps>(
    dmabuf: *mut bindings::dma_buf,
    vma: *mut bindings::vm_area_struct,
) -> c_int {
    // SAFETY: The dma-buf is `B`'s and alive (caller's guarantee).
    let exported = unsafe { exported::<B>(dmabuf) };
    let pages = exported.buffer.pages();
    let (mut start, mut count, mut pgoff) = (0, 0, 0);
    // SAFETY: `vma` is valid; the out-pointers point to locals.
    unsafe { sys::cmabuf_vma_span(vma, &mut start, &mut count, &mut pgoff) };
    let first = pgoff;
    if first
        .checked_add(count)
        .is_none_or(|end| end > pages.count())
    {
        return EINVAL.to_errno();
    }
    // SAFETY: `vma` is being set up under the mmap write lock. `B::ops()` is static and
    // the dma-buf outlives the VMA, whose file holds it (the dma-buf file, also for
    // importers' `dma_buf_mmap`); the file also pins this module, its exporter.
    unsafe {
        sys::cmabuf_vma_prepare(
            vma,
            exported.buffer.cache() as u32,
            &B::ops().vm,
            dmabuf.cast(),
        )
    };
    // All pages now, in batches: one call instead of a fault per page on first touch.
    // `fault` puts them back if the PTEs are zapped later.
    match insert_pages(vma, start, pages, first, count) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Faults in the buffer's page at the faulting offset: the same page `mmap` inserted, so
/// shared mappings stay shared and page-backed (`get_user_pages` works), and the core
/// copies it for a write to a `MAP_PRIVATE` mapping. Beyond the buffer: `SIGBUS`. The
/// user mappings' only operation (`Ops::vm`): the pages come back after a PTE zap.
///
/// # Safety
///
/// Called by the core mm with a fault in a VMA that [`mmap`] set up for `B`.
pub(super) unsafe extern "C" fn fault<B: ExportOps>(
    vmf: *mut bindings::vm_fault,
) -> bindings::vm_fault_t {
    let mut pgoff = 0;
    // SAFETY: `vmf` is valid during the call; `pgoff` is a local.
    let dmabuf = unsafe { sys::cmabuf_vmf_info(vmf, &mut pgoff) }.cast::<bindings::dma_buf>();
    // SAFETY: `mmap` set the VMA's private data to our dma-buf, which the VMA's file
    // keeps alive while the VMA exists.
    let pages = unsafe { exported::<B>(dmabuf) }.get_ref().buffer.pages();
    let page = if pgoff < pages.count() {
        pages.page(pgoff)
    } else {
        core::ptr::null_mut()
    };
    // SAFETY: `vmf` is valid; `page` is NULL or a page of the live buffer.
    unsafe { sys::cmabuf_vmf_set_page(vmf, page) }
}

/// Maps pages `first..first + count` of `pages` at `addr` in `vma`.
fn insert_pages(
    vma: *mut bindings::vm_area_struct,
    mut addr: usize,
    pages: &CmaPages,
    first: usize,
    count: usize,
) -> Result {
    let mut batch = [core::ptr::null_mut::<bindings::page>(); INSERT_BATCH];
    let mut done = 0;
    while done < count {
        let n = INSERT_BATCH.min(count - done);
        for (i, slot) in batch.iter_mut().take(n).enumerate() {
            *slot = pages.page(first + done + i);
        }
        let mut left = n;
        // SAFETY: `vma` is being set up under the mmap write lock, the range lies inside
        // it (checked by the caller), and the pages are the buffer's, alive while the
        // mapping holds the dma-buf file.
        to_result(unsafe { bindings::vm_insert_pages(vma, addr, batch.as_mut_ptr(), &mut left) })?;
        if left != 0 {
            return Err(EFAULT);
        }
        done += n;
        addr += n << kernel::page::PAGE_SHIFT;
    }
    Ok(())
}

/// # Safety
///
/// Called by the dma-buf core (which counts vmaps) with a live dma-buf of `B`'s.
pub(super) unsafe extern "C" fn vmap<B: ExportOps>(
    dmabuf: *mut bindings::dma_buf,
    map: *mut bindings::iosys_map,
) -> c_int {
    // SAFETY: The dma-buf is `B`'s and alive (caller's guarantee).
    let exported = unsafe { exported::<B>(dmabuf) };
    let pages = exported.buffer.pages();
    let Ok(mut array) = KVVec::with_capacity(pages.count(), GFP_KERNEL) else {
        return ENOMEM.to_errno();
    };
    for i in 0..pages.count() {
        if array.push(pages.page(i), GFP_KERNEL).is_err() {
            return ENOMEM.to_errno();
        }
    }
    let Ok(count) = u32::try_from(pages.count()) else {
        return ENOMEM.to_errno();
    };
    let cache = exported.buffer.cache() as u32;
    // SAFETY: `array` holds the buffer's pages; `vmap` copies what it needs.
    let vaddr = unsafe { sys::cmabuf_vmap(array.as_mut_ptr(), count, cache) };
    if vaddr.is_null() {
        return ENOMEM.to_errno();
    }
    // SAFETY: `map` is valid for writes (caller's guarantee).
    unsafe { sys::cmabuf_iosys_map_set_vaddr(map, vaddr) };
    0
}

/// # Safety
///
/// Called by the dma-buf core with the `map` that [`vmap`] filled in.
pub(super) unsafe extern "C" fn vunmap(
    _dmabuf: *mut bindings::dma_buf,
    map: *mut bindings::iosys_map,
) {
    // SAFETY: `map` holds the address `vmap` returned.
    unsafe { sys::cmabuf_vunmap(sys::cmabuf_iosys_map_vaddr(map).cast_const()) };
}

/// The memory type of a CPU mapping, as the architecture's page tables encode it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum MemType {
    /// Cacheable (write-back) normal memory.
    Normal,
    /// Normal non-cacheable memory (32-bit ARM: "bufferable"): uncached, but memset and
    /// unaligned accesses work and writes may be merged.
    NormalNc,
    /// Device memory (32-bit ARM: also strongly ordered): for MMIO; on RAM, `DC ZVA`
    /// (memset) and unaligned accesses fault.
    Device,
    /// Anything else.
    Other,
}

impl MemType {
    /// The name debugfs shows.
    pub(crate) fn name(self) -> &'static str {
        match self {
            MemType::Normal => "normal",
            MemType::NormalNc => "normal-nc",
            MemType::Device => "device",
            MemType::Other => "other",
        }
    }
}

/// The memory type cmabuf maps buffers of cache mode `cache` with: in the kernel's
/// `vmap` for importers (`kernel`) or in user space (`mmap`).
pub(crate) fn memtype(cache: CacheMode, kernel: bool) -> MemType {
    // SAFETY: The helper only computes page protections; it touches no memory.
    match unsafe { sys::cmabuf_prot_memtype(cache as u32, kernel) } as u32 {
        sys::CMABUF_MT_NORMAL => MemType::Normal,
        sys::CMABUF_MT_NORMAL_NC => MemType::NormalNc,
        sys::CMABUF_MT_DEVICE => MemType::Device,
        _ => MemType::Other,
    }
}
