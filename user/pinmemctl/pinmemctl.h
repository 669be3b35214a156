/* SPDX-License-Identifier: GPL-2.0 */
/* pinmemctl: internal interfaces between its source files. */
#ifndef PINMEMCTL_H
#define PINMEMCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes (documented in pinmemctl(8)). */
enum {
	EX_OK = 0,		/* done */
	EX_FAIL = 1,		/* the operation failed */
	EX_USAGE = 2,		/* bad usage, or not available in this build */
	EX_NOTLOADED = 3,	/* the pinmem module is not loaded */
	EX_PERM = 4,		/* permission denied (not root, device mode) */
	EX_INCOMPAT = 5,	/* module too old, or not a pinmem device */
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define SYS_MODULE	"/sys/module/pinmem"
#define DEBUGFS_DIR	"/sys/kernel/debug/pinmem"

extern const char *prog;

/*
 * Prefix of every file pinmemctl reads (/proc, /sys, /dev/pinmem): "" but
 * in the host test's build (-DPINMEMCTL_TESTING, $PINMEMCTL_ROOT), which
 * reads recorded kernel files from a directory.
 */
extern const char *pm_root;
const char *rooted(const char *path, char *buf, size_t len);

int pinmemctl_main(int argc, char **argv);

/* kmod.c */
extern const bool have_kmod;
int cmd_load(int argc, char **argv);
int cmd_unload(int argc, char **argv);

/* debugfs.c */
extern const bool have_cjson;
int cmd_pins(int argc, char **argv);
int cmd_stats(int argc, char **argv);

/* One pin, from debugfs "pins" (root: every context) or an fdinfo. */
struct pin_row {
	unsigned int ctx;
	int pid;
	char comm[64];
	uint64_t handle, start, end, pages, age_ms, compound, huge;
	uint64_t runs, exports, attachments;
	bool has_runs;		/* debugfs has runs=, fdinfo not */
	char flags[8];		/* rw, r-, and m for a memfd pin */
	char zones[192];	/* "DMA32=1000 Normal=2" */
};

/* One context, from the fdinfo of an fd of it. */
struct ctx_row {
	unsigned int ctx;
	int pid;		/* the first process found holding it */
	char comm[64];
	int fd;
	unsigned int nr_fds;	/* fds found for it, in any process */
	uint64_t pins, pinned_pages, contig_buffers, user_locked_pages;
	uint64_t pins_listed;	/* pin: lines (the module lists at most 4096) */
};

struct pin_list {
	const char *source;	/* "debugfs" or "fdinfo" */
	char why[256];		/* fdinfo: why not debugfs */
	struct pin_row *rows;
	size_t n, cap;
	struct ctx_row *ctxs;
	size_t nctx, ctxcap;
	unsigned int unreadable;	/* processes whose fds we may not read */
	unsigned int old_fdinfo;	/* pinmem fds without pinmem- lines */
	char old_path[96];		/* one of them */
};

/* fdinfo.c */
struct pin_row *pin_list_add(struct pin_list *l);
/* every context this user can see through /proc; 0 or an exit code */
int fdinfo_pins(struct pin_list *l);
void unescape(char *s);

/* pinmemctl.c helpers */
void err_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool module_loaded(void);
/* exit code for errno @err of reading a debugfs file or opening the device */
int exit_code_for(int err);
int debugfs_open_error(const char *path, int err);
bool wants_help(int argc, char **argv);

#endif
