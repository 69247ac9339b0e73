#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make bench` in the guest, one boot: cmabuf_bench on one pool against the CMA heap of
# the same area, twice:
#  1. cache-off: cmabuf as loaded by default (no warm cache): every scenario;
#  2. cache-on: reloaded with a warm cache of a quarter of the pool (the rest is room
#     for the CMA heap sharing the area): the scenarios the cache changes.
# The host passes on the kernel command line (scripts/bench.sh):
#  cmabuf_pool     the pool (camera on the arm64 board, default on x86_64);
#  cmabuf_params   the module parameters the board needs (default_pool= on x86_64);
#  cmabuf_bench    more cmabuf_bench arguments (e.g. --pressure-rounds 10).
pool=${cmabuf_pool:-camera}
mkdir -p /mnt
if mount -t ext2 -o ro /dev/vda /mnt; then
	file=/mnt/pagecache
else
	echo "cmabuf-bench: no ext2 disk: page cache comes from shmem only"
fi

load() {
	rmmod cmabuf 2>/dev/null
	insmod /lib/modules/cmabuf.ko ${cmabuf_params:-} "$@" &&
		echo "cmabuf-bench: cmabuf loaded with ${cmabuf_params:-} $*"
}

load
# shellcheck disable=SC2086 # cmabuf_bench: several arguments
cmabuf_bench --pool "$pool" ${file:+--file $file} ${cmabuf_bench:-}
echo "cmabuf-bench: exit $?"

size=$(sed -n 's/^size: //p' "/sys/kernel/debug/cmabuf/$pool/info")
load cache_bytes=$((size / 4)) cache_idle_ms=5000
# shellcheck disable=SC2086
cmabuf_bench --pool "$pool" ${file:+--file $file} ${cmabuf_bench:-} \
	--only idle_alloc_free,steady_pipeline,mixed_sizes,small_buffers,concurrency,lending
echo "cmabuf-bench: exit $?"
