// SPDX-License-Identifier: GPL-2.0
/*
 * What a pin is charged and what it may take: an unprivileged user's
 * pins are bounded by RLIMIT_MEMLOCK, exactly, also when two pins race,
 * and across exec, fork and fd passing; CAP_IPC_LOCK lifts the limit, not
 * the charge; the module's max_pins and max_pages bound a context;
 * contiguous buffers count too, and are charged to the memcg; a pin
 * needs memory where long-term pins may keep pages (the fit check), and
 * gets it under pressure, is refused with ENOMEM where it cannot, and
 * nobody is OOM-killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pinmem_test_uapi.h"
#include "util.h"
#include "admin.h"
#include "harness.h"

#define RW (PROT_READ | PROT_WRITE)
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef MADV_FREE
#define MADV_FREE 8
#endif

/* ------------------------------------------------------------- accounting */

#define ROUNDS 8
#define LIMIT (1 * MiB)

/* one exec round (argv: --exec-round N): open, pin LIMIT, exec the next */
static int exec_round(int round, int fd_out)
{
	char *buf = mmap(NULL, LIMIT, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char rs[16], fs[16];
	int fd, ret;

	fd = open("/dev/pinmem", O_RDWR);	/* no O_CLOEXEC: exec keeps it */
	if (fd < 0 || buf == MAP_FAILED)
		return 100;
	memset(buf, 1, LIMIT);
	ret = pm_pin(fd, buf, LIMIT, 0, NULL, NULL);
	if (write(fd_out, ret ? "n" : "y", 1) != 1)
		return 101;
	if (round >= ROUNDS)
		return 0;
	snprintf(rs, sizeof(rs), "%d", round + 1);
	snprintf(fs, sizeof(fs), "%d", fd_out);
	execl("/proc/self/exe", "test_limits", "--exec-round", rs, fs, NULL);
	return 102;
}

static int exec_loop_child(void *arg)
{
	int *p = arg;
	char fs[16];

	close(p[0]);
	if (become(65534, LIMIT))
		return 90;
	snprintf(fs, sizeof(fs), "%d", p[1]);
	execl("/proc/self/exe", "test_limits", "--exec-round", "1", fs, NULL);
	return 91;
}

/*
 * Accounting: what an unprivileged user pins is charged to the user and
 * bounded by RLIMIT_MEMLOCK however the fd travels (exec, pidfd_getfd(),
 * fork), contiguous buffers included, and to the memcg. /dev/pinmem is
 * open to everyone during a case; the teardown closes it again.
 */
FIXTURE(accounting) {
	int unused;
};

FIXTURE_SETUP(accounting)
{
}

FIXTURE_TEARDOWN_PARENT(accounting)
{
	dev_open_to_all(false);
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

/*
 * exec with the fd inherited: each round's pins stay alive in the fd table
 * after the mm they were charged to is gone.
 */
PM_TEST_F(accounting, memlock_exec_loop_bounded, 300)
{
	char res[ROUNDS + 1] = "";
	int p[2], rc;
	ssize_t n;

	ASSERT_EQ(0, pipe(p));
	dev_open_to_all(true);
	rc = in_child(exec_loop_child, p);
	dev_open_to_all(false);
	close(p[1]);
	n = read(p[0], res, ROUNDS);
	close(p[0]);
	ksft_print_msg("uid 65534, RLIMIT_MEMLOCK 1 MiB, pin 1 MiB per exec round: %.*s (y = pinned)\n",
		       (int)(n > 0 ? n : 0), res);
	ASSERT_EQ(0, rc);
	ASSERT_EQ(ROUNDS, n);
	ASSERT_TRUE(!memcmp(res, "ynnnnnnn", ROUNDS));
}

struct getfd_arg {
	int ctl[2], ack[2];
};

static int getfd_child(void *arg)
{
	struct getfd_arg *g = arg;
	char *buf = map_anon(LIMIT, RW);
	char c;
	int fd, ret;

	if (become(65534, LIMIT))
		return 90;
	fd = pm_open();
	if (fd < 0 || !buf)
		return 91;
	ret = pm_pin(fd, buf, LIMIT, 0, NULL, NULL);
	c = ret ? 'n' : 'y';
	if (write(g->ack[1], &c, 1) != 1)
		return 92;
	/* wait until the holder has taken the fd */
	if (read(g->ctl[0], &c, 1) != 1)
		return 93;
	return 0;
}

/* fd passing with pidfd_getfd() (needs no AF_UNIX): a holder keeps pins */
PM_TEST_F(accounting, memlock_pidfd_getfd_bounded, 300)
{
	int held[ROUNDS], nheld = 0, i, status;
	char res[ROUNDS + 1] = "";
	struct getfd_arg g;

	dev_open_to_all(true);
	for (i = 0; i < ROUNDS; i++) {
		int pidfd, fd;
		pid_t pid;
		char c = 'x';

		ASSERT_EQ(0, pipe(g.ctl));
		ASSERT_EQ(0, pipe(g.ack));
		pid = fork();
		ASSERT_TRUE(pid >= 0);
		if (!pid)
			_exit(getfd_child(&g));
		if (read(g.ack[0], &c, 1) != 1)
			c = '?';
		res[i] = c;
		pidfd = syscall(SYS_pidfd_open, pid, 0);
		if (pidfd < 0 && errno == ENOSYS) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			dev_open_to_all(false);
			SKIP(return, "kernel has no pidfd_open()");
		}
		ASSERT_TRUE(pidfd >= 0);
		/* the child's pinmem fd is the lowest free one: find it */
		for (fd = 3; fd < 16; fd++) {
			int got = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
			char link[64], path[64];
			ssize_t n;

			if (got < 0)
				continue;
			snprintf(path, sizeof(path), "/proc/self/fd/%d", got);
			n = readlink(path, link, sizeof(link) - 1);
			if (n > 0 && !strncmp(link, "/dev/pinmem", 11)) {
				held[nheld++] = got;
				break;
			}
			close(got);
		}
		close(pidfd);
		ASSERT_EQ(1, write(g.ctl[1], "x", 1));
		waitpid(pid, &status, 0);
		close(g.ctl[0]); close(g.ctl[1]); close(g.ack[0]); close(g.ack[1]);
		ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	dev_open_to_all(false);
	ksft_print_msg("uid 65534 children pin 1 MiB each, a holder takes their fds: %s; %ld pages pinned after all exited\n",
		       res, debugfs_stat("pinned_pages"));
	ASSERT_EQ(ROUNDS, nheld);
	ASSERT_EQ(LIMIT / PAGE, debugfs_stat("pinned_pages"));
	for (i = 0; i < nheld; i++)
		close(held[i]);
	ASSERT_TRUE(!strcmp(res, "ynnnnnnn"));
}

static int fork_close_child(void *arg)
{
	char *res = arg;
	pid_t kids[ROUNDS];
	int i, n = 0;

	if (become(65534, LIMIT))
		return 90;
	for (i = 0; i < ROUNDS; i++) {
		char *buf = map_anon(LIMIT, RW);
		int fd = pm_open();

		if (fd < 0 || !buf)
			return 91;
		res[i] = pm_pin(fd, buf, LIMIT, 0, NULL, NULL) ? 'n' : 'y';
		kids[n] = fork();
		if (!kids[n]) {
			pause();	/* a long-lived child holding the fd */
			_exit(0);
		}
		n++;
		close(fd);
		munmap(buf, LIMIT);
	}
	for (i = 0; i < n; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	return 0;
}

/* fork, then close: the children keep the pins, the user stays charged */
PM_TEST_F(accounting, memlock_fork_close_bounded, 300)
{
	char *res = mmap(NULL, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ASSERT_TRUE(res != MAP_FAILED);
	dev_open_to_all(true);
	ASSERT_EQ(0, in_child(fork_close_child, res));
	dev_open_to_all(false);
	ksft_print_msg("uid 65534: open, pin 1 MiB, fork a child, close; per round: %.8s\n", res);
	ASSERT_TRUE(!memcmp(res, "ynnnnnnn", ROUNDS));
}

static int contig_other_process(void *arg)
{
	struct pinmem_contig_alloc_args a = { .length = 512 * 1024 };
	int fd = pm_open();

	(void)arg;
	if (fd < 0)
		return 95;
	/* another process of the same user: the same budget */
	if (pm_contig_alloc(fd, &a) != -ENOMEM)
		return 93;
	a.length = 256 * 1024;
	if (pm_contig_alloc(fd, &a))
		return 94;
	return 0;
}

static int contig_charge_child(void *arg)
{
	char *buf = map_anon(768 * 1024, RW);
	int fd;

	(void)arg;
	if (become(65534, LIMIT))
		return 90;
	fd = pm_open();
	if (fd < 0 || !buf)
		return 91;
	if (pm_pin(fd, buf, 768 * 1024, 0, NULL, NULL))
		return 92;
	return in_child(contig_other_process, NULL);
}

/* contiguous buffers count against the same per-user limit as pins */
PM_TEST_F(accounting, contig_charged_to_user, 120)
{
	int rc;

	dev_open_to_all(true);
	rc = in_child(contig_charge_child, NULL);
	dev_open_to_all(false);
	ASSERT_EQ(0, rc);
}

struct memcg_res {
	long allocated, before, peak, err;
};

static int memcg_child(void *arg)
{
	struct memcg_res *m = arg;
	int fd = pm_open(), i, ret = 0;
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", getpid());
	if (fd < 0 || write_file("/sys/fs/cgroup/pinmem-test/cgroup.procs", pid))
		return 90;
	m->before = read_long("/sys/fs/cgroup/pinmem-test/memory.current");
	for (i = 0; i < (int)(16 * MiB / PAGE); i++) {	/* 16 MiB of one-page buffers */
		struct pinmem_contig_alloc_args a = { .length = PAGE };

		ret = pm_contig_alloc(fd, &a);
		if (ret)
			break;
		m->allocated++;
		if (!(i % 256))
			m->peak = read_long("/sys/fs/cgroup/pinmem-test/memory.current");
	}
	m->err = ret;
	close(fd);
	return 0;
}

/* "key value" of a cgroup file */
static long cg_value(const char *file, const char *key)
{
	char line[128], k[64];
	long v, ret = -1;
	FILE *f = fopen(file, "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %ld", k, &v) == 2 && !strcmp(k, key))
			ret = v;
	if (f)
		fclose(f);
	return ret;
}

/*
 * Contiguous buffers from the page allocator are charged to the memcg: a
 * process in a cgroup with memory.max = 8 MiB cannot get 16 MiB of them.
 * It gets ENOMEM, or, when another of its charges hits the limit first,
 * the memcg's OOM killer ends it, inside the cgroup.
 */
PM_TEST_F(accounting, contig_charged_to_memcg, 300)
{
	struct memcg_res *m = mmap(NULL, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	const char *cg = "/sys/fs/cgroup/pinmem-test", *why;
	long ooms;
	int status;
	pid_t pid;

	ASSERT_TRUE(m != MAP_FAILED);
	why = cgroup2_enable("+memory");
	if (why)
		SKIP(return, "%s", why);
	rmdir(cg);
	ASSERT_EQ(0, mkdir(cg, 0755));
	ASSERT_EQ(0, write_file("/sys/fs/cgroup/pinmem-test/memory.max", "8388608"));
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid)
		_exit(memcg_child(m));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ooms = cg_value("/sys/fs/cgroup/pinmem-test/memory.events", "oom_kill");
	rmdir(cg);
	ksft_print_msg("memory.max 8 MiB: %ld one-page buffers, then %s; memory.current %ld -> %ld; memcg oom_kill %ld\n",
		       m->allocated,
		       WIFSIGNALED(status) ? "killed" : m->err ? strerror(-m->err) : "no failure",
		       m->before, m->peak, ooms);
	ASSERT_TRUE(m->allocated < (long)(8 * MiB / PAGE));
	/* the limit is an ENOMEM, not an OOM kill (a buffer's metadata too) */
	ASSERT_TRUE(!WIFSIGNALED(status));
	ASSERT_EQ(0, ooms);
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(-ENOMEM, m->err);
	ASSERT_TRUE(m->peak - m->before >= (long)(m->allocated / 2 * PAGE));
}

/* ------------------------------------- RLIMIT_MEMLOCK, context limits */

/* RLIMIT_MEMLOCK, the context limits, the fit check */
PM_FIXTURE(limits)

/*
 * An unprivileged process (setuid after opening the device as root) is
 * charged exactly in VmPin and refused past RLIMIT_MEMLOCK.
 */
PM_TEST_F(limits, memlock_limit_unprivileged, 120)
{
	int status;
	pid_t pid = fork();

	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		struct rlimit rl = { 16 * PAGE, 16 * PAGE };
		char *buf = map_anon(32 * PAGE, RW);
		uint64_t h1, h2;
		int fd = pm_open();

		if (!buf || fd < 0)
			_exit(10);
		memset(buf, 1, 32 * PAGE);
		if (setrlimit(RLIMIT_MEMLOCK, &rl) || setuid(65534))
			_exit(11);
		if (vmpin_kb() != 0)
			_exit(12);
		if (pm_pin(fd, buf, 12 * PAGE, 0, &h1, NULL))
			_exit(13);
		if (vmpin_kb() != 12 * PAGE_KB)
			_exit(14);
		if (pm_pin(fd, buf + 16 * PAGE, 5 * PAGE, 0, NULL, NULL) != -ENOMEM)
			_exit(15);
		if (vmpin_kb() != 12 * PAGE_KB)
			_exit(16);
		if (pm_pin(fd, buf + 16 * PAGE, 4 * PAGE, 0, &h2, NULL))
			_exit(17);
		if (vmpin_kb() != 16 * PAGE_KB)
			_exit(18);
		if (pm_unpin(fd, h1) || vmpin_kb() != 4 * PAGE_KB)
			_exit(19);
		close(fd);
		if (vmpin_kb() != 0)
			_exit(20);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

/* CAP_IPC_LOCK bypasses RLIMIT_MEMLOCK, and is still charged. */
PM_TEST_F(limits, memlock_cap_ipc_lock_bypasses, 120)
{
	struct rlimit rl = { PAGE, PAGE };
	char *buf = map_anon(64 * PAGE, RW);
	uint64_t h;
	int fd = pm_open();

	ASSERT_TRUE(buf && fd >= 0);
	memset(buf, 1, 64 * PAGE);
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_EQ(0, pm_pin(fd, buf, 64 * PAGE, 0, &h, NULL));
	ASSERT_EQ(64 * PAGE_KB, vmpin_kb());
	close(fd);
	ASSERT_EQ(0, vmpin_kb());
}

/*
 * Two pins of one user racing near RLIMIT_MEMLOCK, each in its own context.
 * locked_vm is checked and charged in one step, so a pin that fits is never
 * refused because one that does not was charged for a moment, and two pins
 * that do not both fit are never both taken.
 */
#define RACE_LIMIT	16	/* pages the limit leaves above the user's charge */
#define RACE_ROUNDS	4000

struct charge_race {
	int fd[2];
	char *buf[2];
	size_t pages[2];
	uint64_t h[2];
	int ret[2];
	unsigned int gen, waiting;	/* a spinning barrier of two */
	bool stop;
};

/* Pages of the two pins, by round: the limit leaves room for RACE_LIMIT. */
static const size_t race_sizes[][2] = {
	{ 10, 10 },	/* each fits alone, not both: exactly one */
	{ 6, 17 },	/* one can never fit: the other must */
	{ 17, 6 },
	{ 6, 10 },	/* both, exactly to the limit */
};

/* Spin rather than sleep: both threads leave it within a few instructions. */
static void race_barrier(struct charge_race *r)
{
	unsigned int gen = __atomic_load_n(&r->gen, __ATOMIC_ACQUIRE);
	unsigned long spins = 0;

	if (__atomic_add_fetch(&r->waiting, 1, __ATOMIC_ACQ_REL) == 2) {
		__atomic_store_n(&r->waiting, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&r->gen, gen + 1, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&r->gen, __ATOMIC_ACQUIRE) == gen)
		if (!(++spins % 4096))
			sched_yield();
}

static void race_pin(struct charge_race *r, int i)
{
	r->ret[i] = pm_pin(r->fd[i], r->buf[i], r->pages[i] * PAGE, 0,
			   &r->h[i], NULL);
}

static void *race_second(void *arg)
{
	struct charge_race *r = arg;

	run_on_cpu(0, 1);
	for (;;) {
		race_barrier(r);
		if (__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE))
			return NULL;
		race_pin(r, 1);
		race_barrier(r);
	}
}

/* The user's locked_vm, as fdinfo shows it */
static long user_locked(struct charge_race *r)
{
	return fdinfo_value(r->fd[0], "pinmem-user-locked-pages");
}

/* Were the pins of a round refused exactly as the limit says? */
static bool race_as_limited(const size_t *sz, const int *ret)
{
	bool fits0 = sz[0] <= RACE_LIMIT, fits1 = sz[1] <= RACE_LIMIT;

	if (sz[0] + sz[1] <= RACE_LIMIT)
		return !ret[0] && !ret[1];
	if (fits0 && fits1)
		return !ret[0] != !ret[1];
	return !ret[0] == fits0 && !ret[1] == fits1;
}

/*
 * One round, in the child that dropped root: both pins at once, the charge
 * is what they pinned, and nothing once they are unpinned. @won counts
 * which thread got the room that only one of them could have.
 */
static int race_round(struct charge_race *r, int round, long base,
		      long *won)
{
	const size_t *sz = race_sizes[round % 4];
	long charged = 0;
	int i;

	r->pages[0] = sz[0];
	r->pages[1] = sz[1];
	race_barrier(r);
	race_pin(r, 0);
	race_barrier(r);
	for (i = 0; i < 2; i++) {
		if (r->ret[i] && r->ret[i] != -ENOMEM) {
			ksft_print_msg("round %d: pin of %zu pages: %s\n", round, sz[i],
				       strerror(-r->ret[i]));
			return T_FAIL;
		}
		if (!r->ret[i])
			charged += sz[i];
	}
	if (!race_as_limited(sz, r->ret)) {
		ksft_print_msg("round %d: pins of %zu and %zu pages with room for %d: %s and %s\n",
			       round, sz[0], sz[1], RACE_LIMIT,
			       r->ret[0] ? "refused" : "pinned",
			       r->ret[1] ? "refused" : "pinned");
		return T_FAIL;
	}
	if (sz[0] == sz[1])
		won[r->ret[0] ? 1 : 0]++;
	CHECK_EQ(user_locked(r) - base, charged);
	CHECK_EQ(vmpin_kb(), charged * (long)(PAGE / 1024));
	for (i = 0; i < 2; i++)
		if (!r->ret[i])
			CHECK_EQ(pm_unpin(r->fd[i], r->h[i]), 0);
	CHECK_EQ(user_locked(r), base);
	CHECK_EQ(vmpin_kb(), 0);
	return T_PASS;
}

static int race_child(void)
{
	struct charge_race r = { 0 };
	long base, won[2] = { 0, 0 };
	struct rlimit rl = { 0 };
	int i, round, ret = T_PASS;
	pthread_t t;

	for (i = 0; i < 2; i++) {
		r.fd[i] = pm_open();
		r.buf[i] = map_anon((RACE_LIMIT + 1) * PAGE, RW);
		CHECK(r.fd[i] >= 0 && r.buf[i]);
	}
	base = user_locked(&r);
	CHECK(base >= 0);
	rl.rlim_cur = (base + RACE_LIMIT) * PAGE;
	rl.rlim_max = rl.rlim_cur;
	CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
	CHECK_EQ(setuid(65534), 0);
	run_on_cpu(0, 0);
	CHECK_EQ(pthread_create(&t, NULL, race_second, &r), 0);
	for (round = 0; round < RACE_ROUNDS && ret == T_PASS; round++)
		ret = race_round(&r, round, base, won);
	__atomic_store_n(&r.stop, true, __ATOMIC_RELEASE);
	race_barrier(&r);
	pthread_join(t, NULL);
	ksft_print_msg("%d rounds; where only one of two fit, the first thread won %ld, the second %ld\n",
		       round, won[0], won[1]);
	if (ret == T_PASS && (!won[0] || !won[1])) {
		ksft_print_msg("one thread always charged first: no sign that the pins raced\n");
		return T_FAIL;
	}
	return ret;
}

PM_TEST_F(limits, memlock_racing_pins, 300)
{
	int status;
	pid_t pid;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "one CPU online: two pins cannot race");
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid)
		_exit(race_child());
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(T_PASS, WEXITSTATUS(status));
}

PM_TEST_F(limits, context_limits_enomem, 120)
{
	char *buf = map_anon(16 * PAGE, RW);
	int fd = pm_open(), i, r1, r2;

	ASSERT_TRUE(buf && fd >= 0);
	memset(buf, 1, 16 * PAGE);
	ASSERT_EQ(0, write_param("max_pins", "3"));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pm_pin(fd, buf + i * PAGE, PAGE, 0, NULL, NULL));
	r1 = pm_pin(fd, buf + 3 * PAGE, PAGE, 0, NULL, NULL);
	ASSERT_EQ(0, write_param("max_pins", "1048576"));
	ASSERT_EQ(-ENOMEM, r1);
	ASSERT_EQ(0, write_param("max_pages", "8"));
	r1 = pm_pin(fd, buf + 4 * PAGE, 6 * PAGE, 0, NULL, NULL);
	r2 = pm_pin(fd, buf + 10 * PAGE, 5 * PAGE, 0, NULL, NULL);
	ASSERT_EQ(0, write_param("max_pages", "0"));
	ASSERT_EQ(-ENOMEM, r1);	/* 3 + 6 > 8 */
	ASSERT_EQ(0, r2);	/* 3 + 5 == 8 */
	ASSERT_EQ(8, pins_outstanding());
	close(fd);
}

