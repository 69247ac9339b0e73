#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the test-only dma-buf importer module (selftests/importer) into build/importer
# and print the .ko path.
#
# usage: build-test-importer.sh <KDIR> [output dir, default build/importer]
set -euo pipefail
. "$(dirname "$0")/env.sh"

out=${2:-$CMABUF_BUILD/importer}
mkdir -p "$out"
make -s -C "$1" M="$CMABUF_TOP/selftests/importer" MO="$out" "${KMAKE_VARS[@]}" modules >&2 ||
	die "building the test importer module failed"
echo "$out/cmabuf_test_importer.ko"
