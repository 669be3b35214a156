// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctls' ABI: the device node, the ioctl numbers and the argument size
 * bound, tagged user addresses, handles and who may use them (another
 * context, a forked child, a process the fd was passed to, one without
 * CAP_SYS_ADMIN), and bad arguments, each refused with its documented errno
 * and nothing pinned.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pinmem_test_uapi.h"
#include "util.h"
#include "admin.h"
#include "harness.h"

#define RW (PROT_READ | PROT_WRITE)
#ifndef PR_SET_TAGGED_ADDR_CTRL
#define PR_SET_TAGGED_ADDR_CTRL 55
#define PR_TAGGED_ADDR_ENABLE (1UL << 0)
#endif
/* ABI 1 headers lack it: lets these tests run against a module of ABI 1 */
#ifndef PINMEM_ARGS_SIZE_MAX
#define PINMEM_ARGS_SIZE_MAX (1 << 12)	/* bytes of an argument struct */
#endif

/* the ioctls' ABI: numbers, size bounds, addresses, handles, who may use them */
PM_FIXTURE(abi)

/* bad arguments: each gets its documented errno and pins nothing */
PM_FIXTURE(bad_args)

PM_TEST_F(abi, version_and_device_node, 120)
{
	struct pinmem_version_args v = { .size = sizeof(v) };
	struct stat st;
	int fd;

	ASSERT_TRUE(stat("/dev/pinmem", &st) == 0);
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	ASSERT_EQ(0600, st.st_mode & 0777);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, ioctl(fd, PINMEM_IOC_VERSION, &v));
	ASSERT_EQ(PINMEM_ABI_VERSION, v.abi_version);
	ASSERT_EQ(-1, ioctl(fd, _IO(PINMEM_IOCTL_TYPE, 0x3f), &v));
	ASSERT_EQ(ENOTTY, errno);
	close(fd);
}

PM_TEST_F(abi, fork_child_refused_eperm, 120)
{
	char *buf = map_anon(PAGE * 4, RW);
	uint64_t h;
	int fd = pm_open(), status;
	pid_t pid;

	ASSERT_TRUE(buf && fd >= 0);
	memset(buf, 1, PAGE * 4);
	ASSERT_EQ(0, pm_pin(fd, buf, PAGE * 2, 0, &h, NULL));
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		struct pinmem_query_args q = { .handle = h };
		char c;
		int bad = 0;

		bad |= (pm_query(fd, &q) != -EPERM) << 0;
		bad |= (pm_unpin(fd, h) != -EPERM) << 1;
		bad |= (pm_pin(fd, buf + 2 * PAGE, PAGE, 0, NULL, NULL) != -EPERM) << 2;
		bad |= (pm_access(fd, h, 0, 1, &c, 0) != -EPERM) << 3;
		_exit(bad);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* the parent's pin survived the child's attempts */
	ASSERT_EQ(2, pins_outstanding());
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
	munmap(buf, PAGE * 4);
}

/* Another open of /dev/pinmem is another context: it cannot see our pins. */
PM_TEST_F(abi, other_context_cannot_use_handles, 120)
{
	struct pinmem_query_args q = { 0 };
	char *buf = map_anon(4 * PAGE, RW), c;
	int fd1 = pm_open(), fd2 = pm_open();
	uint64_t h;

	ASSERT_TRUE(buf && fd1 >= 0 && fd2 >= 0);
	memset(buf, 1, 4 * PAGE);
	ASSERT_EQ(0, pm_pin(fd1, buf, 4 * PAGE, 0, &h, NULL));
	q.handle = h;
	ASSERT_EQ(-ENOENT, pm_query(fd2, &q));
	q.flags = PINMEM_QUERY_BY_ADDR;
	q.addr = (uintptr_t)buf;
	ASSERT_EQ(-ENOENT, pm_query(fd2, &q));
	ASSERT_EQ(-ENOENT, pm_access(fd2, h, 0, 1, &c, 0));
	ASSERT_EQ(-ENOENT, pm_unpin(fd2, h));
	/* the same range may be pinned by the other context */
	ASSERT_EQ(0, pm_pin(fd2, buf, 4 * PAGE, 0, NULL, NULL));
	ASSERT_EQ(8, pins_outstanding());
	close(fd2);
	ASSERT_EQ(4, pins_outstanding());
	ASSERT_EQ(0, pm_unpin(fd1, h));
	close(fd1);
}

