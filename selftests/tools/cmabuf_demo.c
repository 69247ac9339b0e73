// SPDX-License-Identifier: GPL-2.0
/*
 * cmabuf_demo: what `make run` shows in the guest. For each pool named on the command
 * line: allocate a buffer, map it, write and verify it through the mapping with
 * DMA_BUF_IOCTL_SYNC brackets, show the pool's use, free it. With --lend: fill memory
 * until the system has borrowed the pools' pages, then allocate most of the pool and
 * show what migration it took. Exits 0 only if every step worked; prints
 * "cmabuf-demo: ok" last.
 *
 *   cmabuf_demo camera display
 *   cmabuf_demo --lend camera
 */
#include <linux/dma-buf.h>
#include <sys/mman.h>

#include "../cmabuf_util.h"
#include "../memory_filler.h"

static void show(const char *pool, int fd)
{
	struct cmabuf_pool_info info;

	if (pool_info(fd, &info))
		return;
	printf("%s: %llu MiB pool, %llu KiB used in %llu buffer(s), largest free run %llu MiB\n",
	       pool, (unsigned long long)(info.size / MiB), (unsigned long long)(info.used >> 10),
	       (unsigned long long)info.buffers, (unsigned long long)(info.largest_free / MiB));
}

static int demo(const char *pool, uint64_t size)
{
	struct cmabuf_alloc req = { .size = size, .fd_flags = O_RDWR | O_CLOEXEC };
	uint64_t phys;
	uint32_t *p;
	size_t i;
	int fd = pool_open(pool);

	if (fd < 0) {
		printf("%s: cannot open /dev/cmabuf-%s: %s\n", pool, pool, strerror(errno));
		return -1;
	}
	show(pool, fd);
	if (ioctl(fd, CMABUF_IOC_ALLOC, &req)) {
		printf("%s: CMABUF_IOC_ALLOC failed: %s\n", pool, strerror(errno));
		return -1;
	}
	buf_phys(fd, req.fd, &phys, NULL);
	printf("%s: buffer %u: %llu MiB, dma-buf fd %d, physical 0x%llx\n", pool, req.id,
	       (unsigned long long)(size / MiB), req.fd, (unsigned long long)phys);
	show(pool, fd);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, req.fd, 0);
	if (p == MAP_FAILED) {
		printf("%s: mmap failed: %s\n", pool, strerror(errno));
		return -1;
	}
	buf_sync(req.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	for (i = 0; i < size / 4; i++)
		p[i] = (uint32_t)i ^ 0xc0ffee;
	for (i = 0; i < size / 4 && p[i] == ((uint32_t)i ^ 0xc0ffee); i++)
		;
	buf_sync(req.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	printf("%s: wrote and read back %zu of %llu bytes through mmap\n", pool, i * 4,
	       (unsigned long long)size);
	munmap(p, size);
	close(req.fd);
	show(pool, fd);
	close(fd);
	return i * 4 == size ? 0 : -1;
}

/* The seed's point: memory lent to the system while idle, taken back on demand. */
static int lend(const char *pool)
{
	char path[128], text[4096];
	long long migrated, total = meminfo_kb("CmaTotal") >> 10;
	struct filler f;
	uint64_t start;
	int fd = pool_open(pool), buf;

	if (fd < 0)
		return -1;
	printf("%s: CMA is %lld MiB, %lld MiB free before any load\n", pool, total,
	       meminfo_kb("CmaFree") >> 10);
	if (fill_until_cma_used(&f, 32 * 1024))
		printf("%s: (the system borrowed less than asked)\n", pool);
	printf("%s: filled memory with shmem and anonymous pages: the system now uses %lld MiB of CMA for them\n",
	       pool, total - (meminfo_kb("CmaFree") >> 10));
	snprintf(path, sizeof(path), CMABUF_DEBUGFS "/%s/latency", pool);
	write_text(path, "reset");
	migrated = info_value(pool, "migrated_pages");
	start = now_ms();
	buf = buf_alloc_rw(fd, 48 * MiB);
	printf("%s: 48 MiB buffer %s in %llu ms; %lld pages migrated away for it\n", pool,
	       buf >= 0 ? "allocated" : strerror(-buf), (unsigned long long)(now_ms() - start),
	       info_value(pool, "migrated_pages") - migrated);
	if (read_text(path, text, sizeof(text)) > 0)
		printf("%s", text);
	if (buf >= 0)
		close(buf);
	unfill(&f);
	close(fd);
	return buf >= 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	int i, failed = 0;

	if (argc == 3 && !strcmp(argv[1], "--lend"))
		failed = lend(argv[2]);
	else
		for (i = 1; i < argc; i++)
			failed |= demo(argv[i], 8 * MiB);
	printf("cmabuf-demo: %s\n", failed ? "FAILED" : "ok");
	return failed;
}
