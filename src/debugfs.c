// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem debugfs: /sys/kernel/debug/pinmem/{pins,stats,cma,exports}, root
 * only.
 *
 * "pins" streams one line per pin through seq_file. It does not build a
 * snapshot: the reader keeps a cursor (context id, handle) and re-finds its
 * place with two O(log n) lookups at the start of every read() chunk, so
 * reading 100,000 pins needs no memory proportional to them, and locks are
 * held only while one chunk (a page of text) is formatted. It cannot be
 * seeked.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "pinmem.h"

struct dentry *pinmem_debugfs_dir;

struct pins_iter {
	u32 ctx_id;		/* cursor: context of the current line */
	u64 handle;		/* cursor: handle of the current line */
	struct pinmem_ctx *locked;	/* context whose lock is held */
};

/* First pin at or after the cursor; locks its context. */
static struct pinmem_pin *pins_seek(struct pins_iter *it)
{
	u32 id = it->ctx_id;
	u64 handle = it->handle;

	for (;;) {
		struct pinmem_ctx *ctx = pinmem_ctx_find(&id);
		struct pinmem_pin *pin;

		if (!ctx)
			return NULL;
		mutex_lock(&ctx->lock);
		pin = pinmem_pin_first_from(ctx, handle);
		if (pin) {
			it->locked = ctx;
			it->ctx_id = id;
			it->handle = pin->handle;
			return pin;
		}
		mutex_unlock(&ctx->lock);
		if (id == U32_MAX)
			return NULL;
		id++;
		handle = 0;
	}
}

static void *pins_start(struct seq_file *m, loff_t *pos)
{
	struct pins_iter *it = m->private;

	mutex_lock(&pinmem_registry_lock);
	if (!*pos) {
		it->ctx_id = 0;
		it->handle = 0;
		return SEQ_START_TOKEN;
	}
	return pins_seek(it);
}

static void *pins_next(struct seq_file *m, void *v, loff_t *pos)
{
	struct pins_iter *it = m->private;
	struct pinmem_pin *next;

	++*pos;
	if (v == SEQ_START_TOKEN)
		return pins_seek(it);

	next = it->handle == U64_MAX ? NULL :
	       pinmem_pin_first_from(it->locked, it->handle + 1);
	if (next) {
		it->handle = next->handle;
		return next;
	}
	mutex_unlock(&it->locked->lock);
	it->locked = NULL;
	if (it->ctx_id == U32_MAX)
		return NULL;
	it->ctx_id++;
	it->handle = 0;
	return pins_seek(it);
}

static void pins_stop(struct seq_file *m, void *v)
{
	struct pins_iter *it = m->private;

	if (it->locked) {
		mutex_unlock(&it->locked->lock);
		it->locked = NULL;
	}
	mutex_unlock(&pinmem_registry_lock);
}

static int pins_show(struct seq_file *m, void *v)
{
	struct pins_iter *it = m->private;
	struct pinmem_placement place;
	struct pinmem_pin *pin = v;
	u64 age_ms;
	int i;

	if (v == SEQ_START_TOKEN) {
		seq_puts(m, "ctx pid comm handle start end pages flags age_ms placement\n");
		return 0;
	}
	age_ms = div_u64(ktime_get_coarse_boottime_ns() - pin->created_ns,
			 NSEC_PER_MSEC);
	seq_printf(m, "%u %d ", it->ctx_id, pin->owner->tgid);
	seq_escape(m, pin->owner->comm, " \t\n\\");
	/* flags: rw or r-, and m for a memfd pin (no address: 0) */
	seq_printf(m, " %llu 0x%lx 0x%lx %lu %s%s %llu", pin->handle, pin->uaddr,
		   pin->uaddr + (pin->nr_pages << PAGE_SHIFT), pin->nr_pages,
		   pin->flags & PINMEM_PIN_WRITE ? "rw" : "r-",
		   pin->flags & PINMEM_PIN_MEMFD ? "m" : "", age_ms);
	pinmem_pin_placement(pin, &place);
	for (i = 0; i < PINMEM_ZONE_SLOTS; i++)
		if (place.zone_pages[i])
			seq_printf(m, " %s=%lu", pinmem_zone_names[i],
				   place.zone_pages[i]);
	seq_printf(m, " compound=%lu huge=%lu runs=%lu exports=%d attachments=%d\n",
		   place.nr_compound, place.nr_huge, pin->runs.nr,
		   atomic_read(&pin->nr_exports),
		   atomic_read(&pin->nr_attachments));
	return 0;
}