/* An fd passed over a unix socket to another process is refused there. */
PM_TEST_F(abi, fd_passed_over_socket_refused, 120)
{
	char *buf = map_anon(4 * PAGE, RW);
	int sv[2], fd, status;
	uint64_t h;
	pid_t pid;

	ASSERT_TRUE(buf);
	memset(buf, 1, 4 * PAGE);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		SKIP(return, "no AF_UNIX sockets in this kernel: %s", strerror(errno));
	pid = fork();	/* before the open: the child never had the fd */
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		char cbuf[CMSG_SPACE(sizeof(int))], c, tmp[8];
		struct iovec iov = { &c, 1 };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct pinmem_query_args q = { 0 };
		char *mine = map_anon(PAGE, RW);
		uint64_t hh;
		int got, bad = 0;

		if (recvmsg(sv[1], &msg, 0) != 1 || !CMSG_FIRSTHDR(&msg))
			_exit(10);
		memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
		if (read(sv[1], &hh, sizeof(hh)) != sizeof(hh))
			_exit(11);
		q.handle = hh;
		mine[0] = 1;
		bad |= (pm_query(got, &q) != -EPERM) << 0;
		bad |= (pm_access(got, hh, 0, 8, tmp, 0) != -EPERM) << 1;
		bad |= (pm_unpin(got, hh) != -EPERM) << 2;
		bad |= (pm_pin(got, mine, PAGE, 0, NULL, NULL) != -EPERM) << 3;
		bad |= (mmap(NULL, PAGE, RW, MAP_SHARED, got, 0) != MAP_FAILED ||
			errno != EPERM) << 4;
		_exit(bad);
	}
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, 4 * PAGE, 0, &h, NULL));
	{
		char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, c = 'f';
		struct iovec iov = { &c, 1 };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		ASSERT_EQ(1, sendmsg(sv[0], &msg, 0));
		ASSERT_EQ(sizeof(h), write(sv[0], &h, sizeof(h)));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(4, pins_outstanding());
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
}

PM_TEST_F(abi, handles_never_reused, 120)
{
	char *buf = map_anon(PAGE, RW);
	uint64_t h1, h2, h3;
	int fd = pm_open();

	ASSERT_TRUE(buf && fd >= 0);
	buf[0] = 1;
	ASSERT_EQ(0, pm_pin(fd, buf, PAGE, 0, &h1, NULL));
	ASSERT_EQ(0, pm_unpin(fd, h1));
	ASSERT_EQ(0, pm_pin(fd, buf, PAGE, 0, &h2, NULL));
	ASSERT_TRUE(h2 > h1);
	ASSERT_EQ(0, pm_unpin(fd, h2));
	ASSERT_EQ(0, pm_pin(fd, buf, PAGE, 0, &h3, NULL));
	ASSERT_TRUE(h3 > h2);
	ASSERT_EQ(-ENOENT, pm_unpin(fd, h1));
	close(fd);
	munmap(buf, PAGE);
}

PM_TEST_F(abi, query_by_address, 120)
{
	char *buf = map_anon(32 * PAGE, RW);
	struct pinmem_query_args q = { 0 };
	uint64_t h1, h2;
	int fd = pm_open();

	ASSERT_TRUE(buf && fd >= 0);
	memset(buf, 1, 32 * PAGE);
	ASSERT_EQ(0, pm_pin(fd, buf, 8 * PAGE, 0, &h1, NULL));
	ASSERT_EQ(0, pm_pin(fd, buf + 16 * PAGE, 8 * PAGE, PINMEM_PIN_WRITE, &h2, NULL));
	q.flags = PINMEM_QUERY_BY_ADDR;
	q.addr = (uintptr_t)buf + 20 * PAGE + 123;
	ASSERT_EQ(0, pm_query(fd, &q));
	ASSERT_EQ(h2, q.handle);
	ASSERT_EQ((uintptr_t)buf + 16 * PAGE, q.addr);
	ASSERT_EQ(8 * PAGE, q.length);
	ASSERT_EQ(8, q.nr_pages);
	ASSERT_EQ(PINMEM_PIN_WRITE, q.pin_flags);
	memset(&q, 0, sizeof(q));
	q.flags = PINMEM_QUERY_BY_ADDR;
	q.addr = (uintptr_t)buf + 8 * PAGE;	/* just past the first pin */
	ASSERT_EQ(-ENOENT, pm_query(fd, &q));
	q.addr = (uintptr_t)buf + 8 * PAGE - 1;
	ASSERT_EQ(0, pm_query(fd, &q));
	ASSERT_EQ(h1, q.handle);
	close(fd);
	munmap(buf, 32 * PAGE);
}

