// SPDX-License-Identifier: GPL-2.0
/*
 * The warm cache (module parameters cache_bytes, cache_idle_ms) and CMABUF_IOC_PREPARE:
 * a freed buffer is kept, zeroed in the background and handed out again for the same
 * size without migration; it goes back to the system after the idle timeout, when room
 * is needed, on "drop" and on unbind. Bad parameters and requests are refused.
 */
#include <linux/dma-buf.h>
#include <sys/mman.h>

#include "cmabuf_util.h"
#include "kselftest_harness.h"

#define CACHE_PARAMS "cache_bytes=16777216 cache_idle_ms=400"

static int prepare(int pool, uint64_t size, uint32_t count, uint32_t timeout_ms)
{
	struct cmabuf_prepare req = { .size = size, .count = count, .timeout_ms = timeout_ms };

	return ioctl(pool, CMABUF_IOC_PREPARE, &req) ? -errno : 0;
}

/* CMABUF_IOC_PREPARE with a reserved field set; 0 or -errno. */
static int prepare_reserved(int pool)
{
	struct cmabuf_prepare req = { .size = MiB, .count = 1, .timeout_ms = 10, .reserved = { 1 } };

	return ioctl(pool, CMABUF_IOC_PREPARE, &req) ? -errno : 0;
}

/* Waits until the pool's info shows key == want. */
static bool wait_info(const char *pool, const char *key, long long want, unsigned int ms)
{
	uint64_t end = now_ms() + ms;

	while (info_value(pool, key) != want && now_ms() < end)
		usleep(2000);
	return info_value(pool, key) == want;
}

TEST(bad_cache_parameters)
{
	ASSERT_EQ(0, module_unload());
	EXPECT_NE(0, load_module_file(CMABUF_MODULE_PATH, "cache_idle_ms=0"));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_TRUE(klog_contains("cache_idle_ms must be 1 to 600000"));
	EXPECT_FALSE(module_loaded());
	ASSERT_EQ(0, load_module_file(CMABUF_MODULE_PATH, CACHE_PARAMS)) TH_LOG("%s", strerror(errno));
	ASSERT_TRUE(wait_path("/dev/cmabuf-camera", true, 2000));
	EXPECT_EQ(16 * MiB, info_value("camera", "cache_limit"));
}

/* Freed, zeroed in the background, reused for the same size, then lent out again. */
TEST(freed_buffer_is_zeroed_reused_and_expires)
{
	int pool = pool_open("camera"), a, b;
	uint64_t phys_a, phys_b;
	uint8_t *map;
	int i;

	ASSERT_LE(0, pool);
	a = buf_alloc_rw(pool, 2 * MiB);
	ASSERT_LE(0, a);
	buf_phys(pool, a, &phys_a, NULL);
	map = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, a, 0);
	ASSERT_NE(MAP_FAILED, map);
	memset(map, 0xa5, 2 * MiB);
	munmap(map, 2 * MiB);
	close(a);

	EXPECT_EQ(0, pool_used(pool)) TH_LOG("a cached buffer is not in use");
	EXPECT_EQ(2 * MiB, info_value("camera", "cached"));
	EXPECT_TRUE(wait_info("camera", "cached_unzeroed", 0, 2000));
	EXPECT_EQ(1, info_value("camera", "cache_zeroed"));

	b = buf_alloc_rw(pool, 2 * MiB);
	ASSERT_LE(0, b);
	buf_phys(pool, b, &phys_b, NULL);
	EXPECT_EQ(phys_a, phys_b) TH_LOG("the same size should come from the cache");
	EXPECT_EQ(1, info_value("camera", "cache_hits"));
	EXPECT_EQ(0, info_value("camera", "cached"));
	map = mmap(NULL, 2 * MiB, PROT_READ, MAP_SHARED, b, 0);
	ASSERT_NE(MAP_FAILED, map);
	for (i = 0; i < 2 * MiB; i++)
		if (map[i])
			break;
	EXPECT_EQ(2 * MiB, i) TH_LOG("byte %d of a reused buffer still holds old data", i);
	munmap(map, 2 * MiB);
	close(b);

	/* Unused for cache_idle_ms: back to the system. */
	EXPECT_TRUE(wait_info("camera", "cached", 0, 3000));
	EXPECT_EQ(1, info_value("camera", "cache_released_idle"));
	close(pool);
}

