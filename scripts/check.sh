#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: the whole suite on every architecture cmabuf supports, counted together.
#
#  - arm64 (the default board): host checks, the plain and the debug kernel;
#  - 32-bit ARM (QEMU virt, Cortex-A15, HighMem, a pool in high memory): its own host
#    checks (the module built for ARMv7) and the plain kernel; CMABUF_ARM_DEBUG=1 adds
#    its debug kernel (`make matrix` does);
#  - CMABUF_KASAN=1 (`make matrix` does) adds arm64's KASAN kernel, CMABUF_KCSAN=1 its
#    KCSAN kernel, both built with clang-19 (scripts/job.sh).
#
# With ARCH= (or KDIR=) given, only that architecture (or that tree) is tested, with
# job.sh's own verdict. Prints every result, then "N passed, N failed, N skipped".
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
S=$top/scripts

if [ -n "${ARCH:-}" ] || [ -n "${KDIR:-}" ]; then
	exec "$S/job.sh" check
fi

# Each architecture's job writes where its results are (job.sh check --results); they
# are counted together here, ARM's named arm.<...>.
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

ARCH=arm64 "$S/job.sh" check --results "$results/arm64"
# The ARM build reuses nothing of arm64's but the kernel source and the toolchain.
env -u CROSS_COMPILE -u CMABUF_BUILD ARCH=arm CMABUF_DEBUG_KERNEL="${CMABUF_ARM_DEBUG:-0}" \
	"$S/job.sh" check --results "$results/arm"

host=$(sed -n 's/^host=//p' "$results/arm64")
mapfile -t others < <(grep -v '^host=' "$results/arm64"; sed 's/^/arm./' "$results/arm")
"$S/verdict.sh" "$host" "${others[@]}"
