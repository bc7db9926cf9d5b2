"""Million-customer cases of the audience and offers stages, on tables built straight with numpy.

The generator needs minutes and about 6.5 GB at a million customers; these cases need only the
shape of the data: ``--customers`` customers with about 10 receipts each over a year and 2.5
lines per receipt from a 300-product catalogue (each customer favouring a few products). Run one
case per process so its peak memory is its own::

    python benchmarks/bench_audience.py segment --customers 1000000
    python benchmarks/bench_audience.py recommend --customers 1000000
    python benchmarks/bench_audience.py offers --customers 1000000

Each prints ``inner <seconds>`` (the library call alone) and ``peak <KiB>`` (max RSS).
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd


def tables(n: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Customers, receipts, receipt lines and a catalogue of the given size."""
    rng = np.random.default_rng(seed)
    per = rng.poisson(10, n)
    cust = np.repeat(np.arange(n), per)
    m = len(cust)
    start = pd.Timestamp("2026-01-01").value
    date = pd.to_datetime(start + rng.integers(0, 365 * 86400, m).astype(np.int64) * 10**9)
    ids = pd.array(np.char.add("C", np.arange(n).astype(str)), dtype="str")
    tx = pd.DataFrame(
        {
            "transaction_id": np.arange(m),
            "customer_id": ids[cust],
            "date": date,
            "amount": np.round(rng.lognormal(7, 0.6, m), 2),
        }
    )
    n_lines = 1 + rng.poisson(1.5, m)
    line_tx = np.repeat(np.arange(m), n_lines)
    fav = rng.integers(0, 300, (n, 4))
    own = rng.random(len(line_tx)) < 0.6
    prod = np.where(own, fav[cust[line_tx], rng.integers(0, 4, len(line_tx))], rng.zipf(1.3, len(line_tx)) % 300)
    items = pd.DataFrame({"transaction_id": line_tx, "product_id": prod})
    products = pd.DataFrame(
        {
            "product_id": np.arange(300),
            "category": np.repeat([f"cat{i}" for i in range(12)], 25),
            "is_premium": rng.random(300) < 0.25,
            "replenishment_days": np.where(rng.random(300) < 0.5, 30.0, np.nan),
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "birthday": pd.to_datetime("1980-01-01") + pd.to_timedelta(rng.integers(0, 15000, n), unit="D"),
            "opt_in_email": rng.random(n) < 0.6,
            "opt_in_sms": rng.random(n) < 0.5,
        }
    )
    return {"customers": customers, "transactions": tx, "transaction_items": items, "products": products}


def main() -> None:
    """Run one case and print its time and peak memory."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("case", choices=["segment", "recommend", "offers"])
    ap.add_argument("--customers", type=int, default=1_000_000)
    args = ap.parse_args()
    from loyalty_lib.metrics import audience, offers

    t = tables(args.customers)
    print(f"receipts {len(t['transactions']):,}, lines {len(t['transaction_items']):,}")
    start = time.perf_counter()
    if args.case == "segment":
        out = audience.assign_segments(t["transactions"], customers=t["customers"]["customer_id"])
    else:
        lines = offers.line_history(t["transaction_items"], t["transactions"], t["products"])
        if args.case == "recommend":
            m, _, _ = offers.interaction_matrix(lines, items=t["products"]["product_id"])
            out = offers.recommend_products(m, offers.item_similarity(m), k=10)
        else:
            out = offers.next_best_offers(lines, t["transactions"], t["customers"], t["products"], as_of="2027-01-01")
    print("inner", time.perf_counter() - start)
    print("rows", len(out))
    print("peak", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


if __name__ == "__main__":
    main()
