"""Timing of the CLV building blocks on about a million synthetic receipts.

Run with ``.venv/bin/python benchmarks/bench_clv.py``. When the archived ``lifetimes`` package
is installed (it is only a comparison peer, not a dependency:
``.venv/bin/pip install lifetimes 'setuptools<82'``), its
``summary_data_from_transaction_data`` is timed on the same receipts and both summaries are
checked to agree.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from loyalty_lib import clv


def make_transactions(n_transactions: int = 1_000_000, n_customers: int = 100_000, seed: int = 0):
    """Receipts of ``n_customers`` over two years, heavy-tailed purchase counts, seeded."""
    rng = np.random.default_rng(seed)
    weight = rng.gamma(0.7, 1.0, n_customers)
    customer = rng.choice(n_customers, size=n_transactions, p=weight / weight.sum())
    start = np.datetime64("2024-01-01")
    day = rng.integers(0, 730, n_transactions)
    return pd.DataFrame(
        {
            "customer_id": customer.astype(np.int64) + 1,
            "date": pd.to_datetime(start + day.astype("timedelta64[D]")),
            "amount": np.round(rng.gamma(2.0, 800.0, n_transactions), 2),
        }
    )


def _time(fn, repeat: int = 3) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run(n_transactions: int = 1_000_000, *, compare: bool = True, sample: int = 5_000) -> dict:
    """Time ``rfm_summary`` (and lifetimes, if installed) and the model fits.

    Parameters
    ----------
    n_transactions : int
        Number of synthetic receipts.
    compare : bool
        Also time lifetimes and check agreement when it can be imported.
    sample : int
        Number of customers compared column by column.

    Returns
    -------
    dict
        Seconds (best of 3) per step, and ``lifetimes_identical`` (bool or None).
    """
    tx = make_transactions(n_transactions)
    out: dict = {"n_transactions": len(tx)}
    out["rfm_summary_daily_s"], ours = _time(lambda: clv.rfm_summary(tx, freq="D"))
    out["rfm_summary_weekly_s"], _ = _time(lambda: clv.rfm_summary(tx, freq="W"))
    out["calibration_and_holdout_s"], _ = _time(
        lambda: clv.calibration_and_holdout(tx, calibration_end="2025-07-01", end="2026-01-01")
    )
    out["n_customers"] = len(ours)
    with warnings.catch_warnings():
        # uniform synthetic buying has no dropout: the BG/NBD warns that a/(a+b) -> 0
        warnings.simplefilter("ignore", clv.ClvFitWarning)
        out["fit_bgnbd_s"], _ = _time(lambda: clv.fit_bgnbd(ours), repeat=1)
    out["fit_gamma_gamma_s"], _ = _time(lambda: clv.fit_gamma_gamma(ours), repeat=1)
    out["lifetimes_summary_daily_s"] = None
    out["lifetimes_identical"] = None
    if compare:
        try:
            from lifetimes.utils import summary_data_from_transaction_data
        except ImportError:
            return out
        out["lifetimes_summary_daily_s"], ref = _time(
            lambda: summary_data_from_transaction_data(
                tx, "customer_id", "date", monetary_value_col="amount", freq="D"
            ),
            repeat=1,
        )
        ids = np.random.default_rng(1).choice(ours.index.to_numpy(), sample, replace=False)
        cols = ["frequency", "recency", "T", "monetary_value"]
        a, b = ours.loc[ids, cols].astype(float), ref.loc[ids, cols].astype(float)
        out["lifetimes_identical"] = bool(
            len(ours) == len(ref)
            and (a[["frequency", "recency", "T"]].to_numpy() == b[cols[:3]].to_numpy()).all()
            and np.allclose(a["monetary_value"], b["monetary_value"], rtol=1e-12, atol=0)
        )
    return out


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:28s} {value:.3f}" if isinstance(value, float) else f"{key:28s} {value}")
