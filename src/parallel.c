// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem: splitting the work of one PIN or UNPIN across the CPUs the
 * calling thread may run on.
 *
 * Part 0 runs in the caller; each other part runs in a worker of a bound,
 * CPU-intensive workqueue queued on one of the caller's allowed CPUs. A
 * worker that pins adopts the caller's address space (kthread_use_mm(), as
 * vhost does), so that GUP-fast walks and faults it as the caller would,
 * and charges what it allocates to the caller's memory cgroup
 * (set_active_memcg(); the faulted pages are charged to the mm's anyway).
 * The caller waits for every worker before it returns: the mm, the pin
 * and the parts stay alive for as long as a worker may touch them.
 *
 * The work is a queue of chunks that every CPU taking part draws from until
 * it is empty (pin_job.c, runs.c): a worker that starts late leaves the
 * others more to do instead of making them wait, and one that has not
 * started when the caller has drawn the last chunk is cancelled, not waited
 * for (waking an idle CPU may cost more than the chunk).
 *
 * A part that fails, or a caller that is killed, raises @abort; the parts
 * still running stop at their next batch with -ECANCELED, and the caller
 * returns the first real error. What to undo is the caller's business.
 *
 * What serialises here is the kernel's: mmap_lock (read) for the VMA
 * lookups of each part and for faults, lru_add_drain_all() and the
 * migration of each batch on the first pin of ZONE_MOVABLE/CMA memory, and
 * the page refcount cache lines of pages shared between parts (THPs that
 * straddle a part boundary; parts are cut on PMD boundaries to avoid them).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/kthread.h>
#include <linux/memcontrol.h>
#include <linux/moduleparam.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "pinmem.h"

/*
 * In pages, not bytes: GUP's work is per page (16 MiB of 4 KiB pages, 64 MiB
 * of 16 KiB ones), and every part still spans whole PMDs (pin_split()).
 */
unsigned long pinmem_parallel_min_pages = 1UL << 12;
module_param_named(parallel_min_pages, pinmem_parallel_min_pages, ulong, 0644);
MODULE_PARM_DESC(parallel_min_pages,
		 "Pins and unpins of at least this many pages (default 2^12) are split across the caller's CPUs, 0 never");

static struct workqueue_struct *pinmem_wq;

int pinmem_par_init(void)
{
	pinmem_wq = alloc_workqueue("pinmem", PINMEM_WQ_PERCPU | WQ_CPU_INTENSIVE,
				    0);
	return pinmem_wq ? 0 : -ENOMEM;
}

void pinmem_par_exit(void)
{
	destroy_workqueue(pinmem_wq);
}

/**
 * pinmem_par_parts() - on how many CPUs to do @nr_pages of work.
 * @nr_pages: pages of the range.
 *
 * The CPUs the caller may run on (online), at most %PINMEM_PAR_MAX_PARTS,
 * with at least half the module parameter parallel_min_pages each; 1
 * below parallel_min_pages or when it is 0.
 */
unsigned int pinmem_par_parts(unsigned long nr_pages)
{
	unsigned long min = READ_ONCE(pinmem_parallel_min_pages);
	unsigned int cpus;

	if (!min || nr_pages < min)
		return 1;
	cpus = cpumask_weight_and(current->cpus_ptr, cpu_online_mask);
	cpus = min_t(unsigned long, cpus, nr_pages / max(min / 2, 1UL));
	return clamp_t(unsigned int, cpus, 1, PINMEM_PAR_MAX_PARTS);
}

/**
 * pinmem_par_alloc() - a job of @nr parts.
 * @nr: parts, 2 to %PINMEM_PAR_MAX_PARTS.
 * @mm: the address space workers adopt, or NULL for work without one.
 * @fn: the work of part i.
 * @data: for @fn.
 *
 * Return: the job (free with pinmem_par_free()), or NULL.
 */
struct pinmem_par *pinmem_par_alloc(unsigned int nr, struct mm_struct *mm,
				    int (*fn)(struct pinmem_par *, unsigned int),
				    void *data)
{
	struct pinmem_par *par = kzalloc(struct_size(par, works, nr - 1),
					 PINMEM_GFP);

	if (!par)
		return NULL;
	par->nr = nr;
	par->mm = mm;
	par->fn = fn;
	par->data = data;
	atomic_set(&par->abort, 0);
	atomic_set(&par->next, 0);
	return par;
}

void pinmem_par_free(struct pinmem_par *par)
{
	kfree(par);
}

static void par_work(struct work_struct *work)
{
	struct pinmem_par_work *pw = container_of(work, struct pinmem_par_work,
						  work);
	struct pinmem_par *par = pw->par;
	struct mem_cgroup *old;

	if (par->mm)
		kthread_use_mm(par->mm);
	old = set_active_memcg(par->memcg);
	pw->ret = par->fn(par, pw->part);
	set_active_memcg(old);
	if (par->mm)
		kthread_unuse_mm(par->mm);
	complete(&pw->done);
}

/* The first error of the parts in order, other than -ECANCELED. */
static int first_error(int ret, int part_ret)
{
	if (part_ret && part_ret != -ECANCELED && (!ret || ret == -ECANCELED))
		return part_ret;
	return ret ? ret : part_ret;
}

/**
 * pinmem_par_run() - do the parts of @par and wait for all of them.
 * @par: the job; @par->fn must leave nothing undone when a part never
 *	runs (a queue of chunks the caller's part drains).
 *
 * Killable: a fatal signal raises the job's abort and waits for the
 * workers to stop, then returns -EINTR (unless a part failed first).
 *
 * Return: 0 when every part returned 0, else the first error.
 */
int pinmem_par_run(struct pinmem_par *par)
{
	unsigned int self = raw_smp_processor_id(), queued = 0, i, cpu;
	int ret = 0, r;

	atomic64_inc(&pinmem_stats.parallel_jobs);
	atomic64_add(par->nr, &pinmem_stats.parallel_parts);
	par->memcg = get_mem_cgroup_from_mm(par->mm ? par->mm : current->mm);
	for_each_cpu_and(cpu, current->cpus_ptr, cpu_online_mask) {
		struct pinmem_par_work *pw = &par->works[queued];

		if (queued + 1 == par->nr)
			break;
		if (cpu == self)
			continue;
		pw->par = par;
		pw->part = queued + 1;
		init_completion(&pw->done);
		INIT_WORK(&pw->work, par_work);
		queue_work_on(cpu, pinmem_wq, &pw->work);
		queued++;
	}

	/* part 0 here, and the parts no CPU was found for (one went offline) */
	for (i = 0; i + queued < par->nr; i++) {
		unsigned int part = i ? queued + i : 0;

		r = par->fn(par, part);
		if (r)
			atomic_set(&par->abort, 1);
		ret = first_error(ret, r);
	}
	for (i = 0; i < queued; i++) {
		struct pinmem_par_work *pw = &par->works[i];

		/* not started yet: the others did its share, as they do */
		if (cancel_work(&pw->work))
			continue;
		if (wait_for_completion_killable(&pw->done)) {
			atomic_set(&par->abort, 1);
			ret = first_error(ret, -EINTR);
			wait_for_completion(&pw->done);
		}
		if (pw->ret)
			atomic_set(&par->abort, 1);
		ret = first_error(ret, pw->ret);
	}
	mem_cgroup_put(par->memcg);
	par->memcg = NULL;
	return ret;
}

/**
 * pinmem_par_take() - the next chunk of @par's queue, for any of its parts.
 * @par: the job.
 * @nr_chunks: chunks in the queue.
 * @chunk: out: the chunk to do.
 *
 * Return: false once every chunk has been taken.
 */
bool pinmem_par_take(struct pinmem_par *par, unsigned int nr_chunks,
		     unsigned int *chunk)
{
	*chunk = atomic_inc_return(&par->next) - 1;
	return *chunk < nr_chunks;
}

/* Should a part stop here: the caller was killed, or another part failed. */
int pinmem_par_stop(struct pinmem_par *par)
{
	if (fatal_signal_pending(current))
		return -EINTR;
	if (par && atomic_read(&par->abort))
		return -ECANCELED;
	return 0;
}
