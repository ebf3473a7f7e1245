#!/usr/bin/env bats
# All-or-nothing and fail-closed: one khelpd per bpffs root, a timer or
# signals that cannot be set up, a load that cannot keep the previous file,
# nested containers (the nearest wins, with and without per-connection data),
# moving a container between cgroups, a CC whose load fails, a module file
# read once.


load lib

setup() { kh_setup; }

teardown() { kh_teardown; }

# programs attached to cgroup DIR (bpftool prints nothing for none)
progs_on() { bpftool -j cgroup show "$1" | jq -s 'add // [] | length'; }

# sum over CPUs of one counter of module $2's hooks map entry of cgroup $1
hook_sum() { bpftool -j map dump pinned "$BPFFS/modules/$2/hooks" |
	jq --argjson cg "$(stat -c %i "$1")" "[.[] | select(.formatted.key.cgroup_inode_id == \$cg) | .formatted.values[].value.$3] | add // 0"; }

wait_active() {
	kh_until bash -c "'$KHELPCTL' -j containers | jq -e --arg n '$1' '.[] | select(.name == \$n and .state == \"active\" and .error == null)'"
}

@test "a second khelpd on the same bpffs root exits at once with a clear error; the first keeps serving" {
	kh_start
	# same bpffs, its own socket: probing the socket cannot tell them apart
	sed "s|^socket = .*|socket = $TMP/second.sock|" "$TMP/khelpd.conf" >"$TMP/second.conf"
	run -1 timeout 10 "$KHELPD" --config "$TMP/second.conf"
	echo "$output"
	[[ "$output" == *"another khelpd owns $BPFFS"* ]]
	[ ! -S "$TMP/second.sock" ]
	"$KHELPCTL" status >/dev/null
}

@test "khelpd that cannot set up its 1 s timer or its signals exits with the reason instead of running without them" {
	for call in timerfd_create timerfd_settime sigprocmask; do
		run -1 env KH_FAIL_CALL=$call LD_PRELOAD="$OUT/bin/kh_failcall.so" \
			timeout 10 "$KHELPD" --config "$TMP/khelpd.conf"
		echo "$call: $output"
		case $call in
		sigprocmask) [[ "$output" == *"cannot block signals for the event loop: Cannot allocate memory"* ]] ;;
		*) [[ "$output" == *"cannot set up the 1 s timer: Cannot allocate memory"* ]] ;;
		esac
	done
}

@test "khelpctl load that cannot keep the previous file aside refuses and changes nothing" {
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	KH_FAIL_CALL=link LD_PRELOAD="$OUT/bin/kh_failcall.so" kh_start
	kh_until bash -c "'$KHELPCTL' -j modules | jq -e '.[] | select(.name == \"kt_conn\" and .state == \"active\")'"
	mkdir "$TMP/new"
	cp "$TESTMODS/kt_conn_v2.bpf.o" "$TMP/new/kt_conn.bpf.o"
	run -1 "$KHELPCTL" load "$TMP/new/kt_conn.bpf.o"
	echo "$output"
	[[ "$output" == *"cannot keep $TMP/modules/kt_conn.bpf.o as "*"Operation not permitted; nothing changed"* ]]
	# the file and the running version are the old ones
	cmp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/kt_conn.bpf.o"
	"$KHELPCTL" -j modules | jq -e '.[] | select(.name == "kt_conn" and .version == "1.0.0")'
}

