// SPDX-License-Identifier: GPL-2.0
/*
 * libpinmem and pinmemctl, inside the test VMs. Static, on the kernel's
 * kselftest harness (tests/harness.h): every case runs in its own child
 * process, -l lists the cases and -r/-t select them.
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
#include "../../tests/harness.h"

/* the system's page size: 4 KiB, 16 KiB and 64 KiB kernels run these */
#define PAGE ((size_t)getpagesize())
/* N pages in KiB, as the library's messages give sizes */
#define KIB(n) ((n) * PAGE / 1024)
#define RW (PROT_READ | PROT_WRITE)
#define NOBODY 65534

/* every case here takes seconds, even on a debug kernel under TCG */
#define TIMEOUT 120

#define NO_FDINFO "fdinfo of a /dev/pinmem fd has no pinmem- lines: this module has no .show_fdinfo"

/* nothing_left()'s result (tests/harness.h) */
enum { T_PASS, T_FAIL };

static char ctl_path[PATH_MAX];
static bool ctl_embedded;

/* @needle is in @hay */
#define ASSERT_HAS(hay, needle)						\
	ASSERT_TRUE(strstr((hay), (needle)) != NULL)			\
		TH_LOG("\"%s\" not found in: %s", (needle), (hay))

static bool have_module(void)
{
	return access(PINMEM_DEVICE_PATH, F_OK) == 0;
}

