// SPDX-License-Identifier: GPL-2.0
/*
 * cmabuf_aging_bench: how a pool ages under a camera app's mode switches, on cmabuf and
 * on the kernel's dma-buf CMA heap of the same CMA area, with the same operations.
 *
 *   cmabuf_aging_bench [--smoke] [--pool NAME] [--heap PATH] [--ops N] [--seed S]
 *                      [--switch-every N] [--only cmabuf|cma-heap]
 *   cmabuf_aging_bench --plan-only POOL-BYTES [--dump] [--ops N] [--seed S] [--switch-every N]
 *
 * --plan-only prints what the plan for a pool of that size would be (its operations,
 * allocations, mode switches, planned occupancy and hash) without any device: on any
 * machine, to check a seed's plan; --dump also prints its steps, one a line:
 * "alloc <buffer> <bytes> frame|meta", "free <buffer>", "switched" (a mode switch's
 * frames are freed).
 *
 * The workload is a plan made from the seed alone (xorshift64*, printed), never from
 * what an allocation returned, so both allocators get exactly the same sequence of
 * operations (its FNV-1a hash is printed with each result). An operation is one
 * allocation or one free; --ops (100 000 by default) of them:
 *  - a mode switch frees the frames of the current mode and allocates the next mode's:
 *    a target occupancy drawn from 70-90 % of the pool, then streams of frames until
 *    it is reached (at most 4: main, preview, video, still ...), the first of 4-8
 *    frames, the others of 2-8, each of one of 1080p/4K NV12/RGBA that fits;
 *  - between two mode switches (--switch-every operations on average, 200), metadata
 *    and statistics buffers of 4-64 KiB come and go: each lives log-uniformly 1/4 to 4
 *    times the mode switch interval, so most outlive a mode switch.
 * The two allocators run one after the other on the same area (which goes first
 * alternates with the seed), each from an empty area, everything freed after it.
 * cmabuf loaded with a small-buffer arena (small_arena_bytes) runs as "cmabuf-arena",
 * with --only cmabuf (scripts/guest/bench.sh reloads it so after the other two): the
 * arena is taken at bind, so the area's used pages include it, and the heap would not
 * have the same bytes beside it.
 *
 * Per allocator: failed allocations, and those that failed although the area had at
 * least twice the request free (fragmentation, not lack of room); the largest free run
 * and the free bytes of the area at the end, and just after each mode switch freed its
 * frames (what the next mode's frames face). Free and largest run are the CMA area's
 * own (debugfs cma/<area>/used, count and maxchunk, CONFIG_CMA_DEBUGFS), for both
 * allocators alike; cmabuf's CMABUF_IOC_POOL_INFO free and largest_free are printed
 * beside them. Where the area is larger than the pool (the default CMA area on x86_64),
 * a ballast allocated from the heap first fills what is beyond the pool's size, so that
 * both allocators work in the same bytes. Times per operation are wall-clock in the
 * guest: hardware speed under KVM, emulated under QEMU TCG (only the ratios mean
 * something there). Buffers are never mapped: the kernel zeroes each one anyway.
 *
 * Every result is one line "cmabuf-aging: {json}" (scripts/aging-report.py makes the
 * table of Documentation/benchmarks.md, "Aging: fragmentation after mode switches"),
 * plus readable "# ..." lines.
 *
 * --smoke (make check) makes a few hundred operations on each allocator and checks, as
 * TAP, what the figures rely on: the plan is the same for both, every operation ran,
 * every buffer was freed (POOL_INFO used and buffers back to 0, the area's used back to
 * where it was), and POOL_INFO agrees with the area's debugfs where they describe the
 * same bytes.
 */
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/utsname.h>

#include <linux/dma-heap.h>

#include "../cmabuf_util.h"

enum backend { CMABUF, HEAP, NR_BACKENDS };
static const char *const backend_names[NR_BACKENDS] = { "cmabuf", "cma-heap" };

