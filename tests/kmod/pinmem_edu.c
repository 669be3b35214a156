// SPDX-License-Identifier: GPL-2.0
/*
 * pinmem_edu: a test driver, never shipped, that makes QEMU's "edu" PCI
 * device (hw/misc/edu.c) DMA between pinmem dma-bufs and its 4 KiB buffer,
 * as lib/test_hmm.c is for HMM. Built with the module for the tests only
 * (PINMEM_TEST_MODULES=m), loaded by tests/test_dmabuf.
 *
 * /dev/pinmem_edu, ioctl PINMEM_EDU_COPY: import two dma-bufs, map the
 * source for DMA_TO_DEVICE and the destination for DMA_FROM_DEVICE on the
 * edu device, and copy @len bytes through the device, 2 KiB at a time
 * (EDU_XFER): RAM to the device's buffer, then the device's buffer to
 * RAM. The bus addresses are the ones the DMA API gave (IOVAs behind an
 * IOMMU).
 *
 * edu aborts QEMU (7.2) on a transfer outside its buffer, so every transfer
 * is checked against what QEMU accepts before the device is programmed; and it clamps bus addresses
 * to its dma_mask property (28 bits by default), so the driver sets the
 * same mask (the tests give QEMU dma_mask=, see scripts/targets.sh).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/uaccess.h>

#include "compat.h"

PINMEM_IMPORT_NS_DMA_BUF();

/*
 * An importer's mapping of a dma-buf: from 6.2 dma_buf_map_attachment()
 * wants the reservation lock held and the _unlocked variant takes it;
 * before, the plain one took it itself (Kbuild's feature check).
 */
#ifdef PINMEM_HAVE_DMA_BUF_MAP_UNLOCKED
#define pinmem_dma_buf_map(at, dir)	dma_buf_map_attachment_unlocked(at, dir)
#define pinmem_dma_buf_unmap(at, sgt, dir) \
	dma_buf_unmap_attachment_unlocked(at, sgt, dir)
#else
#define pinmem_dma_buf_map(at, dir)	dma_buf_map_attachment(at, dir)
#define pinmem_dma_buf_unmap(at, sgt, dir) \
	dma_buf_unmap_attachment(at, sgt, dir)
#endif

static unsigned int dma_bits = 40;
module_param(dma_bits, uint, 0444);
MODULE_PARM_DESC(dma_bits, "DMA mask bits, as QEMU's edu dma_mask property (default 40)");

#define EDU_VENDOR	0x1234
#define EDU_DEVICE	0x11e8
#define EDU_ID		0x00
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_CNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_CMD_RUN	0x1
#define EDU_CMD_TO_RAM	0x2
#define EDU_BUF		0x40000		/* the device's buffer, in its DMA space */
/* QEMU's DMA_SIZE (hw/misc/edu.c), not a page: 4 KiB whatever PAGE_SIZE is */
#define EDU_BUF_SIZE	SZ_4K
/*
 * Bytes per transfer: half the buffer. QEMU 7.2's range check is off by
 * one (the end of a transfer must lie strictly inside the buffer), so a
 * whole 4 KiB transfer aborts QEMU.
 */
#define EDU_XFER	2048

/* ioctl: struct pinmem_edu_copy, as tests/test_dmabuf.c declares it */
struct pinmem_edu_copy {
	__s32 src_fd;
	__s32 dst_fd;
	__u64 len;
	__u64 nr_xfers;		/* out */
	__u64 bus_min;		/* out: lowest bus address used */
	__u64 bus_max;		/* out: highest */
};

#define PINMEM_EDU_COPY	_IOWR('E', 1, struct pinmem_edu_copy)
/*
 * ioctl: a dma-buf fd; mmap() of this file then maps that dma-buf through
 * dma_buf_mmap(), as an importer's own mmap() does, with this file's mode.
 */
#define PINMEM_EDU_MMAP_DMABUF	_IOW('E', 2, __s32)

static struct {
	struct pci_dev *pdev;
	void __iomem *mmio;
	struct mutex lock;	/* one transfer at a time */
	struct mutex mmap_lock;	/* an open file's dma-buf to mmap() */
} edu;

