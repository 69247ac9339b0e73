#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The guest kernel with cmabuf built in (CONFIG_CMABUF=y), as a board vendor builds it
# in tree: a copy of the kernel source with cmabuf dropped in by install-in-tree.sh,
# configured like the plain kernel (base.config) plus scripts/kconfig/builtin.config.
# Prints the build directory.
#
# The source copy is hard-linked (cp -al: no space, seconds) under
# $CMABUF_CACHE/intree-src, keyed on the kernel version; install-in-tree.sh replaces the
# files it changes instead of editing them, so the shared source is never modified.
# The build is cached by build-kernel.sh (same key scheme, base+builtin); each call
# copies cmabuf's current sources in (unchanged files keep their time stamps) and
# remakes the kernel image incrementally: only cmabuf is recompiled and the kernel
# relinked when cmabuf changed.
#
# usage: build-builtin-kernel.sh <kernel source dir>
set -euo pipefail
. "$(dirname "$0")/env.sh"

src=$1
[ -d "$src" ] || die "build-builtin-kernel.sh: $src: no such kernel source"
version=$(cat "$src/.debian-version" 2>/dev/null || make -s -C "$src" kernelversion)
key=$(printf '%s\n' "$(readlink -f "$src")" "$version" | sha256sum | cut -c1-16)
copy=$CMABUF_CACHE/intree-src/$(basename "$src")-$key

mkdir -p "$CMABUF_CACHE/intree-src"
exec 8>"$CMABUF_CACHE/intree-src/.lock-$(basename "$copy")"
flock 8
if [ ! -e "$copy/.cmabuf-copied" ]; then
	log "hard-linked copy of $src for the in-tree build: $copy"
	rm -rf "$copy" "$copy.tmp"
	cp -al "$src" "$copy.tmp"
	touch "$copy.tmp/.cmabuf-copied"
	mv "$copy.tmp" "$copy"
fi
"$CMABUF_TOP/scripts/install-in-tree.sh" "$copy" >&2
CMABUF_KBUILD_REMAKE=1 "$CMABUF_TOP/scripts/build-kernel.sh" "$copy" \
	"$CMABUF_TOP"/scripts/kconfig/{base,builtin}.config
