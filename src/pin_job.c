// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem: the GUP job of one PIN. A small range is pinned in the caller; a
 * large one is cut into chunks that the caller and workers on its other
 * CPUs (parallel.c) take in turn. Either way the pin gets all of its pages
 * or none.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "compat.h"
#include "mm_copy.h"
#include "pinmem.h"

/* Pieces a parallel PIN is cut into, taken by the CPUs as they come. */
#define PIN_MAX_CHUNKS		64
#define PIN_CHUNKS_PER_CPU	8

/**
 * struct pin_job - one PIN's pinning: one part in the caller, or chunks
 * taken in turn by the caller and by workers on its other CPUs
 * (parallel.c), so that a worker that starts late, or a CPU that is busy,
 * leaves the others more to do instead of making them wait.
 * @pin: the pin.
 * @gup_flags: FOLL_* flags.
 * @fit: check, batch by batch, that what the batch may take fits (below).
 * @fit_refused: a batch did not fit.
 * @par: the parallel job, or NULL for one part in the caller.
 * @parts: the chunks, in address order.
 * @nr_parts: chunks.
 * @batches: a GUP batch per CPU taking part.
 */
struct pin_job {
	struct pinmem_pin *pin;
	unsigned int gup_flags;
	bool fit;
	bool fit_refused;
	struct pinmem_par *par;
	struct pin_part *parts;
	unsigned int nr_parts;
	struct page **batches[PINMEM_PAR_MAX_PARTS];
};

/**
 * struct pin_part - the pages of a piece (chunk) of a pin.
 * @job: its job.
 * @start: first address (to pin).
 * @nr_pages: pages (to pin).
 * @limit: pages of the chunk (bounds its runs).
 * @nofault: pin only what needs no fault (a worker: FOLL_NOFAULT).
 * @resume: it stopped at @start for a fault, for the caller to take.
 * @runs: its pinned pages (joined into the pin's when all are done).
 * @batch: page array for GUP, of whoever pins it.
 */
struct pin_part {
	struct pin_job *job;
	unsigned long start;
	unsigned long nr_pages;
	unsigned long limit;
	bool nofault;
	bool resume;
	struct pinmem_runs_build runs;
	struct page **batch;
};

/*
 * Before a batch of a long-term pin that may not fit (see
 * pinmem_pinnable_available_pages()): if less is available than the batch
 * could take (pinmem_fit_span(): whole THPs), count what it will take
 * (GUP-fast, no faults; a folio to migrate whole) and refuse if that does
 * not fit. So the check costs a read of the zone counters per batch,
 * and a probe of the batch only once memory runs short: a range already
 * outside ZONE_MOVABLE/CMA is never walked twice, and migration never
 * takes more than is there. A refused pin has migrated what did fit; its
 * pages are unpinned again (all or nothing).
 */
static int fit_batch(struct pin_part *part, unsigned long start,
		     unsigned long n, const struct pinmem_vma_seg *seg)
{
	struct pinmem_fit_walk w = { .pages = part->batch, .whole_folios = true };
	unsigned long avail = pinmem_pinnable_available_pages();
	int ret;

	if (avail >= pinmem_fit_span(start, n))
		return 0;
	ret = pinmem_fit_seg_count(start, start + (n << PAGE_SHIFT), seg, &w);
	if (ret)
		return ret;
	if (w.need <= avail)
		return 0;
	WRITE_ONCE(part->job->fit_refused, true);
	return -ENOMEM;
}

/*
 * A worker's part stops at the first page that needs a fault, for the
 * caller to continue from there (pin_job_run_parallel()): a worker must
 * never wait for a fault that only the caller's death could end (userfaultfd or
 * FUSE served by the caller's own process, killed while it waits for us).
 */
static int pin_part_stop(struct pin_part *part, unsigned long at)
{
	unsigned long end = part->start + (part->nr_pages << PAGE_SHIFT);

	part->resume = true;
	part->start = at;
	part->nr_pages = (end - at) >> PAGE_SHIFT;
	return 1;
}

