// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem: pins and contiguous buffers exported as dma-bufs.
 *
 * A dma-buf is how a device driver takes a buffer it did not allocate
 * (V4L2's DMABUF memory, DRM PRIME, RDMA's dma-buf MRs). pinmem exports
 * what it already holds: the pages of a long-term pin, already out of
 * ZONE_MOVABLE and CMA, or a contiguous buffer. The dma-buf takes its own
 * reference on the pin or buffer, so UNPIN, CONTIG_FREE, close() or exit
 * leave the pages pinned and charged until the last reference to the
 * dma-buf goes (an fd, a mapping, an importer's attachment); then they are
 * released once, by whoever drops the last reference.
 *
 * An importer's mapping is built from the pin's runs: consecutive page
 * frames become one scatterlist entry, split only where the importing
 * device's segment limit says so. A pin made without PINMEM_PIN_WRITE
 * exports read-only: the fd is O_RDONLY, and mapping it for a device that
 * writes, or into the kernel (vmap gives a writable alias), is -EACCES.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/iosys-map.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "mm_copy.h"
#include "pinmem.h"
#include "pinmem_trace.h"

PINMEM_IMPORT_NS_DMA_BUF();

/**
 * struct pinmem_export - one dma-buf made by PINMEM_IOC_EXPORT.
 * @list: in pinmem_exports, for debugfs.
 * @ino: the dma-buf's inode number (as in /proc/pid/fdinfo), for debugfs:
 *	the file itself may be gone before the release callback runs.
 * @pin: the pin it holds a reference on, or NULL.
 * @contig: the contiguous buffer it holds a reference on, or NULL.
 * @handle: the handle it was exported from.
 * @ctx_id: the context it was exported from.
 * @nr_pages: its size in pages.
 * @writable: devices and the kernel may write it.
 * @lock: guards @attachments and @vaddr.
 * @attachments: &struct pinmem_attachment, one per importer.
 * @nr_attachments: entries of @attachments.
 * @vaddr: the kernel mapping made by vmap, or NULL.
 */
struct pinmem_export {
	struct list_head list;
	unsigned long ino;
	struct pinmem_pin *pin;
	struct pinmem_contig *contig;
	u64 handle;
	u32 ctx_id;
	unsigned long nr_pages;
	bool writable;
	struct mutex lock;	/* guards the attachments and @vaddr */
	struct list_head attachments;
	unsigned int nr_attachments;
	void *vaddr;
};

/**
 * struct pinmem_attachment - one importer's attachment.
 * @list: in &pinmem_export.attachments.
 * @dev: the importing device.
 * @sgt: its mapping, while mapped.
 * @dir: the direction it was mapped for.
 */
struct pinmem_attachment {
	struct list_head list;
	struct device *dev;
	struct sg_table *sgt;
	enum dma_data_direction dir;
};

/* Live exports, for debugfs; the lock is held only briefly. */
static DEFINE_MUTEX(pinmem_exports_lock);
static LIST_HEAD(pinmem_exports);

/* Segments of consecutive page frames: the pin's runs, or one buffer. */
static unsigned long export_nr_segs(const struct pinmem_export *e)
{
	return e->pin ? e->pin->runs.nr : 1;
}

static unsigned long export_seg(const struct pinmem_export *e, unsigned long i,
				unsigned long *pfn)
{
	if (e->pin)
		return pinmem_runs_get(&e->pin->runs, i, pfn);
	*pfn = pinmem_contig_pfn(e->contig);
	return e->nr_pages;
}

/*
 * The scatterlist of the whole buffer for @dev: one entry per segment,
 * split at the device's segment limit (64 KiB for a device that sets
 * none, as the DMA API assumes).
 */
static struct sg_table *export_sgt(struct pinmem_export *e, struct device *dev)
{
	unsigned long max_pages, nents = 0, i, pfn, len, n;
	struct scatterlist *sg;
	struct sg_table *sgt;
	int ret;

	max_pages = min_t(unsigned long, dma_get_max_seg_size(dev),
			  UINT_MAX) >> PAGE_SHIFT;
	max_pages = max(max_pages, 1UL);
	for (i = 0; i < export_nr_segs(e); i++)
		nents += DIV_ROUND_UP(export_seg(e, i, &pfn), max_pages);
	if (nents > UINT_MAX)
		return ERR_PTR(-E2BIG);

	sgt = kzalloc(sizeof(*sgt), PINMEM_GFP);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	ret = sg_alloc_table(sgt, nents, PINMEM_GFP);
	if (ret)
		goto free;
	sg = sgt->sgl;
	for (i = 0; i < export_nr_segs(e); i++) {
		len = export_seg(e, i, &pfn);
		while (len) {
			n = min(len, max_pages);
			sg_set_page(sg, pfn_to_page(pfn), n << PAGE_SHIFT, 0);
			sg = sg_next(sg);
			pfn += n;
			len -= n;
		}
		if (!(i % 64))
			cond_resched();
	}
	return sgt;

free:
	kfree(sgt);
	return ERR_PTR(ret);
}

static void export_sgt_free(struct sg_table *sgt)
{
	sg_free_table(sgt);
	kfree(sgt);
}

static int pinmem_dmabuf_attach(struct dma_buf *dmabuf,
				struct dma_buf_attachment *attach)
{
	struct pinmem_export *e = dmabuf->priv;
	struct pinmem_attachment *a;

	a = kzalloc(sizeof(*a), PINMEM_GFP);
	if (!a)
		return -ENOMEM;
	a->dev = attach->dev;
	attach->priv = a;
	mutex_lock(&e->lock);
	list_add_tail(&a->list, &e->attachments);
	e->nr_attachments++;
	mutex_unlock(&e->lock);
	if (e->pin)
		atomic_inc(&e->pin->nr_attachments);
	trace_pinmem_attach(e->ino, attach->dev);
	return 0;
}

static void pinmem_dmabuf_detach(struct dma_buf *dmabuf,
				 struct dma_buf_attachment *attach)
{
	struct pinmem_export *e = dmabuf->priv;
	struct pinmem_attachment *a = attach->priv;

	trace_pinmem_detach(e->ino, attach->dev);
	mutex_lock(&e->lock);
	list_del(&a->list);
	e->nr_attachments--;
	mutex_unlock(&e->lock);
	if (e->pin)
		atomic_dec(&e->pin->nr_attachments);
	kfree(a);
}

static struct sg_table *pinmem_dmabuf_map(struct dma_buf_attachment *attach,
					  enum dma_data_direction dir)
{
	struct pinmem_export *e = attach->dmabuf->priv;
	struct pinmem_attachment *a = attach->priv;
	struct sg_table *sgt;
	int ret;

	/* A device must not write pages pinned for reading (page cache). */
	if (!e->writable && dir != DMA_TO_DEVICE)
		return ERR_PTR(-EACCES);
	sgt = export_sgt(e, attach->dev);
	if (IS_ERR(sgt))
		return sgt;
	ret = dma_map_sgtable(attach->dev, sgt, dir, 0);
	if (ret) {
		export_sgt_free(sgt);
		return ERR_PTR(ret);
	}
	mutex_lock(&e->lock);
	a->sgt = sgt;
	a->dir = dir;
	mutex_unlock(&e->lock);
	return sgt;
}

static void pinmem_dmabuf_unmap(struct dma_buf_attachment *attach,
				struct sg_table *sgt,
				enum dma_data_direction dir)
{
	struct pinmem_export *e = attach->dmabuf->priv;
	struct pinmem_attachment *a = attach->priv;

	mutex_lock(&e->lock);
	if (a->sgt == sgt)
		a->sgt = NULL;
	mutex_unlock(&e->lock);
	dma_unmap_sgtable(attach->dev, sgt, dir, 0);
	export_sgt_free(sgt);
}

/*
 * Make the devices' writes visible to the CPU, or the CPU's to them: each
 * mapped attachment synced in the direction it was mapped for, as the DMA
 * API wants, whatever the CPU is about to do; and the vmap alias.
 */
static int pinmem_dmabuf_begin_cpu(struct dma_buf *dmabuf,
				   enum dma_data_direction dir)
{
	struct pinmem_export *e = dmabuf->priv;
	struct pinmem_attachment *a;

	mutex_lock(&e->lock);
	if (e->vaddr)
		invalidate_kernel_vmap_range(e->vaddr,
					     e->nr_pages << PAGE_SHIFT);
	list_for_each_entry(a, &e->attachments, list)
		if (a->sgt)
			dma_sync_sgtable_for_cpu(a->dev, a->sgt, a->dir);
	mutex_unlock(&e->lock);
	return 0;
}

static int pinmem_dmabuf_end_cpu(struct dma_buf *dmabuf,
				 enum dma_data_direction dir)
{
	struct pinmem_export *e = dmabuf->priv;
	struct pinmem_attachment *a;

	mutex_lock(&e->lock);
	if (e->vaddr)
		flush_kernel_vmap_range(e->vaddr, e->nr_pages << PAGE_SHIFT);
	list_for_each_entry(a, &e->attachments, list)
		if (a->sgt)
			dma_sync_sgtable_for_device(a->dev, a->sgt, a->dir);
	mutex_unlock(&e->lock);
	return 0;
}

/*
 * mmap(MAP_SHARED) of the dma-buf fd, in any process: the pages
 * themselves, mapped as page frames (VM_PFNMAP: GUP, and so PIN, of such
 * a mapping fails). The dma-buf core keeps the dma-buf, and so the pages,
 * alive as long as the mapping.
 */
static int pinmem_dmabuf_mmap(struct dma_buf *dmabuf,
			      struct vm_area_struct *vma)
{
	struct pinmem_export *e = dmabuf->priv;
	unsigned long skip = vma->vm_pgoff, addr = vma->vm_start;
	unsigned long i, pfn, len;
	int ret;

	/* MAP_SHARED: of an O_RDONLY dma-buf, VM_MAYSHARE without VM_SHARED */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	/*
	 * The dma-buf's O_RDONLY keeps mmap() of its own fd read-only, but an
	 * importer's dma_buf_mmap() maps with the importer's file's mode.
	 */
	if (!e->writable) {
		if (vma->vm_flags & VM_WRITE)
			return -EACCES;
		pinmem_vm_flags_clear(vma, VM_MAYWRITE);
	}
	if (e->contig)
		vma->vm_page_prot = pinmem_dma_mmap_prot(vma->vm_page_prot);
	for (i = 0; i < export_nr_segs(e) && addr < vma->vm_end; i++) {
		len = export_seg(e, i, &pfn);
		if (skip >= len) {
			skip -= len;
			continue;
		}
		pfn += skip;
		len -= skip;
		skip = 0;
		len = min(len, (vma->vm_end - addr) >> PAGE_SHIFT);
		ret = remap_pfn_range(vma, addr, pfn, len << PAGE_SHIFT,
				      vma->vm_page_prot);
		if (ret)
			return ret;
		addr += len << PAGE_SHIFT;
		cond_resched();
	}
	/* the core checked the length; anything else is a bug here */
	return WARN_ON_ONCE(addr != vma->vm_end) ? -EINVAL : 0;
}

static int pinmem_dmabuf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct pinmem_export *e = dmabuf->priv;
	unsigned long i, j, k = 0, pfn, len;
	struct page **pages;
	void *vaddr;

	if (!e->writable)
		return -EACCES;
	pages = kvmalloc_array(e->nr_pages, sizeof(*pages), PINMEM_GFP);
	if (!pages)
		return -ENOMEM;
	for (i = 0; i < export_nr_segs(e); i++) {
		len = export_seg(e, i, &pfn);
		for (j = 0; j < len; j++)
			pages[k++] = pfn_to_page(pfn + j);
	}
	/* a contiguous buffer is shared with the host in a confidential guest */
	vaddr = vmap(pages, e->nr_pages, VM_MAP,
		     e->contig ? pinmem_dma_mmap_prot(PAGE_KERNEL) : PAGE_KERNEL);
	kvfree(pages);
	if (!vaddr)
		return -ENOMEM;
	mutex_lock(&e->lock);
	e->vaddr = vaddr;
	mutex_unlock(&e->lock);
	iosys_map_set_vaddr(map, vaddr);
	return 0;
}

