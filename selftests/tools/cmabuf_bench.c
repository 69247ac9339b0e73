// SPDX-License-Identifier: GPL-2.0
/*
 * cmabuf_bench: cmabuf against the kernel's dma-buf CMA heap on the same CMA area, in
 * the same boot. Every scenario is interleaved round by round (who goes first
 * alternates, a settle gap between rounds), so that drift hits both sides alike.
 *
 *   cmabuf_bench [--smoke] [--pool NAME] [--heap PATH] [--file PAGE-CACHE-FILE]
 *                [--only SCENARIO,...] [--rounds N] [--pressure-rounds N]
 *
 * Every result is one line "cmabuf-bench: {json}" with its raw samples (read by
 * scripts/bench-report.py, which aggregates several boots; Documentation/benchmarks.md
 * has the schema and the method), plus a readable "# ..." row. The configuration
 * ("cache-off", the module's default, or "cache-on") is read from the pool's debugfs
 * info (cache_limit), so a run cannot be mislabelled. Where the module has a debugfs
 * `profile` (stage times of its allocations), its change over each scenario is printed
 * too.
 *
 * Times are wall-clock in the guest: hardware-speed under KVM, not under QEMU TCG
 * (there only the ratios between the two allocators mean something).
 *
 * --smoke runs every scenario briefly and prints TAP: make check runs it so that the
 * benchmark cannot rot.
 */
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>

#include "../cmabuf_util.h"
#include "../memory_filler.h"

enum backend { CMABUF, HEAP, NR_BACKENDS };
static const char *const backend_names[NR_BACKENDS] = { "cmabuf", "cma-heap" };

/* p99 is only a percentile with at least this many samples; below, the max is shown. */
#define P99_MIN_SAMPLES 200
/* Untimed gap after each round, so that one side's background work settles. */
#define SETTLE_US 20000

static struct {
	bool smoke;
	int rounds, pressure_rounds;
	const char *pool, *only;
	char config[16];
	char heap_path[128];
	char region[64];
	char cma_area[64];
	uint64_t pool_size, area_size, cache_limit;
	int pool_fd, heap_fd;
	int tap_n, tap_failed;
} B = { .pool = "camera", .pool_fd = -1, .heap_fd = -1 };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static double since_us(uint64_t t0)
{
	return (now_ns() - t0) / 1000.0;
}

/* One buffer of size bytes from backend b in cache mode cache; the fd or -errno. */
static int bench_alloc(enum backend b, uint64_t size, uint32_t cache)
{
	if (b == CMABUF)
		return buf_alloc(B.pool_fd, size, 0, cache, O_RDWR | O_CLOEXEC);

	struct dma_heap_allocation_data req = { .len = size, .fd_flags = O_RDWR | O_CLOEXEC };

	if (ioctl(B.heap_fd, DMA_HEAP_IOCTL_ALLOC, &req) < 0)
		return -errno;
	return req.fd;
}

/* Round r's order: which backend goes k-th (alternates, so neither always follows). */
static enum backend nth(int r, int k)
{
	return (r + k) % NR_BACKENDS;
}

/* Samples of one measurement (µs, MB/s or %), failures counted apart. */
struct series {
	double *v;
	int n, ok, cap;
};

