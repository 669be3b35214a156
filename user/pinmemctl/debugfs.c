// SPDX-License-Identifier: GPL-2.0
/*
 * pinmemctl pins / stats: read pinmem's debugfs files (or, for pins without
 * root, the fdinfo of /dev/pinmem fds: fdinfo.c), print them as aligned
 * tables or JSON (cJSON; pinmemctl.schema.json describes it). Lines the
 * parser does not understand are skipped, and unknown "key value" lines
 * pass through, so a newer module's files still print.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pinmemctl.h"

#ifdef HAVE_CJSON
#include <cjson/cJSON.h>

const bool have_cjson = true;
#else
const bool have_cjson = false;
#endif

static bool parse_pin(char *line, struct pin_row *r)
{
	char comm[64], *tok, *save = NULL;
	int n = 0;

	memset(r, 0, sizeof(*r));
	if (sscanf(line, "%u %d %63s %" SCNu64 " %" SCNx64 " %" SCNx64 " %"
		   SCNu64 " %7s %" SCNu64 " %n", &r->ctx, &r->pid, comm,
		   &r->handle, &r->start, &r->end, &r->pages, r->flags,
		   &r->age_ms, &n) != 9)
		return false;
	unescape(comm);
	snprintf(r->comm, sizeof(r->comm), "%s", comm);
	for (tok = strtok_r(line + n, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save)) {
		size_t len = strlen(r->zones);

		if (!strchr(tok, '='))
			continue;
		/* the rest are zones: Normal=, Movable=, ... */
		if (sscanf(tok, "compound=%" SCNu64, &r->compound) == 1 ||
		    sscanf(tok, "huge=%" SCNu64, &r->huge) == 1 ||
		    (sscanf(tok, "runs=%" SCNu64, &r->runs) == 1 &&
		     (r->has_runs = true)) ||
		    sscanf(tok, "exports=%" SCNu64, &r->exports) == 1 ||
		    sscanf(tok, "attachments=%" SCNu64, &r->attachments) == 1)
			continue;
		snprintf(r->zones + len, sizeof(r->zones) - len, "%s%s",
			 len ? " " : "", tok);
	}
	return true;
}

static const char *age_str(uint64_t ms, char *buf, size_t len)
{
	if (ms < 10000)
		snprintf(buf, len, "%.1fs", ms / 1000.0);
	else if (ms < 600000)
		snprintf(buf, len, "%" PRIu64 "s", ms / 1000);
	else if (ms < 36000000)
		snprintf(buf, len, "%" PRIu64 "m", ms / 60000);
	else
		snprintf(buf, len, "%" PRIu64 "h", ms / 3600000);
	return buf;
}

static const char *size_str(uint64_t b, char *buf, size_t len)
{
	static const char units[] = "BKMGT";
	int i = 0;

	while (b >= 10240 && i < 4) {
		b >>= 10;
		i++;
	}
	snprintf(buf, len, "%" PRIu64 "%c", b, units[i]);
	return buf;
}

#ifdef HAVE_CJSON
/*
 * cJSON keeps numbers as doubles, exact only up to 2^53: counters and
 * handles go in as raw text, exact whatever their size.
 */
static cJSON *add_u64(cJSON *o, const char *name, uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	return cJSON_AddRawToObject(o, name, b);
}

static cJSON *add_hex(cJSON *o, const char *name, uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "0x%" PRIx64, v);
	return cJSON_AddStringToObject(o, name, b);
}

/* Print @root on one line and free it. */
static int json_print(cJSON *root)
{
	char *text = root ? cJSON_PrintUnformatted(root) : NULL;

	cJSON_Delete(root);
	if (!text) {
		err_msg("out of memory");
		return EX_FAIL;
	}
	printf("%s\n", text);
	cJSON_free(text);
	return EX_OK;
}

#define J(x) do { if (!(x)) goto oom; } while (0)

