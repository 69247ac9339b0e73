// SPDX-License-Identifier: GPL-2.0

//! CMA areas (`struct cma`, `mm/cma.c`) and pages allocated from them.

use super::{
    dcache::{
        self,
        Maintenance, //
    },
    sys, //
};
use core::ptr::NonNull;
use kernel::{
    bindings,
    device::Device,
    error::to_result,
    page::PAGE_SHIFT,
    prelude::*,
    sync::Arc, //
};

/// A CMA area made by the kernel from a reusable reserved-memory region.
///
/// # Invariants
///
/// `self.0` points to a valid `struct cma`. CMA areas are created at boot and never
/// freed, so the pointer stays valid for the kernel's lifetime.
#[derive(Clone, Copy)]
pub(crate) struct CmaArea(NonNull<sys::cma>);

// SAFETY: A `struct cma` is shared kernel-wide; all of its mutable state is protected by
// its own locks, so the handle may move between threads.
unsafe impl Send for CmaArea {}
// SAFETY: See `Send`: every operation on a `struct cma` takes the area's own locks.
unsafe impl Sync for CmaArea {}

impl CmaArea {
    /// Wraps a pointer obtained from the kernel.
    ///
    /// # Safety
    ///
    /// `ptr` is NULL or points to a CMA area registered with the CMA core.
    pub(super) unsafe fn from_raw(ptr: *mut sys::cma) -> Option<Self> {
        // INVARIANT: Non-NULL pointers point to an area that lives forever (see above).
        NonNull::new(ptr).map(Self)
    }

    /// The system's default CMA area (`cma=`, `CONFIG_CMA_SIZE_*` or `linux,cma-default`).
    pub(crate) fn default_area() -> Option<Self> {
        // SAFETY: With no device `dev_get_cma_area` returns the default area or NULL.
        unsafe { Self::from_raw(sys::dev_get_cma_area(core::ptr::null_mut())) }
    }

    /// The C `struct cma`, valid for the kernel's lifetime (type invariant).
    pub(super) fn as_ptr(&self) -> *mut sys::cma {
        self.0.as_ptr()
    }

    /// Whether `self` and `other` are the same area.
    pub(crate) fn same(&self, other: &CmaArea) -> bool {
        self.0 == other.0
    }

    /// The area's name: for a reserved-memory region, its device-tree node name.
    pub(crate) fn name(&self) -> &'static CStr {
        // SAFETY: By the type invariants the area is valid forever, and `cma_get_name`
        // returns a pointer to the NUL-terminated name stored inside it.
        unsafe { CStr::from_char_ptr(sys::cma_get_name(self.0.as_ptr())) }
    }

    /// Allocates `count` contiguous pages aligned to `1 << align_order` pages, migrating
    /// movable pages out of the way. `None` if the area has no such run right now.
    pub(crate) fn alloc(&self, count: usize, align_order: u32) -> Option<CmaPages> {
        // SAFETY: The area is valid (type invariant); `cma_alloc` takes its own locks and
        // may sleep, which callers of this (process context) allow.
        let first = unsafe { sys::cma_alloc(self.0.as_ptr(), count, align_order, true) };
        // INVARIANT: On success `cma_alloc` returned `count` pages of this area.
        NonNull::new(first).map(|first| CmaPages {
            area: *self,
            first,
            count,
            arena: None,
        })
    }
}

/// A run of a CMA area in which cmabuf places small buffers itself (the pool's
/// small-buffer arena): given back to the area when the arena and every piece of it
/// ([`CmaArena::piece`]) are gone.
pub(crate) struct CmaArena(CmaPages);

impl CmaArena {
    /// Takes `count` pages of `area` with `cma_alloc` (page-aligned: CMA's first fit puts
    /// them at the lowest free run). `None` if the area has no such run, or no memory.
    pub(crate) fn alloc(area: &CmaArea, count: usize) -> Option<Arc<Self>> {
        let pages = area.alloc(count, 0)?;
        // On failure `pages` goes back to the area as it drops.
        Arc::new(Self(pages), GFP_KERNEL).ok()
    }

    /// The arena's pages.
    pub(crate) fn pages(&self) -> &CmaPages {
        &self.0
    }

    /// The `count` pages from page `offset` of `this` as pages of a buffer: they keep
    /// the arena alive, and releasing them gives nothing back to the area (the arena's
    /// books, kept by its owner, say which pages are pieces). `None` if the range is not
    /// within the arena, or empty.
    pub(crate) fn piece(this: &Arc<Self>, offset: usize, count: usize) -> Option<CmaPages> {
        if count == 0 || offset.checked_add(count)? > this.0.count {
            return None;
        }
        Some(CmaPages {
            area: this.0.area,
            first: NonNull::new(this.0.page(offset))?,
            count,
            arena: Some(this.clone()),
        })
    }
}

/// Physically contiguous pages allocated from a CMA area, given back on drop.
///
/// # Invariants
///
/// Unless `count` is 0 (released), `first` is the first of `count` contiguous pages that
/// `cma_alloc` returned from `area` and that have not been released: either the whole
/// run (`arena` is `None`), or a piece of the run of `arena`, which then cannot be
/// released while this object holds its reference.
pub(crate) struct CmaPages {
    area: CmaArea,
    first: NonNull<bindings::page>,
    count: usize,
    arena: Option<Arc<CmaArena>>,
}

