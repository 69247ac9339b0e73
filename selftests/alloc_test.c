// SPDX-License-Identifier: GPL-2.0
/*
 * CMABUF_IOC_ALLOC and friends: every bad input gets its errno; buffers are zeroed,
 * mappable (twice, in every cache mode), page-backed, shareable across fork and unix
 * sockets, synchronised with DMA_BUF_IOCTL_SYNC, and freed with their last reference.
 */
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "cmabuf_util.h"
#include "kselftest_harness.h"

#define CAMERA_SIZE (64 * MiB)
#define DISPLAY_SIZE (32 * MiB)

static uint64_t page_size(void)
{
	return (uint64_t)getpagesize();
}

static off_t buf_size(int buf)
{
	return lseek(buf, 0, SEEK_END);
}

static void *map(int buf, size_t size, int prot)
{
	void *p = mmap(NULL, size, prot, MAP_SHARED, buf, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void fill(void *p, size_t size, uint32_t seed)
{
	uint32_t *w = p;
	size_t i;

	for (i = 0; i < size / 4; i++)
		w[i] = seed + (uint32_t)i * 2654435761u;
}

/* Index of the first word that differs from fill(seed), or -1. */
static long long check(const void *p, size_t size, uint32_t seed)
{
	const uint32_t *w = p;
	size_t i;

	for (i = 0; i < size / 4; i++)
		if (w[i] != seed + (uint32_t)i * 2654435761u)
			return (long long)i;
	return -1;
}

static bool all_zero(const void *p, size_t size)
{
	const uint64_t *w = p;
	size_t i;

	for (i = 0; i < size / 8; i++)
		if (w[i])
			return false;
	return true;
}

FIXTURE(pool) {
	int fd;
};

FIXTURE_SETUP(pool)
{
	self->fd = pool_open("camera");
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/cmabuf-camera: %s", strerror(errno));
	ASSERT_EQ(0, pool_used(self->fd)) TH_LOG("a previous test leaked a buffer");
}

FIXTURE_TEARDOWN(pool)
{
	EXPECT_TRUE(wait_used(self->fd, 0, 1000)) TH_LOG("buffers left: %lld bytes",
							   pool_used(self->fd));
	close(self->fd);
}

TEST_F(pool, pool_info_describes_the_pool)
{
	struct cmabuf_pool_info info;

	ASSERT_EQ(0, pool_info(self->fd, &info));
	EXPECT_STREQ("camera", info.name);
	EXPECT_EQ(CAMERA_SIZE, info.size);
	EXPECT_EQ(0, info.used);
	EXPECT_EQ(CAMERA_SIZE, info.free);
	EXPECT_EQ(CAMERA_SIZE, info.largest_free);
	EXPECT_EQ(0, info.buffers);
	EXPECT_EQ(0, info.reserved[0]);
}

TEST_F(pool, alloc_gives_a_dma_buf_of_whole_pages)
{
	struct cmabuf_pool_info info;
	struct cmabuf_alloc req = { .size = 1, .fd_flags = O_RDWR | O_CLOEXEC };

	ASSERT_EQ(0, ioctl(self->fd, CMABUF_IOC_ALLOC, &req)) TH_LOG("%s", strerror(errno));
	EXPECT_LE(0, req.fd);
	EXPECT_LT(0U, req.id);
	EXPECT_EQ((off_t)page_size(), buf_size(req.fd));
	EXPECT_EQ(FD_CLOEXEC, fcntl(req.fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(0, pool_info(self->fd, &info));
	EXPECT_EQ(page_size(), info.used);
	EXPECT_EQ(1, info.buffers);
	EXPECT_EQ(CAMERA_SIZE - page_size(), info.free);
	close(req.fd);
	EXPECT_TRUE(wait_used(self->fd, 0, 1000));
}

TEST_F(pool, ids_are_unique)
{
	struct cmabuf_alloc a = { .size = 4096, .fd_flags = O_RDWR };
	struct cmabuf_alloc b = { .size = 4096, .fd_flags = O_RDWR };

	ASSERT_EQ(0, ioctl(self->fd, CMABUF_IOC_ALLOC, &a));
	ASSERT_EQ(0, ioctl(self->fd, CMABUF_IOC_ALLOC, &b));
	EXPECT_NE(a.id, b.id);
	EXPECT_EQ(0, fcntl(a.fd, F_GETFD) & FD_CLOEXEC);
	close(a.fd);
	close(b.fd);
}

/* Invalid requests: each must fail with its errno and change nothing. */
FIXTURE(bad_alloc) {
	int fd;
};

FIXTURE_VARIANT(bad_alloc) {
	struct cmabuf_alloc req;
	int err;
};

FIXTURE_VARIANT_ADD(bad_alloc, size_zero) {
	.req = { .size = 0, .fd_flags = O_RDWR }, .err = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_alloc, size_larger_than_pool) {
	.req = { .size = CAMERA_SIZE + 1, .fd_flags = O_RDWR }, .err = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_alloc, size_huge) {
	.req = { .size = ~0ULL, .fd_flags = O_RDWR }, .err = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_alloc, cache_mode_3) {
	.req = { .size = 4096, .flags = 3, .fd_flags = O_RDWR }, .err = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_alloc, unknown_flag) {
	.req = { .size = 4096, .flags = 0x200, .fd_flags = O_RDWR }, .err = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_alloc, reserved_not_zero) {
	.req = { .size = 4096, .fd_flags = O_RDWR, .reserved = { 0, 1 } }, .err = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_alloc, reserved0_not_zero) {
	.req = { .size = 4096, .fd_flags = O_RDWR, .reserved0 = 1 }, .err = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_alloc, reserved1_not_zero) {
	.req = { .size = 4096, .fd_flags = O_RDWR, .reserved1 = 1 }, .err = EINVAL,
};

/* client_pidfd counts only with CMABUF_ALLOC_FOR_CLIENT (fd 0 is a valid pidfd). */
FIXTURE_VARIANT_ADD(bad_alloc, client_pidfd_without_flag) {
	.req = { .size = 4096, .fd_flags = O_RDWR, .client_pidfd = 3 }, .err = EINVAL,
};

/* A reservation's runs are charged to whoever reserved them: not for a client. */
FIXTURE_VARIANT_ADD(bad_alloc, client_with_reservation) {
	.req = { .size = 4096, .flags = CMABUF_ALLOC_FOR_CLIENT | CMABUF_ALLOC_FROM_RESERVATION,
		 .fd_flags = O_RDWR, .client_pidfd = 3, .reservation_fd = 3 }, .err = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_alloc, out_fd_not_zero) {
	.req = { .size = 4096, .fd_flags = O_RDWR, .fd = 3 }, .err = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_alloc, out_id_not_zero) {
	.req = { .size = 4096, .fd_flags = O_RDWR, .id = 1 }, .err = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_alloc, align_not_power_of_two) {
	.req = { .size = 4096, .align = 3 * 4096, .fd_flags = O_RDWR }, .err = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_alloc, align_below_page) {
	.req = { .size = 4096, .align = 2048, .fd_flags = O_RDWR }, .err = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_alloc, align_larger_than_pool) {
	.req = { .size = 4096, .align = 2 * CAMERA_SIZE, .fd_flags = O_RDWR }, .err = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_alloc, fd_flags_write_only) {
	.req = { .size = 4096, .fd_flags = O_WRONLY }, .err = EINVAL,
};

FIXTURE_VARIANT_ADD(bad_alloc, fd_flags_nonblock) {
	.req = { .size = 4096, .fd_flags = O_RDWR | O_NONBLOCK }, .err = EINVAL,
};

FIXTURE_SETUP(bad_alloc)
{
	self->fd = pool_open("camera");
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(bad_alloc)
{
	close(self->fd);
}

TEST_F(bad_alloc, refused)
{
	struct cmabuf_alloc req = variant->req;

	EXPECT_EQ(-1, ioctl(self->fd, CMABUF_IOC_ALLOC, &req));
	EXPECT_EQ(variant->err, errno) TH_LOG("errno %s", strerror(errno));
	EXPECT_EQ(0, pool_used(self->fd));
	EXPECT_TRUE(klog_contains("camera: CMABUF_IOC_ALLOC: "));
}

/* ALLOC leaves size as given: the buffer's size is the dma-buf's (lseek SEEK_END). */
TEST_F(pool, size_is_not_written_back)
{
	struct cmabuf_alloc req = { .size = 5000, .fd_flags = O_RDWR | O_CLOEXEC };

	ASSERT_EQ(0, ioctl(self->fd, CMABUF_IOC_ALLOC, &req)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(5000, req.size);
	EXPECT_EQ((off_t)(2 * page_size()), buf_size(req.fd));
	close(req.fd);
}

/* ALLOC and PREPARE need /dev/cmabuf-* open for writing; POOL_INFO does not. */
TEST(rdonly_alloc_refused)
{
	struct cmabuf_prepare prep = { .size = MiB, .count = 1, .timeout_ms = 1000 };
	int ro = open("/dev/cmabuf-camera", O_RDONLY | O_CLOEXEC);
	int wo = open("/dev/cmabuf-camera", O_WRONLY | O_CLOEXEC);
	struct cmabuf_pool_info info;
	int buf, ret;

	ASSERT_LE(0, ro);
	ASSERT_LE(0, wo);
	buf = buf_alloc_rw(ro, MiB);
	EXPECT_EQ(-EBADF, buf) TH_LOG("ALLOC on an O_RDONLY file: %s",
				      buf < 0 ? strerror(-buf) : "allowed");
	if (buf >= 0)
		close(buf);
	ret = ioctl(ro, CMABUF_IOC_PREPARE, &prep);
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(EBADF, errno) TH_LOG("PREPARE on an O_RDONLY file: %s",
				       ret ? strerror(errno) : "allowed");
	EXPECT_TRUE(klog_contains("camera: CMABUF_IOC_ALLOC: the file is open read-only"));
	EXPECT_TRUE(klog_contains("camera: CMABUF_IOC_PREPARE: the file is open read-only"));
	EXPECT_EQ(0, pool_info(ro, &info));
	EXPECT_STREQ("camera", info.name);
	/* Write access is what counts: O_WRONLY may allocate. */
	buf = buf_alloc_rw(wo, MiB);
	EXPECT_LE(0, buf) TH_LOG("ALLOC on an O_WRONLY file: %s", strerror(-buf));
	if (buf >= 0)
		close(buf);
	EXPECT_TRUE(wait_used(ro, 0, 1000));
	close(ro);
	close(wo);
}

/*
 * The device node serves ioctls only: read, write and mmap fail, and it has no file
 * position.
 */
TEST_F(pool, device_node_read_write_mmap_lseek)
{
	char c = 0;
	void *p;

	errno = 0;
	EXPECT_EQ(-1, read(self->fd, &c, 1));
	EXPECT_EQ(EINVAL, errno) TH_LOG("read: %s", strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, write(self->fd, &c, 1));
	EXPECT_EQ(EINVAL, errno) TH_LOG("write: %s", strerror(errno));
	errno = 0;
	p = mmap(NULL, page_size(), PROT_READ, MAP_SHARED, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(ENODEV, errno) TH_LOG("mmap: %s", strerror(errno));
	if (p != MAP_FAILED)
		munmap(p, page_size());
	errno = 0;
	EXPECT_EQ(-1, lseek(self->fd, 0, SEEK_SET));
	EXPECT_EQ(ESPIPE, errno) TH_LOG("lseek: %s", strerror(errno));
}

/* MAP_PRIVATE of a buffer is copy-on-write: writes stay in the process's copy. */
TEST_F(pool, map_private_is_copy_on_write)
{
	int buf = buf_alloc_rw(self->fd, page_size());
	uint8_t *shared, *private;

	ASSERT_LE(0, buf);
	shared = map(buf, page_size(), PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, shared);
	memset(shared, 0x11, page_size());
	private = mmap(NULL, page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE, buf, 0);
	ASSERT_NE(MAP_FAILED, private) TH_LOG("MAP_PRIVATE: %s", strerror(errno));
	EXPECT_EQ(0x11, private[100]);
	/* Until the process writes, it sees the buffer itself. */
	shared[200] = 0x33;
	EXPECT_EQ(0x33, private[200]) TH_LOG("private copy taken before the first write");
	private[100] = 0x22;
	EXPECT_EQ(0x22, private[100]);
	EXPECT_EQ(0x11, shared[100]) TH_LOG("a MAP_PRIVATE write reached the buffer");
	shared[300] = 0x44;
	EXPECT_EQ(0x11, private[300]) TH_LOG("the private copy still follows the buffer");
	munmap(private, page_size());
	munmap(shared, page_size());
	close(buf);
}

TEST_F(pool, bad_user_pointer_is_efault)
{
	EXPECT_EQ(-1, ioctl(self->fd, CMABUF_IOC_ALLOC, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, CMABUF_IOC_POOL_INFO, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, CMABUF_IOC_PHYS, (void *)8));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(pool, unknown_ioctl_is_enotty)
{
	int arg = 0;

	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(CMABUF_IOC_MAGIC, 0x3f, int), &arg));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, DMA_BUF_IOCTL_SYNC, &arg));
	EXPECT_EQ(ENOTTY, errno);
}

/* Write through one mapping, read through another: in every cache mode. */
FIXTURE(cache_mode) {
	int fd;
};

FIXTURE_VARIANT(cache_mode) {
	uint32_t flags;
};

FIXTURE_VARIANT_ADD(cache_mode, cached) {
	.flags = CMABUF_CACHED,
};

FIXTURE_VARIANT_ADD(cache_mode, writecombine) {
	.flags = CMABUF_WRITECOMBINE,
};

FIXTURE_VARIANT_ADD(cache_mode, uncached) {
	.flags = CMABUF_UNCACHED,
};

FIXTURE_SETUP(cache_mode)
{
	self->fd = pool_open("camera");
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(cache_mode)
{
	EXPECT_TRUE(wait_used(self->fd, 0, 1000));
	close(self->fd);
}

TEST_F(cache_mode, zeroed_and_coherent_across_two_mappings)
{
	const size_t size = 4 * MiB;
	int buf = buf_alloc(self->fd, size, 0, variant->flags, O_RDWR);
	void *a, *b;

	ASSERT_LE(0, buf) TH_LOG("alloc: %s", strerror(-buf));
	a = map(buf, size, PROT_READ | PROT_WRITE);
	b = map(buf, size, PROT_READ);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	EXPECT_TRUE(all_zero(b, size));
	EXPECT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	fill(a, size, 0x1234 + variant->flags);
	EXPECT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
	EXPECT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(-1, check(b, size, 0x1234 + variant->flags));
	EXPECT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	munmap(a, size);
	munmap(b, size);
	close(buf);
}

TEST_F(pool, sync_ioctl_accepts_every_direction_and_rejects_garbage)
{
	int buf = buf_alloc_rw(self->fd, MiB);
	const uint64_t dirs[] = { DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE, DMA_BUF_SYNC_RW };
	size_t i;

	ASSERT_LE(0, buf);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | dirs[i]));
		EXPECT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | dirs[i]));
	}
	EXPECT_EQ(-EINVAL, buf_sync(buf, 0x80));
	close(buf);
}

