// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem safety tests: the holes of kernel-review-c41e9a5.md, tried the way
 * a hostile or an ordinary user falls into them. Races between threads on
 * one fd, accounting across exec, fork and fd passing as an unprivileged
 * user, one user's pool data reaching another, opens racing a failing
 * load, pins under memory pressure, read pins a device must see the
 * process's later writes through, hugetlb, file page cache, tagged
 * pointers and the ABI numbers.
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
#include <sys/ioctl.h>
#include <linux/dma-heap.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pinmem_test_uapi.h"
#include "util.h"

#define RW (PROT_READ | PROT_WRITE)
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef PR_SET_TAGGED_ADDR_CTRL
#define PR_SET_TAGGED_ADDR_CTRL 55
#define PR_TAGGED_ADDR_ENABLE (1UL << 0)
#endif
/* ABI 1 headers lack it: lets these tests run against the c41e9a5 module */
#ifndef PINMEM_ARGS_SIZE_MAX
#define PINMEM_ARGS_SIZE_MAX (1 << 12)	/* bytes of an argument struct */
#endif
#ifndef MADV_FREE
#define MADV_FREE 8
#endif

/* kernel version as major * 100 + minor */
static int kver(void)
{
	struct utsname u;
	int a = 0, b = 0;

	uname(&u);
	sscanf(u.release, "%d.%d", &a, &b);
	return a * 100 + b;
}

/* run @fn in a child; its exit status (0 = pass), or -1 */
static int in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		fflush(stdout);
		_exit(fn(arg));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* drop to @uid with RLIMIT_MEMLOCK @limit; setuid() clears CAP_IPC_LOCK */
static int become(uid_t uid, rlim_t limit)
{
	struct rlimit rl = { limit, limit };

	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		return -1;
	if (setgid(uid) || setuid(uid))
		return -1;
	return 0;
}

/* /dev/pinmem open to everyone (as a 0660 group device is to its group) */
static void dev_open_to_all(bool on)
{
	chmod("/dev/pinmem", on ? 0666 : 0600);
}

/* Reload the module with @params: 0 or -errno of finit_module(). */
static int reload_module(const char *params)
{
	int kfd, ret = 0, i;

	if (syscall(SYS_delete_module, "pinmem", O_NONBLOCK) && errno != ENOENT)
		return -errno;
	kfd = open(ko_path(), O_RDONLY | O_CLOEXEC);
	if (kfd < 0)
		return -errno;
	if (syscall(SYS_finit_module, kfd, params, 0))
		ret = -errno;
	close(kfd);
	for (i = 0; !ret && i < 100 && access("/dev/pinmem", F_OK); i++)
		usleep(10000);
	return ret;
}

/* Is the kernel fully preemptible (CONFIG_PREEMPT, or preempt=full)? */
static bool preempt_full(void)
{
	FILE *f = fopen("/sys/kernel/debug/sched/preempt", "r");
	char line[128] = "";
	struct utsname u;

	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
		return strstr(line, "(full)") != NULL;
	}
	uname(&u);
	return strstr(u.version, "PREEMPT ") && !strstr(u.version, "PREEMPT_DYNAMIC");
}

/* ------------------------------------------------------------ races (1) */

struct race {
	int fd;
	bool contig;
	char *buf;
	volatile uint64_t a_last;	/* last handle A got back */
	volatile int stop;
	long a_iters, b_frees, wins, bad, errors;
	char why[160];
};

static void on_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/*
 * A, SCHED_IDLE: make an object, check its answer, free it unless B did.
 * Handles of a context grow by one per object made, whatever B frees.
 */
static void *race_a(void *p)
{
	struct sched_param sp = { 0 };
	struct race *r = p;
	uint64_t prev = 0, h = 0;
	int ret;

	on_cpu0();
	sched_setscheduler(0, SCHED_IDLE, &sp);
	while (!r->stop) {
		if (r->contig) {
			struct pinmem_contig_alloc_args a = { .length = PAGE };

			ret = pm_contig_alloc(r->fd, &a);
			h = a.handle;
			if (!ret && a.mmap_offset != h * PAGE) {
				snprintf(r->why, sizeof(r->why),
					 "handle %llu but mmap_offset %#llx",
					 (unsigned long long)h,
					 (unsigned long long)a.mmap_offset);
				r->bad++;
			}
		} else {
			ret = pm_pin(r->fd, r->buf, PAGE, 0, &h, NULL);
		}
		if (ret) {
			r->errors++;
			snprintf(r->why, sizeof(r->why), "make: %s", strerror(-ret));
			continue;
		}
		if (h != prev + 1) {
			snprintf(r->why, sizeof(r->why),
				 "handle %llu after %llu",
				 (unsigned long long)h, (unsigned long long)prev);
			r->bad++;
		}
		prev = h;
		r->a_last = h;
		if (!r->contig) {
			struct pinmem_query_args q = {
				.size = sizeof(q), .flags = PINMEM_QUERY_BY_ADDR,
				.addr = (uintptr_t)r->buf,
			};

			ret = pm_query(r->fd, &q);
			if (!ret && q.handle != h) {
				snprintf(r->why, sizeof(r->why),
					 "PIN said %llu, QUERY says %llu",
					 (unsigned long long)h,
					 (unsigned long long)q.handle);
				r->bad++;
			}
			ret = pm_unpin(r->fd, h);
		} else {
			ret = pm_contig_free(r->fd, h);
		}
		if (ret && ret != -ENOENT)
			r->errors++;
		r->a_iters++;
	}
	return NULL;
}

/*
 * B, SCHED_OTHER on the same CPU: free the handle A is about to get, for
 * @seconds, or on a fully preemptible kernel until the window was won a
 * few times (at most 5 x @seconds).
 */
static void race_b(struct race *r, double seconds)
{
	double start = now_s(), t;
	bool full = preempt_full();
	long n = 0;

	on_cpu0();
	while ((t = now_s() - start) < seconds ||
	       (full && r->wins < 3 && t < 5 * seconds)) {
		uint64_t h = r->a_last + 1;
		int ret = r->contig ? pm_contig_free(r->fd, h) : pm_unpin(r->fd, h);

		if (!ret) {
			r->b_frees++;
			/* freed before A's ioctl returned it */
			if (r->a_last < h)
				r->wins++;
		}
		if (!(++n % 64))
			sched_yield();
	}
	r->stop = 1;
}

