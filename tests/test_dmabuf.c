// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem's dma-bufs (PINMEM_IOC_EXPORT), with importers nobody in this
 * project wrote: vgem (DRM PRIME) and vivid (V4L2 DMABUF capture, with its
 * vmalloc and its dma-contig allocator), both modules of the stock kernel,
 * loaded here from /lib/modules/dmabuf/ (scripts/vm-run packs them). The
 * lifetime rules of the UAPI are checked through the kernel's own FOLL_PIN
 * counters: the pages stay pinned exactly as long as a dma-buf reference
 * does, whoever holds it, and are released once.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <linux/videodev2.h>

#include "devices.h"
#include "pinmem_test_uapi.h"
#include "util.h"

#define RW (PROT_READ | PROT_WRITE)

static uint64_t cma_start, cma_end;

/*
 * Pages of the range that a long-term pin must move: in ZONE_MOVABLE or in
 * the CMA area (which may lie inside ZONE_MOVABLE: counted once).
 */
static size_t unpinnable_pages(const void *buf, size_t len)
{
	struct zone_range z[MAX_ZONE_RANGES];
	int nz = zones_load(z, MAX_ZONE_RANGES);
	size_t off, n = 0;

	for (off = 0; off < len; off += PAGE) {
		uint64_t pfn = pfn_of((const char *)buf + off);
		const char *zone = pfn ? zone_of_pfn(z, nz, pfn) : NULL;

		n += pfn && ((zone && !strcmp(zone, "Movable")) ||
			     (pfn * PAGE >= cma_start && pfn * PAGE < cma_end));
	}
	return n;
}

/*
 * A buffer filled with @seed's pattern, with pages in ZONE_MOVABLE or CMA
 * where the kernel has either (the allocator puts movable user pages
 * there first when other memory runs short; not guaranteed, so reported).
 */
static char *fresh_buffer(size_t len, uint32_t seed)
{
	char *buf = map_anon(len, RW);

	if (!buf)
		return NULL;
	fill_pattern(buf, len, seed);
	diag("buffer of %zu KiB: %zu pages in ZONE_MOVABLE/CMA before PIN",
	     len >> 10, unpinnable_pages(buf, len));
	return buf;
}

/* The debugfs "exports" line of the dma-buf @dfd. */
struct dbg_export {
	unsigned int ctx, attachments, mapped, vmapped;
	unsigned long pages;
	char kind[8], mode[4];
};

static bool debugfs_export(int dfd, struct dbg_export *e)
{
	struct stat st;
	char line[256];
	bool found = false;
	FILE *f;

	if (fstat(dfd, &st))
		return false;
	f = fopen("/sys/kernel/debug/pinmem/exports", "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long ino;
		unsigned long long handle;

		if (sscanf(line, "%lu %u %llu %7s %lu %3s %u %u %u", &ino,
			   &e->ctx, &handle, e->kind, &e->pages, e->mode,
			   &e->attachments, &e->mapped, &e->vmapped) == 9 &&
		    ino == st.st_ino)
			found = true;
	}
	fclose(f);
	return found;
}

static int t_export_args(void)
{
	struct pinmem_export_args a = { .size = sizeof(a) };
	int fd = pm_open(), dfd = -1;
	uint64_t h, n;
	char *buf = map_anon(4 * PAGE, RW);

	CHECK(fd >= 0 && buf);
	CHECK_EQ(pm_export(fd, 1, 0, &dfd), -ENOENT);
	CHECK_EQ(pm_pin(fd, buf, 4 * PAGE, PINMEM_PIN_WRITE, &h, &n), 0);
	CHECK_EQ(pm_export(fd, h, 1U << 5, &dfd), -EINVAL);
	a.handle = h;
	a.reserved = 1;
	CHECK(ioctl(fd, PINMEM_IOC_EXPORT, &a) < 0 && errno == EINVAL);
	a.size = PINMEM_EXPORT_SIZE_VER0 - 4;
	a.reserved = 0;
	CHECK(ioctl(fd, PINMEM_IOC_EXPORT, &a) < 0 && errno == EINVAL);
	CHECK_EQ(pm_export(fd, h, PINMEM_EXPORT_CLOEXEC, &dfd), 0);
	CHECK_EQ(fcntl(dfd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	CHECK_EQ(fcntl(dfd, F_GETFL) & O_ACCMODE, O_RDWR);
	CHECK_EQ(lseek(dfd, 0, SEEK_END), 4 * PAGE);
	close(dfd);
	CHECK_EQ(pm_unpin(fd, h), 0);
	close(fd);
	munmap(buf, 4 * PAGE);
	return T_PASS;
}

/* QUERY reports the live exports of a pin; they go when the dma-bufs do. */
static int t_export_query_counts(void)
{
	struct pinmem_query_args q = { .size = sizeof(q) };
	struct pinmem_query_args q0 = { .size = PINMEM_QUERY_SIZE_VER0 };
	int fd = pm_open(), d1 = -1, d2 = -1;
	char *buf = map_anon(8 * PAGE, RW);
	uint64_t h, n;

	CHECK(fd >= 0 && buf);
	CHECK_EQ(pm_pin(fd, buf, 8 * PAGE, PINMEM_PIN_WRITE, &h, &n), 0);
	q.handle = h;
	CHECK_EQ(pm_query(fd, &q), 0);
	CHECK_EQ(q.nr_exports, 0);
	CHECK_EQ(pm_export(fd, h, 0, &d1), 0);
	CHECK_EQ(pm_export(fd, h, 0, &d2), 0);
	CHECK_EQ(pm_query(fd, &q), 0);
	CHECK_EQ(q.nr_exports, 2);
	CHECK_EQ(q.nr_attachments, 0);
	CHECK_EQ(debugfs_stat("exports"), 2);
	/* an old caller's shorter struct still works */
	q0.handle = h;
	CHECK_EQ(pm_query(fd, &q0), 0);
	close(d1);
	CHECK_EQ(pm_query(fd, &q), 0);
	CHECK_EQ(q.nr_exports, 1);
	close(d2);
	CHECK_EQ(pm_query(fd, &q), 0);
	CHECK_EQ(q.nr_exports, 0);
	CHECK_EQ(debugfs_stat("exports"), 0);
	close(fd);
	munmap(buf, 8 * PAGE);
	return T_PASS;
}

/*
 * The args struct in read-only memory: the module reads it, cannot write
 * the fd back, and must then leave no fd and no dma-buf behind.
 */
static int t_export_efault_leaves_no_fd(void)
{
	int fd = pm_open(), probe, probe2;
	struct pinmem_export_args *a;
	char *buf = map_anon(PAGE, RW);
	uint64_t h, n;

	CHECK(fd >= 0 && buf);
	CHECK_EQ(pm_pin(fd, buf, PAGE, PINMEM_PIN_WRITE, &h, &n), 0);
	a = map_anon(PAGE, RW);
	CHECK(a);
	*a = (struct pinmem_export_args){ .size = sizeof(*a), .handle = h };
	CHECK_EQ(mprotect(a, PAGE, PROT_READ), 0);
	probe = dup(0);
	close(probe);
	CHECK(ioctl(fd, PINMEM_IOC_EXPORT, a) < 0);
	CHECK_EQ(errno, EFAULT);
	probe2 = dup(0);
	close(probe2);
	CHECK_EQ(probe2, probe);	/* the reserved fd was given back */
	CHECK_EQ(debugfs_stat("exports"), 0);
	CHECK_EQ(pm_unpin(fd, h), 0);
	close(fd);
	munmap(a, PAGE);
	munmap(buf, PAGE);
	return T_PASS;
}

static int send_fd(int sock, int fd)
{
	char c = 'x';
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.b, .msg_controllen = sizeof(u.b),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.b, .msg_controllen = sizeof(u.b),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * A process pins and exports, UNPINs, closes /dev/pinmem and exits; the
 * dma-buf it passed on still holds its (dead) pages, which read as it
 * wrote them, and they are released exactly once, when the last
 * reference (here a mapping, after the fd) goes.
 */
static int t_export_outlives_unpin_close_exit(void)
{
	const size_t len = 4 * MiB;
	int sv[2], status, dfd;
	long before = pins_outstanding();
	char *map;
	pid_t pid;

	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		char *buf = fresh_buffer(len, 11);
		int fd = pm_open(), d = -1;
		uint64_t h, n;

		if (!buf || fd < 0 ||
		    pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &n) ||
		    pm_export(fd, h, 0, &d) || pm_unpin(fd, h))
			_exit(2);
		close(fd);
		if (pins_outstanding() - before != (long)(len / PAGE))
			_exit(3);
		_exit(send_fd(sv[1], d) ? 4 : 0);
	}
	close(sv[1]);
	dfd = recv_fd(sv[0]);
	close(sv[0]);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	CHECK(dfd >= 0);
	/* the exporter is gone; its pages are not */
	CHECK_EQ(pins_outstanding() - before, len / PAGE);
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd, 0);
	CHECK(map != MAP_FAILED);
	close(dfd);
	CHECK_EQ(pins_outstanding() - before, len / PAGE);
	CHECK_EQ(check_pattern(map, len, 11), 0);
	CHECK_EQ(debugfs_stat("exports"), 1);
	munmap(map, len);
	CHECK_EQ(pins_outstanding() - before, 0);
	CHECK_EQ(debugfs_stat("exports"), 0);
	return T_PASS;
}

