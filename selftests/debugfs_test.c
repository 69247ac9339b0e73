// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/cmabuf against the kernel's own views taken at the same moment:
 * /proc/zoneinfo, /proc/vmstat, /sys/kernel/mm/cma and the pool's ioctl; and the
 * per-pool buffers, latency, profile, occupancy and last_failure files against what the
 * test did.
 */
#include <sys/mman.h>

#include "cmabuf_util.h"
#include "kselftest_harness.h"

static char text[65536], proc[65536];

/* The value after `key` on the line where `key` starts a word, in text from `from`. */
static long long word_value(const char *from, const char *end, const char *key)
{
	size_t len = strlen(key);
	const char *p = from;

	while ((p = strstr(p, key)) && (!end || p < end)) {
		if ((p == from || p[-1] == ' ' || p[-1] == '\n') && p[len] == ' ')
			return strtoll(p + len, NULL, 10);
		p += len;
	}
	return -1;
}

/* The block of /proc/zoneinfo for node nid, zone name. */
static const char *zoneinfo_block(int nid, const char *name, const char **end)
{
	char head[64];
	const char *p;

	snprintf(head, sizeof(head), "Node %d, zone ", nid);
	for (p = strstr(proc, head); p; p = strstr(p + 1, head)) {
		const char *z = p + strlen(head);

		while (*z == ' ')
			z++;
		if (!strncmp(z, name, strlen(name)) && z[strlen(name)] == '\n') {
			*end = strstr(z, "Node ");
			return z;
		}
	}
	return NULL;
}

TEST(zones_match_proc_zoneinfo)
{
	char *zone = text;
	int zones = 0;

	ASSERT_LT(0, read_text(CMABUF_DEBUGFS "/zones", text, sizeof(text)));
	ASSERT_LT(0, read_text("/proc/zoneinfo", proc, sizeof(proc)));
	while ((zone = strstr(zone, "zone: "))) {
		char name[32] = "";
		const char *block, *end = NULL;
		int nid = -1;

		ASSERT_EQ(2, sscanf(zone, "zone: %d %31s", &nid, name));
		block = zoneinfo_block(nid, name, &end);
		ASSERT_NE(NULL, block) TH_LOG("zone %d %s is not in /proc/zoneinfo", nid, name);
		EXPECT_EQ(word_value(block, end, "managed"), text_field(zone, "managed"));
		EXPECT_EQ(word_value(block, end, "present"), text_field(zone, "present"));
		EXPECT_EQ(word_value(block, end, "spanned"), text_field(zone, "spanned"));
		EXPECT_EQ(word_value(block, end, "start_pfn:"), text_field(zone, "start_pfn"));
		EXPECT_EQ(word_value(block, end, "min"), text_field(zone, "min"));
		EXPECT_EQ(word_value(block, end, "low"), text_field(zone, "low"));
		EXPECT_EQ(word_value(block, end, "high"), text_field(zone, "high"));
		EXPECT_EQ(word_value(block, end, "boost"), text_field(zone, "boost"));
		/* Free pages move between the two reads: within 1 % or 256 pages. */
		EXPECT_GE(256 + word_value(block, end, "free") / 100,
			  llabs(word_value(block, end, "free") - text_field(zone, "free")));
		EXPECT_GE(256 + word_value(block, end, "nr_free_cma") / 100,
			  llabs(word_value(block, end, "nr_free_cma") - text_field(zone, "free_cma")));
		zones++;
		zone += 6;
	}
	EXPECT_LT(0, zones);
}

TEST(vmstat_matches_proc_vmstat)
{
	const char *keys[] = { "pgmigrate_success", "pgmigrate_fail", "compact_isolated",
			       "compact_stall", "cma_alloc_success", "cma_alloc_fail" };
	size_t i;

	ASSERT_LT(0, read_text(CMABUF_DEBUGFS "/vmstat", text, sizeof(text)));
	ASSERT_LT(0, read_text("/proc/vmstat", proc, sizeof(proc)));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		long long ours = word_value(text, NULL, keys[i]);
		long long kernel = word_value(proc, NULL, keys[i]);

		EXPECT_LE(0, ours) TH_LOG("%s missing", keys[i]);
		/* Counters only grow; ours was read first. */
		EXPECT_TRUE(kernel >= ours && kernel - ours <= 64)
			TH_LOG("%s: cmabuf %lld, /proc/vmstat %lld", keys[i], ours, kernel);
	}
}