#define NEED_MODULE							\
	do {								\
		if (!have_module())					\
			SKIP(return, "/dev/pinmem missing: module not loaded"); \
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

/* Every line of @path as a TAP comment, prefixed "@tag: " (for recording fixtures). */
static void dump_file(const char *tag, const char *path)
{
	char line[1024];
	FILE *f = fopen(path, "r");

	if (!f) {
		ksft_print_msg("%s: %s unreadable: %s\n", tag, path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		ksft_print_msg("%s: %s\n", tag, line);
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
 * Run @fn in a child process (to change its uid, limits, ...). The case's
 * result is shared with its children, so the child's checks and SKIP()
 * are the case's; a failure before stays one whatever the child says.
 */
static void in_child(struct __test_metadata *_metadata,
		     void (*fn)(struct __test_metadata *, void *), void *arg)
{
	int before = _metadata->exit_code, status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		fn(_metadata, arg);
		fflush(stdout);
		_exit(0);
	}
	EXPECT_EQ(pid, waitpid(pid, &status, 0))
		TH_LOG("waitpid: %s", strerror(errno));
	EXPECT_FALSE(WIFSIGNALED(status))
		TH_LOG("child died of signal %d", WTERMSIG(status));
	if (before == KSFT_FAIL)
		_metadata->exit_code = KSFT_FAIL;
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

		ksft_print_msg("  %.*s\n", (int)len, text);
		text += len + (text[len] == '\n');
	}
}

static void show(const char *what, const struct run *r)
{
	ksft_print_msg("pinmemctl %s: exit %d\n", what, r->rc);
	show_lines(r->out);
	show_lines(r->err);
}

/* ---- cases ---- */

/* Nothing of @pid's left in debugfs (none without the module). */
static int nothing_left_of(pid_t pid)
{
	int n = debugfs_pins_of(pid);

	if (n > 0) {
		ksft_print_msg("leak: debugfs lists %d pins of pid %d\n", n, pid);
		return T_FAIL;
	}
	return T_PASS;
}

static int nothing_left(void)
{
	return nothing_left_of(getpid());
}

/*
 * The library's calls and pinmemctl: the cases open what they need; the
 * fixtures keep the case's pid, to check debugfs for it again once it is
 * gone.
 */
FIXTURE(lib) {
	pid_t pid;
};

FIXTURE_SETUP(lib)
{
	self->pid = getpid();
}

FIXTURE_TEARDOWN_PARENT(lib)
{
	EXPECT_EQ(T_PASS, nothing_left_of(self->pid))
		TH_LOG("left behind once the case's process was gone");
}

FIXTURE(pinmemctl) {
	pid_t pid;
};

FIXTURE_SETUP(pinmemctl)
{
	self->pid = getpid();
}

FIXTURE_TEARDOWN_PARENT(pinmemctl)
{
	EXPECT_EQ(T_PASS, nothing_left_of(self->pid))
		TH_LOG("left behind once the case's process was gone");
}

PM_TEST_F(lib, open_and_abi_version, TIMEOUT)
{
	struct pinmem *pm = NULL;
	uint32_t abi = 0;

	NEED_MODULE;
	ASSERT_EQ(0, pinmem_open(&pm));
	ASSERT_TRUE(pm != NULL);
	ASSERT_TRUE(pinmem_fd(pm) >= 0);
	ASSERT_EQ(PINMEM_ABI_VERSION, pinmem_abi_version(pm));
	ASSERT_TRUE(pinmem_abi_version(pm) >= PINMEM_LIB_MIN_ABI);
	ASSERT_EQ(0, pinmem_get_abi_version(pm, &abi));
	ASSERT_EQ(PINMEM_ABI_VERSION, abi);
	ASSERT_TRUE(!strcmp(pinmem_lib_version(), PINMEM_LIB_VERSION));
	pinmem_close(pm);
	pinmem_close(NULL);
}

PM_TEST_F(lib, open_errors_explained, TIMEOUT)
{
	struct pinmem *pm = (struct pinmem *)1;
	const char *m;

	ASSERT_EQ(-ENOENT, pinmem_open_path("/nonexistent/pinmem", &pm));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_TRUE(pm == NULL);
	m = pinmem_strerror(-ENOENT, PINMEM_CALL_OPEN);
	ASSERT_HAS(m, "module is not loaded");
	ASSERT_HAS(pinmem_strerror(ENODEV, PINMEM_CALL_OPEN), "not loaded");
	/* a character device that is not pinmem: VERSION gives ENOTTY */
	ASSERT_EQ(-ENOTTY, pinmem_open_path("/dev/null", &pm));
	ASSERT_HAS(pinmem_strerror(-ENOTTY, PINMEM_CALL_OPEN), "not a pinmem device");
	ASSERT_HAS(pinmem_strerror(-EPROTO, PINMEM_CALL_OPEN), "older than");
	ASSERT_HAS(pinmem_strerror(-EACCES, PINMEM_CALL_OPEN), "root only");
	ASSERT_EQ(-EINVAL, pinmem_open(NULL));
	/* no pinmem-specific meaning: strerror() */
	ASSERT_TRUE(!strcmp(pinmem_strerror(-EIO, PINMEM_CALL_PIN), strerror(EIO)));
	ASSERT_TRUE(!strcmp(pinmem_strerror(0, PINMEM_CALL_PIN), "success"));
	if (!have_module()) {
		ASSERT_EQ(-ENOENT, pinmem_open(&pm));
		ksft_print_msg("without the module: %s\n",
			       pinmem_strerror(-ENOENT, PINMEM_CALL_OPEN));
	}
}

PM_TEST_F(lib, pin_query_access_unpin, TIMEOUT)
{
	const size_t len = 64 * PAGE;
	struct pinmem_pin_info in;
	char *buf = map_anon(len), *rd = malloc(len), *wr = malloc(PAGE);
	uint64_t h, nr, sum = 0;
	struct pinmem *pm;
	int z;

	NEED_MODULE;
	ASSERT_TRUE(buf && rd && wr);
	fill(buf, len, 1);
	ASSERT_EQ(0, pinmem_open(&pm));
	ASSERT_EQ(0, pinmem_pin(pm, buf, len, PINMEM_PIN_WRITE, &h, &nr));
	ASSERT_EQ(64, nr);
	ASSERT_TRUE(h > 0);
	ASSERT_EQ(1, debugfs_pins_of(getpid()));

	ASSERT_EQ(0, pinmem_query(pm, h, &in));
	ASSERT_EQ(h, in.handle);
	ASSERT_EQ((uintptr_t)buf, in.addr);
	ASSERT_EQ(len, in.length);
	ASSERT_EQ(64, in.nr_pages);
	ASSERT_EQ(PINMEM_PIN_WRITE, in.pin_flags);
	for (z = 0; z < PINMEM_ZONE_SLOTS; z++)
		sum += in.zone_pages[z];
	ASSERT_EQ(64, sum);
	ASSERT_EQ(0, in.zone_pages[PINMEM_ZONE_MOVABLE]);

	memset(&in, 0, sizeof(in));
	ASSERT_EQ(0, pinmem_query_addr(pm, buf + 10 * PAGE + 7, &in));
	ASSERT_EQ(h, in.handle);
	ASSERT_EQ(-ENOENT, pinmem_query_addr(pm, buf + len, &in));

	/* what the "device" reads is the buffer, and it writes into it */
	ASSERT_EQ(0, pinmem_read(pm, h, 0, rd, len));
	ASSERT_TRUE(!memcmp(rd, buf, len));
	memset(wr, 0xa5, PAGE);
	ASSERT_EQ(0, pinmem_write(pm, h, 5 * PAGE + 100, wr, 200));
	ASSERT_EQ(0xa5, (unsigned char)buf[5 * PAGE + 100]);
	ASSERT_EQ(0xa5, (unsigned char)buf[5 * PAGE + 299]);
	ASSERT_TRUE((unsigned char)buf[5 * PAGE + 300] != 0xa5);

	ASSERT_EQ(0, pinmem_unpin(pm, h));
	ASSERT_EQ(-ENOENT, pinmem_query(pm, h, &in));
	ASSERT_EQ(-ENOENT, pinmem_unpin(pm, h));
	ASSERT_EQ(0, debugfs_pins_of(getpid()));
	pinmem_close(pm);
}

PM_TEST_F(lib, query_pfns, TIMEOUT)
{
	char *buf = map_anon(8 * PAGE);
	uint64_t h, pfns[16] = { 0 };
	struct pinmem *pm;
	size_t n, i;

	NEED_MODULE;
	ASSERT_TRUE(buf != NULL);
	ASSERT_EQ(0, pinmem_open(&pm));
	ASSERT_EQ(0, pinmem_pin(pm, buf, 8 * PAGE, 0, &h, NULL));
	n = 16;
	ASSERT_EQ(0, pinmem_query_pfns(pm, h, 0, pfns, &n));
	ASSERT_EQ(8, n);
	for (i = 0; i < n; i++) {
		ASSERT_TRUE(pfns[i] != 0);
		if (pfn_of(buf + i * PAGE))
			ASSERT_EQ(pfn_of(buf + i * PAGE), pfns[i]);
	}
	n = 2;
	ASSERT_EQ(0, pinmem_query_pfns(pm, h, 6, pfns, &n));
	ASSERT_EQ(2, n);
	ASSERT_EQ(pfn_of(buf + 6 * PAGE), pfns[0]);
	n = 1;
	ASSERT_EQ(-EINVAL, pinmem_query_pfns(pm, h, 8, pfns, &n));
	n = 1;
	ASSERT_EQ(-EINVAL, pinmem_query_pfns(pm, h, 0, NULL, &n));
	ASSERT_EQ(-EINVAL, pinmem_query_pfns(pm, h, 0, pfns, NULL));
	ASSERT_EQ(0, pinmem_unpin(pm, h));
	pinmem_close(pm);
}

/* @call fails with -@err, sets errno, and its message for @op has @words */
#define ASSERT_ERR(call, err, op, words) do {				\
	int _r = (call);						\
	ASSERT_EQ(-(err), _r) TH_LOG("%s: %s", #call, strerror(-_r));	\
	ASSERT_EQ(err, errno);						\
	ASSERT_HAS(pinmem_strerror(_r, op), words);			\
} while (0)

PM_TEST_F(lib, bad_input_explained, TIMEOUT)
{
	char *buf = map_anon(16 * PAGE), b[16];
	struct pinmem_contig_info ci;
	struct pinmem_pin_info in;
	struct pinmem *pm;
	uint64_t h;

	NEED_MODULE;
	ASSERT_TRUE(buf != NULL);
	ASSERT_EQ(0, pinmem_open(&pm));
	ASSERT_ERR(pinmem_pin(pm, buf + 1, PAGE, 0, NULL, NULL), EINVAL,
		   PINMEM_CALL_PIN, "not page aligned");
	ASSERT_ERR(pinmem_pin(pm, buf, 0, 0, NULL, NULL), EINVAL, PINMEM_CALL_PIN, "zero length");
	ASSERT_ERR(pinmem_pin(pm, buf, PAGE, 1U << 30, NULL, NULL), EINVAL,
		   PINMEM_CALL_PIN, "unknown flags");
	ASSERT_EQ(0, mprotect(buf + 8 * PAGE, PAGE, PROT_NONE));
	ASSERT_ERR(pinmem_pin(pm, buf + 8 * PAGE, PAGE, 0, NULL, NULL), EFAULT,
		   PINMEM_CALL_PIN, "PROT_NONE");
	ASSERT_EQ(0, pinmem_pin(pm, buf, 4 * PAGE, 0, &h, NULL));
	ASSERT_ERR(pinmem_pin(pm, buf + 2 * PAGE, 4 * PAGE, 0, NULL, NULL), EEXIST,
		   PINMEM_CALL_PIN, "overlaps");
	ASSERT_ERR(pinmem_write(pm, h, 0, b, sizeof(b)), EACCES,
		   PINMEM_CALL_ACCESS, "PINMEM_PIN_WRITE");
	ASSERT_ERR(pinmem_read(pm, h, 4 * PAGE - 8, b, sizeof(b)), EINVAL,
		   PINMEM_CALL_ACCESS, "outside the pin");
	ASSERT_ERR(pinmem_read(pm, h + 1000, 0, b, sizeof(b)), ENOENT,
		   PINMEM_CALL_ACCESS, "no such pin");
	ASSERT_ERR(pinmem_query(pm, h + 1000, &in), ENOENT, PINMEM_CALL_QUERY, "no such pin");
	ASSERT_ERR(pinmem_unpin(pm, h + 1000), ENOENT, PINMEM_CALL_UNPIN, "no such handle");
	ASSERT_ERR(pinmem_contig_alloc(pm, PAGE + 1, 0, 0, &ci), EINVAL,
		   PINMEM_CALL_CONTIG_ALLOC, "page aligned");
	ASSERT_ERR(pinmem_contig_free(pm, h + 1000), ENOENT,
		   PINMEM_CALL_CONTIG_FREE, "no such handle");
	ASSERT_ERR(pinmem_unpin(NULL, h), EBADF, PINMEM_CALL_UNPIN, "no pinmem context");
	ASSERT_EQ(0, pinmem_unpin(pm, h));
	pinmem_close(pm);
}

PM_TEST_F(lib, fork_child_eperm_explained, TIMEOUT)
{
	char *buf = map_anon(4 * PAGE);
	struct pinmem *pm;
	int status;
	pid_t pid;

	NEED_MODULE;
	ASSERT_TRUE(buf != NULL);
	ASSERT_EQ(0, pinmem_open(&pm));
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		int r = pinmem_pin(pm, buf, 4 * PAGE, 0, NULL, NULL);

		if (r != -EPERM)
			_exit(10);
		if (!strstr(pinmem_strerror(r, PINMEM_CALL_PIN),
			    "another process"))
			_exit(11);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	pinmem_close(pm);
}

/*
 * RLIMIT_MEMLOCK refusals say so, with the numbers: as uid 65534 (root has
 * CAP_IPC_LOCK, which lifts the limit), limit 16 pages. The context was
 * opened as root, so root's locked_vm is charged: fdinfo tells how much.
 */
static void memlock_child(struct __test_metadata *_metadata, void *unused)
{
	struct rlimit rl = { 16 * PAGE, 16 * PAGE };
	char *buf = map_anon(64 * PAGE), want[256];
	unsigned long long locked;
	struct pinmem *pm;
	const char *m;
	int r;

	(void)unused;
	ASSERT_TRUE(buf != NULL);
	ASSERT_EQ(0, pinmem_open(&pm));
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_EQ(0, drop_to(NOBODY));
	r = pinmem_pin(pm, buf, 32 * PAGE, 0, NULL, NULL);
	ASSERT_EQ(-ENOMEM, r);
	ASSERT_EQ(ENOMEM, errno);
	m = pinmem_strerror(r, PINMEM_CALL_PIN);
	ksft_print_msg("32 pages, RLIMIT_MEMLOCK 16 pages: %s\n", m);
	snprintf(want, sizeof(want), "cannot pin %zu KiB: RLIMIT_MEMLOCK is %zu KiB",
		 KIB(32), KIB(16));
	ASSERT_HAS(m, want);
	ASSERT_HAS(m, "ulimit -l");
	ASSERT_HAS(m, "'memlock' in /etc/security/limits.conf");
	ASSERT_HAS(m, "LimitMEMLOCK=");
	ASSERT_HAS(m, "CAP_IPC_LOCK");
	/* ENOMEM of another call is not this pin's */
	ASSERT_TRUE(!strstr(pinmem_strerror(r, PINMEM_CALL_CONTIG_ALLOC), "RLIMIT_MEMLOCK is"));
	ASSERT_EQ(0, pinmem_pin(pm, buf, 8 * PAGE, 0, NULL, NULL));
	/* a pin that worked forgets the last failure: the list of causes */
	ASSERT_TRUE(!strstr(pinmem_strerror(-ENOMEM, PINMEM_CALL_PIN), "RLIMIT_MEMLOCK is"));
	ASSERT_HAS(pinmem_strerror(-ENOMEM, PINMEM_CALL_PIN), "max_pins");
	if (!fdinfo_value(pinmem_fd(pm), "pinmem-user-locked-pages", &locked)) {
		pinmem_close(pm);
		SKIP(return, "%s", NO_FDINFO);
	}
	/* 12 pages would fit the limit alone, not with the 8 pinned */
	r = pinmem_pin(pm, buf + 16 * PAGE, 12 * PAGE, 0, NULL, NULL);
	ASSERT_EQ(-ENOMEM, r);
	m = pinmem_strerror(r, PINMEM_CALL_PIN);
	ksft_print_msg("12 more pages: %s\n", m);
	snprintf(want, sizeof(want), "cannot pin %zu KiB: RLIMIT_MEMLOCK is %zu KiB and this user already has %llu KiB locked",
		 KIB(12), KIB(16), locked * (PAGE / 1024));
	ASSERT_HAS(m, want);
	ASSERT_TRUE(locked >= 8);
	pinmem_close(pm);
}

PM_TEST_F(lib, memlock_enomem_explained, TIMEOUT)
{
	NEED_MODULE;
	in_child(_metadata, memlock_child, NULL);
}

/* pinmemctl pin as a user over its RLIMIT_MEMLOCK prints the same. */
static void ctl_pin_memlock_child(struct __test_metadata *_metadata, void *unused)
{
	struct rlimit rl = { 16 * PAGE, 16 * PAGE };
	struct run *r = malloc(sizeof(*r));
	char size[32], want[96];

	(void)unused;
	ASSERT_TRUE(r != NULL);
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_EQ(0, drop_to(NOBODY));
	/* 64 pages against a limit of 16 */
	snprintf(size, sizeof(size), "%zuK", KIB(64));
	ASSERT_EQ(0, ctl(r, "pin", "-t", "0", size, NULL));
	show("pin -t 0 64 pages as uid 65534 with RLIMIT_MEMLOCK 16 pages", r);
	ASSERT_EQ(EX_FAIL, r->rc);
	ASSERT_HAS(r->err, "ENOMEM");
	snprintf(want, sizeof(want), "cannot pin %zu KiB: RLIMIT_MEMLOCK is %zu KiB",
		 KIB(64), KIB(16));
	ASSERT_HAS(r->err, want);
	ASSERT_HAS(r->err, "ulimit -l");
	ASSERT_HAS(r->err, "CAP_IPC_LOCK");
}

PM_TEST_F(pinmemctl, pin_memlock_explained, TIMEOUT)
{
	struct stat st;

	NEED_MODULE;
	ASSERT_EQ(0, stat(PINMEM_DEVICE_PATH, &st));
	/* pinmemctl opens the device itself: let uid 65534 do so meanwhile */
	ASSERT_EQ(0, chown(PINMEM_DEVICE_PATH, NOBODY, NOBODY));
	in_child(_metadata, ctl_pin_memlock_child, NULL);
	ASSERT_EQ(0, chown(PINMEM_DEVICE_PATH, st.st_uid, st.st_gid))
		TH_LOG("restoring the owner of %s: %s", PINMEM_DEVICE_PATH, strerror(errno));
}

/*
 * ENOMEM for the module's max_pins or max_pages names that limit, never
 * RLIMIT_MEMLOCK: as uid 65534 within its RLIMIT_MEMLOCK (16 pages).
 */
static void module_limit_child(struct __test_metadata *_metadata, void *arg)
{
	bool pages = *(bool *)arg;
	struct rlimit rl = { 16 * PAGE, 16 * PAGE };
	char *buf = map_anon(16 * PAGE);
	struct pinmem *pm;
	const char *m;
	char want[128];
	bool fdinfo;
	int r;

	ASSERT_TRUE(buf != NULL);
	ASSERT_EQ(0, pinmem_open(&pm));
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_EQ(0, drop_to(NOBODY));
	fdinfo = fdinfo_has_pinmem(pinmem_fd(pm));
	if (!pages) {
		/* max_pins=2 */
		ASSERT_EQ(0, pinmem_pin(pm, buf, PAGE, 0, NULL, NULL));
		ASSERT_EQ(0, pinmem_pin(pm, buf + PAGE, PAGE, 0, NULL, NULL));
		r = pinmem_pin(pm, buf + 2 * PAGE, PAGE, 0, NULL, NULL);
	} else {
		/* max_pages=4 */
		ASSERT_EQ(0, pinmem_pin(pm, buf, 3 * PAGE, 0, NULL, NULL));
		r = pinmem_pin(pm, buf + 4 * PAGE, 2 * PAGE, 0, NULL, NULL);
	}
	ASSERT_EQ(-ENOMEM, r);
	m = pinmem_strerror(r, PINMEM_CALL_PIN);
	ksft_print_msg("%s: %s\n",
		       pages ? "max_pages=4, 3 + 2 pages" : "max_pins=2, a third pin", m);
	ASSERT_TRUE(!strstr(m, "RLIMIT_MEMLOCK is"));
	ASSERT_TRUE(!strstr(m, "raise the limit"));
	ASSERT_HAS(m, pages ? "max_pages" : "max_pins");
	pinmem_close(pm);
	if (!fdinfo)
		SKIP(return, "%s", NO_FDINFO);
	if (pages)
		snprintf(want, sizeof(want), "cannot pin %zu KiB: this context has %zu KiB pinned and the module's max_pages limit is 4 pages",
			 KIB(2), KIB(3));
	else
		snprintf(want, sizeof(want), "cannot pin: this context already holds 2 pins, the module's max_pins limit (2)");
	ASSERT_HAS(m, want);
}

PM_TEST_F(lib, enomem_module_limits_not_rlimit, TIMEOUT)
{
	char pins[32], pages[32];
	bool by_pages;

	NEED_MODULE;
	ASSERT_EQ(0, read_param("max_pins", pins, sizeof(pins)));
	ASSERT_EQ(0, read_param("max_pages", pages, sizeof(pages)));
	ASSERT_EQ(0, write_param("max_pins", "2"));
	by_pages = false;
	in_child(_metadata, module_limit_child, &by_pages);
	ASSERT_EQ(0, write_param("max_pins", pins));
	ASSERT_EQ(0, write_param("max_pages", "4"));
	by_pages = true;
	in_child(_metadata, module_limit_child, &by_pages);
	ASSERT_EQ(0, write_param("max_pages", pages));
}

/*
 * ENOMEM of the fit check (more to fault in than the memory outside
 * ZONE_MOVABLE/CMA can take) does not blame RLIMIT_MEMLOCK: as uid 65534
 * with a limit twice the pin.
 */
static void fit_child(struct __test_metadata *_metadata, void *arg)
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
		SKIP(return, "%s", "cannot map 80% of MemTotal");
	ASSERT_EQ(0, pinmem_open(&pm));
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_EQ(0, drop_to(NOBODY));
	r = pinmem_pin(pm, buf, len, PINMEM_PIN_WRITE, NULL, NULL);
	ASSERT_EQ(-ENOMEM, r);
	ASSERT_EQ(oom, vmstat("oom_kill"));
	m = pinmem_strerror(r, PINMEM_CALL_PIN);
	ksft_print_msg("%zu MiB, never touched, RLIMIT_MEMLOCK %zu MiB: %s\n", len >> 20,
		       (2 * len) >> 20, m);
	ASSERT_TRUE(!strstr(m, "RLIMIT_MEMLOCK is"));
	ASSERT_TRUE(!strstr(m, "raise the limit"));
	if (!fdinfo_has_pinmem(pinmem_fd(pm)))
		SKIP(return, "%s", NO_FDINFO);
	ASSERT_HAS(m, "and no limit refused it");
	ASSERT_HAS(m, "ZONE_MOVABLE/CMA");
	pinmem_close(pm);
}

PM_TEST_F(lib, enomem_fit_not_rlimit, TIMEOUT)
{
	long total = meminfo_kb("MemTotal");
	size_t len;

	NEED_MODULE;
	/* without them pinmem has no fit check: GUP would fault it all in */
	if (!zone_present("Movable") && meminfo_kb("CmaTotal") <= 0)
		SKIP(return, "%s", "no ZONE_MOVABLE and no CMA: pinmem refuses nothing for fit here");
	ASSERT_TRUE(total > 0);
	len = ((size_t)total * 1024 / 10 * 8) & ~((size_t)(2 << 20) - 1);
	in_child(_metadata, fit_child, &len);
}

PM_TEST_F(lib, contig_alloc_mmap, TIMEOUT)
{
	const size_t len = 1024 * 1024;
	struct pinmem_contig_info ci;
	struct pinmem *pm;
	uint64_t *p, *p2, i;
	int r;

	NEED_MODULE;
	ASSERT_EQ(0, pinmem_open(&pm));
	r = pinmem_contig_alloc(pm, len, 0, 0, &ci);
	if (r)
		ksft_print_msg("contig_alloc: %s\n", pinmem_strerror(r, PINMEM_CALL_CONTIG_ALLOC));
	ASSERT_EQ(0, r);
	ksft_print_msg("1 MiB: handle %llu phys %#llx placement %s\n",
		       (unsigned long long)ci.handle, (unsigned long long)ci.phys_addr,
		       ci.placement & PINMEM_CONTIG_IN_CMA ? "CMA" :
		       ci.placement & PINMEM_CONTIG_IN_POOL ? "pool" : "page allocator");
	ASSERT_EQ(len, ci.length);
	ASSERT_TRUE(ci.phys_addr != 0);		/* we are root */
	ASSERT_EQ(0, ci.phys_addr % len);
	ASSERT_EQ(0, pinmem_contig_mmap(pm, &ci, RW, (void **)&p));
	for (i = 0; i < len / 8; i++)
		p[i] = i * 3 + 1;
	if (pfn_of(p))
		ASSERT_EQ(ci.phys_addr, pfn_of(p) * PAGE);
	ASSERT_EQ(0, pinmem_contig_mmap(pm, &ci, PROT_READ, (void **)&p2));
	for (i = 0; i < len / 8; i++)
		if (p2[i] != i * 3 + 1)
			break;
	ASSERT_EQ(len / 8, i);
	ASSERT_EQ(0, pinmem_contig_munmap(&ci, p2));
	/* the library's mapping is VM_PFNMAP: pinning it is refused */
	ASSERT_ERR(pinmem_pin(pm, p, len, 0, NULL, NULL), EFAULT, PINMEM_CALL_PIN, "VM_PFNMAP");
	ASSERT_EQ(0, pinmem_contig_free(pm, ci.handle));
	ASSERT_EQ(7 * 3 + 1, p[7]);	/* the mapping keeps it */
	ASSERT_EQ(0, pinmem_contig_munmap(&ci, p));
	ASSERT_EQ(-ENOENT, pinmem_contig_free(pm, ci.handle));
	/* a mapping that is not the whole buffer */
	ASSERT_EQ(0, pinmem_contig_alloc(pm, 4 * PAGE, 0, 0, &ci));
	ci.length = 2 * PAGE;
	ASSERT_ERR(pinmem_contig_mmap(pm, &ci, RW, (void **)&p), EINVAL,
		   PINMEM_CALL_MMAP, "whole contiguous buffer");
	pinmem_close(pm);
}

/* pinmem_export(): a dma-buf fd of the pin, usable after the pin is gone. */
PM_TEST_F(lib, export, TIMEOUT)
{
	const size_t len = 16 * PAGE;
	struct pinmem *pm;
	uint64_t h;
	char *buf, *m;
	int dfd = -1;

	NEED_MODULE;
	ASSERT_EQ(0, pinmem_open(&pm));
	buf = mmap(NULL, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(buf != MAP_FAILED);
	memset(buf, 0x3c, len);
	ASSERT_ERR(pinmem_export(pm, 12345, 0, &dfd), ENOENT,
		   PINMEM_CALL_EXPORT, "no such pin or contiguous buffer");
	ASSERT_EQ(0, pinmem_pin(pm, buf, len, PINMEM_PIN_WRITE, &h, NULL));
	ASSERT_ERR(pinmem_export(pm, h, 0x80, &dfd), EINVAL, PINMEM_CALL_EXPORT, "unknown flags");
	ASSERT_EQ(0, pinmem_export(pm, h, PINMEM_EXPORT_CLOEXEC, &dfd));
	ASSERT_TRUE(dfd >= 0);
	ASSERT_EQ(0, pinmem_unpin(pm, h));
	pinmem_close(pm);
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd, 0);
	ASSERT_TRUE(m != MAP_FAILED);
	ASSERT_EQ(0x3c, m[len - 1]);
	munmap(m, len);
	close(dfd);
	munmap(buf, len);
}

/* pinmem_pin_memfd(): a memfd range without a mapping, where the kernel can. */
PM_TEST_F(lib, pin_memfd, TIMEOUT)
{
	int mfd = memfd_create("libpinmem-test", MFD_ALLOW_SEALING | MFD_CLOEXEC), r;
	struct pinmem_pin_info info;
	struct pinmem *pm;
	uint64_t h, n;

	NEED_MODULE;
	ASSERT_TRUE(mfd >= 0);
	ASSERT_EQ(0, ftruncate(mfd, 8 * PAGE));
	ASSERT_EQ(0, fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK));
	ASSERT_EQ(0, pinmem_open(&pm));
	r = pinmem_pin_memfd(pm, mfd, 4 * PAGE, 4 * PAGE, PINMEM_PIN_WRITE, &h, &n);
	if (r == -EOPNOTSUPP) {
		/* before 6.11, whatever the arguments */
		ASSERT_HAS(pinmem_strerror(r, PINMEM_CALL_PIN_MEMFD), "6.11");
		ksft_print_msg("pinmem_pin_memfd: %s\n", pinmem_strerror(r, PINMEM_CALL_PIN_MEMFD));
	} else {
		ASSERT_EQ(0, r);
		ASSERT_ERR(pinmem_pin_memfd(pm, mfd, 0, 9 * PAGE, 0, NULL, NULL), EINVAL,
			   PINMEM_CALL_PIN_MEMFD, "outside the file");
		ASSERT_EQ(4, n);
		ASSERT_EQ(0, pinmem_query(pm, h, &info));
		ASSERT_TRUE(info.pin_flags & PINMEM_PIN_MEMFD);
		ASSERT_EQ(0, pinmem_unpin(pm, h));
	}
	pinmem_close(pm);
	close(mfd);
}

