#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the guest consoles of `make bench` into the benchmark report.

usage: bench-report.py [--scale-only] --out DIR --command CMD
                       [--platform kvm MACHINE LOG...] [--platform tcg MACHINE LOG...]
                       [--not-run PLATFORM WHY]

Each LOG is one boot's console; its "cmabuf-bench: {json}" lines come from
selftests/tools/cmabuf_bench.c, run once per config (cache-off, cache-on). Writes
DIR/results.json (every boot's raw records and samples, the aggregates and the targets),
DIR/results.md, DIR/plot-<platform>.png (if matplotlib is importable) and the figures
section of DIR/../benchmarks.md between its results markers. Method: benchmarks.md.
Its "cmabuf-scale: {json}" lines (selftests/tools/cmabuf_scale_bench.c, the cost per
live buffer) become DIR/scale.{json,md} and the scale section (scripts/bench_scale.py);
--scale-only writes just those. Exits 1 only if no platform has a complete boot.
"""
import argparse
import json
import os
import re
import statistics
import sys
import textwrap

import bench_scale

PLATFORMS = {
    "kvm": "KVM: x86_64 guest under KVM, hardware speed",
    "tcg": "TCG: arm64 guest under QEMU TCG emulation, behaviour only (not hardware times)",
}
CONFIGS = ("cache-off", "cache-on")
HEAP = "cma-heap"
P99_MIN = 200  # samples per boot below which the tool reports no p99
SCENARIOS = {
    "idle_alloc_free": "Idle: allocate + free",
    "steady_pipeline": "Steady pipeline: one allocation per frame, the oldest buffer freed",
    "mixed_sizes": "Mixed sizes in flight",
    "small_buffers": "Small buffers: one allocation while thousands are live",
    "processes": "Processes: allocate + free in several processes at once",
    "concurrency": "Concurrency: allocate + free per thread",
    "mapping": "Mapping bandwidth",
    "pressure": "Pressure: one allocation while the pool is lent out",
    "first_frame": "First frame after the pool was lent out",
    "lending": "Lending: the idle pool's CMA area used by the system",
}
BACKENDS = {
    "cmabuf": "cmabuf", HEAP: "CMA heap", "cmabuf-writecombine": "cmabuf write-combine",
    "cmabuf-uncached": "cmabuf uncached", "anonymous": "anonymous memory",
    "cmabuf-prepare": "cmabuf PREPARE ioctl", "pool area": "the pool's CMA area",
}
UNITS = {"us": "µs", "MB/s": "MB/s", "%": "%"}
# One colour per backend everywhere; cmabuf's cache-on runs are a lighter shade of it.
COLOURS = {("cmabuf", "cache-off"): "#1f4e9c", ("cmabuf", "cache-on"): "#8fb3e8",
           HEAP: "#e07b00", "cmabuf-writecombine": "#2a9d3a", "cmabuf-uncached": "#8e44ad",
           "anonymous": "#7f7f7f"}
STAGES = [("own_ns", "cmabuf's own", "#d62728"), ("cma_alloc_ns", "cma_alloc", "#5b3a29"),
          ("room_ns", "room-making", "#a0522d"), ("zero_ns", "zeroing", "#8c6d4f"), ("clean_ns", "cache clean", "#bfa27a"),
          ("vm_events_ns", "vm events", "#e3d3b5")]
OTHERS = ("mixed_sizes", "small_buffers", "processes", "concurrency")
LEGEND = [(HEAP, None, "CMA heap (the 1× line)"), ("cmabuf", "cache-off", "cmabuf, cache off"),
          ("cmabuf", "cache-on", "cmabuf, cache on"),
          ("cmabuf-writecombine", None, "cmabuf write-combine"),
          ("cmabuf-uncached", None, "cmabuf uncached"), ("anonymous", None, "anonymous memory")]
FIXED = {"scenario", "param", "backend", "config", "unit", "n", "ok", "rounds", "p50", "p99",
         "max", "samples"}
BEGIN, END = "<!-- results:begin (scripts/bench-report.py) -->", "<!-- results:end -->"


# ---------------------------------------------------------------- input

def parse_args(argv):
    if len(argv) == 4 and not argv[0].startswith("-"):
        # The call of scripts/job.sh before issue 15: LOG OUT COMMAND MACHINE, one TCG boot.
        log, out, command, machine = argv
        argv = ["--out", out, "--command", command, "--platform", "tcg", machine, log]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--command", default="make bench", help="the command that ran it")
    ap.add_argument("--platform", nargs="+", action="append", default=[], metavar="ARG",
                    help="NAME MACHINE LOG...: NAME is kvm or tcg, MACHINE the QEMU options")
    ap.add_argument("--scale-only", action="store_true",
                    help="only the cost per live buffer (scale.{json,md})")
    ap.add_argument("--not-run", nargs=2, action="append", default=[],
                    metavar=("PLATFORM", "WHY"), help="say why a platform was not run")
    args = ap.parse_args(argv)
    for p in args.platform:
        if p[0] not in PLATFORMS or len(p) < 2:
            ap.error(f"--platform {' '.join(p)}: want kvm|tcg MACHINE LOG...")
    return args


def read_boot(path):
    """One boot's console: its runs (one per config), records, and whether it finished."""
    boot = {"log": os.path.basename(path), "complete": False, "why": None, "runs": [],
            "results": [], "profiles": [], "elapsed": []}
    run = None
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError as e:
        boot["why"] = f"unreadable: {e.strerror}"
        return boot
    for line in lines:
        m = re.match(r"^cmabuf-bench: (\{.*\})\s*$", line)
        try:
            rec = json.loads(m.group(1)) if m else None
        except json.JSONDecodeError:
            rec = None
        if not isinstance(rec, dict):
            continue
        if rec.get("meta"):
            # Logs from before issue 15 carry no config; that bench ran with the cache on.
            run = {"config": rec.get("config", "cache-on"), "meta": rec, "done": False}
            boot["runs"].append(run)
        elif run is None:
            continue
        elif rec.get("done"):
            run["done"] = True
        elif rec.get("profile"):
            boot["profiles"].append(dict(rec, config=rec.get("config", run["config"])))
        elif rec.get("elapsed"):
            boot["elapsed"].append(dict(rec, config=rec.get("config", run["config"])))
        elif "scenario" in rec and "backend" in rec:
            rec = dict(rec, config=rec.get("config", run["config"]), param=str(rec.get("param")))
            rec.setdefault("n", rec.get("rounds", rec.get("ok", 0)))
            boot["results"].append(rec)
    unfinished = [r["config"] for r in boot["runs"] if not r["done"]]
    if not boot["runs"]:
        boot["why"] = "no benchmark output"
    elif any(r["meta"].get("smoke") for r in boot["runs"]):
        boot["why"] = "a smoke run, not a measurement"
    elif unfinished:
        boot["why"] = f"the {', '.join(unfinished)} run did not finish (no done line)"
    else:
        boot["complete"] = True
    return boot


def read_platform(name, machine, logs):
    boots = [read_boot(p) for p in logs]
    good = [b for b in boots if b["complete"]]
    plat = {"name": name, "label": PLATFORMS[name], "qemu": machine, "boots": boots,
            "complete_boots": len(good)}
    if not good:
        why = "; ".join(f"{b['log']}: {b['why']}" for b in boots) or "no logs given"
        plat["not_run"] = f"no complete boot ({why})"
        return plat
    plat["aggregates"] = aggregate(good)
    plat["profile"] = profile_rows(good)
    plat["targets"] = targets(plat["aggregates"], good, plat["profile"])
    return plat


# ---------------------------------------------------------------- aggregation

def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "boots": len(values)}


