// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem under fault injection (kernels with CONFIG_FAILSLAB,
 * CONFIG_FAIL_PAGE_ALLOC and their debugfs knobs, i.e. the debug kernel;
 * skipped elsewhere, with the reason).
 *
 * For each injector and probability, a child process runs pins, queries,
 * accesses, unpins and contiguous allocations with allocation failures
 * injected into its own ioctls only (task-filter + make-it-fail around each
 * call, never around its own page faults, which would summon the OOM
 * killer). Every call must succeed or fail with a clean errno; afterwards
 * nothing may be pinned, charged or listed, and kmemleak (when present) must
 * not report anything allocated by pinmem.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pinmem_test_uapi.h"
#include "util.h"
#include "harness.h"

#define RW (PROT_READ | PROT_WRITE)
#define DBG "/sys/kernel/debug/"

static int put(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -errno;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -EIO;
}

static int make_it_fail_fd = -1;

static void faults(bool on)
{
	if (pwrite(make_it_fail_fd, on ? "1" : "0", 1, 0) != 1)
		perror("make-it-fail");
}

static int configure(const char *inj, int probability)
{
	char path[128], val[16];
	static const char * const knobs[][2] = {
		{ "interval", "1" }, { "times", "-1" }, { "space", "0" },
		{ "verbose", "0" }, { "task-filter", "Y" },
		{ "ignore-gfp-wait", "N" }, { "ignore-gfp-highmem", "N" },
		{ "min-order", "0" },
	};
	size_t i;

	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		snprintf(path, sizeof(path), DBG "%s/%s", inj, knobs[i][0]);
		if (access(path, F_OK))
			continue;	/* not every injector has every knob */
		if (put(path, knobs[i][1]))
			return -1;
	}
	snprintf(path, sizeof(path), DBG "%s/probability", inj);
	snprintf(val, sizeof(val), "%d", probability);
	return put(path, val);
}

/* Returns a bitmask of unexpected results; prints a histogram. */
static int torture(int iterations, long *ok_calls, long *failed_calls)
{
	static const int allowed[] = { 0, -ENOMEM, -EFAULT, -EINTR, -EAGAIN };
	const size_t len = 256 * PAGE;
	char *buf = map_anon(len, RW), tmp[PAGE];
	int fd, i, bad = 0;
	size_t k;

	if (!buf)
		return 1 << 0;
	memset(buf, 1, len);
	/* open() itself allocates: inject there too, then go on regardless */
	faults(true);
	fd = pm_open();
	faults(false);
	if (fd < 0) {
		if (errno != ENOMEM)
			return 1 << 1;
		(*failed_calls)++;
		fd = pm_open();
		if (fd < 0)
			return 1 << 1;
	} else {
		(*ok_calls)++;
	}

	for (i = 0; i < iterations; i++) {
		size_t first = rand() % 192, n = 1 + rand() % 64;
		struct pinmem_contig_alloc_args ca = { .length = (1 + rand() % 8) * PAGE };
		struct pinmem_query_args q = { 0 };
		uint64_t h = 0;
		int r[5];

		faults(true);
		r[0] = pm_pin(fd, buf + first * PAGE, n * PAGE,
			      rand() % 2 ? PINMEM_PIN_WRITE : 0, &h, NULL);
		q.handle = h;
		r[1] = r[0] ? 0 : pm_query(fd, &q);
		r[2] = r[0] ? 0 : pm_access(fd, h, 0, PAGE, tmp, 0);
		r[3] = r[0] ? 0 : pm_unpin(fd, h);
		r[4] = pm_contig_alloc(fd, &ca);
		if (!r[4])
			r[4] = pm_contig_free(fd, ca.handle);
		faults(false);

		for (k = 0; k < 5; k++) {
			size_t j;
			bool fine = false;

			for (j = 0; j < sizeof(allowed) / sizeof(allowed[0]); j++)
				fine |= r[k] == allowed[j];
			/* nothing may fail UNPIN of a pin that exists */
			if (k == 3 && r[k])
				fine = false;
			if (!fine) {
				ksft_print_msg("iteration %d op %zu: %d (%s)\n", i, k, r[k],
					       strerror(-r[k]));
				bad |= 1 << 2;
			}
			if (r[k])
				(*failed_calls)++;
			else
				(*ok_calls)++;
		}
	}
	close(fd);
	if (vmpin_kb() != 0) {
		ksft_print_msg("VmPin %ld kB after close\n", vmpin_kb());
		bad |= 1 << 3;
	}
	munmap(buf, len);
	return bad;
}

