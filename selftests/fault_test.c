// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection through /sys/kernel/debug/cmabuf/fail_alloc (kernels with
 * CONFIG_FAULT_INJECTION_DEBUG_FS, such as the debug kernel of make check): failed
 * cma_alloc attempts give clean errors, are counted, and leave nothing behind.
 */
#include <sys/wait.h>

#include "cmabuf_util.h"
#include "kselftest_harness.h"

#define FAIL_ALLOC CMABUF_DEBUGFS "/fail_alloc"

static void inject(const char *probability, const char *times)
{
	write_text(FAIL_ALLOC "/interval", "1");
	write_text(FAIL_ALLOC "/verbose", "0");
	write_text(FAIL_ALLOC "/times", times);
	write_text(FAIL_ALLOC "/probability", probability);
}

FIXTURE(fault) {
	int pool;
};

FIXTURE_SETUP(fault)
{
	if (!path_exists(FAIL_ALLOC))
		SKIP(return, "no fault injection in this kernel (CONFIG_FAULT_INJECTION_DEBUG_FS)");
	self->pool = pool_open("camera");
	ASSERT_LE(0, self->pool);
}

FIXTURE_TEARDOWN(fault)
{
	if (!path_exists(FAIL_ALLOC))
		return;
	inject("0", "0");
	EXPECT_TRUE(wait_used(self->pool, 0, 1000));
	close(self->pool);
}

/* Every attempt fails: EBUSY after the three tries; the next allocation works. */
TEST_F(fault, failed_attempts_give_ebusy_and_count)
{
	long long before = info_value("camera", "failures_ebusy_migration");
	int buf;

	inject("100", "3");
	EXPECT_EQ(-EBUSY, buf_alloc_rw(self->pool, 1 << 20));
	EXPECT_EQ(before + 1, info_value("camera", "failures_ebusy_migration"));
	EXPECT_EQ(0, pool_used(self->pool));
	buf = buf_alloc_rw(self->pool, 1 << 20);
	EXPECT_LE(0, buf) TH_LOG("after the injected failures ran out: %s", strerror(-buf));
	if (buf >= 0)
		close(buf);
}

/* Random failures among many allocations: every one succeeds or fails cleanly. */
TEST_F(fault, random_failures_leave_nothing_behind)
{
	int i, ok = 0, failed = 0, other = 0;

	inject("30", "-1");
	for (i = 0; i < 300; i++) {
		int buf = buf_alloc_rw(self->pool, (i % 16 + 1) * 65536);

		if (buf >= 0) {
			ok++;
			close(buf);
		} else if (buf == -EBUSY) {
			failed++;
		} else {
			other++;
		}
	}
	inject("0", "0");
	ksft_print_msg("300 allocations with 30%% of attempts failing: %d succeeded, %d EBUSY\n",
		       ok, failed);
	EXPECT_EQ(0, other);
	EXPECT_LT(0, ok);
	EXPECT_LT(0, failed);
	EXPECT_EQ(0, pool_used(self->pool));
}

#define FAILSLAB "/sys/kernel/debug/failslab"
#define FAIL_PAGE_ALLOC "/sys/kernel/debug/fail_page_alloc"

/* This thread's fail-nth file. */
static const char *fail_nth_path(void)
{
	static char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth", (long)syscall(SYS_gettid));
	return path;
}

/* Sets fail-nth of this thread: its nth fault-injection point from now fails. */
static int fail_nth(int n)
{
	char text[16];

	snprintf(text, sizeof(text), "%d", n);
	return write_text(fail_nth_path(), text);
}

/* What is left of fail-nth: 0 once the fault was injected, else how far it was. */
static int fail_nth_left(void)
{
	char text[16];

	return read_text(fail_nth_path(), text, sizeof(text)) > 0 ? atoi(text) : -1;
}

#define NOT_INJECTED 200

/*
 * record_enomem: every memory allocation on ALLOC's path fails in turn (fail-nth, with
 * failslab and fail_page_alloc taking GFP_KERNEL allocations too): each try succeeds or
 * fails cleanly, nothing hangs (a failure while recording the buffer deadlocked the
 * pool on its own lock), nothing is left charged.
 */
FIXTURE(enomem) {
};

FIXTURE_SETUP(enomem)
{
}

FIXTURE_TEARDOWN(enomem)
{
}

/* A module reload per fault point: minutes on the debug kernel. */
TEST_F_TIMEOUT(enomem, record_enomem, 900)
{
	int pool, n, buf, status, err, ok = 0, failed = 0;
	pid_t pid;

	if (!path_exists(FAILSLAB))
		SKIP(return, "no CONFIG_FAILSLAB in this kernel");
	ASSERT_EQ(0, write_text(FAILSLAB "/ignore-gfp-wait", "N"));
	ASSERT_EQ(0, write_text(FAILSLAB "/verbose", "0"));
	if (path_exists(FAIL_PAGE_ALLOC)) {
		write_text(FAIL_PAGE_ALLOC "/ignore-gfp-wait", "N");
		write_text(FAIL_PAGE_ALLOC "/ignore-gfp-highmem", "N");
		write_text(FAIL_PAGE_ALLOC "/min-order", "0");
		write_text(FAIL_PAGE_ALLOC "/verbose", "0");
	}
	for (n = 1; n <= 200; n++) {
		uint64_t end;

		/* A fresh module each time: its lists are empty, so every one of them
		 * allocates on the way (a warm list would not). */
		ASSERT_EQ(0, module_reload("")) TH_LOG("reload before fault point %d", n);
		write_text(FAIL_ALLOC "/verbose", "0");
		pool = pool_open("camera");
		ASSERT_LE(0, pool);
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			int left;

			fail_nth(n);
			buf = buf_alloc_rw(pool, 1 << 20);
			left = fail_nth_left();
			_exit(left != 0 ? NOT_INJECTED : buf >= 0 ? 0 : -buf);
		}
		end = now_ms() + 20000;
		while (waitpid(pid, &status, WNOHANG) == 0 && now_ms() < end)
			usleep(2000);
		ASSERT_TRUE(now_ms() < end) TH_LOG("ALLOC hung with fault point %d failing", n);
		ASSERT_TRUE(WIFEXITED(status)) TH_LOG("fault point %d failing: status %#x", n, status);
		err = WEXITSTATUS(status);
		/* Past the last fault-injection point of ALLOC: every one was tried. */
		if (err == NOT_INJECTED) {
			close(pool);
			break;
		}
		/* No memory, or what a failed migration or allocation attempt says; or
		 * the failure was absorbed (statistics left out) and the buffer made. */
		EXPECT_TRUE(err == 0 || err == ENOMEM || err == EBUSY || err == EINTR)
			TH_LOG("fault point %d failing: %s", n, strerror(err));
		if (err == 0)
			ok++;
		else
			failed++;
		EXPECT_TRUE(wait_used(pool, 0, 2000)) TH_LOG("fault point %d failing left %lld used",
							    n, pool_used(pool));
		EXPECT_EQ(0, info_value("camera", "buffers"));
		close(pool);
	}
	TH_LOG("%d fault points: %d failed ALLOC cleanly, %d were absorbed", n - 1, failed, ok);
	EXPECT_GT(200, n) TH_LOG("more than 200 fault points?");
	EXPECT_LT(3, failed);
	write_text(FAILSLAB "/ignore-gfp-wait", "Y");
	if (path_exists(FAIL_PAGE_ALLOC))
		write_text(FAIL_PAGE_ALLOC "/ignore-gfp-wait", "Y");
}

TEST_HARNESS_MAIN
