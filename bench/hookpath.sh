#!/usr/bin/env bash
# Hook path and dispatch design, side by side in one run (part "hookpath" of
# make bench; the method is bench/lib.bash).
#
# One khelpd, two namespaces over veth, sender and receiver on one CPU. Bulk
# transfers: cubic on both ends (khtcp --cc), unless a row says kh_cubic: then
# kh_cubic on both ends (the receiver runs in a khelp container whose CC is
# kh_cubic). Ping-pong: the namespaces' default CC on both ends (sockperf sets
# none), kh_cubic on both ends for the kh_cubic rows. Configurations,
# each a cgroup the sender runs in:
#   kernel        a cgroup khelp does not know: no program at all
#   bare          a khelp container without modules
#   ertt          h_ertt
#   khcubic       a container whose CC is kh_cubic (no helper)
#   ertt_khcubic  h_ertt, CC kh_cubic
#   pp1/pp4/pp8   1, 4, 8 per-packet test modules (tests/modules/kt_pp*), one
#                 program each, multi-attach: today's dispatch
#   d1/d4/d8      the same module logic behind ONE dispatcher program per
#                 container calling the modules by tail calls (bench/dispatch.bpf.c)
# Phase 1, bpf_stats off: per round, every configuration in rotated order, a
#   khtcp bulk transfer (throughput) and a sockperf TCP ping-pong (p50/p99).
# Phase 2, bpf_stats on: ns per callback of every program, with two floors
#   attached directly with bpftool (bench/floor.bpf.c): fl_empty (what
#   bpf_stats and the program call cost) and fl_lookup (plus one sk_storage lookup).
# Phase 3, bpf_stats on: the CPU time of kh_cubic's and kh_newreno's struct_ops
#   programs (all ops summed) per GB sent.
# shellcheck disable=SC2046 # $(cat file) / $(bl_ratios ...): lists of numbers, one word each
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
# shellcheck source=tests/e2e/lib.bash
source tests/e2e/lib.bash
# shellcheck source=bench/lib.bash
source bench/lib.bash
bl_lock "$@"

PART=hookpath
ROUNDS="${ROUNDS:-$(bl_q 10 3)}"
SECS="${SECS:-$(bl_q 1 0.25)}"
LSECS="${LSECS:-$(bl_q 1.2 0.7)}"		# sockperf: includes its 0.4 s warm-up
STATS_ROUNDS="${STATS_ROUNDS:-$(bl_q 4 2)}"
STATS_SECS="${STATS_SECS:-$(bl_q 1 0.3)}"
CC_BYTES="${CC_BYTES:-$(bl_q 1000000000 300000000)}"
CC_ROUNDS="${CC_ROUNDS:-$(bl_q 3 2)}"
CONFIGS=(kernel bare ertt khcubic ertt_khcubic pp1 pp4 pp8 d1 d4 d8)
STATS_CONFIGS=(fl_empty fl_lookup pp1 ertt pp4 pp8 d1 d4 d8)

for f in "$KHELPD" "$KHELPCTL" "$KHTCP" "$MODS/h_ertt.bpf.o" "$TESTMODS/kt_pp8.bpf.o" \
	"$OUT/bench/dispatch.bpf.o" "$OUT/bench/floor.bpf.o"; do
	[ -e "$f" ] || { echo "Error: $f is missing: run make bench" >&2; exit 1; }
done
command -v sockperf >/dev/null || { echo "Error: sockperf is missing: run make deps" >&2; exit 1; }
mkdir -p "$BENCH_OUT"
rm -f "$BENCH_OUT/$PART.jsonl"

STATS_WAS="$(sysctl -n kernel.bpf_stats_enabled)"
cleanup() {
	local s=$?
	sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
	BATS_TEST_COMPLETED=1 kh_teardown
	return $s
}
exec 3>/dev/null
kh_setup
trap cleanup EXIT
trap 'exit 130' INT TERM
# phase 1 measures the hooks as users run them: khelpd without bpf_stats
sed -i 's/^stats = yes/stats = no/' "$TMP/khelpd.conf"
kh_netns
V="$TMP/values"
mkdir -p "$V"

# ---- containers ---------------------------------------------------------------
cp "$MODS/h_ertt.bpf.o" "$MODS/kh_cubic.bpf.o" "$MODS/kh_newreno.bpf.o" "$TMP/modules/"
for i in 1 2 3 4 5 6 7 8; do cp "$TESTMODS/kt_pp$i.bpf.o" "$TMP/modules/"; done
declare -A CGOF PORT LPORT
for c in "${CONFIGS[@]}" fl_empty fl_lookup srv_khcubic; do
	CGOF[$c]="$(kh_cgroup "$c")"
	PORT[$c]=5201
	LPORT[$c]=11111
