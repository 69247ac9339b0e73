// SPDX-License-Identifier: GPL-2.0

//! The user-space interface: `include/uapi/linux/cmabuf.h` in Rust, and the checks an
//! allocation request must pass before any memory is touched. The structs and constants
//! are bindgen's, from the header ([`crate::ffi::uapi_abi`]).

use crate::ffi::uapi_abi as abi;
pub(crate) use crate::ffi::{
    dma_buf::CacheMode,
    edquot,
    uapi_abi::{
        cmabuf_alloc as Alloc,
        cmabuf_phys as Phys,
        cmabuf_pool_info as PoolInfo,
        cmabuf_prepare as Prepare,
        cmabuf_query as Query,
        cmabuf_reservation_status as ReservationStatus,
        cmabuf_reserve as Reserve, //
    },
};
use core::mem::offset_of;
use kernel::{
    bindings,
    ioctl::{
        _IOR,
        _IOW,
        _IOWR, //
    },
    page::PAGE_SHIFT,
    prelude::*,
};

/// `CMABUF_IOC_MAGIC`.
const MAGIC: u32 = abi::CMABUF_IOC_MAGIC as u32;

/// `CMABUF_IOC_ALLOC`.
pub(crate) const IOC_ALLOC: u32 = _IOWR::<Alloc>(MAGIC, 0x00);
/// `CMABUF_IOC_POOL_INFO`.
pub(crate) const IOC_POOL_INFO: u32 = _IOR::<PoolInfo>(MAGIC, 0x01);
/// `CMABUF_IOC_PHYS`.
pub(crate) const IOC_PHYS: u32 = _IOWR::<Phys>(MAGIC, 0x02);
/// `CMABUF_IOC_PREPARE`.
pub(crate) const IOC_PREPARE: u32 = _IOW::<Prepare>(MAGIC, 0x03);
/// `CMABUF_IOC_QUERY`.
pub(crate) const IOC_QUERY: u32 = _IOWR::<Query>(MAGIC, 0x04);

/// `CMABUF_QUERY_MAX_COUNT`: most allocations one `CMABUF_IOC_QUERY` simulates.
pub(crate) const QUERY_MAX_COUNT: u32 = abi::CMABUF_QUERY_MAX_COUNT;
/// `CMABUF_QUERY_BYTES_ONLY`.
pub(crate) const QUERY_BYTES_ONLY: u32 = abi::CMABUF_QUERY_BYTES_ONLY;

/// `CMABUF_IOC_RESERVE`.
pub(crate) const IOC_RESERVE: u32 = _IOWR::<Reserve>(MAGIC, 0x05);
/// `CMABUF_RESERVATION_IOC_STATUS`, on a reservation fd.
pub(crate) const IOC_RESERVATION_STATUS: u32 = _IOR::<ReservationStatus>(MAGIC, 0x40);
/// `CMABUF_ALLOC_FROM_RESERVATION`.
pub(crate) const ALLOC_FROM_RESERVATION: u32 = abi::CMABUF_ALLOC_FROM_RESERVATION;
/// `CMABUF_RESERVATION_*`: a reservation's states.
pub(crate) const RESERVATION_EVACUATING: u32 = abi::CMABUF_RESERVATION_EVACUATING;
/// See [`RESERVATION_EVACUATING`].
pub(crate) const RESERVATION_READY: u32 = abi::CMABUF_RESERVATION_READY;
/// See [`RESERVATION_EVACUATING`].
pub(crate) const RESERVATION_FAILED: u32 = abi::CMABUF_RESERVATION_FAILED;
/// See [`RESERVATION_EVACUATING`].
pub(crate) const RESERVATION_SPENT: u32 = abi::CMABUF_RESERVATION_SPENT;
/// Longest a `CMABUF_IOC_PREPARE` may keep memory out of the system's hands.
pub(crate) const PREPARE_MAX_MS: u32 = 600_000;
/// `CMABUF_PREPARE_MAX_COUNT`: most runs one `CMABUF_IOC_PREPARE` may evacuate.
pub(crate) const PREPARE_MAX_COUNT: u32 = abi::CMABUF_PREPARE_MAX_COUNT;

