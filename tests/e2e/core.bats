#!/usr/bin/env bats
# khelp core: modules dropped at runtime, per-connection data, zero cost,
# bpftool-visible state, bad input. Real khelpd, real BPF, real TCP.

load lib

setup() { kh_setup_app; }

teardown() { kh_teardown; }

conn_port() { kh_wait_line "$1" local; }

@test "h_ertt dropped while khelpd runs measures connections of its container only" {
	kh_write_policy web "$APP" "helpers = h_ertt"
	kh_start
	run "$KHELPCTL" containers
	[[ "$output" == *"unknown module 'h_ertt'"* ]]

	cp "$MODS/h_ertt.bpf.o" "$TMP/modules/"
	kh_wait_modules web '["h_ertt"]'

	kh_server 5201
	kh_client "$APP" "$TMP/in.out" 5201 --seconds 3 --hold 3
	kh_client - "$TMP/out.out" 5201 --seconds 3 --hold 3
	in_port="$(conn_port "$TMP/in.out")"
	out_port="$(conn_port "$TMP/out.out")"
	# h_ertt has measured the connection more than once
	kh_until bash -c "'$KHELPCTL' -j conns | jq -e --arg p '$ADDR_A:$in_port' '.[] | select(.local == \$p) | .modules.h_ertt.measurements > 1'"

	"$KHELPCTL" -j conns >"$TMP/conns.json"
	cat "$TMP/conns.json"
	row="$(jq -c --arg p "$ADDR_A:$in_port" '.[] | select(.local == $p)' "$TMP/conns.json")"
	[ -n "$row" ]
	[ "$(jq -r .container <<<"$row")" = web ]
	srtt="$(jq -r '.modules.h_ertt.srtt_us' <<<"$row")"
	minrtt="$(jq -r '.modules.h_ertt.minrtt_us' <<<"$row")"
	maxrtt="$(jq -r '.modules.h_ertt.maxrtt_us' <<<"$row")"
	meas="$(jq -r '.modules.h_ertt.measurements' <<<"$row")"
	echo "srtt=$srtt minrtt=$minrtt maxrtt=$maxrtt measurements=$meas"
	# plausible on veth: non-zero, below 100 ms; more than one measurement
	[ "$srtt" -gt 0 ] && [ "$srtt" -lt 100000 ]
	[ "$minrtt" -gt 0 ] && [ "$minrtt" -le "$maxrtt" ]
	[ "$meas" -gt 1 ]
	# the connection from outside the cgroup has no data
	[ -z "$(jq -c --arg p "$ADDR_A:$out_port" '.[] | select(.local == $p)' "$TMP/conns.json")" ]
	# --container and --module filters
	[ "$("$KHELPCTL" -j conns --container web --module h_ertt | jq length)" -ge 1 ]
	# the pinned conns iterator shows it with cat
	grep -q "$in_port" "$BPFFS/modules/h_ertt/conns"
	# ... with h_ertt's own fields by name
	cat "$BPFFS/modules/h_ertt/conns"
	grep -qE " srtt_us=[1-9][0-9]* .*measurements=[1-9]" "$BPFFS/modules/h_ertt/conns"
	# plain output names the module's fields
	"$KHELPCTL" conns --container web | grep -q "srtt_us="
}

@test "bpftool shows the attached module by name: prog, cgroup, link and pins" {
	kh_write_policy web "$APP" "helpers = kt_conn"
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	kh_start
	kh_wait_modules web '["kt_conn"]'
	bpftool prog show name kt_conn | grep -q sock_ops
	bpftool cgroup show "$APP" | grep -q kt_conn
	bpftool cgroup tree "$CG" | grep -q kt_conn
	prog_id="$(kh_prog kt_conn | jq '.id')"
	bpftool -j link show | jq -e --argjson id "$prog_id" '.[] | select(.prog_id == $id and .type == "cgroup")'
	[ "$(bpftool -j prog show pinned "$BPFFS/modules/kt_conn/sockops" | jq -r .name)" = kt_conn ]
	[ -e "$BPFFS/modules/kt_conn/data" ]
	[ -e "$BPFFS/containers/web/kt_conn" ]
	bpftool link show pinned "$BPFFS/containers/web/kt_conn" | grep -q cgroup
}

