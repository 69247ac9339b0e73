// SPDX-License-Identifier: GPL-2.0
/*
 * C accessors for cmabuf's Rust code; see shim.h. No policy here: most functions are a
 * one-line translation of an inline helper, a macro or a struct field; the longer ones
 * only gather what the kernel keeps (zones, VM events, a page census) or do what only C
 * can (clearing highmem pages, the fault-injection attribute, page protections).
 */
#include <linux/anon_inodes.h>
#include <linux/cgroup.h>
#include <linux/cgroup_dmem.h>
#include <linux/completion.h>
#include <linux/cma.h>
#include <linux/cpu.h>
#include <linux/cred.h>
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/device/faux.h>
#include <linux/dma-buf.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/fault-inject.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/iosys-map.h>
#include <linux/kernfs.h>
#include <linux/kobject.h>
#include <linux/kthread.h>
#include <linux/kcsan-checks.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/module.h>
#include <linux/page-flags.h>
#include <linux/pid.h>
#include <linux/vmstat.h>
#include <linux/of.h>
#include <linux/of_reserved_mem.h>
#include <linux/ratelimit.h>
#include <linux/scatterlist.h>
#include <linux/shrinker.h>
#include <linux/sched/signal.h>
#include <linux/vmalloc.h>
#include <linux/version.h>
#include <linux/workqueue.h>
#include <uapi/linux/cmabuf.h>

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

