/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pinmem tracepoints: /sys/kernel/tracing/events/pinmem/, for perf trace,
 * trace-cmd and bpftrace (tracepoint:pinmem:pinmem_pin ...). Tracing is
 * root's, so events show user addresses, but never kernel pointers or PFNs.
 * Each event is named pinmem_*, as in-tree events carry their subsystem.
 *
 *  pinmem_pin      a PIN or PIN_MEMFD succeeded
 *  pinmem_refuse   a PIN or PIN_MEMFD failed: why, and the errno returned
 *  pinmem_migrate  a long-term PIN moved pages out of ZONE_MOVABLE or CMA:
 *                  how many of the pages present before the pin, and how
 *                  long pinning took (only measured while it is enabled)
 *  pinmem_unpin    a pin left its context (UNPIN, or close/exit); its pages
 *                  are unpinned now, or when the last dma-buf made of it goes
 *  pinmem_export   a dma-buf was made of a pin or a contiguous buffer
 *  pinmem_attach, pinmem_detach
 *                  a device attached to / detached from such a dma-buf
 *  pinmem_export_release
 *                  such a dma-buf went, and with it its reference on the pages
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pinmem

#if !defined(PINMEM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define PINMEM_TRACE_H

#include <linux/device.h>
#include <linux/tracepoint.h>

#include "compat.h"
#include "pinmem.h"

/* a pin's flags by name: the UAPI's, and the test build's */
#ifndef pinmem_show_pin_flags
#ifdef PINMEM_TEST
#define pinmem_show_pin_flags(flags)				\
	__print_flags(flags, "|",				\
		      { PINMEM_PIN_WRITE, "write" },		\
		      { PINMEM_PIN_SHORTTERM, "shortterm" },	\
		      { PINMEM_PIN_MEMFD, "memfd" })
#else
#define pinmem_show_pin_flags(flags)				\
	__print_flags(flags, "|",				\
		      { PINMEM_PIN_WRITE, "write" },		\
		      { PINMEM_PIN_MEMFD, "memfd" })
#endif
#endif

/* enum pinmem_refuse_reason (pinmem.h), exported for user-space parsers */
TRACE_DEFINE_ENUM(PINMEM_REFUSE_ARGS);
TRACE_DEFINE_ENUM(PINMEM_REFUSE_PERM);
TRACE_DEFINE_ENUM(PINMEM_REFUSE_OVERLAP);
TRACE_DEFINE_ENUM(PINMEM_REFUSE_MAX_PINS);
TRACE_DEFINE_ENUM(PINMEM_REFUSE_MAX_PAGES);
TRACE_DEFINE_ENUM(PINMEM_REFUSE_RLIMIT);
TRACE_DEFINE_ENUM(PINMEM_REFUSE_TOO_BIG);
TRACE_DEFINE_ENUM(PINMEM_REFUSE_HUGETLB);
TRACE_DEFINE_ENUM(PINMEM_REFUSE_FIT);
TRACE_DEFINE_ENUM(PINMEM_REFUSE_GUP);
TRACE_DEFINE_ENUM(PINMEM_REFUSE_NOMEM);

DECLARE_EVENT_CLASS(pinmem_pin_class,
	TP_PROTO(u32 ctx, u64 handle, unsigned long start,
		 unsigned long nr_pages, u32 flags, int nr_exports),
	TP_ARGS(ctx, handle, start, nr_pages, flags, nr_exports),
	TP_STRUCT__entry(
		__field(u32, ctx)
		__field(u32, flags)
		__field(u64, handle)
		__field(unsigned long, start)
		__field(unsigned long, nr_pages)
		__field(int, nr_exports)
	),
	TP_fast_assign(
		__entry->ctx = ctx;
		__entry->flags = flags;
		__entry->handle = handle;
		__entry->start = start;
		__entry->nr_pages = nr_pages;
		__entry->nr_exports = nr_exports;
	),
	TP_printk("ctx=%u handle=%llu start=0x%lx pages=%lu flags=%s",
		  __entry->ctx, __entry->handle, __entry->start,
		  __entry->nr_pages,
		  pinmem_show_pin_flags(__entry->flags))
);

DEFINE_EVENT(pinmem_pin_class, pinmem_pin,
	TP_PROTO(u32 ctx, u64 handle, unsigned long start,
		 unsigned long nr_pages, u32 flags, int nr_exports),
	TP_ARGS(ctx, handle, start, nr_pages, flags, nr_exports)
);

/* as pinmem_pin, but says how many dma-bufs still hold the pages */
DEFINE_EVENT_PRINT(pinmem_pin_class, pinmem_unpin,
	TP_PROTO(u32 ctx, u64 handle, unsigned long start,
		 unsigned long nr_pages, u32 flags, int nr_exports),
	TP_ARGS(ctx, handle, start, nr_pages, flags, nr_exports),
	TP_printk("ctx=%u handle=%llu start=0x%lx pages=%lu exports=%d",
		  __entry->ctx, __entry->handle, __entry->start,
		  __entry->nr_pages, __entry->nr_exports)
);

