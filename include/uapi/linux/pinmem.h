/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pinmem: long-term, accounted pinning of user memory for DMA.
 *
 * Every open() of /dev/pinmem is a context bound to the opener's address
 * space (mm). Only a process using that mm may issue ioctls on it; any other
 * (a fork child, a process the fd was passed to) gets -EPERM. Closing the
 * last reference to the fd releases every pin of the context.
 *
 * ABI rules shared by every ioctl:
 *
 * - The argument is a pointer to a struct that begins with ``__u32 size``,
 *   which the caller sets to sizeof() the struct it was compiled with (as
 *   openat2(2) and clone3(2) do). A size below the first published version
 *   (``PINMEM_*_SIZE_VER0``) gives -EINVAL, a size above %PINMEM_ARGS_SIZE_MAX (4096, on every
 *   page size) gives -E2BIG. A
 *   size larger than the module knows is accepted only if the unknown tail is
 *   zero (else -E2BIG), so new programs run on old modules as long as they do
 *   not ask for anything new; old programs run on new modules unchanged.
 * - Unknown flag bits and nonzero reserved fields give -EINVAL.
 * - Output fields are written back, up to the caller's size, on success only.
 */
#ifndef _UAPI_LINUX_PINMEM_H
#define _UAPI_LINUX_PINMEM_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * define PINMEM_ABI_VERSION - bumped when the ABI changes: 2 moved the ioctl
 * numbers (type 0xDE, direction and size bits) and made ENOMEM from
 * RLIMIT_MEMLOCK count every pin and buffer of the user, not of the mm.
 */
#define PINMEM_ABI_VERSION	2

/**
 * enum pinmem_zone - where pinned pages sit, in pinmem's own numbering.
 * @PINMEM_ZONE_DMA: ZONE_DMA.
 * @PINMEM_ZONE_DMA32: ZONE_DMA32.
 * @PINMEM_ZONE_NORMAL: ZONE_NORMAL.
 * @PINMEM_ZONE_HIGHMEM: ZONE_HIGHMEM.
 * @PINMEM_ZONE_MOVABLE: ZONE_MOVABLE. A long-term pin never leaves pages here.
 * @PINMEM_ZONE_DEVICE: ZONE_DEVICE.
 * @PINMEM_ZONE_SLOTS: size of the per-zone arrays below; slots past
 *	%PINMEM_ZONE_DEVICE are reserved and read as zero.
 *
 * The kernel's own zone numbers depend on its configuration; these do not.
 */
enum pinmem_zone {
	PINMEM_ZONE_DMA		= 0,
	PINMEM_ZONE_DMA32	= 1,
	PINMEM_ZONE_NORMAL	= 2,
	PINMEM_ZONE_HIGHMEM	= 3,
	PINMEM_ZONE_MOVABLE	= 4,
	PINMEM_ZONE_DEVICE	= 5,
	PINMEM_ZONE_SLOTS	= 8,
};

/* PIN flags */
/** define PINMEM_PIN_WRITE - the device will write: pin for write, dirty on unpin. */
#define PINMEM_PIN_WRITE	(1U << 0)
/* (1U << 1) is reserved: -EINVAL */
#define PINMEM_PIN_FLAGS	(PINMEM_PIN_WRITE)
/**
 * define PINMEM_PIN_MEMFD - in QUERY's @pin_flags only: the pin was made by
 * %PINMEM_IOC_PIN_MEMFD (it has no user address).
 */
#define PINMEM_PIN_MEMFD	(1U << 2)