static int run_race(bool contig)
{
	struct race r = { .contig = contig };
	pthread_t a;

	r.fd = pm_open();
	CHECK(r.fd >= 0);
	r.buf = map_anon(PAGE, RW);
	CHECK(r.buf);
	CHECK_EQ(pthread_create(&a, NULL, race_a, &r), 0);
	race_b(&r, 8.0);
	pthread_join(a, NULL);
	close(r.fd);
	diag("%s: A made %ld, B freed %ld, %ld of them before A's ioctl returned; preemption %s",
	     contig ? "CONTIG_ALLOC/FREE" : "PIN/UNPIN", r.a_iters, r.b_frees,
	     r.wins, preempt_full() ? "full" : "not full");
	if (r.bad || r.errors) {
		diag("%ld wrong answers, %ld errors; last: %s", r.bad, r.errors, r.why);
		return T_FAIL;
	}
	CHECK(r.a_iters > 0);
	if (preempt_full() && !r.wins) {
		diag("the race window was never won: this run proves nothing");
		return T_FAIL;
	}
	return T_PASS;
}

static int t_race_unpin_new_handle(void)
{
	return run_race(false);
}

static int t_race_contig_free_new_handle(void)
{
	return run_race(true);
}

/* -------------------------------------------------------- accounting (2) */

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
	execl("/proc/self/exe", "test_safety", "--exec-round", rs, fs, NULL);
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
	execl("/proc/self/exe", "test_safety", "--exec-round", "1", fs, NULL);
	return 91;
}

/*
 * exec with the fd inherited: each round's pins stay alive in the fd table
 * after the mm they were charged to is gone.
 */
