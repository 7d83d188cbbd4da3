#!/bin/bash
# Integration test for the launcher, scripts/greenrun.
#
# The launcher is tested on its own, independently of the shim: every check
# runs a copy of it from a temporary layout T/scripts/greenrun +
# T/build/libgreenrun.so, where the .so is an empty shared object compiled
# here, so the loader accepts it and it changes nothing. Where the .so only
# has to exist and is never loaded, a dummy file stands in for it.
#
# The checks run once with the launcher executed directly (#!/bin/sh) and
# once under each of dash and bash, when installed.
# Output is TAP-like; the exit status is 0 only if every check passed.
# shellcheck disable=SC2016,SC2034 # check expressions are eval'd later
set -u

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
launcher=$root/scripts/greenrun
cc=${CC:-gcc}

T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
T=$(cd -P "$T" && pwd)              # physical path, as the launcher reports it

# shellcheck source=tests/integration/tap.sh
. "$root/tests/integration/tap.sh"

label=''

# check_eval DESCRIPTION EXPRESSION: EXPRESSION is eval'd after a run; when
# it is false, the run's status, stdout and stderr follow.
check_eval() {
	local before=$TAP_FAILED
	check "$label$1" eval "$2"
	((TAP_FAILED > before)) || return 0
	printf '#   status: %s\n' "$st"
	printf '%s\n' "$out" | sed 's/^/#   stdout: /'
	sed 's/^/#   stderr: /' "$T/err"
}

# run COMMAND...: sets out (stdout), err (stderr) and st (exit status).
run() { out=$("$@" 2>"$T/err"); st=$?; err=$(cat "$T/err"); }
# gr ARGS...: run the launcher copy under test, the way the current suite does.
gr() { run "${sh[@]}" "$T/scripts/greenrun" "$@"; }

# True if stderr is exactly one newline-terminated line.
one_line() { [ "$(wc -l <"$T/err")" -eq 1 ] && [ -z "$(tail -c1 "$T/err")" ]; }
# has WORD...: stdout contains every WORD.
has() { local w; for w; do [[ $out == *"$w"* ]] || return 1; done; }
# err_is PREFIX: exactly one stderr line, starting with PREFIX.
err_is() { one_line && [[ $err == "$1"* ]]; }

# --- Fixtures ---------------------------------------------------------------

echo 'int greenrun_test_empty;' >"$T/empty.c"
mkdir -p "$T/scripts" "$T/build" "$T/bin" "$T/elsewhere/bin" \
	"$T/prefix/bin" "$T/prefix/lib/greenrun" "$T/nolib/scripts" \
	"$T/with space/scripts" "$T/with space/build"
if ! "$cc" -shared -fPIC -o "$T/build/libgreenrun.so" "$T/empty.c" ||
	! "$cc" -shared -fPIC -o "$T/other.so" "$T/empty.c"; then
	echo "Bail out! cannot build a trivial shared object with $cc"
	exit 1
fi
so=$T/build/libgreenrun.so
cp "$launcher" "$T/scripts/greenrun"

# Installed layout, symlinks to the launcher, and layouts that must fail.
cp "$launcher" "$T/prefix/bin/greenrun"
cp "$so" "$T/prefix/lib/greenrun/libgreenrun.so"
ln -s "$T/scripts/greenrun" "$T/elsewhere/bin/abs" # no ../build next to these
ln -s abs "$T/elsewhere/bin/rel"                   # symlink to a symlink
cp "$launcher" "$T/nolib/scripts/greenrun"
cp "$launcher" "$T/with space/scripts/greenrun"
: >"$T/with space/build/libgreenrun.so"         # dummy: never loaded

# A script whose name looks like an option, and a non-executable file.
printf '#!/bin/sh\necho "-opt ran: $*"\n' >"$T/bin/-opt"
chmod +x "$T/bin/-opt"
: >"$T/plain"

# Static and dynamic test binaries; setuid/setgid copies of a system binary.
printf '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n' \
	>"$T/hello.c"
have_static=0
"$cc" -static -o "$T/static" "$T/hello.c" 2>/dev/null && have_static=1
"$cc" -o "$T/dynamic" "$T/hello.c"
cp /bin/true "$T/suid" && chmod u+s "$T/suid"
cp /bin/true "$T/sgid" && chmod g+s "$T/sgid"

