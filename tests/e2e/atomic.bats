#!/usr/bin/env bats
# All-or-nothing and fail-closed: one khelpd per bpffs root, nested
# containers (the nearest wins), moving a container between cgroups.


load lib

setup() { kh_setup; }

teardown() { kh_teardown; }

# programs attached to cgroup DIR (bpftool prints nothing for none)
progs_on() { bpftool -j cgroup show "$1" | jq -s 'add // [] | length'; }

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

@test "nested containers: the nearest container's copy of a module runs, once per callback" {
	OUTER="$(kh_cgroup outer)"
	INNER="$(kh_cgroup outer/inner)"
	kh_netns
	kh_server 5201
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	kh_start
	kh_write_policy outer "$OUTER" "helpers = kt_conn" "[kt_conn]" "weight = 3"
	kh_write_policy inner "$INNER" "helpers = kt_conn" "[kt_conn]" "weight = 9"
	wait_active outer
	wait_active inner
	# both links are in the inner cgroup's effective list: the outer one must stand aside
	bpftool cgroup show "$INNER" effective
	[ "$(bpftool -j cgroup show "$INNER" effective | jq -s 'add // [] | [.[] | select(.name == "kt_conn")] | length')" -eq 2 ]

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
