// SPDX-License-Identifier: GPL-2.0

//! The module's own workqueue, for work items that may outlive the objects that queued
//! them (a reservation's worker runs on after its fd is closed until its migration
//! ends). Created at module load; destroyed at module exit, which waits for every item
//! still queued or running, so that none runs module code after the module is gone.
//! The system workqueues cannot be flushed by a module.

use super::sys;
use core::ptr::null_mut;
use kernel::{
    bindings,
    prelude::*,
    sync::atomic::{
        Acquire,
        Atomic,
        Full, //
    },
    workqueue::Queue,
};

/// The queue, or null outside the life of a [`ModuleQueue`].
static QUEUE: Atomic<*mut bindings::workqueue_struct> = Atomic::new(null_mut());

/// The queue's life: created by [`ModuleQueue::create`], destroyed when dropped.
pub(crate) struct ModuleQueue(());

impl ModuleQueue {
    /// Creates the queue (module init, before any pool exists): unbound, since its
    /// items migrate pages for as long as that takes.
    pub(crate) fn create() -> Result<Self> {
        // SAFETY: The name is a NUL-terminated literal.
        let wq = unsafe { sys::cmabuf_alloc_unbound_workqueue(c"cmabuf".as_char_ptr()) };
        if wq.is_null() {
            return Err(ENOMEM);
        }
        let old = QUEUE.xchg(wq, Full);
        if !old.is_null() {
            // SAFETY: A queue this module created, which nothing uses: module init runs
            // once, so this cannot happen.
            unsafe { bindings::destroy_workqueue(old) };
        }
        Ok(Self(()))
    }
}

/// Waits for every item on the queue and destroys it (module exit, after every pool is
/// gone: nothing queues work any more).
impl Drop for ModuleQueue {
    fn drop(&mut self) {
        let wq = QUEUE.xchg(null_mut(), Full);
        if !wq.is_null() {
            // SAFETY: The queue `create` made; `destroy_workqueue` drains it first.
            unsafe { bindings::destroy_workqueue(wq) };
        }
    }
}

/// The queue, while the module is loaded.
pub(crate) fn queue() -> Option<&'static Queue> {
    let wq = QUEUE.load(Acquire);
    // SAFETY: A non-null pointer is the queue `create` made, destroyed only when the
    // `ModuleQueue` drops at module exit, when no code of the module queues work any
    // more.
    (!wq.is_null()).then(|| unsafe { Queue::from_raw(wq) })
}
