// SPDX-License-Identifier: GPL-2.0
/*
 * PINs split across CPUs: as exact as a serial pin, unwound whole when a
 * part fails, faulting only in the caller, killable in a userfault and as
 * quickly as a serial pin, and the workers never migrate: what moves lands
 * where the caller's cpuset says.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "pinmem_test_uapi.h"
#include "util.h"
#include "admin.h"
#include "harness.h"

#define RW (PROT_READ | PROT_WRITE)

/* pins split across CPUs */
PM_FIXTURE(parallel)

/* Let this thread run on every online CPU, or on the first one only. */
static int set_cpus(bool all)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN), i;
	cpu_set_t set;

	CPU_ZERO(&set);
	for (i = 0; i < (all ? n : 1); i++)
		CPU_SET(i, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* Run on every CPU, or skip: with one CPU there is nothing to split across. */
#define NEED_ALL_CPUS() do {						\
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)				\
		SKIP(return, "one CPU online: nothing to split across"); \
	ASSERT_EQ(0, set_cpus(true));					\
} while (0)

/* @len bytes of base pages filled with @seed's pattern (THP off: more work) */
static char *small_page_buffer(size_t len, uint32_t seed)
{
	char *buf = map_aligned(len, PMD_BYTES);

	if (!buf)
		return NULL;
	madvise(buf, len, MADV_NOHUGEPAGE);
	fill_pattern(buf, len, seed);
	return buf;
}

/*
 * A PIN of 64 MiB with two CPUs allowed is split across them (debugfs
 * parallel_jobs), and is the same pin a serial one is: every PFN QUERY
 * gives is the page the process maps, the placement adds up, ACCESS reads
 * and writes the process's bytes across the parts' boundary, and UNPIN
 * (split too) releases every reference.
 */
PM_TEST_F(parallel, pin_exact, 300)
{
	const size_t len = 64 * MiB, npages = len / PAGE;
	struct pinmem_query_args q;
	uint64_t h, nr, sum = 0;
	long jobs, parts;
	char *buf, *out;
	int fd, z;

	NEED_ALL_CPUS();
	buf = small_page_buffer(len, 41);
	out = malloc(2 * MiB);
	ASSERT_TRUE(buf && out);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	jobs = debugfs_stat("parallel_jobs");
	parts = debugfs_stat("parallel_parts");
	ASSERT_TRUE(jobs >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &nr));
	ASSERT_EQ(npages, nr);
	ksft_print_msg("PIN of %zu MiB: parallel_jobs %ld -> %ld, parts %ld -> %ld\n",
		       len / MiB, jobs, debugfs_stat("parallel_jobs"), parts,
		       debugfs_stat("parallel_parts"));
	ASSERT_EQ(jobs + 1, debugfs_stat("parallel_jobs"));
	ASSERT_TRUE(debugfs_stat("parallel_parts") >= parts + 2);
	ASSERT_EQ(npages, pins_outstanding());

	ASSERT_EQ(0, pfns_mismatched(fd, h, buf, npages, &q));
	for (z = 0; z < PINMEM_ZONE_SLOTS; z++)
		sum += q.zone_pages[z];
	ASSERT_EQ(npages, sum);
	ASSERT_EQ(0, q.zone_pages[PINMEM_ZONE_MOVABLE]);

	/* 2 MiB around the middle, where the parts meet */
	ASSERT_EQ(0, pm_access(fd, h, len / 2 - MiB, 2 * MiB, out, 0));
	ASSERT_EQ(0, memcmp(out, buf + len / 2 - MiB, 2 * MiB));
	fill_pattern(out, 2 * MiB, 42);
	ASSERT_EQ(0, pm_access(fd, h, len / 2 - MiB, 2 * MiB, out,
			       PINMEM_ACCESS_WRITE));
	ASSERT_EQ(0, check_pattern(buf + len / 2 - MiB, 2 * MiB, 42));

	jobs = debugfs_stat("parallel_jobs");
	ASSERT_EQ(0, pm_unpin(fd, h));
	ASSERT_EQ(jobs + 1, debugfs_stat("parallel_jobs"));
	ASSERT_EQ(0, pins_outstanding());
	close(fd);
	free(out);
	munmap(buf, len);
}

