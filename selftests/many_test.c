// SPDX-License-Identifier: GPL-2.0
/*
 * Many processes, many buffers (issue 17): 64 processes reaching their per-process
 * limits at the same moment, a kill storm among them, 10 000 live one-page buffers
 * mixed with frames in the camera pool, and eight processes racing for one run. After each phase the pool's books (POOL_INFO,
 * sysfs, the lines of debugfs buffers, the dmem cgroup's charge) must equal what the
 * processes hold, and return to zero when they let go.
 *
 * The processes live in a cgroup of their own (TEST_CGROUP), whose dmem.current for the
 * camera pool's region is what they are charged. They meet at a process-shared barrier
 * in shared memory (never in the kill storm, where a killed process would never come).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "cmabuf_util.h"
#include "dmem_util.h"
#include "kselftest_harness.h"

#define POOL "camera"
#define POOL_SYSFS "/sys/class/misc/cmabuf-" POOL
#define TEST_CGROUP CGROUP_ROOT "/cmabuf_many"
#define PROCS 64
/* A 1080p NV12 frame: 1920 x 1080 luma and half as much chroma. */
#define FRAME_SIZE (1920ULL * 1080 * 3 / 2)
#define PAGE 4096ULL
#define PAGE_UP(n) (((n) + PAGE - 1) & ~(PAGE - 1))
#define SEED 17

/* What one process reports in shared memory. */
struct proc_report {
	int got;		/* buffers it got before the first refusal */
	int refusal;		/* -errno of that refusal, 0 if none */
	int buffers;		/* buffers it holds now */
	long long bytes;	/* bytes in them (page-rounded) */
	int frames_refused;	/* frames refused with ENOMEM (fragmentation) */
	int unexpected;		/* -errno of anything else that went wrong, 0 if none */
	atomic_int state;	/* kill storm: what it is doing (enum storm_state) */
	atomic_int done;	/* kill storm: it let go of everything after stop; race: answered */
	int successes, edquot, enomem, ebusy;	/* kill storm tallies */
};

struct shared {
	pthread_barrier_t barrier;
	atomic_int started;
	atomic_int stop;
	struct proc_report proc[PROCS];
};

/* What every test here sets up: shared memory, the children's pids, the cgroup. */
struct crowd {
	struct shared *sh;
	pid_t pids[PROCS];
	int pool;
};

/* Kills and reaps whatever children a failed test left. */
static void reap_all(pid_t *pids)
{
	int i;

	for (i = 0; i < PROCS; i++)
		if (pids[i] > 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
			pids[i] = 0;
		}
}

/*
 * fork(), with the child killed should this process die: a test the harness ends on
 * its timeout leaves no children behind, holding buffers in the cgroup.
 */
static pid_t fork_child(void)
{
	pid_t pid = fork();

	if (pid == 0 && prctl(PR_SET_PDEATHSIG, SIGKILL))
		_exit(2);
	return pid;
}

/* Kills whatever a previous run left in TEST_CGROUP, and removes it; 0 or -1. */
static int cgroup_clear(void)
{
	uint64_t end = now_ms() + 5000;

	if (!path_exists(TEST_CGROUP))
		return 0;
	write_text(TEST_CGROUP "/cgroup.kill", "1");
	while (rmdir(TEST_CGROUP) && now_ms() < end)
		usleep(10000);
	return path_exists(TEST_CGROUP) ? -1 : 0;
}

