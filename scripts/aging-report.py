#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The aging benchmark's report: cmabuf against the CMA heap after many mode switches.

usage: aging-report.py --out DIR --command CMD [--platform NAME MACHINE LOG...]...
                       [--not-run NAME WHY]...

Reads the "cmabuf-aging: {json}" lines of selftests/tools/cmabuf_aging_bench.c from each
boot's console (scripts/job.sh bench with CMABUF_BENCH_RUNS=aging; one seed per boot),
checks that every allocator of a seed ran the same plan (its hash), and writes
DIR/aging.json (every run's record), DIR/aging.md, and the same table into
DIR/../benchmarks.md between the aging markers. Figures: the median over the runs with
[min–max]. NAME is kvm (hardware speed) or tcg (emulated: times are not hardware's).
Exits 1 if no boot is complete.
"""
import argparse
import json
import os
import re
import statistics
import sys

PLATFORMS = {"kvm": "KVM: x86_64 guest under KVM, hardware speed",
             "tcg": "TCG: arm64 guest under QEMU TCG emulation (times emulated, not hardware's)"}
# Every allocator a boot may have run, in the table's order: cmabuf with its small-buffer
# arena (small_arena_bytes; a second run of the boot, after the other two, if there is
# one), cmabuf without it, the CMA heap. The goal is judged on the first present.
BACKENDS = [("cmabuf-arena", "cmabuf, small-buffer arena"), ("cmabuf", "cmabuf, no arena"),
            ("cma-heap", "CMA heap")]
REQUIRED = {"cmabuf", "cma-heap"}
BEGIN, END = "<!-- aging:begin (scripts/aging-report.py) -->", "<!-- aging:end -->"
# What a fragmentation-resistant placement must reach (issue 18).
GOAL_RATIO = 0.90


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--command", default="make bench", help="the command that ran it")
    ap.add_argument("--platform", nargs="+", action="append", default=[], metavar="ARG",
                    help="NAME MACHINE LOG...: NAME is kvm or tcg, MACHINE the QEMU options")
    ap.add_argument("--not-run", nargs=2, action="append", default=[],
                    metavar=("PLATFORM", "WHY"), help="say why a platform was not run")
    args = ap.parse_args(argv)
    for p in args.platform:
        if p[0] not in PLATFORMS or len(p) < 2:
            ap.error(f"--platform {' '.join(p)}: want kvm|tcg MACHINE LOG...")
    return args


def read_boot(path):
    """One boot's aging run: its meta, results, and whether it finished."""
    boot = {"log": os.path.basename(path), "complete": False, "why": None, "meta": None,
            "results": []}
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError as e:
        boot["why"] = f"unreadable: {e.strerror}"
        return boot
    done = 0
    metas = []
    for line in lines:
        m = re.match(r"^cmabuf-aging: (\{.*\})\s*$", line)
        try:
            rec = json.loads(m.group(1)) if m else None
        except json.JSONDecodeError:
            rec = None
        if not isinstance(rec, dict):
            continue
        if rec.get("meta"):
            metas.append(rec)
        elif rec.get("done"):
            done += 1
        elif rec.get("result"):
            boot["results"].append(rec)
    hashes = {r["plan_hash"] for r in boot["results"]}
    backends = sorted(r["backend"] for r in boot["results"])
    # The boot's meta is its first run's; the arena run's says the arena's size.
    boot["meta"] = metas[0] if metas else None
    boot["arena_bytes"] = max((m.get("arena_bytes", 0) for m in metas), default=0)
    if not boot["meta"]:
        boot["why"] = "no cmabuf_aging_bench output"
    elif boot["meta"].get("smoke"):
        boot["why"] = "a smoke run, not a measurement"
    elif done != len(metas):
        boot["why"] = "an aging run did not finish (no done line)"
    elif len(backends) != len(set(backends)) or not REQUIRED <= set(backends) or \
            not set(backends) <= {b for b, _ in BACKENDS}:
        boot["why"] = "not one result per allocator"
    elif len(hashes) != 1:
        boot["why"] = f"the allocators ran different plans ({', '.join(sorted(hashes))})"
    elif not all(r.get("freed") for r in boot["results"]):
        boot["why"] = "a run did not free every buffer"
    else:
        boot["complete"] = True
    return boot


def spread(values, fmt):
    """median [min–max] of values, each formatted with fmt."""
    if not values:
        return "–"
    med = statistics.median(values)
    if min(values) == max(values):
        return fmt(med)
    return f"{fmt(med)} [{fmt(min(values))}–{fmt(max(values))}]"


def pct(v):
    return f"{100 * v:.1f} %"


def num(v):
    return f"{v:,.0f}".replace(",", " ")


def us(v):
    return f"{v:,.0f}".replace(",", " ") if v >= 100 else f"{v:.1f}"


def platform_text(p):
    if p.get("not_run"):
        return f"### {PLATFORMS[p['name']]}\n\nNot run: {p['not_run']}.\n\n"
    boots = [b for b in p["boots"] if b["complete"]]
    out = [f"### {PLATFORMS[p['name']]}\n"]
    if not boots:
        out.append("No complete boot: " + "; ".join(f"{b['log']}: {b['why']}"
                                                     for b in p["boots"]) + ".\n")
        return "\n".join(out) + "\n"
    meta = boots[0]["meta"]
    present = {r["backend"] for bt in boots for r in bt["results"]}
    backends = [(b, label) for b, label in BACKENDS if b in present]
    arena = {bt["arena_bytes"] for bt in boots if bt["arena_bytes"]}
    seeds = ", ".join(str(b["meta"]["seed"]) for b in boots)
    out.append(f"Kernel {meta['kernel']} ({meta['machine']}), QEMU `{p['machine']}`, "
               f"{meta['cpus']} CPUs; pool `{meta['pool']}` "
               f"({meta['pool_bytes'] // (1 << 20)} MiB, region `{meta['region']}`) against "
               f"`{meta['heap']}` on the same CMA area `{meta['cma_area']}`"
               f"{' (the area beyond the pool filled by a ballast from the heap)' if meta.get('ballast') else ''}; "
               f"{len(boots)} boots, one seed each ({seeds}), {num(meta['ops'])} operations "
               f"per allocator and seed, a mode switch every {meta['switch_every']} "
               "operations on average. Figures: median [min–max] over the seeds.\n")
    if arena:
        out.append("cmabuf, small-buffer arena: the same seed on cmabuf reloaded with "
                   f"`small_arena_bytes={'/'.join(str(a) for a in sorted(arena))}` "
                   f"({'/'.join(f'{a / (1 << 20):g}' for a in sorted(arena))} MiB, taken "
                   "at bind at the bottom of the area, where buffers of at most 64 KiB "
                   "go), after the other two. Its arena counts as used in the area's "
                   "free and largest free run, as the area's debugfs sees it.\n")
    rows = [
        ("operations", lambda r: r["ops"], num),
        ("allocations (of which frames: see aging.json)", lambda r: r["allocs"], num),
        ("mode switches", lambda r: r["mode_switches"], num),
        ("mean occupancy (bytes live ÷ pool)", lambda r: r["occupancy_mean"], pct),
        ("**allocations failed**", lambda r: r["failures"], num),
        ("**failed with free ≥ 2× the request**", lambda r: r["failures_2x_free"], num),
        ("  of them: frames / metadata", None, None),
        ("**largest free run ÷ free, at the end**", lambda r: r["end_ratio"], pct),
        ("largest free run ÷ free after each mode switch freed its frames: mean",
         lambda r: r["switch_ratio_mean"], pct),
        ("  … lowest", lambda r: r["switch_ratio_min"], pct),
        ("time per operation, µs (whole run ÷ operations)", lambda r: r["us_per_op"], us),
        ("frame allocation p50, µs", lambda r: r["frame_alloc"].get("p50", 0), us),
        ("metadata allocation p50, µs", lambda r: r["meta_alloc"].get("p50", 0), us),
        ("free p50, µs", lambda r: r["free"].get("p50", 0), us),
        ("run time, s", lambda r: r["seconds"], lambda v: f"{v:.0f}"),
    ]
    out.append("| | " + " | ".join(label for _, label in backends) + " | goal |")
    out.append("|---|" + "---|" * (len(backends) + 1))
    by = {b: [r for bt in boots for r in bt["results"] if r["backend"] == b] for b, _ in backends}
    goals = {"**failed with free ≥ 2× the request**": "0",
             "**largest free run ÷ free, at the end**": f"≥ {100 * GOAL_RATIO:.0f} %"}
    for label, get, fmt in rows:
        if get is None:
            cells = [spread([r["frame_failures"] for r in by[b]], num) + " / " +
                     spread([r["meta_failures"] for r in by[b]], num) for b, _ in backends]
        else:
            cells = [spread([get(r) for r in by[b]], fmt) for b, _ in backends]
        out.append(f"| {label} | " + " | ".join(cells) + f" | {goals.get(label, '')} |")
    judged, judged_label = backends[0]
    met = all(r["failures_2x_free"] == 0 and r["end_ratio"] >= GOAL_RATIO for r in by[judged])
    out.append("")
    out.append(f"Goal for cmabuf (0 failures with free ≥ 2× the request and ≥ "
               f"{100 * GOAL_RATIO:.0f} % largest free run ÷ free at the end, every seed), "
               f"judged on {judged_label}: **{'met' if met else 'not met'}**.\n")
    out.append("Per seed:\n")
    out.append("| seed | allocator | failed | free ≥ 2× | end largest ÷ free | "
               "after switches (mean / lowest) | µs per op | plan |")
    out.append("|---|---|---|---|---|---|---|---|")
    for bt in boots:
        for b, label in backends:
            for r in bt["results"]:
                if r["backend"] == b:
                    out.append(f"| {r['seed']} | {label} | {num(r['failures'])} | "
                               f"{num(r['failures_2x_free'])} | {pct(r['end_ratio'])} | "
                               f"{pct(r['switch_ratio_mean'])} / {pct(r['switch_ratio_min'])} | "
                               f"{us(r['us_per_op'])} | `{r['plan_hash']}` |")
    return "\n".join(out) + "\n\n"


def markdown(plats, command):
    text = [f"Made by `{command}` (scripts/aging-report.py); raw records: "
            "`Documentation/benchmarks/aging.json`.\n"]
    for name in PLATFORMS:
        if name in plats:
            text.append(platform_text(plats[name]))
    return "\n".join(text)


def update_doc(path, text):
    if not os.path.exists(path):
        return
    body = open(path).read()
    if BEGIN not in body or END not in body:
        print(f"aging-report: {path} has no aging markers; not updated", file=sys.stderr)
        return
    head, rest = body.split(BEGIN, 1)
    with open(path, "w") as f:
        f.write(head + BEGIN + "\n" + text + END + rest.split(END, 1)[1])


def main(argv):
    args = parse_args(argv)
    plats = {}
    for name, machine, *logs in args.platform:
        boots = [read_boot(log) for log in logs]
        for b in boots:
            if not b["complete"]:
                print(f"aging-report: {name} {b['log']} left out: {b['why']}", file=sys.stderr)
        plats[name] = {"name": name, "machine": machine, "boots": boots}
    for name, why in args.not_run:
        if name in PLATFORMS and name not in plats:
            plats[name] = {"name": name, "not_run": why, "boots": []}
    if not any(b["complete"] for p in plats.values() for b in p["boots"]):
        sys.exit("aging-report: no platform has a complete boot; nothing written")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "aging.json"), "w") as f:
        json.dump({"schema": 1, "command": args.command, "goal_ratio": GOAL_RATIO,
                   "platforms": plats}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    text = markdown(plats, args.command)
    with open(os.path.join(args.out, "aging.md"), "w") as f:
        f.write("# Aging: fragmentation after mode switches\n\n" + text)
    update_doc(os.path.join(os.path.dirname(os.path.abspath(args.out)), "benchmarks.md"), text)


if __name__ == "__main__":
    main(sys.argv[1:])