/// `CMABUF_CACHE_MASK`: the cache-mode bits of [`Alloc::flags`].
const CACHE_MASK: u32 = abi::CMABUF_CACHE_MASK;
/// `CMABUF_ALLOC_FOR_CLIENT`: [`Alloc::client_pidfd`] names whom the buffer is for.
const ALLOC_FOR_CLIENT: u32 = abi::CMABUF_ALLOC_FOR_CLIENT;
/// `CMABUF_ALLOC_FLAGS`: every bit [`Alloc::flags`] may hold.
const ALLOC_FLAGS: u32 = abi::CMABUF_ALLOC_FLAGS;
/// `CMABUF_NAME_LEN`.
pub(crate) const NAME_LEN: usize = abi::CMABUF_NAME_LEN as usize;

/// A preparation that passed every check of [`Prepare::validate`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PrepareRequest {
    /// Pages of each buffer.
    pub(crate) pages: usize,
    /// How many buffers.
    pub(crate) count: u32,
    /// How long to keep them, in milliseconds.
    pub(crate) timeout_ms: u32,
}

impl Prepare {
    /// Checks the request against the pool's size; on failure says what is wrong.
    pub(crate) fn validate(&self, pool_bytes: u64) -> Result<PrepareRequest, &'static str> {
        if self.reserved.iter().any(|&r| r != 0) {
            return Err("reserved fields must be zero");
        }
        if self.size == 0 || self.count == 0 {
            return Err("size and count must not be 0");
        }
        if self.count > PREPARE_MAX_COUNT {
            return Err("count must be at most 1024 (CMABUF_PREPARE_MAX_COUNT)");
        }
        if self.size > pool_bytes {
            return Err("count * size is larger than the pool");
        }
        let page = 1u64 << PAGE_SHIFT;
        let pages = self.size.div_ceil(page);
        match (pages << PAGE_SHIFT).checked_mul(u64::from(self.count)) {
            Some(total) if total <= pool_bytes => {}
            _ => return Err("count * size is larger than the pool"),
        }
        if self.timeout_ms == 0 || self.timeout_ms > PREPARE_MAX_MS {
            return Err("timeout_ms must be 1 to 600000 (10 minutes)");
        }
        Ok(PrepareRequest {
            pages: usize::try_from(pages).map_err(|_| "size is larger than the pool")?,
            count: self.count,
            timeout_ms: self.timeout_ms,
        })
    }
}

// The layouts and values are ABI: bindgen follows the header, these keep the header
// from moving (on every architecture; `make check` asserts the same in C).
kernel::static_assert!(core::mem::size_of::<Alloc>() == 64);
kernel::static_assert!(core::mem::size_of::<PoolInfo>() == 176);
kernel::static_assert!(core::mem::size_of::<Phys>() == 40);
kernel::static_assert!(core::mem::size_of::<Prepare>() == 32);
kernel::static_assert!(core::mem::size_of::<Query>() == 96);
kernel::static_assert!(core::mem::size_of::<Reserve>() == 72);
kernel::static_assert!(core::mem::size_of::<ReservationStatus>() == 88);
kernel::static_assert!(
    offset_of!(Query, count) == 16
        && offset_of!(Query, fit) == 24
        && offset_of!(Query, pages_to_move) == 32
        && offset_of!(Query, blocked_runs) == 40
        && offset_of!(Query, blocking_pages) == 48
        && offset_of!(Query, stop_errno) == 56
        && offset_of!(Query, reserved) == 64
);
kernel::static_assert!(
    offset_of!(Alloc, align) == 8
        && offset_of!(Alloc, flags) == 16
        && offset_of!(Alloc, fd_flags) == 20
        && offset_of!(Alloc, fd) == 24
        && offset_of!(Alloc, id) == 28
        && offset_of!(Alloc, client_pidfd) == 32
        && offset_of!(Alloc, reserved0) == 36
        && offset_of!(Alloc, reservation_fd) == 40
        && offset_of!(Alloc, reserved) == 48
);
kernel::static_assert!(
    offset_of!(Reserve, count) == 16
        && offset_of!(Reserve, deadline_ms) == 20
        && offset_of!(Reserve, expiry_ms) == 24
        && offset_of!(Reserve, fd_flags) == 28
        && offset_of!(Reserve, fd) == 32
        && offset_of!(Reserve, reserved) == 40
);
kernel::static_assert!(
    offset_of!(ReservationStatus, left) == 20
        && offset_of!(ReservationStatus, bytes_evacuated) == 24
        && offset_of!(ReservationStatus, expires_in_ms) == 48
        && offset_of!(ReservationStatus, reserved) == 56
);
kernel::static_assert!(
    offset_of!(PoolInfo, size) == 40
        && offset_of!(PoolInfo, max_process_buffers) == 104
        && offset_of!(PoolInfo, reserved) == 112
);
kernel::static_assert!(
    offset_of!(Phys, reserved0) == 4
        && offset_of!(Phys, phys) == 8
        && offset_of!(Phys, size) == 16
        && offset_of!(Phys, reserved) == 24
);
kernel::static_assert!(
    offset_of!(Prepare, count) == 8
        && offset_of!(Prepare, timeout_ms) == 12
        && offset_of!(Prepare, reserved) == 16
);
kernel::static_assert!(
    MAGIC == b'J' as u32
        && abi::CMABUF_CACHED == 0
        && abi::CMABUF_WRITECOMBINE == 1
        && abi::CMABUF_UNCACHED == 2
        && CACHE_MASK == 3
        && ALLOC_FOR_CLIENT == 4
        && ALLOC_FLAGS == CACHE_MASK | ALLOC_FROM_RESERVATION | ALLOC_FOR_CLIENT
        && ALLOC_FROM_RESERVATION == 0x100
        && RESERVATION_EVACUATING == 0
        && RESERVATION_READY == 1
        && RESERVATION_FAILED == 2
        && RESERVATION_SPENT == 3
        && NAME_LEN == 40
        && PREPARE_MAX_COUNT == 1024
        && QUERY_MAX_COUNT == 4096
        && QUERY_BYTES_ONLY == 1
);