static void pinmem_dmabuf_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct pinmem_export *e = dmabuf->priv;

	mutex_lock(&e->lock);
	if (e->vaddr == map->vaddr)
		e->vaddr = NULL;
	mutex_unlock(&e->lock);
	vunmap(map->vaddr);
}

/* Drop the reference on what @e exports. */
static void export_put_source(struct pinmem_export *e)
{
	if (e->pin)
		pinmem_pin_put(e->pin);
	else
		pinmem_contig_put(e->contig);
}

/* The last reference to the dma-buf went: let go of the pages. */
static void pinmem_dmabuf_release(struct dma_buf *dmabuf)
{
	struct pinmem_export *e = dmabuf->priv;

	trace_pinmem_export_release(e->ino, e->nr_pages);
	mutex_lock(&pinmem_exports_lock);
	list_del(&e->list);
	mutex_unlock(&pinmem_exports_lock);
	atomic_long_dec(&pinmem_stats.exports);
	if (e->pin)
		atomic_dec(&e->pin->nr_exports);
	export_put_source(e);
	mutex_destroy(&e->lock);
	kfree(e);
}

static const struct dma_buf_ops pinmem_dmabuf_ops = {
	.attach = pinmem_dmabuf_attach,
	.detach = pinmem_dmabuf_detach,
	.map_dma_buf = pinmem_dmabuf_map,
	.unmap_dma_buf = pinmem_dmabuf_unmap,
	.begin_cpu_access = pinmem_dmabuf_begin_cpu,
	.end_cpu_access = pinmem_dmabuf_end_cpu,
	.mmap = pinmem_dmabuf_mmap,
	.vmap = pinmem_dmabuf_vmap,
	.vunmap = pinmem_dmabuf_vunmap,
	.release = pinmem_dmabuf_release,
};

