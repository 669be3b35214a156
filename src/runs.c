// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem: the pages of a pin, kept as runs of consecutive page frames.
 *
 * One u64 per run: the first PFN in the low PINMEM_RUN_PFN_BITS bits, the
 * length minus one above. A 2 MiB THP costs 8 bytes instead of 4 KiB of page
 * pointers; scattered 4 KiB pages cost what a pointer array would. A run is
 * unpinned with one unpin_user_page_range_dirty_lock() call, which touches
 * each folio once, not each page.
 *
 * Runs are built from the page arrays GUP returns, batch by batch; the
 * placement (zone, compound, huge) is counted in the same pass, looking at
 * a folio's struct page once per folio.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "pinmem.h"

/* A build may narrow it (scripts/lint does, to see the check below fire). */
#ifndef PINMEM_RUN_PFN_BITS
#define PINMEM_RUN_PFN_BITS	40
#endif
#define PINMEM_RUN_PFN_MASK	(BIT_ULL(PINMEM_RUN_PFN_BITS) - 1)
#define PINMEM_RUN_MAX		BIT_ULL(64 - PINMEM_RUN_PFN_BITS)

/*
 * The widest physical address the kernel can have, where it says so: a PFN
 * must fit PINMEM_RUN_PFN_BITS (x86-64 with LA57 and arm64 with 52-bit PA
 * just do; riscv64's 56 bits do not, and fail the build).
 */
#if defined(MAX_POSSIBLE_PHYSMEM_BITS)
#define PINMEM_PHYS_BITS	MAX_POSSIBLE_PHYSMEM_BITS
#elif defined(MAX_PHYSMEM_BITS)
#define PINMEM_PHYS_BITS	MAX_PHYSMEM_BITS
#endif

/* The kernel's zone numbers depend on its config; map them to the UAPI's. */
static const u8 pinmem_zone_slot[MAX_NR_ZONES] = {
#ifdef CONFIG_ZONE_DMA
	[ZONE_DMA] = PINMEM_ZONE_DMA,
#endif
#ifdef CONFIG_ZONE_DMA32
	[ZONE_DMA32] = PINMEM_ZONE_DMA32,
#endif
	[ZONE_NORMAL] = PINMEM_ZONE_NORMAL,
#ifdef CONFIG_HIGHMEM
	[ZONE_HIGHMEM] = PINMEM_ZONE_HIGHMEM,
#endif
	[ZONE_MOVABLE] = PINMEM_ZONE_MOVABLE,
#ifdef CONFIG_ZONE_DEVICE
	[ZONE_DEVICE] = PINMEM_ZONE_DEVICE,
#endif
};

static unsigned long run_pfn(u64 run)
{
	return run & PINMEM_RUN_PFN_MASK;
}

static unsigned long run_len(u64 run)
{
	return (run >> PINMEM_RUN_PFN_BITS) + 1;
}

/* Make room for @more runs; capacity never exceeds @limit (the pin's pages). */
static int runs_reserve(struct pinmem_runs *r, unsigned long more,
			unsigned long limit)
{
	unsigned long cap = r->cap;
	u64 *v;

	if (r->nr + more <= cap)
		return 0;
	cap = max3(cap * 2, r->nr + more, 16UL);
	cap = min(cap, limit);
	v = kvmalloc_array(cap, sizeof(*v), PINMEM_GFP);
	if (!v)
		return -ENOMEM;
	if (r->nr)
		memcpy(v, r->v, r->nr * sizeof(*v));
	kvfree(r->v);
	r->v = v;
	r->cap = cap;
	return 0;
}

/* Make @fc describe the folio of @page (frame @pfn). */
static void cache_folio(struct pinmem_folio_cache *fc, struct page *page,
			unsigned long pfn)
{
	struct folio *folio;

	if (pfn >= fc->start && pfn < fc->end)
		return;
	folio = page_folio(page);
	fc->start = pfn - folio_page_idx(folio, page);
	fc->end = fc->start + folio_nr_pages(folio);
	fc->slot = pinmem_zone_slot[page_zonenum(page)];
	fc->large = folio_test_large(folio);
	fc->huge = folio_order(folio) >= PMD_SHIFT - PAGE_SHIFT;
}

/*
 * Append the @n consecutive page frames from @pfn to the runs, growing them
 * (up to @limit runs) as needed.
 */
static int append(struct pinmem_runs *r, unsigned long pfn, unsigned long n,
		  unsigned long limit)
{
	while (n) {
		u64 *last = r->nr ? &r->v[r->nr - 1] : NULL;
		unsigned long add;

		if (last && run_pfn(*last) + run_len(*last) == pfn &&
		    run_len(*last) < PINMEM_RUN_MAX) {
			add = min(n, PINMEM_RUN_MAX - run_len(*last));
			*last += (u64)add << PINMEM_RUN_PFN_BITS;
		} else {
#ifdef PINMEM_PHYS_BITS
			BUILD_BUG_ON(PINMEM_PHYS_BITS - PAGE_SHIFT > PINMEM_RUN_PFN_BITS);
#endif
			/* Only reachable where the kernel does not say (above). */
			if (pfn > PINMEM_RUN_PFN_MASK)
				return -EOVERFLOW;
			if (runs_reserve(r, 1, limit))
				return -ENOMEM;
			add = min(n, PINMEM_RUN_MAX);
			r->v[r->nr++] = pfn | ((u64)(add - 1) << PINMEM_RUN_PFN_BITS);
		}
		pfn += add;
		n -= add;
	}
	return 0;
}

