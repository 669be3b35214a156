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

#include "pinmem_test_uapi.h"
#include "util.h"
#include "harness.h"

#define RW (PROT_READ | PROT_WRITE)

/* the CMA area the kernel printed at boot, read by each case's setup */
static uint64_t cma_start, cma_end;

/* Was the kernel booted with cma=? (Then an area it did not reserve is a failure.) */
static bool cma_asked(void)
{
	char line[2048] = "";	/* COMMAND_LINE_SIZE on x86 and arm64 */
	FILE *f = fopen("/proc/cmdline", "re");
	bool asked;

	if (!f)
		return false;
	asked = fgets(line, sizeof(line), f) &&
		(!strncmp(line, "cma=", 4) || strstr(line, " cma="));
	fclose(f);
	return asked;
}

/* The buffer size the measurements of issue 3 used: 300 MiB of a 512 MiB area. */
static size_t buffer_len(void)
{
	size_t cma = cma_end - cma_start;

	return (cma / 512 * 300) & ~(2 * MiB - 1);
}

/*
 * A buffer about half of whose pages are in CMA, on every kernel: filled
 * behind cma_ballast(), which leaves the next allocations to the CMA area.
 * The ballast is released, or handed to the caller in @keep (@keep_len
 * bytes; NULL if there was none).
 */
static char *cma_buffer_keep(size_t len, uint32_t seed, size_t *in_cma,
			     void **keep, size_t *keep_len)
{
	size_t blen;
	void *ballast = cma_ballast(&blen);
	char *buf = map_anon(len, RW);

	if (buf) {
		fill_pattern(buf, len, seed);
		*in_cma = pages_in_phys_range(buf, len, cma_start, cma_end);
	}
	if (ballast)
		ksft_print_msg("(behind %zu MiB of ballast%s)\n", blen >> 20,
			       keep ? ", kept" : ", released before pinning");
	if (keep) {
		*keep = ballast;
		*keep_len = blen;
	} else if (ballast) {
		munmap(ballast, blen);
	}
	return buf;
}

static char *cma_buffer(size_t len, uint32_t seed, size_t *in_cma)
{
	return cma_buffer_keep(len, seed, in_cma, NULL, NULL);
}

/*
 * Every case needs the CMA area: without one it skips, unless the kernel
 * was booted with cma= (then an area it did not reserve is a failure).
 */
FIXTURE(cma) {
	int unused;
};

FIXTURE_SETUP(cma)
{
	cma_range(&cma_start, &cma_end);
	if (cma_end)
		return;
	ASSERT_FALSE(cma_asked())
		TH_LOG("booted with cma= but the kernel reserved no area (see \"cma:\" in dmesg)");
	SKIP(return, "kernel has no CMA area (no \"cma: Reserved\" at boot; boot with cma=)");
}

FIXTURE_TEARDOWN_PARENT(cma)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

PM_TEST_F(cma, area_present, 120)
{
	ksft_print_msg("CMA area [%#llx, %#llx): %llu MiB; CmaTotal %ld kB, CmaFree %ld kB\n",
		       (unsigned long long)cma_start, (unsigned long long)cma_end,
		       (unsigned long long)((cma_end - cma_start) >> 20),
		       meminfo_kb("CmaTotal"), meminfo_kb("CmaFree"));
	ASSERT_GT(meminfo_kb("CmaTotal"), 0);
	ASSERT_GT(debugfs_value("cma", "cma_free_at_load_kib"), 0);
}

