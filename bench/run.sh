#!/usr/bin/env bash
# make bench: every bench/<part>.sh side by side in one run, one report.
# Not tests: no pass/fail, never part of make test or CI.
#
# The whole run holds /tmp/khelp-e2e.lock (KHELP_BENCH_LOCKED=1 tells the parts
# not to take it again). Each part appends JSON lines to $BENCH_OUT/<part>.jsonl
# (contract: TEAM.md, method: bench/lib.bash); a part that writes none has its
# printed output put into the report as it is. The previous run of the same
# kind (QUICK or full) is kept in $BENCH_OUT/previous[-quick]/ and shown next to
# this run's figures; bench/compare.sh writes the figure-by-figure comparison
# to $BENCH_OUT/compare.md and its summary into the report.
#   QUICK=1     fewer and shorter rounds, without hertt (< 3 minutes; hookpath has
#               h_ertt's rows)
#   PARTS="a b" run only these parts (bench/a.sh bench/b.sh)
set -uo pipefail
# shellcheck source=bench/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mkdir -p "$BENCH_OUT"
# keep the last complete run of the same kind for the run-to-run comparison
PREVDIR="$BENCH_OUT/previous$([ "$QUICK" = 1 ] && echo -quick)"
if [ -f "$BENCH_OUT/all.json" ] && [ "$(jq -r .machine.quick "$BENCH_OUT/all.json")" = "$QUICK" ]; then
	rm -rf "$PREVDIR"
	mkdir -p "$PREVDIR"
	cp "$BENCH_OUT/all.json" "$PREVDIR/"
fi
rm -f "$BENCH_OUT"/*.jsonl "$BENCH_OUT"/*.log "$BENCH_OUT"/*.meta.json "$BENCH_OUT"/*.png "$BENCH_OUT/compare.md"

if [ -n "${PARTS:-}" ]; then
	parts=()
	for p in $PARTS; do parts+=("bench/$p.sh"); done
else
	parts=()
	for p in bench/*.sh; do
		case $p in
		bench/run.sh | bench/compare.sh) continue;;
		bench/hertt.sh) [ "$QUICK" = 1 ] && continue;;
		esac
		parts+=("$p")
	done
fi
# parts that do not read QUICK yet get shorter settings of their own knobs
if [ "$QUICK" = 1 ]; then
	export FID_SECONDS="${FID_SECONDS:-2}"
fi
t_start=$(date +%s)
declare -A took rc
for p in "${parts[@]}"; do
	name="$(basename "$p" .sh)"
	echo "== $name ==" >&2
	t0=$(date +%s)
	bash "$p" 2>&1 | tee "$BENCH_OUT/$name.log"
	rc[$name]=${PIPESTATUS[0]}
	took[$name]=$(($(date +%s) - t0))
	echo "== $name: exit ${rc[$name]}, ${took[$name]} s ==" >&2
done
total=$(($(date +%s) - t_start))

# ---- raw data: every figure of this run, with the machine --------------------------
{
	bl_machine | jq -c --arg total "$total" '{machine: (. + {seconds: ($total | tonumber)})}'
	cat "$BENCH_OUT"/*.jsonl 2>/dev/null | jq -s -c '{figures: .}'
} | jq -s 'add' >"$BENCH_OUT/all.json"

bash bench/plot.bash || echo "plots failed (gnuplot)" >&2
PREV="$PREVDIR/all.json" bash bench/report.bash "${parts[@]}" >"$BENCH_OUT/report.md"
if [ -f "$PREVDIR/all.json" ]; then
	bash bench/compare.sh "$PREVDIR/all.json" "$BENCH_OUT/all.json" >"$BENCH_OUT/compare.md"
	{
		echo
		echo "## Against the previous run (bench/compare.sh, all figures: compare.md)"
		echo
		grep '^Old:' "$BENCH_OUT/compare.md"
		echo
		grep '^- unit' "$BENCH_OUT/compare.md"
		echo
		echo "Ratios beyond 2% and beyond both runs' spread:"
		echo
		grep -F '**>2%**' "$BENCH_OUT/compare.md" | grep ' ratio ' || echo "(none)"
	} >>"$BENCH_OUT/report.md"
fi
{
	echo
	echo "## Parts"
	echo
	echo "| part | exit | seconds |"
	echo "|---|---|---|"
	for p in "${parts[@]}"; do
		name="$(basename "$p" .sh)"
		echo "| $name | ${rc[$name]} | ${took[$name]} |"
	done
	echo "| **total** | | $total |"
} >>"$BENCH_OUT/report.md"
echo "report: $BENCH_OUT/report.md ($total s)" >&2
