// SPDX-License-Identifier: GPL-2.0
/*
 * The exporter's mapping side (issue 13, items 6-10 and 14's direction): user mappings
 * refault after their PTEs are zapped, "uncached" maps RAM as Normal non-cacheable (not
 * Device), cache maintenance runs on a device that reaches every pool and counts what
 * it did, DMA_BUF_IOCTL_SYNC cleans and invalidates a buffer that no importer has
 * mapped (the CMABUF_IOC_PHYS case), and importers are unmapped in the direction they
 * mapped. The emulator ignores memory attributes and has no data cache to lose, so
 * the tests read what the module chose from /sys/kernel/debug/cmabuf/mapping.
 */
#include <linux/dma-buf.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "cmabuf_util.h"
#include "importer/cmabuf_test_importer.h"
#include "kselftest_harness.h"

#define MAPPING CMABUF_DEBUGFS "/mapping"
#define SIZE (1024 * 1024)

static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_errors;

static void on_sigbus(int sig)
{
	(void)sig;
	bus_errors++;
	siglongjmp(bus_jmp, 1);
}

/* Catches SIGBUS, so that a failed access is reported rather than killing the test. */
static void catch_sigbus(void)
{
	struct sigaction sa = { .sa_handler = on_sigbus };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	bus_errors = 0;
}

/* The number of bytes of p (words of SIZE / 4) that differ from the pattern seed. */
static long pattern_mismatches(const volatile uint32_t *p, uint32_t seed)
{
	long bad = 0;
	size_t i;

	if (sigsetjmp(bus_jmp, 1))
		return -1;
	for (i = 0; i < SIZE / 4; i++)
		bad += p[i] != seed + (uint32_t)i;
	return bad;
}

static void fill(uint32_t *p, uint32_t seed)
{
	size_t i;

	for (i = 0; i < SIZE / 4; i++)
		p[i] = seed + (uint32_t)i;
}

