// SPDX-License-Identifier: GPL-2.0

//! The small-buffer arena's books: which pages of the arena hold a buffer.
//!
//! The arena is one run of the pool that cmabuf takes with `cma_alloc` when the pool is
//! bound — when the area is empty, so CMA's first fit puts it at the bottom — and keeps
//! while the pool lives. cmabuf places buffers of at most the pool's small-buffer size
//! in it itself, first fit by page, so that they never land between frames and split
//! the pool (`Documentation/benchmarks.md`, "Aging: placement policies tried on the
//! model": the policy that met issue 18's goal on the model). A small buffer the arena
//! cannot hold is placed by `cma_alloc` as any other.
//!
//! Pure bookkeeping, in pages from the arena's start; tested in KUnit.

use super::{ledger::Ledger, Allocator};
use crate::ffi::{CmaArena, CmaPages};
use kernel::{
    page::PAGE_SHIFT,
    prelude::*,
    sync::Arc, //
};

const WORD: u64 = u64::BITS as u64;

/// Buffers of at most this many bytes go to the arena (the metadata and statistics
/// buffers of a camera pipeline: 4-64 KiB in the aging benchmark).
pub(crate) const ARENA_MAX_BYTES: u64 = 64 << 10;

/// A pool's small-buffer arena: its run (one range in `Ledger::places`, so that every
/// first-fit search sees it held) and its books.
pub(super) struct Arena {
    pub(super) run: Arc<CmaArena>,
    /// Its first page in the pool.
    pub(super) first: u64,
    pub(super) map: ArenaMap,
}

impl Arena {
    /// Whether an allocation of `pages` aligned to `1 << order` pages goes to the arena
    /// (when it has room).
    pub(super) fn serves(pages: u64, order: u32) -> bool {
        order == 0 && pages != 0 && pages << PAGE_SHIFT <= ARENA_MAX_BYTES
    }
}

impl Ledger {
    /// Places `pages` in the arena, if the pool has one with room: the pages, as a piece
    /// of the arena, and their first page in the pool.
    pub(super) fn arena_alloc(&mut self, pages: u64) -> Option<(CmaPages, u64)> {
        let arena = self.arena.as_mut()?;
        let offset = arena.map.alloc(pages)?;
        let piece = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(pages).ok())
            .and_then(|(o, n)| CmaArena::piece(&arena.run, o, n));
        match piece {
            Some(piece) => Some((piece, arena.first + offset)),
            None => {
                // Just taken from the map: giving it back cannot fail.
                let _ = arena.map.free(offset, pages);
                None
            }
        }
    }

    /// Gives the `pages` pages from pool page `first` back to the arena's books; `false`
    /// if they are not a piece of the arena (then nothing changes).
    pub(super) fn arena_free(&mut self, first: u64, pages: u64) -> bool {
        let Some(arena) = self.arena.as_mut() else {
            return false;
        };
        first
            .checked_sub(arena.first)
            .is_some_and(|offset| arena.map.free(offset, pages).is_ok())
    }

    /// Gives a piece the arena handed out back to its books. A piece the books do not
    /// know is a bug in cmabuf: said, and the books stay as they are (the pages are not
    /// handed out twice, only lost to the arena until it is given back at unbind).
    pub(super) fn arena_give_back(&mut self, first: u64, pages: u64) {
        if !self.arena_free(first, pages) {
            pr_err!(
                "cmabuf: small-buffer arena: pages {}+{} are not a piece it handed out (bug)\n",
                crate::ffi::decimal::dec(first),
                crate::ffi::decimal::dec(pages)
            );
        }
    }

    /// Forgets where the run of `pages` pages from pool page `first` was, back in the
    /// area: a piece of the arena (`in_arena`) goes back to the arena's books, any other
    /// run leaves `places`.
    pub(super) fn forget_run(&mut self, first: u64, pages: u64, in_arena: bool) {
        if in_arena {
            self.arena_give_back(first, pages);
        } else {
            self.forget_range(first);
        }
    }
}

