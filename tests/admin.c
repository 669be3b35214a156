// SPDX-License-Identifier: GPL-2.0
/*
 * What some tests do to the system as root: reload the module, set its
 * parameters, act as another user in a child or drop a capability, open
 * /dev/pinmem to all, read and write files of /proc and /sys.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "admin.h"
#include "util.h"

/* run @fn in a child; its exit status (0 = pass), or -1 */
int in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		fflush(stdout);
		_exit(fn(arg));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* drop to @uid with RLIMIT_MEMLOCK @limit; setuid() clears CAP_IPC_LOCK */
int become(uid_t uid, rlim_t limit)
{
	struct rlimit rl = { limit, limit };

	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		return -1;
	if (setgid(uid) || setuid(uid))
		return -1;
	return 0;
}

/* /dev/pinmem open to everyone (as a 0660 group device is to its group) */
void dev_open_to_all(bool on)
{
	chmod("/dev/pinmem", on ? 0666 : 0600);
}

/* Reload the module with @params: 0 or -errno of finit_module(). */
int reload_module(const char *params)
{
	int kfd, ret = 0, i;

	if (syscall(SYS_delete_module, "pinmem", O_NONBLOCK) && errno != ENOENT)
		return -errno;
	kfd = open(ko_path(), O_RDONLY | O_CLOEXEC);
	if (kfd < 0)
		return -errno;
	if (syscall(SYS_finit_module, kfd, params, 0))
		ret = -errno;
	close(kfd);
	for (i = 0; !ret && i < 100 && access("/dev/pinmem", F_OK); i++)
		usleep(10000);
	return ret;
}

/* drop CAP_SYS_ADMIN (effective and permitted): 0, or -1 */
int drop_cap_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[0].effective &= ~(1U << CAP_SYS_ADMIN);
	data[0].permitted &= ~(1U << CAP_SYS_ADMIN);
	return syscall(SYS_capset, &hdr, data);
}

int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/*
 * cgroup2 on /sys/fs/cgroup, mounted there if it is not, with @enable
 * ("+cpuset +cpu") written to its cgroup.subtree_control: NULL, or why not.
 */
const char *cgroup2_enable(const char *enable)
{
	static char why[128];

	mkdir("/sys/fs/cgroup", 0755);
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) &&
	    mount("none", "/sys/fs/cgroup", "cgroup2", 0, NULL)) {
		snprintf(why, sizeof(why), "no cgroup2 (%s)", strerror(errno));
		return why;
	}
	if (write_file("/sys/fs/cgroup/cgroup.subtree_control", enable)) {
		snprintf(why, sizeof(why), "cgroup2 cannot enable %s", enable);
		return why;
	}
	return NULL;
}

int write_param(const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/pinmem/parameters/%s", name);
	return write_file(path, val);
}
