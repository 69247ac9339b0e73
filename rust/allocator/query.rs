// SPDX-License-Identifier: GPL-2.0

//! `CMABUF_IOC_QUERY`: how `count` allocations of one size would go now, found by playing
//! them through the allocator's own steps against the books, without allocating.
//!
//! Each simulated allocation takes the steps of `try_alloc`, in its order:
//!
//! 0. a small buffer (`Arena::serves`), the pool's small-buffer arena if it has one
//!    and a run of it is free: the limits (`EDQUOT`), then the first fit among its
//!    pages (a copy of its books takes the simulated ones); no migration;
//! 1. the warm cache (`cache_find`'s order: the caller's prepared run, a zeroed freed
//!    run, any freed run of the size and alignment), charged unless prepared;
//! 2. `make_room`: the first fit among the held runs (and the runs taken by the earlier
//!    simulated allocations); none is `ENOMEM`; freed cached runs there are given back;
//! 3. the limits (`EDQUOT`);
//! 4. `cma_alloc`: the lowest free run from that place on, with the freed cached runs
//!    still in the area's bitmap; a run with a page that cannot be migrated (pinned,
//!    unmovable, reserved) fails and `cma_alloc` tries the next aligned start, so every
//!    start up to that page fails alike and the search goes on past it; when nothing is
//!    found, every freed cached run is given back and the search starts again from the
//!    bottom; nothing then is `EBUSY`.
//!
//! The runs simulated allocations take are kept in an overlay (a red-black tree); the
//! books are only read, under the ledger's lock, as an allocation reads them. The
//! pages of each place tried are looked at with the census (`mm::census`), each place
//! once: a page found blocking is remembered, and the search never goes below a
//! place that can no longer serve (`floor`), so the cost is O(count · log n) lookups
//! plus the census of the places tried.
//!
//! The pool's default CMA area has no known place: only free bytes, the warm cache and
//! the limits are simulated there (`CMABUF_QUERY_BYTES_ONLY`).
//!
//! An answer, not a promise: pages outside cmabuf's runs belong to the system, which may
//! lend, pin or free them a moment after they were looked at, and other processes may
//! allocate or free meanwhile. The dmem cgroup's `dmem.max` is not simulated.

use super::{
    arena::{
        Arena,
        ArenaMap, //
    },
    cache::Cached,
    ledger::{
        Ahead,
        Ledger,
        LimitHit, //
    },
    ranges, Allocator,
};
use crate::{
    ffi::{
        mm,
        Census,
        PidRef, //
    },
    region::Limits,
    uapi::{
        edquot,
        QueryRequest, //
    },
};
use kernel::{
    prelude::*,
    rbtree::{
        RBTree,
        RBTreeNode, //
    },
};

/// What `CMABUF_IOC_QUERY` answers (`struct cmabuf_query`'s out fields).
#[derive(Default)]
pub(crate) struct QueryAnswer {
    /// How many of the allocations succeed, in a row.
    pub(crate) fit: u32,
    /// Of those, how many move no page.
    pub(crate) fit_without_migration: u32,
    /// Movable pages in the runs they take.
    pub(crate) pages_to_move: u64,
    /// Places tried and given up for a page that cannot be migrated.
    pub(crate) blocked_runs: u32,
    /// Of the `fit`, how many the warm cache serves.
    pub(crate) cache_hits: u32,
    /// Pages that cannot be migrated in the pool outside cmabuf's runs, now.
    pub(crate) blocking_pages: u64,
    /// Why the allocation after the `fit` fails; `None` if all fit.
    pub(crate) stop: Option<Error>,
    /// The pool's place is unknown: bytes only.
    pub(crate) bytes_only: bool,
}

/// A warm-cache entry in the simulation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// As in the books.
    Kept,
    /// Served a simulated allocation.
    Taken,
    /// Given back to the area to make room.
    Released,
}

/// How a simulated allocation ends.
enum Step {
    Served,
    Fails(Error),
}

/// A place found for a simulated allocation.
struct Found {
    first: u64,
    movable: u64,
    /// Whether a freed cached run was stepped over to find it (the place below it may
    /// serve once that run is given back).
    past_cache: bool,
}

