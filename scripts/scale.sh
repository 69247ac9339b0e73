#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make scale`: the scale list (selftests/Makefile SCALE_LIST) on the scale boards
# (job.sh scale: CMABUF_BOARD=scale in env.sh, the pools of job.sh's SCALE_OVERLAYS),
# every entry counted together. Too long for make check (CI's 90 minutes): a 4.5 GiB
# pool above 4 GiB physical and buffers past 4 GiB, under TCG.
#
# Entries (one job.sh scale each, named <entry>.<kernel>.<test> in the verdict):
#  - arm64: QEMU virt with 8 GiB of RAM and a 4.5 GiB pool at 0x1_0000_0000
#    (dts/big-pool.dtso), on the plain and the debug kernel (CMABUF_DEBUG_KERNEL=0
#    leaves the debug one out).
#  - arm-lpae: 32-bit ARM with LPAE (its own kernel, scripts/kconfig/lpae.config), QEMU
#    virt,highmem=on with 6 GiB and a 2 GiB pool at 0x1_0000_0000 (dts/lpae-pool.dtso).
# Another architecture's board is one more `entry` line below (its environment, e.g.
# `entry arm -u CROSS_COMPILE -u CMABUF_BUILD ARCH=arm ...`), one more case in env.sh
# (its QEMU machine under CMABUF_BOARD=scale) and in job.sh (its SCALE_OVERLAYS);
# another test is one more word in selftests/Makefile's SCALE_LIST.
#
# With ARCH= (or KDIR=) given, only that architecture (or that tree), with job.sh's own
# verdict. Prints every result, then "N passed, N failed, N skipped", and how long
# each entry took.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
S=$top/scripts

if [ -n "${ARCH:-}" ] || [ -n "${KDIR:-}" ]; then
	exec "$S/job.sh" scale
fi

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
took=()
# usage: entry <name> <job> <env arguments...>: one job.sh <job> in that environment
# (env's arguments: NAME=value, -u NAME), its results in $results/<name>.
entry() {
	local name=$1 job=$2 began=$SECONDS
	shift 2
	env "$@" "$S/job.sh" "$job" --results "$results/$name"
	took+=("# $name: $((SECONDS - began))s (builds included)")
}

entry arm64 scale ARCH=arm64
# 32-bit ARM with LPAE: its own kernel, board (6 GiB, a 2 GiB pool at 0x1_0000_0000)
# and list (job.sh check with CMABUF_KERNELS=lpae; selftests/Makefile LPAE_LIST).
entry arm-lpae check -u CROSS_COMPILE -u CMABUF_BUILD ARCH=arm CMABUF_KERNELS=lpae

mapfile -t runs < <(for f in "$results"/*; do grep -v '^host=' "$f" | sed "s|^|$(basename "$f").|"; done)
status=0
"$S/verdict.sh" /dev/null "${runs[@]}" || status=$?
printf '%s\n' "${took[@]}"
exit "$status"
