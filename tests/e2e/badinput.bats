#!/usr/bin/env bats
# Bad input of every kind is rejected with a reason and loses nothing.

load lib

setup() {
	kh_setup
	APP="$(kh_cgroup app)"
	kh_write_policy web "$APP" "helpers = kt_conn"
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	kh_start
	kh_wait_modules web '["kt_conn"]'
}

teardown() { kh_teardown; }

# the module of file FILE is rejected with a reason matching PATTERN, kt_conn keeps serving
rejected_with() {
	kh_until bash -c "'$KHELPCTL' -j modules | jq -e --arg f '$1' '.[] | select(.file == \$f and .state == \"rejected\")'"
	reason="$("$KHELPCTL" -j modules | jq -r --arg f "$1" '.[] | select(.file == $f) | .reason')"
	echo "reason: $reason"
	[[ "$reason" == *$2* ]]
	grep -q "$1 rejected" "$TMP/khelpd.log"
	kill -0 "$KHELPD_PID"
	"$KHELPCTL" -j modules | jq -e '.[] | select(.name == "kt_conn" and .state == "active")'
	bpftool cgroup show "$APP" | grep -q kt_conn
	[ "$(bpftool -j cgroup show "$APP" | jq length)" -eq 1 ]
	"$KHELPCTL" modules | grep -q "$1"
}

@test "a file that is not ELF is rejected" {
	echo "hello" >"$TMP/modules/junk.bpf.o"
	rejected_with junk.bpf.o "not an ELF file"
}

@test "an ELF file without khelp metadata is rejected" {
	cp "$OUT/bpf/khelp_iter.bpf.o" "$TMP/modules/plain.bpf.o"
	rejected_with plain.bpf.o "no khelp metadata"
}

@test "a module the verifier refuses is rejected with the verifier's reason" {
	cp "$TESTMODS/kt_badverif.bpf.o" "$TMP/modules/"
	rejected_with kt_badverif.bpf.o "invalid access to packet"
	run ! bpftool prog show name kt_badverif
	[ ! -e "$BPFFS/modules/kt_badverif" ]
}

@test "a second file with a loaded module's name is rejected" {
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/kt_conn_copy.bpf.o"
	rejected_with kt_conn_copy.bpf.o "already provided by kt_conn.bpf.o"
}

@test "a file truncated while being written is rejected, and taken once complete" {
	size="$(stat -c %s "$TESTMODS/kt_dep.bpf.o")"
	head -c $((size / 2)) "$TESTMODS/kt_dep.bpf.o" >"$TMP/modules/kt_dep.bpf.o"
	rejected_with kt_dep.bpf.o "truncated"
	cat "$TESTMODS/kt_dep.bpf.o" >"$TMP/modules/kt_dep.bpf.o"
	kh_until bash -c "'$KHELPCTL' -j modules | jq -e '.[] | select(.name == \"kt_dep\" and .state == \"active\")'"
}

@test "khelpctl load refuses a bad file and keeps the directory clean" {
	echo junk >"$TMP/junk.bpf.o"
	run "$KHELPCTL" load "$TMP/junk.bpf.o"
	[ "$status" -eq 1 ]
	[[ "$output" == "Error: "*"not an ELF file"* ]]
	[ ! -e "$TMP/modules/junk.bpf.o" ]
	run "$KHELPCTL" -j load "$TMP/junk.bpf.o"
	[ "$status" -eq 1 ]
	jq -e .error <<<"$output"
	run "$KHELPCTL" load "$TESTMODS/kt_dep.bpf.o"
	[ "$status" -eq 0 ]
	[[ "$output" == "loaded kt_dep 1.0.0"* ]]
	[ -e "$TMP/modules/kt_dep.bpf.o" ]
}

@test "khelpctl: bad arguments and bad control messages get one clear error" {
	run "$KHELPCTL" frobnicate
	[ "$status" -eq 1 ]
	[[ "$output" == *"Error: unknown command 'frobnicate'"* ]]
	run "$KHELPCTL" unload
	[ "$status" -eq 1 ]
	[[ "$output" == "Error: usage: khelpctl unload"* ]]
	run "$KHELPCTL" unload no_such_module
	[ "$status" -eq 1 ]
	[[ "$output" == *"no module no_such_module is loaded"* ]]
	run "$KHELPCTL" --socket "$TMP/nowhere.sock" status
	[ "$status" -eq 1 ]
	[[ "$output" == "Error: cannot reach khelpd at $TMP/nowhere.sock"* ]]
	# unique prefixes work
	"$KHELPCTL" mod | grep -q kt_conn
	# a client that sends garbage gets an error answer; khelpd keeps serving
	run bash -c "printf 'not json\n' | timeout 5 nc -N -U '$TMP/khelpd.sock'"
	[[ "$output" == *'"error"'* ]]
	run bash -c "printf '{\"cmd\": 42}\n' | timeout 5 nc -N -U '$TMP/khelpd.sock'"
	[[ "$output" == *'"error"'* ]]
	"$KHELPCTL" status
}

@test "unload is refused with EBUSY while a container holds the module, naming it" {
	run "$KHELPCTL" unload kt_conn
	[ "$status" -eq 1 ]
	[[ "$output" == *"in use"*"container web"* ]]
	"$KHELPCTL" -j modules | jq -e '.[] | select(.name == "kt_conn" and .refcount == 1 and .holders == ["container web"])'
}
