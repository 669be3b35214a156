// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem: pinning, unpinning and looking up user ranges of one context.
 *
 * Each context keeps its pins in two rbtrees over the same nodes: by user
 * address (pins of a context never overlap, so an address maps to at most
 * one pin) and by handle. Both lookups are O(log n). The context lock only
 * guards the trees: GUP, user copies and unpinning run outside it, so a slow
 * pin (migration of a gigabyte under TCG takes seconds) never stalls QUERY,
 * ACCESS or a debugfs reader.
 *
 * Every pin is charged to its mm's pinned_vm and checked against
 * RLIMIT_MEMLOCK (CAP_IPC_LOCK bypasses), as RDMA's ib_umem does, and
 * uncharged when the pages are unpinned, even if the process is long gone
 * (the context holds the mm_struct with mmgrab()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/vmstat.h>

#include "compat.h"
#include "pinmem.h"

/* Pages per pin_user_pages_fast() call; signals and rescheduling in between. */
#define PINMEM_PIN_BATCH	512UL

const char * const pinmem_zone_names[PINMEM_ZONE_SLOTS] = {
	[PINMEM_ZONE_DMA] = "DMA",
	[PINMEM_ZONE_DMA32] = "DMA32",
	[PINMEM_ZONE_NORMAL] = "Normal",
	[PINMEM_ZONE_HIGHMEM] = "HighMem",
	[PINMEM_ZONE_MOVABLE] = "Movable",
	[PINMEM_ZONE_DEVICE] = "Device",
};

void pinmem_ctx_init(struct pinmem_ctx *ctx, struct mm_struct *mm)
{
	ctx->mm = mm;
	mutex_init(&ctx->lock);
	ctx->by_addr = RB_ROOT;
	xa_init(&ctx->pins);
	xa_init(&ctx->contigs);
}

static unsigned long pin_end(const struct pinmem_pin *pin)
{
	return pin->uaddr + (pin->nr_pages << PAGE_SHIFT);
}

/* Any pin overlapping [start, end), or NULL. Caller holds ctx->lock. */
static struct pinmem_pin *find_overlap(struct pinmem_ctx *ctx,
				       unsigned long start, unsigned long end)
{
	struct rb_node *n = ctx->by_addr.rb_node;

	while (n) {
		struct pinmem_pin *pin = rb_entry(n, struct pinmem_pin, addr_node);

		if (end <= pin->uaddr)
			n = n->rb_left;
		else if (start >= pin_end(pin))
			n = n->rb_right;
		else
			return pin;
	}
	return NULL;
}

/*
 * Store @entry in @xa under the context's next handle, which it returns in
 * @handle. Handles only grow and are never reused. Caller holds ctx->lock.
 */
int pinmem_store_handle(struct pinmem_ctx *ctx, struct xarray *xa,
			void *entry, u64 *handle)
{
	u64 next = ctx->next_handle + 1;
	int ret;

	if (next > ULONG_MAX)	/* 32-bit: 4 billion handles per context */
		return -ENOSPC;
	ret = xa_insert(xa, next, entry, GFP_KERNEL_ACCOUNT);
	if (ret)
		return ret;
	ctx->next_handle = next;
	*handle = next;
	return 0;
}

/* The entry of @xa under @handle, or NULL. Caller holds ctx->lock. */
void *pinmem_load_handle(struct xarray *xa, u64 handle)
{
	return handle > ULONG_MAX ? NULL : xa_load(xa, handle);
}

/*
 * Insert @pin in the address tree and give it a handle, unless it overlaps
 * an existing pin. Caller holds ctx->lock.
 */
static int insert_pin(struct pinmem_ctx *ctx, struct pinmem_pin *pin)
{
	struct rb_node **link = &ctx->by_addr.rb_node, *parent = NULL;
	unsigned long end = pin_end(pin);
	int ret;

	while (*link) {
		struct pinmem_pin *cur = rb_entry(*link, struct pinmem_pin, addr_node);

		parent = *link;
		if (end <= cur->uaddr)
			link = &parent->rb_left;
		else if (pin->uaddr >= pin_end(cur))
			link = &parent->rb_right;
		else
			return -EEXIST;
	}
	ret = pinmem_store_handle(ctx, &ctx->pins, pin, &pin->handle);
	if (ret)
		return ret;
	rb_link_node(&pin->addr_node, parent, link);
	rb_insert_color(&pin->addr_node, &ctx->by_addr);
	return 0;
}

static void erase_pin(struct pinmem_ctx *ctx, struct pinmem_pin *pin)
{
	rb_erase(&pin->addr_node, &ctx->by_addr);
	xa_erase(&ctx->pins, pin->handle);
	ctx->nr_pins--;
	ctx->nr_pages -= pin->nr_pages;
}

/* Charge @nr pages to @mm's pinned_vm within RLIMIT_MEMLOCK. */
int pinmem_account(struct mm_struct *mm, unsigned long nr)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	s64 pinned = atomic64_add_return(nr, &mm->pinned_vm);

	if (pinned > limit && !capable(CAP_IPC_LOCK)) {
		atomic64_sub(nr, &mm->pinned_vm);
		return -ENOMEM;
	}
	return 0;
}

