"""The engine's aggregates: hand-worked answers on a tiny table, and pandas = DuckDB on generated receipts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalty_lib import clv, engine
from loyalty_lib.dataset import visits_mask
from loyalty_lib.metrics import activity

FLOATS = {"revenue", "gross_revenue", "gross", "revenue_after", "gross_after", "recency", "T", "monetary_value"}


def tiny() -> pd.DataFrame:
    """Six receipts worked by hand: a (4, one a return), b (1), and an anonymous one."""
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", None],
            "store_id": ["s1", "s1", "s2", "s1", "s2", "s2"],
            "date": pd.to_datetime(
                [
                    "2025-01-06 10:00",
                    "2025-01-06 18:00",
                    "2025-01-20 00:00",
                    "2025-03-03 00:00",
                    "2025-02-10 00:00",
                    "2025-01-07 00:00",
                ]
            ),
            "gross_amount": [100.0, 50.0, -20.0, 30.0, 80.0, 10.0],
            "amount": [90.0, 50.0, -20.0, 30.0, 80.0, 10.0],
        }
    )


def receipts(n: int = 20_000, n_customers: int = 1_500, seed: int = 5) -> pd.DataFrame:
    """Seeded receipts over 400 days: heavy-tailed customers, some anonymous, some returns."""
    rng = np.random.default_rng(seed)
    w = rng.gamma(0.7, 1.0, n_customers)
    cust = rng.choice(n_customers, size=n, p=w / w.sum())
    ids = pd.Series(np.char.add("c", cust.astype(str)), dtype="str").where(rng.random(n) > 0.05)
    secs = rng.integers(0, 400 * 86_400, n)
    gross = np.round(rng.gamma(2.0, 500.0, n), 2) * np.where(rng.random(n) < 0.03, -1, 1)
    return pd.DataFrame(
        {
            "customer_id": ids,
            "store_id": pd.Series(rng.choice(["s1", "s2", "s3"], n), dtype="str"),
            "date": pd.Timestamp("2024-03-01") + pd.to_timedelta(secs, unit="s"),
            "gross_amount": gross,
            "amount": np.round(gross * 0.95, 2),
        }
    )


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Exact on keys and counts, to rounding on sums."""
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for c in a.columns:
        if c in FLOATS:
            np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-9, atol=1e-6, err_msg=c)
        else:
            assert a[c].astype(object).tolist() == b[c].astype(object).tolist(), c


@pytest.fixture(scope="module")
def tx():
    return receipts()


@pytest.mark.parametrize("backend", ["pandas", "duckdb"])
def test_customer_summary_by_hand(backend):
    out = engine.customer_summary(tiny(), backend=backend)
    assert out["customer_id"].tolist() == ["a", "b"]
    assert out["receipts"].tolist() == [4, 1] and out["visits"].tolist() == [3, 1]  # the return is no visit
    assert out["revenue"].tolist() == [150.0, 80.0] and out["gross_revenue"].tolist() == [160.0, 80.0]
    assert out.loc[0, "first_purchase"] == pd.Timestamp("2025-01-06 10:00")
    assert out.loc[0, "last_purchase"] == pd.Timestamp("2025-03-03")


@pytest.mark.parametrize("backend", ["pandas", "duckdb"])
def test_rfm_summary_by_hand(backend):
    # a buys on days Jan 6 (90 + 50), Jan 20 (-20 is spend here: use gross of the sales only), Mar 3
    t = tiny()[lambda d: d["gross_amount"] > 0]
    out = engine.rfm_summary(t, end="2025-03-10", backend=backend).set_index("customer_id")
    # a: periods Jan 6 and Mar 3 -> frequency 1, recency 56 days, T = Mar 9 - Jan 6 = 62, repeat spend 30
    assert out.loc["a"].tolist() == [1, 56.0, 62.0, 30.0]
    # b: one period, Feb 10 -> T = 27 days, no repeat
    assert out.loc["b"].tolist() == [0, 0.0, 27.0, 0.0]


@pytest.mark.parametrize("backend", ["pandas", "duckdb"])
def test_panels_by_hand(backend):
    cm = engine.customer_month(tiny(), backend=backend)
    assert cm[["customer_id", "receipts", "visits", "revenue"]].values.tolist() == [
        ["a", 3, 2, 120.0],
        ["a", 1, 1, 30.0],
        ["b", 1, 1, 80.0],
    ]
    assert cm["month"].tolist() == pd.to_datetime(["2025-01-01", "2025-03-01", "2025-02-01"]).tolist()
    sm = engine.store_month(tiny(), backend=backend)
    # s2 in January: a's return and the anonymous receipt: 2 receipts, 1 identified customer
    assert sm[["store_id", "receipts", "customers", "revenue"]].values.tolist() == [
        ["s1", 2, 1, 140.0],
        ["s1", 1, 1, 30.0],
        ["s2", 2, 1, -10.0],
        ["s2", 1, 1, 80.0],
    ]


