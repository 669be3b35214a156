/* SPDX-License-Identifier: GPL-2.0 */
/* tests/admin.c: what some tests do to the system as root */
#ifndef PINMEM_TEST_ADMIN_H
#define PINMEM_TEST_ADMIN_H

#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

/* run @fn in a child; its exit status (0 = pass), or -1 */
int in_child(int (*fn)(void *), void *arg);
/* drop to @uid with RLIMIT_MEMLOCK @limit; setuid() clears CAP_IPC_LOCK */
int become(uid_t uid, rlim_t limit);
/* /dev/pinmem open to everyone (as a 0660 group device is to its group) */
void dev_open_to_all(bool on);
/* Reload the module with @params: 0 or -errno of finit_module(). */
int reload_module(const char *params);
/* drop CAP_SYS_ADMIN (effective and permitted): 0, or -1 */
int drop_cap_sys_admin(void);
/* write @s to @path: 0 or -errno (-EIO for a short write) */
int write_file(const char *path, const char *s);
/* the number @path holds, or -1 */
long read_long(const char *path);
/*
 * cgroup2 on /sys/fs/cgroup, mounted there if it is not, with @enable
 * ("+cpuset +cpu") written to its cgroup.subtree_control: NULL, or why not
 */
const char *cgroup2_enable(const char *enable);
/* write @val to pinmem's module parameter @name: as write_file() */
int write_param(const char *name, const char *val);

#endif