@test "zero cost: per-packet callbacks stay off unless a module hooks them; no modules, no program" {
	BARE="$(kh_cgroup bare)"
	kh_write_policy web "$APP" "helpers = kt_conn"
	kh_policy bare <<-EOF
	[container]
	cgroup = ${BARE#$CGROOT/}
	EOF
	cp "$TESTMODS/kt_conn.bpf.o" "$MODS/h_ertt.bpf.o" "$TMP/modules/"
	kh_start
	kh_wait_modules web '["kt_conn"]'
	# a container without modules has no program on its cgroup
	[ -z "$(bpftool cgroup show "$BARE")" ]
	kh_server 5201
	kh_client "$APP" "$TMP/a.out" 5201 --seconds 2
	wait "$LAST_PID"
	kh_client "$BARE" "$TMP/b.out" 5201 --seconds 1
	wait "$LAST_PID"
	runs="$(kh_prog kt_conn | jq '.run_cnt')"
	segs="$(ip netns exec "$NS_A" nstat -az TcpOutSegs | awk '/TcpOutSegs/ { print $2 }')"
	echo "kt_conn ran $runs times for a transfer of $segs segments"
	# kt_conn hooks tcp_established only: its program runs for the callbacks
	# the kernel always makes (connect, timeouts, ECN, established: a handful
	# per connection), never per packet (bpf_stats counts every run)
	[ "$segs" -gt 1000 ]
	[ "$runs" -ge 1 ] && [ "$runs" -le 16 ]
	# the same transfer under a per-packet hook (h_ertt, in another container) does run per packet
	kh_write_policy web "$APP" "helpers = h_ertt"
	kh_wait_modules web '["h_ertt"]'
	kh_client "$APP" "$TMP/c.out" 5201 --seconds 1
	wait "$LAST_PID"
	hruns="$(kh_prog h_ertt | jq '.run_cnt')"
	echo "h_ertt ran $hruns times"
	[ "$hruns" -gt 1000 ]
}

@test "a dependent module reads its dependency's per-connection data: one shared map" {
	kh_write_policy web "$APP" "helpers = kt_dep"
	cp "$TESTMODS/kt_dep.bpf.o" "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	kh_start
	# kt_conn came as a dependency and is attached before kt_dep
	kh_wait_modules web '["kt_conn","kt_dep"]'
	kh_server 5201
	kh_client "$APP" "$TMP/a.out" 5201 --seconds 1 --hold 3
	port="$(conn_port "$TMP/a.out")"
	kh_until bash -c "'$KHELPCTL' -j conns | jq -e --arg p '$ADDR_A:$port' '.[] | select(.local == \$p) | .modules.kt_conn.established >= 1'"
	row="$("$KHELPCTL" -j conns | jq -c --arg p "$ADDR_A:$port" '.[] | select(.local == $p)')"
	echo "$row"
	[ "$(jq '.modules.kt_conn.established' <<<"$row")" -ge 1 ]
	[ "$(jq '.modules.kt_dep.seen_established' <<<"$row")" = "$(jq '.modules.kt_conn.established' <<<"$row")" ]
	# both programs use the very same data map
	dep_maps="$(kh_prog kt_dep | jq -c '.map_ids')"
	conn_data="$(bpftool -j map show pinned "$BPFFS/modules/kt_conn/data" | jq '.id')"
	jq -e --argjson id "$conn_data" 'index($id) != null' <<<"$dep_maps"
	# the dependency cannot be unloaded under its dependent
	run "$KHELPCTL" unload kt_conn
	[ "$status" -ne 0 ]
	[[ "$output" == *"module kt_dep"* ]]
}

@test "khelpd restarted adopts pinned attachments instead of attaching twice" {
	kh_write_policy web "$APP" "helpers = kt_conn"
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	kh_start
	kh_wait_modules web '["kt_conn"]'
	kh_stop
	# hooks keep running while khelpd is down
	[ "$(bpftool -j cgroup show "$APP" | jq length)" -eq 1 ]
	kh_start
	kh_wait_modules web '["kt_conn"]'
	[ "$(bpftool -j cgroup show "$APP" | jq length)" -eq 1 ]
	bpftool cgroup show "$APP" | grep -q kt_conn
}
