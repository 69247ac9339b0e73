// SPDX-License-Identifier: GPL-2.0

//! The dma-buf exporter: cmabuf buffers as dma-buf files (`drivers/dma-buf/dma-buf.c`).
//!
//! Each exported buffer carries an [`Exported`] as the dma-buf's private data: the
//! buffer itself and the importers' attachments, each with a scatter-list (one entry
//! per 4 GiB less a page, see [`sg_entries`]) mapped for the importer's own device.
//! CPU access brackets (`DMA_BUF_IOCTL_SYNC`) sync every mapped attachment in the
//! direction it was mapped; with none mapped, a cached buffer is synced on its own
//! (it may be in a device's hands through `CMABUF_IOC_PHYS`). User mappings are
//! page-backed (`vm_insert_pages` at mmap, and a fault handler that puts the same pages
//! back after a PTE zap such as `MADV_DONTNEED`), so `get_user_pages` users such as
//! `O_DIRECT` work on them.

use super::{
    dcache::Maintenance,
    dir_raw,
    sys,
    CmaPages, //
};
use crate::{
    buffer::Buffer,
    uapi::CacheMode, //
};
use core::ptr::NonNull;
use kernel::{
    bindings,
    device::Device,
    error::{
        from_err_ptr,
        to_result, //
    },
    ffi::c_int,
    fs::File,
    new_mutex,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex, //
    },
    types::ForeignOwnable,
};

/// An importer's attachment: its device and our scatter-list for it.
///
/// # Invariants
///
/// `dev` is the attachment's device, valid until `detach`. `sgt` is empty (zeroed) or
/// holds a table (from [`sg_table_init`]) covering the buffer, freed on drop; `mapped`
/// is the direction it is DMA-mapped for, if it is.
struct Attachment {
    dev: *mut bindings::device,
    sgt: KBox<bindings::sg_table>,
    mapped: Option<c_int>,
}

/// A pointer to an [`Attachment`] owned by its `dma_buf_attachment`.
#[derive(Clone, Copy, PartialEq)]
struct AttachmentPtr(NonNull<Attachment>);

// SAFETY: The attachment is only touched under `Exported::attachments`' lock.
unsafe impl Send for AttachmentPtr {}

/// The private data of an exported dma-buf.
#[pin_data]
struct Exported {
    buffer: Arc<Buffer>,
    #[pin]
    attachments: Mutex<KVec<AttachmentPtr>>,
    /// Whether an importer's unmap direction mismatch was logged (once per buffer).
    direction_logged: Atomic<bool>,
}

/// Exports `buffer` as a dma-buf; returns its file, not yet installed in a descriptor.
/// `access` is `O_RDWR` or `O_RDONLY`.
pub(crate) fn export(buffer: Arc<Buffer>, access: u32) -> Result<ARef<File>> {
    let dmabuf = export_raw(buffer, access)?;
    // SAFETY: A new dma-buf's file carries one reference, which the caller now owns
    // (`dma_buf_fd` would otherwise hand it to the fd table). `File` is a transparent
    // wrapper of `struct file`.
    Ok(unsafe {
        ARef::from_raw(NonNull::new_unchecked(
            (*dmabuf.as_ptr()).file.cast::<File>(),
        ))
    })
}

/// Exports `buffer` as a dma-buf and returns it with the one reference of its file,
/// which the caller must hand on (to a descriptor or `dma_buf_put`).
pub(super) fn export_raw(buffer: Arc<Buffer>, access: u32) -> Result<NonNull<bindings::dma_buf>> {
    // ALLOC refuses buffers a `size_t` cannot describe (32-bit ARM with LPAE).
    let size = usize::try_from(buffer.pages().size()).map_err(|_| EINVAL)?;
    let exported = KBox::pin_init(
        try_pin_init!(Exported {
            buffer,
            attachments <- new_mutex!(KVec::new()),
            direction_logged: Atomic::new(false),
        }),
        GFP_KERNEL,
    )?;
    let priv_ = exported.into_foreign();
    // SAFETY: `OPS` is a static table; `priv_` stays valid until `release` takes it back.
    let dmabuf = unsafe { sys::cmabuf_dma_buf_export(&OPS, size, access as c_int, priv_) };
    match from_err_ptr(dmabuf) {
        // `dma_buf_export` never returns NULL: an error pointer or a dma-buf.
        Ok(d) => NonNull::new(d).ok_or(ENOMEM),
        Err(e) => {
            // SAFETY: The export failed, so the dma-buf core does not hold `priv_`; we
            // take back what `into_foreign` gave out.
            drop(unsafe { <Pin<KBox<Exported>>>::from_foreign(priv_) });
            Err(e)
        }
    }
}

