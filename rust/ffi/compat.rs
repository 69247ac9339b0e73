// SPDX-License-Identifier: GPL-2.0

//! Every difference between the kernels cmabuf builds against, Linux 7.2 and 7.3, in one
//! place: each item exists twice, behind `CMABUF_KERNEL_7_3_OR_LATER` (set by `Kbuild`
//! from the kernel tree's version), and the rest of the crate uses one name for both.
//!
//! Each item says when it can go: once 7.2 is no longer supported, keep the 7.3 variant
//! of each, drop the cfgs, then fold the items back to where they are used. The C shim's
//! one difference (`dmem_cgroup_register_region`) is in `shim.c`, `cmabuf_dmem_region`.

use kernel::{
    bindings,
    device::Device,
    ffi::c_int, //
};

/// This module, for file operations' `owner`.
///
/// Goes with 7.2: 7.3 names it `<LocalModule as ModuleMetadata>::THIS_MODULE`.
#[cfg(not(CMABUF_KERNEL_7_3_OR_LATER))]
pub(crate) const fn this_module() -> &'static kernel::ThisModule {
    &crate::THIS_MODULE
}

/// This module, for file operations' `owner` (7.3: a constant of `ModuleMetadata`).
#[cfg(CMABUF_KERNEL_7_3_OR_LATER)]
pub(crate) const fn this_module() -> &'static kernel::ThisModule {
    &<crate::LocalModule as kernel::ModuleMetadata>::THIS_MODULE
}

/// The value of a module parameter (7.2: `value()` returns a reference).
///
/// Goes with 7.2: 7.3's `value()` returns the value.
#[cfg(not(CMABUF_KERNEL_7_3_OR_LATER))]
macro_rules! param {
    ($p:ident) => {
        *crate::module_parameters::$p.value()
    };
}

/// The value of a module parameter (7.3: `value()` returns it by value).
#[cfg(CMABUF_KERNEL_7_3_OR_LATER)]
macro_rules! param {
    ($p:ident) => {
        crate::module_parameters::$p.value()
    };
}
pub(crate) use param;

/// `kernel::of_device_table!` (7.2 also takes the modpost alias's name).
///
/// Goes with 7.2: 7.3's macro names the alias itself.
#[cfg(not(CMABUF_KERNEL_7_3_OR_LATER))]
macro_rules! of_device_table {
    ($table:ident, $module_table:ident, $info:ty, $ids:tt) => {
        kernel::of_device_table!($table, $module_table, $info, $ids);
    };
}

/// `kernel::of_device_table!` (7.3 names the modpost alias itself).
#[cfg(CMABUF_KERNEL_7_3_OR_LATER)]
macro_rules! of_device_table {
    ($table:ident, $module_table:ident, $info:ty, $ids:tt) => {
        kernel::of_device_table!($table, $info, $ids);
    };
}
pub(crate) use of_device_table;

/// The generic device of a faux device.
///
/// Goes with 7.2: 7.3's registration gives a bound `faux::Device`.
#[cfg(not(CMABUF_KERNEL_7_3_OR_LATER))]
pub(crate) fn faux_device(reg: &kernel::faux::Registration) -> &Device {
    reg.as_ref()
}

/// The generic device of a faux device (7.3 gives a bound `faux::Device`).
#[cfg(CMABUF_KERNEL_7_3_OR_LATER)]
pub(crate) fn faux_device(reg: &kernel::faux::Registration) -> &Device {
    let faux: &kernel::faux::Device<kernel::device::Bound> = reg.as_ref();
    let dev: &Device<kernel::device::Bound> = faux.as_ref();
    dev
}

/// A DMA direction as the C shim takes it (7.2's bindings make it an integer).
///
/// Goes with 7.2: 7.3's bindings make `dma_data_direction` a newtype.
#[cfg(not(CMABUF_KERNEL_7_3_OR_LATER))]
pub(crate) fn dir_raw(dir: bindings::dma_data_direction) -> c_int {
    dir as c_int
}

/// A DMA direction as the C shim takes it (7.3's bindings make it a newtype).
#[cfg(CMABUF_KERNEL_7_3_OR_LATER)]
pub(crate) fn dir_raw(dir: bindings::dma_data_direction) -> c_int {
    dir.0 as c_int
}
