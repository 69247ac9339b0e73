// SPDX-License-Identifier: GPL-2.0

//! The pool's books, kept under `Allocator::ledger`: every run cmabuf holds, what is
//! charged to whom, the limits' arithmetic, stranded pages, and the counters debugfs
//! shows. Nothing here sleeps except `GFP_KERNEL` allocations, and nothing here takes
//! another lock (stranded pages, in [`super::stranded`], may take `REGISTRY`).

use super::{
    arena::Arena,
    cache::{
        CacheStats,
        Cached, //
    },
    places::Places,
    ranges::{
        swap_remove,
        Range, //
    },
    reservation::Reserved,
    stranded::Stranded,
};
use crate::{
    buffer::BufferStatus,
    ffi::{
        mm,
        PidRef, //
    },
    region::Limits,
    stats::{
        Failures,
        LastFailure,
        Latency,
        Migration,
        Profile, //
    },
    uapi::CacheMode,
};
use kernel::{
    alloc::KVVec,
    page::PAGE_SHIFT,
    prelude::*,
    rbtree::RBTree,
    str::CString,
    sync::Arc,
    time::{
        Instant,
        Monotonic, //
    },
};

/// What debugfs shows of a live or stranded buffer besides its range.
pub(super) struct BufferMeta {
    pub(super) id: u32,
    /// Its run's first page (in `Ledger::places`).
    pub(super) first: u64,
    pub(super) cache: CacheMode,
    /// The process it is charged to (`CMABUF_ALLOC_FOR_CLIENT`: the client).
    pub(super) owner: PidRef,
    /// The owner's command name when it was allocated.
    pub(super) comm: [u8; 16],
    /// The process that allocated it for `owner` (its pid in the initial pid
    /// namespace), when that is another one: its cgroup carries the dmem charge.
    pub(super) by: Option<i32>,
    pub(super) created: Instant<Monotonic>,
    pub(super) status: Arc<BufferStatus>,
    /// Freed, but its pages are still referenced (a pipe, I/O in flight).
    pub(super) stranded: bool,
    /// Its size in pages when it is a piece of the small-buffer arena (no range of its
    /// own in `places`); 0 otherwise.
    pub(super) arena_pages: u64,
}

impl BufferMeta {
    /// A live buffer being created now by the current task for `owner`.
    pub(super) fn new(cache: CacheMode, owner: &PidRef, status: Arc<BufferStatus>) -> Self {
        let by = PidRef::current().ok().filter(|me| !me.same(owner));
        Self {
            id: 0,
            first: 0,
            cache,
            owner: owner.clone(),
            comm: if by.is_some() {
                owner.comm()
            } else {
                mm::current_comm()
            },
            by: by.map(|me| me.nr()),
            created: Instant::now(),
            status,
            stranded: false,
            arena_pages: 0,
        }
    }
}

/// What one process (thread group) holds in the pool, keyed by its `struct pid`: pid
/// numbers differ between pid namespaces and are reused.
struct ProcessUsage {
    owner: PidRef,
    bytes: u64,
    buffers: u64,
}

/// Allocations of one process not in the books yet (`CMABUF_IOC_QUERY`'s simulated
/// ones), for [`Ledger::check_limits`].
#[derive(Clone, Copy, Default)]
pub(super) struct Ahead {
    pub(super) pages: u64,
    pub(super) buffers: u64,
}

/// Which limit an allocation would break.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum LimitHit {
    Bytes(u64),
    Buffers(u64),
    ProcessBytes(u64),
    ProcessBuffers(u64),
    /// No memory to track the process: not a limit, `ENOMEM`.
    NoMemory,
}