/* Memory written by one buffer never shows in the next one. */
TEST_F(pool, buffers_are_zeroed_before_reuse)
{
	int buf = buf_alloc_rw(self->fd, CAMERA_SIZE);
	void *p;

	ASSERT_LE(0, buf) TH_LOG("whole-pool alloc: %s", strerror(-buf));
	p = map(buf, CAMERA_SIZE, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, p);
	memset(p, 0xa5, CAMERA_SIZE);
	munmap(p, CAMERA_SIZE);
	close(buf);
	ASSERT_TRUE(wait_used(self->fd, 0, 1000));

	buf = buf_alloc_rw(self->fd, CAMERA_SIZE);
	ASSERT_LE(0, buf);
	p = map(buf, CAMERA_SIZE, PROT_READ);
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(all_zero(p, CAMERA_SIZE));
	munmap(p, CAMERA_SIZE);
	close(buf);
}

TEST_F(pool, mapping_keeps_the_buffer_after_close)
{
	int buf = buf_alloc_rw(self->fd, MiB);
	void *p;

	ASSERT_LE(0, buf);
	p = map(buf, MiB, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, p);
	close(buf);
	fill(p, MiB, 7);
	EXPECT_EQ(-1, check(p, MiB, 7));
	EXPECT_EQ((long long)MiB, pool_used(self->fd));
	munmap(p, MiB);
	EXPECT_TRUE(wait_used(self->fd, 0, 1000));
}

