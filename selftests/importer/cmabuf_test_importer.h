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

#endif
