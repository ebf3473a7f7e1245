#!/usr/bin/env bash
# Hook path and dispatch design, side by side in one run (part "hookpath" of
# make bench; the method is bench/lib.bash).
#
# One khelpd, two namespaces over veth, sender and receiver on one CPU. Bulk
# transfers: cubic on both ends (khtcp --cc), unless a row says kh_cubic: then
# kh_cubic on both ends (the receiver runs in a khelp container whose CC is
# kh_cubic). Ping-pong: the namespaces' default CC on both ends (sockperf sets
# none), kh_cubic on both ends for the kh_cubic rows. Configurations, each a
# cgroup the sender runs in:
#   kernel        a cgroup khelp does not know: no program at all
#   bare          a khelp container without modules
#   ertt          h_ertt: its sockops entry (tcp_est_out, tcp_retrans) on the
#                 container, its every-ACK entry h_ertt_in (tp_btf/tcp_probe,
#                 tcp_est_in) on every TCP socket of the host while some
#                 container uses h_ertt
#   plain         h_ertt's own source built with KHELP_PLAIN (khelp.bpf.h): the
#                 same logic as plain programs without khelp's entry code,
#                 loaded and attached with bpftool, no khelpd
#   bare_ertt     the container without modules while another container uses
#                 h_ertt: what the every-ACK source costs sockets that do not use it
#   khcubic       a container whose CC is kh_cubic (no helper)
#   ertt_khcubic  h_ertt, CC kh_cubic
#   pp1/pp4/pp8   1, 4, 8 per-packet test modules (tests/modules/kt_pp*: tcp_est_out
#                 in sockops, tcp_est_in in tp_btf), one program each, multi-attach
#   bare_pp8      the container without modules while pp8 is active (8 every-ACK programs)
#   d1/d4/d8      the same module logic behind ONE sockops dispatcher per container
#                 calling the modules by tail calls (bench/dispatch.bpf.c; its
#                 tcp_est_in side is PARSE_HDR_OPT sockops, the design before tp_btf)
# A module's tp_btf program runs on every TCP socket of the host, so the
# configurations are grouped into states, one per set of active containers
# (policies written and removed, bpftool objects loaded and removed): "kernel
# alone" really runs no program. Per round every state is visited once, in
# rotated order, and its configurations measured in rotated order.
# Phase 1, bpf_stats off: per round and configuration a khtcp bulk transfer
#   (throughput) and a sockperf TCP ping-pong (p50/p99).
# Phase 2, bpf_stats on: ns per callback of every program, sockops and tp_btf
#   apart, both ends of the transfer in the configuration's cgroup (every
#   call is on a hooked socket), with floors attached directly with bpftool
#   (bench/floor.bpf.c, bench/floor_in.bpf.c): fl_empty (what bpf_stats and
#   the program call cost by themselves), fl_lookup (plus one sk_storage
#   lookup), fl_in (a tp_btf/tcp_probe program with one sk_storage lookup);
#   and plain h_ertt. khelp's own cost = h_ertt under khelp - plain h_ertt.
# Phase 3, bpf_stats on: the CPU time of kh_cubic's and kh_newreno's struct_ops
#   programs (all ops summed) per GB sent.
# shellcheck disable=SC2046 # $(cat file) / $(bl_ratios ...): lists of numbers, one word each
set -euo pipefail
# shellcheck source=bench/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

PART=hookpath
ROUNDS="${ROUNDS:-$(bl_q 8 3)}"
SECS="${SECS:-$(bl_q 0.6 0.3)}"
LSECS="${LSECS:-1}"		# sockperf -t: whole seconds only; a run takes 2 s more (its warm-up)
# sockperf costs 2 s of warm-up per run: latency in the first LROUNDS rounds, LAT_CONFIGS only
LROUNDS="${LROUNDS:-$(bl_q 3 2)}"
STATS_ROUNDS="${STATS_ROUNDS:-$(bl_q 3 2)}"
STATS_SECS="${STATS_SECS:-$(bl_q 1 0.3)}"
CC_BYTES="${CC_BYTES:-$(bl_q 1000000000 300000000)}"
CC_ROUNDS="${CC_ROUNDS:-$(bl_q 3 2)}"
CONFIGS=(kernel bare khcubic d1 d4 d8 ertt ertt_khcubic bare_ertt plain pp1 pp4 pp8 bare_pp8)
LAT_CONFIGS="${LAT_CONFIGS:-$(bl_q " kernel bare ertt plain bare_ertt khcubic ertt_khcubic pp1 pp4 pp8 bare_pp8 " \
	" kernel bare ertt khcubic ertt_khcubic ")}"
