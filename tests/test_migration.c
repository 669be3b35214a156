// SPDX-License-Identifier: GPL-2.0
/*
 * Long-term pins move pages out of ZONE_MOVABLE, base pages and THPs, and
 * the device (ACCESS, QUERY's PFNs) and the process see the same pages
 * after; a short-term pin leaves them where they are. Those that need
 * ZONE_MOVABLE skip without it (boot with movablecore=).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pinmem_test_uapi.h"
#include "util.h"
#include "admin.h"
#include "harness.h"

#define RW (PROT_READ | PROT_WRITE)

/* long-term pins leave ZONE_MOVABLE; short-term ones stay */
PM_FIXTURE(migration)

PM_TEST_F(migration, pin_migrates_out_of_movable, 300)
{
	const size_t len = 32 * MiB, npages = len / PAGE;
	struct pinmem_query_args q;
	uint64_t h, nr, sum = 0;
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

	ASSERT_EQ(0, pfns_mismatched(fd, h, buf, npages, &q));
	ASSERT_EQ(0, q.zone_pages[PINMEM_ZONE_MOVABLE]);
	for (z = 0; z < PINMEM_ZONE_SLOTS; z++)
		sum += q.zone_pages[z];
	ASSERT_EQ(npages, sum);
	ksft_print_msg("QUERY: DMA=%llu DMA32=%llu Normal=%llu Movable=%llu\n",
		       (unsigned long long)q.zone_pages[PINMEM_ZONE_DMA],
		       (unsigned long long)q.zone_pages[PINMEM_ZONE_DMA32],
		       (unsigned long long)q.zone_pages[PINMEM_ZONE_NORMAL],
		       (unsigned long long)q.zone_pages[PINMEM_ZONE_MOVABLE]);

	ASSERT_EQ(0, pm_unpin(fd, h));
	ASSERT_EQ(0, pins_outstanding());
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
		size_t sub_comp, sub_thp;
		uint64_t mid[10];

		ASSERT_EQ(0, pm_pin(fd, buf + first * PAGE, n * PAGE, 0, &h, NULL));
		sub_thp = count_thp(buf + first * PAGE, n * PAGE, &sub_comp);
		ASSERT_EQ(0, pfns_mismatched(fd, h, buf + first * PAGE, n, &q));
		ASSERT_EQ(sub_thp, q.nr_huge);
		ASSERT_EQ(sub_comp, q.nr_compound);
		/* PFNs from the middle of the pin */
		q.pfns = (uintptr_t)mid;
		q.pfn_first = 500;
		q.nr_pfns = 10;
		ASSERT_EQ(0, pm_query(fd, &q));
		ASSERT_EQ(pfn_of(buf + (first + 500) * PAGE), mid[0]);
		ASSERT_EQ(pfn_of(buf + (first + 509) * PAGE), mid[9]);
		ASSERT_EQ(0, pm_unpin(fd, h));
	}
	close(fd);
	munmap(buf, len);
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

PM_TEST_HARNESS_MAIN
