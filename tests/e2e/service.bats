#!/usr/bin/env bats
# khelpd as a service: systemd notifications (READY, RELOADING, STOPPING,
# STATUS), log levels, and the two ways to stop: SIGTERM keeps the datapath,
# `khelpctl shutdown --detach` removes everything khelp created.

load lib

setup() { kh_setup_app; }

teardown() { kh_teardown; }

# a stand-in for systemd's notification socket: every datagram khelpd sends, concatenated
notify_listen() {
	export NOTIFY_SOCKET="$TMP/notify.sock"
	nc.openbsd -lkuU "$NOTIFY_SOCKET" >"$TMP/notify.log" 2>&1 &
	PIDS+=("$!")
	kh_until test -S "$NOTIFY_SOCKET"
}
notified() { grep -c -- "$1" < <(grep -o -- "$1" "$TMP/notify.log"); }

@test "sd_notify: READY with STATUS, RELOADING then READY on SIGHUP, STOPPING on SIGTERM" {
	notify_listen
	kh_write_policy web "$APP" "helpers = kt_conn"
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	kh_start
	kh_until grep -q 'READY=1' "$TMP/notify.log"
	cat "$TMP/notify.log"; echo
	grep -q 'STATUS=1 modules (0 waiting, 0 rejected), 1 containers (1 active, 0 with errors)' "$TMP/notify.log"
	# a rejected module shows in STATUS without a reload
	echo junk >"$TMP/modules/bad.bpf.o"
	kh_until grep -q '1 rejected' "$TMP/notify.log"
	kill -HUP "$KHELPD_PID"
	kh_until test "$(notified READY=1)" -ge 2
	[ "$(notified RELOADING=1)" -eq 1 ]
	# RELOADING came before the second READY
	[ "$(grep -ob 'RELOADING=1' "$TMP/notify.log" | cut -d: -f1)" -lt \
	  "$(grep -ob 'READY=1' "$TMP/notify.log" | tail -n1 | cut -d: -f1)" ]
	grep -q 'MONOTONIC_USEC=[0-9]' "$TMP/notify.log"
	kh_stop
	kh_until grep -q 'STOPPING=1' "$TMP/notify.log"
	grep -q 'STATUS=stopping; attachments stay pinned' "$TMP/notify.log"
	# SIGTERM kept the datapath
	[ "$(cg_progs "$APP")" -eq 1 ]
}

@test "log lines carry their level; -v adds debug; under journald they start with the syslog priority" {
	kh_write_policy web "$APP" "helpers = kt_conn"
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	kh_start
	kh_stop
	grep -q '^khelp: info: ready' "$TMP/khelpd.log"
	run ! grep -q '^khelp: debug:' "$TMP/khelpd.log"
	kh_start -v
	kh_stop
	grep -q '^khelp: debug:' "$TMP/khelpd.log"
	# JOURNAL_STREAM names stderr's device:inode when systemd connects it to the journal
	: >"$TMP/journal.log"
	JOURNAL_STREAM="$(stat -c '%d:%i' "$TMP/journal.log")" "$KHELPD" --config "$TMP/khelpd.conf" -v \
		>>"$TMP/journal.log" 2>&1 &
	PIDS+=("$!")
	kh_until grep -q 'ready' "$TMP/journal.log"
	kill "$!"
	grep -q '^<6>khelp: info: ready' "$TMP/journal.log"
	grep -q '^<7>khelp: debug: ' "$TMP/journal.log"
}

@test "shutdown --detach removes links, CCs, pins and sysctl entries; SIGTERM keeps them" {
	kh_write_policy web "$APP" "congestion = kh_newreno" "helpers = h_ertt"
	cp "$MODS/h_ertt.bpf.o" "$MODS/kh_newreno.bpf.o" "$TMP/modules/"
	kh_start
	kh_until bash -c "'$KHELPCTL' -j containers | jq -e '.[] | select(.name == \"web\") | .modules | length == 2'"
	grep -qw kh_newreno /proc/sys/net/ipv4/tcp_allowed_congestion_control
	grep -qw kh_newreno /proc/sys/net/ipv4/tcp_available_congestion_control
	# the programs and links of this khelpd, by their pins
	progs="$(find "$BPFFS" -type f | while read -r p; do bpftool -j prog show pinned "$p" 2>/dev/null | jq '.id // empty'; done | sort -u | tr '\n' ' ')"
	echo "programs: $progs"
	[ -n "$progs" ]
	[ "$(cg_progs "$APP")" -ge 1 ]
	# a plain shutdown is like SIGTERM: everything stays
	run "$KHELPCTL" shutdown
	[ "$status" -eq 0 ]
	[[ "$output" == *"stay pinned"* ]]
	wait "$KHELPD_PID"
	[ -d "$BPFFS/containers/web" ]
	[ "$(cg_progs "$APP")" -ge 1 ]
	kh_start
	run "$KHELPCTL" shutdown --detach
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"detached 1 containers and 2 modules"* ]]
	wait "$KHELPD_PID"
	KHELPD_PID=
	[ ! -e "$BPFFS" ]
	[ "$(cg_progs "$APP")" -eq 0 ]
	run ! grep -qw kh_newreno /proc/sys/net/ipv4/tcp_allowed_congestion_control
	kh_until bash -c "! grep -qw kh_newreno /proc/sys/net/ipv4/tcp_available_congestion_control"
	# no program of this khelpd is left (the kernel frees them once the last reference goes)
	for id in $progs; do kh_until bash -c "! bpftool prog show id $id"; done
	# the module and policy files stay: a new khelpd brings everything back
	kh_start
	kh_until bash -c "'$KHELPCTL' -j containers | jq -e '.[] | select(.name == \"web\") | .modules | length == 2'"
}

@test "shutdown takes no other argument" {
	kh_start
	run "$KHELPCTL" shutdown --now
	[ "$status" -eq 1 ]
	[[ "$output" == *"unexpected argument '--now'"* ]]
	"$KHELPCTL" status
}
