#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# pinmemctl needs libkmod-dev (headers + libkmod.pc). Install it with apt-get
# when we are root on a Debian-like system; otherwise say what to do.
set -e
pkg-config --exists libkmod 2>/dev/null && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "[pinmem] installing libkmod-dev (needed by pinmemctl)" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libkmod-dev >&2 ||
		{ apt-get update -qq >&2 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libkmod-dev >&2; }
	command -v pkg-config >/dev/null 2>&1 ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pkg-config >&2
	pkg-config --exists libkmod && exit 0
fi
cat >&2 <<'MSG'
[pinmem] pinmemctl needs libkmod: libkmod.pc not found by pkg-config.
         Install it:   sudo apt-get install libkmod-dev pkg-config
         (Fedora: kmod-devel) or build without load/unload:  make KMOD=0
MSG
exit 1
