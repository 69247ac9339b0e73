// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile use: random and garbage ioctls from 8 processes, 16 threads checking every
 * byte of their buffers, a storm of SIGKILLs, unbinding and reloading under load, and
 * unprivileged users. Afterwards every pool is empty and (checked by the host) the
 * kernel log is clean. Seeded and bounded; the seed is printed on failure.
 */
#include <grp.h>
#include <linux/dma-buf.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "cmabuf_util.h"
#include "kselftest_harness.h"

#define FUZZ_PROCS 8
#define FUZZ_CALLS 100000
#define SEED 20261124u

static const char *const pools[] = { "camera", "display" };

/* make soak sets cmabuf_soak=N on the kernel command line: N times longer runs. */
static int soak(void)
{
	const char *n = getenv("cmabuf_soak");

	return n && atoi(n) > 1 ? atoi(n) : 1;
}

static bool pools_empty(void)
{
	size_t i;

	for (i = 0; i < sizeof(pools) / sizeof(pools[0]); i++) {
		int fd = pool_open(pools[i]);
		bool empty = fd >= 0 && wait_used(fd, 0, 2000);

		if (fd >= 0)
			close(fd);
		if (!empty)
			return false;
	}
	return true;
}

static uint64_t rnd64(unsigned int *seed)
{
	return ((uint64_t)rand_r(seed) << 33) ^ ((uint64_t)rand_r(seed) << 11) ^ rand_r(seed);
}

/* One fuzzing process: calls ioctls with valid, boundary and garbage arguments.
 * Counts the buffers it got in *allocated. */
static int fuzz(unsigned int seed, int calls, long *allocated)
{
	static const unsigned int cmds[] = {
		CMABUF_IOC_ALLOC, CMABUF_IOC_POOL_INFO, CMABUF_IOC_PHYS, DMA_BUF_IOCTL_SYNC,
		_IOWR('J', 0x03, int), _IOR('d', 0x00, int), 0, 0xffffffff,
	};
	static const uint64_t sizes[] = { 0, 1, 4095, 4096, 65536, 1 << 20, 64 << 20,
					  (64 << 20) + 1, ~0ULL };
	int fds[4], held[8] = { -1, -1, -1, -1, -1, -1, -1, -1 }, i, unexpected = 0;
	char garbage[256];

	for (i = 0; i < 4; i++)
		fds[i] = pool_open(pools[i % 2]);
	for (i = 0; i < calls; i++) {
		int fd = fds[rand_r(&seed) % 4], slot = rand_r(&seed) % 8, r;
		unsigned int cmd = cmds[rand_r(&seed) % 8];
		union {
			struct cmabuf_alloc alloc;
			struct cmabuf_pool_info info;
			struct cmabuf_phys phys;
			struct dma_buf_sync sync;
		} arg;
		void *ptr = &arg;

		switch (rand_r(&seed) % 4) {
		case 0: /* plausible */
			memset(&arg, 0, sizeof(arg));
			arg.alloc.size = sizes[rand_r(&seed) % 9] % (1 << 20);
			arg.alloc.fd_flags = O_RDWR | O_CLOEXEC;
			arg.alloc.flags = rand_r(&seed) % 3;
			break;
		case 1: /* boundary */
			memset(&arg, 0, sizeof(arg));
			arg.alloc.size = sizes[rand_r(&seed) % 9];
			arg.alloc.align = 1ULL << (rand_r(&seed) % 64);
			arg.alloc.flags = rand_r(&seed) % 5;
			arg.alloc.fd_flags = rand_r(&seed) % 2 ? O_RDWR : 0xffffffff;
			break;
		case 2: /* garbage */
			for (r = 0; r < (int)sizeof(arg); r += 8)
				*(uint64_t *)((char *)&arg + r) = rnd64(&seed);
			break;
		default: /* bad pointers and foreign fds */
			ptr = rand_r(&seed) % 2 ? (void *)(uintptr_t)rnd64(&seed) : garbage;
			if (rand_r(&seed) % 2 && held[slot] >= 0)
				fd = held[slot];
			break;
		}
		if (cmd == CMABUF_IOC_PHYS && held[slot] >= 0 && rand_r(&seed) % 2) {
			memset(&arg.phys, 0, sizeof(arg.phys));
			arg.phys.fd = held[slot];
			ptr = &arg;
		}
		r = ioctl(fd, cmd, ptr);
		if (r == 0 && cmd == CMABUF_IOC_ALLOC && ptr == &arg) {
			if (held[slot] >= 0)
				close(held[slot]);
			held[slot] = arg.alloc.fd;
			__atomic_add_fetch(allocated, 1, __ATOMIC_RELAXED);
		} else if (r < 0 && errno != EINVAL && errno != EFAULT && errno != ENOTTY &&
			   errno != ENOMEM && errno != EBUSY && errno != EBADF && errno != EDQUOT) {
			unexpected++;
		}
		if (rand_r(&seed) % 16 == 0 && held[slot] >= 0) {
			close(held[slot]);
			held[slot] = -1;
		}
	}
	for (i = 0; i < 8; i++)
		if (held[i] >= 0)
			close(held[i]);
	for (i = 0; i < 4; i++)
		close(fds[i]);
	return unexpected;
}