/* The cache holds at most cache_bytes; "drop" empties it; a big request evicts it. */
TEST(cache_limit_drop_and_room)
{
	int pool = pool_open("camera"), fds[12], i, big;
	long long room_before;

	ASSERT_LE(0, pool);
	for (i = 0; i < 12; i++)
		fds[i] = buf_alloc_rw(pool, 2 * MiB);
	for (i = 0; i < 12; i++) {
		ASSERT_LE(0, fds[i]);
		close(fds[i]);
	}
	EXPECT_EQ(16 * MiB, info_value("camera", "cached")) TH_LOG("limit is 16 MiB");
	/* The freshest runs stay: older ones made room (12 freed, 8 kept). */
	EXPECT_EQ(4, info_value("camera", "cache_released_for_room"));
	ASSERT_EQ(0, write_text(CMABUF_DEBUGFS "/camera/cache", "drop"));
	EXPECT_EQ(0, info_value("camera", "cached"));
	EXPECT_NE(0, write_text(CMABUF_DEBUGFS "/camera/cache", "flush"));

	for (i = 0; i < 8; i++) {
		fds[i] = buf_alloc_rw(pool, 2 * MiB);
		ASSERT_LE(0, fds[i]);
	}
	for (i = 0; i < 8; i++)
		close(fds[i]);
	EXPECT_EQ(16 * MiB, info_value("camera", "cached"));
	/* 60 MiB fits only if the cached runs go back to the area first. */
	room_before = info_value("camera", "cache_released_for_room");
	big = buf_alloc_rw(pool, 60 * MiB);
	EXPECT_LE(0, big) TH_LOG("%s", strerror(-big));
	EXPECT_LT(room_before, info_value("camera", "cache_released_for_room"));
	if (big >= 0)
		close(big);
	ASSERT_EQ(0, write_text(CMABUF_DEBUGFS "/camera/cache", "drop"));
	close(pool);
}

/* PREPARE evacuates runs now; allocations of that size take them; they time out. */
TEST(prepare_evacuates_ahead_and_times_out)
{
	int pool = pool_open("camera"), a, b, c;
	long long hits = info_value("camera", "cache_hits");

	ASSERT_LE(0, pool);
	ASSERT_EQ(0, prepare(pool, 3 * MiB, 2, 500));
	EXPECT_EQ(6 * MiB, info_value("camera", "prepared"));
	/* Charged to this process until it allocates them (the charge then moves). */
	EXPECT_EQ(6 * MiB, pool_used(pool));
	a = buf_alloc_rw(pool, 3 * MiB);
	b = buf_alloc_rw(pool, 3 * MiB);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	EXPECT_EQ(hits + 2, info_value("camera", "cache_hits")) TH_LOG("both from the prepared runs");
	EXPECT_EQ(0, info_value("camera", "prepared"));
	EXPECT_EQ(6 * MiB, pool_used(pool));
	close(a);
	close(b);
	ASSERT_EQ(0, write_text(CMABUF_DEBUGFS "/camera/cache", "drop"));

	ASSERT_EQ(0, prepare(pool, MiB, 1, 300));
	EXPECT_EQ(MiB, info_value("camera", "prepared"));
	EXPECT_TRUE(wait_info("camera", "prepared", 0, 3000)) TH_LOG("timeout did not release it");

	/* Bad requests: EINVAL and a line saying what to fix. */
	EXPECT_EQ(-EINVAL, prepare(pool, 0, 1, 100));
	EXPECT_TRUE(klog_contains("camera: CMABUF_IOC_PREPARE: size and count must not be 0"));
	EXPECT_EQ(-EINVAL, prepare(pool, 32 * MiB, 3, 100));
	EXPECT_TRUE(klog_contains("camera: CMABUF_IOC_PREPARE: count * size is larger than the pool"));
	EXPECT_EQ(-EINVAL, prepare(pool, MiB, 1, 0));
	EXPECT_EQ(-EINVAL, prepare(pool, MiB, 1, 600001));
	EXPECT_TRUE(klog_contains("CMABUF_IOC_PREPARE: timeout_ms must be 1 to 600000"));
	EXPECT_EQ(-EINVAL, prepare_reserved(pool));
	/* More than the free room: ENOMEM, and nothing stays prepared. */
	c = buf_alloc_rw(pool, 40 * MiB);
	ASSERT_LE(0, c);
	EXPECT_EQ(-ENOMEM, prepare(pool, 8 * MiB, 4, 1000));
	EXPECT_EQ(0, info_value("camera", "prepared"));
	close(c);
	close(pool);
}

