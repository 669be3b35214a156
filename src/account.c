// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem: what a pin is charged, and the limits it is checked against.
 *
 * Every pin is charged to the user that opened the context (its
 * user_struct's locked_vm, shared with io_uring and AF_XDP) and checked
 * against the caller's RLIMIT_MEMLOCK (CAP_IPC_LOCK bypasses), as io_uring
 * does: pins live as long as the file, which exec, fork and fd passing carry
 * past the mm, so a per-mm count would be no limit. The mm's pinned_vm
 * (VmPin) is charged as well, for the record. Both are uncharged when the
 * pages are unpinned, even if the process is long gone (each pin holds the
 * mm_struct with mmgrab() and the user_struct with get_uid(): a dma-buf
 * made of it may outlive the context).
 *
 * Each context also has its own limits, pinmem_max_pins pins and
 * pinmem_max_pages pages, counted under the context lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>

#include "pinmem.h"

/**
 * pinmem_account() - charge pinned pages.
 * @user: the user charged, within the caller's RLIMIT_MEMLOCK.
 * @mm: the address space whose pinned_vm (VmPin) shows them.
 * @nr: pages.
 *
 * The limit is on @user's locked_vm, which io_uring and AF_XDP charge too,
 * so that all the long-term pins of one user add up, whatever process,
 * exec or file they hang on (RDMA checks the mm's pinned_vm instead, which
 * pinmem adds to as well). CAP_IPC_LOCK lifts the limit, not the charge.
 * The charge is made with a compare-and-swap, as io_uring's is, so that
 * locked_vm never goes over the limit, not even for a moment in which a
 * concurrent pin would be refused.
 *
 * Return: 0, or -ENOMEM over the limit.
 */
int pinmem_account(struct user_struct *user, struct mm_struct *mm,
		   unsigned long nr)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	long cur = atomic_long_read(&user->locked_vm), new;
	bool unlimited = false;

	do {
		new = cur + nr;
		/* capable() only when needed: it marks the task as privileged */
		if ((unsigned long)new > limit && !unlimited) {
			if (!capable(CAP_IPC_LOCK))
				return -ENOMEM;
			unlimited = true;
		}
	} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur, new));
	atomic64_add(nr, &mm->pinned_vm);
	return 0;
}

/**
 * pinmem_unaccount() - uncharge what pinmem_account() charged.
 * @user: the user charged.
 * @mm: the address space charged.
 * @nr: pages.
 */
void pinmem_unaccount(struct user_struct *user, struct mm_struct *mm,
		      unsigned long nr)
{
	atomic_long_sub(nr, &user->locked_vm);
	atomic64_sub(nr, &mm->pinned_vm);
}

/*
 * Check the per-context limits and take a slot and the pages under them,
 * refusing early a range that overlaps an existing pin
 * (pinmem_pin_tree_insert() checks again, as another thread may pin in
 * between).
 */
static int limits_take(struct pinmem_ctx *ctx, bool by_addr,
		       unsigned long start, unsigned long nr_pages, int *why)
{
	unsigned long end = start + (nr_pages << PAGE_SHIFT);
	int ret = 0;

	mutex_lock(&ctx->lock);
	if (by_addr && pinmem_pin_tree_find(ctx, start, end)) {
		ret = -EEXIST;
		*why = PINMEM_REFUSE_OVERLAP;
	} else if (ctx->nr_pins + atomic_long_read(&ctx->slots->nr_pins) >=
		   pinmem_max_pins) {
		ret = -ENOMEM;
		*why = PINMEM_REFUSE_MAX_PINS;
	} else if (pinmem_max_pages &&
		   ctx->nr_pages + atomic_long_read(&ctx->slots->nr_pages) +
		   nr_pages > pinmem_max_pages) {
		ret = -ENOMEM;
		*why = PINMEM_REFUSE_MAX_PAGES;
	}
	if (!ret) {
		ctx->nr_pins++;
		ctx->nr_pages += nr_pages;
	}
	mutex_unlock(&ctx->lock);
	return ret;
}

static void limits_put(struct pinmem_ctx *ctx, unsigned long nr_pages)
{
	mutex_lock(&ctx->lock);
	ctx->nr_pins--;
	ctx->nr_pages -= nr_pages;
	mutex_unlock(&ctx->lock);
}

/**
 * pinmem_limits_reserve() - reserve a pin under every limit.
 * @ctx: the context.
 * @by_addr: the pin has an address (not a memfd pin): refuse an overlap.
 * @start: its address.
 * @nr_pages: its pages.
 * @why: out, on failure: the &enum pinmem_refuse_reason.
 *
 * Takes a slot and the pages under the context's limits, then charges the
 * pages to the user (RLIMIT_MEMLOCK) and the mm. Undone by
 * pinmem_limits_unreserve().
 *
 * Return: 0, -EEXIST for an overlap or -ENOMEM over a limit.
 */
int pinmem_limits_reserve(struct pinmem_ctx *ctx, bool by_addr,
			  unsigned long start, unsigned long nr_pages, int *why)
{
	int ret = limits_take(ctx, by_addr, start, nr_pages, why);

	if (ret)
		return ret;
	ret = pinmem_account(ctx->user, ctx->mm, nr_pages);
	if (ret) {
		*why = PINMEM_REFUSE_RLIMIT;
		limits_put(ctx, nr_pages);
	}
	return ret;
}

/**
 * pinmem_limits_unreserve() - undo pinmem_limits_reserve().
 * @ctx: the context.
 * @nr_pages: the pages reserved.
 */
void pinmem_limits_unreserve(struct pinmem_ctx *ctx, unsigned long nr_pages)
{
	pinmem_unaccount(ctx->user, ctx->mm, nr_pages);
	limits_put(ctx, nr_pages);
}

/**
 * pinmem_slots_alloc() - the slots of a new context.
 *
 * Return: the slots with one reference, or NULL.
 */
struct pinmem_slots *pinmem_slots_alloc(void)
{
	struct pinmem_slots *slots = kzalloc(sizeof(*slots), PINMEM_GFP);

	if (slots)
		refcount_set(&slots->ref, 1);
	return slots;
}

/**
 * pinmem_slots_hold() - count a pin that left its context's trees.
 * @slots: the context's slots.
 * @nr_pages: the pin's pages.
 *
 * Until pinmem_slots_release() at its last reference, which an export
 * may delay.
 */
void pinmem_slots_hold(struct pinmem_slots *slots, unsigned long nr_pages)
{
	atomic_long_inc(&slots->nr_pins);
	atomic_long_add(nr_pages, &slots->nr_pages);
}

/**
 * pinmem_slots_release() - undo pinmem_slots_hold() once the pages went.
 * @slots: the context's slots.
 * @nr_pages: the pin's pages.
 */
void pinmem_slots_release(struct pinmem_slots *slots, unsigned long nr_pages)
{
	atomic_long_dec(&slots->nr_pins);
	atomic_long_sub(nr_pages, &slots->nr_pages);
}

/**
 * pinmem_slots_put() - drop a reference to a context's slots.
 * @slots: the slots.
 */
void pinmem_slots_put(struct pinmem_slots *slots)
{
	if (refcount_dec_and_test(&slots->ref))
		kfree(slots);
}