TEST_F(pool, mapping_beyond_the_buffer_fails)
{
	int buf = buf_alloc_rw(self->fd, MiB);

	ASSERT_LE(0, buf);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 2 * MiB, PROT_READ, MAP_SHARED, buf, 0));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, MiB, PROT_READ, MAP_SHARED, buf, page_size()));
	close(buf);
}

TEST_F(pool, read_only_buffer_cannot_be_mapped_writable)
{
	int buf = buf_alloc(self->fd, MiB, 0, CMABUF_CACHED, O_RDONLY);
	void *p;

	ASSERT_LE(0, buf);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0));
	EXPECT_EQ(EACCES, errno);
	p = map(buf, MiB, PROT_READ);
	EXPECT_NE(NULL, p);
	munmap(p, MiB);
	close(buf);
}

/* Page-backed mappings: get_user_pages users work (a VM_PFNMAP mapping would not). */
TEST_F(pool, pinned_access_through_process_vm_writev)
{
	const size_t size = MiB;
	int buf = buf_alloc_rw(self->fd, size);
	struct iovec local, remote;
	char *src;
	void *p;

	ASSERT_LE(0, buf);
	p = map(buf, size, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, p);
	src = malloc(size);
	ASSERT_NE(NULL, src);
	fill(src, size, 99);
	local = (struct iovec){ .iov_base = src, .iov_len = size };
	remote = (struct iovec){ .iov_base = p, .iov_len = size };
	EXPECT_EQ((ssize_t)size, process_vm_writev(getpid(), &local, 1, &remote, 1, 0))
		TH_LOG("process_vm_writev: %s", strerror(errno));
	EXPECT_EQ(-1, check(p, size, 99));
	free(src);
	munmap(p, size);
	close(buf);
}