/* Lets a device without DMA setup of its own (a faux device) map all of memory. */
int cmabuf_set_dma_mask_all(struct device *dev)
{
	return dma_coerce_mask_and_coherent(dev, DMA_BIT_MASK(64));
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

struct page *cmabuf_nth_page(struct page *page, unsigned long n)
{
	return pfn_to_page(page_to_pfn(page) + n);
}

unsigned long cmabuf_page_to_pfn(struct page *page)
{
	return page_to_pfn(page);
}

/* How many of count pages hold a reference besides the allocation's own. */
unsigned long cmabuf_pages_referenced(struct page *page, unsigned long count)
{
	unsigned long i, busy = 0;

	for (i = 0; i < count; i++)
		busy += page_ref_count(cmabuf_nth_page(page, i)) != 1;
	return busy;
}

/* Zeroes count pages from page on; stops early (-EINTR) if the caller is being killed. */
int cmabuf_clear_pages(struct page *page, unsigned long count)
{
	unsigned long i;

	for (i = 0; i < count; i++) {
		clear_highpage(cmabuf_nth_page(page, i));
		if ((i & 255) == 255) {
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
		}
	}
	return 0;
}

/*
 * The module's cache-maintenance device (rust/ffi/dcache.rs): a faux device of its own,
 * not DMA-coherent, whose mask the Rust side widens to all of memory.
 */
static struct faux_device *cmabuf_dcache_fdev;

struct device *cmabuf_dcache_dev_create(void)
{
	cmabuf_dcache_fdev = faux_device_create("cmabuf-dcache", NULL, NULL);
	return cmabuf_dcache_fdev ? &cmabuf_dcache_fdev->dev : NULL;
}

void cmabuf_dcache_dev_destroy(void)
{
	faux_device_destroy(cmabuf_dcache_fdev);
	cmabuf_dcache_fdev = NULL;
}

struct device *cmabuf_dcache_dev(void)
{
	return cmabuf_dcache_fdev ? &cmabuf_dcache_fdev->dev : NULL;
}

u64 cmabuf_dma_get_mask(struct device *dev)
{
	return dma_get_mask(dev);
}

bool cmabuf_dev_dma_coherent(struct device *dev)
{
	return dev_is_dma_coherent(dev);
}

/* A streaming mapping without cache maintenance: the caller syncs what it needs. */
dma_addr_t cmabuf_dma_map_nosync(struct device *dev, struct page *page, size_t size, int dir)
{
	return dma_map_page_attrs(dev, page, 0, size, dir, DMA_ATTR_SKIP_CPU_SYNC);
}

bool cmabuf_dma_mapping_error(struct device *dev, dma_addr_t addr)
{
	return dma_mapping_error(dev, addr);
}

void cmabuf_dma_unmap_nosync(struct device *dev, dma_addr_t addr, size_t size, int dir)
{
	dma_unmap_page_attrs(dev, addr, size, dir, DMA_ATTR_SKIP_CPU_SYNC);
}

void cmabuf_dma_sync_for_cpu(struct device *dev, dma_addr_t addr, size_t size, int dir)
{
	dma_sync_single_for_cpu(dev, addr, size, dir);
}

void cmabuf_dma_sync_for_device(struct device *dev, dma_addr_t addr, size_t size, int dir)
{
	dma_sync_single_for_device(dev, addr, size, dir);
}

static pgprot_t cmabuf_prot(pgprot_t prot, unsigned int cache)
{
	switch (cache) {
	case CMABUF_WRITECOMBINE:
		return pgprot_writecombine(prot);
	case CMABUF_UNCACHED:
		/*
		 * RAM as the DMA API maps it for non-coherent devices: Normal non-cacheable
		 * (arm64; ARM: bufferable), never Device memory (pgprot_noncached), on which
		 * memset (DC ZVA) and unaligned accesses fault.
		 */
#if defined(pgprot_dmacoherent) && !defined(CONFIG_X86)
		return pgprot_dmacoherent(prot);
#else
		/*
		 * x86 (always DMA-coherent) gets the generic pgprot_dmacoherent, which is
		 * pgprot_noncached: UC-, strongly ordered. Its Normal non-cacheable RAM is
		 * write-combine.
		 */
		return pgprot_writecombine(prot);
#endif
	default:
		return prot;
	}
}

/*
 * The memory type a page protection maps with, as CMABUF_MT_* (shim.h): arm64's
 * MAIR attribute index, 32-bit ARM's L_PTE_MT_* (TEX/C/B) memory type, x86's PAT
 * cache mode.
 */
static int cmabuf_memtype(pgprot_t prot)
{
#if defined(CONFIG_ARM64)
	switch (pgprot_val(prot) & PTE_ATTRINDX_MASK) {
	case PTE_ATTRINDX(MT_NORMAL):
	case PTE_ATTRINDX(MT_NORMAL_TAGGED):
		return CMABUF_MT_NORMAL;
	case PTE_ATTRINDX(MT_NORMAL_NC):
		return CMABUF_MT_NORMAL_NC;
	case PTE_ATTRINDX(MT_DEVICE_nGnRnE):
	case PTE_ATTRINDX(MT_DEVICE_nGnRE):
		return CMABUF_MT_DEVICE;
	}
#elif defined(CONFIG_ARM)
	pteval_t mt = pgprot_val(prot) & L_PTE_MT_MASK;

	if (mt == L_PTE_MT_WRITEBACK || mt == L_PTE_MT_WRITEALLOC || mt == L_PTE_MT_WRITETHROUGH)
		return CMABUF_MT_NORMAL;
	if (mt == L_PTE_MT_BUFFERABLE)
		return CMABUF_MT_NORMAL_NC;
	/* Strongly ordered (L_PTE_MT_UNCACHED) behaves as Device memory, and stricter. */
	if (mt == L_PTE_MT_UNCACHED || mt == L_PTE_MT_DEV_SHARED || mt == L_PTE_MT_DEV_NONSHARED)
		return CMABUF_MT_DEVICE;
#elif defined(CONFIG_X86)
	/*
	 * The pte's PAT bits select the memory type. pgprot2cachemode() is not exported;
	 * cachemode2protval() is, and gives the bits each cache mode maps with. Write-combine
	 * is x86's uncached RAM that merges writes (ARM's Normal non-cacheable); UC and
	 * UC- are strongly ordered, Device memory.
	 */
	pgprotval_t pcm = pgprot_val(prot) & _PAGE_CACHE_MASK;

	if (pcm == cachemode2protval(_PAGE_CACHE_MODE_WB))
		return CMABUF_MT_NORMAL;
	if (pcm == cachemode2protval(_PAGE_CACHE_MODE_WC))
		return CMABUF_MT_NORMAL_NC;
	if (pcm == cachemode2protval(_PAGE_CACHE_MODE_UC_MINUS) ||
	    pcm == cachemode2protval(_PAGE_CACHE_MODE_UC))
		return CMABUF_MT_DEVICE;
#endif
	return CMABUF_MT_OTHER;
}

/* The memory type cmabuf maps a buffer of cache mode cache with: vmap or user mmap. */
int cmabuf_prot_memtype(unsigned int cache, bool kernel)
{
	return cmabuf_memtype(cmabuf_prot(kernel ? PAGE_KERNEL :
					  vm_get_page_prot(VM_READ | VM_WRITE | VM_SHARED), cache));
}

/*
 * Sets up a user mapping of a buffer: page protection by cache mode, fixed size, the
 * operations that fault pages back in and their private data.
 */
void cmabuf_vma_prepare(struct vm_area_struct *vma, unsigned int cache,
			const struct vm_operations_struct *ops, void *priv)
{
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_page_prot = cmabuf_prot(vm_get_page_prot(vma->vm_flags), cache);
	vma->vm_ops = ops;
	vma->vm_private_data = priv;
}

/* A fault's VMA private data; *pgoff: the faulting page's offset in the file. */
void *cmabuf_vmf_info(const struct vm_fault *vmf, unsigned long *pgoff)
{
	*pgoff = vmf->pgoff;
	return vmf->vma->vm_private_data;
}

/* Resolves a fault with page, referenced for the page table; no page: SIGBUS. */
unsigned int cmabuf_vmf_set_page(struct vm_fault *vmf, struct page *page)
{
	if (!page)
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

void cmabuf_vma_span(const struct vm_area_struct *vma, unsigned long *start,
		     unsigned long *pages, unsigned long *pgoff)
{
	*start = vma->vm_start;
	*pages = vma_pages(vma);
	*pgoff = vma->vm_pgoff;
}

void *cmabuf_vmap(struct page **pages, unsigned int count, unsigned int cache)
{
	return vmap(pages, count, VM_MAP, cmabuf_prot(PAGE_KERNEL, cache));
}

void cmabuf_vunmap(const void *addr)
{
	vunmap(addr);
}

void cmabuf_iosys_map_set_vaddr(struct iosys_map *map, void *vaddr)
{
	iosys_map_set_vaddr(map, vaddr);
}

void *cmabuf_iosys_map_vaddr(const struct iosys_map *map)
{
	return map->is_iomem ? NULL : map->vaddr;
}

/* DEFINE_DMA_BUF_EXPORT_INFO: the exporter's name and owner come from this module. */
struct dma_buf *cmabuf_dma_buf_export(const struct dma_buf_ops *ops, size_t size, int flags,
				      void *priv)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);

	exp_info.ops = ops;
	exp_info.size = size;
	exp_info.flags = flags;
	exp_info.priv = priv;
	return dma_buf_export(&exp_info);
}

