#!/usr/bin/env bash
# bench.sh - greenrun's benchmarks, side by side with native threads and a
# single-threaded epoll reference, in one table (issue 5).
#
# Usage: scripts/bench.sh [--quick] [--only NAME[,NAME...]] [--runs N]
#
#   --quick   fewer iterations, shorter windows, 3 runs of each micro
#             benchmark and 1 of each echo run (`make bench-quick`, < 1 min)
#   --only    run only these benchmarks (or groups):
#               micro:  yield create handoff condvar pipe mutex recv
#               echo:   echo100 echo1000 echo10000
#               scale:  hold19000 idle million
#   --runs N  runs of each benchmark (default: 9 micro, 7 echo; quick: 3, 1)
#
# Every benchmark program in build/bench/ is an ordinary pthread/socket
# program run natively and under scripts/greenrun, in turn; each figure is
# the median of the runs, and each ratio the median of the ratios within
# a run (this machine's speed drifts between runs, by up to 1.5x).  Micro benchmarks run on one CPU (so that a native
# switch is a real context switch); echo servers run on CPU 0 and the load
# generator (build/bench/load, one epoll process, the same for all three
# servers) on CPU 1.  The table says for each figure which issue-5 target
# it checks and whether it is met.  Every run is bounded by `timeout` and
# everything started is stopped by PID (scripts/lib.sh).
#
# Needs build/libgreenrun.so and build/bench/* (`make bench-progs`).
set -u -o pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || exit 2
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
gr_traps

BIN=$ROOT/build/bench
GREENRUN=$ROOT/scripts/greenrun
MICRO_NAMES=(yield create handoff condvar pipe mutex recv)
ECHO_NAMES=(echo100 echo1000 echo10000)
SCALE_NAMES=(hold19000 idle million)
ECHO_STACK_KIB=64       # the echo threads' pthread stack, in every mode
ECHO_BUF=4096           # the echo threads' buffer, on their stacks
IDLE_BUF=1024           # ... in the idle-memory run
IDLE_CONNS=10000
MILLION_STACK_KIB=16

QUICK=0 ONLY='' RUNS=''
declare -A R            # R[bench,mode,key] = median figure
declare -A WANT         # benchmarks to run

usage() {
	sed -n '4,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

parse_args() {
	local n
	while (($#)); do
		case $1 in
		--quick) QUICK=1 ;;
		--only) (($# > 1)) || usage; ONLY=$2; shift ;;
		--only=*) ONLY=${1#*=} ;;
		--runs) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; RUNS=$2; shift ;;
		-h | --help) usage ;;
		*) echo "bench: [${SECONDS}s] unknown argument '$1'" >&2; usage ;;
		esac
		shift
	done
	for n in ${ONLY//,/ }; do
		case $n in
		micro) for n in "${MICRO_NAMES[@]}"; do WANT[$n]=1; done ;;
		echo) for n in "${ECHO_NAMES[@]}"; do WANT[$n]=1; done ;;
		scale) for n in "${SCALE_NAMES[@]}"; do WANT[$n]=1; done ;;
		*)
			[[ " ${MICRO_NAMES[*]} ${ECHO_NAMES[*]} ${SCALE_NAMES[*]} " == *" $n "* ]] ||
				{ echo "bench: [${SECONDS}s] unknown benchmark '$n'" >&2; usage; }
			WANT[$n]=1
			;;
		esac
	done
	if [[ -z $ONLY ]]; then
		for n in "${MICRO_NAMES[@]}" "${ECHO_NAMES[@]}" "${SCALE_NAMES[@]}"; do
			WANT[$n]=1
		done
	fi
}

wanted() { [[ -n ${WANT[$1]:-} ]]; }

