#!/usr/bin/env bats
# Durability: khelpd's state is the pins. A kill -9 of khelpd resets no
# connection and changes no CC; the next khelpd adopts what is pinned (no new
# link), applies what changed on disk while it was down, and removes the pins
# nothing explains any more. Real khelpd, real BPF, real TCP.

load lib

setup() { kh_setup_app; }

teardown() { kh_teardown; }

# the CC of the connection from local port $1 in netns A, as ss shows it
cc_of() { ip netns exec "$NS_A" ss -tin "sport = :$1" | awk 'NR > 1 && NF { for (i = 1; i <= NF; i++) if ($i ~ /^(kh_|kt_|cubic|reno|bbr)/) { print $i; exit } }'; }
links() { bpftool -j link show | jq length; }
resets() { ip netns exec "$1" nstat -az TcpEstabResets TcpOutRsts TcpExtTCPAbortOnData | awk '/^Tcp/ { s += $2 } END { print s + 0 }'; }
kill9() { kill -9 "$KHELPD_PID"; wait "$KHELPD_PID" 2>/dev/null || true; KHELPD_PID=; }
has_modules() { kh_until bash -c "'$KHELPCTL' -j containers | jq -e --arg n '$1' '.[] | select(.name == \$n and .state == \"active\") | .modules | sort == ($2 | sort)'"; }

@test "kill -9 during a transfer: no reset, the same CC throughout, no new link after restart" {
	kh_write_policy web "$APP" "congestion = kh_newreno" "helpers = h_ertt"
	cp "$MODS/h_ertt.bpf.o" "$MODS/kh_newreno.bpf.o" "$TMP/modules/"
	kh_start
	has_modules web '["h_ertt","kh_newreno"]'
	links_before="$(links)"
	kh_server 5201
	kh_client "$APP" "$TMP/c.out" 5201 --seconds 5
	client=$LAST_PID
	port="$(kh_wait_line "$TMP/c.out" local)"
	# sample the connection's CC every 0.1 s until the transfer ends
	( while kill -0 "$client" 2>/dev/null; do echo "$(date +%s.%N) $(cc_of "$port")"; sleep 0.1; done ) >"$TMP/cc.log" &
	sampler=$!
	PIDS+=("$sampler")
	sleep 1
	kill9
	sleep 1
	kh_start
	"$KHELPCTL" status
	has_modules web '["h_ertt","kh_newreno"]'
	links_after="$(links)"
	wait "$client"
	wait "$sampler" || true
	cat "$TMP/c.out"
	grep -q '^sent [1-9]' "$TMP/c.out"
	echo "CC samples: $(awk '{ print $2 }' "$TMP/cc.log" | sort | uniq -c | tr '\n' ' ')"
	[ "$(wc -l <"$TMP/cc.log")" -ge 20 ]
	# ss showed the connection with kh_newreno at every sample, before, during and after the restart
	[ "$(awk '$2 != "kh_newreno"' "$TMP/cc.log" | wc -l)" -le 1 ]   # the last one may see the socket closed
	[ "$(awk '$2 == "kh_newreno"' "$TMP/cc.log" | wc -l)" -ge 20 ]
	[ "$(resets "$NS_A")" -eq 0 ] && [ "$(resets "$NS_B")" -eq 0 ]
	echo "links before $links_before, after restart $links_after"
	[ "$links_after" -eq "$links_before" ]
}

@test "a policy and a module changed while khelpd was down are applied at restart" {
	kh_write_policy web "$APP" "helpers = kt_conn"
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	kh_start
	has_modules web '["kt_conn"]'
	"$KHELPCTL" -j modules | jq -e '.[] | select(.name == "kt_conn") | .version | startswith("1")'
	kill9
	# while it is down: a new version of kt_conn, a new module, and the policy asks for both
	cp "$TESTMODS/kt_conn_v2.bpf.o" "$TMP/modules/kt_conn.bpf.o"
	cp "$MODS/h_ertt.bpf.o" "$TMP/modules/"
	kh_write_policy web "$APP" "helpers = kt_conn, h_ertt"
	kh_start
	has_modules web '["h_ertt","kt_conn"]'
	"$KHELPCTL" -j modules | jq -e '.[] | select(.name == "kt_conn") | .version | startswith("2")'
	# a new connection gets version 2's data and h_ertt's
	kh_server 5201
	kh_client "$APP" "$TMP/c.out" 5201 --seconds 1 --hold 3
	port="$(kh_wait_line "$TMP/c.out" local)"
	kh_until bash -c "'$KHELPCTL' -j conns | jq -e '.[] | select(.local == \"$ADDR_A:$port\") | .modules.kt_conn.version == 2 and .modules.h_ertt.srtt_us > 0'"
	# one cgroup link per module, none twice
	[ "$(cg_progs "$APP")" -eq 2 ]
}

@test "pins nothing explains any more are removed at restart" {
	OLD="$(kh_cgroup old)"
	kh_write_policy web "$APP" "helpers = kt_conn"
	kh_write_policy old "$OLD" "helpers = h_ertt"
	cp "$TESTMODS/kt_conn.bpf.o" "$MODS/h_ertt.bpf.o" "$TMP/modules/"
	kh_start
	has_modules web '["kt_conn"]'
	has_modules old '["h_ertt"]'
	[ -e "$BPFFS/containers/old/h_ertt" ] && [ -d "$BPFFS/modules/h_ertt" ]
	[ "$(cg_progs "$OLD")" -eq 1 ]
	kill9
	# while it is down: container old and module h_ertt go away
	rm "$TMP/policies/old.conf" "$TMP/modules/h_ertt.bpf.o"
	kh_start
	has_modules web '["kt_conn"]'
	[ ! -e "$BPFFS/containers/old" ]
	[ ! -e "$BPFFS/modules/h_ertt" ]
	[ "$(cg_progs "$OLD")" -eq 0 ]
	# what is still explained stays, attached once
	[ -e "$BPFFS/containers/web/kt_conn" ]
	[ "$(cg_progs "$APP")" -eq 1 ]
}

@test "a container's CC selector stays pinned across restarts: the reconcile at start keeps it" {
	kh_write_policy web "$APP" "helpers = kt_conn" "congestion = kh_newreno"
	cp "$TESTMODS/kt_conn.bpf.o" "$MODS/kh_newreno.bpf.o" "$TMP/modules/"
	kh_start
	has_modules web '["kt_conn","kh_newreno"]'
	[ -e "$BPFFS/containers/web/congestion" ]
	for _ in 1 2; do
		kh_stop
		kh_start
		has_modules web '["kt_conn","kh_newreno"]'
		[ -e "$BPFFS/containers/web/congestion" ]
		[ "$(cg_progs "$APP")" -eq 2 ]	# kt_conn + the selector, each once
	done
	# with khelpd down, the selector still chooses the container's CC
	kh_stop
	[ "$(cg_progs "$APP")" -eq 2 ]
	kh_server 5201
	kh_client "$APP" "$TMP/c.out" 5201 --seconds 1 --hold 2
	port="$(kh_wait_line "$TMP/c.out" local)"
	echo "CC with khelpd down: $(cc_of "$port")"
	[ "$(cc_of "$port")" = kh_newreno ]
}
