// SPDX-License-Identifier: GPL-2.0
/*
 * pinmemctl pins without debugfs: the pins of every context whose fd this
 * user may look at, from /proc/PID/fdinfo/FD of the /dev/pinmem fds
 * (pinmem(4), "fdinfo"). procfs shows a process's fds only to those who
 * may ptrace it: a user sees its own processes, root every one.
 *
 * An fd is pinmem's if it is a character device with /dev/pinmem's device
 * number (st_rdev, whatever the name it was opened by). A context shared by
 * several fds or processes (dup, fork, SCM_RIGHTS) is listed once, under
 * the first process found holding it.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <pinmem.h>

#include "pinmemctl.h"

/* Undo seq_escape()'s \ooo. */
void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = 0;
}

/* A new zeroed row at the end of @l, or NULL without memory. */
struct pin_row *pin_list_add(struct pin_list *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct pin_row *r = realloc(l->rows, cap * sizeof(*r));

		if (!r)
			return NULL;
		l->rows = r;
		l->cap = cap;
	}
	memset(&l->rows[l->n], 0, sizeof(l->rows[0]));
	return &l->rows[l->n++];
}

static struct ctx_row *ctx_add(struct pin_list *l)
{
	if (l->nctx == l->ctxcap) {
		size_t cap = l->ctxcap ? l->ctxcap * 2 : 16;
		struct ctx_row *c = realloc(l->ctxs, cap * sizeof(*c));

		if (!c)
			return NULL;
		l->ctxs = c;
		l->ctxcap = cap;
	}
	memset(&l->ctxs[l->nctx], 0, sizeof(l->ctxs[0]));
	return &l->ctxs[l->nctx++];
}

static struct ctx_row *ctx_find(struct pin_list *l, unsigned int id)
{
	size_t i;

	for (i = 0; i < l->nctx; i++)
		if (l->ctxs[i].ctx == id)
			return &l->ctxs[i];
	return NULL;
}

/*
 * "pin:\thandle=1 start=0x... end=0x... pages=16 flags=rw exports=0
 * attachments=0 age_ms=5 DMA32=16 compound=0 huge=0": keys in any order;
 * a KEY=N the parser does not know is a zone. false if a field is missing.
 */
static bool parse_fdinfo_pin(char *s, struct pin_row *r)
{
	char *tok, *save = NULL;
	unsigned int seen = 0;

	for (tok = strtok_r(s, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		char *eq = strchr(tok, '='), *val, *end;
		size_t len = strlen(r->zones);
		uint64_t v;

		if (!eq)
			continue;
		*eq = 0;
		val = eq + 1;
		if (!strcmp(tok, "flags")) {
			snprintf(r->flags, sizeof(r->flags), "%s", val);
			seen |= 1;
			continue;
		}
		errno = 0;
		v = strtoull(val, &end, 0);
		if (errno || end == val || *end)
			continue;
		if (!strcmp(tok, "handle"))
			r->handle = v, seen |= 2;
		else if (!strcmp(tok, "start"))
			r->start = v, seen |= 4;
		else if (!strcmp(tok, "end"))
			r->end = v, seen |= 8;
		else if (!strcmp(tok, "pages"))
			r->pages = v, seen |= 16;
		else if (!strcmp(tok, "age_ms"))
			r->age_ms = v;
		else if (!strcmp(tok, "exports"))
			r->exports = v;
		else if (!strcmp(tok, "attachments"))
			r->attachments = v;
		else if (!strcmp(tok, "compound"))
			r->compound = v;
		else if (!strcmp(tok, "huge"))
			r->huge = v;
		else if (!strcmp(tok, "runs"))
			r->runs = v, r->has_runs = true;
		else if (isupper((unsigned char)tok[0]))
			snprintf(r->zones + len, sizeof(r->zones) - len,
				 "%s%s=%" PRIu64, len ? " " : "", tok, v);
	}
	return seen == 31;
}

/* The first line of a small file, without its newline. */
static bool read_first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = 0;
	return ok;
}

/* /proc/PID/comm, else the name in /proc/PID/stat's parentheses. */
static void proc_comm(int pid, char *comm, size_t len)
{
	char path[600], line[600], *a, *b;

	snprintf(path, sizeof(path), "%s/proc/%d/comm", pm_root, pid);
	if (read_first_line(path, comm, len))
		return;
	snprintf(path, sizeof(path), "%s/proc/%d/stat", pm_root, pid);
	if (read_first_line(path, line, sizeof(line)) &&
	    (a = strchr(line, '(')) && (b = strrchr(line, ')')) && b > a) {
		*b = 0;
		snprintf(comm, len, "%s", a + 1);
		return;
	}
	snprintf(comm, len, "?");
}

/*
 * Read the fdinfo of pinmem fd @fd of @pid: its context, and its pins
 * unless the context was listed already. 0, or -errno.
 */