# median VALUES...: the middle value (the lower middle of an even count);
# "-" (unmeasured) is left out, and no values give nothing.
median() {
	printf '%s\n' "$@" | grep -vx -e - -e '' | sort -g |
		awk '{ v[NR] = $0 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

# kv FILE KEY: the value of KEY=value in FILE, or nothing.
kv() { gr_kv "$1" "$2" 2>/dev/null; }

machine() {
	local cpu
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	echo "greenrun benchmarks ($([[ $QUICK == 1 ]] && echo quick || echo full) run)"
	echo "machine: ${cpu:-unknown CPU}, $(nproc) cores, Linux $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "open files: $(ulimit -Hn) (hard), pid_max $(cat /proc/sys/kernel/pid_max)"
	echo
}

# CPU pinning: micro benchmarks on CPU_MICRO, servers on CPU_SERVER, the
# load generator on CPU_LOAD; no pinning on a one-CPU machine.
pin_setup() {
	if (($(nproc) >= 2)); then
		PIN_MICRO=(taskset -c 1) PIN_SERVER=(taskset -c 0) PIN_LOAD=(taskset -c 1)
	else
		PIN_MICRO=() PIN_SERVER=() PIN_LOAD=()
	fi
}

# ---- micro ------------------------------------------------------------------

# Iterations per micro benchmark in a full run (quick: half).
declare -A MICRO_ITERS=([yield]=200000 [create]=10000 [handoff]=50000
	[condvar]=50000 [pipe]=25000 [mutex]=10000000 [recv]=500000)

bench_micro() {
	local name=$1 mode iters i out order n g m
	local -A vals
	iters=${MICRO_ITERS[$name]}
	((QUICK)) && iters=$((iters / 2))
	for ((i = 0; i < MICRO_RUNS; i++)); do
		# Natively and under greenrun in turn, first and last alternately:
		# the ratio of each pair is taken before the machine drifts.
		order=(native greenrun)
		((i % 2)) && order=(greenrun native)
		n='' g=''
		for mode in "${order[@]}"; do
			local cmd=("$BIN/micro" "$name" "$iters")
			[[ $mode == greenrun ]] && cmd=("$GREENRUN" "${cmd[@]}")
			out=$(timeout -k 5 60 "${PIN_MICRO[@]}" "${cmd[@]}" 2>&1) ||
				{ echo "bench: [${SECONDS}s] $name ($mode) failed: ${out:0:200}" >&2; continue; }
			out=$(sed -n 's/^ns_per_op=//p' <<<"$out")
			vals[$mode]+=" $out"
			[[ $mode == native ]] && n=$out || g=$out
		done
		vals[ratio]+=" $(ratio "$g" "$n")"
		vals[diff]+=" $(awk -v a="$g" -v b="$n" 'BEGIN { if (a == "" || b == "") print "-"; else print a - b }')"
	done
	for mode in native greenrun ratio diff; do
		# shellcheck disable=SC2086  # a list of numbers
		m=$(median ${vals[$mode]:-})
		[[ -n $m ]] && R[$name,$mode,ns]=$m
	done
	echo "bench: [${SECONDS}s] $name: native ${R[$name,native,ns]:-n/a} ns," \
		"greenrun ${R[$name,greenrun,ns]:-n/a} ns" >&2
}

# ---- echo servers -----------------------------------------------------------

ECHO_KEYS=(rps cpu_ns_per_req p50_us p99_us rss_kb threads idle_bytes_per_conn errors)

# echo_run MODE CONNS LOAD-ARGS...: one server + load run; the load's
# key=value output ends up in $LOAD_OUT; returns non-zero on failure.
# The threads' buffer is $BUF bytes (default ECHO_BUF).
echo_run() {
	local mode=$1 conns=$2 rc cmd BUF=${BUF:-$ECHO_BUF}
	shift 2
	case $mode in
	greenrun) cmd=("$GREENRUN" "$BIN/echo_threads" "$ECHO_STACK_KIB" "$BUF") ;;
	native) cmd=("$BIN/echo_threads" "$ECHO_STACK_KIB" "$BUF") ;;
	epoll) cmd=("$BIN/echo_epoll") ;;
	esac
	# Empty the output file: gr_start_server could read an earlier run's port.
	: >"$GR_TMP/$mode.server.out"
	gr_start_server "$mode" "${PIN_SERVER[@]}" "${cmd[@]}" || return 1
	LOAD_OUT=$GR_TMP/$mode.load.out
	timeout -k 5 120 "${PIN_LOAD[@]}" "$BIN/load" -p "$SERVER_PORT" -P "$SERVER_PID" \
		-c "$conns" "$@" >"$LOAD_OUT" 2>"$GR_TMP/$mode.load.err"
	rc=$?
	if ((rc != 0)) || ! kill -0 "$SERVER_PID" 2>/dev/null; then
		echo "bench: [${SECONDS}s] echo $mode $conns: load exit $rc$(kill -0 "$SERVER_PID" 2>/dev/null ||
			echo ', server died')" >&2
		sed 's/^/bench:   /' "$GR_TMP/$mode.load.err" "$SERVER_ERR" | head -5 >&2
		rc=1
	fi
	gr_stop_pid "$SERVER_PID"
	return "$rc"
}

