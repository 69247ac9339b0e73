// SPDX-License-Identifier: GPL-2.0

//! Misc device registration with a file mode, a module owner and per-device data.
//!
//! `kernel::miscdevice::MiscDeviceRegistration` registers with mode 0600 and with file
//! operations that have no owner, so an open file would not pin the module. This
//! registration reuses the `kernel` crate's [`MiscDevice`] file operations (open, ioctl,
//! mmap, ...) but sets `mode`, gives the operations `THIS_MODULE` as owner, takes its
//! name at run time and carries data that `open` and its sysfs files (`sysfs.rs`) can
//! reach.

use core::marker::PhantomData;
use kernel::{
    bindings,
    error::to_result,
    miscdevice::{
        MiscDevice,
        MiscDeviceRegistration, //
    },
    prelude::*,
    str::CString,
    types::Opaque, //
};

/// A [`MiscDevice`] registered only through [`MiscRegistration`].
///
/// # Safety
///
/// The implementor is never registered with `MiscDeviceRegistration::register`, so every
/// `MiscDeviceRegistration<Self>` handed to [`MiscDevice::open`] is the `misc` field of a
/// [`MiscRegistration<Self>`]. `fops` returns the `kernel` crate's operations for `Self`
/// with `owner` set to this module. Use [`crate::ffi_misc_file!`] to implement it.
pub(crate) unsafe trait MiscFile: MiscDevice {
    /// Data shared by the registration with every open file.
    type Data: Send + Sync;

    /// The file operations, with `owner` set.
    fn fops() -> &'static bindings::file_operations;

    /// The sysfs attribute groups of the device (`miscdevice.groups`), or NULL.
    fn groups() -> *mut *const bindings::attribute_group {
        core::ptr::null_mut()
    }
}

/// `bindings::file_operations` in a static.
#[doc(hidden)]
#[repr(transparent)]
pub(crate) struct StaticFops(pub(crate) bindings::file_operations);

// SAFETY: The table is immutable; its pointers are to functions and to the module.
unsafe impl Sync for StaticFops {}

/// Implements [`MiscFile`] for a [`MiscDevice`] type; with `pool_attributes`, its device
/// also has the pool's sysfs files (`T` implements [`super::sysfs::PoolAttributes`];
/// only one type may).
#[macro_export]
macro_rules! ffi_misc_file {
    ($t:ty, $data:ty, pool_attributes) => {
        $crate::ffi_misc_file!(@impl $t, $data, $crate::ffi::sysfs::pool_groups());

        /// The value of a pool's sysfs file (`rust/ffi/sysfs_attrs.h`).
        ///
        /// # Safety
        ///
        /// Called by `sysfs_attrs.c` with the driver data of a device that has its
        /// attributes, which only `MiscRegistration<$t>` registers, while the file's
        /// show runs (so the registration is live), and a `value` valid for a write.
        #[no_mangle]
        unsafe extern "C" fn cmabuf_pool_attr_value(
            misc: *const ::kernel::bindings::miscdevice,
            attr: ::kernel::ffi::c_uint,
            value: *mut u64,
        ) -> ::kernel::ffi::c_int {
            // SAFETY: The caller's contract is `pool_attr_value`'s for `$t`: only a
            // `MiscRegistration<$t>` has these attributes.
            unsafe { $crate::ffi::sysfs::pool_attr_value::<$t>(misc, attr, value) }
        }
    };
    ($t:ty, $data:ty) => {
        $crate::ffi_misc_file!(@impl $t, $data, ::core::ptr::null_mut());
    };
    (@impl $t:ty, $data:ty, $groups:expr) => {
        // SAFETY: `$t` is registered only through `MiscRegistration` (the macro is the only
        // way to implement `MiscFile`), and `fops` copies the `kernel` crate's table.
        unsafe impl $crate::ffi::MiscFile for $t {
            type Data = $data;

            fn fops() -> &'static ::kernel::bindings::file_operations {
                static FOPS: $crate::ffi::StaticFops = $crate::ffi::StaticFops({
                    let raw = ::kernel::miscdevice::MiscDeviceOptions { name: c"cmabuf" }
                        .into_raw::<$t>();
                    ::kernel::bindings::file_operations {
                        owner: $crate::ffi::this_module().as_ptr(),
                        // SAFETY: `into_raw` points `fops` at the `kernel` crate's static
                        // table for `$t`; copying it at compile time is a plain read.
                        ..unsafe { *raw.fops }
                    }
                });
                &FOPS.0
            }

            fn groups() -> *mut *const ::kernel::bindings::attribute_group {
                $groups
            }
        }
    };
}

