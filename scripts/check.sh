#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: the whole suite on every architecture cmabuf supports, counted together.
#
#  - arm64 (the default board): host checks, the plain and the debug kernel, and the
#    kernel with cmabuf built in (CONFIG_CMABUF=y from the in-tree drop-in) on its
#    smoke list (builtin.*; cold about 10 min more to build, then only cmabuf relinks);
#  - 32-bit ARM (QEMU virt, Cortex-A15, HighMem, a pool in high memory): its own host
#    checks (the module built for ARMv7), the plain kernel, and the debug kernel on its
#    short list (selftests/Makefile's ARM_DEBUG_LIST: the pools and the newest features;
#    cold about 10 min more to build); CMABUF_ARM_DEBUG=1 runs the whole list on it
#    (`make matrix` does);
#  - CMABUF_KASAN=1 (`make matrix` does) adds arm64's KASAN kernel, CMABUF_KCSAN=1 its
#    KCSAN kernel, both built with clang-19 (scripts/job.sh).
#  - x86_64 (a QEMU q35 PC under KVM, no device tree), when KVM is usable here: a short
#    smoke run on the plain kernel: its host checks (the module built for x86_64 with
#    clippy), cmabuf's KUnit suites, the default pool (default_pool=) beside the
#    kernel's CMA heap, and the benchmark's smoke run on it. Without KVM it is left
#    out with one line saying so, and nothing of it is counted.
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

ARCH=arm64 CMABUF_BUILTIN="${CMABUF_BUILTIN:-1}" "$S/job.sh" check --results "$results/arm64"
# The ARM build reuses nothing of arm64's but the kernel source and the toolchain.
arm_debug_list=armdebug
[ "${CMABUF_ARM_DEBUG:-0}" != 1 ] || arm_debug_list=
env -u CROSS_COMPILE -u CMABUF_BUILD ARCH=arm CMABUF_DEBUG_KERNEL=1 CMABUF_DEBUG_LIST="$arm_debug_list" \
	"$S/job.sh" check --results "$results/arm"

# x86_64 never falls back to TCG (minutes instead of seconds): KVM or nothing. Its QEMU
# is installed only where there is a /dev/kvm to try it on.
: >"$results/x86_64"
if [ ! -e /dev/kvm ]; then
	echo "[cmabuf] x86_64 smoke run left out: KVM is not usable here: /dev/kvm does not exist" >&2
elif ARCH=x86_64 "$S/install-toolchain.sh" &&
	! why=$(env -u CMABUF_X86_TCG ARCH=x86_64 bash -c '. "$1/env.sh" && kvm_usable' _ "$S" 2>&1); then
	echo "[cmabuf] x86_64 smoke run left out: KVM is not usable here: $why" >&2
else
	env -u CROSS_COMPILE -u CMABUF_BUILD -u CMABUF_X86_TCG ARCH=x86_64 CMABUF_KERNELS=base \
		"$S/job.sh" check --results "$results/x86_64"
fi

host=$(sed -n 's/^host=//p' "$results/arm64")
mapfile -t others < <(grep -v '^host=' "$results/arm64"; sed 's/^/arm./' "$results/arm"
	sed 's/^/x86_64./' "$results/x86_64")
"$S/verdict.sh" "$host" "${others[@]}"
