// SPDX-License-Identifier: GPL-2.0
/*
 * Device-tree overlays applied at run time, through the test-only loader
 * (overlay_loader/, of_overlay_fdt_apply/of_overlay_remove): the base DT names its
 * pools in __symbols__; cmabuf binds a consumer node that appears on the running system
 * and unbinds when it goes; a buffer exported, mapped and attached across the removal
 * stays valid until released; a node naming a pool already served, an unresolvable
 * label, junk and unknown ids are refused with an errno and a log line; unloading the
 * loader removes its overlays; apply/remove cycles leak nothing.
 */
#include <limits.h>
#include <linux/dma-buf.h>
#include <sys/mman.h>

#include "cmabuf_util.h"
#include "slab_usage.h"
#include "importer/cmabuf_test_importer.h"
#include "overlay_util.h"
#include "kselftest_harness.h"

#define DT "/proc/device-tree"
#define LOADER "/dev/cmabuf_test_overlay"

/* dts/test-regions.dtso: a reusable pool that no node serves at boot. */
#define RUNTIME_REGION "runtime-pool@60c00000"
#define RUNTIME_BASE 0x60c00000ULL
#define RUNTIME_SIZE (4 * MiB)
#define RUNTIME_CMA "/sys/kernel/mm/cma/" RUNTIME_REGION "/available_pages"
/* dts/runtime-pool.dtso's node, and what cmabuf makes of it. */
#define RUNTIME_NODE DT "/cmabuf-runtime"
#define RUNTIME_PDEV PLATFORM_DEVICES "/cmabuf-runtime"
#define RUNTIME_BOUND CMABUF_DRIVER_DIR "/cmabuf-runtime"
#define RUNTIME_DEV "/dev/cmabuf-runtime"
#define RUNTIME_DEBUGFS CMABUF_DEBUGFS "/runtime"

/* Removing an overlay frees its nodes; one still referenced is reported, and leaks. */
#define OF_NODE_LEAK "OF: ERROR: memory leak"

/* Opens the overlay loader's device, loading it first if needed. */
static int loader_open(void)
{
	return test_module_open(LOADER, "/lib/modules/cmabuf_test_overlay.ko");
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

/* Waits until the runtime CMA area has want pages available (frees may be deferred). */
static bool wait_runtime_cma_available(long long want, unsigned int timeout_ms)
{
	uint64_t end = now_ms() + timeout_ms;

	while (runtime_cma_available() != want && now_ms() < end)
		usleep(1000);
	return runtime_cma_available() == want;
}

/* The runtime overlay resolves its labels through the base DT's __symbols__ (dtc -@). */
TEST(base_dt_names_the_pools_in_symbols)
{
	static const char *const symbols[][2] = {
		{ "camera_pool", "/reserved-memory/camera-pool@58000000" },
		{ "display_pool", "/reserved-memory/display-pool@5c000000" },
		{ "runtime_pool", "/reserved-memory/" RUNTIME_REGION },
	};
	char path[320], target[256];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(symbols); i++) {
		snprintf(path, sizeof(path), DT "/__symbols__/%s", symbols[i][0]);
		ASSERT_LT(0, read_text(path, target, sizeof(target)))
			TH_LOG("the base DT has no __symbols__/%s: build it with dtc -@",
			       symbols[i][0]);
		EXPECT_STREQ(symbols[i][1], target);
		snprintf(path, sizeof(path), DT "%s/reg", target);
		EXPECT_TRUE(path_exists(path)) TH_LOG("__symbols__/%s names %s, not in the tree",
						      symbols[i][0], target);
	}
}

