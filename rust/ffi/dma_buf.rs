// SPDX-License-Identifier: GPL-2.0

//! The dma-buf exporter: buffers as dma-buf files (`drivers/dma-buf/dma-buf.c`).
//!
//! Each exported buffer carries an [`Exported`] as the dma-buf's private data: the
//! buffer itself and the importers' attachments, each with a scatter-list (one entry
//! per 4 GiB less a page, see `attach::sg_entries`) mapped for the importer's own device
//! ([`attach`]). CPU access brackets (`DMA_BUF_IOCTL_SYNC`) sync every mapped attachment
//! in the direction it was mapped; with none mapped, a cached buffer is synced on its
//! own (it may be in a device's hands through `CMABUF_IOC_PHYS`). User mappings are
//! page-backed (`vm_insert_pages` at mmap, and a fault handler that puts the same pages
//! back after a PTE zap such as `MADV_DONTNEED`), so `get_user_pages` users such as
//! `O_DIRECT` work on them ([`cpu_map`]).
//!
//! The exporter is generic over the buffer type: it asks the buffer for its pages and
//! cache mode and tells it of importers ([`Exportable`]); [`crate::ffi_dma_buf_exporter!`]
//! gives each buffer type its own operation tables.

mod attach;
mod cpu_map;

pub(crate) use cpu_map::{
    memtype,
    CacheMode, //
};

use super::{
    sys,
    CmaPages, //
};
use attach::AttachmentPtr;
use core::ptr::NonNull;
use kernel::{
    bindings,
    error::from_err_ptr,
    ffi::c_int,
    fs::File,
    new_mutex,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::Atomic,
        Arc,
        Mutex, //
    },
    types::ForeignOwnable,
};

/// A buffer that can be exported as a dma-buf.
pub(crate) trait Exportable: Send + Sync + Sized + 'static {
    /// The pages the dma-buf maps.
    fn pages(&self) -> &CmaPages;

    /// How CPU mappings see the pages.
    fn cache(&self) -> CacheMode;

    /// The device `importer` attached to the buffer (`true`) or detached.
    fn importer(&self, importer: &CStr, attached: bool);

    /// The name of what the buffer came from (its pool), for messages.
    fn owner_name(&self) -> &CStr;

    /// The buffer's number there, for messages.
    fn id(&self) -> u32;
}

/// An [`Exportable`] with operation tables of its own: a dma-buf whose `ops` are
/// `Self::ops().dma_buf` carries an [`Exported<Self>`].
///
/// # Safety
///
/// `ops` returns one static [`Ops`] made by `Ops::new::<Self>()`, that no other type's
/// `ops` returns. Implement it only with [`crate::ffi_dma_buf_exporter!`].
pub(crate) unsafe trait ExportOps: Exportable {
    /// The operation tables for `Self`.
    fn ops() -> &'static Ops;
}

/// Implements [`ExportOps`] for the [`Exportable`] type `$t`.
#[macro_export]
macro_rules! ffi_dma_buf_exporter {
    ($t:ty) => {
        // SAFETY: `ops` returns a static of its own (one per `impl`, and the macro is
        // the only way to implement `ExportOps`) made by `Ops::new::<$t>()`.
        unsafe impl $crate::ffi::dma_buf::ExportOps for $t {
            fn ops() -> &'static $crate::ffi::dma_buf::Ops {
                static OPS: $crate::ffi::dma_buf::Ops = $crate::ffi::dma_buf::Ops::new::<$t>();
                &OPS
            }
        }
    };
}

/// The operation tables of one [`Exportable`] type: the dma-buf's and its user mappings'.
#[doc(hidden)]
pub(crate) struct Ops {
    dma_buf: bindings::dma_buf_ops,
    vm: bindings::vm_operations_struct,
}

impl Ops {
    /// The tables for `B`.
    pub(crate) const fn new<B: ExportOps>() -> Self {
        Self {
            dma_buf: bindings::dma_buf_ops {
                attach: Some(attach::attach::<B>),
                detach: Some(attach::detach::<B>),
                map_dma_buf: Some(attach::map_dma_buf::<B>),
                unmap_dma_buf: Some(attach::unmap_dma_buf::<B>),
                release: Some(release::<B>),
                begin_cpu_access: Some(attach::begin_cpu_access::<B>),
                end_cpu_access: Some(attach::end_cpu_access::<B>),
                mmap: Some(cpu_map::mmap::<B>),
                vmap: Some(cpu_map::vmap::<B>),
                vunmap: Some(cpu_map::vunmap),
                ..pin_init::zeroed()
            },
            vm: bindings::vm_operations_struct {
                fault: Some(cpu_map::fault::<B>),
                ..pin_init::zeroed()
            },
        }
    }
}

