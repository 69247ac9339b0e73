#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build a board DTB: QEMU virt's own DTB (dumped from QEMU) with overlays from dts/
# merged by fdtoverlay, as a bootloader would.
#
# usage: make-dtb.sh <out.dtb> <overlay.dtso>...
set -euo pipefail
. "$(dirname "$0")/env.sh"

out=$1; shift
work=$(dirname "$out")/dtb-work
mkdir -p "$work"

"$QEMU" "${QEMU_MACHINE[@]}" -machine dumpdtb="$work/virt.dtb" -nographic >/dev/null 2>&1 ||
	die "QEMU could not dump the virt board's DTB"

dtbos=()
for src in "$@"; do
	dtbo=$work/$(basename "$src" .dtso).dtbo
	dtc -q -@ -I dts -O dtb -o "$dtbo" "$src" || die "dtc failed on $src"
	dtbos+=("$dtbo")
done
fdtoverlay -i "$work/virt.dtb" -o "$out" "${dtbos[@]}" || die "fdtoverlay could not apply: $*"
