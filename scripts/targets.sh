# shellcheck shell=bash
# shellcheck disable=SC2034  # fields are used by vm-run
# pinmem VM test targets.  Sourced by scripts/vm-run and scripts/check.
#
# A target is one function `target_<name>` that sets the T_* fields below.
# Adding a kernel/arch = adding one function here (and, if it should run in
# `make check`, listing it in CHECK_TARGETS_DEFAULT).
#
# Fields (defaults are applied by target_defaults before the target function):
#   T_DEBARCH        Debian arch of the guest (amd64, arm64, ...)
#   T_KARCH          ARCH= for the module build
#   T_CROSS_COMPILE  CROSS_COMPILE= for the module build ("" = native)
#   T_KMAKE_ARGS     extra make args for the module build (e.g. CC=gcc-14)
#   T_TEST_CC        CC for the static test binaries (passed to tests/Makefile)
#   T_HOST_PKGS      host packages this target needs beyond those of every
#                    target and of its T_DEBARCH (HOST_PKGS_VM and
#                    HOST_PKGS_ARCH in scripts/deps.sh, QEMU and the cross
#                    compilers), normally none
#   T_QEMU           qemu binary
#   T_QEMU_ARGS      machine/cpu/smp args
#   T_QEMU_DEVICES   devices for the tests (default: QEMU's edu, for real DMA)
#   T_MEM            guest memory (MiB)
#   T_NUMA_NODES     NUMA nodes the memory is split into evenly, one vCPU
#                    each (so at most the -smp count)
#   T_CONSOLE        serial console device name
#   T_BOOT_PARAMS    target specific kernel params (common ones are added);
#                    @HOST_TSC_KHZ@ is substituted (vm-run)
#   T_KERNEL         "apt"   : stock Debian kernel fetched with apt-get download
#                    "local" : prebuilt tree, see T_KDIR/T_KIMAGE/T_PREPARE
#   T_META_PKG       (apt) meta package whose Depends names the image package
#                    (e.g. linux-image-amd64 -> linux-image-6.1.0-NN-amd64);
#                    the ABI is resolved at run time, never hardcoded.
#   T_APT_RELEASE    (apt) release to take candidates from (e.g.
#                    bookworm-backports); "" = default candidate
#   T_APT_SOURCES    Debian suites to resolve and download the kernel (apt)
#                    and busybox from, through a private apt state in the
#                    cache (scripts/deps.sh apt_private): $SUITES_BOOKWORM
#                    (default) or $SUITES_TRIXIE; see debian_kernel
#   T_BUILD_CHROOT   build the module in this suite's chroot (scripts/
#                    build-chroot), for kbuild tools the host cannot run
#   T_IMAGE_SUFFIX   (apt) image package = linux-image-$KREL$T_IMAGE_SUFFIX
#   T_KIMAGE         kernel image; relative paths are relative to the
#                    extraction root; @KREL@ is substituted
#   T_KDIR           (local) kernel build dir for M= builds
#   T_PREPARE        (local) optional command run first (e.g. build the kernel);
#                    if it prints "KDIR=<dir>" that sets T_KDIR, and if its
#                    last stdout line is an existing file, that is T_KIMAGE
#   T_TIMEOUT        hard VM timeout in seconds (PINMEM_TIMEOUT overrides)
#   T_TEST_TIMEOUT   per test binary timeout in the guest, seconds
#                    (PINMEM_TEST_TIMEOUT overrides)
#   T_BUSYBOX_PKG    package providing a static /bin/busybox for T_DEBARCH
#                    (downloaded as $T_BUSYBOX_PKG:$T_DEBARCH and extracted)
#   T_BENCH_MEM      guest memory (MiB) for `vm-run --bench` (scripts/bench)
#   T_BENCH_BOOT_PARAMS  replaces T_BOOT_PARAMS for --bench ("" = keep them)
#   T_BENCH_TIMEOUT  hard VM timeout in seconds for --bench

CHECK_TARGETS_DEFAULT="${CHECK_TARGETS_DEFAULT:-amd64 amd64_plain arm64 amd64_trixie arm64_trixie arm64_16k amd64_bpo arm64_bpo armhf debug debug612 debug32}"

# Kernel params used by every target (mode param is added by vm-run).
COMMON_BOOT_PARAMS="panic=-1 loglevel=5 printk.time=1"

# The Debian suites of T_APT_SOURCES. The backports suites are NotAutomatic:
# their packages are candidates only where T_APT_RELEASE names them.
SUITES_BOOKWORM="bookworm bookworm-updates bookworm-security bookworm-backports"
SUITES_TRIXIE="trixie trixie-updates trixie-security trixie-backports"

