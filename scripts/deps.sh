# shellcheck shell=bash
# Host dependency and apt download helpers, sourced by the scripts.
# Everything is idempotent: nothing is installed or updated unless missing.
# Packages are installed from the host's own apt sources, for the host's own
# architecture; the host's apt configuration is never changed (no foreign
# architectures, no sources). What another release or architecture needs is
# downloaded through a private apt state in the cache (apt_private).

# shellcheck disable=SC2034  # read by the scripts that source this file
{
	# The host packages the scripts install (only the missing ones), by what
	# needs them: README.md points here. Besides these, scripts/build-debs
	# installs debian/control's Build-Depends (apt-get build-dep).
	#  every VM target (scripts/vm-run): kbuild, the initramfs, module
	#  dependencies; gcc-12 and pahole for bookworm-backports' 6.12 headers;
	#  sparse, which checks the test build
	HOST_PKGS_VM="gcc make libc6-dev binutils cpio gzip kmod bc flex bison libelf-dev coreutils xz-utils zstd gcc-12 dwarves sparse"
	#  by the guest's Debian architecture (T_DEBARCH): QEMU, and the cross
	#  compilers for the module and the static tests (the i686 one, not gcc
	#  -m32: gcc-multilib conflicts with the arm64 and armhf cross compilers)
	declare -A HOST_PKGS_ARCH=(
		[amd64]="qemu-system-x86"
		[i386]="qemu-system-x86 gcc-i686-linux-gnu libc6-dev-i386-cross"
		[arm64]="qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
		[armhf]="qemu-system-arm gcc-arm-linux-gnueabihf libc6-dev-armhf-cross"
	)
	#  scripts/lint: checkpatch, sparse, modinfo, shellcheck, and user
	#  space's make check (user/ensure-pkg.sh would install the libraries
	#  and python3-jsonschema itself, for a build without scripts/)
	HOST_PKGS_LINT="perl sparse kmod shellcheck pkgconf libkmod-dev libcjson-dev groff-base man-db python3-jsonschema"
	#  the debug kernels (scripts/build-debug-kernel) and the newer kernel
	#  sources (scripts/mainline-check); no dwarves (no BTF: DEBUG_INFO is
	#  off) and no rsync (no headers_install)
	HOST_PKGS_KERNEL="build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils"
	#  the build chroots and guest images (debootstrap)
	HOST_PKGS_CHROOT="debootstrap e2fsprogs"
	#  scripts/dkms-check
	HOST_PKGS_DKMS="dkms openssl kmod"
	#  scripts/deb-check and scripts/build-debs: building and checking the .debs
	HOST_PKGS_DEB="build-essential dpkg-dev debhelper dh-dkms lintian libkmod-dev libcjson-dev pkgconf groff-base man-db python3 python3-jsonschema"
	#  scripts/install-test: the amd64 guest and its disk image
	HOST_PKGS_INSTALL_TEST="qemu-system-x86 qemu-utils dpkg-dev"
	#  scripts/bench (make bench, not make check): the plots
	HOST_PKGS_BENCH="gnuplot-nox"
}

_APT_UPDATED=0

msg() { printf '[pinmem] %s\n' "$*" >&2; }

_as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"
	elif command -v sudo >/dev/null 2>&1; then sudo "$@"
	else msg "need root to run: $*"; return 1
	fi
}

# apt_update: refresh the host's package lists, once per run.
apt_update() {
	[ "$_APT_UPDATED" = 1 ] && return 0
	msg "apt-get update"
	_as_root apt-get update -qq >&2 || return 1
	_APT_UPDATED=1
}

# Options for apt-get/apt-cache in the apt_* helpers below: empty = the
# host's apt; apt_private sets them to a private apt state.
APT_OPTS=()
_APT_PRIV=""