PM_TEST_F(pinmemctl, status, TIMEOUT)
{
	struct run *r = malloc(sizeof(*r));

	ksft_print_msg("libpinmem %s, pinmemctl: %s%s\n", pinmem_lib_version(), ctl_path,
		       ctl_embedded ? " (not found in $PINMEMCTL, /tests, next to this binary or $PATH: using the copy linked into this test)" : "");

	ASSERT_TRUE(r != NULL);
	ASSERT_EQ(0, ctl(r, "status", NULL));
	if (!have_module()) {
		show("status", r);
		ASSERT_EQ(EX_NOTLOADED, r->rc);
		ASSERT_HAS(r->out, "not loaded");
		return;
	}
	if (r->rc)
		show("status", r);
	ASSERT_EQ(0, r->rc);
	ASSERT_HAS(r->out, "module:");
	ASSERT_HAS(r->out, "loaded, version ");
	ASSERT_HAS(r->out, "ABI version:  2");
	ASSERT_HAS(r->out, "device:       /dev/pinmem char mode 0600");
	ASSERT_HAS(r->out, "max_pins=");
	ASSERT_HAS(r->out, "dev_mode=384 (0600)");
	ASSERT_HAS(r->out, "CMA:");
	ASSERT_HAS(r->out, "DMA CMA (CONFIG_DMA_CMA): ");
	show("status", r);
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

PM_TEST_F(pinmemctl, pins_table, TIMEOUT)
{
	char *buf = map_anon(32 * PAGE), pidstr[64], size[32];
	struct run *r = malloc(sizeof(*r));
	struct pinmem *pm;
	uint64_t h1, h2;

	NEED_MODULE;
	ASSERT_TRUE(buf && r);
	ASSERT_EQ(0, pinmem_open(&pm));
	ASSERT_EQ(0, pinmem_pin(pm, buf, 8 * PAGE, 0, &h1, NULL));
	ASSERT_EQ(0, pinmem_pin(pm, buf + 16 * PAGE, 16 * PAGE, PINMEM_PIN_WRITE,
			    &h2, NULL));

	ASSERT_EQ(0, ctl(r, "pins", NULL));
	if (r->rc)
		show("pins", r);
	ASSERT_EQ(0, r->rc);
	ASSERT_HAS(r->out, "CTX");
	ASSERT_HAS(r->out, "HANDLE");
	ASSERT_HAS(r->out, "PLACEMENT");
	snprintf(pidstr, sizeof(pidstr), "  %d  test_libpinmem", getpid());
	ASSERT_HAS(r->out, pidstr);
	ASSERT_HAS(r->out, "rw");
	snprintf(size, sizeof(size), "%zuK", KIB(16));	/* pinmemctl's size column */
	ASSERT_HAS(r->out, size);
	/* root reads debugfs, and says so */
	ASSERT_HAS(r->err, "# source: debugfs");
	show("pins", r);
	ASSERT_EQ(0, pinmem_unpin(pm, h1));
	ASSERT_EQ(0, pinmem_unpin(pm, h2));
	pinmem_close(pm);
}

PM_TEST_F(pinmemctl, pins_json, TIMEOUT)
{
	char *buf = map_anon(32 * PAGE), pidstr[64];
	struct run *r = malloc(sizeof(*r));
	struct pinmem *pm;
	uint64_t h1, h2;

	NEED_MODULE;
	ASSERT_TRUE(buf && r);
	ASSERT_EQ(0, ctl(r, "pins", "--json", NULL));
	if (no_cjson(r))
		SKIP(return, "%s", NO_CJSON);
	ASSERT_EQ(0, pinmem_open(&pm));
	ASSERT_EQ(0, pinmem_pin(pm, buf, 8 * PAGE, 0, &h1, NULL));
	ASSERT_EQ(0, pinmem_pin(pm, buf + 16 * PAGE, 16 * PAGE, PINMEM_PIN_WRITE,
			    &h2, NULL));
	ASSERT_EQ(0, ctl(r, "pins", "--json", NULL));
	ASSERT_EQ(0, r->rc);
	if (!json_valid(r->out)) {
		show("pins --json", r);
		ASSERT_TRUE(json_valid(r->out));
	}
	ASSERT_HAS(r->out, "{\"source\":\"debugfs\",\"pins\":[");
	snprintf(pidstr, sizeof(pidstr), "\"pid\":%d,\"comm\":\"test_libpinmem\"",
		 getpid());
	ASSERT_HAS(r->out, pidstr);
	snprintf(pidstr, sizeof(pidstr), "\"start\":\"%#lx\"",
		 (unsigned long)(uintptr_t)(buf + 16 * PAGE));
	ASSERT_HAS(r->out, pidstr);
	ASSERT_HAS(r->out, "\"pages\":16,\"flags\":\"rw\",\"write\":true,\"memfd\":false");
	ASSERT_HAS(r->out, "\"runs\":");
	ASSERT_EQ(0, pinmem_unpin(pm, h1));
	ASSERT_EQ(0, pinmem_unpin(pm, h2));
	pinmem_close(pm);
}

/*
 * Root without debugfs reads fdinfo too (--source fdinfo): the same pins,
 * the same columns but for their age. The kernel files are dumped as
 * diagnostics, to record them as user/tests/fixtures.
 */
PM_TEST_F(pinmemctl, pins_fdinfo_as_root, TIMEOUT)
{
	char *buf = map_anon(32 * PAGE), path[64], size[32];
	char a[NCOLS][160], b[NCOLS][160];
	struct run *r = malloc(sizeof(*r)), *d = malloc(sizeof(*d));
	struct pinmem_contig_info ci;
	uint64_t h[3], hm = 0;
	struct pinmem *pm;
	int i, c, dfd, mfd;

	NEED_MODULE;
	ASSERT_TRUE(buf && r && d);
	ASSERT_EQ(0, pinmem_open(&pm));
	ASSERT_EQ(0, pinmem_pin(pm, buf, 16 * PAGE, PINMEM_PIN_WRITE, &h[0], NULL));
	ASSERT_EQ(0, pinmem_pin(pm, buf + 16 * PAGE, 4 * PAGE, 0, &h[1], NULL));
	ASSERT_EQ(0, pinmem_export(pm, h[0], PINMEM_EXPORT_CLOEXEC, &dfd));
	ASSERT_EQ(0, pinmem_contig_alloc(pm, 16 * PAGE, 0, 0, &ci));
	h[2] = 0;
	mfd = memfd_create("test_libpinmem", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	ASSERT_TRUE(mfd >= 0);
	ASSERT_EQ(0, ftruncate(mfd, 8 * PAGE));
	ASSERT_EQ(0, fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK));
	if (!pinmem_pin_memfd(pm, mfd, 0, 8 * PAGE, 0, &hm, NULL))
		h[2] = hm;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pinmem_fd(pm));
	dump_file("fixture debugfs/pins", "/sys/kernel/debug/pinmem/pins");
	dump_file("fixture fdinfo", path);
	dump_file("fixture debugfs/cma", "/sys/kernel/debug/pinmem/cma");

	ASSERT_EQ(0, ctl(d, "pins", NULL));
	ASSERT_EQ(0, d->rc);
	ASSERT_HAS(d->err, "# source: debugfs");
	ASSERT_EQ(0, ctl(r, "pins", "--source", "fdinfo", NULL));
	show("pins --source fdinfo", r);
	if (!fdinfo_has_pinmem(pinmem_fd(pm))) {
		ASSERT_EQ(EX_INCOMPAT, r->rc);
		ASSERT_HAS(r->err, "too old to list pins in fdinfo");
		SKIP(return, "%s", NO_FDINFO);
	}
	ASSERT_EQ(0, r->rc);
	ASSERT_HAS(r->err, "# source: fdinfo");
	ASSERT_HAS(r->err, "--source fdinfo");
	ASSERT_HAS(r->err, " 0 processes not readable");
	for (i = 0; i < 3; i++) {
		if (!h[i])
			continue;
		if (!table_row(d->out, getpid(), h[i], a))
			show("pins", d);
		ASSERT_TRUE(table_row(d->out, getpid(), h[i], a) &&
			    table_row(r->out, getpid(), h[i], b))
			TH_LOG("no row for handle %llu", (unsigned long long)h[i]);
		for (c = 0; c < NCOLS; c++) {
			if (c == C_AGE)
				continue;
			ASSERT_STREQ(a[c], b[c])
				TH_LOG("handle %llu column %d: debugfs '%s', fdinfo '%s'",
				       (unsigned long long)h[i], c, a[c], b[c]);
		}
	}
	ASSERT_HAS(a[C_PLACEMENT], "compound=");
	ASSERT_TRUE(table_row(r->out, getpid(), h[0], b));
	ASSERT_HAS(b[C_PLACEMENT], "dma-bufs=1");
	ASSERT_HAS(b[C_FLAGS], "rw");
	snprintf(size, sizeof(size), "%zuK", KIB(16));
	ASSERT_HAS(b[C_SIZE], size);
	if (hm) {
		ASSERT_TRUE(table_row(r->out, getpid(), hm, b) && !strcmp(b[C_FLAGS], "r-m"));
	} else {
		ksft_print_msg("no memfd pin (PIN_MEMFD needs 6.11)\n");
	}
	close(dfd);
	close(mfd);
	pinmem_close(pm);
}

