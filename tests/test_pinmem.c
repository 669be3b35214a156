// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem functional tests. Run as root inside a VM that has the module
 * loaded and a ZONE_MOVABLE (movablecore=), on the kselftest harness
 * (harness.h): one fixture per subject, FIXTURE.CASE.
 *
 * After every case nothing_left() checks that nothing is left pinned: the
 * kernel's own nr_foll_pin_acquired/nr_foll_pin_released counters agree and
 * debugfs lists no pin of this process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/userfaultfd.h>

#include "pinmem_test_uapi.h"
#include "util.h"
#include "admin.h"
#include "harness.h"

#define RW (PROT_READ | PROT_WRITE)

/*
 * A buffer of @len bytes filled with a pattern, with most of it in
 * ZONE_MOVABLE (new anonymous pages come from the highest zone first).
 */
static char *movable_buffer(size_t len, uint32_t seed, size_t *in_movable)
{
	char *buf = map_anon(len, RW);

	if (!buf)
		return NULL;
	fill_pattern(buf, len, seed);
	*in_movable = pages_in_zone(buf, len, "Movable", NULL);
	return buf;
}

/*
 * The fixtures, one per subject, hold nothing: the cases open /dev/pinmem
 * themselves (some in children, some as another user). Each checks, once a
 * case's process is gone, that nothing is left behind.
 */

/* the ioctls' ABI, handles and who may use them */
FIXTURE(abi) {};

FIXTURE_SETUP(abi) {}

FIXTURE_TEARDOWN_PARENT(abi)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

/* bad arguments: each gets its documented errno and pins nothing */
FIXTURE(bad_args) {};

FIXTURE_SETUP(bad_args) {}

FIXTURE_TEARDOWN_PARENT(bad_args)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

/* what UNPIN, close, exit and changes to the mappings do to a pin */
FIXTURE(lifetime) {};

FIXTURE_SETUP(lifetime) {}

FIXTURE_TEARDOWN_PARENT(lifetime)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

/* long-term pins leave ZONE_MOVABLE; short-term ones stay */
FIXTURE(migration) {};

FIXTURE_SETUP(migration) {}

FIXTURE_TEARDOWN_PARENT(migration)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

/* RLIMIT_MEMLOCK, the context limits, the fit check */
FIXTURE(limits) {};

FIXTURE_SETUP(limits) {}

FIXTURE_TEARDOWN_PARENT(limits)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

/* debugfs, fdinfo and the tracepoints */
FIXTURE(introspect) {};

FIXTURE_SETUP(introspect) {}

FIXTURE_TEARDOWN_PARENT(introspect)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

/* pins split across CPUs */
FIXTURE(parallel) {};

FIXTURE_SETUP(parallel) {}

FIXTURE_TEARDOWN_PARENT(parallel)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

/* CONTIG_ALLOC buffers */
FIXTURE(contig) {};

FIXTURE_SETUP(contig) {}

FIXTURE_TEARDOWN_PARENT(contig)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

/* module unload and reload (last: the reload leaves a pool) */
FIXTURE(module) {};

FIXTURE_SETUP(module) {}

FIXTURE_TEARDOWN_PARENT(module)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

/* skip the case when the kernel has no ZONE_MOVABLE */
#define NEED_MOVABLE() do {						\
	struct zone_range _z[MAX_ZONE_RANGES];				\
									\
	if (!have_zone(_z, zones_load(_z, MAX_ZONE_RANGES), "Movable"))	\
		SKIP(return, "kernel has no ZONE_MOVABLE (boot with movablecore=)"); \
} while (0)

PM_TEST_F(abi, version_and_device_node, 120)
{
	struct pinmem_version_args v = { .size = sizeof(v) };
	struct stat st;
	int fd;

	ASSERT_TRUE(stat("/dev/pinmem", &st) == 0);
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	ASSERT_EQ(0600, st.st_mode & 0777);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, ioctl(fd, PINMEM_IOC_VERSION, &v));
	ASSERT_EQ(PINMEM_ABI_VERSION, v.abi_version);
	ASSERT_EQ(-1, ioctl(fd, _IO(PINMEM_IOCTL_TYPE, 0x3f), &v));
	ASSERT_EQ(ENOTTY, errno);
	close(fd);
}

PM_TEST_F(migration, pin_migrates_out_of_movable, 300)
{
	const size_t len = 32 * MiB, npages = len / PAGE;
	struct pinmem_query_args q = { 0 };
	uint64_t h, nr, *pfns, i, mismatched = 0, sum = 0;
	size_t before, after, present;
	char *buf;
	int fd, z;

	NEED_MOVABLE();
	buf = movable_buffer(len, 1, &before);
	ASSERT_TRUE(buf);
	print_placement("before PIN", buf, len);
	ASSERT_GE(before * 10, npages * 9)
		TH_LOG("only %zu of %zu pages in ZONE_MOVABLE before pinning",
		       before, npages);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &nr));
	ASSERT_EQ(npages, nr);
	print_placement("after PIN", buf, len);

	after = pages_in_zone(buf, len, "Movable", &present);
	ASSERT_EQ(npages, present);
	ASSERT_EQ(0, after);
	ASSERT_EQ(0, check_pattern(buf, len, 1));
	ASSERT_EQ(npages, pins_outstanding());

	pfns = calloc(npages, sizeof(*pfns));
	ASSERT_TRUE(pfns);
	q.handle = h;
	q.flags = PINMEM_QUERY_PFNS;
	q.pfns = (uintptr_t)pfns;
	q.nr_pfns = npages;
	ASSERT_EQ(0, pm_query(fd, &q));
	ASSERT_EQ(npages, q.nr_pfns);
	ASSERT_EQ(0, q.zone_pages[PINMEM_ZONE_MOVABLE]);
	for (z = 0; z < PINMEM_ZONE_SLOTS; z++)
		sum += q.zone_pages[z];
	ASSERT_EQ(npages, sum);
	for (i = 0; i < npages; i++)
		mismatched += pfns[i] != pfn_of(buf + i * PAGE);
	ASSERT_EQ(0, mismatched);
	ksft_print_msg("QUERY: DMA=%llu DMA32=%llu Normal=%llu Movable=%llu\n",
		       (unsigned long long)q.zone_pages[PINMEM_ZONE_DMA],
		       (unsigned long long)q.zone_pages[PINMEM_ZONE_DMA32],
		       (unsigned long long)q.zone_pages[PINMEM_ZONE_NORMAL],
		       (unsigned long long)q.zone_pages[PINMEM_ZONE_MOVABLE]);

	ASSERT_EQ(0, pm_unpin(fd, h));
	ASSERT_EQ(0, pins_outstanding());
	free(pfns);
	close(fd);
	munmap(buf, len);
}

/* The device (ACCESS) and the process see the same bytes after migration. */
PM_TEST_F(migration, access_coherent_after_migration, 300)
{
	const size_t len = 4 * MiB;
	char *buf, *tmp = malloc(len);
	size_t before;
	uint64_t h;
	int fd;

	NEED_MOVABLE();
	buf = movable_buffer(len, 2, &before);
	ASSERT_TRUE(buf && tmp);
	ASSERT_TRUE(before > 0);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL));
	ASSERT_EQ(0, pages_in_zone(buf, len, "Movable", NULL));

	/* device reads what the process wrote before the pin */
	ASSERT_EQ(0, pm_access(fd, h, 0, len, tmp, 0));
	ASSERT_EQ(0, check_pattern(tmp, len, 2));
	/* device writes, process sees */
	fill_pattern(tmp, len, 3);
	ASSERT_EQ(0, pm_access(fd, h, 0, len, tmp, PINMEM_ACCESS_WRITE));
	ASSERT_EQ(0, check_pattern(buf, len, 3));
	/* process writes, device sees; unaligned offset across a page edge */
	fill_pattern(buf, len, 4);
	memset(tmp, 0, len);
	ASSERT_EQ(0, pm_access(fd, h, PAGE - 8, 2 * PAGE, tmp, 0));
	ASSERT_EQ(0, memcmp(tmp, buf + PAGE - 8, 2 * PAGE));
	close(fd);
	munmap(buf, len);
	free(tmp);
}

static size_t count_thp(const char *buf, size_t len, size_t *compound)
{
	size_t off, thp = 0, comp = 0;

	for (off = 0; off < len; off += PAGE) {
		uint64_t f = kpageflags(pfn_of(buf + off));

		thp += !!(f & (1ULL << KPF_THP));
		comp += !!(f & ((1ULL << KPF_COMPOUND_HEAD) |
				(1ULL << KPF_COMPOUND_TAIL)));
	}
	*compound = comp;
	return thp;
}