PM_TEST_F(cma, pin_migrates_out, 300)
{
	size_t len, before, after, moved;
	uint64_t h;
	char *buf;
	int fd, traced;

	len = buffer_len();
	buf = cma_buffer(len, 1, &before);
	ASSERT_NE(NULL, buf);
	ksft_print_msg("%zu MiB buffer: %zu of %zu pages in CMA before PIN\n", len >> 20,
		       before, len / PAGE);
	if (!before)
		SKIP(return, "no page of the buffer landed in CMA");
	fd = pm_open();
	ASSERT_GE(fd, 0);
	traced = trace_start();
	ASSERT_TRUE(traced == 0 || traced == -ENOENT);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL));
	after = pages_in_phys_range(buf, len, cma_start, cma_end);
	ksft_print_msg("after PIN: %zu pages in CMA\n", after);
	ASSERT_EQ(0, after);
	if (!traced) {	/* pinmem:pinmem_migrate counted at least the CMA pages */
		char *tr = trace_stop(), want[48];
		const char *line, *m;

		ASSERT_NE(NULL, tr);
		snprintf(want, sizeof(want), "start=%p ", buf);
		line = trace_find(tr, "pinmem_migrate", want);
		m = line ? strstr(line, " moved=") : NULL;
		moved = m ? strtoul(m + 7, NULL, 10) : 0;
		ksft_print_msg("pinmem:pinmem_migrate: %.*s\n",
			       line ? (int)strcspn(line, "\n") : 4, line ? line : "none");
		free(tr);
		ASSERT_GE(moved, before);
	} else {
		ksft_print_msg("no tracing in this kernel: pinmem:pinmem_migrate not checked\n");
	}
	ASSERT_EQ(0, check_pattern(buf, len, 1));
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
	munmap(buf, len);
}

/* Allocate @len contiguous bytes; 0 with *in_cma set, or -errno. */
static int contig_try(int fd, size_t len, bool *in_cma)
{
	struct pinmem_contig_alloc_args a = { .length = len };
	int ret = pm_contig_alloc(fd, &a);

	if (ret)
		return ret;
	*in_cma = a.phys_addr >= cma_start && a.phys_addr + len <= cma_end;
	ksft_print_msg("  CONTIG_ALLOC %zu MiB: phys %#llx, module says %s, range says %s\n",
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
PM_TEST_F(cma, longterm_pin_never_blocks_contig_alloc, 600)
{
	size_t len, in_cma, big;
	bool from_cma;
	char *buf;
	uint64_t h;
	int fd, ret;

	len = buffer_len();
	buf = cma_buffer(len, 2, &in_cma);
	ASSERT_NE(NULL, buf);
	/*
	 * 3/4 of the area, or more where few of the buffer's pages made it
	 * into CMA: any range that large holds at least half of them.
	 */
	big = (cma_end - cma_start) / 4 * 3;
	if ((size_t)(cma_end - cma_start) - in_cma * PAGE / 2 > big)
		big = ((size_t)(cma_end - cma_start) - in_cma * PAGE / 2) & ~(MiB - 1);
	ksft_print_msg("%zu MiB buffer, %zu pages in CMA; contiguous request %zu MiB\n",
		       len >> 20, in_cma, big >> 20);
	if (!in_cma)
		SKIP(return, "no page of the buffer landed in CMA");
	fd = pm_open();
	ASSERT_GE(fd, 0);

	ksft_print_msg("short-term pin (no FOLL_LONGTERM):\n");
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_SHORTTERM, &h, NULL));
	ASSERT_EQ(in_cma, pages_in_phys_range(buf, len, cma_start, cma_end));
	ret = contig_try(fd, big, &from_cma);
	ksft_print_msg("  -> %s\n", ret ? strerror(-ret) : "allocated");
	ASSERT_TRUE(ret == -ENOMEM || (ret == 0 && !from_cma));
	ASSERT_EQ(0, pm_unpin(fd, h));

	ksft_print_msg("unpinned:\n");
	ret = contig_try(fd, big, &from_cma);
	ASSERT_EQ(0, ret);
	ASSERT_TRUE(from_cma);

	ksft_print_msg("long-term pin:\n");
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL));
	ASSERT_EQ(0, pages_in_phys_range(buf, len, cma_start, cma_end));
	ret = contig_try(fd, big, &from_cma);
	ASSERT_EQ(0, ret);
	ASSERT_TRUE(from_cma);
	ASSERT_EQ(0, check_pattern(buf, len, 2));
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
	munmap(buf, len);
}

