#!/usr/bin/env bash
# h_ertt's cost, side by side in one run (issue 10, "Cost"):
#  - ns per callback (kernel bpf_stats) of h_ertt's two programs: the sockops
#    entry (tcp_est_out, tcp_retrans) and the every-ACK entry h_ertt_in
#    (tp_btf/tcp_probe), against the floors of bench/hertt_floor.bpf.c
#    attached directly with bpftool: a sockops program that only sets the same
#    callback flags, one that also does one sk_storage_get, and a tcp_probe
#    program doing what khelp's tcp_est_in entry does before the hook (the
#    callback-flag test, then one sk_storage_get);
#  - h_ertt_in and its floor per ACK of the hooked connection: tcp_probe runs
#    for both ends, so the per-call figure mixes the sender's ACKs with the
#    receiver's data segments; (run time - unhooked calls x the program's ns
#    per call on sockets without h_ertt) / segments the sender received;
#  - h_ertt_in on sockets of a container WITHOUT the module (attached because
#    another container uses h_ertt): ns per call and calls per segment;
#  - single-core throughput: sender and receiver pinned to one CPU, cubic on
#    both ends, bpf_stats off, paired interleaved rounds of: no khelp program
#    at all / h_ertt attached for another container (unhooked sockets) /
#    h_ertt on the connection. Ratios per round against the round's "none";
#    median, min and max over the rounds.
# Results: printed, and JSON lines in $BENCH_OUT/hertt.jsonl (bench contract).
set -euo pipefail
# shellcheck source=bench/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

PART=hertt
ROUNDS="${ROUNDS:-$(bl_q 9 3)}"
SECS="${SECS:-$(bl_q 2 1)}"
CPU="$BENCH_CPU"
mkdir -p "$BENCH_OUT"
: >"$BENCH_OUT/$PART.jsonl"

