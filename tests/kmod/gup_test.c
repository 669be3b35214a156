// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's gup_test interface, served by pinmem's test build
 * (PINMEM_TEST=1; never in the module users load): with the module
 * parameter gup_test=1 (off by default), /sys/kernel/debug/pinmem/gup_test,
 * and /sys/kernel/debug/gup_test too where the kernel has none of its own
 * (CONFIG_GUP_TEST, off in distribution kernels), speak the ABI of the
 * kernel's mm/gup_test.h. The mm selftests (tools/testing/selftests/mm:
 * cow, gup_longterm, gup_test) then run on stock kernels and test pinmem:
 *
 *  - PIN_LONGTERM_TEST_START, _READ and _STOP are pinmem's PIN, ACCESS and
 *    UNPIN on a context of the opener's (listed in debugfs like any other),
 *    with its read-pin handling, fit check, runs and accounting. A mapping
 *    pinmem refuses to pin long-term (-EOPNOTSUPP) is -EFAULT here, the
 *    errno GUP gives for it.
 *  - PIN_LONGTERM_BENCHMARK pins through PIN and UNPIN too, one pin per
 *    nr_pages_per_call pages; like the kernel's GUP benchmarks it reports
 *    what it pinned in .size, and a shortfall is not an ioctl error.
 *  - The other benchmark and basic ioctls call the kernel's GUP as gup_test
 *    does, and check what it returned; DUMP_USER_PAGES_TEST dump_page()s.
 *
 * Differences from the kernel's, for a module users load: gup_flags may
 * only hold FOLL_WRITE (0x1; the others are the kernel's internal business
 * and some WARN), addresses and sizes must be page aligned, and a page GUP
 * returned unpinned is an error (-EIO), not a WARN.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/ioctl.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/mmdebug.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "pinmem.h"

static bool pinmem_gup_test_on;
module_param_named(gup_test, pinmem_gup_test_on, bool, 0444);
MODULE_PARM_DESC(gup_test,
		 "Serve the kernel's gup_test debugfs ABI (for the mm selftests) through pinmem (default 0)");

/* The ABI, as in the kernel's mm/gup_test.h (identical in 6.1 to 7.3). */
#define PINMEM_GT_MAX_DUMP		8
#define PINMEM_GT_DUMP_USE_PIN		0x1
#define PINMEM_GT_FOLL_WRITE		0x1
#define PINMEM_GT_LT_WRITE		0x1
#define PINMEM_GT_LT_FAST		0x2

struct pinmem_gup_test {
	__u64 get_delta_usec;
	__u64 put_delta_usec;
	__u64 addr;
	__u64 size;
	__u32 nr_pages_per_call;
	__u32 gup_flags;
	__u32 test_flags;
	/* 1-based page numbers to dump; 0: none */
	__u32 which_pages[PINMEM_GT_MAX_DUMP];
};

struct pinmem_gup_longterm {
	__u64 addr;
	__u64 size;
	__u32 flags;
};

#define PINMEM_GT_GUP_FAST_BENCHMARK	_IOWR('g', 1, struct pinmem_gup_test)
#define PINMEM_GT_PIN_FAST_BENCHMARK	_IOWR('g', 2, struct pinmem_gup_test)
#define PINMEM_GT_PIN_LONGTERM_BENCHMARK _IOWR('g', 3, struct pinmem_gup_test)
#define PINMEM_GT_GUP_BASIC_TEST	_IOWR('g', 4, struct pinmem_gup_test)
#define PINMEM_GT_PIN_BASIC_TEST	_IOWR('g', 5, struct pinmem_gup_test)
#define PINMEM_GT_DUMP_USER_PAGES_TEST	_IOWR('g', 6, struct pinmem_gup_test)
#define PINMEM_GT_PIN_LONGTERM_START	_IOW('g', 7, struct pinmem_gup_longterm)
#define PINMEM_GT_PIN_LONGTERM_STOP	_IO('g', 8)
#define PINMEM_GT_PIN_LONGTERM_READ	_IOW('g', 9, __u64)

/* One open file: a pinmem context and the one long-term test pin. */
struct gup_test_file {
	struct pinmem_ctx *ctx;
	struct mutex lock;	/* the long-term test pin */
	u64 handle;
	u64 nr_pages;
	bool pinned;
};

