// SPDX-License-Identifier: GPL-2.0

//! A pool's memory: allocating buffers from its CMA area, and knowing where they are.
//!
//! The allocator outlives the pool's binding while any of its buffers lives: unbinding
//! the device removes `/dev/cmabuf-<name>`, but memory is given back only when the last
//! buffer goes, and until then the region stays claimed.
//!
//! Every run of the pool that cmabuf holds has a [`Range`]: live buffers, stranded
//! buffers (freed while something still references their pages), and the warm cache's
//! runs (freed buffers kept for reuse, and runs prepared by `CMABUF_IOC_PREPARE`). What
//! is *charged* to a process and its cgroup — live, stranded and prepared runs, and
//! allocations in flight — is counted in `used_pages`; freed runs in the warm cache are
//! charged to nobody and step aside as soon as an allocation needs their room.
//!
//! # Locking
//!
//! All of cmabuf's locks are sleeping mutexes, and none is taken in atomic context.
//! lockdep names each class after the `new_mutex!` call that makes it (`file:line`), one
//! class for all pools, heaps, buffers or dma-bufs alike; the registry's class is
//! `REGISTRY` (`global_lock!`).
//!
//! - `Allocator::usage` (`Mutex<Usage>`, per pool): the pool's runs, counters and limit
//!   accounting, the warm cache and the stranded pages.
//! - `REGISTRY` (`Mutex<Registry>`, `ffi/global.rs`, one for the module): claimed regions
//!   and names, the debugfs root, the dma-heap slots, the orphans, the heaps waiting for
//!   module init.
//! - `HeapSlot::pool` (per dma-heap, `ffi/dma_heap.rs`): the pool serving the heap.
//! - `BufferStatus::importers` (per buffer, `buffer.rs`): importers' names for debugfs.
//! - `Exported::attachments` (per dma-buf, `ffi/dma_buf.rs`): the attachments and their
//!   DMA mappings.
//! - `Allocator::dev` (per pool): the bound device.
//!
//! The order, outermost first: a lock is only taken while holding locks above it on its
//! branch, and cmabuf never holds locks of different branches together.
//!
//! ```text
//! device lock (driver core: probe, unbind)
//!   Allocator::usage
//!     REGISTRY
//!       HeapSlot::pool                 leaf
//!     BufferStatus::importers          leaf
//!   Allocator::dev                     leaf
//! dma_resv (map_dma_buf, unmap_dma_buf)
//!   Exported::attachments              leaf
//! ```
//!
//! Where the nesting happens:
//!
//! - device lock, then `usage`: `Pool::new` (`adopt_orphans`), unbind (`Unbinder`, then
//!   `Allocator::unbind`), and the allocator's drop when the front end held the last
//!   reference. Device lock, then `REGISTRY`: `registry::claim`, `debugfs_dir`,
//!   `serve_heap` and `stop_heap` (`HeapFace`), and `ClaimGuard`'s drop. Device lock,
//!   then `dev`: `Allocator::unbind`; elsewhere (`alloc`, `try_cached`, `try_alloc`)
//!   `dev` is taken alone, for a clone of the device reference.
//! - `usage`, then `REGISTRY`: `adopt_orphans` (`orphans::take`, `orphans::put`), the
//!   allocator's drop (`orphans::put` of stranded pages), and `Usage::keep_stranded` when
//!   no stranded slot is left (`orphans::put`).
//! - `usage`, then `importers`: `write_buffers`.
//! - `REGISTRY`, then `HeapSlot::pool`: `serve_heap`, `init_done`.
//! - `dma_resv`, then `attachments`: `map_dma_buf`, `unmap_dma_buf`. `attach`, `detach`
//!   and the CPU access brackets take `attachments` without it; `importers` is taken
//!   after `attachments` is let go, never under it.
//!
//! `REGISTRY` is never held while `usage` is taken. That would happen if a pool's last
//! reference were dropped under it (the drop takes `usage`, then `REGISTRY` for the
//! claim): `serve_heap`, `stop_heap` and `init_done` drop pool references under it only
//! while the caller or the pool's front end keeps another.
//!
//! What may be held across the rest:
//!
//! - `GFP_KERNEL` allocations (so reclaim, and the shrinker below): under `usage`
//!   (`Usage::reserve`, `record`, `record_renamed`, `insert_range`,
//!   `reserve_stranded_slot`, the cache's `reserve` in `free`, `prepare` and
//!   `cache_put_back`, `census`, the dmem charge in `try_cached`, `adopt_orphans`), under
//!   `REGISTRY` (claims, orphans, heaps, `dma_heap_add`, the debugfs root), under
//!   `importers` (`Buffer::importer`) and `attachments` (`attach`). Never under
//!   `HeapSlot::pool` or `dev`.
//! - `cma_alloc`, which takes the area's `alloc_mutex`, migrates pages, may reclaim and
//!   can take seconds: under none of cmabuf's locks (`try_alloc` and `prepare` let
//!   `usage` go first). So are zeroing (`CmaPages::clear`) and cache maintenance
//!   (`clean_dcache`).
//! - `cma_release`, which takes only spinlocks (the area's `lock`, the page allocator's)
//!   and does not sleep: under `usage` (`free`, `release_or_strand`, `retry_stranded`),
//!   under `REGISTRY` (`orphans::reap`, and an orphan `orphans::put` could not keep), and
//!   in the shrinker.
//! - Queueing delayed work (`Ticker::schedule`, `reaper::schedule`: the workqueue's
//!   spinlocks) and `RateLimit::allow`: may be under `usage` (`cache_put_back`, `free`).
//! - Waiting: `make_room` and `release_all_cached` let `usage` go before they sleep.
//!
//! The shrinker (`cache_shrink_count`, `cache_shrink`) runs in reclaim, so from within
//! any of the allocations above, including one made under this very pool's `usage`. It
//! takes `usage` with `try_lock` only and gives up when it is held (the count says 0,
//! the scan `SHRINK_STOP`): `lock` would deadlock on the pool's own lock, or two pools
//! allocating under their own `usage` would each wait in reclaim for the other's.
//! lockdep records no dependency for a `try_lock`, so it sees no nesting of two pools'
//! `usage` (one class). Under it the shrinker releases cached runs (`release_cached`):
//! `cma_release`, dmem uncharges, pid and module references, nothing that sleeps. It
//! takes `REGISTRY` (with `lock`, allocating) only through `Usage::keep_stranded`'s last
//! resort, a cached run still referenced with no stranded slot left.
//!
//! The delayed works take plain `lock`: they run in process context, not in reclaim, and
//! nobody waits for them while holding what they take.
//!
//! - The ticker (`cache_tick`, on `system_unbound_wq`) takes `usage` and lets it go while
//!   it zeroes a run (marked `zeroing`, which every other path leaves alone). It is
//!   cancelled synchronously (`cancel_delayed_work_sync`) only by the allocator's drop,
//!   before it takes `usage`, and by `Ticker`'s drop after that: with no cmabuf lock
//!   held, at most the device lock, which the ticker never takes.
//! - The reaper (`orphans::reap`) takes `REGISTRY`; `reaper::stop` cancels it
//!   synchronously in `RegistryLifetime`'s drop before `REGISTRY` is taken.
//!
//! The kernel's own locks around cmabuf: unbind under the device lock also waits for the
//! pool's running shrinker callbacks (`shrinker_free`) and debugfs readers
//! (`debugfs_remove`), which never take the device lock. `mmap` (mmap lock held for
//! writing), `fault` and `vmap` (`dma_resv` held) take no cmabuf lock, and no cmabuf lock
//! is held while user memory is read or written. A buffer's drop (`free`, then the
//! allocator's drop if it held the last reference) runs from its dma-buf's release at
//! the file's last `fput`, or in the ioctl that could not export it: under no cmabuf
//! lock.

use crate::{
    buffer::{
        Buffer,
        BufferStatus, //
    },
    ffi::{
        self,
        decimal::dec,
        mm,
        Census,
        CmaArea,
        CmaPages,
        DmemCharge,
        DmemRegion,
        ModuleRef,
        PidRef,
        RateLimit,
        Ticker, //
    },
    orphans,
    region::Limits,
    registry::ClaimGuard,
    stats::{
        Failures,
        LastFailure,
        Latency,
        Migration, //
    },
    uapi::{
        self,
        AllocRequest,
        CacheMode,
        PrepareRequest,
        PREPARE_MAX_MS, //
    },
};
use core::fmt;
use kernel::{
    device::Device,
    new_mutex,
    page::PAGE_SHIFT,
    prelude::*,
    str::CString,
    sync::{
        aref::ARef,
        Arc,
        Mutex,
        MutexGuard, //
    },
    time::{
        delay::fsleep,
        Delta,
        Instant,
        Monotonic, //
    },
};

/// How often `cma_alloc` is tried before an allocation fails with `EBUSY`.
const ALLOC_ATTEMPTS: u32 = 3;

/// How often stranded pages are looked at again while nothing else happens (ms).
const STRANDED_POLL_MS: u32 = 1000;

/// How long an allocation waits for the background work to finish zeroing a cached run
/// that lies where the allocation is to go (1 ms steps).
const ZEROING_WAIT_MS: u32 = 1000;

