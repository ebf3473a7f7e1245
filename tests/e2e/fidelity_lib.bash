# Congestion-control fidelity harness, shared by tests/e2e/fidelity.bats and
# bench/fidelity.sh. Source after tests/e2e/lib.bash and kh_setup.
#
# The path: netns A (sender) -- netns R (router) -- netns B (receiver).
#   A 198.18.0.1/30 = R 198.18.0.2/30 ; R 198.18.0.5/30 = B 198.18.0.6/30
# The bottleneck is R's port towards B: a tbf of FID_RATE_MBIT with a
# FID_QUEUE_MS drop-tail queue. It sits in another namespace than the sender
# on purpose: a qdisc on the sender's own device is capped by TCP Small
# Queues (about 1 ms of data per flow), so no CC could build a queue there.
# There is no netem, so every RTT above the veth's ~0.1 ms is queueing delay.
# khelp_netem (tests/tools/khelp_netem.bpf.c) adds, per flow:
#   - on R's egress, before the tbf: CE marks on ECT packets while a virtual
#     copy of the tbf queue holds more than FID_MARK_KB (DCTCP's K);
#   - on B's ingress, after the tbf: deterministic loss of every Nth TCP data
#     segment (fid_loss N; 0 = none).
# fid_flow runs one khtcp transfer and appends one line to $FID_RESULTS.

FID_RATE_MBIT="${FID_RATE_MBIT:-100}"
FID_QUEUE_MS="${FID_QUEUE_MS:-50}"
FID_MARK_KB="${FID_MARK_KB:-30}"
FID_SECONDS="${FID_SECONDS:-6}"
FID_SKIP="${FID_SKIP:-1}"		# seconds of each flow left out of RTT and goodput (slow start)
FID_SAMPLE="${FID_SAMPLE:-0.2}"		# ss sampling period, seconds
FID_NETEM_SRC="$REPO/tests/tools/khelp_netem.bpf.c"

# one line per flow, in this order
FID_FIELDS="label cc loss mbit goodput retrans rtt_med rtt_p10 rtt_p90 cwnd_med drops marks ecn samples"

# ---- topology ---------------------------------------------------------------

