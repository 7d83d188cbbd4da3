#!/usr/bin/env bash
# test_stock_net.sh - stock Debian network programs under greenrun.
#
# The acceptance check of the cooperative I/O families (select/epoll,
# readv/writev/sendmsg/recvfrom..., fork/waitpid/system, getaddrinfo,
# stdio on sockets): unmodified programs that use them, each run natively
# and under scripts/greenrun with the same checks, everything on 127.0.0.1.
#
#  1. http.server: Debian's /usr/bin/python3 -m http.server (a thread per
#     request) serves 10 generated files (2 to 3.6 MB, same bytes every run)
#     to 100 concurrent downloads from tests/progs/stocknet_client.py, run
#     natively: every download byte-exact (sha256). The client first sends
#     every request line, waits until the server's kernel has acknowledged
#     each (http.server's accept queue is 5 long), then 2 s more before
#     completing the requests: the server has a thread for each of the 100
#     meanwhile; the
#     server's /proc/PID/status, sampled all along, must show Threads: 1
#     (greenrun's greenrun-pool resolver threads aside)
#     under greenrun, both then and in every sample of the run, and more
#     than 100 natively.
#  2. curl (one file after the other, and --parallel) and wget, themselves
#     under greenrun, download the files from a native http.server:
#     byte-exact.
#  3. redis-server under greenrun, driven by a native
#     `redis-benchmark -q -n 20000 -c 50 -t set,get,incr,lpush`; then
#     redis-benchmark under greenrun against a native redis-server, single
#     threaded and with --threads 2. No errors, the numbers printed as
#     comments, and the data the benchmark leaves (the counter INCR'd 20000
#     times, the list LPUSH'd 20000 times, the value SET) as after the
#     native run; Threads: 1 on the greenrun side in every sample, more
#     than 1 natively (redis-server's bio threads, the benchmark's threads).
#     redis-server also runs with --jemalloc-bg-thread yes: jemalloc starts
#     its background threads with the pthread_create it finds with
#     dlsym(RTLD_NEXT), which must be greenrun's.
#  4. memcached -t 4 under greenrun, with the client's 8 connections doing
#     sets, gets, cas, incr... of values up to 900 kB: the same answers as
#     from a native memcached -t 4, its "threads" statistic 4, Threads: 1.
#  5. nc and socat round trips of 4.2 MB, both ends under greenrun (and
#     both native): socat echo server (PIPE) and nc client; socat echo
#     server with fork and two socat clients; nc to a listening nc; a
#     listening nc sending to nc -d. Byte-exact.
#  6. sh -c pipelines and jobs, with fork and wait (`seq | sort | head`,
#     command substitution, background jobs, xargs -P, SIGPIPE in
#     PIPESTATUS), and tests/progs/stocknet_prog.py subproc: CPython threads
#     whose waits (Popen.wait, os.system) can only end if another thread runs
#     meanwhile. Output and exit status identical to native.
#  7. getent ahosts/ahostsv4/hosts and stocknet_prog.py resolve (8 threads
#     calling getaddrinfo & co.): identical to native.
#
# STOCKNET_CASES picks cases by name (default: all of "http redis memcached
# ncsocat fork resolve", in that order).
#
# Every server is started by this script, by PID, on a port found free on
# 127.0.0.1, and stopped by PID (with the processes it forked) when its case
# ends; every run is bounded. A run that does not end in time is killed,
# after a gdb backtrace of where it (and the greenrun server it talks to)
# waits, printed as TAP comments. Processes started by a package install
# (redis, memcached services) are never touched: the ports are free ones.
#
# Needs python3, curl, wget, redis-server, redis-tools, memcached,
# netcat-openbsd, socat (and gdb for the backtraces); a missing tool is
# reported as `not ok - TOOL installed`. Builds nothing: run `make` first.
# Output is TAP-like; the exit status is non-zero if any check failed.
# Everything written is in a mktemp directory removed on exit.
set -u -o pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) || exit 2
GREENRUN=$ROOT/scripts/greenrun
PY=/usr/bin/python3
CLIENT=$ROOT/tests/progs/stocknet_client.py
PROG=$ROOT/tests/progs/stocknet_prog.py
NFILES=10          # files served in case 1 and 2
REPEAT=10          # downloads of each file in case 1: 100 at once
LISTEN_LIMIT=10    # seconds for a server to listen
SAMPLE_S=0.02      # seconds between two /proc samples

