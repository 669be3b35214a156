#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# ensure-pkg.sh WHAT PACKAGE WHY [HINT]: make sure a build or test
# dependency of user/ is there. WHAT is pc:NAME (pkg-config finds NAME.pc)
# or py:MODULE (python3 imports MODULE). If it is missing, install the
# Debian PACKAGE with apt-get when we are root on a Debian-like system;
# otherwise say what to do (and HINT, e.g. how to build without it).
set -e
what=$1 pkg=$2 why=$3 hint=${4:-}

have() {
	case "$what" in
	pc:*) pkg-config --exists "${what#pc:}" 2>/dev/null ;;
	py:*) python3 -c "import ${what#py:}" 2>/dev/null ;;
	*) echo "ensure-pkg.sh: bad WHAT '$what'" >&2; exit 2 ;;
	esac
}

have && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	extra=""
	case "$what" in
	pc:*) command -v pkg-config >/dev/null 2>&1 || extra="pkg-config" ;;
	py:*) command -v python3 >/dev/null 2>&1 || extra="python3" ;;
	esac
	echo "[pinmem] installing $pkg${extra:+ $extra} ($why)" >&2
	# shellcheck disable=SC2086  # $extra: zero or one word
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" $extra >&2; then
		if apt-get update -qq >&2; then
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" $extra >&2 || :
		fi
	fi
	have && exit 0
fi
echo "[pinmem] $why: $what not found." >&2
echo "         Install it:   sudo apt-get install $pkg" >&2
[ -n "$hint" ] && echo "         $hint" >&2
exit 1