static void crowd_setup(struct __test_metadata *_metadata, struct crowd *c)
{
	pthread_barrierattr_t attr;

	c->pool = -1;
	memset(c->pids, 0, sizeof(c->pids));
	c->sh = mmap(NULL, sizeof(*c->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	ASSERT_NE(MAP_FAILED, c->sh);
	ASSERT_EQ(0, pthread_barrierattr_init(&attr));
	ASSERT_EQ(0, pthread_barrierattr_setpshared(&attr, PTHREAD_PROCESS_SHARED));
	/* The children and this process. */
	ASSERT_EQ(0, pthread_barrier_init(&c->sh->barrier, &attr, PROCS + 1));
	ASSERT_EQ(0, cgroup_clear());
	ASSERT_EQ(0, dmem_cgroup_create(TEST_CGROUP, NULL));
	ASSERT_EQ(0, cgroup_join(TEST_CGROUP, getpid()));
}

static void crowd_teardown(struct crowd *c)
{
	reap_all(c->pids);
	if (c->pool >= 0)
		close(c->pool);
	cgroup_join(CGROUP_ROOT, getpid());
	rmdir(TEST_CGROUP);
	if (c->sh != MAP_FAILED)
		munmap(c->sh, sizeof(*c->sh));
	module_reload("");
}

static long long sysfs_value(const char *file)
{
	char path[128], text[64];

	snprintf(path, sizeof(path), POOL_SYSFS "/%s", file);
	return read_text(path, text, sizeof(text)) > 0 ? strtoll(text, NULL, 10) : -1;
}

/* Lines in debugfs buffers after its header (one a live or stranded buffer), or -1. */
static long long debugfs_buffer_lines(uint64_t *elapsed_ms)
{
	const size_t len = 16 * MiB;
	uint64_t start = now_ms();
	char *text = malloc(len);
	long long lines = -1;
	ssize_t n;

	if (!text)
		return -1;
	n = read_text(CMABUF_DEBUGFS "/" POOL "/buffers", text, len);
	*elapsed_ms = now_ms() - start;
	if (n > 0 && (size_t)n < len - 1) {
		lines = -1;	/* the header */
		for (ssize_t i = 0; i < n; i++)
			lines += text[i] == '\n';
	}
	free(text);
	return lines;
}

static long long dmem_charged(void)
{
	return dmem_value(TEST_CGROUP "/dmem.current", CAMERA_REGION);
}

/*
 * The pool's books against what the children hold (bytes in buffers): POOL_INFO,
 * sysfs, debugfs (buffers, its lines, nothing stranded) and the cgroup's dmem charge.
 */
static void check_books(struct __test_metadata *_metadata, int pool, long long bytes,
			long long buffers, const char *phase)
{
	struct cmabuf_pool_info info;
	uint64_t ms = 0;

	/* A freed buffer's pages go back when its last reference goes; give it time. */
	EXPECT_TRUE(wait_used(pool, bytes, 5000))
		TH_LOG("%s: used %lld, the processes hold %lld", phase, pool_used(pool), bytes);
	ASSERT_EQ(0, pool_info(pool, &info));
	EXPECT_EQ(bytes, info.used) TH_LOG("%s: POOL_INFO used", phase);
	EXPECT_EQ(buffers, info.buffers) TH_LOG("%s: POOL_INFO buffers", phase);
	EXPECT_EQ(bytes, sysfs_value("used")) TH_LOG("%s: sysfs used", phase);
	EXPECT_EQ(buffers, sysfs_value("buffers")) TH_LOG("%s: sysfs buffers", phase);
	EXPECT_EQ(buffers, debugfs_buffer_lines(&ms)) TH_LOG("%s: debugfs buffers lines", phase);
	TH_LOG("%s: %lld buffers, %lld bytes; reading debugfs buffers took %llu ms", phase,
	       buffers, bytes, (unsigned long long)ms);
	EXPECT_EQ(0, info_value(POOL, "stranded_buffers")) TH_LOG("%s", phase);
	EXPECT_EQ(bytes, dmem_charged()) TH_LOG("%s: dmem.current of the processes' cgroup",
						 phase);
}

/* The sums of what the children report holding. */
static void held(struct shared *sh, long long *bytes, long long *buffers)
{
	int i;

	*bytes = *buffers = 0;
	for (i = 0; i < PROCS; i++) {
		*bytes += sh->proc[i].bytes;
		*buffers += sh->proc[i].buffers;
	}
}

static void barrier(struct shared *sh)
{
	pthread_barrier_wait(&sh->barrier);
}

/* Reaps every child: each must have exited with 0. */
static void reap_ok(struct __test_metadata *_metadata, pid_t *pids)
{
	int i, status;

	for (i = 0; i < PROCS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
			TH_LOG("process %d: status %#x", i, status);
		pids[i] = 0;
	}
}

/* ------------------------------------------------------------------------------------ */
/* 1. Per-process limits reached together. */

FIXTURE(limits)
{
	struct crowd c;
};

FIXTURE_SETUP(limits)
{
	crowd_setup(_metadata, &self->c);
}

FIXTURE_TEARDOWN(limits)
{
	crowd_teardown(&self->c);
}

FIXTURE_VARIANT(limits)
{
	const char *params;	/* the module's limit */
	uint64_t size;		/* of each buffer */
	int limit;		/* buffers one process gets */
};

FIXTURE_VARIANT_ADD(limits, process_bytes)
{
	.params = "max_process_bytes=524288", .size = 64 * KiB, .limit = 8,
};

FIXTURE_VARIANT_ADD(limits, process_buffers)
{
	.params = "max_process_buffers=6", .size = 12 * KiB, .limit = 6,
};

/* Child of limits.reached_together: allocates until refused, holds, lets go. */
static void limit_child(struct shared *sh, int idx, int pool, uint64_t size)
{
	struct proc_report *me = &sh->proc[idx];
	int fds[64], n = 0, fd;

	barrier(sh);	/* all start together */
	while (n < (int)(sizeof(fds) / sizeof(fds[0]))) {
		fd = buf_alloc_rw(pool, size);
		if (fd < 0) {
			me->refusal = fd;
			break;
		}
		fds[n++] = fd;
	}
	me->got = n;
	me->buffers = n;
	me->bytes = n * PAGE_UP(size);
	barrier(sh);	/* all hold their limit's worth */
	barrier(sh);	/* the parent has checked */
	while (n)
		close(fds[--n]);
	me->buffers = 0;
	me->bytes = 0;
	barrier(sh);	/* all let go */
	_exit(0);
}

/*
 * cmabuf reloaded with params once the tests before have let go of it: right after
 * autoload_test the module may still be held a moment (or be loading), so unloading
 * is retried for a few seconds instead of failing at once.
 */
static int reload_settled(const char *params)
{
	uint64_t end = now_ms() + 10000;

	while (module_loaded() && module_unload() && now_ms() < end)
		usleep(20000);
	if (module_loaded() || load_module_file(CMABUF_MODULE_PATH, params))
		return -1;
	return wait_path("/dev/cmabuf-" POOL, true, 5000) ? 0 : -1;
}

TEST_F_TIMEOUT(limits, reached_together, 600)
{
	struct crowd *c = &self->c;
	long long limit_failures, all_failures, edquot, bytes, buffers;
	int i;

	ASSERT_EQ(0, reload_settled(variant->params)) TH_LOG("cmabuf did not reload: %s",
							    strerror(errno));
	c->pool = pool_open(POOL);
	ASSERT_LE(0, c->pool);
	limit_failures = sysfs_value("failures/limit");
	all_failures = sysfs_value("alloc_failures");
	edquot = info_value(POOL, "failures_edquot_limit");
	for (i = 0; i < PROCS; i++) {
		c->pids[i] = fork_child();
		ASSERT_LE(0, c->pids[i]);
		if (c->pids[i] == 0)
			limit_child(c->sh, i, c->pool, variant->size);
	}
	barrier(c->sh);	/* start */
	barrier(c->sh);	/* all at their limit */
	for (i = 0; i < PROCS; i++) {
		EXPECT_EQ(variant->limit, c->sh->proc[i].got) TH_LOG("process %d", i);
		EXPECT_EQ(-EDQUOT, c->sh->proc[i].refusal) TH_LOG("process %d", i);
	}
	held(c->sh, &bytes, &buffers);
	EXPECT_EQ((long long)PROCS * variant->limit, buffers);
	check_books(_metadata, c->pool, bytes, buffers, "all at their limit");
	/* One refusal a process, each counted once, as a limit. */
	EXPECT_EQ(limit_failures + PROCS, sysfs_value("failures/limit"));
	EXPECT_EQ(all_failures + PROCS, sysfs_value("alloc_failures"));
	EXPECT_EQ(edquot + PROCS, info_value(POOL, "failures_edquot_limit"));
	barrier(c->sh);	/* checked: let go */
	barrier(c->sh);	/* all let go */
	reap_ok(_metadata, c->pids);
	check_books(_metadata, c->pool, 0, 0, "all let go");
}

FIXTURE(many)
{
	struct crowd c;
};

FIXTURE_SETUP(many)
{
	crowd_setup(_metadata, &self->c);
}

FIXTURE_TEARDOWN(many)
{
	crowd_teardown(&self->c);
}

/* ------------------------------------------------------------------------------------ */
/* 2. A kill storm. */

/* Each process's budget in the storm: 64 of them want four times the pool. */
#define STORM_LIMIT (4 * MiB)
#define STORM_PARAMS "max_process_bytes=4194304"
/* Processes that run 16 threads each, and which processes survive. */
#define THREADED 4
#define THREADS 16
#define SURVIVES(i) ((i) % 4 == 1)
/* Buffers one thread keeps at a time. */
#define HOLD 4

enum storm_state { STORM_IDLE, STORM_ALLOCATING, STORM_HOLDING, STORM_MAPPING, STORM_STATES };

struct storm_worker {
	struct proc_report *me;
	struct shared *sh;
	pthread_mutex_t *lock;	/* the process's tallies, shared by its threads */
	int pool;
	unsigned int seed;
	bool reports_state;
};

/* Allocates, maps, writes and checks, frees, until told to stop; lets go of all. */
static void *storm_work(void *arg)
{
	static const uint64_t sizes[] = { PAGE, 64 * KiB, MiB, FRAME_SIZE };
	struct storm_worker *w = arg;
	int fds[HOLD], n = 0, fd, ok = 0, edquot = 0, enomem = 0, ebusy = 0, unexpected = 0;

	while (!atomic_load(&w->sh->stop)) {
		uint64_t size = sizes[rand_r(&w->seed) % 4];

		if (w->reports_state)
			atomic_store(&w->me->state, STORM_ALLOCATING);
		fd = buf_alloc_rw(w->pool, size);
		/*
		 * Together they want four times the pool: refusals for the limit and for
		 * room are expected, and EBUSY (pages in the way that could not be migrated
		 * after the allocator's retries: the storm's own memory lands in the pool).
		 */
		if (fd == -EDQUOT || fd == -ENOMEM || fd == -EBUSY) {
			edquot += fd == -EDQUOT;
			enomem += fd == -ENOMEM;
			ebusy += fd == -EBUSY;
			if (n)
				close(fds[--n]);
			continue;
		}
		if (fd < 0) {
			unexpected = fd;
			continue;
		}
		ok++;
		if (n == HOLD) {
			close(fds[0]);
			memmove(fds, fds + 1, sizeof(fds[0]) * (HOLD - 1));
			n--;
		}
		fds[n++] = fd;
		if (w->reports_state)
			atomic_store(&w->me->state, STORM_HOLDING);
		if (rand_r(&w->seed) % 2) {
			unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

			if (p == MAP_FAILED) {
				unexpected = -errno;
				continue;
			}
			if (w->reports_state)
				atomic_store(&w->me->state, STORM_MAPPING);
			memset(p, 0xa5, size);
			if (p[0] != 0xa5 || p[size - 1] != 0xa5)
				unexpected = -EIO;
			munmap(p, size);
			if (w->reports_state)
				atomic_store(&w->me->state, STORM_HOLDING);
		} else {
			usleep(rand_r(&w->seed) % 2000);
		}
	}
	while (n)
		close(fds[--n]);
	pthread_mutex_lock(w->lock);
	w->me->successes += ok;
	w->me->edquot += edquot;
	w->me->enomem += enomem;
	w->me->ebusy += ebusy;
	if (unexpected)
		w->me->unexpected = unexpected;
	pthread_mutex_unlock(w->lock);
	return NULL;
}

/*
 * Child of many.kill_storm: works (in THREADS threads if threaded) until stopped or killed;
 * a survivor then waits for its turn (a byte on go) and takes exactly its budget again,
 * which it can only if its count went back to zero.
 */
static void storm_child(struct shared *sh, int idx, int pool, bool threaded, int go)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct storm_worker workers[THREADS];
	struct proc_report *me = &sh->proc[idx];
	pthread_t threads[THREADS];
	int i, nthreads = threaded ? THREADS : 1, fds[8], n = 0, fd;
	char c;

	for (i = 0; i < nthreads; i++) {
		workers[i] = (struct storm_worker){
			.me = me, .sh = sh, .lock = &lock, .pool = pool,
			.seed = SEED * 1000 + idx * THREADS + i, .reports_state = i == 0,
		};
		if (threaded && pthread_create(&threads[i], NULL, storm_work, &workers[i]))
			_exit(2);
	}
	atomic_fetch_add(&sh->started, 1);
	if (threaded)
		for (i = 0; i < nthreads; i++)
			pthread_join(threads[i], NULL);
	else
		storm_work(&workers[0]);
	atomic_store(&me->state, STORM_IDLE);
	atomic_store(&me->done, 1);
	if (read(go, &c, 1) != 1)
		_exit(3);
	while (n < 8) {
		fd = buf_alloc_rw(pool, MiB);
		if (fd < 0) {
			me->refusal = fd;
			break;
		}
		fds[n++] = fd;
	}
	me->got = n;
	while (n)
		close(fds[--n]);
	_exit(0);
}

/* Waits (up to 1 s) for child idx to be in state want, then kills it. */
static enum storm_state kill_in_state(struct shared *sh, pid_t pid, int idx,
				      enum storm_state want)
{
	uint64_t end = now_ms() + 1000;
	int state;

	while ((state = atomic_load(&sh->proc[idx].state)) != (int)want && now_ms() < end)
		sched_yield();
	kill(pid, SIGKILL);
	return state;
}

TEST_F_TIMEOUT(many, kill_storm, 900)
{
	struct crowd *c = &self->c;
	int i, go[PROCS][2], aimed[STORM_STATES] = { 0 }, hit[STORM_STATES] = { 0 }, status;
	int successes = 0, edquot = 0, enomem = 0, ebusy = 0;
	long long limit_failures, busy_failures;
	uint64_t start = now_ms();
	unsigned int seed = SEED;

	ASSERT_EQ(0, reload_settled(STORM_PARAMS));
	c->pool = pool_open(POOL);
	ASSERT_LE(0, c->pool);
	limit_failures = sysfs_value("failures/limit");
	busy_failures = sysfs_value("failures/migration");
	for (i = 0; i < PROCS; i++) {
		ASSERT_EQ(0, pipe(go[i]));
		c->pids[i] = fork_child();
		ASSERT_LE(0, c->pids[i]);
		if (c->pids[i] == 0)
			storm_child(c->sh, i, c->pool, i < THREADED, go[i][0]);
	}
	while (atomic_load(&c->sh->started) < PROCS)
		usleep(10000);
	/* Let the storm build up, then kill 3 in 4, each aimed at a state in turn. */
	usleep(500000);
	for (i = 0; i < PROCS; i++) {
		enum storm_state want = STORM_ALLOCATING + rand_r(&seed) % 3, got;

		if (SURVIVES(i))
			continue;
		got = kill_in_state(c->sh, c->pids[i], i, want);
		aimed[want]++;
		hit[got]++;
		usleep(rand_r(&seed) % 20000);
	}
	TH_LOG("kills aimed at allocating/holding/mapping: %d/%d/%d; seen in that state: %d/%d/%d",
	       aimed[1], aimed[2], aimed[3], hit[1], hit[2], hit[3]);
	for (i = 0; i < PROCS; i++) {
		if (SURVIVES(i))
			continue;
		ASSERT_EQ(c->pids[i], waitpid(c->pids[i], &status, 0));
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			TH_LOG("process %d ended before it was killed: %#x", i, status);
		c->pids[i] = 0;
	}
	atomic_store(&c->sh->stop, 1);
	for (i = 0; i < PROCS; i++)
		while (SURVIVES(i) && !atomic_load(&c->sh->proc[i].done))
			usleep(10000);
	/* The dead and the survivors let go of everything. */
	check_books(_metadata, c->pool, 0, 0, "after the kill storm");
	for (i = 0; i < PROCS; i++) {
		struct proc_report *r = &c->sh->proc[i];

		if (!SURVIVES(i))
			continue;
		EXPECT_EQ(0, r->unexpected) TH_LOG("process %d: unexpected %d", i, r->unexpected);
		successes += r->successes;
		edquot += r->edquot;
		enomem += r->enomem;
		ebusy += r->ebusy;
		/* Its turn: it must get exactly its budget again. */
		ASSERT_EQ(1, write(go[i][1], "g", 1));
		ASSERT_EQ(c->pids[i], waitpid(c->pids[i], &status, 0));
		c->pids[i] = 0;
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) TH_LOG("%#x", status);
		EXPECT_EQ(STORM_LIMIT / MiB, r->got) TH_LOG("survivor %d's budget after the storm", i);
		EXPECT_EQ(-EDQUOT, r->refusal) TH_LOG("survivor %d", i);
	}
	TH_LOG("survivors: %d buffers; refused %d at their limit, %d for room, %d busy",
	       successes, edquot, enomem, ebusy);
	EXPECT_LT(0, successes);
	EXPECT_LT(0, edquot) TH_LOG("no process ever reached its limit");
	/* The survivors' refusals are some of those the pool counted (the dead's too). */
	EXPECT_LE(limit_failures + edquot + PROCS / 4, sysfs_value("failures/limit"));
	EXPECT_LE(busy_failures + ebusy, sysfs_value("failures/migration"));
	for (i = 0; i < PROCS; i++) {
		close(go[i][0]);
		close(go[i][1]);
	}
	check_books(_metadata, c->pool, 0, 0, "at the end");
	TH_LOG("kill_storm took %llu ms (TCG)", (unsigned long long)(now_ms() - start));
}