/// A request that passed every check of [`Alloc::validate`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct AllocRequest {
    /// Pages to allocate.
    pub(crate) pages: usize,
    /// Physical alignment as a page order.
    pub(crate) align_order: u32,
    /// Cache mode of CPU mappings.
    pub(crate) cache: CacheMode,
    /// `O_CLOEXEC` or 0, for the new fd.
    pub(crate) cloexec: u32,
    /// `O_RDWR` or `O_RDONLY`, for the dma-buf file.
    pub(crate) access: u32,
    /// With `CMABUF_ALLOC_FOR_CLIENT`: the pidfd of the process the buffer is for.
    pub(crate) client_pidfd: Option<i32>,
    /// The reservation fd to take the buffer from (`CMABUF_ALLOC_FROM_RESERVATION`).
    pub(crate) reservation_fd: Option<i32>,
    /// That reservation's tag, once the fd is looked up (`None` from `validate`).
    pub(crate) from_reservation: Option<u64>,
}

impl Alloc {
    /// Checks the request against the pool's size; on failure says what is wrong.
    pub(crate) fn validate(&self, pool_bytes: u64) -> Result<AllocRequest, &'static str> {
        if self.reserved.iter().any(|&r| r != 0)
            || self.reserved0 != 0
            || self.reserved1 != 0
            || self.fd != 0
            || self.id != 0
        {
            return Err("reserved fields, fd and id must be zero");
        }
        if self.flags & !ALLOC_FLAGS != 0 {
            return Err("unknown flags: only a CMABUF_CACHED/WRITECOMBINE/UNCACHED mode, CMABUF_ALLOC_FROM_RESERVATION and CMABUF_ALLOC_FOR_CLIENT");
        }
        if self.flags & ALLOC_FOR_CLIENT != 0 && self.flags & ALLOC_FROM_RESERVATION != 0 {
            return Err("CMABUF_ALLOC_FOR_CLIENT and CMABUF_ALLOC_FROM_RESERVATION together: a reservation's runs are charged to whoever reserved them; reserve as the client, or allocate for it without the reservation");
        }
        let client_pidfd = if self.flags & ALLOC_FOR_CLIENT != 0 {
            Some(self.client_pidfd)
        } else if self.client_pidfd != 0 {
            return Err("client_pidfd is set but flags lack CMABUF_ALLOC_FOR_CLIENT: set the flag to allocate for a client, or zero the field");
        } else {
            None
        };
        let reservation_fd = if self.flags & ALLOC_FROM_RESERVATION != 0 {
            if self.reservation_fd < 0 {
                return Err("reservation_fd is negative: pass the fd CMABUF_IOC_RESERVE returned");
            }
            Some(self.reservation_fd)
        } else if self.reservation_fd != 0 {
            return Err("reservation_fd is set without CMABUF_ALLOC_FROM_RESERVATION in flags");
        } else {
            None
        };
        let cache = match self.flags & CACHE_MASK {
            abi::CMABUF_CACHED => CacheMode::Cached,
            abi::CMABUF_WRITECOMBINE => CacheMode::WriteCombine,
            abi::CMABUF_UNCACHED => CacheMode::Uncached,
            _ => return Err("cache mode 3 does not exist"),
        };
        let allowed_fd_flags = bindings::O_CLOEXEC | bindings::O_ACCMODE;
        if self.fd_flags & !allowed_fd_flags != 0 {
            return Err("fd_flags may hold only O_CLOEXEC and O_RDWR or O_RDONLY");
        }
        let access = self.fd_flags & bindings::O_ACCMODE;
        if access != bindings::O_RDWR && access != bindings::O_RDONLY {
            return Err("fd_flags access mode must be O_RDWR or O_RDONLY");
        }
        let (pages, align_order) = pages_and_order(self.size, self.align, pool_bytes)?;
        Ok(AllocRequest {
            pages,
            align_order,
            cache,
            cloexec: self.fd_flags & bindings::O_CLOEXEC,
            access,
            client_pidfd,
            reservation_fd,
            from_reservation: None,
        })
    }
}

