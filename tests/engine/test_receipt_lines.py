"""Receipt lines as integer codes: worked by hand, and DuckDB (from frames and from Parquet) = pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalty_lib import engine


def tiny():
    """Four receipts (one anonymous, one on the end day) and six lines, one of a product outside the catalogue."""
    tx = pd.DataFrame(
        {
            "transaction_id": ["r1", "r2", "r3", "r4"],
            "customer_id": ["b", None, "a", "a"],
            "date": pd.to_datetime(["2026-01-01 10:00", "2026-01-02 00:00", "2026-01-03 12:30", "2026-02-01 00:00"]),
        }
    )
    items = pd.DataFrame(
        {
            "transaction_id": ["r3", "r2", "r1", "r3", "r4", "r1"],
            "product_id": ["q", "p", "p", "zz", "p", "q"],
        }
    )
    return items, tx


@pytest.mark.parametrize("backend", ["pandas", "duckdb"])
def test_receipt_lines_by_hand(backend):
    items, tx = tiny()
    lines, labels = engine.receipt_lines(
        items, tx, customers=["a", "b"], products=["p", "q"], end="2026-02-01", backend=backend
    )
    # lines in the order of the items table; r2 is anonymous, r4 on the end day (left out);
    # customer a is code 0, b code 1; receipts are their rows in tx; zz, outside the catalogue, gets code 2
    assert lines[["customer", "receipt", "product"]].values.tolist() == [[0, 2, 1], [1, 0, 0], [0, 2, 2], [1, 0, 1]]
    assert lines["date"].tolist() == list(pd.to_datetime(["2026-01-03 12:30", "2026-01-01 10:00"] * 2))
    assert list(labels) == ["p", "q", "zz"]
    assert [str(t) for t in lines.dtypes] == ["int32", "int32", "datetime64[ns]", "int32"]


@pytest.mark.parametrize("backend", ["pandas", "duckdb"])
def test_receipt_lines_name_a_customer_missing_from_customers(backend):
    items, tx = tiny()
    with pytest.raises(ValueError, match=r"transactions.customer_id missing from customers.*'b'"):
        engine.receipt_lines(items, tx, customers=["a"], products=["p", "q"], backend=backend)


def test_duckdb_gives_the_pandas_lines(tmp_path):
    rng = np.random.default_rng(3)
    n_tx, n_lines = 5_000, 15_000
    tx = pd.DataFrame(
        {
            "transaction_id": pd.Series([f"t{i}" for i in rng.permutation(n_tx)], dtype="str"),
            "customer_id": pd.Series([f"c{i}" for i in rng.integers(0, 400, n_tx)], dtype="str").where(
                rng.random(n_tx) > 0.1
            ),
            "date": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300 * 86_400, n_tx), unit="s"),
        }
    )
    items = pd.DataFrame(
        {
            "transaction_id": tx["transaction_id"].to_numpy()[rng.integers(0, n_tx, n_lines)],
            "product_id": pd.Series([f"p{i}" for i in rng.integers(0, 60, n_lines)], dtype="str"),
        }
    )
    tx.to_parquet(tmp_path / "transactions.parquet")
    items.to_parquet(tmp_path / "transaction_items.parquet")
    kw = dict(customers=[f"c{i}" for i in range(400)], products=[f"p{i}" for i in range(50)], end="2025-09-01")
    a, la = engine.receipt_lines(items, tx, backend="pandas", **kw)
    for src in [(items, tx), (tmp_path, tmp_path)]:
        b, lb = engine.receipt_lines(*src, backend="duckdb", **kw)
        pd.testing.assert_frame_equal(a, b)
        assert list(la) == list(lb) == kw["products"] + [f"p{i}" for i in sorted(range(50, 60), key=str)]
    assert 0 < len(a) < n_lines and (a["date"] < pd.Timestamp("2025-09-01")).all()
