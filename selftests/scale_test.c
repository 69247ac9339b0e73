// SPDX-License-Identifier: GPL-2.0
/*
 * Past 4 GiB (make scale's board: dts/big-pool.dtso, a 4.5 GiB pool at 0x1_0000_0000):
 * one buffer of 4 GiB + 1 MiB, then the largest the pool holds, allocated, mapped,
 * synced, imported by a kernel driver (selftests/importer, which walks the whole
 * scatter-list: past 4 GiB a buffer needs several entries, their lengths being 32-bit)
 * and freed; CMABUF_IOC_PHYS, CMABUF_IOC_POOL_INFO, sysfs and debugfs give the 64-bit
 * figures; sizes past the pool, or that overflow when rounded up, fail with EINVAL.
 *
 * Under TCG, touching 4 GiB from user space takes minutes: patterns go to windows at
 * both ends, across the 4 GiB offset (where the first scatter-list entry ends) and at
 * pages spread over the buffer, each read back by the importer through the entries'
 * pages; the entries themselves are checked whole (lengths, contiguity, DMA addresses).
 */
#include <inttypes.h>
#include <linux/dma-buf.h>
#include <sys/mman.h>

#include "cmabuf_util.h"
#include "importer/cmabuf_test_importer.h"
#include "kselftest_harness.h"

#define GiB (1024ULL * MiB)
#define POOL "big"
#define POOL_NODE "reserved-memory/big-pool@100000000"
#define BIG (4 * GiB + 1 * MiB)
/* A scatter-list entry's most bytes: an unsigned int of whole pages. */
#define SG_MAX (0xffffffffULL & ~(uint64_t)(getpagesize() - 1))
#define WINDOW (128 * KiB)

static char text[64 * 1024];

/* The word the tests write at byte offset off: differs at every offset and buffer. */
static uint64_t pattern(uint64_t off, uint64_t seed)
{
	return (off * 0x9e3779b97f4a7c15ULL) ^ seed;
}

/* /sys/class/misc/cmabuf-<pool>/<name> as a number, or -1. */
static long long sysfs_value(const char *name)
{
	char path[128], value[64];

	snprintf(path, sizeof(path), "/sys/class/misc/cmabuf-" POOL "/%s", name);
	if (read_text(path, value, sizeof(value)) <= 0)
		return -1;
	return strtoll(value, NULL, 10);
}

/*
 * The pool's figures, each as POOL_INFO, sysfs and debugfs info give it: all three
 * must agree (returns false and says which differ otherwise).
 */
struct figures {
	uint64_t size, used, free, largest_free, buffers;
};

static bool figures(int pool, struct figures *f)
{
	static const char *const names[] = { "size", "used", "free", "largest_free", "buffers" };
	struct cmabuf_pool_info info;
	uint64_t ioc[5];
	bool same = true;
	unsigned int i;

	if (pool_info(pool, &info))
		return false;
	ioc[0] = info.size, ioc[1] = info.used, ioc[2] = info.free;
	ioc[3] = info.largest_free, ioc[4] = info.buffers;
	for (i = 0; i < 5; i++) {
		long long sys = sysfs_value(names[i]), dbg = info_value(POOL, names[i]);

		if (sys != (long long)ioc[i] || dbg != (long long)ioc[i]) {
			fprintf(stderr, "# %s: POOL_INFO %llu, sysfs %lld, debugfs %lld\n", names[i],
				(unsigned long long)ioc[i], sys, dbg);
			same = false;
		}
	}
	f->size = ioc[0], f->used = ioc[1], f->free = ioc[2];
	f->largest_free = ioc[3], f->buffers = ioc[4];
	return same;
}

/* The line of buffer id in debugfs buffers: its size and first and last byte. */
static bool debugfs_buffer(unsigned int id, uint64_t *size, uint64_t *start, uint64_t *end)
{
	char *line;

	if (read_text(CMABUF_DEBUGFS "/" POOL "/buffers", text, sizeof(text)) <= 0)
		return false;
	for (line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		unsigned long long i, s, a, b;

		if (sscanf(line, "%llu %llu %llx %llx", &i, &s, &a, &b) == 4 && i == id) {
			*size = s, *start = a, *end = b;
			return true;
		}
	}
	return false;
}

