// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libpinmem: wrappers around the /dev/pinmem ioctls. See <pinmem.h>.
 *
 * Built with -fvisibility=hidden: only PINMEM_API functions are exported,
 * and libpinmem.map gives them the symbol version PINMEM_1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <linux/capability.h>

#include "pinmem.h"

#define PINMEM_API __attribute__((visibility("default")))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define RAISE_MEMLOCK "raise the limit (ulimit -l, 'memlock' in /etc/security/limits.conf, LimitMEMLOCK= for a systemd service) or give the program CAP_IPC_LOCK"

struct pinmem {
	int fd;
	uint32_t abi;
};

/* Return -@err with errno set to @err. */
static int fail(int err)
{
	errno = err;
	return -err;
}

static int pm_ioctl(struct pinmem *pm, unsigned long cmd, void *arg)
{
	if (!pm)
		return fail(EBADF);
	if (ioctl(pm->fd, cmd, arg))
		return fail(errno);
	return 0;
}

static int version_ioctl(int fd, uint32_t *abi)
{
	struct pinmem_version_args v = { .size = sizeof(v) };

	if (ioctl(fd, PINMEM_IOC_VERSION, &v))
		return -errno;
	*abi = v.abi_version;
	return 0;
}

PINMEM_API int pinmem_open_path(const char *path, struct pinmem **pmp)
{
	struct pinmem *pm;
	int ret;

	if (!pmp)
		return fail(EINVAL);
	*pmp = NULL;
	if (!path)
		path = PINMEM_DEVICE_PATH;
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return fail(ENOMEM);
	pm->fd = open(path, O_RDWR | O_CLOEXEC);
	if (pm->fd < 0) {
		ret = -errno;
		free(pm);
		return fail(-ret);
	}
	ret = version_ioctl(pm->fd, &pm->abi);
	/* Other drivers answer an unknown ioctl with ENOTTY or EINVAL. */
	if (ret == -EINVAL || ret == -ENOTTY)
		ret = -ENOTTY;
	else if (!ret && pm->abi < PINMEM_LIB_MIN_ABI)
		ret = -EPROTO;
	if (ret) {
		close(pm->fd);
		free(pm);
		return fail(-ret);
	}
	*pmp = pm;
	return 0;
}

PINMEM_API int pinmem_open(struct pinmem **pmp)
{
	return pinmem_open_path(PINMEM_DEVICE_PATH, pmp);
}

PINMEM_API void pinmem_close(struct pinmem *pm)
{
	int saved = errno;

	if (!pm)
		return;
	close(pm->fd);
	free(pm);
	errno = saved;
}

PINMEM_API int pinmem_fd(const struct pinmem *pm)
{
	return pm ? pm->fd : -1;
}

PINMEM_API uint32_t pinmem_abi_version(const struct pinmem *pm)
{
	return pm ? pm->abi : 0;
}

PINMEM_API int pinmem_get_abi_version(struct pinmem *pm, uint32_t *abi)
{
	struct pinmem_version_args v = { .size = sizeof(v) };
	int ret = pm_ioctl(pm, PINMEM_IOC_VERSION, &v);

	if (!ret && abi)
		*abi = v.abi_version;
	return ret;
}

PINMEM_API const char *pinmem_lib_version(void)
{
	return PINMEM_LIB_VERSION;
}

/*
 * Why the last PIN or PIN_MEMFD of this thread failed with ENOMEM, when the
 * library could tell (explain_enomem()); pinmem_strerror() returns it.
 */
static __thread struct {
	enum pinmem_call call;	/* PINMEM_CALL_ANY: nothing recorded */
	char msg[640];
} last_enomem;

/* What /proc/self/fdinfo/<fd> of a pinmem fd says (newer modules). */
struct fdinfo_counts {
	bool ok;			/* it has the pinmem- lines */
	uint64_t pins, pinned_pages, user_locked_pages;
};

static void read_fdinfo(int fd, struct fdinfo_counts *c)
{
	char path[64], line[256];
	unsigned int seen = 0;
	FILE *f;

	memset(c, 0, sizeof(*c));
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return;
	/* the pin: lines come last; stop at the first */
	while (fgets(line, sizeof(line), f) && strncmp(line, "pin:", 4)) {
		uint64_t v;

		if (sscanf(line, "pinmem-pins: %" SCNu64, &v) == 1) {
			c->pins = v;
			seen |= 1;
		} else if (sscanf(line, "pinmem-pinned-pages: %" SCNu64, &v) == 1) {
			c->pinned_pages = v;
			seen |= 2;
		} else if (sscanf(line, "pinmem-user-locked-pages: %" SCNu64, &v) == 1) {
			c->user_locked_pages = v;
			seen |= 4;
		}
	}
	fclose(f);
	c->ok = seen == 7;
}

