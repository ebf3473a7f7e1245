#!/usr/bin/env bats
# What runs, seen with bpftool alone: a module's hook state per container and
# hook point (bpftool map dump of its pinned hooks map, fields by name) and
# its per-connection data (cat of its pinned conns iterator, fields by name).

load lib

setup() {
	kh_setup_app
	OTHER="$(kh_cgroup other)"
}

teardown() { kh_teardown; }

# sum over CPUs of one counter of the hooks map entry of cgroup $1
hook_sum() { bpftool -j map dump pinned "$BPFFS/modules/$2/hooks" |
	jq --argjson cg "$(stat -c %i "$1")" "[.[] | select(.formatted.key.cgroup_inode_id == \$cg) | .formatted.values[].value.$3] | add // 0"; }

@test "bpftool map dump of a module's hooks map: callbacks and connections with data, per container and hook point" {
	kh_write_policy web "$APP" "helpers = kt_conn"
	kh_write_policy other "$OTHER" "helpers = kt_conn"
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	kh_start
	kh_wait_modules web '["kt_conn"]'
	kh_server 5201
	for _ in 1 2 3; do
		kh_client "$APP" "$TMP/c.out" 5201 --bytes 100000
		wait "$LAST_PID"
	done
	kh_client "$OTHER" "$TMP/o.out" 5201 --bytes 100000
	wait "$LAST_PID"
	bpftool map dump pinned "$BPFFS/modules/kt_conn/hooks" | tee "$TMP/dump.txt"
	# the plain dump names every field
	for f in cgroup_inode_id tcp_established callbacks conns_with_data tcp_est_in; do grep -q "\"$f\"" "$TMP/dump.txt"; done
	# kt_conn hooks tcp_established: it ran once per connection of its container, and
	# each connection got its data; the other container has its own entry
	[ "$(hook_sum "$APP" kt_conn tcp_established.callbacks)" -eq 3 ]
	[ "$(hook_sum "$APP" kt_conn tcp_established.conns_with_data)" -eq 3 ]
	[ "$(hook_sum "$OTHER" kt_conn tcp_established.callbacks)" -eq 1 ]
	[ "$(hook_sum "$OTHER" kt_conn tcp_established.conns_with_data)" -eq 1 ]
	# hook points the module does not have stay zero
	[ "$(hook_sum "$APP" kt_conn tcp_est_out.callbacks)" -eq 0 ]
}

@test "per-packet hooks count per packet; the counters survive a restart of khelpd" {
	kh_write_policy web "$APP" "helpers = h_ertt"
	cp "$MODS/h_ertt.bpf.o" "$TMP/modules/"
	kh_start
	kh_wait_modules web '["h_ertt"]'
	kh_server 5201
	kh_client "$APP" "$TMP/c.out" 5201 --bytes 2000000
	wait "$LAST_PID"
	out="$(hook_sum "$APP" h_ertt tcp_est_out.callbacks)"
	conns="$(hook_sum "$APP" h_ertt tcp_est_out.conns_with_data)"
	echo "tcp_est_out callbacks $out, connections $conns"
	[ "$out" -gt 100 ] && [ "$conns" -eq 1 ]
	kh_stop
	kh_start
	kh_wait_modules web '["h_ertt"]'
	[ "$(hook_sum "$APP" h_ertt tcp_est_out.callbacks)" -ge "$out" ]
	kh_client "$APP" "$TMP/c2.out" 5201 --bytes 2000000
	wait "$LAST_PID"
	[ "$(hook_sum "$APP" h_ertt tcp_est_out.conns_with_data)" -eq 2 ]
}

@test "cat of a module's pinned conns iterator prints the module's own fields by name" {
	kh_write_policy web "$APP" "helpers = kt_conn"
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	kh_start
	kh_wait_modules web '["kt_conn"]'
	kh_server 5201
	kh_client "$APP" "$TMP/c.out" 5201 --seconds 1 --hold 3
	port="$(kh_wait_line "$TMP/c.out" local)"
	kh_until grep -q ":$port " "$BPFFS/modules/kt_conn/conns"
	cat "$BPFFS/modules/kt_conn/conns"
	# the connection's line, then its fields: established hooks_run weight version
	grep -A1 ":$port " "$BPFFS/modules/kt_conn/conns" | tail -n1 >"$TMP/fields"
	grep -qE '^ +established=1 hooks_run=[0-9]+ weight=[0-9]+ version=1$' "$TMP/fields"
}