/* Pages stay charged to the exporter (VmPin) while a dma-buf holds them. */
static int t_export_keeps_charge(void)
{
	const size_t len = 2 * MiB;
	long vmpin0 = vmpin_kb();
	char *buf = map_anon(len, RW);
	int fd = pm_open(), dfd = -1;
	uint64_t h, n;

	CHECK(fd >= 0 && buf);
	CHECK_EQ(pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &n), 0);
	CHECK_EQ(pm_export(fd, h, 0, &dfd), 0);
	CHECK_EQ(pm_unpin(fd, h), 0);
	CHECK_EQ(vmpin_kb() - vmpin0, (long)(len >> 10));
	close(fd);
	CHECK_EQ(vmpin_kb() - vmpin0, (long)(len >> 10));
	close(dfd);
	CHECK_EQ(vmpin_kb() - vmpin0, 0);
	munmap(buf, len);
	return T_PASS;
}

/*
 * Another process maps the dma-buf and sees what the exporter writes
 * later: the same pages, not a copy. CPU access through DMA_BUF_IOCTL_SYNC.
 */
static int t_export_mmap_other_process(void)
{
	const size_t len = 1 * MiB;
	char *buf = fresh_buffer(len, 21);
	int fd = pm_open(), dfd = -1, go[2], done[2], status;
	uint64_t h, n;
	pid_t pid;
	char c;

	CHECK(fd >= 0 && buf);
	CHECK_EQ(pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &n), 0);
	CHECK_EQ(unpinnable_pages(buf, len), 0);
	CHECK_EQ(pm_export(fd, h, 0, &dfd), 0);
	CHECK_EQ(pipe(go), 0);
	CHECK_EQ(pipe(done), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		struct dma_buf_sync s = { DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ };
		char *m = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd, 0);
		int rc = 0;

		if (m == MAP_FAILED)
			_exit(2);
		if (check_pattern(m, len, 21))
			rc = 3;
		if (write(done[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(4);
		if (ioctl(dfd, DMA_BUF_IOCTL_SYNC, &s))
			rc = 5;
		if (check_pattern(m, len, 22))
			rc = 6;
		s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ;
		if (ioctl(dfd, DMA_BUF_IOCTL_SYNC, &s))
			rc = 7;
		_exit(rc);
	}
	CHECK_EQ(read(done[0], &c, 1), 1);
	fill_pattern(buf, len, 22);
	CHECK_EQ(write(go[1], "g", 1), 1);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	/* part of the buffer, at an offset */
	{
		char *m = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, dfd, 5 * PAGE);

		CHECK(m != MAP_FAILED);
		CHECK(!memcmp(m, buf + 5 * PAGE, 2 * PAGE));
		munmap(m, 2 * PAGE);
		CHECK(mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, dfd,
			   len - PAGE) == MAP_FAILED);
		CHECK(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, dfd, 0) == MAP_FAILED);
	}
	close(go[0]); close(go[1]); close(done[0]); close(done[1]);
	close(dfd);
	CHECK_EQ(pm_unpin(fd, h), 0);
	close(fd);
	munmap(buf, len);
	return T_PASS;
}

/* A pin made for reading exports read-only. */
static int t_export_readonly(void)
{
	const size_t len = 64 * PAGE;
	char *buf = fresh_buffer(len, 31), *m;
	int fd = pm_open(), dfd = -1;
	uint64_t h, n;

	CHECK(fd >= 0 && buf);
	CHECK_EQ(pm_pin(fd, buf, len, 0, &h, &n), 0);
	CHECK_EQ(pm_export(fd, h, 0, &dfd), 0);
	CHECK_EQ(fcntl(dfd, F_GETFL) & O_ACCMODE, O_RDONLY);
	CHECK(mmap(NULL, len, RW, MAP_SHARED, dfd, 0) == MAP_FAILED);
	CHECK_EQ(errno, EACCES);
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd, 0);
	CHECK(m != MAP_FAILED);
	CHECK_EQ(check_pattern(m, len, 31), 0);
	CHECK(mprotect(m, len, RW) < 0);
	munmap(m, len);
	close(dfd);
	CHECK_EQ(pm_unpin(fd, h), 0);
	close(fd);
	munmap(buf, len);
	return T_PASS;
}

/* A contiguous buffer exports as well, and outlives CONTIG_FREE. */
static int t_export_contig(void)
{
	struct pinmem_contig_alloc_args a = { .size = sizeof(a), .length = 1 * MiB };
	int fd = pm_open(), dfd = -1;
	char *m, *m2;

	CHECK(fd >= 0);
	CHECK_EQ(pm_contig_alloc(fd, &a), 0);
	m = mmap(NULL, a.length, RW, MAP_SHARED, fd, a.mmap_offset);
	CHECK(m != MAP_FAILED);
	fill_pattern(m, a.length, 41);
	CHECK_EQ(pm_export(fd, a.handle, 0, &dfd), 0);
	munmap(m, a.length);
	CHECK_EQ(pm_contig_free(fd, a.handle), 0);
	close(fd);
	CHECK(debugfs_value("cma", "bytes_in_use") > 0);
	m2 = mmap(NULL, a.length, RW, MAP_SHARED, dfd, 0);
	CHECK(m2 != MAP_FAILED);
	CHECK_EQ(check_pattern(m2, a.length, 41), 0);
	munmap(m2, a.length);
	close(dfd);
	CHECK_EQ(debugfs_value("cma", "bytes_in_use"), 0);
	return T_PASS;
}

