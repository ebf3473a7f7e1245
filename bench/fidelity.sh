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
# BPF program run skipped by this machine's kernel, see fidelity_lib.bash) is
# run again (up to FID_TRIES attempts); the last lines name the flows it hit.
#
# Usage: bench/fidelity.sh [SECONDS]   (root; a private khelpd, namespaces and
#        cgroups, all removed on exit). FID_RATE_MBIT, FID_QUEUE_MS, FID_MARK_US,
#        FID_LOSS_EVERY override the settings; FID_RUNS=N runs the set N times
#        (median [min..max] per figure), FID_ONLY="q_newreno q_cdg" a subset.
# It does not take the team lock: run it as  flock /tmp/khelp-e2e.lock bench/fidelity.sh
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

# FID_ONLY: the labels of the flows to run (default: all); FID_RUNS: how many
# times the set runs (each in this one setup); the table then gives each
# figure as median [min..max] over the runs, and n.
FID_RUNS="${FID_RUNS:-1}"
FID_ONLY="${FID_ONLY:-}"
want() { [ -z "$FID_ONLY" ] || [[ " $FID_ONLY " == *" $1 "* ]]; }
flows() {
	# flows hit by the kernel's ssthresh corruption are re-run (fidelity_lib.bash)
	fid_loss "$FID_LOSS_EVERY"
	want reno && fid_flow_clean reno - 5201 --cc reno
	want kh_newreno && fid_flow_clean kh_newreno "$CG/c_kh_newreno" 5201
	want cubic && fid_flow_clean cubic - 5201 --cc cubic
	want kh_cubic && fid_flow_clean kh_cubic "$CG/c_kh_cubic" 5201
	fid_loss 0
	want q_newreno && fid_flow_clean q_newreno "$CG/c_kh_newreno" 5201
	for cc in kh_vegas kh_hd kh_chd kh_cdg kh_htcp; do
		want "q_${cc#kh_}" && fid_flow_clean "q_${cc#kh_}" "$CG/c_$cc" 5201
	done
	want q_dctcp && fid_flow_clean q_dctcp "$CG/c_kh_dctcp" 5202
	# kh_dctcp to a listener whose CC does not need ECN: no ECN, reno
	want noecn_dctcp && fid_flow_clean noecn_dctcp "$CG/c_kh_dctcp" 5201
	return 0
}
ALL_RESULTS="$TMP/results.all"
: >"$ALL_RESULTS"
for ((run = 1; run <= FID_RUNS; run++)); do
	FID_RESULTS="$TMP/results.$run"
	flows
	awk -v r="$run" '{ print r, $0 }' "$FID_RESULTS" >>"$ALL_RESULTS"
done

# one table: each row against its counterpart, ratios as row / counterpart
# (within a run), every figure as the median [min..max] over the runs
echo
echo "congestion-control fidelity: tbf ${FID_RATE_MBIT} Mbit/s, ${FID_QUEUE_MS} ms drop-tail queue," \
	"${FID_SECONDS} s per flow, RTT = median of ss samples every ${FID_SAMPLE} s after the first ${FID_SKIP} s;" \
	"n = ${FID_RUNS} run(s): median [min..max]"
echo "setting loss: 1 in ${FID_LOSS_EVERY} data segments dropped; queue: no added loss." \
	"CE above ${FID_MARK_US} us of queueing (only kh_dctcp negotiates ECN)"
echo
{
	printf 'setting algorithm n goodput_Mbit/s retransmits tail_drops rtt_p50_ms rtt_p90_ms vs rtt_ratio CE_marks\n'
	while read -r label vs; do
		want "$label" || continue
		awk -v l="$label" -v vs="$vs" -v fields="$FID_FIELDS" '
			BEGIN { n = split(fields, f, " ") }
			{ for (i = 1; i <= n; i++) row[$1, $2, f[i]] = $(i + 1); runs[$1] = 1 }
			function sortn(a, k,   i, j, v) {
				for (i = 2; i <= k; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > v + 0; j--) a[j + 1] = a[j]; a[j + 1] = v }
			}
			# median [min..max] of the k values in a (k = 1: the value)
			function spread(a, k,   m) {
				if (!k) return "-"
				sortn(a, k)
				m = k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
				return k == 1 ? m : sprintf("%.4g[%s..%s]", m, a[1], a[k])
			}
			function col(name,   r, k, a) {
				k = 0; for (r in runs) if ((r, l, "cc") in row) a[++k] = row[r, l, name]
				return spread(a, k)
			}
			function ratio(   r, k, a) {
				k = 0
				for (r in runs) if ((r, l, "cc") in row && row[r, vs, "rtt_med"] > 0)
					a[++k] = sprintf("%.2f", row[r, l, "rtt_med"] / row[r, vs, "rtt_med"])
				return spread(a, k)
			}
			END {
				k = 0; for (r in runs) if ((r, l, "cc") in row) { k++; cc = row[r, l, "cc"]; loss = row[r, l, "loss"] }
				if (!k) exit
				ref = l == vs
				printf "%s %s %d %s %s %s %s %s %s %s %s\n", loss ? "loss" : "queue", cc, k,
					col("goodput"), col("retrans"), col("qdrops"), col("rtt_med"), col("rtt_p90"),
					ref ? "(reference)" : vs, ref ? "-" : ratio(), col("marks")
			}' "$ALL_RESULTS"
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
		noecn_dctcp q_newreno
	PAIRS
} | column -t
echo
# the attempts fid_flow_clean discarded, and a kept flow that was still hit
awk '$2 ~ /~/ || $NF > 0 { hit = hit sprintf(" %s(run %s: %s ACKs)", $2, $1, $NF) }
	END { if (hit) print "flows with ssthresh > TCP_INFINITE_SSTHRESH (this machine\047s kernel skipped ssthresh(); ~N = discarded attempt):" hit
	      else print "no flow saw ssthresh > TCP_INFINITE_SSTHRESH" }' "$ALL_RESULTS"
