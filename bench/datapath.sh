#!/usr/bin/env bash
# Offload datapath throughput, side by side in one run: TCP into a container over veth with no
# program on its interface ("none"), with khelp's XDP datapath (native XDP link), with khelp's TC
# datapath (tcx), and with the same XDP program loaded by xdp-tools' xdp-loader behind the libxdp
# dispatcher (sharing khelp's pinned maps, so it does the same per-packet work). Rounds interleave
# the four; ratios are per round against that round's "none"; medians with min/max. Client and
# server are pinned to different CPUs. Also the per-packet cost from kernel bpf_stats.
#   QUICK=1: 3 rounds of 2 s; otherwise ROUNDS (7) of SECS (4) s.
# Results: JSON lines in $BENCH_OUT/datapath.jsonl (BENCH_OUT defaults to .output/bench).
set -eu
cd "$(dirname "$0")/.."
if [ "${KHELP_BENCH_LOCKED:-0}" != 1 ]; then
	export KHELP_BENCH_LOCKED=1
	exec flock /tmp/khelp-e2e.lock bash "$0" "$@"
fi
. tests/e2e/lib.bash
if [ "${QUICK:-0}" = 1 ]; then ROUNDS="${ROUNDS:-3}"; SECS="${SECS:-2}"; else ROUNDS="${ROUNDS:-7}"; SECS="${SECS:-4}"; fi
BENCH_OUT="${BENCH_OUT:-$REPO/.output/bench}"
mkdir -p "$BENCH_OUT"
JSONL="$BENCH_OUT/datapath.jsonl"
: >"$JSONL"
PORT=5201
OBJ="$OUT/offload/ofl_dp.bpf.o"
command -v xdp-loader >/dev/null || { echo "datapath bench: xdp-loader missing (make deps installs xdp-tools)" >&2; exit 1; }

kh_setup
trap 'nsenter --net="/run/netns/$NS_A" xdp-loader unload "$IF" --all >/dev/null 2>&1 || true; kh_teardown' EXIT
kh_netns
APP="$(kh_cgroup app)"
IF="${ID}x"
printf 'P dst port %s => offload\n' "$PORT" >"$TMP/policies/web.cop"

# policy DATAPATH|none: the container with or without its [offload] section, written atomically
policy() {
	{
		printf '[container]\ncgroup = %s\nnetns = /run/netns/%s\n' "${APP#$CGROOT/}" "$NS_A"
		[ "$1" = none ] || printf '[offload]\ninterface = %s\npolicy = web.cop\ndatapath = %s\n' "$IF" "$1"
	} >"$TMP/policies/.web.tmp"
	mv "$TMP/policies/.web.tmp" "$TMP/policies/web.conf"
}
ip_xdp() { ip -n "$NS_A" -d link show "$IF"; }

# switch to configuration $1, and wait until the interface shows it
use() {
	case $1 in
	none)
		policy none
		kh_until bash -c "[ ! -e '$BPFFS/offload/$IF' ] && ! ip -n '$NS_A' link show '$IF' | grep -q xdp"
		;;
	xdp)
		policy xdp
		kill -HUP "$KHELPD_PID"
		kh_until test -e "$BPFFS/offload/$IF/xdp"
		;;
	tc)
		policy tc
		kh_until test -e "$BPFFS/offload/$IF/tc_in"
		;;
	libxdp)
		use xdp
		rm "$BPFFS/offload/$IF/xdp"	# khelp's own XDP link goes; its maps and sockops stay
		kh_until bash -c "! ip -n '$NS_A' link show '$IF' | grep -q xdp"
		nsenter --net="/run/netns/$NS_A" xdp-loader load -m native -p "$BPFFS/offload/$IF" -n ofl_xdp "$IF" "$OBJ"
		kh_until bash -c "ip -n '$NS_A' -d link show '$IF' | grep -q 'prog/xdp'"
		;;
	esac
}
leave() {
	[ "$1" = libxdp ] && nsenter --net="/run/netns/$NS_A" xdp-loader unload "$IF" --all
	return 0
}

