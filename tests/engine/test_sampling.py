"""Models above max_model_customers: a random sample of whole customers, and the precision it costs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalty_lib.engine import ModelSample, add_sample_cost, sample_customers
from loyalty_lib.metrics import impact as im


def panel(n: int, months: int = 12, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    level = rng.gamma(2.0, 50.0, n)
    member = rng.random(n) < 0.4
    c, m = np.repeat(np.arange(n), months), np.tile(np.arange(months), n)
    treated = (member[c] & (m >= months // 2)).astype(float)
    y = level[c] + 15.0 * treated + rng.normal(0, 40, n * months)
    return pd.DataFrame({"customer_id": c, "month": m, "revenue": y, "treated": treated})


def test_under_the_limit_every_customer_is_used():
    p = panel(50)
    kept, s = sample_customers(p, 50, seed=1)
    assert kept is p and not s.sampled and s.se_factor == 1.0 and s.sentence() == ""
    kept, s = sample_customers(p, 0, seed=1)  # 0: no limit
    assert kept is p


def test_the_sample_keeps_whole_customers_and_is_reproducible():
    p = panel(200)
    a, s = sample_customers(p, 50, seed=7)
    b, _ = sample_customers(p, 50, seed=7)
    assert a["customer_id"].nunique() == 50 and s.n_all == 200 and s.sampled
    assert (a.groupby("customer_id").size() == 12).all()  # every month of a sampled customer
    pd.testing.assert_frame_equal(a, b)
    assert "50 of the 200 customers" in s.sentence() and "2.00 times" in s.sentence()
    with pytest.raises(ValueError, match="max_model_customers"):
        sample_customers(p, -1)


def test_the_precision_cost_shown_is_the_one_measured():
    p = panel(4000, seed=2)
    full = im.did_panel(p).iloc[0]
    part, s = sample_customers(p, 1000, seed=3)
    sub = add_sample_cost(im.did_panel(part), s).iloc[0]
    assert sub["customers_used"] == 0.25 and sub["interval_vs_all"] == pytest.approx(2.0)
    # the error of the quarter sample is about twice the error on everyone, as the page says
    assert sub["se"] / full["se"] == pytest.approx(sub["interval_vs_all"], rel=0.15)
    assert abs(sub["estimate"] - 15.0) < 4 * sub["se"]


def test_model_sample_factor():
    assert ModelSample(900, 100, 100, 0).se_factor == pytest.approx(3.0)
