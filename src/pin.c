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
#include <linux/moduleparam.h>
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
 * On a machine with HIGHMEM, refuse up front a long-term pin whose pages to
 * migrate or fault cannot all fit in the memory pinnable_available_pages()
 * counts: one walk of the range. There the batch-by-batch check cannot be
 * used: the pages a long-term pin faults in come from HIGHMEM first (only
 * __GFP_MOVABLE is taken from them), which that count leaves out, so the
 * check would see no memory go while HIGHMEM and then lowmem ran out, and
 * the OOM killer came (seen on the i386 debug kernel: test_libpinmem's
 * enomem_fit_not_rlimit OOM-killed, a 520 MiB pin of 1.4 GiB free but
 * little lowmem taken).
 */
static int check_fit_highmem(struct mm_struct *mm, unsigned long addr,
			     unsigned long nr_pages, unsigned int gup_flags,
			     struct page **scratch)
{
	struct fit_walk w = { .pages = scratch };
	unsigned long avail = pinnable_available_pages();
	int ret;

	if (nr_pages <= avail)
		return 0;
	ret = walk_segments(mm, addr, nr_pages, gup_flags, fit_seg_count, &w);
	if (ret)
		return ret;
	return w.need > avail ? -ENOMEM : 0;
}

static struct kmem_cache *pinmem_pin_cache;

int pinmem_pin_cache_init(void)
{
	pinmem_pin_cache = KMEM_CACHE(pinmem_pin, 0);
	return pinmem_pin_cache ? 0 : -ENOMEM;
}

void pinmem_pin_cache_exit(void)
{
	kmem_cache_destroy(pinmem_pin_cache);
}

static void owner_put(struct pinmem_owner *o)
{
	if (!refcount_dec_and_test(&o->ref))
		return;
	free_uid(o->user);
	mmdrop(o->mm);
	kfree(o);
}

/*
 * The owner for a new pin of @ctx by the current thread: the context's
 * last one if the same process (and command) made it, else a new one that
 * becomes the context's last.
 */
static struct pinmem_owner *owner_get(struct pinmem_ctx *ctx)
{
	pid_t tgid = task_tgid_nr(current);
	struct pinmem_owner *o, *old;
	char comm[TASK_COMM_LEN];

	get_task_comm(comm, current);
	mutex_lock(&ctx->lock);
	o = ctx->owner;
	if (o && o->tgid == tgid && !strcmp(o->comm, comm)) {
		refcount_inc(&o->ref);
		mutex_unlock(&ctx->lock);
		return o;
	}
	mutex_unlock(&ctx->lock);

	o = kmalloc(sizeof(*o), PINMEM_GFP);
	if (!o)
		return NULL;
	refcount_set(&o->ref, 2);	/* the pin's and the context's */
	o->tgid = tgid;
	memcpy(o->comm, comm, sizeof(comm));
	/* its own references: a dma-buf may keep a pin past the context */
	o->mm = ctx->mm;
	mmgrab(o->mm);
	o->user = get_uid(ctx->user);
	mutex_lock(&ctx->lock);
	old = ctx->owner;
	ctx->owner = o;
	mutex_unlock(&ctx->lock);
	if (old)
		owner_put(old);
	return o;
}

static void pin_free_ext(struct pinmem_pin *pin)
{
	if (!pin->ext)
		return;
	kvfree(pin->ext->index.index);
	kfree(pin->ext->place);
	kfree(pin->ext);
	pin->ext = NULL;
}

/**
 * pinmem_pin_placement() - where a pin's pages are.
 * @pin: the pin.
 * @place: out.
 *
 * Counted from the pages (a struct page read per folio) the first time,
 * and kept from then on by pins of more than %PINMEM_PIN_SMALL pages. A
 * pin does not count it while pinning: that cost as much as the pin. May
 * sleep.
 */
void pinmem_pin_placement(const struct pinmem_pin *pin,
			  struct pinmem_placement *place)
{
	struct pinmem_placement *p, *kept;

	if (pin->ext) {
		/* counted once, by whoever asks first */
		kept = READ_ONCE(pin->ext->place);
		if (kept) {
			*place = *kept;
			return;
		}
	}
	memset(place, 0, sizeof(*place));
	pinmem_runs_placement(&pin->runs, place);
	if (!pin->ext)
		return;
	p = kmemdup(place, sizeof(*place), PINMEM_GFP);
	if (p && cmpxchg(&pin->ext->place, NULL, p))
		kfree(p);
}

