# Congestion-control fidelity harness, shared by tests/e2e/fidelity.bats and
# bench/fidelity.sh. Source after tests/e2e/lib.bash; call after kh_setup (ID,
# TMP, NS_A, NS_B, ADDR_A come from there).
# shellcheck disable=SC2153
#
# The path: netns A (sender) -- netns R (router) -- netns B (receiver).
#   A 198.18.0.1/30 = R 198.18.0.2/30 ; R 198.18.0.5/30 = B 198.18.0.6/30
# The bottleneck is R's port towards B: a tbf of FID_RATE_MBIT with a
# FID_QUEUE_MS drop-tail queue. It sits in another namespace than the sender
# on purpose: a qdisc on the sender's own device is capped by TCP Small
# Queues (about 1 ms of data per flow), so no CC could build a queue there.
# There is no netem, so every RTT above the veth's ~0.1 ms is queueing delay.
# khelp_netem (tests/tools/khelp_netem.bpf.c) stamps packets as they join
# the tbf (R's egress) and, on B's ingress behind it:
#   - sets CE on ECT segments that sat in the queue longer than FID_MARK_US
#     (DCTCP's K; only CCs that negotiate ECN see it, see fid_topology);
#   - drops every Nth TCP data segment (fid_loss N; 0 = none).
# and a tracing program of the same file counts ACKs that found a socket's
# ssthresh above TCP_INFINITE_SSTHRESH. This machine's kernel build skips BPF
# program runs in some task contexts; when it skips a struct_ops op that
# returns a value (a BPF CC's ssthresh()), the trampoline returns a stack slot
# it never wrote (0x81104110), TCP stores it, and the flow bursts into a full
# queue. Upstream Linux runs every op. That is not what a module does, so
# fid_flow_clean re-runs such flows (FID_TRIES attempts) and the table keeps
# the discarded ones. The tracing program is skipped in the same contexts,
# so its count is a lower bound.
# fid_flow runs one khtcp transfer and appends one line to $FID_RESULTS.

FID_RATE_MBIT="${FID_RATE_MBIT:-100}"
FID_QUEUE_MS="${FID_QUEUE_MS:-50}"
FID_MARK_US="${FID_MARK_US:-2000}"
FID_SECONDS="${FID_SECONDS:-6}"
FID_SKIP="${FID_SKIP:-1}"		# seconds of each flow left out of RTT and goodput (slow start)
FID_SAMPLE="${FID_SAMPLE:-0.2}"		# ss sampling period, seconds
FID_TRIES="${FID_TRIES:-3}"		# attempts of fid_flow_clean
FID_NETEM_SRC="$REPO/tests/tools/khelp_netem.bpf.c"

# one line per flow, in this order
FID_FIELDS="label cc loss mbit goodput retrans ss_retrans qdrops drops marks ce rtt_med rtt_p10 rtt_p90 cwnd_med samples sojourn_max bad_ssthresh"

# ---- topology ---------------------------------------------------------------

fid_topology() {
	local l ns dev

	NS_R="${ID}r"
	ADDR_B=198.18.0.6
	ip netns add "$NS_A"
	ip netns add "$NS_R"
	ip netns add "$NS_B"
	ip link add "${ID}x" type veth peer name "${ID}p"
	ip link add "${ID}q" type veth peer name "${ID}y"
	ip link set "${ID}x" netns "$NS_A"
	ip link set "${ID}p" netns "$NS_R"
	ip link set "${ID}q" netns "$NS_R"
	ip link set "${ID}y" netns "$NS_B"
	ip -n "$NS_A" addr add "$ADDR_A/30" dev "${ID}x"
	ip -n "$NS_R" addr add 198.18.0.2/30 dev "${ID}p"
	ip -n "$NS_R" addr add 198.18.0.5/30 dev "${ID}q"
	ip -n "$NS_B" addr add "$ADDR_B/30" dev "${ID}y"
	for l in "$NS_A ${ID}x" "$NS_R ${ID}p" "$NS_R ${ID}q" "$NS_B ${ID}y" "$NS_A lo" "$NS_R lo" "$NS_B lo"; do
		read -r ns dev <<<"$l"
		ip -n "$ns" link set "$dev" up
	done
	ip -n "$NS_A" route add 198.18.0.4/30 via 198.18.0.2
	ip -n "$NS_B" route add 198.18.0.0/30 via 198.18.0.5
	ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1
	# ECN: the receiver accepts it; the sender uses it only where the CC asks
	# for it (kh_dctcp sets TCP_CONG_NEEDS_ECN), so the same CE marking stays
	# on for every flow and only the CCs that negotiate ECN see it
	ip netns exec "$NS_B" sysctl -qw net.ipv4.tcp_ecn=1
	ip netns exec "$NS_A" sysctl -qw net.ipv4.tcp_ecn=2
}