/* Is THP off for every mapping, madvise()d or not? */
static bool thp_never(void)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");
	char line[64] = "";

	if (!f)
		return true;
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	return strstr(line, "[never]");
}

PM_TEST_F(migration, thp_buffer, 300)
{
	const size_t len = 4 * PMD_BYTES;
	struct pinmem_query_args q = { 0 };
	size_t thp_before, thp_after, comp;
	char *buf = map_aligned(len, PMD_BYTES);
	uint64_t h;
	int fd;

	ASSERT_TRUE(buf);
	if (thp_never())
		SKIP(return, "THP is off (transparent_hugepage=never, or no CONFIG_TRANSPARENT_HUGEPAGE)");
	if (madvise(buf, len, MADV_HUGEPAGE))
		SKIP(return, "madvise(MADV_HUGEPAGE): %s", strerror(errno));
	fill_pattern(buf, len, 5);
	thp_before = count_thp(buf, len, &comp);
	print_placement("THP buffer before PIN", buf, len);
	ksft_print_msg("THP pages before PIN: %zu of %zu\n", thp_before, len / PAGE);
	if (!thp_before)
		SKIP(return, "no transparent huge pages could be allocated");

	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL));
	print_placement("THP buffer after PIN", buf, len);
	ASSERT_EQ(0, pages_in_zone(buf, len, "Movable", NULL));
	ASSERT_EQ(0, check_pattern(buf, len, 5));
	thp_after = count_thp(buf, len, &comp);
	q.handle = h;
	ASSERT_EQ(0, pm_query(fd, &q));
	ksft_print_msg("after PIN: kpageflags THP=%zu compound=%zu; QUERY huge=%llu compound=%llu\n",
		       thp_after, comp, (unsigned long long)q.nr_huge,
		       (unsigned long long)q.nr_compound);
	/* the module's view of the pinned pages agrees with the kernel's */
	ASSERT_EQ(thp_after, q.nr_huge);
	ASSERT_EQ(comp, q.nr_compound);
	ASSERT_EQ(len / PAGE, pins_outstanding());
	ASSERT_EQ(0, pm_unpin(fd, h));

	/*
	 * a range that starts and ends inside THPs, across a PMD boundary:
	 * PFNs and counts still exact
	 */
	{
		const size_t first = 17, n = 2 * (PMD_BYTES / PAGE) - 24;
		uint64_t *pfns = calloc(n, sizeof(*pfns)), i, bad = 0;
		size_t sub_comp, sub_thp;

		ASSERT_TRUE(pfns);
		ASSERT_EQ(0, pm_pin(fd, buf + first * PAGE, n * PAGE, 0, &h, NULL));
		sub_thp = count_thp(buf + first * PAGE, n * PAGE, &sub_comp);
		memset(&q, 0, sizeof(q));
		q.handle = h;
		q.flags = PINMEM_QUERY_PFNS;
		q.pfns = (uintptr_t)pfns;
		q.nr_pfns = n;
		ASSERT_EQ(0, pm_query(fd, &q));
		ASSERT_EQ(n, q.nr_pfns);
		for (i = 0; i < n; i++)
			bad += pfns[i] != pfn_of(buf + (first + i) * PAGE);
		ASSERT_EQ(0, bad);
		ASSERT_EQ(sub_thp, q.nr_huge);
		ASSERT_EQ(sub_comp, q.nr_compound);
		/* PFNs from the middle of the pin */
		q.pfn_first = 500;
		q.nr_pfns = 10;
		ASSERT_EQ(0, pm_query(fd, &q));
		ASSERT_EQ(pfn_of(buf + (first + 500) * PAGE), pfns[0]);
		ASSERT_EQ(pfn_of(buf + (first + 509) * PAGE), pfns[9]);
		ASSERT_EQ(0, pm_unpin(fd, h));
		free(pfns);
	}
	close(fd);
	munmap(buf, len);
}

PM_TEST_F(lifetime, unpin_releases, 120)
{
	const size_t len = 1 * MiB;
	char *buf = map_anon(len, RW);
	uint64_t h;
	int fd = pm_open();

	ASSERT_TRUE(buf && fd >= 0);
	memset(buf, 1, len);
	ASSERT_EQ(0, pm_pin(fd, buf, len, 0, &h, NULL));
	ASSERT_EQ(len / PAGE, pins_outstanding());
	ASSERT_EQ(0, pm_unpin(fd, h));
	ASSERT_EQ(0, pins_outstanding());
	ASSERT_EQ(-ENOENT, pm_unpin(fd, h));
	close(fd);
	munmap(buf, len);
}

PM_TEST_F(lifetime, close_releases_all_pins, 120)
{
	const size_t chunk = 64 * 1024, n = 16;
	char *buf = map_anon(chunk * n, RW);
	struct dbg_pin p[32];
	size_t i;
	int fd = pm_open();

	ASSERT_TRUE(buf && fd >= 0);
	memset(buf, 7, chunk * n);
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, pm_pin(fd, buf + i * chunk, chunk, i & 1, NULL, NULL));
	ASSERT_EQ(n * chunk / PAGE, pins_outstanding());
	ASSERT_EQ(n, debugfs_pins(getpid(), p, 32));
	close(fd);
	ASSERT_EQ(0, pins_outstanding());
	ASSERT_EQ(0, debugfs_pins(getpid(), p, 32));
	munmap(buf, chunk * n);
}

PM_TEST_F(lifetime, exit_releases_all_pins, 120)
{
	int status;
	pid_t pid = fork();

	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		char *buf = map_anon(8 * 64 * 1024, RW);
		int fd = pm_open(), i;

		if (!buf || fd < 0)
			_exit(2);
		memset(buf, 3, 8 * 64 * 1024);
		for (i = 0; i < 8; i++)
			if (pm_pin(fd, buf + i * 64 * 1024, 64 * 1024, 1,
				   NULL, NULL))
				_exit(3);
		if (pins_outstanding() != (long)(8 * 64 * 1024 / PAGE))
			_exit(4);
		_exit(0);	/* no close, no unpin */
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, pins_outstanding());
}

PM_TEST_F(abi, fork_child_refused_eperm, 120)
{
	char *buf = map_anon(PAGE * 4, RW);
	uint64_t h;
	int fd = pm_open(), status;
	pid_t pid;

	ASSERT_TRUE(buf && fd >= 0);
	memset(buf, 1, PAGE * 4);
	ASSERT_EQ(0, pm_pin(fd, buf, PAGE * 2, 0, &h, NULL));
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		struct pinmem_query_args q = { .handle = h };
		char c;
		int bad = 0;

		bad |= (pm_query(fd, &q) != -EPERM) << 0;
		bad |= (pm_unpin(fd, h) != -EPERM) << 1;
		bad |= (pm_pin(fd, buf + 2 * PAGE, PAGE, 0, NULL, NULL) != -EPERM) << 2;
		bad |= (pm_access(fd, h, 0, 1, &c, 0) != -EPERM) << 3;
		_exit(bad);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* the parent's pin survived the child's attempts */
	ASSERT_EQ(2, pins_outstanding());
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
	munmap(buf, PAGE * 4);
}

/* After fork, the pinned page stays the parent's (COW copies for the child). */
PM_TEST_F(lifetime, fork_cow_keeps_pinned_page, 120)
{
	const size_t len = 16 * PAGE;
	char *buf = map_anon(len, RW), *tmp = malloc(len);
	uint64_t h;
	int fd = pm_open(), status;
	pid_t pid;

	ASSERT_TRUE(buf && tmp && fd >= 0);
	fill_pattern(buf, len, 10);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL));
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		fill_pattern(buf, len, 11);	/* child's own copy */
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, pm_access(fd, h, 0, len, tmp, 0));
	ASSERT_EQ(0, check_pattern(tmp, len, 10));
	ASSERT_EQ(0, check_pattern(buf, len, 10));
	fill_pattern(buf, len, 12);
	ASSERT_EQ(0, pm_access(fd, h, 0, len, tmp, 0));
	ASSERT_EQ(0, check_pattern(tmp, len, 12));
	close(fd);
	munmap(buf, len);
	free(tmp);
}

