"""Tests of loyalty_lib.metrics.branches: store-month panel and the branch DiD, by hand and on a generated chain."""

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from loyalty_lib import synth
from loyalty_lib.metrics import branches as br
from loyalty_lib.metrics import designs
from loyalty_lib.metrics import impact as im
from loyalty_lib.study import Study

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import impact_data  # noqa: E402


def test_store_month_panel_counts_every_receipt_and_fills_zero_months():
    tx = pd.DataFrame(
        {
            "store_id": ["a", "a", "b", None],
            "amount": [10.0, 5.0, 7.0, 99.0],
            "date": pd.to_datetime(["2026-01-03", "2026-01-31", "2026-02-01", "2026-01-05"]),
        }
    )
    p = br.store_month_panel(tx, start="2026-01-01", end="2026-03-01")
    # a: Jan 2 receipts (10 + 5), Feb none; b: Jan none, Feb 1 receipt (7); the receipt without a store is left out
    assert p["store_id"].tolist() == ["a", "a", "b", "b"]
    assert p["month"].tolist() == list(pd.to_datetime(["2026-01-01", "2026-02-01"] * 2))
    assert p["visits"].tolist() == [2, 0, 0, 1] and p["revenue"].tolist() == [15.0, 0.0, 0.0, 7.0]
    with pytest.raises(ValueError, match="missing column"):
        br.store_month_panel(tx.drop(columns="amount"), start="2026-01-01", end="2026-03-01")


def chain_panel():
    # branch a launches in March; b and c never run the program. Control mean: 10, 20, 30, 30;
    # a before launch: 20, 40 -> k = 60 / 30 = 2; expected after: 60, 60; a did 70 and 74 -> gaps 10, 14
    return pd.DataFrame(
        {
            "store_id": list("aaaabbbbcccc"),
            "month": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"] * 3),
            "revenue": [20.0, 40, 70, 74, 8, 18, 28, 26, 12, 22, 32, 34],
        }
    )


def test_branch_gap_and_did_by_hand():
    g = br.branch_gap(chain_panel(), treated=["a"], launch="2026-03-15")
    assert g["control"].tolist() == [10.0, 20.0, 30.0, 30.0]
    assert g["expected"].tolist() == [20.0, 40.0, 60.0, 60.0]
    assert g["gap"].tolist() == [0.0, 0.0, 10.0, 14.0]
    assert g["relative_month"].tolist() == [-2, -1, 0, 1]
    out = br.branch_did(chain_panel(), treated=["a"], launch="2026-03-15", outcomes=["revenue"])
    r = out.loc["revenue"]
    assert r["estimate"] == pytest.approx(12.0) and r["n"] == 3 and (r["n_pre"], r["n_post"]) == (2, 2)
    assert r["scale"] == pytest.approx(2.0) and r["counterfactual"] == pytest.approx(60.0)
    # the interval: Newey-West standard error (statsmodels' HAC with the small-sample correction), t with 2 dof
    with warnings.catch_warnings():  # statsmodels also computes the constant's variance, negative on 4 months
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = sm.OLS(g["gap"].to_numpy(), sm.add_constant(g["post"].to_numpy(float))).fit(
            cov_type="HAC", cov_kwds={"maxlags": 2, "use_correction": True}
        )
        ref_se = ref.bse[1]
    assert r["se"] == pytest.approx(ref_se, rel=1e-9)
    half = 4.302652729911275 * ref_se  # t(0.975, 2)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((12 - half, 12 + half), rel=1e-9)


def test_newey_west_matches_statsmodels_on_a_drifting_series(rng):
    y = rng.normal(size=30).cumsum()
    post = (np.arange(30) >= 14).astype(float)
    est, se = br._newey_west_shift(y, post)
    ref = sm.OLS(y, sm.add_constant(post)).fit(cov_type="HAC", cov_kwds={"maxlags": 3, "use_correction": True})
    assert est == pytest.approx(ref.params[1], rel=1e-9) and se == pytest.approx(ref.bse[1], rel=1e-9)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"treated": ["a", "b", "c"]}, "one branch without the program"),
        ({"treated": ["z"]}, "at least one launching branch"),
        ({"launch": "2026-01-01"}, "months before and after"),
    ],
)
def test_branch_gap_refuses_what_it_cannot_compare(kwargs, match):
    args = {"treated": ["a"], "launch": "2026-03-15", **kwargs}
    with pytest.raises(ValueError, match=match):
        br.branch_gap(chain_panel(), **args)


def test_program_branches_splits_by_card_use():
    tx = pd.DataFrame({"store_id": ["a", "b", "b", "c"], "card_id": [None, 5, None, None]})
    assert br.program_branches(tx) == (["b"], ["a", "c"])


def test_branch_did_recovers_the_planted_effect_on_a_generated_chain():
    # branch A launches the program (the generator's branch, issue dates withheld); B and C are the
    # no-program worlds of two other generated branches. The planted effect per launching-branch
    # month: the generator's actual minus no-program outcome of A's receipts from the launch month on.
    a = synth.generate(n_customers=5000, seed=12)
    ds = impact_data.chain(a, [synth.generate(n_customers=5000, seed=1012 + i) for i in range(2)])
    study = Study.from_data(ds)
    assert study.can("branch_did") and designs.choose_design(study).key == "branch_did"  # issue dates unknown
    treated, control = br.program_branches(ds.transactions)
    assert (treated, control) == (["A"], ["B", "C"])
    panel = br.store_month_panel(ds.transactions, start=study.start, end=study.end)
    out = br.branch_did(panel, treated=treated, launch=study.launch, outcomes=["revenue", "visits"])
    tx = im.counterfactual_columns(a.transactions, a.truth_tables["transactions"])
    after = tx["date"] >= study.launch.to_period("M").to_timestamp()
    n_post = out["n_post"].iloc[0]
    truth = {
        "revenue": (tx["amount"] - tx["cf_amount"])[after].sum() / n_post,
        "visits": (1 - tx["cf_visit"])[after].sum() / n_post,
    }
    for o, t in truth.items():
        assert out.loc[o, "ci_low"] <= t <= out.loc[o, "ci_high"], (o, out.loc[o].to_dict(), t)
    # and the comparison is not empty: the effect is far from zero
    assert out.loc["visits", "ci_low"] > 0


def test_branch_gap_plot_labels():
    import matplotlib.pyplot as plt

    from loyalty_lib.plotting import impact as pim

    g = br.branch_gap(chain_panel(), treated=["a"], launch="2026-03-15")
    ax = pim.plot_branch_gap(g, ylabel="revenue per branch-month, USD", ax=plt.figure().gca())
    assert ax.get_ylabel() == "revenue per branch-month, USD" and len(ax.get_lines()) == 3
    with pytest.raises(ValueError, match="expected"):
        pim.plot_branch_gap(g.drop(columns="expected"), ax=plt.figure().gca())