/* The test disk (scripts/make-test-disk.sh) holds fill(0xd15c0000) from its start. */
TEST_F(pool, o_direct_read_into_a_mapping)
{
	const size_t size = 4 * MiB;
	int buf = buf_alloc_rw(self->fd, size), disk;
	void *p;

	ASSERT_LE(0, buf);
	p = map(buf, size, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, p);
	disk = open("/dev/vda", O_RDONLY | O_DIRECT | O_CLOEXEC);
	ASSERT_LE(0, disk) TH_LOG("test disk /dev/vda: %s", strerror(errno));
	EXPECT_EQ((ssize_t)size, read(disk, p, size)) TH_LOG("O_DIRECT read: %s", strerror(errno));
	EXPECT_EQ(-1, check(p, size, 0xd15c0000));
	close(disk);
	munmap(p, size);
	close(buf);
}

/*
 * Maps a buffer of size bytes, fills it from seed and vmsplices the mapping into a new
 * pipe (which takes references to the pages). Returns the mapping or NULL.
 */
static void *splice_into_pipe(int buf, size_t size, uint32_t seed, int pipefd[2])
{
	struct iovec iov;
	void *p;

	if (pipe(pipefd) || (size_t)fcntl(pipefd[1], F_SETPIPE_SZ, size) < size)
		return NULL;
	p = map(buf, size, PROT_READ | PROT_WRITE);
	if (!p)
		return NULL;
	fill(p, size, seed);
	iov = (struct iovec){ .iov_base = p, .iov_len = size };
	if (vmsplice(pipefd[1], &iov, 1, 0) != (ssize_t)size) {
		munmap(p, size);
		return NULL;
	}
	return p;
}