/**
 * struct pinmem_pin_args - argument of %PINMEM_IOC_PIN.
 * @size: sizeof(struct pinmem_pin_args).
 * @flags: %PINMEM_PIN_WRITE, or 0 for a pin the device only reads.
 * @addr: start of the user range; page aligned.
 * @length: length of the range in bytes; page aligned, nonzero.
 * @handle: out: the pin's handle, unique within the context and never reused.
 * @nr_pages: out: number of pages pinned (@length / page size).
 *
 * Pins every page of [@addr, @addr + @length) with FOLL_LONGTERM: pages in
 * ZONE_MOVABLE or a CMA area are first migrated elsewhere, so the pin never
 * blocks memory hot-unplug or a contiguous allocation. All or nothing: on
 * error nothing stays pinned. @addr may carry a pointer tag (arm64 TBI,
 * x86 LAM): it is untagged first, as GUP does.
 *
 * A range of at least the module parameter parallel_min_pages (default
 * 4096) is pinned in parts on the CPUs the calling thread may run on (its
 * affinity), by the caller and by kernel workers; faults are taken by the
 * caller. A thread confined to one CPU pins alone.
 *
 * A pin without %PINMEM_PIN_WRITE of a private writable mapping is taken
 * as a write pin would be (the pages are faulted in or unshared for
 * writing first), so the device reads the very pages the process writes
 * later, never the shared zero page or a page copy-on-write replaces.
 * Long-term write pins of page cache that needs dirty tracking (a
 * MAP_SHARED mapping of a regular file on a disk filesystem; not tmpfs,
 * shmem or hugetlbfs) are refused on every kernel, as GUP does from 6.5
 * on: the mapping is checked before GUP and the pages after it, so a file
 * another thread maps into the range meanwhile is refused too (as are huge
 * pages a kernel up to 6.4 cannot migrate).
 *
 * Errors: -EINVAL (zero length, misalignment, @addr + @length overflow,
 * unknown flags), -EFAULT (range not entirely mapped with the needed
 * access, kernel address, VM_IO/VM_PFNMAP mapping), -EEXIST (range overlaps
 * a pin of this context), -EOPNOTSUPP (a write pin of file page cache that
 * needs dirty tracking; huge pages of a hugetlb mapping that sit in
 * ZONE_MOVABLE or CMA on a kernel that cannot migrate them for a long-term
 * pin, up to 6.4: use huge pages from other zones; fsdax mappings), -ENOMEM
 * (out of memory; more pages than the machine has; the user's pins and
 * buffers would exceed the caller's RLIMIT_MEMLOCK, unless it has
 * CAP_IPC_LOCK; the context's max_pins/max_pages module-parameter limits
 * would be exceeded; or, on a machine with ZONE_MOVABLE or CMA, the pages
 * that must be migrated or faulted clearly cannot fit in the free and
 * reclaimable memory outside them, which would otherwise end in the OOM
 * killer; or the kernel failed to migrate a page, e.g. one transiently
 * referenced by a fork in progress: retrying may succeed), -EBUSY (the
 * kernel could not migrate a device-coherent page), -EOVERFLOW (a page
 * frame number pinmem cannot store, only on architectures whose headers do
 * not bound it), -ENOSPC (the context used up its handles: 2^32 on 32-bit),
 * -EINTR (fatal signal while pinning), -EPERM (fd used from another mm).
 *
 * Pinned pages are charged to the user that opened the context (the
 * locked_vm io_uring and RDMA charge too), within the caller's
 * RLIMIT_MEMLOCK, whichever process holds the fd: exec, fork and fd
 * passing do not multiply the limit. They also show in the opener's
 * pinned_vm (VmPin in /proc/pid/status). Both are uncharged when the pages
 * are unpinned: by UNPIN, or when the last fd reference goes (a fork child
 * that inherited the fd keeps the pins alive after the parent closes it).
 * mlock()ed memory is counted separately (mm locked_vm), not against this.
 */
struct pinmem_pin_args {
	__u32 size;
	__u32 flags;
	__u64 addr;
	__u64 length;
	__u64 handle;
	__u64 nr_pages;
};

#define PINMEM_PIN_SIZE_VER0	40

