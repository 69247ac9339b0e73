// SPDX-License-Identifier: GPL-2.0

//! A pool's memory: allocating buffers from its CMA area, and knowing where they are.
//!
//! The allocator outlives the pool's binding while any of its buffers lives: unbinding
//! the device removes `/dev/cmabuf-<name>`, but memory is given back only when the last
//! buffer goes, and until then the region stays claimed.
//!
//! Every run of the pool that cmabuf holds has a [`Range`]: live buffers, stranded
//! buffers (freed while something still references their pages), and the warm cache's
//! runs (freed buffers kept for reuse, and runs prepared by `CMABUF_IOC_PREPARE`). What
//! is *charged* to a process and its cgroup — live, stranded and prepared runs, and
//! allocations in flight — is counted in `used_pages`; freed runs in the warm cache are
//! charged to nobody and step aside as soon as an allocation needs their room.
//!
//! This file holds the allocator itself (creation, free, unbind, drop) and the lock
//! order; each other concern has its own file below `allocator/`:
//!
//! - `alloc.rs`: an allocation, from the ioctl's request to the [`Buffer`] of a dma-buf.
//! - `ledger.rs`: the books under `Allocator::ledger` and the limits' arithmetic;
//!   `reservation.rs`: a reservation that undoes itself; `stranded.rs`: pages freed
//!   while still referenced.
//! - `cache.rs`: the warm cache, its background work and shrinker hooks; `prepare.rs`:
//!   `CMABUF_IOC_PREPARE`; `query.rs`: `CMABUF_IOC_QUERY`, the allocations played
//!   through without allocating.
//! - `places.rs`: where the runs are, with O(log n) lookups and first-fit search (a
//!   red-black tree and a maple tree, `ffi/run_index.rs`); `ranges.rs`: pure range
//!   maths (gaps; the linear references the tests check `places` against);
//!   `failure.rs`: why an allocation failed; `debugfs.rs`: the pool's debugfs views.
//!
//! [`Buffer`]: crate::buffer::Buffer
//!
//! # Locking
//!
//! All of cmabuf's locks are sleeping mutexes, and none is taken in atomic context.
//! Each is one lockdep class for all pools, heaps, buffers or dma-bufs alike, named as
//! below (`new_mutex!`'s name; the registry's is `REGISTRY`, from `global_lock!`).
//!
//! - `Allocator::ledger` (`Mutex<Ledger>`, per pool): the pool's runs, counters and limit
//!   accounting, the warm cache and the stranded pages.
//! - `REGISTRY` (`Mutex<Registry>`, `ffi/global.rs`, one for the module): claimed regions
//!   and names, the debugfs root, the dma-heap slots, the orphans, the heaps waiting for
//!   module init.
//! - `HeapSlot::server` (per dma-heap, `ffi/dma_heap.rs`): the pool serving the heap.
//! - `BufferStatus::importers` (per buffer, `buffer.rs`): importers' names for debugfs.
//! - `Exported::attachments` (per dma-buf, `ffi/dma_buf.rs`): the attachments and their
//!   DMA mappings.
//! - `Allocator::dev` (per pool): the bound device.
//! - `Allocator::placing` (per pool): one run at a time between `cma_alloc` and the
//!   books.
//! - `Evacuation::progress` (per reservation fd, `allocator/evacuation.rs`): what its
//!   worker did and whether the fd went.
//! - The maple tree's own spinlock (`RunIndex`, per pool, `ffi/run_index.rs`), taken by
//!   each call into the tree, always under `ledger`.
//!
//! The order, outermost first: a lock is only taken while holding locks above it on its
//! branch, and cmabuf never holds locks of different branches together.
//!
//! ```text
//! device lock (driver core: probe, unbind)
//!   Allocator::ledger
//!     RunIndex's maple tree lock       leaf (spinlock)
//!     REGISTRY
//!       HeapSlot::server               leaf
//!     BufferStatus::importers          leaf
//!   Allocator::dev                     leaf
//!   Allocator::placing                 at bind (`take_arena`); what nests under it, below
//! Allocator::placing
//!   Allocator::ledger                  and what nests under it, as above
//! dma_resv (map_dma_buf, unmap_dma_buf)
//!   Exported::attachments              leaf
//! Evacuation::progress                 leaf
//! ```
//!
//! Where the nesting happens:
//!
//! - device lock, then `ledger`: `Pool::new` (`adopt_orphans`), unbind (`Unbinder`, then
//!   `Allocator::unbind`), and the allocator's drop when the front end held the last
//!   reference. Device lock, then `REGISTRY`: `registry::claim`, `debugfs_dir`,
//!   `serve_heap` and `stop_heap` (`HeapFace`), and `ClaimGuard`'s drop. Device lock,
//!   then `dev`: `Allocator::unbind`; elsewhere (`alloc`, `try_cached`, `try_alloc`)
//!   `dev` is taken alone, for a clone of the device reference.
//! - `ledger`, then `REGISTRY`: `adopt_orphans` (`orphans::take`, `orphans::put`), the
//!   allocator's drop (`orphans::put` of stranded pages), and `Ledger::keep_stranded` when
//!   no stranded slot is left (`orphans::put`).
//! - `placing`, then `ledger`: `try_alloc` and `prepare_one` put the run `cma_alloc`
//!   gave them in the books (`Ledger::place`) before they let `placing` go; so does
//!   `take_arena` with the small-buffer arena, at bind (under the device lock, which
//!   nothing takes under `placing`).
//! - `ledger`, then `importers`: `write_buffer`.
//! - `REGISTRY`, then `HeapSlot::server`: `serve_heap`, `init_done`.
//! - `dma_resv`, then `attachments`: `map_dma_buf`, `unmap_dma_buf`. `attach`, `detach`
//!   and the CPU access brackets take `attachments` without it; `importers` is taken
//!   after `attachments` is let go, never under it.
//!
//! `REGISTRY` is never held while `ledger` is taken. That would happen if a pool's last
//! reference were dropped under it (the drop takes `ledger`, then `REGISTRY` for the
//! claim): `serve_heap`, `stop_heap` and `init_done` drop pool references under it only
//! while the caller or the pool's front end keeps another.
//!
//! What may be held across the rest:
//!
//! - `GFP_KERNEL` allocations (so reclaim, and the shrinker below): under `ledger`
//!   (`Ledger::reserve`, `record`, `record_renamed`, `insert_range`,
//!   `reserve_stranded_slot`, the cache's `reserve` in `free`, `prepare` and
//!   `cache_put_back`, `census`, `adopt_orphans`), under
//!   `REGISTRY` (claims, orphans, heaps, `dma_heap_add`, the debugfs root), under
//!   `importers` (`Buffer::importer`) and `attachments` (`attach`). Never under
//!   `HeapSlot::server` or `dev`.
//! - `cma_alloc`, which takes the area's `alloc_mutex`, migrates pages, may reclaim and
//!   can take seconds: under `placing` only (`try_alloc` and `prepare_one` let `ledger`
//!   go first), which is held on until the run is in the books (`ledger` taken under
//!   it, never the other way round; nothing else takes `placing`). Zeroing
//!   (`CmaPages::clear`) and cache maintenance (`clean_dcache`) are under no cmabuf lock.
//!   The shrinker, which reclaim may call inside `cma_alloc`, never takes `placing`.
//! - `cma_release`, which takes only spinlocks (the area's `lock`, the page allocator's)
//!   and does not sleep: under `ledger` (`free`, `release_or_strand`, `retry_stranded`),
//!   under `REGISTRY` (`orphans::reap`, and an orphan `orphans::put` could not keep), and
//!   in the shrinker.
//! - Queueing delayed work (`Ticker::schedule`, `reaper::schedule`: the workqueue's
//!   spinlocks) and `RateLimit::allow`: may be under `ledger` (`cache_put_back`, `free`).
//! - Waiting: `make_room`, `release_all_cached` and `try_cached` let `ledger` go before
//!   they wait for the ticker to finish zeroing a run (`Ticker::flush`).
//! - dmem charges (`DmemRegion::try_charge_for`: for another process's cgroup, a thread
//!   started and migrated into it, waited for): under no cmabuf lock.
//!
//! The shrinker (`cache_shrink_count`, `cache_shrink`) runs in reclaim, so from within
//! any of the allocations above, including one made under this very pool's `ledger`. It
//! takes `ledger` with `try_lock` only and gives up when it is held (the count says 0,
//! the scan `SHRINK_STOP`): `lock` would deadlock on the pool's own lock, or two pools
//! allocating under their own `ledger` would each wait in reclaim for the other's.
//! lockdep records no dependency for a `try_lock`, so it sees no nesting of two pools'
//! `ledger` (one class). Under it the shrinker releases cached runs (`release_cached`):
//! `cma_release`, dmem uncharges, pid and module references, nothing that sleeps. It
//! takes `REGISTRY` (with `lock`, allocating) only through `Ledger::keep_stranded`'s last
//! resort, a cached run still referenced with no stranded slot left.
//!
//! The delayed works take plain `lock`: they run in process context, not in reclaim, and
//! nobody waits for them while holding what they take.
//!
//! - The ticker (`cache_tick`, on `system_unbound_wq`) takes `ledger` and lets it go while
//!   it zeroes a run (marked `zeroing`, which every other path leaves alone). Waited for
//!   (`flush_delayed_work`) by `make_room` and `release_all_cached` when a run being
//!   zeroed is in their way, and by `try_cached` when it is the run to hand out; cancelled synchronously (`cancel_delayed_work_sync`) only
//!   by the allocator's drop, before it takes `ledger`, and by `Ticker`'s drop after
//!   that. Either way with no cmabuf lock held, at most the device lock (unbind), which
//!   the ticker never takes.
//! - A reservation's worker (`Evacuation::evacuate`, on the module's own queue,
//!   `ffi/work_queue.rs`) calls `prepare_one` (`placing`, `ledger`) and takes `ledger`
//!   and `progress` one after the other, never together; it may sleep (10 ms between
//!   tries). Nobody waits for it but module exit (`destroy_workqueue`), under no cmabuf
//!   lock. The fd's `release`, `ioctl` and `poll` take `progress` and `ledger` one at a
//!   time too.
//! - The reaper (`orphans::reap`) takes `REGISTRY`; `reaper::stop` cancels it
//!   synchronously in `RegistryLifetime`'s drop before `REGISTRY` is taken.
//!
//! The kernel's own locks around cmabuf: unbind under the device lock also waits for the
//! pool's running shrinker callbacks (`shrinker_free`) and debugfs readers
//! (`debugfs_remove`), which never take the device lock. `mmap` (mmap lock held for
//! writing), `fault` and `vmap` (`dma_resv` held) take no cmabuf lock, and no cmabuf lock
//! is held while user memory is read or written. A buffer's drop (`free`, then the
//! allocator's drop if it held the last reference) runs from its dma-buf's release at
//! the file's last `fput`, or in the ioctl that could not export it: under no cmabuf
//! lock.