TEST(apply_binds_remove_unbinds_buffers_survive)
{
	struct cmabuf_import seen = { .marker = 0x0e1c0e1c };
	uint64_t phys, len;
	long long free_pages = runtime_cma_available();
	int loader = loader_open(), importer = importer_open(), id, pool, buf;
	uint32_t *map, *again;

	ASSERT_LE(0, loader) TH_LOG("the overlay loader module: %s", strerror(errno));
	ASSERT_LE(0, importer) TH_LOG("the test importer module: %s", strerror(errno));
	ASSERT_LT(0, free_pages) TH_LOG("no CMA area " RUNTIME_REGION " in the base DT");
	ASSERT_FALSE(path_exists(RUNTIME_NODE));
	ASSERT_FALSE(path_exists(RUNTIME_DEV));

	id = overlay_apply(loader, "runtime-pool");
	ASSERT_LT(0, id) TH_LOG("apply: %s", strerror(-id));
	EXPECT_TRUE(path_exists(RUNTIME_NODE "/memory-region")) TH_LOG("node not in the live tree");
	ASSERT_TRUE(wait_path(RUNTIME_DEV, true, 2000)) TH_LOG("cmabuf did not bind the new node");
	EXPECT_TRUE(path_exists(RUNTIME_BOUND));
	EXPECT_TRUE(path_exists(RUNTIME_DEBUGFS "/info"));
	EXPECT_TRUE(klog_contains("pool runtime: /dev/cmabuf-runtime, CMA area " RUNTIME_REGION));
	pool = pool_open("runtime");
	ASSERT_LE(0, pool);
	buf = buf_alloc_rw(pool, MiB);
	ASSERT_LE(0, buf) TH_LOG("%s", strerror(-buf));
	ASSERT_EQ(0, buf_phys(pool, buf, &phys, &len));
	EXPECT_LE(RUNTIME_BASE, phys);
	EXPECT_GE(RUNTIME_BASE + RUNTIME_SIZE, phys + len);
	map = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	map[0] = 0x0e1a;
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
	/* A driver keeps its attachment across the removal, as a display would. */
	ASSERT_EQ(0, ioctl(importer, IMPORTER_IOC_HOLD, buf)) TH_LOG("%s", strerror(errno));

	/* The node goes while the buffer is exported, mapped and attached. */
	ASSERT_EQ(0, overlay_remove(loader, id));
	EXPECT_TRUE(wait_path(RUNTIME_DEV, false, 2000));
	EXPECT_FALSE(path_exists(RUNTIME_NODE));
	EXPECT_FALSE(path_exists(RUNTIME_PDEV));
	EXPECT_FALSE(path_exists(RUNTIME_DEBUGFS));
	EXPECT_EQ(free_pages - 256, runtime_cma_available()) TH_LOG("the buffer lost its pages");

	/* Its mapping, a new mapping, CPU access and an importer all still work. */
	EXPECT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	EXPECT_EQ(0x0e1aU, map[0]);
	map[MiB / 4 - 1] = 0x0e1b;
	EXPECT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	again = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, again) TH_LOG("mmap after the removal: %s", strerror(errno));
	EXPECT_EQ(0x0e1aU, again[0]);
	seen.fd = buf;
	ASSERT_EQ(0, ioctl(importer, IMPORTER_IOC_CHECK, &seen))
		TH_LOG("importing after the removal: %s", strerror(errno));
	EXPECT_EQ(1U, seen.nents);
	EXPECT_EQ(phys, seen.dma_addr);
	EXPECT_EQ(MiB, seen.dma_len);
	EXPECT_EQ(0x0e1aU, seen.first);
	EXPECT_EQ(0x0e1bU, seen.last);
	EXPECT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0x0e1c0e1cU, again[1]) TH_LOG("the importer's write is not visible");
	EXPECT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, ioctl(importer, IMPORTER_IOC_RELEASE));

	/* The device file still open: allocations are refused, the pool is gone. */
	EXPECT_EQ(-ENODEV, buf_alloc_rw(pool, MiB));
	EXPECT_TRUE(klog_contains("runtime: the pool is unbound: bind its device again"));
	close(pool);

	/* Back while the old buffer lives: the node is refused, the buffer holds the region. */
	id = overlay_apply(loader, "runtime-pool");
	ASSERT_LT(0, id);
	EXPECT_TRUE(path_exists(RUNTIME_PDEV));
	usleep(200000);
	EXPECT_FALSE(path_exists(RUNTIME_BOUND));
	EXPECT_FALSE(path_exists(RUNTIME_DEV));
	EXPECT_TRUE(klog_contains("memory-region " RUNTIME_REGION " still holds buffers from before"));
	ASSERT_EQ(0, overlay_remove(loader, id));

	/* Released: every page back in the CMA area, and the node binds again. */
	munmap(map, MiB);
	munmap(again, MiB);
	close(buf);
	EXPECT_TRUE(wait_runtime_cma_available(free_pages, 2000))
		TH_LOG("%lld of %lld pages back in the CMA area", runtime_cma_available(),
		       free_pages);
	id = overlay_apply(loader, "runtime-pool");
	ASSERT_LT(0, id);
	ASSERT_TRUE(wait_path(RUNTIME_DEV, true, 2000));
	pool = pool_open("runtime");
	ASSERT_LE(0, pool);
	EXPECT_EQ(0, pool_used(pool));
	close(pool);
	ASSERT_EQ(0, overlay_remove(loader, id));
	EXPECT_TRUE(wait_path(RUNTIME_DEV, false, 2000));
	EXPECT_FALSE(klog_contains(OF_NODE_LEAK)) TH_LOG("a removed node was still referenced");
	close(importer);
	close(loader);
	EXPECT_EQ(0, unload_module("cmabuf_test_importer"));
}