int cmabuf_sgt_alloc(struct sg_table *sgt, unsigned int nents)
{
	return sg_alloc_table(sgt, nents, GFP_KERNEL);
}

struct scatterlist *cmabuf_sgt_first(struct sg_table *sgt)
{
	return sgt->sgl;
}

/* Sets entry sg to len bytes from page on; returns the next entry (NULL after the last). */
struct scatterlist *cmabuf_sg_set_next(struct scatterlist *sg, struct page *page,
				       unsigned int len)
{
	sg_set_page(sg, page, len, 0);
	return sg_next(sg);
}

void cmabuf_sgt_unmap(struct device *dev, struct sg_table *sgt, int dir)
{
	dma_unmap_sgtable(dev, sgt, dir, 0);
}

void cmabuf_sgt_sync_for_cpu(struct device *dev, struct sg_table *sgt, int dir)
{
	dma_sync_sgtable_for_cpu(dev, sgt, dir);
}

void cmabuf_sgt_sync_for_device(struct device *dev, struct sg_table *sgt, int dir)
{
	dma_sync_sgtable_for_device(dev, sgt, dir);
}

/*
 * The int dir of the helpers above is an enum dma_data_direction: rust/ffi/dcache.rs
 * names its values, rust/ffi/dma_buf.rs passes the kernel's enum as an int.
 */
static_assert(DMA_BIDIRECTIONAL == 0 && DMA_TO_DEVICE == 1 && DMA_FROM_DEVICE == 2);

/*
 * The dmem region of CMA area @cma: "cma/<area name>", the name the upstream proposal
 * for charging CMA allocations gives each area's region ("cma: Register dmem region for
 * each cma region", Maxime Ripard, 2025). A kernel with that series registers the
 * region itself: then it is shared (*owned = false) and charges to cmabuf's pool and to
 * the kernel's CMA heap of that area add up in one place. Otherwise cmabuf registers
 * it (*owned = true; capacity @size). NULL when the controller is off, or an error
 * pointer.
 */