@test "nested containers: the nearest container's copy of a module runs, once per callback" {
	OUTER="$(kh_cgroup outer)"
	INNER="$(kh_cgroup outer/inner)"
	kh_netns
	kh_server 5201
	# kt_conn keeps per-connection data, kt_nodata keeps none
	cp "$TESTMODS/kt_conn.bpf.o" "$TESTMODS/kt_nodata.bpf.o" "$TMP/modules/"
	kh_start
	kh_write_policy outer "$OUTER" "helpers = kt_conn, kt_nodata" "[kt_conn]" "weight = 3"
	kh_write_policy inner "$INNER" "helpers = kt_conn, kt_nodata" "[kt_conn]" "weight = 9"
	wait_active outer
	wait_active inner
	# both links are in the inner cgroup's effective list: the outer one must stand aside
	bpftool cgroup show "$INNER" effective
	for m in kt_conn kt_nodata; do
		[ "$(bpftool -j cgroup show "$INNER" effective | jq -s --arg m $m 'add // [] | [.[] | select(.name == $m)] | length')" -eq 2 ]
	done

	kh_client "$INNER" "$TMP/in.out" 5201 --seconds 1 --hold 3
	port="$(kh_wait_line "$TMP/in.out" local)"
	kh_client "$OUTER" "$TMP/out.out" 5201 --seconds 1 --hold 3
	oport="$(kh_wait_line "$TMP/out.out" local)"
	kh_until bash -c "'$KHELPCTL' -j conns --module kt_conn | jq -e --arg p '$ADDR_A:$oport' '.[] | select(.local == \$p)'"
	"$KHELPCTL" -j conns --module kt_conn >"$TMP/conns.json"
	cat "$TMP/conns.json"
	inner_row="$(jq -c --arg p "$ADDR_A:$port" '.[] | select(.local == $p)' "$TMP/conns.json")"
	outer_row="$(jq -c --arg p "$ADDR_A:$oport" '.[] | select(.local == $p)' "$TMP/conns.json")"
	# the inner connection: counted once, with the inner container's parameter
	[ "$(jq -r .container <<<"$inner_row")" = inner ]
	[ "$(jq -r .modules.kt_conn.established <<<"$inner_row")" -eq 1 ]
	[ "$(jq -r .modules.kt_conn.hooks_run <<<"$inner_row")" -eq 1 ]
	[ "$(jq -r .modules.kt_conn.weight <<<"$inner_row")" -eq 9 ]
	# a connection of the outer cgroup itself is the outer container's
	[ "$(jq -r .container <<<"$outer_row")" = outer ]
	[ "$(jq -r .modules.kt_conn.established <<<"$outer_row")" -eq 1 ]
	[ "$(jq -r .modules.kt_conn.weight <<<"$outer_row")" -eq 3 ]
	# kt_nodata has no data to mark a connection with: still one run per callback, in the
	# nearest container (the inner connection counts in inner only, the outer one in outer)
	[ "$(hook_sum "$INNER" kt_nodata tcp_established.callbacks)" -eq 1 ]
	[ "$(hook_sum "$OUTER" kt_nodata tcp_established.callbacks)" -eq 1 ]
	[ "$(hook_sum "$INNER" kt_conn tcp_established.callbacks)" -eq 1 ]
	[ "$(hook_sum "$OUTER" kt_conn tcp_established.callbacks)" -eq 1 ]
}

# the nesting bits (enum khelp_nest) in module $2's config of cgroup $1: 1 inner, 2 outer
nest_of() { bpftool -j map dump pinned "$BPFFS/modules/$2/cgrp" |
	jq --argjson cg "$(stat -c %i "$1")" '[.[] | select(.formatted.key.cgroup_inode_id == $cg) | .formatted.value.nest] | add // 0'; }

nest_is() { [ "$(nest_of "$1" kt_nodata)" -eq "$2" ]; }

# one connection from cgroup $1 (its tcp_established callback), waited for
one_conn() { kh_client "$1" "$TMP/one.out" 5201 --bytes 1000; wait "$LAST_PID"; }

