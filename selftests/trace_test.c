// SPDX-License-Identifier: GPL-2.0
/*
 * The cmabuf:* trace events (Documentation/admin-guide.rst, "Trace events"): enabled
 * through tracefs, every field of every event matches what the test asked for and
 * measured, the alloc events' latencies are the ones the pool's debugfs latency
 * histogram counted, and disabled events record nothing.
 */
#include "cmabuf_util.h"
#include "kselftest_harness.h"
#include "trace_util.h"

#define POOL "camera"
/* The warm cache on (and slow to expire), and a process limit to fail against. */
#define TRACE_PARAMS "cache_bytes=16777216 cache_idle_ms=60000 max_process_bytes=25165824"
#define LIMIT (24 * MiB)

static const char *const EVENTS[] = {
	"cmabuf_alloc", "cmabuf_free", "cmabuf_prepare", "cmabuf_alloc_fail",
	"cmabuf_cache_hit", "cmabuf_cache_miss", "cmabuf_cache_zeroed", "cmabuf_cache_release",
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* An allocation as the test asked for it and measured it. */
struct asked {
	uint64_t size, align;
	uint32_t flags;
	int fd;
	unsigned int id;
	uint64_t start_ns, alloc_ns, freed_ns;
};

/* CMABUF_IOC_ALLOC of `a`, timed; 0 or -errno. */
static int asked_alloc(int pool, struct asked *a)
{
	struct cmabuf_alloc req = {
		.size = a->size, .align = a->align, .flags = a->flags,
		.fd_flags = O_RDWR | O_CLOEXEC,
	};
	int ret;

	a->start_ns = now_ns();
	ret = ioctl(pool, CMABUF_IOC_ALLOC, &req) ? -errno : 0;
	a->alloc_ns = now_ns() - a->start_ns;
	a->fd = ret ? -1 : req.fd;
	a->id = req.id;
	return ret;
}

static void asked_free(struct asked *a)
{
	close(a->fd);
	a->freed_ns = now_ns();
}

static const char *cache_name(uint32_t flags)
{
	return flags == CMABUF_WRITECOMBINE ? "writecombine" :
	       flags == CMABUF_UNCACHED ? "uncached" : "cached";
}

/* The latency histogram of debugfs/cmabuf/<pool>/latency: count per class and bucket. */
#define CLASSES 4
#define BUCKETS 26
struct histogram {
	long long count[CLASSES][BUCKETS];
};

static const char *const CLASS_NAMES[CLASSES] = { "<=64K", "<=1M", "<=8M", ">8M" };

static int histogram_read(struct histogram *h)
{
	char text[8192], class[16];
	const char *p;
	unsigned long long bound, count;
	int c, b;

	memset(h, 0, sizeof(*h));
	if (read_text(CMABUF_DEBUGFS "/" POOL "/latency", text, sizeof(text)) < 0)
		return -1;
	p = strstr(text, "class  bucket_us  count\n");
	if (!p)
		return -1;
	for (p = strchr(p, '\n') + 1; *p; p = strchr(p, '\n') + 1) {
		if (sscanf(p, "%15s <%llu %llu", class, &bound, &count) != 3)
			return -1;
		for (c = 0; c < CLASSES && strcmp(class, CLASS_NAMES[c]); c++)
			;
		for (b = 0; b < BUCKETS && (1ULL << (b + 1)) != bound; b++)
			;
		if (c == CLASSES || b == BUCKETS)
			return -1;
		h->count[c][b] = count;
		if (!strchr(p, '\n'))
			break;
	}
	return 0;
}

/* Where the histogram counts an allocation of `size` bytes that took `ns`. */
static void histogram_place(uint64_t size, uint64_t ns, int *class, int *bucket)
{
	uint64_t us = (ns + 999) / 1000;
	int b = 0;

	*class = size <= 64 * KiB ? 0 : size <= MiB ? 1 : size <= 8 * MiB ? 2 : 3;
	while (b < BUCKETS - 1 && us >> (b + 1))
		b++;
	*bucket = b;
}

/* Checks every field of the cmabuf_alloc event of a served allocation `a`. */
static void check_alloc_event(struct __test_metadata *_metadata, const char *line,
			      const struct asked *a, bool warm)
{
	char text[32];

	EXPECT_STREQ(POOL, field_text(line, "pool", text, sizeof(text)));
	EXPECT_EQ((long long)a->size, field(line, "size"));
	EXPECT_EQ((long long)(a->align ? a->align : 4096), field(line, "align"));
	EXPECT_STREQ(cache_name(a->flags), field_text(line, "cache", text, sizeof(text)));
	EXPECT_EQ(getpid(), field(line, "tgid"));
	EXPECT_EQ(getpid(), field(line, "by")) TH_LOG("allocated by itself, for itself");
	EXPECT_EQ(0, field(line, "errno"));
	EXPECT_LT(0, field(line, "latency_ns"));
	EXPECT_GE((long long)a->alloc_ns, field(line, "latency_ns"))
		TH_LOG("buffer %u: longer in the kernel than the ioctl took", a->id);
	EXPECT_EQ(warm, field(line, "warm"));
	if (warm) {
		EXPECT_EQ(0, field(line, "attempts")) TH_LOG("a warm hit calls no cma_alloc");
		EXPECT_EQ(0, field(line, "migrated"));
	} else {
		EXPECT_LE(1, field(line, "attempts"));
		EXPECT_GE(3, field(line, "attempts"));
		EXPECT_LE(0, field(line, "migrated"));
	}
}

/* Checks every field of the cmabuf_free event of `a`. */
static void check_free_event(struct __test_metadata *_metadata, const char *line,
			     const struct asked *a, bool cached)
{
	char text[32];

	ASSERT_NE(NULL, line) TH_LOG("no cmabuf_free event of buffer %u", a->id);
	EXPECT_STREQ(POOL, field_text(line, "pool", text, sizeof(text)));
	EXPECT_EQ((long long)a->size, field(line, "size"));
	EXPECT_LT(0, field(line, "lifetime_ns"));
	EXPECT_GE((long long)(a->freed_ns - a->start_ns), field(line, "lifetime_ns"))
		TH_LOG("buffer %u lived longer than from its ALLOC to its close", a->id);
	EXPECT_EQ(0, field(line, "stranded"));
	EXPECT_EQ(cached, field(line, "cached"));
}

static int prepare(int pool, uint64_t size, uint32_t count, uint32_t timeout_ms)
{
	struct cmabuf_prepare req = { .size = size, .count = count, .timeout_ms = timeout_ms };

	return ioctl(pool, CMABUF_IOC_PREPARE, &req) ? -errno : 0;
}

/* Waits until the pool's info shows key == want. */
static bool wait_info(const char *key, long long want, unsigned int ms)
{
	uint64_t end = now_ms() + ms;

	while (info_value(POOL, key) != want && now_ms() < end)
		usleep(2000);
	return info_value(POOL, key) == want;
}

TEST(setup)
{
	int i;
	char path[128];

	ASSERT_EQ(0, tracefs_ready()) TH_LOG("tracefs: %s", strerror(errno));
	ASSERT_EQ(0, module_reload(TRACE_PARAMS)) TH_LOG("%s", strerror(errno));
	for (i = 0; i < (int)(sizeof(EVENTS) / sizeof(EVENTS[0])); i++) {
		snprintf(path, sizeof(path), TRACEFS "/events/cmabuf/%s/format", EVENTS[i]);
		EXPECT_TRUE(path_exists(path)) TH_LOG("no event %s", EVENTS[i]);
	}
}

/* Allocations (cold and from the warm cache), frees, a PREPARE, a drop, a refusal. */
TEST(events_carry_what_was_asked)
{
	struct asked a = { .size = MiB, .flags = CMABUF_CACHED };
	struct asked b = { .size = 2 * MiB, .align = MiB, .flags = CMABUF_WRITECOMBINE };
	struct asked c = { .size = 4 * MiB, .align = 4 * MiB, .flags = CMABUF_UNCACHED };
	struct asked warm = { .size = MiB, .flags = CMABUF_CACHED };
	struct asked miss = { .size = 3 * MiB, .align = 4 * MiB, .flags = CMABUF_CACHED };
	struct asked over = { .size = LIMIT, .flags = CMABUF_CACHED };
	struct asked *served[] = { &a, &b, &c, &warm, &miss };
	struct histogram before, after;
	const char *line;
	uint64_t prep_start, prep_ns;
	int pool = pool_open(POOL), i, cl, bu;
	int grown[CLASSES][BUCKETS] = { 0 };
	char *text, reason[32];

	ASSERT_LE(0, pool);
	ASSERT_EQ(0, histogram_read(&before));
	ASSERT_EQ(0, trace_reset(true));

	ASSERT_EQ(0, asked_alloc(pool, &a));
	ASSERT_EQ(0, asked_alloc(pool, &b));
	ASSERT_EQ(0, asked_alloc(pool, &c));
	/* a goes to the warm cache, is zeroed there, and serves the next 1 MiB. */
	asked_free(&a);
	ASSERT_TRUE(wait_info("cached_unzeroed", 0, 3000));
	ASSERT_EQ(0, asked_alloc(pool, &warm));
	EXPECT_EQ(1, info_value(POOL, "cache_hits"));
	/* b goes to the cache; 3 MiB (aligned past b's run, which stays) does not fit it: a miss. */
	asked_free(&b);
	ASSERT_EQ(0, asked_alloc(pool, &miss));
	EXPECT_EQ(1, info_value(POOL, "cache_misses"));
	/* One prepared run of 2 MiB, then everything cached is dropped. */
	prep_start = now_ns();
	ASSERT_EQ(0, prepare(pool, 2 * MiB, 1, 60000));
	prep_ns = now_ns() - prep_start;
	ASSERT_EQ(0, write_text(CMABUF_DEBUGFS "/" POOL "/cache", "drop"));
	/* 8 MiB held: 24 MiB more passes the process limit. */
	EXPECT_EQ(-EDQUOT, asked_alloc(pool, &over));
	asked_free(&c);
	asked_free(&warm);
	asked_free(&miss);
	ASSERT_EQ(0, write_text(CMABUF_DEBUGFS "/" POOL "/cache", "drop"));
	ASSERT_EQ(0, write_text(TRACEFS "/events/cmabuf/enable", "0"));
	ASSERT_EQ(0, histogram_read(&after));
	text = trace_read();
	ASSERT_NE(NULL, text);

	/* cmabuf_alloc: the served ones, each field; their latencies are the histogram's. */
	EXPECT_EQ(6, count_events(text, "cmabuf_alloc")) TH_LOG("%s", text);
	for (i = 0; i < 5; i++) {
		line = event_of(text, "cmabuf_alloc", served[i]->id);
		ASSERT_NE(NULL, line) TH_LOG("no cmabuf_alloc of buffer %u", served[i]->id);
		check_alloc_event(_metadata, line, served[i], served[i] == &warm);
		histogram_place(served[i]->size, field(line, "latency_ns"), &cl, &bu);
		grown[cl][bu]++;
	}
	for (i = 0; i < CLASSES * BUCKETS; i++) {
		long long want = grown[i / BUCKETS][i % BUCKETS];
		long long got = after.count[i / BUCKETS][i % BUCKETS] -
				before.count[i / BUCKETS][i % BUCKETS];

		EXPECT_EQ(want, got)
			TH_LOG("histogram %s bucket <%llu us: grew by %lld, events say %lld",
			       CLASS_NAMES[i / BUCKETS], 1ULL << (i % BUCKETS + 1), got, want);
	}

	/* The refused one: cmabuf_alloc with its errno, and cmabuf_alloc_fail. */
	line = event_of(text, "cmabuf_alloc", 0);
	ASSERT_NE(NULL, line);
	EXPECT_EQ((long long)LIMIT, field(line, "size"));
	EXPECT_EQ(EDQUOT, field(line, "errno"));
	EXPECT_EQ(getpid(), field(line, "tgid"));
	EXPECT_EQ(0, field(line, "warm"));
	EXPECT_LE(0, field(line, "latency_ns"));
	EXPECT_GE((long long)over.alloc_ns, field(line, "latency_ns"));
	line = next_event(text, "cmabuf_alloc_fail", NULL);
	ASSERT_NE(NULL, line);
	EXPECT_EQ(1, count_events(text, "cmabuf_alloc_fail"));
	EXPECT_STREQ(POOL, field_text(line, "pool", reason, sizeof(reason)));
	EXPECT_EQ((long long)LIMIT, field(line, "size"));
	EXPECT_EQ(getpid(), field(line, "tgid"));
	EXPECT_EQ(EDQUOT, field(line, "errno"));
	EXPECT_STREQ("limit", field_text(line, "reason", reason, sizeof(reason)));
	EXPECT_EQ(-1, field(line, "pfn")) TH_LOG("a limit has no blocking page");
	EXPECT_EQ(0, field(line, "attempts"));

	/* cmabuf_free: a and b went to the cache; the rest too (cache_bytes is 16 MiB). */
	check_free_event(_metadata, event_of(text, "cmabuf_free", a.id), &a, true);
	check_free_event(_metadata, event_of(text, "cmabuf_free", b.id), &b, true);
	check_free_event(_metadata, event_of(text, "cmabuf_free", c.id), &c, true);
	check_free_event(_metadata, event_of(text, "cmabuf_free", warm.id), &warm, true);
	check_free_event(_metadata, event_of(text, "cmabuf_free", miss.id), &miss, true);
	EXPECT_EQ(5, count_events(text, "cmabuf_free"));

	/* cmabuf_prepare. */
	line = next_event(text, "cmabuf_prepare", NULL);
	ASSERT_NE(NULL, line);
	EXPECT_EQ((long long)(2 * MiB), field(line, "run_size"));
	EXPECT_EQ(1, field(line, "runs"));
	EXPECT_EQ((long long)(2 * MiB), field(line, "bytes"));
	EXPECT_EQ(getpid(), field(line, "tgid"));
	EXPECT_LT(0, field(line, "duration_ns"));
	EXPECT_GE((long long)prep_ns, field(line, "duration_ns"));
	EXPECT_EQ(0, field(line, "errno"));

	/* The warm cache: one hit (zeroed, not prepared), one miss with b's run there. */
	EXPECT_EQ(1, count_events(text, "cmabuf_cache_hit"));
	line = next_event(text, "cmabuf_cache_hit", NULL);
	ASSERT_NE(NULL, line);
	EXPECT_EQ((long long)MiB, field(line, "size"));
	EXPECT_EQ(1, field(line, "zeroed"));
	EXPECT_EQ(0, field(line, "prepared"));
	EXPECT_EQ(1, count_events(text, "cmabuf_cache_miss"));
	line = next_event(text, "cmabuf_cache_miss", NULL);
	ASSERT_NE(NULL, line);
	EXPECT_EQ((long long)(3 * MiB), field(line, "size"));
	EXPECT_EQ(1, field(line, "cached_runs"));
	/* a's run was zeroed in the background before the hit. */
	line = next_event(text, "cmabuf_cache_zeroed", NULL);
	ASSERT_NE(NULL, line);
	EXPECT_EQ((long long)MiB, field(line, "size"));
	EXPECT_EQ(1, field(line, "ok"));
	EXPECT_LT(0, field(line, "duration_ns"));
	/* Released: the prepared run on the first drop, with b's unless it made room. */
	line = NULL;
	i = 0;
	while ((line = next_event(text, "cmabuf_cache_release", line))) {
		field_text(line, "reason", reason, sizeof(reason));
		EXPECT_TRUE(!strcmp(reason, "dropped") || !strcmp(reason, "for_room"))
			TH_LOG("reason %s", reason);
		if (field(line, "prepared") == 1) {
			EXPECT_STREQ("dropped", reason);
			EXPECT_EQ((long long)(2 * MiB), field(line, "size"));
			i++;
		}
	}
	EXPECT_EQ(1, i) TH_LOG("the prepared run's release");
	/* Every run cached is released: a (reused), b, c, warm, miss, the prepared one. */
	EXPECT_EQ(5, count_events(text, "cmabuf_cache_release"));
	EXPECT_EQ(0, info_value(POOL, "cached"));
	free(text);
	close(pool);
}

/* With the events off, the same work leaves nothing in the trace buffer. */
TEST(disabled_events_record_nothing)
{
	struct asked a = { .size = MiB, .flags = CMABUF_CACHED };
	struct asked over = { .size = LIMIT + MiB, .flags = CMABUF_CACHED };
	int pool = pool_open(POOL);
	char enabled[8];
	char *text;

	ASSERT_LE(0, pool);
	ASSERT_EQ(0, trace_reset(false));
	ASSERT_LT(0, read_text(TRACEFS "/events/cmabuf/cmabuf_alloc/enable", enabled,
			       sizeof(enabled)));
	EXPECT_EQ('0', enabled[0]);
	ASSERT_EQ(0, asked_alloc(pool, &a));
	asked_free(&a);
	EXPECT_EQ(-EDQUOT, asked_alloc(pool, &over));
	EXPECT_EQ(0, prepare(pool, MiB, 1, 60000));
	ASSERT_EQ(0, write_text(CMABUF_DEBUGFS "/" POOL "/cache", "drop"));
	text = trace_read();
	ASSERT_NE(NULL, text);
	EXPECT_EQ(NULL, strstr(text, ": cmabuf_")) TH_LOG("%s", text);
	free(text);

	/* The same buffer records them once they are on. */
	ASSERT_EQ(0, trace_reset(true));
	ASSERT_EQ(0, asked_alloc(pool, &a));
	asked_free(&a);
	ASSERT_EQ(0, write_text(TRACEFS "/events/cmabuf/enable", "0"));
	text = trace_read();
	ASSERT_NE(NULL, text);
	EXPECT_NE(NULL, event_of(text, "cmabuf_alloc", a.id));
	EXPECT_NE(NULL, event_of(text, "cmabuf_free", a.id));
	free(text);
	ASSERT_EQ(0, write_text(CMABUF_DEBUGFS "/" POOL "/cache", "drop"));
	close(pool);
}

/* The admin guide's filter: only failed allocations are recorded. */
TEST(filter_keeps_failed_allocations)
{
	struct asked a = { .size = MiB, .flags = CMABUF_CACHED };
	struct asked over = { .size = LIMIT + MiB, .flags = CMABUF_CACHED };
	const char *filter = TRACEFS "/events/cmabuf/cmabuf_alloc/filter";
	int pool = pool_open(POOL);
	const char *line;
	char *text;

	ASSERT_LE(0, pool);
	ASSERT_EQ(0, trace_reset(true));
	ASSERT_EQ(0, write_text(filter, "errno != 0"));
	ASSERT_EQ(0, asked_alloc(pool, &a));
	asked_free(&a);
	EXPECT_EQ(-EDQUOT, asked_alloc(pool, &over));
	ASSERT_EQ(0, write_text(TRACEFS "/events/cmabuf/enable", "0"));
	ASSERT_EQ(0, write_text(filter, "0"));
	text = trace_read();
	ASSERT_NE(NULL, text);
	EXPECT_EQ(1, count_events(text, "cmabuf_alloc")) TH_LOG("%s", text);
	line = next_event(text, "cmabuf_alloc", NULL);
	ASSERT_NE(NULL, line);
	EXPECT_EQ(EDQUOT, field(line, "errno"));
	EXPECT_EQ((long long)over.size, field(line, "size"));
	/* The other events are not filtered. */
	EXPECT_NE(NULL, event_of(text, "cmabuf_free", a.id));
	EXPECT_EQ(1, count_events(text, "cmabuf_alloc_fail"));
	free(text);
	ASSERT_EQ(0, write_text(CMABUF_DEBUGFS "/" POOL "/cache", "drop"));
	close(pool);
}

TEST(teardown)
{
	EXPECT_EQ(0, trace_reset(false));
	ASSERT_EQ(0, module_reload("")) TH_LOG("%s", strerror(errno));
}

TEST_HARNESS_MAIN
