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

#include "admin.h"
#include "devices.h"
#include "pinmem_test_uapi.h"
#include "util.h"
#include "harness.h"

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
	ksft_print_msg("buffer of %zu KiB: %zu pages in ZONE_MOVABLE/CMA before PIN\n",
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

/*
 * Every fixture's setup: a dma-buf's reader may go before its writer, and
 * unpinnable_pages() needs the CMA area's bounds.
 */
static void dmabuf_setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	cma_range(&cma_start, &cma_end);
}

/*
 * The fixtures, one per importer or subject, hold nothing: the cases open
 * /dev/pinmem themselves. Each checks, once a case's process is gone, that
 * nothing is left behind.
 */
/* EXPORT and the dma-buf's lifetime, with no importer */
FIXTURE(export) {};

FIXTURE_SETUP(export)
{
	dmabuf_setup();
}

FIXTURE_TEARDOWN_PARENT(export)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

/* memory hot-unplug */
FIXTURE(hotplug) {};

FIXTURE_SETUP(hotplug)
{
	dmabuf_setup();
}

FIXTURE_TEARDOWN_PARENT(hotplug)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

/* udmabuf beside pinmem */
FIXTURE(udmabuf) {};

FIXTURE_SETUP(udmabuf)
{
	dmabuf_setup();
}

FIXTURE_TEARDOWN_PARENT(udmabuf)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

/* PIN_MEMFD's dma-bufs */
FIXTURE(memfd_dmabuf) {};

FIXTURE_SETUP(memfd_dmabuf)
{
	dmabuf_setup();
}

FIXTURE_TEARDOWN_PARENT(memfd_dmabuf)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

/* QEMU's edu device, a real DMA engine */
FIXTURE(edu) {};

FIXTURE_SETUP(edu)
{
	dmabuf_setup();
}

FIXTURE_TEARDOWN_PARENT(edu)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

PM_TEST_F(export, args, 120)
{
	struct pinmem_export_args a = { .size = sizeof(a) };
	int fd = pm_open(), dfd = -1;
	uint64_t h, n;
	char *buf = map_anon(4 * PAGE, RW);

	ASSERT_TRUE(fd >= 0 && buf);
	ASSERT_EQ(-ENOENT, pm_export(fd, 1, 0, &dfd));
	ASSERT_EQ(0, pm_pin(fd, buf, 4 * PAGE, PINMEM_PIN_WRITE, &h, &n));
	ASSERT_EQ(-EINVAL, pm_export(fd, h, 1U << 5, &dfd));
	a.handle = h;
	a.reserved = 1;
	ASSERT_TRUE(ioctl(fd, PINMEM_IOC_EXPORT, &a) < 0 && errno == EINVAL);
	a.size = PINMEM_EXPORT_SIZE_VER0 - 4;
	a.reserved = 0;
	ASSERT_TRUE(ioctl(fd, PINMEM_IOC_EXPORT, &a) < 0 && errno == EINVAL);
	ASSERT_EQ(0, pm_export(fd, h, PINMEM_EXPORT_CLOEXEC, &dfd));
	ASSERT_EQ(FD_CLOEXEC, fcntl(dfd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(O_RDWR, fcntl(dfd, F_GETFL) & O_ACCMODE);
	ASSERT_EQ(4 * PAGE, lseek(dfd, 0, SEEK_END));
	close(dfd);
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
	munmap(buf, 4 * PAGE);
}

/* QUERY reports the live exports of a pin; they go when the dma-bufs do. */
PM_TEST_F(export, query_counts, 120)
{
	struct pinmem_query_args q = { .size = sizeof(q) };
	struct pinmem_query_args q0 = { .size = PINMEM_QUERY_SIZE_VER0 };
	int fd = pm_open(), d1 = -1, d2 = -1;
	char *buf = map_anon(8 * PAGE, RW);
	uint64_t h, n;

	ASSERT_TRUE(fd >= 0 && buf);
	ASSERT_EQ(0, pm_pin(fd, buf, 8 * PAGE, PINMEM_PIN_WRITE, &h, &n));
	q.handle = h;
	ASSERT_EQ(0, pm_query(fd, &q));
	ASSERT_EQ(0, q.nr_exports);
	ASSERT_EQ(0, pm_export(fd, h, 0, &d1));
	ASSERT_EQ(0, pm_export(fd, h, 0, &d2));
	ASSERT_EQ(0, pm_query(fd, &q));
	ASSERT_EQ(2, q.nr_exports);
	ASSERT_EQ(0, q.nr_attachments);
	ASSERT_EQ(2, debugfs_stat("exports"));
	/* an old caller's shorter struct still works */
	q0.handle = h;
	ASSERT_EQ(0, pm_query(fd, &q0));
	close(d1);
	ASSERT_EQ(0, pm_query(fd, &q));
	ASSERT_EQ(1, q.nr_exports);
	close(d2);
	ASSERT_EQ(0, pm_query(fd, &q));
	ASSERT_EQ(0, q.nr_exports);
	ASSERT_EQ(0, debugfs_stat("exports"));
	close(fd);
	munmap(buf, 8 * PAGE);
}

/*
 * The args struct in read-only memory: the module reads it, cannot write
 * the fd back, and must then leave no fd and no dma-buf behind.
 */
PM_TEST_F(export, efault_leaves_no_fd, 120)
{
	int fd = pm_open(), probe, probe2;
	struct pinmem_export_args *a;
	char *buf = map_anon(PAGE, RW);
	uint64_t h, n;

	ASSERT_TRUE(fd >= 0 && buf);
	ASSERT_EQ(0, pm_pin(fd, buf, PAGE, PINMEM_PIN_WRITE, &h, &n));
	a = map_anon(PAGE, RW);
	ASSERT_TRUE(a);
	*a = (struct pinmem_export_args){ .size = sizeof(*a), .handle = h };
	ASSERT_EQ(0, mprotect(a, PAGE, PROT_READ));
	probe = dup(0);
	close(probe);
	ASSERT_TRUE(ioctl(fd, PINMEM_IOC_EXPORT, a) < 0);
	ASSERT_EQ(EFAULT, errno);
	probe2 = dup(0);
	close(probe2);
	ASSERT_EQ(probe, probe2);	/* the reserved fd was given back */
	ASSERT_EQ(0, debugfs_stat("exports"));
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
	munmap(a, PAGE);
	munmap(buf, PAGE);
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
PM_TEST_F(export, outlives_unpin_close_exit, 120)
{
	const size_t len = 4 * MiB;
	int sv[2], status, dfd;
	long before = pins_outstanding();
	char *map;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_TRUE(pid >= 0);
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
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_TRUE(dfd >= 0);
	/* the exporter is gone; its pages are not */
	ASSERT_EQ(len / PAGE, pins_outstanding() - before);
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd, 0);
	ASSERT_TRUE(map != MAP_FAILED);
	close(dfd);
	ASSERT_EQ(len / PAGE, pins_outstanding() - before);
	ASSERT_EQ(0, check_pattern(map, len, 11));
	ASSERT_EQ(1, debugfs_stat("exports"));
	munmap(map, len);
	ASSERT_EQ(0, pins_outstanding() - before);
	ASSERT_EQ(0, debugfs_stat("exports"));
}

/* Pages stay charged to the exporter (VmPin) while a dma-buf holds them. */
PM_TEST_F(export, keeps_charge, 120)
{
	const size_t len = 2 * MiB;
	long vmpin0 = vmpin_kb();
	char *buf = map_anon(len, RW);
	int fd = pm_open(), dfd = -1;
	uint64_t h, n;

	ASSERT_TRUE(fd >= 0 && buf);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &n));
	ASSERT_EQ(0, pm_export(fd, h, 0, &dfd));
	ASSERT_EQ(0, pm_unpin(fd, h));
	ASSERT_EQ((long)(len >> 10), vmpin_kb() - vmpin0);
	close(fd);
	ASSERT_EQ((long)(len >> 10), vmpin_kb() - vmpin0);
	close(dfd);
	ASSERT_EQ(0, vmpin_kb() - vmpin0);
	munmap(buf, len);
}

