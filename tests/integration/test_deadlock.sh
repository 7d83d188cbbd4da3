#!/usr/bin/env bash
# test_deadlock.sh - greenrun reports a deadlock instead of hanging.
#
# build/progs/deadlock has two threads lock two mutexes in opposite orders
# (with a sleep in between, so the deadlock is certain) while main joins them.
# Under greenrun, once every green thread waits on another one and nothing
# from outside (an fd, a deadline) can wake any of them, the runtime must say
# so on stderr, naming the waits, and exit with status 3. The program's
# buffered stdout must still be written.
#
# The program is NOT run natively: it would hang for ever. `timeout 20`
# bounds the greenrun run in case the detection fails.
#
# Builds nothing: run `make` first. Output is TAP-like; the exit status is
# non-zero if any check failed.
set -u -o pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) || exit 2
GREENRUN=$ROOT/scripts/greenrun
PROG=$ROOT/build/progs/deadlock

# shellcheck source=tests/integration/tap.sh
. "$ROOT/tests/integration/tap.sh"
gr_traps
gr_tmpdir || exit 2

# at_least N PATTERN FILE: PATTERN matches at least N lines of FILE.
at_least() { (($(grep -c -- "$2" "$3") >= $1)); }

main() {
	local rc
	tap_require "$PROG" "$GREENRUN" "$ROOT/build/libgreenrun.so"
	# stdout goes to a file: fully buffered, so only a flush at the report
	# gets the program's first line out.
	timeout -k 5 20 "$GREENRUN" "$PROG" </dev/null >"$GR_TMP/out" 2>"$GR_TMP/err"
	rc=$?
	check "deadlock: exit status 3 under greenrun (got $rc)" eq "$rc" 3
	check "deadlock: stderr says deadlock" grep -q deadlock "$GR_TMP/err"
	check "deadlock: stderr names both threads' mutex waits" at_least 2 mutex "$GR_TMP/err"
	check "deadlock: stderr names main's wait in pthread_join" grep -q join "$GR_TMP/err"
	check "deadlock: stdout written before the report is not lost" \
		grep -q '^starting two threads' "$GR_TMP/out"
	if ((TAP_FAILED)); then
		sed 's/^/# stderr: /' "$GR_TMP/err" | head -20
		sed 's/^/# stdout: /' "$GR_TMP/out" | head -5
	fi
	tap_end
}

main
