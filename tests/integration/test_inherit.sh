#!/usr/bin/env bash
# test_inherit.sh - the programs a program under greenrun starts: whether
# they run under greenrun too (GREENRUN_INHERIT), and shell pipelines.
#
#   - By default a child inherits LD_PRELOAD: a command run by `sh -c` under
#     greenrun has libgreenrun.so in LD_PRELOAD and mapped.
#   - With GREENRUN_INHERIT=0 the shell itself still runs under greenrun (its
#     /proc/PID/maps shows the library) but its LD_PRELOAD no longer names it,
#     and its children neither see nor load it; another LD_PRELOAD entry
#     stays. An explicit environment naming libgreenrun.so, passed by Python
#     to os.execve and os.posix_spawn, loses it too (and keeps it by default).
#   - GREENRUN_INHERIT=2, =yes and = stop the program with one line on stderr
#     naming the variable and the accepted values, and exit status 2.
#   - Pipelines and other shell constructs (`a | b | c`, command substitution,
#     background jobs and wait, exit statuses through pipes) give the same
#     stdout and exit status natively and under greenrun, with dash and with
#     bash, inherited or not, and greenrun's stderr stays empty.
#
# Needs sh, bash, coreutils, grep, sed, /usr/bin/python3 and a C compiler (for an
# empty .so); builds nothing else: run `make` first. Output is TAP-like; the
# exit status is non-zero if any check failed. Every run is bounded by
# `timeout`; everything written goes to a mktemp directory removed on exit.
# shellcheck disable=SC2016 # the commands are for the shells under test to expand
set -u -o pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) || exit 2
GREENRUN=$ROOT/scripts/greenrun
SO=$ROOT/build/libgreenrun.so
PY=/usr/bin/python3                 # Debian's: not a wrapper script that execs it
CC=${CC:-gcc}
LIMIT=30                            # seconds per run

# shellcheck source=tests/integration/tap.sh
. "$ROOT/tests/integration/tap.sh"
gr_traps
gr_tmpdir || exit 2

# check_run DESC CMD...: check, and when it fails, what the last run() gave.
check_run() {
	local before=$TAP_FAILED
	check "$@"
	((TAP_FAILED > before)) || return 0
	echo "#   status: $RC"
	sed 's/^/#   stdout: /' "$GR_TMP/out"
	sed 's/^/#   stderr: /' "$GR_TMP/err"
}

# run CMD...: stdout in $GR_TMP/out and OUT, stderr in $GR_TMP/err, status in RC.
run() {
	timeout -k 5 "$LIMIT" "$@" </dev/null >"$GR_TMP/out" 2>"$GR_TMP/err"
	RC=$?
	OUT=$(cat "$GR_TMP/out")
}

out_is() { [[ $OUT == "$1" ]]; }
out_has() { [[ $OUT == *"$1"* ]]; }
out_lacks() { [[ $OUT != *"$1"* ]]; }
no_stderr() { [[ ! -s $GR_TMP/err ]]; }
one_error_line() {
	[[ $RC == 2 && -z $OUT && $(wc -l <"$GR_TMP/err") == 1 && $(cat "$GR_TMP/err") == "$1" ]]
}

# What a shell under greenrun and its child see: LD_PRELOAD in the shell,
# whether the shell maps libgreenrun.so, whether its child (grep) maps it.
SEE='printf "preload=[%s]\n" "${LD_PRELOAD-unset}";
echo "shell maps it: $(grep -c libgreenrun /proc/$$/maps)";
echo "child maps it: $(grep -c libgreenrun /proc/self/maps)"'

inherited() {
	run "$GREENRUN" sh -c "$SEE"
	check_run "default: the shell's LD_PRELOAD names libgreenrun.so" out_has "preload=[$SO"
	check_run "default: the shell runs under greenrun" out_lacks "shell maps it: 0"
	check_run "default: its child runs under greenrun too" out_lacks "child maps it: 0"
}

