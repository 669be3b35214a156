// SPDX-License-Identifier: GPL-2.0
/*
 * PIN_MEMFD: what a pin of a memfd may do. It gets what mmap(MAP_SHARED)
 * of the same fd would get and no more: the write seals, the fd's mode,
 * append-only and immutable inodes hold against it; only memfds sealed
 * against shrinking are taken; the whole folios it holds are charged; a
 * fatal signal ends it and migration never runs memory out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE	0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC		0x0020
#endif
#ifndef MFD_EXEC
#define MFD_EXEC		0x0010U
#endif

static size_t page;

/* A memfd of @len bytes of @fill, sealed with F_SEAL_SHRINK and @seals. */
static int memfd_of(size_t len, unsigned int mfd_flags, unsigned int seals,
		    char fill)
{
	int mfd = memfd_create("pinmem-memfd", mfd_flags | MFD_CLOEXEC);
	char *buf = malloc(len);
	bool ok;

	if (mfd < 0 || !buf) {
		free(buf);
		return -1;
	}
	memset(buf, fill, len);
	ok = pwrite(mfd, buf, len, 0) == (ssize_t)len &&
	     !fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | seals);
	free(buf);
	if (!ok) {
		close(mfd);
		return -1;
	}
	return mfd;
}

/* T_PASS, or skip() when the kernel cannot pin memfds (before 6.11). */
static int need_pin_memfd(int fd)
{
	int mfd = memfd_of(page, MFD_ALLOW_SEALING, 0, 0), r;
	uint64_t h;

	if (mfd < 0)
		return T_FAIL;
	r = pm_pin_memfd(fd, mfd, 0, page, 0, &h);
	close(mfd);
	if (r == -EOPNOTSUPP)
		return skip("PIN_MEMFD is EOPNOTSUPP: the kernel has no memfd_pin_folios() (6.11 on)");
	if (r) {
		diag("PIN_MEMFD of a sealed memfd: %s", strerror(-r));
		return T_FAIL;
	}
	return pm_unpin(fd, h) ? T_FAIL : T_PASS;
}

#define NEED_PIN_MEMFD(fd) do {						\
	int _r = need_pin_memfd(fd);					\
	if (_r != T_PASS)						\
		return _r;						\
} while (0)

/* every byte of the file's first @len bytes is @c */
static bool file_is(int mfd, size_t len, char c)
{
	char *buf = malloc(len);
	bool same = buf && pread(mfd, buf, len, 0) == (ssize_t)len;
	size_t i;

	for (i = 0; same && i < len; i++)
		same = buf[i] == c;
	free(buf);
	return same;
}