/// A buffer's `size` and `align` as `CMABUF_IOC_ALLOC` takes them, in pages and as a
/// page order; on failure says what is wrong (the same words for every ioctl).
fn pages_and_order(size: u64, align: u64, pool_bytes: u64) -> Result<(usize, u32), &'static str> {
    if size == 0 {
        return Err("size is 0");
    }
    if size > pool_bytes {
        return Err("size is larger than the pool");
    }
    let page = 1u64 << PAGE_SHIFT;
    let pages = size.div_ceil(page);
    // A dma-buf's size is a `size_t` (32 bits on 32-bit ARM, even with LPAE).
    if usize::try_from(pages << PAGE_SHIFT).is_err() {
        return Err(
            "size is larger than a dma-buf can be on this 32-bit kernel (4 GiB less a page)",
        );
    }
    let align_order = match align {
        0 => 0,
        a if !a.is_power_of_two() || a < page => {
            return Err("align must be 0 or a power of two no smaller than the page size")
        }
        a if a > pool_bytes => return Err("align is larger than the pool"),
        a => (a >> PAGE_SHIFT).trailing_zeros(),
    };
    let pages = usize::try_from(pages).map_err(|_| "size is larger than the pool")?;
    Ok((pages, align_order))
}

/// A reservation that passed every check of [`Reserve::validate`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ReserveRequest {
    /// Pages of each run.
    pub(crate) pages: usize,
    /// Physical alignment as a page order.
    pub(crate) align_order: u32,
    /// How many runs.
    pub(crate) count: u32,
    /// Milliseconds the evacuation may take.
    pub(crate) deadline_ms: u32,
    /// Milliseconds ready runs are kept.
    pub(crate) expiry_ms: u32,
    /// `O_CLOEXEC` or 0, for the reservation fd.
    pub(crate) cloexec: u32,
}

impl Reserve {
    /// Checks the request against the pool's size; on failure says what is wrong.
    pub(crate) fn validate(&self, pool_bytes: u64) -> Result<ReserveRequest, &'static str> {
        if self.reserved.iter().any(|&r| r != 0) || self.fd != 0 || self.flags != 0 {
            return Err("reserved fields, flags and fd must be zero");
        }
        if self.fd_flags & !bindings::O_CLOEXEC != 0 {
            return Err("fd_flags may hold only O_CLOEXEC");
        }
        if self.count == 0 || self.count > PREPARE_MAX_COUNT {
            return Err("count must be 1 to 1024 (CMABUF_PREPARE_MAX_COUNT)");
        }
        let (pages, align_order) = pages_and_order(self.size, self.align, pool_bytes)?;
        match ((pages as u64) << PAGE_SHIFT).checked_mul(u64::from(self.count)) {
            Some(total) if total <= pool_bytes => {}
            _ => return Err("count * size is larger than the pool"),
        }
        if self.deadline_ms == 0 || self.deadline_ms > PREPARE_MAX_MS {
            return Err("deadline_ms must be 1 to 600000 (10 minutes)");
        }
        if self.expiry_ms == 0 || self.expiry_ms > PREPARE_MAX_MS {
            return Err("expiry_ms must be 1 to 600000 (10 minutes)");
        }
        Ok(ReserveRequest {
            pages,
            align_order,
            count: self.count,
            deadline_ms: self.deadline_ms,
            expiry_ms: self.expiry_ms,
            cloexec: self.fd_flags & bindings::O_CLOEXEC,
        })
    }
}

