#!/usr/bin/env bats
# Containers, policies, dependencies, refcounts: the module lifecycle.

load lib

setup() {
	kh_setup
	kh_netns
	kh_server 5201
}

teardown() { kh_teardown; }

# policy NAME CGROUP_DIR HELPERS [EXTRA...]
policy() { kh_write_policy "$1" "$2" "helpers = $3" "${@:4}"; }

# connect CGROUP: open a connection held for a while; prints its local port
connect() {
	local out="$TMP/c.$RANDOM"
	kh_client "$1" "$out" 5201 --bytes 100000 --hold "${2:-30}"
	kh_wait_line "$out" local
}

# row PORT: the conns row of that connection ("" if none)
row() { "$KHELPCTL" -j conns | jq -c --arg p "$ADDR_A:$1" '.[] | select(.local == $p)'; }
row_mods() { row "$1" | jq -c '.modules | keys'; }
wait_row() { kh_until bash -c "[ -n \"\$('$KHELPCTL' -j conns | jq -c --arg p '$ADDR_A:$1' '.[] | select(.local == \$p)')\" ]"; }

@test "three containers with different helpers: each connection has exactly its modules; one edit changes one container" {
	A="$(kh_cgroup a)"; B="$(kh_cgroup b)"; C="$(kh_cgroup c)"
	cp "$MODS/h_ertt.bpf.o" "$TESTMODS/kt_conn.bpf.o" "$TESTMODS/kt_dep.bpf.o" "$TMP/modules/"
	policy a "$A" h_ertt
	policy b "$B" kt_conn
	policy c "$C" "h_ertt, kt_dep"
	kh_start
	kh_wait_modules a '["h_ertt"]'
	kh_wait_modules b '["kt_conn"]'
	kh_wait_modules c '["h_ertt","kt_conn","kt_dep"]'
	pa="$(connect "$A")"; pb="$(connect "$B")"; pc="$(connect "$C")"; po="$(connect -)"
	wait_row "$pa"; wait_row "$pb"; wait_row "$pc"
	[ "$(row_mods "$pa")" = '["h_ertt"]' ]
	[ "$(row_mods "$pb")" = '["kt_conn"]' ]
	[ "$(row_mods "$pc")" = '["h_ertt","kt_conn","kt_dep"]' ]
	[ "$(row "$pa" | jq -r .container)" = a ]
	[ -z "$(row "$po")" ]
	links_a="$(bpftool -j cgroup show "$A" | jq -c '[.[].id]')"
	links_c="$(bpftool -j cgroup show "$C" | jq -c '[.[].id]')"
	# change b only
	policy b "$B" h_ertt
	kh_wait_modules b '["h_ertt"]'
	[ "$(kh_modules_of a)" = '["h_ertt"]' ]
	[ "$(kh_modules_of c)" = '["h_ertt","kt_conn","kt_dep"]' ]
	[ "$(bpftool -j cgroup show "$A" | jq -c '[.[].id]')" = "$links_a" ]
	[ "$(bpftool -j cgroup show "$C" | jq -c '[.[].id]')" = "$links_c" ]
	pb2="$(connect "$B")"
	wait_row "$pb2"
	[ "$(row_mods "$pb2")" = '["h_ertt"]' ]
	# hooks run in dependency order: kt_conn before kt_dep on c's cgroup
	bpftool cgroup show "$C" | awk '/kt_conn/ { k = NR } /kt_dep/ { d = NR } END { exit !(k && d && k < d) }'
}

# edit web's policy to the text on stdin; it must be refused with PATTERN and the old policy kept
broken_edit() {
	local pattern="$1"
	cat >"$TMP/policies/web.conf"
	kh_until bash -c "'$KHELPCTL' -j containers | jq -e '.[] | select(.name == \"web\" and .error != null)'"
	err="$("$KHELPCTL" -j containers | jq -r '.[] | select(.name == "web") | .error')"
	echo "error: $err"
	[[ "$err" == *"$pattern"* ]]
	[ "$(kh_modules_of web)" = '["kt_conn"]' ]
	# a connection opened after the failed edit still gets the previous policy
	p="$(connect "$W" 10)"
	wait_row "$p"
	[ "$(row_mods "$p")" = '["kt_conn"]' ]
	[ "$(row "$p" | jq '.modules.kt_conn.weight')" -eq 9 ]
	# put the good file back (clears the error)
	policy web "$W" kt_conn "[kt_conn]" "weight = 9"
	kh_until bash -c "'$KHELPCTL' -j containers | jq -e '.[] | select(.name == \"web\" and .error == null)'"
}

