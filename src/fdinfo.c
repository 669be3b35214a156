// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem fdinfo: /proc/<pid>/fdinfo/<fd> of a /dev/pinmem fd lists that
 * context's pins, the way io_uring lists its registered buffers. It is the
 * owner's view (procfs lets only those who may ptrace the process read it),
 * so it shows user addresses and zones but never PFNs or kernel pointers;
 * debugfs "pins" is root's view of every context.
 *
 * The format is a stable interface (pinmemctl parses it; pinmem(4)):
 *
 *	pinmem-ctx:	<context id, as in debugfs "pins">
 *	pinmem-pins:	<pins>
 *	pinmem-pinned-pages:	<pages>
 *	pinmem-contig-buffers:	<contiguous buffers>
 *	pinmem-user-locked-pages:	<the charged user's locked_vm>
 *	pinmem-pins-listed:	<number of pin: lines that follow>
 *	pin:	handle=<n> start=0x<x> end=0x<x> pages=<n> flags=<rw|r->[m]
 *		exports=<n> attachments=<n> age_ms=<n> [<zone>=<n>...]
 *		compound=<n> huge=<n>
 *
 * (each pin: on one line). fdinfo is formatted into one buffer that seq_file
 * grows and retries, so at most PINMEM_FDINFO_MAX_PINS pins are listed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/sched/user.h>
#include <linux/seq_file.h>
#include <linux/timekeeping.h>
#include <linux/xarray.h>

#include "pinmem.h"

#define PINMEM_FDINFO_MAX_PINS	4096

void pinmem_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct pinmem_ctx *ctx = file->private_data;
	unsigned long listed, idx, nr_contigs = 0;
	struct pinmem_placement place;
	struct pinmem_pin *pin;
	void *entry;
	u64 now;
	int i;

	mutex_lock(&ctx->lock);
	xa_for_each(&ctx->contigs, idx, entry)
		nr_contigs++;
	seq_printf(m, "pinmem-ctx:\t%u\n", ctx->id);
	seq_printf(m, "pinmem-pins:\t%lu\n", ctx->nr_pins);
	seq_printf(m, "pinmem-pinned-pages:\t%lu\n", ctx->nr_pages);
	seq_printf(m, "pinmem-contig-buffers:\t%lu\n", nr_contigs);
	seq_printf(m, "pinmem-user-locked-pages:\t%ld\n",
		   atomic_long_read(&ctx->user->locked_vm));

	/* nr_pins counts pins being made too: count what will be listed */
	listed = 0;
	xa_for_each(&ctx->pins, idx, pin)
		if (++listed == PINMEM_FDINFO_MAX_PINS)
			break;
	seq_printf(m, "pinmem-pins-listed:\t%lu\n", listed);

	now = ktime_get_coarse_boottime_ns();
	idx = 0;
	xa_for_each(&ctx->pins, idx, pin) {
		if (!listed--)
			break;
		seq_printf(m, "pin:\thandle=%llu start=0x%lx end=0x%lx pages=%lu flags=%s%s exports=%d attachments=%d age_ms=%llu",
			   pin->handle, pin->uaddr,
			   pin->uaddr + (pin->nr_pages << PAGE_SHIFT),
			   pin->nr_pages,
			   pin->flags & PINMEM_PIN_WRITE ? "rw" : "r-",
			   pin->flags & PINMEM_PIN_MEMFD ? "m" : "",
			   atomic_read(&pin->nr_exports),
			   atomic_read(&pin->nr_attachments),
			   div_u64(now - pin->created_ns, NSEC_PER_MSEC));
		pinmem_pin_placement(pin, &place);
		for (i = 0; i < PINMEM_ZONE_SLOTS; i++)
			if (place.zone_pages[i])
				seq_printf(m, " %s=%lu", pinmem_zone_names[i],
					   place.zone_pages[i]);
		seq_printf(m, " compound=%lu huge=%lu\n", place.nr_compound,
			   place.nr_huge);
	}
	mutex_unlock(&ctx->lock);
}
