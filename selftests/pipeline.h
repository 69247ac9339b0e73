/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A zero-copy camera -> display pipeline on real kernel drivers, shared by
 * pipeline_test and the make run demo (cmabuf_pipeline): the V4L2 test driver vivid
 * captures into a cmabuf dma-buf, the virtual KMS driver vkms scans the same buffer
 * out, and its writeback connector writes the composed output into a second cmabuf
 * buffer. Functions return 0 or -errno and print why.
 */
#ifndef CMABUF_PIPELINE_H
#define CMABUF_PIPELINE_H

#include <dirent.h>
#include <drm/drm.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_mode.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/mman.h>

#include "cmabuf_util.h"

#define PIPE_W 1280
#define PIPE_H 720
#define PIPE_BYTES ((uint64_t)PIPE_W * PIPE_H * 4)
/* The "type" property of a primary plane (enum drm_plane_type, not in the uAPI). */
#define PLANE_TYPE_PRIMARY 1

static char pipe_err[256];

static int pipe_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pipe_err, sizeof(pipe_err), fmt, ap);
	va_end(ap);
	return err ? -err : -EIO;
}

/* ---- V4L2: vivid ---- */

/* Opens vivid's single-planar video capture node. */
static int vivid_open(void)
{
	char path[32];
	int i, fd;

	for (i = 0; i < 64; i++) {
		struct v4l2_capability cap = { 0 };

		snprintf(path, sizeof(path), "/dev/video%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!ioctl(fd, VIDIOC_QUERYCAP, &cap) && !strcmp((char *)cap.driver, "vivid") &&
		    (cap.device_caps & V4L2_CAP_VIDEO_CAPTURE))
			return fd;
		close(fd);
	}
	return pipe_fail(ENODEV, "no vivid video capture node in /dev/video*");
}

/* Sets the control called name (found by name: vivid's private ids move) to value. */
static int v4l2_set_ctrl_by_name(int fd, const char *name, int value)
{
	struct v4l2_queryctrl q = { .id = V4L2_CTRL_FLAG_NEXT_CTRL };

	while (!ioctl(fd, VIDIOC_QUERYCTRL, &q)) {
		if (!strcmp((char *)q.name, name)) {
			struct v4l2_control c = { .id = q.id, .value = value };

			return ioctl(fd, VIDIOC_S_CTRL, &c) ? pipe_fail(errno, "set %s", name) : 0;
		}
		q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
	}
	return pipe_fail(ENOENT, "vivid has no control \"%s\"", name);
}

/* The menu index of item in control name, or -errno. */
static int v4l2_menu_index(int fd, const char *name, const char *item)
{
	struct v4l2_queryctrl q = { .id = V4L2_CTRL_FLAG_NEXT_CTRL };

	while (!ioctl(fd, VIDIOC_QUERYCTRL, &q)) {
		if (!strcmp((char *)q.name, name)) {
			struct v4l2_querymenu m = { .id = q.id };

			for (m.index = q.minimum; m.index <= (unsigned int)q.maximum; m.index++)
				if (!ioctl(fd, VIDIOC_QUERYMENU, &m) && !strcmp((char *)m.name, item))
					return m.index;
			break;
		}
		q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
	}
	return pipe_fail(ENOENT, "no menu item \"%s\" in \"%s\"", item, name);
}

/*
 * Sets up vivid for a deterministic frame: webcam input, PIPE_W x PIPE_H XBGR32 (in
 * memory B, G, R, X: DRM's XRGB8888), the 100% colour bar pattern, no OSD text.
 */