/**
 * pinmem_export() - make a dma-buf of a pin or a contiguous buffer.
 * @ctx: the context.
 * @args: the ioctl argument; @args->fd is set to a reserved descriptor.
 * @filep: out: the dma-buf's file, to install at @args->fd once the
 *	caller has told user space about it (or to fput() with
 *	put_unused_fd() if it could not).
 *
 * Return: 0 or a negative errno.
 */
int pinmem_export(struct pinmem_ctx *ctx, struct pinmem_export_args *args,
		  struct file **filep)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct pinmem_export *e;
	struct dma_buf *dmabuf;
	int fd, ret;

	if (args->flags & ~PINMEM_EXPORT_FLAGS || args->reserved)
		return -EINVAL;
	e = kzalloc(sizeof(*e), PINMEM_GFP);
	if (!e)
		return -ENOMEM;
	mutex_init(&e->lock);
	INIT_LIST_HEAD(&e->attachments);
	e->handle = args->handle;
	e->ctx_id = ctx->id;
	e->pin = pinmem_pin_get(ctx, args->handle);
	if (e->pin) {
		e->nr_pages = e->pin->nr_pages;
		e->writable = e->pin->flags & PINMEM_PIN_WRITE;
	} else {
		e->contig = pinmem_contig_get(ctx, args->handle);
		ret = -ENOENT;
		if (!e->contig)
			goto free;
		e->nr_pages = pinmem_contig_pages(e->contig);
		e->writable = true;
	}

	fd = get_unused_fd_flags(args->flags & PINMEM_EXPORT_CLOEXEC ?
				 O_CLOEXEC : 0);
	if (fd < 0) {
		ret = fd;
		goto put;
	}
	exp_info.ops = &pinmem_dmabuf_ops;
	exp_info.size = e->nr_pages << PAGE_SHIFT;
	exp_info.flags = e->writable ? O_RDWR : O_RDONLY;
	exp_info.priv = e;
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto put_fd;
	}
	/* From here on the dma-buf owns @e: its release undoes the rest. */
	e->ino = file_inode(dmabuf->file)->i_ino;
	if (e->pin)
		atomic_inc(&e->pin->nr_exports);
	atomic_long_inc(&pinmem_stats.exports);
	mutex_lock(&pinmem_exports_lock);
	list_add_tail(&e->list, &pinmem_exports);
	mutex_unlock(&pinmem_exports_lock);
	trace_pinmem_export(ctx->id, e->handle, e->ino, !e->pin, e->nr_pages,
			    e->writable);

	args->fd = fd;
	*filep = dmabuf->file;
	return 0;

