// SPDX-License-Identifier: GPL-2.0
/*
 * Pins of hugetlb pages and of files: hugetlb pages are pinned out of
 * ZONE_MOVABLE and CMA or refused cleanly; disk page cache takes read
 * pins but no write pins; and a pin racing an mmap(MAP_FIXED) of huge
 * pages or of a file into its range neither warns nor pins what it may
 * not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "pinmem_test_uapi.h"
#include "util.h"
#include "admin.h"
#include "harness.h"

#define RW (PROT_READ | PROT_WRITE)

/* kernel version as major * 100 + minor */
static int kver(void)
{
	struct utsname u;
	int a = 0, b = 0;

	uname(&u);
	sscanf(u.release, "%d.%d", &a, &b);
	return a * 100 + b;
}

/* ------------------------------------------------------------ hugetlb */

#define PARALLEL_MIN	"/sys/module/pinmem/parameters/parallel_min_pages"

/*
 * parallel_min_pages to 0 (one thread pins the whole range, so the VMA is
 * looked up once), its value before in @old (32 bytes) for the teardown.
 */
static void parallel_min_zero(struct __test_metadata *_metadata, char *old)
{
	char v[32] = "";
	int fd = open(PARALLEL_MIN, O_RDONLY);

	ASSERT_TRUE(fd >= 0 && read(fd, v, sizeof(v) - 1) > 0);
	close(fd);
	memcpy(old, v, sizeof(v));
	ASSERT_EQ(0, write_file(PARALLEL_MIN, "0"));
}

static void parallel_min_restore(const char *old)
{
	if (old[0])
		write_file(PARALLEL_MIN, old);
}

/*
 * hugetlb pages: the teardown gives the pool's pages back, and restores
 * parallel_min_pages.
 */
FIXTURE(hugetlb) {
	char parallel_min[32];
};

FIXTURE_SETUP(hugetlb)
{
}

