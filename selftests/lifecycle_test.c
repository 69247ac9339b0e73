// SPDX-License-Identifier: GPL-2.0
/*
 * Binding, unbinding, loading and unloading: device nodes come and go with the pool,
 * open files keep the module loaded, and repeated cycles leave nothing behind.
 */
#include "cmabuf_util.h"
#include "kselftest_harness.h"

#define CAMERA_DEV "/dev/cmabuf-camera"
#define CYCLES 100

#include <dirent.h>

/* How many devices the cmabuf driver is bound to. */
static int bound_count(void)
{
	DIR *dir = opendir(CMABUF_DRIVER_DIR);
	struct dirent *d;
	int n = 0;

	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		n += d->d_type == DT_LNK && strcmp(d->d_name, "module") != 0;
	closedir(dir);
	return n;
}

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

TEST(load_unload_cycles_leave_nothing_behind)
{
	long long slab_before, slab_after;
	int i, pools = bound_count();
	uint64_t start;

	ASSERT_TRUE(module_loaded());
	ASSERT_LT(0, pools);
	/* One warm-up cycle so one-time allocations do not count as leaks. */
	ASSERT_EQ(0, module_unload()) TH_LOG("unload: %s", strerror(errno));
	ASSERT_EQ(0, module_load()) TH_LOG("load: %s", strerror(errno));
	slab_before = meminfo_kb("SUnreclaim");
	start = now_ms();
	for (i = 0; i < CYCLES; i++) {
		ASSERT_EQ(0, module_unload()) TH_LOG("cycle %d unload: %s", i, strerror(errno));
		ASSERT_TRUE(wait_path(CAMERA_DEV, false, 2000)) TH_LOG("cycle %d: stale node", i);
		ASSERT_FALSE(path_exists(CMABUF_DEBUGFS)) TH_LOG("cycle %d: stale debugfs", i);
		ASSERT_EQ(0, module_load()) TH_LOG("cycle %d load: %s", i, strerror(errno));
		ASSERT_TRUE(wait_path(CAMERA_DEV, true, 2000)) TH_LOG("cycle %d: no node", i);
		ASSERT_EQ(pools, bound_count()) TH_LOG("cycle %d: pools not all bound", i);
	}
	slab_after = meminfo_kb("SUnreclaim");
	ksft_print_msg("%d load/unload cycles in %llu ms, unreclaimable slab %+lld KiB\n",
		       CYCLES, (unsigned long long)(now_ms() - start), slab_after - slab_before);
	/* A leak of even one small object per cycle shows up as >= CYCLES * 8 bytes. */
	EXPECT_GT(64, slab_after - slab_before);
}

TEST_HARNESS_MAIN
