#!/usr/bin/env bats
# make install into a DESTDIR, then use it as installed: in a private mount
# namespace the DESTDIR's /usr and /etc are laid over the real ones (overlayfs),
# /run/khelp is a tmpfs and /sys/fs/bpf a fresh bpffs instance, so khelpd runs
# from /usr/sbin with the installed /etc/khelp/khelpd.conf and touches nothing
# of the machine's own.

bats_require_minimum_version 1.5.0
load lib

setup() {
	kh_setup
	D="$TMP/destdir"
	make -s -C "$REPO" OUTPUT="$OUT" install DESTDIR="$D" >"$TMP/install.log" 2>&1 ||
		{ cat "$TMP/install.log"; return 1; }
	mkdir -p "$TMP/usr.up" "$TMP/usr.work"
}

teardown() {
	if [ -n "${NS_PID:-}" ]; then kill "$NS_PID" 2>/dev/null; wait "$NS_PID" 2>/dev/null; fi
	kh_teardown
}

# in_root CMD...: run CMD in a mount namespace where the install is the system.
# /usr gets a writable upper layer in $TMP (a module dropped into
# /usr/lib/khelp/modules lands there).
in_root_script() {
	cat <<SH
set -e
mount -t overlay khelp-usr -o lowerdir=$D/usr:/usr,upperdir=$TMP/usr.up,workdir=$TMP/usr.work /usr
mount -t overlay khelp-etc -o lowerdir=$D/etc:/etc /etc
mkdir -p /run/khelp && mount -t tmpfs khelp-run /run/khelp
mount -t bpf bpf /sys/fs/bpf
SH
}
in_root() { exec unshare -m --propagation private bash -c "$(in_root_script)"'; exec "$@"' _ "$@"; }

@test "make install lays out binaries, modules, headers, pkg-config, config, unit, man pages, completion" {
	for f in usr/sbin/khelpd usr/sbin/khelpctl; do [ -x "$D/$f" ]; done
	for m in "$MODS"/*.bpf.o; do cmp "$m" "$D/usr/lib/khelp/modules/$(basename "$m")"; done
	for f in usr/include/khelp/khelp.bpf.h usr/include/khelp/abi.h usr/include/khelp/vmlinux.h \
		usr/share/pkgconfig/khelp.pc etc/khelp/khelpd.conf usr/lib/systemd/system/khelpd.service \
		usr/share/bash-completion/completions/khelpctl usr/share/man/man8/khelpd.8 \
		usr/share/man/man8/khelpctl.8 usr/share/man/man5/khelp-policy.5; do
		[ -s "$D/$f" ] || { echo "missing $f"; return 1; }
	done
	[ -d "$D/etc/khelp/policies" ]
	grep -qx 'modules = /usr/lib/khelp/modules' "$D/etc/khelp/khelpd.conf"
	grep -q '^ExecStart=/usr/sbin/khelpd --config /etc/khelp/khelpd.conf' "$D/usr/lib/systemd/system/khelpd.service"
	# no placeholder left anywhere
	run grep -rl '@[A-Z]*@' "$D"
	[ "$status" -eq 1 ]
	bash -n "$D/usr/share/bash-completion/completions/khelpctl"
	# uninstall removes what install put there and nothing else
	touch "$D/etc/khelp/policies/mine.conf"
	make -s -C "$REPO" OUTPUT="$OUT" uninstall DESTDIR="$D"
	[ -z "$(find "$D" -type f ! -path '*/policies/mine.conf')" ]
	[ -e "$D/etc/khelp/policies/mine.conf" ]
}

@test "man -l renders each installed page without warnings" {
	for p in "$D"/usr/share/man/man*/*; do
		run --separate-stderr env MANWIDTH=80 man --warnings -E UTF-8 -l "$p"
		echo "$p: status $status, stderr: $stderr"
		[ "$status" -eq 0 ] && [ -z "$stderr" ]
		[[ "$output" == *NAME* && "$output" == *"SEE ALSO"* ]]
	done
	run env MANWIDTH=80 man -l "$D/usr/share/man/man8/khelpctl.8"
	[[ "$output" == *"shutdown --detach"* ]]
}

@test "systemd-analyze verify accepts the installed unit" {
	command -v systemd-analyze || skip "systemd-analyze is not installed (Debian package systemd)"
	run in_root systemd-analyze verify /usr/lib/systemd/system/khelpd.service
	echo "$output"
	[ "$status" -eq 0 ] && [ -z "$output" ]
}

@test "installed khelpd without --config uses /etc/khelp/khelpd.conf and the shipped modules" {
	kh_netns
	APP="$(kh_cgroup app)"
	printf '[container]\ncgroup = %s\n[tcp]\nhelpers = h_ertt\n' "${APP#$CGROOT/}" >"$D/etc/khelp/policies/web.conf"
	(in_root /usr/sbin/khelpd >"$TMP/khelpd.log" 2>&1 3>&-) &
	NS_PID=$!
	ctl() { nsenter -t "$NS_PID" -m /usr/sbin/khelpctl "$@"; }
	kh_until ctl status
	ctl -j status | jq -e '.paths.config == "/etc/khelp/khelpd.conf" and .paths.modules == "/usr/lib/khelp/modules"'
	kh_until bash -c "nsenter -t $NS_PID -m /usr/sbin/khelpctl -j containers | jq -e '.[] | select(.name == \"web\") | .modules == [\"h_ertt\"]'"
	kh_server 5201
	kh_client "$APP" "$TMP/in.out" 5201 --seconds 2 --hold 2
	port="$(kh_wait_line "$TMP/in.out" local)"
	kh_until bash -c "nsenter -t $NS_PID -m /usr/sbin/khelpctl -j conns | jq -e '.[] | select(.local == \"$ADDR_A:$port\") | .modules.h_ertt.srtt_us > 0'"
}
