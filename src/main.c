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

/* Where an op that makes an fd leaves it, for the entry point to install. */
struct pinmem_install {
	struct file *file;
	int fd;
};

static int pinmem_version(struct pinmem_version_args *args)
{
	args->abi_version = PINMEM_ABI_VERSION;
	return 0;
}

/*
 * The handlers of pinmem_ioctls[]: each takes its op's argument struct,
 * copied in. An undo serves an op whose answer cannot reach the caller
 * (the struct cannot be copied back): it releases what the op made.
 */
static int ioc_version(struct pinmem_ctx *ctx, void *a, struct pinmem_install *in)
{
	return pinmem_version(a);
}

static int ioc_pin(struct pinmem_ctx *ctx, void *a, struct pinmem_install *in)
{
	return pinmem_pin(ctx, a);
}

static int ioc_unpin(struct pinmem_ctx *ctx, void *a, struct pinmem_install *in)
{
	return pinmem_unpin(ctx, a);
}

static int ioc_query(struct pinmem_ctx *ctx, void *a, struct pinmem_install *in)
{
	return pinmem_query(ctx, a);
}

static int ioc_access(struct pinmem_ctx *ctx, void *a, struct pinmem_install *in)
{
	return pinmem_access(ctx, a);
}

static int ioc_contig_alloc(struct pinmem_ctx *ctx, void *a,
			    struct pinmem_install *in)
{
	return pinmem_contig_alloc(ctx, a);
}

static int ioc_contig_free(struct pinmem_ctx *ctx, void *a,
			   struct pinmem_install *in)
{
	return pinmem_contig_free(ctx, a);
}

#ifdef PINMEM_TEST
static int ioc_bench_bare(struct pinmem_ctx *ctx, void *a,
			  struct pinmem_install *in)
{
	return pinmem_bench_bare(ctx, a);
}
#endif

static int ioc_export(struct pinmem_ctx *ctx, void *a, struct pinmem_install *in)
{
	struct pinmem_export_args *args = a;
	int ret = pinmem_export(ctx, args, &in->file);

	in->fd = args->fd;
	return ret;
}

static int ioc_pin_memfd(struct pinmem_ctx *ctx, void *a,
			 struct pinmem_install *in)
{
	return pinmem_pin_memfd(ctx, a);
}

static void undo_unpin(struct pinmem_ctx *ctx, u64 handle)
{
	struct pinmem_unpin_args undo = { .handle = handle };

	pinmem_unpin(ctx, &undo);
}

static void undo_pin(struct pinmem_ctx *ctx, void *a, struct pinmem_install *in)
{
	undo_unpin(ctx, ((struct pinmem_pin_args *)a)->handle);
}

static void undo_pin_memfd(struct pinmem_ctx *ctx, void *a,
			   struct pinmem_install *in)
{
	undo_unpin(ctx, ((struct pinmem_pin_memfd_args *)a)->handle);
}

static void undo_contig_alloc(struct pinmem_ctx *ctx, void *a,
			      struct pinmem_install *in)
{
	struct pinmem_contig_free_args undo = {
		.handle = ((struct pinmem_contig_alloc_args *)a)->handle,
	};

	pinmem_contig_free(ctx, &undo);
}

/* The fd was never installed: the caller cannot learn it, so it never was. */
static void undo_export(struct pinmem_ctx *ctx, void *a,
			struct pinmem_install *in)
{
	put_unused_fd(in->fd);
	fput(in->file);
	in->file = NULL;
}

/* The largest argument struct this module knows, in bytes. */
#define PINMEM_KARGS_MAX	160

/**
 * struct pinmem_ioctl_desc - one ioctl; adding one is a row of
 * pinmem_ioctls[] and its argument struct.
 * @cmd: the command.
 * @name: its name in debugfs stats.
 * @ksize: the size of the argument struct this module knows.
 * @size_ver0: the size of its first published version, the least taken.
 * @fn: the handler.
 * @undo: releases what @fn made when the answer cannot reach the caller.
 */
struct pinmem_ioctl_desc {
	unsigned int cmd;
	const char *name;
	u32 ksize;
	u32 size_ver0;
	int (*fn)(struct pinmem_ctx *ctx, void *args, struct pinmem_install *in);
	void (*undo)(struct pinmem_ctx *ctx, void *args,
		     struct pinmem_install *in);
};