/* Reads size bytes from the pipe and closes it; -1 if they are fill(seed), else the
 * index of the first wrong word, or -2 on a short read. */
static long long drain_pipe(int pipefd[2], size_t size, uint32_t seed)
{
	char *out = malloc(size);
	long long bad = -2;

	if (out && read(pipefd[0], out, size) == (ssize_t)size)
		bad = check(out, size, seed);
	free(out);
	close(pipefd[0]);
	close(pipefd[1]);
	return bad;
}

TEST_F(pool, pinned_access_through_vmsplice)
{
	const size_t size = 64 * 1024;
	int buf = buf_alloc_rw(self->fd, size), pipefd[2];
	void *p;

	ASSERT_LE(0, buf);
	p = splice_into_pipe(buf, size, 5, pipefd);
	ASSERT_NE(NULL, p) TH_LOG("vmsplice of a mapping: %s", strerror(errno));
	EXPECT_EQ(-1, drain_pipe(pipefd, size, 5));
	munmap(p, size);
	close(buf);
}

/*
 * A pipe still holds the pages of a buffer freed after vmsplice: they stay out of the
 * pool (never handed to another buffer) and come back once the pipe is drained.
 */
TEST_F(pool, pages_held_by_a_pipe_come_back_when_it_lets_go)
{
	const size_t size = 64 * 1024;
	int buf = buf_alloc_rw(self->fd, size), pipefd[2];
	void *p;

	ASSERT_LE(0, buf);
	p = splice_into_pipe(buf, size, 11, pipefd);
	ASSERT_NE(NULL, p);
	munmap(p, size);
	close(buf);
	EXPECT_EQ((long long)size, pool_used(self->fd)) TH_LOG("pages in a pipe were freed");
	EXPECT_TRUE(klog_contains("are still referenced (pinned for I/O, or in a pipe)"));
	EXPECT_EQ(-1, drain_pipe(pipefd, size, 11)) TH_LOG("the pipe's pages changed under it");
	EXPECT_TRUE(wait_used(self->fd, 0, 1000)) TH_LOG("drained pages did not come back");
}

