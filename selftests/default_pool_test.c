// SPDX-License-Identifier: GPL-2.0
/*
 * The default pool on a board without a device tree (x86_64 under KVM): the guest's
 * /init loaded cmabuf with default_pool=<bytes> (scripts/run-qemu.sh, cmabuf_params=),
 * so /dev/cmabuf-default serves that budget of the system's default CMA area (cma= on
 * the kernel command line), beside the kernel's own CMA heap on the same area
 * (/dev/dma_heap/default_cma_region). Nothing here needs a device tree; the tests leave
 * cmabuf loaded with the parameters it had.
 */
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <sys/mman.h>

#include "cmabuf_util.h"
#include "kselftest_harness.h"

#define DEFAULT_DEV "/dev/cmabuf-default"
#define KERNEL_HEAP "/dev/dma_heap/default_cma_region"
/*
 * The budget /init loaded cmabuf with: default_pool= in cmabuf_params= on the kernel
 * command line (the parameter itself is not readable in sysfs), or 0.
 */
static unsigned long long budget(void)
{
	char text[4096];
	const char *p;

	if (read_text("/proc/cmdline", text, sizeof(text)) <= 0)
		return 0;
	p = strstr(text, "cmabuf_params=");
	p = p ? strstr(p, "default_pool=") : NULL;
	return p ? strtoull(p + strlen("default_pool="), NULL, 10) : 0;
}

/* DMA_HEAP_IOCTL_ALLOC on the heap node at path; the dma-buf fd or -errno. */
static int heap_alloc(const char *path, uint64_t len)
{
	struct dma_heap_allocation_data req = {
		.len = len, .fd_flags = O_RDWR | O_CLOEXEC,
	};
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = ioctl(fd, DMA_HEAP_IOCTL_ALLOC, &req) < 0 ? -errno : (int)req.fd;
	close(fd);
	return ret;
}

/* Writes a pattern through a mapping of the buffer and reads it back; 0 if it held. */
static int write_and_verify(int buf, size_t size, uint32_t seed)
{
	uint32_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	size_t i, n = size / sizeof(*p), bad = 0;

	if (p == MAP_FAILED)
		return -errno;
	buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	for (i = 0; i < n; i++)
		if (p[i])
			bad++;
	for (i = 0; i < n; i++)
		p[i] = seed ^ (uint32_t)i;
	for (i = 0; i < n; i++)
		if (p[i] != (seed ^ (uint32_t)i))
			bad++;
	buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	munmap(p, size);
	return bad ? -EIO : 0;
}

/* The node, its pool information and debugfs: the default area, whole budget. */
TEST(serves_the_default_cma_area)
{
	struct cmabuf_pool_info info;
	char text[4096], region[64] = "", heap[128];
	const char *r;
	int pool;

	ASSERT_LT(0ULL, budget()) TH_LOG("cmabuf was not loaded with default_pool=");
	ASSERT_TRUE(path_exists(DEFAULT_DEV));
	pool = pool_open("default");
	ASSERT_LE(0, pool) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, pool_info(pool, &info));
	EXPECT_STREQ("default", info.name);
	EXPECT_EQ(budget(), info.size);
	EXPECT_EQ(0ULL, info.used);
	EXPECT_EQ(info.size, info.free);
	close(pool);

	ASSERT_LT(0, read_text(CMABUF_DEBUGFS "/default/info", text, sizeof(text)));
	EXPECT_NE(NULL, strstr(text, "base: unknown")) TH_LOG("%s", text);
	r = strstr(text, "region: ");
	ASSERT_NE(NULL, r) TH_LOG("%s", text);
	sscanf(r + 8, "%63s", region);
	/* The kernel's CMA heap serves the same area under the area's own name too. */
	snprintf(heap, sizeof(heap), "/dev/dma_heap/%s", region);
	EXPECT_TRUE(path_exists(heap)) TH_LOG("region %s has no kernel heap %s", region, heap);
	EXPECT_TRUE(path_exists(KERNEL_HEAP));
	/* The area is at least the budget (cma= is larger than default_pool=). */
	EXPECT_LE(budget() >> 10, (unsigned long long)meminfo_kb("CmaTotal"));
}

