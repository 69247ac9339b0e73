#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The benchmark guest's /dev/vda: an ext2 file system holding one 256 MiB file whose
# pages the guest reads into the page cache (movable pages for the pressure runs).
# The file is sparse, so the image costs little on the host; reading it still fills
# the guest's page cache.
#
# usage: make-bench-disk.sh <out.img>
set -euo pipefail
. "$(dirname "$0")/env.sh"

out=$1
[ -e "$out" ] && exit 0
stage=$(mktemp -d)
truncate -s 256M "$stage/pagecache"
truncate -s 300M "$out.tmp"
/sbin/mke2fs -q -t ext2 -d "$stage" -F "$out.tmp" || die "mke2fs failed (install e2fsprogs)"
rm -rf "$stage"
mv "$out.tmp" "$out"