PM_TEST_F(abi, pfns_need_cap_sys_admin, 120)
{
	int status;
	pid_t pid = fork();

	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		struct pinmem_query_args q = { 0 };
		char *buf = map_anon(PAGE, RW);
		uint64_t pfn = 0, h;
		int fd = pm_open();	/* opened as root, then the cap goes */

		if (!buf || fd < 0)
			_exit(10);
		buf[0] = 1;
		if (pm_pin(fd, buf, PAGE, 0, &h, NULL))
			_exit(11);
		if (drop_cap_sys_admin())
			_exit(12);
		q.handle = h;
		if (pm_query(fd, &q))
			_exit(13);
		q.flags = PINMEM_QUERY_PFNS;
		q.pfns = (uintptr_t)&pfn;
		q.nr_pfns = 1;
		if (pm_query(fd, &q) != -EPERM)
			_exit(14);
		if (pfn)
			_exit(15);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

PM_TEST_F(abi, numbers_and_bounds, 120)
{
	struct pinmem_contig_alloc_args a = {
		.length = (1ULL << 63) + PAGE,
	};
	static char big[8192];
	struct pinmem_version_args *v = (void *)big;
	int fd = pm_open();

	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0xDE, _IOC_TYPE(PINMEM_IOC_PIN));
	ASSERT_EQ(_IOC_READ | _IOC_WRITE, _IOC_DIR(PINMEM_IOC_PIN));
	ASSERT_EQ(PINMEM_PIN_SIZE_VER0, _IOC_SIZE(PINMEM_IOC_PIN));
	/* the ABI 1 numbers (type 0xB8, _IO) are gone */
	v->size = sizeof(*v);
	ASSERT_TRUE(ioctl(fd, _IO(0xB8, 0x00), v) < 0 && errno == ENOTTY);
	ASSERT_EQ(0, ioctl(fd, PINMEM_IOC_VERSION, v));
	/* the size bound is PINMEM_ARGS_SIZE_MAX on every page size */
	v->size = PINMEM_ARGS_SIZE_MAX;
	ASSERT_EQ(0, ioctl(fd, PINMEM_IOC_VERSION, v));
	v->size = PINMEM_ARGS_SIZE_MAX + 8;
	ASSERT_TRUE(ioctl(fd, PINMEM_IOC_VERSION, v) < 0 && errno == E2BIG);
	/* a length past the machine: ENOMEM, not a shift by 64 */
	ASSERT_EQ(-ENOMEM, pm_contig_alloc(fd, &a));
	close(fd);
}

/* an address with a tag in its top byte (arm64 TBI) is the untagged one */
PM_TEST_F(abi, tagged_address, 120)
{
#ifdef __aarch64__
	char *buf = map_anon(4 * PAGE, RW);
	struct pinmem_query_args q = {
		.size = sizeof(q), .flags = PINMEM_QUERY_BY_ADDR,
	};
	uint64_t h;
	int fd = pm_open();

	ASSERT_TRUE(buf && fd >= 0);
	if (prctl(PR_SET_TAGGED_ADDR_CTRL, PR_TAGGED_ADDR_ENABLE, 0, 0, 0))
		SKIP(return, "tagged addresses not supported: %s", strerror(errno));
	ASSERT_EQ(0, pm_pin(fd, (char *)((uintptr_t)buf | (0x2AUL << 56)), 4 * PAGE,
			    0, &h, NULL));
	q.addr = (uintptr_t)buf;
	ASSERT_EQ(0, pm_query(fd, &q));
	ASSERT_EQ(h, q.handle);
	ASSERT_EQ((uintptr_t)buf, q.addr);
	ASSERT_EQ(-EEXIST, pm_pin(fd, buf, PAGE, 0, NULL, NULL));
	close(fd);
#else
	SKIP(return, "tagged user addresses are tested on arm64 (TBI)");
#endif
}

/* ---- bad inputs: each gets its documented errno and pins nothing ---- */