/* A module parameter from sysfs; false if unreadable. */
static bool read_param(const char *name, uint64_t *v)
{
	char path[96];
	bool ok;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/pinmem/parameters/%s", name);
	f = fopen(path, "re");
	if (!f)
		return false;
	ok = fscanf(f, "%" SCNu64, v) == 1;
	fclose(f);
	return ok;
}

/* Does this thread have CAP_IPC_LOCK (which lifts RLIMIT_MEMLOCK)? */
static bool have_ipc_lock(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d))
		return false;
	return d[CAP_TO_INDEX(CAP_IPC_LOCK)].effective & CAP_TO_MASK(CAP_IPC_LOCK);
}

/*
 * A pin of @bytes failed with ENOMEM: find out which limit refused it, the
 * way the module decides (pin.c, account.c: more pages than the machine
 * has, then the context's max_pins and max_pages, then the charged user's
 * locked_vm against the caller's RLIMIT_MEMLOCK unless it has CAP_IPC_LOCK;
 * past both, the fit check or the allocator), and keep the explanation for
 * pinmem_strerror(). The module undid its charge before failing, so fdinfo
 * shows what was locked before this pin. Without fdinfo's counts (a module
 * before fdinfo) only a pin larger than the limit by itself is certain to
 * be the limit's.
 */
static void explain_enomem(struct pinmem *pm, uint64_t bytes,
			   enum pinmem_call call)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), pages, kib;
	uint64_t max_pins = 0, max_pages = 0, limit_pages, locked_kib;
	char *m = last_enomem.msg, lim[48];
	size_t len = sizeof(last_enomem.msg);
	struct fdinfo_counts fi;
	bool unlimited, cap;
	struct sysinfo si;
	struct rlimit rl;
	int saved = errno;

	last_enomem.call = PINMEM_CALL_ANY;
	pages = (bytes + page - 1) / page;
	kib = pages * (page / 1024);
	read_fdinfo(pm->fd, &fi);
	read_param("max_pins", &max_pins);
	read_param("max_pages", &max_pages);
	cap = have_ipc_lock();
	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		goto out;
	unlimited = rl.rlim_cur == RLIM_INFINITY;
	limit_pages = unlimited ? UINT64_MAX : rl.rlim_cur / page;
	if (unlimited)
		snprintf(lim, sizeof(lim), "unlimited");
	else
		snprintf(lim, sizeof(lim), "%" PRIu64 " KiB",
			 (uint64_t)rl.rlim_cur / 1024);
	locked_kib = fi.user_locked_pages * (page / 1024);

	if (!sysinfo(&si) && si.mem_unit &&
	    pages > (uint64_t)si.totalram * si.mem_unit / page) {
		snprintf(m, len, "cannot pin %" PRIu64 " KiB: more than the machine's memory (%" PRIu64 " KiB)",
			 kib, (uint64_t)si.totalram * si.mem_unit / 1024);
	} else if (fi.ok && max_pins && fi.pins >= max_pins) {
		snprintf(m, len, "cannot pin: this context already holds %" PRIu64
			 " pins, the module's max_pins limit (%" PRIu64 "); unpin some, pin fewer and larger ranges, or raise max_pins (/sys/module/pinmem/parameters/max_pins, or load the module with max_pins=)",
			 fi.pins, max_pins);
	} else if (max_pages && (fi.ok ? fi.pinned_pages + pages > max_pages :
				 pages > max_pages)) {
		snprintf(m, len, "cannot pin %" PRIu64 " KiB: this context has %" PRIu64
			 " KiB pinned and the module's max_pages limit is %" PRIu64 " pages (%" PRIu64 " KiB); unpin some, or raise max_pages (/sys/module/pinmem/parameters/max_pages, or load the module with max_pages=)",
			 kib, fi.pinned_pages * (page / 1024), max_pages,
			 max_pages * (page / 1024));
	} else if (!cap && !unlimited && fi.ok &&
		   pages + fi.user_locked_pages > limit_pages) {
		snprintf(m, len, "cannot pin %" PRIu64 " KiB: RLIMIT_MEMLOCK is %s and this user already has %" PRIu64
			 " KiB locked (the pins of all its processes count together: pinmem, io_uring, AF_XDP); " RAISE_MEMLOCK,
			 kib, lim, locked_kib);
	} else if (!cap && !unlimited && !fi.ok && pages > limit_pages) {
		snprintf(m, len, "cannot pin %" PRIu64 " KiB: RLIMIT_MEMLOCK is %s, less than this pin alone; " RAISE_MEMLOCK,
			 kib, lim);
	} else if (fi.ok) {
		char rlim[96], mp[48];

		if (cap)
			snprintf(rlim, sizeof(rlim), "RLIMIT_MEMLOCK does not apply (CAP_IPC_LOCK)");
		else
			snprintf(rlim, sizeof(rlim), "RLIMIT_MEMLOCK %s with %" PRIu64 " KiB locked",
				 lim, locked_kib);
		if (max_pages)
			snprintf(mp, sizeof(mp), "max_pages %" PRIu64 " with %" PRIu64,
				 max_pages, fi.pinned_pages);
		else
			snprintf(mp, sizeof(mp), "no max_pages");
		snprintf(m, len, "cannot pin %" PRIu64 " KiB, and no limit refused it (%s; max_pins %" PRIu64
			 " with %" PRIu64 " pins; %s): %s",
			 kib, rlim, max_pins, fi.pins, mp,
			 call == PINMEM_CALL_PIN_MEMFD ?
			 "the kernel ran out of memory for it" :
			 "the pages to migrate out of ZONE_MOVABLE/CMA or to fault in do not fit in the memory outside them, or the kernel ran out of memory for it");
	} else {
		goto out;	/* cannot tell: pinmem_strerror()'s table */
	}
	last_enomem.call = call;
