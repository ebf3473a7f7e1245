#!/usr/bin/env bash
# Installs what khelp needs to build, run and test, on Debian bookworm, as root.
# Idempotent: when everything is present it only checks and returns in seconds.
# bookworm-backports is enabled by reusing the URI of the Debian source that is
# already configured on the machine; no mirror host name is written here.
set -euo pipefail

BACKPORTS_LIST=/etc/apt/sources.list.d/khelp-backports.sources
# package -> the command or file that proves it is installed
declare -A need=(
	[clang-19]=/usr/bin/clang-19
	[llvm-19]=/usr/bin/llvm-strip-19
	[libbpf-dev]=/usr/include/bpf/libbpf.h
	[bpftool]=/usr/sbin/bpftool
	[libelf-dev]=/usr/include/libelf.h
	[zlib1g-dev]=/usr/include/zlib.h
	[libcmocka-dev]=/usr/include/cmocka.h
	[bats]=/usr/bin/bats
	[libinih-dev]=/usr/include/ini.h
	[libjson-c-dev]=/usr/include/json-c/json.h
	[libsystemd-dev]=/usr/include/systemd/sd-daemon.h
	[systemd]=/usr/bin/systemd-analyze
	[man-db]=/usr/bin/man
	[iproute2]=/usr/sbin/ip
	[iperf3]=/usr/bin/iperf3
	[sockperf]=/usr/bin/sockperf
	[gnuplot-nox]=/usr/bin/gnuplot-nox
	[jq]=/usr/bin/jq
	[bc]=/usr/bin/bc
	[netcat-openbsd]=/usr/bin/nc.openbsd
	[pkg-config]=/usr/bin/pkg-config
	[make]=/usr/bin/make
	[gcc]=/usr/bin/gcc
	[xdp-tools]=/usr/sbin/xdp-loader
	[libclang-rt-19-dev]=/usr/lib/llvm-19/lib/clang/19/lib/linux/libclang_rt.fuzzer-x86_64.a
)
# these must come from bookworm-backports (bookworm's own are too old)
backports=(clang-19 llvm-19 libbpf-dev bpftool libclang-rt-19-dev)

debian_uri() {
	# the URI of the configured Debian main archive (deb822 or one-line format)
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		[ "$f" = "$BACKPORTS_LIST" ] && continue
		uri=$(awk '/^URIs:/ {print $2}' "$f" | grep -v -- '-security' | head -n1)
		[ -n "$uri" ] && { echo "$uri"; return 0; }
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		uri=$(awk '$1=="deb" && $3 ~ /^bookworm$/ {print $2; exit}' "$f")
		[ -n "$uri" ] && { echo "$uri"; return 0; }
	done
	return 1
}

missing=()
for pkg in "${!need[@]}"; do
	[ -e "${need[$pkg]}" ] || missing+=("$pkg")
done
# an old bookworm libbpf-dev (1.1) is not enough: we need the backports one
if [ -e /usr/include/bpf/libbpf.h ] && ! dpkg-query -W -f='${Version}' libbpf-dev 2>/dev/null | grep -q bpo; then
	missing+=(libbpf-dev)
fi

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing ${missing[*]}; run as root to install them" >&2
	exit 1
fi

if [ ! -f "$BACKPORTS_LIST" ]; then
	uri=$(debian_uri) || { echo "install-deps: no Debian apt source configured to derive bookworm-backports from" >&2; exit 1; }
	cat >"$BACKPORTS_LIST" <<SRC
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
bp=()
rest=()
for pkg in "${missing[@]}"; do
	if [[ " ${backports[*]} " == *" $pkg "* ]]; then bp+=("$pkg"); else rest+=("$pkg"); fi
done
[ ${#rest[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${rest[@]}"
[ ${#bp[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends -t bookworm-backports "${bp[@]}"
echo "install-deps: installed ${missing[*]}"
