// SPDX-License-Identifier: GPL-2.0

//! The warm cache: freed buffers' runs kept for the next allocation of their size, and
//! runs evacuated in advance by `CMABUF_IOC_PREPARE` ([`super::prepare`]). The background
//! work (the [`Ticker`]) zeroes freed runs and gives back those whose time is up; the
//! shrinker gives runs back under memory pressure.

use super::{ledger::Ledger, ranges::swap_remove, stranded::Stranded, Allocator, STRANDED_POLL_MS};
use crate::{
    ffi::{
        self,
        tracing,
        CmaPages,
        DmemCharge,
        ModuleRef,
        PidRef,
        Ticker, //
    },
    stats::nanos_since,
    uapi::PREPARE_MAX_MS,
};
use kernel::{
    page::PAGE_SHIFT,
    prelude::*,
    time::{
        Delta,
        Instant,
        Monotonic, //
    },
};

crate::ffi_has_ticker!(Allocator, ticker);

/// The ticker runs [`Allocator::cache_tick`].
impl ffi::Tick for Allocator {
    fn tick(&self) -> Option<u32> {
        self.cache_tick()
    }
}

/// The pool's shrinker gives cached runs back under memory pressure.
impl ffi::Shrink for Allocator {
    fn count(&self) -> u64 {
        self.cache_shrink_count()
    }

    fn scan(&self, want: u64) -> Option<u64> {
        self.cache_shrink(want)
    }
}

/// When a cached run goes back to the system unless used first.
pub(super) type Expiry = Instant<Monotonic>;

/// When a run kept now for `ms` milliseconds expires.
pub(super) fn expiry_in(ms: u32) -> Expiry {
    Instant::now() + Delta::from_millis(i64::from(ms))
}

/// How often an allocation that finds a run being zeroed in its way waits for the
/// background work to finish (`flush_delayed_work`) before it gives up. Each wait ends
/// the zeroing of that run; only runs freed into the way meanwhile could need more.
pub(super) const ZEROING_FLUSHES: u32 = 8;

/// Why cached runs went back to the CMA area.
#[derive(Clone, Copy)]
pub(super) enum CacheRelease {
    Idle,
    ForRoom,
    Unbind,
    Dropped,
    ForMemory,
}

impl CacheRelease {
    /// The reason's name in the `cmabuf_cache_release` trace event (the suffix of its
    /// `cache_released_*` counter in debugfs).
    fn name(self) -> &'static CStr {
        match self {
            Self::Idle => c"idle",
            Self::ForRoom => c"for_room",
            Self::Unbind => c"unbind",
            Self::Dropped => c"dropped",
            Self::ForMemory => c"for_memory",
        }
    }
}

/// Who a prepared run is charged to until it is allocated or expires.
pub(super) struct Prepared {
    pub(super) owner: PidRef,
    pub(super) dmem: DmemCharge,
    /// The `CMABUF_IOC_RESERVE` reservation the run was evacuated for: only an
    /// allocation naming it takes the run, and neither the shrinker nor `drop` gives
    /// it back before it expires.
    pub(super) reservation: Option<u64>,
}

impl Cached {
    /// Whether the run was evacuated for a reservation (promised to it).
    pub(super) fn reserved(&self) -> bool {
        self.prepared
            .as_ref()
            .is_some_and(|p| p.reservation.is_some())
    }

    /// Whether the run was evacuated for reservation `tag`.
    pub(super) fn reserved_for(&self, tag: u64) -> bool {
        self.prepared
            .as_ref()
            .is_some_and(|p| p.reservation == Some(tag))
    }
}

/// A run of the pool kept in the warm cache. Its range stays in `Ledger::places` under
/// `id`, so the pool's own count of free runs never offers it to `cma_alloc`.
pub(super) struct Cached {
    pub(super) id: u32,
    /// Empty while the background work zeroes the run (`zeroing`).
    pub(super) pages: CmaPages,
    /// Size in pages, physical address and place in the pool of the run.
    pub(super) count: u64,
    pub(super) phys: u64,
    pub(super) first: u64,
    /// Zeroed since it was freed (the background work does it).
    pub(super) zeroed: bool,
    /// The background work holds the pages now: nobody else may touch the entry.
    pub(super) zeroing: bool,
    /// From `CMABUF_IOC_PREPARE` (and charged to its caller), not from a freed buffer.
    pub(super) prepared: Option<Prepared>,
    /// When it goes back to the system unless used first.
    pub(super) expires: Expiry,
}

