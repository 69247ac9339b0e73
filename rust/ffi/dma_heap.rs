// SPDX-License-Identifier: GPL-2.0

//! The dma-heap face of a pool: `/dev/dma_heap/<heap name>`
//! (`drivers/dma-buf/dma-heap.c`), for user space that speaks the dma-heap uAPI.
//!
//! The kernel cannot remove a dma-heap: its name, its private data and the code its
//! `allocate` op points to must stay for as long as the kernel runs. So each heap's
//! [`HeapSlot`] is leaked on purpose, and registering a heap pins the module (it can no
//! longer be unloaded). A bound pool fills its slot and empties it when unbound; a heap
//! whose pool is gone fails allocations, and a pool bound again under the same name
//! finds the slot it had.

use super::{
    dma_buf::ExportOps,
    sys,
    RateLimit, //
};
use kernel::{
    bindings,
    device::Device,
    error::from_err_ptr,
    ffi::c_ulong,
    new_mutex,
    prelude::*,
    str::CString,
    sync::{
        Arc,
        Mutex, //
    },
};

/// Whether a dma-heap called `name` exists (any driver's, cmabuf's included). `dev` is
/// any registered device: the lookup walks sysfs from it (see `shim.c`).
pub(crate) fn dma_heap_exists(dev: &Device, name: &CStr) -> bool {
    // SAFETY: `raw_device` gives a valid, registered device and `name` is NUL-terminated;
    // the helper only looks up sysfs entries and drops the references it takes.
    unsafe { sys::cmabuf_dma_heap_exists(super::raw_device(dev), name.as_char_ptr()) }
}

/// What serves a dma-heap: allocates the buffers its `DMA_HEAP_IOCTL_ALLOC` asks for.
pub(crate) trait HeapAllocate: Send + Sync + Sized + 'static {
    /// The buffers, exported as dma-bufs.
    type Buffer: ExportOps;

    /// `DMA_HEAP_IOCTL_ALLOC` on `slot`'s heap (served by `Self`, or by nobody): a
    /// buffer of `len` bytes and the access mode (`O_RDWR` or `O_RDONLY`) of its
    /// dma-buf file.
    fn allocate(
        slot: &HeapSlot<Self>,
        len: u64,
        fd_flags: u32,
        heap_flags: u64,
    ) -> Result<(Arc<Self::Buffer>, u32)>;
}

/// One dma-heap's private data: its name, its operations and the pool serving it, if
/// bound.
#[pin_data]
pub(crate) struct HeapSlot<T: HeapAllocate> {
    name: CString,
    /// `struct dma_heap_ops`: in the slot, which lives as long as the heap.
    ops: sys::dma_heap_ops,
    #[pin]
    server: Mutex<Option<Arc<T>>>,
    /// Limits the messages of a heap whose pool is unbound.
    #[pin]
    pub(crate) ratelimit: RateLimit,
}

impl<T: HeapAllocate> HeapSlot<T> {
    /// Registers `/dev/dma_heap/<name>`, served by nobody yet. The slot and the module
    /// stay for as long as the kernel runs.
    pub(crate) fn register(name: CString) -> Result<&'static Self> {
        let slot = KBox::pin_init(
            try_pin_init!(HeapSlot {
                name,
                ops: sys::dma_heap_ops {
                    allocate: Some(allocate::<T>),
                },
                server <- new_mutex!(None, "HeapSlot::server"),
                ratelimit <- RateLimit::new(),
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: The slot is leaked below and never moves again.
        let slot = KBox::into_raw(unsafe { Pin::into_inner_unchecked(slot) });
        // SAFETY: `into_raw` gave a valid pointer; nothing else holds it yet.
        let (name, ops) = unsafe { ((*slot).name.as_char_ptr(), &raw const (*slot).ops) };
        let info = sys::dma_heap_export_info {
            name,
            ops,
            priv_: slot.cast(),
        };
        // Pin the module before the heap can call into it.
        // SAFETY: Takes a reference on this module, which is live (we run in it).
        unsafe { sys::cmabuf_module_get() };
        // SAFETY: `info` is valid for the call; `name`, `ops` and the slot stay valid for
        // ever (leaked), and so does the code `ops` points to (the module can no longer
        // unload).
        let heap = unsafe { sys::dma_heap_add(&info) };
        if let Err(e) = from_err_ptr(heap) {
            // SAFETY: The heap was not added, so nothing refers to the slot: take it back
            // and drop the module reference taken above.
            unsafe {
                drop(KBox::from_raw(slot));
                sys::cmabuf_module_put();
            }
            return Err(e);
        }
        // SAFETY: Leaked: valid and never freed.
        Ok(unsafe { &*slot })
    }

    /// The heap's name, as under `/dev/dma_heap/`.
    pub(crate) fn name(&self) -> &CStr {
        &self.name
    }

    /// Lets `server` serve the heap (or nobody, with `None`); returns the previous one.
    pub(crate) fn serve(&self, server: Option<Arc<T>>) -> Option<Arc<T>> {
        core::mem::replace(&mut *self.server.lock(), server)
    }

    /// The pool serving the heap now, if any.
    pub(crate) fn server(&self) -> Option<Arc<T>> {
        self.server.lock().clone()
    }
}

/// `dma_heap_ops.allocate`: a buffer from the slot's pool ([`HeapAllocate::allocate`]),
/// exported as a dma-buf whose file reference goes to the dma-heap core.
///
/// # Safety
///
/// Called by the dma-heap core with one of the heaps [`HeapSlot::<T>::register`] added.
unsafe extern "C" fn allocate<T: HeapAllocate>(
    heap: *mut sys::dma_heap,
    len: c_ulong,
    fd_flags: u32,
    heap_flags: u64,
) -> *mut bindings::dma_buf {
    // SAFETY: The heap is ours (caller's guarantee): its private data is a leaked slot.
    let slot = unsafe { &*sys::dma_heap_get_drvdata(heap).cast::<HeapSlot<T>>() };
    let result = T::allocate(slot, len as u64, fd_flags, heap_flags)
        .and_then(|(buffer, access)| super::dma_buf::export_raw(buffer, access));
    match result {
        Ok(dmabuf) => dmabuf.as_ptr(),
        Err(e) => e.to_ptr(),
    }
}
