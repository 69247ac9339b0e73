// SPDX-License-Identifier: GPL-2.0

//! What a pool counts about its allocations: latency by size class, where the time
//! went (the stage profile), failures by reason, migration attributed to the pool, and
//! the last failure with a census of the pages that were in the way.

use crate::ffi::{
    decimal::dec,
    Census,
    VmEvents, //
};
use core::fmt;
use kernel::{
    prelude::*,
    time::{
        Instant,
        Monotonic, //
    },
};

/// Size classes of the latency histogram, by upper bound in bytes.
const CLASS_LIMITS: [u64; 4] = [64 << 10, 1 << 20, 8 << 20, u64::MAX];
/// Their names in debugfs.
const CLASS_NAMES: [&str; 4] = ["<=64K", "<=1M", "<=8M", ">8M"];
/// Log2 buckets of microseconds: bucket `i` holds latencies below `2^(i+1)` µs.
pub(crate) const BUCKETS: usize = 26;

/// An allocation-latency histogram (log2 µs buckets) for each size class.
#[derive(Clone)]
pub(crate) struct Latency {
    counts: [[u64; BUCKETS]; CLASS_LIMITS.len()],
    max_us: [u64; CLASS_LIMITS.len()],
}

impl Latency {
    /// An empty histogram.
    pub(crate) const fn new() -> Self {
        Self {
            counts: [[0; BUCKETS]; CLASS_LIMITS.len()],
            max_us: [0; CLASS_LIMITS.len()],
        }
    }

    /// Counts one allocation of `bytes` that took `us` microseconds.
    pub(crate) fn record(&mut self, bytes: u64, us: u64) {
        let class = CLASS_LIMITS.iter().position(|&l| bytes <= l).unwrap_or(0);
        let bucket = (u64::BITS - us.leading_zeros()).saturating_sub(1) as usize;
        self.counts[class][bucket.min(BUCKETS - 1)] += 1;
        self.max_us[class] = self.max_us[class].max(us);
    }

    /// The upper bound in µs of the bucket holding the `per_mille`th latency of
    /// `class` (at most the largest latency seen), or 0 if the class is empty.
    fn percentile(&self, class: usize, per_mille: u64) -> u64 {
        let total: u64 = self.counts[class].iter().sum();
        if total == 0 {
            return 0;
        }
        // The first bucket where the count so far reaches the rank ceil(total * per_mille /
        // 1000), at least 1; compared by multiplying (no 64-bit division on 32-bit ARM).
        let mut seen = 0;
        for (bucket, &n) in self.counts[class].iter().enumerate() {
            seen += n;
            if seen >= 1 && seen * 1000 >= total * per_mille {
                return (1u64 << (bucket + 1)).min(self.max_us[class]);
            }
        }
        self.max_us[class]
    }

    /// `debugfs/cmabuf/<pool>/latency`.
    pub(crate) fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("# allocation latency, microseconds, log2 buckets; 'echo reset' clears\n")?;
        f.write_str("class    count      p50      p90      p99      max\n")?;
        for (class, name) in CLASS_NAMES.iter().enumerate() {
            let count: u64 = self.counts[class].iter().sum();
            f.write_fmt(fmt!(
                "{:<6} {:>7} {:>8} {:>8} {:>8} {:>8}\n",
                name,
                dec(count),
                dec(self.percentile(class, 500)),
                dec(self.percentile(class, 900)),
                dec(self.percentile(class, 990)),
                dec(self.max_us[class])
            ))?;
        }
        f.write_str("\nclass  bucket_us  count\n")?;
        for (class, name) in CLASS_NAMES.iter().enumerate() {
            for (bucket, &n) in self.counts[class].iter().enumerate() {
                if n != 0 {
                    f.write_fmt(fmt!(
                        "{:<6} <{:<9} {}\n",
                        name,
                        dec(1u64 << (bucket + 1)),
                        dec(n)
                    ))?;
                }
            }
        }
        Ok(())
    }
}