impl Cached {
    /// Whether the run has the size of an allocation of `pages` and its alignment
    /// (`1 << order` pages).
    pub(super) fn serves(&self, pages: u64, order: u32) -> bool {
        self.count == pages && (self.phys >> PAGE_SHIFT) % (1u64 << order) == 0
    }
}

/// What the warm cache did, for debugfs.
#[derive(Default)]
pub(super) struct CacheStats {
    pub(super) hits: u64,
    pub(super) misses: u64,
    pub(super) zeroed: u64,
    pub(super) released_idle: u64,
    pub(super) released_for_room: u64,
    pub(super) released_unbind: u64,
    pub(super) released_dropped: u64,
    pub(super) released_for_memory: u64,
    pub(super) prepared: u64,
}

/// Whether cached runs in the way of an allocation could all be given back.
pub(super) enum Cleared {
    Yes,
    /// One is being zeroed by the background work: try again in a moment.
    Zeroing,
}

impl Allocator {
    /// When a freed buffer of `pages` pages would leave the warm cache, if it may enter:
    /// the cache is on (`cache_bytes`) and has room for it. The freshest run wins: older
    /// freed runs make room for it; runs being zeroed cannot, and then it does not enter.
    pub(super) fn cache_expiry(&self, ledger: &mut Ledger, pages: u64) -> Option<Expiry> {
        let (limit, idle_ms) = crate::params::cache_parameters();
        if limit == 0 || pages << PAGE_SHIFT > limit || ledger.cache_closed {
            return None;
        }
        while (ledger.freed_cached_pages() + pages) << PAGE_SHIFT > limit {
            // Give back the run that would expire first (freed longest ago).
            let oldest = ledger
                .cache
                .iter()
                .filter(|c| c.prepared.is_none() && !c.zeroing)
                .map(|c| (c.id, c.expires))
                .reduce(|a, b| if (b.1 - a.1).as_nanos() < 0 { b } else { a })
                .map(|(id, _)| id)?;
            ledger.release_cached(|c| c.id == oldest, CacheRelease::ForRoom);
        }
        Some(expiry_in(idle_ms))
    }

    /// The background work: zeroes the cached runs freed since, gives back those whose
    /// time is up and stranded pages let go since, and says when to run again (ms).
    pub(crate) fn cache_tick(&self) -> Option<u32> {
        loop {
            // Take the pages of one unzeroed run; the entry stays, marked `zeroing`, so
            // the cache's size and the pool's ranges stay right, and nobody else uses it.
            let job = {
                let mut ledger = self.ledger.lock();
                ledger
                    .cache
                    .iter_mut()
                    .find(|c| !c.zeroed && !c.zeroing)
                    .map(|c| {
                        c.zeroing = true;
                        (c.id, c.pages.take())
                    })
            };
            let Some((id, pages)) = job else { break };
            let start = Instant::<Monotonic>::now();
            let zeroed = pages.clear().is_ok();
            let ns = nanos_since(start);
            tracing::cache_zeroed(&self.name, pages.size(), ns, zeroed);
            let mut ledger = self.ledger.lock();
            ledger.cache_stats.zeroed += u64::from(zeroed);
            let bytes = if zeroed { pages.size() } else { 0 };
            ledger.profile.add_bg_zero(ns, bytes);
            if let Some(c) = ledger.cache.iter_mut().find(|c| c.id == id) {
                c.pages = pages;
                c.zeroing = false;
                c.zeroed = zeroed;
            }
        }
        let now = Instant::<Monotonic>::now();
        let mut ledger = self.ledger.lock();
        ledger.release_cached(|c| (c.expires - now).as_nanos() <= 0, CacheRelease::Idle);
        ledger.retry_stranded();
        let now = Instant::<Monotonic>::now();
        let next = ledger
            .cache
            .iter()
            .map(|c| {
                (c.expires - now)
                    .as_millis()
                    .clamp(1, i64::from(PREPARE_MAX_MS)) as u32
            })
            .min();
        if ledger.stranded.is_empty() {
            next
        } else {
            Some(next.map_or(STRANDED_POLL_MS, |n| n.min(STRANDED_POLL_MS)))
        }
    }

