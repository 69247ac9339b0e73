// SPDX-License-Identifier: GPL-2.0
/*
 * CMABUF_IOC_RESERVE, PREPARE with a guarantee: the ioctl returns a reservation fd at
 * once while a kernel worker evacuates the runs; poll() says when they are ready (POLLIN)
 * or when the reservation failed (POLLERR); CMABUF_RESERVATION_IOC_STATUS reports its
 * progress; CMABUF_IOC_ALLOC with CMABUF_ALLOC_FROM_RESERVATION takes a ready run and
 * nothing else does; a missed deadline, the runs' expiry, closing the fd (SIGKILL too)
 * and unbinding the pool give back what is unused. Bad requests get EINVAL and a line.
 */
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "cmabuf_util.h"
#include "dmem_util.h"
#include "kselftest_harness.h"
#include "trace_util.h"

#define POOL "camera"
#define POOL_DEV "/dev/cmabuf-" POOL

/* CMABUF_IOC_RESERVE; the reservation fd or -errno. */
static int reserve(int pool, uint64_t size, uint32_t count, uint32_t deadline_ms,
		   uint32_t expiry_ms)
{
	struct cmabuf_reserve req = {
		.size = size, .count = count, .deadline_ms = deadline_ms,
		.expiry_ms = expiry_ms, .fd_flags = O_CLOEXEC,
	};

	return ioctl(pool, CMABUF_IOC_RESERVE, &req) ? -errno : req.fd;
}

/* CMABUF_IOC_ALLOC of size from reservation resv; the buffer fd or -errno. */
static int alloc_from(int pool, int resv, uint64_t size)
{
	struct cmabuf_alloc req = {
		.size = size, .flags = CMABUF_CACHED | CMABUF_ALLOC_FROM_RESERVATION,
		.fd_flags = O_RDWR | O_CLOEXEC, .reservation_fd = resv,
	};

	return ioctl(pool, CMABUF_IOC_ALLOC, &req) ? -errno : req.fd;
}

static int status(int resv, struct cmabuf_reservation_status *st)
{
	memset(st, 0xff, sizeof(*st));
	return ioctl(resv, CMABUF_RESERVATION_IOC_STATUS, st) ? -errno : 0;
}

/* poll() on resv for up to ms; its revents (0 on timeout). */
static short wait_resv(int resv, int ms)
{
	struct pollfd p = { .fd = resv, .events = POLLIN };

	return poll(&p, 1, ms) == 1 ? p.revents : 0;
}

/* Waits until the reservation's state is want; whether it got there. */
static bool wait_state(int resv, uint32_t want, unsigned int ms)
{
	struct cmabuf_reservation_status st;
	uint64_t end = now_ms() + ms;

	do {
		if (status(resv, &st) == 0 && st.state == want)
			return true;
		usleep(5000);
	} while (now_ms() < end);
	return false;
}

/*
 * Binds the pool anew, for a fresh rate limit of its messages (10 lines per 5 s: the
 * tests before may have spent it). No file of the pool may be open. Whether it is back.
 */
static bool rebind(const char *pool)
{
	char dev[64], path[80];

	snprintf(dev, sizeof(dev), "cmabuf-%s", pool);
	snprintf(path, sizeof(path), "/dev/%s", dev);
	if (write_text(CMABUF_DRIVER_DIR "/unbind", dev))
		return false;
	/* A worker lets go of the old binding a moment after it reported: EBUSY until. */
	for (int i = 0; i < 100 && write_text(CMABUF_DRIVER_DIR "/bind", dev); i++)
		usleep(20000);
	return wait_path(path, true, 2000);
}

FIXTURE(resv) {
	int pool;
};

FIXTURE_SETUP(resv)
{
	ASSERT_TRUE(rebind(POOL));
	self->pool = pool_open(POOL);
	ASSERT_LE(0, self->pool);
	ASSERT_TRUE(wait_used(self->pool, 0, 5000)) TH_LOG("the pool is not empty to begin with");
}

FIXTURE_TEARDOWN(resv)
{
	if (self->pool >= 0) {
		EXPECT_TRUE(wait_used(self->pool, 0, 10000)) TH_LOG("something stayed charged");
		close(self->pool);
	}
}

