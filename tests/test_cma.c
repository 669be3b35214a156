// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem on a CMA kernel: long-term pins migrate out of CMA, and so never
 * block a contiguous allocation; a short-term pin (what drivers did before
 * FOLL_LONGTERM) does. Skips, with the reason, where the kernel has no CMA
 * area. The CMA range is the one the kernel printed at boot, so "it came
 * from CMA" is checked against the kernel's word, not the module's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util.h"

#define RW (PROT_READ | PROT_WRITE)

static uint64_t cma_start, cma_end;

static int need_cma(void)
{
	if (!cma_end)
		return skip("kernel has no CMA area (no \"cma: Reserved\" at boot; boot with cma=)");
	return T_PASS;
}

/* The buffer size the measurements of issue 3 used: 300 MiB of a 512 MiB area. */
static size_t buffer_len(void)
{
	size_t cma = cma_end - cma_start;

	return (cma / 512 * 300) & ~(2 * MiB - 1);
}

/* A buffer with as many pages in CMA as the allocator gives us. */
static char *cma_buffer(size_t len, uint32_t seed, size_t *in_cma)
{
	char *buf = map_anon(len, RW);

	if (!buf)
		return NULL;
	fill_pattern(buf, len, seed);
	*in_cma = pages_in_phys_range(buf, len, cma_start, cma_end);
	return buf;
}

static int t_cma_area(void)
{
	if (need_cma() == T_SKIP)
		return T_SKIP;
	diag("CMA area [%#llx, %#llx): %llu MiB; CmaTotal %ld kB, CmaFree %ld kB",
	     (unsigned long long)cma_start, (unsigned long long)cma_end,
	     (unsigned long long)((cma_end - cma_start) >> 20),
	     meminfo_kb("CmaTotal"), meminfo_kb("CmaFree"));
	CHECK(meminfo_kb("CmaTotal") > 0);
	CHECK(debugfs_value("cma", "cma_free_at_load_kib") > 0);
	return T_PASS;
}

static int t_pin_migrates_out_of_cma(void)
{
	size_t len, before, after;
	uint64_t h;
	char *buf;
	int fd;

	if (need_cma() == T_SKIP)
		return T_SKIP;
	len = buffer_len();
	buf = cma_buffer(len, 1, &before);
	CHECK(buf);
	diag("%zu MiB buffer: %zu of %zu pages in CMA before PIN", len >> 20,
	     before, len / PAGE);
	if (!before)
		return skip("no page of the buffer landed in CMA");
	fd = pm_open();
	CHECK(fd >= 0);
	CHECK_EQ(pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL), 0);
	after = pages_in_phys_range(buf, len, cma_start, cma_end);
	diag("after PIN: %zu pages in CMA", after);
	CHECK_EQ(after, 0);
	CHECK_EQ(check_pattern(buf, len, 1), 0);
	CHECK_EQ(pm_unpin(fd, h), 0);
	close(fd);
	munmap(buf, len);
	return T_PASS;
}

/* Allocate @len contiguous bytes; 0 with *in_cma set, or -errno. */
static int contig_try(int fd, size_t len, bool *in_cma)
{
	struct pinmem_contig_alloc_args a = { .length = len };
	int ret = pm_contig_alloc(fd, &a);

	if (ret)
		return ret;
	*in_cma = a.phys_addr >= cma_start && a.phys_addr + len <= cma_end;
	diag("  CONTIG_ALLOC %zu MiB: phys %#llx, module says %s, range says %s",
	     len >> 20, (unsigned long long)a.phys_addr,
	     a.placement & PINMEM_CONTIG_IN_CMA ? "CMA" : "not CMA",
	     *in_cma ? "CMA" : "not CMA");
	if (!!(a.placement & PINMEM_CONTIG_IN_CMA) != *in_cma)
		ret = -EIO;	/* the module's measurement disagrees */
	pm_contig_free(fd, a.handle);
	return ret;
}

/*
 * The seeds' story in one case: with the buffer held by a short-term pin,
 * a large contiguous allocation fails; unpinned, it succeeds; held by a
 * long-term pin, it still succeeds.
 */
