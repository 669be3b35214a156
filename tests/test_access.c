// SPDX-License-Identifier: GPL-2.0
/*
 * What a pin's ACCESS and QUERY see, and the ABI's edges: a read pin sees
 * the process's later writes; lookups in a pin of many runs; tagged user
 * addresses; the ioctl numbers and the size bounds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pinmem_test_uapi.h"
#include "util.h"
#include "harness.h"

#define RW (PROT_READ | PROT_WRITE)
#ifndef PR_SET_TAGGED_ADDR_CTRL
#define PR_SET_TAGGED_ADDR_CTRL 55
#define PR_TAGGED_ADDR_ENABLE (1UL << 0)
#endif
/* ABI 1 headers lack it: lets these tests run against a module of ABI 1 */
#ifndef PINMEM_ARGS_SIZE_MAX
#define PINMEM_ARGS_SIZE_MAX (1 << 12)	/* bytes of an argument struct */
#endif

/* ------------------------------------------------------- coherency */

/*
 * A read pin (the device reads) of memory the process fills afterwards:
 * of a buffer never touched, or only read (the shared zero page mapped).
 */
FIXTURE(coherency) {
	int unused;
};

FIXTURE_VARIANT(coherency) {
	bool touch_first;
};

FIXTURE_VARIANT_ADD(coherency, untouched) {
	.touch_first = false,
};

FIXTURE_VARIANT_ADD(coherency, read_touched) {
	.touch_first = true,
};

FIXTURE_SETUP(coherency)
{
}

FIXTURE_TEARDOWN_PARENT(coherency)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

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

/* ------------------------------------------------------- tagged */

/* The ABI: tagged user addresses, the ioctl numbers and the size bounds. */
PM_FIXTURE(abi)

PM_TEST_F(abi, tagged_address, 120)
{
#ifdef __aarch64__
	char *buf = map_anon(4 * PAGE, RW);
	struct pinmem_query_args q = {
		.size = sizeof(q), .flags = PINMEM_QUERY_BY_ADDR,
	};
	uint64_t h;
	int fd = pm_open();

	ASSERT_TRUE(buf && fd >= 0);
	if (prctl(PR_SET_TAGGED_ADDR_CTRL, PR_TAGGED_ADDR_ENABLE, 0, 0, 0))
		SKIP(return, "tagged addresses not supported: %s", strerror(errno));
	ASSERT_EQ(0, pm_pin(fd, (char *)((uintptr_t)buf | (0x2AUL << 56)), 4 * PAGE,
			    0, &h, NULL));
	q.addr = (uintptr_t)buf;
	ASSERT_EQ(0, pm_query(fd, &q));
	ASSERT_EQ(h, q.handle);
	ASSERT_EQ((uintptr_t)buf, q.addr);
	ASSERT_EQ(-EEXIST, pm_pin(fd, buf, PAGE, 0, NULL, NULL));
	close(fd);
#else
	SKIP(return, "tagged user addresses are tested on arm64 (TBI)");
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
/* Lookups in a pin of many runs of pages. */
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

/* ----------------------------------------------------------- ABI */

PM_TEST_F(abi, numbers_and_bounds, 120)
{
	struct pinmem_contig_alloc_args a = {
		.length = (1ULL << 63) + PAGE,
	};
	static char big[8192];
	struct pinmem_version_args *v = (void *)big;
	int fd = pm_open();

	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0xDE, _IOC_TYPE(PINMEM_IOC_PIN));
	ASSERT_EQ(_IOC_READ | _IOC_WRITE, _IOC_DIR(PINMEM_IOC_PIN));
	ASSERT_EQ(PINMEM_PIN_SIZE_VER0, _IOC_SIZE(PINMEM_IOC_PIN));
	/* the ABI 1 numbers (type 0xB8, _IO) are gone */
	v->size = sizeof(*v);
	ASSERT_TRUE(ioctl(fd, _IO(0xB8, 0x00), v) < 0 && errno == ENOTTY);
	ASSERT_EQ(0, ioctl(fd, PINMEM_IOC_VERSION, v));
	/* the size bound is PINMEM_ARGS_SIZE_MAX on every page size */
	v->size = PINMEM_ARGS_SIZE_MAX;
	ASSERT_EQ(0, ioctl(fd, PINMEM_IOC_VERSION, v));
	v->size = PINMEM_ARGS_SIZE_MAX + 8;
	ASSERT_TRUE(ioctl(fd, PINMEM_IOC_VERSION, v) < 0 && errno == E2BIG);
	/* a length past the machine: ENOMEM, not a shift by 64 */
	ASSERT_EQ(-ENOMEM, pm_contig_alloc(fd, &a));
	close(fd);
}

PM_TEST_HARNESS_MAIN