static int read_ctx(struct pin_list *l, int pid, int fd)
{
	struct ctx_row c = { .pid = pid, .fd = fd, .nr_fds = 1 };
	char path[600], *line = NULL;
	bool have_ctx = false, dup = false;
	struct ctx_row *known = NULL;
	size_t cap = 0, first = l->n;
	int ret = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc/%d/fdinfo/%d", pm_root, pid, fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		uint64_t v;

		if (!strncmp(line, "pin:", 4)) {
			struct pin_row *r;

			if (!have_ctx || dup)
				continue;
			r = pin_list_add(l);
			if (!r) {
				ret = -ENOMEM;
				break;
			}
			if (!parse_fdinfo_pin(line + 4, r)) {
				l->n--;		/* a line of a newer format */
				continue;
			}
			r->ctx = c.ctx;
			r->pid = pid;
			c.pins_listed++;
			continue;
		}
		if (sscanf(line, "pinmem-ctx: %u", &c.ctx) == 1) {
			have_ctx = true;
			known = ctx_find(l, c.ctx);
			dup = known != NULL;
		} else if (sscanf(line, "pinmem-pins: %" SCNu64, &v) == 1) {
			c.pins = v;
		} else if (sscanf(line, "pinmem-pinned-pages: %" SCNu64, &v) == 1) {
			c.pinned_pages = v;
		} else if (sscanf(line, "pinmem-contig-buffers: %" SCNu64, &v) == 1) {
			c.contig_buffers = v;
		} else if (sscanf(line, "pinmem-user-locked-pages: %" SCNu64, &v) == 1) {
			c.user_locked_pages = v;
		}
	}
	free(line);
	fclose(f);
	if (ret)
		return ret;
	if (!have_ctx) {
		/* a module from before fdinfo */
		if (!l->old_fdinfo++)
			snprintf(l->old_path, sizeof(l->old_path), "/proc/%d/fdinfo/%d",
				 pid, fd);
		return 0;
	}
	if (dup) {
		known->nr_fds++;
		return 0;
	}
	proc_comm(pid, c.comm, sizeof(c.comm));
	for (; first < l->n; first++)
		snprintf(l->rows[first].comm, sizeof(l->rows[0].comm), "%s", c.comm);
	known = ctx_add(l);
	if (!known)
		return -ENOMEM;
	*known = c;
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	const struct pin_row *x = a, *y = b;

	if (x->ctx != y->ctx)
		return x->ctx < y->ctx ? -1 : 1;
	return x->handle < y->handle ? -1 : x->handle > y->handle;
}

static int ctx_cmp(const void *a, const void *b)
{
	const struct ctx_row *x = a, *y = b;

	return x->ctx < y->ctx ? -1 : x->ctx > y->ctx;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/*
 * Is the fd behind the /proc/PID/fd/FD link @path the character device
 * @rdev? Sockets, pipes and anonymous inodes are told by the link's text;
 * the rest is stat()ed with the attributes cached (AT_STATX_DONT_SYNC), so
 * that an fd of a file on an unreachable network file system does not hang
 * the scan.
 */
static bool is_dev(const char *path, dev_t rdev)
{
	char target[64];
	struct statx stx;
	ssize_t n;

	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = 0;
	if (!strncmp(target, "socket:", 7) || !strncmp(target, "pipe:", 5) ||
	    !strncmp(target, "anon_inode:", 11))
		return false;
	if (statx(AT_FDCWD, path, AT_STATX_DONT_SYNC, STATX_TYPE, &stx) ||
	    !(stx.stx_mask & STATX_TYPE) || !S_ISCHR(stx.stx_mode))
		return false;
	return makedev(stx.stx_rdev_major, stx.stx_rdev_minor) == rdev;
}

int fdinfo_pins(struct pin_list *l)
{
	char path[600];
	struct dirent *p;
	struct stat dev;
	DIR *proc;

	l->source = "fdinfo";
	if (stat(rooted(PINMEM_DEVICE_PATH, path, sizeof(path)), &dev)) {
		int err = errno;

		if (err == ENOENT || !module_loaded()) {
			err_msg("the pinmem module is not loaded (pinmemctl load)");
			return EX_NOTLOADED;
		}
		err_msg("%s: %s", PINMEM_DEVICE_PATH, strerror(err));
		return EX_FAIL;
	}
	if (!S_ISCHR(dev.st_mode)) {
		err_msg("%s is not a character device", PINMEM_DEVICE_PATH);
		return EX_INCOMPAT;
	}
	proc = opendir(rooted("/proc", path, sizeof(path)));
	if (!proc) {
		err_msg("cannot read /proc: %s", strerror(errno));
		return EX_FAIL;
	}
	while ((p = readdir(proc))) {
		struct dirent *d;
		int pid;
		DIR *fds;

		if (!all_digits(p->d_name))
			continue;
		pid = atoi(p->d_name);
		snprintf(path, sizeof(path), "%s/proc/%d/fd", pm_root, pid);
		fds = opendir(path);
		if (!fds) {
			if (errno == EACCES || errno == EPERM)
				l->unreadable++;
			continue;	/* else gone meanwhile */
		}
		while ((d = readdir(fds))) {
			int fd, ret;

			if (!all_digits(d->d_name))
				continue;
			fd = atoi(d->d_name);
			snprintf(path, sizeof(path), "%s/proc/%d/fd/%d", pm_root,
				 pid, fd);
			if (!is_dev(path, dev.st_rdev))
				continue;
			ret = read_ctx(l, pid, fd);
			if (ret == -ENOMEM) {
				closedir(fds);
				closedir(proc);
				err_msg("out of memory");
				return EX_FAIL;
			}
			/* else closed or gone meanwhile, or not ours to read */
		}
		closedir(fds);
	}
	closedir(proc);
	if (l->old_fdinfo && !l->nctx) {
		err_msg("the pinmem module is too old to list pins in fdinfo (no pinmem- lines in %s): run as root, to read debugfs",
			l->old_path);
		return EX_INCOMPAT;
	}
	if (l->n)
		qsort(l->rows, l->n, sizeof(l->rows[0]), row_cmp);
	if (l->nctx)
		qsort(l->ctxs, l->nctx, sizeof(l->ctxs[0]), ctx_cmp);
	return EX_OK;
}
