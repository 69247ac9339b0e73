// SPDX-License-Identifier: GPL-2.0
/*
 * Allocating on behalf of a client (CMABUF_IOC_ALLOC with CMABUF_ALLOC_FOR_CLIENT and a
 * pidfd): the buffer is charged to the client's per-process budget, debugfs and the
 * cmabuf_alloc trace event show the client as its owner and the caller as who
 * allocated it, the client's cgroup carries the dmem charge, and it is allowed only to
 * a caller that could signal the client or holds CAP_SYS_RESOURCE. Bad pidfds and
 * clients that have exited are refused with their own errno and a log line. A client
 * killed while the service holds its buffer leaves the buffer whole, and its charge
 * goes when the buffer does.
 */
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "cmabuf_util.h"
#include "dmem_util.h"
#include "trace_util.h"
#include "kselftest_harness.h"

/* cmabuf-spare (dts/test-consumers.dtso): max-process-bytes 6 MiB, max-buffers 2. */
#define SPARE "spare-pool"
#define SPARE_OVERLAYS "dts/test-regions.dtso and dts/test-consumers.dtso"
#define CLIENT_CGROUP CGROUP_ROOT "/cmabuf_client_test"
#define SERVICE_CGROUP CGROUP_ROOT "/cmabuf_service_test"
/* An unprivileged uid for the service or the client. */
#define OTHER_UID 1000
/* linux/pidfd.h; not included, as its linux/fcntl.h clashes with glibc's fcntl.h. */
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

static int pidfd_open(pid_t pid, unsigned int flags)
{
	return syscall(SYS_pidfd_open, pid, flags);
}

/* CMABUF_IOC_ALLOC of size bytes for the client pidfd names; the buffer's fd or -errno. */
static int alloc_for(int pool, int pidfd, uint64_t size, uint32_t *id)
{
	struct cmabuf_alloc req = {
		.size = size, .flags = CMABUF_ALLOC_FOR_CLIENT, .fd_flags = O_RDWR | O_CLOEXEC,
		.client_pidfd = pidfd,
	};

	if (ioctl(pool, CMABUF_IOC_ALLOC, &req) < 0)
		return -errno;
	if (id)
		*id = req.id;
	return req.fd;
}

/*
 * A client: a child that waits for a byte on the pipe it returns in *go (then runs
 * `then` with pool, if given, and exits with what it returns) or to be killed.
 */
static pid_t client_start(int *go, int pool, int (*then)(int pool))
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(0);
		_exit(then ? then(pool) : 0);
	}
	close(p[0]);
	*go = p[1];
	return pid;
}

