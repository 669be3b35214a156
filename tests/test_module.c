// SPDX-License-Identifier: GPL-2.0
/*
 * Module unload and reload: refused while /dev/pinmem is open, done once
 * it is closed, and a reload with pool_mb= serves contiguous buffers from
 * the pool it reserved (which it leaves loaded for the binaries after).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pinmem_test_uapi.h"
#include "util.h"
#include "harness.h"

#define RW (PROT_READ | PROT_WRITE)

/* module unload and reload (the reload leaves a pool) */
PM_FIXTURE(module)

PM_TEST_F(module, rmmod_while_open_fails, 120)
{
	int fd = pm_open();

	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(-1, syscall(SYS_delete_module, "pinmem", O_NONBLOCK));
	ASSERT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	ASSERT_TRUE(access("/dev/pinmem", F_OK) == 0);
	close(fd);
}

PM_TEST_F(module, rmmod_after_close_and_reload_with_pool, 300)
{
	char *buf = map_anon(PAGE * 4, RW);
	int fd = pm_open(), kfd, i;
	uint64_t h;

	ASSERT_TRUE(buf && fd >= 0);
	memset(buf, 1, 4 * PAGE);
	ASSERT_EQ(0, pm_pin(fd, buf, 4 * PAGE, 0, &h, NULL));
	close(fd);
	ASSERT_EQ(0, syscall(SYS_delete_module, "pinmem", O_NONBLOCK));
	ASSERT_TRUE(access("/sys/module/pinmem", F_OK) != 0);
	ASSERT_EQ(0, pins_outstanding());
	kfd = open(ko_path(), O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(kfd >= 0);
	ASSERT_EQ(0, syscall(SYS_finit_module, kfd, "pool_mb=2", 0));
	close(kfd);
	for (i = 0; i < 100 && access("/dev/pinmem", F_OK); i++)
		usleep(10000);
	fd = pm_open();
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(0, pm_pin(fd, buf, 4 * PAGE, 0, &h, NULL));
	ASSERT_EQ(1, h);
	ASSERT_EQ(1, debugfs_stat("total_pins"));

	/* the reserved pool serves aligned buffers until it is full */
	ASSERT_EQ(2 * MiB, debugfs_value("cma", "pool_bytes"));
	{
		struct pinmem_contig_alloc_args a = {
			.flags = PINMEM_CONTIG_POOL, .length = 64 * 1024,
			.align = 256 * 1024,
		};
		struct pinmem_contig_alloc_args b = {
			.flags = PINMEM_CONTIG_POOL, .length = 2 * MiB,
		};
		char *p;

		ASSERT_EQ(0, pm_contig_alloc(fd, &a));
		ASSERT_EQ(PINMEM_CONTIG_IN_POOL, a.placement);
		ASSERT_EQ(0, a.phys_addr % (256 * 1024));
		ASSERT_EQ(-ENOMEM, pm_contig_alloc(fd, &b));
		p = mmap(NULL, 64 * 1024, RW, MAP_SHARED, fd, a.mmap_offset);
		ASSERT_TRUE(p != MAP_FAILED);
		fill_pattern(p, 64 * 1024, 60);
		ASSERT_EQ(0, check_pattern(p, 64 * 1024, 60));
		munmap(p, 64 * 1024);
		ASSERT_EQ(2 * MiB - 64 * 1024, debugfs_value("cma", "pool_free_bytes"));
	}
	close(fd);
	ASSERT_EQ(2 * MiB, debugfs_value("cma", "pool_free_bytes"));
}

PM_TEST_HARNESS_MAIN
