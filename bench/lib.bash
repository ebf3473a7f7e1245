# bench/lib.bash: the method every bench/<part>.sh shares. A part's first
# lines are `set -eu...` and `source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"`:
# this file moves to the repository, sources tests/e2e/lib.bash (the fixture:
# khelpd, namespaces, cgroups, cleanup) and re-runs the part under the lock.
#
#   - a part takes /tmp/khelp-e2e.lock for its whole run, unless bench/run.sh
#     already holds it (KHELP_BENCH_LOCKED=1): bl_lock, with the part's
#     arguments, at the end of this file
#   - sender and receiver run on ONE CPU (taskset -c $BENCH_CPU), so the veth
#     path is CPU-bound and throughput tracks the cost per byte
#   - the same congestion control on both ends of every compared pair
#   - configurations alternate within each round (rotated start, bl_order),
#     many short rounds; a figure is the median of the per-round ratios
#     (each configuration against its reference measured in the same round),
#     printed with min/max and the interquartile range (bl_emit)
#   - QUICK=1: fewer and shorter rounds (make bench QUICK=1)
# Results are JSON lines in $BENCH_OUT/<part>.jsonl, one object per figure:
#   {"table","row","metric","median","min","max","q1","q3","n","unit","note","values"}
# ("values": the per-round values the figure was made of)

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
# shellcheck source=tests/e2e/lib.bash
source tests/e2e/lib.bash
BENCH_OUT="${BENCH_OUT:-$REPO/.output/bench}"
QUICK="${QUICK:-0}"
BENCH_CPU="${BENCH_CPU:-1}"
BENCH_LOCK="${BENCH_LOCK:-/tmp/khelp-e2e.lock}"
export BENCH_OUT QUICK BENCH_CPU

# bl_lock "$@": re-run the calling script under the e2e lock unless run.sh holds it
bl_lock() {
	if [ "${KHELP_BENCH_LOCKED:-}" != 1 ]; then
		export KHELP_BENCH_LOCKED=1
		exec flock "$BENCH_LOCK" bash "$0" "$@"
	fi
}

# bl_q NORMAL QUICK: the value for this run
bl_q() { if [ "$QUICK" = 1 ]; then echo "$2"; else echo "$1"; fi; }

# bl_order ROUND NAME...: the names rotated by ROUND (every name leads once in
# len(NAME) rounds), reversed on odd rounds (no name always follows the same one)
bl_order() {
	local r="$1" i n
	shift
	local a=("$@")
	n=${#a[@]}
	local out=()
	for ((i = 0; i < n; i++)); do out+=("${a[$(((i + r) % n))]}"); done
	if ((r % 2)); then
		for ((i = n - 1; i >= 0; i--)); do printf '%s\n' "${out[$i]}"; done
	else
		printf '%s\n' "${out[@]}"
	fi
}

# bl_stats: numbers on stdin -> "median min max q1 q3 n" (quartiles by the
# nearest-rank median of each half)
bl_stats() {
	sort -g | awk '
		{ v[NR] = $1 }
		function med(lo, hi,   m) { m = hi - lo + 1; return (m % 2) ? v[lo + (m - 1) / 2] : (v[lo + m / 2 - 1] + v[lo + m / 2]) / 2 }
		END {
			if (NR == 0) { print "null null null null null 0"; exit }
			h = int(NR / 2)
			q1 = (NR > 1) ? med(1, h) : v[1]
			q3 = (NR > 1) ? med(NR - h + 1, NR) : v[1]
			printf "%.6g %.6g %.6g %.6g %.6g %d\n", med(1, NR), v[1], v[NR], q1, q3, NR
		}'
}

# bl_emit PART TABLE ROW METRIC UNIT NOTE VALUE...: one figure, from its per-round values
bl_emit() {
	local part="$1" table="$2" row="$3" metric="$4" unit="$5" note="$6"
	shift 6
	local s med min max q1 q3 n
	local vals
	vals="$(printf '%s\n' "$@" | grep -E '^-?[0-9.]+([eE][-+]?[0-9]+)?$' || true)"
	s="$(printf '%s\n' "$vals" | grep . | bl_stats)"
	mkdir -p "$BENCH_OUT"
	read -r med min max q1 q3 n <<<"$s"
	jq -cn --arg t "$table" --arg r "$row" --arg m "$metric" --arg u "$unit" --arg no "$note" \
		--argjson med "$med" --argjson min "$min" --argjson max "$max" --argjson q1 "$q1" \
		--argjson q3 "$q3" --argjson n "$n" --argjson v "$(printf '%s\n' "$vals" | jq -cs .)" \
		'{table: $t, row: $r, metric: $m, median: $med, min: $min, max: $max, q1: $q1, q3: $q3, n: $n, unit: $u, note: $no, values: $v}' \
		>>"$BENCH_OUT/$part.jsonl"
	printf '  %-14s %-34s %-22s %10s  [%s .. %s] n=%s %s\n' "$table" "$row" "$metric" "$med" "$min" "$max" "$n" "$unit" >&2
}

# bl_ratios A B: per-line ratios A[i]/B[i] of two files of per-round values
bl_ratios() { paste "$1" "$2" | awk '$1 != "" && $2 > 0 { printf "%.6f\n", $1 / $2 }'; }

# bl_diffs A B: per-line differences A[i] - B[i]
bl_diffs() { paste "$1" "$2" | awk '$1 != "" && $2 != "" { printf "%.3f\n", $1 - $2 }'; }

# bl_exec CGROUP|- NETNS CMD...: CMD in CGROUP ("-": the caller's), in NETNS, on
# the benchmark CPU, in the foreground
bl_exec() {
	local cg="$1" ns="$2"
	shift 2
	if [ "$cg" = - ]; then
		taskset -c "$BENCH_CPU" ip netns exec "$ns" "$@"
	else
		# join the cgroup first: `ip netns exec` remounts /sys and hides the cgroup mount
		bash -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' _ \
			"$cg" taskset -c "$BENCH_CPU" ip netns exec "$ns" "$@"
	fi
}

# bl_bg CGROUP|- NETNS LOG CMD...: the same in the background (a server); its pid in PIDS
bl_bg() {
	local cg="$1" ns="$2" log="$3"
	shift 3
	bl_exec "$cg" "$ns" "$@" >"$log" 2>&1 &
	PIDS+=("$!")
}

# bl_prog_stats ID...: "run_time_ns run_cnt" summed over the programs (run_cnt: the largest)
bl_prog_stats() {
	local id t=0 c=0 pt pc
	for id in "$@"; do
		read -r pt pc < <(bpftool -j prog show id "$id" | jq -r '"\(.run_time_ns // 0) \(.run_cnt // 0)"')
		t=$((t + pt))
		((pc > c)) && c=$pc
	done
	echo "$t $c"
}

# bl_machine: one JSON object describing where and when this ran
bl_machine() {
	jq -cn --arg kernel "$(uname -r)" \
		--arg cpu "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" \
		--arg cpus "$(nproc)" --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
		--arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg quick "$QUICK" \
		--arg commit "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)" \
		'{kernel: $kernel, cpu: $cpu, cpus: $cpus, date: $date, loadavg: $load, quick: $quick, commit: $commit}'
}

# sourced without arguments, "$@" here is the part's own
bl_lock "$@"
