#!/usr/bin/env bash
# make test: unit tests (cmocka) then end-to-end tests (bats, real BPF and TCP).
# Ends with one line "N passed, N failed" over both; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.." || exit 1
passed=0
failed=0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

echo "== unit tests =="
if [ $# -gt 0 ]; then
	bash tests/run-unit.sh "$@" | tee "$log"
	rc=${PIPESTATUS[0]}
	line="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n1)"
	if [ -n "$line" ]; then
		passed=$((passed + $(awk '{print $1}' <<<"$line")))
		failed=$((failed + $(awk '{print $3}' <<<"$line")))
	fi
	# a unit runner that failed without counting a failure (a crash) counts as one
	if [ "$rc" -ne 0 ] && { [ -z "$line" ] || [ "$(awk '{print $3}' <<<"$line")" = 0 ]; }; then
		failed=$((failed + 1))
	fi
fi

echo "== end-to-end tests =="
bash tests/run-e2e.sh | tee "$log"
e2e_ok=$(grep -cE '^ok ' "$log")
e2e_fail=$(grep -cE '^not ok ' "$log")
planned=$(sed -nE 's/^1\.\.([0-9]+)$/\1/p' "$log" | head -n1)
passed=$((passed + e2e_ok))
failed=$((failed + e2e_fail))
if [ -n "$planned" ] && [ $((e2e_ok + e2e_fail)) -lt "$planned" ]; then
	echo "# bats stopped after $((e2e_ok + e2e_fail)) of $planned tests"
	failed=$((failed + planned - e2e_ok - e2e_fail))
fi

left="$(ip netns list 2>/dev/null | grep -cE '^k[0-9a-f]+[ab]( |$)')"
[ "$left" -eq 0 ] || echo "# warning: $left test network namespaces left behind"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
