// SPDX-License-Identifier: GPL-2.0
/*
 * What pinmem shows of its pins: debugfs (whole and streamed, never
 * seekable), /proc/self/fdinfo and the tracepoints.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pinmem_test_uapi.h"
#include "util.h"
#include "harness.h"

#define RW (PROT_READ | PROT_WRITE)

/* debugfs, fdinfo and the tracepoints */
PM_FIXTURE(introspect)

PM_TEST_F(introspect, debugfs_matches_pins, 120)
{
	const size_t sizes[3] = { PAGE, 3 * PAGE, 16 * PAGE };
	char *buf = map_anon(64 * PAGE, RW);
	uint64_t h[3], pinned = 0;
	struct dbg_pin p[8];
	int fd = pm_open(), i, j, n;

	ASSERT_TRUE(buf && fd >= 0);
	memset(buf, 9, 64 * PAGE);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, pm_pin(fd, buf + i * 20 * PAGE, sizes[i],
				    i == 1 ? PINMEM_PIN_WRITE : 0, &h[i], NULL));
		pinned += sizes[i] / PAGE;
	}
	n = debugfs_pins(getpid(), p, 8);
	ASSERT_EQ(3, n);
	for (i = 0; i < 3; i++) {
		for (j = 0; j < n; j++)
			if (p[j].handle == h[i])
				break;
		ASSERT_TRUE(j < n);
		ASSERT_EQ((uintptr_t)(buf + i * 20 * PAGE), p[j].start);
		ASSERT_EQ((uintptr_t)(buf + i * 20 * PAGE) + sizes[i], p[j].end);
		ASSERT_EQ(sizes[i] / PAGE, p[j].pages);
		ASSERT_TRUE(!strcmp(p[j].flags, i == 1 ? "rw" : "r-"));
		/* the pinning task's comm: this binary's name, cut to 15 characters */
		ASSERT_TRUE(!strncmp(p[j].comm, program_invocation_short_name, 15));
	}
	ASSERT_TRUE(debugfs_stat("pins") >= 3);
	ASSERT_TRUE(debugfs_stat("pinned_pages") >= (long)pinned);
	ASSERT_TRUE(debugfs_stat("contexts") >= 1);
	cat_file("/sys/kernel/debug/pinmem/pins");
	close(fd);
	ASSERT_EQ(0, debugfs_stat("pins"));
	ASSERT_EQ(0, debugfs_stat("pinned_pages"));
	munmap(buf, 64 * PAGE);
}

/*
 * Many pins read back through small read()s: every pin appears once, in
 * handle order, however the seq_file chunks fall.
 */
