// SPDX-License-Identifier: GPL-2.0

//! `CMABUF_IOC_RESERVE`: runs evacuated in the background for a reservation fd, with a
//! promise. A kernel worker prepares the runs one after the other (as
//! `CMABUF_IOC_PREPARE` does: migrated, zeroed, charged to the caller) and keeps them in
//! the warm cache tagged with the reservation, where only an allocation naming the
//! reservation takes them and neither the shrinker nor a debugfs `drop` gives them back.
//! `poll` says when they are all ready or when the reservation failed; the fd's last
//! close, a missed deadline, a failure or the runs' expiry give back what is unused.
//!
//! Locks: `progress` is taken alone or before nothing; the worker calls into the
//! allocator (which takes `placing` and `ledger`) without it.

use super::{
    cache::{
        expiry_in,
        CacheRelease, //
    },
    Allocator,
};
use crate::{
    ffi::{
        self,
        anon_file::{
            AnonFile,
            Readiness, //
        },
        decimal::dec,
        mm,
        tracing,
        DmemCharge,
        PidRef, //
    },
    stats::{
        Migration,
        Stages, //
    },
    uapi::{
        self,
        ReserveRequest, //
    },
};
use core::mem::size_of;
use kernel::{
    fs::File,
    new_mutex, new_poll_condvar,
    page::PAGE_SHIFT,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Atomic,
            Relaxed, //
        },
        poll::{
            PollCondVar,
            PollTable, //
        },
        Arc,
        ArcBorrow,
        Mutex, //
    },
    time::{
        delay::fsleep,
        Delta,
        Instant,
        Monotonic, //
    },
    uaccess::{
        UserPtr,
        UserSlice, //
    },
    workqueue::{
        impl_has_work,
        new_work,
        Work,
        WorkItem, //
    },
};

/// How long the worker waits before it tries a run again whose room was taken or
/// whose pages could not be migrated, until the deadline.
const RETRY_MS: i64 = 10;

/// Numbers of reservations, the tag of their runs in the warm cache.
static NEXT_TAG: Atomic<u64> = Atomic::new(1);

/// Where a reservation is.
#[derive(Clone, Copy)]
enum State {
    Evacuating,
    /// All runs evacuated; they expire at `expires`.
    Ready {
        expires: Instant<Monotonic>,
    },
    Failed(Error),
}

/// What the worker did so far; the fd's `ioctl` and `poll` read it.
struct Progress {
    state: State,
    evacuated: u32,
    taken: u32,
    bytes: u64,
    migrated: u64,
    /// Nanoseconds from the request until ready or failed.
    finished_ns: Option<u64>,
    /// The fd's last reference went: the worker stops and gives everything back.
    closed: bool,
    /// dmem charges made by the caller for the runs not yet evacuated, one a run: the
    /// worker hands one to each run it evacuates (it cannot charge the caller's cgroup
    /// itself: the dmem controller charges the current task's).
    charges: KVec<DmemCharge>,
}

/// A reservation: the object behind a reservation fd.
#[pin_data]
pub(crate) struct Evacuation {
    allocator: Arc<Allocator>,
    owner: PidRef,
    /// Its runs' mark in the warm cache.
    tag: u64,
    pages: u64,
    order: u32,
    count: u32,
    expiry_ms: u32,
    started: Instant<Monotonic>,
    deadline: Instant<Monotonic>,
    #[pin]
    progress: Mutex<Progress>,
    #[pin]
    changed: PollCondVar,
    #[pin]
    work: Work<Evacuation>,
}

impl_has_work! {
    impl HasWork<Self> for Evacuation { self.work }
}

crate::ffi_anon_file!(Evacuation);