TEST(info_matches_ioctl_and_cma_sysfs)
{
	int pool = pool_open("camera"), buf;
	struct cmabuf_pool_info info;
	char sys[64];

	ASSERT_LE(0, pool);
	buf = buf_alloc_rw(pool, 3 * MiB);
	ASSERT_LE(0, buf);
	ASSERT_EQ(0, pool_info(pool, &info));
	ASSERT_LT(0, read_text(CMABUF_DEBUGFS "/camera/info", text, sizeof(text)));
	EXPECT_EQ((long long)info.size, text_field(text, "size"));
	EXPECT_EQ((long long)info.used, text_field(text, "used"));
	EXPECT_EQ((long long)info.free, text_field(text, "free"));
	EXPECT_EQ((long long)info.largest_free, text_field(text, "largest_free"));
	EXPECT_EQ(1, text_field(text, "buffers"));
	EXPECT_LE((long long)(3 * MiB), text_field(text, "peak_used"));
	ASSERT_LT(0, read_text("/sys/kernel/mm/cma/camera-pool@58000000/total_pages", sys,
			       sizeof(sys)));
	EXPECT_EQ(strtoll(sys, NULL, 10) * getpagesize(), text_field(text, "size"));
	close(buf);
	close(pool);
}

TEST(buffers_lists_every_live_buffer)
{
	int pool = pool_open("display"), a, b;
	uint64_t phys;
	char line[256];
	void *p;

	ASSERT_LE(0, pool);
	a = buf_alloc(pool, 2 * MiB, 0, CMABUF_CACHED, O_RDWR);
	b = buf_alloc(pool, MiB, 0, CMABUF_WRITECOMBINE, O_RDWR);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	p = mmap(NULL, 2 * MiB, PROT_READ, MAP_SHARED, a, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, buf_phys(pool, a, &phys, NULL));
	ASSERT_LT(0, read_text(CMABUF_DEBUGFS "/display/buffers", text, sizeof(text)));
	snprintf(line, sizeof(line), "%#18llx", (unsigned long long)phys);
	EXPECT_NE(NULL, strstr(text, line)) TH_LOG("%s not in:\n%s", line, text);
	snprintf(line, sizeof(line), "%d  debugfs_test", getpid());
	EXPECT_NE(NULL, strstr(text, line)) TH_LOG("%s", text);
	EXPECT_NE(NULL, strstr(text, " writecombine ")) TH_LOG("%s", text);
	EXPECT_NE(NULL, strstr(text, " 2097152 ")) TH_LOG("%s", text);
	munmap(p, 2 * MiB);
	close(a);
	close(b);
	ASSERT_TRUE(wait_used(pool, 0, 1000));
	ASSERT_LT(0, read_text(CMABUF_DEBUGFS "/display/buffers", text, sizeof(text)));
	EXPECT_EQ(NULL, strchr(strchr(text, '\n') + 1, '\n')) TH_LOG("freed buffers listed:\n%s",
								     text);
	close(pool);
}

/*
 * buffers is written as it is read, one line per buffer by id (a seq_file iterator):
 * read in small pieces, with buffers freed while it is read, every buffer still alive is
 * listed exactly once, in order of id, and one freed before its line was reached is not.
 */
