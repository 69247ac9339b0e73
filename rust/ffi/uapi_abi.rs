// SPDX-License-Identifier: GPL-2.0

//! The uAPI as `include/uapi/linux/cmabuf.h` defines it: its structs and constants, made
//! by bindgen from the header itself (`sys`), so that Rust and C cannot drift apart (the
//! crate's `uapi` module names and checks them). The structs may be copied from and to
//! user space byte for byte.

pub(crate) use super::sys::{
    cmabuf_alloc,
    cmabuf_phys,
    cmabuf_pool_info,
    cmabuf_prepare,
    cmabuf_query,
    cmabuf_reservation_status,
    cmabuf_reserve,
    CMABUF_ALLOC_FLAGS,
    CMABUF_ALLOC_FOR_CLIENT,
    CMABUF_ALLOC_FROM_RESERVATION,
    CMABUF_CACHED,
    CMABUF_CACHE_MASK,
    CMABUF_IOC_MAGIC,
    CMABUF_NAME_LEN,
    CMABUF_PREPARE_MAX_COUNT,
    CMABUF_QUERY_BYTES_ONLY,
    CMABUF_QUERY_MAX_COUNT,
    CMABUF_RESERVATION_EVACUATING,
    CMABUF_RESERVATION_FAILED,
    CMABUF_RESERVATION_READY,
    CMABUF_RESERVATION_SPENT,
    CMABUF_UNCACHED,
    CMABUF_WRITECOMBINE, //
};
use core::mem::size_of;
use kernel::transmute::{
    AsBytes,
    FromBytes, //
};

// No padding: each struct is as large as its fields together.
const _: () = assert!(size_of::<cmabuf_alloc>() == 8 + 8 + 4 + 4 + 4 + 4 + 4 + 4 + 4 + 4 + 2 * 8);
const _: () = assert!(size_of::<cmabuf_reserve>() == 8 + 8 + 6 * 4 + 4 * 8);
const _: () = assert!(size_of::<cmabuf_reservation_status>() == 6 * 4 + 4 * 8 + 4 * 8);
const _: () = assert!(size_of::<cmabuf_pool_info>() == CMABUF_NAME_LEN as usize + 9 * 8 + 8 * 8);
const _: () = assert!(size_of::<cmabuf_phys>() == 4 + 4 + 8 + 8 + 2 * 8);
const _: () = assert!(size_of::<cmabuf_prepare>() == 8 + 4 + 4 + 2 * 8);
const _: () = assert!(size_of::<cmabuf_query>() == 8 + 8 + 4 * 4 + 8 + 4 + 4 + 8 + 4 + 4 + 4 * 8);

// SAFETY: `cmabuf_alloc` is `repr(C)` of integers with no padding (asserted above), so
// every byte pattern is a valid value.
unsafe impl FromBytes for cmabuf_alloc {}
// SAFETY: See above: no padding, so every byte is initialised.
unsafe impl AsBytes for cmabuf_alloc {}
// SAFETY: `cmabuf_pool_info` is `repr(C)` of bytes and integers with no padding.
unsafe impl AsBytes for cmabuf_pool_info {}
// SAFETY: `cmabuf_phys` is `repr(C)` of integers with no padding.
unsafe impl FromBytes for cmabuf_phys {}
// SAFETY: See above.
unsafe impl AsBytes for cmabuf_phys {}
// SAFETY: `cmabuf_prepare` is `repr(C)` of integers with no padding.
unsafe impl FromBytes for cmabuf_prepare {}
// SAFETY: `cmabuf_query` is `repr(C)` of integers with no padding (asserted above).
unsafe impl FromBytes for cmabuf_query {}
// SAFETY: See above.
unsafe impl AsBytes for cmabuf_query {}
// SAFETY: `cmabuf_reserve` is `repr(C)` of integers with no padding (asserted above).
unsafe impl FromBytes for cmabuf_reserve {}
// SAFETY: See above.
unsafe impl AsBytes for cmabuf_reserve {}
// SAFETY: `cmabuf_reservation_status` is `repr(C)` of integers with no padding.
unsafe impl AsBytes for cmabuf_reservation_status {}