impl Evacuation {
    /// A reservation of `req` for `owner`, from now; [`Evacuation::begin`] starts its
    /// worker.
    fn new(allocator: Arc<Allocator>, req: &ReserveRequest, owner: PidRef) -> Result<Arc<Self>> {
        allocator.ensure_bound()?;
        // The whole reservation counts against the caller's dmem.max from now on, charged
        // here, where the caller is the current task.
        let bytes = (req.pages as u64) << PAGE_SHIFT;
        let mut charges = KVec::with_capacity(req.count as usize, GFP_KERNEL)?;
        for _ in 0..req.count {
            let charge = allocator
                .dmem
                .try_charge(bytes)
                .map_err(|e| allocator.dmem_refused(e, owner.nr(), bytes).err)?;
            // Cannot fail: room for `count` was reserved above.
            let _ = charges.push_within_capacity(charge);
        }
        let started = Instant::<Monotonic>::now();
        let this = Arc::pin_init(
            pin_init!(Self {
                allocator,
                owner,
                tag: NEXT_TAG.fetch_add(1, Relaxed),
                pages: req.pages as u64,
                order: req.align_order,
                count: req.count,
                expiry_ms: req.expiry_ms,
                started,
                deadline: *started + Delta::from_millis(i64::from(req.deadline_ms)),
                progress <- new_mutex!(Progress {
                    state: State::Evacuating,
                    evacuated: 0,
                    taken: 0,
                    bytes: 0,
                    migrated: 0,
                    finished_ns: None,
                    closed: false,
                    charges,
                }),
                changed <- new_poll_condvar!("cmabuf_reservation"),
                work <- new_work!("cmabuf_reservation"),
            }),
            GFP_KERNEL,
        )?;
        Ok(this)
    }

    /// Starts the worker, which holds its own reference until it is done. It runs on
    /// the module's queue, which module exit drains: it may run on after the fd went.
    fn begin(self: &Arc<Self>) -> Result {
        let queue = ffi::work_queue::queue().ok_or(ENODEV)?;
        // A new work item cannot be queued already, so it is queued.
        let _ = queue.enqueue(self.clone());
        Ok(())
    }

    /// Whether `allocator` is the pool of this reservation.
    pub(crate) fn of_pool(&self, allocator: &Allocator) -> bool {
        core::ptr::eq(&*self.allocator, allocator)
    }

    /// Its tag, for an allocation that takes one of its runs.
    pub(crate) fn tag(&self) -> u64 {
        self.tag
    }

    /// Who its runs are charged to (and buffers taken from it belong to).
    pub(crate) fn owner(&self) -> &PidRef {
        &self.owner
    }

    /// Whether an allocation of `pages` aligned to `1 << order` pages may take one of
    /// its runs now: `EINVAL` for another size or alignment, `EAGAIN` while evacuating,
    /// `ECANCELED` once failed, `ENODEV` once the pool is unbound. Says why on failure.
    pub(crate) fn check_take(&self, pages: u64, order: u32) -> Result {
        self.allocator.ensure_bound()?;
        let why = if pages != self.pages || order != self.order {
            Some((EINVAL, "size and align must be the reservation's"))
        } else {
            match self.progress.lock().state {
                State::Evacuating => Some((
                    EAGAIN,
                    "the reservation is still evacuating: poll its fd for POLLIN",
                )),
                State::Failed(_) => Some((
                    ffi::ecanceled(),
                    "the reservation failed: CMABUF_RESERVATION_IOC_STATUS says why",
                )),
                State::Ready { .. } => None,
            }
        };
        match why {
            None => Ok(()),
            Some((err, why)) => {
                if self.allocator.ratelimit.allow() {
                    pr_err!(
                        "{}: CMABUF_IOC_ALLOC from a reservation: {}\n",
                        &*self.allocator.name,
                        why
                    );
                }
                Err(err)
            }
        }
    }

    /// One of its runs became a buffer.
    pub(crate) fn taken(&self) {
        self.progress.lock().taken += 1;
    }

    /// Ready runs not yet taken.
    fn left(&self) -> u32 {
        let ledger = self.allocator.ledger.lock();
        ledger
            .cache
            .iter()
            .filter(|c| c.reserved_for(self.tag))
            .count() as u32
    }