static long module_refcnt(void)
{
	FILE *f = fopen("/sys/module/pinmem/refcnt", "r");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/* A live dma-buf holds the module: rmmod is refused until it goes. */
static int t_export_holds_module(void)
{
	char *buf = map_anon(4 * PAGE, RW);
	int fd = pm_open(), dfd = -1;
	long base;
	uint64_t h, n;

	CHECK(fd >= 0 && buf);
	CHECK_EQ(pm_pin(fd, buf, 4 * PAGE, PINMEM_PIN_WRITE, &h, &n), 0);
	CHECK_EQ(pm_export(fd, h, 0, &dfd), 0);
	close(fd);
	base = module_refcnt();
	CHECK(base >= 1);
	CHECK(syscall(SYS_delete_module, "pinmem", O_NONBLOCK) < 0);
	CHECK(errno == EWOULDBLOCK || errno == EBUSY);
	CHECK(!access("/dev/pinmem", F_OK));
	close(dfd);
	CHECK_EQ(module_refcnt(), base - 1);
	munmap(buf, 4 * PAGE);
	return T_PASS;
}

/* ------------------------------------------------------------------ */
/* Memory hot-unplug: what long-term pinning is for.                  */

#define MEMDIR "/sys/devices/system/memory"

static void on_alarm(int sig)
{
	(void)sig;	/* only interrupts the write */
}

/*
 * Write @state ("offline", "online_movable") to memory block @blk, giving
 * up after @secs (offlining retries migration until a signal comes).
 * 0 or -errno.
 */
static int block_set(long blk, const char *state, unsigned int secs)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	char path[96];
	int fd, ret = 0;

	snprintf(path, sizeof(path), MEMDIR "/memory%ld/state", blk);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	sigaction(SIGALRM, &sa, NULL);
	alarm(secs);
	if (write(fd, state, strlen(state)) < 0)
		ret = -errno;
	alarm(0);
	close(fd);
	return ret;
}

static bool block_is(long blk, const char *file, const char *what)
{
	char path[96], v[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), MEMDIR "/memory%ld/%s", blk, file);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(v, sizeof(v), f))
		v[0] = 0;
	fclose(f);
	return !strncmp(v, what, strlen(what));
}

/* Online blocks of ZONE_MOVABLE, into @blks; their number. */
static int movable_blocks(long *blks, int max)
{
	struct dirent *d;
	DIR *dir = opendir(MEMDIR);
	int n = 0;

	if (!dir)
		return 0;
	while ((d = readdir(dir)) && n < max) {
		long b;

		if (sscanf(d->d_name, "memory%ld", &b) == 1 &&
		    block_is(b, "state", "online") &&
		    block_is(b, "valid_zones", "Movable"))
			blks[n++] = b;
	}
	closedir(dir);
	return n;
}

static long block_of(const void *addr)
{
	FILE *f = fopen(MEMDIR "/block_size_bytes", "r");
	unsigned long bs = 0;

	if (!f)
		return -1;
	if (fscanf(f, "%lx", &bs) != 1)
		bs = 0;
	fclose(f);
	return bs ? (long)(pfn_of(addr) * PAGE / bs) : -1;
}

static bool in_set(const long *set, int n, long v)
{
	while (n-- > 0)
		if (set[n] == v)
			return true;
	return false;
}

/*
 * The blocks of ZONE_MOVABLE that can go offline at all, found by taking
 * each offline and back: early boot (memblock) reservations can sit in
 * ZONE_MOVABLE and keep their block online for ever ("unmovable page").
 */
#define MAX_MOVABLE_BLOCKS	(1 << 12)	/* memory blocks, not pages */
static int offlinable_blocks(long *blks, int max, int *all)
{
	int n = movable_blocks(blks, max), i, k = 0;

	*all = n;
	for (i = 0; i < n; i++)
		if (!block_set(blks[i], "offline", 30) &&
		    !block_set(blks[i], "online_movable", 30))
			blks[k++] = blks[i];
	return k;
}

/*
 * With a long-term pin and its dma-buf held, every block of ZONE_MOVABLE
 * that could go offline before still can (the pages left it at PIN); with
 * a short-term pin (PINMEM_PIN_SHORTTERM) of a page there, its block
 * cannot, until the pin goes.
 */
static int t_offline_movable_with_pins(void)
{
	/*
	 * big: more than the rest of ZONE_MOVABLE, so that it reaches the
	 * blocks just taken offline and back, whose pages the allocator gives
	 * out last
	 */
	const size_t len = 8 * MiB, big = 400 * MiB;
	static long blks[MAX_MOVABLE_BLOCKS];
	int fd, dfd = -1, nb, all, i, r;
	uint64_t h, n;
	size_t off;
	long blk = -1;
	char *buf, *m;

	if (need_movable() == T_SKIP)
		return T_SKIP;
	if (access(MEMDIR "/block_size_bytes", F_OK))
		return skip("no memory hotplug in sysfs (CONFIG_MEMORY_HOTPLUG)");
	if (meminfo_kb("MemAvailable") < (long)(big + 200 * MiB) / 1024)
		return skip("less than %zu MiB available", (big + 200 * MiB) / MiB);
	nb = offlinable_blocks(blks, MAX_MOVABLE_BLOCKS, &all);
	diag("%d of %d blocks wholly in ZONE_MOVABLE can go offline", nb, all);
	if (!nb)
		return skip("no block of ZONE_MOVABLE can go offline here");
	fd = pm_open();
	CHECK(fd >= 0);

	/* short-term: the pinned page keeps its block online */
	buf = fresh_buffer(big, 111);
	CHECK(buf);
	for (off = 0; off < big; off += PAGE) {
		blk = block_of(buf + off);
		if (in_set(blks, nb, blk))
			break;
	}
	if (off == big)
		return skip("no page of a fresh buffer is in a block that can go offline");
	CHECK_EQ(pm_pin(fd, buf, big, PINMEM_PIN_WRITE | PINMEM_PIN_SHORTTERM, &h, &n), 0);
	r = block_set(blk, "offline", 5);
	diag("offline memory%ld with a short-term pin in it: %s", blk,
	     r ? strerror(-r) : "offlined");
	CHECK(r == -EBUSY || r == -EINTR);
	CHECK(block_is(blk, "state", "online"));
	CHECK_EQ(pm_unpin(fd, h), 0);
	r = block_set(blk, "offline", 60);
	diag("offline memory%ld once unpinned: %s", blk, r ? strerror(-r) : "offlined");
	CHECK_EQ(r, 0);
	CHECK_EQ(block_set(blk, "online_movable", 60), 0);
	munmap(buf, big);

	/* long-term, exported: all of those blocks go */
	buf = fresh_buffer(len, 112);
	CHECK(buf);
	CHECK_EQ(pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &n), 0);
	CHECK_EQ(pm_export(fd, h, 0, &dfd), 0);
	CHECK_EQ(pm_unpin(fd, h), 0);
	for (i = 0, r = 0; i < nb; i++) {
		r = block_set(blks[i], "offline", 60);
		if (r) {
			diag("offline memory%ld: %s", blks[i], strerror(-r));
			break;
		}
	}
	diag("offlined %d of those %d blocks with a long-term pin and its dma-buf held", i, nb);
	while (i-- > 0)
		CHECK_EQ(block_set(blks[i], "online_movable", 60), 0);
	CHECK_EQ(r, 0);
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd, 0);
	CHECK(m != MAP_FAILED);
	CHECK_EQ(check_pattern(m, len, 112), 0);
	munmap(m, len);
	close(dfd);
	close(fd);
	munmap(buf, len);
	return T_PASS;
}

/* ------------------------------------------------------------------ */
/* Kernel modules of the stock kernel that import dma-bufs.           */

static int need_vgem(void)
{
	int fd;

	load_set("vgem", "");
	fd = open_vgem();
	if (fd < 0)
		return skip("no /dev/dri/card* is vgem: the kernel has no vgem module, or it did not load");
	close(fd);
	return T_PASS;
}

/*
 * Does this kernel's vgem map an attachment at import (up to 6.12), or
 * only attach (7.x)? Asked with a write pin's dma-buf: 1, 0, or -errno.
 */