/* Ready runs are charged, taken only by ALLOCs that name the reservation, then spent. */
TEST_F_TIMEOUT(resv, ready_runs_are_taken_by_name_only, 120)
{
	struct cmabuf_reservation_status st;
	uint64_t phys, size;
	int resv, a, b, plain;
	char text[4096];

	resv = reserve(self->pool, 3 * MiB, 2, 60000, 60000);
	ASSERT_LE(0, resv) TH_LOG("%s", strerror(-resv));
	EXPECT_EQ(POLLIN, wait_resv(resv, 60000) & (POLLIN | POLLERR));
	ASSERT_EQ(0, status(resv, &st));
	EXPECT_EQ(CMABUF_RESERVATION_READY, st.state);
	EXPECT_EQ(0, st.error);
	EXPECT_EQ(2, st.count);
	EXPECT_EQ(2, st.evacuated);
	EXPECT_EQ(0, st.taken);
	EXPECT_EQ(2, st.left);
	EXPECT_EQ(6 * MiB, st.bytes_evacuated);
	EXPECT_LT(0, st.elapsed_ns);
	EXPECT_LT(0, st.expires_in_ms);
	EXPECT_GE(60000, st.expires_in_ms);
	EXPECT_EQ(0, st.reserved[0]);
	/* Charged to this process from the moment they were evacuated. */
	EXPECT_EQ(6 * MiB, pool_used(self->pool));
	/* debugfs lists them as the reservation's. */
	ASSERT_LT(0, read_text(CMABUF_DEBUGFS "/" POOL "/cache", text, sizeof(text)));
	EXPECT_NE(NULL, strstr(text, "reserved")) TH_LOG("%s", text);

	/* An ordinary ALLOC of the same size does not take a promised run. */
	plain = buf_alloc_rw(self->pool, 3 * MiB);
	ASSERT_LE(0, plain);
	ASSERT_EQ(0, status(resv, &st));
	EXPECT_EQ(2, st.left);
	EXPECT_EQ(9 * MiB, pool_used(self->pool));
	close(plain);

	a = alloc_from(self->pool, resv, 3 * MiB);
	ASSERT_LE(0, a) TH_LOG("%s", strerror(-a));
	b = alloc_from(self->pool, resv, 3 * MiB);
	ASSERT_LE(0, b) TH_LOG("%s", strerror(-b));
	EXPECT_EQ(0, buf_phys(self->pool, a, &phys, &size));
	EXPECT_EQ(3 * MiB, size);
	/* The charges moved to the buffers: nothing counted twice. */
	EXPECT_TRUE(wait_used(self->pool, 6 * MiB, 5000));
	ASSERT_EQ(0, status(resv, &st));
	EXPECT_EQ(CMABUF_RESERVATION_SPENT, st.state);
	EXPECT_EQ(2, st.taken);
	EXPECT_EQ(0, st.left);
	EXPECT_EQ(-ENOSPC, alloc_from(self->pool, resv, 3 * MiB));
	EXPECT_TRUE(klog_contains("CMABUF_IOC_ALLOC from a reservation: none of its runs is left"));
	close(resv);
	/* The buffers outlive their reservation. */
	EXPECT_EQ(6 * MiB, pool_used(self->pool));
	close(a);
	close(b);
}

/* Closing the fd gives back what is ready; expiry does on its own. */
TEST_F_TIMEOUT(resv, close_and_expiry_give_back, 120)
{
	struct cmabuf_reservation_status st;
	int resv;

	resv = reserve(self->pool, 4 * MiB, 2, 60000, 60000);
	ASSERT_LE(0, resv);
	ASSERT_TRUE(wait_state(resv, CMABUF_RESERVATION_READY, 60000));
	EXPECT_EQ(8 * MiB, pool_used(self->pool));
	/* Neither debugfs' drop nor the shrinker takes promised runs. */
	ASSERT_EQ(0, write_text(CMABUF_DEBUGFS "/" POOL "/cache", "drop"));
	EXPECT_EQ(8 * MiB, pool_used(self->pool));
	close(resv);
	EXPECT_TRUE(wait_used(self->pool, 0, 5000)) TH_LOG("close did not give the runs back");

	resv = reserve(self->pool, MiB, 1, 60000, 300);
	ASSERT_LE(0, resv);
	ASSERT_TRUE(wait_state(resv, CMABUF_RESERVATION_READY, 60000));
	EXPECT_TRUE(wait_state(resv, CMABUF_RESERVATION_SPENT, 10000)) TH_LOG("never expired");
	ASSERT_EQ(0, status(resv, &st));
	EXPECT_EQ(1, st.evacuated);
	EXPECT_EQ(0, st.taken);
	EXPECT_EQ(0, st.left);
	EXPECT_TRUE(wait_used(self->pool, 0, 5000));
	EXPECT_EQ(-ENOSPC, alloc_from(self->pool, resv, MiB));
	close(resv);
}