/* "key: word" of the mapping report, copied into out; false if absent. */
static bool mapping_word(const char *key, char *out, size_t len)
{
	static char text[4096];
	size_t klen = strlen(key);
	const char *p = text;

	if (read_text(MAPPING, text, sizeof(text)) < 0)
		return false;
	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == ':') {
			p += klen + 1;
			while (*p == ' ')
				p++;
			snprintf(out, len, "%.*s", (int)strcspn(p, " \n"), p);
			return true;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

static long long mapping_value(const char *key)
{
	static char text[4096];

	if (read_text(MAPPING, text, sizeof(text)) < 0)
		return -1;
	return text_field(text, key);
}

FIXTURE(mapping) {
	int pool;
};

FIXTURE_VARIANT(mapping) {
	uint32_t flags;
	const char *name;
	/* The memory type the kernel must choose for user mappings and vmap. */
	const char *memtype;
};

FIXTURE_VARIANT_ADD(mapping, cached) {
	.flags = CMABUF_CACHED, .name = "cached", .memtype = "normal",
};

FIXTURE_VARIANT_ADD(mapping, writecombine) {
	.flags = CMABUF_WRITECOMBINE, .name = "writecombine", .memtype = "normal-nc",
};

FIXTURE_VARIANT_ADD(mapping, uncached) {
	.flags = CMABUF_UNCACHED, .name = "uncached", .memtype = "normal-nc",
};

FIXTURE_SETUP(mapping)
{
	self->pool = pool_open("camera");
	ASSERT_LE(0, self->pool);
	catch_sigbus();
}

FIXTURE_TEARDOWN(mapping)
{
	EXPECT_TRUE(wait_used(self->pool, 0, 1000));
	close(self->pool);
}

/*
 * Item 6: after MADV_DONTNEED (any PTE zap) the next access faults the same pages back
 * in: same data, shared writes still shared, MAP_PRIVATE still copy-on-write, and the
 * refaulted pages are still pages (vmsplice pins them with get_user_pages).
 */
TEST_F(mapping, madvise_refault)
{
	int buf = buf_alloc(self->pool, SIZE, 0, variant->flags, O_RDWR);
	uint32_t *p, *q, *priv;
	char page[4096];
	int pipefd[2];
	struct iovec iov;

	ASSERT_LE(0, buf);
	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, p);
	fill(p, 0x1000);
	ASSERT_EQ(0, madvise(p, SIZE, MADV_DONTNEED));
	EXPECT_EQ(0, pattern_mismatches(p, 0x1000)) TH_LOG("%s mapping: %s after MADV_DONTNEED",
							    variant->name,
							    bus_errors ? "SIGBUS" : "other data");
	ASSERT_EQ(0, bus_errors);

	/* Writes after the refault reach the buffer: a second mapping sees them. */
	p[7] = 0xabcdef01;
	q = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(0xabcdef01U, q[7]);
	p[7] = 0x1000 + 7;

	/* MAP_PRIVATE: copy-on-write; zapping drops the private copy, not the buffer. */
	priv = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, buf, 0);
	ASSERT_NE(MAP_FAILED, priv);
	priv[0] = 0xdeadbeef;
	EXPECT_EQ(0x1000U, q[0]) TH_LOG("a private write reached the buffer");
	ASSERT_EQ(0, madvise(priv, SIZE, MADV_DONTNEED));
	EXPECT_EQ(0, pattern_mismatches(priv, 0x1000)) TH_LOG("private mapping after zap: %s",
							       bus_errors ? "SIGBUS" : "other data");
	ASSERT_EQ(0, bus_errors);

	/* get_user_pages on refaulted pages: vmsplice the second page into a pipe. */
	ASSERT_EQ(0, madvise(p, SIZE, MADV_DONTNEED));
	ASSERT_EQ(0, pipe(pipefd));
	iov.iov_base = (char *)p + 4096;
	iov.iov_len = 4096;
	if (!sigsetjmp(bus_jmp, 1))
		EXPECT_EQ(4096, vmsplice(pipefd[1], &iov, 1, 0)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, bus_errors) TH_LOG("SIGBUS in vmsplice after MADV_DONTNEED");
	ASSERT_EQ(4096, read(pipefd[0], page, sizeof(page)));
	EXPECT_EQ(0, memcmp(page, (char *)q + 4096, 4096));
	close(pipefd[0]);
	close(pipefd[1]);
	munmap(priv, SIZE);
	munmap(q, SIZE);
	munmap(p, SIZE);
	close(buf);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Why mmap keeps inserting every page at once although the fault handler could do it
 * all: first touch of a 16 MiB buffer after mmap (pages inserted in batches at mmap)
 * against first touch after MADV_DONTNEED (one fault per page). Both must read the
 * buffer; the times are printed, not judged (TCG is not hardware).
 */
TEST(refault_cost)
{
	const size_t size = 16 << 20;
	uint64_t t0, t_mmap, t_touch, t_refault;
	volatile uint8_t *p;
	unsigned long sum = 0;
	int pool = pool_open("camera"), buf;
	size_t i;

	ASSERT_LE(0, pool);
	buf = buf_alloc_rw(pool, size);
	ASSERT_LE(0, buf);
	t0 = now_us();
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, p);
	t_mmap = now_us() - t0;
	t0 = now_us();
	for (i = 0; i < size; i += 4096)
		sum += p[i];
	t_touch = now_us() - t0;
	ASSERT_EQ(0, madvise((void *)p, size, MADV_DONTNEED));
	t0 = now_us();
	for (i = 0; i < size; i += 4096)
		sum += p[i];
	t_refault = now_us() - t0;
	EXPECT_EQ(0, sum);
	ksft_print_msg("16 MiB: mmap (eager insert) %llu us + first touch %llu us; touch after MADV_DONTNEED (a fault per page) %llu us\n",
		       (unsigned long long)t_mmap, (unsigned long long)t_touch,
		       (unsigned long long)t_refault);
	munmap((void *)p, size);
	close(buf);
	EXPECT_TRUE(wait_used(pool, 0, 1000));
	close(pool);
}

/*
 * Item 7: the memory type of user mappings and of the kernel vmap given to importers,
 * per cache mode: "uncached" is Normal non-cacheable (as the DMA API maps RAM for
 * non-coherent devices), never Device memory, on which memset (DC ZVA) and unaligned
 * accesses fault on real hardware. The emulator does not enforce attributes, so the
 * module reports the memory type of the page protection it chose.
 */