static void bad_pin(struct __test_metadata *_metadata, void *addr, size_t len,
		    unsigned int flags, int expect)
{
	int fd = pm_open(), ret;

	ASSERT_GE(fd, 0);
	ret = pm_pin(fd, addr, len, flags, NULL, NULL);
	if (ret != expect)
		ksft_print_msg("PIN(%p, %#zx, %#x) = %d (%s), expected %d (%s)\n", addr,
			       len, flags, ret, strerror(-ret), expect, strerror(-expect));
	ASSERT_EQ(expect, ret);
	ASSERT_EQ(0, pins_outstanding());
	close(fd);
}

static char *scratch(size_t pages)
{
	char *b = map_anon(pages * PAGE, RW);

	if (b)
		memset(b, 1, pages * PAGE);
	return b;
}

PM_TEST_F(bad_args, zero_length_einval, 120)
{
	bad_pin(_metadata, scratch(1), 0, 0, -EINVAL);
}

PM_TEST_F(bad_args, unaligned_addr_einval, 120)
{
	bad_pin(_metadata, scratch(2) + 1, PAGE, 0, -EINVAL);
}

PM_TEST_F(bad_args, unaligned_length_einval, 120)
{
	bad_pin(_metadata, scratch(2), PAGE + 1, 0, -EINVAL);
}

PM_TEST_F(bad_args, addr_length_overflow_einval, 120)
{
	bad_pin(_metadata, (void *)(uintptr_t)(-16 * PAGE), 32 * PAGE, 0, -EINVAL);
}

PM_TEST_F(bad_args, kernel_address_efault, 120)
{
	bad_pin(_metadata, (void *)0xffff888000000000UL, PAGE, 0, -EFAULT);
}

PM_TEST_F(bad_args, unmapped_hole_efault, 120)
{
	char *b = scratch(3);

	ASSERT_TRUE(b);
	ASSERT_EQ(0, munmap(b + PAGE, PAGE));
	bad_pin(_metadata, b, 3 * PAGE, 0, -EFAULT);
}

PM_TEST_F(bad_args, prot_none_efault, 120)
{
	char *b = scratch(4);

	ASSERT_TRUE(b);
	ASSERT_EQ(0, mprotect(b + 2 * PAGE, PAGE, PROT_NONE));
	bad_pin(_metadata, b, 4 * PAGE, 0, -EFAULT);
}

PM_TEST_F(bad_args, readonly_pinned_for_write_efault, 120)
{
	char *b = scratch(4);

	ASSERT_TRUE(b);
	ASSERT_EQ(0, mprotect(b, 4 * PAGE, PROT_READ));
	bad_pin(_metadata, b, 4 * PAGE, PINMEM_PIN_WRITE, -EFAULT);
	/* reading it is fine */
	{
		uint64_t h;
		int fd = pm_open();

		ASSERT_EQ(0, pm_pin(fd, b, 4 * PAGE, 0, &h, NULL));
		ASSERT_EQ(-EACCES, pm_access(fd, h, 0, 1, b, PINMEM_ACCESS_WRITE));
		close(fd);
	}
}

PM_TEST_F(bad_args, unknown_flags_einval, 120)
{
	bad_pin(_metadata, scratch(1), PAGE, 1U << 31, -EINVAL);
}

PM_TEST_F(bad_args, overlap_eexist, 120)
{
	char *b = scratch(8);
	uint64_t h;
	int fd = pm_open();

	ASSERT_TRUE(b && fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, b + 2 * PAGE, 4 * PAGE, 0, &h, NULL));
	ASSERT_EQ(-EEXIST, pm_pin(fd, b, 3 * PAGE, 0, NULL, NULL));
	ASSERT_EQ(-EEXIST, pm_pin(fd, b + 5 * PAGE, 3 * PAGE, 0, NULL, NULL));
	ASSERT_EQ(-EEXIST, pm_pin(fd, b + 3 * PAGE, PAGE, 0, NULL, NULL));
	ASSERT_EQ(4, pins_outstanding());
	/* adjacent is fine */
	ASSERT_EQ(0, pm_pin(fd, b, 2 * PAGE, 0, NULL, NULL));
	ASSERT_EQ(0, pm_pin(fd, b + 6 * PAGE, 2 * PAGE, 0, NULL, NULL));
	ASSERT_EQ(8, pins_outstanding());
	close(fd);
}

PM_TEST_F(bad_args, handles_enoent, 120)
{
	struct pinmem_query_args q = { .handle = 12345 };
	char c;
	int fd = pm_open();

	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(-ENOENT, pm_unpin(fd, 0));
	ASSERT_EQ(-ENOENT, pm_unpin(fd, 12345));
	ASSERT_EQ(-ENOENT, pm_query(fd, &q));
	ASSERT_EQ(-ENOENT, pm_access(fd, 7, 0, 1, &c, 0));
	close(fd);
}

