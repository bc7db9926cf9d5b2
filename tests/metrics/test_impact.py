"""Tests of loyalty_lib.metrics.impact on hand-worked panels, plus recovery of planted truth."""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from loyalty_lib import stats
from loyalty_lib.metrics import impact as im
from loyalty_lib.plotting import impact as pim

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import impact_data  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def panel_2x2():
    # customers A, B members; C, D not. Month 0 before launch, month 1 after.
    # changes: A 10->30 (+20), B 20->50 (+30), C 5->10 (+5), D 15->20 (+5)
    # DiD = mean(20, 30) - mean(5, 5) = 25 - 5 = 20
    return pd.DataFrame(
        {
            "customer_id": list("AABBCCDD"),
            "month": pd.to_datetime(["2026-01-01", "2026-02-01"] * 4),
            "revenue": [10.0, 30, 20, 50, 5, 10, 15, 20],
            "visits": [1, 3, 2, 5, 1, 1, 1, 2],
            "ever_member": [True] * 4 + [False] * 4,
            "post": [False, True] * 4,
        }
    ).assign(treated=lambda d: d.ever_member & d.post)


def test_panel_zero_fills_from_first_month():
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 2],
            "date": pd.to_datetime(["2026-01-03", "2026-03-09", "2026-02-01"]),
            "amount": [10.0, 5.0, 7.0],
        }
    )
    cust = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "first_seen": pd.to_datetime(["2025-06-01", "2026-02-01", "2026-03-15"]),
        }
    )
    p = im.customer_month_panel(tx, customers=cust, start="2026-01-01", end="2026-04-01")
    # customer 1: Jan..Mar (first_seen before start -> from start), 2: Feb..Mar, 3: Mar only
    assert p["customer_id"].tolist() == [1, 1, 1, 2, 2, 3]
    assert p["visits"].tolist() == [1, 0, 1, 1, 0, 0]
    assert p["revenue"].tolist() == [10.0, 0.0, 5.0, 7.0, 0.0, 0.0]
    assert p["month_index"].tolist() == [0, 1, 2, 1, 2, 2]
    assert list(p.columns) == ["customer_id", "month", "month_index", "visits", "revenue"]


def test_panel_missing_column_named():
    tx = pd.DataFrame({"customer_id": [1], "date": pd.to_datetime(["2026-01-01"])})
    with pytest.raises(ValueError, match="'amount'"):
        im.customer_month_panel(tx)


def test_add_treatment_flags():
    p = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2, 2],
            "month": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"] * 2),
        }
    )
    cards = pd.DataFrame(
        {
            "customer_id": pd.array([1, pd.NA], dtype="Int64"),
            "issued_date": pd.to_datetime(["2026-02-14", None]),
        }
    )
    out = im.add_treatment(p, cards, launch="2026-02-01")
    assert out["ever_member"].tolist() == [True] * 3 + [False] * 3
    assert out["post"].tolist() == [False, True, True] * 2
    assert out["issue_cell"].tolist() == [False, True, False] + [False] * 3
    assert out["after_issue"].tolist() == [False, False, True] + [False] * 3
    # card from 15 Feb: 14 of Feb's 28 days, all of March
    assert out["card_exposure"].tolist() == pytest.approx([0, 0.5, 1, 0, 0, 0])
    assert out["card_exposure"].sum() == pytest.approx(
        im.card_months(cards["issued_date"].dropna(), "2026-04-01").sum()
    )
    with pytest.raises(ValueError, match="issued_date"):
        im.add_treatment(p, cards.drop(columns="issued_date"), launch="2026-02-01")


def test_did_panel_2x2_by_hand():
    out = im.did_panel(panel_2x2())
    assert out.loc["revenue", "estimate"] == pytest.approx(20.0)
    assert out.loc["revenue", "ci_low"] < 20 < out.loc["revenue", "ci_high"]
    assert out.loc["revenue", "n"] == 4