/* The same PIN from a thread allowed on one CPU is not split. */
PM_TEST_F(parallel, pin_one_cpu_is_serial, 300)
{
	const size_t len = 64 * MiB;
	uint64_t h;
	long jobs;
	char *buf;
	int fd;

	buf = small_page_buffer(len, 43);
	ASSERT_TRUE(buf);
	ASSERT_EQ(0, set_cpus(false));
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	jobs = debugfs_stat("parallel_jobs");
	ASSERT_TRUE(jobs >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL));
	ASSERT_EQ(len / PAGE, pins_outstanding());
	ASSERT_EQ(0, pm_unpin(fd, h));
	ASSERT_EQ(jobs, debugfs_stat("parallel_jobs"));
	ASSERT_EQ(0, set_cpus(true));
	close(fd);
	munmap(buf, len);
}

/*
 * A read-only page in the last quarter of a split write PIN: GUP fails
 * there with -EFAULT, and the pages the other part had pinned are
 * unpinned again (the harness checks the kernel's FOLL_PIN counters after
 * the case too). Not a hole: a hole is found by the VMA walk before
 * anything is pinned.
 */
PM_TEST_F(parallel, pin_hole_unpins_all, 300)
{
	const size_t len = 64 * MiB;
	long jobs;
	char *buf;
	int fd;

	NEED_ALL_CPUS();
	buf = small_page_buffer(len, 44);
	ASSERT_TRUE(buf);
	ASSERT_EQ(0, mprotect(buf + len / 4 * 3, PAGE, PROT_READ));
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	jobs = debugfs_stat("parallel_jobs");
	ASSERT_EQ(-EFAULT, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, NULL, NULL));
	/* the PIN, then maybe the release of each part's pages */
	ASSERT_TRUE(debugfs_stat("parallel_jobs") >= jobs + 1);
	ASSERT_EQ(0, pins_outstanding());
	ASSERT_EQ(0, debugfs_stat("pinned_pages"));
	close(fd);
	munmap(buf, len);
}

/*
 * A split PIN of a buffer whose second half was never touched: the worker
 * pins only what needs no fault and the caller faults the rest in, so the
 * pin is whole and exact.
 */
PM_TEST_F(parallel, pin_faults_in_the_caller, 300)
{
	const size_t len = 64 * MiB, npages = len / PAGE;
	struct pinmem_query_args q;
	char *buf = map_aligned(len, PMD_BYTES);
	uint64_t h;
	int fd;

	NEED_ALL_CPUS();
	ASSERT_TRUE(buf);
	madvise(buf, len, MADV_NOHUGEPAGE);
	fill_pattern(buf, len / 2, 45);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL));
	ASSERT_EQ(npages, pins_outstanding());
	ASSERT_EQ(0, pfns_mismatched(fd, h, buf, npages, &q));
	ASSERT_EQ(0, check_pattern(buf, len / 2, 45));
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
	munmap(buf, len);
}

/*
 * A split PIN that reaches pages served by a userfaultfd nobody answers
 * (its monitor would be a thread of the same process): the pin waits for
 * the fault, and SIGKILL must still end the process. A kernel worker that
 * took that fault itself would wait forever, and the caller with it, for
 * the userfaultfd is released only when the process is gone.
 */
