#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Compare placement policies for cmabuf on the aging model, over several seeds.

usage: scripts/aging-policies.py BENCH [--pool BYTES] [--ops N] [--seeds 1-8]
                                 [--policy NAME=OPTIONS]...

BENCH is a host build of selftests/tools/cmabuf_aging_bench.c (see scripts/aging-model.py);
each seed's plan is its --plan-only --dump, replayed by scripts/aging-model.py on one CMA
area of the pool's size for each policy (OPTIONS as aging-model.py takes them, e.g.
"--small 65536 --arena 4194304 --reserve 1"), and on the CMA heap. Prints, per policy,
the failures with free >= 2x the request and the largest free run / free at the end,
per seed and their spread, and one JSON line per policy and seed ("aging-policy: {...}")
for the raw record.
"""
import argparse
import importlib.util
import json
import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("aging_model", os.path.join(HERE, "aging-model.py"))
model = importlib.util.module_from_spec(spec)
spec.loader.exec_module(model)

DEFAULT_POLICIES = [
    "today=",
    "heap=heap",
]


def seeds_of(text):
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def plan(bench, pool, ops, seed):
    cmd = [bench, "--plan-only", str(pool), "--dump", "--ops", str(ops), "--seed", str(seed)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()
    head = [line for line in out if line.startswith("plan:")]
    return head[0] if head else "", [line for line in out if not line.startswith("plan:")]


def peak_small(lines, small=64 << 10):
    """The most bytes live at once in buffers of at most small bytes."""
    live, now, peak = {}, 0, 0
    for line in lines:
        w = line.split()
        if len(w) >= 3 and w[0] == "alloc" and int(w[2]) <= small:
            live[w[1]] = int(w[2])
            now += int(w[2])
            peak = max(peak, now)
        elif len(w) >= 2 and w[0] == "free" and w[1] in live:
            now -= live.pop(w[1])
    return peak


def spread(values, fmt):
    return f"{fmt(min(values))}-{fmt(max(values))}" if values else "-"


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("bench")
    p.add_argument("--pool", type=lambda v: int(v, 0), default=256 << 20)
    p.add_argument("--ops", type=int, default=100000)
    p.add_argument("--seeds", default="1-8")
    p.add_argument("--policy", action="append", default=[], metavar="NAME=OPTIONS")
    args = p.parse_args(argv)
    pages = args.pool // model.PAGE
    policies = []
    for item in DEFAULT_POLICIES + args.policy:
        name, _, opts = item.partition("=")
        if opts == "heap":
            policies.append((name, opts, True, {}))
        else:
            o = model.parser().parse_args([str(args.pool)] + shlex.split(opts))
            policies.append((name, opts, False, model.policy_of(o)))
    print("# scripts/aging-policies.py " + shlex.join(argv))
    seeds = seeds_of(args.seeds)
    results = {name: [] for name, _, _, _ in policies}
    for seed in seeds:
        head, lines = plan(args.bench, args.pool, args.ops, seed)
        print(f"# seed {seed}: {head}; buffers of at most 64 KiB live at once: at most "
              f"{peak_small(lines) / 2**20:.2f} MiB", flush=True)
        for name, opts, heap, policy in policies:
            r = model.replay(lines, pages, heap, policy)
            ratios = r.pop("ratios")
            r["switch_mean"] = sum(ratios) / len(ratios) if ratios else 0
            r["switch_lowest"] = min(ratios, default=0)
            r.update(seed=seed, ops=args.ops, pool=args.pool, policy=name, options=opts)
            results[name].append(r)
            print("aging-policy: " + json.dumps(r), flush=True)
    pct = lambda v: f"{100 * v:.1f}"  # noqa: E731
    print()
    print(f"# {args.ops} operations, pool {args.pool}, seeds {args.seeds}; spreads are min-max")
    print("| policy | options | failed | failed, free >= 2x | end largest / free % "
          "| same, arena slack counted free % | after switches mean / lowest % | goal |")
    print("|---|---|---|---|---|---|---|---|")
    for name, opts, _, _ in policies:
        rs = results[name]
        f2 = [r["failed_2x"] for r in rs]
        f2p = [r["failed_2x_pool"] for r in rs]
        end = [r["end"] for r in rs]
        endp = [r["end_pool"] for r in rs]
        met = all(x == 0 for x in f2p) and all(x >= 0.9 for x in endp)
        print(f"| {name} | `{opts or 'page alignment, no arenas'}` "
              f"| {', '.join(str(r['failed']) for r in rs)} "
              f"| {', '.join(map(str, f2))} (pool: {max(f2p)} at most) "
              f"| {spread(end, pct)} | {spread(endp, pct)} "
              f"| {spread([r['switch_mean'] for r in rs], pct)} / "
              f"{spread([r['switch_lowest'] for r in rs], pct)} | {'met' if met else 'not met'} |")


if __name__ == "__main__":
    main(sys.argv[1:])
