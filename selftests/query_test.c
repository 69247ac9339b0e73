// SPDX-License-Identifier: GPL-2.0
/*
 * CMABUF_IOC_QUERY predicts the allocations that follow it: each test asks, then makes
 * the same allocations one by one and checks that exactly the predicted number succeed,
 * that the next one fails with the predicted errno, and that the migration the
 * allocator counted (debugfs info's migrated_pages) is the predicted pages_to_move.
 * In an empty pool, a fragmented one, one filled with movable pages, one with a pinned
 * page; under limits, from the warm cache, in the default CMA area; and bad input.
 */
#include <sys/mman.h>
#include <sys/uio.h>

#include "cmabuf_util.h"
#include "memory_filler.h"
#include "kselftest_harness.h"

#define DISPLAY_BASE 0x5c000000ULL
#define DISPLAY_SIZE (32 * MiB)
#define CAMERA_BASE 0x58000000ULL
#define CAMERA_SIZE (64 * MiB)
#define MAX_BUFS 256

/* CMABUF_IOC_QUERY for count buffers of size and align; 0 or -errno. */
static int query(int pool, uint64_t size, uint64_t align, uint32_t count, struct cmabuf_query *q)
{
	memset(q, 0, sizeof(*q));
	q->size = size;
	q->align = align;
	q->count = count;
	return ioctl(pool, CMABUF_IOC_QUERY, q) ? -errno : 0;
}

/* The allocations that follow a query and what they did. */
struct outcome {
	int bufs[MAX_BUFS];
	int n;			/* how many succeeded before the first failure */
	int err;		/* that failure's errno, 0 if all count succeeded */
	long long migrated;	/* pages the pool counted as migrated meanwhile */
};

/* Allocates count buffers of size and align one by one, up to the first failure. */
static void alloc_in_a_row(int pool, const char *name, uint64_t size, uint64_t align,
			   uint32_t count, struct outcome *o)
{
	long long before = info_value(name, "migrated_pages");

	o->n = 0;
	o->err = 0;
	while (o->n < (int)count && o->n < MAX_BUFS) {
		int buf = buf_alloc(pool, size, align, CMABUF_CACHED, O_RDWR | O_CLOEXEC);

		if (buf < 0) {
			o->err = -buf;
			break;
		}
		o->bufs[o->n++] = buf;
	}
	o->migrated = info_value(name, "migrated_pages") - before;
}

static void free_all(struct outcome *o)
{
	while (o->n > 0)
		close(o->bufs[--o->n]);
}

/* The query's answer, for the test's log. */
static void say(const char *what, const struct cmabuf_query *q)
{
	ksft_print_msg("%s: fit %u (%u without migration, %u from the cache), %llu pages to move, %u runs blocked, %llu blocking pages, then errno %d, flags %#x\n",
		       what, q->fit, q->fit_without_migration, q->cache_hits,
		       (unsigned long long)q->pages_to_move, q->blocked_runs,
		       (unsigned long long)q->blocking_pages, q->stop_errno, q->answer_flags);
}

/* Asserts that the allocations went as q predicted. */
#define EXPECT_PREDICTED(q, o)								\
	do {										\
		EXPECT_EQ((int)(q).fit, (o).n) TH_LOG("allocations that succeeded");	\
		EXPECT_EQ((q).stop_errno, (o).err) TH_LOG("errno of the one after");	\
		EXPECT_EQ((long long)(q).pages_to_move, (o).migrated)			\
			TH_LOG("pages migrated for them");				\
	} while (0)

/* Pools start empty: the tests before this one freed what they allocated. */
static void assert_empty(struct __test_metadata *_metadata, int pool)
{
	ASSERT_TRUE(wait_used(pool, 0, 2000)) TH_LOG("the pool is not empty: %lld bytes used",
						    pool_used(pool));
}