/*
 * A long-term write pin of file page cache is refused when the VMA is
 * looked up, before GUP; another thread may map such a file into the range
 * after that, so the pages GUP returned are looked at too.
 */
static int pin_batch_allowed(struct page **pages, long n, unsigned int flags)
{
	long i;

	if ((flags & (FOLL_LONGTERM | FOLL_WRITE)) != (FOLL_LONGTERM | FOLL_WRITE))
		return 0;
	for (i = 0; i < n; i++)
		if (pinmem_page_needs_dirty_tracking(pages[i]))
			return -EOPNOTSUPP;
	return 0;
}

/*
 * A worker pins only pages that need neither a fault nor a migration: it
 * runs in a kworker, outside the caller's cpuset, mempolicy and cgroups,
 * so it must not allocate on the caller's behalf. Without FOLL_LONGTERM
 * GUP migrates nothing; the pages it took that a long-term pin may not
 * keep are let go again, and the part stops at the first (*@stop), for
 * the caller to migrate.
 */
static long pin_worker_batch(struct pin_part *part, unsigned long start,
			     unsigned long n, unsigned int gup_flags, bool *stop)
{
	long got, i;

	got = pin_user_pages_fast(start, n,
				  (gup_flags & ~FOLL_LONGTERM) | FOLL_NOFAULT,
				  part->batch);
	if (got <= 0 || !(gup_flags & FOLL_LONGTERM))
		return got;
	for (i = 0; i < got; i++)
		if (!pinmem_longterm_pinnable(part->batch[i]))
			break;
	if (i < got) {
		unpin_user_pages(part->batch + i, got - i);
		*stop = true;
	}
	return i;
}

#if PINMEM_HUGETLB_CANNOT_MIGRATE
/*
 * Up to 6.4 a FOLL_LONGTERM GUP that meets a huge page it may not keep
 * WARNs in follow_hugetlb_page(), and the VMA check before the job cannot
 * stop another thread mapping huge pages in after it looked. So the caller
 * takes what needs neither a fault nor a migration as a worker does, and
 * the rest under the mmap lock, from the VMA it finds there: huge pages
 * are pinned without FOLL_LONGTERM and kept only if a long-term pin may
 * keep every one of them.
 */
static long pin_caller_batch(struct pin_part *part, unsigned long start,
			     unsigned long n, unsigned int gup_flags)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	bool stop = false;
	long got, i;

	if (!(gup_flags & FOLL_LONGTERM))
		return pin_user_pages_fast(start, n, gup_flags, part->batch);
	got = pin_worker_batch(part, start, n, gup_flags, &stop);
	if (got > 0 || (got < 0 && got != -EFAULT))
		return got;
	if (mmap_read_lock_killable(mm))
		return -EINTR;
	vma = vma_lookup(mm, start);
	if (!vma) {
		got = -EFAULT;
		goto unlock;
	}
	n = min(n, (vma->vm_end - start) >> PAGE_SHIFT);
	if (!is_vm_hugetlb_page(vma)) {
		got = pinmem_pin_user_pages(start, n, gup_flags, part->batch);
		goto unlock;
	}
	got = pinmem_pin_user_pages(start, n, gup_flags & ~FOLL_LONGTERM,
				    part->batch);
	for (i = 0; i < got; i++) {
		if (!pinmem_longterm_pinnable(part->batch[i])) {
			unpin_user_pages(part->batch, got);
			got = -EOPNOTSUPP;
			break;
		}
	}
unlock:
	mmap_read_unlock(mm);
	return got;
}
#else
static long pin_caller_batch(struct pin_part *part, unsigned long start,
			     unsigned long n, unsigned int gup_flags)
{
	return pin_user_pages_fast(start, n, gup_flags, part->batch);
}
#endif

