// SPDX-License-Identifier: GPL-2.0
/*
 * Limits: per pool and per process from the device tree and from module parameters,
 * and the dmem cgroup controller's dmem.max. Each refusal is EDQUOT with a kernel log
 * line naming the limit, and frees what it took.
 */
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "cmabuf_util.h"
#include "dmem_util.h"
#include "kselftest_harness.h"

#define CGROUP CGROUP_ROOT
#define TEST_CGROUP CGROUP "/cmabuf_test"
/* The test board's pool with limits in the device tree (cmabuf-spare). */
#define SPARE_OVERLAYS "dts/test-regions.dtso and dts/test-consumers.dtso"

/* cmabuf-spare: cmabuf,max-buffers = <2>, cmabuf,max-process-bytes = 6 MiB. */
TEST(device_tree_limits)
{
	struct cmabuf_pool_info info;
	int pool, a, b, c;

	SKIP_WITHOUT_POOL("spare-pool", SPARE_OVERLAYS);
	pool = pool_open("spare-pool");
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
	int pool, a, status;
	pid_t pid;

	SKIP_WITHOUT_POOL("spare-pool", SPARE_OVERLAYS);
	pool = pool_open("spare-pool");
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

/* A fresh TEST_CGROUP, with the dmem controller on, limited to max ("region bytes"). */
static int dmem_test_cgroup(const char *max)
{
	return dmem_cgroup_create(TEST_CGROUP, max);
}

/* Moves the calling process into TEST_CGROUP. */
static int join_test_cgroup(void)
{
	return cgroup_join(TEST_CGROUP, getpid());
}

/*
 * The root shows dmem.capacity once the controller is enabled below it. Each pool's
 * region is its CMA area's, named as the upstream CMA dmem proposal names it:
 * cma/<area> (the area being the pool's cma_area in debugfs), not cmabuf/<pool>.
 */
TEST(pool_is_a_dmem_cgroup_region)
{
	char text[4096];

	ASSERT_EQ(0, write_text(CGROUP "/cgroup.subtree_control", "+dmem"));
	EXPECT_EQ(64 * MiB, dmem_value(CGROUP "/dmem.capacity", CAMERA_REGION));
	EXPECT_EQ(32 * MiB, dmem_value(CGROUP "/dmem.capacity", "cma/display-pool@5c000000"));
	EXPECT_LT(0, read_text(CMABUF_DEBUGFS "/camera/info", text, sizeof(text)));
	EXPECT_NE(NULL, strstr(text, "\ncma_area: camera-pool@58000000\n"));
	EXPECT_LT(0, read_text(CGROUP "/dmem.capacity", text, sizeof(text)));
	EXPECT_EQ(NULL, strstr(text, "cmabuf/")) TH_LOG("an old-style region: %s", text);
}

/* A child in a cgroup with dmem.max = 4 MiB on camera gets 2 MiB, not 4 more. */
TEST(dmem_max_limits_a_cgroup)
{
	int pool = pool_open("camera"), status, report[2];
	long long charged = -1;
	pid_t pid;

	ASSERT_LE(0, pool);
	ASSERT_EQ(0, dmem_test_cgroup(CAMERA_REGION " 4194304"));
	ASSERT_EQ(0, pipe(report));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int a, b;

		if (join_test_cgroup())
			_exit(2);
		a = buf_alloc_rw(pool, 2 * MiB);
		b = buf_alloc_rw(pool, 4 * MiB);
		charged = dmem_value(TEST_CGROUP "/dmem.current", CAMERA_REGION);
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
	EXPECT_EQ(0, dmem_value(TEST_CGROUP "/dmem.current", CAMERA_REGION));
	EXPECT_EQ(0, rmdir(TEST_CGROUP));
	close(report[0]);
	close(report[1]);
	close(pool);
}

/* Maps buf (size bytes) and vmsplices the mapping into a new pipe: the pipe then holds
 * references to the buffer's pages. 0 or -1. */
static int strand_in_pipe(int buf, size_t size, int pipefd[2])
{
	struct iovec iov;
	void *p;
	int ret = -1;

	if (pipe(pipefd))
		return -1;
	if ((size_t)fcntl(pipefd[1], F_SETPIPE_SZ, size) < size)
		goto out;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	if (p == MAP_FAILED)
		goto out;
	memset(p, 0x5a, size);
	iov = (struct iovec){ .iov_base = p, .iov_len = size };
	ret = vmsplice(pipefd[1], &iov, 1, 0) == (ssize_t)size ? 0 : -1;
	munmap(p, size);
out:
	if (ret) {
		close(pipefd[0]);
		close(pipefd[1]);
	}
	return ret;
}

static void close_pipe(int pipefd[2])
{
	close(pipefd[0]);
	close(pipefd[1]);
}

/*
 * strand_limit: a buffer freed while a pipe holds its pages stays charged to its owner
 * until the pipe lets go: alloc -> mmap -> vmsplice -> free in a loop cannot take more
 * than the process's budget (it took the whole pool before: issue 13, item 1).
 */
TEST(strand_limit)
{
	int pool, pipes[8][2], n = 0, i, buf, err = 0;
	char text[8192], line[64];

	ASSERT_EQ(0, module_reload("max_process_bytes=1048576"));
	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	for (i = 0; i < 8; i++) {
		buf = buf_alloc_rw(pool, MiB);
		if (buf < 0) {
			err = buf;
			break;
		}
		ASSERT_EQ(0, strand_in_pipe(buf, MiB, pipes[n]));
		n++;
		close(buf);
	}
	EXPECT_EQ(1, n) TH_LOG("one process got %d x 1 MiB past a 1 MiB limit", n);
	EXPECT_EQ(-EDQUOT, err);
	EXPECT_EQ((long long)n * MiB, pool_used(pool));
	EXPECT_EQ(n, info_value("camera", "stranded_buffers"));
	/* debugfs lists the stranded buffer with its owner. */
	ASSERT_LT(0, read_text(CMABUF_DEBUGFS "/camera/buffers", text, sizeof(text)));
	snprintf(line, sizeof(line), "%d  limits_test", getpid());
	EXPECT_NE(NULL, strstr(text, line)) TH_LOG("%s", text);
	EXPECT_NE(NULL, strstr(text, " stranded ")) TH_LOG("%s", text);
	/* Once the pipes let go the budget is back. */
	for (i = 0; i < n; i++)
		close_pipe(pipes[i]);
	buf = buf_alloc_rw(pool, MiB);
	EXPECT_LE(0, buf) TH_LOG("budget not back after the pipes let go: %d", buf);
	if (buf >= 0)
		close(buf);
	EXPECT_TRUE(wait_used(pool, 0, 2000));
	EXPECT_EQ(0, info_value("camera", "stranded_buffers"));
	close(pool);
	ASSERT_EQ(0, module_reload(""));
}

/* strand_limit, the cgroup's side: a stranded buffer stays in dmem.current. */
TEST(strand_limit_dmem)
{
	int pool = pool_open("camera"), status, report[2];
	long long charged[2] = { -1, -1 };
	pid_t pid;

	ASSERT_LE(0, pool);
	ASSERT_EQ(0, dmem_test_cgroup(CAMERA_REGION " 1048576"));
	ASSERT_EQ(0, pipe(report));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int a, b, p[2];

		if (join_test_cgroup())
			_exit(2);
		a = buf_alloc_rw(pool, MiB);
		if (a < 0 || strand_in_pipe(a, MiB, p))
			_exit(3);
		close(a);
		charged[0] = dmem_value(TEST_CGROUP "/dmem.current", CAMERA_REGION);
		b = buf_alloc_rw(pool, MiB);
		close_pipe(p);
		/* Let go: the next allocation gives the stranded pages back first. */
		a = buf_alloc_rw(pool, MiB);
		charged[1] = dmem_value(TEST_CGROUP "/dmem.current", CAMERA_REGION);
		if (write(report[1], charged, sizeof(charged)) != sizeof(charged))
			_exit(4);
		_exit(b == -EDQUOT && a >= 0 ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) TH_LOG("child: %d", status);
	ASSERT_EQ(sizeof(charged), read(report[0], charged, sizeof(charged)));
	EXPECT_EQ(MiB, charged[0]) TH_LOG("a stranded buffer left dmem.current");
	EXPECT_EQ(MiB, charged[1]);
	EXPECT_TRUE(wait_used(pool, 0, 2000));
	EXPECT_EQ(0, dmem_value(TEST_CGROUP "/dmem.current", CAMERA_REGION));
	EXPECT_EQ(0, rmdir(TEST_CGROUP));
	close(report[0]);
	close(report[1]);
	close(pool);
}

/*
 * In a new pid namespace whose pid 1 allocates want bytes and keeps them until
 * release[1] is closed; returns that process's pid as it sees it (1) or -errno.
 */
static int alloc_in_new_pidns(int pool, uint64_t want, int release[2])
{
	int report[2], status, got = -1;
	pid_t pid;

	if (pipe(report))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		pid_t inner;

		close(release[1]);
		if (unshare(CLONE_NEWPID))
			_exit(2);
		inner = fork();
		if (inner == 0) {
			int buf = buf_alloc_rw(pool, want), r = buf < 0 ? buf : getpid();
			char c;

			if (write(report[1], &r, sizeof(r)) != sizeof(r))
				_exit(3);
			/* Keep the buffer until told to let go. */
			if (read(release[0], &c, 1) < 0)
				_exit(4);
			_exit(0);
		}
		_exit(inner > 0 && waitpid(inner, &status, 0) == inner ? 0 : 5);
	}
	if (read(report[0], &got, sizeof(got)) != sizeof(got))
		got = -1000;
	close(report[0]);
	close(report[1]);
	return got;
}

