// SPDX-License-Identifier: GPL-2.0
/*
 * The dma-heap face (module parameter dma_heap=1): every pool is also
 * /dev/dma_heap/<heap name> (DT cmabuf,heap-name, else the pool's name), served by the
 * pool's own allocator (same limits, statistics and messages), and outlives an unbound
 * pool. The kernel cannot remove a dma-heap, so the module then stays loaded: run this
 * test last.
 */
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <sys/mman.h>

#include "cmabuf_util.h"
#include "overlay_util.h"
#include "kselftest_harness.h"
#include "trace_util.h"

#define HEAP_DIR "/dev/dma_heap/"
#define LOADER "/dev/cmabuf_test_overlay"

/* DMA_HEAP_IOCTL_ALLOC on /dev/dma_heap/<heap>; the dma-buf fd or -errno. */
static int heap_alloc(const char *heap, uint64_t len, uint32_t fd_flags, uint64_t heap_flags)
{
	struct dma_heap_allocation_data req = {
		.len = len, .fd_flags = fd_flags, .heap_flags = heap_flags,
	};
	char path[128];
	int fd, ret;

	snprintf(path, sizeof(path), HEAP_DIR "%s", heap);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = ioctl(fd, DMA_HEAP_IOCTL_ALLOC, &req) < 0 ? -errno : (int)req.fd;
	close(fd);
	return ret;
}

/*
 * A load with dma_heap=1 that fails late (here: another driver already has the name
 * "cmabuf", so the platform driver registration at the end of module init fails, after
 * the default-area pool is up) must leave no dma-heap: the kernel cannot remove one,
 * and its operations would point into the freed module. Then cmabuf loads as usual.
 */
TEST(heap_init_fails_late)
{
	int ret, err;

	ASSERT_EQ(0, module_unload()) TH_LOG("cmabuf must be unloadable before dma_heap=1");
	ASSERT_EQ(0, load_module_file("/lib/modules/cmabuf_test_blocker.ko", ""))
		TH_LOG("%s", strerror(errno));
	ret = load_module_file(CMABUF_MODULE_PATH, "dma_heap=1 default_pool=4194304");
	err = errno;
	EXPECT_EQ(-1, ret) TH_LOG("cmabuf loaded although its driver name was taken");
	EXPECT_EQ(EBUSY, err) TH_LOG("%s", strerror(err));
	EXPECT_TRUE(klog_contains("Driver 'cmabuf' is already registered"));
	EXPECT_FALSE(module_loaded());
	EXPECT_FALSE(path_exists(HEAP_DIR "default"))
		TH_LOG("a dma-heap outlived the failed load of its module");
	EXPECT_FALSE(path_exists("/dev/cmabuf-default"));
	ASSERT_EQ(0, unload_module("cmabuf_test_blocker")) TH_LOG("%s", strerror(errno));
	if (!module_loaded())
		ASSERT_EQ(0, module_load()) TH_LOG("%s", strerror(errno));
	ASSERT_TRUE(wait_path("/dev/cmabuf-camera", true, 2000));
}

