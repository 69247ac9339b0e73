// SPDX-License-Identifier: GPL-2.0
/*
 * What a kernel importer sees (selftests/importer): one contiguous scatter-list entry at
 * the buffer's physical address, several attachments at once, and through vmap, between
 * begin and end of CPU access, the same bytes user space sees through mmap — in every
 * cache mode.
 */
#include <linux/dma-buf.h>
#include <sys/mman.h>

#include "cmabuf_util.h"
#include "importer/cmabuf_test_importer.h"
#include "kselftest_harness.h"

#define SIZE (1024 * 1024)

static char text[8192];

FIXTURE(import) {
	int importer, pool;
};

FIXTURE_VARIANT(import) {
	uint32_t flags;
};

FIXTURE_VARIANT_ADD(import, cached) {
	.flags = CMABUF_CACHED,
};

FIXTURE_VARIANT_ADD(import, writecombine) {
	.flags = CMABUF_WRITECOMBINE,
};

FIXTURE_VARIANT_ADD(import, uncached) {
	.flags = CMABUF_UNCACHED,
};

FIXTURE_SETUP(import)
{
	self->importer = importer_open();
	ASSERT_LE(0, self->importer) TH_LOG(IMPORTER_DEV ": %s", strerror(errno));
	self->pool = pool_open("camera");
	ASSERT_LE(0, self->pool);
}

FIXTURE_TEARDOWN(import)
{
	close(self->importer);
	EXPECT_TRUE(wait_used(self->pool, 0, 1000));
	close(self->pool);
	EXPECT_EQ(0, unload_module("cmabuf_test_importer"));
}

TEST_F(import, kernel_importer_sees_what_user_space_wrote)
{
	struct cmabuf_import req = { .marker = 0xfeedbeef };
	int buf = buf_alloc(self->pool, SIZE, 0, variant->flags, O_RDWR);
	uint64_t phys;
	uint32_t *p;

	ASSERT_LE(0, buf);
	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	p[0] = 0x11111111;
	p[SIZE / 4 - 1] = 0x22222222;
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));

	req.fd = buf;
	ASSERT_EQ(0, ioctl(self->importer, IMPORTER_IOC_CHECK, &req)) TH_LOG("%s",
									     strerror(errno));
	ASSERT_EQ(0, buf_phys(self->pool, buf, &phys, NULL));
	EXPECT_EQ(2U, req.attachments);
	EXPECT_EQ(1U, req.nents);
	EXPECT_EQ(SIZE, req.dma_len);
	EXPECT_EQ(phys, req.dma_addr) TH_LOG("DMA address is not the physical one");
	EXPECT_EQ(0x11111111U, req.first);
	EXPECT_EQ(0x22222222U, req.last);

	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0xfeedbeefU, p[1]) TH_LOG("the kernel's write through vmap is not visible");
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	munmap(p, SIZE);
	close(buf);
}

/* An importer's attachment alone keeps the buffer, as an fd or a mapping does. */
TEST_F(import, attachment_keeps_the_buffer_alive)
{
	int buf = buf_alloc(self->pool, SIZE, 0, variant->flags, O_RDWR);

	ASSERT_LE(0, buf);
	ASSERT_EQ(0, ioctl(self->importer, IMPORTER_IOC_HOLD, buf)) TH_LOG("%s", strerror(errno));
	close(buf);
	EXPECT_EQ(SIZE, pool_used(self->pool)) TH_LOG("freed under an attachment");
	ASSERT_LT(0, read_text(CMABUF_DEBUGFS "/camera/buffers", text, sizeof(text)));
	EXPECT_NE(NULL, strstr(text, " cmabuf_test_importer\n")) TH_LOG("importer not listed:\n%s",
									 text);
	EXPECT_EQ(-1, unload_module("cmabuf")) TH_LOG("cmabuf unloaded under an importer");
	ASSERT_EQ(0, ioctl(self->importer, IMPORTER_IOC_RELEASE));
	EXPECT_TRUE(wait_used(self->pool, 0, 1000));
}

/* A descriptor that is not open is refused before anything is attached. */
TEST_F(import, importer_rejects_a_closed_fd)
{
	struct cmabuf_import req = { .fd = 9999 };

	EXPECT_EQ(-1, ioctl(self->importer, IMPORTER_IOC_CHECK, &req));
	EXPECT_EQ(EBADF, errno);
}

TEST_HARNESS_MAIN
