#!/usr/bin/env bash
# test_stock.sh - stock multithreaded Debian tools under greenrun.
#
# A deterministic 40 MB input (text from a seeded awk generator: random
# sentences, log lines, hex numbers) goes through each tool natively and
# under scripts/greenrun. The outputs must be byte-identical, and the
# compressors must round-trip (the native compressed file, decompressed
# under greenrun and natively, gives the input back):
#
#   pigz -p 4   and  pigz -d -p 4
#   xz -T 4 -1  and  xz -d -T 4   (-1: 3 MiB blocks, so 13 blocks for the
#                                  4 threads; the default preset would take
#                                  a minute here)
#   zstd -T4    and  zstd -d
#   LC_ALL=C sort --parallel=4 -S 64M  (output sorted, nothing lost)
#
# While each compression, the sort and the Python program below run,
# /proc/PID/status is sampled every 10 ms (only once PID runs the tool
# itself, not the launcher script): under greenrun every sample must show
# Threads: 1, natively at least one must show more, which proves the
# sampling sees the threads it claims to miss.
#
# Then tests/progs/py_threading.py (threading and queue with several
# threads) runs with Debian's /usr/bin/python3 natively and under greenrun:
# same output, exit 0, one OS thread under greenrun.
#
# Every run is bounded: native runs by NATIVE_LIMIT seconds, greenrun runs
# by 10 s + 4 x the native run's time (greenrun runs all the threads on one
# CPU), and any run that uses no CPU time for IDLE_LIMIT seconds is taken as
# hung (these runs only compute between files). A hung run is killed and
# reported, with a backtrace of where it waited when gdb is there.
#
# Needs pigz, xz-utils, zstd, coreutils, mawk (or any awk), python3 installed
# (`make deps`); a missing tool is reported as `not ok - TOOL installed`.
# Builds nothing: run `make` first. Output is TAP-like; the exit status is
# non-zero if any check failed. Everything it writes is in a mktemp
# directory removed on exit.
set -u -o pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) || exit 2
GREENRUN=$ROOT/scripts/greenrun
PY=/usr/bin/python3
PY_PROG=$ROOT/tests/progs/py_threading.py
SIZE=${STOCK_SIZE:-40000000}        # bytes of input
NATIVE_LIMIT=60                     # seconds for a native run
SAMPLE_S=0.01                       # seconds between two /proc samples
IDLE_LIMIT=5                        # seconds without CPU time: hung

TMP=$(mktemp -d "${TMPDIR:-/tmp}/greenrun-stock.XXXXXX") || exit 2
PID=
cleanup() {
	if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
		kill -KILL "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck source=tests/integration/tap.sh
. "$ROOT/tests/integration/tap.sh"

same_file() { cmp -s -- "$1" "$2"; }

# show_file FILE LABEL: FILE's first lines as TAP comments.
show_file() {
	[[ -s $1 ]] && head -n 20 "$1" | sed "s/^/# $2: /"
}

# A FIFO that never gets data, open for reading and writing: `read -t` on it
# sleeps without starting a process.
mkfifo "$TMP/nap" || exit 2
exec {NAP}<>"$TMP/nap"

# hung_backtrace PID: where a hung process waits, as TAP comments.
hung_backtrace() {
	command -v gdb >/dev/null || return
	# One frame a line: its number, function and library.
	timeout -k 2 20 gdb -q -p "$1" -batch -ex 'bt 15' </dev/null 2>/dev/null |
		awk '/^#/ {
			lib = match($0, / from [^ ]+$/) ? substr($0, RSTART) : ""
			print "#   " $1 " " ($2 ~ /^0x/ ? $4 : $2) lib
		}'
}

