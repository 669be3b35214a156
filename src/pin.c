// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem: a pin and the ioctls on it. PIN checks the range and the limits
 * (account.c, fit.c, vma.c), pins it (pin_job.c) and publishes the pin in
 * the context's trees (ctx.c); UNPIN, QUERY and ACCESS find it there, and
 * the pages are unpinned with the last reference, which a dma-buf made of
 * the pin (export.c) may hold past the context.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

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

/* Drop a reference on @o: the last drops its mm and user too. */
void pinmem_owner_put(struct pinmem_owner *o)
{
	if (!refcount_dec_and_test(&o->ref))
		return;
	free_uid(o->user);
	mmdrop(o->mm);
	pinmem_slots_put(o->slots);
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
	o->slots = ctx->slots;
	refcount_inc(&o->slots->ref);
	mutex_lock(&ctx->lock);
	old = ctx->owner;
	ctx->owner = o;
	mutex_unlock(&ctx->lock);
	if (old)
		pinmem_owner_put(old);
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
	pinmem_slots_release(pin->owner->slots, pin->nr_pages);
	atomic_long_dec(&pinmem_stats.pins);
	atomic_long_sub(pin->nr_pages, &pinmem_stats.pinned_pages);
	atomic64_inc(&pinmem_stats.total_unpins);
	atomic64_add(pin->nr_pages, &pinmem_stats.total_unpinned_pages);
	pin_free_ext(pin);
	pinmem_owner_put(pin->owner);
	kmem_cache_free(pinmem_pin_cache, pin);
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
	pinmem_owner_put(pin->owner);
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
	ret = pinmem_pin_tree_insert(ctx, pin);
	if (!ret) {
		*handle = pin->handle;
		*nr_pages = n;
		trace_pinmem_pin(ctx->id, pin->handle, pin->uaddr, n, pin->flags,
				 0);
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
 * pinmem_pin_job_run() for a long-term pin while pinmem:pinmem_migrate is
 * traced: count the pages present in ZONE_MOVABLE or CMA before (GUP-fast,
 * no faults), and time the pin that moves them. Pages the pin faults in
 * are not counted.
 */
static int pin_job_run_traced(struct pinmem_ctx *ctx, struct pinmem_pin *pin,
			      unsigned int gup_flags, struct page **batch,
			      bool fit, bool *fit_refused)
{
	struct pinmem_fit_walk w = { .pages = batch, .present_only = true };
	u64 t0;
	int ret;

	ret = pinmem_vma_seg_walk(pin->owner->mm, pin->uaddr, pin->nr_pages,
				  gup_flags, pinmem_fit_seg_count, &w);
	if (ret)
		return ret;
	t0 = ktime_get_ns();
	ret = pinmem_pin_job_run(pin, gup_flags, batch, fit, fit_refused);
	if (!ret && w.need)
		trace_pinmem_migrate(ctx->id, pin->uaddr, pin->nr_pages, w.need,
				     ktime_get_ns() - t0);
	return ret;
}

/* PIN: the pages of a user address range. */
static int pin_addr_range(struct pinmem_ctx *ctx, struct pinmem_pin_args *args,
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

	ret = pinmem_limits_reserve(ctx, true, addr, nr_pages, why);
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
			ret = pinmem_vma_check_hugetlb(ctx->mm, addr, nr_pages,
						       gup_flags, scratch);
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
		      pinmem_fit_span(addr, nr_pages) >
		      pinmem_pinnable_available_pages();
		if (fit && totalhigh_pages()) {
			fit = false;
			ret = pinmem_fit_check_highmem(ctx->mm, addr, nr_pages,
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
	if (longterm && trace_pinmem_migrate_enabled() &&
	    pinmem_have_unpinnable(true))
		ret = pin_job_run_traced(ctx, pin, gup_flags, scratch, fit,
					 &fit_refused);
	else
		ret = pinmem_pin_job_run(pin, gup_flags, scratch, fit,
					 &fit_refused);
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
	pinmem_limits_unreserve(ctx, nr_pages);
	return ret;
}

int pinmem_pin(struct pinmem_ctx *ctx, struct pinmem_pin_args *args)
{
	int why = PINMEM_REFUSE_ARGS;
	int ret = pin_addr_range(ctx, args, &why);

	if (ret)
		trace_pinmem_refuse(ctx->id, args->addr,
				    args->length >> PAGE_SHIFT, args->flags,
				    why, ret);
	return ret;
}

/*
 * PIN_MEMFD: the pages of a memfd range (memfd.c), under the same limits
 * and charges as PIN, and killable with the same fit check per slice.
 */
static int pin_memfd_range(struct pinmem_ctx *ctx,
			   struct pinmem_pin_memfd_args *args, int *why)
{
	bool write = args->flags & PINMEM_PIN_WRITE;
	unsigned long nr_pages;
	struct pinmem_pin *pin;
	struct page **scratch;
	struct file *file;
	bool fit;
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
	/* on 32-bit, a dma-buf's size is a size_t */
	if (args->length >> PAGE_SHIFT > totalram_pages() ||
	    args->length > SIZE_MAX) {
		*why = PINMEM_REFUSE_TOO_BIG;
		return -ENOMEM;
	}
	nr_pages = args->length >> PAGE_SHIFT;
	file = fget(args->memfd);
	if (!file)
		return -EBADF;
	ret = pinmem_memfd_may_pin(file, write);
	if (ret) {
		if (ret != -EINVAL)
			*why = PINMEM_REFUSE_PERM;
		goto put_file;
	}

	ret = pinmem_limits_reserve(ctx, false, 0, nr_pages, why);
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
	fit = pinmem_have_unpinnable(true) &&
	      pinmem_memfd_span(file, args->offset, args->length) >
	      pinmem_pinnable_available_pages();
	ret = pinmem_memfd_pin_pages(pin, file, args->offset, fit, scratch,
				     why);
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
	pinmem_limits_unreserve(ctx, nr_pages);
put_file:
	fput(file);
	return ret;
}

int pinmem_pin_memfd(struct pinmem_ctx *ctx, struct pinmem_pin_memfd_args *args)
{
	int why = PINMEM_REFUSE_ARGS;
	int ret = pin_memfd_range(ctx, args, &why);

	if (ret)
		trace_pinmem_refuse(ctx->id, 0, args->length >> PAGE_SHIFT,
				    args->flags | PINMEM_PIN_MEMFD, why, ret);
	return ret;
}

int pinmem_unpin(struct pinmem_ctx *ctx, struct pinmem_unpin_args *args)
{
	struct pinmem_pin *pin;

	if (args->flags)
		return -EINVAL;

	mutex_lock(&ctx->lock);
	pin = pinmem_handle_load(&ctx->pins, args->handle);
	if (pin) {
		pinmem_pin_tree_erase(ctx, pin);
		trace_pinmem_unpin(ctx->id, pin->handle, pin->uaddr,
				   pin->nr_pages, pin->flags,
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

		pin = addr < ULONG_MAX ? pinmem_pin_tree_find(ctx, a, a + 1) : NULL;
	} else {
		pin = pinmem_handle_load(&ctx->pins, handle);
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
