#!/usr/bin/env bash
# Bounded fuzzing: bash tests/fuzz/run.sh SECONDS TARGET...
#
# TARGET is a libFuzzer binary, e.g. .output/fuzz/fuzz_meta. For each one:
#  1. replay tests/fuzz/regress/<target>/* (earlier crash inputs); a crash
#     there fails the target without fuzzing;
#  2. fuzz for SECONDS on a copy of tests/fuzz/corpus/<name>/ (<name> is the
#     target without its fuzz_ prefix) in a temporary directory, with the
#     regression inputs as an extra read-only corpus, so the checked-in
#     corpus never changes;
#  3. print the number of executions and whether it crashed. A crash input
#     is copied into tests/fuzz/regress/<target>/ to be replayed from now on.
# Exits non-zero if any target crashed. UBSan reports count as crashes.
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"

if [ $# -lt 2 ] || ! [[ "$1" =~ ^[0-9]+$ ]]; then
	echo "usage: $0 SECONDS TARGET..." >&2
	exit 2
fi
seconds=$1
shift

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}"

tmp="$(mktemp -d /tmp/khelp-fuzz.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

failed=0
summary=()

for bin in "$@"; do
	target="$(basename "$bin")"
	name="${target#fuzz_}"
	corpus_src="$here/corpus/$name"
	regress="$here/regress/$target"
	work="$tmp/$target"
	mkdir -p "$work/corpus" "$work/artifacts" "$regress"

	echo "=== $target: ${seconds}s"
	if [ ! -x "$bin" ]; then
		echo "$target: $bin is not an executable file"
		summary+=("$target: MISSING ($bin)")
		failed=1
		continue
	fi
	if [ -d "$corpus_src" ]; then
		cp -a "$corpus_src/." "$work/corpus/"
	else
		echo "$target: no seed corpus in $corpus_src, starting empty"
	fi

	# 1. regression inputs first
	mapfile -t cases < <(find "$regress" -maxdepth 1 -type f ! -name '.*' | sort)
	if [ ${#cases[@]} -gt 0 ]; then
		echo "$target: replaying ${#cases[@]} regression input(s)"
		if ! "$bin" -runs=1 -error_exitcode=77 "${cases[@]}" >"$work/replay.log" 2>&1; then
			cat "$work/replay.log"
			echo "$target: CRASHED on a regression input in $regress"
			summary+=("$target: CRASHED replaying regression inputs (see above)")
			failed=1
			continue
		fi
	fi

	# 2. fuzz
	start=$(date +%s)
	"$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
		-error_exitcode=77 -artifact_prefix="$work/artifacts/" \
		"$work/corpus" "$regress" >"$work/fuzz.log" 2>&1
	rc=$?
	elapsed=$(($(date +%s) - start))
	execs="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$work/fuzz.log" | tail -n1)"
	[ -n "$execs" ] || execs="?"

	# 3. report; keep what crashed
	mapfile -t found < <(find "$work/artifacts" -maxdepth 1 -type f \
		\( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
	if [ "$rc" -ne 0 ] || [ ${#found[@]} -gt 0 ]; then
		# the report, without the fuzzing progress lines
		grep -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|INITED|RELOAD)' "$work/fuzz.log" | tail -n 80
		kept=()
		for f in "${found[@]}"; do
			cp "$f" "$regress/"
			kept+=("tests/fuzz/regress/$target/$(basename "$f")")
		done
		echo "$target: CRASHED (exit $rc) after $execs executions in ${elapsed}s"
		for k in "${kept[@]}"; do
			echo "$target: crash input kept as $k"
		done
		summary+=("$target: $execs executions in ${elapsed}s, CRASHED${kept:+ (${kept[*]})}")
		failed=1
	else
		tail -n 12 "$work/fuzz.log" | grep -E '^(stat::|Done|INFO: .*corpus)' || true
		echo "$target: $execs executions in ${elapsed}s, no crash"
		summary+=("$target: $execs executions in ${elapsed}s, no crash")
	fi
done

echo
for s in "${summary[@]}"; do
	echo "$s"
done
exit "$failed"
