#!/usr/bin/env bash
# test_overflow.sh - a green thread that overflows its stack dies of SIGSEGV,
# as a native thread does; with GREENRUN_DEBUG=1 greenrun names it first.
set -u
ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) || exit 2
PROG=$ROOT/build/progs/overflow
# shellcheck source=tests/integration/tap.sh
. "$ROOT/tests/integration/tap.sh"
gr_traps
gr_tmpdir || exit 2

# status CMD...: the exit status of CMD, bounded, stderr kept in $GR_TMP/err.
status() {
	(timeout -k 5 30 "$@" >/dev/null 2>"$GR_TMP/err"; echo $? >"$GR_TMP/rc") 2>/dev/null
	cat "$GR_TMP/rc"
}

check "native: the thread dies of SIGSEGV (139)" [ "$(status "$PROG")" = 139 ]
check "greenrun: the thread dies of SIGSEGV (139)" [ "$(status "$ROOT/scripts/greenrun" "$PROG")" = 139 ]
check "greenrun, GREENRUN_DEBUG=1: still SIGSEGV (139)" \
	[ "$(status env GREENRUN_DEBUG=1 "$ROOT/scripts/greenrun" "$PROG")" = 139 ]
check "greenrun, GREENRUN_DEBUG=1: names the thread" \
	grep -q 'stack overflow in green thread [0-9]* (deep)' "$GR_TMP/err"
tap_end