static int pin_seg_pages(unsigned long start, unsigned long end,
			 const struct pinmem_vma_seg *seg, void *data)
{
	struct pin_part *part = data;
	struct pin_job *job = part->job;
	long got;
	int ret;

	/* up to 6.4 GUP faults hugetlb pages whatever FOLL_NOFAULT says */
	if (part->nofault && seg->hugetlb && PINMEM_HUGETLB_CANNOT_MIGRATE)
		return pin_part_stop(part, start);
	while (start < end) {
		unsigned long n = min((end - start) >> PAGE_SHIFT,
				      PINMEM_PIN_BATCH);
		bool stop = false;

		ret = pinmem_par_stop(job->par);
		/* a worker takes no memory: the caller checks what it leaves */
		if (!ret && job->fit && !part->nofault)
			ret = fit_batch(part, start, n, seg);
		if (ret)
			return ret;
		if (part->nofault)
			got = pin_worker_batch(part, start, n, seg->gup_flags,
					       &stop);
		else
			got = pin_caller_batch(part, start, n, seg->gup_flags);
		if (part->nofault && (got == -EFAULT || got == 0))
			return pin_part_stop(part, start);
		if (got <= 0)	/* 0 pages and no error: treat as unmapped */
			return got ? got : -EFAULT;
		ret = pin_batch_allowed(part->batch, got, seg->gup_flags);
		if (!ret)
			ret = pinmem_runs_add(&part->runs, part->batch, got,
					      part->limit);
		if (ret) {
			unpin_user_pages(part->batch, got);
			return ret;
		}
		start += (unsigned long)got << PAGE_SHIFT;
		if (stop)
			return pin_part_stop(part, start);
		cond_resched();
	}
	return 0;
}

static int pin_part_fn_one(struct pin_part *part)
{
	struct pin_job *job = part->job;

	return pinmem_vma_seg_walk(job->pin->owner->mm, part->start,
				   part->nr_pages, job->gup_flags, pin_seg_pages,
				   part);
}

/*
 * The share of CPU @who of a job: chunks, as long as there are any. A
 * worker (@who > 0, on the caller's mm) pins only what needs neither a
 * fault nor a migration and leaves the rest of a chunk to the caller (not
 * an error; pin_worker_batch()).
 */