PM_TEST_F(lifetime, munmap_keeps_pinned_page, 120)
{
	const size_t len = 8 * PAGE;
	char *buf = map_anon(len, RW), *tmp = malloc(len);
	uint64_t h;
	int fd = pm_open();

	ASSERT_TRUE(buf && tmp && fd >= 0);
	memset(buf, 0, len);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL));
	fill_pattern(tmp, len, 20);
	ASSERT_EQ(0, pm_access(fd, h, 0, len, tmp, PINMEM_ACCESS_WRITE));
	ASSERT_EQ(0, check_pattern(buf, len, 20));
	ASSERT_EQ(0, munmap(buf, len));
	memset(tmp, 0, len);
	ASSERT_EQ(0, pm_access(fd, h, 0, len, tmp, 0));
	ASSERT_EQ(0, check_pattern(tmp, len, 20));
	ASSERT_EQ(8, pins_outstanding());
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
	free(tmp);
}

/*
 * madvise(MADV_DONTNEED) drops the process's mapping of pinned pages: the
 * process gets fresh zero pages, the pin (the device) keeps the old ones.
 */
PM_TEST_F(lifetime, madv_dontneed_keeps_pinned_page, 120)
{
	const size_t len = 8 * PAGE;
	char *buf = map_anon(len, RW), *tmp = malloc(len);
	uint64_t h;
	size_t i, zero = 0;
	int fd = pm_open();

	ASSERT_TRUE(buf && tmp && fd >= 0);
	fill_pattern(buf, len, 70);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL));
	ASSERT_EQ(0, madvise(buf, len, MADV_DONTNEED));
	for (i = 0; i < len; i++)
		zero += !buf[i];
	ASSERT_EQ(len, zero);
	ASSERT_EQ(0, pm_access(fd, h, 0, len, tmp, 0));
	ASSERT_EQ(0, check_pattern(tmp, len, 70));
	fill_pattern(buf, len, 71);	/* the process's new pages */
	ASSERT_EQ(0, pm_access(fd, h, 0, len, tmp, 0));
	ASSERT_EQ(0, check_pattern(tmp, len, 70));
	ASSERT_EQ(8, pins_outstanding());
	close(fd);
	free(tmp);
}

/* mremap() moves the mapping, not the pages: still the same memory. */
PM_TEST_F(lifetime, mremap_keeps_pinned_page, 120)
{
	const size_t len = 8 * PAGE;
	char *buf = map_anon(len, RW), *tmp = malloc(len), *dst, *moved;
	uint64_t h;
	int fd = pm_open();

	ASSERT_TRUE(buf && tmp && fd >= 0);
	dst = map_anon(len, PROT_NONE);
	ASSERT_TRUE(dst);
	fill_pattern(buf, len, 80);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL));
	moved = mremap(buf, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_TRUE(moved == dst);
	ASSERT_EQ(0, check_pattern(moved, len, 80));
	fill_pattern(moved, len, 81);
	ASSERT_EQ(0, pm_access(fd, h, 0, len, tmp, 0));
	ASSERT_EQ(0, check_pattern(tmp, len, 81));
	fill_pattern(tmp, len, 82);
	ASSERT_EQ(0, pm_access(fd, h, 0, len, tmp, PINMEM_ACCESS_WRITE));
	ASSERT_EQ(0, check_pattern(moved, len, 82));
	close(fd);
	free(tmp);
}

/* A process that exits holding thousands of pins leaves nothing behind. */
PM_TEST_F(lifetime, exit_with_thousands_of_pins, 300)
{
	const int n = 5000;
	struct timespec t0, t1;
	int status, p[2];
	char c;
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		char *buf = map_anon((size_t)n * PAGE, RW);
		int fd = pm_open(), i;

		if (!buf || fd < 0)
			_exit(2);
		memset(buf, 1, (size_t)n * PAGE);
		for (i = 0; i < n; i++)
			if (pm_pin(fd, buf + (size_t)i * PAGE, PAGE, i & 1, NULL, NULL))
				_exit(3);
		c = 'p';
		if (write(p[1], &c, 1) != 1)
			_exit(4);
		pause();
		_exit(0);
	}
	close(p[1]);
	ASSERT_EQ(1, read(p[0], &c, 1));
	ASSERT_EQ(n, pins_outstanding());
	ASSERT_EQ(n, debugfs_stat("pins"));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ksft_print_msg("exit releasing %d pins took %.0f ms\n", n,
		       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	ASSERT_EQ(0, pins_outstanding());
	ASSERT_EQ(0, debugfs_stat("pins"));
	ASSERT_EQ(0, debugfs_stat("contexts"));
	close(p[0]);
}

PM_TEST_F(introspect, debugfs_matches_pins, 120)
{
	const size_t sizes[3] = { PAGE, 3 * PAGE, 16 * PAGE };
	char *buf = map_anon(64 * PAGE, RW);
	uint64_t h[3], pinned = 0;
	struct dbg_pin p[8];
	int fd = pm_open(), i, j, n;

	ASSERT_TRUE(buf && fd >= 0);
	memset(buf, 9, 64 * PAGE);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, pm_pin(fd, buf + i * 20 * PAGE, sizes[i],
				    i == 1 ? PINMEM_PIN_WRITE : 0, &h[i], NULL));
		pinned += sizes[i] / PAGE;
	}
	n = debugfs_pins(getpid(), p, 8);
	ASSERT_EQ(3, n);
	for (i = 0; i < 3; i++) {
		for (j = 0; j < n; j++)
			if (p[j].handle == h[i])
				break;
		ASSERT_TRUE(j < n);
		ASSERT_EQ((uintptr_t)(buf + i * 20 * PAGE), p[j].start);
		ASSERT_EQ((uintptr_t)(buf + i * 20 * PAGE) + sizes[i], p[j].end);
		ASSERT_EQ(sizes[i] / PAGE, p[j].pages);
		ASSERT_TRUE(!strcmp(p[j].flags, i == 1 ? "rw" : "r-"));
		ASSERT_TRUE(!strncmp(p[j].comm, "test_pinmem", 11));
	}
	ASSERT_TRUE(debugfs_stat("pins") >= 3);
	ASSERT_TRUE(debugfs_stat("pinned_pages") >= (long)pinned);
	ASSERT_TRUE(debugfs_stat("contexts") >= 1);
	cat_file("/sys/kernel/debug/pinmem/pins");
	close(fd);
	ASSERT_EQ(0, debugfs_stat("pins"));
	ASSERT_EQ(0, debugfs_stat("pinned_pages"));
	munmap(buf, 64 * PAGE);
}

/*
 * Many pins read back through small read()s: every pin appears once, in
 * handle order, however the seq_file chunks fall.
 */