TEST(buffers_streams_by_id_in_small_reads)
{
	enum { N = 400, PIECE = 97 };
	static char all[256 * 1024];
	int pool = pool_open("display"), fds[N], fd, i, lines = 0, want = 0;
	struct cmabuf_alloc req;
	uint32_t ids[N];
	long long last = 0;
	bool seen[N] = { false };
	size_t len = 0;
	ssize_t n;
	char *line;

	ASSERT_LE(0, pool);
	for (i = 0; i < N; i++) {
		req = (struct cmabuf_alloc){ .size = 4096, .fd_flags = O_RDWR };
		ASSERT_EQ(0, ioctl(pool, CMABUF_IOC_ALLOC, &req)) TH_LOG("buffer %d: %s", i,
									  strerror(errno));
		fds[i] = req.fd;
		ids[i] = req.id;
	}
	fd = open(CMABUF_DEBUGFS "/display/buffers", O_RDONLY);
	ASSERT_LE(0, fd);
	/* A third of the lines (each over 100 bytes), in pieces smaller than a line. */
	while (len < N / 3 * 100) {
		n = read(fd, all + len, PIECE);
		ASSERT_LT(0, n);
		len += n;
	}
	/* Far beyond what seq_file has already formatted (one page ahead at most). */
	for (i = N / 2 + 1; i < N; i += 2) {
		close(fds[i]);
		fds[i] = -1;
	}
	while ((n = read(fd, all + len, PIECE)) > 0) {
		len += n;
		ASSERT_GT(sizeof(all) - PIECE, len);
	}
	ASSERT_EQ(0, n);
	close(fd);
	all[len] = 0;
	ASSERT_EQ(0, strncmp(all, "id ", 3)) TH_LOG("no header: %.200s", all);
	for (line = strchr(all, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
		long long id = strtoll(line + 1, NULL, 10);

		lines++;
		EXPECT_LT(last, id) TH_LOG("id %lld after %lld", id, last);
		last = id;
		for (i = 0; i < N && ids[i] != id; i++)
			;
		ASSERT_GT(N, i) TH_LOG("id %lld is not one of this test's buffers", id);
		EXPECT_FALSE(seen[i]);
		seen[i] = true;
	}
	for (i = 0; i < N; i++) {
		if (fds[i] < 0) {
			EXPECT_FALSE(seen[i]) TH_LOG("buffer %u freed before its line, listed", ids[i]);
			continue;
		}
		EXPECT_TRUE(seen[i]) TH_LOG("buffer %u alive and not listed", ids[i]);
		want++;
		close(fds[i]);
	}
	EXPECT_EQ(want, lines);
	ASSERT_TRUE(wait_used(pool, 0, 5000));
	close(pool);
}

TEST(latency_counts_allocations_and_resets)
{
	const char *path = CMABUF_DEBUGFS "/camera/latency";
	int pool = pool_open("camera"), i;
	char *row;

	ASSERT_LE(0, pool);
	ASSERT_EQ(0, write_text(path, "reset\n"));
	for (i = 0; i < 5; i++) {
		int buf = buf_alloc_rw(pool, MiB);

		ASSERT_LE(0, buf);
		close(buf);
	}
	ASSERT_LT(0, read_text(path, text, sizeof(text)));
	row = strstr(text, "<=1M ");
	ASSERT_NE(NULL, row) TH_LOG("%s", text);
	EXPECT_EQ(5, strtoll(row + 5, NULL, 10)) TH_LOG("%s", text);
	ASSERT_EQ(0, write_text(path, "reset"));
	ASSERT_LT(0, read_text(path, text, sizeof(text)));
	EXPECT_EQ(0, strtoll(strstr(text, "<=1M ") + 5, NULL, 10)) TH_LOG("%s", text);
	EXPECT_NE(0, write_text(path, "bogus"));
	close(pool);
}

/* Prints a debugfs file's lines into the test's output, "# " first. */
static void print_lines(const char *title, const char *lines)
{
	const char *p = lines, *nl;

	printf("# %s\n", title);
	while (*p && (nl = strchr(p, '\n'))) {
		printf("#   %.*s\n", (int)(nl - p), p);
		p = nl + 1;
	}
}

/*
 * The stage profile counts served allocations and where their time went: with the cache
 * off, every one goes through cma_alloc and is zeroed on the allocation path; the
 * write-combine ones are also cleaned from the CPU caches. The stages add up to at most
 * the whole, own_ns is the rest; "reset" clears it and anything else is refused.
 */
TEST(profile_counts_stages_and_resets)
{
	const char *path = CMABUF_DEBUGFS "/camera/profile";
	const char *stages[] = { "cma_alloc_ns", "room_ns", "zero_ns", "clean_ns", "vm_events_ns" };
	const char *keys[] = { "allocs", "cache_hits", "cma_allocs", "alloc_ns", "cma_alloc_ns",
			       "room_ns", "zero_ns", "clean_ns", "vm_events_ns", "own_ns",
			       "bg_zero_ns", "bg_zero_bytes", "prepare_calls", "prepare_ns",
			       "prepare_cma_alloc_ns", "prepare_zero_ns" };
	int pool = pool_open("camera"), i, n = 8;
	long long sum = 0, before;
	size_t k;

	ASSERT_LE(0, pool);
	ASSERT_EQ(0, info_value("camera", "cache_limit")) TH_LOG("the warm cache must be off");
	ASSERT_LT(0, read_text(path, text, sizeof(text)));
	before = text_field(text, "allocs");
	ASSERT_LE(0, before) TH_LOG("%s", text);
	for (i = 0; i < n; i++) {
		uint32_t cache = i & 1 ? CMABUF_WRITECOMBINE : CMABUF_CACHED;
		int buf = buf_alloc(pool, MiB, 0, cache, O_RDWR | O_CLOEXEC);

		ASSERT_LE(0, buf);
		close(buf);
	}
	ASSERT_LT(0, read_text(path, text, sizeof(text)));
	print_lines("camera/profile after 8 allocations of 1 MiB:", text);
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const char *key = keys[k];

		EXPECT_LE(0, text_field(text, key)) TH_LOG("%s missing:\n%s", key, text);
	}
	EXPECT_EQ(before + n, text_field(text, "allocs")) TH_LOG("%s", text);
	EXPECT_EQ(text_field(text, "allocs"),
		  text_field(text, "cache_hits") + text_field(text, "cma_allocs"));
	for (k = 0; k < sizeof(stages) / sizeof(stages[0]); k++)
		sum += text_field(text, stages[k]);
	EXPECT_GE(text_field(text, "alloc_ns"),
		  text_field(text, "cma_alloc_ns") + text_field(text, "zero_ns"));
	EXPECT_EQ(text_field(text, "alloc_ns") - sum, text_field(text, "own_ns")) TH_LOG("%s", text);
	EXPECT_LT(0, text_field(text, "cma_alloc_ns"));
	EXPECT_LT(0, text_field(text, "zero_ns"));
	EXPECT_LT(0, text_field(text, "clean_ns"));
	EXPECT_LT(0, text_field(text, "vm_events_ns"));

	ASSERT_EQ(0, write_text(path, "reset\n"));
	ASSERT_LT(0, read_text(path, text, sizeof(text)));
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const char *key = keys[k];

		EXPECT_EQ(0, text_field(text, key)) TH_LOG("%s after reset:\n%s", key, text);
	}
	errno = 0;
	EXPECT_EQ(-1, write_text(path, "bogus"));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, write_text(path, "reset reset reset"));
	EXPECT_EQ(EINVAL, errno);
	close(pool);
}

