#!/usr/bin/env bash
# Congestion-control fidelity benchmark: every kh_ CC through one bottleneck,
# side by side with its kernel counterpart (kh_newreno/reno, kh_cubic/cubic)
# or with kh_newreno, all in one run with the same settings per comparison.
# Not a test: it prints a table and never fails on the numbers.
#
# The path, the bottleneck and the two settings are those of
# tests/e2e/fidelity.bats (see tests/e2e/fidelity_lib.bash):
#   loss   tbf 100 Mbit/s, 50 ms drop-tail queue, every 300th data segment dropped
#   queue  the same tbf, no added loss (a loss-based CC fills the queue)
# CE marks on ECT segments queued > 2 ms are on in both; only kh_dctcp asks for ECN.
# A flow whose socket gets an ssthresh above TCP_INFINITE_SSTHRESH (a kernel
# bug with BPF CCs on these machines, see fidelity_lib.bash) is run again (up
# to FID_TRIES attempts); the last lines name the flows it hit.
#
# Usage: bench/fidelity.sh [SECONDS]   (root; a private khelpd, namespaces and
#        cgroups, all removed on exit). FID_RATE_MBIT, FID_QUEUE_MS, FID_MARK_US,
#        FID_LOSS_EVERY override the settings.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
# shellcheck source=tests/e2e/lib.bash
source tests/e2e/lib.bash
# shellcheck source=tests/e2e/fidelity_lib.bash
source tests/e2e/fidelity_lib.bash

FID_SECONDS="${1:-$FID_SECONDS}"
FID_LOSS_EVERY="${FID_LOSS_EVERY:-300}"
KH_CCS="kh_newreno kh_cubic kh_htcp kh_vegas kh_hd kh_chd kh_cdg kh_dctcp"

if [ "$(id -u)" -ne 0 ]; then
	echo "Error: bench/fidelity.sh needs root (namespaces, cgroups, BPF)" >&2
	exit 1
fi
for f in "$KHELPD" "$KHELPCTL" "$KHTCP" "$MODS/h_ertt.bpf.o"; do
	[ -e "$f" ] || { echo "Error: $f is missing: run make all" >&2; exit 1; }
done

exec 3>&2	# progress lines of the library
kh_setup
trap 'BATS_TEST_COMPLETED=1 fid_teardown' EXIT
trap 'exit 130' INT TERM
FID_RESULTS="$TMP/results"
# shellcheck disable=SC2086 # a list of names
fid_wait_names_free $KH_CCS
fid_topology
fid_bottleneck
kh_server 5201
cp "$MODS/h_ertt.bpf.o" "$TMP/modules/"
for cc in $KH_CCS; do
	cp "$MODS/$cc.bpf.o" "$TMP/modules/"
	fid_container "c_$cc" "$cc"
done
fid_container srv_dctcp kh_dctcp	# the kh_dctcp flow's receiver echoes CE exactly
kh_start
for cc in $KH_CCS; do fid_wait_active "c_$cc"; done
fid_wait_active srv_dctcp
bash -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' _ "$CG/srv_dctcp" \
	ip netns exec "$NS_B" "$KHTCP" serve "$ADDR_B" 5202 >"$TMP/srv_dctcp.out" 2>&1 &
PIDS+=("$!")
kh_until grep -q listening "$TMP/srv_dctcp.out"

# flows hit by the kernel's ssthresh corruption are re-run (fidelity_lib.bash)
fid_loss "$FID_LOSS_EVERY"
fid_flow_clean reno - 5201 --cc reno
fid_flow_clean kh_newreno "$CG/c_kh_newreno" 5201
fid_flow_clean cubic - 5201 --cc cubic
fid_flow_clean kh_cubic "$CG/c_kh_cubic" 5201
fid_loss 0
fid_flow_clean q_newreno "$CG/c_kh_newreno" 5201
for cc in kh_vegas kh_hd kh_chd kh_cdg kh_htcp; do
	fid_flow_clean "q_${cc#kh_}" "$CG/c_$cc" 5201
done
fid_flow_clean q_dctcp "$CG/c_kh_dctcp" 5202

# one table: each row against its counterpart, ratios as row / counterpart
echo
echo "congestion-control fidelity: tbf ${FID_RATE_MBIT} Mbit/s, ${FID_QUEUE_MS} ms drop-tail queue," \
	"${FID_SECONDS} s per flow, RTT = median of ss samples every ${FID_SAMPLE} s after the first ${FID_SKIP} s"
echo "setting loss: 1 in ${FID_LOSS_EVERY} data segments dropped; queue: no added loss." \
	"CE above ${FID_MARK_US} us of queueing (only kh_dctcp negotiates ECN)"
echo
{
	printf 'setting algorithm sent_Mbit/s goodput_Mbit/s retransmits tail_drops rtt_p50_ms rtt_p90_ms vs goodput_ratio retrans_ratio rtt_ratio CE_marks\n'
	while read -r label vs; do
		awk -v l="$label" -v vs="$vs" -v fields="$FID_FIELDS" '
			BEGIN { n = split(fields, f, " "); for (i = 1; i <= n; i++) c[f[i]] = i }
			{ for (i = 1; i <= n; i++) row[$1, f[i]] = $i }
			function r(a, b) { return b > 0 ? sprintf("%.2f", a / b) : (a > 0 ? "inf" : "-") }
			END {
				ref = l == vs	# a reference row: no ratios
				printf "%s %s %s %s %s %s %s %s %s %s %s %s %s\n",
					row[l, "loss"] ? "loss" : "queue", row[l, "cc"], row[l, "mbit"], row[l, "goodput"],
					row[l, "retrans"], row[l, "qdrops"], row[l, "rtt_med"], row[l, "rtt_p90"],
					ref ? "(reference)" : row[vs, "cc"],
					ref ? "-" : r(row[l, "goodput"], row[vs, "goodput"]),
					ref ? "-" : r(row[l, "retrans"], row[vs, "retrans"]),
					ref ? "-" : r(row[l, "rtt_med"], row[vs, "rtt_med"]), row[l, "marks"]
			}' "$FID_RESULTS"
	done <<-PAIRS
		reno reno
		kh_newreno reno
		cubic cubic
		kh_cubic cubic
		q_newreno q_newreno
		q_vegas q_newreno
		q_hd q_newreno
		q_chd q_newreno
		q_cdg q_newreno
		q_htcp q_newreno
		q_dctcp q_newreno
	PAIRS
} | column -t
echo
# the attempts fid_flow_clean discarded, and a kept flow that was still hit
awk '$1 ~ /~/ || $NF > 0 { hit = hit sprintf(" %s(%s ACKs)", $1, $NF) }
	END { if (hit) print "flows with ssthresh > TCP_INFINITE_SSTHRESH (this machine\047s kernel skipped ssthresh(); ~N = discarded attempt):" hit
	      else print "no flow saw ssthresh > TCP_INFINITE_SSTHRESH" }' "$FID_RESULTS"
