/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C accessors that cmabuf's Rust code calls: static inline helpers, macros and struct
 * fields that the kernel's Rust bindings do not reach. Policy lives in Rust; these
 * functions only translate. Declared for Rust in rust/ffi/sys.rs.
 */
#ifndef CMABUF_FFI_SHIM_H
#define CMABUF_FFI_SHIM_H

#include <linux/types.h>

struct cma;
struct device;
struct device_node;

int cmabuf_region_count(struct device *dev);
struct device_node *cmabuf_region_node(struct device *dev, int idx);
bool cmabuf_node_has_property(const struct device_node *np, const char *name);
const char *cmabuf_node_full_name(const struct device_node *np);
int cmabuf_rmem_info(struct device_node *np, const char **name, u64 *base, u64 *size);
struct cma *cmabuf_dev_cma_area(struct device *dev);

#endif /* CMABUF_FFI_SHIM_H */
