/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences pinmem meets, in one place. Each is detected by
 * Kbuild from the target kernel's headers (see the feature checks in
 * Kbuild), never from version numbers.
 */
#ifndef _PINMEM_COMPAT_H
#define _PINMEM_COMPAT_H

#include <linux/backing-dev.h>
#include <linux/cc_platform.h>
#include <linux/dma-buf.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/page-isolation.h>
#include <linux/pageblock-flags.h>
#include <linux/workqueue.h>

/*
 * Pageblock bits: up to 6.15 the isolation state is a migratetype
 * (MIGRATE_ISOLATE within MIGRATETYPE_MASK); later kernels keep it in a
 * bit of its own beside PAGEBLOCK_MIGRATETYPE_MASK.
 */
#ifdef MIGRATETYPE_MASK
#define PINMEM_PB_MT_MASK	MIGRATETYPE_MASK
#define PINMEM_PB_ISO_MASK	0UL
#else
#define PINMEM_PB_MT_MASK	PAGEBLOCK_MIGRATETYPE_MASK
#define PINMEM_PB_ISO_MASK	PAGEBLOCK_ISO_MASK
#endif

/*
 * The flags of @page's pageblock. No kernel exports the pageblock
 * helpers (get_pfnblock_flags_mask() and its successors), so this reads
 * the pageblock bitmap the way mm/page_alloc.c does, from the definitions
 * in mmzone.h and pageblock-flags.h (mem_section is exported for
 * pfn_to_page()).
 */
static inline unsigned long pinmem_pageblock_flags(struct page *page)
{
	unsigned long pfn = page_to_pfn(page), bitidx, word;
	unsigned long *bitmap;

#ifdef CONFIG_SPARSEMEM
	bitmap = section_to_usemap(__pfn_to_section(pfn));
	pfn &= PAGES_PER_SECTION - 1;
#else
	bitmap = page_zone(page)->pageblock_flags;
	pfn -= pageblock_start_pfn(page_zone(page)->zone_start_pfn);
#endif
	bitidx = (pfn >> pageblock_order) * NR_PAGEBLOCK_BITS;
	word = READ_ONCE(bitmap[bitidx / BITS_PER_LONG]);
	return (word >> (bitidx & (BITS_PER_LONG - 1))) &
	       (PINMEM_PB_MT_MASK | PINMEM_PB_ISO_MASK);
}

/* Is @page in a CMA pageblock (cma_alloc()ed, or free CMA memory)? */
static inline bool pinmem_page_in_cma(struct page *page)
{
	return is_migrate_cma(pinmem_pageblock_flags(page) & PINMEM_PB_MT_MASK);
}

/**
 * pinmem_longterm_pinnable() - may a long-term pin keep @page where it is?
 * @page: a present page.
 *
 * The kernel's own test (folio_is_longterm_pinnable()) as far as placement
 * goes: not in ZONE_MOVABLE, not in a CMA or isolated pageblock. The same
 * answer on every kernel, CMA included; no kernel exports a CMA test.
 *
 * Return: true if the page need not migrate.
 */
static inline bool pinmem_longterm_pinnable(struct page *page)
{
	unsigned long flags;

	if (page_zonenum(page) == ZONE_MOVABLE)
		return false;
	if (!IS_ENABLED(CONFIG_CMA) && !IS_ENABLED(CONFIG_MEMORY_ISOLATION))
		return true;
	flags = pinmem_pageblock_flags(page);
	return !is_migrate_cma(flags & PINMEM_PB_MT_MASK) &&
	       !is_migrate_isolate(flags & PINMEM_PB_MT_MASK) &&
	       !(flags & PINMEM_PB_ISO_MASK);
}

/*
 * Does a shared writable mapping of @vma need the filesystem to see every
 * write (page_mkwrite, writeback)? The test the kernel's GUP applies from
 * 6.5 on (vma_needs_dirty_tracking(), not exported) before it refuses a
 * long-term write pin; here for every kernel, so that the answer is the
 * same on all of them.
 */
static inline bool pinmem_vma_needs_dirty_tracking(struct vm_area_struct *vma)
{
	struct address_space *mapping;

	if ((vma->vm_flags & (VM_SHARED | VM_WRITE)) != (VM_SHARED | VM_WRITE))
		return false;
	if (vma->vm_ops && (vma->vm_ops->page_mkwrite || vma->vm_ops->pfn_mkwrite))
		return true;
	if (vma->vm_flags & VM_PFNMAP)
		return false;
	mapping = vma->vm_file ? vma->vm_file->f_mapping : NULL;
	return mapping && mapping_can_writeback(mapping);
}

/*
 * Kernels whose GUP walks hugetlb mappings with follow_hugetlb_page() (up
 * to 6.4) cannot migrate a huge page for FOLL_LONGTERM: the pin trips a
 * WARN_ON_ONCE() there and fails. pinmem refuses such pins itself first.
 */
#ifdef PINMEM_HAVE_FOLLOW_HUGETLB_PAGE
#define PINMEM_HUGETLB_CANNOT_MIGRATE	1
#else
#define PINMEM_HUGETLB_CANNOT_MIGRATE	0
#endif

/*
 * The protection for a user mapping of dma_alloc_pages() memory. In
 * confidential guests (SEV, TDX; on arm64, as in 7.3, CCA realms and
 * protected KVM) dma-direct decrypts, i.e. shares with the host, every
 * allocation of a device without an IOMMU: force_dma_unencrypted(), not
 * exported, is then exactly cc_platform_has(CC_ATTR_GUEST_MEM_ENCRYPT).
 * A mapping with the default, encrypted protection would show user space
 * ciphertext; dma_mmap_attrs() decrypts through dma_pgprot(),
 * dma_mmap_pages() leaves that to its caller.
 */
static inline pgprot_t pinmem_dma_mmap_prot(pgprot_t prot)
{
	if (cc_platform_has(CC_ATTR_GUEST_MEM_ENCRYPT))
		prot = pgprot_decrypted(prot);
	return prot;
}

/*
 * Symbol namespaces: a bare token up to 6.12, a string literal from 6.13
 * (MODULE_IMPORT_NS() stopped stringifying its argument).
 */
#ifdef PINMEM_HAVE_NS_STRING
#define PINMEM_IMPORT_NS_DMA_BUF()	MODULE_IMPORT_NS("DMA_BUF")
#else
#define PINMEM_IMPORT_NS_DMA_BUF()	MODULE_IMPORT_NS(DMA_BUF)
#endif

/* memfd_pin_folios() and unpin_folios(): exported from 6.11 (memfd.c). */
#ifdef PINMEM_HAVE_MEMFD_PIN_FOLIOS
#define PINMEM_CAN_PIN_MEMFD	1
#else
#define PINMEM_CAN_PIN_MEMFD	0
#endif

/*
 * Tracepoints: __assign_str() lost its source argument in 6.10 (the
 * source is the one given to __string()).
 */
#ifdef PINMEM_HAVE_ASSIGN_STR_SRC
#define pinmem_trace_assign_str(dst, src)	__assign_str(dst, src)
#else
#define pinmem_trace_assign_str(dst, src)	__assign_str(dst)
#endif

/*
 * A bound (per-CPU) workqueue: the default before WQ_PERCPU existed; from
 * 7.x alloc_workqueue() WARNs unless it is asked for by name.
 */
#ifdef PINMEM_HAVE_WQ_PERCPU
#define PINMEM_WQ_PERCPU	WQ_PERCPU
#else
#define PINMEM_WQ_PERCPU	0
#endif

#endif /* _PINMEM_COMPAT_H */