PM_TEST_F(introspect, debugfs_streams_many_pins, 300)
{
	const size_t n = 20000;
	char *buf = map_anon(n * PAGE, RW), chunk[173], line[256];
	uint64_t expect = 1, h;
	size_t i, len = 0, seen = 0, reads = 0;
	struct timespec t0, t1;
	int fd = pm_open(), dfd;
	ssize_t r;

	ASSERT_TRUE(buf && fd >= 0);
	memset(buf, 1, n * PAGE);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, pm_pin(fd, buf + i * PAGE, PAGE, 0, &h, NULL));
		ASSERT_EQ(i + 1, h);
	}
	dfd = open("/sys/kernel/debug/pinmem/pins", O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(dfd >= 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((r = read(dfd, chunk, sizeof(chunk))) > 0) {
		reads++;
		for (i = 0; i < (size_t)r; i++) {
			unsigned int ctx;
			unsigned long hh, start;
			int pid;

			if (chunk[i] != '\n') {
				ASSERT_TRUE(len < sizeof(line) - 1);
				line[len++] = chunk[i];
				continue;
			}
			line[len] = 0;
			len = 0;
			if (sscanf(line, "%u %d %*s %lu %lx", &ctx, &pid, &hh,
				   &start) != 4 || pid != getpid())
				continue;
			ASSERT_EQ(expect, hh);
			ASSERT_EQ((uintptr_t)buf + (hh - 1) * PAGE, start);
			expect++;
			seen++;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ASSERT_EQ(0, r);
	close(dfd);
	ASSERT_EQ(n, seen);
	ksft_print_msg("%zu pins read back in %zu reads of %zu bytes, %.0f ms\n", seen,
		       reads, sizeof(chunk),
		       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	close(fd);
	ASSERT_EQ(0, pins_outstanding());
	munmap(buf, n * PAGE);
}

/*
 * debugfs "pins" is read from the start only: a seek or a pread() would
 * walk every line before its offset with pinmem's registry lock held.
 */
PM_TEST_F(introspect, debugfs_pins_not_seekable, 120)
{
	char *buf = map_anon(PAGE, RW), line[64];
	int fd = pm_open(), dfd;

	ASSERT_TRUE(buf && fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, PAGE, 0, NULL, NULL));
	dfd = open("/sys/kernel/debug/pinmem/pins", O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(dfd >= 0);
	ASSERT_TRUE(read(dfd, line, sizeof(line)) > 0);
	errno = 0;
	ASSERT_TRUE(lseek(dfd, 0, SEEK_SET) < 0 && errno == ESPIPE);
	errno = 0;
	ASSERT_TRUE(pread(dfd, line, sizeof(line), 1 << 20) < 0 && errno == ESPIPE);
	close(dfd);
	close(fd);
	munmap(buf, PAGE);
}

/* Another open of /dev/pinmem is another context: it cannot see our pins. */
PM_TEST_F(abi, other_context_cannot_use_handles, 120)
{
	struct pinmem_query_args q = { 0 };
	char *buf = map_anon(4 * PAGE, RW), c;
	int fd1 = pm_open(), fd2 = pm_open();
	uint64_t h;

	ASSERT_TRUE(buf && fd1 >= 0 && fd2 >= 0);
	memset(buf, 1, 4 * PAGE);
	ASSERT_EQ(0, pm_pin(fd1, buf, 4 * PAGE, 0, &h, NULL));
	q.handle = h;
	ASSERT_EQ(-ENOENT, pm_query(fd2, &q));
	q.flags = PINMEM_QUERY_BY_ADDR;
	q.addr = (uintptr_t)buf;
	ASSERT_EQ(-ENOENT, pm_query(fd2, &q));
	ASSERT_EQ(-ENOENT, pm_access(fd2, h, 0, 1, &c, 0));
	ASSERT_EQ(-ENOENT, pm_unpin(fd2, h));
	/* the same range may be pinned by the other context */
	ASSERT_EQ(0, pm_pin(fd2, buf, 4 * PAGE, 0, NULL, NULL));
	ASSERT_EQ(8, pins_outstanding());
	close(fd2);
	ASSERT_EQ(4, pins_outstanding());
	ASSERT_EQ(0, pm_unpin(fd1, h));
	close(fd1);
}

/* An fd passed over a unix socket to another process is refused there. */
PM_TEST_F(abi, fd_passed_over_socket_refused, 120)
{
	char *buf = map_anon(4 * PAGE, RW);
	int sv[2], fd, status;
	uint64_t h;
	pid_t pid;

	ASSERT_TRUE(buf);
	memset(buf, 1, 4 * PAGE);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		SKIP(return, "no AF_UNIX sockets in this kernel: %s", strerror(errno));
	pid = fork();	/* before the open: the child never had the fd */
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		char cbuf[CMSG_SPACE(sizeof(int))], c, tmp[8];
		struct iovec iov = { &c, 1 };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct pinmem_query_args q = { 0 };
		char *mine = map_anon(PAGE, RW);
		uint64_t hh;
		int got, bad = 0;

		if (recvmsg(sv[1], &msg, 0) != 1 || !CMSG_FIRSTHDR(&msg))
			_exit(10);
		memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
		if (read(sv[1], &hh, sizeof(hh)) != sizeof(hh))
			_exit(11);
		q.handle = hh;
		mine[0] = 1;
		bad |= (pm_query(got, &q) != -EPERM) << 0;
		bad |= (pm_access(got, hh, 0, 8, tmp, 0) != -EPERM) << 1;
		bad |= (pm_unpin(got, hh) != -EPERM) << 2;
		bad |= (pm_pin(got, mine, PAGE, 0, NULL, NULL) != -EPERM) << 3;
		bad |= (mmap(NULL, PAGE, RW, MAP_SHARED, got, 0) != MAP_FAILED ||
			errno != EPERM) << 4;
		_exit(bad);
	}
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, 4 * PAGE, 0, &h, NULL));
	{
		char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, c = 'f';
		struct iovec iov = { &c, 1 };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		ASSERT_EQ(1, sendmsg(sv[0], &msg, 0));
		ASSERT_EQ(sizeof(h), write(sv[0], &h, sizeof(h)));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(4, pins_outstanding());
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
}

PM_TEST_F(abi, handles_never_reused, 120)
{
	char *buf = map_anon(PAGE, RW);
	uint64_t h1, h2, h3;
	int fd = pm_open();

	ASSERT_TRUE(buf && fd >= 0);
	buf[0] = 1;
	ASSERT_EQ(0, pm_pin(fd, buf, PAGE, 0, &h1, NULL));
	ASSERT_EQ(0, pm_unpin(fd, h1));
	ASSERT_EQ(0, pm_pin(fd, buf, PAGE, 0, &h2, NULL));
	ASSERT_TRUE(h2 > h1);
	ASSERT_EQ(0, pm_unpin(fd, h2));
	ASSERT_EQ(0, pm_pin(fd, buf, PAGE, 0, &h3, NULL));
	ASSERT_TRUE(h3 > h2);
	ASSERT_EQ(-ENOENT, pm_unpin(fd, h1));
	close(fd);
	munmap(buf, PAGE);
}

PM_TEST_F(abi, query_by_address, 120)
{
	char *buf = map_anon(32 * PAGE, RW);
	struct pinmem_query_args q = { 0 };
	uint64_t h1, h2;
	int fd = pm_open();

	ASSERT_TRUE(buf && fd >= 0);
	memset(buf, 1, 32 * PAGE);
	ASSERT_EQ(0, pm_pin(fd, buf, 8 * PAGE, 0, &h1, NULL));
	ASSERT_EQ(0, pm_pin(fd, buf + 16 * PAGE, 8 * PAGE, PINMEM_PIN_WRITE, &h2, NULL));
	q.flags = PINMEM_QUERY_BY_ADDR;
	q.addr = (uintptr_t)buf + 20 * PAGE + 123;
	ASSERT_EQ(0, pm_query(fd, &q));
	ASSERT_EQ(h2, q.handle);
	ASSERT_EQ((uintptr_t)buf + 16 * PAGE, q.addr);
	ASSERT_EQ(8 * PAGE, q.length);
	ASSERT_EQ(8, q.nr_pages);
	ASSERT_EQ(PINMEM_PIN_WRITE, q.pin_flags);
	memset(&q, 0, sizeof(q));
	q.flags = PINMEM_QUERY_BY_ADDR;
	q.addr = (uintptr_t)buf + 8 * PAGE;	/* just past the first pin */
	ASSERT_EQ(-ENOENT, pm_query(fd, &q));
	q.addr = (uintptr_t)buf + 8 * PAGE - 1;
	ASSERT_EQ(0, pm_query(fd, &q));
	ASSERT_EQ(h1, q.handle);
	close(fd);
	munmap(buf, 32 * PAGE);
}

static int drop_cap_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[0].effective &= ~(1U << CAP_SYS_ADMIN);
	data[0].permitted &= ~(1U << CAP_SYS_ADMIN);
	return syscall(SYS_capset, &hdr, data);
}

PM_TEST_F(abi, pfns_need_cap_sys_admin, 120)
{
	int status;
	pid_t pid = fork();

	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		struct pinmem_query_args q = { 0 };
		char *buf = map_anon(PAGE, RW);
		uint64_t pfn = 0, h;
		int fd = pm_open();	/* opened as root, then the cap goes */

		if (!buf || fd < 0)
			_exit(10);
		buf[0] = 1;
		if (pm_pin(fd, buf, PAGE, 0, &h, NULL))
			_exit(11);
		if (drop_cap_sys_admin())
			_exit(12);
		q.handle = h;
		if (pm_query(fd, &q))
			_exit(13);
		q.flags = PINMEM_QUERY_PFNS;
		q.pfns = (uintptr_t)&pfn;
		q.nr_pfns = 1;
		if (pm_query(fd, &q) != -EPERM)
			_exit(14);
		if (pfn)
			_exit(15);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

/* ---- bad inputs: each gets its documented errno and pins nothing ---- */

static void bad_pin(struct __test_metadata *_metadata, void *addr, size_t len,
		    unsigned int flags, int expect)
{
	int fd = pm_open(), ret;

	ASSERT_GE(fd, 0);
	ret = pm_pin(fd, addr, len, flags, NULL, NULL);
	if (ret != expect)
		ksft_print_msg("PIN(%p, %#zx, %#x) = %d (%s), expected %d (%s)\n", addr,
			       len, flags, ret, strerror(-ret), expect, strerror(-expect));
	ASSERT_EQ(expect, ret);
	ASSERT_EQ(0, pins_outstanding());
	close(fd);
}

static char *scratch(size_t pages)
{
	char *b = map_anon(pages * PAGE, RW);

	if (b)
		memset(b, 1, pages * PAGE);
	return b;
}

PM_TEST_F(bad_args, zero_length_einval, 120)
{
	bad_pin(_metadata, scratch(1), 0, 0, -EINVAL);
}

PM_TEST_F(bad_args, unaligned_addr_einval, 120)
{
	bad_pin(_metadata, scratch(2) + 1, PAGE, 0, -EINVAL);
}

PM_TEST_F(bad_args, unaligned_length_einval, 120)
{
	bad_pin(_metadata, scratch(2), PAGE + 1, 0, -EINVAL);
}

PM_TEST_F(bad_args, addr_length_overflow_einval, 120)
{
	bad_pin(_metadata, (void *)(uintptr_t)(-16 * PAGE), 32 * PAGE, 0, -EINVAL);
}

PM_TEST_F(bad_args, kernel_address_efault, 120)
{
	bad_pin(_metadata, (void *)0xffff888000000000UL, PAGE, 0, -EFAULT);
}

PM_TEST_F(bad_args, unmapped_hole_efault, 120)
{
	char *b = scratch(3);

	ASSERT_TRUE(b);
	ASSERT_EQ(0, munmap(b + PAGE, PAGE));
	bad_pin(_metadata, b, 3 * PAGE, 0, -EFAULT);
}

PM_TEST_F(bad_args, prot_none_efault, 120)
{
	char *b = scratch(4);

	ASSERT_TRUE(b);
	ASSERT_EQ(0, mprotect(b + 2 * PAGE, PAGE, PROT_NONE));
	bad_pin(_metadata, b, 4 * PAGE, 0, -EFAULT);
}

PM_TEST_F(bad_args, readonly_pinned_for_write_efault, 120)
{
	char *b = scratch(4);

	ASSERT_TRUE(b);
	ASSERT_EQ(0, mprotect(b, 4 * PAGE, PROT_READ));
	bad_pin(_metadata, b, 4 * PAGE, PINMEM_PIN_WRITE, -EFAULT);
	/* reading it is fine */
	{
		uint64_t h;
		int fd = pm_open();

		ASSERT_EQ(0, pm_pin(fd, b, 4 * PAGE, 0, &h, NULL));
		ASSERT_EQ(-EACCES, pm_access(fd, h, 0, 1, b, PINMEM_ACCESS_WRITE));
		close(fd);
	}
}

PM_TEST_F(bad_args, unknown_flags_einval, 120)
{
	bad_pin(_metadata, scratch(1), PAGE, 1U << 31, -EINVAL);
}

PM_TEST_F(bad_args, overlap_eexist, 120)
{
	char *b = scratch(8);
	uint64_t h;
	int fd = pm_open();

	ASSERT_TRUE(b && fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, b + 2 * PAGE, 4 * PAGE, 0, &h, NULL));
	ASSERT_EQ(-EEXIST, pm_pin(fd, b, 3 * PAGE, 0, NULL, NULL));
	ASSERT_EQ(-EEXIST, pm_pin(fd, b + 5 * PAGE, 3 * PAGE, 0, NULL, NULL));
	ASSERT_EQ(-EEXIST, pm_pin(fd, b + 3 * PAGE, PAGE, 0, NULL, NULL));
	ASSERT_EQ(4, pins_outstanding());
	/* adjacent is fine */
	ASSERT_EQ(0, pm_pin(fd, b, 2 * PAGE, 0, NULL, NULL));
	ASSERT_EQ(0, pm_pin(fd, b + 6 * PAGE, 2 * PAGE, 0, NULL, NULL));
	ASSERT_EQ(8, pins_outstanding());
	close(fd);
}

PM_TEST_F(bad_args, handles_enoent, 120)
{
	struct pinmem_query_args q = { .handle = 12345 };
	char c;
	int fd = pm_open();

	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(-ENOENT, pm_unpin(fd, 0));
	ASSERT_EQ(-ENOENT, pm_unpin(fd, 12345));
	ASSERT_EQ(-ENOENT, pm_query(fd, &q));
	ASSERT_EQ(-ENOENT, pm_access(fd, 7, 0, 1, &c, 0));
	close(fd);
}

PM_TEST_F(bad_args, struct_sizes, 120)
{
	char *b = scratch(1);
	struct {
		struct pinmem_pin_args a;
		uint64_t tail[4];
	} big = { 0 };
	struct pinmem_pin_args a = { 0 };
	struct pinmem_unpin_args u = { 0 };
	int fd = pm_open();

	ASSERT_TRUE(b && fd >= 0);
	a.addr = (uintptr_t)b;
	a.length = PAGE;
	a.size = PINMEM_PIN_SIZE_VER0 - 8;	/* too short */
	ASSERT_EQ(-1, ioctl(fd, PINMEM_IOC_PIN, &a));
	ASSERT_EQ(EINVAL, errno);
	a.size = 0;
	ASSERT_EQ(-1, ioctl(fd, PINMEM_IOC_PIN, &a));
	ASSERT_EQ(EINVAL, errno);
	a.size = 8192;				/* absurd */
	ASSERT_EQ(-1, ioctl(fd, PINMEM_IOC_PIN, &a));
	ASSERT_EQ(E2BIG, errno);
	big.a = a;
	big.a.size = sizeof(big);		/* a newer program ... */
	big.tail[2] = 1;			/* ... asking for something new */
	ASSERT_EQ(-1, ioctl(fd, PINMEM_IOC_PIN, &big));
	ASSERT_EQ(E2BIG, errno);
	ASSERT_EQ(0, pins_outstanding());
	big.tail[2] = 0;			/* zero tail: accepted */
	ASSERT_EQ(0, ioctl(fd, PINMEM_IOC_PIN, &big));
	ASSERT_TRUE(big.a.handle != 0);
	ASSERT_EQ(1, big.a.nr_pages);
	ASSERT_EQ(0, big.tail[0] | big.tail[1] | big.tail[3]);
	u.size = sizeof(u);
	u.handle = big.a.handle;
	u.flags = 4;				/* unknown UNPIN flag */
	ASSERT_EQ(-1, ioctl(fd, PINMEM_IOC_UNPIN, &u));
	ASSERT_EQ(EINVAL, errno);
	u.flags = 0;
	ASSERT_EQ(0, ioctl(fd, PINMEM_IOC_UNPIN, &u));
	/* argument pointer itself bad */
	ASSERT_EQ(-1, ioctl(fd, PINMEM_IOC_PIN, (void *)16));
	ASSERT_EQ(EFAULT, errno);
	close(fd);
}

PM_TEST_F(bad_args, query_and_access_args, 120)
{
	struct pinmem_query_args q = { 0 };
	char *b = scratch(4), tmp[64];
	uint64_t h;
	int fd = pm_open();

	ASSERT_TRUE(b && fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, b, 2 * PAGE, PINMEM_PIN_WRITE, &h, NULL));
	q.handle = h;
	q.reserved = 1;
	ASSERT_EQ(-EINVAL, pm_query(fd, &q));
	q.reserved = 0;
	q.flags = 1U << 7;
	ASSERT_EQ(-EINVAL, pm_query(fd, &q));
	q.flags = PINMEM_QUERY_PFNS;
	q.pfn_first = 2;			/* past the end */
	q.nr_pfns = 1;
	q.pfns = (uintptr_t)tmp;
	ASSERT_EQ(-EINVAL, pm_query(fd, &q));
	q.pfn_first = 0;
	q.pfns = 16;				/* bad buffer */
	ASSERT_EQ(-EFAULT, pm_query(fd, &q));
	ASSERT_EQ(-EINVAL, pm_access(fd, h, 2 * PAGE - 8, 16, tmp, 0));
	ASSERT_EQ(-EINVAL, pm_access(fd, h, 0, 0, tmp, 0));
	ASSERT_EQ(-EINVAL, pm_access(fd, h, ~0ULL, 2, tmp, 0));
	ASSERT_EQ(-EINVAL, pm_access(fd, h, 0, 8, tmp, 1U << 5));
	ASSERT_EQ(-EFAULT, pm_access(fd, h, 0, 8, (void *)16, 0));
	ASSERT_EQ(0, pm_access(fd, h, 2 * PAGE - 8, 8, tmp, 0));
	ASSERT_EQ(2, pins_outstanding());
	close(fd);
}

