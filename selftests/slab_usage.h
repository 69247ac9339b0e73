/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel memory in the kmalloc caches, for leak checks over many cycles (module
 * reloads, overlays applied and removed): a leak grows it by the same amount in every
 * window of cycles, while the caches' own warm-up does not.
 */
#ifndef CMABUF_SLAB_USAGE_H
#define CMABUF_SLAB_USAGE_H

#include "cmabuf_util.h"

/*
 * Lets freed objects really go before a measurement: drop_caches shrinks the slab
 * caches and flushes kfree_rcu batches, and RCU needs a moment under emulation.
 */
static inline void slab_settle(void)
{
	int i;

	for (i = 0; i < 2; i++) {
		write_text("/proc/sys/vm/drop_caches", "3");
		usleep(200 * 1000);
	}
}

/* Bytes in use in the kmalloc-* caches, from /proc/slabinfo; -1 without it. */
static inline long long kmalloc_bytes(void)
{
	static char slabinfo[65536];
	char name[64], *line;
	long long active, total = 0;
	long objsize;

	if (read_text("/proc/slabinfo", slabinfo, sizeof(slabinfo)) <= 0)
		return -1;
	for (line = slabinfo; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (sscanf(line, "%63s %lld %*d %ld", name, &active, &objsize) == 3 &&
		    !strncmp(name, "kmalloc-", 8))
			total += active * objsize;
	return total;
}

#endif /* CMABUF_SLAB_USAGE_H */
