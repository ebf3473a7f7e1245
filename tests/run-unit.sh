#!/usr/bin/env bash
# Runs cmocka unit test binaries and sums up their test cases.
#   bash tests/run-unit.sh BINARY...
# Prints each binary's output, then one line "N passed, N failed" counting
# test cases. A binary that dies (signal, timeout, missing summary) counts
# the test cases it announced and did not report as passed as failed.
# Exits non-zero if any test case failed or any binary crashed.
set -uo pipefail

UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}	# seconds per binary

if [ $# -eq 0 ]; then
	echo "usage: $0 TEST_BINARY..." >&2
	exit 2
fi

# cmocka's plain output is what we parse
export CMOCKA_MESSAGE_OUTPUT=STDOUT
unset CMOCKA_TEST_ABORT

# sum of the numbers in lines matching an extended regex with one (N) group
sum_of() {
	local re=$1 text=$2
	sed -nE "s/$re/\\1/p" <<<"$text" | awk '{ s += $1 } END { print s + 0 }'
}

total_passed=0
total_failed=0
crashed=()

for bin in "$@"; do
	echo "=== $bin"
	if [ ! -x "$bin" ]; then
		echo "$bin: not an executable file"
		crashed+=("$bin (missing)")
		total_failed=$((total_failed + 1))
		continue
	fi
	out=$(timeout "$UNIT_TIMEOUT" "$bin" 2>&1)
	rc=$?
	printf '%s\n' "$out"

	announced=$(sum_of '^\[=+\] Running ([0-9]+) test\(s\)\.$' "$out")
	passed=$(sum_of '^\[  PASSED  \] ([0-9]+) test\(s\)\.$' "$out")
	failed=$(sum_of '^\[  FAILED  \] ([0-9]+) test\(s\).*$' "$out")

	why=
	if [ "$rc" -eq 124 ]; then
		why="timed out after ${UNIT_TIMEOUT}s"
	elif [ "$rc" -gt 128 ]; then
		why="killed by signal $((rc - 128))"
	elif [ $((passed + failed)) -lt "$announced" ]; then
		why="exited ($rc) before reporting all of its $announced test(s)"
	elif [ "$announced" -eq 0 ]; then
		why="ran no tests (exit status $rc)"
	elif [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
		why="exit status $rc with no failed test reported"
	fi
	if [ -n "$why" ]; then
		echo "CRASH: $bin $why"
		crashed+=("$bin: $why")
		missing=$((announced - passed - failed))
		[ "$missing" -lt 1 ] && missing=1
		failed=$((failed + missing))
	fi
	total_passed=$((total_passed + passed))
	total_failed=$((total_failed + failed))
done

echo
for c in "${crashed[@]}"; do
	echo "crashed: $c"
done
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ] && [ ${#crashed[@]} -eq 0 ]
