// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem: a misc device that pins user memory long-term for DMA.
 *
 * This file holds the device, the per-open context lifetime, the registry
 * of contexts that debugfs walks, and the ioctl entry point with its
 * extensible-struct argument handling.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/sched/mm.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "pinmem.h"

#define CREATE_TRACE_POINTS
#include "pinmem_trace.h"

#define PINMEM_VERSION	"0.1.0"

struct pinmem_stats pinmem_stats;

unsigned int pinmem_max_pins = 1U << 20;
module_param_named(max_pins, pinmem_max_pins, uint, 0644);
MODULE_PARM_DESC(max_pins, "Most pins one context may hold, exported ones it unpinned included (default 1048576)");

unsigned long pinmem_max_pages;
module_param_named(max_pages, pinmem_max_pages, ulong, 0644);
MODULE_PARM_DESC(max_pages,
		 "Most pages one context may hold pinned, exported ones included; 0 for no limit beyond RLIMIT_MEMLOCK (default 0)");

static ushort pinmem_dev_mode = 0600;
module_param_named(dev_mode, pinmem_dev_mode, ushort, 0444);
MODULE_PARM_DESC(dev_mode, "Mode of /dev/pinmem (default 0600; see also the udev rule)");

/*
 * Contexts by id. The registry lock is held by open/close around insertion
 * and removal, and by a debugfs reader for the span of one read() chunk, so
 * a context a reader has found stays alive until the reader lets go.
 */
DEFINE_MUTEX(pinmem_registry_lock);
static DEFINE_XARRAY_ALLOC(pinmem_ctxs);
static u32 pinmem_ctx_next;

const char * const pinmem_op_names[PINMEM_NR_OPS] = {
	[PINMEM_OP_VERSION] = "VERSION",
	[PINMEM_OP_PIN] = "PIN",
	[PINMEM_OP_UNPIN] = "UNPIN",
	[PINMEM_OP_QUERY] = "QUERY",
	[PINMEM_OP_ACCESS] = "ACCESS",
	[PINMEM_OP_CONTIG_ALLOC] = "CONTIG_ALLOC",
	[PINMEM_OP_CONTIG_FREE] = "CONTIG_FREE",
#ifdef PINMEM_TEST
	[PINMEM_OP_BENCH_BARE] = "BENCH_BARE",
#endif
	[PINMEM_OP_EXPORT] = "EXPORT",
	[PINMEM_OP_PIN_MEMFD] = "PIN_MEMFD",
};

/*
 * Indexed by _IOC_NR() of the command, which is the pinmem_op. A slot with
 * no command (BENCH_BARE outside the test build) is -ENOTTY.
 */
static const struct pinmem_ioctl_desc {
	unsigned int cmd;
	u32 ksize;
	u32 size_ver0;
} pinmem_ioctls[PINMEM_NR_OPS] = {
	[PINMEM_OP_VERSION] = { PINMEM_IOC_VERSION,
		sizeof(struct pinmem_version_args), PINMEM_VERSION_SIZE_VER0 },
	[PINMEM_OP_PIN] = { PINMEM_IOC_PIN,
		sizeof(struct pinmem_pin_args), PINMEM_PIN_SIZE_VER0 },
	[PINMEM_OP_UNPIN] = { PINMEM_IOC_UNPIN,
		sizeof(struct pinmem_unpin_args), PINMEM_UNPIN_SIZE_VER0 },
	[PINMEM_OP_QUERY] = { PINMEM_IOC_QUERY,
		sizeof(struct pinmem_query_args), PINMEM_QUERY_SIZE_VER0 },
	[PINMEM_OP_ACCESS] = { PINMEM_IOC_ACCESS,
		sizeof(struct pinmem_access_args), PINMEM_ACCESS_SIZE_VER0 },
	[PINMEM_OP_CONTIG_ALLOC] = { PINMEM_IOC_CONTIG_ALLOC,
		sizeof(struct pinmem_contig_alloc_args),
		PINMEM_CONTIG_ALLOC_SIZE_VER0 },
	[PINMEM_OP_CONTIG_FREE] = { PINMEM_IOC_CONTIG_FREE,
		sizeof(struct pinmem_contig_free_args),
		PINMEM_CONTIG_FREE_SIZE_VER0 },
#ifdef PINMEM_TEST
	[PINMEM_OP_BENCH_BARE] = { PINMEM_IOC_BENCH_BARE,
		sizeof(struct pinmem_bench_args), PINMEM_BENCH_SIZE_VER0 },
#endif
	[PINMEM_OP_EXPORT] = { PINMEM_IOC_EXPORT,
		sizeof(struct pinmem_export_args), PINMEM_EXPORT_SIZE_VER0 },
	[PINMEM_OP_PIN_MEMFD] = { PINMEM_IOC_PIN_MEMFD,
		sizeof(struct pinmem_pin_memfd_args),
		PINMEM_PIN_MEMFD_SIZE_VER0 },
};

