// SPDX-License-Identifier: GPL-2.0
/*
 * The devices of the test VMs that import pinmem's dma-bufs, for
 * test_dmabuf, pinmem-demo and the benchmark (tests/bench): the stock
 * kernel's vivid and vgem modules (packed by scripts/vm-run under
 * /lib/modules/dmabuf/), QEMU's edu device through the test driver
 * tests/kmod/pinmem_edu, and the kernel log.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "devices.h"
#include "util.h"

/*
 * insmod /lib/modules/dmabuf/@set/ * in order (their dependencies first,
 * as scripts/vm-run laid them out), @params for the last: the module
 * itself; once per boot.
 */
void load_set(const char *set, const char *params)
{
	char dir[96], cmd[512], mark[96];
	struct dirent **ents;
	int n, i;

	/* each case runs in a child of its own: remember on disk */
	snprintf(mark, sizeof(mark), "/tmp/.dmabuf-loaded-%s", set);
	if (!access(mark, F_OK))
		return;
	snprintf(dir, sizeof(dir), "/lib/modules/dmabuf/%s", set);
	n = scandir(dir, &ents, NULL, alphasort);
	/* none: built in (the debug kernels), or absent; the device check tells */
	if (n < 0)
		return;
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.') {
			snprintf(cmd, sizeof(cmd), "insmod %s/%s %s 2>/dev/null", dir,
				 ents[i]->d_name, i == n - 1 ? params : "");
			/* the device check after this tells if it mattered */
			if (system(cmd))
				diag("%s: insmod failed", ents[i]->d_name);
		}
		free(ents[i]);
	}
	free(ents);
	close(open(mark, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
}

/* Is @needle in the kernel log? */
bool log_has(const char *needle)
{
	return klog_count(needle) > 0;
}

int open_edu(void)
{
	int fd = open("/dev/pinmem_edu", O_RDWR | O_CLOEXEC);

	if (fd < 0 && !access(EDU_KO, F_OK) && !system("insmod " EDU_KO))
		fd = open("/dev/pinmem_edu", O_RDWR | O_CLOEXEC);
	return fd;
}

int open_vivid(int inst, struct v4l2_format *fmt)
{
	char path[32], bus[32];
	int i;

	snprintf(bus, sizeof(bus), "platform:vivid-%03d", inst);
	for (i = 0; i < 64; i++) {
		struct v4l2_capability cap;
		int fd;

		snprintf(path, sizeof(path), "/dev/video%d", i);
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&cap, 0, sizeof(cap));
		if (!ioctl(fd, VIDIOC_QUERYCAP, &cap) &&
		    !strcmp((char *)cap.driver, "vivid") &&
		    !strcmp((char *)cap.bus_info, bus) &&
		    (cap.device_caps & V4L2_CAP_VIDEO_CAPTURE)) {
			memset(fmt, 0, sizeof(*fmt));
			fmt->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
			if (!ioctl(fd, VIDIOC_G_FMT, fmt))
				return fd;
		}
		close(fd);
	}
	return -1;
}

/*
 * Queue @dfd as the only DMABUF buffer of capture node @vfd, stream, and
 * dequeue one frame. 0, or -errno of the first ioctl that failed (*@what
 * names it).
 */
int capture_one(int vfd, int dfd, size_t len, uint32_t *bytesused,
		       const char **what)
{
	struct v4l2_requestbuffers rb = {
		.count = 1, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
	};
	struct v4l2_buffer b = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF, .index = 0,
	};
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE, ret = 0;
	struct pollfd p = { .fd = vfd, .events = POLLIN };

	*what = "VIDIOC_REQBUFS";
	if (ioctl(vfd, VIDIOC_REQBUFS, &rb))
		return -errno;
	b.m.fd = dfd;
	b.length = len;
	*what = "VIDIOC_QBUF";
	if (ioctl(vfd, VIDIOC_QBUF, &b)) {
		ret = -errno;
		goto free;
	}
	*what = "VIDIOC_STREAMON";
	if (ioctl(vfd, VIDIOC_STREAMON, &type)) {
		ret = -errno;
		goto free;
	}
	*what = "poll";
	if (poll(&p, 1, 30000) != 1) {
		ret = -ETIMEDOUT;
		goto off;
	}
	*what = "VIDIOC_DQBUF";
	if (ioctl(vfd, VIDIOC_DQBUF, &b))
		ret = -errno;
	else
		*bytesused = b.bytesused;
off:
	ioctl(vfd, VIDIOC_STREAMOFF, &type);
free:
	rb.count = 0;
	ioctl(vfd, VIDIOC_REQBUFS, &rb);
	return ret;
}

int open_vgem(void)
{
	char path[32], name[32];
	int i;

	for (i = 0; i < 16; i++) {
		struct t_drm_version v = { .name = name, .name_len = sizeof(name) - 1 };
		int fd;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(name, 0, sizeof(name));
		if (!ioctl(fd, T_DRM_IOCTL_VERSION, &v) && !strcmp(name, "vgem"))
			return fd;
		close(fd);
	}
	return -1;
}

int prime_import(int drm, int dfd, uint32_t *handle)
{
	struct t_drm_prime_handle p = { .fd = dfd };

	if (ioctl(drm, T_DRM_IOCTL_PRIME_FD_TO_HANDLE, &p))
		return -errno;
	*handle = p.handle;
	return 0;
}

int gem_close(int drm, uint32_t handle)
{
	struct t_drm_gem_close c = { .handle = handle };

	return ioctl(drm, T_DRM_IOCTL_GEM_CLOSE, &c) ? -errno : 0;
}