target_defaults() {
	T_DEBARCH=""
	T_KARCH=""
	T_CROSS_COMPILE=""
	T_KMAKE_ARGS=""
	T_TEST_CC="gcc"
	T_HOST_PKGS=""
	T_QEMU=""
	T_QEMU_ARGS=""
	# QEMU's edu PCI device: real DMA for test_dmabuf (tests/kmod); 40-bit
	# bus addresses instead of its 28-bit default, which only the first
	# 256 MiB of RAM would fit
	T_QEMU_DEVICES="-device edu,dma_mask=0xffffffffff"
	T_MEM=1024
	T_NUMA_NODES=1
	T_CONSOLE=""
	T_BOOT_PARAMS=""
	T_KERNEL="apt"
	T_META_PKG=""
	T_APT_RELEASE=""
	T_APT_SOURCES=$SUITES_BOOKWORM
	T_BUILD_CHROOT=""
	T_IMAGE_SUFFIX="-unsigned"
	T_KIMAGE="boot/vmlinuz-@KREL@"
	T_KDIR=""
	T_PREPARE=""
	T_TIMEOUT=900
	T_TEST_TIMEOUT=600
	T_BUSYBOX_PKG="busybox-static"
	T_BENCH_MEM=3072
	T_BENCH_BOOT_PARAMS=""
	T_BENCH_TIMEOUT=1800
}

# Debian 12 stock 6.1 kernel, x86_64, TCG.
target_amd64() {
	guest_arch amd64
	T_QEMU_ARGS="-accel tcg -cpu max -smp 2,sockets=2"
	# two nodes: a cpuset that allows one of them must bound where a
	# pin migrates to (amd64_plain and amd64_trixie too; the other targets
	# built on this one keep one node). A socket per CPU: the kernel warns
	# about a cache shared across nodes.
	T_NUMA_NODES=2
	T_BOOT_PARAMS="movablecore=600M"
	T_META_PKG=linux-image-amd64
	# The benchmark: 8 GiB, 3 GiB of it ZONE_MOVABLE for first-pin
	# (migration) sizes up to 2 GiB (bench.c's default list stops at
	# 1 GiB, for time), about 4.8 GiB outside it for warm
	# buffers up to 4 GiB (a size needs its own bytes + 160 MiB free there)
	# and 100,000 one-page pins. amd64_612, amd64_plain and amd64_trixie
	# inherit this; the debug targets and amd64_bpo set their own.
	T_BENCH_MEM=8192
	T_BENCH_BOOT_PARAMS="movablecore=3072M"
	# the benchmark under TCG plus an 8 GiB boot, with room for a host
	# shared with another VM
	T_BENCH_TIMEOUT=3600
}

# Debian 12 stock 6.1 kernel, arm64, TCG; cross-built module and tests.
target_arm64() {
	guest_arch arm64
	T_QEMU_ARGS="-M virt -accel tcg -cpu max,pauth-impdef=on -smp 2"
	# CMA big enough that anonymous pages land in it (they do while CMA's
	# free part exceeds half of all free memory); no movablecore=, so the
	# ZONE_MOVABLE cases skip here and run on amd64.
	T_BOOT_PARAMS="cma=512M"
	T_META_PKG=linux-image-arm64
}

# The debug kernels have vivid built in: the parameters test_dmabuf loads
# the module with elsewhere (instance 0 vb2-vmalloc, 1 vb2-dma-contig,
# capture nodes only)
DEBUG_VIVID_PARAMS="vivid.n_devs=2 vivid.allocators=0,1 vivid.node_types=0x1,0x1"
# What every debug target boots with: no_hash_pointers, as /proc/lockdep
# shows lock class keys as addresses and a test tells pinmem's locks from
# the kernel's by them. The x86-64 debug kernels have no ACPI, so no HPET or
# PM timer: the kernel calibrates the TSC against the PIT alone, which fails
# under TCG on a busy host, and then runs on jiffies (4 ms) as its clock.
# tsc_early_khz= gives the rate (vm-run measures the host's, which TCG's
# guests read), and tsc=reliable keeps the TSC, which the kernel would find
# unsynchronized between TCG's vCPUs (QEMU reads one counter for all).
# The benchmark's boots (T_BENCH_BOOT_PARAMS) take these too.
DEBUG_CLOCK_PARAMS="tsc=reliable tsc_early_khz=@HOST_TSC_KHZ@"
DEBUG_BOOT_PARAMS="no_hash_pointers $DEBUG_CLOCK_PARAMS $DEBUG_VIVID_PARAMS"