mod alloc;
mod arena;
mod cache;
mod debugfs;
mod evacuation;
mod failure;
mod ledger;
mod places;
mod prepare;
mod query;
mod ranges;
mod reservation;
mod stranded;

use crate::{
    ffi::{
        tracing,
        CmaArea,
        CmaPages,
        DmemCharge,
        DmemRegion,
        ModuleRef,
        PidRef,
        RateLimit,
        Ticker, //
    },
    orphans,
    region::{
        Limits,
        PoolSpec, //
    },
    registry::ClaimGuard,
    stats::{nanos_since, Failures},
};
use cache::CacheRelease;
pub(crate) use evacuation::{reserve, Evacuation};
use kernel::{
    device::Device,
    new_mutex,
    page::PAGE_SHIFT,
    prelude::*,
    str::CString,
    sync::{
        aref::ARef,
        Arc,
        Mutex, //
    },
};
use ledger::Ledger;
use ranges::Range;
use stranded::Stranded;

/// How often `cma_alloc` is tried before an allocation fails with `EBUSY`.
const ALLOC_ATTEMPTS: u32 = 3;

/// How often stranded pages are looked at again while nothing else happens (ms).
const STRANDED_POLL_MS: u32 = 1000;

/// A consistent view of the pool's use, in bytes.
pub(crate) struct UsageSnapshot {
    pub(crate) used: u64,
    pub(crate) free: u64,
    pub(crate) largest_free: u64,
    pub(crate) buffers: u64,
}