/* Send @fd over a socket to a child, which tries a write pin of it. */
static int write_pin_in_receiver(int mfd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, x = 'x';
	struct iovec iov = { .iov_base = &x, .iov_len = 1 };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	int sv[2], status;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		return -errno;
	pid = fork();
	if (!pid) {
		int fd = pm_open(), got;
		uint64_t h;

		close(sv[0]);
		if (recvmsg(sv[1], &m, 0) != 1 || !CMSG_FIRSTHDR(&m))
			_exit(100);
		memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(got));
		_exit(-pm_pin_memfd(fd, got, 0, page, PINMEM_PIN_WRITE, &h));
	}
	close(sv[1]);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &mfd, sizeof(int));
	if (sendmsg(sv[0], &m, 0) != 1)
		return -errno;
	close(sv[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -ECHILD;
	return -WEXITSTATUS(status);
}

/*
 * A memfd sealed against writes (F_SEAL_WRITE; F_SEAL_FUTURE_WRITE; and
 * F_SEAL_EXEC on an executable one, which implies both) cannot be pinned
 * for writing, by the sealer or by a process the fd was sent to; a read
 * pin is granted, and neither it nor its dma-buf writes the file.
 */
static int t_write_seals_refuse_write_pin(void)
{
	static const struct {
		const char *name;
		unsigned int mfd_flags, seal;
	} v[] = {
		{ "F_SEAL_WRITE", MFD_ALLOW_SEALING, F_SEAL_WRITE },
		{ "F_SEAL_FUTURE_WRITE", MFD_ALLOW_SEALING, F_SEAL_FUTURE_WRITE },
		{ "F_SEAL_EXEC", MFD_ALLOW_SEALING | MFD_EXEC, F_SEAL_EXEC },
	};
	int fd = pm_open(), mfd, dfd, r;
	const size_t len = 4 * page;
	unsigned int i;
	char buf[8] = "BBBBBBBB";
	uint64_t h;
	void *m;

	CHECK(fd >= 0);
	NEED_PIN_MEMFD(fd);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		diag("%s", v[i].name);
		mfd = memfd_of(len, v[i].mfd_flags, v[i].seal, 'A');
		if (mfd < 0 && v[i].seal == F_SEAL_EXEC) {
			diag("no MFD_EXEC/F_SEAL_EXEC (6.3 on): %s", strerror(errno));
			continue;
		}
		CHECK(mfd >= 0);
		/* the seal holds against write() and a shared writable mmap() */
		CHECK_EQ(pwrite(mfd, buf, 4, 0), -1);
		CHECK_EQ(errno, EPERM);
		CHECK(mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0) == MAP_FAILED);
		/* and against a write pin, here and in a receiver */
		CHECK_EQ(pm_pin_memfd(fd, mfd, 0, len, PINMEM_PIN_WRITE, &h), -EPERM);
		CHECK_EQ(write_pin_in_receiver(mfd), -EPERM);
		/* a read pin: its data, and no way to write it */
		CHECK_EQ(pm_pin_memfd(fd, mfd, 0, len, 0, &h), 0);
		r = pm_access(fd, h, 0, 4, buf, PINMEM_ACCESS_WRITE);
		CHECK(r < 0);
		CHECK_EQ(pm_access(fd, h, 0, 8, buf, 0), 0);
		CHECK(!memcmp(buf, "AAAAAAAA", 8));
		CHECK_EQ(pm_export(fd, h, 0, &dfd), 0);
		m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
		CHECK(m == MAP_FAILED);
		close(dfd);
		CHECK_EQ(pm_unpin(fd, h), 0);
		CHECK(file_is(mfd, len, 'A'));
		close(mfd);
	}
	close(fd);
	return T_PASS;
}

struct race {
	int fd, mfd;
	atomic_int stop;
	atomic_long pins, refused;
};

/* Write pin, write a byte through ACCESS, unpin: until told to stop. */
static void *race_writer(void *arg)
{
	struct race *r = arg;
	unsigned char v = 0;
	uint64_t h;

	while (!atomic_load(&r->stop)) {
		int e = pm_pin_memfd(r->fd, r->mfd, 0, page, PINMEM_PIN_WRITE, &h);

		if (e) {
			atomic_fetch_add(&r->refused, 1);
			continue;
		}
		v++;
		pm_access(r->fd, h, 0, 1, &v, PINMEM_ACCESS_WRITE);
		pm_unpin(r->fd, h);
		atomic_fetch_add(&r->pins, 1);
	}
	return NULL;
}

/*
 * F_SEAL_WRITE added while another thread pins for writing in a loop:
 * the seal waits for (or fails on) a pin that exists, and no write pin
 * is granted once it is set, so the file does not change after it.
 */