static int t_memlock_exec_loop(void)
{
	char res[ROUNDS + 1] = "";
	int p[2], rc;
	ssize_t n;

	CHECK_EQ(pipe(p), 0);
	dev_open_to_all(true);
	rc = in_child(exec_loop_child, p);
	dev_open_to_all(false);
	close(p[1]);
	n = read(p[0], res, ROUNDS);
	close(p[0]);
	diag("uid 65534, RLIMIT_MEMLOCK 1 MiB, pin 1 MiB per exec round: %.*s (y = pinned)",
	     (int)(n > 0 ? n : 0), res);
	CHECK_EQ(rc, 0);
	CHECK_EQ(n, ROUNDS);
	CHECK(!memcmp(res, "ynnnnnnn", ROUNDS));
	return T_PASS;
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
static int t_memlock_pidfd_getfd(void)
{
	int held[ROUNDS], nheld = 0, i, status;
	char res[ROUNDS + 1] = "";
	struct getfd_arg g;

	dev_open_to_all(true);
	for (i = 0; i < ROUNDS; i++) {
		int pidfd, fd;
		pid_t pid;
		char c = 'x';

		CHECK_EQ(pipe(g.ctl), 0);
		CHECK_EQ(pipe(g.ack), 0);
		pid = fork();
		CHECK(pid >= 0);
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
			return skip("kernel has no pidfd_open()");
		}
		CHECK(pidfd >= 0);
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
		if (write(g.ctl[1], "x", 1) != 1)
			return T_FAIL;
		waitpid(pid, &status, 0);
		close(g.ctl[0]); close(g.ctl[1]); close(g.ack[0]); close(g.ack[1]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	dev_open_to_all(false);
	diag("uid 65534 children pin 1 MiB each, a holder takes their fds: %s; %ld pages pinned after all exited",
	     res, debugfs_stat("pinned_pages"));
	CHECK_EQ(nheld, ROUNDS);
	CHECK_EQ(debugfs_stat("pinned_pages"), LIMIT / PAGE);
	for (i = 0; i < nheld; i++)
		close(held[i]);
	CHECK(!strcmp(res, "ynnnnnnn"));
	return T_PASS;
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
static int t_memlock_fork_close(void)
{
	char *res = mmap(NULL, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	CHECK(res != MAP_FAILED);
	dev_open_to_all(true);
	CHECK_EQ(in_child(fork_close_child, res), 0);
	dev_open_to_all(false);
	diag("uid 65534: open, pin 1 MiB, fork a child, close; per round: %.8s", res);
	CHECK(!memcmp(res, "ynnnnnnn", ROUNDS));
	return T_PASS;
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
static int t_contig_charged_to_user(void)
{
	int rc;

	dev_open_to_all(true);
	rc = in_child(contig_charge_child, NULL);
	dev_open_to_all(false);
	CHECK_EQ(rc, 0);
	return T_PASS;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
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
static int t_contig_charged_to_memcg(void)
{
	struct memcg_res *m = mmap(NULL, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	const char *cg = "/sys/fs/cgroup/pinmem-test";
	long ooms;
	int status;
	pid_t pid;

	CHECK(m != MAP_FAILED);
	mkdir("/sys/fs/cgroup", 0755);
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) &&
	    mount("none", "/sys/fs/cgroup", "cgroup2", 0, NULL))
		return skip("no cgroup2 (%s)", strerror(errno));
	if (write_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory"))
		return skip("no memory controller");
	rmdir(cg);
	CHECK_EQ(mkdir(cg, 0755), 0);
	CHECK_EQ(write_file("/sys/fs/cgroup/pinmem-test/memory.max", "8388608"), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid)
		_exit(memcg_child(m));
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	ooms = cg_value("/sys/fs/cgroup/pinmem-test/memory.events", "oom_kill");
	rmdir(cg);
	diag("memory.max 8 MiB: %ld one-page buffers, then %s; memory.current %ld -> %ld; memcg oom_kill %ld",
	     m->allocated,
	     WIFSIGNALED(status) ? "killed" : m->err ? strerror(-m->err) : "no failure",
	     m->before, m->peak, ooms);
	CHECK(m->allocated < (long)(8 * MiB / PAGE));
	/* the limit is an ENOMEM, not an OOM kill (a buffer's metadata too) */
	CHECK(!WIFSIGNALED(status));
	CHECK_EQ(ooms, 0);
	CHECK_EQ(WEXITSTATUS(status), 0);
	CHECK_EQ(m->err, -ENOMEM);
	CHECK(m->peak - m->before >= (long)(m->allocated / 2 * PAGE));
	return T_PASS;
}

/* ------------------------------------------------------------ pool (3, 8) */

/*
 * As uid 1000, fill a pool buffer with 0xA5 and free it; as uid 1001
 * (@dirty set), count the bytes of a new pool buffer that are not zero.
 */
static int pool_user(void *arg)
{
	struct pinmem_contig_alloc_args a = {
		.flags = PINMEM_CONTIG_POOL, .length = 64 * 1024,
	};
	long *dirty = arg;
	size_t i;
	int fd;
	char *p;

	if (become(dirty ? 1001 : 1000, LIMIT))
		return 90;
	fd = pm_open();
	if (fd < 0 || pm_contig_alloc(fd, &a))
		return 91;
	p = mmap(NULL, a.length, RW, MAP_SHARED, fd, a.mmap_offset);
	if (p == MAP_FAILED)
		return 92;
	if (dirty) {
		for (i = 0; i < a.length; i++)
			*dirty += p[i] != 0;
		return 0;
	}
	memset(p, 0xA5, a.length);
	munmap(p, a.length);
	return pm_contig_free(fd, a.handle) ? 93 : 0;
}

/* a pool buffer freed by uid 1000 reaches uid 1001 zeroed */
static int t_pool_buffer_zeroed_across_users(void)
{
	long *dirty = mmap(NULL, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int r1, r2;

	CHECK(dirty != MAP_FAILED);
	if (debugfs_value("cma", "pool_bytes") < (long)(64 * 1024))
		CHECK_EQ(reload_module("pool_mb=2"), 0);
	dev_open_to_all(true);
	r1 = in_child(pool_user, NULL);
	r2 = in_child(pool_user, dirty);
	dev_open_to_all(false);
	CHECK_EQ(r1, 0);
	CHECK_EQ(r2, 0);
	diag("%ld of 65536 bytes of uid 1000's data seen by uid 1001", *dirty);
	CHECK_EQ(*dirty, 0);
	return T_PASS;
}

/* pool_mb beyond the page allocator's largest block: a clear refusal */
static int t_pool_mb_beyond_max_order(void)
{
	/* (the boot line cma_range() reads may have left the kernel log) */
	bool cma = meminfo_kb("CmaTotal") > 0;
	int ret = reload_module("pool_mb=16");

	long pool = ret ? 0 : debugfs_value("cma", "pool_bytes");

	diag("pool_mb=16 on a kernel %s a CMA area: %s", cma ? "with" : "without",
	     ret ? strerror(-ret) : "loaded");
	CHECK_EQ(reload_module("pool_mb=2"), 0);
	if (cma) {
		CHECK_EQ(ret, 0);
		CHECK_EQ(pool, 16 * MiB);
	} else {
		CHECK_EQ(ret, -EINVAL);
	}
	return T_PASS;
}

/* ------------------------------------------------- IN_CMA (13) */

/*
 * One-page buffers never come from CMA (dma_alloc_contiguous() leaves
 * single pages to the page allocator), so they are never IN_CMA, even
 * while someone else's cma_alloc()s succeed all along: c41e9a5 read IN_CMA
 * off the system-wide CMA_ALLOC_SUCCESS count.
 */
static int t_in_cma_not_fooled_by_other_cma_users(void)
{
	int heap = open("/dev/dma_heap/reserved", O_RDONLY | O_CLOEXEC);
	long wrong = 0, i;
	pid_t x;
	int fd;

	if (heap < 0)
		return skip("no CMA dma-buf heap (/dev/dma_heap/reserved: %s)",
			    strerror(errno));
	x = fork();
	CHECK(x >= 0);
	if (!x) {
		for (;;) {	/* another CMA user: cma_alloc() after cma_alloc() */
			struct dma_heap_allocation_data d = {
				.len = 64 * 1024, .fd_flags = O_RDWR | O_CLOEXEC,
			};

			if (!ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d))
				close(d.fd);
		}
	}
	fd = pm_open();
	CHECK(fd >= 0);
	for (i = 0; i < 2000; i++) {
		struct pinmem_contig_alloc_args a = { .length = PAGE };

		if (pm_contig_alloc(fd, &a))
			continue;
		wrong += !!(a.placement & PINMEM_CONTIG_IN_CMA);
		pm_contig_free(fd, a.handle);
	}
	kill(x, SIGKILL);
	waitpid(x, NULL, 0);
	close(fd);
	close(heap);
	diag("%ld of 2000 one-page buffers said IN_CMA while another process allocated from the CMA heap",
	     wrong);
	CHECK_EQ(wrong, 0);
	return T_PASS;
}

/* ------------------------------------------- no lock across CMA (10) */

/* [start, end) of pinmem's module image, from /proc/modules (root, raw). */
static bool module_range(unsigned long long *start, unsigned long long *end)
{
	FILE *f = fopen("/proc/modules", "re");
	char line[512], name[64];
	unsigned long long size, base;
	bool ok = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %llu %*s %*s %*s %llx", name, &size, &base) == 3 &&
		    !strcmp(name, "pinmem") && base) {
			*start = base;
			*end = base + size;
			ok = true;
		}
	}
	fclose(f);
	return ok;
}

/*
 * Review finding 10: no lock of pinmem's may be held while the CMA core
 * migrates pages out of its area for an allocation (seconds for a big
 * buffer), or munmap() and exit() of every other user's buffer wait for
 * it. Asked of lockdep rather than of a clock: after a CONTIG_ALLOC that
 * came from CMA and a munmap of its mapping, no lock class whose key lies
 * in pinmem's module image has cma_mutex (alloc_contig_range()'s lock)
 * among the locks taken while it was held. The debug kernel boots with
 * no_hash_pointers, so /proc/lockdep shows the keys as they are.
 */
static int t_no_pinmem_lock_across_cma_alloc(void)
{
	unsigned long long mstart = 0, mend = 0, key;
	int fd, ours = 0, bad = 0, saw_cma_mutex = 0;
	struct pinmem_contig_alloc_args a = { .length = 4 * MiB };
	char line[512], cls[sizeof(line)] = "";
	bool in_ours = false;
	void *p;
	FILE *f;

	if (access("/proc/lockdep", R_OK))
		return skip("kernel has no /proc/lockdep (CONFIG_PROVE_LOCKING)");
	/* a splat before (KASAN, a lockdep report) turns lockdep off for good */
	f = fopen("/proc/lockdep_stats", "re");
	CHECK(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " debug_locks: %d", &bad) == 1 && !bad) {
			fclose(f);
			return skip("lockdep turned itself off after an earlier splat (debug_locks 0)");
		}
	fclose(f);
	bad = 0;
	if (!module_range(&mstart, &mend))
		return skip("/proc/modules shows no address for pinmem (kptr_restrict)");
	fd = pm_open();
	CHECK(fd >= 0);
	CHECK_EQ(pm_contig_alloc(fd, &a), 0);
	if (!(a.placement & PINMEM_CONTIG_IN_CMA)) {
		pm_contig_free(fd, a.handle);
		close(fd);
		return skip("the contiguous buffer did not come from CMA (boot with cma=)");
	}
	p = mmap(NULL, a.length, RW, MAP_SHARED, fd, a.mmap_offset);
	CHECK(p != MAP_FAILED);
	memset(p, 1, a.length);
	CHECK_EQ(munmap(p, a.length), 0);
	CHECK_EQ(pm_contig_free(fd, a.handle), 0);
	close(fd);

	f = fopen("/proc/lockdep", "re");
	CHECK(f);
	while (fgets(line, sizeof(line), f)) {
		char *name = strstr(line, "] ");

		line[strcspn(line, "\n")] = 0;
		if (line[0] != ' ' && sscanf(line, "%llx", &key) == 1) {
			/* "KEY FD: n BD: n USAGE: NAME" */
			char *bd = strstr(line, " BD:"), *n = strstr(bd ? bd + 4 : line, ": ");

			in_ours = key >= mstart && key < mend;
			snprintf(cls, sizeof(cls), "%s", n ? n + 2 : line);
			ours += in_ours;
			saw_cma_mutex |= n && !strcmp(n + 2, "cma_mutex");
		} else if (!strncmp(line, " -> [", 5) && name && in_ours &&
			   !strcmp(name + 2, "cma_mutex")) {
			diag("pinmem's %s is held while cma_alloc() takes cma_mutex", cls);
			bad++;
		}
	}
	fclose(f);
	diag("%d lock classes of pinmem in /proc/lockdep (module at %#llx-%#llx)",
	     ours, mstart, mend);
	if (!ours)
		return skip("no lock class key inside pinmem's image: pointers hashed (boot with no_hash_pointers)");
	CHECK(saw_cma_mutex);	/* the allocation went through cma_alloc() */
	CHECK_EQ(bad, 0);
	return T_PASS;
}

/* ---------------------------------------------------- init ordering (7) */

struct opener {
	volatile int stop;
	long opened;
	int fds[256];
};

static void *open_loop(void *p)
{
	struct opener *o = p;

	while (!o->stop) {
		int fd = open("/dev/pinmem", O_RDWR | O_CLOEXEC);

		if (fd >= 0 && o->opened < 256)
			o->fds[o->opened++] = fd;
		else if (fd >= 0)
			close(fd);
	}
	return NULL;
}

/* open() racing loads that fail: no fd into a module that never was */
static int t_open_during_failing_load(void)
{
	struct opener o = { 0 };
	pthread_t th;
	int kfd, i, fails = 0;
	long r;

	CHECK_EQ(syscall(SYS_delete_module, "pinmem", O_NONBLOCK), 0);
	kfd = open(ko_path(), O_RDONLY | O_CLOEXEC);
	CHECK(kfd >= 0);
	CHECK_EQ(pthread_create(&th, NULL, open_loop, &o), 0);
	for (i = 0; i < 40; i++) {
		r = syscall(SYS_finit_module, kfd, "pool_mb=100000", 0);
		if (r)
			fails++;
		else
			break;
	}
	o.stop = 1;
	pthread_join(th, NULL);
	close(kfd);
	diag("%d failing loads, %ld opens succeeded meanwhile", fails, o.opened);
	for (i = 0; i < o.opened; i++)
		close(o.fds[i]);
	CHECK_EQ(reload_module("pool_mb=2"), 0);
	CHECK_EQ(fails, 40);
	CHECK_EQ(o.opened, 0);
	return T_PASS;
}

/* -------------------------------------------------------- fit check (4-6) */

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
		diag("mmap of %zu MiB: %s", len / MiB, strerror(errno));
		return 1;
	}
	ret = pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL);
	if (!ret && pm_unpin(fd, h))
		ret = -EIO;
	munmap(buf, len);
	return ret;
}

