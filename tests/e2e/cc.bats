#!/usr/bin/env bats
# Congestion control modules: registered per module, selected per container,
# never pulled from under a connection.

load lib

setup() {
	kh_setup
	kh_netns
	kh_server 5201
}

teardown() { kh_teardown; }

# policy NAME CGROUP_DIR CC [EXTRA...]
policy() { kh_write_policy "$1" "$2" "congestion = $3" "${@:4}"; }

wait_active() {
	kh_until bash -c "'$KHELPCTL' -j containers | jq -e --arg n '$1' '.[] | select(.name == \$n and .state == \"active\" and .error == null)'"
}

# the CC ss reports for the connection from local port PORT in netns NS
cc_of() { ip netns exec "${2:-$NS_A}" ss -tin "sport = :$1" | awk 'NR > 1 && NF { for (i = 1; i <= NF; i++) if ($i ~ /^(kh_|kt_|cubic|reno|bbr)/) { print $i; exit } }'; }
# cc_is PORT CC [NS]: that connection uses CC (for kh_until)
cc_is() { [ "$(cc_of "$1" "${3:-$NS_A}")" = "$2" ]; }
# bytes_sent PORT: the connection's bytes_sent as ss shows it in netns A
bytes_sent() { ip netns exec "$NS_A" ss -tin "sport = :$1" | grep -oE 'bytes_sent:[0-9]+' | cut -d: -f2; }

