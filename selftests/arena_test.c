// SPDX-License-Identifier: GPL-2.0
/*
 * The small-buffer arena (module parameter small_arena_bytes, issue 18 part 1): taken
 * at bind at the bottom of each pool, it holds the buffers of at most 64 KiB, first
 * fit, zeroed like any buffer; larger ones, and small ones it cannot hold, are placed
 * by cma_alloc above it. debugfs info shows its occupancy; CMABUF_IOC_QUERY predicts
 * allocations into it exactly; a bad size is refused at load with a reason.
 *
 * Each test loads cmabuf again (its KUnit suites run at every load): on the debug kernel
 * under a loaded TCG host two loads took more than the harness's default 30 s, so each
 * test has RELOAD_TIMEOUT.
 */
#include <sys/mman.h>

#include "cmabuf_util.h"
#include "kselftest_harness.h"

#define ARENA MiB
#define MAX_BUFS 64
#define RELOAD_TIMEOUT 180

/* The camera pool's base (its region's reg). */
static uint64_t camera_base(void)
{
	uint64_t base = 0, size = 0;

	if (dt_reg("reserved-memory/camera-pool@58000000", &base, &size))
		return 0;
	return base;
}

static bool in_arena(int pool, int buf, uint64_t base)
{
	uint64_t phys, size;

	if (buf_phys(pool, buf, &phys, &size))
		return false;
	return phys >= base && phys + size <= base + ARENA;
}

FIXTURE(arena) {
	int pool;
	uint64_t base;
};

FIXTURE_SETUP(arena)
{
	char params[64];

	snprintf(params, sizeof(params), "small_arena_bytes=%llu", ARENA);
	ASSERT_EQ(0, module_reload(params)) TH_LOG("cmabuf did not load with %s", params);
	self->pool = pool_open("camera");
	ASSERT_LE(0, self->pool);
	self->base = camera_base();
	ASSERT_NE(0, self->base) TH_LOG("no camera-pool region in the device tree");
}

FIXTURE_TEARDOWN(arena)
{
	if (self->pool >= 0)
		close(self->pool);
	EXPECT_EQ(0, module_reload(""));
}

/* Small buffers go to the arena at the pool's bottom, larger ones above it. */
TEST_F_TIMEOUT(arena, small_buffers_in_the_arena_others_above, RELOAD_TIMEOUT)
{
	int small = buf_alloc_rw(self->pool, 4 * KiB);
	int meta = buf_alloc_rw(self->pool, 64 * KiB);
	int big = buf_alloc_rw(self->pool, 64 * KiB + 1);
	uint64_t phys, size;

	ASSERT_LE(0, small);
	ASSERT_LE(0, meta);
	ASSERT_LE(0, big);
	EXPECT_EQ((long long)ARENA, info_value("camera", "arena_size"));
	EXPECT_TRUE(in_arena(self->pool, small, self->base));
	EXPECT_TRUE(in_arena(self->pool, meta, self->base));
	ASSERT_EQ(0, buf_phys(self->pool, big, &phys, &size));
	EXPECT_LE(self->base + ARENA, phys) TH_LOG("a 68 KiB buffer went below the arena's end");
	EXPECT_EQ((long long)(68 * KiB), info_value("camera", "arena_used"));
	/* The arena's pages are free for small buffers: POOL_INFO counts them free. */
	EXPECT_EQ((long long)(68 * KiB + 68 * KiB), pool_used(self->pool));
	close(small);
	close(meta);
	close(big);
	ASSERT_TRUE(wait_used(self->pool, 0, 2000));
	EXPECT_EQ(0, info_value("camera", "arena_used"));
	EXPECT_EQ((long long)(68 * KiB), info_value("camera", "arena_peak_used"));
	EXPECT_EQ((long long)ARENA, info_value("camera", "arena_largest_free"));
}

/* A piece of the arena used before is zeroed for its next owner. */
TEST_F_TIMEOUT(arena, reused_piece_is_zeroed, RELOAD_TIMEOUT)
{
	uint64_t first_phys, phys;
	unsigned char *p;
	int buf = buf_alloc_rw(self->pool, 16 * KiB);
	size_t i;

	ASSERT_LE(0, buf);
	ASSERT_EQ(0, buf_phys(self->pool, buf, &first_phys, NULL));
	p = mmap(NULL, 16 * KiB, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0xa5, 16 * KiB);
	munmap(p, 16 * KiB);
	close(buf);
	ASSERT_TRUE(wait_used(self->pool, 0, 2000));

	buf = buf_alloc_rw(self->pool, 16 * KiB);
	ASSERT_LE(0, buf);
	ASSERT_EQ(0, buf_phys(self->pool, buf, &phys, NULL));
	EXPECT_EQ(first_phys, phys) TH_LOG("first fit should give the same piece again");
	p = mmap(NULL, 16 * KiB, PROT_READ, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < 16 * KiB; i++)
		if (p[i])
			break;
	EXPECT_EQ(16 * KiB, i) TH_LOG("byte %zu of the reused piece is %#x", i, p[i]);
	munmap(p, 16 * KiB);
	close(buf);
}