static int vgem_maps_at_import(int drm, int fd)
{
	char *buf = map_anon(4 * PAGE, RW);
	struct dbg_export e = { 0 };
	uint32_t gh = 0;
	int dfd = -1, ret;
	uint64_t h, n;

	if (!buf)
		return -ENOMEM;
	ret = pm_pin(fd, buf, 4 * PAGE, PINMEM_PIN_WRITE, &h, &n);
	if (!ret)
		ret = pm_export(fd, h, 0, &dfd);
	if (!ret)
		ret = prime_import(drm, dfd, &gh);
	if (!ret) {
		ret = debugfs_export(dfd, &e) ? (int)e.mapped : -ENOENT;
		gem_close(drm, gh);
	}
	if (dfd >= 0)
		close(dfd);
	pm_unpin(fd, h);
	munmap(buf, 4 * PAGE);
	return ret;
}

/*
 * vgem imports the dma-buf: one attachment (mapped for vgem's device on
 * kernels that map at import), and the import alone keeps the pages
 * pinned after the dma-buf fd, the pin and the context are gone; closing
 * the GEM handle releases them.
 */
static int t_vgem_import_holds_pages(void)
{
	const size_t len = 2 * MiB;
	long before = pins_outstanding();
	struct pinmem_query_args q = { .size = sizeof(q) };
	struct dbg_export e;
	int fd, dfd = -1, drm;
	uint32_t gh = 0, gh2 = 0;
	uint64_t h, n;
	char *buf;

	if (need_vgem() == T_SKIP)
		return T_SKIP;
	drm = open_vgem();
	fd = pm_open();
	buf = fresh_buffer(len, 51);
	CHECK(drm >= 0 && fd >= 0 && buf);
	CHECK_EQ(pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &n), 0);
	CHECK_EQ(pm_export(fd, h, 0, &dfd), 0);
	CHECK_EQ(prime_import(drm, dfd, &gh), 0);
	CHECK_EQ(prime_import(drm, dfd, &gh2), 0);
	CHECK_EQ(gh2, gh);	/* the same object: one import */
	CHECK(debugfs_export(dfd, &e));
	CHECK_EQ(e.attachments, 1);
	CHECK(e.mapped <= 1);
	diag("vgem import: %u attachment, %u mapped (%s)", e.attachments,
	     e.mapped, e.mapped ? "maps at import" : "attaches only");
	q.handle = h;
	CHECK_EQ(pm_query(fd, &q), 0);
	CHECK_EQ(q.nr_exports, 1);
	CHECK_EQ(q.nr_attachments, 1);

	close(dfd);
	CHECK_EQ(pm_unpin(fd, h), 0);
	close(fd);
	CHECK_EQ(pins_outstanding() - before, len / PAGE);
	CHECK_EQ(debugfs_stat("exports"), 1);
	CHECK_EQ(gem_close(drm, gh), 0);
	CHECK_EQ(pins_outstanding() - before, 0);
	CHECK_EQ(debugfs_stat("exports"), 0);
	close(drm);
	munmap(buf, len);
	return T_PASS;
}

/*
 * The dma-buf tracepoints: pinmem:pinmem_export when the dma-buf is made,
 * pinmem:pinmem_attach and pinmem:pinmem_detach around vgem's import, and
 * pinmem:pinmem_export_release when the last reference goes, all naming the
 * dma-buf's inode (as /proc/pid/fdinfo and debugfs "exports" do).
 */
static int t_trace_export_attach(void)
{
	const size_t len = 16 * PAGE;
	char ino[48], pages[32];
	struct stat st;
	int fd, dfd = -1, drm, r;
	uint32_t gh = 0;
	uint64_t h, n;
	char *buf, *tr;

	if (need_vgem() == T_SKIP)
		return T_SKIP;
	r = trace_start();
	if (r == -ENOENT)
		return skip("no /sys/kernel/tracing/events: the kernel has no CONFIG_TRACING");
	CHECK_EQ(r, 0);
	drm = open_vgem();
	fd = pm_open();
	buf = fresh_buffer(len, 52);
	CHECK(drm >= 0 && fd >= 0 && buf);
	CHECK_EQ(pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &n), 0);
	CHECK_EQ(pm_export(fd, h, 0, &dfd), 0);
	CHECK_EQ(fstat(dfd, &st), 0);
	CHECK_EQ(prime_import(drm, dfd, &gh), 0);
	close(dfd);
	CHECK_EQ(pm_unpin(fd, h), 0);
	CHECK_EQ(gem_close(drm, gh), 0);	/* the last reference */
	close(fd);
	close(drm);
	munmap(buf, len);
	tr = trace_stop();
	CHECK(tr);
	snprintf(ino, sizeof(ino), "ino=%lu ", (unsigned long)st.st_ino);
	snprintf(pages, sizeof(pages), "pages=%zu", len / PAGE);
	r = trace_find(tr, "pinmem_export", ino) && trace_find(tr, "pinmem_export", "kind=pin") &&
	    trace_find(tr, "pinmem_attach", ino) && trace_find(tr, "pinmem_attach", "dev=vgem") &&
	    trace_find(tr, "pinmem_detach", ino) &&
	    trace_find(tr, "pinmem_export_release", ino) &&
	    trace_find(tr, "pinmem_export_release", pages) &&
	    trace_find(tr, "pinmem_unpin", "exports=1");
	if (!r)
		diag("trace:\n%s", tr);
	free(tr);
	CHECK(r);
	return T_PASS;
}

/*
 * A second process imports the first one's dma-buf into vgem, gets it
 * back from vgem as a PRIME fd and reads, through it, what the first
 * process wrote into its own pinned memory.
 */
static int t_vgem_second_process_reads(void)
{
	const size_t len = 1 * MiB;
	int fd, dfd = -1, status;
	uint64_t h, n;
	char *buf;
	pid_t pid;

	if (need_vgem() == T_SKIP)
		return T_SKIP;
	fd = pm_open();
	buf = fresh_buffer(len, 61);
	CHECK(fd >= 0 && buf);
	CHECK_EQ(pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &n), 0);
	CHECK_EQ(unpinnable_pages(buf, len), 0);
	CHECK_EQ(pm_export(fd, h, 0, &dfd), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		struct t_drm_prime_handle p = { .flags = O_CLOEXEC | T_DRM_RDWR };
		int drm = open_vgem();
		struct stat a, b;
		uint32_t gh = 0;
		char *m;

		if (drm < 0 || prime_import(drm, dfd, &gh))
			_exit(2);
		p.handle = gh;
		if (ioctl(drm, T_DRM_IOCTL_PRIME_HANDLE_TO_FD, &p))
			_exit(3);
		/* vgem hands back the very dma-buf it imported */
		if (fstat(dfd, &a) || fstat(p.fd, &b) || a.st_ino != b.st_ino)
			_exit(6);
		close(dfd);
		m = mmap(NULL, len, PROT_READ, MAP_SHARED, p.fd, 0);
		if (m == MAP_FAILED)
			_exit(4);
		if (check_pattern(m, len, 61))
			_exit(5);
		munmap(m, len);
		close(p.fd);
		gem_close(drm, gh);
		close(drm);
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	close(dfd);
	CHECK_EQ(pm_unpin(fd, h), 0);
	close(fd);
	munmap(buf, len);
	return T_PASS;
}

/*
 * The exporting process passes its dma-buf to another, which imports it
 * into vgem; then the exporter exits. The importer's attachment holds the
 * dead process's pages until it lets go.
 */
