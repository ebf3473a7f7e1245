#!/usr/bin/env bats
# h_ertt fidelity against FreeBSD's h_ertt (docs/h_ertt.md): every ACK seen,
# long flights, Karn's rule, invalid ACKs, sends without option space.
# Real khelpd, real BPF, real TCP between two namespaces.

load lib

setup() {
	kh_setup_app
	cp "$MODS/h_ertt.bpf.o" "$TMP/modules/"
	kh_write_policy web "$APP" "helpers = h_ertt"
	kh_start
	kh_wait_modules web '["h_ertt"]'
	# one known CC on both ends (the host default may be anything)
	ip netns exec "$NS_B" "$KHTCP" serve "$ADDR_B" 5201 --cc cubic >"$TMP/server.log" 2>&1 &
	PIDS+=("$!")
	kh_until grep -q listening "$TMP/server.log"
}

teardown() { kh_teardown; }

# ertt PORT: h_ertt's data of the connection from local port PORT, as JSON
ertt() { "$KHELPCTL" -j conns --module h_ertt | jq -c --arg p "$ADDR_A:$1" '.[] | select(.local == $p) | .modules.h_ertt'; }

# ss_field PORT FIELD: a numeric field of `ss -ti` for the connection from PORT
ss_field() {
	ip netns exec "$NS_A" ss -tin "sport = :$1" | tr ' ' '\n' | awk -F: -v f="$2" '$1 == f { print $2; exit }'
}

# the connection from PORT has nothing unacknowledged: its last ACKs arrived (ss shows unacked only when > 0)
all_acked() { ip netns exec "$NS_A" ss -tin "sport = :$1" | grep -q . && [ -z "$(ss_field "$1" unacked)" ]; }

# h_ertt has measured an RTT on the connection from PORT
measuring() { [ "$(ertt "$1" | jq -r '.measurements // 0')" -gt 0 ]; }

@test "tcp_est_in sees every ACK of a bulk transfer (acks_seen >= 99% of segs_in)" {
	kh_client "$APP" "$TMP/c.out" 5201 --seconds 2 --hold 3 --cc cubic
	port="$(kh_wait_line "$TMP/c.out" local)"
	kh_until grep -q '^sent' "$TMP/c.out"
	kh_until all_acked "$port"
	segs_in="$(ss_field "$port" segs_in)"
	row="$(ertt "$port")"
	seen="$(jq -r .acks_seen <<<"$row")"
	echo "# segs_in=$segs_in acks_seen=$seen ratio=$(awk -v a="$seen" -v b="$segs_in" 'BEGIN { print a / b }')" >&3
	echo "ertt=$row"
	[ "$segs_in" -gt 10000 ]
	# the SYN-ACK arrives before the socket has data: at most one segment less
	[ "$((seen * 100))" -ge "$((segs_in * 99))" ]
	[ "$(jq -r .samples <<<"$row")" -gt 1000 ]
	# the program runs only while a container uses h_ertt
	[ -e "$BPFFS/modules/h_ertt/est_in" ]
	in_prog="$(bpftool -j prog show pinned "$BPFFS/modules/h_ertt/est_in_prog" | jq .id)"
	[ "$(bpftool -j link show | jq "[.[] | select(.prog_id == $in_prog)] | length")" -eq 1 ]
	rm "$TMP/policies/web.conf"
	kh_until bash -c "! '$KHELPCTL' -j containers | jq -e '.[] | select(.name == \"web\")'"
	kh_until bash -c "[ ! -e '$BPFFS/modules/h_ertt/est_in' ]"
	[ "$(bpftool -j link show | jq "[.[] | select(.prog_id == $in_prog)] | length")" -eq 0 ]
}