bench_echo() {
	local name=$1 conns=${1#echo} mode ref i key order m
	local -A vals run
	for ((i = 0; i < ECHO_RUNS; i++)); do
		# greenrun runs next to the epoll reference, first and last in turn.
		order=(greenrun epoll native)
		((i % 2)) && order=(native epoll greenrun)
		run=()
		for mode in "${order[@]}"; do
			echo_run "$mode" "$conns" -w "$ECHO_WARMUP" -d "$ECHO_WINDOW" -t 60 || continue
			for key in "${ECHO_KEYS[@]}"; do
				run[$mode,$key]=$(kv "$LOAD_OUT" "$key")
				vals[$mode,$key]+=" ${run[$mode,$key]}"
			done
		done
		# Ratios within one run: this machine's speed drifts between runs
		# (by up to 1.5x for every server alike), not within one.
		for key in "${ECHO_KEYS[@]}"; do
			for ref in native epoll; do
				vals[ratio_$ref,$key]+=" $(ratio "${run[greenrun,$key]:-}" "${run[$ref,$key]:-}")"
			done
		done
	done
	for mode in greenrun native epoll ratio_native ratio_epoll; do
		for key in "${ECHO_KEYS[@]}"; do
			# shellcheck disable=SC2086  # a list of numbers
			m=$(median ${vals[$mode,$key]:-})
			[[ -n $m ]] && R[$name,$mode,$key]=$m
		done
	done
	echo "bench: [${SECONDS}s] $name: requests/s greenrun ${R[$name,greenrun,rps]:-n/a}," \
		"native ${R[$name,native,rps]:-n/a}, epoll ${R[$name,epoll,rps]:-n/a}" >&2
}

# ---- scale ------------------------------------------------------------------

bench_hold19000() {
	local name=hold19000
	if echo_run greenrun 19000 -d 0 -H 2 -t 90; then
		R[$name,greenrun,ok]=1
	fi
	R[$name,greenrun,connections]=$(kv "$LOAD_OUT" connections)
	R[$name,greenrun,errors]=$(kv "$LOAD_OUT" errors)
	R[$name,greenrun,threads]=$(kv "$LOAD_OUT" idle_threads)
	R[$name,greenrun,rss_kb]=$(kv "$LOAD_OUT" idle_rss_kb)
	echo "bench: [${SECONDS}s] $name: ${R[$name,greenrun,connections]:-0} connections," \
		"${R[$name,greenrun,errors]:-?} errors" >&2
}

# RSS per idle blocked connection thread of a server whose threads keep
# IDLE_BUF bytes on their stacks: the echo runs' 4 KiB buffer and the
# frames around it span two stack pages under any runtime.
bench_idle() {
	local mode
	for mode in greenrun native; do
		BUF=$IDLE_BUF echo_run "$mode" "$IDLE_CONNS" -d 0 -t 90 || continue
		R[idle,$mode,bytes]=$(kv "$LOAD_OUT" idle_bytes_per_conn)
	done
	echo "bench: [${SECONDS}s] idle: ${R[idle,greenrun,bytes]:-n/a} bytes per connection" \
		"(native ${R[idle,native,bytes]:-n/a})" >&2
}

# million MODE N: one run of build/bench/million with N threads into
# R[millionN,MODE,*].
million_run() {
	local mode=$1 n=$2 out key cmd=("$BIN/million" "$2" "$MILLION_STACK_KIB")
	[[ $mode == greenrun ]] && cmd=("$GREENRUN" "${cmd[@]}")
	out=$GR_TMP/million.$mode.$n
	if ! timeout -k 5 120 "${PIN_MICRO[@]}" "${cmd[@]}" >"$out" 2>&1; then
		echo "bench: [${SECONDS}s] million ($mode, $n threads) failed:" >&2
		head -5 "$out" | sed 's/^/bench:   /' >&2
		return
	fi
	for key in create_s release_s peak_rss_kb bytes_per_thread; do
		R[million$n,$mode,$key]=$(kv "$out" "$key")
	done
}

bench_million() {
	# Natively pid_max (32768) bounds the count: side by side at 10,000.
	million_run native 10000
	million_run greenrun 10000
	million_run greenrun "$MILLION_N"
	echo "bench: [${SECONDS}s] million: ${R[million$MILLION_N,greenrun,bytes_per_thread]:-n/a} bytes per" \
		"thread at $MILLION_N threads" >&2
}

# ---- the table --------------------------------------------------------------

# fmt UNIT VALUE: a figure for the table ("-" when not measured).
fmt() {
	[[ -n ${2:-} && $2 != - ]] || { printf -- '-'; return; }
	awk -v u="$1" -v v="$2" 'BEGIN {
		if (u == "ns") printf "%.1f ns", v
		else if (u == "us") printf (v >= 1000 ? "%.1f ms" : "%.1f us"), (v >= 1000 ? v / 1000 : v)
		else if (u == "ns_us") printf "%.2f us", v / 1000
		else if (u == "kb") printf "%.1f MiB", v / 1024
		else if (u == "bytes") printf (v >= 1024 ? "%.1f KiB" : "%d B"), (v >= 1024 ? v / 1024 : v)
		else if (u == "s") printf "%.2f s", v
		else if (u == "ratio") printf "%.3g", v
		else printf "%d", v }'
}