/// A run of the pool that cmabuf holds, in pages from the pool's base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Range {
    pub(crate) id: u32,
    pub(crate) first: u64,
    pub(crate) pages: u64,
    /// A freed run in the warm cache: in the way of nobody (given back on demand).
    pub(crate) cached: bool,
}

/// What debugfs shows of a live or stranded buffer besides its range.
struct BufferMeta {
    id: u32,
    cache: CacheMode,
    /// The owner's pid in the initial pid namespace, when it allocated.
    pid: i32,
    comm: [u8; 16],
    created: Instant<Monotonic>,
    status: Arc<BufferStatus>,
    /// Freed, but its pages are still referenced (a pipe, I/O in flight).
    stranded: bool,
}

impl BufferMeta {
    /// A live buffer being created now by the current task for `owner`.
    fn new(cache: CacheMode, owner: &PidRef, status: Arc<BufferStatus>) -> Self {
        Self {
            id: 0,
            cache,
            pid: owner.nr(),
            comm: mm::current_comm(),
            created: Instant::now(),
            status,
            stranded: false,
        }
    }
}

/// Why an allocation failed, for the counters and `last_failure`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FailureKind {
    NoRoom,
    Limit,
    Dmem,
    Busy,
    Other,
}

/// Why cached runs went back to the CMA area.
#[derive(Clone, Copy)]
enum CacheRelease {
    Idle,
    ForRoom,
    Unbind,
    Dropped,
    ForMemory,
}

/// A failed allocation on its way out of `try_alloc`.
struct Failure {
    err: Error,
    kind: FailureKind,
    attempts: u32,
}

impl Failure {
    fn new(err: Error, kind: FailureKind) -> Self {
        Self {
            err,
            kind,
            attempts: 0,
        }
    }
}

/// What one process (thread group) holds in the pool, keyed by its `struct pid`: pid
/// numbers differ between pid namespaces and are reused.
struct ProcessUsage {
    owner: PidRef,
    bytes: u64,
    buffers: u64,
}

/// Which limit an allocation would break.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LimitHit {
    Bytes(u64),
    Buffers(u64),
    ProcessBytes(u64),
    ProcessBuffers(u64),
    /// No memory to track the process: not a limit, `ENOMEM`.
    NoMemory,
}

/// A freed buffer whose pages something still references (a pipe filled by
/// `vmsplice`, I/O in flight): kept out of the area, and charged to its owner (process
/// budget and cgroup), until they are let go. It holds the module: its pages must be
/// given back by the module's code.
struct Stranded {
    id: u32,
    first: u64,
    pages: CmaPages,
    /// `None` for pages adopted from an earlier binding of the pool (no owner left).
    owner: Option<PidRef>,
    dmem: Option<DmemCharge>,
    _module: ModuleRef,
}

/// What the pool holds. `ranges` (sorted by `first`) are the places of every run; the
/// counters also include allocations in flight, so limits hold under concurrency.
///
/// `stranded` always has capacity for every live buffer and cached run besides its own
/// entries, so that a buffer or run that turns out to be still referenced can always
/// be kept (never dropped, so never lost): see [`Usage::reserve_stranded_slot`].
struct Usage {
    ranges: KVec<Range>,
    meta: KVec<BufferMeta>,
    processes: KVec<ProcessUsage>,
    stranded: KVec<Stranded>,
    /// Live buffers (not stranded, not in the warm cache).
    live: usize,
    /// Pages charged: live, stranded and prepared runs and allocations in flight.
    used_pages: u64,
    /// Buffers charged: the same runs, counted one each.
    buffers: u64,
    peak_pages: u64,
    next_id: u32,
    allocations: u64,
    /// Of those, through the pool's dma-heap.
    heap_allocations: u64,
    frees: u64,
    failures: Failures,
    latency: Latency,
    migration: Migration,
    last_failure: Option<LastFailure>,
    /// The warm cache: freed or prepared runs kept for the next allocation of their size.
    cache: KVec<Cached>,
    /// Once the pool is unbound nothing more is cached.
    cache_closed: bool,
    cache_stats: CacheStats,
}

/// Who a prepared run is charged to until it is allocated or expires.
struct Prepared {
    owner: PidRef,
    dmem: DmemCharge,
}

/// A run of the pool kept in the warm cache. Its range stays in `Usage::ranges` under
/// `id`, so the pool's own count of free runs never offers it to `cma_alloc`.
struct Cached {
    id: u32,
    /// Empty while the background work zeroes the run (`zeroing`).
    pages: CmaPages,
    /// Size in pages, physical address and place in the pool of the run.
    count: u64,
    phys: u64,
    first: u64,
    /// Zeroed since it was freed (the background work does it).
    zeroed: bool,
    /// The background work holds the pages now: nobody else may touch the entry.
    zeroing: bool,
    /// From `CMABUF_IOC_PREPARE` (and charged to its caller), not from a freed buffer.
    prepared: Option<Prepared>,
    /// When it goes back to the system unless used first.
    expires: Instant<Monotonic>,
}

/// What the warm cache did, for debugfs.
#[derive(Default)]
struct CacheStats {
    hits: u64,
    misses: u64,
    zeroed: u64,
    released_idle: u64,
    released_for_room: u64,
    released_unbind: u64,
    released_dropped: u64,
    released_for_memory: u64,
    prepared: u64,
}

/// A consistent view of the pool's use, in bytes.
pub(crate) struct UsageSnapshot {
    pub(crate) used: u64,
    pub(crate) free: u64,
    pub(crate) largest_free: u64,
    pub(crate) buffers: u64,
}

/// Whether cached runs in the way of an allocation could all be given back.
enum Cleared {
    Yes,
    /// One is being zeroed by the background work: try again in a moment.
    Zeroing,
}

/// A pool's memory and its bookkeeping.
#[pin_data(PinnedDrop)]
pub(crate) struct Allocator {
    /// Pool name (`/dev/cmabuf-<name>`).
    pub(crate) name: CString,
    /// The reserved-memory node name, also the CMA area's name.
    pub(crate) region: CString,
    /// Physical base of the region; `None` for the default CMA area, whose base and
    /// size the kernel does not export: then `size` is cmabuf's budget in the area
    /// and free runs are not known, only free bytes.
    pub(crate) base: Option<u64>,
    /// Size of the region in bytes.
    pub(crate) size: u64,
    /// Limits on what the pool hands out.
    pub(crate) limits: Limits,
    cma: CmaArea,
    /// The pool's device while it is bound: buffers may outlive the binding, and a
    /// device reference kept after unbind would keep its device-tree node too (an
    /// overlay removed meanwhile could then never free it).
    #[pin]
    dev: Mutex<Option<ARef<Device>>>,
    dev_name: CString,
    dmem: DmemRegion,
    /// The warm cache's background work (zeroing, expiry); cancelled first on drop.
    #[pin]
    pub(crate) ticker: Ticker<Allocator>,
    #[pin]
    usage: Mutex<Usage>,
    /// Limits the messages user space can cause.
    #[pin]
    pub(crate) ratelimit: RateLimit,
    _claim: ClaimGuard,
}

impl Allocator {
    /// The allocator of the area `region` (`base`, `size`) served by `dev` as `name`.
    #[expect(clippy::too_many_arguments)]
    pub(crate) fn new(
        dev: &Device,
        name: CString,
        region: CString,
        base: Option<u64>,
        size: u64,
        limits: Limits,
        cma: CmaArea,
        claim: ClaimGuard,
    ) -> Result<impl PinInit<Self, Error> + use<>> {
        let dev_name = CString::try_from(dev.name())?;
        let dev: ARef<Device> = dev.into();
        let dmem = DmemRegion::register(size, &name)?;
        Ok(try_pin_init!(Self {
            name,
            region,
            base,
            size,
            limits,
            cma,
            dev <- new_mutex!(Some(dev)),
            dev_name,
            dmem,
            ticker <- Ticker::new(),
            usage <- new_mutex!(Usage {
                ranges: KVec::new(),
                processes: KVec::new(),
                stranded: KVec::new(),
                live: 0,
                used_pages: 0,
                buffers: 0,
                peak_pages: 0,
                next_id: 1,
                allocations: 0,
                heap_allocations: 0,
                frees: 0,
                failures: Failures::default(),
                latency: Latency::new(),
                migration: Migration::default(),
                last_failure: None,
                meta: KVec::new(),
                cache: KVec::new(),
                cache_closed: false,
                cache_stats: CacheStats::default(),
            }),
            ratelimit <- RateLimit::new(),
            _claim: claim,
        }))
    }

    fn total_pages(&self) -> u64 {
        self.size >> PAGE_SHIFT
    }

    fn base_pfn(&self) -> u64 {
        self.base.unwrap_or(0) >> PAGE_SHIFT
    }

