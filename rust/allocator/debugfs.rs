// SPDX-License-Identifier: GPL-2.0

//! What the pool's debugfs files print: `info`, `buffers`, `cache`, `latency`,
//! `profile`, `last_failure` and `occupancy` (`Documentation/cmabuf.rst` says what each field
//! means). Each view is taken under the ledger's lock, so it is consistent.

use super::{arena::ArenaMap, Allocator};
use crate::{
    ffi::decimal::dec,
    ffi::mm,
    stats::{
        Latency,
        Profile, //
    },
};
use core::fmt;
use kernel::{
    page::PAGE_SHIFT,
    prelude::*,
    time::{
        Instant,
        Monotonic, //
    },
};

impl Allocator {
    /// `debugfs/cmabuf/<name>/cache`: one line per cached run.
    pub(crate) fn write_cache(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ledger = self.ledger.lock();
        let now = Instant::<Monotonic>::now();
        f.write_str("id       size          phys_start  zeroed  prepared  expires_in_ms\n")?;
        for c in ledger.cache.iter() {
            f.write_fmt(fmt!(
                "{:<8} {:<13} {:#18x}  {:<6}  {:<8}  {}\n",
                c.id,
                dec(c.count << PAGE_SHIFT),
                c.phys,
                if c.zeroed { "yes" } else { "no" },
                match &c.prepared {
                    None => "no",
                    Some(p) if p.reservation.is_some() => "reserved",
                    Some(_) => "yes",
                },
                dec((c.expires - now).as_millis().max(0))
            ))?;
        }
        Ok(())
    }

    /// `debugfs/cmabuf/<name>/info`: one `key: value` per line.
    pub(crate) fn write_info(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snap = self.snapshot();
        let ledger = self.ledger.lock();
        f.write_fmt(fmt!("name: {}\n", &*self.name))?;
        f.write_fmt(fmt!("device: {}\n", &*self.dev_name))?;
        f.write_fmt(fmt!("region: {}\n", &*self.region))?;
        f.write_fmt(fmt!("cma_area: {}\n", self.cma.name()))?;
        f.write_fmt(fmt!("heap: {}\n", &*self.heap_name))?;
        match self.base {
            Some(base) => f.write_fmt(fmt!("base: {:#x}\n", base))?,
            None => f.write_fmt(fmt!("base: unknown\n"))?,
        }
        // The values sysfs shows too come from the same counters (`Ledger::counters`).
        let counters = ledger.counters();
        let fl = &counters.failures;
        let m = &ledger.migration;
        let limits = &self.limits;
        let stranded: u64 = ledger.stranded.iter().map(|s| s.pages.count() as u64).sum();
        let cache = &ledger.cache;
        let prepared: u64 = cache
            .iter()
            .filter(|c| c.prepared.is_some())
            .map(|c| c.count << PAGE_SHIFT)
            .sum();
        let unzeroed = cache.iter().filter(|c| !c.zeroed).count() as u64;
        let cs = &ledger.cache_stats;
        let arena = ledger.arena.as_ref().map(|a| &a.map);
        let arena_pages = |f: fn(&ArenaMap) -> u64| arena.map_or(0, f) << PAGE_SHIFT;
        // In the order of `Documentation/cmabuf.rst`; user space parses the names.
        let fields = [
            ("size", self.size),
            ("used", snap.used),
            ("free", snap.free),
            ("largest_free", snap.largest_free),
            ("buffers", snap.buffers),
            ("peak_used", counters.peak_used),
            ("allocations", counters.allocations),
            ("heap_allocations", ledger.heap_allocations),
            ("frees", ledger.frees),
            ("failures", fl.total()),
            ("failures_einval_invalid", fl.invalid),
            ("failures_enomem_no_room", fl.no_room),
            ("failures_ebusy_migration", fl.busy),
            ("failures_edquot_limit", fl.limit),
            ("failures_edquot_dmem", fl.dmem),
            ("failures_other", fl.other),
            ("migrated_pages", counters.migrated_pages),
            ("migrate_failed_pages", m.migrate_failed),
            ("compact_isolated", m.compact_isolated),
            ("compact_migrate_scanned", m.compact_migrate_scanned),
            ("max_bytes", limits.max_bytes),
            ("max_buffers", limits.max_buffers),
            ("max_process_bytes", limits.max_process_bytes),
            ("max_process_buffers", limits.max_process_buffers),
            ("stranded", stranded << PAGE_SHIFT),
            ("stranded_buffers", ledger.stranded.len() as u64),
            ("cache_limit", crate::params::cache_parameters().0),
            ("cached", counters.cached),
            ("cached_buffers", cache.len() as u64),
            ("cached_unzeroed", unzeroed),
            ("prepared", prepared),
            ("cache_hits", cs.hits),
            ("cache_misses", cs.misses),
            ("cache_zeroed", cs.zeroed),
            ("cache_released_idle", cs.released_idle),
            ("cache_released_for_room", cs.released_for_room),
            ("cache_released_unbind", cs.released_unbind),
            ("cache_released_dropped", cs.released_dropped),
            ("cache_released_for_memory", cs.released_for_memory),
            ("prepare_runs", cs.prepared),
            ("arena_size", arena_pages(ArenaMap::pages)),
            ("arena_used", arena_pages(ArenaMap::used)),
            ("arena_peak_used", arena_pages(ArenaMap::peak)),
            ("arena_largest_free", arena_pages(ArenaMap::largest_free)),
            ("arena_overflows", arena.map_or(0, ArenaMap::overflows)),
        ];
        for (name, value) in fields {
            f.write_fmt(fmt!("{}: {}\n", name, dec(value)))?;
        }
        Ok(())
    }

