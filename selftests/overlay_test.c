// SPDX-License-Identifier: GPL-2.0
/*
 * Device-tree overlays applied at run time (through the test-only loader
 * overlay_loader/): cmabuf binds a consumer node that appears on the running system
 * and unbinds when it goes; removal while a buffer is exported leaves the buffer valid
 * until released; a node naming a pool already served is refused; cycles leak nothing.
 */
#include <linux/dma-buf.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "cmabuf_util.h"
#include "overlay_loader/cmabuf_test_overlay.h"
#include "kselftest_harness.h"

#define MiB (1024ULL * 1024)
#define LOADER "/dev/cmabuf_test_overlay"
#define RUNTIME_CMA "/sys/kernel/mm/cma/runtime-pool@60c00000/available_pages"

static int loader_open(void)
{
	if (!path_exists(LOADER))
		load_module_file("/lib/modules/cmabuf_test_overlay.ko", "");
	return open(LOADER, O_RDWR | O_CLOEXEC);
}

/* Applies /selftests/<name>.dtbo; the changeset id or -errno. */
static int overlay_apply(int loader, const char *name)
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

static int overlay_remove(int loader, int id)
{
	return ioctl(loader, OVERLAY_IOC_REMOVE, id) ? -errno : 0;
}

static long long runtime_cma_available(void)
{
	char text[64];

	return read_text(RUNTIME_CMA, text, sizeof(text)) < 0 ? -1 : strtoll(text, NULL, 10);
}

TEST(apply_binds_remove_unbinds_buffers_survive)
{
	int loader = loader_open(), id, pool, buf;
	long long free_pages = runtime_cma_available();
	struct dma_buf_sync sync = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW };
	uint32_t *map;

	ASSERT_LE(0, loader) TH_LOG("the overlay loader module: %s", strerror(errno));
	ASSERT_LT(0, free_pages) TH_LOG("no CMA area runtime-pool@60c00000 in the base DT");
	EXPECT_FALSE(path_exists("/dev/cmabuf-runtime"));

	id = overlay_apply(loader, "runtime-pool");
	ASSERT_LT(0, id) TH_LOG("apply: %s", strerror(-id));
	ASSERT_TRUE(wait_path("/dev/cmabuf-runtime", true, 2000)) TH_LOG("cmabuf did not bind the new node");
	EXPECT_TRUE(klog_contains("pool runtime: /dev/cmabuf-runtime, CMA area runtime-pool@60c00000"));
	pool = pool_open("runtime");
	ASSERT_LE(0, pool);
	buf = buf_alloc_rw(pool, MiB);
	ASSERT_LE(0, buf);
	map = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, map);
	map[0] = 0x0e1a;

	/* The node goes while the buffer is exported and mapped. */
	ASSERT_EQ(0, overlay_remove(loader, id));
	EXPECT_TRUE(wait_path("/dev/cmabuf-runtime", false, 2000));
	EXPECT_FALSE(path_exists(PLATFORM_DEVICES "/cmabuf-runtime"));
	map[1] = 0x0e1b;
	EXPECT_EQ(0x0e1a, map[0]);
	EXPECT_EQ(0, ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync));
	sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
	EXPECT_EQ(0, ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync));
	EXPECT_EQ(free_pages - 256, runtime_cma_available()) TH_LOG("the buffer still holds its pages");
	/* The device file still open: allocations are refused, the pool is gone. */
	EXPECT_EQ(-ENODEV, buf_alloc_rw(pool, MiB));
	EXPECT_TRUE(klog_contains("runtime: the pool is unbound: bind its device again"));
	close(pool);

	/* Back while the old buffer lives: refused, it still holds the region. */
	id = overlay_apply(loader, "runtime-pool");
	ASSERT_LT(0, id);
	usleep(200000);
	EXPECT_FALSE(path_exists("/dev/cmabuf-runtime"));
	EXPECT_TRUE(klog_contains("memory-region runtime-pool@60c00000 still holds buffers from before"));
	ASSERT_EQ(0, overlay_remove(loader, id));

	munmap(map, MiB);
	close(buf);
	EXPECT_EQ(free_pages, runtime_cma_available()) TH_LOG("pages not back in the CMA area");

	/* Released: the node binds again. */
	id = overlay_apply(loader, "runtime-pool");
	ASSERT_LT(0, id);
	EXPECT_TRUE(wait_path("/dev/cmabuf-runtime", true, 2000));
	ASSERT_EQ(0, overlay_remove(loader, id));
	EXPECT_TRUE(wait_path("/dev/cmabuf-runtime", false, 2000));
	/* Nothing kept the removed node referenced (the OF core would leak it). */
	EXPECT_FALSE(klog_contains("OF: ERROR: memory leak"));
	close(loader);
}

/* A node naming a pool another node serves is refused; the camera keeps working. */
TEST(node_for_a_served_pool_is_refused)
{
	int loader = loader_open(), id, pool, buf;

	ASSERT_LE(0, loader);
	id = overlay_apply(loader, "runtime-claimed");
	ASSERT_LT(0, id) TH_LOG("apply: %s", strerror(-id));
	usleep(200000);
	EXPECT_FALSE(path_exists("/dev/cmabuf-camera-again"));
	EXPECT_TRUE(klog_contains("memory-region camera-pool@58000000 is already served by cmabuf-camera"));
	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	buf = buf_alloc_rw(pool, MiB);
	EXPECT_LE(0, buf);
	if (buf >= 0)
		close(buf);
	close(pool);
	ASSERT_EQ(0, overlay_remove(loader, id));
	close(loader);
}

/* Garbage is not an overlay: an errno, and nothing changes. */
TEST(bad_blob_is_refused)
{
	static const char junk[] = "this is not a flattened device tree";
	struct cmabuf_overlay req = { .blob = (uintptr_t)junk, .size = sizeof(junk) };
	int loader = loader_open();

	ASSERT_LE(0, loader);
	EXPECT_NE(0, ioctl(loader, OVERLAY_IOC_APPLY, &req));
	EXPECT_EQ(EINVAL, errno);
	req.size = 0;
	EXPECT_NE(0, ioctl(loader, OVERLAY_IOC_APPLY, &req));
	EXPECT_EQ(EINVAL, errno);
	close(loader);
}

/* 40 apply/allocate/remove cycles: no device, no memory left behind. */
TEST(cycles_leak_nothing)
{
	long long free_pages = runtime_cma_available(), before = 0, after;
	int loader = loader_open(), i;

	ASSERT_LE(0, loader);
	for (i = 0; i < 50; i++) {
		int id = overlay_apply(loader, "runtime-pool"), pool, buf;

		ASSERT_LT(0, id);
		ASSERT_TRUE(wait_path("/dev/cmabuf-runtime", true, 2000));
		pool = pool_open("runtime");
		ASSERT_LE(0, pool);
		buf = buf_alloc_rw(pool, MiB);
		ASSERT_LE(0, buf);
		close(buf);
		close(pool);
		ASSERT_EQ(0, overlay_remove(loader, id));
		ASSERT_TRUE(wait_path("/dev/cmabuf-runtime", false, 2000));
		if (i == 9)
			before = meminfo_kb("SUnreclaim");
	}
	after = meminfo_kb("SUnreclaim");
	EXPECT_GT(before + 256, after) TH_LOG("unreclaimable slab grew by %lld KiB over 40 cycles",
					      after - before);
	EXPECT_EQ(free_pages, runtime_cma_available());
	close(loader);
}

TEST_HARNESS_MAIN
