#!/bin/busybox sh
# shellcheck shell=dash  # busybox ash: checked as dash, the nearest shellcheck knows
# pinmem guest /init (busybox initramfs).  Installed as /init by scripts/vm-run.
# Kernel cmdline (unknown key=value params become env vars of init; we also
# parse /proc/cmdline):
#   pm_mode=test|demo|shell|bench   pm_ttimeout=SECS (per test binary, 0 = none)
#   pm_args=A,B,...   arguments for every test binary (vm-run's PINMEM_ARGS,
#                     its spaces as commas)
#   (bench: PM_BENCH_*=... params reach /tests/bench as environment variables)
# Output protocol (parsed by scripts/vm-run): lines starting with "@@PINMEM ".

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp /run
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin:/tests

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# The initramfs has no /dev/console node; reopen stdio on it now.
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /dev/shm 2>/dev/null
mount -t tmpfs tmpfs /tmp 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null ||
	echo "@@PINMEM warn debugfs mount failed"
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null

# shellcheck disable=SC2013
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	pm_mode=*) pm_mode=${arg#pm_mode=} ;;
	pm_ttimeout=*) pm_ttimeout=${arg#pm_ttimeout=} ;;
	pm_args=*) pm_args=$(echo "${arg#pm_args=}" | tr , ' ') ;;
	esac
done
pm_mode=${pm_mode:-test}
pm_ttimeout=${pm_ttimeout:-0}

KMEMLEAK=/sys/kernel/debug/kmemleak
finish() {
	if [ -w "$KMEMLEAK" ]; then
		# report leaks since the tests started (vm-run flags "unreferenced object")
		echo scan >"$KMEMLEAK"; sleep 1; echo scan >"$KMEMLEAK"
		echo "@@PINMEM kmemleak-begin"
		cat "$KMEMLEAK"
		echo "@@PINMEM kmemleak-end"
	fi
	echo "@@PINMEM dmesg-begin"
	dmesg
	echo "@@PINMEM dmesg-end"
	echo "@@PINMEM end"
	sync
	# QEMU runs with -no-reboot: a reboot ends it, on every kernel and
	# architecture (a power-off needs ACPI on x86)
	reboot -f
	sleep 10
	echo b >/proc/sysrq-trigger
}

echo "@@PINMEM boot kernel=$(uname -r) mode=$pm_mode"

# Dependencies of pinmem.ko taken from the kernel's own modules, in load order.
for m in /lib/modules/deps/*.ko; do
	[ -e "$m" ] || continue
	insmod "$m" || echo "@@PINMEM warn insmod dependency $m failed"
done

# Modules the tests use (scripts/vm-run: loop, ext4), when not built in.
for m in /lib/modules/extra/*.ko*; do
	[ -e "$m" ] || continue
	insmod "$m" 2>/dev/null || echo "@@PINMEM warn insmod $m failed"
done

# debug kernels: forget boot-time kmemleak reports, only report ours
[ -w "$KMEMLEAK" ] && echo clear >"$KMEMLEAK"

export PINMEM_KO=/lib/modules/pinmem.ko
if insmod "$PINMEM_KO"; then
	echo "@@PINMEM insmod-ok"
else
	echo "@@PINMEM insmod-fail rc=$? ($PINMEM_KO)"
fi

run_one() { # run_one PROG [ARG...]: run with the per-test timeout
	if [ "$pm_ttimeout" -gt 0 ] 2>/dev/null; then
		timeout -s KILL "$pm_ttimeout" "$@"
	else
		"$@"
	fi
}

case "$pm_mode" in
test)
	echo "@@PINMEM tests-begin"
	rcs=""
	for t in /tests/test_*; do # glob order is sorted
		[ -x "$t" ] || continue
		t=${t#/tests/}
		echo "@@PINMEM test-begin $t"
		read -r t0 _ </proc/uptime
		# shellcheck disable=SC2086 # pm_args: one word per argument
		(cd /tmp && run_one "/tests/$t" $pm_args)
		rc=$?
		read -r t1 _ </proc/uptime
		echo ""
		# the binary's time in the guest: what a target's run is spent on
		echo "@@PINMEM test-end $t secs=$((${t1%.*} - ${t0%.*})) rc=$rc"
		rcs="$rcs $t=$rc"
	done
	echo "@@PINMEM tests-end$rcs"
	;;
demo)
	echo "@@PINMEM demo-begin"
	(cd /tmp && run_one /tests/pinmem-demo)
	rc=$?
	echo ""
	echo "@@PINMEM demo-end rc=$rc"
	;;
bench)
	echo "@@PINMEM bench-begin"
	(cd /tmp && run_one /tests/bench)
	rc=$?
	echo ""
	echo "@@PINMEM bench-end rc=$rc"
	;;
shell)
	echo "@@PINMEM shell (exit to end the VM)"
	setsid cttyhack sh
	;;
*)
	echo "@@PINMEM unknown pm_mode=$pm_mode"
	;;
esac

finish
