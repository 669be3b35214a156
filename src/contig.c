// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem: physically contiguous buffers from the DMA/CMA core.
 *
 * Buffers come from dma_alloc_pages() on pinmem's DMA device, which under
 * dma-direct tries the default CMA area first (cma_alloc() itself is not
 * exported to modules on older kernels), or from a pool reserved the same
 * way at load time. dma-direct falls back silently to the page allocator
 * when CMA cannot serve a request, so whether a buffer really came from CMA
 * is read off its pageblock (MIGRATE_CMA). Allocations run in parallel:
 * pinmem_contig_lock only guards the list, the pool bitmap and the stats,
 * never an allocation, which may migrate for seconds.
 *
 * Every buffer reaches user space zeroed: dma_alloc_pages() zeroes its own,
 * pool buffers are cleared on each allocation. Each is charged to its
 * user (locked_vm, as pins are) and, from the page allocator, to the
 * caller's memory cgroup (__GFP_ACCOUNT; CMA allocations cannot be). A
 * buffer that does not fit is ENOMEM (__GFP_RETRY_MAYFAIL), never the OOM
 * killer, global or the memcg's.
 *
 * A buffer is referenced by its context's tree and by every VMA mapping
 * it, so it outlives a CONTIG_FREE or close() until the last munmap().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/bitmap.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/sched/user.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/vmstat.h>

#include "compat.h"
#include "mm_copy.h"
#include "pinmem.h"

static unsigned int pinmem_pool_mb;
module_param_named(pool_mb, pinmem_pool_mb, uint, 0444);
MODULE_PARM_DESC(pool_mb, "MiB of contiguous memory to reserve at load for PINMEM_CONTIG_POOL (default 0)");

/**
 * struct pinmem_contig - one contiguous buffer.
 * @list: in pinmem_contig_list, for debugfs.
 * @ref: the context's tree holds one, each VMA one.
 * @handle: user-visible handle.
 * @size: bytes.
 * @page: first page.
 * @dma: DMA address.
 * @placement: PINMEM_CONTIG_IN_* bits.
 * @nr_charged: pages charged for it (a power of two from the page allocator).
 * @mm: address space whose pinned_vm shows it (mmgrab'ed: it may outlive
 *	the context).
 * @user: user charged for it (get_uid()'ed, likewise).
 * @tgid: who allocated it.
 * @comm: its command name.
 * @created_ns: boot time of the allocation.
 */
struct pinmem_contig {
	struct list_head list;
	refcount_t ref;
	u64 handle;
	size_t size;
	struct page *page;
	dma_addr_t dma;
	u32 placement;
	unsigned long nr_charged;
	struct mm_struct *mm;
	struct user_struct *user;
	pid_t tgid;
	char comm[TASK_COMM_LEN];
	u64 created_ns;
};

static struct device *contig_dev;

/* Guards the list, the pool bitmap and cstats; held only briefly. */
static DEFINE_MUTEX(pinmem_contig_lock);
static LIST_HEAD(pinmem_contig_list);

/*
 * The pool_mb= pool: one contiguous allocation made at load, handed out in
 * pages through a bitmap (under pinmem_contig_lock). No genalloc: not every
 * kernel builds it.
 */
static struct {
	struct page *page;
	dma_addr_t dma;
	size_t size;
	unsigned long *used;	/* one bit per page */
	unsigned long nr_pages;
	unsigned long nr_free;
} pool;

static struct {
	u64 allocs, frees, failures;
	u64 bytes_in_use, cma_bytes_in_use;
	unsigned long cma_free_at_load;
} cstats;

static void contig_put_memory(struct pinmem_contig *c)
{
	if (c->placement & PINMEM_CONTIG_IN_POOL) {
		mutex_lock(&pinmem_contig_lock);
		bitmap_clear(pool.used, page_to_pfn(c->page) -
			     page_to_pfn(pool.page), c->size >> PAGE_SHIFT);
		pool.nr_free += c->size >> PAGE_SHIFT;
		mutex_unlock(&pinmem_contig_lock);
	} else {
		dma_free_pages(contig_dev, c->size, c->page, c->dma,
			       DMA_BIDIRECTIONAL);
	}
}

static void contig_release(struct pinmem_contig *c)
{
	mutex_lock(&pinmem_contig_lock);
	list_del(&c->list);
	cstats.frees++;
	cstats.bytes_in_use -= c->size;
	if (c->placement & PINMEM_CONTIG_IN_CMA)
		cstats.cma_bytes_in_use -= c->size;
	mutex_unlock(&pinmem_contig_lock);
	contig_put_memory(c);

	pinmem_unaccount(c->user, c->mm, c->nr_charged);
	free_uid(c->user);
	mmdrop(c->mm);
	kfree(c);
}

