// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only: /dev/cmabuf_test_overlay applies device-tree overlays at run time with
 * of_overlay_fdt_apply() and removes them with of_overlay_remove(), so the selftests
 * can watch cmabuf bind a consumer node that appears on a running system and unbind
 * when it goes. Overlays still applied at unload are removed.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "cmabuf_test_overlay.h"

#define MAX_BLOB (1 << 20)

static long overlay_apply(void __user *arg)
{
	struct cmabuf_overlay req;
	void *blob;
	int id = 0, ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (!req.size || req.size > MAX_BLOB) {
		pr_err("cmabuf_test_overlay: overlay size %u: must be 1 byte to 1 MiB\n", req.size);
		return -EINVAL;
	}
	blob = memdup_user(u64_to_user_ptr(req.blob), req.size);
	if (IS_ERR(blob))
		return PTR_ERR(blob);
	ret = of_overlay_fdt_apply(blob, req.size, &id, NULL);
	kfree(blob);
	if (ret) {
		pr_err("cmabuf_test_overlay: applying the overlay failed: %d\n", ret);
		/* A partly applied changeset must still be removed. */
		if (id)
			of_overlay_remove(&id);
		return ret;
	}
	req.id = id;
	if (copy_to_user(arg, &req, sizeof(req))) {
		of_overlay_remove(&id);
		return -EFAULT;
	}
	return 0;
}

static long overlay_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	int id;

	switch (cmd) {
	case OVERLAY_IOC_APPLY:
		return overlay_apply((void __user *)arg);
	case OVERLAY_IOC_REMOVE:
		id = (int)arg;
		return of_overlay_remove(&id);
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
	misc_deregister(&overlay_misc);
	of_overlay_remove_all();
}

module_init(overlay_init);
module_exit(overlay_exit);
MODULE_DESCRIPTION("cmabuf tests: device-tree overlays applied at run time");
MODULE_LICENSE("GPL");
