# SPDX-License-Identifier: GPL-2.0
"""The "cost vs live buffers" part of the benchmark report (scripts/bench-report.py).

Reads the "cmabuf-scale: {json}" lines of selftests/tools/cmabuf_scale_bench.c from each
boot's console, aggregates the boots (per operation and number of live buffers: the
median of the per-boot p50 with [min–max across boots], the per-boot p10 and p90 as the
spread within a boot; the kernel memory per live buffer likewise) and writes
scale.json (every boot's raw records and samples, and the aggregates) and scale.md,
whose text also goes into benchmarks.md between the scale markers.
"""
import json
import os
import re
import statistics
import sys

OPS = {
    "alloc": "CMABUF_IOC_ALLOC of one page",
    "free": "close() of that buffer (its free)",
    "pool_info": "CMABUF_IOC_POOL_INFO",
    "sysfs_used": "read of sysfs `used`",
    "debugfs_buffers": "full read of debugfs `buffers`",
    "control": "control: 100 getppid() system calls (no cmabuf)",
    "alloc_room": "of that ALLOC: the first-fit search (debugfs profile `room_ns`)",
    "alloc_own": "of that ALLOC: the rest of cmabuf's own time (profile `own_ns`)",
    "alloc_cma": "of that ALLOC: cma_alloc() (profile `cma_alloc_ns`)",
}
MEMORY = [("slab_bytes", "Slab (meminfo)"),
          ("slab_object_bytes", "objects in slab caches (slabinfo)"),
          ("kmalloc_large_bytes", "kmalloc > 2 pages (Slab − slab caches' pages)"),
          ("vmalloc_bytes", "VmallocUsed"),
          ("memfree_bytes", "MemFree drop − the buffers' own pages")]
BEGIN, END = "<!-- scale:begin (scripts/bench-report.py) -->", "<!-- scale:end -->"


def read_boot(path):
    """One boot's scale run: its records, and whether it finished."""
    boot = {"log": os.path.basename(path), "complete": False, "why": None, "meta": None,
            "results": [], "baseline": None, "memory": [], "fills": [], "elapsed": [],
            "teardown": None,
            "failed": None}
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError as e:
        boot["why"] = f"unreadable: {e.strerror}"
        return boot
    done = False
    for line in lines:
        m = re.match(r"^cmabuf-scale: (\{.*\})\s*$", line)
        try:
            rec = json.loads(m.group(1)) if m else None
        except json.JSONDecodeError:
            rec = None
        if not isinstance(rec, dict):
            continue
        if rec.get("meta"):
            boot["meta"] = rec
        elif rec.get("done"):
            done = True
            boot["failed"] = rec.get("failed")
        elif rec.get("baseline"):
            boot["baseline"] = rec
        elif rec.get("memory"):
            boot["memory"].append(rec)
        elif rec.get("fill"):
            boot["fills"].append(rec)
        elif rec.get("elapsed"):
            boot["elapsed"].append(rec)
        elif rec.get("teardown"):
            boot["teardown"] = rec
        elif "op" in rec and "live" in rec:
            boot["results"].append(rec)
    if not boot["meta"]:
        boot["why"] = "no cmabuf_scale_bench output"
    elif boot["meta"].get("smoke"):
        boot["why"] = "a smoke run, not a measurement"
    elif not done:
        boot["why"] = "the scale run did not finish (no done line)"
    else:
        boot["complete"] = True
    return boot


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "boots": len(values)}


def per_buffer(rec, field):
    live = rec.get("live") or 0
    if live <= 0:
        return None
    v = rec.get(field)
    return v / live if isinstance(v, (int, float)) else None


def control_growth(boot, live, first):
    """The control's p50 at live ÷ its p50 at the first count, in one boot, or None."""
    at = {r["live"]: r.get("p50") for r in boot["results"] if r["op"] == "control"}
    return at[live] / at[first] if at.get(live) and at.get(first) else None