static int t_longterm_pin_never_blocks_contig_alloc(void)
{
	size_t len, in_cma, big;
	bool from_cma;
	char *buf;
	uint64_t h;
	int fd, ret;

	if (need_cma() == T_SKIP)
		return T_SKIP;
	len = buffer_len();
	buf = cma_buffer(len, 2, &in_cma);
	CHECK(buf);
	/*
	 * 3/4 of the area, or more where few of the buffer's pages made it
	 * into CMA: any range that large holds at least half of them.
	 */
	big = (cma_end - cma_start) / 4 * 3;
	if ((size_t)(cma_end - cma_start) - in_cma * PAGE / 2 > big)
		big = ((size_t)(cma_end - cma_start) - in_cma * PAGE / 2) & ~(MiB - 1);
	diag("%zu MiB buffer, %zu pages in CMA; contiguous request %zu MiB",
	     len >> 20, in_cma, big >> 20);
	if (!in_cma)
		return skip("no page of the buffer landed in CMA");
	fd = pm_open();
	CHECK(fd >= 0);

	diag("short-term pin (no FOLL_LONGTERM):");
	CHECK_EQ(pm_pin(fd, buf, len, PINMEM_PIN_SHORTTERM, &h, NULL), 0);
	CHECK_EQ(pages_in_phys_range(buf, len, cma_start, cma_end), in_cma);
	ret = contig_try(fd, big, &from_cma);
	diag("  -> %s", ret ? strerror(-ret) : "allocated");
	CHECK(ret == -ENOMEM || (ret == 0 && !from_cma));
	CHECK_EQ(pm_unpin(fd, h), 0);

	diag("unpinned:");
	ret = contig_try(fd, big, &from_cma);
	CHECK_EQ(ret, 0);
	CHECK(from_cma);

	diag("long-term pin:");
	CHECK_EQ(pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL), 0);
	CHECK_EQ(pages_in_phys_range(buf, len, cma_start, cma_end), 0);
	ret = contig_try(fd, big, &from_cma);
	CHECK_EQ(ret, 0);
	CHECK(from_cma);
	CHECK_EQ(check_pattern(buf, len, 2), 0);
	CHECK_EQ(pm_unpin(fd, h), 0);
	close(fd);
	munmap(buf, len);
	return T_PASS;
}

/*
 * More to migrate out of CMA than fits elsewhere: refused with -ENOMEM,
 * nobody OOM-killed (the bare kernel path OOM-kills the pinner).
 */
static int t_pin_too_big_for_non_cma_memory(void)
{
	long oom_before = vmstat("oom_kill"), free_pages;
	size_t len, in_cma, non_cma_free;
	char *buf;
	int fd;

	if (need_cma() == T_SKIP)
		return T_SKIP;
	free_pages = vmstat("nr_free_pages");
	/* a buffer that fills most free memory: much of it must sit in CMA */
	len = ((size_t)free_pages / 4 * 3 * PAGE) & ~(2 * MiB - 1);
	buf = cma_buffer(len, 3, &in_cma);
	CHECK(buf);
	non_cma_free = (size_t)(vmstat("nr_free_pages") - vmstat("nr_free_cma")) * PAGE;
	diag("%zu MiB buffer, %zu MiB of it in CMA, %zu MiB free outside CMA",
	     len >> 20, in_cma * PAGE >> 20, non_cma_free >> 20);
	if (in_cma * PAGE <= non_cma_free)
		return skip("could not put more in CMA than fits outside it");
	fd = pm_open();
	CHECK(fd >= 0);
	CHECK_EQ(pm_pin(fd, buf, len, PINMEM_PIN_WRITE, NULL, NULL), -ENOMEM);
	CHECK_EQ(vmstat("oom_kill"), oom_before);
	CHECK_EQ(check_pattern(buf, len, 3), 0);
	close(fd);
	munmap(buf, len);
	return T_PASS;
}

static const struct tcase cases[] = {
	{ "cma_area_present", t_cma_area },
	{ "pin_migrates_out_of_cma", t_pin_migrates_out_of_cma },
	{ "longterm_pin_never_blocks_contig_alloc",
	  t_longterm_pin_never_blocks_contig_alloc },
	{ "pin_too_big_for_non_cma_memory_enomem",
	  t_pin_too_big_for_non_cma_memory },
};

int main(void)
{
	cma_range(&cma_start, &cma_end);
	return tap_main(cases, sizeof(cases) / sizeof(cases[0]));
}
