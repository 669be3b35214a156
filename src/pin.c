// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem: pinning, unpinning and looking up user ranges of one context.
 *
 * Each context keeps its pins in an rbtree by user address (pins of a
 * context never overlap, so an address maps to at most one pin) and in an
 * xarray by handle. The context lock only
 * guards the trees: GUP, user copies and unpinning run outside it, so a slow
 * pin (migration of a gigabyte under TCG takes seconds) never stalls QUERY,
 * ACCESS or a debugfs reader.
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
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/vmstat.h>

#include "compat.h"
#include "pinmem.h"
#include "pinmem_trace.h"

const char * const pinmem_zone_names[PINMEM_ZONE_SLOTS] = {
	[PINMEM_ZONE_DMA] = "DMA",
	[PINMEM_ZONE_DMA32] = "DMA32",
	[PINMEM_ZONE_NORMAL] = "Normal",
	[PINMEM_ZONE_HIGHMEM] = "HighMem",
	[PINMEM_ZONE_MOVABLE] = "Movable",
	[PINMEM_ZONE_DEVICE] = "Device",
};

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
	ret = xa_insert(xa, next, entry, PINMEM_GFP);
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

	/* a memfd pin has no address: a handle only */
	if (pin->flags & PINMEM_PIN_MEMFD) {
		RB_CLEAR_NODE(&pin->addr_node);
		return pinmem_store_handle(ctx, &ctx->pins, pin, &pin->handle);
	}
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
	if (!RB_EMPTY_NODE(&pin->addr_node))
		rb_erase(&pin->addr_node, &ctx->by_addr);
	xa_erase(&ctx->pins, pin->handle);
	ctx->nr_pins--;
	ctx->nr_pages -= pin->nr_pages;
}

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
 *
 * Return: 0, or -ENOMEM over the limit.
 */
int pinmem_account(struct user_struct *user, struct mm_struct *mm,
		   unsigned long nr)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	unsigned long locked = atomic_long_add_return(nr, &user->locked_vm);

	if (locked > limit && !capable(CAP_IPC_LOCK)) {
		atomic_long_sub(nr, &user->locked_vm);
		return -ENOMEM;
	}
	atomic64_add(nr, &mm->pinned_vm);
	return 0;
}

void pinmem_unaccount(struct user_struct *user, struct mm_struct *mm,
		      unsigned long nr)
{
	atomic_long_sub(nr, &user->locked_vm);
	atomic64_sub(nr, &mm->pinned_vm);
}

/**
 * struct pin_seg - the part of a range one VMA covers, and how to pin it.
 * @end: its end.
 * @gup_flags: FOLL_* flags for it.
 * @hugetlb: it is a hugetlb mapping.
 */
struct pin_seg {
	unsigned long end;
	unsigned int gup_flags;
	bool hugetlb;
};

/*
 * The VMA at @addr, clipped to @end, and the flags to pin it with. A read
 * pin of a private writable mapping pins as a write would (FOLL_WRITE, no
 * FOLL_FORCE), as io_uring and RDMA do: the device must see the very pages
 * the process writes later, not the shared zero page or a page COW will
 * replace. Long-term write pins of page cache that needs dirty tracking
 * (regular files on a disk filesystem) are refused on every kernel, as GUP
 * itself does from 6.5 on: writes behind the filesystem's back corrupt
 * writeback.
 */