/// Nanoseconds since `start` (0 if the clock seems to have gone back).
pub(crate) fn nanos_since(start: Instant<Monotonic>) -> u64 {
    start.elapsed().as_nanos().max(0) as u64
}

/// Runs `f` and adds the nanoseconds it took to `ns`.
pub(crate) fn timed<R>(ns: &mut u64, f: impl FnOnce() -> R) -> R {
    let start = Instant::<Monotonic>::now();
    let result = f();
    *ns += nanos_since(start);
    result
}

/// Where the time of one allocation or `CMABUF_IOC_PREPARE` went, in nanoseconds,
/// gathered in locals on the way and added to the pool's [`Profile`] under the lock the
/// path takes anyway at its end.
#[derive(Default)]
pub(crate) struct Stages {
    /// Served from the warm cache (no `cma_alloc`).
    pub(crate) cache_hit: bool,
    /// How often `cma_alloc` was called.
    pub(crate) attempts: u32,
    /// Inside `cma_alloc`, every attempt.
    pub(crate) cma_alloc_ns: u64,
    /// cmabuf's work for room around it: `make_room` (first fit, cached runs given
    /// back, waits for the background zeroing) and what happens between attempts.
    pub(crate) room_ns: u64,
    /// Zeroing the pages (`CmaPages::clear`), and waiting for the background work to
    /// finish zeroing the cached run handed out.
    pub(crate) zero_ns: u64,
    /// Cleaning the CPU caches over them (`CmaPages::clean_dcache`).
    pub(crate) clean_ns: u64,
    /// The vm event snapshots around `cma_alloc` (the migration statistics).
    pub(crate) vm_events_ns: u64,
}

/// Where the pool's allocation time went (`debugfs/cmabuf/<pool>/profile`): served
/// allocations and their stages, the background zeroing, `CMABUF_IOC_PREPARE`. All
/// times in nanoseconds.
#[derive(Clone, Copy, Default)]
pub(crate) struct Profile {
    allocs: u64,
    cache_hits: u64,
    alloc_ns: u64,
    cma_alloc_ns: u64,
    room_ns: u64,
    zero_ns: u64,
    clean_ns: u64,
    vm_events_ns: u64,
    bg_zero_ns: u64,
    bg_zero_bytes: u64,
    prepare_calls: u64,
    prepare_ns: u64,
    prepare_cma_alloc_ns: u64,
    prepare_zero_ns: u64,
}

impl Profile {
    /// Counts a served allocation that took `ns` in all, `stages` of it measured.
    pub(crate) fn add_alloc(&mut self, ns: u64, stages: &Stages) {
        self.allocs += 1;
        self.cache_hits += u64::from(stages.cache_hit);
        self.alloc_ns += ns;
        self.cma_alloc_ns += stages.cma_alloc_ns;
        self.room_ns += stages.room_ns;
        self.zero_ns += stages.zero_ns;
        self.clean_ns += stages.clean_ns;
        self.vm_events_ns += stages.vm_events_ns;
    }

    /// Counts the background zeroing of `bytes` that took `ns`.
    pub(crate) fn add_bg_zero(&mut self, ns: u64, bytes: u64) {
        self.bg_zero_ns += ns;
        self.bg_zero_bytes += bytes;
    }

    /// Counts a `CMABUF_IOC_PREPARE` call that took `ns` in all, `stages` of it measured.
    pub(crate) fn add_prepare(&mut self, ns: u64, stages: &Stages) {
        self.prepare_calls += 1;
        self.prepare_ns += ns;
        self.prepare_cma_alloc_ns += stages.cma_alloc_ns;
        self.prepare_zero_ns += stages.zero_ns;
    }

    /// What allocations spent outside the measured stages: cmabuf's own bookkeeping.
    fn own_ns(&self) -> u64 {
        let stages =
            self.cma_alloc_ns + self.room_ns + self.zero_ns + self.clean_ns + self.vm_events_ns;
        self.alloc_ns.saturating_sub(stages)
    }