/* Buffers of every cache mode: zeroed, mapped, written, read back, freed. */
TEST(alloc_map_write_free)
{
	static const uint32_t modes[] = { CMABUF_CACHED, CMABUF_WRITECOMBINE, CMABUF_UNCACHED };
	uint64_t phys = 0, len = 0;
	unsigned int i;
	int pool, buf;

	pool = pool_open("default");
	ASSERT_LE(0, pool);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		buf = buf_alloc(pool, 8 * MiB, 0, modes[i], O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, buf) TH_LOG("mode %u: %s", modes[i], strerror(-buf));
		EXPECT_EQ(8 * MiB, (unsigned long long)pool_used(pool));
		EXPECT_EQ(0, write_and_verify(buf, 8 * MiB, 0x5a5a0000 + i)) TH_LOG("mode %u", modes[i]);
		ASSERT_EQ(0, buf_phys(pool, buf, &phys, &len));
		EXPECT_EQ(8 * MiB, (unsigned long long)len);
		EXPECT_NE(0ULL, phys);
		close(buf);
		EXPECT_TRUE(wait_used(pool, 0, 1000)) TH_LOG("mode %u: not given back", modes[i]);
	}
	close(pool);
}

/* The budget holds: allocations fail with ENOMEM past it, and all of it comes back. */
TEST(budget_is_a_limit)
{
	const unsigned long long chunk = 16 * MiB;
	unsigned long long got = 0;
	int pool, bufs[256], n = 0, ret = 0;

	pool = pool_open("default");
	ASSERT_LE(0, pool);
	while (n < 256) {
		ret = buf_alloc_rw(pool, chunk);
		if (ret < 0)
			break;
		bufs[n++] = ret;
		got += chunk;
	}
	EXPECT_EQ(-ENOMEM, ret) TH_LOG("past %llu MiB: %s", got >> 20, strerror(-ret));
	EXPECT_GE(budget(), got);
	/* Only the kernel's other users of the area may keep some of it from cmabuf. */
	EXPECT_LE(budget() / 2, got) TH_LOG("only %llu of %llu MiB", got >> 20, budget() >> 20);
	while (n)
		close(bufs[--n]);
	EXPECT_TRUE(wait_used(pool, 0, 2000));
	close(pool);
}

/* The kernel's CMA heap on the same area works beside cmabuf's pool, and both give back. */
TEST(kernel_heap_beside_the_pool)
{
	long long free_before = meminfo_kb("CmaFree");
	int pool, ours, theirs;

	pool = pool_open("default");
	ASSERT_LE(0, pool);
	ours = buf_alloc_rw(pool, 32 * MiB);
	ASSERT_LE(0, ours) TH_LOG("%s", strerror(-ours));
	theirs = heap_alloc(KERNEL_HEAP, 32 * MiB);
	ASSERT_LE(0, theirs) TH_LOG("%s", strerror(-theirs));
	/* Both came out of the area: CmaFree fell by at least the 64 MiB. */
	EXPECT_LE(meminfo_kb("CmaFree"), free_before - (long long)(64 * MiB >> 10));
	EXPECT_EQ(0, write_and_verify(ours, 32 * MiB, 0x1234));
	close(theirs);
	close(ours);
	EXPECT_TRUE(wait_used(pool, 0, 2000));
	close(pool);
}

/*
 * Module parameters on this board: a budget that is not whole pages is refused at load
 * (naming the fix), without default_pool= there is no default pool, and the original
 * parameters load again.
 */
TEST(reload_with_parameters)
{
	unsigned long long was = budget();
	char params[64];
	int ret, err;

	ASSERT_LT(0ULL, was);
	snprintf(params, sizeof(params), "default_pool=%llu", was);
	ASSERT_EQ(0, module_unload()) TH_LOG("%s", strerror(errno));
	ret = load_module_file(CMABUF_MODULE_PATH, "default_pool=4194305");
	err = errno;
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(EINVAL, err);
	EXPECT_TRUE(klog_contains("default_pool=4194305 is not a multiple of the page size"));
	EXPECT_FALSE(module_loaded());

	ASSERT_EQ(0, module_load()) TH_LOG("%s", strerror(errno));
	EXPECT_FALSE(path_exists(DEFAULT_DEV)) TH_LOG("a default pool without default_pool=");
	ASSERT_EQ(0, module_unload()) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, load_module_file(CMABUF_MODULE_PATH, params)) TH_LOG("%s", strerror(errno));
	ASSERT_TRUE(wait_path(DEFAULT_DEV, true, 2000));
	EXPECT_EQ(was, budget());
}

TEST_HARNESS_MAIN