def key(rec):
    return rec["scenario"], rec["param"], rec["backend"], rec["config"]


def heap_row(index, k):
    """The CMA heap's row measured with k; "X, prepared" is compared with the heap's X."""
    s, p, _, c = k
    return index.get((s, p, HEAP, c)) or index.get((s, p.split(",")[0], HEAP, c))


def has_p99(rec):
    return rec.get("p99") is not None and rec.get("ok", 0) >= P99_MIN


def per_boot_ratio(rec, heap, field):
    if not heap or rec.get(field) is None or not heap.get(field) or not rec.get("ok"):
        return None
    return rec[field] / heap[field]


def aggregate(boots):
    """Per (scenario, param, backend, config): medians and min-max across boots."""
    indexes = [{key(r): r for r in b["results"]} for b in boots]
    keys = list(dict.fromkeys(k for ix in indexes for k in ix))
    out = []
    for k in keys:
        pairs = [(ix[k], heap_row(ix, k)) for ix in indexes if k in ix]
        recs = [r for r, _ in pairs]
        every_p99 = all(has_p99(r) for r in recs)
        entry = dict(zip(("scenario", "param", "backend", "config"), k))
        entry.update({
            "unit": recs[0].get("unit", ""), "boots": len(recs),
            "n": sum(r.get("n") or 0 for r in recs), "ok": sum(r.get("ok") or 0 for r in recs),
            "all_ok": all(r.get("ok") == r.get("n") for r in recs),
            "p50": spread(r.get("p50") for r in recs),
            "p99": spread(r["p99"] for r in recs) if every_p99 else None,
            "max_of": {"value": max((r["max"] for r in recs if r.get("max") is not None),
                                    default=None),
                       "n": sum(r.get("ok") or 0 for r in recs)},
            "ratio_p50": None, "ratio_p99": None, "extras": extras(recs)})
        if k[2] != HEAP:
            entry["ratio_p50"] = spread(per_boot_ratio(r, h, "p50") for r, h in pairs)
            if every_p99 and all(h and has_p99(h) for _, h in pairs):
                entry["ratio_p99"] = spread(per_boot_ratio(r, h, "p99") for r, h in pairs)
        out.append(entry)
    return out