/**
 * struct pinmem_pin_memfd_args - argument of %PINMEM_IOC_PIN_MEMFD.
 * @size: sizeof(struct pinmem_pin_memfd_args).
 * @flags: %PINMEM_PIN_WRITE, or 0.
 * @memfd: a memfd (memfd_create(2) with %MFD_ALLOW_SEALING; shmem, or
 *	hugetlbfs with %MFD_HUGETLB) sealed with %F_SEAL_SHRINK.
 * @reserved: must be 0.
 * @offset: byte offset of the range in the file; page aligned (huge page
 *	aligned is not needed for hugetlb).
 * @length: bytes; page aligned, nonzero, the range within the file's size.
 * @handle: out: the pin's handle, as from %PINMEM_IOC_PIN.
 * @nr_pages: out: number of pages pinned.
 *
 * Pins the pages of a memfd range long-term without mapping it, with the
 * kernel's memfd_pin_folios(): missing pages are allocated, pages in
 * ZONE_MOVABLE or CMA are migrated first, as %PINMEM_IOC_PIN does, and
 * each folio is pinned whole. The pin is like any other: released by
 * %PINMEM_IOC_UNPIN or close, usable by QUERY (by handle; its @addr is 0
 * and its @pin_flags have %PINMEM_PIN_MEMFD), ACCESS and EXPORT.
 *
 * The pin gets what mmap() of @memfd with %MAP_SHARED would get: the fd
 * must be open for reading, and for writing for a %PINMEM_PIN_WRITE pin;
 * an append-only file is refused through an fd open for writing; a write
 * pin of an immutable file or of a memfd sealed with %F_SEAL_WRITE or
 * %F_SEAL_FUTURE_WRITE is refused, also when the seal comes while the
 * pin is made. While a write pin exists, %F_SEAL_WRITE fails with -EBUSY.
 * %F_SEAL_SHRINK keeps the pinned range in the file; hole punching
 * (fallocate(2)) still takes pages out of it, which then stay pinned and
 * charged until the pin goes but are no longer the file's.
 *
 * It is charged as PIN is, for every page of the folios it holds: one page
 * of a 2 MiB huge page is charged 2 MiB. It is killable, and where memory
 * a long-term pin must leave (ZONE_MOVABLE, CMA) exists, refused with
 * -ENOMEM before migration would run out of memory, as PIN is.
 *
 * Errors:
 *
 * * -EOPNOTSUPP: a kernel before 6.11, without memfd_pin_folios().
 * * -EBADF: @memfd is not an open fd.
 * * -EINVAL: not a memfd sealed with %F_SEAL_SHRINK (a plain tmpfs or
 *   hugetlbfs file included), the range outside the file, zero length,
 *   misalignment, unknown flags, nonzero @reserved.
 * * -EACCES: the fd is not open for reading, or not for writing with
 *   %PINMEM_PIN_WRITE, or the file is append-only and the fd open for
 *   writing.
 * * -EPERM: %PINMEM_PIN_WRITE on a write-sealed memfd or an immutable
 *   file; or the pinmem fd used from another mm.
 * * -ENOMEM: as for PIN.
 */
struct pinmem_pin_memfd_args {
	__u32 size;
	__u32 flags;
	__s32 memfd;
	__u32 reserved;
	__u64 offset;
	__u64 length;
	__u64 handle;
	__u64 nr_pages;
};

#define PINMEM_PIN_MEMFD_SIZE_VER0	48

/**
 * struct pinmem_unpin_args - argument of %PINMEM_IOC_UNPIN.
 * @size: sizeof(struct pinmem_unpin_args).
 * @flags: must be 0.
 * @handle: the pin to release. Pages of a %PINMEM_PIN_WRITE pin are marked
 *	dirty. Errors: -ENOENT (no such pin in this context).
 */
struct pinmem_unpin_args {
	__u32 size;
	__u32 flags;
	__u64 handle;
};

#define PINMEM_UNPIN_SIZE_VER0	16

/* QUERY flags */
/** define PINMEM_QUERY_BY_ADDR - look the pin up by an address inside it. */
#define PINMEM_QUERY_BY_ADDR	(1U << 0)
/** define PINMEM_QUERY_PFNS - also return page frame numbers (CAP_SYS_ADMIN). */
#define PINMEM_QUERY_PFNS	(1U << 1)
#define PINMEM_QUERY_FLAGS	(PINMEM_QUERY_BY_ADDR | PINMEM_QUERY_PFNS)

