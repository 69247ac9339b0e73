/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The dmem cgroup controller, for the tests that read what cmabuf charges to it: a
 * region's value in dmem.capacity, dmem.current or dmem.max, a test cgroup with the
 * controller on, and moving a process into a cgroup.
 */
#ifndef CMABUF_DMEM_UTIL_H
#define CMABUF_DMEM_UTIL_H

#include "cmabuf_util.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
/* The camera pool's dmem region: its CMA area's, cma/<area>. */
#define CAMERA_REGION "cma/camera-pool@58000000"

/* The value of region ("<region> <value>" lines) in dmem file, or -1. */
static inline long long dmem_value(const char *file, const char *region)
{
	char text[4096], *line;
	size_t len = strlen(region);

	if (read_text(file, text, sizeof(text)) < 0)
		return -1;
	for (line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (!strncmp(line, region, len) && line[len] == ' ')
			return strtoll(line + len + 1, NULL, 0);
	return -1;
}

/*
 * A fresh cgroup at path (below the root), with the dmem controller on, limited to max
 * ("<region> <bytes>") unless max is NULL. 0 or -1.
 */
static inline int dmem_cgroup_create(const char *path, const char *max)
{
	char file[256];

	if (write_text(CGROUP_ROOT "/cgroup.subtree_control", "+dmem"))
		return -1;
	rmdir(path);
	if (mkdir(path, 0755))
		return -1;
	snprintf(file, sizeof(file), "%s/dmem.max", path);
	return max ? write_text(file, max) : 0;
}

/* Moves process pid into the cgroup at path. 0 or -1. */
static inline int cgroup_join(const char *path, pid_t pid)
{
	char file[256], pidtext[32];

	snprintf(file, sizeof(file), "%s/cgroup.procs", path);
	snprintf(pidtext, sizeof(pidtext), "%d", pid);
	return write_text(file, pidtext);
}

#endif /* CMABUF_DMEM_UTIL_H */