def extras(recs):
    """The tool's extra fields: per-sample lists become per-boot medians, then spread."""
    def number(v):
        if isinstance(v, list):
            v = statistics.median(v) if v and all(type(x) in (int, float) for x in v) else None
        return v if type(v) in (int, float) else None
    names = dict.fromkeys(f for r in recs for f in r if f not in FIXED)
    return {n: spread(number(r.get(n)) for r in recs) for n in names
            if any(number(r.get(n)) is not None for r in recs)}


def find(aggs, scenario, backend, config, param=None):
    return [a for a in aggs if a["scenario"] == scenario and a["backend"] == backend
            and a["config"] == config and (param is None or a["param"] == param)]


def profile_rows(boots):
    """Per (config, scenario) and per config in total: the module's stage times summed over
    boots; each ratio only over the records that have both its keys (older modules lack some)."""
    groups = {}
    for p in (p for b in boots for p in b["profiles"]):
        for scen in (p.get("scenario", "?"), "all scenarios"):
            groups.setdefault((p["config"], scen), []).append(p)

    def ratio(recs, num, den):
        both = [r for r in recs if type(r.get(num)) in (int, float) and r.get(den)]
        return sum(r[num] for r in both) / sum(r[den] for r in both) if both else None
    rows = []
    for (config, scen), recs in sorted(groups.items(), key=lambda i: (
            i[0][0] != "cache-off", i[0][0], i[0][1] == "all scenarios")):
        row = {"config": config, "scenario": scen}
        for name in sorted({k for r in recs for k, v in r.items() if type(v) in (int, float)}):
            vals = [r[name] for r in recs if type(r.get(name)) in (int, float)]
            row[name] = sum(vals) if vals else None
        row.update({"cache_hit_share": ratio(recs, "cache_hits", "allocs"),
                    "alloc_ns_each": ratio(recs, "alloc_ns", "allocs"),
                    "bg_zero_ns_per_byte": ratio(recs, "bg_zero_ns", "bg_zero_bytes"),
                    "prepare_ns_each": ratio(recs, "prepare_ns", "prepare_calls")})
        row.update({n + "_share": ratio(recs, n, "alloc_ns") for n, _, _ in STAGES})
        rows.append(row)
    return rows


# ---------------------------------------------------------------- targets

def verdict(oks):
    """met if every check passed, missed if one failed, else not measured (None in oks)."""
    if oks and all(o is True for o in oks):
        return "met"
    return "missed" if any(o is False for o in oks) else "not measured"


def t_ratio_rows(rows, field, ok, higher=False):
    """Status and figure for "every row's median ratio satisfies ok"; shows the worst."""
    if not rows:
        return "not measured", "no data"
    status = verdict([ok(a[field]["median"]) if a[field] else None for a in rows])
    have = sorted((a for a in rows if a[field]), key=lambda a: a[field]["median"],
                  reverse=not higher)
    what = field.split("_")[1]
    if not have:
        return status, f"no {what} ratio to the CMA heap"
    if len(have) <= 2:
        fig = ", ".join(f"{a['param']}: {fmt_ratio(a[field])}" for a in have)
    else:
        fig = f"worst {have[0]['param']}: {fmt_ratio(have[0][field])} (of {len(have)})"
    missing = [a["param"] for a in rows if not a[field]]
    if missing:
        fig += f"; no {what} for " + ", ".join(missing)
    return status, fig