/* Long runs: up to 10 minutes each on the debug kernel under emulation. */
FIXTURE(hostile) {
};

FIXTURE_SETUP(hostile)
{
}

FIXTURE_TEARDOWN(hostile)
{
}

TEST_F_TIMEOUT(hostile, fuzz_ioctls_from_eight_processes, 600)
{
	long *allocated = mmap(NULL, sizeof(long), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pids[FUZZ_PROCS];
	int i, status, failed = 0;
	uint64_t start = now_ms();

	ASSERT_NE(MAP_FAILED, allocated);
	*allocated = 0;
	for (i = 0; i < FUZZ_PROCS; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0)
			_exit(fuzz(SEED + i, soak() * FUZZ_CALLS / FUZZ_PROCS, allocated) ? 1 : 0);
	}
	for (i = 0; i < FUZZ_PROCS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed++;
	}
	ksft_print_msg("fuzz: %d ioctl calls from %d processes in %llu ms, %ld buffers allocated (seed %u)\n",
		       soak() * FUZZ_CALLS, FUZZ_PROCS, (unsigned long long)(now_ms() - start), *allocated,
		       SEED);
	EXPECT_LT(1000, *allocated) TH_LOG("the fuzzer hardly reached the allocator");
	munmap(allocated, sizeof(long));
	EXPECT_EQ(0, failed) TH_LOG("unexpected errnos; seed %u", SEED);
	EXPECT_TRUE(pools_empty()) TH_LOG("buffers left after fuzzing; seed %u", SEED);
}

struct stress {
	int pool;
	unsigned int seed;
	volatile int *stop;
	int buffers, corrupt;
};

/* Allocate, map, write a pattern unique to this buffer, sync, verify, free. */
static void *stress_thread(void *arg)
{
	struct stress *s = arg;

	while (!*s->stop) {
		size_t size = ((rand_r(&s->seed) % 64) + 1) * 4096, i;
		uint32_t tag = rand_r(&s->seed);
		int buf = buf_alloc(s->pool, size, 0, rand_r(&s->seed) % 3, O_RDWR);
		uint32_t *p;

		if (buf < 0)
			continue;
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
		if (p != MAP_FAILED) {
			buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
			for (i = 0; i < size / 4; i++)
				s->corrupt += p[i] != 0;
			for (i = 0; i < size / 4; i++)
				p[i] = tag ^ i;
			for (i = 0; i < size / 4; i++)
				s->corrupt += p[i] != (tag ^ i);
			buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
			munmap(p, size);
		}
		close(buf);
		s->buffers++;
	}
	return NULL;
}

TEST_F_TIMEOUT(hostile, sixteen_threads_never_share_or_lose_a_byte, 600)
{
	struct stress s[16];
	pthread_t t[16];
	volatile int stop = 0;
	int i, buffers = 0, corrupt = 0;

	for (i = 0; i < 16; i++) {
		s[i] = (struct stress){ .pool = pool_open(pools[i % 2]), .seed = SEED + i,
					.stop = &stop };
		ASSERT_LE(0, s[i].pool);
		ASSERT_EQ(0, pthread_create(&t[i], NULL, stress_thread, &s[i]));
	}
	sleep(10 * soak());
	stop = 1;
	for (i = 0; i < 16; i++) {
		pthread_join(t[i], NULL);
		buffers += s[i].buffers;
		corrupt += s[i].corrupt;
		close(s[i].pool);
	}
	ksft_print_msg("stress: 16 threads, %d buffers written and verified in %d s\n", buffers,
		       10 * soak());
	EXPECT_EQ(0, corrupt) TH_LOG("bytes not zeroed or changed under a buffer; seed %u", SEED);
	EXPECT_LT(16, buffers);
	EXPECT_TRUE(pools_empty());
}

