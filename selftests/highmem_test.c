// SPDX-License-Identifier: GPL-2.0
/*
 * 32-bit ARM with HighMem (in selftests/Makefile's list for ARCH=arm only, where the
 * board has the highmem pool of dts/highmem-pool.dtso): cmabuf's zones file shows the
 * HighMem zone and the pool lies in it; buffers of that pool, which have no linear
 * kernel address, are zeroed, and user space (mmap) and a kernel importer (vmap) see
 * the same bytes, in every cache mode.
 */
#include <linux/dma-buf.h>
#include <sys/mman.h>

#include "cmabuf_util.h"
#include "importer/cmabuf_test_importer.h"
#include "kselftest_harness.h"
#include "zone_util.h"

#define POOL "highmem"
#define OVERLAY "dts/highmem-pool.dtso"
#define SIZE (4 * 1024 * 1024)

TEST(zones_file_shows_highmem_and_the_pool_is_in_it)
{
	static char zones[16384];
	long long page = getpagesize(), base = info_value(POOL, "base");
	long long size = info_value(POOL, "size"), start, spanned;
	const char *highmem, *normal;

	SKIP_WITHOUT_POOL(POOL, OVERLAY);
	ASSERT_LT(0, read_text(CMABUF_DEBUGFS "/zones", zones, sizeof(zones)));
	highmem = zone_block(zones, "HighMem");
	ASSERT_NE(NULL, highmem) TH_LOG("no HighMem zone in cmabuf's zones file:\n%s", zones);
	normal = zone_block(zones, "Normal");
	ASSERT_NE(NULL, normal) TH_LOG("no Normal zone in cmabuf's zones file:\n%s", zones);
	start = text_field(highmem, "start_pfn");
	spanned = text_field(highmem, "spanned");
	EXPECT_LT(0, text_field(highmem, "present"));
	EXPECT_LT(0, text_field(highmem, "managed"));
	/* HighMem starts where the Normal zone (the direct map) ends. */
	EXPECT_EQ(text_field(normal, "start_pfn") + text_field(normal, "spanned"), start);
	ASSERT_LT(0, base);
	ASSERT_LT(0, size);
	EXPECT_LE(start, base / page) TH_LOG("pool at %#llx, HighMem from %#llx", base,
					     start * page);
	EXPECT_GE(start + spanned, (base + size) / page)
		TH_LOG("pool ends at %#llx, HighMem at %#llx", base + size, (start + spanned) * page);
	/* The pool's free CMA pages are counted in HighMem: they are lent out from there. */
	EXPECT_LT(0, text_field(highmem, "free_cma"));
}

FIXTURE(highmem)
{
	int pool;
	int importer;
};

FIXTURE_VARIANT(highmem)
{
	uint32_t cache;
};

FIXTURE_VARIANT_ADD(highmem, cached) { .cache = CMABUF_CACHED };
FIXTURE_VARIANT_ADD(highmem, writecombine) { .cache = CMABUF_WRITECOMBINE };
FIXTURE_VARIANT_ADD(highmem, uncached) { .cache = CMABUF_UNCACHED };

FIXTURE_SETUP(highmem)
{
	SKIP_WITHOUT_POOL(POOL, OVERLAY);
	self->pool = pool_open(POOL);
	ASSERT_LE(0, self->pool) TH_LOG("/dev/cmabuf-" POOL ": %s", strerror(errno));
	self->importer = importer_open();
	ASSERT_LE(0, self->importer) TH_LOG(IMPORTER_DEV ": %s", strerror(errno));
}

FIXTURE_TEARDOWN(highmem)
{
	EXPECT_TRUE(wait_used(self->pool, 0, 1000));
	close(self->importer);
	close(self->pool);
}

/*
 * The whole pool written all over and freed: a buffer allocated next, wherever it
 * lands, must read back zero everywhere (zeroing cannot use a linear address).
 */
TEST_F(highmem, buffer_is_zeroed_after_the_pool_was_dirtied)
{
	long long pool_size = info_value(POOL, "size");
	uint64_t base = info_value(POOL, "base"), phys = 0;
	uint32_t *p;
	long long i;
	int buf;

	ASSERT_LE(SIZE, pool_size);
	buf = buf_alloc(self->pool, pool_size, 0, variant->cache, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, buf) TH_LOG("whole-pool buffer: %s", strerror(-buf));
	p = mmap(NULL, pool_size, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	/* Word stores: uncached mappings take no unaligned access (memset may make some). */
	for (i = 0; i < pool_size / 4; i++)
		p[i] = 0xa5a5a5a5;
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));
	munmap(p, pool_size);
	close(buf);
	ASSERT_TRUE(wait_used(self->pool, 0, 1000));

	buf = buf_alloc(self->pool, SIZE, 0, variant->cache, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, buf) TH_LOG("%s", strerror(-buf));
	ASSERT_EQ(0, buf_phys(self->pool, buf, &phys, NULL));
	EXPECT_LE(base, phys);
	EXPECT_GE(base + pool_size, phys + SIZE);
	p = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	for (i = 0; i < SIZE / 4; i++)
		if (p[i])
			break;
	EXPECT_EQ(SIZE / 4, i) TH_LOG("word %lld of a buffer at %#llx is %#x, not 0", i,
				      (unsigned long long)phys, i < SIZE / 4 ? p[i] : 0);
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	munmap(p, SIZE);
	close(buf);
}

/*
 * What user space writes through mmap the kernel reads through vmap at the same
 * offsets, and the other way round; the importer's DMA address is the buffer's.
 */
TEST_F(highmem, mmap_and_vmap_see_the_same_bytes)
{
	struct cmabuf_import req = { .marker = 0xfeedbeef };
	uint64_t phys = 0;
	uint32_t *p;
	int buf;

	buf = buf_alloc(self->pool, SIZE, 0, variant->cache, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, buf) TH_LOG("%s", strerror(-buf));
	ASSERT_EQ(0, buf_phys(self->pool, buf, &phys, NULL));
	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	p[0] = 0x11111111;
	p[SIZE / 4 - 1] = 0x22222222;
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	req.fd = buf;
	ASSERT_EQ(0, ioctl(self->importer, IMPORTER_IOC_CHECK, &req)) TH_LOG("%s",
									  strerror(errno));
	EXPECT_EQ(0x11111111U, req.first);
	EXPECT_EQ(0x22222222U, req.last);
	EXPECT_EQ(1, req.nents);
	EXPECT_EQ(SIZE, req.dma_len);
	/* QEMU virt has no IOMMU: the importer's DMA address is the physical one. */
	EXPECT_EQ(phys, req.dma_addr);
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0xfeedbeefU, p[1]) TH_LOG("the kernel's write through vmap is not visible");
	EXPECT_EQ(0x11111111U, p[0]);
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	munmap(p, SIZE);
	close(buf);
}

TEST_HARNESS_MAIN
