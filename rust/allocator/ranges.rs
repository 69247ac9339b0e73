// SPDX-License-Identifier: GPL-2.0

//! Range maths on a pool's runs, in pages from its base: where the gaps are (for the
//! failure census), and, as linear references for the tests of [`super::places`], the
//! largest and where `cma_alloc` would place an allocation. Pure, and tested in KUnit.

use kernel::{
    alloc::{
        Allocator,
        Vec, //
    },
    prelude::*,
};

/// A run of the pool that cmabuf holds, in pages from the pool's base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Range {
    pub(crate) id: u32,
    pub(crate) first: u64,
    pub(crate) pages: u64,
    /// A freed run in the warm cache: in the way of nobody (given back on demand).
    pub(crate) cached: bool,
}

/// Removes element `i` of `v` in O(1), moving the last one into its place.
pub(super) fn swap_remove<T, A: Allocator>(v: &mut Vec<T, A>, i: usize) -> Option<T> {
    let last = v.len().checked_sub(1)?;
    if i > last {
        return None;
    }
    v.swap(i, last);
    v.pop()
}

/// The gaps between sorted `ranges` in a pool of `total` pages, as (first, end).
pub(super) fn gaps<'a>(
    ranges: impl Iterator<Item = &'a Range> + 'a,
    total: u64,
) -> impl Iterator<Item = (u64, u64)> + 'a {
    let mut end = 0;
    let runs = ranges.map(|r| (r.first, r.first + r.pages));
    Iterator::chain(runs, core::iter::once((total, total)))
        .map(move |(first, last)| {
            let gap = (end, first);
            end = end.max(last);
            gap
        })
        .filter(|(s, e)| e > s)
}

/// The largest run of pages outside `ranges`: the linear reference that
/// [`super::places::Places::largest_gap`] is tested against.
#[cfg(CONFIG_KUNIT)]
pub(super) fn largest_gap<'a>(ranges: impl Iterator<Item = &'a Range> + 'a, total: u64) -> u64 {
    gaps(ranges, total).map(|(s, e)| e - s).max().unwrap_or(0)
}

/// Where `cma_alloc` would place `pages` pages aligned to `1 << order` pages (of
/// physical page frames; the pool starts at frame `base_pfn`) among sorted `ranges`:
/// the first gap that fits. `None` if none does. The linear reference that
/// [`super::places::Places::first_fit`] is tested against.
#[cfg(CONFIG_KUNIT)]
pub(super) fn first_fit<'a>(
    ranges: impl Iterator<Item = &'a Range> + 'a,
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