impl Allocator {
    /// Takes the pool's small-buffer arena of `bytes` (its node's
    /// `cmabuf,small-arena-bytes`, or the module parameter `small_arena_bytes`) now, at
    /// bind, while nothing else of the pool is allocated: CMA's first fit puts it at the
    /// bottom of the area. A pool without a known place (the default CMA area) gets
    /// none; one too small for it, or whose area has no such run, neither (said why).
    pub(super) fn take_arena(&self, dev: &kernel::device::Device, bytes: u64) {
        if bytes == 0 || self.base.is_none() {
            return;
        }
        let pages = bytes >> PAGE_SHIFT;
        if pages > self.total_pages() / 4 {
            dev_err!(
                dev,
                "small_arena_bytes={} is more than a quarter of pool {} ({} bytes): no small-buffer arena for it; lower small_arena_bytes\n",
                crate::ffi::decimal::dec(bytes),
                &*self.name,
                crate::ffi::decimal::dec(self.size)
            );
            return;
        }
        let Ok(count) = usize::try_from(pages) else {
            return;
        };
        let Ok(map) = ArenaMap::new(pages) else {
            return;
        };
        // As an allocation does: the run is in the books before `placing` goes.
        let _placing = self.placing.lock();
        let Some(run) = CmaArena::alloc(&self.cma, count) else {
            dev_err!(
                dev,
                "no run of {} bytes for the small-buffer arena of pool {}: pages of its area are in use or cannot be migrated; it goes without\n",
                crate::ffi::decimal::dec(bytes),
                &*self.name
            );
            return;
        };
        let first = run.pages().pfn() - self.base_pfn();
        let mut ledger = self.ledger.lock();
        if ledger.place(first, pages).is_ok() {
            ledger.arena = Some(Arena { run, first, map });
        }
    }
}

/// Which pages of an arena hold a buffer, and what the arena saw.
pub(crate) struct ArenaMap {
    /// One bit per page, set while a buffer holds it.
    words: KVec<u64>,
    /// The arena's size in pages.
    pages: u64,
    /// Pages holding a buffer now, and at most so far.
    used: u64,
    peak: u64,
    /// Small buffers it could not hold (placed by `cma_alloc` instead).
    overflows: u64,
}

impl ArenaMap {
    /// The books of an empty arena of `pages` pages.
    pub(crate) fn new(pages: u64) -> Result<Self> {
        if pages == 0 {
            return Err(EINVAL);
        }
        let n = usize::try_from(pages.div_ceil(WORD)).map_err(|_| EINVAL)?;
        let mut words = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            words.push(0, GFP_KERNEL)?;
        }
        Ok(Self {
            words,
            pages,
            used: 0,
            peak: 0,
            overflows: 0,
        })
    }

    /// A copy of the books (for `CMABUF_IOC_QUERY`, which plays allocations through).
    pub(crate) fn try_clone(&self) -> Result<Self> {
        let mut words = KVec::with_capacity(self.words.len(), GFP_KERNEL)?;
        for w in self.words.iter() {
            words.push(*w, GFP_KERNEL)?;
        }
        Ok(Self {
            words,
            pages: self.pages,
            used: self.used,
            peak: self.peak,
            overflows: self.overflows,
        })
    }

    /// The arena's size in pages.
    pub(crate) fn pages(&self) -> u64 {
        self.pages
    }

    /// Pages holding a buffer now.
    pub(crate) fn used(&self) -> u64 {
        self.used
    }

    /// The most pages that held buffers at once.
    pub(crate) fn peak(&self) -> u64 {
        self.peak
    }

    /// Small buffers the arena could not hold.
    pub(crate) fn overflows(&self) -> u64 {
        self.overflows
    }

    fn held(&self, page: u64) -> bool {
        // `page < self.pages`, so the index is within `words` (see `new`).
        self.words
            .get((page / WORD) as usize)
            .is_some_and(|w| w & (1 << (page % WORD)) != 0)
    }

    /// The first page at or after `from` that `held` says is `held`, or the end.
    fn next(&self, mut from: u64, held: bool) -> u64 {
        while from < self.pages {
            let word = self.words.get((from / WORD) as usize).copied().unwrap_or(0);
            let word = if held { word } else { !word };
            let rest = word >> (from % WORD);
            if rest != 0 {
                return (from + u64::from(rest.trailing_zeros())).min(self.pages);
            }
            from = (from / WORD + 1) * WORD;
        }
        self.pages
    }

    /// Where the first run of `count` free pages starts (the lowest), if any.
    pub(crate) fn first_fit(&self, count: u64) -> Option<u64> {
        if count == 0 || count > self.pages - self.used {
            return None;
        }
        let mut start = self.next(0, false);
        while start < self.pages {
            let end = self.next(start, true);
            if end - start >= count {
                return Some(start);
            }
            start = self.next(end, false);
        }
        None
    }

    /// The largest run of free pages.
    pub(crate) fn largest_free(&self) -> u64 {
        let mut largest = 0;
        let mut start = self.next(0, false);
        while start < self.pages {
            let end = self.next(start, true);
            largest = largest.max(end - start);
            start = self.next(end, false);
        }
        largest
    }

    fn set(&mut self, first: u64, count: u64, held: bool) {
        for page in first..first + count {
            if let Some(w) = self.words.get_mut((page / WORD) as usize) {
                if held {
                    *w |= 1 << (page % WORD);
                } else {
                    *w &= !(1 << (page % WORD));
                }
            }
        }
    }

    fn within(&self, first: u64, count: u64) -> bool {
        count != 0
            && first
                .checked_add(count)
                .is_some_and(|end| end <= self.pages)
    }

    /// Counts a small buffer the arena could not hold.
    pub(crate) fn note_overflow(&mut self) {
        self.overflows += 1;
    }

    /// Places a buffer of `count` pages at the first fit and says where; `None` if no run
    /// of the arena is free for it.
    pub(crate) fn alloc(&mut self, count: u64) -> Option<u64> {
        let first = self.first_fit(count)?;
        self.set(first, count, true);
        self.used += count;
        self.peak = self.peak.max(self.used);
        Some(first)
    }

    /// Frees the `count` pages from `first`, which must all hold a buffer (`EINVAL`, and
    /// nothing changes, otherwise).
    pub(crate) fn free(&mut self, first: u64, count: u64) -> Result {
        if !self.within(first, count) || (first..first + count).any(|p| !self.held(p)) {
            return Err(EINVAL);
        }
        self.set(first, count, false);
        self.used -= count;
        Ok(())
    }
}

