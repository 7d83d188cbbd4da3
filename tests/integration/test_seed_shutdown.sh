#!/usr/bin/env bash
# test_seed_shutdown.sh - the seed's program shutdown (example 8 of issue 6),
# natively and under greenrun.
#
# build/progs/seed_08_shutdown joins a server thread that sleeps 1000 s with
# SIGQUIT unblocked and a handler (no SA_RESTART) that sets a flag: the
# signal interrupts the sleep, the thread returns, main joins it and exits 0.
# gevent's point is that SIGQUIT ends such a program promptly and cleanly
# instead of leaving it hanging. For each run, once the program printed
# "server: sleeping 1000 s", the test sends SIGQUIT to its PID and checks:
#   - it exits within 2 s of the signal, with status 0;
#   - it printed the server's and main's last lines (a clean exit, not a
#     death by signal).
# A run still alive 2 s after the signal is stopped by PID.
#
# Builds nothing: run `make` first. Output is TAP-like; the exit status is
# non-zero if any check failed.
set -u -o pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) || exit 2
# shellcheck source=tests/integration/tap.sh
. "$ROOT/tests/integration/tap.sh"
gr_traps

PROG=$ROOT/build/progs/seed_08_shutdown
GREENRUN=$ROOT/scripts/greenrun
START_LIMIT=100             # tenths of a second to wait for the first line
QUIT_LIMIT=20               # tenths of a second from SIGQUIT to the exit

# quit_run LABEL CMD...: starts CMD (which must exec the program: its PID is
# the program's), sends SIGQUIT once it sleeps, waits up to QUIT_LIMIT.
# Sets STARTED (1 if the first line came), EXITED (1 if it ended in time),
# RC, TENTHS (tenths of a second from the signal to the exit).
quit_run() {
	local label=$1 pid i
	shift
	STARTED=0 EXITED=0 RC='' TENTHS=''
	"$@" </dev/null >"$GR_TMP/$label.out" 2>"$GR_TMP/$label.err" &
	pid=$!
	GR_PIDS+=("$pid")
	for ((i = 0; i < START_LIMIT; i++)); do
		grep -qx 'server: sleeping 1000 s' "$GR_TMP/$label.out" && STARTED=1 && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ((STARTED)); then
		kill -QUIT "$pid"
		gr_wait_exit "$pid" "$QUIT_LIMIT" && EXITED=1 RC=$EXIT_RC TENTHS=$EXIT_TENTHS
	fi
	if ((!EXITED)); then
		comment "$label: still running, stopping it"
		gr_stop_pid "$pid"
	fi
	sed "s/^/# $label: /" "$GR_TMP/$label.out"
	[[ -s $GR_TMP/$label.err ]] && head -n 10 "$GR_TMP/$label.err" | sed "s/^/# $label stderr: /"
	return 0
}

main() {
	local mode label
	tap_require "$PROG" "$GREENRUN" "$ROOT/build/libgreenrun.so"
	gr_tmpdir || exit 2
	for mode in native greenrun; do
		label="08 shutdown, $mode"
		if [[ $mode == native ]]; then
			quit_run "$mode" "$PROG"
		else
			quit_run "$mode" "$GREENRUN" "$PROG"
		fi
		check "$label: the server thread went to sleep" eq "$STARTED" 1
		check "$label: SIGQUIT ends it within 2 s (got ${TENTHS:-none} tenths)" eq "$EXITED" 1
		check "$label: exit status 0 (got ${RC:-none})" eq "${RC:-none}" 0
		check "$label: the sleeping thread left and main joined it" \
			grep -qx 'main: joined the server, exiting' "$GR_TMP/$mode.out"
	done
	tap_end
}

main
