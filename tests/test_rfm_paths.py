"""The fast paths of rfm_summary give what hashing and pd.factorize give."""

import numpy as np
import pandas as pd
import pytest

from loyalty_lib.clv import data


# one block, several blocks, one customer a block, hashing (a row of 40 or 37 periods is 40 bytes)
@pytest.mark.parametrize("cells", [1 << 22, 7 * 40, 40, 1])
@pytest.mark.parametrize("span", [40, 37])
def test_distinct_periods_match_hashing(monkeypatch, cells, span):
    rng = np.random.default_rng(cells + span)
    n_customers, n = 50, 2_000
    codes = rng.integers(0, n_customers, n)
    ordinals = rng.integers(19_000, 19_000 + span, n)  # many repeats
    expected = np.bincount(pd.unique(codes * span + (ordinals - 19_000)) // span, minlength=n_customers)
    monkeypatch.setattr(data, "GRID_BYTES", cells)
    assert data._distinct_periods(codes, ordinals, n_customers).tolist() == expected.tolist()


@pytest.mark.parametrize(
    "ids",
    [
        pd.Series([30, 10, 10, 20, 30], dtype="int64"),  # dense whole numbers: ranked by a presence table
        pd.Series([10**12, 5, 5], dtype="int64"),  # far apart: pd.factorize
        pd.Series([3, 1, 3], dtype="Int64"),
        pd.Series(["b", "a", "b"], dtype="str"),
    ],
)
def test_sorted_codes_are_factorize_sorted(ids):
    codes, uniques = data._sorted_codes(ids)
    ref_codes, ref_uniques = pd.factorize(ids, sort=True)
    assert codes.tolist() == ref_codes.tolist()
    assert list(uniques) == list(ref_uniques)


def test_sorted_codes_without_compacting_are_offsets():
    # whole numbers 10..13 with 12 absent: codes are the offsets from 10, keys the whole range
    codes, uniques = data._sorted_codes(pd.Series([13, 10, 11, 10], dtype="int64"), compact=False)
    assert codes.tolist() == [3, 0, 1, 0]
    assert list(uniques) == [10, 11, 12, 13]


def _receipts(order: str, n: int = 6_000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tx = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 400, n) * 3 + 1,  # gaps: ids without a receipt
            "date": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 90 * 24, n), unit="h"),
            "amount": np.round(rng.gamma(2.0, 30.0, n), 2),
        }
    )
    if order != "as drawn":
        tx = tx.sort_values(order, kind="stable", ignore_index=True)
    return tx


@pytest.mark.parametrize("order", ["as drawn", "customer_id", "date"])
@pytest.mark.parametrize("freq", ["D", "W"])
def test_threaded_paths_give_lifetimes_numbers(monkeypatch, order, freq):
    """Two parts on two threads, chunks, several grid blocks, each receipt order: one answer.

    The thresholds are lowered so that 6,000 receipts take the paths of tens of millions:
    parts and threads (PARALLEL_MIN_ROWS), chunks (CHUNK_ROWS), 8 grid blocks of 50 customers
    (GRID_BYTES; 91 days are 96 bytes a customer), and the period-by-period count of receipts in
    date order (DATE_ORDER_MIN_ROWS_PER_PERIOD).
    """
    lt_utils = pytest.importorskip("lifetimes.utils")
    tx = _receipts(order)
    one = data.rfm_summary(tx, end="2025-04-01", freq=freq, threads=1)
    monkeypatch.setattr(data, "PARALLEL_MIN_ROWS", 1_000)
    monkeypatch.setattr(data, "CHUNK_ROWS", 700)
    monkeypatch.setattr(data, "GRID_BYTES", 50 * 96)
    monkeypatch.setattr(data, "GRID_MAX_BYTES", 50 * 96)
    monkeypatch.setattr(data, "DATE_ORDER_MIN_ROWS_PER_PERIOD", 2)
    threaded = data.rfm_summary(tx, end="2025-04-01", freq=freq, threads=2)
    serial = data.rfm_summary(tx, end="2025-04-01", freq=freq, threads=1)
    # the same numbers whatever the number of threads (the parts are fixed, not the threads)
    pd.testing.assert_frame_equal(threaded, serial, check_exact=True)
    ref = lt_utils.summary_data_from_transaction_data(
        tx, "customer_id", "date", monetary_value_col="amount", observation_period_end="2025-03-31", freq=freq
    )
    assert threaded.index.tolist() == ref.index.tolist() == one.index.tolist()
    for col in ["frequency", "recency", "T", "monetary_value"]:
        np.testing.assert_allclose(threaded[col], ref[col], rtol=1e-12, err_msg=col)
        np.testing.assert_allclose(one[col], ref[col], rtol=1e-12, err_msg=col)


def test_threads_must_be_positive():
    with pytest.raises(ValueError, match="threads must be at least 1"):
        data.rfm_summary(_receipts("date", n=10), threads=0)