struct dmem_cgroup_region *cmabuf_dmem_region(struct cma *cma, u64 size, bool *owned)
{
#ifdef CMABUF_KERNEL_CMA_DMEM
	/* Untested at run time: no kernel this project boots has the series yet. */
	*owned = false;
	return cma_get_dmem_cgroup_region(cma);
#else
	const char *name = cma_get_name(cma);

	*owned = true;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 3, 0)
	{
		/* 7.3 takes the size (and optional reclaim operations) in a struct. */
		const struct dmem_cgroup_init init = { .size = size };

		return dmem_cgroup_register_region(&init, "cma/%s", name);
	}
#else
	return dmem_cgroup_register_region(size, "cma/%s", name);
#endif
#endif
}

void cmabuf_dmem_unregister(struct dmem_cgroup_region *region)
{
	dmem_cgroup_unregister_region(region);
}

#if IS_ENABLED(CONFIG_CGROUP_DMEM)
/* A charge made in the cgroups of another process (cmabuf_dmem_try_charge). */
struct cmabuf_dmem_charge_for {
	struct task_struct *owner;
	struct dmem_cgroup_region *region;
	u64 size;
	struct dmem_cgroup_pool_state *pool;
	int ret;
	struct completion done;
};

/*
 * A kernel thread of its own, moved into the owner's cgroups, charges there: the dmem
 * core charges only the current task's cgroup (dmem_cgroup_try_charge()). It is what
 * vhost did for its workers (cgroup_attach_task_all()). The thread ends at once, so it
 * keeps no cgroup busy; kthread_complete_and_exit() wakes the caller and ends it
 * without returning into module code that may be unloaded by then.
 */
static int cmabuf_dmem_charge_thread(void *data)
{
	struct cmabuf_dmem_charge_for *c = data;

	c->ret = cgroup_attach_task_all(c->owner, current);
	if (!c->ret)
		c->ret = dmem_cgroup_try_charge(c->region, c->size, &c->pool, NULL);
	kthread_complete_and_exit(&c->done, 0);
}

/* Whether @task's dmem cgroup is the current task's. */
static bool cmabuf_same_dmem_cgroup(struct task_struct *task)
{
	struct cgroup_subsys_state *mine = task_get_css(current, dmem_cgrp_id);
	struct cgroup_subsys_state *theirs = task_get_css(task, dmem_cgrp_id);
	bool same = mine == theirs;

	css_put(mine);
	css_put(theirs);
	return same;
}
#endif

/*
 * Charges the cgroup of process @owner (NULL or the caller: the current task's);
 * -EAGAIN when a dmem.max is reached, -ESRCH when @owner has no task left. Another
 * process's cgroup costs a kernel thread and a cgroup migration (an RCU grace period),
 * and only when it is another dmem cgroup than the caller's.
 */
int cmabuf_dmem_try_charge(struct dmem_cgroup_region *region, u64 size, struct pid *owner,
			   struct dmem_cgroup_pool_state **pool)
{
#if IS_ENABLED(CONFIG_CGROUP_DMEM)
	struct cmabuf_dmem_charge_for c = { .region = region, .size = size };
	struct task_struct *thread;

	if (!owner || owner == task_tgid(current))
		return dmem_cgroup_try_charge(region, size, pool, NULL);
	c.owner = get_pid_task(owner, PIDTYPE_TGID);
	if (!c.owner)
		return -ESRCH;
	if (cmabuf_same_dmem_cgroup(c.owner)) {
		put_task_struct(c.owner);
		return dmem_cgroup_try_charge(region, size, pool, NULL);
	}
	init_completion(&c.done);
	thread = kthread_run(cmabuf_dmem_charge_thread, &c, "cmabuf-charge");
	if (IS_ERR(thread)) {
		put_task_struct(c.owner);
		return PTR_ERR(thread);
	}
	wait_for_completion(&c.done);
	put_task_struct(c.owner);
	*pool = c.pool;
	return c.ret;
#else
	return dmem_cgroup_try_charge(region, size, pool, NULL);
#endif
}

