// SPDX-License-Identifier: GPL-2.0

//! The path of an allocation: from the warm cache if a run fits, else from the CMA area
//! (`cma_alloc`, which migrates what is in the way), then one shared tail that makes the
//! pages ready, records the buffer and wraps it.
//!
//! Every allocation is reserved in the ledger first (its limits), under the ledger's
//! lock; from the moment that lock is let go a [`Reservation`] undoes it on any failure.

use super::{
    arena::Arena,
    cache::{
        CacheRelease,
        Cached,
        Cleared,
        ZEROING_FLUSHES, //
    },
    failure::{
        Failure,
        FailureKind, //
    },
    ledger::{
        BufferMeta,
        Ledger, //
    },
    reservation::{
        Reservation,
        Reserved, //
    },
    Allocator, ALLOC_ATTEMPTS,
};
use crate::{
    buffer::{
        Buffer,
        BufferStatus, //
    },
    ffi::decimal::dec,
    ffi::{
        self,
        mm,
        tracing,
        CmaPages,
        DmemCharge,
        PidRef, //
    },
    stats::{
        nanos_since,
        timed,
        Migration,
        Stages, //
    },
    uapi::{
        AllocRequest,
        CacheMode, //
    },
};
use kernel::{
    page::PAGE_SHIFT,
    prelude::*,
    sync::{
        Arc,
        Mutex,
        MutexGuard, //
    },
    time::{
        delay::fsleep,
        Delta,
        Instant,
        Monotonic, //
    },
};

/// A run placed in the books for an allocation in progress ([`Ledger::place`]):
/// forgotten again on drop unless the allocation kept it.
pub(super) struct Placed<'a> {
    ledger: &'a Mutex<Ledger>,
    first: u64,
    /// Set once the run's place is settled: kept, or forgotten under the lock already.
    pub(super) kept: bool,
}

impl<'a> Placed<'a> {
    /// The run at page `first`, just placed in `ledger`'s books.
    pub(super) fn new(ledger: &'a Mutex<Ledger>, first: u64) -> Self {
        Self {
            ledger,
            first,
            kept: false,
        }
    }
}

impl Drop for Placed<'_> {
    fn drop(&mut self) {
        if !self.kept {
            self.ledger.lock().forget_range(self.first);
        }
    }
}

/// Pages of the arena taken for an allocation in progress: given back to the arena's
/// books on drop unless the allocation kept them.
struct ArenaHeld<'a> {
    ledger: &'a Mutex<Ledger>,
    first: u64,
    pages: u64,
    kept: bool,
}

impl Drop for ArenaHeld<'_> {
    fn drop(&mut self) {
        if !self.kept {
            self.ledger.lock().arena_give_back(self.first, self.pages);
        }
    }
}

impl Allocator {
    /// `ENODEV`, with a line saying what to do, once the pool's device is unbound: its
    /// open files may outlive the binding, but nothing more is handed out.
    pub(super) fn ensure_bound(&self) -> Result {
        if self.dev.lock().is_none() {
            if self.ratelimit.allow() {
                pr_err!(
                    "{}: the pool is unbound: bind its device again to allocate\n",
                    &*self.name
                );
            }
            return Err(ENODEV);
        }
        Ok(())
    }

    /// Allocates, zeroes and records a buffer for process `owner` (the caller, or the
    /// client it allocates for), charged to `owner`'s budget and dmem cgroup; counts its
    /// latency, or why it failed.
    pub(crate) fn alloc(
        self: &Arc<Self>,
        req: &AllocRequest,
        owner: &PidRef,
    ) -> Result<Arc<Buffer>> {
        let start = Instant::<Monotonic>::now();
        self.ensure_bound()?;
        let bytes = (req.pages as u64) << PAGE_SHIFT;
        let mut migration = Migration::default();
        let mut stages = Stages::default();
        // Stranded pages let go since: their charges go before the limits are checked.
        self.ledger.lock().retry_stranded();
        match self.try_alloc(req, owner, &mut migration, &mut stages) {
            Ok(buffer) => {
                let elapsed = start.elapsed();
                let us = elapsed.as_micros_ceil().max(0) as u64;
                let ns = elapsed.as_nanos().max(0) as u64;
                let mut ledger = self.ledger.lock();
                ledger.latency.record(bytes, us);
                ledger.profile.add_alloc(ns, &stages);
                ledger.migration.add(&migration);
                ledger.peak_pages = ledger.peak_pages.max(ledger.used_pages);
                drop(ledger);
                tracing::alloc(|| tracing::Alloc {
                    latency_ns: ns,
                    migrated: migration.migrated,
                    attempts: stages.attempts,
                    warm: stages.cache_hit,
                    id: buffer.id(),
                    ..self.alloc_event(req, owner, 0)
                });
                Ok(buffer)
            }
            Err(failure) => {
                self.record_failure(bytes, owner.nr(), &failure, migration);
                tracing::alloc(|| tracing::Alloc {
                    latency_ns: nanos_since(start),
                    migrated: migration.migrated,
                    attempts: failure.attempts,
                    ..self.alloc_event(req, owner, -failure.err.to_errno())
                });
                Err(failure.err)
            }
        }
    }