static void edu_write64(u64 v, unsigned int reg)
{
	/* edu takes 4- or 8-byte accesses; a 4-byte one sets the whole register */
#ifdef writeq
	writeq(v, edu.mmio + reg);
#else
	writel(lower_32_bits(v), edu.mmio + reg);
#endif
}

static int edu_xfer(u64 src, u64 dst, bool to_ram)
{
	unsigned long timeout = jiffies + 10 * HZ;

	edu_write64(src, EDU_DMA_SRC);
	edu_write64(dst, EDU_DMA_DST);
	/* what QEMU 7.2 accepts on the device side, else it aborts */
	if (!to_ram && (dst < EDU_BUF || dst + EDU_XFER >= EDU_BUF + EDU_BUF_SIZE))
		return -ERANGE;
	if (to_ram && (src < EDU_BUF || src + EDU_XFER >= EDU_BUF + EDU_BUF_SIZE))
		return -ERANGE;
	edu_write64(EDU_XFER, EDU_DMA_CNT);
	edu_write64(EDU_CMD_RUN | (to_ram ? EDU_CMD_TO_RAM : 0), EDU_DMA_CMD);
	while (readl(edu.mmio + EDU_DMA_CMD) & EDU_CMD_RUN) {
		if (time_after(jiffies, timeout))
			return -ETIMEDOUT;
		usleep_range(1000, 2000);
	}
	return 0;
}

/* The bus address of byte @off of @sgt's DMA mapping, if a transfer fits there. */
static int bus_at(struct sg_table *sgt, u64 off, u64 *bus)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		if (off < sg_dma_len(sg)) {
			if (sg_dma_len(sg) - off < EDU_XFER)
				return -EINVAL;
			*bus = sg_dma_address(sg) + off;
			break;
		}
		off -= sg_dma_len(sg);
	}
	if (i == sgt->nents)
		return -EINVAL;
	/* what edu would clamp, and so write elsewhere */
	if (dma_bits < 64 && (*bus + EDU_XFER - 1) >> dma_bits)
		return -ERANGE;
	return 0;
}

struct edu_import {
	struct dma_buf *db;
	struct dma_buf_attachment *at;
	struct sg_table *sgt;
	enum dma_data_direction dir;
};

static int edu_import(struct edu_import *im, int fd, enum dma_data_direction dir)
{
	int ret;

	im->dir = dir;
	im->db = dma_buf_get(fd);
	if (IS_ERR(im->db))
		return PTR_ERR(im->db);
	im->at = dma_buf_attach(im->db, &edu.pdev->dev);
	if (IS_ERR(im->at)) {
		ret = PTR_ERR(im->at);
		goto put;
	}
	im->sgt = pinmem_dma_buf_map(im->at, dir);
	if (IS_ERR(im->sgt)) {
		ret = PTR_ERR(im->sgt);
		goto detach;
	}
	return 0;

detach:
	dma_buf_detach(im->db, im->at);
put:
	dma_buf_put(im->db);
	return ret;
}

static void edu_unimport(struct edu_import *im)
{
	pinmem_dma_buf_unmap(im->at, im->sgt, im->dir);
	dma_buf_detach(im->db, im->at);
	dma_buf_put(im->db);
}

static int edu_copy(struct pinmem_edu_copy *c)
{
	struct edu_import src, dst;
	u64 off, bs, bd;
	int ret;

	if (!c->len || c->len % EDU_XFER)
		return -EINVAL;
	ret = edu_import(&src, c->src_fd, DMA_TO_DEVICE);
	if (ret)
		return ret;
	ret = edu_import(&dst, c->dst_fd, DMA_FROM_DEVICE);
	if (ret)
		goto unsrc;
	if (c->len > src.db->size || c->len > dst.db->size) {
		ret = -EINVAL;
		goto undst;
	}
	c->nr_xfers = 0;
	c->bus_min = U64_MAX;
	c->bus_max = 0;
	mutex_lock(&edu.lock);
	for (off = 0; off < c->len; off += EDU_XFER) {
		ret = bus_at(src.sgt, off, &bs);
		if (!ret)
			ret = bus_at(dst.sgt, off, &bd);
		if (!ret)
			ret = edu_xfer(bs, EDU_BUF, false);
		if (!ret)
			ret = edu_xfer(EDU_BUF, bd, true);
		if (ret)
			break;
		c->nr_xfers += 2;
		c->bus_min = min3(c->bus_min, bs, bd);
		c->bus_max = max3(c->bus_max, bs, bd);
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
	}
	mutex_unlock(&edu.lock);
undst:
	edu_unimport(&dst);
unsrc:
	edu_unimport(&src);
	return ret;
}

