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
# cmabuf as a board would load it for a camera pipeline: a 32 MiB warm cache per pool.
params="cache_bytes=33554432 cache_idle_ms=5000"
rmmod cmabuf && insmod /lib/modules/cmabuf.ko $params && echo "cmabuf-bench: cmabuf loaded with $params"
cmabuf_bench --pool camera ${file:+--file $file}
echo "cmabuf-bench: exit $?"