/* A node naming a pool another node serves is refused; the camera keeps working. */
TEST(node_for_a_served_pool_is_refused)
{
	int loader = loader_open(), id, pool, buf;

	ASSERT_LE(0, loader);
	id = overlay_apply(loader, "runtime-claimed");
	ASSERT_LT(0, id) TH_LOG("apply: %s", strerror(-id));
	EXPECT_TRUE(path_exists(DT "/cmabuf-camera-again"));
	EXPECT_TRUE(path_exists(PLATFORM_DEVICES "/cmabuf-camera-again"));
	usleep(200000);
	EXPECT_FALSE(path_exists(CMABUF_DRIVER_DIR "/cmabuf-camera-again"));
	EXPECT_FALSE(path_exists("/dev/cmabuf-camera-again"));
	EXPECT_FALSE(path_exists(CMABUF_DEBUGFS "/camera-again"));
	EXPECT_TRUE(klog_contains("memory-region camera-pool@58000000 is already served by cmabuf-camera"));
	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	buf = buf_alloc_rw(pool, MiB);
	EXPECT_LE(0, buf);
	if (buf >= 0)
		close(buf);
	close(pool);
	ASSERT_EQ(0, overlay_remove(loader, id));
	EXPECT_FALSE(path_exists(DT "/cmabuf-camera-again"));
	EXPECT_FALSE(path_exists(PLATFORM_DEVICES "/cmabuf-camera-again"));
	EXPECT_TRUE(path_exists("/dev/cmabuf-camera"));
	close(loader);
}

/*
 * A node's cmabuf,small-arena-bytes gives its pool a small-buffer arena of that size at
 * bind, with the module parameter unset (dts/runtime-arena.dtso: 256 KiB of the 4 MiB
 * runtime pool): a 16 KiB buffer is placed in it, a 1 MiB one above it; removing the
 * node gives the arena back to the area.
 */
TEST(node_sizes_its_arena)
{
	int loader = loader_open(), id, pool, small, big;
	long long available = runtime_cma_available();

	ASSERT_LE(0, loader);
	ASSERT_LT(0, available);
	id = overlay_apply(loader, "runtime-arena");
	ASSERT_LT(0, id) TH_LOG("apply: %s", strerror(-id));
	ASSERT_TRUE(wait_path("/dev/cmabuf-arena", true, 2000));
	EXPECT_EQ(256 * KiB, info_value("arena", "arena_size"));
	EXPECT_EQ(available - (long long)(256 * KiB / getpagesize()), runtime_cma_available())
		TH_LOG("the arena's pages are not taken from the area");
	pool = pool_open("arena");
	ASSERT_LE(0, pool);
	small = buf_alloc_rw(pool, 16 * KiB);
	ASSERT_LE(0, small);
	EXPECT_EQ(16 * KiB, info_value("arena", "arena_used"));
	big = buf_alloc_rw(pool, MiB);
	ASSERT_LE(0, big);
	EXPECT_EQ(16 * KiB, info_value("arena", "arena_used"));
	close(small);
	close(big);
	EXPECT_EQ(0, info_value("arena", "arena_used"));
	close(pool);
	ASSERT_EQ(0, overlay_remove(loader, id));
	EXPECT_FALSE(path_exists("/dev/cmabuf-arena"));
	EXPECT_TRUE(wait_runtime_cma_available(available, 2000))
		TH_LOG("the arena was not given back: %lld pages available, want %lld",
		       runtime_cma_available(), available);
	close(loader);
}