    /// The `cmabuf_alloc` trace event of `req` for `owner`, ending with `errno` (0 when
    /// served), before what the allocation measured.
    fn alloc_event(&self, req: &AllocRequest, owner: &PidRef, errno: i32) -> tracing::Alloc<'_> {
        tracing::Alloc {
            pool: &self.name,
            size: (req.pages as u64) << PAGE_SHIFT,
            align: 1u64 << (PAGE_SHIFT as u32 + req.align_order),
            cache: req.cache,
            tgid: owner.nr(),
            errno,
            latency_ns: 0,
            migrated: 0,
            attempts: 0,
            warm: false,
            id: 0,
            by: PidRef::current().map_or(0, |me| me.nr()),
        }
    }

    /// Serves `req` from the warm cache if a run of its size and alignment is there:
    /// no migration, and no zeroing once the background work has zeroed it. A run that
    /// the caller prepared comes with its charges; any other is charged now.
    fn try_cached(
        self: &Arc<Self>,
        req: &AllocRequest,
        owner: &PidRef,
        stages: &mut Stages,
    ) -> Result<Option<Arc<Buffer>>, Failure> {
        let pages = req.pages as u64;
        let bytes = pages << PAGE_SHIFT;
        // Only the caller's own allocations take the runs it prepared: those carry its
        // charges, not a client's.
        let preparer = PidRef::current().ok().filter(|me| me.same(owner));
        let (mut cached, reserved, charge, was) = {
            let mut ledger = self.ledger.lock();
            let mut flushes = 0;
            let found = loop {
                // A reservation's run, or nothing: it is no ordinary allocation.
                if let Some(tag) = req.from_reservation {
                    break ledger.cache_find_reserved(pages, req.align_order, tag);
                }
                if let Some(pos) = ledger.cache_find(pages, req.align_order, preparer.as_ref()) {
                    break Some(pos);
                }
                // The run that would serve it is being zeroed in the background: the
                // rest of that zeroing costs less than a new run's migration and
                // zeroing (a pipeline freeing a frame just before it asks for the next).
                if flushes == ZEROING_FLUSHES
                    || !ledger.cache_zeroing_serves(pages, req.align_order)
                {
                    break None;
                }
                drop(ledger);
                timed(&mut stages.zero_ns, || self.ticker.flush());
                flushes += 1;
                ledger = self.ledger.lock();
            };
            let Some(mut cached) = found.and_then(|pos| ledger.cache_take(pos)) else {
                return Ok(None);
            };
            // What the run was when found, for the `cmabuf_cache_hit` trace event.
            let was = (cached.zeroed, cached.prepared.is_some());
            match cached.prepared.take() {
                // The caller's prepared run: its charges are the buffer's now.
                Some(prepared) => (
                    cached,
                    Reserved::of_prepared(pages),
                    Some(prepared.dmem),
                    was,
                ),
                None => match ledger.reserve(&self.limits, owner, pages) {
                    Ok(reserved) => (cached, reserved, None, was),
                    Err(hit) => {
                        ledger.cache_restore(cached);
                        drop(ledger);
                        return Err(self.refuse(hit, owner.nr(), bytes));
                    }
                },
            }
        };
        // A freed run's dmem charge, made outside the pool's lock: charging a client's
        // cgroup starts a thread and migrates it (`DmemRegion::try_charge_for`). The run
        // is out of the cache meanwhile, so nobody else takes it; should the charge
        // fail, it goes back as a freed run (or to the area, were the pool unbound).
        let charge = match charge {
            Some(charge) => charge,
            None => match self.dmem.try_charge_for(bytes, owner) {
                Ok(charge) => charge,
                Err(e) => {
                    let mut ledger = self.ledger.lock();
                    reserved.undo(&mut ledger, owner);
                    ledger.cache_put_back(cached, Some(&self.ticker));
                    drop(ledger);
                    return Err(self.dmem_refused(e, owner.nr(), bytes));
                }
            },
        };
        let reservation = reserved.guard(&self.ledger, owner);
        // From here on a failure puts the run back in the cache, uncharged.
        let ready = self.ready(&cached.pages, &mut cached.zeroed, req, owner, stages);
        let (status, meta) = match ready {
            Ok(ready) => ready,
            Err(e) => {
                let mut ledger = self.ledger.lock();
                reservation.undo(&mut ledger);
                ledger.cache_put_back(cached, Some(&self.ticker));
                return Err(e.into());
            }
        };
        let Cached {
            id: old_id,
            pages: cma_pages,
            first,
            ..
        } = cached;
        let mut ledger = self.ledger.lock();
        let id = match ledger.record_renamed(old_id, first, meta) {
            Ok(id) => id,
            Err(e) => {
                reservation.undo(&mut ledger);
                // The run goes back to the area with its range.
                ledger.release_or_strand(old_id, first, cma_pages, None);
                return Err(e.into());
            }
        };
        ledger.cache_stats.hits += 1;
        drop(ledger);
        tracing::cache_hit(&self.name, bytes, was.0, was.1);
        self.hand_out(reservation, cma_pages, charge, id, req, status)
            .map(Some)
    }

    /// Serves `req` from the pool's small-buffer arena if it is small (see
    /// [`Arena::serves`]) and the arena has room: first fit among the arena's pages, no
    /// `cma_alloc`, no migration. `None` sends it on to the warm cache and `cma_alloc`.
    fn try_arena(
        self: &Arc<Self>,
        req: &AllocRequest,
        owner: &PidRef,
        stages: &mut Stages,
    ) -> Result<Option<Arc<Buffer>>, Failure> {
        let pages = req.pages as u64;
        let bytes = pages << PAGE_SHIFT;
        // An ALLOC naming a reservation takes the reservation's run, never the arena.
        if !Arena::serves(pages, req.align_order) || req.from_reservation.is_some() {
            return Ok(None);
        }
        let (piece, first, reserved) = {
            let mut ledger = self.ledger.lock();
            let Some(arena) = ledger.arena.as_mut() else {
                return Ok(None);
            };
            if arena.map.first_fit(pages).is_none() {
                arena.map.note_overflow();
                return Ok(None);
            }
            let reserved = match ledger.reserve(&self.limits, owner, pages) {
                Ok(reserved) => reserved,
                Err(hit) => {
                    drop(ledger);
                    return Err(self.refuse(hit, owner.nr(), bytes));
                }
            };
            let Some((piece, first)) = ledger.arena_alloc(pages) else {
                // Cannot happen (a run was free, under the same lock): as if it were full.
                reserved.undo(&mut ledger, owner);
                return Ok(None);
            };
            (piece, first, reserved)
        };
        // From here on a failure gives the pages back to the arena's books (`held`),
        // undoes the reservation, and drops the piece, in that order.
        let reservation = reserved.guard(&self.ledger, owner);
        let mut held = ArenaHeld {
            ledger: &self.ledger,
            first,
            pages,
            kept: false,
        };
        let charge = self
            .dmem
            .try_charge_for(bytes, owner)
            .map_err(|e| self.dmem_refused(e, owner.nr(), bytes))?;
        let (status, mut meta) = self.ready(&piece, &mut false, req, owner, stages)?;
        meta.arena_pages = pages;
        let id = {
            let mut ledger = self.ledger.lock();
            let id = ledger.take_id();
            ledger.record(id, first, meta).map(|()| id)
        }?;
        held.kept = true;
        self.hand_out(reservation, piece, charge, id, req, status)
            .map(Some)
    }

    /// Makes `pages` fit to become a buffer of `req`: zeroed (unless `zeroed` says
    /// they are; it says so after) and, unless CPU-cached, written back from and
    /// invalidated in the CPU caches. Returns what debugfs shows of the buffer.
    /// Counts the time of both in `stages`.
    fn ready(
        &self,
        pages: &CmaPages,
        zeroed: &mut bool,
        req: &AllocRequest,
        owner: &PidRef,
        stages: &mut Stages,
    ) -> Result<(Arc<BufferStatus>, BufferMeta)> {
        if !*zeroed {
            timed(&mut stages.zero_ns, || pages.clear())?;
            *zeroed = true;
        }
        if req.cache != CacheMode::Cached {
            let dev = self.dev.lock().clone().ok_or(ENODEV)?;
            timed(&mut stages.clean_ns, || pages.clean_dcache(&dev))?;
        }
        let status = Arc::pin_init(BufferStatus::new(), GFP_KERNEL)?;
        let meta = BufferMeta::new(req.cache, owner, status.clone());
        Ok((status, meta))
    }

    /// The shared tail of an allocation, once the buffer is recorded as `id`: its
    /// charges are the buffer's. Should wrapping fail, the buffer's drop frees it.
    fn hand_out(
        self: &Arc<Self>,
        reservation: Reservation<'_>,
        pages: CmaPages,
        charge: DmemCharge,
        id: u32,
        req: &AllocRequest,
        status: Arc<BufferStatus>,
    ) -> Result<Arc<Buffer>, Failure> {
        let owner = reservation.owner().clone();
        reservation.commit();
        Ok(Buffer::new(
            self.clone(),
            pages,
            charge,
            id,
            owner,
            req.cache,
            status,
        )?)
    }

    /// Where an allocation of `pages` aligned to `1 << order` pages can go, if it fits:
    /// `Some(Some(first))` in a pool with a known base (where `cma_alloc` will place it,
    /// the first fit, once freed cached runs are out of the way), `Some(None)` in the
    /// default area (free bytes only). Freed cached runs in that place, or beyond the
    /// default area's budget, are given back now, so that the warm cache never costs
    /// an allocation room it would have had without it.
    /// Takes the lock's guard and gives it back, since it may have to wait unlocked.
    pub(super) fn make_room<'a>(
        &'a self,
        mut ledger: MutexGuard<'a, Ledger>,
        pages: u64,
        order: u32,
    ) -> (MutexGuard<'a, Ledger>, Option<Option<u64>>) {
        for _ in 0..ZEROING_FLUSHES {
            let (room, cleared) = match self.base {
                Some(_) => {
                    let total = self.total_pages();
                    let Some(first) = ledger
                        .places
                        .first_fit(total, self.base_pfn(), pages, order)
                    else {
                        return (ledger, None);
                    };
                    let end = first + pages;
                    let cleared =
                        ledger.clear_freed_cached(|c| c.first < end && first < c.first + c.count);
                    (Some(first), cleared)
                }
                None => {
                    let total = self.total_pages();
                    if ledger.used_pages + pages > total {
                        return (ledger, None);
                    }
                    if ledger.used_pages + ledger.freed_cached_pages() + pages <= total {
                        return (ledger, Some(None));
                    }
                    (None, ledger.clear_freed_cached(|_| true))
                }
            };
            if let Cleared::Yes = cleared {
                return (ledger, Some(room));
            }
            // A run in the way is being zeroed: wait for the background work to finish.
            let lock = ledger.lock_ref();
            drop(ledger);
            self.ticker.flush();
            ledger = lock.lock();
        }
        (ledger, None)
    }

    fn try_alloc(
        self: &Arc<Self>,
        req: &AllocRequest,
        owner: &PidRef,
        migration: &mut Migration,
        stages: &mut Stages,
    ) -> Result<Arc<Buffer>, Failure> {
        let pages = req.pages as u64;
        let bytes = pages << PAGE_SHIFT;
        if let Some(buffer) = self.try_arena(req, owner, stages)? {
            return Ok(buffer);
        }
        if let Some(hit) = self.try_cached(req, owner, stages)? {
            stages.cache_hit = true;
            return Ok(hit);
        }
        if req.from_reservation.is_some() {
            // Every run of the reservation was taken (or expired) first.
            if self.ratelimit.allow() {
                pr_err!(
                    "{}: CMABUF_IOC_ALLOC from a reservation: none of its runs is left (all taken or expired)\n",
                    &*self.name
                );
            }
            return Err(Failure::new(ENOSPC, FailureKind::Other));
        }
        let reserved = {
            let ledger = self.ledger.lock();
            let (mut ledger, room) = timed(&mut stages.room_ns, || {
                self.make_room(ledger, pages, req.align_order)
            });
            if room.is_none() {
                return Err(Failure::new(ENOMEM, FailureKind::NoRoom));
            }
            let reserved = match ledger.reserve(&self.limits, owner, pages) {
                Ok(reserved) => reserved,
                Err(hit) => {
                    drop(ledger);
                    return Err(self.refuse(hit, owner.nr(), bytes));
                }
            };
            if !ledger.cache.is_empty() {
                ledger.cache_stats.misses += 1;
                tracing::cache_miss(&self.name, bytes, ledger.cache.len());
            }
            reserved
        };
        // From here on the reservation undoes itself on every failure.
        let reservation = reserved.guard(&self.ledger, owner);
        let charge = self
            .dmem
            .try_charge_for(bytes, owner)
            .map_err(|e| self.dmem_refused(e, owner.nr(), bytes))?;
        let before = timed(&mut stages.vm_events_ns, mm::vm_events);
        let mut allocated = None;
        // Held from the `cma_alloc` that gives a run until the run is in the books.
        let mut placing = None;
        let mut attempts = 0;
        while attempts < ALLOC_ATTEMPTS && allocated.is_none() {
            if attempts > 0 {
                // Freed cached runs may be where the area has room: give them back.
                timed(&mut stages.room_ns, || {
                    let mut ledger = self.ledger.lock();
                    if ledger.freed_cached_pages() == 0 {
                        drop(ledger);
                        fsleep(Delta::from_millis(10));
                    } else {
                        ledger.release_cached(|c| c.prepared.is_none(), CacheRelease::ForRoom);
                    }
                });
            }
            attempts += 1;
            let guard = self.placing.lock();
            allocated = if ffi::fault::should_fail_alloc(bytes as usize) {
                None
            } else {
                timed(&mut stages.cma_alloc_ns, || {
                    self.cma.alloc(req.pages, req.align_order)
                })
            };
            if allocated.is_some() {
                placing = Some(guard);
            }
        }
        stages.attempts = attempts;
        let after = timed(&mut stages.vm_events_ns, mm::vm_events);
        *migration = Migration::between(&before, &after);
        let Some(cma_pages) = allocated else {
            return Err(self.no_run_came_free(pages, req.align_order, attempts));
        };
        // The run is in the books before `placing` is let go and before it is zeroed:
        // an allocation racing with this one finds its room taken (ENOMEM), not room
        // that `cma_alloc` cannot give (EBUSY). Should the allocation fail from here on,
        // `placed` forgets the run before the pages go back (it drops before
        // `cma_pages`).
        let first = cma_pages.pfn() - self.base_pfn();
        // Not `self.ledger.lock().place(..)?`: a failure drops the reservation, which
        // takes the same lock, and the guard must be gone by then.
        let placed_id = self.ledger.lock().place(first, pages);
        drop(placing);
        let id = placed_id?;
        let mut placed = Placed::new(&self.ledger, first);
        let (status, meta) = self.ready(&cma_pages, &mut false, req, owner, stages)?;
        let recorded = self.ledger.lock().record(id, first, meta);
        recorded?;
        placed.kept = true;
        self.hand_out(reservation, cma_pages, charge, id, req, status)
    }

    /// Why `cma_alloc` found no run after `attempts` tries though the pool's count
    /// said there was room: the room went meanwhile, or pages in it could not be
    /// migrated (pinned, unmovable), or another CMA user of the area holds them.
    fn no_run_came_free(&self, pages: u64, order: u32, attempts: u32) -> Failure {
        if self.base.is_some() {
            let ledger = self.ledger.lock();
            let room = ledger
                .places
                .first_fit(self.total_pages(), self.base_pfn(), pages, order);
            drop(ledger);
            if room.is_none() {
                return Failure::new(ENOMEM, FailureKind::NoRoom);
            }
        }
        if self.ratelimit.allow() {
            pr_err!(
                "{}: no run of {} pages came free after {} tries: pages in the way could not be migrated, or another user of CMA area {} (such as /dev/dma_heap) holds them; see last_failure in debugfs\n",
                &*self.name,
                dec(pages),
                attempts,
                self.cma.name()
            );
        }
        Failure {
            attempts,
            ..Failure::new(EBUSY, FailureKind::Busy)
        }
    }
}
