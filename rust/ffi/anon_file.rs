// SPDX-License-Identifier: GPL-2.0

//! Files with no inode of their own (`fs/anon_inodes.c`), such as the reservation fds of
//! `CMABUF_IOC_RESERVE`: an `Arc<T>` as private data, `ioctl` and `poll` served by `T`,
//! the `Arc` dropped when the last reference to the file goes.
//!
//! The `kernel` crate has no abstraction for them yet. The operations name this module
//! as owner, so an open file keeps cmabuf loaded.

use super::sys;
use core::ffi::c_uint;
use kernel::{
    bindings,
    error::from_err_ptr,
    fs::File,
    prelude::*,
    sync::aref::ARef,
    sync::{poll::PollTable, Arc, ArcBorrow},
    types::ForeignOwnable,
};

/// What `poll` reports of a file made by [`create`].
pub(crate) enum Readiness {
    /// Nothing yet: `poll` waits.
    Waiting,
    /// `POLLIN | POLLRDNORM`.
    Ready,
    /// `POLLERR`.
    Failed,
}

/// What a file made by [`create`] does; implement it with [`crate::ffi_anon_file!`].
pub(crate) trait AnonFile: Send + Sync + Sized + 'static {
    /// An `ioctl` on the file: the command and its argument (a user-space address).
    fn ioctl(this: ArcBorrow<'_, Self>, cmd: u32, arg: usize) -> Result<isize>;

    /// `poll`: registers `table`'s wait and says what holds now.
    fn poll(this: ArcBorrow<'_, Self>, file: &File, table: &PollTable<'_>) -> Readiness;

    /// The last reference to the file went (`release`); `this` is dropped after.
    fn release(this: &Arc<Self>);
}

/// The file operations of one [`AnonFile`] type.
///
/// # Safety
///
/// `fops` returns a static of its own, made by [`Fops::new`] for `Self` (one per type:
/// [`crate::ffi_anon_file!`] is the way to implement it), so that a file's operations
/// tell whose private data it carries.
pub(crate) unsafe trait AnonFileOps: AnonFile {
    /// The table.
    fn fops() -> &'static Fops;
}

/// Implements [`AnonFileOps`] for the [`AnonFile`] type `$t`.
#[macro_export]
macro_rules! ffi_anon_file {
    ($t:ty) => {
        // SAFETY: `fops` returns a static of its own (one per `impl`, and the macro is
        // the only way to implement `AnonFileOps`) made by `Fops::new::<$t>()`.
        unsafe impl $crate::ffi::anon_file::AnonFileOps for $t {
            fn fops() -> &'static $crate::ffi::anon_file::Fops {
                static FOPS: $crate::ffi::anon_file::Fops =
                    $crate::ffi::anon_file::Fops::new::<$t>();
                &FOPS
            }
        }
    };
}

/// `bindings::file_operations` of an [`AnonFile`] type.
#[doc(hidden)]
#[repr(transparent)]
pub(crate) struct Fops(bindings::file_operations);

// SAFETY: The table is immutable; its pointers are to functions and to this module.
unsafe impl Sync for Fops {}

impl Fops {
    /// The table for `T`.
    pub(crate) const fn new<T: AnonFileOps>() -> Self {
        Self(bindings::file_operations {
            owner: super::this_module().as_ptr(),
            unlocked_ioctl: Some(ioctl::<T>),
            compat_ioctl: Some(ioctl::<T>),
            poll: Some(poll::<T>),
            release: Some(release::<T>),
            llseek: Some(bindings::noop_llseek),
            ..pin_init::zeroed()
        })
    }
}