/*
 * A pin that was unpinned while a dma-buf keeps its pages still counts
 * against max_pins and max_pages, until the dma-buf goes.
 */
PM_TEST_F(limits, context_limits_count_exports, 120)
{
	char *buf = map_anon(16 * PAGE, RW);
	int fd = pm_open(), dfd = -1, r1, r2, r3;
	uint64_t h;

	ASSERT_TRUE(buf && fd >= 0);
	memset(buf, 1, 16 * PAGE);
	ASSERT_EQ(0, pm_pin(fd, buf, 4 * PAGE, 0, &h, NULL));
	ASSERT_EQ(0, pm_export(fd, h, 0, &dfd));
	ASSERT_EQ(0, pm_unpin(fd, h));
	ASSERT_EQ(0, write_param("max_pins", "2"));
	r1 = pm_pin(fd, buf + 4 * PAGE, PAGE, 0, NULL, NULL);
	r2 = pm_pin(fd, buf + 5 * PAGE, PAGE, 0, NULL, NULL);
	ASSERT_EQ(0, write_param("max_pins", "1048576"));
	ASSERT_EQ(0, r1);
	ASSERT_EQ(-ENOMEM, r2);	/* the exported pin and one more */
	ASSERT_EQ(0, write_param("max_pages", "8"));
	r2 = pm_pin(fd, buf + 6 * PAGE, 4 * PAGE, 0, NULL, NULL);
	close(dfd);		/* the exported pin's 4 pages go */
	r3 = pm_pin(fd, buf + 6 * PAGE, 4 * PAGE, 0, NULL, NULL);
	ASSERT_EQ(0, write_param("max_pages", "0"));
	ASSERT_EQ(-ENOMEM, r2);	/* 4 + 1 + 4 > 8 */
	ASSERT_EQ(0, r3);	/* 1 + 4 <= 8 */
	ASSERT_EQ(5, pins_outstanding());
	close(fd);
}