/* Lets the client go on and returns its exit status (-1 if it did not exit). */
static int client_finish(pid_t pid, int go)
{
	int status;

	if (write(go, "x", 1) != 1)
		return -1;
	close(go);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* The line of buffer id in the pool's debugfs buffers, in line; false if none. */
static bool buffer_line(const char *pool, uint32_t id, char *line, size_t len)
{
	static char text[65536];
	char path[128], *p;

	snprintf(path, sizeof(path), CMABUF_DEBUGFS "/%s/buffers", pool);
	if (read_text(path, text, sizeof(text)) < 0)
		return false;
	for (p = strchr(text, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
		if (strtoll(p + 1, NULL, 10) == id) {
			size_t n = strcspn(p + 1, "\n");

			snprintf(line, len, "%.*s", (int)n, p + 1);
			return true;
		}
	}
	return false;
}

/*
 * Lets a pool's rate limit on log lines (10 per 5 s, rust/ffi/ratelimit.rs) fill up
 * again before a test looks for its lines: the tests before may have spent it (on the
 * built-in kernel nothing reloads cmabuf between binaries: alloc_test's refusals come
 * just before).
 */
static void fresh_ratelimit(void)
{
	sleep(6);
}

/* The client's own attempt at 4 MiB: 0 if its budget refused it, 1 if granted. */
static int own_four_mib(int pool)
{
	int buf = buf_alloc_rw(pool, 4 * MiB);

	return buf == -EDQUOT ? 0 : buf >= 0 ? 1 : 2;
}

/*
 * The client's budget pays: 4 MiB for it leaves it 2 of its 6 MiB, so 4 MiB more (for it,
 * or by itself) are refused while the service still gets 4 MiB of its own. debugfs and
 * the trace event name the client as owner and the service as who allocated it.
 */
TEST(charges_the_client)
{
	char line[512], want[64], *trace;
	uint32_t for_id = 0, own_id = 0;
	int pool, pidfd, go, a, b, own;
	const char *event;
	pid_t client;

	SKIP_WITHOUT_POOL(SPARE, SPARE_OVERLAYS);
	pool = pool_open(SPARE);
	ASSERT_LE(0, pool);
	ASSERT_EQ(0, tracefs_ready());
	ASSERT_EQ(0, trace_reset(true));
	client = client_start(&go, pool, own_four_mib);
	ASSERT_LT(0, client);
	pidfd = pidfd_open(client, 0);
	ASSERT_LE(0, pidfd);

	a = alloc_for(pool, pidfd, 4 * MiB, &for_id);
	ASSERT_LE(0, a) TH_LOG("4 MiB for the client: %s", strerror(-a));
	b = alloc_for(pool, pidfd, 4 * MiB, NULL);
	EXPECT_EQ(-EDQUOT, b) TH_LOG("8 MiB charged to the client passed its 6 MiB limit");
	snprintf(want, sizeof(want), SPARE ": pid %d: buffer of 4194304", client);
	EXPECT_TRUE(klog_contains(want)) TH_LOG("no refusal naming the client: %s", want);
	EXPECT_EQ(0, client_finish(client, go)) TH_LOG("the client's own 4 MiB: 1 granted, 2 error");
	own = alloc_for(pool, pidfd, 4 * MiB, NULL);
	EXPECT_EQ(-ESRCH, own) TH_LOG("allocated for a reaped client");
	own = buf_alloc(pool, 4 * MiB, 0, 0, O_RDWR);
	ASSERT_LE(0, own) TH_LOG("the service's own 4 MiB: %s", strerror(-own));
	EXPECT_EQ(8 * MiB, pool_used(pool));

	/* debugfs: owner the client (reaped by now), allocated by us; ours by ourselves. */
	ASSERT_TRUE(buffer_line(SPARE, for_id, line, sizeof(line)));
	snprintf(want, sizeof(want), " %d  client_test ", client);
	EXPECT_NE(NULL, strstr(line, want)) TH_LOG("owner not the client: %s", line);
	snprintf(want, sizeof(want), " live      exited %5d  ", getpid());
	EXPECT_NE(NULL, strstr(line, want)) TH_LOG("'%s' not in: %s", want, line);
	trace = trace_read();
	ASSERT_NE(NULL, trace);
	event = event_of(trace, "cmabuf_alloc", for_id);
	ASSERT_NE(NULL, event) TH_LOG("no cmabuf_alloc event of buffer %u", for_id);
	EXPECT_EQ(client, field(event, "tgid"));
	EXPECT_EQ(getpid(), field(event, "by"));
	free(trace);
	{
		struct cmabuf_alloc req = { .size = 4096, .fd_flags = O_RDWR };

		close(own);
		ASSERT_EQ(0, ioctl(pool, CMABUF_IOC_ALLOC, &req));
		own = req.fd;
		own_id = req.id;
	}
	ASSERT_TRUE(buffer_line(SPARE, own_id, line, sizeof(line)));
	snprintf(want, sizeof(want), " %d  client_test ", getpid());
	EXPECT_NE(NULL, strstr(line, want)) TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, " live      alive      -  ")) TH_LOG("%s", line);

	close(own);
	close(a);
	close(pidfd);
	EXPECT_TRUE(wait_used(pool, 0, 2000));
	EXPECT_EQ(0, trace_reset(false));
	close(pool);
}

/* A pidfd of a thread (PIDFD_THREAD) names its process: ours, here. */
struct idler {
	int stop;
	pid_t tid;
};

