# khelp end-to-end fixture: a private khelpd (own config, module and policy
# directories, bpffs subtree, socket), two network namespaces joined by veth
# (198.18.0.0/15 only) and cgroups, all named by one id and all removed in
# teardown, even when the test fails. Source it from a .bats file.

# `run !` (a command that must fail) needs bats 1.5 (only under bats: bench/ sources this too)
if declare -F bats_require_minimum_version >/dev/null; then
	bats_require_minimum_version 1.5.0
fi

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${OUTPUT:-$REPO/.output}"
KHELPD="$OUT/bin/khelpd"
KHELPCTL="$OUT/bin/khelpctl"
KHTCP="$OUT/bin/khtcp"
MODS="$OUT/modules"
TESTMODS="$OUT/testmodules"
CGROOT="$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)"

# one id per test: short, because interface names are at most 15 chars
kh_id() { printf 'k%x%x' "$$" "$((RANDOM % 4096))"; }

kh_setup() {
	ID="$(kh_id)"
	TMP="$(mktemp -d "/tmp/khelp-test.$ID.XXXX")"
	BPFFS="/sys/fs/bpf/khelp-test-$ID"
	CG="$CGROOT/khelp-test-$ID"
	NS_A="${ID}a"
	NS_B="${ID}b"
	ADDR_A=198.18.0.1
	ADDR_B=198.18.0.2
	PIDS=()
	mkdir -p "$TMP/modules" "$TMP/policies" "$CG"
	export KHELP_SOCKET="$TMP/khelpd.sock"
	cat >"$TMP/khelpd.conf" <<CONF
[paths]
modules = $TMP/modules
policies = $TMP/policies
bpffs = $BPFFS
socket = $TMP/khelpd.sock

[daemon]
stats = yes
CONF
	echo "# fixture $ID: tmp $TMP, bpffs $BPFFS, cgroup $CG" 2>/dev/null >&3 || true
}

kh_netns() {
	ip netns add "$NS_A"
	ip netns add "$NS_B"
	ip link add "${ID}x" type veth peer name "${ID}y"
	ip link set "${ID}x" netns "$NS_A"
	ip link set "${ID}y" netns "$NS_B"
	ip -n "$NS_A" addr add "$ADDR_A/30" dev "${ID}x"
	ip -n "$NS_B" addr add "$ADDR_B/30" dev "${ID}y"
	ip -n "$NS_A" link set "${ID}x" up
	ip -n "$NS_B" link set "${ID}y" up
	ip -n "$NS_A" link set lo up
	ip -n "$NS_B" link set lo up
}

# kh_cgroup NAME: a cgroup under the test's own cgroup
kh_cgroup() { mkdir -p "$CG/$1"; echo "$CG/$1"; }

# the usual per-test fixture: private khelpd paths, two namespaces, cgroup "app"
kh_setup_app() {
	kh_setup
	kh_netns
	APP="$(kh_cgroup app)"
}

kh_start() {
	"$KHELPD" --config "$TMP/khelpd.conf" "$@" >"$TMP/khelpd.log" 2>&1 &
	KHELPD_PID=$!
	PIDS+=("$KHELPD_PID")
	for _ in $(seq 100); do
		[ -S "$TMP/khelpd.sock" ] && "$KHELPCTL" status >/dev/null 2>&1 && return 0
		kill -0 "$KHELPD_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "khelpd did not start:" >&2
	cat "$TMP/khelpd.log" >&2
	return 1
}

kh_stop() {
	if [ -n "${KHELPD_PID:-}" ] && kill -0 "$KHELPD_PID" 2>/dev/null; then
		kill "$KHELPD_PID"
		wait "$KHELPD_PID" 2>/dev/null || true
	fi
	KHELPD_PID=
}