/* The windows a buffer of size bytes is checked at. */
static unsigned int windows(uint64_t size, struct cmabuf_walk_window *w)
{
	const uint64_t spread[] = { 1 * GiB + 12345 * 4096ULL, 2 * GiB + 777 * 4096ULL,
				    3 * GiB + 31 * 4096ULL };
	unsigned int n = 0, i;

	w[n++] = (struct cmabuf_walk_window){ .offset = 0, .len = WINDOW };
	w[n++] = (struct cmabuf_walk_window){ .offset = size - WINDOW, .len = WINDOW };
	/* Across the end of the first entry (4 GiB less a page) and the 4 GiB offset. */
	if (size > SG_MAX)
		w[n++] = (struct cmabuf_walk_window){
			.offset = SG_MAX - WINDOW,
			.len = size - SG_MAX < 2 * WINDOW ? size - SG_MAX + WINDOW : 2 * WINDOW,
		};
	for (i = 0; i < 3; i++)
		if (spread[i] + WINDOW <= size)
			w[n++] = (struct cmabuf_walk_window){ .offset = spread[i], .len = WINDOW };
	return n;
}

/* Counts the words of window w that are not zero. */
static uint64_t nonzero_words(const uint64_t *p, const struct cmabuf_walk_window *w)
{
	uint64_t i, n = 0;

	for (i = w->offset / 8; i < (w->offset + w->len) / 8; i++)
		n += p[i] != 0;
	return n;
}

/* Writes the pattern of seed over window w; returns the sum the importer should see. */
static uint64_t fill(uint64_t *p, const struct cmabuf_walk_window *w, uint64_t seed)
{
	uint64_t off, sum = 0;

	for (off = w->offset; off < w->offset + w->len; off += 8) {
		p[off / 8] = pattern(off, seed);
		sum += importer_walk_term(pattern(off, seed), off);
	}
	return sum;
}

FIXTURE(scale) {
	int pool, importer;
	struct figures empty;
};

FIXTURE_SETUP(scale)
{
	SKIP_WITHOUT_POOL(POOL, "dts/big-pool.dtso");
	self->pool = pool_open(POOL);
	ASSERT_LE(0, self->pool) TH_LOG("/dev/cmabuf-" POOL ": %s", strerror(errno));
	self->importer = importer_open();
	ASSERT_LE(0, self->importer) TH_LOG(IMPORTER_DEV ": %s", strerror(errno));
	/* A buffer of an earlier test that was cut short may still be on its way back. */
	EXPECT_TRUE(wait_used(self->pool, 0, 60000));
	ASSERT_TRUE(figures(self->pool, &self->empty));
	ASSERT_EQ(0, self->empty.used) TH_LOG("the pool is not empty at the start");
}

FIXTURE_TEARDOWN(scale)
{
	if (self->importer >= 0) {
		close(self->importer);
		EXPECT_EQ(0, unload_module("cmabuf_test_importer"));
	}
	if (self->pool >= 0) {
		EXPECT_TRUE(wait_used(self->pool, 0, 5000));
		close(self->pool);
	}
}

/* The pool lies above 4 GiB and every interface gives its 64-bit size and base. */
TEST_F(scale, pool_above_4g_shows_64_bit_figures)
{
	uint64_t base, size;

	ASSERT_EQ(0, dt_reg(POOL_NODE, &base, &size));
	EXPECT_LE(4 * GiB, base);
	EXPECT_EQ(size, self->empty.size);
	EXPECT_EQ(size, self->empty.free);
	EXPECT_EQ(size, self->empty.largest_free);
	EXPECT_EQ((long long)base, info_value(POOL, "base"));
}

/*
 * The whole life of one buffer of want bytes, and the pool's figures before, during and
 * after: allocated, its 64-bit figures everywhere, mapped, synced, written at the
 * windows (which must read zero first), imported and walked, written by the importer,
 * mapped by the kernel (vmap), freed. seed tells its patterns from another buffer's.
 */
