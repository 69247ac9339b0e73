// SPDX-License-Identifier: GPL-2.0

//! A rate limit for messages that user space can trigger (`lib/ratelimit.c`).

use super::sys;
use kernel::{
    bindings,
    prelude::*,
    types::Opaque, //
};

/// At most 10 messages per 5 seconds, as `printk_ratelimit`, but of its own.
///
/// # Invariants
///
/// `state` was initialised by `ratelimit_state_init`.
#[pin_data]
pub(crate) struct RateLimit {
    #[pin]
    state: Opaque<bindings::ratelimit_state>,
}

// SAFETY: `struct ratelimit_state` carries its own lock.
unsafe impl Send for RateLimit {}
// SAFETY: See `Send`: `___ratelimit` takes the state's lock.
unsafe impl Sync for RateLimit {}

impl RateLimit {
    /// A fresh rate limit.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes; the helper initialises all of it.
            // INVARIANT: Initialised by `ratelimit_state_init`.
            state <- Opaque::ffi_init(|slot| unsafe { sys::cmabuf_ratelimit_init(slot) }),
        })
    }

    /// Whether a message may be printed now.
    pub(crate) fn allow(&self) -> bool {
        // SAFETY: The state is initialised (type invariant) and pinned.
        unsafe { bindings::___ratelimit(self.state.get(), c"cmabuf".as_char_ptr()) != 0 }
    }
}