def targets(aggs, boots, profile):
    at_most = lambda x: (lambda v: v <= x)  # noqa: E731
    out = []

    def add(tid, text, result):
        out.append({"id": tid, "target": text, "status": result[0], "figure": result[1]})

    for tid, cfg, limit in ((1, "cache-off", 1.0), (2, "cache-on", 0.1)):
        add(tid, f"Idle alloc+free p50 ≤ {limit}× the CMA heap at every size, {cfg}",
            t_ratio_rows(find(aggs, "idle_alloc_free", "cmabuf", cfg), "ratio_p50",
                         at_most(limit)))
    for cfg in CONFIGS:
        rows = [a for a in find(aggs, "steady_pipeline", "cmabuf", cfg)
                if a["param"].startswith(("1080p", "4K"))]
        res = t_ratio_rows(rows, "ratio_p99", at_most(0.05))
        add(3, f"Steady pipeline 1080p and 4K p99 ≤ 0.05× the CMA heap (≥ {P99_MIN} frames), "
               f"{cfg}", res)
    rows = [a for a in find(aggs, "mapping", "cmabuf", "cache-off")
            if a["param"].startswith("first write")]
    add(4, "First write through a fresh mapping, mmap included, ≥ 3× the CMA heap's MB/s",
        t_ratio_rows(rows, "ratio_p50", lambda v: v >= 3.0, higher=True))
    add(5, "Pressure: 100 % success and p50 ≤ 1.0× the CMA heap at every fraction, cache-off",
        t_pressure(find(aggs, "pressure", "cmabuf", "cache-off")))
    add(6, "PREPARE's own duration ≤ 1.2× the CMA heap's allocation of the same bytes",
        t_ratio_rows(find(aggs, "first_frame", "cmabuf-prepare", "cache-off"), "ratio_p50",
                     at_most(1.2)))
    add(7, "Lending of the idle pool ≥ 90 %, the warm cache counted as not lent",
        t_lending([a for a in aggs if a["scenario"] == "lending"]))
    add(8, "cmabuf's own share of allocation time (outside cma_alloc and zeroing) ≤ 5 % (profile, cache-off)",
        t_own(boots, profile))
    return out


def t_pressure(rows):
    """100 % success, p50 ≤ 1× at every fraction, p99 ≤ 1× where there is a p99."""
    if not rows:
        return "not measured", "no data"
    checks = [a["all_ok"] for a in rows] + \
        [a["ratio_p50"]["median"] <= 1.0 if a["ratio_p50"] else None for a in rows] + \
        [a["ratio_p99"]["median"] <= 1.0 for a in rows if a["ratio_p99"]]
    with99 = [a for a in rows if a["ratio_p99"]]
    p99 = (t_ratio_rows(with99, "ratio_p99", lambda v: v <= 1.0)[1] if with99 else
           f"max of {rows[0]['max_of']['n']} per fraction only (< {P99_MIN} samples)")
    return verdict(checks), (f"{sum(a['ok'] for a in rows)}/{sum(a['n'] for a in rows)} ok; "
                             f"p50 {t_ratio_rows(rows, 'ratio_p50', bool)[1]}; p99: {p99}")


def t_lending(rows):
    warm = [a for a in rows if "warm" in a["param"]]
    if not rows or not warm:
        return "not measured", "no cache-warm lending figure" if rows else "no data"
    checks = [a["p50"]["median"] >= 90 if a["p50"] else None for a in rows]
    return verdict(checks), ", ".join(f"{a['param']} ({a['config']}): {fmt_pct(a['p50'])}"
                                      for a in rows)


def t_own(boots, profile):
    """Per boot, over the cache-off scenarios: the share of allocation time outside
    cma_alloc and zeroing, (alloc_ns − cma_alloc_ns − zero_ns) ÷ alloc_ns: everything
    cmabuf adds to the two things the heap does too (own_ns, room-making, cache
    maintenance, the vm event snapshots)."""
    keys = ("alloc_ns", "cma_alloc_ns", "zero_ns")
    shares = []
    for b in boots:
        recs = [p for p in b["profiles"] if p["config"] == "cache-off" and p.get("alloc_ns")]
        if recs and all(isinstance(p.get(k), (int, float)) for p in recs for k in keys):
            total = sum(p["alloc_ns"] for p in recs)
            outside = total - sum(p["cma_alloc_ns"] + p["zero_ns"] for p in recs)
            shares.append(100 * outside / total)
    if not shares:
        return "not measured", "no profile with alloc_ns, cma_alloc_ns and zero_ns"
    total = next((r for r in profile if r["config"] == "cache-off"
                  and r["scenario"] == "all scenarios"), {})
    rest = ", ".join(f"{label} {100 * total[n + '_share']:.0f} %" for n, label, _ in STAGES[1:]
                     if total.get(n + "_share") is not None)
    return verdict([statistics.median(shares) <= 5.0]), \
        f"outside cma_alloc and zeroing {fmt_pct(spread(shares))} ({len(shares)} of {len(boots)} boots report it)" + \
        (f"; rest: {rest}" if rest else "")


# ---------------------------------------------------------------- formatting

def fmt(x):
    if x is None:
        return "–"
    a = abs(x)
    return f"{x:.0f}" if a >= 100 else f"{x:.1f}" if a >= 10 else f"{x:.2f}" if a >= 0.1 \
        else f"{x:.3f}" if a >= 0.001 else f"{x:.1e}"