/* "DMA32=1000 Normal=2" -> {"DMA32":1000,"Normal":2} */
static cJSON *add_counts(cJSON *o, const char *name, const char *list,
			 char sep)
{
	cJSON *c = cJSON_AddObjectToObject(o, name);
	char buf[512], *tok, *save = NULL;

	if (!c)
		return NULL;
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		char *eq = strrchr(tok, sep);

		if (!eq)
			continue;
		*eq = 0;
		if (!add_u64(c, tok, strtoull(eq + 1, NULL, 10)))
			return NULL;
	}
	return c;
}

static int pins_json(const struct pin_list *l)
{
	cJSON *root = cJSON_CreateObject(), *pins, *ctxs;
	size_t i;

	J(root);
	J(cJSON_AddStringToObject(root, "source", l->source));
	J(pins = cJSON_AddArrayToObject(root, "pins"));
	for (i = 0; i < l->n; i++) {
		const struct pin_row *r = &l->rows[i];
		cJSON *p = cJSON_CreateObject();

		J(p);
		if (!cJSON_AddItemToArray(pins, p)) {
			cJSON_Delete(p);
			goto oom;
		}
		J(add_u64(p, "ctx", r->ctx));
		J(cJSON_AddNumberToObject(p, "pid", r->pid));
		J(cJSON_AddStringToObject(p, "comm", r->comm));
		J(add_u64(p, "handle", r->handle));
		J(add_hex(p, "start", r->start));
		J(add_hex(p, "end", r->end));
		J(add_u64(p, "length", r->end - r->start));
		J(add_u64(p, "pages", r->pages));
		J(cJSON_AddStringToObject(p, "flags", r->flags));
		J(cJSON_AddBoolToObject(p, "write", strchr(r->flags, 'w') != NULL));
		J(cJSON_AddBoolToObject(p, "memfd", strchr(r->flags, 'm') != NULL));
		J(add_u64(p, "age_ms", r->age_ms));
		J(add_counts(p, "zones", r->zones, '='));
		J(add_u64(p, "compound", r->compound));
		J(add_u64(p, "huge", r->huge));
		if (r->has_runs)
			J(add_u64(p, "runs", r->runs));
		J(add_u64(p, "exports", r->exports));
		J(add_u64(p, "attachments", r->attachments));
	}
	J(add_u64(root, "count", l->n));
	if (strcmp(l->source, "fdinfo"))
		return json_print(root);
	J(add_u64(root, "unreadable_processes", l->unreadable));
	J(ctxs = cJSON_AddArrayToObject(root, "contexts"));
	for (i = 0; i < l->nctx; i++) {
		const struct ctx_row *c = &l->ctxs[i];
		cJSON *o = cJSON_CreateObject();

		J(o);
		if (!cJSON_AddItemToArray(ctxs, o)) {
			cJSON_Delete(o);
			goto oom;
		}
		J(add_u64(o, "ctx", c->ctx));
		J(cJSON_AddNumberToObject(o, "pid", c->pid));
		J(cJSON_AddStringToObject(o, "comm", c->comm));
		J(cJSON_AddNumberToObject(o, "fd", c->fd));
		J(add_u64(o, "fds", c->nr_fds));
		J(add_u64(o, "pins", c->pins));
		J(add_u64(o, "pins_listed", c->pins_listed));
		J(add_u64(o, "pinned_pages", c->pinned_pages));
		J(add_u64(o, "contig_buffers", c->contig_buffers));
		J(add_u64(o, "user_locked_pages", c->user_locked_pages));
	}
	return json_print(root);
oom:
	cJSON_Delete(root);
	err_msg("out of memory");
	return EX_FAIL;
}
#else
static int pins_json(const struct pin_list *l)
{
	(void)l;
	return EX_USAGE;	/* refused by parse_opts() */
}
#endif

#define NCOL 11