static int vivid_setup(int fd)
{
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	int input = 0, bars, osd;

	if (ioctl(fd, VIDIOC_S_INPUT, &input))
		return pipe_fail(errno, "VIDIOC_S_INPUT 0");
	fmt.fmt.pix.width = PIPE_W;
	fmt.fmt.pix.height = PIPE_H;
	fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_XBGR32;
	fmt.fmt.pix.field = V4L2_FIELD_NONE;
	if (ioctl(fd, VIDIOC_S_FMT, &fmt))
		return pipe_fail(errno, "VIDIOC_S_FMT");
	if (fmt.fmt.pix.width != PIPE_W || fmt.fmt.pix.height != PIPE_H ||
	    fmt.fmt.pix.pixelformat != V4L2_PIX_FMT_XBGR32 || fmt.fmt.pix.bytesperline != PIPE_W * 4)
		return pipe_fail(EINVAL, "vivid gave %ux%u %.4s, %u bytes per line",
				 fmt.fmt.pix.width, fmt.fmt.pix.height,
				 (char *)&fmt.fmt.pix.pixelformat, fmt.fmt.pix.bytesperline);
	bars = v4l2_menu_index(fd, "Test Pattern", "100% Colorbar");
	osd = v4l2_menu_index(fd, "OSD Text Mode", "None");
	if (bars < 0 || osd < 0)
		return bars < 0 ? bars : osd;
	if (v4l2_set_ctrl_by_name(fd, "Test Pattern", bars) ||
	    v4l2_set_ctrl_by_name(fd, "OSD Text Mode", osd))
		return -EIO;
	return 0;
}

/* Captures one frame into the dma-buf buf (V4L2_MEMORY_DMABUF); stops streaming. */
static int vivid_capture(int fd, int buf, uint64_t size)
{
	struct v4l2_requestbuffers req = {
		.count = 1, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_DMABUF,
	};
	struct v4l2_buffer b = {
		.index = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_DMABUF,
	};
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE, ret = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (ioctl(fd, VIDIOC_REQBUFS, &req))
		return pipe_fail(errno, "VIDIOC_REQBUFS DMABUF");
	b.m.fd = buf;
	b.length = size;
	if (ioctl(fd, VIDIOC_QBUF, &b)) {
		ret = pipe_fail(errno, "VIDIOC_QBUF of the cmabuf dma-buf");
		goto free;
	}
	if (ioctl(fd, VIDIOC_STREAMON, &type)) {
		ret = pipe_fail(errno, "VIDIOC_STREAMON");
		goto free;
	}
	if (poll(&p, 1, 5000) != 1)
		ret = pipe_fail(ETIMEDOUT, "no frame from vivid within 5 s");
	else if (ioctl(fd, VIDIOC_DQBUF, &b))
		ret = pipe_fail(errno, "VIDIOC_DQBUF");
	else if (b.flags & V4L2_BUF_FLAG_ERROR)
		ret = pipe_fail(EIO, "vivid flagged the frame as an error");
	ioctl(fd, VIDIOC_STREAMOFF, &type);
free:
	req.count = 0;
	ioctl(fd, VIDIOC_REQBUFS, &req);
	return ret;
}

/* The 100% colour bars at column x, as XRGB8888 (0x00RRGGBB). */
static uint32_t colorbar_at(unsigned int x, unsigned int width)
{
	static const uint32_t bars[8] = {
		0xffffff, 0xffff00, 0x00ffff, 0x00ff00, 0xff00ff, 0xff0000, 0x0000ff, 0x000000,
	};

	return bars[x * 8 / width];
}

/*
 * Checks a PIPE_W x PIPE_H XRGB8888 frame against the colour bars, ignoring the X byte
 * and 2 columns either side of each bar edge; returns the mismatches (first in *where).
 */
static long check_colorbars(const uint32_t *px, char *where, size_t len)
{
	unsigned int x, y;
	long bad = 0;

	for (y = 0; y < PIPE_H; y++)
		for (x = 0; x < PIPE_W; x++) {
			unsigned int edge = x % (PIPE_W / 8);
			uint32_t got = px[y * PIPE_W + x] & 0xffffff, want = colorbar_at(x, PIPE_W);

			if (edge < 2 || edge >= PIPE_W / 8 - 2 || got == want)
				continue;
			if (!bad++)
				snprintf(where, len, "(%u,%u) is %06x, not %06x", x, y, got, want);
		}
	return bad;
}

/* ---- DRM: vkms and vgem ---- */

