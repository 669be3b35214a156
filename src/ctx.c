// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem: the trees of one context, in which its pins are found.
 *
 * A context keeps its pins in an rbtree by user address (pins of a context
 * never overlap, so an address maps to at most one pin) and in an xarray by
 * handle. The context lock only guards the trees: GUP, user copies and
 * unpinning run outside it, so a slow pin never stalls QUERY, ACCESS or a
 * debugfs reader.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/rbtree.h>
#include <linux/sched.h>
#include <linux/xarray.h>

#include "pinmem.h"
#include "pinmem_trace.h"

void pinmem_ctx_init(struct pinmem_ctx *ctx, struct mm_struct *mm,
		     struct user_struct *user)
{
	ctx->mm = mm;
	ctx->user = user;
	mutex_init(&ctx->lock);
	ctx->by_addr = RB_ROOT;
	xa_init(&ctx->pins);
	xa_init(&ctx->contigs);
}

/*
 * Store @entry in @xa under the context's next handle, which it returns in
 * @handle. Handles only grow and are never reused. Caller holds ctx->lock.
 */
int pinmem_handle_store(struct pinmem_ctx *ctx, struct xarray *xa,
			void *entry, u64 *handle)
{
	u64 next = ctx->next_handle + 1;
	int ret;

	if (next > ULONG_MAX)	/* 32-bit: 4 billion handles per context */
		return -ENOSPC;
	ret = xa_insert(xa, next, entry, PINMEM_GFP);
	if (ret)
		return ret;
	ctx->next_handle = next;
	*handle = next;
	return 0;
}

/* The entry of @xa under @handle, or NULL. Caller holds ctx->lock. */
void *pinmem_handle_load(struct xarray *xa, u64 handle)
{
	return handle > ULONG_MAX ? NULL : xa_load(xa, handle);
}

/* Any pin overlapping [start, end), or NULL. Caller holds ctx->lock. */
struct pinmem_pin *pinmem_pin_tree_find(struct pinmem_ctx *ctx,
					unsigned long start, unsigned long end)
{
	struct rb_node *n = ctx->by_addr.rb_node;

	while (n) {
		struct pinmem_pin *pin = rb_entry(n, struct pinmem_pin, addr_node);

		if (end <= pin->uaddr)
			n = n->rb_left;
		else if (start >= pinmem_pin_end(pin))
			n = n->rb_right;
		else
			return pin;
	}
	return NULL;
}

/*
 * Insert @pin in the address tree and give it a handle, unless it overlaps
 * an existing pin. Caller holds ctx->lock.
 */
int pinmem_pin_tree_insert(struct pinmem_ctx *ctx, struct pinmem_pin *pin)
{
	struct rb_node **link = &ctx->by_addr.rb_node, *parent = NULL;
	unsigned long end = pinmem_pin_end(pin);
	int ret;

	/* a memfd pin has no address: a handle only */
	if (pin->flags & PINMEM_PIN_MEMFD) {
		RB_CLEAR_NODE(&pin->addr_node);
		return pinmem_handle_store(ctx, &ctx->pins, pin, &pin->handle);
	}
	while (*link) {
		struct pinmem_pin *cur = rb_entry(*link, struct pinmem_pin, addr_node);

		parent = *link;
		if (end <= cur->uaddr)
			link = &parent->rb_left;
		else if (pin->uaddr >= pinmem_pin_end(cur))
			link = &parent->rb_right;
		else
			return -EEXIST;
	}
	ret = pinmem_handle_store(ctx, &ctx->pins, pin, &pin->handle);
	if (ret)
		return ret;
	rb_link_node(&pin->addr_node, parent, link);
	rb_insert_color(&pin->addr_node, &ctx->by_addr);
	return 0;
}

/* Take @pin out of both trees and the context's counts. Caller holds ctx->lock. */
void pinmem_pin_tree_erase(struct pinmem_ctx *ctx, struct pinmem_pin *pin)
{
	if (!RB_EMPTY_NODE(&pin->addr_node))
		rb_erase(&pin->addr_node, &ctx->by_addr);
	xa_erase(&ctx->pins, pin->handle);
	ctx->nr_pins--;
	ctx->nr_pages -= pin->nr_pages;
	pinmem_slots_hold(ctx->slots, pin->nr_pages);
}

/* Called on the last close: nobody else can reach the context any more. */
void pinmem_ctx_release_pins(struct pinmem_ctx *ctx)
{
	struct pinmem_pin *pin;
	unsigned long handle;

	xa_for_each(&ctx->pins, handle, pin) {
		trace_pinmem_unpin(ctx->id, pin->handle, pin->uaddr, pin->nr_pages,
				   pin->flags, atomic_read(&pin->nr_exports));
		pinmem_slots_hold(ctx->slots, pin->nr_pages);
		pinmem_pin_put(pin);
		cond_resched();
	}
	xa_destroy(&ctx->pins);
	if (ctx->owner)
		pinmem_owner_put(ctx->owner);
	ctx->owner = NULL;
	ctx->by_addr = RB_ROOT;
	ctx->nr_pins = 0;
	ctx->nr_pages = 0;
}

/* debugfs: the first pin with a handle >= @handle; caller holds ctx->lock. */
struct pinmem_pin *pinmem_pin_first_from(struct pinmem_ctx *ctx, u64 handle)
{
	unsigned long index = handle;

	if (handle > ULONG_MAX)
		return NULL;
	return xa_find(&ctx->pins, &index, ULONG_MAX, XA_PRESENT);
}