static void series_add(struct series *s, double v, bool ok)
{
	if (s->ok == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			exit(1);
	}
	if (ok)
		s->v[s->ok++] = v;
	s->n++;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The p-quantile of sorted samples (nearest rank). */
static double quantile(const double *v, int n, double p)
{
	return n ? v[(int)(p * (n - 1) + 0.5)] : 0;
}

static bool wanted(const char *scenario)
{
	const char *p = B.only;
	size_t len = strlen(scenario);

	if (!p)
		return true;
	while (*p) {
		if (!strncmp(p, scenario, len) && (p[len] == ',' || !p[len]))
			return true;
		p = strchr(p, ',');
		if (!p)
			break;
		p++;
	}
	return false;
}

/*
 * Prints one result: JSON with the raw samples in measurement order, a table row for
 * people, TAP in smoke mode. extra: more JSON members (", ..." without the comma), or
 * NULL. Frees the samples.
 */
static void report(const char *scenario, const char *param, const char *backend,
		   const char *unit, struct series *s, const char *extra)
{
	double *sorted = malloc((s->ok ? s->ok : 1) * sizeof(*sorted));
	double p50, p99, max;
	char p99s[32] = "null";
	int i;

	if (!sorted)
		exit(1);
	memcpy(sorted, s->v, s->ok * sizeof(*sorted));
	qsort(sorted, s->ok, sizeof(*sorted), cmp_double);
	p50 = quantile(sorted, s->ok, 0.5);
	p99 = quantile(sorted, s->ok, 0.99);
	max = quantile(sorted, s->ok, 1.0);
	if (s->ok >= P99_MIN_SAMPLES)
		snprintf(p99s, sizeof(p99s), "%.3f", p99);
	printf("cmabuf-bench: {\"scenario\": \"%s\", \"param\": \"%s\", \"backend\": \"%s\", "
	       "\"config\": \"%s\", \"unit\": \"%s\", \"n\": %d, \"ok\": %d, \"p50\": %.3f, "
	       "\"p99\": %s, \"max\": %.3f%s%s, \"samples\": [",
	       scenario, param, backend, B.config, unit, s->n, s->ok, p50, p99s, max,
	       extra ? ", " : "", extra ? extra : "");
	for (i = 0; i < s->ok; i++)
		printf("%s%.2f", i ? ", " : "", s->v[i]);
	printf("]}\n");
	printf("# %-16s %-24s %-20s p50 %10.1f  %s %10.1f %-5s ok %d/%d\n", scenario, param,
	       backend, p50, s->ok >= P99_MIN_SAMPLES ? "p99" : "max", s->ok >= P99_MIN_SAMPLES ? p99 : max,
	       unit, s->ok, s->n);
	if (B.smoke) {
		bool good = s->n > 0 && s->ok > 0;

		B.tap_n++;
		B.tap_failed += !good;
		printf("%sok %d bench smoke: %s %s on %s measured (%d/%d)\n", good ? "" : "not ",
		       B.tap_n, scenario, param, backend, s->ok, s->n);
	}
	free(sorted);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* A case left out, with why (printed as JSON, never as a result). */
static void skipped(const char *scenario, const char *param, const char *why)
{
	printf("cmabuf-bench: {\"skipped\": true, \"scenario\": \"%s\", \"param\": \"%s\", "
	       "\"config\": \"%s\", \"why\": \"%s\"}\n", scenario, param, B.config, why);
	printf("# %-16s %-24s skipped: %s\n", scenario, param, why);
}

/* A JSON array of n integers into buf ("[1, 2]"). */
static void json_ints(char *buf, size_t len, const long long *v, int n)
{
	size_t at = snprintf(buf, len, "[");
	int i;

	for (i = 0; i < n && at < len; i++)
		at += snprintf(buf + at, len - at, "%s%lld", i ? ", " : "", v[i]);
	if (at < len)
		snprintf(buf + at, len - at, "]");
}

/* Empties cmabuf's warm cache, so that no run stays out of the system's reach. */
static void drop_cache(void)
{
	char path[128];

	snprintf(path, sizeof(path), CMABUF_DEBUGFS "/%s/cache", B.pool);
	write_text(path, "drop");
}

/* ---- The module's stage profile (debugfs <pool>/profile), per scenario ---- */

#define PROFILE_KEYS 32
struct profile {
	int n;
	char key[PROFILE_KEYS][32];
	long long val[PROFILE_KEYS];
};

static bool profile_read(struct profile *p)
{
	char path[128], text[4096], *line, *save;

	memset(p, 0, sizeof(*p));
	snprintf(path, sizeof(path), CMABUF_DEBUGFS "/%s/profile", B.pool);
	if (read_text(path, text, sizeof(text)) < 0)
		return false;
	for (line = strtok_r(text, "\n", &save); line && p->n < PROFILE_KEYS;
	     line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');

		if (!colon || colon - line >= (int)sizeof(p->key[0]))
			continue;
		memcpy(p->key[p->n], line, colon - line);
		p->key[p->n][colon - line] = 0;
		p->val[p->n++] = strtoll(colon + 1, NULL, 10);
	}
	return p->n > 0;
}

struct stage {
	const char *scenario;
	bool have_profile;
	struct profile before;
	uint64_t t0;
};

static bool stage_begin(struct stage *st, const char *scenario)
{
	if (!wanted(scenario))
		return false;
	st->scenario = scenario;
	st->have_profile = profile_read(&st->before);
	st->t0 = now_ns();
	return true;
}

static void stage_end(struct stage *st)
{
	struct profile after;
	int i, j;

	printf("cmabuf-bench: {\"elapsed\": true, \"config\": \"%s\", \"scenario\": \"%s\", "
	       "\"seconds\": %.1f}\n", B.config, st->scenario, (now_ns() - st->t0) / 1e9);
	if (!st->have_profile || !profile_read(&after))
		return;
	printf("cmabuf-bench: {\"profile\": true, \"config\": \"%s\", \"scenario\": \"%s\"",
	       B.config, st->scenario);
	for (i = 0; i < after.n; i++) {
		long long before = 0;

		for (j = 0; j < st->before.n; j++)
			if (!strcmp(st->before.key[j], after.key[i]))
				before = st->before.val[j];
		printf(", \"%s\": %lld", after.key[i], after.val[i] - before);
	}
	printf("}\n");
}

/* ---- 1. Idle: allocate + free, one size at a time ---- */

static void scenario_idle(void)
{
	static const uint64_t full[] = { 4 * KiB, 64 * KiB, 1 * MiB, 4 * MiB, 16 * MiB, 32 * MiB };
	static const uint64_t smoke[] = { 4 * KiB, 1 * MiB };
	const uint64_t *sizes = B.smoke ? smoke : full;
	int nr = B.smoke ? 2 : 6, i, r, k;

	for (i = 0; i < nr; i++) {
		struct series s[NR_BACKENDS] = { 0 };
		char param[32];

		snprintf(param, sizeof(param), "%llu %s",
			 (unsigned long long)(sizes[i] >= MiB ? sizes[i] / MiB : sizes[i] / KiB),
			 sizes[i] >= MiB ? "MiB" : "KiB");
		if (sizes[i] > B.pool_size / 2) {
			skipped("idle_alloc_free", param, "more than half the pool");
			continue;
		}
		/* What the last size left cached would only crowd the CMA heap. */
		drop_cache();
		for (r = 0; r < B.rounds; r++) {
			for (k = 0; k < NR_BACKENDS; k++) {
				enum backend b = nth(r, k);
				uint64_t t0 = now_ns();
				int fd = bench_alloc(b, sizes[i], CMABUF_CACHED);

				if (fd >= 0)
					close(fd);
				series_add(&s[b], since_us(t0), fd >= 0);
			}
			/* Idle between requests, as a real user is. */
			usleep(SETTLE_US);
		}
		for (k = 0; k < NR_BACKENDS; k++)
			report("idle_alloc_free", param, backend_names[k], "us", &s[k], NULL);
	}
}

/* Whether each side can keep depth buffers of size bytes in flight. */
static bool pipeline_fits(uint64_t size, int depth)
{
	return depth * size <= B.pool_size * 3 / 4 && 2 * depth * size <= B.area_size * 3 / 4;
}

/* ---- 2. Steady pipeline: a queue of frames in flight, the oldest replaced per frame ---- */

static void scenario_pipeline(void)
{
	static const struct { const char *name; uint64_t size; } formats[] = {
		{ "1080p NV12", 1920 * 1080 * 3 / 2 },
		{ "720p RGBA", 1280 * 720 * 4 },
		{ "4K NV12", 3840 * 2160 * 3 / 2 },
		{ "4K RGBA", 3840 * 2160 * 4 },
	};
	int f, k, i, frames = B.smoke ? 16 : 240;

	for (f = 0; f < (B.smoke ? 1 : 4); f++) {
		uint64_t size = formats[f].size;
		/*
		 * A V4L2 queue of 4 per side, fewer (not under 2) if one queue would take
		 * more than three quarters of the pool or both more than three quarters of
		 * the area they share.
		 */
		int depth = 4;
		struct series s[NR_BACKENDS] = { 0 };
		int ring[NR_BACKENDS][4];
		char extra[32];

		while (depth >= 2 && !pipeline_fits(size, depth))
			depth--;
		if (depth < 2) {
			skipped("steady_pipeline", formats[f].name,
				"two queues of two frames do not fit the pool and its area");
			continue;
		}
		drop_cache();
		for (k = 0; k < NR_BACKENDS; k++)
			for (i = 0; i < depth; i++)
				ring[k][i] = bench_alloc(k, size, CMABUF_CACHED);
		for (i = 0; i < frames; i++) {
			/* The frame interval of a 100 fps pipeline (untimed). */
			usleep(10000);
			for (k = 0; k < NR_BACKENDS; k++) {
				enum backend b = nth(i, k);
				int *slot = &ring[b][i % depth];
				uint64_t t0;

				if (*slot >= 0)
					close(*slot);
				t0 = now_ns();
				*slot = bench_alloc(b, size, CMABUF_CACHED);
				series_add(&s[b], since_us(t0), *slot >= 0);
			}
		}
		for (k = 0; k < NR_BACKENDS; k++)
			for (i = 0; i < depth; i++)
				if (ring[k][i] >= 0)
					close(ring[k][i]);
		snprintf(extra, sizeof(extra), "\"depth\": %d", depth);
		for (k = 0; k < NR_BACKENDS; k++)
			report("steady_pipeline", formats[f].name, backend_names[k], "us", &s[k], extra);
	}
}

/* ---- 3. Mixed sizes in steady state: 16 in flight, each replaced by another size ---- */

static void scenario_mixed(void)
{
	static const uint64_t sizes[] = { 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1 * MiB, 2 * MiB };
	int steps = B.smoke ? 24 : 240, i, k, slot[NR_BACKENDS][16];
	struct series s[NR_BACKENDS] = { 0 };
	uint32_t seed = 12345;

	drop_cache();
	for (k = 0; k < NR_BACKENDS; k++)
		for (i = 0; i < 16; i++)
			slot[k][i] = -1;
	for (i = 0; i < steps; i++) {
		uint64_t size;

		/* The same pseudo-random sequence of sizes for both sides. */
		seed = seed * 1103515245 + 12345;
		size = sizes[(seed >> 16) % 6];
		for (k = 0; k < NR_BACKENDS; k++) {
			enum backend b = nth(i, k);
			int *fd = &slot[b][i % 16];
			uint64_t t0;

			if (*fd >= 0)
				close(*fd);
			t0 = now_ns();
			*fd = bench_alloc(b, size, CMABUF_CACHED);
			/* The first 16 steps fill the queue: only replacements are timed. */
			if (i >= 16)
				series_add(&s[b], since_us(t0), *fd >= 0);
		}
		usleep(2000);
	}
	for (k = 0; k < NR_BACKENDS; k++)
		for (i = 0; i < 16; i++)
			if (slot[k][i] >= 0)
				close(slot[k][i]);
	for (k = 0; k < NR_BACKENDS; k++)
		report("mixed_sizes", "4 KiB–2 MiB, 16 in flight", backend_names[k], "us", &s[k],
		       NULL);
}

/* ---- 4. Thousands of small buffers live at once ---- */

static void scenario_small(void)
{
	int count = B.smoke ? 50 : 2000, i, k, *fds[NR_BACKENDS];
	struct series s[NR_BACKENDS] = { 0 }, fr[NR_BACKENDS] = { 0 };
	struct rlimit rl = { 4 * count + 256, 4 * count + 256 };
	char param[32];

	/* Both sides' buffers are open at once. */
	setrlimit(RLIMIT_NOFILE, &rl);
	drop_cache();
	for (k = 0; k < NR_BACKENDS; k++) {
		fds[k] = calloc(count, sizeof(int));
		if (!fds[k])
			exit(1);
	}
	for (i = 0; i < count; i++) {
		for (k = 0; k < NR_BACKENDS; k++) {
			enum backend b = nth(i, k);
			uint64_t t0 = now_ns();

			fds[b][i] = bench_alloc(b, 4 * KiB, CMABUF_CACHED);
			series_add(&s[b], since_us(t0), fds[b][i] >= 0);
		}
	}
	/* Then each freed, interleaved likewise. */
	for (i = 0; i < count; i++) {
		for (k = 0; k < NR_BACKENDS; k++) {
			enum backend b = nth(i, k);
			uint64_t t0 = now_ns();

			if (fds[b][i] >= 0) {
				close(fds[b][i]);
				series_add(&fr[b], since_us(t0), true);
			}
		}
	}
	snprintf(param, sizeof(param), "%d × 4 KiB", count);
	for (k = 0; k < NR_BACKENDS; k++)
		report("small_buffers", param, backend_names[k], "us", &s[k], NULL);
	snprintf(param, sizeof(param), "%d × 4 KiB, free", count);
	for (k = 0; k < NR_BACKENDS; k++) {
		report("small_buffers", param, backend_names[k], "us", &fr[k], NULL);
		free(fds[k]);
	}
}

/* ---- 5. Concurrency: threads, and processes, allocating and freeing 1 MiB at once ---- */

struct worker {
	enum backend b;
	double us;
	bool ok;
	pthread_barrier_t *start;
};

/* One allocate + free of 1 MiB: the time, or -1 on failure. */
static double one_alloc_free(enum backend b)
{
	uint64_t t0 = now_ns();
	int fd = bench_alloc(b, MiB, CMABUF_CACHED);

	if (fd < 0)
		return -1;
	close(fd);
	return since_us(t0);
}

static void *thread_worker(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(w->start);
	w->us = one_alloc_free(w->b);
	w->ok = w->us >= 0;
	return NULL;
}

/* n threads, released together, one operation each; their times into s. */
static void threads_round(enum backend b, int n, struct series *s)
{
	struct worker w[8];
	pthread_t tid[8];
	pthread_barrier_t start;
	int i;

	pthread_barrier_init(&start, NULL, n);
	for (i = 0; i < n; i++) {
		w[i] = (struct worker){ .b = b, .start = &start };
		pthread_create(&tid[i], NULL, thread_worker, &w[i]);
	}
	for (i = 0; i < n; i++) {
		pthread_join(tid[i], NULL);
		series_add(s, w[i].us, w[i].ok);
	}
	pthread_barrier_destroy(&start);
}

/*
 * n processes, released together by closing a pipe, one operation each; each writes
 * its time back. Each has the parent's pool and heap descriptors, and its own pid for
 * cmabuf's per-process accounting.
 */
static void processes_round(enum backend b, int n, struct series *s)
{
	int go[2], res[2], i;
	pid_t pid[8];

	if (pipe(go) || pipe(res))
		exit(1);
	for (i = 0; i < n; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			char c;
			double us;

			close(go[1]);
			/* Returns 0 (end of file) when the parent closes its end: go. */
			if (read(go[0], &c, 1) < 0)
				_exit(1);
			us = one_alloc_free(b);
			_exit(write(res[1], &us, sizeof(us)) == sizeof(us) ? 0 : 1);
		}
	}
	close(go[0]);
	close(res[1]);
	close(go[1]);
	for (i = 0; i < n; i++) {
		double us = -1;
		bool ok = pid[i] > 0 && read(res[0], &us, sizeof(us)) == sizeof(us);

		series_add(s, us, ok && us >= 0);
	}
	close(res[0]);
	for (i = 0; i < n; i++)
		if (pid[i] > 0)
			waitpid(pid[i], NULL, 0);
}

static void scenario_concurrency(void)
{
	static const struct { int n; bool fork; } cases[] = {
		{ 1, false }, { 2, false }, { 4, false }, { 4, true },
	};
	int c, r, k;

	drop_cache();
	for (c = 0; c < (B.smoke ? 2 : 4); c++) {
		struct series s[NR_BACKENDS] = { 0 };
		char param[32];

		for (r = 0; r < B.rounds; r++) {
			for (k = 0; k < NR_BACKENDS; k++) {
				enum backend b = nth(r, k);

				if (cases[c].fork)
					processes_round(b, cases[c].n, &s[b]);
				else
					threads_round(b, cases[c].n, &s[b]);
			}
			usleep(SETTLE_US / 4);
		}
		snprintf(param, sizeof(param), "%d %s, 1 MiB", cases[c].n,
			 cases[c].fork ? "processes" : "threads");
		for (k = 0; k < NR_BACKENDS; k++)
			report(cases[c].fork ? "processes" : "concurrency", param, backend_names[k],
			       "us", &s[k], NULL);
	}
}

/* ---- 6. Mapping: first write through a fresh mapping, then write and read ---- */

static double mbps(uint64_t bytes, double us)
{
	return us > 0 ? bytes / us : 0;
}

/*
 * s[0]: mmap + first write of every byte + munmap, as MB/s of the buffer (what a
 * fresh mapping costs, faults included); s[1], s[2]: write and read of the mapped
 * buffer, once mapped and faulted in.
 */
static void measure_mapping(int fd, uint64_t size, struct series s[3])
{
	uint64_t *p, sum = 0, i, t0 = now_ns();
	double first, unmap;

	p = fd >= 0 ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) :
		      mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		for (i = 0; i < 3; i++)
			series_add(&s[i], 0, false);
		return;
	}
	memset(p, 0x11, size);
	first = since_us(t0);
	t0 = now_ns();
	memset(p, 0x22, size);
	series_add(&s[1], mbps(size, since_us(t0)), true);
	t0 = now_ns();
	for (i = 0; i < size / 8; i++)
		sum += ((volatile uint64_t *)p)[i];
	series_add(&s[2], mbps(size, since_us(t0)), sum == 0x2222222222222222ULL * (size / 8));
	t0 = now_ns();
	munmap(p, size);
	unmap = since_us(t0);
	series_add(&s[0], mbps(size, first + unmap), true);
}