/*
 * No room until the deadline: POLLERR, ETIMEDOUT, nothing kept; while it evacuates an
 * ALLOC naming it gets EAGAIN. Room that comes free in time is used (the worker tries
 * again until the deadline).
 */
TEST_F_TIMEOUT(resv, deadline_missed_or_met, 120)
{
	struct cmabuf_reservation_status st;
	const char *line;
	int big, resv;
	char *text;

	ASSERT_EQ(0, tracefs_ready());
	ASSERT_EQ(0, trace_reset(true));
	big = buf_alloc_rw(self->pool, 40 * MiB);
	ASSERT_LE(0, big);
	resv = reserve(self->pool, 16 * MiB, 2, 500, 60000);
	ASSERT_LE(0, resv);
	ASSERT_EQ(0, status(resv, &st));
	if (st.state == CMABUF_RESERVATION_EVACUATING) {
		EXPECT_EQ(-EAGAIN, alloc_from(self->pool, resv, 16 * MiB));
		EXPECT_TRUE(klog_contains("the reservation is still evacuating"));
	}
	EXPECT_EQ(POLLERR, wait_resv(resv, 30000) & (POLLIN | POLLERR));
	ASSERT_EQ(0, status(resv, &st));
	EXPECT_EQ(CMABUF_RESERVATION_FAILED, st.state);
	EXPECT_EQ(ETIMEDOUT, st.error);
	EXPECT_GE(1, st.evacuated);
	EXPECT_EQ(0, st.left);
	EXPECT_LE(500000000ULL, st.elapsed_ns);
	EXPECT_TRUE(wait_used(self->pool, 40 * MiB, 5000)) TH_LOG("the failed reservation kept runs");
	EXPECT_EQ(-ECANCELED, alloc_from(self->pool, resv, 16 * MiB));
	EXPECT_TRUE(klog_contains("the reservation failed"));
	EXPECT_TRUE(klog_contains("CMABUF_IOC_RESERVE of 2 runs of 4096 pages failed with"));
	close(resv);

	/* The same, but the room comes free before the deadline. */
	resv = reserve(self->pool, 16 * MiB, 2, 30000, 60000);
	ASSERT_LE(0, resv);
	usleep(300000);
	close(big);
	EXPECT_EQ(POLLIN, wait_resv(resv, 60000) & (POLLIN | POLLERR));
	ASSERT_EQ(0, status(resv, &st));
	EXPECT_EQ(CMABUF_RESERVATION_READY, st.state);
	EXPECT_EQ(2, st.left);
	close(resv);

	/* Both ended in a cmabuf_prepare event: the miss, then the one that made it. */
	text = trace_read();
	ASSERT_EQ(0, trace_reset(false));
	ASSERT_NE(NULL, text);
	line = next_event(text, "cmabuf_prepare", NULL);
	ASSERT_NE(NULL, line) TH_LOG("no cmabuf_prepare event");
	EXPECT_EQ((long long)(16 * MiB), field(line, "run_size"));
	EXPECT_EQ(2, field(line, "runs"));
	EXPECT_EQ(getpid(), field(line, "tgid"));
	EXPECT_LE(500000000LL, field(line, "duration_ns"));
	EXPECT_EQ(ETIMEDOUT, field(line, "errno"));
	line = next_event(text, "cmabuf_prepare", line);
	ASSERT_NE(NULL, line);
	EXPECT_EQ(0, field(line, "errno"));
	EXPECT_LE(300000000LL, field(line, "duration_ns"));
	free(text);
}

