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

use kernel::prelude::*;

const WORD: u64 = u64::BITS as u64;

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

    /// Places a buffer of `count` pages at the first fit and says where; `None` (and one
    /// more overflow) if no run of the arena is free for it.
    pub(crate) fn alloc(&mut self, count: u64) -> Option<u64> {
        let Some(first) = self.first_fit(count) else {
            self.overflows += 1;
            return None;
        };
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
    fn full_arena_overflows_and_counts_it() {
        let mut a = ArenaMap::new(64).unwrap();
        assert_eq!(a.alloc(60), Some(0));
        assert_eq!(a.alloc(5), None);
        assert_eq!(a.overflows(), 1);
        assert_eq!(a.alloc(4), Some(60));
        assert_eq!(a.alloc(1), None);
        assert_eq!(a.overflows(), 2);
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