static int t_vgem_import_survives_exporter(void)
{
	const size_t len = 1 * MiB;
	long before = pins_outstanding();
	int sv[2], status, dfd, drm;
	struct dbg_export e;
	uint32_t gh = 0;
	pid_t pid;
	char c;

	if (need_vgem() == T_SKIP)
		return T_SKIP;
	drm = open_vgem();
	CHECK(drm >= 0);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		char *buf = fresh_buffer(len, 91);
		int fd = pm_open(), d = -1;
		uint64_t h, n;

		if (!buf || fd < 0 ||
		    pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &n) ||
		    pm_export(fd, h, 0, &d))
			_exit(2);
		if (send_fd(sv[1], d))
			_exit(3);
		/* still attached when the owner dies: wait for the import */
		if (read(sv[1], &c, 1) != 1)
			_exit(4);
		_exit(0);
	}
	close(sv[1]);
	dfd = recv_fd(sv[0]);
	CHECK(dfd >= 0);
	CHECK_EQ(prime_import(drm, dfd, &gh), 0);
	CHECK(debugfs_export(dfd, &e));
	CHECK_EQ(e.attachments, 1);
	close(dfd);
	CHECK_EQ(write(sv[0], "x", 1), 1);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	close(sv[0]);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	CHECK_EQ(pins_outstanding() - before, len / PAGE);
	CHECK_EQ(debugfs_stat("exports"), 1);
	CHECK_EQ(gem_close(drm, gh), 0);
	CHECK_EQ(pins_outstanding() - before, 0);
	CHECK_EQ(debugfs_stat("exports"), 0);
	close(drm);
	return T_PASS;
}

/* udmabuf (UDMABUF_CREATE on /dev/udmabuf), without linux/udmabuf.h */
struct t_udmabuf_create {
	uint32_t memfd;
	uint32_t flags;
	uint64_t offset;
	uint64_t size;
};
#define T_UDMABUF_CREATE	_IOW('u', 0x42, struct t_udmabuf_create)
#define T_UDMABUF_FLAGS_CLOEXEC	0x01

/* A shmem memfd of @len bytes, sealed against shrinking as udmabuf wants, filled. */
static int fresh_memfd(size_t len, uint32_t seed, char **map)
{
	int mfd = memfd_create("pinmem-test", MFD_ALLOW_SEALING | MFD_CLOEXEC);

	if (mfd < 0)
		return -1;
	if (ftruncate(mfd, len) || fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		close(mfd);
		return -1;
	}
	*map = mmap(NULL, len, RW, MAP_SHARED, mfd, 0);
	if (*map == MAP_FAILED) {
		close(mfd);
		return -1;
	}
	fill_pattern(*map, len, seed);
	return mfd;
}

/*
 * The same kind of buffer, a shmem memfd, through udmabuf and through
 * pinmem: both dma-bufs import into vgem, and pinmem's pages have left
 * ZONE_MOVABLE/CMA, on every kernel. udmabuf migrates them too from 6.11
 * (memfd_pin_folios()), before that it leaves them where they are:
 * reported, not judged.
 */
static int t_udmabuf_side_by_side(void)
{
	const size_t len = 2 * MiB;
	struct t_udmabuf_create c = { .flags = T_UDMABUF_FLAGS_CLOEXEC, .size = len };
	int ufd, mu, mp, udb, dfd = -1, fd, drm;
	size_t u_before, u_after, p_before, p_after;
	uint32_t gh = 0;
	uint64_t h, n;
	char *um, *pm, *m;

	ufd = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (ufd < 0)
		return skip("no /dev/udmabuf: this kernel has no CONFIG_UDMABUF (Debian builds it in from 6.12 on amd64 and arm64)");
	mu = fresh_memfd(len, 101, &um);
	mp = fresh_memfd(len, 102, &pm);
	CHECK(mu >= 0 && mp >= 0);
	u_before = unpinnable_pages(um, len);
	p_before = unpinnable_pages(pm, len);
	c.memfd = mu;
	udb = ioctl(ufd, T_UDMABUF_CREATE, &c);
	CHECK(udb >= 0);
	/* what the mapping maps now: refault after dropping the old PTEs */
	CHECK_EQ(madvise(um, len, MADV_DONTNEED), 0);
	CHECK_EQ(check_pattern(um, len, 101), 0);
	u_after = unpinnable_pages(um, len);
	fd = pm_open();
	CHECK(fd >= 0);
	CHECK_EQ(pm_pin(fd, pm, len, PINMEM_PIN_WRITE, &h, &n), 0);
	CHECK_EQ(pm_export(fd, h, 0, &dfd), 0);
	p_after = unpinnable_pages(pm, len);
	diag("pages in ZONE_MOVABLE/CMA before -> after: udmabuf %zu -> %zu, pinmem %zu -> %zu",
	     u_before, u_after, p_before, p_after);
	CHECK_EQ(p_after, 0);
	/* the dma-bufs show the memfds' contents */
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd, 0);
	CHECK(m != MAP_FAILED);
	CHECK_EQ(check_pattern(m, len, 102), 0);
	munmap(m, len);
	if (need_vgem() != T_SKIP) {
		drm = open_vgem();
		CHECK(drm >= 0);
		CHECK_EQ(prime_import(drm, udb, &gh), 0);
		CHECK_EQ(gem_close(drm, gh), 0);
		CHECK_EQ(prime_import(drm, dfd, &gh), 0);
		CHECK_EQ(gem_close(drm, gh), 0);
		close(drm);
	}
	close(dfd);
	close(udb);
	CHECK_EQ(pm_unpin(fd, h), 0);
	close(fd);
	munmap(um, len);
	munmap(pm, len);
	close(mu);
	close(mp);
	close(ufd);
	return T_PASS;
}

/*
 * PIN_MEMFD, what udmabuf does but long-term: a shmem memfd range pinned
 * without a mapping. Its pages leave ZONE_MOVABLE/CMA (the mapping, faulted
 * again, shows where they went), ACCESS and EXPORT see the file's data, and
 * the dma-buf imports into vgem. Before 6.11 the kernel has no
 * memfd_pin_folios(): EOPNOTSUPP, and the case skips.
 */
static int t_pin_memfd(void)
{
	const size_t len = 2 * MiB;
	struct pinmem_query_args q = { .size = sizeof(q) };
	int fd = pm_open(), mfd, dfd = -1, pipefd[2], drm, r;
	size_t before, after;
	uint64_t h, h2;
	uint32_t gh = 0;
	char *map, *m, tmp[PAGE];

	CHECK(fd >= 0);
	mfd = fresh_memfd(len, 131, &map);
	CHECK(mfd >= 0);
	before = unpinnable_pages(map, len);
	r = pm_pin_memfd(fd, mfd, 0, len, PINMEM_PIN_WRITE, &h);
	if (r == -EOPNOTSUPP) {
		munmap(map, len);
		close(mfd);
		close(fd);
		return skip("PIN_MEMFD is EOPNOTSUPP: the kernel has no memfd_pin_folios() (6.11 on)");
	}
	CHECK_EQ(r, 0);
	/* bad input */
	CHECK_EQ(pm_pin_memfd(fd, mfd, 0, len + PAGE, 0, &h2), -EINVAL);
	CHECK_EQ(pm_pin_memfd(fd, mfd, 1, PAGE, 0, &h2), -EINVAL);
	CHECK_EQ(pm_pin_memfd(fd, mfd, 0, 0, 0, &h2), -EINVAL);
	CHECK_EQ(pm_pin_memfd(fd, 12345, 0, PAGE, 0, &h2), -EBADF);
	CHECK_EQ(pipe(pipefd), 0);
	CHECK_EQ(pm_pin_memfd(fd, pipefd[0], 0, PAGE, 0, &h2), -EINVAL);
	close(pipefd[0]);
	close(pipefd[1]);
	/* where the pages went */
	CHECK_EQ(madvise(map, len, MADV_DONTNEED), 0);
	CHECK_EQ(check_pattern(map, len, 131), 0);
	after = unpinnable_pages(map, len);
	diag("memfd pages in ZONE_MOVABLE/CMA: %zu before PIN_MEMFD, %zu after", before, after);
	CHECK_EQ(after, 0);
	q.handle = h;
	CHECK_EQ(pm_query(fd, &q), 0);
	CHECK_EQ(q.nr_pages, len / PAGE);
	CHECK_EQ(q.addr, 0);
	CHECK(q.pin_flags & PINMEM_PIN_MEMFD);
	CHECK_EQ(q.zone_pages[PINMEM_ZONE_MOVABLE], 0);
	/* the pinned pages are the file's: a write through ACCESS shows in the mapping */
	memset(tmp, 0x77, sizeof(tmp));
	CHECK_EQ(pm_access(fd, h, 3 * PAGE, PAGE, tmp, PINMEM_ACCESS_WRITE), 0);
	CHECK_EQ((unsigned char)map[3 * PAGE + 100], 0x77);
	fill_pattern(map + 3 * PAGE, PAGE, 7);
	CHECK_EQ(pm_export(fd, h, 0, &dfd), 0);
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd, 0);
	CHECK(m != MAP_FAILED);
	CHECK(!memcmp(m, map, len));
	munmap(m, len);
	if (need_vgem() != T_SKIP) {
		drm = open_vgem();
		CHECK(drm >= 0);
		CHECK_EQ(prime_import(drm, dfd, &gh), 0);
		CHECK_EQ(gem_close(drm, gh), 0);
		close(drm);
	}
	close(dfd);
	CHECK_EQ(pm_unpin(fd, h), 0);
	close(fd);
	munmap(map, len);
	close(mfd);
	return T_PASS;
}

