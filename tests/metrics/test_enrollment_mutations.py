"""Enrollment figures that must move when the code is subtly wrong: window edges, defaults, censoring.

Each test is a tiny table whose answer is worked out by hand in the comments: the day a window
starts and ends (a receipt exactly at the launch counts, one exactly at the end does not), the
documented defaults (95 % intervals, a 28-day pace, a 20 % target, the day after the last
receipt as the end), the Kaplan-Meier curve's censoring and its rows, the seller league's
shrinkage, and the planted activation curve with campaign visits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from loyalty_lib.metrics import enrollment as en
from loyalty_lib.stats import wilson_ci

LAUNCH, END = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-03-01")
DAY = pd.Timedelta(days=1)


def receipts(rows) -> pd.DataFrame:
    """Receipts from ``(customer_id, date, card_id, seller_id)`` tuples."""
    df = pd.DataFrame(rows, columns=["customer_id", "date", "card_id", "seller_id"])
    df["date"] = pd.to_datetime(df["date"], format="mixed")
    df["card_id"] = df["card_id"].astype("Int64")
    return df


def card_table(rows) -> pd.DataFrame:
    """Cards from ``(card_id, customer_id, issued_date, seller_id)`` tuples."""
    df = pd.DataFrame(rows, columns=["card_id", "customer_id", "issued_date", "seller_id"])
    df["customer_id"] = df["customer_id"].astype("Int64")
    df["issued_date"] = pd.to_datetime(df["issued_date"], format="mixed")
    return df


# ----------------------------------------------------------------------------- member table
def test_member_table_window_edges_and_first_card():
    tx = receipts(
        [
            # c1: card 1 handed out at 10:00 on Jan 5, the receipt carrying it at that very moment
            # is the hand-out, not a use; uses Jan 6 and exactly at the end (not counted)
            (1, "2025-01-05 10:00", 1, "A"),
            (1, "2025-01-06 10:00", 1, "A"),
            (1, "2025-03-01 00:00", 1, "A"),
            # c2: two cards, the earlier (card 3, Jan 2) counts; a use Jan 3 lies between them
            (2, "2025-01-03 12:00", 3, "A"),
            (2, "2025-01-20 12:00", 2, "A"),
            # c3: a card issued exactly at the end is not in the window
            (3, "2025-02-10 12:00", None, "B"),
        ]
    )
    cards = card_table(
        [
            (1, 1, "2025-01-05 10:00", "A"),
            (2, 2, "2025-01-10 09:00", "A"),
            (3, 2, "2025-01-02 09:00", "B"),
            (4, 3, "2025-03-01 00:00", "B"),
            (5, None, "2025-01-04 10:00", "B"),  # an issue date without a holder: no member
        ]
    ).assign(issue_channel="offline")
    m = en.member_table(cards, tx, end=END)
    assert list(m.columns) == [
        "customer_id",
        "card_id",
        "issued_date",
        "issue_channel",
        "seller_id",
        "n_card_receipts",
        "first_use_date",
        "activated",
        "repeat_use",
        "days_to_activation",
        "followup_days",
    ]
    m = m.set_index("customer_id")
    assert m.index.tolist() == [2, 1]  # sorted by issue; c3's card came at the end
    assert m.loc[2, "card_id"] == 3 and m.loc[2, "n_card_receipts"] == 2
    assert m.loc[1, "n_card_receipts"] == 1  # the hand-out and the receipt at the end left out
    assert m["activated"].tolist() == [True, True] and m["repeat_use"].tolist() == [True, False]
    # c2: Jan 2 09:00 -> Jan 3 12:00 = 1 day 3 h; watched to Mar 1 = 57 days 15 h
    assert m.loc[2, "days_to_activation"] == pytest.approx(1 + 3 / 24)
    assert m.loc[2, "followup_days"] == pytest.approx(57 + 15 / 24)
    assert m.loc[1, "first_use_date"] == pd.Timestamp("2025-01-06 10:00")


def test_member_table_end_defaults_to_just_after_the_last_receipt():
    tx = receipts([(1, "2025-01-05 10:00", None, "A"), (1, "2025-01-15 10:00", 1, "A")])
    cards = card_table([(1, 1, "2025-01-05 10:00", "A")])
    for end in (None, ""):
        m = en.member_table(cards, tx, end=end).iloc[0]
        # the last receipt (a use) is inside; the follow-up runs one second past it
        assert m["n_card_receipts"] == 1
        assert m["followup_days"] == pytest.approx(10 + 1 / 86400, abs=1e-9)


# ----------------------------------------------------------------------------- funnel
def funnel_tables():
    # buyers: c1, c2, c3 (exactly at launch), c6; c4 bought exactly at the end only, c5 before launch
    tx = receipts(
        [
            (1, "2025-01-01 00:00", None, "A"),
            (1, "2025-01-09 10:00", 1, "A"),
            (2, "2025-01-10 10:00", None, "A"),
            (3, "2025-01-01 00:00", None, "A"),
            (4, "2025-03-01 00:00", None, "A"),
            (5, "2024-12-20 10:00", None, "A"),
            (6, "2025-01-12 10:00", None, "A"),
        ]
    )
    # c1's card issued exactly at launch counts; c5's and c6's (before launch) do not, nor c7's
    # (after launch, but c7 bought nothing in the window)
    cards = card_table(
        [
            (1, 1, "2025-01-01 00:00", "A"),
            (2, 2, "2025-01-10 10:00", "A"),
            (5, 5, "2024-12-20 10:00", "A"),
            (6, 6, "2024-12-15 10:00", "A"),
            (7, 7, "2025-01-20 10:00", "A"),
        ]
    )
    return tx, cards


def test_funnel_counts_launch_and_end_edges_and_95_percent_default():
    tx, cards = funnel_tables()
    f = en.funnel(tx, cards, launch=LAUNCH, end=END)
    assert f["count"].tolist() == [4, 2, 1, 0]
    assert np.isnan(f.loc["buyers", "estimate"]) and f.loc["buyers", "n"] == 0
    lo, hi = wilson_ci(1, 4, level=0.95)
    assert f.loc["activated", "cum_ci_low"] == pytest.approx(float(lo))
    assert f.loc["activated", "cum_ci_high"] == pytest.approx(float(hi))
    lo, hi = wilson_ci(2, 4, level=0.95)
    assert f.loc["card_issued", "ci_low"] == pytest.approx(float(lo))
    assert f.loc["card_issued", "ci_high"] == pytest.approx(float(hi))
    assert f.loc["repeat_use", "n"] == 1


def test_funnel_by_defaults_and_first_step():
    tx, cards = funnel_tables()
    customers = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 5, 6, 7],
            # a category nobody holds is not a segment
            "customer_type": pd.Categorical(
                ["b2c", "b2c", "b2b", "b2b", "b2b", "b2b", "b2c"], categories=["b2b", "b2c", "gov"]
            ),
        }
    )
    by = en.funnel_by(tx, cards, customers, by="customer_type", launch=LAUNCH, end=END)
    assert set(by["customer_type"]) == {"b2b", "b2c"}
    b = by.set_index(["customer_type", "step"])
    assert b["count"].tolist() == [2, 0, 0, 0, 2, 2, 1, 0]
    assert b.loc[("b2c", "buyers"), "n"] == 0 and np.isnan(b.loc[("b2c", "buyers"), "estimate"])
    lo, hi = wilson_ci(1, 2, level=0.95)
    assert b.loc[("b2c", "activated"), "ci_low"] == pytest.approx(float(lo))
    assert b.loc[("b2c", "activated"), "ci_high"] == pytest.approx(float(hi))
    # by a card column the funnel starts at issue: its first row has no rate either
    ch = en.funnel_by(tx, cards, by="seller_id", launch=LAUNCH, end=END).set_index("step")
    # by a card segment every card issued since launch counts, bought or not (c1, c2, c7)
    assert ch["count"].tolist() == [3, 1, 0]
    assert ch.loc["card_issued", "n"] == 0 and np.isnan(ch.loc["card_issued", "estimate"])
    assert ch.loc["activated", "estimate"] == pytest.approx(1 / 3) and ch.loc["activated", "n"] == 3


# ----------------------------------------------------------------------------- seller league
def league_tables(issued: dict[str, int], eligible: dict[str, int]):
    """One receipt per customer; seller s hands a card at the first ``issued[s]`` of its receipts."""
    rows, cards, cid = [], [], 0
    for s, n in eligible.items():
        for i in range(n):
            cid += 1
            rows.append((cid, "2025-01-10 10:00", None, s))
            if i < issued.get(s, 0):
                cards.append((cid, cid, "2025-01-10 10:00", s))
    return receipts(rows), card_table(cards)


def test_seller_league_shrinkage_by_hand():
    tx, cards = league_tables({"A": 30, "B": 10, "C": 20}, {"A": 100, "B": 100, "C": 100})
    lg = en.seller_league(tx, cards, launch=LAUNCH, end=END).set_index("seller_id")
    # rates 0.3, 0.1, 0.2; pooled m = 60 / 300 = 0.2; between-seller variance of the rates
    # var = (0.01 + 0.01 + 0) / 3, minus the binomial part 0.2 * 0.8 / 100 = 0.0016
    tau2 = 0.02 / 3 - 0.0016
    ab = 0.2 * 0.8 / tau2 - 1
    a, b = 0.2 * ab, 0.8 * ab
    for s, k in {"A": 30, "B": 10, "C": 20}.items():
        assert lg.loc[s, "shrunk_estimate"] == pytest.approx((k + a) / (100 + ab))
        assert lg.loc[s, "shrunk_ci_low"] == pytest.approx(sps.beta.ppf(0.025, k + a, 100 - k + b))
        assert lg.loc[s, "shrunk_ci_high"] == pytest.approx(sps.beta.ppf(0.975, k + a, 100 - k + b))
        lo, hi = wilson_ci(k, 100, level=0.95)
        assert (lg.loc[s, "ci_low"], lg.loc[s, "ci_high"]) == pytest.approx((float(lo), float(hi)))
    assert (lg["target"] == 0.2).all()  # the documented default target
    assert lg.index.tolist() == ["A", "C", "B"]
    # a 90 % interval is narrower
    lg90 = en.seller_league(tx, cards, launch=LAUNCH, end=END, level=0.9).set_index("seller_id")
    assert lg90.loc["A", "shrunk_ci_high"] < lg.loc["A", "shrunk_ci_high"]


def test_seller_league_two_sellers_and_one_purchase_edges():
    # two sellers with rates far apart: the spread between them is real (tau2 from the data)
    tx, cards = league_tables({"A": 40, "B": 10}, {"A": 100, "B": 100})
    lg = en.seller_league(tx, cards, launch=LAUNCH, end=END).set_index("seller_id")
    tau2 = 0.15**2 - 0.25 * 0.75 / 100
    ab = 0.25 * 0.75 / tau2 - 1
    assert lg.loc["A", "shrunk_estimate"] == pytest.approx((40 + 0.25 * ab) / (100 + ab))
    # one seller, one purchase, one card: the pooled rate is 1 and nothing pulls it away
    tx, cards = league_tables({"A": 1}, {"A": 1})
    assert en.seller_league(tx, cards, launch=LAUNCH, end=END)["shrunk_estimate"].iloc[0] == pytest.approx(1.0)


def test_seller_league_eligible_purchases_and_issues_at_the_edges():
    tx = receipts(
        [
            (1, "2025-01-01 00:00", None, "A"),  # exactly at launch: eligible, card handed out
            (1, "2025-01-01 15:00", None, "A"),  # same day as the card: still eligible
            (1, "2025-01-02 09:00", 1, "A"),  # the day after: holds a card, not eligible
            (2, "2025-01-05 10:00", None, "A"),  # c2's first card Jan 8, second Jan 20
            (2, "2025-01-10 10:00", None, "A"),  # holds the Jan 8 card: not eligible
            (3, "2025-01-05 10:00", None, None),  # no seller on the receipt: left out
            (4, "2025-03-01 00:00", None, "A"),  # exactly at the end: outside
            (5, "2025-01-07 10:00", None, "C"),  # seller C never hands out a card
        ]
    )
    cards = card_table(
        [
            (1, 1, "2025-01-01 00:00", "A"),
            (2, 2, "2025-01-08 10:00", "A"),
            (3, 2, "2025-01-20 10:00", "A"),
            (4, 4, "2025-03-01 00:00", "C"),  # issued at the end: outside
            (5, 6, "2024-12-30 10:00", "C"),  # issued before launch: outside
            (6, None, "2025-01-03 10:00", "D"),  # no holder: ignored
            (7, 7, "2025-01-04 10:00", "E"),  # seller E issued a card but served no receipt
        ]
    )
    lg = en.seller_league(tx, cards, launch=LAUNCH, end=END)
    assert list(lg.columns) == [
        "seller_id",
        "eligible",
        "issued",
        "estimate",
        "ci_low",
        "ci_high",
        "n",
        "target",
        "status",
        "shrunk_estimate",
        "shrunk_ci_low",
        "shrunk_ci_high",
    ]
    lg = lg.set_index("seller_id")
    assert lg.index.tolist() == ["A", "C", "E"]
    # A: eligible c1 x2, c2 Jan 5 = 3; issued c1, c2, c2's second = 3
    assert lg.loc["A", "eligible"] == 3 and lg.loc["A", "issued"] == 3
    assert lg.loc["C", "eligible"] == 1 and lg.loc["C", "issued"] == 0
    # E: one card but no eligible purchase: capped at 0 of 0, no rate
    assert lg.loc["E", "eligible"] == 0 and lg.loc["E", "issued"] == 0
    assert np.isnan(lg.loc["E", "estimate"])
    assert np.isfinite(lg.loc[["A", "C"], "shrunk_estimate"]).all()


def test_seller_league_status_at_the_target_itself():
    tx, cards = league_tables({"A": 1, "B": 9}, {"A": 10, "B": 10})

    def status(target):
        return en.seller_league(tx, cards, launch=LAUNCH, end=END, target=target).set_index("seller_id")

    lg = status(0.5)
    # Wilson (1, 10) high 0.40 < 0.5 and (9, 10) low 0.60 > 0.5: both flagged
    assert lg["status"].to_dict() == {"B": "above target", "A": "below target"}
    # an interval that only touches the target does not lie wholly below or above it
    assert status(lg.loc["A", "ci_high"]).loc["A", "status"] == "on target"
    assert status(lg.loc["B", "ci_low"]).loc["B", "status"] == "on target"


# ----------------------------------------------------------------------------- card stock
def stock_cards():
    # issues: Dec 30, Jan 5 (x2), Jan 6, Jan 8 09:00
    return card_table(
        [
            (1, 1, "2024-12-30 10:00", "A"),
            (2, 2, "2025-01-05 10:00", "A"),
            (3, 3, "2025-01-05 16:00", "A"),
            (4, 4, "2025-01-06 10:00", "A"),
            (5, 5, "2025-01-08 09:00", "A"),
        ]
    )


def test_stock_burndown_window_given():
    b = en.stock_burndown(stock_cards(), printed=10, start="2025-01-05", end="2025-01-08")
    # days Jan 5, 6, 7 (the end is exclusive); the Dec 30 card was gone before the axis starts
    assert b["date"].tolist() == list(pd.date_range("2025-01-05", "2025-01-07"))
    assert b["issued"].tolist() == [2, 1, 0]
    assert b["cumulative_issued"].tolist() == [3, 4, 4]
    assert b["remaining"].tolist() == [7, 6, 6]


def test_stock_out_date_edges():
    c = stock_cards()
    assert en.stock_out_date(c, printed=1) == pd.Timestamp("2024-12-30")
    assert en.stock_out_date(c, printed=5) == pd.Timestamp("2025-01-08")
    assert pd.isna(en.stock_out_date(c, printed=0))


def test_stock_projection_pace_and_garwood_interval():
    c = stock_cards()
    # as of Jan 8 09:00 (exclusive: that day's 09:00 card is not counted), 28-day window by default
    p = en.stock_projection(c, printed=10, as_of="2025-01-08 09:00").iloc[0]
    assert p["n"] == 4 and p["remaining"] == 6
    assert p["pace_per_day"] == pytest.approx(4 / 28)
    assert p["estimate"] == pytest.approx(6 / (4 / 28))
    lo, hi = sps.chi2.ppf(0.025, 8) / 2 / 28, sps.chi2.ppf(0.975, 10) / 2 / 28
    assert (p["pace_ci_low"], p["pace_ci_high"]) == pytest.approx((lo, hi))
    assert (p["ci_low"], p["ci_high"]) == pytest.approx((6 / hi, 6 / lo))
    assert p["stock_out_low"] == (pd.Timestamp("2025-01-08 09:00") + pd.Timedelta(days=6 / hi)).normalize()
    assert p["stock_out_high"] == (pd.Timestamp("2025-01-08 09:00") + pd.Timedelta(days=6 / lo)).normalize()
    # a 4-day window starting exactly at the Jan 5 10:00 issue counts it
    q = en.stock_projection(c, printed=10, as_of="2025-01-09 10:00", window_days=4).iloc[0]
    assert q["n"] == 4
    # out already: no days left and no interval around them
    out = en.stock_projection(c, printed=3, as_of="2025-01-08 09:00").iloc[0]
    assert out["already_out"] and (out["estimate"], out["ci_low"], out["ci_high"]) == (0, 0, 0)
    assert out["stock_out_low"] == out["stock_out_high"] == pd.Timestamp("2025-01-05")
    # one card left is not "already out"
    assert not en.stock_projection(c, printed=5, as_of="2025-01-08 09:00").iloc[0]["already_out"]
    # one card in the window (6 Jan): the exact Poisson bounds of a count of 1
    one = en.stock_projection(c, printed=10, as_of="2025-01-07", window_days=1).iloc[0]
    assert one["n"] == 1 and one["pace_ci_low"] == pytest.approx(sps.chi2.ppf(0.025, 2) / 2)
    assert one["pace_ci_high"] == pytest.approx(sps.chi2.ppf(0.975, 4) / 2)
    # no card in the window: no pace, an open-ended date
    r = en.stock_projection(c, printed=10, as_of="2025-03-01", window_days=7).iloc[0]
    assert r["n"] == 0 and r["pace_ci_low"] == 0 and r["estimate"] == np.inf and r["ci_high"] == np.inf
    assert r["pace_ci_high"] == pytest.approx(sps.chi2.ppf(0.975, 2) / 2 / 7)
    assert pd.isna(r["stock_out_date"]) and pd.isna(r["stock_out_high"]) and pd.notna(r["stock_out_low"])


# ----------------------------------------------------------------------------- cost per member
def test_cost_per_member_window_and_interval():
    costs = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-12-31", "2025-01-01", "2025-02-01", "2025-03-01"]),
            "category": ["card_printing", "staff", "discounts", "card_printing"],
            "amount": [50.0, 900.0, 700.0, 30.0],
        }
    )
    c = en.cost_per_member(costs, n_issued=10, n_active=4, start=LAUNCH, end=END)
    # counted: staff on the launch day (900); not Dec 31, not the discounts, not the end day
    assert c.loc["cost_per_issued", "cost"] == 900 and c.loc["cost_per_issued", "estimate"] == 90
    lo, hi = wilson_ci(4, 10, level=0.95)
    assert c.loc["cost_per_active", "estimate"] == pytest.approx(225)
    assert c.loc["cost_per_active", "ci_low"] == pytest.approx(900 / (10 * float(hi)))
    assert c.loc["cost_per_active", "ci_high"] == pytest.approx(900 / (10 * float(lo)))
    assert c["n"].tolist() == [10, 4]
    assert c.loc["cost_per_issued", "categories"] == ", ".join(en.ACQUISITION_COST_CATEGORIES)
    everything = en.cost_per_member(costs, n_issued=10, n_active=4, categories=None, end="2025-02-01")
    assert everything.loc["cost_per_issued", "cost"] == 950
    assert everything.loc["cost_per_issued", "categories"] == "card_printing, staff"
    # nobody active: no cost per active member, and no upper bound
    none = en.cost_per_member(costs, n_issued=10, n_active=0)
    assert np.isnan(none.loc["cost_per_active", "estimate"]) and np.isnan(none.loc["cost_per_active", "ci_high"])
    assert none.loc["cost_per_active", "ci_low"] == pytest.approx(980 / (10 * float(wilson_ci(0, 10)[1])))
    zero = en.cost_per_member(costs, n_issued=0, n_active=0)
    assert zero[["estimate", "ci_low", "ci_high"]].isna().all().all()


# ----------------------------------------------------------------------------- Kaplan-Meier
def members(days_to_activation, followup) -> pd.DataFrame:
    d = np.asarray(days_to_activation, float)
    return pd.DataFrame({"activated": ~np.isnan(d), "days_to_activation": d, "followup_days": followup})


def test_time_to_activation_greenwood_log_log_interval():
    # events at 5 and 31 days, one card censored at 52.5: S = 2/3, 1/3; Greenwood
    # var S(5) = (2/3)^2 * 1/(3*2), var S(31) = (1/3)^2 * (1/6 + 1/(2*1))
    km = en.time_to_activation(members([5, 31, np.nan], [60, 60, 52.5]))
    z = sps.norm.ppf(0.975)
    s = np.array([2 / 3, 1 / 3])
    se = np.array([2 / 3 * np.sqrt(1 / 6), 1 / 3 * np.sqrt(2 / 3)])
    ll = se / (s * np.abs(np.log(s)))
    np.testing.assert_allclose(km["ci_low"].iloc[1:3], 1 - s ** np.exp(-z * ll))
    np.testing.assert_allclose(km["ci_high"].iloc[1:3], 1 - s ** np.exp(z * ll))
    # day 0 row, the two event days, and the curve carried flat to the longest follow-up (52.5)
    assert km["day"].tolist() == [0.0, 5.0, 31.0, 52.5]
    assert km.iloc[0].tolist() == [0.0, 0.0, 0.0, 0.0, 3, 0]
    assert km["n_at_risk"].tolist() == [3, 3, 2, 1] and km["n_events"].tolist() == [0, 1, 1, 0]
    assert km.iloc[3, 1:4].tolist() == pytest.approx(km.iloc[2, 1:4].tolist())
    assert list(km.columns) == ["day", "estimate", "ci_low", "ci_high", "n_at_risk", "n_events"]
    # cut at an event day: that day stays
    assert en.time_to_activation(members([5, 31, np.nan], [60, 60, 52.5]), max_days=31)["day"].tolist() == [0, 5, 31]


def test_time_to_activation_edges():
    # every card used, the last at the longest follow-up: no extra row, S = 0 there with a closed interval
    km = en.time_to_activation(members([0.5, 2.0], [9.0, 2.0]))
    assert km["day"].tolist() == [0.0, 0.5, 2.0]
    assert km.iloc[-1][["estimate", "ci_low", "ci_high"]].tolist() == [1.0, 1.0, 1.0]
    # a use at the very moment of issue: the curve starts at day 0 with that share, no extra row
    km = en.time_to_activation(members([0.0, np.nan], [4.0, 4.0]))
    assert km["day"].tolist() == [0.0, 4.0] and km["estimate"].tolist() == [0.5, 0.5]
    # no card used yet: a flat curve at 0 up to the longest follow-up
    km = en.time_to_activation(members([np.nan, np.nan], [3.0, 8.0]))
    assert km["day"].tolist() == [0.0, 8.0] and km["estimate"].tolist() == [0.0, 0.0]
    assert km["n_at_risk"].tolist() == [2, 1]


def test_activation_by_day_reads_the_curve():
    km = en.time_to_activation(members([5, 31, np.nan], [60, 60, 52.5]))
    at = en.activation_by_day(km, [0, 5, 30, 52.5, 53])
    np.testing.assert_allclose(at["estimate"], [0, 1 / 3, 1 / 3, 2 / 3, np.nan])
    np.testing.assert_allclose(at["ci_low"].iloc[:4], km["ci_low"].iloc[[0, 1, 1, 3]])
    np.testing.assert_allclose(at["ci_high"].iloc[:4], km["ci_high"].iloc[[0, 1, 1, 3]])
    # cards still watched and not yet used after the horizon: 3, 2, 2, 1
    assert at["n"].tolist()[:4] == [3, 2, 2, 1]


def test_activation_within_edges_and_level():
    # a card used exactly on day 30 counts; a card watched exactly 30 days is in the denominator
    m = members([30.0, 31.0, np.nan, 2.0], [40.0, 40.0, 30.0, 29.0])
    w = en.activation_within(m, [30, 100])
    assert w["successes"].tolist() == [1, 0] and w["n"].tolist() == [3, 0]
    lo, hi = wilson_ci(1, 3, level=0.95)
    assert (w["ci_low"].iloc[0], w["ci_high"].iloc[0]) == pytest.approx((float(lo), float(hi)))
    assert np.isnan(w["estimate"].iloc[1])


# ----------------------------------------------------------------------------- planted curve
def test_planted_activation_with_campaign_visits_by_hand():
    start, end = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01")
    tc = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "base_rate_per_year": [36.5, 73.0],  # 0.1 and 0.2 visits a day
            "activator": [True, True],
            "card_use_prob": [0.8, 0.5],
        }
    )
    # c1's card at 15:00 on Jan 1: model time 0 + (15 - 9) / 12 = 0.5; c2's at 09:00 on Jan 1: 0
    m = pd.DataFrame({"customer_id": [1, 2], "issued_date": pd.to_datetime(["2025-01-01 15:00", "2025-01-01 09:00"])})
    offers = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 2, 99],
            # c1 contacted at midnight on Jan 3 (model day 2.0: the shop day starts at 9:00) and at
            # 22:00 on Jan 30 (day 30.0: it ended at 21:00)
            "date": pd.to_datetime(["2025-01-03 00:00", "2025-01-30 22:00"] + ["2025-01-03 00:00"] * 3),
            "channel": ["sms", "sms", "sms", "sms", "sms"],
            # c2: a control contact and an offer type without a planted response bring nothing;
            # customer 99 holds no card
            "offer_type": ["winback", "winback", "winback", "birthday", "winback"],
            "group": ["treatment", "treatment", "control", "treatment", "treatment"],
        }
    )
    days = np.array([1.0, 2.0, 2.5, 14.5, 15.0, 15.5, 40.0])
    got = en.planted_activation_by_day(
        tc,
        m,
        days,
        frequency_uplift=0.5,
        offers=offers,
        extra_visit_prob={"winback": {"sms": 0.5}},
        start=start,
        end=end,
    )

    def cdf(x):  # the response delay, exponential (mean 4) capped at 14 - 1 = 13 days
        return np.where(x <= 0, 0.0, np.where(x >= 13, 1.0, 1 - np.exp(-np.clip(x, 0, None) / 4)))

    t_end = 31.0
    x1 = np.minimum(0.5 + days, t_end) - 2.0 - 0.5  # first contact
    x2 = np.minimum(0.5 + days, t_end) - 30.0 - 0.5  # second, cut by the data end
    none1 = np.exp(-0.1 * 1.5 * 0.8 * days) * (1 - 0.5 * 0.8 * cdf(x1)) * (1 - 0.5 * 0.8 * cdf(x2))
    none2 = np.exp(-0.2 * 1.5 * 0.5 * days)
    np.testing.assert_allclose(got.to_numpy(), ((1 - none1) + (1 - none2)) / 2, rtol=1e-12)
    assert got.index.name == "day" and got.name == "truth"
    # offers without planted probabilities: the campaign factor is left out
    plain = en.planted_activation_by_day(tc, m, days, frequency_uplift=0.5, offers=offers, extra_visit_prob=None)
    np.testing.assert_allclose(plain.to_numpy(), ((1 - np.exp(-0.12 * days)) + (1 - none2)) / 2, rtol=1e-12)