# ---- khelp_netem ------------------------------------------------------------

# the id of map NAME (as the kernel keeps it: 15 chars) of program PROG
fid_prog_map() {
	local m
	for m in $(bpftool -j prog show id "$1" | jq -r '.map_ids[]'); do
		[ "$(bpftool -j map show id "$m" | jq -r .name)" = "$2" ] && { echo "$m"; return 0; }
	done
	echo "program $1 has no map $2" >&2
	return 1
}

# the id of map NAME of the tc program on DEV (DIR ingress|egress) in netns NS
fid_map_id() {
	local ns="$1" dev="$2" dir="$3" name="$4" prog
	prog="$(ip netns exec "$ns" tc filter show dev "$dev" "$dir" | grep -oE ' id [0-9]+' | awk '{ print $2; exit }')"
	[ -n "$prog" ] || { echo "no bpf filter on $dev $dir in $ns" >&2; return 1; }
	fid_prog_map "$prog" "$name"
}

# little-endian bytes of VALUE in WIDTH bytes
fid_le() {
	local v="$1" n="$2" i
	for ((i = 0; i < n; i++)); do printf '%02x ' $(((v >> (8 * i)) & 255)); done
}

# fid_netem_cfg MAP stamp drop_every drop_ppm mark_every mark_sojourn_us (struct khn_cfg)
fid_netem_cfg() {
	local map="$1" v cfg="" i
	shift
	for ((i = $#; i < 6; i++)); do set -- "$@" 0; done	# the rest, and the padding, zero
	for v in "$@"; do cfg="$cfg $(fid_le "$v" 4)"; done
	# shellcheck disable=SC2086
	bpftool map update id "$map" key 0 0 0 0 value hex $cfg
}

# zero struct khn_stats (7 x __u64) behind the queue: restarts the drop_every count
fid_netem_zero() {
	# shellcheck disable=SC2046
	bpftool map update id "$FID_NETEM_STATS" key 0 0 0 0 value hex $(fid_le 0 56)
}

# field FIELD of struct khn_stats behind the queue
fid_netem_stat() {
	bpftool -j map lookup id "$FID_NETEM_STATS" key 0 0 0 0 | jq -r --arg f "$1" '(.formatted.value // .value)[$f]'
}

# tail drops of the tbf so far
fid_qdrops() {
	ip netns exec "$NS_R" tc -s qdisc show dev "${ID}q" | awk '$1 == "qdisc" { q = $2 } q == "tbf" && /dropped/ { gsub(",", "", $7); print $7; exit }'
}

# the bottleneck: a tbf on R's port towards B; khelp_netem before it (stamps)
# and behind it (loss, CE)
fid_bottleneck() {
	local obj="$TMP/khelp_netem.bpf.o" limit=$((FID_RATE_MBIT * 1000000 * FID_QUEUE_MS / 8000))

	clang-19 -g -O2 --target=bpf -D__TARGET_ARCH_x86 -mcpu=v3 -Wall -Werror \
		-I"$REPO" -I"$REPO/include" -idirafter /usr/include -idirafter /usr/include/x86_64-linux-gnu \
		-c "$FID_NETEM_SRC" -o "$obj"
	# burst below two segments (2 x 1514 B): tbf splits every GSO packet, so B
	# receives single segments and the loss hits one segment at a time
	ip netns exec "$NS_R" tc qdisc add dev "${ID}q" root tbf rate "${FID_RATE_MBIT}mbit" burst 2900 limit "$limit"
	ip netns exec "$NS_R" tc qdisc add dev "${ID}q" clsact
	ip netns exec "$NS_R" tc filter add dev "${ID}q" egress bpf da obj "$obj" sec tc
	ip netns exec "$NS_B" tc qdisc add dev "${ID}y" clsact
	ip netns exec "$NS_B" tc filter add dev "${ID}y" ingress bpf da obj "$obj" sec tc
	fid_netem_cfg "$(fid_map_id "$NS_R" "${ID}q" egress khn_cfg)" 1
	FID_NETEM_CFG="$(fid_map_id "$NS_B" "${ID}y" ingress khn_cfg)"
	FID_NETEM_STATS="$(fid_map_id "$NS_B" "${ID}y" ingress khn_stats)"
	fid_loss 0
	# the ssthresh watch: a tracing program, attached (and pinned) by bpftool
	FID_PINS="$BPFFS-netem"
	mkdir -p "$FID_PINS"
	bpftool prog loadall "$obj" "$FID_PINS" autoattach >"$TMP/watch.log" 2>&1 ||
		{ cat "$TMP/watch.log" >&2; return 1; }
	FID_WATCH_MAP="$(fid_prog_map "$(bpftool -j link show pinned "$FID_PINS/khn_ssthresh_watch" | jq -r .prog_id)" \
		khn_bad_ssthres)"
	FID_CWND_MAP="$(fid_prog_map "$(bpftool -j link show pinned "$FID_PINS/khn_cwnd_watch" | jq -r .prog_id)" \
		khn_cwnd_track)"
	echo "# bottleneck: tbf ${FID_RATE_MBIT} Mbit/s with a ${FID_QUEUE_MS} ms ($limit B) drop-tail queue;" \
		"CE on ECT segments queued > ${FID_MARK_US} us" >&3 2>/dev/null || true
}

# fid_loss N: drop every Nth TCP data segment behind the bottleneck (0: none)
fid_loss() {
	FID_LOSS="$1"
	fid_netem_cfg "$FID_NETEM_CFG" 0 "$1" 0 0 "$FID_MARK_US"
}

# ---- flows ------------------------------------------------------------------

# an absolute counter of netns NS (nstat -s: no history file, which would be
# shared between namespaces)
fid_nstat() { ip netns exec "$1" nstat -asz "$2" | awk -v c="$2" '$1 == c { print $2 }'; }

# fid_flow LABEL CGROUP|- PORT [khtcp send options]: one transfer of FID_SECONDS
# from A to B, ss sampled every FID_SAMPLE s; appends a $FID_FIELDS line to $FID_RESULTS
fid_flow() {
	local label="$1" cg="$2" port="$3"
	shift 3
	local out="$TMP/flow.$label" lport retr0 retr1 q0 q1 n
	n="$(awk -v s="$FID_SECONDS" -v p="$FID_SAMPLE" 'BEGIN { print int(s / p) }')"

	fid_netem_zero
	retr0="$(fid_nstat "$NS_A" TcpRetransSegs)"
	q0="$(fid_qdrops)"
	kh_client "$cg" "$out.khtcp" "$port" --seconds "$FID_SECONDS" --hold 1 "$@" 3>&-
	lport="$(kh_wait_line "$out.khtcp" local)" || return 1
	# shellcheck disable=SC2016 # the sampler's own arguments
	ip netns exec "$NS_A" bash -c '
		for ((i = 0; i < $1; i++)); do
			echo "T $EPOCHREALTIME"
			ss -tinH state established "sport = :$2"
			sleep "$3"
		done' _ "$n" "$lport" "$FID_SAMPLE" >"$out.ss"
	kh_wait_line "$out.khtcp" sent >/dev/null || return 1
	# the last look, in the --hold second: the final retransmit and CE counts
	echo "T $EPOCHREALTIME" >>"$out.ss"
	ip netns exec "$NS_A" ss -tinH state established "sport = :$lport" >>"$out.ss"
	wait "$LAST_PID" || true
	retr1="$(fid_nstat "$NS_A" TcpRetransSegs)"
	q1="$(fid_qdrops)"
	awk -v label="$label" -v loss="$FID_LOSS" -v skip="$FID_SKIP" -v secs="$FID_SECONDS" \
		-v mbit="$(awk '$1 == "sent" { print $4 }' "$out.khtcp")" \
		-v retrans="$((retr1 - retr0))" -v qdrops="$((q1 - q0))" \
		-v drops="$(fid_netem_stat dropped)" -v marks="$(fid_netem_stat marked)" \
		-v sojourn="$(fid_netem_stat max_sojourn_us)" -v bad="$(fid_bad_ssthresh "$lport")" '
		function quantile(a, n, q,   i, j, v) {	# of a[1..n], which it sorts in place
			for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > v + 0; j--) a[j + 1] = a[j]; a[j + 1] = v }
			return n ? a[int((n - 1) * q + 0.5) + 1] : -1
		}
		$1 == "T" { t = $2; if (!t0) t0 = t; next }
		/ rtt:/ {	# the info line of the sample taken at t
			rtt = cwnd = acked = ""; tot = 0
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^(kh_|reno$|cubic$|bbr$|dctcp$|vegas$|htcp$)/ && !cc) cc = $i
				if ($i ~ /^rtt:/) { split(substr($i, 5), r, "/"); rtt = r[1] }
				if ($i ~ /^cwnd:/) cwnd = substr($i, 6)
				if ($i ~ /^bytes_acked:/) acked = substr($i, 13)
				if ($i ~ /^retrans:/) { split(substr($i, 9), r, "/"); tot = r[2] }
				if ($i ~ /^delivered_ce:/) ce = substr($i, 14)	# deliveries ACKed with ECE
			}
			last_tot = tot
			if (t - t0 >= skip && t - t0 <= secs && rtt != "" && acked != "") {
				n++; rtts[n] = rtt; cwnds[n] = cwnd
				if (!ta) { ta = t; aa = acked; tot_a = tot }
				tb = t; ab = acked
			}
		}
		END {
			gp = tb > ta ? (ab - aa) * 8 / (tb - ta) / 1e6 : 0
			printf "%s %s %s %.1f %.1f %d %d %d %d %d %d %.3f %.3f %.3f %d %d %.1f %d\n", label, cc ? cc : "?", loss,
				mbit, gp, retrans, last_tot - tot_a, qdrops, drops, marks, ce + 0,
				quantile(rtts, n, 0.5), quantile(rtts, n, 0.1), quantile(rtts, n, 0.9),
				quantile(cwnds, n, 0.5), n, sojourn / 1000, bad
		}' "$out.ss" >>"$FID_RESULTS"
	tail -n 1 "$FID_RESULTS" | sed 's/^/# /' >&3 2>/dev/null || true
}