out:
	errno = saved;
}

PINMEM_API int pinmem_pin(struct pinmem *pm, void *addr, size_t length,
			  unsigned int flags, uint64_t *handle,
			  uint64_t *nr_pages)
{
	struct pinmem_pin_args a = {
		.size = sizeof(a), .flags = flags,
		.addr = (uintptr_t)addr, .length = length,
	};
	int ret;

	last_enomem.call = PINMEM_CALL_ANY;
	ret = pm_ioctl(pm, PINMEM_IOC_PIN, &a);
	if (ret == -ENOMEM)
		explain_enomem(pm, length, PINMEM_CALL_PIN);
	if (ret)
		return ret;
	if (handle)
		*handle = a.handle;
	if (nr_pages)
		*nr_pages = a.nr_pages;
	return 0;
}

PINMEM_API int pinmem_unpin(struct pinmem *pm, uint64_t handle)
{
	struct pinmem_unpin_args a = { .size = sizeof(a), .handle = handle };

	return pm_ioctl(pm, PINMEM_IOC_UNPIN, &a);
}

static void query_to_info(const struct pinmem_query_args *q,
			  struct pinmem_pin_info *info)
{
	int i;

	memset(info, 0, sizeof(*info));
	info->handle = q->handle;
	info->addr = q->addr;
	info->length = q->length;
	info->nr_pages = q->nr_pages;
	info->pin_flags = q->pin_flags;
	for (i = 0; i < PINMEM_ZONE_SLOTS; i++)
		info->zone_pages[i] = q->zone_pages[i];
	info->nr_compound = q->nr_compound;
	info->nr_huge = q->nr_huge;
}

static int do_query(struct pinmem *pm, struct pinmem_query_args *q,
		    struct pinmem_pin_info *info)
{
	int ret = pm_ioctl(pm, PINMEM_IOC_QUERY, q);

	if (!ret && info)
		query_to_info(q, info);
	return ret;
}

PINMEM_API int pinmem_query(struct pinmem *pm, uint64_t handle,
			    struct pinmem_pin_info *info)
{
	struct pinmem_query_args q = { .size = sizeof(q), .handle = handle };

	return do_query(pm, &q, info);
}

PINMEM_API int pinmem_query_addr(struct pinmem *pm, const void *addr,
				 struct pinmem_pin_info *info)
{
	struct pinmem_query_args q = {
		.size = sizeof(q), .flags = PINMEM_QUERY_BY_ADDR,
		.addr = (uintptr_t)addr,
	};

	return do_query(pm, &q, info);
}