/* SIGKILL while a large PIN migrates pages: it dies promptly, nothing stays. */
PM_TEST_F(lifetime, sigkill_during_large_pin, 300)
{
	const size_t len = 128 * MiB;
	struct timespec t0, t1;
	int p[2], status;
	char c;
	pid_t pid;

	NEED_MOVABLE();
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		char *buf = map_anon(len, RW);
		int fd = pm_open();

		if (!buf || fd < 0)
			_exit(2);
		memset(buf, 5, len);
		c = 'r';
		if (write(p[1], &c, 1) != 1)	/* about to pin */
			_exit(3);
		c = pm_pin(fd, buf, len, PINMEM_PIN_WRITE, NULL, NULL) ? 'e' : 'p';
		if (write(p[1], &c, 1) != 1)
			_exit(4);
		pause();
		_exit(0);
	}
	close(p[1]);
	ASSERT_EQ(1, read(p[0], &c, 1));
	ASSERT_EQ('r', c);
	usleep(200 * 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	c = 0;
	if (read(p[0], &c, 1) != 1)
		c = 0;
	ksft_print_msg("pin %s when killed; reaped %.0f ms after SIGKILL\n",
		       c == 'p' ? "had completed" : c == 'e' ? "had failed" :
		       "was in progress",
		       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	close(p[0]);
	ASSERT_EQ(0, pins_outstanding());
}

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

static void on_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *race_second(void *arg)
{
	struct charge_race *r = arg;

	on_cpu(1);
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
	on_cpu(0);
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

static int write_param(const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/pinmem/parameters/%s", name);
	return write_file(path, val);
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
	{
		long free_kb, file_kb;

		pinnable_zone_kb(&free_kb, &file_kb);
		if ((long)(len >> 10) <= free_kb + file_kb)
			SKIP(return, "the memory outside ZONE_MOVABLE/CMA (%ld MiB free, %ld MiB file LRU) could take the %zu MiB buffer: nothing to refuse",
			     free_kb >> 10, file_kb >> 10, len / MiB);
	}
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(-ENOMEM, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, NULL, NULL));
	ASSERT_EQ(oom_before, vmstat("oom_kill"));
	ASSERT_EQ(0, check_pattern(buf, len, 30));

	/*
	 * No walk finds this out up front any more (issue 14: the walk cost
	 * a warm pin bigger than the free pinnable memory twice its time):
	 * each batch is checked as it goes, so the refused PIN has migrated
	 * what fitted, and released it again. Twice more, the same answer,
	 * nothing left pinned, nobody killed.
	 */
	ASSERT_EQ(-ENOMEM, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, NULL, NULL));
	ASSERT_EQ(-ENOMEM, pm_pin(fd, buf, len, 0, NULL, NULL));
	ASSERT_EQ(0, pins_outstanding());
	ASSERT_EQ(oom_before, vmstat("oom_kill"));
	ASSERT_EQ(0, check_pattern(buf, len, 30));
	close(fd);
}

