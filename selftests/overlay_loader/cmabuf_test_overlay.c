// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only: /dev/cmabuf_test_overlay applies device-tree overlays at run time with
 * of_overlay_fdt_apply() and removes them with of_overlay_remove(), so the selftests
 * can watch cmabuf bind a consumer node that appears on a running system and unbind
 * when it goes. The loader removes only overlays it applied itself, and at unload all
 * of those still applied, newest first.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/of.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "cmabuf_test_overlay.h"

#define MAX_BLOB SZ_1M

/* One overlay changeset applied through this loader. */
struct applied_overlay {
	struct list_head node;
	int id;
};

/* Newest first: the order in which the OF core lets them go. */
static LIST_HEAD(applied);
static DEFINE_MUTEX(applied_lock);

static long overlay_apply(struct cmabuf_overlay __user *arg)
{
	struct applied_overlay *ov;
	struct cmabuf_overlay req;
	void *blob;
	int id = 0, ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (!req.size || req.size > MAX_BLOB) {
		pr_err("overlay size %u: must be 1 byte to 1 MiB\n", req.size);
		return -EINVAL;
	}
	ov = kzalloc(sizeof(*ov), GFP_KERNEL);
	if (!ov)
		return -ENOMEM;
	blob = memdup_user(u64_to_user_ptr(req.blob), req.size);
	if (IS_ERR(blob)) {
		kfree(ov);
		return PTR_ERR(blob);
	}
	/* Held across the apply so that the list keeps the order of application. */
	mutex_lock(&applied_lock);
	ret = of_overlay_fdt_apply(blob, req.size, &id, NULL);
	kfree(blob);
	if (ret) {
		pr_err("applying the overlay failed: %d (the OF lines above say why)\n", ret);
		/* A partly applied changeset must still be removed. */
		if (id)
			of_overlay_remove(&id);
		goto err;
	}
	if (put_user(id, &arg->id)) {
		of_overlay_remove(&id);
		ret = -EFAULT;
		goto err;
	}
	ov->id = id;
	list_add(&ov->node, &applied);
	mutex_unlock(&applied_lock);
	return 0;

err:
	mutex_unlock(&applied_lock);
	kfree(ov);
	return ret;
}

static long overlay_remove(int id)
{
	struct applied_overlay *ov;
	int ret = -ENOENT, ovcs_id = id;

	mutex_lock(&applied_lock);
	list_for_each_entry(ov, &applied, node) {
		if (ov->id != id)
			continue;
		ret = of_overlay_remove(&ovcs_id);
		if (ret) {
			pr_err("removing overlay %d failed: %d (remove the overlays applied after it first)\n",
			       id, ret);
		} else {
			list_del(&ov->node);
			kfree(ov);
		}
		break;
	}
	mutex_unlock(&applied_lock);
	if (ret == -ENOENT)
		pr_err("no overlay %d was applied through this loader: pass an id OVERLAY_IOC_APPLY returned\n",
		       id);
	return ret;
}

static long overlay_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case OVERLAY_IOC_APPLY:
		return overlay_apply((struct cmabuf_overlay __user *)arg);
	case OVERLAY_IOC_REMOVE:
		return overlay_remove((int)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations overlay_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = overlay_ioctl,
};

static struct miscdevice overlay_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "cmabuf_test_overlay",
	.fops = &overlay_fops,
	.mode = 0600,
};

static int __init overlay_init(void)
{
	return misc_register(&overlay_misc);
}

static void __exit overlay_exit(void)
{
	struct applied_overlay *ov, *next;

	misc_deregister(&overlay_misc);
	list_for_each_entry_safe(ov, next, &applied, node) {
		int id = ov->id;

		if (of_overlay_remove(&id))
			pr_err("overlay %d could not be removed at unload; it stays applied\n",
			       ov->id);
		list_del(&ov->node);
		kfree(ov);
	}
}

module_init(overlay_init);
module_exit(overlay_exit);
MODULE_DESCRIPTION("cmabuf tests: device-tree overlays applied at run time");
MODULE_LICENSE("GPL");
