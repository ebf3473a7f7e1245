#!/usr/bin/env bash
# make bench: measurements side by side in one run. Not tests: no pass/fail.
set -u
cd "$(dirname "$0")/.." || exit 1
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
echo "== hook overhead =="
bash bench/overhead.sh
echo
echo "== control plane at scale =="
bash bench/control.sh
if [ -f bench/fidelity.sh ]; then
	echo
	echo "== congestion control fidelity =="
	bash bench/fidelity.sh
fi
