/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by pinmem's in-VM tests and demo: ioctl wrappers, readers
 * for /proc/self/pagemap, /proc/zoneinfo, /proc/vmstat, /proc/kpageflags and
 * pinmem's debugfs files, and the check that a case left nothing behind.
 */
#ifndef PINMEM_TEST_UTIL_H
#define PINMEM_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/pinmem.h>

/*
 * The base page size and what a PMD maps (a THP; a pageblock, a CMA
 * area's alignment), read at start: 4 KiB and 2 MiB on x86, 16 KiB and
 * 32 MiB on arm64-16k. Never write either as a number.
 */
extern size_t pm_page_size, pm_pmd_size;
#define PAGE pm_page_size
#define PMD_BYTES pm_pmd_size
/* kB per page, for /proc/zoneinfo and /proc/vmstat counts */
#define PAGE_KB ((long)(PAGE / 1024))
#define MiB ((size_t)1024 * 1024)

/* ioctl wrappers: 0 or -errno */
int pm_open(void);
int pm_pin(int fd, void *addr, size_t len, unsigned int flags,
	   uint64_t *handle, uint64_t *nr_pages);
int pm_unpin(int fd, uint64_t handle);
int pm_query(int fd, struct pinmem_query_args *q);
int pm_access(int fd, uint64_t handle, uint64_t off, uint64_t len,
	      void *buf, unsigned int flags);

/* PINMEM_IOC_PIN_MEMFD; -EPROTO if it pinned other than @len bytes */
int pm_pin_memfd(int fd, int mfd, uint64_t off, uint64_t len,
		 unsigned int flags, uint64_t *handle);
int pm_contig_alloc(int fd, struct pinmem_contig_alloc_args *a);
int pm_contig_free(int fd, uint64_t handle);
/* PINMEM_IOC_EXPORT: the dma-buf fd in *@dfd */
int pm_export(int fd, uint64_t handle, unsigned int flags, int *dfd);

/* times @needle occurs in the kernel log, or -1 */
long klog_count(const char *needle);
/* CMA area the kernel reported at boot ("cma: Reserved N MiB at 0x...") */
bool cma_range(uint64_t *start, uint64_t *end);
/* pages of [addr, addr+len) whose physical address is in [start, end) */
size_t pages_in_phys_range(const void *addr, size_t len, uint64_t start,
			   uint64_t end);
long meminfo_kb(const char *key);
/* let thread @tid (0: the caller) run on CPU @cpu only */
int run_on_cpu(pid_t tid, int cpu);
/* the default hugetlb page size (2 MiB, or 32 MiB with 16 KiB pages); 0 if none */
size_t hugetlb_size(void);

/* zones from /proc/zoneinfo, summed over nodes by name */
#define MAX_ZONE_RANGES 32
struct zone_range {
	char name[16];
	uint64_t start, end;	/* pfns, [start, end) */
};
int zones_load(struct zone_range *z, int max);
/*
 * Of the zones a long-term pin can keep pages in, in kB: the free pages
 * outside CMA and (a lower bound of) the file LRU outside CMA.
 */
void pinnable_zone_kb(long *free_kb, long *file_kb);
/* What pinmem keeps back of those zones (high watermarks, lowmem reserve), in kB */
long pinnable_reserve_kb(void);
/*
 * Touched anonymous memory (*len bytes, munmap() it) that leaves about half
 * of the next movable allocations to the CMA area; NULL if not needed.
 */
void *cma_ballast(size_t *len);
const char *zone_of_pfn(const struct zone_range *z, int n, uint64_t pfn);
bool have_zone(const struct zone_range *z, int n, const char *name);

/* /proc/self/pagemap; 0 when not present or not visible */
uint64_t pfn_of(const void *addr);
/*
 * QUERY the PFNs of pin h, which maps n pages from buf, into q (its zone
 * counts too): how many differ from what pagemap gives, or -1 if the
 * query fails or returns another count.
 */
long pfns_mismatched(int fd, uint64_t h, const void *buf, size_t n,
		     struct pinmem_query_args *q);
/* pages of [addr, addr+len) whose pfn lies in zone @name; *present gets mapped pages */
size_t pages_in_zone(const void *addr, size_t len, const char *name,
		     size_t *present);
void print_placement(const char *label, const void *addr, size_t len);

/* /proc/kpageflags bits */
#define KPF_COMPOUND_HEAD 15
#define KPF_COMPOUND_TAIL 16
#define KPF_THP 22
uint64_t kpageflags(uint64_t pfn);

long vmstat(const char *name);
/* VmPin of /proc/self/status: pages charged as pinned, in kB */
long vmpin_kb(void);
/*
 * nr_foll_pin_acquired - nr_foll_pin_released, less what was already
 * outstanding when pins_set_baseline() ran (the kernel itself may hold a few
 * FOLL_PIN references before any test starts).
 */
long pins_set_baseline(void);
long pins_outstanding(void);

/* debugfs pins lines of one pid */
struct dbg_pin {
	unsigned int ctx;
	int pid;
	char comm[32];
	uint64_t handle, start, end, pages;
	char flags[4];
};
int debugfs_pins(int pid, struct dbg_pin *out, int max);
long debugfs_stat(const char *key);
/* "key value" line of a debugfs file of pinmem's */
long debugfs_value(const char *file, const char *key);
void cat_file(const char *path);

void fill_pattern(void *buf, size_t len, uint32_t seed);
size_t check_pattern(const void *buf, size_t len, uint32_t seed);

/* anonymous memory, touched so it exists */
void *map_anon(size_t len, int prot);
void *map_aligned(size_t len, size_t align);
/*
 * @len bytes filled with @seed's pattern, most of them in ZONE_MOVABLE;
 * *@in_movable gets how many pages are
 */
char *movable_buffer(size_t len, uint32_t seed, size_t *in_movable);

/* CLOCK_MONOTONIC, in seconds */
double now_s(void);
/* the module file the tests (re)load: $PINMEM_KO or /lib/modules/pinmem.ko */
const char *ko_path(void);

/*
 * pinmem's tracepoints, in a tracefs instance of the tests' own.
 * trace_start() enables them: 0, -ENOENT (the kernel has no tracing) or
 * -ENODEV (it has, but pinmem has no events). trace_stop() disables them
 * and returns what was traced (malloc'ed). trace_find() gives the first
 * line of @event (pin, unpin, ...) that contains @has (NULL: any), or NULL.
 */
int trace_start(void);
char *trace_stop(void);
const char *trace_find(const char *trace, const char *event, const char *has);
/* "key:\tvalue" of /proc/self/fdinfo/@fd, or -1 */
long fdinfo_value(int fd, const char *key);

/*
 * What a forked helper of a case exits with, and what a check of several
 * steps returns: CHECK() and CHECK_EQ() say what failed with diag() and
 * return T_FAIL.
 */
enum { T_PASS, T_FAIL, T_SKIP };
/* one "# " line of TAP diagnostics */
void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		diag("%s:%d: check failed: %s", __FILE__, __LINE__, #cond); \
		return T_FAIL;						\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b) {							\
		diag("%s:%d: %s == %lld, expected %s == %lld",		\
		     __FILE__, __LINE__, #a, _a, #b, _b);		\
		return T_FAIL;						\
	}								\
} while (0)

/*
 * After each case: nothing pinned by anyone (the kernel's FOLL_PIN counters
 * balance), debugfs lists no pin of this process and no contiguous buffer,
 * no dma-buf of pinmem is alive. T_PASS, or T_FAIL saying what is left.
 */
int nothing_left(void);

#endif
