// SPDX-License-Identifier: GPL-2.0

//! A pool's sysfs attributes, `/sys/class/misc/cmabuf-<pool>/`: the table of files is C
//! (`sysfs_attrs.c`, whose names are ABI); what each shows comes from the Rust type that
//! implements [`PoolAttributes`], through `cmabuf_pool_attr_value`, which
//! [`crate::ffi_misc_file!`] defines for the one misc device type that has them.
//!
//! Lifetime: the groups are the misc device's `groups`, created by `misc_register` with
//! the device (before its uevent) and removed by `misc_deregister`, which waits for
//! every show in progress (kernfs active references) and makes reads of a file still
//! open fail with `ENODEV`. [`MiscRegistration`] deregisters before its data drops, so a
//! show never sees a freed registration.

use super::{
    sys,
    MiscFile,
    MiscRegistration, //
};
use kernel::{
    bindings,
    error::code::EINVAL, //
};

/// What a file of `sysfs_attrs.c` shows (`enum cmabuf_pool_attr`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PoolAttribute {
    Size,
    Used,
    Free,
    LargestFree,
    Buffers,
    PeakUsed,
    AllocSuccesses,
    AllocFailures,
    MigratedPages,
    Cached,
    CacheLimit,
    MaxBytes,
    MaxBuffers,
    MaxProcessBytes,
    MaxProcessBuffers,
    FailuresInvalid,
    FailuresNoRoom,
    FailuresMigration,
    FailuresLimit,
    FailuresDmem,
    FailuresOther,
}

impl PoolAttribute {
    /// The attribute of a C enumerator.
    fn from_raw(raw: sys::cmabuf_pool_attr) -> Option<Self> {
        use PoolAttribute::*;
        Some(match raw {
            sys::cmabuf_pool_attr_CMABUF_ATTR_SIZE => Size,
            sys::cmabuf_pool_attr_CMABUF_ATTR_USED => Used,
            sys::cmabuf_pool_attr_CMABUF_ATTR_FREE => Free,
            sys::cmabuf_pool_attr_CMABUF_ATTR_LARGEST_FREE => LargestFree,
            sys::cmabuf_pool_attr_CMABUF_ATTR_BUFFERS => Buffers,
            sys::cmabuf_pool_attr_CMABUF_ATTR_PEAK_USED => PeakUsed,
            sys::cmabuf_pool_attr_CMABUF_ATTR_ALLOC_SUCCESSES => AllocSuccesses,
            sys::cmabuf_pool_attr_CMABUF_ATTR_ALLOC_FAILURES => AllocFailures,
            sys::cmabuf_pool_attr_CMABUF_ATTR_MIGRATED_PAGES => MigratedPages,
            sys::cmabuf_pool_attr_CMABUF_ATTR_CACHED => Cached,
            sys::cmabuf_pool_attr_CMABUF_ATTR_CACHE_LIMIT => CacheLimit,
            sys::cmabuf_pool_attr_CMABUF_ATTR_MAX_BYTES => MaxBytes,
            sys::cmabuf_pool_attr_CMABUF_ATTR_MAX_BUFFERS => MaxBuffers,
            sys::cmabuf_pool_attr_CMABUF_ATTR_MAX_PROCESS_BYTES => MaxProcessBytes,
            sys::cmabuf_pool_attr_CMABUF_ATTR_MAX_PROCESS_BUFFERS => MaxProcessBuffers,
            sys::cmabuf_pool_attr_CMABUF_ATTR_FAILURES_INVALID => FailuresInvalid,
            sys::cmabuf_pool_attr_CMABUF_ATTR_FAILURES_NO_ROOM => FailuresNoRoom,
            sys::cmabuf_pool_attr_CMABUF_ATTR_FAILURES_MIGRATION => FailuresMigration,
            sys::cmabuf_pool_attr_CMABUF_ATTR_FAILURES_LIMIT => FailuresLimit,
            sys::cmabuf_pool_attr_CMABUF_ATTR_FAILURES_DMEM => FailuresDmem,
            sys::cmabuf_pool_attr_CMABUF_ATTR_FAILURES_OTHER => FailuresOther,
            _ => return None,
        })
    }
}

/// A [`MiscFile`] whose device has the pool attributes (`ffi_misc_file!(T, Data,
/// pool_attributes)`).
pub(crate) trait PoolAttributes: MiscFile {
    /// The value `attr`'s file shows for the device whose data is `data`.
    fn value(data: &Self::Data, attr: PoolAttribute) -> u64;
}

/// The attribute groups of `sysfs_attrs.c`, for `miscdevice.groups`.
#[doc(hidden)]
pub(crate) fn pool_groups() -> *mut *const bindings::attribute_group {
    // SAFETY: The C function returns a static, NULL-terminated table.
    unsafe { sys::cmabuf_pool_attr_groups() }
}

/// `cmabuf_pool_attr_value` for `T` (called by the function the macro defines).
///
/// # Safety
///
/// `misc` is the `misc` field of a registered [`MiscRegistration<T>`] (the driver data
/// of its device), and the call runs while it stays registered (a sysfs show under its
/// file's active reference); `value` is valid for a write.
#[doc(hidden)]
pub(crate) unsafe fn pool_attr_value<T: PoolAttributes>(
    misc: *const bindings::miscdevice,
    attr: kernel::ffi::c_uint,
    value: *mut u64,
) -> kernel::ffi::c_int {
    let Some(attr) = PoolAttribute::from_raw(attr) else {
        return EINVAL.to_errno();
    };
    // SAFETY: By the safety contract `misc` is the `misc` field of a live, registered
    // `MiscRegistration<T>`.
    let data = unsafe { MiscRegistration::<T>::data_of_raw(misc) };
    // SAFETY: `value` is valid for a write (safety contract).
    unsafe { value.write(T::value(data, attr)) };
    0
}
