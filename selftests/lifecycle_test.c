// SPDX-License-Identifier: GPL-2.0
/*
 * Binding, unbinding, loading and unloading: device nodes come and go with the pool,
 * open files keep the module loaded, and repeated cycles leave nothing behind.
 */
#include "cmabuf_util.h"
#include "kselftest_harness.h"

#define CAMERA_DEV "/dev/cmabuf-camera"
/*
 * Slab grows for a while after the first reloads (caches warming up, fragmentation),
 * then stays flat unless something leaks: measure only after WARMUP_CYCLES.
 */
#define WARMUP_CYCLES 50
#define MEASURED_CYCLES 400
#define LEAK_LIMIT_KB 128

TEST(unbind_removes_pool_and_bind_restores_it)
{
	ASSERT_TRUE(path_exists(CAMERA_DEV));
	ASSERT_EQ(0, write_text(CMABUF_DRIVER_DIR "/unbind", "cmabuf-camera"));
	EXPECT_TRUE(wait_path(CAMERA_DEV, false, 2000)) TH_LOG("device node stayed");
	EXPECT_FALSE(path_exists(CMABUF_DEBUGFS "/camera"));
	EXPECT_FALSE(path_exists(CMABUF_DRIVER_DIR "/cmabuf-camera"));

	ASSERT_EQ(0, write_text(CMABUF_DRIVER_DIR "/bind", "cmabuf-camera"))
		TH_LOG("rebinding failed: region not released?");
	EXPECT_TRUE(wait_path(CAMERA_DEV, true, 2000));
	EXPECT_TRUE(path_exists(CMABUF_DEBUGFS "/camera/info"));
}

TEST(unbind_while_open_keeps_the_file_usable)
{
	int fd = open(CAMERA_DEV, O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_text(CMABUF_DRIVER_DIR "/unbind", "cmabuf-camera"));
	EXPECT_TRUE(wait_path(CAMERA_DEV, false, 2000));
	EXPECT_EQ(0, close(fd));
	ASSERT_EQ(0, write_text(CMABUF_DRIVER_DIR "/bind", "cmabuf-camera"));
	EXPECT_TRUE(wait_path(CAMERA_DEV, true, 2000));
}

TEST(rmmod_refused_while_a_device_is_open)
{
	int fd = open(CAMERA_DEV, O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, module_unload());
	EXPECT_EQ(EWOULDBLOCK, errno) TH_LOG("unload: %s", strerror(errno));
	EXPECT_TRUE(module_loaded());
	EXPECT_EQ(0, close(fd));
	EXPECT_TRUE(path_exists(CAMERA_DEV));
}

/* One unload and load, checking that everything goes and comes back. */
static int reload(struct __test_metadata *_metadata, int cycle, int pools)
{
	EXPECT_EQ(0, module_unload()) TH_LOG("cycle %d unload: %s", cycle, strerror(errno));
	EXPECT_TRUE(wait_path(CAMERA_DEV, false, 2000)) TH_LOG("cycle %d: stale node", cycle);
	EXPECT_FALSE(path_exists(CMABUF_DEBUGFS)) TH_LOG("cycle %d: stale debugfs", cycle);
	EXPECT_EQ(0, module_load()) TH_LOG("cycle %d load: %s", cycle, strerror(errno));
	EXPECT_TRUE(wait_path(CAMERA_DEV, true, 2000)) TH_LOG("cycle %d: no node", cycle);
	EXPECT_EQ(pools, driver_bound_count()) TH_LOG("cycle %d: pools not all bound", cycle);
	return _metadata->exit_code;
}

TEST(load_unload_cycles_leave_nothing_behind)
{
	int i, pools = driver_bound_count();
	long long slab_before;
	uint64_t start;

	ASSERT_TRUE(module_loaded());
	ASSERT_LT(0, pools);
	for (i = 0; i < WARMUP_CYCLES; i++)
		ASSERT_EQ(0, reload(_metadata, i, pools));
	slab_before = meminfo_kb("SUnreclaim");
	start = now_ms();
	for (; i < WARMUP_CYCLES + MEASURED_CYCLES; i++)
		ASSERT_EQ(0, reload(_metadata, i, pools));
	ksft_print_msg("%d load/unload cycles of %d pools: %llu ms, unreclaimable slab %+lld KiB\n",
		       MEASURED_CYCLES, pools, (unsigned long long)(now_ms() - start),
		       meminfo_kb("SUnreclaim") - slab_before);
	/* Noise stays under ~80 KiB; a leak of 64 bytes per pool and cycle crosses the limit. */
	EXPECT_GT(LEAK_LIMIT_KB, meminfo_kb("SUnreclaim") - slab_before);
}

TEST_HARNESS_MAIN