def fmt_spread(sp, f=fmt, suffix=""):
    if not sp:
        return "–"
    if sp["boots"] == 1 or f(sp["min"]) == f(sp["max"]):
        return f(sp["median"]) + suffix
    return f"{f(sp['median'])}{suffix} [{f(sp['min'])}–{f(sp['max'])}]"


def fmt_ratio(sp):
    return fmt_spread(sp, suffix="×")


def fmt_pct(sp):
    return fmt_spread(sp, f=lambda v: f"{v:.1f}", suffix=" %")


def cell_p50(a, boots):
    text = fmt_spread(a["p50"])
    if not a["all_ok"]:
        text += f" ({a['ok']}/{a['n']} ok)"
    if a["boots"] < boots:
        text += f" ({a['boots']} of {boots} boots)"
    return text


def cell_p99(a):
    if a["p99"]:
        return fmt_spread(a["p99"])
    return f"max of {a['max_of']['n']}: {fmt(a['max_of']['value'])}"


def cell_ratio(a):
    if a["ratio_p99"] and a["scenario"] == "steady_pipeline":
        return f"{fmt_ratio(a['ratio_p50'])} (p99 {fmt_ratio(a['ratio_p99'])})"
    return fmt_ratio(a["ratio_p50"]) if a["ratio_p50"] else ""


def cell_pressure(a):
    ex = a["extras"]
    parts = []
    if ex.get("migrated_kib"):
        parts.append(fmt_spread({k: v / 1024 if k != "boots" else v
                                 for k, v in ex["migrated_kib"].items()}) + " MiB")
    floor = ex.get("x_copy_floor") or ex.get("x_copy_floor_p50")
    if floor:
        parts.append(fmt_spread(floor, suffix="×") + " floor")
    return ", ".join(parts) or "–"


# ---------------------------------------------------------------- markdown

def md_intro(plats, command):
    runs = ", ".join(f"{p['complete_boots']} {n.upper()}" for n, p in plats.items()
                     if "not_run" not in p)
    return [
        f"Command: `{command}`; complete boots: {runs}. **Cache off** (the module's default) "
        "is the headline; **cache on** (the warm cache enabled) is its own column. Each "
        "figure is the median over boots of the per-boot p50, with [min–max across boots]. "
        "Ratios are cmabuf ÷ CMA heap per boot (the two measured interleaved in the same "
        "boot and config), then median [min–max]. p99 only where every boot has ≥ "
        f"{P99_MIN} samples, else \"max of N\": the largest of all N samples. "
        "Raw samples: `results.json`.", ""]


def md_targets(plats):
    names = list(PLATFORMS)
    lines = ["### Targets", "", "| # | Target | " + " | ".join(
        f"{n.upper()} ({'hardware speed' if n == 'kvm' else 'emulated, behaviour only'})"
        for n in names) + " |", "|---|---|" + "---|" * len(names)]
    rows = next((p["targets"] for p in plats.values() if "targets" in p), [])
    for i, t in enumerate(rows):
        cells = []
        for n in names:
            p = plats.get(n, {"not_run": True})
            if "not_run" in p:
                cells.append("not run")
                continue
            tt = p["targets"][i]
            status = {"met": "**met**", "missed": "**missed**"}.get(tt["status"], tt["status"])
            cells.append(f"{status}: {tt['figure']}")
        lines.append(f"| {t['id']} | {t['target']} | " + " | ".join(cells) + " |")
    return lines + [""]


def md_platform_head(p, plot_note):
    if "not_run" in p:
        return [f"### {p['label']}", "", f"Not run: {p['not_run']}.", ""]
    good = [b for b in p["boots"] if b["complete"]]
    meta = {r["config"]: r["meta"] for b in good for r in b["runs"]}
    m = meta.get("cache-off") or next(iter(meta.values()))
    mib = lambda k, d=m: (f"{d[k] >> (10 if k.endswith('kib') else 20)} MiB"  # noqa: E731
                          if type(d.get(k)) is int else "?")
    copy = spread(r["meta"].get("memcpy_mbps") for b in good for r in b["runs"])
    text = (f"Kernel {m.get('kernel', '?')} ({m.get('machine', '?')}), QEMU `{p['qemu']}`, "
            f"{m.get('cpus', '?')} CPUs, {mib('mem_kib')} of memory; pool `{m.get('pool', '?')}` "
            f"({mib('pool_bytes')}, region `{m.get('region', '?')}`) against the CMA heap "
            f"`{m.get('heap', '?')}`; {len(good)} boots ({', '.join(b['log'] for b in good)}), "
            f"{m.get('rounds', '?')} rounds per scenario per boot; guest memcpy "
            f"{fmt_spread(copy)} MB/s; configs: {', '.join(c for c in meta)}")
    if "cache-on" in meta:
        text += f" (cache on: cache_bytes = {mib('cache_bytes', meta['cache-on'])})"
    for c in meta:
        secs = [sum(e.get("seconds") or 0 for e in b["elapsed"] if e["config"] == c) for b in good]
        if any(secs):
            text += f". Run time per boot, {c}: {statistics.median(secs) / 60:.1f} min"
    lines = [f"### {p['label']}", "", text + "."]
    bad = [f"{b['log']}: {b['why']}" for b in p["boots"] if not b["complete"]]
    if bad:
        lines += ["", "Left out (incomplete): " + "; ".join(bad) + "."]
    return lines + ["", plot_note, ""]