@test "an application-limited flow is timed at each ACK's arrival, not at the next write" {
	# 50 Mbit/s in 6,250-byte writes, one per ms: the pipe empties after each
	# write's ACK (about 15 us later on veth), so the next write restamps the
	# kernel's delivery time a millisecond on; h_ertt must take the ACK's
	# time before that (timed 1,000 us instead of ~15 before it did)
	kh_client "$APP" "$TMP/c.out" 5201 --seconds 2 --rate 50 --hold 2 --cc cubic
	port="$(kh_wait_line "$TMP/c.out" local)"
	kh_until grep -q '^sent' "$TMP/c.out"
	kh_until all_acked "$port"
	row="$(ertt "$port")"
	echo "ertt=$row"
	ip netns exec "$NS_A" ss -tin "sport = :$port"
	seen="$(jq -r .acks_seen <<<"$row")"
	[ "$seen" -gt 1000 ]
	# every ACK acknowledges a whole write: every one but the last is timed
	[ "$(jq -r .samples <<<"$row")" -ge "$((seen * 95 / 100))" ]
	[ "$(jq -r .acks_untimed <<<"$row")" -le "$((seen / 100))" ]
	[ "$(jq -r .measurements <<<"$row")" -ge "$((seen * 95 / 100))" ]
	# veth RTTs are tens of us; one write interval is 1,000 (the EWMA of the
	# samples, not the last one: a single late ACK does not decide)
	[ "$(jq -r .srtt_us <<<"$row")" -lt 300 ]
}

# netem NS DEV: khelp_netem (tests/tools/khelp_netem.bpf.c) on DEV's ingress in NS;
# sets NETEM_CFG to its settings map
netem() {
	local obj="$TMP/khelp_netem.bpf.o" prog m
	[ -f "$obj" ] || clang-19 -g -O2 --target=bpf -D__TARGET_ARCH_x86 -mcpu=v3 -Wall -Werror \
		-I"$REPO" -I"$REPO/include" -idirafter /usr/include -idirafter /usr/include/x86_64-linux-gnu \
		-c "$REPO/tests/tools/khelp_netem.bpf.c" -o "$obj"
	ip netns exec "$1" tc qdisc add dev "$2" clsact
	ip netns exec "$1" tc filter add dev "$2" ingress bpf da obj "$obj" sec tc
	prog="$(ip netns exec "$1" tc filter show dev "$2" ingress | grep -oE ' id [0-9]+' | awk '{ print $2; exit }')"
	for m in $(bpftool -j prog show id "$prog" | jq -r '.map_ids[]'); do
		[ "$(bpftool -j map show id "$m" | jq -r .name)" = khn_cfg ] && NETEM_CFG="$m"
	done
	[ -n "$NETEM_CFG" ]
}

# drop_every N: khelp_netem drops every Nth TCP data segment (1: all, 0: none)
drop_every() {
	bpftool map update id "$NETEM_CFG" key 0 0 0 0 value hex 00 00 00 00 \
		$(printf '%02x %02x %02x %02x' $(($1 & 255)) $((($1 >> 8) & 255)) 0 0) $(printf '00 %.0s' $(seq 16))
}

# snap PORT N FILE: N snapshots of the connection's data, 0.1 s apart, one JSON line
# each, with the time taken (t, seconds)
snap() {
	for _ in $(seq "$2"); do
		ertt "$1" | jq -c --arg t "$(date +%s.%N)" '. + { t: ($t | tonumber) }' >>"$3"
		sleep 0.1
	done
}

# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# long_flight WMEM: a transfer without GSO (one segment per skb), clocked by
# a slow ACK path (a tbf on B's egress), with the sender's buffer (tcp_wmem max
# in A, WMEM bytes) bounding what it has in flight. Sets LAST to the last
# snapshot and RATIO to the median over snapshots of bytes_tx_in_marked_rtt /
# (rate * markedpkt_rtt), rate being the average over the snapshots: a flow
# sends rate * RTT bytes per RTT.
long_flight() {
	ip -n "$NS_A" link set "${ID}x" gso_max_segs 1
	ip netns exec "$NS_A" sysctl -qw net.ipv4.tcp_wmem="4096 $1 $1"
	ip netns exec "$NS_B" tc qdisc replace dev "${ID}y" root tbf rate 2mbit burst 3000 limit 1000000
	: >"$TMP/snaps"
	kh_client "$APP" "$TMP/c.out" 5201 --seconds 3.5 --hold 2 --cc cubic
	port="$(kh_wait_line "$TMP/c.out" local)"
	sleep 1
	snap "$port" 15 "$TMP/snaps"
	LAST="$(tail -1 "$TMP/snaps")"
	RATIO="$(jq -s -r '((.[-1].bytes_sent - .[0].bytes_sent) / (.[-1].t - .[0].t) / 1e6) as $rate |
		.[] | select(.markedpkt_rtt_us > 0) | .bytes_tx_in_marked_rtt / ($rate * .markedpkt_rtt_us)' \
		"$TMP/snaps" | median)"
	ip netns exec "$NS_A" ss -tin "sport = :$port"
	echo "last=$LAST"
	echo "unacked=$(ss_field "$port" unacked) median bytes_tx_in_marked_rtt / (rate * markedpkt_rtt) = $RATIO"
}

@test "a long flight without GSO (over 64 skbs) fits the ring" {
	# a 200 KB send buffer: at most ~138 segments of 1448 B in flight, over the
	# old 64-record ring and under the 192 records of the new one (300 KB could
	# reach 207 and overflow it)
	long_flight 200000
	# One run in about 15 overflowed (115 drops with cwnd 93; not explained, suspected
	# this machine's kernel skipping h_ertt_in on a run of ACKs): a ring too small for
	# the flight overflows every time, so a second connection decides.
	if [ "$(jq -r .queue_overflows <<<"$LAST")" -ne 0 ]; then
		echo "overflowed once, trying a second connection"
		long_flight 200000
	fi
	[ "$(jq -r .queue_overflows <<<"$LAST")" -eq 0 ]
	[ "$(jq -r .measurements <<<"$LAST")" -gt 20 ]
}

@test "a flight longer than the ring loses records, not the byte count of the marked RTT" {
	long_flight 4000000
	[ "$(jq -r .queue_overflows <<<"$LAST")" -gt 0 ]
	[ "$(jq -r .measurements <<<"$LAST")" -gt 20 ]
	# The bytes of the marked RTT are differences of the running count of bytes
	# sent, so that count must stay exact while the ring drops records: it lies
	# between two reads of the kernel's own count taken around it (within 0.1%).
	# (RATIO, printed above, only shows the scale: it swings from 0.5 to 2.5
	# between runs, the snapshot rate and the marked RTT drifting apart in
	# slow start over a growing queue.)
	before="$(ss_field "$port" bytes_sent)"
	counted="$(ertt "$port" | jq -r .bytes_sent)"
	after="$(ss_field "$port" bytes_sent)"
	echo "ss bytes_sent $before .. $after, h_ertt bytes_sent $counted"
	awk -v lo="$before" -v n="$counted" -v hi="$after" \
		'BEGIN { exit !(lo > 0 && n >= lo * 0.999 && n <= hi * 1.001) }'
}