/* A full arena sends small buffers to cma_alloc, counted as overflows. */
TEST_F_TIMEOUT(arena, full_arena_overflows_to_the_area, RELOAD_TIMEOUT)
{
	int bufs[MAX_BUFS], n, extra;
	uint64_t phys;

	for (n = 0; n < (int)(ARENA / (64 * KiB)); n++) {
		bufs[n] = buf_alloc_rw(self->pool, 64 * KiB);
		ASSERT_LE(0, bufs[n]);
		EXPECT_TRUE(in_arena(self->pool, bufs[n], self->base));
	}
	EXPECT_EQ(0, info_value("camera", "arena_largest_free"));
	EXPECT_EQ(0, info_value("camera", "arena_overflows"));
	extra = buf_alloc_rw(self->pool, 4 * KiB);
	ASSERT_LE(0, extra);
	ASSERT_EQ(0, buf_phys(self->pool, extra, &phys, NULL));
	EXPECT_LE(self->base + ARENA, phys);
	EXPECT_EQ(1, info_value("camera", "arena_overflows"));
	close(extra);
	while (n > 0)
		close(bufs[--n]);
	ASSERT_TRUE(wait_used(self->pool, 0, 2000));
	EXPECT_EQ(0, info_value("camera", "arena_used"));
}

/*
 * CMABUF_IOC_QUERY plays small allocations through the arena, exactly as ALLOC does:
 * with the rest of the pool taken by one buffer, 16 of 64 KiB fit (the arena's 1 MiB),
 * the 17th finds no room.
 */
TEST_F_TIMEOUT(arena, query_predicts_the_arena, RELOAD_TIMEOUT)
{
	struct cmabuf_query q = { .size = 64 * KiB, .count = 20 };
	int bufs[MAX_BUFS], n, err = 0, frame;
	long long migrated;

	frame = buf_alloc_rw(self->pool, 64 * MiB - ARENA);
	ASSERT_LE(0, frame) TH_LOG("the pool above the arena: %s", strerror(-frame));
	migrated = info_value("camera", "migrated_pages");
	ASSERT_EQ(0, ioctl(self->pool, CMABUF_IOC_QUERY, &q));
	EXPECT_EQ(16, q.fit);
	EXPECT_EQ(16, q.fit_without_migration);
	EXPECT_EQ(ENOMEM, q.stop_errno);
	for (n = 0; n < 20; n++) {
		bufs[n] = buf_alloc_rw(self->pool, 64 * KiB);
		if (bufs[n] < 0) {
			err = -bufs[n];
			break;
		}
		EXPECT_TRUE(in_arena(self->pool, bufs[n], self->base));
	}
	EXPECT_EQ((int)q.fit, n);
	EXPECT_EQ(q.stop_errno, err);
	EXPECT_EQ((long long)q.pages_to_move, info_value("camera", "migrated_pages") - migrated);
	while (n > 0)
		close(bufs[--n]);
	close(frame);
	ASSERT_TRUE(wait_used(self->pool, 0, 2000));
}

/* Tests that load cmabuf with parameters of their own: loaded as by default after. */
FIXTURE(load) {
	int unused;
};

FIXTURE_SETUP(load)
{
}

FIXTURE_TEARDOWN(load)
{
	EXPECT_EQ(0, module_reload(""));
}

/* Limits hold in the arena, and the query says where they stop it. */
TEST_F_TIMEOUT(load, limits_hold_in_the_arena, RELOAD_TIMEOUT)
{
	struct cmabuf_query q = { .size = 8 * KiB, .count = 5 };
	int pool, bufs[4], n, ret;

	ASSERT_EQ(0, module_reload("small_arena_bytes=1048576 max_buffers=3"));
	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	ASSERT_EQ(0, ioctl(pool, CMABUF_IOC_QUERY, &q));
	EXPECT_EQ(3, q.fit);
	EXPECT_EQ(EDQUOT, q.stop_errno);
	for (n = 0; n < 3; n++) {
		bufs[n] = buf_alloc_rw(pool, 8 * KiB);
		ASSERT_LE(0, bufs[n]);
	}
	ret = buf_alloc_rw(pool, 8 * KiB);
	EXPECT_EQ(-EDQUOT, ret);
	if (ret >= 0)
		close(ret);
	EXPECT_EQ((long long)(24 * KiB), info_value("camera", "arena_used"));
	while (n > 0)
		close(bufs[--n]);
	close(pool);
}

/* debugfs lists a piece of the arena with its own size and place. */
TEST_F_TIMEOUT(arena, debugfs_lists_pieces, RELOAD_TIMEOUT)
{
	char text[8192], want[64];
	uint64_t phys;
	int buf = buf_alloc_rw(self->pool, 12 * KiB);

	ASSERT_LE(0, buf);
	ASSERT_EQ(0, buf_phys(self->pool, buf, &phys, NULL));
	ASSERT_LT(0, read_text(CMABUF_DEBUGFS "/camera/buffers", text, sizeof(text)));
	snprintf(want, sizeof(want), "12288 %#18llx", (unsigned long long)phys);
	EXPECT_NE(NULL, strstr(text, want)) TH_LOG("no line with '%s' in:\n%s", want, text);
	close(buf);
}

/* A size that is not whole pages is refused at load, with a line saying so. */
TEST_F_TIMEOUT(load, bad_size_is_refused, RELOAD_TIMEOUT)
{
	ASSERT_EQ(0, module_unload());
	EXPECT_NE(0, load_module_file(CMABUF_MODULE_PATH, "small_arena_bytes=5000"));
	EXPECT_TRUE(klog_contains("small_arena_bytes=5000 is not a multiple of the page size"));
	EXPECT_EQ(0, module_load());
	EXPECT_TRUE(wait_path("/dev/cmabuf-camera", true, 2000));
	/* Without the parameter there is no arena. */
	EXPECT_EQ(0, info_value("camera", "arena_size"));
}

TEST_HARNESS_MAIN