#define PINMEM_IOCTL(op, type, ver0, handler, undo_fn)			\
	[PINMEM_OP_##op] = {						\
		.cmd = PINMEM_IOC_##op, .name = #op,			\
		.ksize = sizeof(type) +					\
			 BUILD_BUG_ON_ZERO(sizeof(type) > PINMEM_KARGS_MAX), \
		.size_ver0 = (ver0), .fn = (handler), .undo = (undo_fn), \
	}

/*
 * Indexed by _IOC_NR() of the command, which is the pinmem_op. A slot with
 * no command (BENCH_BARE outside the test build) is -ENOTTY.
 */
static const struct pinmem_ioctl_desc pinmem_ioctls[PINMEM_NR_OPS] = {
	PINMEM_IOCTL(VERSION, struct pinmem_version_args,
		     PINMEM_VERSION_SIZE_VER0, ioc_version, NULL),
	PINMEM_IOCTL(PIN, struct pinmem_pin_args,
		     PINMEM_PIN_SIZE_VER0, ioc_pin, undo_pin),
	PINMEM_IOCTL(UNPIN, struct pinmem_unpin_args,
		     PINMEM_UNPIN_SIZE_VER0, ioc_unpin, NULL),
	PINMEM_IOCTL(QUERY, struct pinmem_query_args,
		     PINMEM_QUERY_SIZE_VER0, ioc_query, NULL),
	PINMEM_IOCTL(ACCESS, struct pinmem_access_args,
		     PINMEM_ACCESS_SIZE_VER0, ioc_access, NULL),
	PINMEM_IOCTL(CONTIG_ALLOC, struct pinmem_contig_alloc_args,
		     PINMEM_CONTIG_ALLOC_SIZE_VER0, ioc_contig_alloc,
		     undo_contig_alloc),
	PINMEM_IOCTL(CONTIG_FREE, struct pinmem_contig_free_args,
		     PINMEM_CONTIG_FREE_SIZE_VER0, ioc_contig_free, NULL),
#ifdef PINMEM_TEST
	PINMEM_IOCTL(BENCH_BARE, struct pinmem_bench_args,
		     PINMEM_BENCH_SIZE_VER0, ioc_bench_bare, NULL),
#endif
	PINMEM_IOCTL(EXPORT, struct pinmem_export_args,
		     PINMEM_EXPORT_SIZE_VER0, ioc_export, undo_export),
	PINMEM_IOCTL(PIN_MEMFD, struct pinmem_pin_memfd_args,
		     PINMEM_PIN_MEMFD_SIZE_VER0, ioc_pin_memfd, undo_pin_memfd),
};

/* The name of @op for debugfs, or NULL if this build has no such ioctl. */
const char *pinmem_op_name(unsigned int op)
{
	return op < PINMEM_NR_OPS ? pinmem_ioctls[op].name : NULL;
}

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
 * lists its pins): one per open of /dev/pinmem, and of the test build's
 * gup_test (tests/kmod/gup_test.c).
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

static long pinmem_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	struct pinmem_ctx *ctx = file->private_data;
	void __user *uarg = (void __user *)arg;
	const struct pinmem_ioctl_desc *desc;
	struct pinmem_install in = { };
	unsigned int op = _IOC_NR(cmd);
	u64 a[PINMEM_KARGS_MAX / sizeof(u64)];
	u32 usize;
	int ret;

	if (_IOC_TYPE(cmd) != PINMEM_IOCTL_TYPE || op >= PINMEM_NR_OPS ||
	    !pinmem_ioctls[op].fn || cmd != pinmem_ioctls[op].cmd)
		return -ENOTTY;
	desc = &pinmem_ioctls[op];
	atomic64_inc(&pinmem_stats.calls[op]);

	/* A context serves the address space that opened it, nobody else. */
	if (current->mm != ctx->mm) {
		ret = -EPERM;
		goto out;
	}
	ret = pinmem_args_in(a, desc, uarg, &usize);
	if (ret)
		goto out;
	ret = desc->fn(ctx, a, &in);
	if (ret)
		goto out;
	if (copy_to_user(uarg, a, min_t(u32, usize, desc->ksize))) {
		ret = -EFAULT;
		if (desc->undo)
			desc->undo(ctx, a, &in);
	}
	if (in.file)
		fd_install(in.fd, in.file);
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
