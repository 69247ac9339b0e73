// SPDX-License-Identifier: GPL-2.0
/*
 * The pools' sysfs files, /sys/class/misc/cmabuf-<pool>/ (the stable ABI,
 * Documentation/ABI/testing/sysfs-driver-cmabuf): one read-only decimal value each,
 * the same numbers as CMABUF_IOC_POOL_INFO and debugfs's info, failure counters that
 * move by exactly one per failure and by reason, and files that go with the pool: a
 * file open across the unbind (or the module's unload) fails with ENODEV.
 */
#include <limits.h>
#include <pthread.h>
#include <sys/sysmacros.h>

#include "cmabuf_util.h"
#include "kselftest_harness.h"

#define SYSFS_MISC "/sys/class/misc"

/*
 * Every file the module creates, with the debugfs info key of the same number and
 * whether CMABUF_IOC_POOL_INFO has it. scripts/host-checks.sh (sysfs_abi_documented)
 * checks that this list, rust/ffi/sysfs_attrs.c and the ABI file name the same files.
 */
static const struct attr {
	const char *name;
	const char *debugfs;
} attrs[] = {
	{ "size", "size" },
	{ "used", "used" },
	{ "free", "free" },
	{ "largest_free", "largest_free" },
	{ "buffers", "buffers" },
	{ "peak_used", "peak_used" },
	{ "alloc_successes", "allocations" },
	{ "alloc_failures", "failures" },
	{ "migrated_pages", "migrated_pages" },
	{ "cached", "cached" },
	{ "cache_limit", "cache_limit" },
	{ "max_bytes", "max_bytes" },
	{ "max_buffers", "max_buffers" },
	{ "max_process_bytes", "max_process_bytes" },
	{ "max_process_buffers", "max_process_buffers" },
	{ "failures/invalid", "failures_einval_invalid" },
	{ "failures/no_room", "failures_enomem_no_room" },
	{ "failures/migration", "failures_ebusy_migration" },
	{ "failures/limit", "failures_edquot_limit" },
	{ "failures/dmem", "failures_edquot_dmem" },
	{ "failures/other", "failures_other" },
};

#define NATTRS (sizeof(attrs) / sizeof(attrs[0]))
#define FIRST_FAILURE 15 /* attrs[FIRST_FAILURE..]: failures/<reason> */

enum {
	SIZE, USED, FREE, LARGEST_FREE, BUFFERS, PEAK_USED, ALLOC_SUCCESSES, ALLOC_FAILURES,
	MIGRATED_PAGES, CACHED, CACHE_LIMIT, MAX_BYTES, MAX_BUFFERS, MAX_PROCESS_BYTES,
	MAX_PROCESS_BUFFERS, FAILURES_INVALID, FAILURES_NO_ROOM, FAILURES_MIGRATION,
	FAILURES_LIMIT, FAILURES_DMEM, FAILURES_OTHER,
};

struct values {
	long long v[NATTRS];
};

static void attr_path(char *path, size_t len, const char *pool, const char *name)
{
	snprintf(path, len, SYSFS_MISC "/cmabuf-%s/%s", pool, name);
}

/*
 * The value of a file that holds exactly one unsigned decimal number and a newline,
 * or -1 (missing, unreadable, or anything else in it).
 */
static long long read_value(const char *pool, const char *name)
{
	char path[256], text[64], *end;
	unsigned long long v;
	ssize_t n;

	attr_path(path, sizeof(path), pool, name);
	n = read_text(path, text, sizeof(text));
	if (n < 2 || text[n - 1] != '\n' || text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end != text + n - 1 || v > LLONG_MAX)
		return -1;
	return (long long)v;
}

/* All files of the pool; false if one is not a single value. */
static bool read_values(const char *pool, struct values *out)
{
	size_t i;

	for (i = 0; i < NATTRS; i++) {
		out->v[i] = read_value(pool, attrs[i].name);
		if (out->v[i] < 0)
			return false;
	}
	return true;
}