/* Live metadata buffers at most (their fds); the plan frees the oldest beyond. */
#define MAX_META 1024
/* Streams of frames in one mode at most. */
#define MAX_STREAMS 4
/* Failures whose details are printed, per run. */
#define FAILURE_DETAILS 20

static const struct format {
	const char *name;
	uint64_t bytes;
} formats[] = {
	{ "1080p NV12", 1920 * 1080 * 3 / 2 },
	{ "1080p RGBA", 1920 * 1080 * 4 },
	{ "4K NV12", 3840 * 2160 * 3 / 2 },
	{ "4K RGBA", 3840 * 2160 * 4 },
};
#define NR_FORMATS (int)(sizeof(formats) / sizeof(formats[0]))

static struct {
	bool smoke;
	const char *pool, *only;
	char heap_path[128], region[64], cma_area[64];
	uint64_t pool_bytes, page, cache_limit, arena_bytes;
	int pool_fd, heap_fd, ballast_fd;
	bool pool_is_area;
	long ops, switch_every;
	uint64_t seed;
	int tap_n, tap_failed;
} B = { .pool = "camera", .pool_fd = -1, .heap_fd = -1, .ballast_fd = -1,
	.ops = 100000, .switch_every = 200, .seed = 1 };

/*
 * What a run is called in the results: cmabuf loaded with a small-buffer arena
 * (small_arena_bytes, its debugfs arena_size) is "cmabuf-arena", another configuration
 * of the same allocator; scripts/aging-report.py puts it beside the other two.
 */
static const char *backend_name(enum backend b)
{
	return b == CMABUF && B.arena_bytes ? "cmabuf-arena" : backend_names[b];
}

