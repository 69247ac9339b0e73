#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build cmabuf.ko against a prepared, Rust-enabled kernel build with clippy on, into
# build/module (the source tree stays clean). Prints the .ko path; the compiler's
# output is kept in build/module-build.log for host-checks.sh.
#
# usage: build-module.sh <KDIR>
set -euo pipefail
. "$(dirname "$0")/env.sh"

kdir=$1
out=$CMABUF_BUILD/module
mkdir -p "$out"
if ! make -C "$kdir" M="$CMABUF_TOP" MO="$out" "${KMAKE_VARS[@]}" CLIPPY=1 modules \
	>"$CMABUF_BUILD/module-build.log" 2>&1; then
	cat "$CMABUF_BUILD/module-build.log" >&2
	die "module build failed"
fi
echo "$out/cmabuf.ko"