def test_did_balanced_equals_two_way_fixed_effects():
    p = panel_2x2()
    b = im.did_balanced(p, outcomes=["revenue", "visits"], n_boot=50)
    assert b.loc["revenue", "estimate"] == pytest.approx(20.0)
    # visits: members (3-1 + 5-2)/2 = 2.5, non-members (0 + 1)/2 = 0.5 -> 2.0
    assert b.loc["visits", "estimate"] == pytest.approx(2.0)
    assert b.loc["visits", "estimate"] == pytest.approx(im.did_panel(p, outcome="visits")["estimate"].iloc[0])
    assert b.loc["revenue", "pre_members"] == pytest.approx(15.0)


def test_did_balanced_rejects_unbalanced_panel():
    with pytest.raises(ValueError, match="balanced"):
        im.did_balanced(panel_2x2().iloc[1:])
    with pytest.raises(ValueError, match="'post'"):
        im.did_balanced(panel_2x2().drop(columns="post"))


def card_panel():
    return impact_data.hand_card_panel()


def test_did_imputation_by_hand():
    # Own pre-launch levels: A 10, B 5, C 15 (revenue); 1, 1, 1 (visits).
    # Month effects over before-the-card time after launch (per month of exposure):
    #   Feb: A's first half (30 - 20 = 10, exposure 0.5, own level 0.5 * 10 = 5 -> +5),
    #        B 7 - 5 = +2, C 11 - 15 = -4; total +3 over 2.5 months -> +1.2
    #   Mar: B 9 - 5 = +4, C 21 - 15 = +6 over 2 months -> +5
    # A with a card: Feb 20 - 0.5 * (10 + 1.2) = 14.4, Mar 40 - (10 + 5) = 25; over 1.5 months
    # -> 39.4 / 1.5 = 26.2667. Visits: effects Feb (1 - 0.5 + 0 + 0) / 2.5 = 0.2, Mar (0 + 1) / 2
    # = 0.5; A: Feb 2 - 0.5 * 1.2 = 1.4, Mar 2 - 1.5 = 0.5 -> 1.9 / 1.5.
    out = im.did_imputation(card_panel(), outcomes=["revenue", "visits"], n_boot=20)
    assert out.loc["revenue", "estimate"] == pytest.approx(39.4 / 1.5)
    assert out.loc["visits", "estimate"] == pytest.approx(1.9 / 1.5)
    assert out.loc["revenue", "member_months"] == pytest.approx(1.5)
    # imputed no-card revenue over A's card time: 0.5 * 11.2 + 15 = 20.6 -> per month 20.6 / 1.5
    assert out.loc["revenue", "counterfactual"] == pytest.approx(20.6 / 1.5)
    # check: actual 60 / 4 with the card, imputed no-card (20.6 / 1.5) / (2.1 / 1.5)
    assert out.loc["check", "estimate"] == pytest.approx(60 / 4 - 20.6 / 2.1)
    assert out.loc["revenue", "n"] == 3


def test_did_imputation_rejects_bad_exposure():
    p = card_panel()
    with pytest.raises(ValueError, match="card_exposure"):
        im.did_imputation(p.assign(card_exposure=p["card_exposure"] * 2))
    with pytest.raises(ValueError, match="revenue_card"):
        im.did_imputation(p.drop(columns="revenue_card"))
    with pytest.raises(ValueError, match="balanced"):
        im.did_imputation(p.iloc[1:])


def test_panel_splits_receipts_at_the_day_after_issue():
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 2],
            # the card is handed out on 14 Feb: that day's receipts stay before the card
            "date": pd.to_datetime(
                ["2026-02-03 09:00", "2026-02-14 10:00", "2026-02-14 18:00", "2026-02-15 09:00", "2026-02-20 09:00"]
            ),
            "amount": [1.0, 2.0, 4.0, 8.0, 16.0],
        }
    )
    cards = pd.DataFrame(
        {"customer_id": pd.array([1, pd.NA], dtype="Int64"), "issued_date": pd.to_datetime(["2026-02-14", None])}
    )
    p = im.customer_month_panel(tx, start="2026-02-01", end="2026-03-01", cards=cards)
    assert p["revenue"].tolist() == [15.0, 16.0]
    assert p["revenue_card"].tolist() == [8.0, 0.0]
    assert p["visits_card"].tolist() == [1, 0]
    t = im.add_treatment(p, cards, launch="2026-02-01")
    assert t["card_exposure"].tolist() == pytest.approx([14 / 28, 0.0])