/* The structs as first published must keep their size. */
static_assert(sizeof(struct pinmem_version_args) == PINMEM_VERSION_SIZE_VER0);
static_assert(sizeof(struct pinmem_pin_args) == PINMEM_PIN_SIZE_VER0);
static_assert(sizeof(struct pinmem_unpin_args) == PINMEM_UNPIN_SIZE_VER0);
static_assert(sizeof(struct pinmem_query_args) == PINMEM_QUERY_SIZE_VER1);
static_assert(sizeof(struct pinmem_access_args) == PINMEM_ACCESS_SIZE_VER0);
static_assert(sizeof(struct pinmem_contig_alloc_args) ==
	      PINMEM_CONTIG_ALLOC_SIZE_VER0);
static_assert(sizeof(struct pinmem_contig_free_args) ==
	      PINMEM_CONTIG_FREE_SIZE_VER0);
#ifdef PINMEM_TEST
static_assert(sizeof(struct pinmem_bench_args) == PINMEM_BENCH_SIZE_VER0);
#endif
static_assert(sizeof(struct pinmem_export_args) == PINMEM_EXPORT_SIZE_VER0);
static_assert(sizeof(struct pinmem_pin_memfd_args) ==
	      PINMEM_PIN_MEMFD_SIZE_VER0);

union pinmem_args {
	struct pinmem_version_args version;
	struct pinmem_pin_args pin;
	struct pinmem_unpin_args unpin;
	struct pinmem_query_args query;
	struct pinmem_access_args access;
	struct pinmem_contig_alloc_args contig_alloc;
	struct pinmem_contig_free_args contig_free;
#ifdef PINMEM_TEST
	struct pinmem_bench_args bench;
#endif
	struct pinmem_export_args export;
	struct pinmem_pin_memfd_args pin_memfd;
};

/* The first context with an id >= *id, or NULL. Caller holds the registry lock. */
struct pinmem_ctx *pinmem_ctx_find(u32 *id)
{
	unsigned long index = *id;
	struct pinmem_ctx *ctx;

	lockdep_assert_held(&pinmem_registry_lock);
	ctx = xa_find(&pinmem_ctxs, &index, U32_MAX, XA_PRESENT);
	if (ctx)
		*id = index;
	return ctx;
}

/*
 * A context bound to the caller's mm and user, in the registry (so debugfs
 * lists its pins): one per open of /dev/pinmem, and of gup_test (gup_test.c).
 */
struct pinmem_ctx *pinmem_ctx_create(void)
{
	struct pinmem_ctx *ctx;
	int ret;

	if (!current->mm)
		return ERR_PTR(-EINVAL);
	ctx = kzalloc(sizeof(*ctx), PINMEM_GFP);
	if (!ctx)
		return ERR_PTR(-ENOMEM);
	ctx->slots = pinmem_slots_alloc();
	if (!ctx->slots) {
		kfree(ctx);
		return ERR_PTR(-ENOMEM);
	}
	pinmem_ctx_init(ctx, current->mm, get_uid(current_user()));
	mmgrab(ctx->mm);

	mutex_lock(&pinmem_registry_lock);
	ret = xa_alloc_cyclic(&pinmem_ctxs, &ctx->id, ctx, xa_limit_32b,
			      &pinmem_ctx_next, GFP_KERNEL);
	mutex_unlock(&pinmem_registry_lock);
	if (ret < 0)
		goto free;

	atomic_long_inc(&pinmem_stats.contexts);
	return ctx;

free:
	free_uid(ctx->user);
	mmdrop(ctx->mm);
	pinmem_slots_put(ctx->slots);
	kfree(ctx);
	return ERR_PTR(ret);
}

