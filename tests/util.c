// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

size_t pm_page_size, pm_pmd_size;

/* Before main(), so PAGE and PMD_BYTES are set wherever they are used. */
__attribute__((constructor)) static void page_sizes_init(void)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "re");
	unsigned long v = 0;

	pm_page_size = (size_t)sysconf(_SC_PAGESIZE);
	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	/* without THP: a PMD maps as many pages as a page holds entries */
	pm_pmd_size = v ? v : pm_page_size / sizeof(uint64_t) * pm_page_size;
}

int pm_open(void)
{
	return open("/dev/pinmem", O_RDWR | O_CLOEXEC);
}

static int pm_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

int pm_pin(int fd, void *addr, size_t len, unsigned int flags,
	   uint64_t *handle, uint64_t *nr_pages)
{
	struct pinmem_pin_args a = {
		.size = sizeof(a), .flags = flags,
		.addr = (uintptr_t)addr, .length = len,
	};
	int ret = pm_ioctl(fd, PINMEM_IOC_PIN, &a);

	if (!ret && handle)
		*handle = a.handle;
	if (!ret && nr_pages)
		*nr_pages = a.nr_pages;
	return ret;
}

int pm_unpin(int fd, uint64_t handle)
{
	struct pinmem_unpin_args a = { .size = sizeof(a), .handle = handle };

	return pm_ioctl(fd, PINMEM_IOC_UNPIN, &a);
}

int pm_query(int fd, struct pinmem_query_args *q)
{
	q->size = sizeof(*q);
	return pm_ioctl(fd, PINMEM_IOC_QUERY, q);
}

int pm_access(int fd, uint64_t handle, uint64_t off, uint64_t len,
	      void *buf, unsigned int flags)
{
	struct pinmem_access_args a = {
		.size = sizeof(a), .flags = flags, .handle = handle,
		.offset = off, .length = len, .buf = (uintptr_t)buf,
	};

	return pm_ioctl(fd, PINMEM_IOC_ACCESS, &a);
}

int pm_pin_memfd(int fd, int mfd, uint64_t off, uint64_t len,
		 unsigned int flags, uint64_t *handle)
{
	struct pinmem_pin_memfd_args a = {
		.size = sizeof(a), .flags = flags, .memfd = mfd,
		.offset = off, .length = len,
	};
	int r = pm_ioctl(fd, PINMEM_IOC_PIN_MEMFD, &a);

	if (r)
		return r;
	*handle = a.handle;
	return a.nr_pages == len / getpagesize() ? 0 : -EPROTO;
}

int pm_contig_alloc(int fd, struct pinmem_contig_alloc_args *a)
{
	a->size = sizeof(*a);
	return pm_ioctl(fd, PINMEM_IOC_CONTIG_ALLOC, a);
}

int pm_contig_free(int fd, uint64_t handle)
{
	struct pinmem_contig_free_args a = { .size = sizeof(a), .handle = handle };

	return pm_ioctl(fd, PINMEM_IOC_CONTIG_FREE, &a);
}

int pm_export(int fd, uint64_t handle, unsigned int flags, int *dfd)
{
	struct pinmem_export_args a = {
		.size = sizeof(a), .flags = flags, .handle = handle,
	};
	int r = pm_ioctl(fd, PINMEM_IOC_EXPORT, &a);

	if (!r)
		*dfd = a.fd;
	return r;
}

/* the kernel log (malloc'ed), or NULL */
static char *klog_read(void)
{
	int len = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *log;

	if (len <= 0)
		return NULL;
	log = calloc(1, len + 1);
	if (log && klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, len) < 0) {
		free(log);
		log = NULL;
	}
	return log;
}

long klog_count(const char *needle)
{
	char *log = klog_read(), *p;
	long n = 0;

	if (!log)
		return -1;
	for (p = log; (p = strstr(p, needle)); p++)
		n++;
	free(log);
	return n;
}

bool cma_range(uint64_t *start, uint64_t *end)
{
	char *log = klog_read(), *line;
	bool found = false;

	if (!log)
		return false;
	for (line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
		char *p = strstr(line, "cma: Reserved ");
		unsigned long mib, base;

		if (p && sscanf(p, "cma: Reserved %lu MiB at %lx", &mib, &base) == 2) {
			*start = base;
			*end = base + (mib << 20);
			found = true;
		}
	}
	free(log);
	return found;
}

