// SPDX-License-Identifier: GPL-2.0
/*
 * cmabuf_scale_bench: what cmabuf's bookkeeping costs as the number of live buffers
 * grows, and the kernel memory each live buffer takes.
 *
 *   cmabuf_scale_bench [--smoke] [--pool NAME] [--counts N,N,...] [--samples N]
 *                      [--budget-ms MS]
 *
 * On one pool, it fills to N live one-page buffers for each N of --counts (ascending;
 * 100,1000,10000 by default) and at each N takes up to --samples samples of each
 * operation, interleaved round by round:
 *   alloc      CMABUF_IOC_ALLOC of one page (the pool's first-fit search among N runs)
 *   free       the close() that frees that buffer again (the ledger's lookup of it)
 * and, where the module has its debugfs profile, that allocation's stages:
 *   alloc_room the first-fit search for its place (profile room_ns)
 *   alloc_own  the rest of its bookkeeping (own_ns: ledger insertion, limits, export)
 *   alloc_cma  its cma_alloc() (cma_alloc_ns)
 *   pool_info  CMABUF_IOC_POOL_INFO
 *   sysfs_used a read of /sys/class/misc/cmabuf-<pool>/used (open, read, close)
 *   debugfs_buffers  a full read of debugfs <pool>/buffers (one line per buffer)
 *   control    CONTROL_SYSCALLS getppid() system calls, which do not depend on cmabuf:
 *              how fast the machine ran at this N (the host's other load drifts
 *              over a run, and N only grows with time)
 * An operation stops early once it has taken --budget-ms of time and at least
 * MIN_SAMPLES samples (a full debugfs read of 10 000 buffers is slow).
 *
 * The kernel memory per live buffer: /proc/meminfo (Slab, SUnreclaim, VmallocUsed,
 * MemFree) and /proc/slabinfo, settled (selftests/slab_usage.h) with no buffer live and
 * again at each N; the difference divided by N, per slab cache where the kernel has
 * /proc/slabinfo. "kmalloc_large" is the Slab growth outside every slab cache's pages:
 * kmalloc()s above two pages, which come from the page allocator (cmabuf's growing
 * arrays). The process's fd table is grown before the baseline, so it is not counted.
 *
 * Every result is one line "cmabuf-scale: {json}" with its raw samples in measurement
 * order (scripts/bench-report.py aggregates several boots; Documentation/benchmarks.md,
 * "Cost vs live buffers", has the method), plus a readable "# ..." row. Times are
 * wall-clock in the guest: hardware-speed under KVM, emulated under QEMU TCG, where
 * only how they grow with N means something.
 *
 * --smoke (make check) uses 10 and 100 buffers and few samples, prints TAP, and checks
 * what the tool relies on: every N buffers were allocated, POOL_INFO, sysfs `used` and
 * debugfs `buffers` count them, every operation was measured.
 */
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/utsname.h>

#include "../cmabuf_util.h"
#include "../slab_usage.h"

#define MAX_COUNTS 8
/* Fewer samples than this and an operation is not stopped by its time budget. */
#define MIN_SAMPLES 11
/* System calls per sample of the control operation. */
#define CONTROL_SYSCALLS 100
/* Room left free in the pool besides the N buffers (the timed allocation's page). */
#define HEADROOM_PAGES 16

enum op {
	OP_ALLOC, OP_FREE, OP_POOL_INFO, OP_SYSFS_USED, OP_DEBUGFS_BUFFERS, OP_CONTROL, NR_OPS,
	/* Not operations: the stages of each timed allocation, from debugfs profile. */
	ST_ALLOC_ROOM = NR_OPS, ST_ALLOC_OWN, ST_ALLOC_CMA, NR_SERIES,
};
static const char *const op_names[NR_SERIES] = {
	"alloc", "free", "pool_info", "sysfs_used", "debugfs_buffers", "control", "alloc_room",
	"alloc_own", "alloc_cma",
};