/* Unpin a pin's pages as they were taken: by folio (memfd) or by run. */
static void pin_release_pages(struct pinmem_pin *pin, bool dirty)
{
	if (pin->ext && pin->ext->folios)
		pinmem_memfd_unpin(pin, dirty);
	else
		pinmem_runs_release(&pin->runs, pin->nr_pages, dirty);
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
	pinmem_unaccount(pin->owner->user, pin->owner->mm, pin->nr_pages);
	atomic_long_dec(&pinmem_stats.pins);
	atomic_long_sub(pin->nr_pages, &pinmem_stats.pinned_pages);
	atomic64_inc(&pinmem_stats.total_unpins);
	atomic64_add(pin->nr_pages, &pinmem_stats.total_unpinned_pages);
	pin_free_ext(pin);
	owner_put(pin->owner);
	kmem_cache_free(pinmem_pin_cache, pin);
}

/* Pieces a parallel PIN is cut into, taken by the CPUs as they come. */
#define PIN_MAX_CHUNKS		64
#define PIN_CHUNKS_PER_CPU	8

/**
 * struct pin_job - one PIN's pinning: one part in the caller, or chunks
 * taken in turn by the caller and by workers on its other CPUs
 * (parallel.c), so that a worker that starts late, or a CPU that is busy,
 * leaves the others more to do instead of making them wait.
 * @pin: the pin.
 * @gup_flags: FOLL_* flags.
 * @fit: check, batch by batch, that what the batch may take fits (below).
 * @fit_refused: a batch did not fit.
 * @may_migrate: the machine has ZONE_MOVABLE or CMA and the pin is
 *	long-term: workers look at a chunk before they take it (below).
 * @par: the parallel job, or NULL for one part in the caller.
 * @parts: the chunks, in address order.
 * @nr_parts: chunks.
 * @batches: a GUP batch per CPU taking part.
 */
struct pin_job {
	struct pinmem_pin *pin;
	unsigned int gup_flags;
	bool fit;
	bool fit_refused;
	bool may_migrate;
	struct pinmem_par *par;
	struct pin_part *parts;
	unsigned int nr_parts;
	struct page **batches[PINMEM_PAR_MAX_PARTS];
};

/**
 * struct pin_part - the pages of a piece (chunk) of a pin.
 * @job: its job.
 * @start: first address (to pin).
 * @nr_pages: pages (to pin).
 * @limit: pages of the chunk (bounds its runs).
 * @nofault: pin only what needs no fault (a worker: FOLL_NOFAULT).
 * @resume: it stopped at @start for a fault, for the caller to take.
 * @runs: its pinned pages (joined into the pin's when all are done).
 * @batch: page array for GUP, of whoever pins it.
 */
struct pin_part {
	struct pin_job *job;
	unsigned long start;
	unsigned long nr_pages;
	unsigned long limit;
	bool nofault;
	bool resume;
	struct pinmem_runs_build runs;
	struct page **batch;
};

/*
 * Before a batch of a long-term pin that may not fit (see
 * pinnable_available_pages()): if less is available than the batch could
 * take, count what it will take (GUP-fast, no faults) and refuse if that
 * does not fit. So the check costs a read of the zone counters per batch,
 * and a probe of the batch only once memory runs short: a range already
 * outside ZONE_MOVABLE/CMA is never walked twice, and migration never
 * takes more than is there. A refused pin has migrated what did fit; its
 * pages are unpinned again (all or nothing).
 */
static int fit_batch(struct pin_part *part, unsigned long start,
		     unsigned long n, const struct pin_seg *seg)
{
	struct fit_walk w = { .pages = part->batch };
	unsigned long avail = pinnable_available_pages();
	int ret;

	if (avail >= n)
		return 0;
	ret = fit_seg_count(start, start + (n << PAGE_SHIFT), seg, &w);
	if (ret)
		return ret;
	if (w.need <= avail)
		return 0;
	WRITE_ONCE(part->job->fit_refused, true);
	return -ENOMEM;
}

/*
 * A worker's part stops at the first page that needs a fault, for the
 * caller to continue from there (pin_range_parallel()): a worker must never
 * wait for a fault that only the caller's death could end (userfaultfd or
 * FUSE served by the caller's own process, killed while it waits for us).
 */
static int pin_part_stop(struct pin_part *part, unsigned long at)
{
	unsigned long end = part->start + (part->nr_pages << PAGE_SHIFT);

	part->resume = true;
	part->start = at;
	part->nr_pages = (end - at) >> PAGE_SHIFT;
	return 1;
}

