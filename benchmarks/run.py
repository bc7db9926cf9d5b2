"""Speed and memory of the suite at scale, measured in one run: ``make bench`` (add ``BENCH_ARGS=--large``).

Prints one table (and writes it to ``outputs/bench.md``, the numbers to ``outputs/bench.json``):

- generation: rows per second and peak memory at 25,000 customers (1M with ``--large``), beside
  the time of writing the same rows to Parquet (target ≤ 5× that time, ≤ 8 GB);
- ``loyalty report --jobs 2``: wall time, CPU time of the whole process tree, peak memory of its
  largest process and of all its processes together (sampled every second), the load average
  at its start and end, at 25,000 customers (target ≤ 30 s; 250,000 and 1M with ``--large``,
  target ≤ 600 s within 24 GB; the 1M report is skipped only while the machine's load average
  is above ``--max-load``, and the row then says so); every stage must end without error;
- ``rfm_summary`` against lifetimes' ``summary_data_from_transaction_data`` on the same 1M
  receipts, measured in the same process (ratio of CPU seconds, ours on one thread as lifetimes;
  target ≥ 10× with identical numbers), the engine's DuckDB path beside them, and at 30M
  receipts (``--large``; target ≤ 3 s wall with both cores; receipts in random order, and in
  date order beside it);
- the two-way fixed-effects DiD: pyfixest against linearmodels' PanelOLS on the same panel, in
  the same process (faster, same numbers);
- the program-design simulator (``benchmarks/bench_simulate.py``): one world of five card
  variants at 100,000 customers (1M with ``--large``), target ≤ 60 s per world;
- the audience and offers cases of ``benchmarks/bench_audience.py`` (the library calls of 08 and
  09; target a stage's own ≤ 60 s and ≤ 6 GB at 1M).

Each case runs in its own process, so the peak memory it reports is its own. CPU seconds are
reported beside wall seconds because the machine may be shared: the wall time then says more
about the neighbours than about the suite. Every row states its target and whether it was met
("not measured" when skipped). The exit code is non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "outputs" / "bench"
PY = sys.executable
LOYALTY = str(Path(sys.executable).with_name("loyalty"))

GENERATE = """
import json, resource, shutil, sys, time
from pathlib import Path
from loyalty_lib import io, synth
n, folder = int(sys.argv[1]), Path(sys.argv[2])
t0 = time.perf_counter(); c0 = time.process_time()
ds = synth.generate(n_customers=n, seed=42, progress=False)
gen, cpu = time.perf_counter() - t0, time.process_time() - c0
rows = sum(len(t) for t in ds.tables.values())
shutil.rmtree(folder, ignore_errors=True)
t0 = time.perf_counter(); io.save(ds, folder, fmt="parquet", force=True); write = time.perf_counter() - t0
print(json.dumps({"seconds": gen, "cpu": cpu, "rows": rows, "receipts": len(ds.transactions), "write_seconds": write,
                  "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))
"""

RFM = """
import json, os, resource, sys, time, warnings
sys.path.insert(0, "benchmarks")
import numpy as np
from bench_clv import make_transactions
from loyalty_lib import clv, engine
n, compare = int(sys.argv[1]), sys.argv[2] == "1"
tx = make_transactions(n, n_customers=max(n // 10, 1000))
def best(fn, k=3):  # best wall and best CPU seconds of k runs
    out, b, c = None, float("inf"), float("inf")
    for _ in range(k):
        t0 = time.perf_counter(); c0 = time.process_time(); out = fn()
        b = min(b, time.perf_counter() - t0); c = min(c, time.process_time() - c0)
    return b, c, out
r = {"receipts": len(tx), "threads": min(2, os.cpu_count() or 1)}
# receipts in random order (the hard case: put in customer blocks by a radix sort), default threads
r["ours"], r["ours_cpu"], ours = best(lambda: clv.rfm_summary(tx, freq="D"))
# one thread: the CPU seconds to compare with lifetimes, which is single-threaded
r["ours_1"], r["ours_1_cpu"], _ = best(lambda: clv.rfm_summary(tx, freq="D", threads=1))
if not compare:  # the large case: receipts in date order as exports and the report's snapshot hold them
    by_date = tx.sort_values("date", kind="stable", ignore_index=True)
    r["ours_date"], r["ours_date_cpu"], by = best(lambda: clv.rfm_summary(by_date, freq="D"))
    r["date_same"] = bool(by.equals(ours) or np.allclose(by.to_numpy(float), ours.to_numpy(float), rtol=1e-12))
    del by_date, by
end = tx["date"].max() + np.timedelta64(1, "D")
r["duckdb"], r["duckdb_cpu"], duck = best(lambda: engine.rfm_summary(tx, end=end, backend="duckdb"))
cols = ["frequency", "recency", "T", "monetary_value"]
r["duckdb_same"] = bool((ours[cols[:3]].to_numpy() == duck[cols[:3]].to_numpy()).all()
                        and np.allclose(ours["monetary_value"], duck["monetary_value"], rtol=1e-9))
if compare:
    from lifetimes.utils import summary_data_from_transaction_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r["lifetimes"], r["lifetimes_cpu"], ref = best(lambda: summary_data_from_transaction_data(
            tx, "customer_id", "date", monetary_value_col="amount", freq="D"), k=1)
    ref = ref.loc[ours.index]
    r["identical"] = bool((ours[cols[:3]].to_numpy() == ref[cols[:3]].to_numpy()).all()
                          and np.allclose(ours["monetary_value"], ref["monetary_value"], rtol=1e-12, atol=0))
r["peak_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps(r))
"""

DID = """
import json, resource, sys, time
import numpy as np, pandas as pd
from loyalty_lib.metrics import impact as im
n, months = int(sys.argv[1]), 24
rng = np.random.default_rng(0)
level = rng.gamma(2.0, 50.0, n); member = rng.random(n) < np.where(level > 100, 0.6, 0.3)
c, m = np.repeat(np.arange(n), months), np.tile(np.arange(months), n)
treated = (member[c] & (m >= 12)).astype(float)
y = level[c] + 2 * m + 15 * treated + rng.normal(0, 40, n * months)
p = pd.DataFrame({"customer_id": c, "month": m, "revenue": y, "treated": treated})
im.did_panel(p.iloc[:5000], fit="pyfixest")  # imports and compiled kernels, not the fit
r = {"cells": len(p)}
for fit in ("pyfixest", "panelols"):
    c0 = time.process_time(); t0 = time.perf_counter(); out = im.did_panel(p, fit=fit).iloc[0]
    r[fit] = time.perf_counter() - t0; r[fit + "_cpu"] = time.process_time() - c0
    r[fit + "_estimate"], r[fit + "_se"] = float(out["estimate"]), float(out["se"])
r["peak_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps(r))
"""


def child(code: str, *args) -> dict:
    """Run ``code`` in a fresh interpreter; return the JSON it prints last."""
    proc = subprocess.run([PY, "-c", code, *map(str, args)], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


REPORT = """
import json, os, resource, subprocess, sys, threading, time
from loyalty_lib.report.memory import process_tree_mb
load0 = os.getloadavg()[0]
t0 = time.perf_counter()
proc = subprocess.Popen([sys.argv[1], "report", "--data", sys.argv[2], "--out", sys.argv[3], "--jobs", "2", "--force",
                         "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
tree = [0.0]
def sample():  # the whole process tree (the report, its workers and their kernels), every second
    while proc.poll() is None:
        tree[0] = max(tree[0], process_tree_mb([proc.pid]))
        time.sleep(1.0)
threading.Thread(target=sample, daemon=True).start()
_, err = proc.communicate()
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": wall, "cpu": ru.ru_utime + ru.ru_stime, "peak_gib": ru.ru_maxrss / 2**20,
                  "tree_gib": tree[0] / 1024, "exit": proc.returncode, "stderr": err[-500:],
                  "load_start": load0, "load_end": os.getloadavg()[0]}))
"""


def report(data: Path, out: Path) -> dict:
    """Run ``loyalty report --jobs 2`` in a measuring process: wall, CPU and memory of its tree, its largest process."""
    r = child(REPORT, LOYALTY, data, out)
    stages = json.loads((out / "run.json").read_text()).get("stages", []) if (out / "run.json").exists() else []
    slowest = max(stages, key=lambda s: s.get("seconds", 0), default={})
    r["failed"] = [s["name"] for s in stages if s.get("status") != "ok"]
    r["stages"] = {s["name"]: s.get("seconds") for s in stages}
    r["slowest"] = f"{slowest.get('name', '?')} ({slowest.get('seconds', 0):.0f} s)"
    return r


def simulate(n: int, worlds: int = 1) -> dict:
    """``benchmarks/bench_simulate.py``: seconds of the simulation alone, CPU of the whole process, peak memory."""

    def children_cpu():
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return ru.ru_utime + ru.ru_stime

    t0, c0 = time.perf_counter(), children_cpu()
    proc = subprocess.run(
        [PY, "benchmarks/bench_simulate.py", "--customers", str(n), "--worlds", str(worlds)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    wall, cpu = time.perf_counter() - t0, children_cpu() - c0
    lines = proc.stdout.splitlines()
    if not any(x.startswith("inner ") for x in lines):  # it exits 1 above its own target: still a result
        raise RuntimeError(proc.stderr[-3000:])
    inner = float(next(x.split()[1] for x in lines if x.startswith("inner ")))
    peak = int(next(x.split()[1] for x in lines if x.startswith("peak "))) / 2**20
    return {"seconds": inner, "cpu": cpu, "wall_with_start": wall, "peak_gib": peak, "worlds": worlds}


def audience(case: str, n: int) -> dict:
    proc = subprocess.run(
        [PY, "benchmarks/bench_audience.py", case, "--customers", str(n)], capture_output=True, text=True, cwd=ROOT
    )
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    lines = proc.stdout.splitlines()
    inner = float(next(x.split()[1] for x in lines if x.startswith("inner ")))
    peak = int(next(x.split()[1] for x in lines if x.startswith("peak "))) / 2**20
    return {"seconds": inner, "peak_gib": peak}


def main(argv: list[str] | None = None) -> int:
    """Measure every case, print the table, write outputs/bench.md and outputs/bench.json."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--large", action="store_true", help="also 1M customers, the 250k and 1M reports, 30M receipts")
    ap.add_argument("--max-load", type=float, default=3.0, help="skip the 1M report above this load average")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    rows: list[tuple] = []  # case, size, wall, cpu, peak, figure, target, ok
    results: dict = {"load_average_at_start": os.getloadavg()[0]}

    def add(case, size, r, figure, target, ok):
        rows.append((case, size, r.get("seconds"), r.get("cpu"), r.get("peak_gib"), figure, target, ok))
        results[f"{case} {size}"] = r
        print(f"  {case} {size}: {figure}", file=sys.stderr, flush=True)

    sizes = [25_000] + ([1_000_000] if args.large else [])
    for n in sizes:
        r = child(GENERATE, n, OUT / f"data_{n}")
        rate = r["rows"] / r["seconds"]
        ratio = r["seconds"] / r["write_seconds"]
        ok = ratio <= 5 and r["peak_gib"] <= 8
        add(
            "generate",
            f"{n:,} customers",
            r,
            f"{rate:,.0f} rows/s; {ratio:.1f}× the Parquet write",
            "≤ 5× the Parquet write, ≤ 8 GB",
            ok,
        )
    for n in [25_000] + ([250_000, 1_000_000] if args.large else []):
        target = "≤ 30 s wall, every stage ok" if n <= 25_000 else "≤ 600 s wall, ≤ 24 GB, every stage ok"
        load = os.getloadavg()[0]
        if n >= 1_000_000 and load > args.max_load:
            rows.append(
                (
                    "report --jobs 2",
                    f"{n:,} customers",
                    None,
                    None,
                    None,
                    f"skipped: load average {load:.1f} > {args.max_load} (--max-load); run again on a quiet machine",
                    target,
                    None,
                )
            )
            results[f"report --jobs 2 {n:,} customers"] = {"skipped": f"load average {load:.1f}"}
            print(f"  report {n:,}: skipped, load average {load:.1f}", file=sys.stderr, flush=True)
            continue
        data = OUT / f"data_{n}"
        if not (data / "transactions.parquet").exists():
            child(GENERATE, n, data)
        r = report(data, OUT / f"report_{n}")
        target_s = 30 if n <= 25_000 else 600
        ok = r["exit"] == 0 and r["seconds"] <= target_s and r["tree_gib"] <= 24
        fig = (
            f"load {r['load_start']:.1f} → {r['load_end']:.1f}; all processes {r['tree_gib']:.1f} GiB; "
            f"exit {r['exit']}; slowest {r['slowest']}"
        )
        fig += f"; failed {', '.join(r['failed'])}" if r["failed"] else ""
        add("report --jobs 2", f"{n:,} customers", r, fig, target, ok)
    r = child(RFM, 1_000_000, 1)
    # lifetimes is single-threaded: the ratio of CPU seconds against ours on one thread is the
    # one a busy machine does not move
    ratio = r["lifetimes_cpu"] / r["ours_1_cpu"]
    add(
        "rfm_summary",
        f"{r['receipts']:,} receipts",
        {**r, "seconds": r["ours"], "cpu": r["ours_cpu"]},
        f"lifetimes {r['lifetimes_cpu']:.2f} CPU-s = {ratio:.1f}× ours on one thread "
        f"(wall {r['lifetimes'] / r['ours']:.1f}×); identical {r['identical']}; "
        f"DuckDB {r['duckdb']:.2f} s (same {r['duckdb_same']})",
        "≥ 10× lifetimes, identical",
        ratio >= 10 and r["identical"],
    )
    if args.large:
        r = child(RFM, 30_000_000, 0)
        add(
            "rfm_summary",
            f"{r['receipts']:,} receipts",
            {**r, "seconds": r["ours"], "cpu": r["ours_cpu"]},
            f"random order, {r['threads']} threads (one: {r['ours_1']:.2f} s, {r['ours_1_cpu']:.2f} CPU-s); "
            f"in date order {r['ours_date']:.2f} s (same {r['date_same']}); "
            f"DuckDB {r['duckdb']:.2f} s (same {r['duckdb_same']})",
            "≤ 3 s wall",
            r["ours"] <= 3 and r["duckdb_same"] and r["date_same"],
        )
    r = child(DID, 50_000)
    ratio = r["panelols_cpu"] / r["pyfixest_cpu"]
    same = abs(r["pyfixest_estimate"] / r["panelols_estimate"] - 1) < 1e-8
    same = same and abs(r["pyfixest_se"] / r["panelols_se"] - 1) < 1e-6
    add(
        "DiD two-way FE (pyfixest)",
        f"{r['cells']:,} customer-months",
        {**r, "seconds": r["pyfixest"], "cpu": r["pyfixest_cpu"]},
        f"PanelOLS {r['panelols_cpu']:.1f} CPU-s = {ratio:.1f}× ours; same estimate and error {same}",
        "faster than PanelOLS, same numbers",
        ratio > 1 and same,
    )
    n_sim = 1_000_000 if args.large else 100_000
    r = simulate(n_sim)
    add(
        "program-design simulator",
        f"{n_sim:,} customers",
        r,
        f"one world of five variants; {r['seconds'] / r['worlds']:.1f} s per world",
        "≤ 60 s per world",
        r["seconds"] / r["worlds"] <= 60,
    )
    n_aud = 1_000_000 if args.large else 100_000
    for case in ("segment", "recommend", "offers"):
        r = audience(case, n_aud)
        add(
            f"audience: {case}",
            f"{n_aud:,} customers",
            r,
            "the library call alone (08, 09)",
            "≤ 60 s, ≤ 6 GB (a stage's own work at 1M)",
            r["seconds"] <= 60 and r["peak_gib"] <= 6,
        )
    table = render(rows, results["load_average_at_start"])
    print(table)
    (ROOT / "outputs" / "bench.md").write_text(table + "\n")
    (ROOT / "outputs" / "bench.json").write_text(json.dumps(results, indent=2, default=str))
    return 0 if all(r[7] is not False for r in rows) else 1


def render(rows, load) -> str:
    """The table, as Markdown."""

    def num(v, fmt):
        return "" if v is None else format(v, fmt)

    head = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores; load average at the start {load:.1f}.",
        "",
        "| case | size | wall s | CPU s | peak GiB | figure | target | met |",
        "|---|---|---:|---:|---:|---|---|---|",
    ]
    body = [
        f"| {c} | {s} | {num(w, '.2f')} | {num(u, '.1f')} | {num(p, '.2f')} | {f} | {t} | "
        f"{'not measured' if ok is None else ('yes' if ok else '**no**')} |"
        for c, s, w, u, p, f, t, ok in rows
    ]
    return "\n".join(head + body)


if __name__ == "__main__":
    sys.exit(main())