# thousands N: N with thousands separators (1,000,000).
thousands() {
	sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta' <<<"$1"
}

# ratio A B: A/B, or "-".
ratio() {
	awk -v a="${1:-}" -v b="${2:-}" 'BEGIN {
		if (a == "" || b == "" || b + 0 == 0) printf "-"
		else printf "%.3g", a / b }'
}

# met COND A B: "yes"/"NO" for the awk condition on a and b; "-" if unmeasured.
met() {
	awk -v a="${2:-}" -v b="${3:-}" "BEGIN {
		if (a == \"\" || b == \"\") print \"-\"; else print (($1) ? \"yes\" : \"NO\") }"
}

ROW_FMT='%-40s %12s %12s %12s %8s %8s  %-34s %s\n'

# row LABEL UNIT GREENRUN NATIVE REFERENCE [TARGET VERDICT]
row() {
	row_ratios "$1" "$2" "$3" "$4" "$5" "$(ratio "$3" "$4")" "$(ratio "$3" "$5")" "${6:-}" "${7:-}"
}

# row_ratios LABEL UNIT GREENRUN NATIVE REFERENCE GR/NAT GR/REF [TARGET VERDICT]
row_ratios() {
	printf "$ROW_FMT" "$1" "$(fmt "$2" "$3")" "$(fmt "$2" "$4")" "$(fmt "$2" "$5")" \
		"$(fmt ratio "$6")" "$(fmt ratio "$7")" "${8:-}" "${9:-}"
}

micro_rows() {
	local -A label=([yield]="green switch (sched_yield), per switch"
		[create]="pthread_create + pthread_join"
		[handoff]="mutex hand-off between 2 threads"
		[condvar]="condvar ping-pong, round trip"
		[pipe]="pipe ping-pong, round trip"
		[mutex]="uncontended mutex lock+unlock"
		[recv]="recv, data already waiting (64 B)")
	local n g v r d target verdict
	for n in "${MICRO_NAMES[@]}"; do
		wanted "$n" || continue
		g=${R[$n,greenrun,ns]:-} v=${R[$n,native,ns]:-} target='' verdict=''
		r=${R[$n,ratio,ns]:-} d=${R[$n,diff,ns]:-}
		case $n in
		yield) target='<= 50 ns' verdict=$(met 'a <= 50' "$g" 0) ;;
		create) target='>= 100x faster than native' verdict=$(met 'a * 100 <= 1' "$r" 0) ;;
		condvar) target='>= 50x faster than native' verdict=$(met 'a * 50 <= 1' "$r" 0) ;;
		mutex) target='within 2 ns of native' verdict=$(met 'a <= 2' "$d" 0) ;;
		recv) target='within 5% of native' verdict=$(met 'a <= 1.05' "$r" 0) ;;
		esac
		row_ratios "${label[$n]}" ns "$g" "$v" '' "$r" '' "$target" "$verdict"
	done
}