/*
 * Compares every file with debugfs's info and CMABUF_IOC_POOL_INFO. The warm cache's
 * background work may change the cache's numbers in between, so the three are taken
 * again until sysfs reads the same before and after the others. Returns the index of
 * the first file that differs, -1 if all agree, or -2 if nothing could be read.
 */
static int compare_with_ioctl_and_debugfs(const char *pool, int pool_fd, struct values *now,
					  char *why, size_t why_len)
{
	static char info[8192];
	struct cmabuf_pool_info pi;
	struct values after;
	char path[128];
	int tries;
	size_t i;

	snprintf(path, sizeof(path), CMABUF_DEBUGFS "/%s/info", pool);
	for (tries = 0; tries < 10; tries++) {
		if (!read_values(pool, now) || read_text(path, info, sizeof(info)) <= 0 ||
		    pool_info(pool_fd, &pi) || !read_values(pool, &after)) {
			snprintf(why, why_len, "cannot read sysfs, %s or POOL_INFO", path);
			return -2;
		}
		if (!memcmp(now, &after, sizeof(after)))
			break;
	}
	for (i = 0; i < NATTRS; i++) {
		long long dbg = text_field(info, attrs[i].debugfs);

		if (now->v[i] != dbg) {
			snprintf(why, why_len, "%s: sysfs %lld, debugfs %s %lld", attrs[i].name,
				 now->v[i], attrs[i].debugfs, dbg);
			return i;
		}
	}
	{
		const struct { int attr; uint64_t ioctl; } in_ioctl[] = {
			{ SIZE, pi.size }, { USED, pi.used }, { FREE, pi.free },
			{ LARGEST_FREE, pi.largest_free }, { BUFFERS, pi.buffers },
			{ MAX_BYTES, pi.max_bytes }, { MAX_BUFFERS, pi.max_buffers },
			{ MAX_PROCESS_BYTES, pi.max_process_bytes },
			{ MAX_PROCESS_BUFFERS, pi.max_process_buffers },
		};

		for (i = 0; i < sizeof(in_ioctl) / sizeof(in_ioctl[0]); i++) {
			int a = in_ioctl[i].attr;

			if ((uint64_t)now->v[a] != in_ioctl[i].ioctl) {
				snprintf(why, why_len, "%s: sysfs %lld, POOL_INFO %llu",
					 attrs[a].name, now->v[a],
					 (unsigned long long)in_ioctl[i].ioctl);
				return a;
			}
		}
	}
	return -1;
}

#define EXPECT_AGREES(pool, fd, values)							\
	do {										\
		char why_[256] = "";							\
		EXPECT_EQ(-1, compare_with_ioctl_and_debugfs(pool, fd, values, why_,	\
							     sizeof(why_)))		\
			TH_LOG("%s", why_);						\
	} while (0)

/* Whether the failure files moved by one for reason `which` and stayed put otherwise. */
static bool one_failure(const struct values *before, const struct values *after, int which,
			char *why, size_t why_len)
{
	size_t i;

	if (after->v[ALLOC_FAILURES] != before->v[ALLOC_FAILURES] + 1) {
		snprintf(why, why_len, "alloc_failures %lld -> %lld",
			 before->v[ALLOC_FAILURES], after->v[ALLOC_FAILURES]);
		return false;
	}
	if (after->v[ALLOC_SUCCESSES] != before->v[ALLOC_SUCCESSES]) {
		snprintf(why, why_len, "alloc_successes moved on a failure");
		return false;
	}
	for (i = FIRST_FAILURE; i < NATTRS; i++) {
		long long want = before->v[i] + (i == (size_t)which);

		if (after->v[i] != want) {
			snprintf(why, why_len, "%s %lld -> %lld, want %lld", attrs[i].name,
				 before->v[i], after->v[i], want);
			return false;
		}
	}
	return true;
}

#define EXPECT_ONE_FAILURE(before, after, which)					\
	do {										\
		char why_[256] = "";							\
		EXPECT_TRUE(one_failure(before, after, which, why_, sizeof(why_)))	\
			TH_LOG("%s", why_);						\
	} while (0)

