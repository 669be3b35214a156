// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem: will a long-term pin fit? The memory a pin may land on, and what
 * the pages of a range will take of it.
 *
 * A long-term pin migrates pages out of ZONE_MOVABLE and CMA. Where that
 * memory is much of the machine, a pin larger than what is left elsewhere
 * would not fail in GUP but end in the OOM killer; pinmem refuses it with
 * -ENOMEM instead.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/sched/signal.h>
#include <linux/vmstat.h>

#include "mm_copy.h"
#include "pinmem.h"

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
 * A fault takes its page from its CPU's free list, which refills in bulk
 * from the zone, up to 2^CONFIG_PCP_BATCH_SCALE_MAX batches at a time
 * (6.7+; one batch before, counted as many). Pages on those lists are not
 * in NR_FREE_PAGES, and once the zone is under its watermarks nothing
 * takes them back: the allocator drains them only after reclaim made
 * progress, which pinned memory without swap never does, so the OOM killer
 * comes first. Keep a refill per online CPU free (the pinning thread may
 * run on any), over the high watermark.
 */
#ifdef CONFIG_PCP_BATCH_SCALE_MAX
#define PCP_REFILL_SHIFT	CONFIG_PCP_BATCH_SCALE_MAX
#else
#define PCP_REFILL_SHIFT	5
#endif

static unsigned long pcp_refill_room(struct zone *zone)
{
	unsigned long room = 0;
	int cpu;

	for_each_online_cpu(cpu) {
		struct per_cpu_pages *pcp = per_cpu_ptr(zone->per_cpu_pageset,
							cpu);

		room += (unsigned long)max(READ_ONCE(pcp->batch), 1)
			<< PCP_REFILL_SHIFT;
	}
	return room;
}

/**
 * pinmem_pinnable_available_pages() - memory a long-term pin may land on.
 *
 * Pages a long-term pin may land on, without killing anything: free or
 * reclaimable (page cache, lazily freed anonymous memory: both on the file
 * LRU) in the zones GFP_USER migration targets come from, that is neither
 * ZONE_MOVABLE nor HIGHMEM nor CMA, above each zone's high watermark and
 * the lowmem reserve it keeps from ZONE_NORMAL allocations. Like
 * si_mem_available(), the page cache less half of it or the low watermark,
 * whichever is less, is taken as reclaimable (dirty and mapped pages too,
 * and no anonymous memory swap could free); in a zone with CMA, only the
 * file pages that cannot be in its used CMA pages (a lower bound: a pin
 * faults and migrates into non-CMA memory only, and an estimate above what
 * is there ends in the OOM killer). Every online node is summed, whatever
 * the caller's cpuset allows. Less what the per-CPU lists may still take
 * (pcp_refill_room()).
 *
 * Return: the number of pages.
 */
unsigned long pinmem_pinnable_available_pages(void)
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
				zone->lowmem_reserve[ZONE_NORMAL] -
				pcp_refill_room(zone);
			if (avail > 0)
				sum += avail;
		}
	}
	return sum;
}

/**
 * pinmem_fit_span() - the most pages pinning a range may take.
 * @start: first address of the range.
 * @nr_pages: its pages.
 *
 * GUP migrates (and faults in) whole folios, and a THP at either end of
 * the range may lie partly outside it: the range rounded out to PMDs. With
 * 16 KiB pages a THP is 2048 pages, four GUP batches, so a batch can take
 * four times its own pages.
 *
 * Return: the number of pages.
 */
unsigned long pinmem_fit_span(unsigned long start, unsigned long nr_pages)
{
	unsigned long end = start + (nr_pages << PAGE_SHIFT);

	return (ALIGN(end, PMD_SIZE) - ALIGN_DOWN(start, PMD_SIZE)) >> PAGE_SHIFT;
}

/* Count @page into @w if a long-term pin must migrate it (see @w->whole_folios). */
static void fit_count_present(struct pinmem_fit_walk *w, struct page *page)
{
	struct folio *folio;

	if (pinmem_longterm_pinnable(page))
		return;
	if (!w->whole_folios) {
		w->need++;
		return;
	}
	folio = page_folio(page);
	if (folio != w->last)
		w->need += folio_nr_pages(folio);
	w->last = folio;
}

/*
 * Count, in one linear pass, the pages of a piece that will take a page of
 * pinnable memory: present ones the pin cannot keep where they are (in
 * ZONE_MOVABLE or CMA: migrated), and ones GUP-fast cannot take as they are
 * with the pin's own FOLL_WRITE (not present, the huge zero page, COW-shared
 * or private file pages: faulted, and the new page lands where ordinary
 * user memory does, ZONE_MOVABLE first). Never faults; killable.
 */
int pinmem_fit_seg_count(unsigned long start, unsigned long end,
			 const struct pinmem_vma_seg *seg, void *data)
{
	struct pinmem_fit_walk *w = data;
	int i, n, batch;

	while (start < end) {
		batch = min((end - start) >> PAGE_SHIFT, PINMEM_PIN_BATCH);
		n = get_user_pages_fast_only(start, batch,
					     seg->gup_flags & FOLL_WRITE, w->pages);
		n = max(n, 0);
		for (i = 0; i < n; i++) {
			fit_count_present(w, w->pages[i]);
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
 * migrate or fault cannot all fit in the memory that
 * pinmem_pinnable_available_pages() counts: one walk of the range. There
 * the batch-by-batch check cannot be used: the pages a long-term pin
 * faults in come from HIGHMEM first (only __GFP_MOVABLE is taken from
 * them), which that count leaves out, so the check would see no memory go
 * while HIGHMEM and then lowmem ran out, and the OOM killer came.
 */
int pinmem_fit_check_highmem(struct mm_struct *mm, unsigned long addr,
			     unsigned long nr_pages, unsigned int gup_flags,
			     struct page **scratch)
{
	struct pinmem_fit_walk w = { .pages = scratch, .whole_folios = true };
	unsigned long avail = pinmem_pinnable_available_pages();
	int ret;

	if (pinmem_fit_span(addr, nr_pages) <= avail)
		return 0;
	ret = pinmem_vma_seg_walk(mm, addr, nr_pages, gup_flags,
				  pinmem_fit_seg_count, &w);
	if (ret)
		return ret;
	return w.need > avail ? -ENOMEM : 0;
}