static void *idle(void *arg)
{
	struct idler *me = arg;

	__atomic_store_n(&me->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	while (!__atomic_load_n(&me->stop, __ATOMIC_ACQUIRE))
		usleep(1000);
	return NULL;
}

TEST(thread_pidfd_charges_its_process)
{
	struct idler idler = { 0 };
	int pool, pidfd, buf, i;
	uint32_t id = 0;
	char line[512], want[64];
	pthread_t t;
	pid_t tid = 0;

	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	ASSERT_EQ(0, pthread_create(&t, NULL, idle, &idler));
	for (i = 0; i < 1000 && !tid; i++) {
		tid = __atomic_load_n(&idler.tid, __ATOMIC_ACQUIRE);
		usleep(1000);
	}
	ASSERT_LT(0, tid);
	ASSERT_NE(getpid(), tid);
	pidfd = pidfd_open(tid, PIDFD_THREAD);
	ASSERT_LE(0, pidfd) TH_LOG("pidfd_open(%d, PIDFD_THREAD): %s", tid, strerror(errno));
	buf = alloc_for(pool, pidfd, MiB, &id);
	ASSERT_LE(0, buf) TH_LOG("%s", strerror(-buf));
	ASSERT_TRUE(buffer_line("camera", id, line, sizeof(line)));
	snprintf(want, sizeof(want), " %d  client_test ", getpid());
	EXPECT_NE(NULL, strstr(line, want)) TH_LOG("not charged to the thread's process: %s", line);
	EXPECT_NE(NULL, strstr(line, " live      alive      -  ")) TH_LOG("%s", line);
	__atomic_store_n(&idler.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	close(buf);
	close(pidfd);
	EXPECT_TRUE(wait_used(pool, 0, 1000));
	close(pool);
}

/* fd 0 is a pidfd like any other: the flag, not a non-zero value, says it is given. */
TEST(pidfd_zero_is_valid)
{
	int pool, pidfd, saved, buf, go;
	char line[512], want[64];
	uint32_t id = 0;
	pid_t client;

	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	client = client_start(&go, -1, NULL);
	ASSERT_LT(0, client);
	pidfd = pidfd_open(client, 0);
	ASSERT_LE(0, pidfd);
	saved = dup(0);
	ASSERT_LE(0, saved);
	ASSERT_EQ(0, dup2(pidfd, 0));
	buf = alloc_for(pool, 0, 4096, &id);
	ASSERT_EQ(0, dup2(saved, 0));
	close(saved);
	ASSERT_LE(0, buf) TH_LOG("client_pidfd 0: %s", strerror(-buf));
	ASSERT_TRUE(buffer_line("camera", id, line, sizeof(line)));
	snprintf(want, sizeof(want), " %d  client_test ", client);
	EXPECT_NE(NULL, strstr(line, want)) TH_LOG("not charged to the client at fd 0: %s", line);
	close(buf);
	close(pidfd);
	EXPECT_EQ(0, client_finish(client, go));
	EXPECT_TRUE(wait_used(pool, 0, 1000));
	close(pool);
}

/* Not a pidfd: EBADF, each with a line saying what client_pidfd is. */
TEST(bad_pidfds)
{
	int pool, regular, closed;

	fresh_ratelimit();
	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	regular = open("/proc/self/stat", O_RDONLY);
	ASSERT_LE(0, regular);
	EXPECT_EQ(-EBADF, alloc_for(pool, regular, 4096, NULL));
	EXPECT_TRUE(klog_contains("CMABUF_IOC_ALLOC: client_pidfd ") &&
		    klog_contains(" is not a pidfd: pass one from pidfd_open(2)"));
	/* The pool's own fd is no pidfd either. */
	EXPECT_EQ(-EBADF, alloc_for(pool, pool, 4096, NULL));
	EXPECT_EQ(-EBADF, alloc_for(pool, -1, 4096, NULL));
	EXPECT_TRUE(klog_contains("CMABUF_IOC_ALLOC: client_pidfd -1 is not an open file"));
	closed = dup(regular);
	ASSERT_LE(0, closed);
	close(closed);
	EXPECT_EQ(-EBADF, alloc_for(pool, closed, 4096, NULL));
	close(regular);
	EXPECT_EQ(0, pool_used(pool));
	close(pool);
}

/* A client that has exited is refused (ESRCH): a zombie, and once reaped. */
TEST(exited_client)
{
	int pool, pidfd, status;
	siginfo_t info;
	pid_t pid;

	fresh_ratelimit();
	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(0);
	pidfd = pidfd_open(pid, 0);
	ASSERT_LE(0, pidfd);
	/* Exited, not reaped: a zombie. */
	ASSERT_EQ(0, waitid(P_PID, pid, &info, WEXITED | WNOWAIT));
	EXPECT_EQ(-ESRCH, alloc_for(pool, pidfd, 4096, NULL)) TH_LOG("allocated for a zombie");
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(-ESRCH, alloc_for(pool, pidfd, 4096, NULL)) TH_LOG("allocated for the reaped");
	EXPECT_TRUE(klog_contains(" names a process that has exited"));
	EXPECT_EQ(0, pool_used(pool));
	close(pidfd);
	close(pool);
}

/* Drops CAP_SYS_RESOURCE from the effective set; 0 or -1. */
static int drop_sys_resource(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[CAP_TO_INDEX(CAP_SYS_RESOURCE)].effective &= ~CAP_TO_MASK(CAP_SYS_RESOURCE);
	return syscall(SYS_capset, &hdr, data) ? -1 : 0;
}

/* A client that changes to OTHER_UID and waits. */
static pid_t other_uid_client(int *go)
{
	int p[2], q[2];
	pid_t pid;
	char c;

	if (pipe(p) || pipe(q))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		close(q[0]);
		if (setgroups(0, NULL) || setgid(OTHER_UID) || setuid(OTHER_UID))
			_exit(10);
		if (write(q[1], "r", 1) != 1 || read(p[0], &c, 1) < 0)
			_exit(11);
		_exit(0);
	}
	close(p[0]);
	close(q[1]);
	/* Until it has changed its uid. */
	if (read(q[0], &c, 1) != 1)
		pid = -1;
	close(q[0]);
	*go = p[1];
	return pid;
}

/*
 * Allowed when the caller could signal the client (same uid) or holds
 * CAP_SYS_RESOURCE: a service that became OTHER_UID gets EPERM for a root client and
 * may allocate for an OTHER_UID client; root with CAP_SYS_RESOURCE may allocate for the
 * OTHER_UID client, and without it may not.
 */
TEST(only_a_caller_that_could_signal_the_client)
{
	int pool, root_go, other_go, root_pidfd, other_pidfd, buf, status;
	pid_t root_client, other_client, service;

	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	root_client = client_start(&root_go, -1, NULL);
	ASSERT_LT(0, root_client);
	other_client = other_uid_client(&other_go);
	ASSERT_LT(0, other_client);
	root_pidfd = pidfd_open(root_client, 0);
	other_pidfd = pidfd_open(other_client, 0);
	ASSERT_LE(0, root_pidfd);
	ASSERT_LE(0, other_pidfd);

	fresh_ratelimit();
	/* Root, with CAP_SYS_RESOURCE: its uid is not the client's, the capability lets it. */
	buf = alloc_for(pool, other_pidfd, 4096, NULL);
	EXPECT_LE(0, buf) TH_LOG("root with CAP_SYS_RESOURCE refused: %s", strerror(-buf));
	if (buf >= 0)
		close(buf);

	service = fork();
	ASSERT_LE(0, service);
	if (service == 0) {
		int code = 0;

		/* Root without CAP_SYS_RESOURCE: refused for the other uid, fine for root. */
		if (drop_sys_resource())
			_exit(20);
		buf = alloc_for(pool, other_pidfd, 4096, NULL);
		code |= buf == -EPERM ? 0 : 1;
		buf = alloc_for(pool, root_pidfd, 4096, NULL);
		code |= buf >= 0 ? 0 : 2;
		/* The service becomes OTHER_UID (losing every capability). */
		if (setgroups(0, NULL) || setgid(OTHER_UID) || setuid(OTHER_UID))
			_exit(21);
		buf = alloc_for(pool, root_pidfd, 4096, NULL);
		code |= buf == -EPERM ? 0 : 4;
		buf = alloc_for(pool, other_pidfd, 4096, NULL);
		code |= buf >= 0 ? 0 : 8;
		_exit(code);
	}
	ASSERT_EQ(service, waitpid(service, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("1: no EPERM for another uid without CAP_SYS_RESOURCE; 2: refused its "
		       "own uid; 4: OTHER_UID allowed for root; 8: OTHER_UID refused its own uid; "
		       "20/21: could not drop privileges");
	EXPECT_TRUE(klog_contains("run the service as the client's user or give it CAP_SYS_RESOURCE"));
	EXPECT_EQ(0, client_finish(root_client, root_go));
	EXPECT_EQ(0, client_finish(other_client, other_go));
	close(root_pidfd);
	close(other_pidfd);
	EXPECT_TRUE(wait_used(pool, 0, 1000));
	close(pool);
}

/*
 * The client is killed while the service holds its buffer: the buffer stays whole and
 * mappable, debugfs shows its owner exited, and its charge goes with the buffer.
 */
TEST(client_killed_while_service_holds_buffer)
{
	int pool, pidfd, go, buf, status;
	uint32_t id = 0, *p;
	char line[512];
	pid_t client;

	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	client = client_start(&go, -1, NULL);
	ASSERT_LT(0, client);
	pidfd = pidfd_open(client, 0);
	ASSERT_LE(0, pidfd);
	buf = alloc_for(pool, pidfd, 2 * MiB, &id);
	ASSERT_LE(0, buf) TH_LOG("%s", strerror(-buf));
	p = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 0xc11e47;
	p[2 * MiB / 4 - 1] = 0xdead;
	munmap(p, 2 * MiB);

	ASSERT_EQ(0, kill(client, SIGKILL));
	ASSERT_EQ(client, waitpid(client, &status, 0));
	close(go);
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(2 * (long long)MiB, pool_used(pool)) TH_LOG("the charge left with the client");
	ASSERT_TRUE(buffer_line("camera", id, line, sizeof(line)));
	EXPECT_NE(NULL, strstr(line, " live      exited ")) TH_LOG("%s", line);
	p = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0xc11e47, p[0]);
	EXPECT_EQ(0xdead, p[2 * MiB / 4 - 1]);
	munmap(p, 2 * MiB);
	/* No more for the dead client. */
	EXPECT_EQ(-ESRCH, alloc_for(pool, pidfd, 4096, NULL));
	close(pidfd);
	close(buf);
	EXPECT_TRUE(wait_used(pool, 0, 1000)) TH_LOG("the dead client's charge stayed");
	EXPECT_FALSE(buffer_line("camera", id, line, sizeof(line)));
	EXPECT_EQ(0, info_value("camera", "buffers"));
	close(pool);
}

/*
 * The dmem tests' two processes in cgroups of their own: a client (client_start) in
 * CLIENT_CGROUP, limited to client_max unless NULL, its pidfd in *pidfd, and an empty
 * SERVICE_CGROUP for the service. The client's pid, or -1.
 */
static pid_t client_in_its_cgroup(const char *client_max, int *go, int *pidfd)
{
	pid_t client;

	if (dmem_cgroup_create(CLIENT_CGROUP, client_max) ||
	    dmem_cgroup_create(SERVICE_CGROUP, NULL))
		return -1;
	client = client_start(go, -1, NULL);
	if (client < 0)
		return -1;
	*pidfd = pidfd_open(client, 0);
	if (*pidfd < 0 || cgroup_join(CLIENT_CGROUP, client)) {
		kill(client, SIGKILL);
		waitpid(client, NULL, 0);
		return -1;
	}
	return client;
}

/*
 * Forks the service into SERVICE_CGROUP: 0 in the service (which exits 10 if it could
 * not join), its pid in the caller.
 */
static pid_t service_fork(void)
{
	pid_t service = fork();

	if (service == 0 && cgroup_join(SERVICE_CGROUP, getpid()))
		_exit(10);
	return service;
}

/*
 * dmem: the client's cgroup carries its buffer's charge, not the service's, and gives it
 * back when the buffer goes, even after the client is gone; the client's dmem.max
 * refuses (EDQUOT) what the service's would allow. The charge is made by a kernel thread
 * moved into the client's cgroup (shim.c): none stays there afterwards, so the client's
 * cgroup can be removed once empty.
 */
TEST(dmem_charge_goes_to_the_client)
{
	struct pollfd exited = { .events = POLLIN };
	int pool, pidfd, go, status, buf;
	pid_t client, service;

	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	client = client_in_its_cgroup(NULL, &go, &pidfd);
	ASSERT_LT(0, client);
	service = service_fork();
	ASSERT_LE(0, service);
	if (service == 0) {
		buf = alloc_for(pool, pidfd, 2 * MiB, NULL);
		if (buf < 0)
			_exit(11);
		if (dmem_value(CLIENT_CGROUP "/dmem.current", CAMERA_REGION) != 2 * MiB)
			_exit(12);
		if (dmem_value(SERVICE_CGROUP "/dmem.current", CAMERA_REGION) != 0)
			_exit(13);
		/*
		 * The client goes (its pidfd polls readable once it has exited); the service
		 * still holds the buffer, still charged to the client's cgroup.
		 */
		exited.fd = pidfd;
		kill(client, SIGKILL);
		if (poll(&exited, 1, 5000) != 1)
			_exit(14);
		if (dmem_value(CLIENT_CGROUP "/dmem.current", CAMERA_REGION) != 2 * MiB)
			_exit(15);
		close(buf);
		_exit(0);
	}
	status = child_exit_code(service);
	EXPECT_EQ(0, status)
		TH_LOG("exit %d: 10 could not join the cgroup; 11 allocation failed; 12 the "
		       "client's cgroup does not carry 2 MiB; 13 the service's carries some; 14 "
		       "the client did not exit; 15 the charge left with the client", status);
	close(go);
	close(pidfd);
	EXPECT_EQ(client, waitpid(client, &status, 0));
	EXPECT_TRUE(wait_used(pool, 0, 1000));
	EXPECT_EQ(0, dmem_value(CLIENT_CGROUP "/dmem.current", CAMERA_REGION));
	EXPECT_EQ(0, dmem_value(SERVICE_CGROUP "/dmem.current", CAMERA_REGION));
	EXPECT_EQ(0, rmdir(CLIENT_CGROUP)) TH_LOG("the client's cgroup stays busy: %s",
						  strerror(errno));
	EXPECT_EQ(0, rmdir(SERVICE_CGROUP));
	close(pool);
}

TEST(client_dmem_max_refuses)
{
	char max[128];
	int pool, pidfd, go, status;
	pid_t client, service;

	/* A fresh binding: the pool's log lines are rate limited (10 per 5 s). */
	ASSERT_EQ(0, write_text(CMABUF_DRIVER_DIR "/unbind", "cmabuf-camera"));
	ASSERT_EQ(0, write_text(CMABUF_DRIVER_DIR "/bind", "cmabuf-camera"));
	ASSERT_TRUE(wait_path("/dev/cmabuf-camera", true, 2000));
	pool = pool_open("camera");
	ASSERT_LE(0, pool);
	snprintf(max, sizeof(max), "%s %llu", CAMERA_REGION, (unsigned long long)MiB);
	client = client_in_its_cgroup(max, &go, &pidfd);
	ASSERT_LT(0, client);
	service = service_fork();
	ASSERT_LE(0, service);
	if (service == 0) {
		int buf;

		if (alloc_for(pool, pidfd, 2 * MiB, NULL) != -EDQUOT)
			_exit(11);
		/* The service's own cgroup has no limit. */
		buf = buf_alloc_rw(pool, 2 * MiB);
		if (buf < 0)
			_exit(12);
		close(buf);
		/* Within the client's limit. */
		buf = alloc_for(pool, pidfd, MiB, NULL);
		if (buf < 0)
			_exit(13);
		if (dmem_value(CLIENT_CGROUP "/dmem.current", CAMERA_REGION) != MiB)
			_exit(14);
		close(buf);
		_exit(0);
	}
	status = child_exit_code(service);
	EXPECT_EQ(0, status)
		TH_LOG("exit %d: 10 could not join the cgroup; 11 2 MiB for the client not "
		       "refused with EDQUOT; 12 the service's own 2 MiB refused; 13 1 MiB for the "
		       "client refused; 14 the client's cgroup does not carry it", status);
	snprintf(max, sizeof(max), "camera: pid %d: dmem.max of its cgroup reached", client);
	EXPECT_TRUE(klog_contains(max)) TH_LOG("no log line naming the client: %s", max);
	EXPECT_EQ(0, client_finish(client, go));
	close(pidfd);
	EXPECT_TRUE(wait_used(pool, 0, 1000));
	EXPECT_EQ(0, dmem_value(CLIENT_CGROUP "/dmem.current", CAMERA_REGION));
	EXPECT_EQ(0, rmdir(CLIENT_CGROUP));
	EXPECT_EQ(0, rmdir(SERVICE_CGROUP));
	close(pool);
}

TEST_HARNESS_MAIN
