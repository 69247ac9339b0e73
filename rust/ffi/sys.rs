// SPDX-License-Identifier: GPL-2.0

//! The C functions cmabuf calls that `kernel::bindings` lacks: exported kernel functions
//! (CMA, reserved memory) and the module's own C shim (`shim.c`).
//!
//! `sys/generated.rs` is made by `scripts/gen-bindings.sh` with bindgen and the kernel's
//! own bindgen and clang flags; `make check` fails if it no longer matches the headers.
//! One file serves arm64 and 32-bit ARM alike: it names C types (`c_ulong`, `phys_addr_t`,
//! `size_t`) instead of their widths, and `make check ARCH=arm` compares it against the
//! 32-bit headers.
//! This module may not be used directly outside [`crate::ffi`]: the parent module wraps
//! every function in a safe type.

#![allow(
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    dead_code,
    improper_ctypes,
    non_camel_case_types,
    non_upper_case_globals,
    unreachable_pub,
    unsafe_op_in_unsafe_fn
)]

include!("sys/generated.rs");
