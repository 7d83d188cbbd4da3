#!/usr/bin/env bash
# test_signals.sh - stock programs that lean on signals, natively and under
# greenrun:
#
#   - dash's `wait` builtin, which blocks SIGCHLD with sigprocmask and waits
#     in sigsuspend: `wait $b; wait $a` on two background sleeps prints
#     "done" in about 0.3 s (well under 2 s); and `wait` interrupted by a
#     trapped signal returns 128 + its number, the trap having run;
#   - build/progs/sig_server, a threaded echo server whose SIGTERM and
#     SIGQUIT handler shuts it down cleanly: with three connections open
#     (each echoes a line), the signal ends it within 3 s, status 0, having
#     joined its three threads (under greenrun with Threads: 1 while it
#     serves);
#   - CPython: signal.signal + time.sleep interrupted by SIGALRM (the
#     handler's exception ends the sleep at about 0.2 s; a handler that
#     returns lets the sleep go on, PEP 475), and threading.Event.wait in the
#     main thread interrupted the same way while another thread waits.
#     Native and greenrun output must be the same.
#
# Builds nothing: run `make` first. Output is TAP-like; the exit status is
# non-zero if any check failed.
set -u -o pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) || exit 2
# shellcheck source=tests/integration/tap.sh
. "$ROOT/tests/integration/tap.sh"
gr_traps

GREENRUN=$ROOT/scripts/greenrun
SERVER=$ROOT/build/progs/sig_server

# run MODE CMD...: CMD natively or under greenrun, bounded.
run() {
	local mode=$1
	shift
	if [[ $mode == native ]]; then
		timeout 20 "$@"
	else
		timeout 20 "$GREENRUN" "$@"
	fi
}

now_ms() {
	local ns
	ns=$(date +%s%N)
	echo $((ns / 1000000))
}

dash_wait() {
	local mode=$1 t0 t1 out
	t0=$(now_ms)
	out=$(run "$mode" sh -c 'sleep 0.3 & a=$!; sleep 0.1 & b=$!; wait $b; wait $a; echo done' </dev/null)
	t1=$(now_ms)
	check "dash wait, $mode: prints done" eq "$out" done
	check "dash wait, $mode: in under 2 s (took $((t1 - t0)) ms)" lt $((t1 - t0)) 2000
	out=$(run "$mode" sh -c 'trap "echo trapped" USR1; (sleep 0.2; kill -USR1 $$) & sleep 3 & wait $!; echo "wait: $?"; kill $! 2>/dev/null' </dev/null)
	check "dash wait, $mode: a trapped USR1 interrupts it ($(echo "$out" | tr '\n' ' '))" \
		eq "$out" $'trapped\nwait: 138'
}

# server MODE SIG: three connections, each echoing a line, then SIG.
server() {
	local mode=$1 sig=$2 name="server $mode $sig" i line rc='' exited=0 threads=''
	local -a conn=()
	if [[ $mode == native ]]; then
		gr_start_server "$name" "$SERVER" || { check "$name: starts" false; return; }
	else
		gr_start_server "$name" "$GREENRUN" "$SERVER" || { check "$name: starts" false; return; }
	fi
	for i in 1 2 3; do
		exec {fd}<>"/dev/tcp/127.0.0.1/$SERVER_PORT" || break
		conn+=("$fd")
		printf 'hello %d\n' "$i" >&"$fd"
		IFS= read -r -t 5 line <&"$fd" || line=''
		check "$name: connection $i echoes" eq "$line" "hello $i"
	done
	gr_status "$SERVER_PID" && threads=$ST_THREADS
	[[ $mode == greenrun ]] && check "$name: Threads: 1 while serving (got ${threads:-none})" eq "$threads" 1
	kill -"$sig" "$SERVER_PID"
	if gr_wait_exit "$SERVER_PID" 30; then
		exited=1 rc=$EXIT_RC
	else
		gr_stop_pid "$SERVER_PID"
	fi
	for fd in "${conn[@]}"; do
		exec {fd}>&-
	done
	check "$name: the signal ends it within 3 s" eq "$exited" 1
	check "$name: exit status 0 (got ${rc:-none})" eq "${rc:-none}" 0
	check "$name: it joined its threads" grep -qx "shutdown by SIG$sig: joined 3 threads" "$SERVER_OUT"
	[[ -s $SERVER_ERR ]] && head -n 5 "$SERVER_ERR" | sed "s/^/# $name stderr: /"
}

python_alarm() {
	local script=$GR_TMP/alarm.py native greenrun
	cat >"$script" <<'EOF'
import signal, threading, time

class Alarm(Exception):
    pass

def on_alarm(sig, frame):
    raise Alarm

signal.signal(signal.SIGALRM, on_alarm)
t0 = time.monotonic()
signal.setitimer(signal.ITIMER_REAL, 0.2)
try:
    time.sleep(5)
    print("sleep: not interrupted")
except Alarm:
    print("sleep interrupted at about 0.2 s:", 0.15 <= time.monotonic() - t0 < 2)

hits = []
signal.signal(signal.SIGALRM, lambda sig, frame: hits.append(sig))
t0 = time.monotonic()
signal.setitimer(signal.ITIMER_REAL, 0.1)
time.sleep(0.4)
print("sleep went on after a handler that returned:", hits == [signal.SIGALRM],
      time.monotonic() - t0 >= 0.39)

ev = threading.Event()
other = threading.Thread(target=ev.wait, args=(5,))
other.start()
signal.signal(signal.SIGALRM, on_alarm)
t0 = time.monotonic()
signal.setitimer(signal.ITIMER_REAL, 0.2)
try:
    ev.wait(5)
    print("Event.wait: not interrupted")
except Alarm:
    print("Event.wait interrupted at about 0.2 s:", 0.15 <= time.monotonic() - t0 < 2)
ev.set()
other.join()
print("done")
EOF
	native=$(run native python3 "$script" 2>&1)
	greenrun=$(run greenrun python3 "$script" 2>&1)
	echo "$native" | sed 's/^/# python native: /'
	check "python: sleep interrupted by SIGALRM natively" grep -q 'interrupted at about 0.2 s: True' <<<"$native"
	check "python: same output under greenrun" eq "$greenrun" "$native"
}

main() {
	local mode sig
	tap_require "$SERVER" "$GREENRUN" "$ROOT/build/libgreenrun.so"
	gr_tmpdir || exit 2
	for mode in native greenrun; do
		dash_wait "$mode"
		for sig in TERM QUIT; do
			server "$mode" "$sig"
		done
	done
	if command -v python3 >/dev/null; then
		python_alarm
	else
		skip "python3 is not installed"
	fi
	tap_end
}

main
