#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The kernel's own long-term-pinning selftests (tools/testing/selftests/mm
# of the newest linux-source Debian ships: cow, gup_longterm, gup_test;
# built by scripts/build-selftests into /tests/upstream) against pinmem:
# pinmem (its test build, PINMEM_TEST=1) is reloaded with gup_test=1, so
# /sys/kernel/debug/gup_test is pinmem's (tests/kmod/gup_test.c; bind-mounted over
# the kernel's own where the kernel has CONFIG_GUP_TEST, as the debug
# kernels do), and the selftests' long-term pins are pinmem's PIN, ACCESS
# and UNPIN.
#
# Runs what run_vmtests.sh runs for them (pm_upstream=all on the kernel
# command line: its -a matrix of gup_test too), as one TAP stream: each
# upstream result renumbered and prefixed with its binary and arguments.
# Known upstream failures on a kernel (the table below, also in
# docs/testing.rst) are reported as TODO with the reason; anything else that fails
# is a failure.
U=/tests/upstream
G=/sys/kernel/debug/gup_test
PD=/sys/kernel/debug/pinmem
KREL=$(uname -r)
n=0

echo "TAP version 13"
if [ ! -x "$U/cow" ]; then
	echo "1..0 # SKIP the kernel's mm selftests were not built for this target"
	exit 0
fi
echo "# $(cat "$U/VERSION" 2>/dev/null), kernel $KREL"

fail() {	# fail DESCRIPTION
	n=$((n + 1))
	echo "not ok $n - $*"
}

# Does the machine have memory a long-term pin must migrate out of?
unpinnable=0
awk '$1 == "Node" && $4 == "Movable" {m = 1; next} $1 == "Node" {m = 0}
	m && $1 == "present" && $2 > 0 {found = 1}
	END {exit !found}' /proc/zoneinfo && unpinnable=1
[ "$(awk '$1 == "CmaTotal:" {print $2}' /proc/meminfo)" -gt 0 ] 2>/dev/null && unpinnable=1

# known KREL NAME DESCRIPTION PREVIOUS-LINE: why this failure is expected
# (docs/testing.rst, "Expected failures"), or nothing. A
# cow case only when it failed the way the table says: START refused with
# EFAULT (gup_longterm says nothing before its result).
known() {
	case "$2" in
	cow) case "$4" in *"PIN_LONGTERM_TEST_START failed: Bad address"*) ;; *) return ;; esac ;;
	esac
	case "$1|$2|$3" in
	6.1.*"|cow|"*hugetlb* | 6.1.*"|gup_longterm|"*hugetlb*)
		# only where huge pages come from ZONE_MOVABLE or CMA
		[ "$unpinnable" = 1 ] &&
			echo "6.1's GUP cannot migrate a huge page out of ZONE_MOVABLE or CMA for a long-term pin (follow_hugetlb_page() WARNs and fails; 6.5's GUP rework lifted it): pinmem refuses the pin, EFAULT here"
		;;
	*"|cow|R/O longterm GUP"*" pin ... with memfd hugetlb"*)
		[ "$unpinnable" = 1 ] &&
			echo "a huge page of a private hugetlb memfd mapping in ZONE_MOVABLE or CMA is not pinned long-term: the kernel's own gup_test fails this case the same way on 6.12.117 (debug612, CONFIG_GUP_TEST=y); on 7.3 not measured against the kernel's (Debian's 7.3 has no CONFIG_GUP_TEST), whose long-term-pin migration path reads as 6.12's"
		;;
	esac
}

# run NAME CMD...: one upstream binary, its KTAP renumbered into ours
run() {
	name=$1
	shift
	"$@" >/tmp/upstream.out 2>&1
	rc=$?
	fails=0 todo=0 prev=""
	while IFS= read -r line; do
		case "$line" in
		"ok "* | "not ok "*)
			res=ok
			case "$line" in "not ok "*) res="not ok" ;; esac
			rest=${line#"$res" }
			rest=${rest#* }
			n=$((n + 1))
			if [ "$res" = "not ok" ]; then
				why=$(known "$KREL" "$name" "$rest" "$prev")
				if [ -n "$why" ]; then
					echo "not ok $n - $name: $rest # TODO known upstream failure on $KREL: $why"
					todo=$((todo + 1))
					continue
				fi
				fails=$((fails + 1))
			fi
			echo "$res $n - $name: $rest"
			;;
		"TAP version"* | "1.."*) ;;
		"#"*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
		prev=$line
	done </tmp/upstream.out
	# kselftest exit codes: 0 pass, 1 fail (reported above), 4 skip
	case "$rc" in
	0 | 4) ;;
	1) [ $((fails + todo)) -gt 0 ] || fail "$name: exited with status 1 and no failed case" ;;
	*) fail "$name: exited with status $rc" ;;
	esac
}

