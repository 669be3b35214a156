// SPDX-License-Identifier: GPL-2.0
/*
 * What UNPIN, close, exit and SIGKILL do to pins, and what fork, munmap,
 * MADV_DONTNEED and mremap leave of them: a pinned page stays the pin's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pinmem_test_uapi.h"
#include "util.h"
#include "harness.h"

#define RW (PROT_READ | PROT_WRITE)

/* what UNPIN, close, exit and changes to the mappings do to a pin */
PM_FIXTURE(lifetime)

PM_TEST_F(lifetime, unpin_releases, 120)
{
	const size_t len = 1 * MiB;
	char *buf = map_anon(len, RW);
	uint64_t h;
	int fd = pm_open();

	ASSERT_TRUE(buf && fd >= 0);
	memset(buf, 1, len);
	ASSERT_EQ(0, pm_pin(fd, buf, len, 0, &h, NULL));
	ASSERT_EQ(len / PAGE, pins_outstanding());
	ASSERT_EQ(0, pm_unpin(fd, h));
	ASSERT_EQ(0, pins_outstanding());
	ASSERT_EQ(-ENOENT, pm_unpin(fd, h));
	close(fd);
	munmap(buf, len);
}

PM_TEST_F(lifetime, close_releases_all_pins, 120)
{
	const size_t chunk = 64 * 1024, n = 16;
	char *buf = map_anon(chunk * n, RW);
	struct dbg_pin p[32];
	size_t i;
	int fd = pm_open();

	ASSERT_TRUE(buf && fd >= 0);
	memset(buf, 7, chunk * n);
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, pm_pin(fd, buf + i * chunk, chunk, i & 1, NULL, NULL));
	ASSERT_EQ(n * chunk / PAGE, pins_outstanding());
	ASSERT_EQ(n, debugfs_pins(getpid(), p, 32));
	close(fd);
	ASSERT_EQ(0, pins_outstanding());
	ASSERT_EQ(0, debugfs_pins(getpid(), p, 32));
	munmap(buf, chunk * n);
}

PM_TEST_F(lifetime, exit_releases_all_pins, 120)
{
	int status;
	pid_t pid = fork();

	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		char *buf = map_anon(8 * 64 * 1024, RW);
		int fd = pm_open(), i;

		if (!buf || fd < 0)
			_exit(2);
		memset(buf, 3, 8 * 64 * 1024);
		for (i = 0; i < 8; i++)
			if (pm_pin(fd, buf + i * 64 * 1024, 64 * 1024, 1,
				   NULL, NULL))
				_exit(3);
		if (pins_outstanding() != (long)(8 * 64 * 1024 / PAGE))
			_exit(4);
		_exit(0);	/* no close, no unpin */
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, pins_outstanding());
}

/* After fork, the pinned page stays the parent's (COW copies for the child). */
PM_TEST_F(lifetime, fork_cow_keeps_pinned_page, 120)
{
	const size_t len = 16 * PAGE;
	char *buf = map_anon(len, RW), *tmp = malloc(len);
	uint64_t h;
	int fd = pm_open(), status;
	pid_t pid;

	ASSERT_TRUE(buf && tmp && fd >= 0);
	fill_pattern(buf, len, 10);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL));
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		fill_pattern(buf, len, 11);	/* child's own copy */
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, pm_access(fd, h, 0, len, tmp, 0));
	ASSERT_EQ(0, check_pattern(tmp, len, 10));
	ASSERT_EQ(0, check_pattern(buf, len, 10));
	fill_pattern(buf, len, 12);
	ASSERT_EQ(0, pm_access(fd, h, 0, len, tmp, 0));
	ASSERT_EQ(0, check_pattern(tmp, len, 12));
	close(fd);
	munmap(buf, len);
	free(tmp);
}

PM_TEST_F(lifetime, munmap_keeps_pinned_page, 120)
{
	const size_t len = 8 * PAGE;
	char *buf = map_anon(len, RW), *tmp = malloc(len);
	uint64_t h;
	int fd = pm_open();

	ASSERT_TRUE(buf && tmp && fd >= 0);
	memset(buf, 0, len);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL));
	fill_pattern(tmp, len, 20);
	ASSERT_EQ(0, pm_access(fd, h, 0, len, tmp, PINMEM_ACCESS_WRITE));
	ASSERT_EQ(0, check_pattern(buf, len, 20));
	ASSERT_EQ(0, munmap(buf, len));
	memset(tmp, 0, len);
	ASSERT_EQ(0, pm_access(fd, h, 0, len, tmp, 0));
	ASSERT_EQ(0, check_pattern(tmp, len, 20));
	ASSERT_EQ(8, pins_outstanding());
	ASSERT_EQ(0, pm_unpin(fd, h));
	close(fd);
	free(tmp);
}

/*
 * madvise(MADV_DONTNEED) drops the process's mapping of pinned pages: the
 * process gets fresh zero pages, the pin (the device) keeps the old ones.
 */