/* Loads cmabuf with dma_heap=1 (a bad value first), so every pool gets its heap. */
TEST(dma_heap_parameter)
{
	char info[4096];

	ASSERT_EQ(0, module_unload()) TH_LOG("cmabuf must be unloadable before dma_heap=1");
	EXPECT_NE(0, load_module_file(CMABUF_MODULE_PATH, "dma_heap=2"));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_TRUE(klog_contains("dma_heap must be 0 (off) or 1"));
	EXPECT_FALSE(module_loaded());

	ASSERT_EQ(0, load_module_file(CMABUF_MODULE_PATH, "dma_heap=1")) TH_LOG("%s", strerror(errno));
	ASSERT_TRUE(wait_path("/dev/cmabuf-camera", true, 2000));
	/* Named after the pool, or by DT cmabuf,heap-name (spare-pool); no prefix. */
	EXPECT_TRUE(path_exists(HEAP_DIR "camera"));
	EXPECT_TRUE(path_exists(HEAP_DIR "display"));
	EXPECT_TRUE(path_exists(HEAP_DIR "test,spare"));
	EXPECT_FALSE(path_exists(HEAP_DIR "spare-pool"));
	EXPECT_FALSE(path_exists(HEAP_DIR "cmabuf-camera"));
	EXPECT_TRUE(klog_contains("pool camera: also /dev/dma_heap/camera"));
	EXPECT_TRUE(klog_contains("pool spare-pool: also /dev/dma_heap/test,spare"));
	EXPECT_LT(0, read_text(CMABUF_DEBUGFS "/spare-pool/info", info, sizeof(info)));
	EXPECT_NE(NULL, strstr(info, "\nheap: test,spare\n")) TH_LOG("info lacks its heap");
	/* The kernel's own CMA heap for the region is still there, beside ours. */
	EXPECT_TRUE(path_exists(HEAP_DIR "camera-pool@58000000"));
}

/*
 * A pool whose heap name another driver's heap has (here the kernel's system heap) is
 * refused: probe fails with a line naming the pool and the heap, nothing is served, and
 * the system heap is untouched (no duplicate sysfs entry, no stack dump).
 */
TEST(taken_heap_name_is_refused)
{
	int loader = test_module_open(LOADER, "/lib/modules/cmabuf_test_overlay.ko"), id, buf;

	ASSERT_LE(0, loader) TH_LOG("the overlay loader module: %s", strerror(errno));
	ASSERT_TRUE(path_exists(HEAP_DIR "system")) TH_LOG("this kernel has no system heap");
	id = overlay_apply(loader, "runtime-heap-clash");
	ASSERT_LT(0, id) TH_LOG("apply: %s", strerror(-id));
	EXPECT_TRUE(path_exists(PLATFORM_DEVICES "/cmabuf-heap-clash"));
	usleep(200000);
	EXPECT_FALSE(path_exists(CMABUF_DRIVER_DIR "/cmabuf-heap-clash"));
	EXPECT_FALSE(path_exists("/dev/cmabuf-clash"));
	EXPECT_TRUE(klog_contains("cmabuf cmabuf-heap-clash: dma-heap name \"system\" of pool clash is taken: /dev/dma_heap/system is another driver's heap"));
	EXPECT_FALSE(klog_contains("cannot create duplicate filename"));
	buf = heap_alloc("system", MiB, O_RDWR | O_CLOEXEC, 0);
	EXPECT_LE(0, buf) TH_LOG("the system heap: %s", strerror(-buf));
	if (buf >= 0)
		close(buf);
	ASSERT_EQ(0, ioctl(loader, OVERLAY_IOC_REMOVE, id)) TH_LOG("%s", strerror(errno));
	close(loader);
}

/* A heap name another cmabuf pool holds is refused too, naming that pool. */
TEST(heap_name_of_another_pool_is_refused)
{
	int loader = test_module_open(LOADER, "/lib/modules/cmabuf_test_overlay.ko"), id, buf;
	long long heap_allocs = info_value("camera", "heap_allocations");

	ASSERT_LE(0, loader) TH_LOG("the overlay loader module: %s", strerror(errno));
	id = overlay_apply(loader, "runtime-heap-twin");
	ASSERT_LT(0, id) TH_LOG("apply: %s", strerror(-id));
	EXPECT_TRUE(path_exists(PLATFORM_DEVICES "/cmabuf-heap-twin"));
	usleep(200000);
	EXPECT_FALSE(path_exists(CMABUF_DRIVER_DIR "/cmabuf-heap-twin"));
	EXPECT_FALSE(path_exists("/dev/cmabuf-twin-heap"));
	EXPECT_TRUE(klog_contains("cmabuf cmabuf-heap-twin: dma-heap name \"camera\" of pool twin-heap is already used by cmabuf-camera (pool camera)"));
	/* The heap is still the camera pool's. */
	buf = heap_alloc("camera", MiB, O_RDWR | O_CLOEXEC, 0);
	EXPECT_LE(0, buf) TH_LOG("%s", strerror(-buf));
	if (buf >= 0)
		close(buf);
	EXPECT_EQ(heap_allocs + 1, info_value("camera", "heap_allocations"));
	ASSERT_EQ(0, ioctl(loader, OVERLAY_IOC_REMOVE, id)) TH_LOG("%s", strerror(errno));
	close(loader);
}