/// The pool's running counters, taken together under the ledger's lock: sysfs shows
/// them one per file, debugfs's `info` all at once.
pub(crate) struct Counters {
    /// The highest `used` so far, in bytes.
    pub(crate) peak_used: u64,
    /// Successful allocations (through the dma-heap too).
    pub(crate) allocations: u64,
    /// Failed allocations, by reason.
    pub(crate) failures: Failures,
    /// Pages migrated out of the pool's way while allocating.
    pub(crate) migrated_pages: u64,
    /// Bytes in the warm cache.
    pub(crate) cached: u64,
}

/// What an allocator serves: a pool's name, its CMA area's region, and its limits.
pub(crate) struct Spec {
    /// Pool name (`/dev/cmabuf-<name>`).
    pub(crate) name: CString,
    /// The pool's dma-heap name (`/dev/dma_heap/<heap_name>`, with `dma_heap=1`).
    pub(crate) heap_name: CString,
    /// The reserved-memory node name, also the CMA area's name.
    pub(crate) region: CString,
    /// Physical base of the region; `None` for the default CMA area, whose base and
    /// size the kernel does not export: then `size` is cmabuf's budget in the area
    /// and free runs are not known, only free bytes.
    pub(crate) base: Option<u64>,
    /// Size of the region in bytes.
    pub(crate) size: u64,
    /// Limits on what the pool hands out.
    pub(crate) limits: Limits,
    /// Bytes of the small-buffer arena taken at bind (0: none).
    pub(crate) small_arena_bytes: u64,
}

