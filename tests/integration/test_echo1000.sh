#!/usr/bin/env bash
# test_echo1000.sh - 1000 concurrent clients against an unmodified
# thread-per-connection echo server run under greenrun.
#
# Under greenrun the server must serve 1000 connections x 20 messages with
# no errors while staying on exactly one OS thread (checked in
# /proc/PID/status while loadgen holds every connection open).  The same
# server run natively must also succeed and show more than 1000 threads,
# which proves the thread check measures what it claims to.
#
# Output is TAP-like ("ok - ..." / "not ok - ..."); the exit status is
# non-zero if any check failed.  Needs the binaries built by `make`.
set -u -o pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) || exit 2
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
trap gr_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

CONNS=1000
MSGS=20
SERVER=$ROOT/build/progs/echo_server
LOADGEN=$ROOT/build/progs/loadgen
# Loadgen gives up by itself well before lib.sh's own bound.
LOADGEN_TIMEOUT=90
GR_LOAD_LIMIT=150

# shellcheck source=tests/integration/tap.sh
. "$ROOT/tests/integration/tap.sh"

# Shows what went wrong on failure, as TAP comments.
show_logs() {
	local f
	for f in "$SERVER_ERR" "$LOAD_ERR"; do
		[[ -s $f ]] && sed "s/^/# ${f##*/}: /" "$f" | head -20
	done
}

# run_load MODE: loadgen against the running server; sets the LG_* results.
run_load() {
	gr_run_load "$1" "$SERVER_PID" "$LOADGEN" -p "$SERVER_PORT" \
		-c "$CONNS" -n "$MSGS" -H 2 -t "$LOADGEN_TIMEOUT"
	LG_ERRORS=$(gr_kv "$LOAD_OUT" errors)
	LG_CONNS=$(gr_kv "$LOAD_OUT" connections)
	LG_REQUESTS=$(gr_kv "$LOAD_OUT" requests)
	echo "# $1: $(tr '\n' ' ' <"$LOAD_OUT")"
	echo "# $1: server threads while holding: ${HOLD_THREADS:-n/a}," \
		"RSS ${HOLD_RSS_KB:-n/a} kB"
}

test_greenrun() {
	local before=$TAP_FAILED
	if ! gr_start_server greenrun "$ROOT/scripts/greenrun" "$SERVER" 0; then
		check "greenrun: server starts and prints its port" false
		return
	fi
	check "greenrun: server starts and prints its port" true
	# The thread check is only meaningful on the server process itself.
	check "greenrun: server PID runs echo_server" \
		eq "$(gr_exe "$SERVER_PID")" "$(readlink -f "$SERVER")"
	run_load greenrun
	check "greenrun: loadgen exits 0" eq "$LOAD_RC" 0
	check "greenrun: errors=0" eq "$LG_ERRORS" 0
	check "greenrun: connections=$CONNS" eq "$LG_CONNS" "$CONNS"
	check "greenrun: requests=$((CONNS * MSGS))" \
		eq "$LG_REQUESTS" "$((CONNS * MSGS))"
	check "greenrun: Threads: 1 while holding $CONNS connections" \
		eq "$HOLD_THREADS" 1
	check "greenrun: server still running after the load" \
		kill -0 "$SERVER_PID"
	((TAP_FAILED > before)) && show_logs
	gr_stop_pid "$SERVER_PID"
}

test_native() {
	local before=$TAP_FAILED
	if ! gr_start_server native "$SERVER" 0; then
		check "native: server starts and prints its port" false
		return
	fi
	check "native: server starts and prints its port" true
	run_load native
	check "native: errors=0" eq "$LG_ERRORS" 0
	check "native: Threads > $CONNS while holding $CONNS connections" \
		gt "$HOLD_THREADS" "$CONNS"
	((TAP_FAILED > before)) && show_logs
	gr_stop_pid "$SERVER_PID"
}

main() {
	tap_require "$SERVER" "$LOADGEN" "$ROOT/scripts/greenrun" "$ROOT/build/libgreenrun.so"
	test_greenrun
	test_native
	tap_end
}

main