/* Alias `path` is a symbolic link "camera" to the device node `rdev`. */
static void check_alias(struct __test_metadata *_metadata, const char *path, dev_t rdev)
{
	char target[64];
	struct stat st;
	ssize_t n;

	n = readlink(path, target, sizeof(target) - 1);
	ASSERT_LT(0, n) TH_LOG("%s: %s", path, strerror(errno));
	target[n] = 0;
	EXPECT_STREQ("camera", target);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(rdev, st.st_rdev) TH_LOG("%s is not the camera heap", path);
}

/*
 * Documentation/examples/mdev/cmabuf-heaps.conf, as shipped (installed as
 * /selftests/cmabuf-heaps.mdev.conf): busybox mdev, run as the kernel's hotplug helper
 * would run it for the camera heap, gives the heap to group video and adds the aliases
 * /dev/dma_heap/linux,cma and vidbuf_cached pointing at it; a second event changes
 * nothing.
 */
TEST(mdev_role_links)
{
	char cmd[512], dev[32];
	struct stat heap;

	ASSERT_LT(0, read_text("/sys/class/dma_heap/camera/dev", dev, sizeof(dev)));
	dev[strcspn(dev, "\n")] = 0;
	ASSERT_NE(NULL, strchr(dev, ':'));
	ASSERT_FALSE(path_exists(HEAP_DIR "linux,cma"));
	ASSERT_FALSE(path_exists(HEAP_DIR "vidbuf_cached"));
	/* The rules name user root and group video: give the bare initramfs both. */
	ASSERT_EQ(0, system("mkdir -p /etc && cp /selftests/cmabuf-heaps.mdev.conf /etc/mdev.conf && "
			    "{ [ -e /etc/passwd ] || echo root:x:0:0::/:/bin/sh >/etc/passwd; } && "
			    "{ grep -q ^video: /etc/group 2>/dev/null || echo video:x:44: >>/etc/group; }"));
	snprintf(cmd, sizeof(cmd),
		 "cd /dev && env -i PATH=/bin:/sbin ACTION=add SUBSYSTEM=dma_heap "
		 "DEVPATH=/devices/virtual/dma_heap/camera DEVNAME=dma_heap/camera "
		 "MAJOR=%.*s MINOR=%s mdev", (int)strcspn(dev, ":"), dev, strchr(dev, ':') + 1);
	EXPECT_EQ(0, system(cmd)) TH_LOG("%s", cmd);
	ASSERT_EQ(0, stat(HEAP_DIR "camera", &heap));
	EXPECT_EQ(44, heap.st_gid) TH_LOG("the rule's group video");
	EXPECT_EQ(0660, heap.st_mode & 07777);
	check_alias(_metadata, HEAP_DIR "linux,cma", heap.st_rdev);
	check_alias(_metadata, HEAP_DIR "vidbuf_cached", heap.st_rdev);
	EXPECT_EQ(0, system(cmd));
	check_alias(_metadata, HEAP_DIR "linux,cma", heap.st_rdev);
	unlink(HEAP_DIR "linux,cma");
	unlink(HEAP_DIR "vidbuf_cached");
	unlink("/etc/mdev.conf");
}

/* A dma-heap cannot be removed: the module refuses to unload, and stays usable. */
TEST(heaps_pin_the_module)
{
	EXPECT_NE(0, module_unload());
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY) TH_LOG("errno %d", errno);
	EXPECT_TRUE(module_loaded());
	EXPECT_TRUE(path_exists("/dev/cmabuf-camera"));
}