#[kunit_tests(cmabuf_arena)]
mod tests {
    use super::*;

    #[test]
    fn empty_arena_is_one_free_run() {
        let a = ArenaMap::new(200).unwrap();
        assert_eq!(a.first_fit(1), Some(0));
        assert_eq!(a.first_fit(200), Some(0));
        assert_eq!(a.first_fit(201), None);
        assert_eq!(a.largest_free(), 200);
        assert_eq!(a.used(), 0);
        assert!(ArenaMap::new(0).is_err());
    }

    #[test]
    fn buffers_go_first_fit_from_the_bottom() {
        let mut a = ArenaMap::new(200).unwrap();
        assert_eq!(a.alloc(3), Some(0));
        assert_eq!(a.alloc(70), Some(3)); // across a word boundary
        assert_eq!(a.alloc(1), Some(73));
        assert_eq!(a.used(), 74);
        assert_eq!(a.largest_free(), 126);
        // A hole is reused by the first buffer that fits in it, not by a larger one.
        assert!(a.free(3, 70).is_ok());
        assert_eq!(a.alloc(100), Some(74));
        assert_eq!(a.alloc(64), Some(3));
        assert_eq!(a.alloc(6), Some(67));
        assert_eq!(a.first_fit(1), Some(174));
        assert_eq!(a.largest_free(), 26);
    }

    #[test]
    fn full_arena_refuses_and_keeps_its_peak() {
        let mut a = ArenaMap::new(64).unwrap();
        assert_eq!(a.alloc(60), Some(0));
        assert_eq!(a.alloc(5), None);
        assert_eq!(a.used(), 60);
        assert_eq!(a.alloc(4), Some(60));
        assert_eq!(a.alloc(1), None);
        assert_eq!(a.overflows(), 0);
        a.note_overflow();
        assert_eq!(a.overflows(), 1);
        assert_eq!(a.largest_free(), 0);
        assert_eq!(a.peak(), 64);
        assert!(a.free(0, 60).is_ok());
        assert_eq!(a.used(), 4);
        assert_eq!(a.peak(), 64);
    }

    #[test]
    fn free_pages_but_no_run_long_enough() {
        let mut a = ArenaMap::new(10).unwrap();
        for i in 0..10 {
            assert_eq!(a.alloc(1), Some(i));
        }
        for i in (0..10).step_by(2) {
            assert!(a.free(i, 1).is_ok());
        }
        assert_eq!(a.used(), 5);
        assert_eq!(a.first_fit(2), None);
        assert_eq!(a.largest_free(), 1);
    }

    #[test]
    fn bad_free_changes_nothing() {
        let mut a = ArenaMap::new(128).unwrap();
        assert_eq!(a.alloc(10), Some(0));
        // Partly free, beyond the end, empty, overflowing: all refused.
        assert!(a.free(5, 10).is_err());
        assert!(a.free(120, 10).is_err());
        assert!(a.free(0, 0).is_err());
        assert!(a.free(u64::MAX, 2).is_err());
        assert_eq!(a.used(), 10);
        assert!(a.free(0, 10).is_ok());
        // Twice is refused too.
        assert!(a.free(0, 10).is_err());
        assert_eq!(a.used(), 0);
    }

    #[test]
    fn clone_is_independent() {
        let mut a = ArenaMap::new(100).unwrap();
        assert_eq!(a.alloc(40), Some(0));
        let mut b = a.try_clone().unwrap();
        assert_eq!(b.alloc(40), Some(40));
        assert_eq!(a.first_fit(40), Some(40));
        assert_eq!(b.first_fit(40), None);
        assert_eq!(b.used(), 80);
        assert_eq!(a.used(), 40);
    }
}