static void scenario_mapping(void)
{
	static const struct { const char *name; enum backend b; uint32_t cache; bool anon; } cfg[] = {
		{ "cmabuf", CMABUF, CMABUF_CACHED, false },
		{ "cma-heap", HEAP, CMABUF_CACHED, false },
		{ "cmabuf-writecombine", CMABUF, CMABUF_WRITECOMBINE, false },
		{ "cmabuf-uncached", CMABUF, CMABUF_UNCACHED, false },
		{ "anonymous", HEAP, 0, true },
	};
	static const char *const ops[3] = { "first write", "write", "read" };
	uint64_t size = B.smoke ? MiB : 16 * MiB;
	struct series s[5][3] = { 0 };
	int r, k, o, nr = B.smoke ? 2 : 5;

	drop_cache();
	for (r = 0; r < B.rounds; r++) {
		for (k = 0; k < nr; k++) {
			/* Who goes first rotates through the five. */
			int c = (r + k) % nr;
			int fd = cfg[c].anon ? -1 : bench_alloc(cfg[c].b, size, cfg[c].cache);

			if (!cfg[c].anon && fd < 0) {
				for (o = 0; o < 3; o++)
					series_add(&s[c][o], 0, false);
				continue;
			}
			measure_mapping(fd, size, s[c]);
			if (fd >= 0)
				close(fd);
		}
		usleep(SETTLE_US / 4);
	}
	for (o = 0; o < 3; o++) {
		char param[64];

		snprintf(param, sizeof(param), "%s %llu MiB%s", ops[o],
			 (unsigned long long)(size / MiB), o ? "" : " (mmap+write+munmap)");
		for (k = 0; k < nr; k++)
			report("mapping", param, cfg[k].name, "MB/s", &s[k][o], NULL);
	}
}