void pinmem_unaccount(struct mm_struct *mm, unsigned long nr)
{
	atomic64_sub(nr, &mm->pinned_vm);
}

/*
 * Free pages a long-term pin may land on: outside ZONE_MOVABLE and CMA,
 * above each zone's high watermark.
 */
static unsigned long free_pinnable_pages(void)
{
	unsigned long sum = 0;
	int nid, i;

	for_each_online_node(nid) {
		pg_data_t *pgdat = NODE_DATA(nid);

		for (i = 0; i < MAX_NR_ZONES; i++) {
			struct zone *zone = &pgdat->node_zones[i];
			long free;

			if (i == ZONE_MOVABLE || !populated_zone(zone))
				continue;
			free = zone_page_state(zone, NR_FREE_PAGES) -
			       zone_page_state(zone, NR_FREE_CMA_PAGES) -
			       high_wmark_pages(zone);
			if (free > 0)
				sum += free;
		}
	}
	return sum;
}

/*
 * A lower bound of the pages the pin will need from free_pinnable_pages():
 * the present ones a long-term pin cannot keep where they are (ZONE_MOVABLE
 * or CMA), which must be migrated, plus, for a write pin, the ones not
 * present yet, which must be faulted in. Never faults.
 */
static long pages_needing_memory(unsigned long addr, unsigned long nr_pages,
				 bool write)
{
	unsigned long done = 0, need = 0;
	struct page **pages;

	pages = kmalloc_array(PINMEM_PIN_BATCH, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	while (done < nr_pages) {
		int batch = min(nr_pages - done, PINMEM_PIN_BATCH);
		int n = pinmem_probe_pinnable(addr + (done << PAGE_SHIFT), batch,
					      pages);

		done += n;
		if (n < batch) {
			/* Present but not pinnable in place, or not present. */
			if (get_user_pages_fast_only(addr + (done << PAGE_SHIFT),
						     1, 0, pages) == 1) {
				put_page(pages[0]);
				need++;
			} else {
				need += write;
			}
			done++;
		}
		cond_resched();
	}
	kfree(pages);
	return need;
}

/*
 * Refuse up front a pin that clearly cannot fit: migrating pages out of
 * ZONE_MOVABLE or CMA into memory that is not there ends in the OOM killer,
 * not in an error. The walk only runs when the whole range would not fit,
 * and costs about what pinning the range once more would.
 */
static int check_fit(unsigned long addr, unsigned long nr_pages, bool write)
{
	unsigned long avail = free_pinnable_pages();
	long need;

	if (nr_pages <= avail)
		return 0;
	need = pages_needing_memory(addr, nr_pages, write);
	if (need < 0)
		return need;
	return need > avail ? -ENOMEM : 0;
}

static void pin_put(struct pinmem_pin *pin)
{
	if (!refcount_dec_and_test(&pin->ref))
		return;
	pinmem_runs_release(&pin->runs, pin->flags & PINMEM_PIN_WRITE);
	pinmem_unaccount(pin->mm, pin->nr_pages);
	atomic_long_dec(&pinmem_stats.pins);
	atomic_long_sub(pin->nr_pages, &pinmem_stats.pinned_pages);
	atomic64_inc(&pinmem_stats.total_unpins);
	atomic64_add(pin->nr_pages, &pinmem_stats.total_unpinned_pages);
	kfree(pin);
}

/*
 * Pin every page of @pin's range into its runs, counting its placement:
 * all of it, or nothing.
 */
static int pin_range(struct pinmem_pin *pin, unsigned int gup_flags)
{
	struct pinmem_folio_cache fc = {};
	unsigned long done = 0;
	struct page **batch;
	int ret = 0;

	batch = kmalloc_array(PINMEM_PIN_BATCH, sizeof(*batch), GFP_KERNEL);
	if (!batch)
		return -ENOMEM;
	while (done < pin->nr_pages) {
		unsigned long n = min(pin->nr_pages - done, PINMEM_PIN_BATCH);

		ret = pin_user_pages_fast(pin->uaddr + (done << PAGE_SHIFT), n,
					  gup_flags, batch);
		if (ret <= 0) {
			/* 0 pages and no error: treat as unmapped. */
			ret = ret ? ret : -EFAULT;
			break;
		}
		n = ret;
		ret = pinmem_runs_add(&pin->runs, &fc, batch, n, pin->nr_pages,
				      &pin->place);
		if (ret) {
			unpin_user_pages(batch, n);
			break;
		}
		done += n;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	kfree(batch);
	if (ret)
		pinmem_runs_release(&pin->runs, false);
	else
		pinmem_runs_trim(&pin->runs);
	return ret;
}

/**
 * pinmem_check_range() - validate a user range to pin.
 * @addr: start.
 * @length: bytes.
 * @nr_pages: out: pages in the range.
 *
 * Return: -EINVAL for a zero length, misalignment or overflow, -EFAULT for
 * a range outside user space, else 0.
 */
int pinmem_check_range(u64 addr, u64 length, unsigned long *nr_pages)
{
	unsigned long end;

	if (!length || !PAGE_ALIGNED(addr) || !PAGE_ALIGNED(length))
		return -EINVAL;
	if (addr > ULONG_MAX || length > ULONG_MAX ||
	    check_add_overflow((unsigned long)addr, (unsigned long)length, &end))
		return -EINVAL;
	if (!access_ok(u64_to_user_ptr(addr), length))
		return -EFAULT;
	*nr_pages = length >> PAGE_SHIFT;
	return 0;
}

/*
 * Check the per-context limits and reserve a slot and the pages under them,
 * refusing early a range that overlaps an existing pin (insert_pin() checks
 * again, as another thread may pin in between).
 */
static int reserve(struct pinmem_ctx *ctx, unsigned long start,
		   unsigned long nr_pages)
{
	unsigned long end = start + (nr_pages << PAGE_SHIFT);
	int ret = 0;

	mutex_lock(&ctx->lock);
	if (find_overlap(ctx, start, end))
		ret = -EEXIST;
	else if (ctx->nr_pins >= pinmem_max_pins ||
		 (pinmem_max_pages && ctx->nr_pages + nr_pages > pinmem_max_pages))
		ret = -ENOMEM;
	if (!ret) {
		ctx->nr_pins++;
		ctx->nr_pages += nr_pages;
	}
	mutex_unlock(&ctx->lock);
	return ret;
}

static void unreserve(struct pinmem_ctx *ctx, unsigned long nr_pages)
{
	mutex_lock(&ctx->lock);
	ctx->nr_pins--;
	ctx->nr_pages -= nr_pages;
	mutex_unlock(&ctx->lock);
}

int pinmem_pin(struct pinmem_ctx *ctx, struct pinmem_pin_args *args)
{
	bool write = args->flags & PINMEM_PIN_WRITE;
	bool longterm = !(args->flags & PINMEM_PIN_SHORTTERM);
	unsigned int gup_flags = (longterm ? FOLL_LONGTERM : 0) |
				 (write ? FOLL_WRITE : 0);
	unsigned long nr_pages;
	struct pinmem_pin *pin;
	int ret;

	if (args->flags & ~PINMEM_PIN_FLAGS)
		return -EINVAL;
	if (!longterm && !capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = pinmem_check_range(args->addr, args->length, &nr_pages);
	if (ret)
		return ret;
	if (nr_pages > totalram_pages())
		return -ENOMEM;

	ret = reserve(ctx, args->addr, nr_pages);
	if (ret)
		return ret;
	ret = pinmem_account(ctx->mm, nr_pages);
	if (ret)
		goto unreserve;
	/* Only a long-term pin migrates pages out of ZONE_MOVABLE/CMA. */
	ret = longterm ? check_fit(args->addr, nr_pages, write) : 0;
	if (ret)
		goto unaccount;

	ret = -ENOMEM;
	pin = kzalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);
	if (!pin)
		goto unaccount;
	pin->mm = ctx->mm;
	pin->uaddr = args->addr;
	pin->nr_pages = nr_pages;
	pin->flags = args->flags;
	pin->tgid = task_tgid_nr(current);
	get_task_comm(pin->comm, current);
	refcount_set(&pin->ref, 1);

	ret = pin_range(pin, gup_flags);
	if (ret)
		goto free;
	pin->created_ns = ktime_get_coarse_boottime_ns();

	mutex_lock(&ctx->lock);
	ret = insert_pin(ctx, pin);
	mutex_unlock(&ctx->lock);
	if (ret)
		goto unpin;

	atomic_long_inc(&pinmem_stats.pins);
	atomic_long_add(nr_pages, &pinmem_stats.pinned_pages);
	atomic64_inc(&pinmem_stats.total_pins);
	atomic64_add(nr_pages, &pinmem_stats.total_pinned_pages);

	args->handle = pin->handle;
	args->nr_pages = nr_pages;
	return 0;

unpin:
	pinmem_runs_release(&pin->runs, false);
free:
	kfree(pin);
unaccount:
	pinmem_unaccount(ctx->mm, nr_pages);
unreserve:
	unreserve(ctx, nr_pages);
	return ret;
}

int pinmem_unpin(struct pinmem_ctx *ctx, struct pinmem_unpin_args *args)
{
	struct pinmem_pin *pin;

	if (args->flags)
		return -EINVAL;

	mutex_lock(&ctx->lock);
	pin = pinmem_load_handle(&ctx->pins, args->handle);
	if (pin)
		erase_pin(ctx, pin);
	mutex_unlock(&ctx->lock);
	if (!pin)
		return -ENOENT;

	pin_put(pin);
	return 0;
}

/* Look a pin up and take a reference on it, so it can be used unlocked. */
static struct pinmem_pin *pin_get(struct pinmem_ctx *ctx, u64 handle,
				  bool by_addr, u64 addr)
{
	struct pinmem_pin *pin;

	mutex_lock(&ctx->lock);
	if (by_addr)
		pin = addr < ULONG_MAX ? find_overlap(ctx, addr, addr + 1) : NULL;
	else
		pin = pinmem_load_handle(&ctx->pins, handle);
	if (pin)
		refcount_inc(&pin->ref);
	mutex_unlock(&ctx->lock);
	return pin;
}

static int query_pfns(struct pinmem_pin *pin, struct pinmem_query_args *args)
{
	u64 __user *upfns = u64_to_user_ptr(args->pfns);
	struct pinmem_runs_iter it;
	u64 i, n;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (args->pfn_first >= pin->nr_pages)
		return -EINVAL;
	n = min_t(u64, args->nr_pfns, pin->nr_pages - args->pfn_first);
	pinmem_runs_seek(&it, &pin->runs, args->pfn_first);
	for (i = 0; i < n; i++) {
		if (put_user((u64)pinmem_runs_next_pfn(&it), upfns + i))
			return -EFAULT;
		if (!(i % PINMEM_PIN_BATCH))
			cond_resched();
	}
	args->nr_pfns = n;
	return 0;
}

int pinmem_query(struct pinmem_ctx *ctx, struct pinmem_query_args *args)
{
	struct pinmem_pin *pin;
	int ret = 0, i;

	if (args->flags & ~PINMEM_QUERY_FLAGS || args->reserved)
		return -EINVAL;

	pin = pin_get(ctx, args->handle, args->flags & PINMEM_QUERY_BY_ADDR,
		      args->addr);
	if (!pin)
		return -ENOENT;

	if (args->flags & PINMEM_QUERY_PFNS) {
		ret = query_pfns(pin, args);
		if (ret)
			goto put;
	}
	args->handle = pin->handle;
	args->addr = pin->uaddr;
	args->length = (u64)pin->nr_pages << PAGE_SHIFT;
	args->nr_pages = pin->nr_pages;
	args->pin_flags = pin->flags;
	for (i = 0; i < PINMEM_ZONE_SLOTS; i++)
		args->zone_pages[i] = pin->place.zone_pages[i];
	args->nr_compound = pin->place.nr_compound;
	args->nr_huge = pin->place.nr_huge;
put:
	pin_put(pin);
	return ret;
}

/* Copy between the pinned pages and user memory, a page at a time. */
static int access_pages(struct pinmem_pin *pin, u64 offset, u64 length,
			void __user *buf, bool write)
{
	struct pinmem_runs_iter it;

	pinmem_runs_seek(&it, &pin->runs, offset >> PAGE_SHIFT);
	while (length) {
		struct page *page = pfn_to_page(pinmem_runs_next_pfn(&it));
		unsigned int in_page = offset_in_page(offset);
		unsigned int n = min_t(u64, length, PAGE_SIZE - in_page);
		unsigned long left;
		void *kaddr;

		kaddr = kmap_local_page(page);
		if (write)
			left = copy_from_user(kaddr + in_page, buf, n);
		else
			left = copy_to_user(buf, kaddr + in_page, n);
		kunmap_local(kaddr);
		if (write)
			flush_dcache_page(page);
		if (left)
			return -EFAULT;
		offset += n;
		length -= n;
		buf += n;
		cond_resched();
	}
	return 0;
}

int pinmem_access(struct pinmem_ctx *ctx, struct pinmem_access_args *args)
{
	bool write = args->flags & PINMEM_ACCESS_WRITE;
	struct pinmem_pin *pin;
	u64 end;
	int ret;

	if (args->flags & ~PINMEM_ACCESS_FLAGS || !args->length ||
	    check_add_overflow(args->offset, args->length, &end))
		return -EINVAL;

	pin = pin_get(ctx, args->handle, false, 0);
	if (!pin)
		return -ENOENT;
	if (end > ((u64)pin->nr_pages << PAGE_SHIFT)) {
		ret = -EINVAL;
		goto put;
	}
	if (write && !(pin->flags & PINMEM_PIN_WRITE)) {
		ret = -EACCES;
		goto put;
	}
	ret = access_pages(pin, args->offset, args->length,
			   u64_to_user_ptr(args->buf), write);
put:
	pin_put(pin);
	return ret;
}

/* Called on the last close: nobody else can reach the context any more. */
void pinmem_ctx_release_pins(struct pinmem_ctx *ctx)
{
	struct pinmem_pin *pin;
	unsigned long handle;

	xa_for_each(&ctx->pins, handle, pin) {
		pin_put(pin);
		cond_resched();
	}
	xa_destroy(&ctx->pins);
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