static bool kernel_has_dma_cma(void)
{
	FILE *f = fopen("/sys/kernel/debug/pinmem/cma", "r");
	char line[128];
	bool yes = false;

	while (f && fgets(line, sizeof(line), f))
		if (!strcmp(line, "dma_cma_configured yes\n"))
			yes = true;
	if (f)
		fclose(f);
	return yes;
}

/* A contiguous buffer: mmap-able, contiguous, charged, freed when unmapped. */
PM_TEST_F(contig, alloc_mmap, 120)
{
	const size_t len = 1 * MiB;
	struct pinmem_contig_alloc_args a = { .length = len };
	uint64_t first, i, noncontig = 0;
	char *p, *p2;
	int fd = pm_open();

	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_contig_alloc(fd, &a));
	ksft_print_msg("1 MiB buffer: handle %llu phys %#llx placement %#x\n",
		       (unsigned long long)a.handle, (unsigned long long)a.phys_addr,
		       a.placement);
	ASSERT_TRUE(a.phys_addr != 0);		/* we are root */
	ASSERT_EQ(0, a.phys_addr % len);	/* naturally aligned */
	ASSERT_EQ(len / 1024, vmpin_kb());
	ASSERT_EQ(len, debugfs_value("cma", "bytes_in_use"));
	p = mmap(NULL, len, RW, MAP_SHARED, fd, a.mmap_offset);
	ASSERT_TRUE(p != MAP_FAILED);
	fill_pattern(p, len, 40);
	/* physically contiguous, where the module says */
	first = pfn_of(p);
	for (i = 0; i < len / PAGE; i++)
		noncontig += pfn_of(p + i * PAGE) != first + i;
	if (first) {
		ASSERT_EQ(a.phys_addr, first * PAGE);
		ASSERT_EQ(0, noncontig);
	} else {
		ksft_print_msg("pagemap shows no PFNs for the VM_PFNMAP mapping\n");
	}
	/* a second mapping sees the same memory */
	p2 = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, a.mmap_offset);
	ASSERT_TRUE(p2 != MAP_FAILED);
	ASSERT_EQ(0, check_pattern(p2, len, 40));
	ASSERT_EQ(0, munmap(p2, len));
	/* freed while mapped: the mapping keeps it alive */
	ASSERT_EQ(0, pm_contig_free(fd, a.handle));
	ASSERT_EQ(-ENOENT, pm_contig_free(fd, a.handle));
	ASSERT_EQ(0, check_pattern(p, len, 40));
	ASSERT_EQ(len, debugfs_value("cma", "bytes_in_use"));
	ASSERT_EQ(0, munmap(p, len));
	ASSERT_EQ(0, debugfs_value("cma", "bytes_in_use"));
	ASSERT_EQ(0, vmpin_kb());
	close(fd);
}

PM_TEST_F(contig, released_on_close, 120)
{
	struct pinmem_contig_alloc_args a = { .length = 64 * 1024 };
	int fd = pm_open(), i;

	ASSERT_TRUE(fd >= 0);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pm_contig_alloc(fd, &a));
	ASSERT_EQ(4 * 64 * 1024, debugfs_value("cma", "bytes_in_use"));
	close(fd);
	ASSERT_EQ(0, debugfs_value("cma", "bytes_in_use"));
	ASSERT_EQ(0, vmpin_kb());
}

/* The module's own mapping is VM_PFNMAP: pinning it is refused. */
PM_TEST_F(contig, mapping_cannot_be_pinned, 120)
{
	struct pinmem_contig_alloc_args a = { .length = 16 * PAGE };
	char *p;
	int fd = pm_open();

	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_contig_alloc(fd, &a));
	p = mmap(NULL, 16 * PAGE, RW, MAP_SHARED, fd, a.mmap_offset);
	ASSERT_TRUE(p != MAP_FAILED);
	ASSERT_EQ(-EFAULT, pm_pin(fd, p, 16 * PAGE, 0, NULL, NULL));
	ASSERT_EQ(-EFAULT, pm_pin(fd, p, 16 * PAGE, PINMEM_PIN_WRITE, NULL, NULL));
	munmap(p, 16 * PAGE);
	close(fd);
}

PM_TEST_F(contig, bad_args, 120)
{
	struct pinmem_contig_alloc_args a = { 0 };
	void *p;
	int fd = pm_open();

	ASSERT_TRUE(fd >= 0);
	a.length = 0;
	ASSERT_EQ(-EINVAL, pm_contig_alloc(fd, &a));
	a.length = PAGE + 1;
	ASSERT_EQ(-EINVAL, pm_contig_alloc(fd, &a));
	a.length = 4 * PAGE;
	a.align = 3 * PAGE;			/* not a power of two */
	ASSERT_EQ(-EINVAL, pm_contig_alloc(fd, &a));
	a.align = 8 * PAGE;			/* above the buffer's size */
	ASSERT_EQ(-EINVAL, pm_contig_alloc(fd, &a));
	a.align = 0;
	a.flags = 1U << 9;
	ASSERT_EQ(-EINVAL, pm_contig_alloc(fd, &a));
	a.flags = 0;
	a.reserved = 1;
	ASSERT_EQ(-EINVAL, pm_contig_alloc(fd, &a));
	a.reserved = 0;
	if (debugfs_value("cma", "pool_bytes") == 0) {
		a.flags = PINMEM_CONTIG_POOL;
		ASSERT_EQ(-ENODEV, pm_contig_alloc(fd, &a));
		a.flags = 0;
	}
	if (!kernel_has_dma_cma()) {
		a.length = 8 * MiB;	/* above the buddy allocator's largest block */
		ASSERT_EQ(-E2BIG, pm_contig_alloc(fd, &a));
	}
	ASSERT_EQ(-ENOENT, pm_contig_free(fd, 99));
	a.length = 4 * PAGE;
	ASSERT_EQ(0, pm_contig_alloc(fd, &a));
	p = mmap(NULL, 2 * PAGE, RW, MAP_SHARED, fd, a.mmap_offset);
	ASSERT_TRUE(p == MAP_FAILED && errno == EINVAL);	/* partial */
	p = mmap(NULL, 4 * PAGE, RW, MAP_PRIVATE, fd, a.mmap_offset);
	ASSERT_TRUE(p == MAP_FAILED && errno == EINVAL);	/* private */
	p = mmap(NULL, 4 * PAGE, RW, MAP_SHARED, fd, a.mmap_offset + 1000 * PAGE);
	ASSERT_TRUE(p == MAP_FAILED && errno == EINVAL);	/* no such buffer */
	ASSERT_EQ(-ENOENT, pm_unpin(fd, a.handle));	/* not a pin */
	close(fd);
	ASSERT_EQ(0, debugfs_value("cma", "bytes_in_use"));
}

