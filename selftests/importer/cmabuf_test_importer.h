/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Test-only: the interface of cmabuf_test_importer.ko, a dma-buf importer that checks
 * what a kernel driver sees of a buffer. Not part of cmabuf's uAPI.
 */
#ifndef CMABUF_TEST_IMPORTER_H
#define CMABUF_TEST_IMPORTER_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * struct cmabuf_import - IMPORTER_IOC_CHECK
 * @fd:		in: dma-buf fd
 * @marker:	in: written by the kernel through vmap at byte offset 4
 * @dma_addr:	out: DMA address of the (single) scatter-list entry
 * @dma_len:	out: its length
 * @nents:	out: mapped scatter-list entries
 * @attachments: out: attachments held while checking (two)
 * @first:	out: first 32-bit word, read through vmap after begin_cpu_access
 * @last:	out: last 32-bit word, likewise
 */
struct cmabuf_import {
	__s32 fd;
	__u32 marker;
	__u64 dma_addr;
	__u64 dma_len;
	__u32 nents;
	__u32 attachments;
	__u32 first;
	__u32 last;
};

#define IMPORTER_IOC_CHECK _IOWR('J', 0x40, struct cmabuf_import)
/*
 * IMPORTER_IOC_CHECK without the vmap (first, last and marker unused): a DMA-only
 * importer, for buffers larger than the kernel's vmalloc space (32-bit ARM).
 */
#define IMPORTER_IOC_DMA _IOWR('J', 0x44, struct cmabuf_import)
/* Attach to the dma-buf fd passed by value and keep the attachment (one at a time). */
#define IMPORTER_IOC_HOLD _IO('J', 0x41)
/* Detach and drop what IMPORTER_IOC_HOLD took. */
#define IMPORTER_IOC_RELEASE _IO('J', 0x42)

/* enum dma_data_direction, which user space headers do not have. */
#define DMA_BIDIRECTIONAL_VALUE 0
#define DMA_TO_DEVICE_VALUE 1
#define DMA_FROM_DEVICE_VALUE 2

/**
 * struct cmabuf_map_dirs - IMPORTER_IOC_MAP_DIRS: attach, map for @map_dir, begin and end
 * CPU access for @sync_dir, unmap passing @unmap_dir (a careless importer may pass
 * another direction than it mapped with), detach
 * @fd:		in: dma-buf fd
 * @map_dir:	in: direction of dma_buf_map_attachment (DMA_*_VALUE)
 * @sync_dir:	in: direction of dma_buf_begin/end_cpu_access
 * @unmap_dir:	in: direction passed to dma_buf_unmap_attachment
 */
struct cmabuf_map_dirs {
	__s32 fd;
	__u32 map_dir;
	__u32 sync_dir;
	__u32 unmap_dir;
};

#define IMPORTER_IOC_MAP_DIRS _IOW('J', 0x43, struct cmabuf_map_dirs)

/* Most windows IMPORTER_IOC_WALK sums. */
#define IMPORTER_WALK_WINDOWS 8

/**
 * struct cmabuf_walk_window - a byte range the importer reads through the scatter-list
 * @offset:	in: byte offset in the buffer, a multiple of 8
 * @len:	in: bytes, a multiple of 8; offset + len within the buffer
 * @sum:	out: importer_walk_sum() of its 64-bit words
 */
struct cmabuf_walk_window {
	__u64 offset;
	__u64 len;
	__u64 sum;
};

/**
 * struct cmabuf_walk - IMPORTER_IOC_WALK: attach, map for DMA (bidirectional), begin CPU
 * access, walk the whole table, read the windows and write @marker through the
 * entries' pages (kmap, not vmap), end CPU access, unmap, detach. For buffers of any
 * size: a scatter-list entry's length is 32 bits, so past 4 GiB a buffer needs several.
 * @fd:		in: dma-buf fd
 * @windows:	in: how many of @window to read (at most IMPORTER_WALK_WINDOWS)
 * @marker_offset: in: where to write @marker (a multiple of 8, inside the buffer)
 * @marker:	in: the 64-bit word written there
 * @size:	out: the dma-buf's size
 * @length:	out: the sum of the table's entry lengths (orig_nents entries)
 * @dma_length:	out: the sum of the mapped entries' DMA lengths (nents entries)
 * @dma_addr:	out: the first mapped entry's DMA address
 * @phys:	out: the first entry's physical address
 * @max_entry:	out: the longest entry, bytes
 * @orig_nents:	out: entries in the table
 * @nents:	out: entries mapped for DMA
 * @gaps:	out: entries whose pages or DMA addresses do not follow the previous one's
 * @unaligned:	out: entries that do not start at a page or are not whole pages, but the last
 * @window:	in and out: the byte ranges to read
 */
struct cmabuf_walk {
	__s32 fd;
	__u32 windows;
	__u64 marker_offset;
	__u64 marker;
	__u64 size;
	__u64 length;
	__u64 dma_length;
	__u64 dma_addr;
	__u64 phys;
	__u64 max_entry;
	__u32 orig_nents;
	__u32 nents;
	__u32 gaps;
	__u32 unaligned;
	struct cmabuf_walk_window window[IMPORTER_WALK_WINDOWS];
};

#define IMPORTER_IOC_WALK _IOWR('J', 0x44, struct cmabuf_walk)

/*
 * The sum a window reports: of every 64-bit word w at byte offset off (from the buffer's
 * start), w * ((off >> 3) | 1), modulo 2^64. Depends on each word's place, so a page
 * read from the wrong place changes it.
 */
static inline __u64 importer_walk_term(__u64 word, __u64 offset)
{
	return word * ((offset >> 3) | 1);
}

#endif