TEST_F(pool, fork_shares_the_buffer)
{
	const size_t size = MiB;
	int buf = buf_alloc_rw(self->fd, size), status;
	void *p = NULL;
	pid_t pid;

	ASSERT_LE(0, buf);
	p = map(buf, size, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, p);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		fill(p, size, 42);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(-1, check(p, size, 42));
	munmap(p, size);
	close(buf);
}

static int send_fd(int sock, int fd)
{
	char data = 'x', cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char data, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cmsg;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

/* A process that did not allocate the buffer gets it over a unix socket and fills it. */
TEST_F(pool, fd_passed_over_a_unix_socket)
{
	const size_t size = MiB;
	int sv[2], status, buf;
	pid_t pid;
	void *p;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int got = recv_fd(sv[1]);
		void *q = got < 0 ? NULL : map(got, size, PROT_READ | PROT_WRITE);

		if (!q)
			_exit(1);
		fill(q, size, 77);
		_exit(0);
	}
	buf = buf_alloc_rw(self->fd, size);
	ASSERT_LE(0, buf);
	ASSERT_EQ(0, send_fd(sv[0], buf));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	p = map(buf, size, PROT_READ);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(-1, check(p, size, 77));
	munmap(p, size);
	close(buf);
	close(sv[0]);
	close(sv[1]);
}