TEST(empty_pool_answers_by_size)
{
	int pool = pool_open("display");
	struct cmabuf_query q;
	struct outcome o;

	ASSERT_LE(0, pool);
	assert_empty(_metadata, pool);
	/* 32 MiB: 32 buffers of 1 MiB; the 33rd finds no room. */
	ASSERT_EQ(0, query(pool, MiB, 0, 64, &q));
	say("display, 64 x 1 MiB", &q);
	EXPECT_EQ(DISPLAY_SIZE / MiB, q.fit);
	EXPECT_EQ(ENOMEM, q.stop_errno);
	EXPECT_EQ(0, q.cache_hits);
	EXPECT_EQ(0, q.answer_flags);
	EXPECT_EQ(0, q.blocked_runs);
	alloc_in_a_row(pool, "display", MiB, 0, 64, &o);
	EXPECT_PREDICTED(q, o);
	free_all(&o);
	ASSERT_TRUE(wait_used(pool, 0, 2000));

	/* 3 MiB aligned to 4 MiB: one per 4 MiB, 8 of them. */
	ASSERT_EQ(0, query(pool, 3 * MiB, 4 * MiB, 16, &q));
	say("display, 16 x 3 MiB aligned to 4 MiB", &q);
	EXPECT_EQ(DISPLAY_SIZE / (4 * MiB), q.fit);
	EXPECT_EQ(ENOMEM, q.stop_errno);
	alloc_in_a_row(pool, "display", 3 * MiB, 4 * MiB, 16, &o);
	EXPECT_PREDICTED(q, o);
	free_all(&o);
	ASSERT_TRUE(wait_used(pool, 0, 2000));

	/* Fewer than fit: all of them, and no errno. */
	ASSERT_EQ(0, query(pool, 5 * MiB + 1, 0, 3, &q));
	EXPECT_EQ(3, q.fit);
	EXPECT_EQ(0, q.stop_errno);
	alloc_in_a_row(pool, "display", 5 * MiB + 1, 0, 3, &o);
	EXPECT_PREDICTED(q, o);
	free_all(&o);
	close(pool);
}

TEST(fragmented_pool)
{
	int pool = pool_open("display"), i, kept = 0;
	struct outcome frames, o, small;
	struct cmabuf_query q;

	ASSERT_LE(0, pool);
	assert_empty(_metadata, pool);
	/* Sixteen 2 MiB frames fill the pool; every other one goes: eight 2 MiB holes. */
	alloc_in_a_row(pool, "display", 2 * MiB, 0, 16, &frames);
	ASSERT_EQ(16, frames.n);
	for (i = 0; i < frames.n; i++) {
		if (i % 2)
			close(frames.bufs[i]);
		else
			frames.bufs[kept++] = frames.bufs[i];
	}
	frames.n = kept;
	ASSERT_TRUE(wait_used(pool, 8 * 2 * MiB, 2000));

	/* 16 MiB are free, but no 3 MiB run: none fits. */
	ASSERT_EQ(0, query(pool, 3 * MiB, 0, 4, &q));
	say("fragmented, 4 x 3 MiB", &q);
	EXPECT_EQ(0, q.fit);
	EXPECT_EQ(ENOMEM, q.stop_errno);
	alloc_in_a_row(pool, "display", 3 * MiB, 0, 4, &o);
	EXPECT_PREDICTED(q, o);
	free_all(&o);

	/* 1.5 MiB: one per hole. */
	ASSERT_EQ(0, query(pool, 3 * MiB / 2, 0, 16, &q));
	say("fragmented, 16 x 1.5 MiB", &q);
	EXPECT_EQ(8, q.fit);
	alloc_in_a_row(pool, "display", 3 * MiB / 2, 0, 16, &o);
	EXPECT_PREDICTED(q, o);

	/* Then 512 KiB: what the 1.5 MiB buffers left, one per hole again. */
	ASSERT_EQ(0, query(pool, 512 * KiB, 0, 32, &q));
	say("fragmented, then 32 x 512 KiB", &q);
	EXPECT_EQ(8, q.fit);
	alloc_in_a_row(pool, "display", 512 * KiB, 0, 32, &small);
	EXPECT_PREDICTED(q, small);
	free_all(&small);
	free_all(&o);

	/* 2 MiB aligned to 4 MiB: the holes are at odd 2 MiB places, none aligned. */
	ASSERT_EQ(0, query(pool, 2 * MiB, 4 * MiB, 4, &q));
	EXPECT_EQ(0, q.fit);
	alloc_in_a_row(pool, "display", 2 * MiB, 4 * MiB, 4, &o);
	EXPECT_PREDICTED(q, o);
	free_all(&o);
	free_all(&frames);
	close(pool);
}

