// SPDX-License-Identifier: GPL-2.0
/*
 * 32-bit ARM with LPAE (the lpae kernel of scripts/job.sh, CMABUF_KERNELS=lpae, whose
 * list alone runs it): a pool above 4 GiB physical (dts/lpae-pool.dtso, 2 GiB at
 * 0x1_0000_0000) on a kernel whose phys_addr_t and dma_addr_t are 64-bit and whose
 * size_t, unsigned long and pointers are 32-bit. Every figure of the pool (debugfs,
 * sysfs, CMABUF_IOC_POOL_INFO, CMABUF_IOC_PHYS, the importer's DMA address) must be the
 * whole 64-bit one; the pool is HighMem; and the largest buffer this guest allows,
 * 2 GiB less a page (dmem), is allocated, mapped, written at both ends, imported and freed.
 */
#include <linux/dma-buf.h>
#include <sys/mman.h>

#include "cmabuf_util.h"
#include "importer/cmabuf_test_importer.h"
#include "kselftest_harness.h"
#include "zone_util.h"

#define POOL "lpae"
#define OVERLAY "dts/lpae-pool.dtso"
#define REGION "reserved-memory/lpae-pool@100000000"
#define FOUR_GIB (4ULL << 30)
#define SMALL (4 * MiB)

static char text[65536];

/* /sys/class/misc/cmabuf-lpae/<name> as a number, or -1. */
static long long sysfs_value(const char *name)
{
	char path[128], value[64];

	snprintf(path, sizeof(path), "/sys/class/misc/cmabuf-" POOL "/%s", name);
	if (read_text(path, value, sizeof(value)) < 0)
		return -1;
	return strtoll(value, NULL, 10);
}

/*
 * The region's base and size from the device tree reach debugfs's info, sysfs and
 * CMABUF_IOC_POOL_INFO whole: 2 GiB does not fit a 32-bit signed int and the base
 * does not fit 32 bits at all.
 */
TEST(pool_figures_are_the_device_tree_s_64_bit_ones)
{
	struct cmabuf_pool_info info;
	uint64_t base, size;
	char pages[32];
	int pool;

	SKIP_WITHOUT_POOL(POOL, OVERLAY);
	ASSERT_EQ(0, dt_reg(REGION, &base, &size)) TH_LOG("no /proc/device-tree/" REGION);
	ASSERT_LE(FOUR_GIB, base);
	/* The kernel made the CMA area of the whole region, above 4 GiB. */
	ASSERT_LT(0, read_text("/sys/kernel/mm/cma/lpae-pool@100000000/total_pages", pages,
			       sizeof(pages)));
	EXPECT_EQ(size, strtoull(pages, NULL, 0) * (uint64_t)getpagesize());
	EXPECT_LE((long long)(size >> 10), meminfo_kb("CmaTotal"));
	EXPECT_EQ((long long)base, info_value(POOL, "base"));
	EXPECT_EQ((long long)size, info_value(POOL, "size"));
	EXPECT_EQ((long long)size, info_value(POOL, "free"));
	EXPECT_EQ((long long)size, info_value(POOL, "largest_free"));
	EXPECT_EQ((long long)size, sysfs_value("size"));
	EXPECT_EQ((long long)size, sysfs_value("free"));
	EXPECT_EQ((long long)size, sysfs_value("largest_free"));
	pool = pool_open(POOL);
	ASSERT_LE(0, pool) TH_LOG("/dev/cmabuf-" POOL ": %s", strerror(errno));
	ASSERT_EQ(0, pool_info(pool, &info));
	EXPECT_EQ(size, info.size);
	EXPECT_EQ(0, info.used);
	EXPECT_EQ(size, info.free);
	EXPECT_EQ(size, info.largest_free);
	close(pool);
}

/* Above 4 GiB is above the direct map: the pool lies in HighMem, and lends it out. */
TEST(pool_is_in_highmem)
{
	long long page = getpagesize(), base = info_value(POOL, "base");
	long long size = info_value(POOL, "size");
	const char *highmem;

	SKIP_WITHOUT_POOL(POOL, OVERLAY);
	ASSERT_LT(0, read_text(CMABUF_DEBUGFS "/zones", text, sizeof(text)));
	highmem = zone_block(text, "HighMem");
	ASSERT_NE(NULL, highmem) TH_LOG("no HighMem zone in cmabuf's zones file:\n%s", text);
	ASSERT_LE((long long)FOUR_GIB, base);
	EXPECT_LE(text_field(highmem, "start_pfn"), base / page);
	EXPECT_GE(text_field(highmem, "start_pfn") + text_field(highmem, "spanned"),
		  (base + size) / page);
	EXPECT_LE(size / page, text_field(highmem, "free_cma"));
}

FIXTURE(lpae)
{
	int pool;
	int importer;
	uint64_t base;
	uint64_t size;
};