/*
 * Another process maps the dma-buf and sees what the exporter writes
 * later: the same pages, not a copy. CPU access through DMA_BUF_IOCTL_SYNC.
 */
PM_TEST_F(export, mmap_other_process, 120)
{
	const size_t len = 1 * MiB;
	char *buf = fresh_buffer(len, 21);
	int fd = pm_open(), dfd = -1, go[2], done[2], status;
	uint64_t h, n;
	pid_t pid;
	char c;

	ASSERT_TRUE(fd >= 0 && buf);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &n));
	ASSERT_EQ(0, unpinnable_pages(buf, len));
	ASSERT_EQ(0, pm_export(fd, h, 0, &dfd));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	ASSERT_TRUE(pid >= 0);
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
	ASSERT_EQ(1, read(done[0], &c, 1));
	fill_pattern(buf, len, 22);
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* part of the buffer, at an offset */
	{
		char *m = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, dfd, 5 * PAGE);

		ASSERT_TRUE(m != MAP_FAILED);
		ASSERT_TRUE(!memcmp(m, buf + 5 * PAGE, 2 * PAGE));
		munmap(m, 2 * PAGE);
		ASSERT_TRUE(mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, dfd,
				 len - PAGE) == MAP_FAILED);
		ASSERT_TRUE(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, dfd, 0) == MAP_FAILED);
	}
	close(go[0]); close(go[1]); close(done[0]); close(done[1]);
	close(dfd);
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
	munmap(buf, len);
}

/* A pin made for reading exports read-only. */
PM_TEST_F(export, readonly, 120)
{
	const size_t len = 64 * PAGE;
	char *buf = fresh_buffer(len, 31), *m;
	int fd = pm_open(), dfd = -1;
	uint64_t h, n;

	ASSERT_TRUE(fd >= 0 && buf);
	ASSERT_EQ(0, pm_pin(fd, buf, len, 0, &h, &n));
	ASSERT_EQ(0, pm_export(fd, h, 0, &dfd));
	ASSERT_EQ(O_RDONLY, fcntl(dfd, F_GETFL) & O_ACCMODE);
	ASSERT_TRUE(mmap(NULL, len, RW, MAP_SHARED, dfd, 0) == MAP_FAILED);
	ASSERT_EQ(EACCES, errno);
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd, 0);
	ASSERT_TRUE(m != MAP_FAILED);
	ASSERT_EQ(0, check_pattern(m, len, 31));
	ASSERT_TRUE(mprotect(m, len, RW) < 0);
	munmap(m, len);
	close(dfd);
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
	munmap(buf, len);
}

