#!/bin/sh
# Installs with apt-get, on a fresh Debian 12 machine, everything kvmm needs to build, run its
# unit tests and run the KVM lab (tests/lab/). Installs only what is missing; runs
# `apt-get update` first when something is missing. Must run as root (CI does); no sudo needed.
# Usage: scripts/install-deps.sh
set -eu

packages="
meson ninja-build gcc clang pkg-config
libcriterion-dev libfdt-dev libjansson-dev libseccomp-dev linux-libc-dev
acpica-tools
qemu-system-x86 seabios
qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross
socat
busybox-static cpio xz-utils zstd gzip lz4 bzip2 kmod binutils file
python3 ca-certificates coreutils
valgrind
"

# Node.js for the API contract test (Dredd, from npm): Debian's, unless some node is there.
command -v npm >/dev/null 2>&1 || packages="$packages nodejs npm"

missing=
for p in $packages; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing:$missing; run this script as root" >&2
	exit 1
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
timeout 600 apt-get update -q
# shellcheck disable=SC2086 # word splitting of the package list is intended
timeout 1800 apt-get install -y -q --no-install-recommends $missing
