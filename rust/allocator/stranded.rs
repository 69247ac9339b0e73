// SPDX-License-Identifier: GPL-2.0

//! Stranded pages: runs given back while something still references their pages (a
//! pipe filled by `vmsplice`, I/O in flight). They are never lost: kept in the ledger
//! (room for one is reserved with every buffer and cached run) and retried until let
//! go, or, as a last resort and when the pool goes, handed to the module's [`orphans`].

use super::{ledger::Ledger, ranges::swap_remove};
use crate::{
    ffi::{
        CmaPages,
        DmemCharge,
        ModuleRef,
        PidRef, //
    },
    orphans,
};
use kernel::prelude::*;

/// A freed buffer whose pages something still references (a pipe filled by
/// `vmsplice`, I/O in flight): kept out of the area, and charged to its owner (process
/// budget and cgroup), until they are let go. It holds the module: its pages must be
/// given back by the module's code.
pub(super) struct Stranded {
    pub(super) id: u32,
    pub(super) first: u64,
    pub(super) pages: CmaPages,
    /// `None` for pages adopted from an earlier binding of the pool (no owner left).
    pub(super) owner: Option<PidRef>,
    pub(super) dmem: Option<DmemCharge>,
    /// A piece of this pool's small-buffer arena (no range of its own in `places`).
    pub(super) in_arena: bool,
    pub(super) _module: ModuleRef,
}

impl Ledger {
    /// Makes sure a buffer or cached run added now can always be kept as stranded
    /// later: `stranded` gets room for every live buffer and cached run, plus one.
    pub(super) fn reserve_stranded_slot(&mut self) -> Result {
        let others = self.live + self.cache.len() + 1;
        self.stranded.reserve(others, GFP_KERNEL)?;
        Ok(())
    }

    /// Keeps a run whose pages are still referenced; it can always be kept (see
    /// [`Ledger::reserve_stranded_slot`]), and should room have been short after all,
    /// the module keeps it instead of losing it.
    pub(super) fn keep_stranded(&mut self, s: Stranded) {
        if let Err(err) = self.stranded.push_within_capacity(s) {
            let Stranded {
                id,
                first,
                pages,
                owner,
                dmem,
                in_arena,
                _module: module,
            } = err.0;
            self.unreserve(owner.as_ref(), pages.count() as u64);
            self.forget_meta(id);
            // A piece of the arena stays taken in the arena's books: the orphan holds it.
            if !in_arena {
                self.forget_range(first);
            }
            drop(dmem);
            orphans::put(orphans::Orphan::new(pages, module));
        }
    }

    /// Gives back the pages of freed buffers that nothing references any more, with
    /// what they were charged.
    pub(super) fn retry_stranded(&mut self) {
        let mut i = 0;
        while i < self.stranded.len() {
            let in_arena = self.stranded[i].in_arena;
            let pieces = self.stranded[i].pages.count() as u64;
            if self.stranded[i].pages.try_release().is_err() {
                i += 1;
                continue;
            }
            let Some(s) = swap_remove(&mut self.stranded, i) else {
                break;
            };
            let count = if in_arena {
                pieces
            } else {
                self.places.get(s.first).map_or(0, |r| r.pages)
            };
            self.unreserve(s.owner.as_ref(), count);
            self.forget_meta(s.id);
            self.forget_run(s.first, count, in_arena);
        }
    }
}
