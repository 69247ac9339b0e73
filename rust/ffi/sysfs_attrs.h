/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sysfs attributes of a pool's misc device, /sys/class/misc/cmabuf-<pool>/
 * (Documentation/ABI/testing/sysfs-driver-cmabuf). sysfs_attrs.c holds the table of
 * names; each file shows one value that Rust computes (rust/sysfs.rs) through
 * cmabuf_pool_attr_value(). Declared for Rust in rust/ffi/sys/generated.rs
 * (scripts/gen-bindings.sh).
 */
#ifndef CMABUF_FFI_SYSFS_ATTRS_H
#define CMABUF_FFI_SYSFS_ATTRS_H

#include <linux/types.h>

struct attribute_group;
struct miscdevice;

/* What each file shows: one enumerator per attribute of sysfs_attrs.c. */
enum cmabuf_pool_attr {
	CMABUF_ATTR_SIZE,
	CMABUF_ATTR_USED,
	CMABUF_ATTR_FREE,
	CMABUF_ATTR_LARGEST_FREE,
	CMABUF_ATTR_BUFFERS,
	CMABUF_ATTR_PEAK_USED,
	CMABUF_ATTR_ALLOC_SUCCESSES,
	CMABUF_ATTR_ALLOC_FAILURES,
	CMABUF_ATTR_MIGRATED_PAGES,
	CMABUF_ATTR_CACHED,
	CMABUF_ATTR_CACHE_LIMIT,
	CMABUF_ATTR_MAX_BYTES,
	CMABUF_ATTR_MAX_BUFFERS,
	CMABUF_ATTR_MAX_PROCESS_BYTES,
	CMABUF_ATTR_MAX_PROCESS_BUFFERS,
	/* failures/<reason> */
	CMABUF_ATTR_FAILURES_INVALID,
	CMABUF_ATTR_FAILURES_NO_ROOM,
	CMABUF_ATTR_FAILURES_MIGRATION,
	CMABUF_ATTR_FAILURES_LIMIT,
	CMABUF_ATTR_FAILURES_DMEM,
	CMABUF_ATTR_FAILURES_OTHER,
};

/* The groups to set as a pool's miscdevice.groups before misc_register(). */
const struct attribute_group **cmabuf_pool_attr_groups(void);

/*
 * Implemented in Rust (rust/ffi/sysfs.rs): the value of @attr of the pool whose
 * registered miscdevice is @misc, in *@value. Returns 0 or -EINVAL (unknown @attr).
 */
int cmabuf_pool_attr_value(const struct miscdevice *misc, unsigned int attr, u64 *value);

#endif /* CMABUF_FFI_SYSFS_ATTRS_H */
