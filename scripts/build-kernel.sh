#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Configure and build the guest kernel (allnoconfig + fragment) out of tree, cached
# under $CMABUF_CACHE keyed on kernel version, fragment and toolchain. Prints the
# build directory (usable as KDIR for the module). Rebuilds only when the key changes.
#
# usage: [CMABUF_LLVM=-19] build-kernel.sh <source dir> [fragment...]
# (CMABUF_LLVM: build with clang/ld.lld of that LLVM instead of GCC, see env.sh;
# CMABUF_KBUILD_REMAKE=1: a cached build is made again, incrementally, for a source
# that changes - cmabuf built in, build-builtin-kernel.sh)
set -euo pipefail
. "$(dirname "$0")/env.sh"

src=$1; shift
fragments=("$@")
((${#fragments[@]})) || fragments=("$CMABUF_TOP/scripts/kconfig/base.config")
# Per architecture: its own fragment on top, and base.config lines it lacks dropped.
arch_fragment=$CMABUF_TOP/scripts/kconfig/$ARCH.config
[ -e "$arch_fragment" ] && fragments+=("$arch_fragment")
drop=$CMABUF_TOP/scripts/kconfig/$ARCH.drop

key=$( {
	cat "$src/.debian-version" 2>/dev/null || make -s -C "$src" kernelversion
	echo "$ARCH $CROSS_COMPILE"
	if [ -n "$CMABUF_LLVM" ]; then
		echo "LLVM=$CMABUF_LLVM"
		for tool in clang ld.lld llvm-ar llvm-nm llvm-objcopy; do
			"$tool$CMABUF_LLVM" --version | grep -m1 -i version
		done
	else
		"${CROSS_COMPILE}gcc" --version | head -1
	fi
	"$RUSTC" --version
	"$BINDGEN" --version | head -1
	cat "${fragments[@]}"
	[ ! -e "$drop" ] || cat "$drop"
} | sha256sum | cut -c1-16)
name=$(for f in "${fragments[@]}"; do basename "$f" .config; done | paste -sd+)
[ -z "$CMABUF_LLVM" ] || name+=+llvm$CMABUF_LLVM
out=$CMABUF_CACHE/kbuild/$(basename "$src")-$ARCH-$name-$key

# One build per key at a time: parallel jobs wait for each other here.
mkdir -p "$CMABUF_CACHE/kbuild"
exec 9>"$CMABUF_CACHE/kbuild/.lock-$(basename "$out")"
flock 9

kmake() { make -s -C "$src" O="$out" "${KMAKE_VARS[@]}" ${CMABUF_LLVM:+LLVM="$CMABUF_LLVM"} "$@"; }

if [ -e "$out/.cmabuf-built" ]; then
	if [ "${CMABUF_KBUILD_REMAKE:-0}" = 1 ]; then
		log "kernel cached: $out; making it again for what changed"
		kmake -j"$(($(nproc) + 1))" "$(basename "$KIMAGE")" modules >&2
	else
		log "kernel cached: $out"
	fi
	echo "$out"
	exit 0
fi

log "building kernel in $out (a few minutes; cached afterwards)"
mkdir -p "$out"
# Modules for this build must use the same compiler (kmake_for in env.sh).
if [ -n "$CMABUF_LLVM" ]; then
	echo "$CMABUF_LLVM" >"$out/cmabuf.llvm"
else
	rm -f "$out/cmabuf.llvm"
fi

kmake rustavailable >&2 || die "Rust is not available for this kernel: see the messages above"
kmake allnoconfig >&2
if [ -e "$drop" ]; then
	cat "${fragments[@]}" | grep -v -x -F -f <(grep '^CONFIG_' "$drop") >"$out/cmabuf.fragment"
else
	cat "${fragments[@]}" >"$out/cmabuf.fragment"
fi
"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$out/cmabuf.fragment" >/dev/null
kmake olddefconfig >&2

# Every line of the fragment must have stuck: a silently dropped option is a bug.
lost=$(grep -E '^CONFIG_[A-Z0-9_]+=' "$out/cmabuf.fragment" | while read -r line; do
	grep -qxF "$line" "$out/.config" || echo "$line"
done)
[ -z "$lost" ] || die "kernel config dropped these options (missing dependency?):
$lost"

kmake -j"$(($(nproc) + 1))" "$(basename "$KIMAGE")" modules >&2
kmake headers_install INSTALL_HDR_PATH="$out/usr" >&2
touch "$out/.cmabuf-built"
# Builds for an older fragment or toolchain of the same kind are stale now.
for old in "${out%-*}"-*; do
	[ "$old" = "$out" ] || rm -rf "$old"
done
log "kernel built: $out"
echo "$out"
