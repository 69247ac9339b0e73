// SPDX-License-Identifier: GPL-2.0

//! Pages that outlived their pool.
//!
//! A buffer freed while a pipe (or I/O) still references its pages cannot give them
//! back to the CMA area: the next owner would share them. Its pool keeps them as
//! *stranded* and gives them back once they are let go. When the pool itself goes
//! (unbound, its overlay removed, the module unloading) before that, the pages become
//! *orphans*: the module keeps them here, each with a reference to the module (so
//! `rmmod` says "in use" instead of losing them), and a background work item
//! ([`crate::ffi::reaper`]) gives each back once nothing references it. A pool bound
//! again to the same CMA area adopts its orphans, so its free room stays true.

use crate::ffi::{
    reaper,
    CmaArea,
    CmaPages,
    ModuleRef,
    REGISTRY, //
};
use kernel::prelude::*;

/// How often orphans are looked at again (ms).
const REAP_MS: u32 = 1000;

/// Pages of a CMA area that no pool owns, and the module reference they hold.
pub(crate) struct Orphan {
    pages: CmaPages,
    _module: ModuleRef,
}

impl Orphan {
    /// Pages no pool owns any more, with the module reference that keeps them.
    pub(crate) fn new(pages: CmaPages, module: ModuleRef) -> Self {
        Self {
            pages,
            _module: module,
        }
    }

    /// The pages.
    pub(crate) fn pages(&self) -> &CmaPages {
        &self.pages
    }

    /// The pages and the module reference, for a pool that adopts them.
    pub(crate) fn into_parts(self) -> (CmaPages, ModuleRef) {
        (self.pages, self._module)
    }
}

/// Gives `orphan` back now if nothing references it any more, else keeps it until
/// then. Without memory to keep it the pages are dropped, and so lost (said in the
/// kernel log by [`CmaPages`]).
pub(crate) fn put(mut orphan: Orphan) {
    if orphan.pages.try_release().is_ok() {
        return;
    }
    let pushed = REGISTRY.lock().orphans.push(orphan, GFP_KERNEL);
    if pushed.is_ok() {
        reaper::schedule(REAP_MS);
    }
}

/// Takes one orphan of `area`, for a pool bound to it again.
pub(crate) fn take(area: &CmaArea) -> Option<Orphan> {
    let mut reg = REGISTRY.lock();
    let pos = reg.orphans.iter().position(|o| o.pages.area().same(area))?;
    reg.orphans.remove(pos).ok()
}

/// The background work: gives back the orphans nothing references any more; says
/// when to look again, if ever.
fn reap() -> Option<u32> {
    let mut reg = REGISTRY.lock();
    reg.orphans.retain(|o| o.pages.try_release().is_err());
    (!reg.orphans.is_empty()).then_some(REAP_MS)
}

/// The orphans, as the [`reaper`] work sees them: it runs [`reap`].
pub(crate) struct Orphans;

impl reaper::Reap for Orphans {
    fn reap() -> Option<u32> {
        reap()
    }
}
