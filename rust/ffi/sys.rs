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
        c_int,
        c_uint,
        c_ulong,
        c_void, //
    },
};

/// `struct dmem_cgroup_region`, opaque to Rust.
#[repr(C)]
pub(crate) struct dmem_cgroup_region {
    _opaque: [u8; 0],
}

/// `struct dmem_cgroup_pool_state`, opaque to Rust.
#[repr(C)]
pub(crate) struct dmem_cgroup_pool_state {
    _opaque: [u8; 0],
}

/// `struct cma`, opaque to Rust.
#[repr(C)]
pub(crate) struct cma {
    _opaque: [u8; 0],
}

extern "C" {
    // mm/cma.c (EXPORT_SYMBOL_GPL)
    pub(crate) fn cma_get_name(cma: *const cma) -> *const c_char;
    pub(crate) fn cma_alloc(
        cma: *mut cma,
        count: c_ulong,
        align: c_uint,
        no_warn: bool,
    ) -> *mut bindings::page;
    pub(crate) fn cma_release(cma: *mut cma, pages: *const bindings::page, count: c_ulong) -> bool;

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

    pub(crate) fn cmabuf_nth_page(page: *mut bindings::page, n: c_ulong) -> *mut bindings::page;
    pub(crate) fn cmabuf_page_to_pfn(page: *mut bindings::page) -> c_ulong;
    pub(crate) fn cmabuf_pages_referenced(page: *mut bindings::page, count: c_ulong) -> c_ulong;
    pub(crate) fn cmabuf_clear_pages(page: *mut bindings::page, count: c_ulong) -> c_int;
    pub(crate) fn cmabuf_clean_dcache(
        dev: *mut bindings::device,
        page: *mut bindings::page,
        size: usize,
    );
    pub(crate) fn cmabuf_vma_prepare(vma: *mut bindings::vm_area_struct, cache: c_uint);
    pub(crate) fn cmabuf_vma_span(
        vma: *const bindings::vm_area_struct,
        start: *mut c_ulong,
        pages: *mut c_ulong,
        pgoff: *mut c_ulong,
    );
    pub(crate) fn cmabuf_vmap(
        pages: *mut *mut bindings::page,
        count: c_uint,
        cache: c_uint,
    ) -> *mut c_void;
    pub(crate) fn cmabuf_vunmap(addr: *const c_void);
    pub(crate) fn cmabuf_iosys_map_set_vaddr(map: *mut bindings::iosys_map, vaddr: *mut c_void);
    pub(crate) fn cmabuf_iosys_map_vaddr(map: *const bindings::iosys_map) -> *mut c_void;
    pub(crate) fn cmabuf_dma_buf_export(
        ops: *const bindings::dma_buf_ops,
        size: usize,
        flags: c_int,
        priv_: *mut c_void,
    ) -> *mut bindings::dma_buf;
    pub(crate) fn cmabuf_sgt_init(
        sgt: *mut bindings::sg_table,
        page: *mut bindings::page,
        size: usize,
    ) -> c_int;
    pub(crate) fn cmabuf_sgt_unmap(
        dev: *mut bindings::device,
        sgt: *mut bindings::sg_table,
        dir: c_int,
    );
    pub(crate) fn cmabuf_sgt_sync_for_cpu(
        dev: *mut bindings::device,
        sgt: *mut bindings::sg_table,
        dir: c_int,
    );
    pub(crate) fn cmabuf_sgt_sync_for_device(
        dev: *mut bindings::device,
        sgt: *mut bindings::sg_table,
        dir: c_int,
    );
    pub(crate) fn cmabuf_dmem_register(size: u64, name: *const c_char) -> *mut dmem_cgroup_region;
    pub(crate) fn cmabuf_dmem_unregister(region: *mut dmem_cgroup_region);
    pub(crate) fn cmabuf_dmem_try_charge(
        region: *mut dmem_cgroup_region,
        size: u64,
        pool: *mut *mut dmem_cgroup_pool_state,
    ) -> c_int;
    pub(crate) fn cmabuf_dmem_uncharge(pool: *mut dmem_cgroup_pool_state, size: u64);
    pub(crate) fn cmabuf_ratelimit_init(rs: *mut bindings::ratelimit_state);
}
