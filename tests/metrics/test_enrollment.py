"""Tests of loyalty_lib.metrics.enrollment on hand-worked tiny tables (and planted truth)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from loyalty_lib.metrics import enrollment
from loyalty_lib.stats import wilson_ci

LAUNCH, END = "2025-01-01", "2025-03-01"


@pytest.fixture
def tx():
    # c1: pre-launch buy, gets card 101 at the Jan 5 purchase, uses it Jan 10 and Jan 20
    # c2: gets card 102 at delivery Jan 6, uses it once Feb 6
    # c3: gets card 103 Jan 7, never uses it;  c4: two purchases, no card
    # c5: pre-launch only (not a buyer);      c6: one purchase, no card
    rows = [
        (1, 1, "2024-12-15 10:00", None, "A"),
        (2, 1, "2025-01-05 10:00", None, "A"),
        (3, 1, "2025-01-10 10:00", 101, "A"),
        (4, 1, "2025-01-20 10:00", 101, "B"),
        (5, 2, "2025-01-06 12:00", None, "A"),
        (6, 2, "2025-02-06 12:00", 102, "B"),
        (7, 3, "2025-01-07 09:00", None, "B"),
        (8, 4, "2025-01-08 09:00", None, "B"),
        (9, 4, "2025-01-09 09:00", None, "B"),
        (10, 5, "2024-11-01 09:00", None, "A"),
        (11, 6, "2025-01-15 09:00", None, "A"),
    ]
    cols = ["transaction_id", "customer_id", "date", "card_id", "seller_id"]
    df = pd.DataFrame(rows, columns=cols)
    df["date"] = pd.to_datetime(df["date"])
    df["card_id"] = df["card_id"].astype("Int64")
    return df


@pytest.fixture
def cards():
    df = pd.DataFrame(
        {
            "card_id": [101, 102, 103, 104, 105],
            "customer_id": pd.array([1, 2, 3, None, None], dtype="Int64"),
            "issued_date": pd.to_datetime(["2025-01-05 10:00", "2025-01-06 12:00", "2025-01-07 09:00", None, None]),
            "issue_channel": ["offline", "delivery", "offline", None, None],
            "store_id": ["S1", "S1", "S1", None, None],
            "seller_id": ["A", "A", "B", None, None],
        }
    )
    return df


@pytest.fixture
def customers():
    return pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 5, 6],
            "customer_type": ["b2c", "b2b", "b2c", "b2c", "b2b", "b2b"],
        }
    )


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_member_table(tx, cards):
    m = enrollment.member_table(cards, tx, end=END).set_index("customer_id")
    # the issue receipt (no card) is not a use: c1 has 2 card receipts, c2 1, c3 0
    assert m["n_card_receipts"].to_dict() == {1: 2, 2: 1, 3: 0}
    assert m["activated"].tolist() == [True, True, False]
    assert m["repeat_use"].tolist() == [True, False, False]
    # c1: Jan 5 10:00 -> Jan 10 10:00 = 5 days; c2: Jan 6 -> Feb 6 = 31 days
    assert m.loc[1, "days_to_activation"] == 5.0
    assert m.loc[2, "days_to_activation"] == 31.0
    assert np.isnan(m.loc[3, "days_to_activation"])
    # c3 watched from Jan 7 09:00 to Mar 1 00:00 = 52 days 15 hours
    assert m.loc[3, "followup_days"] == pytest.approx(52 + 15 / 24)


def test_funnel_counts_and_rates(tx, cards):
    f = enrollment.funnel(tx, cards, launch=LAUNCH, end=END)
    # buyers since launch: c1, c2, c3, c4, c6 = 5 (c5 only bought before launch)
    assert f["count"].tolist() == [5, 3, 2, 1]
    # step: 3/5, 2/3, 1/2 ; cumulative: 3/5, 2/5, 1/5
    np.testing.assert_allclose(f["estimate"].to_numpy()[1:], [0.6, 2 / 3, 0.5])
    np.testing.assert_allclose(f["cum_estimate"], [1.0, 0.6, 0.4, 0.2])
    lo, hi = wilson_ci(2, 3)
    assert f.loc["activated", "ci_low"] == pytest.approx(lo)
    assert f.loc["activated", "ci_high"] == pytest.approx(hi)
    assert np.isnan(f.loc["buyers", "estimate"])
    assert list(f.columns) == [
        "count",
        "estimate",
        "ci_low",
        "ci_high",
        "n",
        "cum_estimate",
        "cum_ci_low",
        "cum_ci_high",
    ]


def test_funnel_by_customer_and_card_segments(tx, cards, customers):
    by = enrollment.funnel_by(tx, cards, customers, by="customer_type", launch=LAUNCH, end=END)
    c = by.set_index(["customer_type", "step"])["count"]
    # b2c buyers c1, c3, c4 -> issued c1, c3 -> activated c1 -> repeat c1
    assert [c["b2c", s] for s in enrollment.FUNNEL_STEPS] == [3, 2, 1, 1]
    # b2b buyers c2, c6 -> issued c2 -> activated c2 -> no repeat
    assert [c["b2b", s] for s in enrollment.FUNNEL_STEPS] == [2, 1, 1, 0]
    r = by.set_index(["customer_type", "step"])["estimate"]
    assert r["b2c", "card_issued"] == pytest.approx(2 / 3)
    ch = enrollment.funnel_by(tx, cards, by="issue_channel", launch=LAUNCH, end=END)
    c = ch.set_index(["issue_channel", "step"])
    # card segments start at issue: offline c1, c3 (activated 1 of 2); delivery c2
    assert c.loc[("offline", "activated"), "estimate"] == 0.5
    assert c.loc[("delivery", "repeat_use"), "count"] == 0
    assert "buyers" not in ch["step"].tolist()


def test_seller_league(tx, cards):
    lg = enrollment.seller_league(tx, cards, launch=LAUNCH, end=END, target=0.9).set_index("seller_id")
    # eligible (no card held before that day): A: t2, t5, t11 = 3; B: t7, t8, t9 = 3
    # issued: A 101, 102 = 2 ; B 103 = 1
    assert lg["eligible"].to_dict() == {"A": 3, "B": 3}
    assert lg["issued"].to_dict() == {"A": 2, "B": 1}
    assert lg.loc["A", "estimate"] == pytest.approx(2 / 3)
    # Wilson (2, 3) high = 0.9385 > 0.9: not flagged; (1, 3) high = 0.7923 < 0.9: flagged
    assert lg.loc["A", "status"] == "on target"
    assert lg.loc["B", "status"] == "below target"
    assert lg.index[0] == "A"  # sorted by rate
    # shrinkage pulls both toward the pooled 3/6 = 0.5
    assert 0.5 <= lg.loc["A", "shrunk_estimate"] <= 2 / 3
    assert 1 / 3 <= lg.loc["B", "shrunk_estimate"] <= 0.5


def test_stock_burndown_and_projection(cards):
    b = enrollment.stock_burndown(cards, printed=5)
    # issues Jan 5, 6, 7 -> stock left 4, 3, 2
    assert b["remaining"].tolist() == [4, 3, 2]
    assert b["cumulative_issued"].tolist() == [1, 2, 3]
    p = enrollment.stock_projection(cards, printed=5, as_of="2025-01-08", window_days=4).iloc[0]
    # 3 issues in [Jan 4, Jan 8) -> 0.75 per day; 2 left -> 2 / 0.75 = 2.667 days -> Jan 10
    assert p["pace_per_day"] == 0.75
    assert p["estimate"] == pytest.approx(8 / 3)
    assert p["stock_out_date"] == pd.Timestamp("2025-01-10")
    assert p["ci_low"] < p["estimate"] < p["ci_high"]
    assert not p["already_out"]
    # with only 3 printed the stock ran out on the day of the 3rd issue, Jan 7
    q = enrollment.stock_projection(cards, printed=3, as_of="2025-01-08").iloc[0]
    assert q["already_out"] and q["estimate"] == 0
    assert q["stock_out_date"] == pd.Timestamp("2025-01-07")
    assert pd.isna(enrollment.stock_out_date(cards, printed=4))


def test_cost_per_member():
    costs = pd.DataFrame(
        {
            "cost_id": [1, 2, 3],
            "date": pd.to_datetime(["2025-01-01"] * 3),
            "category": ["card_printing", "communications", "discounts"],
            "amount": [1000.0, 500.0, 700.0],
        }
    )
    c = enrollment.cost_per_member(costs, n_issued=3, n_active=2)
    # discounts are not acquisition cost: (1000 + 500) / 3 = 500 ; / 2 = 750
    assert c.loc["cost_per_issued", "estimate"] == 500
    assert c.loc["cost_per_active", "estimate"] == 750
    assert c.loc["cost_per_active", "ci_low"] < 750 < c.loc["cost_per_active", "ci_high"]
    all_ = enrollment.cost_per_member(costs, n_issued=3, n_active=2, categories=None)
    assert all_.loc["cost_per_issued", "cost"] == 2200
    assert "discounts" in all_.loc["cost_per_issued", "categories"]


def test_time_to_activation_km(tx, cards):
    m = enrollment.member_table(cards, tx, end=END)
    km = enrollment.time_to_activation(m)
    # events at 5 and 31 days, c3 censored at ~52.6: S(5) = 2/3, S(31) = 2/3 * 1/2 = 1/3
    # the last row carries the curve flat to the longest follow-up (c3's 52.6 days)
    np.testing.assert_allclose(km["day"], [0.0, 5.0, 31.0, 52 + 15 / 24])
    np.testing.assert_allclose(km["estimate"], [0, 1 / 3, 2 / 3, 2 / 3])
    assert (km["ci_low"] <= km["estimate"]).all() and (km["estimate"] <= km["ci_high"]).all()
    at = enrollment.activation_by_day(km, [0, 10, 40, 60])
    np.testing.assert_allclose(at["estimate"], [0, 1 / 3, 2 / 3, np.nan])
    # naive "activated within the window" = 2/3 as well here, but KM never counts c3 as failed


@pytest.mark.parametrize(
    "call, column",
    [
        (
            lambda tx, cards: enrollment.funnel(tx.drop(columns="date"), cards, launch=LAUNCH),
            "date",
        ),
        (
            lambda tx, cards: enrollment.funnel(tx, cards.drop(columns="issued_date"), launch=LAUNCH),
            "issued_date",
        ),
        (lambda tx, cards: enrollment.member_table(cards, tx.drop(columns="card_id")), "card_id"),
        (
            lambda tx, cards: enrollment.seller_league(tx.drop(columns="seller_id"), cards, launch=LAUNCH),
            "seller_id",
        ),
        (
            lambda tx, cards: enrollment.stock_burndown(cards.drop(columns="issued_date"), printed=5),
            "issued_date",
        ),
        (
            lambda tx, cards: enrollment.funnel_by(tx, cards, by="customer_type", launch=LAUNCH),
            "customer_type",
        ),
        (
            lambda tx, cards: enrollment.time_to_activation(pd.DataFrame({"activated": [True]})),
            "days_to_activation",
        ),
        (
            lambda tx, cards: enrollment.cost_per_member(pd.DataFrame({"date": []}), n_issued=1, n_active=1),
            "category",
        ),
    ],
)
def test_missing_columns_raise(tx, cards, call, column):
    with pytest.raises(ValueError, match=column):
        call(tx, cards)


def test_bad_values_raise(tx, cards):
    with pytest.raises(ValueError, match="target"):
        enrollment.seller_league(tx, cards, launch=LAUNCH, target=1.5)
    with pytest.raises(ValueError, match="printed"):
        enrollment.stock_burndown(cards, printed=0)
    with pytest.raises(ValueError, match="n_active"):
        enrollment.cost_per_member(pd.DataFrame({"date": [], "category": [], "amount": []}), n_issued=1, n_active=2)


def test_plots_draw_on_given_ax(tx, cards):
    from loyalty_lib.plotting import enrollment as pe

    fig, axes = plt.subplots(2, 2)
    f = enrollment.funnel(tx, cards, launch=LAUNCH, end=END)
    assert pe.plot_funnel(f, ax=axes[0, 0]) is axes[0, 0]
    assert axes[0, 0].get_xlabel() == "customers" and len(axes[0, 0].patches) == 4
    lg = enrollment.seller_league(tx, cards, launch=LAUNCH, end=END, target=0.9)
    assert pe.plot_seller_league(lg, ax=axes[0, 1]) is axes[0, 1]
    assert "eligible purchase" in axes[0, 1].get_xlabel()
    b = enrollment.stock_burndown(cards, printed=5)
    p = enrollment.stock_projection(cards, printed=5, as_of="2025-01-08", window_days=4)
    assert pe.plot_stock_burndown(b, projection=p, printed=5, ax=axes[1, 0]) is axes[1, 0]
    assert axes[1, 0].get_ylabel() == "cards in stock"
    km = enrollment.time_to_activation(enrollment.member_table(cards, tx, end=END))
    assert pe.plot_time_to_activation(km, truth=0.8, naive=0.6, ax=axes[1, 1]) is axes[1, 1]
    assert axes[1, 1].get_xlabel() == "days since the card was issued"


def test_planted_activation_by_day():
    tc = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "base_rate_per_year": [365.0, 365.0],  # one visit a day
            "activator": [True, False],
            "card_use_prob": [0.5, 0.9],
        }
    )
    m = pd.DataFrame({"customer_id": [1, 2]})
    s = enrollment.planted_activation_by_day(tc, m, [0, 2], frequency_uplift=0.0)
    # c1: rate 1 x 0.5 = 0.5/day -> 1 - exp(-1) = 0.632 by day 2; c2 never -> mean 0.316
    np.testing.assert_allclose(s.to_numpy(), [0.0, (1 - np.exp(-1.0)) / 2])


@pytest.fixture(scope="module")
def synthetic():
    from loyalty_lib import synth

    return synth.generate(n_customers=10_000, seed=11)


def test_recovery_funnel_and_activation_curve(synthetic):
    ds, t = synthetic, synthetic.truth
    launch, end = t["period"]["launch"], t["period"]["end"]
    f = enrollment.funnel(ds.transactions, ds.cards, launch=launch, end=end)
    assert f["count"].is_monotonic_decreasing and f["count"].iloc[-1] > 0
    assert f.loc["card_issued", "count"] == ds.cards["customer_id"].notna().sum()
    m = enrollment.member_table(ds.cards, ds.transactions, end=end)
    km = enrollment.time_to_activation(m)
    days = [30, 90, 180]
    at = enrollment.activation_by_day(km, days)
    planted = enrollment.planted_activation_by_day(
        ds.truth_tables["customers"], m, days, frequency_uplift=t["uplift"]["frequency_pct"] / 100
    )
    # Kaplan-Meier tracks the planted share by day (campaign visits make it a little faster)
    assert (at["estimate"] - planted).abs().max() < 0.03
    # the naive within-window share is below the planted ever-activation probability
    assert m["activated"].mean() < t["enrollment"]["activation_prob"]


def test_recovery_seller_league_ranks_planted_offer_rates(synthetic):
    from scipy import stats as sps

    ds, t = synthetic, synthetic.truth
    lg = enrollment.seller_league(ds.transactions, ds.cards, launch=t["period"]["launch"], end=t["period"]["end"])
    planted = lg["seller_id"].map(t["enrollment"]["offer_rate_by_seller"])
    assert sps.spearmanr(lg["estimate"], planted).statistic > 0.8