/* Opens the DRM card whose driver is called name. */
static int drm_open(const char *name)
{
	char path[32], drv[32];
	int i, fd;

	for (i = 0; i < 16; i++) {
		struct drm_version v = { .name = drv, .name_len = sizeof(drv) - 1 };

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(drv, 0, sizeof(drv));
		if (!ioctl(fd, DRM_IOCTL_VERSION, &v) && !strcmp(drv, name))
			return fd;
		close(fd);
	}
	return pipe_fail(ENODEV, "no DRM card of driver %s in /dev/dri", name);
}

/* A GEM handle for dma-buf fd buf in DRM device fd. */
static int drm_import(int fd, int buf, uint32_t *handle)
{
	struct drm_prime_handle p = { .fd = buf };

	if (ioctl(fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p))
		return pipe_fail(errno, "DRM_IOCTL_PRIME_FD_TO_HANDLE");
	*handle = p.handle;
	return 0;
}

static void drm_close_handle(int fd, uint32_t handle)
{
	struct drm_gem_close c = { .handle = handle };

	ioctl(fd, DRM_IOCTL_GEM_CLOSE, &c);
}

/* The id of property name of object obj (of type), or 0. */
static uint32_t drm_prop(int fd, uint32_t obj, uint32_t type, const char *name)
{
	struct drm_mode_obj_get_properties op = { .obj_id = obj, .obj_type = type };
	uint32_t ids[64], found = 0;
	uint64_t values[64];
	unsigned int i;

	if (ioctl(fd, DRM_IOCTL_MODE_OBJ_GETPROPERTIES, &op) || op.count_props > 64)
		return 0;
	op.props_ptr = (uintptr_t)ids;
	op.prop_values_ptr = (uintptr_t)values;
	if (ioctl(fd, DRM_IOCTL_MODE_OBJ_GETPROPERTIES, &op))
		return 0;
	for (i = 0; i < op.count_props && !found; i++) {
		struct drm_mode_get_property p = { .prop_id = ids[i] };

		if (!ioctl(fd, DRM_IOCTL_MODE_GETPROPERTY, &p) && !strcmp(p.name, name))
			found = ids[i];
	}
	return found;
}

/* The value of property name of object obj, or -1. */
static long long drm_prop_value(int fd, uint32_t obj, uint32_t type, const char *name)
{
	struct drm_mode_obj_get_properties op = { .obj_id = obj, .obj_type = type };
	uint32_t ids[64], want = drm_prop(fd, obj, type, name);
	uint64_t values[64];
	unsigned int i;

	if (!want || ioctl(fd, DRM_IOCTL_MODE_OBJ_GETPROPERTIES, &op) || op.count_props > 64)
		return -1;
	op.props_ptr = (uintptr_t)ids;
	op.prop_values_ptr = (uintptr_t)values;
	if (ioctl(fd, DRM_IOCTL_MODE_OBJ_GETPROPERTIES, &op))
		return -1;
	for (i = 0; i < op.count_props; i++)
		if (ids[i] == want)
			return values[i];
	return -1;
}

/* A framebuffer of PIPE_W x PIPE_H XRGB8888 on GEM handle. */
static int drm_addfb(int fd, uint32_t handle, uint32_t *fb)
{
	struct drm_mode_fb_cmd2 f = {
		.width = PIPE_W, .height = PIPE_H, .pixel_format = DRM_FORMAT_XRGB8888,
		.handles = { handle }, .pitches = { PIPE_W * 4 },
	};

	if (ioctl(fd, DRM_IOCTL_MODE_ADDFB2, &f))
		return pipe_fail(errno, "DRM_IOCTL_MODE_ADDFB2");
	*fb = f.fb_id;
	return 0;
}

struct atomic_req {
	uint32_t objs[8], counts[8], props[32];
	uint64_t values[32];
	int nobj, nprop;
};

static void atomic_add(struct atomic_req *r, uint32_t obj, uint32_t prop, uint64_t value)
{
	if (!r->nobj || r->objs[r->nobj - 1] != obj) {
		r->objs[r->nobj] = obj;
		r->counts[r->nobj++] = 0;
	}
	r->counts[r->nobj - 1]++;
	r->props[r->nprop] = prop;
	r->values[r->nprop++] = value;
}