FIXTURE_TEARDOWN_PARENT(hugetlb)
{
	parallel_min_restore(self->parallel_min);
	write_file("/proc/sys/vm/nr_hugepages", "0");
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

/*
 * Pins of file pages: the teardown unmounts the ext2 filesystem a case
 * left mounted, and restores parallel_min_pages.
 */
FIXTURE(file_pins) {
	char parallel_min[32];
	bool mounted;
};

FIXTURE_SETUP(file_pins)
{
}

static void ext_umount(void);

FIXTURE_TEARDOWN_PARENT(file_pins)
{
	parallel_min_restore(self->parallel_min);
	if (self->mounted)
		ext_umount();
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

/* hugetlb pages (default size): pinned out of Movable/CMA, or refused cleanly */
PM_TEST_F(hugetlb, pin, 120)
{
	const size_t len = hugetlb_size();
	struct zone_range z[MAX_ZONE_RANGES];
	int nz = zones_load(z, MAX_ZONE_RANGES), fd, ret;
	struct pinmem_query_args q = { .size = sizeof(q) };
	uint64_t h, pfn, cs = 0, ce = 0;
	bool unpinnable, cma = cma_range(&cs, &ce);
	char *buf, *out = malloc(len), nr[24];
	const char *zone;

	if (!len)
		SKIP(return, "no hugetlb pages (no Hugepagesize in /proc/meminfo)");
	ASSERT_NE(NULL, out);
	/* 16 MiB of them, at least two: one to migrate into */
	snprintf(nr, sizeof(nr), "%zu", len < 8 * MiB ? 16 * MiB / len : 2);
	write_file("/proc/sys/vm/nr_hugepages", nr);
	if (read_long("/proc/sys/vm/nr_hugepages") < 1)
		SKIP(return, "no %zu MiB huge pages could be reserved", len / MiB);
	buf = mmap(NULL, len, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (buf == MAP_FAILED)
		SKIP(return, "MAP_HUGETLB: %s", strerror(errno));
	fill_pattern(buf, len, 88);
	pfn = pfn_of(buf);
	zone = zone_of_pfn(z, nz, pfn);
	unpinnable = (zone && !strcmp(zone, "Movable")) ||
		     (cma && pfn * PAGE >= cs && pfn * PAGE < ce);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ret = pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL);
	ksft_print_msg("huge page at pfn %#llx (%s%s), kernel %d.%02d: PIN %s\n",
		       (unsigned long long)pfn, zone ? zone : "?",
		       cma && pfn * PAGE >= cs && pfn * PAGE < ce ? ", CMA" : "",
		       kver() / 100, kver() % 100, ret ? strerror(-ret) : "ok");
	if (unpinnable && kver() < 605) {
		/* refused before GUP's WARN_ON_ONCE (the log is checked too) */
		ASSERT_EQ(-EOPNOTSUPP, ret);
		close(fd);
		munmap(buf, len);
		return;
	}
	ASSERT_EQ(0, ret);
	q.handle = h;
	ASSERT_EQ(0, pm_query(fd, &q));
	ASSERT_EQ(len / PAGE, q.nr_huge);
	ASSERT_EQ(0, q.zone_pages[PINMEM_ZONE_MOVABLE]);
	pfn = pfn_of(buf);
	zone = zone_of_pfn(z, nz, pfn);
	ASSERT_TRUE(!zone || strcmp(zone, "Movable"));
	ASSERT_TRUE(!cma || pfn * PAGE < cs || pfn * PAGE >= ce);
	ASSERT_EQ(0, pm_access(fd, h, 0, len, out, 0));
	ASSERT_EQ(0, check_pattern(out, len, 88));
	fill_pattern(out, len, 89);
	ASSERT_EQ(0, pm_access(fd, h, 0, len, out, PINMEM_ACCESS_WRITE));
	ASSERT_EQ(0, check_pattern(buf, len, 89));
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
	munmap(buf, len);
}

/* ------------------------------------------------------- file pins (11) */

/*
 * An ext2 filesystem of @mib MiB on /dev/loop7 at /tmp/pm-ext, *@mounted
 * set; or the case skips (or fails) and *@mounted stays false.
 */
static void ext_mount(struct __test_metadata *_metadata, bool *mounted, int mib)
{
	int img;

	mkdir("/tmp/pm-ext", 0755);
	img = open("/tmp/pm-ext.img", O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_TRUE(img >= 0);
	ASSERT_EQ(0, ftruncate(img, (off_t)mib * MiB));
	close(img);
	if (system("losetup /dev/loop7 /tmp/pm-ext.img >/dev/null 2>&1 || "
		   "{ mknod /dev/loop7 b 7 7 2>/dev/null; losetup /dev/loop7 /tmp/pm-ext.img; }"))
		SKIP(return, "no loop device");
	if (system("mke2fs -q /dev/loop7 >/dev/null 2>&1") ||
	    mount("/dev/loop7", "/tmp/pm-ext", "ext2", 0, NULL)) {
		system("losetup -d /dev/loop7");
		SKIP(return, "cannot mount an ext2 filesystem (no ext2/ext4)");
	}
	*mounted = true;
}

static void ext_umount(void)
{
	umount("/tmp/pm-ext");
	system("losetup -d /dev/loop7");
	unlink("/tmp/pm-ext.img");
}

PM_TEST_F(file_pins, write_pins, 120)
{
	const size_t len = 1 * MiB;
	char *f, *s, *p;
	int fd, ff, sf, ret = 0;

	ext_mount(_metadata, &self->mounted, 16);
	if (!self->mounted)
		return;
	ff = open("/tmp/pm-ext/f", O_RDWR | O_CREAT, 0600);
	sf = open("/dev/shm/pm-f", O_RDWR | O_CREAT, 0600);
	fd = pm_open();
	ASSERT_TRUE(ff >= 0 && sf >= 0 && fd >= 0);
	ASSERT_EQ(0, ftruncate(ff, len));
	ASSERT_EQ(0, ftruncate(sf, len));
	f = mmap(NULL, len, RW, MAP_SHARED, ff, 0);
	s = mmap(NULL, len, RW, MAP_SHARED, sf, 0);
	p = mmap(NULL, len, RW, MAP_PRIVATE, ff, 0);
	ASSERT_TRUE(f != MAP_FAILED && s != MAP_FAILED && p != MAP_FAILED);
	memset(f, 1, len);
	memset(s, 1, len);

	/* disk page cache: read pins yes, write pins no, on every kernel */
	ret = pm_pin(fd, f, len, PINMEM_PIN_WRITE, NULL, NULL);
	ksft_print_msg("kernel %d.%02d: write PIN of MAP_SHARED ext2 page cache: %s\n",
		       kver() / 100, kver() % 100, ret ? strerror(-ret) : "pinned");
	ASSERT_EQ(-EOPNOTSUPP, ret);
	ASSERT_EQ(0, pm_pin(fd, f, len, 0, NULL, NULL));
	/* shmem and private file mappings are fine */
	ASSERT_EQ(0, pm_pin(fd, s, len, PINMEM_PIN_WRITE, NULL, NULL));
	ASSERT_EQ(0, pm_pin(fd, p, len, PINMEM_PIN_WRITE, NULL, NULL));
	close(fd);
	munmap(f, len);
	munmap(s, len);
	munmap(p, len);
	close(ff);
	close(sf);
	unlink("/dev/shm/pm-f");
	ext_umount();
	self->mounted = false;
}

struct fixed_race {
	char *at;
	size_t len;
	int ff, delay_us;
};

static void *map_file_fixed(void *arg)
{
	struct fixed_race *r = arg;

	usleep(r->delay_us);
	if (mmap(r->at, r->len, RW, MAP_SHARED | MAP_FIXED, r->ff, 0) != r->at)
		return (void *)1;
	return NULL;
}

/* pages of the pin @h from page @first on that are pages of @map */
static long pinned_pages_of(int fd, uint64_t h, size_t first, const char *map,
			    size_t len)
{
	size_t n = len / PAGE, i, j;
	uint64_t *pfns = calloc(n, sizeof(*pfns));
	struct pinmem_query_args q = {
		.size = sizeof(q), .handle = h, .flags = PINMEM_QUERY_PFNS,
		.pfns = (uintptr_t)pfns, .pfn_first = first, .nr_pfns = n,
	};
	long same = 0;

	if (!pfns || pm_query(fd, &q) || q.nr_pfns != n) {
		free(pfns);
		return -1;
	}
	for (i = 0; i < n; i++) {
		uint64_t pfn = pfn_of(map + i * PAGE);

		for (j = 0; pfn && j < n; j++)
			same += pfns[j] == pfn;
	}
	free(pfns);
	return same;
}

/*
 * A long-term write pin races another thread's mmap(MAP_FIXED) of a file
 * on a disk filesystem into its range: whichever comes first, no page of
 * the file is pinned (the pin fails, or it holds the anonymous pages it
 * took first). Up to 6.4 GUP itself does not check this; the VMA check
 * before it cannot see the new mapping.
 */
static void file_write_pin_race(struct __test_metadata *_metadata, bool *mounted)
{
	const size_t len = 128 * MiB, off = 96 * MiB, flen = 8 * MiB;
	int fd, ff, round, refused = 0, r;
	char *buf;

	ext_mount(_metadata, mounted, 16);
	if (!*mounted)
		return;
	ff = open("/tmp/pm-ext/f", O_RDWR | O_CREAT, 0600);
	fd = pm_open();
	ASSERT_TRUE(ff >= 0 && fd >= 0);
	ASSERT_EQ(0, ftruncate(ff, flen));
	for (round = 0; round < 20 && refused < 3; round++) {
		struct fixed_race fr = { .len = flen, .ff = ff };
		pthread_t t;
		uint64_t h;
		void *ret;
		long same;

		buf = mmap(NULL, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_TRUE(buf != MAP_FAILED);
		fr.at = buf + off;
		fr.delay_us = 1000 + round * 2000;
		ASSERT_EQ(0, pthread_create(&t, NULL, map_file_fixed, &fr));
		r = pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL);
		pthread_join(t, &ret);
		ASSERT_TRUE(!ret);
		if (r) {
			ksft_print_msg("round %d: %s\n", round, strerror(-r));
			ASSERT_TRUE(r == -EOPNOTSUPP || r == -EFAULT);
			refused++;
		} else {
			same = pinned_pages_of(fd, h, off / PAGE, buf + off, flen);
			ASSERT_EQ(0, pm_unpin(fd, h));
			ASSERT_EQ(0, same)
				TH_LOG("round %d: %ld pages of the ext2 file pinned for writing",
				       round, same);
		}
		munmap(buf, len);
	}
	ksft_print_msg("%d rounds: the file was mapped before GUP got there, and the pin refused, in %d\n",
		       round, refused);
	close(fd);
	close(ff);
	ext_umount();
	*mounted = false;
	if (!refused)
		SKIP(return, "the race was never won: the pin always got there first");
}

/* ... with one thread pinning the whole range: the VMA is looked up once */
PM_TEST_F(file_pins, write_pin_race_mmap_fixed, 600)
{
	parallel_min_zero(_metadata, self->parallel_min);
	file_write_pin_race(_metadata, &self->mounted);
}

/* huge pages mapped over part of the range, and faulted in */
static void *map_hugetlb_fixed(void *arg)
{
	struct fixed_race *r = arg;

	usleep(r->delay_us);
	if (mmap(r->at, r->len, RW,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
		 -1, 0) != r->at)
		return (void *)1;
	memset(r->at, 1, r->len);
	return NULL;
}

/* Do fresh huge pages of the pool sit where a long-term pin may not keep them? */
static int hugetlb_pool_unpinnable(size_t hsize)
{
	struct zone_range z[MAX_ZONE_RANGES];
	int nz = zones_load(z, MAX_ZONE_RANGES);
	uint64_t pfn, cs = 0, ce = 0;
	bool cma = cma_range(&cs, &ce);
	const char *zone;
	char *h;

	h = mmap(NULL, hsize, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
		 -1, 0);
	if (h == MAP_FAILED)
		return -1;
	h[0] = 1;
	pfn = pfn_of(h);
	zone = zone_of_pfn(z, nz, pfn);
	munmap(h, hsize);
	return (zone && !strcmp(zone, "Movable")) ||
	       (cma && pfn * PAGE >= cs && pfn * PAGE < ce);
}

/*
 * A long-term pin races another thread's mmap(MAP_FIXED) of huge pages
 * into its range, huge pages in ZONE_MOVABLE or CMA. Whichever comes
 * first, the kernel does not warn, and what the pin holds may stay where
 * it is: up to 6.4 GUP cannot migrate such a page and WARNs when asked
 * to pin it long-term, and the VMA check before GUP cannot see the new
 * mapping.
 */
PM_TEST_F(hugetlb, pin_race_mmap_fixed, 600)
{
	const size_t len = 128 * MiB, off = 96 * MiB;
	size_t hsize = (size_t)meminfo_kb("Hugepagesize") * 1024, flen;
	long warned = klog_count("WARNING:");
	int fd, round, won = 0, r;
	char *buf;

	/* one thread pins the whole range, as in file_pins */
	parallel_min_zero(_metadata, self->parallel_min);
	if (hsize < PAGE || hsize > 8 * MiB)
		SKIP(return, "no huge page size this test can use (%zu kB)",
		     hsize / 1024);
	flen = 4 * hsize;
	write_file("/proc/sys/vm/nr_hugepages", "8");
	if (read_long("/proc/sys/vm/nr_hugepages") < 4)
		SKIP(return, "fewer than 4 huge pages could be reserved");
	r = hugetlb_pool_unpinnable(hsize);
	if (r < 0)
		SKIP(return, "MAP_HUGETLB: %s", strerror(errno));
	if (!r)
		SKIP(return, "the huge page pool is outside ZONE_MOVABLE and CMA: a long-term pin may keep its pages");
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	for (round = 0; round < 20 && won < 3; round++) {
		struct fixed_race fr = { .len = flen };
		struct pinmem_query_args q = { .size = sizeof(q) };
		pthread_t t;
		uint64_t h;
		void *ret;

		buf = mmap(NULL, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_TRUE(buf != MAP_FAILED);
		fr.at = (char *)(((uintptr_t)buf + off + hsize - 1) & ~(hsize - 1));
		fr.delay_us = 1000 + round * 2000;
		ASSERT_EQ(0, pthread_create(&t, NULL, map_hugetlb_fixed, &fr));
		r = pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL);
		pthread_join(t, &ret);
		ASSERT_TRUE(!ret);
		ASSERT_EQ(warned, klog_count("WARNING:"));
		if (r) {
			/*
			 * EOPNOTSUPP: huge pages this kernel cannot migrate.
			 * EFAULT, ENOMEM: GUP got there before they were
			 * faulted in, and found no huge page it may keep.
			 */
			ksft_print_msg("round %d: %s\n", round, strerror(-r));
			ASSERT_TRUE(r == -EOPNOTSUPP || r == -EFAULT || r == -ENOMEM);
			won += r == -EOPNOTSUPP;
		} else {
			q.handle = h;
			ASSERT_EQ(0, pm_query(fd, &q));
			ASSERT_EQ(0, q.zone_pages[PINMEM_ZONE_MOVABLE]);
			won += q.nr_huge > 0;
			ASSERT_EQ(0, pm_unpin(fd, h));
		}
		munmap(buf, len);
	}
	ksft_print_msg("%d rounds: huge pages were there before GUP in %d\n", round, won);
	close(fd);
	if (!won)
		SKIP(return, "the race was never won: the pin always got there first");
}

PM_TEST_HARNESS_MAIN
