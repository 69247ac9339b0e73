// SPDX-License-Identifier: GPL-2.0

//! cmabuf: physically contiguous buffers from reusable CMA pools.
//!
//! A board reserves memory for its camera, display or GPU as a reusable
//! `shared-dma-pool` in the device tree. Until a device needs it the system lends that
//! memory out for movable pages; cmabuf serves each pool named by a
//! `compatible = "cmabuf,pool"` node as `/dev/cmabuf-<name>`.
//!
//! The flow reads from the file names: [`driver`] binds a node, [`region`] checks its
//! device tree, [`registry`] keeps pools apart, [`pool`] takes the region and registers
//! [`chardev`], whose ioctls ([`uapi`]) ask the pool's [`allocator`] for a [`buffer`],
//! exported as a dma-buf; with `dma_heap=1` each pool is also a dma-heap ([`heap`]).
//! Everything that needs `unsafe` lives in [`ffi`].
//!
//! Try it under QEMU with `make run` (README.md).

mod allocator;
mod buffer;
mod chardev;
mod driver;
mod ffi;
mod heap;
mod orphans;
mod params;
mod pool;
mod region;
mod registry;
mod report;
mod stats;
mod sysfs;
mod uapi;

use kernel::{
    driver::Registration,
    platform,
    prelude::*, //
};

/// The loaded module. Fields drop in order: the driver (and with it every pool) and the
/// default-area pool go before the cache-maintenance device and the registry the pools
/// relied on.
#[pin_data]
struct CmabufModule {
    #[pin]
    driver: Registration<platform::Adapter<driver::PoolDriver>>,
    _default_pool: Option<Pin<KBox<pool::DefaultPool>>>,
    /// Drains the reservations' workers once every pool is gone.
    _work_queue: ffi::work_queue::ModuleQueue,
    _dcache: ffi::DcacheDevice,
    _reports: report::Reports,
    _registry: registry::RegistryLifetime,
}

impl kernel::InPlaceModule for CmabufModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        pin_init::pin_init_scope(move || {
            params::check()?;
            let registry = registry::RegistryLifetime::start();
            let work_queue = ffi::work_queue::ModuleQueue::create()?;
            let dcache = ffi::DcacheDevice::create()?;
            let reports = report::Reports::new(&registry::debugfs_root())?;
            let default_pool = match params::default_pool() {
                0 => None,
                budget => Some(KBox::pin_init(pool::DefaultPool::new(budget)?, GFP_KERNEL)?),
            };
            Ok(try_pin_init!(Self {
                _registry: registry,
                _default_pool: default_pool,
                _work_queue: work_queue,
                _dcache: dcache,
                _reports: reports,
                driver <- Registration::new(c"cmabuf", module),
            })
            .pin_chain(|_| {
                // Nothing can fail any more: the dma-heaps may be registered (they can
                // never be removed, so a failed init must not leave one behind).
                registry::init_done();
                Ok(())
            }))
        })
    }
}

module! {
    type: CmabufModule,
    name: "cmabuf",
    authors: ["cmabuf developers"],
    description: "Physically contiguous dma-buf buffers from reusable CMA pools",
    license: "GPL v2",
    imports_ns: ["DMA_BUF", "DMA_BUF_HEAP"],
    params: {
        dma_heap: u32 {
            default: 0,
            description: "1: also serve each pool as the dma-heap /dev/dma_heap/<heap name> (DT cmabuf,heap-name, default the pool name); the kernel cannot remove dma-heaps, so cmabuf then stays loaded until reboot",
        },
        cache_bytes: u64 {
            default: 0,
            description: "Per pool: most bytes of freed buffers kept zeroed for reuse (the warm cache; 0: off)",
        },
        small_arena_bytes: u64 {
            default: 0,
            description: "Per pool: bytes taken at bind for the small-buffer arena, where buffers of at most 64 KiB are placed apart from the frames (0: each pool's DT cmabuf,small-arena-bytes, or none)",
        },
        cache_idle_ms: u32 {
            default: 5000,
            description: "How long a freed buffer stays in the warm cache unused before it is lent out again (ms)",
        },
        default_pool: u64 {
            default: 0,
            description: "Serve up to this many bytes of the system's default CMA area as /dev/cmabuf-default (0: off)",
        },
        max_bytes: u64 {
            default: 0,
            description: "Per pool: most bytes in live buffers (0: the DT's cmabuf,max-bytes or none)",
        },
        max_buffers: u64 {
            default: 0,
            description: "Per pool: most live buffers (0: the DT's cmabuf,max-buffers or none)",
        },
        max_process_bytes: u64 {
            default: 0,
            description: "Per pool and process: most bytes (0: the DT's cmabuf,max-process-bytes or none)",
        },
        max_process_buffers: u64 {
            default: 0,
            description: "Per pool and process: most buffers (0: the DT's cmabuf,max-process-buffers or none)",
        },
    },
}
