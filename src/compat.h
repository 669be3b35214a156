/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences pinmem meets, in one place. Each is detected by
 * Kbuild from the target kernel's headers (see the feature checks in
 * Kbuild), never from version numbers. Copies of kernel internals are in
 * mm_copy.h.
 */
#ifndef _PINMEM_COMPAT_H
#define _PINMEM_COMPAT_H

#include <linux/dma-buf.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/workqueue.h>

/*
 * Kernels whose GUP walks hugetlb mappings with follow_hugetlb_page() (up
 * to 6.4) cannot migrate a huge page for FOLL_LONGTERM: the pin trips a
 * WARN_ON_ONCE() there and fails. pinmem never asks them to (pin_job.c).
 */
#ifdef PINMEM_HAVE_FOLLOW_HUGETLB_PAGE
#define PINMEM_HUGETLB_CANNOT_MIGRATE	1
#else
#define PINMEM_HUGETLB_CANNOT_MIGRATE	0
#endif

/*
 * get_user_pages() and pin_user_pages(), under an mmap lock the caller
 * holds, lost their vmas argument in 6.5.
 */
#ifdef PINMEM_HAVE_GUP_VMAS
#define pinmem_get_user_pages(start, nr, flags, pages) \
	get_user_pages(start, nr, flags, pages, NULL)
#define pinmem_pin_user_pages(start, nr, flags, pages) \
	pin_user_pages(start, nr, flags, pages, NULL)
#else
#define pinmem_get_user_pages(start, nr, flags, pages) \
	get_user_pages(start, nr, flags, pages)
#define pinmem_pin_user_pages(start, nr, flags, pages) \
	pin_user_pages(start, nr, flags, pages)
#endif

/*
 * Symbol namespaces: a bare token up to 6.12, a string literal from 6.13
 * (MODULE_IMPORT_NS() stopped stringifying its argument).
 */
#ifdef PINMEM_HAVE_NS_STRING
#define PINMEM_IMPORT_NS_DMA_BUF()	MODULE_IMPORT_NS("DMA_BUF")
#else
#define PINMEM_IMPORT_NS_DMA_BUF()	MODULE_IMPORT_NS(DMA_BUF)
#endif

/* vm_flags_clear() from 6.3; before, the flags were written directly. */
#ifdef PINMEM_HAVE_VM_FLAGS_CLEAR
#define pinmem_vm_flags_clear(vma, flags)	vm_flags_clear(vma, flags)
#else
#define pinmem_vm_flags_clear(vma, flags)	((vma)->vm_flags &= ~(flags))
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