kh_setup
cleanup() {
	[ -n "${FLOOR_CG_ATTACHED:-}" ] && bpftool cgroup detach "$FLOOR_CG_ATTACHED" sock_ops pinned "$FPINS/progs/$FLOOR_PROG" 2>/dev/null
	rm -rf "${FPINS:-/nonexistent}"
	kh_teardown
}
trap cleanup EXIT
kh_netns
NONE="$(kh_cgroup none)"; BARE="$(kh_cgroup bare)"; ERTT="$(kh_cgroup ertt)"; FLOOR="$(kh_cgroup floor)"
cp "$MODS/h_ertt.bpf.o" "$TMP/modules/"
printf '[container]\ncgroup = %s\n' "${BARE#$CGROOT/}" >"$TMP/policies/bare.conf"
ERTT_POLICY="$(printf '[container]\ncgroup = %s\n[tcp]\nhelpers = h_ertt\n' "${ERTT#$CGROOT/}")"
echo "$ERTT_POLICY" >"$TMP/policies/ertt.conf"
kh_start
kh_wait_modules ertt '["h_ertt"]'
taskset -c "$CPU" ip netns exec "$NS_B" "$KHTCP" serve "$ADDR_B" 5201 --cc cubic >"$TMP/server.log" 2>&1 &
PIDS+=("$!")
kh_until grep -q listening "$TMP/server.log"

# the floors, loaded (and tcp_probe attached) by bpftool, no khelpd
FPINS="$BPFFS-floor"
for v in "" _in; do
	clang-19 -g -O2 --target=bpf -D__TARGET_ARCH_x86 -mcpu=v3 -Wall -Werror -I"$REPO" -I"$OUT" \
		${v:+-DHF_TCP_PROBE} -idirafter /usr/include -idirafter /usr/include/x86_64-linux-gnu \
		-c "$REPO/bench/hertt_floor.bpf.c" -o "$TMP/hertt_floor$v.bpf.o"
done
mkdir -p "$FPINS"
bpftool prog loadall "$TMP/hertt_floor.bpf.o" "$FPINS/progs" pinmaps "$FPINS/maps"

# prog_stat PIN: "run_cnt run_time_ns" of the program pinned at PIN (or of a pinned link's program)
prog_stat() {
	local id
	id="$(bpftool -j prog show pinned "$1" 2>/dev/null | jq .id)" ||
		id="$(bpftool -j link show pinned "$1" | jq .prog_id)"
	bpftool -j prog show id "$id" | jq -r '"\(.run_cnt // 0) \(.run_time_ns // 0)"'
}
# transfer CGROUP [PINNED]: one bulk transfer from CGROUP, sender on CPU if PINNED
transfer() {
	local out="$TMP/t.$RANDOM"
	if [ -n "${2:-}" ]; then
		bash -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' _ "$1" \
			taskset -c "$CPU" ip netns exec "$NS_A" "$KHTCP" send "$ADDR_B" 5201 --seconds "$SECS" --cc cubic >"$out" 2>&1
	else
		bash -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' _ "$1" \
			ip netns exec "$NS_A" "$KHTCP" send "$ADDR_B" 5201 --seconds "$SECS" --cc cubic >"$out" 2>&1
	fi
	awk '$1 == "sent" { print $4 }' "$out"
}
# stats_round NAME CGROUP PIN...: ns per call of each PIN over one transfer, into $TMP/stat.NAME.<i>
stats_round() {
	local name="$1" cg="$2" i=0 p before after
	shift 2
	declare -a b
	for p in "$@"; do b+=("$(prog_stat "$p")"); done
	segs0="$(ip netns exec "$NS_A" nstat -asz TcpInSegs | awk '$1 == "TcpInSegs" { print $2 }')"
	transfer "$cg" >/dev/null
	segs1="$(ip netns exec "$NS_A" nstat -asz TcpInSegs | awk '$1 == "TcpInSegs" { print $2 }')"
	for p in "$@"; do
		read -r c0 t0 <<<"${b[$i]}"
		read -r c1 t1 <<<"$(prog_stat "$p")"
		[ "$c1" -gt "$c0" ] && echo "$(( (t1 - t0) )) $(( c1 - c0 )) $((segs1 - segs0))" >>"$TMP/stat.$name.$i"
		i=$((i + 1))
	done
	return 0
}
# nspc FILE: per-round ns per call from "time calls segs" lines
nspc() { awk '{ printf "%.2f\n", $1 / $2 }' "$1"; }
# nspa FILE UNHOOKED: per-round ns per ACK of the hooked sender: the calls beyond the
# sender's received segments are the receiver's, costed at the median ns per call of
# FILE UNHOOKED (the same program on sockets without the module)
nspa() {
	local u
	u="$(nspc "$2" | bl_stats | cut -d' ' -f1)"
	awk -v u="$u" '{ printf "%.2f\n", ($1 - ($2 - $3) * u) / $3 }' "$1"
}
emit() { bl_emit "$PART" "h_ertt cost" "$@"; }

HPIN="$BPFFS/modules/h_ertt"
echo "h_ertt per-callback cost (kernel bpf_stats on), ${SECS}s bulk transfers x $ROUNDS rounds, interleaved"
for r in $(seq "$ROUNDS"); do
	stats_round ertt "$ERTT" "$HPIN/sockops" "$HPIN/est_in_prog"
	stats_round unhooked "$BARE" "$HPIN/est_in_prog"
	for f in hertt_floor0 hertt_floor1; do
		bpftool cgroup attach "$FLOOR" sock_ops pinned "$FPINS/progs/$f"
		FLOOR_CG_ATTACHED="$FLOOR" FLOOR_PROG="$f"
		stats_round "$f" "$FLOOR" "$FPINS/progs/$f"
		bpftool cgroup detach "$FLOOR" sock_ops pinned "$FPINS/progs/$f"
		FLOOR_CG_ATTACHED=
	done
done
emit "h_ertt sockops (est_out, retrans)" "ns per callback" ns "bpf_stats run_time_ns / run_cnt per round; khelp entry included" $(nspc "$TMP/stat.ertt.0")
emit "h_ertt_in (est_in, tcp_probe)" "ns per callback" ns "every segment of both ends: the hooked sender's ACKs, the unhooked receiver's data" $(nspc "$TMP/stat.ertt.1")
emit "floor: sockops, same flags" "ns per callback" ns "bpftool-attached, no khelpd (bench/hertt_floor.bpf.c)" $(nspc "$TMP/stat.hertt_floor0.0")
emit "floor: + one sk_storage_get" "ns per callback" ns "bpftool-attached, no khelpd (bench/hertt_floor.bpf.c)" $(nspc "$TMP/stat.hertt_floor1.0")
emit "h_ertt_in, sockets without h_ertt" "ns per callback" ns "transfer from a container without modules while another container uses h_ertt" $(nspc "$TMP/stat.unhooked.0")
emit "h_ertt_in, sockets without h_ertt" "calls per received segment" x "both ends run it; segments received by the sender (TcpInSegs)" $(awk '{ printf "%.3f\n", $2 / $3 }' "$TMP/stat.unhooked.0")

# ---- the tcp_probe floor on hooked sockets ----
bpftool cgroup attach "$FLOOR" sock_ops pinned "$FPINS/progs/hertt_floor1"
FLOOR_CG_ATTACHED="$FLOOR" FLOOR_PROG=hertt_floor1
bpftool prog loadall "$TMP/hertt_floor_in.bpf.o" "$FPINS/links" map name hf_data pinned "$FPINS/maps/hf_data" autoattach
for r in $(seq "$ROUNDS"); do
	stats_round floor_in "$FLOOR" "$FPINS/links/hertt_floor_in"
	stats_round floor_in_unhooked "$NONE" "$FPINS/links/hertt_floor_in"
done
emit "floor: tcp_probe + sk_storage_get" "ns per callback" ns "bpftool-attached; flag test + lookup as khelp's entry; the sender's sockets have the floor's storage" $(nspc "$TMP/stat.floor_in.0")
emit "floor: tcp_probe, sockets without" "ns per callback" ns "the same floor on a transfer whose sockets have neither flags nor storage" $(nspc "$TMP/stat.floor_in_unhooked.0")
emit "h_ertt_in (est_in, tcp_probe)" "ns per ACK of the hooked conn" ns "(run time - receiver calls x ns on sockets without h_ertt) / sender's segments" $(nspa "$TMP/stat.ertt.1" "$TMP/stat.unhooked.0")
emit "floor: tcp_probe + sk_storage_get" "ns per ACK of the hooked conn" ns "the same split for the floor" $(nspa "$TMP/stat.floor_in.0" "$TMP/stat.floor_in_unhooked.0")
rm -rf "$FPINS/links"
bpftool cgroup detach "$FLOOR" sock_ops pinned "$FPINS/progs/hertt_floor1"
FLOOR_CG_ATTACHED=

# ---- single-core throughput, bpf_stats off ----
kh_stop
sed -i 's/^stats = yes/stats = no/' "$TMP/khelpd.conf"
kh_start
echo
echo "Single-core throughput (sender and receiver on CPU $CPU, cubic both ends, bpf_stats off), ${SECS}s x $ROUNDS paired rounds"
ertt_on() { echo "$ERTT_POLICY" >"$TMP/policies/.e"; mv "$TMP/policies/.e" "$TMP/policies/ertt.conf"; kh_until test -e "$HPIN/est_in"; }
ertt_off() { rm -f "$TMP/policies/ertt.conf"; kh_until bash -c "! test -e '$HPIN/est_in'"; }
for r in $(seq "$ROUNDS"); do
	ertt_off
	none="$(transfer "$NONE" pin)"
	ertt_on
	unhooked="$(transfer "$BARE" pin)"
	ertt="$(transfer "$ERTT" pin)"
	printf '# round %d: none %.0f, unhooked %.0f, h_ertt %.0f Mbit/s\n' "$r" "$none" "$unhooked" "$ertt"
	awk -v a="$unhooked" -v b="$none" 'BEGIN { print a / b }' >>"$TMP/tp.unhooked"
	awk -v a="$ertt" -v b="$none" 'BEGIN { print a / b }' >>"$TMP/tp.ertt"
done
emit "h_ertt on the connection" "throughput ratio" x "vs no khelp program; one CPU, cubic both ends, bpf_stats off; per-round ratios" $(cat "$TMP/tp.ertt")
emit "h_ertt_in attached, conn without" "throughput ratio" x "vs no khelp program; one CPU, cubic both ends, bpf_stats off; per-round ratios" $(cat "$TMP/tp.unhooked")
