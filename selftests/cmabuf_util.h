/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers shared by cmabuf's kselftests and tools: files, sysfs, the kernel log,
 * the module, pools and buffers. Every helper returns a plain value; assertions stay in
 * the tests.
 */
#ifndef CMABUF_UTIL_H
#define CMABUF_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/cmabuf.h>
#include <linux/dma-buf.h>

#define KiB (1024ULL)
#define MiB (1024ULL * 1024)

#define CMABUF_MODULE_PATH "/lib/modules/cmabuf.ko"
#define CMABUF_DRIVER_DIR "/sys/bus/platform/drivers/cmabuf"
#define CMABUF_DEBUGFS "/sys/kernel/debug/cmabuf"
#define PLATFORM_DEVICES "/sys/bus/platform/devices"

/* Reads a whole (small) file into buf, NUL-terminated. Returns bytes read or -1. */
static inline ssize_t read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, total = 0;

	if (fd < 0)
		return -1;
	while (total < (ssize_t)len - 1 &&
	       (n = read(fd, buf + total, len - 1 - total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return total;
}

/* Reads a whole binary file (e.g. a /proc/device-tree property). */
static inline ssize_t read_bytes(const char *path, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len);
	close(fd);
	return n;
}

static inline int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static inline bool path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static inline uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until path exists (want = true) or is gone; devtmpfs updates asynchronously. */
static inline bool wait_path(const char *path, bool want, unsigned int timeout_ms)
{
	uint64_t end = now_ms() + timeout_ms;

	do {
		if (path_exists(path) == want)
			return true;
		usleep(1000);
	} while (now_ms() < end);
	return path_exists(path) == want;
}

/* The value of "key: value" in a text file such as debugfs info, or -1. */
static inline long long text_field(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == ':')
			return strtoll(p + klen + 1, NULL, 0);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

/* A /proc/meminfo value in KiB, or -1. */
static inline long long meminfo_kb(const char *key)
{
	static char buf[8192];

	if (read_text("/proc/meminfo", buf, sizeof(buf)) < 0)
		return -1;
	return text_field(buf, key);
}

/*
 * Reaps child pid: its exit code, or -1 if it could not be reaped or did not exit (a
 * signal). The tests whose children report by exit code name each code in their log.
 */
static inline int child_exit_code(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Whether the kernel log holds a line containing needle. */
static inline bool klog_contains(const char *needle)
{
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf;
	bool found;
	int n;

	if (size <= 0)
		return false;
	buf = malloc(size + 1);
	if (!buf)
		return false;
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size);
	buf[n > 0 ? n : 0] = '\0';
	found = strstr(buf, needle) != NULL;
	free(buf);
	return found;
}

/* A big-endian cell pair from a device-tree "reg" (#address-cells = #size-cells = 2). */
static inline int dt_reg(const char *node, uint64_t *base, uint64_t *size)
{
	char path[256];
	uint8_t raw[16];
	int i;

	snprintf(path, sizeof(path), "/proc/device-tree/%s/reg", node);
	if (read_bytes(path, raw, sizeof(raw)) != sizeof(raw))
		return -1;
	*base = *size = 0;
	for (i = 0; i < 8; i++) {
		*base = (*base << 8) | raw[i];
		*size = (*size << 8) | raw[8 + i];
	}
	return 0;
}

/* How many devices the cmabuf driver is bound to (its device links in sysfs). */
static inline int driver_bound_count(void)
{
	DIR *dir = opendir(CMABUF_DRIVER_DIR);
	struct dirent *d;
	int n = 0;

	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		n += d->d_type == DT_LNK && strcmp(d->d_name, "module") != 0;
	closedir(dir);
	return n;
}

/* Loads the module file at path with params; 0 or -1 with errno. */
static inline int load_module_file(const char *path, const char *params)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, params, 0);
	close(fd);
	return ret;
}

static inline int unload_module(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK);
}

static inline int module_load(void)
{
	return load_module_file(CMABUF_MODULE_PATH, "");
}