static int edu_open(struct inode *inode, struct file *file)
{
	file->private_data = NULL;
	return 0;
}

static int edu_release(struct inode *inode, struct file *file)
{
	if (file->private_data)
		dma_buf_put(file->private_data);
	return 0;
}

static long edu_set_mmap(struct file *file, int __user *ufd)
{
	struct dma_buf *buf, *old;
	int fd;

	if (get_user(fd, ufd))
		return -EFAULT;
	buf = dma_buf_get(fd);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	mutex_lock(&edu.mmap_lock);
	old = file->private_data;
	file->private_data = buf;
	mutex_unlock(&edu.mmap_lock);
	if (old)
		dma_buf_put(old);
	return 0;
}

static int edu_mmap(struct file *file, struct vm_area_struct *vma)
{
	int ret = -ENODEV;

	mutex_lock(&edu.mmap_lock);
	if (file->private_data)
		ret = dma_buf_mmap(file->private_data, vma, vma->vm_pgoff);
	mutex_unlock(&edu.mmap_lock);
	return ret;
}

static long edu_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct pinmem_edu_copy c;
	int ret;

	if (cmd == PINMEM_EDU_MMAP_DMABUF)
		return edu_set_mmap(file, (int __user *)arg);
	if (cmd != PINMEM_EDU_COPY)
		return -ENOTTY;
	if (copy_from_user(&c, (void __user *)arg, sizeof(c)))
		return -EFAULT;
	ret = edu_copy(&c);
	if (!ret && copy_to_user((void __user *)arg, &c, sizeof(c)))
		ret = -EFAULT;
	return ret;
}

static const struct file_operations edu_fops = {
	.owner = THIS_MODULE,
	.open = edu_open,
	.release = edu_release,
	.mmap = edu_mmap,
	.unlocked_ioctl = edu_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice edu_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "pinmem_edu",
	.fops = &edu_fops,
	.mode = 0600,
};

static int edu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	int ret;

	if (edu.pdev)
		return -EBUSY;
	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = pcim_iomap_regions(pdev, BIT(0), KBUILD_MODNAME);
	if (ret)
		return ret;
	ret = dma_set_mask(&pdev->dev, DMA_BIT_MASK(dma_bits));
	if (ret)
		return ret;
	pci_set_master(pdev);
	edu.mmio = pcim_iomap_table(pdev)[0];
	edu.pdev = pdev;
	mutex_init(&edu.lock);
	mutex_init(&edu.mmap_lock);
	ret = misc_register(&edu_misc);
	if (ret) {
		edu.pdev = NULL;
		return ret;
	}
	dev_info(&pdev->dev, "edu id %#x, %u-bit DMA, %s\n",
		 readl(edu.mmio + EDU_ID), dma_bits,
		 device_iommu_mapped(&pdev->dev) ? "behind an IOMMU" : "no IOMMU");
	return 0;
}

static void edu_remove(struct pci_dev *pdev)
{
	misc_deregister(&edu_misc);
	edu.pdev = NULL;
}

static const struct pci_device_id edu_ids[] = {
	{ PCI_DEVICE(EDU_VENDOR, EDU_DEVICE) },
	{ }
};
MODULE_DEVICE_TABLE(pci, edu_ids);

static struct pci_driver edu_driver = {
	.name = KBUILD_MODNAME,
	.id_table = edu_ids,
	.probe = edu_probe,
	.remove = edu_remove,
};
module_pci_driver(edu_driver);

MODULE_DESCRIPTION("pinmem test driver: QEMU edu DMA into dma-bufs (tests only)");
MODULE_LICENSE("GPL");
