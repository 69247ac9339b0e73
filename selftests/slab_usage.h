/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel memory in the kmalloc caches, for leak checks over many cycles (module
 * reloads, overlays applied and removed): a leak grows it by the same amount in every
 * window of cycles, while the caches' own warm-up does not.
 */
#ifndef CMABUF_SLAB_USAGE_H
#define CMABUF_SLAB_USAGE_H

#include "cmabuf_util.h"
#include "kselftest.h"

#include <dirent.h>

/*
 * Shrinks every slab cache (/sys/kernel/slab/<cache>/shrink): flushes the per-CPU
 * slabs and, with generic KASAN, empties its quarantine, where freed objects wait
 * and still count as live in /proc/slabinfo (hundreds of KiB over a few hundred
 * module reloads, which a leak check would take for a leak).
 */
static inline void slab_shrink_all(void)
{
	DIR *dir = opendir("/sys/kernel/slab");
	struct dirent *e;
	char path[512];

	if (!dir)
		return;
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", e->d_name);
		write_text(path, "1");
	}
	closedir(dir);
}

/*
 * Lets freed objects really go before a measurement: drop_caches frees unused dentries
 * and inodes and flushes kfree_rcu batches, RCU needs a moment under emulation, and
 * then the caches are shrunk (above).
 */
static inline void slab_settle(void)
{
	int i;

	for (i = 0; i < 2; i++) {
		write_text("/proc/sys/vm/drop_caches", "3");
		usleep(200 * 1000);
		slab_shrink_all();
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

/* Each slab cache's size from /proc/slabinfo: pages held, and bytes in live objects. */
#define SLAB_CACHES 1024
struct slab_cache_use {
	char name[64];
	long long page_bytes;
	long long object_bytes;
	long long objects;
};

struct slab_snapshot {
	int caches;
	struct slab_cache_use use[SLAB_CACHES];
};

/* Fills snap from /proc/slabinfo; the number of caches, or -1 without it. */
static inline int slab_snapshot(struct slab_snapshot *snap)
{
	static char slabinfo[262144];
	long long active, objsize, pages, slabs;
	char name[64], *line;

	snap->caches = 0;
	if (read_text("/proc/slabinfo", slabinfo, sizeof(slabinfo)) <= 0)
		return -1;
	for (line = slabinfo; line && snap->caches < SLAB_CACHES;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		struct slab_cache_use *u = &snap->use[snap->caches];

		if (sscanf(line, "%63s %lld %*d %lld %*d %lld : tunables %*d %*d %*d : slabdata %*d %lld",
			   name, &active, &objsize, &pages, &slabs) != 5)
			continue;
		snprintf(u->name, sizeof(u->name), "%s", name);
		u->page_bytes = slabs * pages * getpagesize();
		u->object_bytes = active * objsize;
		u->objects = active;
		snap->caches++;
	}
	return snap->caches;
}

/* Bytes of pages cache name gained from before to after (0 if it does not exist). */
static inline long long slab_cache_growth(const struct slab_snapshot *before,
					  const struct slab_snapshot *after, const char *name)
{
	long long grew = 0;
	int i;

	for (i = 0; i < after->caches; i++)
		if (!strcmp(after->use[i].name, name))
			grew += after->use[i].page_bytes;
	for (i = 0; i < before->caches; i++)
		if (!strcmp(before->use[i].name, name))
			grew -= before->use[i].page_bytes;
	return grew;
}

/* Live objects of cache name in snap, or -1 if it has no such cache. */
static inline long long slab_cache_objects(const struct slab_snapshot *snap, const char *name)
{
	int i;

	for (i = 0; i < snap->caches; i++)
		if (!strcmp(snap->use[i].name, name))
			return snap->use[i].objects;
	return -1;
}

/*
 * Prints the n caches whose pages grew most from before to after (where unreclaimable
 * slab growth goes: ours in kmalloc-*, or the debug kernel's own bookkeeping).
 */
static inline void slab_print_growth(const char *what, const struct slab_snapshot *before,
				     const struct slab_snapshot *after, int n)
{
	char line[1024];
	int used[SLAB_CACHES] = { 0 }, k, i, j, len;

	len = snprintf(line, sizeof(line), "%s: slab pages grew most in", what);
	for (k = 0; k < n; k++) {
		long long best = 0, grew, objects;
		int pick = -1;

		for (i = 0; i < after->caches; i++) {
			long long was = 0;

			if (used[i])
				continue;
			for (j = 0; j < before->caches; j++)
				if (!strcmp(before->use[j].name, after->use[i].name))
					was = before->use[j].page_bytes;
			if (after->use[i].page_bytes - was > best) {
				best = after->use[i].page_bytes - was;
				pick = i;
			}
		}
		if (pick < 0)
			break;
		used[pick] = 1;
		grew = best;
		objects = after->use[pick].object_bytes;
		for (j = 0; j < before->caches; j++)
			if (!strcmp(before->use[j].name, after->use[pick].name))
				objects -= before->use[j].object_bytes;
		len += snprintf(line + len, sizeof(line) - len, " %s %+lld KiB (objects %+lld KiB)",
				after->use[pick].name, grew / 1024, objects / 1024);
		if (len >= (int)sizeof(line))
			break;
	}
	ksft_print_msg("%s\n", line);
}

#endif /* CMABUF_SLAB_USAGE_H */