/* Drop a reference: the tree's, a VMA's or a dma-buf's (export.c). */
void pinmem_contig_put(struct pinmem_contig *c)
{
	if (refcount_dec_and_test(&c->ref))
		contig_release(c);
}

/* A reference on buffer @handle of @ctx, for a dma-buf (export.c), or NULL. */
struct pinmem_contig *pinmem_contig_get(struct pinmem_ctx *ctx, u64 handle)
{
	struct pinmem_contig *c;

	mutex_lock(&ctx->lock);
	c = pinmem_handle_load(&ctx->contigs, handle);
	if (c)
		refcount_inc(&c->ref);
	mutex_unlock(&ctx->lock);
	return c;
}

unsigned long pinmem_contig_pfn(const struct pinmem_contig *c)
{
	return page_to_pfn(c->page);
}

unsigned long pinmem_contig_pages(const struct pinmem_contig *c)
{
	return c->size >> PAGE_SHIFT;
}

/* A range of the pool for @c, zeroed; takes pinmem_contig_lock. */
static int contig_from_pool(struct pinmem_contig *c, u64 align)
{
	unsigned long nr = c->size >> PAGE_SHIFT, mask, first, i;

	/* Aligned in physical memory, wherever the pool starts. */
	mask = (align >> PAGE_SHIFT) - 1;
	mutex_lock(&pinmem_contig_lock);
	first = bitmap_find_next_zero_area_off(pool.used, pool.nr_pages, 0, nr,
					       mask, page_to_pfn(pool.page) & mask);
	if (first >= pool.nr_pages) {
		mutex_unlock(&pinmem_contig_lock);
		return -ENOMEM;
	}
	bitmap_set(pool.used, first, nr);
	pool.nr_free -= nr;
	mutex_unlock(&pinmem_contig_lock);

	c->page = pfn_to_page(page_to_pfn(pool.page) + first);
	c->dma = pool.dma + (first << PAGE_SHIFT);
	c->placement = PINMEM_CONTIG_IN_POOL;
	/* The last owner's data must not reach the next one. */
	for (i = 0; i < nr; i++) {
		clear_highpage(pfn_to_page(page_to_pfn(c->page) + i));
		cond_resched();
	}
	return 0;
}

/* Allocate @c's memory from the DMA/CMA core or the pool. */
static int contig_get_memory(struct pinmem_contig *c, u64 align, bool from_pool)
{
	if (from_pool)
		return contig_from_pool(c, align);

	c->page = dma_alloc_pages(contig_dev, c->size, &c->dma,
				  DMA_BIDIRECTIONAL,
				  GFP_KERNEL | __GFP_NOWARN | __GFP_ACCOUNT |
				  __GFP_RETRY_MAYFAIL);
	if (!c->page)
		return -ENOMEM;
	if (!IS_ALIGNED(page_to_phys(c->page), align)) {
		dma_free_pages(contig_dev, c->size, c->page, c->dma,
			       DMA_BIDIRECTIONAL);
		return -ENOMEM;
	}
	if (pinmem_page_in_cma(c->page))
		c->placement = PINMEM_CONTIG_IN_CMA;
	return 0;
}

int pinmem_contig_alloc(struct pinmem_ctx *ctx,
			struct pinmem_contig_alloc_args *args)
{
	bool from_pool = args->flags & PINMEM_CONTIG_POOL;
	u64 align = args->align ? args->align : PAGE_SIZE;
	struct pinmem_contig *c;
	unsigned long nr, extra;
	bool admin;
	int ret;