    /// Takes over the pages of this CMA area that an earlier binding of the pool left
    /// stranded (see [`orphans`]): they stay out of the pool's free room until let go.
    pub(crate) fn adopt_orphans(&self) {
        let base_pfn = self.base_pfn();
        let mut usage = self.usage.lock();
        while let Some(orphan) = orphans::take(&self.cma) {
            let first = orphan.pages().pfn() - base_pfn;
            let count = orphan.pages().count() as u64;
            let id = usage.next_id;
            let range = Range {
                id,
                first,
                pages: count,
                cached: false,
            };
            if usage.reserve_stranded_slot().is_err() || usage.insert_range(range).is_err() {
                // Without memory to track it here, it stays an orphan.
                orphans::put(orphan);
                break;
            }
            usage.used_pages += count;
            let (pages, module) = orphan.into_parts();
            // Cannot fail: room was reserved above.
            let _ = usage.stranded.push_within_capacity(Stranded {
                id,
                first,
                pages,
                owner: None,
                dmem: None,
                _module: module,
            });
        }
        if !usage.stranded.is_empty() {
            drop(usage);
            self.ticker.schedule(STRANDED_POLL_MS);
        }
    }

    /// Allocates, zeroes and records a buffer for process `owner`, charged to the
    /// current task's cgroup; counts its latency, or why it failed.
    pub(crate) fn alloc(
        self: &Arc<Self>,
        req: &AllocRequest,
        owner: &PidRef,
    ) -> Result<Arc<Buffer>> {
        if self.dev.lock().is_none() {
            if self.ratelimit.allow() {
                pr_err!(
                    "{}: the pool is unbound: bind its device again to allocate\n",
                    &*self.name
                );
            }
            return Err(ENODEV);
        }
        let start = Instant::<Monotonic>::now();
        let bytes = (req.pages as u64) << PAGE_SHIFT;
        let mut migration = Migration::default();
        // Stranded pages let go since: their charges go before the limits are checked.
        self.usage.lock().retry_stranded();
        match self.try_alloc(req, owner, &mut migration) {
            Ok(buffer) => {
                let us = start.elapsed().as_micros_ceil().max(0) as u64;
                let mut usage = self.usage.lock();
                usage.latency.record(bytes, us);
                usage.migration.add(&migration);
                usage.peak_pages = usage.peak_pages.max(usage.used_pages);
                Ok(buffer)
            }
            Err(failure) => {
                self.record_failure(bytes, owner.nr(), &failure, migration);
                Err(failure.err)
            }
        }
    }

    /// Counts an allocation made through the pool's dma-heap.
    pub(crate) fn count_heap_allocation(&self) {
        self.usage.lock().heap_allocations += 1;
    }

    /// When a freed buffer of `pages` pages would leave the warm cache, if it may enter:
    /// the cache is on (`cache_bytes`) and has room for it. The freshest run wins: older
    /// freed runs make room for it; runs being zeroed cannot, and then it does not enter.
    fn cache_expiry(&self, usage: &mut Usage, pages: u64) -> Option<Instant<Monotonic>> {
        let (limit, idle_ms) = crate::params::cache_parameters();
        if limit == 0 || pages << PAGE_SHIFT > limit || usage.cache_closed {
            return None;
        }
        while (usage.freed_cached_pages() + pages) << PAGE_SHIFT > limit {
            // Give back the run that would expire first (freed longest ago).
            let oldest = usage
                .cache
                .iter()
                .filter(|c| c.prepared.is_none() && !c.zeroing)
                .map(|c| (c.id, c.expires))
                .reduce(|a, b| if (b.1 - a.1).as_nanos() < 0 { b } else { a })
                .map(|(id, _)| id)?;
            usage.release_cached(|c| c.id == oldest, CacheRelease::ForRoom);
        }
        Some(Instant::now() + Delta::from_millis(i64::from(idle_ms)))
    }

    /// Serves `req` from the warm cache if a run of its size and alignment is there:
    /// no migration, and no zeroing once the background work has zeroed it. A run that
    /// the caller prepared comes with its charges; any other is charged now.
    fn try_cached(
        self: &Arc<Self>,
        req: &AllocRequest,
        owner: &PidRef,
    ) -> Result<Option<Arc<Buffer>>, Failure> {
        let pages = req.pages as u64;
        let bytes = pages << PAGE_SHIFT;
        let align = 1u64 << req.align_order;
        let (mut cached, charge) = {
            let mut usage = self.usage.lock();
            let matches =
                |c: &Cached| !c.zeroing && c.count == pages && (c.phys >> PAGE_SHIFT) % align == 0;
            let mine = |c: &Cached| c.prepared.as_ref().is_some_and(|p| p.owner.same(owner));
            // Prefer the caller's own prepared run, then a zeroed one; an unzeroed one
            // still saves the migration. Another process's prepared run is its own.
            let pos = usage
                .cache
                .iter()
                .position(|c| matches(c) && mine(c))
                .or_else(|| {
                    usage
                        .cache
                        .iter()
                        .position(|c| matches(c) && c.prepared.is_none() && c.zeroed)
                })
                .or_else(|| {
                    usage
                        .cache
                        .iter()
                        .position(|c| matches(c) && c.prepared.is_none())
                });
            let Some(pos) = pos else {
                return Ok(None);
            };
            let Some(mut cached) = usage.cache_take(pos) else {
                return Ok(None);
            };
            let charge = match cached.prepared.take() {
                // The caller's prepared run: its charges are the buffer's now.
                Some(prepared) => prepared.dmem,
                None => {
                    if let Err(hit) = usage.reserve(&self.limits, owner, pages) {
                        usage.cache_restore(cached);
                        drop(usage);
                        return Err(self.refuse(hit, owner.nr(), bytes));
                    }
                    match self.dmem.try_charge(bytes) {
                        Ok(charge) => charge,
                        Err(e) => {
                            usage.unreserve(Some(owner), pages);
                            usage.cache_restore(cached);
                            drop(usage);
                            return Err(self.dmem_refused(e, owner.nr(), bytes));
                        }
                    }
                }
            };
            (cached, charge)
        };
        // From here on a failure puts the run back (uncharged) and undoes the charge.
        let put_back = |c: Cached, err: Error| {
            let mut usage = self.usage.lock();
            usage.unreserve(Some(owner), pages);
            usage.cache_put_back(c, Some(&self.ticker));
            Failure::new(err, FailureKind::Other)
        };
        if !cached.zeroed {
            if let Err(e) = cached.pages.clear() {
                return Err(put_back(cached, e));
            }
            cached.zeroed = true;
        }
        if req.cache != CacheMode::Cached {
            let Some(dev) = self.dev.lock().clone() else {
                return Err(put_back(cached, ENODEV));
            };
            if let Err(e) = cached.pages.clean_dcache(&dev) {
                return Err(put_back(cached, e));
            }
        }
        let status = match Arc::pin_init(BufferStatus::new(), GFP_KERNEL) {
            Ok(status) => status,
            Err(_) => return Err(put_back(cached, ENOMEM)),
        };
        let meta = BufferMeta::new(req.cache, owner, status.clone());
        let Cached {
            id: old_id,
            pages: cma_pages,
            first,
            ..
        } = cached;
        let id = {
            let mut usage = self.usage.lock();
            let recorded = usage.record_renamed(old_id, first, meta);
            match recorded {
                Ok(id) => {
                    usage.cache_stats.hits += 1;
                    id
                }
                Err(e) => {
                    usage.unreserve(Some(owner), pages);
                    // The run goes back to the area with its range.
                    usage.release_or_strand(old_id, first, cma_pages, None);
                    return Err(Failure::new(e, FailureKind::Other));
                }
            }
        };
        Buffer::new(
            self.clone(),
            cma_pages,
            charge,
            id,
            owner.clone(),
            req.cache,
            status,
        )
        .map(Some)
        .map_err(|e| Failure::new(e, FailureKind::Other))
    }

    /// Says which limit refused an allocation (rate-limited) and makes the failure.
    fn refuse(&self, hit: LimitHit, pid: i32, bytes: u64) -> Failure {
        if hit == LimitHit::NoMemory {
            return Failure::new(ENOMEM, FailureKind::Other);
        }
        self.report_limit(hit, pid, bytes);
        Failure::new(uapi::edquot(), FailureKind::Limit)
    }

    /// The failure for a dmem charge that did not go through, said once (rate-limited).
    fn dmem_refused(&self, e: Error, pid: i32, bytes: u64) -> Failure {
        if e != uapi::edquot() {
            return Failure::new(e, FailureKind::Other);
        }
        if self.ratelimit.allow() {
            pr_err!(
                "{}: pid {}: dmem.max of its cgroup reached: buffer of {} bytes refused\n",
                &*self.name,
                pid,
                dec(bytes)
            );
        }
        Failure::new(e, FailureKind::Dmem)
    }

