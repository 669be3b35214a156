/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pinmem's layer over the kernel's kselftest harness (kselftest/, vendored
 * unmodified), for the test binaries of tests/ and user/tests/. Include it
 * in the one file of a binary that holds its cases.
 *
 * Every case is a PM_TEST_F() of a fixture whose FIXTURE_TEARDOWN_PARENT
 * runs the file's after-each check once the case's process is gone. The
 * file provides that check as nothing_left(), T_PASS when nothing is left
 * (tests/util.c's for tests/).
 *
 * Timeouts are per case and chosen: the harness's default of 30 s is for
 * native runs, while the VMs emulate the CPU (TCG), some with a debug
 * kernel, and a case that pins or migrates much memory takes minutes there.
 */
#ifndef PINMEM_TEST_HARNESS_H
#define PINMEM_TEST_HARNESS_H

#include <string.h>
#include <unistd.h>

/*
 * From -isystem kselftest/ (the Makefiles): the kernel builds its selftests
 * without -Wextra, and its ASSERT_*() compare mixed signedness on purpose.
 */
#include <kselftest_harness.h>

/*
 * TEST_F_TIMEOUT() whose case, when it returns having neither failed nor
 * skipped, is checked by nothing_left() in its own process: a case must
 * release what it pinned itself, not leave it to its exit.
 */
#define PM_TEST_F(fixture, name, timeout)				\
	static void fixture##_##name##_case(				\
		struct __test_metadata *_metadata,			\
		FIXTURE_DATA(fixture) *self,				\
		const FIXTURE_VARIANT(fixture) *variant);		\
	TEST_F_TIMEOUT(fixture, name, timeout)				\
	{								\
		fixture##_##name##_case(_metadata, self, variant);	\
		if (_metadata->exit_code == KSFT_PASS) {		\
			EXPECT_EQ(T_PASS, nothing_left())		\
				TH_LOG("left behind when the case returned"); \
		}							\
	}								\
	static void fixture##_##name##_case(				\
		struct __test_metadata __attribute__((unused)) *_metadata, \
		FIXTURE_DATA(fixture) __attribute__((unused)) *self,	\
		const FIXTURE_VARIANT(fixture)				\
			__attribute__((unused)) *variant)

/*
 * A fixture that holds nothing (its cases open /dev/pinmem themselves) and
 * checks, once a case's process is gone, that nothing is left behind.
 */
#define PM_FIXTURE(fixture)						\
	FIXTURE(fixture) {						\
		int unused;						\
	};								\
	FIXTURE_SETUP(fixture)						\
	{								\
	}								\
	FIXTURE_TEARDOWN_PARENT(fixture)				\
	{								\
		EXPECT_EQ(T_PASS, nothing_left())			\
			TH_LOG("left behind once the case's process was gone"); \
	}

/* skip the case when the kernel has no ZONE_MOVABLE */
#define NEED_MOVABLE() do {						\
	struct zone_range _z[MAX_ZONE_RANGES];				\
									\
	if (!have_zone(_z, zones_load(_z, MAX_ZONE_RANGES), "Movable"))	\
		SKIP(return, "kernel has no ZONE_MOVABLE (boot with movablecore=)"); \
} while (0)

/*
 * Skip the case unless @len bytes are more than the memory outside
 * ZONE_MOVABLE and CMA can take: else there is nothing to refuse.
 */
#define NEED_MORE_THAN_PINNABLE(len) do {				\
	long _free_kb, _file_kb;					\
									\
	pinnable_zone_kb(&_free_kb, &_file_kb);				\
	if ((long)((len) >> 10) <= _free_kb + _file_kb)			\
		SKIP(return, "the memory outside ZONE_MOVABLE/CMA (%ld MiB free, %ld MiB file LRU) could take %zu MiB: nothing to refuse", \
		     _free_kb >> 10, _file_kb >> 10, (size_t)(len) / MiB); \
} while (0)

/* -l or -h: the harness lists or helps, and needs no module for it */
static inline bool pm_harness_listing(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-l") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

/*
 * main() of a binary of tests/: without the module, one TAP line saying so
 * and exit KSFT_SKIP (4); else the FOLL_PIN references already outstanding
 * become nothing_left()'s baseline, and the harness runs the cases.
 * PM_TEST_HARNESS_FN(name) is the same function by another name, for a
 * main() that looks at arguments of its own first.
 */
#define PM_TEST_HARNESS_MAIN PM_TEST_HARNESS_FN(main)

#define PM_TEST_HARNESS_FN(name)					\
	int name(int argc, char **argv)					\
	{								\
		if (!pm_harness_listing(argc, argv) &&			\
		    access("/dev/pinmem", F_OK)) {			\
			ksft_print_header();				\
			ksft_exit_skip("/dev/pinmem missing: module not loaded\n"); \
		}							\
		pins_set_baseline();					\
		return test_harness_run(argc, argv);			\
	}

#endif
