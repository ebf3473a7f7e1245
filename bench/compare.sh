#!/usr/bin/env bash
# Two make bench runs, figure by figure: bench/compare.sh OLD.json NEW.json
# (.output/bench/all.json of each run; run.sh keeps the previous one in
# .output/bench/previous/all.json). For every figure both runs have, the two
# medians, the change, and whether it is within 2% ("ok") or not (">2%"); a
# change beyond 2% that stays inside the figure's own spread in both runs
# (the old median within the new min .. max and the other way round) is
# marked "in spread": the method cannot tell the runs apart there. ns
# differences (rows that are already differences of two figures) are
# compared in ns: within 2 ns counts as agreeing.
# Prints a markdown table and a summary line per unit; exit 0 (a report, not a test).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: bench/compare.sh OLD.json NEW.json" >&2; exit 2; }
for f in "$1" "$2"; do
	jq -e '.figures' "$f" >/dev/null 2>&1 || { echo "Error: $f: not a make bench all.json" >&2; exit 1; }
done
jq -r -n --slurpfile a "$1" --slurpfile b "$2" '
	def r3: if . == null then "" else (. * 1000 | round / 1000 | tostring) end;
	def key: "\(.table)\u0000\(.row)\u0000\(.metric)";
	($a[0].figures | map({key: key, value: .}) | from_entries) as $old
	| ($b[0].figures | map(select(.median != null and $old[key] != null and $old[key].median != null))) as $both
	| [ $both[] | $old[key] as $o
	    | (.row | test(" - |above")) as $isdiff
	    | (if $isdiff then (.median - $o.median) else (if $o.median != 0 then (.median / $o.median - 1) * 100 else null end) end) as $ch
	    | (if $ch == null then "n/a"
	       elif ($isdiff and ($ch | fabs) <= 2) or ((($isdiff | not)) and ($ch | fabs) <= 2) then "ok"
	       elif ($o.median >= .min and $o.median <= .max and .median >= $o.min and .median <= $o.max) then "in spread"
	       else ">2%" end) as $v
	    | {t: .table, r: .row, m: .metric, u: .unit, o: $o.median, n: .median, ch: $ch, isdiff: $isdiff, v: $v,
	       os: "\($o.min | r3) .. \($o.max | r3)", ns: "\(.min | r3) .. \(.max | r3)"} ] as $rows
	| "Old: \($a[0].machine.date // "?") (commit \($a[0].machine.commit // "?"), QUICK=\($a[0].machine.quick // "?"), \($a[0].machine.seconds // "?") s); new: \($b[0].machine.date // "?") (commit \($b[0].machine.commit // "?"), QUICK=\($b[0].machine.quick // "?"), \($b[0].machine.seconds // "?") s).\n",
	  "| table | configuration | metric | old (min .. max) | new (min .. max) | change | |",
	  "|---|---|---|---|---|---|---|",
	  ($rows[] | "| \(.t) | \(.r) | \(.m) | \(.o | r3) (\(.os)) | \(.n | r3) (\(.ns)) | " +
	    (if .ch == null then "" elif .isdiff then "\(.ch * 10 | round / 10) ns" else "\(.ch * 10 | round / 10)%" end) +
	    " | \(if .v == ">2%" then "**>2%**" else .v end) |"),
	  "",
	  ($rows | group_by(.u)[] | "- unit \(.[0].u): \(length) figures, \(map(select(.v == "ok")) | length) within 2%" +
	     (if .[0].u == "ns" then " (or 2 ns for differences)" else "" end) +
	     ", \(map(select(.v == "in spread")) | length) beyond 2% but within both runs'"'"' spread, \(map(select(.v == ">2%")) | length) beyond 2% and beyond the spread")'