PM_TEST_F(parallel, pin_killable_in_userfault, 300)
{
	const size_t len = 64 * MiB;
	int p[2], status, i;
	pid_t pid;
	char c;

	NEED_ALL_CPUS();
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		struct uffdio_api api = { .api = UFFD_API };
		struct uffdio_register reg = { 0 };
		char *buf = map_aligned(len, PMD_BYTES);
		int uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
		int fd = pm_open();

		if (!buf || fd < 0)
			_exit(2);
		if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api)) {
			c = 'u';
			_exit(write(p[1], &c, 1) == 1 ? 3 : 4);
		}
		madvise(buf, len, MADV_NOHUGEPAGE);
		memset(buf, 1, len / 4 * 3);
		reg.range.start = (uintptr_t)buf + len / 4 * 3;
		reg.range.len = len / 4;
		reg.mode = UFFDIO_REGISTER_MODE_MISSING;
		if (ioctl(uffd, UFFDIO_REGISTER, &reg))
			_exit(5);
		c = 'r';
		if (write(p[1], &c, 1) != 1)
			_exit(6);
		c = pm_pin(fd, buf, len, PINMEM_PIN_WRITE, NULL, NULL) ? 'e' : 'p';
		if (write(p[1], &c, 1) != 1)
			_exit(7);
		_exit(0);
	}
	close(p[1]);
	ASSERT_EQ(1, read(p[0], &c, 1));
	if (c == 'u') {
		waitpid(pid, NULL, 0);
		SKIP(return, "no userfaultfd on this kernel");
	}
	ASSERT_EQ('r', c);
	/*
	 * Where long-term GUP cannot wait for a userfault (6.1: it faults
	 * without FAULT_FLAG_ALLOW_RETRY, and userfaultfd answers SIGBUS),
	 * the PIN fails at once with EFAULT; elsewhere it waits for the
	 * answer. Either is fine; hanging past SIGKILL is not.
	 */
	{
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };

		c = 0;
		if (poll(&pfd, 1, 3000) == 1 && read(p[0], &c, 1) != 1)
			c = 0;
	}
	if (c)
		ksft_print_msg("the PIN returned at once: %s\n", c == 'e' ? "failed" : "pinned");
	kill(pid, SIGKILL);
	/* reaped within 30 s, or the pin is stuck for good */
	for (i = 0; i < 300; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		usleep(100 * 1000);
	}
	ksft_print_msg("%s after SIGKILL (%.1f s)\n", i < 300 ? "reaped" : "NOT reaped", i / 10.0);
	ASSERT_TRUE(i < 300);
	if (!c) {	/* it was waiting: SIGKILL ended it */
		ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	} else {
		ASSERT_EQ('e', c);	/* nobody answered: it cannot have pinned */
	}
	close(p[0]);
	ASSERT_EQ(0, pins_outstanding());
}

#define MIG_INST "/sys/kernel/tracing/instances/pinmem-migrate"

/* Trace the kernel's migrations (migrate:mm_migrate_pages) from now on. */
static int migrate_trace_start(void)
{
	int fd;

	rmdir(MIG_INST);
	if (mkdir(MIG_INST, 0700))
		return -errno;
	fd = open(MIG_INST "/events/migrate/mm_migrate_pages/enable", O_WRONLY);
	if (fd < 0 || write(fd, "1", 1) != 1) {
		if (fd >= 0)
			close(fd);
		rmdir(MIG_INST);
		return -ENOENT;
	}
	close(fd);
	return 0;
}

/*
 * Stop tracing; count the migrations this process made (*@mine) and those
 * a kernel worker made (*@workers).
 */
static void migrate_trace_stop(long *mine, long *workers)
{
	char line[512], me[32];
	FILE *f = fopen(MIG_INST "/trace", "r");

	*mine = *workers = 0;
	snprintf(me, sizeof(me), "-%d ", getpid());
	while (f && fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || !strstr(line, "mm_migrate_pages:"))
			continue;
		if (strstr(line, me))
			(*mine)++;
		else if (strstr(line, "kworker"))
			(*workers)++;
	}
	if (f)
		fclose(f);
	rmdir(MIG_INST);
}

/*
 * The workers of a split pin never migrate (nor fault): they run in
 * kworkers, outside the caller's cpuset, mempolicy and cgroups, and must
 * not allocate on its behalf. A split first pin of a buffer in
 * ZONE_MOVABLE, of base pages and of THPs, has every migration made by
 * the calling process (the trace says who), nothing stays in ZONE_MOVABLE,
 * and the bytes are the process's.
 */