def aggregate(boots):
    ops = []
    keys = list(dict.fromkeys((r["op"], r["live"]) for b in boots for r in b["results"]))
    order = list(OPS)
    keys.sort(key=lambda k: (order.index(k[0]) if k[0] in order else len(order), k[1]))
    first_live = {}
    for op, live in keys:
        first_live.setdefault(op, live)
    for op, live in keys:
        recs = [next((r for r in b["results"] if (r["op"], r["live"]) == (op, live)), None)
                for b in boots]
        base = [next((r for r in b["results"] if (r["op"], r["live"]) == (op, first_live[op])),
                     None) for b in boots]
        growth = [r["p50"] / f["p50"] if r and f and f.get("p50") else None
                  for r, f in zip(recs, base)]
        # The same growth divided by the control's (getppid(), no cmabuf) at this
        # count in the same boot: how much of it the machine's own drift explains.
        ctrl = [control_growth(b, live, first_live.get("control")) for b in boots]
        norm = [g / c if g is not None and c else None for g, c in zip(growth, ctrl)]
        have = [r for r in recs if r]
        ops.append({
            "op": op, "live": live, "boots": len(have),
            "samples": sum(r.get("ok", 0) for r in have),
            "failed": sum((r.get("n") or 0) - (r.get("ok") or 0) for r in have),
            "p50": spread(r.get("p50") for r in have),
            "p10": spread(r.get("p10") for r in have),
            "p90": spread(r.get("p90") for r in have),
            "growth_p50": spread(growth), "growth_from": first_live[op],
            "growth_vs_control": spread(norm)})
    memory = []
    for live in dict.fromkeys(m["live"] for b in boots for m in b["memory"] if m["live"] > 0):
        recs = [next((m for m in b["memory"] if m["live"] == live), None) for b in boots]
        recs = [m for m in recs if m]
        entry = {"live": live, "boots": len(recs)}
        for field, _ in MEMORY:
            entry[field] = spread(per_buffer(m, field) for m in recs)
        caches = dict.fromkeys(c for m in recs for c in m.get("caches", {}))
        entry["caches"] = {
            c: {"objects": spread((m["caches"][c]["objects"] / live) if c in m.get("caches", {})
                                  else 0 for m in recs),
                "bytes": spread((m["caches"][c]["bytes"] / live) if c in m.get("caches", {})
                                else 0 for m in recs)}
            for c in caches}
        memory.append(entry)
    return {"ops": ops, "memory": memory}


def read_platform(name, label, machine, logs):
    boots = [read_boot(p) for p in logs]
    good = [b for b in boots if b["complete"]]
    plat = {"name": name, "label": label, "qemu": machine, "boots": boots,
            "complete_boots": len(good)}
    if not good:
        why = "; ".join(f"{b['log']}: {b['why']}" for b in boots) or "no logs given"
        plat["not_run"] = f"no complete boot ({why})"
        return plat
    plat["aggregates"] = aggregate(good)
    return plat


def fmt(x):
    if x is None:
        return "–"
    if x == 0:
        return "0"
    a = abs(x)
    return f"{x:.0f}" if a >= 100 else f"{x:.1f}" if a >= 10 else f"{x:.2f}" if a >= 0.1 \
        else f"{x:.3f}"


def fmt_spread(sp, f=fmt, suffix=""):
    if not sp:
        return "–"
    if sp["boots"] == 1 or f(sp["min"]) == f(sp["max"]):
        return f(sp["median"]) + suffix
    return f"{f(sp['median'])}{suffix} [{f(sp['min'])}–{f(sp['max'])}]"