/// The cmabuf buffer behind dma-buf file descriptor `fd`: `Err(EBADF)` if `fd` is not a
/// dma-buf, `Ok(None)` if it is another exporter's.
pub(crate) fn buffer_of_fd(fd: i32) -> Result<Option<Arc<Buffer>>> {
    // SAFETY: `dma_buf_get` takes any integer and returns a referenced dma-buf or an
    // error pointer.
    let dmabuf = from_err_ptr(unsafe { bindings::dma_buf_get(fd) }).map_err(|_| EBADF)?;
    // SAFETY: `dmabuf` is valid while we hold the reference taken above; for our own
    // dma-bufs `priv` is the `Exported` set up by `export`, alive until `release`,
    // which cannot run while we hold a reference.
    let buffer = unsafe {
        if core::ptr::eq((*dmabuf).ops, &OPS) {
            let exported = <Pin<KBox<Exported>>>::borrow((*dmabuf).priv_);
            Some(exported.buffer.clone())
        } else {
            None
        }
    };
    // SAFETY: Drops the reference `dma_buf_get` took.
    unsafe { bindings::dma_buf_put(dmabuf) };
    Ok(buffer)
}

/// `struct dma_buf_ops` for cmabuf buffers.
static OPS: bindings::dma_buf_ops = bindings::dma_buf_ops {
    attach: Some(attach),
    detach: Some(detach),
    map_dma_buf: Some(map_dma_buf),
    unmap_dma_buf: Some(unmap_dma_buf),
    release: Some(release),
    begin_cpu_access: Some(begin_cpu_access),
    end_cpu_access: Some(end_cpu_access),
    mmap: Some(mmap),
    vmap: Some(vmap),
    vunmap: Some(vunmap),
    ..pin_init::zeroed()
};

/// Borrows the private data of one of our dma-bufs.
///
/// # Safety
///
/// `dmabuf` is a live dma-buf exported by [`export`].
unsafe fn exported<'a>(dmabuf: *mut bindings::dma_buf) -> Pin<&'a Exported> {
    // SAFETY: By the caller's guarantee `priv` is our `Exported`, alive until `release`.
    unsafe { <Pin<KBox<Exported>>>::borrow((*dmabuf).priv_) }
}

