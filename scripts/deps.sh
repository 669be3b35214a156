# shellcheck shell=bash
# shellcheck disable=SC2034
# Host dependency + apt download helpers.  Sourced by scripts/vm-run.
# Everything is idempotent: nothing is installed/updated unless missing.

# Packages every target needs on the host.
HOST_PKGS_COMMON="gcc make libc6-dev binutils cpio gzip kmod bc flex bison libelf-dev coreutils xz-utils zstd"

_APT_UPDATED=0

msg() { printf '[pinmem] %s\n' "$*" >&2; }

_as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"
	elif command -v sudo >/dev/null 2>&1; then sudo "$@"
	else msg "need root to run: $*"; return 1
	fi
}

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
# (e.g. "trixie trixie-security") through an apt state of their own in the
# cache, for every architecture the targets use, leaving the host's sources
# alone (a Debian 12 host must not see trixie as an upgrade). The package
# lists are refreshed when older than 6 hours; offline, the cached ones do.
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
	APT_OPTS=(-o Dir::Etc::SourceList="$d/sources.list" -o Dir::Etc::SourceParts=/nonexistent
		-o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache"
		-o Dir::State::status=/dev/null -o Debug::NoLocking=1 -o APT::Sandbox::User=root
		-o APT::Architectures::=amd64 -o APT::Architectures::=arm64
		-o APT::Architectures::=armhf -o APT::Architectures::=i386)
	_APT_PRIV=$d
	[ -n "$(find "$d/.updated" -mmin -360 2>/dev/null)" ] && return 0
	_apt_private_update
}

_apt_private_update() {
	msg "apt-get update ($_APT_PRIV)"
	if apt-get "${APT_OPTS[@]}" update -qq >&2; then
		touch "$_APT_PRIV/.updated"
	else
		msg "apt-get update of $_APT_PRIV failed: using the cached lists"
		find "$_APT_PRIV/lists" -maxdepth 1 -name '*_Packages*' | grep -q .
	fi
}

pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# ensure_pkgs PKG...: install the missing ones.
ensure_pkgs() {
	local p missing=()
	for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
	[ "${#missing[@]}" -eq 0 ] && return 0
	msg "installing: ${missing[*]}"
	apt_update
	local log
	log=$(mktemp)
	if ! DEBIAN_FRONTEND=noninteractive _as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		rm -f "$log"
		return 1
	fi
	rm -f "$log"
}

# ensure_foreign_arch ARCH: make apt know about ARCH (for :arm64 debs).
ensure_foreign_arch() {
	local a=$1
	[ "$a" = "$(dpkg --print-architecture)" ] && return 0
	dpkg --print-foreign-architectures | grep -qx "$a" && return 0
	msg "dpkg --add-architecture $a"
	_as_root dpkg --add-architecture "$a"
	_APT_UPDATED=0
	apt_update
}

# ensure_apt_suite SUITE: make apt see SUITE of Debian's archive (e.g.
# bookworm-backports, whose packages apt never prefers on its own).
ensure_apt_suite() {
	local suite=$1
	grep -rqsw -- "$suite" /etc/apt/sources.list /etc/apt/sources.list.d/ && return 0
	msg "adding $suite to apt sources"
	echo "deb http://deb.debian.org/debian $suite main" |
		_as_root tee "/etc/apt/sources.list.d/pinmem-$suite.list" >/dev/null
	_APT_UPDATED=0
	apt_update
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
