// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only: registers a platform driver named "cmabuf" that matches nothing. While it
 * is loaded, cmabuf's own driver registration, the last step of cmabuf's module init,
 * fails with EBUSY ("Driver 'cmabuf' is already registered"), after the default-area
 * pool (default_pool=) is already up: heap_test checks that such a failed load leaves
 * no dma-heap behind.
 */
#include <linux/module.h>
#include <linux/platform_device.h>

static int blocker_probe(struct platform_device *pdev)
{
	return -ENODEV;
}

static struct platform_driver blocker_driver = {
	.probe = blocker_probe,
	.driver = {
		.name = "cmabuf",
		.suppress_bind_attrs = true,
	},
};
module_platform_driver(blocker_driver);

MODULE_DESCRIPTION("cmabuf test: a platform driver that takes cmabuf's driver name");
MODULE_LICENSE("GPL");