def md_platform(p):
    lines = [f"#### {p['label']}", ""]
    if "not_run" in p:
        return lines + [f"Not run: {p['not_run']}.", ""]
    good = [b for b in p["boots"] if b["complete"]]
    m = good[0]["meta"]
    secs = [sum(e.get("seconds") or 0 for e in b["elapsed"]) +
            sum(f.get("seconds") or 0 for f in b["fills"]) for b in good]
    failed = sum(b["failed"] or 0 for b in good)
    lines += [
        f"Kernel {m.get('kernel', '?')} ({m.get('machine', '?')}), QEMU `{p['qemu']}`, "
        f"{m.get('cpus', '?')} CPUs; pool `{m.get('pool', '?')}` "
        f"({(m.get('pool_bytes') or 0) >> 20} MiB), buffers of {m.get('buffer_bytes', '?')} "
        f"bytes, live counts {', '.join(str(c) for c in m.get('counts', []))}; "
        f"{len(good)} boots ({', '.join(b['log'] for b in good)}); up to "
        f"{m.get('samples', '?')} samples per operation and count per boot, fewer once an "
        f"operation has spent {m.get('budget_ms', '?')} ms (at least "
        f"{m.get('min_samples', '?')}); run time per boot {statistics.median(secs) / 60:.1f} min"
        + (f"; **{failed} failed checks or samples**" if failed else "") + ".", ""]
    bad = [f"{b['log']}: {b['why']}" for b in p["boots"] if not b["complete"]]
    if bad:
        lines += ["Left out (incomplete): " + "; ".join(bad) + ".", ""]
    aggs = p["aggregates"]
    lines += ["Time per operation (µs): p50 = median over boots of the per-boot median "
              "[min–max across boots]; p10–p90 = the medians over boots of the per-boot p10 "
              "and p90 (the spread within a boot); growth = p50 ÷ p50 at the smallest count, "
              "per boot; ÷ control = that growth divided by the control's at the same count "
              "in the same boot (the machine's drift over the run taken out).", "",
              "| Operation | live buffers | p50 | p10–p90 | growth | ÷ control | samples |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for a in aggs["ops"]:
        fail = f" ({a['failed']} failed)" if a["failed"] else ""
        first = a["live"] == a["growth_from"]
        growth = "1×" if first else fmt_spread(a["growth_p50"], suffix="×")
        norm = "1×" if first else fmt_spread(a.get("growth_vs_control"), suffix="×")
        lines.append(f"| {OPS.get(a['op'], a['op'])} | {a['live']} | {fmt_spread(a['p50'])} | "
                     f"{fmt(a['p10'] and a['p10']['median'])}–"
                     f"{fmt(a['p90'] and a['p90']['median'])} | {growth} | {norm} | "
                     f"{a['samples']}{fail} |")
    lines += ["", "Kernel memory per live buffer (bytes ÷ live buffers, against no buffer "
              "live, settled: drop_caches and every slab cache shrunk), median [min–max "
              "across boots]:", "",
              "| live buffers | " + " | ".join(label for _, label in MEMORY) + " |",
              "|---:|" + "---:|" * len(MEMORY)]
    for e in aggs["memory"]:
        lines.append(f"| {e['live']} | " + " | ".join(fmt_spread(e[f]) for f, _ in MEMORY)
                     + " |")
    last = aggs["memory"][-1] if aggs["memory"] else None
    if last and last["caches"]:
        lines += ["", f"Slab caches that grew by at least one object per ten buffers at "
                  f"{last['live']} live buffers (/proc/slabinfo, object bytes):", "",
                  "| cache | objects per buffer | bytes per buffer |", "|---|---:|---:|"]
        rows = sorted(last["caches"].items(), key=lambda i: -(i[1]["bytes"] or {}).get(
            "median", 0))
        for name, c in rows:
            lines.append(f"| {name} | {fmt_spread(c['objects'])} | {fmt_spread(c['bytes'])} |")
    return lines + [""]


def markdown(plats, command):
    runs = ", ".join(f"{p['complete_boots']} {n.upper()}" for n, p in plats.items()
                     if "not_run" not in p)
    lines = [f"Command: `{command}`; complete boots: {runs or 'none'}. Raw samples: "
             "`scale.json`.", ""]
    for p in plats.values():
        lines += md_platform(p)
    return "\n".join(lines).rstrip() + "\n"


def update_doc(path, text):
    if not os.path.exists(path):
        return
    body = open(path).read()
    if BEGIN not in body or END not in body:
        print(f"bench-report: {path} has no scale markers; not updated", file=sys.stderr)
        return
    head, rest = body.split(BEGIN, 1)
    with open(path, "w") as f:
        f.write(head + BEGIN + "\n" + text + END + rest.split(END, 1)[1])


def write(out, plats, command, write_json):
    """scale.json, scale.md and the section of benchmarks.md; False if no boot is complete."""
    if not any(p["complete_boots"] for p in plats.values()):
        return False
    write_json(os.path.join(out, "scale.json"), {"schema": 1, "command": command,
                                                 "platforms": plats})
    text = markdown(plats, command)
    with open(os.path.join(out, "scale.md"), "w") as f:
        f.write(text)
    update_doc(os.path.join(os.path.dirname(os.path.abspath(out)), "benchmarks.md"), text)
    return True