fid_topology() {
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
		set -- $l
		ip -n "$1" link set "$2" up
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

# the id of map NAME of the tc program on DEV (DIR ingress|egress) in netns NS
fid_map_id() {
	local ns="$1" dev="$2" dir="$3" name="$4" prog m
	prog="$(ip netns exec "$ns" tc filter show dev "$dev" "$dir" | grep -oE ' id [0-9]+' | awk '{ print $2; exit }')"
	[ -n "$prog" ] || { echo "no bpf filter on $dev $dir in $ns" >&2; return 1; }
	for m in $(bpftool -j prog show id "$prog" | jq -r '.map_ids[]'); do
		[ "$(bpftool -j map show id "$m" | jq -r .name)" = "$name" ] && { echo "$m"; return 0; }
	done
	echo "program $prog on $dev has no map $name" >&2
	return 1
}

# little-endian bytes of VALUE in WIDTH bytes
fid_le() {
	local v="$1" n="$2" i
	for ((i = 0; i < n; i++)); do printf '%02x ' $(((v >> (8 * i)) & 255)); done
}

# fid_netem_cfg MAP drop_every drop_ppm mark_every mark_backlog rate_Bps queue_limit (struct khn_cfg)
fid_netem_cfg() {
	local map="$1"
	# shellcheck disable=SC2046
	bpftool map update id "$map" key 0 0 0 0 value hex \
		$(fid_le "$2" 4) $(fid_le "$3" 4) $(fid_le "$4" 4) $(fid_le "$5" 4) $(fid_le "$6" 8) $(fid_le "$7" 8)
}

# zero a struct khn_stats (6 x __u64): restarts the drop_every count too
fid_netem_zero() { bpftool map update id "$1" key 0 0 0 0 value hex $(fid_le 0 48); }

# print field FIELD of the struct khn_stats in map MAP
fid_netem_stat() {
	bpftool -j map lookup id "$1" key 0 0 0 0 | jq -r --arg f "$2" '(.formatted.value // .value)[$f]'
}

# compile khelp_netem and attach it: marking on R's egress, loss on B's ingress
fid_bottleneck() {
	local obj="$TMP/khelp_netem.bpf.o" rate_Bps=$((FID_RATE_MBIT * 1000000 / 8))
	local limit=$((rate_Bps * FID_QUEUE_MS / 1000))

	clang-19 -g -O2 --target=bpf -D__TARGET_ARCH_x86 -mcpu=v3 -Wall -Werror \
		-I"$REPO" -I"$REPO/include" -idirafter /usr/include -idirafter /usr/include/x86_64-linux-gnu \
		-c "$FID_NETEM_SRC" -o "$obj"
	# burst below two segments: tbf splits every GSO packet, so what leaves R is
	# what a real link carries and the loss on B's ingress sees single segments
	ip netns exec "$NS_R" tc qdisc add dev "${ID}q" root tbf rate "${FID_RATE_MBIT}mbit" burst 2000 limit "$limit"
	ip netns exec "$NS_R" tc qdisc add dev "${ID}q" clsact
	ip netns exec "$NS_R" tc filter add dev "${ID}q" egress bpf da obj "$obj" sec tc
	ip netns exec "$NS_B" tc qdisc add dev "${ID}y" clsact
	ip netns exec "$NS_B" tc filter add dev "${ID}y" ingress bpf da obj "$obj" sec tc
	FID_MARK_CFG="$(fid_map_id "$NS_R" "${ID}q" egress khn_cfg)"
	FID_MARK_STATS="$(fid_map_id "$NS_R" "${ID}q" egress khn_stats)"
	FID_LOSS_CFG="$(fid_map_id "$NS_B" "${ID}y" ingress khn_cfg)"
	FID_LOSS_STATS="$(fid_map_id "$NS_B" "${ID}y" ingress khn_stats)"
	fid_netem_cfg "$FID_MARK_CFG" 0 0 0 $((FID_MARK_KB * 1000)) "$rate_Bps" "$limit"
	FID_LOSS=0
	echo "# bottleneck: tbf ${FID_RATE_MBIT}mbit, ${FID_QUEUE_MS} ms = $limit B drop-tail queue;" \
		"CE above a ${FID_MARK_KB} kB virtual backlog" >&3 2>/dev/null || true
}

# fid_loss N: drop every Nth TCP data segment after the bottleneck (0: none)
fid_loss() {
	FID_LOSS="$1"
	fid_netem_cfg "$FID_LOSS_CFG" "$1" 0 0 0 0 0
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
	local out="$TMP/flow.$label" lport retr0 retr1 n
	n="$(awk -v s="$FID_SECONDS" -v p="$FID_SAMPLE" 'BEGIN { print int(s / p) }')"

	fid_netem_zero "$FID_MARK_STATS"
	fid_netem_zero "$FID_LOSS_STATS"
	retr0="$(fid_nstat "$NS_A" TcpRetransSegs)"
	kh_client "$cg" "$out.khtcp" "$port" --seconds "$FID_SECONDS" --hold 1 "$@"
	lport="$(kh_wait_line "$out.khtcp" local)" || return 1
	ip netns exec "$NS_A" bash -c '
		for ((i = 0; i < $1; i++)); do
			echo "T $EPOCHREALTIME"
			ss -tinH state established "sport = :$2"
			sleep "$3"
		done' _ "$n" "$lport" "$FID_SAMPLE" >"$out.ss"
	kh_wait_line "$out.khtcp" sent >/dev/null || return 1
	# the last look, in the --hold second: final retransmits and ECN flags
	echo "T $EPOCHREALTIME" >>"$out.ss"
	ip netns exec "$NS_A" ss -tinH state established "sport = :$lport" >>"$out.ss"
	wait "$LAST_PID" || true
	retr1="$(fid_nstat "$NS_A" TcpRetransSegs)"
	awk -v label="$label" -v loss="$FID_LOSS" -v skip="$FID_SKIP" -v secs="$FID_SECONDS" \
		-v mbit="$(awk '$1 == "sent" { print $4 }' "$out.khtcp")" \
		-v retrans="$((retr1 - retr0))" \
		-v drops="$(fid_netem_stat "$FID_LOSS_STATS" dropped)" \
		-v marks="$(fid_netem_stat "$FID_MARK_STATS" marked)" '
		function quantile(a, n, q,   i, j, v) {	# of a[1..n], which it sorts in place
			for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > v + 0; j--) a[j + 1] = a[j]; a[j + 1] = v }
			return n ? a[int((n - 1) * q + 0.5) + 1] : -1
		}
		$1 == "T" { t = $2; if (!t0) t0 = t; next }
		/ rtt:/ {	# the info line of the sample taken at t
			rtt = cwnd = acked = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^(kh_|reno$|cubic$|bbr$|dctcp$|vegas$|htcp$)/ && !cc) cc = $i
				if ($i ~ /^rtt:/) { split(substr($i, 5), r, "/"); rtt = r[1] }
				if ($i ~ /^cwnd:/) cwnd = substr($i, 6)
				if ($i ~ /^bytes_acked:/) acked = substr($i, 13)
				if ($i == "ecn") ecn = "ecn"
			}
			if (t - t0 >= skip && t - t0 <= secs && rtt != "" && acked != "") {
				n++; rtts[n] = rtt; cwnds[n] = cwnd
				if (!ta) { ta = t; aa = acked }
				tb = t; ab = acked
			}
		}
		END {
			gp = tb > ta ? (ab - aa) * 8 / (tb - ta) / 1e6 : 0
			printf "%s %s %s %.1f %.1f %d %.3f %.3f %.3f %d %d %d %s %d\n", label, cc ? cc : "?", loss,
				mbit, gp, retrans, quantile(rtts, n, 0.5), quantile(rtts, n, 0.1), quantile(rtts, n, 0.9),
				quantile(cwnds, n, 0.5), drops, marks, ecn ? ecn : "-", n
		}' "$out.ss" >>"$FID_RESULTS"
	tail -n 1 "$FID_RESULTS" | sed 's/^/# /' >&3 2>/dev/null || true
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