    /// The background work: zeroes the cached runs freed since, gives back those whose
    /// time is up and stranded pages let go since, and says when to run again (ms).
    pub(crate) fn cache_tick(&self) -> Option<u32> {
        loop {
            // Take the pages of one unzeroed run; the entry stays, marked `zeroing`, so
            // the cache's size and the pool's ranges stay right, and nobody else uses it.
            let job = {
                let mut usage = self.usage.lock();
                usage
                    .cache
                    .iter_mut()
                    .find(|c| !c.zeroed && !c.zeroing)
                    .map(|c| {
                        c.zeroing = true;
                        (c.id, c.pages.take())
                    })
            };
            let Some((id, pages)) = job else { break };
            let zeroed = pages.clear().is_ok();
            let mut usage = self.usage.lock();
            usage.cache_stats.zeroed += u64::from(zeroed);
            if let Some(c) = usage.cache.iter_mut().find(|c| c.id == id) {
                c.pages = pages;
                c.zeroing = false;
                c.zeroed = zeroed;
            }
        }
        let now = Instant::<Monotonic>::now();
        let mut usage = self.usage.lock();
        usage.release_cached(|c| (c.expires - now).as_nanos() <= 0, CacheRelease::Idle);
        usage.retry_stranded();
        let now = Instant::<Monotonic>::now();
        let next = usage
            .cache
            .iter()
            .map(|c| {
                (c.expires - now)
                    .as_millis()
                    .clamp(1, i64::from(PREPARE_MAX_MS)) as u32
            })
            .min();
        if usage.stranded.is_empty() {
            next
        } else {
            Some(next.map_or(STRANDED_POLL_MS, |n| n.min(STRANDED_POLL_MS)))
        }
    }

    /// Pages in the warm cache, for the shrinker (0 when the lock is taken: reclaim
    /// may have started under it).
    pub(crate) fn cache_shrink_count(&self) -> u64 {
        self.usage
            .try_lock()
            .map_or(0, |usage| usage.cache.iter().map(|c| c.count).sum())
    }

    /// Gives cached runs back until `want` pages went, for the shrinker; `None` when
    /// the lock is taken. Allocates nothing: it runs in reclaim.
    pub(crate) fn cache_shrink(&self, want: u64) -> Option<u64> {
        let mut usage = self.usage.try_lock()?;
        let mut freed = 0;
        while freed < want {
            let Some(id) = usage.cache.iter().find(|c| !c.zeroing).map(|c| c.id) else {
                break;
            };
            freed += usage.release_cached(|c| c.id == id, CacheRelease::ForMemory);
        }
        Some(freed)
    }