impl From<PoolSpec> for Spec {
    fn from(spec: PoolSpec) -> Self {
        Self {
            name: spec.name,
            heap_name: spec.heap_name,
            region: spec.region.name,
            base: Some(spec.region.base),
            size: spec.region.size,
            limits: spec.limits,
            small_arena_bytes: spec.small_arena_bytes,
        }
    }
}

/// A pool's memory and its bookkeeping.
#[pin_data(PinnedDrop)]
pub(crate) struct Allocator {
    /// Pool name (`/dev/cmabuf-<name>`).
    pub(crate) name: CString,
    /// See [`Spec::heap_name`].
    pub(crate) heap_name: CString,
    /// The reserved-memory node name, also the CMA area's name.
    pub(crate) region: CString,
    /// See [`Spec::base`].
    pub(crate) base: Option<u64>,
    /// Size of the region in bytes (the default area: cmabuf's budget in it).
    pub(crate) size: u64,
    /// Limits on what the pool hands out.
    pub(crate) limits: Limits,
    cma: CmaArea,
    /// The pool's device while it is bound: buffers may outlive the binding, and a
    /// device reference kept after unbind would keep its device-tree node too (an
    /// overlay removed meanwhile could then never free it).
    #[pin]
    dev: Mutex<Option<ARef<Device>>>,
    dev_name: CString,
    dmem: DmemRegion,
    /// The warm cache's background work (zeroing, expiry); cancelled first on drop.
    #[pin]
    pub(crate) ticker: Ticker<Allocator>,
    #[pin]
    ledger: Mutex<Ledger>,
    /// Held from an allocation's (or preparation's) call to `cma_alloc` until its run is
    /// in the books: `cma_alloc` holds the run in the CMA area before `ledger` shows it,
    /// and an allocation that found no run while another held one unseen would take the
    /// other's room for pages that cannot be migrated (`EBUSY`), not for room another
    /// allocation took (`ENOMEM`). Costs no concurrency the area has: `cma_alloc`
    /// migrates under the area's `alloc_mutex` anyway.
    #[pin]
    placing: Mutex<()>,
    /// Limits the messages user space can cause.
    #[pin]
    pub(crate) ratelimit: RateLimit,
    _claim: ClaimGuard,
}