static int t_pin_under_pressure(void)
{
	long oom = vmstat("oom_kill"), free_kb, lazy_kb, pfree_kb, pfile_kb;
	pid_t filler = lazyfree_filler(64 * 1024);
	bool constrained = meminfo_kb("HighTotal") > 0 || meminfo_kb("CmaTotal") > 0;
	size_t len;
	int fd, ret = 0;

	CHECK(filler > 0);
	free_kb = meminfo_kb("MemFree");
	lazy_kb = meminfo_kb("Inactive(file)") + meminfo_kb("Active(file)");
	fd = pm_open();
	CHECK(fd >= 0);
	if (constrained) {
		pinnable_zone_kb(&pfree_kb, &pfile_kb);
		len = ((size_t)pfree_kb * 1024 + (size_t)pfile_kb / 4 * 1024) & ~(2 * MiB - 1);
		if (len > (size_t)pfree_kb * 1024 + 64 * MiB)
			len = ((size_t)pfree_kb * 1024 + 64 * MiB) & ~(2 * MiB - 1);
		ret = pin_fresh(fd, len);
		diag("pinnable zones: %ld MiB free, at least %ld MiB file LRU outside CMA: write PIN of %zu MiB fresh: %s",
		     pfree_kb / 1024, pfile_kb / 1024, len / MiB, ret ? strerror(-ret) : "pinned");
		if (ret)
			goto out;
	}
	len = ((size_t)free_kb * 1024 + 128 * MiB) & ~(2 * MiB - 1);
	ret = pin_fresh(fd, len);
	diag("MemFree %ld MiB, file LRU (lazyfree) %ld MiB: write PIN of %zu MiB fresh: %s",
	     free_kb / 1024, lazy_kb / 1024, len / MiB, ret ? strerror(-ret) : "pinned");
	if (constrained && ret == -ENOMEM)
		ret = 0;	/* allowed to be refused there */
out:
	close(fd);
	kill(filler, SIGKILL);
	waitpid(filler, NULL, 0);
	CHECK_EQ(ret, 0);
	CHECK_EQ(vmstat("oom_kill"), oom);
	return T_PASS;
}

/*
 * A write pin over the huge zero page needs a new page for every page: as
 * much as an untouched buffer, so it does not fit either.
 */
static int t_write_pin_over_huge_zero_page(void)
{
	long oom = vmstat("oom_kill");
	size_t len = 520 * MiB, i;
	volatile char sink = 0;
	char *buf;
	int fd;

	if (need_movable() == T_SKIP)
		return T_SKIP;
	if (read_long("/sys/kernel/mm/transparent_hugepage/use_zero_page") != 1)
		return skip("THP use_zero_page is off");
	buf = map_aligned(len, PMD_BYTES);
	CHECK(buf);
	madvise(buf, len, MADV_HUGEPAGE);
	for (i = 0; i < len; i += PMD_BYTES)
		sink += buf[i];		/* maps the huge zero page */
	(void)sink;
	{
		long free_kb, file_kb;

		pinnable_zone_kb(&free_kb, &file_kb);
		if ((long)(len >> 10) <= free_kb + file_kb)
			return skip("the memory outside ZONE_MOVABLE/CMA (%ld MiB free, %ld MiB file LRU) could take the %zu MiB: nothing to refuse",
				    free_kb >> 10, file_kb >> 10, len / MiB);
	}
	fd = pm_open();
	CHECK(fd >= 0);
	CHECK_EQ(pm_pin(fd, buf, len, PINMEM_PIN_WRITE, NULL, NULL), -ENOMEM);
	CHECK_EQ(vmstat("oom_kill"), oom);
	close(fd);
	return T_PASS;
}