STATS_CONFIGS=(fl_empty fl_lookup plain ertt bare_ertt pp1 pp4 pp8 bare_pp8 d1 d4 d8)
# the state (set of active containers and bpftool objects) each configuration is measured in
declare -A STATE=([kernel]=none [bare]=none [khcubic]=none [d1]=none [d4]=none [d8]=none
	[fl_empty]=none [fl_lookup]=floor [ertt]=ertt [ertt_khcubic]=ertt [bare_ertt]=ertt
	[plain]=plain [pp1]=pp1 [pp4]=pp4 [pp8]=pp8 [bare_pp8]=pp8)
# the containers (policies) of each state besides bare, khcubic and srv_khcubic, always there
declare -A STATE_POLICIES=([none]="" [floor]="" [plain]="" [ertt]="ertt ertt_khcubic"
	[pp1]="pp1" [pp4]="pp4" [pp8]="pp8")
# the tcp_est_in entries (modules/<m>/est_in) khelpd has attached in each state
declare -A STATE_EST_IN=([none]="" [floor]="" [plain]="" [ertt]="h_ertt" [pp1]="kt_pp1"
	[pp4]="kt_pp1 kt_pp2 kt_pp3 kt_pp4" [pp8]="kt_pp1 kt_pp2 kt_pp3 kt_pp4 kt_pp5 kt_pp6 kt_pp7 kt_pp8")
SWITCHABLE=(ertt ertt_khcubic pp1 pp4 pp8)

for f in "$KHELPD" "$KHELPCTL" "$KHTCP" "$MODS/h_ertt.bpf.o" "$TESTMODS/kt_pp8.bpf.o" \
	"$OUT/bench/dispatch.bpf.o" "$OUT/bench/floor.bpf.o" "$OUT/bench/floor_in.bpf.o" \
	"$OUT/bench/h_ertt_plain.bpf.o"; do
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
trap 'echo "hookpath: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
# phase 1 measures the hooks as users run them: khelpd without bpf_stats
sed -i 's/^stats = yes/stats = no/' "$TMP/khelpd.conf"
kh_netns
V="$TMP/values"
mkdir -p "$V"

# ---- containers ---------------------------------------------------------------
cp "$MODS/h_ertt.bpf.o" "$MODS/kh_cubic.bpf.o" "$MODS/kh_newreno.bpf.o" "$TMP/modules/"
for i in 1 2 3 4 5 6 7 8; do cp "$TESTMODS/kt_pp$i.bpf.o" "$TMP/modules/"; done
declare -A CGOF PORT LPORT SPORT
port=5210
for c in kernel bare khcubic ertt ertt_khcubic plain pp1 pp4 pp8 d1 d4 d8 fl_empty fl_lookup srv_khcubic; do
	CGOF[$c]="$(kh_cgroup "$c")"
	PORT[$c]=5201
	LPORT[$c]=11111
	SPORT[$c]=$port		# phase 2: a server in the configuration's own cgroup
	port=$((port + 1))
done
for c in bare_ertt bare_pp8; do
	CGOF[$c]="${CGOF[bare]}"
	PORT[$c]=5201
	LPORT[$c]=11111
	SPORT[$c]="${SPORT[bare]}"