# --- The launcher file itself -----------------------------------------------

st='' out=''
: >"$T/err"
version=$(sed -n 's/^version=//p' "$launcher")
check_eval "launcher is executable" '[ -x "$launcher" ]'
check_eval "launcher parses with sh -n" 'sh -n "$launcher" 2>"$T/err"'
if command -v dash >/dev/null; then
	check_eval "launcher parses with dash -n" 'dash -n "$launcher" 2>"$T/err"'
fi
check_eval "version line found (version=$version)" \
	'[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]'

# --- Behaviour, once per way of running the launcher ------------------------

suite() {
	# Usage and version.
	gr --help
	check_eval "--help exits 0 with usage on stdout" \
		'[ $st -eq 0 ] && [[ $out == Usage:\ greenrun* ]] && [ -z "$err" ]'
	check_eval "--help lists options and environment" \
		'has -h --help -V --version GREENRUN_STACK_SIZE GREENRUN_DEBUG'
	local help=$out
	gr -h
	check_eval "-h is --help" '[ $st -eq 0 ] && [ "$out" = "$help" ]'
	gr --version
	check_eval "--version prints 'greenrun $version'" \
		'[ $st -eq 0 ] && [ "$out" = "greenrun $version" ] && [ -z "$err" ]'
	gr -V
	check_eval "-V is --version" '[ $st -eq 0 ] && [ "$out" = "greenrun $version" ]'

	# Usage errors: status 2, one line on stderr, nothing run.
	gr --bogus true
	check_eval "unknown option: exit 2, one line naming it" \
		'[ $st -eq 2 ] && err_is "greenrun: " && [[ $err == *--bogus* ]] &&
		 [[ $err == *"try '\''greenrun --help'\''"* ]] && [ -z "$out" ]'
	gr -opt
	check_eval "option-like program without -- is an unknown option" \
		'[ $st -eq 2 ] && err_is "greenrun: " && [[ $err == *-opt* ]]'
	gr
	check_eval "no program: exit 2, one line" '[ $st -eq 2 ] && err_is "greenrun: "'
	gr --
	check_eval "-- and no program: exit 2, one line" \
		'[ $st -eq 2 ] && err_is "greenrun: "'
	gr "no-such-program-$$" x
	check_eval "program not in PATH: exit 2, one line naming it" \
		'[ $st -eq 2 ] && err_is "greenrun: " && [[ $err == *no-such-program-$$* ]]'
	gr "$T/no-such-file"
	check_eval "program path missing: exit 2, one line" \
		'[ $st -eq 2 ] && err_is "greenrun: " && [[ $err == *no-such-file* ]]'
	gr "$T/plain"
	check_eval "program not executable: exit 2, one line" \
		'[ $st -eq 2 ] && err_is "greenrun: "'
	gr "$T"
	check_eval "program is a directory: exit 2, one line" \
		'[ $st -eq 2 ] && err_is "greenrun: "'

	# Arguments reach the program untouched.
	PATH=$T/bin:$PATH gr -- -opt a
	check_eval "-- ends options: program named like an option runs" \
		'[ $st -eq 0 ] && [ "$out" = "-opt ran: a" ] && [ -z "$err" ]'
	gr sh -c 'printf "%s\n" "$@"' sh --version -x '' 'a b'
	check_eval "options after the program go to the program" \
		'[ $st -eq 0 ] && [ "$out" = "$(printf "%s\n" --version -x "" "a b")" ]'

	# Exit status, PID and signals are the program's own.
	gr sh -c 'exit 7'
	check_eval "exit status propagates (7)" '[ $st -eq 7 ]'
	"${sh[@]}" "$T/scripts/greenrun" sh -c 'echo $$' >"$T/pid" 2>"$T/err" &
	local pid=$!
	wait "$pid"; st=$? out=$(cat "$T/pid")
	check_eval "the program keeps the launcher's PID" '[ "$out" = "$pid" ]'
	gr sh -c 'kill -TERM $$'
	check_eval "program killing itself with SIGTERM: status 143" '[ $st -eq 143 ]'
	rm -f "$T/ready"
	"${sh[@]}" "$T/scripts/greenrun" \
		sh -c 'echo $$ >"$1.tmp"; mv "$1.tmp" "$1"; exec sleep 30' sh "$T/ready" \
		>/dev/null 2>"$T/err" &
	pid=$!
	for _ in $(seq 100); do [ -s "$T/ready" ] && break; sleep 0.1; done
	out=$(cat "$T/ready" 2>/dev/null)
	kill -TERM "$pid"; wait "$pid"; st=$?
	check_eval "SIGTERM sent to the PID reaches the program: status 143" \
		'[ "$out" = "$pid" ] && [ $st -eq 143 ]'

	# LD_PRELOAD as the program sees it.
	local show='printf "%s\n" "$LD_PRELOAD"'
	run env -u LD_PRELOAD "${sh[@]}" "$T/scripts/greenrun" sh -c "$show"
	check_eval "LD_PRELOAD is the absolute path of build/libgreenrun.so" \
		'[ $st -eq 0 ] && [ "$out" = "$so" ] && [ -z "$err" ]'
	LD_PRELOAD=$T/other.so gr sh -c "$show"
	check_eval "LD_PRELOAD: prepended, existing entry kept" \
		'[ "$out" = "$so:$T/other.so" ]'
	LD_PRELOAD="$T/other.so $so" gr sh -c "$show"
	check_eval "LD_PRELOAD: not added twice" '[ "$out" = "$T/other.so $so" ]'
	run env -u LD_PRELOAD -C "$T" "${sh[@]}" scripts/greenrun sh -c "$show"
	check_eval "LD_PRELOAD is absolute when started by a relative path" \
		'[ "$out" = "$so" ]'
	run env -u LD_PRELOAD "${sh[@]}" "$T/elsewhere/bin/rel" sh -c "$show"
	check_eval "started through symlinks: finds build/ next to the real script" \
		'[ $st -eq 0 ] && [ "$out" = "$so" ]'
	run env -u LD_PRELOAD "${sh[@]}" "$T/prefix/bin/greenrun" sh -c "$show"
	check_eval "installed layout: finds lib/greenrun/libgreenrun.so" \
		'[ $st -eq 0 ] && [ "$out" = "$T/prefix/lib/greenrun/libgreenrun.so" ]'

	# Shared object problems.
	run "${sh[@]}" "$T/nolib/scripts/greenrun" sh -c 'echo ran'
	check_eval "missing .so: exit 2, one line naming the paths looked at" \
		'[ $st -eq 2 ] && err_is "greenrun: " && [ -z "$out" ] &&
		 [[ $err == *"$T/nolib/build/libgreenrun.so"* ]] &&
		 [[ $err == *"$T/nolib/lib/greenrun/libgreenrun.so"* ]]'
	run "${sh[@]}" "$T/with space/scripts/greenrun" sh -c 'echo ran'
	check_eval "a .so path LD_PRELOAD cannot hold: exit 2, one line" \
		'[ $st -eq 2 ] && err_is "greenrun: " && [ -z "$out" ]'

	# Warnings: one line, and the program still runs.
	if [ "$have_static" = 1 ]; then
		gr "$T/static"
		check_eval "static binary: one warning line, program still runs" \
			'[ $st -eq 0 ] && [ "$out" = hello ] &&
			 err_is "greenrun: warning: " && [[ $err == *static* ]] &&
			 [[ $err == *LD_PRELOAD* ]]'
	else
		skip "${label}static binary warning ($cc -static failed)"
	fi
	gr "$T/dynamic"
	check_eval "dynamic binary: no warning" \
		'[ $st -eq 0 ] && [ "$out" = hello ] && [ -z "$err" ]'
	PATH=$T/bin:$PATH gr -- -opt
	check_eval "script: no warning" '[ $st -eq 0 ] && [ -z "$err" ]'
	gr "$T/suid"
	check_eval "setuid binary: one warning line, program still runs" \
		'[ $st -eq 0 ] && err_is "greenrun: warning: " &&
		 [[ $err == *setuid* ]] && [[ $err == *LD_PRELOAD* ]]'
	gr "$T/sgid"
	check_eval "setgid binary: one warning line, program still runs" \
		'[ $st -eq 0 ] && err_is "greenrun: warning: " && [[ $err == *setgid* ]]'
}

sh=() label='[direct] ' && suite
for s in dash bash; do
	if command -v "$s" >/dev/null; then
		sh=("$s") label="[$s] " && suite
	else
		skip "[$s] $s not installed"
	fi
done

tap_end