PM_TEST_F(parallel, workers_never_migrate, 300)
{
	const size_t len = 64 * MiB, npages = len / PAGE;
	int fd, thp, ret = T_PASS;
	const char *why = NULL;

	NEED_ALL_CPUS();
	NEED_MOVABLE();
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	for (thp = 0; thp < 2 && ret == T_PASS && !why; thp++) {
		size_t before, after, present;
		long jobs, mine, workers;
		uint64_t h;
		char *buf;

		buf = map_aligned(len, PMD_BYTES);
		ASSERT_TRUE(buf);
		madvise(buf, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
		fill_pattern(buf, len, 46 + thp);
		before = pages_in_zone(buf, len, "Movable", NULL);
		if (before * 2 < npages) {
			munmap(buf, len);
			why = "the buffer did not land in ZONE_MOVABLE";
			break;
		}
		if (migrate_trace_start()) {
			munmap(buf, len);
			why = "no tracefs or no migrate:mm_migrate_pages event";
			break;
		}
		jobs = debugfs_stat("parallel_jobs");
		if (pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL)) {
			migrate_trace_stop(&mine, &workers);
			ret = T_FAIL;
			break;
		}
		migrate_trace_stop(&mine, &workers);
		after = pages_in_zone(buf, len, "Movable", &present);
		ksft_print_msg("%s: %zu of %zu pages in Movable before, %zu after; migrations by this process %ld, by kworkers %ld\n",
			       thp ? "THP" : "base pages", before, npages, after, mine, workers);
		if (workers || !mine || after || present != npages ||
		    debugfs_stat("parallel_jobs") != jobs + 1 ||
		    check_pattern(buf, len, 46 + thp))
			ret = T_FAIL;
		ASSERT_EQ(0, pm_unpin(fd, h));
		munmap(buf, len);
	}
	close(fd);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(T_PASS, ret);
}

#define CPUSET_CG	"/sys/fs/cgroup/pinmem-cpuset"
#ifndef MPOL_BIND
#define MPOL_BIND	2
#endif

/* Pages of [@buf, @buf + @len) on NUMA node @node (move_pages(2)), or -1 */
static long pages_on_node(char *buf, size_t len, int node)
{
	size_t n = len / PAGE, i;
	void **pages = calloc(n, sizeof(*pages));
	int *nodes = calloc(n, sizeof(*nodes));
	long on = -1;

	if (pages && nodes) {
		for (i = 0; i < n; i++)
			pages[i] = buf + i * PAGE;
		if (!syscall(SYS_move_pages, 0, n, pages, NULL, nodes, 0))
			for (on = 0, i = 0; i < n; i++)
				on += nodes[i] == node;
	}
	free(pages);
	free(nodes);
	return on;
}

/*
 * In the cpuset and CPU quota of CPUSET_CG: long-term pin the memfd @mfd
 * maps, once the parent has filled it (@go says 'g'), and check that every
 * page is on node 0 now, the one node the cpuset allows.
 */
static int cpuset_pin_child(int mfd, size_t len, int go)
{
	long on0, mine = 0, workers = 0;
	size_t movable, present;
	int fd = pm_open(), r;
	bool traced;
	uint64_t h;
	char c, *buf;

	if (read(go, &c, 1) != 1 || c != 'g')
		return T_SKIP;
	buf = mmap(NULL, len, RW, MAP_SHARED, mfd, 0);
	CHECK(buf != MAP_FAILED && fd >= 0);
	/* mapped, so that the workers have pages to take without a fault */
	CHECK_EQ(check_pattern(buf, len, 52), 0);
	traced = !migrate_trace_start();
	r = pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL);
	if (traced)
		migrate_trace_stop(&mine, &workers);
	CHECK_EQ(r, 0);
	on0 = pages_on_node(buf, len, 0);
	movable = pages_in_zone(buf, len, "Movable", &present);
	ksft_print_msg("pinned in cpuset.mems=0, cpu.max 50%%: %ld of %zu pages on node 0, %zu in Movable; migrations by this process %ld, by kworkers %ld%s\n",
		       on0, len / PAGE, movable, mine, workers,
		       traced ? "" : " (not traced)");
	CHECK_EQ(workers, 0);
	CHECK_EQ(on0, len / PAGE);
	CHECK_EQ(movable, 0);
	CHECK_EQ(present, len / PAGE);
	CHECK_EQ(check_pattern(buf, len, 52), 0);
	CHECK_EQ(pm_unpin(fd, h), 0);
	return T_PASS;
}

