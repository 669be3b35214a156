/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libpinmem: a small C library over the /dev/pinmem ioctls.
 *
 * Conventions:
 *
 * - Every function that can fail returns 0 (or a count, where documented) on
 *   success and a NEGATIVE errno value on failure, e.g. -ENOMEM. errno is
 *   also set to the positive value, so perror() works; nothing else is
 *   kept as state. pinmem_strerror() explains an error in pinmem's terms.
 * - A context (struct pinmem) is one open() of /dev/pinmem, bound to the
 *   calling process's address space: after fork() the child must open its
 *   own (the parent's gives -EPERM there). Closing it releases every pin and
 *   contiguous buffer it holds.
 * - Handles are the module's: unique within a context and never reused.
 * - The structs below are the library's own and are frozen for symbol
 *   version PINMEM_1; the kernel structs (<linux/pinmem.h>) may grow
 *   without breaking programs linked against this library.
 *
 * Link with -lpinmem (pkg-config --cflags --libs libpinmem).
 */
#ifndef PINMEM_LIB_H
#define PINMEM_LIB_H

#include <stddef.h>
#include <stdint.h>

#include <linux/pinmem.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this library (not of the module's ABI). */
#define PINMEM_LIB_VERSION	"0.1.0"
/* Oldest module ABI (PINMEM_IOC_VERSION) this library works with. */
#define PINMEM_LIB_MIN_ABI	2
/* Where pinmem_open() looks for the device. */
#define PINMEM_DEVICE_PATH	"/dev/pinmem"

/* An open context. Opaque. */
struct pinmem;

/*
 * What a call was, for pinmem_strerror(): the same errno means different
 * things for different ioctls (ENOENT at open is "module not loaded", at
 * UNPIN "no such handle").
 */
enum pinmem_call {
	PINMEM_CALL_ANY = 0,
	PINMEM_CALL_OPEN,		/* pinmem_open(), pinmem_open_path() */
	PINMEM_CALL_VERSION,		/* pinmem_get_abi_version() */
	PINMEM_CALL_PIN,
	PINMEM_CALL_UNPIN,
	PINMEM_CALL_QUERY,		/* pinmem_query*() */
	PINMEM_CALL_ACCESS,		/* pinmem_read(), pinmem_write() */
	PINMEM_CALL_CONTIG_ALLOC,
	PINMEM_CALL_CONTIG_FREE,
	PINMEM_CALL_MMAP,		/* pinmem_contig_mmap() */
	PINMEM_CALL_EXPORT,		/* pinmem_export() */
	PINMEM_CALL_PIN_MEMFD,		/* pinmem_pin_memfd() */
};

/* A pin, as PINMEM_IOC_QUERY describes it. */
struct pinmem_pin_info {
	uint64_t handle;
	uint64_t addr;			/* first byte of the pin */
	uint64_t length;		/* bytes */
	uint64_t nr_pages;
	uint32_t pin_flags;		/* PINMEM_PIN_* */
	uint32_t __pad;
	uint64_t zone_pages[PINMEM_ZONE_SLOTS];	/* by enum pinmem_zone */
	uint64_t nr_compound;		/* pages of compound (large) pages */
	uint64_t nr_huge;		/* pages of PMD-sized or larger pages */
};

/* A contiguous buffer, as PINMEM_IOC_CONTIG_ALLOC returned it. */
struct pinmem_contig_info {
	uint64_t handle;
	uint64_t length;		/* bytes */
	uint64_t mmap_offset;		/* for mmap(MAP_SHARED) of the device */
	uint64_t phys_addr;		/* 0 without CAP_SYS_ADMIN */
	uint32_t placement;		/* PINMEM_CONTIG_IN_CMA, _IN_POOL */
	uint32_t __pad;
};

/*
 * Open PINMEM_DEVICE_PATH (or @path) and check the module's ABI version.
 * Errors, besides open(2)'s:
 *   -ENOENT, -ENODEV, -ENXIO  the module is not loaded (no device, or a
 *                             device node without a driver);
 *   -EACCES                   the node is root only (dev_mode, udev rule);
 *   -ENOTTY                   @path is not a pinmem device, or the module is
 *                             too old to answer PINMEM_IOC_VERSION;
 *   -EPROTO                   the module's ABI is older than
 *                             PINMEM_LIB_MIN_ABI.
 */
int pinmem_open(struct pinmem **pmp);
int pinmem_open_path(const char *path, struct pinmem **pmp);
/* Release the context: every pin and contiguous buffer of it. NULL is ok. */
void pinmem_close(struct pinmem *pm);
/* The device fd, for poll/mmap/ioctls the library does not wrap. */
int pinmem_fd(const struct pinmem *pm);
/* The module's ABI version, as read at open. */
uint32_t pinmem_abi_version(const struct pinmem *pm);
/* Ask the module again (PINMEM_IOC_VERSION). */
int pinmem_get_abi_version(struct pinmem *pm, uint32_t *abi);
/* PINMEM_LIB_VERSION of the library actually linked. */
const char *pinmem_lib_version(void);

/*
 * Pin [@addr, @addr + @length) (page aligned) with PINMEM_PIN_* @flags.
 * @handle and @nr_pages may be NULL.
 */
int pinmem_pin(struct pinmem *pm, void *addr, size_t length,
	       unsigned int flags, uint64_t *handle, uint64_t *nr_pages);
int pinmem_unpin(struct pinmem *pm, uint64_t handle);

/* Describe a pin by handle, or by any address inside it. */
int pinmem_query(struct pinmem *pm, uint64_t handle,
		 struct pinmem_pin_info *info);
int pinmem_query_addr(struct pinmem *pm, const void *addr,
		      struct pinmem_pin_info *info);
/*
 * PFNs of pages @first.. of a pin into @pfns, which holds *@nr_pfns
 * entries; *@nr_pfns is set to the number written. Needs CAP_SYS_ADMIN
 * (-EPERM otherwise).
 */
int pinmem_query_pfns(struct pinmem *pm, uint64_t handle, uint64_t first,
		      uint64_t *pfns, size_t *nr_pfns);

/* Copy through the pinned pages themselves, as a device's DMA would. */
int pinmem_read(struct pinmem *pm, uint64_t handle, uint64_t offset,
		void *buf, size_t length);
int pinmem_write(struct pinmem *pm, uint64_t handle, uint64_t offset,
		 const void *buf, size_t length);

/*
 * A physically contiguous buffer of @length bytes (page aligned); @align 0
 * or a power of two; @flags 0 or PINMEM_CONTIG_POOL.
 */
int pinmem_contig_alloc(struct pinmem *pm, size_t length, size_t align,
			unsigned int flags, struct pinmem_contig_info *info);
int pinmem_contig_free(struct pinmem *pm, uint64_t handle);
/*
 * Map the whole buffer MAP_SHARED with @prot into *@addrp. The mapping
 * keeps the buffer alive after pinmem_contig_free(); unmap with
 * pinmem_contig_munmap() (or munmap(addr, info->length)).
 */
int pinmem_contig_mmap(struct pinmem *pm, const struct pinmem_contig_info *info,
		       int prot, void **addrp);
int pinmem_contig_munmap(const struct pinmem_contig_info *info, void *addr);

/*
 * A dma-buf fd (*@fdp) of the whole pin or contiguous buffer @handle, for
 * a driver that imports dma-bufs (V4L2 DMABUF, DRM PRIME, ...); @flags 0 or
 * PINMEM_EXPORT_CLOEXEC. The dma-buf keeps the pages pinned and charged
 * after pinmem_unpin(), pinmem_contig_free() or pinmem_close(), until its
 * last reference goes (see pinmem(4)). Symbol version PINMEM_2.
 */
int pinmem_export(struct pinmem *pm, uint64_t handle, unsigned int flags,
		  int *fdp);

/*
 * Pin [@offset, @offset + @length) of memfd @memfd (shmem or hugetlb)
 * without mapping it; @flags 0 or PINMEM_PIN_WRITE. -EOPNOTSUPP on kernels
 * before 6.11. @handle and @nr_pages may be NULL. Symbol version PINMEM_2.
 */
int pinmem_pin_memfd(struct pinmem *pm, int memfd, uint64_t offset,
		     size_t length, unsigned int flags, uint64_t *handle,
		     uint64_t *nr_pages);

/*
 * A one-line explanation of @err (positive or negative errno) returned by
 * @call, with pinmem's meaning where it has one. Never NULL; a static
 * string, or strerror()'s for errors with no pinmem-specific meaning.
 *
 * -ENOMEM of PINMEM_CALL_PIN or PINMEM_CALL_PIN_MEMFD, asked right after
 * pinmem_pin() or pinmem_pin_memfd() failed so in the same thread, says
 * which limit refused the pin, with the numbers: RLIMIT_MEMLOCK (its value,
 * what the user has locked, what the pin needed, and how to raise it or
 * that CAP_IPC_LOCK lifts it), the module's max_pins or max_pages, or none
 * (memory). The library reads that from /proc/self/fdinfo of the context,
 * getrlimit() and the thread's capabilities when the pin fails. The text
 * is in a thread-local buffer, valid until that thread's next pin call.
 * When the library cannot tell (a module without the fdinfo counts), it
 * is the list of possible causes.
 */
const char *pinmem_strerror(int err, enum pinmem_call call);

/* "DMA", "DMA32", "Normal", "HighMem", "Movable", "Device", or NULL. */
const char *pinmem_zone_name(unsigned int zone);

#ifdef __cplusplus
}
#endif

#endif /* PINMEM_LIB_H */
