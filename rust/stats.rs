// SPDX-License-Identifier: GPL-2.0

//! What a pool counts about its allocations: latency by size class, failures by
//! reason, migration attributed to the pool, and the last failure with a census of the
//! pages that were in the way.

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
