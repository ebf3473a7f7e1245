#!/usr/bin/env bash
# The control plane at scale (issue 7, part 5): from dropping h_ertt into
# the module directory to h_ertt active in every container, at 1/100/1000/
# 10000 containers; khelpd's RSS then; khelpd startup with 10,000 policies
# (and h_ertt) until every container is active; `khelpctl conns` with
# 10,000 live connections. QUICK=1: 1/100/1000 containers, one round each.
# Results: $BENCH_OUT/control.jsonl, one JSON object per figure.
set -eu
# shellcheck source=bench/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

mkdir -p "$BENCH_OUT"
: >"$BENCH_OUT/control.jsonl"
if [ "${QUICK:-0}" = 1 ]; then
	SIZES="${SIZES:-1 100 1000}"; ROUNDS="${ROUNDS:-1}"; BIG=1000; CONNS=1000
else
	SIZES="${SIZES:-1 100 1000 10000}"; ROUNDS="${ROUNDS:-3}"; BIG=10000; CONNS=10000
fi

now_ns() { date +%s%N; }
attached() { "$KHELPCTL" -j status 2>/dev/null | jq .attachments; }
wait_attached() {
	local want="$1"
	until [ "$(attached)" = "$want" ]; do sleep 0.005; done
}

# emit ROW METRIC UNIT NOTE VALUES...: one figure from its per-round values
emit() { bl_emit control "control plane" "$@"; }

# containers N: N cgroups and N policies asking for h_ertt
containers() {
	local n="$1" rel="${CG#$CGROOT/}"
	for i in $(seq "$n"); do mkdir "$CG/c$i"; done
	for i in $(seq "$n"); do
		printf '[container]\ncgroup = %s/c%d\n[tcp]\nhelpers = h_ertt\n' "$rel" "$i" >"$TMP/policies/c$i.conf"
	done
}

drop_ertt() {
	cp "$MODS/h_ertt.bpf.o" "$TMP/modules/.h_ertt.tmp"
	mv "$TMP/modules/.h_ertt.tmp" "$TMP/modules/h_ertt.bpf.o"
}

for n in $SIZES; do
	drops=() rss=()
	for _ in $(seq "$ROUNDS"); do
		kh_setup
		trap kh_teardown EXIT
		containers "$n"
		kh_start
		t0="$(now_ns)"
		drop_ertt
		wait_attached "$n"
		t1="$(now_ns)"
		drops+=("$(( (t1 - t0) / 1000000 ))")
		rss+=("$(awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$KHELPD_PID/status")")
		kh_stop
		kh_teardown
		trap - EXIT
	done
	emit "$n containers" "drop to active" ms "h_ertt dropped in until attached in every container (status.attachments)" "${drops[@]}"
	emit "$n containers" "khelpd RSS" MiB "VmRSS after h_ertt is active everywhere" "${rss[@]}"
done

# startup: BIG policies and h_ertt in place before khelpd starts
starts=()
for _ in $(seq "$ROUNDS"); do
	kh_setup
	trap kh_teardown EXIT
	containers "$BIG"
	cp "$MODS/h_ertt.bpf.o" "$TMP/modules/"
	t0="$(now_ns)"
	kh_start
	wait_attached "$BIG"
	t1="$(now_ns)"
	starts+=("$(( (t1 - t0) / 1000000 ))")
	kh_stop
	kh_teardown
	trap - EXIT
done
emit "startup, $BIG policies" "start to active" ms "khelpd exec until h_ertt attached in every container" "${starts[@]}"

# khelpctl conns with CONNS live connections (both ends in one container: 2 x CONNS rows)
times=()
kh_setup
trap kh_teardown EXIT
ip netns add "$NS_A"
ip -n "$NS_A" link set lo up
containers 1
cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
kh_start
printf '[container]\ncgroup = %s/c1\n[tcp]\nhelpers = kt_conn\n' "${CG#$CGROOT/}" >"$TMP/policies/c1.conf"
wait_attached 1
mkfifo "$TMP/hold"
bash -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' _ "$CG/c1" \
	ip netns exec "$NS_A" python3 tests/tools/manyconns.py "$CONNS" 5301 <"$TMP/hold" >"$TMP/many.out" 2>&1 &
PIDS+=("$!")
exec {hold}>"$TMP/hold"
kh_until -t 60 grep -q '^ready' "$TMP/many.out"
for _ in $(seq "$ROUNDS"); do
	t0="$(now_ns)"
	"$KHELPCTL" -j conns >/dev/null
	t1="$(now_ns)"
	times+=("$(( (t1 - t0) / 1000000 ))")
done
exec {hold}>&-
kh_stop
kh_teardown
trap - EXIT
emit "$CONNS connections" "khelpctl conns" ms "$((2 * CONNS)) rows (both ends on loopback in one container)" "${times[@]}"