/*
 * A user without debugfs sees its own pins through fdinfo, not other
 * users': uid 65534 pins, root (our parent) pins too, and uid 65534 runs
 * pinmemctl pins.
 */
static void fdinfo_user_child(struct __test_metadata *_metadata, void *arg)
{
	int go = *(int *)arg, ppid = getppid();
	struct rlimit rl = { 64 * PAGE, 64 * PAGE };
	char *buf = map_anon(32 * PAGE), c, cols[NCOLS][160], s[160], size[32];
	struct run *r = malloc(sizeof(*r));
	struct pinmem *pm;
	uint64_t h1, h2;

	ASSERT_TRUE(buf && r);
	ASSERT_EQ(0, pinmem_open(&pm));
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_EQ(0, drop_to(NOBODY));
	ASSERT_EQ(0, pinmem_pin(pm, buf, 16 * PAGE, PINMEM_PIN_WRITE, &h1, NULL));
	ASSERT_EQ(0, pinmem_pin(pm, buf + 16 * PAGE, 4 * PAGE, 0, &h2, NULL));
	ASSERT_EQ(1, read(go, &c, 1));	/* root's pin is there too */
	ASSERT_EQ(0, ctl(r, "pins", NULL));
	show("pins as uid 65534", r);
	if (!fdinfo_has_pinmem(pinmem_fd(pm))) {
		ASSERT_EQ(EX_INCOMPAT, r->rc);
		ASSERT_HAS(r->err, "run as root");
		SKIP(return, "%s", NO_FDINFO);
	}
	ASSERT_EQ(0, r->rc);
	ASSERT_HAS(r->err, "# source: fdinfo");
	ASSERT_HAS(r->err, "/sys/kernel/debug/pinmem/pins unreadable");
	ASSERT_TRUE(table_row(r->out, getpid(), h1, cols));
	ASSERT_HAS(cols[C_COMM], "test_libpinmem");
	ASSERT_HAS(cols[C_FLAGS], "rw");
	ASSERT_HAS(cols[C_PAGES], "16");
	snprintf(size, sizeof(size), "%zuK", KIB(16));
	ASSERT_HAS(cols[C_SIZE], size);
	snprintf(s, sizeof(s), "%#lx", (unsigned long)(uintptr_t)buf);
	ASSERT_TRUE(!strcmp(cols[C_START], s));
	ASSERT_TRUE(table_row(r->out, getpid(), h2, cols));
	ASSERT_HAS(cols[C_FLAGS], "r-");
	ASSERT_HAS(cols[C_PAGES], "4");
	snprintf(s, sizeof(s), "2 pins, 20 pages (%zuK) in 1 context", KIB(20));
	ASSERT_HAS(r->out, s);
	/* root's process, and so its pin, are not ours to see */
	ASSERT_TRUE(!table_has_pid(r->out, ppid));

	/* debugfs is root's */
	ASSERT_EQ(0, ctl(r, "pins", "--source", "debugfs", NULL));
	ASSERT_EQ(EX_PERM, r->rc);
	ASSERT_HAS(r->err, "debugfs is root only");

	ASSERT_EQ(0, ctl(r, "pins", "--json", NULL));
	if (no_cjson(r)) {
		ksft_print_msg("pins --json not checked: %s\n", NO_CJSON);
	} else {
		ASSERT_EQ(0, r->rc);
		ASSERT_TRUE(json_valid(r->out));
		ASSERT_HAS(r->out, "{\"source\":\"fdinfo\",\"pins\":[");
		snprintf(s, sizeof(s), "\"pid\":%d,\"comm\":\"test_libpinmem\"", getpid());
		ASSERT_HAS(r->out, s);
		ASSERT_HAS(r->out, "\"count\":2,\"unreadable_processes\":");
		ASSERT_HAS(r->out, "\"contexts\":[{\"ctx\":");
		ASSERT_TRUE(!strstr(r->out, "\"runs\":"));
	}
	pinmem_close(pm);
}

