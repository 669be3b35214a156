// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem: the pages of a pin, kept as runs of consecutive page frames.
 *
 * One u64 per run: the first PFN in the low PINMEM_RUN_PFN_BITS bits, the
 * length minus one above. A PMD-sized THP (512 pages with 4 KiB pages, 2048
 * with 16 KiB ones) costs 8 bytes instead of a page pointer per page;
 * scattered base pages cost what a pointer array would. A run is
 * unpinned with one unpin_user_page_range_dirty_lock() call, which touches
 * each folio once, not each page.
 *
 * Runs are built (struct pinmem_runs_build) from the page arrays GUP
 * returns, batch by batch, looking at nothing but the page frame numbers;
 * the placement (zone, compound, huge) is counted from the runs when it is
 * first asked for (pinned pages do not move), a folio at a time. A
 * finished pin keeps only the runs and their number (struct pinmem_runs,
 * 16 bytes), its one run inline if it has one: a one-page pin allocates
 * nothing for its pages. Pins with many runs have a seek index as well
 * (struct pinmem_runs_index, kept with the pin's other extras).
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

static const u64 *runs_v(const struct pinmem_runs *r)
{
	return r->nr == 1 ? &r->one : r->v;
}

/* Make room for @more runs; capacity never exceeds @limit (the pin's pages). */
static int runs_reserve(struct pinmem_runs_build *b, unsigned long more,
			unsigned long limit)
{
	unsigned long cap = b->cap;
	u64 *v;

	if (b->nr + more <= cap)
		return 0;
	cap = max3(cap * 2, b->nr + more, 16UL);
	cap = min(cap, limit);
	v = kvmalloc_array(cap, sizeof(*v), PINMEM_GFP);
	if (!v)
		return -ENOMEM;
	if (b->nr)
		memcpy(v, b->v, b->nr * sizeof(*v));
	kvfree(b->v);
	b->v = v;
	b->cap = cap;
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

/* Count @n pages from frame @pfn (@page) into @place, a folio at a time. */
static void place_pages(struct pinmem_placement *place,
			struct pinmem_folio_cache *fc, struct page *page,
			unsigned long pfn, unsigned long n)
{
	for (;;) {
		unsigned long cnt;

		cache_folio(fc, page, pfn);
		cnt = min(n, fc->end - pfn);
		place->zone_pages[fc->slot] += cnt;
		if (fc->large)
			place->nr_compound += cnt;
		if (fc->huge)
			place->nr_huge += cnt;
		n -= cnt;
		if (!n)
			break;
		/* never past the end: that frame may have no struct page */
		pfn += cnt;
		page = pfn_to_page(pfn);
	}
}

/*
 * The most pages a run from @pfn may hold. Without SPARSEMEM_VMEMMAP the
 * struct pages of consecutive frames are consecutive only within a memory
 * section, and a run is unpinned and exported from its first struct page
 * on: it must end at the section's end.
 */
static unsigned long run_room(unsigned long pfn)
{
#if defined(CONFIG_SPARSEMEM) && !defined(CONFIG_SPARSEMEM_VMEMMAP)
	return min_t(unsigned long, PINMEM_RUN_MAX,
		     PAGES_PER_SECTION - (pfn & (PAGES_PER_SECTION - 1)));
#else
	return PINMEM_RUN_MAX;
#endif
}

/*
 * Append the @n consecutive page frames from @pfn to the runs, growing them
 * (up to @limit runs) as needed.
 */
static int append(struct pinmem_runs_build *b, unsigned long pfn,
		  unsigned long n, unsigned long limit)
{
	while (n) {
		u64 *last = b->nr ? &b->v[b->nr - 1] : NULL;
		unsigned long add;

		if (last && run_pfn(*last) + run_len(*last) == pfn &&
		    run_len(*last) < run_room(run_pfn(*last))) {
			add = min(n, run_room(run_pfn(*last)) - run_len(*last));
			*last += (u64)add << PINMEM_RUN_PFN_BITS;
		} else {
#ifdef PINMEM_PHYS_BITS
			BUILD_BUG_ON(PINMEM_PHYS_BITS - PAGE_SHIFT > PINMEM_RUN_PFN_BITS);
#endif
			/* Only reachable where the kernel does not say (above). */
			if (pfn > PINMEM_RUN_PFN_MASK)
				return -EOVERFLOW;
			if (runs_reserve(b, 1, limit))
				return -ENOMEM;
			add = min(n, run_room(pfn));
			b->v[b->nr++] = pfn | ((u64)(add - 1) << PINMEM_RUN_PFN_BITS);
		}
		pfn += add;
		n -= add;
	}
	return 0;
}

/**
 * pinmem_runs_add() - append pinned pages to @b.
 * @b: the runs being built.
 * @pages: pages returned by GUP, in address order.
 * @n: number of @pages.
 * @limit: the pin's total number of pages.
 *
 * The array is consumed a stretch of consecutive page frames at a time (a
 * whole THP when it is mapped by a PMD), so the per-page work is one
 * comparison; runs are updated per stretch.
 * All or nothing: on error (-ENOMEM) nothing of @pages was added.
 */
int pinmem_runs_add(struct pinmem_runs_build *b, struct page **pages,
		    unsigned int n, unsigned long limit)
{
	unsigned long nr0 = b->nr;
	u64 last0 = nr0 ? b->v[nr0 - 1] : 0;	/* u64: a run, also on 32-bit */
	unsigned int i = 0, j;
	int ret;

	while (i < n) {
		unsigned long pfn = page_to_pfn(pages[i]);

		for (j = i + 1; j < n && page_to_pfn(pages[j]) == pfn + (j - i); j++)
			;
		ret = append(b, pfn, j - i, limit);
		if (ret) {
			b->nr = nr0;
			if (nr0)
				b->v[nr0 - 1] = last0;
			return ret;
		}
		i = j;
	}
	return 0;
}

/**
 * pinmem_runs_placement() - count the placement of finished runs.
 * @r: the runs.
 * @place: zeroed by the caller; the counts.
 *
 * Reads one struct page per folio (pinned pages do not move); may sleep.
 */
void pinmem_runs_placement(const struct pinmem_runs *r,
			   struct pinmem_placement *place)
{
	struct pinmem_folio_cache fc = { 0 };
	const u64 *v = runs_v(r);
	unsigned long i;

	for (i = 0; i < r->nr; i++) {
		place_pages(place, &fc, pfn_to_page(run_pfn(v[i])),
			    run_pfn(v[i]), run_len(v[i]));
		if (!(i % 256))
			cond_resched();
	}
}

/* Runs between two entries of the seek index. */
#define PINMEM_RUNS_STRIDE	64

/*
 * The seek index of a complete pin: 8 bytes per PINMEM_RUNS_STRIDE runs,
 * so that ACCESS and QUERY find a page in O(log runs + stride), not in
 * O(runs). Without it (no memory) seeking is linear, and still right.
 */
static void runs_build_index(const struct pinmem_runs_build *b,
			     struct pinmem_runs_index *x)
{
	unsigned long i, k = 0, off = 0, n = b->nr / PINMEM_RUNS_STRIDE;

	if (!n)
		return;
	x->index = kvmalloc_array(n, sizeof(*x->index), PINMEM_GFP);
	if (!x->index)
		return;
	for (i = 0; i < n * PINMEM_RUNS_STRIDE; i++) {
		off += run_len(b->v[i]);
		if (!((i + 1) % PINMEM_RUNS_STRIDE))
			x->index[k++] = off;
	}
	x->nr_index = n;
}

/**
 * pinmem_runs_needs_index() - would finished runs of @b have a seek index?
 * @b: runs built.
 */
bool pinmem_runs_needs_index(const struct pinmem_runs_build *b)
{
	return b->nr >= PINMEM_RUNS_STRIDE;
}

/**
 * pinmem_runs_finish() - turn built runs into a pin's runs.
 * @b: the runs built; emptied.
 * @r: receives them: one run inline, else the array, trimmed if that is
 *	worth a copy.
 * @x: receives the seek index, or NULL (then pinmem_runs_needs_index()
 *	must be false).
 */
void pinmem_runs_finish(struct pinmem_runs_build *b, struct pinmem_runs *r,
			struct pinmem_runs_index *x)
{
	u64 *v;

	if (x)
		runs_build_index(b, x);
	r->nr = b->nr;
	if (b->nr == 1) {
		r->one = b->v[0];
		kvfree(b->v);
	} else {
		if (b->cap - b->nr > b->nr / 8 + 8) {
			v = kvmalloc_array(b->nr, sizeof(*v), PINMEM_GFP);
			if (v) {
				memcpy(v, b->v, b->nr * sizeof(*v));
				kvfree(b->v);
				b->v = v;
			}
		}
		r->v = b->v;
	}
	memset(b, 0, sizeof(*b));
}

/* Free @r without unpinning (memfd pins unpin by folio: memfd.c). */
void pinmem_runs_free(struct pinmem_runs *r)
{
	if (r->nr > 1)
		kvfree(r->v);
	memset(r, 0, sizeof(*r));
}

/* A page of a pin: run @run, page @off in it. */
struct runs_pos {
	unsigned long run;
	unsigned long off;
};

/* Unpin the pages of @v from @from to @to, marking them dirty if @dirty. */
static void runs_unpin(const u64 *v, struct runs_pos from, struct runs_pos to,
		       bool dirty)
{
	unsigned long i;

	for (i = from.run; i < to.run || (i == to.run && to.off); i++) {
		unsigned long off = i == from.run ? from.off : 0;
		unsigned long end = i == to.run ? to.off : run_len(v[i]);

		if (end > off)
			unpin_user_page_range_dirty_lock(pfn_to_page(run_pfn(v[i]) + off),
							 end - off, dirty);
		if (!(i % 64))
			cond_resched();
	}
}

/* Chunks a parallel unpin is cut into, taken by the CPUs as they come. */
#define UNPIN_MAX_CHUNKS	64
#define UNPIN_CHUNKS_PER_CPU	8

struct runs_split {
	const u64 *v;
	struct runs_pos pos[UNPIN_MAX_CHUNKS + 1];
	unsigned int nr_chunks;
	bool dirty;
};

static int runs_unpin_part(struct pinmem_par *par, unsigned int who)
{
	struct runs_split *s = par->data;
	unsigned int i;

	while (pinmem_par_take(par, s->nr_chunks, &i))
		runs_unpin(s->v, s->pos[i], s->pos[i + 1], s->dirty);
	return 0;
}

/*
 * Unpin the @nr runs @v on the caller's CPUs, in chunks of equal pages
 * (cut inside runs: a physically contiguous range of pages is one
 * run) that each CPU takes as it comes. Unpinning is not interruptible:
 * every chunk is done. False if it could not be split (too small, one CPU,
 * no memory): nothing was done.
 */
static bool runs_unpin_parallel(const u64 *v, unsigned long nr,
				unsigned long nr_pages, bool dirty)
{
	unsigned int cpus = pinmem_par_parts(nr_pages), k = 1, chunks;
	unsigned long i, pages = 0, len, cut;
	struct pinmem_par *par;
	struct runs_split *s;

	if (cpus < 2)
		return false;
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return false;
	par = pinmem_par_alloc(cpus, NULL, runs_unpin_part, s);
	if (!par) {
		kfree(s);
		return false;
	}
	chunks = min(cpus * UNPIN_CHUNKS_PER_CPU, UNPIN_MAX_CHUNKS);
	s->v = v;
	s->dirty = dirty;
	s->nr_chunks = chunks;
	/* chunk k starts at page k * nr_pages / chunks */
	for (i = 0; i < nr && k < chunks; i++) {
		len = run_len(v[i]);
		while (k < chunks) {
			cut = nr_pages / chunks * k;
			if (cut >= pages + len)
				break;
			s->pos[k].run = i;
			s->pos[k].off = cut - pages;
			k++;
		}
		pages += len;
	}
	for (; k <= chunks; k++)
		s->pos[k].run = nr;
	pinmem_par_run(par);
	pinmem_par_free(par);
	kfree(s);
	return true;
}

static void unpin_all(const u64 *v, unsigned long nr, unsigned long nr_pages,
		      bool dirty)
{
	struct runs_pos start = { 0, 0 }, end = { nr, 0 };

	if (!runs_unpin_parallel(v, nr, nr_pages, dirty))
		runs_unpin(v, start, end, dirty);
}

/**
 * pinmem_runs_release() - unpin every page of @r and free @r.
 * @r: the runs.
 * @nr_pages: the pages they hold (to split the work: parallel.c).
 * @dirty: mark the pages dirty.
 */
void pinmem_runs_release(struct pinmem_runs *r, unsigned long nr_pages,
			 bool dirty)
{
	unpin_all(runs_v(r), r->nr, nr_pages, dirty);
	pinmem_runs_free(r);
}

/**
 * pinmem_runs_build_release() - unpin and free runs being built.
 * @b: the runs.
 * @nr_pages: at most the pages they hold.
 * @dirty: mark the pages dirty.
 */
void pinmem_runs_build_release(struct pinmem_runs_build *b,
			       unsigned long nr_pages, bool dirty)
{
	unpin_all(b->v, b->nr, nr_pages, dirty);
	kvfree(b->v);
	memset(b, 0, sizeof(*b));
}

/**
 * pinmem_runs_concat() - join the runs of the parts of one pin, in order.
 * @dst: empty runs that receive them.
 * @src: @nr runs, consecutive pieces of the pin; emptied on success.
 * @nr: number of @src.
 *
 * A run that continues the previous part's last run is merged into it.
 *
 * Return: 0, or -ENOMEM with @src untouched.
 */
int pinmem_runs_concat(struct pinmem_runs_build *dst,
		       struct pinmem_runs_build **src, unsigned int nr)
{
	unsigned long total = 0, n = 0, i;
	unsigned int k;
	u64 *v;

	for (k = 0; k < nr; k++)
		total += src[k]->nr;
	v = kvmalloc_array(max(total, 1UL), sizeof(*v), PINMEM_GFP);
	if (!v)
		return -ENOMEM;
	for (k = 0; k < nr; k++) {
		for (i = 0; i < src[k]->nr; i++) {
			u64 run = src[k]->v[i];
			u64 *last = n ? &v[n - 1] : NULL;

			if (i == 0 && last &&
			    run_pfn(*last) + run_len(*last) == run_pfn(run) &&
			    run_len(*last) + run_len(run) <= run_room(run_pfn(*last)))
				*last += (u64)run_len(run) << PINMEM_RUN_PFN_BITS;
			else
				v[n++] = run;
		}
	}
	for (k = 0; k < nr; k++) {
		kvfree(src[k]->v);
		memset(src[k], 0, sizeof(*src[k]));
	}
	dst->v = v;
	dst->nr = n;
	dst->cap = max(total, 1UL);
	return 0;
}

/**
 * pinmem_runs_seek() - position @it at page @index of @r.
 * @it: iterator.
 * @r: the runs.
 * @x: their seek index, or NULL.
 * @index: page index within the pin.
 *
 * Finds the last indexed run at or before @index by binary search, then
 * walks at most PINMEM_RUNS_STRIDE runs. Used by ACCESS and QUERY; nothing
 * on the pin/unpin path seeks.
 */
void pinmem_runs_seek(struct pinmem_runs_iter *it, const struct pinmem_runs *r,
		      const struct pinmem_runs_index *x, unsigned long index)
{
	unsigned long lo = 0, hi = x ? x->nr_index : 0;

	/* lo = number of index entries <= index */
	while (lo < hi) {
		unsigned long mid = lo + (hi - lo) / 2;

		if (x->index[mid] <= index)
			lo = mid + 1;
		else
			hi = mid;
	}
	it->v = runs_v(r);
	it->nr = r->nr;
	it->run = lo * PINMEM_RUNS_STRIDE;
	if (lo)
		index -= x->index[lo - 1];
	for (; it->run < it->nr; it->run++) {
		unsigned long len = run_len(it->v[it->run]);

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

	if (it->run >= it->nr)
		return 0;
	run = it->v[it->run];
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
	const u64 *v = runs_v(r);

	*pfn = run_pfn(v[i]);
	return run_len(v[i]);
}
