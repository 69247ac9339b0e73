#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make bench` in the guest, one boot, these runs on one pool:
#  scale: cmabuf_scale_bench, what the bookkeeping costs per live buffer (cmabuf as
#     loaded by default; first, on the freshest system, for its memory figures);
#  cache-off: cmabuf_bench against the CMA heap of the same area, cmabuf as loaded by
#     default (no warm cache): every scenario;
#  cache-on: cmabuf_bench again, cmabuf reloaded with a warm cache of a quarter of the
#     pool (the rest is room for the CMA heap sharing the area): the scenarios the cache
#     changes;
#  aging: cmabuf_aging_bench, mode switches against the CMA heap of the same area
#     (cmabuf as loaded by default), then the same seed on cmabuf reloaded with a
#     small-buffer arena (small_arena_bytes), in boots of its own (scripts/job.sh).
# The host passes on the kernel command line (scripts/bench.sh, scripts/job.sh):
#  cmabuf_pool     the pool (camera on the arm64 board, default on x86_64);
#  cmabuf_params   the module parameters the board needs (default_pool= on x86_64);
#  cmabuf_bench    more cmabuf_bench arguments (e.g. --pressure-rounds 10);
#  cmabuf_runs     which runs, comma-separated (scale, cache-off, cache-on by default);
#  cmabuf_boot     the boot's number (1, 2, ...): the aging run's seed;
#  cmabuf_aging_pool  the aging run's pool (aging on the arm64 board, else cmabuf_pool);
#  cmabuf_aging    more cmabuf_aging_bench arguments (e.g. --ops 20000);
#  cmabuf_aging_arena  the arena's bytes for the second aging run (7 MiB: the size the
#     model found best for the 256 MiB aging pool, Documentation/benchmarks.md).
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

if [ "${runs#*,aging,}" != "$runs" ]; then
	load
	# Each failed allocation of the CMA heap prints an error and every free run of the
	# area (cma_alloc): to the kernel log only, not the emulated serial console.
	read -r level _ </proc/sys/kernel/printk
	echo 1 >/proc/sys/kernel/printk
	# shellcheck disable=SC2086 # cmabuf_aging: several arguments
	cmabuf_aging_bench --pool "${cmabuf_aging_pool:-$pool}" --seed "${cmabuf_boot:-1}" \
		${cmabuf_aging:-}
	echo "cmabuf-aging: exit $?"
	# The same seed on cmabuf with its small-buffer arena, taken at bind (so reloaded):
	# alone, since the arena's pages are used in the area the heap would share.
	load small_arena_bytes="${cmabuf_aging_arena:-7340032}"
	# shellcheck disable=SC2086 # cmabuf_aging: several arguments
	cmabuf_aging_bench --pool "${cmabuf_aging_pool:-$pool}" --seed "${cmabuf_boot:-1}" \
		--only cmabuf ${cmabuf_aging:-}
	echo "cmabuf-aging: exit $?"
	echo "$level" >/proc/sys/kernel/printk
	echo "cmabuf-aging: kernel log: $(dmesg | grep -c 'alloc failed, req-size') CMA allocation failures reported"
fi
