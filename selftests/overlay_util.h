/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Applying the test device-tree overlays (dts/runtime-*.dtso, installed as
 * /selftests/<name>.dtbo) through the test overlay loader, for every test that needs one.
 */
#ifndef CMABUF_OVERLAY_UTIL_H
#define CMABUF_OVERLAY_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include "cmabuf_util.h"
#include "overlay_loader/cmabuf_test_overlay.h"

/* Applies /selftests/<name>.dtbo through the loader open at @loader; its id or -errno. */
static inline int overlay_apply(int loader, const char *name)
{
	static char blob[65536];
	struct cmabuf_overlay req = { .blob = (uintptr_t)blob };
	char path[128];
	ssize_t n;

	snprintf(path, sizeof(path), "/selftests/%s.dtbo", name);
	n = read_bytes(path, blob, sizeof(blob));
	if (n <= 0)
		return -ENOENT;
	req.size = n;
	if (ioctl(loader, OVERLAY_IOC_APPLY, &req))
		return -errno;
	return req.id;
}

#endif