echo_rows() {
	local n c k i
	local -A label=([rps]="requests/s" [cpu_ns_per_req]="server CPU/request" [p50_us]="p50 latency"
		[p99_us]="p99 latency" [rss_kb]="server RSS" [threads]="server OS threads")
	local -A unit=([rps]=int [cpu_ns_per_req]=ns_us [p50_us]=us [p99_us]=us [rss_kb]=kb [threads]=int)
	for n in "${ECHO_NAMES[@]}"; do
		wanted "$n" || continue
		c=$(thousands "${n#echo}")
		for k in rps cpu_ns_per_req p50_us p99_us rss_kb threads; do
			local rn=${R[$n,ratio_native,$k]:-} re=${R[$n,ratio_epoll,$k]:-} target='' verdict=''
			case $k in
			rps) target='>= native threads' verdict=$(met 'a >= 1' "$rn" 0) ;;
			cpu_ns_per_req) target='<= 1.2x epoll reference' verdict=$(met 'a <= 1.2' "$re" 0) ;;
			p99_us) target='lower than native threads' verdict=$(met 'a < 1' "$rn" 0) ;;
			esac
			row_ratios "echo $c conns: ${label[$k]}" "${unit[$k]}" "${R[$n,greenrun,$k]:-}" \
				"${R[$n,native,$k]:-}" "${R[$n,epoll,$k]:-}" "$rn" "$re" "$target" "$verdict"
		done
	done
	if wanted echo10000; then
		row "RSS/idle conn, 10,000, $((ECHO_BUF / 1024)) KiB buffer" bytes \
			"${R[echo10000,greenrun,idle_bytes_per_conn]:-}" \
			"${R[echo10000,native,idle_bytes_per_conn]:-}" \
			"${R[echo10000,epoll,idle_bytes_per_conn]:-}" '(two stack pages: see idle)'
	fi
}

