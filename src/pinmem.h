/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pinmem internals shared by the module's files.
 */
#ifndef _PINMEM_H
#define _PINMEM_H

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <uapi/linux/pinmem.h>
#ifdef PINMEM_TEST
#include "pinmem_test_uapi.h"	/* tests/: the test build's private UAPI */
#endif

/**
 * struct pinmem_placement - where a pin's pages sit (long-term pinned pages
 * do not move).
 * @zone_pages: pages per &enum pinmem_zone.
 * @nr_compound: pages that belong to a compound page.
 * @nr_huge: pages that belong to a PMD-sized or larger page.
 */
struct pinmem_placement {
	unsigned long zone_pages[PINMEM_ZONE_SLOTS];
	unsigned long nr_compound;
	unsigned long nr_huge;
};

/**
 * struct pinmem_runs - the pages of a finished pin as runs of consecutive
 * PFNs, packed PFN and length (runs.c).
 * @v: the runs, when there are more than one.
 * @one: the run, when there is one.
 * @nr: runs.
 */
struct pinmem_runs {
	union {
		u64 *v;
		u64 one;
	};
	unsigned long nr;
};

/**
 * struct pinmem_runs_build - runs being built, batch by batch (runs.c).
 * @v: the runs.
 * @nr: runs in use.
 * @cap: runs allocated.
 */
struct pinmem_runs_build {
	u64 *v;
	unsigned long nr;
	unsigned long cap;
};

/**
 * struct pinmem_runs_index - for seeking in a pin of many runs, the page
 * offset of every PINMEM_RUNS_STRIDE-th run (run (k + 1) * stride at
 * @index[k]); NULL if it could not be allocated.
 * @index: the offsets.
 * @nr_index: entries of @index.
 */
struct pinmem_runs_index {
	unsigned long *index;
	unsigned long nr_index;
};

/**
 * struct pinmem_folio_cache - the last folio seen while building runs, so
 * that its struct page is read once per folio (runs.c). Zeroed to start.
 * @start: its first PFN.
 * @end: its end.
 * @slot: its &enum pinmem_zone.
 * @large: it is a compound page.
 * @huge: it is PMD-sized or larger.
 */
struct pinmem_folio_cache {
	unsigned long start;
	unsigned long end;
	u8 slot;
	bool large;
	bool huge;
};

struct pinmem_runs_iter {
	const u64 *v;
	unsigned long nr;
	unsigned long run;
	unsigned long off;
};

/**
 * struct pinmem_slots - a context's pins that left its trees (UNPIN, close)
 * while their pages stay pinned, because a dma-buf holds them: they count
 * against max_pins and max_pages until released. Shared by the context and
 * the owners of its pins, which may outlive it.
 * @ref: references.
 * @nr_pins: such pins.
 * @nr_pages: their pages.
 */
struct pinmem_slots {
	refcount_t ref;
	atomic_long_t nr_pins;
	atomic_long_t nr_pages;
};

/**
 * struct pinmem_owner - who made pins: the context's mm and user, and the
 * thread group and command name of the pinner. Shared by the pins one
 * process makes on one context, so a small pin carries a pointer, not 36
 * bytes; each pin holds a reference, the context one on the last owner.
 * @ref: references.
 * @tgid: thread group that made the pins.
 * @comm: its command name at that time.
 * @mm: the address space whose pinned_vm shows the pages (the context's,
 *	mmgrab'ed: an exported pin outlives the context).
 * @user: the user charged for them (the context's, get_uid()'ed likewise).
 * @slots: the context's pins that left its trees (a reference).
 */
struct pinmem_owner {
	refcount_t ref;
	pid_t tgid;
	char comm[TASK_COMM_LEN];
	struct mm_struct *mm;
	struct user_struct *user;
	struct pinmem_slots *slots;
};

/**
 * struct pinmem_pin_ext - what a pin of more than a few pages keeps besides
 * its runs (a pin of at most %PINMEM_PIN_SMALL pages in one run has none).
 * @place: page placement, counted from the runs when first asked for
 *	(long-term pinned pages do not move); NULL until then.
 * @index: the seek index of its runs.
 * @folios: for a pin of a memfd range (%PINMEM_PIN_MEMFD), the folios
 *	memfd_pin_folios() pinned, one reference each (memfd.c); else NULL.
 * @nr_folios: entries of @folios (a folio is there once per slice it
 *	was pinned in).
 * @nr_held: pages of those folios, when more than the range's: the
 *	difference is charged to the owner too (memfd.c); else 0.
 */