/* ------------------------------------------------------------------------------------ */
/* 3. 10 000 live one-page buffers, and frames among them. */

/*
 * Live one-page buffers: 2 000 in make check (each kernel of it, the debug one too,
 * within CI's time), 10 000 in make scale (CMABUF_MANY_PAGES=10000, SCALE_LIST).
 */
static int pages = 2000;

__attribute__((constructor)) static void pages_from_env(void)
{
	const char *want = getenv("CMABUF_MANY_PAGES");

	if (want) {
		pages = atoi(want);
		/* At least one a process; with the frames, within the 64 MiB pool. */
		if (pages < PROCS || pages > 12000) {
			fprintf(stderr, "CMABUF_MANY_PAGES=%s: must be %d to 12000\n", want, PROCS);
			exit(KSFT_FAIL);
		}
	}
}
/*
 * Rounds of random frees and allocations after the first 10 000: each frees about one
 * buffer in four. Two keep the test at a few minutes on TCG (32-bit ARM: each read of
 * debugfs buffers with 10 000 lines took about 30 s on i17's code, which builds it
 * O(n^2)).
 */
#define ROUNDS 2
/* Processes that may hold a frame: 6 frames and 10 000 pages fit the 64 MiB pool. */
#define FRAMERS 6
#define MAX_HELD 512

