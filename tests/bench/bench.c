// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem benchmark, run inside a test VM by `scripts/vm-run TARGET --bench`.
 *
 * It reports times and ratios taken in one run, never pass/fail on time:
 * every "target" column says yes or NO, and nothing fails for a NO.
 *
 * pinmem is timed twice wherever a PIN can be split across CPUs: with the
 * calling thread's affinity (sched_setaffinity) set to one CPU, "pm 1cpu",
 * where the module takes its single-threaded path, and to every CPU the
 * thread started with (all online CPUs), "pm Ncpu", where a large PIN is
 * split across them. The peers run with the thread's full affinity; they
 * are single-threaded anyway.
 *
 *   A. warm PIN+UNPIN of buffers already faulted in and already outside
 *      ZONE_MOVABLE, 4 KiB pages and THPs, sizes 2 MiB to 4 GiB (those the
 *      VM holds): pm 1cpu and pm Ncpu against the bare kernel cost
 *      (PINMEM_IOC_BENCH_BARE: pin_user_pages_fast with FOLL_LONGTERM in
 *      512-page batches + unpin_user_pages, single-threaded, timed in the
 *      kernel), io_uring buffer registration, udmabuf and mlock. Targets:
 *      pm 1cpu <= 1.10 x bare + 50 us at every size (no cliffs), pm Ncpu
 *      <= 0.65 x bare for 4K sizes >= 64 MiB;
 *   B. the first long-term pin of a buffer lying in ZONE_MOVABLE (or, on
 *      the arm64 CMA targets, wherever the allocator put it): pm 1cpu,
 *      pm Ncpu (the workers of a split pin never migrate: the caller
 *      does), bare, io_uring, against memcpy of the same bytes.
 *      Target: pm Ncpu <= 0.6 x bare and <= 1.3 x memcpy;
 *   C. scale: 1, 1,000 and 100,000 one-page pins: pin, QUERY, UNPIN, debugfs,
 *      close(), and the kernel memory they take. Targets: <= 128 B of
 *      kernel memory per one-page pin; QUERY and UNPIN per op at 100,000
 *      pins within 1.5x of 1,000 pins;
 *   D. tracking memory per pinned base page and per THP;
 *   E. dma-buf, where /dev/udmabuf and vgem exist (6.12 on): on one sealed
 *      memfd (4 KiB shmem pages), "export + map for a device" of a pinned
 *      range (PINMEM_IOC_PIN_MEMFD once, untimed; timed: PINMEM_IOC_EXPORT +
 *      DRM_IOCTL_PRIME_FD_TO_HANDLE into vgem, which attaches and, up to
 *      6.12, maps the sg table + GEM close + close) against udmabuf's
 *      UDMABUF_CREATE + the same import + GEM close + close, which pins and
 *      unpins the pages itself; and, to be fair the other way,
 *      PIN_MEMFD + export + import + GEM close + close + UNPIN. Target:
 *      pinmem export+map <= 1.1 x udmabuf create+map.
 *
 * A human table goes to stdout between "@@PINMEM bench-table-begin/end", then
 * CSV between "@@PINMEM bench-csv-begin/end" (scripts/vm-run extracts both).
 * Around them, the output is kselftest TAP (tests/kselftest/kselftest.h, as
 * the tests'): progress lines through ksft_print_msg() ("# "), and one
 * result per section selected, named as in PM_BENCH_SECTIONS. A section
 * fails when pinmem itself failed where the section needed it (a PIN, an
 * UNPIN, a QUERY, an EXPORT), or it could not set up its buffers; it skips,
 * with the reason, when it could measure nothing (no size fits, no
 * /dev/udmabuf or vgem); times and targets never fail it. The exit status
 * is kselftest's: 0, 1 when a section failed, 4 (KSFT_SKIP) without
 * /dev/pinmem.
 *
 * CSV: method,page_kind,size_bytes,reps,median_ns,min_ns,max_ns,section,
 * nr_pins,value,unit,note,cpus. The first twelve columns are as before;
 * "cpus" (appended) is the number of CPUs the calling thread was allowed to
 * run on for a timed row (empty for value rows). The method "pinmem" of the
 * earlier CSVs is now "pinmem_1cpu" and "pinmem_ncpu" (also pinmem_pin_* and
 * pinmem_unpin_*, and the ratio rows pinmem_1cpu/bare, pinmem_ncpu/bare,
 * first_pin_pinmem_*cpu/bare, pinmem_*cpu/memcpy); pinmem_w is one CPU.
 * Section "dmabuf" (E) is new, with the ratio rows dmabuf_METHOD/udmabuf.
 *
 * Environment (scripts/vm-run passes PM_BENCH_* host variables on the kernel
 * command line, which hands them to init and so to us):
 *   PM_BENCH_REPS=5               repetitions (median, min, max)
 *   PM_BENCH_SMALL_REPS=15        repetitions of warm and dma-buf sizes <= 32 MiB
 *   PM_BENCH_MIG_REPS=3           repetitions of first-pin sizes (at most
 *                                 PM_BENCH_REPS): each needs a fresh buffer
 *                                 faulted in, about 50 s per GiB and rep
 *                                 under TCG
 *   PM_BENCH_BIG_REPS=3           repetitions of warm and first-pin sizes >= 1 GiB
 *                                 (at most the above)
 *   PM_BENCH_SIZES=2,4,...,4096   warm sizes in MiB (those that fit run)
 *   PM_BENCH_MIG_SIZES=2,8,32,128,512,1024  first-pin (migration) sizes, MiB;
 *                                 2048 fits the amd64 targets' 8 GiB VM too,
 *                                 for about 5 more minutes
 *   PM_BENCH_MIG_THP_MAX=512      THP first-pin sizes above this many MiB are
 *                                 skipped (guest time: THP migration is slow
 *                                 under TCG)
 *   PM_BENCH_DMABUF_SIZES=2,32,256  dma-buf sizes, MiB
 *   PM_BENCH_SCALE=1,1000,100000  numbers of one-page pins
 *   PM_BENCH_OPS=10000            QUERY calls per measurement
 *   PM_BENCH_SECTIONS=warm,mig,scale,mem,dmabuf   which parts to run
 *
 * The defaults take about 12 minutes of guest time in the amd64 targets'
 * 8 GiB VM under TCG (an estimate from partial runs: A about 5 minutes,
 * mostly faulting in and first-pinning the 4 GiB buffers, B about 7). The
 * table's last line gives the time of each section.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/io_uring.h>
#include <linux/pinmem.h>

/* from -isystem ../kselftest (the Makefile), as in tests/ */
#include <kselftest.h>

#include "../devices.h"
#include "../pinmem_test_uapi.h"

#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_SEAL_SHRINK 0x0002
#endif

/* include/uapi/linux/udmabuf.h, spelled out so any libc headers do */
struct bench_udmabuf_create {
	uint32_t memfd;
	uint32_t flags;
	uint64_t offset;
	uint64_t size;
};
#define BENCH_UDMABUF_FLAGS_CLOEXEC 0x01
#define BENCH_UDMABUF_CREATE _IOW('u', 0x42, struct bench_udmabuf_create)

/* the base page and a PMD's THP, which util.c reads before main() */
extern size_t pm_page_size, pm_pmd_size;
#define PAGE_SZ ((uint64_t)pm_page_size)
#define MiB (1024UL * 1024UL)
#define THP_SZ ((uint64_t)pm_pmd_size)
/* pagemap entries read at a time */
#define PAGEMAP_BATCH (1 << 12)
#define MAX_REPS 64
#define MAX_SIZES 32
#define MAX_ROWS 1024

#define KPF_COMPOUND_HEAD 15
#define KPF_THP 22

static int reps = 5, small_reps = 15, big_reps = 3, mig_reps = 3;
static uint64_t sizes[MAX_SIZES], mig_sizes[MAX_SIZES], scale_n[MAX_SIZES];
static uint64_t dmabuf_sizes[MAX_SIZES], mig_thp_max = 512;
static int nr_sizes, nr_mig_sizes, nr_scale, nr_dmabuf_sizes;
static long nr_ops = 10000;
static const char *sections = "warm,mig,scale,mem,dmabuf";
/* the calling thread's CPUs: all it started with ("pm Ncpu"), and one */
static cpu_set_t cpus_all, cpus_one;
static int nr_cpus_all = 1, cpu_one, cpus_now;
static char cpus_all_str[64];
static int pm_fd = -1;
static bool have_bare, have_udmabuf, have_uring;
static char udmabuf_why[96];

/*
 * The sections, one kselftest result each. Not the harness's TEST()s: the
 * sections fill one table, printed with its ratios across sections after
 * the last of them, while the harness runs each case in a child process
 * and exits after the last case.
 */
enum sec { S_WARM, S_MEM, S_MIG, S_SCALE, S_DMABUF, S_NR };
static const char *const sec_name[S_NR] = { "warm", "mem", "mig", "scale", "dmabuf" };
static struct {
	bool on, measured;
	char fail[160], skip[160];	/* the first reason of each */
} sec[S_NR];

/* pinmem, or the section's own setup, failed: the section fails */
static __printf(2, 3) void sec_failed(enum sec s, const char *fmt, ...)
{
	char buf[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ksft_print_msg("%s failed: %s\n", sec_name[s], buf);
	if (!sec[s].fail[0])
		snprintf(sec[s].fail, sizeof(sec[s].fail), "%s", buf);
}

/* why a part of the section measured nothing; a skip if no part did */
static __printf(2, 3) void sec_skipped(enum sec s, const char *fmt, ...)
{
	va_list ap;

	if (sec[s].skip[0])
		return;
	va_start(ap, fmt);
	vsnprintf(sec[s].skip, sizeof(sec[s].skip), fmt, ap);
	va_end(ap);
}

/* the section's TAP line: a failure, else a pass if it measured anything */
static void sec_report(enum sec s)
{
	if (sec[s].fail[0])
		ksft_test_result_code(KSFT_FAIL, sec_name[s], "%s", sec[s].fail);
	else if (sec[s].measured)
		ksft_test_result_code(KSFT_PASS, sec_name[s], NULL);
	else if (sec[s].skip[0])
		ksft_test_result_code(KSFT_SKIP, sec_name[s], "%s", sec[s].skip);
	else
		ksft_test_result_code(KSFT_FAIL, sec_name[s], "measured nothing");
}

/* ------------------------------------------------------------ helpers */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* PM_BENCH_SECTIONS: a name that is no section's ends the run */
static void sections_parse(void)
{
	char buf[256], *tok, *save = NULL;
	int i;

	snprintf(buf, sizeof(buf), "%s", sections);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		for (i = 0; i < S_NR && strcmp(tok, sec_name[i]); i++)
			;
		if (i == S_NR)
			ksft_exit_fail_msg("PM_BENCH_SECTIONS: \"%s\" is no section\n", tok);
		sec[i].on = true;
	}
}

static int parse_list(const char *env, const char *def, uint64_t *out, int max)
{
	const char *s = getenv(env);
	char buf[512], *tok, *save = NULL;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", s && *s ? s : def);
	for (tok = strtok_r(buf, ",: ", &save); tok && n < max;
	     tok = strtok_r(NULL, ",: ", &save)) {
		unsigned long long v = strtoull(tok, NULL, 0);

		if (v)
			out[n++] = v;
	}
	return n;
}

static long env_long(const char *env, long def)
{
	const char *s = getenv(env);

	return s && *s ? strtol(s, NULL, 0) : def;
}

/* run the calling thread on @n CPUs: 1 (cpu_one) or nr_cpus_all (all) */
static void use_cpus(int n)
{
	int want = n == 1 ? 1 : nr_cpus_all;

	if (want == cpus_now)
		return;
	if (sched_setaffinity(0, sizeof(cpu_set_t), want == 1 ? &cpus_one : &cpus_all))
		ksft_print_msg("sched_setaffinity(%d CPUs): %s\n", want, strerror(errno));
	else
		cpus_now = want;
}

static void cpus_init(void)
{
	char *p = cpus_all_str;
	int i, first = -1;

	CPU_ZERO(&cpus_all);
	if (sched_getaffinity(0, sizeof(cpus_all), &cpus_all)) {
		ksft_perror("sched_getaffinity");
		CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &cpus_all);
	}
	nr_cpus_all = CPU_COUNT(&cpus_all);
	for (i = 0; i < CPU_SETSIZE; i++) {
		if (!CPU_ISSET(i, &cpus_all))
			continue;
		if (first < 0)
			first = i;
		if (p < cpus_all_str + sizeof(cpus_all_str) - 8)
			p += sprintf(p, "%s%d", p == cpus_all_str ? "" : ",", i);
	}
	cpu_one = first < 0 ? 0 : first;
	CPU_ZERO(&cpus_one);
	CPU_SET(cpu_one, &cpus_one);
	cpus_now = nr_cpus_all;
}