/* PIN_MEMFD of a hugetlb memfd: huge pages, one pin per folio, released as taken. */
static int t_pin_memfd_hugetlb(void)
{
	const size_t huge = hugetlb_size(), len = 4 * huge;
	struct pinmem_query_args q = { .size = sizeof(q) };
	int fd = pm_open(), mfd, r;
	long pins0 = pins_outstanding();
	FILE *f;
	long nr0 = -1;
	uint64_t h;
	char *map;

	CHECK(fd >= 0);
	if (!huge)
		return skip("no hugetlb pages (no Hugepagesize in /proc/meminfo)");
	f = fopen("/proc/sys/vm/nr_hugepages", "r");
	if (!f || fscanf(f, "%ld", &nr0) != 1)
		return skip("no /proc/sys/vm/nr_hugepages (CONFIG_HUGETLBFS)");
	fclose(f);
	/* a sysctl is written at offset 0, by a write of its own */
	f = fopen("/proc/sys/vm/nr_hugepages", "w");
	if (f) {
		fprintf(f, "%ld\n", nr0 + 4);
		fclose(f);
	}
	mfd = memfd_create("pinmem-huge",
			   MFD_HUGETLB | MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, len) ||
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		r = -errno;
		goto restore;
	}
	map = mmap(NULL, len, RW, MAP_SHARED, mfd, 0);
	if (map == MAP_FAILED) {
		r = -errno;
		goto restore;
	}
	fill_pattern(map, len, 141);
	r = pm_pin_memfd(fd, mfd, huge / 2, len - huge, PINMEM_PIN_WRITE, &h);
	if (r == -EOPNOTSUPP) {
		r = 1;
		goto unmap;
	}
	if (r)
		diag("PIN_MEMFD of a hugetlb memfd: %s", strerror(-r));
	CHECK_EQ(r, 0);
	/* 4 huge folios cover half a page into the first to half into the last */
	CHECK_EQ(pins_outstanding() - pins0, 4);
	q.handle = h;
	CHECK_EQ(pm_query(fd, &q), 0);
	CHECK_EQ(q.nr_huge, (len - huge) / PAGE);
	diag("hugetlb PIN_MEMFD: %llu pages, %llu in ZONE_MOVABLE after PIN",
	     (unsigned long long)q.nr_pages,
	     (unsigned long long)q.zone_pages[PINMEM_ZONE_MOVABLE]);
	CHECK_EQ(q.zone_pages[PINMEM_ZONE_MOVABLE], 0);
	CHECK_EQ(pm_unpin(fd, h), 0);
	CHECK_EQ(pins_outstanding() - pins0, 0);
	CHECK_EQ(check_pattern(map, len, 141), 0);
	r = 0;
unmap:
	munmap(map, len);
restore:
	if (mfd >= 0)
		close(mfd);
	close(fd);
	f = fopen("/proc/sys/vm/nr_hugepages", "w");
	if (f) {
		fprintf(f, "%ld\n", nr0);
		fclose(f);
	}
	if (r == 1)
		return skip("PIN_MEMFD is EOPNOTSUPP: the kernel has no memfd_pin_folios() (6.11 on)");
	if (r)
		return skip("no hugetlb memfd of 4 huge pages: %s", strerror(-r));
	return T_PASS;
}

/*
 * A read-only pin must not become device-writable: vgem maps its imports
 * for DMA_BIDIRECTIONAL, so where it maps at import the import is refused
 * with -EACCES; where it only attaches, the import succeeds and nothing
 * is mapped.
 */
static int t_vgem_readonly_pin(void)
{
	const size_t len = 64 * PAGE;
	struct dbg_export e;
	int fd, dfd = -1, drm, ret, maps;
	uint32_t gh = 0;
	uint64_t h, n;
	char *buf;

	if (need_vgem() == T_SKIP)
		return T_SKIP;
	drm = open_vgem();
	fd = pm_open();
	buf = fresh_buffer(len, 71);
	CHECK(drm >= 0 && fd >= 0 && buf);
	maps = vgem_maps_at_import(drm, fd);
	CHECK(maps == 0 || maps == 1);
	CHECK_EQ(pm_pin(fd, buf, len, 0, &h, &n), 0);
	CHECK_EQ(pm_export(fd, h, 0, &dfd), 0);
	ret = prime_import(drm, dfd, &gh);
	diag("read-only dma-buf into vgem: %s", ret ? strerror(-ret) : "imported");
	if (maps) {
		CHECK_EQ(ret, -EACCES);
		CHECK(debugfs_export(dfd, &e));
		CHECK_EQ(e.attachments, 0);
	} else {
		CHECK_EQ(ret, 0);
		CHECK(debugfs_export(dfd, &e));
		CHECK_EQ(e.attachments, 1);
		CHECK_EQ(e.mapped, 0);
		CHECK_EQ(gem_close(drm, gh), 0);
	}
	close(dfd);
	CHECK_EQ(pm_unpin(fd, h), 0);
	close(fd);
	close(drm);
	munmap(buf, len);
	return T_PASS;
}

/* ------------------------------------------------------------------ */
/* A real DMA engine: QEMU's edu device, through tests/kmod/pinmem_edu. */

/* lowest and highest physical address of the pin's pages (root: PFNs) */
static int pin_phys_range(int fd, uint64_t h, size_t pages, uint64_t *lo, uint64_t *hi)
{
	static uint64_t pfns[1024];
	struct pinmem_query_args q = {
		.size = sizeof(q), .handle = h, .flags = PINMEM_QUERY_PFNS,
		.pfns = (uintptr_t)pfns, .nr_pfns = pages,
	};
	size_t i;

	if (pages > 1024 || pm_query(fd, &q))
		return -1;
	*lo = UINT64_MAX;
	*hi = 0;
	for (i = 0; i < pages; i++) {
		if (pfns[i] * PAGE < *lo)
			*lo = pfns[i] * PAGE;
		if (pfns[i] * PAGE + PAGE - 1 > *hi)
			*hi = pfns[i] * PAGE + PAGE - 1;
	}
	return 0;
}

/*
 * The edu device copies, 2 KiB at a time, from a read pin's dma-buf into
 * its buffer and from there into a write pin's dma-buf: the process reads
 * what the device wrote, the device read what the process wrote. Both
 * buffers start out in ZONE_MOVABLE/CMA where the kernel has either, so
 * the device works on the migrated pages. Without an IOMMU the bus
 * addresses are the pages' physical ones; behind one they are IOVAs.
 * A read pin is never a DMA destination.
 */
