// SPDX-License-Identifier: GPL-2.0
/*
 * Real importers: the V4L2 test driver vivid captures into cmabuf buffers
 * (V4L2_MEMORY_DMABUF), the virtual KMS driver vkms scans the same buffer out and its
 * writeback connector writes the composed output into a second cmabuf buffer (a
 * zero-copy camera -> display pipeline, checked pixel by pixel), and vgem, a GEM
 * importer like a GPU driver, imports and maps cmabuf buffers.
 */
#include <sys/stat.h>

#include "cmabuf_util.h"
#include "pipeline.h"
#include "kselftest_harness.h"

static uint32_t *map_buf(int buf, uint64_t size, int prot)
{
	void *p = mmap(NULL, size, prot, MAP_SHARED, buf, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* vivid writes its colour bars straight into a cmabuf buffer. */
TEST(vivid_captures_into_cmabuf)
{
	int pool = pool_open("camera"), vivid = vivid_open(), buf, ret;
	char where[96] = "";
	uint32_t *px;

	ASSERT_LE(0, pool);
	ASSERT_LE(0, vivid) TH_LOG("%s", pipe_err);
	ASSERT_EQ(0, vivid_setup(vivid)) TH_LOG("%s", pipe_err);
	buf = buf_alloc_rw(pool, PIPE_BYTES);
	ASSERT_LE(0, buf);
	/* Paint it first, so that a frame that never arrived cannot pass. */
	px = map_buf(buf, PIPE_BYTES, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, px);
	memset(px, 0x5a, PIPE_BYTES);
	ret = vivid_capture(vivid, buf, PIPE_BYTES);
	ASSERT_EQ(0, ret) TH_LOG("%s", pipe_err);
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, check_colorbars(px, where, sizeof(where))) TH_LOG("%s", where);
	ASSERT_EQ(0, buf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	munmap(px, PIPE_BYTES);
	close(buf);
	close(vivid);
	EXPECT_TRUE(wait_used(pool, 0, 1000)) TH_LOG("the buffer outlived its last user");
	close(pool);
}

/* A buffer too small for the format is refused by vivid, and nothing is left behind. */
TEST(vivid_refuses_a_small_buffer)
{
	int pool = pool_open("camera"), vivid = vivid_open(), buf;

	ASSERT_LE(0, pool);
	ASSERT_LE(0, vivid) TH_LOG("%s", pipe_err);
	ASSERT_EQ(0, vivid_setup(vivid)) TH_LOG("%s", pipe_err);
	buf = buf_alloc_rw(pool, MiB);
	ASSERT_LE(0, buf);
	EXPECT_NE(0, vivid_capture(vivid, buf, MiB));
	EXPECT_TRUE(strstr(pipe_err, "VIDIOC_QBUF") != NULL) TH_LOG("%s", pipe_err);
	close(buf);
	close(vivid);
	EXPECT_TRUE(wait_used(pool, 0, 1000));
	close(pool);
}

/*
 * Camera -> display, zero copy: vivid captures into a camera-pool buffer, vkms scans
 * that very buffer out, and its writeback connector writes what it composed into a
 * display-pool buffer; both must hold the same picture, pixel by pixel. vkms writes
 * the X byte of XRGB8888 as it likes, so colour bytes are compared.
 */
TEST(camera_to_display_zero_copy)
{
	int camera = pool_open("camera"), display = pool_open("display"), vivid = vivid_open();
	char where[96] = "";
	uint32_t *in, *out;
	long diff = 0, i;
	int a, b;

	ASSERT_LE(0, camera);
	ASSERT_LE(0, display);
	ASSERT_LE(0, vivid) TH_LOG("%s", pipe_err);
	ASSERT_EQ(0, vivid_setup(vivid)) TH_LOG("%s", pipe_err);
	a = buf_alloc_rw(camera, PIPE_BYTES);
	b = buf_alloc_rw(display, PIPE_BYTES);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	in = map_buf(a, PIPE_BYTES, PROT_READ);
	out = map_buf(b, PIPE_BYTES, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, in);
	ASSERT_NE(NULL, out);
	memset(out, 0x33, PIPE_BYTES);
	ASSERT_EQ(0, buf_sync(b, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE));

	ASSERT_EQ(0, vivid_capture(vivid, a, PIPE_BYTES)) TH_LOG("%s", pipe_err);
	ASSERT_EQ(0, vkms_show_and_write_back(a, b)) TH_LOG("%s", pipe_err);

	ASSERT_EQ(0, buf_sync(a, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	ASSERT_EQ(0, buf_sync(b, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, check_colorbars(in, where, sizeof(where))) TH_LOG("camera: %s", where);
	for (i = 0; i < PIPE_W * PIPE_H; i++)
		if ((in[i] ^ out[i]) & 0xffffff) {
			if (!diff++)
				TH_LOG("first difference at pixel %ld: camera %06x, display %06x", i,
				       in[i] & 0xffffff, out[i] & 0xffffff);
		}
	EXPECT_EQ(0, diff) TH_LOG("%ld of %d pixels differ", diff, PIPE_W * PIPE_H);
	buf_sync(a, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	buf_sync(b, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	munmap(in, PIPE_BYTES);
	munmap(out, PIPE_BYTES);
	close(a);
	close(b);
	close(vivid);
	EXPECT_TRUE(wait_used(camera, 0, 2000));
	EXPECT_TRUE(wait_used(display, 0, 2000));
	close(camera);
	close(display);
}

/* Whether debugfs lists an importer called name on the pool's only buffer. */
static bool importer_listed(const char *pool, const char *name)
{
	char path[128], text[8192];

	snprintf(path, sizeof(path), CMABUF_DEBUGFS "/%s/buffers", pool);
	if (read_text(path, text, sizeof(text)) < 0)
		return false;
	return strstr(text, name) != NULL;
}

/*
 * vgem, a GEM importer like a GPU driver, imports a cmabuf buffer (attaching and
 * mapping it for its device, as debugfs shows) and hands the very same dma-buf back
 * when asked to export it; the buffer lives while either side holds it. (DRM refuses
 * a CPU mapping of imported objects through the importer: user space maps the
 * dma-buf itself.)
 */
TEST(vgem_imports_and_maps)
{
	int pool = pool_open("camera"), vgem = drm_open("vgem"), buf, first_close;
	uint32_t *ours, *again, handle = 0;
	struct stat a, b;

	ASSERT_LE(0, pool);
	ASSERT_LE(0, vgem) TH_LOG("%s", pipe_err);
	for (first_close = 0; first_close < 2; first_close++) {
		struct drm_prime_handle back = { .flags = DRM_CLOEXEC | DRM_RDWR };

		buf = buf_alloc_rw(pool, MiB);
		ASSERT_LE(0, buf);
		ours = map_buf(buf, MiB, PROT_READ | PROT_WRITE);
		ASSERT_NE(NULL, ours);
		ours[0] = 0xc0ffee;
		ASSERT_EQ(0, drm_import(vgem, buf, &handle)) TH_LOG("%s", pipe_err);
		EXPECT_TRUE(importer_listed("camera", "vgem")) TH_LOG("vgem is not attached");

		back.handle = handle;
		ASSERT_EQ(0, ioctl(vgem, DRM_IOCTL_PRIME_HANDLE_TO_FD, &back)) TH_LOG("%s", strerror(errno));
		ASSERT_EQ(0, fstat(buf, &a));
		ASSERT_EQ(0, fstat(back.fd, &b));
		EXPECT_EQ(a.st_ino, b.st_ino) TH_LOG("vgem exported another dma-buf");
		again = map_buf(back.fd, MiB, PROT_READ | PROT_WRITE);
		ASSERT_NE(NULL, again);
		EXPECT_EQ(0xc0ffee, again[0]);
		again[1] = 0xbeef;
		EXPECT_EQ(0xbeef, ours[1]);
		munmap(again, MiB);
		munmap(ours, MiB);
		close(back.fd);
		/* Either order: the buffer goes only when both let go. */
		if (first_close == 0) {
			close(buf);
			EXPECT_EQ(MiB, pool_used(pool)) TH_LOG("vgem's import must keep it");
			drm_close_handle(vgem, handle);
		} else {
			drm_close_handle(vgem, handle);
			EXPECT_FALSE(importer_listed("camera", "vgem")) TH_LOG("vgem still attached");
			EXPECT_EQ(MiB, pool_used(pool));
			close(buf);
		}
		EXPECT_TRUE(wait_used(pool, 0, 1000)) TH_LOG("not freed after both let go");
	}
	close(vgem);
	close(pool);
}

TEST_HARNESS_MAIN
