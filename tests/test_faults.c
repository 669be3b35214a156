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
				diag("iteration %d op %zu: %d (%s)", i, k, r[k],
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
		diag("VmPin %ld kB after close", vmpin_kb());
		bad |= 1 << 3;
	}
	munmap(buf, len);
	return bad;
}

static int run_sweep(const char *inj)
{
	static const int probs[] = { 2, 10, 50, 100 };
	char path[128];
	size_t i;

	snprintf(path, sizeof(path), DBG "%s/probability", inj);
	if (access(path, F_OK))
		return skip("kernel has no %s fault injection (CONFIG_%s)", inj,
			    !strcmp(inj, "failslab") ? "FAILSLAB" : "FAIL_PAGE_ALLOC");
	for (i = 0; i < sizeof(probs) / sizeof(probs[0]); i++) {
		long ok_calls = 0, failed_calls = 0;
		int p[2], status, bad;
		pid_t pid;

		CHECK_EQ(configure(inj, probs[i]), 0);
		CHECK_EQ(pipe(p), 0);
		pid = fork();
		CHECK(pid >= 0);
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
		CHECK_EQ(waitpid(pid, &status, 0), pid);
		{
			long counts[2] = { 0, 0 };

			if (read(p[0], counts, sizeof(counts)) == sizeof(counts)) {
				ok_calls = counts[0];
				failed_calls = counts[1];
			}
		}
		close(p[0]);
		put(path, "0");
		diag("%s at %d%%: %ld calls succeeded, %ld failed cleanly", inj,
		     probs[i], ok_calls, failed_calls);
		CHECK(WIFEXITED(status));
		CHECK_EQ(WEXITSTATUS(status), 0);
		CHECK_EQ(pins_outstanding(), 0);
		CHECK_EQ(debugfs_stat("pins"), 0);
		CHECK_EQ(debugfs_value("cma", "bytes_in_use"), 0);
		if (probs[i] == 100)
			CHECK(failed_calls > 0);	/* the injection did bite */
	}
	return T_PASS;
}

static int t_failslab(void)
{
	return run_sweep("failslab");
}