void cmabuf_dmem_uncharge(struct dmem_cgroup_pool_state *pool, u64 size)
{
	dmem_cgroup_uncharge(pool, size);
}

/*
 * Whether a dma-heap named @name exists: /sys/devices/virtual/dma_heap/<name>, where the
 * dma-heap core puts every heap's device. 7.2 exports no lookup of heaps by name, and
 * dma_heap_add() finds a duplicate only after device_create() has failed with a stack
 * dump in the log. The sysfs tree is reached from @dev, a registered device: its
 * ancestors end at /sys/devices. Another driver adding that name concurrently is not
 * excluded; dma_heap_add() then still fails cleanly.
 */
bool cmabuf_dma_heap_exists(struct device *dev, const char *name)
{
	struct kobject *top = &dev->kobj;
	struct kernfs_node *virt, *heaps, *heap;

	while (top->parent)
		top = top->parent;
	if (!top->sd)
		return false;
	virt = kernfs_find_and_get(top->sd, "virtual");
	if (!virt)
		return false;
	heaps = kernfs_find_and_get(virt, "dma_heap");
	kernfs_put(virt);
	if (!heaps)
		return false;
	heap = kernfs_find_and_get(heaps, name);
	kernfs_put(heaps);
	if (!heap)
		return false;
	kernfs_put(heap);
	return true;
}

/* The module's own reference count: a dma-heap cannot be removed, it pins the module. */
void cmabuf_module_get(void)
{
	__module_get(THIS_MODULE);
}

void cmabuf_module_put(void)
{
	module_put(THIS_MODULE);
}

/* A shrinker named "cmabuf-<name>" with the given callbacks, registered; or NULL. */
struct shrinker *cmabuf_shrinker_register(const char *name, void *data,
					  unsigned long (*count)(struct shrinker *, struct shrink_control *),
					  unsigned long (*scan)(struct shrinker *, struct shrink_control *))
{
	struct shrinker *shrinker = shrinker_alloc(0, "cmabuf-%s", name);

	if (!shrinker)
		return NULL;
	shrinker->count_objects = count;
	shrinker->scan_objects = scan;
	shrinker->private_data = data;
	shrinker_register(shrinker);
	return shrinker;
}

/* rust/ffi/work_queue.rs: alloc_workqueue() is a macro with a format. */
struct workqueue_struct *cmabuf_alloc_unbound_workqueue(const char *name)
{
	return alloc_workqueue("%s", WQ_UNBOUND, 0, name);
}

void cmabuf_init_delayed_work(struct delayed_work *dwork, void (*fn)(struct work_struct *))
{
	INIT_DELAYED_WORK(dwork, fn);
}

/* Unbound: zeroing a large cached buffer should not hold up a CPU's bound work. */
void cmabuf_schedule_delayed_work(struct delayed_work *dwork, unsigned int ms)
{
	mod_delayed_work(system_unbound_wq, dwork, msecs_to_jiffies(ms));
}

/* 10 messages per 5 seconds, the printk_ratelimit() default. */
void cmabuf_ratelimit_init(struct ratelimit_state *rs)
{
	ratelimit_state_init(rs, 5 * HZ, 10);
}

/* The idx-th populated zone of the online nodes, in node and zone order. */
int cmabuf_zone_info(unsigned int idx, struct cmabuf_zone_info *out)
{
	int nid, z, i;

	BUILD_BUG_ON(MAX_NR_ZONES > CMABUF_ZONES);
	BUILD_BUG_ON(NR_PAGE_ORDERS > CMABUF_ZONE_ORDERS);
	for_each_online_node(nid) {
		pg_data_t *pgdat = NODE_DATA(nid);

		for (z = 0; z < MAX_NR_ZONES; z++) {
			struct zone *zone = &pgdat->node_zones[z];

			if (!populated_zone(zone) || idx--)
				continue;
			memset(out, 0, sizeof(*out));
			out->nid = nid;
			out->name = zone->name;
			out->managed = zone_managed_pages(zone);
			out->present = zone->present_pages;
			out->spanned = zone->spanned_pages;
			out->start_pfn = zone->zone_start_pfn;
			out->free = zone_page_state(zone, NR_FREE_PAGES);
			out->free_cma = zone_page_state(zone, NR_FREE_CMA_PAGES);
			out->wmark_min = min_wmark_pages(zone);
			out->wmark_low = low_wmark_pages(zone);
			out->wmark_high = high_wmark_pages(zone);
			out->boost = zone->watermark_boost;
			out->nr_zones = MAX_NR_ZONES;
			out->nr_orders = NR_PAGE_ORDERS;
			for (i = 0; i < MAX_NR_ZONES; i++)
				out->lowmem_reserve[i] = zone->lowmem_reserve[i];
			for (i = 0; i < NR_PAGE_ORDERS; i++)
				out->free_blocks[i] = data_race(zone->free_area[i].nr_free);
			return 0;
		}
	}
	return -ENOENT;
}