    /// Where an allocation of `pages` aligned to `1 << order` pages can go, if it fits:
    /// `Some(Some(first))` in a pool with a known base (where `cma_alloc` will place it,
    /// the first fit, once freed cached runs are out of the way), `Some(None)` in the
    /// default area (free bytes only). Freed cached runs in that place, or beyond the
    /// default area's budget, are given back now, so that the warm cache never costs
    /// an allocation room it would have had without it.
    /// Takes the lock's guard and gives it back, since it may have to wait unlocked.
    fn make_room<'a>(
        &'a self,
        mut usage: MutexGuard<'a, Usage>,
        pages: u64,
        order: u32,
    ) -> (MutexGuard<'a, Usage>, Option<Option<u64>>) {
        for _ in 0..ZEROING_WAIT_MS {
            let cleared = match self.base {
                Some(_) => {
                    let Some(first) = first_fit(
                        usage.ranges.iter().filter(|r| !r.cached),
                        self.total_pages(),
                        self.base_pfn(),
                        pages,
                        order,
                    ) else {
                        return (usage, None);
                    };
                    let end = first + pages;
                    match usage.clear_freed_cached(|c| c.first < end && first < c.first + c.count) {
                        Cleared::Yes => return (usage, Some(Some(first))),
                        Cleared::Zeroing => Cleared::Zeroing,
                    }
                }
                None => {
                    let total = self.total_pages();
                    if usage.used_pages + pages > total {
                        return (usage, None);
                    }
                    if usage.used_pages + usage.freed_cached_pages() + pages <= total {
                        return (usage, Some(None));
                    }
                    match usage.clear_freed_cached(|_| true) {
                        Cleared::Yes => return (usage, Some(None)),
                        Cleared::Zeroing => Cleared::Zeroing,
                    }
                }
            };
            if let Cleared::Zeroing = cleared {
                // Wait for the background work to finish zeroing the run in the way.
                let lock = usage.lock_ref();
                drop(usage);
                fsleep(Delta::from_millis(1));
                usage = lock.lock();
            }
        }
        (usage, None)
    }

    /// `CMABUF_IOC_PREPARE`: migrates `req.count` runs of `req.pages` out of the pool
    /// now, zeroes them and keeps them in the warm cache for `req.timeout_ms`, charged to
    /// the caller (process limits, cgroup) until it allocates them or they expire.
    pub(crate) fn prepare(&self, req: &PrepareRequest, owner: &PidRef) -> Result {
        let pages = req.pages as u64;
        let bytes = pages << PAGE_SHIFT;
        let base_pfn = self.base_pfn();
        let expires = Instant::now() + Delta::from_millis(i64::from(req.timeout_ms));
        let mut ids = KVec::with_capacity(req.count as usize, GFP_KERNEL)?;
        let mut result = Ok(());
        self.usage.lock().retry_stranded();
        for _ in 0..req.count {
            {
                let usage = self.usage.lock();
                if usage.cache_closed {
                    result = Err(ENODEV);
                    break;
                }
                let (mut usage, room) = self.make_room(usage, pages, 0);
                if room.is_none() {
                    result = Err(ENOMEM);
                    break;
                }
                if let Err(hit) = usage.reserve(&self.limits, owner, pages) {
                    drop(usage);
                    result = Err(self.refuse(hit, owner.nr(), bytes).err);
                    break;
                }
            }
            let unreserve = |e: Error| {
                self.usage.lock().unreserve(Some(owner), pages);
                e
            };
            let dmem = match self.dmem.try_charge(bytes) {
                Ok(dmem) => dmem,
                Err(e) => {
                    result = Err(unreserve(self.dmem_refused(e, owner.nr(), bytes).err));
                    break;
                }
            };
            let allocated = if ffi::fault::should_fail_alloc(bytes as usize) {
                None
            } else {
                self.cma.alloc(req.pages, 0)
            };
            let Some(cma_pages) = allocated else {
                result = Err(unreserve(EBUSY));
                break;
            };
            if let Err(e) = cma_pages.clear() {
                drop(cma_pages);
                result = Err(unreserve(e));
                break;
            }
            let mut usage = self.usage.lock();
            let range = Range {
                id: usage.next_id,
                first: cma_pages.pfn() - base_pfn,
                pages,
                cached: false,
            };
            let cached = Cached {
                id: range.id,
                phys: cma_pages.phys(),
                first: range.first,
                pages: cma_pages,
                count: pages,
                zeroed: true,
                zeroing: false,
                prepared: Some(Prepared {
                    owner: owner.clone(),
                    dmem,
                }),
                expires,
            };
            // Unbound meanwhile: the closed cache takes nothing more.
            let err = if usage.cache_closed {
                Some(ENODEV)
            } else if usage.reserve_stranded_slot().is_err()
                || usage.cache.reserve(1, GFP_KERNEL).is_err()
                || usage.insert_range(range).is_err()
            {
                Some(ENOMEM)
            } else {
                None
            };
            if let Some(e) = err {
                usage.unreserve(Some(owner), pages);
                drop(usage);
                drop(cached);
                result = Err(e);
                break;
            }
            // Cannot fail: room was reserved above, as for `ids` (`count` entries).
            let _ = usage.cache.push_within_capacity(cached);
            let _ = ids.push_within_capacity(range.id);
            usage.cache_stats.prepared += 1;
        }
        if let Err(e) = result {
            // All or nothing: what this call prepared goes back (`ids` is sorted unless
            // the ids wrapped around; sort anyway).
            ids.sort_unstable();
            self.usage
                .lock()
                .release_cached(|c| ids.binary_search(&c.id).is_ok(), CacheRelease::ForRoom);
            if e != uapi::edquot() && self.ratelimit.allow() {
                pr_err!(
                    "{}: CMABUF_IOC_PREPARE: could not evacuate {} runs of {} pages: error {}\n",
                    &*self.name,
                    req.count,
                    dec(pages),
                    e.to_errno()
                );
            }
        }
        self.ticker.schedule(0);
        result
    }

    /// `debugfs/cmabuf/<name>/cache`: one line per cached run.
    pub(crate) fn write_cache(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let usage = self.usage.lock();
        let now = Instant::<Monotonic>::now();
        f.write_str("id       size          phys_start  zeroed  prepared  expires_in_ms\n")?;
        for c in usage.cache.iter() {
            f.write_fmt(fmt!(
                "{:<8} {:<13} {:#18x}  {:<6}  {:<8}  {}\n",
                c.id,
                dec(c.count << PAGE_SHIFT),
                c.phys,
                if c.zeroed { "yes" } else { "no" },
                if c.prepared.is_some() { "yes" } else { "no" },
                dec((c.expires - now).as_millis().max(0))
            ))?;
        }
        Ok(())
    }

    /// `echo drop > debugfs/cmabuf/<name>/cache`: gives every cached run back now.
    pub(crate) fn drop_cache(&self) {
        self.release_all_cached(CacheRelease::Dropped);
    }

    /// The pool is unbound: no more allocations, nothing more cached, and the device
    /// (with its device-tree node) is let go even while buffers live on.
    pub(crate) fn unbind(&self) {
        self.usage.lock().cache_closed = true;
        self.release_all_cached(CacheRelease::Unbind);
        self.dev.lock().take();
    }

    /// Gives every cached run back, waiting (briefly) for runs being zeroed.
    fn release_all_cached(&self, why: CacheRelease) {
        for _ in 0..ZEROING_WAIT_MS {
            let mut usage = self.usage.lock();
            usage.release_cached(|_| true, why);
            if usage.cache.is_empty() {
                break;
            }
            drop(usage);
            fsleep(Delta::from_millis(1));
        }
    }

    /// Counts a request that failed its checks before reaching the pool.
    pub(crate) fn count_invalid(&self) {
        self.usage.lock().failures.invalid += 1;
    }

    fn try_alloc(
        self: &Arc<Self>,
        req: &AllocRequest,
        owner: &PidRef,
        migration: &mut Migration,
    ) -> Result<Arc<Buffer>, Failure> {
        let base_pfn = self.base_pfn();
        let pages = req.pages as u64;
        let bytes = pages << PAGE_SHIFT;
        if let Some(hit) = self.try_cached(req, owner)? {
            return Ok(hit);
        }
        {
            let (mut usage, room) = self.make_room(self.usage.lock(), pages, req.align_order);
            if room.is_none() {
                return Err(Failure::new(ENOMEM, FailureKind::NoRoom));
            }
            if let Err(hit) = usage.reserve(&self.limits, owner, pages) {
                drop(usage);
                return Err(self.refuse(hit, owner.nr(), bytes));
            }
            if !usage.cache.is_empty() {
                usage.cache_stats.misses += 1;
            }
        }
        // From here on the reservation must be undone on every failure.
        let unreserve = |err: Error, kind: FailureKind| {
            self.usage.lock().unreserve(Some(owner), pages);
            Failure::new(err, kind)
        };
        let charge = self.dmem.try_charge(bytes).map_err(|e| {
            let failure = self.dmem_refused(e, owner.nr(), bytes);
            unreserve(failure.err, failure.kind)
        })?;
        let before = mm::vm_events();
        let mut allocated = None;
        let mut attempts = 0;
        while attempts < ALLOC_ATTEMPTS && allocated.is_none() {
            if attempts > 0 {
                // Freed cached runs may be where the area has room: give them back.
                let cached = self.usage.lock().freed_cached_pages();
                if cached == 0 {
                    fsleep(Delta::from_millis(10));
                } else {
                    self.usage
                        .lock()
                        .release_cached(|c| c.prepared.is_none(), CacheRelease::ForRoom);
                }
            }
            attempts += 1;
            allocated = if ffi::fault::should_fail_alloc(bytes as usize) {
                None
            } else {
                self.cma.alloc(req.pages, req.align_order)
            };
        }
        *migration = Migration::between(&before, &mm::vm_events());
        let Some(cma_pages) = allocated else {
            // Room by our count, yet no run came free: pages in it could not be migrated
            // (pinned, unmovable) or another CMA user of the area holds them.
            if self.base.is_some() {
                let usage = self.usage.lock();
                let room = first_fit(
                    usage.ranges.iter().filter(|r| !r.cached),
                    self.total_pages(),
                    base_pfn,
                    pages,
                    req.align_order,
                );
                drop(usage);
                if room.is_none() {
                    return Err(unreserve(ENOMEM, FailureKind::NoRoom));
                }
            }
            if self.ratelimit.allow() {
                pr_err!(
                    "{}: no run of {} pages came free after {} tries: pages in the way could not be migrated, or another user of CMA area {} (such as /dev/dma_heap) holds them; see last_failure in debugfs\n",
                    &*self.name,
                    dec(pages),
                    ALLOC_ATTEMPTS,
                    self.cma.name()
                );
            }
            return Err(Failure {
                attempts,
                ..unreserve(EBUSY, FailureKind::Busy)
            });
        };
        if let Err(e) = cma_pages.clear() {
            drop(cma_pages);
            return Err(unreserve(e, FailureKind::Other));
        }
        if req.cache != CacheMode::Cached {
            let Some(dev) = self.dev.lock().clone() else {
                drop(cma_pages);
                return Err(unreserve(ENODEV, FailureKind::Other));
            };
            if let Err(e) = cma_pages.clean_dcache(&dev) {
                drop(cma_pages);
                return Err(unreserve(e, FailureKind::Other));
            }
        }
        let range = Range {
            id: 0,
            first: cma_pages.pfn() - base_pfn,
            pages,
            cached: false,
        };
        let status = Arc::pin_init(BufferStatus::new(), GFP_KERNEL)
            .map_err(|_| unreserve(ENOMEM, FailureKind::Other))?;
        let meta = BufferMeta::new(req.cache, owner, status.clone());
        // Not `match self.usage.lock().record(..)`: the guard would live through the
        // arms, and `unreserve` takes the same lock.
        let recorded = self.usage.lock().record(range, meta);
        let id = match recorded {
            Ok(id) => id,
            Err(e) => {
                drop(cma_pages);
                return Err(unreserve(e, FailureKind::Other));
            }
        };
        Buffer::new(
            self.clone(),
            cma_pages,
            charge,
            id,
            owner.clone(),
            req.cache,
            status,
        )
        .map_err(|e| Failure::new(e, FailureKind::Other))
    }

    /// Counts a failed allocation and keeps it as `last_failure`, with a census of the
    /// pool's pages outside cmabuf buffers when migration was what failed.
    fn record_failure(&self, bytes: u64, pid: i32, failure: &Failure, migration: Migration) {
        let census = if failure.kind == FailureKind::Busy {
            self.census()
        } else {
            None
        };
        let reason = match failure.kind {
            FailureKind::NoRoom => "no free run large enough in the pool",
            FailureKind::Limit => "a pool or process limit",
            FailureKind::Dmem => "the cgroup's dmem.max",
            FailureKind::Busy => {
                "pages in the pool could not be migrated away or are held by another CMA user"
            }
            FailureKind::Other => "interrupted, or no memory for bookkeeping",
        };
        let mut usage = self.usage.lock();
        let f = &mut usage.failures;
        match failure.kind {
            FailureKind::NoRoom => f.no_room += 1,
            FailureKind::Limit => f.limit += 1,
            FailureKind::Dmem => f.dmem += 1,
            FailureKind::Busy => f.busy += 1,
            FailureKind::Other => f.other += 1,
        }
        usage.migration.add(&migration);
        usage.last_failure = Some(LastFailure {
            bytes,
            errno: -failure.err.to_errno(),
            reason,
            attempts: failure.attempts,
            pid,
            when: Instant::now(),
            migration,
            census,
        });
    }

    /// What the pool's pages outside cmabuf's runs are now (pools with a known base).
    fn census(&self) -> Option<Census> {
        let base_pfn = self.base? >> PAGE_SHIFT;
        let gaps: KVec<(u64, u64)> = {
            let usage = self.usage.lock();
            let mut gaps = KVec::new();
            for gap in self::gaps(usage.ranges.iter(), self.total_pages()) {
                gaps.push(gap, GFP_KERNEL).ok()?;
            }
            gaps
        };
        let mut census = Census::default();
        for (start, end) in gaps.iter() {
            mm::census(&mut census, base_pfn + start, end - start);
        }
        Some(census)
    }

    /// Says which limit refused an allocation (rate-limited).
    fn report_limit(&self, hit: LimitHit, pid: i32, bytes: u64) {
        if !self.ratelimit.allow() {
            return;
        }
        let (property, parameter, limit) = match hit {
            LimitHit::Bytes(l) => ("cmabuf,max-bytes", "max_bytes", l),
            LimitHit::Buffers(l) => ("cmabuf,max-buffers", "max_buffers", l),
            LimitHit::ProcessBytes(l) => ("cmabuf,max-process-bytes", "max_process_bytes", l),
            LimitHit::ProcessBuffers(l) => ("cmabuf,max-process-buffers", "max_process_buffers", l),
            LimitHit::NoMemory => return,
        };
        pr_err!(
            "{}: pid {}: buffer of {} bytes refused: limit of {} reached (DT {}, module parameter {})\n",
            &*self.name,
            pid,
            dec(bytes),
            dec(limit),
            property,
            parameter
        );
    }

    /// Frees buffer `id` of process `owner`: keeps its pages in the warm cache, gives
    /// them back to the area, or, if something still references them, keeps them out
    /// — still charged to `owner` and its cgroup (`dmem`) — until it lets go.
    pub(crate) fn free(&self, id: u32, owner: &PidRef, mut pages: CmaPages, dmem: DmemCharge) {
        let count = pages.count() as u64;
        let first = pages.pfn() - self.base_pfn();
        let mut usage = self.usage.lock();
        usage.frees += 1;
        usage.live = usage.live.saturating_sub(1);
        if pages.referenced() == 0 {
            if let Some(expires) = self.cache_expiry(&mut usage, count) {
                if usage.cache.reserve(1, GFP_KERNEL).is_ok() {
                    usage.unreserve(Some(owner), count);
                    usage.forget_meta(id);
                    if let Ok(pos) = usage.range_index(first) {
                        usage.ranges[pos].cached = true;
                    }
                    let cached = Cached {
                        id,
                        phys: pages.phys(),
                        first,
                        pages,
                        count,
                        zeroed: false,
                        zeroing: false,
                        prepared: None,
                        expires,
                    };
                    // Cannot fail: room was reserved above.
                    let _ = usage.cache.push_within_capacity(cached);
                    drop(usage);
                    drop(dmem);
                    self.ticker.schedule(0);
                    return;
                }
            }
        }
        // Under the lock: debugfs never looks at pages already given back.
        match pages.try_release() {
            Ok(()) => {
                usage.unreserve(Some(owner), count);
                usage.forget_meta(id);
                usage.forget_range(first);
                drop(usage);
                drop(dmem);
            }
            Err(busy) => {
                if self.ratelimit.allow() {
                    pr_err!(
                        "{}: buffer {} was freed while {} of its pages are still referenced (pinned for I/O, or in a pipe); they stay out of the pool, charged to pid {}, until released\n",
                        &*self.name,
                        id,
                        busy,
                        owner.nr()
                    );
                }
                if let Some(m) = usage.meta.iter_mut().find(|m| m.id == id) {
                    m.stranded = true;
                }
                usage.keep_stranded(Stranded {
                    id,
                    first,
                    pages,
                    owner: Some(owner.clone()),
                    dmem: Some(dmem),
                    _module: ModuleRef::get(),
                });
                drop(usage);
                self.ticker.schedule(STRANDED_POLL_MS);
            }
        }
    }

    /// Use of the pool now.
    pub(crate) fn snapshot(&self) -> UsageSnapshot {
        let mut usage = self.usage.lock();
        usage.retry_stranded();
        let free = self.total_pages().saturating_sub(usage.used_pages) << PAGE_SHIFT;
        UsageSnapshot {
            used: usage.used_pages << PAGE_SHIFT,
            free,
            largest_free: match self.base {
                Some(_) => {
                    largest_gap(
                        usage.ranges.iter().filter(|r| !r.cached),
                        self.total_pages(),
                    ) << PAGE_SHIFT
                }
                None => free,
            },
            buffers: usage.buffers,
        }
    }

    /// `debugfs/cmabuf/<name>/info`: one `key: value` per line.
    pub(crate) fn write_info(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snap = self.snapshot();
        let usage = self.usage.lock();
        let field = |f: &mut fmt::Formatter<'_>, name: &str, value: u64| {
            f.write_fmt(fmt!("{}: {}\n", name, dec(value)))
        };
        f.write_fmt(fmt!("name: {}\n", &*self.name))?;
        f.write_fmt(fmt!("device: {}\n", &*self.dev_name))?;
        f.write_fmt(fmt!("region: {}\n", &*self.region))?;
        f.write_fmt(fmt!("cma_area: {}\n", self.cma.name()))?;
        match self.base {
            Some(base) => f.write_fmt(fmt!("base: {:#x}\n", base))?,
            None => f.write_fmt(fmt!("base: unknown\n"))?,
        }
        field(f, "size", self.size)?;
        field(f, "used", snap.used)?;
        field(f, "free", snap.free)?;
        field(f, "largest_free", snap.largest_free)?;
        field(f, "buffers", snap.buffers)?;
        field(f, "peak_used", usage.peak_pages << PAGE_SHIFT)?;
        field(f, "allocations", usage.allocations)?;
        field(f, "heap_allocations", usage.heap_allocations)?;
        field(f, "frees", usage.frees)?;
        let fl = &usage.failures;
        let failures = fl.invalid + fl.no_room + fl.busy + fl.limit + fl.dmem + fl.other;
        field(f, "failures", failures)?;
        field(f, "failures_einval_invalid", fl.invalid)?;
        field(f, "failures_enomem_no_room", fl.no_room)?;
        field(f, "failures_ebusy_migration", fl.busy)?;
        field(f, "failures_edquot_limit", fl.limit)?;
        field(f, "failures_edquot_dmem", fl.dmem)?;
        field(f, "failures_other", fl.other)?;
        let m = &usage.migration;
        field(f, "migrated_pages", m.migrated)?;
        field(f, "migrate_failed_pages", m.migrate_failed)?;
        field(f, "compact_isolated", m.compact_isolated)?;
        field(f, "compact_migrate_scanned", m.compact_migrate_scanned)?;
        let limits = &self.limits;
        field(f, "max_bytes", limits.max_bytes)?;
        field(f, "max_buffers", limits.max_buffers)?;
        field(f, "max_process_bytes", limits.max_process_bytes)?;
        field(f, "max_process_buffers", limits.max_process_buffers)?;
        let stranded: u64 = usage.stranded.iter().map(|s| s.pages.count() as u64).sum();
        field(f, "stranded", stranded << PAGE_SHIFT)?;
        field(f, "stranded_buffers", usage.stranded.len() as u64)?;
        let cached: u64 = usage.cache.iter().map(|c| c.count << PAGE_SHIFT).sum();
        let prepared: u64 = usage
            .cache
            .iter()
            .filter(|c| c.prepared.is_some())
            .map(|c| c.count << PAGE_SHIFT)
            .sum();
        let cs = &usage.cache_stats;
        field(f, "cache_limit", crate::params::cache_parameters().0)?;
        field(f, "cached", cached)?;
        field(f, "cached_buffers", usage.cache.len() as u64)?;
        let unzeroed = usage.cache.iter().filter(|c| !c.zeroed).count();
        field(f, "cached_unzeroed", unzeroed as u64)?;
        field(f, "prepared", prepared)?;
        field(f, "cache_hits", cs.hits)?;
        field(f, "cache_misses", cs.misses)?;
        field(f, "cache_zeroed", cs.zeroed)?;
        field(f, "cache_released_idle", cs.released_idle)?;
        field(f, "cache_released_for_room", cs.released_for_room)?;
        field(f, "cache_released_unbind", cs.released_unbind)?;
        field(f, "cache_released_dropped", cs.released_dropped)?;
        field(f, "cache_released_for_memory", cs.released_for_memory)?;
        field(f, "prepare_runs", cs.prepared)
    }
}