impl Allocator {
    /// The allocator of the CMA area `cma` that `spec` describes, served by `dev`, with
    /// the pages an earlier binding of the area left stranded (see [`orphans`]).
    pub(crate) fn create(
        dev: &Device,
        spec: Spec,
        cma: CmaArea,
        claim: ClaimGuard,
    ) -> Result<Arc<Self>> {
        let dev_name = CString::try_from(dev.name())?;
        let dev_ref: ARef<Device> = dev.into();
        let dmem = DmemRegion::of_area(&cma, spec.size)?;
        let ledger = Ledger::new(CString::try_from(&*spec.name)?)?;
        let arena_bytes = spec.small_arena_bytes;
        let allocator = Arc::pin_init(
            try_pin_init!(Self {
                name: spec.name,
                heap_name: spec.heap_name,
                region: spec.region,
                base: spec.base,
                size: spec.size,
                limits: spec.limits,
                cma,
                dev <- new_mutex!(Some(dev_ref), "Allocator::dev"),
                dev_name,
                dmem,
                ticker <- Ticker::new(),
                ledger <- new_mutex!(ledger, "Allocator::ledger"),
                placing <- new_mutex!((), "Allocator::placing"),
                ratelimit <- RateLimit::new(),
                _claim: claim,
            }? Error),
            GFP_KERNEL,
        )?;
        allocator.adopt_orphans();
        allocator.take_arena(dev, arena_bytes);
        Ok(allocator)
    }

    fn total_pages(&self) -> u64 {
        self.size >> PAGE_SHIFT
    }

    fn base_pfn(&self) -> u64 {
        self.base.unwrap_or(0) >> PAGE_SHIFT
    }

    /// Takes over the pages of this CMA area that an earlier binding of the pool left
    /// stranded (see [`orphans`]): they stay out of the pool's free room until let go.
    fn adopt_orphans(&self) {
        let base_pfn = self.base_pfn();
        let mut ledger = self.ledger.lock();
        while let Some(orphan) = orphans::take(&self.cma) {
            let first = orphan.pages().pfn() - base_pfn;
            let count = orphan.pages().count() as u64;
            let id = ledger.next_id;
            let range = Range {
                id,
                first,
                pages: count,
                cached: false,
            };
            if ledger.reserve_stranded_slot().is_err() || ledger.insert_range(range).is_err() {
                // Without memory to track it here, it stays an orphan.
                orphans::put(orphan);
                break;
            }
            ledger.used_pages += count;
            let (pages, module) = orphan.into_parts();
            // Cannot fail: room was reserved above.
            // A piece of an earlier binding's arena is a run of its own here.
            let _ = ledger.stranded.push_within_capacity(Stranded {
                in_arena: false,
                id,
                first,
                pages,
                owner: None,
                dmem: None,
                _module: module,
            });
        }
        if !ledger.stranded.is_empty() {
            drop(ledger);
            self.ticker.schedule(STRANDED_POLL_MS);
        }
    }

    /// Counts an allocation made through the pool's dma-heap.
    pub(crate) fn count_heap_allocation(&self) {
        self.ledger.lock().heap_allocations += 1;
    }

    /// Counts a request that failed its checks before reaching the pool.
    pub(crate) fn count_invalid(&self) {
        self.ledger.lock().failures.invalid += 1;
    }

    /// The pool is unbound: no more allocations, nothing more cached, and the device
    /// (with its device-tree node) is let go even while buffers live on.
    pub(crate) fn unbind(&self) {
        self.ledger.lock().cache_closed = true;
        self.release_all_cached(CacheRelease::Unbind);
        self.dev.lock().take();
    }