/// A query that passed every check of [`Query::validate`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct QueryRequest {
    /// Pages of each buffer.
    pub(crate) pages: usize,
    /// Physical alignment as a page order.
    pub(crate) align_order: u32,
    /// How many allocations to simulate.
    pub(crate) count: u32,
}

impl Query {
    /// Checks the request against the pool's size as `CMABUF_IOC_ALLOC` would check
    /// its size and alignment; on failure says what is wrong.
    pub(crate) fn validate(&self, pool_bytes: u64) -> Result<QueryRequest, &'static str> {
        if self.reserved.iter().any(|&r| r != 0) {
            return Err("reserved fields must be zero");
        }
        if self.flags != 0 {
            return Err("flags must be zero (the cache mode does not change placement)");
        }
        if self.count == 0 || self.count > QUERY_MAX_COUNT {
            return Err("count must be 1 to 4096 (CMABUF_QUERY_MAX_COUNT)");
        }
        let (pages, align_order) = pages_and_order(self.size, self.align, pool_bytes)?;
        Ok(QueryRequest {
            pages,
            align_order,
            count: self.count,
        })
    }
}

impl Phys {
    /// Checks the reserved fields.
    pub(crate) fn validate(&self) -> Result<(), &'static str> {
        if self.reserved0 != 0 || self.reserved.iter().any(|&r| r != 0) {
            return Err("reserved fields must be zero");
        }
        Ok(())
    }
}

#[kunit_tests(cmabuf_uapi)]
mod tests {
    use super::*;

    const POOL: u64 = 64 << 20;
    const PAGE: u64 = 1 << PAGE_SHIFT;

    fn req(size: u64) -> Alloc {
        Alloc {
            size,
            fd_flags: bindings::O_RDWR | bindings::O_CLOEXEC,
            ..Alloc::default()
        }
    }

    #[test]
    fn size_rounds_up_to_pages() {
        assert_eq!(req(1).validate(POOL).map(|r| r.pages), Ok(1));
        assert_eq!(req(PAGE).validate(POOL).map(|r| r.pages), Ok(1));
        assert_eq!(req(PAGE + 1).validate(POOL).map(|r| r.pages), Ok(2));
        assert_eq!(
            req(POOL).validate(POOL).map(|r| r.pages),
            Ok((POOL / PAGE) as usize)
        );
    }

    #[test]
    fn sg_split_alloc_beyond_size_t() {
        // 4 GiB: a dma-buf on a 64-bit kernel; more than `size_t` holds on 32-bit.
        let four_g = 1u64 << 32;
        let r = req(four_g).validate(2 * four_g);
        if usize::BITS == 32 {
            assert!(r.is_err());
            assert!(req(four_g - PAGE).validate(2 * four_g).is_ok());
        } else {
            assert_eq!(r.map(|r| r.pages), Ok(1 << (32 - PAGE_SHIFT)));
        }
    }

    #[test]
    fn bad_sizes() {
        assert!(req(0).validate(POOL).is_err());
        assert!(req(POOL + 1).validate(POOL).is_err());
        assert!(req(u64::MAX).validate(POOL).is_err());
    }

    #[test]
    fn alignment() {
        let mut a = req(PAGE);
        a.align = 1 << 20;
        assert_eq!(
            a.validate(POOL).map(|r| r.align_order),
            Ok(20 - PAGE_SHIFT as u32)
        );
        for bad in [1, PAGE / 2, PAGE + 1, 3 * PAGE, POOL * 2] {
            a.align = bad;
            assert!(a.validate(POOL).is_err());
        }
    }

