# shellcheck shell=bash
# seed_lib.sh - running the seed's example programs (build/progs/seed_*)
# and reading what they print, for tests/integration/test_seed_*.sh.
#
# Source it in place of tap.sh (it sources tap.sh, and so scripts/lib.sh),
# and call gr_tmpdir before run. The programs print the seed's lines,
# "time: NAME SECONDS" lines (measured durations) and "os-threads: N" (the
# Threads: count of /proc/self/status they read while their threads wait).

# shellcheck source=tests/integration/tap.sh
. "$ROOT/tests/integration/tap.sh"

PROGS=$ROOT/build/progs
GREENRUN=$ROOT/scripts/greenrun
RUN_LIMIT=30                # seconds per run; the longest takes about 2

# Exit status of each run, by label.
declare -A RCS

# run LABEL PROG [greenrun]: runs build/progs/PROG, natively or under
# greenrun, bounded by RUN_LIMIT; output in $GR_TMP/LABEL.out/.err, shown
# as comments; exit status in RCS[LABEL].
run() {
	local label=$1 prog=$PROGS/$2
	shift 2
	if [[ ${1:-} == greenrun ]]; then
		timeout -k 5 "$RUN_LIMIT" "$GREENRUN" "$prog" </dev/null \
			>"$GR_TMP/$label.out" 2>"$GR_TMP/$label.err"
	else
		timeout -k 5 "$RUN_LIMIT" "$prog" </dev/null \
			>"$GR_TMP/$label.out" 2>"$GR_TMP/$label.err"
	fi
	RCS[$label]=$?
	sed "s/^/# $label: /" "$GR_TMP/$label.out"
	[[ -s $GR_TMP/$label.err ]] && head -n 10 "$GR_TMP/$label.err" | sed "s/^/# $label stderr: /"
	return 0
}

# lines LABEL: the run's output without its time: and os-threads: lines.
lines() { grep -v -e '^time: ' -e '^os-threads: ' "$GR_TMP/$1.out"; }
# val LABEL KEY: the value of "time: KEY V" (KEY os-threads: "os-threads: V").
val() {
	if [[ $2 == os-threads ]]; then
		sed -n 's/^os-threads: //p' "$GR_TMP/$1.out"
	else
		sed -n "s/^time: $2 //p" "$GR_TMP/$1.out"
	fi
}
# within V LO HI: LO <= V < HI, as decimals.
within() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v < hi) }'; }
# near V BASE SLACK: BASE <= V < BASE + SLACK, as decimals.
near() { within "$1" "$2" "$(awk -v b="$2" -v s="$3" 'BEGIN { print b + s }')"; }
# same_lines LABEL EXPECTED: the run's lines are EXPECTED (a newline-separated string).
same_lines() { [[ $(lines "$1") == "$2" ]]; }
# same_set LABEL EXPECTED: the same lines in any order.
same_set() { [[ $(lines "$1" | sort) == "$(sort <<<"$2")" ]]; }
# section LABEL FIRST LAST: the lines of the run's output from the line
# FIRST to the line LAST (to the end if LAST is empty), both excluded.
section() {
	awk -v first="$2" -v last="$3" '
		on && last != "" && $0 == last { exit }
		on { print }
		$0 == first { on = 1 }' "$GR_TMP/$1.out"
}
# has LABEL LINE...: the run printed every LINE.
has() {
	local label=$1 line
	shift
	for line; do
		grep -qxF -- "$line" "$GR_TMP/$label.out" || return 1
	done
}
# same_output LABEL...: the runs printed the same thing.
same_output() {
	local label
	for label in "${@:2}"; do
		cmp -s "$GR_TMP/$1.out" "$GR_TMP/$label.out" || return 1
	done
}
# exits0 LABEL: the run exited 0.
exits0() { eq "${RCS[$1]}" 0; }

# run_both LABEL PROG: runs PROG natively (LABEL.native) and under
# greenrun (LABEL.greenrun).
run_both() {
	run "$1.native" "$2"
	run "$1.greenrun" "$2" greenrun
}
