#!/usr/bin/env bats
# The control socket never stalls khelpd: a client that sends nothing, half a
# request or too much is answered with an error by its deadline while every
# other client, file event and timer is served at once.

load lib

setup() {
	kh_setup
	kh_start
}

teardown() { kh_teardown; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# idle_client OUT [TEXT]: connect, send TEXT (nothing by default), keep the connection open
idle_client() {
	printf '%s' "${2:-}" | nc -U "$KHELP_SOCKET" >"$1" 2>&1 &
	PIDS+=("$!")
	LAST_PID=$!
}

# the unix socket of process PID is connected to khelpd's socket
connected() { ss -xpn | grep -q "pid=$1,"; }

# time_status: how long `khelpctl status` takes, in ms; fails if it fails
time_status() {
	local t0 t1
	t0=$(now_ms)
	"$KHELPCTL" status >"$TMP/status.out" 2>&1 || { cat "$TMP/status.out" >&2; return 1; }
	t1=$(now_ms)
	echo $((t1 - t0))
}

@test "a client that sends nothing or half a request stalls no one and gets ETIMEDOUT" {
	idle_client "$TMP/idle.out"
	idle=$LAST_PID
	idle_client "$TMP/half.out" '{"cmd":"sta'
	half=$LAST_PID
	kh_until connected "$idle"
	kh_until connected "$half"
	ms="$(time_status)"
	echo "khelpctl status with an idle and a half-sent client connected: $ms ms"
	[ "$ms" -lt 1000 ]
	# file events are not held up either: a module dropped in now is active at once
	t0=$(now_ms)
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	kh_until bash -c "'$KHELPCTL' -j modules | jq -e '.[] | select(.name == \"kt_conn\" and .state == \"active\")'"
	ms=$(($(now_ms) - t0))
	echo "module active $ms ms after the copy"
	[ "$ms" -lt 1500 ]
	# both are still connected, then answered with an error by their deadline
	kill -0 "$idle"
	kill -0 "$half"
	kh_until -t 8 grep -q '"errno":110' "$TMP/idle.out"
	kh_until -t 8 grep -q '"errno":110' "$TMP/half.out"
	cat "$TMP/idle.out" "$TMP/half.out"
	grep -q "no complete request within 5000 ms" "$TMP/half.out"
	grep -q "no complete request within" "$TMP/khelpd.log"
}

@test "an oversized request gets EMSGSIZE and the daemon keeps serving; the largest allowed one works" {
	head -c 200000 /dev/zero | tr '\0' x | nc -N -U "$KHELP_SOCKET" >"$TMP/big.out" 2>&1
	cat "$TMP/big.out"
	jq -e '.errno == 90 and (.error | contains("request too large: 200000 bytes, the limit is 65536"))' "$TMP/big.out"
	"$KHELPCTL" status
	# a request just under the limit (JSON padded with spaces) is served
	{ printf '{"cmd":"status"'; head -c 65000 /dev/zero | tr '\0' ' '; printf '}\n'; } |
		nc -N -U "$KHELP_SOCKET" >"$TMP/padded.out" 2>&1
	jq -e '.ok.pid > 0' "$TMP/padded.out"
}

@test "more clients than khelpd takes: the extra one gets a clear error, then service resumes" {
	for i in $(seq 64); do
		idle_client "$TMP/idle.$i.out"
	done
	kh_until bash -c "[ \"\$(ss -xn | grep -c '$KHELP_SOCKET ')\" -ge 64 ]"
	kh_until -t 3 bash -c "'$KHELPCTL' status 2>&1 | grep -q 'serving 64 clients already'"
	run "$KHELPCTL" status
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == "Error: khelpd is serving 64 clients already, the most it takes; try again"* ]]
	# the idle ones are answered by their deadline and make room
	kh_until -t 8 "$KHELPCTL" status
}