# fid_rto_flow LABEL CGROUP|- PORT [khtcp send options]: a FID_RTO_SECONDS
# transfer through the bottleneck (at the current fid_loss), during which every data
# segment is dropped behind the queue for FID_RTO_BLACKOUT_MS, FID_RTO_AT s in:
# what was in flight and the tail-loss probe are lost, nothing comes back, and
# the retransmission timeout fires after the blackout (RTO >= 200 ms + srtt,
# re-armed by the probe), so the timeout is real (not undone) and its
# retransmission gets through. By FID_RTO_AT the flow left slow start (through
# a loss or the queue's overflow) and is in congestion avoidance.
# Appends "label cc rtos rto_ssthresh rto_prior_cwnd max_ca_step_rto
# max_ca_step bad_ssthresh" (khn_cwnd_watch, packets) to $FID_RTO_RESULTS.
FID_RTO_SECONDS="${FID_RTO_SECONDS:-3}"
FID_RTO_AT="${FID_RTO_AT:-1.5}"
FID_RTO_BLACKOUT_MS="${FID_RTO_BLACKOUT_MS:-150}"
fid_rto_flow() {
	local label="$1" cg="$2" port="$3"
	shift 3
	local out="$TMP/rto.$label" lport cc

	fid_netem_zero
	kh_client "$cg" "$out.khtcp" "$port" --seconds "$FID_RTO_SECONDS" --hold 0.2 "$@" 3>&-
	lport="$(kh_wait_line "$out.khtcp" local)" || return 1
	if [ -n "${FID_RTO_TRACE:-}" ]; then	# debugging: ss samples every 40 ms in $out.ss
		# shellcheck disable=SC2016
		ip netns exec "$NS_A" bash -c 'for ((i = 0; i < 100; i++)); do echo "T $EPOCHREALTIME"; ss -tinH state established "sport = :$1"; sleep 0.04; done' _ "$lport" >"$out.ss" &
	fi
	# timing within the flow, not synchronisation: the blackout's place
	sleep "$FID_RTO_AT"
	fid_netem_cfg "$FID_NETEM_CFG" 0 0 "$KHN_PPM_ALL" 0 "$FID_MARK_US"
	sleep "$(awk -v m="$FID_RTO_BLACKOUT_MS" 'BEGIN { print m / 1000 }')"
	fid_netem_cfg "$FID_NETEM_CFG" 0 "$FID_LOSS" 0 0 "$FID_MARK_US"
	cc="$(ip netns exec "$NS_A" ss -tinH state established "sport = :$lport" | grep -oE '(kh_[a-z]+|reno|cubic)' | head -n 1)"
	kh_wait_line "$out.khtcp" sent >/dev/null || kh_wait_line "$out.khtcp" sent >/dev/null || return 1
	wait "$LAST_PID" || true
	# shellcheck disable=SC2046 # the key's bytes
	bpftool -j map lookup id "$FID_CWND_MAP" key hex $(fid_le "$lport" 2) |
		jq -r --arg l "$label" --arg cc "${cc:-?}" --arg bad "$(fid_bad_ssthresh "$lport")" \
			'(.formatted.value // .value) | "\($l) \($cc) \(.rtos) \(.rto_ssthresh) \(.rto_prior_cwnd) \(.max_ca_step_rto) \(.max_ca_step) \($bad)"' \
			>>"$FID_RTO_RESULTS"
	tail -n 1 "$FID_RTO_RESULTS" | sed 's/^/# rto: /' >&3 2>/dev/null || true
}
KHN_PPM_ALL=1000000