static struct {
	bool smoke;
	const char *pool;
	int counts[MAX_COUNTS], nr_counts, samples, budget_ms;
	int pool_fd;
	long page;
	char sysfs_used[160], debugfs_buffers[160];
	/* What the pool held before the tool's first buffer. */
	long long base_used, base_buffers, base_lines;
	int tap_n, tap_failed;
} B = { .pool = "camera", .pool_fd = -1 };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void tap(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tap(bool ok, const char *fmt, ...)
{
	va_list ap;

	B.tap_failed += !ok;
	if (!B.smoke)
		return;
	B.tap_n++;
	printf("%sok %d scale smoke: ", ok ? "" : "not ", B.tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
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

/* ---- The operations, each returning whether it worked ---- */

/* Reads a whole file through a buffer of len bytes; its size, or -1. lines: '\n's. */
static long long read_whole(const char *path, char *buf, size_t len, long long *lines)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long long total = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	*lines = 0;
	while ((n = read(fd, buf, len)) > 0) {
		const char *p = buf, *end = buf + n;

		total += n;
		while ((p = memchr(p, '\n', end - p))) {
			(*lines)++;
			p++;
		}
	}
	close(fd);
	return n < 0 ? -1 : total;
}

static char io_buf[1 << 16];

/* Lines of debugfs buffers (a header and one per buffer), or -1. */
static long long buffers_lines(void)
{
	long long lines;

	return read_whole(B.debugfs_buffers, io_buf, sizeof(io_buf), &lines) < 0 ? -1 : lines;
}

static long long sysfs_used(void)
{
	char text[64];

	return read_text(B.sysfs_used, text, sizeof(text)) > 0 ? strtoll(text, NULL, 10) : -1;
}

/*
 * The module's allocation profile (debugfs <pool>/profile, cumulative): allocations;
 * the time of their room-making (room_ns: the first-fit search of the pool's free runs),
 * of cma_alloc() in them, and the rest of their time outside the measured stages
 * (own_ns: the rest of the bookkeeping, the limits, the dma-buf export).
 */
struct profile {
	long long allocs, room_ns, own_ns, cma_alloc_ns;
};

static bool profile_read(struct profile *p)
{
	char path[160], text[2048];

	snprintf(path, sizeof(path), CMABUF_DEBUGFS "/%s/profile", B.pool);
	if (read_text(path, text, sizeof(text)) <= 0)
		return false;
	p->allocs = text_field(text, "allocs");
	p->room_ns = text_field(text, "room_ns");
	p->own_ns = text_field(text, "own_ns");
	p->cma_alloc_ns = text_field(text, "cma_alloc_ns");
	return p->allocs >= 0 && p->room_ns >= 0 && p->own_ns >= 0 && p->cma_alloc_ns >= 0;
}

/* One sample of op into *us; the buffer of OP_ALLOC stays in *fd for OP_FREE. */
static bool run_op(enum op op, int *fd, double *us)
{
	struct cmabuf_pool_info info;
	long long lines;
	uint64_t t0 = now_ns();
	bool ok;
	int i;

	switch (op) {
	case OP_ALLOC:
		*fd = buf_alloc(B.pool_fd, B.page, 0, CMABUF_CACHED, O_RDWR | O_CLOEXEC);
		ok = *fd >= 0;
		break;
	case OP_FREE:
		ok = *fd >= 0 && close(*fd) == 0;
		*fd = -1;
		break;
	case OP_POOL_INFO:
		ok = ioctl(B.pool_fd, CMABUF_IOC_POOL_INFO, &info) == 0;
		break;
	case OP_SYSFS_USED:
		ok = sysfs_used() >= 0;
		break;
	case OP_CONTROL:
		for (i = 0; i < CONTROL_SYSCALLS; i++)
			syscall(SYS_getppid);
		ok = true;
		break;
	default:
		ok = read_whole(B.debugfs_buffers, io_buf, sizeof(io_buf), &lines) > 0;
		break;
	}
	*us = (now_ns() - t0) / 1000.0;
	return ok;
}

/* ---- Kernel memory ---- */

struct mem {
	long long slab, sunreclaim, vmalloc, memfree;	/* /proc/meminfo, bytes */
	bool have_slabinfo;
	long long slab_pages;				/* sum over /proc/slabinfo */
	struct slab_snapshot caches;
};

static struct mem mem_base, mem_now;

static void mem_read(struct mem *m)
{
	int i;

	slab_settle();
	m->slab = meminfo_kb("Slab") * 1024;
	m->sunreclaim = meminfo_kb("SUnreclaim") * 1024;
	m->vmalloc = meminfo_kb("VmallocUsed") * 1024;
	m->memfree = meminfo_kb("MemFree") * 1024;
	m->have_slabinfo = slab_snapshot(&m->caches) > 0;
	m->slab_pages = 0;
	for (i = 0; i < m->caches.caches; i++)
		m->slab_pages += m->caches.use[i].page_bytes;
}

/* The live objects and their bytes of cache name in snap (0 if none); whether it has it. */
static bool cache_use(const struct slab_snapshot *snap, const char *name, long long *objects,
		      long long *bytes)
{
	int i;

	*objects = *bytes = 0;
	for (i = 0; i < snap->caches; i++)
		if (!strcmp(snap->use[i].name, name)) {
			*objects = snap->use[i].objects;
			*bytes = snap->use[i].object_bytes;
			return true;
		}
	return false;
}

/*
 * Where the objects of slab cache name come from, when the kernel tracks it (booted
 * with slub_debug=U: debugfs slab/<cache>/alloc_traces): the allocation sites of at
 * least min objects, as JSON members "site": count, each site its caller and the first
 * frame of cmabuf's own in its stack ("caller < cmabuf frame"), offsets cut. Prints
 * nothing without tracking.
 */
static void print_alloc_sites(const char *name, long long min)
{
	static char text[1 << 20];
	char path[160], *line, *save, site[256] = "";
	long long count = 0;
	bool first = true;

	snprintf(path, sizeof(path), "/sys/kernel/debug/slab/%s/alloc_traces", name);
	if (read_text(path, text, sizeof(text)) <= 0)
		return;
	printf(", \"sites\": {");
	for (line = strtok_r(text, "\n", &save);; line = strtok_r(NULL, "\n", &save)) {
		char fn[200];
		long long c;

		/* A location: "  count function+off/size [module] age=...", then its stack. */
		if (!line || sscanf(line, "%lld %199s", &c, fn) == 2) {
			if (count >= min) {
				printf("%s\"%s\": %lld", first ? "" : ", ", site, count);
				first = false;
			}
			if (!line)
				break;
			count = c;
			*strchrnul(fn, '+') = 0;
			snprintf(site, sizeof(site), "%s", fn);
		} else if (strstr(line, "[cmabuf]") && !strchr(site, '<')) {
			if (sscanf(line, "%199s", fn) == 1) {
				size_t at = strlen(site);

				*strchrnul(fn, '+') = 0;
				snprintf(site + at, sizeof(site) - at, " < %s", fn);
			}
		}
	}
	printf("}");
}

/*
 * Prints the kernel memory per buffer with live buffers live (against the baseline):
 * totals, and each slab cache that gained at least one object per ten buffers.
 */
static void report_memory(int live)
{
	const struct slab_snapshot *a = &mem_now.caches, *b = &mem_base.caches;
	long long slab = mem_now.slab - mem_base.slab, vmalloc = mem_now.vmalloc - mem_base.vmalloc;
	long long sunreclaim = mem_now.sunreclaim - mem_base.sunreclaim;
	/* MemFree counts free CMA pages: the buffers' own pages are not kernel overhead. */
	long long memfree = mem_base.memfree - mem_now.memfree - (long long)live * B.page;
	long long large = slab - (mem_now.slab_pages - mem_base.slab_pages);
	long long objects_total = 0, object_bytes = 0;
	bool first = true;
	int i;

	for (i = 0; i < a->caches; i++) {
		long long objects, bytes;

		cache_use(b, a->use[i].name, &objects, &bytes);
		object_bytes += a->use[i].object_bytes - bytes;
	}
	for (i = 0; i < b->caches; i++) {
		long long objects, bytes;

		/* A cache that went away. */
		if (!cache_use(a, b->use[i].name, &objects, &bytes))
			object_bytes -= b->use[i].object_bytes;
	}

	printf("cmabuf-scale: {\"memory\": true, \"live\": %d, \"slab_bytes\": %lld, "
	       "\"sunreclaim_bytes\": %lld, \"vmalloc_bytes\": %lld, \"memfree_bytes\": %lld, "
	       "\"slabinfo\": %s", live, slab, sunreclaim, vmalloc, memfree,
	       mem_now.have_slabinfo ? "true" : "false");
	if (mem_now.have_slabinfo)
		printf(", \"kmalloc_large_bytes\": %lld, \"slab_object_bytes\": %lld", large,
		       object_bytes);
	printf(", \"caches\": {");
	for (i = 0; mem_now.have_slabinfo && i < a->caches; i++) {
		long long objects, bytes;

		cache_use(b, a->use[i].name, &objects, &bytes);
		objects = a->use[i].objects - objects;
		bytes = a->use[i].object_bytes - bytes;
		if (live <= 0 || objects * 10 < live)
			continue;
		printf("%s\"%s\": {\"objects\": %lld, \"bytes\": %lld", first ? "" : ", ",
		       a->use[i].name, objects, bytes);
		print_alloc_sites(a->use[i].name, live / 10);
		printf("}");
		objects_total += objects;
		first = false;
	}
	printf("}}\n");
	if (live > 0)
		printf("# memory at %6d live: slab %7.0f B/buffer (objects in slab caches %.0f, "
		       "kmalloc_large %.0f; %.1f objects), vmalloc %.0f, MemFree %.0f\n", live,
		       (double)slab / live, (double)object_bytes / live, (double)large / live,
		       (double)objects_total / live, (double)vmalloc / live, (double)memfree / live);
}

/* ---- Measurement at one N ---- */

static void report(int op, int live, double *v, int n, int failed)
{
	double *sorted = malloc((n ? n : 1) * sizeof(*sorted));
	double p10, p50, p90, max;
	int i;

	if (!sorted)
		exit(1);
	memcpy(sorted, v, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_double);
	p10 = quantile(sorted, n, 0.1);
	p50 = quantile(sorted, n, 0.5);
	p90 = quantile(sorted, n, 0.9);
	max = quantile(sorted, n, 1.0);
	printf("cmabuf-scale: {\"op\": \"%s\", \"live\": %d, \"unit\": \"us\", \"n\": %d, "
	       "\"ok\": %d, \"p10\": %.3f, \"p50\": %.3f, \"p90\": %.3f, \"max\": %.3f, "
	       "\"samples\": [", op_names[op], live, n + failed, n, p10, p50, p90, max);
	for (i = 0; i < n; i++)
		printf("%s%.2f", i ? ", " : "", v[i]);
	printf("]}\n");
	printf("# %-16s %6d live  p10 %10.1f  p50 %10.1f  p90 %10.1f  max %10.1f us  (%d samples)\n",
	       op_names[op], live, p10, p50, p90, max, n);
	tap(n > 0 && !failed, "%s measured at %d live buffers (%d samples, %d failed)",
	    op_names[op], live, n, failed);
	free(sorted);
}

/*
 * Samples every operation at the current number of live buffers, round by round; and,
 * where the module has its debugfs profile, the stages of each timed allocation.
 */
static void measure(int live)
{
	double *v[NR_SERIES], spent[NR_OPS] = { 0 };
	int n[NR_SERIES] = { 0 }, failed[NR_SERIES] = { 0 }, r, op, fd = -1;
	bool more = true, profiled = true;

	for (op = 0; op < NR_SERIES; op++) {
		v[op] = calloc(B.samples, sizeof(double));
		if (!v[op])
			exit(1);
	}
	for (r = 0; r < B.samples && more; r++) {
		more = false;
		for (op = 0; op < NR_OPS; op++) {
			double us;

			/* The free always follows its alloc. */
			if (op != OP_FREE && n[op] + failed[op] >= MIN_SAMPLES &&
			    spent[op] >= B.budget_ms * 1000.0)
				continue;
			struct profile before, after;

			if (op == OP_FREE && fd < 0)
				continue;
			profiled = profiled && (op != OP_ALLOC || profile_read(&before));
			if (run_op(op, &fd, &us))
				v[op][n[op]++] = us;
			else
				failed[op]++;
			/* Only this allocation can have counted: the tool is alone on the pool. */
			if (op == OP_ALLOC && fd >= 0 && profiled && profile_read(&after) &&
			    after.allocs == before.allocs + 1) {
				v[ST_ALLOC_ROOM][n[ST_ALLOC_ROOM]++] =
					(after.room_ns - before.room_ns) / 1000.0;
				v[ST_ALLOC_OWN][n[ST_ALLOC_OWN]++] = (after.own_ns - before.own_ns) / 1000.0;
				v[ST_ALLOC_CMA][n[ST_ALLOC_CMA]++] =
					(after.cma_alloc_ns - before.cma_alloc_ns) / 1000.0;
			}
			spent[op] += us;
			more = true;
		}
	}
	if (fd >= 0)
		close(fd);
	for (op = 0; op < NR_SERIES; op++) {
		/* No profile (a module without it): no stage series, and not a failure. */
		if (op < NR_OPS || n[op])
			report(op, live, v[op], n[op], failed[op]);
		free(v[op]);
	}
}

/* Whether the pool's own counters see live buffers of the tool's (smoke checks). */
static void check_counts(int live)
{
	struct cmabuf_pool_info info;
	long long used = sysfs_used(), lines = buffers_lines();
	bool info_ok = pool_info(B.pool_fd, &info) == 0;

	tap(info_ok && (long long)info.buffers == B.base_buffers + live,
	    "POOL_INFO counts %d live buffers (buffers %lld, was %lld)", live,
	    info_ok ? (long long)info.buffers : -1, B.base_buffers);
	tap(used == B.base_used + (long long)live * B.page,
	    "sysfs used counts %d live pages (%lld bytes, was %lld)", live, used, B.base_used);
	tap(lines == B.base_lines + live, "debugfs buffers lists %d live buffers (%lld lines, was %lld)",
	    live, lines, B.base_lines);
}

/* ---- Setup ---- */

static bool parse_counts(const char *text)
{
	char *end;

	B.nr_counts = 0;
	while (*text && B.nr_counts < MAX_COUNTS) {
		long v = strtol(text, &end, 10);

		if (end == text || v < 1 || v > 1000000 ||
		    (B.nr_counts && v <= B.counts[B.nr_counts - 1]))
			return false;
		B.counts[B.nr_counts++] = v;
		text = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return false;
	}
	return B.nr_counts > 0 && !*text;
}

static int usage(void)
{
	fprintf(stderr, "usage: cmabuf_scale_bench [--smoke] [--pool NAME] [--counts N,N,...] "
		"[--samples N] [--budget-ms MS]\n  (counts ascending, each 1..1000000)\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct cmabuf_pool_info info;
	const char *counts = NULL;
	char path[160];
	struct utsname u;
	struct rlimit rl;
	int i, c, *fds, live = 0, max, err = 0;
	uint64_t t0;

	B.samples = B.budget_ms = -1;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--smoke"))
			B.smoke = true;
		else if (!strcmp(argv[i], "--pool") && i + 1 < argc)
			B.pool = argv[++i];
		else if (!strcmp(argv[i], "--counts") && i + 1 < argc)
			counts = argv[++i];
		else if (!strcmp(argv[i], "--samples") && i + 1 < argc)
			B.samples = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--budget-ms") && i + 1 < argc)
			B.budget_ms = atoi(argv[++i]);
		else
			return usage();
	}
	if (!parse_counts(counts ? counts : B.smoke ? "10,100" : "100,1000,10000"))
		return usage();
	if (B.samples < 1)
		B.samples = B.smoke ? MIN_SAMPLES : 200;
	if (B.budget_ms < 0)
		B.budget_ms = B.smoke ? 200 : 5000;
	B.page = getpagesize();
	max = B.counts[B.nr_counts - 1];
	snprintf(B.sysfs_used, sizeof(B.sysfs_used), "/sys/class/misc/cmabuf-%s/used", B.pool);
	snprintf(B.debugfs_buffers, sizeof(B.debugfs_buffers), CMABUF_DEBUGFS "/%s/buffers",
		 B.pool);
	if (B.smoke)
		printf("TAP version 13\n");

	B.pool_fd = pool_open(B.pool);
	if (B.pool_fd < 0 || pool_info(B.pool_fd, &info)) {
		fprintf(stderr, "cmabuf_scale_bench: /dev/cmabuf-%s: %s\n", B.pool, strerror(errno));
		tap(false, "the pool %s is missing", B.pool);
		goto out;
	}
	/* Fills run first-fit: a fragmented or cached pool would measure something else. */
	snprintf(path, sizeof(path), CMABUF_DEBUGFS "/%s/cache", B.pool);
	write_text(path, "drop");
	if (pool_info(B.pool_fd, &info) || info.free < (uint64_t)(max + HEADROOM_PAGES) * B.page) {
		fprintf(stderr, "cmabuf_scale_bench: pool %s has %llu bytes free, %d buffers of %ld "
			"bytes need %llu\n", B.pool, (unsigned long long)info.free, max, B.page,
			(unsigned long long)(max + HEADROOM_PAGES) * B.page);
		tap(false, "the pool %s has room for %d one-page buffers", B.pool, max);
		goto out;
	}
	B.base_used = sysfs_used();
	B.base_buffers = info.buffers;
	B.base_lines = buffers_lines();
	if (B.base_used < 0 || B.base_lines < 0) {
		fprintf(stderr, "cmabuf_scale_bench: cannot read %s or %s\n", B.sysfs_used,
			B.debugfs_buffers);
		tap(false, "sysfs used and debugfs buffers are readable");
		goto out;
	}
	/* One fd per buffer; the fd table grown now, so that the baseline includes it. */
	rl.rlim_cur = rl.rlim_max = max + 256;
	if (setrlimit(RLIMIT_NOFILE, &rl) || dup2(B.pool_fd, max + 128) < 0) {
		fprintf(stderr, "cmabuf_scale_bench: %d fds: %s\n", max + 256, strerror(errno));
		tap(false, "%d fds can be open", max + 256);
		goto out;
	}
	close(max + 128);
	fds = calloc(max, sizeof(*fds));
	if (!fds)
		return 1;

	uname(&u);
	printf("cmabuf-scale: {\"meta\": true, \"kernel\": \"%s\", \"machine\": \"%s\", "
	       "\"cpus\": %ld, \"mem_kib\": %lld, \"pool\": \"%s\", \"pool_bytes\": %llu, "
	       "\"buffer_bytes\": %ld, \"counts\": [", u.release, u.machine,
	       sysconf(_SC_NPROCESSORS_ONLN), meminfo_kb("MemTotal"), B.pool,
	       (unsigned long long)info.size, B.page);
	for (c = 0; c < B.nr_counts; c++)
		printf("%s%d", c ? ", " : "", B.counts[c]);
	printf("], \"samples\": %d, \"budget_ms\": %d, \"min_samples\": %d, \"base_buffers\": %lld, "
	       "\"cache_limit\": %lld, \"smoke\": %s}\n", B.samples, B.budget_ms, MIN_SAMPLES,
	       B.base_buffers, info_value(B.pool, "cache_limit"), B.smoke ? "true" : "false");

	mem_read(&mem_base);
	printf("cmabuf-scale: {\"baseline\": true, \"slab_bytes\": %lld, \"sunreclaim_bytes\": %lld, "
	       "\"vmalloc_bytes\": %lld, \"memfree_bytes\": %lld, \"slabinfo\": %s}\n",
	       mem_base.slab, mem_base.sunreclaim, mem_base.vmalloc, mem_base.memfree,
	       mem_base.have_slabinfo ? "true" : "false");
	for (c = 0; c < B.nr_counts; c++) {
		int want = B.counts[c], from = live;

		t0 = now_ns();
		while (live < want) {
			int fd = buf_alloc(B.pool_fd, B.page, 0, CMABUF_CACHED, O_RDWR | O_CLOEXEC);

			if (fd < 0) {
				err = -fd;
				break;
			}
			fds[live++] = fd;
		}
		printf("cmabuf-scale: {\"fill\": true, \"live\": %d, \"from\": %d, \"seconds\": %.3f}\n",
		       live, from, (now_ns() - t0) / 1e9);
		tap(live == want, "%d one-page buffers allocated (%d: %s)", want, live,
		    live == want ? "all" : strerror(err));
		if (live < want)
			break;
		if (B.smoke)
			check_counts(live);
		mem_read(&mem_now);
		report_memory(live);
		t0 = now_ns();
		measure(live);
		printf("cmabuf-scale: {\"elapsed\": true, \"live\": %d, \"seconds\": %.1f}\n", live,
		       (now_ns() - t0) / 1e9);
	}
	t0 = now_ns();
	while (live > 0)
		close(fds[--live]);
	printf("cmabuf-scale: {\"teardown\": true, \"seconds\": %.3f}\n", (now_ns() - t0) / 1e9);
	free(fds);
	tap(wait_used(B.pool_fd, B.base_used, 5000), "every buffer freed again (used back to %lld)",
	    B.base_used);
out:
	if (B.smoke)
		printf("1..%d\n", B.tap_n);
	printf("cmabuf-scale: {\"done\": true, \"failed\": %d}\n", B.tap_failed);
	return B.tap_failed ? 1 : 0;
}
