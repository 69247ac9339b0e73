#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make bench` in the guest, one boot, these runs on one pool:
#  scale: cmabuf_scale_bench, what the bookkeeping costs per live buffer (cmabuf as
#     loaded by default; first, on the freshest system, for its memory figures);
#  cache-off: cmabuf_bench against the CMA heap of the same area, cmabuf as loaded by
#     default (no warm cache): every scenario;
#  cache-on: cmabuf_bench again, cmabuf reloaded with a warm cache of a quarter of the
#     pool (the rest is room for the CMA heap sharing the area): the scenarios the cache
#     changes.
# The host passes on the kernel command line (scripts/bench.sh, scripts/job.sh):
#  cmabuf_pool     the pool (camera on the arm64 board, default on x86_64);
#  cmabuf_params   the module parameters the board needs (default_pool= on x86_64);
#  cmabuf_bench    more cmabuf_bench arguments (e.g. --pressure-rounds 10);
#  cmabuf_runs     which runs, comma-separated (all three by default).
pool=${cmabuf_pool:-camera}
runs=,${cmabuf_runs:-scale,cache-off,cache-on},
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

if [ "${runs#*,scale,}" != "$runs" ]; then
	load
	cmabuf_scale_bench --pool "$pool"
	echo "cmabuf-scale: exit $?"
fi

if [ "${runs#*,cache-off,}" != "$runs" ]; then
	load
	# shellcheck disable=SC2086 # cmabuf_bench: several arguments
	cmabuf_bench --pool "$pool" ${file:+--file $file} ${cmabuf_bench:-}
	echo "cmabuf-bench: exit $?"
fi

if [ "${runs#*,cache-on,}" != "$runs" ]; then
	load
	size=$(sed -n 's/^size: //p' "/sys/kernel/debug/cmabuf/$pool/info")
	load cache_bytes=$((size / 4)) cache_idle_ms=5000
	# shellcheck disable=SC2086
	cmabuf_bench --pool "$pool" ${file:+--file $file} ${cmabuf_bench:-} \
		--only idle_alloc_free,steady_pipeline,mixed_sizes,small_buffers,concurrency,lending
	echo "cmabuf-bench: exit $?"
fi