static void pins_table(const struct pin_row *rows, size_t n)
{
	static const char * const head[NCOL] = {
		"CTX", "PID", "COMM", "HANDLE", "START", "END", "SIZE",
		"PAGES", "FLAGS", "AGE", "PLACEMENT",
	};
	/* numbers right aligned, text left */
	static const bool right[NCOL] = {
		true, true, false, true, false, false, true, true, false,
		true, false,
	};
	int w[NCOL], i;
	char cell[NCOL][200];
	uint64_t pages = 0, bytes = 0, ctxs = 0, last_ctx = ~0ULL;
	size_t r;
	int pass;

	for (i = 0; i < NCOL; i++)
		w[i] = strlen(head[i]);
	for (pass = 0; pass < 2; pass++) {
		if (pass) {
			for (i = 0; i < NCOL; i++)
				printf("%s%-*s", i ? "  " : "",
				       i == NCOL - 1 ? 0 : w[i], head[i]);
			printf("\n");
		}
		for (r = 0; r < n; r++) {
			const struct pin_row *p = &rows[r];
			char tmp[64];

			snprintf(cell[0], 200, "%u", p->ctx);
			snprintf(cell[1], 200, "%d", p->pid);
			snprintf(cell[2], 200, "%s", p->comm);
			snprintf(cell[3], 200, "%" PRIu64, p->handle);
			snprintf(cell[4], 200, "%#" PRIx64, p->start);
			snprintf(cell[5], 200, "%#" PRIx64, p->end);
			snprintf(cell[6], 200, "%s",
				 size_str(p->end - p->start, tmp, sizeof(tmp)));
			snprintf(cell[7], 200, "%" PRIu64, p->pages);
			snprintf(cell[8], 200, "%s", p->flags);
			snprintf(cell[9], 200, "%s",
				 age_str(p->age_ms, tmp, sizeof(tmp)));
			snprintf(cell[10], 200, "%s%scompound=%" PRIu64
				 " huge=%" PRIu64, p->zones,
				 p->zones[0] ? " " : "", p->compound, p->huge);
			if (p->exports)
				snprintf(cell[10] + strlen(cell[10]),
					 200 - strlen(cell[10]),
					 " dma-bufs=%" PRIu64 " attached=%" PRIu64,
					 p->exports, p->attachments);
			for (i = 0; i < NCOL; i++) {
				int len = strlen(cell[i]);

				if (!pass) {
					if (len > w[i])
						w[i] = len;
					continue;
				}
				if (i == NCOL - 1)
					printf("  %s\n", cell[i]);
				else if (right[i])
					printf("%s%*s", i ? "  " : "", w[i], cell[i]);
				else
					printf("%s%-*s", i ? "  " : "", w[i], cell[i]);
			}
			if (!pass) {
				pages += p->pages;
				bytes += p->end - p->start;
				ctxs += p->ctx != last_ctx;
				last_ctx = p->ctx;
			}
		}
	}
	{
		char tmp[64];

		printf("%zu pin%s, %" PRIu64 " pages (%s) in %" PRIu64
		       " context%s\n", n, n == 1 ? "" : "s", pages,
		       size_str(bytes, tmp, sizeof(tmp)), ctxs,
		       ctxs == 1 ? "" : "s");
	}
}

enum { SRC_AUTO, SRC_DEBUGFS, SRC_FDINFO };

