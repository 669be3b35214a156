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
#include "harness.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE	0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC		0x0020
#endif
#ifndef MFD_EXEC
#define MFD_EXEC		0x0010U
#endif

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

/*
 * The fixtures' setup: /dev/pinmem open in *@fd, the page size in *@page;
 * skips the case when the kernel cannot pin memfds (before 6.11).
 */
static void open_for_memfds(struct __test_metadata *_metadata, int *fd,
			    size_t *page)
{
	int mfd, r;
	uint64_t h;

	*page = getpagesize();
	*fd = pm_open();
	ASSERT_GE(*fd, 0);
	mfd = memfd_of(*page, MFD_ALLOW_SEALING, 0, 0);
	ASSERT_GE(mfd, 0);
	r = pm_pin_memfd(*fd, mfd, 0, *page, 0, &h);
	close(mfd);
	if (r == -EOPNOTSUPP)
		SKIP(return, "PIN_MEMFD is EOPNOTSUPP: the kernel has no memfd_pin_folios() (6.11 on)");
	ASSERT_EQ(0, r) TH_LOG("PIN_MEMFD of a sealed memfd: %s", strerror(-r));
	ASSERT_EQ(0, pm_unpin(*fd, h));
}

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

/* Send @fd over a socket to a child, which tries a write pin of a page of it. */
static int write_pin_in_receiver(int mfd, size_t page)
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
FIXTURE(memfd_seal) {
	int fd;
	size_t page;
};

FIXTURE_VARIANT(memfd_seal) {
	unsigned int mfd_flags, seal;
};

FIXTURE_VARIANT_ADD(memfd_seal, write) {
	.mfd_flags = MFD_ALLOW_SEALING, .seal = F_SEAL_WRITE,
};

FIXTURE_VARIANT_ADD(memfd_seal, future_write) {
	.mfd_flags = MFD_ALLOW_SEALING, .seal = F_SEAL_FUTURE_WRITE,
};

FIXTURE_VARIANT_ADD(memfd_seal, exec) {
	.mfd_flags = MFD_ALLOW_SEALING | MFD_EXEC, .seal = F_SEAL_EXEC,
};

FIXTURE_SETUP(memfd_seal)
{
	open_for_memfds(_metadata, &self->fd, &self->page);
}

FIXTURE_TEARDOWN_PARENT(memfd_seal)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

PM_TEST_F(memfd_seal, refuses_write_pin, 120)
{
	const size_t len = 4 * self->page;
	char buf[8] = "BBBBBBBB";
	int mfd, dfd;
	uint64_t h;

	mfd = memfd_of(len, variant->mfd_flags, variant->seal, 'A');
	if (mfd < 0 && variant->seal == F_SEAL_EXEC)
		SKIP(return, "no MFD_EXEC/F_SEAL_EXEC (6.3 on): %s", strerror(errno));
	ASSERT_GE(mfd, 0);
	/* the seal holds against write() and a shared writable mmap() */
	ASSERT_EQ(-1, pwrite(mfd, buf, 4, 0));
	ASSERT_EQ(EPERM, errno);
	ASSERT_TRUE(mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0) == MAP_FAILED);
	/* and against a write pin, here and in a receiver */
	ASSERT_EQ(-EPERM, pm_pin_memfd(self->fd, mfd, 0, len, PINMEM_PIN_WRITE, &h));
	ASSERT_EQ(-EPERM, write_pin_in_receiver(mfd, self->page));
	/* a read pin: its data, and no way to write it */
	ASSERT_EQ(0, pm_pin_memfd(self->fd, mfd, 0, len, 0, &h));
	ASSERT_LT(pm_access(self->fd, h, 0, 4, buf, PINMEM_ACCESS_WRITE), 0);
	ASSERT_EQ(0, pm_access(self->fd, h, 0, 8, buf, 0));
	ASSERT_EQ(0, memcmp(buf, "AAAAAAAA", 8));
	ASSERT_EQ(0, pm_export(self->fd, h, 0, &dfd));
	ASSERT_TRUE(mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0) == MAP_FAILED);
	close(dfd);
	ASSERT_EQ(0, pm_unpin(self->fd, h));
	ASSERT_TRUE(file_is(mfd, len, 'A'));
	close(mfd);
}

/* The other cases: /dev/pinmem open, the page size, PIN_MEMFD works. */
FIXTURE(memfd) {
	int fd;
	size_t page;
};

FIXTURE_SETUP(memfd)
{
	open_for_memfds(_metadata, &self->fd, &self->page);
}

FIXTURE_TEARDOWN_PARENT(memfd)
{
	EXPECT_EQ(T_PASS, nothing_left())
		TH_LOG("left behind once the case's process was gone");
}

