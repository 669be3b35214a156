// SPDX-License-Identifier: GPL-2.0
/*
 * pinmemctl load / unload, through libkmod. Without libkmod (the static
 * build for the test VMs) both say so and exit 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pinmem.h>

#include "pinmemctl.h"

static const char load_usage[] =
"usage: pinmemctl load [--path FILE.ko] [PARAM=VALUE...]\n"
"  load pinmem (from /lib/modules/$(uname -r), with options from\n"
"  /etc/modprobe.d), or the module file FILE.ko; PARAM=VALUE are module\n"
"  parameters: max_pins, max_pages, dev_mode, pool_mb (see modinfo)\n";

#ifdef HAVE_LIBKMOD
#include <libkmod.h>

const bool have_kmod = true;

static int kmod_error(const char *what, int err)
{
	const char *why;

	if (err < 0)
		err = -err;
	switch (err) {
	case EPERM:
		why = "not permitted: needs root (CAP_SYS_MODULE), or module loading is disabled (kernel.modules_disabled, lockdown)";
		break;
	case ENOEXEC:
		why = "invalid module format: built for another kernel or architecture (rebuild against $(uname -r) headers; see dmesg)";
		break;
	case EKEYREJECTED:
	case EBADMSG:
	case ENOKEY:
		why = "module signature rejected (Secure Boot: sign it, e.g. with DKMS's MOK key)";
		break;
	case EINVAL:
		why = "invalid argument: an unknown or bad parameter, see dmesg";
		break;
	case EBUSY:
	case EAGAIN:
		why = "in use: some process holds /dev/pinmem open (pinmemctl pins; fuser /dev/pinmem)";
		break;
	case ENOENT:
		why = "not found (or an unknown symbol: see dmesg)";
		break;
	default:
		why = strerror(err);
	}
	err_msg("%s: %s", what, why);
	return err == EPERM ? EX_PERM : EX_FAIL;
}

static char *join_params(int argc, char **argv)
{
	size_t len = 1;
	char *s;
	int i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = calloc(1, len);
	if (!s)
		return NULL;
	for (i = 0; i < argc; i++) {
		if (!strchr(argv[i], '=')) {
			err_msg("'%s' is not PARAM=VALUE", argv[i]);
			free(s);
			return NULL;
		}
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

/* devtmpfs/udev create the node asynchronously */
static void wait_device(void)
{
	int i;

	for (i = 0; i < 200 && access(PINMEM_DEVICE_PATH, F_OK); i++)
		usleep(10000);
}

int cmd_load(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "path", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct kmod_list *list = NULL;
	struct kmod_module *mod = NULL;
	const char *path = NULL;
	struct kmod_ctx *ctx;
	char *params;
	struct pinmem *pm;
	int c, ret, rc = EX_OK;

	while ((c = getopt_long(argc, argv, "+p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			path = optarg;
			break;
		case 'h':
			fputs(load_usage, stdout);
			return EX_OK;
		default:
			fputs(load_usage, stderr);
			return EX_USAGE;
		}
	}
	params = join_params(argc - optind, argv + optind);
	if (!params)
		return EX_USAGE;
	if (module_loaded()) {
		rc = params[0] ? EX_FAIL : EX_OK;
		printf("pinmem is already loaded%s\n",
		       rc ? "; unload it first to change parameters" : "");
		free(params);
		return rc;
	}
	ctx = kmod_new(NULL, NULL);
	if (!ctx) {
		err_msg("libkmod: cannot create a context");
		free(params);
		return EX_FAIL;
	}
	if (path) {
		ret = kmod_module_new_from_path(ctx, path, &mod);
		if (ret) {
			err_msg("%s: %s", path, strerror(-ret));
			rc = EX_FAIL;
			goto out;
		}
		ret = kmod_module_insert_module(mod, 0, params);
		if (ret)
			rc = kmod_error(path, ret);
	} else {
		ret = kmod_module_new_from_lookup(ctx, "pinmem", &list);
		if (ret || !list) {
			err_msg("pinmem.ko is not installed for this kernel (make && sudo make modules_install, or dkms install); or use --path FILE.ko");
			rc = EX_FAIL;
			goto out;
		}
		mod = kmod_module_get_module(list);
		ret = kmod_module_probe_insert_module(mod, 0, params, NULL,
						      NULL, NULL);
		if (ret)
			rc = kmod_error("pinmem", ret);
	}
	if (rc)
		goto out;
	wait_device();
	ret = pinmem_open(&pm);
	if (ret) {
		printf("loaded pinmem, but %s: %s\n", PINMEM_DEVICE_PATH,
		       pinmem_strerror(ret, PINMEM_CALL_OPEN));
	} else {
		printf("loaded pinmem (ABI %u)%s%s\n", pinmem_abi_version(pm),
		       params[0] ? " with " : "", params);
		pinmem_close(pm);
	}
out:
	if (mod)
		kmod_module_unref(mod);
	if (list)
		kmod_module_unref_list(list);
	kmod_unref(ctx);
	free(params);
	return rc;
}

int cmd_unload(int argc, char **argv)
{
	struct kmod_module *mod;
	struct kmod_ctx *ctx;
	int ret, rc = EX_OK;

	if (wants_help(argc, argv)) {
		printf("usage: pinmemctl unload\n");
		return EX_OK;
	}
	if (argc > 1) {
		err_msg("unload takes no arguments");
		return EX_USAGE;
	}
	if (!module_loaded()) {
		err_msg("pinmem is not loaded");
		return EX_NOTLOADED;
	}
	ctx = kmod_new(NULL, NULL);
	if (!ctx) {
		err_msg("libkmod: cannot create a context");
		return EX_FAIL;
	}
	ret = kmod_module_new_from_name(ctx, "pinmem", &mod);
	if (ret) {
		rc = kmod_error("pinmem", ret);
	} else {
		ret = kmod_module_remove_module(mod, KMOD_REMOVE_NOWAIT);
		if (ret)
			rc = kmod_error("unload pinmem", ret);
		else
			printf("unloaded pinmem\n");
		kmod_module_unref(mod);
	}
	kmod_unref(ctx);
	return rc;
}

#else /* !HAVE_LIBKMOD */

const bool have_kmod = false;

static int unavailable(const char *cmd)
{
	err_msg("%s is not available in this build (built without libkmod); use insmod/rmmod or modprobe",
		cmd);
	return EX_USAGE;
}

int cmd_load(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		fputs(load_usage, stdout);
		return EX_OK;
	}
	return unavailable("load");
}

int cmd_unload(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		printf("usage: pinmemctl unload\n");
		return EX_OK;
	}
	return unavailable("unload");
}

#endif