TRACE_EVENT(pinmem_refuse,
	TP_PROTO(u32 ctx, unsigned long start, unsigned long nr_pages,
		 u32 flags, int reason, int err),
	TP_ARGS(ctx, start, nr_pages, flags, reason, err),
	TP_STRUCT__entry(
		__field(u32, ctx)
		__field(u32, flags)
		__field(unsigned long, start)
		__field(unsigned long, nr_pages)
		__field(int, reason)
		__field(int, err)
	),
	TP_fast_assign(
		__entry->ctx = ctx;
		__entry->flags = flags;
		__entry->start = start;
		__entry->nr_pages = nr_pages;
		__entry->reason = reason;
		__entry->err = err;
	),
	TP_printk("ctx=%u start=0x%lx pages=%lu flags=%s reason=%s err=%d",
		  __entry->ctx, __entry->start, __entry->nr_pages,
		  pinmem_show_pin_flags(__entry->flags),
		  __print_symbolic(__entry->reason,
				   { PINMEM_REFUSE_ARGS, "args" },
				   { PINMEM_REFUSE_PERM, "perm" },
				   { PINMEM_REFUSE_OVERLAP, "overlap" },
				   { PINMEM_REFUSE_MAX_PINS, "max_pins" },
				   { PINMEM_REFUSE_MAX_PAGES, "max_pages" },
				   { PINMEM_REFUSE_RLIMIT, "rlimit_memlock" },
				   { PINMEM_REFUSE_TOO_BIG, "too_big" },
				   { PINMEM_REFUSE_HUGETLB, "hugetlb_unmovable" },
				   { PINMEM_REFUSE_FIT, "does_not_fit" },
				   { PINMEM_REFUSE_GUP, "gup" },
				   { PINMEM_REFUSE_NOMEM, "kernel_nomem" }),
		  __entry->err)
);

TRACE_EVENT(pinmem_migrate,
	TP_PROTO(u32 ctx, unsigned long start, unsigned long nr_pages,
		 unsigned long moved, u64 ns),
	TP_ARGS(ctx, start, nr_pages, moved, ns),
	TP_STRUCT__entry(
		__field(u32, ctx)
		__field(unsigned long, start)
		__field(unsigned long, nr_pages)
		__field(unsigned long, moved)
		__field(u64, ns)
	),
	TP_fast_assign(
		__entry->ctx = ctx;
		__entry->start = start;
		__entry->nr_pages = nr_pages;
		__entry->moved = moved;
		__entry->ns = ns;
	),
	TP_printk("ctx=%u start=0x%lx pages=%lu moved=%lu ns=%llu",
		  __entry->ctx, __entry->start, __entry->nr_pages,
		  __entry->moved, __entry->ns)
);

TRACE_EVENT(pinmem_export,
	TP_PROTO(u32 ctx, u64 handle, unsigned long ino, bool contig,
		 unsigned long nr_pages, bool writable),
	TP_ARGS(ctx, handle, ino, contig, nr_pages, writable),
	TP_STRUCT__entry(
		__field(u32, ctx)
		__field(bool, contig)
		__field(bool, writable)
		__field(u64, handle)
		__field(unsigned long, ino)
		__field(unsigned long, nr_pages)
	),
	TP_fast_assign(
		__entry->ctx = ctx;
		__entry->contig = contig;
		__entry->writable = writable;
		__entry->handle = handle;
		__entry->ino = ino;
		__entry->nr_pages = nr_pages;
	),
	TP_printk("ctx=%u handle=%llu ino=%lu kind=%s pages=%lu mode=%s",
		  __entry->ctx, __entry->handle, __entry->ino,
		  __entry->contig ? "contig" : "pin", __entry->nr_pages,
		  __entry->writable ? "rw" : "r-")
);

DECLARE_EVENT_CLASS(pinmem_attachment,
	TP_PROTO(unsigned long ino, struct device *dev),
	TP_ARGS(ino, dev),
	TP_STRUCT__entry(
		__field(unsigned long, ino)
		__string(dev, dev_name(dev))
	),
	TP_fast_assign(
		__entry->ino = ino;
		pinmem_trace_assign_str(dev, dev_name(dev));
	),
	TP_printk("ino=%lu dev=%s", __entry->ino, __get_str(dev))
);

DEFINE_EVENT(pinmem_attachment, pinmem_attach,
	TP_PROTO(unsigned long ino, struct device *dev),
	TP_ARGS(ino, dev)
);

DEFINE_EVENT(pinmem_attachment, pinmem_detach,
	TP_PROTO(unsigned long ino, struct device *dev),
	TP_ARGS(ino, dev)
);

TRACE_EVENT(pinmem_export_release,
	TP_PROTO(unsigned long ino, unsigned long nr_pages),
	TP_ARGS(ino, nr_pages),
	TP_STRUCT__entry(
		__field(unsigned long, ino)
		__field(unsigned long, nr_pages)
	),
	TP_fast_assign(
		__entry->ino = ino;
		__entry->nr_pages = nr_pages;
	),
	TP_printk("ino=%lu pages=%lu", __entry->ino, __entry->nr_pages)
);

#endif /* PINMEM_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE pinmem_trace
#include <trace/define_trace.h>
