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

#define RW (PROT_READ | PROT_WRITE)

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

static int need_cma(void)
{
	if (cma_end)
		return T_PASS;
	if (cma_asked()) {
		diag("booted with cma= but the kernel reserved no area (see \"cma:\" in dmesg)");
		return T_FAIL;
	}
	return skip("kernel has no CMA area (no \"cma: Reserved\" at boot; boot with cma=)");
}

#define REQUIRE_CMA()					\
	do {						\
		int r_ = need_cma();			\
							\
		if (r_ != T_PASS)			\
			return r_;			\
	} while (0)

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
		diag("(behind %zu MiB of ballast%s)", blen >> 20,
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

static int t_cma_area(void)
{
	REQUIRE_CMA();
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
	size_t len, before, after, moved;
	uint64_t h;
	char *buf;
	int fd, traced;

	REQUIRE_CMA();
	len = buffer_len();
	buf = cma_buffer(len, 1, &before);
	CHECK(buf);
	diag("%zu MiB buffer: %zu of %zu pages in CMA before PIN", len >> 20,
	     before, len / PAGE);
	if (!before)
		return skip("no page of the buffer landed in CMA");
	fd = pm_open();
	CHECK(fd >= 0);
	traced = trace_start();
	CHECK(traced == 0 || traced == -ENOENT);
	CHECK_EQ(pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL), 0);
	after = pages_in_phys_range(buf, len, cma_start, cma_end);
	diag("after PIN: %zu pages in CMA", after);
	CHECK_EQ(after, 0);
	if (!traced) {	/* pinmem:pinmem_migrate counted at least the CMA pages */
		char *tr = trace_stop(), want[48];
		const char *line, *m;

		CHECK(tr);
		snprintf(want, sizeof(want), "start=%p ", buf);
		line = trace_find(tr, "pinmem_migrate", want);
		m = line ? strstr(line, " moved=") : NULL;
		moved = m ? strtoul(m + 7, NULL, 10) : 0;
		diag("pinmem:pinmem_migrate: %.*s", line ? (int)strcspn(line, "\n") : 4,
		     line ? line : "none");
		free(tr);
		CHECK(moved >= before);
	} else {
		diag("no tracing in this kernel: pinmem:pinmem_migrate not checked");
	}
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

	REQUIRE_CMA();
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
 * CMA pages are not counted.
 */
static int t_pin_too_big_for_non_cma_memory(void)
{
	long oom_before = vmstat("oom_kill"), free_kb, file_kb, filler_kb;
	size_t len, in_cma, other, flen[3] = { 0 }, blen = 0;
	uint64_t fh[3] = { 0 };
	char *buf, *filler[3] = { NULL };
	void *ballast = NULL;
	int fd = -1, ret, result = T_FAIL, i, nf = 0;

	REQUIRE_CMA();
	len = buffer_len();
	buf = cma_buffer_keep(len, 3, &in_cma, &ballast, &blen);
	if (!buf)
		goto out;
	other = movable_not_cma(buf, len);
	if (in_cma < 512) {
		result = skip("only %zu pages of the buffer landed in CMA", in_cma);
		goto out;
	}
	fd = pm_open();
	if (fd < 0)
		goto out;
	/*
	 * Fillers until at most what the module counts as available is left
	 * of the target (a second and third one correct for what the first
	 * did not take from the zones a pin can use, HIGHMEM say)
	 */
	for (nf = 0; nf < 3; nf++) {
		pinnable_zone_kb(&free_kb, &file_kb);
		filler_kb = free_kb + file_kb / 2 - pinnable_reserve_kb() -
			    (long)(other + in_cma / 2) * PAGE_KB;
		diag("%zu MiB buffer: %zu pages in CMA, %zu in ZONE_MOVABLE outside it; pinnable memory: %ld kB free, %ld kB file; filler %ld kB",
		     len >> 20, in_cma, other, free_kb, file_kb, filler_kb);
		if (filler_kb < (long)(in_cma / 8 * PAGE_KB))
			break;
		flen[nf] = ((size_t)filler_kb * 1024) & ~(MiB - 1);
		filler[nf] = map_anon(flen[nf], RW);
		if (!filler[nf])
			goto out;
		memset(filler[nf], 7, flen[nf]);
		ret = pm_pin(fd, filler[nf], flen[nf], PINMEM_PIN_WRITE, &fh[nf], NULL);
		if (ret) {
			result = skip("the %zu MiB filler pin itself failed: %s",
				      flen[nf] >> 20, strerror(-ret));
			munmap(filler[nf], flen[nf]);
			filler[nf] = NULL;
			goto out;
		}
	}
	ret = pm_pin(fd, buf, len, PINMEM_PIN_WRITE, NULL, NULL);
	pinnable_zone_kb(&free_kb, &file_kb);
	diag("PIN of the buffer: %d (%s); pinnable memory now %ld kB free, %ld kB file",
	     ret, strerror(-ret), free_kb, file_kb);
	if (ret != -ENOMEM)
		goto out;
	if (vmstat("oom_kill") != oom_before) {
		diag("oom_kill %ld -> %ld", oom_before, vmstat("oom_kill"));
		goto out;
	}
	if (check_pattern(buf, len, 3)) {
		diag("the buffer's contents changed");
		goto out;
	}
	result = T_PASS;
out:
	for (i = 0; i < 3; i++)
		if (filler[i] && pm_unpin(fd, fh[i]))
			result = T_FAIL;
	if (fd >= 0)
		close(fd);
	for (i = 0; i < 3; i++)
		if (filler[i])
			munmap(filler[i], flen[i]);
	if (ballast)
		munmap(ballast, blen);
	if (buf)
		munmap(buf, len);
	return result;
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
