// SPDX-License-Identifier: GPL-2.0
/*
 * The admin guide's example (Documentation/admin-guide.rst): allocate a physically
 * contiguous buffer from a cmabuf pool, fill it through a CPU mapping, and hand the
 * dma-buf fd to an importer. make check compiles it; make run runs it.
 *
 *   cmabuf_example [pool]
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/cmabuf.h>
#include <linux/dma-buf.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *pool = argc > 1 ? argv[1] : "camera";
	struct cmabuf_alloc req = {
		.size = 1920 * 1080 * 3 / 2,		/* one 1080p NV12 frame */
		.flags = CMABUF_WRITECOMBINE,		/* the CPU only writes it */
		.fd_flags = O_RDWR | O_CLOEXEC,
	};
	struct cmabuf_pool_info info;
	struct dma_buf_sync sync;
	char path[64];
	void *map;
	int dev;

	snprintf(path, sizeof(path), "/dev/cmabuf-%s", pool);
	dev = open(path, O_RDWR | O_CLOEXEC);
	if (dev < 0 || ioctl(dev, CMABUF_IOC_POOL_INFO, &info)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("pool %s: %llu bytes, %llu free, largest free run %llu\n", info.name,
	       (unsigned long long)info.size, (unsigned long long)info.free,
	       (unsigned long long)info.largest_free);

	/* EBUSY: pinned pages in the way; EDQUOT: a limit; ENOMEM: no run that large. */
	if (ioctl(dev, CMABUF_IOC_ALLOC, &req)) {
		fprintf(stderr, "CMABUF_IOC_ALLOC: %s (see dmesg and debugfs last_failure)\n",
			strerror(errno));
		return 1;
	}
	close(dev);	/* the buffer lives on in its fd */

	map = mmap(NULL, req.size, PROT_READ | PROT_WRITE, MAP_SHARED, req.fd, 0);
	if (map == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	sync.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE;
	ioctl(req.fd, DMA_BUF_IOCTL_SYNC, &sync);
	memset(map, 0x80, req.size);		/* a grey frame */
	sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE;
	ioctl(req.fd, DMA_BUF_IOCTL_SYNC, &sync);
	munmap(map, req.size);

	/*
	 * Now give req.fd to an importer: a V4L2 queue (struct v4l2_buffer .memory =
	 * V4L2_MEMORY_DMABUF, .m.fd = req.fd), DRM (DRM_IOCTL_PRIME_FD_TO_HANDLE, then
	 * DRM_IOCTL_MODE_ADDFB2), or another process over a unix socket (SCM_RIGHTS).
	 */
	printf("buffer %u: %llu bytes as dma-buf fd %d\n", req.id,
	       (unsigned long long)req.size, req.fd);
	close(req.fd);	/* freed once importers let go too */
	printf("cmabuf-example: ok\n");
	return 0;
}
