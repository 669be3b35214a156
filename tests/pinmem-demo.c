// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem demo, run inside the VM by `make demo`:
 *  - ZONE_MOVABLE (movablecore=): a buffer sitting in ZONE_MOVABLE is pinned
 *    long-term; its pages are shown before and after, as the process
 *    (pagemap) and the module (QUERY, debugfs) see them.
 *  - CMA (cma=): the seeds' story; a short-term pin of a buffer in CMA makes
 *    a large contiguous allocation fail, a long-term pin does not.
 *  - Devices: a pinned buffer that started in ZONE_MOVABLE/CMA, exported as
 *    a dma-buf, receives a frame from a V4L2 camera (vivid) and a copy made
 *    by a DMA engine (QEMU's edu device, through tests/kmod/pinmem_edu).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices.h"
#include "pinmem_test_uapi.h"
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

static void vivid_demo(int fd)
{
	struct v4l2_format fmt;
	const char *what;
	uint32_t used = 0;
	int vfd, dfd, ret;
	uint64_t h, nr;
	size_t len, i, drawn = 0;
	unsigned char *buf;

	load_set("vivid", VIVID_PARAMS);
	vfd = open_vivid(0, &fmt);
	if (vfd < 0) {
		printf("(no vivid on this kernel: skipping the camera)\n");
		return;
	}
	len = (fmt.fmt.pix.sizeimage + PAGE - 1) & ~(PAGE - 1);
	printf("\n== A camera: vivid captures a %ux%u frame into a pinned buffer\n",
	       fmt.fmt.pix.width, fmt.fmt.pix.height);
	buf = map_anon(len, RW);
	if (!buf)
		goto close_vfd;
	memset(buf, 0, len);
	print_placement("placement before PIN (pagemap)", buf, len);
	ret = pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &nr);
	if (!ret)
		ret = pm_export(fd, h, PINMEM_EXPORT_CLOEXEC, &dfd);
	if (ret) {
		printf("PIN/EXPORT failed: %s\n", strerror(-ret));
		goto unmap;
	}
	print_placement("placement after PIN (pagemap)", buf, len);
	ret = capture_one(vfd, dfd, len, &used, &what);
	if (ret) {
		printf("%s: %s\n", what, strerror(-ret));
	} else {
		for (i = 0; i < used; i++)
			drawn += buf[i] != 0;
		printf("VIDIOC_DQBUF: %u bytes, %zu of them drawn by vivid, in the process's own pinned pages\n",
		       used, drawn);
	}
	close(dfd);
	pm_unpin(fd, h);
unmap:
	munmap(buf, len);
close_vfd:
	close(vfd);
}

static void edu_demo(int fd)
{
	const size_t len = 64 * 1024;
	struct pinmem_edu_copy c = { .len = len };
	int edu, sfd = -1, dfd = -1, ret;
	uint64_t hs = 0, hd = 0, nr;
	char *src, *dst;

	edu = open_edu();
	if (edu < 0) {
		printf("(no edu device in this VM: skipping the DMA engine)\n");
		return;
	}
	printf("\n== A DMA engine: QEMU's edu device copies a pinned buffer into another\n");
	src = map_anon(len, RW);
	dst = map_anon(len, RW);
	if (!src || !dst)
		goto out;
	fill_pattern(src, len, 7);
	memset(dst, 0, len);
	ret = pm_pin(fd, src, len, 0, &hs, &nr);
	if (!ret)
		ret = pm_pin(fd, dst, len, PINMEM_PIN_WRITE, &hd, &nr);
	if (!ret)
		ret = pm_export(fd, hs, PINMEM_EXPORT_CLOEXEC, &sfd);
	if (!ret)
		ret = pm_export(fd, hd, PINMEM_EXPORT_CLOEXEC, &dfd);
	if (ret) {
		printf("PIN/EXPORT failed: %s\n", strerror(-ret));
		goto out;
	}
	c.src_fd = sfd;
	c.dst_fd = dfd;
	if (ioctl(edu, PINMEM_EDU_COPY, &c)) {
		printf("PINMEM_EDU_COPY: %s\n", strerror(errno));
		goto out;
	}
	printf("%llu DMA transfers at bus addresses %#llx-%#llx (%s); destination %s\n",
	       (unsigned long long)c.nr_xfers, (unsigned long long)c.bus_min,
	       (unsigned long long)c.bus_max,
	       log_has("behind an IOMMU") ? "IOVAs, behind an IOMMU" : "physical, no IOMMU",
	       check_pattern(dst, len, 7) ? "DIFFERS" : "matches the source");
out:
	if (sfd >= 0)
		close(sfd);
	if (dfd >= 0)
		close(dfd);
	if (hs)
		pm_unpin(fd, hs);
	if (hd)
		pm_unpin(fd, hd);
	if (src)
		munmap(src, len);
	if (dst)
		munmap(dst, len);
	close(edu);
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
	vivid_demo(fd);
	edu_demo(fd);
	close(fd);
	printf("\nall closed; FOLL_PIN references left by this demo: %ld\n",
	       pins_outstanding());
	return ret;
}
