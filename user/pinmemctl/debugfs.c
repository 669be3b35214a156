// SPDX-License-Identifier: GPL-2.0
/*
 * pinmemctl pins / stats: read pinmem's debugfs files, print them as
 * aligned tables or JSON. Lines the parser does not understand are skipped,
 * and unknown "key value" lines pass through, so a newer module's files
 * still print.
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

struct pin_row {
	unsigned int ctx;
	int pid;
	char comm[64];
	uint64_t handle, start, end, pages, age_ms, compound, huge;
	uint64_t runs, exports, attachments;
	char flags[8];
	char zones[192];	/* "DMA32=4096 Normal=2" */
};

/* Undo seq_escape()'s \ooo. */
static void unescape(char *s)
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
		    sscanf(tok, "runs=%" SCNu64, &r->runs) == 1 ||
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

static void pins_json(const struct pin_row *rows, size_t n)
{
	size_t i;

	printf("{\"pins\":[");
	for (i = 0; i < n; i++) {
		const struct pin_row *r = &rows[i];
		char z[sizeof(r->zones)], *tok, *save = NULL;
		bool first = true;

		printf("%s\n{\"ctx\":%u,\"pid\":%d,\"comm\":", i ? "," : "",
		       r->ctx, r->pid);
		json_string(stdout, r->comm);
		printf(",\"handle\":%" PRIu64 ",\"start\":\"%#" PRIx64
		       "\",\"end\":\"%#" PRIx64 "\",\"length\":%" PRIu64
		       ",\"pages\":%" PRIu64 ",\"flags\":", r->handle,
		       r->start, r->end, r->end - r->start, r->pages);
		json_string(stdout, r->flags);
		printf(",\"write\":%s,\"age_ms\":%" PRIu64 ",\"zones\":{",
		       strchr(r->flags, 'w') ? "true" : "false", r->age_ms);
		memcpy(z, r->zones, sizeof(z));
		for (tok = strtok_r(z, " ", &save); tok;
		     tok = strtok_r(NULL, " ", &save)) {
			char *eq = strchr(tok, '=');

			*eq = 0;
			printf("%s", first ? "" : ",");
			json_string(stdout, tok);
			printf(":%llu", strtoull(eq + 1, NULL, 10));
			first = false;
		}
		printf("},\"compound\":%" PRIu64 ",\"huge\":%" PRIu64
		       ",\"runs\":%" PRIu64 ",\"exports\":%" PRIu64
		       ",\"attachments\":%" PRIu64 "}", r->compound, r->huge,
		       r->runs, r->exports, r->attachments);
	}
	printf("%s],\"count\":%zu}\n", n ? "\n" : "", n);
}

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

/* -1: go on; else the exit code */
static int parse_json_opt(int argc, char **argv, const char *cmd, bool *json)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	*json = false;
	while ((c = getopt_long(argc, argv, "+jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			*json = true;
			break;
		case 'h':
			printf("usage: pinmemctl %s [--json]\n", cmd);
			return EX_OK;
		default:
			fprintf(stderr, "usage: pinmemctl %s [--json]\n", cmd);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: pinmemctl %s [--json]\n", cmd);
		return EX_USAGE;
	}
	return -1;
}

int cmd_pins(int argc, char **argv)
{
	const char *path = DEBUGFS_DIR "/pins";
	struct pin_row *rows = NULL, *nr;
	size_t n = 0, cap = 0;
	char *line = NULL;
	size_t llen = 0;
	bool json;
	FILE *f;
	int ret = parse_json_opt(argc, argv, "pins", &json);

	if (ret >= 0)
		return ret;
	ret = EX_OK;
	f = fopen(path, "r");
	if (!f)
		return debugfs_open_error(path, errno);
	while (getline(&line, &llen, f) > 0) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			nr = realloc(rows, cap * sizeof(*rows));
			if (!nr) {
				err_msg("out of memory");
				return EX_FAIL;
			}
			rows = nr;
		}
		if (parse_pin(line, &rows[n]))
			n++;
	}
	if (ferror(f)) {
		err_msg("reading %s: %s", path, strerror(errno));
		ret = EX_FAIL;
	}
	fclose(f);
	free(line);
	if (json)
		pins_json(rows, n);
	else
		pins_table(rows, n);
	free(rows);
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

static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static void json_value(const char *v)
{
	if (is_number(v))
		printf("%s", v);
	else if (!strcmp(v, "yes") || !strcmp(v, "no"))
		printf("%s", v[0] == 'y' ? "true" : "false");
	else
		json_string(stdout, v);
}

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

int cmd_stats(int argc, char **argv)
{
	const char *path = DEBUGFS_DIR "/stats", *cpath = DEBUGFS_DIR "/cma";
	struct kv kvs[64], ckvs[64];
	struct op_row ops[32];
	struct buf_row bufs[256];
	int nkv = 0, nckv = 0, nops = 0, nbufs = 0, i, j, kw = 0;
	bool json, have_cma = false, in_bufs = false;
	char line[512];
	FILE *f;
	int ret = parse_json_opt(argc, argv, "stats", &json);

	if (ret >= 0)
		return ret;
	ret = EX_OK;
	f = fopen(path, "r");
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

	f = fopen(cpath, "r");
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

	if (json) {
		printf("{");
		for (i = 0; i < nkv; i++) {
			json_string(stdout, kvs[i].key);
			printf(":");
			json_value(kvs[i].val);
			printf(",");
		}
		printf("\"calls\":{");
		for (i = 0; i < nops; i++) {
			printf("%s", i ? "," : "");
			json_string(stdout, ops[i].op);
			printf(":%" PRIu64, ops[i].calls);
		}
		printf("},\"failures\":{");
		for (i = 0, j = 0; i < nops; i++) {
			char fl[256], *tok, *save = NULL;
			bool first = true;

			if (!ops[i].failures[0])
				continue;
			printf("%s", j++ ? "," : "");
			json_string(stdout, ops[i].op);
			printf(":{");
			memcpy(fl, ops[i].failures, sizeof(fl));
			for (tok = strtok_r(fl, " ", &save); tok;
			     tok = strtok_r(NULL, " ", &save)) {
				char *colon = strrchr(tok, ':');

				*colon = 0;
				printf("%s", first ? "" : ",");
				json_string(stdout, tok);
				printf(":%s", colon + 1);
				first = false;
			}
			printf("}");
		}
		printf("},\"cma\":");
		if (!have_cma) {
			printf("null}\n");
			return EX_OK;
		}
		printf("{");
		for (i = 0; i < nckv; i++) {
			json_string(stdout, ckvs[i].key);
			printf(":");
			json_value(ckvs[i].val);
			printf(",");
		}
		printf("\"buffers\":[");
		for (i = 0; i < nbufs; i++) {
			printf("%s{\"pid\":%d,\"comm\":", i ? "," : "", bufs[i].pid);
			json_string(stdout, bufs[i].comm);
			printf(",\"bytes\":%" PRIu64 ",\"phys\":", bufs[i].bytes);
			json_string(stdout, bufs[i].phys);
			printf(",\"age_ms\":%" PRIu64 ",\"source\":", bufs[i].age_ms);
			json_string(stdout, bufs[i].source);
			printf("}");
		}
		printf("]}}\n");
		return EX_OK;
	}

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
		printf("\n(%s unreadable: %s)\n", cpath, strerror(errno));
		return EX_OK;
	}
	printf("\ncontiguous buffers (%s):\n", cpath);
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
