#!/usr/bin/env bats
# Listings at scale: khelpctl conns with 10,000 live connections.


load lib

setup() {
	kh_setup
	ip netns add "$NS_A"
	ip -n "$NS_A" link set lo up
}

teardown() { kh_teardown; }

@test "khelpctl conns lists 10,000 live connections (both ends: 20,000 rows) in a few seconds" {
	W="$(kh_cgroup web)"
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	kh_start
	kh_write_policy web "$W" "helpers = kt_conn"
	kh_wait_modules web '["kt_conn"]'
	mkfifo "$TMP/hold"
	# both ends in the container's cgroup, on loopback inside the test's own netns
	bash -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' _ "$W" \
		ip netns exec "$NS_A" python3 "$REPO/tests/tools/manyconns.py" 10000 5301 <"$TMP/hold" >"$TMP/many.out" 2>&1 &
	PIDS+=("$!")
	exec {hold}>"$TMP/hold"
	for _ in $(seq 600); do
		grep -q '^ready' "$TMP/many.out" && break
		kill -0 "${PIDS[-1]}" 2>/dev/null || break
		sleep 0.05
	done
	cat "$TMP/many.out"
	grep -q '^ready 10000' "$TMP/many.out"
	start=$(date +%s%N)
	run timeout 20 "$KHELPCTL" -j conns --container web
	end=$(date +%s%N)
	exec {hold}>&-
	[ "$status" -eq 0 ]
	ms=$(( (end - start) / 1000000 ))
	rows="$(jq length <<<"$output")"
	echo "conns: $rows rows in $ms ms"
	[ "$rows" -eq 20000 ]
	[ "$(jq '[.[] | select(.modules.kt_conn.established == 1)] | length' <<<"$output")" -eq 20000 ]
	# linear: a quadratic row lookup took tens of seconds here
	[ "$ms" -lt 5000 ]
}
