// SPDX-License-Identifier: GPL-2.0
/*
 * cmabuf_pipeline: the make run demo of a zero-copy camera -> display pipeline on real
 * kernel drivers. vivid (V4L2) captures a 1280x720 XRGB frame into a buffer of the
 * camera pool, vkms (KMS) scans that buffer out, and vkms's writeback connector writes
 * the composed output into a buffer of the display pool; the two are compared pixel by
 * pixel. Prints what it did and "cmabuf-pipeline: ok" on success.
 *
 *   cmabuf_pipeline [camera-pool [display-pool]]
 */
#include "../cmabuf_util.h"
#include "../pipeline.h"

int main(int argc, char **argv)
{
	const char *cam_name = argc > 1 ? argv[1] : "camera";
	const char *disp_name = argc > 2 ? argv[2] : "display";
	int camera = pool_open(cam_name), display = pool_open(disp_name), vivid, a, b;
	uint64_t phys_a, phys_b;
	char where[96] = "";
	uint32_t *in, *out;
	long diff = 0, i;

	if (camera < 0 || display < 0) {
		printf("cmabuf-pipeline: FAILED: /dev/cmabuf-%s or /dev/cmabuf-%s missing\n",
		       cam_name, disp_name);
		return 1;
	}
	vivid = vivid_open();
	if (vivid < 0 || vivid_setup(vivid)) {
		printf("cmabuf-pipeline: FAILED: %s\n", pipe_err);
		return 1;
	}
	a = buf_alloc_rw(camera, PIPE_BYTES);
	b = buf_alloc_rw(display, PIPE_BYTES);
	if (a < 0 || b < 0) {
		printf("cmabuf-pipeline: FAILED: allocating the frames: %s\n", strerror(-(a < 0 ? a : b)));
		return 1;
	}
	/* Shown as 0 if CMABUF_IOC_PHYS fails (without CAP_SYS_RAWIO). */
	buf_phys(camera, a, &phys_a, NULL);
	buf_phys(display, b, &phys_b, NULL);
	printf("camera frame:  %ux%u XRGB8888, %llu bytes in /dev/cmabuf-%s at phys %#llx\n",
	       PIPE_W, PIPE_H, (unsigned long long)PIPE_BYTES, cam_name,
	       (unsigned long long)phys_a);
	printf("display frame: %ux%u XRGB8888, %llu bytes in /dev/cmabuf-%s at phys %#llx\n",
	       PIPE_W, PIPE_H, (unsigned long long)PIPE_BYTES, disp_name,
	       (unsigned long long)phys_b);
	if (vivid_capture(vivid, a, PIPE_BYTES)) {
		printf("cmabuf-pipeline: FAILED: vivid: %s\n", pipe_err);
		return 1;
	}
	printf("vivid captured a frame into the camera buffer (V4L2_MEMORY_DMABUF)\n");
	if (vkms_show_and_write_back(a, b)) {
		printf("cmabuf-pipeline: FAILED: vkms: %s\n", pipe_err);
		return 1;
	}
	printf("vkms scanned the camera buffer out (PRIME import, atomic commit) and wrote its output back into the display buffer\n");
	in = mmap(NULL, PIPE_BYTES, PROT_READ, MAP_SHARED, a, 0);
	out = mmap(NULL, PIPE_BYTES, PROT_READ, MAP_SHARED, b, 0);
	if (in == MAP_FAILED || out == MAP_FAILED ||
	    buf_sync(a, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ) ||
	    buf_sync(b, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ)) {
		printf("cmabuf-pipeline: FAILED: mapping the frames\n");
		return 1;
	}
	for (i = 0; i < PIPE_W * PIPE_H; i++)
		diff += ((in[i] ^ out[i]) & 0xffffff) != 0;
	if (check_colorbars(in, where, sizeof(where)) || diff) {
		printf("cmabuf-pipeline: FAILED: %ld pixels differ; colour bars: %s\n", diff,
		       where[0] ? where : "ok");
		return 1;
	}
	printf("the written-back display frame equals the camera frame in all %d pixels (vivid's 100%% colour bars)\n",
	       PIPE_W * PIPE_H);
	printf("cmabuf-pipeline: ok\n");
	return 0;
}
