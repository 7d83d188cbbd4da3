#!/usr/bin/env bash
# demo.sh - show greenrun turning a thread-per-connection server into one
# OS thread.
#
# Usage: scripts/demo.sh [CONNECTIONS] [MESSAGES]
#        (defaults: $DEMO_CONNECTIONS or 1000, $DEMO_MESSAGES or 100)
#
# Runs the same unmodified echo server twice, once under scripts/greenrun
# and once natively, drives it with loadgen (CONNECTIONS concurrent clients
# exchanging MESSAGES ping-pong messages each, then holding the connections
# open for 2 s) and prints the results side by side, including the server's
# OS thread count and RSS while it holds every connection.
#
# Exits non-zero only if the greenrun run failed (errors, unfinished
# connections, or more than one OS thread); the native run is there for
# comparison and its problems are only reported.
#
# Needs build/progs/echo_server, build/progs/loadgen, build/libgreenrun.so
# and scripts/greenrun (`make` builds them).
set -u -o pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || exit 2
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
gr_traps

CONNS=${1:-${DEMO_CONNECTIONS:-1000}}
MSGS=${2:-${DEMO_MESSAGES:-100}}
HOLD=2

declare -A R    # R[mode,key]: loadgen results plus server samples

usage() {
	echo "usage: scripts/demo.sh [CONNECTIONS] [MESSAGES]" >&2
	exit 2
}

check_setup() {
	local f
	[[ $CONNS =~ ^[1-9][0-9]*$ && $MSGS =~ ^[1-9][0-9]*$ ]] || usage
	for f in build/progs/echo_server build/progs/loadgen \
		build/libgreenrun.so scripts/greenrun; do
		if [[ ! -e $ROOT/$f ]]; then
			echo "demo: $f is missing (run make first)" >&2
			exit 2
		fi
	done
}

# run_mode MODE SERVER-COMMAND...: one server + loadgen run into R[MODE,*].
run_mode() {
	local mode=$1 key value
	shift
	R[$mode,status]="server failed to start"
	echo "demo: $mode: starting $*" >&2
	gr_start_server "$mode" "$@" || return 0

	gr_run_load "$mode" "$SERVER_PID" build/progs/loadgen -p "$SERVER_PORT" \
		-c "$CONNS" -n "$MSGS" -H "$HOLD"
	while IFS='=' read -r key value; do
		[[ -n $value ]] && R[$mode,$key]=$value
	done < <(grep -E '^[a-z0-9_]+=' "$LOAD_OUT")
	R[$mode,hold_threads]=$HOLD_THREADS
	R[$mode,hold_rss]=$HOLD_RSS_KB
	R[$mode,peak_threads]=$PEAK_THREADS
	R[$mode,peak_rss]=$PEAK_RSS_KB
	R[$mode,rc]=$LOAD_RC
	if ((LOAD_RC == 0)); then
		R[$mode,status]=ok
	else
		R[$mode,status]="loadgen failed (exit $LOAD_RC)"
		sed "s/^/demo: $mode: /" "$LOAD_ERR" | head -5 >&2
	fi
	if ! kill -0 "$SERVER_PID" 2>/dev/null; then
		R[$mode,status]="server died"
		sed "s/^/demo: $mode: server: /" "$SERVER_ERR" | head -5 >&2
	fi
	gr_stop_pid "$SERVER_PID"
}

# Formatting helpers: print "n/a" for values that were never measured.
fmt_plain() { printf '%s' "${1:-n/a}"; }

fmt_us() {
	[[ -n ${1:-} ]] || { printf 'n/a'; return; }
	awk -v us="$1" 'BEGIN {
		if (us >= 1000) printf "%.1f ms", us / 1000
		else printf "%.1f us", us }'
}

fmt_kb() {
	[[ -n ${1:-} ]] || { printf 'n/a'; return; }
	awk -v kb="$1" 'BEGIN { printf "%.1f MiB", kb / 1024 }'
}

row() {
	local label=$1 fmt=$2 key=$3
	printf '%-32s %20s %20s\n' "$label" \
		"$("$fmt" "${R[greenrun,$key]:-}")" "$("$fmt" "${R[native,$key]:-}")"
}

print_table() {
	echo
	echo "echo server, $CONNS connections x $MSGS messages of 64 bytes"
	printf '%-32s %20s %20s\n' "" "greenrun" "native threads"
	row "connections" fmt_plain connections
	row "errors" fmt_plain errors
	row "requests" fmt_plain requests
	row "requests/s" fmt_plain rps
	row "p50 latency" fmt_us p50_us
	row "p99 latency" fmt_us p99_us
	row "server OS threads (holding)" fmt_plain hold_threads
	row "server RSS (holding)" fmt_kb hold_rss
	row "server OS threads (peak)" fmt_plain peak_threads
	row "server RSS (peak)" fmt_kb peak_rss
	row "run" fmt_plain status
	echo
}

# Prints the verdict line; returns 1 if the greenrun run had problems.
verdict() {
	local problems=()
	[[ ${R[greenrun,status]} == ok ]] || problems+=("${R[greenrun,status]}")
	[[ ${R[greenrun,errors]:-} == 0 ]] ||
		problems+=("${R[greenrun,errors]:-unknown} errors")
	[[ ${R[greenrun,connections]:-} == "$CONNS" ]] ||
		problems+=("${R[greenrun,connections]:-0} of $CONNS connections")
	[[ ${R[greenrun,hold_threads]:-} == 1 ]] ||
		problems+=("${R[greenrun,hold_threads]:-unknown} OS threads")
	if ((${#problems[@]} == 0)); then
		echo "greenrun: $CONNS connections on 1 OS thread, 0 errors"
		return 0
	fi
	local msg
	printf -v msg '%s; ' "${problems[@]}"
	echo "greenrun: FAILED: ${msg%; }"
	return 1
}

main() {
	check_setup
	cd "$ROOT" || exit 2
	run_mode greenrun scripts/greenrun build/progs/echo_server 0
	run_mode native build/progs/echo_server 0
	print_table
	verdict
}

main