# sampled NAME LIMIT IN OUT CMD...: runs CMD <IN >OUT 2>$TMP/NAME.err and
# watches it every SAMPLE_S seconds:
#   - its Threads: in /proc/PID/status, counted only while PID's name is
#     NAME's first word (after greenrun's exec, not the launcher script);
#   - that it ends within LIMIT seconds, and that it keeps using CPU time:
#     these tools only compute between a file and a file, so IDLE_LIMIT
#     seconds without any CPU time means it waits for something that will
#     not come (a green thread blocking the only OS thread, say).
# A hung run is killed after a backtrace of where it waits. Sets RC, HUNG (a
# reason, empty if none), SECS (whole seconds, rounded up), THREADS (largest
# Threads: seen), SAMPLES (how many were taken).
sampled() {
	local name=$1 limit=$2 in=$3 out=$4 comm=${1%% *}
	local start now cpu last_cpu=-1 last_busy k v n s t st fields
	shift 4
	THREADS=0 SAMPLES=0 HUNG=''
	# bash's own notice of a killed job would land in the TAP output.
	{
		"$@" <"$in" >"$out" 2>"$TMP/$name.err" &
		PID=$!
		start=${EPOCHREALTIME/./} last_busy=$start
		while :; do
			n='' s='' t='' st=''
			{
				while read -r k v; do
					case $k in
					Name:) n=$v ;;
					State:) s=$v ;;
					Threads:) t=$v ;;
					esac
				done <"/proc/$PID/status"
				read -r st <"/proc/$PID/stat"
			}
			[[ $s == Z* ]] && break                       # exited
			if [[ -z $s || -z $st ]]; then
				# Gone, or /proc unreadable for a moment (in the middle of
				# the launcher's exec under load): look again.
				kill -0 "$PID" 2>/dev/null || break
				read -r -t "$SAMPLE_S" -u "$NAP"
				continue
			fi
			if [[ $n == "$comm" && -n $t ]]; then
				SAMPLES=$((SAMPLES + 1))
				((t > THREADS)) && THREADS=$t
			fi
			read -r -a fields <<<"${st##*) }"  # fields[0] is field 3, State
			cpu=$((fields[11] + fields[12]))  # utime + stime, in ticks
			now=${EPOCHREALTIME/./}
			((cpu != last_cpu)) && last_cpu=$cpu last_busy=$now
			if ((now - start > limit * 1000000)); then
				HUNG="still running after $limit s"
			elif ((now - last_busy > IDLE_LIMIT * 1000000)); then
				HUNG="no CPU time used for $IDLE_LIMIT s"
			fi
			if [[ -n $HUNG ]]; then
				echo "# $name: $HUNG: killed; it waits in:"
				hung_backtrace "$PID"
				kill -KILL "$PID"
				break
			fi
			read -r -t "$SAMPLE_S" -u "$NAP"
		done
		wait "$PID"
		RC=$?
	} 2>/dev/null
	PID=
	SECS=$(((${EPOCHREALTIME/./} - start + 999999) / 1000000))
}

# greenrun_limit SECS: the bound of a greenrun run whose native run took
# SECS: greenrun runs on one CPU what runs on up to 4 natively.
greenrun_limit() { echo $((10 + 4 * $1)); }

status_text() {
	if [[ -n $HUNG ]]; then
		echo "hung: $HUNG"
	elif ((RC > 128)); then
		echo "$RC (signal $((RC - 128)))"
	else
		echo "$RC"
	fi
}

have() {
	if command -v "$1" >/dev/null; then
		return 0
	fi
	check "$1 installed" false
	return 1
}

# The input: a few kinds of lines from a Park-Miller generator (exact in
# awk's doubles, so any awk gives the same bytes), in random order.
generate() {
	awk -v bytes="$SIZE" '
	function rnd(n) { x = (x * 16807) % 2147483647; return x % n }
	BEGIN {
		nw = split("the of and to in is that it for was on are as with his " \
			"they at be this from have or by one had not but what all were " \
			"when we there can an your which their said if do will each " \
			"about how up out them then she many some so these would other " \
			"into has more her two like him see time could no make than " \
			"first been its who now people my made over did down only way " \
			"find use may water long little very after words called just " \
			"where most know get through back much before go good new write " \
			"our used me man too any day same right look think also around " \
			"another came come work three word must because does part even " \
			"place well such", w, " ")
		split("INFO WARN DEBUG ERROR", lv, " ")
		x = 12345
		while (total < bytes) {
			k = rnd(8)
			if (k < 4) {
				n = 3 + rnd(12); s = w[1 + rnd(nw)]
				for (j = 1; j < n; j++) s = s " " w[1 + rnd(nw)]
			} else if (k < 7) {
				s = sprintf("%s request %d from 10.0.%d.%d path /%s/%s status %d",
					lv[1 + rnd(4)], seq++, rnd(4), rnd(256), w[1 + rnd(nw)],
					w[1 + rnd(nw)], 200 + 100 * rnd(4))
			} else {
				s = sprintf("%08x %08x %08x", rnd(2147483647), rnd(65536),
					rnd(2147483647))
			}
			print s
			total += length(s) + 1
		}
	}' >"$TMP/input"
}

