#!/usr/bin/env bash
# test_seed_select.sh - the seed's cooperative select example, natively and
# under greenrun.
#
# build/progs/seed_select runs two threads that select on an idle pipe with a
# 2 s timeout and one that sleeps 1 s, and says whether all of them were done
# in about 2 s. Checked:
#   - natively and under greenrun it exits 0 and says "all finished in about
#     2 s: yes" (a select that blocked the one OS thread would take ~5 s);
#   - both print the same thing (order of finishing included);
#   - /proc/PID/status, sampled every 0.1 s while the program runs, shows
#     Threads: 1 under greenrun in every sample, and more than 1 natively in
#     some sample (which proves the sampling sees the threads it should).
# Only samples taken once PID runs seed_select itself count: the launcher is
# a script until it execs the program.
#
# Builds nothing: run `make` first. Output is TAP-like; the exit status is
# non-zero if any check failed.
set -u -o pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) || exit 2
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
trap gr_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PROG=$ROOT/build/progs/seed_select
GREENRUN=$ROOT/scripts/greenrun
RUN_LIMIT=30                # seconds; the program takes about 2
MIN_SAMPLES=5               # of about 20 in a 2 s run

TESTS=0
FAILED=0

check() {
	local desc=$1
	shift
	TESTS=$((TESTS + 1))
	if "$@"; then
		echo "ok - $desc"
	else
		echo "not ok - $desc"
		FAILED=$((FAILED + 1))
	fi
}

eq() { [[ $1 == "$2" ]]; }
gt() { [[ $1 =~ ^[0-9]+$ ]] && (($1 > $2)); }
ge() { [[ $1 =~ ^[0-9]+$ ]] && (($1 >= $2)); }
says_yes() { grep -qx 'all finished in about 2 s: yes' "$1"; }

# run_sampled LABEL CMD...: runs CMD, sampling its Threads: count until it
# exits (stopped after RUN_LIMIT s). Sets RUN_RC, SAMPLES (samples of the
# program itself), MIN_THREADS, MAX_THREADS; output in $GR_TMP/LABEL.out/.err.
run_sampled() {
	local label=$1 pid deadline exe prog
	shift
	prog=$(readlink -f "$PROG")
	SAMPLES=0 MIN_THREADS='' MAX_THREADS=''
	"$@" </dev/null >"$GR_TMP/$label.out" 2>"$GR_TMP/$label.err" &
	pid=$!
	GR_PIDS+=("$pid")
	deadline=$((SECONDS + RUN_LIMIT))
	while kill -0 "$pid" 2>/dev/null; do
		exe=$(gr_exe "$pid")
		if [[ $exe == "$prog" ]] && gr_status "$pid"; then
			SAMPLES=$((SAMPLES + 1))
			gr_max MAX_THREADS "$ST_THREADS"
			if [[ -z $MIN_THREADS ]] || ((ST_THREADS < MIN_THREADS)); then
				MIN_THREADS=$ST_THREADS
			fi
		fi
		if ((SECONDS >= deadline)); then
			echo "# $label: still running after $RUN_LIMIT s, stopping it"
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

# show LABEL: the program's output and errors as TAP comments.
show() {
	sed "s/^/# $1: /" "$GR_TMP/$1.out"
	[[ -s $GR_TMP/$1.err ]] && head -n 20 "$GR_TMP/$1.err" | sed "s/^/# $1 stderr: /"
	echo "# $1: $SAMPLES samples, Threads: ${MIN_THREADS:-none} to ${MAX_THREADS:-none}"
}

main() {
	local f
	for f in "$PROG" "$GREENRUN" "$ROOT/build/libgreenrun.so"; do
		if [[ ! -e $f ]]; then
			echo "not ok - $f exists (run make first)"
			echo "1..1"
			exit 1
		fi
	done
	gr_tmpdir || exit 2

	run_sampled native "$PROG"
	show native
	check "native: exits 0" eq "$RUN_RC" 0
	check "native: all finished in about 2 s" says_yes "$GR_TMP/native.out"
	check "native: Threads: > 1 while it runs (got ${MAX_THREADS:-none})" gt "${MAX_THREADS:-0}" 1

	run_sampled greenrun "$GREENRUN" "$PROG"
	show greenrun
	check "greenrun: exits 0" eq "$RUN_RC" 0
	check "greenrun: all finished in about 2 s" says_yes "$GR_TMP/greenrun.out"
	check "greenrun: sampled at least $MIN_SAMPLES times while it ran (got $SAMPLES)" \
		ge "$SAMPLES" "$MIN_SAMPLES"
	check "greenrun: Threads: 1 in every sample (got ${MIN_THREADS:-none} to ${MAX_THREADS:-none})" \
		eq "${MIN_THREADS:-none}/${MAX_THREADS:-none}" 1/1
	check "same output natively and under greenrun" \
		cmp -s "$GR_TMP/native.out" "$GR_TMP/greenrun.out"

	echo "1..$TESTS"
	((FAILED == 0))
}

main