# the results as a table
fid_table() {
	awk -v fields="$FID_FIELDS" '
		BEGIN {
			printf "%-12s %-10s %6s %7s %7s %7s %8s %8s %8s %6s %6s %6s %4s\n", "flow", "cc", "loss",
				"Mbit/s", "goodput", "retrans", "rtt_p50", "rtt_p10", "rtt_p90", "cwnd", "drops", "marks", "ecn"
		}
		{ printf "%-12s %-10s %6s %7s %7s %7s %8s %8s %8s %6s %6s %6s %4s\n", $1, $2, $3 ? "1/" $3 : "tail",
			$4, $5, $6, $7, $8, $9, $10, $11, $12, $13 }' "$FID_RESULTS"
}

# ---- khelpd containers ------------------------------------------------------

# fid_container NAME CC [KEY=VALUE...]: a cgroup and a policy selecting CC
fid_container() {
	local name="$1" cc="$2" cg
	shift 2
	cg="$(kh_cgroup "$name")"
	{
		printf '[container]\ncgroup = %s\n[tcp]\ncongestion = %s\n' "${cg#$CGROOT/}" "$cc"
		if [ $# -gt 0 ]; then
			printf '[%s]\n' "$cc"
			printf '%s\n' "$@" | sed 's/=/ = /'
		fi
	} >"$TMP/policies/$name.conf.tmp"
	mv "$TMP/policies/$name.conf.tmp" "$TMP/policies/$name.conf"
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
	[ -n "${NS_R:-}" ] && ip netns del "$NS_R" 2>/dev/null
	kh_teardown
}
