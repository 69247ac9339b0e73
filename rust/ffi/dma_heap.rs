// SPDX-License-Identifier: GPL-2.0

//! The dma-heap face of a pool: `/dev/dma_heap/cmabuf-<name>`
//! (`drivers/dma-buf/dma-heap.c`), for user space that speaks the dma-heap uAPI.
//!
//! The kernel cannot remove a dma-heap: its name, its private data and the code its
//! `allocate` op points to must stay for as long as the kernel runs. So each heap's
//! [`HeapSlot`] is leaked on purpose, and registering a heap pins the module (it can no
//! longer be unloaded). A bound pool fills its slot and empties it when unbound; a heap
//! whose pool is gone fails allocations, and a pool bound again under the same name
//! finds the slot it had.

use super::{
    sys,
    RateLimit, //
};
use crate::{
    allocator::Allocator,
    buffer::Buffer, //
};
use kernel::{
    bindings,
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

/// One dma-heap's private data: its name and the pool serving it, if bound.
#[pin_data]
pub(crate) struct HeapSlot {
    name: CString,
    #[pin]
    pool: Mutex<Option<Arc<Allocator>>>,
    /// Limits the messages of a heap whose pool is unbound.
    #[pin]
    pub(crate) ratelimit: RateLimit,
}

impl HeapSlot {
    /// Registers `/dev/dma_heap/<name>`, served by nobody yet. The slot and the module
    /// stay for as long as the kernel runs.
    pub(crate) fn register(name: CString) -> Result<&'static HeapSlot> {
        let slot = KBox::pin_init(
            try_pin_init!(HeapSlot {
                name,
                pool <- new_mutex!(None),
                ratelimit <- RateLimit::new(),
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: The slot is leaked below and never moves again.
        let slot = KBox::into_raw(unsafe { Pin::into_inner_unchecked(slot) });
        // SAFETY: `into_raw` gave a valid pointer; nothing else holds it yet.
        let name = unsafe { (*slot).name.as_char_ptr() };
        let info = sys::dma_heap_export_info {
            name,
            ops: &HEAP_OPS,
            priv_: slot.cast(),
        };
        // Pin the module before the heap can call into it.
        // SAFETY: Takes a reference on this module, which is live (we run in it).
        unsafe { sys::cmabuf_module_get() };
        // SAFETY: `info` is valid for the call; `name`, `HEAP_OPS` and the slot stay
        // valid for ever (leaked, or static in a module that can no longer unload).
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

    /// Lets `pool` serve the heap (or nobody, with `None`); returns the previous pool.
    pub(crate) fn serve(&self, pool: Option<Arc<Allocator>>) -> Option<Arc<Allocator>> {
        core::mem::replace(&mut *self.pool.lock(), pool)
    }

    /// The pool serving the heap now, if any.
    pub(crate) fn pool(&self) -> Option<Arc<Allocator>> {
        self.pool.lock().clone()
    }
}

/// `struct dma_heap_ops` of every cmabuf heap.
static HEAP_OPS: sys::dma_heap_ops = sys::dma_heap_ops {
    allocate: Some(allocate),
};

/// `dma_heap_ops.allocate`: a buffer from the slot's pool, exported as a dma-buf whose
/// file reference goes to the dma-heap core.
///
/// # Safety
///
/// Called by the dma-heap core with one of the heaps [`HeapSlot::register`] added.
unsafe extern "C" fn allocate(
    heap: *mut sys::dma_heap,
    len: c_ulong,
    fd_flags: u32,
    heap_flags: u64,
) -> *mut bindings::dma_buf {
    // SAFETY: The heap is ours (caller's guarantee): its private data is a leaked slot.
    let slot = unsafe { &*sys::dma_heap_get_drvdata(heap).cast::<HeapSlot>() };
    let result = crate::heap::allocate(slot, len as u64, fd_flags, heap_flags).and_then(
        |(buffer, access): (Arc<Buffer>, u32)| super::dma_buf::export_raw(buffer, access),
    );
    match result {
        Ok(dmabuf) => dmabuf.as_ptr(),
        Err(e) => e.to_ptr(),
    }
}