static int t_edu_dma_through_dmabufs(void)
{
	const size_t len = 64 * 1024;	/* 64 transfers of 100 ms (QEMU's timer) */
	struct pinmem_edu_copy c = { .len = len };
	int fd, edu, sfd = -1, dfd = -1, r;
	uint64_t hs, hd, n, lo1, hi1, lo2, hi2;
	char *src, *dst;
	bool iommu;

	edu = open_edu();
	if (edu < 0)
		return skip("no /dev/pinmem_edu: no edu PCI device in this VM, or the test driver did not load");
	iommu = log_has("behind an IOMMU");
	fd = pm_open();
	src = fresh_buffer(len, 121);
	dst = fresh_buffer(len, 122);
	CHECK(fd >= 0 && src && dst);
	CHECK_EQ(pm_pin(fd, src, len, 0, &hs, &n), 0);
	CHECK_EQ(pm_pin(fd, dst, len, PINMEM_PIN_WRITE, &hd, &n), 0);
	CHECK_EQ(unpinnable_pages(src, len) + unpinnable_pages(dst, len), 0);
	CHECK_EQ(pm_export(fd, hs, 0, &sfd), 0);
	CHECK_EQ(pm_export(fd, hd, 0, &dfd), 0);

	/* the read pin as the destination: refused before the device is touched */
	c.src_fd = dfd;
	c.dst_fd = sfd;
	CHECK(ioctl(edu, PINMEM_EDU_COPY, &c) < 0);
	CHECK_EQ(errno, EACCES);

	c.src_fd = sfd;
	c.dst_fd = dfd;
	r = ioctl(edu, PINMEM_EDU_COPY, &c);
	if (r)
		diag("PINMEM_EDU_COPY: %s", strerror(errno));
	CHECK_EQ(r, 0);
	CHECK_EQ(c.nr_xfers, 2 * len / 2048);
	CHECK_EQ(check_pattern(dst, len, 121), 0);
	CHECK_EQ(check_pattern(src, len, 121), 0);
	CHECK_EQ(pin_phys_range(fd, hs, len / PAGE, &lo1, &hi1), 0);
	CHECK_EQ(pin_phys_range(fd, hd, len / PAGE, &lo2, &hi2), 0);
	diag("%s: %llu transfers, bus addresses %#llx-%#llx; pages at %#llx-%#llx",
	     iommu ? "behind an IOMMU" : "no IOMMU", (unsigned long long)c.nr_xfers,
	     (unsigned long long)c.bus_min, (unsigned long long)c.bus_max,
	     (unsigned long long)(lo1 < lo2 ? lo1 : lo2),
	     (unsigned long long)(hi1 > hi2 ? hi1 : hi2));
	if (!iommu) {
		CHECK(c.bus_min >= (lo1 < lo2 ? lo1 : lo2));
		CHECK(c.bus_max <= (hi1 > hi2 ? hi1 : hi2));
	}
	close(sfd);
	close(dfd);
	CHECK_EQ(pm_unpin(fd, hs), 0);
	CHECK_EQ(pm_unpin(fd, hd), 0);
	close(fd);
	close(edu);
	munmap(src, len);
	munmap(dst, len);
	return T_PASS;
}

/*
 * An importer maps a dma-buf with dma_buf_mmap() from its own mmap(), with
 * its own file's mode: a read pin's export stays read-only even so (no
 * PROT_WRITE mapping, no mprotect() to one), a write pin's maps writable.
 */
static int t_importer_mmap_keeps_readonly(void)
{
	const size_t len = 16 * PAGE;
	int fd, edu, rfd = -1, wfd = -1;
	char *buf, *m;
	uint64_t hr, hw;

	edu = open_edu();
	if (edu < 0)
		return skip("no /dev/pinmem_edu: no edu PCI device in this VM, or the test driver did not load");
	fd = pm_open();
	buf = fresh_buffer(len, 124);
	CHECK(fd >= 0 && buf);
	CHECK_EQ(pm_pin(fd, buf, len / 2, 0, &hr, NULL), 0);
	CHECK_EQ(pm_pin(fd, buf + len / 2, len / 2, PINMEM_PIN_WRITE, &hw, NULL), 0);
	CHECK_EQ(pm_export(fd, hr, 0, &rfd), 0);
	CHECK_EQ(pm_export(fd, hw, 0, &wfd), 0);

	CHECK_EQ(ioctl(edu, PINMEM_EDU_MMAP_DMABUF, &rfd), 0);
	m = mmap(NULL, len / 2, PROT_READ | PROT_WRITE, MAP_SHARED, edu, 0);
	if (m != MAP_FAILED) {
		diag("a read pin's dma-buf mapped writable through an importer");
		return T_FAIL;
	}
	CHECK_EQ(errno, EACCES);
	m = mmap(NULL, len / 2, PROT_READ, MAP_SHARED, edu, 0);
	CHECK(m != MAP_FAILED);
	CHECK(!memcmp(m, buf, len / 2));
	CHECK(mprotect(m, len / 2, PROT_READ | PROT_WRITE));
	munmap(m, len / 2);

	CHECK_EQ(ioctl(edu, PINMEM_EDU_MMAP_DMABUF, &wfd), 0);
	m = mmap(NULL, len / 2, PROT_READ | PROT_WRITE, MAP_SHARED, edu, 0);
	CHECK(m != MAP_FAILED);
	m[5] = 0x5a;
	CHECK_EQ(buf[len / 2 + 5], 0x5a);
	munmap(m, len / 2);
	close(edu);
	close(rfd);
	close(wfd);
	CHECK_EQ(pm_unpin(fd, hr), 0);
	CHECK_EQ(pm_unpin(fd, hw), 0);
	close(fd);
	munmap(buf, len);
	return T_PASS;
}

/* ------------------------------------------------------------------ */
/* vivid: V4L2 capture into pinmem's dma-bufs.                        */

static int need_vivid(void)
{
	struct v4l2_format f;
	int fd;

	load_set("vivid", VIVID_PARAMS);
	fd = open_vivid(1, &f);
	if (fd < 0)
		return skip("no capture node of a second vivid instance: the kernel has no vivid module, or it did not load with " VIVID_PARAMS);
	close(fd);
	return T_PASS;
}

/*
 * How much of a captured frame vivid drew: bytes that differ from the
 * fill, and distinct byte values along the last line (its colour bars).
 */
static void frame_stats(const unsigned char *f, const struct v4l2_format *fmt,
			unsigned char fill, size_t *changed, int *distinct)
{
	size_t size = fmt->fmt.pix.sizeimage, bpl = fmt->fmt.pix.bytesperline, i;
	const unsigned char *last = f + size - bpl;
	bool seen[256] = { false };

	*changed = 0;
	for (i = 0; i < size; i++)
		*changed += f[i] != fill;
	*distinct = 0;
	for (i = 0; i < bpl; i++)
		if (!seen[last[i]]) {
			seen[last[i]] = true;
			++*distinct;
		}
}

static int check_frame(const unsigned char *f, const struct v4l2_format *fmt,
		       unsigned char fill, uint32_t bytesused)
{
	size_t changed;
	int distinct;

	frame_stats(f, fmt, fill, &changed, &distinct);
	diag("frame %ux%u, %u bytes used of %u: %zu bytes drawn, %d byte values on the last line",
	     fmt->fmt.pix.width, fmt->fmt.pix.height, bytesused,
	     fmt->fmt.pix.sizeimage, changed, distinct);
	CHECK_EQ(bytesused, fmt->fmt.pix.sizeimage);
	CHECK(changed > fmt->fmt.pix.sizeimage / 2);
	CHECK(distinct >= 4);
	return T_PASS;
}