/*
 * The stage profile counts the warm cache's work too (debugfs_test checks the allocation
 * path): a hit, the background zeroing of a freed run and its bytes, and PREPARE.
 */
TEST(profile_counts_cache_work)
{
	const char *path = CMABUF_DEBUGFS "/camera/profile";
	int pool = pool_open("camera"), a;
	char text[4096];

	ASSERT_LE(0, pool);
	ASSERT_EQ(0, write_text(CMABUF_DEBUGFS "/camera/cache", "drop"));
	ASSERT_EQ(0, write_text(path, "reset"));
	a = buf_alloc_rw(pool, 2 * MiB);
	ASSERT_LE(0, a);
	close(a);
	ASSERT_TRUE(wait_info("camera", "cached_unzeroed", 0, 2000));
	a = buf_alloc_rw(pool, 2 * MiB);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, prepare(pool, MiB, 2, 300));
	ASSERT_LT(0, read_text(path, text, sizeof(text)));
	EXPECT_EQ(2, text_field(text, "allocs")) TH_LOG("%s", text);
	EXPECT_EQ(1, text_field(text, "cache_hits")) TH_LOG("%s", text);
	EXPECT_EQ(1, text_field(text, "cma_allocs"));
	EXPECT_EQ(2 * MiB, text_field(text, "bg_zero_bytes")) TH_LOG("%s", text);
	EXPECT_LT(0, text_field(text, "bg_zero_ns"));
	EXPECT_EQ(1, text_field(text, "prepare_calls"));
	EXPECT_LT(0, text_field(text, "prepare_cma_alloc_ns"));
	EXPECT_LT(0, text_field(text, "prepare_zero_ns"));
	EXPECT_GE(text_field(text, "prepare_ns"),
		  text_field(text, "prepare_cma_alloc_ns") + text_field(text, "prepare_zero_ns"));
	close(a);
	ASSERT_EQ(0, write_text(CMABUF_DEBUGFS "/camera/cache", "drop"));
	EXPECT_EQ(0, info_value("camera", "cached"));
	close(pool);
}

/*
 * Under memory pressure the shrinker gives cached runs back (drop_caches=2 runs it).
 * Reclaim only try-locks the pool (it may run inside an allocation made under the
 * pool's lock), so one pass that meets the lock held, e.g. by the background work just
 * finishing its zeroing, gives nothing back; the kernel simply reclaims again, and so
 * does this test (up to 20 passes, 50 ms apart; it failed once in CI on the debug kernel
 * with one pass).
 */
TEST(shrinker_releases_the_cache)
{
	int pool = pool_open("camera"), a, b, passes = 0;

	ASSERT_LE(0, pool);
	a = buf_alloc_rw(pool, 2 * MiB);
	b = buf_alloc_rw(pool, 4 * MiB);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	close(a);
	close(b);
	close(pool);
	EXPECT_EQ(6 * MiB, info_value("camera", "cached"));
	/* Runs being zeroed are the background work's until it is done. */
	EXPECT_TRUE(wait_info("camera", "cached_unzeroed", 0, 10000))
		TH_LOG("cached_unzeroed still %lld after 10 s",
		       info_value("camera", "cached_unzeroed"));
	do {
		if (passes)
			usleep(50 * 1000);
		ASSERT_EQ(0, write_text("/proc/sys/vm/drop_caches", "2"));
		passes++;
	} while (info_value("camera", "cached") != 0 && passes < 20);
	EXPECT_EQ(0, info_value("camera", "cached")) TH_LOG("after %d reclaim passes", passes);
	EXPECT_EQ(2, info_value("camera", "cache_released_for_memory"))
		TH_LOG("after %d reclaim passes", passes);
	if (passes > 1)
		TH_LOG("the cache went back after %d reclaim passes", passes);
}