/*
 * The fixtures hold nothing but the injector or fail-nth's fd; each checks,
 * once a case's process is gone, that nothing is left behind.
 */

/* failslab or fail_page_alloc at several probabilities */
FIXTURE(sweep) {};

FIXTURE_VARIANT(sweep) {
	const char *inj, *config;
};

FIXTURE_VARIANT_ADD(sweep, failslab) {
	.inj = "failslab", .config = "FAILSLAB",
};

FIXTURE_VARIANT_ADD(sweep, fail_page_alloc) {
	.inj = "fail_page_alloc", .config = "FAIL_PAGE_ALLOC",
};

FIXTURE_SETUP(sweep)
{
	char path[128];

	snprintf(path, sizeof(path), DBG "%s/probability", variant->inj);
	if (access(path, F_OK))
		SKIP(return, "kernel has no %s fault injection (CONFIG_%s)",
		     variant->inj, variant->config);
}

FIXTURE_TEARDOWN_PARENT(sweep)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

PM_TEST_F(sweep, clean_errors, 600)
{
	static const int probs[] = { 2, 10, 50, 100 };
	const char *inj = variant->inj;
	char path[128];
	size_t i;

	snprintf(path, sizeof(path), DBG "%s/probability", inj);
	for (i = 0; i < sizeof(probs) / sizeof(probs[0]); i++) {
		long ok_calls = 0, failed_calls = 0;
		int p[2], status, bad;
		pid_t pid;

		ASSERT_EQ(0, configure(inj, probs[i]));
		ASSERT_EQ(0, pipe(p));
		pid = fork();
		ASSERT_TRUE(pid >= 0);
		if (!pid) {
			long counts[2] = { 0, 0 };

			srand(probs[i]);
			/*
			 * Every page this process writes while it is made to
			 * fail must be its own already: a first write (a COW
			 * break after fork, a stack or TLS page) would fault,
			 * fail and retry forever at 100%.
			 */
			if (mlockall(MCL_CURRENT | MCL_FUTURE))
				_exit(101);
			make_it_fail_fd = open("/proc/self/make-it-fail",
					       O_WRONLY | O_CLOEXEC);
			if (make_it_fail_fd < 0)
				_exit(100);
			bad = torture(40, &counts[0], &counts[1]);
			if (write(p[1], counts, sizeof(counts)) != sizeof(counts))
				bad |= 1 << 6;
			_exit(bad);
		}
		close(p[1]);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		{
			long counts[2] = { 0, 0 };

			if (read(p[0], counts, sizeof(counts)) == sizeof(counts)) {
				ok_calls = counts[0];
				failed_calls = counts[1];
			}
		}
		close(p[0]);
		put(path, "0");
		ksft_print_msg("%s at %d%%: %ld calls succeeded, %ld failed cleanly\n", inj,
			       probs[i], ok_calls, failed_calls);
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(0, WEXITSTATUS(status));
		ASSERT_EQ(0, pins_outstanding());
		ASSERT_EQ(0, debugfs_stat("pins"));
		ASSERT_EQ(0, debugfs_value("cma", "bytes_in_use"));
		if (probs[i] == 100)
			ASSERT_TRUE(failed_calls > 0);	/* the injection did bite */
	}
}

/* Arm /proc/thread-self/fail-nth: the @nth next injectable allocation fails. */
static int fail_nth(int fd, int nth)
{
	char v[16];
	int n = snprintf(v, sizeof(v), "%d", nth);

	return pwrite(fd, v, n, 0) == n ? 0 : -errno;
}

/* What is left of fail-nth (0: the armed failure was injected, or none was armed). */
static int fail_nth_left(int fd)
{
	char v[16] = "";

	if (pread(fd, v, sizeof(v) - 1, 0) <= 0)
		return -1;
	return atoi(v);
}

/*
 * fail-nth: /proc/thread-self/fail-nth in self->nthfd, with failslab and
 * fail_page_alloc at probability 0, so that only fail-nth injects (into
 * sleeping allocations too).
 */
FIXTURE(fail_nth) {
	int nthfd;
};