#define SHMEM_THP	"/sys/kernel/mm/transparent_hugepage/shmem_enabled"

/*
 * A split long-term pin by a process whose cpuset allows NUMA node 0 only,
 * of shared memory another process placed in ZONE_MOVABLE of node 1 (of
 * 4 KiB pages, or of THPs where shmem has them): what the pin migrates
 * lands on node 0, as the caller's own allocations would. Workers run in
 * kworkers, outside the caller's cpuset, and must migrate nothing. The pin
 * runs under a cpu.max quota too, which the workers' CPU time is not
 * charged to (parallel_min_pages bounds it).
 */
static int cpuset_pin(bool thp, const char **skipped)
{
	const size_t len = 32 * MiB, n = len / PAGE;
	unsigned long node1 = 1UL << 1;
	int mfd, go[2], status;
	const char *why = NULL;
	char c = 'g', *buf;
	size_t movable;
	long on1;
	pid_t pid;

	rmdir(CPUSET_CG);
	CHECK_EQ(mkdir(CPUSET_CG, 0755), 0);
	CHECK_EQ(write_file(CPUSET_CG "/cpuset.mems", "0"), 0);
	CHECK_EQ(write_file(CPUSET_CG "/cpu.max", "50000 100000"), 0);
	mfd = memfd_create("pinmem-cpuset", MFD_CLOEXEC);
	CHECK(mfd >= 0 && !ftruncate(mfd, len) && !pipe(go));
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		char me[16];

		close(go[1]);
		snprintf(me, sizeof(me), "%d", getpid());
		if (write_file(CPUSET_CG "/cgroup.procs", me))
			_exit(T_FAIL);
		_exit(cpuset_pin_child(mfd, len, go[0]));
	}
	close(go[0]);
	buf = mmap(NULL, len, RW, MAP_SHARED, mfd, 0);
	CHECK(buf != MAP_FAILED);
	CHECK_EQ(syscall(SYS_mbind, buf, len, MPOL_BIND, &node1,
			 8 * sizeof(node1), 0), 0);
	if (thp)
		madvise(buf, len, MADV_HUGEPAGE);
	fill_pattern(buf, len, 52);
	on1 = pages_on_node(buf, len, 1);
	movable = pages_in_zone(buf, len, "Movable", NULL);
	ksft_print_msg("%s, filled from the root cgroup: %ld of %zu pages on node 1, %zu in Movable\n",
		       thp ? "THP" : "4 KiB pages", on1, n, movable);
	if (on1 != (long)n || movable * 2 < n)
		why = "the memfd did not land in ZONE_MOVABLE of node 1";
	else if (thp && !(kpageflags(pfn_of(buf)) & (1ULL << KPF_THP)))
		why = "shmem has no transparent huge pages here";
	if (why)
		c = 's';
	CHECK_EQ(write(go[1], &c, 1), 1);
	close(go[1]);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	munmap(buf, len);
	close(mfd);
	rmdir(CPUSET_CG);
	if (why) {
		*skipped = why;
		return T_SKIP;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : T_FAIL;
}