not_inherited() {
	local empty=$GR_TMP/empty.so
	echo 'int greenrun_test_empty;' >"$GR_TMP/empty.c"
	"$CC" -shared -fPIC -o "$empty" "$GR_TMP/empty.c" || return

	GREENRUN_INHERIT=0 run "$GREENRUN" sh -c "$SEE"
	check_run "GREENRUN_INHERIT=0: the shell still runs under greenrun" out_lacks "shell maps it: 0"
	check_run "GREENRUN_INHERIT=0: LD_PRELOAD is gone from its environment" out_has "preload=[unset]"
	check_run "GREENRUN_INHERIT=0: its child does not load greenrun" out_has "child maps it: 0"

	LD_PRELOAD=$empty GREENRUN_INHERIT=0 run "$GREENRUN" sh -c "$SEE"
	check_run "GREENRUN_INHERIT=0: another LD_PRELOAD entry stays" out_has "preload=[$empty]"
	check_run "GREENRUN_INHERIT=0: with it, the child still does not load greenrun" \
		out_has "child maps it: 0"

	# An environment built by the program, naming libgreenrun.so.
	local py='import os, sys
env = {"LD_PRELOAD": sys.argv[1] + ":" + sys.argv[2]}
argv = ["sh", "-c", sys.argv[3]]
if sys.argv[4] == "spawn":
    os.waitpid(os.posix_spawn("/bin/sh", argv, env), 0)
else:
    os.execve("/bin/sh", argv, env)'
	local how
	for how in execve spawn; do
		GREENRUN_INHERIT=0 run "$GREENRUN" "$PY" -c "$py" "$SO" "$empty" "$SEE" "$how"
		check_run "GREENRUN_INHERIT=0: os.$how with an explicit environment drops greenrun" \
			out_has "preload=[$empty]"
		check_run "GREENRUN_INHERIT=0: the program os.$how started does not load greenrun" \
			out_has "shell maps it: 0"
		run "$GREENRUN" "$PY" -c "$py" "$SO" "$empty" "$SEE" "$how"
		check_run "default: os.$how passes the explicit environment as it is" \
			out_has "preload=[$SO:$empty]"
	done
}

bad_values() {
	local v
	for v in 2 yes ''; do
		GREENRUN_INHERIT=$v run "$GREENRUN" true
		check_run "GREENRUN_INHERIT='$v': one line naming it, exit status 2" \
			one_error_line "greenrun: GREENRUN_INHERIT=$v: expected 0 or 1"
	done
}

PIPELINES=(
	'seq 1 200000 | sort -rn | head -n 3'
	'yes abc | head -c 1000000 | wc -c'
	'printf "b\na\nc\nb\n" | sort | uniq -c | sort -rn'
	'seq 1 5000 | tr 0-9 a-j | grep -c a | cat'
	'(echo start; sleep 0.1; echo end) | cat | cat'
	'echo "$(echo abc | tr a-c x-z) $(( $(seq 3 | paste -sd+) ))"'
	'for i in 1 2 3; do echo $i | sed "s/^/n/"; done'
	'sleep 0.2 & echo started; wait; echo waited $?'
	'false | true; echo "pipe status $?"; true | false; echo "pipe status $?"'
	'(exit 7); echo "subshell $?"; sh -c "exit 9"; echo "child $?"'
	'seq 1 100 | while read -r n; do echo $((n * n)); done | tail -n 1'
)

pipelines() {
	local shell cmd inherit label native native_rc
	for shell in sh bash; do
		for cmd in "${PIPELINES[@]}"; do
			run "$shell" -c "$cmd"
			native=$OUT native_rc=$RC
			for inherit in 1 0; do
				label="$shell -c '$cmd' (GREENRUN_INHERIT=$inherit)"
				GREENRUN_INHERIT=$inherit run "$GREENRUN" "$shell" -c "$cmd"
				check_run "$label: same output and status as natively" \
					eq "$OUT/$RC" "$native/$native_rc"
				check_run "$label: nothing on stderr" no_stderr
			done
		done
	done
}

main() {
	tap_require "$GREENRUN" "$SO"
	inherited
	not_inherited
	bad_values
	pipelines
	tap_end
}

main