/* A heap buffer comes from the pool's allocator: counted, zeroed, in the pool's range. */
TEST(heap_buffer_is_a_pool_buffer)
{
	long long allocs = info_value("camera", "allocations");
	long long heap_allocs = info_value("camera", "heap_allocations");
	int pool = pool_open("camera"), buf, i;
	uint64_t base, size, phys, len;
	uint8_t *map;

	ASSERT_LE(0, pool);
	ASSERT_EQ(0, dt_reg("reserved-memory/camera-pool@58000000", &base, &size));
	buf = heap_alloc("camera", MiB + 1, O_RDWR | O_CLOEXEC, 0);
	ASSERT_LE(0, buf) TH_LOG("%s", strerror(-buf));
	EXPECT_EQ(MiB + 4096, lseek(buf, 0, SEEK_END)) TH_LOG("the size is rounded up to pages");
	EXPECT_EQ(MiB + 4096, pool_used(pool));
	EXPECT_EQ(allocs + 1, info_value("camera", "allocations"));
	EXPECT_EQ(heap_allocs + 1, info_value("camera", "heap_allocations"));
	EXPECT_EQ(1, info_value("camera", "buffers"));

	/* CMABUF_IOC_PHYS accepts it as a buffer of this pool. */
	ASSERT_EQ(0, buf_phys(pool, buf, &phys, &len)) TH_LOG("%s", strerror(errno));
	EXPECT_LE(base, phys);
	EXPECT_GE(base + size, phys + len);
	EXPECT_EQ(MiB + 4096, len);

	map = mmap(NULL, MiB + 4096, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, map);
	for (i = 0; i < MiB + 4096; i += 512)
		if (map[i])
			break;
	EXPECT_EQ(MiB + 4096, i) TH_LOG("byte %d of a new heap buffer is not zero", i);
	memset(map, 0x5a, MiB);
	munmap(map, MiB + 4096);
	close(buf);
	EXPECT_TRUE(wait_used(pool, 0, 1000)) TH_LOG("closing the fd did not free the buffer");
	close(pool);
}

/* The pool's limits hold through the heap: spare-pool allows 6 MiB a process. */
TEST(heap_obeys_the_pool_limits)
{
	int a, b;

	a = heap_alloc("test,spare", 4 * MiB, O_RDWR | O_CLOEXEC, 0);
	ASSERT_LE(0, a) TH_LOG("%s", strerror(-a));
	b = heap_alloc("test,spare", 4 * MiB, O_RDWR | O_CLOEXEC, 0);
	EXPECT_EQ(-EDQUOT, b);
	EXPECT_TRUE(klog_contains("limit of 6291456 reached (DT cmabuf,max-process-bytes"));
	EXPECT_EQ(4 * MiB, info_value("spare-pool", "used"));
	close(a);
	if (b >= 0)
		close(b);
}

/* Bad requests: an errno each, a line saying what to fix, nothing allocated. */
TEST(heap_bad_requests)
{
	long long invalid = info_value("camera", "failures_einval_invalid");
	int buf;

	EXPECT_EQ(-EINVAL, heap_alloc("camera", 128 * MiB, O_RDWR | O_CLOEXEC, 0));
	EXPECT_TRUE(klog_contains("camera: DMA_HEAP_IOCTL_ALLOC: size is larger than the pool"));
	EXPECT_EQ(-EINVAL, heap_alloc("camera", MiB, O_WRONLY, 0));
	EXPECT_TRUE(klog_contains(
		"camera: DMA_HEAP_IOCTL_ALLOC: fd_flags access mode must be O_RDWR or O_RDONLY"));
	EXPECT_EQ(invalid + 2, info_value("camera", "failures_einval_invalid"));
	/* The dma-heap core refuses these before cmabuf sees them. */
	EXPECT_EQ(-EINVAL, heap_alloc("camera", MiB, O_RDWR, 1));
	EXPECT_EQ(-EINVAL, heap_alloc("camera", 0, O_RDWR, 0));
	EXPECT_EQ(0, info_value("camera", "used"));

	/* A read-only buffer cannot be mapped for writing. */
	buf = heap_alloc("camera", MiB, O_RDONLY | O_CLOEXEC, 0);
	ASSERT_LE(0, buf);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0));
	EXPECT_EQ(EACCES, errno);
	close(buf);
}

