// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem benchmark reference (the test build, PINMEM_TEST=1, only):
 * the bare kernel cost of a long-term pin, pin_user_pages_fast() in
 * batches plus unpin_user_pages(), timed in the kernel with no tracking.
 * What `make bench` compares pinmem's PIN/UNPIN against.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "pinmem.h"

int pinmem_bench_bare(struct pinmem_ctx *ctx, struct pinmem_bench_args *args)
{
	unsigned int gup_flags = FOLL_LONGTERM;
	unsigned long nr, done = 0, batch;
	struct page **pages;
	u64 t0, t1, t2;
	int ret = 0;

	if (!capable(CAP_SYS_ADMIN))	/* no accounting here */
		return -EPERM;
	if (args->flags & ~PINMEM_PIN_WRITE)
		return -EINVAL;
	ret = pinmem_check_range(args->addr, args->length, &nr);
	if (ret)
		return ret;
	batch = args->batch ? args->batch : 512;
	if (batch > INT_MAX || nr > totalram_pages())
		return -EINVAL;
	if (args->flags & PINMEM_PIN_WRITE)
		gup_flags |= FOLL_WRITE;

	pages = kvmalloc_array(nr, sizeof(*pages), GFP_KERNEL | __GFP_NOWARN);
	if (!pages)
		return -ENOMEM;

	t0 = ktime_get_ns();
	while (done < nr) {
		ret = pin_user_pages_fast(args->addr + (done << PAGE_SHIFT),
					  min(nr - done, batch), gup_flags,
					  pages + done);
		if (ret <= 0) {
			ret = ret ? ret : -EFAULT;
			break;
		}
		done += ret;
		ret = 0;
	}
	t1 = ktime_get_ns();
	unpin_user_pages(pages, done);
	t2 = ktime_get_ns();
	kvfree(pages);

	args->pin_ns = t1 - t0;
	args->unpin_ns = t2 - t1;
	return ret;
}