# Self-built x86_64 debug kernel (KASAN, lockdep, kmemleak...; see
# scripts/build-debug-kernel, which prints KDIR=... and the bzImage path).
# Slow to build the first time (cached afterwards); not in CHECK_TARGETS_DEFAULT
# unless listed there.
target_debug() {
	target_amd64
	T_NUMA_NODES=1
	T_KERNEL=local
	T_PREPARE="scripts/build-debug-kernel"
	# a small CMA area beside ZONE_MOVABLE: the CMA dma-buf heap
	# (/dev/dma_heap/reserved) exists, for tests that need another CMA user
	T_BOOT_PARAMS="$T_BOOT_PARAMS cma=96M $DEBUG_BOOT_PARAMS"
	T_TIMEOUT=1800
	# KASAN/kmemleak make times and memory meaningless: the bench here is a
	# stress run (big migrations, 10,000 pins) with smaller sizes in the
	# 3 GiB VM of before, not amd64's 8 GiB one; PM_BENCH_* on the command
	# line reach the benchmark's environment
	T_BENCH_MEM=3072
	T_BENCH_BOOT_PARAMS="movablecore=2048M $DEBUG_CLOCK_PARAMS PM_BENCH_SIZES=2,32,256 PM_BENCH_MIG_SIZES=2,32 PM_BENCH_DMABUF_SIZES=2,32 PM_BENCH_SCALE=1,1000,10000 PM_BENCH_REPS=3 PM_BENCH_SMALL_REPS=3"
}

# The x86-64 debug kernel booted like arm64: a 512 MiB CMA area and no
# ZONE_MOVABLE, so the CMA cases (migration out of CMA, the contiguous
# allocation contrast, the CMA fit check) run under KASAN, lockdep and
# kmemleak, and the fault-injection sweeps reach CMA allocations.
# Not in make check: the fail_page_alloc sweep can hang here (a user page
# fault inside the injection window gets VM_FAULT_OOM and is retried for
# ever).
target_debug_cma() {
	target_debug
	# 1.5 GiB: KASAN's shadow and the debug allocators take about 300 MiB
	T_MEM=1536
	T_BOOT_PARAMS="cma=512M $DEBUG_BOOT_PARAMS"
	T_BENCH_BOOT_PARAMS="cma=512M ${T_BENCH_BOOT_PARAMS#movablecore=2048M }"
}

# A debug build of the current kernel, 6.12 from linux-source-6.12 (the one
# in Debian 12 and 13), with the same fragment: KASAN, lockdep, kmemleak and
# fault injection over what 6.1 cannot run (PIN_MEMFD, memfd_pin_folios()),
# booted with ZONE_MOVABLE and a CMA area together.
target_debug612() {
	target_debug
	T_PREPARE="scripts/build-debug-kernel x86_64 6.12"
	# 1.5 GiB, most of it ZONE_MOVABLE: as on the 1 GiB targets, what is
	# outside it cannot take a 520 MiB buffer from it (the fit-check cases)
	T_MEM=1536
	T_BOOT_PARAMS="movablecore=1000M cma=128M $DEBUG_BOOT_PARAMS"
}

# The same debug kernel built for i386 (PAE, HIGHMEM, no KASAN: x86-64
# only): 32-bit unsigned long, pages without a permanent kernel mapping.
# vmalloc=640M leaves about 370 MiB of lowmem (the CMA area is in it; GFP_USER
# migration targets must be too); ZONE_MOVABLE is 800 MiB of HIGHMEM.
target_debug32() {
	target_debug
	guest_arch i386
	# an Intel CPU: with -cpu max (AMD under TCG) 32-bit SMP boots warn
	T_QEMU_ARGS="-accel tcg -cpu max,vendor=GenuineIntel -smp 2"
	T_MEM=1536
	T_PREPARE="scripts/build-debug-kernel i386"
	T_BOOT_PARAMS="vmalloc=640M movablecore=800M cma=64M $DEBUG_BOOT_PARAMS"
	T_BENCH_MEM=1536
	T_BENCH_BOOT_PARAMS="${T_BENCH_BOOT_PARAMS/movablecore=2048M/vmalloc=640M movablecore=800M}"
}

# Debian's 6.12 kernel from bookworm-backports, x86_64 (has /dev/udmabuf;
# no CMA). Its headers want gcc-12 and pahole for module BTF (both in
# HOST_PKGS_VM). Not in make check: amd64_trixie runs the same 6.12 series
# with these two nodes, and install_bookworm builds the module against
# this kernel with DKMS.
target_amd64_612() {
	target_amd64
	debian_kernel bookworm bookworm-backports
}

