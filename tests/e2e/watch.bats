#!/usr/bin/env bats
# The module and policy directories: no change is missed, even when the kernel's
# inotify queue overflows or a directory is removed, moved away or replaced.

load lib

setup() {
	kh_setup
	OLD_MAXQ=
}

teardown() {
	# the queue limit is machine-wide: always put it back
	[ -z "$OLD_MAXQ" ] || sysctl -qw fs.inotify.max_queued_events="$OLD_MAXQ"
	kh_teardown
}

active() { "$KHELPCTL" -j modules | jq -e --arg n "$1" '.[] | select(.name == $n and .state == "active")'; }
containers_named() { "$KHELPCTL" -j containers | jq -c '[.[].name] | sort'; }

@test "an inotify queue overflow rescans both directories: nothing changed meanwhile is missed" {
	cp "$TESTMODS/kt_conn.bpf.o" "$TESTMODS/kt_cycb.bpf.o" "$TMP/modules/"
	kh_write_policy old "$(kh_cgroup old)" "helpers = kt_conn"
	# an inotify instance takes the queue limit when it is created: a tiny one for this khelpd only
	OLD_MAXQ="$(sysctl -n fs.inotify.max_queued_events)"
	sysctl -qw fs.inotify.max_queued_events=8
	rc=0
	kh_start || rc=$?
	sysctl -qw fs.inotify.max_queued_events="$OLD_MAXQ"
	OLD_MAXQ=
	[ "$rc" -eq 0 ]
	kh_wait_modules old '["kt_conn"]'
	"$KHELPCTL" -j modules | jq -e '.[] | select(.file == "kt_cycb.bpf.o")'
	# khelpd reads no events while stopped: 3 per policy written (temp file, rename) overflow its queue
	kill -STOP "$KHELPD_PID"
	for i in $(seq 20); do
		kh_write_policy "p$i" "$(kh_cgroup "c$i")" "helpers = kt_conn"
	done
	rm "$TMP/policies/old.conf"
	rm "$TMP/modules/kt_cycb.bpf.o"
	cp "$TESTMODS/kt_dep.bpf.o" "$TMP/modules/"
	kill -CONT "$KHELPD_PID"
	kh_until grep -q "inotify event queue overflowed" "$TMP/khelpd.log"
	want="$(for i in $(seq 20); do echo "p$i"; done | jq -R . | jq -sc 'sort')"
	kh_until bash -c "[ \"\$('$KHELPCTL' -j containers | jq -c '[.[].name] | sort')\" = '$want' ]"
	kh_until active kt_dep
	# the file removed meanwhile: its module is gone too
	"$KHELPCTL" -j modules >"$TMP/modules.json"
	run ! jq -e '.[] | select(.file == "kt_cycb.bpf.o")' "$TMP/modules.json"
	for i in $(seq 20); do
		kh_wait_modules "p$i" '["kt_conn"]'
	done
}

@test "a module directory moved away and replaced is watched at its path again" {
	kh_start
	mv "$TMP/modules" "$TMP/modules.old"
	mkdir "$TMP/modules"
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	kh_until active kt_conn
	grep -q "module directory $TMP/modules was moved away" "$TMP/khelpd.log"
	# a file put into the directory that moved away means nothing now
	cp "$TESTMODS/kt_dep.bpf.o" "$TMP/modules.old/"
	cp "$TESTMODS/kt_cyca.bpf.o" "$TMP/modules/"
	kh_until bash -c "'$KHELPCTL' -j modules | jq -e '.[] | select(.name == \"kt_cyca\")'"
	run ! bash -c "'$KHELPCTL' -j modules | jq -e '.[] | select(.name == \"kt_dep\")'"
}

@test "a removed policy directory is reported and watched again once it is back" {
	cp "$TESTMODS/kt_conn.bpf.o" "$TMP/modules/"
	kh_write_policy web "$(kh_cgroup web)" "helpers = kt_conn"
	kh_start
	kh_wait_modules web '["kt_conn"]'
	rm -rf "$TMP/policies"
	kh_until grep -q "policy directory $TMP/policies was removed: not watching it" "$TMP/khelpd.log"
	"$KHELPCTL" status
	mkdir "$TMP/policies"
	kh_write_policy api "$(kh_cgroup api)" "helpers = kt_conn"
	kh_wait_modules api '["kt_conn"]'
	grep -q "policy directory $TMP/policies is back" "$TMP/khelpd.log"
	# web's policy file went with the old directory
	kh_until bash -c "[ \"\$('$KHELPCTL' -j containers | jq -c '[.[].name]')\" = '[\"api\"]' ]"
}