	if (args->flags & ~PINMEM_CONTIG_FLAGS || args->reserved)
		return -EINVAL;
	if (!args->length || !PAGE_ALIGNED(args->length))
		return -EINVAL;
	/*
	 * Before any rounding: lengths near 2^64 must not overflow it; and on
	 * 32-bit, a buffer's size is a size_t (a dma-buf's too).
	 */
	if (args->length >> PAGE_SHIFT > totalram_pages() ||
	    args->length > SIZE_MAX)
		return -ENOMEM;
	nr = args->length >> PAGE_SHIFT;
	if (!is_power_of_2(align) || align < PAGE_SIZE ||
	    (!from_pool && align > roundup_pow_of_two(args->length)))
		return -EINVAL;
	if (from_pool && !pool.used)
		return -ENODEV;
	if (!from_pool && nr > MAX_ORDER_NR_PAGES &&
	    (!IS_ENABLED(CONFIG_DMA_CMA) || !pinmem_have_unpinnable(false)))
		return -E2BIG;
	/* No audit record (an SELinux denial) for every unprivileged caller. */
	admin = ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN);

	ret = pinmem_account(ctx->user, ctx->mm, nr);
	if (ret)
		return ret;
	ret = -ENOMEM;
	c = kzalloc(sizeof(*c), PINMEM_GFP);
	if (!c)
		goto unaccount;
	c->size = args->length;
	c->nr_charged = nr;
	c->tgid = task_tgid_nr(current);
	get_task_comm(c->comm, current);
	refcount_set(&c->ref, 1);

	ret = contig_get_memory(c, align, from_pool);
	if (ret)
		goto free;
	/* The page allocator gave a power of two: charge all of it. */
	if (!(c->placement & (PINMEM_CONTIG_IN_POOL | PINMEM_CONTIG_IN_CMA))) {
		extra = (1UL << get_order(c->size)) - nr;
		ret = extra ? pinmem_account(ctx->user, ctx->mm, extra) : 0;
		if (ret)
			goto put_memory;
		c->nr_charged += extra;
	}
	c->mm = ctx->mm;
	mmgrab(c->mm);
	c->user = get_uid(ctx->user);

	mutex_lock(&pinmem_contig_lock);
	c->created_ns = ktime_get_coarse_boottime_ns();
	list_add_tail(&c->list, &pinmem_contig_list);
	cstats.allocs++;
	cstats.bytes_in_use += c->size;
	if (c->placement & PINMEM_CONTIG_IN_CMA)
		cstats.cma_bytes_in_use += c->size;
	mutex_unlock(&pinmem_contig_lock);

	/*
	 * Once stored and unlocked, the buffer belongs to the tree: another
	 * thread may CONTIG_FREE it by handle at once. Answer from under the
	 * lock.
	 */
	mutex_lock(&ctx->lock);
	ret = pinmem_handle_store(ctx, &ctx->contigs, c, &c->handle);
	if (!ret) {
		args->handle = c->handle;
		args->mmap_offset = c->handle << PAGE_SHIFT;
		args->phys_addr = admin ? page_to_phys(c->page) : 0;
		args->placement = c->placement;
	}
	mutex_unlock(&ctx->lock);
	if (ret)
		pinmem_contig_put(c);
	return ret;

put_memory:
	contig_put_memory(c);
	nr = c->nr_charged;
free:
	mutex_lock(&pinmem_contig_lock);
	cstats.failures++;
	mutex_unlock(&pinmem_contig_lock);
	kfree(c);
unaccount:
	pinmem_unaccount(ctx->user, ctx->mm, nr);
	return ret;
}

int pinmem_contig_free(struct pinmem_ctx *ctx,
		       struct pinmem_contig_free_args *args)
{
	struct pinmem_contig *c;

	if (args->flags)
		return -EINVAL;
	mutex_lock(&ctx->lock);
	c = pinmem_handle_load(&ctx->contigs, args->handle);
	if (c)
		xa_erase(&ctx->contigs, c->handle);
	mutex_unlock(&ctx->lock);
	if (!c)
		return -ENOENT;
	pinmem_contig_put(c);
	return 0;
}

void pinmem_contig_release_all(struct pinmem_ctx *ctx)
{
	struct pinmem_contig *c;
	unsigned long handle;

	xa_for_each(&ctx->contigs, handle, c) {
		pinmem_contig_put(c);
		cond_resched();
	}
	xa_destroy(&ctx->contigs);
}

static void contig_vm_open(struct vm_area_struct *vma)
{
	struct pinmem_contig *c = vma->vm_private_data;

	refcount_inc(&c->ref);
}

static void contig_vm_close(struct vm_area_struct *vma)
{
	pinmem_contig_put(vma->vm_private_data);
}

static const struct vm_operations_struct contig_vm_ops = {
	.open = contig_vm_open,
	.close = contig_vm_close,
};

/* mmap(MAP_SHARED) of a whole buffer at its mmap_offset. */
int pinmem_contig_mmap(struct pinmem_ctx *ctx, struct vm_area_struct *vma)
{
	struct pinmem_contig *c;
	int ret;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	c = pinmem_contig_get(ctx, vma->vm_pgoff);
	if (!c)
		return -EINVAL;
	if (vma->vm_end - vma->vm_start != c->size) {
		ret = -EINVAL;
		goto put;
	}
	vma->vm_pgoff = 0;
	vma->vm_page_prot = pinmem_dma_mmap_prot(vma->vm_page_prot);
	ret = dma_mmap_pages(contig_dev, vma, c->size, c->page);
	if (ret)
		goto put;
	vma->vm_private_data = c;	/* the VMA keeps our reference */
	vma->vm_ops = &contig_vm_ops;
	return 0;
put:
	pinmem_contig_put(c);
	return ret;
}