# native_and_greenrun LABEL IN CMD...: runs CMD on IN natively into
# $TMP/LABEL.native and under greenrun into $TMP/LABEL.greenrun (LABEL is
# the tool's name and what it does, e.g. "pigz -p 4"), checks both exit 0
# and that the outputs are identical. Sets N_THREADS, G_THREADS, G_SAMPLES.
native_and_greenrun() {
	local label=$1 in=$2 f=${1// /_} limit
	shift 2
	sampled "$label" "$NATIVE_LIMIT" "$in" "$TMP/$f.native" "$@"
	N_THREADS=$THREADS
	check "$label: exits 0 natively (status $(status_text), ${SECS} s)" eq "$RC" 0
	((RC == 0)) || show_file "$TMP/$label.err" "native stderr"
	limit=$(greenrun_limit "$SECS")
	sampled "$label" "$limit" "$in" "$TMP/$f.greenrun" "$GREENRUN" "$@"
	G_THREADS=$THREADS G_SAMPLES=$SAMPLES
	check "$label: exits 0 under greenrun (status $(status_text), ${SECS} s)" eq "$RC" 0
	((RC == 0)) || show_file "$TMP/$label.err" "greenrun stderr"
	check "$label: greenrun output identical to native ($(wc -c <"$TMP/$f.native") bytes)" \
		same_file "$TMP/$f.native" "$TMP/$f.greenrun"
}

# threads LABEL: the Threads: checks for the last native_and_greenrun.
threads() {
	check "$1: 1 OS thread under greenrun (max Threads: $G_THREADS in $G_SAMPLES samples)" \
		eq "$G_THREADS/$((G_SAMPLES > 0))" 1/1
	check "$1: more than 1 OS thread natively (max Threads: $N_THREADS)" \
		gt "$N_THREADS" 1
}

# compressor LABEL DLABEL EXT CMD... -- DCMD...: compression checks, then
# the round trip: the native compressed file decompressed natively and under
# greenrun must give back the input.
compressor() {
	local label=$1 dlabel=$2 ext=$3 cmd=() dcmd=() f
	shift 3
	while (($#)) && [[ $1 != -- ]]; do cmd+=("$1"); shift; done
	shift
	dcmd=("$@")
	native_and_greenrun "$label" "$TMP/input" "${cmd[@]}"
	threads "$label"
	f=$TMP/${label// /_}.native
	cp -- "$f" "$TMP/packed.$ext"
	native_and_greenrun "$dlabel" "$TMP/packed.$ext" "${dcmd[@]}"
	check "$dlabel: greenrun restores the input" \
		same_file "$TMP/input" "$TMP/${dlabel// /_}.greenrun"
	rm -f -- "$TMP"/*.native "$TMP"/*.greenrun "$TMP/packed.$ext"
}

sorted() { LC_ALL=C sort -c -- "$1" 2>/dev/null; }
same_size() { (($(wc -c <"$1") == $(wc -c <"$2"))); }

test_sort() {
	local label="sort --parallel=4 -S 64M" f=sort_--parallel=4_-S_64M
	LC_ALL=C TMPDIR=$TMP native_and_greenrun "$label" "$TMP/input" \
		sort --parallel=4 -S 64M
	threads "$label"
	check "$label: greenrun output is sorted" sorted "$TMP/$f.greenrun"
	check "$label: greenrun output has every byte of the input" \
		same_size "$TMP/input" "$TMP/$f.greenrun"
	rm -f -- "$TMP"/*.native "$TMP"/*.greenrun
}

test_python() {
	local label="python3 py_threading.py" f=python3_py_threading.py
	if [[ ! -x $PY ]] || ! "$PY" -c 'import threading, queue' 2>/dev/null; then
		check "python3 installed ($PY with threading and queue)" false
		return
	fi
	native_and_greenrun "$label" /dev/null "$PY" "$PY_PROG"
	threads "$label"
	if ! same_file "$TMP/$f.native" "$TMP/$f.greenrun"; then
		diff -u --label native --label greenrun "$TMP/$f.native" \
			"$TMP/$f.greenrun" | head -n 40 | sed 's/^/# /'
	fi
}

main() {
	local start
	tap_require "$GREENRUN" "$ROOT/build/libgreenrun.so" "$PY_PROG"
	have awk || { tap_end; exit 1; }
	start=$SECONDS
	generate
	check "input: $SIZE bytes generated ($((SECONDS - start)) s)" \
		gt "$(wc -c <"$TMP/input")" $((SIZE - 1))
	if have pigz; then
		compressor "pigz -p 4" "pigz -d -p 4" gz pigz -p 4 -c -- pigz -d -p 4 -c
	fi
	if have xz; then
		compressor "xz -T 4 -1" "xz -d -T 4" xz xz -T 4 -1 -c -- xz -d -T 4 -c
	fi
	if have zstd; then
		compressor "zstd -T4" "zstd -d" zst zstd -T4 -q -c -- zstd -d -q -c
	fi
	if have sort; then
		test_sort
	fi
	test_python
	tap_end
}

main