# Debian 12's 6.1 amd64 kernel as most machines run it: no ZONE_MOVABLE,
# no CMA. Nothing ever has to migrate, so pinmem must never refuse a pin
# for want of memory the kernel itself would fault in (reclaim included).
target_amd64_plain() {
	target_amd64
	T_BOOT_PARAMS=""
}

# Debian's 6.12 arm64 kernel from bookworm-backports, with CMA: a kernel
# without pin_user_pages_fast_only(), where CMA membership must be read off
# the pageblocks. Not in make check: arm64_trixie is the same 6.12 series.
target_arm64_612() {
	target_arm64
	debian_kernel bookworm bookworm-backports
}

# Debian 13 (trixie), its current kernel (trixie-security), x86_64: no CMA,
# ZONE_MOVABLE and two NUMA nodes as on 6.1.
target_amd64_trixie() {
	target_amd64
	debian_kernel trixie
	# q35 with an emulated VT-d in front of the PCI devices: edu's DMA into
	# pinmem's dma-bufs goes through IOVAs the IOMMU translates
	T_QEMU_ARGS="$T_QEMU_ARGS -M q35 -device intel-iommu"
	T_BOOT_PARAMS="$T_BOOT_PARAMS intel_iommu=on"
}

# Debian 13's arm64 kernel, with CMA.
target_arm64_trixie() {
	target_arm64
	debian_kernel trixie
	# an emulated SMMUv3 in front of the PCI devices: edu's DMA into
	# pinmem's dma-bufs goes through IOVAs, as on amd64_trixie's VT-d
	T_QEMU_ARGS="${T_QEMU_ARGS/-M virt/-M virt,iommu=smmuv3}"
}

# Debian 13's arm64 kernel with 16 KiB pages (the arm64-16k flavour; QEMU's
# -cpu max has the 16 KiB granule), with CMA: no page size is 4 KiB here and
# a PMD maps 32 MiB, so a THP is 32 MiB and a pageblock 32 MiB too.
target_arm64_16k() {
	target_arm64_trixie
	T_META_PKG=linux-image-arm64-16k
	# No THP: a long-term pin that migrates a 32 MiB THP out of CMA can
	# hang in the kernel once memory is fragmented: the target THP's
	# direct compaction waits in reclaim_throttle() for ever, as the 2048
	# pages isolated for that very migration exceed too_many_isolated()'s
	# 1/16 of the LRU (an LRU of a few hundred MiB is a few 10,000 pages
	# here). The THP cases skip.
	# 2 GiB, half of it CMA: a long-term pin of a hugetlb page in CMA
	# migrates it to a free 32 MiB block outside, the largest the buddy
	# allocator has; in 1 GiB with 512 MiB of CMA none was left after a
	# few binaries (ENOMEM). Anonymous memory still lands in CMA: its
	# free part is more than half of all that is free.
	T_MEM=2048
	T_BOOT_PARAMS="cma=1024M transparent_hugepage=never"
}

# trixie-backports' 7.x kernel, x86_64: CMA=y with no default area, so
# cma= gives the stock amd64 kernel a CMA area and the CMA cases run here.
target_amd64_bpo() {
	target_amd64
	T_NUMA_NODES=1
	debian_kernel trixie trixie-backports
	# nokaslr: a 512 MiB area in 1 GiB needs the kernel image out of its
	# way; where KASLR put it mid-memory, "cma: Failed to reserve 512 MiB",
	# and the CMA cases fail
	# pm_upstream=all: tests/test_upstream runs the selftests' whole
	# run_vmtests.sh -a gup_test matrix here
	T_BOOT_PARAMS="cma=512M nokaslr pm_upstream=all"
	# that matrix is test_upstream's longest run: near 600 s when the
	# host is busy
	T_TEST_TIMEOUT=1200
	T_TIMEOUT=1800
	# 3 GiB, 2 GiB of it CMA: anonymous pages land in CMA only while its
	# free part exceeds half of all free memory, so not amd64's 8 GiB
	T_BENCH_MEM=3072
	T_BENCH_BOOT_PARAMS="cma=2048M nokaslr"
}

# trixie-backports' 7.x kernel, arm64, with CMA.
target_arm64_bpo() {
	target_arm64
	debian_kernel trixie trixie-backports
}