# fid_rto_flow_clean LABEL ...: fid_rto_flow, again (FID_TRIES attempts) while
# this machine's kernel hands the flow an unwritten ssthresh; the hit attempts
# stay in $FID_RTO_RESULTS as LABEL~N
fid_rto_flow_clean() {
	local label="$1" try
	shift
	for ((try = 1; try <= FID_TRIES; try++)); do
		fid_rto_flow "$label" "$@" || return 1
		[ "$(fid_rto_get "$label" bad_ssthresh)" -eq 0 ] && return 0
		[ "$try" -eq "$FID_TRIES" ] && return 0
		sed -i "s/^$label /$label~$try /" "$FID_RTO_RESULTS"
	done
}

# FIELD (rtos rto_ssthresh rto_prior_cwnd max_ca_step_rto max_ca_step bad_ssthresh) of RTO flow LABEL
fid_rto_get() {
	awk -v l="$1" -v f="$2" '
		BEGIN { n = split("label cc rtos rto_ssthresh rto_prior_cwnd max_ca_step_rto max_ca_step bad_ssthresh", names, " ")
			for (i = 1; i <= n; i++) col[names[i]] = i }
		$1 == l { print $col[f]; exit }' "$FID_RTO_RESULTS"
}

# ACKs the ssthresh watch counted for local port PORT
fid_bad_ssthresh() {
	local n
	# shellcheck disable=SC2046 # the key's bytes
	n="$(bpftool -j map lookup id "$FID_WATCH_MAP" key hex $(fid_le "$1" 2) 2>/dev/null | jq -r '.formatted.value // 0' 2>/dev/null)"
	echo "${n:-0}"
}