@pytest.mark.parametrize("backend", ["pandas", "duckdb"])
def test_cohorts_returns_and_activity_by_hand(backend):
    co = engine.cohort_counts(tiny(), end="2025-04-01", backend=backend)
    # a joins in January (active in months 0 and 2), b in February (month 0)
    assert co[["month", "customers", "cohort_size"]].values.tolist() == [[0, 1, 1], [2, 1, 1], [0, 1, 1]]
    rc = engine.return_counts(tiny(), horizon_days=30, end="2025-04-01", k_max=3, backend=backend)
    # visits only (the Jan 20 return is none): a's visit 1 (Jan 6 10:00) -> 2 the same day; 2 -> 3 (Mar 3)
    # after 56 days: no; 3 lies within 30 days of the end: not counted. b's visit 1 has no next.
    assert rc.values.tolist() == [[1, 2, 1], [2, 1, 0], [3, 0, 0]]
    with_return = engine.return_counts(tiny().drop(columns="gross_amount"), horizon_days=30, end="2025-04-01", k_max=3)
    assert with_return.values.tolist() == [[1, 2, 1], [2, 1, 1], [3, 1, 0]]  # no gross amount: every receipt
    ac = engine.active_counts(tiny(), end="2025-03-10", windows=[7, 30, 60], backend=backend)
    assert ac.values.tolist() == [[7, 1], [30, 2], [60, 2]]


@pytest.mark.parametrize("freq", ["D", "W", "M"])
def test_duckdb_rfm_is_the_pandas_rfm(tx, freq):
    pos = tx[tx["amount"] >= 0]
    a = engine.rfm_summary(pos, end="2025-04-05", freq=freq, backend="pandas")
    b = engine.rfm_summary(pos, end="2025-04-05", freq=freq, backend="duckdb")
    same(a, b)
    ref = clv.rfm_summary(pos[pos["customer_id"].notna()], end="2025-04-05", freq=freq)
    assert a["frequency"].tolist() == ref["frequency"].tolist()


def test_duckdb_gives_the_pandas_numbers_for_every_aggregate(tx, tmp_path):
    path = tmp_path / "transactions.parquet"
    tx.to_parquet(path)
    end = "2025-03-01"
    for fn, kw in [
        (engine.customer_summary, {"end": end}),
        (engine.customer_month, {}),
        (engine.store_month, {"end": end}),
        (engine.cohort_counts, {"end": end, "max_months": 6}),
        (engine.return_counts, {"end": end, "horizon_days": 60, "k_max": 6}),
        (engine.active_counts, {"end": end, "windows": (30, 90)}),
    ]:
        a = fn(tx, backend="pandas", **kw)
        same(a, fn(tx, backend="duckdb", **kw))
        same(a, fn(tmp_path, backend="duckdb", **kw))  # straight from the Parquet file


def test_return_counts_are_the_return_curve_counts(tx):
    """On the visits (sales receipts, as the return curve counts them) both give the same counts."""
    ident = tx[tx["customer_id"].notna() & visits_mask(tx)]
    curve = activity.return_curve(ident, horizon_days=45, end="2025-04-01", k_max=5)
    got = engine.return_counts(ident, horizon_days=45, end="2025-04-01", k_max=5, backend="duckdb")
    assert got["n"].tolist() == curve["n"].astype(int).tolist()
    assert got["successes"].tolist() == curve["successes"].astype(int).tolist()


def test_auto_runs_small_data_on_pandas(tx, monkeypatch):
    calls = []
    monkeypatch.setattr(engine.aggregates, "_duckdb", lambda: calls.append(1))
    engine.customer_summary(tx, backend="auto")
    assert calls == []  # 20,000 receipts: under AUTO_DUCKDB_ROWS


def test_bad_backend_and_missing_column_are_named(tx):
    with pytest.raises(ValueError, match="Ibis connection string"):
        engine.customer_summary(tx, backend="postgres")
    with pytest.raises(ValueError, match="'gross_amount'"):
        engine.customer_summary(tx.drop(columns="gross_amount"), backend="duckdb")
    with pytest.raises(ValueError, match="freq"):
        engine.rfm_summary(tx, end="2025-01-01", freq="Q")