/*
 * repetitions of a measurement of @len bytes (@warm: warm or dma-buf; else
 * a first pin, which needs a fresh buffer each time)
 */
static int reps_for(uint64_t len, bool warm)
{
	int n = warm || mig_reps > reps ? reps : mig_reps;

	if (warm && len <= 32 * MiB && small_reps > reps)
		return small_reps;
	return len >= 1024 * MiB && big_reps < n ? big_reps : n;
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = -1;

	if (fd >= 0) {
		ret = write(fd, val, strlen(val)) == (ssize_t)strlen(val) ? 0 : -1;
		close(fd);
	}
	return ret;
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	buf[0] = 0;
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

static long meminfo_kb(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	size_t kl = strlen(key);
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Kernel memory in bytes: Slab + VmallocUsed, per-cpu counters folded first. */
static long kmem_bytes(long *slab, long *vmalloc)
{
	long s, v;

	write_file("/proc/sys/vm/stat_refresh", "1");
	s = meminfo_kb("Slab");
	v = meminfo_kb("VmallocUsed");
	if (slab)
		*slab = s * 1024;
	if (vmalloc)
		*vmalloc = v * 1024;
	return (s + v) * 1024;
}

/* /proc/zoneinfo, summed over nodes by zone name */
struct zone {
	char name[16];
	uint64_t start, spanned, present, managed, free, high;
};
static struct zone zones[16];
static int nr_zones;

static void zones_load(void)
{
	FILE *f = fopen("/proc/zoneinfo", "r");
	char line[512], name[16];
	struct zone *z = NULL;
	unsigned long long v;
	int i;

	nr_zones = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Node %*d, zone %15s", name) == 1) {
			z = NULL;
			for (i = 0; i < nr_zones; i++)
				if (!strcmp(zones[i].name, name))
					z = &zones[i];
			if (!z && nr_zones < 16) {
				z = &zones[nr_zones++];
				memset(z, 0, sizeof(*z));
				snprintf(z->name, sizeof(z->name), "%s", name);
				z->start = UINT64_MAX;
			}
			continue;
		}
		if (!z)
			continue;
		if (sscanf(line, " pages free %llu", &v) == 1)
			z->free += v;
		else if (sscanf(line, " high %llu", &v) == 1)
			z->high += v;
		else if (sscanf(line, " spanned %llu", &v) == 1)
			z->spanned += v;
		else if (sscanf(line, " present %llu", &v) == 1)
			z->present += v;
		else if (sscanf(line, " managed %llu", &v) == 1)
			z->managed += v;
		else if (sscanf(line, " start_pfn: %llu", &v) == 1 && v < z->start)
			z->start = v;
	}
	fclose(f);
}

static struct zone *zone_named(const char *name)
{
	int i;

	for (i = 0; i < nr_zones; i++)
		if (!strcmp(zones[i].name, name) && zones[i].present)
			return &zones[i];
	return NULL;
}

/* free pages a long-term pin can land on (outside Movable), above high */
static uint64_t nonmovable_free_bytes(void)
{
	uint64_t sum = 0;
	int i;

	zones_load();
	for (i = 0; i < nr_zones; i++)
		if (strcmp(zones[i].name, "Movable") && zones[i].free > zones[i].high)
			sum += zones[i].free - zones[i].high;
	return sum * PAGE_SZ;
}

static int pagemap_fd = -1, kpf_fd = -1;

/* fraction of [addr, addr+len) whose pfn lies in ZONE_MOVABLE; -1 if unknown */
static double movable_fraction(const void *addr, size_t len)
{
	static uint64_t ent[PAGEMAP_BATCH];
	struct zone *mv = zone_named("Movable");
	uint64_t first = (uintptr_t)addr / PAGE_SZ, n = len / PAGE_SZ, i = 0, in = 0, seen = 0;

	if (!mv || pagemap_fd < 0)
		return -1;
	while (i < n) {
		size_t k = n - i < PAGEMAP_BATCH ? n - i : PAGEMAP_BATCH, j;
		ssize_t r = pread(pagemap_fd, ent, k * 8, (first + i) * 8);

		if (r != (ssize_t)(k * 8))
			return -1;
		for (j = 0; j < k; j++) {
			uint64_t pfn = ent[j] & ((1ULL << 55) - 1);

			if (!(ent[j] >> 63) || !pfn)
				continue;
			seen++;
			if (pfn >= mv->start && pfn < mv->start + mv->spanned)
				in++;
		}
		i += k;
	}
	return seen ? (double)in / (double)n : -1;
}

/* THPs (PMD-sized compound heads) mapping [addr, addr+len) */
static long thp_count(const void *addr, size_t len)
{
	uintptr_t a = ((uintptr_t)addr + THP_SZ - 1) & ~(THP_SZ - 1);
	uintptr_t end = (uintptr_t)addr + len;
	long n = 0;

	if (pagemap_fd < 0 || kpf_fd < 0)
		return -1;
	for (; a + THP_SZ <= end; a += THP_SZ) {
		uint64_t e, f, pfn;

		if (pread(pagemap_fd, &e, 8, a / PAGE_SZ * 8) != 8 || !(e >> 63))
			continue;
		pfn = e & ((1ULL << 55) - 1);
		if (pread(kpf_fd, &f, 8, pfn * 8) != 8)
			continue;
		if ((f >> KPF_THP & 1) && (f >> KPF_COMPOUND_HEAD & 1))
			n++;
	}
	return n;
}

/* runs of physically consecutive pages in [addr, addr+len); -1 if unknown */
static long phys_runs(const void *addr, size_t len)
{
	static uint64_t ent[PAGEMAP_BATCH];
	uint64_t first = (uintptr_t)addr / PAGE_SZ, n = len / PAGE_SZ, i = 0, prev = 0;
	long runs = 0;

	if (pagemap_fd < 0)
		return -1;
	while (i < n) {
		size_t k = n - i < PAGEMAP_BATCH ? n - i : PAGEMAP_BATCH, j;

		if (pread(pagemap_fd, ent, k * 8, (first + i) * 8) != (ssize_t)(k * 8))
			return -1;
		for (j = 0; j < k; j++) {
			uint64_t pfn = ent[j] & ((1ULL << 55) - 1);

			if (!pfn)
				return -1;
			if (pfn != prev + 1)
				runs++;
			prev = pfn;
		}
		i += k;
	}
	return runs;
}