    #[test]
    fn flags_and_reserved() {
        let mut a = req(PAGE);
        a.flags = 2;
        assert_eq!(a.validate(POOL).map(|r| r.cache), Ok(CacheMode::Uncached));
        for bad in [3, 8, 1 << 31] {
            a.flags = bad;
            assert!(a.validate(POOL).is_err());
        }
        let mut a = req(PAGE);
        a.reserved[1] = 1;
        assert!(a.validate(POOL).is_err());
        let mut a = req(PAGE);
        a.reserved0 = 1;
        assert!(a.validate(POOL).is_err());
        let mut a = req(PAGE);
        a.reserved1 = 1;
        assert!(a.validate(POOL).is_err());
        let mut a = req(PAGE);
        a.fd = 5;
        assert!(a.validate(POOL).is_err());
        let mut a = req(PAGE);
        a.reserved0 = 1;
        assert!(a.validate(POOL).is_err());
    }

    #[test]
    fn client_pidfd_needs_the_flag() {
        let mut a = req(PAGE);
        assert_eq!(a.validate(POOL).map(|r| r.client_pidfd), Ok(None));
        // fd 0 is a pidfd like any other: the flag, not the value, says it is set.
        a.flags = ALLOC_FOR_CLIENT;
        assert_eq!(a.validate(POOL).map(|r| r.client_pidfd), Ok(Some(0)));
        a.client_pidfd = -1;
        assert_eq!(a.validate(POOL).map(|r| r.client_pidfd), Ok(Some(-1)));
        a.flags = ALLOC_FOR_CLIENT | abi::CMABUF_UNCACHED;
        a.client_pidfd = 7;
        assert_eq!(
            a.validate(POOL).map(|r| (r.client_pidfd, r.cache)),
            Ok((Some(7), CacheMode::Uncached))
        );
        a.flags = 0;
        assert!(a.validate(POOL).is_err());
        // A reservation's runs are its owner's: not for a client.
        a.flags = ALLOC_FOR_CLIENT | ALLOC_FROM_RESERVATION;
        a.reservation_fd = 3;
        assert!(a.validate(POOL).is_err());
    }

    #[test]
    fn from_reservation() {
        let mut a = req(PAGE);
        a.reservation_fd = 3;
        // A reservation fd without the flag.
        assert!(a.validate(POOL).is_err());
        a.flags = ALLOC_FROM_RESERVATION;
        assert_eq!(
            a.validate(POOL)
                .map(|r| (r.reservation_fd, r.from_reservation)),
            Ok((Some(3), None))
        );
        a.reservation_fd = 0;
        assert_eq!(a.validate(POOL).map(|r| r.reservation_fd), Ok(Some(0)));
        a.reservation_fd = -1;
        assert!(a.validate(POOL).is_err());
    }

    #[test]
    fn reserve_requests() {
        let r = |size, count, deadline_ms, expiry_ms| Reserve {
            size,
            count,
            deadline_ms,
            expiry_ms,
            ..Default::default()
        };
        assert_eq!(
            r(PAGE + 1, 2, 100, 200).validate(POOL),
            Ok(ReserveRequest {
                pages: 2,
                align_order: 0,
                count: 2,
                deadline_ms: 100,
                expiry_ms: 200,
                cloexec: 0,
            })
        );
        assert!(r(POOL / 4, 4, PREPARE_MAX_MS, PREPARE_MAX_MS)
            .validate(POOL)
            .is_ok());
        assert!(r(POOL / 4, 5, 1, 1).validate(POOL).is_err());
        assert!(r(0, 1, 1, 1).validate(POOL).is_err());
        assert!(r(PAGE, 0, 1, 1).validate(POOL).is_err());
        assert!(r(PAGE, PREPARE_MAX_COUNT + 1, 1, 1).validate(POOL).is_err());
        assert!(r(PAGE, 1, 0, 1).validate(POOL).is_err());
        assert!(r(PAGE, 1, 1, 0).validate(POOL).is_err());
        assert!(r(PAGE, 1, PREPARE_MAX_MS + 1, 1).validate(POOL).is_err());
        assert!(r(PAGE, 1, 1, PREPARE_MAX_MS + 1).validate(POOL).is_err());
        let mut bad = r(PAGE, 1, 1, 1);
        bad.flags = 1;
        assert!(bad.validate(POOL).is_err());
        let mut bad = r(PAGE, 1, 1, 1);
        bad.fd = 4;
        assert!(bad.validate(POOL).is_err());
        let mut bad = r(PAGE, 1, 1, 1);
        bad.reserved[3] = 1;
        assert!(bad.validate(POOL).is_err());
        let mut bad = r(PAGE, 1, 1, 1);
        bad.fd_flags = bindings::O_RDWR;
        assert!(bad.validate(POOL).is_err());
        let mut ok = r(PAGE, 1, 1, 1);
        ok.fd_flags = bindings::O_CLOEXEC;
        ok.align = 1 << 20;
        assert_eq!(
            ok.validate(POOL).map(|r| (r.cloexec, r.align_order)),
            Ok((bindings::O_CLOEXEC, 20 - PAGE_SHIFT as u32))
        );
    }