PM_TEST_F(bad_args, struct_sizes, 120)
{
	char *b = scratch(1);
	struct {
		struct pinmem_pin_args a;
		uint64_t tail[4];
	} big = { 0 };
	struct pinmem_pin_args a = { 0 };
	struct pinmem_unpin_args u = { 0 };
	int fd = pm_open();

	ASSERT_TRUE(b && fd >= 0);
	a.addr = (uintptr_t)b;
	a.length = PAGE;
	a.size = PINMEM_PIN_SIZE_VER0 - 8;	/* too short */
	ASSERT_EQ(-1, ioctl(fd, PINMEM_IOC_PIN, &a));
	ASSERT_EQ(EINVAL, errno);
	a.size = 0;
	ASSERT_EQ(-1, ioctl(fd, PINMEM_IOC_PIN, &a));
	ASSERT_EQ(EINVAL, errno);
	a.size = 8192;				/* absurd */
	ASSERT_EQ(-1, ioctl(fd, PINMEM_IOC_PIN, &a));
	ASSERT_EQ(E2BIG, errno);
	big.a = a;
	big.a.size = sizeof(big);		/* a newer program ... */
	big.tail[2] = 1;			/* ... asking for something new */
	ASSERT_EQ(-1, ioctl(fd, PINMEM_IOC_PIN, &big));
	ASSERT_EQ(E2BIG, errno);
	ASSERT_EQ(0, pins_outstanding());
	big.tail[2] = 0;			/* zero tail: accepted */
	ASSERT_EQ(0, ioctl(fd, PINMEM_IOC_PIN, &big));
	ASSERT_TRUE(big.a.handle != 0);
	ASSERT_EQ(1, big.a.nr_pages);
	ASSERT_EQ(0, big.tail[0] | big.tail[1] | big.tail[3]);
	u.size = sizeof(u);
	u.handle = big.a.handle;
	u.flags = 4;				/* unknown UNPIN flag */
	ASSERT_EQ(-1, ioctl(fd, PINMEM_IOC_UNPIN, &u));
	ASSERT_EQ(EINVAL, errno);
	u.flags = 0;
	ASSERT_EQ(0, ioctl(fd, PINMEM_IOC_UNPIN, &u));
	/* argument pointer itself bad */
	ASSERT_EQ(-1, ioctl(fd, PINMEM_IOC_PIN, (void *)16));
	ASSERT_EQ(EFAULT, errno);
	close(fd);
}

PM_TEST_F(bad_args, query_and_access_args, 120)
{
	struct pinmem_query_args q = { 0 };
	char *b = scratch(4), tmp[64];
	uint64_t h;
	int fd = pm_open();

	ASSERT_TRUE(b && fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, b, 2 * PAGE, PINMEM_PIN_WRITE, &h, NULL));
	q.handle = h;
	q.reserved = 1;
	ASSERT_EQ(-EINVAL, pm_query(fd, &q));
	q.reserved = 0;
	q.flags = 1U << 7;
	ASSERT_EQ(-EINVAL, pm_query(fd, &q));
	q.flags = PINMEM_QUERY_PFNS;
	q.pfn_first = 2;			/* past the end */
	q.nr_pfns = 1;
	q.pfns = (uintptr_t)tmp;
	ASSERT_EQ(-EINVAL, pm_query(fd, &q));
	q.pfn_first = 0;
	q.pfns = 16;				/* bad buffer */
	ASSERT_EQ(-EFAULT, pm_query(fd, &q));
	ASSERT_EQ(-EINVAL, pm_access(fd, h, 2 * PAGE - 8, 16, tmp, 0));
	ASSERT_EQ(-EINVAL, pm_access(fd, h, 0, 0, tmp, 0));
	ASSERT_EQ(-EINVAL, pm_access(fd, h, ~0ULL, 2, tmp, 0));
	ASSERT_EQ(-EINVAL, pm_access(fd, h, 0, 8, tmp, 1U << 5));
	ASSERT_EQ(-EFAULT, pm_access(fd, h, 0, 8, (void *)16, 0));
	ASSERT_EQ(0, pm_access(fd, h, 2 * PAGE - 8, 8, tmp, 0));
	ASSERT_EQ(2, pins_outstanding());
	close(fd);
}

PM_TEST_HARNESS_MAIN
