// SPDX-License-Identifier: GPL-2.0

//! Where a pool's runs are, in pages from its base, at a cost that does not grow with
//! their number: every run by its first page (a red-black tree, for lookups and ordered
//! walks), and the runs in the way of an allocation (all but freed runs in the warm
//! cache) in a maple tree that finds the lowest gap that fits in O(log n).
//!
//! The gap index predicts where `cma_alloc` (first fit, from the bottom of the area)
//! will place a run and how large the largest free run is; the CMA area's bitmap
//! decides. Should memory for the index's nodes be short when a run joins it, the run
//! is recorded as out of the way (`cached`): a later prediction may then be wrong, never
//! the pool's books.

use super::ranges::Range;
use crate::ffi::RunIndex;
use kernel::{
    prelude::*,
    rbtree::RBTree, //
};

/// Every run cmabuf holds in a pool.
pub(super) struct Places {
    /// All runs, by first page.
    runs: RBTree<u64, Range>,
    /// The runs whose `cached` is false, over their pages.
    held: Pin<KBox<RunIndex>>,
}

impl Places {
    /// No runs.
    pub(super) fn new() -> Result<Self> {
        Ok(Self {
            runs: RBTree::new(),
            held: KBox::pin_init(RunIndex::new(), GFP_KERNEL)?,
        })
    }

    /// How many runs there are.
    #[cfg(CONFIG_KUNIT)]
    pub(super) fn len(&self) -> usize {
        self.runs.iter().count()
    }

    /// Records `range`; `EINVAL` if a run starts at the same page, `ENOMEM` without
    /// memory (nothing is recorded then).
    pub(super) fn insert(&mut self, range: Range) -> Result {
        if range.pages == 0 || self.runs.get(&range.first).is_some() {
            return Err(EINVAL);
        }
        if !range.cached {
            self.held
                .insert(range.first, range.pages, range.id)
                .map_err(|e| if e == ENOMEM { ENOMEM } else { EINVAL })?;
        }
        if let Err(e) = self
            .runs
            .try_create_and_insert(range.first, range, GFP_KERNEL)
        {
            if !range.cached {
                self.held.remove(range.first);
            }
            return Err(e);
        }
        Ok(())
    }

    /// Forgets the run starting at page `first`.
    pub(super) fn remove(&mut self, first: u64) -> Option<Range> {
        let range = self.runs.remove(&first)?;
        if !range.cached {
            self.held.remove(first);
        }
        Some(range)
    }

    /// The run starting at page `first`.
    pub(super) fn get(&self, first: u64) -> Option<&Range> {
        self.runs.get(&first)
    }

    /// Gives the run starting at `first` the id `id`; `EINVAL` if there is none.
    pub(super) fn rename(&mut self, first: u64, id: u32) -> Result {
        let range = self.runs.get_mut(&first).ok_or(EINVAL)?;
        if !range.cached {
            // Re-recorded under its new id; the old entry is gone first, so the pages
            // are free for it.
            self.held.remove(first);
            if self.held.insert(first, range.pages, id).is_err() {
                range.cached = true;
            }
        }
        range.id = id;
        Ok(())
    }

    /// Marks the run starting at `first` as a freed run in the warm cache (`true`: out
    /// of the way of allocations) or not. If the index has no memory to take the run
    /// back, it stays out of the way (see the module's comment).
    pub(super) fn set_cached(&mut self, first: u64, cached: bool) {
        let Some(range) = self.runs.get_mut(&first) else {
            return;
        };
        if range.cached == cached {
            return;
        }
        if cached {
            self.held.remove(first);
            range.cached = true;
        } else if self.held.insert(first, range.pages, range.id).is_ok() {
            range.cached = false;
        }
    }

    /// Every run, in the order of their places.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Range> + '_ {
        self.runs.values()
    }

    /// Where `cma_alloc` would place `pages` pages aligned to `1 << order` pages (of
    /// physical page frames; the pool of `total` pages starts at frame `base_pfn`): the
    /// lowest gap between held runs that fits. Each step skips a gap too small once
    /// aligned, so the search costs O(log n) for every such gap below the answer.
    pub(super) fn first_fit(
        &self,
        total: u64,
        base_pfn: u64,
        pages: u64,
        order: u32,
    ) -> Option<u64> {
        self.first_fit_from(total, base_pfn, pages, order, 0)
    }

    /// [`Places::first_fit`] among the places that start at page `from` or above.
    pub(super) fn first_fit_from(
        &self,
        total: u64,
        base_pfn: u64,
        pages: u64,
        order: u32,
        from: u64,
    ) -> Option<u64> {
        let align = 1u64.checked_shl(order)?;
        let last = total.checked_sub(1)?;
        let mut min = from;
        loop {
            let start = self.held.lowest_gap(min, last, pages)?;
            let aligned = base_pfn
                .checked_add(start)?
                .checked_next_multiple_of(align)?
                - base_pfn;
            if aligned == start {
                return Some(start);
            }
            match self.held.lowest_gap(aligned, last, pages)? {
                s if s == aligned => return Some(s),
                s => min = s,
            }
        }
    }

    /// The largest run of pages outside held runs, in a pool of `total` pages: the
    /// largest size the gap search still finds, by bisection (O(log total · log n)).
    pub(super) fn largest_gap(&self, total: u64) -> u64 {
        let Some(last) = total.checked_sub(1) else {
            return 0;
        };
        let fits = |size: u64| self.held.lowest_gap(0, last, size).is_some();
        // Invariant: `lo` fits (0 always does), `hi + 1` does not.
        let (mut lo, mut hi) = (0, total);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if fits(mid) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo
    }
}

