// SPDX-License-Identifier: GPL-2.0
/*
 * pinmemctl: inspect and drive the pinmem module. See pinmemctl(8).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <pinmem.h>

#include "pinmemctl.h"

const char *prog = "pinmemctl";
const char *pm_root = "";

const char *rooted(const char *path, char *buf, size_t len)
{
	if (!*pm_root)
		return path;
	snprintf(buf, len, "%s%s", pm_root, path);
	return buf;
}

static const char usage_text[] =
"usage: pinmemctl [-h] [--version] COMMAND [ARGS]\n"
"\n"
"commands:\n"
"  status                        module, ABI version, parameters, device, CMA\n"
"  load [--path FILE.ko] [PARAM=VALUE...]\n"
"                                load the module (by name, or from FILE.ko)\n"
"  unload                        unload the module (refused while in use)\n"
"  pins [--json] [--source auto|debugfs|fdinfo]\n"
"                                every pin of every process (debugfs, root);\n"
"                                else the pins this user's processes hold\n"
"                                (/proc/PID/fdinfo)\n"
"  stats [--json]                counters, calls, failures, contiguous buffers\n"
"                                (debugfs, root)\n"
"  pin [-w] [-f FILE] [-t SECS] [--pfns] [SIZE]\n"
"                                pin an anonymous buffer of SIZE, or FILE\n"
"                                mapped MAP_SHARED; hold it SECS seconds\n"
"                                (default: until Ctrl-C)\n"
"  contig [--pool] [--align N] [-t SECS] SIZE\n"
"                                allocate a physically contiguous buffer\n"
"  help                          this text\n"
"\n"
"SIZE takes K, M, G suffixes (powers of 1024). \"pinmemctl COMMAND -h\"\n"
"describes a command.\n"
"\n"
"exit status: 0 ok, 1 operation failed, 2 usage error (or not available in\n"
"this build), 3 module not loaded, 4 permission denied, 5 module too old or\n"
"not a pinmem device.\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

void err_msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	return false;
}

bool module_loaded(void)
{
	char buf[512];

	return access(rooted(SYS_MODULE, buf, sizeof(buf)), F_OK) == 0;
}

int exit_code_for(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return EX_OK;
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return module_loaded() ? EX_FAIL : EX_NOTLOADED;
	case EACCES:
	case EPERM:
		return EX_PERM;
	case ENOTTY:
	case EPROTO:
		return EX_INCOMPAT;
	default:
		return EX_FAIL;
	}
}

/* Explain why a debugfs file of ours cannot be read; returns the exit code. */
int debugfs_open_error(const char *path, int err)
{
	char buf[512];

	if (!module_loaded()) {
		err_msg("the pinmem module is not loaded (pinmemctl load)");
		return EX_NOTLOADED;
	}
	if (err == EACCES || err == EPERM) {
		err_msg("cannot read %s: %s (debugfs is root only)", path,
			strerror(err));
		return EX_PERM;
	}
	if (err == ENOENT && access(rooted(DEBUGFS_DIR, buf, sizeof(buf)), F_OK))
		err_msg("cannot read %s: debugfs is not mounted (mount -t debugfs none /sys/kernel/debug)",
			path);
	else
		err_msg("cannot read %s: %s", path, strerror(err));
	return EX_FAIL;
}

/* "16M" -> 16 MiB; 0 on error. */
static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return 0;
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		end++;
		break;
	case 'm': case 'M':
		shift = 20;
		end++;
		break;
	case 'g': case 'G':
		shift = 30;
		end++;
		break;
	}
	if (shift && (!strcmp(end, "iB") || !strcmp(end, "B")))
		end += strlen(end);
	if (*end || v > (~0ULL >> shift))
		return 0;
	return (uint64_t)v << shift;
}

static int parse_secs(const char *s, long *secs)
{
	char *end;

	errno = 0;
	*secs = strtol(s, &end, 10);
	return errno || end == s || *end || *secs < 0 ? -1 : 0;
}

