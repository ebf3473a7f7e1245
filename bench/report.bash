#!/usr/bin/env bash
# The markdown report of one make bench run, from $BENCH_OUT/all.json (and the
# previous run's, when there is one). Usage: bench/report.bash PART_SCRIPT...
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_OUT="${BENCH_OUT:-$REPO/.output/bench}"
ALL="$BENCH_OUT/all.json"
PREV="${PREV:-$BENCH_OUT/previous/all.json}"
[ -f "$PREV" ] || PREV=/dev/null

jq -r '.machine | "# khelp benchmarks\n\n" +
	"Kernel \(.kernel), CPU \(.cpu) (\(.cpus) CPUs), \(.date), commit \(.commit), load average at the end \(.loadavg)" +
	(if .quick == "1" then ", QUICK=1 (fewer, shorter rounds)" else "" end) + ".\n\n**Elapsed: \(.seconds / 60 | floor) min \(.seconds % 60) s** (\(if .quick == "1" then "QUICK=1, target < 3 min" else "target < 15 min" end)).\n"' "$ALL"
if [ -f "$BENCH_OUT/hookpath.meta.json" ]; then
	jq -r '"Noise: load average \(.loadavg) when the hook-path part ended; up to \(.max_tcp_probe_links // "?") tcp_probe programs attached on the machine at a state switch (ours included: other engineers'"'"' khelpds run theirs on our sockets too).\n"' "$BENCH_OUT/hookpath.meta.json"
fi
cat <<'TXT'
Method (bench/lib.bash): sender and receiver on one CPU (taskset), the same congestion control on both ends
of every compared pair, configurations alternated within each round, many short rounds. A module's
tp_btf program runs on every TCP socket of the host, so the hook-path configurations are grouped into
states (which containers and bpftool objects exist) and every state is visited once per round:
"kernel alone" runs no program at all. A ratio is the
median of the per-round ratios (each configuration against its reference measured in the same round);
spread = min .. max of those ratios, IQR = interquartile range. "previous" is the same figure from the
run before; "change" is this median against it. The machine is shared (2 CPUs, other engineers build
during the run): figures whose spread is wider than 2% are noise-limited, and the spread is printed next
to every figure.

TXT

# the summary: one line per hook-path/dispatch configuration, its three ratios side by side,
# with issue 11's target where it sets one
jq -r '
	def cell($m): (map(select(.metric == $m))[0]) as $f
		| if $f == null then "" else "**\($f.median * 1000 | round / 1000)** (\($f.min * 1000 | round / 1000) .. \($f.max * 1000 | round / 1000))" end;
	def med($g; $m): ($g | map(select(.metric == $m))[0].median);
	def target($r):
		if $r == "khelp, container without modules" then {t: ">= 0.99", ok: (.tp >= 0.99)}
		elif $r == "h_ertt" or $r == "h_ertt + kh_cubic" then {t: ">= 0.98; p99 <= 1.05", ok: (.tp >= 0.98 and (.p99 == null or .p99 <= 1.05))}
		else null end;
	[.figures[] | select(.table == "hook path" or .table == "dispatch")] as $f
	| if ($f | length) == 0 then empty else
	"## Summary\n\nMedian of per-round ratios (min .. max); each row against its reference in the same round; issue 11'"'"'s target where it sets one.\n\n" +
	"| configuration | reference | throughput | p50 latency | p99 latency | target | |\n|---|---|---|---|---|---|---|",
	(($f | map(.row) | reduce .[] as $r ([]; if index([$r]) then . else . + [$r] end))[] as $r
	 | ($f | map(select(.row == $r))) as $g
	 | ({tp: med($g; "throughput ratio"), p99: med($g; "p99 latency ratio")} | target($r)) as $t
	 | "| \($r) | \($g[0].note | sub("; .*"; "") | sub(", same CC both ends"; "")) | \($g | cell("throughput ratio")) | \($g | cell("p50 latency ratio")) | \($g | cell("p99 latency ratio")) | \($t.t // "") | \(if $t == null then "" elif $t.ok then "met" else "**not met**" end) |"),
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

