// SPDX-License-Identifier: GPL-2.0
/*
 * The seed's point, observed: the system lends the pools out for movable pages (anonymous
 * memory and shmem page cache), and an allocation takes them back by migration, which
 * cmabuf counts. A page pinned by a pipe inside a pool makes the allocation fail with
 * EBUSY, and last_failure names that page as pinned. And debugfs stays readable while
 * eight threads allocate and free.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "cmabuf_util.h"
#include "kselftest_harness.h"

#define MiB (1024ULL * 1024)
#define CHUNK (8 * MiB)
#define MAX_CHUNKS 128
#define DISPLAY_BASE 0x5c000000ULL
#define DISPLAY_SIZE (32 * MiB)
#define CAMERA_BASE 0x58000000ULL
#define CAMERA_SIZE (64 * MiB)

/* Anonymous memory and a shmem file that fill the machine until CMA pages are used. */
struct filler {
	char *chunks[MAX_CHUNKS];
	int nr;
	int shmem;
};

static long long info_value(const char *pool, const char *key)
{
	char path[128], text[4096];

	snprintf(path, sizeof(path), CMABUF_DEBUGFS "/%s/info", pool);
	if (read_text(path, text, sizeof(text)) < 0)
		return -1;
	return text_field(text, key);
}

/* The page frame behind a virtual address of ours (needs CAP_SYS_ADMIN), or 0. */
static uint64_t pfn_of(int pagemap, const void *addr)
{
	uint64_t entry;
	off_t off = (uintptr_t)addr / getpagesize() * sizeof(entry);

	if (pread(pagemap, &entry, sizeof(entry), off) != sizeof(entry))
		return 0;
	return (entry & (1ULL << 63)) ? entry & ((1ULL << 55) - 1) : 0;
}

/* Fills memory until the CMA pools hold at least want_kib of movable pages. */
static int fill_until_cma_used(struct filler *f, long long want_kib)
{
	long long cma_total = meminfo_kb("CmaTotal");
	char buf[65536];
	int i;

	memset(f, 0, sizeof(*f));
	/* Page cache first: 64 MiB of shmem. */
	f->shmem = open("/tmp/cmabuf-pressure", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (f->shmem < 0)
		return -1;
	memset(buf, 0x77, sizeof(buf));
	for (i = 0; i < (int)(64 * MiB / sizeof(buf)); i++)
		if (write(f->shmem, buf, sizeof(buf)) != sizeof(buf))
			return -1;
	/* Then anonymous memory, until CMA is used or free memory runs low. */
	while (f->nr < MAX_CHUNKS && cma_total - meminfo_kb("CmaFree") < want_kib &&
	       meminfo_kb("MemAvailable") > 96 * 1024) {
		char *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);

		if (p == MAP_FAILED)
			break;
		memset(p, 0x5a, CHUNK);
		f->chunks[f->nr++] = p;
	}
	return cma_total - meminfo_kb("CmaFree") >= want_kib ? 0 : -1;
}

static void unfill(struct filler *f)
{
	int i;

	for (i = 0; i < f->nr; i++)
		munmap(f->chunks[i], CHUNK);
	f->nr = 0;
	if (f->shmem >= 0)
		close(f->shmem);
	unlink("/tmp/cmabuf-pressure");
}

/* The first page of ours that lies in [base, base + size). */
static char *page_in(struct filler *f, uint64_t base, uint64_t size, uint64_t *pfn)
{
	int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC), i;
	size_t off;

	if (pagemap < 0)
		return NULL;
	for (i = 0; i < f->nr; i++) {
		for (off = 0; off < CHUNK; off += getpagesize()) {
			uint64_t phys = pfn_of(pagemap, f->chunks[i] + off) * getpagesize();

			if (phys >= base && phys < base + size) {
				*pfn = phys / getpagesize();
				close(pagemap);
				return f->chunks[i] + off;
			}
		}
	}
	close(pagemap);
	return NULL;
}