TMP=$(mktemp -d "${TMPDIR:-/tmp}/greenrun-stocknet.XXXXXX") || exit 2
PIDS=()            # started here and not yet stopped

# shellcheck source=tests/integration/tap.sh
. "$ROOT/tests/integration/tap.sh"

same_file() { cmp -s -- "$1" "$2"; }
no_error() { ! grep -qi error -- "$@"; }
alive() { kill -0 "$1" 2>/dev/null; }
# running PID: alive and not a zombie waiting to be reaped.
running() {
	local st=''
	{ read -r st <"/proc/$1/stat"; } 2>/dev/null
	[[ -n $st && $st != *") Z "* ]]
}
gone() { ! running "$1"; }

# show_file FILE LABEL: FILE's first lines as TAP comments.
show_file() {
	[[ -s $1 ]] && head -n 15 -- "$1" | cut -c1-300 | sed "s/^/# $2: /"
	return 0
}

# differ A B: the start of a diff of A and B as TAP comments.
differ() {
	diff -u --label native --label greenrun -- "$1" "$2" | head -n 30 |
		cut -c1-300 | sed 's/^/# /'
}

# ---- processes ------------------------------------------------------------

# descendants PID: every live process below PID.
descendants() {
	local f c kids
	for f in /proc/"$1"/task/*/children; do
		kids=()
		read -r -a kids 2>/dev/null <"$f"
		for c in "${kids[@]}"; do
			echo "$c"
			descendants "$c"
		done
	done
}

forget() {
	local i
	for i in "${!PIDS[@]}"; do
		[[ ${PIDS[i]} == "$1" ]] && unset 'PIDS[i]'
	done
}

# stop PID: SIGTERM to PID and the processes it started, SIGKILL to those
# still there after 3 s; reaps PID.
stop() {
	local pid=$1 tree i
	mapfile -t tree < <(echo "$pid"; descendants "$pid")
	kill -TERM "${tree[@]}" 2>/dev/null
	for ((i = 0; i < 30; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "${tree[@]}" 2>/dev/null
	wait "$pid" 2>/dev/null
	forget "$pid"
}

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		stop "$pid"
	done
	rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A FIFO that never gets data, open for reading and writing: `read -t` on it
# sleeps without starting a process.
mkfifo "$TMP/nap" || exit 2
exec {NAP}<>"$TMP/nap"
nap() { read -r -t "$1" -u "$NAP"; }

# backtrace PID LABEL: where each OS thread of PID is, as TAP comments: one
# line per thread, its innermost frames (function, or library when gdb has
# no name) from the inside out.
backtrace() {
	command -v gdb >/dev/null || return 0
	kill -0 "$1" 2>/dev/null || return 0
	echo "# $2 (PID $1, $(tr -d '\0' </proc/"$1"/comm 2>/dev/null)) waits in:"
	timeout -k 2 20 gdb -q -p "$1" -batch -ex 'thread apply all bt 8' \
		</dev/null 2>/dev/null | awk '
		function flush() { if (t != "") print "#   " t ":" f; t = ""; f = "" }
		/^Thread [0-9]+ / {
			flush()
			t = "thread " $2 " " (match($0, /"[^"]*"/) ? substr($0, RSTART, RLENGTH) : "")
		}
		/^#[0-9]/ {
			fn = ($2 ~ /^0x/) ? $4 : $2
			if (fn == "??" && match($0, / from [^ ]+$/))
				fn = "?? (" substr($0, RSTART + 6) ")"
			f = f (f == "" ? " " : " < ") fn
		}
		END { flush() }' | head -n 30
}

# threads_of PID: its Threads: count, or nothing while PID is still the
# greenrun launcher script (before it execs the program) or gone. greenrun's
# own name-resolution pool (threads named greenrun-pool, started by the
# first host name lookup) is not the program's threads: not counted.
threads_of() {
	local k v n='' t='' pool
	while read -r k v; do
		case $k in
		Name:) n=$v ;;
		Threads:) t=$v ;;
		esac
	done 2>/dev/null <"/proc/$1/status"
	[[ $n == greenrun || -z $t ]] && return
	pool=$(grep -lx greenrun-pool /proc/"$1"/task/*/comm 2>/dev/null | wc -l)
	echo $((t - pool))
}

