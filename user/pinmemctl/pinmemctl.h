/* SPDX-License-Identifier: GPL-2.0 */
/* pinmemctl: internal interfaces between its source files. */
#ifndef PINMEMCTL_H
#define PINMEMCTL_H

#include <stdbool.h>
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

int pinmemctl_main(int argc, char **argv);

/* kmod.c */
extern const bool have_kmod;
int cmd_load(int argc, char **argv);
int cmd_unload(int argc, char **argv);

/* debugfs.c */
int cmd_pins(int argc, char **argv);
int cmd_stats(int argc, char **argv);

/* pinmemctl.c helpers */
void err_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool module_loaded(void);
/* exit code for errno @err of reading a debugfs file or opening the device */
int exit_code_for(int err);
int debugfs_open_error(const char *path, int err);
void json_string(FILE *f, const char *s);
bool wants_help(int argc, char **argv);

#endif
