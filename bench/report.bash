#!/usr/bin/env bash
# The markdown report of one make bench run, from $BENCH_OUT/all.json (and the
# previous run's, when there is one). Usage: bench/report.bash PART_SCRIPT...
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_OUT="${BENCH_OUT:-$REPO/.output/bench}"
ALL="$BENCH_OUT/all.json"
PREV="$BENCH_OUT/previous/all.json"
[ -f "$PREV" ] || PREV=/dev/null

jq -r '.machine | "# khelp benchmarks\n\n" +
	"Kernel \(.kernel), CPU \(.cpu) (\(.cpus) CPUs), \(.date), commit \(.commit), load average at the end \(.loadavg)" +
	(if .quick == "1" then ", QUICK=1 (fewer, shorter rounds)" else "" end) + ", \(.seconds) s in all.\n"' "$ALL"
cat <<'TXT'
Method (bench/lib.bash): sender and receiver on one CPU (taskset), the same congestion control on both ends
of every compared pair, configurations alternated within each round, many short rounds. A ratio is the
median of the per-round ratios (each configuration against its reference measured in the same round);
spread = min .. max of those ratios, IQR = interquartile range. "previous" is the same figure from the
run before; "change" is this median against it. The machine is shared (2 CPUs, other engineers build
during the run): figures whose spread is wider than 2% are noise-limited, and the spread is printed next
to every figure.

TXT

# the summary: one line per hook-path/dispatch configuration, its three ratios side by side
jq -r '
	def cell($m): (map(select(.metric == $m))[0]) as $f
		| if $f == null then "" else "**\($f.median * 1000 | round / 1000)** (\($f.min * 1000 | round / 1000) .. \($f.max * 1000 | round / 1000))" end;
	[.figures[] | select(.table == "hook path" or .table == "dispatch")] as $f
	| if ($f | length) == 0 then empty else
	"## Summary\n\nMedian of per-round ratios (min .. max); each row against its reference in the same round.\n\n" +
	"| configuration | reference | throughput | p50 latency | p99 latency |\n|---|---|---|---|---|",
	(($f | map(.row) | reduce .[] as $r ([]; if index([$r]) then . else . + [$r] end))[] as $r
	 | ($f | map(select(.row == $r))) as $g
	 | "| \($r) | \($g[0].note | sub("; .*"; "") | sub(", same CC both ends"; "")) | \($g | cell("throughput ratio")) | \($g | cell("p50 latency ratio")) | \($g | cell("p99 latency ratio")) |"),
	"" end' "$ALL"

# one table per "table" name, in the order the figures came
jq -r --slurpfile prev <(cat "$PREV" 2>/dev/null || echo '{}') '
	def num: if . == null then "" elif (. | fabs) >= 100 then (. * 10 | round / 10 | tostring)
		else (. * 1000 | round / 1000 | tostring) end;
	($prev[0].figures // []) as $p
	| .figures as $f
	| ($f | map(.table) | reduce .[] as $t ([]; if index([$t]) then . else . + [$t] end)) as $tables
	| $tables[] as $t
	| "## \($t)\n\n| configuration | metric | median | min .. max | IQR | n | previous | change | note |\n|---|---|---|---|---|---|---|---|---|",
	  ($f[] | select(.table == $t) | . as $x
	   | ($p | map(select(.table == $x.table and .row == $x.row and .metric == $x.metric)) | .[0].median) as $pm
	   | (if $pm != null and $pm != 0 and $x.median != null then (($x.median / $pm - 1) * 100) else null end) as $ch
	   | "| \($x.row) | \($x.metric) | **\($x.median | num)** \($x.unit) | \($x.min | num) .. \($x.max | num) | \($x.q1 | num) .. \($x.q3 | num) | \($x.n) | \($pm | num) | " +
	     (if $ch == null then "" else ((($ch * 10 | round) / 10 | tostring) + "%" + (if ($ch | fabs) <= 2 then "" else " (>2%)" end)) end) +
	     " | \($x.note) |"),
	  ""' "$ALL"

# targets of issue 11 that this run's figures decide
jq -r '
	def fig($t; $r; $m): [.figures[] | select(.table == $t and .row == $r and .metric == $m)][0];
	def chk($name; $f; $cmp; $lim):
		if $f == null then "| \($name) | not measured | |"
		else (if $cmp == "ge" then $f.median >= $lim else $f.median <= $lim end) as $ok
		| "| \($name) | \($f.median) (\($f.min) .. \($f.max)) | \(if $ok then "met" else "**not met**" end) |" end;
	"## Targets\n\n| target | this run: median (min .. max) | |\n|---|---|---|",
	chk("container without modules >= 0.99 x kernel"; fig("hook path"; "khelp, container without modules"; "throughput ratio"); "ge"; 0.99),
	chk("h_ertt >= 0.98 x kernel throughput"; fig("hook path"; "h_ertt"; "throughput ratio"); "ge"; 0.98),
	chk("h_ertt p99 <= 1.05 x kernel"; fig("hook path"; "h_ertt"; "p99 latency ratio"); "le"; 1.05),
	chk("h_ertt + kh_cubic >= 0.98 x kh_cubic alone"; fig("hook path"; "h_ertt + kh_cubic"; "throughput ratio"); "ge"; 0.98),
	chk("h_ertt + kh_cubic p99 <= 1.05 x kh_cubic alone"; fig("hook path"; "h_ertt + kh_cubic"; "p99 latency ratio"); "le"; 1.05),
	chk("khelp entry code <= 10 ns above the floor"; fig("per callback"; "khelp entry code (kt_pp1 - lookup floor)"; "ns per callback"); "le"; 10),
	chk("h_ertt <= 25 ns above the lookup floor"; fig("per callback"; "h_ertt above the lookup floor"; "ns per callback"); "le"; 25),
	""' "$ALL"

# parts that wrote no JSON: their printed output as it is
for p in "$@"; do
	name="$(basename "$p" .sh)"
	[ -s "$BENCH_OUT/$name.jsonl" ] && continue
	[ -f "$BENCH_OUT/$name.log" ] || continue
	echo "## $name (printed output; this part writes no JSON yet)"
	echo
	echo '```'
	grep -v '^#' "$BENCH_OUT/$name.log" | sed 's/\x1b\[[0-9;]*m//g'
	echo '```'
	echo
done

echo "## Plots"
echo
for png in "$BENCH_OUT"/*.png; do
	[ -f "$png" ] && echo "![$(basename "$png" .png)]($(basename "$png"))"
done
exit 0