    /// Frees buffer `id` of process `owner`: keeps its pages in the warm cache, gives
    /// them back to the area, or, if something still references them, keeps them out
    /// — still charged to `owner` and its cgroup (`dmem`) — until it lets go.
    pub(crate) fn free(&self, id: u32, owner: &PidRef, pages: CmaPages, dmem: DmemCharge) {
        let count = pages.count() as u64;
        let first = pages.pfn() - self.base_pfn();
        // A piece of the small-buffer arena goes back to the arena, never to the cache.
        let in_arena = pages.in_arena();
        let mut ledger = self.ledger.lock();
        ledger.frees += 1;
        ledger.live = ledger.live.saturating_sub(1);
        // For the `cmabuf_free` trace event: how long the buffer lived (looked up only
        // when the event is on, before its record goes).
        let lifetime = tracing::free_enabled()
            .then(|| ledger.meta.get(&id))
            .flatten()
            .map_or(0, |m| nanos_since(m.created));
        let freed = |stranded, cached| {
            tracing::free(|| tracing::Free {
                pool: &self.name,
                size: count << PAGE_SHIFT,
                lifetime_ns: lifetime,
                stranded,
                cached,
                id,
            })
        };
        let kept = if in_arena {
            Some(pages)
        } else {
            self.cache_freed(&mut ledger, id, owner, pages)
        };
        let Some(mut pages) = kept else {
            drop(ledger);
            drop(dmem);
            freed(false, true);
            self.ticker.schedule(0);
            return;
        };
        // Under the lock: debugfs never looks at pages already given back.
        match pages.try_release() {
            Ok(()) => {
                ledger.unreserve(Some(owner), count);
                ledger.forget_meta(id);
                ledger.forget_run(first, count, in_arena);
                drop(ledger);
                drop(dmem);
                freed(false, false);
            }
            Err(busy) => {
                freed(true, false);
                if self.ratelimit.allow() {
                    pr_err!(
                        "{}: buffer {} was freed while {} of its pages are still referenced (pinned for I/O, or in a pipe); they stay out of the pool, charged to pid {}, until released\n",
                        &*self.name,
                        id,
                        busy,
                        owner.nr()
                    );
                }
                if let Some(m) = ledger.meta.get_mut(&id) {
                    m.stranded = true;
                }
                ledger.keep_stranded(Stranded {
                    in_arena,
                    id,
                    first,
                    pages,
                    owner: Some(owner.clone()),
                    dmem: Some(dmem),
                    _module: ModuleRef::get(),
                });
                drop(ledger);
                self.ticker.schedule(STRANDED_POLL_MS);
            }
        }
    }

    /// Use of the pool now.
    pub(crate) fn snapshot(&self) -> UsageSnapshot {
        let mut ledger = self.ledger.lock();
        ledger.retry_stranded();
        let free = self.total_pages().saturating_sub(ledger.used_pages) << PAGE_SHIFT;
        let largest_free = match self.base {
            Some(_) => ledger.places.largest_gap(self.total_pages()) << PAGE_SHIFT,
            None => free,
        };
        UsageSnapshot {
            used: ledger.used_pages << PAGE_SHIFT,
            free,
            largest_free,
            buffers: ledger.buffers,
        }
    }

    /// The pool's counters (debugfs's `info` takes them from the ledger it holds).
    pub(crate) fn counters(&self) -> Counters {
        self.ledger.lock().counters()
    }
}

impl Ledger {
    /// The counters, from the books.
    pub(super) fn counters(&self) -> Counters {
        Counters {
            peak_used: self.peak_pages << PAGE_SHIFT,
            allocations: self.allocations,
            failures: self.failures,
            migrated_pages: self.migration.migrated,
            cached: self.cache.iter().map(|c| c.count << PAGE_SHIFT).sum(),
        }
    }
}

#[pinned_drop]
impl PinnedDrop for Allocator {
    fn drop(self: Pin<&mut Self>) {
        // The background work must not move runs around while they are handed on.
        self.ticker.cancel();
        let mut ledger = self.ledger.lock();
        // Unbinding emptied the cache; whatever is left goes back now.
        ledger.release_cached(|_| true, CacheRelease::Unbind);
        ledger.retry_stranded();
        // Pages still referenced outlive the pool: the module keeps them (and stays
        // loaded) until they are let go. Their cgroup charges go now, with the pool's
        // dmem region; a later binding of the same area adopts them.
        while let Some(s) = ledger.stranded.pop() {
            let Stranded {
                pages,
                dmem,
                _module: module,
                ..
            } = s;
            drop(dmem);
            orphans::put(orphans::Orphan::new(pages, module));
        }
    }
}
