// SPDX-License-Identifier: GPL-2.0

//! A buffer: contiguous pages from a pool, alive while any fd, mapping or importer
//! holds its dma-buf.

use crate::{
    allocator::Allocator,
    ffi::{
        CmaPages,
        DmemCharge, //
    },
    uapi::CacheMode, //
};
use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
    },
};

/// What importers do with a buffer, shared with the pool's debugfs view of it.
pub(crate) struct BufferStatus {
    attachments: Atomic<u32>,
}

impl BufferStatus {
    /// No importer yet.
    pub(crate) fn new() -> Self {
        Self {
            attachments: Atomic::new(0),
        }
    }

    /// Importers attached now.
    pub(crate) fn attachments(&self) -> u32 {
        self.attachments.load(Relaxed)
    }
}

/// One allocation, exported as one dma-buf. Fields drop in order: the cgroup charge
/// goes before the pool whose dmem region it is charged to.
pub(crate) struct Buffer {
    pages: CmaPages,
    _charge: DmemCharge,
    pool: Arc<Allocator>,
    id: u32,
    tgid: i32,
    cache: CacheMode,
    status: Arc<BufferStatus>,
}

impl Buffer {
    /// Wraps pages that `pool` allocated and recorded as buffer `id` of process `tgid`.
    pub(crate) fn new(
        pool: Arc<Allocator>,
        pages: CmaPages,
        charge: DmemCharge,
        id: u32,
        tgid: i32,
        cache: CacheMode,
        status: Arc<BufferStatus>,
    ) -> Result<Arc<Self>> {
        Ok(Arc::new(
            Self {
                pages,
                _charge: charge,
                pool,
                id,
                tgid,
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

    /// Cache mode of CPU mappings.
    pub(crate) fn cache(&self) -> CacheMode {
        self.cache
    }

    /// An importer attached (`true`) or detached.
    pub(crate) fn count_attachment(&self, attached: bool) {
        if attached {
            self.status.attachments.fetch_add(1, Relaxed);
        } else {
            self.status.attachments.fetch_sub(1, Relaxed);
        }
    }

    /// The pool the buffer came from.
    pub(crate) fn pool(&self) -> &Arc<Allocator> {
        &self.pool
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        self.pool.free(self.id, self.tgid, self.pages.take());
    }
}
