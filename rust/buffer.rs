// SPDX-License-Identifier: GPL-2.0

//! A buffer: contiguous pages from a pool, alive while any fd, mapping or importer
//! holds its dma-buf.

use crate::{
    allocator::Allocator,
    ffi::{
        dma_buf::Exportable,
        CmaPages,
        DmemCharge,
        PidRef, //
    },
    uapi::CacheMode, //
};
use core::fmt;
use kernel::{
    new_mutex,
    prelude::*,
    str::CString,
    sync::{
        Arc,
        Mutex, //
    },
};

/// Which importers' devices are attached to a buffer, shared with the pool's debugfs
/// view of it.
#[pin_data]
pub(crate) struct BufferStatus {
    #[pin]
    importers: Mutex<KVec<CString>>,
}

impl BufferStatus {
    /// No importer yet.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            importers <- new_mutex!(KVec::new(), "BufferStatus::importers"),
        })
    }

    /// The attached importers' device names, comma-separated, or `-`.
    pub(crate) fn write_importers(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let importers = self.importers.lock();
        if importers.is_empty() {
            return f.write_str("-");
        }
        for (i, name) in importers.iter().enumerate() {
            let separator = if i == 0 { "" } else { "," };
            f.write_fmt(fmt!("{}{}", separator, &**name))?;
        }
        Ok(())
    }
}

/// One allocation, exported as one dma-buf. Dropping it hands pages and cgroup charge
/// to the pool's allocator ([`Allocator::free`]) before the reference to it goes.
pub(crate) struct Buffer {
    pages: CmaPages,
    charge: DmemCharge,
    allocator: Arc<Allocator>,
    id: u32,
    owner: PidRef,
    cache: CacheMode,
    status: Arc<BufferStatus>,
}

impl Buffer {
    /// Wraps pages that `allocator` allocated and recorded as buffer `id` of process
    /// `owner`.
    pub(crate) fn new(
        allocator: Arc<Allocator>,
        pages: CmaPages,
        charge: DmemCharge,
        id: u32,
        owner: PidRef,
        cache: CacheMode,
        status: Arc<BufferStatus>,
    ) -> Result<Arc<Self>> {
        Ok(Arc::new(
            Self {
                pages,
                charge,
                allocator,
                id,
                owner,
                cache,
                status,
            },
            GFP_KERNEL,
        )?)
    }

    /// The buffer's pages.
    pub(crate) fn pages(&self) -> &CmaPages {
        &self.pages
    }

    /// The buffer's number in debugfs.
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// The device `importer` attached to the buffer (`true`) or detached.
    pub(crate) fn importer(&self, importer: &CStr, attached: bool) {
        let mut importers = self.status.importers.lock();
        if attached {
            // Without memory for the name, debugfs just does not show this importer.
            if let Ok(name) = CString::try_from(importer) {
                let _ = importers.push(name, GFP_KERNEL);
            }
        } else if let Some(pos) = importers.iter().position(|n| **n == *importer) {
            let _ = importers.remove(pos);
        }
    }

    /// The allocator of the pool the buffer came from.
    pub(crate) fn allocator(&self) -> &Arc<Allocator> {
        &self.allocator
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // The charges go with the pages: if something still holds them, they stay
        // charged to the owner until let go.
        self.allocator
            .free(self.id, &self.owner, self.pages.take(), self.charge.take());
    }
}

/// What the dma-buf exporter asks of a buffer.
impl Exportable for Buffer {
    fn pages(&self) -> &CmaPages {
        &self.pages
    }

    fn cache(&self) -> CacheMode {
        self.cache
    }

    fn importer(&self, importer: &CStr, attached: bool) {
        Buffer::importer(self, importer, attached)
    }

    fn owner_name(&self) -> &CStr {
        &self.allocator.name
    }

    fn id(&self) -> u32 {
        self.id
    }
}

crate::ffi_dma_buf_exporter!(Buffer);