/* Whether `name` is in attrs[] (with `prefix`, e.g. "failures/"). */
static bool known_attr(const char *prefix, const char *name)
{
	size_t i, len = strlen(prefix);

	for (i = 0; i < NATTRS; i++)
		if (!strncmp(attrs[i].name, prefix, len) && !strcmp(attrs[i].name + len, name))
			return true;
	return false;
}

/*
 * The regular files in dir but the driver core's (dev, uevent); the first one that
 * attrs[] lacks (as prefix<name>) goes to unknown. Returns the count or -1.
 */
static int count_files(const char *dir, const char *prefix, char *unknown, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	struct stat st;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) || !S_ISREG(st.st_mode) || !strcmp(e->d_name, "dev") ||
		    !strcmp(e->d_name, "uevent"))
			continue;
		if (!known_attr(prefix, e->d_name) && !*unknown)
			snprintf(unknown, len, "%s", path);
		n++;
	}
	closedir(d);
	return n;
}

/* Every file: there, read-only for all (0444), one decimal value; and no other file. */
static void check_files(struct __test_metadata *_metadata, const char *pool)
{
	char path[256], unknown[512] = "";
	struct stat st;
	int n, i;

	for (i = 0; i < (int)NATTRS; i++) {
		attr_path(path, sizeof(path), pool, attrs[i].name);
		ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s is missing", path);
		EXPECT_TRUE(S_ISREG(st.st_mode));
		EXPECT_EQ(0444, st.st_mode & 07777) TH_LOG("%s has mode %o", path,
							   st.st_mode & 07777);
		EXPECT_LE(0, read_value(pool, attrs[i].name))
			TH_LOG("%s is not one decimal value and a newline", path);
		EXPECT_EQ(-1, open(path, O_WRONLY | O_CLOEXEC)) TH_LOG("%s opened for writing", path);
	}
	snprintf(path, sizeof(path), SYSFS_MISC "/cmabuf-%s", pool);
	n = count_files(path, "", unknown, sizeof(unknown));
	EXPECT_EQ((int)FIRST_FAILURE, n) TH_LOG("%s has %d files of cmabuf's", path, n);
	snprintf(path, sizeof(path), SYSFS_MISC "/cmabuf-%s/failures", pool);
	n = count_files(path, "failures/", unknown, sizeof(unknown));
	EXPECT_EQ((int)(NATTRS - FIRST_FAILURE), n) TH_LOG("%s has %d files", path, n);
	EXPECT_STREQ("", unknown) TH_LOG("a file that is not in the ABI");
}

TEST(files_are_read_only_single_values)
{
	check_files(_metadata, "camera");
	check_files(_metadata, "display");
}

/* The misc device is the pool's: /dev/cmabuf-<pool> is this directory's dev. */
TEST(directory_is_the_pool_device)
{
	char text[64];
	struct stat st;

	ASSERT_EQ(0, stat("/dev/cmabuf-camera", &st));
	ASSERT_LT(0, read_text(SYSFS_MISC "/cmabuf-camera/dev", text, sizeof(text)));
	EXPECT_EQ(major(st.st_rdev), strtoul(text, NULL, 10));
	EXPECT_EQ(minor(st.st_rdev), strtoul(strchr(text, ':') + 1, NULL, 10));
}

TEST(values_match_ioctl_and_debugfs)
{
	int pool = pool_open("camera"), a, b;
	struct values idle, busy, freed;

	ASSERT_LE(0, pool);
	ASSERT_TRUE(wait_used(pool, 0, 1000));
	EXPECT_AGREES("camera", pool, &idle);
	EXPECT_EQ(0, idle.v[USED]);
	EXPECT_EQ(0, idle.v[BUFFERS]);
	EXPECT_EQ(idle.v[SIZE], idle.v[FREE]);

	a = buf_alloc_rw(pool, 3 * MiB);
	b = buf_alloc_rw(pool, MiB);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	EXPECT_AGREES("camera", pool, &busy);
	EXPECT_EQ((long long)(4 * MiB), busy.v[USED]);
	EXPECT_EQ(2, busy.v[BUFFERS]);
	EXPECT_EQ(busy.v[SIZE] - busy.v[USED], busy.v[FREE]);
	EXPECT_LE(busy.v[LARGEST_FREE], busy.v[FREE]);
	EXPECT_EQ(idle.v[ALLOC_SUCCESSES] + 2, busy.v[ALLOC_SUCCESSES]);
	EXPECT_EQ(idle.v[ALLOC_FAILURES], busy.v[ALLOC_FAILURES]);
	EXPECT_LE(busy.v[USED], busy.v[PEAK_USED]);

	close(a);
	close(b);
	ASSERT_TRUE(wait_used(pool, 0, 1000));
	EXPECT_AGREES("camera", pool, &freed);
	EXPECT_EQ(0, freed.v[BUFFERS]);
	EXPECT_EQ(busy.v[ALLOC_SUCCESSES], freed.v[ALLOC_SUCCESSES]);
	EXPECT_EQ(busy.v[PEAK_USED], freed.v[PEAK_USED]);
	close(pool);
}