size_t pages_in_phys_range(const void *addr, size_t len, uint64_t start,
			   uint64_t end)
{
	size_t off, in = 0;

	for (off = 0; off < len; off += PAGE) {
		uint64_t pa = pfn_of((const char *)addr + off) * PAGE;

		in += pa && pa >= start && pa < end;
	}
	return in;
}

long meminfo_kb(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	size_t kl = strlen(key);
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

size_t hugetlb_size(void)
{
	long kb = meminfo_kb("Hugepagesize");

	return kb > 0 ? (size_t)kb * 1024 : 0;
}

/* A zone a long-term pin can keep pages in: not Movable, not HighMem (GFP_USER cannot use them). */
static bool pinnable_zone(const char *name)
{
	return strcmp(name, "Movable") && strcmp(name, "HighMem");
}

/*
 * Of the zones a long-term pin can keep pages in (pinnable_zone()), from
 * /proc/zoneinfo, in kB: the free pages
 * outside CMA, and the file LRU pages that must lie outside CMA (those
 * that cannot all fit in the CMA pages in use: a lower bound).
 */
void pinnable_zone_kb(long *free_kb, long *file_kb)
{
	FILE *f = fopen("/proc/zoneinfo", "re");
	char line[256], zone[32] = "";
	long v, file = 0, cma = 0, cma_free = 0;
	bool take = false;

	*free_kb = *file_kb = 0;
	for (;;) {
		bool eof = !f || !fgets(line, sizeof(line), f);

		if (eof || sscanf(line, "Node %*d, zone %31s", zone) == 1) {
			if (take) {	/* the zone before */
				cma -= cma_free;
				*file_kb += file > cma ? (file - cma) * PAGE_KB : 0;
			}
			if (eof)
				break;
			take = pinnable_zone(zone);
			file = cma = cma_free = 0;
			continue;
		}
		if (!take)
			continue;
		if (sscanf(line, " nr_free_pages %ld", &v) == 1) {
			*free_kb += v * PAGE_KB;
		} else if (sscanf(line, " nr_free_cma %ld", &v) == 1) {
			*free_kb -= v * PAGE_KB;
			cma_free = v;
		} else if (sscanf(line, " cma %ld", &v) == 1) {
			cma = v;
		} else if (sscanf(line, " nr_zone_inactive_file %ld", &v) == 1 ||
			   sscanf(line, " nr_zone_active_file %ld", &v) == 1) {
			file += v;
		}
	}
	if (f)
		fclose(f);
}

/*
 * What the module keeps back of the zones a pin can use (fit.c's
 * pinmem_pinnable_available_pages()): their high watermark, the lowmem
 * reserve against ZONE_NORMAL allocations and a refill of each CPU's free
 * list (32 batches: Debian's CONFIG_PCP_BATCH_SCALE_MAX is 5), in kB.
 */
long pinnable_reserve_kb(void)
{
	FILE *f = fopen("/proc/zoneinfo", "re");
	char line[512], zone[32] = "", *p;
	int idx = -1, normal = -1;
	long sum = 0, v;
	bool take = false;

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Node %*d, zone %31s", zone) == 1) {
			idx++;
			if (!strcmp(zone, "Normal"))
				normal = idx;
			take = pinnable_zone(zone);
		} else if (take && sscanf(line, " high %ld", &v) == 1) {
			sum += v;
		} else if (take && sscanf(line, " batch: %ld", &v) == 1) {
			sum += v << 5;
		} else if (take && (p = strstr(line, "protection: (")) && normal >= 0) {
			int i;

			p += strlen("protection: (");
			for (i = 0; i < normal && p; i++) {
				p = strchr(p, ',');
				if (p)
					p++;
			}
			if (p)
				sum += strtol(p, NULL, 10);
		}
	}
	if (f)
		fclose(f);
	return sum * PAGE_KB;
}