TEST_F(mapping, uncached_attr)
{
	char key[64], type[32];
	int buf = buf_alloc(self->pool, SIZE, 0, variant->flags, O_RDWR);
	uint8_t *p;
	uint64_t v;

	snprintf(key, sizeof(key), "user_%s", variant->name);
	ASSERT_TRUE(mapping_word(key, type, sizeof(type))) TH_LOG("no %s in " MAPPING, key);
	EXPECT_STREQ(variant->memtype, type) TH_LOG("user mappings of %s buffers", variant->name);
	snprintf(key, sizeof(key), "kernel_%s", variant->name);
	ASSERT_TRUE(mapping_word(key, type, sizeof(type))) TH_LOG("no %s in " MAPPING, key);
	EXPECT_STREQ(variant->memtype, type) TH_LOG("vmap of %s buffers", variant->name);

	/* What faults on Device memory: memset and unaligned accesses. */
	ASSERT_LE(0, buf);
	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, p);
	if (!sigsetjmp(bus_jmp, 1)) {
		memset(p, 0x5a, SIZE);
		memset(p, 0, SIZE);
		v = 0x0102030405060708ULL;
		memcpy(p + 1, &v, sizeof(v));
		EXPECT_EQ(v, *(volatile uint64_t *)(p + 1));
		EXPECT_EQ(0, p[0]);
		EXPECT_EQ(0, p[SIZE - 1]);
	}
	EXPECT_EQ(0, bus_errors) TH_LOG("SIGBUS on memset or an unaligned access");
	munmap(p, SIZE);
	close(buf);
}

/*
 * Item 8: write-combine and uncached buffers are cleaned from the CPU caches on a
 * device whose DMA mask covers every pool, which is not DMA-coherent (else the DMA API
 * skips the maintenance), and without a bounce buffer; a failure fails ALLOC. Every
 * pool that can allocate is tried; `cleans` counts each buffer cleaned.
 */
TEST(clean_mask)
{
	long long bits = mapping_value("dma_mask_bits");
	long long cleans, failures, base, size;
	struct dirent *d;
	char path[256];
	int pools = 0;
	DIR *dir;

	ASSERT_LE(32, bits) TH_LOG("no dma_mask_bits in " MAPPING);
	EXPECT_EQ(0, mapping_value("coherent")) TH_LOG("maintenance on a coherent device is skipped");
	failures = mapping_value("clean_failures");
	EXPECT_EQ(0, failures);
	dir = opendir(CMABUF_DEBUGFS);
	ASSERT_NE(NULL, dir);
	while ((d = readdir(dir))) {
		char name[48];
		int pool, mode;

		/* Pool names are at most 40 bytes (CMABUF_NAME_LEN). */
		snprintf(name, sizeof(name), "%.40s", d->d_name);
		snprintf(path, sizeof(path), CMABUF_DEBUGFS "/%s/info", name);
		if (name[0] == '.' || !path_exists(path))
			continue;
		base = info_value(name, "base");
		size = info_value(name, "size");
		if (base > 0 && bits < 64)
			EXPECT_GE(1ULL << bits, (unsigned long long)(base + size))
				TH_LOG("pool %s ends beyond the maintenance device's mask", name);
		pool = pool_open(name);
		if (pool < 0)
			continue;
		for (mode = CMABUF_WRITECOMBINE; mode <= CMABUF_UNCACHED; mode++) {
			int buf;

			cleans = mapping_value("cleans");
			buf = buf_alloc(pool, 65536, 0, mode, O_RDWR);
			if (buf < 0)
				continue;	/* full or unbound: not this test's business */
			EXPECT_EQ(cleans + 1, mapping_value("cleans"))
				TH_LOG("pool %s: mode %d buffer not cleaned", name, mode);
			pools += mode == CMABUF_UNCACHED;
			close(buf);
		}
		/* A cached buffer needs no clean. */
		cleans = mapping_value("cleans");
		close(buf_alloc_rw(pool, 65536));
		EXPECT_EQ(cleans, mapping_value("cleans"));
		close(pool);
	}
	closedir(dir);
	EXPECT_LE(2, pools) TH_LOG("fewer than two pools could allocate");
	EXPECT_EQ(failures, mapping_value("clean_failures"));
}