done
PORT[khcubic]=5202; PORT[ertt_khcubic]=5202; LPORT[khcubic]=11112; LPORT[ertt_khcubic]=11112
declare -A POLICY
POLICY[bare]=""
POLICY[ertt]="helpers = h_ertt"
POLICY[khcubic]="congestion = kh_cubic"
POLICY[ertt_khcubic]="$(printf 'helpers = h_ertt\ncongestion = kh_cubic')"
POLICY[srv_khcubic]="congestion = kh_cubic"
POLICY[pp1]="helpers = kt_pp1"
POLICY[pp4]="helpers = kt_pp1, kt_pp2, kt_pp3, kt_pp4"
POLICY[pp8]="helpers = kt_pp1, kt_pp2, kt_pp3, kt_pp4, kt_pp5, kt_pp6, kt_pp7, kt_pp8"
policy_on() { # NAME
	local n="$1"
	[ -f "$TMP/policies/$n.conf" ] && return 0
	printf '[container]\ncgroup = %s\n[tcp]\n%s\n' "${CGOF[$n]#"$CGROOT"/}" "${POLICY[$n]}" >"$TMP/policies/.$n.tmp"
	mv "$TMP/policies/.$n.tmp" "$TMP/policies/$n.conf"
}
policy_off() { rm -f "$TMP/policies/$1.conf"; }
for c in bare khcubic srv_khcubic; do policy_on "$c"; done
kh_start

# ---- floors and the dispatcher prototype, attached directly with bpftool ----------
mkdir -p "$BPFFS/bench"
bpftool prog loadall "$OUT/bench/floor.bpf.o" "$BPFFS/bench/floor" pinmaps "$BPFFS/bench/floor_maps"
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

# ---- states ---------------------------------------------------------------------------
# the tp_btf programs of the bpftool objects: plain h_ertt, the tcp_probe floor
plain_on() {
	[ -e "$BPFFS/bench/plain/h_ertt" ] && return 0
	# sockops: no autoattach (bpftool pins it); h_ertt_in: attached, its link pinned
	bpftool prog loadall "$OUT/bench/h_ertt_plain.bpf.o" "$BPFFS/bench/plain" autoattach 2>/dev/null
	bpftool cgroup attach "${CGOF[plain]}" sock_ops pinned "$BPFFS/bench/plain/h_ertt" multi
}
plain_off() {
	[ -e "$BPFFS/bench/plain/h_ertt" ] || return 0
	bpftool cgroup detach "${CGOF[plain]}" sock_ops pinned "$BPFFS/bench/plain/h_ertt"
	rm -rf "$BPFFS/bench/plain"
}
floor_in_on() {
	[ -e "$BPFFS/bench/floor_in/fl_in" ] && return 0
	bpftool prog loadall "$OUT/bench/floor_in.bpf.o" "$BPFFS/bench/floor_in" \
		map name fl_data pinned "$BPFFS/bench/floor_maps/fl_data" autoattach
}
floor_in_off() { rm -rf "$BPFFS/bench/floor_in"; }
state_ready() { # STATE: khelpd shows exactly its containers, active, and its est_in links
	local st="$1" want m
	# shellcheck disable=SC2086 # a list of names
	want="$(printf '%s\n' bare khcubic srv_khcubic ${STATE_POLICIES[$st]} | jq -R . | jq -sc sort)"
	[ "$("$KHELPCTL" -j containers | jq -c '[.[] | select(.state == "active" and .error == null) | .name] | sort')" = "$want" ] || return 1
	for m in h_ertt kt_pp1 kt_pp2 kt_pp3 kt_pp4 kt_pp5 kt_pp6 kt_pp7 kt_pp8; do
		if [[ " ${STATE_EST_IN[$st]} " == *" $m "* ]]; then
			[ -e "$BPFFS/modules/$m/est_in" ] || return 1
		else
			[ ! -e "$BPFFS/modules/$m/est_in" ] || return 1
		fi
	done
}
state() { # STATE: make it the current one
	local st="$1" c t0=$EPOCHREALTIME
	for c in "${SWITCHABLE[@]}"; do
		if [[ " ${STATE_POLICIES[$st]} " == *" $c "* ]]; then policy_on "$c"; else policy_off "$c"; fi
	done
	if [ "$st" = plain ]; then plain_on; else plain_off; fi
	if [ "$st" = floor ]; then floor_in_on; else floor_in_off; fi
	kh_until -t 30 state_ready "$st" ||
		{ echo "Error: state $st not reached" >&2; "$KHELPCTL" -j containers >&2; exit 1; }
	# tcp_probe programs of anyone else (other khelpds on this machine) run on our sockets too
	{ bpftool -j link show 2>/dev/null || true; } | jq '[.[] | select(.tp_name == "tcp_probe")] | length' >>"$V/tcp_probe_links.$st"
	[ -z "${BENCH_DEBUG:-}" ] || awk -v a="$t0" -v b="$EPOCHREALTIME" -v s="$st" 'BEGIN { printf "  state %s: %.2f s\n", s, b - a }' >&2
}
states_of() { # CONFIG...: their states, each once, in the order met
	local c seen=" "
	for c in "$@"; do
		[[ "$seen" == *" ${STATE[$c]} "* ]] && continue
		seen="$seen${STATE[$c]} "
		echo "${STATE[$c]}"
	done
}
in_state() { # STATE CONFIG...: the configurations measured in STATE
	local st="$1" c
	shift
	for c in "$@"; do [ "${STATE[$c]}" = "$st" ] && echo "$c"; done
	return 0
}

