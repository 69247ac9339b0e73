// SPDX-License-Identifier: GPL-2.0
/*
 * cmabuf,pool nodes with device-tree mistakes (dts/test-consumers.dtso): each must stay
 * unbound, say what to fix in one kernel log line, and leave the good pools untouched.
 */
#include "cmabuf_util.h"
#include "kselftest_harness.h"

static bool bound(const char *device)
{
	char path[256];

	snprintf(path, sizeof(path), CMABUF_DRIVER_DIR "/%s", device);
	return path_exists(path);
}

FIXTURE(bad_dt) {
};

FIXTURE_VARIANT(bad_dt) {
	const char *device;	/* DT node = platform device name */
	const char *message;	/* what the kernel log must say */
};

FIXTURE_VARIANT_ADD(bad_dt, no_region) {
	.device = "bad-no-region", .message = "missing or empty 'memory-region'",
};

FIXTURE_VARIANT_ADD(bad_dt, two_regions) {
	.device = "bad-two-regions", .message = "'memory-region' lists 2 regions",
};

FIXTURE_VARIANT_ADD(bad_dt, nomap) {
	.device = "bad-nomap", .message = "memory-region nomap-pool@5e800000 has 'no-map'",
};

FIXTURE_VARIANT_ADD(bad_dt, not_reusable) {
	.device = "bad-not-reusable",
	.message = "memory-region fixed-pool@5ec00000 lacks 'reusable'",
};

FIXTURE_VARIANT_ADD(bad_dt, not_cma) {
	.device = "bad-not-cma",
	.message = "memory-region firmware@5f000000 is not compatible = \"shared-dma-pool\"",
};

FIXTURE_VARIANT_ADD(bad_dt, misaligned) {
	.device = "bad-misaligned",
	.message = "memory-region misaligned-pool@5f100000 was not set up",
};

FIXTURE_VARIANT_ADD(bad_dt, disabled) {
	.device = "bad-disabled",
	.message = "memory-region disabled-pool@5f400000 has status \"disabled\"",
};

FIXTURE_VARIANT_ADD(bad_dt, default_area) {
	.device = "bad-default",
	.message = "memory-region default-pool@5f800000 is the system's default CMA area",
};

FIXTURE_VARIANT_ADD(bad_dt, bad_limit) {
	.device = "bad-limit",
	.message = "'cmabuf,max-bytes' must be one u32 cell or a /bits/ 64 value",
};

FIXTURE_VARIANT_ADD(bad_dt, arena_unaligned) {
	.device = "bad-arena-unaligned",
	.message = "'cmabuf,small-arena-bytes' = 4097 is not a multiple of the page size",
};

FIXTURE_VARIANT_ADD(bad_dt, arena_too_big) {
	.device = "bad-arena-big",
	.message = "'cmabuf,small-arena-bytes' = 4194304 is more than a quarter of the region (8388608 bytes)",
};

FIXTURE_VARIANT_ADD(bad_dt, bad_label) {
	.device = "bad-label", .message = "label \"Not A Name!\" is not a valid pool name",
};

FIXTURE_VARIANT_ADD(bad_dt, bad_heap_name) {
	.device = "bad-heap-name",
	.message = "'cmabuf,heap-name' \"../camera\" is not a valid dma-heap name",
};

FIXTURE_VARIANT_ADD(bad_dt, label_zones) {
	.device = "bad-zones",
	.message = "label \"zones\" names a module-wide file in /sys/kernel/debug/cmabuf",
};

FIXTURE_VARIANT_ADD(bad_dt, label_vmstat) {
	.device = "bad-vmstat",
	.message = "label \"vmstat\" names a module-wide file in /sys/kernel/debug/cmabuf",
};

FIXTURE_VARIANT_ADD(bad_dt, label_mapping) {
	.device = "bad-mapping",
	.message = "label \"mapping\" names a module-wide file in /sys/kernel/debug/cmabuf",
};

FIXTURE_VARIANT_ADD(bad_dt, label_fail_alloc) {
	.device = "bad-fail-alloc",
	.message = "label \"fail_alloc\" names a module-wide file in /sys/kernel/debug/cmabuf",
};

FIXTURE_SETUP(bad_dt)
{
}

FIXTURE_TEARDOWN(bad_dt)
{
}

TEST_F(bad_dt, refused_with_a_clear_message)
{
	char path[256], line[512];

	snprintf(path, sizeof(path), PLATFORM_DEVICES "/%s", variant->device);
	ASSERT_TRUE(path_exists(path)) TH_LOG("no platform device %s: DT overlay missing?",
					      variant->device);
	snprintf(path, sizeof(path), PLATFORM_DEVICES "/%s/driver", variant->device);
	EXPECT_FALSE(path_exists(path)) TH_LOG("%s was bound", variant->device);
	snprintf(line, sizeof(line), "cmabuf %s: %s", variant->device, variant->message);
	EXPECT_TRUE(klog_contains(line)) TH_LOG("kernel log lacks: %s", line);
}

/* Asking again by hand fails the same way and still leaves nothing behind. */
TEST_F(bad_dt, manual_bind_fails_cleanly)
{
	int before = driver_bound_count();

	EXPECT_NE(0, write_text(CMABUF_DRIVER_DIR "/bind", variant->device))
		TH_LOG("binding %s succeeded", variant->device);
	EXPECT_FALSE(bound(variant->device));
	EXPECT_EQ(before, driver_bound_count());
}

/*
 * Two nodes want one thing: probe order picks the winner, so accept either, but
 * exactly one must bind and the other must name it in its refusal.
 */
static int check_conflict(struct __test_metadata *_metadata, const char *a, const char *b,
			  const char *message_fmt)
{
	const char *winner = bound(a) ? a : b, *loser = bound(a) ? b : a;
	char message[256], line[384];

	EXPECT_NE(bound(a), bound(b)) TH_LOG("%s and %s: bound %d and %d", a, b, bound(a),
					     bound(b));
	snprintf(message, sizeof(message), message_fmt, winner);
	snprintf(line, sizeof(line), "cmabuf %s: %s", loser, message);
	EXPECT_TRUE(klog_contains(line)) TH_LOG("kernel log lacks: %s", line);
	return 0;
}

TEST(contested_region_is_served_once)
{
	check_conflict(_metadata, "contest-a", "contest-b",
		       "memory-region contested-pool@60000000 is already served by %s");
	EXPECT_NE(path_exists("/dev/cmabuf-contest-a"), path_exists("/dev/cmabuf-contest-b"));
}

TEST(duplicate_pool_name_is_refused)
{
	check_conflict(_metadata, "twin-a", "twin-b", "pool name \"twin\" is already used by %s");
	EXPECT_TRUE(path_exists("/dev/cmabuf-twin"));
}

/* The refused nodes did not disturb the real pools. */
TEST(good_pools_survive_bad_neighbours)
{
	EXPECT_TRUE(bound("cmabuf-camera"));
	EXPECT_TRUE(bound("cmabuf-display"));
	EXPECT_TRUE(bound("cmabuf-spare"));
	EXPECT_TRUE(path_exists("/dev/cmabuf-camera"));
	EXPECT_TRUE(path_exists("/dev/cmabuf-display"));
	EXPECT_TRUE(path_exists("/dev/cmabuf-spare-pool"));
}

TEST_HARNESS_MAIN