/* Closed while it evacuates, or its owner killed: every run goes back. */
TEST_F_TIMEOUT(resv, close_or_kill_while_evacuating, 120)
{
	int resv, ready[2], status_;
	pid_t child;
	char c;

	resv = reserve(self->pool, 4 * MiB, 8, 60000, 60000);
	ASSERT_LE(0, resv);
	close(resv);
	EXPECT_TRUE(wait_used(self->pool, 0, 30000)) TH_LOG("runs left after close");

	ASSERT_EQ(0, pipe(ready));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		int r = reserve(self->pool, 4 * MiB, 4, 60000, 60000);

		if (r >= 0 && wait_resv(r, 60000) & POLLIN)
			c = 'y';
		else
			c = 'n';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	EXPECT_EQ('y', c);
	EXPECT_EQ(16 * MiB, pool_used(self->pool));
	kill(child, SIGKILL);
	ASSERT_EQ(child, waitpid(child, &status_, 0));
	close(ready[0]);
	EXPECT_TRUE(wait_used(self->pool, 0, 5000)) TH_LOG("a killed owner's runs stayed");
}

/* Unbinding the pool fails a reservation in progress and takes its runs back. */
TEST_F_TIMEOUT(resv, unbind_ends_it, 120)
{
	struct cmabuf_reservation_status st;
	int resv;

	resv = reserve(self->pool, 4 * MiB, 8, 60000, 60000);
	ASSERT_LE(0, resv);
	ASSERT_EQ(0, write_text(CMABUF_DRIVER_DIR "/unbind", "cmabuf-" POOL));
	/* Ends as failed (ENODEV) unless it was ready before the unbind took its runs. */
	ASSERT_TRUE(wait_state(resv, CMABUF_RESERVATION_FAILED, 30000) ||
		    wait_state(resv, CMABUF_RESERVATION_SPENT, 1000));
	ASSERT_EQ(0, status(resv, &st));
	if (st.state == CMABUF_RESERVATION_FAILED)
		EXPECT_EQ(ENODEV, st.error);
	EXPECT_EQ(0, st.left);
	EXPECT_EQ(-ENODEV, alloc_from(self->pool, resv, 4 * MiB));
	EXPECT_TRUE(klog_contains("the pool is unbound: bind its device again to allocate"));
	close(resv);
	/*
	 * Files of the old binding hold its pool: close them before binding again. The
	 * worker lets go of the pool a moment after it reported the failure: EBUSY until.
	 */
	close(self->pool);
	self->pool = -1;
	for (int i = 0; i < 100 && write_text(CMABUF_DRIVER_DIR "/bind", "cmabuf-" POOL); i++)
		usleep(20000);
	ASSERT_TRUE(wait_path(POOL_DEV, true, 2000));
	self->pool = pool_open(POOL);
	ASSERT_LE(0, self->pool);
}

/* Bad requests: EINVAL and a line that says what to fix. */
TEST_F(resv, bad_requests)
{
	struct cmabuf_reserve req = {
		.size = MiB, .count = 1, .deadline_ms = 1000, .expiry_ms = 1000,
	};

	EXPECT_EQ(-EINVAL, reserve(self->pool, 0, 1, 1000, 1000));
	EXPECT_EQ(-EINVAL, reserve(self->pool, MiB, 0, 1000, 1000));
	EXPECT_TRUE(klog_contains("CMABUF_IOC_RESERVE: count must be 1 to 1024"));
	EXPECT_EQ(-EINVAL, reserve(self->pool, 32 * MiB, 3, 1000, 1000));
	EXPECT_TRUE(klog_contains("CMABUF_IOC_RESERVE: count * size is larger than the pool"));
	EXPECT_EQ(-EINVAL, reserve(self->pool, MiB, 1, 0, 1000));
	EXPECT_EQ(-EINVAL, reserve(self->pool, MiB, 1, 600001, 1000));
	EXPECT_TRUE(klog_contains("CMABUF_IOC_RESERVE: deadline_ms must be 1 to 600000"));
	EXPECT_EQ(-EINVAL, reserve(self->pool, MiB, 1, 1000, 0));
	EXPECT_TRUE(klog_contains("CMABUF_IOC_RESERVE: expiry_ms must be 1 to 600000"));
	req.flags = 1;
	EXPECT_EQ(-1, ioctl(self->pool, CMABUF_IOC_RESERVE, &req));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_TRUE(klog_contains("CMABUF_IOC_RESERVE: reserved fields, flags and fd must be zero"));
	req.flags = 0;
	req.fd_flags = O_RDWR;
	EXPECT_EQ(-1, ioctl(self->pool, CMABUF_IOC_RESERVE, &req));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_TRUE(klog_contains("CMABUF_IOC_RESERVE: fd_flags may hold only O_CLOEXEC"));
	req.fd_flags = 0;
	req.reserved[3] = 1;
	EXPECT_EQ(-1, ioctl(self->pool, CMABUF_IOC_RESERVE, &req));
	EXPECT_EQ(EINVAL, errno);
}