/// What the pool holds. `places` are the places of every run, `meta` what debugfs shows
/// of each buffer by id (both cost O(log n) per change or lookup); the counters also
/// include allocations in flight, so limits hold under concurrency.
///
/// `stranded` always has capacity for every live buffer and cached run besides its own
/// entries, so that a buffer or run that turns out to be still referenced can always
/// be kept (never dropped, so never lost): see [`Ledger::reserve_stranded_slot`].
pub(super) struct Ledger {
    /// The pool's name, for the trace events emitted under the lock.
    pub(super) pool: CString,
    pub(super) places: Places,
    pub(super) meta: RBTree<u32, BufferMeta>,
    processes: KVec<ProcessUsage>,
    /// Room for one entry per run (see above): `kvmalloc`, since with thousands of
    /// buffers it outgrows what `kmalloc` can be sure to find contiguous.
    pub(super) stranded: KVVec<Stranded>,
    /// Live buffers (not stranded, not in the warm cache).
    pub(super) live: usize,
    /// Pages charged: live, stranded and prepared runs and allocations in flight.
    pub(super) used_pages: u64,
    /// Buffers charged: the same runs, counted one each.
    pub(super) buffers: u64,
    pub(super) peak_pages: u64,
    pub(super) next_id: u32,
    pub(super) allocations: u64,
    /// Of those, through the pool's dma-heap.
    pub(super) heap_allocations: u64,
    pub(super) frees: u64,
    pub(super) failures: Failures,
    pub(super) latency: Latency,
    /// Where allocation time went, by stage.
    pub(super) profile: Profile,
    pub(super) migration: Migration,
    pub(super) last_failure: Option<LastFailure>,
    /// The warm cache: freed or prepared runs kept for the next allocation of their size.
    pub(super) cache: KVec<Cached>,
    /// Once the pool is unbound nothing more is cached.
    pub(super) cache_closed: bool,
    pub(super) cache_stats: CacheStats,
    /// The small-buffer arena, if the pool has one (`small_arena_bytes`).
    pub(super) arena: Option<Arena>,
}

impl Ledger {
    /// An empty pool's books, for pool `pool`.
    pub(super) fn new(pool: CString) -> Result<Self> {
        Ok(Self {
            pool,
            places: Places::new()?,
            meta: RBTree::new(),
            processes: KVec::new(),
            stranded: KVVec::new(),
            live: 0,
            used_pages: 0,
            buffers: 0,
            peak_pages: 0,
            next_id: 1,
            allocations: 0,
            heap_allocations: 0,
            frees: 0,
            failures: Failures::default(),
            latency: Latency::new(),
            profile: Profile::default(),
            migration: Migration::default(),
            last_failure: None,
            cache: KVec::new(),
            cache_closed: false,
            cache_stats: CacheStats::default(),
            arena: None,
        })
    }

    /// Drops the range starting at page `first`: its pages are back in the area.
    pub(super) fn forget_range(&mut self, first: u64) {
        self.places.remove(first);
    }

    /// Drops what debugfs shows of buffer `id`.
    pub(super) fn forget_meta(&mut self, id: u32) {
        self.meta.remove(&id);
    }

    /// Counts an allocation of `pages` for `owner` in advance, unless a limit forbids it:
    /// the pool's limits first, then the process's.
    pub(super) fn reserve(
        &mut self,
        limits: &Limits,
        owner: &PidRef,
        pages: u64,
    ) -> Result<Reserved, LimitHit> {
        let bytes = pages << PAGE_SHIFT;
        let pos = self.check_limits(limits, owner, pages, Ahead::default())?;
        match pos {
            Some(i) => {
                let p = &mut self.processes[i];
                p.bytes += bytes;
                p.buffers += 1;
            }
            None => {
                // Without room to track the process its limits cannot hold: refuse.
                let entry = ProcessUsage {
                    owner: owner.clone(),
                    bytes,
                    buffers: 1,
                };
                if self.processes.push(entry, GFP_KERNEL).is_err() {
                    return Err(LimitHit::NoMemory);
                }
            }
        }
        self.used_pages += pages;
        self.buffers += 1;
        Ok(Reserved::new(pages))
    }

    /// Whether the limits let `owner` have one more buffer of `pages` pages once the
    /// `ahead` allocations (its own, not in the books) are counted too: the pool's
    /// limits first, then the process's. On success, where `owner` is in `processes`.
    pub(super) fn check_limits(
        &self,
        limits: &Limits,
        owner: &PidRef,
        pages: u64,
        ahead: Ahead,
    ) -> Result<Option<usize>, LimitHit> {
        let bytes = pages << PAGE_SHIFT;
        let over = |limit: u64, value: u64| limit != 0 && value > limit;
        let used = self.used_pages + ahead.pages + pages;
        if over(limits.max_bytes, used << PAGE_SHIFT) {
            return Err(LimitHit::Bytes(limits.max_bytes));
        }
        if over(limits.max_buffers, self.buffers + ahead.buffers + 1) {
            return Err(LimitHit::Buffers(limits.max_buffers));
        }
        let pos = self.processes.iter().position(|p| p.owner.same(owner));
        let (held_bytes, held_buffers) = pos.map_or((0, 0), |i| {
            (self.processes[i].bytes, self.processes[i].buffers)
        });
        if over(
            limits.max_process_bytes,
            held_bytes + (ahead.pages << PAGE_SHIFT) + bytes,
        ) {
            return Err(LimitHit::ProcessBytes(limits.max_process_bytes));
        }
        if over(limits.max_process_buffers, held_buffers + ahead.buffers + 1) {
            return Err(LimitHit::ProcessBuffers(limits.max_process_buffers));
        }
        Ok(pos)
    }