static int cma_show(struct seq_file *m, void *unused)
{
	struct pinmem_contig *c;
	u64 now;

	mutex_lock(&pinmem_contig_lock);
	now = ktime_get_coarse_boottime_ns();
	seq_printf(m, "dma_cma_configured %s\n",
		   IS_ENABLED(CONFIG_DMA_CMA) ? "yes" : "no");
	seq_printf(m, "cma_free_at_load_kib %lu\n",
		   cstats.cma_free_at_load << (PAGE_SHIFT - 10));
	seq_printf(m, "cma_free_now_kib %lu\n",
		   global_zone_page_state(NR_FREE_CMA_PAGES) << (PAGE_SHIFT - 10));
	seq_printf(m, "pool_bytes %zu\n", pool.size);
	seq_printf(m, "pool_free_bytes %lu\n", pool.nr_free << PAGE_SHIFT);
	seq_printf(m, "bytes_in_use %llu\n", cstats.bytes_in_use);
	seq_printf(m, "cma_bytes_in_use %llu\n", cstats.cma_bytes_in_use);
	seq_printf(m, "allocations %llu\n", cstats.allocs);
	seq_printf(m, "frees %llu\n", cstats.frees);
	seq_printf(m, "failures %llu\n", cstats.failures);
	seq_puts(m, "pid comm bytes phys age_ms source\n");
	list_for_each_entry(c, &pinmem_contig_list, list) {
		phys_addr_t phys = page_to_phys(c->page);

		seq_printf(m, "%d ", c->tgid);
		seq_escape(m, c->comm, " \t\n\\");
		seq_printf(m, " %zu %pa %llu %s\n", c->size, &phys,
			   div_u64(now - c->created_ns, NSEC_PER_MSEC),
			   c->placement & PINMEM_CONTIG_IN_POOL ? "pool" :
			   c->placement & PINMEM_CONTIG_IN_CMA ? "cma" : "buddy");
	}
	mutex_unlock(&pinmem_contig_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cma);

void pinmem_contig_debugfs(struct dentry *dir)
{
	debugfs_create_file("cma", 0400, dir, NULL, &cma_fops);
}

int pinmem_contig_init(struct device *dev)
{
	int ret;

	contig_dev = dev;
	ret = dma_coerce_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;
	cstats.cma_free_at_load = global_zone_page_state(NR_FREE_CMA_PAGES);
	if (!pinmem_pool_mb)
		return 0;

	pool.size = (size_t)pinmem_pool_mb << 20;
	if (pool.size >> PAGE_SHIFT > MAX_ORDER_NR_PAGES &&
	    (!IS_ENABLED(CONFIG_DMA_CMA) || !pinmem_have_unpinnable(false))) {
		pr_err("pool_mb=%u: without a CMA area the pool can be at most %lu MiB (the page allocator's largest block)\n",
		       pinmem_pool_mb, (unsigned long)MAX_ORDER_NR_PAGES >> (20 - PAGE_SHIFT));
		ret = -EINVAL;
		goto clear;
	}
	pool.page = dma_alloc_pages(dev, pool.size, &pool.dma,
				    DMA_BIDIRECTIONAL, GFP_KERNEL | __GFP_NOWARN);
	if (!pool.page) {
		pr_err("cannot reserve a %u MiB contiguous pool\n", pinmem_pool_mb);
		ret = -ENOMEM;
		goto clear;
	}
	pool.nr_pages = pool.size >> PAGE_SHIFT;
	pool.used = bitmap_zalloc(pool.nr_pages, GFP_KERNEL);
	if (!pool.used) {
		ret = -ENOMEM;
		goto free;
	}
	pool.nr_free = pool.nr_pages;
	pr_info("reserved a %u MiB contiguous pool\n", pinmem_pool_mb);
	return 0;

free:
	dma_free_pages(dev, pool.size, pool.page, pool.dma, DMA_BIDIRECTIONAL);
clear:
	pool.page = NULL;
	pool.size = 0;
	return ret;
}

void pinmem_contig_exit(void)
{
	if (!pool.used)
		return;
	bitmap_free(pool.used);
	dma_free_pages(contig_dev, pool.size, pool.page, pool.dma,
		       DMA_BIDIRECTIONAL);
	pool.used = NULL;
}
