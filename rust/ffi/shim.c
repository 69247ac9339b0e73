// SPDX-License-Identifier: GPL-2.0
/*
 * C accessors for cmabuf's Rust code; see shim.h. No policy here: every function is a
 * one-line translation of an inline helper or a struct field.
 */
#include <linux/device.h>
#include <linux/of.h>
#include <linux/of_reserved_mem.h>

#include "shim.h"

int cmabuf_region_count(struct device *dev)
{
	return of_count_phandle_with_args(dev->of_node, "memory-region", NULL);
}

/* Returns the node with its refcount raised: the caller puts it with of_node_put(). */
struct device_node *cmabuf_region_node(struct device *dev, int idx)
{
	return of_parse_phandle(dev->of_node, "memory-region", idx);
}

bool cmabuf_node_has_property(const struct device_node *np, const char *name)
{
	return of_property_present(np, name);
}

const char *cmabuf_node_full_name(const struct device_node *np)
{
	return of_node_full_name(np);
}

int cmabuf_rmem_info(struct device_node *np, const char **name, u64 *base, u64 *size)
{
	struct reserved_mem *rmem = of_reserved_mem_lookup(np);

	if (!rmem)
		return -ENOENT;
	*name = rmem->name;
	*base = rmem->base;
	*size = rmem->size;
	return 0;
}

/* The device's own CMA area: unlike dev_get_cma_area() no fallback to the default. */
struct cma *cmabuf_dev_cma_area(struct device *dev)
{
#ifdef CONFIG_DMA_CMA
	return dev->cma_area;
#else
	return NULL;
#endif
}