/* A contiguous buffer exports as well, and outlives CONTIG_FREE. */
PM_TEST_F(export, contig, 120)
{
	struct pinmem_contig_alloc_args a = { .size = sizeof(a), .length = 1 * MiB };
	int fd = pm_open(), dfd = -1;
	char *m, *m2;

	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_contig_alloc(fd, &a));
	m = mmap(NULL, a.length, RW, MAP_SHARED, fd, a.mmap_offset);
	ASSERT_TRUE(m != MAP_FAILED);
	fill_pattern(m, a.length, 41);
	ASSERT_EQ(0, pm_export(fd, a.handle, 0, &dfd));
	munmap(m, a.length);
	ASSERT_EQ(0, pm_contig_free(fd, a.handle));
	close(fd);
	ASSERT_TRUE(debugfs_value("cma", "bytes_in_use") > 0);
	m2 = mmap(NULL, a.length, RW, MAP_SHARED, dfd, 0);
	ASSERT_TRUE(m2 != MAP_FAILED);
	ASSERT_EQ(0, check_pattern(m2, a.length, 41));
	munmap(m2, a.length);
	close(dfd);
	ASSERT_EQ(0, debugfs_value("cma", "bytes_in_use"));
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
PM_TEST_F(export, holds_module, 120)
{
	char *buf = map_anon(4 * PAGE, RW);
	int fd = pm_open(), dfd = -1;
	long base;
	uint64_t h, n;

	ASSERT_TRUE(fd >= 0 && buf);
	ASSERT_EQ(0, pm_pin(fd, buf, 4 * PAGE, PINMEM_PIN_WRITE, &h, &n));
	ASSERT_EQ(0, pm_export(fd, h, 0, &dfd));
	close(fd);
	base = module_refcnt();
	ASSERT_TRUE(base >= 1);
	ASSERT_TRUE(syscall(SYS_delete_module, "pinmem", O_NONBLOCK) < 0);
	ASSERT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	ASSERT_TRUE(!access("/dev/pinmem", F_OK));
	close(dfd);
	ASSERT_EQ(base - 1, module_refcnt());
	munmap(buf, 4 * PAGE);
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
 * Move the caller to a CPU of @blk's NUMA node: a fresh buffer takes that
 * node's ZONE_MOVABLE first (and the blocks of other nodes last, if ever).
 * Nothing to do on one node, or where the node has no CPU.
 */
static void run_on_node_of(long blk)
{
	char path[128];
	struct dirent *d;
	int node = -1;
	long cpu;
	DIR *dir;

	snprintf(path, sizeof(path), MEMDIR "/memory%ld", blk);
	dir = opendir(path);
	while (dir && (d = readdir(dir)))
		if (sscanf(d->d_name, "node%d", &node) == 1)
			break;
	if (dir)
		closedir(dir);
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", node);
	cpu = node < 0 ? -1 : read_long(path);
	if (cpu >= 0)
		run_on_cpu(0, cpu);
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
PM_TEST_F(hotplug, offline_movable_with_pins, 600)
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

	NEED_MOVABLE();
	if (access(MEMDIR "/block_size_bytes", F_OK))
		SKIP(return, "no memory hotplug in sysfs (CONFIG_MEMORY_HOTPLUG)");
	if (meminfo_kb("MemAvailable") < (long)(big + 200 * MiB) / 1024)
		SKIP(return, "less than %zu MiB available", (big + 200 * MiB) / MiB);
	nb = offlinable_blocks(blks, MAX_MOVABLE_BLOCKS, &all);
	ksft_print_msg("%d of %d blocks wholly in ZONE_MOVABLE can go offline\n", nb, all);
	if (!nb)
		SKIP(return, "no block of ZONE_MOVABLE can go offline here");
	run_on_node_of(blks[0]);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);

	/* short-term: the pinned page keeps its block online */
	buf = fresh_buffer(big, 111);
	ASSERT_TRUE(buf);
	for (off = 0; off < big; off += PAGE) {
		blk = block_of(buf + off);
		if (in_set(blks, nb, blk))
			break;
	}
	if (off == big)
		SKIP(return, "no page of a fresh buffer is in a block that can go offline");
	ASSERT_EQ(0, pm_pin(fd, buf, big, PINMEM_PIN_WRITE | PINMEM_PIN_SHORTTERM, &h, &n));
	r = block_set(blk, "offline", 5);
	ksft_print_msg("offline memory%ld with a short-term pin in it: %s\n", blk,
		       r ? strerror(-r) : "offlined");
	ASSERT_TRUE(r == -EBUSY || r == -EINTR);
	ASSERT_TRUE(block_is(blk, "state", "online"));
	ASSERT_EQ(0, pm_unpin(fd, h));
	r = block_set(blk, "offline", 60);
	ksft_print_msg("offline memory%ld once unpinned: %s\n", blk, r ? strerror(-r) : "offlined");
	ASSERT_EQ(0, r);
	ASSERT_EQ(0, block_set(blk, "online_movable", 60));
	munmap(buf, big);

	/* long-term, exported: all of those blocks go */
	buf = fresh_buffer(len, 112);
	ASSERT_TRUE(buf);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &n));
	ASSERT_EQ(0, pm_export(fd, h, 0, &dfd));
	ASSERT_EQ(0, pm_unpin(fd, h));
	for (i = 0, r = 0; i < nb; i++) {
		r = block_set(blks[i], "offline", 60);
		if (r) {
			ksft_print_msg("offline memory%ld: %s\n", blks[i], strerror(-r));
			break;
		}
	}
	ksft_print_msg("offlined %d of those %d blocks with a long-term pin and its dma-buf held\n",
		       i, nb);
	while (i-- > 0)
		ASSERT_EQ(0, block_set(blks[i], "online_movable", 60));
	ASSERT_EQ(0, r);
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd, 0);
	ASSERT_TRUE(m != MAP_FAILED);
	ASSERT_EQ(0, check_pattern(m, len, 112));
	munmap(m, len);
	close(dfd);
	close(fd);
	munmap(buf, len);
}

/* ------------------------------------------------------------------ */
/* Kernel modules of the stock kernel that import dma-bufs.           */

