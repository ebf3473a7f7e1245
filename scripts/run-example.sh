#!/usr/bin/env bash
# make run: start khelpd in the foreground on the bundled example config.
set -eu
cd "$(dirname "$0")/.."
cgroot="$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)"
if [ -z "$cgroot" ]; then
	echo "make run: no cgroup2 file system is mounted" >&2
	exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mkdir -p "$cgroot/khelp-example"
echo "khelpd: example container cgroup $cgroot/khelp-example; try: .output/bin/khelpctl status"
exec .output/bin/khelpd --config examples/khelpd.conf "$@"