/*
 * RESERVE on a read-only file (EBADF); ALLOC naming what is not a reservation of the
 * pool, or with the wrong size (EINVAL), or a closed fd (EBADF). On the
 * display pool: the camera pool's rate limit (10 lines per 5 s) is spent above.
 */
TEST_F(resv, bad_alloc_from_reservation)
{
	struct cmabuf_alloc plain = { .size = MiB, .fd_flags = O_RDWR };
	int ro, resv, buf, other, display;

	ASSERT_TRUE(rebind("display"));
	display = pool_open("display");
	ASSERT_LE(0, display);
	ro = open("/dev/cmabuf-display", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EBADF, reserve(ro, MiB, 1, 1000, 1000));
	EXPECT_TRUE(klog_contains("display: CMABUF_IOC_RESERVE: the file is open read-only"));
	close(ro);

	buf = buf_alloc_rw(display, MiB);
	ASSERT_LE(0, buf);
	EXPECT_EQ(-EINVAL, alloc_from(display, buf, MiB));
	EXPECT_EQ(-EINVAL, alloc_from(display, display, MiB));
	EXPECT_TRUE(klog_contains("display: CMABUF_IOC_ALLOC: reservation_fd is not a reservation of this pool"));
	EXPECT_EQ(-EINVAL, alloc_from(display, -1, MiB));
	EXPECT_TRUE(klog_contains("display: CMABUF_IOC_ALLOC: reservation_fd is negative"));
	EXPECT_EQ(-EBADF, alloc_from(display, 1000, MiB));
	close(buf);

	resv = reserve(display, MiB, 1, 60000, 60000);
	ASSERT_LE(0, resv);
	ASSERT_TRUE(wait_state(resv, CMABUF_RESERVATION_READY, 60000));
	EXPECT_EQ(-EINVAL, alloc_from(display, resv, 2 * MiB));
	EXPECT_TRUE(klog_contains("display: CMABUF_IOC_ALLOC from a reservation: size and align must be the reservation's"));
	/* A reservation fd without the flag, and an unknown ioctl on the fd. */
	plain.reservation_fd = resv;
	EXPECT_EQ(-1, ioctl(display, CMABUF_IOC_ALLOC, &plain));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_TRUE(klog_contains("display: CMABUF_IOC_ALLOC: reservation_fd is set without CMABUF_ALLOC_FROM_RESERVATION"));
	EXPECT_EQ(-1, ioctl(resv, CMABUF_IOC_POOL_INFO, &plain));
	EXPECT_EQ(ENOTTY, errno);
	/* Another pool's reservation. */
	other = reserve(self->pool, MiB, 1, 60000, 60000);
	ASSERT_LE(0, other);
	ASSERT_TRUE(wait_state(other, CMABUF_RESERVATION_READY, 60000));
	EXPECT_EQ(-EINVAL, alloc_from(display, other, MiB));
	close(other);
	close(resv);
	EXPECT_TRUE(wait_used(display, 0, 5000));
	close(display);
}

/*
 * The runs count against the owner's limits as they are evacuated: a reservation past
 * max_process_bytes fails with EDQUOT and gives back what it had.
 */
