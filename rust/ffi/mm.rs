// SPDX-License-Identifier: GPL-2.0

//! Memory-management statistics: zones, vm events, a census of pages, task names.

use super::sys;
use kernel::prelude::*;

/// One populated zone (`struct cmabuf_zone_info`, filled by `shim.c`).
pub(crate) type ZoneInfo = sys::cmabuf_zone_info;
/// The migration, compaction and CMA event counters (`struct cmabuf_vm_events`).
pub(crate) type VmEvents = sys::cmabuf_vm_events;
/// What the pages of a range are (`struct cmabuf_census`).
pub(crate) type Census = sys::cmabuf_census;

impl Census {
    /// The first page found that is neither free nor movable (what blocks migration),
    /// if any.
    pub(crate) fn first_sample(&self) -> Option<u64> {
        (self.nr_samples > 0).then(|| self.sample_pfn[0] as u64)
    }

    /// Pages in use that migration can move (LRU or movable-ops pages).
    pub(crate) fn movable(&self) -> u64 {
        self.pages[sys::cmabuf_page_kind_CMABUF_PAGE_MOVABLE as usize] as u64
    }

    /// Pages that make migration of a range fail: pinned, unmovable, reserved.
    pub(crate) fn blocking(&self) -> u64 {
        [
            sys::cmabuf_page_kind_CMABUF_PAGE_PINNED,
            sys::cmabuf_page_kind_CMABUF_PAGE_UNMOVABLE,
            sys::cmabuf_page_kind_CMABUF_PAGE_RESERVED,
        ]
        .iter()
        .map(|&k| self.pages[k as usize] as u64)
        .sum()
    }

    /// Counts the page at `pfn` as movable, pinned or free, as the census would (for
    /// KUnit tests that pretend what pages are).
    #[cfg(CONFIG_KUNIT)]
    pub(crate) fn pretend(&mut self, pfn: u64, movable: bool, pinned: bool) {
        let kind = if pinned {
            sys::cmabuf_page_kind_CMABUF_PAGE_PINNED
        } else if movable {
            sys::cmabuf_page_kind_CMABUF_PAGE_MOVABLE
        } else {
            sys::cmabuf_page_kind_CMABUF_PAGE_FREE
        };
        self.pages[kind as usize] += 1;
        let n = self.nr_samples as usize;
        if pinned && n < self.sample_pfn.len() {
            self.sample_kind[n] = kind;
            self.sample_pfn[n] = pfn as usize;
            self.nr_samples += 1;
        }
    }

    /// The first sampled page that blocks migration (see [`Census::blocking`]), if
    /// any; else the last sample (the samples also keep pages of no known kind).
    pub(crate) fn first_blocking_sample(&self) -> Result<u64, Option<u64>> {
        let n = (self.nr_samples as usize).min(self.sample_pfn.len());
        let blocks = |k: u32| {
            k == sys::cmabuf_page_kind_CMABUF_PAGE_PINNED
                || k == sys::cmabuf_page_kind_CMABUF_PAGE_UNMOVABLE
                || k == sys::cmabuf_page_kind_CMABUF_PAGE_RESERVED
        };
        match (0..n).find(|&i| blocks(self.sample_kind[i])) {
            Some(i) => Ok(self.sample_pfn[i] as u64),
            None => Err(n.checked_sub(1).map(|i| self.sample_pfn[i] as u64)),
        }
    }
}

/// Every populated zone of every online node.
pub(crate) fn zones() -> impl Iterator<Item = ZoneInfo> {
    (0..).map_while(|idx| {
        let mut zone = ZoneInfo::default();
        // SAFETY: `zone` is valid for writes; the helper reads zone counters only.
        (unsafe { sys::cmabuf_zone_info(idx, &mut zone) } == 0).then_some(zone)
    })
}

/// A zone's name (`DMA`, `Normal`, ...).
pub(crate) fn zone_name(zone: &ZoneInfo) -> &'static CStr {
    if zone.name.is_null() {
        return c"?";
    }
    // SAFETY: `name` points to the zone's static, NUL-terminated name.
    unsafe { CStr::from_char_ptr(zone.name) }
}

/// The vm event counters now.
pub(crate) fn vm_events() -> VmEvents {
    let mut events = VmEvents::default();
    // SAFETY: `events` is valid for writes.
    unsafe { sys::cmabuf_vm_events(&mut events) };
    events
}

/// Adds to `census` what the `count` pages from page frame `pfn` on are now. The range
/// must lie in memory the kernel manages (a pool's region).
pub(crate) fn census(census: &mut Census, pfn: u64, count: u64) {
    // SAFETY: The caller passes a range of a pool's region, whose pages all have a
    // `struct page`; the helper only reads page state.
    unsafe { sys::cmabuf_page_census(pfn as usize, count as usize, census) };
}

/// How many user mappings map the page at `pfn` (a page of a live buffer).
pub(crate) fn mapcount(pfn: u64) -> u32 {
    // SAFETY: The caller passes a page of a live buffer, which has a `struct page`.
    unsafe { sys::cmabuf_pfn_mapcount(pfn as usize) }.max(0) as u32
}

/// The current task's command name.
pub(crate) fn current_comm() -> [u8; 16] {
    let mut comm = [0u8; 16];
    // SAFETY: `comm` is valid for 16 bytes; the helper NUL-terminates within them.
    unsafe { sys::cmabuf_current_comm(comm.as_mut_ptr().cast(), comm.len()) };
    comm
}