    /// Pages in the warm cache, for the shrinker (0 when the lock is taken: reclaim
    /// may have started under it).
    pub(crate) fn cache_shrink_count(&self) -> u64 {
        self.ledger.try_lock().map_or(0, |ledger| {
            ledger
                .cache
                .iter()
                .filter(|c| !c.reserved())
                .map(|c| c.count)
                .sum()
        })
    }

    /// Gives cached runs back until `want` pages went, for the shrinker; `None` when
    /// the lock is taken. Allocates nothing: it runs in reclaim.
    pub(crate) fn cache_shrink(&self, want: u64) -> Option<u64> {
        let mut ledger = self.ledger.try_lock()?;
        let mut freed = 0;
        while freed < want {
            let Some(id) = ledger
                .cache
                .iter()
                .find(|c| !c.zeroing && !c.reserved())
                .map(|c| c.id)
            else {
                break;
            };
            freed += ledger.release_cached(|c| c.id == id, CacheRelease::ForMemory);
        }
        Some(freed)
    }

    /// `echo drop > debugfs/cmabuf/<name>/cache`: gives every cached run back now, but
    /// those promised to a reservation (its fd's close or expiry gives them back).
    pub(crate) fn drop_cache(&self) {
        for _ in 0..ZEROING_FLUSHES {
            let mut ledger = self.ledger.lock();
            ledger.release_cached(|c| !c.reserved(), CacheRelease::Dropped);
            if !ledger.cache.iter().any(|c| c.zeroing) {
                break;
            }
            drop(ledger);
            self.ticker.flush();
        }
    }

    /// Gives every cached run back, waiting for the background work to finish zeroing
    /// runs it holds.
    pub(super) fn release_all_cached(&self, why: CacheRelease) {
        for _ in 0..ZEROING_FLUSHES {
            let mut ledger = self.ledger.lock();
            ledger.release_cached(|_| true, why);
            if ledger.cache.is_empty() {
                break;
            }
            drop(ledger);
            self.ticker.flush();
        }
    }

    /// Keeps the pages of buffer `id`, just freed by `owner`, in the warm cache if they
    /// may enter it (see [`Allocator::cache_expiry`]); gives them back otherwise.
    pub(super) fn cache_freed(
        &self,
        ledger: &mut Ledger,
        id: u32,
        owner: &PidRef,
        pages: CmaPages,
    ) -> Option<CmaPages> {
        if pages.referenced() != 0 {
            return Some(pages);
        }
        let Some(expires) = self.cache_expiry(ledger, pages.count() as u64) else {
            return Some(pages);
        };
        if ledger.cache.reserve(1, GFP_KERNEL).is_err() {
            return Some(pages);
        }
        let count = pages.count() as u64;
        let first = pages.pfn() - self.base_pfn();
        ledger.unreserve(Some(owner), count);
        ledger.forget_meta(id);
        ledger.places.set_cached(first, true);
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
        let _ = ledger.cache.push_within_capacity(cached);
        None
    }
}

impl Ledger {
    /// Freed pages in the warm cache, charged to nobody.
    pub(super) fn freed_cached_pages(&self) -> u64 {
        self.cache
            .iter()
            .filter(|c| c.prepared.is_none())
            .map(|c| c.count)
            .sum()
    }

    /// The cache entry that best serves an allocation of `pages` aligned to
    /// `1 << order` pages: a run `preparer` prepared, then a zeroed one; an unzeroed
    /// one still saves the migration. Another process's prepared run is its own, and a
    /// run being zeroed is the background work's.
    pub(super) fn cache_find(
        &self,
        pages: u64,
        order: u32,
        preparer: Option<&PidRef>,
    ) -> Option<usize> {
        let fits = |c: &Cached| !c.zeroing && c.serves(pages, order);
        let mine = |c: &Cached| {
            c.prepared
                .as_ref()
                .zip(preparer)
                .is_some_and(|(p, who)| p.owner.same(who) && p.reservation.is_none())
        };
        let free = |c: &Cached| fits(c) && c.prepared.is_none();
        let cache = &self.cache;
        cache
            .iter()
            .position(|c| fits(c) && mine(c))
            .or_else(|| cache.iter().position(|c| free(c) && c.zeroed))
            .or_else(|| cache.iter().position(free))
    }