/*
 * Movable allocations take pages from a zone's CMA area only once its free
 * part is over half of the zone's free memory (the page allocator's
 * balancing in __rmqueue()), or once the rest of the zone, and every zone
 * tried before it, is used up. So how much of a fresh buffer lands in CMA
 * is otherwise luck: none of it on the debug kernels, whose ZONE_MOVABLE
 * dwarfs their CMA area; most of it on arm64 with cma=512M of 1 GiB.
 *
 * cma_ballast() maps and touches enough anonymous memory (movable, never
 * pinned) to bring the zones tried before the CMA area's (the higher ones,
 * listed after it in /proc/zoneinfo) down to their low watermark, where the
 * allocator leaves them for the next zone (what it would take from them
 * anyway), and the CMA area's zone down to just under twice the CMA area's
 * free part: what is allocated next comes about half from CMA. munmap() it (*len
 * bytes) once the buffer is filled. NULL with *len 0 if none is needed (or
 * there is no CMA area).
 */
void *cma_ballast(size_t *len)
{
	FILE *f = fopen("/proc/zoneinfo", "re");
	long free_p = 0, low = 0, cma_free = 0, before = 0, in_zone = 0, v;
	bool seen_cma = false;
	char line[256];
	void *b;

	*len = 0;
	if (!f)
		return NULL;
	for (;;) {
		bool eof = !fgets(line, sizeof(line), f);

		if (eof || !strncmp(line, "Node ", 5)) {
			/* the zone just read */
			if (cma_free > 0) {
				/* only the zones after it are tried before it */
				seen_cma = true;
				before = 0;
				in_zone = free_p - 2 * cma_free + 256;
			} else if (seen_cma && free_p > low) {
				before += free_p - low;
			}
			if (eof)
				break;
			free_p = low = cma_free = 0;
			continue;
		}
		if (sscanf(line, " pages free %ld", &v) == 1)
			free_p = v;
		else if (sscanf(line, " low %ld", &v) == 1)
			low = v;
		else if (sscanf(line, " nr_free_cma %ld", &v) == 1)
			cma_free = v;
	}
	fclose(f);
	if (!seen_cma)
		return NULL;
	v = before + (in_zone > 0 ? in_zone : 0);
	if (v <= 0)
		return NULL;
	b = map_anon((size_t)v * PAGE, PROT_READ | PROT_WRITE);
	if (!b)
		return NULL;
	memset(b, 0x5a, (size_t)v * PAGE);
	*len = (size_t)v * PAGE;
	return b;
}

int zones_load(struct zone_range *z, int max)
{
	FILE *f = fopen("/proc/zoneinfo", "r");
	char line[512], name[16] = "";
	uint64_t spanned = 0, v;
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = line;

		while (*p == ' ')
			p++;
		if (sscanf(line, "Node %*d, zone %15s", name) == 1) {
			spanned = 0;
		} else if (sscanf(p, "spanned %" SCNu64, &v) == 1) {
			spanned = v;
		} else if (sscanf(p, "start_pfn: %" SCNu64, &v) == 1 && n < max &&
			   spanned) {
			snprintf(z[n].name, sizeof(z[n].name), "%s", name);
			z[n].start = v;
			z[n].end = v + spanned;
			n++;
		}
	}
	fclose(f);
	return n;
}

const char *zone_of_pfn(const struct zone_range *z, int n, uint64_t pfn)
{
	int i;

	for (i = 0; i < n; i++)
		if (pfn >= z[i].start && pfn < z[i].end)
			return z[i].name;
	return "?";
}

bool have_zone(const struct zone_range *z, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(z[i].name, name))
			return true;
	return false;
}

static int pagemap_fd = -1;

uint64_t pfn_of(const void *addr)
{
	uint64_t e;

	if (pagemap_fd < 0)
		pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pread(pagemap_fd, &e, sizeof(e),
		  ((uintptr_t)addr / PAGE) * sizeof(e)) != sizeof(e))
		return 0;
	if (!(e & (1ULL << 63)))
		return 0;
	return e & ((1ULL << 55) - 1);
}

long pfns_mismatched(int fd, uint64_t h, const void *buf, size_t n,
		     struct pinmem_query_args *q)
{
	uint64_t *pfns = calloc(n, sizeof(*pfns));
	long bad = 0;
	size_t i;

	if (!pfns)
		return -1;
	memset(q, 0, sizeof(*q));
	q->handle = h;
	q->flags = PINMEM_QUERY_PFNS;
	q->pfns = (uintptr_t)pfns;
	q->nr_pfns = n;
	if (pm_query(fd, q) || q->nr_pfns != n) {
		free(pfns);
		return -1;
	}
	for (i = 0; i < n; i++)
		bad += pfns[i] != pfn_of((const char *)buf + i * PAGE);
	free(pfns);
	return bad;
}

