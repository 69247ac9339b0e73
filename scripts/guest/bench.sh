#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make bench` in the guest: cmabuf_bench in full on the camera pool, with page cache
# from a file on the ext2 file system of the virtio-blk disk for the pressure runs.
mkdir -p /mnt
if mount -t ext2 -o ro /dev/vda /mnt; then
	file=/mnt/pagecache
else
	echo "cmabuf-bench: no ext2 disk: page cache comes from shmem only"
fi
# cmabuf as a board would load it for a camera pipeline: a 16 MiB warm cache per pool
# (a quarter of the pool, so that the CMA heap sharing the pool in this benchmark
# always finds room beside it).
params="cache_bytes=16777216 cache_idle_ms=5000"
rmmod cmabuf && insmod /lib/modules/cmabuf.ko $params && echo "cmabuf-bench: cmabuf loaded with $params"
cmabuf_bench --pool camera ${file:+--file $file}
echo "cmabuf-bench: exit $?"