def md_scenario(p, scen, title):
    rows = [a for a in p["aggregates"] if a["scenario"] == scen]
    if not rows:
        return []
    unit = UNITS.get(rows[0]["unit"], rows[0]["unit"])
    depth = next((a["extras"]["depth"]["median"] for a in rows if "depth" in a["extras"]), None)
    head = f"#### {title}" + (f", {depth:.0f} in flight" if depth else "") + f" ({unit}" + \
        (", higher is better)" if unit == "MB/s" else ")")
    cols = ["p50", "p99 or max", "÷ CMA heap"] + (["migrated, × copy floor"]
                                                 if scen == "pressure" else [])
    lines = [head, "", "| Case | Allocator | " + " | ".join(
        f"{c}, {cfg.replace('-', ' ')}" for cfg in CONFIGS for c in cols) + " |",
        "|---|---|" + "---:|" * (len(cols) * 2)]
    order = list(BACKENDS)
    cases = list(dict.fromkeys((a["param"], a["backend"]) for a in rows))
    cases.sort(key=lambda c: ([a["param"] for a in rows].index(c[0]),
                              order.index(c[1]) if c[1] in order else 99))
    for param, backend in cases:
        cells = []
        for cfg in CONFIGS:
            a = next((x for x in rows if (x["param"], x["backend"], x["config"])
                      == (param, backend, cfg)), None)
            if not a:
                cells += ["–"] * len(cols)
                continue
            cells += [cell_p50(a, p["complete_boots"]), cell_p99(a), cell_ratio(a)]
            if scen == "pressure":
                cells.append(cell_pressure(a))
        lines.append(f"| {param} | {BACKENDS.get(backend, backend)} | " + " | ".join(cells) + " |")
    return lines + [""]


def md_profile(p):
    rows = p["profile"]
    if not rows:
        return ["#### Where cmabuf's allocation time goes", "", "No profile records "
                "(module without the debugfs `profile` file).", ""]
    lines = ["#### Where cmabuf's allocation time goes (module profile, all boots summed)", "",
             "Shares of cmabuf's allocation time (`alloc_ns`). Background zeroing is the "
             "CPU time the warm cache spends zeroing freed runs off the allocation path.", "",
             "| Config | Scenario | allocations | cache hits | µs per allocation | "
             + " | ".join(s[1] for s in STAGES) + " | background zeroing, ns/byte | "
             "PREPARE calls, µs each |", "|---|---|" + "---:|" * (len(STAGES) + 5)]
    pct = lambda v: f"{100 * v:.1f} %" if v is not None else "–"  # noqa: E731
    each = lambda v: fmt(v / 1000) if v is not None else "–"  # noqa: E731
    for r in rows:
        scen = f"**{r['scenario']}**" if r["scenario"] == "all scenarios" else r["scenario"]
        cells = [r["config"], scen, str(r.get("allocs", "–")), pct(r["cache_hit_share"]),
                 each(r["alloc_ns_each"])] + [pct(r[n + "_share"]) for n, _, _ in STAGES] + \
            [fmt(r["bg_zero_ns_per_byte"]), f"{r.get('prepare_calls') or 0}, "
             f"{each(r['prepare_ns_each'])}" if r["prepare_ns_each"] else "–"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def markdown(plats, command, plot_notes):
    lines = md_intro(plats, command) + md_targets(plats)
    for name in PLATFORMS:
        p = plats.get(name)
        if p is None:
            lines += [f"### {PLATFORMS[name]}", "", "Not run: no logs were given.", ""]
            continue
        lines += md_platform_head(p, plot_notes.get(name, ""))
        if "not_run" in p:
            continue
        for scen, title in SCENARIOS.items():
            lines += md_scenario(p, scen, title)
        for scen in dict.fromkeys(a["scenario"] for a in p["aggregates"]):
            if scen not in SCENARIOS:
                lines += md_scenario(p, scen, scen)
        lines += md_profile(p)
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------- plots

def colour(backend, config):
    if backend in COLOURS:
        return COLOURS[backend]
    return COLOURS[("cmabuf", config)] if backend.startswith("cmabuf") else "#444444"


def style_log_axis(ax, ys):
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    ax.set_yscale("log")
    ax.set_ylim(min(ys) / 2, max(ys) * 2)  # every bar and error bar fits
    ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}×"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.grid(axis="y", alpha=0.3)


