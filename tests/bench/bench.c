// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem benchmark, run inside a test VM by `scripts/vm-run TARGET --bench`.
 *
 * It reports times and ratios taken in one run, never pass/fail on time:
 *
 *   A. warm PIN+UNPIN of buffers already faulted in and already outside
 *      ZONE_MOVABLE, 4 KiB pages and THPs, sizes 2 MiB up: pinmem against the
 *      bare kernel cost (PINMEM_IOC_BENCH_BARE: pin_user_pages_fast with
 *      FOLL_LONGTERM in 512-page batches + unpin_user_pages, timed in the
 *      kernel), io_uring buffer registration, udmabuf and mlock;
 *   B. the first long-term pin of a buffer lying in ZONE_MOVABLE (migration):
 *      pinmem, bare, io_uring, against memcpy of the same bytes;
 *   C. scale: 1, 1,000 and 100,000 one-page pins: pin, QUERY, UNPIN, debugfs,
 *      close(), and the kernel memory they take;
 *   D. tracking memory per pinned base page and per THP.
 *
 * A human table goes to stdout between "@@PINMEM bench-table-begin/end", then
 * CSV between "@@PINMEM bench-csv-begin/end" (scripts/vm-run extracts both).
 * Progress lines start with "# ".
 *
 * Environment (scripts/vm-run passes PM_BENCH_* host variables on the kernel
 * command line, which hands them to init and so to us):
 *   PM_BENCH_REPS=5               repetitions (median, min, max)
 *   PM_BENCH_SMALL_REPS=15        repetitions of warm sizes <= 32 MiB
 *   PM_BENCH_SIZES=2,4,...,1024   warm sizes in MiB (those that fit run)
 *   PM_BENCH_MIG_SIZES=2,8,32,128,256,512  first-pin (migration) sizes, MiB
 *   PM_BENCH_SCALE=1,1000,100000  numbers of one-page pins
 *   PM_BENCH_OPS=10000            QUERY calls per measurement
 *   PM_BENCH_SECTIONS=warm,mig,scale,mem   which parts to run
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/io_uring.h>
#include <linux/pinmem.h>

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

#define PAGE_SZ 4096UL
#define MiB (1024UL * 1024UL)
#define THP_SZ (2 * MiB)
#define MAX_REPS 64
#define MAX_SIZES 32
#define MAX_ROWS 1024

#define KPF_COMPOUND_HEAD 15
#define KPF_THP 22

static int reps = 5, small_reps = 15;
static uint64_t sizes[MAX_SIZES], mig_sizes[MAX_SIZES], scale_n[MAX_SIZES];
static int nr_sizes, nr_mig_sizes, nr_scale;
static long nr_ops = 10000;
static const char *sections = "warm,mig,scale,mem";
static int pm_fd = -1;
static bool have_bare, have_udmabuf, have_uring;
static char udmabuf_why[96];

