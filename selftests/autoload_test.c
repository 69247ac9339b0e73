// SPDX-License-Identifier: GPL-2.0
/*
 * Module autoload from the device tree, as a board's user space does it with busybox:
 * cmabuf.ko installed under /lib/modules/$(uname -r)/extra and indexed by depmod, its
 * modalias (of:N*T*Ccmabuf,pool, from the crate's MODULE_OF_TABLE) matches every pool
 * device; with cmabuf unloaded, `modprobe <the device's modalias>` loads it and the
 * pools bind; and with mdev handling uevents (busybox `uevent mdev`, mdev.conf
 * `$MODALIAS=.* 0:0 660 @modprobe "$MODALIAS"`), a cmabuf,pool node applied at run time
 * (dts/runtime-pool.dtso) loads cmabuf by itself.
 */
#include <fnmatch.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "cmabuf_util.h"
#include "overlay_util.h"
#include "kselftest_harness.h"

#define CAMERA_PDEV PLATFORM_DEVICES "/cmabuf-camera"
#define CAMERA_DEV "/dev/cmabuf-camera"
#define RUNTIME_DEV "/dev/cmabuf-runtime"
#define LOADER "/dev/cmabuf_test_overlay"
#define MDEV_CONF "/etc/mdev.conf"
/* What a busybox system's mdev.conf has for module autoloading. */
#define MDEV_RULE "$MODALIAS=.* 0:0 660 @modprobe \"$MODALIAS\"\n"

/* Runs argv (looked up on the PATH) and waits for it; its exit status, or -1. */
static int run(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Creates (or truncates) the file at path with len bytes of data; 0 or -1. */
static int create_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Copies the file at from to to; 0 or -1. */
static int copy_file(const char *from, const char *to)
{
	static char data[8 << 20];
	ssize_t n = read_bytes(from, data, sizeof(data));

	if (n <= 0 || n == sizeof(data))
		return -1;
	return create_file(to, data, n);
}

/* The device's modalias (sysfs), without its newline; 0 or -1. */
static int device_modalias(const char *pdev, char *alias, size_t len)
{
	char path[256];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/modalias", pdev);
	n = read_text(path, alias, len);
	if (n <= 0)
		return -1;
	alias[strcspn(alias, "\n")] = '\0';
	return 0;
}

/* Whether modules.alias has a line "alias <pattern> cmabuf" whose pattern matches. */
static bool alias_names_cmabuf(const char *modules_alias, const char *alias)
{
	static char text[1 << 20];
	char *line, *save = NULL;

	if (read_text(modules_alias, text, sizeof(text)) < 0)
		return false;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char pattern[256], module[64];

		if (sscanf(line, "alias %255s %63s", pattern, module) == 2 &&
		    strcmp(module, "cmabuf") == 0 && fnmatch(pattern, alias, 0) == 0)
			return true;
	}
	return false;
}

FIXTURE(installed) {
	char moddir[128];
	char modules_alias[192];
	int bound_before;
	pid_t uevent;
	int loader;
	int overlay;
};

/*
 * cmabuf.ko in /lib/modules/$(uname -r)/extra, indexed by depmod, as a board's root file
 * system has it; then cmabuf unloaded, its pools gone.
 */
FIXTURE_SETUP(installed)
{
	char extra[192], ko[256];
	struct utsname uts;

	self->uevent = -1;
	self->loader = -1;
	self->overlay = -1;
	ASSERT_EQ(0, uname(&uts));
	snprintf(self->moddir, sizeof(self->moddir), "/lib/modules/%s", uts.release);
	snprintf(self->modules_alias, sizeof(self->modules_alias), "%s/modules.alias",
		 self->moddir);
	snprintf(extra, sizeof(extra), "%s/extra", self->moddir);
	snprintf(ko, sizeof(ko), "%s/cmabuf.ko", extra);
	mkdir(self->moddir, 0755);
	ASSERT_TRUE(mkdir(extra, 0755) == 0 || errno == EEXIST) TH_LOG("mkdir %s: %s", extra, strerror(errno));
	ASSERT_EQ(0, copy_file(CMABUF_MODULE_PATH, ko)) TH_LOG("copying cmabuf.ko to %s", ko);
	ASSERT_EQ(0, run((char *[]){ "depmod", NULL })) TH_LOG("busybox depmod failed");

	self->bound_before = driver_bound_count();
	ASSERT_LT(0, self->bound_before) TH_LOG("cmabuf serves no pool of the board before the test");
	if (module_loaded())
		ASSERT_EQ(0, module_unload()) TH_LOG("rmmod cmabuf: %s", strerror(errno));
	ASSERT_TRUE(wait_path(CAMERA_DEV, false, 2000));
}