done
PORT[khcubic]=5202; PORT[ertt_khcubic]=5202; LPORT[khcubic]=11112; LPORT[ertt_khcubic]=11112
policy() { # NAME LINES...
	local n="$1"
	shift
	{ printf '[container]\ncgroup = %s\n[tcp]\n' "${CGOF[$n]#"$CGROOT"/}"; printf '%s\n' "$@"; } >"$TMP/policies/.$n.tmp"
	mv "$TMP/policies/.$n.tmp" "$TMP/policies/$n.conf"
}
policy bare
policy ertt "helpers = h_ertt"
policy khcubic "congestion = kh_cubic"
policy ertt_khcubic "helpers = h_ertt" "congestion = kh_cubic"
policy srv_khcubic "congestion = kh_cubic"
policy pp1 "helpers = kt_pp1"
policy pp4 "helpers = kt_pp1, kt_pp2, kt_pp3, kt_pp4"
policy pp8 "helpers = kt_pp1, kt_pp2, kt_pp3, kt_pp4, kt_pp5, kt_pp6, kt_pp7, kt_pp8"
kh_start
CONTAINERS=(bare ertt khcubic ertt_khcubic srv_khcubic pp1 pp4 pp8)
for c in "${CONTAINERS[@]}"; do
	kh_until bash -c "'$KHELPCTL' -j containers | jq -e --arg n '$c' '.[] | select(.name == \$n and .state == \"active\" and .error == null)'" ||
		{ echo "Error: container $c did not become active" >&2; cat "$TMP/khelpd.log" >&2; exit 1; }
done
[ -z "$(bpftool -j cgroup show "${CGOF[bare]}" | jq '.[]')" ] ||
	{ echo "Error: the container without modules has programs on its cgroup" >&2; exit 1; }

# ---- floors and the dispatcher prototype, attached directly with bpftool ----------
mkdir -p "$BPFFS/bench"
bpftool prog loadall "$OUT/bench/floor.bpf.o" "$BPFFS/bench/floor"
bpftool cgroup attach "${CGOF[fl_empty]}" sock_ops pinned "$BPFFS/bench/floor/fl_empty" multi
bpftool cgroup attach "${CGOF[fl_lookup]}" sock_ops pinned "$BPFFS/bench/floor/fl_lookup" multi
for n in 1 4 8; do
	d="$BPFFS/bench/d$n"
	mkdir -p "$d"
	bpftool prog loadall "$OUT/bench/dispatch.bpf.o" "$d/p" pinmaps "$d/m"
	for ((i = 0; i < n; i++)); do
		bpftool map update pinned "$d/m/kd_slots" key "$i" 0 0 0 value pinned "$d/p/kd_m$i"
	done
	bpftool cgroup attach "${CGOF[d$n]}" sock_ops pinned "$d/p/kd_disp" multi
done

# ---- servers, on the benchmark CPU --------------------------------------------------
bl_bg - "$NS_B" "$TMP/srv.5201" "$KHTCP" serve "$ADDR_B" 5201 --cc cubic
bl_bg "${CGOF[srv_khcubic]}" "$NS_B" "$TMP/srv.5202" "$KHTCP" serve "$ADDR_B" 5202
bl_bg - "$NS_B" "$TMP/sp.11111" sockperf server --tcp -i "$ADDR_B" -p 11111
bl_bg "${CGOF[srv_khcubic]}" "$NS_B" "$TMP/sp.11112" sockperf server --tcp -i "$ADDR_B" -p 11112
kh_until grep -q listening "$TMP/srv.5201"
kh_until grep -q listening "$TMP/srv.5202"
for p in 11111 11112; do
	kh_until bash -c "ip netns exec '$NS_B' ss -Hltn 'sport = :$p' | grep -q ."
done