PINMEM_API int pinmem_query_pfns(struct pinmem *pm, uint64_t handle,
				 uint64_t first, uint64_t *pfns,
				 size_t *nr_pfns)
{
	struct pinmem_query_args q = {
		.size = sizeof(q), .flags = PINMEM_QUERY_PFNS,
		.handle = handle, .pfn_first = first,
	};
	int ret;

	if (!nr_pfns || (!pfns && *nr_pfns))
		return fail(EINVAL);
	q.pfns = (uintptr_t)pfns;
	q.nr_pfns = *nr_pfns;
	ret = pm_ioctl(pm, PINMEM_IOC_QUERY, &q);
	if (!ret)
		*nr_pfns = q.nr_pfns;
	return ret;
}

static int do_access(struct pinmem *pm, uint64_t handle, uint64_t offset,
		     const void *buf, size_t length, unsigned int flags)
{
	struct pinmem_access_args a = {
		.size = sizeof(a), .flags = flags, .handle = handle,
		.offset = offset, .length = length, .buf = (uintptr_t)buf,
	};

	return pm_ioctl(pm, PINMEM_IOC_ACCESS, &a);
}

PINMEM_API int pinmem_read(struct pinmem *pm, uint64_t handle,
			   uint64_t offset, void *buf, size_t length)
{
	return do_access(pm, handle, offset, buf, length, 0);
}

PINMEM_API int pinmem_write(struct pinmem *pm, uint64_t handle,
			    uint64_t offset, const void *buf, size_t length)
{
	return do_access(pm, handle, offset, buf, length, PINMEM_ACCESS_WRITE);
}

PINMEM_API int pinmem_contig_alloc(struct pinmem *pm, size_t length,
				   size_t align, unsigned int flags,
				   struct pinmem_contig_info *info)
{
	struct pinmem_contig_alloc_args a = {
		.size = sizeof(a), .flags = flags,
		.length = length, .align = align,
	};
	int ret;

	if (!info)
		return fail(EINVAL);
	ret = pm_ioctl(pm, PINMEM_IOC_CONTIG_ALLOC, &a);
	if (ret)
		return ret;
	memset(info, 0, sizeof(*info));
	info->handle = a.handle;
	info->length = a.length;
	info->mmap_offset = a.mmap_offset;
	info->phys_addr = a.phys_addr;
	info->placement = a.placement;
	return 0;
}

PINMEM_API int pinmem_contig_free(struct pinmem *pm, uint64_t handle)
{
	struct pinmem_contig_free_args a = { .size = sizeof(a), .handle = handle };

	return pm_ioctl(pm, PINMEM_IOC_CONTIG_FREE, &a);
}

PINMEM_API int pinmem_export(struct pinmem *pm, uint64_t handle,
			     unsigned int flags, int *fdp)
{
	struct pinmem_export_args a = {
		.size = sizeof(a), .flags = flags, .handle = handle,
	};
	int ret;

	if (!fdp)
		return fail(EINVAL);
	ret = pm_ioctl(pm, PINMEM_IOC_EXPORT, &a);
	if (!ret)
		*fdp = a.fd;
	return ret;
}

PINMEM_API int pinmem_pin_memfd(struct pinmem *pm, int memfd, uint64_t offset,
				size_t length, unsigned int flags,
				uint64_t *handle, uint64_t *nr_pages)
{
	struct pinmem_pin_memfd_args a = {
		.size = sizeof(a), .flags = flags, .memfd = memfd,
		.offset = offset, .length = length,
	};
	int ret;

	last_enomem.call = PINMEM_CALL_ANY;
	ret = pm_ioctl(pm, PINMEM_IOC_PIN_MEMFD, &a);
	if (ret == -ENOMEM)
		explain_enomem(pm, length, PINMEM_CALL_PIN_MEMFD);
	if (!ret && handle)
		*handle = a.handle;
	if (!ret && nr_pages)
		*nr_pages = a.nr_pages;
	return ret;
}

PINMEM_API int pinmem_contig_mmap(struct pinmem *pm,
				  const struct pinmem_contig_info *info,
				  int prot, void **addrp)
{
	void *p;

	if (!pm)
		return fail(EBADF);
	if (!info || !addrp)
		return fail(EINVAL);
	p = mmap(NULL, info->length, prot, MAP_SHARED, pm->fd,
		 (off_t)info->mmap_offset);
	if (p == MAP_FAILED)
		return fail(errno);
	*addrp = p;
	return 0;
}