    #[test]
    fn fd_flags() {
        let mut a = req(PAGE);
        a.fd_flags = bindings::O_RDONLY;
        assert_eq!(
            a.validate(POOL).map(|r| (r.access, r.cloexec)),
            Ok((bindings::O_RDONLY, 0))
        );
        for bad in [
            bindings::O_WRONLY,
            bindings::O_NONBLOCK | bindings::O_RDWR,
            3,
        ] {
            a.fd_flags = bad;
            assert!(a.validate(POOL).is_err());
        }
    }

    #[test]
    fn prepare_requests() {
        let p = |size, count, timeout_ms| Prepare {
            size,
            count,
            timeout_ms,
            reserved: [0; 2],
        };
        assert_eq!(
            p(PAGE + 1, 2, 100).validate(POOL),
            Ok(PrepareRequest {
                pages: 2,
                count: 2,
                timeout_ms: 100
            })
        );
        assert!(p(POOL / 4, 4, PREPARE_MAX_MS).validate(POOL).is_ok());
        assert!(p(POOL / 4, 5, 100).validate(POOL).is_err());
        assert!(p(u64::MAX, 2, 100).validate(POOL).is_err());
        assert!(p(PAGE, u32::MAX, 100).validate(POOL).is_err());
        assert!(p(0, 1, 100).validate(POOL).is_err());
        assert!(p(PAGE, 0, 100).validate(POOL).is_err());
        assert!(p(PAGE, 1, 0).validate(POOL).is_err());
        assert!(p(PAGE, 1, PREPARE_MAX_MS + 1).validate(POOL).is_err());
        assert!(p(PAGE, PREPARE_MAX_COUNT, 1).validate(POOL).is_ok());
        assert!(p(PAGE, PREPARE_MAX_COUNT + 1, 1).validate(POOL).is_err());
        let mut r = p(PAGE, 1, 1);
        r.reserved[1] = 1;
        assert!(r.validate(POOL).is_err());
    }

    #[test]
    fn query_requests() {
        let q = |size, align, count| Query {
            size,
            align,
            count,
            ..Query::default()
        };
        assert_eq!(
            q(PAGE + 1, 0, 3).validate(POOL),
            Ok(QueryRequest {
                pages: 2,
                align_order: 0,
                count: 3
            })
        );
        assert_eq!(
            q(PAGE, 1 << 20, QUERY_MAX_COUNT)
                .validate(POOL)
                .map(|r| r.align_order),
            Ok(20 - PAGE_SHIFT as u32)
        );
        // The same refusals, in the same words, as CMABUF_IOC_ALLOC.
        for (size, align) in [(0, 0), (POOL + 1, 0), (PAGE, 3 * PAGE), (PAGE, PAGE / 2)] {
            let mut a = req(size);
            a.align = align;
            assert!(q(size, align, 1).validate(POOL).err() == a.validate(POOL).err());
            assert!(q(size, align, 1).validate(POOL).is_err());
        }
        assert!(q(PAGE, 0, 0).validate(POOL).is_err());
        assert!(q(PAGE, 0, QUERY_MAX_COUNT + 1).validate(POOL).is_err());
        let mut r = q(PAGE, 0, 1);
        r.flags = 1;
        assert!(r.validate(POOL).is_err());
        let mut r = q(PAGE, 0, 1);
        r.reserved[3] = 1;
        assert!(r.validate(POOL).is_err());
    }
}
