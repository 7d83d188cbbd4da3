#!/usr/bin/env bash
# test_determinism.sh - under greenrun a racy program takes the same
# interleaving in every run.
#
# build/progs/race_log has 4 threads race to append their id 200 times each
# to a mutex-protected log, with a little work and some sched_yield() calls
# between appends, and prints a hash of the log order. It runs RUNS times
# natively and RUNS times under scripts/greenrun (each bounded by `timeout`):
#
#   - every run exits 0 and reports a complete log;
#   - natively the runs print more than one distinct hash: the race is real,
#     so one hash under greenrun proves something;
#   - under greenrun they all print the same hash, and the log switches
#     between threads more than 3 times (the threads did interleave: they
#     did not just run one after the other).
#
# Builds nothing: run `make` first. Output is TAP-like; the exit status is
# non-zero if any check failed.
set -u -o pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) || exit 2
GREENRUN=$ROOT/scripts/greenrun
PROG=$ROOT/build/progs/race_log
RUNS=20
TIMEOUT=20                      # seconds per run

# shellcheck source=tests/integration/tap.sh
. "$ROOT/tests/integration/tap.sh"
gr_traps
gr_tmpdir || exit 2

# runs MODE CMD...: runs CMD RUNS times; sets BAD (runs that did not exit 0
# with a complete log), HASHES (distinct hashes), SWITCHES (distinct
# switch counts, space-separated).
runs() {
	local mode=$1 i rc out=$GR_TMP/$1
	shift
	BAD=0
	: >"$out.all"
	for ((i = 0; i < RUNS; i++)); do
		# In a subshell whose stderr is discarded: bash's notice of a
		# program killed by a signal stays out of the TAP output.
		(timeout -k 5 "$TIMEOUT" "$@" </dev/null >"$out.$i" 2>"$out.err"; exit $?) 2>/dev/null
		rc=$?
		if ((rc != 0)) || ! grep -q '^log complete .*: yes$' "$out.$i"; then
			BAD=$((BAD + 1))
			echo "# $mode run $i: exit status $rc"
			sed "s/^/# $mode run $i: /" "$out.$i" "$out.err" | head -n 10
		fi
		cat "$out.$i" >>"$out.all"
	done
	HASHES=$(grep '^hash of the log order:' "$out.all" | sort -u | wc -l)
	SWITCHES=$(sed -n 's/^switches between threads: //p' "$out.all" | sort -nu | tr '\n' ' ')
	SWITCHES=${SWITCHES% }
	echo "# $mode: $HASHES distinct hashes in $RUNS runs; switches between threads: $SWITCHES"
}

main() {
	tap_require "$PROG" "$GREENRUN" "$ROOT/build/libgreenrun.so"
	runs native "$PROG"
	check "race_log natively: $RUNS runs exit 0 with a complete log ($BAD did not)" eq "$BAD" 0
	check "race_log natively: more than 1 distinct hash in $RUNS runs (got $HASHES)" gt "$HASHES" 1
	runs greenrun "$GREENRUN" "$PROG"
	check "race_log under greenrun: $RUNS runs exit 0 with a complete log ($BAD did not)" eq "$BAD" 0
	check "race_log under greenrun: exactly 1 distinct hash in $RUNS runs (got $HASHES)" eq "$HASHES" 1
	check "race_log under greenrun: the threads interleave (switches: $SWITCHES)" \
		gt "${SWITCHES%% *}" 3
	tap_end
}

main
