// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem demo, run inside the VM by `make demo`:
 *  - ZONE_MOVABLE (movablecore=): a buffer sitting in ZONE_MOVABLE is pinned
 *    long-term; its pages are shown before and after, as the process
 *    (pagemap) and the module (QUERY, debugfs) see them.
 *  - CMA (cma=): the seeds' story; a short-term pin of a buffer in CMA makes
 *    a large contiguous allocation fail, a long-term pin does not.
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

static int movable_demo(int fd, size_t len)
{
	struct zone_range z[MAX_ZONE_RANGES];
	struct pinmem_query_args q = { 0 };
	uint64_t h, nr;
	char *buf;
	int ret, i;

	if (!have_zone(z, zones_load(z, MAX_ZONE_RANGES), "Movable")) {
		printf("(no ZONE_MOVABLE on this kernel command line: skipping that part)\n");
		return 0;
	}
	printf("\n== ZONE_MOVABLE: a %zu MiB anonymous buffer\n", len / MiB);
	buf = map_anon(len, RW);
	if (!buf)
		return 1;
	fill_pattern(buf, len, 42);
	print_placement("placement before PIN (pagemap)", buf, len);
	ret = pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &nr);
	if (ret) {
		printf("PIN failed: %s\n", strerror(-ret));
		return 1;
	}
	printf("PIN: handle %llu, %llu pages pinned with FOLL_LONGTERM\n",
	       (unsigned long long)h, (unsigned long long)nr);
	print_placement("placement after PIN (pagemap)", buf, len);
	q.handle = h;
	if (!pm_query(fd, &q)) {
		static const char * const names[PINMEM_ZONE_SLOTS] = {
			"DMA", "DMA32", "Normal", "HighMem", "Movable", "Device",
		};

		printf("# placement after PIN (QUERY):");
		for (i = 0; i < PINMEM_ZONE_SLOTS; i++)
			if (q.zone_pages[i])
				printf(" %s=%llu", names[i],
				       (unsigned long long)q.zone_pages[i]);
		printf(", %llu in THPs\n", (unsigned long long)q.nr_huge);
	}
	printf("contents after migration: %s\n",
	       check_pattern(buf, len, 42) ? "CORRUPTED" : "intact");
	cat_file("/sys/kernel/debug/pinmem/pins");
	cat_file("/sys/kernel/debug/pinmem/stats");
	pm_unpin(fd, h);
	munmap(buf, len);
	return 0;
}

static void try_contig(int fd, size_t len, uint64_t cs, uint64_t ce)
{
	struct pinmem_contig_alloc_args a = { .length = len };
	int ret = pm_contig_alloc(fd, &a);

	if (ret) {
		printf("   CONTIG_ALLOC %zu MiB: FAILED (%s)\n", len >> 20,
		       strerror(-ret));
		return;
	}
	printf("   CONTIG_ALLOC %zu MiB: ok at %#llx, %s CMA (module: %s)\n",
	       len >> 20, (unsigned long long)a.phys_addr,
	       a.phys_addr >= cs && a.phys_addr + len <= ce ? "inside" : "outside",
	       a.placement & PINMEM_CONTIG_IN_CMA ? "cma_alloc" : "page allocator");
	pm_contig_free(fd, a.handle);
}

static int cma_demo(int fd)
{
	uint64_t cs, ce, h;
	size_t len, big;
	char *buf;

	if (!cma_range(&cs, &ce)) {
		printf("(no CMA area on this kernel: skipping the CMA part; see make demo on arm64)\n");
		return 0;
	}
	len = ((ce - cs) * 300 / 512) & ~(2 * MiB - 1);
	big = (ce - cs) * 3 / 4;
	printf("\n== CMA area [%#llx, %#llx), %llu MiB; a %zu MiB buffer\n",
	       (unsigned long long)cs, (unsigned long long)ce,
	       (unsigned long long)((ce - cs) >> 20), len >> 20);
	buf = map_anon(len, RW);
	if (!buf)
		return 1;
	fill_pattern(buf, len, 7);
	printf("buffer pages in CMA: %zu of %zu\n",
	       pages_in_phys_range(buf, len, cs, ce), len / PAGE);

	printf("1. short-term pin (no FOLL_LONGTERM, as drivers did before):\n");
	if (pm_pin(fd, buf, len, PINMEM_PIN_SHORTTERM, &h, NULL))
		return 1;
	printf("   buffer pages still in CMA: %zu\n",
	       pages_in_phys_range(buf, len, cs, ce));
	try_contig(fd, big, cs, ce);
	pm_unpin(fd, h);

	printf("2. long-term pin (pinmem's PIN):\n");
	if (pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL))
		return 1;
	printf("   buffer pages still in CMA: %zu, contents %s\n",
	       pages_in_phys_range(buf, len, cs, ce),
	       check_pattern(buf, len, 7) ? "CORRUPTED" : "intact");
	try_contig(fd, big, cs, ce);
	cat_file("/sys/kernel/debug/pinmem/cma");
	pm_unpin(fd, h);
	munmap(buf, len);
	return 0;
}

int main(int argc, char **argv)
{
	size_t len = (argc > 1 ? strtoul(argv[1], NULL, 0) : 16) * MiB;
	int fd, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	pins_set_baseline();
	fd = pm_open();
	if (fd < 0) {
		perror("open /dev/pinmem");
		return 1;
	}
	ret = movable_demo(fd, len) || cma_demo(fd);
	close(fd);
	printf("\nall closed; FOLL_PIN references left by this demo: %ld\n",
	       pins_outstanding());
	return ret;
}