static const struct seq_operations pins_sops = {
	.start = pins_start,
	.next = pins_next,
	.stop = pins_stop,
	.show = pins_show,
};

/*
 * The cursor only moves forward: a seek (or pread()) would have seq_file
 * walk every line up to its offset with the registry lock held.
 */
static int pins_open(struct inode *inode, struct file *file)
{
	int ret = seq_open_private(file, &pins_sops, sizeof(struct pins_iter));

	return ret ?: nonseekable_open(inode, file);
}

static const struct file_operations pins_fops = {
	.owner = THIS_MODULE,
	.open = pins_open,
	.read = seq_read,
	.release = seq_release_private,
};

static int stats_show(struct seq_file *m, void *unused)
{
	struct pinmem_stats *s = &pinmem_stats;
	int op, err;

	seq_printf(m, "contexts %ld\n", atomic_long_read(&s->contexts));
	seq_printf(m, "pins %ld\n", atomic_long_read(&s->pins));
	seq_printf(m, "pinned_pages %ld\n", atomic_long_read(&s->pinned_pages));
	seq_printf(m, "exports %ld\n", atomic_long_read(&s->exports));
	seq_printf(m, "total_pins %lld\n", atomic64_read(&s->total_pins));
	seq_printf(m, "total_unpins %lld\n", atomic64_read(&s->total_unpins));
	seq_printf(m, "total_pinned_pages %lld\n",
		   atomic64_read(&s->total_pinned_pages));
	seq_printf(m, "total_unpinned_pages %lld\n",
		   atomic64_read(&s->total_unpinned_pages));
	seq_printf(m, "parallel_jobs %lld\n", atomic64_read(&s->parallel_jobs));
	seq_printf(m, "parallel_parts %lld\n",
		   atomic64_read(&s->parallel_parts));
	/* ops this build has no ioctl for have no name, and no line */
	for (op = 0; op < PINMEM_NR_OPS; op++) {
		if (pinmem_op_name(op))
			seq_printf(m, "calls %s %lld\n", pinmem_op_name(op),
				   atomic64_read(&s->calls[op]));
	}
	for (op = 0; op < PINMEM_NR_OPS; op++) {
		if (!pinmem_op_name(op))
			continue;
		for (err = 1; err <= PINMEM_MAX_ERRNO; err++) {
			s64 n = atomic64_read(&s->failures[op][err]);

			if (!n)
				continue;
			if (err == PINMEM_MAX_ERRNO)
				seq_printf(m, "failures %s other %lld\n",
					   pinmem_op_name(op), n);
			else
				seq_printf(m, "failures %s %pe %lld\n",
					   pinmem_op_name(op), ERR_PTR(-err), n);
		}
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

void pinmem_debugfs_init(void)
{
	pinmem_debugfs_dir = debugfs_create_dir("pinmem", NULL);
	debugfs_create_file("pins", 0400, pinmem_debugfs_dir, NULL, &pins_fops);
	debugfs_create_file("stats", 0400, pinmem_debugfs_dir, NULL,
			    &stats_fops);
	pinmem_contig_debugfs(pinmem_debugfs_dir);
	pinmem_export_debugfs(pinmem_debugfs_dir);
}

void pinmem_debugfs_exit(void)
{
	debugfs_remove(pinmem_debugfs_dir);
}