/*
 * Keeps only the filler's anonymous chunks with a page in [base, base + size): the rest
 * of memory is free again, so that what migration moves out of the pool lands outside
 * CMA, not further up in the same pool.
 */
static long keep_chunks_in(struct filler *f, uint64_t base, uint64_t size)
{
	static uint64_t phys[FILL_CHUNK / 4096];
	size_t pages = FILL_CHUNK / getpagesize(), k;
	int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC), i, kept = 0;
	long in_pool = 0;

	if (pagemap < 0)
		return -1;
	for (i = 0; i < f->nr; i++) {
		long n = 0;

		if (chunk_phys(pagemap, f->chunks[i], phys, pages) == 0)
			for (k = 0; k < pages; k++)
				n += phys[k] >= base && phys[k] < base + size;
		if (n)
			f->chunks[kept++] = f->chunks[i];
		else
			munmap(f->chunks[i], FILL_CHUNK);
		in_pool += n;
	}
	f->nr = kept;
	close(pagemap);
	/* The page cache goes too. */
	if (f->shmem >= 0)
		close(f->shmem);
	f->shmem = -1;
	unlink("/tmp/cmabuf-pressure");
	return in_pool;
}

/* Pages waiting in per-CPU LRU batches look in use by the kernel: drain them. */
static void drain_lru(void)
{
	write_text("/proc/sys/vm/drop_caches", "1");
}

/*
 * Filling memory, and reloading the module on the debug kernel, take a while under
 * emulation: more than the harness's default 30 s.
 */
