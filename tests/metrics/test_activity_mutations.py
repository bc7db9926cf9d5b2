"""Activity figures a small slip would change: window edges, defaults, intervals and index names.

Each test is a tiny table worked out by hand in the comments; together with
tests/metrics/test_activity.py they kill the mutants of ``loyalty_lib.metrics.activity`` (but
the goal-gradient functions) that ``tools/mutate.py`` makes (docs/mutation.md). Windows are
``[start, end)``: a receipt at midnight of ``start`` is in, one at midnight of ``end`` is out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from loyalty_lib.metrics import activity
from loyalty_lib.stats import wilson_ci

Z = sps.norm.ppf(0.975)


def ts(s):
    return pd.Timestamp(s)


def receipts(rows, **extra):
    """Receipts from ``(customer_id, date)`` pairs."""
    df = pd.DataFrame(rows, columns=["customer_id", "date"])
    return df.assign(date=pd.to_datetime(df["date"], format="ISO8601"), **extra)


def clustered_ratio_se(num, den):
    """Cluster-robust standard error of sum(num) / sum(den), one cluster per element."""
    num, den = np.asarray(num, float), np.asarray(den, float)
    r, g = num.sum() / den.sum(), len(num)
    return np.sqrt(g / (g - 1) * ((num - r * den) ** 2).sum() / den.sum() ** 2)


# ---------------------------------------------------------------- members and activity
def test_active_members_window_edges_and_defaults():
    # 30 days before 1 Jul: [1 Jun, 1 Jul). Members: cards issued before 1 Jun (c1, c3); c2's card
    # from 1 Jun itself does not give it the whole window. c1 buys at midnight of 1 Jun (active),
    # c3 at midnight of 1 Jul (after the window)
    cards = pd.DataFrame(
        {
            "card_id": [1, 2, 3],
            "customer_id": [1, 2, 3],
            "issued_date": pd.to_datetime(["2025-01-01", "2025-06-01", "2025-05-31"]),
        }
    )
    tx = receipts([(1, "2025-06-01"), (2, "2025-06-15"), (3, "2025-07-01")], card_id=[1, 2, 3])
    a = activity.active_members(tx, cards, end="2025-07-01", windows=[30])
    assert a.loc[30, ["n", "successes"]].tolist() == [2, 1]
    assert (a.loc[30, "ci_low"], a.loc[30, "ci_high"]) == pytest.approx(wilson_ci(1, 2))
    # by default the 30- and 90-day windows
    assert activity.active_members(tx, cards, end="2025-07-01").index.tolist() == [30, 90]


def test_member_dates_from_the_study_count_before_the_end_only():
    since = pd.Series(pd.to_datetime(["2025-01-31", "2025-02-01"]), index=[1, 2])
    assert activity._member_starts(None, None, "2025-02-01", since)["customer_id"].tolist() == [1]
    assert activity._member_starts(None, None, None, since)["customer_id"].tolist() == [1, 2]


def test_customer_groups_need_an_issue_date_before_the_end():
    customers = pd.DataFrame({"customer_id": [1, 2, 3, 4], "customer_type": ["b2c"] * 4})
    # c1 issued 1 Jan; c2's card has no issue date; c3 issued on the end day; a card nobody holds
    cards = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, None],
            "issued_date": pd.to_datetime(["2025-01-01", None, "2025-03-01", "2025-01-01"]),
        }
    )
    g = activity.customer_groups(customers, cards, end="2025-03-01")
    assert g["member"].tolist() == ["member", "non-member", "non-member", "non-member"]
    assert activity.customer_groups(customers, cards)["member"].tolist() == [
        "member",
        "non-member",
        "member",
        "non-member",
    ]


def test_purchase_frequency_window_edges_and_interval():
    # [1 Jan, 31 Jan): 30 days. c1 at midnight of 1 Jan (in), 11 Jan, midnight of 31 Jan (out);
    # c2 on 31 Dec (out) and 16 Jan. Per 30 days: c1 2, c2 1 -> mean 1.5, sd 0.7071 over 2 buyers
    tx = receipts([(1, "2025-01-01"), (1, "2025-01-11"), (1, "2025-01-31"), (2, "2024-12-31"), (2, "2025-01-16")])
    groups = pd.DataFrame({"customer_id": [1, 2], "member": "member"})
    pf = activity.purchase_frequency(tx, groups, start="2025-01-01", end="2025-01-31", by=["member"])
    assert pf.index.tolist() == [0, 1]
    r = pf.set_index("metric")
    assert r.loc["purchases_per_30d", "estimate"] == pytest.approx(1.5)
    half = sps.t.ppf(0.975, 1) * np.sqrt(0.5) / np.sqrt(2)
    assert r.loc["purchases_per_30d", "ci_high"] == pytest.approx(1.5 + half)
    # c1's one gap inside the window: 10 days; c2 has none
    assert r.loc["median_gap_days", "estimate"] == 10 and r.loc["median_gap_days", "n"] == 1


def test_card_use_share_edges_and_a_share_near_one():
    # c1 card from 1 Jan 10:00: card receipts at midnight of 2 Jan (the day after: counts), 5 and
    # 9 Jan; c2 card from 1 Jan: card receipt 3 Jan, cash 4 Jan, cash at midnight of 1 Feb (the end)
    cards = pd.DataFrame(
        {"card_id": [1, 2], "customer_id": [1, 2], "issued_date": [ts("2025-01-01 10:00"), ts("2025-01-01")]}
    )
    tx = receipts(
        [
            (1, "2025-01-02"),
            (1, "2025-01-05"),
            (1, "2025-01-09"),
            (2, "2025-01-03"),
            (2, "2025-01-04"),
            (2, "2025-02-01"),
        ],
        card_id=[1, 1, 1, 2, None, None],
    )
    s = activity.card_use_share(tx, cards, end="2025-02-01")
    assert s.index.name == "group"
    r = s.loc["all"]
    # (3 + 1) / (3 + 2) = 0.8; residuals 3 - 2.4, 1 - 1.6 -> se sqrt(2 * 0.72) / 5 = 0.24
    assert r["estimate"] == pytest.approx(0.8) and r["receipts"] == 5
    assert r["ci_low"] == pytest.approx(0.8 - Z * 0.24)
    assert r["ci_high"] == 1.0  # 0.8 + 0.47 is cut at 1
    # with the study's member dates and no end, the 1 Feb receipt counts: 4 / 6
    since = pd.Series([ts("2025-01-01 10:00"), ts("2025-01-01")], index=[1, 2])
    assert activity.card_use_share(tx, cards, member_since=since).loc["all", "estimate"] == pytest.approx(4 / 6)


# ---------------------------------------------------------------- cohorts and the return curve
@pytest.fixture
def over_new_year():
    """c1: 10 Dec 2024, 5 Jan 2025, 1 Dec 2025; c2: 20 Dec 2024, 28 Feb 2025; c3: 15 Jan 2025.

    Cards: c1 issued 15 Dec 2024, c2 20 Dec 2024; c3 has none.
    """
    tx = receipts(
        [
            (1, "2024-12-10"),
            (1, "2025-01-05"),
            (1, "2025-12-01"),
            (2, "2024-12-20"),
            (2, "2025-02-28"),
            (3, "2025-01-15"),
        ],
        card_id=[None, 1, 1, 2, 2, None],
    )
    cards = pd.DataFrame(
        {"card_id": [1, 2], "customer_id": [1, 2], "issued_date": pd.to_datetime(["2024-12-15", "2024-12-20"])}
    )
    return tx, cards


def test_cohort_retention_across_the_new_year(over_new_year):
    tx, cards = over_new_year
    r = activity.cohort_retention(tx, end="2026-03-01")
    # by default months 0..12: December cohort (c1, c2): Dec both, Jan c1, Feb c2, Dec 2025 c1;
    # January cohort (c3): month 0 only
    dec = r[r["cohort"] == ts("2024-12-01")]
    assert dec["month"].tolist() == list(range(13))
    assert dec["successes"].tolist() == [2, 1, 1] + [0] * 9 + [1]
    assert (dec["n"] == 2).all()
    jan = r[r["cohort"] == ts("2025-01-01")]
    assert jan["successes"].tolist() == [1] + [0] * 12
    assert (dec["ci_low"].iloc[1], dec["ci_high"].iloc[1]) == pytest.approx(wilson_ci(1, 2))
    # data ending 1 Mar 2025: February is complete, March is not -> December shows months 0-2
    short = activity.cohort_retention(tx, end="2025-03-01", max_months=3)
    assert short.loc[short["cohort"] == ts("2024-12-01"), "month"].tolist() == [0, 1, 2]
    assert short.loc[short["cohort"] == ts("2025-01-01"), "month"].tolist() == [0, 1]


def test_card_cohorts_across_the_new_year(over_new_year):
    tx, cards = over_new_year
    r = activity.cohort_retention(tx, cards, cohort="card_issue", end="2026-03-01")
    # one card cohort, December 2024 (c1, c2): as the purchase cohort above
    assert r["cohort"].unique().tolist() == [ts("2024-12-01")]
    assert r["successes"].tolist() == [2, 1, 1] + [0] * 9 + [1]
    only = activity.cohort_retention(tx, cards, cohort="card_issue", end="2026-03-01", customers=[1])
    assert only["successes"].tolist() == [1, 1, 0] + [0] * 9 + [1] and (only["n"] == 1).all()


def test_return_curve_edges():
    # end 1 Mar, horizon 10 days: a visit counts when on or before 19 Feb (end - 10 days), and a
    # return exactly 10 days later is within the horizon
    tx = receipts(
        [
            (1, "2025-02-19"),
            (1, "2025-02-20"),  # c1: eligible visit, back the next day
            (2, "2025-01-01"),
            (2, "2025-01-11"),  # c2: back after exactly 10 days; its 2nd visit is never followed
            (4, "2025-02-19"),
            (4, "2025-03-01"),  # c4: the return falls on the end day, outside the data
        ]
    )
    rc = activity.return_curve(tx, horizon_days=10, end="2025-03-01")
    assert rc.index.tolist() == list(range(1, 9))  # k = 1..8 by default
    assert rc["n"].tolist() == [3, 1] + [0] * 6
    assert rc["successes"].tolist() == [2, 0] + [0] * 6
    assert (rc.loc[1, "ci_low"], rc.loc[1, "ci_high"]) == pytest.approx(wilson_ci(2, 3))


# ---------------------------------------------------------------- counts in a window
def test_window_edges_and_customers_in_visit_counts():
    # [1 Jan, 1 Feb): c1 at midnight of 1 Jan (in) and of 1 Feb (out); c2 on 10 Jan; c3 in March
    tx = receipts([(1, "2025-01-01"), (1, "2025-02-01"), (2, "2025-01-10"), (3, "2025-03-01")])
    v = activity.visit_counts(tx, start="2025-01-01", end="2025-02-01")
    assert v.loc["receipts_per_customer", ["estimate", "n"]].tolist() == [1.0, 2]
    only = activity.visit_counts(tx, start="2025-01-01", end="2025-02-01", customers=[2])
    assert only["n"].tolist() == [1, 1, 1]


def test_visit_counts_interval_by_hand():
    # receipts per customer 3 and 1: mean 2, sd sqrt(2), t interval with 1 degree of freedom
    tx = receipts([(1, "2025-01-03"), (1, "2025-01-03 18:00"), (1, "2025-01-09"), (2, "2025-01-04")])
    v = activity.visit_counts(tx, start="2025-01-01", end="2025-02-01").loc["receipts_per_customer"]
    half = sps.t.ppf(0.975, 1) * np.sqrt(2) / np.sqrt(2)
    assert (v["ci_low"], v["ci_high"]) == pytest.approx((2 - half, 2 + half))


def test_monthly_active_of_one_month():
    tx = receipts([(1, "2025-02-01"), (2, "2025-03-01"), (3, "2025-01-31 23:00")])
    m = activity.monthly_active(tx, start="2025-02-01", end="2025-03-01")
    assert m.index.tolist() == [ts("2025-02-01")]
    assert m["active_customers"].tolist() == [1]


def test_return_shares_defaults():
    tx = receipts([(1, "2025-01-01"), (1, "2025-01-02"), (2, "2025-01-05")])
    r = activity.return_shares(tx, start="2025-01-01", end="2025-02-01")
    assert r.index.tolist() == list(range(1, 9))
    assert (r.loc[1, "ci_low"], r.loc[1, "ci_high"]) == pytest.approx(wilson_ci(1, 2))


def test_inter_purchase_time_intervals_by_hand():
    # c1 on days 1, 3, 7 (gaps 2, 4), c2 on days 1, 11 (gap 10), c3 once
    tx = receipts(
        [
            (1, "2025-01-01"),
            (1, "2025-01-03"),
            (1, "2025-01-07"),
            (2, "2025-01-01"),
            (2, "2025-01-11"),
            (3, "2025-01-02"),
        ]
    )
    r = activity.inter_purchase_time(tx, start="2025-01-01", end="2025-02-01")
    assert r.index.tolist() == [0, 1]
    pooled, per = r.iloc[0], r.iloc[1]
    # pooled 16 / 3, clustered by customer: gap sums (6, 10) over gaps (2, 1)
    se = clustered_ratio_se([6, 10], [2, 1])
    assert (pooled["ci_low"], pooled["ci_high"]) == pytest.approx((16 / 3 - Z * se, 16 / 3 + Z * se))
    # per customer: means 3 and 10 -> 6.5, sd 4.95, t interval with 1 degree of freedom
    half = sps.t.ppf(0.975, 1) * np.std([3, 10], ddof=1) / np.sqrt(2)
    assert (per["ci_low"], per["ci_high"]) == pytest.approx((6.5 - half, 6.5 + half))


def test_member_share_window_edges_and_a_single_receipt():
    # c1 (member) buys at midnight of the start; c2 at midnight of the end (outside)
    tx = receipts([(1, "2025-01-01"), (2, "2025-02-01")], amount=[10.0, 5.0])
    s = activity.member_share(tx, members=[1], start="2025-01-01", end="2025-02-01")
    assert s["receipts"].tolist() == [1, 0, 0]
    assert s["receipt_share"].tolist() == [1.0, 0.0, 0.0]
    assert s["revenue"].tolist() == [10.0, 0.0, 0.0]
    assert s["revenue_share"].tolist() == [1.0, 0.0, 0.0]


# ---------------------------------------------------------------- churn
def test_churn_window_edges():
    # end 1 Jul, N = 30 days: base [2 May, 1 Jun), recent [1 Jun, 1 Jul)
    tx = receipts(
        [
            (1, "2025-05-02"),  # c1: in the base at its first midnight, nothing since: churned
            (2, "2025-05-10"),
            (2, "2025-06-01"),  # c2: back at midnight of 1 Jun: stayed
            (3, "2025-05-01"),
            (3, "2025-07-01"),  # c3: before the base, then on the end day: not in the base
            (4, "2025-05-20"),
            (4, "2025-07-01"),  # c4: in the base; the end day is not recent: churned
            (5, "2025-06-01"),  # c5: only in the recent window: not in the base
        ]
    )
    c = activity.churn_rate(tx, end="2025-07-01", churn_days=30)
    assert c.index.name == "group"
    assert c.loc["all", ["n", "successes"]].tolist() == [3, 2]
    assert (c.loc["all", "ci_low"], c.loc["all", "ci_high"]) == pytest.approx(wilson_ci(2, 3))


def test_churn_default_is_90_days():
    # 90 days before 1 Jul is 2 Apr: c6's 1 Apr noon is in the base [2 Jan, 2 Apr), not recent
    # (with 91 days it would be recent)
    tx = receipts([(6, "2025-03-01"), (6, "2025-04-01 12:00")])
    assert activity.churn_rate(tx, end="2025-07-01").loc["all", ["n", "successes"]].tolist() == [1, 1]
    # by a group column: the rows are named by it
    groups = pd.DataFrame({"customer_id": [6], "segment": ["b2b"]})
    by = activity.churn_rate(tx, end="2025-07-01", groups=groups, by="segment")
    assert by.index.name == "segment" and by.index.tolist() == ["b2b"]


# ---------------------------------------------------------------- points
@pytest.fixture
def book():
    """Ledger and receipts of six members, end 1 Jul 2025 (180 days before: 2 Jan 2025), 10 RUB a point.

    c1: +2, -2 (balance 0), +1 at midnight of the end (not counted); last receipt 20 Jun.
    c2: +3, last receipt at midnight of 2 Jan: not idle (idle means before 2 Jan).
    c3: +1, last receipt 30 Jun.  c4: +2, receipts 1 Dec 2024 and at midnight of the end: idle.
    c5: +1, last receipt 1 Jan 12:00: idle.  c6: +4, -1 (balance 3), last receipt 10 Jun.
    """
    rows = [
        (1, "2025-01-10", "accrual", 2.0),
        (1, "2025-02-01", "redemption", -2.0),
        (1, "2025-07-01", "accrual", 1.0),
        (2, "2025-01-02", "accrual", 3.0),
        (3, "2025-03-01", "accrual", 1.0),
        (4, "2024-12-01", "accrual", 2.0),
        (5, "2025-01-01", "accrual", 1.0),
        (6, "2025-03-01", "accrual", 4.0),
        (6, "2025-04-01", "redemption", -1.0),
    ]
    ledger = pd.DataFrame(rows, columns=["customer_id", "date", "entry_type", "points"])
    ledger = ledger.assign(date=pd.to_datetime(ledger["date"]), value=ledger["points"].abs() * 10)
    tx = receipts(
        [
            (1, "2025-06-20"),
            (2, "2025-01-02"),
            (3, "2025-06-30"),
            (4, "2024-12-01"),
            (4, "2025-07-01"),
            (5, "2025-01-01 12:00"),
            (6, "2025-06-10"),
        ]
    )
    return ledger, tx


def test_points_summary_by_hand(book):
    ledger, tx = book
    p = activity.points_summary(ledger, tx, end="2025-07-01")
    e = p["estimate"]
    # accrued 2 + 3 + 1 + 2 + 1 + 4 = 13, redeemed 3; balances 0, 3, 1, 2, 1, 3 -> 10 points, 100 RUB
    assert (e["points_accrued"], e["points_redeemed"], e["outstanding_points"], e["liability"]) == (13, 3, 10, 100)
    # redemption 3 / 13, clustered by member
    se = clustered_ratio_se([2, 0, 0, 0, 0, 1], [2, 3, 1, 2, 1, 4])
    rr = p.loc["redemption_rate"]
    assert (rr["estimate"], rr["ci_low"], rr["ci_high"]) == pytest.approx((3 / 13, 3 / 13 - Z * se, 3 / 13 + Z * se))
    # idle balances (c4 2, c5 1) over all balances: 3 / 10
    se = clustered_ratio_se([0, 0, 0, 2, 1, 0], [0, 3, 1, 2, 1, 3])
    br = p.loc["breakage_share"]
    lo, hi = 0.0, 0.3 + Z * se  # 0.3 - 0.44 is cut at 0: a share of the balances
    assert (br["estimate"], br["ci_low"], br["ci_high"]) == pytest.approx((0.3, lo, hi))
    # the expected liability keeps what breakage will not take: 100 * (1 - 0.3), interval reversed
    el = p.loc["expected_liability"]
    assert (el["estimate"], el["ci_low"], el["ci_high"]) == pytest.approx((70, 100 * (1 - hi), 100 * (1 - lo)))
    assert (p["n"] == 6).all()
    assert p["unit"].tolist() == ["points", "points", "%", "points", "%", "", ""]


def test_breakage_interval_stays_within_the_balances(book):
    ledger, tx = book
    # c2 (3 points, active) and c4 (2 points, idle): breakage 2 / 5, se 0.48 -> 0.4 -+ 0.94, cut to
    # [0, 1]; the expected liability then lies between 0 and the liability (50 RUB)
    p = activity.points_summary(ledger[ledger["customer_id"].isin([2, 4])], tx, end="2025-07-01")
    assert p.loc["breakage_share", ["estimate", "ci_low", "ci_high"]].tolist() == pytest.approx([0.4, 0.0, 1.0])
    assert p.loc["expected_liability", ["estimate", "ci_low", "ci_high"]].tolist() == pytest.approx([30.0, 0.0, 50.0])


def test_expected_liability_of_a_mostly_idle_book(book):
    ledger, tx = book
    # c3 (1 point, active), c4 (2, idle), c5 (1, idle): breakage 3 / 4, clustered se by hand; the
    # low end stays above 0, the high end is cut at 1. Liability 4 points x 10 RUB = 40
    p = activity.points_summary(ledger[ledger["customer_id"].isin([3, 4, 5])], tx, end="2025-07-01")
    lo = 0.75 - Z * clustered_ratio_se([0, 2, 1], [1, 2, 1])
    assert p.loc["breakage_share", ["estimate", "ci_low", "ci_high"]].tolist() == pytest.approx([0.75, lo, 1.0])
    assert p.loc["expected_liability", ["estimate", "ci_low", "ci_high"]].tolist() == pytest.approx(
        [10.0, 0.0, 40 * (1 - lo)]
    )
