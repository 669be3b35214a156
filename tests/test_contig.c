// SPDX-License-Identifier: GPL-2.0
/*
 * Contiguous buffers: allocated, mapped, charged and freed, refused with
 * the documented errno for bad arguments and never pinned through their
 * mapping; the pool's buffers reach the next user zeroed and
 * pool_mb= is bounded; IN_CMA is not fooled by other users of CMA, and no
 * lock of pinmem's is held across a CMA allocation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-heap.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pinmem_test_uapi.h"
#include "util.h"
#include "admin.h"
#include "harness.h"

#define RW (PROT_READ | PROT_WRITE)
#define LIMIT (1 * MiB)

/* ------------------------------------------------------------ CONTIG_ALLOC */

/* CONTIG_ALLOC buffers */
PM_FIXTURE(contig)

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

/* ------------------------------------------------------------------- pool */

/*
 * As uid 1000, fill a pool buffer with 0xA5 and free it; as uid 1001
 * (@dirty set), count the bytes of a new pool buffer that are not zero.
 */
static int pool_user(void *arg)
{
	struct pinmem_contig_alloc_args a = {
		.flags = PINMEM_CONTIG_POOL, .length = 64 * 1024,
	};
	long *dirty = arg;
	size_t i;
	int fd;
	char *p;

	if (become(dirty ? 1001 : 1000, LIMIT))
		return 90;
	fd = pm_open();
	if (fd < 0 || pm_contig_alloc(fd, &a))
		return 91;
	p = mmap(NULL, a.length, RW, MAP_SHARED, fd, a.mmap_offset);
	if (p == MAP_FAILED)
		return 92;
	if (dirty) {
		for (i = 0; i < a.length; i++)
			*dirty += p[i] != 0;
		return 0;
	}
	memset(p, 0xA5, a.length);
	munmap(p, a.length);
	return pm_contig_free(fd, a.handle) ? 93 : 0;
}

/*
 * The pool of contiguous buffers: reloads the module with pool_mb=, and
 * hands its buffers from one user to another.
 */
FIXTURE(pool) {
	int unused;
};

FIXTURE_SETUP(pool)
{
}

FIXTURE_TEARDOWN_PARENT(pool)
{
	dev_open_to_all(false);
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

/* a pool buffer freed by uid 1000 reaches uid 1001 zeroed */
PM_TEST_F(pool, buffer_zeroed_across_users, 120)
{
	long *dirty = mmap(NULL, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int r1, r2;

	ASSERT_TRUE(dirty != MAP_FAILED);
	if (debugfs_value("cma", "pool_bytes") < (long)(64 * 1024))
		ASSERT_EQ(0, reload_module("pool_mb=2"));
	dev_open_to_all(true);
	r1 = in_child(pool_user, NULL);
	r2 = in_child(pool_user, dirty);
	dev_open_to_all(false);
	ASSERT_EQ(0, r1);
	ASSERT_EQ(0, r2);
	ksft_print_msg("%ld of 65536 bytes of uid 1000's data seen by uid 1001\n", *dirty);
	ASSERT_EQ(0, *dirty);
}

/* pool_mb beyond the page allocator's largest block: a clear refusal */
PM_TEST_F(pool, mb_beyond_max_order, 120)
{
	/* (the boot line cma_range() reads may have left the kernel log) */
	bool cma = meminfo_kb("CmaTotal") > 0;
	int ret = reload_module("pool_mb=16");

	long pool = ret ? 0 : debugfs_value("cma", "pool_bytes");

	ksft_print_msg("pool_mb=16 on a kernel %s a CMA area: %s\n", cma ? "with" : "without",
		       ret ? strerror(-ret) : "loaded");
	ASSERT_EQ(0, reload_module("pool_mb=2"));
	if (cma) {
		ASSERT_EQ(0, ret);
		ASSERT_EQ(16 * MiB, pool);
	} else {
		ASSERT_EQ(-EINVAL, ret);
	}
}

/* ------------------------------------------------- IN_CMA */

/* Contiguous buffers and the CMA area: what IN_CMA says, and which locks. */
PM_FIXTURE(contig_cma)

/*
 * One-page buffers never come from CMA (dma_alloc_contiguous() leaves
 * single pages to the page allocator), so they are never IN_CMA, even
 * while someone else's cma_alloc()s succeed all along: IN_CMA is not read
 * off the system-wide CMA_ALLOC_SUCCESS count.
 */
PM_TEST_F(contig_cma, in_cma_not_fooled_by_other_cma_users, 300)
{
	int heap = open("/dev/dma_heap/reserved", O_RDONLY | O_CLOEXEC);
	long wrong = 0, i;
	pid_t x;
	int fd;

	if (heap < 0)
		SKIP(return, "no CMA dma-buf heap (/dev/dma_heap/reserved: %s)",
		     strerror(errno));
	x = fork();
	ASSERT_TRUE(x >= 0);
	if (!x) {
		for (;;) {	/* another CMA user: cma_alloc() after cma_alloc() */
			struct dma_heap_allocation_data d = {
				.len = 64 * 1024, .fd_flags = O_RDWR | O_CLOEXEC,
			};

			if (!ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d))
				close(d.fd);
		}
	}
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	for (i = 0; i < 2000; i++) {
		struct pinmem_contig_alloc_args a = { .length = PAGE };

		if (pm_contig_alloc(fd, &a))
			continue;
		wrong += !!(a.placement & PINMEM_CONTIG_IN_CMA);
		pm_contig_free(fd, a.handle);
	}
	kill(x, SIGKILL);
	waitpid(x, NULL, 0);
	close(fd);
	close(heap);
	ksft_print_msg("%ld of 2000 one-page buffers said IN_CMA while another process allocated from the CMA heap\n",
		       wrong);
	ASSERT_EQ(0, wrong);
}

/* ------------------------------------------- no lock across CMA */

/* [start, end) of pinmem's module image, from /proc/modules (root, raw). */
static bool module_range(unsigned long long *start, unsigned long long *end)
{
	FILE *f = fopen("/proc/modules", "re");
	char line[512], name[64];
	unsigned long long size, base;
	bool ok = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %llu %*s %*s %*s %llx", name, &size, &base) == 3 &&
		    !strcmp(name, "pinmem") && base) {
			*start = base;
			*end = base + size;
			ok = true;
		}
	}
	fclose(f);
	return ok;
}

