// SPDX-License-Identifier: GPL-2.0

//! `/dev/cmabuf-<name>`: the character device user space asks for buffers.

use crate::{
    allocator::{Allocator, Evacuation},
    buffer::Buffer,
    ffi::{
        self,
        MiscRegistration, //
    },
    uapi, //
};
use core::mem::size_of;
use kernel::{
    fs::{
        file::{
            flags,
            FileDescriptorReservation, //
        },
        File, //
    },
    miscdevice::{
        MiscDevice,
        MiscDeviceRegistration, //
    },
    prelude::*,
    sync::{
        Arc,
        ArcBorrow, //
    },
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

/// An open `/dev/cmabuf-<name>`; holds the pool's allocator alive.
pub(crate) struct PoolFile;

// Its device has the pool's sysfs files (`sysfs.rs`).
crate::ffi_misc_file!(PoolFile, Arc<Allocator>, pool_attributes);

#[vtable]
impl MiscDevice for PoolFile {
    type Ptr = Arc<Allocator>;

    fn open(_file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Self::Ptr> {
        Ok(MiscRegistration::<Self>::data_of(misc).clone())
    }

    fn ioctl(
        allocator: ArcBorrow<'_, Allocator>,
        file: &File,
        cmd: u32,
        arg: usize,
    ) -> Result<isize> {
        match cmd {
            uapi::IOC_ALLOC => {
                needs_write_access(&allocator, file, "CMABUF_IOC_ALLOC")?;
                alloc(allocator.into(), arg)
            }
            uapi::IOC_POOL_INFO => pool_info(&allocator, arg),
            uapi::IOC_PHYS => phys(&allocator, arg),
            uapi::IOC_PREPARE => {
                needs_write_access(&allocator, file, "CMABUF_IOC_PREPARE")?;
                prepare(&allocator, arg)
            }
            uapi::IOC_QUERY => query(&allocator, arg),
            uapi::IOC_RESERVE => {
                needs_write_access(&allocator, file, "CMABUF_IOC_RESERVE")?;
                reserve(allocator.into(), arg)
            }
            _ => Err(ENOTTY),
        }
    }
}

/// Requests that take memory from the pool need the device open for writing (`O_RDWR`
/// or `O_WRONLY`); one opened `O_RDONLY` may only look (`EBADF`, as `write(2)` on it).
fn needs_write_access(allocator: &Allocator, file: &File, ioctl: &str) -> Result {
    if file.flags() & flags::O_ACCMODE != flags::O_RDONLY {
        return Ok(());
    }
    if allocator.ratelimit.allow() {
        pr_err!(
            "{}: {}: the file is open read-only: open /dev/cmabuf-{} with O_RDWR to take memory from the pool\n",
            &*allocator.name,
            ioctl,
            &*allocator.name
        );
    }
    Err(EBADF)
}

/// Says why a request was refused (rate-limited) and fails it with `EINVAL`.
pub(crate) fn invalid(allocator: &Allocator, ioctl: &str, why: &str) -> Error {
    allocator.count_invalid();
    if allocator.ratelimit.allow() {
        pr_err!("{}: {}: {}\n", &*allocator.name, ioctl, why);
    }
    EINVAL
}

/// `CMABUF_IOC_ALLOC`: allocate a buffer and return it as a dma-buf fd.
fn alloc(allocator: Arc<Allocator>, arg: usize) -> Result<isize> {
    let (mut reader, mut writer) =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::Alloc>()).reader_writer();
    let mut args: uapi::Alloc = reader.read()?;
    let mut req = args
        .validate(allocator.size)
        .map_err(|why| invalid(&allocator, "CMABUF_IOC_ALLOC", why))?;
    // A buffer from a reservation is its owner's, who carries its charges already.
    let reservation = match req.reservation_fd {
        Some(fd) => {
            let r = ffi::anon_file::data_of_fd::<Evacuation>(fd)?
                .filter(|r| r.of_pool(&allocator))
                .ok_or_else(|| {
                    invalid(
                        &allocator,
                        "CMABUF_IOC_ALLOC",
                        "reservation_fd is not a reservation of this pool",
                    )
                })?;
            r.check_take(req.pages as u64, req.align_order)?;
            req.from_reservation = Some(r.tag());
            Some(r)
        }
        None => None,
    };
    // Reserve the fd first and install it last, so that a failed copy to user space
    // leaves no descriptor behind (the buffer then goes with its file).
    let fd = FileDescriptorReservation::get_unused_fd_flags(req.cloexec)?;
    // `validate` refused a client with a reservation.
    let owner = match (&reservation, req.client_pidfd) {
        (Some(r), _) => r.owner().clone(),
        (None, Some(pidfd)) => client(&allocator, pidfd)?,
        (None, None) => ffi::PidRef::current()?,
    };
    let buffer = allocator.alloc(&req, &owner)?;
    if let Some(r) = &reservation {
        r.taken();
    }
    args.fd = fd.reserved_fd() as i32;
    args.id = buffer.id();
    let file = ffi::dma_buf::export(buffer, req.access)?;
    writer.write(&args)?;
    fd.fd_install(file);
    Ok(0)
}

/// The process `CMABUF_IOC_ALLOC` with `CMABUF_ALLOC_FOR_CLIENT` allocates for: the one
/// the pidfd `pidfd` names, if the caller could signal it or holds `CAP_SYS_RESOURCE`.
fn client(allocator: &Allocator, pidfd: i32) -> Result<ffi::PidRef> {
    let client = ffi::PidRef::from_pidfd(pidfd).map_err(|refusal| {
        if allocator.ratelimit.allow() {
            let why = match refusal {
                ffi::PidfdRefusal::NotOpen => "is not an open file descriptor",
                ffi::PidfdRefusal::NotPidfd => {
                    "is not a pidfd: pass one from pidfd_open(2) or clone3(CLONE_PIDFD)"
                }
                ffi::PidfdRefusal::Exited => "names a process that has exited",
            };
            pr_err!(
                "{}: CMABUF_IOC_ALLOC: client_pidfd {} {}\n",
                &*allocator.name,
                pidfd,
                why
            );
        }
        refusal.error()
    })?;
    // `capable()` last: it marks the task as having used the privilege.
    if client.may_signal || ffi::capable_sys_resource() {
        return Ok(client.pid);
    }
    if allocator.ratelimit.allow() {
        pr_err!(
            "{}: CMABUF_IOC_ALLOC: may not allocate for client pid {}: its uid differs from the caller's; run the service as the client's user or give it CAP_SYS_RESOURCE\n",
            &*allocator.name,
            client.pid.nr()
        );
    }
    Err(EPERM)
}

/// `CMABUF_IOC_POOL_INFO`: the pool's size and use.
fn pool_info(allocator: &Allocator, arg: usize) -> Result<isize> {
    let mut info = uapi::PoolInfo::default();
    let name = allocator.name.to_bytes();
    let len = name.len().min(uapi::NAME_LEN - 1);
    info.name[..len].copy_from_slice(&name[..len]);
    let snap = allocator.snapshot();
    info.size = allocator.size;
    info.used = snap.used;
    info.free = snap.free;
    info.largest_free = snap.largest_free;
    info.buffers = snap.buffers;
    info.max_bytes = allocator.limits.max_bytes;
    info.max_buffers = allocator.limits.max_buffers;
    info.max_process_bytes = allocator.limits.max_process_bytes;
    info.max_process_buffers = allocator.limits.max_process_buffers;
    UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::PoolInfo>())
        .writer()
        .write(&info)?;
    Ok(0)
}

