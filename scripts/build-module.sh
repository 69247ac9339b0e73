#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build cmabuf.ko against a prepared, Rust-enabled kernel build with clippy on, into
# build/module (the source tree stays clean). Prints the .ko path; the compiler's
# output is kept in build/module-build.log for host-checks.sh.
#
# usage: build-module.sh <KDIR> [output dir, default build/module]
set -euo pipefail
. "$(dirname "$0")/env.sh"

kdir=$1
out=${2:-$CMABUF_BUILD/module}
buildlog=$(dirname "$out")/module-build.log
mkdir -p "$out"
if ! kmake_for "$kdir" M="$CMABUF_TOP" MO="$out" CLIPPY=1 modules \
	>"$buildlog" 2>&1; then
	cat "$buildlog" >&2
	die "module build failed"
fi
echo "$out/cmabuf.ko"