def ratio_panel(ax, title, groups, field="ratio_p50", targets=(), higher=False):
    """Bars of cmabuf ÷ CMA heap (median of boots), error bars min-max across boots.
    groups: [(x label, [aggregate or None, ...])]; targets: [(y, label, (x0, x1) or None)]."""
    ax.set_title(title, fontsize=10)
    ax.axhline(1.0, color=COLOURS[HEAP], lw=1.5)
    ys = [1.0]
    width = 0.8 / max([len(g[1]) for g in groups] + [1])
    for x, (_, bars) in enumerate(groups):
        for i, a in enumerate(bars):
            sp = a and a[field]
            if sp:
                ax.bar(x - 0.4 + width * (i + 0.5), sp["median"], width * 0.9,
                       color=colour(a["backend"], a["config"]),
                       yerr=[[sp["median"] - sp["min"]], [sp["max"] - sp["median"]]],
                       error_kw={"capsize": 2, "lw": 0.8})
                ys += [sp["min"], sp["max"]]
    for (y, label, span), style in zip(targets, ("--", ":")):
        lo, hi = span or (-0.5, len(groups) - 0.5)
        ax.hlines(y, lo, hi, colors="black", linestyles=style, lw=1.3, label=label)
        ys.append(y)
    if len(ys) == 1 + len(targets):
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center")
    style_log_axis(ax, ys)
    ax.set_xlim(-0.6, max(len(groups), 1) - 0.4)
    ax.set_xticks(range(len(groups)))
    wrap = 16 if len(groups) <= 4 else 11
    ax.set_xticklabels([textwrap.fill(g[0], wrap) for g in groups], fontsize=8)
    ax.set_ylabel("cmabuf ÷ CMA heap, " + ("higher" if higher else "lower") + " is better",
                  fontsize=8)
    if targets:
        ax.legend(fontsize=7, loc="best")


def groups_of(aggs, scen, series, params=None):
    """One group per param (or given (label, param, backend) triples) of one bar per series."""
    if params is None:
        params = [(p, p, None) for p in dict.fromkeys(
            a["param"] for a in aggs if a["scenario"] == scen and a["backend"] != HEAP)]
    return [(label, [next(iter(find(aggs, scen, backend or b, c, prm)), None)
                     for b, c in series]) for label, prm, backend in params]


def plot_platform(plt, p, path):
    aggs = p["aggregates"]
    cm = [("cmabuf", "cache-off"), ("cmabuf", "cache-on")]
    fig, axes = plt.subplots(3, 2, figsize=(14, 14.5))
    ax = iter(axes.flat)
    ratio_panel(next(ax), "Idle allocate + free, p50", groups_of(aggs, "idle_alloc_free", cm),
                targets=[(1.0, "target, cache off: ≤ 1×", None),
                         (0.1, "target, cache on: ≤ 0.1×", None)])
    pipe = groups_of(aggs, "steady_pipeline", cm)
    has99 = any(a and a["ratio_p99"] for _, bars in pipe for a in bars)
    ratio_panel(next(ax), "Steady pipeline, " + ("p99" if has99 else "p50 (no p99: < 200 frames)"),
                pipe, field="ratio_p99" if has99 else "ratio_p50",
                targets=[(0.05, "target, p99 of 1080p and 4K: ≤ 0.05×", None)] if has99 else [])
    ratio_panel(next(ax), "Pressure: one allocation while the pool is lent out, p50",
                groups_of(aggs, "pressure", cm),
                targets=[(1.0, "target, cache off: ≤ 1×", None)])
    maps = groups_of(aggs, "mapping", cm + [(b, "cache-off") for b in
                     ("cmabuf-writecombine", "cmabuf-uncached", "anonymous")])
    first = [i for i, g in enumerate(maps) if g[0].startswith("first write")]
    ratio_panel(next(ax), "Mapping bandwidth, p50", maps, higher=True,
                targets=[(3.0, "target, first write: ≥ 3×", (first[0] - 0.45, first[0] + 0.45))]
                if first else [])
    ff = [("cmabuf allocation", "1080p NV12", "cmabuf"),
          ("allocation after PREPARE", "1080p NV12, prepared", "cmabuf"),
          ("PREPARE ioctl itself", "1080p NV12", "cmabuf-prepare")]
    ratio_panel(next(ax), "First frame, 1080p NV12, p50 (all ÷ the CMA heap's allocation)",
                groups_of(aggs, "first_frame", cm, ff),
                targets=[(1.2, "target, PREPARE: ≤ 1.2×", (1.55, 2.45))])
    other = dict.fromkeys((a["scenario"], a["param"]) for a in aggs
                          if a["scenario"] in OTHERS and a["backend"] == "cmabuf")
    ratio_panel(next(ax), "Other scenarios, p50 (no target)",
                [(prm, [next(iter(find(aggs, s, b, c, prm)), None) for b, c in cm])
                 for s, prm in other])
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour(b, c)) for b, c, _ in LEGEND]
    fig.legend(handles, [label for _, _, label in LEGEND], loc="upper center",
               ncol=len(LEGEND), fontsize=9, bbox_to_anchor=(0.5, 0.968), frameon=False)
    fig.suptitle(f"{p['label']}: {p['complete_boots']} boot(s), bars = median, "
                 "error bars = min–max across boots", fontsize=12, y=0.995)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plots(plats, out):
    """Draws plot-<platform>.png; returns a Markdown line per platform saying where it is."""
    notes = {}
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        plt = None
    for name in PLATFORMS:
        path = os.path.join(out, f"plot-{name}.png")
        if os.path.exists(path):
            os.remove(path)  # never leave a stale plot beside new figures
        p = plats.get(name)
        if not p or "not_run" in p:
            continue
        if plt is None:
            notes[name] = ("No plot: matplotlib is not importable (scripts/install-bench-tools.sh "
                           "installs it into `$CMABUF_CACHE/pylib`).")
            continue
        plot_platform(plt, p, path)
        notes[name] = f"![{name.upper()} ratios to the CMA heap]({{img}}plot-{name}.png)"
    return notes


