/* SPDX-License-Identifier: GPL-2.0 */
/* Devices that import dma-bufs in the test VMs (devices.c). */
#ifndef PINMEM_TEST_DEVICES_H
#define PINMEM_TEST_DEVICES_H

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/videodev2.h>

/* insmod a module set of /lib/modules/dmabuf/ once per boot */
void load_set(const char *set, const char *params);
/* Is @needle in the kernel log? */
bool log_has(const char *needle);

/* vivid instance 0 uses vb2-vmalloc (imports by vmap), 1 vb2-dma-contig. */
#define VIVID_PARAMS "n_devs=2 allocators=0,1 node_types=0x1,0x1"
/* the capture node of vivid instance @inst, its format in *@fmt; or -1 */
int open_vivid(int inst, struct v4l2_format *fmt);
/* one frame into dma-buf @dfd: 0, or -errno of the ioctl *@what names */
int capture_one(int vfd, int dfd, size_t len, uint32_t *bytesused,
		const char **what);

/*
 * vgem, DRM PRIME: the few DRM ioctls used (drm/drm.h is not in every
 * libc's headers).
 */
struct t_drm_version {
	int version_major, version_minor, version_patchlevel;
	size_t name_len;
	char *name;
	size_t date_len;
	char *date;
	size_t desc_len;
	char *desc;
};

struct t_drm_prime_handle {
	uint32_t handle;
	uint32_t flags;
	int32_t fd;
};

struct t_drm_gem_close {
	uint32_t handle;
	uint32_t pad;
};

#define T_DRM_IOCTL_VERSION	_IOWR('d', 0x00, struct t_drm_version)
#define T_DRM_IOCTL_GEM_CLOSE	_IOW('d', 0x09, struct t_drm_gem_close)
#define T_DRM_IOCTL_PRIME_HANDLE_TO_FD _IOWR('d', 0x2d, struct t_drm_prime_handle)
#define T_DRM_IOCTL_PRIME_FD_TO_HANDLE _IOWR('d', 0x2e, struct t_drm_prime_handle)
#define T_DRM_RDWR	O_RDWR

/* the /dev/dri/card* that is vgem (after load_set("vgem", "")); or -1 */
int open_vgem(void);
/* DRM_IOCTL_PRIME_FD_TO_HANDLE of dma-buf @dfd: 0 or -errno */
int prime_import(int drm, int dfd, uint32_t *handle);
/* DRM_IOCTL_GEM_CLOSE: 0 or -errno */
int gem_close(int drm, uint32_t handle);

/* tests/kmod/pinmem_edu.c's ioctl */
struct pinmem_edu_copy {
	int32_t src_fd;
	int32_t dst_fd;
	uint64_t len;
	uint64_t nr_xfers;
	uint64_t bus_min;
	uint64_t bus_max;
};

#define PINMEM_EDU_COPY	_IOWR('E', 1, struct pinmem_edu_copy)
/* mmap() of /dev/pinmem_edu then maps this dma-buf, as an importer would */
#define PINMEM_EDU_MMAP_DMABUF	_IOW('E', 2, int32_t)
#define EDU_KO		"/lib/modules/test-pinmem_edu.ko"
/* /dev/pinmem_edu, loading the test driver if needed; or -1 */
int open_edu(void);

#endif
