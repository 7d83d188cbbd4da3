# shellcheck shell=bash
# tap.sh - the TAP-like reporting every integration test shares.
#
# Source it from bash:   . "$ROOT/tests/integration/tap.sh"
# It sources scripts/lib.sh too (unless the caller did), so a test that
# starts processes or needs a scratch directory calls gr_traps, then
# gr_tmpdir (both from lib.sh).
#
#   tap_require FILE... every FILE exists, or "not ok - FILE exists (run make
#                       first)", the plan, and exit 1: tests build nothing
#   check DESC CMD...   runs CMD; prints "ok - DESC" or "not ok - DESC"
#   skip DESC           counts as passed, says why it did not run
#   comment TEXT...     prints "# TEXT"
#   tap_end             prints the plan "1..N"; status 0 if nothing failed
#
# and the predicates tests pass to check: eq, ne, gt, ge, lt, le (integers
# that are not numbers make gt/ge/lt/le false, never a shell error).

if ! declare -F gr_cleanup >/dev/null; then
	# shellcheck source=scripts/lib.sh
	. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
fi

TAP_TESTS=0
TAP_FAILED=0

check() {
	local desc=$1
	shift
	TAP_TESTS=$((TAP_TESTS + 1))
	if "$@"; then
		echo "ok - $desc"
	else
		echo "not ok - $desc"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

tap_require() {
	local f
	for f; do
		if [[ ! -e $f ]]; then
			echo "not ok - $f exists (run make first)"
			echo "1..1"
			exit 1
		fi
	done
}

skip() {
	TAP_TESTS=$((TAP_TESTS + 1))
	echo "ok - # skip $1"
}

comment() { printf '# %s\n' "$*"; }

tap_end() {
	echo "1..$TAP_TESTS"
	((TAP_FAILED == 0))
}

tap_int() { [[ $1 =~ ^-?[0-9]+$ && $2 =~ ^-?[0-9]+$ ]]; }
eq() { [[ $1 == "$2" ]]; }
ne() { [[ $1 != "$2" ]]; }
gt() { tap_int "$1" "$2" && (($1 > $2)); }
ge() { tap_int "$1" "$2" && (($1 >= $2)); }
lt() { tap_int "$1" "$2" && (($1 < $2)); }
le() { tap_int "$1" "$2" && (($1 <= $2)); }