/**
 * struct pinmem_query_args - argument of %PINMEM_IOC_QUERY.
 * @size: sizeof(struct pinmem_query_args).
 * @flags: %PINMEM_QUERY_BY_ADDR, %PINMEM_QUERY_PFNS.
 * @handle: in: the pin to describe (ignored with %PINMEM_QUERY_BY_ADDR);
 *	out: its handle.
 * @addr: in with %PINMEM_QUERY_BY_ADDR: any address inside the pin;
 *	out: the pin's first address.
 * @length: out: the pin's length in bytes.
 * @nr_pages: out: number of pinned pages.
 * @pin_flags: out: the %PINMEM_PIN_* flags the pin was made with.
 * @reserved: must be 0.
 * @zone_pages: out: pinned pages per &enum pinmem_zone.
 * @nr_compound: out: pinned pages that belong to a compound (large) page.
 * @nr_huge: out: pinned pages that belong to a PMD-sized or larger page
 *	(THP or hugetlb).
 * @pfns: in with %PINMEM_QUERY_PFNS: user pointer to an array of @nr_pfns
 *	__u64, filled with the page frame numbers of pages @pfn_first onward.
 *	Requires CAP_SYS_ADMIN (as PFNs in /proc/pid/pagemap do), else -EPERM.
 * @pfn_first: in: index of the first page whose PFN is wanted.
 * @nr_pfns: in: capacity of @pfns; out: number of PFNs written.
 * @nr_exports: out: dma-bufs made of the pin by %PINMEM_IOC_EXPORT that
 *	are still alive (added in size %PINMEM_QUERY_SIZE_VER1).
 * @nr_attachments: out: devices attached to those dma-bufs (importers).
 *
 * Errors: -ENOENT (no such pin), -EINVAL (bad flags, @pfn_first past the end).
 */
struct pinmem_query_args {
	__u32 size;
	__u32 flags;
	__u64 handle;
	__u64 addr;
	__u64 length;
	__u64 nr_pages;
	__u32 pin_flags;
	__u32 reserved;
	__u64 zone_pages[PINMEM_ZONE_SLOTS];
	__u64 nr_compound;
	__u64 nr_huge;
	__u64 pfns;
	__u64 pfn_first;
	__u64 nr_pfns;
	__u32 nr_exports;
	__u32 nr_attachments;
};

#define PINMEM_QUERY_SIZE_VER0	152
#define PINMEM_QUERY_SIZE_VER1	160

/* ACCESS flags */
/** define PINMEM_ACCESS_WRITE - copy from @buf into the pinned pages. */
#define PINMEM_ACCESS_WRITE	(1U << 0)
#define PINMEM_ACCESS_FLAGS	(PINMEM_ACCESS_WRITE)

/**
 * struct pinmem_access_args - argument of %PINMEM_IOC_ACCESS.
 * @size: sizeof(struct pinmem_access_args).
 * @flags: %PINMEM_ACCESS_WRITE to write the pinned pages, else read them.
 * @handle: the pin.
 * @offset: byte offset into the pin.
 * @length: number of bytes; nonzero, @offset + @length within the pin.
 * @buf: user buffer to copy to (read) or from (write).
 *
 * Reads or writes the pinned pages themselves through a kernel mapping, as a
 * device doing DMA would: it sees exactly the pages the pin holds, whatever
 * the process did to its mappings since. Errors: -ENOENT (no such pin),
 * -EINVAL (range outside the pin, zero length, bad flags), -EACCES (write to
 * a pin made without %PINMEM_PIN_WRITE), -EFAULT (bad @buf).
 */
struct pinmem_access_args {
	__u32 size;
	__u32 flags;
	__u64 handle;
	__u64 offset;
	__u64 length;
	__u64 buf;
};

#define PINMEM_ACCESS_SIZE_VER0	40

/**
 * struct pinmem_version_args - argument of %PINMEM_IOC_VERSION.
 * @size: sizeof(struct pinmem_version_args).
 * @abi_version: out: %PINMEM_ABI_VERSION of the running module.
 */
struct pinmem_version_args {
	__u32 size;
	__u32 abi_version;
};

#define PINMEM_VERSION_SIZE_VER0	8

/* CONTIG_ALLOC flags */
/** define PINMEM_CONTIG_POOL - carve the buffer from the pool reserved at load. */
#define PINMEM_CONTIG_POOL	(1U << 0)
#define PINMEM_CONTIG_FLAGS	(PINMEM_CONTIG_POOL)

/* CONTIG_ALLOC placement bits */
/** define PINMEM_CONTIG_IN_CMA - the buffer came out of a CMA area (measured). */
#define PINMEM_CONTIG_IN_CMA	(1U << 0)
/** define PINMEM_CONTIG_IN_POOL - the buffer came out of the module's pool. */
#define PINMEM_CONTIG_IN_POOL	(1U << 1)

