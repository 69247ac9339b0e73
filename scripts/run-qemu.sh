#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the guest under QEMU with a hard timeout; the console goes to <log> (and to
# stdout when CMABUF_SHOW_CONSOLE=1). Exits 124 if the guest ran out of time.
#
# usage: run-qemu.sh <Image> <initramfs> <dtb> <log> <job> <timeout seconds> [disk image]
# The disk image, if given, is the guest's /dev/vda (virtio-blk).
set -euo pipefail
. "$(dirname "$0")/env.sh"

image=$1 initrd=$2 dtb=$3 log=$4 job=$5 limit=$6 disk=${7:-}
# loglevel=3: only errors and worse interleave with the test output on the console;
# the guest prints the whole kernel log at the end of a check.
cmdline="console=ttyAMA0 panic=-1 loglevel=3 log_buf_len=16M cmabuf_job=$job"
# Only cmabuf's KUnit suites run (at insmod): the kernel's own built-in suites are not
# ours to test, and 7.3's rust_kernel_fmt fails on 32-bit ARM when pointers are not
# hashed (its expected CLAMPED string), leaking its strings into kmemleak's report.
cmdline+=" kunit.filter_glob=cmabuf_*"
# make soak: the reliability tests run CMABUF_SOAK times longer.
[ -z "${CMABUF_SOAK:-}" ] || cmdline+=" cmabuf_soak=$CMABUF_SOAK"
# Development: CMABUF_TESTS="alloc_test limits_test" runs only those (never in CI).
[ -z "${CMABUF_TESTS:-}" ] || cmdline+=" cmabuf_tests=${CMABUF_TESTS// /,}"

# Kernel parameters of one kernel's run (job.sh: kasan_multi_shot for the KASAN kernel).
[ -z "${CMABUF_KERNEL_ARGS:-}" ] || cmdline+=" $CMABUF_KERNEL_ARGS"

drive=()
if [ -n "$disk" ]; then
	drive=(-drive "file=$disk,if=none,format=raw,id=disk0" -device virtio-blk-device,drive=disk0)
fi

mkdir -p "$(dirname "$log")"
set +e
timeout -k 10 "$limit" "$QEMU" "${QEMU_MACHINE[@]}" -nographic -no-reboot \
	-kernel "$image" -initrd "$initrd" -dtb "$dtb" -append "$cmdline" "${drive[@]}" \
	</dev/null 2>&1 | tr -d '\r' | if [ "${CMABUF_SHOW_CONSOLE:-0}" = 1 ]; then tee "$log"; else cat >"$log"; fi
status=${PIPESTATUS[0]}
set -e
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
	log "guest timed out after ${limit}s (console in $log)"
	exit 124
fi
exit "$status"
