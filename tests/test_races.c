// SPDX-License-Identifier: GPL-2.0
/*
 * Races of pinmem's own: two threads on one fd, one freeing the handle
 * the other is about to get back, and opens racing loads of the module
 * that fail.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "pinmem_test_uapi.h"
#include "util.h"
#include "admin.h"
#include "harness.h"

#define RW (PROT_READ | PROT_WRITE)

/* Is the kernel fully preemptible (CONFIG_PREEMPT, or preempt=full)? */
static bool preempt_full(void)
{
	FILE *f = fopen("/sys/kernel/debug/sched/preempt", "r");
	char line[128] = "";
	struct utsname u;

	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
		return strstr(line, "(full)") != NULL;
	}
	uname(&u);
	return strstr(u.version, "PREEMPT ") && !strstr(u.version, "PREEMPT_DYNAMIC");
}

/* ------------------------------------------------------------------ races */

struct race {
	int fd;
	bool contig;
	char *buf;
	volatile uint64_t a_last;	/* last handle A got back */
	volatile int stop;
	long a_iters, b_frees, wins, bad, errors;
	char why[160];
};

/*
 * A, SCHED_IDLE: make an object, check its answer, free it unless B did.
 * Handles of a context grow by one per object made, whatever B frees.
 */
static void *race_a(void *p)
{
	struct sched_param sp = { 0 };
	struct race *r = p;
	uint64_t prev = 0, h = 0;
	int ret;

	run_on_cpu(0, 0);
	sched_setscheduler(0, SCHED_IDLE, &sp);
	while (!r->stop) {
		if (r->contig) {
			struct pinmem_contig_alloc_args a = { .length = PAGE };

			ret = pm_contig_alloc(r->fd, &a);
			h = a.handle;
			if (!ret && a.mmap_offset != h * PAGE) {
				snprintf(r->why, sizeof(r->why),
					 "handle %llu but mmap_offset %#llx",
					 (unsigned long long)h,
					 (unsigned long long)a.mmap_offset);
				r->bad++;
			}
		} else {
			ret = pm_pin(r->fd, r->buf, PAGE, 0, &h, NULL);
		}
		if (ret) {
			r->errors++;
			snprintf(r->why, sizeof(r->why), "make: %s", strerror(-ret));
			continue;
		}
		if (h != prev + 1) {
			snprintf(r->why, sizeof(r->why),
				 "handle %llu after %llu",
				 (unsigned long long)h, (unsigned long long)prev);
			r->bad++;
		}
		prev = h;
		r->a_last = h;
		if (!r->contig) {
			struct pinmem_query_args q = {
				.size = sizeof(q), .flags = PINMEM_QUERY_BY_ADDR,
				.addr = (uintptr_t)r->buf,
			};

			ret = pm_query(r->fd, &q);
			if (!ret && q.handle != h) {
				snprintf(r->why, sizeof(r->why),
					 "PIN said %llu, QUERY says %llu",
					 (unsigned long long)h,
					 (unsigned long long)q.handle);
				r->bad++;
			}
			ret = pm_unpin(r->fd, h);
		} else {
			ret = pm_contig_free(r->fd, h);
		}
		if (ret && ret != -ENOENT)
			r->errors++;
		r->a_iters++;
	}
	return NULL;
}

/*
 * B, SCHED_OTHER on the same CPU: free the handle A is about to get, for
 * @seconds, or on a fully preemptible kernel until the window was won a
 * few times (at most 5 x @seconds).
 */
static void race_b(struct race *r, double seconds)
{
	double start = now_s(), t;
	bool full = preempt_full();
	long n = 0;

	run_on_cpu(0, 0);
	while ((t = now_s() - start) < seconds ||
	       (full && r->wins < 3 && t < 5 * seconds)) {
		uint64_t h = r->a_last + 1;
		int ret = r->contig ? pm_contig_free(r->fd, h) : pm_unpin(r->fd, h);

		if (!ret) {
			r->b_frees++;
			/* freed before A's ioctl returned it */
			if (r->a_last < h)
				r->wins++;
		}
		if (!(++n % 64))
			sched_yield();
	}
	r->stop = 1;
}

static void run_race(struct __test_metadata *_metadata, bool contig)
{
	struct race r = { .contig = contig };
	pthread_t a;

	r.fd = pm_open();
	ASSERT_TRUE(r.fd >= 0);
	r.buf = map_anon(PAGE, RW);
	ASSERT_NE(NULL, r.buf);
	ASSERT_EQ(0, pthread_create(&a, NULL, race_a, &r));
	race_b(&r, 8.0);
	pthread_join(a, NULL);
	close(r.fd);
	ksft_print_msg("%s: A made %ld, B freed %ld, %ld of them before A's ioctl returned; preemption %s\n",
		       contig ? "CONTIG_ALLOC/FREE" : "PIN/UNPIN", r.a_iters, r.b_frees,
		       r.wins, preempt_full() ? "full" : "not full");
	ASSERT_TRUE(!r.bad && !r.errors)
		TH_LOG("%ld wrong answers, %ld errors; last: %s", r.bad, r.errors, r.why);
	ASSERT_GT(r.a_iters, 0);
	if (preempt_full()) {
		ASSERT_GT(r.wins, 0)
			TH_LOG("the race window was never won: this run proves nothing");
	}
}

/*
 * Races: two threads on one fd, one freeing the handle the other is about
 * to get back (B runs 8 s, or up to 40 s on a fully preemptible kernel),
 * and opens racing loads of the module that fail.
 */
PM_FIXTURE(races)

PM_TEST_F(races, unpin_of_new_handle, 300)
{
	run_race(_metadata, false);
}

PM_TEST_F(races, contig_free_of_new_handle, 300)
{
	run_race(_metadata, true);
}

/* -------------------------------------------------------- init ordering */

struct opener {
	volatile int stop;
	long opened;
	int fds[256];
};

static void *open_loop(void *p)
{
	struct opener *o = p;

	while (!o->stop) {
		int fd = open("/dev/pinmem", O_RDWR | O_CLOEXEC);

		if (fd >= 0 && o->opened < 256)
			o->fds[o->opened++] = fd;
		else if (fd >= 0)
			close(fd);
	}
	return NULL;
}

/* open() racing loads that fail: no fd into a module that never was */
PM_TEST_F(races, open_during_failing_load, 300)
{
	struct opener o = { 0 };
	pthread_t th;
	int kfd, i, fails = 0;
	long r;

	ASSERT_EQ(0, syscall(SYS_delete_module, "pinmem", O_NONBLOCK));
	kfd = open(ko_path(), O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(kfd >= 0);
	ASSERT_EQ(0, pthread_create(&th, NULL, open_loop, &o));
	for (i = 0; i < 40; i++) {
		r = syscall(SYS_finit_module, kfd, "pool_mb=100000", 0);
		if (r)
			fails++;
		else
			break;
	}
	o.stop = 1;
	pthread_join(th, NULL);
	close(kfd);
	ksft_print_msg("%d failing loads, %ld opens succeeded meanwhile\n", fails, o.opened);
	for (i = 0; i < o.opened; i++)
		close(o.fds[i]);
	ASSERT_EQ(0, reload_module("pool_mb=2"));
	ASSERT_EQ(40, fails);
	ASSERT_EQ(0, o.opened);
}

PM_TEST_HARNESS_MAIN