/**
 * pinmem_runs_add() - append pinned pages to @r and count their placement.
 * @r: the runs.
 * @fc: folio cache, kept by the caller across the batches of one pin.
 * @pages: pages returned by GUP, in address order.
 * @n: number of @pages.
 * @limit: the pin's total number of pages.
 * @place: placement counters to update.
 *
 * The array is consumed a stretch of consecutive page frames at a time (a
 * whole THP when it is mapped by a PMD), so the per-page work is one
 * comparison; runs and placement are updated per stretch and per folio.
 * All or nothing: on error (-ENOMEM) nothing of @pages was added.
 */
int pinmem_runs_add(struct pinmem_runs *r, struct pinmem_folio_cache *fc,
		    struct page **pages, unsigned int n, unsigned long limit,
		    struct pinmem_placement *place)
{
	unsigned long nr0 = r->nr;
	u64 last0 = nr0 ? r->v[nr0 - 1] : 0;	/* u64: a run, also on 32-bit */
	unsigned int i = 0, j;
	int ret;

	while (i < n) {
		unsigned long pfn = page_to_pfn(pages[i]);

		for (j = i + 1; j < n && page_to_pfn(pages[j]) == pfn + (j - i); j++)
			;
		ret = append(r, pfn, j - i, limit);
		if (ret) {
			r->nr = nr0;
			if (nr0)
				r->v[nr0 - 1] = last0;
			return ret;
		}
		/* Placement, a folio at a time. */
		while (i < j) {
			unsigned long cnt;

			cache_folio(fc, pages[i], pfn);
			cnt = min_t(unsigned long, j - i, fc->end - pfn);
			place->zone_pages[fc->slot] += cnt;
			if (fc->large)
				place->nr_compound += cnt;
			if (fc->huge)
				place->nr_huge += cnt;
			i += cnt;
			pfn += cnt;
		}
	}
	return 0;
}

/* Runs between two entries of the seek index. */
#define PINMEM_RUNS_STRIDE	64

/*
 * The seek index of a complete pin: 8 bytes per PINMEM_RUNS_STRIDE runs,
 * so that ACCESS and QUERY find a page in O(log runs + stride), not in
 * O(runs). Without it (no memory) seeking is linear, and still right.
 */
static void runs_build_index(struct pinmem_runs *r)
{
	unsigned long i, k = 0, off = 0, n = r->nr / PINMEM_RUNS_STRIDE;

	if (!n)
		return;
	r->index = kvmalloc_array(n, sizeof(*r->index),
				  PINMEM_GFP);
	if (!r->index)
		return;
	for (i = 0; i < n * PINMEM_RUNS_STRIDE; i++) {
		off += run_len(r->v[i]);
		if (!((i + 1) % PINMEM_RUNS_STRIDE))
			r->index[k++] = off;
	}
	r->nr_index = n;
}

/*
 * Drop unused capacity once the pin is complete, if it is worth a copy,
 * and build the seek index.
 */
void pinmem_runs_trim(struct pinmem_runs *r)
{
	u64 *v;

	runs_build_index(r);

	if (r->cap - r->nr <= r->nr / 8 + 8)
		return;
	v = kvmalloc_array(r->nr, sizeof(*v), PINMEM_GFP);
	if (!v)
		return;
	memcpy(v, r->v, r->nr * sizeof(*v));
	kvfree(r->v);
	r->v = v;
	r->cap = r->nr;
}

/* Free @r without unpinning (memfd pins unpin by folio: memfd.c). */
void pinmem_runs_free(struct pinmem_runs *r)
{
	kvfree(r->v);
	kvfree(r->index);
	memset(r, 0, sizeof(*r));
}

/* Unpin every page of @r (marking them dirty if @dirty) and free @r. */
void pinmem_runs_release(struct pinmem_runs *r, bool dirty)
{
	unsigned long i;

	for (i = 0; i < r->nr; i++) {
		unpin_user_page_range_dirty_lock(pfn_to_page(run_pfn(r->v[i])),
						 run_len(r->v[i]), dirty);
		if (!(i % 64))
			cond_resched();
	}
	pinmem_runs_free(r);
}

/**
 * pinmem_runs_seek() - position @it at page @index of @r.
 * @it: iterator.
 * @r: the runs.
 * @index: page index within the pin.
 *
 * Finds the last indexed run at or before @index by binary search, then
 * walks at most PINMEM_RUNS_STRIDE runs. Used by ACCESS and QUERY; nothing
 * on the pin/unpin path seeks.
 */
void pinmem_runs_seek(struct pinmem_runs_iter *it, const struct pinmem_runs *r,
		      unsigned long index)
{
	unsigned long lo = 0, hi = r->nr_index;

	/* lo = number of index entries <= index */
	while (lo < hi) {
		unsigned long mid = lo + (hi - lo) / 2;

		if (r->index[mid] <= index)
			lo = mid + 1;
		else
			hi = mid;
	}
	it->r = r;
	it->run = lo * PINMEM_RUNS_STRIDE;
	if (lo)
		index -= r->index[lo - 1];
	for (; it->run < r->nr; it->run++) {
		unsigned long len = run_len(r->v[it->run]);

		if (index < len)
			break;
		index -= len;
	}
	it->off = index;
}

/* The PFN at the iterator, then advance; 0 past the end. */
unsigned long pinmem_runs_next_pfn(struct pinmem_runs_iter *it)
{
	unsigned long pfn;
	u64 run;

	if (it->run >= it->r->nr)
		return 0;
	run = it->r->v[it->run];
	pfn = run_pfn(run) + it->off;
	if (++it->off == run_len(run)) {
		it->run++;
		it->off = 0;
	}
	return pfn;
}

/* Run @i of @r: its first PFN in *@pfn; returns its length in pages. */
unsigned long pinmem_runs_get(const struct pinmem_runs *r, unsigned long i,
			      unsigned long *pfn)
{
	*pfn = run_pfn(r->v[i]);
	return run_len(r->v[i]);
}
