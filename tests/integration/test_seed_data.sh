#!/usr/bin/env bash
# test_seed_data.sh - the seed's "data structures" examples (11-18 of issue
# 6), as C programs, natively and under greenrun.
#
# Each build/progs/seed_NN_* program is the gevent tutorial's example with
# pthreads for greenlets and the program's own queues, events and pools made
# of mutexes, condition variables and semaphores (its top comment says what
# gevent shows and how the port shows it). Checked, for each example, what
# gevent shows:
#   11 event        one setter, five waiters: the seed's order of lines under
#                   greenrun, all waiters released together after 0.3 s
#   12 asyncresult  the waiter gets "Hello!" when it is set, after 0.3 s
#   13 queue        workers take tasks in turn; the bounded queue's lines are
#                   exactly gevent's under greenrun; get timeouts end workers
#   14 pool         group and pool sizes, imap in order and imap_unordered in
#                   finishing order, a pool of 2 never runs 3 at once
#   15 semaphore    a bounded semaphore of 2: the seed's acquire/release order
#                   under greenrun, never more than 2 holders
#   16 local        pthread_key values invisible to the other thread
#   17 subprocess   cron keeps printing every 0.2 s while popen("sleep 1;
#                   uname") runs, on one OS thread under greenrun
#   18 actors       two actors with mailboxes play ping-pong
# Native runs must show the same behaviour, except where gevent's point is
# the order greenlets run in: native orders are reported as comments, since
# a native run can legitimately match.
#
# Builds nothing: run `make` first. Output is TAP-like; the exit status is
# non-zero if any check failed.
set -u -o pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) || exit 2
# shellcheck source=tests/integration/seed_lib.sh
. "$ROOT/tests/integration/seed_lib.sh"
gr_traps

# same_set_of LABEL REGEX EXPECTED: the run's lines matching REGEX are
# EXPECTED's, in any order.
same_set_of() { [[ $(lines "$1" | grep -e "$2" | sort) == "$(grep -e "$2" <<<"$3" | sort)" ]]; }

# native_order NN NAME EXPECTED: says whether the native run printed
# EXPECTED in the seed's order (it can, or not).
native_order() {
	if same_lines "$1.native" "$3"; then
		comment "$1 $2: the native run happened to print the seed's order"
	else
		comment "$1 $2: the native run printed another order than the seed's"
	fi
}

ex11_event() {
	local m label expected
	expected="A: Hey wait for me, I have to do something
$(printf "I'll wait for you\n%.0s" 1 2 3 4 5)
Ok, I'm done
$(printf "It's about time\n%.0s" 1 2 3 4 5)"
	run_both 11 seed_11_event
	for m in native greenrun; do
		label=11.$m
		check "11 event, $m: exits 0" exits0 "$label"
		check "11 event, $m: the setter's and the five waiters' lines" same_set "$label" "$expected"
		check "11 event, $m: set after about 0.3 s (got $(val "$label" set))" \
			within "$(val "$label" set)" 0.29 1
		check "11 event, $m: no waiter released before the set (first at $(val "$label" first-release))" \
			near "$(val "$label" first-release)" "$(val "$label" set)" 1
		check "11 event, $m: all five released together (last at $(val "$label" last-release))" \
			near "$(val "$label" last-release)" "$(val "$label" set)" 0.1
	done
	check "11 event, greenrun: the lines come in the seed's order" same_lines 11.greenrun "$expected"
	native_order 11 event "$expected"
}

ex12_asyncresult() {
	local m label
	run_both 12 seed_12_asyncresult
	for m in native greenrun; do
		label=12.$m
		check "12 asyncresult, $m: exits 0" exits0 "$label"
		check "12 asyncresult, $m: the waiter gets the value" same_lines "$label" 'Hello!'
		check "12 asyncresult, $m: get returns once it is set, after about 0.3 s (got $(val "$label" get))" \
			within "$(val "$label" get)" 0.29 1
	done
}

# anonymous: the lines with "Worker NAME" as "Worker": natively any worker
# can take any task.
anonymous() { sed 's/^Worker [a-z]* got/Worker got/'; }

ex13_queue() {
	local m label expected i
	local -a first=(steve john nancy) second=(steve john bob)
	# gevent's output: the workers take the tasks in turn; in the second
	# version the boss blocks on the full queue of 3, so its lines come
	# after tasks 6 and 18.
	expected="$(for i in {1..24}; do echo "Worker ${first[(i - 1) % 3]} got task $i"; done)
$(printf 'Quitting time!\n%.0s' 1 2 3)
Bounded queue:
$(for i in {1..19}; do
		echo "Worker ${second[(i - 1) % 3]} got task $i"
		((i == 6)) && echo 'Assigned all work in iteration 1'
		((i == 18)) && echo 'Assigned all work in iteration 2'
	done)
$(printf 'Quitting time!\n%.0s' 1 2 3)"
	run_both 13 seed_13_queue
	run 13.greenrun2 seed_13_queue greenrun
	for m in native greenrun; do
		label=13.$m
		check "13 queue, $m: exits 0" exits0 "$label"
		check "13 queue, $m: every task taken once, both boss lines, every worker quits" \
			eq "$(lines "$label" | anonymous | sort)" "$(anonymous <<<"$expected" | sort)"
		check "13 queue, $m: the workers quit once get timed out (0.1 s) on the empty queue (got $(val "$label" quit))" \
			within "$(val "$label" quit)" 0.1 1
	done
	check "13 queue, greenrun: the lines are gevent's, in its order" same_lines 13.greenrun "$expected"
	check "13 queue, greenrun: the same lines in a second run" same_lines 13.greenrun2 "$expected"
	native_order 13 queue "$expected"
}

