# shellcheck shell=bash
# The check scripts' results, one TAP-style line each, and their closing
# "N passed, N failed[, N skipped]" line. Sourced; the sourcing script sets
# TAP_NAME (the word after "ok - ") and, to keep only the last lines of a
# failure's output, TAP_TAIL. With TAP_TIMES set, each result is followed
# by a comment with the seconds since the one before (or since the script
# started), so that a slow check shows where its time goes.

pass=0 fail=0 skip=0 tap_last=$SECONDS
tap_time() {
	[ -z "${TAP_TIMES:-}" ] || echo "# $((SECONDS - tap_last)) s"
	tap_last=$SECONDS
}

# result NAME RC [OUTPUT]: ok if RC is 0; a failure's OUTPUT follows as
# comments
result() {
	if [ "$2" = 0 ]; then
		echo "ok - $TAP_NAME: $1"
		pass=$((pass + 1))
	else
		echo "not ok - $TAP_NAME: $1"
		[ -z "${3:-}" ] || printf '%s\n' "$3" | tail -n "${TAP_TAIL:-+1}" | sed 's/^/# /'
		fail=$((fail + 1))
	fi
	tap_time
}

# skipped WHAT-AND-WHY
skipped() {
	echo "ok - $TAP_NAME: # SKIP $1"
	skip=$((skip + 1))
	tap_time
}

# note LINE...: comment lines
note() { printf '%s\n' "$@" | sed 's/^/# /'; }

# summary_line PASSED FAILED [SKIPPED]: the closing line; its status is
# non-zero iff FAILED is
summary_line() {
	if [ "${3:-0}" -gt 0 ]; then
		echo "$1 passed, $2 failed, $3 skipped"
	else
		echo "$1 passed, $2 failed"
	fi
	[ "$2" -eq 0 ]
}

# finish: the closing line of this script's results, and exit with its status
finish() {
	summary_line "$pass" "$fail" "$skip"
	exit
}