size_t pages_in_zone(const void *addr, size_t len, const char *name,
		     size_t *present)
{
	struct zone_range z[MAX_ZONE_RANGES];
	int nz = zones_load(z, MAX_ZONE_RANGES);
	size_t off, in = 0, pres = 0;

	for (off = 0; off < len; off += PAGE) {
		uint64_t pfn = pfn_of((const char *)addr + off);

		if (!pfn)
			continue;
		pres++;
		if (!strcmp(zone_of_pfn(z, nz, pfn), name))
			in++;
	}
	if (present)
		*present = pres;
	return in;
}

void print_placement(const char *label, const void *addr, size_t len)
{
	struct zone_range z[MAX_ZONE_RANGES];
	int nz = zones_load(z, MAX_ZONE_RANGES), i;
	size_t count[MAX_ZONE_RANGES + 1] = { 0 }, off;

	for (off = 0; off < len; off += PAGE) {
		uint64_t pfn = pfn_of((const char *)addr + off);

		for (i = 0; i < nz; i++)
			if (pfn && pfn >= z[i].start && pfn < z[i].end)
				break;
		count[pfn ? i : nz]++;
	}
	printf("# %s:", label);
	for (i = 0; i < nz; i++)
		if (count[i])
			printf(" %s=%zu", z[i].name, count[i]);
	if (count[nz])
		printf(" not-present=%zu", count[nz]);
	printf(" (of %zu pages)\n", len / PAGE);
}

uint64_t kpageflags(uint64_t pfn)
{
	static int fd = -1;
	uint64_t v = 0;

	if (fd < 0)
		fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (pread(fd, &v, sizeof(v), pfn * sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

long vmstat(const char *name)
{
	FILE *f = fopen("/proc/vmstat", "r");
	char key[64];
	long v, ret = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &v) == 2)
		if (!strcmp(key, name)) {
			ret = v;
			break;
		}
	fclose(f);
	return ret;
}

/* vmstat counters are per-cpu and folded lazily: fold them first. */
static long pins_raw(void)
{
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			perror("stat_refresh");
		close(fd);
	}
	return vmstat("nr_foll_pin_acquired") - vmstat("nr_foll_pin_released");
}

static long pins_base;

long vmpin_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

long pins_set_baseline(void)
{
	pins_base = pins_raw();
	return pins_base;
}

long pins_outstanding(void)
{
	return pins_raw() - pins_base;
}

int debugfs_pins(int pid, struct dbg_pin *out, int max)
{
	FILE *f = fopen("/sys/kernel/debug/pinmem/pins", "r");
	char line[1024];
	int n = 0;

	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f)) {	/* header */
		fclose(f);
		return -EIO;
	}
	while (fgets(line, sizeof(line), f)) {
		struct dbg_pin p;

		if (sscanf(line, "%u %d %31s %" SCNu64 " %" SCNx64 " %" SCNx64 " %" SCNu64 " %3s", &p.ctx,
			   &p.pid, p.comm, &p.handle, &p.start, &p.end,
			   &p.pages, p.flags) != 8)
			continue;
		if (p.pid != pid)
			continue;
		if (n < max)
			out[n] = p;
		n++;
	}
	fclose(f);
	return n;
}

long debugfs_stat(const char *key)
{
	return debugfs_value("stats", key);
}

/* The number after "@key@sep" on a line of @path, or -1. */
static long key_value(const char *path, const char *key, char sep)
{
	size_t kl = strlen(key);
	char line[512];
	long ret = -1;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == sep) {
			ret = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return ret;
}

long debugfs_value(const char *file, const char *key)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/kernel/debug/pinmem/%s", file);
	return key_value(path, key, ' ');
}

void cat_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];

	if (!f) {
		printf("# (cannot open %s: %s)\n", path, strerror(errno));
		return;
	}
	printf("# --- %s\n", path);
	while (fgets(line, sizeof(line), f))
		printf("#   %s", line);
	fclose(f);
}

