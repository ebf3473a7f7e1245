#!/usr/bin/env bash
# Hook overhead, side by side in one run: TCP throughput between two
# namespaces with no khelp, with khelpd but no modules on the container,
# with h_ertt, and with h_ertt + kh_newreno as the container's CC; plus the
# per-callback cost of each module's program from kernel bpf_stats.
# Rounds alternate the configurations so machine noise hits all alike.
set -eu
. "$(dirname "$0")/../tests/e2e/lib.bash"
ROUNDS="${ROUNDS:-3}"
SECS="${SECS:-3}"

kh_setup
trap kh_teardown EXIT
kh_netns
kh_server 5201
NONE="$(kh_cgroup none)"; BARE="$(kh_cgroup bare)"; ERTT="$(kh_cgroup ertt)"; BOTH="$(kh_cgroup both)"
cp "$MODS/h_ertt.bpf.o" "$MODS/kh_newreno.bpf.o" "$TMP/modules/"
printf '[container]\ncgroup = %s\n' "${BARE#$CGROOT/}" >"$TMP/policies/bare.conf"
printf '[container]\ncgroup = %s\n[tcp]\nhelpers = h_ertt\n' "${ERTT#$CGROOT/}" >"$TMP/policies/ertt.conf"
printf '[container]\ncgroup = %s\n[tcp]\nhelpers = h_ertt\ncongestion = kh_newreno\n' "${BOTH#$CGROOT/}" >"$TMP/policies/both.conf"
kh_start
kh_until bash -c "[ \"\$('$KHELPCTL' -j containers | jq '[.[] | select(.state == \"active\")] | length')\" = 3 ]"

declare -A sum
for r in $(seq "$ROUNDS"); do
	for cfg in none bare ertt both; do
		case $cfg in none) cg=-;; bare) cg="$BARE";; ertt) cg="$ERTT";; both) cg="$BOTH";; esac
		# "none": a cgroup khelp knows nothing about
		[ "$cfg" = none ] && cg="$NONE"
		kh_client "$cg" "$TMP/$cfg.$r" 5201 --seconds "$SECS" --cc kh_newreno
		wait "$LAST_PID"
		mbit="$(awk '$1 == "sent" { print $4 }' "$TMP/$cfg.$r")"
		sum[$cfg]="$(echo "${sum[$cfg]:-0} + $mbit" | bc -l)"
		printf '# round %d %-5s %10.1f Mbit/s\n' "$r" "$cfg" "$mbit"
	done
done
base="$(echo "${sum[none]} / $ROUNDS" | bc -l)"
echo
echo "TCP throughput between two namespaces over veth, ${SECS}s x $ROUNDS rounds each, same CC (kh_newreno) everywhere"
printf '%-34s %12s %8s\n' configuration "Mbit/s" ratio
for cfg in none bare ertt both; do
	avg="$(echo "${sum[$cfg]} / $ROUNDS" | bc -l)"
	case $cfg in
	none) label="no khelp";; bare) label="khelp, container without modules";;
	ertt) label="khelp, h_ertt";; both) label="khelp, h_ertt + kh_newreno default";;
	esac
	printf '%-34s %12.1f %8.3f\n' "$label" "$avg" "$(echo "$avg / $base" | bc -l)"
done
echo
echo "Per-callback cost (kernel bpf_stats, whole run)"
printf '%-12s %12s %14s %10s\n' program run_cnt run_time_ns ns/call
for p in h_ertt khelp_ccsel; do
	bpftool -j prog show name "$p" 2>/dev/null | jq -r '[.name, .run_cnt, .run_time_ns] | @tsv' | while read -r n c t; do
		[ "$c" -gt 0 ] && printf '%-12s %12d %14d %10.1f\n' "$n" "$c" "$t" "$(echo "$t / $c" | bc -l)"
	done
done