struct race {
	int fd, mfd;
	size_t page;
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
		int e = pm_pin_memfd(r->fd, r->mfd, 0, r->page, PINMEM_PIN_WRITE, &h);

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
 * Each of the rounds waits up to 5 s for the writer and 1 s for refusals.
 */
PM_TEST_F(memfd, write_seal_races_write_pins, 300)
{
	const int rounds = 20;
	int round, won = 0;
	char before, after;

	for (round = 0; round < rounds; round++) {
		struct race r = { .fd = self->fd, .page = self->page };
		pthread_t t;
		long refused0;
		int busy = 0, i;

		r.mfd = memfd_of(self->page, MFD_ALLOW_SEALING, 0, 0);
		ASSERT_GE(r.mfd, 0);
		ASSERT_EQ(0, pthread_create(&t, NULL, race_writer, &r));
		/* the writer is pinning, then a little later the seal */
		for (i = 0; i < 5000 && !atomic_load(&r.pins); i++)
			usleep(1000);
		ASSERT_GT(atomic_load(&r.pins), 0);
		usleep((round * 997) % 3000);
		while (fcntl(r.mfd, F_ADD_SEALS, F_SEAL_WRITE)) {
			ASSERT_EQ(EBUSY, errno);
			busy++;
		}
		ASSERT_EQ(1, pread(r.mfd, &before, 1, 0));
		refused0 = atomic_load(&r.refused);
		/* give the writer many more tries (or, if it is let in, 1 s) */
		for (i = 0; i < 1000 && atomic_load(&r.refused) < refused0 + 200; i++)
			usleep(1000);
		atomic_store(&r.stop, 1);
		pthread_join(t, NULL);
		ASSERT_EQ(1, pread(r.mfd, &after, 1, 0));
		won += busy > 0;
		ASSERT_EQ(before, after)
			TH_LOG("round %d: the file changed after F_SEAL_WRITE, %ld write pins",
			       round, atomic_load(&r.pins));
		close(r.mfd);
	}
	ksft_print_msg("%d rounds; in %d the seal met a write pin and was retried after EBUSY\n",
		       rounds, won);
}

/* While a write pin exists, F_SEAL_WRITE cannot be added: EBUSY. */
PM_TEST_F(memfd, write_pin_blocks_write_seal, 120)
{
	int mfd;
	uint64_t h;

	mfd = memfd_of(2 * self->page, MFD_ALLOW_SEALING, 0, 'A');
	ASSERT_GE(mfd, 0);
	ASSERT_EQ(0, pm_pin_memfd(self->fd, mfd, 0, 2 * self->page, PINMEM_PIN_WRITE, &h));
	ASSERT_EQ(-1, fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(0, pm_unpin(self->fd, h));
	ASSERT_EQ(0, fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE));
	ASSERT_EQ(-EPERM, pm_pin_memfd(self->fd, mfd, 0, 2 * self->page, PINMEM_PIN_WRITE, &h));
	close(mfd);
}

static int reopen(int mfd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	return open(path, flags | O_CLOEXEC);
}

/* The fd's mode, as for mmap(): reading needs FMODE_READ, writing FMODE_WRITE. */
PM_TEST_F(memfd, fd_mode_as_mmap, 120)
{
	const size_t len = 2 * self->page;
	int fd = self->fd, mfd, ro, wo;
	uint64_t h;

	mfd = memfd_of(len, MFD_ALLOW_SEALING, 0, 'A');
	ASSERT_GE(mfd, 0);
	ro = reopen(mfd, O_RDONLY);
	wo = reopen(mfd, O_WRONLY);
	ASSERT_TRUE(ro >= 0 && wo >= 0);
	/* mmap() agrees */
	ASSERT_TRUE(mmap(NULL, len, PROT_READ, MAP_SHARED, wo, 0) == MAP_FAILED);
	ASSERT_EQ(EACCES, errno);
	ASSERT_EQ(-EACCES, pm_pin_memfd(fd, wo, 0, len, 0, &h));
	ASSERT_EQ(-EACCES, pm_pin_memfd(fd, wo, 0, len, PINMEM_PIN_WRITE, &h));
	ASSERT_EQ(-EACCES, pm_pin_memfd(fd, ro, 0, len, PINMEM_PIN_WRITE, &h));
	ASSERT_EQ(0, pm_pin_memfd(fd, ro, 0, len, 0, &h));
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(ro);
	close(wo);
	close(mfd);
}

/*
 * Only memfds that cannot shrink under the pin: a memfd without
 * F_SEAL_SHRINK (or without sealing at all) and a plain tmpfs file are
 * refused, and a shrink seal then keeps the pinned range in the file.
 */
PM_TEST_F(memfd, only_shrink_sealed_memfds, 120)
{
	char dir[] = "/tmp/pinmem-tmpfs-XXXXXX", path[64];
	const size_t page = self->page;
	int fd = self->fd, mfd, tf;
	uint64_t h;

	mfd = memfd_create("no-sealing", MFD_CLOEXEC);
	ASSERT_TRUE(mfd >= 0 && !ftruncate(mfd, 2 * page));
	ASSERT_EQ(-EINVAL, pm_pin_memfd(fd, mfd, 0, page, 0, &h));
	close(mfd);
	mfd = memfd_create("no-shrink-seal", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	ASSERT_TRUE(mfd >= 0 && !ftruncate(mfd, 2 * page));
	ASSERT_EQ(-EINVAL, pm_pin_memfd(fd, mfd, 0, page, 0, &h));
	ASSERT_EQ(0, fcntl(mfd, F_ADD_SEALS, F_SEAL_GROW));
	ASSERT_EQ(-EINVAL, pm_pin_memfd(fd, mfd, 0, page, 0, &h));
	ASSERT_EQ(0, fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK));
	ASSERT_EQ(0, pm_pin_memfd(fd, mfd, 0, page, PINMEM_PIN_WRITE, &h));
	ASSERT_EQ(-1, ftruncate(mfd, 0));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(mfd);

	mkdir("/tmp", 01777);
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	ASSERT_EQ(0, mount("pinmem", dir, "tmpfs", 0, "size=1m"));
	snprintf(path, sizeof(path), "%s/f", dir);
	tf = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ASSERT_TRUE(tf >= 0 && !ftruncate(tf, 2 * page));
	ASSERT_EQ(-EINVAL, pm_pin_memfd(fd, tf, 0, page, 0, &h));
	close(tf);
	umount(dir);
	rmdir(dir);
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
PM_TEST_F(memfd, append_only_and_immutable, 120)
{
	const size_t len = 2 * self->page;
	int fd = self->fd, mfd, ro, r;
	uint64_t h;

	mfd = memfd_of(len, MFD_ALLOW_SEALING, 0, 'A');
	ASSERT_GE(mfd, 0);
	r = set_attr(mfd, FS_APPEND_FL, true);
	if (r == -ENOTTY || r == -EOPNOTSUPP || r == -EINVAL)
		SKIP(return, "tmpfs has no FS_IOC_SETFLAGS here (6.0 on): %s", strerror(-r));
	ASSERT_EQ(0, r);
	ASSERT_TRUE(mmap(NULL, len, PROT_READ, MAP_SHARED, mfd, 0) == MAP_FAILED);
	ASSERT_EQ(-EACCES, pm_pin_memfd(fd, mfd, 0, len, 0, &h));
	ASSERT_EQ(-EACCES, pm_pin_memfd(fd, mfd, 0, len, PINMEM_PIN_WRITE, &h));
	ro = reopen(mfd, O_RDONLY);
	ASSERT_GE(ro, 0);
	ASSERT_EQ(0, pm_pin_memfd(fd, ro, 0, len, 0, &h));
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(ro);
	ASSERT_EQ(0, set_attr(mfd, FS_APPEND_FL, false));

	/* (write() through an fd opened before the flag still works on tmpfs) */
	ASSERT_EQ(0, set_attr(mfd, FS_IMMUTABLE_FL, true));
	ASSERT_EQ(-EPERM, pm_pin_memfd(fd, mfd, 0, len, PINMEM_PIN_WRITE, &h));
	ASSERT_EQ(0, pm_pin_memfd(fd, mfd, 0, len, 0, &h));
	ASSERT_EQ(0, pm_unpin(fd, h));
	ASSERT_EQ(0, set_attr(mfd, FS_IMMUTABLE_FL, false));
	ASSERT_TRUE(file_is(mfd, len, 'A'));
	close(mfd);
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
 * One page of a hugetlb folio keeps the whole folio pinned: the pin is
 * charged (VmPin, the user's locked_vm) for all of it.
 */
PM_TEST_F(memfd, charges_whole_folios, 120)
{
	const char *nr = "/proc/sys/vm/nr_hugepages";
	const size_t huge = hugetlb_size(), page = self->page;
	long nr0 = read_long(nr), pin0, pin1;
	char *map = MAP_FAILED;
	int fd = self->fd, mfd;
	uint64_t h;

	if (nr0 < 0 || !huge)
		SKIP(return, "no %s (CONFIG_HUGETLBFS)", nr);
	/* two for the file, two to migrate them into out of ZONE_MOVABLE */
	write_long(nr, nr0 + 4);
	mfd = memfd_create("pinmem-huge", MFD_HUGETLB | MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, 2 * huge) ||
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		ksft_print_msg("no hugetlb memfd of %zu kB pages: %s\n",
			       huge >> 10, strerror(errno));
		SKIP(goto out, "no huge pages");
	}
	/* memfd_pin_folios() fills no hugetlb hole without a reservation (mmap) */
	map = mmap(NULL, 2 * huge, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	EXPECT_TRUE(map != MAP_FAILED)
		TH_LOG("mmap of the hugetlb memfd: %s", strerror(errno));
	if (map == MAP_FAILED)
		goto out;
	map[0] = map[huge] = 1;
	pin0 = vmpin_kb();
	EXPECT_EQ(0, pm_pin_memfd(fd, mfd, huge + page, page, PINMEM_PIN_WRITE, &h))
		goto out;
	pin1 = vmpin_kb();
	ksft_print_msg("VmPin %ld kB -> %ld kB for one page of a huge folio\n", pin0, pin1);
	EXPECT_EQ((long)(huge >> 10), pin1 - pin0);
	EXPECT_EQ(0, pm_unpin(fd, h));
	EXPECT_EQ(pin0, vmpin_kb());
	if (_metadata->exit_code)
		goto out;
	/* a range over two folios: both, once each */
	EXPECT_EQ(0, pm_pin_memfd(fd, mfd, huge - page, 2 * page, 0, &h))
		goto out;
	pin1 = vmpin_kb();
	ksft_print_msg("VmPin %ld kB -> %ld kB for two pages across two folios\n", pin0, pin1);
	EXPECT_EQ((long)(2 * huge >> 10), pin1 - pin0);
	EXPECT_EQ(0, pm_unpin(fd, h));
	EXPECT_EQ(pin0, vmpin_kb());
out:
	if (map != MAP_FAILED)
		munmap(map, 2 * huge);
	if (mfd >= 0)
		close(mfd);
	write_long(nr, nr0);
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
 * A quarter of the free memory is pinned once whole, which a debug kernel
 * under TCG takes minutes for.
 */
PM_TEST_F(memfd, pin_memfd_killable, 300)
{
	double t0, full, killed;
	size_t len;
	int status;
	pid_t pid;

	len = (size_t)(meminfo_kb("MemFree") / 4) << 10;
	len &= ~(PMD_BYTES - 1);
	t0 = now_s();
	pid = pin_in_child(len);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	full = now_s() - t0;
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (full < 0.3)
		SKIP(return, "a %zu MiB PIN_MEMFD took only %.2f s: too short to tell a kill from its end",
		     len >> 20, full);
	pid = pin_in_child(len);
	ASSERT_GT(pid, 0);
	usleep(full * 1e6 / 10);
	t0 = now_s();
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	killed = now_s() - t0;
	ksft_print_msg("%zu MiB: the pin took %.2f s; killed after %.2f s, it was gone %.3f s later\n",
		       len >> 20, full, full / 10, killed);
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_LT(killed, full / 3);
}

/*
 * Where ZONE_MOVABLE is, a memfd range larger than the memory a long-term
 * pin may use is refused with ENOMEM before migration runs it out: nobody
 * is OOM-killed, and nothing stays pinned.
 */
PM_TEST_F(memfd, pin_memfd_too_big_to_fit_enomem, 120)
{
	long oom0 = vmstat("oom_kill"), free_kb, file_kb;
	int fd = self->fd, mfd, r;
	size_t len;
	uint64_t h;

	NEED_MOVABLE();
	len = (size_t)(vmstat("nr_free_pages") * 0.8) * self->page;
	len = len > 520 * MiB ? 520 * MiB : len & ~(PMD_BYTES - 1);
	NEED_MORE_THAN_PINNABLE(len);
	pinnable_zone_kb(&free_kb, &file_kb);
	mfd = memfd_create("pinmem-big", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	ASSERT_TRUE(mfd >= 0 && !ftruncate(mfd, len));
	ASSERT_EQ(0, fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK));
	r = pm_pin_memfd(fd, mfd, 0, len, PINMEM_PIN_WRITE, &h);
	ksft_print_msg("PIN_MEMFD of %zu MiB, %ld MiB pinnable: %s\n", len / MiB,
		       (free_kb + file_kb) >> 10, r ? strerror(-r) : "pinned");
	if (!r)
		pm_unpin(fd, h);
	ASSERT_EQ(-ENOMEM, r);
	ASSERT_EQ(0, pins_outstanding());
	ASSERT_EQ(oom0, vmstat("oom_kill"));
	close(mfd);
}

PM_TEST_HARNESS_MAIN