/* anonymous buffer, 2 MiB aligned, written so every page exists */
static char *map_buf(size_t len, bool thp)
{
	size_t map = len + THP_SZ;
	char *p = mmap(NULL, map, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)p + THP_SZ - 1) & ~(THP_SZ - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	if ((char *)a + len < p + map)
		munmap((char *)a + len, p + map - ((char *)a + len));
	madvise((void *)a, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	memset((void *)a, 0x5a, len);
	return (char *)a;
}

/* ------------------------------------------------------------ methods */

static int pm_pin(int fd, const void *addr, size_t len, unsigned int flags,
		  uint64_t *handle)
{
	struct pinmem_pin_args a = {
		.size = sizeof(a), .flags = flags,
		.addr = (uintptr_t)addr, .length = len,
	};

	if (ioctl(fd, PINMEM_IOC_PIN, &a))
		return -errno;
	*handle = a.handle;
	return 0;
}

static int pm_unpin(int fd, uint64_t handle)
{
	struct pinmem_unpin_args a = { .size = sizeof(a), .handle = handle };

	return ioctl(fd, PINMEM_IOC_UNPIN, &a) ? -errno : 0;
}

static int pm_pin_memfd(int fd, int memfd, size_t len, uint64_t *handle)
{
	struct pinmem_pin_memfd_args a = {
		.size = sizeof(a), .flags = PINMEM_PIN_WRITE,
		.memfd = memfd, .offset = 0, .length = len,
	};

	if (ioctl(fd, PINMEM_IOC_PIN_MEMFD, &a))
		return -errno;
	*handle = a.handle;
	return 0;
}

static int pm_export(int fd, uint64_t handle, int *dfd)
{
	struct pinmem_export_args a = {
		.size = sizeof(a), .flags = PINMEM_EXPORT_CLOEXEC, .handle = handle,
	};

	if (ioctl(fd, PINMEM_IOC_EXPORT, &a))
		return -errno;
	*dfd = a.fd;
	return 0;
}

/* parts of the last pinmem / bare run: user-space time of BENCH_BARE,
 * in-kernel pin and unpin times, PIN and UNPIN ioctl times */
static uint64_t bare_wall_ns, bare_pin_ns, bare_unpin_ns, pm_pin_ns, pm_unpin_ns;

static int pm_bare(const void *addr, size_t len, unsigned int flags, uint64_t *ns)
{
	struct pinmem_bench_args a = {
		.size = sizeof(a), .flags = flags,
		.addr = (uintptr_t)addr, .length = len, .batch = 512,
	};
	uint64_t t0 = now_ns();

	if (ioctl(pm_fd, PINMEM_IOC_BENCH_BARE, &a))
		return -errno;
	bare_wall_ns = now_ns() - t0;
	bare_pin_ns = a.pin_ns;
	bare_unpin_ns = a.unpin_ns;
	*ns = a.pin_ns + a.unpin_ns;
	return 0;
}

static int uring_fd = -1, udmabuf_fd = -1;

static int uring_reg(const void *addr, size_t len)
{
	struct iovec iov = { .iov_base = (void *)addr, .iov_len = len };

	if (syscall(__NR_io_uring_register, uring_fd, IORING_REGISTER_BUFFERS, &iov, 1))
		return -errno;
	if (syscall(__NR_io_uring_register, uring_fd, IORING_UNREGISTER_BUFFERS, NULL, 0))
		return -errno;
	return 0;
}

/* One timed operation on [addr, addr+len); returns ns, or <0 = -errno. */
enum method {
	M_PM1, M_PMN, M_BARE, M_PINMEM_W, M_BARE_W, M_URING, M_MLOCK, M_UDMABUF,
	M_MEMCPY, M_BARE_WALL, M_BARE_PIN, M_BARE_UNPIN, M_PM1_PIN, M_PM1_UNPIN,
	M_PMN_PIN, M_PMN_UNPIN, M_PM1_SPLIT, M_PMN_SPLIT, M_NR
};
static const char *const mname[M_NR] = {
	"pinmem_1cpu", "pinmem_ncpu", "bare", "pinmem_w", "bare_w", "io_uring",
	"mlock", "udmabuf", "memcpy", "bare_wall", "bare_pin", "bare_unpin",
	"pinmem_pin_1cpu", "pinmem_unpin_1cpu", "pinmem_pin_ncpu",
	"pinmem_unpin_ncpu", "pinmem_split_1cpu", "pinmem_split_ncpu",
};

/* pinmem's own calls: an error of theirs fails the section */
static bool method_pinmem(enum method m)
{
	return m == M_PM1 || m == M_PMN || m == M_PINMEM_W || m == M_PM1_SPLIT ||
	       m == M_PMN_SPLIT;
}

/* CPUs the calling thread may use for method @m: 1, or all of them */
static int method_cpus(enum method m)
{
	switch (m) {
	case M_PM1:
	case M_PINMEM_W:
	case M_PM1_SPLIT:
	case M_PM1_PIN:
	case M_PM1_UNPIN:
		return 1;
	default:
		return nr_cpus_all;
	}
}

static int64_t run_method(enum method m, char *addr, size_t len, int memfd,
			  char *dst)
{
	uint64_t t0, h = 0, ns;
	int ret = 0, fd;

	use_cpus(method_cpus(m));	/* untimed: migrates this thread */
	t0 = now_ns();
	switch (m) {
	case M_PM1:
	case M_PMN:
	case M_PINMEM_W:
		ret = pm_pin(pm_fd, addr, len, m == M_PINMEM_W ? PINMEM_PIN_WRITE : 0, &h);
		if (!ret)
			ret = pm_unpin(pm_fd, h);
		break;
	case M_PM1_SPLIT:	/* the same, with a clock read in between */
	case M_PMN_SPLIT:
		ret = pm_pin(pm_fd, addr, len, 0, &h);
		pm_pin_ns = now_ns() - t0;
		if (!ret)
			ret = pm_unpin(pm_fd, h);
		pm_unpin_ns = now_ns() - t0 - pm_pin_ns;
		break;
	case M_BARE:
	case M_BARE_W:
		ret = pm_bare(addr, len, m == M_BARE_W ? PINMEM_PIN_WRITE : 0, &ns);
		return ret ? ret : (int64_t)ns;
	case M_URING:
		ret = uring_reg(addr, len);
		break;
	case M_MLOCK:
		if (mlock(addr, len) || munlock(addr, len))
			ret = -errno;
		break;
	case M_UDMABUF: {
		struct bench_udmabuf_create c = {
			.memfd = memfd, .flags = BENCH_UDMABUF_FLAGS_CLOEXEC,
			.offset = 0, .size = len,
		};

		fd = ioctl(udmabuf_fd, BENCH_UDMABUF_CREATE, &c);
		if (fd < 0)
			ret = -errno;
		else
			close(fd);	/* the last reference: unpins */
		break;
	}
	case M_MEMCPY:
		memcpy(dst, addr, len);
		__asm__ __volatile__("" : : "r"(dst) : "memory");
		break;
	default:
		return -EINVAL;
	}
	ns = now_ns() - t0;
	return ret ? ret : (int64_t)ns;
}

/* ------------------------------------------------------------ results */

struct meas {
	int n;
	double v[MAX_REPS];
};

static void meas_add(struct meas *m, double v)
{
	if (m->n < MAX_REPS)
		m->v[m->n++] = v;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double meas_med(struct meas *m, double *mn, double *mx)
{
	double s[MAX_REPS];

	if (!m->n)
		return -1;
	memcpy(s, m->v, m->n * sizeof(double));
	qsort(s, m->n, sizeof(double), cmp_d);
	if (mn)
		*mn = s[0];
	if (mx)
		*mx = s[m->n - 1];
	return m->n & 1 ? s[m->n / 2] : (s[m->n / 2 - 1] + s[m->n / 2]) / 2;
}

struct row {
	char section[12], method[40], kind[8];
	uint64_t size;
	int reps;
	double med, min, max;	/* ns; med < 0: no time */
	long nr_pins;
	double value;		/* unit != "": a value row */
	char unit[12];
	char note[120];
	int cpus;		/* timed rows: CPUs the caller ran on; 0: - */
};
static struct row rows[MAX_ROWS];
static int nr_rows;

static struct row *row_new(const char *section, const char *method,
			   const char *kind, uint64_t size)
{
	struct row *r = &rows[nr_rows < MAX_ROWS - 1 ? nr_rows++ : nr_rows];

	memset(r, 0, sizeof(*r));
	snprintf(r->section, sizeof(r->section), "%s", section);
	snprintf(r->method, sizeof(r->method), "%s", method);
	snprintf(r->kind, sizeof(r->kind), "%s", kind);
	r->size = size;
	r->med = -1;
	r->nr_pins = 1;
	return r;
}

static struct row *row_time(const char *section, const char *method,
			    const char *kind, uint64_t size, struct meas *m)
{
	struct row *r = row_new(section, method, kind, size);

	r->reps = m->n;
	r->med = meas_med(m, &r->min, &r->max);
	return r;
}

static struct row *row_value(const char *section, const char *method,
			     const char *kind, uint64_t size, double v,
			     const char *unit)
{
	struct row *r = row_new(section, method, kind, size);

	r->value = v;
	snprintf(r->unit, sizeof(r->unit), "%s", unit);
	return r;
}

static struct row *row_find(const char *section, const char *method,
			    const char *kind, uint64_t size, long nr_pins)
{
	int i;

	for (i = 0; i < nr_rows; i++) {
		struct row *r = &rows[i];

		if (!strcmp(r->section, section) && !strcmp(r->method, method) &&
		    !strcmp(r->kind, kind) && r->size == size &&
		    (nr_pins < 0 || r->nr_pins == nr_pins))
			return r;
	}
	return NULL;
}

static double row_med(const char *section, const char *method,
		      const char *kind, uint64_t size)
{
	struct row *r = row_find(section, method, kind, size, -1);

	return r && r->med >= 0 ? r->med : -1;
}

static const char *fmt_ns(double ns, char *buf)
{
	if (ns < 0)
		strcpy(buf, "-");
	else if (ns < 1e3)
		sprintf(buf, "%.0f ns", ns);
	else if (ns < 1e6)
		sprintf(buf, "%.3g us", ns / 1e3);
	else if (ns < 1e9)
		sprintf(buf, "%.3g ms", ns / 1e6);
	else
		sprintf(buf, "%.3g s", ns / 1e9);
	return buf;
}

static const char *fmt_size(uint64_t b, char *buf)
{
	if (b >= 1024 * MiB && !(b % (1024 * MiB)))
		sprintf(buf, "%" PRIu64 "G", b / (1024 * MiB));
	else if (b >= MiB)
		sprintf(buf, "%" PRIu64 "M", b / MiB);
	else
		sprintf(buf, "%" PRIu64 "K", b / 1024);
	return buf;
}

/* "median [min-max]" in one unit */
static const char *fmt_spread(const struct row *r, char *buf)
{
	char a[24], b[24], c[24];

	if (!r)
		return strcpy(buf, "-");
	if (r->med < 0)
		return strcpy(buf, r->note[0] ? "n/a" : "-");
	sprintf(buf, "%s [%s..%s]", fmt_ns(r->med, a), fmt_ns(r->min, b), fmt_ns(r->max, c));
	return buf;
}

/* ------------------------------------------------------------ A. warm */

static const char *kname(bool thp)
{
	return thp ? "THP" : "4K";
}

static void time_methods(const char *section, const enum method *ms, int nm,
			 char *buf, size_t len, bool thp, int memfd, char *dst,
			 bool warmup)
{
	struct meas m[M_NR] = { 0 };
	int err[M_NR] = { 0 };
	/* sub-millisecond sizes: more repetitions, they are cheap and noisy */
	int r, i, nreps = reps_for(len, true);

	for (r = warmup ? -1 : 0; r < nreps; r++) {
		for (i = 0; i < nm; i++) {
			int64_t ns;

			if (err[ms[i]])
				continue;
			ns = run_method(ms[i], buf, len, memfd, dst);
			if (ns < 0)
				err[ms[i]] = (int)-ns;
			else if (r >= 0)
				meas_add(&m[ms[i]], (double)ns);
			if (ns >= 0 && r >= 0 && ms[i] == M_BARE) {
				meas_add(&m[M_BARE_WALL], (double)bare_wall_ns);
				meas_add(&m[M_BARE_PIN], (double)bare_pin_ns);
				meas_add(&m[M_BARE_UNPIN], (double)bare_unpin_ns);
			}
			if (ns >= 0 && r >= 0 && ms[i] == M_PM1_SPLIT) {
				meas_add(&m[M_PM1_PIN], (double)pm_pin_ns);
				meas_add(&m[M_PM1_UNPIN], (double)pm_unpin_ns);
			}
			if (ns >= 0 && r >= 0 && ms[i] == M_PMN_SPLIT) {
				meas_add(&m[M_PMN_PIN], (double)pm_pin_ns);
				meas_add(&m[M_PMN_UNPIN], (double)pm_unpin_ns);
			}
		}
	}
	use_cpus(nr_cpus_all);
	for (i = 0; i < nm; i++) {
		struct row *row;
		char s[16];

		if (err[ms[i]] && method_pinmem(ms[i]))
			sec_failed(S_WARM, "%s %s %s: %s", mname[ms[i]], kname(thp),
				   fmt_size(len, s), strerror(err[ms[i]]));
		if (ms[i] == M_PM1_SPLIT || ms[i] == M_PMN_SPLIT) {
			enum method p = ms[i] == M_PM1_SPLIT ? M_PM1_PIN : M_PMN_PIN;

			row = row_time(section, mname[p], kname(thp), len, &m[p]);
			row->cpus = method_cpus(p);
			row = row_time(section, mname[p + 1], kname(thp), len, &m[p + 1]);
			row->cpus = method_cpus(p);
			continue;
		}
		row = row_time(section, mname[ms[i]], kname(thp), len, &m[ms[i]]);
		row->cpus = method_cpus(ms[i]);

		if (err[ms[i]])
			snprintf(row->note, sizeof(row->note), "n/a: %s", strerror(err[ms[i]]));
		if (ms[i] == M_BARE && m[M_BARE_WALL].n) {
			row = row_time(section, "bare_wall", kname(thp), len, &m[M_BARE_WALL]);
			row->cpus = nr_cpus_all;
			snprintf(row->note, sizeof(row->note), "BENCH_BARE timed from user space");
			row = row_time(section, "bare_pin", kname(thp), len, &m[M_BARE_PIN]);
			row->cpus = nr_cpus_all;
			row = row_time(section, "bare_unpin", kname(thp), len, &m[M_BARE_UNPIN]);
			row->cpus = nr_cpus_all;
		}
	}
}

/* let deferred work of the previous method finish: one untimed pin, a pause */
static void settle(char *buf, size_t len)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	uint64_t h = 0;

	if (!pm_pin(pm_fd, buf, len, 0, &h))
		pm_unpin(pm_fd, h);
	nanosleep(&ts, NULL);
}

static uint64_t warm_max(void)
{
	uint64_t fit = nonmovable_free_bytes(), best = 0;
	int i;

	for (i = 0; i < nr_sizes; i++)
		if (sizes[i] * MiB + 160 * MiB <= fit && sizes[i] * MiB > best)
			best = sizes[i] * MiB;
	return best;
}

static void udmabuf_sizes(bool thp, uint64_t max)
{
	char old[128] = "", lim[32];
	int memfd, i;
	int64_t ret;
	uint64_t t0;
	char *map;

	for (i = 0; i < nr_sizes; i++) {
		if (sizes[i] * MiB > max)
			continue;
		if (!have_udmabuf) {
			struct row *r = row_new("warm", "udmabuf", kname(thp), sizes[i] * MiB);

			snprintf(r->note, sizeof(r->note), "n/a: %s", udmabuf_why);
		}
	}
	if (!have_udmabuf)
		return;
	snprintf(lim, sizeof(lim), "%" PRIu64, max / MiB + 1);
	write_file("/sys/module/udmabuf/parameters/size_limit_mb", lim);
	if (thp) {
		read_file("/sys/kernel/mm/transparent_hugepage/shmem_enabled", old, sizeof(old));
		write_file("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "advise");
	}
	memfd = memfd_create("pinmem-bench", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, max) || fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		ksft_print_msg("udmabuf: memfd setup failed: %s\n", strerror(errno));
		return;
	}
	map = mmap(NULL, max, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (map == MAP_FAILED) {
		ksft_print_msg("udmabuf: mmap failed: %s\n", strerror(errno));
		close(memfd);
		return;
	}
	madvise(map, max, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	memset(map, 0x5a, max);
	ksft_print_msg("udmabuf %s: memfd of %" PRIu64 " MiB, %.1f%% in Movable, %ld THPs\n",
		       kname(thp), max / MiB, 100 * movable_fraction(map, max), thp_count(map, max));
	t0 = now_ns();
	ret = run_method(M_UDMABUF, map, max, memfd, NULL);
	ksft_print_msg("udmabuf %s: first UDMABUF_CREATE of %" PRIu64 " MiB (migrates): %.1f ms (%s); after: %.1f%% in Movable, %ld THPs\n",
		       kname(thp), max / MiB, (now_ns() - t0) / 1e6, ret < 0 ? strerror((int)-ret) : "ok",
		       100 * movable_fraction(map, max), thp_count(map, max));
	row_value("info", "udmabuf_thps", kname(thp), max, (double)thp_count(map, max), "THPs");
	for (i = 0; i < nr_sizes; i++) {
		enum method m = M_UDMABUF;

		if (sizes[i] * MiB > max)
			continue;
		time_methods("warm", &m, 1, map, sizes[i] * MiB, thp, memfd, NULL, true);
	}
	munmap(map, max);
	close(memfd);
	if (thp && old[0]) {
		char *b = strchr(old, '['), *e = b ? strchr(b, ']') : NULL;

		if (b && e) {
			*e = 0;
			write_file("/sys/kernel/mm/transparent_hugepage/shmem_enabled", b + 1);
		}
	}
}

/* D. bytes of Slab+VmallocUsed per base page while holding one pin of @len */
static void mem_large_pin(char *buf, size_t len, bool thp, const char *label)
{
	struct meas d = { 0 };
	long s0, v0, s1, v1, thps = thp_count(buf, len), runs = phys_runs(buf, len);
	uint64_t h = 0;
	double med, mn, mx;
	struct row *r;
	char sz[16];
	int i, ret;

	for (i = 0; i < 3; i++) {
		kmem_bytes(&s0, &v0);
		ret = pm_pin(pm_fd, buf, len, 0, &h);
		if (ret) {
			sec_failed(S_MEM, "PIN of %s %s: %s", kname(thp), fmt_size(len, sz),
				   strerror(-ret));
			return;
		}
		kmem_bytes(&s1, &v1);
		pm_unpin(pm_fd, h);
		meas_add(&d, (double)(s1 - s0 + v1 - v0));
	}
	med = meas_med(&d, &mn, &mx);
	r = row_value("memory", label, kname(thp), len, med / (len / PAGE_SZ), "B/page");
	snprintf(r->note, sizeof(r->note), "delta %.0f B [%.0f..%.0f] for %zu base pages in %ld physical runs (%.1f B/run)",
		 med, mn, mx, (size_t)(len / PAGE_SZ), runs, runs > 0 ? med / runs : -1.0);
	if (thp) {
		r = row_value("memory", "track_per_thp", kname(thp), len,
			      thps > 0 ? med / thps : -1, "B/THP");
		snprintf(r->note, sizeof(r->note), "%ld THPs", thps);
	}
	sec[S_MEM].measured = true;
}

static void section_warm(bool thp)
{
	/* pinmem on one CPU and on all of them, in turn with bare, each rep */
	static const enum method ms[] = {
		M_PM1, M_PMN, M_BARE, M_PM1_SPLIT, M_PMN_SPLIT, M_PINMEM_W, M_BARE_W,
	};
	/*
	 * io_uring and mlock+munlock on passes of their own, each followed by
	 * settle(): on 6.1 io_uring's unregister leaves deferred work behind
	 * (its ~15 ms floor), and a pin right after a munlock of the range was
	 * seen to be several times slower; neither may land on the timing of
	 * the method that happens to come next.
	 */
	static const enum method ur[] = { M_URING }, ml[] = { M_MLOCK };
	uint64_t max = warm_max(), t0, h = 0;
	struct pinmem_query_args q = { .size = sizeof(q) };
	char *buf;
	long thp0;
	double mv;
	int i, ret, un;

	for (i = 0; i < nr_sizes; i++) {
		if (sizes[i] * MiB > max) {
			struct row *r = row_new("warm", "skipped", kname(thp), sizes[i] * MiB);

			snprintf(r->note, sizeof(r->note), "needs %" PRIu64 " MiB + 160 MiB free outside ZONE_MOVABLE, %" PRIu64 " MiB free",
				 sizes[i], nonmovable_free_bytes() / MiB);
		}
	}
	if (!max) {
		sec_skipped(S_WARM, "no size fits outside ZONE_MOVABLE (%" PRIu64 " MiB free there)",
			    nonmovable_free_bytes() / MiB);
		return;
	}
	buf = map_buf(max, thp);
	if (!buf) {
		sec_failed(S_WARM, "%s: mmap of %" PRIu64 " MiB failed", kname(thp), max / MiB);
		return;
	}
	thp0 = thp_count(buf, max);
	mv = movable_fraction(buf, max);
	/* the first pin migrates the buffer out of ZONE_MOVABLE */
	t0 = now_ns();
	ret = pm_pin(pm_fd, buf, max, 0, &h);
	t0 = now_ns() - t0;
	if (!ret) {
		q.handle = h;
		ret = ioctl(pm_fd, PINMEM_IOC_QUERY, &q) ? -errno : 0;
		un = pm_unpin(pm_fd, h);
		ret = ret ? ret : un;
	}
	if (ret)
		sec_failed(S_WARM, "%s: first PIN, QUERY, UNPIN of %" PRIu64 " MiB: %s",
			   kname(thp), max / MiB, strerror(-ret));
	ksft_print_msg("warm %s: %" PRIu64 " MiB buffer, %.1f%% in Movable, %ld THPs; first PIN (migration) %.1f ms (%s); after: %" PRIu64 " pages in Movable, %ld THPs\n",
		       kname(thp), max / MiB, 100 * mv, thp0, t0 / 1e6, ret ? strerror(-ret) : "ok",
		       (uint64_t)q.zone_pages[PINMEM_ZONE_MOVABLE], thp_count(buf, max));
	row_value("info", "thps_before", kname(thp), max, (double)thp0, "THPs");
	row_value("info", "thps_warm", kname(thp), max, (double)thp_count(buf, max), "THPs");
	row_value("info", "movable_after_pin", kname(thp), max,
		  (double)q.zone_pages[PINMEM_ZONE_MOVABLE], "pages");

	for (i = 0; i < nr_sizes; i++) {
		uint64_t len = sizes[i] * MiB;

		if (len > max)
			continue;
		ksft_print_msg("warm %s %" PRIu64 " MiB, %d reps\n", kname(thp), sizes[i], reps_for(len, true));
		time_methods("warm", ms, ARRAY_SIZE(ms), buf, len, thp, -1, NULL, true);
		time_methods("warm", ur, 1, buf, len, thp, -1, NULL, true);
		settle(buf, len);
		time_methods("warm", ml, 1, buf, len, thp, -1, NULL, true);
		settle(buf, len);
		sec[S_WARM].measured = true;
	}
	if (sec[S_MEM].on)
		mem_large_pin(buf, max, thp, "track_per_page");
	munmap(buf, max);
	udmabuf_sizes(thp, max);
}

/*
 * D'. worst case for a tracker that stores runs of consecutive PFNs: a 4K
 * buffer whose pages are physically scattered. Free every other page of a
 * warm buffer (a checkerboard of order-0 holes outside ZONE_MOVABLE), then
 * migrate a fresh buffer out of ZONE_MOVABLE: the buddy allocator serves the
 * smallest free blocks first, so its new pages land in the holes.
 */
static void mem_scattered(void)
{
	uint64_t len = 128 * MiB, h;
	char *hole, *buf;
	size_t i;
	int ret;

	while (len >= 8 * MiB && 3 * len + 160 * MiB > nonmovable_free_bytes())
		len /= 2;
	if (len < 8 * MiB) {
		sec_skipped(S_MEM, "no scattered buffer of 8 MiB fits outside ZONE_MOVABLE");
		return;
	}
	hole = map_buf(2 * len, false);
	buf = hole ? map_buf(len, false) : NULL;
	if (!buf) {
		sec_failed(S_MEM, "mmap of %" PRIu64 " MiB failed", (hole ? 1 : 2) * len / MiB);
		if (hole)
			munmap(hole, 2 * len);
		return;
	}
	ret = pm_pin(pm_fd, hole, 2 * len, 0, &h);
	if (!ret)
		ret = pm_unpin(pm_fd, h);
	for (i = PAGE_SZ; !ret && i < 2 * len; i += 2 * PAGE_SZ)
		madvise(hole + i, PAGE_SZ, MADV_DONTNEED);
	if (!ret)
		ret = pm_pin(pm_fd, buf, len, 0, &h);
	if (!ret)
		ret = pm_unpin(pm_fd, h);
	if (ret) {
		sec_failed(S_MEM, "scattered buffer of %" PRIu64 " MiB: PIN or UNPIN: %s",
			   len / MiB, strerror(-ret));
		goto out;
	}
	ksft_print_msg("memory: scattered 4K buffer of %" PRIu64 " MiB: %ld physical runs, %.1f%% in Movable\n",
		       len / MiB, phys_runs(buf, len), 100 * movable_fraction(buf, len));
	mem_large_pin(buf, len, false, "track_per_page_scattered");
out:
	munmap(buf, len);
	munmap(hole, 2 * len);
}

/* ------------------------------------------------------------ B. first pin */

static void section_mig(bool thp)
{
	static const enum method ms[] = { M_PM1, M_PMN, M_BARE, M_URING };
	const int nm = ARRAY_SIZE(ms);
	char s[16];
	int i, r, k;

	for (i = 0; i < nr_mig_sizes; i++) {
		uint64_t len = mig_sizes[i] * MiB;
		struct meas m[M_NR] = { 0 }, frac = { 0 }, thps = { 0 };
		int err[M_NR] = { 0 }, nreps = reps_for(len, false);
		char *src, *dst;

		if (thp && mig_sizes[i] > mig_thp_max) {
			struct row *row = row_new("first_pin", "skipped", kname(thp), len);

			snprintf(row->note, sizeof(row->note), "above PM_BENCH_MIG_THP_MAX=%" PRIu64 " MiB (guest time)",
				 mig_thp_max);
			sec_skipped(S_MIG, "THP %s: %s", fmt_size(len, s), row->note);
			continue;
		}
		if (len + 160 * MiB > nonmovable_free_bytes()) {
			struct row *row = row_new("first_pin", "skipped", kname(thp), len);

			snprintf(row->note, sizeof(row->note), "does not fit outside ZONE_MOVABLE");
			sec_skipped(S_MIG, "%s %s: %s", kname(thp), fmt_size(len, s), row->note);
			continue;
		}
		ksft_print_msg("first pin %s %" PRIu64 " MiB, %d reps\n", kname(thp), mig_sizes[i], nreps);
		for (r = 0; r < nreps; r++) {
			for (k = 0; k < nm; k++) {
				char *buf = map_buf(len, thp);
				int64_t ns;

				if (!buf) {
					sec_failed(S_MIG, "%s: mmap of %s failed", kname(thp),
						   fmt_size(len, s));
					continue;
				}
				meas_add(&frac, movable_fraction(buf, len));
				meas_add(&thps, (double)thp_count(buf, len));
				ns = err[ms[k]] ? 0 : run_method(ms[k], buf, len, -1, NULL);
				if (ns < 0)
					err[ms[k]] = (int)-ns;
				else if (!err[ms[k]])
					meas_add(&m[ms[k]], (double)ns);
				use_cpus(nr_cpus_all);
				munmap(buf, len);
			}
		}
		/* memcpy: the physical floor of moving those bytes */
		src = map_buf(len, thp);
		dst = map_buf(len, thp);
		if (src && dst) {
			run_method(M_MEMCPY, src, len, -1, dst);
			for (r = 0; r < nreps; r++)
				meas_add(&m[M_MEMCPY], (double)run_method(M_MEMCPY, src, len, -1, dst));
		} else {
			sec_failed(S_MIG, "%s: mmap of 2 x %s failed", kname(thp),
				   fmt_size(len, s));
		}
		if (src)
			munmap(src, len);
		if (dst)
			munmap(dst, len);
		for (k = 0; k < nm; k++) {
			double mn, mx, med = meas_med(&frac, &mn, &mx);
			struct row *row = row_time("first_pin", mname[ms[k]], kname(thp), len, &m[ms[k]]);

			row->cpus = method_cpus(ms[k]);
			if (err[ms[k]] && method_pinmem(ms[k]))
				sec_failed(S_MIG, "%s %s %s: %s", mname[ms[k]], kname(thp),
					   fmt_size(len, s), strerror(err[ms[k]]));
			if (err[ms[k]])
				snprintf(row->note, sizeof(row->note), "n/a: %s", strerror(err[ms[k]]));
			else
				snprintf(row->note, sizeof(row->note), "in Movable before: median %.1f%% min %.1f%%%s; THPs %.0f",
					 100 * med, 100 * mn, mn < 0.9 ? " (<90%!)" : "",
					 meas_med(&thps, NULL, NULL));
		}
		row_time("first_pin", "memcpy", kname(thp), len, &m[M_MEMCPY])->cpus = nr_cpus_all;
		sec[S_MIG].measured = true;
	}
}

/* ------------------------------------------------------------ C. scale */

static long debugfs_read(uint64_t *ns)
{
	static char b[1 << 16];
	uint64_t t0 = now_ns();
	int fd = open("/sys/kernel/debug/pinmem/pins", O_RDONLY | O_CLOEXEC);
	long lines = 0;
	ssize_t n, i;

	if (fd < 0)
		return -1;
	while ((n = read(fd, b, sizeof(b))) > 0)
		for (i = 0; i < n; i++)
			lines += b[i] == '\n';
	close(fd);
	*ns = now_ns() - t0;
	return lines;
}

static void section_scale(void)
{
	static const char *const step[] = {
		"", "PIN", "QUERY by handle", "QUERY by address", "UNPIN",
	};
	uint64_t maxn = 0, *h, len;
	uint32_t *idx;
	char *buf;
	int i, r;

	for (i = 0; i < nr_scale; i++)
		if (scale_n[i] > maxn)
			maxn = scale_n[i];
	len = maxn * PAGE_SZ;
	if (len + 160 * MiB > nonmovable_free_bytes()) {
		sec_skipped(S_SCALE, "%" PRIu64 " pages do not fit outside ZONE_MOVABLE (%" PRIu64
			    " MiB free)", maxn, nonmovable_free_bytes() / MiB);
		row_new("scale", "skipped", "4K", len);
		return;
	}
	buf = map_buf(len, false);
	h = calloc(maxn, sizeof(*h));
	idx = calloc(maxn, sizeof(*idx));
	if (!buf || !h || !idx) {
		sec_failed(S_SCALE, "no memory for %" PRIu64 " pins", maxn);
		goto out;
	}
	{	/* out of ZONE_MOVABLE first */
		uint64_t hh;
		int ret = pm_pin(pm_fd, buf, len, 0, &hh);

		if (!ret)
			ret = pm_unpin(pm_fd, hh);
		if (ret) {
			sec_failed(S_SCALE, "PIN or UNPIN of %" PRIu64 " pages: %s", maxn,
				   strerror(-ret));
			goto out;
		}
	}
	for (i = 0; i < nr_scale; i++) {
		uint64_t n = scale_n[i], nun = n / 10 ? (n / 10 < 1000 ? n / 10 : 1000) : 1;
		struct meas pin = { 0 }, qh = { 0 }, qa = { 0 }, un = { 0 }, dbg = { 0 },
			    cl = { 0 }, mem = { 0 }, dbgl = { 0 };
		int fail = 0;
		struct row *row;

		ksft_print_msg("scale: %" PRIu64 " one-page pins\n", n);
		for (r = 0; r < reps && !fail; r++) {
			struct pinmem_query_args q;
			uint64_t t0, j, ns;
			long k0, k1, lines;
			int fd = open("/dev/pinmem", O_RDWR | O_CLOEXEC);

			if (fd < 0) {
				sec_failed(S_SCALE, "open /dev/pinmem: %s", strerror(errno));
				goto out;
			}
			k0 = kmem_bytes(NULL, NULL);
			t0 = now_ns();
			for (j = 0; j < n; j++)
				if (pm_pin(fd, buf + j * PAGE_SZ, PAGE_SZ, 0, &h[j]))
					fail = 1;
			meas_add(&pin, (double)(now_ns() - t0) / n);
			k1 = kmem_bytes(NULL, NULL);
			meas_add(&mem, (double)(k1 - k0) / n);

			t0 = now_ns();
			for (j = 0; j < (uint64_t)nr_ops; j++) {
				memset(&q, 0, sizeof(q));
				q.size = sizeof(q);
				q.handle = h[rnd() % n];
				if (ioctl(fd, PINMEM_IOC_QUERY, &q))
					fail = 2;
			}
			meas_add(&qh, (double)(now_ns() - t0) / nr_ops);
			t0 = now_ns();
			for (j = 0; j < (uint64_t)nr_ops; j++) {
				memset(&q, 0, sizeof(q));
				q.size = sizeof(q);
				q.flags = PINMEM_QUERY_BY_ADDR;
				q.addr = (uintptr_t)buf + (rnd() % n) * PAGE_SZ + 123;
				if (ioctl(fd, PINMEM_IOC_QUERY, &q))
					fail = 3;
			}
			meas_add(&qa, (double)(now_ns() - t0) / nr_ops);

			lines = debugfs_read(&ns);
			if (lines >= 0) {
				meas_add(&dbg, (double)ns);
				meas_add(&dbgl, (double)lines);
			}

			/* UNPIN nun distinct random pins, then pin them again */
			for (j = 0; j < n; j++)
				idx[j] = j;
			for (j = 0; j < nun; j++) {
				uint64_t o = j + rnd() % (n - j);
				uint32_t t = idx[j];

				idx[j] = idx[o];
				idx[o] = t;
			}
			t0 = now_ns();
			for (j = 0; j < nun; j++)
				if (pm_unpin(fd, h[idx[j]]))
					fail = 4;
			meas_add(&un, (double)(now_ns() - t0) / nun);
			for (j = 0; j < nun; j++)
				pm_pin(fd, buf + (uint64_t)idx[j] * PAGE_SZ, PAGE_SZ, 0, &h[idx[j]]);

			t0 = now_ns();
			close(fd);
			meas_add(&cl, (double)(now_ns() - t0));
		}
		if (fail)
			sec_failed(S_SCALE, "%" PRIu64 " pins: %s failed", n, step[fail]);
		row = row_time("scale", "pin_per_op", "4K", n * PAGE_SZ, &pin);
		row->nr_pins = n;
		row = row_time("scale", "query_handle_per_op", "4K", n * PAGE_SZ, &qh);
		row->nr_pins = n;
		row = row_time("scale", "query_addr_per_op", "4K", n * PAGE_SZ, &qa);
		row->nr_pins = n;
		row = row_time("scale", "unpin_per_op", "4K", n * PAGE_SZ, &un);
		row->nr_pins = n;
		snprintf(row->note, sizeof(row->note), "%" PRIu64 " random pins unpinned per rep", nun);
		row = row_time("scale", "debugfs_pins_read", "4K", n * PAGE_SZ, &dbg);
		row->nr_pins = n;
		snprintf(row->note, sizeof(row->note), "%.0f lines", meas_med(&dbgl, NULL, NULL));
		row = row_time("scale", "close", "4K", n * PAGE_SZ, &cl);
		row->nr_pins = n;
		row = row_value("scale", "kmem_per_pin", "4K", n * PAGE_SZ,
				meas_med(&mem, NULL, NULL), "B/pin");
		row->nr_pins = n;
		if (fail)
			snprintf(row->note, sizeof(row->note), "an ioctl failed (step %d)", fail);
		else if (n >= 1000)
			snprintf(row->note, sizeof(row->note), "target <= 128 B/pin: %s",
				 row->value <= 128 ? "yes" : "NO");
		sec[S_SCALE].measured = true;
	}
out:
	if (buf)
		munmap(buf, len);
	free(h);
	free(idx);
}

/* ------------------------------------------------------------ E. dma-buf */

enum { E_UDMABUF, E_EXPORT, E_PIN_EXPORT, E_NR };
static const char *const ename[E_NR] = {
	"udmabuf", "pinmem_export", "pinmem_pin_memfd_export",
};
static int drm_fd = -1;

/* mapped attachments of pinmem dma-buf @dfd (debugfs "exports"); or -1 */
static int export_mapped(int dfd)
{
	unsigned int ctx, att, mapped, vmapped;
	unsigned long ino, pages;
	unsigned long long handle;
	char line[256], kind[8], mode[4];
	struct stat st;
	int ret = -1;
	FILE *f;

	if (fstat(dfd, &st))
		return -1;
	f = fopen("/sys/kernel/debug/pinmem/exports", "r");
	if (!f)
		return -1;
	while (ret < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lu %u %llu %7s %lu %3s %u %u %u", &ino, &ctx, &handle,
			   kind, &pages, mode, &att, &mapped, &vmapped) == 9 && ino == st.st_ino)
			ret = (int)mapped;
	fclose(f);
	return ret;
}

/* import dma-buf @dfd into vgem, drop the GEM handle, close @dfd */
static int vgem_cycle(int dfd)
{
	uint32_t gh = 0;
	int ret = prime_import(drm_fd, dfd, &gh);

	if (!ret)
		ret = gem_close(drm_fd, gh);
	close(dfd);
	return ret;
}

/*
 * One timed E operation on the first @len bytes of @memfd: ns or -errno.
 * @h: the pin of those bytes in pm_fd (E_EXPORT); @pm2: a second context
 * (E_PIN_EXPORT pins the same pages again there).
 */
static int64_t run_e(int which, int memfd, size_t len, uint64_t h, int pm2)
{
	struct bench_udmabuf_create c = {
		.memfd = memfd, .flags = BENCH_UDMABUF_FLAGS_CLOEXEC,
		.offset = 0, .size = len,
	};
	uint64_t t0 = now_ns(), h2 = 0;
	int ret = 0, dfd = -1;

	switch (which) {
	case E_UDMABUF:
		dfd = ioctl(udmabuf_fd, BENCH_UDMABUF_CREATE, &c);
		ret = dfd < 0 ? -errno : vgem_cycle(dfd);
		break;
	case E_EXPORT:
		ret = pm_export(pm_fd, h, &dfd);
		if (!ret)
			ret = vgem_cycle(dfd);
		break;
	case E_PIN_EXPORT:
		ret = pm_pin_memfd(pm2, memfd, len, &h2);
		if (ret)
			break;
		ret = pm_export(pm2, h2, &dfd);
		if (!ret)
			ret = vgem_cycle(dfd);
		if (pm_unpin(pm2, h2) && !ret)
			ret = -errno;
		break;
	}
	return ret ? ret : (int64_t)(now_ns() - t0);
}

/* the section measured nothing: a skip for @why, or a failure */
static void dmabuf_na(bool failed, const char *why)
{
	struct row *r = row_new("dmabuf", "skipped", "4K", 0);

	snprintf(r->note, sizeof(r->note), "n/a: %s", why);
	if (failed)
		sec_failed(S_DMABUF, "%s", why);
	else
		sec_skipped(S_DMABUF, "%s", why);
}

static void section_dmabuf(void)
{
	uint64_t max = 0, fit = nonmovable_free_bytes(), h;
	bool by_memfd = true;
	char lim[32], *map;
	int i, k, r, memfd, pm2, ret;

	if (!have_udmabuf) {
		dmabuf_na(false, udmabuf_why);
		return;
	}
	load_set("vgem", "");
	drm_fd = open_vgem();
	if (drm_fd < 0) {
		dmabuf_na(false, "no /dev/dri/card* is vgem (no vgem module, or it did not load)");
		return;
	}
	for (i = 0; i < nr_dmabuf_sizes; i++) {
		uint64_t len = dmabuf_sizes[i] * MiB;

		if (len + 160 * MiB <= fit && len > max)
			max = len;
		else if (len > max) {
			struct row *sk = row_new("dmabuf", "skipped", "4K", len);

			snprintf(sk->note, sizeof(sk->note), "needs %" PRIu64 " MiB + 160 MiB free outside ZONE_MOVABLE",
				 dmabuf_sizes[i]);
		}
	}
	if (!max) {
		dmabuf_na(false, "no size fits outside ZONE_MOVABLE");
		return;
	}
	snprintf(lim, sizeof(lim), "%" PRIu64, max / MiB + 1);
	write_file("/sys/module/udmabuf/parameters/size_limit_mb", lim);
	memfd = memfd_create("pinmem-bench-dmabuf", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	pm2 = open("/dev/pinmem", O_RDWR | O_CLOEXEC);
	if (memfd < 0 || pm2 < 0 || ftruncate(memfd, max) ||
	    fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		dmabuf_na(true, strerror(errno));
		return;
	}
	map = mmap(NULL, max, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (map == MAP_FAILED) {
		dmabuf_na(true, strerror(errno));
		close(memfd);
		return;
	}
	madvise(map, max, MADV_NOHUGEPAGE);
	memset(map, 0x5a, max);
	ksft_print_msg("dma-buf: memfd of %" PRIu64 " MiB, %.1f%% in Movable, %ld THPs\n", max / MiB,
		       100 * movable_fraction(map, max), thp_count(map, max));
	/* untimed: the first pin moves the memfd's pages out of ZONE_MOVABLE */
	ret = pm_pin_memfd(pm_fd, memfd, max, &h);
	if (ret == -EOPNOTSUPP || ret == -ENOTTY) {
		by_memfd = false;
		ret = pm_pin(pm_fd, map, max, PINMEM_PIN_WRITE, &h);
	}
	if (ret) {
		dmabuf_na(true, strerror(-ret));
		goto out;
	}
	{	/* does vgem map the attachment at import on this kernel? */
		int dfd = -1, mapped = -1;
		uint32_t gh = 0;

		if (!pm_export(pm_fd, h, &dfd) && !prime_import(drm_fd, dfd, &gh)) {
			mapped = export_mapped(dfd);
			gem_close(drm_fd, gh);
		}
		if (dfd >= 0)
			close(dfd);
		row_value("info", "vgem_mapped_at_import", "4K", max, mapped, "attachments");
	}
	pm_unpin(pm_fd, h);
	ksft_print_msg("dma-buf: after the first %s: %.1f%% in Movable\n", by_memfd ? "PIN_MEMFD" : "PIN of the mapping",
		       100 * movable_fraction(map, max));

	for (i = 0; i < nr_dmabuf_sizes; i++) {
		uint64_t len = dmabuf_sizes[i] * MiB;
		struct meas m[E_NR] = { 0 };
		int err[E_NR] = { 0 }, nreps = reps_for(len, true);

		if (len > max)
			continue;
		ksft_print_msg("dma-buf %" PRIu64 " MiB\n", dmabuf_sizes[i]);
		ret = by_memfd ? pm_pin_memfd(pm_fd, memfd, len, &h) : pm_pin(pm_fd, map, len, PINMEM_PIN_WRITE, &h);
		if (ret)
			err[E_EXPORT] = -ret;
		if (!by_memfd)
			err[E_PIN_EXPORT] = EOPNOTSUPP;
		for (r = -1; r < nreps; r++) {
			for (k = 0; k < E_NR; k++) {
				int64_t ns;

				if (err[k])
					continue;
				ns = run_e(k, memfd, len, h, pm2);
				if (ns < 0)
					err[k] = (int)-ns;
				else if (r >= 0)
					meas_add(&m[k], (double)ns);
			}
		}
		if (!ret)
			ret = pm_unpin(pm_fd, h);
		if (ret)
			sec_failed(S_DMABUF, "PIN%s or UNPIN of %" PRIu64 " MiB: %s",
				   by_memfd ? "_MEMFD" : "", dmabuf_sizes[i], strerror(-ret));
		for (k = 0; k < E_NR; k++) {
			struct row *row = row_time("dmabuf", ename[k], "4K", len, &m[k]);

			row->cpus = nr_cpus_all;
			/* pinmem's rows; PIN_MEMFD+export is n/a without PIN_MEMFD */
			if (err[k] && k != E_UDMABUF && (by_memfd || k != E_PIN_EXPORT))
				sec_failed(S_DMABUF, "%s %" PRIu64 " MiB: %s", ename[k],
					   dmabuf_sizes[i], strerror(err[k]));
			if (err[k])
				snprintf(row->note, sizeof(row->note), "n/a: %s", strerror(err[k]));
			else if (k == E_EXPORT)
				snprintf(row->note, sizeof(row->note), "pinned before%s", by_memfd ? " by PIN_MEMFD" : " by PIN of the mapping");
		}
		sec[S_DMABUF].measured = true;
	}
out:
	munmap(map, max);
	close(memfd);
	close(pm2);
}

/* ------------------------------------------------------------ output */

/* where it runs; @pfx "# " before the run (TAP diagnostics), "" in the table */
static void print_header(const char *pfx)
{
	struct utsname u;
	struct zone *z;
	char thp[128] = "?", defrag[128] = "?", clk[64] = "?";
	int i;

	uname(&u);
	zones_load();
	read_file("/sys/kernel/mm/transparent_hugepage/enabled", thp, sizeof(thp));
	read_file("/sys/kernel/mm/transparent_hugepage/defrag", defrag, sizeof(defrag));
	read_file("/sys/devices/system/clocksource/clocksource0/current_clocksource", clk, sizeof(clk));
	printf("%sguest: kernel %s %s, %ld CPUs, MemTotal %ld MiB\n", pfx, u.release, u.machine,
	       sysconf(_SC_NPROCESSORS_ONLN), meminfo_kb("MemTotal") / 1024);
	printf("%szones:", pfx);
	for (i = 0; i < nr_zones; i++) {
		z = &zones[i];
		if (z->present)
			printf(" %s %" PRIu64 " MiB (free %" PRIu64 ")", z->name,
			       z->managed * PAGE_SZ / MiB, z->free * PAGE_SZ / MiB);
	}
	printf("\n%sTHP enabled: %s; defrag: %s; clocksource: %s\n", pfx, thp, defrag, clk);
	if (!access("/sys/kernel/debug/kmemleak", F_OK))
		printf("%snote: debug kernel (kmemleak and other debug options): times and memory are not representative\n",
		       pfx);
	printf("%sreps %d, %d for warm and dma-buf sizes <= 32 MiB, %d for warm sizes >= 1 GiB; first pins %d, %d for >= 1 GiB (median [min..max]); times from user space with CLOCK_MONOTONIC, bare = in-kernel pin_ns+unpin_ns\n",
	       pfx, reps, reps_for(2 * MiB, true), reps_for(1024 * MiB, true), reps_for(2 * MiB, false),
	       reps_for(1024 * MiB, false));
	printf("%spm 1cpu: pinmem with the calling thread's affinity set to CPU %d (the single-threaded path); pm Ncpu: to all %d CPUs it started with (%s), over which a large PIN is split; the peers run with all %d\n",
	       pfx, cpu_one, nr_cpus_all, cpus_all_str, nr_cpus_all);
}

/* "1.23x" of a / b, "-" without both */
static const char *fmt_ratio(double a, double b, char *buf)
{
	if (a > 0 && b > 0)
		sprintf(buf, "%.2fx", a / b);
	else
		strcpy(buf, "-");
	return buf;
}

static void print_warm(bool thp)
{
	static const char *const cols[] = { "io_uring", "udmabuf", "mlock" };
	const char *k = kname(thp);
	char a[48], b[48], c[48], d[48], s[16];
	int i, j;

	printf("\n== A. warm PIN+UNPIN, %s pages (buffer faulted in, outside ZONE_MOVABLE); pm 1cpu / pm Ncpu: %d / %d CPUs\n",
	       k, 1, nr_cpus_all);
	printf("%-5s %-27s %-27s %-8s %-8s %-9s %-6s %-27s %-8s %-8s %-6s %-8s %-8s %-8s %-8s %-10s %-19s %-19s %-19s %-27s %-27s %-27s\n",
	       "size", "bare (in kernel)", "pm 1cpu PIN+UNPIN", "pm1/bare", "(mins)", "pm1-bare", "tgt1",
	       "pm Ncpu PIN+UNPIN", "pmN/bare", "(mins)", "tgtN", "pmN/pm1", "GiB/s 1", "GiB/s N", "w/bare_w",
	       "bare wall", "bare pin|unpin", "pm1 PIN|UNPIN", "pmN PIN|UNPIN", cols[0], cols[1], cols[2]);
	for (i = 0; i < nr_sizes; i++) {
		uint64_t len = sizes[i] * MiB;
		struct row *p1 = row_find("warm", "pinmem_1cpu", k, len, -1);
		struct row *pn = row_find("warm", "pinmem_ncpu", k, len, -1);
		struct row *br = row_find("warm", "bare", k, len, -1);
		double x1 = p1 ? p1->med : -1, xn = pn ? pn->med : -1, bb = br ? br->med : -1;
		double pw = row_med("warm", "pinmem_w", k, len), bw = row_med("warm", "bare_w", k, len);
		char r1[16], m1[16] = "-", diff[16] = "-", t1[8] = "-", rn[16], mn[16] = "-", tn[8] = "-";
		char nn[16], g1[16] = "-", gn[16] = "-", rw[16], bwall[24];

		if (!p1 && !br) {
			struct row *sk = row_find("warm", "skipped", k, len, -1);

			if (sk)
				printf("%-5s skipped: %s\n", fmt_size(len, s), sk->note);
			continue;
		}
		fmt_ratio(x1, bb, r1);
		fmt_ratio(xn, bb, rn);
		fmt_ratio(xn, x1, nn);
		fmt_ratio(pw, bw, rw);
		if (x1 > 0 && bb > 0) {
			fmt_ratio(p1->min, br->min, m1);
			sprintf(diff, "%+.0fus", (x1 - bb) / 1e3);
			strcpy(t1, x1 <= 1.10 * bb + 50e3 ? "yes" : "NO");
		}
		if (xn > 0 && bb > 0) {
			fmt_ratio(pn->min, br->min, mn);
			if (!thp && len >= 64 * MiB)
				strcpy(tn, xn <= 0.65 * bb ? "yes" : "NO");
		}
		if (x1 > 0)
			sprintf(g1, "%.2f", len / (x1 / 1e9) / (1024.0 * MiB));
		if (xn > 0)
			sprintf(gn, "%.2f", len / (xn / 1e9) / (1024.0 * MiB));
		printf("%-5s %-27s %-27s %-8s %-8s %-9s %-6s %-27s %-8s %-8s %-6s %-8s %-8s %-8s %-8s %-10s",
		       fmt_size(len, s), fmt_spread(br, a), fmt_spread(p1, b), r1, m1, diff, t1,
		       fmt_spread(pn, d), rn, mn, tn, nn, g1, gn, rw,
		       fmt_ns(row_med("warm", "bare_wall", k, len), bwall));
		{
			char x[24], y[24], xy[48];

			snprintf(xy, sizeof(xy), "%s|%s", fmt_ns(row_med("warm", "bare_pin", k, len), x),
				 fmt_ns(row_med("warm", "bare_unpin", k, len), y));
			printf(" %-19s", xy);
			snprintf(xy, sizeof(xy), "%s|%s", fmt_ns(row_med("warm", "pinmem_pin_1cpu", k, len), x),
				 fmt_ns(row_med("warm", "pinmem_unpin_1cpu", k, len), y));
			printf(" %-19s", xy);
			snprintf(xy, sizeof(xy), "%s|%s", fmt_ns(row_med("warm", "pinmem_pin_ncpu", k, len), x),
				 fmt_ns(row_med("warm", "pinmem_unpin_ncpu", k, len), y));
			printf(" %-19s", xy);
		}
		for (j = 0; j < 3; j++)
			printf(" %-27s", fmt_spread(row_find("warm", cols[j], k, len, -1), c));
		printf("\n");
	}
	for (i = 0; i < nr_rows; i++)
		if (!strcmp(rows[i].section, "warm") && !strcmp(rows[i].kind, k) &&
		    !strncmp(rows[i].note, "n/a", 3)) {
			printf("  %s: %s\n", rows[i].method, rows[i].note);
			break;
		}
}

static void print_mig(bool thp)
{
	const char *k = kname(thp);
	char a[48], b[48], c[48], d[48], e[48], s[16];
	int i;

	printf("\n== B. first long-term pin of a fresh buffer in ZONE_MOVABLE (migration), %s pages; pm 1cpu / pm Ncpu: %d / %d CPUs\n",
	       k, 1, nr_cpus_all);
	printf("%-5s %-27s %-27s %-27s %-27s %-27s %-8s %-8s %-8s %-9s %-8s %-8s %-9s %-9s %s\n", "size",
	       "memcpy", "pm 1cpu PIN+UNPIN", "pm Ncpu PIN+UNPIN", "bare", "io_uring reg+unreg", "pm1/cpy",
	       "pmN/cpy", "bare/cpy", "uring/cpy", "pm1/bare", "pmN/bare", "tgt bare", "tgt cpy",
	       "placement");
	for (i = 0; i < nr_mig_sizes; i++) {
		uint64_t len = mig_sizes[i] * MiB;
		struct row *cp = row_find("first_pin", "memcpy", k, len, -1);
		struct row *p1 = row_find("first_pin", "pinmem_1cpu", k, len, -1);
		struct row *pn = row_find("first_pin", "pinmem_ncpu", k, len, -1);
		struct row *br = row_find("first_pin", "bare", k, len, -1);
		struct row *ur = row_find("first_pin", "io_uring", k, len, -1);
		double c0 = cp ? cp->med : -1, x1 = p1 ? p1->med : -1, xn = pn ? pn->med : -1;
		double bb = br ? br->med : -1, uu = ur ? ur->med : -1;
		char r1[16], r2[16], r3[16], r4[16], r5[16], r6[16];
		char tb[8] = "-", tc[8] = "-";

		if (!cp) {
			struct row *sk = row_find("first_pin", "skipped", k, len, -1);

			if (sk)
				printf("%-5s skipped: %s\n", fmt_size(len, s), sk->note);
			continue;
		}
		if (xn > 0 && bb > 0)
			strcpy(tb, xn <= 0.6 * bb ? "yes" : "NO");
		if (xn > 0 && c0 > 0)
			strcpy(tc, xn <= 1.3 * c0 ? "yes" : "NO");
		printf("%-5s %-27s %-27s %-27s %-27s %-27s %-8s %-8s %-8s %-9s %-8s %-8s %-9s %-9s %s\n",
		       fmt_size(len, s), fmt_spread(cp, a), fmt_spread(p1, b), fmt_spread(pn, e),
		       fmt_spread(br, c), fmt_spread(ur, d), fmt_ratio(x1, c0, r1), fmt_ratio(xn, c0, r2),
		       fmt_ratio(bb, c0, r3), fmt_ratio(uu, c0, r4), fmt_ratio(x1, bb, r5), fmt_ratio(xn, bb, r6), tb, tc,
		       p1 ? p1->note : "");
	}
}

static void print_scale(void)
{
	static const char *const m[] = {
		"pin_per_op", "query_handle_per_op", "query_addr_per_op", "unpin_per_op",
		"debugfs_pins_read", "close",
	};
	static const char *const h[] = {
		"PIN/op", "QUERY handle/op", "QUERY addr/op", "UNPIN/op", "debugfs pins read", "close()",
	};
	uint64_t lo = 0, hi = 0;
	char a[48];
	int i, j;

	printf("\n== C. scale: N one-page pins in one context (4K pages outside ZONE_MOVABLE); targets: kernel memory <= 128 B per pin, QUERY and UNPIN per op at the most pins <= 1.5x of 1000 pins\n");
	printf("%-8s", "pins");
	for (j = 0; j < 6; j++)
		printf(" %-27s", h[j]);
	printf(" %-16s %s\n", "kmem/pin (<=128)", "debugfs/line, close/pin");
	for (i = 0; i < nr_scale; i++) {
		uint64_t n = scale_n[i];
		struct row *mem = row_find("scale", "kmem_per_pin", "4K", n * PAGE_SZ, (long)n);
		double dbg = row_med("scale", "debugfs_pins_read", "4K", n * PAGE_SZ);
		double cl = row_med("scale", "close", "4K", n * PAGE_SZ);
		char b[24], c[24];

		if (!mem)
			continue;
		if (n == 1000)
			lo = n;
		if (n > hi)
			hi = n;
		printf("%-8" PRIu64, n);
		for (j = 0; j < 6; j++)
			printf(" %-27s", fmt_spread(row_find("scale", m[j], "4K", n * PAGE_SZ, (long)n), a));
		if (n >= 1000) {
			char kb[24];

			snprintf(kb, sizeof(kb), "%.0f B %s", mem->value, mem->value <= 128 ? "yes" : "NO");
			printf(" %-16s", kb);
		} else {
			printf(" %-16s", "-");
		}
		printf(" %s, %s\n", fmt_ns(dbg / (n + 1), b), fmt_ns(cl / n, c));
	}
	if (!lo || hi <= lo)
		return;
	printf("per-op ratio %" PRIu64 " / %" PRIu64 " pins (target for QUERY/UNPIN: <= 1.5x):", hi, lo);
	for (j = 0; j < 6; j++) {
		double x = row_med("scale", m[j], "4K", hi * PAGE_SZ), y = row_med("scale", m[j], "4K", lo * PAGE_SZ);

		if (j >= 4) {	/* totals: per pin */
			x /= hi;
			y /= lo;
		}
		if (x > 0 && y > 0)
			printf(" %s %.2fx%s%s", h[j], x / y, j >= 1 && j <= 3 ? (x / y <= 1.5 ? " (yes)" : " (NO)") : "",
			       j < 5 ? ";" : "");
	}
	printf("\n");
}

static void print_mem(void)
{
	char s[16];
	int i;

	printf("\n== D. tracking memory (delta of Slab + VmallocUsed while pinned)\n");
	for (i = 0; i < nr_rows; i++) {
		struct row *r = &rows[i];

		if (!strcmp(r->section, "memory")) {
			const char *tgt = "";

			if (!strncmp(r->method, "track_per_page", 14))
				tgt = !strcmp(r->kind, "THP") ? (r->value <= 0.1 ? "(target <= 0.1: yes)" : "(target <= 0.1: NO)")
							   : (r->value <= 8 ? "(target <= 8: yes)" : "(target <= 8: NO)");
			printf("%-4s one %-5s pin%-11s %8.2f %-7s %-21s %s\n", r->kind, fmt_size(r->size, s),
			       strstr(r->method, "scattered") ? ", scattered:" : ":", r->value, r->unit, tgt, r->note);
		}
	}
	for (i = 0; i < nr_rows; i++) {
		struct row *r = &rows[i];

		if (!strcmp(r->section, "scale") && !strcmp(r->method, "kmem_per_pin") &&
		    r->nr_pins >= 1000)
			printf("4K   %ld one-page pins: %.0f B per pin = per 4 KiB page%s\n", r->nr_pins,
			       r->value, r->value <= 128 ? " (target <= 128 B per one-page pin: yes)" : " (target <= 128 B per one-page pin: NO)");
	}
}

static void print_dmabuf(void)
{
	struct row *na = row_find("dmabuf", "skipped", "4K", 0, -1);
	char a[48], b[48], c[48], s[16], r1[16], r2[16];
	int i, mapped = -1;

	printf("\n== E. dma-buf for a device: pinmem export vs udmabuf, one sealed memfd (4K shmem pages), imported into vgem (DRM PRIME)\n");
	if (na) {
		printf("%s\n", na->note);
		return;
	}
	for (i = 0; i < nr_rows; i++)
		if (!strcmp(rows[i].section, "info") && !strcmp(rows[i].method, "vgem_mapped_at_import"))
			mapped = (int)rows[i].value;
	printf("%-5s %-27s %-27s %-8s %-6s %-27s %-8s %-8s %-8s %s\n", "size", "udmabuf create+map",
	       "pm export+map (pinned)", "pm/udma", "<=1.1", "pm PIN_MEMFD+export+map", "pin/udma", "GiB/s u",
	       "GiB/s pm", "note");
	for (i = 0; i < nr_dmabuf_sizes; i++) {
		uint64_t len = dmabuf_sizes[i] * MiB;
		struct row *u = row_find("dmabuf", "udmabuf", "4K", len, -1);
		struct row *e = row_find("dmabuf", "pinmem_export", "4K", len, -1);
		struct row *p = row_find("dmabuf", "pinmem_pin_memfd_export", "4K", len, -1);
		double uu = u ? u->med : -1, ee = e ? e->med : -1, pp = p ? p->med : -1;
		char t[8] = "-", gu[16] = "-", ge[16] = "-";

		if (!u) {
			struct row *sk = row_find("dmabuf", "skipped", "4K", len, -1);

			if (sk)
				printf("%-5s skipped: %s\n", fmt_size(len, s), sk->note);
			continue;
		}
		if (ee > 0 && uu > 0)
			strcpy(t, ee <= 1.1 * uu ? "yes" : "NO");
		if (uu > 0)
			sprintf(gu, "%.2f", len / (uu / 1e9) / (1024.0 * MiB));
		if (ee > 0)
			sprintf(ge, "%.2f", len / (ee / 1e9) / (1024.0 * MiB));
		printf("%-5s %-27s %-27s %-8s %-6s %-27s %-8s %-8s %-8s %s%s%s%s%s\n", fmt_size(len, s), fmt_spread(u, a),
		       fmt_spread(e, b), fmt_ratio(ee, uu, r1), t, fmt_spread(p, c), fmt_ratio(pp, uu, r2), gu, ge,
		       e ? e->note : "", u->note[0] ? "; udmabuf " : "", u->note, p && p->note[0] ? "; PIN_MEMFD row " : "",
		       p ? p->note : "");
	}
	printf("udmabuf create+map: UDMABUF_CREATE (pins the memfd's pages: memfd_pin_folios) + DRM_IOCTL_PRIME_FD_TO_HANDLE into vgem + GEM close + close (unpins).\n");
	printf("pm export+map: the pages pinned once before, untimed (PINMEM_IOC_PIN_MEMFD, write); timed: PINMEM_IOC_EXPORT + the same import + GEM close + close. Target: <= 1.1 x udmabuf (medians).\n");
	printf("pm PIN_MEMFD+export+map: PIN_MEMFD + EXPORT + import + GEM close + close + UNPIN, in a second context: pins and unpins as udmabuf does.\n");
	printf("vgem %s (debugfs exports of one pinmem import: %d mapped attachment%s).\n",
	       mapped > 0 ? "maps the attachment at import on this kernel: the times include dma_map_sgtable for vgem's device" :
	       mapped == 0 ? "only attaches at import on this kernel (no map): the times are export/create + attach" :
	       "mapping at import unknown", mapped, mapped == 1 ? "" : "s");
}

/* the ratios the tables show, as CSV rows of section "ratio" */
static void add_ratio_rows(void)
{
	static const char *const sm[] = {
		"pin_per_op", "query_handle_per_op", "query_addr_per_op", "unpin_per_op",
		"debugfs_pins_read", "close",
	};
	int i, n = nr_rows, k;
	uint64_t lo = 0, hi = 0;

	for (i = 0; i < n; i++) {
		struct row *r = &rows[i], *x;
		double b;

		if (!strcmp(r->section, "warm") && r->med > 0 &&
		    (!strcmp(r->method, "pinmem_1cpu") || !strcmp(r->method, "pinmem_ncpu") ||
		     !strcmp(r->method, "pinmem_w"))) {
			bool w = !strcmp(r->method, "pinmem_w"), one = r->cpus == 1;
			char name[40];

			b = row_med("warm", w ? "bare_w" : "bare", r->kind, r->size);
			if (b <= 0)
				continue;
			snprintf(name, sizeof(name), "%s/%s", r->method, w ? "bare_w" : "bare");
			x = row_value("ratio", name, r->kind, r->size, r->med / b, "x");
			x->cpus = r->cpus;
			if (one)
				snprintf(x->note, sizeof(x->note), "pinmem-bare %+.0f ns; target <= 1.10x + 50us: %s",
					 r->med - b, r->med <= 1.10 * b + 50e3 ? "yes" : "NO");
			else if (!strcmp(r->kind, "4K") && r->size >= 64 * MiB)
				snprintf(x->note, sizeof(x->note), "pinmem-bare %+.0f ns; target <= 0.65x: %s",
					 r->med - b, r->med <= 0.65 * b ? "yes" : "NO");
			else
				snprintf(x->note, sizeof(x->note), "pinmem-bare %+.0f ns", r->med - b);
		}
		if (!strcmp(r->section, "first_pin") && strcmp(r->method, "memcpy") && r->med > 0) {
			char name[48];

			b = row_med("first_pin", "memcpy", r->kind, r->size);
			snprintf(name, sizeof(name), "%s/memcpy", r->method);
			if (b > 0) {
				x = row_value("ratio", name, r->kind, r->size, r->med / b, "x");
				x->cpus = r->cpus;
				if (!strcmp(r->method, "pinmem_ncpu"))
					snprintf(x->note, sizeof(x->note), "target <= 1.3x: %s",
						 r->med <= 1.3 * b ? "yes" : "NO");
			}
			b = row_med("first_pin", "bare", r->kind, r->size);
			if (b > 0 && !strncmp(r->method, "pinmem_", 7)) {
				snprintf(name, sizeof(name), "first_pin_%s/bare", r->method);
				x = row_value("ratio", name, r->kind, r->size, r->med / b, "x");
				x->cpus = r->cpus;
				if (!strcmp(r->method, "pinmem_ncpu"))
					snprintf(x->note, sizeof(x->note), "target <= 0.6x: %s",
						 r->med <= 0.6 * b ? "yes" : "NO");
			}
		}
		if (!strcmp(r->section, "dmabuf") && strcmp(r->method, "udmabuf") && r->med > 0) {
			char name[48];

			b = row_med("dmabuf", "udmabuf", r->kind, r->size);
			if (b <= 0)
				continue;
			snprintf(name, sizeof(name), "dmabuf_%s/udmabuf", r->method);
			x = row_value("ratio", name, r->kind, r->size, r->med / b, "x");
			x->cpus = r->cpus;
			if (!strcmp(r->method, "pinmem_export"))
				snprintf(x->note, sizeof(x->note), "pinned before; target <= 1.1x: %s",
					 r->med <= 1.1 * b ? "yes" : "NO");
			else
				snprintf(x->note, sizeof(x->note), "pins and unpins as udmabuf does");
		}
	}
	for (i = 0; i < nr_scale; i++) {
		if (scale_n[i] == 1000)
			lo = 1000;
		if (scale_n[i] > hi)
			hi = scale_n[i];
	}
	if (!lo || hi <= lo)
		return;
	for (k = 0; k < 6; k++) {
		double x = row_med("scale", sm[k], "4K", hi * PAGE_SZ), y = row_med("scale", sm[k], "4K", lo * PAGE_SZ);
		char name[40];
		struct row *r;

		if (k >= 4) {
			x /= hi;
			y /= lo;
		}
		if (x <= 0 || y <= 0)
			continue;
		snprintf(name, sizeof(name), "%s_%" PRIu64 "/%" PRIu64, sm[k], hi, lo);
		r = row_value("ratio", name, "4K", hi * PAGE_SZ, x / y, "x");
		r->nr_pins = (long)hi;
		if (k >= 1 && k <= 3)
			snprintf(r->note, sizeof(r->note), "target <= 1.5x: %s", x / y <= 1.5 ? "yes" : "NO");
		else if (k >= 4)
			snprintf(r->note, sizeof(r->note), "per pin");
	}
}

static void print_csv(void)
{
	int i;

	printf("@@PINMEM bench-csv-begin\n");
	printf("method,page_kind,size_bytes,reps,median_ns,min_ns,max_ns,section,nr_pins,value,unit,note,cpus\n");
	for (i = 0; i < nr_rows; i++) {
		struct row *r = &rows[i];
		char *p;

		for (p = r->note; *p; p++)
			if (*p == ',' || *p == '"')
				*p = ';';
		printf("%s,%s,%" PRIu64 ",%d,", r->method, r->kind, r->size, r->reps);
		if (r->med >= 0)
			printf("%.0f,%.0f,%.0f,", r->med, r->min, r->max);
		else
			printf(",,,");
		printf("%s,%ld,", r->section, r->nr_pins);
		if (r->unit[0])
			printf("%.3f,%s,", r->value, r->unit);
		else
			printf(",,");
		printf("%s,", r->note);
		if (r->cpus > 0)
			printf("%d", r->cpus);
		printf("\n");
	}
	printf("@@PINMEM bench-csv-end\n");
}

int main(void)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	struct io_uring_params up;
	uint64_t t_start = now_ns(), ns, t_sec, t_warm = 0, t_mig = 0, t_scale = 0, t_dmabuf = 0;
	char s[16], s2[16];
	int i, plan = 0;

	ksft_print_header();
	reps = (int)env_long("PM_BENCH_REPS", 5);
	if (reps < 1 || reps > MAX_REPS)
		reps = 5;
	small_reps = (int)env_long("PM_BENCH_SMALL_REPS", 15);
	if (small_reps > MAX_REPS)
		small_reps = MAX_REPS;
	big_reps = (int)env_long("PM_BENCH_BIG_REPS", 3);
	if (big_reps < 1 || big_reps > MAX_REPS)
		big_reps = 3;
	mig_reps = (int)env_long("PM_BENCH_MIG_REPS", 3);
	if (mig_reps < 1 || mig_reps > MAX_REPS)
		mig_reps = 3;
	nr_sizes = parse_list("PM_BENCH_SIZES", "2,4,8,16,32,64,128,256,512,1024,2048,4096", sizes, MAX_SIZES);
	nr_mig_sizes = parse_list("PM_BENCH_MIG_SIZES", "2,8,32,128,512,1024", mig_sizes, MAX_SIZES);
	mig_thp_max = (uint64_t)env_long("PM_BENCH_MIG_THP_MAX", 512);
	nr_dmabuf_sizes = parse_list("PM_BENCH_DMABUF_SIZES", "2,32,256", dmabuf_sizes, MAX_SIZES);
	nr_scale = parse_list("PM_BENCH_SCALE", "1,1000,100000", scale_n, MAX_SIZES);
	nr_ops = env_long("PM_BENCH_OPS", 10000);
	if (nr_ops < 1)
		nr_ops = 1;
	if (getenv("PM_BENCH_SECTIONS") && *getenv("PM_BENCH_SECTIONS"))
		sections = getenv("PM_BENCH_SECTIONS");
	sections_parse();

	/* as tests/harness.h's main(): without the module, KSFT_SKIP */
	if (access("/dev/pinmem", F_OK))
		ksft_exit_skip("/dev/pinmem missing: module not loaded\n");
	for (i = 0; i < S_NR; i++)
		plan += sec[i].on;
	ksft_set_plan(plan);
	cpus_init();
	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		ksft_perror("setrlimit(RLIMIT_MEMLOCK)");
	pm_fd = open("/dev/pinmem", O_RDWR | O_CLOEXEC);
	if (pm_fd < 0)
		ksft_exit_fail_perror("open /dev/pinmem");
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	kpf_fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	{
		char *probe = mmap(NULL, PAGE_SZ, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (probe != MAP_FAILED) {
			probe[0] = 1;
			have_bare = !pm_bare(probe, PAGE_SZ, 0, &ns);
			munmap(probe, PAGE_SZ);
		}
	}
	memset(&up, 0, sizeof(up));
	uring_fd = (int)syscall(__NR_io_uring_setup, 4, &up);
	have_uring = uring_fd >= 0;
	if (!have_uring)
		ksft_perror("io_uring_setup");
	udmabuf_fd = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	have_udmabuf = udmabuf_fd >= 0;
	if (!have_udmabuf)
		snprintf(udmabuf_why, sizeof(udmabuf_why), "%s",
			 errno == ENOENT ? "no /dev/udmabuf" : strerror(errno));
	if (!have_bare)
		ksft_print_msg("PINMEM_IOC_BENCH_BARE unavailable (not the test build of the module, PINMEM_TEST=1?)\n");

	{	/* the floor of any ioctl: PINMEM_IOC_VERSION round trip */
		struct meas m = { 0 };
		struct pinmem_version_args v = { .size = sizeof(v) };
		int r, j;

		for (r = 0; r < reps; r++) {
			uint64_t t0 = now_ns();

			for (j = 0; j < 1000; j++)
				ioctl(pm_fd, PINMEM_IOC_VERSION, &v);
			meas_add(&m, (now_ns() - t0) / 1000.0);
		}
		row_time("info", "null_ioctl", "-", 0, &m);
		memset(&m, 0, sizeof(m));
		for (r = 0; r < reps; r++) {
			uint64_t t0 = now_ns();

			for (j = 0; j < 1000; j++)
				now_ns();
			meas_add(&m, (now_ns() - t0) / 1000.0);
		}
		row_time("info", "clock_gettime", "-", 0, &m);
	}
	print_header("# ");
	ksft_print_msg("warm sizes up to %s fit outside ZONE_MOVABLE (%" PRIu64 " MiB free there)\n",
		       fmt_size(warm_max(), s), nonmovable_free_bytes() / MiB);
	if (sec[S_WARM].on) {
		t_sec = now_ns();
		section_warm(false);
		section_warm(true);
		t_warm = now_ns() - t_sec;
		sec_report(S_WARM);
	}
	if (sec[S_MEM].on) {
		mem_scattered();
		sec_report(S_MEM);
	}
	if (sec[S_MIG].on) {
		t_sec = now_ns();
		section_mig(false);
		section_mig(true);
		t_mig = now_ns() - t_sec;
		sec_report(S_MIG);
	}
	if (sec[S_SCALE].on) {
		t_sec = now_ns();
		section_scale();
		t_scale = now_ns() - t_sec;
		sec_report(S_SCALE);
	}
	if (sec[S_DMABUF].on) {
		t_sec = now_ns();
		section_dmabuf();
		t_dmabuf = now_ns() - t_sec;
		sec_report(S_DMABUF);
	}

	printf("@@PINMEM bench-table-begin\n");
	print_header("");
	if (sec[S_WARM].on) {
		print_warm(false);
		print_warm(true);
		printf("targets (medians): tgt1: pm 1cpu PIN+UNPIN <= 1.10 x bare + 50 us at every size (no cliffs); tgtN: pm Ncpu <= 0.65 x bare, 4K sizes >= 64 MiB.\n");
		printf("pm1/bare, pmN/bare and w/bare_w (pinmem_w: one CPU): read and write (PINMEM_PIN_WRITE / FOLL_WRITE) pins; (mins): ratio of the fastest repetitions, less sensitive to a busy host; GiB/s 1|N: pm 1cpu|Ncpu.\n");
		printf("bare wall: the BENCH_BARE ioctl timed from user space (one syscall, its page array); one PINMEM_IOC_VERSION round trip: %s; one clock_gettime: %s.\n",
		       fmt_ns(row_med("info", "null_ioctl", "-", 0), s), fmt_ns(row_med("info", "clock_gettime", "-", 0), s2));
		printf("bare pin|unpin: in-kernel medians of the two halves; pm1|pmN PIN|UNPIN: the two ioctls, timed from user space in a separate run.\n");
		printf("io_uring: IORING_REGISTER_BUFFERS+UNREGISTER, one iovec; udmabuf: UDMABUF_CREATE+close on a sealed memfd; mlock: mlock+munlock.\n");
	}
	if (sec[S_MIG].on) {
		print_mig(false);
		print_mig(true);
		printf("target (medians): pm Ncpu <= 0.6 x bare (tgt bare) and <= 1.3 x memcpy (tgt cpy); memcpy: one thread.\n");
	}
	if (sec[S_SCALE].on)
		print_scale();
	if (sec[S_MEM].on || sec[S_SCALE].on)
		print_mem();
	if (sec[S_DMABUF].on)
		print_dmabuf();
	printf("bench run time in guest: %.0f s", (now_ns() - t_start) / 1e9);
	if (t_warm)
		printf("; A (with udmabuf, D of one pin) %.0f s", t_warm / 1e9);
	if (t_mig)
		printf("; B %.0f s", t_mig / 1e9);
	if (t_scale)
		printf("; C %.0f s", t_scale / 1e9);
	if (t_dmabuf)
		printf("; E %.0f s", t_dmabuf / 1e9);
	printf("\n");
	printf("@@PINMEM bench-table-end\n");
	add_ratio_rows();
	print_csv();
	ksft_finished();
}