/* Whatever the test did: no helper left running, the overlay gone, cmabuf loaded again. */
FIXTURE_TEARDOWN(installed)
{
	if (self->uevent > 0) {
		kill(self->uevent, SIGTERM);
		waitpid(self->uevent, NULL, 0);
	}
	unlink(MDEV_CONF);
	if (self->overlay >= 0)
		EXPECT_EQ(0, ioctl(self->loader, OVERLAY_IOC_REMOVE, self->overlay));
	if (self->loader >= 0) {
		close(self->loader);
		EXPECT_EQ(0, unload_module("cmabuf_test_overlay"));
	}
	if (!module_loaded())
		EXPECT_EQ(0, module_load());
	EXPECT_TRUE(wait_path(CAMERA_DEV, true, 2000));
	EXPECT_EQ(0, run((char *[]){ "rm", "-rf", self->moddir, NULL }));
}

/* depmod indexed cmabuf's OF alias, and it matches the pool devices' modalias. */
TEST_F(installed, modules_alias_matches_pool_devices)
{
	char alias[256];

	ASSERT_EQ(0, device_modalias(CAMERA_PDEV, alias, sizeof(alias)));
	EXPECT_EQ(0, strncmp(alias, "of:N", 4)) TH_LOG("camera pool's modalias: %s", alias);
	EXPECT_TRUE(alias_names_cmabuf(self->modules_alias, alias))
		TH_LOG("no line of %s matches %s for cmabuf", self->modules_alias, alias);
	/* And nothing else: a compatible cmabuf does not serve is not its alias. */
	EXPECT_FALSE(alias_names_cmabuf(self->modules_alias, "of:NfooT(null)Cvendor,other-pool"));
}

/* modprobe of a pool device's modalias loads cmabuf, which binds every pool again. */
TEST_F(installed, modprobe_by_modalias_binds_pools)
{
	char alias[256];

	ASSERT_EQ(0, device_modalias(CAMERA_PDEV, alias, sizeof(alias)));
	ASSERT_FALSE(module_loaded());
	ASSERT_EQ(0, run((char *[]){ "modprobe", alias, NULL })) TH_LOG("modprobe '%s' failed", alias);
	EXPECT_TRUE(module_loaded());
	EXPECT_TRUE(wait_path(CAMERA_DEV, true, 2000));
	EXPECT_EQ(self->bound_before, driver_bound_count());
}

/*
 * The hotplug path: mdev runs for every uevent (busybox `uevent mdev`, the netlink
 * listener) with the autoload rule; a cmabuf,pool node applied while cmabuf is not
 * loaded makes a platform device whose uevent carries its MODALIAS, and cmabuf loads
 * by itself and serves the new pool, the board's pools too.
 */
TEST_F(installed, uevent_of_new_pool_node_loads_cmabuf)
{
	mkdir("/etc", 0755);
	ASSERT_EQ(0, create_file(MDEV_CONF, MDEV_RULE, strlen(MDEV_RULE)))
		TH_LOG("%s: %s", MDEV_CONF, strerror(errno));
	self->uevent = fork();
	ASSERT_LE(0, self->uevent);
	if (self->uevent == 0) {
		execlp("uevent", "uevent", "mdev", (char *)NULL);
		_exit(127);
	}
	/* The listener is up once it is blocked in recv: give it a moment. */
	usleep(300 * 1000);
	ASSERT_EQ(0, waitpid(self->uevent, NULL, WNOHANG)) TH_LOG("busybox uevent exited at once");

	self->loader = test_module_open(LOADER, "/lib/modules/cmabuf_test_overlay.ko");
	ASSERT_LE(0, self->loader) TH_LOG("overlay loader: %s", strerror(errno));
	self->overlay = overlay_apply(self->loader, "runtime-pool");
	ASSERT_LT(0, self->overlay) TH_LOG("apply: %s", strerror(-self->overlay));

	EXPECT_TRUE(wait_path(RUNTIME_DEV, true, 10000))
		TH_LOG("cmabuf was not loaded for the new node (module loaded: %d)", module_loaded());
	EXPECT_TRUE(module_loaded());
	EXPECT_TRUE(wait_path(CAMERA_DEV, true, 2000));
	EXPECT_EQ(self->bound_before + 1, driver_bound_count());
}

TEST_HARNESS_MAIN