static void buffer_end_to_end(struct __test_metadata *_metadata, int pool, int importer,
			      uint64_t want, uint64_t seed)
{
	struct cmabuf_walk_window w[IMPORTER_WALK_WINDOWS];
	struct cmabuf_walk walk = { .marker = 0x5ca1ab1e0ddba11ULL };
	struct cmabuf_import check = { .marker = 0xfeedbeef };
	uint64_t phys, size, base, pool_size, dstart, dend, dsize, sums[IMPORTER_WALK_WINDOWS];
	uint64_t t0 = now_ms();
	struct cmabuf_alloc req = { .size = want, .fd_flags = O_RDWR | O_CLOEXEC };
	struct figures f;
	unsigned int n, i;
	uint64_t *p;
	int buf;

	ASSERT_EQ(0, dt_reg(POOL_NODE, &base, &pool_size));
	ASSERT_EQ(0, ioctl(pool, CMABUF_IOC_ALLOC, &req))
		TH_LOG("allocating %llu bytes: %s", (unsigned long long)want, strerror(errno));
	buf = req.fd;
	TH_LOG("%llu bytes allocated (migrated, zeroed) in %llu ms", (unsigned long long)want,
	       (unsigned long long)(now_ms() - t0));
	EXPECT_EQ((off_t)want, lseek(buf, 0, SEEK_END));

	/* 64-bit figures everywhere. */
	ASSERT_EQ(0, buf_phys(pool, buf, &phys, &size));
	EXPECT_EQ(want, size);
	EXPECT_LE(base, phys);
	EXPECT_GE(base + pool_size, phys + size);
	ASSERT_TRUE(figures(pool, &f));
	EXPECT_EQ(want, f.used);
	EXPECT_EQ(1, f.buffers);
	EXPECT_EQ(pool_size - want, f.free);
	EXPECT_GE(f.free, f.largest_free);
	ASSERT_TRUE(debugfs_buffer(req.id, &dsize, &dstart, &dend))
		TH_LOG("buffer %u not in debugfs buffers:\n%s", req.id, text);
	EXPECT_EQ(want, dsize);
	EXPECT_EQ(phys, dstart);
	EXPECT_EQ(phys + want - 1, dend);
	/* Past what is free, though within the pool's size: ENOMEM. */
	EXPECT_EQ(-ENOMEM, buf_alloc_rw(pool, f.free + 4096));

	t0 = now_ms();
	p = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap of %llu bytes: %s", (unsigned long long)want,
					strerror(errno));
	n = windows(want, w);
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	for (i = 0; i < n; i++) {
		/* Zeroed, also where an earlier buffer wrote its patterns. */
		EXPECT_EQ(0, nonzero_words(p, &w[i]))
			TH_LOG("window at %#llx not zeroed", (unsigned long long)w[i].offset);
		sums[i] = fill(p, &w[i], seed);
	}
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	TH_LOG("mapped, synced and written in %llu ms", (unsigned long long)(now_ms() - t0));

	/* The importer walks every entry and reads the windows through them. */
	t0 = now_ms();
	walk.fd = buf;
	walk.windows = n;
	memcpy(walk.window, w, sizeof(w));
	walk.marker_offset = want - 8;
	ASSERT_EQ(0, ioctl(importer, IMPORTER_IOC_WALK, &walk))
		TH_LOG("importer: %s", strerror(errno));
	TH_LOG("imported and walked in %llu ms", (unsigned long long)(now_ms() - t0));
	EXPECT_EQ(want, walk.size);
	EXPECT_EQ(want, walk.length) TH_LOG("the entries do not cover the buffer");
	EXPECT_EQ(want, walk.dma_length) TH_LOG("the mapped entries do not cover it");
	EXPECT_EQ((want + SG_MAX - 1) / SG_MAX, walk.orig_nents);
	EXPECT_EQ(walk.orig_nents, walk.nents);
	EXPECT_EQ(want < SG_MAX ? want : SG_MAX, walk.max_entry);
	EXPECT_EQ(0, walk.gaps);
	EXPECT_EQ(0, walk.unaligned);
	EXPECT_EQ(phys, walk.phys);
	EXPECT_EQ(phys, walk.dma_addr) TH_LOG("bounced or translated: %#llx",
					      (unsigned long long)walk.dma_addr);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(sums[i], walk.window[i].sum)
			TH_LOG("window at %#llx: the importer read other bytes",
			       (unsigned long long)w[i].offset);
	}

	/*
	 * A second walk writes the first word of the second entry (4 GiB less a page in):
	 * both markers reach user space.
	 */
	walk.windows = 0;
	walk.marker_offset = SG_MAX;
	walk.marker = ~walk.marker;
	ASSERT_EQ(0, ioctl(importer, IMPORTER_IOC_WALK, &walk));
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(~walk.marker, p[want / 8 - 1]) TH_LOG("the importer's last word is lost");
	EXPECT_EQ(walk.marker, p[SG_MAX / 8])
		TH_LOG("the importer's word in the second entry is lost");
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));

	/*
	 * The kernel's mapping (vmap, IMPORTER_IOC_CHECK): its first and last 32-bit words
	 * are user space's, and its write at byte 4 comes back.
	 */
	t0 = now_ms();
	check.fd = buf;
	ASSERT_EQ(0, ioctl(importer, IMPORTER_IOC_CHECK, &check))
		TH_LOG("importer vmap: %s", strerror(errno));
	TH_LOG("attached, mapped and vmapped in %llu ms", (unsigned long long)(now_ms() - t0));
	EXPECT_EQ((uint32_t)pattern(0, seed), check.first);
	EXPECT_EQ((uint32_t)(~walk.marker >> 32), check.last);
	EXPECT_EQ(want < SG_MAX ? want : SG_MAX, check.dma_len);
	EXPECT_EQ(phys, check.dma_addr);
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(check.marker, (uint32_t)(p[0] >> 32)) TH_LOG("the write through vmap is lost");
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));

	t0 = now_ms();
	EXPECT_EQ(0, munmap(p, want));
	EXPECT_EQ(0, close(buf));
	EXPECT_TRUE(wait_used(pool, 0, 60000));
	TH_LOG("unmapped and freed in %llu ms", (unsigned long long)(now_ms() - t0));
	ASSERT_TRUE(figures(pool, &f));
	EXPECT_EQ(0, f.buffers);
	EXPECT_EQ(pool_size, f.free);
	EXPECT_EQ(pool_size, f.largest_free);
	EXPECT_FALSE(debugfs_buffer(req.id, &dsize, &dstart, &dend))
		TH_LOG("freed buffer %u still listed", req.id);
}