static inline int module_unload(void)
{
	return unload_module("cmabuf");
}

/*
 * Opens dev, the node of one of the test modules (selftests/importer, overlay_loader),
 * loading module first if the node is not there; an fd, or -1 with errno.
 */
static inline int test_module_open(const char *dev, const char *module)
{
	if (!path_exists(dev) && (load_module_file(module, "") || !wait_path(dev, true, 2000)))
		return -1;
	return open(dev, O_RDWR | O_CLOEXEC);
}

/* The test importer: a stand-in for a device driver that imports dma-bufs. */
#define IMPORTER_DEV "/dev/cmabuf_test_importer"

static inline int importer_open(void)
{
	return test_module_open(IMPORTER_DEV, "/lib/modules/cmabuf_test_importer.ko");
}

/* Unloads cmabuf and loads it again with params; waits for the camera pool. */
static inline int module_reload(const char *params)
{
	if (module_unload() || load_module_file(CMABUF_MODULE_PATH, params))
		return -1;
	return wait_path("/dev/cmabuf-camera", true, 2000) ? 0 : -1;
}

static inline bool module_loaded(void)
{
	return path_exists("/sys/module/cmabuf");
}

/* A `key: value` of /sys/kernel/debug/cmabuf/<pool>/info, or -1. */
static inline long long info_value(const char *pool, const char *key)
{
	char path[128], text[4096];

	snprintf(path, sizeof(path), CMABUF_DEBUGFS "/%s/info", pool);
	if (read_text(path, text, sizeof(text)) < 0)
		return -1;
	return text_field(text, key);
}

/* Opens /dev/cmabuf-<pool>. */
static inline int pool_open(const char *pool)
{
	char path[128];

	snprintf(path, sizeof(path), "/dev/cmabuf-%s", pool);
	return open(path, O_RDWR | O_CLOEXEC);
}

/* The phandle a device-tree property such as memory-region names first, or 0. */
static inline uint32_t dt_phandle(const char *path)
{
	uint8_t raw[4];

	if (read_bytes(path, raw, sizeof(raw)) != sizeof(raw))
		return 0;
	return (uint32_t)raw[0] << 24 | raw[1] << 16 | raw[2] << 8 | raw[3];
}

/* Whether the reserved-memory region with phandle is named name (name@<address>). */
static inline bool dt_region_named(uint32_t phandle, const char *name)
{
	struct dirent *d;
	bool found = false;
	DIR *dir;

	if (!phandle)
		return false;
	dir = opendir("/proc/device-tree/reserved-memory");
	if (!dir)
		return false;
	while (!found && (d = readdir(dir))) {
		char path[512];

		snprintf(path, sizeof(path), "/proc/device-tree/reserved-memory/%s/phandle",
			 d->d_name);
		found = dt_phandle(path) == phandle &&
			strcspn(d->d_name, "@") == strlen(name) &&
			!strncmp(d->d_name, name, strlen(name));
	}
	closedir(dir);
	return found;
}

/*
 * Whether the device tree declares pool: a node compatible with "cmabuf,pool" (at the
 * root, where dts/ puts them) labelled pool, or without a label on a region named
 * pool@<address>, the name cmabuf then gives it.
 */
static inline bool dt_declares_pool(const char *pool)
{
	static const char compatible[] = "cmabuf,pool";
	DIR *dir = opendir("/proc/device-tree");
	struct dirent *d;
	bool found = false;

	if (!dir)
		return false;
	while (!found && (d = readdir(dir))) {
		char path[512], text[64];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/device-tree/%s/compatible", d->d_name);
		n = read_bytes(path, text, sizeof(text));
		if (n < (ssize_t)sizeof(compatible) || memcmp(text, compatible, sizeof(compatible)))
			continue;
		snprintf(path, sizeof(path), "/proc/device-tree/%s/label", d->d_name);
		n = read_bytes(path, text, sizeof(text) - 1);
		if (n > 0) {
			text[n] = '\0';
			found = !strcmp(text, pool);
		} else {
			snprintf(path, sizeof(path), "/proc/device-tree/%s/memory-region", d->d_name);
			found = dt_region_named(dt_phandle(path), pool);
		}
	}
	closedir(dir);
	return found;
}