static int pin_seg_pages(unsigned long start, unsigned long end,
			 const struct pin_seg *seg, void *data)
{
	struct pin_part *part = data;
	struct pin_job *job = part->job;
	long got;
	int ret;

	while (start < end) {
		unsigned long n = min((end - start) >> PAGE_SHIFT,
				      PINMEM_PIN_BATCH);

		ret = pinmem_par_stop(job->par);
		if (!ret && job->fit)
			ret = fit_batch(part, start, n, seg);
		if (ret)
			return ret;
		got = pin_user_pages_fast(start, n, seg->gup_flags |
					  (part->nofault ? FOLL_NOFAULT : 0),
					  part->batch);
		if (part->nofault && (got == -EFAULT || got == 0))
			return pin_part_stop(part, start);
		if (got <= 0)	/* 0 pages and no error: treat as unmapped */
			return got ? got : -EFAULT;
		ret = pinmem_runs_add(&part->runs, part->batch, got, part->limit);
		if (ret) {
			unpin_user_pages(part->batch, got);
			return ret;
		}
		start += (unsigned long)got << PAGE_SHIFT;
		cond_resched();
	}
	return 0;
}

static int pin_part_fn_one(struct pin_part *part)
{
	struct pin_job *job = part->job;

	return walk_segments(job->pin->owner->mm, part->start, part->nr_pages,
			     job->gup_flags, pin_seg_pages, part);
}

/* Pages of a chunk a worker looks at before it takes the chunk. */
#define PIN_CHUNK_SAMPLE	16

static bool pinmem_parallel_migrate;
module_param_named(parallel_migrate, pinmem_parallel_migrate, bool, 0644);
MODULE_PARM_DESC(parallel_migrate,
		 "Workers of a split pin also migrate 4 KiB pages out of ZONE_MOVABLE/CMA (default N: the caller does; see pinmem(4))");

/*
 * Does the start of chunk @part hold 4 KiB pages that must migrate (a
 * sample, GUP-fast, no faults)? Unless parallel_migrate is set, such a
 * chunk is left to the caller: on kernels whose migration flushes the TLB
 * page by page (6.1), every page migrated while a worker runs on the same
 * mm costs an IPI to the other CPU, and a split first pin of 4 KiB pages
 * in ZONE_MOVABLE measured 1.8 times the single-threaded one; where
 * migration batches its TLB flushes (6.12) it measured 0.52 times. Huge
 * pages migrate one flush per huge page, and stay split everywhere.
 */
static bool chunk_migrates_small_pages(struct pin_part *part)
{
	int i, n = min_t(unsigned long, part->nr_pages, PIN_CHUNK_SAMPLE);
	bool small = false;

	n = get_user_pages_fast_only(part->start, n, 0, part->batch);
	for (i = 0; i < n; i++) {
		struct page *page = part->batch[i];

		small |= !pinmem_longterm_pinnable(page) && !PageCompound(page);
		put_page(page);
	}
	return small;
}

/*
 * The share of CPU @who of a job: chunks, as long as there are any. A
 * worker (@who > 0, on the caller's mm) pins only what needs no fault and
 * leaves the rest of a chunk to the caller (not an error), and leaves it
 * whole if it would migrate 4 KiB pages (chunk_migrates_small_pages()).
 */
