// SPDX-License-Identifier: GPL-2.0

//! A pool's memory: allocating buffers from its CMA area, and knowing where they are.
//!
//! The allocator outlives the pool's binding while any of its buffers lives: unbinding
//! the device removes `/dev/cmabuf-<name>`, but memory is given back only when the last
//! buffer goes, and until then the region stays claimed.

use crate::{
    buffer::{
        Buffer,
        BufferStatus, //
    },
    decimal::dec,
    ffi::{
        self,
        mm,
        Census,
        CmaArea,
        CmaPages,
        DmemRegion,
        RateLimit,
        Ticker, //
    },
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
        Mutex, //
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

/// A buffer's place in the pool, in pages from the pool's base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Range {
    pub(crate) id: u32,
    pub(crate) first: u64,
    pub(crate) pages: u64,
}

/// What debugfs shows of a live buffer besides its range.
struct BufferMeta {
    id: u32,
    cache: CacheMode,
    tgid: i32,
    comm: [u8; 16],
    created: Instant<Monotonic>,
    status: Arc<BufferStatus>,
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

/// What one process (thread group) holds in the pool.
#[derive(Clone, Copy)]
struct ProcessUsage {
    tgid: i32,
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
}

/// What the pool holds. `ranges` (sorted by `first`) are the buffers' places; the
/// counters also include allocations in flight, so limits hold under concurrency.
struct Usage {
    ranges: KVec<Range>,
    meta: KVec<BufferMeta>,
    processes: KVec<ProcessUsage>,
    /// Freed buffers whose pages something still referenced (a pipe filled by
    /// `vmsplice`, I/O in flight): kept out of the area until they are let go.
    stranded: KVec<(u32, CmaPages)>,
    used_pages: u64,
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

/// A run of the pool kept in the warm cache. Its range stays in `Usage::ranges` under
/// `id`, so the pool's own count of free runs never offers it to `cma_alloc`.
struct Cached {
    id: u32,
    /// Empty while the background work zeroes the run (`zeroing`).
    pages: CmaPages,
    /// Size in pages and physical address of the run.
    count: u64,
    phys: u64,
    /// Zeroed since it was freed (the background work does it).
    zeroed: bool,
    /// The background work holds the pages now: nobody else may touch the entry.
    zeroing: bool,
    /// From `CMABUF_IOC_PREPARE`, not from a freed buffer.
    prepared: bool,
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

/// A pool's memory and its bookkeeping.
#[pin_data]
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
    pub(crate) ticker: Ticker,
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

    /// Allocates, zeroes and records a buffer for process `tgid`, charged to the
    /// current task's cgroup; counts its latency, or why it failed.
    pub(crate) fn alloc(self: &Arc<Self>, req: &AllocRequest, tgid: i32) -> Result<Arc<Buffer>> {
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
        match self.try_alloc(req, tgid, &mut migration) {
            Ok(buffer) => {
                let us = start.elapsed().as_micros_ceil().max(0) as u64;
                let mut usage = self.usage.lock();
                usage.latency.record(bytes, us);
                usage.migration.add(&migration);
                usage.peak_pages = usage.peak_pages.max(usage.used_pages);
                Ok(buffer)
            }
            Err(failure) => {
                self.record_failure(bytes, tgid, &failure, migration);
                Err(failure.err)
            }
        }
    }

    /// Counts an allocation made through the pool's dma-heap.
    pub(crate) fn count_heap_allocation(&self) {
        self.usage.lock().heap_allocations += 1;
    }

    /// When a freed buffer of `pages` pages would leave the warm cache, if it may enter:
    /// the cache is on (`cache_bytes`) and has room for it.
    /// The freshest run wins: older freed runs make room for it.
    fn cache_expiry(&self, pages: u64) -> Option<Instant<Monotonic>> {
        let (limit, idle_ms) = crate::cache_parameters();
        if limit == 0 || pages << PAGE_SHIFT > limit {
            return None;
        }
        let cached = |usage: &Usage| -> u64 {
            usage
                .cache
                .iter()
                .filter(|c| !c.prepared)
                .map(|c| c.count)
                .sum()
        };
        while (cached(&self.usage.lock()) + pages) << PAGE_SHIFT > limit {
            // Give back the run that would expire first (freed longest ago).
            let oldest = {
                let usage = self.usage.lock();
                usage
                    .cache
                    .iter()
                    .filter(|c| !c.prepared && !c.zeroing)
                    .map(|c| (c.id, c.expires))
                    .reduce(|a, b| if (b.1 - a.1).as_nanos() < 0 { b } else { a })
                    .map(|(id, _)| id)
            };
            let Some(oldest) = oldest else { break };
            if self.release_cache(|c| c.id == oldest, CacheRelease::ForRoom) == 0 {
                return None;
            }
        }
        Some(Instant::now() + Delta::from_millis(i64::from(idle_ms)))
    }