static int t_fail_page_alloc(void)
{
	return run_sweep("fail_page_alloc");
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
 * /proc/thread-self/fail-nth in *@nthfd, with failslab and fail_page_alloc
 * at probability 0, so that only fail-nth injects (into sleeping
 * allocations too). T_PASS, T_SKIP (said why) or T_FAIL.
 */
static int open_fail_nth(int *nthfd)
{
	*nthfd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (*nthfd < 0)
		return skip("kernel has no /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION)");
	if (access(DBG "failslab/probability", F_OK) ||
	    access(DBG "fail_page_alloc/probability", F_OK)) {
		close(*nthfd);
		return skip("kernel has no failslab/fail_page_alloc debugfs knobs");
	}
	if (configure("failslab", 0) || configure("fail_page_alloc", 0)) {
		diag("cannot configure failslab/fail_page_alloc");
		close(*nthfd);
		return T_FAIL;
	}
	return T_PASS;
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

static int t_runs_rollback(void)
{
	const size_t huge = PMD_BYTES, len = 160 * MiB / huge * huge;
	const size_t nhuge = len / huge;
	long base, mid_walk = 0;
	char *buf, *gap, *start;
	int fd, nthfd, nth, ret = T_PASS;
	size_t i;

	if (nhuge < 2)
		return skip("a THP is %zu MiB: two do not fit in 160 MiB", huge / MiB);
	nth = open_fail_nth(&nthfd);
	if (nth != T_PASS)
		return nth;

	buf = map_aligned(len, huge);
	gap = map_aligned(len, huge);
	CHECK(buf && gap);
	if (madvise(buf, len, MADV_HUGEPAGE) || madvise(gap, len, MADV_HUGEPAGE)) {
		munmap(buf, len);
		munmap(gap, len);
		close(nthfd);
		return skip("madvise(MADV_HUGEPAGE): %s", strerror(errno));
	}
	/* each THP faulted between two of another buffer: one run per THP */
	for (i = nhuge; i-- > 0;) {
		memset(buf + i * huge, 0x5a, huge);
		gap[i * huge] = 1;
	}
	munmap(gap, len);
	start = buf + huge / 2;
	fd = pm_open();
	CHECK(fd >= 0);
	base = pins_outstanding();

	for (nth = 1; nth < 400; nth++) {
		long acq0 = (pins_outstanding(), vmstat("nr_foll_pin_acquired")), leak;
		uint64_t h = 0;
		int r, left;

		CHECK_EQ(fail_nth(nthfd, nth), 0);
		r = pm_pin(fd, start, len - huge, PINMEM_PIN_WRITE | PINMEM_PIN_SHORTTERM,
			   &h, NULL);
		left = fail_nth_left(nthfd);
		CHECK_EQ(fail_nth(nthfd, 0), 0);
		if (!r) {
			struct pinmem_query_args q = { .handle = h };

			CHECK_EQ(pm_query(fd, &q), 0);
			CHECK_EQ(pm_unpin(fd, h), 0);
			if (left > 0) {	/* PIN made fewer than nth allocations */
				diag("PIN needs %d injectable allocations; %ld of the %d "
				     "failed PINs failed after pinning pages; %llu of %llu "
				     "pages in THPs, in %ld extents of memory", nth - 1,
				     mid_walk, nth - 1, (unsigned long long)q.nr_huge,
				     (unsigned long long)q.nr_pages,
				     phys_extents(fd, start, len - huge));
				if (q.nr_huge * 2 < q.nr_pages) {
					ret = skip("no THPs (%llu of %llu pages huge): the batches do not merge",
						   (unsigned long long)q.nr_huge,
						   (unsigned long long)q.nr_pages);
				}
				break;
			}
			continue;	/* the failure hit something PIN tolerates */
		}
		if (r != -ENOMEM) {
			diag("fail-nth %d: PIN gave %d (%s), not ENOMEM", nth, r, strerror(-r));
			ret = T_FAIL;
		}
		leak = pins_outstanding() - base;	/* refreshes the counters */
		if (vmstat("nr_foll_pin_acquired") > acq0)
			mid_walk++;
		if (leak) {
			diag("fail-nth %d: %ld pages left pinned by the failed PIN", nth, leak);
			ret = T_FAIL;
			break;
		}
	}
	close(nthfd);
	close(fd);
	munmap(buf, len);
	CHECK(nth < 400);
	if (ret == T_PASS)
		CHECK(mid_walk > 0);	/* the sweep did fail PINs half-way */
	return ret;
}

/*
 * EXPORT under fail-nth, of a pin and of a contiguous buffer (from CMA
 * where there is one): each injected failure must be a clean ENOMEM that
 * leaves no fd, no dma-buf and no extra reference (the pin and the buffer
 * are released at the end exactly as if never exported); each success a
 * dma-buf that maps and goes away on close.
 */
static int t_export_fail_nth(void)
{
	struct pinmem_contig_alloc_args ca = { .size = sizeof(ca), .length = 1 * MiB };
	const size_t len = 64 * PAGE;
	int fd, nthfd, nth, k, failed = 0;
	char *buf;
	uint64_t h, n, handles[2];
	long base;

	nth = open_fail_nth(&nthfd);
	if (nth != T_PASS)
		return nth;
	buf = map_anon(len, RW);
	fd = pm_open();
	CHECK(buf && fd >= 0);
	base = pins_outstanding();
	CHECK_EQ(pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &n), 0);
	CHECK_EQ(pm_contig_alloc(fd, &ca), 0);
	diag("contiguous buffer %s", ca.placement & PINMEM_CONTIG_IN_CMA ?
	     "from CMA" : "from the page allocator");
	handles[0] = h;
	handles[1] = ca.handle;
	for (k = 0; k < 2; k++) {
		for (nth = 1; nth < 200; nth++) {
			int probe = dup(0), probe2, dfd = -1, r, left;
			char *m;

			close(probe);
			CHECK_EQ(fail_nth(nthfd, nth), 0);
			r = pm_export(fd, handles[k], 0, &dfd);
			left = fail_nth_left(nthfd);
			CHECK_EQ(fail_nth(nthfd, 0), 0);
			if (r) {
				if (r != -ENOMEM) {
					diag("fail-nth %d: EXPORT gave %d (%s), not ENOMEM",
					     nth, r, strerror(-r));
					return T_FAIL;
				}
				failed++;
				probe2 = dup(0);
				close(probe2);
				CHECK_EQ(probe2, probe);	/* no fd left behind */
				CHECK_EQ(debugfs_stat("exports"), 0);
				continue;
			}
			m = mmap(NULL, PAGE, RW, MAP_SHARED, dfd, 0);
			CHECK(m != MAP_FAILED);
			m[0] = 1;
			munmap(m, PAGE);
			close(dfd);
			CHECK_EQ(debugfs_stat("exports"), 0);
			if (left > 0)	/* EXPORT made fewer than nth allocations */
				break;
		}
		diag("%s: EXPORT needs %d injectable allocations", k ? "contig" : "pin", nth - 1);
		CHECK(nth < 200);
	}
	CHECK(failed > 0);
	CHECK_EQ(pm_unpin(fd, h), 0);
	CHECK_EQ(pm_contig_free(fd, ca.handle), 0);
	CHECK_EQ(pins_outstanding() - base, 0);
	CHECK_EQ(debugfs_value("cma", "bytes_in_use"), 0);
	close(fd);
	close(nthfd);
	munmap(buf, len);
	return T_PASS;
}

/*
 * PIN_MEMFD under fail-nth, on a memfd half of whose pages exist (the rest
 * memfd_pin_folios() allocates): every failure a clean ENOMEM that leaves
 * nothing pinned, charged or listed. Kernels before 6.11 have no
 * PIN_MEMFD.
 */
static int t_pin_memfd_fail_nth(void)
{
	const size_t len = 64 * PAGE;
	int fd, nthfd, nth, mfd, failed = 0;
	long base, vmpin0;
	char *map;

	nth = open_fail_nth(&nthfd);
	if (nth != T_PASS)
		return nth;
	fd = pm_open();
	mfd = memfd_create("pinmem-faults", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	CHECK(fd >= 0 && mfd >= 0);
	CHECK_EQ(ftruncate(mfd, len), 0);
	CHECK_EQ(fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	map = mmap(NULL, len / 2, RW, MAP_SHARED, mfd, 0);
	CHECK(map != MAP_FAILED);
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

		CHECK_EQ(fail_nth(nthfd, nth), 0);
		r = ioctl(fd, PINMEM_IOC_PIN_MEMFD, &a) ? -errno : 0;
		left = fail_nth_left(nthfd);
		CHECK_EQ(fail_nth(nthfd, 0), 0);
		if (r == -EOPNOTSUPP) {
			close(nthfd);
			close(fd);
			close(mfd);
			return skip("PIN_MEMFD is EOPNOTSUPP: no memfd_pin_folios() before 6.11");
		}
		if (r) {
			if (r != -ENOMEM) {
				diag("fail-nth %d: PIN_MEMFD gave %d (%s), not ENOMEM",
				     nth, r, strerror(-r));
				return T_FAIL;
			}
			failed++;
			CHECK_EQ(pins_outstanding() - base, 0);
			CHECK_EQ(vmpin_kb() - vmpin0, 0);
			CHECK_EQ(debugfs_stat("pins"), 0);
			continue;
		}
		CHECK_EQ(pm_unpin(fd, a.handle), 0);
		CHECK_EQ(pins_outstanding() - base, 0);
		if (left > 0)
			break;
	}
	diag("PIN_MEMFD needs %d injectable allocations; %d failed cleanly", nth - 1, failed);
	CHECK(nth < 300);
	CHECK(failed > 0);
	close(nthfd);
	close(fd);
	close(mfd);
	return T_PASS;
}

/* kmemleak must not find anything pinmem allocated. */
static int t_kmemleak_clean(void)
{
	FILE *f;
	char line[512];
	int ours = 0, reports = 0;

	if (access(DBG "kmemleak", F_OK))
		return skip("kernel has no kmemleak (CONFIG_DEBUG_KMEMLEAK)");
	/* twice: kmemleak reports an object only once it stayed unreferenced */
	CHECK_EQ(put(DBG "kmemleak", "scan"), 0);
	sleep(1);
	CHECK_EQ(put(DBG "kmemleak", "scan"), 0);
	f = fopen(DBG "kmemleak", "r");
	CHECK(f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "unreferenced object"))
			reports++;
		if (strstr(line, "pinmem"))
			ours++;
		if (ours)
			printf("# %s", line);
	}
	fclose(f);
	diag("kmemleak: %d unreferenced objects in all, %d lines naming pinmem",
	     reports, ours);
	CHECK_EQ(ours, 0);
	return T_PASS;
}

static const struct tcase cases[] = {
	{ "failslab_sweep_clean_errors", t_failslab },
	{ "fail_page_alloc_sweep_clean_errors", t_fail_page_alloc },
	{ "runs_rollback_under_fail_nth", t_runs_rollback },
	{ "export_under_fail_nth", t_export_fail_nth },
	{ "pin_memfd_under_fail_nth", t_pin_memfd_fail_nth },
	{ "kmemleak_nothing_from_pinmem", t_kmemleak_clean },
};

int main(void)
{
	return tap_main(cases, sizeof(cases) / sizeof(cases[0]));
}