/// # Safety
///
/// Called by the dma-buf core with a live dma-buf of ours and a new attachment.
unsafe extern "C" fn attach(
    dmabuf: *mut bindings::dma_buf,
    attachment: *mut bindings::dma_buf_attachment,
) -> c_int {
    // SAFETY: The dma-buf is ours and alive (caller's guarantee).
    let exported = unsafe { exported(dmabuf) };
    let pages = exported.buffer.pages();
    let result = (|| -> Result<NonNull<Attachment>> {
        let mut att = KBox::new(
            Attachment {
                // SAFETY: The attachment is valid during the call.
                dev: unsafe { (*attachment).dev },
                sgt: KBox::new(pin_init::zeroed::<bindings::sg_table>(), GFP_KERNEL)?,
                mapped: None,
            },
            GFP_KERNEL,
        )?;
        // On failure the attachment's drop frees what was allocated of the table.
        sg_table_init(&mut att.sgt, pages)?;
        let ptr = NonNull::from(KBox::leak(att));
        if let Err(e) = exported
            .attachments
            .lock()
            .push(AttachmentPtr(ptr), GFP_KERNEL)
        {
            // SAFETY: `ptr` came from `KBox::leak` above and was not shared.
            drop(unsafe { KBox::from_raw(ptr.as_ptr()) });
            return Err(e.into());
        }
        Ok(ptr)
    })();
    match result {
        Ok(ptr) => {
            // SAFETY: The attachment is valid; `priv` is ours to set.
            unsafe { (*attachment).priv_ = ptr.as_ptr().cast() };
            exported.buffer.importer(importer_name(attachment), true);
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by the dma-buf core with a live dma-buf of ours and an attachment that
/// [`attach`] set up.
unsafe extern "C" fn detach(
    dmabuf: *mut bindings::dma_buf,
    attachment: *mut bindings::dma_buf_attachment,
) {
    // SAFETY: The dma-buf is ours and alive (caller's guarantee).
    let exported = unsafe { exported(dmabuf) };
    // SAFETY: `attach` stored a `KBox<Attachment>` pointer in `priv`.
    let Some(ptr) = NonNull::new(unsafe { (*attachment).priv_ }.cast::<Attachment>()) else {
        return;
    };
    exported
        .attachments
        .lock()
        .retain(|a| *a != AttachmentPtr(ptr));
    exported.buffer.importer(importer_name(attachment), false);
    // SAFETY: `ptr` came from `KBox::leak` in `attach` and is no longer in the list.
    drop(unsafe { KBox::from_raw(ptr.as_ptr()) });
}

/// Fills the empty table `sgt` with entries covering `pages` (split by [`sg_entries`]).
fn sg_table_init(sgt: &mut bindings::sg_table, pages: &CmaPages) -> Result {
    let nents = u32::try_from(sg_entries(pages.count()).count()).map_err(|_| ENOMEM)?;
    // SAFETY: `sgt` is an empty table.
    to_result(unsafe { sys::cmabuf_sgt_alloc(sgt, nents) })?;
    // SAFETY: The table was just allocated with `nents` entries.
    let mut sg = unsafe { sys::cmabuf_sgt_first(sgt) };
    let mut first = 0;
    for len in sg_entries(pages.count()) {
        if sg.is_null() {
            break;
        }
        // SAFETY: `sg` is one of the table's `nents` entries (as many as `sg_entries`
        // yields); the page is the buffer's, alive while it is, and `len` bytes from it
        // stay inside the buffer.
        sg = unsafe { sys::cmabuf_sg_set_next(sg, pages.page(first), len) };
        first += (len >> kernel::page::PAGE_SHIFT) as usize;
    }
    Ok(())
}

/// The name of the device of a live attachment.
fn importer_name<'a>(attachment: *mut bindings::dma_buf_attachment) -> &'a CStr {
    // SAFETY: The dma-buf core passes a live attachment.
    let dev = unsafe { (*attachment).dev };
    // SAFETY: The attachment's device outlives it; the name is used during the callback.
    let dev: &Device = unsafe { Device::from_raw(dev) };
    dev.name()
}

impl Drop for Attachment {
    fn drop(&mut self) {
        if let Some(dir) = self.mapped {
            // SAFETY: The table is mapped for `dev` in `dir` (type invariants).
            unsafe { sys::cmabuf_sgt_unmap(self.dev, &mut *self.sgt, dir) };
        }
        // SAFETY: The table is empty (zeroed) or was set up by `sg_table_init` (type
        // invariants); `sg_free_table` takes both.
        unsafe { bindings::sg_free_table(&mut *self.sgt) };
    }
}

/// # Safety
///
/// Called by the dma-buf core with an attachment that [`attach`] set up.
unsafe extern "C" fn map_dma_buf(
    attachment: *mut bindings::dma_buf_attachment,
    dir: bindings::dma_data_direction,
) -> *mut bindings::sg_table {
    // SAFETY: The dma-buf is ours and alive while attached.
    let exported = unsafe { exported((*attachment).dmabuf) };
    let _guard = exported.attachments.lock();
    // SAFETY: `priv` is our attachment; it is only touched under the lock we hold.
    let att = unsafe { &mut *(*attachment).priv_.cast::<Attachment>() };
    if att.mapped.is_some() {
        return EBUSY.to_ptr();
    }
    // SAFETY: `dev` is the importer's device and `sgt` our table for the buffer.
    let ret = unsafe { bindings::dma_map_sgtable(att.dev, &mut *att.sgt, dir, 0) };
    if ret != 0 {
        return Error::from_errno(ret).to_ptr();
    }
    att.mapped = Some(dir_raw(dir));
    &mut *att.sgt
}

/// # Safety
///
/// Called by the dma-buf core with an attachment that [`map_dma_buf`] mapped.
unsafe extern "C" fn unmap_dma_buf(
    attachment: *mut bindings::dma_buf_attachment,
    _sgt: *mut bindings::sg_table,
    dir: bindings::dma_data_direction,
) {
    // SAFETY: The dma-buf is ours and alive while attached.
    let exported = unsafe { exported((*attachment).dmabuf) };
    let _guard = exported.attachments.lock();
    // SAFETY: `priv` is our attachment; it is only touched under the lock we hold.
    let att = unsafe { &mut *(*attachment).priv_.cast::<Attachment>() };
    let Some(mapped) = att.mapped.take() else {
        return;
    };
    // Unmapped as mapped, whatever the importer passes (the DMA API requires the same
    // direction; a mismatch would skip or misdirect the cache maintenance).
    // Logged once per buffer: an importer that gets it wrong does so every time.
    if mapped != dir_raw(dir) && !exported.direction_logged.xchg(true, Relaxed) {
        pr_err!(
            "{}: buffer {}: importer {} unmapped it for direction {} but mapped it for {}; unmapped as mapped: the importer must pass the direction it mapped with\n",
            &*exported.buffer.pool().name,
            exported.buffer.id(),
            importer_name(attachment),
            dir_raw(dir),
            mapped
        );
    }
    // SAFETY: The table was mapped for `dev` in `mapped` by `map_dma_buf`.
    unsafe { sys::cmabuf_sgt_unmap(att.dev, &mut *att.sgt, mapped) };
}

/// Syncs every mapped attachment for the CPU (`to_cpu`) or back for the devices, each in
/// the direction it was mapped. With none mapped, a cached buffer is synced on its own
/// in the CPU's direction `dir`: a device may reach it by physical address
/// (`CMABUF_IOC_PHYS`). Non-cacheable mappings need no maintenance.
fn sync_attachments(
    exported: &Exported,
    dir: bindings::dma_data_direction,
    to_cpu: bool,
) -> Result {
    let attachments = exported.attachments.lock();
    let mut any_mapped = false;
    for a in attachments.iter() {
        // SAFETY: Listed attachments are alive (detach removes them under this lock).
        let att = unsafe { &mut *a.0.as_ptr() };
        if let Some(mapped) = att.mapped {
            any_mapped = true;
            // SAFETY: The table is mapped for `dev` in `mapped`.
            unsafe {
                if to_cpu {
                    sys::cmabuf_sgt_sync_for_cpu(att.dev, &mut *att.sgt, mapped)
                } else {
                    sys::cmabuf_sgt_sync_for_device(att.dev, &mut *att.sgt, mapped)
                }
            };
        }
    }
    if any_mapped || exported.buffer.cache() != CacheMode::Cached {
        return Ok(());
    }
    let op = if to_cpu {
        Maintenance::ForCpu(dir_raw(dir))
    } else {
        Maintenance::ForDevice(dir_raw(dir))
    };
    exported.buffer.pages().maintain(op)?;
    super::dcache::count_sync_unattached();
    Ok(())
}

/// # Safety
///
/// Called by the dma-buf core with a live dma-buf of ours.
unsafe extern "C" fn begin_cpu_access(
    dmabuf: *mut bindings::dma_buf,
    dir: bindings::dma_data_direction,
) -> c_int {
    // SAFETY: The dma-buf is ours and alive (caller's guarantee).
    match sync_attachments(unsafe { exported(dmabuf) }.get_ref(), dir, true) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by the dma-buf core with a live dma-buf of ours.
unsafe extern "C" fn end_cpu_access(
    dmabuf: *mut bindings::dma_buf,
    dir: bindings::dma_data_direction,
) -> c_int {
    // SAFETY: The dma-buf is ours and alive (caller's guarantee).
    match sync_attachments(unsafe { exported(dmabuf) }.get_ref(), dir, false) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Pages inserted into a user mapping per `vm_insert_pages` call.
const INSERT_BATCH: usize = 64;

/// # Safety
///
/// Called by the dma-buf core with a live dma-buf of ours and a VMA being set up, with
/// the mmap lock held for writing; the core checked that the VMA fits the buffer.
unsafe extern "C" fn mmap(
    dmabuf: *mut bindings::dma_buf,
    vma: *mut bindings::vm_area_struct,
) -> c_int {
    // SAFETY: The dma-buf is ours and alive (caller's guarantee).
    let exported = unsafe { exported(dmabuf) };
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
    // SAFETY: `vma` is being set up under the mmap write lock. `VM_OPS` is static and
    // the dma-buf outlives the VMA, whose file holds it (the dma-buf file, also for
    // importers' `dma_buf_mmap`); the file also pins this module, its exporter.
    unsafe { sys::cmabuf_vma_prepare(vma, exported.buffer.cache() as u32, &VM_OPS, dmabuf.cast()) };
    // All pages now, in batches: one call instead of a fault per page on first touch.
    // `fault` puts them back if the PTEs are zapped later.
    match insert_pages(vma, start, pages, first, count) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// User mappings' operations: the pages come back on a fault after a PTE zap.
static VM_OPS: bindings::vm_operations_struct = bindings::vm_operations_struct {
    fault: Some(fault),
    ..pin_init::zeroed()
};

/// Faults in the buffer's page at the faulting offset: the same page `mmap` inserted, so
/// shared mappings stay shared and page-backed (`get_user_pages` works), and the core
/// copies it for a write to a `MAP_PRIVATE` mapping. Beyond the buffer: `SIGBUS`.
///
/// # Safety
///
/// Called by the core mm with a fault in a VMA that [`mmap`] set up.
unsafe extern "C" fn fault(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    let mut pgoff = 0;
    // SAFETY: `vmf` is valid during the call; `pgoff` is a local.
    let dmabuf = unsafe { sys::cmabuf_vmf_info(vmf, &mut pgoff) }.cast::<bindings::dma_buf>();
    // SAFETY: `mmap` set the VMA's private data to our dma-buf, which the VMA's file
    // keeps alive while the VMA exists.
    let pages = unsafe { exported(dmabuf) }.get_ref().buffer.pages();
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
/// Called by the dma-buf core (which counts vmaps) with a live dma-buf of ours.
unsafe extern "C" fn vmap(dmabuf: *mut bindings::dma_buf, map: *mut bindings::iosys_map) -> c_int {
    // SAFETY: The dma-buf is ours and alive (caller's guarantee).
    let exported = unsafe { exported(dmabuf) };
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
unsafe extern "C" fn vunmap(_dmabuf: *mut bindings::dma_buf, map: *mut bindings::iosys_map) {
    // SAFETY: `map` holds the address `vmap` returned.
    unsafe { sys::cmabuf_vunmap(sys::cmabuf_iosys_map_vaddr(map).cast_const()) };
}

/// # Safety
///
/// Called by the dma-buf core once, when the last reference to the dma-buf goes.
unsafe extern "C" fn release(dmabuf: *mut bindings::dma_buf) {
    // SAFETY: `priv` holds what `export` gave out with `into_foreign`; this is the one
    // place that takes it back.
    drop(unsafe { <Pin<KBox<Exported>>>::from_foreign((*dmabuf).priv_) });
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

/// Most pages in one scatter-list entry: its length is an `unsigned int` of bytes, a
/// whole number of pages (`UINT_MAX & PAGE_MASK`: 4 GiB less a page).
const SG_MAX_PAGES: usize = (u32::MAX >> kernel::page::PAGE_SHIFT) as usize;

/// The byte lengths of the scatter-list entries that describe a buffer of `pages`
/// contiguous pages: as many entries as a 32-bit length needs, each a whole number of
/// pages and at most `UINT_MAX & PAGE_MASK` bytes.
pub(crate) fn sg_entries(pages: usize) -> impl Iterator<Item = u32> {
    let mut left = pages;
    core::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let n = left.min(SG_MAX_PAGES);
        left -= n;
        // At most `SG_MAX_PAGES` pages: fits in 32 bits.
        Some((n << kernel::page::PAGE_SHIFT) as u32)
    })
}

// The cache mode crosses to C as the uAPI's CMABUF_* value.
const _: () = assert!(CacheMode::WriteCombine as u32 == 1 && CacheMode::Uncached as u32 == 2);

#[kunit_tests(cmabuf_mapping)]
mod tests {
    use super::*;
    use kernel::page::PAGE_SHIFT;

    /// The largest scatter-list entry: `UINT_MAX & PAGE_MASK` bytes.
    const SG_MAX: u32 = !((1u32 << PAGE_SHIFT) - 1);

    fn total(pages: usize) -> u64 {
        sg_entries(pages).map(u64::from).sum()
    }

    fn count(pages: usize) -> usize {
        sg_entries(pages).count()
    }

    #[test]
    fn uncached_attr_is_normal_nc() {
        // Uncached RAM is Normal non-cacheable, as the DMA API maps it; never Device.
        assert_eq!(memtype(CacheMode::Uncached, false), MemType::NormalNc);
        assert_eq!(memtype(CacheMode::Uncached, true), MemType::NormalNc);
    }

    #[test]
    fn uncached_attr_other_modes() {
        assert_eq!(memtype(CacheMode::Cached, false), MemType::Normal);
        assert_eq!(memtype(CacheMode::Cached, true), MemType::Normal);
        assert_eq!(memtype(CacheMode::WriteCombine, false), MemType::NormalNc);
        assert_eq!(memtype(CacheMode::WriteCombine, true), MemType::NormalNc);
    }

    #[test]
    fn sg_split_small_buffers_take_one_entry() {
        assert_eq!(count(1), 1);
        assert_eq!(total(1), 1 << PAGE_SHIFT);
        let max_pages = (SG_MAX >> PAGE_SHIFT) as usize;
        assert_eq!(count(max_pages), 1);
        assert_eq!(total(max_pages), u64::from(SG_MAX));
    }

    #[test]
    fn sg_split_at_4g() {
        let max_pages = (SG_MAX >> PAGE_SHIFT) as usize;
        // One page more than an entry holds: two entries, nothing lost.
        assert_eq!(count(max_pages + 1), 2);
        assert_eq!(total(max_pages + 1), u64::from(SG_MAX) + (1 << PAGE_SHIFT));
        // Exactly 4 GiB, which a 32-bit length truncates to 0.
        let four_g = 1usize << (32 - PAGE_SHIFT);
        assert_eq!(total(four_g), 1u64 << 32);
        assert!(sg_entries(four_g).all(|len| len != 0 && len <= SG_MAX));
        assert!(sg_entries(four_g).all(|len| len & ((1 << PAGE_SHIFT) - 1) == 0));
    }

    #[test]
    fn sg_split_many_entries() {
        let max_pages = (SG_MAX >> PAGE_SHIFT) as usize;
        let pages = 3 * max_pages + 5;
        assert_eq!(count(pages), 4);
        assert_eq!(sg_entries(pages).last(), Some(5 << PAGE_SHIFT));
        assert_eq!(total(pages), 3 * u64::from(SG_MAX) + (5 << PAGE_SHIFT));
    }
}