    /// Serves `req` from the warm cache if a run of its size and alignment is there:
    /// no migration, and no zeroing once the background work has zeroed it.
    fn try_cached(
        self: &Arc<Self>,
        req: &AllocRequest,
        tgid: i32,
    ) -> Result<Option<Arc<Buffer>>, Failure> {
        let pages = req.pages as u64;
        let bytes = pages << PAGE_SHIFT;
        let align = 1u64 << req.align_order;
        let mut cached = {
            let mut usage = self.usage.lock();
            let matches =
                |c: &Cached| !c.zeroing && c.count == pages && (c.phys >> PAGE_SHIFT) % align == 0;
            // Prefer a zeroed run; an unzeroed one still saves the migration.
            let pos = usage
                .cache
                .iter()
                .position(|c| matches(c) && c.zeroed)
                .or_else(|| usage.cache.iter().position(matches));
            let Some(pos) = pos else {
                return Ok(None);
            };
            if let Err(hit) = usage.reserve(&self.limits, tgid, pages) {
                drop(usage);
                self.report_limit(hit, tgid, bytes);
                return Err(Failure::new(uapi::edquot(), FailureKind::Limit));
            }
            match usage.cache.remove(pos) {
                Ok(c) => c,
                Err(_) => {
                    usage.unreserve(tgid, pages);
                    return Ok(None);
                }
            }
        };
        let put_back = |c: Cached, err: Error, kind: FailureKind| {
            let mut usage = self.usage.lock();
            usage.unreserve(tgid, pages);
            // Without room in the list the run goes back to the area with its range.
            let id = c.id;
            if usage.cache.push(c, GFP_KERNEL).is_err() {
                usage.forget_range(id);
            }
            Failure::new(err, kind)
        };
        let charge = match self.dmem.try_charge(bytes) {
            Ok(charge) => charge,
            Err(e) => {
                let kind = if e == uapi::edquot() {
                    FailureKind::Dmem
                } else {
                    FailureKind::Other
                };
                return Err(put_back(cached, e, kind));
            }
        };
        if !cached.zeroed {
            if let Err(e) = cached.pages.clear() {
                return Err(put_back(cached, e, FailureKind::Other));
            }
            cached.zeroed = true;
        }
        if req.cache != CacheMode::Cached {
            let Some(dev) = self.dev.lock().clone() else {
                return Err(put_back(cached, ENODEV, FailureKind::Other));
            };
            if let Err(e) = cached.pages.clean_dcache(&dev) {
                return Err(put_back(cached, e, FailureKind::Other));
            }
        }
        let base_pfn = self.base.unwrap_or(0) >> PAGE_SHIFT;
        let range = Range {
            id: 0,
            first: cached.pages.pfn() - base_pfn,
            pages,
        };
        let status = match Arc::pin_init(BufferStatus::new(), GFP_KERNEL) {
            Ok(status) => status,
            Err(_) => return Err(put_back(cached, ENOMEM, FailureKind::Other)),
        };
        let meta = BufferMeta {
            id: 0,
            cache: req.cache,
            tgid,
            comm: mm::current_comm(),
            created: Instant::now(),
            status: status.clone(),
        };
        let Cached {
            id: old_id,
            pages: cma_pages,
            ..
        } = cached;
        let id = {
            let mut usage = self.usage.lock();
            usage.forget_range(old_id);
            match usage.record(range, meta) {
                Ok(id) => {
                    usage.cache_stats.hits += 1;
                    id
                }
                Err(e) => {
                    usage.unreserve(tgid, pages);
                    drop(usage);
                    drop(cma_pages);
                    return Err(Failure::new(e, FailureKind::Other));
                }
            }
        };
        Buffer::new(self.clone(), cma_pages, charge, id, tgid, req.cache, status)
            .map(Some)
            .map_err(|e| Failure::new(e, FailureKind::Other))
    }

