// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem: pins of memfd ranges (shmem and hugetlbfs), without a mapping.
 *
 * memfd_pin_folios() (exported from 6.11) finds or allocates the folios of
 * a memfd range and pins each folio once, long-term: folios in
 * ZONE_MOVABLE or CMA are migrated first, as for PIN. The pin keeps those
 * folios, to release them as they were taken (unpin_folios()), and the
 * range's pages as runs (runs.c) like any other pin, so that ACCESS,
 * QUERY, debugfs and EXPORT work on it unchanged.
 *
 * A pin is a mapping that outlives every check mmap() makes, so it is
 * given only what mmap(MAP_SHARED) of the same fd would give, and only
 * for a memfd that cannot shrink under it (F_SEAL_SHRINK, as udmabuf
 * asks): truncation would leave pinned pages outside the file.
 *
 * On older kernels PINMEM_IOC_PIN_MEMFD is -EOPNOTSUPP.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "compat.h"
#include "mm_copy.h"
#include "pinmem.h"

#ifdef PINMEM_HAVE_MEMFD_PIN_FOLIOS

#define MEMFD_WRITE_SEALS	(F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)

/**
 * pinmem_memfd_may_pin() - may @file be pinned as a memfd, and written?
 * @file: the file PIN_MEMFD was given.
 * @write: a write pin.
 *
 * mmap()'s rules for a shared mapping of @file, and a memfd sealed
 * against shrinking. The write seals are looked at again once the pages
 * are pinned (pinmem_memfd_pin_pages()): a seal may come in between.
 *
 * Return: 0; -EINVAL if @file is not a memfd with F_SEAL_SHRINK; -EACCES
 * if it is not open for reading, or for writing when @write, or is
 * append-only; -EPERM for a write pin of an immutable or write-sealed one.
 */
int pinmem_memfd_may_pin(struct file *file, bool write)
{
	struct inode *inode = file_inode(file);
	unsigned int seals;

	if (pinmem_memfd_seals(file, &seals) || !(seals & F_SEAL_SHRINK))
		return -EINVAL;
	if (!(file->f_mode & FMODE_READ))
		return -EACCES;
	if (write && !(file->f_mode & FMODE_WRITE))
		return -EACCES;
	if (IS_APPEND(inode) && (file->f_mode & FMODE_WRITE))
		return -EACCES;
	if (write && (IS_IMMUTABLE(inode) || seals & MEMFD_WRITE_SEALS))
		return -EPERM;
	return 0;
}

/*
 * A write pin is a writable mapping F_SEAL_WRITE cannot see go away, so
 * the seals are read once the folios are pinned, under the inode lock
 * memfd_add_seals() holds from its wait for pins to the new seals: a seal
 * set before is seen here, one set after finds the pins and fails (EBUSY).
 */
static int memfd_check_write_seals(struct file *file)
{
	struct inode *inode = file_inode(file);
	unsigned int seals = 0;

	inode_lock_shared(inode);
	pinmem_memfd_seals(file, &seals);
	inode_unlock_shared(inode);
	return seals & MEMFD_WRITE_SEALS ? -EPERM : 0;
}

/**
 * pinmem_memfd_span() - the most pages pinning a range of @file may take.
 * @file: a memfd.
 * @offset: byte offset of the range.
 * @len: its length.
 *
 * A folio is pinned (migrated, allocated) whole: the range rounded out to
 * the largest folio the file can hold, a hugetlb page or, where its page
 * cache takes large folios (shmem THP), a PMD; else the range's pages.
 *
 * Return: the number of pages.
 */
u64 pinmem_memfd_span(struct file *file, u64 offset, u64 len)
{
	u64 folio = PAGE_SIZE;

	if (mapping_large_folio_support(file->f_mapping))
		folio = PMD_SIZE;
#ifdef CONFIG_HUGETLB_PAGE
	if (is_file_hugepages(file))
		folio = huge_page_size(hstate_file(file));
#endif
	return (round_up(offset + len, folio) - round_down(offset, folio)) >>
	       PAGE_SHIFT;
}

/*
 * Add the pages [@idx, @idx + @nr) of the pinned folios @f[0..@nr_f), the
 * first from page @idx of @f[0], to the pin's runs.
 */