FIXTURE(importer) {
	int importer, pool;
};

FIXTURE_SETUP(importer)
{
	self->importer = importer_open();
	ASSERT_LE(0, self->importer) TH_LOG(IMPORTER_DEV ": %s", strerror(errno));
	self->pool = pool_open("camera");
	ASSERT_LE(0, self->pool);
}

FIXTURE_TEARDOWN(importer)
{
	close(self->importer);
	EXPECT_TRUE(wait_used(self->pool, 0, 1000));
	close(self->pool);
	EXPECT_EQ(0, unload_module("cmabuf_test_importer"));
}

/*
 * Item 9: a cached buffer handed to a device by physical address (CMABUF_IOC_PHYS) has
 * no mapped importer; DMA_BUF_IOCTL_SYNC must then clean/invalidate the buffer itself.
 * An attachment that is not mapped changes nothing; a mapped one is synced instead.
 */
TEST_F(importer, phys_sync)
{
	struct cmabuf_map_dirs req = { 0 };
	uint64_t phys;
	long long before;
	int buf = buf_alloc_rw(self->pool, SIZE), wc;

	ASSERT_LE(0, buf);
	ASSERT_EQ(0, buf_phys(self->pool, buf, &phys, NULL));
	before = mapping_value("cpu_syncs_unattached");
	ASSERT_LE(0, before) TH_LOG("no cpu_syncs_unattached in " MAPPING);
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	EXPECT_EQ(before + 2, mapping_value("cpu_syncs_unattached"))
		TH_LOG("DMA_BUF_IOCTL_SYNC did no cache maintenance without an importer");

	/* Attached but not mapped: still the buffer itself. */
	ASSERT_EQ(0, ioctl(self->importer, IMPORTER_IOC_HOLD, buf));
	before = mapping_value("cpu_syncs_unattached");
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	EXPECT_EQ(before + 2, mapping_value("cpu_syncs_unattached"));
	ASSERT_EQ(0, ioctl(self->importer, IMPORTER_IOC_RELEASE));

	/* A mapped importer: its attachment is synced, not the buffer on its own. */
	req.fd = buf;
	req.map_dir = req.unmap_dir = req.sync_dir = DMA_BIDIRECTIONAL_VALUE;
	before = mapping_value("cpu_syncs_unattached");
	ASSERT_EQ(0, ioctl(self->importer, IMPORTER_IOC_MAP_DIRS, &req)) TH_LOG("%s",
									       strerror(errno));
	EXPECT_EQ(before, mapping_value("cpu_syncs_unattached"));

	/* Write-combine and uncached mappings bypass the cache: nothing to do. */
	wc = buf_alloc(self->pool, SIZE, 0, CMABUF_WRITECOMBINE, O_RDWR);
	ASSERT_LE(0, wc);
	before = mapping_value("cpu_syncs_unattached");
	ASSERT_EQ(0, buf_sync(wc, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	ASSERT_EQ(0, buf_sync(wc, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	EXPECT_EQ(before, mapping_value("cpu_syncs_unattached"));
	close(wc);
	close(buf);
}

/*
 * Item 14 (direction): an importer that maps for DMA_TO_DEVICE and unmaps with another
 * direction is unmapped as it was mapped, and told so in the kernel log (no WARN).
 */
TEST_F(importer, unmap_direction)
{
	struct cmabuf_map_dirs req = { 0 };
	int buf = buf_alloc_rw(self->pool, SIZE);

	ASSERT_LE(0, buf);
	req.fd = buf;
	req.map_dir = DMA_TO_DEVICE_VALUE;
	req.sync_dir = DMA_FROM_DEVICE_VALUE;
	req.unmap_dir = DMA_FROM_DEVICE_VALUE;
	ASSERT_EQ(0, ioctl(self->importer, IMPORTER_IOC_MAP_DIRS, &req)) TH_LOG("%s",
									       strerror(errno));
	EXPECT_TRUE(klog_contains("unmapped it for direction 2 but mapped it for 1"))
		TH_LOG("a mismatched unmap went unnoticed");
	close(buf);
}

TEST_HARNESS_MAIN