PM_TEST_F(pinmemctl, pins_fdinfo_unprivileged, TIMEOUT)
{
	char *buf = map_anon(8 * PAGE);
	int p[2], status;
	struct pinmem *pm;
	pid_t pid;

	NEED_MODULE;
	ASSERT_TRUE(buf != NULL);
	ASSERT_EQ(0, pipe(p));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (!pid) {
		/* its checks and SKIP() are the case's (see in_child()) */
		close(p[1]);
		fdinfo_user_child(_metadata, &p[0]);
		fflush(stdout);
		_exit(0);
	}
	close(p[0]);
	/* a root process's pin, opened after the fork: not the child's fd */
	ASSERT_EQ(0, pinmem_open(&pm));
	ASSERT_EQ(0, pinmem_pin(pm, buf, 8 * PAGE, 0, NULL, NULL));
	ASSERT_EQ(1, write(p[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	pinmem_close(pm);
	ASSERT_TRUE(WIFEXITED(status));
}

PM_TEST_F(pinmemctl, stats_table, TIMEOUT)
{
	struct run *r = malloc(sizeof(*r));

	NEED_MODULE;
	ASSERT_TRUE(r != NULL);
	dump_file("fixture debugfs/stats", "/sys/kernel/debug/pinmem/stats");
	ASSERT_EQ(0, ctl(r, "stats", NULL));
	ASSERT_EQ(0, r->rc);
	ASSERT_HAS(r->out, "IOCTL");
	ASSERT_HAS(r->out, "CONTIG_ALLOC");
	ASSERT_HAS(r->out, "contiguous buffers");
	ASSERT_HAS(r->out, "total_pins");
	show("stats", r);
}

PM_TEST_F(pinmemctl, stats_json, TIMEOUT)
{
	struct run *r = malloc(sizeof(*r));

	NEED_MODULE;
	ASSERT_TRUE(r != NULL);
	ASSERT_EQ(0, ctl(r, "stats", "--json", NULL));
	if (no_cjson(r))
		SKIP(return, "%s", NO_CJSON);
	if (r->rc || !json_valid(r->out))
		show("stats --json", r);
	ASSERT_EQ(0, r->rc);
	ASSERT_TRUE(json_valid(r->out));
	ASSERT_HAS(r->out, "{\"source\":\"debugfs\",\"contexts\":");
	ASSERT_HAS(r->out, "\"total_pins\":");
	ASSERT_HAS(r->out, "\"calls\":{\"VERSION\":");
	ASSERT_HAS(r->out, "\"PIN\":");
	/* earlier cases made PIN fail with EINVAL */
	ASSERT_HAS(r->out, "\"failures\":{");
	ASSERT_HAS(r->out, "\"cma\":{\"dma_cma_configured\":");
	ksft_print_msg("stats --json: %.300s...\n", r->out);
}

PM_TEST_F(pinmemctl, pin_and_contig, TIMEOUT)
{
	struct run *r = malloc(sizeof(*r));
	char path[] = "/tmp/pinmem-file.XXXXXX", data[3 * PAGE], want[64];
	int fd;

	NEED_MODULE;
	ASSERT_TRUE(r != NULL);
	ASSERT_EQ(0, ctl(r, "pin", "-t", "0", "1M", NULL));
	show("pin -t 0 1M", r);
	ASSERT_EQ(0, r->rc);
	snprintf(want, sizeof(want), "pinned 1.0 MiB (%zu pages) of anonymous memory",
		 ((size_t)1 << 20) / PAGE);
	ASSERT_HAS(r->out, want);
	ASSERT_HAS(r->out, "placement:");
	ASSERT_HAS(r->out, "unpinned handle ");

	ASSERT_EQ(0, ctl(r, "pin", "-w", "--pfns", "-t", "0", "64K", NULL));
	ASSERT_EQ(0, r->rc);
	ASSERT_HAS(r->out, "read-write");
	ASSERT_HAS(r->out, "pfns: 0x");

	/* a tmpfs file, MAP_SHARED, not a multiple of the page size */
	fd = mkstemp(path);
	ASSERT_TRUE(fd >= 0);
	memset(data, 'x', sizeof(data));
	ASSERT_EQ(sizeof(data) - 100, write(fd, data, sizeof(data) - 100));
	close(fd);
	ASSERT_EQ(0, ctl(r, "pin", "-t", "0", "-f", path, NULL));
	unlink(path);
	show("pin -f FILE", r);
	ASSERT_EQ(0, r->rc);
	ASSERT_HAS(r->out, "(3 pages) of /tmp/pinmem-file.");

	ASSERT_EQ(0, ctl(r, "contig", "-t", "0", "256K", NULL));
	show("contig -t 0 256K", r);
	ASSERT_EQ(0, r->rc);
	ASSERT_HAS(r->out, "allocated 256.0 KiB contiguous");
	ASSERT_HAS(r->out, "physical: 0x");
	ASSERT_HAS(r->out, "wrote and read back 262144 bytes: ok");
	ASSERT_HAS(r->out, "freed handle");

	/* a meaningful failure: no pool reserved (pool_mb=0) */
	fd = open("/sys/module/pinmem/parameters/pool_mb", O_RDONLY);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(2, read(fd, data, 2));
	close(fd);
	if (strncmp(data, "0\n", 2)) {
		ksft_print_msg("pool_mb is not 0: not checking --pool without a pool\n");
		return;
	}
	ASSERT_EQ(0, ctl(r, "contig", "--pool", "-t", "0", "64K", NULL));
	show("contig --pool", r);
	ASSERT_EQ(EX_FAIL, r->rc);
	ASSERT_HAS(r->err, "ENODEV");
	ASSERT_HAS(r->err, "pool_mb=");
}

PM_TEST_F(pinmemctl, usage_and_exit_codes, TIMEOUT)
{
	struct run *r = malloc(sizeof(*r));

	ASSERT_TRUE(r != NULL);
	ASSERT_EQ(0, ctl(r, NULL));
	ASSERT_EQ(EX_USAGE, r->rc);
	ASSERT_HAS(r->err, "usage: pinmemctl");
	ASSERT_EQ(0, ctl(r, "-h", NULL));
	ASSERT_EQ(0, r->rc);
	ASSERT_HAS(r->out, "exit status: 0 ok, 1 operation failed, 2 usage");
	ASSERT_EQ(0, ctl(r, "frobnicate", NULL));
	ASSERT_EQ(EX_USAGE, r->rc);
	ASSERT_HAS(r->err, "unknown command 'frobnicate'");
	ASSERT_EQ(0, ctl(r, "pin", NULL));
	ASSERT_EQ(EX_USAGE, r->rc);
	ASSERT_EQ(0, ctl(r, "pin", "12Q", NULL));
	ASSERT_EQ(EX_USAGE, r->rc);
	ASSERT_HAS(r->err, "bad size");
	ASSERT_EQ(0, ctl(r, "pins", "extra", NULL));
	ASSERT_EQ(EX_USAGE, r->rc);
	ASSERT_EQ(0, ctl(r, "--version", NULL));
	ASSERT_EQ(0, r->rc);
	show("--version", r);
	if (strstr(r->out, "cJSON: no")) {
		/* refused before anything is read, module or not */
		ASSERT_EQ(0, ctl(r, "pins", "--json", NULL));
		ASSERT_EQ(EX_USAGE, r->rc);
		ASSERT_HAS(r->err, "--json: this pinmemctl was built without cJSON");
		ASSERT_EQ(0, ctl(r, "stats", "--json", NULL));
		ASSERT_EQ(EX_USAGE, r->rc);
		ASSERT_HAS(r->err, "built without cJSON");
		ASSERT_TRUE(!r->out[0]);
	} else {
		ASSERT_HAS(r->out, "cJSON: yes");
	}
	ASSERT_EQ(0, ctl(r, "pins", "--source", "sysfs", NULL));
	ASSERT_EQ(EX_USAGE, r->rc);
	ASSERT_EQ(0, ctl(r, "stats", "--source", "fdinfo", NULL));
	ASSERT_EQ(EX_USAGE, r->rc);
	ASSERT_EQ(0, ctl(r, "--version", NULL));
	if (strstr(r->out, "libkmod: no")) {
		ASSERT_EQ(0, ctl(r, "load", NULL));
		ASSERT_EQ(EX_USAGE, r->rc);
		ASSERT_HAS(r->err, "not available in this build");
		ASSERT_EQ(0, ctl(r, "unload", NULL));
		ASSERT_EQ(EX_USAGE, r->rc);
	} else if (have_module()) {
		/* loaded: "load" with parameters is refused, not applied */
		ASSERT_EQ(0, ctl(r, "load", "max_pins=5", NULL));
		ASSERT_EQ(EX_FAIL, r->rc);
		ASSERT_HAS(r->out, "already loaded");
	}
	if (!have_module()) {
		ASSERT_EQ(0, ctl(r, "pin", "-t", "0", "4K", NULL));
		show("pin without the module", r);
		ASSERT_EQ(EX_NOTLOADED, r->rc);
		ASSERT_HAS(r->err, "not loaded");
	}
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');

	/* run as pinmemctl (see find_pinmemctl()) */
	if (!strcmp(base ? base + 1 : argv[0], "pinmemctl"))
		return pinmemctl_main(argc, argv);

	find_pinmemctl();
	return test_harness_run(argc, argv);
}