/* --------------------------------------------------------------- tracefs */
#define TRACE_INST "/sys/kernel/tracing/instances/pinmem-test"

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int trace_start(void)
{
	if (access("/sys/kernel/tracing/events", F_OK))
		return -ENOENT;	/* no tracing in this kernel */
	if (access("/sys/kernel/tracing/events/pinmem", F_OK))
		return -ENODEV;	/* but pinmem has no events */
	rmdir(TRACE_INST);
	if (mkdir(TRACE_INST, 0700))
		return -errno;
	return write_str(TRACE_INST "/events/pinmem/enable", "1");
}

char *trace_stop(void)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	ssize_t n;
	int fd;

	write_str(TRACE_INST "/events/pinmem/enable", "0");
	fd = open(TRACE_INST "/trace", O_RDONLY);
	if (buf && fd >= 0) {
		while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
			len += n;
			/* grow once half full: reads never get small */
			if (len > cap / 2) {
				char *b = realloc(buf, cap * 2);

				if (!b)
					break;
				buf = b;
				cap *= 2;
			}
		}
		buf[len] = 0;
	}
	if (fd >= 0)
		close(fd);
	rmdir(TRACE_INST);
	return buf;
}

const char *trace_find(const char *trace, const char *event, const char *has)
{
	char needle[64], line[512];
	const char *p = trace;

	/* "  comm-pid [cpu] flags timestamp: pin: ctx=..." */
	snprintf(needle, sizeof(needle), " %s: ", event);
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t n;

		if (!eol)
			eol = p + strlen(p);
		n = (size_t)(eol - p) < sizeof(line) ? (size_t)(eol - p) : sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = 0;
		if (strstr(line, needle) && (!has || strstr(line, has)))
			return p;
		p = *eol ? eol + 1 : eol;
	}
	return NULL;
}

/* ---------------------------------------------------------------- fdinfo */
long fdinfo_value(int fd, const char *key)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	return key_value(path, key, ':');
}

/* Every 8 bytes a distinct value derived from seed and position. */
static uint64_t pattern_at(uint32_t seed, size_t i)
{
	uint64_t x = ((uint64_t)seed << 32) ^ (i * 0x9E3779B97F4A7C15ULL);

	return x ^ (x >> 29);
}

void fill_pattern(void *buf, size_t len, uint32_t seed)
{
	uint64_t *p = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		p[i] = pattern_at(seed, i);
}

/* Number of 8-byte words that differ from the pattern. */
size_t check_pattern(const void *buf, size_t len, uint32_t seed)
{
	const uint64_t *p = buf;
	size_t i, bad = 0;

	for (i = 0; i < len / 8; i++)
		bad += p[i] != pattern_at(seed, i);
	return bad;
}

void *map_anon(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void *map_aligned(size_t len, size_t align)
{
	char *p = map_anon(len + align, PROT_READ | PROT_WRITE);
	uintptr_t a;

	if (!p)
		return NULL;
	a = ((uintptr_t)p + align - 1) & ~(align - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	munmap((char *)a + len, (uintptr_t)p + align - a);
	return (void *)a;
}

/* Most of it in ZONE_MOVABLE: new anonymous pages come from the highest zone first. */
char *movable_buffer(size_t len, uint32_t seed, size_t *in_movable)
{
	char *buf = map_anon(len, PROT_READ | PROT_WRITE);

	if (!buf)
		return NULL;
	fill_pattern(buf, len, seed);
	*in_movable = pages_in_zone(buf, len, "Movable", NULL);
	return buf;
}

void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

int nothing_left(void)
{
	struct dbg_pin p[1];
	long out = pins_outstanding();
	int n = debugfs_pins(getpid(), p, 1);

	if (out != 0) {
		diag("leak: nr_foll_pin_acquired - released = %ld", out);
		return T_FAIL;
	}
	if (n != 0) {
		diag("leak: debugfs lists %d pins of pid %d", n, getpid());
		return T_FAIL;
	}
	if (debugfs_value("cma", "bytes_in_use") > 0) {
		diag("leak: contiguous buffers still in use");
		return T_FAIL;
	}
	if (debugfs_stat("exports") > 0) {
		diag("leak: %ld dma-bufs of pinmem still alive", debugfs_stat("exports"));
		return T_FAIL;
	}
	return T_PASS;
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *ko_path(void)
{
	const char *p = getenv("PINMEM_KO");

	return p ? p : "/lib/modules/pinmem.ko";
}

/* Let thread @tid (0: the caller) run on CPU @cpu only. */
int run_on_cpu(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set);
}