/*
 * pidns_limits: two containers' pid 1 are two processes, each with its own budget
 * (they shared one when limits were keyed by the pid number in the caller's
 * namespace).
 */
TEST(pidns_limits)
{
	int pool, release[2], first, second;

	ASSERT_EQ(0, module_reload("max_process_bytes=4194304"));
	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	ASSERT_EQ(0, pipe(release));
	first = alloc_in_new_pidns(pool, 4 * MiB, release);
	second = alloc_in_new_pidns(pool, 4 * MiB, release);
	EXPECT_EQ(1, first) TH_LOG("first container: %d", first);
	EXPECT_EQ(1, second) TH_LOG("the second container's pid 1 was refused: %d", second);
	EXPECT_EQ(8 * MiB, pool_used(pool));
	close(release[1]);
	close(release[0]);
	while (wait(NULL) > 0)
		;
	EXPECT_TRUE(wait_used(pool, 0, 2000));
	close(pool);
	ASSERT_EQ(0, module_reload(""));
}

static int prepare(int pool, uint64_t size, uint32_t count, uint32_t timeout_ms)
{
	struct cmabuf_prepare req = { .size = size, .count = count, .timeout_ms = timeout_ms };

	return ioctl(pool, CMABUF_IOC_PREPARE, &req) ? -errno : 0;
}