struct Simulation<'a> {
    ledger: &'a Ledger,
    limits: &'a Limits,
    census: fn(&mut Census, u64, u64),
    owner: &'a PidRef,
    /// Pages in the pool, its first page frame (when known), and the request.
    total: u64,
    base_pfn: Option<u64>,
    pages: u64,
    order: u32,
    /// One for each entry of `ledger.cache`, in its order.
    fates: KVec<Fate>,
    /// Runs taken by simulated allocations: first page to end.
    taken: RBTree<u64, u64>,
    /// Pages found to block migration (from the pool's first page).
    blockers: RBTree<u64, ()>,
    /// No place below this page can serve any more (held, taken or blocked).
    floor: u64,
    /// No place below this page is free of held and taken runs (`make_room`'s search
    /// ignores pages: a place given up for a pinned page still counts as room).
    room_floor: u64,
    ahead: Ahead,
    /// A copy of the small-buffer arena's books, if the pool has one and the request
    /// goes there.
    arena: Option<ArenaMap>,
    answer: QueryAnswer,
}

impl Allocator {
    /// Simulates `req.count` allocations by `owner` now: see the module's comment.
    pub(crate) fn query(&self, req: &QueryRequest, owner: &PidRef) -> Result<QueryAnswer> {
        self.ensure_bound()?;
        let mut ledger = self.ledger.lock();
        // As `alloc` does first: stranded pages let go since are free room.
        ledger.retry_stranded();
        let pool = Pool {
            total: self.total_pages(),
            base_pfn: self.base.map(|_| self.base_pfn()),
            limits: &self.limits,
            census: mm::census,
        };
        simulate(&ledger, &pool, owner, req)
    }
}

/// What the simulation needs of the pool besides its books.
struct Pool<'a> {
    /// Pages in the pool.
    total: u64,
    /// Its first page frame, when known.
    base_pfn: Option<u64>,
    limits: &'a Limits,
    /// How pages are looked at: `mm::census` (KUnit passes a pretend one).
    census: fn(&mut Census, u64, u64),
}

/// Plays `req` through against `ledger`, for `owner`.
fn simulate(
    ledger: &Ledger,
    pool: &Pool<'_>,
    owner: &PidRef,
    req: &QueryRequest,
) -> Result<QueryAnswer> {
    let mut fates = KVec::with_capacity(ledger.cache.len(), GFP_KERNEL)?;
    for _ in 0..ledger.cache.len() {
        fates.push(Fate::Kept, GFP_KERNEL)?;
    }
    let mut sim = Simulation {
        ledger,
        limits: pool.limits,
        census: pool.census,
        owner,
        total: pool.total,
        base_pfn: pool.base_pfn,
        pages: req.pages as u64,
        order: req.align_order,
        fates,
        taken: RBTree::new(),
        blockers: RBTree::new(),
        floor: 0,
        room_floor: 0,
        ahead: Ahead::default(),
        arena: None,
        answer: QueryAnswer::default(),
    };
    if let Some(arena) = ledger.arena.as_ref() {
        if Arena::serves(sim.pages, sim.order) {
            sim.arena = Some(arena.map.try_clone()?);
        }
    }
    sim.answer.bytes_only = sim.base_pfn.is_none();
    sim.answer.blocking_pages = sim.blocking_now();
    for _ in 0..req.count {
        if let Step::Fails(e) = sim.step()? {
            sim.answer.stop = Some(e);
            break;
        }
    }
    Ok(sim.answer)
}

