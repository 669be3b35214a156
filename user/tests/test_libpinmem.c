// SPDX-License-Identifier: GPL-2.0
/*
 * libpinmem and pinmemctl, inside the test VMs. Static, TAP output, one
 * case per line; every case runs in its own child process.
 *
 * pinmemctl is run as a subprocess: $PINMEMCTL, /tests/pinmemctl, next to
 * this binary, or on $PATH. If none exists, this binary runs itself as
 * pinmemctl (it links the same code and dispatches on argv[0]), so the
 * cases also work where only test_* binaries are copied into the guest.
 *
 * Without /dev/pinmem the cases that need the module skip; the others
 * (error messages for a missing module, pinmemctl usage) still run. The
 * static pinmemctl of the VMs has no cJSON: its --json cases skip, saying
 * so (make -C user check runs the JSON on recorded files instead). Cases
 * that need an unprivileged user (RLIMIT_MEMLOCK, fdinfo) run as uid 65534
 * in a child; those that need the module's fdinfo skip without it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pinmem.h>

#include "../pinmemctl/pinmemctl.h"

#define PAGE 4096UL
#define RW (PROT_READ | PROT_WRITE)
#define NOBODY 65534

#define NO_FDINFO "fdinfo of a /dev/pinmem fd has no pinmem- lines: this module has no .show_fdinfo"

enum { T_PASS, T_FAIL, T_SKIP };

static char *skip_reason;	/* shared with the case's child */
static char ctl_path[PATH_MAX];
static bool ctl_embedded;

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static int skip(const char *why)
{
	snprintf(skip_reason, 256, "%s", why);
	return T_SKIP;
}

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		diag("%s:%d: check failed: %s", __FILE__, __LINE__, #cond); \
		return T_FAIL;						\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b) {							\
		diag("%s:%d: %s == %lld, expected %s == %lld",		\
		     __FILE__, __LINE__, #a, _a, #b, _b);		\
		return T_FAIL;						\
	}								\
} while (0)

#define CHECK_STR(hay, needle) do {					\
	if (!strstr((hay), (needle))) {					\
		diag("%s:%d: \"%s\" not found in: %s", __FILE__,	\
		     __LINE__, (needle), (hay));			\
		return T_FAIL;						\
	}								\
} while (0)

static bool have_module(void)
{
	return access(PINMEM_DEVICE_PATH, F_OK) == 0;
}

#define NEED_MODULE() do {						\
	if (!have_module())						\
		return skip("/dev/pinmem missing: module not loaded");	\
} while (0)

static void *map_anon(size_t len)
{
	char *p = mmap(NULL, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0x5a, len);
	return p;
}

static void fill(void *buf, size_t len, unsigned int seed)
{
	uint64_t *p = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		p[i] = (i * 0x9E3779B97F4A7C15ULL) ^ seed;
}

static uint64_t pfn_of(const void *addr)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), ((uintptr_t)addr / PAGE) * sizeof(e)) !=
	    sizeof(e))
		e = 0;
	close(fd);
	return (e >> 63) ? e & ((1ULL << 55) - 1) : 0;
}

/* Pins debugfs lists for @pid; -1 if unreadable. */
static int debugfs_pins_of(int pid)
{
	FILE *f = fopen("/sys/kernel/debug/pinmem/pins", "r");
	char line[1024];
	int n = 0, p;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*u %d", &p) == 1 && p == pid)
			n++;
	fclose(f);
	return n;
}

/*
 * Become uid/gid @uid with no supplementary groups and no capabilities
 * (CAP_IPC_LOCK would lift RLIMIT_MEMLOCK), and stay dumpable, so that
 * processes of @uid may read our /proc files as they would a normal
 * process's (a uid change makes a process undumpable).
 */
static int drop_to(uid_t uid)
{
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
	    setresuid(uid, uid, uid))
		return -1;
	return prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

/* "KEY:\tN" of /proc/self/fdinfo/@fd; false if there is none. */
static bool fdinfo_value(int fd, const char *key, unsigned long long *v)
{
	char path[64], line[512];
	size_t kl = strlen(key);
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			found = sscanf(line + kl + 1, "%llu", v) == 1;
	fclose(f);
	return found;
}

static bool fdinfo_has_pinmem(int fd)
{
	unsigned long long v;

	return fdinfo_value(fd, "pinmem-ctx", &v);
}

/* Every line of @path as a diag, prefixed "@tag: " (for recording fixtures). */
static void dump_file(const char *tag, const char *path)
{
	char line[1024];
	FILE *f = fopen(path, "r");

	if (!f) {
		diag("%s: %s unreadable: %s", tag, path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		diag("%s: %s", tag, line);
	}
	fclose(f);
}

static bool zone_present(const char *zone)
{
	char line[256], name[64];
	bool in = false, yes = false;
	FILE *f = fopen("/proc/zoneinfo", "r");
	unsigned long n;

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Node %*d, zone %63s", name) == 1)
			in = !strcmp(name, zone);
		else if (in && sscanf(line, " present %lu", &n) == 1 && n)
			yes = true;
	}
	if (f)
		fclose(f);
	return yes;
}

