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
import argparse
import json
import sys

PAGE = 4096
HEAP_MAX_ORDER = 8  # CONFIG_CMA_ALIGNMENT
FRAME_MIN = (1 << 20) // PAGE  # --frame-order applies to buffers larger than this


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

    def take(self, pos, count):
        self.used[pos:pos + count] = b"\x01" * count
        self.free -= count

    def give(self, pos, count):
        self.used[pos:pos + count] = bytes(count)
        self.free += count

    def largest(self):
        return max((len(r) for r in bytes(self.used).split(b"\x01")), default=0)


class Arenas:
    """Small buffers sub-allocated first fit from pool-owned arenas (a placement policy
    cmabuf can build on cma_alloc alone): an arena is one run of ARENA pages taken with
    cma_alloc (so placed by CMA's first fit like any run), small buffers go to the lowest
    arena (by address) with room, first fit within it; an arena is given back when it is
    empty, unless it is one of the RESERVE arenas taken at bind (the bottom of the empty
    area) or KEEP empty arenas are not already kept (the lowest are kept)."""

    def __init__(self, area, pages, reserve, keep, order, grow=True):
        self.area, self.pages, self.keep, self.order = area, pages, keep, order
        self.may_grow = grow
        self.arenas = []  # [start, used bytearray, live pages, reserved]
        for _ in range(reserve):
            if not self.grow(True):
                sys.exit("aging-model.py: the reserved arenas do not fit in the area")

    def grow(self, reserved=False):
        pos = self.area.find(self.pages, self.order) if self.pages <= self.area.free else -1
        if pos < 0:
            return None
        self.area.take(pos, self.pages)
        arena = [pos, bytearray(self.pages), 0, reserved]
        self.arenas.append(arena)
        self.arenas.sort(key=lambda a: a[0])
        return arena

    @staticmethod
    def fit(arena, count):
        i = arena[1].find(bytes(count))
        return i

    def alloc(self, count):
        for arena in self.arenas:
            if arena[1].count(0) >= count:
                i = self.fit(arena, count)
                if i >= 0:
                    return self.place(arena, i, count)
        arena = self.grow() if self.may_grow else None
        if arena is None:
            return None
        return self.place(arena, 0, count)

    @staticmethod
    def place(arena, i, count):
        arena[1][i:i + count] = b"\x01" * count
        arena[2] += count
        return (arena, i, count)

    def free(self, handle):
        arena, i, count = handle
        arena[1][i:i + count] = bytes(count)
        arena[2] -= count
        if arena[2] or arena[3]:
            return
        empty = [a for a in self.arenas if not a[2] and not a[3]]
        if len(empty) > self.keep:
            victim = empty[-1]  # the highest empty arena goes back first
            self.arenas.remove(victim)
            self.area.release(victim[0], self.pages)

    def slack(self):
        """Pages of arenas not holding a buffer: free for a small buffer, not for a frame."""
        return sum(self.pages - a[2] for a in self.arenas)


class WarmCache:
    """cmabuf's warm cache (cache_bytes, rust/allocator/cache.rs) without its idle
    expiry: a freed run of its own stays allocated in the CMA area, kept for the next
    allocation of its size (the earliest kept such run), up to LIMIT pages, the oldest
    given back first; an allocation it cannot serve is placed by first fit among the
    held runs only (cached ones step aside: those in the way are given back first,
    make_room). So the area (what CMA sees) holds held and cached runs, `held` only the
    held ones."""

    def __init__(self, area, held, limit):
        self.area, self.held, self.limit = area, held, limit
        self.runs = []  # (pos, count), oldest first
        self.pages = 0

    def put(self, pos, count):
        self.held.give(pos, count)
        if count > self.limit:
            self.area.give(pos, count)
            return
        while self.pages + count > self.limit:
            self.drop(0)
        self.runs.append((pos, count))
        self.pages += count

    def drop(self, i):
        pos, count = self.runs.pop(i)
        self.pages -= count
        self.area.give(pos, count)

    def take(self, count):
        for i, (pos, c) in enumerate(self.runs):
            if c == count:
                self.runs.pop(i)
                self.pages -= count
                self.held.take(pos, count)
                return pos
        return -1

    def step_aside(self, pos, count):
        for i in reversed(range(len(self.runs))):
            p, c = self.runs[i]
            if p < pos + count and pos < p + c:
                self.drop(i)


class Placement:
    """cma_alloc on the area, with the warm cache's runs stepping aside if there is one."""

    def __init__(self, pages, cache_pages):
        self.area = Area(pages)
        self.held = Area(pages) if cache_pages else self.area
        self.cache = WarmCache(self.area, self.held, cache_pages) if cache_pages else None

    def find(self, count, order):
        return self.held.find(count, order) if count <= self.held.free else -1

    def take(self, pos, count):
        if self.cache:
            self.cache.step_aside(pos, count)
            self.held.take(pos, count)
        self.area.take(pos, count)

    def give(self, pos, count):
        if self.cache:
            self.cache.put(pos, count)
        else:
            self.area.give(pos, count)

    def release(self, pos, count):
        """Give a run back to the area, never to the warm cache (an arena)."""
        if self.cache:
            self.held.give(pos, count)
        self.area.give(pos, count)

    @property
    def free(self):
        return self.held.free