// SAFETY: The pages are plain memory owned by this object; it only hands out their
// addresses, and releasing them is allowed from any thread.
unsafe impl Send for CmaPages {}
// SAFETY: `&self` methods only read the page addresses or write page contents through
// functions that do not depend on the calling thread.
unsafe impl Sync for CmaPages {}

impl CmaPages {
    /// The area the pages came from.
    pub(crate) fn area(&self) -> &CmaArea {
        &self.area
    }

    /// Number of pages.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Page frame number of the first page.
    pub(crate) fn pfn(&self) -> u64 {
        // SAFETY: `first` is a valid page (type invariant).
        unsafe { sys::cmabuf_page_to_pfn(self.first.as_ptr()) as u64 }
    }

    /// Physical address of the first byte.
    pub(crate) fn phys(&self) -> u64 {
        self.pfn() << PAGE_SHIFT
    }

    /// Size in bytes: 64 bits, since on 32-bit ARM with LPAE a buffer (not a dma-buf:
    /// ALLOC refuses those) could exceed `usize`.
    pub(crate) fn size(&self) -> u64 {
        (self.count as u64) << PAGE_SHIFT
    }

    /// Page `n` of the range (`n < count`), for the exporter.
    pub(super) fn page(&self, n: usize) -> *mut bindings::page {
        // SAFETY: `first` is valid and `n` stays within the allocated range.
        unsafe { sys::cmabuf_nth_page(self.first.as_ptr(), n) }
    }

    /// Zeroes every page; fails with `EINTR` if the caller is being killed.
    pub(crate) fn clear(&self) -> Result {
        // SAFETY: The pages belong to this object and nobody else maps them yet.
        to_result(unsafe { sys::cmabuf_clear_pages(self.first.as_ptr(), self.count) })
    }

    /// Writes the CPU's cached lines of the pages back to memory and drops them, so
    /// non-cacheable mappings see what was written through the cached linear map (the
    /// zeroing). Done on the module's maintenance device, whose mask covers every pool;
    /// fails (and says so on `dev`, the pool's device) rather than leave lines that
    /// could later be written back over the buffer or show the previous owner's data.
    pub(crate) fn clean_dcache(&self, dev: &Device) -> Result {
        dcache::maintain(self.first.as_ptr(), self.phys(), self.size(), Maintenance::Clean)
            .inspect(|()| dcache::count_clean())
            .inspect_err(|e| {
                dev_err!(
                    dev,
                    "could not clean the CPU caches over {} bytes at {:#x} (error {}: DMA mapping failed or bounced); buffer refused\n",
                    super::decimal::dec(self.size()),
                    self.phys(),
                    e.to_errno()
                )
            })
    }

    /// CPU cache maintenance over the whole range (`DMA_BUF_IOCTL_SYNC` without a
    /// mapped importer).
    pub(super) fn maintain(&self, op: Maintenance) -> Result {
        dcache::maintain(self.first.as_ptr(), self.phys(), self.size(), op)
    }

    /// How many pages someone else still holds a reference to (e.g. pinned for I/O).
    pub(crate) fn referenced(&self) -> usize {
        // SAFETY: The pages are valid; the helper only reads their reference counts.
        unsafe { sys::cmabuf_pages_referenced(self.first.as_ptr(), self.count) }
    }

    /// Gives the pages back to the CMA area, unless someone still holds a reference to
    /// one of them (e.g. a pipe that `vmsplice` filled): then nothing changes and `Err`
    /// says how many pages are still referenced. Handing such pages to the next buffer
    /// would share memory between two owners. On `Ok` this object owns nothing more.
    pub(crate) fn try_release(&mut self) -> core::result::Result<(), usize> {
        if self.count == 0 {
            return Ok(());
        }
        let busy = self.referenced();
        if busy != 0 {
            return Err(busy);
        }
        let count = core::mem::replace(&mut self.count, 0);
        // INVARIANT: `count == 0`: nothing is owned any more.
        if self.arena.take().is_some() {
            // A piece of an arena: its pages go back to the arena's books (its owner's
            // business), and to the area with the arena.
            return Ok(());
        }
        // SAFETY: By the type invariants the pages came from `area` and were not released
        // (`count` was non-zero), and no one else holds a reference (checked above).
        unsafe { sys::cma_release(self.area.0.as_ptr(), self.first.as_ptr(), count) };
        Ok(())
    }

    /// Whether these pages are a piece of a small-buffer arena ([`CmaArena::piece`]).
    pub(crate) fn in_arena(&self) -> bool {
        self.arena.is_some()
    }

    /// Moves the pages out, leaving an object that owns nothing.
    pub(crate) fn take(&mut self) -> CmaPages {
        CmaPages {
            area: self.area,
            first: self.first,
            // INVARIANT: `self` now owns nothing; the new object owns what it owned.
            count: core::mem::replace(&mut self.count, 0),
            arena: self.arena.take(),
        }
    }
}

impl Drop for CmaPages {
    /// Pages still referenced now are never given back: better lost than shared.
    fn drop(&mut self) {
        if let Err(busy) = self.try_release() {
            pr_err!(
                "{} pages of CMA area {} are still referenced and will never be reused\n",
                busy,
                self.area.name()
            );
            // A piece keeps its arena from ever going back to the area.
            core::mem::forget(self.arena.take());
        }
    }
}