    /// `debugfs/cmabuf/<pool>/profile`: one `key: value` per line.
    pub(crate) fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // In the order of `Documentation/cmabuf.rst`; user space parses the names.
        let fields = [
            ("allocs", self.allocs),
            ("cache_hits", self.cache_hits),
            ("cma_allocs", self.allocs - self.cache_hits),
            ("alloc_ns", self.alloc_ns),
            ("cma_alloc_ns", self.cma_alloc_ns),
            ("room_ns", self.room_ns),
            ("zero_ns", self.zero_ns),
            ("clean_ns", self.clean_ns),
            ("vm_events_ns", self.vm_events_ns),
            ("own_ns", self.own_ns()),
            ("bg_zero_ns", self.bg_zero_ns),
            ("bg_zero_bytes", self.bg_zero_bytes),
            ("prepare_calls", self.prepare_calls),
            ("prepare_ns", self.prepare_ns),
            ("prepare_cma_alloc_ns", self.prepare_cma_alloc_ns),
            ("prepare_zero_ns", self.prepare_zero_ns),
        ];
        for (name, value) in fields {
            f.write_fmt(fmt!("{}: {}\n", name, dec(value)))?;
        }
        Ok(())
    }
}

/// Why allocations failed, counted.
#[derive(Clone, Copy, Default)]
pub(crate) struct Failures {
    /// `EINVAL`: the request itself was wrong.
    pub(crate) invalid: u64,
    /// `ENOMEM`: no free run large enough by cmabuf's own count.
    pub(crate) no_room: u64,
    /// `EBUSY`: room by count, but the pages could not be had (migration failed).
    pub(crate) busy: u64,
    /// `EDQUOT`: a pool or process limit.
    pub(crate) limit: u64,
    /// `EDQUOT`: the cgroup's `dmem.max`.
    pub(crate) dmem: u64,
    /// `EINTR` and other errors (killed while zeroing, no memory for bookkeeping).
    pub(crate) other: u64,
}

impl Failures {
    /// All failed allocations, whatever the reason.
    pub(crate) fn total(&self) -> u64 {
        self.invalid + self.no_room + self.busy + self.limit + self.dmem + self.other
    }
}

/// The migration and compaction work done while allocating, from `/proc/vmstat`
/// deltas taken around `cma_alloc`. Concurrent activity elsewhere blurs them.
#[derive(Clone, Copy, Default)]
pub(crate) struct Migration {
    pub(crate) migrated: u64,
    pub(crate) migrate_failed: u64,
    pub(crate) compact_isolated: u64,
    pub(crate) compact_migrate_scanned: u64,
}

impl Migration {
    /// The work between two snapshots.
    pub(crate) fn between(before: &VmEvents, after: &VmEvents) -> Self {
        let d = |a: u64, b: u64| b.saturating_sub(a);
        Self {
            migrated: d(
                before.pgmigrate_success as u64,
                after.pgmigrate_success as u64,
            ),
            migrate_failed: d(before.pgmigrate_fail as u64, after.pgmigrate_fail as u64),
            compact_isolated: d(
                before.compact_isolated as u64,
                after.compact_isolated as u64,
            ),
            compact_migrate_scanned: d(
                before.compact_migrate_scanned as u64,
                after.compact_migrate_scanned as u64,
            ),
        }
    }

    /// Adds `other` to `self`.
    pub(crate) fn add(&mut self, other: &Migration) {
        self.migrated += other.migrated;
        self.migrate_failed += other.migrate_failed;
        self.compact_isolated += other.compact_isolated;
        self.compact_migrate_scanned += other.compact_migrate_scanned;
    }
}

/// The most recent failed allocation.
pub(crate) struct LastFailure {
    pub(crate) bytes: u64,
    pub(crate) errno: i32,
    pub(crate) reason: &'static str,
    pub(crate) attempts: u32,
    pub(crate) pid: i32,
    pub(crate) when: Instant<Monotonic>,
    pub(crate) migration: Migration,
    /// What the pool's pages outside cmabuf buffers were, right after the failure.
    pub(crate) census: Option<Census>,
}