def replay(lines, pages, heap, policy=None):
    policy = policy or {}
    place = Placement(pages, policy.get("cache", 0) // PAGE)
    area, bufs = place.area, {}
    small = policy.get("small", 0) // PAGE
    arenas = None
    if small:
        arenas = Arenas(place, policy["arena"] // PAGE, policy.get("reserve", 0),
                        policy.get("keep", 0), policy.get("arena_order", 0),
                        policy.get("grow", True))
    frame_order = policy.get("frame_order", 0)
    failed = failed_2x = failed_2x_pool = 0
    ratios = []
    for line in lines:
        w = line.split()
        if not w:
            continue
        if w[0] == "alloc":
            count = (int(w[2]) + PAGE - 1) // PAGE
            if arenas and count <= small:
                handle = arenas.alloc(count)
                if handle is not None:
                    bufs[w[1]] = handle
                    continue
                # No arena has room and no new one fits: a run of its own, as today.
            if heap:
                order = min(order_of(count), HEAP_MAX_ORDER)
            else:
                order = frame_order if count > max(small, FRAME_MIN) else 0
            pos = place.cache.take(count) if place.cache else -1
            if pos >= 0:
                bufs[w[1]] = (None, pos, count)
                continue
            pos = place.find(count, order)
            if pos < 0:
                failed += 1
                failed_2x += area.free >= 2 * count
                slack = arenas.slack() if arenas else 0
                failed_2x_pool += place.held.free + slack >= 2 * count
            else:
                place.take(pos, count)
                bufs[w[1]] = (None, pos, count)
        elif w[0] == "free" and w[1] in bufs:
            handle = bufs.pop(w[1])
            if handle[0] is None:
                place.give(handle[1], handle[2])
            else:
                arenas.free(handle)
        elif w[0] == "switched" and area.free:
            ratios.append(area.largest() / area.free)
    end = area.largest() / area.free if area.free else 0
    slack = arenas.slack() if arenas else 0
    held = place.held
    end_pool = held.largest() / (held.free + slack) if held.free + slack else 0
    return {"failed": failed, "failed_2x": failed_2x, "failed_2x_pool": failed_2x_pool,
            "end": end, "end_pool": end_pool, "ratios": ratios,
            "arenas": len(arenas.arenas) if arenas else 0, "slack": slack * PAGE}


def policy_of(args):
    """The cmabuf placement policy the options describe ({} is cmabuf today)."""
    policy = {}
    if args.small:
        policy = {"small": args.small, "arena": args.arena, "reserve": args.reserve,
                  "keep": args.keep, "arena_order": args.arena_order,
                  "grow": not args.no_grow}
    if args.frame_order:
        policy["frame_order"] = args.frame_order
    if args.cache:
        policy["cache"] = args.cache
    return policy


def parser():
    p = argparse.ArgumentParser(
        description="Replay an aging plan (cmabuf_aging_bench --plan-only ... --dump, on "
        "stdin) on a model of CMA's first fit, for cmabuf and the CMA heap.")
    p.add_argument("pool_bytes", type=lambda v: int(v, 0))
    p.add_argument("--small", type=lambda v: int(v, 0), default=0, metavar="BYTES",
                   help="cmabuf: buffers of at most BYTES go to arenas (0: no arenas, "
                   "cmabuf today)")
    p.add_argument("--arena", type=lambda v: int(v, 0), default=4 << 20, metavar="BYTES",
                   help="cmabuf: the size of one arena (default 4 MiB)")
    p.add_argument("--reserve", type=int, default=0, metavar="N",
                   help="cmabuf: arenas taken at bind and never given back")
    p.add_argument("--keep", type=int, default=0, metavar="N",
                   help="cmabuf: empty arenas kept rather than given back (hysteresis)")
    p.add_argument("--no-grow", action="store_true",
                   help="cmabuf: no arenas beyond the reserved ones; a small buffer they "
                   "cannot hold gets a run of its own, as today")
    p.add_argument("--arena-order", type=int, default=0, metavar="ORDER",
                   help="cmabuf: an arena's alignment asked of cma_alloc (pages, log2)")
    p.add_argument("--frame-order", type=int, default=0, metavar="ORDER",
                   help="cmabuf: alignment asked for buffers over 1 MiB (pages, log2)")
    p.add_argument("--cache", type=lambda v: int(v, 0), default=0, metavar="BYTES",
                   help="cmabuf: the warm cache on, cache_bytes=BYTES, no idle expiry")
    p.add_argument("--json", action="store_true", help="one JSON line per allocator")
    return p


def main(argv):
    args = parser().parse_args(argv)
    pages = args.pool_bytes // PAGE
    lines = [line for line in sys.stdin if not line.startswith("plan:")]
    for name, heap in (("cmabuf", False), ("cma-heap", True)):
        r = replay(lines, pages, heap, {} if heap else policy_of(args))
        ratios = r.pop("ratios")
        mean = sum(ratios) / len(ratios) if ratios else 0
        low = min(ratios, default=0)
        if args.json:
            print(json.dumps({"allocator": name, **r, "switch_mean": mean,
                              "switch_lowest": low}))
            continue
        print(f"{name}: {r['failed']} allocations failed, {r['failed_2x']} with free >= 2x "
              f"the request; largest free run / free at the end {100 * r['end']:.1f} %, "
              f"after mode switches mean {100 * mean:.1f} % lowest {100 * low:.1f} %")
        if r["arenas"] or (not heap and args.small):
            print(f"{name}: arenas at the end {r['arenas']}, their free "
                  f"{r['slack'] / 2**20:.2f} MiB; counting it as free: "
                  f"{r['failed_2x_pool']} failed with free >= 2x the request, largest free "
                  f"run / free at the end {100 * r['end_pool']:.1f} %")


if __name__ == "__main__":
    main(sys.argv[1:])
