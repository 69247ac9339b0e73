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
/* Attach to the dma-buf fd passed by value and keep the attachment (one at a time). */
#define IMPORTER_IOC_HOLD _IO('J', 0x41)
/* Detach and drop what IMPORTER_IOC_HOLD took. */
#define IMPORTER_IOC_RELEASE _IO('J', 0x42)

#endif