struct pinmem_pin_ext {
	struct pinmem_placement *place;
	struct pinmem_runs_index index;
	struct folio **folios;
	unsigned long nr_folios;
	unsigned long nr_held;
};

#define PINMEM_PIN_SMALL	16

/**
 * struct pinmem_pin - one pinned user range. 104 bytes on 64-bit, from its
 * own slab cache: with the xarray slot, a one-page pin costs about 115
 * bytes of kernel memory.
 * @addr_node: node in &pinmem_ctx.by_addr (key: @uaddr).
 * @ref: one reference for the trees, one per ACCESS in flight.
 * @flags: PINMEM_PIN_* flags.
 * @handle: user-visible handle.
 * @uaddr: first user address.
 * @nr_pages: number of pages pinned.
 * @owner: who made it, and whom it is charged to.
 * @created_ns: boot time of the pin (coarse: a tick; reading the clocksource
 *	costs tens of microseconds on some virtual machines).
 * @nr_exports: dma-bufs made of the pin and not yet released (export.c).
 * @nr_attachments: importers attached to those dma-bufs.
 * @ext: placement, seek index and memfd folios, or NULL for a small pin.
 * @runs: the pinned pages.
 */
struct pinmem_pin {
	struct rb_node addr_node;
	refcount_t ref;
	u32 flags;
	u64 handle;
	unsigned long uaddr;
	unsigned long nr_pages;
	struct pinmem_owner *owner;
	u64 created_ns;
	atomic_t nr_exports;
	atomic_t nr_attachments;
	struct pinmem_pin_ext *ext;
	struct pinmem_runs runs;
};

/**
 * struct pinmem_ctx - one open of /dev/pinmem.
 * @mm: the address space it is bound to (mmgrab'ed, not mmget'ed).
 * @user: the user that opened it, charged for its pins and buffers.
 * @id: key in the global context registry.
 * @lock: protects the trees, @next_handle, @nr_pins and @nr_pages. Never
 *	held across GUP, user copies or page freeing.
 * @by_addr: pins keyed by user address; pins of a context never overlap.
 * @pins: the same pins by handle (dense and increasing: an xarray).
 * @next_handle: last handle given out.
 * @nr_pins: pins in the trees, plus pins being made.
 * @nr_pages: pages of those pins, checked against pinmem_max_pages.
 * @contigs: contiguous buffers (contig.c) by handle.
 * @owner: the owner of its last pin (a reference), for the next one.
 * @slots: its pins out of the trees but still pinned; with @nr_pins and
 *	@nr_pages, what max_pins and max_pages are checked against.
 */
struct pinmem_ctx {
	struct mm_struct *mm;
	struct user_struct *user;
	u32 id;
	struct mutex lock;	/* guards the trees, see above */
	struct rb_root by_addr;
	struct xarray pins;
	u64 next_handle;
	unsigned long nr_pins;
	unsigned long nr_pages;
	struct xarray contigs;
	struct pinmem_owner *owner;
	struct pinmem_slots *slots;
};

/*
 * Pages per pin_user_pages_fast() call, and per runs_add() of a memfd pin;
 * signals and rescheduling in between.
 */
#define PINMEM_PIN_BATCH	512UL

/* Per-context limits (module parameters, main.c). */
extern unsigned int pinmem_max_pins;
extern unsigned long pinmem_max_pages;

/* Why a PIN or PIN_MEMFD was refused: tracepoint pinmem:pinmem_refuse. */
enum pinmem_refuse_reason {
	PINMEM_REFUSE_ARGS,		/* bad flags, range, fd */
	PINMEM_REFUSE_PERM,		/* privilege or file mode */
	PINMEM_REFUSE_OVERLAP,		/* overlaps a pin of the context */
	PINMEM_REFUSE_MAX_PINS,		/* module parameter max_pins */
	PINMEM_REFUSE_MAX_PAGES,	/* module parameter max_pages */
	PINMEM_REFUSE_RLIMIT,		/* RLIMIT_MEMLOCK */
	PINMEM_REFUSE_TOO_BIG,		/* more pages than the machine has */
	PINMEM_REFUSE_HUGETLB,		/* huge pages this kernel cannot migrate */
	PINMEM_REFUSE_FIT,		/* what must migrate does not fit */
	PINMEM_REFUSE_GUP,		/* GUP or the page walk failed */
	PINMEM_REFUSE_NOMEM,		/* a kernel allocation of pinmem's */
};

