#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs in the guest: every cmabuf kselftest, each printing TAP. The host counts the
# results (scripts/verdict.sh).
cd "$(dirname "$0")" || exit 1
# Development only: cmabuf_tests=a,b on the kernel command line (CMABUF_TESTS= for
# scripts/run-qemu.sh) runs just those tests.
# An entry test:name runs only that TEST() of the binary (the harness's -t).
run() {
	if [ -n "${cmabuf_tests:-}" ]; then
		only=
		for entry in $(echo "$cmabuf_tests" | tr , ' '); do
			case $entry in
			"$1") only=all ;;
			"$1":*) [ "$only" = all ] || only="$only -t ${entry#*:}" ;;
			esac
		done
		[ -n "$only" ] || return 0
		[ "$only" = all ] || set -- "$@" $only
	fi
	echo "# cmabuf selftest: $1"
	./"$@"
	echo "# cmabuf selftest: $1 exit $?"
}
for t in pools_test bad_dt_test alloc_test import_test mapping_test limits_test debugfs_test pressure_test fault_test reliability_test lifecycle_test cache_test pipeline_test overlay_test; do
	run $t
done
# 32-bit ARM: the HighMem pool (dts/highmem-pool.dtso is in the DT there only).
case $(uname -m) in
armv7*)
	run highmem_test
	;;
esac
# The benchmark's smoke run, so that it cannot rot (make bench runs it in full).
case ",${cmabuf_tests:-cmabuf_bench}," in
*,cmabuf_bench,*)
	echo "# cmabuf selftest: cmabuf_bench --smoke"
	cmabuf_bench --smoke
	echo "# cmabuf selftest: cmabuf_bench --smoke exit $?"
	;;
esac
# Last: loading cmabuf with dma_heap=1 pins it (a dma-heap cannot be removed).
for t in heap_test dmabuf_heaps_conformance.sh; do
	run $t
done