# kh_server: a khtcp server in netns B on PORT (default 5201)
kh_server() {
	ip netns exec "$NS_B" "$KHTCP" serve "$ADDR_B" "${1:-5201}" >"$TMP/server.${1:-5201}.log" 2>&1 &
	PIDS+=("$!")
	for _ in $(seq 50); do
		grep -q listening "$TMP/server.${1:-5201}.log" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# kh_client CGROUP|- OUTFILE ARGS...: khtcp send from netns A, inside CGROUP ("-": outside), in the background
kh_client() {
	local cg="$1" out="$2"
	shift 2
	if [ "$cg" = "-" ]; then
		ip netns exec "$NS_A" "$KHTCP" send "$ADDR_B" "$@" >"$out" 2>&1 &
	else
		# join the cgroup first: `ip netns exec` remounts /sys and hides the cgroup mount
		bash -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' _ \
			"$cg" ip netns exec "$NS_A" "$KHTCP" send "$ADDR_B" "$@" >"$out" 2>&1 &
	fi
	PIDS+=("$!")
	LAST_PID=$!
}

# wait until FILE has a line starting with WORD; print its second field
kh_wait_line() {
	for _ in $(seq 100); do
		local v
		v="$(awk -v w="$2" '$1 == w { print $2; exit }' "$1" 2>/dev/null)"
		[ -n "$v" ] && { echo "$v"; return 0; }
		sleep 0.05
	done
	echo "no '$2' line in $1: $(cat "$1" 2>/dev/null)" >&2
	return 1
}

kh_policy() { cat >"$TMP/policies/$1.conf"; }

# kh_write_policy NAME CGROUP_DIR TCP_LINE [LINE...]: a policy file, written atomically
# (rename), e.g. kh_write_policy web "$APP" "helpers = kt_conn" "[kt_conn]" "weight = 9"
kh_write_policy() {
	local name="$1" cg="$2" tcp="$3"
	shift 3
	{
		printf '[container]\ncgroup = %s\n[tcp]\n%s\n' "${cg#$CGROOT/}" "$tcp"
		for line in "$@"; do printf '%s\n' "$line"; done
	} >"$TMP/policies/.$name.conf.tmp"
	mv "$TMP/policies/.$name.conf.tmp" "$TMP/policies/$name.conf"
}

# kh_modules_of CONTAINER: its attached modules as compact JSON; kh_wait_modules CONTAINER JSON
kh_modules_of() { "$KHELPCTL" -j containers | jq -c --arg n "$1" '.[] | select(.name == $n) | .modules'; }
kh_wait_modules() {
	kh_until bash -c "[ \"\$('$KHELPCTL' -j containers | jq -c --arg n '$1' '.[] | select(.name == \$n) | .modules')\" = '$2' ]"
}

# kh_prog MODULE [PIN]: bpftool's JSON for this khelpd's program of MODULE (by pin, not by
# name: other khelpds may have loaded a module of the same name)
kh_prog() { bpftool -j prog show pinned "$BPFFS/modules/$1/${2:-sockops}"; }

# kh_bss MODULE: the module's global variables (its .bss), through its pinned init program
kh_bss() {
	local id
	for id in $(kh_prog "$1" init | jq '.map_ids[]'); do
		bpftool -j map show id "$id" | jq -e '.name | endswith(".bss")' >/dev/null &&
			bpftool -j map dump id "$id" | jq -c '.[0].formatted.datasec[0] // .[0].formatted // .[0]' && return 0
	done
	return 1
}

# cg_progs CGROUP: how many programs are attached to it (bpftool prints nothing for none)
cg_progs() { bpftool -j cgroup show "$1" | jq -s 'add // [] | length'; }

# kh_until [-t SECONDS] COMMAND...: wait until COMMAND (a function too) succeeds, polling
# every 50 ms, up to SECONDS (default 5); then run it once more with its output shown and
# return its status, so a condition that never came true fails the test with the reason
kh_until() {
	local secs=5
	if [ "$1" = -t ]; then
		secs=$2
		shift 2
	fi
	local end=$((SECONDS + secs))
	while [ "$SECONDS" -lt "$end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	"$@"
}

kh_teardown() {
	local status=$?
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	# server children (one per accepted connection) are in netns B: kill them by netns
	for ns in "$NS_A" "$NS_B"; do
		[ -n "$ns" ] || continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || true
	done
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -f "$TMP/khelpd.log" ]; then
		echo "--- khelpd log ---" 2>/dev/null >&3 || true
		sed 's/^/# /' "$TMP/khelpd.log" 2>/dev/null >&3 || true
	fi
	[ -n "${BPFFS:-}" ] && rm -rf "$BPFFS"
	if [ -n "${CG:-}" ] && [ -d "$CG" ]; then
		find "$CG" -depth -type d -exec rmdir {} \; 2>/dev/null || true
	fi
	[ -n "${TMP:-}" ] && rm -rf "$TMP"
	return $status
}

