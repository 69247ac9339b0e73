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
#include "memory_filler.h"
#include "kselftest_harness.h"

#define DISPLAY_BASE 0x5c000000ULL
#define DISPLAY_SIZE (32 * MiB)
#define CAMERA_BASE 0x58000000ULL
#define CAMERA_SIZE (64 * MiB)

/* A counter's value since cmabuf loaded, from /sys/kernel/debug/cmabuf/vmstat. */
static long long since_load(const char *counter)
{
	char text[4096], *line, name[64];
	long long boot, load;

	if (read_text(CMABUF_DEBUGFS "/vmstat", text, sizeof(text)) <= 0)
		return -1;
	for (line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (sscanf(line, "%63s %lld %lld", name, &boot, &load) == 3 && !strcmp(name, counter))
			return load;
	return -1;
}

/* Filling memory takes a while under emulation: more than the harness's default 30 s. */
FIXTURE(pressure) {
};

FIXTURE_SETUP(pressure)
{
}

FIXTURE_TEARDOWN(pressure)
{
}

TEST_F_TIMEOUT(pressure, lent_pages_are_migrated_back_and_counted, 240)
{
	long long migrated_before = info_value("camera", "migrated_pages"), lent;
	long long vm_before = since_load("pgmigrate_success");
	int pool = pool_open("camera"), buf;
	uint64_t start = now_ms();
	struct filler f;
	long ours;

	ASSERT_LE(0, pool);
	ours = fill_until_pool_used(&f, CAMERA_BASE, CAMERA_SIZE, 256);
	ASSERT_LT(0, ours) TH_LOG("none of our pages landed in the camera pool");
	lent = meminfo_kb("CmaTotal") - meminfo_kb("CmaFree");
	ksft_print_msg("lent to the system: %lld KiB of CMA pages, %ld of our anonymous pages in the camera pool (filled in %llu ms)\n",
		       lent, ours, (unsigned long long)(now_ms() - start));
	buf = buf_alloc_rw(pool, CAMERA_SIZE);
	ASSERT_LE(0, buf) TH_LOG("the whole pool under pressure: %s", strerror(-buf));
	EXPECT_EQ((long long)CAMERA_SIZE, pool_used(pool));
	EXPECT_LE(migrated_before + ours, info_value("camera", "migrated_pages"))
		TH_LOG("fewer migrations counted than our pages that were in the pool");
	EXPECT_LE(vm_before + ours, since_load("pgmigrate_success"))
		TH_LOG("pgmigrate_success since load did not rise by our pages");
	EXPECT_EQ(0, since_load("oom_kill")) TH_LOG("the OOM killer ran");
	ksft_print_msg("camera: %lld pages migrated for its allocations so far\n",
		       info_value("camera", "migrated_pages"));
	close(buf);
	unfill(&f);
	close(pool);
}

TEST_F_TIMEOUT(pressure, a_pinned_page_gives_ebusy_and_is_named, 240)
{
	int pool = pool_open("display"), buf, pipefd[2];
	char path[] = CMABUF_DEBUGFS "/display/last_failure", text[4096], needle[64];
	struct filler f;
	struct iovec iov;
	uint64_t pfn = 0;
	char *page;

	ASSERT_LE(0, pool);
	ASSERT_LT(0, fill_until_pool_used(&f, DISPLAY_BASE, DISPLAY_SIZE, 1));
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