/* Global counters, reported by debugfs "stats". */
enum pinmem_op {
	PINMEM_OP_VERSION,
	PINMEM_OP_PIN,
	PINMEM_OP_UNPIN,
	PINMEM_OP_QUERY,
	PINMEM_OP_ACCESS,
	PINMEM_OP_CONTIG_ALLOC,
	PINMEM_OP_CONTIG_FREE,
	PINMEM_OP_BENCH_BARE,		/* the test build's (PINMEM_TEST) */
	PINMEM_OP_EXPORT,
	PINMEM_OP_PIN_MEMFD,
	PINMEM_NR_OPS,
};

/*
 * What pinmem allocates on a user's behalf: charged to the memory cgroup,
 * and failing with -ENOMEM when the cgroup or the machine is out of memory
 * rather than waking the OOM killer, for the pins' own metadata too; the
 * errno is the report, the kernel log stays quiet.
 */
#define PINMEM_GFP	(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

#define PINMEM_MAX_ERRNO	134	/* errnos counted one by one, others lumped */

struct pinmem_stats {
	atomic_long_t contexts;
	atomic_long_t pins;
	atomic_long_t pinned_pages;
	atomic_long_t exports;
	atomic64_t total_pins;
	atomic64_t total_unpins;
	atomic64_t total_pinned_pages;
	atomic64_t total_unpinned_pages;
	atomic64_t parallel_jobs;
	atomic64_t parallel_parts;
	atomic64_t calls[PINMEM_NR_OPS];
	atomic64_t failures[PINMEM_NR_OPS][PINMEM_MAX_ERRNO + 1];
};

extern struct pinmem_stats pinmem_stats;
const char *pinmem_op_name(unsigned int op);
extern const char * const pinmem_zone_names[PINMEM_ZONE_SLOTS];

/* Context registry (main.c), walked by debugfs under the registry lock. */
extern struct mutex pinmem_registry_lock;
struct pinmem_ctx *pinmem_ctx_find(u32 *id);
struct pinmem_ctx *pinmem_ctx_create(void);
void pinmem_ctx_destroy(struct pinmem_ctx *ctx);

/* ctx.c: a context's trees of pins */
struct user_struct;
void pinmem_ctx_init(struct pinmem_ctx *ctx, struct mm_struct *mm,
		     struct user_struct *user);
void pinmem_ctx_release_pins(struct pinmem_ctx *ctx);
int pinmem_handle_store(struct pinmem_ctx *ctx, struct xarray *xa,
			void *entry, u64 *handle);
void *pinmem_handle_load(struct xarray *xa, u64 handle);
struct pinmem_pin *pinmem_pin_tree_find(struct pinmem_ctx *ctx,
					unsigned long start, unsigned long end);
int pinmem_pin_tree_insert(struct pinmem_ctx *ctx, struct pinmem_pin *pin);
void pinmem_pin_tree_erase(struct pinmem_ctx *ctx, struct pinmem_pin *pin);
struct pinmem_pin *pinmem_pin_first_from(struct pinmem_ctx *ctx, u64 handle);

/* account.c: charges and limits */
int pinmem_account(struct user_struct *user, struct mm_struct *mm,
		   unsigned long nr);
void pinmem_unaccount(struct user_struct *user, struct mm_struct *mm,
		      unsigned long nr);
int pinmem_limits_reserve(struct pinmem_ctx *ctx, bool by_addr,
			  unsigned long start, unsigned long nr_pages, int *why);
void pinmem_limits_unreserve(struct pinmem_ctx *ctx, unsigned long nr_pages);
struct pinmem_slots *pinmem_slots_alloc(void);
void pinmem_slots_hold(struct pinmem_slots *slots, unsigned long nr_pages);
void pinmem_slots_release(struct pinmem_slots *slots, unsigned long nr_pages);
void pinmem_slots_put(struct pinmem_slots *slots);

/* vma.c: the VMAs of a range to pin */
/**
 * struct pinmem_vma_seg - the part of a range one VMA covers, and how to
 *	pin it.
 * @end: its end.
 * @gup_flags: FOLL_* flags for it.
 * @hugetlb: it is a hugetlb mapping.
 */
struct pinmem_vma_seg {
	unsigned long end;
	unsigned int gup_flags;
	bool hugetlb;
};

typedef int (*pinmem_vma_seg_fn)(unsigned long start, unsigned long end,
				 const struct pinmem_vma_seg *seg, void *data);