TEST_F(pool, exhaustion_is_enomem_and_recovers)
{
	int bufs[4], i, extra;
	struct cmabuf_pool_info info;

	for (i = 0; i < 4; i++) {
		bufs[i] = buf_alloc_rw(self->fd, 16 * MiB);
		ASSERT_LE(0, bufs[i]) TH_LOG("buffer %d: %s", i, strerror(-bufs[i]));
	}
	ASSERT_EQ(0, pool_info(self->fd, &info));
	EXPECT_EQ(0, info.free);
	EXPECT_EQ(0, info.largest_free);
	extra = buf_alloc_rw(self->fd, page_size());
	EXPECT_EQ(-ENOMEM, extra);
	close(bufs[1]);
	ASSERT_TRUE(wait_used(self->fd, 48 * MiB, 1000));
	extra = buf_alloc_rw(self->fd, 16 * MiB);
	EXPECT_LE(0, extra) TH_LOG("reuse of the freed hole: %s", strerror(-extra));
	if (extra >= 0)
		close(extra);
	for (i = 0; i < 4; i++)
		if (i != 1)
			close(bufs[i]);
}

/*
 * The kernel's CMA heap serves the same area: while it holds the whole display pool,
 * cmabuf's own count says free but no page can be had: EBUSY, not ENOMEM.
 */
TEST(another_user_of_the_area_gives_ebusy)
{
	struct dma_heap_allocation_data heap_req = {
		.len = DISPLAY_SIZE, .fd_flags = O_RDWR | O_CLOEXEC,
	};
	int heap = open("/dev/dma_heap/display-pool@5c000000", O_RDONLY | O_CLOEXEC);
	int pool = pool_open("display"), buf;

	ASSERT_LE(0, heap) TH_LOG("the kernel's CMA heap for the display pool: %s",
				  strerror(errno));
	ASSERT_LE(0, pool);
	ASSERT_EQ(0, ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &heap_req)) TH_LOG("%s", strerror(errno));
	buf = buf_alloc_rw(pool, 4096);
	EXPECT_EQ(-EBUSY, buf) TH_LOG("got %d", buf);
	EXPECT_TRUE(klog_contains("display: no run of 1 pages came free after 3 tries"));
	EXPECT_EQ(0, pool_used(pool)) TH_LOG("a failed allocation kept its reservation");
	close(heap_req.fd);
	buf = buf_alloc_rw(pool, 4096);
	EXPECT_LE(0, buf) TH_LOG("after the heap let go: %s", strerror(-buf));
	if (buf >= 0)
		close(buf);
	close(pool);
	close(heap);
}

TEST_F(pool, phys_is_aligned_and_inside_the_pool)
{
	uint64_t base, size, phys = 0, len = 0;
	int buf;

	ASSERT_EQ(0, dt_reg("reserved-memory/camera-pool@58000000", &base, &size));
	buf = buf_alloc(self->fd, 3 * page_size(), MiB, CMABUF_CACHED, O_RDWR);
	ASSERT_LE(0, buf);
	ASSERT_EQ(0, buf_phys(self->fd, buf, &phys, &len));
	EXPECT_EQ(0, phys % MiB);
	EXPECT_LE(base, phys);
	EXPECT_GE(base + size, phys + len);
	EXPECT_EQ(3 * page_size(), len);
	close(buf);
}

TEST_F(pool, phys_refuses_foreign_fds)
{
	int display = pool_open("display"), other, pipefd[2];
	uint64_t phys, len;
	struct cmabuf_phys req = { .fd = -1, .reserved0 = 1 };

	ASSERT_LE(0, display);
	other = buf_alloc_rw(display, MiB);
	ASSERT_LE(0, other);
	EXPECT_EQ(-EINVAL, buf_phys(self->fd, other, &phys, &len)) TH_LOG("other pool's buffer");
	ASSERT_EQ(0, pipe(pipefd));
	EXPECT_EQ(-EBADF, buf_phys(self->fd, pipefd[0], &phys, &len));
	EXPECT_EQ(-EBADF, buf_phys(self->fd, 999, &phys, &len));
	EXPECT_EQ(-1, ioctl(self->fd, CMABUF_IOC_PHYS, &req));
	EXPECT_EQ(EINVAL, errno);
	close(pipefd[0]);
	close(pipefd[1]);
	close(other);
	EXPECT_TRUE(wait_used(display, 0, 1000));
	close(display);
}