/* vb2-vmalloc imports by vmap: the frame lands in the process's own pinned pages. */
static int t_vivid_capture_into_pin(void)
{
	struct v4l2_format fmt;
	struct dbg_export e;
	const char *what;
	uint32_t used = 0;
	int vfd, fd, dfd = -1, ret;
	size_t len;
	uint64_t h, n;
	char *buf, *m;

	if (need_vivid() == T_SKIP)
		return T_SKIP;
	vfd = open_vivid(0, &fmt);
	CHECK(vfd >= 0);
	len = (fmt.fmt.pix.sizeimage + PAGE - 1) & ~(PAGE - 1);
	fd = pm_open();
	buf = fresh_buffer(len, 81);
	CHECK(fd >= 0 && buf);
	memset(buf, 0xa5, len);
	CHECK_EQ(pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &n), 0);
	CHECK_EQ(unpinnable_pages(buf, len), 0);
	CHECK_EQ(pm_export(fd, h, 0, &dfd), 0);
	ret = capture_one(vfd, dfd, len, &used, &what);
	if (ret)
		diag("%s: %s", what, strerror(-ret));
	CHECK_EQ(ret, 0);
	CHECK_EQ(check_frame((unsigned char *)buf, &fmt, 0xa5, used), T_PASS);
	/* the same bytes through the dma-buf */
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd, 0);
	CHECK(m != MAP_FAILED);
	CHECK(!memcmp(m, buf, len));
	munmap(m, len);
	CHECK(debugfs_export(dfd, &e));
	CHECK_EQ(e.attachments, 0);	/* vb2 let go with the buffers */
	CHECK_EQ(e.vmapped, 0);
	close(vfd);
	close(dfd);
	CHECK_EQ(pm_unpin(fd, h), 0);
	close(fd);
	munmap(buf, len);
	return T_PASS;
}

/* vb2-dma-contig maps the attachment and wants it contiguous: a CONTIG buffer is. */
static int t_vivid_capture_into_contig(void)
{
	struct pinmem_contig_alloc_args a = { .size = sizeof(a) };
	struct v4l2_format fmt;
	const char *what;
	uint32_t used = 0;
	int vfd, fd, dfd = -1, ret;
	char *m;

	if (need_vivid() == T_SKIP)
		return T_SKIP;
	vfd = open_vivid(1, &fmt);
	CHECK(vfd >= 0);
	a.length = (fmt.fmt.pix.sizeimage + PAGE - 1) & ~(PAGE - 1);
	fd = pm_open();
	CHECK(fd >= 0);
	CHECK_EQ(pm_contig_alloc(fd, &a), 0);
	m = mmap(NULL, a.length, RW, MAP_SHARED, fd, a.mmap_offset);
	CHECK(m != MAP_FAILED);
	memset(m, 0x5a, a.length);
	CHECK_EQ(pm_export(fd, a.handle, 0, &dfd), 0);
	ret = capture_one(vfd, dfd, a.length, &used, &what);
	if (ret)
		diag("%s: %s", what, strerror(-ret));
	CHECK_EQ(ret, 0);
	CHECK_EQ(check_frame((unsigned char *)m, &fmt, 0x5a, used), T_PASS);
	close(vfd);
	close(dfd);
	munmap(m, a.length);
	CHECK_EQ(pm_contig_free(fd, a.handle), 0);
	close(fd);
	return T_PASS;
}

/*
 * A pin of scattered base pages is not what dma-contig can use: vivid
 * must refuse it with its own error, and nothing else happens.
 */
static int t_vivid_refuses_scattered_pin(void)
{
	const size_t len = 256 * PAGE;
	struct v4l2_format fmt;
	struct pinmem_query_args q = { .size = sizeof(q) };
	static uint64_t pfns[256];
	const char *what;
	uint32_t used;
	int vfd, fd, dfd = -1, ret;
	uint64_t h, n;
	size_t i, breaks = 0;
	char *buf;

	if (need_vivid() == T_SKIP)
		return T_SKIP;
	vfd = open_vivid(1, &fmt);
	CHECK(vfd >= 0);
	if (len < fmt.fmt.pix.sizeimage)
		return skip("vivid's frame (%u bytes) is larger than the test buffer",
			    fmt.fmt.pix.sizeimage);
	buf = map_anon(len, RW);
	CHECK(buf);
	/* touched from the end, no THP: pages come from the allocator scattered */
	madvise(buf, len, MADV_NOHUGEPAGE);
	for (i = len / PAGE; i-- > 0;)
		buf[i * PAGE] = 1;
	fd = pm_open();
	CHECK(fd >= 0);
	CHECK_EQ(pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &n), 0);
	q.handle = h;
	q.flags = PINMEM_QUERY_PFNS;
	q.pfns = (uintptr_t)pfns;
	q.nr_pfns = len / PAGE;
	CHECK_EQ(pm_query(fd, &q), 0);
	CHECK_EQ(q.nr_pfns, len / PAGE);
	for (i = 1; i < len / PAGE; i++)
		breaks += pfns[i] != pfns[i - 1] + 1;
	diag("pinned pages: %zu breaks in physical contiguity", breaks);
	if (!breaks) {
		pm_unpin(fd, h);
		return skip("the allocator gave the pin contiguous pages after all");
	}
	CHECK_EQ(pm_export(fd, h, 0, &dfd), 0);
	ret = capture_one(vfd, dfd, len, &used, &what);
	diag("scattered pin into vb2-dma-contig: %s: %s", what,
	     ret ? strerror(-ret) : "accepted");
	CHECK(ret != 0);
	CHECK(!strcmp(what, "VIDIOC_QBUF"));
	/* vb2-dma-contig's own words: "contiguous chunk is too small" up to
	 * 6.1, "contiguous mapping is too small" later */
	CHECK(log_has("contiguous chunk is too small") ||
	      log_has("contiguous mapping is too small"));
	close(vfd);
	close(dfd);
	CHECK_EQ(pm_unpin(fd, h), 0);
	close(fd);
	munmap(buf, len);
	return T_PASS;
}

static const struct tcase cases[] = {
	{ "export_args", t_export_args },
	{ "trace_export_attach_release", t_trace_export_attach },
	{ "export_query_counts", t_export_query_counts },
	{ "export_efault_leaves_no_fd", t_export_efault_leaves_no_fd },
	{ "export_outlives_unpin_close_exit", t_export_outlives_unpin_close_exit },
	{ "export_keeps_charge", t_export_keeps_charge },
	{ "export_mmap_other_process", t_export_mmap_other_process },
	{ "export_readonly", t_export_readonly },
	{ "export_contig", t_export_contig },
	{ "export_holds_module", t_export_holds_module },
	{ "offline_movable_with_pins", t_offline_movable_with_pins },
	{ "vgem_import_holds_pages", t_vgem_import_holds_pages },
	{ "vgem_second_process_reads", t_vgem_second_process_reads },
	{ "vgem_readonly_pin", t_vgem_readonly_pin },
	{ "vgem_import_survives_exporter", t_vgem_import_survives_exporter },
	{ "udmabuf_side_by_side", t_udmabuf_side_by_side },
	{ "pin_memfd", t_pin_memfd },
	{ "pin_memfd_hugetlb", t_pin_memfd_hugetlb },
	{ "edu_dma_through_dmabufs", t_edu_dma_through_dmabufs },
	{ "importer_mmap_keeps_readonly", t_importer_mmap_keeps_readonly },
	{ "vivid_capture_into_pin", t_vivid_capture_into_pin },
	{ "vivid_capture_into_contig", t_vivid_capture_into_contig },
	{ "vivid_refuses_scattered_pin", t_vivid_refuses_scattered_pin },
};

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	cma_range(&cma_start, &cma_end);
	return tap_main(cases, sizeof(cases) / sizeof(cases[0]));
}