void cmabuf_vm_events(struct cmabuf_vm_events *out)
{
	int cpu __maybe_unused;

	memset(out, 0, sizeof(*out));
#ifdef CONFIG_VM_EVENT_COUNTERS
	/*
	 * Only the counters above, summed over the online CPUs under the hotplug lock as
	 * all_vm_events() sums them all: each allocation through cma_alloc takes two
	 * snapshots, and all NR_VM_EVENT_ITEMS counters, in a buffer allocated for them,
	 * cost several times more (the pool's debugfs profile, vm_events_ns).
	 *
	 * The counters are per-CPU and bumped without locks (count_vm_event); their sum is
	 * approximate by design, as /proc/vmstat's is. KCSAN reported this read racing with
	 * those increments: a known benign race, not checked here.
	 */
	cpus_read_lock();
	kcsan_disable_current();
	for_each_online_cpu(cpu) {
		const unsigned long *ev = per_cpu(vm_event_states, cpu).event;

#define ADD_EVENT(field, item) (out->field += ev[item])
#ifdef CONFIG_MIGRATION
		ADD_EVENT(pgmigrate_success, PGMIGRATE_SUCCESS);
		ADD_EVENT(pgmigrate_fail, PGMIGRATE_FAIL);
#endif
#ifdef CONFIG_COMPACTION
		ADD_EVENT(compact_migrate_scanned, COMPACTMIGRATE_SCANNED);
		ADD_EVENT(compact_free_scanned, COMPACTFREE_SCANNED);
		ADD_EVENT(compact_isolated, COMPACTISOLATED);
		ADD_EVENT(compact_stall, COMPACTSTALL);
		ADD_EVENT(compact_fail, COMPACTFAIL);
		ADD_EVENT(compact_success, COMPACTSUCCESS);
#endif
#ifdef CONFIG_CMA
		ADD_EVENT(cma_alloc_success, CMA_ALLOC_SUCCESS);
		ADD_EVENT(cma_alloc_fail, CMA_ALLOC_FAIL);
#endif
		ADD_EVENT(oom_kill, OOM_KILL);
#undef ADD_EVENT
	}
	kcsan_enable_current();
	cpus_read_unlock();
#endif
}

static void census_sample(struct cmabuf_census *out, enum cmabuf_page_kind kind,
			  unsigned long pfn, struct page *page)
{
	unsigned int n = out->nr_samples;

	if (n >= CMABUF_CENSUS_SAMPLES)
		return;
	out->sample_kind[n] = kind;
	out->sample_pfn[n] = pfn;
	out->sample_flags[n] = page->flags.f;
	out->sample_refs[n] = page_ref_count(page);
	out->nr_samples = n + 1;
}

/*
 * An LRU folio: movable, or pinned if it holds more references than its mappings and
 * caches explain (migration needs exactly those). Counted only while holding a
 * reference of our own: without one the folio may be freed or split under us, and
 * folio_expected_ref_count() may WARN on what it has become.
 */
static enum cmabuf_page_kind census_lru_kind(struct page *page, struct folio *folio)
{
	enum cmabuf_page_kind kind = CMABUF_PAGE_OTHER;

	if (!folio_try_get(folio))
		return CMABUF_PAGE_OTHER;	/* freed meanwhile */
	if (page_folio(page) == folio && folio_test_lru(folio))
		kind = folio_maybe_dma_pinned(folio) ||
			folio_ref_count(folio) - 1 > folio_expected_ref_count(folio) ?
			CMABUF_PAGE_PINNED : CMABUF_PAGE_MOVABLE;
	folio_put(folio);
	return kind;
}