/*
 * Pages a pin moved out of CMA stay there after UNPIN: pinning them again
 * migrates nothing, however little memory is free outside CMA. (With no
 * exported CMA test, c41e9a5 took every page of a >= 6.3 kernel as maybe
 * in CMA and refused any pin larger than that free memory.)
 */
static int t_repin_outside_cma_needs_no_memory(void)
{
	size_t len = 300 * MiB;
	uint64_t cs, ce, h;
	long free_kb, cma_free_kb, pin_free_kb, pin_file_kb;
	char *buf;
	int fd, ret;

	if (!cma_range(&cs, &ce))
		return skip("kernel has no CMA area (boot with cma=)");
	/* what the first PIN migrates must fit where long-term pins may be */
	pinnable_zone_kb(&pin_free_kb, &pin_file_kb);
	if (len > (size_t)pin_free_kb / 4 * 3 * 1024)
		len = ((size_t)pin_free_kb / 4 * 3 * 1024) & ~(2 * MiB - 1);
	buf = map_anon(len, RW);
	CHECK(buf);
	fill_pattern(buf, len, 91);
	fd = pm_open();
	CHECK(fd >= 0);
	CHECK_EQ(pm_pin(fd, buf, len, 0, &h, NULL), 0);
	CHECK_EQ(pages_in_phys_range(buf, len, cs, ce), 0);
	CHECK_EQ(pm_unpin(fd, h), 0);
	free_kb = meminfo_kb("MemFree");
	cma_free_kb = meminfo_kb("CmaFree");
	ret = pm_pin(fd, buf, len, 0, &h, NULL);
	diag("%zu MiB outside CMA, %ld MiB free outside CMA: PIN again: %s",
	     len / MiB, (free_kb - cma_free_kb) / 1024, ret ? strerror(-ret) : "ok");
	CHECK_EQ(ret, 0);
	CHECK_EQ(check_pattern(buf, len, 91), 0);
	close(fd);
	return T_PASS;
}

/* ------------------------------------------------------- coherency */

