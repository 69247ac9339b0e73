/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * cmabuf: physically contiguous dma-buf buffers from reusable CMA pools.
 *
 * Open /dev/cmabuf-<pool> and ask it for buffers with CMABUF_IOC_ALLOC; each comes back
 * as a dma-buf file descriptor that can be mmap()ed, synchronised with
 * DMA_BUF_IOCTL_SYNC (linux/dma-buf.h) and handed to camera (V4L2), display (DRM) or
 * GPU drivers. The buffer is freed when the last reference to it goes: the fd, its
 * duplicates, mappings and importers' attachments. Map it MAP_SHARED: a MAP_PRIVATE
 * mapping is copy-on-write (a page the process writes becomes its own copy, which the
 * buffer never sees).
 *
 * The device node itself serves ioctls only: read() and write() fail with EINVAL,
 * mmap() with ENODEV, lseek() with ESPIPE. CMABUF_IOC_ALLOC and CMABUF_IOC_PREPARE
 * take memory from the pool and need the node open for writing (O_RDWR or O_WRONLY);
 * on a file opened O_RDONLY they fail with EBADF. CMABUF_IOC_POOL_INFO,
 * CMABUF_IOC_PHYS and CMABUF_IOC_QUERY work on any open file.
 *
 * Every struct carries reserved fields that must be zero, so it can grow without a new
 * ioctl number. Errors: EINVAL for an unknown flag, a non-zero reserved field, size 0
 * or larger than the pool, a bad alignment or bad fd_flags; EFAULT for a bad pointer;
 * ENOMEM when the pool has no free run large enough; EBUSY when pages in the pool
 * could not be migrated away after bounded retries; EDQUOT when a limit is reached;
 * EPERM for CMABUF_IOC_PHYS without CAP_SYS_RAWIO, and for CMABUF_IOC_ALLOC on behalf
 * of a client the caller may not signal; EBADF for CMABUF_IOC_ALLOC and
 * CMABUF_IOC_PREPARE on a node opened O_RDONLY, and for a client_pidfd that is not a
 * pidfd; ESRCH for a client that has exited; ENOTTY for an unknown ioctl.
 *
 * Usable from C and C++. See Documentation/cmabuf.rst.
 */
#ifndef _UAPI_LINUX_CMABUF_H
#define _UAPI_LINUX_CMABUF_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* ioctl magic: 'J' is free in Documentation/userspace-api/ioctl/ioctl-number.rst. */
#define CMABUF_IOC_MAGIC 'J'

/* Cache modes for cmabuf_alloc.flags: how CPU mappings (mmap, vmap) see the buffer. */
#define CMABUF_CACHED		0x0	/* default; keep coherent with DMA_BUF_IOCTL_SYNC */
#define CMABUF_WRITECOMBINE	0x1	/* uncached, writes may be combined */
#define CMABUF_UNCACHED		0x2	/* uncached: Normal non-cacheable (as the DMA API maps RAM) */
#define CMABUF_CACHE_MASK	0x3

/* cmabuf_alloc.flags: take the buffer from the reservation @reservation_fd names. */
#define CMABUF_ALLOC_FROM_RESERVATION	0x100

/*
 * cmabuf_alloc.flags: allocate on behalf of the process cmabuf_alloc.client_pidfd names
 * (a pidfd, pidfd_open(2)): see struct cmabuf_alloc. Not with
 * CMABUF_ALLOC_FROM_RESERVATION (EINVAL).
 */
#define CMABUF_ALLOC_FOR_CLIENT	0x4

/* All flags cmabuf_alloc.flags may hold. */
#define CMABUF_ALLOC_FLAGS	(CMABUF_CACHE_MASK | CMABUF_ALLOC_FROM_RESERVATION | \
				 CMABUF_ALLOC_FOR_CLIENT)

/* Longest pool name, plus the terminating NUL. */
#define CMABUF_NAME_LEN 40