# the XDP/TC program of this configuration: "id" of the program whose run time covers our work
prog_of() {
	case $1 in
	xdp|libxdp) ip -n "$NS_A" -j -d link show "$IF" | jq -r '.[0].xdp.prog.id // empty' ;;
	tc) bpftool -j link show pinned "$BPFFS/offload/$IF/tc_in" | jq -r .prog_id ;;
	*) echo ;;
	esac
}
stats_of() { [ -n "$1" ] && bpftool -j prog show id "$1" | jq -r '"\(.run_cnt // 0) \(.run_time_ns // 0)"' || echo "0 0"; }

bash -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' _ "$APP" \
	taskset -c 1 ip netns exec "$NS_A" "$KHTCP" serve "$ADDR_A" "$PORT" >"$TMP/server.log" 2>&1 &
PIDS+=("$!")
kh_until grep -q listening "$TMP/server.log"
policy none
kh_start

CONFIGS="none xdp tc libxdp"
declare -A mbit ns
for r in $(seq "$ROUNDS"); do
	for cfg in $CONFIGS; do
		use "$cfg"
		id="$(prog_of "$cfg")"
		read -r c0 t0 <<<"$(stats_of "$id")"
		taskset -c 0 ip netns exec "$NS_B" "$KHTCP" send "$ADDR_A" "$PORT" --seconds "$SECS" >"$TMP/$cfg.$r" 2>&1
		read -r c1 t1 <<<"$(stats_of "$id")"
		m="$(awk '$1 == "sent" { print $4 }' "$TMP/$cfg.$r")"
		mbit[$cfg.$r]="$m"
		[ $((c1 - c0)) -gt 0 ] && ns[$cfg.$r]="$(echo "($t1 - $t0) / ($c1 - $c0)" | bc -l)"
		printf '# round %d %-7s %10.1f Mbit/s %s\n' "$r" "$cfg" "$m" "${ns[$cfg.$r]:+$(printf '%.1f ns/pkt' "${ns[$cfg.$r]}")}"
		leave "$cfg"
	done
done

# median min max n of the numbers on stdin
stats() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.4f %.4f %.4f %d\n", m, v[1], v[NR], NR }'; }
emit() {	# table row metric unit note < numbers
	local s
	s="$(stats)" || return 0
	read -r med min max n <<<"$s"
	jq -nc --arg t "$1" --arg r "$2" --arg m "$3" --arg u "$4" --arg note "$5" \
		--argjson med "$med" --argjson min "$min" --argjson max "$max" --argjson n "$n" \
		'{table: $t, row: $r, metric: $m, median: $med, min: $min, max: $max, n: $n, unit: $u, note: $note}' >>"$JSONL"
	printf '%-8s %-18s %10.3f %10.3f %10.3f %3d %s\n' "$2" "$3" "$med" "$min" "$max" "$n" "$4"
}

echo
echo "Offload datapath: TCP into the container over veth, ${SECS}s x $ROUNDS interleaved rounds; ratio = config / none of the same round"
printf '%-8s %-18s %10s %10s %10s %3s %s\n' config metric median min max n unit
for cfg in $CONFIGS; do
	for r in $(seq "$ROUNDS"); do echo "${mbit[$cfg.$r]}"; done |
		emit "offload datapath" "$cfg" "throughput" "Mbit/s" "TCP over veth into the container, client and server on separate CPUs"
done
for cfg in xdp tc libxdp; do
	for r in $(seq "$ROUNDS"); do echo "${mbit[$cfg.$r]} ${mbit[none.$r]}" | awk '$2 > 0 { print $1 / $2 }'; done |
		emit "offload datapath" "$cfg" "throughput ratio" "x" "vs no program on the interface, same round"
done
for r in $(seq "$ROUNDS"); do echo "${mbit[xdp.$r]} ${mbit[libxdp.$r]}" | awk '$2 > 0 { print $1 / $2 }'; done |
	emit "offload datapath" "xdp vs libxdp" "throughput ratio" "x" "khelp XDP link vs the same program behind the libxdp dispatcher, same round"
for cfg in xdp tc libxdp; do
	for r in $(seq "$ROUNDS"); do [ -n "${ns[$cfg.$r]:-}" ] && echo "${ns[$cfg.$r]}"; done |
		emit "offload datapath" "$cfg" "cost per packet" "ns" "kernel bpf_stats of the attached program (libxdp: its dispatcher, which runs ours)"
done
