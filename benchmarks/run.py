"""Speed and memory benchmarks with targets: `make bench` (add --large for 1M customers).

Each case runs in its own process so its peak memory (max RSS) is measured alone. Results are
printed as a table and written to outputs/bench.json; the exit code is non-zero when a target
is missed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CASES = {
    # name: (code run in a fresh interpreter, target seconds, target peak GiB)
    "generate 25k customers": ("from loyalty_lib import synth; synth.generate(n_customers=25_000, seed=42)", 10, 1.5),
    "validate 25k customers": (
        "from loyalty_lib import synth, validation; ds = synth.generate(n_customers=25_000, seed=42)\n"
        "import time; t = time.perf_counter(); assert validation.validate(ds.tables).ok\n"
        "print('inner', time.perf_counter() - t)",
        5,
        1.5,
    ),
}
LARGE = {
    "generate 1M customers": (
        "from loyalty_lib import synth; synth.generate(n_customers=1_000_000, seed=42, progress=True)",
        180,
        12,
    ),
}


def run_case(code: str) -> dict:
    """Run ``code`` in a child interpreter; return wall seconds, peak RSS and inner timing."""
    code += "\nimport resource; print('peak', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t
    if proc.returncode:
        raise RuntimeError(proc.stderr[-2000:])
    peak = [int(x.split()[1]) / 2**20 for x in proc.stdout.splitlines() if x.startswith("peak ")][0]  # KiB -> GiB
    inner = [float(x.split()[1]) for x in proc.stdout.splitlines() if x.startswith("inner ")]
    return {"seconds": inner[0] if inner else wall, "wall_seconds": wall, "peak_gib": peak}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and compare with their targets."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--large", action="store_true", help="also generate 1M customers (minutes, ~10 GB)")
    args = ap.parse_args(argv)
    cases = {**CASES, **(LARGE if args.large else {})}
    results, ok = {}, True
    extra = ROOT / "benchmarks" / "bench_clv.py"
    for name, (code, t_max, m_max) in cases.items():
        r = run_case(code)
        r.update(target_seconds=t_max, target_peak_gib=m_max, ok=r["seconds"] <= t_max and r["peak_gib"] <= m_max)
        results[name] = r
        ok &= r["ok"]
        print(
            f"{name:32s} {r['seconds']:8.2f} s (target {t_max} s)  "
            f"peak {r['peak_gib']:.2f} GiB (target {m_max})  {'ok' if r['ok'] else 'MISSED'}"
        )
    if extra.exists():
        sys.path.insert(0, str(extra.parent))
        import bench_clv  # noqa: PLC0415

        results["clv"] = bench_clv.run()
        print("clv:", results["clv"])
    out = ROOT / "outputs" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