    /// Gives back every run of the reservation still in the warm cache, and the dmem
    /// charges of those not evacuated.
    fn give_back(&self) {
        self.allocator
            .ledger
            .lock()
            .release_cached(|c| c.reserved_for(self.tag), CacheRelease::Dropped);
        self.progress.lock().charges.clear();
    }

    /// Puts one of the caller's dmem charges in the place of the empty one of run `id`,
    /// just evacuated. Should the run be gone already (the fd was closed), the charge
    /// goes with it.
    fn charge_run(&self, id: u32) {
        let Some(charge) = self.progress.lock().charges.pop() else {
            return;
        };
        let mut ledger = self.allocator.ledger.lock();
        let prepared = ledger
            .cache
            .iter_mut()
            .find(|c| c.id == id && c.reserved_for(self.tag))
            .and_then(|c| c.prepared.as_mut());
        if let Some(p) = prepared {
            p.dmem = charge;
        }
    }

    /// The `cmabuf_prepare` trace event of the reservation, once it is ready (`errno` 0)
    /// or failed, after `ns` nanoseconds.
    fn trace(&self, ns: u64, errno: i32) {
        tracing::prepare(|| tracing::Prepare {
            pool: &self.allocator.name,
            run_size: self.pages << PAGE_SHIFT,
            runs: self.count,
            tgid: self.owner.nr(),
            duration_ns: ns,
            errno,
        });
    }

    /// Ends the reservation with `err`: its runs go back, `poll` wakes.
    fn fail(&self, err: Error, why: &str) {
        self.give_back();
        let mut progress = self.progress.lock();
        if progress.closed {
            return;
        }
        let done = progress.evacuated;
        let ns = self.started.elapsed().as_nanos().max(0) as u64;
        progress.state = State::Failed(err);
        progress.finished_ns = Some(ns);
        drop(progress);
        self.changed.notify_all();
        self.trace(ns, -err.to_errno());
        if self.allocator.ratelimit.allow() {
            pr_err!(
                "{}: CMABUF_IOC_RESERVE of {} runs of {} pages failed with {} evacuated ({}): error {}\n",
                &*self.allocator.name,
                self.count,
                dec(self.pages),
                done,
                why,
                err.to_errno()
            );
        }
    }

    /// Whether the deadline has passed.
    fn past_deadline(&self) -> bool {
        (Instant::<Monotonic>::now() - self.deadline).as_nanos() > 0
    }

    /// Whether the fd went; the worker then stops.
    fn closed(&self) -> bool {
        self.progress.lock().closed
    }

    /// Whether the worker must stop: the fd went (what was evacuated goes back) or the
    /// deadline passed (the reservation fails with `ETIMEDOUT`).
    fn ended(&self) -> bool {
        if self.closed() {
            self.give_back();
            true
        } else if self.past_deadline() {
            self.fail(ETIMEDOUT, "the deadline passed");
            true
        } else {
            false
        }
    }

    /// The worker: evacuates the runs one after the other, retrying one whose room is
    /// taken or whose pages cannot be migrated until the deadline.
    fn evacuate(&self) {
        let alloc = &self.allocator;
        let mut stages = Stages::default();
        // Until ready, the runs are kept until the deadline plus the expiry at most.
        let provisional = self.deadline + Delta::from_millis(i64::from(self.expiry_ms));
        for _ in 0..self.count {
            loop {
                if self.ended() {
                    return;
                }
                let before = mm::vm_events();
                let result = alloc.prepare_one(
                    self.pages,
                    self.order,
                    &self.owner,
                    provisional,
                    &mut stages,
                    Some(self.tag),
                );
                let migration = Migration::between(&before, &mm::vm_events());
                match result {
                    Ok(id) => {
                        self.charge_run(id);
                        let mut progress = self.progress.lock();
                        progress.evacuated += 1;
                        progress.bytes += self.pages << PAGE_SHIFT;
                        progress.migrated += migration.migrated;
                        break;
                    }
                    Err(e) if e == ENOMEM || e == EBUSY => {
                        self.progress.lock().migrated += migration.migrated;
                        fsleep(Delta::from_millis(RETRY_MS));
                    }
                    Err(e) => {
                        let why = if e == ENODEV {
                            "the pool was unbound"
                        } else if e == uapi::edquot() {
                            "a pool or process limit, or the cgroup's dmem.max"
                        } else {
                            "out of memory"
                        };
                        self.fail(e, why);
                        return;
                    }
                }
            }
        }
        // Closed, or past the deadline, while the last run was evacuated: it goes back too.
        if self.ended() {
            return;
        }
        let expires = expiry_in(self.expiry_ms);
        {
            let mut ledger = alloc.ledger.lock();
            for c in ledger.cache.iter_mut().filter(|c| c.reserved_for(self.tag)) {
                c.expires = expires;
            }
        }
        alloc.ticker.schedule(0);
        let ns = self.started.elapsed().as_nanos().max(0) as u64;
        let mut progress = self.progress.lock();
        progress.state = State::Ready { expires };
        progress.finished_ns = Some(ns);
        drop(progress);
        self.changed.notify_all();
        self.trace(ns, 0);
    }