    /// Gives the cached runs that `which` selects back to the CMA area; returns how
    /// many went.
    fn release_cache(&self, which: impl Fn(&Cached) -> bool, why: CacheRelease) -> usize {
        let mut taken = KVec::new();
        {
            let mut usage = self.usage.lock();
            let mut i = 0;
            while i < usage.cache.len() {
                if usage.cache[i].zeroing || !which(&usage.cache[i]) {
                    i += 1;
                    continue;
                }
                if taken.reserve(1, GFP_KERNEL).is_err() {
                    break;
                }
                if let Ok(c) = usage.cache.remove(i) {
                    let _ = taken.push_within_capacity(c);
                }
            }
        }
        let n = taken.len();
        if n == 0 {
            return 0;
        }
        let mut usage = self.usage.lock();
        for mut c in taken {
            match c.pages.try_release() {
                Ok(()) => usage.forget_range(c.id),
                Err(_) => {
                    // Referenced again (cannot happen once unmapped): keep it out of the
                    // area like any stranded buffer.
                    usage.used_pages += c.pages.count() as u64;
                    let _ = usage.stranded.push((c.id, c.pages), GFP_KERNEL);
                }
            }
            let s = &mut usage.cache_stats;
            match why {
                CacheRelease::Idle => s.released_idle += 1,
                CacheRelease::ForRoom => s.released_for_room += 1,
                CacheRelease::Unbind => s.released_unbind += 1,
                CacheRelease::Dropped => s.released_dropped += 1,
            }
        }
        n
    }

    /// The background work: zeroes the cached runs freed since, gives back those whose
    /// time is up, and says when to run again (milliseconds), if ever.
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
        self.release_cache(|c| (c.expires - now).as_nanos() <= 0, CacheRelease::Idle);
        let now = Instant::<Monotonic>::now();
        let usage = self.usage.lock();
        let next = usage
            .cache
            .iter()
            .map(|c| (c.expires - now).as_millis())
            .min()?;
        Some(next.clamp(1, i64::from(PREPARE_MAX_MS)) as u32)
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
            let Some(pos) = usage.cache.iter().position(|c| !c.zeroing) else {
                break;
            };
            let Ok(mut c) = usage.cache.remove(pos) else {
                break;
            };
            let pages = c.count;
            if c.pages.try_release().is_err() {
                // Referenced again: keep it cached rather than allocate in reclaim.
                let _ = usage.cache.push_within_capacity(c);
                break;
            }
            usage.forget_range(c.id);
            usage.cache_stats.released_for_memory += 1;
            freed += pages;
        }
        Some(freed)
    }

    /// `CMABUF_IOC_PREPARE`: migrates `req.count` runs of `req.pages` out of the pool
    /// now, zeroes them and keeps them in the warm cache for `req.timeout_ms`.
    pub(crate) fn prepare(&self, req: &PrepareRequest) -> Result {
        let pages = req.pages as u64;
        let base_pfn = self.base.unwrap_or(0) >> PAGE_SHIFT;
        let expires = Instant::now() + Delta::from_millis(i64::from(req.timeout_ms));
        let mut ids = KVec::new();
        let mut result = Ok(());
        for _ in 0..req.count {
            let room = {
                let usage = self.usage.lock();
                !usage.cache_closed
                    && match self.base {
                        Some(_) => fits(&usage.ranges, self.total_pages(), base_pfn, pages, 0),
                        None => usage.used_pages + pages <= self.total_pages(),
                    }
            };
            if !room {
                result = Err(ENOMEM);
                break;
            }
            let Some(cma_pages) = self.cma.alloc(req.pages, 0) else {
                result = Err(EBUSY);
                break;
            };
            if let Err(e) = cma_pages.clear() {
                result = Err(e);
                break;
            }
            let mut usage = self.usage.lock();
            let range = Range {
                id: usage.next_id,
                first: cma_pages.pfn() - base_pfn,
                pages,
            };
            let cached = Cached {
                id: range.id,
                phys: cma_pages.phys(),
                pages: cma_pages,
                count: pages,
                zeroed: true,
                zeroing: false,
                prepared: true,
                expires,
            };
            if usage.insert_range(range).is_err()
                || usage.cache.reserve(1, GFP_KERNEL).is_err()
                || ids.push(range.id, GFP_KERNEL).is_err()
            {
                usage.forget_range(range.id);
                result = Err(ENOMEM);
                break;
            }
            let _ = usage.cache.push_within_capacity(cached);
            usage.cache_stats.prepared += 1;
        }
        if result.is_err() {
            // All or nothing: what this call prepared goes back.
            self.release_cache(|c| ids.contains(&c.id), CacheRelease::ForRoom);
            if self.ratelimit.allow() {
                pr_err!(
                    "{}: CMABUF_IOC_PREPARE: could not evacuate {} runs of {} pages: error {}\n",
                    &*self.name,
                    req.count,
                    dec(pages),
                    result.map_or_else(|e| e.to_errno(), |()| 0)
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
                if c.prepared { "yes" } else { "no" },
                dec((c.expires - now).as_millis().max(0))
            ))?;
        }
        Ok(())
    }

