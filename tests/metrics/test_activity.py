"""Tests of loyalty_lib.metrics.activity on hand-worked tiny tables (and planted truth)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from loyalty_lib.metrics import activity
from loyalty_lib.stats import wilson_ci

END = "2025-07-01"


@pytest.fixture
def tx():
    # c1: member (card 11 issued Jan 1 at that purchase), then card receipts Jan 11, Feb 10, Jun 20
    # c2: member (card 12 issued Jan 1), never shows it: Mar 1, May 15
    # c3: non-member Jan 5, Jan 15, Jun 25 ; c4: non-member, one purchase Feb 1
    rows = [
        (1, 1, "2025-01-01", None),
        (2, 1, "2025-01-11", 11),
        (3, 1, "2025-02-10", 11),
        (4, 1, "2025-06-20", 11),
        (5, 2, "2025-01-01", None),
        (6, 2, "2025-03-01", None),
        (7, 2, "2025-05-15", None),
        (8, 3, "2025-01-05", None),
        (9, 3, "2025-01-15", None),
        (10, 3, "2025-06-25", None),
        (11, 4, "2025-02-01", None),
    ]
    df = pd.DataFrame(rows, columns=["transaction_id", "customer_id", "date", "card_id"])
    return df.assign(date=pd.to_datetime(df["date"]), card_id=df["card_id"].astype("Int64"))


@pytest.fixture
def cards():
    return pd.DataFrame(
        {
            "card_id": [11, 12, 13],
            "customer_id": pd.array([1, 2, None], dtype="Int64"),
            "issued_date": pd.to_datetime(["2025-01-01", "2025-01-01", None]),
        }
    )


@pytest.fixture
def customers():
    return pd.DataFrame({"customer_id": [1, 2, 3, 4], "customer_type": ["b2c", "b2b", "b2c", "b2c"]})


@pytest.fixture
def ledger():
    # stamp card with a reward every 2 stamps worth 60 RUB (30 RUB a stamp)
    # c1: +1 Jan 11, +1 Feb 10 then -2 redeemed Feb 10, +1 Jun 20 -> accrued 3, redeemed 2, holds 1
    # c2: +1 Mar 1 (kept simple) -> accrued 1, holds 1
    return pd.DataFrame(
        {
            "points_entry_id": [1, 2, 3, 4, 5],
            "customer_id": [1, 1, 1, 1, 2],
            "date": pd.to_datetime(["2025-01-11", "2025-02-10", "2025-02-10", "2025-06-20", "2025-03-01"]),
            "entry_type": ["accrual", "accrual", "redemption", "accrual", "accrual"],
            "points": [1.0, 1.0, -2.0, 1.0, 1.0],
            "value": [30.0, 30.0, 60.0, 30.0, 30.0],
        }
    )


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_active_members(tx, cards):
    a = activity.active_members(tx, cards, end=END, windows=[30, 90])
    # members issued before the window start: c1, c2 (both Jan 1)
    # 30 d [Jun 1, Jul 1): c1 (Jun 20) -> 1/2 ; 90 d [Apr 2, Jul 1): c1, c2 (May 15) -> 2/2
    assert a["successes"].tolist() == [1, 2]
    assert a["n"].tolist() == [2, 2]
    lo, hi = wilson_ci(1, 2)
    assert a.loc[30, "ci_low"] == pytest.approx(lo) and a.loc[30, "ci_high"] == pytest.approx(hi)
    # with the card only, c2 is never active -> 1/2 in 90 days
    c = activity.active_members(tx, cards, end=END, windows=[90], basis="card")
    assert c.loc[90, "estimate"] == 0.5


def test_purchase_frequency(tx, cards, customers):
    g = activity.customer_groups(customers, cards)
    assert g.set_index("customer_id")["member"].tolist() == [
        "member",
        "member",
        "non-member",
        "non-member",
    ]
    pf = activity.purchase_frequency(tx, g, start="2025-01-01", end=END, by=["member"])
    r = pf.set_index(["member", "metric"])
    # 181 days: c1 4 -> 0.66298 / 30 d, c2 3 -> 0.49724; members' mean 0.58011
    assert r.loc[("member", "purchases_per_30d"), "estimate"] == pytest.approx(3.5 / 181 * 30)
    # c3 3, c4 1 receipts -> (3 + 1) / 2 / 181 * 30
    assert r.loc[("non-member", "purchases_per_30d"), "estimate"] == pytest.approx(2 / 181 * 30)
    # median gaps: c1 (10, 30, 130) -> 30 ; c2 (59, 75) -> 67 ; mean 48.5
    assert r.loc[("member", "median_gap_days"), "estimate"] == pytest.approx(48.5)
    # c3 (10, 161) -> 85.5 ; c4 has no gap, so n = 1 and no interval
    assert r.loc[("non-member", "median_gap_days"), "estimate"] == pytest.approx(85.5)
    assert r.loc[("non-member", "median_gap_days"), "n"] == 1
    assert np.isnan(r.loc[("non-member", "median_gap_days"), "ci_low"])


def test_card_use_share(tx, cards, customers):
    s = activity.card_use_share(tx, cards, end=END)
    # from the day after issue: c1 3 card receipts of 3, c2 0 of 2 -> 3/5
    assert s.loc["all", "estimate"] == pytest.approx(0.6)
    assert s.loc["all", "n"] == 2 and s.loc["all", "receipts"] == 5
    # cluster-robust se: residuals 3 - .6*3 = 1.2, 0 - .6*2 = -1.2 -> sqrt(2 * 2.88) / 5 = 0.48
    assert s.loc["all", "ci_low"] == pytest.approx(max(0.0, 0.6 - 1.959964 * 0.48))
    by = activity.card_use_share(tx, cards, end=END, groups=customers, by="customer_type")
    assert by.loc["b2c", "estimate"] == 1.0 and by.loc["b2b", "estimate"] == 0.0


def test_cohort_retention(tx, cards):
    r = activity.cohort_retention(tx, end=END, max_months=3).set_index(["cohort", "month"])
    jan, feb = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01")
    # January cohort c1, c2, c3: Feb c1 -> 1/3 ; Mar c2 -> 1/3 ; Apr nobody -> 0/3
    assert r.loc[jan, "successes"].tolist() == [3, 1, 1, 0]
    assert r.loc[jan, "n"].tolist() == [3, 3, 3, 3]
    assert r.loc[feb, "successes"].tolist() == [1, 0, 0, 0]
    # data ending Apr 15: April is incomplete, so Jan shows months 0-2, Feb months 0-1
    short = activity.cohort_retention(tx, end="2025-04-15", max_months=3)
    assert len(short) == 5
    ci = activity.cohort_retention(tx, cards, cohort="card_issue", end=END, max_months=2)
    # card cohort Jan (c1, c2): month 1 c1 -> 1/2, month 2 c2 -> 1/2
    assert ci["estimate"].tolist() == [1.0, 0.5, 0.5]


def test_return_curve(tx):
    rc = activity.return_curve(tx, horizon_days=40, end=END, k_max=4)
    # eligible visits on or before May 22 (Jul 1 - 40 d)
    # k=1: c1 +10 d yes, c2 +59 no, c3 +10 yes, c4 none -> 2/4
    # k=2: c1 +30 yes, c2 +75 no, c3 +161 no -> 1/3 ; k=3: c1 +130 no, c2 (May 15) none -> 0/2
    # k=4: c1's Jun 20 is too late to be judged -> n = 0
    assert rc["successes"].tolist() == [2, 1, 0, 0]
    assert rc["n"].tolist() == [4, 3, 2, 0]
    assert np.isnan(rc.loc[4, "estimate"])
    only = activity.return_curve(tx, horizon_days=40, end=END, k_max=1, customers=[1, 4])
    assert only.loc[1, "estimate"] == 0.5


def test_churn_rate(tx, customers, cards):
    c = activity.churn_rate(tx, end=END, churn_days=90)
    # base: bought in [Jan 2, Apr 2): c1, c2, c3, c4 ; no receipt in [Apr 2, Jul 1): c4 -> 1/4
    assert c.loc["all", "estimate"] == 0.25 and c.loc["all", "n"] == 4
    g = activity.customer_groups(customers, cards)
    by = activity.churn_rate(tx, end=END, churn_days=90, groups=g, by="member")
    assert by.loc["member", "estimate"] == 0.0 and by.loc["non-member", "estimate"] == 0.5


def test_points_summary(tx, ledger):
    p = activity.points_summary(ledger, tx, end=END, inactive_days=30)["estimate"]
    # accrued 3 + 1 = 4, redeemed 2 -> 0.5 ; outstanding 1 + 1 = 2 stamps x 30 RUB = 60 RUB
    assert p["points_accrued"] == 4 and p["points_redeemed"] == 2
    assert p["redemption_rate"] == 0.5
    assert p["outstanding_points"] == 2 and p["liability"] == 60
    # c2's last receipt May 15 is over 30 days before Jul 1: their 1 stamp is breakage -> 1/2
    assert p["breakage_share"] == 0.5 and p["expected_liability"] == 30


def test_benchmarks():
    b = activity.BENCHMARKS.set_index(["source", "k"])["p_return"]
    assert b["Fivestars", 1] == 0.40 and b["Fivestars", 2] == 0.80
    assert b["Paytronix full-service", 4] == 0.90


@pytest.mark.parametrize(
    "call, column",
    [
        (
            lambda tx, c, lg: activity.active_members(tx.drop(columns="card_id"), c, end=END),
            "card_id",
        ),
        (
            lambda tx, c, lg: activity.return_curve(tx.drop(columns="date"), horizon_days=9, end=END),
            "date",
        ),
        (
            lambda tx, c, lg: activity.churn_rate(tx.drop(columns="customer_id"), end=END),
            "customer_id",
        ),
        (
            lambda tx, c, lg: activity.points_summary(lg.drop(columns="entry_type"), tx, end=END),
            "entry_type",
        ),
        (
            lambda tx, c, lg: activity.goal_gradient_panel(tx, lg.drop(columns="points"), c),
            "points",
        ),
        (
            lambda tx, c, lg: activity.goal_gradient_fit(pd.DataFrame({"log_gap": [1.0]})),
            "customer_id",
        ),
        (
            lambda tx, c, lg: activity.purchase_frequency(
                tx, pd.DataFrame({"customer_id": [1]}), start="2025-01-01", end=END
            ),
            "member",
        ),
        (lambda tx, c, lg: activity.cohort_retention(tx.drop(columns="date"), end=END), "date"),
    ],
)
def test_missing_columns_raise(tx, cards, ledger, call, column):
    with pytest.raises(ValueError, match=column):
        call(tx, cards, ledger)


def test_bad_values_raise(tx, cards):
    with pytest.raises(ValueError, match="basis"):
        activity.active_members(tx, cards, end=END, basis="visits")
    with pytest.raises(ValueError, match="horizon_days"):
        activity.return_curve(tx, horizon_days=0, end=END)
    with pytest.raises(ValueError, match="churn_days"):
        activity.churn_rate(tx, end=END, churn_days=0)
    with pytest.raises(ValueError, match="cohort"):
        activity.cohort_retention(tx, end=END, cohort="weekly")
    with pytest.raises(ValueError, match="cards"):
        activity.cohort_retention(tx, end=END, cohort="card_issue")


def test_plots_draw_on_given_ax(tx, cards, ledger):
    from loyalty_lib.plotting import activity as pa

    fig, axes = plt.subplots(1, 3)
    rc = activity.return_curve(tx, horizon_days=40, end=END, k_max=3)
    out = pa.plot_return_curve(rc, benchmarks=activity.BENCHMARKS, truth={1: 0.5}, ax=axes[0])
    assert out is axes[0] and axes[0].get_xlabel() == "visit number k"
    r = activity.cohort_retention(tx, end=END, max_months=3)
    assert pa.plot_cohort_heatmap(r, ax=axes[1]) is axes[1]
    assert axes[1].get_xlabel() == "months since joining"
    panel = activity.goal_gradient_panel(tx, ledger, cards, end=END)
    prof = activity.goal_gradient_profile(panel)
    fit = activity.goal_gradient_fit(panel)
    assert pa.plot_goal_gradient(prof, fit=fit, truth=-0.04, ax=axes[2]) is axes[2]
    assert axes[2].get_xlabel() == "stamps held before the visit"


@pytest.fixture(scope="module")
def synthetic():
    from loyalty_lib import synth

    return synth.generate(n_customers=10_000, seed=11)


def test_recovery_return_curve_within_horizon(synthetic):
    ds, t = synthetic, synthetic.truth
    start, end = pd.Timestamp(t["period"]["start"]), t["period"]["end"]
    new = ds.customers.loc[ds.customers["first_seen"] >= start, "customer_id"]
    h = t["return_curve"]["horizon_days"]
    rc = activity.return_curve(ds.transactions, horizon_days=h, end=end, customers=new, k_max=3)
    planted = pd.Series(t["return_curve"]["p_return_within_horizon"]).rename(index=int)
    planted = planted.reindex(rc.index)
    assert ((rc["ci_low"] <= planted) & (planted <= rc["ci_high"])).all(), rc.assign(truth=planted)


def test_recovery_goal_gradient_slope(synthetic):
    ds, t = synthetic, synthetic.truth
    panel = activity.goal_gradient_panel(ds.transactions, ds.points_ledger, ds.cards, end=t["period"]["end"])
    fit = activity.goal_gradient_fit(panel)
    w, truth = fit.loc["within"], t["goal_gradient"]["log_gap_per_stamp"]
    assert w["ci_high"] < 0  # the pull of the reward is detected
    assert w["ci_low"] <= truth <= w["ci_high"]
    # the pooled slope, ignoring who the member is, is far off
    assert fit.loc["pooled", "estimate"] < truth - 0.02


# ---------------------------------------------------------------- definitions a retailer can check
def test_active_members_with_member_dates_from_the_study(tx, cards):
    # issue dates unknown: members count from the dates the study gives (c1 from Jan 1, c2 from
    # Jun 1). In the 90 days before Jul 1 (from Apr 2): c1 was a member since before Apr 2 and
    # bought Jun 20 -> active; c2 joined after Apr 2 -> not counted. 1 / 1.
    blank = cards.assign(issued_date=pd.NaT)
    since = pd.Series(pd.to_datetime(["2025-01-01", "2025-06-01"]), index=[1, 2])
    a = activity.active_members(tx, blank, end=END, windows=[90], member_since=since)
    assert a.loc[90, ["n", "successes"]].tolist() == [1, 1]


def test_customer_groups_from_member_ids(customers, cards):
    g = activity.customer_groups(customers, cards.assign(issued_date=pd.NaT), members=[2, 4])
    assert g["member"].tolist() == ["non-member", "member", "non-member", "member"]


def test_monthly_active(tx):
    # Jan: c1 (Jan 1, Jan 11), c2 (Jan 1), c3 (Jan 5, Jan 15) -> 3 customers, 5 receipts, 5 days;
    # Feb: c1 (Feb 10), c4 (Feb 1) -> 2; Mar: c2; Apr: nobody; May: c2; Jun: c1, c3.
    m = activity.monthly_active(tx, start="2025-01-01", end=END)
    assert m["active_customers"].tolist() == [3, 2, 1, 0, 1, 2]
    assert m["receipts"].tolist() == [5, 2, 1, 0, 1, 2]
    assert m["shopping_days"].tolist() == m["receipts"].tolist()
    # a window that cuts January and June keeps only the complete months Feb-May
    assert activity.monthly_active(tx, start="2025-01-10", end="2025-06-21").index.month.tolist() == [2, 3, 4, 5]


def test_return_shares_hand_worked(tx):
    # visits in the window: c1 4, c2 3, c3 3, c4 1 -> N(>=1..5) = 4, 3, 3, 1, 0
    r = activity.return_shares(tx, start="2025-01-01", end=END, k_max=4)
    assert r["n"].tolist() == [4, 3, 3, 1]
    assert r["successes"].tolist() == [3, 3, 1, 0]
    assert np.allclose(r["estimate"], [3 / 4, 1.0, 1 / 3, 0.0])
    lo, hi = wilson_ci(3, 4)
    assert np.isclose(r.loc[1, "ci_low"], lo) and np.isclose(r.loc[1, "ci_high"], hi)
    # as shopping days: c4's second receipt on the same day counts once
    same_day = pd.concat([tx, tx.iloc[[10]].assign(transaction_id=99)])
    assert activity.return_shares(same_day, start="2025-01-01", end=END, k_max=4)["n"].tolist() == [4, 4, 3, 1]
    days = activity.return_shares(same_day, start="2025-01-01", end=END, k_max=4, basis="days")
    assert days["n"].tolist() == [4, 3, 3, 1]
    with pytest.raises(ValueError, match="basis"):
        activity.return_shares(tx, start="2025-01-01", end=END, basis="visits")


def test_inter_purchase_time_pooled_and_per_customer(tx):
    # gaps in days: c1 10, 30, 130; c2 59, 75; c3 10, 161; c4 none.
    # pooled: (10+30+130+59+75+10+161) / 7 = 475 / 7; per customer: (170/3 + 67 + 85.5) / 3
    r = activity.inter_purchase_time(tx, start="2025-01-01", end=END).set_index("average")
    assert np.isclose(r.loc["pooled", "estimate"], 475 / 7) and r.loc["pooled", "n"] == 7
    assert np.isclose(r.loc["per customer", "estimate"], (170 / 3 + 67 + 85.5) / 3)
    assert r.loc["per customer", "n"] == 3 and (r["n_customers"] == 3).all()
    assert (r["ci_low"] < r["estimate"]).all() and (r["estimate"] < r["ci_high"]).all()


def test_inter_purchase_time_by_group(tx, customers):
    g = activity.customer_groups(customers, pd.DataFrame(columns=["customer_id", "issued_date"]), members=[1, 2])
    r = activity.inter_purchase_time(tx, start="2025-01-01", end=END, groups=g, by="member")
    pooled = r[r["average"] == "pooled"].set_index("member")
    assert np.isclose(pooled.loc["member", "estimate"], (10 + 30 + 130 + 59 + 75) / 5)
    assert np.isclose(pooled.loc["non-member", "estimate"], (10 + 161) / 2)


def test_visit_counts_receipts_and_days(tx):
    same_day = pd.concat([tx, tx.iloc[[1]].assign(transaction_id=99)])  # c1 twice on Jan 11
    v = activity.visit_counts(same_day, start="2025-01-01", end=END)
    # receipts 5, 3, 3, 1 -> 3.0; days 4, 3, 3, 1 -> 2.75; per day 1.25, 1, 1, 1 -> 1.0625
    assert np.allclose(v["estimate"], [3.0, 2.75, 1.0625])
    assert (v["n"] == 4).all()


def test_member_share_counts_every_receipt(tx):
    anon = pd.DataFrame({"transaction_id": [20], "customer_id": [None], "date": pd.to_datetime(["2025-03-03"])})
    t = pd.concat([tx, anon], ignore_index=True).assign(amount=10.0)
    t.loc[t["customer_id"] == 1, "amount"] = 40.0
    s = activity.member_share(t, members=[1, 2], start="2025-01-01", end=END)
    # receipts: members 4 + 3 = 7, non-members 4, anonymous 1; revenue 160 + 30, 40, 10
    assert s["receipts"].tolist() == [7, 4, 1]
    assert np.allclose(s["receipt_share"], [7 / 12, 4 / 12, 1 / 12])
    assert np.allclose(s["revenue_share"], [190 / 240, 40 / 240, 10 / 240])


# ---------------------------------------------------------------- return receipts are not visits
@pytest.fixture
def till():
    """Receipts with returns, a zero receipt and anonymous buyers (gross_amount tells a sale from a return).

    c1 (member, card 11 issued 1 Jan): sale 5 Jan (100), return 12 Jan (-40), sale 1 Mar (50),
    return 20 Mar (-10). c2: sale 10 Jan (80), return 20 Feb (-80). c3: one zero receipt 20 Jan
    (voided). Anonymous: sale 7 Jan (30), return 8 Jan (-10).
    Visits: c1 on 5 Jan and 1 Mar; c2 on 10 Jan; one anonymous on 7 Jan.
    """
    rows = [
        (1, 1, "2025-01-05", 11, 100.0),
        (2, 1, "2025-01-12", 11, -40.0),
        (3, 1, "2025-03-01", 11, 50.0),
        (4, 1, "2025-03-20", 11, -10.0),
        (5, 2, "2025-01-10", None, 80.0),
        (6, 2, "2025-02-20", None, -80.0),
        (7, 3, "2025-01-20", None, 0.0),
        (8, None, "2025-01-07", None, 30.0),
        (9, None, "2025-01-08", None, -10.0),
    ]
    df = pd.DataFrame(rows, columns=["transaction_id", "customer_id", "date", "card_id", "gross_amount"])
    return df.assign(
        date=pd.to_datetime(df["date"]),
        customer_id=df["customer_id"].astype("Int64"),
        card_id=df["card_id"].astype("Int64"),
        amount=df["gross_amount"],
    )


def test_returns_are_not_visits_in_counts_and_curves(till):
    win = dict(start="2025-01-01", end="2025-04-01")
    v = activity.visit_counts(till, **win)["estimate"]
    # c1: 2 visits on 2 days, c2: 1; c3 has no visit (counting every receipt would give (4 + 2 + 1) / 3)
    assert v.tolist() == pytest.approx([1.5, 1.5, 1.0])
    # plain curve: visits (2, 1): N(>=1) = 2, N(>=2) = 1, N(>=3) = 0
    r = activity.return_shares(till, **win, k_max=2)
    assert r["n"].tolist() == [2, 1] and r["estimate"].tolist() == pytest.approx([0.5, 0.0])
    # within 30 days: c1's next visit after 5 Jan is 1 Mar (55 days), c2 has none: 0 of 2
    # (counting the 12 Jan return as a visit would make c1 come back within a week)
    c = activity.return_curve(till, horizon_days=30, end="2025-07-01", k_max=1)
    assert c.loc[1, "n"] == 2 and c.loc[1, "estimate"] == 0
    gaps = activity.inter_purchase_time(till, **win).set_index("average")["estimate"]
    assert gaps.tolist() == pytest.approx([55.0, 55.0])  # one gap: 5 Jan -> 1 Mar


def test_returns_are_not_activity(till, cards):
    m = activity.monthly_active(till, start="2025-01-01", end="2025-04-01")
    # Jan: c1 and c2 (and one anonymous sale); Feb: only c2's return, nobody active; Mar: c1 on 1 Mar
    assert m["active_customers"].tolist() == [2, 0, 1]
    assert m["receipts"].tolist() == [2, 0, 1]
    assert m["anonymous_receipts"].tolist() == [1, 0, 0]
    # c1 and c2 hold cards issued 1 Jan; in the last 30 days (2-31 Mar) c1 only brought something
    # back and c2 did nothing: neither is active
    a = activity.active_members(till, cards, end="2025-04-01", windows=[30])
    assert a.loc[30, "n"] == 2 and a.loc[30, "successes"] == 0
    # churn over 30 days: the base is c1 (a visit 1 Mar in [30 Jan, 2 Mar); c2's 20 Feb return is no
    # purchase), and c1 made no purchase since: churned
    ch = activity.churn_rate(till, end="2025-04-01", churn_days=30)
    assert ch.loc["all", "n"] == 1 and ch.loc["all", "estimate"] == 1.0


def test_member_share_counts_visits_and_nets_returns_into_revenue(till):
    s = activity.member_share(till, members=[1], start="2025-01-01", end="2025-04-01")
    # member c1: 2 visits, revenue 100 - 40 + 50 - 10 = 100; c2 and c3: 1 visit, 80 - 80 + 0 = 0;
    # anonymous: 1 visit, 30 - 10 = 20
    assert s["receipts"].tolist() == [2, 1, 1]
    assert s["revenue"].tolist() == pytest.approx([100.0, 0.0, 20.0])
    assert s.loc["member", "receipt_share"] == pytest.approx(0.5)
    assert s.loc["member", "revenue_share"] == pytest.approx(100 / 120)
