"""The committed teaching sample is what the generator makes for its seed, on any machine.

Floats are compared with a relative tolerance (a sum or a matrix product may differ in its last
bit on another CPU or BLAS); ids, counts, dates and labels exactly. The perturbation tests below
prove that the comparison still catches a real change to the generator.
"""

import numpy as np
import pandas as pd
import pytest

from loyalty_lib import config, io, synth
from loyalty_lib.compare import table_differences, truth_differences


@pytest.fixture(scope="module")
def committed():
    return io.load(config.SAMPLE_DIR)


@pytest.fixture(scope="module")
def fresh():
    return synth.generate(n_customers=config.SAMPLE_CUSTOMERS, seed=config.SAMPLE_SEED)


def _all_tables(ds):
    return {**ds.tables, **{f"truth_{n}": t for n, t in ds.truth_tables.items()}}


def test_sample_truth_matches_the_generator(committed, fresh):
    diff = truth_differences(fresh.truth, committed.truth)
    assert not diff, "regenerate the sample with `make sample`:\n" + "\n".join(diff)


def test_sample_tables_match_the_generator(committed, fresh):
    expected, got = _all_tables(fresh), _all_tables(committed)
    assert set(got) == set(expected)
    diff = [d for name, df in expected.items() for d in table_differences(df, got[name], name=name)]
    assert not diff, "regenerate the sample with `make sample`:\n" + "\n".join(diff)


def test_a_last_bit_is_not_a_difference(fresh):
    # the figure and the last bit another machine gave for it (issue 9): ...687 here, ...688 there
    truth = _copy(fresh.truth)
    email = truth["campaigns"]["uplift"]["subscription"]
    email["email"] = np.nextafter(email["email"], 1.0)
    assert truth_differences(fresh.truth, truth) == []
    tx = fresh.transactions
    assert table_differences(tx, tx.assign(amount=tx["amount"] * (1 + 4e-16)), name="transactions") == []


@pytest.mark.parametrize(
    "path,change",
    [
        (("uplift", "frequency_pct"), lambda v: v * 1.001),  # a planted effect moved by 0.1 %
        (("cards_issued",), lambda v: v + 1),  # a count
        (("period", "launch"), lambda v: "2026-01-02"),  # a date
        (("tiers", "thresholds"), lambda v: v[:-1]),  # a list that lost an item
        (("scenario",), lambda v: v.upper()),  # a label
    ],
    ids=["float", "count", "date", "list", "label"],
)
def test_a_real_change_to_the_truth_is_caught(fresh, path, change):
    truth = _copy(fresh.truth)
    node = truth
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = change(node[path[-1]])
    diff = truth_differences(fresh.truth, truth)
    assert len(diff) == 1 and diff[0].startswith(".".join(path)), diff


def test_a_new_or_lost_key_is_caught(fresh):
    truth = _copy(fresh.truth)
    truth["new_effect"] = 1.0
    del truth["uplift"]["check_pct"]
    assert sorted(truth_differences(fresh.truth, truth)) == ["new_effect: unexpected key", "uplift.check_pct: missing"]


def test_an_int_is_not_a_float_nor_a_string():
    assert truth_differences({"n": 3}, {"n": "3"}) == ["n: expected 3, got '3'"]
    assert truth_differences({"x": 0.5}, {"x": None}) == ["x: expected 0.5, got None"]
    assert truth_differences({"x": float("nan")}, {"x": float("nan")}) == []
    assert truth_differences({"x": True}, {"x": 1}) == ["x: expected True, got 1"]


@pytest.mark.parametrize(
    "column,change,expected",
    [
        ("amount", lambda s: s.where(s.index != 5, s * 1.0001), "transactions.amount: 1 row(s) differ, first at row 5"),
        ("customer_id", lambda s: s.where(s.index != 7, "C-nobody"), "transactions.customer_id: 1 row(s)"),
        ("date", lambda s: s.where(s.index != 2, s + pd.Timedelta(days=1)), "transactions.date: 1 row(s) differ"),
        ("amount", lambda s: s.where(s.index != 3), "transactions.amount: 1 row(s) differ, first at row 3"),
    ],
    ids=["float", "id", "date", "missing"],
)
def test_a_real_change_to_a_table_is_caught(fresh, column, change, expected):
    tx = fresh.transactions.head(20).reset_index(drop=True)
    diff = table_differences(tx, tx.assign(**{column: change(tx[column])}), name="transactions")
    assert len(diff) == 1 and diff[0].startswith(expected), diff


def test_a_table_with_another_shape_is_caught(fresh):
    tx = fresh.transactions.head(20)
    assert table_differences(tx, tx.head(19), name="t") == ["t: expected 20 rows, got 19"]
    assert table_differences(tx, tx.iloc[:, ::-1], name="t")[0].startswith("t: expected columns")


def test_sample_is_small():
    size = sum(p.stat().st_size for p in config.SAMPLE_DIR.iterdir())
    assert size < 8 * 2**20


def _copy(truth):
    import json

    return json.loads(json.dumps(truth))