PM_TEST_F(parallel, pin_in_cpuset, 600)
{
	const char *why[2] = { "", "" }, *cg;
	char old[64] = "", *sel;
	int fd, r[2];

	NEED_ALL_CPUS();
	if (access("/sys/devices/system/node/node1", F_OK))
		SKIP(return, "one NUMA node: no cpuset can keep a pin from another");
	NEED_MOVABLE();
	cg = cgroup2_enable("+cpuset +cpu");
	if (cg)
		SKIP(return, "%s", cg);
	r[0] = cpuset_pin(false, &why[0]);
	/* shmem_enabled reads "always [never] ...": the one in brackets */
	fd = open(SHMEM_THP, O_RDONLY);
	if (fd >= 0 && read(fd, old, sizeof(old) - 1) > 0 &&
	    (sel = strchr(old, '[')) && strtok(++sel, "]") &&
	    !write_file(SHMEM_THP, "advise")) {
		r[1] = cpuset_pin(true, &why[1]);
		write_file(SHMEM_THP, sel);
	} else {
		r[1] = T_SKIP;
		why[1] = "no shmem THP setting";
	}
	if (fd >= 0)
		close(fd);
	write_file("/sys/fs/cgroup/cgroup.subtree_control", "-cpuset -cpu");
	ksft_print_msg("4 KiB pages: %s; THP: %s\n",
		       r[0] == T_PASS ? "passed" : r[0] == T_SKIP ? why[0] : "failed",
		       r[1] == T_PASS ? "passed" : r[1] == T_SKIP ? why[1] : "failed");
	ASSERT_NE(T_FAIL, r[0]);
	ASSERT_NE(T_FAIL, r[1]);
	if (r[0] != T_PASS && r[1] != T_PASS)
		SKIP(return, "4 KiB pages: %s; THP: %s", why[0], why[1]);
}

/*
 * SIGKILL @delay_ms into a PIN of @len bytes of base pages in a child
 * (filled first, so the pin migrates them where ZONE_MOVABLE is): seconds
 * from the kill until the child is reaped, or -1 if it was not pinning.
 */
static double kill_pin_after(size_t len, int delay_ms)
{
	int p[2], status;
	double t0;
	pid_t pid;
	char c;

	if (pipe(p))
		return -1;
	pid = fork();
	if (!pid) {
		char *buf = small_page_buffer(len, 48);
		int fd = pm_open();

		c = 'r';
		if (!buf || fd < 0 || write(p[1], &c, 1) != 1)
			_exit(2);
		_exit(pm_pin(fd, buf, len, PINMEM_PIN_WRITE, NULL, NULL) ? 3 : 4);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1) {
		close(p[0]);
		return -1;
	}
	close(p[0]);
	usleep(delay_ms * 1000);
	t0 = now_s();
	kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid ||
	    !WIFSIGNALED(status))
		return -1;
	return now_s() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * A split PIN is as killable as one in the caller alone: SIGKILL 5 to 45
 * ms into the same PIN, split and not (parallel_min_pages=0) in turn, and
 * the median death of the split ones is within a few times that of the
 * others (the pin's own unwinding, not the workers, sets the time). In
 * turn and by the median, so that a host that starves a vCPU for a while
 * slows both kinds alike and no single kill decides.
 */
PM_TEST_F(parallel, pin_kill_latency, 600)
{
	const size_t len = 128 * MiB;
	double t[2][5];
	char old[32] = "";
	int way, d, fd;

	NEED_ALL_CPUS();
	/* without migration a pin of present pages ends before any kill */
	NEED_MOVABLE();
	fd = open("/sys/module/pinmem/parameters/parallel_min_pages", O_RDONLY);
	ASSERT_TRUE(fd >= 0 && read(fd, old, sizeof(old) - 1) > 0);
	close(fd);
	for (d = 0; d < 5; d++) {
		for (way = 0; way < 2; way++) {
			ASSERT_EQ(0, write_param("parallel_min_pages", way ? "0" : old));
			t[way][d] = kill_pin_after(len, 5 + 10 * d);
			if (t[way][d] < 0) {
				write_param("parallel_min_pages", old);
				SKIP(return, "the %zu MiB pin had ended before a kill %d ms into it",
				     len / MiB, 5 + 10 * d);
			}
		}
	}
	write_param("parallel_min_pages", old);
	qsort(t[0], 5, sizeof(t[0][0]), cmp_double);
	qsort(t[1], 5, sizeof(t[1][0]), cmp_double);
	ksft_print_msg("SIGKILL 5-45 ms into a %zu MiB PIN: reaped after %.3f s split, %.3f s not split (medians; slowest %.3f and %.3f)\n",
		       len / MiB, t[0][2], t[1][2], t[0][4], t[1][4]);
	ASSERT_TRUE(t[0][2] <= 4 * t[1][2] + 0.05);
	ASSERT_EQ(0, pins_outstanding());
}

PM_TEST_HARNESS_MAIN
