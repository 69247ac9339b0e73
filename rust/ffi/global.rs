// SPDX-License-Identifier: GPL-2.0

//! The module-wide registry lock, initialised once at module load.
//!
//! The one place `ffi` names a type of the crate above it (the host check
//! `ffi_is_the_floor` allows it here only): `global_lock!` makes a static, whose type
//! must name the state it guards.

use crate::registry::Registry;
use kernel::{
    prelude::*,
    sync::atomic::{
        Atomic,
        Full, //
    },
};

kernel::sync::global_lock! {
    // SAFETY: `init_registry` initialises the lock in module init, before the platform
    // driver is registered, and nothing else can reach it earlier.
    pub(crate) unsafe(uninit) static REGISTRY: Mutex<Registry> = Registry::new();
}

static REGISTRY_READY: Atomic<bool> = Atomic::new(false);

/// Initialises [`REGISTRY`]. Called from module init; later calls do nothing.
pub(crate) fn init_registry() {
    if !REGISTRY_READY.xchg(true, Full) {
        // SAFETY: The flag makes this the only call that reaches `init`, and it runs
        // before any user of the lock exists (module init, before driver registration).
        unsafe { REGISTRY.init() };
    }
}
