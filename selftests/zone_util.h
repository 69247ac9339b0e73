/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cmabuf's debugfs zones file (one `zone: <nid> <name>` block of `key: value` lines per
 * populated zone): finding a zone's block, for the tests of pools in HighMem
 * (highmem_test, lpae_test).
 */
#ifndef CMABUF_ZONE_UTIL_H
#define CMABUF_ZONE_UTIL_H

#include <stdio.h>
#include <string.h>

/* The `zone: <nid> <name>` block of cmabuf's zones file in text, or NULL. */
static inline const char *zone_block(const char *text, const char *name)
{
	char head[48];
	const char *p = text;

	snprintf(head, sizeof(head), " %s\n", name);
	while ((p = strstr(p, "zone: "))) {
		const char *eol = strchr(p, '\n');

		if (eol && eol - p >= (long)strlen(head) - 1 &&
		    !strncmp(eol - strlen(head) + 1, head, strlen(head)))
			return p;
		p += 6;
	}
	return NULL;
}

#endif /* CMABUF_ZONE_UTIL_H */