int pinmem_vma_seg_walk(struct mm_struct *mm, unsigned long addr,
			unsigned long nr_pages, unsigned int gup_flags,
			pinmem_vma_seg_fn fn, void *data);
int pinmem_vma_check_hugetlb(struct mm_struct *mm, unsigned long addr,
			     unsigned long nr_pages, unsigned int gup_flags,
			     struct page **scratch);

/* fit.c: the memory a long-term pin may take */
/**
 * struct pinmem_fit_walk - pages of a range that will take pinnable memory.
 * @pages: %PINMEM_PIN_BATCH page pointers, for GUP-fast.
 * @need: out: the count.
 * @present_only: count only present pages that must migrate.
 * @whole_folios: count each folio that must migrate whole, once (GUP
 *	migrates all of it, its pages outside the range too), not its pages
 *	in the range.
 * @last: the folio counted last, for @whole_folios.
 */
struct pinmem_fit_walk {
	struct page **pages;
	unsigned long need;
	bool present_only;
	bool whole_folios;
	struct folio *last;
};

bool pinmem_have_unpinnable(bool movable);
unsigned long pinmem_pinnable_available_pages(void);
unsigned long pinmem_fit_span(unsigned long start, unsigned long nr_pages);
int pinmem_fit_seg_count(unsigned long start, unsigned long end,
			 const struct pinmem_vma_seg *seg, void *data);
int pinmem_fit_check_highmem(struct mm_struct *mm, unsigned long addr,
			     unsigned long nr_pages, unsigned int gup_flags,
			     struct page **scratch);

/* pin_job.c: the GUP of one PIN, in the caller or on several CPUs */
int pinmem_pin_job_run(struct pinmem_pin *pin, unsigned int gup_flags,
		       struct page **batch, bool fit, bool *fit_refused);

/* pin.c: pins, and the PIN, PIN_MEMFD, UNPIN, QUERY and ACCESS ioctls */
static inline unsigned long pinmem_pin_end(const struct pinmem_pin *pin)
{
	return pin->uaddr + (pin->nr_pages << PAGE_SHIFT);
}

int pinmem_pin(struct pinmem_ctx *ctx, struct pinmem_pin_args *args);
int pinmem_pin_memfd(struct pinmem_ctx *ctx,
		     struct pinmem_pin_memfd_args *args);
int pinmem_unpin(struct pinmem_ctx *ctx, struct pinmem_unpin_args *args);
int pinmem_query(struct pinmem_ctx *ctx, struct pinmem_query_args *args);
int pinmem_access(struct pinmem_ctx *ctx, struct pinmem_access_args *args);
int pinmem_check_range(u64 addr, u64 length, unsigned long *nr_pages);
struct pinmem_pin *pinmem_pin_get(struct pinmem_ctx *ctx, u64 handle);
void pinmem_pin_put(struct pinmem_pin *pin);
void pinmem_owner_put(struct pinmem_owner *o);
void pinmem_pin_placement(const struct pinmem_pin *pin,
			  struct pinmem_placement *place);
int pinmem_pin_cache_init(void);
void pinmem_pin_cache_exit(void);

/* runs.c */
int pinmem_runs_add(struct pinmem_runs_build *b, struct page **pages,
		    unsigned int n, unsigned long limit);
bool pinmem_runs_needs_index(const struct pinmem_runs_build *b);
void pinmem_runs_finish(struct pinmem_runs_build *b, struct pinmem_runs *r,
			struct pinmem_runs_index *x);
void pinmem_runs_build_release(struct pinmem_runs_build *b,
			       unsigned long nr_pages, bool dirty);
int pinmem_runs_concat(struct pinmem_runs_build *dst,
		       struct pinmem_runs_build **src, unsigned int nr);
void pinmem_runs_release(struct pinmem_runs *r, unsigned long nr_pages,
			 bool dirty);
void pinmem_runs_free(struct pinmem_runs *r);
void pinmem_runs_placement(const struct pinmem_runs *r,
			   struct pinmem_placement *place);
void pinmem_runs_seek(struct pinmem_runs_iter *it, const struct pinmem_runs *r,
		      const struct pinmem_runs_index *x, unsigned long index);
unsigned long pinmem_runs_next_pfn(struct pinmem_runs_iter *it);
unsigned long pinmem_runs_get(const struct pinmem_runs *r, unsigned long i,
			      unsigned long *pfn);

