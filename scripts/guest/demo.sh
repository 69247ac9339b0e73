#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make run` in the guest: show cmabuf serving the board's pools.
section() { printf '\n== %s ==\n' "$*"; }
# The board's pools for the demos: camera and display from the device tree, or on a
# board without one (x86_64) the one pool named by cmabuf_pool= (scripts/run-qemu.sh).
camera=${cmabuf_pool:-camera}
display=${cmabuf_pool:-display}

section "device nodes"
ls -l /dev/cmabuf-*
section "pools bound to the cmabuf driver"
ls /sys/bus/platform/drivers/cmabuf/ | grep -v -e bind -e uevent -e module
section "kernel log"
dmesg | grep -e cmabuf -e 'Reserved memory' -e 'CMA'
section "debugfs: /sys/kernel/debug/cmabuf/*/info"
for f in /sys/kernel/debug/cmabuf/*/info; do
	echo "-- $f"
	cat "$f"
done
section "CMA areas (/sys/kernel/mm/cma) and /proc/meminfo"
for d in /sys/kernel/mm/cma/*; do
	echo "$(basename "$d"): $(cat "$d/total_pages") pages, $(cat "$d/available_pages") available"
done
grep Cma /proc/meminfo
section "the admin guide's example (Documentation/examples/cmabuf_example.c)"
cmabuf_example "$camera"
section "allocate, map, write, verify and free a buffer on every pool"
cmabuf_demo $(ls /dev/cmabuf-* | sed 's|/dev/cmabuf-||')
section "the camera pool lent to the system while idle, then taken back by an allocation"
cmabuf_demo --lend "$camera"
section "camera -> display with real drivers: vivid captures, vkms scans out and writes back"
cmabuf_pipeline "$camera" "$display"
section "cmabuf_stat: every pool and zone"
cmabuf_stat
n=$(ls -d /sys/bus/platform/drivers/cmabuf/cmabuf-* 2>/dev/null | wc -l)
echo
echo "cmabuf-run: bound $n pools"
for dev in /dev/cmabuf-*; do echo "cmabuf-run: serves $dev"; done