PM_TEST_F(introspect, debugfs_streams_many_pins, 300)
{
	const size_t n = 20000;
	char *buf = map_anon(n * PAGE, RW), chunk[173], line[256];
	uint64_t expect = 1, h;
	size_t i, len = 0, seen = 0, reads = 0;
	struct timespec t0, t1;
	int fd = pm_open(), dfd;
	ssize_t r;

	ASSERT_TRUE(buf && fd >= 0);
	memset(buf, 1, n * PAGE);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, pm_pin(fd, buf + i * PAGE, PAGE, 0, &h, NULL));
		ASSERT_EQ(i + 1, h);
	}
	dfd = open("/sys/kernel/debug/pinmem/pins", O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(dfd >= 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((r = read(dfd, chunk, sizeof(chunk))) > 0) {
		reads++;
		for (i = 0; i < (size_t)r; i++) {
			unsigned int ctx;
			unsigned long hh, start;
			int pid;

			if (chunk[i] != '\n') {
				ASSERT_TRUE(len < sizeof(line) - 1);
				line[len++] = chunk[i];
				continue;
			}
			line[len] = 0;
			len = 0;
			if (sscanf(line, "%u %d %*s %lu %lx", &ctx, &pid, &hh,
				   &start) != 4 || pid != getpid())
				continue;
			ASSERT_EQ(expect, hh);
			ASSERT_EQ((uintptr_t)buf + (hh - 1) * PAGE, start);
			expect++;
			seen++;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ASSERT_EQ(0, r);
	close(dfd);
	ASSERT_EQ(n, seen);
	ksft_print_msg("%zu pins read back in %zu reads of %zu bytes, %.0f ms\n", seen,
		       reads, sizeof(chunk),
		       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	close(fd);
	ASSERT_EQ(0, pins_outstanding());
	munmap(buf, n * PAGE);
}

/*
 * debugfs "pins" is read from the start only: a seek or a pread() would
 * walk every line before its offset with pinmem's registry lock held.
 */
PM_TEST_F(introspect, debugfs_pins_not_seekable, 120)
{
	char *buf = map_anon(PAGE, RW), line[64];
	int fd = pm_open(), dfd;

	ASSERT_TRUE(buf && fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, PAGE, 0, NULL, NULL));
	dfd = open("/sys/kernel/debug/pinmem/pins", O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(dfd >= 0);
	ASSERT_TRUE(read(dfd, line, sizeof(line)) > 0);
	errno = 0;
	ASSERT_TRUE(lseek(dfd, 0, SEEK_SET) < 0 && errno == ESPIPE);
	errno = 0;
	ASSERT_TRUE(pread(dfd, line, sizeof(line), 1 << 20) < 0 && errno == ESPIPE);
	close(dfd);
	close(fd);
	munmap(buf, PAGE);
}

/* The "pin:" line of handle @h in /proc/self/fdinfo/@fd, or "" */
static const char *fdinfo_pin_line(int fd, uint64_t h, char *line, size_t len)
{
	char path[64], want[48];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	snprintf(want, sizeof(want), "pin:\thandle=%llu ", (unsigned long long)h);
	line[0] = 0;
	f = fopen(path, "r");
	if (!f)
		return line;
	while (fgets(line, len, f))
		if (!strncmp(line, want, strlen(want)))
			break;
	if (strncmp(line, want, strlen(want)))
		line[0] = 0;
	fclose(f);
	return line;
}

/*
 * /proc/self/fdinfo of a /dev/pinmem fd lists its pins (the owner's view):
 * the totals, one pin: line per pin with its range, size, flags and
 * placement, and never a PFN.
 */
PM_TEST_F(introspect, fdinfo_lists_pins, 120)
{
	char *buf = map_anon(8 * PAGE, RW), line[512], want[160], path[64];
	uint64_t h1, h2;
	int fd = pm_open();
	FILE *f;

	ASSERT_TRUE(buf && fd >= 0);
	memset(buf, 1, 8 * PAGE);
	ASSERT_EQ(0, fdinfo_value(fd, "pinmem-pins"));
	ASSERT_EQ(0, fdinfo_value(fd, "pinmem-pins-listed"));
	ASSERT_EQ(0, pm_pin(fd, buf, 4 * PAGE, PINMEM_PIN_WRITE, &h1, NULL));
	ASSERT_EQ(0, pm_pin(fd, buf + 6 * PAGE, 2 * PAGE, 0, &h2, NULL));
	ASSERT_EQ(2, fdinfo_value(fd, "pinmem-pins"));
	ASSERT_EQ(6, fdinfo_value(fd, "pinmem-pinned-pages"));
	ASSERT_EQ(0, fdinfo_value(fd, "pinmem-contig-buffers"));
	ASSERT_EQ(2, fdinfo_value(fd, "pinmem-pins-listed"));
	ASSERT_TRUE(fdinfo_value(fd, "pinmem-user-locked-pages") >= 6);
	ASSERT_TRUE(fdinfo_value(fd, "pinmem-ctx") >= 0);

	snprintf(want, sizeof(want), "pin:\thandle=%llu start=%p end=%p pages=4 flags=rw exports=0 attachments=0 age_ms=",
		 (unsigned long long)h1, buf, buf + 4 * PAGE);
	fdinfo_pin_line(fd, h1, line, sizeof(line));
	if (strncmp(line, want, strlen(want)))
		ksft_print_msg("fdinfo: \"%s\", wanted \"%s...\"\n", line, want);
	ASSERT_TRUE(!strncmp(line, want, strlen(want)));
	ASSERT_TRUE(strstr(line, " compound=0 huge=0\n"));
	snprintf(want, sizeof(want), "pin:\thandle=%llu start=%p end=%p pages=2 flags=r- ",
		 (unsigned long long)h2, buf + 6 * PAGE, buf + 8 * PAGE);
	ASSERT_TRUE(!strncmp(fdinfo_pin_line(fd, h2, line, sizeof(line)), want, strlen(want)));

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	ASSERT_TRUE(f);
	/* the only addresses in it are the two pins' bounds: no kernel's */
	while (fgets(line, sizeof(line), f)) {
		char *x = line;
		bool bad = strstr(line, "pfn");

		while ((x = strstr(x, "0x"))) {
			uintptr_t v = strtoull(x, &x, 16);

			bad |= v != (uintptr_t)buf && v != (uintptr_t)(buf + 4 * PAGE) &&
			       v != (uintptr_t)(buf + 6 * PAGE) &&
			       v != (uintptr_t)(buf + 8 * PAGE);
		}
		ASSERT_FALSE(bad)
			TH_LOG("fdinfo shows something other than the pins' addresses: %s",
			       line);
	}
	fclose(f);
	cat_file(path);

	ASSERT_EQ(0, pm_unpin(fd, h1));
	ASSERT_EQ(1, fdinfo_value(fd, "pinmem-pins"));
	ASSERT_EQ(2, fdinfo_value(fd, "pinmem-pinned-pages"));
	ASSERT_EQ(0, *fdinfo_pin_line(fd, h1, line, sizeof(line)));
	close(fd);
	munmap(buf, 8 * PAGE);
}

/*
 * pinmem:pinmem_pin, pinmem:pinmem_unpin and pinmem:pinmem_refuse, read
 * back from tracefs: a pin and its unpin by UNPIN and by close, refusals
 * for an overlap, a bad range and RLIMIT_MEMLOCK (a child without
 * CAP_IPC_LOCK), each with its reason and errno.
 */
PM_TEST_F(introspect, trace_pin_unpin_refuse, 120)
{
	char *buf = map_anon(32 * PAGE, RW), want[96], *tr;
	uint64_t h1 = 0, h2 = 0;
	int fd, r, status;
	pid_t pid;

	ASSERT_TRUE(buf);
	memset(buf, 1, 32 * PAGE);
	r = trace_start();
	if (r == -ENOENT)
		SKIP(return, "no /sys/kernel/tracing/events: the kernel has no CONFIG_TRACING");
	ASSERT_EQ(0, r);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, 4 * PAGE, PINMEM_PIN_WRITE, &h1, NULL));
	ASSERT_EQ(-EEXIST, pm_pin(fd, buf + 2 * PAGE, 4 * PAGE, 0, NULL, NULL));
	ASSERT_EQ(-EINVAL, pm_pin(fd, buf + 1, PAGE, 0, NULL, NULL));
	ASSERT_EQ(0, pm_pin(fd, buf + 8 * PAGE, 2 * PAGE, 0, &h2, NULL));
	ASSERT_EQ(0, pm_unpin(fd, h1));
	close(fd);		/* unpins h2 */

	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		struct rlimit rl = { 4 * PAGE, 4 * PAGE };
		int cfd = pm_open();

		if (cfd < 0 || setrlimit(RLIMIT_MEMLOCK, &rl) || setuid(65534))
			_exit(10);
		_exit(pm_pin(cfd, buf + 16 * PAGE, 8 * PAGE, 0, NULL, NULL) == -ENOMEM ? 0 : 11);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	tr = trace_stop();
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_TRUE(tr);

	r = 1;
	snprintf(want, sizeof(want), "handle=%llu start=%p pages=4 flags=write",
		 (unsigned long long)h1, buf);
	r &= !!trace_find(tr, "pinmem_pin", want);
	snprintf(want, sizeof(want), "handle=%llu start=%p pages=4 exports=0",
		 (unsigned long long)h1, buf);
	r &= !!trace_find(tr, "pinmem_unpin", want);
	snprintf(want, sizeof(want), "handle=%llu start=%p pages=2 exports=0",
		 (unsigned long long)h2, buf + 8 * PAGE);
	r &= !!trace_find(tr, "pinmem_unpin", want);
	snprintf(want, sizeof(want), "start=%p pages=4 flags= reason=overlap err=-17",
		 buf + 2 * PAGE);
	r &= !!trace_find(tr, "pinmem_refuse", want);
	r &= !!trace_find(tr, "pinmem_refuse", "reason=args err=-22");
	snprintf(want, sizeof(want), "start=%p pages=8 flags= reason=rlimit_memlock err=-12",
		 buf + 16 * PAGE);
	r &= !!trace_find(tr, "pinmem_refuse", want);
	if (!r)
		ksft_print_msg("trace:\n%s\n", tr);
	free(tr);
	munmap(buf, 32 * PAGE);
	ASSERT_TRUE(r);
}

/*
 * pinmem:pinmem_migrate: a long-term pin of a buffer in ZONE_MOVABLE says how many
 * of its present pages it moved (all those pagemap showed in Movable) and
 * how long pinning took.
 */
PM_TEST_F(introspect, trace_migrate_out_of_movable, 300)
{
	const size_t len = 4 * MiB;
	char want[96], *buf, *tr;
	const char *line, *ns;
	size_t before;
	uint64_t h;
	int fd, r;

	NEED_MOVABLE();
	buf = movable_buffer(len, 60, &before);
	ASSERT_TRUE(buf);
	if (!before) {
		munmap(buf, len);
		SKIP(return, "no page of the buffer landed in ZONE_MOVABLE");
	}
	r = trace_start();
	if (r == -ENOENT) {
		munmap(buf, len);
		SKIP(return, "no /sys/kernel/tracing/events: the kernel has no CONFIG_TRACING");
	}
	ASSERT_EQ(0, r);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, len, PINMEM_PIN_WRITE, &h, NULL));
	ASSERT_EQ(0, pages_in_zone(buf, len, "Movable", NULL));
	close(fd);
	tr = trace_stop();
	ASSERT_TRUE(tr);
	snprintf(want, sizeof(want), "start=%p pages=%zu moved=%zu ns=", buf,
		 len / PAGE, before);
	line = trace_find(tr, "pinmem_migrate", want);
	if (!line)
		ksft_print_msg("%zu pages in Movable before; trace:\n%s\n", before, tr);
	ns = line ? strstr(line, " ns=") : NULL;
	r = ns && strtoull(ns + 4, NULL, 10) > 0;
	if (line)
		ksft_print_msg("%.*s\n", (int)strcspn(line, "\n"), line);
	free(tr);
	munmap(buf, len);
	ASSERT_TRUE(r);
}

PM_TEST_HARNESS_MAIN