state ertt
state pp8
state none
[ -z "$(bpftool -j cgroup show "${CGOF[bare]}" | jq '.[]')" ] ||
	{ echo "Error: the container without modules has programs on its cgroup" >&2; exit 1; }

# ---- servers, on the benchmark CPU --------------------------------------------------
bl_bg - "$NS_B" "$TMP/srv.5201" "$KHTCP" serve "$ADDR_B" 5201 --cc cubic
bl_bg "${CGOF[srv_khcubic]}" "$NS_B" "$TMP/srv.5202" "$KHTCP" serve "$ADDR_B" 5202
bl_bg - "$NS_B" "$TMP/sp.11111" sockperf server --tcp -i "$ADDR_B" -p 11111
bl_bg "${CGOF[srv_khcubic]}" "$NS_B" "$TMP/sp.11112" sockperf server --tcp -i "$ADDR_B" -p 11112
for c in "${STATS_CONFIGS[@]}"; do
	[ -e "$TMP/srv.${SPORT[$c]}" ] && continue
	bl_bg "${CGOF[$c]}" "$NS_B" "$TMP/srv.${SPORT[$c]}" "$KHTCP" serve "$ADDR_B" "${SPORT[$c]}" --cc cubic
done
for f in "$TMP"/srv.*; do kh_until grep -q listening "$f"; done
for p in 11111 11112; do
	kh_until bash -c "ip netns exec '$NS_B' ss -Hltn 'sport = :$p' | grep -q ."
done

bulk() { # CONFIG SECONDS [PORT]: Mbit/s of one bulk transfer
	local c="$1" s="$2" p="${3:-${PORT[$1]}}"
	local cc=(--cc cubic)
	# kh_cubic rows: the containers' CC on both ends
	[ "$p" = 5202 ] && cc=()
	bl_exec "${CGOF[$c]}" "$NS_A" "$KHTCP" send "$ADDR_B" "$p" --seconds "$s" "${cc[@]}" | awk '$1 == "sent" { print $4 }'
}
latency() { # CONFIG: "p50 p99" in us of one sockperf ping-pong
	bl_exec "${CGOF[$1]}" "$NS_A" sockperf ping-pong --tcp -i "$ADDR_B" -p "${LPORT[$1]}" -t "$LSECS" -m 64 2>&1 |
		sed 's/\x1b\[[0-9;]*m//g' | awk '/percentile 50.000/ { p50 = $NF } /percentile 99.000/ { p99 = $NF } END { print p50, p99 }'
}

# warm-up
bulk khcubic 0.2 >/dev/null
# ---- phase 1: throughput and latency, bpf_stats off -----------------------------------
sysctl -qw kernel.bpf_stats_enabled=0
mapfile -t STATES < <(states_of "${CONFIGS[@]}")
echo "hookpath: ${#CONFIGS[@]} configurations in ${#STATES[@]} states x $ROUNDS rounds of ${SECS} s bulk, ${LSECS} s ping-pong in $LROUNDS of them, CPU $BENCH_CPU" >&2
for ((r = 0; r < ROUNDS; r++)); do
	line=""
	for st in $(bl_order "$r" "${STATES[@]}"); do
		state "$st"
		mapfile -t cs < <(in_state "$st" "${CONFIGS[@]}")
		for c in $(bl_order "$r" "${cs[@]}"); do
			t="$(bulk "$c" "$SECS")"
			echo "$t" >>"$V/$c.tput"
			if ((r < LROUNDS)) && [[ "$LAT_CONFIGS" == *" $c "* ]]; then
				read -r p50 p99 < <(latency "$c")
				echo "$p50" >>"$V/$c.p50"
				echo "$p99" >>"$V/$c.p99"
			fi
			line="$line $c=${t%.*}"
		done
	done
	echo "  round $((r + 1)):$line" >&2