/**
 * struct cmabuf_alloc - CMABUF_IOC_ALLOC: allocate a contiguous buffer
 * @size:	in: bytes; rounded up to whole pages (left as given: the buffer's
 *		size is the dma-buf's, lseek(fd, 0, SEEK_END))
 * @align:	in: alignment of the buffer's physical address in bytes, a power of two
 *		no smaller than the page size; 0 means page alignment
 * @flags:	in: one CMABUF_CACHED, CMABUF_WRITECOMBINE or CMABUF_UNCACHED, and
 *		CMABUF_ALLOC_FOR_CLIENT to allocate on behalf of @client_pidfd
 * @fd_flags:	in: flags for the new fd: O_CLOEXEC, and O_RDWR or O_RDONLY (0)
 * @fd:		out: the dma-buf file descriptor; must be zero on input (EINVAL)
 * @id:		out: the buffer's number, as debugfs shows it; must be zero on input
 * @client_pidfd: in, with CMABUF_ALLOC_FOR_CLIENT: a pidfd (pidfd_open(2)) of the
 *		process the buffer is for; must be zero without the flag (EINVAL)
 * @reserved0:	must be zero
 * @reservation_fd: in, with CMABUF_ALLOC_FROM_RESERVATION in @flags: a reservation
 *		fd from CMABUF_IOC_RESERVE on this pool; the buffer is one of its runs.
 *		@size and @align must be the reservation's. Must be zero without the flag
 * @reserved1:	must be zero
 * @reserved:	must be zero
 *
 * With CMABUF_ALLOC_FOR_CLIENT a service (a camera or compositor daemon) allocates
 * for a client process: the buffer counts against the client's max_process_bytes and
 * max_process_buffers, and debugfs and the cmabuf_alloc trace event show the client
 * as its owner (and the caller as who allocated it); the client's cgroup carries the
 * dmem charge (its dmem.max refuses with EDQUOT; see Documentation/cmabuf.rst for what
 * that costs when its cgroup is not the caller's). The fd is the caller's, to pass to the
 * client (SCM_RIGHTS, binder); the charge stays on the client until the buffer is
 * freed, even if the client exits first. Allowed when the caller could signal the
 * client (its real or effective uid is the client's real or saved uid, as kill(2)
 * checks) or holds CAP_SYS_RESOURCE; else EPERM. @client_pidfd not open or not a
 * pidfd: EBADF; the client has exited: ESRCH. A pidfd of a thread (PIDFD_THREAD)
 * names its process.
 */
struct cmabuf_alloc {
	__u64 size;
	__u64 align;
	__u32 flags;
	__u32 fd_flags;
	__s32 fd;
	__u32 id;
	__s32 client_pidfd;
	__u32 reserved0;
	__s32 reservation_fd;
	__u32 reserved1;
	__u64 reserved[2];
};

/**
 * struct cmabuf_pool_info - CMABUF_IOC_POOL_INFO: describe the pool
 * @name:		the pool's name, NUL-terminated (/dev/cmabuf-<name>)
 * @size:		bytes in the pool
 * @used:		bytes charged to processes: live buffers, buffers freed while
 *			something (a pipe, I/O) still references their pages, and runs
 *			prepared by CMABUF_IOC_PREPARE
 * @free:		@size - @used: bytes an allocation may still get. Freed buffers
 *			kept in the warm cache count as free: they are given back as soon as
 *			an allocation needs their room. Other CMA users of the area, such as
 *			the kernel's dma-buf CMA heap, may hold some of it.
 * @largest_free:	the largest run of free bytes, in the same sense
 * @buffers:		buffers charged: live, freed but still referenced, and prepared
 * @max_bytes:		pool limit on bytes in live buffers; 0 = none
 * @max_buffers:	pool limit on live buffers; 0 = none
 * @max_process_bytes:	limit on bytes one process (tgid) holds; 0 = none
 * @max_process_buffers: limit on buffers one process (tgid) holds; 0 = none
 * @reserved:		zero
 */
struct cmabuf_pool_info {
	char name[CMABUF_NAME_LEN];
	__u64 size;
	__u64 used;
	__u64 free;
	__u64 largest_free;
	__u64 buffers;
	__u64 max_bytes;
	__u64 max_buffers;
	__u64 max_process_bytes;
	__u64 max_process_buffers;
	__u64 reserved[8];
};

/**
 * struct cmabuf_phys - CMABUF_IOC_PHYS: physical address of a cmabuf buffer
 * @fd:		in: a dma-buf fd allocated from this pool
 * @reserved0:	must be zero
 * @phys:	out: the buffer's physical (= bus, without an IOMMU) address
 * @size:	out: the buffer's size in bytes
 * @reserved:	must be zero
 *
 * For co-processors and FPGAs that take a physical address. Needs CAP_SYS_RAWIO.
 */
struct cmabuf_phys {
	__s32 fd;
	__u32 reserved0;
	__u64 phys;
	__u64 size;
	__u64 reserved[2];
};

/**
 * struct cmabuf_prepare - CMABUF_IOC_PREPARE: evacuate part of the pool ahead of time
 * @size:	size in bytes of each buffer to come (rounded up to pages)
 * @count:	how many such buffers (count * size at most the pool's size)
 * @timeout_ms:	how long to keep them, 1 ms to 600000 ms (10 minutes); then the
 *		memory is lent out to the system again
 * @reserved:	must be zero
 *
 * Migrates what the system placed in the pool out of @count runs of @size bytes now,
 * zeroes them, and keeps them in the pool's warm cache, so that the next @count
 * allocations of @size bytes (a camera's first frames) pay neither migration nor
 * zeroing. What is prepared is charged to the caller — its process limits and its
 * cgroup's dmem.max, like buffers — until it allocates it (only the caller's own
 * allocations use its prepared runs) or the timeout passes. At most
 * CMABUF_PREPARE_MAX_COUNT runs per call.
 */