# ---------------------------------------------------------------- output

def write_json(path, doc):
    text = json.dumps(doc, indent=1, ensure_ascii=False)
    # One line per list of numbers (the raw samples) instead of one line per number.
    text = re.sub(r"\[([^\[\]{}\"]*)\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
    with open(path, "w") as f:
        f.write(text + "\n")


def update_doc(path, text):
    if not os.path.exists(path):
        return
    body = open(path).read()
    if BEGIN not in body or END not in body:
        print(f"bench-report: {path} has no results markers; not updated", file=sys.stderr)
        return
    head, rest = body.split(BEGIN, 1)
    with open(path, "w") as f:
        f.write(head + BEGIN + "\n" + text + END + rest.split(END, 1)[1])


def scale_report(args):
    """The cost per live buffer: scale.{json,md} and its section; whether written."""
    plats = {name: bench_scale.read_platform(name, PLATFORMS[name], machine, logs)
             for name, machine, *logs in args.platform}
    for name, why in args.not_run:
        if name in PLATFORMS and name not in plats:
            plats[name] = {"name": name, "label": PLATFORMS[name], "not_run": why,
                           "boots": [], "complete_boots": 0}
    for name, p in plats.items():
        for b in p["boots"]:
            if not b["complete"]:
                print(f"bench-report: scale {name} {b['log']} left out: {b['why']}",
                      file=sys.stderr)
    os.makedirs(args.out, exist_ok=True)
    return bench_scale.write(args.out, plats, args.command, write_json)


def main(argv):
    args = parse_args(argv)
    if args.scale_only:
        if not scale_report(args):
            sys.exit("bench-report: no platform has a complete scale boot; nothing written")
        return
    plats = {}
    for name, machine, *logs in args.platform:
        plats[name] = read_platform(name, machine, logs)
    for name, why in args.not_run:
        if name in PLATFORMS and name not in plats:
            plats[name] = {"name": name, "label": PLATFORMS[name], "not_run": why,
                           "boots": [], "complete_boots": 0}
    for name, p in plats.items():
        for b in p["boots"]:
            if not b["complete"]:
                print(f"bench-report: {name} {b['log']} left out: {b['why']}", file=sys.stderr)
    if not any(p["complete_boots"] for p in plats.values()):
        sys.exit("bench-report: no platform has a complete boot; nothing written")
    os.makedirs(args.out, exist_ok=True)
    notes = plots(plats, args.out)
    write_json(os.path.join(args.out, "results.json"),
               {"schema": 2, "command": args.command, "p99_min_samples": P99_MIN,
                "platforms": {n: plats[n] for n in PLATFORMS if n in plats}})
    text = markdown(plats, args.command, {n: v.replace("{img}", "") for n, v in notes.items()})
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text)
    sub = os.path.basename(os.path.normpath(args.out)) + "/"
    update_doc(os.path.join(os.path.dirname(os.path.abspath(args.out)), "benchmarks.md"),
               markdown(plats, args.command, {n: v.replace("{img}", sub)
                                              for n, v in notes.items()}))
    if not scale_report(args):
        print("bench-report: no complete scale run; scale.{json,md} not written",
              file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
