// SPDX-License-Identifier: GPL-2.0
/*
 * cmabuf_bench: cmabuf against the kernel's dma-buf CMA heap on the same reusable pool,
 * in the same boot, interleaved round by round so that drift hits both.
 *
 *   cmabuf_bench [--smoke] [--pool camera]
 *
 * Every figure is printed as one line "cmabuf-bench: {json}" (scripts/bench-report.py
 * turns them into the Markdown table, JSON and plot of Documentation/benchmarks/), and
 * as a readable table. Times are wall-clock in the guest: under QEMU TCG they are not
 * hardware times, only the ratios between the two allocators mean something.
 *
 * --smoke runs every scenario briefly and prints TAP instead of the full figures; make
 * check runs it so that the benchmark cannot rot.
 */
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>

#include "../cmabuf_util.h"
#include "../memory_filler.h"

enum backend { CMABUF, HEAP, NR_BACKENDS };
static const char *const backend_names[NR_BACKENDS] = { "cmabuf", "cma-heap" };

static struct {
	bool smoke;
	int rounds;
	const char *pool;
	char heap_path[128];
	char region[64];
	uint64_t pool_size;
	int pool_fd;
	int heap_fd;
	int tap_n;
	int tap_failed;
} B = { .pool = "camera", .pool_fd = -1, .heap_fd = -1 };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* One buffer of size bytes from backend b, cached, read-write; the fd or -errno. */
static int bench_alloc(enum backend b, uint64_t size, uint32_t cache)
{
	if (b == CMABUF)
		return buf_alloc(B.pool_fd, size, 0, cache, O_RDWR | O_CLOEXEC);

	struct dma_heap_allocation_data req = { .len = size, .fd_flags = O_RDWR | O_CLOEXEC };

	if (ioctl(B.heap_fd, DMA_HEAP_IOCTL_ALLOC, &req) < 0)
		return -errno;
	return req.fd;
}

/* Samples of one measurement, in microseconds (or MB/s for bandwidths). */
struct series {
	double *v;
	int n, ok, cap;
};