    /// The run of reservation `tag` that serves an allocation of `pages` aligned to
    /// `1 << order` pages, if one is left.
    pub(super) fn cache_find_reserved(&self, pages: u64, order: u32, tag: u64) -> Option<usize> {
        self.cache
            .iter()
            .position(|c| c.reserved_for(tag) && c.serves(pages, order))
    }

    /// Whether a freed run that would serve an allocation of `pages` aligned to
    /// `1 << order` pages is being zeroed by the background work right now: waiting for
    /// the rest of its zeroing costs less than a new run's migration and zeroing.
    pub(super) fn cache_zeroing_serves(&self, pages: u64, order: u32) -> bool {
        self.cache
            .iter()
            .any(|c| c.zeroing && c.prepared.is_none() && c.serves(pages, order))
    }

    /// Removes cache entry `pos` (the cache has no order).
    pub(super) fn cache_take(&mut self, pos: usize) -> Option<Cached> {
        swap_remove(&mut self.cache, pos)
    }

    /// Puts back, as it was, an entry just taken with [`Ledger::cache_take`] (the
    /// cache still has room for it); were it not so, the run goes back to the area.
    pub(super) fn cache_restore(&mut self, c: Cached) {
        if let Err(err) = self.cache.push_within_capacity(c) {
            self.release_run(err.0);
        }
    }

    /// Puts back a run taken from the cache for an allocation that failed: uncharged
    /// now, it expires anew. If it cannot be kept, it goes back to the area.
    pub(super) fn cache_put_back(&mut self, mut c: Cached, ticker: Option<&Ticker<Allocator>>) {
        let (_, idle_ms) = crate::params::cache_parameters();
        c.expires = expiry_in(idle_ms);
        let was_prepared = c.prepared.is_some();
        self.places.set_cached(c.first, !was_prepared);
        if self.cache_closed || self.cache.reserve(1, GFP_KERNEL).is_err() {
            self.release_run(c);
            return;
        }
        // Cannot fail: room was reserved above.
        let _ = self.cache.push_within_capacity(c);
        if let Some(ticker) = ticker {
            ticker.schedule(0);
        }
    }

    /// Gives a run taken out of the cache back to the area (see
    /// [`Ledger::release_or_strand`]), with its charges if it was prepared.
    pub(super) fn release_run(&mut self, c: Cached) {
        let owner = c.prepared.map(|p| p.owner);
        self.release_or_strand(c.id, c.first, c.pages, owner);
    }

    /// Gives a run back to the area with its range, or keeps it as stranded if
    /// something references its pages. `owner` is who a prepared run was charged to.
    pub(super) fn release_or_strand(
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
        self.places.set_cached(first, false);
        if owner.is_none() {
            // A freed run charged to nobody: count it, as an adopted orphan.
            self.used_pages += count;
        }
        self.keep_stranded(Stranded {
            in_arena: false,
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
    pub(super) fn release_cached(
        &mut self,
        which: impl Fn(&Cached) -> bool,
        why: CacheRelease,
    ) -> u64 {
        let mut pages = 0;
        let mut i = 0;
        while i < self.cache.len() {
            if self.cache[i].zeroing || !which(&self.cache[i]) {
                i += 1;
                continue;
            }
            let Some(c) = self.cache_take(i) else { break };
            pages += c.count;
            let prepared = c.prepared.is_some();
            tracing::cache_release(&self.pool, c.count << PAGE_SHIFT, why.name(), prepared);
            self.release_run(c);
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
    pub(super) fn clear_freed_cached(&mut self, which: impl Fn(&Cached) -> bool) -> Cleared {
        let selected = |c: &Cached| c.prepared.is_none() && which(c);
        self.release_cached(selected, CacheRelease::ForRoom);
        if self.cache.iter().any(|c| c.zeroing && selected(c)) {
            Cleared::Zeroing
        } else {
            Cleared::Yes
        }
    }
}
