// SPDX-License-Identifier: GPL-2.0

//! The only place where cmabuf uses `unsafe`.
//!
//! The `kernel` crate has no abstraction for reserved memory, CMA areas, dma-heaps, misc
//! devices with a file mode and a module owner, debugfs files with a module owner, or
//! driver-global locks initialised at load. The
//! submodules wrap exactly what cmabuf needs in types whose invariants make the rest of
//! the crate safe Rust. `sys` declares the C functions; `shim.c` reaches the inline
//! helpers that have no exported symbol.
//!
//! `ffi` is the floor: the rest of the crate calls down into it, and it names nothing
//! above it. Where C calls back (a work item, a shrinker, a dma-heap, a dma-buf's
//! operations) it is generic over a small trait of its own that the caller implements
//! (`Tick`, `Shrink`, `Reap`, `HeapAllocate`, `dma_buf::Exportable`, `MiscFile`,
//! `sysfs::PoolAttributes`). The
//! exceptions are the crate-root items `module!` generates (`compat`), and one: the
//! module-wide registry lock (`global`) names the state it guards. The host check
//! `ffi_is_the_floor` (`scripts/host-checks.sh`) keeps it so.

pub(crate) mod anon_file;
mod cma;
mod compat;
pub(crate) mod dcache;
pub(crate) mod debugfs;
pub(crate) mod decimal;
pub(crate) mod dma_buf;
mod dma_heap;
mod dmem;
mod errno;
pub(crate) mod fault;
mod global;
mod misc;
pub(crate) mod mm;
mod module_ref;
mod of;
mod pid;
mod ratelimit;
pub(crate) mod reaper;
mod reserved_mem;
mod run_index;
mod shrinker;
mod sys;
pub(crate) mod sysfs;
mod ticker;
pub(crate) mod tracing;
pub(crate) mod uapi_abi;
pub(crate) mod work_queue;

pub(crate) use cma::{
    CmaArea,
    CmaArena,
    CmaPages, //
};
use compat::dir_raw;
pub(crate) use compat::{
    faux_device,
    of_device_table,
    param,
    this_module, //
};
pub(crate) use dcache::DcacheDevice;
pub(crate) use dma_heap::{
    dma_heap_exists,
    HeapAllocate,
    HeapSlot, //
};
pub(crate) use dmem::{
    DmemCharge,
    DmemRegion, //
};
pub(crate) use errno::{
    ecanceled,
    edquot, //
};
pub(crate) use global::{
    init_registry,
    REGISTRY, //
};
pub(crate) use misc::{
    MiscFile,
    MiscRegistration,
    StaticFops, //
};
pub(crate) use mm::{
    Census,
    VmEvents, //
};
pub(crate) use module_ref::ModuleRef;
pub(crate) use of::{
    RegionNode,
    ReservedRegion, //
};
pub(crate) use pid::{
    PidRef,
    PidfdRefusal, //
};
pub(crate) use ratelimit::RateLimit;
pub(crate) use reserved_mem::ReservedMemAssignment;
pub(crate) use run_index::RunIndex;
pub(crate) use shrinker::{
    CacheShrinker,
    Shrink, //
};
pub(crate) use ticker::{
    HasTicker,
    Tick,
    Ticker, //
};

use kernel::{
    bindings,
    device::Device, //
};

/// The C `struct device` behind a Rust [`Device`].
fn raw_device(dev: &Device) -> *mut bindings::device {
    // `Device` is `#[repr(transparent)]` over `Opaque<bindings::device>`, which has the
    // layout of `bindings::device`: the cast yields the C object.
    core::ptr::from_ref(dev).cast_mut().cast()
}

/// Lets `dev` reach all of memory through the DMA API (for a device with no DMA setup
/// of its own, such as a faux device).
pub(crate) fn set_dma_mask_all(dev: &Device) -> kernel::error::Result {
    // SAFETY: `dev` is a valid device; the helper sets its DMA masks.
    kernel::error::to_result(unsafe { sys::cmabuf_set_dma_mask_all(raw_device(dev)) })
}

/// Whether the current task may do raw I/O (`CAP_SYS_RAWIO`).
pub(crate) fn capable_sys_rawio() -> bool {
    // SAFETY: `capable` checks the current task's credentials.
    unsafe { bindings::capable(bindings::CAP_SYS_RAWIO as i32) }
}

/// Whether the current task may override resource limits (`CAP_SYS_RESOURCE`).
pub(crate) fn capable_sys_resource() -> bool {
    // SAFETY: `capable` checks the current task's credentials.
    unsafe { bindings::capable(bindings::CAP_SYS_RESOURCE as i32) }
}