impl Allocator {
    /// `debugfs/cmabuf/<name>/buffers`: one line per live or stranded buffer.
    pub(crate) fn write_buffers(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let usage = self.usage.lock();
        let base_pfn = self.base_pfn();
        f.write_str("id       size          phys_start          phys_end  cache         pid  comm              age_ms  maps  state     importers\n")?;
        for m in usage.meta.iter() {
            let Some(r) = usage.ranges.iter().find(|r| r.id == m.id) else {
                continue;
            };
            let start = (base_pfn + r.first) << PAGE_SHIFT;
            let end = start + (r.pages << PAGE_SHIFT) - 1;
            let comm_len = m.comm.iter().position(|&b| b == 0).unwrap_or(m.comm.len());
            let comm = core::str::from_utf8(&m.comm[..comm_len]).unwrap_or("?");
            // The pages are the buffer's (live or stranded) while the lock is held.
            f.write_fmt(fmt!(
                "{:<6} {:>10} {:#18x} {:#17x}  {:<12} {:>5}  {:<16} {:>7} {:>5}  {:<8}  ",
                m.id,
                dec(r.pages << PAGE_SHIFT),
                start,
                end,
                m.cache.name(),
                m.pid,
                comm,
                dec(m.created.elapsed().as_millis()),
                mm::mapcount(base_pfn + r.first),
                if m.stranded { "stranded" } else { "live" }
            ))?;
            m.status.write_importers(f)?;
            f.write_str("\n")?;
        }
        Ok(())
    }
    /// `debugfs/cmabuf/<name>/latency`.
    pub(crate) fn write_latency(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let latency = self.usage.lock().latency.clone();
        latency.write(f)
    }

    /// Clears the latency histogram (`echo reset > latency`).
    pub(crate) fn reset_latency(&self) {
        self.usage.lock().latency = Latency::new();
    }

    /// `debugfs/cmabuf/<name>/last_failure`.
    pub(crate) fn write_last_failure(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.usage.lock().last_failure {
            Some(failure) => failure.write(f),
            None => f.write_str("none\n"),
        }
    }

    /// `debugfs/cmabuf/<name>/occupancy`: the pool in 64 slices per line, `#` where
    /// cmabuf buffers fill a slice, `+` where they fill part of it, `.` where they do not.
    pub(crate) fn write_occupancy(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SLICES: usize = 256;
        // Page counts fit a usize (no 64-bit division on 32-bit ARM).
        let total = usize::try_from(self.total_pages()).unwrap_or(usize::MAX);
        if self.base.is_none() || total == 0 {
            return f.write_str("unknown: the default CMA area's layout is not exported\n");
        }
        let usage = self.usage.lock();
        let slice = total.div_ceil(SLICES);
        f.write_fmt(fmt!(
            "# one character per {} KiB\n",
            (slice << PAGE_SHIFT) >> 10
        ))?;
        for i in 0..total.div_ceil(slice) {
            let (s, e) = (i * slice, ((i + 1) * slice).min(total));
            let (s, e) = (s as u64, e as u64);
            let held: u64 = usage
                .ranges
                .iter()
                .map(|r| (r.first + r.pages).min(e).saturating_sub(r.first.max(s)))
                .sum();
            let c = if held == 0 {
                "."
            } else if held == e - s {
                "#"
            } else {
                "+"
            };
            f.write_str(c)?;
            if (i + 1) % 64 == 0 {
                f.write_str("\n")?;
            }
        }
        if total.div_ceil(slice) % 64 != 0 {
            f.write_str("\n")?;
        }
        Ok(())
    }
}