/* Pages of [@buf, +@len) in ZONE_MOVABLE but not in the CMA area. */
static size_t movable_not_cma(const char *buf, size_t len)
{
	struct zone_range z[MAX_ZONE_RANGES];
	int n = zones_load(z, MAX_ZONE_RANGES);
	size_t off, count = 0;

	for (off = 0; off < len; off += PAGE) {
		uint64_t pfn = pfn_of(buf + off);

		count += pfn && !strcmp(zone_of_pfn(z, n, pfn), "Movable") &&
			 !(pfn * PAGE >= cma_start && pfn * PAGE < cma_end);
	}
	return count;
}

/*
 * More to migrate out of CMA than fits elsewhere: refused with -ENOMEM,
 * nobody OOM-killed (the bare kernel path OOM-kills the pinner). A busy
 * machine: the ballast stays (the higher zones full of user memory, so
 * what comes next lands in the zones a pin can use, HIGHMEM apart), and a
 * long-term pin of a "filler" buffer takes the memory a pin can use down to
 * what the buffer's pages outside CMA need (those in ZONE_MOVABLE migrate
 * too) plus half of what its pages in CMA need: the buffer fits only if its
 * CMA pages are not counted. On failure or skip, the case's exit releases
 * the fillers and the ballast.
 */
PM_TEST_F(cma, pin_too_big_for_non_cma_memory_enomem, 600)
{
	long oom_before = vmstat("oom_kill"), free_kb, file_kb, filler_kb;
	size_t len, in_cma, other, flen[3] = { 0 }, blen = 0;
	uint64_t fh[3] = { 0 };
	char *buf, *filler[3] = { NULL };
	void *ballast = NULL;
	int fd, ret, i, nf;

	len = buffer_len();
	buf = cma_buffer_keep(len, 3, &in_cma, &ballast, &blen);
	ASSERT_NE(NULL, buf);
	other = movable_not_cma(buf, len);
	if (in_cma < 512)
		SKIP(return, "only %zu pages of the buffer landed in CMA", in_cma);
	fd = pm_open();
	ASSERT_GE(fd, 0);
	/*
	 * Fillers until at most what the module counts as available is left
	 * of the target (a second and third one correct for what the first
	 * did not take from the zones a pin can use, HIGHMEM say)
	 */
	for (nf = 0; nf < 3; nf++) {
		pinnable_zone_kb(&free_kb, &file_kb);
		filler_kb = free_kb + file_kb / 2 - pinnable_reserve_kb() -
			    (long)(other + in_cma / 2) * PAGE_KB;
		ksft_print_msg("%zu MiB buffer: %zu pages in CMA, %zu in ZONE_MOVABLE outside it; pinnable memory: %ld kB free, %ld kB file; filler %ld kB\n",
			       len >> 20, in_cma, other, free_kb, file_kb, filler_kb);
		if (filler_kb < (long)(in_cma / 8 * PAGE_KB))
			break;
		flen[nf] = ((size_t)filler_kb * 1024) & ~(MiB - 1);
		filler[nf] = map_anon(flen[nf], RW);
		ASSERT_NE(NULL, filler[nf]);
		memset(filler[nf], 7, flen[nf]);
		ret = pm_pin(fd, filler[nf], flen[nf], PINMEM_PIN_WRITE, &fh[nf], NULL);
		if (ret)
			SKIP(return, "the %zu MiB filler pin itself failed: %s",
			     flen[nf] >> 20, strerror(-ret));
	}
	ret = pm_pin(fd, buf, len, PINMEM_PIN_WRITE, NULL, NULL);
	pinnable_zone_kb(&free_kb, &file_kb);
	ksft_print_msg("PIN of the buffer: %d (%s); pinnable memory now %ld kB free, %ld kB file\n",
		       ret, strerror(-ret), free_kb, file_kb);
	ASSERT_EQ(-ENOMEM, ret);
	ASSERT_EQ(oom_before, vmstat("oom_kill"));
	ASSERT_EQ(0, check_pattern(buf, len, 3))
		TH_LOG("the buffer's contents changed");
	for (i = 0; i < 3; i++)
		if (filler[i])
			ASSERT_EQ(0, pm_unpin(fd, fh[i]));
	close(fd);
	for (i = 0; i < 3; i++)
		if (filler[i])
			munmap(filler[i], flen[i]);
	if (ballast)
		munmap(ballast, blen);
	munmap(buf, len);
}

PM_TEST_HARNESS_MAIN