TEST_F_TIMEOUT(hostile, kill_storm_of_200_children, 600)
{
	unsigned int seed = SEED;
	int i, status;

	for (i = 0; i < 200 * soak(); i++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (pid == 0) {
			int pool = pool_open(pools[i % 2]), n;

			for (n = 0; n < 4; n++) {
				int buf = buf_alloc_rw(pool, (n + 1) << 16);
				char *p = buf < 0 ? MAP_FAILED :
					  mmap(NULL, (n + 1) << 16, PROT_READ | PROT_WRITE,
					       MAP_SHARED, buf, 0);

				if (p != MAP_FAILED)
					memset(p, n, (n + 1) << 16);
			}
			pause();
			_exit(0);
		}
		usleep(rand_r(&seed) % 5000);
		kill(pid, SIGKILL);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
	}
	ksft_print_msg("kill storm: %d children killed while holding and mapping buffers\n",
		       200 * soak());
	EXPECT_TRUE(pools_empty()) TH_LOG("memory held by killed children was not freed");
}

/* Opens, allocates and reads debugfs in a loop while the module comes and goes. */
static void *churn_while_reloading(void *arg)
{
	volatile int *stop = arg;
	char text[4096];

	while (!*stop) {
		int pool = pool_open("camera");

		if (pool >= 0) {
			int buf = buf_alloc_rw(pool, 4096);

			if (buf >= 0)
				close(buf);
			close(pool);
		}
		read_text(CMABUF_DEBUGFS "/camera/info", text, sizeof(text));
		usleep(500);
	}
	return NULL;
}

/* Unbind and rebind display 30 times, then reload the module, while others use it. */
TEST_F_TIMEOUT(hostile, unbind_and_reload_while_in_use, 600)
{
	struct stress s[4];
	pthread_t t[4];
	volatile int stop = 0;
	int i, rebinds = 0, reloads = 0;

	for (i = 0; i < 4; i++) {
		s[i] = (struct stress){ .pool = pool_open(pools[i % 2]), .seed = SEED + 100 + i,
					.stop = &stop };
		ASSERT_LE(0, s[i].pool);
		ASSERT_EQ(0, pthread_create(&t[i], NULL, stress_thread, &s[i]));
	}
	for (i = 0; i < 30; i++) {
		char text[4096];

		if (!write_text(CMABUF_DRIVER_DIR "/unbind", "cmabuf-display"))
			rebinds++;
		read_text(CMABUF_DEBUGFS "/camera/buffers", text, sizeof(text));
		/* Rebinding waits for the display buffers of the threads to go. */
		while (write_text(CMABUF_DRIVER_DIR "/bind", "cmabuf-display") &&
		       !path_exists(CMABUF_DRIVER_DIR "/cmabuf-display"))
			usleep(1000);
	}
	stop = 1;
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, s[i].corrupt);
		close(s[i].pool);
	}
	/*
	 * Reload 10 times while two threads keep opening the device, allocating and
	 * reading debugfs: unloading succeeds only in the gaps when no file is open.
	 */
	stop = 0;
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, churn_while_reloading, (void *)&stop));
	for (i = 0; i < 10; i++) {
		int tries = 0;

		while (module_unload() && errno == EWOULDBLOCK && tries++ < 20000)
			usleep(100);
		if (!module_loaded())
			reloads += !module_load();
		wait_path("/dev/cmabuf-camera", true, 2000);
	}
	stop = 1;
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	ksft_print_msg("%d unbind/bind cycles under load, %d reloads while others open and allocate\n",
		       rebinds, reloads);
	EXPECT_EQ(30, rebinds);
	EXPECT_EQ(10, reloads);
	EXPECT_TRUE(wait_path("/dev/cmabuf-display", true, 2000));
	EXPECT_TRUE(pools_empty());
}

/* The device is 0660 root:root: others are refused, a group member is let in. */
TEST_F_TIMEOUT(hostile, unprivileged_users, 600)
{
	int status;
	pid_t pid;

	ASSERT_EQ(0, chown("/dev/cmabuf-camera", 0, 44));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd, dfd;

		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(10);
		fd = open("/dev/cmabuf-camera", O_RDWR);
		dfd = open(CMABUF_DEBUGFS "/camera/info", O_RDONLY);
		_exit((fd < 0 && errno == EACCES ? 0 : 1) | (dfd < 0 ? 0 : 2));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("nobody opened the device (1) or debugfs (2)");
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		gid_t video = 44;
		int fd, buf;

		if (setgroups(1, &video) || setgid(65534) || setuid(65534))
			_exit(10);
		fd = open("/dev/cmabuf-camera", O_RDWR);
		if (fd < 0)
			_exit(1);
		buf = buf_alloc_rw(fd, 4096);
		_exit(buf >= 0 ? 0 : 2);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("a member of the device's group was refused");
	ASSERT_EQ(0, chown("/dev/cmabuf-camera", 0, 0));
	EXPECT_TRUE(pools_empty());
}

TEST_HARNESS_MAIN