@test "nested containers, a module without data: the nesting follows containers that go, come back and move" {
	OUTER="$(kh_cgroup outer)"
	INNER="$(kh_cgroup outer/inner)"
	ASIDE="$(kh_cgroup aside)"
	kh_netns
	kh_server 5201
	cp "$TESTMODS/kt_nodata.bpf.o" "$TMP/modules/"
	kh_start
	# no nesting: nothing to check on the hot path
	kh_write_policy outer "$OUTER" "helpers = kt_nodata"
	wait_active outer
	[ "$(nest_of "$OUTER" kt_nodata)" -eq 0 ]
	kh_write_policy inner "$INNER" "helpers = kt_nodata"
	wait_active inner
	kh_until nest_is "$OUTER" 2
	[ "$(nest_of "$INNER" kt_nodata)" -eq 1 ]
	one_conn "$INNER"
	[ "$(hook_sum "$INNER" kt_nodata tcp_established.callbacks)" -eq 1 ]
	[ "$(hook_sum "$OUTER" kt_nodata tcp_established.callbacks)" -eq 0 ]
	# the inner container goes: the outer one is the nearest again, for the inner cgroup too
	rm "$TMP/policies/inner.conf"
	kh_until nest_is "$OUTER" 0
	one_conn "$INNER"
	[ "$(hook_sum "$OUTER" kt_nodata tcp_established.callbacks)" -eq 1 ]
	# it comes back, then moves beside the outer one: nested, then not
	kh_write_policy inner "$INNER" "helpers = kt_nodata"
	kh_until nest_is "$OUTER" 2
	one_conn "$INNER"
	[ "$(hook_sum "$INNER" kt_nodata tcp_established.callbacks)" -eq 2 ]
	[ "$(hook_sum "$OUTER" kt_nodata tcp_established.callbacks)" -eq 1 ]
	kh_write_policy inner "$ASIDE" "helpers = kt_nodata"
	kh_until nest_is "$OUTER" 0
	[ "$(nest_of "$ASIDE" kt_nodata)" -eq 0 ]
	one_conn "$ASIDE"
	one_conn "$OUTER"
	[ "$(hook_sum "$ASIDE" kt_nodata tcp_established.callbacks)" -eq 1 ]
	[ "$(hook_sum "$OUTER" kt_nodata tcp_established.callbacks)" -eq 2 ]
}

# module $1's row of the connection from local port $2, as khelpctl conns shows it
conn_row() { "$KHELPCTL" -j conns --module "$1" | jq -c --arg p "$ADDR_A:$2" '.[] | select(.local == $p)'; }

# the connection from port $1 is container $2's and kt_pp1 counted more than $3 sends on it
conn_runs_in() { local r; r="$(conn_row kt_pp1 "$1")" &&
	[ "$(jq -r .container <<<"$r")" = "$2" ] && [ "$(jq -r .modules.kt_pp1.out <<<"$r")" -gt "$3" ]; }

@test "nested containers, a module with data: when the inner container goes, the outer one runs its live connections" {
	OUTER="$(kh_cgroup outer)"
	INNER="$(kh_cgroup outer/inner)"
	kh_netns
	kh_server 5201
	# kt_pp1 keeps per-connection data and counts every sent segment (tcp_est_out)
	cp "$TESTMODS/kt_pp1.bpf.o" "$TMP/modules/"
	kh_start
	kh_write_policy outer "$OUTER" "helpers = kt_pp1"
	kh_write_policy inner "$INNER" "helpers = kt_pp1"
	wait_active outer
	wait_active inner
	kh_until bash -c "[ \"\$(bpftool -j map dump pinned '$BPFFS/modules/kt_pp1/cgrp' | jq '[.[] | select(.formatted.key.cgroup_inode_id == $(stat -c %i "$OUTER")) | .formatted.value.nest] | add // 0')\" -eq 2 ]"
	kh_client "$INNER" "$TMP/in.out" 5201 --seconds 30
	client=$LAST_PID
	port="$(kh_wait_line "$TMP/in.out" local)"
	kh_until conn_runs_in "$port" inner 0
	conn_row kt_pp1 "$port"
	# the inner container goes while the connection lives: the outer container's copy,
	# the nearest one left, takes it over and its hooks keep running on it
	rm "$TMP/policies/inner.conf"
	kh_until bash -c "! '$KHELPCTL' -j containers | jq -e '.[] | select(.name == \"inner\")'"
	sent="$(jq -r .modules.kt_pp1.out <<<"$(conn_row kt_pp1 "$port")")"
	kh_until conn_runs_in "$port" outer "$sent"
	conn_row kt_pp1 "$port"
	kill "$client"
}