/* ---- Memory pressure: the pool lent out, and what is lent of its own area ---- */

/* The guest's own memcpy rate in MB/s (the copy floor's divisor). */
static double memcpy_rate(void)
{
	uint64_t size = 32 * MiB, t0, ns, best = ~0ULL;
	char *a = malloc(size), *b = malloc(size);
	int r;

	if (!a || !b)
		return 0;
	memset(a, 1, size);
	memset(b, 2, size);
	for (r = 0; r < 5; r++) {
		t0 = now_ns();
		memcpy(b, a, size);
		ns = now_ns() - t0;
		best = ns < best ? ns : best;
	}
	free(a);
	free(b);
	return mbps(size, best / 1000.0);
}

/* A /proc/vmstat counter ("key value" lines), or -1. */
static long long vmstat(const char *key)
{
	static char buf[32768];
	size_t klen = strlen(key);
	const char *p = buf;

	if (read_text("/proc/vmstat", buf, sizeof(buf)) < 0)
		return -1;
	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == ' ')
			return strtoll(p + klen + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

/* A number in a /sys/kernel/debug/cma/<area>/<file>, or -1. */
static long long cma_debugfs(const char *file)
{
	char path[160], text[64];

	snprintf(path, sizeof(path), "/sys/kernel/debug/cma/%s/%s", B.cma_area, file);
	if (read_text(path, text, sizeof(text)) < 0)
		return -1;
	return strtoll(text, NULL, 10);
}

#define KPF_LRU 5
/*
 * Pages of the pool's own CMA area the system uses (on the LRU lists: page cache and
 * anonymous memory, /proc/kpageflags), or -1. Pages allocated from the area (cmabuf's
 * buffers, warm cache and prepared runs, the heap's buffers) are never on the LRU: they
 * do not count as lent.
 */
static long long area_lent_pages(long long *area_pages)
{
	long long base = cma_debugfs("base_pfn"), count = cma_debugfs("count"), lent = 0, i;
	static uint64_t flags[4096];
	int fd;

	*area_pages = count;
	if (base < 0 || count <= 0)
		return -1;
	fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (i = 0; i < count; i += 4096) {
		long long n = count - i < 4096 ? count - i : 4096, j;

		if (pread(fd, flags, n * 8, (base + i) * 8) != n * 8) {
			close(fd);
			return -1;
		}
		for (j = 0; j < n; j++)
			lent += (flags[j] >> KPF_LRU) & 1;
	}
	close(fd);
	return lent;
}

/* Page cache from a file on the ext2 file system of the virtio-blk disk, if any. */
static int page_cache_file = -1;

static void read_page_cache(void)
{
	static char buf[1 << 16];

	if (page_cache_file < 0)
		return;
	lseek(page_cache_file, 0, SEEK_SET);
	while (read(page_cache_file, buf, sizeof(buf)) > 0)
		;
}

/* Lends the CMA areas out: page cache, then anonymous memory until 90 % of CMA is used. */
static void lend_out(struct filler *fill)
{
	read_page_cache();
	fill_until_cma_used(fill, meminfo_kb("CmaTotal") * 9 / 10);
}

/*
 * 7. Pressure: one allocation of 25, 50, 75 and 90 % of the pool while it is lent out.
 * The copy floor is the bytes the kernel migrated for it divided by the guest's memcpy
 * rate: "x_copy_floor" is how many times that floor the allocation took.
 */
static void scenario_pressure(double copy_mbps)
{
	static const int fractions[] = { 25, 50, 75, 90 };
	int f, r, k, nr = B.smoke ? 1 : 4, rounds = B.smoke ? 1 : B.pressure_rounds;

	for (f = 0; f < nr; f++) {
		struct series s[NR_BACKENDS] = { 0 };
		long long *migrated[NR_BACKENDS], *lent[NR_BACKENDS];
		double *floor[NR_BACKENDS];
		int nm[NR_BACKENDS] = { 0 };
		uint64_t size = B.pool_size * fractions[f] / 100 / 4096 * 4096;
		char param[32];

		for (k = 0; k < NR_BACKENDS; k++) {
			migrated[k] = calloc(rounds, sizeof(long long));
			lent[k] = calloc(rounds, sizeof(long long));
			floor[k] = calloc(rounds, sizeof(double));
			if (!migrated[k] || !lent[k] || !floor[k])
				exit(1);
		}
		for (r = 0; r < rounds; r++) {
			for (k = 0; k < NR_BACKENDS; k++) {
				enum backend b = nth(r, k);
				long long moved, area;
				struct filler fill;
				uint64_t t0;
				double us;
				int fd;

				drop_cache();
				lend_out(&fill);
				lent[b][nm[b]] = area_lent_pages(&area);
				moved = vmstat("pgmigrate_success");
				t0 = now_ns();
				fd = bench_alloc(b, size, CMABUF_CACHED);
				us = since_us(t0);
				moved = vmstat("pgmigrate_success") - moved;
				if (fd >= 0)
					close(fd);
				unfill(&fill);
				series_add(&s[b], us, fd >= 0);
				if (fd >= 0) {
					migrated[b][nm[b]] = moved * 4096 / 1024;
					floor[b][nm[b]] = moved > 0 && copy_mbps > 0 ?
						us / (moved * 4096.0 / copy_mbps) : 0;
					nm[b]++;
				}
				usleep(SETTLE_US);
			}
		}
		snprintf(param, sizeof(param), "%d%% of pool", fractions[f]);
		for (k = 0; k < NR_BACKENDS; k++) {
			static char extra[3 * 16384];
			size_t at;
			int i;

			at = snprintf(extra, sizeof(extra), "\"migrated_kib\": ");
			json_ints(extra + at, sizeof(extra) - at, migrated[k], nm[k]);
			at = strlen(extra);
			at += snprintf(extra + at, sizeof(extra) - at, ", \"area_lent_pages\": ");
			json_ints(extra + at, sizeof(extra) - at, lent[k], nm[k]);
			at = strlen(extra);
			at += snprintf(extra + at, sizeof(extra) - at, ", \"x_copy_floor\": [");
			for (i = 0; i < nm[k] && at < sizeof(extra); i++)
				at += snprintf(extra + at, sizeof(extra) - at, "%s%.2f", i ? ", " : "",
					       floor[k][i]);
			if (at < sizeof(extra))
				snprintf(extra + at, sizeof(extra) - at, "]");
			report("pressure", param, backend_names[k], "us", &s[k], extra);
			free(migrated[k]);
			free(lent[k]);
			free(floor[k]);
		}
	}
}

/*
 * 8. First frame: the first 1080p NV12 allocation after the pool was lent out: on the
 * CMA heap, on cmabuf, and on cmabuf after CMABUF_IOC_PREPARE, whose own duration is
 * timed too ("cmabuf-prepare": the work the heap does in its allocation, done ahead).
 */
static void scenario_first_frame(void)
{
	uint64_t size = 1920 * 1080 * 3 / 2;
	struct series s[3] = { 0 }, prep = { 0 };
	int r, k, rounds = B.smoke ? 1 : B.pressure_rounds;

	for (r = 0; r < rounds; r++) {
		for (k = 0; k < 3; k++) {
			int v = (r + k) % 3, fd;
			struct filler fill;
			uint64_t t0;
			double us;
			bool ok = true;

			drop_cache();
			lend_out(&fill);
			if (v == 2) {
				struct cmabuf_prepare req = {
					.size = size, .count = 1, .timeout_ms = 5000,
				};

				t0 = now_ns();
				ok = ioctl(B.pool_fd, CMABUF_IOC_PREPARE, &req) == 0;
				series_add(&prep, since_us(t0), ok);
			}
			t0 = now_ns();
			fd = bench_alloc(v == 0 ? HEAP : CMABUF, size, CMABUF_CACHED);
			us = since_us(t0);
			if (fd >= 0)
				close(fd);
			unfill(&fill);
			drop_cache();
			series_add(&s[v], us, ok && fd >= 0);
			usleep(SETTLE_US);
		}
	}
	report("first_frame", "1080p NV12", "cma-heap", "us", &s[0], NULL);
	report("first_frame", "1080p NV12", "cmabuf", "us", &s[1], NULL);
	report("first_frame", "1080p NV12", "cmabuf-prepare", "us", &prep, NULL);
	report("first_frame", "1080p NV12, prepared", "cmabuf", "us", &s[2], NULL);
}

/*
 * 9. Lending: with the pool idle, how much of its own CMA area the system uses once
 * memory is full. With the cache on, the cache is warmed first (buffers of a quarter of
 * its limit each, allocated and freed): what it holds counts as not lent, unless the
 * shrinker gives it back under the pressure.
 */
static void scenario_lending(void)
{
	struct series s = { 0 };
	long long area = 0, held_sum = 0;
	char extra[128];
	int r, rounds = B.smoke ? 1 : 3;
	bool warm = B.cache_limit > 0;

	for (r = 0; r < rounds; r++) {
		struct filler fill;
		long long lent;

		drop_cache();
		if (warm) {
			uint64_t size = B.cache_limit / 4 / 4096 * 4096;
			int fd[4], i;

			for (i = 0; i < 4; i++)
				fd[i] = size ? bench_alloc(CMABUF, size, CMABUF_CACHED) : -1;
			for (i = 0; i < 4; i++)
				if (fd[i] >= 0)
					close(fd[i]);
		}
		read_page_cache();
		fill_until_cma_used(&fill, meminfo_kb("CmaTotal"));
		lent = area_lent_pages(&area);
		held_sum += info_value(B.pool, "cached") / 4096;
		unfill(&fill);
		series_add(&s, area > 0 ? 100.0 * lent / area : 0, lent >= 0 && area > 0);
		usleep(SETTLE_US);
	}
	drop_cache();
	snprintf(extra, sizeof(extra), "\"area_pages\": %lld, \"held_pages\": %lld", area,
		 held_sum / rounds);
	report("lending", warm ? "idle pool, cache warm" : "idle pool", "pool area", "%", &s,
	       extra);
}

/* ---- Setup ---- */

static long long cma_debugfs(const char *file);

static int open_backends(const char *heap)
{
	char path[128], text[4096], *p;

	B.pool_fd = pool_open(B.pool);
	if (B.pool_fd < 0) {
		fprintf(stderr, "cmabuf_bench: /dev/cmabuf-%s: %s\n", B.pool, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), CMABUF_DEBUGFS "/%s/info", B.pool);
	if (read_text(path, text, sizeof(text)) < 0)
		return -1;
	p = strstr(text, "region: ");
	sscanf(p ? p + 8 : "", "%63s", B.region);
	p = strstr(text, "cma_area: ");
	sscanf(p ? p + 10 : "", "%63s", B.cma_area);
	B.pool_size = text_field(text, "size");
	B.cache_limit = text_field(text, "cache_limit") > 0 ? text_field(text, "cache_limit") : 0;
	/* The CMA area the pool and the heap share; the pool's size if not in debugfs. */
	B.area_size = cma_debugfs("count") > 0 ? cma_debugfs("count") * getpagesize() : B.pool_size;
	snprintf(B.config, sizeof(B.config), "%s", B.cache_limit ? "cache-on" : "cache-off");
	/* The heap of the same area: named after the region, or the default area's. */
	if (heap)
		snprintf(B.heap_path, sizeof(B.heap_path), "%s", heap);
	else
		snprintf(B.heap_path, sizeof(B.heap_path), "/dev/dma_heap/%s", B.region);
	B.heap_fd = open(B.heap_path, O_RDONLY | O_CLOEXEC);
	if (B.heap_fd < 0 && !heap) {
		snprintf(B.heap_path, sizeof(B.heap_path), "/dev/dma_heap/default_cma_region");
		B.heap_fd = open(B.heap_path, O_RDONLY | O_CLOEXEC);
	}
	if (B.heap_fd < 0) {
		fprintf(stderr, "cmabuf_bench: %s: %s\n", B.heap_path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *heap = NULL;
	struct stage st;
	struct utsname u;
	double copy;
	int i;

	B.rounds = B.pressure_rounds = -1;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--smoke"))
			B.smoke = true;
		else if (!strcmp(argv[i], "--pool") && i + 1 < argc)
			B.pool = argv[++i];
		else if (!strcmp(argv[i], "--heap") && i + 1 < argc)
			heap = argv[++i];
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			B.only = argv[++i];
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			B.rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--pressure-rounds") && i + 1 < argc)
			B.pressure_rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--file") && i + 1 < argc)
			page_cache_file = open(argv[++i], O_RDONLY | O_CLOEXEC);
		else {
			fprintf(stderr, "usage: cmabuf_bench [--smoke] [--pool NAME] [--heap PATH] "
				"[--file PAGE-CACHE-FILE] [--only SCENARIO,...] [--rounds N] "
				"[--pressure-rounds N]\n");
			return 2;
		}
	}
	if (B.rounds < 1)
		B.rounds = B.smoke ? 3 : 30;
	if (B.pressure_rounds < 1)
		B.pressure_rounds = B.smoke ? 1 : B.rounds;
	if (B.smoke)
		printf("TAP version 13\n");
	if (open_backends(heap)) {
		if (B.smoke)
			printf("1..1\nnot ok 1 bench smoke: the pool or its CMA heap is missing\n");
		return 1;
	}
	uname(&u);
	copy = memcpy_rate();
	printf("cmabuf-bench: {\"meta\": true, \"config\": \"%s\", \"kernel\": \"%s\", "
	       "\"machine\": \"%s\", \"cpus\": %ld, \"mem_kib\": %lld, \"pool\": \"%s\", "
	       "\"pool_bytes\": %llu, \"area_bytes\": %llu, \"heap\": \"%s\", \"region\": \"%s\", \"cma_area\": \"%s\", "
	       "\"cache_bytes\": %llu, \"rounds\": %d, \"pressure_rounds\": %d, "
	       "\"memcpy_mbps\": %.0f, \"smoke\": %s}\n",
	       B.config, u.release, u.machine, sysconf(_SC_NPROCESSORS_ONLN),
	       meminfo_kb("MemTotal"), B.pool, (unsigned long long)B.pool_size, (unsigned long long)B.area_size, B.heap_path,
	       B.region, B.cma_area, (unsigned long long)B.cache_limit, B.rounds,
	       B.pressure_rounds, copy, B.smoke ? "true" : "false");

	drop_cache();
	if (stage_begin(&st, "idle_alloc_free")) {
		scenario_idle();
		stage_end(&st);
	}
	if (stage_begin(&st, "steady_pipeline")) {
		scenario_pipeline();
		stage_end(&st);
	}
	if (stage_begin(&st, "mixed_sizes")) {
		scenario_mixed();
		stage_end(&st);
	}
	if (stage_begin(&st, "small_buffers")) {
		scenario_small();
		stage_end(&st);
	}
	if (stage_begin(&st, "concurrency")) {
		scenario_concurrency();
		stage_end(&st);
	}
	if (stage_begin(&st, "mapping")) {
		scenario_mapping();
		stage_end(&st);
	}
	if (stage_begin(&st, "pressure")) {
		scenario_pressure(copy);
		stage_end(&st);
	}
	if (stage_begin(&st, "first_frame")) {
		scenario_first_frame();
		stage_end(&st);
	}
	if (stage_begin(&st, "lending")) {
		scenario_lending();
		stage_end(&st);
	}
	drop_cache();

	if (B.smoke)
		printf("1..%d\n", B.tap_n);
	printf("cmabuf-bench: {\"done\": true, \"config\": \"%s\"}\n", B.config);
	return B.tap_failed ? 1 : 0;
}