struct holding {
	int fd[MAX_HELD];
	uint64_t size[MAX_HELD];
	int n;
	bool frame;
};

/* Allocates one buffer of size into h; a frame may be refused for room (fragmentation). */
static void hold_one(struct proc_report *me, struct holding *h, int pool, uint64_t size)
{
	int fd = buf_alloc_rw(pool, size);

	if (fd == -ENOMEM && size == FRAME_SIZE) {
		me->frames_refused++;
		return;
	}
	if (fd < 0 || h->n == MAX_HELD) {
		me->unexpected = fd < 0 ? fd : -E2BIG;
		if (fd >= 0)
			close(fd);
		return;
	}
	h->frame |= size == FRAME_SIZE;
	h->fd[h->n] = fd;
	h->size[h->n++] = size;
	me->buffers++;
	me->bytes += PAGE_UP(size);
}

static void drop_one(struct proc_report *me, struct holding *h, int i)
{
	close(h->fd[i]);
	me->buffers--;
	me->bytes -= PAGE_UP(h->size[i]);
	if (h->size[i] == FRAME_SIZE)
		h->frame = false;
	h->fd[i] = h->fd[--h->n];
	h->size[i] = h->size[h->n];
}

/* Child of many.thousands_of_live_buffers: its share of pages, then rounds of frees and allocations. */
static void pages_child(struct shared *sh, int idx, int pool)
{
	struct proc_report *me = &sh->proc[idx];
	int share = pages / PROCS + (idx < pages % PROCS), i, r;
	unsigned int seed = SEED * 100 + idx;
	struct holding h = { .n = 0 };

	barrier(sh);	/* all start together */
	for (i = 0; i < share && !me->unexpected; i++) {
		hold_one(me, &h, pool, PAGE);
		if (idx < FRAMERS && i == share / 2)
			hold_one(me, &h, pool, FRAME_SIZE);
	}
	barrier(sh);	/* done: the parent checks */
	for (r = 0; r < ROUNDS; r++) {
		barrier(sh);	/* go */
		/* Free about one in four, at random, then allocate back to the share. */
		for (i = h.n - 1; i >= 0; i--)
			if (rand_r(&seed) % 4 == 0)
				drop_one(me, &h, i);
		while (h.n < share + (int)h.frame && !me->unexpected) {
			hold_one(me, &h, pool, PAGE);
			if (idx < FRAMERS && !h.frame && rand_r(&seed) % 8 == 0)
				hold_one(me, &h, pool, FRAME_SIZE);
		}
		barrier(sh);	/* done */
	}
	barrier(sh);	/* go */
	while (h.n)
		drop_one(me, &h, 0);
	barrier(sh);	/* done */
	_exit(0);
}