/*
 * prepare_limits: what PREPARE evacuates is charged to the caller (process budget, pool
 * limits, cgroup) until it allocates it or it expires; only the caller's allocations
 * take it. It bypassed every limit before (issue 13, item 4).
 */
TEST(prepare_limits)
{
	int pool, buf, status;
	pid_t pid;

	ASSERT_EQ(0, module_reload("max_process_bytes=4194304"));
	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	EXPECT_EQ(-EDQUOT, prepare(pool, MiB, 8, 60000)) TH_LOG("8 MiB prepared past 4 MiB");
	EXPECT_EQ(0, info_value("camera", "prepared")) TH_LOG("a refused PREPARE kept runs");
	ASSERT_EQ(0, prepare(pool, MiB, 4, 60000));
	EXPECT_EQ(4 * MiB, pool_used(pool)) TH_LOG("prepared runs are charged");
	EXPECT_EQ(-EDQUOT, buf_alloc_rw(pool, 2 * MiB)) TH_LOG("budget spent on prepared runs");
	/* Another process neither takes them nor pays for them. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int b = buf_alloc_rw(pool, MiB);

		_exit(b >= 0 && info_value("camera", "prepared") == 4 * MiB ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The caller's allocation takes one: the charge moves, nothing is added. */
	buf = buf_alloc_rw(pool, MiB);
	EXPECT_LE(0, buf);
	EXPECT_EQ(3 * MiB, info_value("camera", "prepared"));
	EXPECT_TRUE(wait_used(pool, 4 * MiB, 1000)) TH_LOG("used %lld", pool_used(pool));
	if (buf >= 0)
		close(buf);
	ASSERT_EQ(0, write_text(CMABUF_DEBUGFS "/camera/cache", "drop"));
	EXPECT_TRUE(wait_used(pool, 0, 1000)) TH_LOG("dropped prepared runs stayed charged");
	close(pool);
	ASSERT_EQ(0, module_reload(""));
}

/* prepare_limits, the cgroup's side: prepared runs count in dmem.current. */
TEST(prepare_limits_dmem)
{
	int pool = pool_open("camera"), status;
	pid_t pid;

	ASSERT_LE(0, pool);
	ASSERT_EQ(0, dmem_test_cgroup(CAMERA_REGION " 2097152"));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int over, ok;
		long long charged;

		if (join_test_cgroup())
			_exit(2);
		over = prepare(pool, MiB, 3, 60000);
		ok = prepare(pool, MiB, 2, 60000);
		charged = dmem_value(TEST_CGROUP "/dmem.current", CAMERA_REGION);
		_exit(over == -EDQUOT && ok == 0 && charged == 2 * MiB ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) TH_LOG("child: %d", status);
	ASSERT_EQ(0, write_text(CMABUF_DEBUGFS "/camera/cache", "drop"));
	EXPECT_TRUE(wait_used(pool, 0, 1000));
	EXPECT_EQ(0, dmem_value(TEST_CGROUP "/dmem.current", CAMERA_REGION));
	EXPECT_EQ(0, rmdir(TEST_CGROUP));
	close(pool);
}

TEST_HARNESS_MAIN