/* a read pin (the device reads) of memory the process fills afterwards */
static int read_pin_sees_writes(bool touch_first)
{
	const size_t len = 64 * PAGE;
	char *buf = mmap(NULL, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *out = malloc(len);
	volatile char sink = 0;
	uint64_t h;
	size_t i;
	int fd;

	CHECK(buf != MAP_FAILED && out);
	if (touch_first)
		for (i = 0; i < len; i += PAGE)
			sink += buf[i];	/* maps the shared zero page */
	(void)sink;
	fd = pm_open();
	CHECK(fd >= 0);
	CHECK_EQ(pm_pin(fd, buf, len, 0, &h, NULL), 0);
	fill_pattern(buf, len, 77);
	CHECK_EQ(pm_access(fd, h, 0, len, out, 0), 0);
	diag("%zu of %zu bytes the device reads differ from what the process wrote",
	     check_pattern(out, len, 77), len);
	CHECK_EQ(check_pattern(out, len, 77), 0);
	/* and a fork does not take the pinned pages away from the parent */
	if (!fork()) {
		buf[0] = 1;
		_exit(0);
	}
	wait(NULL);
	buf[1] = 42;
	CHECK_EQ(pm_access(fd, h, 0, PAGE, out, 0), 0);
	CHECK_EQ(out[1], 42);
	close(fd);
	free(out);
	return T_PASS;
}

static int t_read_pin_of_untouched_sees_writes(void)
{
	return read_pin_sees_writes(false);
}

static int t_read_pin_of_read_only_touched_sees_writes(void)
{
	return read_pin_sees_writes(true);
}

/* ------------------------------------------------------------ hugetlb */

static int hugetlb_pin(void)
{
	const size_t len = hugetlb_size();
	struct zone_range z[MAX_ZONE_RANGES];
	int nz = zones_load(z, MAX_ZONE_RANGES), fd, ret;
	struct pinmem_query_args q = { .size = sizeof(q) };
	uint64_t h, pfn, cs = 0, ce = 0;
	bool unpinnable, cma = cma_range(&cs, &ce);
	char *buf, *out = malloc(len), nr[24];
	const char *zone;

	if (!len)
		return skip("no hugetlb pages (no Hugepagesize in /proc/meminfo)");
	CHECK(out);
	/* 16 MiB of them, at least two: one to migrate into */
	snprintf(nr, sizeof(nr), "%zu", len < 8 * MiB ? 16 * MiB / len : 2);
	write_file("/proc/sys/vm/nr_hugepages", nr);
	if (read_long("/proc/sys/vm/nr_hugepages") < 1)
		return skip("no %zu MiB huge pages could be reserved", len / MiB);
	buf = mmap(NULL, len, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (buf == MAP_FAILED)
		return skip("MAP_HUGETLB: %s", strerror(errno));
	fill_pattern(buf, len, 88);
	pfn = pfn_of(buf);
	zone = zone_of_pfn(z, nz, pfn);
	unpinnable = (zone && !strcmp(zone, "Movable")) ||
		     (cma && pfn * PAGE >= cs && pfn * PAGE < ce);
	fd = pm_open();
	CHECK(fd >= 0);
	ret = pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL);
	diag("huge page at pfn %#llx (%s%s), kernel %d.%02d: PIN %s",
	     (unsigned long long)pfn, zone ? zone : "?",
	     cma && pfn * PAGE >= cs && pfn * PAGE < ce ? ", CMA" : "",
	     kver() / 100, kver() % 100, ret ? strerror(-ret) : "ok");
	if (unpinnable && kver() < 605) {
		/* refused before GUP's WARN_ON_ONCE (the log is checked too) */
		CHECK_EQ(ret, -EOPNOTSUPP);
		close(fd);
		munmap(buf, len);
		return T_PASS;
	}
	CHECK_EQ(ret, 0);
	q.handle = h;
	CHECK_EQ(pm_query(fd, &q), 0);
	CHECK_EQ(q.nr_huge, len / PAGE);
	CHECK_EQ(q.zone_pages[PINMEM_ZONE_MOVABLE], 0);
	pfn = pfn_of(buf);
	zone = zone_of_pfn(z, nz, pfn);
	CHECK(!zone || strcmp(zone, "Movable"));
	CHECK(!cma || pfn * PAGE < cs || pfn * PAGE >= ce);
	CHECK_EQ(pm_access(fd, h, 0, len, out, 0), 0);
	CHECK_EQ(check_pattern(out, len, 88), 0);
	fill_pattern(out, len, 89);
	CHECK_EQ(pm_access(fd, h, 0, len, out, PINMEM_ACCESS_WRITE), 0);
	CHECK_EQ(check_pattern(buf, len, 89), 0);
	CHECK_EQ(pm_unpin(fd, h), 0);
	close(fd);
	munmap(buf, len);
	return T_PASS;
}

/* hugetlb pages (default size): pinned out of Movable/CMA, or refused cleanly */
static int t_hugetlb_pin(void)
{
	int r = hugetlb_pin();

	write_file("/proc/sys/vm/nr_hugepages", "0");
	return r;
}

/* ------------------------------------------------------- file pins (11) */

/* An ext2 filesystem of @mib MiB on /dev/loop7 at /tmp/pm-ext: T_PASS or skip() */
static int ext_mount(int mib)
{
	int img;

	mkdir("/tmp/pm-ext", 0755);
	img = open("/tmp/pm-ext.img", O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(img >= 0);
	CHECK_EQ(ftruncate(img, (off_t)mib * MiB), 0);
	close(img);
	if (system("losetup /dev/loop7 /tmp/pm-ext.img >/dev/null 2>&1 || "
		   "{ mknod /dev/loop7 b 7 7 2>/dev/null; losetup /dev/loop7 /tmp/pm-ext.img; }"))
		return skip("no loop device");
	if (system("mke2fs -q /dev/loop7 >/dev/null 2>&1") ||
	    mount("/dev/loop7", "/tmp/pm-ext", "ext2", 0, NULL)) {
		system("losetup -d /dev/loop7");
		return skip("cannot mount an ext2 filesystem (no ext2/ext4)");
	}
	return T_PASS;
}

static void ext_umount(void)
{
	umount("/tmp/pm-ext");
	system("losetup -d /dev/loop7");
	unlink("/tmp/pm-ext.img");
}

static int t_file_write_pins(void)
{
	const size_t len = 1 * MiB;
	char *f, *s, *p;
	int fd, ff, sf, ret = 0;

	ret = ext_mount(16);
	if (ret != T_PASS)
		return ret;
	ff = open("/tmp/pm-ext/f", O_RDWR | O_CREAT, 0600);
	sf = open("/dev/shm/pm-f", O_RDWR | O_CREAT, 0600);
	fd = pm_open();
	CHECK(ff >= 0 && sf >= 0 && fd >= 0);
	CHECK_EQ(ftruncate(ff, len), 0);
	CHECK_EQ(ftruncate(sf, len), 0);
	f = mmap(NULL, len, RW, MAP_SHARED, ff, 0);
	s = mmap(NULL, len, RW, MAP_SHARED, sf, 0);
	p = mmap(NULL, len, RW, MAP_PRIVATE, ff, 0);
	CHECK(f != MAP_FAILED && s != MAP_FAILED && p != MAP_FAILED);
	memset(f, 1, len);
	memset(s, 1, len);

	/* disk page cache: read pins yes, write pins no, on every kernel */
	ret = pm_pin(fd, f, len, PINMEM_PIN_WRITE, NULL, NULL);
	diag("kernel %d.%02d: write PIN of MAP_SHARED ext2 page cache: %s",
	     kver() / 100, kver() % 100, ret ? strerror(-ret) : "pinned");
	CHECK_EQ(ret, -EOPNOTSUPP);
	CHECK_EQ(pm_pin(fd, f, len, 0, NULL, NULL), 0);
	/* shmem and private file mappings are fine */
	CHECK_EQ(pm_pin(fd, s, len, PINMEM_PIN_WRITE, NULL, NULL), 0);
	CHECK_EQ(pm_pin(fd, p, len, PINMEM_PIN_WRITE, NULL, NULL), 0);
	close(fd);
	munmap(f, len);
	munmap(s, len);
	munmap(p, len);
	close(ff);
	close(sf);
	unlink("/dev/shm/pm-f");
	ext_umount();
	return T_PASS;
}

#define PARALLEL_MIN	"/sys/module/pinmem/parameters/parallel_min_pages"

struct fixed_race {
	char *at;
	size_t len;
	int ff, delay_us;
};

static void *map_file_fixed(void *arg)
{
	struct fixed_race *r = arg;

	usleep(r->delay_us);
	if (mmap(r->at, r->len, RW, MAP_SHARED | MAP_FIXED, r->ff, 0) != r->at)
		return (void *)1;
	return NULL;
}

/* pages of the pin @h from page @first on that are pages of @map */
static long pinned_pages_of(int fd, uint64_t h, size_t first, const char *map,
			    size_t len)
{
	size_t n = len / PAGE, i, j;
	uint64_t *pfns = calloc(n, sizeof(*pfns));
	struct pinmem_query_args q = {
		.size = sizeof(q), .handle = h, .flags = PINMEM_QUERY_PFNS,
		.pfns = (uintptr_t)pfns, .pfn_first = first, .nr_pfns = n,
	};
	long same = 0;

	if (!pfns || pm_query(fd, &q) || q.nr_pfns != n) {
		free(pfns);
		return -1;
	}
	for (i = 0; i < n; i++) {
		uint64_t pfn = pfn_of(map + i * PAGE);

		for (j = 0; pfn && j < n; j++)
			same += pfns[j] == pfn;
	}
	free(pfns);
	return same;
}

/*
 * A long-term write pin races another thread's mmap(MAP_FIXED) of a file
 * on a disk filesystem into its range: whichever comes first, no page of
 * the file is pinned (the pin fails, or it holds the anonymous pages it
 * took first). Up to 6.4 GUP itself does not check this; the VMA check
 * before it cannot see the new mapping.
 */
static int file_write_pin_race(void)
{
	const size_t len = 128 * MiB, off = 96 * MiB, flen = 8 * MiB;
	int fd, ff, round, refused = 0, r;
	char *buf;

	r = ext_mount(16);
	if (r != T_PASS)
		return r;
	ff = open("/tmp/pm-ext/f", O_RDWR | O_CREAT, 0600);
	fd = pm_open();
	CHECK(ff >= 0 && fd >= 0);
	CHECK_EQ(ftruncate(ff, flen), 0);
	for (round = 0; round < 20 && refused < 3; round++) {
		struct fixed_race fr = { .len = flen, .ff = ff };
		pthread_t t;
		uint64_t h;
		void *ret;
		long same;

		buf = mmap(NULL, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(buf != MAP_FAILED);
		fr.at = buf + off;
		fr.delay_us = 1000 + round * 2000;
		CHECK_EQ(pthread_create(&t, NULL, map_file_fixed, &fr), 0);
		r = pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL);
		pthread_join(t, &ret);
		CHECK(!ret);
		if (r) {
			diag("round %d: %s", round, strerror(-r));
			CHECK(r == -EOPNOTSUPP || r == -EFAULT);
			refused++;
		} else {
			same = pinned_pages_of(fd, h, off / PAGE, buf + off, flen);
			CHECK_EQ(pm_unpin(fd, h), 0);
			if (same) {
				diag("round %d: %ld pages of the ext2 file pinned for writing",
				     round, same);
				return T_FAIL;
			}
		}
		munmap(buf, len);
	}
	diag("%d rounds: the file was mapped before GUP got there, and the pin refused, in %d",
	     round, refused);
	close(fd);
	close(ff);
	ext_umount();
	if (!refused)
		return skip("the race was never won: the pin always got there first");
	return T_PASS;
}

/* ... with one thread pinning the whole range: the VMA is looked up once */
static int t_file_write_pin_race(void)
{
	char old[32] = "";
	int fd = open(PARALLEL_MIN, O_RDONLY), r;

	CHECK(fd >= 0 && read(fd, old, sizeof(old) - 1) > 0);
	close(fd);
	CHECK_EQ(write_file(PARALLEL_MIN, "0"), 0);
	r = file_write_pin_race();
	write_file(PARALLEL_MIN, old);
	return r;
}

/* huge pages mapped over part of the range, and faulted in */
static void *map_hugetlb_fixed(void *arg)
{
	struct fixed_race *r = arg;

	usleep(r->delay_us);
	if (mmap(r->at, r->len, RW,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
		 -1, 0) != r->at)
		return (void *)1;
	memset(r->at, 1, r->len);
	return NULL;
}

/* Do fresh huge pages of the pool sit where a long-term pin may not keep them? */
static int hugetlb_pool_unpinnable(size_t hsize)
{
	struct zone_range z[MAX_ZONE_RANGES];
	int nz = zones_load(z, MAX_ZONE_RANGES);
	uint64_t pfn, cs = 0, ce = 0;
	bool cma = cma_range(&cs, &ce);
	const char *zone;
	char *h;

	h = mmap(NULL, hsize, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
		 -1, 0);
	if (h == MAP_FAILED)
		return -1;
	h[0] = 1;
	pfn = pfn_of(h);
	zone = zone_of_pfn(z, nz, pfn);
	munmap(h, hsize);
	return (zone && !strcmp(zone, "Movable")) ||
	       (cma && pfn * PAGE >= cs && pfn * PAGE < ce);
}

/*
 * A long-term pin races another thread's mmap(MAP_FIXED) of huge pages
 * into its range, huge pages in ZONE_MOVABLE or CMA. Whichever comes
 * first, the kernel does not warn, and what the pin holds may stay where
 * it is: up to 6.4 GUP cannot migrate such a page and WARNs when asked
 * to pin it long-term, and the VMA check before GUP cannot see the new
 * mapping.
 */
static int hugetlb_pin_race(void)
{
	const size_t len = 128 * MiB, off = 96 * MiB;
	size_t hsize = (size_t)meminfo_kb("Hugepagesize") * 1024, flen;
	long warned = klog_count("WARNING:");
	int fd, round, won = 0, r;
	char *buf;

	if (hsize < PAGE || hsize > 8 * MiB)
		return skip("no huge page size this test can use (%zu kB)",
			    hsize / 1024);
	flen = 4 * hsize;
	write_file("/proc/sys/vm/nr_hugepages", "8");
	if (read_long("/proc/sys/vm/nr_hugepages") < 4)
		return skip("fewer than 4 huge pages could be reserved");
	r = hugetlb_pool_unpinnable(hsize);
	if (r < 0)
		return skip("MAP_HUGETLB: %s", strerror(errno));
	if (!r)
		return skip("the huge page pool is outside ZONE_MOVABLE and CMA: a long-term pin may keep its pages");
	fd = pm_open();
	CHECK(fd >= 0);
	for (round = 0; round < 20 && won < 3; round++) {
		struct fixed_race fr = { .len = flen };
		struct pinmem_query_args q = { .size = sizeof(q) };
		pthread_t t;
		uint64_t h;
		void *ret;

		buf = mmap(NULL, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(buf != MAP_FAILED);
		fr.at = (char *)(((uintptr_t)buf + off + hsize - 1) & ~(hsize - 1));
		fr.delay_us = 1000 + round * 2000;
		CHECK_EQ(pthread_create(&t, NULL, map_hugetlb_fixed, &fr), 0);
		r = pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL);
		pthread_join(t, &ret);
		CHECK(!ret);
		CHECK_EQ(klog_count("WARNING:"), warned);
		if (r) {
			/*
			 * EOPNOTSUPP: huge pages this kernel cannot migrate.
			 * EFAULT, ENOMEM: GUP got there before they were
			 * faulted in, and found no huge page it may keep.
			 */
			diag("round %d: %s", round, strerror(-r));
			CHECK(r == -EOPNOTSUPP || r == -EFAULT || r == -ENOMEM);
			won += r == -EOPNOTSUPP;
		} else {
			q.handle = h;
			CHECK_EQ(pm_query(fd, &q), 0);
			CHECK_EQ(q.zone_pages[PINMEM_ZONE_MOVABLE], 0);
			won += q.nr_huge > 0;
			CHECK_EQ(pm_unpin(fd, h), 0);
		}
		munmap(buf, len);
	}
	diag("%d rounds: huge pages were there before GUP in %d", round, won);
	close(fd);
	if (!won)
		return skip("the race was never won: the pin always got there first");
	return T_PASS;
}

/* ... with one thread pinning the whole range, as above */
static int t_hugetlb_pin_race(void)
{
	char old[32] = "";
	int fd = open(PARALLEL_MIN, O_RDONLY), r;

	CHECK(fd >= 0 && read(fd, old, sizeof(old) - 1) > 0);
	close(fd);
	CHECK_EQ(write_file(PARALLEL_MIN, "0"), 0);
	r = hugetlb_pin_race();
	write_file(PARALLEL_MIN, old);
	write_file("/proc/sys/vm/nr_hugepages", "0");
	return r;
}

/* ------------------------------------------------------- tagged (12) */

static int t_tagged_address(void)
{
#ifdef __aarch64__
	char *buf = map_anon(4 * PAGE, RW);
	struct pinmem_query_args q = {
		.size = sizeof(q), .flags = PINMEM_QUERY_BY_ADDR,
	};
	uint64_t h;
	int fd = pm_open();

	CHECK(buf && fd >= 0);
	if (prctl(PR_SET_TAGGED_ADDR_CTRL, PR_TAGGED_ADDR_ENABLE, 0, 0, 0))
		return skip("tagged addresses not supported: %s", strerror(errno));
	CHECK_EQ(pm_pin(fd, (char *)((uintptr_t)buf | (0x2AUL << 56)), 4 * PAGE, 0,
			&h, NULL), 0);
	q.addr = (uintptr_t)buf;
	CHECK_EQ(pm_query(fd, &q), 0);
	CHECK_EQ(q.handle, h);
	CHECK_EQ(q.addr, (uintptr_t)buf);
	CHECK_EQ(pm_pin(fd, buf, PAGE, 0, NULL, NULL), -EEXIST);
	close(fd);
	return T_PASS;
#else
	return skip("tagged user addresses are tested on arm64 (TBI)");
#endif
}

/* ------------------------------------------------------ seeking (L) */

/* runs= of our only pin in debugfs "pins" */
static long debugfs_runs(void)
{
	FILE *f = fopen("/sys/kernel/debug/pinmem/pins", "r");
	char line[512], *r;
	long runs = -1;

	while (f && fgets(line, sizeof(line), f))
		if ((r = strstr(line, " runs=")))
			runs = atol(r + 6);
	if (f)
		fclose(f);
	return runs;
}

/*
 * A pin of many runs (base pages faulted in reverse order): ACCESS and
 * QUERY find every page where it is, through the seek index.
 */
static int t_seek_in_many_runs(void)
{
	const size_t n = 8192;
	char *buf = mmap(NULL, n * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char out[64];
	uint64_t h, pfn;
	size_t i, k;
	long runs;
	int fd;

	char *gap = mmap(NULL, n * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(buf != MAP_FAILED && gap != MAP_FAILED);
	madvise(buf, n * PAGE, MADV_NOHUGEPAGE);
	madvise(gap, n * PAGE, MADV_NOHUGEPAGE);
	/* each page faulted between two of another buffer: scattered frames */
	for (i = n; i-- > 0;) {
		snprintf(buf + i * PAGE, 64, "page %zu", i);
		gap[i * PAGE] = 1;
	}
	munmap(gap, n * PAGE);
	fd = pm_open();
	CHECK(fd >= 0);
	/* short-term: a migration out of ZONE_MOVABLE/CMA would make the frames consecutive */
	CHECK_EQ(pm_pin(fd, buf, n * PAGE, PINMEM_PIN_SHORTTERM, &h, NULL), 0);
	runs = debugfs_runs();
	diag("%zu pages in %ld runs", n, runs);
	for (k = 0; k < 2000; k++) {
		struct pinmem_query_args q = {
			.size = sizeof(q), .handle = h, .flags = PINMEM_QUERY_PFNS,
			.pfns = (uintptr_t)&pfn, .nr_pfns = 1,
		};

		i = (k * 2654435761u) % n;
		if (k < 3)
			i = k ? n - k : 0;
		q.pfn_first = i;
		CHECK_EQ(pm_access(fd, h, i * PAGE, sizeof(out), out, 0), 0);
		CHECK(!memcmp(out, buf + i * PAGE, sizeof(out)));
		CHECK_EQ(pm_query(fd, &q), 0);
		CHECK_EQ(pfn, pfn_of(buf + i * PAGE));
	}
	CHECK(runs > 64);
	close(fd);
	return T_PASS;
}

/* ----------------------------------------------------------- ABI (14) */

static int t_abi_numbers_and_bounds(void)
{
	struct pinmem_contig_alloc_args a = {
		.length = (1ULL << 63) + PAGE,
	};
	static char big[8192];
	struct pinmem_version_args *v = (void *)big;
	int fd = pm_open();

	CHECK(fd >= 0);
	CHECK_EQ(_IOC_TYPE(PINMEM_IOC_PIN), 0xDE);
	CHECK_EQ(_IOC_DIR(PINMEM_IOC_PIN), _IOC_READ | _IOC_WRITE);
	CHECK_EQ(_IOC_SIZE(PINMEM_IOC_PIN), PINMEM_PIN_SIZE_VER0);
	/* the ABI 1 numbers (type 0xB8, _IO) are gone */
	v->size = sizeof(*v);
	CHECK(ioctl(fd, _IO(0xB8, 0x00), v) < 0 && errno == ENOTTY);
	CHECK_EQ(ioctl(fd, PINMEM_IOC_VERSION, v), 0);
	/* the size bound is PINMEM_ARGS_SIZE_MAX on every page size */
	v->size = PINMEM_ARGS_SIZE_MAX;
	CHECK_EQ(ioctl(fd, PINMEM_IOC_VERSION, v), 0);
	v->size = PINMEM_ARGS_SIZE_MAX + 8;
	CHECK(ioctl(fd, PINMEM_IOC_VERSION, v) < 0 && errno == E2BIG);
	/* a length past the machine: ENOMEM, not a shift by 64 */
	CHECK_EQ(pm_contig_alloc(fd, &a), -ENOMEM);
	close(fd);
	return T_PASS;
}

static const struct tcase cases[] = {
	{ "race_unpin_of_new_handle", t_race_unpin_new_handle },
	{ "race_contig_free_of_new_handle", t_race_contig_free_new_handle },
	{ "memlock_exec_loop_bounded", t_memlock_exec_loop },
	{ "memlock_pidfd_getfd_bounded", t_memlock_pidfd_getfd },
	{ "memlock_fork_close_bounded", t_memlock_fork_close },
	{ "contig_charged_to_user", t_contig_charged_to_user },
	{ "contig_charged_to_memcg", t_contig_charged_to_memcg },
	{ "pool_buffer_zeroed_across_users", t_pool_buffer_zeroed_across_users },
	{ "pool_mb_beyond_max_order", t_pool_mb_beyond_max_order },
	{ "open_during_failing_load", t_open_during_failing_load },
	{ "in_cma_not_fooled_by_other_cma_users", t_in_cma_not_fooled_by_other_cma_users },
	{ "no_pinmem_lock_across_cma_alloc", t_no_pinmem_lock_across_cma_alloc },
	{ "pin_fresh_buffer_under_pressure", t_pin_under_pressure },
	{ "write_pin_over_huge_zero_page_enomem", t_write_pin_over_huge_zero_page },
	{ "repin_outside_cma_needs_no_memory", t_repin_outside_cma_needs_no_memory },
	{ "read_pin_of_untouched_sees_writes", t_read_pin_of_untouched_sees_writes },
	{ "read_pin_of_read_touched_sees_writes",
	  t_read_pin_of_read_only_touched_sees_writes },
	{ "hugetlb_pin", t_hugetlb_pin },
	{ "file_write_pins", t_file_write_pins },
	{ "file_write_pin_race_mmap_fixed", t_file_write_pin_race },
	{ "hugetlb_pin_race_mmap_fixed", t_hugetlb_pin_race },
	{ "tagged_address", t_tagged_address },
	{ "seek_in_many_runs", t_seek_in_many_runs },
	{ "abi_numbers_and_bounds", t_abi_numbers_and_bounds },
};

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--exec-round"))
		return exec_round(atoi(argv[2]), atoi(argv[3]));
	return tap_main(cases, sizeof(cases) / sizeof(cases[0]));
}