impl Simulation<'_> {
    /// One allocation, as `try_alloc` makes it.
    fn step(&mut self) -> Result<Step> {
        let ledger = self.ledger;
        let pages = self.pages;
        if self
            .arena
            .as_ref()
            .is_some_and(|a| a.first_fit(pages).is_some())
        {
            if let Some(e) = self.refused() {
                return Ok(Step::Fails(e));
            }
            if let Some(arena) = self.arena.as_mut() {
                // first_fit said it fits: taking it cannot fail.
                let _ = arena.alloc(pages);
            }
            self.answer.fit += 1;
            self.answer.fit_without_migration += 1;
            return Ok(Step::Served);
        }
        if let Some(i) = self.cache_hit() {
            let c = &ledger.cache[i];
            if c.prepared.is_none() {
                if let Some(e) = self.refused() {
                    return Ok(Step::Fails(e));
                }
            }
            let (first, end) = (c.first, c.first + c.count);
            self.fates[i] = Fate::Taken;
            if self.base_pfn.is_some() {
                self.take(first, end)?;
            }
            self.answer.fit += 1;
            self.answer.cache_hits += 1;
            self.answer.fit_without_migration += 1;
            return Ok(Step::Served);
        }
        let Some(base_pfn) = self.base_pfn else {
            return Ok(self.step_bytes_only());
        };
        // make_room: the first fit among held and taken runs.
        let Some(room) = self
            .fit_from(self.room_floor, false)
            .map(|(first, _)| first)
        else {
            return Ok(Step::Fails(ENOMEM));
        };
        self.room_floor = room;
        let end = room + self.pages;
        self.release(|c| c.first < end && room < c.first + c.count);
        if let Some(e) = self.refused() {
            return Ok(Step::Fails(e));
        }
        // cma_alloc: freed cached runs still in the bitmap; then, after they are given
        // back, from the bottom again.
        let found = match self.search(base_pfn, room.max(self.floor), true)? {
            Some(found) => Some(found),
            None => {
                self.release(|_| true);
                self.search(base_pfn, self.floor, false)?
            }
        };
        let Some(found) = found else {
            return Ok(Step::Fails(EBUSY));
        };
        self.take(found.first, found.first + self.pages)?;
        // Everything below the place found is held, taken or blocked, unless a freed
        // cached run was stepped over: then only what lies below `room` is.
        self.floor = if found.past_cache {
            room.max(self.floor)
        } else {
            found.first + self.pages
        };
        self.answer.fit += 1;
        self.answer.pages_to_move += found.movable;
        if found.movable == 0 {
            self.answer.fit_without_migration += 1;
        }
        Ok(Step::Served)
    }

    /// The default area: free bytes only (`make_room`'s count), then the limits.
    fn step_bytes_only(&mut self) -> Step {
        let used = self.ledger.used_pages + self.ahead.pages;
        if used + self.pages > self.total {
            return Step::Fails(ENOMEM);
        }
        let cached: u64 = self.kept_freed().map(|(_, c)| c.count).sum();
        if used + cached + self.pages > self.total {
            self.release(|_| true);
        }
        if let Some(e) = self.refused() {
            return Step::Fails(e);
        }
        self.answer.fit += 1;
        Step::Served
    }

    /// The cache entry `cache_find` would take (a run being zeroed is waited for).
    fn cache_hit(&self) -> Option<usize> {
        let cache = &self.ledger.cache;
        let kept = |i: usize| self.fates[i] == Fate::Kept;
        let fits = |i: usize, c: &Cached| kept(i) && c.serves(self.pages, self.order);
        // As `cache_find`: a run promised to a reservation is only that one's.
        let mine = |c: &Cached| {
            c.prepared
                .as_ref()
                .is_some_and(|p| p.owner.same(self.owner) && p.reservation.is_none())
        };
        let free = |i: usize, c: &Cached| fits(i, c) && c.prepared.is_none();
        let find = |f: &dyn Fn(usize, &Cached) -> bool| {
            cache.iter().enumerate().position(|(i, c)| f(i, c))
        };
        find(&|i, c| fits(i, c) && mine(c))
            .or_else(|| find(&|i, c| free(i, c) && c.zeroed))
            .or_else(|| find(&free))
    }

    /// The freed (not prepared) cache entries still in the books, with their index.
    fn kept_freed(&self) -> impl Iterator<Item = (usize, &Cached)> + '_ {
        self.ledger
            .cache
            .iter()
            .enumerate()
            .filter(|(i, c)| self.fates[*i] == Fate::Kept && c.prepared.is_none())
    }

    /// Gives back the freed cached runs `which` selects.
    fn release(&mut self, which: impl Fn(&Cached) -> bool) {
        for (i, c) in self.ledger.cache.iter().enumerate() {
            if self.fates[i] == Fate::Kept && c.prepared.is_none() && which(c) {
                self.fates[i] = Fate::Released;
            }
        }
    }

    /// The limit the next allocation would break (`Ledger::reserve`), counting the
    /// simulated ones; else counts it as ahead.
    fn refused(&mut self) -> Option<Error> {
        match self
            .ledger
            .check_limits(self.limits, self.owner, self.pages, self.ahead)
        {
            Ok(_) => {
                self.ahead.pages += self.pages;
                self.ahead.buffers += 1;
                None
            }
            Err(LimitHit::NoMemory) => Some(ENOMEM),
            Err(_) => Some(edquot()),
        }
    }

    /// Records the run `first..end` as taken by a simulated allocation.
    fn take(&mut self, first: u64, end: u64) -> Result {
        let node = RBTreeNode::new(first, end, GFP_KERNEL)?;
        self.taken.insert(node);
        Ok(())
    }

    /// The end of the taken run that overlaps `first..first + pages`, if one does.
    fn taken_over(&self, first: u64) -> Option<u64> {
        let end = first + self.pages;
        // The last taken run starting before `end`: runs do not overlap, so if it ends
        // by `first` every run before it does too.
        let last = match self.taken.cursor_lower_bound(&end) {
            Some(cursor) => cursor.peek_prev().map(|(_, e)| *e),
            None => self.taken.cursor_back().map(|c| *c.current().1),
        };
        last.filter(|&e| e > first)
    }

    /// The end of a freed cached run still in the area's bitmap that overlaps
    /// `first..first + pages`, if one does.
    fn cached_over(&self, first: u64) -> Option<u64> {
        let end = first + self.pages;
        self.kept_freed()
            .filter(|(_, c)| c.first < end && first < c.first + c.count)
            .map(|(_, c)| c.first + c.count)
            .max()
    }

    /// The lowest place from page `from` on that fits among held and taken runs (and,
    /// with `in_bitmap`, freed cached runs too); whether a cached run was stepped over.
    fn fit_from(&self, mut from: u64, in_bitmap: bool) -> Option<(u64, bool)> {
        let base_pfn = self.base_pfn?;
        let mut past_cache = false;
        loop {
            let first = self
                .ledger
                .places
                .first_fit_from(self.total, base_pfn, self.pages, self.order, from)?;
            if let Some(end) = self.taken_over(first) {
                from = end;
            } else if let Some(end) = in_bitmap.then(|| self.cached_over(first)).flatten() {
                from = end;
                past_cache = true;
            } else {
                return Some((first, past_cache));
            }
        }
    }

    /// `cma_alloc`'s search from page `from` on: the lowest place that fits and whose
    /// pages can all be migrated.
    fn search(&mut self, base_pfn: u64, mut from: u64, in_bitmap: bool) -> Result<Option<Found>> {
        let mut past_cache = false;
        loop {
            let Some((first, past)) = self.fit_from(from, in_bitmap) else {
                return Ok(None);
            };
            past_cache |= past;
            let blocker = match self.known_blocker(first) {
                Some(b) => Some(b),
                None => {
                    let (movable, blocker) = self.look(base_pfn, first);
                    match blocker {
                        None => {
                            return Ok(Some(Found {
                                first,
                                movable,
                                past_cache,
                            }))
                        }
                        Some(b) => {
                            self.blockers.insert(RBTreeNode::new(b, (), GFP_KERNEL)?);
                            Some(b)
                        }
                    }
                }
            };
            if let Some(b) = blocker {
                // Every start up to the blocking page fails alike; cma_alloc goes on.
                self.answer.blocked_runs += 1;
                from = b + 1;
            }
        }
    }

    /// A page already found blocking in `first..first + pages`.
    fn known_blocker(&self, first: u64) -> Option<u64> {
        let cursor = self.blockers.cursor_lower_bound(&first)?;
        let b = *cursor.current().0;
        (b < first + self.pages).then_some(b)
    }

    /// The movable pages of the place at `first` and its first page that blocks
    /// migration (from the pool's first page), by census.
    fn look(&self, base_pfn: u64, first: u64) -> (u64, Option<u64>) {
        let (start, end) = (base_pfn + first, base_pfn + first + self.pages);
        let mut census = Census::default();
        (self.census)(&mut census, start, self.pages);
        let movable = census.movable();
        let mut blocking = census.blocking();
        // The census keeps only the first few odd pages: look again past them until
        // the first blocking one shows (or, the pages changing meanwhile, none does).
        let mut at = start;
        while blocking > 0 && at < end {
            match census.first_blocking_sample() {
                Ok(pfn) => return (movable, Some(pfn - base_pfn)),
                Err(None) => break,
                Err(Some(last)) => at = last + 1,
            }
            census = Census::default();
            if at < end {
                (self.census)(&mut census, at, end - at);
            }
            blocking = census.blocking();
        }
        (movable, None)
    }

    /// Pages that cannot be migrated in the pool outside cmabuf's runs (held or cached).
    fn blocking_now(&self) -> u64 {
        let Some(base_pfn) = self.base_pfn else {
            return 0;
        };
        let mut census = Census::default();
        for (start, end) in ranges::gaps(self.ledger.places.iter(), self.total) {
            (self.census)(&mut census, base_pfn + start, end - start);
        }
        census.blocking()
    }
}