@test "moving a container to another cgroup leaves nothing on the old one, the selector included" {
	A="$(kh_cgroup a)"; B="$(kh_cgroup b)"
	cp "$TESTMODS/kt_conn.bpf.o" "$MODS/kh_newreno.bpf.o" "$TMP/modules/"
	kh_start
	kh_write_policy web "$A" "helpers = kt_conn" "congestion = kh_newreno"
	wait_active web
	[ "$(progs_on "$A")" -eq 2 ]	# kt_conn + the CC selector
	# move, and drop the default CC on the way
	kh_write_policy web "$B" "helpers = kt_conn"
	kh_until bash -c "'$KHELPCTL' -j containers | jq -e '.[] | select(.name == \"web\" and (.cgroup | endswith(\"/b\")))'"
	bpftool cgroup show "$A"
	bpftool cgroup show "$B"
	[ "$(progs_on "$A")" -eq 0 ]
	[ "$(progs_on "$B")" -eq 1 ]
	[ ! -e "$BPFFS/containers/web/congestion" ]
	# the pin names the link on B
	b_id="$(stat -c %i "$B")"
	[ "$(bpftool -j link show pinned "$BPFFS/containers/web/kt_conn" | jq .cgroup_id)" -eq "$b_id" ]
	# and back, with the CC again: one selector, on A only
	kh_write_policy web "$A" "helpers = kt_conn" "congestion = kh_newreno"
	kh_until bash -c "[ \"\$(bpftool -j cgroup show '$A' | jq -s 'add // [] | length')\" -eq 2 ]"
	[ "$(progs_on "$B")" -eq 0 ]
	a_id="$(stat -c %i "$A")"
	[ "$(bpftool -j link show pinned "$BPFFS/containers/web/congestion" | jq .cgroup_id)" -eq "$a_id" ]
}

@test "a CC module whose load fails at its pins leaves no registration behind" {
	kh_start
	# something that is not a pin where kt_cc's config map is pinned: the load fails there
	mkdir -p "$BPFFS/modules/kt_cc/ccfg"
	cp "$TESTMODS/kt_cc.bpf.o" "$TMP/modules/"
	kh_until bash -c "'$KHELPCTL' -j modules | jq -e '.[] | select(.file == \"kt_cc.bpf.o\" and .state == \"rejected\")'"
	"$KHELPCTL" -j modules | jq -r '.[] | select(.file == "kt_cc.bpf.o") | .reason'
	"$KHELPCTL" -j modules | jq -e '.[] | select(.file == "kt_cc.bpf.o") | .reason | contains("cannot pin")'
	# the kernel does not offer it, and it is not in the allowed list
	run grep -qw kt_cc /proc/sys/net/ipv4/tcp_available_congestion_control
	[ "$status" -ne 0 ]
	run grep -qw kt_cc /proc/sys/net/ipv4/tcp_allowed_congestion_control
	[ "$status" -ne 0 ]
	# and once the obstacle is gone, it loads
	rmdir "$BPFFS/modules/kt_cc/ccfg"
	cp "$TESTMODS/kt_cc.bpf.o" "$TMP/modules/"
	kh_until bash -c "'$KHELPCTL' -j modules | jq -e '.[] | select(.name == \"kt_cc\" and .state == \"active\")'"
	grep -qw kt_cc /proc/sys/net/ipv4/tcp_available_congestion_control
}