static void series_add(struct series *s, double v, bool ok)
{
	if (s->n == s->cap) {
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

static double pct(struct series *s, double p)
{
	int i;

	if (!s->ok)
		return 0;
	qsort(s->v, s->ok, sizeof(*s->v), cmp_double);
	i = (int)(p * (s->ok - 1) + 0.5);
	return s->v[i];
}

/* Prints one result: JSON for the report, a table row for people, TAP in smoke mode. */
static void report(const char *scenario, const char *param, const char *backend,
		   const char *unit, struct series *s, const char *extra)
{
	double p50 = pct(s, 0.5), p99 = pct(s, 0.99), max = pct(s, 1.0);

	printf("cmabuf-bench: {\"scenario\": \"%s\", \"param\": \"%s\", \"backend\": \"%s\", "
	       "\"unit\": \"%s\", \"rounds\": %d, \"ok\": %d, \"p50\": %.3f, \"p99\": %.3f, "
	       "\"max\": %.3f%s%s}\n",
	       scenario, param, backend, unit, s->n, s->ok, p50, p99, max,
	       extra ? ", " : "", extra ? extra : "");
	printf("# %-16s %-14s %-22s p50 %10.1f  p99 %10.1f  max %10.1f %-5s ok %d/%d\n",
	       scenario, param, backend, p50, p99, max, unit, s->ok, s->n);
	if (B.smoke) {
		bool good = s->n > 0 && s->ok > 0;

		B.tap_n++;
		B.tap_failed += !good;
		printf("%sok %d bench smoke: %s %s on %s measured (%d/%d)\n", good ? "" : "not ",
		       B.tap_n, scenario, param, backend, s->ok, s->n);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static void drop_cache(void);

static void touch_pages(volatile uint8_t *p, uint64_t size)
{
	uint64_t i;

	for (i = 0; i < size; i += 4096)
		p[i] = 1;
}

/* 1. Idle sweep: allocate + free, and allocate + mmap + first-touch write + free. */
static void scenario_idle(void)
{
	static const uint64_t full[] = { 4 * KiB, 64 * KiB, 1 * MiB, 4 * MiB, 16 * MiB, 32 * MiB };
	static const uint64_t smoke[] = { 4 * KiB, 1 * MiB };
	const uint64_t *sizes = B.smoke ? smoke : full;
	int nr = B.smoke ? 2 : 6, i, r, k, touch;

	for (touch = 0; touch < 2; touch++) {
		for (i = 0; i < nr; i++) {
			struct series s[NR_BACKENDS] = { 0 };
			char param[32];

			if (sizes[i] > B.pool_size / 2)
				continue;
			/* What the last size left cached would only crowd the CMA heap. */
			drop_cache();
			for (r = 0; r < B.rounds; r++) {
				for (k = 0; k < NR_BACKENDS; k++) {
					/* Alternate who goes first, so neither always follows the other. */
					enum backend b = (r + k) % NR_BACKENDS;
					uint64_t t0 = now_ns();
					int fd = bench_alloc(b, sizes[i], CMABUF_CACHED);
					bool ok = fd >= 0;

					if (ok && touch) {
						void *p = mmap(NULL, sizes[i], PROT_READ | PROT_WRITE,
							       MAP_SHARED, fd, 0);

						ok = p != MAP_FAILED;
						if (ok) {
							touch_pages(p, sizes[i]);
							munmap(p, sizes[i]);
						}
					}
					if (fd >= 0)
						close(fd);
					series_add(&s[b], (now_ns() - t0) / 1000.0, ok);
				}
				/* Idle between requests, as a real user is (untimed). */
				usleep(20000);
			}
			snprintf(param, sizeof(param), "%llu KiB", (unsigned long long)(sizes[i] / KiB));
			for (k = 0; k < NR_BACKENDS; k++)
				report(touch ? "idle_alloc_map_touch" : "idle_alloc_free", param,
				       backend_names[k], "us", &s[k], NULL);
		}
	}
}

/* 3. Steady pipeline: 8 same-size buffers in flight, the oldest replaced each frame. */
static void scenario_pipeline(void)
{
	static const struct { const char *name; uint64_t size; } formats[] = {
		{ "1080p NV12", 1920 * 1080 * 3 / 2 },
		{ "720p RGBA", 1280 * 720 * 4 },
	};
	int f, k, i, r, frames = B.smoke ? 16 : 8 * B.rounds;

	for (f = 0; f < (B.smoke ? 1 : 2); f++) {
		for (r = 0; r < NR_BACKENDS; r++) {
			enum backend b = (f + r) % NR_BACKENDS;
			struct series s = { 0 };
			int ring[8];

			for (i = 0; i < 8; i++)
				ring[i] = bench_alloc(b, formats[f].size, CMABUF_CACHED);
			for (i = 0; i < frames; i++) {
				uint64_t t0;

				/* The frame interval of a 100 fps pipeline (untimed). */
				usleep(10000);
				if (ring[i % 8] >= 0)
					close(ring[i % 8]);
				t0 = now_ns();
				ring[i % 8] = bench_alloc(b, formats[f].size, CMABUF_CACHED);
				series_add(&s, (now_ns() - t0) / 1000.0, ring[i % 8] >= 0);
			}
			for (i = 0; i < 8; i++)
				if (ring[i] >= 0)
					close(ring[i]);
			report("steady_pipeline", formats[f].name, backend_names[b], "us", &s, NULL);
		}
	}
	(void)k;
}

/* 5. Concurrency: 1, 2, 4 threads allocating and freeing 1 MiB buffers. */
struct worker {
	enum backend b;
	int ops;
	struct series s;
	pthread_barrier_t *start;
};

static void *concurrency_worker(void *arg)
{
	struct worker *w = arg;
	int i;

	pthread_barrier_wait(w->start);
	for (i = 0; i < w->ops; i++) {
		uint64_t t0 = now_ns();
		int fd = bench_alloc(w->b, MiB, CMABUF_CACHED);

		if (fd >= 0)
			close(fd);
		series_add(&w->s, (now_ns() - t0) / 1000.0, fd >= 0);
	}
	return NULL;
}

static void scenario_concurrency(void)
{
	static const int threads[] = { 1, 2, 4 };
	int t, k, i;

	for (t = 0; t < (B.smoke ? 2 : 3); t++) {
		for (k = 0; k < NR_BACKENDS; k++) {
			enum backend b = (t + k) % NR_BACKENDS;
			struct worker w[4] = { 0 };
			pthread_t tid[4];
			pthread_barrier_t start;
			struct series all = { 0 };
			char param[32];
			int j;

			pthread_barrier_init(&start, NULL, threads[t]);
			for (i = 0; i < threads[t]; i++) {
				w[i] = (struct worker){ .b = b, .ops = B.rounds, .start = &start };
				pthread_create(&tid[i], NULL, concurrency_worker, &w[i]);
			}
			for (i = 0; i < threads[t]; i++) {
				pthread_join(tid[i], NULL);
				for (j = 0; j < w[i].s.ok; j++)
					series_add(&all, w[i].s.v[j], true);
				for (; j < w[i].s.n; j++)
					series_add(&all, 0, false);
				free(w[i].s.v);
			}
			pthread_barrier_destroy(&start);
			snprintf(param, sizeof(param), "%d threads, 1 MiB", threads[t]);
			report("concurrency", param, backend_names[b], "us", &all, NULL);
		}
	}
}

/* 6. Mapping bandwidth: first write, write and read through the mmap, in MB/s. */
static double mbps(uint64_t bytes, uint64_t ns)
{
	return ns ? bytes * 1000.0 / ns : 0;
}

static void measure_mapping(const char *what, int fd, uint64_t size, struct series s[3])
{
	uint64_t *p, t0, sum = 0, i;
	bool ok;

	p = fd >= 0 ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) :
		      mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ok = p != MAP_FAILED;
	if (!ok) {
		for (i = 0; i < 3; i++)
			series_add(&s[i], 0, false);
		return;
	}
	t0 = now_ns();
	memset(p, 0x11, size);
	series_add(&s[0], mbps(size, now_ns() - t0), true);
	t0 = now_ns();
	memset(p, 0x22, size);
	series_add(&s[1], mbps(size, now_ns() - t0), true);
	t0 = now_ns();
	for (i = 0; i < size / 8; i++)
		sum += ((volatile uint64_t *)p)[i];
	series_add(&s[2], mbps(size, now_ns() - t0), sum == 0x2222222222222222ULL * (size / 8));
	munmap(p, size);
	(void)what;
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
	int r, c, o, nr = B.smoke ? 2 : 5;

	for (r = 0; r < B.rounds; r++) {
		for (c = 0; c < nr; c++) {
			int fd = cfg[c].anon ? -1 : bench_alloc(cfg[c].b, size, cfg[c].cache);

			if (!cfg[c].anon && fd < 0) {
				for (o = 0; o < 3; o++)
					series_add(&s[c][o], 0, false);
				continue;
			}
			measure_mapping(cfg[c].name, fd, size, s[c]);
			if (fd >= 0)
				close(fd);
		}
	}
	for (o = 0; o < 3; o++) {
		char param[48];

		snprintf(param, sizeof(param), "%s %llu MiB", ops[o], (unsigned long long)(size / MiB));
		for (c = 0; c < nr; c++)
			report("mapping", param, cfg[c].name, "MB/s", &s[c][o], NULL);
	}
}

/* The guest's own memcpy rate in MB/s (the copy floor's divisor). */
static double memcpy_rate(void)
{
	uint64_t size = 32 * MiB, t0, best = ~0ULL;
	char *a = malloc(size), *b = malloc(size);
	int r;

	if (!a || !b)
		return 0;
	memset(a, 1, size);
	memset(b, 2, size);
	for (r = 0; r < 5; r++) {
		t0 = now_ns();
		memcpy(b, a, size);
		best = now_ns() - t0 < best ? now_ns() - t0 : best;
	}
	free(a);
	free(b);
	return mbps(size, best);
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

/* Empties cmabuf's warm cache, so that no run stays out of the system's reach. */
static void drop_cache(void)
{
	char path[128];

	snprintf(path, sizeof(path), CMABUF_DEBUGFS "/%s/cache", B.pool);
	write_text(path, "drop");
}

/*
 * 2. Pressure: the pool lent out to page cache (a file on the ext2 file system of the
 * virtio-blk disk, when there is one) and anonymous memory, then one allocation of 25,
 * 50, 75 and 90 % of the pool. The copy floor is the bytes the kernel migrated for it
 * divided by the guest's memcpy rate.
 */
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

static void scenario_pressure(double copy_mbps)
{
	static const int fractions[] = { 25, 50, 75, 90 };
	int f, r, k, nr = B.smoke ? 1 : 4, rounds = B.smoke ? 1 : B.rounds;

	for (f = 0; f < nr; f++) {
		struct series s[NR_BACKENDS] = { 0 }, floor_ratio[NR_BACKENDS] = { 0 };
		uint64_t size = B.pool_size * fractions[f] / 100 / 4096 * 4096;
		long long lent_sum[NR_BACKENDS] = { 0 };
		char param[32];

		for (r = 0; r < rounds; r++) {
			for (k = 0; k < NR_BACKENDS; k++) {
				enum backend b = (r + k) % NR_BACKENDS;
				long long migrated, lent;
				struct filler fill;
				uint64_t t0, ns;
				int fd;

				drop_cache();
				read_page_cache();
				fill_until_cma_used(&fill, meminfo_kb("CmaTotal") * 9 / 10);
				lent = meminfo_kb("CmaTotal") - meminfo_kb("CmaFree");
				lent_sum[b] += lent;
				migrated = vmstat("pgmigrate_success");
				t0 = now_ns();
				fd = bench_alloc(b, size, CMABUF_CACHED);
				ns = now_ns() - t0;
				migrated = vmstat("pgmigrate_success") - migrated;
				if (fd >= 0)
					close(fd);
				unfill(&fill);
				series_add(&s[b], ns / 1000.0, fd >= 0);
				drop_cache();
				if (fd >= 0 && migrated > 0 && copy_mbps > 0) {
					double floor_us = migrated * 4096.0 / copy_mbps;

					series_add(&floor_ratio[b], ns / 1000.0 / floor_us, true);
				}
			}
		}
		snprintf(param, sizeof(param), "%d%% of pool", fractions[f]);
		for (k = 0; k < NR_BACKENDS; k++) {
			char extra[160];

			char floor[32] = "null";

			if (floor_ratio[k].ok)
				snprintf(floor, sizeof(floor), "%.2f", pct(&floor_ratio[k], 0.5));
			snprintf(extra, sizeof(extra),
				 "\"x_copy_floor_p50\": %s, \"lent_kib_avg\": %lld", floor,
				 lent_sum[k] / rounds);
			free(floor_ratio[k].v);
			report("pressure", param, backend_names[k], "us", &s[k], extra);
		}
	}
}

/*
 * 4. First frame: the first 1080p NV12 allocation after the pool was lent out, on the
 * CMA heap, on cmabuf, and on cmabuf after CMABUF_IOC_PREPARE (called untimed, as an
 * application does at start-up).
 */
static void scenario_first_frame(void)
{
	static const char *const names[3] = { "cma-heap", "cmabuf", "cmabuf" };
	uint64_t size = 1920 * 1080 * 3 / 2;
	struct series s[3] = { 0 };
	int r, k, rounds = B.smoke ? 1 : B.rounds;

	for (r = 0; r < rounds; r++) {
		for (k = 0; k < 3; k++) {
			int v = (r + k) % 3, fd;
			struct filler fill;
			uint64_t t0, ns;
			bool ok = true;

			drop_cache();
			read_page_cache();
			fill_until_cma_used(&fill, meminfo_kb("CmaTotal") * 9 / 10);
			if (v == 2) {
				struct cmabuf_prepare req = {
					.size = size, .count = 1, .timeout_ms = 5000,
				};

				ok = ioctl(B.pool_fd, CMABUF_IOC_PREPARE, &req) == 0;
			}
			t0 = now_ns();
			fd = bench_alloc(v == 0 ? HEAP : CMABUF, size, CMABUF_CACHED);
			ns = now_ns() - t0;
			if (fd >= 0)
				close(fd);
			unfill(&fill);
			drop_cache();
			series_add(&s[v], ns / 1000.0, ok && fd >= 0);
		}
	}
	report("first_frame", "1080p NV12", names[0], "us", &s[0], NULL);
	report("first_frame", "1080p NV12", names[1], "us", &s[1], NULL);
	report("first_frame", "1080p NV12, prepared", names[2], "us", &s[2], NULL);
}

/* 7. Lending: with the pools idle, how much of CMA the system uses once memory is full. */
static void scenario_lending(void)
{
	struct series s = { 0 };
	long long total = meminfo_kb("CmaTotal");
	struct filler fill;
	char extra[96];
	int r;

	for (r = 0; r < (B.smoke ? 1 : 3); r++) {
		long long used;

		/* Idle means nothing of cmabuf's either: no cached run held back. */
		drop_cache();
		fill_until_cma_used(&fill, total);
		used = total - meminfo_kb("CmaFree");
		unfill(&fill);
		series_add(&s, total ? 100.0 * used / total : 0, total > 0);
	}
	snprintf(extra, sizeof(extra), "\"cma_total_kib\": %lld", total);
	report("lending", "CMA used by the system", "reusable pools", "%", &s, extra);
}

static int open_backends(void)
{
	char path[128], text[4096];

	B.pool_fd = pool_open(B.pool);
	if (B.pool_fd < 0) {
		fprintf(stderr, "cmabuf_bench: /dev/cmabuf-%s: %s\n", B.pool, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), CMABUF_DEBUGFS "/%s/info", B.pool);
	if (read_text(path, text, sizeof(text)) < 0)
		return -1;
	sscanf(strstr(text, "region: ") ? strstr(text, "region: ") + 8 : "", "%63s", B.region);
	B.pool_size = text_field(text, "size");
	snprintf(B.heap_path, sizeof(B.heap_path), "/dev/dma_heap/%s", B.region);
	B.heap_fd = open(B.heap_path, O_RDONLY | O_CLOEXEC);
	if (B.heap_fd < 0) {
		fprintf(stderr, "cmabuf_bench: %s: %s\n", B.heap_path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct utsname u;
	double copy;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--smoke"))
			B.smoke = true;
		else if (!strcmp(argv[i], "--pool") && i + 1 < argc)
			B.pool = argv[++i];
		else if (!strcmp(argv[i], "--file") && i + 1 < argc)
			page_cache_file = open(argv[++i], O_RDONLY | O_CLOEXEC);
		else {
			fprintf(stderr, "usage: cmabuf_bench [--smoke] [--pool NAME] [--file PAGE-CACHE-FILE]\n");
			return 2;
		}
	}
	B.rounds = B.smoke ? 3 : 30;
	if (B.smoke)
		printf("TAP version 13\n");
	if (open_backends()) {
		if (B.smoke)
			printf("1..1\nnot ok 1 bench smoke: the pool or its CMA heap is missing\n");
		return 1;
	}
	uname(&u);
	copy = memcpy_rate();
	printf("cmabuf-bench: {\"meta\": true, \"kernel\": \"%s\", \"machine\": \"%s\", "
	       "\"cpus\": %ld, \"mem_kib\": %lld, \"pool\": \"%s\", \"pool_bytes\": %llu, "
	       "\"heap\": \"%s\", \"rounds\": %d, \"memcpy_mbps\": %.0f, \"smoke\": %s}\n",
	       u.release, u.machine, sysconf(_SC_NPROCESSORS_ONLN), meminfo_kb("MemTotal"),
	       B.pool, (unsigned long long)B.pool_size, B.heap_path, B.rounds, copy,
	       B.smoke ? "true" : "false");

	drop_cache();
	scenario_idle();
	scenario_pipeline();
	scenario_concurrency();
	scenario_mapping();
	scenario_pressure(copy);
	scenario_first_frame();
	scenario_lending();

	if (B.smoke)
		printf("1..%d\n", B.tap_n);
	printf("cmabuf-bench: {\"done\": true}\n");
	return B.tap_failed ? 1 : 0;
}
