// SPDX-License-Identifier: GPL-2.0

//! The pool's sysfs files, `/sys/class/misc/cmabuf-<name>/`: the stable ABI of its use,
//! counters and limits (`Documentation/ABI/testing/sysfs-driver-cmabuf`), one value
//! per file. The numbers are those `CMABUF_IOC_POOL_INFO` and debugfs's `info` give,
//! from the same sources: [`Allocator::snapshot`], [`Allocator::counters`] and the
//! pool's limits.

use crate::{
    allocator::Allocator,
    chardev::PoolFile,
    ffi::sysfs::{
        PoolAttribute,
        PoolAttributes, //
    },
};
use kernel::sync::Arc;

impl PoolAttributes for PoolFile {
    fn value(allocator: &Arc<Allocator>, attr: PoolAttribute) -> u64 {
        use PoolAttribute::*;
        let limits = &allocator.limits;
        match attr {
            Size => allocator.size,
            Used => allocator.snapshot().used,
            Free => allocator.snapshot().free,
            LargestFree => allocator.snapshot().largest_free,
            Buffers => allocator.snapshot().buffers,
            PeakUsed => allocator.counters().peak_used,
            AllocSuccesses => allocator.counters().allocations,
            AllocFailures => allocator.counters().failures.total(),
            MigratedPages => allocator.counters().migrated_pages,
            Cached => allocator.counters().cached,
            CacheLimit => crate::params::cache_parameters().0,
            MaxBytes => limits.max_bytes,
            MaxBuffers => limits.max_buffers,
            MaxProcessBytes => limits.max_process_bytes,
            MaxProcessBuffers => limits.max_process_buffers,
            FailuresInvalid => allocator.counters().failures.invalid,
            FailuresNoRoom => allocator.counters().failures.no_room,
            FailuresMigration => allocator.counters().failures.busy,
            FailuresLimit => allocator.counters().failures.limit,
            FailuresDmem => allocator.counters().failures.dmem,
            FailuresOther => allocator.counters().failures.other,
        }
    }
}