/* peak_used: the highest used since the pool was bound; it does not fall on a free. */
TEST(peak_is_the_high_water_mark)
{
	int pool, a, b;

	/* A fresh binding starts from zero (no buffer of camera's lives). */
	ASSERT_EQ(0, write_text(CMABUF_DRIVER_DIR "/unbind", "cmabuf-camera"));
	ASSERT_EQ(0, write_text(CMABUF_DRIVER_DIR "/bind", "cmabuf-camera"));
	ASSERT_TRUE(wait_path("/dev/cmabuf-camera", true, 2000));
	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	EXPECT_EQ(0, read_value("camera", "peak_used"));
	EXPECT_EQ(0, read_value("camera", "alloc_successes"));

	a = buf_alloc_rw(pool, 8 * MiB);
	ASSERT_LE(0, a);
	EXPECT_EQ((long long)(8 * MiB), read_value("camera", "peak_used"));
	b = buf_alloc_rw(pool, 2 * MiB);
	ASSERT_LE(0, b);
	EXPECT_EQ((long long)(10 * MiB), read_value("camera", "peak_used"));
	close(a);
	close(b);
	ASSERT_TRUE(wait_used(pool, 0, 1000));
	EXPECT_EQ((long long)(10 * MiB), read_value("camera", "peak_used"));
	a = buf_alloc_rw(pool, 4 * MiB);
	ASSERT_LE(0, a);
	EXPECT_EQ((long long)(10 * MiB), read_value("camera", "peak_used"));
	EXPECT_EQ((long long)(4 * MiB), read_value("camera", "used"));
	close(a);
	ASSERT_TRUE(wait_used(pool, 0, 1000));
	close(pool);
}

/* A request larger than the pool is refused as invalid (EINVAL). */
TEST(oversize_counts_one_invalid_failure)
{
	int pool = pool_open("display");
	struct values before, after;

	ASSERT_LE(0, pool);
	EXPECT_AGREES("display", pool, &before);
	EXPECT_EQ(-EINVAL, buf_alloc_rw(pool, before.v[SIZE] + 4096));
	EXPECT_AGREES("display", pool, &after);
	EXPECT_ONE_FAILURE(&before, &after, FAILURES_INVALID);
	close(pool);
}

/* A request that fits the pool but not its free room is refused (ENOMEM). */
TEST(no_room_counts_one_no_room_failure)
{
	int pool = pool_open("display"), a;
	struct values before, after;

	ASSERT_LE(0, pool);
	a = buf_alloc_rw(pool, 24 * MiB);
	ASSERT_LE(0, a);
	EXPECT_AGREES("display", pool, &before);
	EXPECT_EQ(-ENOMEM, buf_alloc_rw(pool, 16 * MiB));
	EXPECT_AGREES("display", pool, &after);
	EXPECT_ONE_FAILURE(&before, &after, FAILURES_NO_ROOM);
	close(a);
	EXPECT_TRUE(wait_used(pool, 0, 1000));
	close(pool);
}