    /// `echo drop > debugfs/cmabuf/<name>/cache`: gives every cached run back now.
    pub(crate) fn drop_cache(&self) {
        self.release_all_cached(CacheRelease::Dropped);
    }

    /// Stops caching (the pool is unbound) and gives every cached run back.
    pub(crate) fn close_cache(&self) {
        self.usage.lock().cache_closed = true;
        self.release_all_cached(CacheRelease::Unbind);
    }

    /// The pool is unbound: no more allocations, and the device (with its device-tree
    /// node) is let go even while buffers live on.
    pub(crate) fn unbind(&self) {
        self.close_cache();
        self.dev.lock().take();
    }

    /// Gives every cached run back, waiting (briefly) for runs being zeroed; returns how
    /// many went.
    fn release_all_cached(&self, why: CacheRelease) -> usize {
        let mut n = 0;
        for _ in 0..1000 {
            let released = self.release_cache(|_| true, why);
            n += released;
            // Done once a pass found nothing to give and nothing is being zeroed.
            if released == 0 && !self.usage.lock().cache.iter().any(|c| c.zeroing) {
                break;
            }
            if released == 0 {
                fsleep(Delta::from_millis(1));
            }
        }
        n
    }

    /// Counts a request that failed its checks before reaching the pool.
    pub(crate) fn count_invalid(&self) {
        self.usage.lock().failures.invalid += 1;
    }

    fn try_alloc(
        self: &Arc<Self>,
        req: &AllocRequest,
        tgid: i32,
        migration: &mut Migration,
    ) -> Result<Arc<Buffer>, Failure> {
        let base_pfn = self.base.unwrap_or(0) >> PAGE_SHIFT;
        let pages = req.pages as u64;
        let bytes = pages << PAGE_SHIFT;
        let fits = |u: &Usage| match self.base {
            Some(_) => fits(
                &u.ranges,
                self.total_pages(),
                base_pfn,
                pages,
                req.align_order,
            ),
            None => u.used_pages + pages <= self.total_pages(),
        };
        if let Some(hit) = self.try_cached(req, tgid)? {
            return Ok(hit);
        }
        {
            let mut usage = self.usage.lock();
            usage.retry_stranded();
            if !fits(&usage) && !usage.cache.is_empty() {
                // The warm cache holds the room: give it back to the area first.
                drop(usage);
                self.release_all_cached(CacheRelease::ForRoom);
                usage = self.usage.lock();
            }
            if !fits(&usage) {
                return Err(Failure::new(ENOMEM, FailureKind::NoRoom));
            }
            if let Err(hit) = usage.reserve(&self.limits, tgid, pages) {
                drop(usage);
                self.report_limit(hit, tgid, bytes);
                return Err(Failure::new(uapi::edquot(), FailureKind::Limit));
            }
            if !usage.cache.is_empty() {
                usage.cache_stats.misses += 1;
            }
        }
        // From here on the reservation must be undone on every failure.
        let unreserve = |err: Error, kind: FailureKind| {
            self.usage.lock().unreserve(tgid, pages);
            Failure::new(err, kind)
        };
        let charge = self.dmem.try_charge(bytes).map_err(|e| {
            if e != uapi::edquot() {
                return unreserve(e, FailureKind::Other);
            }
            if self.ratelimit.allow() {
                pr_err!(
                    "{}: pid {}: dmem.max of its cgroup reached: buffer of {} bytes refused\n",
                    &*self.name,
                    tgid,
                    dec(bytes)
                );
            }
            unreserve(e, FailureKind::Dmem)
        })?;
        let before = mm::vm_events();
        let mut allocated = None;
        let mut attempts = 0;
        while attempts < ALLOC_ATTEMPTS && allocated.is_none() {
            if attempts > 0 && self.release_all_cached(CacheRelease::ForRoom) == 0 {
                fsleep(Delta::from_millis(10));
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
            if self.base.is_some() && !fits(&self.usage.lock()) {
                return Err(unreserve(ENOMEM, FailureKind::NoRoom));
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
        };
        let status = Arc::pin_init(BufferStatus::new(), GFP_KERNEL)
            .map_err(|_| unreserve(ENOMEM, FailureKind::Other))?;
        let meta = BufferMeta {
            id: 0,
            cache: req.cache,
            tgid,
            comm: mm::current_comm(),
            created: Instant::now(),
            status: status.clone(),
        };
        let id = match self.usage.lock().record(range, meta) {
            Ok(id) => id,
            Err(e) => {
                drop(cma_pages);
                return Err(unreserve(e, FailureKind::Other));
            }
        };
        Buffer::new(self.clone(), cma_pages, charge, id, tgid, req.cache, status)
            .map_err(|e| Failure::new(e, FailureKind::Other))
    }

    /// Counts a failed allocation and keeps it as `last_failure`, with a census of the
    /// pool's pages outside cmabuf buffers when migration was what failed.
    fn record_failure(&self, bytes: u64, tgid: i32, failure: &Failure, migration: Migration) {
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
            pid: tgid,
            when: Instant::now(),
            migration,
            census,
        });
    }

