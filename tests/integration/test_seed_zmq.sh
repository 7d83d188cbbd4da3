#!/usr/bin/env bash
# test_seed_zmq.sh - the seed's ZeroMQ example (REQ/REP in two threads),
# natively and under greenrun.
#
# build/progs/seed_zmq runs a REQ and a REP socket of one libzmq context in
# two threads over tcp://127.0.0.1, nine round trips, and says at round 5
# whether the process has one OS thread. Checked:
#   - natively: exits 0, the nine "Switched to Server/Client for N" lines of
#     each side and "9 round trips done", and more than one OS thread (the
#     two threads, libzmq's I/O and reaper threads), in the program's own
#     view and in the samples of /proc/PID/status;
#   - under greenrun: exits 0 and prints exactly what gevent's version
#     prints, Server and Client alternating for 1 to 9; the program itself
#     sees one OS thread; /proc/PID/status sampled every 0.1 s while it runs
#     shows Threads: 1 in every sample (libzmq's own threads, epoll loops and
#     eventfds are green too).
# Builds nothing: run `make` first. Output is TAP-like; the exit status is
# non-zero if any check failed.
set -u -o pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) || exit 2
# shellcheck source=tests/integration/tap.sh
. "$ROOT/tests/integration/tap.sh"
gr_traps

PROG=$ROOT/build/progs/seed_zmq
GREENRUN=$ROOT/scripts/greenrun
RUN_LIMIT=30                # seconds; the program takes about 1
MIN_SAMPLES=3               # of about 9 in a 1 s run

# run_sampled LABEL CMD...: runs CMD, sampling its Threads: count every 0.1 s
# once it runs seed_zmq itself (the launcher is a script until it execs).
# Sets RUN_RC, SAMPLES, MIN_THREADS, MAX_THREADS; output in $GR_TMP/LABEL.*.
run_sampled() {
	local label=$1 pid deadline prog
	shift
	prog=$(readlink -f "$PROG")
	SAMPLES=0 MIN_THREADS='' MAX_THREADS=''
	"$@" </dev/null >"$GR_TMP/$label.out" 2>"$GR_TMP/$label.err" &
	pid=$!
	GR_PIDS+=("$pid")
	deadline=$((SECONDS + RUN_LIMIT))
	while kill -0 "$pid" 2>/dev/null; do
		if [[ $(gr_exe "$pid") == "$prog" ]] && gr_status "$pid"; then
			SAMPLES=$((SAMPLES + 1))
			gr_min MIN_THREADS "$ST_THREADS"
			gr_max MAX_THREADS "$ST_THREADS"
		fi
		if ((SECONDS >= deadline)); then
			comment "$label: still running after $RUN_LIMIT s, stopping it"
			gr_stop_pid "$pid"
			RUN_RC=124
			return
		fi
		sleep 0.1
	done
	wait "$pid"
	RUN_RC=$?
	gr_forget_pid "$pid"
}

show() {
	sed "s/^/# $1: /" "$GR_TMP/$1.out"
	[[ -s $GR_TMP/$1.err ]] && head -n 20 "$GR_TMP/$1.err" | sed "s/^/# $1 stderr: /"
	comment "$1: $SAMPLES samples, Threads: ${MIN_THREADS:-none} to ${MAX_THREADS:-none}"
}

# What gevent's version prints, and the port's last lines.
expected() {
	local i
	for ((i = 1; i <= 9; i++)); do
		echo "Switched to Server for $i"
		echo "Switched to Client for $i"
		((i == 5)) && echo "OS threads while the context runs: $1"
	done
	echo "9 round trips done"
}

main() {
	tap_require "$PROG" "$GREENRUN" "$ROOT/build/libgreenrun.so"
	gr_tmpdir || exit 2
	expected 1 >"$GR_TMP/expected.green"
	expected 'more than 1' | sort >"$GR_TMP/expected.native"

	run_sampled native "$PROG"
	show native
	check "native: exits 0" eq "$RUN_RC" 0
	check "native: nine round trips, more than one OS thread" \
		cmp -s "$GR_TMP/expected.native" <(sort "$GR_TMP/native.out")
	check "native: Threads: > 1 in some sample (got ${MAX_THREADS:-none})" gt "${MAX_THREADS:-0}" 1

	run_sampled greenrun "$GREENRUN" "$PROG"
	show greenrun
	check "greenrun: exits 0" eq "$RUN_RC" 0
	check "greenrun: Server and Client alternate for 1 to 9, as gevent prints; one OS thread" \
		cmp -s "$GR_TMP/expected.green" "$GR_TMP/greenrun.out"
	check "greenrun: sampled at least $MIN_SAMPLES times while it ran (got $SAMPLES)" \
		ge "$SAMPLES" "$MIN_SAMPLES"
	check "greenrun: Threads: 1 in every sample (got ${MIN_THREADS:-none} to ${MAX_THREADS:-none})" \
		eq "${MIN_THREADS:-none}/${MAX_THREADS:-none}" 1/1
	tap_end
}

main