/// The private data of an exported dma-buf.
#[pin_data]
struct Exported<B> {
    buffer: Arc<B>,
    #[pin]
    attachments: Mutex<KVec<AttachmentPtr>>,
    /// Whether an importer's unmap direction mismatch was logged (once per buffer).
    direction_logged: Atomic<bool>,
}

/// Exports `buffer` as a dma-buf; returns its file, not yet installed in a descriptor.
/// `access` is `O_RDWR` or `O_RDONLY`.
pub(crate) fn export<B: ExportOps>(buffer: Arc<B>, access: u32) -> Result<ARef<File>> {
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
pub(super) fn export_raw<B: ExportOps>(
    buffer: Arc<B>,
    access: u32,
) -> Result<NonNull<bindings::dma_buf>> {
    // ALLOC refuses buffers a `size_t` cannot describe (32-bit ARM with LPAE).
    let size = usize::try_from(buffer.pages().size()).map_err(|_| EINVAL)?;
    let exported = KBox::pin_init(
        try_pin_init!(Exported {
            buffer,
            attachments <- new_mutex!(KVec::new(), "Exported::attachments"),
            direction_logged: Atomic::new(false),
        }),
        GFP_KERNEL,
    )?;
    let priv_ = exported.into_foreign();
    let ops = &B::ops().dma_buf;
    // SAFETY: `ops` is a static table; `priv_` stays valid until `release` takes it back.
    let dmabuf = unsafe { sys::cmabuf_dma_buf_export(ops, size, access as c_int, priv_) };
    match from_err_ptr(dmabuf) {
        // `dma_buf_export` never returns NULL: an error pointer or a dma-buf.
        Ok(d) => NonNull::new(d).ok_or(ENOMEM),
        Err(e) => {
            // SAFETY: The export failed, so the dma-buf core does not hold `priv_`; we
            // take back what `into_foreign` gave out.
            drop(unsafe { <Pin<KBox<Exported<B>>>>::from_foreign(priv_) });
            Err(e)
        }
    }
}

/// The `B` behind dma-buf file descriptor `fd`: `Err(EBADF)` if `fd` is not a dma-buf,
/// `Ok(None)` if it is another exporter's (or another type's).
pub(crate) fn buffer_of_fd<B: ExportOps>(fd: i32) -> Result<Option<Arc<B>>> {
    // SAFETY: `dma_buf_get` takes any integer and returns a referenced dma-buf or an
    // error pointer.
    let dmabuf = from_err_ptr(unsafe { bindings::dma_buf_get(fd) }).map_err(|_| EBADF)?;
    // SAFETY: `dmabuf` is valid while we hold the reference taken above; for dma-bufs
    // with `B`'s operations `priv` is the `Exported<B>` set up by `export` (`ExportOps`'
    // contract), alive until `release`, which cannot run while we hold a reference.
    let buffer = unsafe {
        if core::ptr::eq((*dmabuf).ops, &B::ops().dma_buf) {
            let exported = <Pin<KBox<Exported<B>>>>::borrow((*dmabuf).priv_);
            Some(exported.buffer.clone())
        } else {
            None
        }
    };
    // SAFETY: Drops the reference `dma_buf_get` took.
    unsafe { bindings::dma_buf_put(dmabuf) };
    Ok(buffer)
}

/// Borrows the private data of one of our dma-bufs.
///
/// # Safety
///
/// `dmabuf` is a live dma-buf exported by [`export`] for `B`.
unsafe fn exported<'a, B: ExportOps>(dmabuf: *mut bindings::dma_buf) -> Pin<&'a Exported<B>> {
    // SAFETY: By the caller's guarantee `priv` is our `Exported<B>`, alive until
    // `release`.
    unsafe { <Pin<KBox<Exported<B>>>>::borrow((*dmabuf).priv_) }
}

/// # Safety
///
/// Called by the dma-buf core once, when the last reference to one of `B`'s dma-bufs
/// goes.
unsafe extern "C" fn release<B: ExportOps>(dmabuf: *mut bindings::dma_buf) {
    // SAFETY: `priv` holds what `export` gave out with `into_foreign`; this is the one
    // place that takes it back.
    drop(unsafe { <Pin<KBox<Exported<B>>>>::from_foreign((*dmabuf).priv_) });
}

// The scatter-lists (`attach`) and the memory types of CPU mappings (`cpu_map`).
#[kunit_tests(cmabuf_mapping)]
mod tests {
    use super::{
        attach::sg_entries,
        cpu_map::MemType,
        *, //
    };
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
