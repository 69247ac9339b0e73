// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only dma-buf importer (/dev/cmabuf_test_importer): does what a camera, display or
 * GPU driver does with a buffer — attach twice, map for DMA, begin CPU access, vmap,
 * read and write, end CPU access, unmap, detach — and reports what it saw.
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/iosys-map.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "cmabuf_test_importer.h"

static struct miscdevice importer;
static DEFINE_MUTEX(held_lock);
static struct dma_buf *held;
static struct dma_buf_attachment *held_att;

static int hold(int fd)
{
	struct dma_buf *dmabuf;
	int ret = 0;

	mutex_lock(&held_lock);
	if (held) {
		ret = -EBUSY;
		goto out;
	}
	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto out;
	}
	held_att = dma_buf_attach(dmabuf, importer.this_device);
	if (IS_ERR(held_att)) {
		ret = PTR_ERR(held_att);
		dma_buf_put(dmabuf);
		goto out;
	}
	held = dmabuf;
out:
	mutex_unlock(&held_lock);
	return ret;
}

static void release(void)
{
	mutex_lock(&held_lock);
	if (held) {
		dma_buf_detach(held, held_att);
		dma_buf_put(held);
		held = NULL;
	}
	mutex_unlock(&held_lock);
}

/* IMPORTER_IOC_CHECK, or IMPORTER_IOC_DMA without the vmap when cpu is false. */
static int check(struct cmabuf_import *req, bool cpu)
{
	struct dma_buf_attachment *att[2] = { NULL, NULL };
	struct device *dev = importer.this_device;
	struct sg_table *sgt = NULL;
	struct iosys_map map;
	struct dma_buf *dmabuf;
	u32 *words;
	int i, ret;

	dmabuf = dma_buf_get(req->fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	for (i = 0; i < 2; i++) {
		att[i] = dma_buf_attach(dmabuf, dev);
		if (IS_ERR(att[i])) {
			ret = PTR_ERR(att[i]);
			att[i] = NULL;
			goto out;
		}
	}
	req->attachments = 2;
	sgt = dma_buf_map_attachment_unlocked(att[0], DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
		sgt = NULL;
		goto out;
	}
	req->nents = sgt->nents;
	req->dma_addr = sg_dma_address(sgt->sgl);
	req->dma_len = sg_dma_len(sgt->sgl);

	ret = dma_buf_begin_cpu_access(dmabuf, DMA_BIDIRECTIONAL);
	if (ret)
		goto out;
	if (cpu)
		ret = dma_buf_vmap_unlocked(dmabuf, &map);
	if (cpu && !ret) {
		words = map.vaddr;
		req->first = words[0];
		req->last = words[dmabuf->size / 4 - 1];
		words[1] = req->marker;
		dma_buf_vunmap_unlocked(dmabuf, &map);
	}
	dma_buf_end_cpu_access(dmabuf, DMA_BIDIRECTIONAL);
out:
	if (sgt)
		dma_buf_unmap_attachment_unlocked(att[0], sgt, DMA_BIDIRECTIONAL);
	for (i = 0; i < 2; i++)
		if (att[i])
			dma_buf_detach(dmabuf, att[i]);
	dma_buf_put(dmabuf);
	return ret;
}

static int map_dirs(const struct cmabuf_map_dirs *req)
{
	struct dma_buf_attachment *att;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	int ret;

	if (!valid_dma_direction(req->map_dir) || !valid_dma_direction(req->sync_dir) ||
	    !valid_dma_direction(req->unmap_dir))
		return -EINVAL;
	dmabuf = dma_buf_get(req->fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	att = dma_buf_attach(dmabuf, importer.this_device);
	if (IS_ERR(att)) {
		ret = PTR_ERR(att);
		goto put;
	}
	sgt = dma_buf_map_attachment_unlocked(att, req->map_dir);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
		goto detach;
	}
	ret = dma_buf_begin_cpu_access(dmabuf, req->sync_dir);
	if (!ret)
		ret = dma_buf_end_cpu_access(dmabuf, req->sync_dir);
	dma_buf_unmap_attachment_unlocked(att, sgt, req->unmap_dir);
detach:
	dma_buf_detach(dmabuf, att);
put:
	dma_buf_put(dmabuf);
	return ret;
}

/* The page holding byte offset of the entry sg (offset < sg->length). */
static struct page *walk_page(struct scatterlist *sg, u64 offset)
{
	return pfn_to_page(page_to_pfn(sg_page(sg)) + ((sg->offset + offset) >> PAGE_SHIFT));
}

/*
 * Reads the windows' words and writes the marker through the pages of the entry sg,
 * which starts at byte start of the buffer: each window's (or the marker's) part that
 * falls inside it, a page at a time through kmap_local_page.
 */
static void walk_entry(struct cmabuf_walk *req, struct scatterlist *sg, u64 start)
{
	u64 end = start + sg->length, from, to, off;
	u32 w;

	for (w = 0; w < req->windows; w++) {
		struct cmabuf_walk_window *win = &req->window[w];

		from = max(win->offset, start);
		to = min(win->offset + win->len, end);
		for (off = from; off < to;) {
			u64 in_page = (off - start + sg->offset) & (PAGE_SIZE - 1);
			u64 page_end = min(to, off + PAGE_SIZE - in_page);
			u64 *words = kmap_local_page(walk_page(sg, off - start));
			u64 *word = words + (in_page >> 3);

			for (; off < page_end; off += 8)
				win->sum += importer_walk_term(*word++, off);
			kunmap_local(words);
			cond_resched();
		}
	}
	if (req->marker_offset >= start && req->marker_offset < end) {
		u64 in_entry = req->marker_offset - start;
		u64 *words = kmap_local_page(walk_page(sg, in_entry));

		words[((in_entry + sg->offset) & (PAGE_SIZE - 1)) >> 3] = req->marker;
		kunmap_local(words);
	}
}

static int walk(struct cmabuf_walk *req)
{
	struct device *dev = importer.this_device;
	struct scatterlist *sg, *prev = NULL;
	struct dma_buf_attachment *att;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	u64 start = 0;
	int i, ret;

	if (req->windows > IMPORTER_WALK_WINDOWS || req->marker_offset % 8)
		return -EINVAL;
	for (i = 0; i < req->windows; i++) {
		if (req->window[i].offset % 8 || req->window[i].len % 8)
			return -EINVAL;
		req->window[i].sum = 0;
	}
	dmabuf = dma_buf_get(req->fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	req->size = dmabuf->size;
	ret = -EINVAL;
	if (req->marker_offset >= dmabuf->size)
		goto put;
	for (i = 0; i < req->windows; i++)
		if (req->window[i].offset > dmabuf->size ||
		    req->window[i].len > dmabuf->size - req->window[i].offset)
			goto put;
	att = dma_buf_attach(dmabuf, dev);
	if (IS_ERR(att)) {
		ret = PTR_ERR(att);
		goto put;
	}
	sgt = dma_buf_map_attachment_unlocked(att, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
		goto detach;
	}
	req->orig_nents = sgt->orig_nents;
	req->nents = sgt->nents;
	req->length = req->dma_length = req->max_entry = 0;
	req->gaps = req->unaligned = 0;
	req->dma_addr = sg_dma_address(sgt->sgl);
	req->phys = sg_phys(sgt->sgl);
	for_each_sgtable_dma_sg(sgt, sg, i) {
		if (prev && sg_dma_address(prev) + sg_dma_len(prev) != sg_dma_address(sg))
			req->gaps++;
		req->dma_length += sg_dma_len(sg);
		prev = sg;
	}
	prev = NULL;
	ret = dma_buf_begin_cpu_access(dmabuf, DMA_BIDIRECTIONAL);
	if (ret)
		goto unmap;
	for_each_sgtable_sg(sgt, sg, i) {
		if (prev && sg_phys(prev) + prev->length != sg_phys(sg))
			req->gaps++;
		if (sg->offset || (!sg_is_last(sg) && sg->length % PAGE_SIZE))
			req->unaligned++;
		req->max_entry = max_t(u64, req->max_entry, sg->length);
		walk_entry(req, sg, start);
		start += sg->length;
		req->length += sg->length;
		prev = sg;
	}
	ret = dma_buf_end_cpu_access(dmabuf, DMA_BIDIRECTIONAL);
unmap:
	dma_buf_unmap_attachment_unlocked(att, sgt, DMA_BIDIRECTIONAL);
detach:
	dma_buf_detach(dmabuf, att);
put:
	dma_buf_put(dmabuf);
	return ret;
}

static long importer_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct cmabuf_import req;
	int ret;

	if (cmd == IMPORTER_IOC_HOLD)
		return hold((int)arg);
	if (cmd == IMPORTER_IOC_RELEASE) {
		release();
		return 0;
	}
	if (cmd == IMPORTER_IOC_MAP_DIRS) {
		struct cmabuf_map_dirs dirs;

		if (copy_from_user(&dirs, (void __user *)arg, sizeof(dirs)))
			return -EFAULT;
		return map_dirs(&dirs);
	}
	if (cmd == IMPORTER_IOC_WALK) {
		struct cmabuf_walk *w = kmalloc(sizeof(*w), GFP_KERNEL);

		if (!w)
			return -ENOMEM;
		ret = copy_from_user(w, (void __user *)arg, sizeof(*w)) ? -EFAULT : walk(w);
		if (!ret && copy_to_user((void __user *)arg, w, sizeof(*w)))
			ret = -EFAULT;
		kfree(w);
		return ret;
	}
	if (cmd != IMPORTER_IOC_CHECK && cmd != IMPORTER_IOC_DMA)
		return -ENOTTY;
	if (copy_from_user(&req, (void __user *)arg, sizeof(req)))
		return -EFAULT;
	ret = check(&req, cmd == IMPORTER_IOC_CHECK);
	if (ret)
		return ret;
	return copy_to_user((void __user *)arg, &req, sizeof(req)) ? -EFAULT : 0;
}

static const struct file_operations importer_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = importer_ioctl,
};

static struct miscdevice importer = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "cmabuf_test_importer",
	.fops = &importer_fops,
};

static int __init importer_init(void)
{
	int ret = misc_register(&importer);

	if (ret)
		return ret;
	/* A device that can reach all of memory, as a DMA master without an IOMMU. */
	ret = dma_coerce_mask_and_coherent(importer.this_device, DMA_BIT_MASK(64));
	if (ret)
		misc_deregister(&importer);
	return ret;
}

static void __exit importer_exit(void)
{
	release();
	misc_deregister(&importer);
}

module_init(importer_init);
module_exit(importer_exit);
MODULE_DESCRIPTION("cmabuf kselftest dma-buf importer");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS("DMA_BUF");
