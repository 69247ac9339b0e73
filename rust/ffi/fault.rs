// SPDX-License-Identifier: GPL-2.0

//! Fault injection (`lib/fault-inject.c`): `/sys/kernel/debug/cmabuf/fail_alloc` makes
//! `cma_alloc` attempts fail on demand, with the kernel's usual knobs (probability,
//! interval, times, space, verbose). Only with `CONFIG_FAULT_INJECTION_DEBUG_FS`.

use super::sys;

/// The `fail_alloc` attribute's debugfs directory; removed on drop. One per module.
pub(crate) struct FailAlloc(());

impl FailAlloc {
    /// Creates `/sys/kernel/debug/cmabuf/fail_alloc` (the `cmabuf` directory must exist).
    pub(crate) fn create() -> Self {
        // SAFETY: Called once per module load, from module init; the helper keeps the
        // directory in module-static state that `drop` removes.
        unsafe { sys::cmabuf_fail_alloc_create() };
        Self(())
    }
}

impl Drop for FailAlloc {
    fn drop(&mut self) {
        // SAFETY: Removes what `create` made; nothing else uses it afterwards.
        unsafe { sys::cmabuf_fail_alloc_remove() };
    }
}

/// Whether an allocation attempt of `bytes` should fail now (fault injection).
pub(crate) fn should_fail_alloc(bytes: usize) -> bool {
    // SAFETY: `should_fail` only reads and updates the attribute's own state.
    unsafe { sys::cmabuf_fail_alloc(bytes) }
}