static int t_write_seal_races_write_pins(void)
{
	const int rounds = 20;
	int fd = pm_open(), round, won = 0;
	char before, after;

	CHECK(fd >= 0);
	NEED_PIN_MEMFD(fd);
	for (round = 0; round < rounds; round++) {
		struct race r = { .fd = fd };
		pthread_t t;
		long refused0;
		int busy = 0, i;

		r.mfd = memfd_of(page, MFD_ALLOW_SEALING, 0, 0);
		CHECK(r.mfd >= 0);
		CHECK_EQ(pthread_create(&t, NULL, race_writer, &r), 0);
		/* the writer is pinning, then a little later the seal */
		for (i = 0; i < 5000 && !atomic_load(&r.pins); i++)
			usleep(1000);
		CHECK(atomic_load(&r.pins) > 0);
		usleep((round * 997) % 3000);
		while (fcntl(r.mfd, F_ADD_SEALS, F_SEAL_WRITE)) {
			CHECK_EQ(errno, EBUSY);
			busy++;
		}
		CHECK_EQ(pread(r.mfd, &before, 1, 0), 1);
		refused0 = atomic_load(&r.refused);
		/* give the writer many more tries (or, if it is let in, 1 s) */
		for (i = 0; i < 1000 && atomic_load(&r.refused) < refused0 + 200; i++)
			usleep(1000);
		atomic_store(&r.stop, 1);
		pthread_join(t, NULL);
		CHECK_EQ(pread(r.mfd, &after, 1, 0), 1);
		won += busy > 0;
		if (before != after) {
			diag("round %d: the file changed after F_SEAL_WRITE (%d -> %d), %ld write pins",
			     round, before, after, atomic_load(&r.pins));
			return T_FAIL;
		}
		close(r.mfd);
	}
	diag("%d rounds; in %d the seal met a write pin and was retried after EBUSY",
	     rounds, won);
	close(fd);
	return T_PASS;
}

/* While a write pin exists, F_SEAL_WRITE cannot be added: EBUSY. */
static int t_write_pin_blocks_write_seal(void)
{
	int fd = pm_open(), mfd;
	uint64_t h;

	CHECK(fd >= 0);
	NEED_PIN_MEMFD(fd);
	mfd = memfd_of(2 * page, MFD_ALLOW_SEALING, 0, 'A');
	CHECK(mfd >= 0);
	CHECK_EQ(pm_pin_memfd(fd, mfd, 0, 2 * page, PINMEM_PIN_WRITE, &h), 0);
	CHECK_EQ(fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE), -1);
	CHECK_EQ(errno, EBUSY);
	CHECK_EQ(pm_unpin(fd, h), 0);
	CHECK_EQ(fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE), 0);
	CHECK_EQ(pm_pin_memfd(fd, mfd, 0, 2 * page, PINMEM_PIN_WRITE, &h), -EPERM);
	close(mfd);
	close(fd);
	return T_PASS;
}

static int reopen(int mfd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	return open(path, flags | O_CLOEXEC);
}

/* The fd's mode, as for mmap(): reading needs FMODE_READ, writing FMODE_WRITE. */
static int t_fd_mode_as_mmap(void)
{
	int fd = pm_open(), mfd, ro, wo;
	const size_t len = 2 * page;
	uint64_t h;

	CHECK(fd >= 0);
	NEED_PIN_MEMFD(fd);
	mfd = memfd_of(len, MFD_ALLOW_SEALING, 0, 'A');
	CHECK(mfd >= 0);
	ro = reopen(mfd, O_RDONLY);
	wo = reopen(mfd, O_WRONLY);
	CHECK(ro >= 0 && wo >= 0);
	/* mmap() agrees */
	CHECK(mmap(NULL, len, PROT_READ, MAP_SHARED, wo, 0) == MAP_FAILED);
	CHECK_EQ(errno, EACCES);
	CHECK_EQ(pm_pin_memfd(fd, wo, 0, len, 0, &h), -EACCES);
	CHECK_EQ(pm_pin_memfd(fd, wo, 0, len, PINMEM_PIN_WRITE, &h), -EACCES);
	CHECK_EQ(pm_pin_memfd(fd, ro, 0, len, PINMEM_PIN_WRITE, &h), -EACCES);
	CHECK_EQ(pm_pin_memfd(fd, ro, 0, len, 0, &h), 0);
	CHECK_EQ(pm_unpin(fd, h), 0);
	close(ro);
	close(wo);
	close(mfd);
	close(fd);
	return T_PASS;
}

/*
 * Only memfds that cannot shrink under the pin: a memfd without
 * F_SEAL_SHRINK (or without sealing at all) and a plain tmpfs file are
 * refused, and a shrink seal then keeps the pinned range in the file.
 */