ex14_pool() {
	local m label expected
	expected="$(printf 'bar\n%.0s' 1 2 3)$(printf '\nfoo%.0s' 1 2 3)$(printf '\nfizz%.0s' 1 2 3)
Size of group 3
Hello from thread 0
Size of group 3
Hello from thread 1
Size of group 3
Hello from thread 2
Ordered
('task', 0)
('task', 1)
('task', 2)
Unordered
('task', 2)
('task', 1)
('task', 0)
Size of pool 2
Size of pool 2
Size of pool 1
pool of 2: most running at once: 2"
	run_both 14 seed_14_pool
	for m in native greenrun; do
		label=14.$m
		check "14 pool, $m: exits 0" exits0 "$label"
		check "14 pool, $m: imap gives the results in order" \
			eq "$(section "$label" Ordered Unordered | grep '^(' | tr '\n' ' ')" "('task', 0) ('task', 1) ('task', 2) "
		check "14 pool, $m: imap_unordered gives them as they finish" \
			eq "$(section "$label" Unordered '' | grep '^(' | tr '\n' ' ')" "('task', 2) ('task', 1) ('task', 0) "
		check "14 pool, $m: imap's sleeps overlap: about 0.3 s, not 0.6 (got $(val "$label" imap))" \
			within "$(val "$label" imap)" 0.29 0.55
		check "14 pool, $m: imap_unordered's too (got $(val "$label" imap_unordered))" \
			within "$(val "$label" imap_unordered)" 0.29 0.55
		check "14 pool, $m: a pool of 2 never runs 3 at once" has "$label" 'pool of 2: most running at once: 2'
		check "14 pool, $m: 6 naps of 50 ms on a pool of 2 take 3 rounds (got $(val "$label" pool-map))" \
			within "$(val "$label" pool-map)" 0.14 0.29
	done
	check "14 pool, greenrun: the seed's lines and sizes, in its order" same_lines 14.greenrun "$expected"
	native_order 14 pool "$expected"
}

ex15_semaphore() {
	local m label expected
	expected="$(printf 'Worker %d acquired semaphore\n' 0 1
		printf 'Worker %d released semaphore\n' 0 1
		printf 'Worker %d acquired semaphore\n' 3 4
		printf 'Worker %d released semaphore\n' 3 4
		printf 'Worker 5 acquired semaphore\nWorker 5 released semaphore\n')
most holders at once: 2
semaphore back to: 2"
	run_both 15 seed_15_semaphore
	for m in native greenrun; do
		label=15.$m
		check "15 semaphore, $m: exits 0" exits0 "$label"
		check "15 semaphore, $m: every worker acquires and releases once" \
			same_set_of "$label" '^Worker ' "$expected"
		check "15 semaphore, $m: never more than 2 holders at once" \
			grep -qxE 'most holders at once: [12]' "$GR_TMP/$label.out"
		check "15 semaphore, $m: the semaphore is back to 2" has "$label" 'semaphore back to: 2'
	done
	check "15 semaphore, greenrun: acquire/release in the seed's order, 2 holders at once" \
		same_lines 15.greenrun "$expected"
	native_order 15 semaphore "$expected"
}

ex16_local() {
	local m label expected
	expected=$'1\n2\nx is not local to f2'
	run_both 16 seed_16_local
	for m in native greenrun; do
		label=16.$m
		check "16 local, $m: exits 0" exits0 "$label"
		check "16 local, $m: each thread sees its own key values only" same_set "$label" "$expected"
	done
	check "16 local, greenrun: the seed's lines in its order" same_lines 16.greenrun "$expected"
}

ex17_subprocess() {
	local m label crons
	run_both 17 seed_17_subprocess
	for m in native greenrun; do
		label=17.$m
		crons=$(grep -cx cron "$GR_TMP/$label.out")
		check "17 subprocess, $m: exits 0" exits0 "$label"
		check "17 subprocess, $m: the child's output, status 0" has "$label" Linux 'child status: 0'
		check "17 subprocess, $m: the child ran its second (got $(val "$label" child))" \
			within "$(val "$label" child)" 0.95 3
		check "17 subprocess, $m: cron printed every 0.2 s meanwhile: 4 to 7 times (got $crons)" \
			within "$crons" 4 8
		check "17 subprocess, $m: cron printed only before the child's output" \
			eq "$(lines "$label" | grep -v -x -e cron -e 'child status: 0' | tr '\n' ' ')" "Linux "
	done
	check "17 subprocess, native: cron and the waiting thread are 2 OS threads (got $(val 17.native os-threads))" \
		ge "$(val 17.native os-threads)" 2
	check "17 subprocess, greenrun: they share 1 OS thread (got $(val 17.greenrun os-threads))" \
		eq "$(val 17.greenrun os-threads)" 1
}

ex18_actors() {
	local m label expected
	expected="start$(printf '\nping\npong%.0s' 1 2 3 4)
ping
both actors stopped"
	run_both 18 seed_18_actors
	for m in native greenrun; do
		label=18.$m
		check "18 actors, $m: exits 0" exits0 "$label"
		check "18 actors, $m: start, then ping and pong in turn, then both stop" same_lines "$label" "$expected"
	done
}

main() {
	tap_require "$GREENRUN" "$ROOT/build/libgreenrun.so" "$PROGS"/seed_1{1..8}_*
	gr_tmpdir || exit 2
	ex11_event
	ex12_asyncresult
	ex13_queue
	ex14_pool
	ex15_semaphore
	ex16_local
	ex17_subprocess
	ex18_actors
	tap_end
}

main