/// `CMABUF_IOC_PREPARE`: evacuate runs of the pool ahead of the allocations to come.
fn prepare(allocator: &Allocator, arg: usize) -> Result<isize> {
    let args: uapi::Prepare = UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::Prepare>())
        .reader()
        .read()?;
    let req = args
        .validate(allocator.size)
        .map_err(|why| invalid(allocator, "CMABUF_IOC_PREPARE", why))?;
    allocator.prepare(&req, &ffi::PidRef::current()?)?;
    Ok(0)
}

/// `CMABUF_IOC_RESERVE`: start evacuating runs for a reservation fd.
fn reserve(allocator: Arc<Allocator>, arg: usize) -> Result<isize> {
    let (mut reader, mut writer) =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::Reserve>()).reader_writer();
    let mut args: uapi::Reserve = reader.read()?;
    let req = args
        .validate(allocator.size)
        .map_err(|why| invalid(&allocator, "CMABUF_IOC_RESERVE", why))?;
    let fd = FileDescriptorReservation::get_unused_fd_flags(req.cloexec)?;
    let file = crate::allocator::reserve(allocator, &req)?;
    args.fd = fd.reserved_fd() as i32;
    writer.write(&args)?;
    fd.fd_install(file);
    Ok(0)
}

/// `CMABUF_IOC_QUERY`: how allocations of one size would go now, without allocating.
fn query(allocator: &Allocator, arg: usize) -> Result<isize> {
    let (mut reader, mut writer) =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::Query>()).reader_writer();
    let mut args: uapi::Query = reader.read()?;
    let req = args
        .validate(allocator.size)
        .map_err(|why| invalid(allocator, "CMABUF_IOC_QUERY", why))?;
    let answer = allocator.query(&req, &ffi::PidRef::current()?)?;
    args.fit = answer.fit;
    args.fit_without_migration = answer.fit_without_migration;
    args.pages_to_move = answer.pages_to_move;
    args.blocked_runs = answer.blocked_runs;
    args.cache_hits = answer.cache_hits;
    args.blocking_pages = answer.blocking_pages;
    args.stop_errno = answer.stop.map_or(0, |e| -e.to_errno());
    args.answer_flags = if answer.bytes_only {
        uapi::QUERY_BYTES_ONLY
    } else {
        0
    };
    writer.write(&args)?;
    Ok(0)
}

/// `CMABUF_IOC_PHYS`: a buffer's physical address, for `CAP_SYS_RAWIO` only.
fn phys(allocator: &Allocator, arg: usize) -> Result<isize> {
    let (mut reader, mut writer) =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::Phys>()).reader_writer();
    let mut args: uapi::Phys = reader.read()?;
    args.validate()
        .map_err(|why| invalid(allocator, "CMABUF_IOC_PHYS", why))?;
    if !ffi::capable_sys_rawio() {
        return Err(EPERM);
    }
    let buffer = ffi::dma_buf::buffer_of_fd::<Buffer>(args.fd)?
        .filter(|b| core::ptr::eq(&**b.allocator(), allocator))
        .ok_or_else(|| {
            invalid(
                allocator,
                "CMABUF_IOC_PHYS",
                "fd is not a buffer of this pool",
            )
        })?;
    args.phys = buffer.pages().phys();
    args.size = buffer.pages().size();
    writer.write(&args)?;
    Ok(0)
}