/* A label the base DT does not define: the whole overlay is refused, nothing appears. */
TEST(unresolvable_label_is_refused)
{
	int loader = loader_open(), id;

	ASSERT_LE(0, loader);
	id = overlay_apply(loader, "runtime-unresolved");
	EXPECT_EQ(-EINVAL, id) TH_LOG("apply: %d", id);
	EXPECT_TRUE(klog_contains("node label 'no_such_pool' not found in live devicetree symbols table"));
	EXPECT_TRUE(klog_contains("cmabuf_test_overlay: applying the overlay failed: -22"));
	EXPECT_FALSE(path_exists(DT "/cmabuf-unresolved"));
	EXPECT_FALSE(path_exists(PLATFORM_DEVICES "/cmabuf-unresolved"));
	EXPECT_FALSE(path_exists("/dev/cmabuf-unresolved"));
	close(loader);
}

/* Garbage, a truncated blob and sizes out of range: EINVAL and a log line each. */
TEST(bad_blob_is_refused)
{
	static const char junk[] = "this is not a flattened device tree";
	static char dtbo[65536];
	struct cmabuf_overlay req = { .blob = (uintptr_t)junk, .size = sizeof(junk) };
	int loader = loader_open();

	ASSERT_LE(0, loader);
	EXPECT_EQ(-1, ioctl(loader, OVERLAY_IOC_APPLY, &req));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_TRUE(klog_contains("OF: overlay: Invalid overlay_fdt header"));

	req.size = 0;
	EXPECT_EQ(-1, ioctl(loader, OVERLAY_IOC_APPLY, &req));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_TRUE(klog_contains("cmabuf_test_overlay: overlay size 0: must be 1 byte to 1 MiB"));
	req.size = 2 * MiB;
	EXPECT_EQ(-1, ioctl(loader, OVERLAY_IOC_APPLY, &req));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_TRUE(klog_contains("cmabuf_test_overlay: overlay size 2097152: must be"));

	/* A real overlay cut short: its header is sound, its size says more follows. */
	ASSERT_LT(64, read_bytes("/selftests/runtime-pool.dtbo", dtbo, sizeof(dtbo)));
	req.blob = (uintptr_t)dtbo;
	req.size = 64;
	EXPECT_EQ(-1, ioctl(loader, OVERLAY_IOC_APPLY, &req));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_TRUE(klog_contains("cmabuf_test_overlay: applying the overlay failed: -22"));
	EXPECT_FALSE(path_exists(RUNTIME_NODE));
	EXPECT_EQ(-1, ioctl(loader, _IO('J', 0x5f)));
	EXPECT_EQ(ENOTTY, errno);
	close(loader);
}

/* The loader removes only what it applied, each once. */
TEST(remove_takes_only_ids_it_applied)
{
	int loader = loader_open(), id;

	ASSERT_LE(0, loader);
	EXPECT_EQ(-ENOENT, overlay_remove(loader, 0));
	EXPECT_EQ(-ENOENT, overlay_remove(loader, 99999));
	EXPECT_TRUE(klog_contains("no overlay 99999 was applied through this loader"));
	id = overlay_apply(loader, "runtime-pool");
	ASSERT_LT(0, id);
	ASSERT_TRUE(wait_path(RUNTIME_DEV, true, 2000));
	ASSERT_EQ(0, overlay_remove(loader, id));
	EXPECT_EQ(-ENOENT, overlay_remove(loader, id)) TH_LOG("removed twice");
	EXPECT_TRUE(wait_path(RUNTIME_DEV, false, 2000));
	close(loader);
}

/* Unloading the loader takes its overlays with it; an open loader holds its module. */
TEST(unload_removes_what_it_applied)
{
	int loader = loader_open(), id;

	ASSERT_LE(0, loader);
	id = overlay_apply(loader, "runtime-pool");
	ASSERT_LT(0, id);
	ASSERT_TRUE(wait_path(RUNTIME_DEV, true, 2000));
	EXPECT_EQ(-1, unload_module("cmabuf_test_overlay"));
	EXPECT_EQ(EWOULDBLOCK, errno);
	close(loader);
	ASSERT_EQ(0, unload_module("cmabuf_test_overlay")) TH_LOG("%s", strerror(errno));
	EXPECT_TRUE(wait_path(RUNTIME_DEV, false, 2000)) TH_LOG("the overlay outlived its loader");
	EXPECT_FALSE(path_exists(RUNTIME_NODE));
	EXPECT_FALSE(path_exists(RUNTIME_PDEV));
	loader = loader_open();
	ASSERT_LE(0, loader) TH_LOG("loading the loader again: %s", strerror(errno));
	close(loader);
}

