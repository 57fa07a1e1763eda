#!/usr/bin/env bash
# The one-command demo: installs the dependencies (scripts/install-deps.sh), builds kvmm with
# meson into build/, builds the guest images, and boots the bundled guest (Debian kernel +
# busybox initramfs) with kvmm, printing its whole console. Uses /dev/kvm directly when it is
# usable here; otherwise boots an L1 Linux under QEMU TCG that loads KVM and runs kvmm inside.
# kvmm runs as README.md shows: --kernel vmlinuz --initramfs initramfs.cpio.gz --cpus boot=2
# --memory size=512M --cmdline 'console=ttyS0 panic=-1'. The guest's console is printed between
# "----- kvmm guest console (ttyS0) begins -----" and "... ends: kvmm exit status N -----";
# in the L1 case the L1 host's lines are marked "L1 | ", terminal control codes (SeaBIOS's
# terminal resets) are left out and a note explains the emulated L1's XSAVE warning, while
# build/lab/demo-ARCH.log keeps the console as it came (run-lab.sh's demo_console).
# Usage: tests/lab/demo.sh          (as root on Debian 12; see tests/lab/run-lab.sh for the env)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

"$root/scripts/install-deps.sh"
cd "$root"
if [ ! -f build/build.ninja ]; then
	timeout 600 meson setup build
fi
timeout 1200 ninja -C build
exec "$here/run-lab.sh" --demo "$root/build/kvmm" "$root/build/lab"