/*
 * The contrast on ZONE_MOVABLE: a short-term pin (CAP_SYS_ADMIN only)
 * leaves the pages where they are, the long-term one moves them.
 */
PM_TEST_F(migration, shortterm_pin_stays_in_movable, 300)
{
	const size_t len = 4 * MiB;
	size_t before;
	char *buf;
	uint64_t h;
	int fd, status;
	pid_t pid;

	NEED_MOVABLE();
	buf = movable_buffer(len, 50, &before);
	ASSERT_TRUE(buf);
	ASSERT_TRUE(before * 10 >= len / PAGE * 9);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_SHORTTERM, &h, NULL));
	ASSERT_EQ(before, pages_in_zone(buf, len, "Movable", NULL));
	ASSERT_EQ(0, pm_unpin(fd, h));
	/* unprivileged: refused */
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid)
		_exit(drop_cap_sys_admin() ? 2 :
		      pm_pin(fd, buf, len, PINMEM_PIN_SHORTTERM, NULL, NULL) != -EPERM);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	close(fd);
}

/* The "pin:" line of handle @h in /proc/self/fdinfo/@fd, or "" */
static const char *fdinfo_pin_line(int fd, uint64_t h, char *line, size_t len)
{
	char path[64], want[48];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	snprintf(want, sizeof(want), "pin:\thandle=%llu ", (unsigned long long)h);
	line[0] = 0;
	f = fopen(path, "r");
	if (!f)
		return line;
	while (fgets(line, len, f))
		if (!strncmp(line, want, strlen(want)))
			break;
	if (strncmp(line, want, strlen(want)))
		line[0] = 0;
	fclose(f);
	return line;
}

/*
 * /proc/self/fdinfo of a /dev/pinmem fd lists its pins (the owner's view):
 * the totals, one pin: line per pin with its range, size, flags and
 * placement, and never a PFN.
 */
PM_TEST_F(introspect, fdinfo_lists_pins, 120)
{
	char *buf = map_anon(8 * PAGE, RW), line[512], want[160], path[64];
	uint64_t h1, h2;
	int fd = pm_open();
	FILE *f;

	ASSERT_TRUE(buf && fd >= 0);
	memset(buf, 1, 8 * PAGE);
	ASSERT_EQ(0, fdinfo_value(fd, "pinmem-pins"));
	ASSERT_EQ(0, fdinfo_value(fd, "pinmem-pins-listed"));
	ASSERT_EQ(0, pm_pin(fd, buf, 4 * PAGE, PINMEM_PIN_WRITE, &h1, NULL));
	ASSERT_EQ(0, pm_pin(fd, buf + 6 * PAGE, 2 * PAGE, 0, &h2, NULL));
	ASSERT_EQ(2, fdinfo_value(fd, "pinmem-pins"));
	ASSERT_EQ(6, fdinfo_value(fd, "pinmem-pinned-pages"));
	ASSERT_EQ(0, fdinfo_value(fd, "pinmem-contig-buffers"));
	ASSERT_EQ(2, fdinfo_value(fd, "pinmem-pins-listed"));
	ASSERT_TRUE(fdinfo_value(fd, "pinmem-user-locked-pages") >= 6);
	ASSERT_TRUE(fdinfo_value(fd, "pinmem-ctx") >= 0);

	snprintf(want, sizeof(want), "pin:\thandle=%llu start=%p end=%p pages=4 flags=rw exports=0 attachments=0 age_ms=",
		 (unsigned long long)h1, buf, buf + 4 * PAGE);
	fdinfo_pin_line(fd, h1, line, sizeof(line));
	if (strncmp(line, want, strlen(want)))
		ksft_print_msg("fdinfo: \"%s\", wanted \"%s...\"\n", line, want);
	ASSERT_TRUE(!strncmp(line, want, strlen(want)));
	ASSERT_TRUE(strstr(line, " compound=0 huge=0\n"));
	snprintf(want, sizeof(want), "pin:\thandle=%llu start=%p end=%p pages=2 flags=r- ",
		 (unsigned long long)h2, buf + 6 * PAGE, buf + 8 * PAGE);
	ASSERT_TRUE(!strncmp(fdinfo_pin_line(fd, h2, line, sizeof(line)), want, strlen(want)));

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	ASSERT_TRUE(f);
	/* the only addresses in it are the two pins' bounds: no kernel's */
	while (fgets(line, sizeof(line), f)) {
		char *x = line;
		bool bad = strstr(line, "pfn");

		while ((x = strstr(x, "0x"))) {
			uintptr_t v = strtoull(x, &x, 16);

			bad |= v != (uintptr_t)buf && v != (uintptr_t)(buf + 4 * PAGE) &&
			       v != (uintptr_t)(buf + 6 * PAGE) &&
			       v != (uintptr_t)(buf + 8 * PAGE);
		}
		ASSERT_FALSE(bad)
			TH_LOG("fdinfo shows something other than the pins' addresses: %s",
			       line);
	}
	fclose(f);
	cat_file(path);

	ASSERT_EQ(0, pm_unpin(fd, h1));
	ASSERT_EQ(1, fdinfo_value(fd, "pinmem-pins"));
	ASSERT_EQ(2, fdinfo_value(fd, "pinmem-pinned-pages"));
	ASSERT_EQ(0, *fdinfo_pin_line(fd, h1, line, sizeof(line)));
	close(fd);
	munmap(buf, 8 * PAGE);
}

/*
 * pinmem:pinmem_pin, pinmem:pinmem_unpin and pinmem:pinmem_refuse, read
 * back from tracefs: a pin and its unpin by UNPIN and by close, refusals
 * for an overlap, a bad range and RLIMIT_MEMLOCK (a child without
 * CAP_IPC_LOCK), each with its reason and errno.
 */
PM_TEST_F(introspect, trace_pin_unpin_refuse, 120)
{
	char *buf = map_anon(32 * PAGE, RW), want[96], *tr;
	uint64_t h1 = 0, h2 = 0;
	int fd, r, status;
	pid_t pid;

	ASSERT_TRUE(buf);
	memset(buf, 1, 32 * PAGE);
	r = trace_start();
	if (r == -ENOENT)
		SKIP(return, "no /sys/kernel/tracing/events: the kernel has no CONFIG_TRACING");
	ASSERT_EQ(0, r);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, 4 * PAGE, PINMEM_PIN_WRITE, &h1, NULL));
	ASSERT_EQ(-EEXIST, pm_pin(fd, buf + 2 * PAGE, 4 * PAGE, 0, NULL, NULL));
	ASSERT_EQ(-EINVAL, pm_pin(fd, buf + 1, PAGE, 0, NULL, NULL));
	ASSERT_EQ(0, pm_pin(fd, buf + 8 * PAGE, 2 * PAGE, 0, &h2, NULL));
	ASSERT_EQ(0, pm_unpin(fd, h1));
	close(fd);		/* unpins h2 */

	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		struct rlimit rl = { 4 * PAGE, 4 * PAGE };
		int cfd = pm_open();

		if (cfd < 0 || setrlimit(RLIMIT_MEMLOCK, &rl) || setuid(65534))
			_exit(10);
		_exit(pm_pin(cfd, buf + 16 * PAGE, 8 * PAGE, 0, NULL, NULL) == -ENOMEM ? 0 : 11);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	tr = trace_stop();
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_TRUE(tr);

	r = 1;
	snprintf(want, sizeof(want), "handle=%llu start=%p pages=4 flags=write",
		 (unsigned long long)h1, buf);
	r &= !!trace_find(tr, "pinmem_pin", want);
	snprintf(want, sizeof(want), "handle=%llu start=%p pages=4 exports=0",
		 (unsigned long long)h1, buf);
	r &= !!trace_find(tr, "pinmem_unpin", want);
	snprintf(want, sizeof(want), "handle=%llu start=%p pages=2 exports=0",
		 (unsigned long long)h2, buf + 8 * PAGE);
	r &= !!trace_find(tr, "pinmem_unpin", want);
	snprintf(want, sizeof(want), "start=%p pages=4 flags= reason=overlap err=-17",
		 buf + 2 * PAGE);
	r &= !!trace_find(tr, "pinmem_refuse", want);
	r &= !!trace_find(tr, "pinmem_refuse", "reason=args err=-22");
	snprintf(want, sizeof(want), "start=%p pages=8 flags= reason=rlimit_memlock err=-12",
		 buf + 16 * PAGE);
	r &= !!trace_find(tr, "pinmem_refuse", want);
	if (!r)
		ksft_print_msg("trace:\n%s\n", tr);
	free(tr);
	munmap(buf, 32 * PAGE);
	ASSERT_TRUE(r);
}