static struct dentry *gup_test_root;	/* /sys/kernel/debug/gup_test */

static int pinmem_errno_to_gup(int ret)
{
	return ret == -EOPNOTSUPP ? -EFAULT : ret;
}

/* PIN_LONGTERM_BENCHMARK: PIN one pin per call, then UNPIN them all. */
static int longterm_bench(struct gup_test_file *g, struct pinmem_gup_test *gt,
			  unsigned long nr_pages)
{
	unsigned long per = gt->nr_pages_per_call, done = 0, i;
	u64 *handles;
	ktime_t t;
	int ret = 0;

	handles = kvcalloc(DIV_ROUND_UP(nr_pages, per), sizeof(*handles),
			   GFP_KERNEL);
	if (!handles)
		return -ENOMEM;
	t = ktime_get();
	for (i = 0; done < nr_pages; i++) {
		struct pinmem_pin_args a = {
			.size = sizeof(a),
			.flags = gt->gup_flags & PINMEM_GT_FOLL_WRITE ?
				 PINMEM_PIN_WRITE : 0,
			.addr = gt->addr + ((u64)done << PAGE_SHIFT),
			.length = (u64)min(per, nr_pages - done) << PAGE_SHIFT,
		};

		ret = pinmem_pin(g->ctx, &a);
		if (ret)
			break;
		handles[i] = a.handle;
		done += a.nr_pages;
	}
	gt->get_delta_usec = ktime_us_delta(ktime_get(), t);
	gt->size = (u64)done << PAGE_SHIFT;
	t = ktime_get();
	while (i--) {
		struct pinmem_unpin_args u = {
			.size = sizeof(u),
			.handle = handles[i],
		};

		WARN_ON_ONCE(pinmem_unpin(g->ctx, &u));
	}
	gt->put_delta_usec = ktime_us_delta(ktime_get(), t);
	kvfree(handles);
	/*
	 * As gup_test: what was pinned is reported in .size, a shortfall is
	 * not an error of the ioctl (a benchmark of huge pages that must all
	 * leave CMA can find too few free huge pages outside it). Said in the
	 * log, for whoever wonders about a short .size.
	 */
	if (ret)
		pr_info_ratelimited("gup_test: PIN_LONGTERM_BENCHMARK pinned %lu of %lu pages: %d\n",
				    done, nr_pages, ret);
	return 0;
}

/* What the kernel's GUP returned is what was asked for. */
static int check_pages(unsigned int cmd, struct page **pages, unsigned long n)
{
	unsigned long i;

	if (cmd != PINMEM_GT_PIN_FAST_BENCHMARK && cmd != PINMEM_GT_PIN_BASIC_TEST)
		return 0;
	for (i = 0; i < n; i++) {
		if (!folio_maybe_dma_pinned(page_folio(pages[i]))) {
			pr_err_ratelimited("gup_test: page %lu of %lu is not dma-pinned\n",
					   i, n);
			return -EIO;
		}
	}
	return 0;
}

static void dump_chosen_pages(struct pinmem_gup_test *gt,
			      struct page **pages, unsigned long n)
{
	unsigned int i, idx;

	for (i = 0; i < PINMEM_GT_MAX_DUMP; i++) {
		idx = gt->which_pages[i];
		if (!idx)
			continue;
		if (idx > n) {
			gt->which_pages[i] = 0;
			continue;
		}
		pr_info("gup_test: page #%u, from user address %#llx:\n",
			idx - 1, gt->addr);
		dump_page(pages[idx - 1], "gup_test: dump_pages() test");
	}
}

static long gup_call(unsigned int cmd, unsigned long addr, unsigned long nr,
		     unsigned int flags, bool pin, struct page **pages)
{
	switch (cmd) {
	case PINMEM_GT_GUP_FAST_BENCHMARK:
		return get_user_pages_fast(addr, nr, flags, pages);
	case PINMEM_GT_PIN_FAST_BENCHMARK:
		return pin_user_pages_fast(addr, nr, flags, pages);
	default:
		return pin ? pinmem_pin_user_pages(addr, nr, flags, pages) :
			     pinmem_get_user_pages(addr, nr, flags, pages);
	}
}