/*
 * Apply, bind, allocate, free, remove, over and over: every cycle ends where it began,
 * and the kmalloc caches do not grow in every window of cycles. Their growth is counted
 * in whole slabs, so a single window may jump by a few KiB (15 KiB measured) with no
 * leak; a leak grows every window alike: the verdict is on the smallest growth. A
 * leaked changeset, node copy or device costs well over LEAK_LIMIT_KB / WINDOW_CYCLES
 * (about 80 bytes) each cycle; a test-only leak of 256 bytes a cycle in the loader
 * showed as 7 KiB in a window of 40.
 */
#define WARMUP_CYCLES 20
#define WINDOWS 3
#define WINDOW_CYCLES 50
#define LEAK_LIMIT_KB 4

static int one_cycle(struct __test_metadata *_metadata, int loader, int cycle)
{
	int id = overlay_apply(loader, "runtime-pool"), pool, buf;

	EXPECT_LT(0, id) TH_LOG("cycle %d apply: %s", cycle, strerror(-id));
	if (id <= 0)
		return -1;
	EXPECT_TRUE(wait_path(RUNTIME_DEV, true, 2000)) TH_LOG("cycle %d: not bound", cycle);
	pool = pool_open("runtime");
	EXPECT_LE(0, pool) TH_LOG("cycle %d open: %s", cycle, strerror(errno));
	buf = pool < 0 ? -EBADF : buf_alloc_rw(pool, MiB);
	EXPECT_LE(0, buf) TH_LOG("cycle %d alloc: %s", cycle, strerror(-buf));
	if (buf >= 0)
		close(buf);
	if (pool >= 0)
		close(pool);
	EXPECT_EQ(0, overlay_remove(loader, id)) TH_LOG("cycle %d remove", cycle);
	EXPECT_TRUE(wait_path(RUNTIME_DEV, false, 2000)) TH_LOG("cycle %d: still bound", cycle);
	EXPECT_FALSE(path_exists(RUNTIME_NODE)) TH_LOG("cycle %d: node left", cycle);
	return _metadata->exit_code;
}

FIXTURE(cycles) {
};

FIXTURE_SETUP(cycles)
{
}

FIXTURE_TEARDOWN(cycles)
{
}

TEST_F_TIMEOUT(cycles, apply_remove_cycles_leak_nothing, 600)
{
	long long free_pages = runtime_cma_available(), growth, least = LLONG_MAX, slab;
	int loader = loader_open(), bound = driver_bound_count(), i, w;
	uint64_t start = now_ms();

	ASSERT_LE(0, loader);
	ASSERT_LT(0, free_pages);
	ASSERT_LE(0, kmalloc_bytes()) TH_LOG("no /proc/slabinfo (CONFIG_SLUB_DEBUG)");
	for (i = 0; i < WARMUP_CYCLES; i++)
		ASSERT_EQ(0, one_cycle(_metadata, loader, i));
	for (w = 0; w < WINDOWS; w++) {
		slab_settle();
		growth = -kmalloc_bytes();
		slab = -meminfo_kb("SUnreclaim");
		for (; i < WARMUP_CYCLES + (w + 1) * WINDOW_CYCLES; i++)
			ASSERT_EQ(0, one_cycle(_metadata, loader, i));
		slab_settle();
		growth += kmalloc_bytes();
		slab += meminfo_kb("SUnreclaim");
		ksft_print_msg("overlay cycles, window %d (%d cycles): kmalloc caches %+lld bytes, unreclaimable slab %+lld KiB\n",
			       w + 1, WINDOW_CYCLES, growth, slab);
		if (growth < least)
			least = growth;
	}
	ksft_print_msg("%d overlay apply/remove cycles in %llu ms; least kmalloc growth in a window of %d: %+lld bytes\n",
		       i, (unsigned long long)(now_ms() - start), WINDOW_CYCLES, least);
	EXPECT_GT(LEAK_LIMIT_KB * 1024, least);
	EXPECT_EQ(bound, driver_bound_count()) TH_LOG("devices left bound");
	EXPECT_TRUE(wait_runtime_cma_available(free_pages, 2000)) TH_LOG("pages left allocated");
	EXPECT_FALSE(klog_contains(OF_NODE_LEAK)) TH_LOG("a removed node was still referenced");
	close(loader);
}

TEST_HARNESS_MAIN