/*
 * Counts the pages of [pfn, pfn + count) by what they are now, as migration would find
 * them: free, movable, pinned (DMA-pinned, or more references than mappings and caches
 * explain, so migration must fail), unmovable kernel memory, reserved. Keeps the first
 * few pages that are not free or movable as samples. Racy by nature: a snapshot.
 */
void cmabuf_page_census(unsigned long pfn, unsigned long count, struct cmabuf_census *out)
{
	unsigned long end = pfn + count;

	while (pfn < end) {
		struct page *page = pfn_to_page(pfn);
		struct folio *folio = page_folio(page);
		enum cmabuf_page_kind kind;
		unsigned long n = 1;

		if (PageBuddy(page)) {
			kind = CMABUF_PAGE_FREE;
			n = 1UL << min_t(unsigned long, page_private(page), MAX_PAGE_ORDER);
		} else if (PageReserved(page)) {
			kind = CMABUF_PAGE_RESERVED;
		} else if (PageSlab(page)) {
			kind = CMABUF_PAGE_UNMOVABLE;
		} else if (page_has_movable_ops(page)) {
			kind = CMABUF_PAGE_MOVABLE;
		} else if (folio_test_lru(folio)) {
			kind = census_lru_kind(page, folio);
		} else if (page_ref_count(page)) {
			kind = CMABUF_PAGE_UNMOVABLE;
		} else {
			kind = CMABUF_PAGE_OTHER;
		}
		n = min(n, end - pfn);
		out->pages[kind] += n;
		if (kind != CMABUF_PAGE_FREE && kind != CMABUF_PAGE_MOVABLE)
			census_sample(out, kind, pfn, page);
		pfn += n;
	}
}

/* The current task's command name, NUL-terminated in buf. */
void cmabuf_current_comm(char *buf, size_t len)
{
	strscpy(buf, current->comm, len);
}

/* The current thread group's pid, with a reference (NULL if it is exiting). */
struct pid *cmabuf_current_tgid_pid(void)
{
	return get_task_pid(current, PIDTYPE_TGID);
}

void cmabuf_get_pid(struct pid *pid)
{
	get_pid(pid);
}

void cmabuf_put_pid(struct pid *pid)
{
	put_pid(pid);
}

/* The pid's number in the initial pid namespace. */
int cmabuf_pid_nr(struct pid *pid)
{
	return pid_nr(pid);
}

/* Whether a process (thread group) still has the pid: false once it has been reaped. */
bool cmabuf_pid_alive(struct pid *pid)
{
	return pid_has_task(pid, PIDTYPE_TGID);
}

/* The command name of the process with the pid, NUL-terminated in buf ("" if reaped). */
void cmabuf_pid_comm(struct pid *pid, char *buf, size_t len)
{
	struct task_struct *task = get_pid_task(pid, PIDTYPE_TGID);

	buf[0] = 0;
	if (task) {
		strscpy(buf, task->comm, len);
		put_task_struct(task);
	}
}

/*
 * The process a pidfd names, for CMABUF_IOC_ALLOC on behalf of a client. The kernel's
 * pidfd_get_pid() is not exported to modules, so this does what it does (kernel/pid.c)
 * with what is: a pidfd is a file of pidfs, whose superblock's magic is PID_FS_MAGIC,
 * and its inode's i_private is the struct pid it names (fs/pidfs.c, pidfd_pid()). The
 * file holds a reference to that pid; one of ours is taken before the file is let go.
 * A pidfd may name a thread (PIDFD_THREAD): the client is its thread group.
 * On CMABUF_PIDFD_OK, client->tgid holds a counted reference to the thread group's pid
 * and client->may_signal says whether the caller's credentials let it signal the
 * client (kernel/signal.c, kill_ok_by_cred(), without its CAP_KILL clause).
 */
enum cmabuf_pidfd cmabuf_pidfd_client(int fd, struct cmabuf_pidfd_client *client)
{
	const struct cred *cred, *tcred;
	struct task_struct *task;
	struct file *file;
	struct pid *pid;