FIXTURE(slow) {
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

TEST_F_TIMEOUT(slow, movable_pages_are_pages_to_move, 300)
{
	int pool = pool_open("camera");
	struct cmabuf_query q;
	struct outcome o;
	struct filler f;
	long ours;

	ASSERT_LE(0, pool);
	assert_empty(_metadata, pool);
	ASSERT_LT(0, fill_until_pool_used(&f, CAMERA_BASE, CAMERA_SIZE, 1024));
	ours = keep_chunks_in(&f, CAMERA_BASE, CAMERA_SIZE);
	ASSERT_LT(0, ours) TH_LOG("none of our pages landed in the camera pool");
	drain_lru();
	ASSERT_EQ(0, query(pool, 4 * MiB, 0, 32, &q));
	say("camera with our movable pages, 32 x 4 MiB", &q);
	ksft_print_msg("%ld of our anonymous pages are in the camera pool\n", ours);
	EXPECT_LE(ours, (long)q.pages_to_move) TH_LOG("our pages in the pool must move");
	EXPECT_GT(q.fit, q.fit_without_migration);
	alloc_in_a_row(pool, "camera", 4 * MiB, 0, 32, &o);
	EXPECT_PREDICTED(q, o);
	free_all(&o);
	unfill(&f);
	close(pool);
}

TEST_F_TIMEOUT(slow, pinned_page_is_in_the_way, 300)
{
	int pool = pool_open("display"), pipefd[2];
	struct cmabuf_query q, unpinned;
	struct outcome o;
	struct filler f;
	struct iovec iov;
	uint64_t pfn = 0;
	char *page;

	ASSERT_LE(0, pool);
	assert_empty(_metadata, pool);
	ASSERT_LT(0, fill_until_pool_used(&f, DISPLAY_BASE, DISPLAY_SIZE, 1));
	page = page_in(&f, DISPLAY_BASE, DISPLAY_SIZE, &pfn);
	ASSERT_NE(NULL, page) TH_LOG("none of our pages landed in the display pool");
	/* The pipe's reference pins the page: migration cannot move it. */
	ASSERT_EQ(0, pipe(pipefd));
	iov = (struct iovec){ .iov_base = page, .iov_len = getpagesize() };
	ASSERT_EQ(getpagesize(), vmsplice(pipefd[1], &iov, 1, 0));
	unfill(&f);
	drain_lru();

	ASSERT_EQ(0, query(pool, 8 * MiB, 0, 4, &q));
	say("display with a pinned page, 4 x 8 MiB", &q);
	ksft_print_msg("pinned page at pool offset %#llx\n",
		       (unsigned long long)(pfn * getpagesize() - DISPLAY_BASE));
	EXPECT_LE(1, q.blocked_runs) TH_LOG("the pinned page's run was not given up");
	EXPECT_LE(1, q.blocking_pages) TH_LOG("the pinned page was not counted");
	EXPECT_GT(4, q.fit) TH_LOG("all four fit though a page is pinned");
	alloc_in_a_row(pool, "display", 8 * MiB, 0, 4, &o);
	EXPECT_EQ((int)q.fit, o.n);
	EXPECT_EQ(q.stop_errno, o.err);
	free_all(&o);
	ASSERT_TRUE(wait_used(pool, 0, 2000));

	/* The pipe lets go: nothing is in the way any more. */
	close(pipefd[0]);
	close(pipefd[1]);
	ASSERT_EQ(0, query(pool, 8 * MiB, 0, 4, &unpinned));
	say("display, pipe closed, 4 x 8 MiB", &unpinned);
	EXPECT_EQ(0, unpinned.blocked_runs);
	EXPECT_EQ(4, unpinned.fit);
	alloc_in_a_row(pool, "display", 8 * MiB, 0, 4, &o);
	EXPECT_EQ((int)unpinned.fit, o.n);
	free_all(&o);
	close(pool);
}

TEST_F_TIMEOUT(slow, limits_and_warm_cache, 180)
{
	struct cmabuf_query q;
	struct outcome o;
	long long hits;
	int pool;

	/* Limits are folded in: the fourth buffer breaks max_process_buffers. */
	ASSERT_EQ(0, module_reload("max_process_buffers=3"));
	pool = pool_open("display");
	ASSERT_LE(0, pool);
	ASSERT_EQ(0, query(pool, MiB, 0, 8, &q));
	say("max_process_buffers=3, 8 x 1 MiB", &q);
	EXPECT_EQ(3, q.fit);
	EXPECT_EQ(EDQUOT, q.stop_errno);
	alloc_in_a_row(pool, "display", MiB, 0, 8, &o);
	EXPECT_PREDICTED(q, o);
	free_all(&o);
	close(pool);

	/* Freed buffers in the warm cache serve the next ones of their size. */
	ASSERT_EQ(0, module_reload("cache_bytes=8388608 cache_idle_ms=600000"));
	pool = pool_open("display");
	ASSERT_LE(0, pool);
	alloc_in_a_row(pool, "display", 2 * MiB, 0, 3, &o);
	ASSERT_EQ(3, o.n);
	free_all(&o);
	ASSERT_EQ(0, query(pool, 2 * MiB, 0, 20, &q));
	say("warm cache of three 2 MiB runs, 20 x 2 MiB", &q);
	EXPECT_EQ(3, q.cache_hits);
	EXPECT_EQ(DISPLAY_SIZE / (2 * MiB), q.fit);
	hits = info_value("display", "cache_hits");
	alloc_in_a_row(pool, "display", 2 * MiB, 0, 20, &o);
	EXPECT_PREDICTED(q, o);
	EXPECT_EQ(hits + q.cache_hits, info_value("display", "cache_hits"));
	free_all(&o);
	close(pool);
	ASSERT_EQ(0, module_reload(""));
}

TEST_F_TIMEOUT(slow, default_area_counts_bytes, 120)
{
	struct cmabuf_query q;
	struct outcome o;
	int pool;

	ASSERT_EQ(0, module_reload("default_pool=4194304"));
	ASSERT_TRUE(wait_path("/dev/cmabuf-default", true, 2000));
	pool = pool_open("default");
	ASSERT_LE(0, pool);
	ASSERT_EQ(0, query(pool, MiB, 0, 8, &q));
	say("default area, 8 x 1 MiB", &q);
	EXPECT_EQ(CMABUF_QUERY_BYTES_ONLY, q.answer_flags);
	EXPECT_EQ(4, q.fit);
	EXPECT_EQ(ENOMEM, q.stop_errno);
	EXPECT_EQ(0, q.pages_to_move);
	alloc_in_a_row(pool, "default", MiB, 0, 8, &o);
	EXPECT_EQ((int)q.fit, o.n);
	EXPECT_EQ(q.stop_errno, o.err);
	free_all(&o);
	close(pool);
	ASSERT_EQ(0, module_reload(""));
}

/* Each mistake: EINVAL and a line saying what to fix, the same as ALLOC's. */
TEST_F_TIMEOUT(slow, bad_input_is_refused_with_a_reason, 120)
{
	static const struct {
		struct cmabuf_query q;
		const char *line;
	} bad[] = {
		{ { .size = 0, .count = 1 }, "camera: CMABUF_IOC_QUERY: size is 0" },
		{ { .size = 2 * CAMERA_SIZE, .count = 1 },
		  "camera: CMABUF_IOC_QUERY: size is larger than the pool" },
		{ { .size = MiB, .align = 3 * 4096, .count = 1 },
		  "camera: CMABUF_IOC_QUERY: align must be 0 or a power of two no smaller than the page size" },
		{ { .size = MiB, .align = 2 * CAMERA_SIZE, .count = 1 },
		  "camera: CMABUF_IOC_QUERY: align is larger than the pool" },
		{ { .size = MiB, .count = 0 },
		  "camera: CMABUF_IOC_QUERY: count must be 1 to 4096 (CMABUF_QUERY_MAX_COUNT)" },
		{ { .size = MiB, .count = CMABUF_QUERY_MAX_COUNT + 1 },
		  "camera: CMABUF_IOC_QUERY: count must be 1 to 4096 (CMABUF_QUERY_MAX_COUNT)" },
		{ { .size = MiB, .count = 1, .flags = 1 },
		  "camera: CMABUF_IOC_QUERY: flags must be zero (the cache mode does not change placement)" },
		{ { .size = MiB, .count = 1, .reserved = { 0, 0, 0, 1 } },
		  "camera: CMABUF_IOC_QUERY: reserved fields must be zero" },
	};
	struct cmabuf_query q;
	unsigned int i;
	int ro;

	/* A fresh module: its rate limit (10 lines per 5 s) has all eight lines left. */
	ASSERT_EQ(0, module_reload(""));
	ro = open("/dev/cmabuf-camera", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, ro);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		q = bad[i].q;
		errno = 0;
		EXPECT_EQ(-1, ioctl(ro, CMABUF_IOC_QUERY, &q)) TH_LOG("case %u", i);
		EXPECT_EQ(EINVAL, errno) TH_LOG("case %u", i);
		EXPECT_TRUE(klog_contains(bad[i].line)) TH_LOG("case %u: no line '%s'", i,
								bad[i].line);
	}
	/* A read-only file may ask (the query takes nothing). */
	EXPECT_EQ(0, query(ro, MiB, 0, 1, &q));
	EXPECT_EQ(1, q.fit);
	close(ro);
}

TEST_HARNESS_MAIN