static int atomic_commit(int fd, struct atomic_req *r)
{
	struct drm_mode_atomic a = {
		.flags = DRM_MODE_ATOMIC_ALLOW_MODESET,
		.count_objs = r->nobj,
		.objs_ptr = (uintptr_t)r->objs,
		.count_props_ptr = (uintptr_t)r->counts,
		.props_ptr = (uintptr_t)r->props,
		.prop_values_ptr = (uintptr_t)r->values,
	};

	return ioctl(fd, DRM_IOCTL_MODE_ATOMIC, &a) ? pipe_fail(errno, "DRM_IOCTL_MODE_ATOMIC") : 0;
}

/*
 * Scans the dma-buf in out on vkms's CRTC (PRIME import, framebuffer, atomic commit of
 * the primary plane, the CRTC in a PIPE_W x PIPE_H mode and the writeback connector)
 * and waits until the writeback connector has written the composed frame into the
 * dma-buf out.
 */
static int vkms_show_and_write_back(int in, int out)
{
	uint32_t crtcs[8], conns[16], planes[16], in_handle = 0, out_handle = 0, in_fb = 0,
		 out_fb = 0, crtc = 0, wb = 0, plane = 0, blob = 0;
	struct drm_mode_card_res res = { 0 };
	struct drm_mode_get_plane_res pres = { 0 };
	struct drm_mode_modeinfo mode, modes[64];
	struct drm_set_client_cap cap;
	struct atomic_req r = { 0 };
	bool have_mode = false;
	int fd, ret, fence = -1;
	unsigned int i, j;

	fd = drm_open("vkms");
	if (fd < 0)
		return fd;
	for (i = 0; i < 3; i++) {
		static const uint64_t caps[3] = { DRM_CLIENT_CAP_UNIVERSAL_PLANES,
						  DRM_CLIENT_CAP_ATOMIC,
						  DRM_CLIENT_CAP_WRITEBACK_CONNECTORS };

		cap.capability = caps[i];
		cap.value = 1;
		if (ioctl(fd, DRM_IOCTL_SET_CLIENT_CAP, &cap)) {
			ret = pipe_fail(errno, "DRM_IOCTL_SET_CLIENT_CAP %llu",
					(unsigned long long)caps[i]);
			goto out;
		}
	}
	if (ioctl(fd, DRM_IOCTL_MODE_GETRESOURCES, &res) || res.count_crtcs > 8 ||
	    res.count_connectors > 16) {
		ret = pipe_fail(errno, "DRM_IOCTL_MODE_GETRESOURCES");
		goto out;
	}
	res.crtc_id_ptr = (uintptr_t)crtcs;
	res.connector_id_ptr = (uintptr_t)conns;
	res.count_fbs = res.count_encoders = 0;
	if (ioctl(fd, DRM_IOCTL_MODE_GETRESOURCES, &res) || !res.count_crtcs) {
		ret = pipe_fail(errno, "vkms has no CRTC");
		goto out;
	}
	crtc = crtcs[0];
	for (i = 0; i < res.count_connectors; i++) {
		struct drm_mode_get_connector c = { .connector_id = conns[i] };

		if (ioctl(fd, DRM_IOCTL_MODE_GETCONNECTOR, &c))
			continue;
		if (c.connector_type == DRM_MODE_CONNECTOR_WRITEBACK) {
			wb = conns[i];
			continue;
		}
		/* The virtual connector's mode list holds the mode to run the CRTC in. */
		if (c.count_modes > 64)
			c.count_modes = 64;
		c.modes_ptr = (uintptr_t)modes;
		c.count_props = c.count_encoders = 0;
		if (ioctl(fd, DRM_IOCTL_MODE_GETCONNECTOR, &c))
			continue;
		for (j = 0; j < c.count_modes && !have_mode; j++)
			if (modes[j].hdisplay == PIPE_W && modes[j].vdisplay == PIPE_H) {
				mode = modes[j];
				have_mode = true;
			}
	}
	if (!wb || !have_mode) {
		ret = pipe_fail(ENODEV, "vkms: %s", !wb ? "no writeback connector (enable_writeback)" :
					 "no 1280x720 mode");
		goto out;
	}
	if (ioctl(fd, DRM_IOCTL_MODE_GETPLANERESOURCES, &pres) || pres.count_planes > 16) {
		ret = pipe_fail(errno, "DRM_IOCTL_MODE_GETPLANERESOURCES");
		goto out;
	}
	pres.plane_id_ptr = (uintptr_t)planes;
	ioctl(fd, DRM_IOCTL_MODE_GETPLANERESOURCES, &pres);
	for (i = 0; i < pres.count_planes && !plane; i++)
		if (drm_prop_value(fd, planes[i], DRM_MODE_OBJECT_PLANE, "type") ==
		    PLANE_TYPE_PRIMARY)
			plane = planes[i];
	if (!plane) {
		ret = pipe_fail(ENODEV, "vkms has no primary plane");
		goto out;
	}

	ret = drm_import(fd, in, &in_handle);
	if (!ret)
		ret = drm_import(fd, out, &out_handle);
	if (!ret)
		ret = drm_addfb(fd, in_handle, &in_fb);
	if (!ret)
		ret = drm_addfb(fd, out_handle, &out_fb);
	if (ret)
		goto out;
	{
		struct drm_mode_create_blob b = { .data = (uintptr_t)&mode, .length = sizeof(mode) };

		if (ioctl(fd, DRM_IOCTL_MODE_CREATEPROPBLOB, &b)) {
			ret = pipe_fail(errno, "DRM_IOCTL_MODE_CREATEPROPBLOB");
			goto out;
		}
		blob = b.blob_id;
	}
	atomic_add(&r, crtc, drm_prop(fd, crtc, DRM_MODE_OBJECT_CRTC, "MODE_ID"), blob);
	atomic_add(&r, crtc, drm_prop(fd, crtc, DRM_MODE_OBJECT_CRTC, "ACTIVE"), 1);
#define PLANE_PROP(n, v) atomic_add(&r, plane, drm_prop(fd, plane, DRM_MODE_OBJECT_PLANE, n), v)
	PLANE_PROP("FB_ID", in_fb);
	PLANE_PROP("CRTC_ID", crtc);
	PLANE_PROP("SRC_X", 0);
	PLANE_PROP("SRC_Y", 0);
	PLANE_PROP("SRC_W", (uint64_t)PIPE_W << 16);
	PLANE_PROP("SRC_H", (uint64_t)PIPE_H << 16);
	PLANE_PROP("CRTC_X", 0);
	PLANE_PROP("CRTC_Y", 0);
	PLANE_PROP("CRTC_W", PIPE_W);
	PLANE_PROP("CRTC_H", PIPE_H);
#undef PLANE_PROP
	atomic_add(&r, wb, drm_prop(fd, wb, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID"), crtc);
	atomic_add(&r, wb, drm_prop(fd, wb, DRM_MODE_OBJECT_CONNECTOR, "WRITEBACK_FB_ID"), out_fb);
	atomic_add(&r, wb, drm_prop(fd, wb, DRM_MODE_OBJECT_CONNECTOR, "WRITEBACK_OUT_FENCE_PTR"),
		   (uintptr_t)&fence);
	ret = atomic_commit(fd, &r);
	if (!ret) {
		struct pollfd p = { .fd = fence, .events = POLLIN };

		if (fence < 0)
			ret = pipe_fail(EIO, "vkms gave no writeback fence");
		else if (poll(&p, 1, 5000) != 1)
			ret = pipe_fail(ETIMEDOUT, "the writeback did not complete within 5 s");
	}
out:
	if (fence >= 0)
		close(fence);
	/* Closing the device takes the framebuffers off the planes and disables the CRTC. */
	if (in_fb)
		ioctl(fd, DRM_IOCTL_MODE_RMFB, &in_fb);
	if (out_fb)
		ioctl(fd, DRM_IOCTL_MODE_RMFB, &out_fb);
	if (in_handle)
		drm_close_handle(fd, in_handle);
	if (out_handle)
		drm_close_handle(fd, out_handle);
	close(fd);
	return ret;
}

#endif /* CMABUF_PIPELINE_H */