TEST_F_TIMEOUT(many, thousands_of_live_buffers, 1200)
{
	struct crowd *c = &self->c;
	long long bytes, buffers, frames_refused = 0;
	char phase[64];
	uint64_t start, test_start = now_ms();
	int i, r;

	ASSERT_EQ(0, reload_settled(""));
	c->pool = pool_open(POOL);
	ASSERT_LE(0, c->pool);
	for (i = 0; i < PROCS; i++) {
		c->pids[i] = fork_child();
		ASSERT_LE(0, c->pids[i]);
		if (c->pids[i] == 0)
			pages_child(c->sh, i, c->pool);
	}
	start = now_ms();
	barrier(c->sh);	/* start */
	barrier(c->sh);	/* done */
	TH_LOG("%d processes allocated %d pages and %d frames in %llu ms (TCG)", PROCS, pages,
	       FRAMERS, (unsigned long long)(now_ms() - start));
	held(c->sh, &bytes, &buffers);
	for (i = 0; i < PROCS; i++)
		EXPECT_EQ(0, c->sh->proc[i].unexpected) TH_LOG("process %d", i);
	EXPECT_EQ(pages + FRAMERS, buffers);
	EXPECT_EQ(pages * PAGE + FRAMERS * PAGE_UP(FRAME_SIZE), bytes);
	check_books(_metadata, c->pool, bytes, buffers, "all pages and frames");
	for (r = 0; r < ROUNDS; r++) {
		barrier(c->sh);	/* go */
		barrier(c->sh);	/* done */
		held(c->sh, &bytes, &buffers);
		for (i = 0; i < PROCS; i++)
			EXPECT_EQ(0, c->sh->proc[i].unexpected) TH_LOG("round %d process %d", r, i);
		EXPECT_LE(pages, buffers);
		snprintf(phase, sizeof(phase), "random round %d", r + 1);
		check_books(_metadata, c->pool, bytes, buffers, phase);
	}
	barrier(c->sh);	/* go: let go of everything */
	barrier(c->sh);	/* done */
	for (i = 0; i < PROCS; i++)
		frames_refused += c->sh->proc[i].frames_refused;
	TH_LOG("frames refused for room (fragmentation): %lld", frames_refused);
	reap_ok(_metadata, c->pids);
	check_books(_metadata, c->pool, 0, 0, "all let go");
	TH_LOG("thousands_of_live_buffers took %llu ms (TCG)",
	       (unsigned long long)(now_ms() - test_start));
}