static void tap(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tap(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (!B.smoke)
		return;
	B.tap_n++;
	B.tap_failed += !ok;
	printf("%sok %d aging smoke: ", ok ? "" : "not ", B.tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ---- The plan ---- */

static uint64_t rng;

/* xorshift64* (Vigna): the plan's only source of randomness. */
static uint64_t next_random(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, 1). */
static double uniform(void)
{
	return (next_random() >> 11) * (1.0 / 9007199254740992.0);
}

enum op_kind { OP_ALLOC, OP_FREE, OP_SWITCHED };

/* One step of the plan: an allocation or free of buffer `buf`, or a mode switch's mark. */
struct op {
	enum op_kind kind;
	int buf;
};

/* A buffer of the plan: its size, and whether it is a frame. */
struct planned {
	uint64_t bytes;
	bool frame;
};

struct plan {
	struct op *ops;
	struct planned *bufs;
	long nr_ops, nr_steps, cap_steps, nr_bufs, cap_bufs, allocs, switches;
	uint64_t hash;
	/* Planned occupancy (every allocation succeeding), in units of the pool. */
	double occ_mean, occ_max;
};

static void *grow(void *p, long *cap, long want, size_t size)
{
	if (want <= *cap)
		return p;
	*cap = want * 2;
	p = realloc(p, *cap * size);
	if (!p) {
		fprintf(stderr, "cmabuf_aging_bench: out of memory\n");
		exit(1);
	}
	return p;
}

static void hash_in(struct plan *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++) {
		p->hash ^= (v >> (8 * i)) & 0xff;
		p->hash *= 0x100000001b3ULL;
	}
}

static void emit(struct plan *p, enum op_kind kind, int buf)
{
	p->ops = grow(p->ops, &p->cap_steps, p->nr_steps + 1, sizeof(*p->ops));
	p->ops[p->nr_steps++] = (struct op){ kind, buf };
	hash_in(p, kind);
	hash_in(p, buf);
	if (kind != OP_SWITCHED)
		p->nr_ops++;
	if (kind == OP_ALLOC) {
		p->allocs++;
		hash_in(p, p->bufs[buf].bytes);
	}
}

static int new_buf(struct plan *p, uint64_t bytes, bool frame)
{
	p->bufs = grow(p->bufs, &p->cap_bufs, p->nr_bufs + 1, sizeof(*p->bufs));
	p->bufs[p->nr_bufs] = (struct planned){ (bytes + B.page - 1) / B.page * B.page, frame };
	return p->nr_bufs++;
}

/*
 * The plan for B.seed: B.ops operations on a pool of B.pool_bytes. Made again for each
 * allocator, from the seed only: the hashes of both must match.
 */
static void make_plan(struct plan *p)
{
	int frames[MAX_STREAMS * 8], nr_frames = 0, meta[MAX_META], nr_meta = 0, i;
	long meta_dies[MAX_META];
	uint64_t live = 0, meta_live = 0;
	double occ_sum = 0;
	long occ_n = 0;

	memset(p, 0, sizeof(*p));
	p->hash = 0xcbf29ce484222325ULL;
	rng = B.seed * 0x9E3779B97F4A7C15ULL + 1;
	while (p->nr_ops < B.ops) {
		double target = 0.70 + 0.20 * uniform();
		uint64_t budget, bytes;
		int fits[NR_FORMATS], nr_fits, n, k, st;
		long steps, s;

		/* A mode switch: the old mode's frames go, the new mode's come. */
		for (i = 0; i < nr_frames && p->nr_ops < B.ops; i++) {
			emit(p, OP_FREE, frames[i]);
			live -= p->bufs[frames[i]].bytes;
		}
		nr_frames = 0;
		if (p->nr_ops >= B.ops)
			break;
		emit(p, OP_SWITCHED, -1);
		p->switches++;
		budget = target * B.pool_bytes > meta_live ? target * B.pool_bytes - meta_live : 0;
		/*
		 * The streams of the new mode, each of 2-8 frames of one format (the first of
		 * 4-8: the main stream), until the target is reached (a preview, a video
		 * and a still stream, ...): at most MAX_STREAMS.
		 */
		for (st = 0; st < MAX_STREAMS; st++) {
			int want = st ? 2 : 4;

			nr_fits = 0;
			for (k = 0; k < NR_FORMATS; k++)
				if (want * formats[k].bytes <= budget)
					fits[nr_fits++] = k;
			if (!nr_fits)
				break;
			bytes = formats[fits[next_random() % nr_fits]].bytes;
			n = budget / bytes > 8 ? 8 : budget / bytes;
			for (i = 0; i < n && p->nr_ops < B.ops; i++) {
				frames[nr_frames] = new_buf(p, bytes, true);
				emit(p, OP_ALLOC, frames[nr_frames]);
				live += p->bufs[frames[nr_frames++]].bytes;
			}
			budget -= n * bytes;
		}
		/* Metadata until the next mode switch. */
		steps = B.switch_every / 2 + next_random() % (B.switch_every + 1);
		for (s = 0; s < steps && p->nr_ops < B.ops; s++) {
			int oldest = -1;

			for (i = 0; i < nr_meta; i++)
				if (oldest < 0 || meta_dies[i] < meta_dies[oldest])
					oldest = i;
			if (oldest >= 0 && (meta_dies[oldest] <= p->nr_ops || nr_meta == MAX_META)) {
				emit(p, OP_FREE, meta[oldest]);
				live -= p->bufs[meta[oldest]].bytes;
				meta_live -= p->bufs[meta[oldest]].bytes;
				meta[oldest] = meta[--nr_meta];
				meta_dies[oldest] = meta_dies[nr_meta];
			} else {
				/*
				 * 4-64 KiB, and a lifetime about log-uniform in [1/4, 4] mode
				 * switch intervals: 2^e with e uniform in [0, 4), 2^frac(e)
				 * taken as 1 + frac(e).
				 */
				uint64_t size = (1 + next_random() % 16) * 4 * KiB;
				double e = 4 * uniform();
				double life = B.switch_every / 4.0 * (1 << (int)e) * (1 + e - (int)e);

				meta[nr_meta] = new_buf(p, size, false);
				meta_dies[nr_meta] = p->nr_ops + 1 + (long)life;
				emit(p, OP_ALLOC, meta[nr_meta]);
				live += p->bufs[meta[nr_meta]].bytes;
				meta_live += p->bufs[meta[nr_meta++]].bytes;
			}
			occ_sum += (double)live / B.pool_bytes;
			occ_n++;
			if ((double)live / B.pool_bytes > p->occ_max)
				p->occ_max = (double)live / B.pool_bytes;
		}
	}
	p->occ_mean = occ_n ? occ_sum / occ_n : 0;
}

static void free_plan(struct plan *p)
{
	free(p->ops);
	free(p->bufs);
}

/* ---- The allocators and the area ---- */

static int alloc_on(enum backend b, uint64_t bytes)
{
	struct dma_heap_allocation_data req = { .len = bytes, .fd_flags = O_RDWR | O_CLOEXEC };

	if (b == CMABUF)
		return buf_alloc(B.pool_fd, bytes, 0, CMABUF_CACHED, O_RDWR | O_CLOEXEC);
	if (ioctl(B.heap_fd, DMA_HEAP_IOCTL_ALLOC, &req) < 0)
		return -errno;
	return req.fd;
}

/* A number in /sys/kernel/debug/cma/<area>/<file>, or -1. */
static long long cma_debugfs(const char *file)
{
	char path[192], text[64];

	snprintf(path, sizeof(path), "/sys/kernel/debug/cma/%s/%s", B.cma_area, file);
	if (read_text(path, text, sizeof(text)) < 0)
		return -1;
	return strtoll(text, NULL, 10);
}

/* Empties cmabuf's warm cache (if loaded with one): its runs would stay in the area. */
static void drop_cache(void)
{
	char path[128];

	snprintf(path, sizeof(path), CMABUF_DEBUGFS "/%s/cache", B.pool);
	write_text(path, "drop");
}

/* The area's free bytes and largest free run in bytes (its debugfs), both -1 if unknown. */
struct area_view {
	long long free, largest;
};

static struct area_view area_view(void)
{
	long long count = cma_debugfs("count"), used = cma_debugfs("used");
	long long maxchunk = cma_debugfs("maxchunk");
	struct area_view v = { -1, -1 };

	if (count < 0 || used < 0 || maxchunk < 0)
		return v;
	v.free = (count - used) * (long long)B.page;
	v.largest = maxchunk * (long long)B.page;
	return v;
}

/* Sorted-sample statistics of one operation class, in µs. */
struct times {
	double *v;
	long n, cap;
};

static void times_add(struct times *t, double us)
{
	t->v = grow(t->v, &t->cap, t->n + 1, sizeof(*t->v));
	t->v[t->n++] = us;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* {"n": .., "mean": .., "p50": .., "p99": ..} into buf; frees the samples. */
static void times_json(char *buf, size_t len, struct times *t)
{
	double sum = 0;
	long i;

	if (!t->n) {
		snprintf(buf, len, "{\"n\": 0}");
		return;
	}
	qsort(t->v, t->n, sizeof(*t->v), cmp_double);
	for (i = 0; i < t->n; i++)
		sum += t->v[i];
	snprintf(buf, len, "{\"n\": %ld, \"mean\": %.2f, \"p50\": %.2f, \"p99\": %.2f, "
		 "\"max\": %.2f}", t->n, sum / t->n, t->v[(long)(0.5 * (t->n - 1) + 0.5)],
		 t->v[(long)(0.99 * (t->n - 1) + 0.5)], t->v[t->n - 1]);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* What the end of a run looked like: the area, and cmabuf's own view. */
struct end_state {
	struct area_view area;
	long long pool_free, pool_largest;
};

/* ---- One run: the plan on one allocator ---- */

static int run(enum backend b)
{
	enum { FRAME_ALLOC, META_ALLOC, FREE_OP, NR_CLASSES };
	static const char *const class_names[NR_CLASSES] = { "frame_alloc", "meta_alloc", "free" };
	struct times t[NR_CLASSES] = { 0 };
	char tj[NR_CLASSES][160], details[FAILURE_DETAILS * 96] = "";
	long failures = 0, failures_2x = 0, frame_fail = 0, meta_fail = 0, enomem = 0, ebusy = 0;
	long other = 0, done = 0, frees = 0, idle_n = 0, step, at = 0;
	double idle_sum = 0, idle_min = 1, occ_sum = 0, occ_max = 0;
	long long base_used = cma_debugfs("used"), end_used;
	uint64_t live = 0, t0, start;
	struct cmabuf_pool_info info;
	struct end_state end = { { -1, -1 }, -1, -1 };
	struct plan p;
	bool freed = true, agree = true;
	int *fds, i, ret = 0;

	make_plan(&p);
	fds = malloc(p.nr_bufs * sizeof(*fds));
	if (!fds)
		exit(1);
	for (i = 0; i < p.nr_bufs; i++)
		fds[i] = -1;
	start = now_ns();
	for (step = 0; step < p.nr_steps; step++) {
		const struct op *op = &p.ops[step];
		const struct planned *buf = op->buf >= 0 ? &p.bufs[op->buf] : NULL;

		if (op->kind == OP_SWITCHED) {
			struct area_view v = area_view();

			if (v.free > 0) {
				double r = (double)v.largest / v.free;

				idle_sum += r;
				idle_n++;
				idle_min = r < idle_min ? r : idle_min;
			}
			continue;
		}
		done++;
		if (op->kind == OP_FREE) {
			if (fds[op->buf] >= 0) {
				t0 = now_ns();
				close(fds[op->buf]);
				times_add(&t[FREE_OP], (now_ns() - t0) / 1000.0);
				fds[op->buf] = -1;
				live -= buf->bytes;
				frees++;
			}
		} else {
			t0 = now_ns();
			fds[op->buf] = alloc_on(b, buf->bytes);
			if (fds[op->buf] >= 0) {
				times_add(&t[buf->frame ? FRAME_ALLOC : META_ALLOC], (now_ns() - t0) / 1000.0);
				live += buf->bytes;
			} else {
				struct area_view v = area_view();
				int err = -fds[op->buf];

				failures++;
				frame_fail += buf->frame;
				meta_fail += !buf->frame;
				enomem += err == ENOMEM;
				ebusy += err == EBUSY;
				other += err != ENOMEM && err != EBUSY;
				if (v.free >= 0 && (uint64_t)v.free >= 2 * buf->bytes)
					failures_2x++;
				if (failures <= FAILURE_DETAILS && at < sizeof(details))
					at += snprintf(details + at, sizeof(details) - at,
						       "%s{\"op\": %ld, \"bytes\": %llu, \"errno\": %d, "
						       "\"free\": %lld, \"largest\": %lld}",
						       failures > 1 ? ", " : "", done,
						       (unsigned long long)buf->bytes, err, v.free, v.largest);
				fds[op->buf] = -1;
			}
		}
		occ_sum += (double)live / B.pool_bytes;
		if ((double)live / B.pool_bytes > occ_max)
			occ_max = (double)live / B.pool_bytes;
	}
	double seconds = (now_ns() - start) / 1e9;

	end.area = area_view();
	if (b == CMABUF && !pool_info(B.pool_fd, &info)) {
		end.pool_free = info.free;
		end.pool_largest = info.largest_free;
	}
	/*
	 * Where POOL_INFO and the area describe the same bytes, they must agree (not with a
	 * warm cache, whose runs count as free in POOL_INFO, nor with other users' pages in
	 * the area).
	 */
	if (b == CMABUF && B.pool_is_area && !B.cache_limit && !base_used)
		agree = end.pool_free == end.area.free && end.pool_largest == end.area.largest;

	/* Everything goes; the area must be back to where it was. */
	for (i = 0; i < p.nr_bufs; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (b == CMABUF) {
		freed = wait_used(B.pool_fd, 0, 5000) && !pool_info(B.pool_fd, &info) &&
			info.buffers == 0;
		drop_cache();
	}
	end_used = cma_debugfs("used");
	freed = freed && end_used == base_used;

	for (i = 0; i < NR_CLASSES; i++)
		times_json(tj[i], sizeof(tj[i]), &t[i]);
	printf("cmabuf-aging: {\"result\": true, \"backend\": \"%s\", \"seed\": %llu, "
	       "\"plan_hash\": \"%016llx\", \"ops\": %ld, \"allocs\": %ld, \"frees\": %ld, "
	       "\"mode_switches\": %ld, \"failures\": %ld, \"failures_2x_free\": %ld, "
	       "\"frame_failures\": %ld, \"meta_failures\": %ld, \"enomem\": %ld, "
	       "\"ebusy\": %ld, \"other_errors\": %ld, \"pool_bytes\": %llu, "
	       "\"end_free\": %lld, \"end_largest\": %lld, \"end_ratio\": %.4f, "
	       "\"pool_info_free\": %lld, \"pool_info_largest\": %lld, "
	       "\"switch_ratio_mean\": %.4f, \"switch_ratio_min\": %.4f, "
	       "\"occupancy_mean\": %.4f, \"occupancy_max\": %.4f, "
	       "\"plan_occupancy_mean\": %.4f, \"plan_occupancy_max\": %.4f, "
	       "\"seconds\": %.2f, \"us_per_op\": %.2f, \"%s\": %s, \"%s\": %s, \"%s\": %s, "
	       "\"freed\": %s, \"first_failures\": [%s]}\n",
	       backend_name(b), (unsigned long long)B.seed, (unsigned long long)p.hash, done,
	       p.allocs, frees, p.switches, failures, failures_2x, frame_fail, meta_fail, enomem,
	       ebusy, other, (unsigned long long)B.pool_bytes, end.area.free, end.area.largest,
	       end.area.free > 0 ? (double)end.area.largest / end.area.free : 0,
	       end.pool_free, end.pool_largest, idle_n ? idle_sum / idle_n : 0,
	       idle_n ? idle_min : 0, done ? occ_sum / done : 0, occ_max, p.occ_mean, p.occ_max,
	       seconds, done ? seconds * 1e6 / done : 0, class_names[0], tj[0], class_names[1],
	       tj[1], class_names[2], tj[2], freed ? "true" : "false", details);
	printf("# %-8s seed %llu: %ld ops, %ld of %ld allocations failed (%ld with free >= 2x "
	       "the request), end largest/free %.1f %% (%lld of %lld KiB), after mode switches "
	       "mean %.1f %% min %.1f %%, occupancy mean %.1f %%, %.1f s\n",
	       backend_name(b), (unsigned long long)B.seed, done, failures, p.allocs,
	       failures_2x, end.area.free > 0 ? 100.0 * end.area.largest / end.area.free : 0,
	       end.area.largest / 1024, end.area.free / 1024,
	       idle_n ? 100 * idle_sum / idle_n : 0, idle_n ? 100 * idle_min : 0,
	       done ? 100 * occ_sum / done : 0, seconds);

	tap(done == B.ops && done == p.nr_ops, "%s: every planned operation ran (%ld of %ld)",
	    backend_name(b), done, B.ops);
	tap(p.occ_max <= 0.95 && p.occ_mean >= 0.5,
	    "%s: the plan keeps the pool in use (mean %.0f %%, peak %.0f %%, want >= 50 %%, <= 95 %%)",
	    backend_name(b), 100 * p.occ_mean, 100 * p.occ_max);
	tap(freed, "%s: every buffer freed (area used %lld pages, was %lld)", backend_name(b),
	    end_used, base_used);
	if (b == CMABUF && B.pool_is_area && !B.cache_limit && !base_used)
		tap(agree, "cmabuf: POOL_INFO agrees with the area (free %lld vs %lld, largest %lld vs %lld)",
		    end.pool_free, end.area.free, end.pool_largest, end.area.largest);
	if (!freed || !agree)
		ret = -1;
	if (B.smoke) {
		static uint64_t hashes[NR_BACKENDS];

		hashes[b] = p.hash;
		if (hashes[CMABUF] && hashes[HEAP])
			tap(hashes[CMABUF] == hashes[HEAP], "both allocators ran the same plan (%016llx, %016llx)",
			    (unsigned long long)hashes[CMABUF], (unsigned long long)hashes[HEAP]);
	}
	free(fds);
	free_plan(&p);
	return ret;
}

/* ---- Setup ---- */

static int open_backends(const char *heap)
{
	char path[128], text[4096], *s;
	long long count, used;

	B.pool_fd = pool_open(B.pool);
	if (B.pool_fd < 0) {
		fprintf(stderr, "cmabuf_aging_bench: /dev/cmabuf-%s: %s\n", B.pool, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), CMABUF_DEBUGFS "/%s/info", B.pool);
	if (read_text(path, text, sizeof(text)) < 0) {
		fprintf(stderr, "cmabuf_aging_bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	s = strstr(text, "region: ");
	sscanf(s ? s + 8 : "", "%63s", B.region);
	s = strstr(text, "cma_area: ");
	sscanf(s ? s + 10 : "", "%63s", B.cma_area);
	B.pool_bytes = text_field(text, "size");
	B.cache_limit = text_field(text, "cache_limit") > 0 ? text_field(text, "cache_limit") : 0;
	B.arena_bytes = text_field(text, "arena_size") > 0 ? text_field(text, "arena_size") : 0;
	drop_cache();
	count = cma_debugfs("count");
	used = cma_debugfs("used");
	if (count <= 0 || used < 0 || cma_debugfs("maxchunk") < 0) {
		fprintf(stderr, "cmabuf_aging_bench: /sys/kernel/debug/cma/%s: no count, used or "
			"maxchunk (CONFIG_CMA_DEBUGFS)\n", B.cma_area);
		return -1;
	}
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
		fprintf(stderr, "cmabuf_aging_bench: %s: %s\n", B.heap_path, strerror(errno));
		return -1;
	}
	/*
	 * The area beyond the pool's size is filled by a ballast from the heap, allocated
	 * first (CMA is first-fit from the bottom: it lies below), so that both allocators
	 * have the same bytes.
	 */
	if ((count - used) * (long long)B.page > (long long)B.pool_bytes) {
		uint64_t ballast = (count - used) * B.page - B.pool_bytes;

		B.ballast_fd = alloc_on(HEAP, ballast);
		if (B.ballast_fd < 0) {
			fprintf(stderr, "cmabuf_aging_bench: the ballast of %llu bytes from %s: %s\n",
				(unsigned long long)ballast, B.heap_path, strerror(-B.ballast_fd));
			return -1;
		}
	}
	B.pool_is_area = count * (long long)B.page == (long long)B.pool_bytes && used == 0;
	return 0;
}

int main(int argc, char **argv)
{
	const char *heap = NULL;
	uint64_t plan_only = 0;
	bool dump = false;
	struct rlimit rl = { 4096, 4096 };
	struct utsname u;
	int i, k, ret = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--smoke"))
			B.smoke = true;
		else if (!strcmp(argv[i], "--pool") && i + 1 < argc)
			B.pool = argv[++i];
		else if (!strcmp(argv[i], "--heap") && i + 1 < argc)
			heap = argv[++i];
		else if (!strcmp(argv[i], "--ops") && i + 1 < argc)
			B.ops = atol(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			B.seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--switch-every") && i + 1 < argc)
			B.switch_every = atol(argv[++i]);
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			B.only = argv[++i];
		else if (!strcmp(argv[i], "--plan-only") && i + 1 < argc)
			plan_only = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--dump"))
			dump = true;
		else {
			fprintf(stderr, "usage: cmabuf_aging_bench [--smoke] [--pool NAME] [--heap PATH] "
				"[--ops N] [--seed S] [--switch-every N] [--only cmabuf|cma-heap]\n"
				"       cmabuf_aging_bench --plan-only POOL-BYTES [--dump] [--ops N] [--seed S] "
				"[--switch-every N]\n");
			return 2;
		}
	}
	if (B.smoke) {
		B.ops = 400;
		B.switch_every = 40;
		printf("TAP version 13\n");
	}
	if (B.ops < 1 || B.switch_every < 4 ||
	    (B.only && strcmp(B.only, "cmabuf") && strcmp(B.only, "cma-heap"))) {
		fprintf(stderr, "cmabuf_aging_bench: --ops >= 1, --switch-every >= 4, --only cmabuf or cma-heap\n");
		return 2;
	}
	B.page = getpagesize();
	if (plan_only) {
		struct plan p;
		long frames = 0;

		B.pool_bytes = plan_only;
		make_plan(&p);
		for (i = 0; i < p.nr_bufs; i++)
			frames += p.bufs[i].frame;
		for (long st = 0; dump && st < p.nr_steps; st++) {
			const struct op *op = &p.ops[st];

			if (op->kind == OP_ALLOC)
				printf("alloc %d %llu %s\n", op->buf,
				       (unsigned long long)p.bufs[op->buf].bytes,
				       p.bufs[op->buf].frame ? "frame" : "meta");
			else if (op->kind == OP_FREE)
				printf("free %d\n", op->buf);
			else
				printf("switched\n");
		}
		printf("plan: seed %llu, pool %llu bytes: %ld operations, %ld allocations (%ld "
		       "frames), %ld mode switches, planned occupancy mean %.1f %% peak %.1f %%, "
		       "hash %016llx\n", (unsigned long long)B.seed,
		       (unsigned long long)B.pool_bytes, p.nr_ops, p.allocs, frames, p.switches,
		       100 * p.occ_mean, 100 * p.occ_max, (unsigned long long)p.hash);
		free_plan(&p);
		return 0;
	}
	/* Live metadata and frames, and their fds. */
	setrlimit(RLIMIT_NOFILE, &rl);
	if (open_backends(heap)) {
		if (B.smoke)
			printf("1..1\nnot ok 1 aging smoke: the pool, its CMA heap or the area's debugfs is missing\n");
		return 1;
	}
	uname(&u);
	printf("cmabuf-aging: {\"meta\": true, \"kernel\": \"%s\", \"machine\": \"%s\", "
	       "\"cpus\": %ld, \"pool\": \"%s\", \"pool_bytes\": %llu, \"heap\": \"%s\", "
	       "\"region\": \"%s\", \"cma_area\": \"%s\", \"area_bytes\": %lld, "
	       "\"ballast\": %s, \"cache_bytes\": %llu, \"arena_bytes\": %llu, \"seed\": %llu, \"ops\": %ld, \"switch_every\": %ld, "
	       "\"smoke\": %s}\n",
	       u.release, u.machine, sysconf(_SC_NPROCESSORS_ONLN), B.pool,
	       (unsigned long long)B.pool_bytes, B.heap_path, B.region, B.cma_area,
	       cma_debugfs("count") * (long long)B.page, B.ballast_fd >= 0 ? "true" : "false",
	       (unsigned long long)B.cache_limit, (unsigned long long)B.arena_bytes,
	       (unsigned long long)B.seed, B.ops, B.switch_every, B.smoke ? "true" : "false");
	fflush(stdout);
	/* Which allocator goes first alternates with the seed. */
	for (k = 0; k < NR_BACKENDS; k++) {
		enum backend b = (B.seed + k) % NR_BACKENDS;

		if (B.only && strcmp(B.only, backend_names[b]))
			continue;
		if (run(b))
			ret = 1;
		fflush(stdout);
	}
	if (B.ballast_fd >= 0)
		close(B.ballast_fd);
	if (B.smoke)
		printf("1..%d\n", B.tap_n);
	printf("cmabuf-aging: {\"done\": true, \"seed\": %llu}\n", (unsigned long long)B.seed);
	return B.tap_failed ? 1 : ret;
}
