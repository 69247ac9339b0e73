// SPDX-License-Identifier: GPL-2.0

//! Why an allocation failed: the counters and `last_failure` in debugfs, the census of
//! what holds the pool's pages when migration failed, and the rate-limited lines that
//! say which limit refused a buffer.

use super::{
    ledger::LimitHit,
    ranges,
    Allocator, //
};
use crate::{
    ffi::decimal::dec,
    ffi::{
        mm,
        tracing,
        Census, //
    },
    stats::{
        LastFailure,
        Migration, //
    },
    uapi,
};
use kernel::{
    alloc::KVVec,
    page::PAGE_SHIFT,
    prelude::*,
    time::Instant, //
};

/// Why an allocation failed, for the counters and `last_failure`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum FailureKind {
    NoRoom,
    Limit,
    Dmem,
    Busy,
    Other,
}

impl FailureKind {
    /// The reason's name in the `cmabuf_alloc_fail` trace event (as in the names of the
    /// `failures_*` counters in debugfs).
    fn name(self) -> &'static CStr {
        match self {
            Self::NoRoom => c"no_room",
            Self::Limit => c"limit",
            Self::Dmem => c"dmem",
            Self::Busy => c"busy",
            Self::Other => c"other",
        }
    }
}

/// A failed allocation on its way out of `try_alloc`.
pub(super) struct Failure {
    pub(super) err: Error,
    pub(super) kind: FailureKind,
    /// How often `cma_alloc` was tried.
    pub(super) attempts: u32,
}

impl Failure {
    pub(super) fn new(err: Error, kind: FailureKind) -> Self {
        Self {
            err,
            kind,
            attempts: 0,
        }
    }
}

/// Any other error: interrupted, or no memory for the bookkeeping.
impl From<Error> for Failure {
    fn from(err: Error) -> Self {
        Self::new(err, FailureKind::Other)
    }
}

impl Allocator {
    /// Says which limit refused an allocation (rate-limited) and makes the failure.
    pub(super) fn refuse(&self, hit: LimitHit, pid: i32, bytes: u64) -> Failure {
        if hit == LimitHit::NoMemory {
            return Failure::new(ENOMEM, FailureKind::Other);
        }
        self.report_limit(hit, pid, bytes);
        Failure::new(uapi::edquot(), FailureKind::Limit)
    }

    /// The failure for a dmem charge that did not go through, said once (rate-limited).
    pub(super) fn dmem_refused(&self, e: Error, pid: i32, bytes: u64) -> Failure {
        if e != uapi::edquot() {
            // The owner exited while its buffer was made (ESRCH), or the kernel could not
            // start or move the thread that charges another process's cgroup.
            if self.ratelimit.allow() {
                pr_err!(
                    "{}: pid {}: its dmem cgroup could not be charged (error {}): buffer of {} bytes refused\n",
                    &*self.name,
                    pid,
                    e.to_errno(),
                    dec(bytes)
                );
            }
            return Failure::new(e, FailureKind::Other);
        }
        // dmem counts bytes in a page_counter, whose most is LONG_MAX: on a 32-bit kernel
        // no cgroup, the root neither, can hold 2 GiB, whatever its dmem.max.
        if !self.ratelimit.allow() {
            return Failure::new(e, FailureKind::Dmem);
        }
        if bytes > isize::MAX as u64 {
            pr_err!(
                "{}: pid {}: buffer of {} bytes refused: more than dmem can count on a 32-bit kernel (2 GiB less a byte per cgroup); allocate less than 2 GiB at once\n",
                &*self.name,
                pid,
                dec(bytes)
            );
        } else {
            pr_err!(
                "{}: pid {}: dmem.max of its cgroup reached: buffer of {} bytes refused\n",
                &*self.name,
                pid,
                dec(bytes)
            );
        }
        Failure::new(e, FailureKind::Dmem)
    }

    /// Counts a failed allocation and keeps it as `last_failure`, with a census of the
    /// pool's pages outside cmabuf buffers when migration was what failed.
    pub(super) fn record_failure(
        &self,
        bytes: u64,
        pid: i32,
        failure: &Failure,
        migration: Migration,
    ) {
        let census = if failure.kind == FailureKind::Busy {
            self.census()
        } else {
            None
        };
        tracing::alloc_fail(|| tracing::AllocFail {
            pool: &self.name,
            size: bytes,
            tgid: pid,
            errno: -failure.err.to_errno(),
            reason: failure.kind.name(),
            pfn: census.as_ref().and_then(Census::first_sample),
            attempts: failure.attempts,
        });
        let reason = match failure.kind {
            FailureKind::NoRoom => "no free run large enough in the pool",
            FailureKind::Limit => "a pool or process limit",
            FailureKind::Dmem => "the cgroup's dmem.max",
            FailureKind::Busy => {
                "pages in the pool could not be migrated away or are held by another CMA user"
            }
            FailureKind::Other => "interrupted, or no memory for bookkeeping",
        };
        let mut ledger = self.ledger.lock();
        let f = &mut ledger.failures;
        match failure.kind {
            FailureKind::NoRoom => f.no_room += 1,
            FailureKind::Limit => f.limit += 1,
            FailureKind::Dmem => f.dmem += 1,
            FailureKind::Busy => f.busy += 1,
            FailureKind::Other => f.other += 1,
        }
        ledger.migration.add(&migration);
        ledger.last_failure = Some(LastFailure {
            bytes,
            errno: -failure.err.to_errno(),
            reason,
            attempts: failure.attempts,
            pid,
            when: Instant::now(),
            migration,
            census,
        });
    }

    /// What the pool's pages outside cmabuf's runs are now (pools with a known base).
    pub(super) fn census(&self) -> Option<Census> {
        let base_pfn = self.base? >> PAGE_SHIFT;
        let gaps: KVVec<(u64, u64)> = {
            let ledger = self.ledger.lock();
            let mut gaps = KVVec::new();
            for gap in ranges::gaps(ledger.places.iter(), self.total_pages()) {
                gaps.push(gap, GFP_KERNEL).ok()?;
            }
            gaps
        };
        let mut census = Census::default();
        for (start, end) in gaps.iter() {
            mm::census(&mut census, base_pfn + start, end - start);
        }
        Some(census)
    }

    /// Says which limit refused an allocation (rate-limited).
    pub(super) fn report_limit(&self, hit: LimitHit, pid: i32, bytes: u64) {
        if !self.ratelimit.allow() {
            return;
        }
        let (property, parameter, limit) = match hit {
            LimitHit::Bytes(l) => ("cmabuf,max-bytes", "max_bytes", l),
            LimitHit::Buffers(l) => ("cmabuf,max-buffers", "max_buffers", l),
            LimitHit::ProcessBytes(l) => ("cmabuf,max-process-bytes", "max_process_bytes", l),
            LimitHit::ProcessBuffers(l) => ("cmabuf,max-process-buffers", "max_process_buffers", l),
            LimitHit::NoMemory => return,
        };
        pr_err!(
            "{}: pid {}: buffer of {} bytes refused: limit of {} reached (DT {}, module parameter {})\n",
            &*self.name,
            pid,
            dec(bytes),
            dec(limit),
            property,
            parameter
        );
    }
}