static int pin_part_fn(struct pinmem_par *par, unsigned int who)
{
	struct pin_job *job = par->data;
	unsigned int i;
	int ret;

	while (pinmem_par_take(par, job->nr_parts, &i)) {
		struct pin_part *part = &job->parts[i];

		part->batch = job->batches[who];
		part->nofault = who > 0;
		if (who && job->may_migrate && !READ_ONCE(pinmem_parallel_migrate) &&
		    chunk_migrates_small_pages(part)) {
			part->resume = true;
			continue;
		}
		ret = pin_part_fn_one(part);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/*
 * Cut a pin into chunks on PMD boundaries (a THP is not shared between
 * chunks), about PIN_CHUNKS_PER_CPU per CPU, and give each of the @cpus
 * CPUs but the caller's (@batch) a GUP batch. False if out of memory.
 */
static bool pin_split(struct pin_job *job, unsigned int cpus,
		      struct page **batch)
{
	unsigned long addr = job->pin->uaddr;
	unsigned long end = pin_end(job->pin);
	unsigned long each;
	unsigned int i, nr;

	nr = min_t(unsigned long, cpus * PIN_CHUNKS_PER_CPU, PIN_MAX_CHUNKS);
	each = round_up(DIV_ROUND_UP(end - addr, nr), PMD_SIZE);
	job->parts = kcalloc(nr, sizeof(*job->parts), GFP_KERNEL);
	if (!job->parts)
		return false;
	for (i = 0; i < nr && addr < end; i++) {
		unsigned long next = min(end, ALIGN_DOWN(addr + each, PMD_SIZE));

		if (next <= addr || i + 1 == nr)
			next = end;
		job->parts[i].job = job;
		job->parts[i].start = addr;
		job->parts[i].nr_pages = (next - addr) >> PAGE_SHIFT;
		job->parts[i].limit = job->parts[i].nr_pages;
		addr = next;
	}
	job->nr_parts = i;
	job->batches[0] = batch;
	for (i = 1; i < cpus; i++) {
		job->batches[i] = kmalloc_array(PINMEM_PIN_BATCH, sizeof(*batch),
						GFP_KERNEL);
		if (!job->batches[i])
			return false;
	}
	return true;
}

/*
 * pin_range() on @cpus of the caller's CPUs, into @b. False if it could
 * not start (no memory): then nothing was done.
 */
static bool pin_range_parallel(struct pin_job *job, unsigned int cpus,
			       struct page **batch, struct pinmem_runs_build *b,
			       int *ret)
{
	struct pinmem_runs_build **runs = NULL;
	struct pinmem_pin *pin = job->pin;
	bool started = false;
	unsigned int i, n;

	if (pin_split(job, cpus, batch))
		job->par = pinmem_par_alloc(cpus, pin->owner->mm, pin_part_fn, job);
	n = job->nr_parts;
	if (job->par)
		runs = kmalloc_array(n, sizeof(*runs), GFP_KERNEL);
	if (runs) {
		started = true;
		*ret = pinmem_par_run(job->par);
		/* the caller takes over where workers stopped for a fault */
		for (i = 0; !*ret && i < n; i++) {
			struct pin_part *part = &job->parts[i];

			if (!part->resume)
				continue;
			part->resume = false;
			part->nofault = false;
			part->batch = batch;
			*ret = pin_part_fn_one(part);
		}
		for (i = 0; i < n; i++)
			runs[i] = &job->parts[i].runs;
		if (!*ret)
			*ret = pinmem_runs_concat(b, runs, n);
		for (i = 0; *ret && i < n; i++)
			pinmem_runs_build_release(&job->parts[i].runs,
						  job->parts[i].limit, false);
	}
	kfree(runs);
	pinmem_par_free(job->par);
	job->par = NULL;
	for (i = 1; i < cpus; i++)
		kfree(job->batches[i]);
	kfree(job->parts);
	job->parts = NULL;
	return started;
}

/*
 * Give @pin the runs built: a pin of more than PINMEM_PIN_SMALL pages or
 * of more than one run keeps its seek index (and placement, once counted)
 * in a &pinmem_pin_ext; a small one has none (pinmem_pin_placement()).
 */
static int pin_finish(struct pinmem_pin *pin, struct pinmem_runs_build *b)
{
	if (b->nr > 1 || pin->nr_pages > PINMEM_PIN_SMALL) {
		pin->ext = kzalloc(sizeof(*pin->ext), PINMEM_GFP);
		if (!pin->ext) {
			pinmem_runs_build_release(b, pin->nr_pages, false);
			return -ENOMEM;
		}
	}
	pinmem_runs_finish(b, &pin->runs, pin->ext ? &pin->ext->index : NULL);
	return 0;
}

/*
 * Pin every page of @pin's range into its runs: all of it, or nothing. A
 * range of at least parallel_min_pages is pinned in chunks on the
 * caller's CPUs (parallel.c). With @fit, each batch is checked
 * against the memory available to long-term pins (fit_batch()), and
 * *@fit_refused says whether that refused it.
 */
static int pin_range(struct pinmem_pin *pin, unsigned int gup_flags,
		     struct page **batch, bool fit, bool *fit_refused)
{
	struct pin_job job = {
		.pin = pin, .gup_flags = gup_flags, .fit = fit,
		.may_migrate = (gup_flags & FOLL_LONGTERM) &&
			       pinmem_have_unpinnable(true),
	};
	struct pin_part one = { .job = &job, .start = pin->uaddr,
				.nr_pages = pin->nr_pages,
				.limit = pin->nr_pages, .batch = batch };
	unsigned int nr = pinmem_par_parts(pin->nr_pages);
	struct pinmem_runs_build b = { 0 };
	int ret;

	if (nr > 1 && pin_range_parallel(&job, nr, batch, &b, &ret))
		goto built;
	job.parts = &one;
	ret = pin_part_fn_one(&one);
	if (ret) {
		pinmem_runs_build_release(&one.runs, one.nr_pages, false);
		goto out;
	}
	b = one.runs;
built:
	if (!ret)
		ret = pin_finish(pin, &b);
out:
	*fit_refused = job.fit_refused;
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
	struct pinmem_pin *pin = kmem_cache_zalloc(pinmem_pin_cache, PINMEM_GFP);

	if (!pin)
		return NULL;
	pin->owner = owner_get(ctx);
	if (!pin->owner) {
		kmem_cache_free(pinmem_pin_cache, pin);
		return NULL;
	}
	pin->uaddr = addr;
	pin->nr_pages = nr_pages;
	pin->flags = flags;
	refcount_set(&pin->ref, 1);
	return pin;
}

/* Free a pin that holds no pages (never published, or released). */
static void pin_free(struct pinmem_pin *pin)
{
	pin_free_ext(pin);
	owner_put(pin->owner);
	kmem_cache_free(pinmem_pin_cache, pin);
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
			    unsigned int gup_flags, struct page **batch,
			    bool fit, bool *fit_refused)
{
	struct fit_walk w = { .pages = batch, .present_only = true };
	u64 t0;
	int ret;

	ret = walk_segments(pin->owner->mm, pin->uaddr, pin->nr_pages, gup_flags,
			    fit_seg_count, &w);
	if (ret)
		return ret;
	t0 = ktime_get_ns();
	ret = pin_range(pin, gup_flags, batch, fit, fit_refused);
	if (!ret && w.need)
		trace_migrate(ctx->id, pin->uaddr, pin->nr_pages, w.need,
			      ktime_get_ns() - t0);
	return ret;
}

static int pin_user_range(struct pinmem_ctx *ctx, struct pinmem_pin_args *args,
			  int *why)
{
	bool write = args->flags & PINMEM_PIN_WRITE;
#ifdef PINMEM_TEST	/* tests/pinmem_test_uapi.h */
	u32 known = PINMEM_PIN_FLAGS | PINMEM_PIN_SHORTTERM;
	bool longterm = !(args->flags & PINMEM_PIN_SHORTTERM);
#else
	u32 known = PINMEM_PIN_FLAGS;
	bool longterm = true;
#endif
	unsigned int gup_flags = (longterm ? FOLL_LONGTERM : 0) |
				 (write ? FOLL_WRITE : 0);
	bool fit = false, fit_refused = false;
	unsigned long nr_pages, addr;
	struct pinmem_pin *pin;
	struct page **scratch;
	int ret;

	if (args->flags & ~known)
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
		if (ret)
			goto free_scratch;
		/*
		 * Only a long-term pin migrates pages out of ZONE_MOVABLE/CMA:
		 * if the whole range might not fit where it may go, each batch
		 * is checked (fit_batch()).
		 */
		fit = pinmem_have_unpinnable(true) &&
		      nr_pages > pinnable_available_pages();
		if (fit && totalhigh_pages()) {
			fit = false;
			ret = check_fit_highmem(ctx->mm, addr, nr_pages,
						gup_flags, scratch);
			if (ret) {
				*why = ret == -ENOMEM ? PINMEM_REFUSE_FIT :
							PINMEM_REFUSE_GUP;
				goto free_scratch;
			}
		}
	}

	*why = PINMEM_REFUSE_NOMEM;
	ret = -ENOMEM;
	pin = pin_alloc(ctx, addr, nr_pages, args->flags);
	if (!pin)
		goto free_scratch;
	*why = PINMEM_REFUSE_GUP;
	if (longterm && trace_migrate_enabled() && pinmem_have_unpinnable(true))
		ret = pin_range_traced(ctx, pin, gup_flags, scratch, fit,
				       &fit_refused);
	else
		ret = pin_range(pin, gup_flags, scratch, fit, &fit_refused);
	if (ret) {
		if (fit_refused && ret == -ENOMEM)
			*why = PINMEM_REFUSE_FIT;
		goto free;
	}
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
	pin->ext = kzalloc(sizeof(*pin->ext), PINMEM_GFP);
	if (!pin->ext)
		goto free;
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
	pinmem_runs_seek(&it, &pin->runs, pin->ext ? &pin->ext->index : NULL,
			 args->pfn_first);
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
	struct pinmem_placement place;
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
	pinmem_pin_placement(pin, &place);
	for (i = 0; i < PINMEM_ZONE_SLOTS; i++)
		args->zone_pages[i] = place.zone_pages[i];
	args->nr_compound = place.nr_compound;
	args->nr_huge = place.nr_huge;
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

	pinmem_runs_seek(&it, &pin->runs, pin->ext ? &pin->ext->index : NULL,
			 offset >> PAGE_SHIFT);
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
	if (ctx->owner)
		owner_put(ctx->owner);
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
