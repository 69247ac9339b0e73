// SPDX-License-Identifier: GPL-2.0
/*
 * The admin guide's reservation example (Documentation/admin-guide.rst): a camera
 * application about to start streaming has the pool evacuate four 1080p NV12 frames in
 * the background, goes on with its set-up, then waits until they are ready (or the
 * deadline passed) and allocates them: no migration in its first frames, and no ENOMEM
 * or EBUSY from ALLOC. make check compiles and runs it (reservation_test).
 *
 *   cmabuf_reserve_example [pool]
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/cmabuf.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define FRAMES 4

int main(int argc, char **argv)
{
	const char *pool = argc > 1 ? argv[1] : "camera";
	struct cmabuf_reserve r = {
		.size = 1920 * 1080 * 3 / 2,	/* one 1080p NV12 frame */
		.count = FRAMES,
		.deadline_ms = 2000,		/* evacuated within 2 s, or it fails */
		.expiry_ms = 10000,		/* then kept 10 s for us to allocate */
		.fd_flags = O_CLOEXEC,
	};
	struct cmabuf_reservation_status st;
	struct pollfd p;
	int dev, frame[FRAMES], i;
	char path[64];

	snprintf(path, sizeof(path), "/dev/cmabuf-%s", pool);
	dev = open(path, O_RDWR | O_CLOEXEC);
	if (dev < 0 || ioctl(dev, CMABUF_IOC_RESERVE, &r)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	/* ... open the sensor, negotiate formats: the pool is evacuated meanwhile ... */
	p = (struct pollfd){ .fd = r.fd, .events = POLLIN };
	errno = 0;
	if (poll(&p, 1, 5000) != 1 || ioctl(r.fd, CMABUF_RESERVATION_IOC_STATUS, &st)) {
		fprintf(stderr, "reservation: %s\n", errno ? strerror(errno) : "no answer");
		return 1;
	}
	if (st.state == CMABUF_RESERVATION_FAILED) {
		/* ETIMEDOUT: deadline missed; ENOMEM, EBUSY, EDQUOT: no room, pinned, limit */
		fprintf(stderr, "reservation failed: %s\n", strerror(st.error));
		return 2;
	}
	printf("%u runs (%llu bytes) ready in %llu us; %llu pages migrated\n", st.evacuated,
	       (unsigned long long)st.bytes_evacuated, (unsigned long long)st.elapsed_ns / 1000,
	       (unsigned long long)st.pages_migrated);
	for (i = 0; i < FRAMES; i++) {
		struct cmabuf_alloc a = {
			.size = r.size,
			.flags = CMABUF_CACHED | CMABUF_ALLOC_FROM_RESERVATION,
			.fd_flags = O_RDWR | O_CLOEXEC,
			.reservation_fd = r.fd,
		};

		if (ioctl(dev, CMABUF_IOC_ALLOC, &a)) {	/* cannot fail for room now */
			fprintf(stderr, "frame %d: %s\n", i, strerror(errno));
			return 1;
		}
		frame[i] = a.fd;
	}
	close(r.fd);	/* gives back what was not taken; the frames stay */
	/* ... stream with frame[0..3], hand them to V4L2 as DMABUF ... */
	for (i = 0; i < FRAMES; i++)
		close(frame[i]);
	close(dev);
	return 0;
}