/* parallel.c: one PIN or UNPIN split across the caller's CPUs */
#define PINMEM_PAR_MAX_PARTS	8

struct pinmem_par;

/**
 * struct pinmem_par_work - a part of a &struct pinmem_par run by a worker.
 * @work: queued on one of the caller's CPUs.
 * @done: completed when the part returned.
 * @par: its job.
 * @part: its part number.
 * @ret: what the part returned.
 */
struct pinmem_par_work {
	struct work_struct work;
	struct completion done;
	struct pinmem_par *par;
	unsigned int part;
	int ret;
};

/**
 * struct pinmem_par - work split in parts.
 * @mm: the address space the workers adopt, or NULL.
 * @memcg: the caller's memory cgroup while the job runs.
 * @fn: does part i.
 * @data: for @fn.
 * @abort: raised when a part failed or the caller was killed.
 * @next: the next chunk to take (pinmem_par_take()).
 * @nr: parts.
 * @works: parts 1 to @nr - 1.
 */
struct pinmem_par {
	struct mm_struct *mm;
	struct mem_cgroup *memcg;
	int (*fn)(struct pinmem_par *par, unsigned int part);
	void *data;
	atomic_t abort;
	atomic_t next;
	unsigned int nr;
	struct pinmem_par_work works[];
};

extern unsigned long pinmem_parallel_min_pages;
int pinmem_par_init(void);
void pinmem_par_exit(void);
unsigned int pinmem_par_parts(unsigned long nr_pages);
struct pinmem_par *pinmem_par_alloc(unsigned int nr, struct mm_struct *mm,
				    int (*fn)(struct pinmem_par *, unsigned int),
				    void *data);
void pinmem_par_free(struct pinmem_par *par);
int pinmem_par_run(struct pinmem_par *par);
int pinmem_par_stop(struct pinmem_par *par);
bool pinmem_par_take(struct pinmem_par *par, unsigned int nr_chunks,
		     unsigned int *chunk);

/* memfd.c */
struct file;
int pinmem_memfd_may_pin(struct file *file, bool write);
u64 pinmem_memfd_span(struct file *file, u64 offset, u64 len);
int pinmem_memfd_pin_pages(struct pinmem_pin *pin, struct file *file,
			   u64 offset, bool fit, struct page **batch, int *why);
void pinmem_memfd_unpin(struct pinmem_pin *pin, bool dirty);

/* contig.c */
struct device;
struct dentry;
struct vm_area_struct;
int pinmem_contig_init(struct device *dev);
void pinmem_contig_exit(void);
void pinmem_contig_debugfs(struct dentry *dir);
int pinmem_contig_alloc(struct pinmem_ctx *ctx,
			struct pinmem_contig_alloc_args *args);
int pinmem_contig_free(struct pinmem_ctx *ctx,
		       struct pinmem_contig_free_args *args);
int pinmem_contig_mmap(struct pinmem_ctx *ctx, struct vm_area_struct *vma);
void pinmem_contig_release_all(struct pinmem_ctx *ctx);
struct pinmem_contig;
struct pinmem_contig *pinmem_contig_get(struct pinmem_ctx *ctx, u64 handle);
void pinmem_contig_put(struct pinmem_contig *c);
unsigned long pinmem_contig_pfn(const struct pinmem_contig *c);
unsigned long pinmem_contig_pages(const struct pinmem_contig *c);

/* export.c */
struct file;
int pinmem_export(struct pinmem_ctx *ctx, struct pinmem_export_args *args,
		  struct file **filep);
void pinmem_export_debugfs(struct dentry *dir);

/* fdinfo.c */
struct seq_file;
void pinmem_show_fdinfo(struct seq_file *m, struct file *file);

/* debugfs.c */
void pinmem_debugfs_init(void);
void pinmem_debugfs_exit(void);
extern struct dentry *pinmem_debugfs_dir;

/*
 * The test build (PINMEM_TEST=1) only, from tests/kmod/: bench_bare.c, the
 * bare-GUP reference of the benchmarks; gup_test.c, the kernel's gup_test
 * ABI, with the gup_test=1 parameter.
 */
#ifdef PINMEM_TEST
int pinmem_bench_bare(struct pinmem_ctx *ctx, struct pinmem_bench_args *args);
void pinmem_gup_test_init(void);
void pinmem_gup_test_exit(void);
#else
static inline void pinmem_gup_test_init(void) { }
static inline void pinmem_gup_test_exit(void) { }
#endif

#endif /* _PINMEM_H */