static int memfd_add_runs(struct pinmem_pin *pin, struct pinmem_runs_build *b,
			  struct folio **f, long nr_f, unsigned long idx,
			  unsigned long nr, struct page **batch)
{
	unsigned long n = 0, take, k;
	long i;

	for (i = 0; i < nr_f && n < nr; i++, idx = 0) {
		take = min(folio_nr_pages(f[i]) - idx, nr - n);
		for (k = 0; k < take; k++)
			batch[n++] = folio_page(f[i], idx + k);
	}
	if (n < nr)	/* fewer pages than the range: cannot happen */
		return -EFAULT;
	return pinmem_runs_add(b, batch, n, pin->nr_pages);
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

/* Pages a pin holds: each folio whole, however little of it is in range. */
static unsigned long memfd_held_pages(const struct pinmem_pin_ext *ext)
{
	struct folio *last = NULL;
	unsigned long i, held = 0;

	for (i = 0; i < ext->nr_folios; i++) {
		if (ext->folios[i] == last)
			continue;
		last = ext->folios[i];
		held += folio_nr_pages(last);
	}
	return held;
}

/**
 * pinmem_memfd_pin_pages() - pin @pin->nr_pages pages of @file from @offset.
 * @pin: the pin being made, with its &pinmem_pin_ext (its runs and
 *	folios are filled) and its owner, charged for its range already.
 * @file: a memfd pinmem_memfd_may_pin() allowed.
 * @offset: byte offset, page aligned, of the range within @file.
 * @fit: check before each slice that it fits in pinnable memory.
 * @batch: scratch for PINMEM_PIN_BATCH page pointers.
 * @why: set to the PINMEM_REFUSE_* reason on failure.
 *
 * The range is pinned a slice of PINMEM_PIN_BATCH pages at a time, so
 * that a fatal signal ends it and migration never takes memory that is
 * not there, as for PIN. The owner is charged also for the pages of
 * the folios that lie outside the range, which the pin holds as well.
 * All or nothing: on error nothing stays pinned or charged.
 *
 * Return: 0; -EINVAL if the range is not within the file's size; -EPERM
 * if a write seal came; -EINTR; -ENOMEM; or what memfd_pin_folios() gave.
 */
int pinmem_memfd_pin_pages(struct pinmem_pin *pin, struct file *file,
			   u64 offset, bool fit, struct page **batch, int *why)
{
	const u64 slice = PINMEM_PIN_BATCH << PAGE_SHIFT;
	u64 pos = offset, end = offset + ((u64)pin->nr_pages << PAGE_SHIFT);
	struct pinmem_pin_ext *ext = pin->ext;
	struct pinmem_runs_build b = { 0 };
	unsigned long held;
	int ret;

	if (pin->nr_pages > UINT_MAX)
		return -ENOMEM;
	ext->folios = kvmalloc_array(pin->nr_pages, sizeof(*ext->folios),
				     PINMEM_GFP);
	if (!ext->folios)
		return -ENOMEM;
	*why = PINMEM_REFUSE_GUP;
	while (pos < end) {
		u64 next = min(end, round_down(pos, slice) + slice);
		unsigned long nr = (next - pos) >> PAGE_SHIFT;
		struct folio **f = ext->folios + ext->nr_folios;
		pgoff_t first;
		long got;

		ret = -EINTR;
		if (fatal_signal_pending(current))
			goto unpin;
		ret = -ENOMEM;
		if (fit && pinmem_pinnable_available_pages() <
			   pinmem_memfd_span(file, pos, next - pos)) {
			*why = PINMEM_REFUSE_FIT;
			goto unpin;
		}
		got = memfd_pin_folios(file, pos, next - 1, f, nr, &first);
		if (got < 0) {
			ret = got;
			goto unpin;
		}
		ext->nr_folios += got;
		ret = memfd_add_runs(pin, &b, f, got, first >> PAGE_SHIFT, nr,
				     batch);
		if (ret)
			goto unpin;
		/*
		 * A folio larger than a slice (a 32 MiB hugetlb page or shmem
		 * THP with 16 KiB pages, a 1 GiB one) comes again with each
		 * slice: hold it once.
		 */
		if (got && f != ext->folios && f[0] == f[-1]) {
			unpin_folio(f[0]);
			memmove(f, f + 1, (got - 1) * sizeof(*f));
			ext->nr_folios--;
		}
		pos = next;
		cond_resched();
	}
	if (pin->flags & PINMEM_PIN_WRITE) {
		*why = PINMEM_REFUSE_PERM;
		ret = memfd_check_write_seals(file);
		if (ret)
			goto unpin;
	}
	held = memfd_held_pages(ext);
	if (held > pin->nr_pages) {
		*why = PINMEM_REFUSE_RLIMIT;
		ret = pinmem_account(pin->owner->user, pin->owner->mm,
				     held - pin->nr_pages);
		if (ret)
			goto unpin;
		ext->nr_held = held;
	}
	pinmem_runs_finish(&b, &pin->runs, &ext->index);
	memfd_trim_folios(pin);
	return 0;

unpin:
	unpin_folios(ext->folios, ext->nr_folios);
	kvfree(b.v);
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
	if (ext->nr_held)
		pinmem_unaccount(pin->owner->user, pin->owner->mm,
				 ext->nr_held - pin->nr_pages);
	kvfree(ext->folios);
	ext->folios = NULL;
	ext->nr_folios = 0;
	ext->nr_held = 0;
	pinmem_runs_free(&pin->runs);
}

#else

int pinmem_memfd_may_pin(struct file *file, bool write)
{
	return -EOPNOTSUPP;
}

u64 pinmem_memfd_span(struct file *file, u64 offset, u64 len)
{
	return len >> PAGE_SHIFT;
}

int pinmem_memfd_pin_pages(struct pinmem_pin *pin, struct file *file,
			   u64 offset, bool fit, struct page **batch, int *why)
{
	return -EOPNOTSUPP;
}

void pinmem_memfd_unpin(struct pinmem_pin *pin, bool dirty)
{
}

#endif