/* A pool limit (module parameter max_buffers) refuses with EDQUOT; sysfs shows it. */
TEST(over_limit_counts_one_limit_failure)
{
	struct values before, after;
	int pool, a;

	ASSERT_EQ(0, module_reload("max_buffers=1 max_process_bytes=16777216"));
	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	EXPECT_EQ(1, read_value("camera", "max_buffers"));
	EXPECT_EQ((long long)(16 * MiB), read_value("camera", "max_process_bytes"));
	EXPECT_EQ(0, read_value("camera", "max_bytes"));
	a = buf_alloc_rw(pool, MiB);
	ASSERT_LE(0, a);
	EXPECT_AGREES("camera", pool, &before);
	EXPECT_EQ(-EDQUOT, buf_alloc_rw(pool, MiB));
	EXPECT_AGREES("camera", pool, &after);
	EXPECT_ONE_FAILURE(&before, &after, FAILURES_LIMIT);
	close(a);
	EXPECT_TRUE(wait_used(pool, 0, 1000));
	close(pool);
	ASSERT_EQ(0, module_reload(""));
}

struct reader {
	int fd;
	int err;
	long reads;
};

/* Reads the file until a read fails; keeps the errno. */
static void *read_until_gone(void *arg)
{
	struct reader *r = arg;
	char buf[64];

	for (;;) {
		if (pread(r->fd, buf, sizeof(buf), 0) < 0) {
			r->err = errno;
			return NULL;
		}
		r->reads++;
	}
}

/*
 * Unbinding removes the directory; a file opened before fails with ENODEV afterwards,
 * also one read in a loop while the pool goes.
 */
TEST(unbind_removes_the_files)
{
	const char *dir = SYSFS_MISC "/cmabuf-camera";
	int unread, looping;
	struct reader r = { 0 };
	pthread_t thread;
	char buf[64];

	unread = open(SYSFS_MISC "/cmabuf-camera/size", O_RDONLY | O_CLOEXEC);
	looping = open(SYSFS_MISC "/cmabuf-camera/failures/no_room", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, unread);
	ASSERT_LE(0, looping);
	r.fd = looping;
	ASSERT_EQ(0, pthread_create(&thread, NULL, read_until_gone, &r));
	usleep(10000);
	ASSERT_EQ(0, write_text(CMABUF_DRIVER_DIR "/unbind", "cmabuf-camera"));
	EXPECT_FALSE(path_exists(dir));
	EXPECT_EQ(0, pthread_join(thread, NULL));
	EXPECT_LT(0, r.reads);
	EXPECT_EQ(ENODEV, r.err);
	EXPECT_EQ(-1, pread(unread, buf, sizeof(buf), 0));
	EXPECT_EQ(ENODEV, errno);
	close(unread);
	close(looping);

	ASSERT_EQ(0, write_text(CMABUF_DRIVER_DIR "/bind", "cmabuf-camera"));
	EXPECT_TRUE(path_exists(dir));
	check_files(_metadata, "camera");
}

/* The default pool (default_pool=, a faux device) has the same files. */
TEST(default_pool_has_the_files)
{
	const char *dir = SYSFS_MISC "/cmabuf-default";
	struct values idle, busy;
	int pool, a, fd;
	char buf[64];

	ASSERT_EQ(0, module_reload("default_pool=4194304"));
	ASSERT_TRUE(wait_path("/dev/cmabuf-default", true, 2000));
	pool = pool_open("default");
	ASSERT_LE(0, pool);
	check_files(_metadata, "default");
	EXPECT_AGREES("default", pool, &idle);
	EXPECT_EQ((long long)(4 * MiB), idle.v[SIZE]);
	a = buf_alloc_rw(pool, MiB);
	ASSERT_LE(0, a);
	EXPECT_AGREES("default", pool, &busy);
	EXPECT_EQ((long long)MiB, busy.v[USED]);
	EXPECT_EQ(1, busy.v[BUFFERS]);
	close(a);
	EXPECT_TRUE(wait_used(pool, 0, 1000));
	close(pool);

	/* Unloading takes the files; an open one fails (the module's code is gone). */
	fd = open(SYSFS_MISC "/cmabuf-default/used", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, module_reload(""));
	EXPECT_FALSE(path_exists(dir));
	EXPECT_EQ(-1, pread(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
}

TEST_HARNESS_MAIN