/* loads vgem: is there a vgem device now? */
static bool have_vgem(void)
{
	int fd;

	load_set("vgem", "");
	fd = open_vgem();
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* vgem (DRM PRIME) imports */
FIXTURE(vgem) {};

FIXTURE_SETUP(vgem)
{
	dmabuf_setup();
	if (!have_vgem())
		SKIP(return, "no /dev/dri/card* is vgem: the kernel has no vgem module, or it did not load");
}

FIXTURE_TEARDOWN_PARENT(vgem)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
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
PM_TEST_F(vgem, import_holds_pages, 120)
{
	const size_t len = 2 * MiB;
	long before = pins_outstanding();
	struct pinmem_query_args q = { .size = sizeof(q) };
	struct dbg_export e;
	int fd, dfd = -1, drm;
	uint32_t gh = 0, gh2 = 0;
	uint64_t h, n;
	char *buf;

	drm = open_vgem();
	fd = pm_open();
	buf = fresh_buffer(len, 51);
	ASSERT_TRUE(drm >= 0 && fd >= 0 && buf);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &n));
	ASSERT_EQ(0, pm_export(fd, h, 0, &dfd));
	ASSERT_EQ(0, prime_import(drm, dfd, &gh));
	ASSERT_EQ(0, prime_import(drm, dfd, &gh2));
	ASSERT_EQ(gh, gh2);	/* the same object: one import */
	ASSERT_TRUE(debugfs_export(dfd, &e));
	ASSERT_EQ(1, e.attachments);
	ASSERT_TRUE(e.mapped <= 1);
	ksft_print_msg("vgem import: %u attachment, %u mapped (%s)\n", e.attachments,
		       e.mapped, e.mapped ? "maps at import" : "attaches only");
	q.handle = h;
	ASSERT_EQ(0, pm_query(fd, &q));
	ASSERT_EQ(1, q.nr_exports);
	ASSERT_EQ(1, q.nr_attachments);

	close(dfd);
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
	ASSERT_EQ(len / PAGE, pins_outstanding() - before);
	ASSERT_EQ(1, debugfs_stat("exports"));
	ASSERT_EQ(0, gem_close(drm, gh));
	ASSERT_EQ(0, pins_outstanding() - before);
	ASSERT_EQ(0, debugfs_stat("exports"));
	close(drm);
	munmap(buf, len);
}

/*
 * The dma-buf tracepoints: pinmem:pinmem_export when the dma-buf is made,
 * pinmem:pinmem_attach and pinmem:pinmem_detach around vgem's import, and
 * pinmem:pinmem_export_release when the last reference goes, all naming the
 * dma-buf's inode (as /proc/pid/fdinfo and debugfs "exports" do).
 */
PM_TEST_F(vgem, trace_export_attach_release, 120)
{
	const size_t len = 16 * PAGE;
	char ino[48], pages[32];
	struct stat st;
	int fd, dfd = -1, drm, r;
	uint32_t gh = 0;
	uint64_t h, n;
	char *buf, *tr;

	r = trace_start();
	if (r == -ENOENT)
		SKIP(return, "no /sys/kernel/tracing/events: the kernel has no CONFIG_TRACING");
	ASSERT_EQ(0, r);
	drm = open_vgem();
	fd = pm_open();
	buf = fresh_buffer(len, 52);
	ASSERT_TRUE(drm >= 0 && fd >= 0 && buf);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &n));
	ASSERT_EQ(0, pm_export(fd, h, 0, &dfd));
	ASSERT_EQ(0, fstat(dfd, &st));
	ASSERT_EQ(0, prime_import(drm, dfd, &gh));
	close(dfd);
	ASSERT_EQ(0, pm_unpin(fd, h));
	ASSERT_EQ(0, gem_close(drm, gh));	/* the last reference */
	close(fd);
	close(drm);
	munmap(buf, len);
	tr = trace_stop();
	ASSERT_TRUE(tr);
	snprintf(ino, sizeof(ino), "ino=%lu ", (unsigned long)st.st_ino);
	snprintf(pages, sizeof(pages), "pages=%zu", len / PAGE);
	r = trace_find(tr, "pinmem_export", ino) && trace_find(tr, "pinmem_export", "kind=pin") &&
	    trace_find(tr, "pinmem_attach", ino) && trace_find(tr, "pinmem_attach", "dev=vgem") &&
	    trace_find(tr, "pinmem_detach", ino) &&
	    trace_find(tr, "pinmem_export_release", ino) &&
	    trace_find(tr, "pinmem_export_release", pages) &&
	    trace_find(tr, "pinmem_unpin", "exports=1");
	if (!r)
		ksft_print_msg("trace:\n%s\n", tr);
	free(tr);
	ASSERT_TRUE(r);
}

/*
 * A second process imports the first one's dma-buf into vgem, gets it
 * back from vgem as a PRIME fd and reads, through it, what the first
 * process wrote into its own pinned memory.
 */
PM_TEST_F(vgem, second_process_reads, 120)
{
	const size_t len = 1 * MiB;
	int fd, dfd = -1, status;
	uint64_t h, n;
	char *buf;
	pid_t pid;

	fd = pm_open();
	buf = fresh_buffer(len, 61);
	ASSERT_TRUE(fd >= 0 && buf);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &n));
	ASSERT_EQ(0, unpinnable_pages(buf, len));
	ASSERT_EQ(0, pm_export(fd, h, 0, &dfd));
	pid = fork();
	ASSERT_TRUE(pid >= 0);
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
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	close(dfd);
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
	munmap(buf, len);
}

/*
 * The exporting process passes its dma-buf to another, which imports it
 * into vgem; then the exporter exits. The importer's attachment holds the
 * dead process's pages until it lets go.
 */