    /// `debugfs/cmabuf/<name>/buffers`, its header; then one line per live or stranded
    /// buffer, by id ([`Allocator::buffer_from`], [`Allocator::write_buffer`]), written
    /// as the file is read: the ledger is locked for one line at a time.
    pub(crate) fn write_buffers_header(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("id       size          phys_start          phys_end  cache         pid  comm              age_ms  maps  state     owner     by  importers\n")
    }

    /// The id of the first live or stranded buffer whose id is at least `from`.
    pub(crate) fn buffer_from(&self, from: u64) -> Option<u64> {
        let from = u32::try_from(from).ok()?;
        let ledger = self.ledger.lock();
        let cursor = ledger.meta.cursor_lower_bound(&from)?;
        Some(u64::from(*cursor.current().0))
    }

    /// The line of buffer `id` in `buffers` (nothing if it went meanwhile).
    pub(crate) fn write_buffer(&self, id: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Ok(id) = u32::try_from(id) else {
            return Ok(());
        };
        let ledger = self.ledger.lock();
        let Some(m) = ledger.meta.get(&id) else {
            return Ok(());
        };
        // A piece of the small-buffer arena has no range of its own.
        let (first, pages) = match m.arena_pages {
            0 => match ledger.places.get(m.first) {
                Some(r) => (r.first, r.pages),
                None => return Ok(()),
            },
            n => (m.first, n),
        };
        let base_pfn = self.base_pfn();
        let start = (base_pfn + first) << PAGE_SHIFT;
        let end = start + (pages << PAGE_SHIFT) - 1;
        let comm_len = m.comm.iter().position(|&b| b == 0).unwrap_or(m.comm.len());
        let comm = core::str::from_utf8(&m.comm[..comm_len]).unwrap_or("?");
        // The pages are the buffer's (live or stranded) while the lock is held.
        f.write_fmt(fmt!(
            "{:<6} {:>10} {:#18x} {:#17x}  {:<12} {:>5}  {:<16} {:>7} {:>5}  {:<8}  {:<6} ",
            m.id,
            dec(pages << PAGE_SHIFT),
            start,
            end,
            m.cache.name(),
            m.owner.nr(),
            comm,
            dec(m.created.elapsed().as_millis()),
            mm::mapcount(base_pfn + first),
            if m.stranded { "stranded" } else { "live" },
            // Reaped: its pid number may be another process's by now.
            if m.owner.alive() { "alive" } else { "exited" }
        ))?;
        // Who allocated it for the owner, whose cgroup carries its dmem charge.
        match m.by {
            Some(by) => f.write_fmt(fmt!("{:>5}  ", by))?,
            None => f.write_str("    -  ")?,
        }
        m.status.write_importers(f)?;
        f.write_str("\n")
    }

    /// `debugfs/cmabuf/<name>/latency`.
    pub(crate) fn write_latency(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let latency = self.ledger.lock().latency.clone();
        latency.write(f)
    }

    /// Clears the latency histogram (`echo reset > latency`).
    pub(crate) fn reset_latency(&self) {
        self.ledger.lock().latency = Latency::new();
    }

    /// `debugfs/cmabuf/<name>/profile`: where allocation time went.
    pub(crate) fn write_profile(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let profile = self.ledger.lock().profile;
        profile.write(f)
    }

    /// Clears the profile (`echo reset > profile`).
    pub(crate) fn reset_profile(&self) {
        self.ledger.lock().profile = Profile::default();
    }

    /// `debugfs/cmabuf/<name>/last_failure`.
    pub(crate) fn write_last_failure(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.ledger.lock().last_failure {
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
        let slice = total.div_ceil(SLICES);
        let slices = total.div_ceil(slice);
        // Pages held in each slice, in one walk over the runs (in order of place).
        let mut held = [0u64; SLICES];
        {
            let ledger = self.ledger.lock();
            for r in ledger.places.iter() {
                let (mut s, e) = (r.first, r.first + r.pages);
                while s < e {
                    // Page offsets fit a usize (checked above); slices are < SLICES.
                    let i = s as usize / slice;
                    let slice_end = ((i + 1) * slice) as u64;
                    let Some(h) = held.get_mut(i) else { break };
                    *h += e.min(slice_end) - s;
                    s = slice_end;
                }
            }
        }
        f.write_fmt(fmt!(
            "# one character per {} KiB\n",
            (slice << PAGE_SHIFT) >> 10
        ))?;
        for (i, h) in held.iter().enumerate().take(slices) {
            let width = (((i + 1) * slice).min(total) - i * slice) as u64;
            let c = if *h == 0 {
                "."
            } else if *h == width {
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
