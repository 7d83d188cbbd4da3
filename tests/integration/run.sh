#!/usr/bin/env bash
# Runs every tests/integration/test_*.sh and sums up. Each test prints
# `ok - ...` / `not ok - ...` lines and exits non-zero when one failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
failed=()
for t in "$here"/test_*.sh; do
    name=$(basename "$t" .sh)
    echo "== $name"
    start=$SECONDS
    if bash "$t"; then
        echo "== $name: passed ($((SECONDS - start)) s)"
    else
        echo "== $name: FAILED ($((SECONDS - start)) s)"
        failed+=("$name")
    fi
done
if [ ${#failed[@]} -ne 0 ]; then
    echo "integration tests failed: ${failed[*]}"
    exit 1
fi
echo "integration tests: all passed"