#[kunit_tests(cmabuf_query)]
mod tests {
    use super::*;
    use crate::allocator::ranges::Range;
    use kernel::str::CString;

    // No `assert_eq!`: its message formats `u64`s in decimal, which 32-bit ARM cannot
    // link (no 64-bit division in the kernel).

    /// Pretend pages: every 127th is pinned, every third of the others movable. (The
    /// test's frames fit in 32 bits: 32-bit ARM has no 64-bit division.)
    fn pinned(pfn: u64) -> bool {
        pfn as u32 % 127 == 50
    }
    fn movable(pfn: u64) -> bool {
        pfn as u32 % 3 == 0
    }
    fn pretend_census(census: &mut Census, pfn: u64, count: u64) {
        for p in pfn..pfn + count {
            census.pretend(p, movable(p), pinned(p));
        }
    }

    /// What `cma_alloc` does, the slow way: every aligned start from the bottom, until
    /// a run is free of cmabuf's runs and of pinned pages. `(fit, moved, free runs,
    /// errno of the next)`.
    fn linear(
        held: &KVec<(u64, u64)>,
        total: u64,
        base_pfn: u64,
        pages: u64,
        order: u32,
        count: u32,
    ) -> Result<(u32, u64, u32, i32)> {
        let mut taken = KVec::new();
        let (mut fit, mut moved, mut free) = (0u32, 0u64, 0u32);
        let align = 1u64 << order;
        'each: for _ in 0..count {
            let mut room = false;
            let mut s = 0;
            while s + pages <= total {
                let aligned = (base_pfn + s) & (align - 1) == 0;
                let clear =
                    |runs: &KVec<(u64, u64)>| runs.iter().all(|&(f, e)| e <= s || s + pages <= f);
                if aligned && clear(held) && clear(&taken) {
                    room = true;
                    let pfns = base_pfn + s..base_pfn + s + pages;
                    if !pfns.clone().any(pinned) {
                        let m = pfns.filter(|&p| movable(p)).count() as u64;
                        moved += m;
                        free += u32::from(m == 0);
                        fit += 1;
                        taken.push((s, s + pages), GFP_KERNEL)?;
                        continue 'each;
                    }
                }
                s += 1;
            }
            let errno = if room { EBUSY } else { ENOMEM };
            return Ok((fit, moved, free, -errno.to_errno()));
        }
        Ok((fit, moved, free, 0))
    }

    #[test]
    fn agrees_with_cma_alloc_the_slow_way() -> Result {
        let none = Limits {
            max_bytes: 0,
            max_buffers: 0,
            max_process_bytes: 0,
            max_process_buffers: 0,
        };
        let me = PidRef::current()?;
        let mut seed = 0x9e37_79b9u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            u64::from(seed)
        };
        // Small: the suite runs at every load of the module, on the debug kernel too.
        for base_pfn in [0u64, 3] {
            let total = 512;
            let mut ledger = Ledger::new(CString::try_from_fmt(fmt!("kunit"))?)?;
            let mut held = KVec::new();
            let (mut at, mut id) = (0, 1);
            while at < total {
                at += next() & 31;
                let pages = 1 + (next() & 15);
                if at + pages > total {
                    break;
                }
                ledger.insert_range(Range {
                    id,
                    first: at,
                    pages,
                    cached: false,
                })?;
                held.push((at, at + pages), GFP_KERNEL)?;
                id += 1;
                at += pages;
            }
            let pool = Pool {
                total,
                base_pfn: Some(base_pfn),
                limits: &none,
                census: pretend_census,
            };
            for pages in [1usize, 5, 16, 40] {
                for order in [0u32, 2] {
                    let req = QueryRequest {
                        pages,
                        align_order: order,
                        count: 12,
                    };
                    let a = simulate(&ledger, &pool, &me, &req)?;
                    let (fit, moved, free, errno) =
                        linear(&held, total, base_pfn, pages as u64, order, 12)?;
                    assert!(a.fit == fit);
                    assert!(a.pages_to_move == moved);
                    assert!(a.fit_without_migration == free);
                    assert!(a.stop.map_or(0, |e| -e.to_errno()) == errno);
                    assert!(a.cache_hits == 0 && !a.bytes_only);
                }
            }
        }
        Ok(())
    }

    #[test]
    fn limits_are_folded_in() -> Result {
        let limits = Limits {
            max_bytes: 0,
            max_buffers: 0,
            max_process_bytes: 0,
            max_process_buffers: 3,
        };
        let me = PidRef::current()?;
        let ledger = Ledger::new(CString::try_from_fmt(fmt!("kunit"))?)?;
        let req = QueryRequest {
            pages: 4,
            align_order: 0,
            count: 10,
        };
        for base_pfn in [Some(1000), None] {
            let pool = Pool {
                total: 1000,
                base_pfn,
                limits: &limits,
                census: pretend_census,
            };
            let a = simulate(&ledger, &pool, &me, &req)?;
            assert!(a.fit == 3);
            assert!(a.stop == Some(crate::uapi::edquot()));
            assert!(a.bytes_only == base_pfn.is_none());
        }
        Ok(())
    }
}