put_fd:
	put_unused_fd(fd);
put:
	export_put_source(e);
free:
	mutex_destroy(&e->lock);
	kfree(e);
	return ret;
}

/* debugfs "exports": one line per live dma-buf. */
static int exports_show(struct seq_file *m, void *unused)
{
	struct pinmem_export *e;

	seq_puts(m, "ino ctx handle kind pages mode attachments mapped vmapped\n");
	mutex_lock(&pinmem_exports_lock);
	list_for_each_entry(e, &pinmem_exports, list) {
		struct pinmem_attachment *a;
		unsigned int mapped = 0;

		mutex_lock(&e->lock);
		list_for_each_entry(a, &e->attachments, list)
			mapped += !!a->sgt;
		seq_printf(m, "%lu %u %llu %s %lu %s %u %u %d\n",
			   e->ino, e->ctx_id,
			   e->handle, e->pin ? "pin" : "contig", e->nr_pages,
			   e->writable ? "rw" : "r-", e->nr_attachments,
			   mapped, !!e->vaddr);
		mutex_unlock(&e->lock);
	}
	mutex_unlock(&pinmem_exports_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(exports);

void pinmem_export_debugfs(struct dentry *dir)
{
	debugfs_create_file("exports", 0400, dir, NULL, &exports_fops);
}