# fid_flow_clean LABEL ...: fid_flow, again (up to FID_TRIES attempts) while the
# kernel's ssthresh corruption hits the flow; the hit attempts stay in the
# results as LABEL~1, LABEL~2, ...
fid_flow_clean() {
	local label="$1" try
	shift
	for ((try = 1; try <= FID_TRIES; try++)); do
		fid_flow "$label" "$@" || return 1
		[ "$(fid_get "$label" bad_ssthresh)" -eq 0 ] && return 0
		[ "$try" -eq "$FID_TRIES" ] && return 0	# keep the last: the tests see it
		sed -i "s/^$label /$label~$try /" "$FID_RESULTS"
	done
}

# FIELD of the result line LABEL
fid_get() {
	awk -v l="$1" -v f="$2" -v fields="$FID_FIELDS" '
		BEGIN { n = split(fields, names, " "); for (i = 1; i <= n; i++) col[names[i]] = i }
		$1 == l { print $col[f]; exit }' "$FID_RESULTS"
}

# a / b with 2 decimals
fid_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f\n", a / b; else print "inf" }'; }

# is a / b within [lo, hi]?
fid_within() { awk -v a="$1" -v b="$2" -v lo="$3" -v hi="$4" 'BEGIN { exit !(b > 0 && a / b >= lo && a / b <= hi) }'; }