# Debian 13's 32-bit ARM kernel for LPAE cores (armmp-lpae: CMA, HIGHMEM),
# the hardware of the 2011 CMA seed. 896 MiB, vmalloc=160M: about 850 MiB
# lowmem (the CMA area is in it), the rest HIGHMEM, which anonymous memory
# fills first: small enough that the CMA cases' buffers reach CMA.
target_armhf() {
	guest_arch armhf
	debian_kernel trixie
	T_QEMU_ARGS="-M virt -accel tcg -cpu cortex-a15 -smp 2"
	T_MEM=896
	T_BOOT_PARAMS="vmalloc=160M cma=384M"
	T_META_PKG=linux-image-armmp-lpae
	T_IMAGE_SUFFIX=""
	T_BENCH_MEM=1024
}

# guest_arch DEBARCH: the fields that follow from the guest's Debian
# architecture: kernel ARCH=, cross compilers, QEMU binary, console. Their
# host packages are HOST_PKGS_ARCH[DEBARCH] in scripts/deps.sh.
guest_arch() {
	T_DEBARCH=$1
	T_CROSS_COMPILE=""
	case "$1" in
	amd64) T_KARCH=x86_64 T_QEMU=qemu-system-x86_64 T_CONSOLE=ttyS0 ;;
	# the debug kernel's ARCH=i386 build needs no cross compiler; the
	# static tests do (the i686 one, see HOST_PKGS_ARCH)
	i386) T_KARCH=i386 T_QEMU=qemu-system-i386 T_CONSOLE=ttyS0 ;;
	arm64)
		T_KARCH=arm64 T_CROSS_COMPILE=aarch64-linux-gnu-
		T_QEMU=qemu-system-aarch64 T_CONSOLE=ttyAMA0
		;;
	armhf)
		T_KARCH=arm T_CROSS_COMPILE=arm-linux-gnueabihf-
		T_QEMU=qemu-system-arm T_CONSOLE=ttyAMA0
		;;
	esac
	T_TEST_CC=${T_CROSS_COMPILE}gcc
	[ "$1" != i386 ] || T_TEST_CC=i686-linux-gnu-gcc
}

# debian_kernel RELEASE [SUITE]: the target's kernel is Debian RELEASE's
# (bookworm or trixie), from SUITE if given (its backports, which apt
# prefers for nothing unless asked). trixie's kbuild tools need trixie's
# libc and gcc-14: the module is built in a trixie chroot.
debian_kernel() {
	T_APT_RELEASE=${2:-}
	T_BUILD_CHROOT=""
	case "$1" in
	bookworm) T_APT_SOURCES=$SUITES_BOOKWORM ;;
	trixie) T_APT_SOURCES=$SUITES_TRIXIE T_BUILD_CHROOT=trixie ;;
	esac
}

# targets_args DEFAULT [TARGET...]: set the array targets to the TARGETs
# given, else to the words of DEFAULT (e.g. "$CHECK_TARGETS_DEFAULT")
targets_args() {
	local default=$1
	shift
	if [ "$#" -gt 0 ]; then
		targets=("$@")
	else
		read -ra targets <<<"$default"
	fi
}

targets_list() {
	declare -F | awk '{print $3}' | sed -n 's/^target_//p' | grep -v '^defaults$'
}

# load_target NAME: set T_* for NAME; returns 1 if unknown.
load_target() {
	local name=$1
	declare -F "target_${name}" >/dev/null || return 1
	target_defaults
	"target_${name}"
}

# kbuild_check KDIR: set KCHECK to the make argument that runs sparse on a
# module build against KDIR ("C=2"), and KCHECK_WHAT to what a build with
# it and W=1 checks. 7.x headers' C=2 runs their scripts/checker-valid.sh,
# which Debian's headers packages do not ship (and which wants a sparse
# that knows __typeof_unqual__; Debian's 0.6.4 does not): there KCHECK is
# "C=0", KCHECK_WHAT "W=1", and KCHECK_SKIP says why.
kbuild_check() {
	local common
	KCHECK=C=2 KCHECK_WHAT="sparse (C=2) and W=1" KCHECK_SKIP=""
	# (none for a kernel's own build tree)
	common=$(grep -o '/[^ ]*linux-headers-[^ /]*-common' "$1/Makefile" | head -n1) || true
	if [ -n "$common" ] && grep -q checker-valid "$common/Makefile" 2>/dev/null &&
		[ ! -e "$common/scripts/checker-valid.sh" ]; then
		KCHECK=C=0 KCHECK_WHAT="W=1"
		KCHECK_SKIP="${common##*/} has no scripts/checker-valid.sh, which C=2 runs"
	fi
}