FIXTURE_VARIANT(lpae)
{
	uint32_t cache;
};

FIXTURE_VARIANT_ADD(lpae, cached) { .cache = CMABUF_CACHED };
FIXTURE_VARIANT_ADD(lpae, writecombine) { .cache = CMABUF_WRITECOMBINE };
FIXTURE_VARIANT_ADD(lpae, uncached) { .cache = CMABUF_UNCACHED };

FIXTURE_SETUP(lpae)
{
	SKIP_WITHOUT_POOL(POOL, OVERLAY);
	ASSERT_EQ(0, dt_reg(REGION, &self->base, &self->size));
	self->pool = pool_open(POOL);
	ASSERT_LE(0, self->pool) TH_LOG("/dev/cmabuf-" POOL ": %s", strerror(errno));
	self->importer = importer_open();
	ASSERT_LE(0, self->importer) TH_LOG(IMPORTER_DEV ": %s", strerror(errno));
}

FIXTURE_TEARDOWN(lpae)
{
	EXPECT_TRUE(wait_used(self->pool, 0, 5000));
	close(self->importer);
	close(self->pool);
}

/*
 * A buffer above 4 GiB: its physical address, the importer's DMA address and
 * debugfs's buffers line agree, and user space (mmap of a pfn above 32 bits of
 * address) and the kernel (vmap) see the same bytes.
 */
TEST_F(lpae, small_buffer_is_above_4gib_everywhere)
{
	struct cmabuf_import req = { .marker = 0xfeedbeef };
	uint64_t phys = 0, size = 0;
	char line[64];
	uint32_t *p;
	int buf;

	buf = buf_alloc(self->pool, SMALL, 0, variant->cache, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, buf) TH_LOG("%s", strerror(-buf));
	ASSERT_EQ(0, buf_phys(self->pool, buf, &phys, &size));
	EXPECT_LE(self->base, phys);
	EXPECT_LE(FOUR_GIB, phys);
	EXPECT_GE(self->base + self->size, phys + SMALL);
	EXPECT_EQ(SMALL, size);
	ASSERT_LT(0, read_text(CMABUF_DEBUGFS "/" POOL "/buffers", text, sizeof(text)));
	snprintf(line, sizeof(line), "%#18llx %#17llx ", (unsigned long long)phys,
		 (unsigned long long)(phys + SMALL - 1));
	EXPECT_NE(NULL, strstr(text, line)) TH_LOG("'%s' not in:\n%s", line, text);
	p = mmap(NULL, SMALL, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	EXPECT_EQ(0, p[0]);
	EXPECT_EQ(0, p[SMALL / 4 - 1]);
	p[0] = 0x11111111;
	p[SMALL / 4 - 1] = 0x22222222;
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	req.fd = buf;
	ASSERT_EQ(0, ioctl(self->importer, IMPORTER_IOC_CHECK, &req)) TH_LOG("%s",
									  strerror(errno));
	EXPECT_EQ(0x11111111U, req.first);
	EXPECT_EQ(0x22222222U, req.last);
	EXPECT_EQ(1, req.nents);
	EXPECT_EQ(SMALL, req.dma_len);
	/* QEMU virt has no IOMMU: the DMA address is the physical one, above 32 bits. */
	EXPECT_EQ(phys, req.dma_addr);
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0xfeedbeefU, p[1]) TH_LOG("the kernel's write through vmap is not visible");
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	munmap(p, SMALL);
	close(buf);
}

/*
 * The largest buffer this guest allows: 2 GiB less a page, the pool less a page. The
 * bound is the dmem cgroup's counter, a page_counter of bytes whose maximum on a
 * 32-bit kernel is LONG_MAX, 2 GiB less a byte, in every cgroup, the root too
 * (kernel/cgroup/dmem.c): the whole 2 GiB pool is refused with EDQUOT and a line that
 * says so. (A dma-buf's size is a 32-bit size_t and user space has 3 GiB of address
 * space to map it in.) The largest buffer's figures are right everywhere, user space
 * maps it whole and writes both ends, a DMA importer maps it at its physical address
 * above 4 GiB, and the kernel reads and writes both ends through its pages. Freed, the
 * pool is whole again.
 */