PINMEM_API int pinmem_contig_munmap(const struct pinmem_contig_info *info,
				    void *addr)
{
	if (!info)
		return fail(EINVAL);
	if (munmap(addr, info->length))
		return fail(errno);
	return 0;
}

PINMEM_API const char *pinmem_zone_name(unsigned int zone)
{
	static const char * const names[] = {
		[PINMEM_ZONE_DMA] = "DMA",
		[PINMEM_ZONE_DMA32] = "DMA32",
		[PINMEM_ZONE_NORMAL] = "Normal",
		[PINMEM_ZONE_HIGHMEM] = "HighMem",
		[PINMEM_ZONE_MOVABLE] = "Movable",
		[PINMEM_ZONE_DEVICE] = "Device",
	};

	return zone < ARRAY_SIZE(names) ? names[zone] : NULL;
}

/* Meanings of an errno for one call; .err 0 ends a table. */
struct err_msg {
	int err;
	const char *msg;
};

static const struct err_msg open_msgs[] = {
	{ ENOENT, "/dev/pinmem does not exist: the pinmem module is not loaded (pinmemctl load, or modprobe pinmem)" },
	{ ENODEV, "/dev/pinmem has no driver behind it: the pinmem module is not loaded (stale device node)" },
	{ ENXIO, "/dev/pinmem has no driver behind it: the pinmem module is not loaded (stale device node)" },
	{ EACCES, "permission denied on /dev/pinmem: it is root only by default; install the udev rule (group pinmem) or load the module with dev_mode=0660" },
	{ EPERM, "permission denied on /dev/pinmem: it is root only by default; install the udev rule (group pinmem) or load the module with dev_mode=0660" },
	{ ENOTTY, "not a pinmem device, or a pinmem module too old to answer PINMEM_IOC_VERSION: upgrade the module" },
	{ EPROTO, "the pinmem module's ABI version is older than this library needs (PINMEM_LIB_MIN_ABI): upgrade the module" },
	{ 0, NULL }
};

/* Every ioctl on a context of another mm fails so. */
#define OTHER_MM "the pinmem fd belongs to another process's address space (a fork child or a passed fd); open /dev/pinmem in this process"

static const struct err_msg pin_msgs[] = {
	{ ENOMEM, "cannot pin: RLIMIT_MEMLOCK would be exceeded (ulimit -l; CAP_IPC_LOCK bypasses it), the module's max_pins/max_pages limit was reached, or the pages to migrate out of ZONE_MOVABLE/CMA do not fit in the remaining memory" },
	{ EINVAL, "address or length not page aligned, zero length, address range overflows, or unknown flags" },
	{ EFAULT, "range not entirely mapped with the needed access: unmapped, PROT_NONE, read-only for a write pin, kernel address, or a VM_IO/VM_PFNMAP mapping (such as a pinmem contiguous buffer)" },
	{ EEXIST, "range overlaps a pin of this context" },
	{ EINTR, "interrupted by a fatal signal while pinning; nothing was pinned" },
	{ EPERM, OTHER_MM },
	{ 0, NULL }
};

static const struct err_msg handle_msgs[] = {	/* UNPIN, CONTIG_FREE */
	{ ENOENT, "no such handle in this context" },
	{ EPERM, OTHER_MM },
	{ EINVAL, "nonzero flags" },
	{ 0, NULL }
};

static const struct err_msg query_msgs[] = {
	{ ENOENT, "no such pin in this context (by handle, or no pin contains the address)" },
	{ EPERM, "PFNs need CAP_SYS_ADMIN; or " OTHER_MM },
	{ EINVAL, "bad flags, or first PFN index past the end of the pin" },
	{ EFAULT, "the PFN array is not writable" },
	{ 0, NULL }
};

static const struct err_msg access_msgs[] = {
	{ ENOENT, "no such pin in this context" },
	{ EACCES, "write to a pin made without PINMEM_PIN_WRITE (a read-only pin)" },
	{ EINVAL, "zero length, or offset + length outside the pin" },
	{ EFAULT, "the user buffer is not accessible" },
	{ EPERM, OTHER_MM },
	{ 0, NULL }
};

