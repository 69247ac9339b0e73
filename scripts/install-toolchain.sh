#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install the host toolchain: cross GCC, Debian's rustc-web, bindgen, libclang,
# QEMU and the device-tree tools. Idempotent: a second run only checks.
set -euo pipefail
. "$(dirname "$0")/env.sh"

APT_PACKAGES=(rustc-web rust-web-src rust-web-clippy rustfmt-web gcc-aarch64-linux-gnu libc6-dev-arm64-cross
	flex bison bc libelf-dev libssl-dev cpio qemu-system-arm device-tree-compiler
	xz-utils rsync)
# 32-bit ARM guests (ARCH=arm) need their cross compiler and C library too.
[ "$ARCH" != arm ] || APT_PACKAGES+=(gcc-arm-linux-gnueabihf libc6-dev-armhf-cross)
# x86_64 guests (ARCH=x86_64) run under KVM on the host's own gcc and C library: only
# their QEMU is extra.
[ "$ARCH" != x86_64 ] || APT_PACKAGES+=(qemu-system-x86)
# The sanitizer kernels (CMABUF_KASAN=1, CMABUF_KCSAN=1, make matrix) are built with
# LLVM: clang, ld.lld and the llvm binutils of CMABUF_SANITIZER_LLVM (-19: Debian's
# clang-19). About 60 MB to fetch and 300 MB installed that make check does not need, so
# only when asked for.
llvm=$CMABUF_LLVM
if [ "$ARCH" = arm64 ] && { [ "${CMABUF_KASAN:-0}" = 1 ] || [ "${CMABUF_KCSAN:-0}" = 1 ] ||
	[[ " ${CMABUF_KERNELS:-} " == *" kasan "* || " ${CMABUF_KERNELS:-} " == *" kcsan "* ]]; }; then
	llvm=$CMABUF_SANITIZER_LLVM
fi
if [ -n "$llvm" ]; then
	[[ $llvm =~ ^-[0-9]+$ ]] || die "LLVM=$llvm: give the version suffix of Debian's packages, e.g. -19"
	APT_PACKAGES+=("clang$llvm" "lld$llvm" "llvm$llvm")
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	log "installing from apt: ${missing[*]}"
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# bindgen, pinned to the version the kernel's rust/ accepts, into the cache.
if ! "$BINDGEN" --version 2>/dev/null | grep -q '0.72.1'; then
	log "installing bindgen-cli 0.72.1 (takes a minute or two)"
	cargo install --quiet --root "$CMABUF_CACHE/cargo" bindgen-cli --version 0.72.1 --locked
fi

# libclang >= 17 for bindgen: bookworm's is too old, PyPI's wheel is not.
if [ ! -e "$LIBCLANG_PATH/libclang.so" ]; then
	log "installing libclang from PyPI"
	python3 -m pip --version >/dev/null 2>&1 || die "python3 has no pip: install python3-pip"
	python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
		--target "$CMABUF_CACHE/libclang" 'libclang>=17'
fi

# dtschema (dt-doc-validate, dt-validate) for the binding checks, from PyPI into the cache.
if ! PYTHONPATH=$CMABUF_CACHE/dtschema "$CMABUF_CACHE/dtschema/bin/dt-validate" --version >/dev/null 2>&1; then
	log "installing dtschema from PyPI"
	python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
		--target "$CMABUF_CACHE/dtschema" 'dtschema==2026.9' 'pylibfdt==1.7.2.post2'
fi

# docutils >= 0.18.1 (Node.findall), for host-checks.sh to parse Documentation/*.rst.
if ! PYTHONPATH=$CMABUF_CACHE/docutils python3 -c 'import docutils.nodes as n; n.Node.findall' 2>/dev/null; then
	log "installing docutils from PyPI"
	python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
		--target "$CMABUF_CACHE/docutils" 'docutils>=0.18.1'
fi

log "toolchain ready: $("$RUSTC" --version), $("$BINDGEN" --version | head -1)"