/* Zeroing and mapping 2 GiB under TCG takes minutes, not the default 30 s. */
TEST_F_TIMEOUT(lpae, largest_buffer_above_4gib, 900)
{
	struct cmabuf_walk walk = { .marker = 0x0123456789abcdefULL };
	struct cmabuf_import req = { .marker = 0xfeedbeef };
	uint64_t pool = self->size, size = pool - getpagesize(), phys = 0, got = 0;
	struct cmabuf_pool_info info;
	char line[96];
	uint32_t *p;
	int buf;

	ASSERT_EQ(0, pool_info(self->pool, &info));
	ASSERT_EQ(pool, info.largest_free);
	/* One page more than the pool is refused, not truncated. */
	EXPECT_EQ(-EINVAL, buf_alloc(self->pool, pool + getpagesize(), 0, variant->cache,
				     O_RDWR));
	/* The whole pool: more than dmem can count on a 32-bit kernel. */
	EXPECT_EQ(-EDQUOT, buf_alloc(self->pool, pool, 0, variant->cache, O_RDWR));
	EXPECT_TRUE(klog_contains("more than dmem can count on a 32-bit kernel"));
	buf = buf_alloc(self->pool, size, 0, variant->cache, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, buf) TH_LOG("a %llu-byte buffer: %s", (unsigned long long)size,
				 strerror(-buf));
	ASSERT_EQ(0, buf_phys(self->pool, buf, &phys, &got));
	EXPECT_EQ(self->base, phys);
	EXPECT_LE(FOUR_GIB, phys);
	EXPECT_EQ(size, got);

	ASSERT_EQ(0, pool_info(self->pool, &info));
	EXPECT_EQ(size, info.used);
	EXPECT_EQ((uint64_t)getpagesize(), info.free);
	EXPECT_EQ((uint64_t)getpagesize(), info.largest_free);
	EXPECT_EQ(1, info.buffers);
	EXPECT_EQ((long long)size, info_value(POOL, "used"));
	EXPECT_LE((long long)size, info_value(POOL, "peak_used"));
	EXPECT_EQ((long long)size, sysfs_value("used"));
	EXPECT_LE((long long)size, sysfs_value("peak_used"));
	EXPECT_EQ(getpagesize(), sysfs_value("free"));
	ASSERT_LT(0, read_text(CMABUF_DEBUGFS "/" POOL "/buffers", text, sizeof(text)));
	snprintf(line, sizeof(line), " %10llu %#18llx %#17llx ", (unsigned long long)size,
		 (unsigned long long)phys, (unsigned long long)(phys + size - 1));
	EXPECT_NE(NULL, strstr(text, line)) TH_LOG("'%s' not in:\n%s", line, text);

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap of %llu bytes: %s", (unsigned long long)size,
					strerror(errno));
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	EXPECT_EQ(0, p[0]);
	EXPECT_EQ(0, p[size / 4 - 1]);
	p[0] = 0x11111111;
	p[size / 4 - 1] = 0x22222222;
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));

	req.fd = buf;
	ASSERT_EQ(0, ioctl(self->importer, IMPORTER_IOC_DMA, &req)) TH_LOG("%s",
									strerror(errno));
	EXPECT_EQ(2, req.attachments);
	EXPECT_EQ(1, req.nents);
	EXPECT_EQ(size, req.dma_len);
	EXPECT_EQ(phys, req.dma_addr);

	/*
	 * The kernel reads and writes it a page at a time (kmap of HighMem pages through
	 * the scatter-list, IMPORTER_IOC_WALK), as an importer of a buffer this big must:
	 * its vmap would need more than the kernel's whole address space, and the dma-buf
	 * core WARNs on every exporter's failed vmap.
	 */
	walk.fd = buf;
	walk.windows = 2;
	walk.window[0] = (struct cmabuf_walk_window){ .offset = 0, .len = 64 };
	walk.window[1] = (struct cmabuf_walk_window){ .offset = size - 64, .len = 64 };
	walk.marker_offset = size - 16;
	ASSERT_EQ(0, ioctl(self->importer, IMPORTER_IOC_WALK, &walk)) TH_LOG("%s",
									 strerror(errno));
	EXPECT_EQ(size, walk.size);
	EXPECT_EQ(size, walk.length);
	EXPECT_EQ(size, walk.dma_length);
	EXPECT_EQ(phys, walk.phys);
	EXPECT_EQ(phys, walk.dma_addr);
	EXPECT_EQ(0, walk.gaps);
	EXPECT_EQ(0x11111111ULL, walk.window[0].sum) TH_LOG("the first page read otherwise");
	EXPECT_EQ(importer_walk_term(0x22222222ULL << 32, size - 8), walk.window[1].sum)
		TH_LOG("the last page read otherwise");

	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0x11111111U, p[0]);
	EXPECT_EQ(0x22222222U, p[size / 4 - 1]);
	EXPECT_EQ((uint32_t)walk.marker, p[(size - 16) / 4]) TH_LOG("the kernel's write is lost");
	EXPECT_EQ((uint32_t)(walk.marker >> 32), p[(size - 16) / 4 + 1]);
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	munmap(p, size);
	close(buf);
	ASSERT_TRUE(wait_used(self->pool, 0, 5000));
	ASSERT_EQ(0, pool_info(self->pool, &info));
	EXPECT_EQ(pool, info.free);
	EXPECT_EQ(pool, info.largest_free);
}

TEST_HARNESS_MAIN