/*
 * More than the memory outside ZONE_MOVABLE can take: refused with
 * -ENOMEM, nothing left pinned, and nobody is OOM-killed.
 */
PM_TEST_F(limits, pin_too_big_to_fit_enomem, 300)
{
	long free_pages = 0, oom_before = vmstat("oom_kill");
	struct zone_range z[MAX_ZONE_RANGES];
	size_t len, in_movable;
	char *buf;
	int fd;

	NEED_MOVABLE();
	zones_load(z, MAX_ZONE_RANGES);
	free_pages = vmstat("nr_free_pages");
	/* most of the movable zone's free memory, wholly in it */
	len = (size_t)(free_pages * 0.8) * PAGE;
	len = len > 520 * MiB ? 520 * MiB : len & ~(2 * MiB - 1);
	buf = movable_buffer(len, 30, &in_movable);
	ASSERT_TRUE(buf);
	ksft_print_msg("buffer %zu MiB, %zu of %zu pages in Movable, %ld pages free\n",
		       len / MiB, in_movable, len / PAGE, free_pages);
	if (in_movable * 2 < len / PAGE)
		SKIP(return, "buffer did not land in ZONE_MOVABLE");
	NEED_MORE_THAN_PINNABLE(len);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(-ENOMEM, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, NULL, NULL));
	ASSERT_EQ(oom_before, vmstat("oom_kill"));
	ASSERT_EQ(0, check_pattern(buf, len, 30));

	/*
	 * Nothing finds this out up front (a walk of the range first would
	 * cost a warm pin bigger than the free pinnable memory twice its
	 * time): each batch is checked as it goes, so the refused PIN has
	 * migrated what fitted, and released it again. Twice more, the same
	 * answer, nothing left pinned, nobody killed.
	 */
	ASSERT_EQ(-ENOMEM, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, NULL, NULL));
	ASSERT_EQ(-ENOMEM, pm_pin(fd, buf, len, 0, NULL, NULL));
	ASSERT_EQ(0, pins_outstanding());
	ASSERT_EQ(oom_before, vmstat("oom_kill"));
	ASSERT_EQ(0, check_pattern(buf, len, 30));
	close(fd);
}

