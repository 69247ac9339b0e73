// SPDX-License-Identifier: GPL-2.0

//! `CMABUF_IOC_PREPARE`: runs migrated out of the pool in advance, zeroed, and kept in
//! the warm cache for their caller, charged to it until it allocates them or they expire.

use super::{
    alloc::Placed,
    cache::{
        expiry_in,
        CacheRelease,
        Cached,
        Expiry,
        Prepared, //
    },
    Allocator,
};
use crate::{
    ffi::decimal::dec,
    ffi::{
        self,
        tracing,
        DmemCharge,
        PidRef, //
    },
    stats::{
        nanos_since,
        timed,
        Stages, //
    },
    uapi::{
        self,
        PrepareRequest, //
    },
};
use kernel::{
    page::PAGE_SHIFT,
    prelude::*,
    time::{
        Instant,
        Monotonic, //
    },
};

impl Allocator {
    /// `CMABUF_IOC_PREPARE`: migrates `req.count` runs of `req.pages` out of the pool
    /// now, zeroes them and keeps them in the warm cache for `req.timeout_ms`, charged to
    /// the caller (process limits, cgroup) until it allocates them or they expire. All
    /// or nothing: on failure, what this call prepared goes back.
    pub(crate) fn prepare(&self, req: &PrepareRequest, owner: &PidRef) -> Result {
        let start = Instant::<Monotonic>::now();
        let mut stages = Stages::default();
        let result = self.prepare_all(req, owner, &mut stages);
        let ns = nanos_since(start);
        self.ledger.lock().profile.add_prepare(ns, &stages);
        tracing::prepare(|| tracing::Prepare {
            pool: &self.name,
            run_size: (req.pages as u64) << PAGE_SHIFT,
            runs: req.count,
            tgid: owner.nr(),
            duration_ns: ns,
            errno: result.err().map_or(0, |e| -e.to_errno()),
        });
        result
    }

    /// [`Allocator::prepare`], with the time of its stages counted in `stages`.
    fn prepare_all(&self, req: &PrepareRequest, owner: &PidRef, stages: &mut Stages) -> Result {
        let expires = expiry_in(req.timeout_ms);
        let mut ids = KVec::with_capacity(req.count as usize, GFP_KERNEL)?;
        let mut result = Ok(());
        self.ledger.lock().retry_stranded();
        for _ in 0..req.count {
            match self.prepare_one(req.pages as u64, 0, owner, expires, stages, None) {
                // Cannot fail: room for `count` ids was reserved above.
                Ok(id) => {
                    let _ = ids.push_within_capacity(id);
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if let Err(e) = result {
            // `ids` is sorted unless the ids wrapped around; sort anyway.
            ids.sort_unstable();
            self.ledger
                .lock()
                .release_cached(|c| ids.binary_search(&c.id).is_ok(), CacheRelease::ForRoom);
            if e != uapi::edquot() && self.ratelimit.allow() {
                pr_err!(
                    "{}: CMABUF_IOC_PREPARE: could not evacuate {} runs of {} pages: error {}\n",
                    &*self.name,
                    req.count,
                    dec(req.pages as u64),
                    e.to_errno()
                );
            }
        }
        self.ticker.schedule(0);
        result
    }

    /// Prepares one run of `pages` aligned to `1 << order` pages for `owner` until
    /// `expires`, for the reservation of `tag` if it is one's; returns its cache id.
    /// Charges the run to the current task's cgroup, but a reservation's: its worker is
    /// not the task whose cgroup pays, so the run holds no dmem charge until the worker
    /// puts in its place one that the reservation's caller made (`Evacuation::new`).
    pub(super) fn prepare_one(
        &self,
        pages: u64,
        order: u32,
        owner: &PidRef,
        expires: Expiry,
        stages: &mut Stages,
        tag: Option<u64>,
    ) -> Result<u32> {
        let bytes = pages << PAGE_SHIFT;
        let reserved = {
            let ledger = self.ledger.lock();
            if ledger.cache_closed {
                return Err(ENODEV);
            }
            let (mut ledger, room) = self.make_room(ledger, pages, order);
            if room.is_none() {
                return Err(ENOMEM);
            }
            match ledger.reserve(&self.limits, owner, pages) {
                Ok(reserved) => reserved,
                Err(hit) => {
                    drop(ledger);
                    return Err(self.refuse(hit, owner.nr(), bytes).err);
                }
            }
        };
        // From here on the reservation undoes itself on every failure.
        let reservation = reserved.guard(&self.ledger, owner);
        let dmem = if tag.is_none() {
            self.dmem
                .try_charge(bytes)
                .map_err(|e| self.dmem_refused(e, owner.nr(), bytes).err)?
        } else {
            DmemCharge::nothing()
        };
        // As in `try_alloc`: the run is in the books before `placing` is let go, so
        // that an allocation racing with this one finds its room taken (ENOMEM), not
        // room that `cma_alloc` cannot give (EBUSY). `placed` forgets it on failure,
        // before the pages go back (it drops before `cma_pages`).
        let placing = self.placing.lock();
        let allocated = if ffi::fault::should_fail_alloc(bytes as usize) {
            None
        } else {
            timed(&mut stages.cma_alloc_ns, || {
                self.cma.alloc(pages as usize, order)
            })
        };
        let cma_pages = allocated.ok_or(EBUSY)?;
        let first = cma_pages.pfn() - self.base_pfn();
        // Not `self.ledger.lock().place(..)?`: a failure drops the reservation, which
        // takes the same lock, and the guard must be gone by then.
        let placed_id = self.ledger.lock().place(first, pages);
        drop(placing);
        let id = placed_id?;
        let mut placed = Placed::new(&self.ledger, first);
        timed(&mut stages.zero_ns, || cma_pages.clear())?;
        let mut ledger = self.ledger.lock();
        let cached = Cached {
            id,
            phys: cma_pages.phys(),
            first,
            pages: cma_pages,
            count: pages,
            zeroed: true,
            zeroing: false,
            prepared: Some(Prepared {
                owner: owner.clone(),
                dmem,
                reservation: tag,
            }),
            expires,
        };
        // Unbound meanwhile: the closed cache takes nothing more.
        let err = if ledger.cache_closed {
            Some(ENODEV)
        } else if ledger.reserve_stranded_slot().is_err()
            || ledger.cache.reserve(1, GFP_KERNEL).is_err()
        {
            Some(ENOMEM)
        } else {
            None
        };
        // Whatever happens now, the run's place in the books is settled under this lock.
        placed.kept = true;
        if let Some(e) = err {
            reservation.undo(&mut ledger);
            ledger.forget_range(first);
            drop(ledger);
            drop(cached);
            return Err(e);
        }
        // The charges are the prepared run's now.
        reservation.commit();
        // Cannot fail: room was reserved above.
        let _ = ledger.cache.push_within_capacity(cached);
        ledger.cache_stats.prepared += 1;
        Ok(id)
    }
}