PM_TEST_F(vgem, import_survives_exporter, 120)
{
	const size_t len = 1 * MiB;
	long before = pins_outstanding();
	int sv[2], status, dfd, drm;
	struct dbg_export e;
	uint32_t gh = 0;
	pid_t pid;
	char c;

	drm = open_vgem();
	ASSERT_TRUE(drm >= 0);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_TRUE(pid >= 0);
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
	ASSERT_TRUE(dfd >= 0);
	ASSERT_EQ(0, prime_import(drm, dfd, &gh));
	ASSERT_TRUE(debugfs_export(dfd, &e));
	ASSERT_EQ(1, e.attachments);
	close(dfd);
	ASSERT_EQ(1, write(sv[0], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	close(sv[0]);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(len / PAGE, pins_outstanding() - before);
	ASSERT_EQ(1, debugfs_stat("exports"));
	ASSERT_EQ(0, gem_close(drm, gh));
	ASSERT_EQ(0, pins_outstanding() - before);
	ASSERT_EQ(0, debugfs_stat("exports"));
	close(drm);
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
PM_TEST_F(udmabuf, side_by_side, 300)
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
		SKIP(return, "no /dev/udmabuf: this kernel has no CONFIG_UDMABUF (Debian builds it in from 6.12 on amd64 and arm64)");
	mu = fresh_memfd(len, 101, &um);
	mp = fresh_memfd(len, 102, &pm);
	ASSERT_TRUE(mu >= 0 && mp >= 0);
	u_before = unpinnable_pages(um, len);
	p_before = unpinnable_pages(pm, len);
	c.memfd = mu;
	udb = ioctl(ufd, T_UDMABUF_CREATE, &c);
	ASSERT_TRUE(udb >= 0);
	/* what the mapping maps now: refault after dropping the old PTEs */
	ASSERT_EQ(0, madvise(um, len, MADV_DONTNEED));
	ASSERT_EQ(0, check_pattern(um, len, 101));
	u_after = unpinnable_pages(um, len);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, pm, len, PINMEM_PIN_WRITE, &h, &n));
	ASSERT_EQ(0, pm_export(fd, h, 0, &dfd));
	p_after = unpinnable_pages(pm, len);
	ksft_print_msg("pages in ZONE_MOVABLE/CMA before -> after: udmabuf %zu -> %zu, pinmem %zu -> %zu\n",
		       u_before, u_after, p_before, p_after);
	ASSERT_EQ(0, p_after);
	/* the dma-bufs show the memfds' contents */
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd, 0);
	ASSERT_TRUE(m != MAP_FAILED);
	ASSERT_EQ(0, check_pattern(m, len, 102));
	munmap(m, len);
	if (have_vgem()) {
		drm = open_vgem();
		ASSERT_TRUE(drm >= 0);
		ASSERT_EQ(0, prime_import(drm, udb, &gh));
		ASSERT_EQ(0, gem_close(drm, gh));
		ASSERT_EQ(0, prime_import(drm, dfd, &gh));
		ASSERT_EQ(0, gem_close(drm, gh));
		close(drm);
	}
	close(dfd);
	close(udb);
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
	munmap(um, len);
	munmap(pm, len);
	close(mu);
	close(mp);
	close(ufd);
}

/*
 * PIN_MEMFD, what udmabuf does but long-term: a shmem memfd range pinned
 * without a mapping. Its pages leave ZONE_MOVABLE/CMA (the mapping, faulted
 * again, shows where they went), ACCESS and EXPORT see the file's data, and
 * the dma-buf imports into vgem. Before 6.11 the kernel has no
 * memfd_pin_folios(): EOPNOTSUPP, and the case skips.
 */
PM_TEST_F(memfd_dmabuf, pin_memfd, 300)
{
	const size_t len = 2 * MiB;
	struct pinmem_query_args q = { .size = sizeof(q) };
	int fd = pm_open(), mfd, dfd = -1, pipefd[2], drm, r;
	size_t before, after;
	uint64_t h, h2;
	uint32_t gh = 0;
	char *map, *m, tmp[PAGE];

	ASSERT_TRUE(fd >= 0);
	mfd = fresh_memfd(len, 131, &map);
	ASSERT_TRUE(mfd >= 0);
	before = unpinnable_pages(map, len);
	r = pm_pin_memfd(fd, mfd, 0, len, PINMEM_PIN_WRITE, &h);
	if (r == -EOPNOTSUPP) {
		munmap(map, len);
		close(mfd);
		close(fd);
		SKIP(return, "PIN_MEMFD is EOPNOTSUPP: the kernel has no memfd_pin_folios() (6.11 on)");
	}
	ASSERT_EQ(0, r);
	/* bad input */
	ASSERT_EQ(-EINVAL, pm_pin_memfd(fd, mfd, 0, len + PAGE, 0, &h2));
	ASSERT_EQ(-EINVAL, pm_pin_memfd(fd, mfd, 1, PAGE, 0, &h2));
	ASSERT_EQ(-EINVAL, pm_pin_memfd(fd, mfd, 0, 0, 0, &h2));
	ASSERT_EQ(-EBADF, pm_pin_memfd(fd, 12345, 0, PAGE, 0, &h2));
	ASSERT_EQ(0, pipe(pipefd));
	ASSERT_EQ(-EINVAL, pm_pin_memfd(fd, pipefd[0], 0, PAGE, 0, &h2));
	close(pipefd[0]);
	close(pipefd[1]);
	/* where the pages went */
	ASSERT_EQ(0, madvise(map, len, MADV_DONTNEED));
	ASSERT_EQ(0, check_pattern(map, len, 131));
	after = unpinnable_pages(map, len);
	ksft_print_msg("memfd pages in ZONE_MOVABLE/CMA: %zu before PIN_MEMFD, %zu after\n",
		       before, after);
	ASSERT_EQ(0, after);
	q.handle = h;
	ASSERT_EQ(0, pm_query(fd, &q));
	ASSERT_EQ(len / PAGE, q.nr_pages);
	ASSERT_EQ(0, q.addr);
	ASSERT_TRUE(q.pin_flags & PINMEM_PIN_MEMFD);
	ASSERT_EQ(0, q.zone_pages[PINMEM_ZONE_MOVABLE]);
	/* the pinned pages are the file's: a write through ACCESS shows in the mapping */
	memset(tmp, 0x77, sizeof(tmp));
	ASSERT_EQ(0, pm_access(fd, h, 3 * PAGE, PAGE, tmp, PINMEM_ACCESS_WRITE));
	ASSERT_EQ(0x77, (unsigned char)map[3 * PAGE + 100]);
	fill_pattern(map + 3 * PAGE, PAGE, 7);
	ASSERT_EQ(0, pm_export(fd, h, 0, &dfd));
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd, 0);
	ASSERT_TRUE(m != MAP_FAILED);
	ASSERT_TRUE(!memcmp(m, map, len));
	munmap(m, len);
	if (have_vgem()) {
		drm = open_vgem();
		ASSERT_TRUE(drm >= 0);
		ASSERT_EQ(0, prime_import(drm, dfd, &gh));
		ASSERT_EQ(0, gem_close(drm, gh));
		close(drm);
	}
	close(dfd);
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
	munmap(map, len);
	close(mfd);
}