#[pinned_drop]
impl PinnedDrop for Allocator {
    fn drop(self: Pin<&mut Self>) {
        // The background work must not move runs around while they are handed on.
        self.ticker.cancel();
        let mut usage = self.usage.lock();
        // Unbinding emptied the cache; whatever is left goes back now.
        usage.release_cached(|_| true, CacheRelease::Unbind);
        usage.retry_stranded();
        // Pages still referenced outlive the pool: the module keeps them (and stays
        // loaded) until they are let go. Their cgroup charges go now, with the pool's
        // dmem region; a later binding of the same area adopts them.
        while let Some(s) = usage.stranded.pop() {
            let Stranded {
                pages,
                dmem,
                _module: module,
                ..
            } = s;
            drop(dmem);
            orphans::put(orphans::Orphan::new(pages, module));
        }
    }
}

impl Usage {
    /// Freed pages in the warm cache, charged to nobody.
    fn freed_cached_pages(&self) -> u64 {
        self.cache
            .iter()
            .filter(|c| c.prepared.is_none())
            .map(|c| c.count)
            .sum()
    }

    /// Makes sure a buffer or cached run added now can always be kept as stranded
    /// later: `stranded` gets room for every live buffer and cached run, plus one.
    fn reserve_stranded_slot(&mut self) -> Result {
        let others = self.live + self.cache.len() + 1;
        self.stranded.reserve(others, GFP_KERNEL)?;
        Ok(())
    }

    /// Keeps a run whose pages are still referenced; it can always be kept (see
    /// [`Usage::reserve_stranded_slot`]), and should room have been short after all,
    /// the module keeps it instead of losing it.
    fn keep_stranded(&mut self, s: Stranded) {
        if let Err(err) = self.stranded.push_within_capacity(s) {
            let Stranded {
                id,
                first,
                pages,
                owner,
                dmem,
                _module: module,
            } = err.0;
            self.unreserve(owner.as_ref(), pages.count() as u64);
            self.forget_meta(id);
            self.forget_range(first);
            drop(dmem);
            orphans::put(orphans::Orphan::new(pages, module));
        }
    }

    /// Gives back the pages of freed buffers that nothing references any more, with
    /// what they were charged.
    fn retry_stranded(&mut self) {
        let mut i = 0;
        while i < self.stranded.len() {
            if self.stranded[i].pages.try_release().is_err() {
                i += 1;
                continue;
            }
            let Some(s) = swap_remove(&mut self.stranded, i) else {
                break;
            };
            let count = pages_of(&self.ranges, s.first);
            self.unreserve(s.owner.as_ref(), count);
            self.forget_meta(s.id);
            self.forget_range(s.first);
        }
    }

    /// Removes cache entry `pos` (the cache has no order).
    fn cache_take(&mut self, pos: usize) -> Option<Cached> {
        swap_remove(&mut self.cache, pos)
    }

    /// Puts back, as it was, an entry just taken with [`Usage::cache_take`] (the
    /// cache still has room for it); were it not so, the run goes back to the area.
    fn cache_restore(&mut self, c: Cached) {
        if let Err(err) = self.cache.push_within_capacity(c) {
            let c = err.0;
            let owner = c.prepared.map(|p| p.owner);
            self.release_or_strand(c.id, c.first, c.pages, owner);
        }
    }

    /// Puts back a run taken from the cache for an allocation that failed: uncharged
    /// now, it expires anew. If it cannot be kept, it goes back to the area.
    fn cache_put_back(&mut self, mut c: Cached, ticker: Option<&Ticker<Allocator>>) {
        let (_, idle_ms) = crate::params::cache_parameters();
        c.expires = Instant::now() + Delta::from_millis(i64::from(idle_ms));
        let was_prepared = c.prepared.is_some();
        if let Ok(pos) = self.range_index(c.first) {
            self.ranges[pos].cached = !was_prepared;
        }
        if self.cache_closed {
            let (id, first) = (c.id, c.first);
            self.release_or_strand(id, first, c.pages, c.prepared.map(|p| p.owner));
            return;
        }
        if self.cache.reserve(1, GFP_KERNEL).is_err() {
            let (id, first) = (c.id, c.first);
            self.release_or_strand(id, first, c.pages, c.prepared.map(|p| p.owner));
            return;
        }
        // Cannot fail: room was reserved above.
        let _ = self.cache.push_within_capacity(c);
        if let Some(ticker) = ticker {
            ticker.schedule(0);
        }
    }

    /// Gives a run back to the area with its range, or keeps it as stranded if
    /// something references its pages. `owner` is who a prepared run was charged to.
    fn release_or_strand(
        &mut self,
        id: u32,
        first: u64,
        mut pages: CmaPages,
        owner: Option<PidRef>,
    ) {
        let count = pages.count() as u64;
        if pages.try_release().is_ok() {
            if owner.is_some() {
                self.unreserve(owner.as_ref(), count);
            }
            self.forget_range(first);
            return;
        }
        // Still referenced (cannot happen to a run nobody mapped, but never share it).
        if let Ok(pos) = self.range_index(first) {
            self.ranges[pos].cached = false;
        }
        if owner.is_none() {
            // A freed run charged to nobody: count it, as an adopted orphan.
            self.used_pages += count;
        }
        self.keep_stranded(Stranded {
            id,
            first,
            pages,
            owner,
            dmem: None,
            _module: ModuleRef::get(),
        });
    }

    /// Gives the cached runs that `which` selects back to the CMA area, with their
    /// charges (prepared runs); returns how many pages went. Runs being zeroed stay.
    /// Allocates nothing (the shrinker calls it in reclaim).
    fn release_cached(&mut self, which: impl Fn(&Cached) -> bool, why: CacheRelease) -> u64 {
        let mut pages = 0;
        let mut i = 0;
        while i < self.cache.len() {
            if self.cache[i].zeroing || !which(&self.cache[i]) {
                i += 1;
                continue;
            }
            let Some(c) = self.cache_take(i) else { break };
            pages += c.count;
            let (id, first) = (c.id, c.first);
            let owner = c.prepared.map(|p| p.owner);
            self.release_or_strand(id, first, c.pages, owner);
            let s = &mut self.cache_stats;
            match why {
                CacheRelease::Idle => s.released_idle += 1,
                CacheRelease::ForRoom => s.released_for_room += 1,
                CacheRelease::Unbind => s.released_unbind += 1,
                CacheRelease::Dropped => s.released_dropped += 1,
                CacheRelease::ForMemory => s.released_for_memory += 1,
            }
        }
        pages
    }

    /// Gives back the freed (not prepared) cached runs that `which` selects, for an
    /// allocation's room; says whether one of them is being zeroed and had to stay.
    fn clear_freed_cached(&mut self, which: impl Fn(&Cached) -> bool) -> Cleared {
        let selected = |c: &Cached| c.prepared.is_none() && which(c);
        self.release_cached(selected, CacheRelease::ForRoom);
        if self.cache.iter().any(|c| c.zeroing && selected(c)) {
            Cleared::Zeroing
        } else {
            Cleared::Yes
        }
    }

    /// The index in `ranges` of the range starting at page `first`.
    fn range_index(&self, first: u64) -> core::result::Result<usize, usize> {
        self.ranges.binary_search_by_key(&first, |r| r.first)
    }

    /// Drops the range starting at page `first`: its pages are back in the area.
    fn forget_range(&mut self, first: u64) {
        if let Ok(pos) = self.range_index(first) {
            let _ = self.ranges.remove(pos);
        }
    }

    /// Drops what debugfs shows of buffer `id`.
    fn forget_meta(&mut self, id: u32) {
        if let Some(pos) = self.meta.iter().position(|m| m.id == id) {
            let _ = swap_remove(&mut self.meta, pos);
        }
    }

    /// Counts an allocation of `pages` for `owner` in advance, unless a limit forbids it.
    fn reserve(&mut self, limits: &Limits, owner: &PidRef, pages: u64) -> Result<(), LimitHit> {
        let bytes = pages << PAGE_SHIFT;
        let over = |limit: u64, value: u64| limit != 0 && value > limit;
        if over(limits.max_bytes, (self.used_pages + pages) << PAGE_SHIFT) {
            return Err(LimitHit::Bytes(limits.max_bytes));
        }
        if over(limits.max_buffers, self.buffers + 1) {
            return Err(LimitHit::Buffers(limits.max_buffers));
        }
        let pos = self.processes.iter().position(|p| p.owner.same(owner));
        let (held_bytes, held_buffers) = pos.map_or((0, 0), |i| {
            (self.processes[i].bytes, self.processes[i].buffers)
        });
        if over(limits.max_process_bytes, held_bytes + bytes) {
            return Err(LimitHit::ProcessBytes(limits.max_process_bytes));
        }
        if over(limits.max_process_buffers, held_buffers + 1) {
            return Err(LimitHit::ProcessBuffers(limits.max_process_buffers));
        }
        match pos {
            Some(i) => {
                let p = &mut self.processes[i];
                p.bytes += bytes;
                p.buffers += 1;
            }
            None => {
                // Without room to track the process its limits cannot hold: refuse.
                let entry = ProcessUsage {
                    owner: owner.clone(),
                    bytes,
                    buffers: 1,
                };
                if self.processes.push(entry, GFP_KERNEL).is_err() {
                    return Err(LimitHit::NoMemory);
                }
            }
        }
        self.used_pages += pages;
        self.buffers += 1;
        Ok(())
    }