TEST(occupancy_follows_buffers)
{
	const char *path = CMABUF_DEBUGFS "/display/occupancy";
	int pool = pool_open("display"), buf;

	ASSERT_LE(0, pool);
	buf = buf_alloc_rw(pool, 32 * MiB);
	ASSERT_LE(0, buf);
	ASSERT_LT(0, read_text(path, text, sizeof(text)));
	EXPECT_EQ(NULL, strchr(strchr(text, '\n') + 1, '.')) TH_LOG("%s", text);
	close(buf);
	ASSERT_TRUE(wait_used(pool, 0, 1000));
	ASSERT_LT(0, read_text(path, text, sizeof(text)));
	EXPECT_EQ(NULL, strchr(strchr(text, '\n') + 1, '#')) TH_LOG("%s", text);
	close(pool);
}

TEST(last_failure_says_why)
{
	int pool = pool_open("display"), a, b;

	ASSERT_LE(0, pool);
	a = buf_alloc_rw(pool, 24 * MiB);
	ASSERT_LE(0, a);
	b = buf_alloc_rw(pool, 16 * MiB);
	EXPECT_EQ(-ENOMEM, b);
	ASSERT_LT(0, read_text(CMABUF_DEBUGFS "/display/last_failure", text, sizeof(text)));
	EXPECT_EQ(12, text_field(text, "errno")) TH_LOG("%s", text);
	EXPECT_EQ((long long)(16 * MiB), text_field(text, "size"));
	EXPECT_EQ(getpid(), text_field(text, "pid"));
	EXPECT_NE(NULL, strstr(text, "reason: no free run large enough")) TH_LOG("%s", text);
	close(a);
	close(pool);
}

/* The one-screen tool shows every pool and zone (make run prints it too). */
TEST(cmabuf_stat_shows_pools_and_zones)
{
	FILE *out = popen("/bin/cmabuf_stat", "r");
	size_t n;

	ASSERT_NE(NULL, out);
	n = fread(text, 1, sizeof(text) - 1, out);
	text[n] = '\0';
	EXPECT_EQ(0, pclose(out));
	EXPECT_NE(NULL, strstr(text, "\ncamera ")) TH_LOG("%s", text);
	EXPECT_NE(NULL, strstr(text, "\ndisplay ")) TH_LOG("%s", text);
	EXPECT_NE(NULL, strstr(text, "DMA/0") ?: strstr(text, "Normal/0")) TH_LOG("%s", text);
	EXPECT_NE(NULL, strstr(text, "MiB total")) TH_LOG("%s", text);
}

TEST_HARNESS_MAIN