@test "Karn: an RTO retransmission (timestamps off) gives no RTT sample" {
	ip netns exec "$NS_A" sysctl -qw net.ipv4.tcp_timestamps=0
	netem "$NS_B" "${ID}y"
	kh_client "$APP" "$TMP/c.out" 5201 --seconds 3 --hold 2 --cc cubic
	port="$(kh_wait_line "$TMP/c.out" local)"
	kh_until measuring "$port"
	before="$(ertt "$port")"
	# a blackhole from A to B for 500 ms: everything in flight is lost, and
	# only the RTO (200 ms, then 400 ms backed off) brings the flow back
	drop_every 1
	sleep 0.5
	drop_every 0
	snap "$port" 10 "$TMP/snaps"
	after="$(tail -1 "$TMP/snaps")"
	echo "before: $before"
	echo "after:  $after"
	retrans="$(ss_field "$port" retrans | cut -d/ -f2)"
	echo "retransmissions: $retrans"
	[ "${retrans:-0}" -gt 0 ]
	[ "$(jq -r .karn_skips <<<"$after")" -gt 0 ]
	# the RTO (>= 200 ms) shows in none of the RTTs; veth RTTs stay far below it
	[ "$(jq -r .maxrtt_us <<<"$after")" -lt 100000 ]
	maxmarked="$(jq -r .markedpkt_rtt_us "$TMP/snaps" | sort -n | tail -1)"
	echo "largest markedpkt_rtt_us after the RTO: $maxmarked"
	[ "$maxmarked" -lt 100000 ]
	[ "$(jq -r .measurements <<<"$after")" -gt "$(jq -r .measurements <<<"$before")" ]
}

@test "a forged ACK above snd_nxt is ignored" {
	kh_client "$APP" "$TMP/c.out" 5201 --seconds 3 --hold 1 --cc cubic
	port="$(kh_wait_line "$TMP/c.out" local)"
	kh_until measuring "$port"
	ip netns exec "$NS_B" python3 "$REPO/tests/tools/kh_forge_ack.py" "${ID}y" "$ADDR_A" "$port" "$ADDR_B" 5201 \
		$((0x7f000000)) 20 >"$TMP/forge.out"
	cat "$TMP/forge.out"
	grep -q forged "$TMP/forge.out"
	at="$(ertt "$port")"
	sleep 1
	later="$(ertt "$port")"
	echo "at:    $at"
	echo "later: $later"
	[ "$(jq -r .acks_invalid <<<"$later")" -ge 1 ]
	# measuring goes on at full rate: one sample per ACK or two
	[ "$(jq -r .samples <<<"$later")" -gt "$(($(jq -r .samples <<<"$at") + 5000))" ]
	[ "$(jq -r .measurements <<<"$later")" -gt "$(($(jq -r .measurements <<<"$at") + 1000))" ]
}

@test "sends whose options fill 40 bytes (timestamps + 3 SACK blocks) are counted, bytes stay exact" {
	# B -> A data, one segment per packet, loses every 20th segment: A
	# receives with holes, so its own data segments carry 3 SACK blocks
	# next to the timestamps
	ip -n "$NS_B" link set "${ID}y" gso_max_segs 1
	netem "$NS_A" "${ID}x"
	drop_every 20
	# B sends with bbr, which keeps its window up under loss: many holes at once
	ip netns exec "$NS_B" python3 "$REPO/tests/tools/kh_duplex.py" serve "$ADDR_B" 5301 bbr >"$TMP/dsrv.out" 2>&1 &
	PIDS+=("$!")
	kh_until grep -q listening "$TMP/dsrv.out"
	bash -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' _ "$APP" \
		ip netns exec "$NS_A" python3 "$REPO/tests/tools/kh_duplex.py" send "$ADDR_B" 5301 2 3 cubic >"$TMP/d.out" 2>&1 &
	PIDS+=("$!")
	port="$(kh_wait_line "$TMP/d.out" local)"
	kh_until grep -q done "$TMP/d.out"
	kh_until all_acked "$port"
	row="$(ertt "$port")"
	sent="$(ss_field "$port" bytes_sent)"
	echo "ss bytes_sent=$sent ertt=$row"
	[ "$(jq -r .tx_unseen <<<"$row")" -gt 0 ]
	# every byte sent is counted, the unseen ones included (within 0.1%)
	awk -v a="$(jq -r .bytes_sent <<<"$row")" -v b="$sent" 'BEGIN { exit !(b > 0 && a / b >= 0.999 && a / b <= 1.001) }'
	[ "$(jq -r .measurements <<<"$row")" -gt 100 ]
}
