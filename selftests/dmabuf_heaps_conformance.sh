#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs in the guest after heap_test (cmabuf loaded with dma_heap=1): the kernel's own,
# unmodified dmabuf-heaps selftest (tools/testing/selftests/dmabuf-heaps) on each
# cmabuf heap of a board pool and on the kernel's CMA heap of the same region, side by
# side. Prints the test's own output as comments, then TAP: every cmabuf heap passes
# all of its cases (no skips), exactly as the kernel's CMA heap does on that region.
#
# The test walks every node of /dev/dma_heap; a private tmpfs over that directory with
# copies of the chosen nodes limits it to these heaps. Its "32 x 1 MiB zeroed" case
# needs a pool larger than 32 MiB to hold (on any heap): the 64 MiB camera pool is
# the one that can pass; the display pool (exactly 32 MiB, a page of which earlier
# tests may still hold) and the test pools with deliberate limits fail it by design.
cd "$(dirname "$0")" || exit 1
POOLS="camera"
HEAPS=/dev/dma_heap

plan=0
for p in $POOLS; do plan=$((plan + 2)); done
echo "TAP version 13"
echo "1..$plan"

stage=/tmp/dma_heap_stage
mkdir -p "$stage"
names=""
for p in $POOLS; do
	region=$(sed -n 's/^region: //p' "/sys/kernel/debug/cmabuf/$p/info")
	heap=$(sed -n 's/^heap: //p' "/sys/kernel/debug/cmabuf/$p/info")
	names="$names $heap $region"
done
mount -t tmpfs heaps "$stage"
for n in $names; do
	[ -e "$HEAPS/$n" ] || { echo "# $HEAPS/$n is missing"; continue; }
	dev=$(cat "/sys/class/dma_heap/$n/dev")
	mknod "$stage/$n" c "${dev%%:*}" "${dev##*:}"
done
mount --bind "$stage" "$HEAPS"
./dmabuf-heap >/tmp/dmabuf-heap.out 2>&1
echo "# dmabuf-heap exit $?"
umount "$HEAPS"
umount "$stage"
sed 's/^/# | /' /tmp/dmabuf-heap.out

# One line per case: "<heap> <ok|fail|skip>", in the order the test ran them.
awk '/^# Testing heap: / { heap = $4 }
	/^ok [0-9]+ .*# SKIP/ { print heap, "skip"; next }
	/^ok [0-9]+ / { print heap, "ok"; next }
	/^not ok [0-9]+ / { print heap, "fail" }' /tmp/dmabuf-heap.out >/tmp/dmabuf-heap.cases

# Cases per heap, from the test's own plan (ksft_set_plan(cases * heaps)): 11 on 7.2,
# 12 on 7.3.
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' /tmp/dmabuf-heap.out | head -1)
heaps=$(grep -c '^# Testing heap: ' /tmp/dmabuf-heap.out)
CASES=$((heaps ? ${planned:-0} / heaps : 0))

n=0
set -- $names
while [ $# -ge 2 ]; do
	ours=$1 theirs=$2
	shift 2
	n=$((n + 1))
	passed=$(grep -c "^$ours ok$" /tmp/dmabuf-heap.cases)
	total=$(grep -c "^$ours " /tmp/dmabuf-heap.cases)
	if [ "$CASES" -gt 0 ] && [ "$passed" = "$CASES" ] && [ "$total" = "$CASES" ]; then
		echo "ok $n dmabuf-heaps selftest: $ours passes $passed of $CASES cases"
	else
		echo "not ok $n dmabuf-heaps selftest: $ours passes $passed of $CASES cases ($total ran)"
	fi
	n=$((n + 1))
	a=$(sed -n "s/^$ours //p" /tmp/dmabuf-heap.cases | tr '\n' ' ')
	b=$(sed -n "s/^$theirs //p" /tmp/dmabuf-heap.cases | tr '\n' ' ')
	if [ -n "$b" ] && [ "$a" = "$b" ]; then
		echo "ok $n dmabuf-heaps selftest: $ours gives the same results as the kernel's CMA heap $theirs"
	else
		echo "not ok $n dmabuf-heaps selftest: $ours [$a] differs from the kernel's CMA heap $theirs [$b]"
	fi
done