def test_naive_gap_by_hand():
    p = panel_2x2()
    out = im.naive_gap(p, mask=p["post"], n_boot=50)
    # post cells: members revenue (30 + 50)/2 = 40, non-members (10 + 20)/2 = 15 -> 25
    assert out.loc["revenue", "estimate"] == pytest.approx(25.0)
    # visits (3 + 5)/2 - (1 + 2)/2 = 2.5; check 80/8 - 30/3 = 0
    assert out.loc["visits", "estimate"] == pytest.approx(2.5)
    assert out.loc["check", "estimate"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="'ever_member'"):
        im.naive_gap(p.drop(columns="ever_member"))


def test_planted_effect_by_hand():
    p = pd.DataFrame(
        {
            "revenue": [30.0, 50, 10],
            "visits": [3, 5, 1],
            "cf_revenue": [20.0, 30, 10],
            "cf_visits": [2, 4, 1],
        }
    )
    t = im.planted_effect(p, [True, True, False])
    # revenue (30-20 + 50-30)/2 = 15; visits (1 + 1)/2 = 1; check 80/8 - 50/6
    assert t["revenue"] == pytest.approx(15.0)
    assert t["visits"] == pytest.approx(1.0)
    assert t["check"] == pytest.approx(10 - 50 / 6)


def test_balance_table_by_hand():
    f = pd.DataFrame({"x": [1.0, 2, 3, 4]})
    t = [True, True, False, False]
    b = im.balance_table(f, t, weights=[1, 1, 1, 3])
    # means 1.5 vs 3.5, variances 0.5 and 0.5 -> sd 0.7071; SMD -2 / 0.7071
    assert b.loc["x", "smd_before"] == pytest.approx(-2 / np.sqrt(0.5))
    # weighted non-members (3 + 12) / 4 = 3.75
    assert b.loc["x", "mean_non_members_weighted"] == pytest.approx(3.75)
    assert b.loc["x", "smd_after"] == pytest.approx(-2.25 / np.sqrt(0.5))


def test_psw_att_exact_stratification():
    # one binary feature: the logit is saturated, so weighting = exact stratification.
    # x=0: 1 member, 2 non-members -> p = 1/3, non-member weight 0.5 each
    # x=1: 2 members, 1 non-member -> p = 2/3, weight 2
    # members' mean (10 + 20 + 30) / 3 = 20; weighted non-members (0.5*4 + 0.5*6 + 2*12) / 3 = 29/3
    f = pd.DataFrame({"x": [0.0, 1, 1, 0, 0, 1]})
    t = np.array([True, True, True, False, False, False])
    y = pd.DataFrame({"revenue": [10.0, 20, 30, 4, 6, 12], "visits": [1.0] * 6})
    pw = im.propensity_weights(f, t)
    assert pw["propensity"].round(6).tolist() == [
        0.333333,
        0.666667,
        0.666667,
        0.333333,
        0.333333,
        0.666667,
    ]
    assert pw.loc[~t, "weight"].tolist() == pytest.approx([0.5, 0.5, 2.0])
    out = im.psw_att(f, t, y, n_boot=30)
    assert out.loc["revenue", "estimate"] == pytest.approx(20 - 29 / 3)
    assert out.loc["check", "estimate"] == pytest.approx(20 - 29 / 3)


def test_propensity_bad_inputs():
    f = pd.DataFrame({"x": [0.0, 1, np.inf]})
    with pytest.raises(ValueError, match="'?x'?"):
        im.propensity_weights(f, [True, False, True])
    with pytest.raises(ValueError, match="both"):
        im.propensity_weights(pd.DataFrame({"x": [0.0, 1]}), [True, True])


