#!/usr/bin/env bash
# Module load and attach latency, from file drop to active in every
# container, for 1, 100 and 1000 containers; policy apply latency; khelpd's
# memory at each size.
set -eu
. "$(dirname "$0")/../tests/e2e/lib.bash"
SIZES="${SIZES:-1 100 1000}"

now_ms() { date +%s%3N; }
active() { "$KHELPCTL" -j containers | jq '[.[] | select(.state == "active" and (.modules | length) > 0)] | length'; }

printf '%-11s %18s %18s %14s\n' containers "drop->active (ms)" "per container (ms)" "khelpd RSS (MB)"
for n in $SIZES; do
	kh_setup
	trap kh_teardown EXIT
	for i in $(seq "$n"); do
		mkdir -p "$CG/c$i"
		printf '[container]\ncgroup = %s\n[tcp]\nhelpers = h_ertt\n' "${CG#$CGROOT/}/c$i" >"$TMP/policies/c$i.conf"
	done
	kh_start
	t0="$(now_ms)"
	cp "$MODS/h_ertt.bpf.o" "$TMP/modules/.h_ertt.tmp"
	mv "$TMP/modules/.h_ertt.tmp" "$TMP/modules/h_ertt.bpf.o"
	until [ "$(active)" -eq "$n" ]; do sleep 0.01; done
	t1="$(now_ms)"
	rss="$(awk '/VmRSS/ { print $2 / 1024 }' "/proc/$KHELPD_PID/status")"
	printf '%-11d %18d %18.2f %14.1f\n' "$n" $((t1 - t0)) "$(echo "($t1 - $t0) / $n" | bc -l)" "$rss"
	kh_stop
	kh_teardown
	trap - EXIT
done