/* The benchmark and basic ioctls with the kernel's own GUP. */
static int kernel_gup(unsigned int cmd, struct pinmem_gup_test *gt,
		      unsigned long nr_pages)
{
	bool locked = cmd != PINMEM_GT_GUP_FAST_BENCHMARK &&
		      cmd != PINMEM_GT_PIN_FAST_BENCHMARK;
	bool pin = cmd == PINMEM_GT_PIN_FAST_BENCHMARK ||
		   cmd == PINMEM_GT_PIN_BASIC_TEST ||
		   (cmd == PINMEM_GT_DUMP_USER_PAGES_TEST &&
		    gt->test_flags & PINMEM_GT_DUMP_USE_PIN);
	unsigned int flags = gt->gup_flags & PINMEM_GT_FOLL_WRITE ? FOLL_WRITE : 0;
	unsigned long done = 0;
	struct page **pages;
	long n = 0;
	ktime_t t;
	int ret = 0;

	pages = kvcalloc(nr_pages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	if (locked && mmap_read_lock_killable(current->mm)) {
		ret = -EINTR;
		goto free;
	}
	t = ktime_get();
	while (done < nr_pages) {
		unsigned long want = min_t(unsigned long, gt->nr_pages_per_call,
					   nr_pages - done);

		n = gup_call(cmd, gt->addr + (done << PAGE_SHIFT), want, flags,
			     pin, pages + done);
		if (n <= 0)
			break;
		done += n;
		if (n != want)
			break;
	}
	gt->get_delta_usec = ktime_us_delta(ktime_get(), t);
	gt->size = (u64)done << PAGE_SHIFT;

	ret = check_pages(cmd, pages, done);
	if (cmd == PINMEM_GT_DUMP_USER_PAGES_TEST)
		dump_chosen_pages(gt, pages, done);

	t = ktime_get();
	if (pin) {
		unpin_user_pages(pages, done);
	} else {
		unsigned long i;

		for (i = 0; i < done; i++)
			put_page(pages[i]);
	}
	gt->put_delta_usec = ktime_us_delta(ktime_get(), t);
	if (locked)
		mmap_read_unlock(current->mm);
free:
	kvfree(pages);
	return ret;
}

static int gup_bench(struct gup_test_file *g, unsigned int cmd,
		     void __user *uarg)
{
	struct pinmem_gup_test gt;
	unsigned long nr_pages;
	int ret;

	if (copy_from_user(&gt, uarg, sizeof(gt)))
		return -EFAULT;
	ret = pinmem_check_range(gt.addr, gt.size, &nr_pages);
	if (ret)
		return ret;
	if (!gt.nr_pages_per_call || gt.gup_flags & ~PINMEM_GT_FOLL_WRITE ||
	    gt.test_flags & ~PINMEM_GT_DUMP_USE_PIN)
		return -EINVAL;
	if (nr_pages > totalram_pages())
		return -ENOMEM;

	if (cmd == PINMEM_GT_PIN_LONGTERM_BENCHMARK)
		ret = longterm_bench(g, &gt, nr_pages);
	else
		ret = kernel_gup(cmd, &gt, nr_pages);
	if (ret)
		return ret;
	return copy_to_user(uarg, &gt, sizeof(gt)) ? -EFAULT : 0;
}

static void longterm_stop(struct gup_test_file *g)
{
	struct pinmem_unpin_args u = { .size = sizeof(u), .handle = g->handle };

	if (!g->pinned)
		return;
	WARN_ON_ONCE(pinmem_unpin(g->ctx, &u));
	g->pinned = false;
}

static int longterm_start(struct gup_test_file *g, void __user *uarg)
{
	struct pinmem_gup_longterm lt;
	struct pinmem_pin_args a = { .size = sizeof(a) };
	int ret;

	if (g->pinned)
		return -EINVAL;
	if (copy_from_user(&lt, uarg, sizeof(lt)))
		return -EFAULT;
	if (lt.flags & ~(PINMEM_GT_LT_WRITE | PINMEM_GT_LT_FAST) || !lt.size)
		return -EINVAL;
	/* GUP-fast or not is pinmem's choice: both ask for the same pin */
	a.flags = lt.flags & PINMEM_GT_LT_WRITE ? PINMEM_PIN_WRITE : 0;
	a.addr = lt.addr;
	a.length = lt.size;
	ret = pinmem_pin(g->ctx, &a);
	if (ret)
		return pinmem_errno_to_gup(ret);
	g->handle = a.handle;
	g->nr_pages = a.nr_pages;
	g->pinned = true;
	return 0;
}

static int longterm_read(struct gup_test_file *g, void __user *uarg)
{
	struct pinmem_access_args a = { .size = sizeof(a) };
	u64 buf;

	if (!g->pinned)
		return -EINVAL;
	if (copy_from_user(&buf, uarg, sizeof(buf)))
		return -EFAULT;
	a.handle = g->handle;
	a.length = g->nr_pages << PAGE_SHIFT;
	a.buf = buf;
	return pinmem_access(g->ctx, &a);
}

static long gup_test_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	struct gup_test_file *g = file->private_data;
	void __user *uarg = (void __user *)arg;
	int ret;

	/* as /dev/pinmem: the context serves the mm that opened the file */
	if (current->mm != g->ctx->mm)
		return -EPERM;

	switch (cmd) {
	case PINMEM_GT_GUP_FAST_BENCHMARK:
	case PINMEM_GT_PIN_FAST_BENCHMARK:
	case PINMEM_GT_PIN_LONGTERM_BENCHMARK:
	case PINMEM_GT_GUP_BASIC_TEST:
	case PINMEM_GT_PIN_BASIC_TEST:
	case PINMEM_GT_DUMP_USER_PAGES_TEST:
		return gup_bench(g, cmd, uarg);
	case PINMEM_GT_PIN_LONGTERM_START:
	case PINMEM_GT_PIN_LONGTERM_STOP:
	case PINMEM_GT_PIN_LONGTERM_READ:
		break;
	default:
		return -EINVAL;	/* what gup_test answers */
	}

	if (mutex_lock_killable(&g->lock))
		return -EINTR;
	if (cmd == PINMEM_GT_PIN_LONGTERM_START) {
		ret = longterm_start(g, uarg);
	} else if (cmd == PINMEM_GT_PIN_LONGTERM_READ) {
		ret = longterm_read(g, uarg);
	} else {
		longterm_stop(g);
		ret = 0;
	}
	mutex_unlock(&g->lock);
	return ret;
}