/* ------------------------------------------------------------------------------------ */
/* 4. Racing for one run. */

#define RACERS 8
/* More than half the pool: one racer at most gets it. */
#define RACE_SIZE (40 * MiB)

/*
 * Eight processes ask at the same moment for 40 MiB of the empty 64 MiB pool: one gets
 * it, and each of the others is told ENOMEM (no free run large enough), the errno for
 * a pool whose room another allocation took, not EBUSY (pages that could not be
 * migrated). Five rounds.
 */
TEST_F_TIMEOUT(many, racing_for_one_run, 600)
{
	struct crowd *c = &self->c;
	int round, i, status, won, enomem;

	ASSERT_EQ(0, reload_settled(""));
	c->pool = pool_open(POOL);
	ASSERT_LE(0, c->pool);
	for (round = 0; round < 5; round++) {
		atomic_store(&c->sh->stop, 0);
		for (i = 0; i < RACERS; i++) {
			c->pids[i] = fork_child();
			ASSERT_LE(0, c->pids[i]);
			if (c->pids[i] == 0) {
				int fd;

				atomic_fetch_add(&c->sh->started, 1);
				while (!atomic_load(&c->sh->stop))
					sched_yield();
				fd = buf_alloc_rw(c->pool, RACE_SIZE);
				c->sh->proc[i].refusal = fd < 0 ? fd : 0;
				atomic_fetch_add(&c->sh->proc[i].done, 1);
				/* Hold it until all have answered. */
				while (atomic_load(&c->sh->stop) != 2)
					usleep(1000);
				_exit(0);
			}
		}
		while (atomic_load(&c->sh->started) < RACERS * (round + 1))
			usleep(1000);
		atomic_store(&c->sh->stop, 1);
		for (i = 0; i < RACERS; i++)
			while (atomic_load(&c->sh->proc[i].done) < round + 1)
				usleep(1000);
		won = enomem = 0;
		for (i = 0; i < RACERS; i++) {
			won += c->sh->proc[i].refusal == 0;
			enomem += c->sh->proc[i].refusal == -ENOMEM;
			EXPECT_TRUE(c->sh->proc[i].refusal == 0 ||
				    c->sh->proc[i].refusal == -ENOMEM)
				TH_LOG("round %d: racer %d got %d, not 0 or -ENOMEM (%d)", round, i,
				       c->sh->proc[i].refusal, -ENOMEM);
		}
		EXPECT_EQ(1, won) TH_LOG("round %d", round);
		EXPECT_EQ(RACERS - 1, enomem) TH_LOG("round %d", round);
		atomic_store(&c->sh->stop, 2);
		for (i = 0; i < RACERS; i++) {
			ASSERT_EQ(c->pids[i], waitpid(c->pids[i], &status, 0));
			c->pids[i] = 0;
		}
		EXPECT_TRUE(wait_used(c->pool, 0, 5000));
	}
}

TEST_HARNESS_MAIN