def test_pre_period_features_by_hand():
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 1],
            "date": pd.to_datetime(["2025-01-10", "2025-12-22", "2025-06-01", "2026-01-05"]),
            "amount": [100.0, 50.0, 30.0, 999.0],
        }
    )
    cust = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "customer_type": ["b2c", "b2b", "b2c"],
            "age": pd.array([30, None, 50], dtype="Int64"),
        }
    )
    f = im.pre_period_features(tx, cust, launch="2026-01-01", start="2025-01-01")
    assert f["pre_visits"].tolist() == [2.0, 1.0, 0.0]
    assert f["pre_spend"].tolist() == [150.0, 30.0, 0.0]
    # recency: Dec 22 -> Jan 1 = 10 days; Jun 1 -> 214 days; none -> 365 (pre-period length)
    assert f["pre_recency_days"].tolist() == [10.0, 214.0, 365.0]
    assert f["age"].tolist() == [30.0, 40.0, 50.0]
    assert f["age_missing"].tolist() == [0.0, 1.0, 0.0]
    assert f["customer_type_b2c"].tolist() == [1.0, 0.0, 1.0]


def test_event_study_by_hand():
    # members [10, 20, 35], non-members [5, 8, 11]; reference month 0
    # changes 0/10/25 vs 0/3/6 -> gaps 0, 7, 19
    p = pd.DataFrame(
        {
            "customer_id": np.repeat([1, 2, 3, 4], 3),
            "month": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"] * 4),
            "revenue": [10.0, 20, 35] * 2 + [5.0, 8, 11] * 2,
            "ever_member": [True] * 6 + [False] * 6,
            "post": [False, True, True] * 4,
        }
    )
    es = im.event_study(p)
    assert es["estimate"].tolist() == pytest.approx([0, 7, 19])
    assert es["relative_month"].tolist() == [-1, 0, 1]
    ax = pim.plot_event_study(es, truth=7, ax=plt.figure().gca())
    assert ax.get_xlabel() == "months since launch"
    ax = pim.plot_parallel_trends(es, launch="2026-02-01", ax=plt.figure().gca())
    assert "revenue" in ax.get_ylabel()


def test_event_study_plot_names_its_event():
    prof = pd.DataFrame(
        {"relative_month": [-1, 0, 1], "estimate": [0.0, 2, 3], "ci_low": [-1.0, 1, 2], "ci_high": [1.0, 3, 4]}
    )
    ax = pim.plot_event_study(prof, xlabel="months since the card", event="card", ax=plt.figure().gca())
    assert ax.get_xlabel() == "months since the card"
    assert "Card" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_balance_and_overlap_plots():
    f = pd.DataFrame({"x": [1.0, 2, 3, 4], "z": [0.0, 1, 0, 1]})
    t = np.array([True, True, False, False])
    ax = pim.plot_balance(im.balance_table(f, t, [1, 1, 1, 1]), ax=plt.figure().gca())
    assert "standardised" in ax.get_xlabel()
    pw = pd.DataFrame({"treated": t, "propensity": [0.6, 0.7, 0.3, 0.4]})
    ax = pim.plot_propensity_overlap(pw, ax=plt.figure().gca())
    assert ax.get_ylabel() == "density"
    with pytest.raises(ValueError, match="propensity"):
        pim.plot_propensity_overlap(pw.drop(columns="propensity"))


def test_truth_value_nested_and_flat():
    assert im.truth_value({"a": {"b": 2.0}}, "a.b") == 2.0
    assert im.truth_value({"a.b": 2.0}, "a.b") == 2.0
    assert np.isnan(im.truth_value(None, "a.b"))


# ------------------------------------------------------------------ recovery on generated data
@pytest.fixture(scope="module")
def generated():
    from loyalty_lib import synth

    ds = synth.generate("sergey_branch", n_customers=3000, seed=42)
    return ds, impact_data.established_card_panel(ds)