# thread_names PID: its OS threads' names, counted ("3 x redis-server").
thread_names() {
	cat /proc/"$1"/task/*/comm 2>/dev/null | sort | uniq -c |
		awk '{ n = $1; $1 = ""; s = s (s ? ", " : "") n " x" $0 } END { print s }'
}

# one_thread LABEL PID: the check that the last run() saw Threads: 1 in
# every sample of PID; when it did not, which threads PID had, and where
# they are now if PID still runs.
one_thread() {
	check "$1: Threads: 1 in every sample ($SAMPLES samples, max ${MAX_THREADS:-none})" \
		eq "${MAX_THREADS:-}/$((SAMPLES > 0))" 1/1
	if [[ -n $EXTRA ]]; then
		echo "# $1: OS threads when first more than 1: $EXTRA"
		backtrace "$2" "$1"
	fi
}

# in_mode MODE CMD...: sets CMD to the command line that runs CMD natively,
# or under greenrun. Started in the background as "${CMD[@]}" &, its PID is
# the program's (the launcher execs it), not a subshell's.
in_mode() {
	CMD=("${@:2}")
	[[ $1 == greenrun ]] && CMD=("$GREENRUN" "${CMD[@]}")
}

# free_port: a TCP port nothing listens on, on 127.0.0.1.
free_port() {
	"$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# listening PORT: something listens on 127.0.0.1:PORT.
listening() {
	awk -v a="$(printf '0100007F:%04X' "$1")" \
		'$2 == a && $4 == "0A" { f = 1 } END { exit !f }' /proc/net/tcp
}

# serve NAME MODE CMD...: starts CMD (in MODE) in the background,
# stdout and stderr in $TMP/NAME.out and .err, stdin from $SERVE_IN
# (default /dev/null), with every argument @PORT@ replaced by a free port,
# and waits until it listens there. A server that exits first (the port was
# taken meanwhile) is tried again on another port, twice at most. Sets
# SRV_PID and SRV_PORT; on failure says why, backtraces a server that
# neither listens nor exits, stops it and returns 1.
serve() {
	local name=$1 mode=$2 try i args a
	shift 2
	for ((try = 0; try < 3; try++)); do
		SRV_PORT=$(free_port) || return 1
		args=()
		for a; do args+=("${a//@PORT@/$SRV_PORT}"); done
		in_mode "$mode" "${args[@]}"
		"${CMD[@]}" <"${SERVE_IN:-/dev/null}" >"$TMP/$name.out" \
			2>"$TMP/$name.err" &
		SRV_PID=$!
		PIDS+=("$SRV_PID")
		for ((i = 0; i < LISTEN_LIMIT * 20; i++)); do
			listening "$SRV_PORT" && return 0
			kill -0 "$SRV_PID" 2>/dev/null || break
			nap 0.05
		done
		if kill -0 "$SRV_PID" 2>/dev/null; then
			echo "# $name: not listening on $SRV_PORT after $LISTEN_LIMIT s"
			backtrace "$SRV_PID" "$name"
			stop "$SRV_PID"
			show_file "$TMP/$name.err" "$name stderr"
			return 1
		fi
		wait "$SRV_PID" 2>/dev/null
		forget "$SRV_PID"
	done
	echo "# $name: exited before listening, 3 times"
	show_file "$TMP/$name.err" "$name stderr"
	return 1
}

# run LIMIT NAME WATCH CMD...: runs CMD, stdin from $RUN_IN (default
# /dev/null), stdout and stderr in $TMP/NAME.out and .err, and samples the
# Threads: of WATCH (a PID, "self" for CMD itself, or "" for none) every
# SAMPLE_S s until CMD exits. HOLD_THREADS is the largest count seen while
# NAME.out shows a "holding" line and no "released" line yet (both checked
# before and after the sample). A run still going after LIMIT s is killed,
# after backtraces of CMD and WATCH. Sets RC (124 when killed), SECS,
# SAMPLES, MAX_THREADS, HOLD_THREADS (empty when never seen), EXTRA (the
# names of WATCH's OS threads the first time it had more than one).
run() {
	local limit=$1 name=$2 watch=$3 pid start t held out=$TMP/$2.out
	shift 3
	SAMPLES=0 MAX_THREADS='' HOLD_THREADS='' EXTRA=''
	: >"$out"
	"$@" <"${RUN_IN:-/dev/null}" >"$out" 2>"$TMP/$name.err" &
	pid=$!
	PIDS+=("$pid")
	[[ $watch == self ]] && watch=$pid
	start=${EPOCHREALTIME/./}
	while running "$pid"; do
		if [[ -n $watch ]]; then
			held=0
			[[ $(<"$out") == *holding* ]] && held=1
			t=$(threads_of "$watch")
			[[ $(<"$out") == *released* ]] && held=0
			if [[ -n $t ]]; then
				SAMPLES=$((SAMPLES + 1))
				((t > 1)) && [[ -z $EXTRA ]] && EXTRA=$(thread_names "$watch")
				((t > ${MAX_THREADS:-0})) && MAX_THREADS=$t
				((held && t > ${HOLD_THREADS:-0})) && HOLD_THREADS=$t
			fi
		fi
		if ((${EPOCHREALTIME/./} - start > limit * 1000000)); then
			echo "# $name: still running after $limit s: killed"
			backtrace "$pid" "$name"
			[[ -n $watch && $watch != "$pid" ]] && backtrace "$watch" "the server"
			stop "$pid"
			RC=124
			SECS=$limit
			return
		fi
		nap "$SAMPLE_S"
	done
	wait "$pid" 2>/dev/null
	RC=$?
	forget "$pid"
	SECS=$(((${EPOCHREALTIME/./} - start + 999999) / 1000000))
}

# status_text: RC for a check's description.
status_text() {
	if ((RC == 124)); then
		echo "killed after $SECS s"
	elif ((RC > 128)); then
		echo "status $RC: signal $((RC - 128)), $SECS s"
	else
		echo "status $RC, $SECS s"
	fi
}

# have TOOL...: true if every TOOL is installed; says which one is not.
have() {
	local t ok=0
	for t; do
		if ! command -v "$t" >/dev/null; then
			check "$t installed" false
			ok=1
		fi
	done
	return $ok
}

# ---- 1, 2: http.server, curl, wget ---------------------------------------

FILES=()
WWW=$TMP/www

expected_downloads() {
	local f
	for f in "${FILES[@]}"; do
		echo "$f 200 $(stat -c %s -- "$WWW/$f")" \
			"$(sha256sum <"$WWW/$f" | cut -d' ' -f1) x$REPEAT"
	done
}

# http_server MODE: case 1 with the server in MODE. Leaves the native
# server running for case 2 (HTTP_PORT).
http_server() {
	local mode=$1 name="http.server ($1)" out
	if ! serve "http-$mode" "$mode" "$PY" -u -m http.server @PORT@ \
		--bind 127.0.0.1 --directory "$WWW"; then
		check "$name: listens" false
		return
	fi
	run 90 "http-$mode.client" "$SRV_PID" \
		"$PY" "$CLIENT" http "$SRV_PORT" "$REPEAT" 2 "${FILES[@]}"
	out=$TMP/http-$mode.client.out
	check "$name: client of $((NFILES * REPEAT)) concurrent downloads exits 0 ($(status_text))" \
		eq "$RC" 0
	grep -v -e '^holding' -e '^released' "$out" >"$out.got"
	check "$name: every download byte-exact (sha256)" \
		same_file "$TMP/expected" "$out.got"
	if ! same_file "$TMP/expected" "$out.got"; then
		diff -u --label expected --label got "$TMP/expected" "$out.got" |
			head -n 20 | cut -c1-200 | sed 's/^/# /'
		show_file "$TMP/http-$mode.client.err" "client stderr"
		show_file "$TMP/http-$mode.err" "server stderr"
	fi
	if [[ $mode == greenrun ]]; then
		check "$name: Threads: 1 while the $((NFILES * REPEAT)) downloads are in progress (Threads: ${HOLD_THREADS:-never seen})" \
			eq "${HOLD_THREADS:-}" 1
		one_thread "$name" "$SRV_PID"
	else
		check "$name: more than $((NFILES * REPEAT)) threads while the downloads are in progress (Threads: ${HOLD_THREADS:-never seen})" \
			gt "${HOLD_THREADS:-}" $((NFILES * REPEAT))
	fi
	check "$name: server still running after the downloads" alive "$SRV_PID"
	if [[ $mode == native ]]; then
		HTTP_PID=$SRV_PID HTTP_PORT=$SRV_PORT
	else
		stop "$SRV_PID"
	fi
}

# same_files DIR: DIR holds every served file, byte-exact.
same_files() {
	local f
	for f in "${FILES[@]}"; do
		cmp -s -- "$WWW/$f" "$1/$f" || return 1
	done
}

# downloader MODE LABEL CMD...: runs CMD (in MODE) that downloads every file
# into $TMP/dl (the argument @DIR@), and checks the files.
downloader() {
	local mode=$1 label="$2 ($1)" args a name=dl-${2%% *}-$1
	shift 2
	rm -rf -- "$TMP/dl"
	mkdir -p -- "$TMP/dl"
	args=()
	for a; do args+=("${a//@DIR@/$TMP/dl}"); done
	in_mode "$mode" "${args[@]}"
	run 60 "$name" "" "${CMD[@]}"
	check "$label: exits 0 ($(status_text))" eq "$RC" 0
	check "$label: all $NFILES files byte-exact" same_files "$TMP/dl"
	if ((RC != 0)); then
		show_file "$TMP/$name.err" "stderr"
	fi
}

test_http() {
	local f mode urls=() local_urls=() curl=0 wget=0
	have "$PY" || return
	mkdir -p -- "$WWW"
	"$PY" "$CLIENT" gen "$WWW" "$NFILES" || { check "files generated" false; return; }
	for f in "$WWW"/f*; do FILES+=("${f##*/}"); done
	expected_downloads >"$TMP/expected"
	HTTP_PID=''
	http_server greenrun
	http_server native
	[[ -n $HTTP_PID ]] || return
	for f in "${FILES[@]}"; do
		urls+=("http://127.0.0.1:$HTTP_PORT/$f")
		local_urls+=("http://localhost:$HTTP_PORT/$f")
	done
	have curl && curl=1
	have wget && wget=1
	for mode in native greenrun; do
		if ((curl)); then
			downloader "$mode" "curl, one file after the other" curl \
				--silent --show-error --fail --output-dir @DIR@ \
				--remote-name-all "${urls[@]}"
			downloader "$mode" "curl --parallel, localhost" curl \
				--silent --show-error --fail --parallel \
				--parallel-max "$NFILES" --output-dir @DIR@ \
				--remote-name-all "${local_urls[@]}"
		fi
		if ((wget)); then
			downloader "$mode" "wget, localhost" wget --quiet \
				--directory-prefix=@DIR@ "${local_urls[@]}"
		fi
	done
	stop "$HTTP_PID"
	rm -rf -- "$WWW" "$TMP/dl"
}

