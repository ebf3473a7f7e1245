#!/usr/bin/env bats
# make install into a DESTDIR, then use it as installed: in a private mount
# namespace the DESTDIR's /usr and /etc are laid over the real ones (overlayfs),
# /run/khelp is a tmpfs and /sys/fs/bpf a fresh bpffs instance, so khelpd runs
# from /usr/sbin with the installed /etc/khelp/khelpd.conf and touches nothing
# of the machine's own.

load lib

setup() {
	kh_setup
	unset KHELP_SOCKET	# khelpctl in the namespace uses the installed default socket
	D="$TMP/destdir"
	make -s -C "$REPO" OUTPUT="$OUT" install DESTDIR="$D" >"$TMP/install.log" 2>&1 ||
		{ cat "$TMP/install.log"; return 1; }
	mkdir -p "$TMP/usr.up" "$TMP/usr.work" "$TMP/etc.up" "$TMP/etc.work"
}

teardown() {
	if [ -n "${NS_PID:-}" ]; then kill "$NS_PID" 2>/dev/null; wait "$NS_PID" 2>/dev/null; fi
	kh_teardown
}

# in_root CMD...: run CMD in a mount namespace where the install is the system.
# /usr and /etc get writable upper layers in $TMP (a module dropped into
# /usr/lib/khelp/modules or a policy into /etc/khelp/policies lands there).
in_root_script() {
	cat <<SH
set -e
mount -t overlay khelp-usr -o lowerdir=$D/usr:/usr,upperdir=$TMP/usr.up,workdir=$TMP/usr.work /usr
mount -t overlay khelp-etc -o lowerdir=$D/etc:/etc,upperdir=$TMP/etc.up,workdir=$TMP/etc.work /etc
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
	run grep -rlI '@[A-Z_]\+@' "$D"
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
	[[ "$output" == *"shutdown [--detach]"* ]]
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

# the fenced block after "<!-- tutorial: NAME -->" in docs/modules.md
tutorial_block() { awk -v m="<!-- tutorial: $1 -->" '$0 == m { f = 1; next } f && /^```/ { if (on) exit; on = 1; next } on' "$REPO/docs/modules.md"; }

@test "a module built from the tutorial against the installed headers loads and runs; so does h_rtx" {
	kh_netns
	APP="$(kh_cgroup app)"
	(in_root /usr/sbin/khelpd >"$TMP/khelpd.log" 2>&1 3>&-) &
	NS_PID=$!
	kh_until nsenter -t "$NS_PID" -m /usr/sbin/khelpctl status
	# an empty directory, the tutorial's source and build command, nothing of the source tree
	mkdir "$TMP/tut"
	tutorial_block h_cwnd.bpf.c >"$TMP/tut/h_cwnd.bpf.c"
	tutorial_block build >"$TMP/tut/build.sh"
	cp "$REPO/helpers/h_rtx.bpf.c" "$TMP/tut/"
	sed 's/h_cwnd/h_rtx/g' "$TMP/tut/build.sh" >>"$TMP/tut/build.sh"
	cat "$TMP/tut/build.sh"
	[ -s "$TMP/tut/h_cwnd.bpf.c" ] && grep -q '^clang ' "$TMP/tut/build.sh"
	# step 3 as written, with this test's cgroup for the tutorial's
	tutorial_block run | sed -e "s|/sys/fs/cgroup/unified/tutorial|$APP|" \
		-e "s|^cgroup = tutorial|cgroup = ${APP#$CGROOT/}|" -e 's/helpers = h_cwnd/helpers = h_cwnd, h_rtx/' \
		-e 's|h_cwnd.bpf.o "|h_cwnd.bpf.o h_rtx.bpf.o "|' >"$TMP/tut/run.sh"
	cat "$TMP/tut/run.sh"
	run nsenter -t "$NS_PID" -m bash -c "cd '$TMP/tut' && PATH=/usr/sbin:\$PATH && set -e && . ./build.sh && . ./run.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	# built against the installed headers only: the source tree's include/ was never on the command line
	run ! grep -q "$REPO" "$TMP/tut/build.sh"
	kh_until bash -c "nsenter -t $NS_PID -m /usr/sbin/khelpctl -j containers | jq -e '.[] | select(.name == \"tutorial\") | .modules | sort == [\"h_cwnd\", \"h_rtx\"]'"
	kh_server 5201
	kh_client "$APP" "$TMP/in.out" 5201 --seconds 2 --hold 2
	port="$(kh_wait_line "$TMP/in.out" local)"
	kh_until bash -c "nsenter -t $NS_PID -m /usr/sbin/khelpctl -j conns --module h_cwnd | jq -e '.[] | select(.local == \"$ADDR_A:$port\") | .modules.h_cwnd | .samples > 10 and .cwnd_min >= 1 and .cwnd_max >= .cwnd_min'"
	nsenter -t "$NS_PID" -m /usr/sbin/khelpctl conns --module h_rtx | grep -q 'retrans_segs='
}