/*
 * Whether a test may expect /dev/cmabuf-<pool>: the node is there, or the device tree
 * declares the pool, so that a missing node is cmabuf's failure, not the board's.
 */
static inline bool pool_expected(const char *pool)
{
	char path[128];

	snprintf(path, sizeof(path), "/dev/cmabuf-%s", pool);
	return path_exists(path) || dt_declares_pool(pool);
}

/*
 * For a kselftest (TEST, TEST_F or FIXTURE_SETUP) that needs a pool only some boards
 * have: skips it, with a line naming the pool and overlay (the dts/ file that declares
 * the pool), when the board's device tree does not declare the pool at all. Not for the
 * default board's pools (dts/cmabuf-pools.dtso): their absence is a failure. make
 * check's test board declares every pool, so nothing is skipped there.
 */
#define SKIP_WITHOUT_POOL(pool, overlay)						\
	do {										\
		if (!pool_expected(pool))						\
			SKIP(return, "no pool %s: this board's device tree lacks %s",	\
			     pool, overlay);						\
	} while (0)

/* CMABUF_IOC_ALLOC; returns the dma-buf fd or -errno. */
static inline int buf_alloc(int pool_fd, uint64_t size, uint64_t align, uint32_t flags,
			    uint32_t fd_flags)
{
	struct cmabuf_alloc req = {
		.size = size, .align = align, .flags = flags, .fd_flags = fd_flags,
	};

	if (ioctl(pool_fd, CMABUF_IOC_ALLOC, &req) < 0)
		return -errno;
	return req.fd;
}

/* A cached, read-write, close-on-exec buffer; the fd or -errno. */
static inline int buf_alloc_rw(int pool_fd, uint64_t size)
{
	return buf_alloc(pool_fd, size, 0, CMABUF_CACHED, O_RDWR | O_CLOEXEC);
}

static inline int pool_info(int pool_fd, struct cmabuf_pool_info *info)
{
	memset(info, 0xff, sizeof(*info));
	return ioctl(pool_fd, CMABUF_IOC_POOL_INFO, info) < 0 ? -errno : 0;
}

/*
 * CMABUF_IOC_PHYS: the physical address and the size of buf, a buffer of the pool;
 * size may be NULL. Returns 0, or -errno with *phys (and *size) set to 0.
 */
static inline int buf_phys(int pool_fd, int buf, uint64_t *phys, uint64_t *size)
{
	struct cmabuf_phys req = { .fd = buf };
	int ret = ioctl(pool_fd, CMABUF_IOC_PHYS, &req) ? -errno : 0;

	*phys = ret ? 0 : req.phys;
	if (size)
		*size = ret ? 0 : req.size;
	return ret;
}

/* DMA_BUF_IOCTL_SYNC: brackets CPU access to dma-buf buf. Returns 0 or -errno. */
static inline int buf_sync(int buf, uint64_t flags)
{
	struct dma_buf_sync sync = { .flags = flags };

	return ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync) ? -errno : 0;
}

/* Bytes in live buffers of the pool, or -1. */
static inline long long pool_used(int pool_fd)
{
	struct cmabuf_pool_info info;

	return pool_info(pool_fd, &info) ? -1 : (long long)info.used;
}

/* Waits until the pool's used bytes drop to want (frees may finish asynchronously). */
static inline bool wait_used(int pool_fd, long long want, unsigned int timeout_ms)
{
	uint64_t end = now_ms() + timeout_ms;

	while (pool_used(pool_fd) != want && now_ms() < end)
		usleep(1000);
	return pool_used(pool_fd) == want;
}

#endif /* CMABUF_UTIL_H */