	if (fd < 0)
		return CMABUF_PIDFD_NOT_OPEN;
	file = fget(fd);
	if (!file)
		return CMABUF_PIDFD_NOT_OPEN;
	if (file_inode(file)->i_sb->s_magic != PID_FS_MAGIC) {
		fput(file);
		return CMABUF_PIDFD_NOT_PIDFD;
	}
	pid = get_pid(file_inode(file)->i_private);
	fput(file);
	task = get_pid_task(pid, PIDTYPE_PID);
	put_pid(pid);
	if (!task)
		return CMABUF_PIDFD_EXITED;
	/* Every thread has exited: a zombie waiting to be reaped is no client. */
	if (!atomic_read(&task->signal->live)) {
		put_task_struct(task);
		return CMABUF_PIDFD_EXITED;
	}
	client->tgid = get_task_pid(task, PIDTYPE_TGID);
	rcu_read_lock();
	cred = current_cred();
	tcred = __task_cred(task);
	client->may_signal = uid_eq(cred->euid, tcred->suid) || uid_eq(cred->euid, tcred->uid) ||
			     uid_eq(cred->uid, tcred->suid) || uid_eq(cred->uid, tcred->uid);
	rcu_read_unlock();
	put_task_struct(task);
	return client->tgid ? CMABUF_PIDFD_OK : CMABUF_PIDFD_EXITED;
}

/*
 * How many user mappings map the page at pfn: its folio's count, which is the page's for
 * a buffer's pages (cma_alloc hands out order-0 pages, each its own folio).
 */
int cmabuf_pfn_mapcount(unsigned long pfn)
{
	return folio_mapcount(page_folio(pfn_to_page(pfn)));
}

/*
 * /sys/kernel/debug/cmabuf/fail_alloc: the kernel's fault-injection attribute
 * (probability, interval, times, ...) that makes an allocation fail as if cma_alloc had,
 * to exercise every error path. Present only with CONFIG_FAULT_INJECTION_DEBUG_FS.
 */
#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
static DECLARE_FAULT_ATTR(cmabuf_fail_alloc_attr);
static struct dentry *cmabuf_fail_alloc_dir;

void cmabuf_fail_alloc_create(void)
{
	struct dentry *parent = debugfs_lookup("cmabuf", NULL);
	struct dentry *dir;

	if (!parent)
		return;
	dir = fault_create_debugfs_attr("fail_alloc", parent, &cmabuf_fail_alloc_attr);
	dput(parent);
	cmabuf_fail_alloc_dir = IS_ERR(dir) ? NULL : dir;
}

void cmabuf_fail_alloc_remove(void)
{
	debugfs_remove_recursive(cmabuf_fail_alloc_dir);
	cmabuf_fail_alloc_dir = NULL;
	/*
	 * fault_create_debugfs_attr() keeps a reference to the directory for its failure
	 * messages (attr->dname), which nobody drops for a built-in attribute. Dropped
	 * here, or each load would leave a dentry and inode behind (and pin the parent's).
	 */
	dput(cmabuf_fail_alloc_attr.dname);
	cmabuf_fail_alloc_attr.dname = NULL;
}

bool cmabuf_fail_alloc(size_t size)
{
	return should_fail(&cmabuf_fail_alloc_attr, size);
}
#else
void cmabuf_fail_alloc_create(void)
{
}

void cmabuf_fail_alloc_remove(void)
{
}

bool cmabuf_fail_alloc(size_t size)
{
	return false;
}
#endif

/*
 * debugfs entries for rust/ffi/debugfs.rs, whose file operations name this module as
 * owner. Stubs return an error pointer when CONFIG_DEBUG_FS is off.
 */
struct dentry *cmabuf_debugfs_create_dir(const char *name, struct dentry *parent)
{
	return debugfs_create_dir(name, parent);
}

struct dentry *cmabuf_debugfs_create_file(const char *name, umode_t mode, struct dentry *parent,
					  void *data, const struct file_operations *fops)
{
	return debugfs_create_file(name, mode, parent, data, fops);
}

void cmabuf_debugfs_remove(struct dentry *dentry)
{
	debugfs_remove(dentry);
}

/*
 * A file with no inode of its own, for rust/ffi/anon_file.rs: anon_inode_getfile() takes
 * a reference on fops->owner for the file's life.
 */
struct file *cmabuf_anon_inode_getfile(const char *name, const struct file_operations *fops,
				       void *priv, int flags)
{
	return anon_inode_getfile(name, fops, priv, flags);
}
