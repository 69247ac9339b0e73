#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn cmabuf_bench's "cmabuf-bench: {json}" console lines into the benchmark report:
<out>/results.json, <out>/results.md, <out>/plot.png, and the figures section of
Documentation/benchmarks.md (between its results markers).

usage: bench-report.py <console log> <out dir> <command> <qemu machine>
"""
import json
import os
import re
import sys

log, out, command, machine = sys.argv[1:5]
meta, results = {}, []
for line in open(log, errors="replace"):
    m = re.match(r"^cmabuf-bench: (\{.*\})\s*$", line)
    if not m:
        continue
    rec = json.loads(m.group(1))
    if rec.get("meta"):
        meta = rec
    elif "scenario" in rec:
        results.append(rec)
if not meta or not results:
    sys.exit("bench-report: no benchmark results in " + log)

os.makedirs(out, exist_ok=True)
doc = {"meta": meta, "command": command, "qemu": machine, "results": results,
       "note": "QEMU TCG wall-clock times in the guest: not hardware times; compare ratios."}
with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(doc, f, indent=1)


def find(scenario, param, backend):
    for r in results:
        if (r["scenario"], r["param"], r["backend"]) == (scenario, param, backend):
            return r
    return None


def ratio(a, b, key="p50"):
    if not a or not b or not b[key] or not a["ok"] or not b["ok"]:
        return None
    return a[key] / b[key]


def fmt(x, digits=2):
    return "n/a" if x is None else f"{x:.{digits}f}"


def params(scenario):
    seen = []
    for r in results:
        if r["scenario"] == scenario and r["param"] not in seen:
            seen.append(r["param"])
    return seen


md = []
md.append(f"Kernel {meta['kernel']} ({meta['machine']}), QEMU `{machine}`, {meta['cpus']} CPUs, "
          f"{meta['mem_kib'] // 1024} MiB; pool `{meta['pool']}` ({meta['pool_bytes'] >> 20} MiB) "
          f"served by cmabuf and by the kernel's CMA heap `{meta['heap']}` in the same boot, "
          f"interleaved; {meta['rounds']} rounds; guest memcpy {meta['memcpy_mbps']:.0f} MB/s. "
          f"Command: `{command}`.")
md.append("")
md.append("Times are QEMU TCG wall-clock times in the guest, **not hardware times**: "
          "only the ratios (cmabuf ÷ CMA heap, same run) carry over.")
md.append("")

# Targets of the benchmark issue, evaluated on this run.
targets = []
idle = [(p, ratio(find("idle_alloc_free", p, "cmabuf"), find("idle_alloc_free", p, "cma-heap")))
        for p in params("idle_alloc_free")]
worst = max((r for _, r in idle if r is not None), default=None)
targets.append(("Idle alloc+free p50 ≤ 1.0× the CMA heap at every size",
                f"worst {fmt(worst)}× ({', '.join(f'{p}: {fmt(r)}' for p, r in idle)})",
                worst is not None and worst <= 1.0))
pipe = [(p, ratio(find("steady_pipeline", p, "cmabuf"), find("steady_pipeline", p, "cma-heap"), "p99"))
        for p in params("steady_pipeline")]
worst = max((r for _, r in pipe if r is not None), default=None)
targets.append(("Steady pipeline p99 ≤ 0.05× the CMA heap",
                ", ".join(f"{p}: {fmt(r, 3)}×" for p, r in pipe), worst is not None and worst <= 0.05))
press = []
ok = True
for p in params("pressure"):
    c = find("pressure", p, "cmabuf")
    if not c:
        continue
    pctage = int(p.split("%")[0])
    success = c["ok"] / c["rounds"] if c["rounds"] else 0
    floor = c.get("x_copy_floor_p50")
    press.append(f"{p}: {100 * success:.0f}% ok, {fmt(floor)}× floor")
    if pctage <= 50 and (success < 1.0 or floor is None or floor > 2.0):
        ok = False
targets.append(("Pressure: 100 % success up to 50 % of the pool and ≤ 2× the copy floor",
                "; ".join(press), ok and bool(press)))
ff = [r for r in results if r["scenario"] == "first_frame"]
if ff:
    with_p = next((r for r in ff if r["backend"] == "cmabuf" and "prepared" in r["param"]), None)
    without = next((r for r in ff if r["backend"] == "cmabuf" and "prepared" not in r["param"]), None)
    rr = ratio(with_p, without)
    targets.append(("First frame after preparation ≤ 0.1× without", f"{fmt(rr, 3)}×",
                    rr is not None and rr <= 0.1))
else:
    targets.append(("First frame after preparation ≤ 0.1× without", "not measured", False))
fw = [p for p in params("mapping") if p.startswith("first write")]
fwr = None
if fw:
    fwr = ratio(find("mapping", fw[0], "cmabuf"), find("mapping", fw[0], "cma-heap"))
targets.append(("First write through a fresh mapping ≥ 3× the CMA heap's", f"{fmt(fwr)}×",
                fwr is not None and fwr >= 3.0))
lend = find("lending", "CMA used by the system", "reusable pools")
targets.append(("Lending ≥ 90 % of the idle pool used by the system",
                f"{fmt(lend['p50'], 1)} % of CMA" if lend else "not measured",
                bool(lend) and lend["p50"] >= 90))

md.append("| Target | This run | Met |")
md.append("|---|---|---|")
for name, fig, met in targets:
    md.append(f"| {name} | {fig} | {'yes' if met else '**no**'} |")
md.append("")

titles = {
    "idle_alloc_free": "1. Idle: allocate + free (µs)",
    "idle_alloc_map_touch": "1. Idle: allocate + mmap + first-touch write of every page + free (µs)",
    "pressure": "2. Pressure: one allocation while the pool is lent out (µs)",
    "steady_pipeline": "3. Steady pipeline: 8 buffers in flight, one allocation per frame (µs)",
    "first_frame": "4. First frame after the pool was lent out (µs)",
    "concurrency": "5. Concurrency: 1 MiB allocate + free per thread (µs)",
    "mapping": "6. Mapping bandwidth (MB/s, higher is better)",
    "lending": "7. Lending: CMA used by the system while the pools are idle (%)",
}
for scen, title in titles.items():
    rows = [r for r in results if r["scenario"] == scen]
    if not rows:
        continue
    md.append(f"### {title}")
    md.append("")
    md.append("| Case | Allocator | p50 | p99 | max | ok | vs CMA heap (p50) |")
    md.append("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        base = find(scen, r["param"], "cma-heap")
        rel = ratio(r, base) if r["backend"] != "cma-heap" and base else None
        extra = ""
        if r.get("x_copy_floor_p50") is not None:
            extra = f" (×{r['x_copy_floor_p50']:.2f} copy floor)"
        md.append(f"| {r['param']} | {r['backend']} | {r['p50']:.1f} | {r['p99']:.1f} | "
                  f"{r['max']:.1f} | {r['ok']}/{r['rounds']} | {fmt(rel)}{extra} |")
    md.append("")

text = "\n".join(md) + "\n"
with open(os.path.join(out, "results.md"), "w") as f:
    f.write(text)

# The figures section of Documentation/benchmarks.md.
bm = os.path.join(os.path.dirname(os.path.abspath(out)), "benchmarks.md")
begin, end = "<!-- results:begin (scripts/bench-report.py) -->", "<!-- results:end -->"
if os.path.exists(bm):
    body = open(bm).read()
    if begin in body and end in body:
        head, rest = body.split(begin, 1)
        _, tail = rest.split(end, 1)
        with open(bm, "w") as f:
            f.write(head + begin + "\n" + text + end + tail)

# The plot.
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("bench-report: no matplotlib: no plot", file=sys.stderr)
    sys.exit(0)

fig, axes = plt.subplots(2, 2, figsize=(12, 8))
colors = {"cmabuf": "tab:blue", "cma-heap": "tab:orange"}


def bars(ax, scen, key, title, ylabel, backends=("cmabuf", "cma-heap"), log=False):
    ps = params(scen)
    width = 0.8 / len(backends)
    for i, b in enumerate(backends):
        ys = [(find(scen, p, b) or {}).get(key, 0) for p in ps]
        ax.bar([x + i * width for x in range(len(ps))], ys, width, label=b,
               color=colors.get(b))
    ax.set_xticks([x + width * (len(backends) - 1) / 2 for x in range(len(ps))])
    ax.set_xticklabels(ps, rotation=20, fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=8)


bars(axes[0][0], "idle_alloc_free", "p50", "Idle allocate + free, p50", "µs (log)", log=True)
bars(axes[0][1], "steady_pipeline", "p99", "Steady pipeline, p99 per frame", "µs (log)", log=True)
bars(axes[1][0], "pressure", "p50", "Allocation while the pool is lent out, p50", "µs (log)", log=True)
mb = [b for b in ("cmabuf", "cma-heap", "cmabuf-writecombine", "cmabuf-uncached", "anonymous")
      if any(r["backend"] == b for r in results if r["scenario"] == "mapping")]
bars(axes[1][1], "mapping", "p50", "Mapping bandwidth, p50", "MB/s", backends=mb)
fig.suptitle(f"cmabuf vs the kernel's CMA heap — QEMU TCG guest ({meta['kernel']}), ratios only",
             fontsize=11)
fig.tight_layout()
fig.savefig(os.path.join(out, "plot.png"), dpi=90)