static const struct err_msg contig_msgs[] = {
	{ ENOMEM, "no contiguous memory of that size (CMA area too small or fragmented, pool full, alignment not met) or RLIMIT_MEMLOCK would be exceeded" },
	{ E2BIG, "larger than the page allocator's largest block, and the kernel has no CMA area (boot with cma=, on a kernel with CONFIG_DMA_CMA)" },
	{ ENODEV, "PINMEM_CONTIG_POOL, but no pool was reserved: load the module with pool_mb=" },
	{ EINVAL, "length zero or not page aligned, alignment not a power of two or too large, or unknown flags" },
	{ EPERM, OTHER_MM },
	{ 0, NULL }
};

static const struct err_msg mmap_msgs[] = {
	{ EINVAL, "not a whole contiguous buffer of this context mapped MAP_SHARED (wrong offset or length)" },
	{ EPERM, OTHER_MM },
	{ 0, NULL }
};

static const struct err_msg export_msgs[] = {
	{ ENOENT, "no such pin or contiguous buffer in this context" },
	{ EINVAL, "unknown flags or nonzero reserved field" },
	{ EMFILE, "no free file descriptor (RLIMIT_NOFILE)" },
	{ ENOTTY, "the module is too old to export dma-bufs (ABI without PINMEM_IOC_EXPORT)" },
	{ EPERM, OTHER_MM },
	{ 0, NULL }
};

static const struct err_msg pin_memfd_msgs[] = {
	{ EOPNOTSUPP, "the kernel has no memfd_pin_folios() (it came in 6.11): pin a mapping of the memfd with pinmem_pin() instead" },
	{ EBADF, "not an open file descriptor" },
	{ EINVAL, "not a memfd (shmem or hugetlb) sealed with F_SEAL_SHRINK (create it with MFD_ALLOW_SEALING), the range is outside the file, zero length, misalignment, or unknown flags" },
	{ EACCES, "the file descriptor is not open for reading, or not for writing with PINMEM_PIN_WRITE, or the file is append-only" },
	{ ENOMEM, "cannot pin: RLIMIT_MEMLOCK would be exceeded (ulimit -l; CAP_IPC_LOCK bypasses it; the whole huge pages the range touches are charged), the module's max_pins/max_pages limit was reached, or no memory" },
	{ EPERM, "PINMEM_PIN_WRITE on a memfd sealed against writing (F_SEAL_WRITE, F_SEAL_FUTURE_WRITE) or an immutable file; or " OTHER_MM },
	{ 0, NULL }
};

static const struct err_msg any_msgs[] = {
	{ E2BIG, "argument struct larger than the module knows, with nonzero fields it does not know: the library is newer than the module" },
	{ EPERM, OTHER_MM },
	{ ENOTTY, "not a pinmem device, or an ioctl the module does not know (module too old)" },
	{ EBADF, "no pinmem context (NULL)" },
	{ 0, NULL }
};

static const char *lookup(const struct err_msg *t, int err)
{
	for (; t && t->err; t++)
		if (t->err == err)
			return t->msg;
	return NULL;
}

PINMEM_API const char *pinmem_strerror(int err, enum pinmem_call call)
{
	const struct err_msg *t = NULL;
	const char *m;

	if (err < 0)
		err = -err;
	if (!err)
		return "success";
	if (err == ENOMEM && last_enomem.call != PINMEM_CALL_ANY &&
	    last_enomem.call == call)
		return last_enomem.msg;
	switch (call) {
	case PINMEM_CALL_OPEN:
		t = open_msgs;
		break;
	case PINMEM_CALL_PIN:
		t = pin_msgs;
		break;
	case PINMEM_CALL_UNPIN:
	case PINMEM_CALL_CONTIG_FREE:
		t = handle_msgs;
		break;
	case PINMEM_CALL_QUERY:
		t = query_msgs;
		break;
	case PINMEM_CALL_ACCESS:
		t = access_msgs;
		break;
	case PINMEM_CALL_CONTIG_ALLOC:
		t = contig_msgs;
		break;
	case PINMEM_CALL_MMAP:
		t = mmap_msgs;
		break;
	case PINMEM_CALL_EXPORT:
		t = export_msgs;
		break;
	case PINMEM_CALL_PIN_MEMFD:
		t = pin_memfd_msgs;
		break;
	case PINMEM_CALL_VERSION:
	case PINMEM_CALL_ANY:
		break;
	}
	m = lookup(t, err);
	if (!m)
		m = lookup(any_msgs, err);
	return m ? m : strerror(err);
}
