// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem: pins of memfd ranges (shmem and hugetlbfs), without a mapping.
 *
 * memfd_pin_folios() (exported from 6.11) finds or allocates the folios of
 * a memfd range and pins each folio once, long-term: folios in
 * ZONE_MOVABLE or CMA are migrated first, as for PIN. The pin keeps those
 * folios, to release them as they were taken (unpin_folios(): one
 * reference per folio, however many of its pages are in the range), and
 * the range's pages as runs (runs.c) like any other pin, so that ACCESS,
 * QUERY, debugfs and EXPORT work on it unchanged.
 *
 * On older kernels PINMEM_IOC_PIN_MEMFD is -EOPNOTSUPP.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "compat.h"
#include "pinmem.h"

#ifdef PINMEM_HAVE_MEMFD_PIN_FOLIOS

/* Build the runs of the range's pages of the pinned folios. */
static int memfd_build_runs(struct pinmem_pin *pin, struct pinmem_runs_build *b,
			    pgoff_t first_off, struct page **batch)
{
	unsigned long i, left = pin->nr_pages, idx = first_off, n = 0, k;
	struct pinmem_pin_ext *ext = pin->ext;
	int ret;

	for (i = 0; i < ext->nr_folios && left; i++) {
		struct folio *folio = ext->folios[i];
		unsigned long take = min(folio_nr_pages(folio) - idx, left);

		for (k = 0; k < take; k++) {
			batch[n++] = folio_page(folio, idx + k);
			if (n == PINMEM_PIN_BATCH) {
				ret = pinmem_runs_add(b, batch, n,
						      pin->nr_pages);
				if (ret)
					return ret;
				n = 0;
			}
		}
		left -= take;
		idx = 0;
	}
	if (left)	/* fewer pages than the range: cannot happen */
		return -EFAULT;
	return n ? pinmem_runs_add(b, batch, n, pin->nr_pages) : 0;
}

/*
 * The array was sized for one folio per page: keep only what large folios
 * (hugetlb, shmem THP) left of it, if that is worth a copy.
 */
static void memfd_trim_folios(struct pinmem_pin *pin)
{
	struct pinmem_pin_ext *ext = pin->ext;
	struct folio **f;

	if (ext->nr_folios > pin->nr_pages / 2)
		return;
	f = kvmalloc_array(ext->nr_folios, sizeof(*f), PINMEM_GFP);
	if (!f)
		return;
	memcpy(f, ext->folios, ext->nr_folios * sizeof(*f));
	kvfree(ext->folios);
	ext->folios = f;
}

/**
 * pinmem_memfd_pin_pages() - pin @pin->nr_pages pages of @file from @offset.
 * @pin: the pin being made, with its &pinmem_pin_ext (its runs and
 *	folios are filled).
 * @file: a memfd.
 * @offset: byte offset, page aligned, of the range within @file.
 * @batch: scratch for PINMEM_PIN_BATCH page pointers.
 *
 * All or nothing: on error nothing stays pinned.
 *
 * Return: 0; -EINVAL if @file is not a memfd (shmem or hugetlbfs) or the
 * range is not within its size; -ENOMEM; or what memfd_pin_folios() gave.
 */
int pinmem_memfd_pin_pages(struct pinmem_pin *pin, struct file *file,
			   u64 offset, struct page **batch)
{
	loff_t end = offset + ((u64)pin->nr_pages << PAGE_SHIFT) - 1;
	struct pinmem_pin_ext *ext = pin->ext;
	struct pinmem_runs_build b = { 0 };
	pgoff_t first;
	long got;
	int ret;

	if (pin->nr_pages > UINT_MAX)
		return -ENOMEM;
	ext->folios = kvmalloc_array(pin->nr_pages, sizeof(*ext->folios),
				     PINMEM_GFP);
	if (!ext->folios)
		return -ENOMEM;
	got = memfd_pin_folios(file, offset, end, ext->folios, pin->nr_pages,
			       &first);
	if (got < 0) {
		ret = got;
		goto free;
	}
	ext->nr_folios = got;
	ret = memfd_build_runs(pin, &b, first >> PAGE_SHIFT, batch);
	if (ret)
		goto unpin;
	pinmem_runs_finish(&b, &pin->runs, &ext->index);
	memfd_trim_folios(pin);
	return 0;

unpin:
	unpin_folios(ext->folios, ext->nr_folios);
	kvfree(b.v);
free:
	kvfree(ext->folios);
	ext->folios = NULL;
	ext->nr_folios = 0;
	return ret;
}

/* Release the folios of a memfd pin, marking them dirty if @dirty. */
void pinmem_memfd_unpin(struct pinmem_pin *pin, bool dirty)
{
	struct pinmem_pin_ext *ext = pin->ext;
	unsigned long i;

	if (dirty)
		for (i = 0; i < ext->nr_folios; i++)
			set_page_dirty_lock(folio_page(ext->folios[i], 0));
	unpin_folios(ext->folios, ext->nr_folios);
	kvfree(ext->folios);
	ext->folios = NULL;
	ext->nr_folios = 0;
	pinmem_runs_free(&pin->runs);
}

#else

int pinmem_memfd_pin_pages(struct pinmem_pin *pin, struct file *file,
			   u64 offset, struct page **batch)
{
	return -EOPNOTSUPP;
}

void pinmem_memfd_unpin(struct pinmem_pin *pin, bool dirty)
{
}

#endif
