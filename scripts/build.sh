# Sourced by scripts/test-all.sh and bench/run-lab.sh (bash): the build directories both use.
#   build_native             build/ (configured once), built
#   build_aarch64            kvmm for aarch64 cross-built from another machine, static, in
#                            $A64 (build-aarch64/), against the arm64 sysroot
#                            scripts/cross-sysroot.sh keeps in the cache (an arm64 machine
#                            builds its kvmm natively: build_native)
#   build_aarch64_asan       the same with ASan+UBSan in $A64_ASAN (build-aarch64-asan/),
#                            dynamic (ASan needs it), for the aarch64 sanitizer lab
# All run from the top of the source tree.

build_native() {
	[ -d build ] || meson setup build
	ninja -C build
}

build_aarch64() {
	local cache
	A64=build-aarch64
	cache=${KVMM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/kvmm}
	scripts/cross-sysroot.sh "$cache/cross-aarch64"
	[ -d "$A64" ] || meson setup "$A64" \
		--cross-file "$cache/cross-aarch64/aarch64-linux-gnu.ini" -Dstatic=true
	ninja -C "$A64"
}

build_aarch64_asan() {
	local cache
	A64_ASAN=build-aarch64-asan
	cache=${KVMM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/kvmm}
	scripts/cross-sysroot.sh "$cache/cross-aarch64"
	[ -d "$A64_ASAN" ] || meson setup "$A64_ASAN" \
		--cross-file "$cache/cross-aarch64/aarch64-linux-gnu.ini" \
		-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
	ninja -C "$A64_ASAN"
}
