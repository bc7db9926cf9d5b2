"""The fast paths of rfm_summary give what hashing and pd.factorize give."""

import numpy as np
import pandas as pd
import pytest

from loyalty_lib.clv import data


@pytest.mark.parametrize("cells", [1 << 27, 7 * 40, 40, 1])  # one block, several blocks, one customer a block, hashing
def test_distinct_periods_match_hashing(monkeypatch, cells):
    rng = np.random.default_rng(cells)
    n_customers, n = 50, 2_000
    codes = rng.integers(0, n_customers, n)
    ordinals = rng.integers(19_000, 19_040, n)  # 40 periods: many repeats
    expected = np.bincount(pd.unique(codes * 40 + (ordinals - 19_000)) // 40, minlength=n_customers)
    monkeypatch.setattr(data, "GRID_CELLS", cells)
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