bulk() { # CONFIG SECONDS [khtcp options]: Mbit/s of one bulk transfer
	local c="$1" s="$2"
	shift 2
	# cubic on both ends (the server's listener has it), kh_cubic rows: the containers' CC
	[ "${PORT[$c]}" = 5201 ] && [ $# -eq 0 ] && set -- --cc cubic
	bl_exec "${CGOF[$c]}" "$NS_A" "$KHTCP" send "$ADDR_B" "${PORT[$c]}" --seconds "$s" "$@" | awk '$1 == "sent" { print $4 }'
}
latency() { # CONFIG: "p50 p99" in us of one sockperf ping-pong
	bl_exec "${CGOF[$1]}" "$NS_A" sockperf ping-pong --tcp -i "$ADDR_B" -p "${LPORT[$1]}" -t "$LSECS" -m 64 2>&1 |
		sed 's/\x1b\[[0-9;]*m//g' | awk '/percentile 50.000/ { p50 = $NF } /percentile 99.000/ { p99 = $NF } END { print p50, p99 }'
}

# warm-up
bulk khcubic 0.2 >/dev/null
# ---- phase 1: throughput and latency, bpf_stats off -----------------------------------
sysctl -qw kernel.bpf_stats_enabled=0
echo "hookpath: ${#CONFIGS[@]} configurations x $ROUNDS rounds (${SECS} s bulk + ${LSECS} s ping-pong each), CPU $BENCH_CPU" >&2
for ((r = 0; r < ROUNDS; r++)); do
	line=""
	for c in $(bl_order "$r" "${CONFIGS[@]}"); do
		t="$(bulk "$c" "$SECS")"
		read -r p50 p99 < <(latency "$c")
		echo "$t" >>"$V/$c.tput"
		echo "$p50" >>"$V/$c.p50"
		echo "$p99" >>"$V/$c.p99"
		line="$line $c=${t%.*}"
	done
	echo "  round $((r + 1)):$line" >&2
done
STATS_ON="$(sysctl -n kernel.bpf_stats_enabled)"

label() {
	case $1 in
	kernel) echo "kernel alone";;
	bare) echo "khelp, container without modules";;
	ertt) echo "h_ertt";;
	khcubic) echo "kh_cubic alone (container CC)";;
	ertt_khcubic) echo "h_ertt + kh_cubic";;
	pp*) echo "${1#pp} per-packet modules, multi-attach";;
	d*) echo "${1#d} per-packet modules, one dispatcher";;
	fl_empty) echo "floor: empty sockops (bpftool)";;
	fl_lookup) echo "floor: one sk_storage lookup (bpftool)";;
	esac
}
ratio_rows() { # TABLE CONFIG REFERENCE NOTE
	local tb="$1" c="$2" ref="$3" note="$4"
	bl_emit "$PART" "$tb" "$(label "$c")" "throughput ratio" x "$note" $(bl_ratios "$V/$c.tput" "$V/$ref.tput")
	bl_emit "$PART" "$tb" "$(label "$c")" "p50 latency ratio" x "$note" $(bl_ratios "$V/$c.p50" "$V/$ref.p50")
	bl_emit "$PART" "$tb" "$(label "$c")" "p99 latency ratio" x "$note" $(bl_ratios "$V/$c.p99" "$V/$ref.p99")
}
ratio_rows "hook path" bare kernel "vs kernel alone, same CC both ends"
ratio_rows "hook path" ertt kernel "vs kernel alone, same CC both ends"
ratio_rows "hook path" khcubic kernel "vs kernel cubic; kh_cubic both ends"
ratio_rows "hook path" ertt_khcubic khcubic "vs kh_cubic alone; kh_cubic both ends"
for n in 1 4 8; do ratio_rows "hook path" "pp$n" kernel "vs kernel alone, same CC both ends"; done
for n in 1 4 8; do
	ratio_rows "dispatch" "d$n" kernel "vs kernel alone, same CC both ends"
	bl_emit "$PART" "dispatch" "$n modules: dispatcher / multi-attach" "throughput ratio" x \
		"same module logic, same round" $(bl_ratios "$V/d$n.tput" "$V/pp$n.tput")
done

# absolute figures of every configuration (the plots)
for c in "${CONFIGS[@]}"; do
	bl_emit "$PART" "throughput" "$(label "$c")" "throughput" "Mbit/s" "one CPU, ${SECS} s per run" $(cat "$V/$c.tput")
	bl_emit "$PART" "latency" "$(label "$c")" "p50" "us" "sockperf TCP ping-pong, 64 B, same CC both ends" $(cat "$V/$c.p50")
	bl_emit "$PART" "latency" "$(label "$c")" "p99" "us" "sockperf TCP ping-pong, 64 B, same CC both ends" $(cat "$V/$c.p99")