/* Under TCG, allocating (zeroing) and freeing 4 GiB takes minutes, more on the debug kernel. */
#define BIG_TIMEOUT 1800

TEST_F_TIMEOUT(scale, buffer_4g_plus_1m_end_to_end, BIG_TIMEOUT)
{
	buffer_end_to_end(_metadata, self->pool, self->importer, BIG, 0xb16b00b500000000ULL);
}

/* The largest buffer the pool holds: all of it (after the one above: zeroed again). */
TEST_F_TIMEOUT(scale, largest_buffer_end_to_end, BIG_TIMEOUT)
{
	buffer_end_to_end(_metadata, self->pool, self->importer, self->empty.largest_free,
			  0xb16b00b500000001ULL);
	EXPECT_EQ(self->empty.size, self->empty.largest_free);
}

/*
 * CMABUF_IOC_PREPARE of one run past 4 GiB: evacuated, zeroed and charged ahead
 * (debugfs prepared and cache, POOL_INFO used, 64-bit), then taken by the allocation
 * of that size.
 */
TEST_F_TIMEOUT(scale, prepare_past_4g, BIG_TIMEOUT)
{
	struct cmabuf_prepare req = { .size = BIG, .count = 1, .timeout_ms = 600000 };
	long long hits = info_value(POOL, "cache_hits");
	uint64_t phys, size, cphys = 0, csize = 0;
	unsigned long long id;
	char *line;
	int buf;

	ASSERT_EQ(0, ioctl(self->pool, CMABUF_IOC_PREPARE, &req)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ((long long)BIG, info_value(POOL, "prepared"));
	EXPECT_EQ((long long)BIG, pool_used(self->pool));
	ASSERT_LT(0, read_text(CMABUF_DEBUGFS "/" POOL "/cache", text, sizeof(text)));
	line = strchr(text, '\n');
	ASSERT_NE(NULL, line);
	EXPECT_EQ(3, sscanf(line + 1, "%llu %" SCNu64 " %" SCNx64, &id, &csize, &cphys))
		TH_LOG("debugfs cache:\n%s", text);
	EXPECT_EQ(BIG, csize);
	EXPECT_LE(4 * GiB, cphys) TH_LOG("the prepared run is below 4 GiB");

	buf = buf_alloc_rw(self->pool, BIG);
	ASSERT_LE(0, buf) TH_LOG("%s", strerror(-buf));
	EXPECT_EQ(hits + 1, info_value(POOL, "cache_hits")) TH_LOG("not the prepared run");
	EXPECT_EQ(0, info_value(POOL, "prepared"));
	EXPECT_EQ((long long)BIG, pool_used(self->pool));
	ASSERT_EQ(0, buf_phys(self->pool, buf, &phys, &size));
	EXPECT_EQ(cphys, phys);
	EXPECT_EQ(BIG, size);
	EXPECT_EQ(0, close(buf));
}

/* Sizes past the pool, or that overflow when rounded up to pages: EINVAL, and said. */
TEST_F(scale, sizes_past_the_pool_fail_with_einval)
{
	const uint64_t sizes[] = { self->empty.size + 4096, 2 * self->empty.size, 1ULL << 63,
				   UINT64_MAX - 4094, UINT64_MAX };
	long long invalid = sysfs_value("failures/invalid");
	struct figures f;
	unsigned int i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		EXPECT_EQ(-EINVAL, buf_alloc_rw(self->pool, sizes[i]))
			TH_LOG("size %#llx", (unsigned long long)sizes[i]);
	}
	EXPECT_TRUE(klog_contains("size is larger than the pool"));
	/* An alignment past the pool. */
	EXPECT_EQ(-EINVAL, buf_alloc(self->pool, 4096, 2 * self->empty.size, CMABUF_CACHED, O_RDWR));
	EXPECT_EQ(-EINVAL, buf_alloc(self->pool, 4096, 1ULL << 63, CMABUF_CACHED, O_RDWR));
	EXPECT_TRUE(klog_contains("align is larger than the pool"));
	EXPECT_EQ(invalid + 7, sysfs_value("failures/invalid"));
	ASSERT_TRUE(figures(self->pool, &f));
	EXPECT_EQ(0, f.used);
}

TEST_HARNESS_MAIN