/* The last reference to @ctx went: release everything it holds. */
void pinmem_ctx_destroy(struct pinmem_ctx *ctx)
{
	/* After this no debugfs reader can find the context. */
	mutex_lock(&pinmem_registry_lock);
	xa_erase(&pinmem_ctxs, ctx->id);
	mutex_unlock(&pinmem_registry_lock);

	pinmem_ctx_release_pins(ctx);
	pinmem_contig_release_all(ctx);
	atomic_long_dec(&pinmem_stats.contexts);
	free_uid(ctx->user);
	mmdrop(ctx->mm);
	pinmem_slots_put(ctx->slots);
	kfree(ctx);
}

static int pinmem_open(struct inode *inode, struct file *file)
{
	struct pinmem_ctx *ctx = pinmem_ctx_create();

	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	file->private_data = ctx;
	return 0;
}

static int pinmem_release(struct inode *inode, struct file *file)
{
	pinmem_ctx_destroy(file->private_data);
	return 0;
}

/*
 * Copy an extensible argument struct in: its first u32 is the caller's
 * sizeof(). Too small is -EINVAL, absurdly large or a nonzero tail we do
 * not know is -E2BIG (see copy_struct_from_user()).
 */
static int pinmem_args_in(void *karg, const struct pinmem_ioctl_desc *desc,
			  const void __user *uarg, u32 *usize)
{
	if (get_user(*usize, (const u32 __user *)uarg))
		return -EFAULT;
	if (*usize < desc->size_ver0)
		return -EINVAL;
	if (*usize > PINMEM_ARGS_SIZE_MAX)
		return -E2BIG;
	return copy_struct_from_user(karg, desc->ksize, uarg, *usize);
}

static int pinmem_version(struct pinmem_version_args *args)
{
	args->abi_version = PINMEM_ABI_VERSION;
	return 0;
}

/*
 * @install: where an op that makes a new fd leaves its file, to be
 * installed only once the caller has the argument struct back.
 */
static int pinmem_dispatch(struct pinmem_ctx *ctx, enum pinmem_op op,
			   union pinmem_args *a, struct file **install)
{
	switch (op) {
	case PINMEM_OP_VERSION:
		return pinmem_version(&a->version);
	case PINMEM_OP_PIN:
		return pinmem_pin(ctx, &a->pin);
	case PINMEM_OP_UNPIN:
		return pinmem_unpin(ctx, &a->unpin);
	case PINMEM_OP_QUERY:
		return pinmem_query(ctx, &a->query);
	case PINMEM_OP_ACCESS:
		return pinmem_access(ctx, &a->access);
	case PINMEM_OP_CONTIG_ALLOC:
		return pinmem_contig_alloc(ctx, &a->contig_alloc);
	case PINMEM_OP_CONTIG_FREE:
		return pinmem_contig_free(ctx, &a->contig_free);
#ifdef PINMEM_TEST
	case PINMEM_OP_BENCH_BARE:
		return pinmem_bench_bare(ctx, &a->bench);
#endif
	case PINMEM_OP_EXPORT:
		return pinmem_export(ctx, &a->export, install);
	case PINMEM_OP_PIN_MEMFD:
		return pinmem_pin_memfd(ctx, &a->pin_memfd);
	default:
		return -ENOTTY;
	}
}