# the results as a table: sent = khtcp's Mbit/s (bytes written / time), goodput =
# Mbit/s ACKed after the first FID_SKIP s, retrans = TcpRetransSegs of A (steady:
# after FID_SKIP s), qdrops = tbf tail drops, drops/marks = khelp_netem's, ce =
# deliveries ACKed with ECE, rtt in ms (ss srtt samples), cwnd in packets (median),
# sojmax = the longest time a segment spent in the tbf queue (ms), badss = ACKs
# that found ssthresh > TCP_INFINITE_SSTHRESH (flows named LABEL~N were re-run)
fid_table() {
	awk '
		BEGIN {
			f = "%-12s %-10s %6s %6s %7s %7s %6s %6s %6s %6s %6s %8s %8s %8s %5s %7s %6s\n"
			printf f, "flow", "cc", "loss", "sent", "goodput", "retrans", "steady", "qdrops", "drops",
				"marks", "ce", "rtt_p50", "rtt_p10", "rtt_p90", "cwnd", "sojmax", "badss"
		}
		{ printf f, $1, $2, $3 ? "1/" $3 : "none", $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $17, $18 }' "$FID_RESULTS"
}

# ---- khelpd containers ------------------------------------------------------

# fid_container NAME CC [EXTRA]: a cgroup and a policy that makes CC its
# default; EXTRA (e.g. "[kh_newreno]\nbeta = 70") is appended to the policy
fid_container() {
	local cg

	cg="$(kh_cgroup "$1")"
	printf '[container]\ncgroup = %s\n[tcp]\ncongestion = %s\n%b\n' "${cg#"$CGROOT"/}" "$2" "${3:-}" \
		>"$TMP/policies/$1.conf.tmp"
	mv "$TMP/policies/$1.conf.tmp" "$TMP/policies/$1.conf"
}

fid_wait_active() {
	kh_until bash -c "'$KHELPCTL' -j containers | jq -e --arg n '$1' '.[] | select(.name == \$n and .state == \"active\" and .error == null)'"
}

# wait (up to 90 s) until no other khelpd holds the CC names we register:
# tcp_congestion_ops names are global, whatever netns or bpffs a daemon uses
fid_wait_names_free() {
	local cc busy
	for _ in $(seq 180); do
		busy=
		for cc in "$@"; do
			grep -qw "$cc" /proc/sys/net/ipv4/tcp_available_congestion_control && busy="$busy $cc"
		done
		[ -z "$busy" ] && return 0
		sleep 0.5
	done
	echo "CC names registered by another khelpd for 90 s:$busy" >&2
	return 1
}

fid_teardown() {
	[ -n "${FID_PINS:-}" ] && rm -rf "$FID_PINS"
	[ -n "${NS_R:-}" ] && ip netns del "$NS_R" 2>/dev/null
	kh_teardown
}
