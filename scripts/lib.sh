# shellcheck shell=bash
# shellcheck disable=SC2034  # the globals set here are read by the callers
# lib.sh - shell helpers shared by scripts/demo.sh and the integration tests.
#
# Source it from bash:   . "$ROOT/scripts/lib.sh"
#
# It starts the echo server and the load generator in the background,
# samples the server's /proc/PID/status while the load runs, and stops
# everything it started, by PID, when the caller exits.  Every wait is
# bounded.  Callers should install the cleanup traps right after sourcing:
#
#   gr_traps
#
# Functions report through global variables (bash cannot return several
# values); each function documents the ones it sets.

# PIDs started by these helpers and not yet stopped.
GR_PIDS=()
# Scratch directory for server and loadgen output, removed by gr_cleanup.
GR_TMP=''
# Upper bound, in seconds, for one loadgen run (loadgen has its own -t).
GR_LOAD_LIMIT=${GR_LOAD_LIMIT:-240}

gr_tmpdir() {
	if [[ -z $GR_TMP ]]; then
		GR_TMP=$(mktemp -d "${TMPDIR:-/tmp}/greenrun.XXXXXX") || return 1
	fi
}

gr_forget_pid() {
	local pid=$1 i
	for i in "${!GR_PIDS[@]}"; do
		[[ ${GR_PIDS[i]} == "$pid" ]] && unset 'GR_PIDS[i]'
	done
}

# gr_stop_pid PID: SIGTERM, then SIGKILL if still alive after 5 s; reaps it.
gr_stop_pid() {
	local pid=$1 i
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	gr_forget_pid "$pid"
}

# gr_cleanup: stop everything started here and remove the scratch files.
gr_cleanup() {
	local pid
	for pid in "${GR_PIDS[@]}"; do
		gr_stop_pid "$pid"
	done
	[[ -n $GR_TMP ]] && rm -rf -- "$GR_TMP"
	GR_TMP=''
}

