#!/usr/bin/env bash
# Restart to reconciled: khelpd with 100 containers and 5 modules is killed
# (kill -9) and started again; the time from the new khelpd's exec to its
# answer with every container active is what an operator waits after a
# crash or an upgrade. Side by side: the cold start of the same setup (empty
# bpffs: everything loaded and attached anew). Bench contract: QUICK=1 fewer
# rounds; takes the e2e lock itself unless KHELP_BENCH_LOCKED=1; JSON lines to
# $BENCH_OUT/restart.jsonl.
set -eu
# shellcheck source=bench/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

mkdir -p "$BENCH_OUT"
: >"$BENCH_OUT/restart.jsonl"
N="${CONTAINERS:-100}"
ROUNDS="$(bl_q 7 3)"
# 5 modules: two helpers, three CCs (kh_vegas depends on h_ertt)
MODLIST="h_ertt h_rtx kh_newreno kh_cubic kh_vegas"
CCS=(kh_newreno kh_cubic kh_vegas)

now_ns() { date +%s%N; }
active() { "$KHELPCTL" -j status 2>/dev/null | jq -r '.containers_active' 2>/dev/null; }
# start khelpd; MS = ms from exec until it answers with all N containers active
# (not in a $(...) subshell: KHELPD_PID must reach the caller)
start_timed() {
	local t0 t1
	t0="$(now_ns)"
	"$KHELPD" --config "$TMP/khelpd.conf" >>"$TMP/khelpd.log" 2>&1 &
	KHELPD_PID=$!
	PIDS+=("$KHELPD_PID")
	until [ "$(active)" = "$N" ]; do
		kill -0 "$KHELPD_PID" || { cat "$TMP/khelpd.log" >&2; return 1; }
		sleep 0.005
	done
	t1="$(now_ns)"
	MS=$(((t1 - t0) / 1000000))
}
kh_setup
trap kh_teardown EXIT
for m in $MODLIST; do cp "$MODS/$m.bpf.o" "$TMP/modules/"; done
for i in $(seq "$N"); do
	mkdir -p "$CG/c$i"
	printf '[container]\ncgroup = %s\n[tcp]\ncongestion = %s\nhelpers = h_ertt, h_rtx\n' \
		"${CG#$CGROOT/}/c$i" "${CCS[$((i % 3))]}" >"$TMP/policies/c$i.conf"
done
cold=() warm=()
for r in $(seq "$ROUNDS"); do
	# cold: nothing pinned
	rm -rf "$BPFFS"
	start_timed
	cold+=("$MS")
	links="$(bpftool -j link show | jq length)"
	kill -9 "$KHELPD_PID"; wait "$KHELPD_PID" 2>/dev/null || true
	# restart after a crash: everything pinned is adopted
	start_timed
	warm+=("$MS")
	[ "$(bpftool -j link show | jq length)" = "$links" ] || echo "round $r: link count changed across the restart" >&2
	kill -9 "$KHELPD_PID"; wait "$KHELPD_PID" 2>/dev/null || true
done
echo "containers $N, modules 5 (ms):" >&2
bl_emit restart restart "kill -9, restart, $N containers, 5 modules" "restart to reconciled" ms \
	"exec to khelpctl status with every container active; pins adopted, no new link" "${warm[@]}"
bl_emit restart restart "cold start, $N containers, 5 modules" "start to all active" ms \
	"empty bpffs: every module loaded and attached anew" "${cold[@]}"