/*
 * Review finding 10: no lock of pinmem's may be held while the CMA core
 * migrates pages out of its area for an allocation (seconds for a big
 * buffer), or munmap() and exit() of every other user's buffer wait for
 * it. Asked of lockdep rather than of a clock: after a CONTIG_ALLOC that
 * came from CMA and a munmap of its mapping, no lock class whose key lies
 * in pinmem's module image has cma_mutex (alloc_contig_range()'s lock)
 * among the locks taken while it was held. The debug kernel boots with
 * no_hash_pointers, so /proc/lockdep shows the keys as they are.
 */
PM_TEST_F(contig_cma, no_pinmem_lock_across_cma_alloc, 300)
{
	unsigned long long mstart = 0, mend = 0, key;
	int fd, ours = 0, bad = 0, saw_cma_mutex = 0;
	struct pinmem_contig_alloc_args a = { .length = 4 * MiB };
	char line[512], cls[sizeof(line)] = "";
	bool in_ours = false;
	void *p;
	FILE *f;

	if (access("/proc/lockdep", R_OK))
		SKIP(return, "kernel has no /proc/lockdep (CONFIG_PROVE_LOCKING)");
	/* a splat before (KASAN, a lockdep report) turns lockdep off for good */
	f = fopen("/proc/lockdep_stats", "re");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " debug_locks: %d", &bad) == 1 && !bad) {
			fclose(f);
			SKIP(return, "lockdep turned itself off after an earlier splat (debug_locks 0)");
		}
	fclose(f);
	bad = 0;
	if (!module_range(&mstart, &mend))
		SKIP(return, "/proc/modules shows no address for pinmem (kptr_restrict)");
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_contig_alloc(fd, &a));
	if (!(a.placement & PINMEM_CONTIG_IN_CMA)) {
		pm_contig_free(fd, a.handle);
		close(fd);
		SKIP(return, "the contiguous buffer did not come from CMA (boot with cma=)");
	}
	p = mmap(NULL, a.length, RW, MAP_SHARED, fd, a.mmap_offset);
	ASSERT_TRUE(p != MAP_FAILED);
	memset(p, 1, a.length);
	ASSERT_EQ(0, munmap(p, a.length));
	ASSERT_EQ(0, pm_contig_free(fd, a.handle));
	close(fd);

	f = fopen("/proc/lockdep", "re");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		char *name = strstr(line, "] ");

		line[strcspn(line, "\n")] = 0;
		if (line[0] != ' ' && sscanf(line, "%llx", &key) == 1) {
			/* "KEY FD: n BD: n USAGE: NAME" */
			char *bd = strstr(line, " BD:"), *n = strstr(bd ? bd + 4 : line, ": ");

			in_ours = key >= mstart && key < mend;
			snprintf(cls, sizeof(cls), "%s", n ? n + 2 : line);
			ours += in_ours;
			saw_cma_mutex |= n && !strcmp(n + 2, "cma_mutex");
		} else if (!strncmp(line, " -> [", 5) && name && in_ours &&
			   !strcmp(name + 2, "cma_mutex")) {
			ksft_print_msg("pinmem's %s is held while cma_alloc() takes cma_mutex\n",
				       cls);
			bad++;
		}
	}
	fclose(f);
	ksft_print_msg("%d lock classes of pinmem in /proc/lockdep (module at %#llx-%#llx)\n",
		       ours, mstart, mend);
	if (!ours)
		SKIP(return, "no lock class key inside pinmem's image: pointers hashed (boot with no_hash_pointers)");
	ASSERT_TRUE(saw_cma_mutex);	/* the allocation went through cma_alloc() */
	ASSERT_EQ(0, bad);
}

PM_TEST_HARNESS_MAIN