@test "every kh_ module registers, carries a transfer, and ss shows it for its container's connections" {
	W="$(kh_cgroup web)"
	cp "$MODS"/*.bpf.o "$TMP/modules/"
	kh_start
	# a first start has no registration to adopt: libbpf's failed probe of the pin is debug output
	kh_until grep -q ready "$TMP/khelpd.log"
	run ! grep -F "failed to open link" "$TMP/khelpd.log"
	for cc in kh_newreno kh_cubic kh_htcp kh_vegas kh_hd kh_chd kh_cdg kh_dctcp; do
		grep -qw "$cc" /proc/sys/net/ipv4/tcp_available_congestion_control
		policy web "$W" "$cc"
		wait_active web
		"$KHELPCTL" -j containers | jq -e --arg cc "$cc" '.[] | select(.name == "web" and .congestion == $cc)'
		# the delay-based ones bring h_ertt along as a dependency, the others nothing
		case $cc in
		kh_vegas|kh_hd|kh_chd|kh_cdg) want="[\"h_ertt\",\"$cc\"]" ;;
		*) want="[\"$cc\"]" ;;
		esac
		[ "$(kh_modules_of web)" = "$want" ]
		# kh_dctcp without ECN leaves for reno, as Linux's dctcp does: this
		# listener's CC does not need ECN, so Linux refuses ECN from the
		# ECT SYN (fidelity.bats runs kh_dctcp with ECN)
		want_cc="$cc"
		[ "$cc" = kh_dctcp ] && want_cc=reno
		kh_client "$W" "$TMP/$cc.out" 5201 --seconds 1 --hold 2
		port="$(kh_wait_line "$TMP/$cc.out" local)"
		kh_until cc_is "$port" "$want_cc" || true
		seen="$(cc_of "$port")"
		echo "$cc: ss shows '$seen'"
		[ "$seen" = "$want_cc" ]
		kh_wait_line "$TMP/$cc.out" sent >/dev/null
		mbit="$(awk '$1 == "sent" { print int($4) }' "$TMP/$cc.out")"
		echo "$cc: $mbit Mbit/s"
		[ "$mbit" -gt 10 ]
	done
}

@test "two containers with different default CCs at once; TCP_CONGESTION per socket still wins; listeners too" {
	A="$(kh_cgroup a)"; B="$(kh_cgroup b)"; S="$(kh_cgroup srv)"
	cp "$MODS/kh_newreno.bpf.o" "$MODS/kh_cubic.bpf.o" "$MODS/kh_htcp.bpf.o" "$TMP/modules/"
	kh_start
	policy a "$A" kh_newreno
	policy b "$B" kh_cubic
	policy srv "$S" kh_htcp
	wait_active a; wait_active b; wait_active srv
	kh_client "$A" "$TMP/a.out" 5201 --seconds 1 --hold 10
	kh_client "$B" "$TMP/b.out" 5201 --seconds 1 --hold 10
	kh_client "$A" "$TMP/x.out" 5201 --seconds 1 --hold 10 --cc reno
	pa="$(kh_wait_line "$TMP/a.out" local)"; pb="$(kh_wait_line "$TMP/b.out" local)"
	px="$(kh_wait_line "$TMP/x.out" local)"
	kh_until cc_is "$pa" kh_newreno
	kh_until cc_is "$pb" kh_cubic
	kh_until cc_is "$px" reno
	# passive side: a server started in container srv hands kh_htcp to accepted connections
	bash -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' _ "$S" \
		ip netns exec "$NS_B" "$KHTCP" serve "$ADDR_B" 5301 >"$TMP/srv.out" 2>&1 &
	PIDS+=("$!")
	kh_until grep -q listening "$TMP/srv.out"
	kh_client - "$TMP/p.out" 5301 --seconds 1 --hold 10
	pp="$(kh_wait_line "$TMP/p.out" local)"
	kh_until bash -c "ip netns exec '$NS_B' ss -tin 'dport = :$pp' | grep -qw kh_htcp"
	ip netns exec "$NS_B" ss -tlni "sport = :5301"
	ip netns exec "$NS_B" ss -tlni "sport = :5301" | grep -qw kh_htcp
	# cc list: ours and the kernel's, where each is a default, how many use it
	"$KHELPCTL" -j cc list >"$TMP/cc.json"
	cat "$TMP/cc.json"
	jq -e '.[] | select(.name == "kh_newreno" and .default_in == ["a"] and .connections >= 1 and .module == "kh_newreno.bpf.o")' "$TMP/cc.json"
	jq -e '.[] | select(.name == "kh_cubic" and .default_in == ["b"])' "$TMP/cc.json"
	jq -e '.[] | select(.name == "reno" and .module == null and .connections >= 1)' "$TMP/cc.json"
	jq -e '[.[] | select(.system_default)] | length == 1' "$TMP/cc.json"
	"$KHELPCTL" cc list | grep -E '^kh_newreno +[0-9]+ +khelp'
}

@test "a CC in use is not unloaded; --migrate moves its live connections, which keep transferring" {
	W="$(kh_cgroup web)"
	cp "$MODS/kh_newreno.bpf.o" "$MODS/kh_cubic.bpf.o" "$TMP/modules/"
	kh_start
	policy web "$W" kh_newreno
	wait_active web
	run "$KHELPCTL" unload kh_newreno
	[ "$status" -eq 1 ]
	[[ "$output" == *"container web"* ]]
	kh_client "$W" "$TMP/1.out" 5201 --seconds 6
	kh_client "$W" "$TMP/2.out" 5201 --seconds 6
	p1="$(kh_wait_line "$TMP/1.out" local)"; p2="$(kh_wait_line "$TMP/2.out" local)"
	kh_until cc_is "$p1" kh_newreno
	# the container moves on to kh_cubic; its old connections still use kh_newreno
	policy web "$W" kh_cubic
	kh_until bash -c "'$KHELPCTL' -j containers | jq -e '.[] | select(.name == \"web\" and .congestion == \"kh_cubic\")'"
	run "$KHELPCTL" unload kh_newreno
	[ "$status" -eq 1 ]
	echo "$output"
	[[ "$output" == *"held by [\"2 connections\"]"* ]]
	grep -qw kh_newreno /proc/sys/net/ipv4/tcp_available_congestion_control
	"$KHELPCTL" unload kh_newreno --migrate
	[ "$(cc_of "$p1")" = kh_cubic ]
	[ "$(cc_of "$p2")" = kh_cubic ]
	run ! grep -qw kh_newreno /proc/sys/net/ipv4/tcp_available_congestion_control
	# the migrated connection keeps transferring
	before="$(bytes_sent "$p1")"
	sent_more() { [ "$(bytes_sent "$p1")" -gt "$before" ]; }
	kh_until sent_more
	echo "bytes_sent $before -> $(bytes_sent "$p1")"
}

@test "kh_vegas waits for h_ertt and brings it along as a dependency" {
	W="$(kh_cgroup web)"
	cp "$MODS/kh_vegas.bpf.o" "$TMP/modules/"
	kh_start
	"$KHELPCTL" -j modules | jq -e '.[] | select(.name == "kh_vegas" and .state == "waiting" and (.reason | contains("h_ertt is not loaded")))'
	run ! grep -qw kh_vegas /proc/sys/net/ipv4/tcp_available_congestion_control
	policy web "$W" kh_vegas "[kh_vegas]" "alpha = 2" "beta = 4"
	kh_until bash -c "'$KHELPCTL' -j containers | jq -e '.[] | select(.name == \"web\" and (.error | contains(\"kh_vegas\")))'"
	cp "$MODS/h_ertt.bpf.o" "$TMP/modules/"
	kh_until bash -c "'$KHELPCTL' -j modules | jq -e '.[] | select(.name == \"kh_vegas\" and .state == \"active\")'"
	grep -qw kh_vegas /proc/sys/net/ipv4/tcp_available_congestion_control
	kh_until bash -c "'$KHELPCTL' -j containers | jq -e '.[] | select(.name == \"web\" and .modules == [\"h_ertt\", \"kh_vegas\"])'"
	kh_client "$W" "$TMP/v.out" 5201 --seconds 2 --hold 2
	port="$(kh_wait_line "$TMP/v.out" local)"
	kh_until cc_is "$port" kh_vegas
	kh_until bash -c "'$KHELPCTL' -j conns | jq -e --arg p '$ADDR_A:$port' '.[] | select(.local == \$p) | .modules.h_ertt.measurements > 1'"
	[ "$("$KHELPCTL" -j param get web kh_vegas | jq -c .)" = '{"alpha":2,"beta":4}' ]
	run "$KHELPCTL" unload h_ertt
	[ "$status" -eq 1 ]
	[[ "$output" == *"module kh_vegas"* ]]
}

@test "a new version of a CC replaces the old for new connections; live ones keep the old" {
	W="$(kh_cgroup web)"
	cp "$TESTMODS/kt_cc.bpf.o" "$TMP/modules/"
	kh_start
	policy web "$W" kt_cc
	wait_active web
	kh_client "$W" "$TMP/1.out" 5201 --seconds 6
	p1="$(kh_wait_line "$TMP/1.out" local)"
	kh_until cc_is "$p1" kt_cc
	cp "$TESTMODS/kt_cc_v2.bpf.o" "$TMP/modules/.kt_cc.new"
	mv "$TMP/modules/.kt_cc.new" "$TMP/modules/kt_cc.bpf.o"
	kh_until bash -c "'$KHELPCTL' -j modules | jq -e '.[] | select(.name == \"kt_cc\" and .version == \"2.0.0\")'"
	kh_client "$W" "$TMP/2.out" 5201 --seconds 3 --hold 2
	p2="$(kh_wait_line "$TMP/2.out" local)"
	kh_until cc_is "$p2" kt_cc
	kh_until bash -c "'$KHELPCTL' -j conns | jq -e --arg p '$ADDR_A:$p2' '.[] | select(.local == \$p) | .modules.kt_cc.version == 2'"
	"$KHELPCTL" -j conns >"$TMP/conns.json"
	cat "$TMP/conns.json"
	# the live connection was initialised by version 1 and still runs it, the new one by version 2
	jq -e --arg p "$ADDR_A:$p1" '.[] | select(.local == $p) | .modules.kt_cc.version == 1' "$TMP/conns.json"
	jq -e --arg p "$ADDR_A:$p2" '.[] | select(.local == $p) | .modules.kt_cc.version == 2' "$TMP/conns.json"
	[ "$(cc_of "$p1")" = kt_cc ]
	[ "$(cc_of "$p2")" = kt_cc ]
	a1="$(jq --arg p "$ADDR_A:$p1" '.[] | select(.local == $p) | .modules.kt_cc.acks' "$TMP/conns.json")"
	# the old connection keeps running version 1: its ack count grows
	kh_until bash -c "'$KHELPCTL' -j conns | jq -e --arg p '$ADDR_A:$p1' '.[] | select(.local == \$p) | .modules.kt_cc.acks > $a1'"
	echo "old connection acks $a1 -> $("$KHELPCTL" -j conns | jq --arg p "$ADDR_A:$p1" '.[] | select(.local == $p) | .modules.kt_cc.acks')"
}