/* ------------------------------------------------------------ helpers */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static bool section_on(const char *name)
{
	const char *p = sections;
	size_t n = strlen(name);

	while ((p = strstr(p, name))) {
		if ((p == sections || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
		p += n;
	}
	return false;
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
	static uint64_t ent[4096];
	struct zone *mv = zone_named("Movable");
	uint64_t first = (uintptr_t)addr / PAGE_SZ, n = len / PAGE_SZ, i = 0, in = 0, seen = 0;

	if (!mv || pagemap_fd < 0)
		return -1;
	while (i < n) {
		size_t k = n - i < 4096 ? n - i : 4096, j;
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
	static uint64_t ent[4096];
	uint64_t first = (uintptr_t)addr / PAGE_SZ, n = len / PAGE_SZ, i = 0, prev = 0;
	long runs = 0;

	if (pagemap_fd < 0)
		return -1;
	while (i < n) {
		size_t k = n - i < 4096 ? n - i : 4096, j;

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
	M_PINMEM, M_BARE, M_PINMEM_W, M_BARE_W, M_URING, M_MLOCK, M_UDMABUF,
	M_MEMCPY, M_BARE_WALL, M_BARE_PIN, M_BARE_UNPIN, M_PM_PIN, M_PM_UNPIN,
	M_PM_SPLIT, M_NR
};
static const char *const mname[M_NR] = {
	"pinmem", "bare", "pinmem_w", "bare_w", "io_uring", "mlock", "udmabuf",
	"memcpy", "bare_wall", "bare_pin", "bare_unpin", "pinmem_pin",
	"pinmem_unpin", "pinmem_split",
};

static int64_t run_method(enum method m, char *addr, size_t len, int memfd,
			  char *dst)
{
	uint64_t t0, h = 0, ns;
	int ret = 0, fd;

	t0 = now_ns();
	switch (m) {
	case M_PINMEM:
	case M_PINMEM_W:
		ret = pm_pin(pm_fd, addr, len, m == M_PINMEM_W ? PINMEM_PIN_WRITE : 0, &h);
		if (!ret)
			ret = pm_unpin(pm_fd, h);
		break;
	case M_PM_SPLIT:	/* the same, with a clock read in between */
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
	int r, i, nreps = len <= 32 * MiB && small_reps > reps ? small_reps : reps;

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
			if (ns >= 0 && r >= 0 && ms[i] == M_PM_SPLIT) {
				meas_add(&m[M_PM_PIN], (double)pm_pin_ns);
				meas_add(&m[M_PM_UNPIN], (double)pm_unpin_ns);
			}
		}
	}
	for (i = 0; i < nm; i++) {
		struct row *row;

		if (ms[i] == M_PM_SPLIT) {
			row_time(section, "pinmem_pin", kname(thp), len, &m[M_PM_PIN]);
			row_time(section, "pinmem_unpin", kname(thp), len, &m[M_PM_UNPIN]);
			continue;
		}
		row = row_time(section, mname[ms[i]], kname(thp), len, &m[ms[i]]);

		if (err[ms[i]])
			snprintf(row->note, sizeof(row->note), "n/a: %s", strerror(err[ms[i]]));
		if (ms[i] == M_BARE && m[M_BARE_WALL].n) {
			row = row_time(section, "bare_wall", kname(thp), len, &m[M_BARE_WALL]);
			snprintf(row->note, sizeof(row->note), "BENCH_BARE timed from user space");
			row_time(section, "bare_pin", kname(thp), len, &m[M_BARE_PIN]);
			row_time(section, "bare_unpin", kname(thp), len, &m[M_BARE_UNPIN]);
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
		progress("udmabuf: memfd setup failed: %s", strerror(errno));
		return;
	}
	map = mmap(NULL, max, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (map == MAP_FAILED) {
		progress("udmabuf: mmap failed: %s", strerror(errno));
		close(memfd);
		return;
	}
	madvise(map, max, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	memset(map, 0x5a, max);
	progress("udmabuf %s: memfd of %" PRIu64 " MiB, %.1f%% in Movable, %ld THPs",
		 kname(thp), max / MiB, 100 * movable_fraction(map, max), thp_count(map, max));
	t0 = now_ns();
	ret = run_method(M_UDMABUF, map, max, memfd, NULL);
	progress("udmabuf %s: first UDMABUF_CREATE of %" PRIu64 " MiB (migrates): %.1f ms (%s); after: %.1f%% in Movable, %ld THPs",
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
	int i;

	for (i = 0; i < 3; i++) {
		kmem_bytes(&s0, &v0);
		if (pm_pin(pm_fd, buf, len, 0, &h))
			return;
		kmem_bytes(&s1, &v1);
		pm_unpin(pm_fd, h);
		meas_add(&d, (double)(s1 - s0 + v1 - v0));
	}
	med = meas_med(&d, &mn, &mx);
	r = row_value("memory", label, kname(thp), len, med / (len / PAGE_SZ), "B/page");
	snprintf(r->note, sizeof(r->note), "delta %.0f B [%.0f..%.0f] for %zu base pages in %ld physical runs (%.1f B/run)",
		 med, mn, mx, len / PAGE_SZ, runs, runs > 0 ? med / runs : -1.0);
	if (thp) {
		r = row_value("memory", "track_per_thp", kname(thp), len,
			      thps > 0 ? med / thps : -1, "B/THP");
		snprintf(r->note, sizeof(r->note), "%ld THPs", thps);
	}
}

static void section_warm(bool thp)
{
	static const enum method ms[] = {
		M_PINMEM, M_BARE, M_PM_SPLIT, M_PINMEM_W, M_BARE_W,
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
	int i, ret;

	for (i = 0; i < nr_sizes; i++) {
		if (sizes[i] * MiB > max) {
			struct row *r = row_new("warm", "skipped", kname(thp), sizes[i] * MiB);

			snprintf(r->note, sizeof(r->note), "needs %" PRIu64 " MiB + 160 MiB free outside ZONE_MOVABLE, %" PRIu64 " MiB free",
				 sizes[i], nonmovable_free_bytes() / MiB);
		}
	}
	if (!max) {
		progress("warm %s: no size fits outside ZONE_MOVABLE", kname(thp));
		return;
	}
	buf = map_buf(max, thp);
	if (!buf) {
		progress("warm %s: mmap %" PRIu64 " MiB failed", kname(thp), max / MiB);
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
		ioctl(pm_fd, PINMEM_IOC_QUERY, &q);
		pm_unpin(pm_fd, h);
	}
	progress("warm %s: %" PRIu64 " MiB buffer, %.1f%% in Movable, %ld THPs; first PIN (migration) %.1f ms (%s); after: %" PRIu64 " pages in Movable, %ld THPs",
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
		progress("warm %s %" PRIu64 " MiB", kname(thp), sizes[i]);
		time_methods("warm", ms, sizeof(ms) / sizeof(ms[0]), buf, len, thp, -1, NULL, true);
		time_methods("warm", ur, 1, buf, len, thp, -1, NULL, true);
		settle(buf, len);
		time_methods("warm", ml, 1, buf, len, thp, -1, NULL, true);
		settle(buf, len);
	}
	if (section_on("mem"))
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

	while (len >= 8 * MiB && 3 * len + 160 * MiB > nonmovable_free_bytes())
		len /= 2;
	if (len < 8 * MiB)
		return;
	hole = map_buf(2 * len, false);
	buf = hole ? map_buf(len, false) : NULL;
	if (!buf)
		return;
	if (!pm_pin(pm_fd, hole, 2 * len, 0, &h))
		pm_unpin(pm_fd, h);
	for (i = PAGE_SZ; i < 2 * len; i += 2 * PAGE_SZ)
		madvise(hole + i, PAGE_SZ, MADV_DONTNEED);
	if (!pm_pin(pm_fd, buf, len, 0, &h))
		pm_unpin(pm_fd, h);
	progress("memory: scattered 4K buffer of %" PRIu64 " MiB: %ld physical runs, %.1f%% in Movable",
		 len / MiB, phys_runs(buf, len), 100 * movable_fraction(buf, len));
	mem_large_pin(buf, len, false, "track_per_page_scattered");
	munmap(buf, len);
	munmap(hole, 2 * len);
}

/* ------------------------------------------------------------ B. first pin */

static void section_mig(bool thp)
{
	static const enum method ms[] = { M_PINMEM, M_BARE, M_URING };
	int i, r, k;

	for (i = 0; i < nr_mig_sizes; i++) {
		uint64_t len = mig_sizes[i] * MiB;
		struct meas m[M_NR] = { 0 }, frac = { 0 }, thps = { 0 };
		int err[M_NR] = { 0 };
		char *src, *dst;

		if (len + 160 * MiB > nonmovable_free_bytes()) {
			struct row *row = row_new("first_pin", "skipped", kname(thp), len);

			snprintf(row->note, sizeof(row->note), "does not fit outside ZONE_MOVABLE");
			continue;
		}
		progress("first pin %s %" PRIu64 " MiB", kname(thp), mig_sizes[i]);
		for (r = 0; r < reps; r++) {
			for (k = 0; k < 3; k++) {
				char *buf = map_buf(len, thp);
				int64_t ns;

				if (!buf)
					continue;
				meas_add(&frac, movable_fraction(buf, len));
				meas_add(&thps, (double)thp_count(buf, len));
				ns = err[ms[k]] ? 0 : run_method(ms[k], buf, len, -1, NULL);
				if (ns < 0)
					err[ms[k]] = (int)-ns;
				else if (!err[ms[k]])
					meas_add(&m[ms[k]], (double)ns);
				munmap(buf, len);
			}
		}
		/* memcpy: the physical floor of moving those bytes */
		src = map_buf(len, thp);
		dst = map_buf(len, thp);
		if (src && dst) {
			run_method(M_MEMCPY, src, len, -1, dst);
			for (r = 0; r < reps; r++)
				meas_add(&m[M_MEMCPY], (double)run_method(M_MEMCPY, src, len, -1, dst));
		}
		if (src)
			munmap(src, len);
		if (dst)
			munmap(dst, len);
		for (k = 0; k < 3; k++) {
			double mn, mx, med = meas_med(&frac, &mn, &mx);
			struct row *row = row_time("first_pin", mname[ms[k]], kname(thp), len, &m[ms[k]]);

			if (err[ms[k]])
				snprintf(row->note, sizeof(row->note), "n/a: %s", strerror(err[ms[k]]));
			else
				snprintf(row->note, sizeof(row->note), "in Movable before: median %.1f%% min %.1f%%%s; THPs %.0f",
					 100 * med, 100 * mn, mn < 0.9 ? " (<90%!)" : "",
					 meas_med(&thps, NULL, NULL));
		}
		row_time("first_pin", "memcpy", kname(thp), len, &m[M_MEMCPY]);
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
	uint64_t maxn = 0, *h, len;
	uint32_t *idx;
	char *buf;
	int i, r;

	for (i = 0; i < nr_scale; i++)
		if (scale_n[i] > maxn)
			maxn = scale_n[i];
	len = maxn * PAGE_SZ;
	if (len + 160 * MiB > nonmovable_free_bytes()) {
		progress("scale: %" PRIu64 " pages do not fit outside ZONE_MOVABLE (%" PRIu64 " MiB free)",
			 maxn, nonmovable_free_bytes() / MiB);
		row_new("scale", "skipped", "4K", len);
		return;
	}
	buf = map_buf(len, false);
	h = calloc(maxn, sizeof(*h));
	idx = calloc(maxn, sizeof(*idx));
	if (!buf || !h || !idx)
		return;
	{	/* out of ZONE_MOVABLE first */
		uint64_t hh;

		if (!pm_pin(pm_fd, buf, len, 0, &hh))
			pm_unpin(pm_fd, hh);
	}
	for (i = 0; i < nr_scale; i++) {
		uint64_t n = scale_n[i], nun = n / 10 ? (n / 10 < 1000 ? n / 10 : 1000) : 1;
		struct meas pin = { 0 }, qh = { 0 }, qa = { 0 }, un = { 0 }, dbg = { 0 },
			    cl = { 0 }, mem = { 0 }, dbgl = { 0 };
		int fail = 0;
		struct row *row;

		progress("scale: %" PRIu64 " one-page pins", n);
		for (r = 0; r < reps && !fail; r++) {
			struct pinmem_query_args q;
			uint64_t t0, j, ns;
			long k0, k1, lines;
			int fd = open("/dev/pinmem", O_RDWR | O_CLOEXEC);

			if (fd < 0)
				return;
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
			progress("scale: %" PRIu64 " pins: an ioctl failed (step %d)", n, fail);
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
	}
	munmap(buf, len);
	free(h);
	free(idx);
}

/* ------------------------------------------------------------ output */

static void print_header(void)
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
	printf("guest: kernel %s %s, %ld CPUs, MemTotal %ld MiB\n", u.release, u.machine,
	       sysconf(_SC_NPROCESSORS_ONLN), meminfo_kb("MemTotal") / 1024);
	printf("zones:");
	for (i = 0; i < nr_zones; i++) {
		z = &zones[i];
		if (z->present)
			printf(" %s %" PRIu64 " MiB (free %" PRIu64 ")", z->name,
			       z->managed * PAGE_SZ / MiB, z->free * PAGE_SZ / MiB);
	}
	printf("\nTHP enabled: %s; defrag: %s; clocksource: %s\n", thp, defrag, clk);
	if (!access("/sys/kernel/debug/kmemleak", F_OK))
		printf("note: debug kernel (kmemleak and other debug options): times and memory are not representative\n");
	printf("reps %d, %d for warm sizes <= 32 MiB (median [min..max]); times from user space with CLOCK_MONOTONIC, bare = in-kernel pin_ns+unpin_ns\n",
	       reps, small_reps > reps ? small_reps : reps);
}

static void print_warm(bool thp)
{
	static const char *const cols[] = { "io_uring", "udmabuf", "mlock" };
	const char *k = kname(thp);
	char a[48], b[48], c[48], s[16];
	int i, j;

	printf("\n== A. warm PIN+UNPIN, %s pages (buffer faulted in, outside ZONE_MOVABLE)\n", k);
	printf("%-5s %-27s %-27s %-8s %-8s %-9s %-6s %-8s %-8s %-10s %-19s %-19s %-27s %-27s %-27s\n",
	       "size", "bare (in kernel)", "pinmem PIN+UNPIN", "pm/bare", "(mins)", "pm-bare", "target",
	       "GiB/s pm", "w/bare_w", "bare wall", "bare pin|unpin", "pm PIN|UNPIN",
	       cols[0], cols[1], cols[2]);
	for (i = 0; i < nr_sizes; i++) {
		uint64_t len = sizes[i] * MiB;
		struct row *pm = row_find("warm", "pinmem", k, len, -1);
		struct row *br = row_find("warm", "bare", k, len, -1);
		double p = pm ? pm->med : -1, bb = br ? br->med : -1;
		double pw = row_med("warm", "pinmem_w", k, len), bw = row_med("warm", "bare_w", k, len);
		char ratio[16] = "-", mratio[16] = "-", diff[16] = "-", tgt[8] = "-", gib[16] = "-", rw[16] = "-", bwall[24];

		if (!pm && !br) {
			struct row *sk = row_find("warm", "skipped", k, len, -1);

			if (sk)
				printf("%-5s skipped: %s\n", fmt_size(len, s), sk->note);
			continue;
		}
		if (p > 0 && bb > 0) {
			sprintf(ratio, "%.2fx", p / bb);
			if (pm->min > 0 && br->min > 0)
				sprintf(mratio, "%.2fx", pm->min / br->min);
			sprintf(diff, "%+.0fus", (p - bb) / 1e3);
			strcpy(tgt, p <= 1.10 * bb + 50e3 ? "yes" : "NO");
		}
		if (p > 0)
			sprintf(gib, "%.2f", len / (p / 1e9) / (1024.0 * MiB));
		if (pw > 0 && bw > 0)
			sprintf(rw, "%.2fx", pw / bw);
		printf("%-5s %-27s %-27s %-8s %-8s %-9s %-6s %-8s %-8s %-10s", fmt_size(len, s),
		       fmt_spread(br, a), fmt_spread(pm, b), ratio, mratio, diff, tgt, gib, rw,
		       fmt_ns(row_med("warm", "bare_wall", k, len), bwall));
		{
			char x[24], y[24], xy[48];

			snprintf(xy, sizeof(xy), "%s|%s", fmt_ns(row_med("warm", "bare_pin", k, len), x),
				 fmt_ns(row_med("warm", "bare_unpin", k, len), y));
			printf(" %-19s", xy);
			snprintf(xy, sizeof(xy), "%s|%s", fmt_ns(row_med("warm", "pinmem_pin", k, len), x),
				 fmt_ns(row_med("warm", "pinmem_unpin", k, len), y));
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
	char a[48], b[48], c[48], d[48], s[16];
	int i;

	printf("\n== B. first long-term pin of a fresh buffer in ZONE_MOVABLE (migration), %s pages\n", k);
	printf("%-5s %-27s %-27s %-27s %-27s %-8s %-8s %-9s %-8s %s\n", "size", "memcpy", "pinmem PIN+UNPIN",
	       "bare", "io_uring reg+unreg", "pm/cpy", "bare/cpy", "uring/cpy", "pm/bare", "placement");
	for (i = 0; i < nr_mig_sizes; i++) {
		uint64_t len = mig_sizes[i] * MiB;
		struct row *cp = row_find("first_pin", "memcpy", k, len, -1);
		struct row *pm = row_find("first_pin", "pinmem", k, len, -1);
		struct row *br = row_find("first_pin", "bare", k, len, -1);
		struct row *ur = row_find("first_pin", "io_uring", k, len, -1);
		char r1[16] = "-", r2[16] = "-", r3[16] = "-", r4[16] = "-";

		if (!cp) {
			struct row *sk = row_find("first_pin", "skipped", k, len, -1);

			if (sk)
				printf("%-5s skipped: %s\n", fmt_size(len, s), sk->note);
			continue;
		}
		if (cp->med > 0) {
			if (pm && pm->med > 0)
				sprintf(r1, "%.1fx", pm->med / cp->med);
			if (br && br->med > 0)
				sprintf(r2, "%.1fx", br->med / cp->med);
			if (ur && ur->med > 0)
				sprintf(r3, "%.1fx", ur->med / cp->med);
		}
		if (pm && br && pm->med > 0 && br->med > 0)
			sprintf(r4, "%.2fx", pm->med / br->med);
		printf("%-5s %-27s %-27s %-27s %-27s %-8s %-8s %-9s %-8s %s\n", fmt_size(len, s),
		       fmt_spread(cp, a), fmt_spread(pm, b), fmt_spread(br, c), fmt_spread(ur, d),
		       r1, r2, r3, r4, pm ? pm->note : "");
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

	printf("\n== C. scale: N one-page pins in one context (4K pages outside ZONE_MOVABLE)\n");
	printf("%-8s", "pins");
	for (j = 0; j < 6; j++)
		printf(" %-27s", h[j]);
	printf(" %-10s %s\n", "kmem/pin", "debugfs/line, close/pin");
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
		if (n >= 1000)
			printf(" %-10.0f", mem->value);
		else
			printf(" %-10s", "-");
		printf(" %s, %s\n", fmt_ns(dbg / (n + 1), b), fmt_ns(cl / n, c));
	}
	if (!lo || hi <= lo)
		return;
	printf("per-op ratio %" PRIu64 " / %" PRIu64 " pins (target for QUERY/UNPIN: <= 2x):", hi, lo);
	for (j = 0; j < 6; j++) {
		double x = row_med("scale", m[j], "4K", hi * PAGE_SZ), y = row_med("scale", m[j], "4K", lo * PAGE_SZ);

		if (j >= 4) {	/* totals: per pin */
			x /= hi;
			y /= lo;
		}
		if (x > 0 && y > 0)
			printf(" %s %.2fx%s%s", h[j], x / y, j >= 1 && j <= 3 ? (x / y <= 2 ? " (yes)" : " (NO)") : "",
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
			       r->value, r->value <= 8 ? " (target <= 8: yes)" : " (target <= 8: NO)");
	}
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

		if (!strcmp(r->section, "warm") && (!strcmp(r->method, "pinmem") || !strcmp(r->method, "pinmem_w")) &&
		    r->med > 0) {
			b = row_med("warm", r->method[6] ? "bare_w" : "bare", r->kind, r->size);
			if (b > 0) {
				x = row_value("ratio", r->method[6] ? "pinmem_w/bare_w" : "pinmem/bare", r->kind, r->size,
					      r->med / b, "x");
				snprintf(x->note, sizeof(x->note), "pinmem-bare %+.0f ns; target <= 1.10x + 50us: %s",
					 r->med - b, r->med <= 1.10 * b + 50e3 ? "yes" : "NO");
			}
		}
		if (!strcmp(r->section, "first_pin") && strcmp(r->method, "memcpy") && r->med > 0) {
			char name[32];

			b = row_med("first_pin", "memcpy", r->kind, r->size);
			snprintf(name, sizeof(name), "%s/memcpy", r->method);
			if (b > 0)
				row_value("ratio", name, r->kind, r->size, r->med / b, "x");
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
			snprintf(r->note, sizeof(r->note), "target <= 2x: %s", x / y <= 2 ? "yes" : "NO");
		else if (k >= 4)
			snprintf(r->note, sizeof(r->note), "per pin");
	}
}

static void print_csv(void)
{
	int i;

	printf("@@PINMEM bench-csv-begin\n");
	printf("method,page_kind,size_bytes,reps,median_ns,min_ns,max_ns,section,nr_pins,value,unit,note\n");
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
		printf("%s\n", r->note);
	}
	printf("@@PINMEM bench-csv-end\n");
}

int main(void)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	struct io_uring_params up;
	uint64_t t_start = now_ns(), ns;
	char s[16], s2[16];

	setvbuf(stdout, NULL, _IOLBF, 0);
	reps = (int)env_long("PM_BENCH_REPS", 5);
	if (reps < 1 || reps > MAX_REPS)
		reps = 5;
	small_reps = (int)env_long("PM_BENCH_SMALL_REPS", 15);
	if (small_reps > MAX_REPS)
		small_reps = MAX_REPS;
	nr_sizes = parse_list("PM_BENCH_SIZES", "2,4,8,16,32,64,128,256,512,1024", sizes, MAX_SIZES);
	nr_mig_sizes = parse_list("PM_BENCH_MIG_SIZES", "2,8,32,128,256,512", mig_sizes, MAX_SIZES);
	nr_scale = parse_list("PM_BENCH_SCALE", "1,1000,100000", scale_n, MAX_SIZES);
	nr_ops = env_long("PM_BENCH_OPS", 10000);
	if (nr_ops < 1)
		nr_ops = 1;
	if (getenv("PM_BENCH_SECTIONS") && *getenv("PM_BENCH_SECTIONS"))
		sections = getenv("PM_BENCH_SECTIONS");

	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		progress("setrlimit(RLIMIT_MEMLOCK): %s", strerror(errno));
	pm_fd = open("/dev/pinmem", O_RDWR | O_CLOEXEC);
	if (pm_fd < 0) {
		printf("Bail out! open /dev/pinmem: %s\n", strerror(errno));
		return 1;
	}
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	kpf_fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	{
		static char probe[PAGE_SZ] __attribute__((aligned(PAGE_SZ)));

		probe[0] = 1;
		have_bare = !pm_bare(probe, PAGE_SZ, 0, &ns);
	}
	memset(&up, 0, sizeof(up));
	uring_fd = (int)syscall(__NR_io_uring_setup, 4, &up);
	have_uring = uring_fd >= 0;
	if (!have_uring)
		progress("io_uring_setup: %s", strerror(errno));
	udmabuf_fd = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	have_udmabuf = udmabuf_fd >= 0;
	if (!have_udmabuf)
		snprintf(udmabuf_why, sizeof(udmabuf_why), "%s",
			 errno == ENOENT ? "no /dev/udmabuf" : strerror(errno));
	if (!have_bare)
		progress("PINMEM_IOC_BENCH_BARE unavailable (module not built with PINMEM_BENCH=y?)");

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
	print_header();
	progress("warm sizes up to %s fit outside ZONE_MOVABLE (%" PRIu64 " MiB free there)",
		 fmt_size(warm_max(), s), nonmovable_free_bytes() / MiB);
	if (section_on("warm")) {
		section_warm(false);
		section_warm(true);
	}
	if (section_on("mem"))
		mem_scattered();
	if (section_on("mig")) {
		section_mig(false);
		section_mig(true);
	}
	if (section_on("scale"))
		section_scale();

	printf("@@PINMEM bench-table-begin\n");
	print_header();
	if (section_on("warm")) {
		print_warm(false);
		print_warm(true);
		printf("target: pinmem PIN+UNPIN <= 1.10 x bare + 50 us (medians). pm/bare and w/bare_w: read and write (PINMEM_PIN_WRITE / FOLL_WRITE) pins; (mins): ratio of the fastest repetitions, less sensitive to a busy host.\n");
		printf("bare wall: the BENCH_BARE ioctl timed from user space (one syscall, its page array); one PINMEM_IOC_VERSION round trip: %s; one clock_gettime: %s.\n",
		       fmt_ns(row_med("info", "null_ioctl", "-", 0), s), fmt_ns(row_med("info", "clock_gettime", "-", 0), s2));
		printf("bare pin|unpin: in-kernel medians of the two halves; pm PIN|UNPIN: the two ioctls, timed from user space in a separate run.\n");
		printf("io_uring: IORING_REGISTER_BUFFERS+UNREGISTER, one iovec; udmabuf: UDMABUF_CREATE+close on a sealed memfd; mlock: mlock+munlock.\n");
	}
	if (section_on("mig")) {
		print_mig(false);
		print_mig(true);
	}
	if (section_on("scale"))
		print_scale();
	if (section_on("mem") || section_on("scale"))
		print_mem();
	printf("bench run time in guest: %.0f s\n", (now_ns() - t_start) / 1e9);
	printf("@@PINMEM bench-table-end\n");
	add_ratio_rows();
	print_csv();
	return 0;
}