    /// Undoes [`Ledger::reserve`] (through [`Reserved`] and [`Reservation`], or for a
    /// run whose charges the ledger kept); with no `owner`, the count of pages charged to
    /// nobody (adopted or stranded freed runs) goes down instead.
    pub(super) fn unreserve(&mut self, owner: Option<&PidRef>, pages: u64) {
        self.used_pages -= pages;
        let Some(owner) = owner else { return };
        self.buffers -= 1;
        if let Some(pos) = self.processes.iter().position(|p| p.owner.same(owner)) {
            let p = &mut self.processes[pos];
            p.bytes -= pages << PAGE_SHIFT;
            p.buffers -= 1;
            if p.buffers == 0 {
                let _ = swap_remove(&mut self.processes, pos);
            }
        }
    }

    /// Places a run just taken from the CMA area at page `first` in the books under a
    /// new id, returned, before the buffer made of it is ready ([`Ledger::record`]).
    pub(super) fn place(&mut self, first: u64, pages: u64) -> Result<u32> {
        self.skip_ids_in_use();
        let id = self.next_id;
        self.insert_range(Range {
            id,
            first,
            pages,
            cached: false,
        })?;
        Ok(id)
    }

    /// Records the buffer made of the run placed as `id` at page `first`: what debugfs
    /// shows of it.
    pub(super) fn record(&mut self, id: u32, first: u64, mut meta: BufferMeta) -> Result {
        meta.id = id;
        meta.first = first;
        self.reserve_stranded_slot()?;
        self.meta.try_create_and_insert(id, meta, GFP_KERNEL)?;
        self.live += 1;
        self.allocations += 1;
        Ok(())
    }

    /// Records a buffer made of the cached run `old_id` at page `first`: the range is
    /// the buffer's now, under a new id, returned.
    pub(super) fn record_renamed(
        &mut self,
        old_id: u32,
        first: u64,
        mut meta: BufferMeta,
    ) -> Result<u32> {
        self.skip_ids_in_use();
        let id = self.next_id;
        meta.id = id;
        meta.first = first;
        if self.places.get(first).map(|r| r.id) != Some(old_id) {
            return Err(EINVAL);
        }
        // Taken out of the cache, the run is neither cached nor live until now: a
        // `record` in between did not count it, so the slot is reserved here.
        self.reserve_stranded_slot()?;
        self.meta.try_create_and_insert(id, meta, GFP_KERNEL)?;
        if let Err(e) = self.places.rename(first, id) {
            self.forget_meta(id);
            return Err(e);
        }
        self.places.set_cached(first, false);
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.live += 1;
        self.allocations += 1;
        Ok(id)
    }

    /// Moves `next_id` past the ids of buffers still alive: after 2^32 allocations ids
    /// wrap around, and one buffer's record must never replace another's.
    fn skip_ids_in_use(&mut self) {
        while self.meta.get(&self.next_id).is_some() {
            self.next_id = self.next_id.wrapping_add(1).max(1);
        }
    }

    /// A fresh id for a buffer without a range of its own (a piece of the arena).
    pub(super) fn take_id(&mut self) -> u32 {
        self.skip_ids_in_use();
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        id
    }

    /// Records `range` (whose id is `next_id`) and moves `next_id` on.
    pub(super) fn insert_range(&mut self, range: Range) -> Result {
        self.places.insert(range)?;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        Ok(())
    }
}

