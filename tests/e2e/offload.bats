#!/usr/bin/env bats
# offload/: the COP policy decides per connection at open, the XDP or TC datapath on the container's
# veth counts offloaded connections and drops what a drop rule says; it all survives a khelpd restart.
# The container is netns A + cgroup APP; its servers listen there, clients in netns B send to them.

load lib

P_OFL=5301	# offloaded
P_TCP=5302	# no rule matches: the kernel's TCP
P_DROP=5303	# a drop rule

setup() {
	kh_setup_app
	IF="${ID}x"
}

teardown() { kh_teardown; }

# offload_policy [DATAPATH]: the container with its [offload] section and web.cop
offload_policy() {
	cat >"$TMP/policies/web.cop" <<-EOF
	# offload port $P_OFL; drop $P_DROP; nothing else matches
	P dst port $P_OFL => offload, !nagle, cong reno
	P dst port $P_DROP => drop
	EOF
	kh_policy web <<-EOF
	[container]
	cgroup = ${APP#$CGROOT/}
	netns = /run/netns/$NS_A
	[offload]
	interface = $IF
	policy = web.cop
	${1:+datapath = $1}
	EOF
}

# a khtcp server inside the container (cgroup APP, netns A) on PORT
app_server() {
	bash -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' _ "$APP" \
		ip netns exec "$NS_A" "$KHTCP" serve "$ADDR_A" "$1" >"$TMP/server.$1.log" 2>&1 &
	PIDS+=("$!")
	kh_until grep -q listening "$TMP/server.$1.log"
}

# send BYTES from netns B to the container's PORT; keeps the connection open HOLD seconds
send_to_app() {
	ip netns exec "$NS_B" timeout 20 "$KHTCP" send "$ADDR_A" "$1" --bytes "$2" --hold "${3:-0}" \
		>"$TMP/client.$1.log" 2>&1 &
	PIDS+=("$!")
	LAST_PID=$!
}

# the offload conns row of the connection to local PORT, as compact JSON
conn_row() {
	"$KHELPCTL" -j offload conns | jq -c --arg p "$ADDR_A:$1" '[.[] | select(.local == $p)] | last // empty'
}

# rx_bytes of the connection to PORT reaches at least N
rx_at_least() {
	local got
	got="$(conn_row "$1" | jq -r '.rx_bytes // 0')"
	[ "${got:-0}" -ge "$2" ]
}

# offloaded PORT: counters cover BYTES payload plus at most the per-packet header overhead
check_counted() {
	local port=$1 bytes=$2 kind=$3 row pk by
	kh_until rx_at_least "$port" "$bytes"
	row="$(conn_row "$port")"
	echo "row: $row"
	[ "$(jq -r .kind <<<"$row")" = "$kind" ]
	[ "$(jq -r .open <<<"$row")" = P ]
	[ "$(jq -r .rule <<<"$row")" = 1 ]
	pk="$(jq -r .rx_packets <<<"$row")"
	by="$(jq -r .rx_bytes <<<"$row")"
	# Ethernet 14 + IPv4 20 + TCP 20..60 per packet, and at most 3 packets without payload (ACK, FIN)
	[ "$by" -ge "$bytes" ]
	[ "$by" -le $((bytes + pk * (14 + 20 + 60))) ]
	[ "$pk" -ge 1 ]
}

@test "XDP datapath attaches natively; port X offloaded and counted, port Y plain TCP, drop rule drops" {
	offload_policy
	kh_start
	kh_until test -e "$BPFFS/offload/$IF/xdp"
	# native (driver) mode on the veth: the link is an XDP link on that ifindex, and ip shows xdp (not xdpgeneric)
	bpftool -j link show pinned "$BPFFS/offload/$IF/xdp" | jq -e '.type == "xdp"'
	ip -n "$NS_A" -d link show "$IF" | grep -q "prog/xdp "
	run ! bash -c "ip -n '$NS_A' -d link show '$IF' | grep -q xdpgeneric"
	bpftool -j link show pinned "$BPFFS/offload/$IF/sockops" | jq -e '.type == "cgroup"'

	app_server "$P_OFL"
	app_server "$P_TCP"
	app_server "$P_DROP"
	send_to_app "$P_OFL" 3000000 3
	send_to_app "$P_TCP" 1000000 3
	check_counted "$P_OFL" 3000000 xdp
	kh_until bash -c "[ -n \"\$('$KHELPCTL' -j offload conns | jq -r --arg p '$ADDR_A:$P_TCP' '.[] | select(.local == \$p) | .kind')\" ]"
	row="$(conn_row "$P_TCP")"
	echo "tcp row: $row"
	[ "$(jq -r .kind <<<"$row")" = tcp ]
	[ "$(jq -r .rule <<<"$row")" = 0 ]
	[ "$(jq -r .rx_bytes <<<"$row")" = 0 ]
	# the rule's settings were applied at open with bpf_setsockopt: reno on X only
	ip netns exec "$NS_A" ss -tni "( sport = :$P_OFL )" | tee "$TMP/ss.ofl" | grep -q " reno "
	ip netns exec "$NS_A" ss -tni "( sport = :$P_TCP )" | tee "$TMP/ss.tcp" | grep -q "rtt:"
	run ! grep -q " reno " "$TMP/ss.tcp"

	# the drop rule: the connection never opens, the rule's counter shows the dropped SYNs
	run ip netns exec "$NS_B" timeout 3 "$KHTCP" send "$ADDR_A" "$P_DROP" --bytes 1000
	[ "$status" -ne 0 ]
	[ -z "$(conn_row "$P_DROP")" ]
	"$KHELPCTL" -j offload show | tee "$TMP/show.json"
	[ "$(jq -r '.[0].datapath' "$TMP/show.json")" = xdp ]
	[ "$(jq -r '.[0].rules[1].where' "$TMP/show.json")" = xdp ]
	[ "$(jq -r '.[0].rules[1].packets' "$TMP/show.json")" -ge 1 ]

	# plain output: netstat-like rows with the kind
	"$KHELPCTL" offload conns | grep -E "^xdp +$ADDR_A:$P_OFL "
	"$KHELPCTL" offload conns | grep -E "^tcp +$ADDR_A:$P_TCP "
}

@test "TC datapath when forced: tcx links on the veth, counts both ways, drop rule drops" {
	offload_policy tc
	kh_start
	kh_until test -e "$BPFFS/offload/$IF/tc_in"
	bpftool -j link show pinned "$BPFFS/offload/$IF/tc_in" | jq -e '.type == "tcx"'
	bpftool -j link show pinned "$BPFFS/offload/$IF/tc_out" | jq -e '.type == "tcx"'
	[ ! -e "$BPFFS/offload/$IF/xdp" ]

	app_server "$P_OFL"
	app_server "$P_TCP"
	send_to_app "$P_OFL" 3000000 3
	send_to_app "$P_TCP" 1000000 3
	check_counted "$P_OFL" 3000000 tc
	# egress of the receiver: ACKs went out and were counted
	[ "$(conn_row "$P_OFL" | jq -r .tx_packets)" -ge 1 ]
	kh_until bash -c "[ \"\$('$KHELPCTL' -j offload conns | jq -r --arg p '$ADDR_A:$P_TCP' '.[] | select(.local == \$p) | .kind')\" = tcp ]"

	run ip netns exec "$NS_B" timeout 3 "$KHTCP" send "$ADDR_A" "$P_DROP" --bytes 1000
	[ "$status" -ne 0 ]
	[ "$("$KHELPCTL" -j offload show | jq -r '.[0].rules[1].packets')" -ge 1 ]
}

@test "khelpd killed and restarted keeps the datapath and its counters, and adopts the pins" {
	offload_policy
	kh_start
	kh_until test -e "$BPFFS/offload/$IF/xdp"
	link_id="$(bpftool -j link show pinned "$BPFFS/offload/$IF/xdp" | jq .id)"
	app_server "$P_OFL"
	send_to_app "$P_OFL" 2000000 30
	check_counted "$P_OFL" 2000000 xdp
	before="$(conn_row "$P_OFL" | jq -r .rx_bytes)"

	kill -9 "$KHELPD_PID"
	wait "$KHELPD_PID" 2>/dev/null || true
	KHELPD_PID=
	# meanwhile the datapath runs on: a second connection is still decided and counted
	send_to_app "$P_OFL" 1000000 30
	second=$LAST_PID
	kh_until grep -q '^sent' "$TMP/client.$P_OFL.log"

	kh_start
	kh_until grep -q "adopted" "$TMP/khelpd.log"
	[ "$(bpftool -j link show pinned "$BPFFS/offload/$IF/xdp" | jq .id)" = "$link_id" ]
	[ "$(ip -n "$NS_A" -d link show "$IF" | grep -c 'prog/xdp ')" = 1 ]
	# the first connection's counters are still there, not reset
	"$KHELPCTL" -j offload conns | tee "$TMP/conns.json"
	[ "$(jq --arg p "$ADDR_A:$P_OFL" '[.[] | select(.local | startswith($p))] | length' "$TMP/conns.json")" -ge 2 ]
	total="$(jq --arg p "$ADDR_A:$P_OFL" '[.[] | select(.local == $p) | .rx_bytes] | add' "$TMP/conns.json")"
	echo "before=$before total=$total"
	[ "$total" -ge $((before + 1000000)) ]
}

@test "a bad COP file changes nothing: the datapath keeps the policy in force" {
	offload_policy
	kh_start
	kh_until test -e "$BPFFS/offload/$IF/xdp"
	prog_id="$(bpftool -j link show pinned "$BPFFS/offload/$IF/xdp" | jq .prog_id)"
	# a second container cannot take the same interface
	OTHER="$(kh_cgroup other)"
	kh_policy other <<-EOF
	[container]
	cgroup = ${OTHER#$CGROOT/}
	netns = /run/netns/$NS_A
	[offload]
	interface = $IF
	policy = web.cop
	EOF
	kh_until bash -c "'$KHELPCTL' -j containers | jq -e '.[] | select(.name == \"other\") | .error | test(\"already the offload interface of container web\")'"
	[ "$(bpftool -j link show pinned "$BPFFS/offload/$IF/sockops" | jq -r .cgroup_id)" = "$(stat -c %i "$APP")" ]
	rm "$TMP/policies/other.conf"

	printf 'P dst port %s => offload, ddp\n' "$P_OFL" >"$TMP/policies/web.cop"
	kill -HUP "$KHELPD_PID"
	kh_until bash -c "'$KHELPCTL' -j containers | jq -e '.[] | select(.name == \"web\") | .error | test(\"web.cop:1:\")'"
	"$KHELPCTL" -j containers | jq -r '.[] | select(.name == "web") | .error' | grep -q "web.cop:1:29: setting 'ddp' has no Linux equivalent"
	[ "$(bpftool -j link show pinned "$BPFFS/offload/$IF/xdp" | jq .prog_id)" = "$prog_id" ]
	[ "$("$KHELPCTL" -j offload show | jq -r '.[0].rules | length')" = 2 ]
	# the CLI checks the same file with the same words
	run "$KHELPCTL" offload check "$TMP/policies/web.cop"
	[ "$status" -ne 0 ]
	[[ "$output" == *"web.cop:1:29: setting 'ddp' has no Linux equivalent"* ]]
}

@test "offload probe tells veth from lo, and check prints compiled rules and the dry run" {
	kh_start
	ip link add "${ID}p" type veth peer name "${ID}q"
	run "$KHELPCTL" -j offload probe "${ID}p"
	ip link del "${ID}p"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.[0].driver' <<<"$output")" = veth ]
	[ "$(jq -r '.[0].native_xdp' <<<"$output")" = true ]
	[ "$(jq -r '.[0].datapath' <<<"$output")" = xdp ]
	[ "$(jq -r '.[0].chelsio' <<<"$output")" = none ]
	run "$KHELPCTL" -j offload probe lo
	[ "$(jq -r '.[0].native_xdp' <<<"$output")" = false ]
	[ "$(jq -r '.[0].datapath' <<<"$output")" = tc ]
	"$KHELPCTL" offload probe lo | grep -q "datapath: *tc"
	run "$KHELPCTL" offload probe nosuch0
	[ "$status" -ne 0 ]
	[[ "$output" == *"interface nosuch0: no such interface"* ]]

	printf 'A dst host 198.18.0.2 and dst port 80 => offload, cong cubic\nP tos 0x10 => drop\n' >"$TMP/x.cop"
	run "$KHELPCTL" offload check "$TMP/x.cop"
	[ "$status" -eq 0 ]
	[[ "$output" == *"A (dst host 198.18.0.2 and dst port 80) => offload, cong cubic"* ]]
	run "$KHELPCTL" offload check "$TMP/x.cop" --dry-run --chip T5
	[[ "$output" == *"flower skip_sw ip_proto tcp src_ip 198.18.0.2/32 src_port 80 action pass"* ]]
	[[ "$output" == *"software: filterMode lacks 'tos'"* ]]
	run "$KHELPCTL" offload check "$TMP/x.cop" --dry-run --chip T5 --filtermode tos,protocol
	[[ "$output" == *"ip_tos 0x10/0xff action drop"* ]]
}