done
STATS_ON="$(sysctl -n kernel.bpf_stats_enabled)"

label() {
	case $1 in
	kernel) echo "kernel alone";;
	bare) echo "khelp, container without modules";;
	ertt) echo "h_ertt";;
	plain) echo "h_ertt's logic alone, no khelp entry (bpftool)";;
	bare_ertt) echo "h_ertt's every-ACK source, container without h_ertt";;
	bare_pp8) echo "8 modules' every-ACK sources, container without them";;
	khcubic) echo "kh_cubic alone (container CC)";;
	ertt_khcubic) echo "h_ertt + kh_cubic";;
	pp*) echo "${1#pp} per-packet modules, multi-attach";;
	d*) echo "${1#d} per-packet modules, one dispatcher";;
	fl_empty) echo "floor: empty sockops (bpftool)";;
	fl_lookup) echo "floor: sockops + one sk_storage lookup (bpftool)";;
	esac
}
ratio_rows() { # TABLE CONFIG REFERENCE NOTE [ROW]
	local tb="$1" c="$2" ref="$3" note="$4" row="${5:-$(label "$2")}"
	bl_emit "$PART" "$tb" "$row" "throughput ratio" x "$note" $(bl_ratios "$V/$c.tput" "$V/$ref.tput")
	[ -s "$V/$c.p50" ] && [ -s "$V/$ref.p50" ] || return 0
	bl_emit "$PART" "$tb" "$row" "p50 latency ratio" x "$note" $(bl_ratios "$V/$c.p50" "$V/$ref.p50")
	bl_emit "$PART" "$tb" "$row" "p99 latency ratio" x "$note" $(bl_ratios "$V/$c.p99" "$V/$ref.p99")
}
ratio_rows "hook path" bare kernel "vs kernel alone, same CC both ends"
ratio_rows "hook path" ertt kernel "vs kernel alone, same CC both ends"
ratio_rows "hook path" plain kernel "vs kernel alone, same CC both ends"
ratio_rows "hook path" ertt plain "vs h_ertt's logic alone, same CC both ends" "khelp's own cost on h_ertt (h_ertt / plain)"
ratio_rows "hook path" bare_ertt kernel "vs kernel alone, same CC both ends; h_ertt active in another container"
ratio_rows "hook path" khcubic kernel "vs kernel cubic; kh_cubic both ends"
ratio_rows "hook path" ertt_khcubic khcubic "vs kh_cubic alone; kh_cubic both ends"
ratio_rows "hook path" ertt_khcubic kernel "vs kernel cubic; kh_cubic both ends" "h_ertt + kh_cubic vs kernel cubic"
for n in 1 4 8; do ratio_rows "hook path" "pp$n" kernel "vs kernel alone, same CC both ends"; done
ratio_rows "hook path" bare_pp8 kernel "vs kernel alone, same CC both ends; 8 modules active in another container"
for n in 1 4 8; do
	ratio_rows "dispatch" "d$n" kernel "vs kernel alone, same CC both ends"
	bl_emit "$PART" "dispatch" "$n modules: dispatcher / multi-attach" "throughput ratio" x \
		"same module logic, same round" $(bl_ratios "$V/d$n.tput" "$V/pp$n.tput")
done

# absolute figures of every configuration (the plots)
for c in "${CONFIGS[@]}"; do
	bl_emit "$PART" "throughput" "$(label "$c")" "throughput" "Mbit/s" "one CPU, ${SECS} s per run" $(cat "$V/$c.tput")
	[ -s "$V/$c.p50" ] || continue
	bl_emit "$PART" "latency" "$(label "$c")" "p50" "us" "sockperf TCP ping-pong, 64 B, same CC both ends" $(cat "$V/$c.p50")
	bl_emit "$PART" "latency" "$(label "$c")" "p99" "us" "sockperf TCP ping-pong, 64 B, same CC both ends" $(cat "$V/$c.p99")