FIXTURE_SETUP(fail_nth)
{
	self->nthfd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (self->nthfd < 0)
		SKIP(return, "kernel has no /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION)");
	if (access(DBG "failslab/probability", F_OK) ||
	    access(DBG "fail_page_alloc/probability", F_OK))
		SKIP(return, "kernel has no failslab/fail_page_alloc debugfs knobs");
	ASSERT_EQ(0, configure("failslab", 0) || configure("fail_page_alloc", 0))
		TH_LOG("cannot configure failslab/fail_page_alloc");
}

FIXTURE_TEARDOWN_PARENT(fail_nth)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

/*
 * Review finding 9: when a PIN fails half-way, the runs must be rolled back
 * to exactly what they were before the batch, also where unsigned long is
 * narrower than a run (32-bit). The pin starts half a huge page into a
 * THP-backed buffer whose THPs are not adjacent in memory, so with 4 KiB
 * pages every GUP batch (a PMD's worth of pages there) begins by growing
 * the run the previous batch ended with (half of one THP) and then needs a
 * new run for the next THP; the allocation that grows the run array fails
 * for some n of fail-nth. Sweep n over the whole PIN: every failed PIN must
 * be a clean ENOMEM and leave the kernel's pin counters where they were.
 * The buffer is 160 MiB: with bigger pages (a 32 MiB THP with 16 KiB
 * ones) it has fewer THPs, each several batches, and the run array grows
 * only at the first run.
 *
 * The THPs are faulted last to first, each followed by one of the other
 * buffer's: the buddy allocator hands out ascending blocks, so faulting in
 * address order could (and on debug612 once did) give THPs that follow
 * each other in memory too, one run for the whole buffer, and nothing for
 * the sweep to fail half-way.
 */
/* How many physically contiguous extents back [addr, addr + len) (root). */
static long phys_extents(int fd, void *addr, size_t len)
{
	static uint64_t pfns[1024];
	size_t n = len / PAGE, i, j;
	uint64_t h = 0, prev = 0;
	long ext = 0;

	if (pm_pin(fd, addr, len, PINMEM_PIN_SHORTTERM, &h, NULL))
		return -1;
	for (i = 0; i < n; i += j) {
		struct pinmem_query_args q = {
			.handle = h, .flags = PINMEM_QUERY_PFNS, .pfns = (uintptr_t)pfns,
			.pfn_first = i, .nr_pfns = 1024,
		};

		if (pm_query(fd, &q) || !q.nr_pfns) {
			ext = -1;
			break;
		}
		for (j = 0; j < q.nr_pfns; j++) {
			if ((!i && !j) || pfns[j] != prev + 1)
				ext++;
			prev = pfns[j];
		}
	}
	pm_unpin(fd, h);
	return ext;
}

PM_TEST_F(fail_nth, runs_rollback, 600)
{
	const size_t huge = PMD_BYTES, len = 160 * MiB / huge * huge;
	const size_t nhuge = len / huge;
	long base, mid_walk = 0;
	char *buf, *gap, *start;
	int fd, nthfd, nth, ret = T_PASS;
	char why[128] = "";
	size_t i;

	if (nhuge < 2)
		SKIP(return, "a THP is %zu MiB: two do not fit in 160 MiB", huge / MiB);
	nthfd = self->nthfd;

	buf = map_aligned(len, huge);
	gap = map_aligned(len, huge);
	ASSERT_TRUE(buf && gap);
	if (madvise(buf, len, MADV_HUGEPAGE) || madvise(gap, len, MADV_HUGEPAGE)) {
		munmap(buf, len);
		munmap(gap, len);
		close(nthfd);
		SKIP(return, "madvise(MADV_HUGEPAGE): %s", strerror(errno));
	}
	/* each THP faulted between two of another buffer: one run per THP */
	for (i = nhuge; i-- > 0;) {
		memset(buf + i * huge, 0x5a, huge);
		gap[i * huge] = 1;
	}
	munmap(gap, len);
	start = buf + huge / 2;
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	base = pins_outstanding();

	for (nth = 1; nth < 400; nth++) {
		long acq0 = (pins_outstanding(), vmstat("nr_foll_pin_acquired")), leak;
		uint64_t h = 0;
		int r, left;

		ASSERT_EQ(0, fail_nth(nthfd, nth));
		r = pm_pin(fd, start, len - huge, PINMEM_PIN_WRITE | PINMEM_PIN_SHORTTERM,
			   &h, NULL);
		left = fail_nth_left(nthfd);
		ASSERT_EQ(0, fail_nth(nthfd, 0));
		if (!r) {
			struct pinmem_query_args q = { .handle = h };

			ASSERT_EQ(0, pm_query(fd, &q));
			ASSERT_EQ(0, pm_unpin(fd, h));
			if (left > 0) {	/* PIN made fewer than nth allocations */
				ksft_print_msg("PIN needs %d injectable allocations; %ld of the %d "
					       "failed PINs failed after pinning pages; %llu of %llu "
					       "pages in THPs, in %ld extents of memory\n", nth - 1,
					       mid_walk, nth - 1, (unsigned long long)q.nr_huge,
					       (unsigned long long)q.nr_pages,
					       phys_extents(fd, start, len - huge));
				if (q.nr_huge * 2 < q.nr_pages) {
					snprintf(why, sizeof(why),
						 "no THPs (%llu of %llu pages huge): the batches do not merge",
						 (unsigned long long)q.nr_huge,
						 (unsigned long long)q.nr_pages);
				}
				break;
			}
			continue;	/* the failure hit something PIN tolerates */
		}
		if (r != -ENOMEM) {
			ksft_print_msg("fail-nth %d: PIN gave %d (%s), not ENOMEM\n",
				       nth, r, strerror(-r));
			ret = T_FAIL;
		}
		leak = pins_outstanding() - base;	/* refreshes the counters */
		if (vmstat("nr_foll_pin_acquired") > acq0)
			mid_walk++;
		if (leak) {
			ksft_print_msg("fail-nth %d: %ld pages left pinned by the failed PIN\n",
				       nth, leak);
			ret = T_FAIL;
			break;
		}
	}
	close(nthfd);
	close(fd);
	munmap(buf, len);
	ASSERT_TRUE(nth < 400);
	ASSERT_EQ(T_PASS, ret);
	if (why[0])
		SKIP(return, "%s", why);
	ASSERT_TRUE(mid_walk > 0);	/* the sweep did fail PINs half-way */
}

