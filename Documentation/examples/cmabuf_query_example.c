// SPDX-License-Identifier: GPL-2.0
/*
 * The admin guide's query example (Documentation/admin-guide.rst): before switching a
 * camera to a mode of eight 4K NV12 frames, ask the pool whether they fit, and how
 * much migration they would cost, without allocating. make check compiles it.
 *
 *   cmabuf_query_example [pool]
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/cmabuf.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *pool = argc > 1 ? argv[1] : "camera";
	struct cmabuf_query q = {
		.size = 3840 * 2160 * 3 / 2,	/* one 4K NV12 frame */
		.count = 8,
	};
	char path[64];
	int dev;

	snprintf(path, sizeof(path), "/dev/cmabuf-%s", pool);
	dev = open(path, O_RDONLY | O_CLOEXEC);	/* asking takes nothing: read-only will do */
	if (dev < 0 || ioctl(dev, CMABUF_IOC_QUERY, &q)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	close(dev);
	printf("%u of %u frames fit (%u without migration, %u from the warm cache)\n",
	       q.fit, q.count, q.fit_without_migration, q.cache_hits);
	printf("%llu pages to migrate; %u places given up for %llu pinned or unmovable pages\n",
	       (unsigned long long)q.pages_to_move, q.blocked_runs,
	       (unsigned long long)q.blocking_pages);
	if (q.fit < q.count)
		/* ENOMEM: no room; EBUSY: pages that cannot move; EDQUOT: a limit */
		printf("frame %u would fail: %s\n", q.fit + 1, strerror(q.stop_errno));
	if (q.answer_flags & CMABUF_QUERY_BYTES_ONLY)
		printf("(default CMA area: counted in bytes only)\n");
	return q.fit == q.count ? 0 : 2;
}
