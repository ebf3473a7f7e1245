#!/usr/bin/env bash
# Plots of one make bench run (gnuplot, PNG) from $BENCH_OUT/all.json:
#   ratio.png        throughput ratios of the hook path and dispatch rows
#   throughput.png   Mbit/s per configuration, median with min..max
#   latency.png      sockperf p50/p99 per configuration
#   callback.png     ns per call (bpf_stats) per program kind and configuration
#   attach.png       drop-to-active latency vs containers, from any figure whose metric matches
#                    /drop.to.active/ and whose row names the container count, e.g.
#                    {"table":"control plane","row":"1000 containers","metric":"drop-to-active","unit":"ms",...}
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_OUT="${BENCH_OUT:-$REPO/.output/bench}"
ALL="$BENCH_OUT/all.json"
D="$(mktemp -d)"
trap 'rm -rf "$D"' EXIT

# TABLE METRIC -> tsv: label median min max
tsv() {
	jq -r --arg t "$1" --arg m "$2" '.figures[] | select(.table == $t and .metric == $m) |
		[.row, .median, .min, .max] | @tsv' "$ALL"
}
# OUT TITLE YLABEL -> the settings of a per-configuration plot (one x tic per row)
per_config() {
	cat <<GP
set terminal pngcairo size 1000,560 noenhanced font ",10"
set output "$1"
set title "$2"
set ylabel "$3"
set xtics rotate by -30 left
set yrange [0:*]
set grid ytics
set datafile separator "\t"
set bmargin 9
set rmargin 22
set offsets 0.5, 0.5, 0, 0
GP
}
bars() { # OUT TITLE YLABEL FILE [GNUPLOT SETTINGS]
	[ -s "$4" ] || return 0
	gnuplot <<GP
$(per_config "$1" "$2" "$3")
set style fill solid 0.5 border -1
set boxwidth 0.6
${5:-}
plot "$4" using 0:2:xtic(1) with boxes notitle, "" using 0:2:3:4 with yerrorbars lc rgb "black" pt 0 title "min .. max"
GP
}
# throughput ratios of the hook path and dispatch tables
jq -r '.figures[] | select((.table == "hook path" or .table == "dispatch") and .metric == "throughput ratio") |
	[.row, .median, .min, .max] | @tsv' "$ALL" >"$D/ratio"
bars "$BENCH_OUT/ratio.png" "Throughput ratio vs its reference (median of per-round ratios, min .. max)" "ratio" "$D/ratio" \
	'set yrange [0.5:1.3]; set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb "red"'
tsv throughput throughput >"$D/tput"
bars "$BENCH_OUT/throughput.png" "TCP throughput per configuration (one CPU, median of rounds)" "Mbit/s" "$D/tput"
# the programs' own figures (not the differences between them), sockops and tp_btf apart
jq -r '.figures[] | select(.table == "per callback" and (.row | test(" - |above") | not)) |
	[(.row + " [" + (.metric | sub(" ns per call"; "")) + "]"), .median, .min, .max] | @tsv' "$ALL" >"$D/cb"
bars "$BENCH_OUT/callback.png" "Cost per call: sockops and tp_btf programs (bpf_stats, median of rounds)" "ns per call" "$D/cb" \
	'set bmargin 17; set rmargin 34'

tsv latency p50 >"$D/p50"
tsv latency p99 >"$D/p99"
if [ -s "$D/p50" ]; then
	paste "$D/p50" "$D/p99" | cut -f1,2,3,4,6,7,8 >"$D/lat"
	gnuplot <<GP
$(per_config "$BENCH_OUT/latency.png" "TCP request/response latency (sockperf ping-pong, 64 B, one CPU)" us)
plot "$D/lat" using 0:2:3:4:xtic(1) with yerrorlines title "p50", "" using 0:5:6:7 with yerrorlines title "p99"
GP
fi
# attach latency vs containers: any control-part figure whose metric says drop-to-active,
# x = the first number in its row ("1000 containers")
jq -r '.figures[] | select((.metric | test("drop.to.active"; "i")) and (.row | test("[0-9]"))) |
	[(.row | capture("(?<n>[0-9][0-9,]*)").n | gsub(","; "")), .median, .min, .max] | @tsv' "$ALL" | sort -n >"$D/attach"
if [ -s "$D/attach" ]; then
	unit="$(jq -r '[.figures[] | select(.metric | test("drop.to.active"; "i"))][0].unit' "$ALL")"
	gnuplot <<GP
set terminal pngcairo size 800,500 noenhanced font ",10"
set output "$BENCH_OUT/attach.png"
set title "Module drop to active in every container"
set xlabel "containers"
set ylabel "$unit"
set logscale xy
set grid
set datafile separator "\t"
plot "$D/attach" using 1:2:3:4 with yerrorlines title "median (min .. max)"
GP
fi