/* Unbinding gives the cache back; the module unloads cleanly with runs cached. */
TEST(unbind_and_unload_release_the_cache)
{
	int pool = pool_open("camera"), a;

	ASSERT_LE(0, pool);
	a = buf_alloc_rw(pool, 4 * MiB);
	ASSERT_LE(0, a);
	close(a);
	close(pool);
	EXPECT_EQ(4 * MiB, info_value("camera", "cached"));
	ASSERT_EQ(0, write_text(CMABUF_DRIVER_DIR "/unbind", "cmabuf-camera"));
	ASSERT_EQ(0, write_text(CMABUF_DRIVER_DIR "/bind", "cmabuf-camera"));
	ASSERT_TRUE(wait_path("/dev/cmabuf-camera", true, 2000));
	EXPECT_EQ(0, info_value("camera", "cached"));

	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	a = buf_alloc_rw(pool, 4 * MiB);
	ASSERT_LE(0, a);
	close(a);
	ASSERT_EQ(0, prepare(pool, MiB, 2, 60000));
	close(pool);
	/* Cached and prepared runs pending: unload must cancel the work and free them. */
	ASSERT_EQ(0, module_unload()) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, module_load());
	ASSERT_TRUE(wait_path("/dev/cmabuf-camera", true, 2000));
	EXPECT_EQ(0, info_value("camera", "cached"));
	EXPECT_EQ(0, info_value("camera", "cache_limit"));
}

/*
 * default_budget: default_pool=<bytes> is a budget in the shared default area that the
 * warm cache and PREPARE must keep to (5 MiB of a 4 MiB budget were handed out before).
 */
TEST(default_budget)
{
	int pool, a, b, c;
	struct cmabuf_pool_info info;

	ASSERT_EQ(0, module_reload("default_pool=4194304 cache_bytes=8388608"));
	ASSERT_TRUE(wait_path("/dev/cmabuf-default", true, 2000));
	pool = pool_open("default");
	ASSERT_LE(0, pool);
	a = buf_alloc_rw(pool, 3 * MiB);
	ASSERT_LE(0, a);
	close(a);
	b = buf_alloc_rw(pool, 2 * MiB);
	ASSERT_LE(0, b);
	c = buf_alloc_rw(pool, 3 * MiB);
	EXPECT_EQ(-ENOMEM, c) TH_LOG("3 + 2 MiB handed out of a 4 MiB budget");
	ASSERT_EQ(0, pool_info(pool, &info));
	EXPECT_EQ(4 * MiB, info.size);
	EXPECT_GE(info.size, info.used) TH_LOG("used %llu of %llu", info.used, info.size);
	EXPECT_LE(info.used + (unsigned long long)info_value("default", "cached"), info.size)
		TH_LOG("buffers and the warm cache hold more than the budget");
	if (c >= 0)
		close(c);
	close(b);
	/* PREPARE keeps to it too, however often it is called. */
	EXPECT_EQ(0, prepare(pool, MiB, 4, 60000));
	EXPECT_EQ(-ENOMEM, prepare(pool, MiB, 1, 60000)) TH_LOG("prepared past the budget");
	EXPECT_EQ(4 * MiB, info_value("default", "prepared"));
	close(pool);
	ASSERT_EQ(0, module_reload(""));
}