/* PIN_MEMFD of a hugetlb memfd: huge pages, one pin per folio, released as taken. */
PM_TEST_F(memfd_dmabuf, pin_memfd_hugetlb, 300)
{
	const size_t huge = hugetlb_size(), len = 4 * huge;
	struct pinmem_query_args q = { .size = sizeof(q) };
	int fd = pm_open(), mfd, r;
	long pins0 = pins_outstanding();
	FILE *f;
	long nr0 = -1;
	uint64_t h;
	char *map;

	ASSERT_TRUE(fd >= 0);
	if (!huge)
		SKIP(return, "no hugetlb pages (no Hugepagesize in /proc/meminfo)");
	f = fopen("/proc/sys/vm/nr_hugepages", "r");
	if (!f || fscanf(f, "%ld", &nr0) != 1)
		SKIP(return, "no /proc/sys/vm/nr_hugepages (CONFIG_HUGETLBFS)");
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
		ksft_print_msg("PIN_MEMFD of a hugetlb memfd: %s\n", strerror(-r));
	ASSERT_EQ(0, r);
	/* 4 huge folios cover half a page into the first to half into the last */
	ASSERT_EQ(4, pins_outstanding() - pins0);
	q.handle = h;
	ASSERT_EQ(0, pm_query(fd, &q));
	ASSERT_EQ((len - huge) / PAGE, q.nr_huge);
	ksft_print_msg("hugetlb PIN_MEMFD: %llu pages, %llu in ZONE_MOVABLE after PIN\n",
		       (unsigned long long)q.nr_pages,
		       (unsigned long long)q.zone_pages[PINMEM_ZONE_MOVABLE]);
	ASSERT_EQ(0, q.zone_pages[PINMEM_ZONE_MOVABLE]);
	ASSERT_EQ(0, pm_unpin(fd, h));
	ASSERT_EQ(0, pins_outstanding() - pins0);
	ASSERT_EQ(0, check_pattern(map, len, 141));
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
		SKIP(return, "PIN_MEMFD is EOPNOTSUPP: the kernel has no memfd_pin_folios() (6.11 on)");
	if (r)
		SKIP(return, "no hugetlb memfd of 4 huge pages: %s", strerror(-r));
}

/*
 * A read-only pin must not become device-writable: vgem maps its imports
 * for DMA_BIDIRECTIONAL, so where it maps at import the import is refused
 * with -EACCES; where it only attaches, the import succeeds and nothing
 * is mapped.
 */
