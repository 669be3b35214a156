/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Private copies of kernel internals that no kernel exports, so that pinmem
 * gives the same answer as the kernel's own code would. Each says which
 * function it mirrors: recheck every one of them on every new kernel.
 */
#ifndef _PINMEM_MM_COPY_H
#define _PINMEM_MM_COPY_H

#include <linux/backing-dev.h>
#include <linux/cc_platform.h>
#include <linux/fs.h>
#include <linux/hugetlb.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/page-isolation.h>
#include <linux/pageblock-flags.h>
#include <linux/shmem_fs.h>

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
 * The flags of @page's pageblock. Mirrors get_pfnblock_flags_mask() (and
 * its successors) of mm/page_alloc.c, from the definitions in mmzone.h and
 * pageblock-flags.h (mem_section is exported for pfn_to_page()).
 * Recheck on every kernel.
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

/*
 * Is @page in a CMA pageblock (cma_alloc()ed, or free CMA memory)?
 * Mirrors is_migrate_cma_page() of include/linux/mmzone.h, whose
 * get_pageblock_migratetype() is not exported. Recheck on every kernel.
 */
static inline bool pinmem_page_in_cma(struct page *page)
{
	return is_migrate_cma(pinmem_pageblock_flags(page) & PINMEM_PB_MT_MASK);
}

/**
 * pinmem_longterm_pinnable() - may a long-term pin keep @page where it is?
 * @page: a present page.
 *
 * Mirrors folio_is_longterm_pinnable() (include/linux/mm.h) as far as
 * placement goes: not in ZONE_MOVABLE, not in a CMA or isolated pageblock.
 * The same answer on every kernel, CMA included. Recheck on every kernel.
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
 * write (page_mkwrite, writeback)? Mirrors vma_needs_dirty_tracking() of
 * mm/mmap.c, which GUP checks from 6.5 on before it refuses a long-term
 * write pin; copied so every kernel gives the same answer. Recheck on
 * every kernel.
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
 * The protection for a user mapping of dma_alloc_pages() memory. Mirrors
 * force_dma_unencrypted() and dma_pgprot() of kernel/dma/: in confidential
 * guests (SEV, TDX, arm64 CCA realms and protected KVM) dma-direct shares
 * with the host every allocation of a device without an IOMMU, and an
 * encrypted user mapping would show ciphertext. dma_mmap_attrs() decrypts
 * itself, dma_mmap_pages() leaves it to its caller. Recheck on every
 * kernel.
 */
static inline pgprot_t pinmem_dma_mmap_prot(pgprot_t prot)
{
	if (cc_platform_has(CC_ATTR_GUEST_MEM_ENCRYPT))
		prot = pgprot_decrypted(prot);
	return prot;
}

/*
 * The same question asked of a page GUP returned, as
 * gup_fast_folio_allowed() asks it from 6.5 on (mm/gup.c): page cache of a
 * file that writeback tracks. The inode goes only after an RCU grace
 * period, so its mapping can be read under rcu_read_lock() however the
 * folio is truncated meanwhile. Recheck on every kernel.
 */
#ifdef FOLIO_MAPPING_FLAGS	/* before it, PAGE_MAPPING_FLAGS */
#define PINMEM_MAPPING_FLAGS	FOLIO_MAPPING_FLAGS
#else
#define PINMEM_MAPPING_FLAGS	PAGE_MAPPING_FLAGS
#endif

static inline bool pinmem_page_needs_dirty_tracking(struct page *page)
{
	struct folio *folio = page_folio(page);
	struct address_space *mapping;
	bool ret = false;

	if (folio_test_anon(folio))
		return false;
	rcu_read_lock();
	mapping = READ_ONCE(folio->mapping);
	if (mapping && !((unsigned long)mapping & PINMEM_MAPPING_FLAGS))
		ret = mapping_can_writeback(mapping);
	rcu_read_unlock();
	return ret;
}

/*
 * The seals of a memfd, where memfd_file_seals_ptr() (mm/memfd.c) finds
 * them: in the shmem or hugetlbfs inode. A file of neither kind is not a
 * memfd: -EINVAL. Recheck on every kernel.
 */
static inline int pinmem_memfd_seals(struct file *file, unsigned int *seals)
{
	struct inode *inode = file_inode(file);

	if (shmem_mapping(file->f_mapping)) {
		*seals = READ_ONCE(SHMEM_I(inode)->seals);
		return 0;
	}
#ifdef CONFIG_HUGETLBFS
	if (inode->i_sb->s_magic == HUGETLBFS_MAGIC) {
		*seals = READ_ONCE(HUGETLBFS_I(inode)->seals);
		return 0;
	}
#endif
	return -EINVAL;
}

#endif /* _PINMEM_MM_COPY_H */
