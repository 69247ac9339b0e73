// SPDX-License-Identifier: GPL-2.0
/*
 * Binding, unbinding, loading and unloading: device nodes come and go with the pool,
 * open files keep the module loaded, and repeated cycles leave nothing behind.
 */
#include "cmabuf_util.h"
#include "kselftest_harness.h"

#include <sys/mman.h>

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

TEST(rmmod_refused_while_a_buffer_lives)
{
	int pool = pool_open("camera"), buf;

	ASSERT_LE(0, pool);
	buf = buf_alloc_rw(pool, 1 << 20);
	ASSERT_LE(0, buf);
	close(pool);
	EXPECT_EQ(-1, module_unload()) TH_LOG("cmabuf unloaded under a live buffer");
	EXPECT_EQ(EWOULDBLOCK, errno);
	close(buf);
	ASSERT_EQ(0, module_unload()) TH_LOG("unload after the last buffer: %s", strerror(errno));
	ASSERT_EQ(0, module_load());
	EXPECT_TRUE(wait_path(CAMERA_DEV, true, 2000));
}

/* Unbinding never frees memory under a buffer; the region is rebound once it is gone. */
TEST(unbind_while_a_buffer_lives_keeps_it_valid)
{
	const size_t size = 1 << 20;
	int pool = pool_open("camera"), buf;
	uint8_t *p;
	size_t i;

	ASSERT_LE(0, pool);
	buf = buf_alloc_rw(pool, size);
	ASSERT_LE(0, buf);
	close(pool);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x5a, size);

	ASSERT_EQ(0, write_text(CMABUF_DRIVER_DIR "/unbind", "cmabuf-camera"));
	EXPECT_TRUE(wait_path(CAMERA_DEV, false, 2000));
	for (i = 0; i < size && p[i] == 0x5a; i++)
		;
	EXPECT_EQ(size, i) TH_LOG("buffer changed after unbind at byte %zu", i);
	memset(p, 0xa5, size);

	EXPECT_NE(0, write_text(CMABUF_DRIVER_DIR "/bind", "cmabuf-camera"))
		TH_LOG("rebound while a buffer of the region lives");
	EXPECT_TRUE(klog_contains("cmabuf-camera: memory-region camera-pool@58000000 still "
				  "holds buffers from before cmabuf-camera was unbound"));

	munmap(p, size);
	close(buf);
	ASSERT_EQ(0, write_text(CMABUF_DRIVER_DIR "/bind", "cmabuf-camera"))
		TH_LOG("rebinding after the buffer went: %s", strerror(errno));
	ASSERT_TRUE(wait_path(CAMERA_DEV, true, 2000));
	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	EXPECT_EQ(0, pool_used(pool));
	close(pool);
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

FIXTURE(reload) {
};

FIXTURE_SETUP(reload)
{
}

FIXTURE_TEARDOWN(reload)
{
}

/* Hundreds of reloads take longer than the harness's default 30 s under emulation. */
TEST_F_TIMEOUT(reload, cycles_leave_nothing_behind, 300)
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
