// SPDX-License-Identifier: GPL-2.0

//! Declarations of the C functions cmabuf calls that `kernel::bindings` lacks.
//!
//! This module may not be used directly outside [`crate::ffi`]: the parent module wraps
//! every function in a safe type. Exported kernel symbols come first, then the module's
//! own C accessors from `shim.c`.

// `struct device` embeds `lockdep_map`, which is empty (and so not FFI-safe to rustc)
// without lockdep; only pointers cross here, never the struct itself.
#![allow(improper_ctypes)]

use kernel::{
    bindings,
    ffi::{
        c_char,
        c_int, //
    },
};

/// `struct cma`, opaque to Rust.
#[repr(C)]
pub(crate) struct cma {
    _opaque: [u8; 0],
}

extern "C" {
    // mm/cma.c (EXPORT_SYMBOL_GPL)
    pub(crate) fn cma_get_name(cma: *const cma) -> *const c_char;

    // drivers/of/of_reserved_mem.c (EXPORT_SYMBOL_GPL)
    pub(crate) fn of_reserved_mem_device_init_by_idx(
        dev: *mut bindings::device,
        np: *mut bindings::device_node,
        idx: c_int,
    ) -> c_int;
    pub(crate) fn of_reserved_mem_device_release(dev: *mut bindings::device);

    // rust/ffi/shim.c
    pub(crate) fn cmabuf_region_count(dev: *mut bindings::device) -> c_int;
    pub(crate) fn cmabuf_region_node(
        dev: *mut bindings::device,
        idx: c_int,
    ) -> *mut bindings::device_node;
    pub(crate) fn cmabuf_node_has_property(
        np: *const bindings::device_node,
        name: *const c_char,
    ) -> bool;
    pub(crate) fn cmabuf_node_full_name(np: *const bindings::device_node) -> *const c_char;
    pub(crate) fn cmabuf_rmem_info(
        np: *mut bindings::device_node,
        name: *mut *const c_char,
        base: *mut u64,
        size: *mut u64,
    ) -> c_int;
    pub(crate) fn cmabuf_dev_cma_area(dev: *mut bindings::device) -> *mut cma;
}