FIXTURE(slow) {
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

/* prepare_many: PREPARE's count is capped, and a thousand runs come and go quickly
 * (a quadratic expiry under the pool's lock stalled every user before). A thousand
 * cma_alloc calls take seconds under emulation, more on the debug kernel. */
TEST_F_TIMEOUT(slow, prepare_many, 300)
{
	int pool = pool_open("camera");
	uint64_t start;

	ASSERT_LE(0, pool);
	EXPECT_EQ(-EINVAL, prepare(pool, 4096, 16384, 1000));
	EXPECT_TRUE(klog_contains("count must be at most 1024"));
	start = now_ms();
	ASSERT_EQ(0, prepare(pool, 4096, 1024, 60000));
	TH_LOG("1024 runs prepared in %llu ms", (unsigned long long)(now_ms() - start));
	EXPECT_EQ(1024, info_value("camera", "cached_buffers"));
	EXPECT_EQ(4 * MiB, pool_used(pool));
	/* They go back together, in one pass under the pool's lock. */
	start = now_ms();
	ASSERT_EQ(0, write_text(CMABUF_DEBUGFS "/camera/cache", "drop"));
	TH_LOG("and went back in %llu ms", (unsigned long long)(now_ms() - start));
	EXPECT_EQ(0, info_value("camera", "cached_buffers"));
	EXPECT_GT(5000, now_ms() - start) TH_LOG("giving back 1024 runs took seconds");
	EXPECT_EQ(0, pool_used(pool));
	EXPECT_FALSE(klog_contains("rcu_preempt detected stalls") ||
		     klog_contains("rcu_sched detected stalls") ||
		     klog_contains("self-detected stall"));
	close(pool);
}

/* Cached runs at the start of the pool, where the first 4 MiB buffer would go. */
static void cache_two_runs_at_the_start(struct __test_metadata *_metadata, int pool)
{
	int a = buf_alloc_rw(pool, MiB), b = buf_alloc_rw(pool, MiB);

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	close(a);
	close(b);
	ASSERT_EQ(2 * MiB, info_value("camera", "cached"));
}

/*
 * The warm cache never costs a caller room: an empty 64 MiB pool fits 16 x 4 MiB with
 * freed runs cached (only 14-15 fitted, placed around them), PREPARE of the whole pool
 * works, and POOL_INFO counts cached runs as free.
 */
TEST(cache_costs_no_room)
{
	int pool, bufs[16], n = 0, i;
	struct cmabuf_pool_info info;

	ASSERT_EQ(0, module_reload(CACHE_PARAMS));
	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	cache_two_runs_at_the_start(_metadata, pool);
	ASSERT_EQ(0, pool_info(pool, &info));
	EXPECT_EQ(64 * MiB, info.free) TH_LOG("cached runs are not free: %llu", info.free);
	EXPECT_EQ(64 * MiB, info.largest_free);
	for (i = 0; i < 16; i++) {
		bufs[i] = buf_alloc_rw(pool, 4 * MiB);
		n += bufs[i] >= 0;
	}
	EXPECT_EQ(16, n) TH_LOG("only %d of 16 x 4 MiB fitted with the cache on", n);
	for (i = 0; i < 16; i++)
		if (bufs[i] >= 0)
			close(bufs[i]);
	ASSERT_EQ(0, write_text(CMABUF_DEBUGFS "/camera/cache", "drop"));
	cache_two_runs_at_the_start(_metadata, pool);
	EXPECT_EQ(0, prepare(pool, 64 * MiB, 1, 1000)) TH_LOG("PREPARE of the whole pool");
	ASSERT_EQ(0, write_text(CMABUF_DEBUGFS "/camera/cache", "drop"));
	EXPECT_TRUE(wait_used(pool, 0, 1000));
	close(pool);
	ASSERT_EQ(0, module_reload(""));
}

/* The cache limit holds while the background work zeroes a run. */
TEST(cache_limit_while_zeroing)
{
	int pool, a, b, i;
	long long most = 0, now;

	ASSERT_EQ(0, module_reload("cache_bytes=33554432 cache_idle_ms=5000"));
	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	a = buf_alloc_rw(pool, 32 * MiB);
	b = buf_alloc_rw(pool, 32 * MiB);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	close(a);
	close(b);
	for (i = 0; i < 200; i++) {
		now = info_value("camera", "cached");
		most = now > most ? now : most;
		usleep(1000);
	}
	EXPECT_GE(32 * MiB, most) TH_LOG("%lld bytes cached with cache_bytes = 32 MiB", most);
	ASSERT_EQ(0, write_text(CMABUF_DEBUGFS "/camera/cache", "drop"));
	close(pool);
	ASSERT_EQ(0, module_reload(""));
}

/*
 * A pipeline frees a frame and asks for the next one of the same size at once: the
 * freed run, which the background work is zeroing by then, is waited for and handed
 * out, not passed over for a new run's migration and zeroing (a miss each frame).
 */
TEST(a_run_being_zeroed_is_waited_for)
{
	long long hits, misses;
	int pool, a, i;

	ASSERT_EQ(0, module_reload("cache_bytes=33554432 cache_idle_ms=5000"));
	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	a = buf_alloc_rw(pool, 32 * MiB);
	ASSERT_LE(0, a);
	hits = info_value("camera", "cache_hits");
	misses = info_value("camera", "cache_misses");
	for (i = 0; i < 5; i++) {
		close(a);
		/* Zeroing 32 MiB takes the background work several milliseconds. */
		usleep(1000);
		a = buf_alloc_rw(pool, 32 * MiB);
		ASSERT_LE(0, a) TH_LOG("frame %d: %s", i, strerror(-a));
	}
	close(a);
	EXPECT_EQ(hits + 5, info_value("camera", "cache_hits"));
	EXPECT_EQ(misses, info_value("camera", "cache_misses"));
	ASSERT_EQ(0, write_text(CMABUF_DEBUGFS "/camera/cache", "drop"));
	close(pool);
	ASSERT_EQ(0, module_reload(""));
}

TEST_HARNESS_MAIN