PM_TEST_F(lifetime, madv_dontneed_keeps_pinned_page, 120)
{
	const size_t len = 8 * PAGE;
	char *buf = map_anon(len, RW), *tmp = malloc(len);
	uint64_t h;
	size_t i, zero = 0;
	int fd = pm_open();

	ASSERT_TRUE(buf && tmp && fd >= 0);
	fill_pattern(buf, len, 70);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL));
	ASSERT_EQ(0, madvise(buf, len, MADV_DONTNEED));
	for (i = 0; i < len; i++)
		zero += !buf[i];
	ASSERT_EQ(len, zero);
	ASSERT_EQ(0, pm_access(fd, h, 0, len, tmp, 0));
	ASSERT_EQ(0, check_pattern(tmp, len, 70));
	fill_pattern(buf, len, 71);	/* the process's new pages */
	ASSERT_EQ(0, pm_access(fd, h, 0, len, tmp, 0));
	ASSERT_EQ(0, check_pattern(tmp, len, 70));
	ASSERT_EQ(8, pins_outstanding());
	close(fd);
	free(tmp);
}

/* mremap() moves the mapping, not the pages: still the same memory. */
PM_TEST_F(lifetime, mremap_keeps_pinned_page, 120)
{
	const size_t len = 8 * PAGE;
	char *buf = map_anon(len, RW), *tmp = malloc(len), *dst, *moved;
	uint64_t h;
	int fd = pm_open();

	ASSERT_TRUE(buf && tmp && fd >= 0);
	dst = map_anon(len, PROT_NONE);
	ASSERT_TRUE(dst);
	fill_pattern(buf, len, 80);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL));
	moved = mremap(buf, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_TRUE(moved == dst);
	ASSERT_EQ(0, check_pattern(moved, len, 80));
	fill_pattern(moved, len, 81);
	ASSERT_EQ(0, pm_access(fd, h, 0, len, tmp, 0));
	ASSERT_EQ(0, check_pattern(tmp, len, 81));
	fill_pattern(tmp, len, 82);
	ASSERT_EQ(0, pm_access(fd, h, 0, len, tmp, PINMEM_ACCESS_WRITE));
	ASSERT_EQ(0, check_pattern(moved, len, 82));
	close(fd);
	free(tmp);
}

/* A process that exits holding thousands of pins leaves nothing behind. */
PM_TEST_F(lifetime, exit_with_thousands_of_pins, 300)
{
	const int n = 5000;
	struct timespec t0, t1;
	int status, p[2];
	char c;
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		char *buf = map_anon((size_t)n * PAGE, RW);
		int fd = pm_open(), i;

		if (!buf || fd < 0)
			_exit(2);
		memset(buf, 1, (size_t)n * PAGE);
		for (i = 0; i < n; i++)
			if (pm_pin(fd, buf + (size_t)i * PAGE, PAGE, i & 1, NULL, NULL))
				_exit(3);
		c = 'p';
		if (write(p[1], &c, 1) != 1)
			_exit(4);
		pause();
		_exit(0);
	}
	close(p[1]);
	ASSERT_EQ(1, read(p[0], &c, 1));
	ASSERT_EQ(n, pins_outstanding());
	ASSERT_EQ(n, debugfs_stat("pins"));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ksft_print_msg("exit releasing %d pins took %.0f ms\n", n,
		       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	ASSERT_EQ(0, pins_outstanding());
	ASSERT_EQ(0, debugfs_stat("pins"));
	ASSERT_EQ(0, debugfs_stat("contexts"));
	close(p[0]);
}

/* SIGKILL while a large PIN migrates pages: it dies promptly, nothing stays. */
PM_TEST_F(lifetime, sigkill_during_large_pin, 300)
{
	const size_t len = 128 * MiB;
	struct timespec t0, t1;
	int p[2], status;
	char c;
	pid_t pid;

	NEED_MOVABLE();
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		char *buf = map_anon(len, RW);
		int fd = pm_open();

		if (!buf || fd < 0)
			_exit(2);
		memset(buf, 5, len);
		c = 'r';
		if (write(p[1], &c, 1) != 1)	/* about to pin */
			_exit(3);
		c = pm_pin(fd, buf, len, PINMEM_PIN_WRITE, NULL, NULL) ? 'e' : 'p';
		if (write(p[1], &c, 1) != 1)
			_exit(4);
		pause();
		_exit(0);
	}
	close(p[1]);
	ASSERT_EQ(1, read(p[0], &c, 1));
	ASSERT_EQ('r', c);
	usleep(200 * 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	c = 0;
	if (read(p[0], &c, 1) != 1)
		c = 0;
	ksft_print_msg("pin %s when killed; reaped %.0f ms after SIGKILL\n",
		       c == 'p' ? "had completed" : c == 'e' ? "had failed" :
		       "was in progress",
		       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	close(p[0]);
	ASSERT_EQ(0, pins_outstanding());
}

PM_TEST_HARNESS_MAIN