# gr_traps: gr_cleanup on exit, and an exit (130, 143) on SIGINT and SIGTERM,
# so that the EXIT trap runs then too.
gr_traps() {
	trap gr_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# gr_wait_exit PID TENTHS: waits up to TENTHS tenths of a second for PID
# (started here) to exit, and reaps it.  Sets EXIT_RC (its status) and
# EXIT_TENTHS (the tenths it took); returns 1, both empty, if PID still
# runs (then the caller stops it: gr_stop_pid).
gr_wait_exit() {
	local pid=$1 i
	EXIT_RC='' EXIT_TENTHS=''
	for ((i = 0; i <= $2; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			EXIT_RC=$? EXIT_TENTHS=$i
			gr_forget_pid "$pid"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# gr_status PID: reads /proc/PID/status.
# Sets ST_THREADS (count) and ST_RSS_KB; both empty if PID is gone.
gr_status() {
	local key value rest
	ST_THREADS='' ST_RSS_KB=''
	[[ -r /proc/$1/status ]] || return 1
	while read -r key value rest; do
		case $key in
		Threads:) ST_THREADS=$value ;;
		VmRSS:) ST_RSS_KB=$value ;;
		esac
	done 2>/dev/null <"/proc/$1/status"
	[[ -n $ST_THREADS ]]
}

# gr_exe PID: prints the path of the program PID is running.
gr_exe() {
	readlink "/proc/$1/exe" 2>/dev/null
}

# gr_kv FILE KEY: prints the value of the first KEY=value line of FILE.
gr_kv() {
	local line
	while IFS= read -r line; do
		if [[ $line == "$2="* ]]; then
			printf '%s\n' "${line#*=}"
			return 0
		fi
	done <"$1"
	return 1
}

# gr_start_server NAME CMD...: runs CMD in the background and waits up to
# 10 s for its "listening on PORT" line.  The command must exec the server
# (greenrun does) so that its PID is the server's.
# Sets SERVER_PID, SERVER_PORT, SERVER_OUT, SERVER_ERR.  On failure prints
# why on stderr, stops the command and returns 1.
gr_start_server() {
	local name=$1 line i
	shift
	gr_tmpdir || return 1
	SERVER_OUT=$GR_TMP/$name.server.out SERVER_ERR=$GR_TMP/$name.server.err
	SERVER_PORT=''
	"$@" >"$SERVER_OUT" 2>"$SERVER_ERR" </dev/null &
	SERVER_PID=$!
	GR_PIDS+=("$SERVER_PID")
	for ((i = 0; i < 100; i++)); do
		line=$(grep -m1 -E '^listening on [0-9]+$' "$SERVER_OUT")
		if [[ -n $line ]]; then
			SERVER_PORT=${line##* }
			return 0
		fi
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SERVER_PID" 2>/dev/null; then
		echo "$name: server printed no port within 10 s" >&2
	else
		echo "$name: server exited before printing its port" >&2
	fi
	sed "s/^/$name: server: /" "$SERVER_ERR" >&2
	gr_stop_pid "$SERVER_PID"
	return 1
}

# gr_run_load NAME SERVER_PID CMD...: runs the loadgen command CMD (which
# should use -H, so that it prints "holding N connections" and keeps them
# open), sampling SERVER_PID's status every 0.2 s until CMD exits.
# Sets LOAD_RC (CMD's exit status; 124 if it overran GR_LOAD_LIMIT),
# LOAD_OUT (its stdout: key=value lines), LOAD_ERR, HOLD_THREADS and
# HOLD_RSS_KB (maxima while all connections were held; empty if never
# seen), PEAK_THREADS and PEAK_RSS_KB (maxima over the whole run).
gr_run_load() {
	local name=$1 spid=$2 lpid deadline held
	shift 2
	gr_tmpdir || return 1
	LOAD_OUT=$GR_TMP/$name.load.out LOAD_ERR=$GR_TMP/$name.load.err
	HOLD_THREADS='' HOLD_RSS_KB='' PEAK_THREADS='' PEAK_RSS_KB=''
	"$@" >"$LOAD_OUT" 2>"$LOAD_ERR" </dev/null &
	lpid=$!
	GR_PIDS+=("$lpid")
	deadline=$((SECONDS + GR_LOAD_LIMIT))
	while kill -0 "$lpid" 2>/dev/null; do
		# Holding = "holding" printed and the results not yet; checking
		# before and after the read brackets the sample inside the hold.
		held=0
		grep -q '^holding ' "$LOAD_OUT" && held=1
		if gr_status "$spid"; then
			grep -q '^connections=' "$LOAD_OUT" && held=0
			gr_max PEAK_THREADS "$ST_THREADS"
			gr_max PEAK_RSS_KB "$ST_RSS_KB"
			if ((held)); then
				gr_max HOLD_THREADS "$ST_THREADS"
				gr_max HOLD_RSS_KB "$ST_RSS_KB"
			fi
		fi
		if ((SECONDS >= deadline)); then
			echo "$name: loadgen still running after ${GR_LOAD_LIMIT} s, stopping it" >&2
			gr_stop_pid "$lpid"
			LOAD_RC=124
			return 0
		fi
		sleep 0.2
	done
	wait "$lpid"
	LOAD_RC=$?
	gr_forget_pid "$lpid"
}

# gr_max VAR VALUE: VAR = max(VAR, VALUE), treating empty as unset.
gr_max() {
	local -n ref=$1
	[[ -n $2 ]] || return 0
	if [[ -z $ref ]] || (($2 > ref)); then
		ref=$2
	fi
}

# gr_min VAR VALUE: VAR = min(VAR, VALUE), treating empty as unset.
gr_min() {
	local -n ref=$1
	[[ -n $2 ]] || return 0
	if [[ -z $ref ]] || (($2 < ref)); then
		ref=$2
	fi
}
