// SPDX-License-Identifier: GPL-2.0
/*
 * 32-bit ARM with HighMem (run by run_tests.sh on armv7 only): the zones file shows
 * the HighMem zone, the highmem pool lies in it, and its buffers are zeroed, mapped by
 * user space and by a kernel importer (vmap) correctly although HighMem pages have no
 * linear address.
 */
#include <linux/dma-buf.h>
#include <sys/mman.h>

#include "cmabuf_util.h"
#include "importer/cmabuf_test_importer.h"
#include "kselftest_harness.h"

#define SIZE (4 * 1024 * 1024)

/* The first page frame of the HighMem zone (/proc/zoneinfo), or -1. */
static long long highmem_start_pfn(void)
{
	static char text[65536];
	char *zone;

	if (read_text("/proc/zoneinfo", text, sizeof(text)) < 0)
		return -1;
	zone = strstr(text, "zone  HighMem");
	zone = zone ? strstr(zone, "start_pfn:") : NULL;
	return zone ? strtoll(zone + strlen("start_pfn:"), NULL, 10) : -1;
}

TEST(zones_file_shows_highmem_and_the_pool_is_in_it)
{
	static char zones[16384];
	long long start = highmem_start_pfn(), base = info_value("highmem", "base");

	ASSERT_LT(0, read_text(CMABUF_DEBUGFS "/zones", zones, sizeof(zones)));
	EXPECT_TRUE(strstr(zones, "HighMem") != NULL) TH_LOG("%s", zones);
	ASSERT_LT(0, start) TH_LOG("no HighMem zone in /proc/zoneinfo");
	ASSERT_LT(0, base);
	EXPECT_LE(start * getpagesize(), base) TH_LOG("pool at %#llx, HighMem from %#llx", base,
						      start * getpagesize());
}

TEST(highmem_buffers_zeroed_mapped_and_vmapped)
{
	struct cmabuf_import req = { .marker = 0xfeedbeef };
	struct dma_buf_sync s = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW };
	int pool = pool_open("highmem"), importer, buf, i;
	uint32_t *p;

	ASSERT_LE(0, pool);
	if (!path_exists("/dev/cmabuf_test_importer"))
		load_module_file("/lib/modules/cmabuf_test_importer.ko", "");
	importer = open("/dev/cmabuf_test_importer", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, importer);
	buf = buf_alloc_rw(pool, SIZE);
	ASSERT_LE(0, buf);
	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < SIZE / 4; i++)
		if (p[i])
			break;
	EXPECT_EQ(SIZE / 4, i) TH_LOG("word %d of a new HighMem buffer is not zero", i);
	ASSERT_EQ(0, ioctl(buf, DMA_BUF_IOCTL_SYNC, &s));
	p[0] = 0x11111111;
	p[SIZE / 4 - 1] = 0x22222222;
	s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
	ASSERT_EQ(0, ioctl(buf, DMA_BUF_IOCTL_SYNC, &s));
	req.fd = buf;
	ASSERT_EQ(0, ioctl(importer, IMPORTER_IOC_CHECK, &req)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0x11111111U, req.first);
	EXPECT_EQ(0x22222222U, req.last);
	s.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ;
	ASSERT_EQ(0, ioctl(buf, DMA_BUF_IOCTL_SYNC, &s));
	EXPECT_EQ(0xfeedbeefU, p[1]) TH_LOG("the kernel's write through vmap is not visible");
	munmap(p, SIZE);
	close(buf);
	close(importer);
	EXPECT_TRUE(wait_used(pool, 0, 1000));
	close(pool);
}

TEST_HARNESS_MAIN
