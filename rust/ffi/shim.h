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
struct dma_buf;
struct ratelimit_state;
struct dmem_cgroup_pool_state;
struct dmem_cgroup_region;
struct dma_buf_ops;
struct iosys_map;
struct page;
struct sg_table;
struct vm_area_struct;

int cmabuf_region_count(struct device *dev);
struct device_node *cmabuf_region_node(struct device *dev, int idx);
bool cmabuf_node_has_property(const struct device_node *np, const char *name);
const char *cmabuf_node_full_name(const struct device_node *np);
int cmabuf_rmem_info(struct device_node *np, const char **name, u64 *base, u64 *size);
struct cma *cmabuf_dev_cma_area(struct device *dev);
int cmabuf_set_dma_mask_all(struct device *dev);

/* Pages */
struct page *cmabuf_nth_page(struct page *page, unsigned long n);
unsigned long cmabuf_page_to_pfn(struct page *page);
unsigned long cmabuf_pages_referenced(struct page *page, unsigned long count);
int cmabuf_clear_pages(struct page *page, unsigned long count);
void cmabuf_clean_dcache(struct device *dev, struct page *page, size_t size);

/* Cache modes, as in include/uapi/linux/cmabuf.h */
void cmabuf_vma_prepare(struct vm_area_struct *vma, unsigned int cache);
void cmabuf_vma_span(const struct vm_area_struct *vma, unsigned long *start,
		     unsigned long *pages, unsigned long *pgoff);
void *cmabuf_vmap(struct page **pages, unsigned int count, unsigned int cache);
void cmabuf_vunmap(const void *addr);
void cmabuf_iosys_map_set_vaddr(struct iosys_map *map, void *vaddr);
void *cmabuf_iosys_map_vaddr(const struct iosys_map *map);

/* dma-buf export and importers' scatter-lists */
struct dma_buf *cmabuf_dma_buf_export(const struct dma_buf_ops *ops, size_t size, int flags,
				      void *priv);
int cmabuf_sgt_init(struct sg_table *sgt, struct page *page, size_t size);
void cmabuf_sgt_unmap(struct device *dev, struct sg_table *sgt, int dir);
void cmabuf_sgt_sync_for_cpu(struct device *dev, struct sg_table *sgt, int dir);
void cmabuf_sgt_sync_for_device(struct device *dev, struct sg_table *sgt, int dir);

void cmabuf_ratelimit_init(struct ratelimit_state *rs);

/* dmem cgroup controller (stubs from linux/cgroup_dmem.h when it is off) */
struct dmem_cgroup_region *cmabuf_dmem_register(u64 size, const char *name);
void cmabuf_dmem_unregister(struct dmem_cgroup_region *region);
int cmabuf_dmem_try_charge(struct dmem_cgroup_region *region, u64 size,
			   struct dmem_cgroup_pool_state **pool);
void cmabuf_dmem_uncharge(struct dmem_cgroup_pool_state *pool, u64 size);

#endif /* CMABUF_FFI_SHIM_H */