static int gup_test_open(struct inode *inode, struct file *file)
{
	struct gup_test_file *g;
	int ret;

	g = kzalloc(sizeof(*g), GFP_KERNEL);
	if (!g)
		return -ENOMEM;
	g->ctx = pinmem_ctx_create();
	if (IS_ERR(g->ctx)) {
		ret = PTR_ERR(g->ctx);
		goto free;
	}
	mutex_init(&g->lock);
	file->private_data = g;
	return nonseekable_open(inode, file);

free:
	kfree(g);
	return ret;
}

static int gup_test_release(struct inode *inode, struct file *file)
{
	struct gup_test_file *g = file->private_data;

	/* the context's release drops the test pin with everything else */
	pinmem_ctx_destroy(g->ctx);
	mutex_destroy(&g->lock);
	kfree(g);
	return 0;
}

static const struct file_operations gup_test_fops = {
	.owner = THIS_MODULE,
	.open = gup_test_open,
	.release = gup_test_release,
	.unlocked_ioctl = gup_test_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

void pinmem_gup_test_init(void)
{
	struct dentry *d;

	if (!pinmem_gup_test_on)
		return;
	debugfs_create_file("gup_test", 0600, pinmem_debugfs_dir, NULL,
			    &gup_test_fops);
	d = debugfs_lookup("gup_test", NULL);
	if (d) {
		dput(d);
		pr_info("gup_test: the kernel has its own /sys/kernel/debug/gup_test (CONFIG_GUP_TEST); pinmem's is /sys/kernel/debug/pinmem/gup_test\n");
		return;
	}
	gup_test_root = debugfs_create_file("gup_test", 0600, NULL, NULL,
					    &gup_test_fops);
	pr_info("gup_test: /sys/kernel/debug/gup_test served by pinmem\n");
}

void pinmem_gup_test_exit(void)
{
	debugfs_remove(gup_test_root);
	gup_test_root = NULL;
}