static int pin_part_fn(struct pinmem_par *par, unsigned int who)
{
	struct pin_job *job = par->data;
	unsigned int i;
	int ret;

	while (pinmem_par_take(par, job->nr_parts, &i)) {
		struct pin_part *part = &job->parts[i];

		part->batch = job->batches[who];
		part->nofault = who > 0;
		ret = pin_part_fn_one(part);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/*
 * Cut a pin into chunks on PMD boundaries (a THP is not shared between
 * chunks), about PIN_CHUNKS_PER_CPU per CPU, and give each of the @cpus
 * CPUs but the caller's (@batch) a GUP batch. False if out of memory.
 */
static bool pin_split(struct pin_job *job, unsigned int cpus,
		      struct page **batch)
{
	unsigned long addr = job->pin->uaddr;
	unsigned long end = pinmem_pin_end(job->pin);
	unsigned long each;
	unsigned int i, nr;

	nr = min_t(unsigned long, cpus * PIN_CHUNKS_PER_CPU, PIN_MAX_CHUNKS);
	each = round_up(DIV_ROUND_UP(end - addr, nr), PMD_SIZE);
	job->parts = kcalloc(nr, sizeof(*job->parts), GFP_KERNEL);
	if (!job->parts)
		return false;
	for (i = 0; i < nr && addr < end; i++) {
		unsigned long next = min(end, ALIGN_DOWN(addr + each, PMD_SIZE));

		if (next <= addr || i + 1 == nr)
			next = end;
		job->parts[i].job = job;
		job->parts[i].start = addr;
		job->parts[i].nr_pages = (next - addr) >> PAGE_SHIFT;
		job->parts[i].limit = job->parts[i].nr_pages;
		addr = next;
	}
	job->nr_parts = i;
	job->batches[0] = batch;
	for (i = 1; i < cpus; i++) {
		job->batches[i] = kmalloc_array(PINMEM_PIN_BATCH, sizeof(*batch),
						GFP_KERNEL);
		if (!job->batches[i])
			return false;
	}
	return true;
}

/*
 * pinmem_pin_job_run() on @cpus of the caller's CPUs, into @b. False if it could
 * not start (no memory): then nothing was done.
 */
static bool pin_job_run_parallel(struct pin_job *job, unsigned int cpus,
				 struct page **batch,
				 struct pinmem_runs_build *b, int *ret)
{
	struct pinmem_runs_build **runs = NULL;
	struct pinmem_pin *pin = job->pin;
	bool started = false;
	unsigned int i, n;

	if (pin_split(job, cpus, batch))
		job->par = pinmem_par_alloc(cpus, pin->owner->mm, pin_part_fn, job);
	n = job->nr_parts;
	if (job->par)
		runs = kmalloc_array(n, sizeof(*runs), GFP_KERNEL);
	if (runs) {
		started = true;
		*ret = pinmem_par_run(job->par);
		/* the caller takes over where workers stopped for a fault */
		for (i = 0; !*ret && i < n; i++) {
			struct pin_part *part = &job->parts[i];

			if (!part->resume)
				continue;
			part->resume = false;
			part->nofault = false;
			part->batch = batch;
			*ret = pin_part_fn_one(part);
		}
		for (i = 0; i < n; i++)
			runs[i] = &job->parts[i].runs;
		if (!*ret)
			*ret = pinmem_runs_concat(b, runs, n);
		for (i = 0; *ret && i < n; i++)
			pinmem_runs_build_release(&job->parts[i].runs,
						  job->parts[i].limit, false);
	}
	kfree(runs);
	pinmem_par_free(job->par);
	job->par = NULL;
	for (i = 1; i < cpus; i++)
		kfree(job->batches[i]);
	kfree(job->parts);
	job->parts = NULL;
	return started;
}

/*
 * Give @pin the runs built: a pin of more than PINMEM_PIN_SMALL pages or
 * of more than one run keeps its seek index (and placement, once counted)
 * in a &pinmem_pin_ext; a small one has none (pinmem_pin_placement()).
 */
static int pin_finish(struct pinmem_pin *pin, struct pinmem_runs_build *b)
{
	if (b->nr > 1 || pin->nr_pages > PINMEM_PIN_SMALL) {
		pin->ext = kzalloc(sizeof(*pin->ext), PINMEM_GFP);
		if (!pin->ext) {
			pinmem_runs_build_release(b, pin->nr_pages, false);
			return -ENOMEM;
		}
	}
	pinmem_runs_finish(b, &pin->runs, pin->ext ? &pin->ext->index : NULL);
	return 0;
}

/**
 * pinmem_pin_job_run() - pin every page of @pin's range into its runs.
 * @pin: the pin, not yet published.
 * @gup_flags: FOLL_* flags.
 * @batch: %PINMEM_PIN_BATCH page pointers for the caller's GUP.
 * @fit: check each batch against the memory available to long-term pins
 *	(fit_batch()).
 * @fit_refused: out: that check refused the pin.
 *
 * All of the range, or nothing. A range of at least parallel_min_pages is
 * pinned in chunks on the caller's CPUs (parallel.c).
 *
 * Return: 0 or a negative errno.
 */
int pinmem_pin_job_run(struct pinmem_pin *pin, unsigned int gup_flags,
		       struct page **batch, bool fit, bool *fit_refused)
{
	struct pin_job job = {
		.pin = pin, .gup_flags = gup_flags, .fit = fit,
	};
	struct pin_part one = { .job = &job, .start = pin->uaddr,
				.nr_pages = pin->nr_pages,
				.limit = pin->nr_pages, .batch = batch };
	unsigned int nr = pinmem_par_parts(pin->nr_pages);
	struct pinmem_runs_build b = { 0 };
	int ret;

	if (nr > 1 && pin_job_run_parallel(&job, nr, batch, &b, &ret))
		goto built;
	job.parts = &one;
	ret = pin_part_fn_one(&one);
	if (ret) {
		pinmem_runs_build_release(&one.runs, one.nr_pages, false);
		goto out;
	}
	b = one.runs;
built:
	if (!ret)
		ret = pin_finish(pin, &b);
out:
	*fit_refused = job.fit_refused;
	return ret;
}