TEST(lent_pages_are_migrated_back_and_counted)
{
	long long migrated_before = info_value("camera", "migrated_pages"), lent, used;
	int pool = pool_open("camera"), buf;
	struct filler f;

	ASSERT_LE(0, pool);
	ASSERT_EQ(0, fill_until_cma_used(&f, 32 * 1024)) TH_LOG("CMA stayed unused");
	lent = meminfo_kb("CmaTotal") - meminfo_kb("CmaFree");
	ksft_print_msg("lent to the system: %lld KiB of CMA pages\n", lent);
	buf = buf_alloc_rw(pool, 56 * MiB);
	ASSERT_LE(0, buf) TH_LOG("56 MiB of the 64 MiB pool under pressure: %s",
				 strerror(-buf));
	used = pool_used(pool);
	EXPECT_EQ((long long)(56 * MiB), used);
	EXPECT_LT(migrated_before, info_value("camera", "migrated_pages"))
		TH_LOG("no migration was counted for the pool");
	ksft_print_msg("camera: %lld pages migrated for its allocations so far\n",
		       info_value("camera", "migrated_pages"));
	close(buf);
	unfill(&f);
	close(pool);
}

TEST(a_pinned_page_gives_ebusy_and_is_named)
{
	int pool = pool_open("display"), buf, pipefd[2];
	char path[] = CMABUF_DEBUGFS "/display/last_failure", text[4096], needle[64];
	struct filler f;
	struct iovec iov;
	uint64_t pfn = 0;
	char *page;

	ASSERT_LE(0, pool);
	ASSERT_EQ(0, fill_until_cma_used(&f, 48 * 1024));
	page = page_in(&f, DISPLAY_BASE, DISPLAY_SIZE, &pfn);
	ASSERT_NE(NULL, page) TH_LOG("none of our pages landed in the display pool");
	/* The pipe's reference pins the page: migration cannot move it. */
	ASSERT_EQ(0, pipe(pipefd));
	iov = (struct iovec){ .iov_base = page, .iov_len = getpagesize() };
	ASSERT_EQ(getpagesize(), vmsplice(pipefd[1], &iov, 1, 0));
	unfill(&f);

	buf = buf_alloc_rw(pool, DISPLAY_SIZE);
	EXPECT_EQ(-EBUSY, buf) TH_LOG("allocated over a pinned page?");
	ASSERT_LT(0, read_text(path, text, sizeof(text)));
	EXPECT_EQ(16, text_field(text, "errno")) TH_LOG("%s", text);
	EXPECT_LE(1, text_field(text, "census_pinned")) TH_LOG("%s", text);
	snprintf(needle, sizeof(needle), "sample: pfn %#llx pinned", (unsigned long long)pfn);
	EXPECT_NE(NULL, strstr(text, needle)) TH_LOG("looked for '%s' in:\n%s", needle, text);
	EXPECT_LE(1, info_value("display", "failures_ebusy_migration"));

	close(pipefd[0]);
	close(pipefd[1]);
	buf = buf_alloc_rw(pool, DISPLAY_SIZE);
	EXPECT_LE(0, buf) TH_LOG("after the pipe let go: %s", strerror(-buf));
	if (buf >= 0)
		close(buf);
	close(pool);
}

struct churn {
	int pool;
	volatile int *stop;
	int errors;
};

static void *allocator(void *arg)
{
	struct churn *c = arg;
	unsigned int seed = (uintptr_t)arg;

	while (!*c->stop) {
		int buf = buf_alloc_rw(c->pool, ((rand_r(&seed) % 256) + 1) * 4096);

		if (buf >= 0)
			close(buf);
		else if (buf != -ENOMEM && buf != -EBUSY)
			c->errors++;
	}
	return NULL;
}

TEST(debugfs_is_readable_while_eight_threads_allocate)
{
	const char *files[] = { "camera/info", "camera/buffers", "camera/latency",
				"camera/last_failure", "camera/occupancy", "zones", "vmstat" };
	struct churn c[8];
	pthread_t t[8];
	volatile int stop = 0;
	char path[128], text[16384];
	int i, round, reads = 0, errors = 0;

	for (i = 0; i < 8; i++) {
		c[i] = (struct churn){ .pool = pool_open("camera"), .stop = &stop };
		ASSERT_LE(0, c[i].pool);
		ASSERT_EQ(0, pthread_create(&t[i], NULL, allocator, &c[i]));
	}
	for (round = 0; round < 50; round++)
		for (i = 0; i < (int)(sizeof(files) / sizeof(files[0])); i++) {
			snprintf(path, sizeof(path), CMABUF_DEBUGFS "/%s", files[i]);
			reads += read_text(path, text, sizeof(text)) > 0;
		}
	stop = 1;
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		errors += c[i].errors;
		EXPECT_TRUE(wait_used(c[i].pool, 0, 1000));
		close(c[i].pool);
	}
	EXPECT_EQ(50 * (int)(sizeof(files) / sizeof(files[0])), reads);
	EXPECT_EQ(0, errors);
}

TEST_HARNESS_MAIN