/* -1: go on; else the exit code. @src NULL: no --source (stats). */
static int parse_opts(int argc, char **argv, const char *cmd, bool *json,
		      int *src)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "source", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *use = src ? " [--json] [--source auto|debugfs|fdinfo]" :
		" [--json]";
	int c;

	*json = false;
	while ((c = getopt_long(argc, argv, "+jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			*json = true;
			break;
		case 's':
			if (src && !strcmp(optarg, "auto")) {
				*src = SRC_AUTO;
				break;
			} else if (src && !strcmp(optarg, "debugfs")) {
				*src = SRC_DEBUGFS;
				break;
			} else if (src && !strcmp(optarg, "fdinfo")) {
				*src = SRC_FDINFO;
				break;
			}
			fprintf(stderr, "usage: pinmemctl %s%s\n", cmd, use);
			return EX_USAGE;
		case 'h':
			printf("usage: pinmemctl %s%s\n", cmd, use);
			return EX_OK;
		default:
			fprintf(stderr, "usage: pinmemctl %s%s\n", cmd, use);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: pinmemctl %s%s\n", cmd, use);
		return EX_USAGE;
	}
	if (*json && !have_cjson) {
		err_msg("--json: this pinmemctl was built without cJSON");
		return EX_USAGE;
	}
	return -1;
}

/* debugfs "pins" into @l; 0 or an exit code. */
static int debugfs_pins(struct pin_list *l, FILE *f, const char *path)
{
	char *line = NULL;
	size_t llen = 0;
	int ret = EX_OK;

	l->source = "debugfs";
	while (getline(&line, &llen, f) > 0) {
		struct pin_row *r = pin_list_add(l);

		if (!r) {
			err_msg("out of memory");
			ret = EX_FAIL;
			break;
		}
		if (!parse_pin(line, r))
			l->n--;		/* the header, or a line of a newer format */
	}
	if (ferror(f)) {
		err_msg("reading %s: %s", path, strerror(errno));
		ret = EX_FAIL;
	}
	free(line);
	return ret;
}

int cmd_pins(int argc, char **argv)
{
	struct pin_list l = { .source = "debugfs" };
	int src = SRC_AUTO, ret;
	char buf[512];
	const char *path = rooted(DEBUGFS_DIR "/pins", buf, sizeof(buf));
	FILE *f = NULL;
	bool json;
	size_t i;

	ret = parse_opts(argc, argv, "pins", &json, &src);
	if (ret >= 0)
		return ret;
	if (src != SRC_FDINFO) {
		f = fopen(path, "re");
		if (!f && (src == SRC_DEBUGFS || !module_loaded()))
			return debugfs_open_error(path, errno);
		if (!f)
			snprintf(l.why, sizeof(l.why), "%s unreadable: %s",
				 DEBUGFS_DIR "/pins", strerror(errno));
	} else {
		snprintf(l.why, sizeof(l.why), "--source fdinfo");
	}
	if (f) {
		ret = debugfs_pins(&l, f, path);
		fclose(f);
	} else {
		ret = fdinfo_pins(&l);
	}
	if (ret == EX_OK && json) {
		ret = pins_json(&l);
	} else if (ret == EX_OK) {
		if (f)
			fprintf(stderr, "# source: debugfs (%s: every context)\n",
				DEBUGFS_DIR "/pins");
		else
			fprintf(stderr, "# source: fdinfo (/proc/PID/fdinfo of the /dev/pinmem fds this user may read: %u processes not readable; %s)\n",
				l.unreadable, l.why);
		for (i = 0; i < l.nctx; i++)
			if (l.ctxs[i].pins_listed < l.ctxs[i].pins)
				fprintf(stderr, "# context %u (pid %d): fdinfo lists %" PRIu64
					" of its %" PRIu64 " pins\n", l.ctxs[i].ctx,
					l.ctxs[i].pid, l.ctxs[i].pins_listed,
					l.ctxs[i].pins);
		pins_table(l.rows, l.n);
	}
	free(l.rows);
	free(l.ctxs);
	return ret;
}

/* ---- stats ---- */

struct kv {
	char key[48];
	char val[48];
};

struct op_row {
	char op[32];
	uint64_t calls;
	char failures[256];	/* "ENOMEM:3 EFAULT:1" */
};

static struct op_row *op_find(struct op_row *ops, int *nops, const char *op)
{
	int i;

	for (i = 0; i < *nops; i++)
		if (!strcmp(ops[i].op, op))
			return &ops[i];
	if (*nops == 32)
		return NULL;
	memset(&ops[*nops], 0, sizeof(ops[0]));
	snprintf(ops[*nops].op, sizeof(ops[0].op), "%s", op);
	return &ops[(*nops)++];
}

struct buf_row {
	int pid;
	char comm[64];
	uint64_t bytes, age_ms;
	char phys[32], source[16];
};

#ifdef HAVE_CJSON
static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* A "key value" of debugfs: a number, yes/no as a boolean, else a string. */
static cJSON *add_value(cJSON *o, const char *key, const char *v)
{
	if (is_number(v))
		return cJSON_AddRawToObject(o, key, v);
	if (!strcmp(v, "yes") || !strcmp(v, "no"))
		return cJSON_AddBoolToObject(o, key, v[0] == 'y');
	return cJSON_AddStringToObject(o, key, v);
}

static int stats_json(const struct kv *kvs, int nkv, const struct op_row *ops,
		      int nops, bool have_cma, const struct kv *ckvs, int nckv,
		      const struct buf_row *bufs, int nbufs)
{
	cJSON *root = cJSON_CreateObject(), *o, *cma, *arr;
	int i;

	J(root);
	J(cJSON_AddStringToObject(root, "source", "debugfs"));
	for (i = 0; i < nkv; i++)
		if (!cJSON_HasObjectItem(root, kvs[i].key) &&
		    strcmp(kvs[i].key, "calls") && strcmp(kvs[i].key, "failures") &&
		    strcmp(kvs[i].key, "cma"))
			J(add_value(root, kvs[i].key, kvs[i].val));
	J(o = cJSON_AddObjectToObject(root, "calls"));
	for (i = 0; i < nops; i++)
		J(add_u64(o, ops[i].op, ops[i].calls));
	J(o = cJSON_AddObjectToObject(root, "failures"));
	for (i = 0; i < nops; i++)
		if (ops[i].failures[0])
			J(add_counts(o, ops[i].op, ops[i].failures, ':'));
	if (!have_cma) {
		J(cJSON_AddNullToObject(root, "cma"));
		return json_print(root);
	}
	J(cma = cJSON_AddObjectToObject(root, "cma"));
	for (i = 0; i < nckv; i++)
		if (!cJSON_HasObjectItem(cma, ckvs[i].key) &&
		    strcmp(ckvs[i].key, "buffers"))
			J(add_value(cma, ckvs[i].key, ckvs[i].val));
	J(arr = cJSON_AddArrayToObject(cma, "buffers"));
	for (i = 0; i < nbufs; i++) {
		cJSON *b = cJSON_CreateObject();

		J(b);
		if (!cJSON_AddItemToArray(arr, b)) {
			cJSON_Delete(b);
			goto oom;
		}
		J(cJSON_AddNumberToObject(b, "pid", bufs[i].pid));
		J(cJSON_AddStringToObject(b, "comm", bufs[i].comm));
		J(add_u64(b, "bytes", bufs[i].bytes));
		J(cJSON_AddStringToObject(b, "phys", bufs[i].phys));
		J(add_u64(b, "age_ms", bufs[i].age_ms));
		J(cJSON_AddStringToObject(b, "source", bufs[i].source));
	}
	return json_print(root);
oom:
	cJSON_Delete(root);
	err_msg("out of memory");
	return EX_FAIL;
}
#else
static int stats_json(const struct kv *kvs, int nkv, const struct op_row *ops,
		      int nops, bool have_cma, const struct kv *ckvs, int nckv,
		      const struct buf_row *bufs, int nbufs)
{
	(void)kvs, (void)nkv, (void)ops, (void)nops, (void)have_cma;
	(void)ckvs, (void)nckv, (void)bufs, (void)nbufs;
	return EX_USAGE;	/* refused by parse_opts() */
}
#endif

int cmd_stats(int argc, char **argv)
{
	static struct kv kvs[64], ckvs[64];
	static struct op_row ops[32];
	static struct buf_row bufs[256];
	int nkv = 0, nckv = 0, nops = 0, nbufs = 0, i, kw = 0, cma_err = 0;
	bool json, have_cma = false, in_bufs = false;
	char line[512], pbuf[512], cbuf[512];
	const char *path = rooted(DEBUGFS_DIR "/stats", pbuf, sizeof(pbuf));
	const char *cpath = rooted(DEBUGFS_DIR "/cma", cbuf, sizeof(cbuf));
	FILE *f;
	int ret = parse_opts(argc, argv, "stats", &json, NULL);

	if (ret >= 0)
		return ret;
	f = fopen(path, "re");
	if (!f)
		return debugfs_open_error(path, errno);
	while (fgets(line, sizeof(line), f)) {
		char a[48], b[48], c[48];
		int n = sscanf(line, "%47s %47s %47s", a, b, c);
		struct op_row *o;

		if (n == 2 && nkv < 64) {
			snprintf(kvs[nkv].key, sizeof(kvs[0].key), "%s", a);
			snprintf(kvs[nkv].val, sizeof(kvs[0].val), "%s", b);
			nkv++;
		} else if (n == 3 && !strcmp(a, "calls")) {
			o = op_find(ops, &nops, b);
			if (o)
				o->calls = strtoull(c, NULL, 10);
		} else if (n == 3 && !strcmp(a, "failures")) {
			char e[48], cnt[48];
			size_t len;

			if (sscanf(line, "%*s %*s %47s %47s", e, cnt) != 2)
				continue;
			o = op_find(ops, &nops, b);
			if (!o)
				continue;
			len = strlen(o->failures);
			snprintf(o->failures + len, sizeof(o->failures) - len,
				 "%s%s:%s", len ? " " : "",
				 e[0] == '-' ? e + 1 : e, cnt);
		}
	}
	fclose(f);

	f = fopen(cpath, "re");
	if (!f)
		cma_err = errno;
	if (f) {
		have_cma = true;
		while (fgets(line, sizeof(line), f)) {
			char a[48], b[48];
			struct buf_row *r = &bufs[nbufs];

			if (!strncmp(line, "pid comm ", 9)) {
				in_bufs = true;
				continue;
			}
			if (in_bufs) {
				char comm[64];

				if (nbufs < 256 &&
				    sscanf(line, "%d %63s %" SCNu64 " %31s %"
					   SCNu64 " %15s", &r->pid, comm,
					   &r->bytes, r->phys, &r->age_ms,
					   r->source) == 6) {
					unescape(comm);
					snprintf(r->comm, sizeof(r->comm), "%s", comm);
					nbufs++;
				}
				continue;
			}
			if (sscanf(line, "%47s %47s", a, b) == 2 && nckv < 64) {
				snprintf(ckvs[nckv].key, sizeof(ckvs[0].key), "%s", a);
				snprintf(ckvs[nckv].val, sizeof(ckvs[0].val), "%s", b);
				nckv++;
			}
		}
		fclose(f);
	}

	if (json)
		return stats_json(kvs, nkv, ops, nops, have_cma, ckvs, nckv,
				  bufs, nbufs);

	for (i = 0; i < nkv; i++)
		if ((int)strlen(kvs[i].key) > kw)
			kw = strlen(kvs[i].key);
	for (i = 0; i < nckv; i++)
		if ((int)strlen(ckvs[i].key) > kw)
			kw = strlen(ckvs[i].key);
	for (i = 0; i < nkv; i++)
		printf("%-*s  %s\n", kw, kvs[i].key, kvs[i].val);
	printf("\n%-12s  %12s  %s\n", "IOCTL", "CALLS", "FAILURES");
	for (i = 0; i < nops; i++)
		printf("%-12s  %12" PRIu64 "  %s\n", ops[i].op, ops[i].calls,
		       ops[i].failures[0] ? ops[i].failures : "-");
	if (!have_cma) {
		printf("\n(%s unreadable: %s)\n", DEBUGFS_DIR "/cma",
		       strerror(cma_err));
		return EX_OK;
	}
	printf("\ncontiguous buffers (%s):\n", DEBUGFS_DIR "/cma");
	for (i = 0; i < nckv; i++)
		printf("%-*s  %s\n", kw, ckvs[i].key, ckvs[i].val);
	if (nbufs) {
		printf("\n%7s  %-16s  %12s  %-18s  %8s  %s\n", "PID", "COMM",
		       "BYTES", "PHYS", "AGE_MS", "SOURCE");
		for (i = 0; i < nbufs; i++)
			printf("%7d  %-16s  %12" PRIu64 "  %-18s  %8" PRIu64 "  %s\n",
			       bufs[i].pid, bufs[i].comm, bufs[i].bytes,
			       bufs[i].phys, bufs[i].age_ms, bufs[i].source);
	}
	return EX_OK;
}