/**
 * struct pinmem_contig_alloc_args - argument of %PINMEM_IOC_CONTIG_ALLOC.
 * @size: sizeof(struct pinmem_contig_alloc_args).
 * @flags: %PINMEM_CONTIG_POOL, or 0 to ask the DMA/CMA core.
 * @length: bytes; page aligned, nonzero.
 * @align: 0 (page) or a power of two >= the page size; without
 *	%PINMEM_CONTIG_POOL at most the buffer's size rounded up to a power of
 *	two.
 * @handle: out: the buffer's handle (same space as pin handles).
 * @mmap_offset: out: the offset to pass to mmap(MAP_SHARED) to map the
 *	whole buffer. Such a mapping is VM_PFNMAP: PIN of it fails with -EFAULT.
 *	In a confidential guest (SEV, TDX, Arm CCA) the buffer is shared with
 *	the host, as the DMA API makes buffers for a device without an IOMMU
 *	there, and mapped decrypted.
 * @phys_addr: out: physical (bus) address, with CAP_SYS_ADMIN; else 0.
 * @placement: out: %PINMEM_CONTIG_IN_CMA, %PINMEM_CONTIG_IN_POOL. IN_CMA is
 *	read off the buffer's pageblock (MIGRATE_CMA), never assumed:
 *	dma-direct silently falls back to the page allocator when CMA cannot
 *	serve a request.
 * @reserved: must be 0.
 *
 * Allocates a physically contiguous buffer through the DMA API on the
 * pinmem device (dma_alloc_pages(), which takes it from the default CMA
 * area when the kernel has one), charged to the user like pins (and, when
 * it comes from the page allocator, to the memory cgroup; CMA memory
 * cannot be), zeroed, pool or not, and freed by %PINMEM_IOC_CONTIG_FREE or
 * on close (or, if still mapped, when the last mapping goes). The charge
 * is for the pages allocated: a buffer from the page allocator takes a
 * power-of-two number of pages. Errors: -EINVAL (bad length, alignment,
 * flags), -E2BIG (larger than the page allocator's largest block on a
 * kernel without CONFIG_DMA_CMA, or with CONFIG_DMA_CMA but no CMA area),
 * -ENODEV (%PINMEM_CONTIG_POOL but no pool was reserved: load with
 * pool_mb=), -ENOMEM (no contiguous memory, alignment not met, larger than
 * the machine, or RLIMIT_MEMLOCK).
 */
struct pinmem_contig_alloc_args {
	__u32 size;
	__u32 flags;
	__u64 length;
	__u64 align;
	__u64 handle;
	__u64 mmap_offset;
	__u64 phys_addr;
	__u32 placement;
	__u32 reserved;
};

#define PINMEM_CONTIG_ALLOC_SIZE_VER0	56

/**
 * struct pinmem_contig_free_args - argument of %PINMEM_IOC_CONTIG_FREE.
 * @size: sizeof(struct pinmem_contig_free_args).
 * @flags: must be 0.
 * @handle: the buffer. Errors: -ENOENT (no such buffer in this context).
 */
struct pinmem_contig_free_args {
	__u32 size;
	__u32 flags;
	__u64 handle;
};

#define PINMEM_CONTIG_FREE_SIZE_VER0	16

/* EXPORT flags */
/** define PINMEM_EXPORT_CLOEXEC - the dma-buf fd is close-on-exec. */
#define PINMEM_EXPORT_CLOEXEC	(1U << 0)
#define PINMEM_EXPORT_FLAGS	(PINMEM_EXPORT_CLOEXEC)

