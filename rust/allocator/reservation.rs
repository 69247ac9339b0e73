// SPDX-License-Identifier: GPL-2.0

//! An allocation's reservation in the ledger (its pages and one buffer, counted against
//! the limits before the allocation is made), undone on every failure by construction.
//!
//! Under the ledger's lock a reservation is a [`Reserved`], undone by hand; once the
//! lock is let go it is a [`Reservation`], which takes the lock to undo itself when
//! dropped, unless committed to the buffer or prepared run that now holds the charges.

use super::ledger::Ledger;
use crate::ffi::PidRef;
use kernel::sync::Mutex;

/// Pages and a buffer that [`Ledger::reserve`] counted in advance for an allocation in
/// flight. Under the ledger's lock it is [`Reserved::undo`]ne; once the lock is let go
/// it becomes a [`Reservation`], which undoes itself.
#[must_use = "a reservation must be undone or guarded, or its pages stay charged"]
pub(super) struct Reserved {
    pages: u64,
}

impl Reserved {
    /// `pages` and one buffer, just counted by [`Ledger::reserve`].
    pub(super) fn new(pages: u64) -> Self {
        Self { pages }
    }

    /// The charges of a prepared run, handed over to the allocation that takes it.
    pub(super) fn of_prepared(pages: u64) -> Self {
        Self { pages }
    }

    /// Undoes the reservation under the ledger's lock.
    pub(super) fn undo(self, ledger: &mut Ledger, owner: &PidRef) {
        ledger.unreserve(Some(owner), self.pages);
    }

    /// Guards the reservation once the lock of `ledger` is let go.
    pub(super) fn guard<'a>(self, ledger: &'a Mutex<Ledger>, owner: &'a PidRef) -> Reservation<'a> {
        Reservation {
            ledger,
            owner,
            pages: self.pages,
        }
    }
}

/// A reservation while the ledger's lock is not held: dropped, it takes the lock and
/// undoes itself, unless it was [`Reservation::commit`]ted. Never let one drop while
/// holding that lock (it would deadlock): [`Reservation::undo`] it there.
pub(super) struct Reservation<'a> {
    ledger: &'a Mutex<Ledger>,
    owner: &'a PidRef,
    pages: u64,
}

impl Reservation<'_> {
    /// Whose the reservation is.
    pub(super) fn owner(&self) -> &PidRef {
        self.owner
    }

    /// The charges are the buffer's or prepared run's now: the ledger keeps them.
    pub(super) fn commit(self) {
        core::mem::forget(self);
    }

    /// Undoes the reservation under the ledger's lock, held by the caller.
    pub(super) fn undo(self, ledger: &mut Ledger) {
        ledger.unreserve(Some(self.owner), self.pages);
        core::mem::forget(self);
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.ledger.lock().unreserve(Some(self.owner), self.pages);
    }
}