# pinmem with its gup_test
rmmod pinmem || { echo "Bail out! cannot unload pinmem to reload it with gup_test=1"; exit 1; }
if ! insmod "${PINMEM_KO:-/lib/modules/pinmem.ko}" gup_test=1; then
	echo "Bail out! insmod pinmem gup_test=1 failed (gup_test is only in the test build, PINMEM_TEST=1)"
	exit 1
fi
own=0
if grep -qw pm_upstream=kernel /proc/cmdline; then
	# for comparing, by hand (PINMEM_APPEND=pm_upstream=kernel): the
	# kernel's own gup_test, where it has one
	echo "# pm_upstream=kernel: the kernel's own $G, not pinmem's"
elif [ -e "$G" ] &&
	dmesg | grep -q "pinmem: gup_test: the kernel has its own"; then
	mount --bind "$PD/gup_test" "$G" || { echo "Bail out! cannot bind-mount $PD/gup_test over $G"; exit 1; }
	own=1
	echo "# the kernel has its own $G (CONFIG_GUP_TEST): pinmem's is bind-mounted over it"
fi
pins_before=$(awk '$1 == "total_pins" {print $2}' "$PD/stats")

# some huge pages for the hugetlb cases (gup_test -H reserves its own):
# 32 MiB of them, at least 4. Not a count alone: with 16 KiB base pages a
# huge page is 32 MiB, and 16 of them took half the guest, leaving no
# room outside CMA for the page a long-term pin migrates one to (ENOMEM).
hp=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
hp_kb=$(awk '$1 == "Hugepagesize:" {print $2}' /proc/meminfo)
nr_hp=$((32768 / ${hp_kb:-2048}))
[ "$nr_hp" -ge 4 ] || nr_hp=4
[ -w /proc/sys/vm/nr_hugepages ] && echo "$nr_hp" >/proc/sys/vm/nr_hugepages

run cow "$U/cow"
run gup_longterm "$U/gup_longterm"
if grep -qw pm_upstream=all /proc/cmdline; then
	# run_vmtests.sh -a: run_gup_matrix, every combination, on smaller
	# buffers than its 128 MiB (256 MiB of hugetlb): under TCG the 240
	# runs spent their time faulting in and migrating the buffers. 32 MiB
	# is still many batches of each -n and 16 huge pages of either kind.
	for huge in "-t -m 32" "-T -m 32" "-H -m 32"; do
		for cmd in -u -U -a -b -L; do
			for write in -w -W; do
				for share in -S ""; do
					for num in "-n 1" "-n 512" "-n 123" "-n -1"; do
						# shellcheck disable=SC2086 # word lists
						run "gup_test $huge $cmd $write $share $num" \
							"$U/gup_test" $huge $cmd $write $share $num
					done
				done
			done
		done
	done
else
	for a in "-u -n 1" "-u -n -1" "-a -n 1" "-a -n -1"; do
		# shellcheck disable=SC2086
		run "gup_test $a" "$U/gup_test" $a
	done
fi
run "gup_test -ct -F 0x1 0 19 0x1000" "$U/gup_test" -ct -F 0x1 0 19 0x1000

[ -w /proc/sys/vm/nr_hugepages ] && echo "$hp" >/proc/sys/vm/nr_hugepages

# the pins were pinmem's
pins_after=$(awk '$1 == "total_pins" {print $2}' "$PD/stats")
n=$((n + 1))
if [ "${pins_after:-0}" -gt "${pins_before:-0}" ]; then
	echo "ok $n - the selftests' long-term pins went through pinmem ($((pins_after - pins_before)) pins)"
else
	echo "not ok $n - the selftests' long-term pins went through pinmem (total_pins ${pins_before:-?} -> ${pins_after:-?})"
fi

[ "$own" = 1 ] && umount "$G"
if ! rmmod pinmem || ! insmod "${PINMEM_KO:-/lib/modules/pinmem.ko}"; then
	fail "reloading pinmem without gup_test"
fi
echo "1..$n"