#[kunit_tests(cmabuf_places)]
mod tests {
    use super::*;
    use crate::allocator::ranges::{
        first_fit as linear_first_fit,
        largest_gap as linear_largest_gap, //
    };

    fn r(id: u32, first: u64, pages: u64, cached: bool) -> Range {
        Range {
            id,
            first,
            pages,
            cached,
        }
    }

    // No `assert_eq!`: its message formats `u64`s in decimal, which 32-bit ARM cannot
    // link (no 64-bit division in the kernel).

    /// The same answers as the linear reference over the same runs.
    fn agree(places: &Places, total: u64, base_pfn: u64) {
        let held = || places.iter().filter(|r| !r.cached);
        assert!(places.largest_gap(total) == linear_largest_gap(held(), total));
        for pages in [1u64, 2, 3, 5, 8, 13, 16, 40, 64] {
            for order in [0u32, 1, 2, 4] {
                assert!(
                    places.first_fit(total, base_pfn, pages, order)
                        == linear_first_fit(held(), total, base_pfn, pages, order)
                );
            }
        }
    }

    #[test]
    fn empty_pool_is_one_gap() {
        let places = Places::new().unwrap();
        assert!(places.largest_gap(100) == 100);
        assert!(places.first_fit(100, 0, 100, 0) == Some(0));
        assert!(places.first_fit(100, 0, 101, 0).is_none());
        assert!(places.largest_gap(0) == 0);
        assert!(places.first_fit(0, 0, 1, 0).is_none());
    }

    #[test]
    fn insert_remove_and_lookups() {
        let mut places = Places::new().unwrap();
        places.insert(r(1, 10, 5, false)).unwrap();
        places.insert(r(2, 30, 5, true)).unwrap();
        // Same first page, or overlapping a held run: refused, nothing recorded.
        assert!(places.insert(r(3, 10, 1, false)) == Err(EINVAL));
        assert!(places.insert(r(3, 12, 10, false)) == Err(EINVAL));
        assert!(places.insert(r(3, 50, 0, false)) == Err(EINVAL));
        assert!(places.len() == 2);
        assert!(places.get(10).map(|r| r.id) == Some(1));
        assert!(places.get(11).is_none());
        // The cached run is out of the way: the gap 15..100 has 85 pages.
        assert!(places.largest_gap(100) == 85);
        places.set_cached(30, false);
        assert!(places.largest_gap(100) == 65);
        places.rename(30, 7).unwrap();
        assert!(places.get(30).map(|r| (r.id, r.cached)) == Some((7, false)));
        assert!(places.remove(10).map(|r| r.id) == Some(1));
        assert!(places.remove(10).is_none());
        assert!(places.first_fit(100, 0, 30, 0) == Some(0));
        assert!(places.first_fit(100, 0, 31, 0) == Some(35));
        assert!(places.rename(99, 1) == Err(EINVAL));
    }

    #[test]
    fn agrees_with_the_linear_scan() {
        // A deterministic pseudo-random layout: runs and gaps of 1..16 pages, a third of
        // them cached, on pools whose base frame is aligned or not.
        let mut seed = 0x2545_f491u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            u64::from(seed)
        };
        for base_pfn in [0u64, 3, 0x10_0000] {
            let mut places = Places::new().unwrap();
            let total = 2000;
            let mut at = 0;
            let mut id = 1;
            while at < total {
                at += next() % 16;
                let pages = 1 + next() % 16;
                if at + pages > total {
                    break;
                }
                places.insert(r(id, at, pages, next() % 3 == 0)).unwrap();
                id += 1;
                at += pages;
            }
            agree(&places, total, base_pfn);
            // Take every other run away and uncache every third: still the same answers.
            let firsts: KVec<u64> = {
                let mut v = KVec::new();
                for r in places.iter() {
                    v.push(r.first, GFP_KERNEL).unwrap();
                }
                v
            };
            for (i, first) in firsts.iter().enumerate() {
                match i % 3 {
                    0 => drop(places.remove(*first)),
                    1 => places.set_cached(*first, false),
                    _ => {}
                }
            }
            agree(&places, total, base_pfn);
        }
    }
}
