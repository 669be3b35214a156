/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pinmem's test-only UAPI, on top of include/uapi/linux/pinmem.h.
 *
 * This is a private UAPI to the test build of the module (make ...
 * PINMEM_TEST=1, what scripts/vm-run loads), so it isn't exported in the
 * usual include/uapi/ directory, as lib/test_hmm_uapi.h is to the kernel's
 * HMM test module. The module users load (the default build, DKMS, the
 * Debian packages) has none of it: it refuses the flag with -EINVAL and the
 * ioctl with -ENOTTY. Used by tests/, tests/bench and pinmem-demo only.
 */
#ifndef _PINMEM_TEST_UAPI_H
#define _PINMEM_TEST_UAPI_H

#ifdef __KERNEL__
#include <uapi/linux/pinmem.h>
#else
#include <linux/pinmem.h>
#endif

/**
 * define PINMEM_PIN_SHORTTERM - a PIN flag: pin WITHOUT FOLL_LONGTERM.
 *
 * The pages stay in ZONE_MOVABLE or CMA and block migration and contiguous
 * allocations while pinned: the failure long-term pinning fixed, which the
 * tests and the demo show next to the fix. Requires CAP_SYS_ADMIN, else
 * -EPERM. QUERY's @pin_flags report it.
 */
#define PINMEM_PIN_SHORTTERM	(1U << 1)

/**
 * struct pinmem_bench_args - argument of %PINMEM_IOC_BENCH_BARE.
 * @size: sizeof(struct pinmem_bench_args).
 * @flags: %PINMEM_PIN_WRITE or 0.
 * @addr: start of the range, page aligned.
 * @length: bytes, page aligned, nonzero.
 * @batch: pages per pin_user_pages_fast() call; 0 means 512.
 * @pin_ns: out: time to pin the whole range.
 * @unpin_ns: out: time to unpin it.
 *
 * The bare kernel cost pinmem is measured against (tests/bench):
 * pin_user_pages_fast() with FOLL_LONGTERM over the range in @batch-page
 * calls, then unpin_user_pages(), timed in the kernel, with no tracking,
 * accounting or checks beyond the argument ones. Requires CAP_SYS_ADMIN.
 */
struct pinmem_bench_args {
	__u32 size;
	__u32 flags;
	__u64 addr;
	__u64 length;
	__u64 batch;
	__u64 pin_ns;
	__u64 unpin_ns;
};

#define PINMEM_BENCH_SIZE_VER0	48

/* number 0x07, which the public UAPI leaves free for it */
#define PINMEM_IOC_BENCH_BARE	PINMEM_IOWR(0x07, PINMEM_BENCH_SIZE_VER0)

#endif /* _PINMEM_TEST_UAPI_H */