@test "a broken policy edit of any kind leaves the previous policy in force" {
	W="$(kh_cgroup web)"
	O="$(kh_cgroup other)"
	cp "$TESTMODS/kt_conn.bpf.o" "$MODS/h_ertt.bpf.o" "$TMP/modules/"
	policy web "$W" kt_conn "[kt_conn]" "weight = 9"
	kh_start
	kh_wait_modules web '["kt_conn"]'
	rel="${W#$CGROOT/}"
	broken_edit "web.conf:3: [container] unknown key 'cgroupp'" <<-EOF
	[container]
	cgroup = $rel
	cgroupp = x
	EOF
	broken_edit "web.conf:4: [tcp] helpers: unknown module 'no_such'" <<-EOF
	[container]
	cgroup = $rel
	[tcp]
	helpers = kt_conn, no_such
	EOF
	broken_edit "web.conf:6: [kt_conn] weight: 1000 is out of range (valid: 1..100)" <<-EOF
	[container]
	cgroup = $rel
	[tcp]
	helpers = kt_conn
	[kt_conn]
	weight = 1000
	EOF
	broken_edit "web.conf:6: [kt_conn] unknown parameter 'wieght' (valid: weight)" <<-EOF
	[container]
	cgroup = $rel
	[tcp]
	helpers = kt_conn
	[kt_conn]
	wieght = 5
	EOF
	broken_edit "web.conf:2: [container] cgroup: $CG/nope does not exist" <<-EOF
	[container]
	cgroup = ${CG#$CGROOT/}/nope
	[tcp]
	helpers = kt_conn
	EOF
	broken_edit "web.conf:1: syntax error" <<-EOF
	[container
	cgroup = $rel
	EOF
	broken_edit "web.conf:6: [h_ertt]: module h_ertt is not used by this container" <<-EOF
	[container]
	cgroup = $rel
	[tcp]
	helpers = kt_conn
	[h_ertt]
	x = 1
	EOF
	# a second file claiming web's cgroup is refused; web keeps it
	policy other "$W" h_ertt
	kh_until bash -c "'$KHELPCTL' -j containers | jq -e '.[] | select(.name == \"other\" and .error != null)'"
	"$KHELPCTL" -j containers | jq -r '.[] | select(.name == "other") | .error' | grep -q "already the cgroup of container web"
	[ "$(kh_modules_of web)" = '["kt_conn"]' ]
	# policy check validates without applying, with the same messages
	printf '[container]\ncgroup = %s\n[tcp]\nhelpers = kt_conn\n[kt_conn]\nweight = 0\n' "$rel" >"$TMP/check.conf"
	run "$KHELPCTL" policy check "$TMP/check.conf"
	[ "$status" -eq 1 ]
	[[ "$output" == "Error: $TMP/check.conf:6: [kt_conn] weight: 0 is out of range (valid: 1..100)" ]]
	printf '[container]\ncgroup = %s\n[tcp]\nhelpers = kt_conn\n' "${O#$CGROOT/}" >"$TMP/check.conf"
	run "$KHELPCTL" policy check "$TMP/check.conf"
	[ "$status" -eq 0 ]
	[ "$(kh_modules_of web)" = '["kt_conn"]' ]
}

@test "unload is refused while a connection holds the module's data; --drain finishes when it closes" {
	W="$(kh_cgroup web)"
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	policy web "$W" kt_conn
	kh_start
	kh_wait_modules web '["kt_conn"]'
	prog_id="$(kh_prog kt_conn | jq .id)"
	kh_client "$W" "$TMP/held.out" 5201 --bytes 1000 --hold 60
	holder=$LAST_PID
	p="$(kh_wait_line "$TMP/held.out" local)"
	wait_row "$p"
	# the container goes: only the connection holds kt_conn now
	rm "$TMP/policies/web.conf"
	kh_until bash -c "! '$KHELPCTL' -j containers | jq -e '.[] | select(.name == \"web\")'"
	run "$KHELPCTL" unload kt_conn
	[ "$status" -eq 1 ]
	echo "$output"
	[[ "$output" == *"in use (refcount 1), held by [\"1 connection\"]"* ]]
	"$KHELPCTL" -j modules | jq -e '.[] | select(.name == "kt_conn" and .refcount == 1 and .holders == ["1 connection"])'
	"$KHELPCTL" unload kt_conn --drain --timeout 30 >"$TMP/drain.out" 2>&1 &
	drain=$!
	PIDS+=("$drain")
	kh_until bash -c "'$KHELPCTL' -j modules | jq -e '.[] | select(.name == \"kt_conn\" and .state == \"draining\")'"
	kill -0 "$drain"	# still waiting for the connection
	kill "$holder"
	wait "$drain"
	grep -q "unloaded kt_conn" "$TMP/drain.out"
	"$KHELPCTL" -j modules >"$TMP/modules.json"
	run ! jq -e '.[] | select(.name == "kt_conn")' "$TMP/modules.json"
	[ ! -e "$BPFFS/modules/kt_conn" ]
	run ! bpftool prog show id "$prog_id"
}

@test "a module dropped in after its containers exist attaches to all of them; a late cgroup is picked up" {
	A="$(kh_cgroup a)"; B="$(kh_cgroup b)"
	policy a "$A" kt_conn
	policy b "$B" kt_conn
	policy late "$CG/late" kt_conn
	kh_start
	kh_until bash -c "'$KHELPCTL' -j containers | jq -e '[.[] | select(.name == \"a\" or .name == \"b\") | .state] == [\"invalid\", \"invalid\"]'"
	"$KHELPCTL" -j containers | jq -e '.[] | select(.name == "late" and .state == "invalid")'
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	kh_wait_modules a '["kt_conn"]'
	kh_wait_modules b '["kt_conn"]'
	bpftool cgroup show "$A" | grep -q kt_conn
	bpftool cgroup show "$B" | grep -q kt_conn
	"$KHELPCTL" -j containers | jq -e '.[] | select(.name == "late" and .state == "waiting-for-cgroup")'
	mkdir "$CG/late"
	kh_wait_modules late '["kt_conn"]'
	bpftool cgroup show "$CG/late" | grep -q kt_conn
	# per-container init ran once per container, in the module (FreeBSD per-vnet init)
	kh_bss kt_conn
	kh_bss kt_conn | jq -e '.. | objects | select(has("module_inits")) | select(.module_inits == 1)'
	kh_bss kt_conn | jq -e '.. | objects | select(has("container_inits")) | select(.container_inits == 3)'
	# the container goes: its modules are torn down
	rm "$TMP/policies/late.conf"
	kh_wait_modules a '["kt_conn"]'
	kh_until bash -c "[ -z \"\$(bpftool cgroup show '$CG/late')\" ]"
	kh_bss kt_conn | jq -e '.. | objects | select(has("container_destroys")) | select(.container_destroys == 1)'
}

@test "dependencies: added automatically, missing named, cycles refused, init failure aborts the load" {
	W="$(kh_cgroup web)"
	cp "$TESTMODS/kt_dep.bpf.o" "$TESTMODS/kt_cyca.bpf.o" "$TESTMODS/kt_cycb.bpf.o" "$TESTMODS/kt_initfail.bpf.o" "$TMP/modules/"
	kh_start
	"$KHELPCTL" -j modules | jq -e '.[] | select(.name == "kt_dep" and .state == "waiting" and (.reason | contains("kt_dep -> kt_conn: kt_conn is not loaded")))'
	"$KHELPCTL" -j modules | jq -e '.[] | select(.name == "kt_cyca" and (.reason | contains("dependency cycle kt_cyca -> kt_cycb -> kt_cyca")))'
	"$KHELPCTL" -j modules | jq -e '.[] | select(.file == "kt_initfail.bpf.o" and .state == "rejected" and (.reason | contains("refused to initialise")))'
	run ! bpftool prog show name kt_initfail
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	kh_until bash -c "'$KHELPCTL' -j modules | jq -e '.[] | select(.name == \"kt_dep\" and .state == \"active\")'"
	policy web "$W" kt_dep
	kh_wait_modules web '["kt_conn","kt_dep"]'
	# kt_conn is held by the container and by kt_dep
	"$KHELPCTL" -j modules | jq -e '.[] | select(.name == "kt_conn" and .refcount == 2 and .holders == ["container web", "module kt_dep"])'
}

@test "parameters: per container from the policy, read and set at runtime with the same checks" {
	A="$(kh_cgroup a)"; B="$(kh_cgroup b)"
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	policy a "$A" kt_conn "[kt_conn]" "weight = 11"
	policy b "$B" kt_conn
	kh_start
	kh_wait_modules a '["kt_conn"]'
	kh_wait_modules b '["kt_conn"]'
	[ "$("$KHELPCTL" -j param get a kt_conn weight | jq .weight)" -eq 11 ]
	[ "$("$KHELPCTL" -j param get b kt_conn | jq .weight)" -eq 7 ]
	pa="$(connect "$A")"; pb="$(connect "$B")"
	wait_row "$pa"; wait_row "$pb"
	[ "$(row "$pa" | jq .modules.kt_conn.weight)" -eq 11 ]
	[ "$(row "$pb" | jq .modules.kt_conn.weight)" -eq 7 ]
	"$KHELPCTL" param set b kt_conn weight 42 | grep -q "kt_conn.weight = 42"
	run "$KHELPCTL" param set b kt_conn weight 101
	[ "$status" -eq 1 ]
	[[ "$output" == "Error: kt_conn.weight: 101 is out of range (valid: 1..100)" ]]
	run "$KHELPCTL" param set b kt_conn nope 1
	[ "$status" -eq 1 ]
	[[ "$output" == *"has no parameter 'nope'"* ]]
	pb2="$(connect "$B")"
	wait_row "$pb2"
	[ "$(row "$pb2" | jq .modules.kt_conn.weight)" -eq 42 ]
	[ "$(row "$pb" | jq .modules.kt_conn.weight)" -eq 7 ]
}

@test "a new version replaces the old in place: live connections keep their data, new ones get the new version" {
	W="$(kh_cgroup web)"
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	policy web "$W" kt_conn
	kh_start
	kh_wait_modules web '["kt_conn"]'
	link_before="$(bpftool -j cgroup show "$W" | jq '.[0].id')"
	p1="$(connect "$W")"
	wait_row "$p1"
	[ "$(row "$p1" | jq .modules.kt_conn.version)" -eq 1 ]
	cp "$TESTMODS/kt_conn_v2.bpf.o" "$TMP/modules/kt_conn.bpf.o.new"
	mv "$TMP/modules/kt_conn.bpf.o.new" "$TMP/modules/kt_conn.bpf.o"
	kh_until bash -c "'$KHELPCTL' -j modules | jq -e '.[] | select(.name == \"kt_conn\" and .version == \"2.0.0\")'"
	p2="$(connect "$W")"
	wait_row "$p2"
	[ "$(row "$p2" | jq .modules.kt_conn.version)" -eq 2 ]
	# the live connection kept its data (same layout: same map)
	[ "$(row "$p1" | jq .modules.kt_conn.version)" -eq 1 ]
	# one program on the cgroup, the new one, switched atomically on the same link
	[ "$(bpftool -j cgroup show "$W" | jq length)" -eq 1 ]
	link_after="$(bpftool -j cgroup show "$W" | jq '.[0].id')"
	[ "$link_before" != "$link_after" ]
	bpftool -j link show pinned "$BPFFS/containers/web/kt_conn" | jq -e --argjson id "$link_after" '.prog_id == $id'
}

@test "SIGHUP re-reads policies; removing a policy detaches its modules" {
	W="$(kh_cgroup web)"
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	kh_start
	# written behind inotify's back (no close-write seen before start of watch is impossible, so force a rescan)
	policy web "$W" kt_conn
	kill -HUP "$KHELPD_PID"
	kh_wait_modules web '["kt_conn"]'
	rm "$TMP/policies/web.conf"
	kh_until bash -c "[ -z \"\$(bpftool cgroup show '$W')\" ]"
	[ ! -e "$BPFFS/containers/web" ]
}