done
# ---- phase 2: ns per callback, bpf_stats on --------------------------------------------
pinned_id() { bpftool -j prog show pinned "$1" | jq .id; }
# (this bpftool prints a tracing link and exits 255: the JSON is what counts)
link_prog_id() { { bpftool -j link show pinned "$1" 2>/dev/null || true; } | jq -e .prog_id; }
# the sockops (SO) and tp_btf (IN) programs of a configuration, read once its state is current
ids_of() { # CONFIG -> "SO_IDS|IN_IDS"
	local c="$1" so="" in="" i n
	case $c in
	fl_empty) so="$(pinned_id "$BPFFS/bench/floor/fl_empty")";;
	fl_lookup) so="$(pinned_id "$BPFFS/bench/floor/fl_lookup")"; in="$(link_prog_id "$BPFFS/bench/floor_in/fl_in")";;
	plain) so="$(pinned_id "$BPFFS/bench/plain/h_ertt")"; in="$(link_prog_id "$BPFFS/bench/plain/h_ertt_in")";;
	ertt) so="$(kh_prog h_ertt | jq .id)"; in="$(kh_prog h_ertt est_in_prog | jq .id)";;
	bare_ertt) in="$(kh_prog h_ertt est_in_prog | jq .id)";;
	pp* | bare_pp8)
		n="${c#pp}"; [ "$c" = bare_pp8 ] && n=8
		for ((i = 1; i <= n; i++)); do
			[ "$c" = bare_pp8 ] || so="$so $(kh_prog "kt_pp$i" | jq .id)"
			in="$in $(kh_prog "kt_pp$i" est_in_prog | jq .id)"
		done;;
	d*) so="$(pinned_id "$BPFFS/bench/$c/p/kd_disp")";;
	esac
	echo "$so|$in"
}
# ns per call of the programs IDS over one phase-2 transfer of CONFIG: time summed, calls of one
stats_bulk() { # CONFIG
	local c="$1" so in t0 n0 t1 n1 u0 m0 u1 m1
	IFS='|' read -r so in < <(ids_of "$c")
	# shellcheck disable=SC2086 # lists of ids
	{ read -r t0 n0 < <(bl_prog_stats $so); read -r u0 m0 < <(bl_prog_stats $in); }
	bulk "$c" "$STATS_SECS" "${SPORT[$c]}" >/dev/null
	# shellcheck disable=SC2086
	{ read -r t1 n1 < <(bl_prog_stats $so); read -r u1 m1 < <(bl_prog_stats $in); }
	[ -n "$so" ] && awk -v t=$((t1 - t0)) -v n=$((n1 - n0)) 'BEGIN { if (n > 0) printf "%.2f\n", t / n }' >>"$V/$c.ns_so"
	[ -n "$in" ] && awk -v t=$((u1 - u0)) -v n=$((m1 - m0)) 'BEGIN { if (n > 0) printf "%.2f\n", t / n }' >>"$V/$c.ns_in"
	return 0
}
sysctl -qw kernel.bpf_stats_enabled=1
mapfile -t STATES < <(states_of "${STATS_CONFIGS[@]}")
echo "hookpath: bpf_stats, ${#STATS_CONFIGS[@]} configurations x $STATS_ROUNDS rounds of ${STATS_SECS} s" >&2
for ((r = 0; r < STATS_ROUNDS; r++)); do
	for st in $(bl_order "$r" "${STATES[@]}"); do
		state "$st"
		mapfile -t cs < <(in_state "$st" "${STATS_CONFIGS[@]}")
		for c in $(bl_order "$r" "${cs[@]}"); do stats_bulk "$c"; done
	done
