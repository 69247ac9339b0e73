/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C accessors that cmabuf's Rust code calls: static inline helpers, macros and struct
 * fields that the kernel's Rust bindings do not reach. Policy lives in Rust; these
 * functions only translate. Declared for Rust in rust/ffi/sys/generated.rs, which
 * scripts/gen-bindings.sh generates from this header (rust/ffi/sys.rs includes it).
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
struct scatterlist;
struct sg_table;
struct vm_area_struct;
struct vm_fault;
struct vm_operations_struct;

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

/* Cache maintenance on the module's own device (not DMA-coherent, 64-bit mask) */
struct device *cmabuf_dcache_dev_create(void);
void cmabuf_dcache_dev_destroy(void);
struct device *cmabuf_dcache_dev(void);
u64 cmabuf_dma_get_mask(struct device *dev);
bool cmabuf_dev_dma_coherent(struct device *dev);
dma_addr_t cmabuf_dma_map_nosync(struct device *dev, struct page *page, size_t size, int dir);
bool cmabuf_dma_mapping_error(struct device *dev, dma_addr_t addr);
void cmabuf_dma_unmap_nosync(struct device *dev, dma_addr_t addr, size_t size, int dir);
void cmabuf_dma_sync_for_cpu(struct device *dev, dma_addr_t addr, size_t size, int dir);
void cmabuf_dma_sync_for_device(struct device *dev, dma_addr_t addr, size_t size, int dir);

/* User (mmap) and kernel (vmap) mappings in a cache mode (uapi CMABUF_CACHED, ...) */
void cmabuf_vma_prepare(struct vm_area_struct *vma, unsigned int cache,
			const struct vm_operations_struct *ops, void *priv);
void *cmabuf_vmf_info(const struct vm_fault *vmf, unsigned long *pgoff);
unsigned int cmabuf_vmf_set_page(struct vm_fault *vmf, struct page *page);
void cmabuf_vma_span(const struct vm_area_struct *vma, unsigned long *start,
		     unsigned long *pages, unsigned long *pgoff);
void *cmabuf_vmap(struct page **pages, unsigned int count, unsigned int cache);
void cmabuf_vunmap(const void *addr);
/* Memory types of page protections (cmabuf_prot_memtype) */
#define CMABUF_MT_OTHER 0
#define CMABUF_MT_NORMAL 1	/* cacheable */
#define CMABUF_MT_NORMAL_NC 2	/* Normal non-cacheable (ARM: bufferable) */
#define CMABUF_MT_DEVICE 3	/* Device or strongly ordered: MMIO only */
int cmabuf_prot_memtype(unsigned int cache, bool kernel);
void cmabuf_iosys_map_set_vaddr(struct iosys_map *map, void *vaddr);
void *cmabuf_iosys_map_vaddr(const struct iosys_map *map);

/* dma-buf export and importers' scatter-lists */
struct dma_buf *cmabuf_dma_buf_export(const struct dma_buf_ops *ops, size_t size, int flags,
				      void *priv);
int cmabuf_sgt_alloc(struct sg_table *sgt, unsigned int nents);
struct scatterlist *cmabuf_sgt_first(struct sg_table *sgt);
struct scatterlist *cmabuf_sg_set_next(struct scatterlist *sg, struct page *page,
				       unsigned int len);
void cmabuf_sgt_unmap(struct device *dev, struct sg_table *sgt, int dir);
void cmabuf_sgt_sync_for_cpu(struct device *dev, struct sg_table *sgt, int dir);
void cmabuf_sgt_sync_for_device(struct device *dev, struct sg_table *sgt, int dir);

/* The rate limit of the module's kernel log lines */
void cmabuf_ratelimit_init(struct ratelimit_state *rs);

/* The warm cache's background work and shrinker */
struct shrinker;
struct shrink_control;
struct shrinker *cmabuf_shrinker_register(const char *name, void *data,
					  unsigned long (*count)(struct shrinker *, struct shrink_control *),
					  unsigned long (*scan)(struct shrinker *, struct shrink_control *));
struct delayed_work;
struct work_struct;
void cmabuf_init_delayed_work(struct delayed_work *dwork, void (*fn)(struct work_struct *));
struct workqueue_struct *cmabuf_alloc_unbound_workqueue(const char *name);
void cmabuf_schedule_delayed_work(struct delayed_work *dwork, unsigned int ms);

/* Whether another dma-heap has this name (seen from a device of ours: sysfs) */
bool cmabuf_dma_heap_exists(struct device *dev, const char *name);

/* The module's own reference count (a dma-heap cannot be removed: it pins the module) */
void cmabuf_module_get(void);
void cmabuf_module_put(void);

/* Fault injection: debugfs cmabuf/fail_alloc (stubs without FAULT_INJECTION_DEBUG_FS) */
void cmabuf_fail_alloc_create(void);
void cmabuf_fail_alloc_remove(void);
bool cmabuf_fail_alloc(size_t size);

/* For reports: the current task's name, a page's user mappings */
void cmabuf_current_comm(char *buf, size_t len);
int cmabuf_pfn_mapcount(unsigned long pfn);