struct cmabuf_prepare {
	__u64 size;
	__u32 count;
	__u32 timeout_ms;
	__u64 reserved[2];
};

/* Most runs one CMABUF_IOC_PREPARE may ask for. */
#define CMABUF_PREPARE_MAX_COUNT	1024

/**
 * struct cmabuf_reserve - CMABUF_IOC_RESERVE: evacuate runs in the background, promised
 * @size:	in: bytes of each buffer to come, as CMABUF_IOC_ALLOC takes it
 * @align:	in: their alignment, as CMABUF_IOC_ALLOC takes it
 * @count:	in: how many runs, 1 to CMABUF_PREPARE_MAX_COUNT (count * size at most
 *		the pool's size)
 * @deadline_ms: in: the evacuation must be done within this many ms, 1 to 600000;
 *		otherwise the reservation fails with ETIMEDOUT and gives back what it
 *		evacuated
 * @expiry_ms:	in: once the reservation is ready, runs not allocated within this many
 *		ms go back to the system, 1 to 600000
 * @fd_flags:	in: O_CLOEXEC or 0, for the reservation fd
 * @fd:		out: the reservation fd; must be zero on input
 * @flags:	in: must be zero
 * @reserved:	must be zero
 *
 * Returns at once with a reservation fd while a kernel worker migrates what the system
 * placed in @count runs of @size bytes, zeroes them and keeps them for the reservation.
 * poll() on the fd reports POLLIN once all runs are ready and POLLERR once the
 * reservation has failed (deadline missed, no room, pages that cannot be migrated, a
 * limit, the pool unbound); CMABUF_RESERVATION_IOC_STATUS tells its progress.
 * CMABUF_IOC_ALLOC with CMABUF_ALLOC_FROM_RESERVATION and the fd takes a ready run:
 * it cannot fail for lack of room or migration, since the run is already out of the
 * system's hands. The runs count against the caller's process limits from the moment
 * each is evacuated, like buffers, and the caller's cgroup's dmem.max is charged for all
 * of them at once (EDQUOT from CMABUF_IOC_RESERVE itself); closing the fd (its last
 * reference: a process killed closes it too) gives back every run not yet allocated,
 * at once or, for the run being migrated, as soon as its migration ends. The deadline
 * is checked between runs: a migration cannot be interrupted, so a miss is reported
 * when the run being migrated at the deadline is done.
 */
struct cmabuf_reserve {
	__u64 size;
	__u64 align;
	__u32 count;
	__u32 deadline_ms;
	__u32 expiry_ms;
	__u32 fd_flags;
	__s32 fd;
	__u32 flags;
	__u64 reserved[4];
};

/* cmabuf_reservation_status.state */
#define CMABUF_RESERVATION_EVACUATING	0	/* runs are being evacuated */
#define CMABUF_RESERVATION_READY	1	/* all runs ready; some may be taken */
#define CMABUF_RESERVATION_FAILED	2	/* see @error; its runs went back */
#define CMABUF_RESERVATION_SPENT	3	/* every run taken or expired */

/**
 * struct cmabuf_reservation_status - CMABUF_RESERVATION_IOC_STATUS on a reservation fd
 * @state:		out: CMABUF_RESERVATION_*
 * @error:		out: with CMABUF_RESERVATION_FAILED, the errno: ETIMEDOUT (the
 *			deadline passed), ENOMEM (no room), EBUSY (pages that could not be
 *			migrated), EDQUOT (a pool or process limit, or dmem.max), ENODEV
 *			(the pool was unbound); 0 otherwise
 * @count:		out: runs asked for
 * @evacuated:		out: runs evacuated so far (those ready, taken or expired)
 * @taken:		out: runs allocated from the reservation
 * @left:		out: runs ready and not yet taken
 * @bytes_evacuated:	out: bytes in the runs evacuated
 * @pages_migrated:	out: pages the system migrated while the runs were evacuated
 *			(from /proc/vmstat's pgmigrate_success around each run: other
 *			migrations at the same moment count too)
 * @elapsed_ns:		out: from CMABUF_IOC_RESERVE until the reservation was ready or
 *			failed, or until now while it evacuates
 * @expires_in_ms:	out: when ready, how long its runs are still kept; 0 otherwise
 * @reserved:		out: zero
 */