TEST_F(pool, phys_needs_cap_sys_rawio)
{
	int buf = buf_alloc_rw(self->fd, MiB), status;
	pid_t pid;

	ASSERT_LE(0, buf);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint64_t phys, len;

		/* Root to nobody drops every capability; the open fds stay usable. */
		if (setuid(65534))
			_exit(2);
		_exit(buf_phys(self->fd, buf, &phys, &len) == -EPERM ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) TH_LOG("status %d", status);
	close(buf);
}

TEST_F(pool, sigkill_while_mapped_frees_everything)
{
	int ready[2], status;
	char c;
	pid_t pid;

	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int buf = buf_alloc_rw(self->fd, 8 * MiB);
		void *p = buf < 0 ? NULL : map(buf, 8 * MiB, PROT_READ | PROT_WRITE);

		if (p)
			memset(p, 1, 8 * MiB);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	EXPECT_EQ((long long)(8 * MiB), pool_used(self->fd));
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(wait_used(self->fd, 0, 2000));
	close(ready[0]);
	close(ready[1]);
}

/* A thousand allocations of up to 8 MiB, each zeroed: minutes on a busy TCG debug kernel. */
TEST_F_TIMEOUT(pool, thousand_mixed_alloc_free_cycles_end_empty, 300)
{
	const uint64_t sizes[] = { 4096, 12288, 65536, 1 * MiB, 3 * MiB + 4096, 8 * MiB };
	int live[4] = { -1, -1, -1, -1 }, i, failures = 0;
	unsigned int seed = 1;

	for (i = 0; i < 1000; i++) {
		int slot = rand_r(&seed) % 4;

		if (live[slot] >= 0)
			close(live[slot]);
		live[slot] = buf_alloc_rw(self->fd, sizes[rand_r(&seed) % 6]);
		failures += live[slot] < 0;
	}
	for (i = 0; i < 4; i++)
		if (live[i] >= 0)
			close(live[i]);
	EXPECT_EQ(0, failures);
	EXPECT_TRUE(wait_used(self->fd, 0, 1000));
}

struct worker {
	int pool_fd, allocs, unexpected;
	unsigned int seed;
};

static void *alloc_worker(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < 100; i++) {
		uint64_t size = ((uint64_t)(rand_r(&w->seed) % 512) + 1) * 4096;
		int buf = buf_alloc_rw(w->pool_fd, size);
		uint32_t *p;

		if (buf == -ENOMEM || buf == -EBUSY)
			continue;
		if (buf < 0) {
			w->unexpected++;
			continue;
		}
		p = map(buf, size, PROT_READ | PROT_WRITE);
		if (!p || p[0] != 0 || p[size / 4 - 1] != 0)
			w->unexpected++;
		if (p) {
			fill(p, size, w->seed);
			if (check(p, size, w->seed) != -1)
				w->unexpected++;
			munmap(p, size);
		}
		close(buf);
		w->allocs++;
	}
	return NULL;
}

/*
 * 800 allocations of up to 2 MiB, each filled and checked: about 20 s on the TCG debug
 * kernel when the machine is quiet, past the harness's default 30 s when it is not
 * (seen with a kernel build beside it, on main before issue 15 too). The allowance
 * is for the emulator; the test still asserts every allocation and its contents.
 */
TEST_F_TIMEOUT(pool, eight_threads_allocate_concurrently, 120)
{
	struct worker w[8];
	pthread_t t[8];
	int i, allocs = 0;

	for (i = 0; i < 8; i++) {
		w[i] = (struct worker){ .pool_fd = self->fd, .seed = i + 1 };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, alloc_worker, &w[i]));
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, w[i].unexpected) TH_LOG("thread %d", i);
		allocs += w[i].allocs;
	}
	ksft_print_msg("8 threads: %d allocations\n", allocs);
	EXPECT_LT(400, allocs);
}

TEST_HARNESS_MAIN
