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
 * on a file opened O_RDONLY they fail with EBADF. CMABUF_IOC_POOL_INFO and
 * CMABUF_IOC_PHYS work on any open file.
 *
 * Every struct carries reserved fields that must be zero, so it can grow without a new
 * ioctl number. Errors: EINVAL for an unknown flag, a non-zero reserved field, size 0
 * or larger than the pool, a bad alignment or bad fd_flags; EFAULT for a bad pointer;
 * ENOMEM when the pool has no free run large enough; EBUSY when pages in the pool
 * could not be migrated away after bounded retries; EDQUOT when a limit is reached;
 * EPERM for CMABUF_IOC_PHYS without CAP_SYS_RAWIO; EBADF for CMABUF_IOC_ALLOC and
 * CMABUF_IOC_PREPARE on a node opened O_RDONLY; ENOTTY for an unknown ioctl.
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

/* All flags cmabuf_alloc.flags may hold. */
#define CMABUF_ALLOC_FLAGS	CMABUF_CACHE_MASK

/* Longest pool name, plus the terminating NUL. */
#define CMABUF_NAME_LEN 40

/**
 * struct cmabuf_alloc - CMABUF_IOC_ALLOC: allocate a contiguous buffer
 * @size:	in: bytes; rounded up to whole pages (left as given: the buffer's
 *		size is the dma-buf's, lseek(fd, 0, SEEK_END))
 * @align:	in: alignment of the buffer's physical address in bytes, a power of two
 *		no smaller than the page size; 0 means page alignment
 * @flags:	in: one CMABUF_CACHED, CMABUF_WRITECOMBINE or CMABUF_UNCACHED
 * @fd_flags:	in: flags for the new fd: O_CLOEXEC, and O_RDWR or O_RDONLY (0)
 * @fd:		out: the dma-buf file descriptor; must be zero on input (EINVAL)
 * @id:		out: the buffer's number, as debugfs shows it; must be zero on input
 * @reserved:	must be zero
 */
struct cmabuf_alloc {
	__u64 size;
	__u64 align;
	__u32 flags;
	__u32 fd_flags;
	__s32 fd;
	__u32 id;
	__u64 reserved[4];
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

#define CMABUF_IOC_ALLOC	_IOWR(CMABUF_IOC_MAGIC, 0x00, struct cmabuf_alloc)
#define CMABUF_IOC_POOL_INFO	_IOR(CMABUF_IOC_MAGIC, 0x01, struct cmabuf_pool_info)
#define CMABUF_IOC_PHYS		_IOWR(CMABUF_IOC_MAGIC, 0x02, struct cmabuf_phys)
#define CMABUF_IOC_PREPARE	_IOW(CMABUF_IOC_MAGIC, 0x03, struct cmabuf_prepare)

#endif /* _UAPI_LINUX_CMABUF_H */