# ---- 3: redis --------------------------------------------------------------

BENCH=(-q -n 20000 -c 50 -t 'set,get,incr,lpush')

# redis_state PORT: what the benchmark left in the server.
redis_state() {
	local cli=(timeout -k 2 10 redis-cli -h 127.0.0.1 -p "$1")
	echo "GET key:__rand_int__ = $("${cli[@]}" get key:__rand_int__)," \
		"GET counter:__rand_int__ = $("${cli[@]}" get counter:__rand_int__)," \
		"LLEN mylist = $("${cli[@]}" llen mylist), DBSIZE = $("${cli[@]}" dbsize)"
}

# bench LABEL SERVER_PID PORT WATCH MODE ARGS...: redis-benchmark (in MODE)
# against PORT, then the checks of its results. WATCH as for run().
bench() {
	local label=$1 spid=$2 port=$3 watch=$4 mode=$5 name out lines state
	shift 5
	name=bench-${label//[^a-z0-9]/_}
	timeout -k 2 10 redis-cli -h 127.0.0.1 -p "$port" flushall >/dev/null
	in_mode "$mode" redis-benchmark -h 127.0.0.1 -p "$port" "${BENCH[@]}" "$@"
	run 45 "$name" "$watch" "${CMD[@]}"
	out=$TMP/$name.out
	# The last line of each test: "SET: 51020.41 requests per second, ..."
	tr '\r' '\n' <"$out" | grep -E '^[A-Z]+: [0-9.]+ requests per second' \
		>"$out.results"
	lines=$(cut -d: -f1 "$out.results" | tr '\n' ' ')
	sed "s/^/# $label: /" "$out.results"
	check "$label: redis-benchmark exits 0 ($(status_text))" eq "$RC" 0
	check "$label: a result for SET GET INCR LPUSH (got: ${lines:-none})" \
		eq "$lines" "SET GET INCR LPUSH "
	check "$label: no error reported" no_error "$out" "$TMP/$name.err"
	((RC == 0)) || show_file "$TMP/$name.err" "redis-benchmark stderr"
	state=$(redis_state "$port")
	check "$label: server holds what 20000 SET, INCR, LPUSH leave ($state)" \
		eq "$state" "$REDIS_EXPECTED"
	check "$label: server still running" alive "$spid"
}

# redis_server MODE [OPTION...]: a redis-server that saves nothing.
redis_server() {
	serve "redis-$1${2:+-more}" "$1" redis-server --port @PORT@ \
		--bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" \
		--logfile '' --daemonize no "${@:2}"
}

# greenrun_redis LABEL [OPTION...]: redis-server under greenrun, driven by
# the native redis-benchmark.
greenrun_redis() {
	local label=$1
	if ! redis_server greenrun "${@:2}"; then
		check "$label: listens" false
		return
	fi
	bench "$label <- redis-benchmark (native)" "$SRV_PID" "$SRV_PORT" \
		"$SRV_PID" native
	one_thread "$label" "$SRV_PID"
	kill -0 "$SRV_PID" 2>/dev/null ||
		grep -A 25 -m1 'crashed by signal' "$TMP/redis-greenrun${2:+-more}.out" |
		grep -E 'crashed|^/|^redis-server' | head -n 16 | sed "s/^/# $label log: /"
	stop "$SRV_PID"
}

test_redis() {
	local npid nport
	have redis-server redis-benchmark redis-cli || return
	# What the values must be: the same as after a native run.
	REDIS_EXPECTED="GET key:__rand_int__ = ?, GET counter:__rand_int__ = 20000, LLEN mylist = 20000, DBSIZE = 3"
	if ! redis_server native; then
		check "redis-server (native): listens" false
		return
	fi
	npid=$SRV_PID nport=$SRV_PORT
	timeout -k 2 60 redis-benchmark -h 127.0.0.1 -p "$nport" -q -n 1 -c 1 \
		-t set >/dev/null 2>&1
	REDIS_EXPECTED=${REDIS_EXPECTED/= \?/= $(timeout -k 2 10 redis-cli -h 127.0.0.1 -p "$nport" get key:__rand_int__)}
	bench "redis-server (native) <- redis-benchmark (native)" \
		"$npid" "$nport" "$npid" native
	check "redis-server (native): more than 1 thread during the benchmark (max Threads: ${MAX_THREADS:-none})" \
		gt "${MAX_THREADS:-}" 1
	# With jemalloc's background threads, which jemalloc creates with the
	# pthread_create it finds with dlsym(RTLD_NEXT): green threads too.
	greenrun_redis "redis-server --jemalloc-bg-thread yes (greenrun)" \
		--jemalloc-bg-thread yes
	bench "redis-server (native) <- redis-benchmark (greenrun)" \
		"$npid" "$nport" self greenrun
	one_thread "redis-benchmark (greenrun)" ""
	bench "redis-server (native) <- redis-benchmark --threads 2 (native)" \
		"$npid" "$nport" self native --threads 2
	check "redis-benchmark --threads 2 (native): more than 1 thread (max Threads: ${MAX_THREADS:-none})" \
		gt "${MAX_THREADS:-}" 1
	# A thread whose epoll_wait always finds events must let the other run.
	bench "redis-server (native) <- redis-benchmark --threads 2 (greenrun)" \
		"$npid" "$nport" self greenrun --threads 2
	one_thread "redis-benchmark --threads 2 (greenrun)" ""
	stop "$npid"
}

# ---- 4: memcached ----------------------------------------------------------

# memcached_run MODE: the server in MODE and the client; leaves the client's
# output in $TMP/memc-MODE.client.out.
memcached_run() {
	local mode=$1 name="memcached -t 4 ($1)" user=()
	# memcached refuses to run as root without -u.
	((EUID == 0)) && user=(-u root)
	if ! serve "memc-$mode" "$mode" memcached -t 4 -l 127.0.0.1 \
		-p @PORT@ -U 0 -m 128 "${user[@]}"; then
		check "$name: listens" false
		return 1
	fi
	run 60 "memc-$mode.client" "$SRV_PID" "$PY" "$CLIENT" memcached "$SRV_PORT"
	check "$name: client exits 0, every value read back as stored ($(status_text))" \
		eq "$RC" 0
	((RC == 0)) || show_file "$TMP/memc-$mode.client.out" "client"
	check "$name: server reports 4 worker threads" \
		grep -qx 'STAT threads 4' "$TMP/memc-$mode.client.out"
	if [[ $mode == greenrun ]]; then
		one_thread "$name" "$SRV_PID"
	else
		check "$name: more than 4 threads (max Threads: ${MAX_THREADS:-none})" \
			gt "${MAX_THREADS:-}" 4
	fi
	check "$name: server still running" alive "$SRV_PID"
	stop "$SRV_PID"
}

test_memcached() {
	local n=$TMP/memc-native.client.out g=$TMP/memc-greenrun.client.out
	have memcached || return
	memcached_run native || return
	memcached_run greenrun || return
	check "memcached -t 4: the client sees the same answers from both servers" \
		same_file "$n" "$g"
	same_file "$n" "$g" || differ "$n" "$g"
}

# ---- 5: nc, socat ----------------------------------------------------------

# got FILE LABEL: FILE is the data, byte-exact.
got() {
	check "$2: byte-exact ($(wc -c <"$1") of $(wc -c <"$TMP/data") bytes)" \
		same_file "$TMP/data" "$1"
}

# finished PID LABEL: waits up to 10 s for PID to exit by itself, checks
# that it did, and stops it if not.
finished() {
	local i
	for ((i = 0; i < 200; i++)); do
		running "$1" || break
		nap 0.05
	done
	check "$2: server exits by itself after the transfer" gone "$1"
	stop "$1"
}

# ncsocat MODE: every pair with both ends in MODE.
ncsocat() {
	local m=$1 label spid i
	label="socat PIPE echo server <- nc -N client ($m)"
	if serve "echo-$m" "$m" socat -t 30 \
		TCP-LISTEN:@PORT@,bind=127.0.0.1,reuseaddr PIPE; then
		in_mode "$m" nc -N 127.0.0.1 "$SRV_PORT"
		RUN_IN=$TMP/data run 60 "nc-echo-$m" "" "${CMD[@]}"
		check "$label: client exits 0 ($(status_text))" eq "$RC" 0
		got "$TMP/nc-echo-$m.out" "$label"
		finished "$SRV_PID" "$label"
	else
		check "$label: server listens" false
	fi

	label="socat fork PIPE echo server <- socat clients ($m)"
	if serve "fecho-$m" "$m" socat -t 30 \
		TCP-LISTEN:@PORT@,bind=127.0.0.1,reuseaddr,fork PIPE; then
		for i in 1 2; do
			in_mode "$m" socat -t 30 - "TCP:127.0.0.1:$SRV_PORT"
			RUN_IN=$TMP/data run 60 "socat-echo-$m-$i" "" "${CMD[@]}"
			check "$label: client $i exits 0 ($(status_text))" eq "$RC" 0
			got "$TMP/socat-echo-$m-$i.out" "$label: client $i"
		done
		check "$label: server still accepting" alive "$SRV_PID"
		stop "$SRV_PID"
	else
		check "$label: server listens" false
	fi

	label="nc -N client -> nc -l ($m)"
	if serve "ncl-$m" "$m" nc -l 127.0.0.1 @PORT@; then
		spid=$SRV_PID
		in_mode "$m" nc -N 127.0.0.1 "$SRV_PORT"
		RUN_IN=$TMP/data run 60 "nc-send-$m" "" "${CMD[@]}"
		check "$label: client exits 0 ($(status_text))" eq "$RC" 0
		finished "$spid" "$label"
		got "$TMP/ncl-$m.out" "$label"
	else
		check "$label: server listens" false
	fi

	label="nc -N -l sending -> nc -d client ($m)"
	if SERVE_IN=$TMP/data serve "ncs-$m" "$m" nc -N -l 127.0.0.1 @PORT@; then
		spid=$SRV_PID
		in_mode "$m" nc -d 127.0.0.1 "$SRV_PORT"
		run 60 "nc-recv-$m" "" "${CMD[@]}"
		check "$label: client exits 0 ($(status_text))" eq "$RC" 0
		got "$TMP/nc-recv-$m.out" "$label"
		finished "$spid" "$label"
	else
		check "$label: server listens" false
	fi
}

test_ncsocat() {
	have nc socat || return
	if ! nc -h 2>&1 | grep -q OpenBSD; then
		check "nc is OpenBSD netcat (netcat-openbsd)" false
		return
	fi
	"$PY" -c 'import random, sys
sys.stdout.buffer.write(random.Random(5).randbytes(4200000))' >"$TMP/data"
	ncsocat native
	ncsocat greenrun
}

# ---- 6, 7: fork and wait, the resolver -----------------------------------

# same_run LABEL CMD...: CMD natively and under greenrun: same stdout, same
# exit status.
same_run() {
	local label=$1 f n g ns
	shift
	f=same-$TAP_TESTS
	run 30 "$f.native" "" "$@"
	ns=$RC
	n=$TMP/$f.native.out g=$TMP/$f.greenrun.out
	run 30 "$f.greenrun" "" "$GREENRUN" "$@"
	echo "exit status $ns" >>"$n"
	echo "exit status $RC" >>"$g"
	check "$label: same output and exit status as native (greenrun: $(status_text))" \
		same_file "$n" "$g"
	if ! same_file "$n" "$g"; then
		differ "$n" "$g"
		show_file "$TMP/$f.greenrun.err" "greenrun stderr"
	fi
}

# The commands are for sh to expand, not this script.
# shellcheck disable=SC2016
test_fork() {
	local c
	for c in \
		'seq 1 100000 | sort -r | head -5' \
		'seq 1 300000 | sort -rn | tail -3; echo $?' \
		'x=$(seq 1 1000 | wc -l); echo "$x"; (exit 3); echo $?' \
		'seq 1 20 | xargs -P 4 -n 1 sh -c '\''echo $(($1 * $1))'\'' _ | sort -n | tr "\n" " "' \
		'false | true; echo $?; seq 10 | head -1; exit 7'; do
		same_run "sh -c '$c'" sh -c "$c"
	done
	have bash && same_run "bash: SIGPIPE in PIPESTATUS" bash -c \
		'seq 1 1000000 | head -1 | cat; echo "${PIPESTATUS[@]}"'
	same_run "python3 stocknet_prog.py subproc (threads waiting on children)" \
		"$PY" "$PROG" subproc
}

test_resolve() {
	local c
	if have getent; then
		for c in ahosts:localhost ahostsv4:localhost hosts:127.0.0.1 \
			ahosts:127.0.0.1; do
			same_run "getent ${c/:/ }" getent "${c%:*}" "${c#*:}"
		done
	fi
	same_run "python3 stocknet_prog.py resolve (8 threads resolving)" \
		"$PY" "$PROG" resolve
}

main() {
	local f
	tap_require "$GREENRUN" "$ROOT/build/libgreenrun.so" "$CLIENT" "$PROG"
	if [[ ! -x $PY ]]; then
		check "python3 installed ($PY)" false
		tap_end
		exit 1
	fi
	for f in ${STOCKNET_CASES:-http redis memcached ncsocat fork resolve}; do
		"test_$f"
	done
	tap_end
}

main
