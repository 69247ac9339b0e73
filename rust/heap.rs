// SPDX-License-Identifier: GPL-2.0

//! The dma-heap face (module parameter `dma_heap=1`): each pool is also
//! `/dev/dma_heap/<heap name>` (the node's `cmabuf,heap-name`, else the pool's name), for libcamera, GStreamer, Android's allocator and
//! anything else that speaks the dma-heap uAPI. It is served by the same allocator as
//! `/dev/cmabuf-<name>`: same limits, cgroup charges, statistics and messages.
//!
//! The kernel cannot remove a dma-heap, so the first heap pins the module until reboot
//! ([`crate::ffi::HeapSlot`]). A heap outlives its pool: while the pool is unbound, it
//! refuses allocations with `ENODEV`; bound again, the pool serves the same heap. For
//! the same reason no heap is registered before module init has succeeded: the heaps
//! of the pools bound during init are registered at its very end
//! ([`registry::serve_heap`]), so a load that fails leaves no heap behind.

use crate::{
    allocator::Allocator,
    buffer::Buffer,
    chardev::invalid,
    ffi::{
        HeapAllocate,
        HeapSlot, //
    },
    registry,
    uapi, //
};
use kernel::{
    device::Device,
    prelude::*,
    str::CString,
    sync::Arc, //
};

/// The request's name in messages.
const IOCTL: &str = "DMA_HEAP_IOCTL_ALLOC";

/// A pool's service of its heap; the heap stops being served when this is dropped.
pub(crate) struct HeapFace {
    name: CString,
    allocator: Arc<Allocator>,
}

impl HeapFace {
    /// Serves `/dev/dma_heap/<heap name>` from `allocator` (bound to `dev`), registering
    /// the heap the first time a pool with this heap name is bound (during module init:
    /// once init has succeeded). `None` unless `dma_heap=1`; `EBUSY` if another driver
    /// has a heap of that name.
    pub(crate) fn publish(dev: &Device, allocator: &Arc<Allocator>) -> Result<Option<Self>> {
        if !crate::params::dma_heap_enabled() {
            return Ok(None);
        }
        let name = CString::try_from(&*allocator.heap_name)?;
        registry::serve_heap(dev, &name, allocator)?;
        Ok(Some(Self {
            name,
            allocator: allocator.clone(),
        }))
    }

    /// The heap's name, as under `/dev/dma_heap/`.
    pub(crate) fn name(&self) -> &CStr {
        &self.name
    }
}

impl Drop for HeapFace {
    fn drop(&mut self) {
        registry::stop_heap(&self.name, &self.allocator);
    }
}

/// `DMA_HEAP_IOCTL_ALLOC` on `slot`'s heap: the checks of `CMABUF_IOC_ALLOC` on the
/// same request, then the pool's allocator. Returns the buffer and the dma-buf file's
/// access mode.
pub(crate) fn allocate(
    slot: &HeapSlot<Allocator>,
    len: u64,
    fd_flags: u32,
    heap_flags: u64,
) -> Result<(Arc<Buffer>, u32)> {
    let Some(allocator) = slot.server() else {
        if slot.ratelimit.allow() {
            pr_err!(
                "dma_heap/{}: its pool is unbound: bind the cmabuf,pool device again\n",
                slot.name()
            );
        }
        return Err(ENODEV);
    };
    // The dma-heap core refuses unknown heap flags before calling us; none are known.
    if heap_flags != 0 {
        return Err(invalid(&allocator, IOCTL, "heap_flags must be 0"));
    }
    let args = uapi::Alloc {
        size: len,
        fd_flags,
        ..Default::default()
    };
    let req = args
        .validate(allocator.size)
        .map_err(|why| invalid(&allocator, IOCTL, why))?;
    let owner = crate::ffi::PidRef::current()?;
    let buffer = allocator.alloc(&req, &owner)?;
    allocator.count_heap_allocation();
    Ok((buffer, req.access))
}

/// The pool's dma-heap allocates through [`allocate`].
impl HeapAllocate for Allocator {
    type Buffer = Buffer;

    fn allocate(
        slot: &HeapSlot<Self>,
        len: u64,
        fd_flags: u32,
        heap_flags: u64,
    ) -> Result<(Arc<Buffer>, u32)> {
        allocate(slot, len, fd_flags, heap_flags)
    }
}