/* Processes: a thread group's struct pid, counted */
struct pid;
struct pid *cmabuf_current_tgid_pid(void);
void cmabuf_get_pid(struct pid *pid);
void cmabuf_put_pid(struct pid *pid);
int cmabuf_pid_nr(struct pid *pid);
bool cmabuf_pid_alive(struct pid *pid);
void cmabuf_pid_comm(struct pid *pid, char *buf, size_t len);

/* A client process named by a pidfd (CMABUF_IOC_ALLOC with CMABUF_ALLOC_FOR_CLIENT) */
enum cmabuf_pidfd {
	CMABUF_PIDFD_OK,
	CMABUF_PIDFD_NOT_OPEN,
	CMABUF_PIDFD_NOT_PIDFD,
	CMABUF_PIDFD_EXITED,
};

struct cmabuf_pidfd_client {
	struct pid *tgid;
	bool may_signal;
};

enum cmabuf_pidfd cmabuf_pidfd_client(int fd, struct cmabuf_pidfd_client *client);

/* dmem cgroup controller (stubs from linux/cgroup_dmem.h when it is off) */
struct cma;
struct dmem_cgroup_region *cmabuf_dmem_region(struct cma *cma, u64 size, bool *owned);
void cmabuf_dmem_unregister(struct dmem_cgroup_region *region);
struct pid;
int cmabuf_dmem_try_charge(struct dmem_cgroup_region *region, u64 size, struct pid *owner,
			   struct dmem_cgroup_pool_state **pool);
void cmabuf_dmem_uncharge(struct dmem_cgroup_pool_state *pool, u64 size);

/* Memory-management statistics (debugfs) */

#define CMABUF_ZONE_ORDERS 16
#define CMABUF_ZONES 8

/* One populated zone, as /proc/zoneinfo shows it (counts in pages). */
struct cmabuf_zone_info {
	int nid;
	const char *name;
	unsigned long managed;
	unsigned long present;
	unsigned long spanned;
	unsigned long start_pfn;
	unsigned long free;
	unsigned long free_cma;
	unsigned long wmark_min;
	unsigned long wmark_low;
	unsigned long wmark_high;
	unsigned long boost;
	unsigned int nr_zones;
	unsigned int nr_orders;
	unsigned long lowmem_reserve[CMABUF_ZONES];
	unsigned long free_blocks[CMABUF_ZONE_ORDERS];
};

int cmabuf_zone_info(unsigned int idx, struct cmabuf_zone_info *out);

/* The migration, compaction, CMA and OOM-kill event counters of /proc/vmstat. */
struct cmabuf_vm_events {
	unsigned long pgmigrate_success;
	unsigned long pgmigrate_fail;
	unsigned long compact_migrate_scanned;
	unsigned long compact_free_scanned;
	unsigned long compact_isolated;
	unsigned long compact_stall;
	unsigned long compact_fail;
	unsigned long compact_success;
	unsigned long cma_alloc_success;
	unsigned long cma_alloc_fail;
	unsigned long oom_kill;
};

void cmabuf_vm_events(struct cmabuf_vm_events *out);

/* Kinds of pages in a census (cmabuf_page_census). */
enum cmabuf_page_kind {
	CMABUF_PAGE_FREE,	/* in the buddy allocator */
	CMABUF_PAGE_MOVABLE,	/* on an LRU list or movable: migration can move it */
	CMABUF_PAGE_PINNED,	/* pinned for DMA or holding extra references */
	CMABUF_PAGE_UNMOVABLE,	/* slab or other kernel memory */
	CMABUF_PAGE_RESERVED,	/* PG_reserved */
	CMABUF_PAGE_OTHER,	/* none of these, or changing while looked at */
	CMABUF_PAGE_KINDS,
};

#define CMABUF_CENSUS_SAMPLES 8

/*
 * How many pages of each kind a census found, and the first few that are neither free
 * nor movable as samples: kind, PFN, page flags and reference count.
 */
struct cmabuf_census {
	unsigned long pages[CMABUF_PAGE_KINDS];
	unsigned int nr_samples;
	unsigned int sample_kind[CMABUF_CENSUS_SAMPLES];
	unsigned long sample_pfn[CMABUF_CENSUS_SAMPLES];
	unsigned long sample_flags[CMABUF_CENSUS_SAMPLES];
	unsigned long sample_refs[CMABUF_CENSUS_SAMPLES];
};

void cmabuf_page_census(unsigned long pfn, unsigned long count, struct cmabuf_census *out);

/* debugfs entries whose file operations (owner: this module) are defined in Rust */
struct dentry;
struct file_operations;
struct dentry *cmabuf_debugfs_create_dir(const char *name, struct dentry *parent);
struct dentry *cmabuf_debugfs_create_file(const char *name, umode_t mode, struct dentry *parent,
					  void *data, const struct file_operations *fops);
void cmabuf_debugfs_remove(struct dentry *dentry);

/* rust/ffi/anon_file.rs: a file with no inode of its own (reservation fds). */
struct file;
struct file *cmabuf_anon_inode_getfile(const char *name, const struct file_operations *fops,
				       void *priv, int flags);

#endif /* CMABUF_FFI_SHIM_H */
