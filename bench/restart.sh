#!/usr/bin/env bash
# Restart to reconciled: khelpd with 100 containers and 5 modules is killed
# (kill -9) and started again; the time from the new khelpd's exec to its
# answer with every container active is what an operator waits after a
# crash or an upgrade. Side by side: the cold start of the same setup (empty
# bpffs: everything loaded and attached anew). Bench contract: QUICK=1 fewer
# rounds; takes the e2e lock itself unless KHELP_BENCH_LOCKED=1; JSON lines to
# $BENCH_OUT/restart.jsonl.
set -eu
cd "$(dirname "$0")/.."
if [ "${KHELP_BENCH_LOCKED:-}" != 1 ]; then
	export KHELP_BENCH_LOCKED=1
	exec flock /tmp/khelp-e2e.lock bash "$0" "$@"
fi
. tests/e2e/lib.bash
BENCH_OUT="${BENCH_OUT:-$OUT/bench}"
mkdir -p "$BENCH_OUT"
N="${CONTAINERS:-100}"
ROUNDS=7
[ "${QUICK:-}" = 1 ] && ROUNDS=3
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
stats() { sort -n | awk '{ v[NR] = $1 } END { printf "%s %s %s %d", v[int((NR + 1) / 2)], v[1], v[NR], NR }'; }
emit() {	# row metric "median min max n" note
	set -- "$1" "$2" $3 "$4"
	printf '{"table":"restart","row":"%s","metric":"%s","median":%s,"min":%s,"max":%s,"n":%s,"unit":"ms","note":"%s"}\n' \
		"$1" "$2" "$3" "$4" "$5" "$6" "$7" >>"$BENCH_OUT/restart.jsonl"
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
w="$(printf '%s\n' "${warm[@]}" | stats)"
c="$(printf '%s\n' "${cold[@]}" | stats)"
printf 'containers %d, modules %d: restart (kill -9) to reconciled: median %s ms (min %s, max %s, n %s)\n' "$N" 5 $w
printf '                          cold start to all active:   median %s ms (min %s, max %s, n %s)\n' $c
emit "kill -9, restart, $N containers, 5 modules" "restart to reconciled" "$w" "exec to khelpctl status with every container active; pins adopted, no new link"
emit "cold start, $N containers, 5 modules" "start to all active" "$c" "empty bpffs: every module loaded and attached anew"