/**
 * struct pinmem_export_args - argument of %PINMEM_IOC_EXPORT.
 * @size: sizeof(struct pinmem_export_args).
 * @flags: %PINMEM_EXPORT_CLOEXEC.
 * @handle: a pin or a contiguous buffer of this context.
 * @fd: out: a new dma-buf fd of the whole pin or buffer.
 * @reserved: must be 0.
 *
 * Makes a dma-buf of the pin's pages or of the buffer, which any driver
 * that imports dma-bufs can use: V4L2 (``V4L2_MEMORY_DMABUF``), DRM PRIME,
 * RDMA, and mmap() of the fd itself (MAP_SHARED), in any process the fd is
 * passed to.
 *
 * Lifetime: the dma-buf holds the pages. %PINMEM_IOC_UNPIN of the handle,
 * %PINMEM_IOC_CONTIG_FREE, close() of /dev/pinmem or exit remove the
 * handle, but the pages stay pinned, and charged to the same user (its
 * RLIMIT_MEMLOCK count) and mm (VmPin), until the last reference to the
 * dma-buf goes: its fds, its mappings and every importer's attachment.
 * They are then released exactly once. The context's max_pins and
 * max_pages limits, like RLIMIT_MEMLOCK, count a pin until its pages are
 * released, while the context exists. While the handle exists, the pin's
 * exports and their attachments show in %PINMEM_IOC_QUERY; debugfs
 * ``exports`` lists every live one.
 *
 * A device sees the pages as a scatterlist with one entry per run of
 * consecutive page frames (split at the device's segment limit), mapped
 * for it by the DMA API in the direction it asks for; CPU access through
 * the dma-buf (``DMA_BUF_IOCTL_SYNC``) syncs every mapped attachment. A
 * pin made without %PINMEM_PIN_WRITE exports read-only: the fd is
 * O_RDONLY (a writable mmap() is -EACCES), and an importer that maps it
 * for a device that writes (DMA_FROM_DEVICE, DMA_BIDIRECTIONAL) or into
 * the kernel (vmap) gets -EACCES. A contiguous buffer is one run; its
 * mapping is decrypted in confidential guests as at %PINMEM_IOC_CONTIG_ALLOC.
 *
 * Errors: -ENOENT (no such pin or buffer), -EINVAL (bad flags, nonzero
 * @reserved), -EMFILE (no free fd), -ENOMEM.
 */
struct pinmem_export_args {
	__u32 size;
	__u32 flags;
	__u64 handle;
	__s32 fd;
	__u32 reserved;
};

#define PINMEM_EXPORT_SIZE_VER0	24

/*
 * 0xDE: free in Documentation/userspace-api/ioctl/ioctl-number.rst (ABI 1
 * used 0xB8, which upstream gives to mshv and mrvl_cn10k_dpi).
 */
#define PINMEM_IOCTL_TYPE	0xDE

/**
 * define PINMEM_ARGS_SIZE_MAX - the largest ``size`` an argument struct may
 * declare; above it the ioctl fails with -E2BIG.
 */
#define PINMEM_ARGS_SIZE_MAX	4096

/*
 * The struct size travels in the struct, not in the ioctl number, so the
 * numbers stay the same when the structs grow (as VFIO does): the size
 * bits of each number are those of the struct's first version, so that
 * strace and seccomp see the direction and a size.
 */
#define PINMEM_IOWR(nr, size_ver0) \
	_IOC(_IOC_READ | _IOC_WRITE, PINMEM_IOCTL_TYPE, (nr), (size_ver0))
#define PINMEM_IOC_VERSION	PINMEM_IOWR(0x00, PINMEM_VERSION_SIZE_VER0)
#define PINMEM_IOC_PIN		PINMEM_IOWR(0x01, PINMEM_PIN_SIZE_VER0)
#define PINMEM_IOC_UNPIN	PINMEM_IOWR(0x02, PINMEM_UNPIN_SIZE_VER0)
#define PINMEM_IOC_QUERY	PINMEM_IOWR(0x03, PINMEM_QUERY_SIZE_VER0)
#define PINMEM_IOC_ACCESS	PINMEM_IOWR(0x04, PINMEM_ACCESS_SIZE_VER0)
#define PINMEM_IOC_CONTIG_ALLOC	PINMEM_IOWR(0x05, PINMEM_CONTIG_ALLOC_SIZE_VER0)
#define PINMEM_IOC_CONTIG_FREE	PINMEM_IOWR(0x06, PINMEM_CONTIG_FREE_SIZE_VER0)
/* 0x07 is reserved: -ENOTTY */
#define PINMEM_IOC_EXPORT	PINMEM_IOWR(0x08, PINMEM_EXPORT_SIZE_VER0)
#define PINMEM_IOC_PIN_MEMFD	PINMEM_IOWR(0x09, PINMEM_PIN_MEMFD_SIZE_VER0)

#endif /* _UAPI_LINUX_PINMEM_H */