done
state none
NOTE_SO="bpf_stats on (each program pays its overhead); sockops calls: every sent segment (HDR_OPT_LEN) and the rest; both ends hooked"
NOTE_IN="bpf_stats on; tp_btf/tcp_probe calls: every segment received in ESTABLISHED; both ends hooked"
pc() { # ROW METRIC NOTE FILE
	[ -s "$4" ] && bl_emit "$PART" "per callback" "$1" "$2" ns "$3" $(cat "$4")
	return 0
}
pc "floor: empty sockops (bpftool)" "sockops ns per call" "$NOTE_SO" "$V/fl_empty.ns_so"
pc "floor: sockops + one sk_storage lookup (bpftool)" "sockops ns per call" "$NOTE_SO" "$V/fl_lookup.ns_so"
pc "floor: tp_btf + one sk_storage lookup (bpftool)" "tp_btf ns per call" "$NOTE_IN" "$V/fl_lookup.ns_in"
pc "h_ertt's logic alone, no khelp entry (bpftool)" "sockops ns per call" "$NOTE_SO" "$V/plain.ns_so"
pc "h_ertt's logic alone, no khelp entry (bpftool)" "tp_btf ns per call" "$NOTE_IN" "$V/plain.ns_in"
pc "h_ertt" "sockops ns per call" "$NOTE_SO" "$V/ertt.ns_so"
pc "h_ertt" "tp_btf ns per call" "$NOTE_IN" "$V/ertt.ns_in"
pc "h_ertt_in on sockets without h_ertt" "tp_btf ns per call" "a miss: the socket has no h_ertt data; both ends in the container without modules" "$V/bare_ertt.ns_in"
for n in 1 4 8; do
	pc "$n per-packet modules, multi-attach" "sockops ns per call" "$NOTE_SO; all $n programs summed" "$V/pp$n.ns_so"
	pc "$n per-packet modules, multi-attach" "tp_btf ns per call" "$NOTE_IN; all $n programs summed" "$V/pp$n.ns_in"
	pc "$n per-packet modules, one dispatcher" "sockops ns per call" "$NOTE_SO; the whole tail-call chain; tcp_est_in by PARSE_HDR_OPT sockops" "$V/d$n.ns_so"
done
pc "8 modules' tp_btf on sockets without them" "tp_btf ns per call" "8 misses; both ends in the container without modules" "$V/bare_pp8.ns_in"
diffrow() { # ROW METRIC NOTE A B: paired per-round differences A - B
	[ -s "$4" ] && [ -s "$5" ] && bl_emit "$PART" "per callback" "$1" "$2" ns "$3" $(bl_diffs "$4" "$5")
	return 0
}
diffrow "khelp's entry code on h_ertt (h_ertt - plain)" "sockops ns per call" "paired per round; the matching floor: the same logic without khelp" "$V/ertt.ns_so" "$V/plain.ns_so"
diffrow "khelp's entry code on h_ertt (h_ertt - plain)" "tp_btf ns per call" "paired per round; the tcp_est_in entry is the same code in both: the method's error" "$V/ertt.ns_in" "$V/plain.ns_in"
diffrow "khelp entry code (kt_pp1 - lookup floor)" "sockops ns per call" "paired per round; kt_pp1 counts one field, the floor one" "$V/pp1.ns_so" "$V/fl_lookup.ns_so"
diffrow "khelp entry code (kt_pp1 - lookup floor)" "tp_btf ns per call" "paired per round" "$V/pp1.ns_in" "$V/fl_lookup.ns_in"
diffrow "h_ertt above the lookup floor" "sockops ns per call" "paired per round; khelp's entry code included" "$V/ertt.ns_so" "$V/fl_lookup.ns_so"
diffrow "h_ertt above the lookup floor" "tp_btf ns per call" "paired per round; against the tp_btf lookup floor" "$V/ertt.ns_in" "$V/fl_lookup.ns_in"
diffrow "h_ertt's logic alone above the lookup floor" "sockops ns per call" "paired per round" "$V/plain.ns_so" "$V/fl_lookup.ns_so"
diffrow "h_ertt's logic alone above the lookup floor" "tp_btf ns per call" "paired per round" "$V/plain.ns_in" "$V/fl_lookup.ns_in"

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
foreign="$(cat "$V"/tcp_probe_links.* | sort -n | tail -1)"
echo "hookpath: at most $foreign tcp_probe links on the machine at a state switch (ours included)" >&2
jq -cn --argjson m "$(bl_machine)" --arg s "$STATS_ON" --arg f "$foreign" \
	'$m + {part: "hookpath", bpf_stats_during_phase1: $s, max_tcp_probe_links: ($f | tonumber)}' >"$BENCH_OUT/$PART.meta.json"
