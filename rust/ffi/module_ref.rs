// SPDX-License-Identifier: GPL-2.0

//! References to this module, for memory that must outlive a pool but not the module.

use super::sys;

/// One reference to this module: while any exists, `rmmod cmabuf` fails ("in use").
///
/// cmabuf takes one per run of pages it cannot give back yet (a freed buffer whose
/// pages a pipe still holds): the module's code must be there to give them back later.
/// A reference dropped by a work item of the module is safe because module exit
/// cancels (and waits for) those work items first.
pub(crate) struct ModuleRef(());

impl ModuleRef {
    /// Takes a reference to the module.
    pub(crate) fn get() -> Self {
        // SAFETY: Code of this module is running, so the module is live: `__module_get`
        // may take a reference unconditionally.
        unsafe { sys::cmabuf_module_get() };
        Self(())
    }
}

impl Drop for ModuleRef {
    fn drop(&mut self) {
        // SAFETY: Drops the reference that `get` took.
        unsafe { sys::cmabuf_module_put() };
    }
}