static long pinmem_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	struct pinmem_ctx *ctx = file->private_data;
	void __user *uarg = (void __user *)arg;
	const struct pinmem_ioctl_desc *desc;
	struct file *install = NULL;
	enum pinmem_op op = _IOC_NR(cmd);
	union pinmem_args a;
	u32 usize;
	int ret;

	if (_IOC_TYPE(cmd) != PINMEM_IOCTL_TYPE || op >= PINMEM_NR_OPS ||
	    cmd != pinmem_ioctls[op].cmd)
		return -ENOTTY;
	desc = &pinmem_ioctls[op];
	atomic64_inc(&pinmem_stats.calls[op]);

	/* A context serves the address space that opened it, nobody else. */
	if (current->mm != ctx->mm) {
		ret = -EPERM;
		goto out;
	}
	ret = pinmem_args_in(&a, desc, uarg, &usize);
	if (ret)
		goto out;
	ret = pinmem_dispatch(ctx, op, &a, &install);
	if (ret)
		goto out;
	if (copy_to_user(uarg, &a, min_t(u32, usize, desc->ksize))) {
		ret = -EFAULT;
		/* The caller cannot learn the fd: it never existed. */
		if (install) {
			put_unused_fd(a.export.fd);
			fput(install);
			install = NULL;
		}
		/* The caller cannot learn the handle: do not leave the object. */
		if (op == PINMEM_OP_PIN || op == PINMEM_OP_PIN_MEMFD) {
			struct pinmem_unpin_args undo = {
				.handle = op == PINMEM_OP_PIN ? a.pin.handle :
					  a.pin_memfd.handle,
			};

			pinmem_unpin(ctx, &undo);
		} else if (op == PINMEM_OP_CONTIG_ALLOC) {
			struct pinmem_contig_free_args undo = {
				.handle = a.contig_alloc.handle,
			};

			pinmem_contig_free(ctx, &undo);
		}
	}
	if (install)
		fd_install(a.export.fd, install);
out:
	if (ret)
		atomic64_inc(&pinmem_stats.failures[op][min(-ret, PINMEM_MAX_ERRNO)]);
	return ret;
}

static int pinmem_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct pinmem_ctx *ctx = file->private_data;

	if (current->mm != ctx->mm)
		return -EPERM;
	return pinmem_contig_mmap(ctx, vma);
}

static const struct file_operations pinmem_fops = {
	.owner = THIS_MODULE,
	.open = pinmem_open,
	.release = pinmem_release,
	.unlocked_ioctl = pinmem_ioctl,
	.mmap = pinmem_mmap,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
	.show_fdinfo = pinmem_show_fdinfo,
};

static struct miscdevice pinmem_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "pinmem",
	.fops = &pinmem_fops,
	.mode = 0600,
};

/* The device contiguous buffers are allocated for (dma_alloc_pages()). */
static struct platform_device *pinmem_dma_pdev;

/*
 * /dev/pinmem appears last, when everything it serves is ready, and goes
 * first: an fd opened while init can still fail would outlive the module.
 */
static int __init pinmem_init(void)
{
	int ret;

	pinmem_dma_pdev = platform_device_register_simple(KBUILD_MODNAME,
							  PLATFORM_DEVID_NONE,
							  NULL, 0);
	if (IS_ERR(pinmem_dma_pdev))
		return PTR_ERR(pinmem_dma_pdev);
	ret = pinmem_pin_cache_init();
	if (ret)
		goto unregister_pdev;
	ret = pinmem_par_init();
	if (ret)
		goto pin_cache_exit;
	ret = pinmem_contig_init(&pinmem_dma_pdev->dev);
	if (ret)
		goto par_exit;
	pinmem_debugfs_init();

	pinmem_misc.mode = pinmem_dev_mode & 0666;
	ret = misc_register(&pinmem_misc);
	if (ret) {
		pr_err("cannot register /dev/pinmem: %d\n", ret);
		goto debugfs_exit;
	}
	pr_info("version %s, ABI %d, /dev/pinmem ready\n", PINMEM_VERSION,
		PINMEM_ABI_VERSION);
	/* last too: nothing below can fail, and an open fd holds the module */
	pinmem_gup_test_init();
	return 0;

debugfs_exit:
	pinmem_debugfs_exit();
	pinmem_contig_exit();
par_exit:
	pinmem_par_exit();
pin_cache_exit:
	pinmem_pin_cache_exit();
unregister_pdev:
	platform_device_unregister(pinmem_dma_pdev);
	return ret;
}

static void __exit pinmem_exit(void)
{
	misc_deregister(&pinmem_misc);
	pinmem_gup_test_exit();
	pinmem_debugfs_exit();
	pinmem_contig_exit();
	pinmem_par_exit();
	pinmem_pin_cache_exit();
	platform_device_unregister(pinmem_dma_pdev);
	WARN_ON(!xa_empty(&pinmem_ctxs));
}

module_init(pinmem_init);
module_exit(pinmem_exit);

MODULE_DESCRIPTION("Long-term, accounted pinning of user memory for DMA");
MODULE_AUTHOR("The pinmem authors");
MODULE_LICENSE("GPL");
MODULE_VERSION(PINMEM_VERSION);