#[kunit_tests(cmabuf_ledger)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn pages(bytes: u64) -> u64 {
        bytes >> PAGE_SHIFT
    }

    fn limits(
        max_bytes: u64,
        max_buffers: u64,
        process_bytes: u64,
        process_buffers: u64,
    ) -> Limits {
        Limits {
            max_bytes,
            max_buffers,
            max_process_bytes: process_bytes,
            max_process_buffers: process_buffers,
        }
    }

    /// Undoes the reservations that were granted. (No `unwrap`: `LimitHit`'s `Debug`
    /// would bring in the 64-bit decimal formatting that 32-bit ARM cannot link.)
    fn undo_all<const N: usize>(
        ledger: &mut Ledger,
        me: &PidRef,
        granted: [Result<Reserved, LimitHit>; N],
    ) {
        for r in granted.into_iter().flatten() {
            r.undo(ledger, me);
        }
    }

    #[test]
    fn no_limit_is_zero() {
        let mut ledger = Ledger::new(CString::try_from(c"test").unwrap()).unwrap();
        let me = PidRef::current().unwrap();
        let a = ledger.reserve(&Limits::default(), &me, pages(64 * MIB));
        assert!(a.is_ok());
        assert_eq!(ledger.used_pages, pages(64 * MIB));
        assert_eq!(ledger.buffers, 1);
        assert_eq!(ledger.processes.len(), 1);
        undo_all(&mut ledger, &me, [a]);
        assert_eq!(ledger.used_pages, 0);
        assert_eq!(ledger.buffers, 0);
        assert_eq!(ledger.processes.len(), 0);
    }

    #[test]
    fn pool_bytes_limit_is_inclusive() {
        let mut ledger = Ledger::new(CString::try_from(c"test").unwrap()).unwrap();
        let me = PidRef::current().unwrap();
        let l = limits(8 * MIB, 0, 0, 0);
        let a = ledger.reserve(&l, &me, pages(5 * MIB));
        assert!(a.is_ok());
        let refused = ledger.reserve(&l, &me, pages(4 * MIB)).err();
        assert_eq!(refused, Some(LimitHit::Bytes(8 * MIB)));
        // A refusal changes nothing.
        assert_eq!(ledger.used_pages, pages(5 * MIB));
        assert_eq!(ledger.buffers, 1);
        let b = ledger.reserve(&l, &me, pages(3 * MIB));
        assert!(b.is_ok());
        assert_eq!(ledger.used_pages, pages(8 * MIB));
        undo_all(&mut ledger, &me, [a, b]);
        assert_eq!(ledger.used_pages, 0);
    }

    #[test]
    fn pool_buffers_limit() {
        let mut ledger = Ledger::new(CString::try_from(c"test").unwrap()).unwrap();
        let me = PidRef::current().unwrap();
        let l = limits(0, 2, 0, 0);
        let a = ledger.reserve(&l, &me, 1);
        let b = ledger.reserve(&l, &me, 1);
        assert!(a.is_ok() && b.is_ok());
        assert_eq!(ledger.reserve(&l, &me, 1).err(), Some(LimitHit::Buffers(2)));
        undo_all(&mut ledger, &me, [a]);
        let c = ledger.reserve(&l, &me, 1);
        assert!(c.is_ok());
        undo_all(&mut ledger, &me, [b, c]);
        assert_eq!(ledger.buffers, 0);
    }

    #[test]
    fn process_limits_after_pool_limits() {
        let mut ledger = Ledger::new(CString::try_from(c"test").unwrap()).unwrap();
        let me = PidRef::current().unwrap();
        let l = limits(0, 0, 4 * MIB, 3);
        let a = ledger.reserve(&l, &me, pages(3 * MIB));
        assert!(a.is_ok());
        let refused = ledger.reserve(&l, &me, pages(2 * MIB)).err();
        assert_eq!(refused, Some(LimitHit::ProcessBytes(4 * MIB)));
        let b = ledger.reserve(&l, &me, pages(MIB / 2));
        let c = ledger.reserve(&l, &me, pages(MIB / 4));
        assert!(b.is_ok() && c.is_ok());
        let refused = ledger.reserve(&l, &me, 1).err();
        assert_eq!(refused, Some(LimitHit::ProcessBuffers(3)));
        // Both a pool and a process limit broken: the pool's is the one reported.
        let both = limits(3 * MIB, 0, 3 * MIB, 0);
        let refused = ledger.reserve(&both, &me, pages(MIB)).err();
        assert_eq!(refused, Some(LimitHit::Bytes(3 * MIB)));
        undo_all(&mut ledger, &me, [a, b, c]);
        assert_eq!(ledger.processes.len(), 0);
        assert_eq!(ledger.used_pages, 0);
    }

    #[test]
    fn ownerless_pages_leave_buffers_alone() {
        let mut ledger = Ledger::new(CString::try_from(c"test").unwrap()).unwrap();
        let me = PidRef::current().unwrap();
        let a = ledger.reserve(&Limits::default(), &me, 10);
        assert!(a.is_ok());
        // An adopted orphan: charged to nobody.
        ledger.used_pages += 5;
        ledger.unreserve(None, 5);
        assert_eq!(ledger.used_pages, 10);
        assert_eq!(ledger.buffers, 1);
        undo_all(&mut ledger, &me, [a]);
        assert_eq!((ledger.used_pages, ledger.buffers), (0, 0));
    }
}