/// Names of the census' page kinds, in `enum cmabuf_page_kind` order.
const KIND_NAMES: [&str; 6] = [
    "free",
    "movable",
    "pinned",
    "unmovable",
    "reserved",
    "other",
];

impl LastFailure {
    /// `debugfs/cmabuf/<pool>/last_failure`.
    pub(crate) fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_fmt(fmt!("size: {}\n", dec(self.bytes)))?;
        f.write_fmt(fmt!("errno: {}\n", self.errno))?;
        f.write_fmt(fmt!("reason: {}\n", self.reason))?;
        f.write_fmt(fmt!("attempts: {}\n", self.attempts))?;
        f.write_fmt(fmt!("pid: {}\n", self.pid))?;
        f.write_fmt(fmt!("age_ms: {}\n", dec(self.when.elapsed().as_millis())))?;
        f.write_fmt(fmt!("migrated_pages: {}\n", dec(self.migration.migrated)))?;
        f.write_fmt(fmt!(
            "migrate_failed_pages: {}\n",
            dec(self.migration.migrate_failed)
        ))?;
        let Some(census) = &self.census else {
            return f.write_str("census: none\n");
        };
        for (kind, name) in KIND_NAMES.iter().enumerate() {
            f.write_fmt(fmt!("census_{}: {}\n", name, census.pages[kind]))?;
        }
        let samples = (census.nr_samples as usize).min(census.sample_pfn.len());
        for i in 0..samples {
            let kind = KIND_NAMES
                .get(census.sample_kind[i] as usize)
                .unwrap_or(&"?");
            f.write_fmt(fmt!(
                "sample: pfn {:#x} {} flags {:#x} refs {}\n",
                census.sample_pfn[i],
                kind,
                census.sample_flags[i],
                census.sample_refs[i]
            ))?;
        }
        Ok(())
    }
}

#[kunit_tests(cmabuf_stats)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_log2_microseconds() {
        let mut l = Latency::new();
        l.record(4096, 0);
        l.record(4096, 1);
        l.record(4096, 3);
        l.record(4096, 1000);
        assert_eq!(l.counts[0][0], 2);
        assert_eq!(l.counts[0][1], 1);
        assert_eq!(l.counts[0][9], 1);
        assert_eq!(l.max_us[0], 1000);
        l.record(u64::MAX, u64::MAX);
        assert_eq!(l.counts[3][BUCKETS - 1], 1);
    }

    #[test]
    fn profile_own_is_what_the_stages_leave() {
        let mut p = Profile::default();
        let cma = Stages {
            cma_alloc_ns: 500,
            room_ns: 10,
            zero_ns: 300,
            clean_ns: 50,
            vm_events_ns: 40,
            ..Stages::default()
        };
        p.add_alloc(1000, &cma);
        p.add_alloc(
            200,
            &Stages {
                cache_hit: true,
                ..Stages::default()
            },
        );
        assert_eq!((p.allocs, p.cache_hits, p.alloc_ns), (2, 1, 1200));
        assert_eq!(p.own_ns(), 1200 - 900);
        // Stages measured longer than the whole (clock granularity): no wrap-around.
        let mut q = Profile::default();
        q.add_alloc(800, &cma);
        assert_eq!(q.own_ns(), 0);
    }

    #[test]
    fn percentiles_pick_the_bucket_of_the_rank() {
        let mut l = Latency::new();
        for _ in 0..90 {
            l.record(1 << 20, 100);
        }
        for _ in 0..10 {
            l.record(1 << 20, 5000);
        }
        assert_eq!(l.percentile(1, 500), 128);
        assert_eq!(l.percentile(1, 900), 128);
        assert_eq!(l.percentile(1, 990), 5000);
        assert_eq!(l.percentile(0, 500), 0);
    }
}
