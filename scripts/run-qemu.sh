#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the guest under QEMU with a hard timeout; the console goes to <log> (and to
# stdout when CMABUF_SHOW_CONSOLE=1). Exits 124 if the guest ran out of time.
#
# usage: run-qemu.sh <Image> <initramfs> <dtb> <log> <job> <timeout seconds> [disk image]
# The disk image, if given, is the guest's /dev/vda (virtio-blk). The dtb is "" on a
# board without a device tree (x86_64).
set -euo pipefail
. "$(dirname "$0")/env.sh"

image=$1 initrd=$2 dtb=$3 log=$4 job=$5 limit=$6 disk=${7:-}
# loglevel=3: only errors and worse interleave with the test output on the console;
# the guest prints the whole kernel log at the end of a check.
console=ttyAMA0
[ "$ARCH" != x86_64 ] || console=ttyS0
cmdline="console=$console panic=-1 loglevel=3 log_buf_len=16M cmabuf_job=$job"
# Only cmabuf's KUnit suites run (at insmod): the kernel's own built-in suites are not
# ours to test, and 7.3's rust_kernel_fmt fails on 32-bit ARM when pointers are not
# hashed (its expected CLAMPED string), leaking its strings into kmemleak's report.
cmdline+=" kunit.filter_glob=cmabuf_*"
# make soak: the reliability tests run CMABUF_SOAK times longer.
[ -z "${CMABUF_SOAK:-}" ] || cmdline+=" cmabuf_soak=$CMABUF_SOAK"
# Development: CMABUF_TESTS="alloc_test limits_test" runs only those (never in CI).
[ -z "${CMABUF_TESTS:-}" ] || cmdline+=" cmabuf_tests=${CMABUF_TESTS// /,}"

# x86_64 has no device tree: the default CMA area (cma=) is its one pool, which cmabuf
# serves when loaded with default_pool= (CMABUF_MODULE_PARAMS, env.sh). cmabuf_pool
# tells the guest's jobs (bench.sh) which pool to use there.
if [ "$ARCH" = x86_64 ]; then
	cmdline+=" cma=$CMABUF_X86_CMA cmabuf_pool=default"
fi
# cmabuf's module parameters for the guest's insmod (scripts/guest/init): the kernel
# hands an unknown name="a b" word to init as the environment variable name=a b.
[ -z "${CMABUF_MODULE_PARAMS:-}" ] || cmdline+=" cmabuf_params=\"$CMABUF_MODULE_PARAMS\""

# Kernel parameters of one kernel's run (job.sh: kasan_multi_shot for the KASAN kernel).
[ -z "${CMABUF_KERNEL_ARGS:-}" ] || cmdline+=" $CMABUF_KERNEL_ARGS"

drive=()
if [ -n "$disk" ]; then
	# virtio-blk-device is virtio-mmio (the virt boards); a PC has it on PCI.
	blk=virtio-blk-device
	[ "$ARCH" != x86_64 ] || blk=virtio-blk-pci
	drive=(-drive "file=$disk,if=none,format=raw,id=disk0" -device "$blk,drive=disk0")
fi
dtb_args=()
[ -z "$dtb" ] || dtb_args=(-dtb "$dtb")

mkdir -p "$(dirname "$log")"
set +e
timeout -k 10 "$limit" "$QEMU" "${QEMU_MACHINE[@]}" -nographic -no-reboot \
	-kernel "$image" -initrd "$initrd" "${dtb_args[@]}" -append "$cmdline" "${drive[@]}" \
	</dev/null 2>&1 | tr -d '\r' | if [ "${CMABUF_SHOW_CONSOLE:-0}" = 1 ]; then tee "$log"; else cat >"$log"; fi
status=${PIPESTATUS[0]}
set -e
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
	log "guest timed out after ${limit}s (console in $log)"
	exit 124
fi
exit "$status"