    /// Undoes [`Usage::reserve`]; with no `owner`, the count of pages charged to
    /// nobody (adopted or stranded freed runs) goes down instead.
    fn unreserve(&mut self, owner: Option<&PidRef>, pages: u64) {
        self.used_pages -= pages;
        let Some(owner) = owner else { return };
        self.buffers -= 1;
        if let Some(pos) = self.processes.iter().position(|p| p.owner.same(owner)) {
            let p = &mut self.processes[pos];
            p.bytes -= pages << PAGE_SHIFT;
            p.buffers -= 1;
            if p.buffers == 0 {
                let _ = swap_remove(&mut self.processes, pos);
            }
        }
    }

    /// Records a new buffer's range and what debugfs shows of it; returns its id.
    fn record(&mut self, mut range: Range, mut meta: BufferMeta) -> Result<u32> {
        range.id = self.next_id;
        meta.id = self.next_id;
        self.reserve_stranded_slot()?;
        self.meta.push(meta, GFP_KERNEL)?;
        if let Err(e) = self.insert_range(range) {
            self.forget_meta(range.id);
            return Err(e);
        }
        self.live += 1;
        self.allocations += 1;
        Ok(range.id)
    }

    /// Records a buffer made of the cached run `old_id` at page `first`: the range is
    /// the buffer's now, under a new id, returned.
    fn record_renamed(&mut self, old_id: u32, first: u64, mut meta: BufferMeta) -> Result<u32> {
        let id = self.next_id;
        meta.id = id;
        let pos = self.range_index(first).map_err(|_| EINVAL)?;
        // Taken out of the cache, the run is neither cached nor live until now: a
        // `record` in between did not count it, so the slot is reserved here.
        self.reserve_stranded_slot()?;
        self.meta.push(meta, GFP_KERNEL)?;
        let range = &mut self.ranges[pos];
        if range.id != old_id {
            self.forget_meta(id);
            return Err(EINVAL);
        }
        range.id = id;
        range.cached = false;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.live += 1;
        self.allocations += 1;
        Ok(id)
    }

    /// Inserts `range` (whose id is `next_id`) in order and moves `next_id` on.
    fn insert_range(&mut self, range: Range) -> Result {
        let pos = match self.range_index(range.first) {
            Ok(_) => return Err(EINVAL),
            Err(pos) => pos,
        };
        self.ranges.reserve(1, GFP_KERNEL)?;
        self.ranges
            .insert_within_capacity(pos, range)
            .map_err(|_| ENOMEM)?;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        Ok(())
    }
}

/// Removes element `i` of `v` in O(1), moving the last one into its place.
fn swap_remove<T>(v: &mut KVec<T>, i: usize) -> Option<T> {
    let last = v.len().checked_sub(1)?;
    if i > last {
        return None;
    }
    v.swap(i, last);
    v.pop()
}

/// The size in pages of the range starting at page `first` (0 if there is none).
fn pages_of(ranges: &[Range], first: u64) -> u64 {
    ranges
        .binary_search_by_key(&first, |r| r.first)
        .map_or(0, |pos| ranges[pos].pages)
}

/// The gaps between sorted `ranges` in a pool of `total` pages, as (first, end).
fn gaps<'a>(
    ranges: impl Iterator<Item = &'a Range> + Clone + 'a,
    total: u64,
) -> impl Iterator<Item = (u64, u64)> + 'a {
    let ends = Iterator::chain(ranges.clone().map(|r| r.first), core::iter::once(total));
    let starts = Iterator::chain(core::iter::once(0), ranges.map(|r| r.first + r.pages));
    starts.zip(ends).filter(|(s, e)| e > s)
}

/// The largest run of pages outside `ranges`.
fn largest_gap<'a>(ranges: impl Iterator<Item = &'a Range> + Clone + 'a, total: u64) -> u64 {
    gaps(ranges, total).map(|(s, e)| e - s).max().unwrap_or(0)
}

/// Where `cma_alloc` would place `pages` pages aligned to `1 << order` pages (of
/// physical page frames; the pool starts at frame `base_pfn`) among sorted `ranges`:
/// the first gap that fits. `None` if none does.
fn first_fit<'a>(
    ranges: impl Iterator<Item = &'a Range> + Clone + 'a,
    total: u64,
    base_pfn: u64,
    pages: u64,
    order: u32,
) -> Option<u64> {
    let align = 1u64 << order;
    gaps(ranges, total).find_map(|(s, e)| {
        let start = (base_pfn + s).next_multiple_of(align) - base_pfn;
        start
            .checked_add(pages)
            .is_some_and(|end| end <= e)
            .then_some(start)
    })
}

/// Whether `pages` pages aligned to `1 << order` pages fit in a gap between `ranges`.
#[cfg(CONFIG_KUNIT)]
fn fits(ranges: &[Range], total: u64, base_pfn: u64, pages: u64, order: u32) -> bool {
    first_fit(ranges.iter(), total, base_pfn, pages, order).is_some()
}

#[kunit_tests(cmabuf_allocator)]
mod tests {
    use super::*;

    fn r(first: u64, pages: u64) -> Range {
        Range {
            id: 1,
            first,
            pages,
            cached: false,
        }
    }

    #[test]
    fn empty_pool_is_one_gap() {
        assert_eq!(largest_gap([].iter(), 100), 100);
        assert!(fits(&[], 100, 0, 100, 0));
        assert!(!fits(&[], 100, 0, 101, 0));
    }

    #[test]
    fn largest_gap_between_buffers() {
        let ranges = [r(0, 10), r(30, 10), r(50, 45)];
        assert_eq!(largest_gap(ranges.iter(), 100), 20);
        assert!(fits(&ranges, 100, 0, 20, 0));
        assert!(!fits(&ranges, 100, 0, 21, 0));
        assert_eq!(largest_gap([r(0, 100)].iter(), 100), 0);
    }

    #[test]
    fn alignment_shrinks_gaps() {
        // Gap 10..30: 16 pages aligned to 16 would start at 16 and end at 32: no room.
        let ranges = [r(0, 10), r(30, 70)];
        assert!(fits(&ranges, 100, 0, 16, 0));
        assert!(!fits(&ranges, 100, 0, 16, 4));
        // The pool's base frame counts: with base frame 6, offset 10 is frame 16.
        assert!(fits(&ranges, 100, 6, 16, 4));
    }

    #[test]
    fn first_fit_is_the_lowest_gap() {
        let ranges = [r(0, 10), r(12, 8), r(30, 70)];
        assert_eq!(first_fit(ranges.iter(), 100, 0, 2, 0), Some(10));
        assert_eq!(first_fit(ranges.iter(), 100, 0, 3, 0), Some(20));
        // Aligned to 4 pages: 10 is not, 20 is.
        assert_eq!(first_fit(ranges.iter(), 100, 0, 2, 2), Some(20));
        assert_eq!(first_fit(ranges.iter(), 100, 0, 11, 0), None);
        // Freed cached runs do not count once filtered out, as the allocator does.
        let mut cached = r(12, 8);
        cached.cached = true;
        let ranges = [r(0, 10), cached, r(30, 70)];
        assert_eq!(
            first_fit(ranges.iter().filter(|r| !r.cached), 100, 0, 20, 0),
            Some(10)
        );
    }

    #[test]
    fn swap_remove_keeps_the_others() {
        let mut v = KVec::new();
        for i in 0..5u32 {
            v.push(i, GFP_KERNEL).unwrap();
        }
        assert_eq!(swap_remove(&mut v, 1), Some(1));
        assert_eq!(&v[..], &[0, 4, 2, 3]);
        assert_eq!(swap_remove(&mut v, 3), Some(3));
        assert_eq!(swap_remove(&mut v, 7), None);
        assert_eq!(&v[..], &[0, 4, 2]);
    }
}

// The `ffi` traits the allocator implements, together: `ffi` calls back up only through
// these (the warm cache's background work and its shrinker, the pool's dma-heap).

crate::ffi_has_ticker!(Allocator, ticker);

impl ffi::Tick for Allocator {
    fn tick(&self) -> Option<u32> {
        self.cache_tick()
    }
}

impl ffi::Shrink for Allocator {
    fn count(&self) -> u64 {
        self.cache_shrink_count()
    }

    fn scan(&self, want: u64) -> Option<u64> {
        self.cache_shrink(want)
    }
}

impl ffi::HeapAllocate for Allocator {
    type Buffer = Buffer;

    fn allocate(
        slot: &ffi::HeapSlot<Self>,
        len: u64,
        fd_flags: u32,
        heap_flags: u64,
    ) -> Result<(Arc<Buffer>, u32)> {
        crate::heap::allocate(slot, len, fd_flags, heap_flags)
    }
}