    /// `CMABUF_RESERVATION_IOC_STATUS`.
    fn status(&self) -> uapi::ReservationStatus {
        let left = self.left();
        let progress = self.progress.lock();
        let mut status = uapi::ReservationStatus {
            count: self.count,
            evacuated: progress.evacuated,
            taken: progress.taken,
            left,
            bytes_evacuated: progress.bytes,
            pages_migrated: progress.migrated,
            elapsed_ns: progress
                .finished_ns
                .unwrap_or_else(|| self.started.elapsed().as_nanos().max(0) as u64),
            ..Default::default()
        };
        (status.state, status.error) = match progress.state {
            State::Evacuating => (uapi::RESERVATION_EVACUATING, 0),
            State::Failed(e) => (uapi::RESERVATION_FAILED, -e.to_errno()),
            State::Ready { .. } if left == 0 => (uapi::RESERVATION_SPENT, 0),
            State::Ready { expires } => {
                let ms = (expires - Instant::<Monotonic>::now()).as_millis();
                status.expires_in_ms = ms.max(0) as u64;
                (uapi::RESERVATION_READY, 0)
            }
        };
        status
    }
}

impl WorkItem for Evacuation {
    type Pointer = Arc<Evacuation>;

    fn run(this: Arc<Evacuation>) {
        this.evacuate();
    }
}

impl AnonFile for Evacuation {
    fn ioctl(this: ArcBorrow<'_, Self>, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            uapi::IOC_RESERVATION_STATUS => {
                let status = this.status();
                UserSlice::new(
                    UserPtr::from_addr(arg),
                    size_of::<uapi::ReservationStatus>(),
                )
                .writer()
                .write(&status)?;
                Ok(0)
            }
            _ => Err(ENOTTY),
        }
    }

    fn poll(this: ArcBorrow<'_, Self>, file: &File, table: &PollTable<'_>) -> Readiness {
        table.register_wait(file, &this.changed);
        match this.progress.lock().state {
            State::Evacuating => Readiness::Waiting,
            State::Ready { .. } => Readiness::Ready,
            State::Failed(_) => Readiness::Failed,
        }
    }

    fn release(this: &Arc<Self>) {
        this.progress.lock().closed = true;
        // What is ready goes now; a run being evacuated goes when the worker sees
        // `closed` (it holds its own reference until then).
        this.give_back();
    }
}

/// `CMABUF_IOC_RESERVE` on `allocator` for the caller: the new reservation's file.
pub(crate) fn reserve(allocator: Arc<Allocator>, req: &ReserveRequest) -> Result<ARef<File>> {
    let owner = PidRef::current()?;
    let evacuation = Evacuation::new(allocator, req, owner)?;
    // The file first: should the caller never get it, its release stops the worker.
    let file = ffi::anon_file::create(c"[cmabuf-reservation]", evacuation.clone(), req.cloexec)?;
    evacuation.begin()?;
    Ok(file)
}