/*
 * The heap outlives its pool: unbound, it refuses with ENODEV while the buffers it gave
 * stay valid; bound again, the pool serves the same heap.
 */
TEST(heap_outlives_an_unbound_pool)
{
	int buf, again;
	uint32_t *map;

	buf = heap_alloc("display", MiB, O_RDWR | O_CLOEXEC, 0);
	ASSERT_LE(0, buf);
	map = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, map);
	map[0] = 0xcafe;

	ASSERT_EQ(0, write_text(CMABUF_DRIVER_DIR "/unbind", "cmabuf-display"));
	EXPECT_FALSE(path_exists("/dev/cmabuf-display"));
	EXPECT_TRUE(path_exists(HEAP_DIR "display"));
	EXPECT_EQ(-ENODEV, heap_alloc("display", MiB, O_RDWR | O_CLOEXEC, 0));
	EXPECT_TRUE(klog_contains("dma_heap/display: its pool is unbound"));
	map[1] = 0xbeef;
	EXPECT_EQ(0xcafe, map[0]);
	munmap(map, MiB);
	close(buf);

	/* With its buffer gone the pool can bind again, and the heap serves anew. */
	ASSERT_EQ(0, write_text(CMABUF_DRIVER_DIR "/bind", "cmabuf-display"));
	ASSERT_TRUE(wait_path("/dev/cmabuf-display", true, 2000));
	again = heap_alloc("display", MiB, O_RDWR | O_CLOEXEC, 0);
	EXPECT_LE(0, again) TH_LOG("%s", strerror(-again));
	EXPECT_EQ(1, info_value("display", "heap_allocations"));
	if (again >= 0)
		close(again);
}

/* An allocation through the heap is traced as one through /dev/cmabuf-<pool>. */
TEST(heap_allocation_is_traced)
{
	char *text, pool[32], cache[32];
	const char *line;
	int buf;

	ASSERT_EQ(0, tracefs_ready()) TH_LOG("tracefs: %s", strerror(errno));
	ASSERT_EQ(0, trace_reset(true));
	buf = heap_alloc("camera", 2 * MiB, O_RDWR | O_CLOEXEC, 0);
	ASSERT_LE(0, buf) TH_LOG("%s", strerror(-buf));
	close(buf);
	ASSERT_EQ(0, write_text(TRACEFS "/events/cmabuf/enable", "0"));
	text = trace_read();
	ASSERT_NE(NULL, text);
	ASSERT_EQ(0, trace_clear());
	EXPECT_EQ(1, count_events(text, "cmabuf_alloc")) TH_LOG("%s", text);
	line = next_event(text, "cmabuf_alloc", NULL);
	ASSERT_NE(NULL, line);
	EXPECT_STREQ("camera", field_text(line, "pool", pool, sizeof(pool)));
	EXPECT_EQ((long long)(2 * MiB), field(line, "size"));
	EXPECT_EQ(4096, field(line, "align"));
	EXPECT_STREQ("cached", field_text(line, "cache", cache, sizeof(cache)));
	EXPECT_EQ(getpid(), field(line, "tgid"));
	EXPECT_EQ(0, field(line, "errno"));
	EXPECT_LT(0, field(line, "latency_ns"));
	EXPECT_NE(NULL, event_of(text, "cmabuf_free", field(line, "id")));
	free(text);
}

TEST_HARNESS_MAIN