/*
 * EXPORT under fail-nth, of a pin and of a contiguous buffer (from CMA
 * where there is one): each injected failure must be a clean ENOMEM that
 * leaves no fd, no dma-buf and no extra reference (the pin and the buffer
 * are released at the end exactly as if never exported); each success a
 * dma-buf that maps and goes away on close.
 */
PM_TEST_F(fail_nth, export, 600)
{
	struct pinmem_contig_alloc_args ca = { .size = sizeof(ca), .length = 1 * MiB };
	const size_t len = 64 * PAGE;
	int fd, nthfd, nth, k, failed = 0;
	char *buf;
	uint64_t h, n, handles[2];
	long base;

	nthfd = self->nthfd;
	buf = map_anon(len, RW);
	fd = pm_open();
	ASSERT_TRUE(buf && fd >= 0);
	base = pins_outstanding();
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &n));
	ASSERT_EQ(0, pm_contig_alloc(fd, &ca));
	ksft_print_msg("contiguous buffer %s\n", ca.placement & PINMEM_CONTIG_IN_CMA ?
		       "from CMA" : "from the page allocator");
	handles[0] = h;
	handles[1] = ca.handle;
	for (k = 0; k < 2; k++) {
		for (nth = 1; nth < 200; nth++) {
			int probe = dup(0), probe2, dfd = -1, r, left;
			char *m;

			close(probe);
			ASSERT_EQ(0, fail_nth(nthfd, nth));
			r = pm_export(fd, handles[k], 0, &dfd);
			left = fail_nth_left(nthfd);
			ASSERT_EQ(0, fail_nth(nthfd, 0));
			if (r) {
				ASSERT_EQ(-ENOMEM, r)
					TH_LOG("fail-nth %d: EXPORT gave %d (%s), not ENOMEM",
					       nth, r, strerror(-r));
				failed++;
				probe2 = dup(0);
				close(probe2);
				ASSERT_EQ(probe, probe2);	/* no fd left behind */
				ASSERT_EQ(0, debugfs_stat("exports"));
				continue;
			}
			m = mmap(NULL, PAGE, RW, MAP_SHARED, dfd, 0);
			ASSERT_TRUE(m != MAP_FAILED);
			m[0] = 1;
			munmap(m, PAGE);
			close(dfd);
			ASSERT_EQ(0, debugfs_stat("exports"));
			if (left > 0)	/* EXPORT made fewer than nth allocations */
				break;
		}
		ksft_print_msg("%s: EXPORT needs %d injectable allocations\n",
			       k ? "contig" : "pin", nth - 1);
		ASSERT_TRUE(nth < 200);
	}
	ASSERT_TRUE(failed > 0);
	ASSERT_EQ(0, pm_unpin(fd, h));
	ASSERT_EQ(0, pm_contig_free(fd, ca.handle));
	ASSERT_EQ(0, pins_outstanding() - base);
	ASSERT_EQ(0, debugfs_value("cma", "bytes_in_use"));
	close(fd);
	close(nthfd);
	munmap(buf, len);
}

