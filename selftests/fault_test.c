// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection through /sys/kernel/debug/cmabuf/fail_alloc (kernels with
 * CONFIG_FAULT_INJECTION_DEBUG_FS, such as the debug kernel of make check): failed
 * cma_alloc attempts give clean errors, are counted, and leave nothing behind.
 */
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

TEST_HARNESS_MAIN
