/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences pinmem meets, in one place. Each is detected by
 * Kbuild from the target kernel's headers (see the feature checks in
 * Kbuild), never from version numbers.
 */
#ifndef _PINMEM_COMPAT_H
#define _PINMEM_COMPAT_H

#include <linux/minmax.h>
#include <linux/mm.h>

/**
 * pinmem_probe_pinnable() - how many leading pages of a range a long-term
 * pin could keep where they are.
 * @start: first user address.
 * @nr: number of pages to look at.
 * @pages: scratch array of @nr entries.
 *
 * Counts the pages from @start that are present and outside ZONE_MOVABLE
 * and CMA, stopping at the first that is not; never faults, and drops the
 * references it takes. Where the kernel still has pin_user_pages_fast_only()
 * (up to 6.5), GUP-fast with FOLL_LONGTERM stops at exactly those pages,
 * CMA included. Later kernels have no such probe and do not export the
 * pageblock helpers, so ZONE_MOVABLE is told apart by zone and, on a kernel
 * with CMA, every page is taken as possibly in CMA (the caller's check then
 * errs towards refusing).
 */
static inline int pinmem_probe_pinnable(unsigned long start, int nr,
					struct page **pages)
{
#ifdef PINMEM_HAVE_PIN_USER_PAGES_FAST_ONLY
	int n = pin_user_pages_fast_only(start, nr, FOLL_LONGTERM, pages);

	n = max(n, 0);
	unpin_user_pages(pages, n);
	return n;
#else
	int n = max(get_user_pages_fast_only(start, nr, 0, pages), 0);
	int i, ok = n;

	for (i = 0; i < n; i++) {
		if (ok == n && (IS_ENABLED(CONFIG_CMA) ||
				page_zonenum(pages[i]) == ZONE_MOVABLE))
			ok = i;
		put_page(pages[i]);
	}
	return ok;
#endif
}

#endif /* _PINMEM_COMPAT_H */
