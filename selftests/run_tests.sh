#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs in the guest: every cmabuf kselftest, each printing TAP. The host counts the
# results (scripts/verdict.sh).
cd "$(dirname "$0")" || exit 1
for t in pools_test bad_dt_test alloc_test import_test limits_test debugfs_test pressure_test fault_test reliability_test lifecycle_test cache_test pipeline_test overlay_test; do
	echo "# cmabuf selftest: $t"
	./$t
	echo "# cmabuf selftest: $t exit $?"
done
# 32-bit ARM: the HighMem pool (dts/highmem-pool.dtso is in the DT there only).
case $(uname -m) in
armv7*)
	echo "# cmabuf selftest: highmem_test"
	./highmem_test
	echo "# cmabuf selftest: highmem_test exit $?"
	;;
esac
# The benchmark's smoke run, so that it cannot rot (make bench runs it in full).
echo "# cmabuf selftest: cmabuf_bench --smoke"
cmabuf_bench --smoke
echo "# cmabuf selftest: cmabuf_bench --smoke exit $?"
# Last: loading cmabuf with dma_heap=1 pins it (a dma-heap cannot be removed).
for t in heap_test dmabuf_heaps_conformance.sh; do
	echo "# cmabuf selftest: $t"
	./$t
	echo "# cmabuf selftest: $t exit $?"
done