TEST_F_TIMEOUT(resv, charged_to_the_owner_limits, 120)
{
	struct cmabuf_reservation_status st;
	int resv, buf;

	close(self->pool);
	self->pool = -1;
	ASSERT_EQ(0, module_reload("max_process_bytes=8388608"));
	self->pool = pool_open(POOL);
	ASSERT_LE(0, self->pool);
	buf = buf_alloc_rw(self->pool, 2 * MiB);
	ASSERT_LE(0, buf);
	resv = reserve(self->pool, 2 * MiB, 4, 60000, 60000);
	ASSERT_LE(0, resv);
	EXPECT_EQ(POLLERR, wait_resv(resv, 60000) & (POLLIN | POLLERR));
	ASSERT_EQ(0, status(resv, &st));
	EXPECT_EQ(CMABUF_RESERVATION_FAILED, st.state);
	EXPECT_EQ(EDQUOT, st.error);
	EXPECT_EQ(3, st.evacuated) TH_LOG("2 MiB held, 3 x 2 MiB more fit in 8 MiB");
	EXPECT_EQ(0, st.left);
	EXPECT_TRUE(klog_contains("a pool or process limit, or the cgroup's dmem.max"));
	EXPECT_TRUE(wait_used(self->pool, 2 * MiB, 5000));
	close(resv);
	close(buf);
	close(self->pool);
	self->pool = -1;
	ASSERT_EQ(0, module_reload(""));
	self->pool = pool_open(POOL);
	ASSERT_LE(0, self->pool);
}

#define RESV_CGROUP CGROUP_ROOT "/cmabuf-reservation"

/*
 * dmem: the whole reservation is charged to the caller's cgroup when it is made (the
 * worker that evacuates is not the caller, and the controller charges the current
 * task's cgroup): past dmem.max it is refused at once with EDQUOT; the charge moves to
 * the buffers taken and goes with the runs given back.
 */
TEST_F_TIMEOUT(resv, dmem_charged_to_the_caller_cgroup, 120)
{
	int wstatus;
	pid_t child;

	ASSERT_EQ(0, dmem_cgroup_create(RESV_CGROUP, CAMERA_REGION " 8388608"));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		struct cmabuf_reservation_status st;
		int resv, a;

		if (cgroup_join(RESV_CGROUP, getpid()))
			_exit(10);
		if (reserve(self->pool, 4 * MiB, 3, 60000, 60000) != -EDQUOT)
			_exit(11);
		if (dmem_value(RESV_CGROUP "/dmem.current", CAMERA_REGION) != 0)
			_exit(12);
		resv = reserve(self->pool, 4 * MiB, 2, 60000, 60000);
		if (resv < 0)
			_exit(13);
		if (dmem_value(RESV_CGROUP "/dmem.current", CAMERA_REGION) != 8 * MiB)
			_exit(14);
		if (!(wait_resv(resv, 60000) & POLLIN) || status(resv, &st) || st.left != 2)
			_exit(15);
		a = alloc_from(self->pool, resv, 4 * MiB);
		if (a < 0)
			_exit(16);
		close(resv);
		/* The run not taken went back with its charge; the buffer keeps its own. */
		if (!wait_used(self->pool, 4 * MiB, 5000) ||
		    dmem_value(RESV_CGROUP "/dmem.current", CAMERA_REGION) != 4 * MiB)
			_exit(17);
		close(a);
		_exit(0);
	}
	wstatus = child_exit_code(child);
	EXPECT_EQ(0, wstatus)
		TH_LOG("exit %d: 10 join, 11 not refused past dmem.max, 12 refused but charged, "
		       "13 refused, 14 not charged to the caller's cgroup, 15 not ready, 16 ALLOC "
		       "failed, 17 charges after close", wstatus);
	EXPECT_TRUE(wait_used(self->pool, 0, 5000));
	EXPECT_EQ(0, dmem_value(RESV_CGROUP "/dmem.current", CAMERA_REGION));
	rmdir(RESV_CGROUP);
}

/* The admin guide's example (Documentation/examples/cmabuf_reserve_example.c) works. */
TEST_F_TIMEOUT(resv, admin_guide_example_runs, 120)
{
	EXPECT_EQ(0, system("cmabuf_reserve_example " POOL));
}

TEST_HARNESS_MAIN