static long meminfo_kb(const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = strtol(line + kl + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static long vmstat(const char *key)
{
	char name[64];
	long v, r = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	while (f && fscanf(f, "%63s %ld", name, &v) == 2)
		if (!strcmp(name, key))
			r = v;
	if (f)
		fclose(f);
	return r;
}

/* Write a module parameter; 0 or -errno. */
static int write_param(const char *name, const char *val)
{
	char path[128];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/sys/module/pinmem/parameters/%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno;
	close(fd);
	return ret;
}

static int read_param(const char *name, char *val, size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/module/pinmem/parameters/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, val, len - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	val[n] = 0;
	val[strcspn(val, "\n")] = 0;
	return 0;
}

/*
 * Run @fn in a child process (to change its uid, limits, ...); its T_*
 * result, which it exits with, is ours (a skip's reason is in the shared
 * skip_reason).
 */
static int in_child(int (*fn)(void *), void *arg)
{
	int status, r;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return T_FAIL;
	if (!pid) {
		r = fn(arg);
		fflush(stdout);
		_exit(r);
	}
	if (waitpid(pid, &status, 0) != pid) {
		diag("waitpid: %s", strerror(errno));
		return T_FAIL;
	}
	if (WIFSIGNALED(status)) {
		diag("child died of signal %d", WTERMSIG(status));
		return T_FAIL;
	}
	r = WEXITSTATUS(status);
	return r == T_PASS || r == T_SKIP ? r : T_FAIL;
}

/* ---- a small JSON checker: is @s exactly one valid JSON value? ---- */

static const char *js_ws(const char *s)
{
	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++;
	return s;
}

static const char *js_value(const char *s, int depth);

static const char *js_string(const char *s)
{
	if (*s++ != '"')
		return NULL;
	while (*s && *s != '"') {
		if ((unsigned char)*s < 0x20)
			return NULL;
		if (*s == '\\') {
			s++;
			if (*s == 'u') {
				int i;

				for (i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
						return NULL;
				s += 4;
			} else if (!*s || !strchr("\"\\/bfnrt", *s)) {
				return NULL;
			}
		}
		s++;
	}
	return *s == '"' ? s + 1 : NULL;
}

static const char *js_number(const char *s)
{
	const char *start;

	if (*s == '-')
		s++;
	start = s;
	while (*s >= '0' && *s <= '9')
		s++;
	if (s == start || (*start == '0' && s - start > 1))
		return NULL;
	if (*s == '.') {
		start = ++s;
		while (*s >= '0' && *s <= '9')
			s++;
		if (s == start)
			return NULL;
	}
	return s;
}

static const char *js_list(const char *s, int depth, char close, bool obj)
{
	s = js_ws(s + 1);
	if (*s == close)
		return s + 1;
	for (;;) {
		if (obj) {
			s = js_string(js_ws(s));
			if (!s)
				return NULL;
			s = js_ws(s);
			if (*s++ != ':')
				return NULL;
		}
		s = js_value(s, depth + 1);
		if (!s)
			return NULL;
		s = js_ws(s);
		if (*s == close)
			return s + 1;
		if (*s++ != ',')
			return NULL;
	}
}

static const char *js_value(const char *s, int depth)
{
	if (depth > 32)
		return NULL;
	s = js_ws(s);
	switch (*s) {
	case '{':
		return js_list(s, depth, '}', true);
	case '[':
		return js_list(s, depth, ']', false);
	case '"':
		return js_string(s);
	case 't':
		return strncmp(s, "true", 4) ? NULL : s + 4;
	case 'f':
		return strncmp(s, "false", 5) ? NULL : s + 5;
	case 'n':
		return strncmp(s, "null", 4) ? NULL : s + 4;
	default:
		return js_number(s);
	}
}

static bool json_valid(const char *s)
{
	s = js_value(s, 0);
	return s && !*js_ws(s);
}

/* ---- running pinmemctl ---- */

static void find_pinmemctl(void)
{
	const char *env = getenv("PINMEMCTL"), *path = getenv("PATH");
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (env && !access(env, X_OK)) {
		snprintf(ctl_path, sizeof(ctl_path), "%s", env);
		return;
	}
	if (!access("/tests/pinmemctl", X_OK)) {
		snprintf(ctl_path, sizeof(ctl_path), "/tests/pinmemctl");
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			snprintf(slash + 1, sizeof(self) - (slash + 1 - self),
				 "pinmemctl");
			if (!access(self, X_OK)) {
				snprintf(ctl_path, sizeof(ctl_path), "%s", self);
				return;
			}
		}
	}
	while (path && *path) {
		size_t len = strcspn(path, ":");

		snprintf(ctl_path, sizeof(ctl_path), "%.*s/pinmemctl",
			 (int)len, path);
		if (len && !access(ctl_path, X_OK))
			return;
		path += len + (path[len] == ':');
	}
	snprintf(ctl_path, sizeof(ctl_path), "/proc/self/exe");
	ctl_embedded = true;
}

struct run {
	int rc;			/* exit status, or 128 + signal */
	char out[65536];
	char err[8192];
};

static void slurp(int fd, char *buf, size_t len)
{
	ssize_t n, got = 0;

	lseek(fd, 0, SEEK_SET);
	while ((size_t)got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	buf[got] = 0;
	close(fd);
}

/* Run pinmemctl with the NULL-terminated arguments; 0 if it ran. */
static int ctl(struct run *r, ...)
{
	char *argv[16], tout[] = "/tmp/pmctl-out.XXXXXX",
	     terr[] = "/tmp/pmctl-err.XXXXXX";
	int fo = mkstemp(tout), fe = mkstemp(terr), n = 1, status;
	va_list ap;
	pid_t pid;

	if (fo < 0 || fe < 0)
		return -1;
	unlink(tout);
	unlink(terr);
	argv[0] = "pinmemctl";
	va_start(ap, r);
	while (n < 15 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(fo, 1);
		dup2(fe, 2);
		execv(ctl_path, argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	r->rc = WIFEXITED(status) ? WEXITSTATUS(status) :
		128 + WTERMSIG(status);
	slurp(fo, r->out, sizeof(r->out));
	slurp(fe, r->err, sizeof(r->err));
	return 0;
}

static void show_lines(const char *text)
{
	int n = 0;

	while (*text && n++ < 60) {
		size_t len = strcspn(text, "\n");

		diag("  %.*s", (int)len, text);
		text += len + (text[len] == '\n');
	}
}

static void show(const char *what, const struct run *r)
{
	diag("pinmemctl %s: exit %d", what, r->rc);
	show_lines(r->out);
	show_lines(r->err);
}

/* ---- cases ---- */

static int t_open_and_version(void)
{
	struct pinmem *pm = NULL;
	uint32_t abi = 0;

	NEED_MODULE();
	CHECK_EQ(pinmem_open(&pm), 0);
	CHECK(pm != NULL);
	CHECK(pinmem_fd(pm) >= 0);
	CHECK_EQ(pinmem_abi_version(pm), PINMEM_ABI_VERSION);
	CHECK(pinmem_abi_version(pm) >= PINMEM_LIB_MIN_ABI);
	CHECK_EQ(pinmem_get_abi_version(pm, &abi), 0);
	CHECK_EQ(abi, PINMEM_ABI_VERSION);
	CHECK(!strcmp(pinmem_lib_version(), PINMEM_LIB_VERSION));
	pinmem_close(pm);
	pinmem_close(NULL);
	return T_PASS;
}

static int t_open_errors_explained(void)
{
	struct pinmem *pm = (struct pinmem *)1;
	const char *m;

	CHECK_EQ(pinmem_open_path("/nonexistent/pinmem", &pm), -ENOENT);
	CHECK_EQ(errno, ENOENT);
	CHECK(pm == NULL);
	m = pinmem_strerror(-ENOENT, PINMEM_CALL_OPEN);
	CHECK_STR(m, "module is not loaded");
	CHECK_STR(pinmem_strerror(ENODEV, PINMEM_CALL_OPEN), "not loaded");
	/* a character device that is not pinmem: VERSION gives ENOTTY */
	CHECK_EQ(pinmem_open_path("/dev/null", &pm), -ENOTTY);
	CHECK_STR(pinmem_strerror(-ENOTTY, PINMEM_CALL_OPEN), "not a pinmem device");
	CHECK_STR(pinmem_strerror(-EPROTO, PINMEM_CALL_OPEN), "older than");
	CHECK_STR(pinmem_strerror(-EACCES, PINMEM_CALL_OPEN), "root only");
	CHECK_EQ(pinmem_open(NULL), -EINVAL);
	/* no pinmem-specific meaning: strerror() */
	CHECK(!strcmp(pinmem_strerror(-EIO, PINMEM_CALL_PIN), strerror(EIO)));
	CHECK(!strcmp(pinmem_strerror(0, PINMEM_CALL_PIN), "success"));
	if (!have_module()) {
		CHECK_EQ(pinmem_open(&pm), -ENOENT);
		diag("without the module: %s",
		     pinmem_strerror(-ENOENT, PINMEM_CALL_OPEN));
	}
	return T_PASS;
}

static int t_pin_query_access_unpin(void)
{
	const size_t len = 64 * PAGE;
	struct pinmem_pin_info in;
	char *buf = map_anon(len), *rd = malloc(len), *wr = malloc(PAGE);
	uint64_t h, nr, sum = 0;
	struct pinmem *pm;
	int z;

	NEED_MODULE();
	CHECK(buf && rd && wr);
	fill(buf, len, 1);
	CHECK_EQ(pinmem_open(&pm), 0);
	CHECK_EQ(pinmem_pin(pm, buf, len, PINMEM_PIN_WRITE, &h, &nr), 0);
	CHECK_EQ(nr, 64);
	CHECK(h > 0);
	CHECK_EQ(debugfs_pins_of(getpid()), 1);

	CHECK_EQ(pinmem_query(pm, h, &in), 0);
	CHECK_EQ(in.handle, h);
	CHECK_EQ(in.addr, (uintptr_t)buf);
	CHECK_EQ(in.length, len);
	CHECK_EQ(in.nr_pages, 64);
	CHECK_EQ(in.pin_flags, PINMEM_PIN_WRITE);
	for (z = 0; z < PINMEM_ZONE_SLOTS; z++)
		sum += in.zone_pages[z];
	CHECK_EQ(sum, 64);
	CHECK_EQ(in.zone_pages[PINMEM_ZONE_MOVABLE], 0);

	memset(&in, 0, sizeof(in));
	CHECK_EQ(pinmem_query_addr(pm, buf + 10 * PAGE + 7, &in), 0);
	CHECK_EQ(in.handle, h);
	CHECK_EQ(pinmem_query_addr(pm, buf + len, &in), -ENOENT);

	/* what the "device" reads is the buffer, and it writes into it */
	CHECK_EQ(pinmem_read(pm, h, 0, rd, len), 0);
	CHECK(!memcmp(rd, buf, len));
	memset(wr, 0xa5, PAGE);
	CHECK_EQ(pinmem_write(pm, h, 5 * PAGE + 100, wr, 200), 0);
	CHECK_EQ((unsigned char)buf[5 * PAGE + 100], 0xa5);
	CHECK_EQ((unsigned char)buf[5 * PAGE + 299], 0xa5);
	CHECK((unsigned char)buf[5 * PAGE + 300] != 0xa5);

	CHECK_EQ(pinmem_unpin(pm, h), 0);
	CHECK_EQ(pinmem_query(pm, h, &in), -ENOENT);
	CHECK_EQ(pinmem_unpin(pm, h), -ENOENT);
	CHECK_EQ(debugfs_pins_of(getpid()), 0);
	pinmem_close(pm);
	return T_PASS;
}

static int t_query_pfns(void)
{
	char *buf = map_anon(8 * PAGE);
	uint64_t h, pfns[16] = { 0 };
	struct pinmem *pm;
	size_t n, i;

	NEED_MODULE();
	CHECK(buf);
	CHECK_EQ(pinmem_open(&pm), 0);
	CHECK_EQ(pinmem_pin(pm, buf, 8 * PAGE, 0, &h, NULL), 0);
	n = 16;
	CHECK_EQ(pinmem_query_pfns(pm, h, 0, pfns, &n), 0);
	CHECK_EQ(n, 8);
	for (i = 0; i < n; i++) {
		CHECK(pfns[i] != 0);
		if (pfn_of(buf + i * PAGE))
			CHECK_EQ(pfns[i], pfn_of(buf + i * PAGE));
	}
	n = 2;
	CHECK_EQ(pinmem_query_pfns(pm, h, 6, pfns, &n), 0);
	CHECK_EQ(n, 2);
	CHECK_EQ(pfns[0], pfn_of(buf + 6 * PAGE));
	n = 1;
	CHECK_EQ(pinmem_query_pfns(pm, h, 8, pfns, &n), -EINVAL);
	n = 1;
	CHECK_EQ(pinmem_query_pfns(pm, h, 0, NULL, &n), -EINVAL);
	CHECK_EQ(pinmem_query_pfns(pm, h, 0, pfns, NULL), -EINVAL);
	CHECK_EQ(pinmem_unpin(pm, h), 0);
	pinmem_close(pm);
	return T_PASS;
}

#define EXPECT_ERR(call, err, op, words) do {				\
	int _r = (call);						\
	if (_r != -(err)) {						\
		diag("%s:%d: %s = %d (%s), expected %d", __FILE__,	\
		     __LINE__, #call, _r, strerror(-_r), -(err));	\
		return T_FAIL;						\
	}								\
	CHECK_EQ(errno, err);						\
	CHECK_STR(pinmem_strerror(_r, op), words);			\
} while (0)

static int t_bad_input_explained(void)
{
	char *buf = map_anon(16 * PAGE), b[16];
	struct pinmem_contig_info ci;
	struct pinmem_pin_info in;
	struct pinmem *pm;
	uint64_t h;

	NEED_MODULE();
	CHECK(buf);
	CHECK_EQ(pinmem_open(&pm), 0);
	EXPECT_ERR(pinmem_pin(pm, buf + 1, PAGE, 0, NULL, NULL), EINVAL,
		   PINMEM_CALL_PIN, "not page aligned");
	EXPECT_ERR(pinmem_pin(pm, buf, 0, 0, NULL, NULL), EINVAL,
		   PINMEM_CALL_PIN, "zero length");
	EXPECT_ERR(pinmem_pin(pm, buf, PAGE, 1U << 30, NULL, NULL), EINVAL,
		   PINMEM_CALL_PIN, "unknown flags");
	CHECK_EQ(mprotect(buf + 8 * PAGE, PAGE, PROT_NONE), 0);
	EXPECT_ERR(pinmem_pin(pm, buf + 8 * PAGE, PAGE, 0, NULL, NULL), EFAULT,
		   PINMEM_CALL_PIN, "PROT_NONE");
	CHECK_EQ(pinmem_pin(pm, buf, 4 * PAGE, 0, &h, NULL), 0);
	EXPECT_ERR(pinmem_pin(pm, buf + 2 * PAGE, 4 * PAGE, 0, NULL, NULL),
		   EEXIST, PINMEM_CALL_PIN, "overlaps");
	EXPECT_ERR(pinmem_write(pm, h, 0, b, sizeof(b)), EACCES,
		   PINMEM_CALL_ACCESS, "PINMEM_PIN_WRITE");
	EXPECT_ERR(pinmem_read(pm, h, 4 * PAGE - 8, b, sizeof(b)), EINVAL,
		   PINMEM_CALL_ACCESS, "outside the pin");
	EXPECT_ERR(pinmem_read(pm, h + 1000, 0, b, sizeof(b)), ENOENT,
		   PINMEM_CALL_ACCESS, "no such pin");
	EXPECT_ERR(pinmem_query(pm, h + 1000, &in), ENOENT,
		   PINMEM_CALL_QUERY, "no such pin");
	EXPECT_ERR(pinmem_unpin(pm, h + 1000), ENOENT,
		   PINMEM_CALL_UNPIN, "no such handle");
	EXPECT_ERR(pinmem_contig_alloc(pm, PAGE + 1, 0, 0, &ci), EINVAL,
		   PINMEM_CALL_CONTIG_ALLOC, "page aligned");
	EXPECT_ERR(pinmem_contig_free(pm, h + 1000), ENOENT,
		   PINMEM_CALL_CONTIG_FREE, "no such handle");
	EXPECT_ERR(pinmem_unpin(NULL, h), EBADF, PINMEM_CALL_UNPIN,
		   "no pinmem context");
	CHECK_EQ(pinmem_unpin(pm, h), 0);
	pinmem_close(pm);
	return T_PASS;
}

static int t_fork_child_eperm_explained(void)
{
	char *buf = map_anon(4 * PAGE);
	struct pinmem *pm;
	int status;
	pid_t pid;

	NEED_MODULE();
	CHECK(buf);
	CHECK_EQ(pinmem_open(&pm), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		int r = pinmem_pin(pm, buf, 4 * PAGE, 0, NULL, NULL);

		if (r != -EPERM)
			_exit(10);
		if (!strstr(pinmem_strerror(r, PINMEM_CALL_PIN),
			    "another process"))
			_exit(11);
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	pinmem_close(pm);
	return T_PASS;
}

/*
 * RLIMIT_MEMLOCK refusals say so, with the numbers: as uid 65534 (root has
 * CAP_IPC_LOCK, which lifts the limit), limit 16 pages. The context was
 * opened as root, so root's locked_vm is charged: fdinfo tells how much.
 */
static int memlock_child(void *unused)
{
	struct rlimit rl = { 16 * PAGE, 16 * PAGE };
	char *buf = map_anon(64 * PAGE), want[256];
	unsigned long long locked;
	struct pinmem *pm;
	const char *m;
	int r;

	(void)unused;
	CHECK(buf);
	CHECK_EQ(pinmem_open(&pm), 0);
	CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
	CHECK_EQ(drop_to(NOBODY), 0);
	r = pinmem_pin(pm, buf, 32 * PAGE, 0, NULL, NULL);
	CHECK_EQ(r, -ENOMEM);
	CHECK_EQ(errno, ENOMEM);
	m = pinmem_strerror(r, PINMEM_CALL_PIN);
	diag("32 pages, RLIMIT_MEMLOCK 16 pages: %s", m);
	CHECK_STR(m, "cannot pin 128 KiB: RLIMIT_MEMLOCK is 64 KiB");
	CHECK_STR(m, "ulimit -l");
	CHECK_STR(m, "'memlock' in /etc/security/limits.conf");
	CHECK_STR(m, "LimitMEMLOCK=");
	CHECK_STR(m, "CAP_IPC_LOCK");
	/* ENOMEM of another call is not this pin's */
	CHECK(!strstr(pinmem_strerror(r, PINMEM_CALL_CONTIG_ALLOC), "RLIMIT_MEMLOCK is"));
	CHECK_EQ(pinmem_pin(pm, buf, 8 * PAGE, 0, NULL, NULL), 0);
	/* a pin that worked forgets the last failure: the list of causes */
	CHECK(!strstr(pinmem_strerror(-ENOMEM, PINMEM_CALL_PIN), "RLIMIT_MEMLOCK is"));
	CHECK_STR(pinmem_strerror(-ENOMEM, PINMEM_CALL_PIN), "max_pins");
	if (!fdinfo_value(pinmem_fd(pm), "pinmem-user-locked-pages", &locked)) {
		pinmem_close(pm);
		return skip(NO_FDINFO);
	}
	/* 12 pages would fit the limit alone, not with the 8 pinned */
	r = pinmem_pin(pm, buf + 16 * PAGE, 12 * PAGE, 0, NULL, NULL);
	CHECK_EQ(r, -ENOMEM);
	m = pinmem_strerror(r, PINMEM_CALL_PIN);
	diag("12 more pages: %s", m);
	snprintf(want, sizeof(want), "cannot pin 48 KiB: RLIMIT_MEMLOCK is 64 KiB and this user already has %llu KiB locked",
		 locked * (PAGE / 1024));
	CHECK_STR(m, want);
	CHECK(locked >= 8);
	pinmem_close(pm);
	return T_PASS;
}

static int t_memlock_enomem_explained(void)
{
	NEED_MODULE();
	return in_child(memlock_child, NULL);
}

/* pinmemctl pin as a user over its RLIMIT_MEMLOCK prints the same. */
static int ctl_pin_memlock_child(void *unused)
{
	struct rlimit rl = { 16 * PAGE, 16 * PAGE };
	struct run *r = malloc(sizeof(*r));

	(void)unused;
	CHECK(r);
	CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
	CHECK_EQ(drop_to(NOBODY), 0);
	CHECK_EQ(ctl(r, "pin", "-t", "0", "1M", NULL), 0);
	show("pin -t 0 1M as uid 65534 with RLIMIT_MEMLOCK 64 KiB", r);
	CHECK_EQ(r->rc, EX_FAIL);
	CHECK_STR(r->err, "ENOMEM");
	CHECK_STR(r->err, "cannot pin 1024 KiB: RLIMIT_MEMLOCK is 64 KiB");
	CHECK_STR(r->err, "ulimit -l");
	CHECK_STR(r->err, "CAP_IPC_LOCK");
	return T_PASS;
}

static int t_ctl_pin_memlock(void)
{
	struct stat st;
	int ret;

	NEED_MODULE();
	CHECK_EQ(stat(PINMEM_DEVICE_PATH, &st), 0);
	/* pinmemctl opens the device itself: let uid 65534 do so meanwhile */
	CHECK_EQ(chown(PINMEM_DEVICE_PATH, NOBODY, NOBODY), 0);
	ret = in_child(ctl_pin_memlock_child, NULL);
	if (chown(PINMEM_DEVICE_PATH, st.st_uid, st.st_gid)) {
		diag("restoring the owner of %s: %s", PINMEM_DEVICE_PATH, strerror(errno));
		ret = T_FAIL;
	}
	return ret;
}

/*
 * ENOMEM for the module's max_pins or max_pages names that limit, never
 * RLIMIT_MEMLOCK: as uid 65534 within its RLIMIT_MEMLOCK (16 pages).
 */
static int module_limit_child(void *arg)
{
	bool pages = *(bool *)arg;
	struct rlimit rl = { 16 * PAGE, 16 * PAGE };
	char *buf = map_anon(16 * PAGE);
	struct pinmem *pm;
	const char *m;
	bool fdinfo;
	int r;

	CHECK(buf);
	CHECK_EQ(pinmem_open(&pm), 0);
	CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
	CHECK_EQ(drop_to(NOBODY), 0);
	fdinfo = fdinfo_has_pinmem(pinmem_fd(pm));
	if (!pages) {
		/* max_pins=2 */
		CHECK_EQ(pinmem_pin(pm, buf, PAGE, 0, NULL, NULL), 0);
		CHECK_EQ(pinmem_pin(pm, buf + PAGE, PAGE, 0, NULL, NULL), 0);
		r = pinmem_pin(pm, buf + 2 * PAGE, PAGE, 0, NULL, NULL);
	} else {
		/* max_pages=4 */
		CHECK_EQ(pinmem_pin(pm, buf, 3 * PAGE, 0, NULL, NULL), 0);
		r = pinmem_pin(pm, buf + 4 * PAGE, 2 * PAGE, 0, NULL, NULL);
	}
	CHECK_EQ(r, -ENOMEM);
	m = pinmem_strerror(r, PINMEM_CALL_PIN);
	diag("%s: %s", pages ? "max_pages=4, 3 + 2 pages" : "max_pins=2, a third pin", m);
	CHECK(!strstr(m, "RLIMIT_MEMLOCK is"));
	CHECK(!strstr(m, "raise the limit"));
	CHECK_STR(m, pages ? "max_pages" : "max_pins");
	pinmem_close(pm);
	if (!fdinfo)
		return skip(NO_FDINFO);
	CHECK_STR(m, pages ? "cannot pin 8 KiB: this context has 12 KiB pinned and the module's max_pages limit is 4 pages" :
		     "cannot pin: this context already holds 2 pins, the module's max_pins limit (2)");
	return T_PASS;
}

static int t_enomem_module_limits(void)
{
	char pins[32], pages[32];
	bool by_pages;
	int ret, r2;

	NEED_MODULE();
	CHECK_EQ(read_param("max_pins", pins, sizeof(pins)), 0);
	CHECK_EQ(read_param("max_pages", pages, sizeof(pages)), 0);
	CHECK_EQ(write_param("max_pins", "2"), 0);
	by_pages = false;
	ret = in_child(module_limit_child, &by_pages);
	CHECK_EQ(write_param("max_pins", pins), 0);
	CHECK_EQ(write_param("max_pages", "4"), 0);
	by_pages = true;
	r2 = in_child(module_limit_child, &by_pages);
	CHECK_EQ(write_param("max_pages", pages), 0);
	if (ret == T_FAIL || r2 == T_FAIL)
		return T_FAIL;
	return ret == T_SKIP || r2 == T_SKIP ? T_SKIP : T_PASS;
}

/*
 * ENOMEM of the fit check (more to fault in than the memory outside
 * ZONE_MOVABLE/CMA can take) does not blame RLIMIT_MEMLOCK: as uid 65534
 * with a limit twice the pin.
 */
static int fit_child(void *arg)
{
	size_t len = *(size_t *)arg;
	struct rlimit rl = { 2 * len, 2 * len };
	long oom = vmstat("oom_kill");
	struct pinmem *pm;
	const char *m;
	char *buf;
	int r;

	buf = mmap(NULL, len, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (buf == MAP_FAILED)
		return skip("cannot map 80% of MemTotal");
	CHECK_EQ(pinmem_open(&pm), 0);
	CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
	CHECK_EQ(drop_to(NOBODY), 0);
	r = pinmem_pin(pm, buf, len, PINMEM_PIN_WRITE, NULL, NULL);
	CHECK_EQ(r, -ENOMEM);
	CHECK_EQ(vmstat("oom_kill"), oom);
	m = pinmem_strerror(r, PINMEM_CALL_PIN);
	diag("%zu MiB, never touched, RLIMIT_MEMLOCK %zu MiB: %s", len >> 20,
	     (2 * len) >> 20, m);
	CHECK(!strstr(m, "RLIMIT_MEMLOCK is"));
	CHECK(!strstr(m, "raise the limit"));
	if (!fdinfo_has_pinmem(pinmem_fd(pm)))
		return skip(NO_FDINFO);
	CHECK_STR(m, "and no limit refused it");
	CHECK_STR(m, "ZONE_MOVABLE/CMA");
	pinmem_close(pm);
	return T_PASS;
}

static int t_enomem_fit_not_rlimit(void)
{
	long total = meminfo_kb("MemTotal");
	size_t len;

	NEED_MODULE();
	/* without them pinmem has no fit check: GUP would fault it all in */
	if (!zone_present("Movable") && meminfo_kb("CmaTotal") <= 0)
		return skip("no ZONE_MOVABLE and no CMA: pinmem refuses nothing for fit here");
	CHECK(total > 0);
	len = ((size_t)total * 1024 / 10 * 8) & ~((size_t)(2 << 20) - 1);
	return in_child(fit_child, &len);
}

static int t_contig_alloc_mmap(void)
{
	const size_t len = 1024 * 1024;
	struct pinmem_contig_info ci;
	struct pinmem *pm;
	uint64_t *p, *p2, i;
	int r;

	NEED_MODULE();
	CHECK_EQ(pinmem_open(&pm), 0);
	r = pinmem_contig_alloc(pm, len, 0, 0, &ci);
	if (r)
		diag("contig_alloc: %s", pinmem_strerror(r, PINMEM_CALL_CONTIG_ALLOC));
	CHECK_EQ(r, 0);
	diag("1 MiB: handle %llu phys %#llx placement %s",
	     (unsigned long long)ci.handle, (unsigned long long)ci.phys_addr,
	     ci.placement & PINMEM_CONTIG_IN_CMA ? "CMA" :
	     ci.placement & PINMEM_CONTIG_IN_POOL ? "pool" : "page allocator");
	CHECK_EQ(ci.length, len);
	CHECK(ci.phys_addr != 0);		/* we are root */
	CHECK_EQ(ci.phys_addr % len, 0);
	CHECK_EQ(pinmem_contig_mmap(pm, &ci, RW, (void **)&p), 0);
	for (i = 0; i < len / 8; i++)
		p[i] = i * 3 + 1;
	if (pfn_of(p))
		CHECK_EQ(pfn_of(p) * PAGE, ci.phys_addr);
	CHECK_EQ(pinmem_contig_mmap(pm, &ci, PROT_READ, (void **)&p2), 0);
	for (i = 0; i < len / 8; i++)
		if (p2[i] != i * 3 + 1)
			break;
	CHECK_EQ(i, len / 8);
	CHECK_EQ(pinmem_contig_munmap(&ci, p2), 0);
	/* the library's mapping is VM_PFNMAP: pinning it is refused */
	EXPECT_ERR(pinmem_pin(pm, p, len, 0, NULL, NULL), EFAULT,
		   PINMEM_CALL_PIN, "VM_PFNMAP");
	CHECK_EQ(pinmem_contig_free(pm, ci.handle), 0);
	CHECK_EQ(p[7], 7 * 3 + 1);	/* the mapping keeps it */
	CHECK_EQ(pinmem_contig_munmap(&ci, p), 0);
	CHECK_EQ(pinmem_contig_free(pm, ci.handle), -ENOENT);
	/* a mapping that is not the whole buffer */
	CHECK_EQ(pinmem_contig_alloc(pm, 4 * PAGE, 0, 0, &ci), 0);
	ci.length = 2 * PAGE;
	EXPECT_ERR(pinmem_contig_mmap(pm, &ci, RW, (void **)&p), EINVAL,
		   PINMEM_CALL_MMAP, "whole contiguous buffer");
	pinmem_close(pm);
	return T_PASS;
}

/* pinmem_export(): a dma-buf fd of the pin, usable after the pin is gone. */
static int t_export(void)
{
	const size_t len = 16 * PAGE;
	struct pinmem *pm;
	uint64_t h;
	char *buf, *m;
	int dfd = -1;

	NEED_MODULE();
	CHECK_EQ(pinmem_open(&pm), 0);
	buf = mmap(NULL, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(buf != MAP_FAILED);
	memset(buf, 0x3c, len);
	EXPECT_ERR(pinmem_export(pm, 12345, 0, &dfd), ENOENT,
		   PINMEM_CALL_EXPORT, "no such pin or contiguous buffer");
	CHECK_EQ(pinmem_pin(pm, buf, len, PINMEM_PIN_WRITE, &h, NULL), 0);
	EXPECT_ERR(pinmem_export(pm, h, 0x80, &dfd), EINVAL,
		   PINMEM_CALL_EXPORT, "unknown flags");
	CHECK_EQ(pinmem_export(pm, h, PINMEM_EXPORT_CLOEXEC, &dfd), 0);
	CHECK(dfd >= 0);
	CHECK_EQ(pinmem_unpin(pm, h), 0);
	pinmem_close(pm);
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd, 0);
	CHECK(m != MAP_FAILED);
	CHECK_EQ(m[len - 1], 0x3c);
	munmap(m, len);
	close(dfd);
	munmap(buf, len);
	return T_PASS;
}

/* pinmem_pin_memfd(): a memfd range without a mapping, where the kernel can. */
static int t_pin_memfd(void)
{
	int mfd = memfd_create("libpinmem-test", MFD_ALLOW_SEALING | MFD_CLOEXEC), r;
	struct pinmem_pin_info info;
	struct pinmem *pm;
	uint64_t h, n;

	NEED_MODULE();
	CHECK(mfd >= 0);
	CHECK_EQ(ftruncate(mfd, 8 * PAGE), 0);
	CHECK_EQ(fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	CHECK_EQ(pinmem_open(&pm), 0);
	r = pinmem_pin_memfd(pm, mfd, 4 * PAGE, 4 * PAGE, PINMEM_PIN_WRITE, &h, &n);
	if (r == -EOPNOTSUPP) {
		/* before 6.11, whatever the arguments */
		CHECK_STR(pinmem_strerror(r, PINMEM_CALL_PIN_MEMFD), "6.11");
		diag("pinmem_pin_memfd: %s", pinmem_strerror(r, PINMEM_CALL_PIN_MEMFD));
	} else {
		CHECK_EQ(r, 0);
		EXPECT_ERR(pinmem_pin_memfd(pm, mfd, 0, 9 * PAGE, 0, NULL, NULL),
			   EINVAL, PINMEM_CALL_PIN_MEMFD, "outside the file");
		CHECK_EQ(n, 4);
		CHECK_EQ(pinmem_query(pm, h, &info), 0);
		CHECK(info.pin_flags & PINMEM_PIN_MEMFD);
		CHECK_EQ(pinmem_unpin(pm, h), 0);
	}
	pinmem_close(pm);
	close(mfd);
	return T_PASS;
}

static int t_ctl_status(void)
{
	struct run *r = malloc(sizeof(*r));

	CHECK(r);
	CHECK_EQ(ctl(r, "status", NULL), 0);
	if (!have_module()) {
		show("status", r);
		CHECK_EQ(r->rc, EX_NOTLOADED);
		CHECK_STR(r->out, "not loaded");
		return T_PASS;
	}
	if (r->rc)
		show("status", r);
	CHECK_EQ(r->rc, 0);
	CHECK_STR(r->out, "module:");
	CHECK_STR(r->out, "loaded, version ");
	CHECK_STR(r->out, "ABI version:  2");
	CHECK_STR(r->out, "device:       /dev/pinmem char mode 0600");
	CHECK_STR(r->out, "max_pins=");
	CHECK_STR(r->out, "dev_mode=384 (0600)");
	CHECK_STR(r->out, "CMA:");
	CHECK_STR(r->out, "DMA CMA (CONFIG_DMA_CMA): ");
	show("status", r);
	return T_PASS;
}

/* pinmemctl could not print JSON: the static build for the VMs */
static bool no_cjson(const struct run *r)
{
	return r->rc == EX_USAGE && strstr(r->err, "built without cJSON");
}

#define NO_CJSON "pinmemctl was built without cJSON (the static build: Debian ships no libcjson.a)"

enum { C_CTX, C_PID, C_COMM, C_HANDLE, C_START, C_END, C_SIZE, C_PAGES,
       C_FLAGS, C_AGE, C_PLACEMENT, NCOLS };

/*
 * The row of pinmemctl pins' table for pin @handle of @pid, split into its
 * columns (PLACEMENT is the rest of the line); false if there is none.
 */
static bool table_row(const char *out, int pid, uint64_t handle,
		      char cols[NCOLS][160])
{
	while (*out) {
		size_t len = strcspn(out, "\n");
		char line[1024];
		int n = 0;

		snprintf(line, sizeof(line), "%.*s", (int)len, out);
		out += len + (out[len] == '\n');
		if (sscanf(line, "%159s %159s %159s %159s %159s %159s %159s %159s %159s %159s %n",
			   cols[0], cols[1], cols[2], cols[3], cols[4], cols[5],
			   cols[6], cols[7], cols[8], cols[9], &n) != 10 || !n)
			continue;
		snprintf(cols[C_PLACEMENT], 160, "%s", line + n);
		if (atoi(cols[C_PID]) == pid &&
		    strtoull(cols[C_HANDLE], NULL, 10) == handle)
			return true;
	}
	return false;
}

static bool table_has_pid(const char *out, int pid)
{
	char cols[NCOLS][160];

	while (*out) {
		size_t len = strcspn(out, "\n");

		if (sscanf(out, "%159s %159s", cols[0], cols[1]) == 2 &&
		    atoi(cols[1]) == pid && strcmp(cols[0], "CTX"))
			return true;
		out += len + (out[len] == '\n');
	}
	return false;
}

static int t_ctl_pins_table(void)
{
	char *buf = map_anon(32 * PAGE), pidstr[64];
	struct run *r = malloc(sizeof(*r));
	struct pinmem *pm;
	uint64_t h1, h2;

	NEED_MODULE();
	CHECK(buf && r);
	CHECK_EQ(pinmem_open(&pm), 0);
	CHECK_EQ(pinmem_pin(pm, buf, 8 * PAGE, 0, &h1, NULL), 0);
	CHECK_EQ(pinmem_pin(pm, buf + 16 * PAGE, 16 * PAGE, PINMEM_PIN_WRITE,
			    &h2, NULL), 0);

	CHECK_EQ(ctl(r, "pins", NULL), 0);
	if (r->rc)
		show("pins", r);
	CHECK_EQ(r->rc, 0);
	CHECK_STR(r->out, "CTX");
	CHECK_STR(r->out, "HANDLE");
	CHECK_STR(r->out, "PLACEMENT");
	snprintf(pidstr, sizeof(pidstr), "  %d  test_libpinmem", getpid());
	CHECK_STR(r->out, pidstr);
	CHECK_STR(r->out, "rw");
	CHECK_STR(r->out, "64K");
	/* root reads debugfs, and says so */
	CHECK_STR(r->err, "# source: debugfs");
	show("pins", r);
	CHECK_EQ(pinmem_unpin(pm, h1), 0);
	CHECK_EQ(pinmem_unpin(pm, h2), 0);
	pinmem_close(pm);
	return T_PASS;
}

static int t_ctl_pins_json(void)
{
	char *buf = map_anon(32 * PAGE), pidstr[64];
	struct run *r = malloc(sizeof(*r));
	struct pinmem *pm;
	uint64_t h1, h2;

	NEED_MODULE();
	CHECK(buf && r);
	CHECK_EQ(ctl(r, "pins", "--json", NULL), 0);
	if (no_cjson(r))
		return skip(NO_CJSON);
	CHECK_EQ(pinmem_open(&pm), 0);
	CHECK_EQ(pinmem_pin(pm, buf, 8 * PAGE, 0, &h1, NULL), 0);
	CHECK_EQ(pinmem_pin(pm, buf + 16 * PAGE, 16 * PAGE, PINMEM_PIN_WRITE,
			    &h2, NULL), 0);
	CHECK_EQ(ctl(r, "pins", "--json", NULL), 0);
	CHECK_EQ(r->rc, 0);
	if (!json_valid(r->out)) {
		show("pins --json", r);
		CHECK(json_valid(r->out));
	}
	CHECK_STR(r->out, "{\"source\":\"debugfs\",\"pins\":[");
	snprintf(pidstr, sizeof(pidstr), "\"pid\":%d,\"comm\":\"test_libpinmem\"",
		 getpid());
	CHECK_STR(r->out, pidstr);
	snprintf(pidstr, sizeof(pidstr), "\"start\":\"%#lx\"",
		 (unsigned long)(uintptr_t)(buf + 16 * PAGE));
	CHECK_STR(r->out, pidstr);
	CHECK_STR(r->out, "\"pages\":16,\"flags\":\"rw\",\"write\":true,\"memfd\":false");
	CHECK_STR(r->out, "\"runs\":");
	CHECK_EQ(pinmem_unpin(pm, h1), 0);
	CHECK_EQ(pinmem_unpin(pm, h2), 0);
	pinmem_close(pm);
	return T_PASS;
}

/*
 * Root without debugfs reads fdinfo too (--source fdinfo): the same pins,
 * the same columns but for their age. The kernel files are dumped as
 * diagnostics, to record them as user/tests/fixtures.
 */
static int t_ctl_pins_fdinfo_as_root(void)
{
	char *buf = map_anon(32 * PAGE), path[64];
	char a[NCOLS][160], b[NCOLS][160];
	struct run *r = malloc(sizeof(*r)), *d = malloc(sizeof(*d));
	struct pinmem_contig_info ci;
	uint64_t h[3], hm = 0;
	struct pinmem *pm;
	int i, c, dfd, mfd;

	NEED_MODULE();
	CHECK(buf && r && d);
	CHECK_EQ(pinmem_open(&pm), 0);
	CHECK_EQ(pinmem_pin(pm, buf, 16 * PAGE, PINMEM_PIN_WRITE, &h[0], NULL), 0);
	CHECK_EQ(pinmem_pin(pm, buf + 16 * PAGE, 4 * PAGE, 0, &h[1], NULL), 0);
	CHECK_EQ(pinmem_export(pm, h[0], PINMEM_EXPORT_CLOEXEC, &dfd), 0);
	CHECK_EQ(pinmem_contig_alloc(pm, 16 * PAGE, 0, 0, &ci), 0);
	h[2] = 0;
	mfd = memfd_create("test_libpinmem", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	CHECK(mfd >= 0);
	CHECK_EQ(ftruncate(mfd, 8 * PAGE), 0);
	CHECK_EQ(fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	if (!pinmem_pin_memfd(pm, mfd, 0, 8 * PAGE, 0, &hm, NULL))
		h[2] = hm;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pinmem_fd(pm));
	dump_file("fixture debugfs/pins", "/sys/kernel/debug/pinmem/pins");
	dump_file("fixture fdinfo", path);
	dump_file("fixture debugfs/cma", "/sys/kernel/debug/pinmem/cma");

	CHECK_EQ(ctl(d, "pins", NULL), 0);
	CHECK_EQ(d->rc, 0);
	CHECK_STR(d->err, "# source: debugfs");
	CHECK_EQ(ctl(r, "pins", "--source", "fdinfo", NULL), 0);
	show("pins --source fdinfo", r);
	if (!fdinfo_has_pinmem(pinmem_fd(pm))) {
		CHECK_EQ(r->rc, EX_INCOMPAT);
		CHECK_STR(r->err, "too old to list pins in fdinfo");
		return skip(NO_FDINFO);
	}
	CHECK_EQ(r->rc, 0);
	CHECK_STR(r->err, "# source: fdinfo");
	CHECK_STR(r->err, "--source fdinfo");
	CHECK_STR(r->err, " 0 processes not readable");
	for (i = 0; i < 3; i++) {
		if (!h[i])
			continue;
		if (!table_row(d->out, getpid(), h[i], a) ||
		    !table_row(r->out, getpid(), h[i], b)) {
			show("pins", d);
			diag("no row for handle %llu", (unsigned long long)h[i]);
			return T_FAIL;
		}
		for (c = 0; c < NCOLS; c++)
			if (c != C_AGE && strcmp(a[c], b[c])) {
				diag("handle %llu column %d: debugfs '%s', fdinfo '%s'",
				     (unsigned long long)h[i], c, a[c], b[c]);
				return T_FAIL;
			}
	}
	CHECK_STR(a[C_PLACEMENT], "compound=");
	CHECK(table_row(r->out, getpid(), h[0], b));
	CHECK_STR(b[C_PLACEMENT], "dma-bufs=1");
	CHECK_STR(b[C_FLAGS], "rw");
	CHECK_STR(b[C_SIZE], "64K");
	if (hm)
		CHECK(table_row(r->out, getpid(), hm, b) && !strcmp(b[C_FLAGS], "r-m"));
	else
		diag("no memfd pin (PIN_MEMFD needs 6.11)");
	close(dfd);
	close(mfd);
	pinmem_close(pm);
	return T_PASS;
}

/*
 * A user without debugfs sees its own pins through fdinfo, not other
 * users': uid 65534 pins, root (our parent) pins too, and uid 65534 runs
 * pinmemctl pins.
 */
static int fdinfo_user_child(void *arg)
{
	int go = *(int *)arg, ppid = getppid();
	struct rlimit rl = { 64 * PAGE, 64 * PAGE };
	char *buf = map_anon(32 * PAGE), c, cols[NCOLS][160], s[160];
	struct run *r = malloc(sizeof(*r));
	struct pinmem *pm;
	uint64_t h1, h2;

	CHECK(buf && r);
	CHECK_EQ(pinmem_open(&pm), 0);
	CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
	CHECK_EQ(drop_to(NOBODY), 0);
	CHECK_EQ(pinmem_pin(pm, buf, 16 * PAGE, PINMEM_PIN_WRITE, &h1, NULL), 0);
	CHECK_EQ(pinmem_pin(pm, buf + 16 * PAGE, 4 * PAGE, 0, &h2, NULL), 0);
	CHECK_EQ(read(go, &c, 1), 1);	/* root's pin is there too */
	CHECK_EQ(ctl(r, "pins", NULL), 0);
	show("pins as uid 65534", r);
	if (!fdinfo_has_pinmem(pinmem_fd(pm))) {
		CHECK_EQ(r->rc, EX_INCOMPAT);
		CHECK_STR(r->err, "run as root");
		return skip(NO_FDINFO);
	}
	CHECK_EQ(r->rc, 0);
	CHECK_STR(r->err, "# source: fdinfo");
	CHECK_STR(r->err, "/sys/kernel/debug/pinmem/pins unreadable");
	CHECK(table_row(r->out, getpid(), h1, cols));
	CHECK_STR(cols[C_COMM], "test_libpinmem");
	CHECK_STR(cols[C_FLAGS], "rw");
	CHECK_STR(cols[C_PAGES], "16");
	CHECK_STR(cols[C_SIZE], "64K");
	snprintf(s, sizeof(s), "%#lx", (unsigned long)(uintptr_t)buf);
	CHECK(!strcmp(cols[C_START], s));
	CHECK(table_row(r->out, getpid(), h2, cols));
	CHECK_STR(cols[C_FLAGS], "r-");
	CHECK_STR(cols[C_PAGES], "4");
	CHECK_STR(r->out, "2 pins, 20 pages (80K) in 1 context");
	/* root's process, and so its pin, are not ours to see */
	CHECK(!table_has_pid(r->out, ppid));

	/* debugfs is root's */
	CHECK_EQ(ctl(r, "pins", "--source", "debugfs", NULL), 0);
	CHECK_EQ(r->rc, EX_PERM);
	CHECK_STR(r->err, "debugfs is root only");

	CHECK_EQ(ctl(r, "pins", "--json", NULL), 0);
	if (no_cjson(r)) {
		diag("pins --json not checked: " NO_CJSON);
	} else {
		CHECK_EQ(r->rc, 0);
		CHECK(json_valid(r->out));
		CHECK_STR(r->out, "{\"source\":\"fdinfo\",\"pins\":[");
		snprintf(s, sizeof(s), "\"pid\":%d,\"comm\":\"test_libpinmem\"", getpid());
		CHECK_STR(r->out, s);
		CHECK_STR(r->out, "\"count\":2,\"unreadable_processes\":");
		CHECK_STR(r->out, "\"contexts\":[{\"ctx\":");
		CHECK(!strstr(r->out, "\"runs\":"));
	}
	pinmem_close(pm);
	return T_PASS;
}

static int t_ctl_pins_fdinfo_unprivileged(void)
{
	char *buf = map_anon(8 * PAGE);
	int p[2], status, ret;
	struct pinmem *pm;
	pid_t pid;

	NEED_MODULE();
	CHECK(buf);
	CHECK_EQ(pipe(p), 0);
	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		close(p[1]);
		ret = fdinfo_user_child(&p[0]);
		fflush(stdout);
		_exit(ret);
	}
	close(p[0]);
	/* a root process's pin, opened after the fork: not the child's fd */
	CHECK_EQ(pinmem_open(&pm), 0);
	CHECK_EQ(pinmem_pin(pm, buf, 8 * PAGE, 0, NULL, NULL), 0);
	CHECK_EQ(write(p[1], "g", 1), 1);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	pinmem_close(pm);
	CHECK(WIFEXITED(status));
	ret = WEXITSTATUS(status);
	return ret == T_PASS || ret == T_SKIP ? ret : T_FAIL;
}

static int t_ctl_stats_table(void)
{
	struct run *r = malloc(sizeof(*r));

	NEED_MODULE();
	CHECK(r);
	dump_file("fixture debugfs/stats", "/sys/kernel/debug/pinmem/stats");
	CHECK_EQ(ctl(r, "stats", NULL), 0);
	CHECK_EQ(r->rc, 0);
	CHECK_STR(r->out, "IOCTL");
	CHECK_STR(r->out, "CONTIG_ALLOC");
	CHECK_STR(r->out, "contiguous buffers");
	CHECK_STR(r->out, "total_pins");
	show("stats", r);
	return T_PASS;
}

static int t_ctl_stats_json(void)
{
	struct run *r = malloc(sizeof(*r));

	NEED_MODULE();
	CHECK(r);
	CHECK_EQ(ctl(r, "stats", "--json", NULL), 0);
	if (no_cjson(r))
		return skip(NO_CJSON);
	if (r->rc || !json_valid(r->out))
		show("stats --json", r);
	CHECK_EQ(r->rc, 0);
	CHECK(json_valid(r->out));
	CHECK_STR(r->out, "{\"source\":\"debugfs\",\"contexts\":");
	CHECK_STR(r->out, "\"total_pins\":");
	CHECK_STR(r->out, "\"calls\":{\"VERSION\":");
	CHECK_STR(r->out, "\"PIN\":");
	/* earlier cases made PIN fail with EINVAL */
	CHECK_STR(r->out, "\"failures\":{");
	CHECK_STR(r->out, "\"cma\":{\"dma_cma_configured\":");
	diag("stats --json: %.300s...", r->out);
	return T_PASS;
}

static int t_ctl_pin_and_contig(void)
{
	struct run *r = malloc(sizeof(*r));
	char path[] = "/tmp/pinmem-file.XXXXXX", data[3 * PAGE];
	int fd;

	NEED_MODULE();
	CHECK(r);
	CHECK_EQ(ctl(r, "pin", "-t", "0", "1M", NULL), 0);
	show("pin -t 0 1M", r);
	CHECK_EQ(r->rc, 0);
	CHECK_STR(r->out, "pinned 1.0 MiB (256 pages) of anonymous memory");
	CHECK_STR(r->out, "placement:");
	CHECK_STR(r->out, "unpinned handle ");

	CHECK_EQ(ctl(r, "pin", "-w", "--pfns", "-t", "0", "64K", NULL), 0);
	CHECK_EQ(r->rc, 0);
	CHECK_STR(r->out, "read-write");
	CHECK_STR(r->out, "pfns: 0x");

	/* a tmpfs file, MAP_SHARED, not a multiple of the page size */
	fd = mkstemp(path);
	CHECK(fd >= 0);
	memset(data, 'x', sizeof(data));
	CHECK_EQ(write(fd, data, sizeof(data) - 100), sizeof(data) - 100);
	close(fd);
	CHECK_EQ(ctl(r, "pin", "-t", "0", "-f", path, NULL), 0);
	unlink(path);
	show("pin -f FILE", r);
	CHECK_EQ(r->rc, 0);
	CHECK_STR(r->out, "(3 pages) of /tmp/pinmem-file.");

	CHECK_EQ(ctl(r, "contig", "-t", "0", "256K", NULL), 0);
	show("contig -t 0 256K", r);
	CHECK_EQ(r->rc, 0);
	CHECK_STR(r->out, "allocated 256.0 KiB contiguous");
	CHECK_STR(r->out, "physical: 0x");
	CHECK_STR(r->out, "wrote and read back 262144 bytes: ok");
	CHECK_STR(r->out, "freed handle");

	/* a meaningful failure: no pool reserved (pool_mb=0) */
	fd = open("/sys/module/pinmem/parameters/pool_mb", O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(read(fd, data, 2), 2);
	close(fd);
	if (strncmp(data, "0\n", 2)) {
		diag("pool_mb is not 0: not checking --pool without a pool");
		return T_PASS;
	}
	CHECK_EQ(ctl(r, "contig", "--pool", "-t", "0", "64K", NULL), 0);
	show("contig --pool", r);
	CHECK_EQ(r->rc, EX_FAIL);
	CHECK_STR(r->err, "ENODEV");
	CHECK_STR(r->err, "pool_mb=");
	return T_PASS;
}

static int t_ctl_usage_and_exit_codes(void)
{
	struct run *r = malloc(sizeof(*r));

	CHECK(r);
	CHECK_EQ(ctl(r, NULL), 0);
	CHECK_EQ(r->rc, EX_USAGE);
	CHECK_STR(r->err, "usage: pinmemctl");
	CHECK_EQ(ctl(r, "-h", NULL), 0);
	CHECK_EQ(r->rc, 0);
	CHECK_STR(r->out, "exit status: 0 ok, 1 operation failed, 2 usage");
	CHECK_EQ(ctl(r, "frobnicate", NULL), 0);
	CHECK_EQ(r->rc, EX_USAGE);
	CHECK_STR(r->err, "unknown command 'frobnicate'");
	CHECK_EQ(ctl(r, "pin", NULL), 0);
	CHECK_EQ(r->rc, EX_USAGE);
	CHECK_EQ(ctl(r, "pin", "12Q", NULL), 0);
	CHECK_EQ(r->rc, EX_USAGE);
	CHECK_STR(r->err, "bad size");
	CHECK_EQ(ctl(r, "pins", "extra", NULL), 0);
	CHECK_EQ(r->rc, EX_USAGE);
	CHECK_EQ(ctl(r, "--version", NULL), 0);
	CHECK_EQ(r->rc, 0);
	show("--version", r);
	if (strstr(r->out, "cJSON: no")) {
		/* refused before anything is read, module or not */
		CHECK_EQ(ctl(r, "pins", "--json", NULL), 0);
		CHECK_EQ(r->rc, EX_USAGE);
		CHECK_STR(r->err, "--json: this pinmemctl was built without cJSON");
		CHECK_EQ(ctl(r, "stats", "--json", NULL), 0);
		CHECK_EQ(r->rc, EX_USAGE);
		CHECK_STR(r->err, "built without cJSON");
		CHECK(!r->out[0]);
	} else {
		CHECK_STR(r->out, "cJSON: yes");
	}
	CHECK_EQ(ctl(r, "pins", "--source", "sysfs", NULL), 0);
	CHECK_EQ(r->rc, EX_USAGE);
	CHECK_EQ(ctl(r, "stats", "--source", "fdinfo", NULL), 0);
	CHECK_EQ(r->rc, EX_USAGE);
	CHECK_EQ(ctl(r, "--version", NULL), 0);
	if (strstr(r->out, "libkmod: no")) {
		CHECK_EQ(ctl(r, "load", NULL), 0);
		CHECK_EQ(r->rc, EX_USAGE);
		CHECK_STR(r->err, "not available in this build");
		CHECK_EQ(ctl(r, "unload", NULL), 0);
		CHECK_EQ(r->rc, EX_USAGE);
	} else if (have_module()) {
		/* loaded: "load" with parameters is refused, not applied */
		CHECK_EQ(ctl(r, "load", "max_pins=5", NULL), 0);
		CHECK_EQ(r->rc, EX_FAIL);
		CHECK_STR(r->out, "already loaded");
	}
	if (!have_module()) {
		CHECK_EQ(ctl(r, "pin", "-t", "0", "4K", NULL), 0);
		show("pin without the module", r);
		CHECK_EQ(r->rc, EX_NOTLOADED);
		CHECK_STR(r->err, "not loaded");
	}
	return T_PASS;
}

struct tcase {
	const char *name;
	int (*fn)(void);
};

static const struct tcase cases[] = {
	{ "open_and_abi_version", t_open_and_version },
	{ "open_errors_explained", t_open_errors_explained },
	{ "pin_query_access_unpin", t_pin_query_access_unpin },
	{ "query_pfns", t_query_pfns },
	{ "bad_input_explained", t_bad_input_explained },
	{ "fork_child_eperm_explained", t_fork_child_eperm_explained },
	{ "memlock_enomem_explained", t_memlock_enomem_explained },
	{ "enomem_module_limits_not_rlimit", t_enomem_module_limits },
	{ "enomem_fit_not_rlimit", t_enomem_fit_not_rlimit },
	{ "contig_alloc_mmap", t_contig_alloc_mmap },
	{ "export", t_export },
	{ "pin_memfd", t_pin_memfd },
	{ "pinmemctl_status", t_ctl_status },
	{ "pinmemctl_pins_table", t_ctl_pins_table },
	{ "pinmemctl_pins_json", t_ctl_pins_json },
	{ "pinmemctl_pins_fdinfo_as_root", t_ctl_pins_fdinfo_as_root },
	{ "pinmemctl_pins_fdinfo_unprivileged", t_ctl_pins_fdinfo_unprivileged },
	{ "pinmemctl_stats_table", t_ctl_stats_table },
	{ "pinmemctl_stats_json", t_ctl_stats_json },
	{ "pinmemctl_pin_and_contig", t_ctl_pin_and_contig },
	{ "pinmemctl_pin_memlock_explained", t_ctl_pin_memlock },
	{ "pinmemctl_usage_and_exit_codes", t_ctl_usage_and_exit_codes },
};

/* Nothing of ours left in debugfs (the case's child has exited). */
static int nothing_left(void)
{
	int n = debugfs_pins_of(getpid());

	if (n > 0) {
		diag("leak: debugfs lists %d pins of pid %d", n, getpid());
		return T_FAIL;
	}
	return T_PASS;
}

static int run_case(const struct tcase *c)
{
	int status, r;
	pid_t pid;

	skip_reason[0] = 0;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return T_FAIL;
	if (!pid) {
		r = c->fn();
		if (r == T_PASS)
			r = nothing_left();
		fflush(stdout);
		_exit(r);
	}
	if (waitpid(pid, &status, 0) != pid)
		return T_FAIL;
	if (WIFSIGNALED(status)) {
		diag("case died of signal %d", WTERMSIG(status));
		return T_FAIL;
	}
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	const char *only = getenv("PINMEM_ONLY");
	int i, n = ARRAY_SIZE(cases), failed = 0;

	/* run as pinmemctl (see find_pinmemctl()) */
	if (!strcmp(base ? base + 1 : argv[0], "pinmemctl"))
		return pinmemctl_main(argc, argv);

	setvbuf(stdout, NULL, _IOLBF, 0);
	skip_reason = mmap(NULL, 4096, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (skip_reason == MAP_FAILED)
		return 2;
	find_pinmemctl();
	printf("TAP version 13\n1..%d\n", n);
	diag("libpinmem %s, pinmemctl: %s%s", pinmem_lib_version(), ctl_path,
	     ctl_embedded ? " (not found in $PINMEMCTL, /tests, next to this binary or $PATH: using the copy linked into this test)" : "");
	for (i = 0; i < n; i++) {
		int r;

		if (only && !strstr(cases[i].name, only)) {
			printf("ok %d - %s # SKIP not selected by PINMEM_ONLY\n",
			       i + 1, cases[i].name);
			continue;
		}
		r = run_case(&cases[i]);
		if (r == T_PASS)
			printf("ok %d - %s\n", i + 1, cases[i].name);
		else if (r == T_SKIP)
			printf("ok %d - %s # SKIP %s\n", i + 1, cases[i].name,
			       skip_reason);
		else
			printf("not ok %d - %s\n", i + 1, cases[i].name);
		failed += r != T_PASS && r != T_SKIP;
	}
	return failed ? 1 : 0;
}
