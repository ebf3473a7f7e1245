#!/usr/bin/env bash
# Runs the end-to-end bats suites (root: they make namespaces, cgroups, BPF).
set -u
cd "$(dirname "$0")/.." || exit 1
if [ "$(id -u)" -ne 0 ]; then
	echo "the end-to-end tests need root (network namespaces, cgroups, BPF)" >&2
	exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(tests/e2e/*.bats)
exec bats --tap "${suites[@]}"
