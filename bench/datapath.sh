#!/usr/bin/env bash
# Offload datapath throughput, side by side in one run: TCP into a container over veth with no
# program on its interface ("none"), with an XDP program that only passes ("xdppass": a veth with any
# XDP program turns off its peer's TSO, so this separates that mode change from our program's cost),
# with khelp's XDP datapath (native XDP link), with khelp's TC datapath (tcx), and with the same XDP
# program loaded by xdp-tools' xdp-loader behind the libxdp dispatcher (sharing khelp's pinned maps,
# so it does the same per-packet work). Rounds interleave
# the configurations (bench/lib.bash: one CPU for sender and receiver, rotated order, per-round
# ratios, medians with min/max/quartiles). Also the per-packet cost from kernel bpf_stats.
#   QUICK=1: 3 rounds of 1 s; otherwise ROUNDS (9) of SECS (3) s.
# Results: JSON lines in $BENCH_OUT/datapath.jsonl.
set -eu
# shellcheck source=bench/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
ROUNDS="${ROUNDS:-$(bl_q 9 3)}"
SECS="${SECS:-$(bl_q 3 1)}"
PART=datapath
mkdir -p "$BENCH_OUT"
rm -f "$BENCH_OUT/$PART.jsonl"
PORT=5201
OBJ="$OUT/offload/ofl_dp.bpf.o"
command -v xdp-loader >/dev/null || { echo "datapath bench: xdp-loader missing (make deps installs xdp-tools)" >&2; exit 1; }

kh_setup
# libxdp pins its dispatcher state under this run's bpffs subtree, which
# kh_teardown removes, not under the host-wide /sys/fs/bpf/xdp
export LIBXDP_BPFFS="$BPFFS/libxdp"
mkdir -p "$LIBXDP_BPFFS"
trap 'nsenter --net="/run/netns/$NS_A" xdp-loader unload "$IF" --all >/dev/null 2>&1 || true; kh_teardown' EXIT
kh_netns
APP="$(kh_cgroup app)"
IF="${ID}x"
printf 'P dst port %s => offload\n' "$PORT" >"$TMP/policies/web.cop"
# the smallest XDP program, as the baseline of the veth's XDP mode
printf '%s\n' '#include <linux/bpf.h>' '#include <bpf/bpf_helpers.h>' \
	'SEC("xdp") int xdp_pass(struct xdp_md *ctx) { return XDP_PASS; }' \
	'char LICENSE[] SEC("license") = "GPL";' >"$TMP/xdp_pass.bpf.c"
clang-19 -O2 -g --target=bpf -idirafter /usr/include/x86_64-linux-gnu -c "$TMP/xdp_pass.bpf.c" -o "$TMP/xdp_pass.bpf.o"

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
	xdppass)
		use none
		ip -n "$NS_A" link set dev "$IF" xdpdrv obj "$TMP/xdp_pass.bpf.o" sec xdp
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
	[ "$1" = xdppass ] && ip -n "$NS_A" link set dev "$IF" xdpdrv off
	return 0
}

# the XDP/TC program of this configuration: "id" of the program whose run time covers our work
prog_of() {
	case $1 in
	xdp|libxdp|xdppass) ip -n "$NS_A" -j -d link show "$IF" | jq -r '.[0].xdp.prog.id // empty' ;;
	tc) bpftool -j link show pinned "$BPFFS/offload/$IF/tc_in" | jq -r .prog_id ;;
	*) echo ;;
	esac
}

bl_bg "$APP" "$NS_A" "$TMP/server.log" "$KHTCP" serve "$ADDR_A" "$PORT"
kh_until grep -q listening "$TMP/server.log"
policy none
kh_start

CONFIGS=(none xdppass xdp tc libxdp)
for r in $(seq "$ROUNDS"); do
	for cfg in $(bl_order "$r" "${CONFIGS[@]}"); do
		use "$cfg"
		id="$(prog_of "$cfg")"
		read -r t0 c0 <<<"$( [ -n "$id" ] && bl_prog_stats "$id" || echo "0 0")"
		bl_exec - "$NS_B" "$KHTCP" send "$ADDR_A" "$PORT" --seconds "$SECS" >"$TMP/$cfg.$r" 2>&1
		read -r t1 c1 <<<"$( [ -n "$id" ] && bl_prog_stats "$id" || echo "0 0")"
		awk '$1 == "sent" { print $4 }' "$TMP/$cfg.$r" >>"$TMP/mbit.$cfg"
		if [ $((c1 - c0)) -gt 0 ]; then
			echo "($t1 - $t0) / ($c1 - $c0)" | bc -l >>"$TMP/ns.$cfg"
		fi
		printf '# round %d %-7s %10.1f Mbit/s\n' "$r" "$cfg" "$(tail -n1 "$TMP/mbit.$cfg")" >&2
		leave "$cfg"
	done
done

T="offload datapath"
vals() { cat "$1" 2>/dev/null; }
echo "Offload datapath: TCP into the container over veth, ${SECS}s x $ROUNDS rotated rounds, sender and receiver on CPU $BENCH_CPU" >&2
for cfg in "${CONFIGS[@]}"; do
	bl_emit "$PART" "$T" "$cfg" "throughput" "Mbit/s" "TCP over veth into the container" $(vals "$TMP/mbit.$cfg")
done
for cfg in xdppass xdp tc libxdp; do
	bl_emit "$PART" "$T" "$cfg" "throughput ratio" "x" "vs no program on the interface, same round" \
		$(bl_ratios "$TMP/mbit.$cfg" "$TMP/mbit.none")
done
for cfg in xdp libxdp; do
	bl_emit "$PART" "$T" "$cfg vs xdppass" "throughput ratio" "x" \
		"vs an XDP_PASS program (same veth XDP mode: peer TSO off), same round" $(bl_ratios "$TMP/mbit.$cfg" "$TMP/mbit.xdppass")
done
bl_emit "$PART" "$T" "xdp vs libxdp" "throughput ratio" "x" \
	"khelp's XDP link vs the same program behind the libxdp dispatcher, same round" $(bl_ratios "$TMP/mbit.xdp" "$TMP/mbit.libxdp")
for cfg in xdppass xdp tc libxdp; do
	bl_emit "$PART" "$T" "$cfg" "cost per packet" "ns" \
		"bpf_stats of the attached program (libxdp: its dispatcher, which runs ours)" $(vals "$TMP/ns.$cfg")
done