static int pin_segment(struct mm_struct *mm, unsigned long addr,
		       unsigned long end, unsigned int gup_flags,
		       struct pin_seg *seg)
{
	struct vm_area_struct *vma;
	int ret = 0;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	vma = find_vma(mm, addr);
	if (!vma || vma->vm_start > addr) {
		ret = -EFAULT;
		goto out;
	}
	if ((gup_flags & (FOLL_WRITE | FOLL_LONGTERM)) ==
	    (FOLL_WRITE | FOLL_LONGTERM) && pinmem_vma_needs_dirty_tracking(vma)) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	if ((vma->vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE)
		gup_flags |= FOLL_WRITE;
	seg->end = min(end, vma->vm_end);
	seg->gup_flags = gup_flags;
	seg->hugetlb = is_vm_hugetlb_page(vma);
out:
	mmap_read_unlock(mm);
	return ret;
}

typedef int (*pin_seg_fn)(unsigned long start, unsigned long end,
			  const struct pin_seg *seg, void *data);

/*
 * Walk [addr, addr + nr pages) a VMA at a time, calling @fn on each piece
 * with its flags; stops at the first error.
 */
static int walk_segments(struct mm_struct *mm, unsigned long addr,
			 unsigned long nr_pages, unsigned int gup_flags,
			 pin_seg_fn fn, void *data)
{
	unsigned long end = addr + (nr_pages << PAGE_SHIFT);
	struct pin_seg seg;
	int ret;

	while (addr < end) {
		ret = pin_segment(mm, addr, end, gup_flags, &seg);
		if (!ret)
			ret = fn(addr, seg.end, &seg, data);
		if (ret)
			return ret;
		addr = seg.end;
	}
	return 0;
}

/*
 * Kernels without hugetlb migration for long-term pins (compat.h): refuse a
 * long-term pin of a hugetlb range any of whose huge pages sits in
 * ZONE_MOVABLE or CMA before GUP gets there (it would WARN and fail). The
 * pages are faulted in with ordinary references, which are dropped again.
 */
static int hugetlb_seg_check(unsigned long start, unsigned long end,
			     const struct pin_seg *seg, void *scratch)
{
	struct page **pages = scratch;
	int bad = 0, i, n;

	if (!seg->hugetlb)
		return 0;
	while (start < end && !bad) {
		n = min((end - start) >> PAGE_SHIFT, PINMEM_PIN_BATCH);
		n = get_user_pages_fast(start, n, seg->gup_flags & FOLL_WRITE,
					pages);
		if (n <= 0)
			return n ? n : -EFAULT;
		for (i = 0; i < n; i++) {
			bad |= !pinmem_longterm_pinnable(pages[i]);
			put_page(pages[i]);
		}
		start += (unsigned long)n << PAGE_SHIFT;
		if (fatal_signal_pending(current))
			return -EINTR;
	}
	if (bad) {
		pr_info_ratelimited("%s[%d]: huge pages in ZONE_MOVABLE or CMA cannot be pinned long-term on this kernel; use huge pages from other zones (for example allocated before memory is onlined movable) or transparent huge pages\n",
				    current->comm, task_pid_nr(current));
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * Does this machine have memory a long-term pin must migrate out of: CMA
 * pages, or (@movable) a populated ZONE_MOVABLE? (for_each_populated_zone()
 * uses symbols not every kernel exports.)
 */
bool pinmem_have_unpinnable(bool movable)
{
	int nid, i;

	for_each_online_node(nid) {
		pg_data_t *pgdat = NODE_DATA(nid);

		for (i = 0; i < MAX_NR_ZONES; i++) {
			struct zone *zone = &pgdat->node_zones[i];

			if (!populated_zone(zone))
				continue;
			if ((movable && i == ZONE_MOVABLE) || zone_cma_pages(zone))
				return true;
		}
	}
	return false;
}

/*
 * Pages a long-term pin may land on, without killing anything: free or
 * reclaimable (page cache, lazily freed anonymous memory: both on the file
 * LRU) in the zones GFP_USER migration targets come from, that is neither
 * ZONE_MOVABLE nor HIGHMEM nor CMA, above each zone's high watermark and
 * the lowmem reserve it keeps from ZONE_NORMAL allocations. Like
 * si_mem_available(), only half the page cache, at most, is taken as
 * reclaimable; in a zone with CMA, only the file pages that cannot be in
 * its used CMA pages (a lower bound: a pin faults and migrates into non-CMA
 * memory only, and an estimate above what is there ends in the OOM killer).
 */
static unsigned long pinnable_available_pages(void)
{
	unsigned long sum = 0;
	int nid, i;

	for_each_online_node(nid) {
		pg_data_t *pgdat = NODE_DATA(nid);

		for (i = 0; i < MAX_NR_ZONES; i++) {
			struct zone *zone = &pgdat->node_zones[i];
			unsigned long cma, file;
			long avail;

			if (i == ZONE_MOVABLE || is_highmem_idx(i) ||
			    !populated_zone(zone))
				continue;
			cma = zone_cma_pages(zone);
			file = zone_page_state(zone, NR_ZONE_INACTIVE_FILE) +
			       zone_page_state(zone, NR_ZONE_ACTIVE_FILE);
			/*
			 * Only file pages outside CMA make room for a pin, and
			 * nothing says where they are: count those that cannot
			 * all be in the used part of the CMA area, never more.
			 */
			if (cma) {
				cma -= min(cma, zone_page_state(zone, NR_FREE_CMA_PAGES));
				file -= min(file, cma);
			}
			file -= min(file / 2, low_wmark_pages(zone));
			/* what GFP_USER (up to ZONE_NORMAL) may not take */
			avail = zone_page_state(zone, NR_FREE_PAGES) -
				zone_page_state(zone, NR_FREE_CMA_PAGES) +
				file - high_wmark_pages(zone) -
				zone->lowmem_reserve[ZONE_NORMAL];
			if (avail > 0)
				sum += avail;
		}
	}
	return sum;
}

struct fit_walk {
	struct page **pages;
	unsigned long need;
	bool present_only;	/* count only present pages to migrate */
};

/*
 * Count, in one linear pass, the pages of a piece that will take a page of
 * pinnable memory: present ones the pin cannot keep where they are (in
 * ZONE_MOVABLE or CMA: migrated), and ones GUP-fast cannot take as they are
 * with the pin's own FOLL_WRITE (not present, the huge zero page, COW-shared
 * or private file pages: faulted, and the new page lands where ordinary
 * user memory does, ZONE_MOVABLE first). Never faults; killable.
 */
static int fit_seg_count(unsigned long start, unsigned long end,
			 const struct pin_seg *seg, void *data)
{
	struct fit_walk *w = data;
	int i, n, batch;

	while (start < end) {
		batch = min((end - start) >> PAGE_SHIFT, PINMEM_PIN_BATCH);
		n = get_user_pages_fast_only(start, batch,
					     seg->gup_flags & FOLL_WRITE, w->pages);
		n = max(n, 0);
		for (i = 0; i < n; i++) {
			w->need += !pinmem_longterm_pinnable(w->pages[i]);
			put_page(w->pages[i]);
		}
		start += (unsigned long)n << PAGE_SHIFT;
		if (n < batch) {
			w->need += !w->present_only;
			start += PAGE_SIZE;
		}
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

/*
 * Refuse up front a long-term pin that clearly cannot fit: migrating pages
 * out of ZONE_MOVABLE or CMA into memory that is not there ends in the OOM
 * killer, not in an error. Only migration needs this: on a machine with
 * neither, a pin faults like any other use of memory (bounded by
 * RLIMIT_MEMLOCK and the memory cgroup) and is never refused here. The walk
 * runs only when the whole range would not fit what is available.
 */
static int check_fit(struct mm_struct *mm, unsigned long addr,
		     unsigned long nr_pages, unsigned int gup_flags,
		     struct page **scratch)
{
	struct fit_walk w = { .pages = scratch };
	unsigned long avail;
	int ret;

	if (!pinmem_have_unpinnable(true))
		return 0;
	avail = pinnable_available_pages();
	if (nr_pages <= avail)
		return 0;
	ret = walk_segments(mm, addr, nr_pages, gup_flags, fit_seg_count, &w);
	if (ret)
		return ret;
	return w.need > avail ? -ENOMEM : 0;
}

/* Unpin a pin's pages as they were taken: by folio (memfd) or by run. */
static void pin_release_pages(struct pinmem_pin *pin, bool dirty)
{
	if (pin->folios)
		pinmem_memfd_unpin(pin, dirty);
	else
		pinmem_runs_release(&pin->runs, dirty);
}

/*
 * Drop a reference: the trees', an ACCESS's or QUERY's, or a dma-buf's
 * (export.c), which may be the last and come long after the context went.
 */
void pinmem_pin_put(struct pinmem_pin *pin)
{
	if (!refcount_dec_and_test(&pin->ref))
		return;
	pin_release_pages(pin, pin->flags & PINMEM_PIN_WRITE);
	pinmem_unaccount(pin->user, pin->mm, pin->nr_pages);
	atomic_long_dec(&pinmem_stats.pins);
	atomic_long_sub(pin->nr_pages, &pinmem_stats.pinned_pages);
	atomic64_inc(&pinmem_stats.total_unpins);
	atomic64_add(pin->nr_pages, &pinmem_stats.total_unpinned_pages);
	free_uid(pin->user);
	mmdrop(pin->mm);
	kfree(pin);
}

struct pin_walk {
	struct pinmem_pin *pin;
	struct pinmem_folio_cache fc;
	struct page **batch;
};

static int pin_seg_pages(unsigned long start, unsigned long end,
			 const struct pin_seg *seg, void *data)
{
	struct pin_walk *w = data;
	struct pinmem_pin *pin = w->pin;
	int ret;

	while (start < end) {
		unsigned long n = min((end - start) >> PAGE_SHIFT,
				      PINMEM_PIN_BATCH);

		ret = pin_user_pages_fast(start, n, seg->gup_flags, w->batch);
		if (ret <= 0)	/* 0 pages and no error: treat as unmapped */
			return ret ? ret : -EFAULT;
		n = ret;
		ret = pinmem_runs_add(&pin->runs, &w->fc, w->batch, n,
				      pin->nr_pages, &pin->place);
		if (ret) {
			unpin_user_pages(w->batch, n);
			return ret;
		}
		start += n << PAGE_SHIFT;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

/*
 * Pin every page of @pin's range into its runs, counting its placement:
 * all of it, or nothing.
 */
static int pin_range(struct pinmem_pin *pin, unsigned int gup_flags,
		     struct page **batch)
{
	struct pin_walk w = { .pin = pin, .batch = batch };
	int ret;

	ret = walk_segments(pin->mm, pin->uaddr, pin->nr_pages, gup_flags,
			    pin_seg_pages, &w);
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
static int reserve(struct pinmem_ctx *ctx, bool by_addr, unsigned long start,
		   unsigned long nr_pages, int *why)
{
	unsigned long end = start + (nr_pages << PAGE_SHIFT);
	int ret = 0;

	mutex_lock(&ctx->lock);
	if (by_addr && find_overlap(ctx, start, end)) {
		ret = -EEXIST;
		*why = PINMEM_REFUSE_OVERLAP;
	} else if (ctx->nr_pins >= pinmem_max_pins) {
		ret = -ENOMEM;
		*why = PINMEM_REFUSE_MAX_PINS;
	} else if (pinmem_max_pages &&
		   ctx->nr_pages + nr_pages > pinmem_max_pages) {
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

static void unreserve(struct pinmem_ctx *ctx, unsigned long nr_pages)
{
	mutex_lock(&ctx->lock);
	ctx->nr_pins--;
	ctx->nr_pages -= nr_pages;
	mutex_unlock(&ctx->lock);
}

/*
 * reserve() and charge the pages to the user (RLIMIT_MEMLOCK) and the mm;
 * undone by pin_unreserve(). On failure *@why says which limit it was.
 */
static int pin_reserve(struct pinmem_ctx *ctx, bool by_addr,
		       unsigned long start, unsigned long nr_pages, int *why)
{
	int ret = reserve(ctx, by_addr, start, nr_pages, why);

	if (ret)
		return ret;
	ret = pinmem_account(ctx->user, ctx->mm, nr_pages);
	if (ret) {
		*why = PINMEM_REFUSE_RLIMIT;
		unreserve(ctx, nr_pages);
	}
	return ret;
}

static void pin_unreserve(struct pinmem_ctx *ctx, unsigned long nr_pages)
{
	pinmem_unaccount(ctx->user, ctx->mm, nr_pages);
	unreserve(ctx, nr_pages);
}

/* A new pin of @ctx, with its own references on the mm and the user. */
static struct pinmem_pin *pin_alloc(struct pinmem_ctx *ctx, unsigned long addr,
				    unsigned long nr_pages, u32 flags)
{
	struct pinmem_pin *pin = kzalloc(sizeof(*pin), PINMEM_GFP);

	if (!pin)
		return NULL;
	/* its own references: a dma-buf may keep the pin past the context */
	pin->mm = ctx->mm;
	mmgrab(pin->mm);
	pin->user = get_uid(ctx->user);
	pin->uaddr = addr;
	pin->nr_pages = nr_pages;
	pin->flags = flags;
	pin->tgid = task_tgid_nr(current);
	get_task_comm(pin->comm, current);
	refcount_set(&pin->ref, 1);
	return pin;
}

/* Free a pin that holds no pages (never published, or released). */
static void pin_free(struct pinmem_pin *pin)
{
	free_uid(pin->user);
	mmdrop(pin->mm);
	kfree(pin);
}

/*
 * Count @pin and give it to the trees. Once inserted and unlocked it
 * belongs to them: another thread may UNPIN it by handle at once, so the
 * answer (@handle, @nr_pages) is written from under the lock. On error
 * (-ENOSPC, -ENOMEM) the caller still owns the pin and its pages.
 */
static int pin_publish(struct pinmem_ctx *ctx, struct pinmem_pin *pin,
		       u64 *handle, u64 *nr_pages)
{
	unsigned long n = pin->nr_pages;
	int ret;

	pin->created_ns = ktime_get_coarse_boottime_ns();
	atomic_long_inc(&pinmem_stats.pins);
	atomic_long_add(n, &pinmem_stats.pinned_pages);
	atomic64_inc(&pinmem_stats.total_pins);
	atomic64_add(n, &pinmem_stats.total_pinned_pages);
	mutex_lock(&ctx->lock);
	ret = insert_pin(ctx, pin);
	if (!ret) {
		*handle = pin->handle;
		*nr_pages = n;
		trace_pin(ctx->id, pin->handle, pin->uaddr, n, pin->flags);
	}
	mutex_unlock(&ctx->lock);
	if (ret) {
		atomic_long_dec(&pinmem_stats.pins);
		atomic_long_sub(n, &pinmem_stats.pinned_pages);
		atomic64_dec(&pinmem_stats.total_pins);
		atomic64_sub(n, &pinmem_stats.total_pinned_pages);
	}
	return ret;
}

/*
 * pin_range() for a long-term pin while pinmem:migrate is traced: count the
 * pages present in ZONE_MOVABLE or CMA before (GUP-fast, no faults), and
 * time the pin that moves them. Pages the pin faults in are not counted.
 */
static int pin_range_traced(struct pinmem_ctx *ctx, struct pinmem_pin *pin,
			    unsigned int gup_flags, struct page **batch)
{
	struct fit_walk w = { .pages = batch, .present_only = true };
	u64 t0;
	int ret;

	ret = walk_segments(pin->mm, pin->uaddr, pin->nr_pages, gup_flags,
			    fit_seg_count, &w);
	if (ret)
		return ret;
	t0 = ktime_get_ns();
	ret = pin_range(pin, gup_flags, batch);
	if (!ret && w.need)
		trace_migrate(ctx->id, pin->uaddr, pin->nr_pages, w.need,
			      ktime_get_ns() - t0);
	return ret;
}

static int pin_user_range(struct pinmem_ctx *ctx, struct pinmem_pin_args *args,
			  int *why)
{
	bool write = args->flags & PINMEM_PIN_WRITE;
	bool longterm = !(args->flags & PINMEM_PIN_SHORTTERM);
	unsigned int gup_flags = (longterm ? FOLL_LONGTERM : 0) |
				 (write ? FOLL_WRITE : 0);
	unsigned long nr_pages, addr;
	struct pinmem_pin *pin;
	struct page **scratch;
	int ret;

	if (args->flags & ~PINMEM_PIN_FLAGS)
		return -EINVAL;
	if (!longterm && !capable(CAP_SYS_ADMIN)) {
		*why = PINMEM_REFUSE_PERM;
		return -EPERM;
	}
	ret = pinmem_check_range(args->addr, args->length, &nr_pages);
	if (ret)
		return ret;
	/* GUP untags too: the trees must see the address GUP sees */
	addr = untagged_addr((unsigned long)args->addr);
	if (nr_pages > totalram_pages()) {
		*why = PINMEM_REFUSE_TOO_BIG;
		return -ENOMEM;
	}

	ret = pin_reserve(ctx, true, addr, nr_pages, why);
	if (ret)
		return ret;
	*why = PINMEM_REFUSE_NOMEM;
	ret = -ENOMEM;
	scratch = kmalloc_array(PINMEM_PIN_BATCH, sizeof(*scratch), GFP_KERNEL);
	if (!scratch)
		goto unreserve;
	if (longterm) {
		ret = 0;
		if (PINMEM_HUGETLB_CANNOT_MIGRATE) {
			ret = walk_segments(ctx->mm, addr, nr_pages, gup_flags,
					    hugetlb_seg_check, scratch);
			*why = ret == -EOPNOTSUPP ? PINMEM_REFUSE_HUGETLB :
						    PINMEM_REFUSE_GUP;
		}
		/* Only a long-term pin migrates pages out of ZONE_MOVABLE/CMA. */
		if (!ret) {
			ret = check_fit(ctx->mm, addr, nr_pages, gup_flags, scratch);
			*why = ret == -ENOMEM ? PINMEM_REFUSE_FIT :
						PINMEM_REFUSE_GUP;
		}
		if (ret)
			goto free_scratch;
	}

	*why = PINMEM_REFUSE_NOMEM;
	ret = -ENOMEM;
	pin = pin_alloc(ctx, addr, nr_pages, args->flags);
	if (!pin)
		goto free_scratch;
	*why = PINMEM_REFUSE_GUP;
	if (longterm && trace_migrate_enabled() && pinmem_have_unpinnable(true))
		ret = pin_range_traced(ctx, pin, gup_flags, scratch);
	else
		ret = pin_range(pin, gup_flags, scratch);
	if (ret)
		goto free;
	kfree(scratch);
	scratch = NULL;
	*why = PINMEM_REFUSE_NOMEM;
	ret = pin_publish(ctx, pin, &args->handle, &args->nr_pages);
	if (ret)
		goto release;
	return 0;

release:
	pin_release_pages(pin, false);
free:
	pin_free(pin);
free_scratch:
	kfree(scratch);
unreserve:
	pin_unreserve(ctx, nr_pages);
	return ret;
}

int pinmem_pin(struct pinmem_ctx *ctx, struct pinmem_pin_args *args)
{
	int why = PINMEM_REFUSE_ARGS;
	int ret = pin_user_range(ctx, args, &why);

	if (ret)
		trace_refuse(ctx->id, args->addr, args->length >> PAGE_SHIFT,
			     args->flags, why, ret);
	return ret;
}

/*
 * PIN_MEMFD: the pages of a memfd range (memfd.c), under the same limits
 * and charges as PIN. memfd_pin_folios() migrates out of ZONE_MOVABLE/CMA
 * itself and is not killable; the fit check of PIN does not apply (there
 * is no mapping to walk): what cannot be migrated fails with its errno.
 */
static int pin_memfd_range(struct pinmem_ctx *ctx,
			   struct pinmem_pin_memfd_args *args, int *why)
{
	bool write = args->flags & PINMEM_PIN_WRITE;
	unsigned long nr_pages;
	struct pinmem_pin *pin;
	struct page **scratch;
	struct file *file;
	u64 end;
	int ret;

	if (args->flags & ~PINMEM_PIN_WRITE || args->reserved)
		return -EINVAL;
	if (!PINMEM_CAN_PIN_MEMFD)
		return -EOPNOTSUPP;
	if (!args->length || !PAGE_ALIGNED(args->offset) ||
	    !PAGE_ALIGNED(args->length) ||
	    check_add_overflow(args->offset, args->length, &end) ||
	    end > LLONG_MAX)
		return -EINVAL;
	if (args->length >> PAGE_SHIFT > totalram_pages()) {
		*why = PINMEM_REFUSE_TOO_BIG;
		return -ENOMEM;
	}
	nr_pages = args->length >> PAGE_SHIFT;
	file = fget(args->memfd);
	if (!file)
		return -EBADF;
	ret = -EACCES;
	*why = PINMEM_REFUSE_PERM;
	if (write && !(file->f_mode & FMODE_WRITE))
		goto put_file;

	ret = pin_reserve(ctx, false, 0, nr_pages, why);
	if (ret)
		goto put_file;
	*why = PINMEM_REFUSE_NOMEM;
	ret = -ENOMEM;
	scratch = kmalloc_array(PINMEM_PIN_BATCH, sizeof(*scratch), GFP_KERNEL);
	if (!scratch)
		goto unreserve;
	pin = pin_alloc(ctx, 0, nr_pages, args->flags | PINMEM_PIN_MEMFD);
	if (!pin)
		goto free_scratch;
	*why = PINMEM_REFUSE_GUP;
	ret = pinmem_memfd_pin_pages(pin, file, args->offset, scratch);
	if (ret)
		goto free;
	kfree(scratch);
	scratch = NULL;
	*why = PINMEM_REFUSE_NOMEM;
	ret = pin_publish(ctx, pin, &args->handle, &args->nr_pages);
	if (ret)
		goto release;
	fput(file);
	return 0;

release:
	pin_release_pages(pin, false);
free:
	pin_free(pin);
free_scratch:
	kfree(scratch);
unreserve:
	pin_unreserve(ctx, nr_pages);
put_file:
	fput(file);
	return ret;
}

int pinmem_pin_memfd(struct pinmem_ctx *ctx, struct pinmem_pin_memfd_args *args)
{
	int why = PINMEM_REFUSE_ARGS;
	int ret = pin_memfd_range(ctx, args, &why);

	if (ret)
		trace_refuse(ctx->id, 0, args->length >> PAGE_SHIFT,
			     args->flags | PINMEM_PIN_MEMFD, why, ret);
	return ret;
}

int pinmem_unpin(struct pinmem_ctx *ctx, struct pinmem_unpin_args *args)
{
	struct pinmem_pin *pin;

	if (args->flags)
		return -EINVAL;

	mutex_lock(&ctx->lock);
	pin = pinmem_load_handle(&ctx->pins, args->handle);
	if (pin) {
		erase_pin(ctx, pin);
		trace_unpin(ctx->id, pin->handle, pin->uaddr, pin->nr_pages,
			    atomic_read(&pin->nr_exports));
	}
	mutex_unlock(&ctx->lock);
	if (!pin)
		return -ENOENT;

	pinmem_pin_put(pin);
	return 0;
}

/* Look a pin up and take a reference on it, so it can be used unlocked. */
static struct pinmem_pin *pin_get(struct pinmem_ctx *ctx, u64 handle,
				  bool by_addr, u64 addr)
{
	struct pinmem_pin *pin;

	mutex_lock(&ctx->lock);
	if (by_addr) {
		/* untagged as PIN untags; untagging only clears bits */
		unsigned long a = untagged_addr((unsigned long)addr);

		pin = addr < ULONG_MAX ? find_overlap(ctx, a, a + 1) : NULL;
	} else {
		pin = pinmem_load_handle(&ctx->pins, handle);
	}
	if (pin)
		refcount_inc(&pin->ref);
	mutex_unlock(&ctx->lock);
	return pin;
}

/* A reference on pin @handle of @ctx, for a dma-buf (export.c), or NULL. */
struct pinmem_pin *pinmem_pin_get(struct pinmem_ctx *ctx, u64 handle)
{
	return pin_get(ctx, handle, false, 0);
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
		if (!(i % PINMEM_PIN_BATCH)) {
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
		}
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
	args->nr_exports = atomic_read(&pin->nr_exports);
	args->nr_attachments = atomic_read(&pin->nr_attachments);
put:
	pinmem_pin_put(pin);
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

		/* the user mapping's lines, before reading the kernel alias */
		if (!write)
			flush_dcache_page(page);
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
		if (fatal_signal_pending(current))
			return -EINTR;
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
	pinmem_pin_put(pin);
	return ret;
}

/* Called on the last close: nobody else can reach the context any more. */
void pinmem_ctx_release_pins(struct pinmem_ctx *ctx)
{
	struct pinmem_pin *pin;
	unsigned long handle;

	xa_for_each(&ctx->pins, handle, pin) {
		trace_unpin(ctx->id, pin->handle, pin->uaddr, pin->nr_pages,
			    atomic_read(&pin->nr_exports));
		pinmem_pin_put(pin);
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
