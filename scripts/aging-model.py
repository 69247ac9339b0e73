#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A host model of the aging benchmark: the plan on CMA's first-fit placement.

usage: cmabuf_aging_bench --plan-only POOL-BYTES --dump [--seed S] ... |
           scripts/aging-model.py POOL-BYTES

Replays a plan of selftests/tools/cmabuf_aging_bench.c (its --dump lines) on a model of
one CMA area of POOL-BYTES: cma_alloc() takes the first free run from the bottom whose
start is aligned (mm/cma.c, cma_range_alloc: bitmap_find_next_zero_area_off), cmabuf
today asks for page alignment, the CMA heap for the size's power of two up to 1 MiB
(drivers/dma-buf/heaps/cma_heap.c, CONFIG_CMA_ALIGNMENT 8). Nothing is lent out and
nothing else uses the area. Prints, per allocator, what the guest tool reports: failed
allocations, those with free >= 2x the request, the largest free run / free at the end
and after each mode switch freed its frames. For checking the guest's figures against
placement alone, and for trying a placement policy in seconds before writing it.
"""
import sys

PAGE = 4096
HEAP_MAX_ORDER = 8  # CONFIG_CMA_ALIGNMENT


def order_of(pages):
    o = 0
    while (1 << o) < pages:
        o += 1
    return o


class Area:
    def __init__(self, pages):
        self.used = bytearray(pages)
        self.pages = pages
        self.free = pages

    def find(self, count, order):
        """The first free run of count pages starting at a multiple of 1 << order, or -1."""
        mask = (1 << order) - 1
        want = bytes(count)
        start = 0
        while True:
            i = self.used.find(want, start)
            if i < 0:
                return -1
            a = (i + mask) & ~mask
            if a + count <= self.pages and self.used[a:a + count] == want:
                return a
            start = a if a > i else i + 1

    def largest(self):
        return max((len(r) for r in bytes(self.used).split(b"\x01")), default=0)


def replay(lines, pages, heap):
    area, bufs = Area(pages), {}
    failed = failed_2x = 0
    ratios = []
    for line in lines:
        w = line.split()
        if not w:
            continue
        if w[0] == "alloc":
            count = (int(w[2]) + PAGE - 1) // PAGE
            order = min(order_of(count), HEAP_MAX_ORDER) if heap else 0
            pos = area.find(count, order) if count <= area.free else -1
            if pos < 0:
                failed += 1
                failed_2x += area.free >= 2 * count
            else:
                area.used[pos:pos + count] = b"\x01" * count
                area.free -= count
                bufs[w[1]] = (pos, count)
        elif w[0] == "free" and w[1] in bufs:
            pos, count = bufs.pop(w[1])
            area.used[pos:pos + count] = bytes(count)
            area.free += count
        elif w[0] == "switched" and area.free:
            ratios.append(area.largest() / area.free)
    end = area.largest() / area.free if area.free else 0
    return failed, failed_2x, end, ratios


def main(argv):
    if len(argv) != 1:
        sys.exit(__doc__.split("\n\n")[1])
    pages = int(argv[0], 0) // PAGE
    lines = [line for line in sys.stdin if not line.startswith("plan:")]
    for name, heap in (("cmabuf", False), ("cma-heap", True)):
        failed, failed_2x, end, ratios = replay(lines, pages, heap)
        mean = sum(ratios) / len(ratios) if ratios else 0
        print(f"{name}: {failed} allocations failed, {failed_2x} with free >= 2x the "
              f"request; largest free run / free at the end {100 * end:.1f} %, after mode "
              f"switches mean {100 * mean:.1f} % lowest {100 * min(ratios, default=0):.1f} %")


if __name__ == "__main__":
    main(sys.argv[1:])