/// A registered misc device `/dev/<name>` whose open files can reach `data`.
///
/// # Invariants
///
/// `misc` holds a `struct miscdevice` registered with `misc_register`, whose `name`
/// points into `name`'s buffer, until `PinnedDrop` deregisters it.
#[pin_data(PinnedDrop)]
pub(crate) struct MiscRegistration<T: MiscFile> {
    #[pin]
    misc: Opaque<bindings::miscdevice>,
    name: CString,
    data: T::Data,
    _t: PhantomData<T>,
}

// SAFETY: `misc_deregister` may run on any thread; `data` is `Send`.
unsafe impl<T: MiscFile> Send for MiscRegistration<T> {}
// SAFETY: `&self` only gives out `&data` (which is `Sync`) and the device name.
unsafe impl<T: MiscFile> Sync for MiscRegistration<T> {}

impl<T: MiscFile> MiscRegistration<T> {
    /// Registers `/dev/<name>` with file mode `mode` (e.g. 0o660).
    pub(crate) fn register(name: CString, mode: u16, data: T::Data) -> impl PinInit<Self, Error> {
        // The name's heap buffer does not move when the `CString` moves into `Self`.
        let name_ptr = name.as_char_ptr();
        try_pin_init!(Self {
            name,
            data,
            _t: PhantomData,
            misc <- Opaque::try_ffi_init(move |slot: *mut bindings::miscdevice| {
                let mut raw = kernel::miscdevice::MiscDeviceOptions { name: c"cmabuf" }
                    .into_raw::<T>();
                raw.name = name_ptr;
                raw.mode = mode;
                raw.fops = T::fops();
                // The files exist when the device's uevent goes out.
                raw.groups = T::groups();
                // SAFETY: `slot` is valid for writes (pin-init contract).
                unsafe { slot.write(raw) };
                // SAFETY: `slot` holds a filled-in miscdevice that is pinned and is
                // deregistered in `drop` before its memory or `name` go away.
                // INVARIANT: On success the device is registered.
                to_result(unsafe { bindings::misc_register(slot) })
            }),
        })
    }

    /// The device name, without `/dev/`.
    pub(crate) fn name(&self) -> &CStr {
        &self.name
    }

    /// The data of the registration that `misc` (given to [`MiscDevice::open`]) belongs to.
    pub(crate) fn data_of(misc: &MiscDeviceRegistration<T>) -> &T::Data {
        // SAFETY: By the safety contract of `MiscFile`, `misc` is the `misc` field of a
        // `MiscRegistration<T>`, which `misc_open` keeps alive during `open`.
        unsafe { Self::data_of_raw(misc.as_raw()) }
    }

    /// The data of the registration whose `misc` field is `misc`.
    ///
    /// # Safety
    ///
    /// `misc` is the `misc` field of a `MiscRegistration<T>` that stays alive for `'a`.
    pub(super) unsafe fn data_of_raw<'a>(misc: *const bindings::miscdevice) -> &'a T::Data {
        let raw: *mut Opaque<bindings::miscdevice> = misc.cast_mut().cast();
        // SAFETY: By the safety contract `raw` is the `misc` field of a live
        // `MiscRegistration<T>`, so the containing struct is valid for `'a`.
        let this = unsafe { &*kernel::container_of!(raw, Self, misc) };
        &this.data
    }
}

#[pinned_drop]
impl<T: MiscFile> PinnedDrop for MiscRegistration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariants the device is registered.
        unsafe { bindings::misc_deregister(self.misc.get()) };
    }
}