def test_did_recovers_planted_effect(generated):
    ds, e = generated
    truth = ds.truth["impact"]["did_revenue_per_customer_month"]
    # the planted key is exactly the mean of actual - no-program over the DiD's treated cells
    assert im.planted_effect(e, e["treated"])["revenue"] == pytest.approx(truth, rel=1e-6)
    d = im.did_panel(e).iloc[0]
    assert d.ci_low <= truth <= d.ci_high
    naive = im.naive_gap(e, mask=e["post"], n_boot=20).loc["revenue", "estimate"]
    assert naive > 2 * truth  # heavier buyers join more: the naive gap is far above the effect


def test_did_imputation_recovers_effect_with_card(generated):
    ds, e = generated
    truth = im.planted_card_effect(e)
    # the planted key is exactly the effect over the with-card time of the established members
    assert truth["revenue"] == pytest.approx(ds.truth["impact"]["card_revenue_per_member_month"], rel=1e-9)
    assert truth["visits"] == pytest.approx(ds.truth["impact"]["card_visits_per_member_month"], rel=1e-9)
    d = im.did_imputation(e, outcomes=["revenue", "visits"], n_boot=200)
    for k in ("revenue", "visits"):
        assert d.loc[k, "ci_low"] <= truth[k] <= d.loc[k, "ci_high"], d
    # on the no-program world the same design finds no effect (the true one is 0 there)
    placebo = e.assign(revenue=e["cf_revenue"], revenue_card=e["cf_revenue_card"])
    p = im.did_imputation(placebo, n_boot=200).loc["revenue"]
    # one data set's 95 % interval misses one time in twenty (seed 42 of the regenerated branch:
    # +407, 1.9 standard errors); the seed sweeps of test_impact_calibration check the coverage,
    # this one data set only that the placebo stays within three standard errors of 0
    assert abs(p.estimate) < 3 * p.se, p


@pytest.mark.parametrize(
    ("func", "kwargs", "missing"),
    [
        (im.did_panel, {}, "treated"),
        (im.did_imputation, {}, "card_exposure"),
        (im.event_study, {}, "ever_member"),
        (im.did_balanced, {"outcomes": ["gross"]}, "gross"),
    ],
)
def test_estimators_name_missing_columns(func, kwargs, missing):
    p = panel_2x2().drop(columns=[c for c in ("treated", "ever_member") if c == missing])
    with pytest.raises(ValueError, match=f"'{missing}'"):
        func(p, **kwargs)


def test_did_panel_needs_variation():
    p = panel_2x2().assign(treated=False)
    with pytest.raises(ValueError, match="vary"):
        im.did_panel(p)


def test_panel_totals_match_receipts(generated):
    ds, e = generated
    # every receipt of an established customer in the window lands in exactly one cell
    start, end = pd.Timestamp(ds.truth["period"]["start"]), pd.Timestamp(ds.truth["period"]["end"])
    tx = ds.transactions[ds.transactions["customer_id"].isin(e["customer_id"].unique())]
    tx = tx[(tx["date"] >= start) & (tx["date"] < end)]
    assert e["visits"].sum() == len(tx)
    assert e["revenue"].sum() == pytest.approx(tx["amount"].sum())
    assert (e.groupby("customer_id").size() == 24).all()  # established: balanced, 24 months each


def test_bootstrap_refit_matches_statsmodels():
    rng = np.random.default_rng(5)
    f = pd.DataFrame({"x": rng.normal(size=400), "z": rng.integers(0, 2, 400).astype(float)})
    t = rng.random(400) < 1 / (1 + np.exp(-(0.5 * f["x"] - 0.3 * f["z"])))
    X, _ = im._design(f)
    beta = im._logit_irls(X, t.astype(float), np.ones(400), np.zeros(X.shape[1]))
    p_newton = 1 / (1 + np.exp(-X @ beta))
    np.testing.assert_allclose(p_newton, im.propensity_weights(f, t)["propensity"], rtol=1e-6)
    # the customer bootstrap hands the statistic multinomial draws of n out of n
    counts = stats.bootstrap_draws(50, lambda c: c, n_boot=7, seed=1, counts=True)
    assert counts.shape == (7, 50) and (counts.sum(1) == 50).all()
