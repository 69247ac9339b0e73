// SPDX-License-Identifier: GPL-2.0
/*
 * Each pool of the test board is bound, has its device node and debugfs directory,
 * and reports the region the device tree describes, as the kernel's CMA core sees it.
 */
#include "cmabuf_util.h"
#include "kselftest_harness.h"

FIXTURE(pool) {
	char dev_path[128];
};

FIXTURE_VARIANT(pool) {
	const char *name;	/* /dev/cmabuf-<name> */
	const char *device;	/* platform device (DT node) name */
	const char *region;	/* reserved-memory node */
	const char *overlay;	/* a test board's only: what declares it */
};

FIXTURE_VARIANT_ADD(pool, camera) {
	.name = "camera", .device = "cmabuf-camera", .region = "camera-pool@58000000",
};

FIXTURE_VARIANT_ADD(pool, display) {
	.name = "display", .device = "cmabuf-display", .region = "display-pool@5c000000",
};

/* No label in the DT: the name comes from the region's node name. */
FIXTURE_VARIANT_ADD(pool, spare) {
	.name = "spare-pool", .device = "cmabuf-spare", .region = "spare-pool@5e000000",
	.overlay = "dts/test-regions.dtso and dts/test-consumers.dtso",
};

FIXTURE_SETUP(pool)
{
	if (variant->overlay)
		SKIP_WITHOUT_POOL(variant->name, variant->overlay);
	snprintf(self->dev_path, sizeof(self->dev_path), "/dev/cmabuf-%s", variant->name);
}

FIXTURE_TEARDOWN(pool)
{
}

TEST_F(pool, device_node_is_char_dev_0660)
{
	struct stat st;

	ASSERT_EQ(0, stat(self->dev_path, &st)) TH_LOG("%s: %s", self->dev_path, strerror(errno));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0660U, st.st_mode & 07777) TH_LOG("mode is %o", st.st_mode & 07777);
	EXPECT_EQ(0U, st.st_uid);
}

TEST_F(pool, device_opens_and_closes)
{
	int fd = open(self->dev_path, O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd) TH_LOG("open %s: %s", self->dev_path, strerror(errno));
	EXPECT_EQ(0, close(fd));
}

TEST_F(pool, bound_to_cmabuf_driver)
{
	char path[256];

	snprintf(path, sizeof(path), CMABUF_DRIVER_DIR "/%s", variant->device);
	EXPECT_TRUE(path_exists(path)) TH_LOG("%s is not bound", variant->device);
	/* What SKIP_WITHOUT_POOL relies on to tell a missing pool from a failed one. */
	EXPECT_TRUE(dt_declares_pool(variant->name));
	EXPECT_FALSE(dt_declares_pool("no-such-pool"));
}

TEST_F(pool, debugfs_info_matches_device_tree)
{
	char path[256], info[1024], region_path[160];
	uint64_t base, size;

	snprintf(region_path, sizeof(region_path), "reserved-memory/%s", variant->region);
	ASSERT_EQ(0, dt_reg(region_path, &base, &size));
	snprintf(path, sizeof(path), CMABUF_DEBUGFS "/%s/info", variant->name);
	ASSERT_LT(0, read_text(path, info, sizeof(info))) TH_LOG("cannot read %s", path);
	EXPECT_EQ((long long)base, text_field(info, "base"));
	EXPECT_EQ((long long)size, text_field(info, "size"));
	EXPECT_NE(NULL, strstr(info, variant->region)) TH_LOG("info:\n%s", info);
}

TEST_F(pool, cma_sysfs_size_matches_device_tree)
{
	char path[256], text[64], region_path[160];
	uint64_t base, size;

	snprintf(region_path, sizeof(region_path), "reserved-memory/%s", variant->region);
	ASSERT_EQ(0, dt_reg(region_path, &base, &size));
	snprintf(path, sizeof(path), "/sys/kernel/mm/cma/%s/total_pages", variant->region);
	ASSERT_LT(0, read_text(path, text, sizeof(text))) TH_LOG("no CMA area %s", path);
	EXPECT_EQ(size, strtoull(text, NULL, 0) * (uint64_t)getpagesize());
}

TEST(cma_total_counts_every_pool)
{
	const char *regions[] = { "camera-pool@58000000", "display-pool@5c000000",
				  "spare-pool@5e000000" };
	uint64_t base, size, sum = 0;
	char path[160];
	size_t i;

	for (i = 0; i < sizeof(regions) / sizeof(regions[0]); i++) {
		snprintf(path, sizeof(path), "reserved-memory/%s", regions[i]);
		ASSERT_EQ(0, dt_reg(path, &base, &size));
		sum += size;
	}
	EXPECT_LE((long long)(sum >> 10), meminfo_kb("CmaTotal"));
}

/* The Rust KUnit suites ran when the module loaded; their verdicts are in debugfs. */
FIXTURE(kunit) {
};

FIXTURE_VARIANT(kunit) {
	const char *suite;
};

FIXTURE_VARIANT_ADD(kunit, region) {
	.suite = "cmabuf_region",
};

FIXTURE_VARIANT_ADD(kunit, uapi) {
	.suite = "cmabuf_uapi",
};

FIXTURE_VARIANT_ADD(kunit, allocator) {
	.suite = "cmabuf_allocator",
};

FIXTURE_VARIANT_ADD(kunit, ledger) {
	.suite = "cmabuf_ledger",
};

FIXTURE_VARIANT_ADD(kunit, places) {
	.suite = "cmabuf_places",
};

FIXTURE_VARIANT_ADD(kunit, arena) {
	.suite = "cmabuf_arena",
};

FIXTURE_VARIANT_ADD(kunit, query) {
	.suite = "cmabuf_query",
};

FIXTURE_VARIANT_ADD(kunit, stats) {
	.suite = "cmabuf_stats",
};

FIXTURE_VARIANT_ADD(kunit, decimal) {
	.suite = "cmabuf_decimal",
};

FIXTURE_VARIANT_ADD(kunit, mapping) {
	.suite = "cmabuf_mapping",
};

FIXTURE_SETUP(kunit)
{
}

FIXTURE_TEARDOWN(kunit)
{
}

TEST_F(kunit, suite_passed)
{
	char path[128], results[8192], verdict[64];

	snprintf(path, sizeof(path), "/sys/kernel/debug/kunit/%s/results", variant->suite);
	ASSERT_LT(0, read_text(path, results, sizeof(results)))
		TH_LOG("KUnit suite %s did not run", variant->suite);
	EXPECT_EQ(NULL, strstr(results, "not ok")) TH_LOG("%s", results);
	snprintf(verdict, sizeof(verdict), "ok 1 %s", variant->suite);
	EXPECT_NE(NULL, strstr(results, verdict)) TH_LOG("%s", results);
}

TEST_HARNESS_MAIN
