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