# apt_private "SUITE...": resolve and download from these Debian suites
# (e.g. "$SUITES_TRIXIE" of targets.sh) through an apt state of their own
# in the cache: their own sources, lists, archives and architectures (every
# one the targets use, whatever dpkg on the host knows), no pins and no
# status file. Nothing of the host's apt state or dpkg database is written
# or used (a Debian 12 host must not see trixie as an upgrade, nor need
# arm64 added to download an arm64 .deb); only its keyrings are read. The
# package lists are refreshed when older than 6 hours; offline, the cached
# ones do.
apt_private() {
	local suites=$1 s d
	d=${PINMEM_CACHE:-$HOME/.cache/pinmem}/apt/${suites// /+}
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	for s in $suites; do
		case "$s" in
		*-security) echo "deb http://deb.debian.org/debian-security $s main" ;;
		*) echo "deb http://deb.debian.org/debian $s main" ;;
		esac
	done >"$d/sources.list"
	# APT::Architectures set is the whole list (apt asks dpkg for foreign
	# architectures only when it is unset); the host's pins do not apply
	APT_OPTS=(-o Dir::Etc::SourceList="$d/sources.list" -o Dir::Etc::SourceParts=/nonexistent
		-o Dir::Etc::Preferences=/nonexistent -o Dir::Etc::PreferencesParts=/nonexistent
		-o Dir::State="$d" -o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache"
		-o Dir::State::status=/dev/null -o Debug::NoLocking=1 -o APT::Sandbox::User=root
		-o "APT::Architectures=amd64,arm64,armhf,i386")
	_APT_PRIV=$d
	_apt_private_update 360
}

# _apt_lists_fresh MINUTES: the private lists are younger than that
_apt_lists_fresh() {
	[ "$1" -gt 0 ] && [ -n "$(find "$_APT_PRIV/.updated" -mmin -"$1" 2>/dev/null)" ]
}

# _apt_private_update [MINUTES]: refresh the private lists unless they are
# younger than MINUTES; one run at a time (apt's own locking is off).
_apt_private_update() {
	local fresh=${1:-0} rc=0 lock
	_apt_lists_fresh "$fresh" && return 0
	exec {lock}>"$_APT_PRIV/.lock"
	flock "$lock"
	# another run may have refreshed them meanwhile
	if ! _apt_lists_fresh "$fresh"; then
		msg "apt-get update ($_APT_PRIV)"
		if apt-get "${APT_OPTS[@]}" update -qq >&2; then
			touch "$_APT_PRIV/.updated"
		else
			msg "apt-get update of $_APT_PRIV failed: using the cached lists"
			find "$_APT_PRIV/lists" -maxdepth 1 -name '*_Packages*' | grep -q . || rc=1
		fi
	fi
	exec {lock}>&-
	return "$rc"
}

pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# ensure_pkgs PKGS...: install the missing ones, from the host's apt sources;
# each argument names one package or several, separated by spaces (e.g.
# "$HOST_PKGS_LINT").
ensure_pkgs() {
	local p pkgs missing=() log
	read -ra pkgs <<<"$*"
	for p in "${pkgs[@]}"; do pkg_installed "$p" || missing+=("$p"); done
	[ "${#missing[@]}" -eq 0 ] && return 0
	msg "installing: ${missing[*]}"
	apt_update
	log=$(mktemp)
	if ! _as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		rm -f "$log"
		return 1
	fi
	rm -f "$log"
}

# apt_candidate PKG[:ARCH] [RELEASE]: print candidate version ("" if none).
apt_candidate() {
	local opt=()
	[ -n "${2:-}" ] && opt=(-o "APT::Default-Release=$2")
	apt-cache "${APT_OPTS[@]}" "${opt[@]}" policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}' | sed 's/(none)//'
}

# apt_depends PKG[:ARCH] [RELEASE]: print the direct Depends of the candidate.
apt_depends() {
	local opt=()
	[ -n "${2:-}" ] && opt=(-o "APT::Default-Release=$2")
	apt-cache "${APT_OPTS[@]}" "${opt[@]}" depends "$1" 2>/dev/null |
		awk '$1 == "Depends:" || $1 == "|Depends:" {print $2}' | sed 's/:.*//; s/[<>]//g'
}

# apt_fetch PKG ARCH VERSION DLDIR: download the .deb into DLDIR (cached);
# prints the .deb path.
apt_fetch() {
	local pkg=$1 arch=$2 ver=$3 dl=$4 f
	f="$dl/${pkg}_${ver/:/%3a}_"
	local hit
	for hit in "$f$arch.deb" "${f}all.deb"; do
		[ -s "$hit" ] && { echo "$hit"; return 0; }
	done
	mkdir -p "$dl"
	msg "downloading $pkg:$arch=$ver"
	if ! (cd "$dl" && apt-get "${APT_OPTS[@]}" download -q "$pkg:$arch=$ver" 2>"$dl/.apt-err" >&2); then
		cat "$dl/.apt-err" >&2
		return 1
	fi
	for hit in "$f$arch.deb" "${f}all.deb"; do
		[ -s "$hit" ] && { echo "$hit"; return 0; }
	done
	msg "downloaded $pkg but cannot find ${f}*.deb"
	return 1
}