/*
 * pinmem:pinmem_migrate: a long-term pin of a buffer in ZONE_MOVABLE says how many
 * of its present pages it moved (all those pagemap showed in Movable) and
 * how long pinning took.
 */
PM_TEST_F(introspect, trace_migrate_out_of_movable, 300)
{
	const size_t len = 4 * MiB;
	char want[96], *buf, *tr;
	const char *line, *ns;
	size_t before;
	uint64_t h;
	int fd, r;

	NEED_MOVABLE();
	buf = movable_buffer(len, 60, &before);
	ASSERT_TRUE(buf);
	if (!before) {
		munmap(buf, len);
		SKIP(return, "no page of the buffer landed in ZONE_MOVABLE");
	}
	r = trace_start();
	if (r == -ENOENT) {
		munmap(buf, len);
		SKIP(return, "no /sys/kernel/tracing/events: the kernel has no CONFIG_TRACING");
	}
	ASSERT_EQ(0, r);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL));
	ASSERT_EQ(0, pages_in_zone(buf, len, "Movable", NULL));
	close(fd);
	tr = trace_stop();
	ASSERT_TRUE(tr);
	snprintf(want, sizeof(want), "start=%p pages=%zu moved=%zu ns=", buf,
		 len / PAGE, before);
	line = trace_find(tr, "pinmem_migrate", want);
	if (!line)
		ksft_print_msg("%zu pages in Movable before; trace:\n%s\n", before, tr);
	ns = line ? strstr(line, " ns=") : NULL;
	r = ns && strtoull(ns + 4, NULL, 10) > 0;
	if (line)
		ksft_print_msg("%.*s\n", (int)strcspn(line, "\n"), line);
	free(tr);
	munmap(buf, len);
	ASSERT_TRUE(r);
}

/* ------------------------------------------------- parallel PIN/UNPIN */

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
	struct pinmem_query_args q = { 0 };
	uint64_t h, nr, *pfns, i, mismatched = 0, sum = 0;
	long jobs, parts;
	char *buf, *out;
	int fd, z;

	NEED_ALL_CPUS();
	buf = small_page_buffer(len, 41);
	out = malloc(2 * MiB);
	pfns = calloc(npages, sizeof(*pfns));
	ASSERT_TRUE(buf && out && pfns);
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

	q.handle = h;
	q.flags = PINMEM_QUERY_PFNS;
	q.pfns = (uintptr_t)pfns;
	q.nr_pfns = npages;
	ASSERT_EQ(0, pm_query(fd, &q));
	ASSERT_EQ(npages, q.nr_pfns);
	for (z = 0; z < PINMEM_ZONE_SLOTS; z++)
		sum += q.zone_pages[z];
	ASSERT_EQ(npages, sum);
	ASSERT_EQ(0, q.zone_pages[PINMEM_ZONE_MOVABLE]);
	for (i = 0; i < npages; i++)
		mismatched += pfns[i] != pfn_of(buf + i * PAGE);
	ASSERT_EQ(0, mismatched);

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
	free(pfns);
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
	struct pinmem_query_args q = { 0 };
	uint64_t h, *pfns, i, mismatched = 0;
	char *buf = map_aligned(len, PMD_BYTES);
	int fd;

	NEED_ALL_CPUS();
	pfns = calloc(npages, sizeof(*pfns));
	ASSERT_TRUE(buf && pfns);
	madvise(buf, len, MADV_NOHUGEPAGE);
	fill_pattern(buf, len / 2, 45);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL));
	ASSERT_EQ(npages, pins_outstanding());
	q.handle = h;
	q.flags = PINMEM_QUERY_PFNS;
	q.pfns = (uintptr_t)pfns;
	q.nr_pfns = npages;
	ASSERT_EQ(0, pm_query(fd, &q));
	for (i = 0; i < npages; i++)
		mismatched += pfns[i] != pfn_of(buf + i * PAGE);
	ASSERT_EQ(0, mismatched);
	ASSERT_EQ(0, check_pattern(buf, len / 2, 45));
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
	free(pfns);
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
	const char *why[2] = { "", "" };
	char old[64] = "", *sel;
	int fd, r[2];

	NEED_ALL_CPUS();
	if (access("/sys/devices/system/node/node1", F_OK))
		SKIP(return, "one NUMA node: no cpuset can keep a pin from another");
	NEED_MOVABLE();
	mkdir("/sys/fs/cgroup", 0755);
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) &&
	    mount("none", "/sys/fs/cgroup", "cgroup2", 0, NULL))
		SKIP(return, "no cgroup2 (%s)", strerror(errno));
	if (write_file("/sys/fs/cgroup/cgroup.subtree_control", "+cpuset +cpu"))
		SKIP(return, "no cpuset or cpu controller");
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

/* ------------------------------- module unload, last: the reload leaves a pool */

PM_TEST_F(module, rmmod_while_open_fails, 120)
{
	int fd = pm_open();

	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(-1, syscall(SYS_delete_module, "pinmem", O_NONBLOCK));
	ASSERT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	ASSERT_TRUE(access("/dev/pinmem", F_OK) == 0);
	close(fd);
}

PM_TEST_F(module, rmmod_after_close_and_reload_with_pool, 300)
{
	char *buf = map_anon(PAGE * 4, RW);
	int fd = pm_open(), kfd, i;
	uint64_t h;

	ASSERT_TRUE(buf && fd >= 0);
	memset(buf, 1, 4 * PAGE);
	ASSERT_EQ(0, pm_pin(fd, buf, 4 * PAGE, 0, &h, NULL));
	close(fd);
	ASSERT_EQ(0, syscall(SYS_delete_module, "pinmem", O_NONBLOCK));
	ASSERT_TRUE(access("/sys/module/pinmem", F_OK) != 0);
	ASSERT_EQ(0, pins_outstanding());
	kfd = open(ko_path(), O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(kfd >= 0);
	ASSERT_EQ(0, syscall(SYS_finit_module, kfd, "pool_mb=2", 0));
	close(kfd);
	for (i = 0; i < 100 && access("/dev/pinmem", F_OK); i++)
		usleep(10000);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, 4 * PAGE, 0, &h, NULL));
	ASSERT_EQ(1, h);
	ASSERT_EQ(1, debugfs_stat("total_pins"));

	/* the reserved pool serves aligned buffers until it is full */
	ASSERT_EQ(2 * MiB, debugfs_value("cma", "pool_bytes"));
	{
		struct pinmem_contig_alloc_args a = {
			.flags = PINMEM_CONTIG_POOL, .length = 64 * 1024,
			.align = 256 * 1024,
		};
		struct pinmem_contig_alloc_args b = {
			.flags = PINMEM_CONTIG_POOL, .length = 2 * MiB,
		};
		char *p;

		ASSERT_EQ(0, pm_contig_alloc(fd, &a));
		ASSERT_EQ(PINMEM_CONTIG_IN_POOL, a.placement);
		ASSERT_EQ(0, a.phys_addr % (256 * 1024));
		ASSERT_EQ(-ENOMEM, pm_contig_alloc(fd, &b));
		p = mmap(NULL, 64 * 1024, RW, MAP_SHARED, fd, a.mmap_offset);
		ASSERT_TRUE(p != MAP_FAILED);
		fill_pattern(p, 64 * 1024, 60);
		ASSERT_EQ(0, check_pattern(p, 64 * 1024, 60));
		munmap(p, 64 * 1024);
		ASSERT_EQ(2 * MiB - 64 * 1024, debugfs_value("cma", "pool_free_bytes"));
	}
	close(fd);
	ASSERT_EQ(2 * MiB, debugfs_value("cma", "pool_free_bytes"));
}

PM_TEST_HARNESS_MAIN
