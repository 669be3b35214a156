// SPDX-License-Identifier: GPL-2.0
/*
 * What a pin's ACCESS and QUERY see: a read pin sees the process's later
 * writes, and lookups find every page of a pin of many runs.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pinmem_test_uapi.h"
#include "util.h"
#include "harness.h"

#define RW (PROT_READ | PROT_WRITE)

/* ------------------------------------------------------- coherency */

/*
 * A read pin (the device reads) of memory the process fills afterwards:
 * of a buffer never touched, or only read (the shared zero page mapped).
 */
PM_FIXTURE(coherency)

FIXTURE_VARIANT(coherency) {
	bool touch_first;
};

FIXTURE_VARIANT_ADD(coherency, untouched) {
	.touch_first = false,
};

FIXTURE_VARIANT_ADD(coherency, read_touched) {
	.touch_first = true,
};

PM_TEST_F(coherency, read_pin_sees_writes, 120)
{
	const size_t len = 64 * PAGE;
	char *buf = mmap(NULL, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *out = malloc(len);
	volatile char sink = 0;
	uint64_t h;
	size_t i;
	int fd;

	ASSERT_TRUE(buf != MAP_FAILED && out);
	if (variant->touch_first)
		for (i = 0; i < len; i += PAGE)
			sink += buf[i];	/* maps the shared zero page */
	(void)sink;
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, len, 0, &h, NULL));
	fill_pattern(buf, len, 77);
	ASSERT_EQ(0, pm_access(fd, h, 0, len, out, 0));
	ksft_print_msg("%zu of %zu bytes the device reads differ from what the process wrote\n",
		       check_pattern(out, len, 77), len);
	ASSERT_EQ(0, check_pattern(out, len, 77));
	/* and a fork does not take the pinned pages away from the parent */
	if (!fork()) {
		buf[0] = 1;
		_exit(0);
	}
	wait(NULL);
	buf[1] = 42;
	ASSERT_EQ(0, pm_access(fd, h, 0, PAGE, out, 0));
	ASSERT_EQ(42, out[1]);
	close(fd);
	free(out);
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
PM_FIXTURE(lookup)

PM_TEST_F(lookup, seek_in_many_runs, 300)
{
	const size_t n = 8192;
	char *buf = mmap(NULL, n * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char out[64];
	uint64_t h, pfn;
	size_t i, k;
	long runs;
	int fd;

	char *gap = mmap(NULL, n * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_TRUE(buf != MAP_FAILED && gap != MAP_FAILED);
	madvise(buf, n * PAGE, MADV_NOHUGEPAGE);
	madvise(gap, n * PAGE, MADV_NOHUGEPAGE);
	/* each page faulted between two of another buffer: scattered frames */
	for (i = n; i-- > 0;) {
		snprintf(buf + i * PAGE, 64, "page %zu", i);
		gap[i * PAGE] = 1;
	}
	munmap(gap, n * PAGE);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	/* short-term: a migration out of ZONE_MOVABLE/CMA would make the frames consecutive */
	ASSERT_EQ(0, pm_pin(fd, buf, n * PAGE, PINMEM_PIN_SHORTTERM, &h, NULL));
	runs = debugfs_runs();
	ksft_print_msg("%zu pages in %ld runs\n", n, runs);
	for (k = 0; k < 2000; k++) {
		struct pinmem_query_args q = {
			.size = sizeof(q), .handle = h, .flags = PINMEM_QUERY_PFNS,
			.pfns = (uintptr_t)&pfn, .nr_pfns = 1,
		};

		i = (k * 2654435761u) % n;
		if (k < 3)
			i = k ? n - k : 0;
		q.pfn_first = i;
		ASSERT_EQ(0, pm_access(fd, h, i * PAGE, sizeof(out), out, 0));
		ASSERT_TRUE(!memcmp(out, buf + i * PAGE, sizeof(out)));
		ASSERT_EQ(0, pm_query(fd, &q));
		ASSERT_EQ(pfn_of(buf + i * PAGE), pfn);
	}
	ASSERT_TRUE(runs > 64);
	close(fd);
}

PM_TEST_HARNESS_MAIN
