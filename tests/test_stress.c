// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem under pressure, bounded in time and in calls:
 *  - threads of one process and several processes pinning, querying,
 *    accessing and unpinning overlapping and disjoint ranges, while another
 *    thread munmaps/remaps and forks;
 *  - an ioctl fuzzer: random sequences of every ioctl with random and
 *    boundary arguments; every call must return 0 or a documented errno.
 * Kernel splats (lockdep, KASAN, WARN) are caught by the VM runner; here
 * each case checks that nothing is left pinned afterwards.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "harness.h"

#define RW (PROT_READ | PROT_WRITE)
#define NPAGES 256

/* how long the concurrent case runs; its timeout allows for it */
static unsigned int seconds(void)
{
	const char *s = getenv("PINMEM_STRESS_SECONDS");

	return s ? atoi(s) : 4;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

struct worker {
	int fd;
	char *buf;		/* NPAGES pages, shared by the workers */
	char *scratch;		/* remapped under the workers' feet */
	double until;
	unsigned int seed;
	long calls, unexpected;
	int last_bad;
};

static bool allowed(int ret, const int *ok)
{
	for (; *ok; ok++)
		if (ret == *ok)
			return true;
	return ret == 0;
}

static void note(struct worker *w, int ret, const int *ok)
{
	w->calls++;
	if (!allowed(ret, ok)) {
		w->unexpected++;
		w->last_bad = ret;
	}
}

static void *work(void *arg)
{
	/*
	 * -ENOMEM: the kernel could not migrate a page out of ZONE_MOVABLE
	 * because a fork child or the churn thread held it at that moment.
	 */
	static const int pin_ok[] = { -EEXIST, -EFAULT, -ENOMEM, 0 };
	static const int h_ok[] = { -ENOENT, 0 };
	struct worker *w = arg;
	uint64_t handles[16] = { 0 };
	char *tmp = malloc(PAGE);	/* one page of ACCESS */

	if (!tmp) {
		w->unexpected++;
		w->last_bad = -ENOMEM;
		return NULL;
	}
	while (now() < w->until) {
		unsigned int r = rand_r(&w->seed), slot = r % 16;
		size_t first = rand_r(&w->seed) % NPAGES;
		size_t n = 1 + rand_r(&w->seed) % 8;
		struct pinmem_query_args q = { 0 };
		char *base = (r >> 8) & 1 ? w->scratch : w->buf;

		if (first + n > NPAGES)
			n = NPAGES - first;
		switch ((r >> 4) % 5) {
		case 0:
		case 1:
			if (handles[slot])
				break;
			note(w, pm_pin(w->fd, base + first * PAGE, n * PAGE,
				       (r >> 9) & 1, &handles[slot], NULL), pin_ok);
			break;
		case 2:
			note(w, pm_unpin(w->fd, handles[slot]), h_ok);
			handles[slot] = 0;
			break;
		case 3:
			q.handle = handles[slot];
			if ((r >> 10) & 1) {
				q.flags = PINMEM_QUERY_BY_ADDR;
				q.addr = (uintptr_t)base + first * PAGE;
			}
			note(w, pm_query(w->fd, &q), h_ok);
			break;
		case 4:
			note(w, pm_access(w->fd, handles[slot], 0, PAGE, tmp,
					  (r >> 11) & 1 ? PINMEM_ACCESS_WRITE : 0),
			     (const int[]){ -ENOENT, -EACCES, 0 });
			break;
		}
	}
	free(tmp);
	return NULL;
}

/* Unmap and remap the scratch area, and fork, while the others pin it. */
static void *churn(void *arg)
{
	struct worker *w = arg;

	while (now() < w->until) {
		pid_t pid;

		if (mmap(w->scratch, NPAGES * PAGE, RW,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
			w->unexpected++;
		memset(w->scratch, 3, NPAGES * PAGE);
		pid = fork();
		if (!pid) {
			memset(w->buf, 4, PAGE);	/* COW in the child */
			_exit(0);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
		w->calls++;
		usleep(2000);
	}
	return NULL;
}

static int run_process(int id, double until, long *calls)
{
	struct worker w[5];
	pthread_t t[5];
	char *buf = map_anon(NPAGES * PAGE, RW);
	char *scratch = map_anon(NPAGES * PAGE, RW);
	int fd = pm_open(), i, bad = 0;

	if (!buf || !scratch || fd < 0)
		return -1;
	memset(buf, 1, NPAGES * PAGE);
	memset(scratch, 2, NPAGES * PAGE);
	for (i = 0; i < 5; i++) {
		w[i] = (struct worker){ .fd = fd, .buf = buf, .scratch = scratch,
			.until = until, .seed = 1000 * id + i };
		if (pthread_create(&t[i], NULL, i == 4 ? churn : work, &w[i]))
			return -1;
	}
	*calls = 0;
	for (i = 0; i < 5; i++) {
		pthread_join(t[i], NULL);
		*calls += w[i].calls;
		if (w[i].unexpected) {
			ksft_print_msg("process %d thread %d: %ld unexpected, last %d (%s)\n",
				       id, i, w[i].unexpected, w[i].last_bad,
				       strerror(-w[i].last_bad));
			bad = 1;
		}
	}
	close(fd);
	return bad;
}

PM_FIXTURE(stress)

/*
 * Three processes of five threads each, for seconds(): the processes
 * themselves (fork()ed helpers, exit status 0 when no call returned what
 * it must not) report their number of calls through a pipe.
 */
PM_TEST_F(stress, concurrent_threads_and_processes, 300)
{
	const int nproc = 3;
	double until = now() + seconds();
	pid_t pids[3];
	int i, status, p[2];
	long calls, total = 0;

	ASSERT_EQ(0, pipe(p));
	for (i = 0; i < nproc; i++) {
		pids[i] = fork();
		ASSERT_GE(pids[i], 0);
		if (!pids[i]) {
			int r = run_process(i, until, &calls);

			if (write(p[1], &calls, sizeof(calls)) != sizeof(calls))
				r = -1;
			_exit(r ? 1 : 0);
		}
	}
	close(p[1]);
	for (i = 0; i < nproc; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(0, WEXITSTATUS(status));
	}
	while (read(p[0], &calls, sizeof(calls)) == sizeof(calls))
		total += calls;
	close(p[0]);
	ksft_print_msg("%d processes x 5 threads, %u s: %ld operations\n", nproc,
		       seconds(), total);
	ASSERT_GT(total, 0);
}

/*
 * The concurrent case runs for PINMEM_STRESS_SECONDS: its timeout is what
 * it needs besides (the 300 above), plus those seconds. Runs after the
 * harness's constructors registered the case, as its XFAIL_ADD() does.
 */
static void __attribute__((constructor(KSELFTEST_PRIO_TEST + 1)))
stress_timeout(void)
{
	_stress_concurrent_threads_and_processes_object->timeout += seconds();
}

/* ---- fuzzer ---- */

static uint64_t pick_u64(unsigned int *seed, char *buf)
{
	/* around a page, of this machine's size */
	const uint64_t edge[] = {
		0, 1, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE, 1ULL << 20, 1ULL << 31,
		1ULL << 32, 1ULL << 47, 1ULL << 63, ~0ULL, ~0ULL - (PAGE - 1),
		0xffff888000000000ULL, 0x800000000000ULL - PAGE,
	};
	unsigned int r = rand_r(seed);

	switch (r % 4) {
	case 0:
		return edge[(r >> 2) % (sizeof(edge) / sizeof(edge[0]))];
	case 1:	/* inside our buffer, page aligned */
		return (uintptr_t)buf + (((r >> 2) % NPAGES) * PAGE);
	case 2:	/* small length */
		return ((r >> 2) % 64) * PAGE;
	default:
		return ((uint64_t)rand_r(seed) << 32) | rand_r(seed);
	}
}

static const int fuzz_ok[] = {
	-EINVAL, -EFAULT, -ENOENT, -EEXIST, -ENOMEM, -E2BIG, -EACCES,
	-ENOTTY, -ENODEV, -EPERM, -EOPNOTSUPP, -EBUSY, -EOVERFLOW, -ENOSPC,
	-EINTR, 0,
};

PM_TEST_F(stress, ioctl_fuzzer, 300)
{
	const char *seed_env = getenv("PINMEM_FUZZ_SEED");
	unsigned int seed = seed_env ? strtoul(seed_env, NULL, 0) : (unsigned int)time(NULL);
	long calls = 0, per_errno[200] = { 0 }, maps = 0;
	const long ncalls = 30000;
	char *buf = map_anon(NPAGES * PAGE, RW), *safe = malloc(64 * PAGE);
	uint64_t handles[32] = { 0 };
	union {
		uint8_t raw[512];
		struct pinmem_pin_args pin;
		struct pinmem_unpin_args unpin;
		struct pinmem_query_args query;
		struct pinmem_access_args access;
		struct pinmem_contig_alloc_args contig;
		struct pinmem_contig_free_args cfree;
	} a;
	int fd = pm_open(), i;

	ASSERT_TRUE(buf && safe && fd >= 0);
	memset(buf, 1, NPAGES * PAGE);
	ksft_print_msg("seed %u (PINMEM_FUZZ_SEED to replay)\n", seed);
	for (calls = 0; calls < ncalls; calls++) {
		unsigned int r = rand_r(&seed), op = r % 8, sz;
		unsigned long cmd;
		int ret;

		memset(&a, 0, sizeof(a));
		switch (op) {
		case 0:
		case 1:
			cmd = PINMEM_IOC_PIN;
			a.pin.addr = pick_u64(&seed, buf);
			a.pin.length = pick_u64(&seed, buf) % (65 * PAGE);
			a.pin.flags = rand_r(&seed) % 5 ? rand_r(&seed) % 4 : rand_r(&seed);
			sz = sizeof(a.pin);
			break;
		case 2:
			cmd = PINMEM_IOC_UNPIN;
			a.unpin.handle = rand_r(&seed) % 4 ? handles[rand_r(&seed) % 32] :
				pick_u64(&seed, buf);
			a.unpin.flags = rand_r(&seed) % 8 ? 0 : rand_r(&seed);
			sz = sizeof(a.unpin);
			break;
		case 3:
			cmd = PINMEM_IOC_QUERY;
			a.query.handle = handles[rand_r(&seed) % 32];
			a.query.flags = rand_r(&seed) % 4;
			a.query.addr = pick_u64(&seed, buf);
			a.query.pfns = rand_r(&seed) % 2 ? (uintptr_t)safe :
				pick_u64(&seed, buf);
			a.query.nr_pfns = rand_r(&seed) % 2 ? 64 * PAGE / 8 : pick_u64(&seed, buf) % 64;
			a.query.pfn_first = rand_r(&seed) % 2 ? 0 : pick_u64(&seed, buf);
			a.query.reserved = rand_r(&seed) % 16 ? 0 : 1;
			sz = sizeof(a.query);
			break;
		case 4:
			cmd = PINMEM_IOC_ACCESS;
			a.access.handle = handles[rand_r(&seed) % 32];
			a.access.flags = rand_r(&seed) % 8 ? rand_r(&seed) % 2 : rand_r(&seed);
			a.access.offset = rand_r(&seed) % 3 ? rand_r(&seed) % (8 * PAGE) :
				pick_u64(&seed, buf);
			a.access.length = rand_r(&seed) % (64 * PAGE);
			/* only buffers we do not mind being written, or bad ones */
			a.access.buf = rand_r(&seed) % 3 ? (uintptr_t)safe :
				(rand_r(&seed) % 2 ? 0 : 0xffff888000000000ULL);
			if (a.access.buf == (uintptr_t)safe && a.access.length > 64 * PAGE)
				a.access.length = 64 * PAGE;
			sz = sizeof(a.access);
			break;
		case 5:
			cmd = PINMEM_IOC_CONTIG_ALLOC;
			a.contig.length = rand_r(&seed) % 3 ? (rand_r(&seed) % 16) * PAGE :
				pick_u64(&seed, buf);
			a.contig.align = rand_r(&seed) % 2 ? 0 : pick_u64(&seed, buf);
			a.contig.flags = rand_r(&seed) % 8 ? 0 : rand_r(&seed) % 4;
			sz = sizeof(a.contig);
			break;
		case 6:
			cmd = PINMEM_IOC_CONTIG_FREE;
			a.cfree.handle = handles[rand_r(&seed) % 32];
			sz = sizeof(a.cfree);
			break;
		default:	/* mmap of whatever offset, or a bogus command */
			if (rand_r(&seed) % 2) {
				uint64_t off = handles[rand_r(&seed) % 32] * PAGE;
				size_t len = (1 + rand_r(&seed) % 16) * PAGE;
				void *p = mmap(NULL, len, RW, MAP_SHARED, fd, off);

				if (p != MAP_FAILED) {
					maps++;
					memset(p, 5, len);
					munmap(p, len);
				}
				continue;
			}
			cmd = _IO(PINMEM_IOCTL_TYPE, rand_r(&seed) % 64);
			sz = sizeof(a.pin);
			break;
		}
		/* the size field: mostly right, sometimes short, long or absurd */
		switch (rand_r(&seed) % 10) {
		case 0:
			sz = rand_r(&seed) % sz;
			break;
		case 1:
			sz += 8 * (rand_r(&seed) % 8);
			if (rand_r(&seed) % 2)
				a.raw[sz - 1] = 1;	/* nonzero tail */
			break;
		case 2:
			sz = rand_r(&seed);
			break;
		}
		memcpy(a.raw, &sz, sizeof(sz));
		ret = ioctl(fd, cmd, rand_r(&seed) % 50 ? (void *)&a : (void *)8) ? -errno : 0;
		ASSERT_TRUE(allowed(ret, fuzz_ok))
			TH_LOG("call %ld: cmd %#lx size %u returned %d (%s)", calls,
			       cmd, sz, ret, strerror(-ret));
		per_errno[-ret < 200 ? -ret : 199]++;
		if (!ret && (cmd == PINMEM_IOC_PIN || cmd == PINMEM_IOC_CONTIG_ALLOC))
			handles[rand_r(&seed) % 32] = cmd == PINMEM_IOC_PIN ?
				a.pin.handle : a.contig.handle;
	}
	printf("# %ld ioctls, %ld successful mmaps; results:", calls, maps);
	for (i = 0; i < 200; i++)
		if (per_errno[i])
			printf(" %s=%ld", i ? strerror(i) : "ok", per_errno[i]);
	printf("\n");
	close(fd);
}

PM_TEST_HARNESS_MAIN