/* -------------------------------------------------------------- fit check */

/*
 * Fill memory with MADV_FREE'd anonymous memory: reclaimable without
 * swap, but not free. Returns the helper's pid; it sleeps until killed.
 */
static pid_t lazyfree_filler(long leave_free_kb)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p))
		return -1;
	pid = fork();
	if (!pid) {
		const size_t chunk = 16 * MiB;

		while (meminfo_kb("MemFree") > leave_free_kb + 16 * 1024) {
			char *b = mmap(NULL, chunk, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (b == MAP_FAILED)
				break;
			memset(b, 7, chunk);
			madvise(b, chunk, MADV_FREE);
		}
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid > 0 && read(p[0], &c, 1) != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(p[0]);
	return pid;
}

/*
 * A write pin of a fresh buffer larger than MemFree, with the rest of the
 * memory lazily freed: the kernel can serve it (reclaim), so must pinmem.
 */

/*
 * Pinning a fresh buffer larger than MemFree, with the memory full of
 * lazily freed (reclaimable) pages: where nothing has to migrate, it must
 * succeed, as the kernel's own GUP does. Where pages must end up in lowmem
 * (32-bit) or outside CMA, what is provably there (free plus the file pages
 * that must lie there) must be pinnable; asking for MemFree + 128 MiB may be
 * refused (ENOMEM), but nobody is ever OOM-killed.
 */
/*
 * A write PIN of a fresh @len-byte buffer on @fd, unpinned and unmapped
 * again: 0 or the PIN's -errno; 1 if the buffer could not even be mapped.
 */
static int pin_fresh(int fd, size_t len)
{
	char *buf = mmap(NULL, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t h;
	int ret;

	if (buf == MAP_FAILED) {
		ksft_print_msg("mmap of %zu MiB: %s\n", len / MiB, strerror(errno));
		return 1;
	}
	ret = pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL);
	if (!ret && pm_unpin(fd, h))
		ret = -EIO;
	munmap(buf, len);
	return ret;
}

/*
 * The fit check: what a pin needs where long-term pins may keep pages.
 * The teardown ends a memory filler the case left running.
 */
FIXTURE(fit) {
	pid_t filler;
};

FIXTURE_SETUP(fit)
{
}

FIXTURE_TEARDOWN_PARENT(fit)
{
	if (self->filler > 0) {
		kill(self->filler, SIGKILL);
		waitpid(self->filler, NULL, 0);
	}
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

PM_TEST_F(fit, pin_fresh_buffer_under_pressure, 300)
{
	long oom = vmstat("oom_kill"), free_kb, lazy_kb, pfree_kb, pfile_kb;
	pid_t filler = lazyfree_filler(64 * 1024);
	bool constrained = meminfo_kb("HighTotal") > 0 || meminfo_kb("CmaTotal") > 0;
	size_t len;
	int fd, ret = 0;

	self->filler = filler;
	ASSERT_TRUE(filler > 0);
	free_kb = meminfo_kb("MemFree");
	lazy_kb = meminfo_kb("Inactive(file)") + meminfo_kb("Active(file)");
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	if (constrained) {
		pinnable_zone_kb(&pfree_kb, &pfile_kb);
		len = ((size_t)pfree_kb * 1024 + (size_t)pfile_kb / 4 * 1024) & ~(2 * MiB - 1);
		if (len > (size_t)pfree_kb * 1024 + 64 * MiB)
			len = ((size_t)pfree_kb * 1024 + 64 * MiB) & ~(2 * MiB - 1);
		ret = pin_fresh(fd, len);
		ksft_print_msg("pinnable zones: %ld MiB free, at least %ld MiB file LRU outside CMA: write PIN of %zu MiB fresh: %s\n",
			       pfree_kb / 1024, pfile_kb / 1024, len / MiB,
			       ret ? strerror(-ret) : "pinned");
		if (ret)
			goto out;
	}
	len = ((size_t)free_kb * 1024 + 128 * MiB) & ~(2 * MiB - 1);
	ret = pin_fresh(fd, len);
	ksft_print_msg("MemFree %ld MiB, file LRU (lazyfree) %ld MiB: write PIN of %zu MiB fresh: %s\n",
		       free_kb / 1024, lazy_kb / 1024, len / MiB, ret ? strerror(-ret) : "pinned");
	if (constrained && ret == -ENOMEM)
		ret = 0;	/* allowed to be refused there */
out:
	close(fd);
	kill(filler, SIGKILL);
	waitpid(filler, NULL, 0);
	self->filler = 0;
	ASSERT_EQ(0, ret);
	ASSERT_EQ(oom, vmstat("oom_kill"));
}

/*
 * A write pin over the huge zero page needs a new page for every page: as
 * much as an untouched buffer, so it does not fit either.
 */
PM_TEST_F(fit, write_pin_over_huge_zero_page_enomem, 300)
{
	long oom = vmstat("oom_kill");
	size_t len = 520 * MiB, i;
	volatile char sink = 0;
	char *buf;
	int fd;

	NEED_MOVABLE();
	if (read_long("/sys/kernel/mm/transparent_hugepage/use_zero_page") != 1)
		SKIP(return, "THP use_zero_page is off");
	buf = map_aligned(len, PMD_BYTES);
	ASSERT_NE(NULL, buf);
	madvise(buf, len, MADV_HUGEPAGE);
	for (i = 0; i < len; i += PMD_BYTES)
		sink += buf[i];		/* maps the huge zero page */
	(void)sink;
	NEED_MORE_THAN_PINNABLE(len);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(-ENOMEM, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, NULL, NULL));
	ASSERT_EQ(oom, vmstat("oom_kill"));
	close(fd);
}

/*
 * Pages a pin moved out of CMA stay there after UNPIN: pinning them again
 * migrates nothing, however little memory is free outside CMA: a kernel
 * (>= 6.3) that exports no test of a page for CMA must not make pinmem
 * take every page as maybe in CMA and refuse any pin larger than that
 * free memory.
 */
PM_TEST_F(fit, repin_outside_cma_needs_no_memory, 300)
{
	size_t len = 300 * MiB;
	uint64_t cs, ce, h;
	long free_kb, cma_free_kb, pin_free_kb, pin_file_kb;
	char *buf;
	int fd, ret;

	if (!cma_range(&cs, &ce))
		SKIP(return, "kernel has no CMA area (boot with cma=)");
	/* what the first PIN migrates must fit where long-term pins may be */
	pinnable_zone_kb(&pin_free_kb, &pin_file_kb);
	if (len > (size_t)pin_free_kb / 4 * 3 * 1024)
		len = ((size_t)pin_free_kb / 4 * 3 * 1024) & ~(2 * MiB - 1);
	buf = map_anon(len, RW);
	ASSERT_NE(NULL, buf);
	fill_pattern(buf, len, 91);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, len, 0, &h, NULL));
	ASSERT_EQ(0, pages_in_phys_range(buf, len, cs, ce));
	ASSERT_EQ(0, pm_unpin(fd, h));
	free_kb = meminfo_kb("MemFree");
	cma_free_kb = meminfo_kb("CmaFree");
	ret = pm_pin(fd, buf, len, 0, &h, NULL);
	ksft_print_msg("%zu MiB outside CMA, %ld MiB free outside CMA: PIN again: %s\n",
		       len / MiB, (free_kb - cma_free_kb) / 1024, ret ? strerror(-ret) : "ok");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, check_pattern(buf, len, 91));
	close(fd);
}

