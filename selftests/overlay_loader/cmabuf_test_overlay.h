/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Test-only: the interface of cmabuf_test_overlay.ko, which applies a device-tree
 * overlay blob at run time (as Raspberry Pi's dtoverlay or a configfs loader does) and
 * removes it again. Not part of cmabuf's uAPI.
 */
#ifndef CMABUF_TEST_OVERLAY_H
#define CMABUF_TEST_OVERLAY_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * struct cmabuf_overlay - OVERLAY_IOC_APPLY
 * @blob:	in: user address of a flattened overlay (.dtbo)
 * @size:	in: its size in bytes (at most 1 MiB)
 * @id:		out: the overlay changeset id, for OVERLAY_IOC_REMOVE
 */
struct cmabuf_overlay {
	__u64 blob;
	__u32 size;
	__s32 id;
};

#define OVERLAY_IOC_APPLY _IOWR('J', 0x50, struct cmabuf_overlay)
/*
 * Removes the overlay whose changeset id is passed by value: one this loader applied
 * (ENOENT for any other id), and the newest of those that overlap (else EBUSY). Those
 * still applied are removed when the module is unloaded.
 */
#define OVERLAY_IOC_REMOVE _IO('J', 0x51)

#endif
