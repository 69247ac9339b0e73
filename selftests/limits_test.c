// SPDX-License-Identifier: GPL-2.0
/*
 * Limits: per pool and per process from the device tree and from module parameters,
 * and the dmem cgroup controller's dmem.max. Each refusal is EDQUOT with a kernel log
 * line naming the limit, and frees what it took.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cmabuf_util.h"
#include "kselftest_harness.h"

#define MiB (1024ULL * 1024)
#define CGROUP "/sys/fs/cgroup"
#define TEST_CGROUP CGROUP "/cmabuf_test"

/* cmabuf-spare: cmabuf,max-buffers = <2>, cmabuf,max-process-bytes = 6 MiB. */
TEST(device_tree_limits)
{
	int pool = pool_open("spare-pool"), a, b, c;
	struct cmabuf_pool_info info;

	ASSERT_LE(0, pool);
	ASSERT_EQ(0, pool_info(pool, &info));
	EXPECT_EQ(2, info.max_buffers);
	EXPECT_EQ(6 * MiB, info.max_process_bytes);
	EXPECT_EQ(0, info.max_bytes);

	a = buf_alloc_rw(pool, 4 * MiB);
	ASSERT_LE(0, a);
	b = buf_alloc_rw(pool, 4 * MiB);
	EXPECT_EQ(-EDQUOT, b) TH_LOG("8 MiB for one process passed a 6 MiB limit");
	EXPECT_TRUE(klog_contains("spare-pool: pid ") &&
		    klog_contains("limit of 6291456 reached (DT cmabuf,max-process-bytes"));
	b = buf_alloc_rw(pool, MiB);
	ASSERT_LE(0, b);
	c = buf_alloc_rw(pool, 4096);
	EXPECT_EQ(-EDQUOT, c) TH_LOG("a third buffer passed max-buffers = 2");
	EXPECT_TRUE(klog_contains("limit of 2 reached (DT cmabuf,max-buffers"));
	EXPECT_EQ(5 * MiB, pool_used(pool)) TH_LOG("a refused request kept memory");
	close(a);
	close(b);
	EXPECT_TRUE(wait_used(pool, 0, 1000));
	close(pool);
}

/* Another process has a budget of its own. */
TEST(process_limit_is_per_process)
{
	int pool = pool_open("spare-pool"), a, status;
	pid_t pid;

	ASSERT_LE(0, pool);
	a = buf_alloc_rw(pool, 6 * MiB);
	ASSERT_LE(0, a);
	EXPECT_EQ(-EDQUOT, buf_alloc_rw(pool, 4096));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(buf_alloc_rw(pool, MiB) >= 0 ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(a);
	EXPECT_TRUE(wait_used(pool, 0, 1000));
	close(pool);
}

TEST(module_parameters_override_limits)
{
	int pool, bufs[4], i;
	struct cmabuf_pool_info info;

	ASSERT_EQ(0, module_reload("max_buffers=3 max_process_bytes=8388608"));
	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	ASSERT_EQ(0, pool_info(pool, &info));
	EXPECT_EQ(3, info.max_buffers);
	EXPECT_EQ(8 * MiB, info.max_process_bytes);

	bufs[0] = buf_alloc_rw(pool, 4 * MiB);
	bufs[1] = buf_alloc_rw(pool, 4 * MiB);
	EXPECT_LE(0, bufs[0]);
	EXPECT_LE(0, bufs[1]);
	EXPECT_EQ(-EDQUOT, buf_alloc_rw(pool, 4096));
	EXPECT_TRUE(klog_contains("module parameter max_process_bytes)"));
	close(bufs[1]);
	for (i = 1; i < 3; i++)
		bufs[i] = buf_alloc_rw(pool, 4096);
	EXPECT_LE(0, bufs[2]);
	bufs[3] = buf_alloc_rw(pool, 4096);
	EXPECT_EQ(-EDQUOT, bufs[3]);
	EXPECT_TRUE(klog_contains("module parameter max_buffers)"));
	for (i = 0; i < 3; i++)
		if (bufs[i] >= 0)
			close(bufs[i]);
	EXPECT_TRUE(wait_used(pool, 0, 1000));
	close(pool);
	ASSERT_EQ(0, module_reload(""));
}

static long long dmem_value(const char *file, const char *region)
{
	char text[4096], *line;
	size_t len = strlen(region);

	if (read_text(file, text, sizeof(text)) < 0)
		return -1;
	for (line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (!strncmp(line, region, len) && line[len] == ' ')
			return strtoll(line + len + 1, NULL, 0);
	return -1;
}

/* The root shows dmem.capacity once the controller is enabled below it. */
TEST(pool_is_a_dmem_cgroup_region)
{
	ASSERT_EQ(0, write_text(CGROUP "/cgroup.subtree_control", "+dmem"));
	EXPECT_EQ(64 * MiB, dmem_value(CGROUP "/dmem.capacity", "cmabuf/camera"));
	EXPECT_EQ(32 * MiB, dmem_value(CGROUP "/dmem.capacity", "cmabuf/display"));
}

/* A child in a cgroup with dmem.max = 4 MiB on camera gets 2 MiB, not 4 more. */
TEST(dmem_max_limits_a_cgroup)
{
	int pool = pool_open("camera"), status, report[2];
	long long charged = -1;
	pid_t pid;
	char pidtext[32];

	ASSERT_LE(0, pool);
	ASSERT_EQ(0, write_text(CGROUP "/cgroup.subtree_control", "+dmem"));
	rmdir(TEST_CGROUP);
	ASSERT_EQ(0, mkdir(TEST_CGROUP, 0755));
	ASSERT_EQ(0, write_text(TEST_CGROUP "/dmem.max", "cmabuf/camera 4194304"));
	ASSERT_EQ(0, pipe(report));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int a, b;

		snprintf(pidtext, sizeof(pidtext), "%d", getpid());
		if (write_text(TEST_CGROUP "/cgroup.procs", pidtext))
			_exit(2);
		a = buf_alloc_rw(pool, 2 * MiB);
		b = buf_alloc_rw(pool, 4 * MiB);
		charged = dmem_value(TEST_CGROUP "/dmem.current", "cmabuf/camera");
		if (write(report[1], &charged, sizeof(charged)) != sizeof(charged))
			_exit(3);
		_exit(a >= 0 && b == -EDQUOT ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) TH_LOG("child: %d", status);
	ASSERT_EQ(sizeof(charged), read(report[0], &charged, sizeof(charged)));
	EXPECT_EQ(2 * MiB, charged);
	EXPECT_TRUE(klog_contains("camera: pid ") && klog_contains("dmem.max of its cgroup"));
	EXPECT_TRUE(wait_used(pool, 0, 1000));
	EXPECT_EQ(0, dmem_value(TEST_CGROUP "/dmem.current", "cmabuf/camera"));
	EXPECT_EQ(0, rmdir(TEST_CGROUP));
	close(report[0]);
	close(report[1]);
	close(pool);
}

TEST_HARNESS_MAIN
