// SPDX-License-Identifier: GPL-2.0

//! Importers: their attachments, each with a scatter-list of the buffer mapped for the
//! importer's device, and the CPU access brackets (`DMA_BUF_IOCTL_SYNC`) that sync them.

use super::{
    exported,
    ExportOps,
    Exported, //
};
use crate::ffi::{
    dcache::{
        self,
        Maintenance, //
    },
    dir_raw,
    sys,
    CmaPages, //
};
use core::ptr::NonNull;
use kernel::{
    bindings,
    device::Device,
    error::to_result,
    ffi::c_int,
    prelude::*,
    sync::atomic::Relaxed, //
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
pub(super) struct AttachmentPtr(NonNull<Attachment>);

// SAFETY: The attachment is only touched under `Exported::attachments`' lock.
unsafe impl Send for AttachmentPtr {}

/// # Safety
///
/// Called by the dma-buf core with a live dma-buf of `B`'s and a new attachment.
pub(super) unsafe extern "C" fn attach<B: ExportOps>(
    dmabuf: *mut bindings::dma_buf,
    attachment: *mut bindings::dma_buf_attachment,
) -> c_int {
    // SAFETY: The dma-buf is `B`'s and alive (caller's guarantee).
    let exported = unsafe { exported::<B>(dmabuf) };
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
/// Called by the dma-buf core with a live dma-buf of `B`'s and an attachment that
/// [`attach`] set up.
pub(super) unsafe extern "C" fn detach<B: ExportOps>(
    dmabuf: *mut bindings::dma_buf,
    attachment: *mut bindings::dma_buf_attachment,
) {
    // SAFETY: The dma-buf is `B`'s and alive (caller's guarantee).
    let exported = unsafe { exported::<B>(dmabuf) };
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
/// Called by the dma-buf core with an attachment that [`attach`] set up for `B`.
pub(super) unsafe extern "C" fn map_dma_buf<B: ExportOps>(
    attachment: *mut bindings::dma_buf_attachment,
    dir: bindings::dma_data_direction,
) -> *mut bindings::sg_table {
    // SAFETY: The dma-buf is `B`'s and alive while attached.
    let exported = unsafe { exported::<B>((*attachment).dmabuf) };
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
/// Called by the dma-buf core with an attachment that [`map_dma_buf`] mapped for `B`.
pub(super) unsafe extern "C" fn unmap_dma_buf<B: ExportOps>(
    attachment: *mut bindings::dma_buf_attachment,
    _sgt: *mut bindings::sg_table,
    dir: bindings::dma_data_direction,
) {
    // SAFETY: The dma-buf is `B`'s and alive while attached.
    let exported = unsafe { exported::<B>((*attachment).dmabuf) };
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
            exported.buffer.owner_name(),
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
fn sync_attachments<B: ExportOps>(
    exported: &Exported<B>,
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
    if any_mapped || exported.buffer.cache() != super::CacheMode::Cached {
        return Ok(());
    }
    let op = if to_cpu {
        Maintenance::ForCpu(dir_raw(dir))
    } else {
        Maintenance::ForDevice(dir_raw(dir))
    };
    exported.buffer.pages().maintain(op)?;
    dcache::count_sync_unattached();
    Ok(())
}

/// # Safety
///
/// Called by the dma-buf core with a live dma-buf of `B`'s.
pub(super) unsafe extern "C" fn begin_cpu_access<B: ExportOps>(
    dmabuf: *mut bindings::dma_buf,
    dir: bindings::dma_data_direction,
) -> c_int {
    // SAFETY: The dma-buf is `B`'s and alive (caller's guarantee).
    match sync_attachments(unsafe { exported::<B>(dmabuf) }.get_ref(), dir, true) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by the dma-buf core with a live dma-buf of `B`'s.
pub(super) unsafe extern "C" fn end_cpu_access<B: ExportOps>(
    dmabuf: *mut bindings::dma_buf,
    dir: bindings::dma_data_direction,
) -> c_int {
    // SAFETY: The dma-buf is `B`'s and alive (caller's guarantee).
    match sync_attachments(unsafe { exported::<B>(dmabuf) }.get_ref(), dir, false) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Most pages in one scatter-list entry: its length is an `unsigned int` of bytes, a
/// whole number of pages (`UINT_MAX & PAGE_MASK`: 4 GiB less a page).
const SG_MAX_PAGES: usize = (u32::MAX >> kernel::page::PAGE_SHIFT) as usize;

/// The byte lengths of the scatter-list entries that describe a buffer of `pages`
/// contiguous pages: as many entries as a 32-bit length needs, each a whole number of
/// pages and at most `UINT_MAX & PAGE_MASK` bytes.
pub(super) fn sg_entries(pages: usize) -> impl Iterator<Item = u32> {
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