static int t_only_shrink_sealed_memfds(void)
{
	char dir[] = "/tmp/pinmem-tmpfs-XXXXXX", path[64];
	int fd = pm_open(), mfd, tf;
	uint64_t h;

	CHECK(fd >= 0);
	NEED_PIN_MEMFD(fd);
	mfd = memfd_create("no-sealing", MFD_CLOEXEC);
	CHECK(mfd >= 0 && !ftruncate(mfd, 2 * page));
	CHECK_EQ(pm_pin_memfd(fd, mfd, 0, page, 0, &h), -EINVAL);
	close(mfd);
	mfd = memfd_create("no-shrink-seal", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	CHECK(mfd >= 0 && !ftruncate(mfd, 2 * page));
	CHECK_EQ(pm_pin_memfd(fd, mfd, 0, page, 0, &h), -EINVAL);
	CHECK_EQ(fcntl(mfd, F_ADD_SEALS, F_SEAL_GROW), 0);
	CHECK_EQ(pm_pin_memfd(fd, mfd, 0, page, 0, &h), -EINVAL);
	CHECK_EQ(fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	CHECK_EQ(pm_pin_memfd(fd, mfd, 0, page, PINMEM_PIN_WRITE, &h), 0);
	CHECK_EQ(ftruncate(mfd, 0), -1);
	CHECK_EQ(errno, EPERM);
	CHECK_EQ(pm_unpin(fd, h), 0);
	close(mfd);

	mkdir("/tmp", 01777);
	CHECK(mkdtemp(dir));
	CHECK_EQ(mount("pinmem", dir, "tmpfs", 0, "size=1m"), 0);
	snprintf(path, sizeof(path), "%s/f", dir);
	tf = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	CHECK(tf >= 0 && !ftruncate(tf, 2 * page));
	CHECK_EQ(pm_pin_memfd(fd, tf, 0, page, 0, &h), -EINVAL);
	close(tf);
	umount(dir);
	rmdir(dir);
	close(fd);
	return T_PASS;
}

static int set_attr(int mfd, int flag, bool on)
{
	int attr = 0;

	if (ioctl(mfd, FS_IOC_GETFLAGS, &attr))
		return -errno;
	attr = on ? attr | flag : attr & ~flag;
	return ioctl(mfd, FS_IOC_SETFLAGS, &attr) ? -errno : 0;
}

/*
 * Append-only: as mmap(), no pin at all through an fd open for writing;
 * immutable: no write pin (the fd was opened for writing before the flag).
 */
static int t_append_only_and_immutable(void)
{
	int fd = pm_open(), mfd, ro, r;
	const size_t len = 2 * page;
	uint64_t h;

	CHECK(fd >= 0);
	NEED_PIN_MEMFD(fd);
	mfd = memfd_of(len, MFD_ALLOW_SEALING, 0, 'A');
	CHECK(mfd >= 0);
	r = set_attr(mfd, FS_APPEND_FL, true);
	if (r == -ENOTTY || r == -EOPNOTSUPP || r == -EINVAL)
		return skip("tmpfs has no FS_IOC_SETFLAGS here (6.0 on): %s", strerror(-r));
	CHECK_EQ(r, 0);
	CHECK(mmap(NULL, len, PROT_READ, MAP_SHARED, mfd, 0) == MAP_FAILED);
	CHECK_EQ(pm_pin_memfd(fd, mfd, 0, len, 0, &h), -EACCES);
	CHECK_EQ(pm_pin_memfd(fd, mfd, 0, len, PINMEM_PIN_WRITE, &h), -EACCES);
	ro = reopen(mfd, O_RDONLY);
	CHECK(ro >= 0);
	CHECK_EQ(pm_pin_memfd(fd, ro, 0, len, 0, &h), 0);
	CHECK_EQ(pm_unpin(fd, h), 0);
	close(ro);
	CHECK_EQ(set_attr(mfd, FS_APPEND_FL, false), 0);

	/* (write() through an fd opened before the flag still works on tmpfs) */
	CHECK_EQ(set_attr(mfd, FS_IMMUTABLE_FL, true), 0);
	CHECK_EQ(pm_pin_memfd(fd, mfd, 0, len, PINMEM_PIN_WRITE, &h), -EPERM);
	CHECK_EQ(pm_pin_memfd(fd, mfd, 0, len, 0, &h), 0);
	CHECK_EQ(pm_unpin(fd, h), 0);
	CHECK_EQ(set_attr(mfd, FS_IMMUTABLE_FL, false), 0);
	CHECK(file_is(mfd, len, 'A'));
	close(mfd);
	close(fd);
	return T_PASS;
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f && fscanf(f, "%ld", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

static void write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fprintf(f, "%ld\n", v);
		fclose(f);
	}
}

/*
 * One page of a 2 MiB hugetlb folio keeps the whole folio pinned: the
 * pin is charged (VmPin, the user's locked_vm) for all of it.
 */
static int t_charges_whole_folios(void)
{
	const char *nr = "/proc/sys/vm/nr_hugepages";
	const size_t huge = 2 * MiB;
	int fd = pm_open(), mfd, r = T_FAIL;
	long nr0 = read_long(nr), pin0, pin1;
	char *map = MAP_FAILED;
	uint64_t h;

	CHECK(fd >= 0);
	NEED_PIN_MEMFD(fd);
	if (nr0 < 0)
		return skip("no %s (CONFIG_HUGETLBFS)", nr);
	/* two for the file, two to migrate them into out of ZONE_MOVABLE */
	write_long(nr, nr0 + 4);
	mfd = memfd_create("pinmem-huge", MFD_HUGETLB | MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, 2 * huge) ||
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		diag("no 2 MiB hugetlb memfd: %s", strerror(errno));
		r = skip("no 2 MiB huge pages");
		goto out;
	}
	/* memfd_pin_folios() fills no hugetlb hole without a reservation (mmap) */
	map = mmap(NULL, 2 * huge, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (map == MAP_FAILED) {
		diag("mmap of the hugetlb memfd: %s", strerror(errno));
		goto out;
	}
	map[0] = map[huge] = 1;
	pin0 = vmpin_kb();
	r = pm_pin_memfd(fd, mfd, huge + page, page, PINMEM_PIN_WRITE, &h);
	if (r) {
		diag("PIN_MEMFD of a hugetlb memfd: %s", strerror(-r));
		r = T_FAIL;
		goto out;
	}
	r = T_FAIL;
	pin1 = vmpin_kb();
	diag("VmPin %ld kB -> %ld kB for one page of a huge folio", pin0, pin1);
	if (pin1 - pin0 != (long)(huge >> 10))
		goto out;
	if (pm_unpin(fd, h) || vmpin_kb() != pin0)
		goto out;
	/* a range over two folios: both, once each */
	if (pm_pin_memfd(fd, mfd, huge - page, 2 * page, 0, &h))
		goto out;
	pin1 = vmpin_kb();
	diag("VmPin %ld kB -> %ld kB for two pages across two folios", pin0, pin1);
	if (pin1 - pin0 != (long)(2 * huge >> 10) || pm_unpin(fd, h))
		goto out;
	r = vmpin_kb() == pin0 ? T_PASS : T_FAIL;
out:
	if (map != MAP_FAILED)
		munmap(map, 2 * huge);
	if (mfd >= 0)
		close(mfd);
	write_long(nr, nr0);
	close(fd);
	return r;
}

/* Fork a child that pins @len bytes of a fresh memfd, then exits. */
static pid_t pin_in_child(size_t len)
{
	pid_t pid = fork();

	if (!pid) {
		int fd = pm_open();
		int mfd = memfd_create("pinmem-kill", MFD_ALLOW_SEALING | MFD_CLOEXEC);
		uint64_t h;

		if (fd < 0 || mfd < 0 || ftruncate(mfd, len) ||
		    fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK))
			_exit(2);
		_exit(pm_pin_memfd(fd, mfd, 0, len, PINMEM_PIN_WRITE, &h) ? 1 : 0);
	}
	return pid;
}

/*
 * A fatal signal ends a PIN_MEMFD of a large range (its holes allocated,
 * its pages migrated out of ZONE_MOVABLE/CMA) within a slice, not at its
 * end: a kill a tenth of the way in takes far less than the whole pin.
 */
static int t_pin_memfd_killable(void)
{
	int fd = pm_open(), status;
	double t0, full, killed;
	size_t len;
	pid_t pid;

	CHECK(fd >= 0);
	NEED_PIN_MEMFD(fd);
	close(fd);
	len = (size_t)(meminfo_kb("MemFree") / 4) << 10;
	len &= ~(2 * MiB - 1);
	t0 = now_s();
	pid = pin_in_child(len);
	CHECK(pid > 0);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	full = now_s() - t0;
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (full < 0.3)
		return skip("a %zu MiB PIN_MEMFD took only %.2f s: too short to tell a kill from its end",
			    len >> 20, full);
	pid = pin_in_child(len);
	CHECK(pid > 0);
	usleep(full * 1e6 / 10);
	t0 = now_s();
	kill(pid, SIGKILL);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	killed = now_s() - t0;
	diag("%zu MiB: the pin took %.2f s; killed after %.2f s, it was gone %.3f s later",
	     len >> 20, full, full / 10, killed);
	CHECK(WIFSIGNALED(status));
	CHECK(killed < full / 3);
	return T_PASS;
}

/*
 * Where ZONE_MOVABLE is, a memfd range larger than the memory a long-term
 * pin may use is refused with ENOMEM before migration runs it out: nobody
 * is OOM-killed, and nothing stays pinned.
 */
static int t_pin_memfd_too_big_to_fit(void)
{
	long oom0 = vmstat("oom_kill"), free_kb, file_kb;
	int fd = pm_open(), mfd, r;
	size_t len;
	uint64_t h;

	CHECK(fd >= 0);
	NEED_PIN_MEMFD(fd);
	if (need_movable() == T_SKIP)
		return T_SKIP;
	pinnable_zone_kb(&free_kb, &file_kb);
	len = (size_t)(vmstat("nr_free_pages") * 0.8) * page;
	len = len > 520 * MiB ? 520 * MiB : len & ~(2 * MiB - 1);
	if ((long)(len >> 10) <= free_kb + file_kb)
		return skip("the memory outside ZONE_MOVABLE/CMA (%ld MiB) could take %zu MiB: nothing to refuse",
			    (free_kb + file_kb) >> 10, len / MiB);
	mfd = memfd_create("pinmem-big", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	CHECK(mfd >= 0 && !ftruncate(mfd, len));
	CHECK_EQ(fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	r = pm_pin_memfd(fd, mfd, 0, len, PINMEM_PIN_WRITE, &h);
	diag("PIN_MEMFD of %zu MiB, %ld MiB pinnable: %s", len / MiB,
	     (free_kb + file_kb) >> 10, r ? strerror(-r) : "pinned");
	if (!r)
		pm_unpin(fd, h);
	CHECK_EQ(r, -ENOMEM);
	CHECK_EQ(pins_outstanding(), 0);
	CHECK_EQ(vmstat("oom_kill"), oom0);
	close(mfd);
	close(fd);
	return T_PASS;
}

static const struct tcase cases[] = {
	{ "write_seals_refuse_write_pin", t_write_seals_refuse_write_pin },
	{ "write_seal_races_write_pins", t_write_seal_races_write_pins },
	{ "write_pin_blocks_write_seal", t_write_pin_blocks_write_seal },
	{ "fd_mode_as_mmap", t_fd_mode_as_mmap },
	{ "only_shrink_sealed_memfds", t_only_shrink_sealed_memfds },
	{ "append_only_and_immutable", t_append_only_and_immutable },
	{ "charges_whole_folios", t_charges_whole_folios },
	{ "pin_memfd_killable", t_pin_memfd_killable },
	{ "pin_memfd_too_big_to_fit_enomem", t_pin_memfd_too_big_to_fit },
};

int main(void)
{
	page = sysconf(_SC_PAGESIZE);
	return tap_main(cases, sizeof(cases) / sizeof(cases[0]));
}