/// A new file `[name]` whose private data is `data`, opened read-write (and
/// close-on-exec with `cloexec` = `O_CLOEXEC`); not yet installed in a descriptor.
pub(crate) fn create<T: AnonFileOps>(
    name: &CStr,
    data: Arc<T>,
    cloexec: u32,
) -> Result<ARef<File>> {
    let private = data.into_foreign();
    // SAFETY: `name` is NUL-terminated; the operations are `T`'s static table; `private`
    // is an `Arc<T>` given up above, taken back by `release` or below on failure.
    let file = unsafe {
        sys::cmabuf_anon_inode_getfile(
            name.as_char_ptr(),
            &T::fops().0,
            private.cast(),
            (bindings::O_RDWR | cloexec) as i32,
        )
    };
    match from_err_ptr(file) {
        Ok(file) => {
            // SAFETY: `anon_inode_getfile` returned a new file with one reference, which
            // the caller now owns.
            Ok(unsafe { ARef::from_raw(core::ptr::NonNull::new_unchecked(file.cast())) })
        }
        Err(e) => {
            // SAFETY: No file holds `private`: it is ours again.
            drop(unsafe { <Arc<T>>::from_foreign(private) });
            Err(e)
        }
    }
}

/// The data of `fd` if it is a file made by [`create`] for `T`; `None` for another open
/// file, `EBADF` if `fd` is not open.
pub(crate) fn data_of_fd<T: AnonFileOps>(fd: i32) -> Result<Option<Arc<T>>> {
    let fd = c_uint::try_from(fd).map_err(|_| EBADF)?;
    // SAFETY: `fget` takes any number and returns a referenced file or NULL.
    let file = unsafe { bindings::fget(fd) };
    if file.is_null() {
        return Err(EBADF);
    }
    // SAFETY: `file` is valid while we hold the reference `fget` took. With `T`'s
    // operations its private data is the `Arc<T>` of `create`, alive until `release`,
    // which cannot run while we hold a reference.
    let data = unsafe {
        if core::ptr::eq((*file).f_op, &T::fops().0) {
            Some(<Arc<T>>::borrow((*file).private_data.cast()).into())
        } else {
            None
        }
    };
    // SAFETY: Drops the reference `fget` took.
    unsafe { bindings::fput(file) };
    Ok(data)
}

/// # Safety
///
/// Called by the VFS on a file made by [`create`] for `T`, which is open.
unsafe extern "C" fn ioctl<T: AnonFileOps>(
    file: *mut bindings::file,
    cmd: c_uint,
    arg: usize,
) -> isize {
    // SAFETY: The private data is the `Arc<T>` of `create`, alive while the file is open.
    let this = unsafe { <Arc<T>>::borrow((*file).private_data.cast()) };
    match T::ioctl(this, cmd, arg) {
        Ok(ret) => ret,
        Err(e) => e.to_errno() as isize,
    }
}

/// # Safety
///
/// Called by the VFS on a file made by [`create`] for `T`, which is open, with a
/// `poll_table` that is null or valid for the call.
unsafe extern "C" fn poll<T: AnonFileOps>(
    file: *mut bindings::file,
    table: *mut bindings::poll_table,
) -> bindings::__poll_t {
    // SAFETY: As in `ioctl`.
    let this = unsafe { <Arc<T>>::borrow((*file).private_data.cast()) };
    // SAFETY: The VFS holds the file for the call.
    let f = unsafe { File::from_raw_file(file) };
    // SAFETY: `table` is null or valid for the call.
    let table = unsafe { PollTable::from_raw(table) };
    match T::poll(this, f, &table) {
        Readiness::Waiting => 0,
        Readiness::Ready => bindings::POLLIN | bindings::POLLRDNORM,
        Readiness::Failed => bindings::POLLERR,
    }
}

/// # Safety
///
/// Called by the VFS once, when the last reference to a file made by [`create`] for `T`
/// goes.
unsafe extern "C" fn release<T: AnonFileOps>(
    _inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> core::ffi::c_int {
    // SAFETY: The private data is what `create` gave up; this is the one place that
    // takes it back.
    let this = unsafe { <Arc<T>>::from_foreign((*file).private_data.cast()) };
    T::release(&this);
    0
}