static const char *human(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	double v = bytes;
	int i = -1;

	while (v >= 1024 && i < 3) {
		v /= 1024;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%" PRIu64 " B", bytes);
	else
		snprintf(buf, len, "%.1f %ciB", v, units[i]);
	return buf;
}

/* First line of a small file, without the newline; NULL if unreadable. */
static char *read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	if (!fgets(buf, len, f)) {
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

/* "key value" from a file of such lines (/proc/meminfo, debugfs cma). */
static bool file_value(const char *path, const char *key, char *val,
		       size_t len)
{
	FILE *f = fopen(path, "r");
	size_t kl = strlen(key);
	char line[256];
	bool found = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + kl;

		if (strncmp(line, key, kl) || (*p != ' ' && *p != ':'))
			continue;
		p += strspn(p, ": \t");
		p[strcspn(p, "\n")] = 0;
		snprintf(val, len, "%s", p);
		found = true;
		break;
	}
	fclose(f);
	return found;
}

/* Name of uid/gid @id from /etc/passwd or /etc/group (no NSS: static). */
static const char *id_name(const char *db, unsigned int id, char *buf,
			   size_t len)
{
	FILE *f = fopen(db, "r");
	char line[512];

	snprintf(buf, len, "%u", id);
	if (!f)
		return buf;
	while (fgets(line, sizeof(line), f)) {
		char *name = strtok(line, ":");
		unsigned int n;

		if (!name || !strtok(NULL, ":"))
			continue;
		if (sscanf(strtok(NULL, ":") ?: "", "%u", &n) == 1 && n == id) {
			snprintf(buf, len, "%s", name);
			break;
		}
	}
	fclose(f);
	return buf;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

static void status_params(void)
{
	char path[512], val[256], *names[64];
	struct dirent *d;
	int n = 0, i;
	DIR *dir = opendir(SYS_MODULE "/parameters");

	printf("%-14s", "parameters:");
	if (!dir) {
		printf("(none readable)\n");
		return;
	}
	while ((d = readdir(dir)) && n < 64)
		if (d->d_name[0] != '.')
			names[n++] = strdup(d->d_name);
	closedir(dir);
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (i = 0; i < n; i++) {
		if (!names[i])
			continue;
		snprintf(path, sizeof(path), SYS_MODULE "/parameters/%s",
			 names[i]);
		if (!read_line(path, val, sizeof(val)))
			snprintf(val, sizeof(val), "?");
		printf("%s%s=%s", i ? " " : "", names[i], val);
		if (!strcmp(names[i], "dev_mode"))
			printf(" (0%lo)", strtoul(val, NULL, 10));
		free(names[i]);
	}
	printf("\n");
}

static int status_device(void)
{
	struct stat st;
	char u[64], g[64];
	struct pinmem *pm;
	int ret;

	if (stat(PINMEM_DEVICE_PATH, &st)) {
		printf("%-14s%s missing (%s)\n", "device:", PINMEM_DEVICE_PATH,
		       strerror(errno));
		return EX_NOTLOADED;
	}
	printf("%-14s%s %s mode 0%03o owner %s:%s dev %u:%u\n", "device:",
	       PINMEM_DEVICE_PATH, S_ISCHR(st.st_mode) ? "char" : "NOT-A-CHAR-DEVICE",
	       st.st_mode & 07777,
	       id_name("/etc/passwd", st.st_uid, u, sizeof(u)),
	       id_name("/etc/group", st.st_gid, g, sizeof(g)),
	       major(st.st_rdev), minor(st.st_rdev));
	ret = pinmem_open(&pm);
	if (ret) {
		printf("%-14sunknown: %s\n", "ABI version:",
		       pinmem_strerror(ret, PINMEM_CALL_OPEN));
		return exit_code_for(ret);
	}
	printf("%-14s%u (this pinmemctl: header %d, library %s needs >= %d)\n",
	       "ABI version:", pinmem_abi_version(pm), PINMEM_ABI_VERSION,
	       pinmem_lib_version(), PINMEM_LIB_MIN_ABI);
	pinmem_close(pm);
	return EX_OK;
}

static void status_cma(void)
{
	char total[64], cfree[64], v[64];
	const char *cma = DEBUGFS_DIR "/cma";

	if (file_value("/proc/meminfo", "CmaTotal", total, sizeof(total)) &&
	    file_value("/proc/meminfo", "CmaFree", cfree, sizeof(cfree)))
		printf("%-14sCmaTotal %s, CmaFree %s\n", "CMA:", total, cfree);
	else
		printf("%-14snone (no CmaTotal in /proc/meminfo: kernel without CONFIG_CMA)\n",
		       "CMA:");
	if (!file_value(cma, "dma_cma_configured", v, sizeof(v))) {
		printf("%-14s(%s unreadable: %s)\n", "", cma,
		       access("/sys/kernel/debug/pinmem", F_OK) ?
		       "debugfs not mounted or not root" : strerror(errno));
		return;
	}
	printf("%-14sDMA CMA (CONFIG_DMA_CMA): %s", "", v);
	if (file_value(cma, "cma_free_at_load_kib", v, sizeof(v)))
		printf(", free at load %s kB", v);
	printf("\n");
	if (file_value(cma, "pool_bytes", v, sizeof(v))) {
		char pf[64] = "?";

		file_value(cma, "pool_free_bytes", pf, sizeof(pf));
		printf("%-14spool %s bytes (%s free)", "", v, pf);
	}
	if (file_value(cma, "bytes_in_use", v, sizeof(v)))
		printf(", contiguous bytes in use %s", v);
	printf("\n");
}

static int cmd_status(int argc, char **argv)
{
	char buf[256];
	int ret;

	if (wants_help(argc, argv)) {
		printf("usage: pinmemctl status\n");
		return EX_OK;
	}
	if (argc > 1) {
		err_msg("status takes no arguments");
		return EX_USAGE;
	}
	if (!module_loaded()) {
		printf("%-14snot loaded (%s missing; pinmemctl load)\n",
		       "module:", SYS_MODULE);
		status_cma();
		return EX_NOTLOADED;
	}
	printf("%-14sloaded", "module:");
	if (read_line(SYS_MODULE "/version", buf, sizeof(buf)))
		printf(", version %s", buf);
	if (read_line(SYS_MODULE "/initstate", buf, sizeof(buf)))
		printf(", %s", buf);
	if (read_line(SYS_MODULE "/refcnt", buf, sizeof(buf)))
		printf(", refcnt %s", buf);
	if (read_line(SYS_MODULE "/taint", buf, sizeof(buf)) && buf[0])
		printf(", taint %s", buf);
	printf("\n");
	ret = status_device();
	status_params();
	status_cma();
	return ret;
}

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

/* Hold for @secs seconds (-1: until a signal). 0 if it ran out, else signal. */
static int hold(long secs)
{
	struct sigaction sa = { .sa_handler = on_signal };

	if (!secs)
		return 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (secs < 0)
		printf("holding until Ctrl-C (pid %d)\n", getpid());
	else
		printf("holding for %ld s (pid %d)\n", secs, getpid());
	fflush(stdout);
	while (!got_signal && secs) {
		sleep(1);
		if (secs > 0)
			secs--;
	}
	return got_signal;
}

static void print_placement(const struct pinmem_pin_info *in)
{
	unsigned int z;

	printf("placement:");
	for (z = 0; z < PINMEM_ZONE_SLOTS; z++)
		if (in->zone_pages[z])
			printf(" %s=%" PRIu64, pinmem_zone_name(z) ?: "?",
			       in->zone_pages[z]);
	printf(" compound=%" PRIu64 " huge=%" PRIu64 "\n", in->nr_compound,
	       in->nr_huge);
}

static int open_ctx(struct pinmem **pm)
{
	int ret = pinmem_open(pm);

	if (ret)
		err_msg("%s", pinmem_strerror(ret, PINMEM_CALL_OPEN));
	return ret ? exit_code_for(ret) : EX_OK;
}

static const char pin_usage[] =
"usage: pinmemctl pin [-w] [-t SECS] [--pfns] SIZE\n"
"       pinmemctl pin [-w] [-t SECS] [--pfns] -f FILE [SIZE]\n"
"  -w, --write      pin for write (the device writes; pages dirtied on unpin)\n"
"  -f, --file FILE  pin FILE mapped MAP_SHARED (default: all of it)\n"
"  -t, --time SECS  hold SECS seconds, 0 = unpin at once (default: until Ctrl-C)\n"
"      --pfns       also print the first PFNs (root)\n";

static int cmd_pin(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "write", no_argument, NULL, 'w' },
		{ "file", required_argument, NULL, 'f' },
		{ "time", required_argument, NULL, 't' },
		{ "pfns", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *file = NULL;
	long secs = -1, page = sysconf(_SC_PAGESIZE);
	bool write = false, pfns = false;
	uint64_t size = 0, handle, nr;
	struct pinmem_pin_info info;
	struct pinmem *pm;
	char hb[32];
	int c, fd = -1, ret, rc;
	char *buf;

	while ((c = getopt_long(argc, argv, "+wf:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			write = true;
			break;
		case 'f':
			file = optarg;
			break;
		case 't':
			if (parse_secs(optarg, &secs)) {
				err_msg("bad time '%s'", optarg);
				return EX_USAGE;
			}
			break;
		case 'P':
			pfns = true;
			break;
		case 'h':
			fputs(pin_usage, stdout);
			return EX_OK;
		default:
			fputs(pin_usage, stderr);
			return EX_USAGE;
		}
	}
	if (optind < argc) {
		size = parse_size(argv[optind++]);
		if (!size) {
			err_msg("bad size '%s'", argv[optind - 1]);
			return EX_USAGE;
		}
	}
	if (optind < argc || (!file && !size)) {
		fputs(pin_usage, stderr);
		return EX_USAGE;
	}
	if (file) {
		struct stat st;

		fd = open(file, write ? O_RDWR : O_RDONLY);
		if (fd < 0 || fstat(fd, &st)) {
			err_msg("%s: %s", file, strerror(errno));
			return EX_FAIL;
		}
		if (!size)
			size = st.st_size;
		if (!size || size > (uint64_t)st.st_size) {
			err_msg("%s: size %" PRIu64 " but the file has %lld bytes",
				file, size, (long long)st.st_size);
			return EX_USAGE;
		}
	}
	size = (size + page - 1) & ~(uint64_t)(page - 1);
	rc = open_ctx(&pm);
	if (rc)
		return rc;
	if (file) {
		buf = mmap(NULL, size, PROT_READ | (write ? PROT_WRITE : 0),
			   MAP_SHARED, fd, 0);
	} else {
		buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	if (buf == MAP_FAILED) {
		err_msg("mmap %" PRIu64 " bytes: %s", size, strerror(errno));
		pinmem_close(pm);
		return EX_FAIL;
	}
	if (!file) {
		uint64_t off;

		for (off = 0; off < size; off += page)
			buf[off] = (char)(off / page);
	}
	ret = pinmem_pin(pm, buf, size, write ? PINMEM_PIN_WRITE : 0, &handle,
			 &nr);
	if (ret) {
		err_msg("pin %s at %p: %s (%s)", human(size, hb, sizeof(hb)),
			buf, strerrorname_np(-ret) ?: "?",
			pinmem_strerror(ret, PINMEM_CALL_PIN));
		pinmem_close(pm);
		return exit_code_for(ret) == EX_PERM ? EX_PERM : EX_FAIL;
	}
	printf("pinned %s (%" PRIu64 " pages) of %s at %p: handle %" PRIu64
	       ", %s\n", human(size, hb, sizeof(hb)), nr,
	       file ? file : "anonymous memory", buf, handle,
	       write ? "read-write" : "read-only");
	ret = pinmem_query(pm, handle, &info);
	if (ret)
		err_msg("query: %s", pinmem_strerror(ret, PINMEM_CALL_QUERY));
	else
		print_placement(&info);
	if (pfns) {
		uint64_t p[8];
		size_t i, n = 8;

		ret = pinmem_query_pfns(pm, handle, 0, p, &n);
		if (ret) {
			err_msg("PFNs: %s", pinmem_strerror(ret, PINMEM_CALL_QUERY));
		} else {
			printf("pfns:");
			for (i = 0; i < n; i++)
				printf(" %#" PRIx64, p[i]);
			printf("%s\n", n < nr ? " ..." : "");
		}
	}
	hold(secs);
	ret = pinmem_unpin(pm, handle);
	if (ret)
		err_msg("unpin: %s", pinmem_strerror(ret, PINMEM_CALL_UNPIN));
	else
		printf("unpinned handle %" PRIu64 "\n", handle);
	pinmem_close(pm);
	munmap(buf, size);
	if (fd >= 0)
		close(fd);
	return ret ? EX_FAIL : EX_OK;
}

static const char contig_usage[] =
"usage: pinmemctl contig [--pool] [--align N] [-t SECS] SIZE\n"
"  --pool           take it from the pool reserved at load (pool_mb=)\n"
"  --align N        physical alignment, a power of two (default: natural)\n"
"  -t, --time SECS  hold SECS seconds, 0 = free at once (default: until Ctrl-C)\n";

static int cmd_contig(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pool", no_argument, NULL, 'p' },
		{ "align", required_argument, NULL, 'a' },
		{ "time", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned int flags = 0;
	uint64_t size, align = 0, off, bad = 0;
	struct pinmem_contig_info ci;
	long secs = -1;
	struct pinmem *pm;
	char hb[32];
	int c, ret, rc;
	uint64_t *p;

	while ((c = getopt_long(argc, argv, "+t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			flags |= PINMEM_CONTIG_POOL;
			break;
		case 'a':
			align = parse_size(optarg);
			if (!align) {
				err_msg("bad alignment '%s'", optarg);
				return EX_USAGE;
			}
			break;
		case 't':
			if (parse_secs(optarg, &secs)) {
				err_msg("bad time '%s'", optarg);
				return EX_USAGE;
			}
			break;
		case 'h':
			fputs(contig_usage, stdout);
			return EX_OK;
		default:
			fputs(contig_usage, stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc - 1) {
		fputs(contig_usage, stderr);
		return EX_USAGE;
	}
	size = parse_size(argv[optind]);
	if (!size) {
		err_msg("bad size '%s'", argv[optind]);
		return EX_USAGE;
	}
	rc = open_ctx(&pm);
	if (rc)
		return rc;
	ret = pinmem_contig_alloc(pm, size, align, flags, &ci);
	if (ret) {
		err_msg("contiguous %s: %s (%s)", human(size, hb, sizeof(hb)),
			strerrorname_np(-ret) ?: "?",
			pinmem_strerror(ret, PINMEM_CALL_CONTIG_ALLOC));
		pinmem_close(pm);
		return exit_code_for(ret) == EX_PERM ? EX_PERM : EX_FAIL;
	}
	printf("allocated %s contiguous: handle %" PRIu64 ", mmap offset %#" PRIx64 "\n",
	       human(ci.length, hb, sizeof(hb)), ci.handle, ci.mmap_offset);
	if (ci.phys_addr)
		printf("physical: %#" PRIx64 "-%#" PRIx64 "\n", ci.phys_addr,
		       ci.phys_addr + ci.length - 1);
	else
		printf("physical: (hidden: needs CAP_SYS_ADMIN)\n");
	printf("placement: %s\n",
	       ci.placement & PINMEM_CONTIG_IN_POOL ? "pool (pool_mb=)" :
	       ci.placement & PINMEM_CONTIG_IN_CMA ? "CMA" :
	       "page allocator (not CMA)");
	ret = pinmem_contig_mmap(pm, &ci, PROT_READ | PROT_WRITE, (void **)&p);
	if (ret) {
		err_msg("mmap: %s", pinmem_strerror(ret, PINMEM_CALL_MMAP));
		rc = EX_FAIL;
	} else {
		for (off = 0; off < ci.length / 8; off++)
			p[off] = off ^ ci.handle;
		for (off = 0; off < ci.length / 8; off++)
			bad += p[off] != (off ^ ci.handle);
		printf("mapped at %p, wrote and read back %" PRIu64 " bytes: %s\n",
		       (void *)p, ci.length, bad ? "MISMATCH" : "ok");
		if (bad)
			rc = EX_FAIL;
	}
	hold(secs);
	if (!ret)
		pinmem_contig_munmap(&ci, p);
	ret = pinmem_contig_free(pm, ci.handle);
	if (ret) {
		err_msg("free: %s", pinmem_strerror(ret, PINMEM_CALL_CONTIG_FREE));
		rc = EX_FAIL;
	} else {
		printf("freed handle %" PRIu64 "\n", ci.handle);
	}
	pinmem_close(pm);
	return rc;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "status", cmd_status },
	{ "load", cmd_load },
	{ "unload", cmd_unload },
	{ "pins", cmd_pins },
	{ "stats", cmd_stats },
	{ "pin", cmd_pin },
	{ "contig", cmd_contig },
};

int pinmemctl_main(int argc, char **argv)
{
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
#ifdef PINMEMCTL_TESTING
	pm_root = getenv("PINMEMCTL_ROOT") ?: "";
#endif
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return EX_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("pinmemctl %s (libpinmem %s, ABI header %d, libkmod: %s, cJSON: %s)\n",
		       PINMEM_LIB_VERSION, pinmem_lib_version(),
		       PINMEM_ABI_VERSION, have_kmod ? "yes" : "no",
		       have_cjson ? "yes" : "no");
		return EX_OK;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		optind = 0;	/* glibc: full getopt reset */
		return commands[i].fn(argc - 1, argv + 1);
	}
	err_msg("unknown command '%s'", argv[1]);
	usage(stderr);
	return EX_USAGE;
}