done
# ---- phase 2: ns per callback, bpf_stats on --------------------------------------------
pinned_id() { bpftool -j prog show pinned "$1" | jq .id; }
declare -A IDS
IDS[fl_empty]="$(pinned_id "$BPFFS/bench/floor/fl_empty")"
IDS[fl_lookup]="$(pinned_id "$BPFFS/bench/floor/fl_lookup")"
IDS[ertt]="$(kh_prog h_ertt | jq .id)"
for n in 1 4 8; do
	IDS[pp$n]=""
	for ((i = 1; i <= n; i++)); do IDS[pp$n]="${IDS[pp$n]} $(kh_prog "kt_pp$i" | jq .id)"; done
	IDS[d$n]="$(pinned_id "$BPFFS/bench/d$n/p/kd_disp")"
done
sysctl -qw kernel.bpf_stats_enabled=1
echo "hookpath: bpf_stats, ${#STATS_CONFIGS[@]} configurations x $STATS_ROUNDS rounds of ${STATS_SECS} s" >&2
for ((r = 0; r < STATS_ROUNDS; r++)); do
	for c in $(bl_order "$r" "${STATS_CONFIGS[@]}"); do
		# shellcheck disable=SC2086 # a list of ids
		read -r t0 n0 < <(bl_prog_stats ${IDS[$c]})
		bulk "$c" "$STATS_SECS" >/dev/null
		# shellcheck disable=SC2086
		read -r t1 n1 < <(bl_prog_stats ${IDS[$c]})
		awk -v t=$((t1 - t0)) -v n=$((n1 - n0)) 'BEGIN { if (n > 0) printf "%.2f\n", t / n }' >>"$V/$c.ns"
	done
done
for c in "${STATS_CONFIGS[@]}"; do
	bl_emit "$PART" "per callback" "$(label "$c")" "ns per callback" ns \
		"bpf_stats on (each program pays its overhead); all programs of the container summed" $(cat "$V/$c.ns")
done
bl_emit "$PART" "per callback" "khelp entry code (kt_pp1 - lookup floor)" "ns per callback" ns \
	"paired per round" $(bl_diffs "$V/pp1.ns" "$V/fl_lookup.ns")
bl_emit "$PART" "per callback" "h_ertt above the lookup floor" "ns per callback" ns \
	"paired per round; includes khelp's entry code" $(bl_diffs "$V/ertt.ns" "$V/fl_lookup.ns")

# ---- phase 3: CC cost per GB, bpf_stats on -----------------------------------------------
cc_ids() { # the struct_ops programs of CC module $1 (same BTF as its pinned config map)
	local btf
	btf="$(bpftool -j map show pinned "$BPFFS/modules/$1/ccfg" | jq .btf_id)"
	bpftool -j prog show | jq -r --argjson b "$btf" '.[] | select(.type == "struct_ops" and .btf_id == $b) | .id'
}
# the kh_cubic rows of phase 1 really ran kh_cubic: its ops run in such a transfer
ids="$(cc_ids kh_cubic | tr '\n' ' ')"
# shellcheck disable=SC2086
read -r _ c0 < <(bl_prog_stats $ids)
bulk khcubic 0.3 >/dev/null
# shellcheck disable=SC2086
read -r _ c1 < <(bl_prog_stats $ids)
if [ "$c1" -le "$c0" ]; then
	echo "Error: a transfer in the kh_cubic container ran no kh_cubic op: the kh_cubic rows are void" >&2
	exit 1
fi
for cc in kh_cubic kh_newreno; do
	ids="$(cc_ids "$cc" | tr '\n' ' ')"
	[ -n "$ids" ] || { echo "Error: no struct_ops programs found for $cc" >&2; continue; }
	for ((r = 0; r < CC_ROUNDS; r++)); do
		# shellcheck disable=SC2086
		read -r t0 _ < <(bl_prog_stats $ids)
		bl_exec "${CGOF[kernel]}" "$NS_A" "$KHTCP" send "$ADDR_B" 5201 --bytes "$CC_BYTES" --cc "$cc" >/dev/null
		# shellcheck disable=SC2086
		read -r t1 _ < <(bl_prog_stats $ids)
		awk -v t=$((t1 - t0)) -v b="$CC_BYTES" 'BEGIN { printf "%.3f\n", t / b * 1e9 / 1e6 }' >>"$V/$cc.cost"
	done
	bl_emit "$PART" "cc cost" "$cc" "CPU per GB sent" "ms/GB" \
		"bpf_stats run time of all its struct_ops programs, sender side" $(cat "$V/$cc.cost")
done
jq -cn --argjson m "$(bl_machine)" --arg s "$STATS_ON" '$m + {part: "hookpath", bpf_stats_during_phase1: $s}' >"$BENCH_OUT/$PART.meta.json"
