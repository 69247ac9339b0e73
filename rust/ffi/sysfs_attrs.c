// SPDX-License-Identifier: GPL-2.0
/*
 * The sysfs attributes of a pool's misc device; see sysfs_attrs.h. The names are ABI
 * (Documentation/ABI/testing/sysfs-driver-cmabuf): each read-only file shows one
 * decimal value that Rust computes. No policy here.
 *
 * Lifetime: misc_register() passes the groups to device_create_with_groups(), so the
 * files exist before the device's uevent, and the device's driver data is the
 * miscdevice. A show runs under kernfs's active reference on its file;
 * misc_deregister() (device_unregister(), kernfs_remove()) waits for running shows and
 * makes later reads of a still-open file fail with ENODEV, before the Rust registration
 * that holds the miscdevice and the pool goes (rust/ffi/misc.rs).
 */
#include <linux/device.h>
#include <linux/miscdevice.h>
#include <linux/sysfs.h>

#include "sysfs_attrs.h"

struct cmabuf_attr {
	struct device_attribute dev_attr;
	enum cmabuf_pool_attr which;
};

static ssize_t cmabuf_attr_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	const struct cmabuf_attr *a = container_of(attr, struct cmabuf_attr, dev_attr);
	const struct miscdevice *misc = dev_get_drvdata(dev);
	u64 value;
	int ret;

	ret = cmabuf_pool_attr_value(misc, a->which, &value);
	if (ret)
		return ret;
	return sysfs_emit(buf, "%llu\n", (unsigned long long)value);
}

#define CMABUF_ATTR(_id, _name, _which)						\
	static struct cmabuf_attr cmabuf_attr_##_id = {				\
		.dev_attr = __ATTR(_name, 0444, cmabuf_attr_show, NULL),	\
		.which = _which,						\
	}

CMABUF_ATTR(size, size, CMABUF_ATTR_SIZE);
CMABUF_ATTR(used, used, CMABUF_ATTR_USED);
CMABUF_ATTR(free, free, CMABUF_ATTR_FREE);
CMABUF_ATTR(largest_free, largest_free, CMABUF_ATTR_LARGEST_FREE);
CMABUF_ATTR(buffers, buffers, CMABUF_ATTR_BUFFERS);
CMABUF_ATTR(peak_used, peak_used, CMABUF_ATTR_PEAK_USED);
CMABUF_ATTR(alloc_successes, alloc_successes, CMABUF_ATTR_ALLOC_SUCCESSES);
CMABUF_ATTR(alloc_failures, alloc_failures, CMABUF_ATTR_ALLOC_FAILURES);
CMABUF_ATTR(migrated_pages, migrated_pages, CMABUF_ATTR_MIGRATED_PAGES);
CMABUF_ATTR(cached, cached, CMABUF_ATTR_CACHED);
CMABUF_ATTR(cache_limit, cache_limit, CMABUF_ATTR_CACHE_LIMIT);
CMABUF_ATTR(max_bytes, max_bytes, CMABUF_ATTR_MAX_BYTES);
CMABUF_ATTR(max_buffers, max_buffers, CMABUF_ATTR_MAX_BUFFERS);
CMABUF_ATTR(max_process_bytes, max_process_bytes, CMABUF_ATTR_MAX_PROCESS_BYTES);
CMABUF_ATTR(max_process_buffers, max_process_buffers, CMABUF_ATTR_MAX_PROCESS_BUFFERS);

CMABUF_ATTR(failures_invalid, invalid, CMABUF_ATTR_FAILURES_INVALID);
CMABUF_ATTR(failures_no_room, no_room, CMABUF_ATTR_FAILURES_NO_ROOM);
CMABUF_ATTR(failures_migration, migration, CMABUF_ATTR_FAILURES_MIGRATION);
CMABUF_ATTR(failures_limit, limit, CMABUF_ATTR_FAILURES_LIMIT);
CMABUF_ATTR(failures_dmem, dmem, CMABUF_ATTR_FAILURES_DMEM);
CMABUF_ATTR(failures_other, other, CMABUF_ATTR_FAILURES_OTHER);

/* /sys/class/misc/cmabuf-<pool>/<name>: the pool's use, counters and limits. */
static struct attribute *cmabuf_pool_attrs[] = {
	&cmabuf_attr_size.dev_attr.attr,
	&cmabuf_attr_used.dev_attr.attr,
	&cmabuf_attr_free.dev_attr.attr,
	&cmabuf_attr_largest_free.dev_attr.attr,
	&cmabuf_attr_buffers.dev_attr.attr,
	&cmabuf_attr_peak_used.dev_attr.attr,
	&cmabuf_attr_alloc_successes.dev_attr.attr,
	&cmabuf_attr_alloc_failures.dev_attr.attr,
	&cmabuf_attr_migrated_pages.dev_attr.attr,
	&cmabuf_attr_cached.dev_attr.attr,
	&cmabuf_attr_cache_limit.dev_attr.attr,
	&cmabuf_attr_max_bytes.dev_attr.attr,
	&cmabuf_attr_max_buffers.dev_attr.attr,
	&cmabuf_attr_max_process_bytes.dev_attr.attr,
	&cmabuf_attr_max_process_buffers.dev_attr.attr,
	NULL,
};

/* /sys/class/misc/cmabuf-<pool>/failures/<reason>: alloc_failures by reason. */
static struct attribute *cmabuf_failure_attrs[] = {
	&cmabuf_attr_failures_invalid.dev_attr.attr,
	&cmabuf_attr_failures_no_room.dev_attr.attr,
	&cmabuf_attr_failures_migration.dev_attr.attr,
	&cmabuf_attr_failures_limit.dev_attr.attr,
	&cmabuf_attr_failures_dmem.dev_attr.attr,
	&cmabuf_attr_failures_other.dev_attr.attr,
	NULL,
};

static const struct attribute_group cmabuf_pool_group = {
	.attrs = cmabuf_pool_attrs,
};

static const struct attribute_group cmabuf_failure_group = {
	.name = "failures",
	.attrs = cmabuf_failure_attrs,
};

static const struct attribute_group *cmabuf_pool_groups[] = {
	&cmabuf_pool_group,
	&cmabuf_failure_group,
	NULL,
};

const struct attribute_group **cmabuf_pool_attr_groups(void)
{
	return cmabuf_pool_groups;
}