scale_rows() {
	local n
	if wanted hold19000; then
		n=${R[hold19000,greenrun,connections]:-}
		row "19,000 connections held: connections" int "$n" '' '' \
			'19,000 held, 0 errors' \
			"$(met 'a == 19000 && b == 0' "$n" "${R[hold19000,greenrun,errors]:-}")"
		row "19,000 connections held: errors" int "${R[hold19000,greenrun,errors]:-}" '' ''
		row "19,000 connections held: server RSS" kb "${R[hold19000,greenrun,rss_kb]:-}" '' ''
		row "19,000 connections held: OS threads" int "${R[hold19000,greenrun,threads]:-}" '' ''
	fi
	if wanted idle; then
		row "RSS/idle conn, $(thousands "$IDLE_CONNS"), $((IDLE_BUF / 1024)) KiB buffer" bytes \
			"${R[idle,greenrun,bytes]:-}" "${R[idle,native,bytes]:-}" '' '<= 8 KiB' \
			"$(met 'a <= 8192' "${R[idle,greenrun,bytes]:-}" 0)"
	fi
	if wanted million; then
		local n k=million10000 m=million$MILLION_N
		n=$(thousands "$MILLION_N")
		row "10,000 blocked threads: bytes/thread" bytes "${R[$k,greenrun,bytes_per_thread]:-}" \
			"${R[$k,native,bytes_per_thread]:-}" ''
		row "10,000 blocked threads: create all" s "${R[$k,greenrun,create_s]:-}" \
			"${R[$k,native,create_s]:-}" ''
		row "10,000 blocked threads: release + join" s "${R[$k,greenrun,release_s]:-}" \
			"${R[$k,native,release_s]:-}" ''
		# The target is for 1,000,000 threads: a quick run has no verdict.
		row "$n blocked threads: bytes/thread" bytes "${R[$m,greenrun,bytes_per_thread]:-}" \
			'' '' '<= 6 KiB at 1,000,000' \
			"$(((MILLION_N >= 1000000)) && met 'a <= 6144' "${R[$m,greenrun,bytes_per_thread]:-}" 0 ||
				echo -)"
		row "$n blocked threads: peak RSS" kb "${R[$m,greenrun,peak_rss_kb]:-}" '' ''
		row "$n blocked threads: create all" s "${R[$m,greenrun,create_s]:-}" '' ''
		row "$n blocked threads: release + join" s "${R[$m,greenrun,release_s]:-}" '' ''
	fi
}

print_table() {
	echo
	machine
	printf "$ROW_FMT" figure greenrun native reference gr/nat gr/ref target met
	printf '%s\n' "$(printf '%.0s-' {1..140})"
	micro_rows
	echo_rows
	scale_rows
	echo
	echo "micro: all on one CPU, native and greenrun in turn, $MICRO_RUNS times; figures are medians, and"
	echo "  each ratio (the mutex's: difference) is the median of the runs' own."
	echo "echo: the three servers back to back, $ECHO_RUNS times, greenrun next to the reference;"
	echo "  64-byte ping-pong on every connection, ${ECHO_WARMUP} s warm-up then ${ECHO_WINDOW} s measured; server"
	echo "  on CPU 0, load generator on CPU 1; thread stacks $ECHO_STACK_KIB KiB, $((ECHO_BUF / 1024)) KiB buffers;"
	echo "  reference = single-threaded epoll server; figures are medians, ratios the median of the"
	echo "  runs' own; CPU/request = server utime+stime over the window / requests; RSS per idle"
	echo "  conn = (RSS with every connection idle - RSS before) / connections."
	echo "blocked threads: $MILLION_STACK_KIB KiB pthread stacks (pthread_attr_setstacksize);" \
		"natively pid_max (32768) bounds the count,"
	echo "  so native runs 10,000; bytes/thread = (peak RSS - RSS before) / threads."
}

main() {
	local n
	parse_args "$@"
	cd "$ROOT" || exit 2
	for n in "$BIN/micro" "$BIN/echo_threads" "$BIN/echo_epoll" "$BIN/load" \
		"$BIN/million" "$ROOT/build/libgreenrun.so"; do
		[[ -x $n || -f $n ]] || { echo "bench: [${SECONDS}s] $n is missing (make bench-progs)" >&2; exit 2; }
	done
	gr_tmpdir || exit 1
	pin_setup
	if ((QUICK)); then
		MICRO_RUNS=${RUNS:-3} ECHO_RUNS=${RUNS:-1} ECHO_WARMUP=0.3 ECHO_WINDOW=1
		MILLION_N=100000
	else
		MICRO_RUNS=${RUNS:-9} ECHO_RUNS=${RUNS:-7} ECHO_WARMUP=0.5 ECHO_WINDOW=2
		MILLION_N=1000000
	fi
	machine >&2
	for n in "${MICRO_NAMES[@]}"; do wanted "$n" && bench_micro "$n"; done
	for n in "${ECHO_NAMES[@]}"; do wanted "$n" && bench_echo "$n"; done
	wanted hold19000 && bench_hold19000
	wanted idle && bench_idle
	wanted million && bench_million
	print_table
}

main "$@"
