#!/usr/bin/env bash
# test_getent.sh - Debian's getent (libc-bin) resolving names under greenrun.
#
# getent is single-threaded: under greenrun its main thread is a green
# thread, so each lookup runs on libuv's thread pool (shim/dns.c) while it
# parks. Every query below runs natively and under scripts/greenrun; stdout
# and exit status must be identical:
#
#   getent ahosts localhost        getaddrinfo
#   getent ahostsv4 localhost      getaddrinfo, AF_INET
#   getent ahosts 127.0.0.1        getaddrinfo, numeric
#   getent hosts 127.0.0.1         gethostbyaddr
#   getent hosts localhost         gethostbyname2
#
# Only names /etc/hosts answers are asked (the machine may have no network).
#
# With strace installed, one more check proves the pool did the work: under
# greenrun `getent ahosts localhost` creates OS threads (the pool's), natively
# none. Without strace (or where ptrace is not allowed) it is skipped.
#
# Builds nothing: run `make` first. Output is TAP-like; the exit status is
# non-zero if any check failed.
set -u -o pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) || exit 2
GREENRUN=$ROOT/scripts/greenrun
TIMEOUT=20                          # seconds per run

# shellcheck source=tests/integration/tap.sh
. "$ROOT/tests/integration/tap.sh"
gr_traps
gr_tmpdir || exit 2

# run OUTPREFIX CMD...: stdout, stderr and exit status of CMD, bounded.
run() {
	local out=$1
	shift
	timeout -k 5 "$TIMEOUT" "$@" </dev/null >"$out.out" 2>"$out.err"
	echo $? >"$out.rc"
}

same() {
	local name=$1 n=$GR_TMP/$2.native g=$GR_TMP/$2.greenrun
	shift 2
	run "$n" getent "$@"
	run "$g" "$GREENRUN" getent "$@"
	if cmp -s "$n.out" "$g.out" && cmp -s "$n.rc" "$g.rc"; then
		check "getent $*: same output and status natively and under greenrun ($name)" true
		return
	fi
	check "getent $*: same output and status natively and under greenrun ($name)" false
	echo "# status: native $(cat "$n.rc"), greenrun $(cat "$g.rc")"
	diff -u --label native --label greenrun "$n.out" "$g.out" | head -n 20 | sed 's/^/# /'
	head -n 10 "$g.err" | sed 's/^/# greenrun stderr: /'
}

# threads_created OUTPREFIX CMD...: how many OS threads CMD's processes
# created (clone with CLONE_THREAD), or nothing when strace cannot trace.
threads_created() {
	local out=$1
	shift
	timeout -k 5 "$TIMEOUT" strace -f -qq -e trace=clone,clone3 -o "$out.strace" \
		"$@" </dev/null >/dev/null 2>"$out.err" || return
	grep -c 'CLONE_THREAD' "$out.strace"
}

pool_used() {
	local native greenrun
	if ! command -v strace >/dev/null; then
		skip "the lookup runs on the thread pool (strace not installed)"
		return
	fi
	native=$(threads_created "$GR_TMP/st.native" getent ahosts localhost)
	greenrun=$(threads_created "$GR_TMP/st.greenrun" "$GREENRUN" getent ahosts localhost)
	if [[ -z $native || -z $greenrun ]]; then
		skip "the lookup runs on the thread pool (strace cannot trace here)"
		return
	fi
	if ((native == 0 && greenrun > 0)); then
		check "the lookup runs on the thread pool: $greenrun OS threads under greenrun, none natively" true
	else
		check "the lookup runs on the thread pool: $greenrun OS threads under greenrun, $native natively" false
	fi
}

main() {
	tap_require "$ROOT/build/libgreenrun.so"
	if ! command -v getent >/dev/null; then
		echo "not ok - getent installed (libc-bin)"
		echo "1..1"
		exit 1
	fi
	same getaddrinfo ahosts ahosts localhost
	same "getaddrinfo, AF_INET" ahostsv4 ahostsv4 localhost
	same "getaddrinfo, numeric" ahosts-num ahosts 127.0.0.1
	same gethostbyaddr hosts-addr hosts 127.0.0.1
	same gethostbyname2 hosts-name hosts localhost
	pool_used
	tap_end
}

main