PM_TEST_F(vgem, readonly_pin, 120)
{
	const size_t len = 64 * PAGE;
	struct dbg_export e;
	int fd, dfd = -1, drm, ret, maps;
	uint32_t gh = 0;
	uint64_t h, n;
	char *buf;

	drm = open_vgem();
	fd = pm_open();
	buf = fresh_buffer(len, 71);
	ASSERT_TRUE(drm >= 0 && fd >= 0 && buf);
	maps = vgem_maps_at_import(drm, fd);
	ASSERT_TRUE(maps == 0 || maps == 1);
	ASSERT_EQ(0, pm_pin(fd, buf, len, 0, &h, &n));
	ASSERT_EQ(0, pm_export(fd, h, 0, &dfd));
	ret = prime_import(drm, dfd, &gh);
	ksft_print_msg("read-only dma-buf into vgem: %s\n", ret ? strerror(-ret) : "imported");
	if (maps) {
		ASSERT_EQ(-EACCES, ret);
		ASSERT_TRUE(debugfs_export(dfd, &e));
		ASSERT_EQ(0, e.attachments);
	} else {
		ASSERT_EQ(0, ret);
		ASSERT_TRUE(debugfs_export(dfd, &e));
		ASSERT_EQ(1, e.attachments);
		ASSERT_EQ(0, e.mapped);
		ASSERT_EQ(0, gem_close(drm, gh));
	}
	close(dfd);
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
	close(drm);
	munmap(buf, len);
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
PM_TEST_F(edu, dma_through_dmabufs, 300)
{
	const size_t len = 64 * 1024;	/* 64 transfers of 100 ms (QEMU's timer) */
	struct pinmem_edu_copy c = { .len = len };
	int fd, edu, sfd = -1, dfd = -1, r;
	uint64_t hs, hd, n, lo1, hi1, lo2, hi2;
	char *src, *dst;
	bool iommu;

	edu = open_edu();
	if (edu < 0)
		SKIP(return, "no /dev/pinmem_edu: no edu PCI device in this VM, or the test driver did not load");
	iommu = log_has("behind an IOMMU");
	fd = pm_open();
	src = fresh_buffer(len, 121);
	dst = fresh_buffer(len, 122);
	ASSERT_TRUE(fd >= 0 && src && dst);
	ASSERT_EQ(0, pm_pin(fd, src, len, 0, &hs, &n));
	ASSERT_EQ(0, pm_pin(fd, dst, len, PINMEM_PIN_WRITE, &hd, &n));
	ASSERT_EQ(0, unpinnable_pages(src, len) + unpinnable_pages(dst, len));
	ASSERT_EQ(0, pm_export(fd, hs, 0, &sfd));
	ASSERT_EQ(0, pm_export(fd, hd, 0, &dfd));

	/* the read pin as the destination: refused before the device is touched */
	c.src_fd = dfd;
	c.dst_fd = sfd;
	ASSERT_TRUE(ioctl(edu, PINMEM_EDU_COPY, &c) < 0);
	ASSERT_EQ(EACCES, errno);

	c.src_fd = sfd;
	c.dst_fd = dfd;
	r = ioctl(edu, PINMEM_EDU_COPY, &c);
	if (r)
		ksft_print_msg("PINMEM_EDU_COPY: %s\n", strerror(errno));
	ASSERT_EQ(0, r);
	ASSERT_EQ(2 * len / 2048, c.nr_xfers);
	ASSERT_EQ(0, check_pattern(dst, len, 121));
	ASSERT_EQ(0, check_pattern(src, len, 121));
	ASSERT_EQ(0, pin_phys_range(fd, hs, len / PAGE, &lo1, &hi1));
	ASSERT_EQ(0, pin_phys_range(fd, hd, len / PAGE, &lo2, &hi2));
	ksft_print_msg("%s: %llu transfers, bus addresses %#llx-%#llx; pages at %#llx-%#llx\n",
		       iommu ? "behind an IOMMU" : "no IOMMU", (unsigned long long)c.nr_xfers,
		       (unsigned long long)c.bus_min, (unsigned long long)c.bus_max,
		       (unsigned long long)(lo1 < lo2 ? lo1 : lo2),
		       (unsigned long long)(hi1 > hi2 ? hi1 : hi2));
	if (!iommu) {
		ASSERT_TRUE(c.bus_min >= (lo1 < lo2 ? lo1 : lo2));
		ASSERT_TRUE(c.bus_max <= (hi1 > hi2 ? hi1 : hi2));
	}
	close(sfd);
	close(dfd);
	ASSERT_EQ(0, pm_unpin(fd, hs));
	ASSERT_EQ(0, pm_unpin(fd, hd));
	close(fd);
	close(edu);
	munmap(src, len);
	munmap(dst, len);
}

/*
 * An importer maps a dma-buf with dma_buf_mmap() from its own mmap(), with
 * its own file's mode: a read pin's export stays read-only even so (no
 * PROT_WRITE mapping, no mprotect() to one), a write pin's maps writable.
 */
PM_TEST_F(edu, importer_mmap_keeps_readonly, 120)
{
	const size_t len = 16 * PAGE;
	int fd, edu, rfd = -1, wfd = -1;
	char *buf, *m;
	uint64_t hr, hw;

	edu = open_edu();
	if (edu < 0)
		SKIP(return, "no /dev/pinmem_edu: no edu PCI device in this VM, or the test driver did not load");
	fd = pm_open();
	buf = fresh_buffer(len, 124);
	ASSERT_TRUE(fd >= 0 && buf);
	ASSERT_EQ(0, pm_pin(fd, buf, len / 2, 0, &hr, NULL));
	ASSERT_EQ(0, pm_pin(fd, buf + len / 2, len / 2, PINMEM_PIN_WRITE, &hw, NULL));
	ASSERT_EQ(0, pm_export(fd, hr, 0, &rfd));
	ASSERT_EQ(0, pm_export(fd, hw, 0, &wfd));

	ASSERT_EQ(0, ioctl(edu, PINMEM_EDU_MMAP_DMABUF, &rfd));
	m = mmap(NULL, len / 2, PROT_READ | PROT_WRITE, MAP_SHARED, edu, 0);
	ASSERT_EQ(MAP_FAILED, m)
		TH_LOG("a read pin's dma-buf mapped writable through an importer");
	ASSERT_EQ(EACCES, errno);
	m = mmap(NULL, len / 2, PROT_READ, MAP_SHARED, edu, 0);
	ASSERT_TRUE(m != MAP_FAILED);
	ASSERT_TRUE(!memcmp(m, buf, len / 2));
	ASSERT_TRUE(mprotect(m, len / 2, PROT_READ | PROT_WRITE));
	munmap(m, len / 2);

	ASSERT_EQ(0, ioctl(edu, PINMEM_EDU_MMAP_DMABUF, &wfd));
	m = mmap(NULL, len / 2, PROT_READ | PROT_WRITE, MAP_SHARED, edu, 0);
	ASSERT_TRUE(m != MAP_FAILED);
	m[5] = 0x5a;
	ASSERT_EQ(0x5a, buf[len / 2 + 5]);
	munmap(m, len / 2);
	close(edu);
	close(rfd);
	close(wfd);
	ASSERT_EQ(0, pm_unpin(fd, hr));
	ASSERT_EQ(0, pm_unpin(fd, hw));
	close(fd);
	munmap(buf, len);
}

/* ------------------------------------------------------------------ */
/* vivid: V4L2 capture into pinmem's dma-bufs.                        */

/* loads vivid: is there a capture node of its second instance now? */
static bool have_vivid(void)
{
	struct v4l2_format f;
	int fd;

	load_set("vivid", VIVID_PARAMS);
	fd = open_vivid(1, &f);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* vivid (V4L2) captures */
FIXTURE(vivid) {};

FIXTURE_SETUP(vivid)
{
	dmabuf_setup();
	if (!have_vivid())
		SKIP(return, "no capture node of a second vivid instance: the kernel has no vivid module, or it did not load with " VIVID_PARAMS);
}

FIXTURE_TEARDOWN_PARENT(vivid)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
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
	ksft_print_msg("frame %ux%u, %u bytes used of %u: %zu bytes drawn, %d byte values on the last line\n",
		       fmt->fmt.pix.width, fmt->fmt.pix.height, bytesused,
		       fmt->fmt.pix.sizeimage, changed, distinct);
	CHECK_EQ(bytesused, fmt->fmt.pix.sizeimage);
	CHECK(changed > fmt->fmt.pix.sizeimage / 2);
	CHECK(distinct >= 4);
	return T_PASS;
}

/* vb2-vmalloc imports by vmap: the frame lands in the process's own pinned pages. */
PM_TEST_F(vivid, capture_into_pin, 300)
{
	struct v4l2_format fmt;
	struct dbg_export e;
	const char *what;
	uint32_t used = 0;
	int vfd, fd, dfd = -1, ret;
	size_t len;
	uint64_t h, n;
	char *buf, *m;

	vfd = open_vivid(0, &fmt);
	ASSERT_TRUE(vfd >= 0);
	len = (fmt.fmt.pix.sizeimage + PAGE - 1) & ~(PAGE - 1);
	fd = pm_open();
	buf = fresh_buffer(len, 81);
	ASSERT_TRUE(fd >= 0 && buf);
	memset(buf, 0xa5, len);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &n));
	ASSERT_EQ(0, unpinnable_pages(buf, len));
	ASSERT_EQ(0, pm_export(fd, h, 0, &dfd));
	ret = capture_one(vfd, dfd, len, &used, &what);
	if (ret)
		ksft_print_msg("%s: %s\n", what, strerror(-ret));
	ASSERT_EQ(0, ret);
	ASSERT_EQ(T_PASS, check_frame((unsigned char *)buf, &fmt, 0xa5, used));
	/* the same bytes through the dma-buf */
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd, 0);
	ASSERT_TRUE(m != MAP_FAILED);
	ASSERT_TRUE(!memcmp(m, buf, len));
	munmap(m, len);
	ASSERT_TRUE(debugfs_export(dfd, &e));
	ASSERT_EQ(0, e.attachments);	/* vb2 let go with the buffers */
	ASSERT_EQ(0, e.vmapped);
	close(vfd);
	close(dfd);
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
	munmap(buf, len);
}