/* Moves the pinning thread between CPUs every millisecond until told to stop. */
struct cpu_hopper {
	pid_t tid;
	int ncpus;
	int stop;
};

static void *cpu_hop(void *arg)
{
	struct cpu_hopper *h = arg;
	int i = 0;

	while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
		run_on_cpu(h->tid, i++ % h->ncpus);
		usleep(1000);
	}
	return NULL;
}

/*
 * The fit check's estimate against the page allocator's per-CPU lists: a
 * pin that faults in page after page refills the list of the CPU it runs
 * on from the free lists, and pages there count as neither free nor used
 * in the counters the check reads and the allocator's watermarks test. A
 * pinner that runs on every CPU in turn fills all of them; a buffer of
 * untouched memory bigger than what lies outside ZONE_MOVABLE/CMA must
 * still be refused with ENOMEM, three times, and nobody OOM-killed.
 */
PM_TEST_F(fit, refused_while_hopping_cpus, 300)
{
	struct cpu_hopper h = { .tid = syscall(SYS_gettid) };
	long oom = vmstat("oom_kill"), total = meminfo_kb("MemTotal");
	cpu_set_t all;
	pthread_t t;
	size_t len;
	char *buf;
	int fd, i;

	ASSERT_EQ(0, sched_getaffinity(0, sizeof(all), &all));
	h.ncpus = CPU_COUNT(&all);
	if (h.ncpus < 2)
		SKIP(return, "one CPU: no per-CPU list to hop to");
	if (meminfo_kb("CmaTotal") <= 0)
		NEED_MOVABLE();
	len = ((size_t)total * 1024 / 10 * 8) & ~(PMD_BYTES - 1);
	NEED_MORE_THAN_PINNABLE(len);
	buf = mmap(NULL, len, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	for (i = 0; i < 3; i++) {
		__atomic_store_n(&h.stop, 0, __ATOMIC_RELAXED);
		ASSERT_EQ(0, pthread_create(&t, NULL, cpu_hop, &h));
		ASSERT_EQ(-ENOMEM, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, NULL, NULL));
		__atomic_store_n(&h.stop, 1, __ATOMIC_RELAXED);
		pthread_join(t, NULL);
		ASSERT_EQ(oom, vmstat("oom_kill"));
		madvise(buf, len, MADV_DONTNEED);
	}
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(all), &all));
	ASSERT_EQ(0, pins_outstanding());
	close(fd);
	munmap(buf, len);
}

static PM_TEST_HARNESS_FN(harness_main)

/* memlock_exec_loop_bounded's rounds exec this binary with --exec-round */
int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--exec-round"))
		return exec_round(atoi(argv[2]), atoi(argv[3]));
	return harness_main(argc, argv);
}