/*
 * PIN_MEMFD under fail-nth, on a memfd half of whose pages exist (the rest
 * memfd_pin_folios() allocates): every failure a clean ENOMEM that leaves
 * nothing pinned, charged or listed. Kernels before 6.11 have no
 * PIN_MEMFD.
 */
PM_TEST_F(fail_nth, pin_memfd, 600)
{
	const size_t len = 64 * PAGE;
	int fd, nthfd, nth, mfd, failed = 0;
	long base, vmpin0;
	char *map;

	nthfd = self->nthfd;
	fd = pm_open();
	mfd = memfd_create("pinmem-faults", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	ASSERT_TRUE(fd >= 0 && mfd >= 0);
	ASSERT_EQ(0, ftruncate(mfd, len));
	ASSERT_EQ(0, fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK));
	map = mmap(NULL, len / 2, RW, MAP_SHARED, mfd, 0);
	ASSERT_TRUE(map != MAP_FAILED);
	memset(map, 3, len / 2);
	munmap(map, len / 2);
	base = pins_outstanding();
	vmpin0 = vmpin_kb();
	for (nth = 1; nth < 300; nth++) {
		struct pinmem_pin_memfd_args a = {
			.size = sizeof(a), .flags = PINMEM_PIN_WRITE, .memfd = mfd,
			.length = len,
		};
		int r, left;

		ASSERT_EQ(0, fail_nth(nthfd, nth));
		r = ioctl(fd, PINMEM_IOC_PIN_MEMFD, &a) ? -errno : 0;
		left = fail_nth_left(nthfd);
		ASSERT_EQ(0, fail_nth(nthfd, 0));
		if (r == -EOPNOTSUPP) {
			close(nthfd);
			close(fd);
			close(mfd);
			SKIP(return, "PIN_MEMFD is EOPNOTSUPP: no memfd_pin_folios() before 6.11");
		}
		if (r) {
			ASSERT_EQ(-ENOMEM, r)
				TH_LOG("fail-nth %d: PIN_MEMFD gave %d (%s), not ENOMEM",
				       nth, r, strerror(-r));
			failed++;
			ASSERT_EQ(0, pins_outstanding() - base);
			ASSERT_EQ(0, vmpin_kb() - vmpin0);
			ASSERT_EQ(0, debugfs_stat("pins"));
			continue;
		}
		ASSERT_EQ(0, pm_unpin(fd, a.handle));
		ASSERT_EQ(0, pins_outstanding() - base);
		if (left > 0)
			break;
	}
	ksft_print_msg("PIN_MEMFD needs %d injectable allocations; %d failed cleanly\n",
		       nth - 1, failed);
	ASSERT_TRUE(nth < 300);
	ASSERT_TRUE(failed > 0);
	close(nthfd);
	close(fd);
	close(mfd);
}

/* kmemleak must not find anything pinmem allocated. */
PM_FIXTURE(kmemleak)

PM_TEST_F(kmemleak, nothing_from_pinmem, 300)
{
	FILE *f;
	char line[512];
	int ours = 0, reports = 0;

	if (access(DBG "kmemleak", F_OK))
		SKIP(return, "kernel has no kmemleak (CONFIG_DEBUG_KMEMLEAK)");
	/* twice: kmemleak reports an object only once it stayed unreferenced */
	ASSERT_EQ(0, put(DBG "kmemleak", "scan"));
	sleep(1);
	ASSERT_EQ(0, put(DBG "kmemleak", "scan"));
	f = fopen(DBG "kmemleak", "r");
	ASSERT_TRUE(f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "unreferenced object"))
			reports++;
		if (strstr(line, "pinmem"))
			ours++;
		if (ours)
			printf("# %s", line);
	}
	fclose(f);
	ksft_print_msg("kmemleak: %d unreferenced objects in all, %d lines naming pinmem\n",
		       reports, ours);
	ASSERT_EQ(0, ours);
}

PM_TEST_HARNESS_MAIN