/* vb2-dma-contig maps the attachment and wants it contiguous: a CONTIG buffer is. */
PM_TEST_F(vivid, capture_into_contig, 300)
{
	struct pinmem_contig_alloc_args a = { .size = sizeof(a) };
	struct v4l2_format fmt;
	const char *what;
	uint32_t used = 0;
	int vfd, fd, dfd = -1, ret;
	char *m;

	vfd = open_vivid(1, &fmt);
	ASSERT_TRUE(vfd >= 0);
	a.length = (fmt.fmt.pix.sizeimage + PAGE - 1) & ~(PAGE - 1);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_contig_alloc(fd, &a));
	m = mmap(NULL, a.length, RW, MAP_SHARED, fd, a.mmap_offset);
	ASSERT_TRUE(m != MAP_FAILED);
	memset(m, 0x5a, a.length);
	ASSERT_EQ(0, pm_export(fd, a.handle, 0, &dfd));
	ret = capture_one(vfd, dfd, a.length, &used, &what);
	if (ret)
		ksft_print_msg("%s: %s\n", what, strerror(-ret));
	ASSERT_EQ(0, ret);
	ASSERT_EQ(T_PASS, check_frame((unsigned char *)m, &fmt, 0x5a, used));
	close(vfd);
	close(dfd);
	munmap(m, a.length);
	ASSERT_EQ(0, pm_contig_free(fd, a.handle));
	close(fd);
}

/*
 * A pin of scattered base pages is not what dma-contig can use: vivid
 * must refuse it with its own error, and nothing else happens.
 */
PM_TEST_F(vivid, refuses_scattered_pin, 300)
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

	vfd = open_vivid(1, &fmt);
	ASSERT_TRUE(vfd >= 0);
	if (len < fmt.fmt.pix.sizeimage)
		SKIP(return, "vivid's frame (%u bytes) is larger than the test buffer",
		     fmt.fmt.pix.sizeimage);
	buf = map_anon(len, RW);
	ASSERT_TRUE(buf);
	/* touched from the end, no THP: pages come from the allocator scattered */
	madvise(buf, len, MADV_NOHUGEPAGE);
	for (i = len / PAGE; i-- > 0;)
		buf[i * PAGE] = 1;
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, &n));
	q.handle = h;
	q.flags = PINMEM_QUERY_PFNS;
	q.pfns = (uintptr_t)pfns;
	q.nr_pfns = len / PAGE;
	ASSERT_EQ(0, pm_query(fd, &q));
	ASSERT_EQ(len / PAGE, q.nr_pfns);
	for (i = 1; i < len / PAGE; i++)
		breaks += pfns[i] != pfns[i - 1] + 1;
	ksft_print_msg("pinned pages: %zu breaks in physical contiguity\n", breaks);
	if (!breaks) {
		pm_unpin(fd, h);
		SKIP(return, "the allocator gave the pin contiguous pages after all");
	}
	ASSERT_EQ(0, pm_export(fd, h, 0, &dfd));
	ret = capture_one(vfd, dfd, len, &used, &what);
	ksft_print_msg("scattered pin into vb2-dma-contig: %s: %s\n", what,
		       ret ? strerror(-ret) : "accepted");
	ASSERT_TRUE(ret != 0);
	ASSERT_TRUE(!strcmp(what, "VIDIOC_QBUF"));
	/* vb2-dma-contig's own words: "contiguous chunk is too small" up to
	 * 6.1, "contiguous mapping is too small" later */
	ASSERT_TRUE(log_has("contiguous chunk is too small") ||
		    log_has("contiguous mapping is too small"));
	close(vfd);
	close(dfd);
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
	munmap(buf, len);
}

PM_TEST_HARNESS_MAIN