    /// What the pool's pages outside cmabuf buffers are now (pools with a known base).
    fn census(&self) -> Option<Census> {
        let base_pfn = self.base? >> PAGE_SHIFT;
        let gaps: KVec<(u64, u64)> = {
            let usage = self.usage.lock();
            let mut gaps = KVec::new();
            for gap in self::gaps(&usage.ranges, self.total_pages()) {
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
    fn report_limit(&self, hit: LimitHit, tgid: i32, bytes: u64) {
        if !self.ratelimit.allow() {
            return;
        }
        let (property, parameter, limit) = match hit {
            LimitHit::Bytes(l) => ("cmabuf,max-bytes", "max_bytes", l),
            LimitHit::Buffers(l) => ("cmabuf,max-buffers", "max_buffers", l),
            LimitHit::ProcessBytes(l) => ("cmabuf,max-process-bytes", "max_process_bytes", l),
            LimitHit::ProcessBuffers(l) => ("cmabuf,max-process-buffers", "max_process_buffers", l),
        };
        pr_err!(
            "{}: pid {}: buffer of {} bytes refused: limit of {} reached (DT {}, module parameter {})\n",
            &*self.name,
            tgid,
            dec(bytes),
            dec(limit),
            property,
            parameter
        );
    }

    /// Frees buffer `id` of process `tgid`: gives its pages back to the area, or, if
    /// something still references them, keeps them out until it lets go.
    pub(crate) fn free(&self, id: u32, tgid: i32, mut pages: CmaPages) {
        let count = pages.count() as u64;
        if let Some(expires) = self.cache_expiry(count) {
            if pages.referenced() == 0 {
                let mut usage = self.usage.lock();
                if !usage.cache_closed && usage.cache.reserve(1, GFP_KERNEL).is_ok() {
                    usage.unreserve(tgid, count);
                    usage.forget_meta(id);
                    usage.frees += 1;
                    let cached = Cached {
                        id,
                        phys: pages.phys(),
                        pages,
                        count,
                        zeroed: false,
                        zeroing: false,
                        prepared: false,
                        expires,
                    };
                    // Cannot fail: room was reserved above.
                    let _ = usage.cache.push_within_capacity(cached);
                    drop(usage);
                    self.ticker.schedule(0);
                    return;
                }
            }
        }
        let busy = pages.try_release();
        let mut usage = self.usage.lock();
        usage.unreserve(tgid, count);
        usage.forget_meta(id);
        usage.frees += 1;
        match busy {
            Ok(()) => usage.forget_range(id),
            Err(busy) => {
                if self.ratelimit.allow() {
                    pr_err!(
                        "{}: buffer {} was freed while {} of its pages are still referenced (pinned for I/O, or in a pipe); they stay out of the pool until released\n",
                        &*self.name,
                        id,
                        busy
                    );
                }
                usage.used_pages += count;
                // Without room in the list the pages are dropped, and so lost for good.
                let _ = usage.stranded.push((id, pages), GFP_KERNEL);
            }
        }
        usage.retry_stranded();
    }

    /// Use of the pool now.
    pub(crate) fn snapshot(&self) -> UsageSnapshot {
        let mut usage = self.usage.lock();
        usage.retry_stranded();
        let held: u64 = usage.ranges.iter().map(|r| r.pages).sum();
        let free = self.total_pages().saturating_sub(held) << PAGE_SHIFT;
        UsageSnapshot {
            used: usage.used_pages << PAGE_SHIFT,
            free,
            largest_free: match self.base {
                Some(_) => largest_gap(&usage.ranges, self.total_pages()) << PAGE_SHIFT,
                None => free,
            },
            buffers: usage.buffers,
        }
    }

    /// `debugfs/cmabuf/<name>/info`: one `key: value` per line.
    pub(crate) fn write_info(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snap = self.snapshot();
        let usage = self.usage.lock();
        f.write_fmt(fmt!("name: {}\n", &*self.name))?;
        f.write_fmt(fmt!("device: {}\n", &*self.dev_name))?;
        f.write_fmt(fmt!("region: {}\n", &*self.region))?;
        f.write_fmt(fmt!("cma_area: {}\n", self.cma.name()))?;
        match self.base {
            Some(base) => f.write_fmt(fmt!("base: {:#x}\n", base))?,
            None => f.write_fmt(fmt!("base: unknown\n"))?,
        }
        f.write_fmt(fmt!("size: {}\n", dec(self.size)))?;
        f.write_fmt(fmt!("used: {}\n", dec(snap.used)))?;
        f.write_fmt(fmt!("free: {}\n", dec(snap.free)))?;
        f.write_fmt(fmt!("largest_free: {}\n", dec(snap.largest_free)))?;
        f.write_fmt(fmt!("buffers: {}\n", dec(snap.buffers)))?;
        f.write_fmt(fmt!("peak_used: {}\n", dec(usage.peak_pages << PAGE_SHIFT)))?;
        f.write_fmt(fmt!("allocations: {}\n", dec(usage.allocations)))?;
        f.write_fmt(fmt!("heap_allocations: {}\n", dec(usage.heap_allocations)))?;
        f.write_fmt(fmt!("frees: {}\n", dec(usage.frees)))?;
        let fl = &usage.failures;
        let failures = fl.invalid + fl.no_room + fl.busy + fl.limit + fl.dmem + fl.other;
        f.write_fmt(fmt!("failures: {}\n", dec(failures)))?;
        f.write_fmt(fmt!("failures_einval_invalid: {}\n", dec(fl.invalid)))?;
        f.write_fmt(fmt!("failures_enomem_no_room: {}\n", dec(fl.no_room)))?;
        f.write_fmt(fmt!("failures_ebusy_migration: {}\n", dec(fl.busy)))?;
        f.write_fmt(fmt!("failures_edquot_limit: {}\n", dec(fl.limit)))?;
        f.write_fmt(fmt!("failures_edquot_dmem: {}\n", dec(fl.dmem)))?;
        f.write_fmt(fmt!("failures_other: {}\n", dec(fl.other)))?;
        let m = &usage.migration;
        f.write_fmt(fmt!("migrated_pages: {}\n", dec(m.migrated)))?;
        f.write_fmt(fmt!("migrate_failed_pages: {}\n", dec(m.migrate_failed)))?;
        f.write_fmt(fmt!("compact_isolated: {}\n", dec(m.compact_isolated)))?;
        f.write_fmt(fmt!(
            "compact_migrate_scanned: {}\n",
            dec(m.compact_migrate_scanned)
        ))?;
        let limits = &self.limits;
        f.write_fmt(fmt!("max_bytes: {}\n", dec(limits.max_bytes)))?;
        f.write_fmt(fmt!("max_buffers: {}\n", dec(limits.max_buffers)))?;
        f.write_fmt(fmt!(
            "max_process_bytes: {}\n",
            dec(limits.max_process_bytes)
        ))?;
        f.write_fmt(fmt!(
            "max_process_buffers: {}\n",
            dec(limits.max_process_buffers)
        ))?;
        let stranded: u64 = usage.stranded.iter().map(|(_, p)| p.size()).sum();
        f.write_fmt(fmt!("stranded: {}\n", dec(stranded)))?;
        let cached: u64 = usage.cache.iter().map(|c| c.count << PAGE_SHIFT).sum();
        let prepared: u64 = usage
            .cache
            .iter()
            .filter(|c| c.prepared)
            .map(|c| c.count << PAGE_SHIFT)
            .sum();
        let cs = &usage.cache_stats;
        f.write_fmt(fmt!("cache_limit: {}\n", dec(crate::cache_parameters().0)))?;
        f.write_fmt(fmt!("cached: {}\n", dec(cached)))?;
        f.write_fmt(fmt!("cached_buffers: {}\n", usage.cache.len()))?;
        f.write_fmt(fmt!(
            "cached_unzeroed: {}\n",
            usage.cache.iter().filter(|c| !c.zeroed).count()
        ))?;
        f.write_fmt(fmt!("prepared: {}\n", dec(prepared)))?;
        f.write_fmt(fmt!("cache_hits: {}\n", dec(cs.hits)))?;
        f.write_fmt(fmt!("cache_misses: {}\n", dec(cs.misses)))?;
        f.write_fmt(fmt!("cache_zeroed: {}\n", dec(cs.zeroed)))?;
        f.write_fmt(fmt!("cache_released_idle: {}\n", dec(cs.released_idle)))?;
        f.write_fmt(fmt!(
            "cache_released_for_room: {}\n",
            dec(cs.released_for_room)
        ))?;
        f.write_fmt(fmt!("cache_released_unbind: {}\n", dec(cs.released_unbind)))?;
        f.write_fmt(fmt!(
            "cache_released_dropped: {}\n",
            dec(cs.released_dropped)
        ))?;
        f.write_fmt(fmt!(
            "cache_released_for_memory: {}\n",
            dec(cs.released_for_memory)
        ))?;
        f.write_fmt(fmt!("prepare_runs: {}\n", dec(cs.prepared)))
    }
}

impl Allocator {
    /// `debugfs/cmabuf/<name>/buffers`: one line per live buffer.
    pub(crate) fn write_buffers(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let usage = self.usage.lock();
        let base_pfn = self.base.unwrap_or(0) >> PAGE_SHIFT;
        f.write_str("id       size          phys_start          phys_end  cache         pid  comm              age_ms  maps  importers\n")?;
        for m in usage.meta.iter() {
            let Some(r) = usage.ranges.iter().find(|r| r.id == m.id) else {
                continue;
            };
            let start = (base_pfn + r.first) << PAGE_SHIFT;
            let end = start + (r.pages << PAGE_SHIFT) - 1;
            let comm_len = m.comm.iter().position(|&b| b == 0).unwrap_or(m.comm.len());
            let comm = core::str::from_utf8(&m.comm[..comm_len]).unwrap_or("?");
            f.write_fmt(fmt!(
                "{:<6} {:>10} {:#18x} {:#17x}  {:<12} {:>5}  {:<16} {:>7} {:>5}  ",
                m.id,
                dec(r.pages << PAGE_SHIFT),
                start,
                end,
                m.cache.name(),
                m.tgid,
                comm,
                dec(m.created.elapsed().as_millis()),
                mm::mapcount(base_pfn + r.first)
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

impl Usage {
    /// Gives back the pages of freed buffers that nothing references any more.
    fn retry_stranded(&mut self) {
        let mut i = 0;
        while i < self.stranded.len() {
            if self.stranded[i].1.try_release().is_err() {
                i += 1;
                continue;
            }
            if let Ok((id, pages)) = self.stranded.remove(i) {
                self.used_pages -= pages_of(&self.ranges, id);
                drop(pages);
                self.forget_range(id);
            }
        }
    }

    /// Drops buffer `id`'s range: its pages are back in the area.
    fn forget_range(&mut self, id: u32) {
        if let Some(pos) = self.ranges.iter().position(|r| r.id == id) {
            let _ = self.ranges.remove(pos);
        }
    }

    /// Drops what debugfs shows of buffer `id`.
    fn forget_meta(&mut self, id: u32) {
        if let Some(pos) = self.meta.iter().position(|m| m.id == id) {
            let _ = self.meta.remove(pos);
        }
    }

    /// Counts an allocation of `pages` for `tgid` in advance, unless a limit forbids it.
    fn reserve(&mut self, limits: &Limits, tgid: i32, pages: u64) -> Result<(), LimitHit> {
        let bytes = pages << PAGE_SHIFT;
        let over = |limit: u64, value: u64| limit != 0 && value > limit;
        if over(limits.max_bytes, (self.used_pages + pages) << PAGE_SHIFT) {
            return Err(LimitHit::Bytes(limits.max_bytes));
        }
        if over(limits.max_buffers, self.buffers + 1) {
            return Err(LimitHit::Buffers(limits.max_buffers));
        }
        let process = self.processes.iter().find(|p| p.tgid == tgid).copied();
        let process = process.unwrap_or(ProcessUsage {
            tgid,
            bytes: 0,
            buffers: 0,
        });
        if over(limits.max_process_bytes, process.bytes + bytes) {
            return Err(LimitHit::ProcessBytes(limits.max_process_bytes));
        }
        if over(limits.max_process_buffers, process.buffers + 1) {
            return Err(LimitHit::ProcessBuffers(limits.max_process_buffers));
        }
        match self.processes.iter_mut().find(|p| p.tgid == tgid) {
            Some(p) => {
                p.bytes += bytes;
                p.buffers += 1;
            }
            None => {
                // Without room to track the process its limits cannot hold: refuse.
                let entry = ProcessUsage {
                    bytes,
                    buffers: 1,
                    ..process
                };
                if self.processes.push(entry, GFP_KERNEL).is_err() {
                    return Err(LimitHit::ProcessBuffers(0));
                }
            }
        }
        self.used_pages += pages;
        self.buffers += 1;
        Ok(())
    }

    /// Undoes [`Usage::reserve`].
    fn unreserve(&mut self, tgid: i32, pages: u64) {
        self.used_pages -= pages;
        self.buffers -= 1;
        if let Some(pos) = self.processes.iter().position(|p| p.tgid == tgid) {
            let p = &mut self.processes[pos];
            p.bytes -= pages << PAGE_SHIFT;
            p.buffers -= 1;
            if p.buffers == 0 {
                self.processes.remove(pos).ok();
            }
        }
    }

    /// Records a new buffer's range and what debugfs shows of it; returns its id.
    fn record(&mut self, mut range: Range, mut meta: BufferMeta) -> Result<u32> {
        range.id = self.next_id;
        meta.id = self.next_id;
        self.meta.push(meta, GFP_KERNEL)?;
        if let Err(e) = self.insert_range(range) {
            self.forget_meta(range.id);
            return Err(e);
        }
        self.allocations += 1;
        Ok(range.id)
    }

    /// Inserts `range` (whose id is `next_id`) in order and moves `next_id` on.
    fn insert_range(&mut self, range: Range) -> Result {
        let pos = self
            .ranges
            .iter()
            .position(|r| r.first > range.first)
            .unwrap_or(self.ranges.len());
        self.ranges.reserve(1, GFP_KERNEL)?;
        self.ranges
            .insert_within_capacity(pos, range)
            .map_err(|_| ENOMEM)?;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        Ok(())
    }
}

/// The size in pages of buffer `id`'s range (0 if it has none).
fn pages_of(ranges: &[Range], id: u32) -> u64 {
    ranges.iter().find(|r| r.id == id).map_or(0, |r| r.pages)
}

/// The gaps between sorted `ranges` in a pool of `total` pages, as (first, end).
fn gaps(ranges: &[Range], total: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
    let ends = Iterator::chain(ranges.iter().map(|r| r.first), core::iter::once(total));
    let starts = Iterator::chain(
        core::iter::once(0),
        ranges.iter().map(|r| r.first + r.pages),
    );
    starts.zip(ends).filter(|(s, e)| e > s)
}

/// The largest run of pages outside `ranges`.
fn largest_gap(ranges: &[Range], total: u64) -> u64 {
    gaps(ranges, total).map(|(s, e)| e - s).max().unwrap_or(0)
}

/// Whether `pages` pages aligned to `1 << order` pages (of physical page frames; the
/// pool starts at frame `base_pfn`) fit in a gap between `ranges`.
fn fits(ranges: &[Range], total: u64, base_pfn: u64, pages: u64, order: u32) -> bool {
    let align = 1u64 << order;
    gaps(ranges, total).any(|(s, e)| {
        let start = (base_pfn + s).next_multiple_of(align) - base_pfn;
        start.checked_add(pages).is_some_and(|end| end <= e)
    })
}

#[kunit_tests(cmabuf_allocator)]
mod tests {
    use super::*;

    fn r(first: u64, pages: u64) -> Range {
        Range {
            id: 1,
            first,
            pages,
        }
    }

    #[test]
    fn empty_pool_is_one_gap() {
        assert_eq!(largest_gap(&[], 100), 100);
        assert!(fits(&[], 100, 0, 100, 0));
        assert!(!fits(&[], 100, 0, 101, 0));
    }

    #[test]
    fn largest_gap_between_buffers() {
        let ranges = [r(0, 10), r(30, 10), r(50, 45)];
        assert_eq!(largest_gap(&ranges, 100), 20);
        assert!(fits(&ranges, 100, 0, 20, 0));
        assert!(!fits(&ranges, 100, 0, 21, 0));
        assert_eq!(largest_gap(&[r(0, 100)], 100), 0);
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
}