struct cmabuf_reservation_status {
	__u32 state;
	__s32 error;
	__u32 count;
	__u32 evacuated;
	__u32 taken;
	__u32 left;
	__u64 bytes_evacuated;
	__u64 pages_migrated;
	__u64 elapsed_ns;
	__u64 expires_in_ms;
	__u64 reserved[4];
};

/**
 * struct cmabuf_query - CMABUF_IOC_QUERY: how would @count allocations go, now?
 * @size:		in: bytes of each buffer, as CMABUF_IOC_ALLOC takes it
 * @align:		in: alignment, as CMABUF_IOC_ALLOC takes it
 * @count:		in: how many buffers, 1 to CMABUF_QUERY_MAX_COUNT
 * @flags:		in: must be zero (the cache mode does not change placement)
 * @fit:		out: how many of @count CMABUF_IOC_ALLOCs of @size and @align,
 *			made one after the other by the caller now, would succeed: the
 *			first @fit do, the next fails with @stop_errno
 * @fit_without_migration: out: how many of those @fit need no page moved: warm-cache
 *			hits and runs whose pages are all free
 * @pages_to_move:	out: movable pages (page cache, anonymous memory) that those @fit
 *			allocations would migrate out of their runs
 * @blocked_runs:	out: places the allocations would try and give up, because
 *			pinned or unmovable pages are in them (as cma_alloc gives up a run
 *			whose pages it cannot migrate and tries the next one), counted
 *			each time a search meets one: a failing allocation searches twice
 * @cache_hits:		out: how many of the @fit come from the warm cache
 * @blocking_pages:	out: pinned, unmovable or reserved pages in the pool outside
 *			cmabuf's runs, now
 * @stop_errno:		out: the errno of allocation @fit + 1: ENOMEM (no room), EBUSY
 *			(what room there is holds pages that cannot be migrated), EDQUOT
 *			(a pool or process limit); 0 when all @count fit
 * @answer_flags:	out: CMABUF_QUERY_BYTES_ONLY when the pool's place in memory is
 *			unknown (the default CMA area): @fit then counts free bytes, and
 *			@pages_to_move, @blocked_runs and @blocking_pages are 0
 * @reserved:		must be zero
 *
 * Answers without allocating, from the pool's books and a look at the pages of each
 * run the allocations would take, in the allocator's own order (warm cache, then the
 * lowest free run that fits, skipping runs with pages that cannot be migrated). The
 * pool and process limits are folded into @fit (@stop_errno EDQUOT); the cgroup's
 * dmem.max is not. The answer holds only while nothing else changes: other processes'
 * allocations and frees, the system's use of the pool's free pages (a page may be
 * lent out or pinned a moment later) and other users of the CMA area make it stale.
 * It is a prediction, not a promise. @size, @align, @count, @flags and @reserved that
 * CMABUF_IOC_ALLOC would refuse fail with EINVAL as there.
 */
struct cmabuf_query {
	__u64 size;
	__u64 align;
	__u32 count;
	__u32 flags;
	__u32 fit;
	__u32 fit_without_migration;
	__u64 pages_to_move;
	__u32 blocked_runs;
	__u32 cache_hits;
	__u64 blocking_pages;
	__s32 stop_errno;
	__u32 answer_flags;
	__u64 reserved[4];
};

/* Most allocations one CMABUF_IOC_QUERY may simulate. */
#define CMABUF_QUERY_MAX_COUNT		4096

/* cmabuf_query.answer_flags: the answer counts bytes only (default CMA area). */
#define CMABUF_QUERY_BYTES_ONLY		0x1

#define CMABUF_IOC_ALLOC	_IOWR(CMABUF_IOC_MAGIC, 0x00, struct cmabuf_alloc)
#define CMABUF_IOC_POOL_INFO	_IOR(CMABUF_IOC_MAGIC, 0x01, struct cmabuf_pool_info)
#define CMABUF_IOC_PHYS		_IOWR(CMABUF_IOC_MAGIC, 0x02, struct cmabuf_phys)
#define CMABUF_IOC_PREPARE	_IOW(CMABUF_IOC_MAGIC, 0x03, struct cmabuf_prepare)
#define CMABUF_IOC_QUERY	_IOWR(CMABUF_IOC_MAGIC, 0x04, struct cmabuf_query)
#define CMABUF_IOC_RESERVE	_IOWR(CMABUF_IOC_MAGIC, 0x05, struct cmabuf_reserve)

/* On a reservation fd. */
#define CMABUF_RESERVATION_IOC_STATUS	_IOR(CMABUF_IOC_MAGIC, 0x40, struct cmabuf_reservation_status)

#endif /* _UAPI_LINUX_CMABUF_H */
