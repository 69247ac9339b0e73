#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the test-only modules of selftests/ (the dma-buf importer, the run-time
# overlay loader and the driver-name blocker) into <output dir>/<name> and print the
# .ko paths.
#
# usage: build-test-modules.sh <KDIR> <output dir>
set -euo pipefail
. "$(dirname "$0")/env.sh"

for m in importer:cmabuf_test_importer overlay_loader:cmabuf_test_overlay blocker:cmabuf_test_blocker; do
	dir=${m%%:*} name=${m#*:}
	out=$2/$dir
	mkdir -p "$out"
	kmake_for "$1" -s M="$CMABUF_TOP/selftests/$dir" MO="$out" modules >&2 ||
		die "building the test module $name failed"
	echo "$out/$name.ko"
done