# targets of issue 11, each next to this run's figure
FIDLOG="$BENCH_OUT/fidelity.log"
# goodput ratio of ALGO against REF in the loss setting, from fidelity.sh's printed table
# (columns found by the header line "setting algorithm ... goodput_Mbit/s ...")
fid_ratio() {
	[ -f "$FIDLOG" ] && awk -v a="$1" -v r="$2" '
		$1 == "setting" && $2 == "algorithm" { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == "loss" && ("goodput_Mbit/s" in col) { g[$2] = $col["goodput_Mbit/s"] }
		END { if (g[a] > 0 && g[r] > 0) printf "%.3f\n", g[a] / g[r] }' "$FIDLOG"
}
jq -r --arg kc "$(fid_ratio kh_cubic cubic)" --arg kn "$(fid_ratio kh_newreno reno)" \
	--slurpfile prev <(cat "$PREV" 2>/dev/null || echo '{}') '
	def r3: if . == null then "" else (. * 1000 | round / 1000 | tostring) end;
	def fig($t; $r; $m): [.figures[] | select(.table == $t and .row == $r and .metric == $m)][0];
	def val($f): if $f == null then "not measured" else "\($f.median | r3) \($f.unit) (\($f.min | r3) .. \($f.max | r3), n=\($f.n))" end;
	def chk($name; $f; $cmp; $lim):
		if $f == null then "| \($name) | not measured | **not measured** |"
		else (if $cmp == "ge" then $f.median >= $lim elif $cmp == "le" then $f.median <= $lim
		      else ($f.median >= $lim[0] and $f.median <= $lim[1]) end) as $ok
		| (if $cmp == "ge" then $f.min >= $lim elif $cmp == "le" then $f.max <= $lim else $ok end) as $sure
		| "| \($name) | \(val($f)) | \(if $ok then (if $sure then "met" else "met by the median (not by every round)" end) else "**not met**" end) |" end;
	def ref($name; $f; $want):
		if $f == null then "| \($name) | not measured | |"
		else "| \($name) | \(val($f)) | measured here (issue: \($want) ns), \(if (($f.median - $want) | fabs) <= 5 then "agrees" else "differs" end) |" end;
	def num($s): if $s == "" or $s == null then null else ($s | tonumber? // null) end;
	def fid($name; $s):
		num($s) as $v
		| if $v == null then "| \($name) | not measured (fidelity part) | **not measured** |"
		  else "| \($name) | \($v) (goodput ratio, loss setting, fidelity part) | \(if $v >= 0.97 and $v <= 1.03 then "met" else "**not met**" end) |" end;
	. as $all
	| ($prev[0].figures // []) as $p
	| (.machine.quick == "1") as $quick
	| "## Targets of issue 11\n\n" +
	  "Verdict by the median; \"met by the median\" when some rounds fall on the other side of the limit.\n\n" +
	  "| target | this run: median (min .. max, n) | verdict |\n|---|---|---|",
	chk("container without modules: throughput >= 0.99 x kernel alone"; fig("hook path"; "khelp, container without modules"; "throughput ratio"); "ge"; 0.99),
	chk("h_ertt: throughput >= 0.98 x kernel alone (cubic both ends)"; fig("hook path"; "h_ertt"; "throughput ratio"); "ge"; 0.98),
	chk("h_ertt: p99 latency <= 1.05 x kernel alone"; fig("hook path"; "h_ertt"; "p99 latency ratio"); "le"; 1.05),
	chk("h_ertt + kh_cubic: throughput >= 0.98 x kh_cubic alone"; fig("hook path"; "h_ertt + kh_cubic"; "throughput ratio"); "ge"; 0.98),
	chk("h_ertt + kh_cubic: p99 latency <= 1.05 x kh_cubic alone"; fig("hook path"; "h_ertt + kh_cubic"; "p99 latency ratio"); "le"; 1.05),
	fid("kh_cubic / cubic goodput on the bottleneck: 0.97 .. 1.03"; $kc),
	fid("kh_newreno / reno goodput on the bottleneck: 0.97 .. 1.03"; $kn),
	ref("floor: empty sockops program, bpf_stats on"; fig("per callback"; "floor: empty sockops (bpftool)"; "sockops ns per call"); 55),
	ref("floor: sockops with one sk_storage lookup"; fig("per callback"; "floor: sockops + one sk_storage lookup (bpftool)"; "sockops ns per call"); 77),
	chk("khelp entry code <= 10 ns above the matching floor: h_ertt - plain h_ertt, sockops"; fig("per callback"; "khelp'"'"'s entry code on h_ertt (h_ertt - plain)"; "sockops ns per call"); "le"; 10),
	chk("the same, tcp_est_in (tp_btf; the same code in both: the method'"'"'s error)"; fig("per callback"; "khelp'"'"'s entry code on h_ertt (h_ertt - plain)"; "tp_btf ns per call"); "le"; 10),
	chk("khelp entry code <= 10 ns: kt_pp1 - lookup floor, sockops"; fig("per callback"; "khelp entry code (kt_pp1 - lookup floor)"; "sockops ns per call"); "le"; 10),
	chk("h_ertt <= 25 ns above the lookup floor, sockops"; fig("per callback"; "h_ertt above the lookup floor"; "sockops ns per call"); "le"; 25),
	chk("h_ertt <= 25 ns above the lookup floor, tcp_est_in (tp_btf)"; fig("per callback"; "h_ertt above the lookup floor"; "tp_btf ns per call"); "le"; 25),
	chk("10,000 containers: drop to active on all < 1 s"; fig("control plane"; "10000 containers"; "drop to active"); "le"; 1000),
	chk("10,000 containers: khelpd RSS < 64 MiB"; fig("control plane"; "10000 containers"; "khelpd RSS"); "le"; 64),
	(if $quick then "| make bench QUICK=1 < 3 minutes | \(.machine.seconds) s | \(if .machine.seconds < 180 then "met" else "**not met**" end) |"
	 else "| make bench < 15 minutes | \(.machine.seconds) s | \(if .machine.seconds < 900 then "met" else "**not met**" end) |" end),
	(if ($p | length) == 0 then "| two consecutive runs agree on every ratio within 2% | no previous run in \(env.BENCH_OUT // ".output/bench")/previous | not measured |"
	 else ([$all.figures[] | select(.unit == "x" and .median != null) | . as $x
	        | ($p | map(select(.table == $x.table and .row == $x.row and .metric == $x.metric)) | .[0].median) as $pm
	        | select($pm != null and $pm != 0) | (($x.median / $pm - 1) * 100 | fabs)]) as $d
	      | "| two consecutive runs agree on every ratio within 2% | \($d | map(select(. <= 2)) | length) of \($d | length) ratios within 2% of the previous run; largest change \($d | max // 0 | . * 10 | round / 10)% | \(if ($d | length) > 0 and ($d | all(. <= 2)) then "met" else "**not met**: the spread is printed next to every figure" end) |" end),
	""' "$ALL"

# every row of issue 11's "Rows" list, and whether this run has its figures
jq -r --arg fid "$([ -f "$FIDLOG" ] && grep -c '^loss \|^queue ' "$FIDLOG" || echo 0)" '
	def has($t; $r; $m): any(.figures[]; .table == $t and (.row | test($r)) and (.metric | test($m)));
	def row($name; $ok): "| \($name) | \(if $ok then "yes" else "**missing**" end) |";
	"## Rows of issue 11 in this run\n\n| row | figures present |\n|---|---|",
	row("1. kernel alone (the reference of every hook-path ratio)"; has("throughput"; "^kernel alone$"; "throughput")),
	row("1. khelp, container without modules: throughput, p50, p99"; has("hook path"; "container without modules"; "throughput") and has("hook path"; "container without modules"; "p99")),
	row("1. h_ertt: throughput, p50, p99"; has("hook path"; "^h_ertt$"; "throughput") and has("hook path"; "^h_ertt$"; "p99")),
	row("1. h_ertt + kh_cubic vs kernel cubic (and vs kh_cubic alone)"; has("hook path"; "^h_ertt \\+ kh_cubic"; "throughput") and has("hook path"; "kh_cubic alone"; "throughput")),
	row("1. 1, 4 and 8 per-packet modules on one container"; has("hook path"; "^1 per-packet"; "throughput") and has("hook path"; "^4 per-packet"; "throughput") and has("hook path"; "^8 per-packet"; "throughput")),
	row("1. every-ACK source on sockets of containers that do not use it"; has("hook path"; "every-ACK"; "throughput") and has("per callback"; "sockets without"; "ns")),
	row("1. floors: empty sockops, one sk_storage lookup, h_ertt as one plain program"; has("per callback"; "floor: empty"; "ns") and has("per callback"; "floor: sockops \\+ one"; "ns") and has("per callback"; "logic alone"; "ns")),
	row("2. dispatch: multi-attach vs one dispatcher at 1, 4, 8 modules"; has("dispatch"; "^1 modules"; "throughput") and has("dispatch"; "^8 modules"; "throughput") and has("per callback"; "one dispatcher"; "ns")),
	row("3. CC fidelity on the shaped bottleneck (fidelity part, printed table)"; ($fid | tonumber) > 0),
	row("3. struct_ops cost per GB sent"; has("cc cost"; "kh_cubic"; "per GB") and has("cc cost"; "kh_newreno"; "per GB")),
	row("4. drop to active at 1, 100, 1,000 containers"; has("control plane"; "^1 containers"; "drop") and has("control plane"; "^100 containers"; "drop") and has("control plane"; "^1000 containers"; "drop")),
	row("4. drop to active and khelpd RSS at 10,000 containers (full run only)"; has("control plane"; "^10000 containers"; "drop") and has("control plane"; "^10000 containers"; "RSS")),
	row("4. khelpd startup with many policies; khelpctl conns with many connections"; has("control plane"; "^startup"; "start") and has("control plane"; "connections"; "conns")),
	row("5. datapath: XDP and TC vs none vs xdp-loader"; any(.figures[]; .table | test("datapath|offload"; "i"))),
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