@test "a module file is read once: the object loaded is the one whose metadata was checked" {
	APP="$(kh_cgroup app)"
	kh_netns
	kh_server 5201
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	kh_write_policy web "$APP" "helpers = kt_conn"
	# every open of kt_conn.bpf.o after the first gives version 2's bytes, as if the file
	# had been replaced between a read of its metadata and a second open to load it
	KH_SWAP_PATH="$TMP/modules/kt_conn.bpf.o" KH_SWAP_WITH="$TESTMODS/kt_conn_v2.bpf.o" \
		LD_PRELOAD="$OUT/bin/kh_swapopen.so" kh_start
	wait_active web
	"$KHELPCTL" -j modules | jq -e '.[] | select(.name == "kt_conn" and .version == "1.0.0")'
	kh_client "$APP" "$TMP/c.out" 5201 --seconds 1 --hold 3
	port="$(kh_wait_line "$TMP/c.out" local)"
	kh_until bash -c "'$KHELPCTL' -j conns --module kt_conn | jq -e --arg p '$ADDR_A:$port' '.[] | select(.local == \$p)'"
	"$KHELPCTL" -j conns --module kt_conn | tee "$TMP/conns.json"
	# the program that runs is version 1's, the version checked and shown
	[ "$(jq -r --arg p "$ADDR_A:$port" '.[] | select(.local == $p) | .modules.kt_conn.version' "$TMP/conns.json")" -eq 1 ]
}

@test "a CC module whose load fails after it registered: MODULE_DESTROY runs, the CC and the sysctl are as before" {
	kh_start
	allowed_before="$(cat /proc/sys/net/ipv4/tcp_allowed_congestion_control)"
	# kt_ccinit counts its module events at key 0 of its config map: pin one of that layout
	# where khelpd reuses it, and a second pin that outlives the failed load
	mkdir -p "$BPFFS/modules/kt_ccinit"
	bpftool map create "$BPFFS/modules/kt_ccinit/ccfg" type hash key 8 value 160 entries 4096 name khelp_ccfg
	bpftool map pin pinned "$BPFFS/modules/kt_ccinit/ccfg" "$BPFFS/kt_ccinit_events"
	# something that is not a link where the registration is pinned: the kernel has
	# registered the CC when the load fails there
	mkdir "$BPFFS/modules/kt_ccinit/ops"
	cp "$TESTMODS/kt_ccinit.bpf.o" "$TMP/modules/"
	kh_until bash -c "'$KHELPCTL' -j modules | jq -e '.[] | select(.file == \"kt_ccinit.bpf.o\" and .state == \"rejected\")'"
	"$KHELPCTL" -j modules | jq -e '.[] | select(.file == "kt_ccinit.bpf.o") | .reason | contains("cannot pin") and contains("/ops")'
	# MODULE_INIT ran, so MODULE_DESTROY ran too
	bpftool -j map dump pinned "$BPFFS/kt_ccinit_events"
	# a little-endian __u64 at byte offset $1 of the value at key 0
	ev() {
		local h
		h="$(bpftool -j map lookup pinned "$BPFFS/kt_ccinit_events" key 0 0 0 0 0 0 0 0 |
			jq -r ".value[$1:$(($1 + 8))] | reverse | map(ltrimstr(\"0x\")) | join(\"\")")"
		printf '%d\n' "0x$h"
	}
	[ "$(ev 24)" -eq 1 ]	# params[0]: MODULE_INIT
	[ "$(ev 32)" -eq 1 ]	# params[1]: MODULE_DESTROY
	# the kernel does not offer it, and the allowed list is as it was
	run grep -qw kt_ccinit /proc/sys/net/ipv4/tcp_available_congestion_control
	[ "$status" -ne 0 ]
	[ "$(cat /proc/sys/net/ipv4/tcp_allowed_congestion_control)" = "$allowed_before" ]
	rm -f "$BPFFS/kt_ccinit_events"
}
