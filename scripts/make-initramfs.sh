#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Pack the guest's initramfs: static busybox, /init, cmabuf.ko, the demo job, and what
# selftests/ built and installed (the kselftests in /selftests, the tools in /bin).
#
# usage: make-initramfs.sh <out.cpio.gz> <cmabuf.ko> <busybox> <selftests build dir>
#                          [more modules for /lib/modules...]
# An empty <cmabuf.ko> for a kernel with cmabuf built in: /init then loads nothing.
# The selftests build dir holds install/, as `make -C selftests OUTPUT=<dir> install`
# lays it out.
set -euo pipefail
. "$(dirname "$0")/env.sh"

out=$1 ko=$2 busybox=$3 tests=$4
shift 4
root=$(dirname "$out")/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules,jobs,selftests}

cp "$busybox" "$root/bin/busybox"
# Just enough applets for /init to run; it installs the rest itself.
for applet in sh mount; do ln -s busybox "$root/bin/$applet"; done
install -m 755 "$CMABUF_TOP/scripts/guest/init" "$root/init"
install -m 755 "$CMABUF_TOP"/scripts/guest/{demo,bench}.sh "$root/jobs/"
[ -z "$ko" ] || cp "$ko" "$root/lib/modules/cmabuf.ko"
for extra in "$@"; do cp "$extra" "$root/lib/modules/"; done
# The tests with run_tests.sh and its list in /selftests, the tools in /bin: laid out by
# `make -C selftests install` (scripts/job.sh), whose Makefile holds the one list.
[ -s "$tests/install/selftests/tests.list" ] || die "$tests/install: selftests not installed"
cp -R "$tests/install/." "$root/"
# Overlays the tests apply at run time, when built (make check).
for dtbo in "$tests"/*.dtbo; do [ -e "$dtbo" ] && cp "$dtbo" "$root/selftests/"; done
(cd "$root" && find . | cpio --quiet -o -H newc --owner=0:0 | gzip -1) >"$out"
