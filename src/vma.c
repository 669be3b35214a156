// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem: the VMAs of a user range to pin, and the GUP flags each takes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>

#include "compat.h"
#include "mm_copy.h"
#include "pinmem.h"

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
static int vma_seg_lookup(struct mm_struct *mm, unsigned long addr,
			  unsigned long end, unsigned int gup_flags,
			  struct pinmem_vma_seg *seg)
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

/**
 * pinmem_vma_seg_walk() - call @fn on each VMA's part of a range.
 * @mm: the address space.
 * @addr: start of the range.
 * @nr_pages: its pages.
 * @gup_flags: FOLL_* flags of the pin, which a VMA may add to.
 * @fn: called with each piece and its flags.
 * @data: for @fn.
 *
 * Return: 0, or the first error of the lookup or of @fn.
 */
int pinmem_vma_seg_walk(struct mm_struct *mm, unsigned long addr,
			unsigned long nr_pages, unsigned int gup_flags,
			pinmem_vma_seg_fn fn, void *data)
{
	unsigned long end = addr + (nr_pages << PAGE_SHIFT);
	struct pinmem_vma_seg seg;
	int ret;

	while (addr < end) {
		ret = vma_seg_lookup(mm, addr, end, gup_flags, &seg);
		if (!ret)
			ret = fn(addr, seg.end, &seg, data);
		if (ret)
			return ret;
		addr = seg.end;
	}
	return 0;
}

static int hugetlb_seg_check(unsigned long start, unsigned long end,
			     const struct pinmem_vma_seg *seg, void *scratch)
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

/**
 * pinmem_vma_check_hugetlb() - refuse huge pages a long-term pin cannot move.
 * @mm: the address space.
 * @addr: start of the range.
 * @nr_pages: its pages.
 * @gup_flags: FOLL_* flags of the pin.
 * @scratch: %PINMEM_PIN_BATCH page pointers.
 *
 * For kernels without hugetlb migration for long-term pins
 * (%PINMEM_HUGETLB_CANNOT_MIGRATE): refuse a range any of whose huge pages
 * sits in ZONE_MOVABLE or CMA before GUP gets there, as GUP would WARN and
 * fail. The pages are faulted in with ordinary references, dropped again.
 *
 * Return: 0, -EOPNOTSUPP for such a huge page, or another errno of the walk.
 */
int pinmem_vma_check_hugetlb(struct mm_struct *mm, unsigned long addr,
			     unsigned long nr_pages, unsigned int gup_flags,
			     struct page **scratch)
{
	return pinmem_vma_seg_walk(mm, addr, nr_pages, gup_flags,
				   hugetlb_seg_check, scratch);
}
