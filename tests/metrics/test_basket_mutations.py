"""Basket figures a small slip would change: edges, defaults, intervals and the bunching bootstrap.

Each test is a tiny table whose answer is worked out by hand in the comments; together with
tests/metrics/test_basket.py they kill the mutants of ``loyalty_lib.metrics.basket`` that
``tools/mutate.py`` makes (docs/mutation.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from loyalty_lib import stats
from loyalty_lib.metrics import basket

Z = sps.norm.ppf(0.975)


def ts(s):
    return pd.Timestamp(s)


def no_cards():
    return pd.DataFrame({"customer_id": pd.Series([], dtype=float), "issued_date": pd.Series([], dtype="M8[ns]")})


# ---------------------------------------------------------------- tiers and receipt labels
def test_one_threshold_and_a_missing_gross_amount():
    assert basket.tier_labels([1500]) == ["<1,500", "1,500+"]
    t = basket.assign_tier([np.nan, 100.0, 1500.0], [1500])
    # a receipt without a gross amount has no tier (not the lowest one)
    assert list(t.codes) == [-1, 0, 1]
    assert t.ordered  # tiers sort from small to large checks
    assert t.max() == "1,500+"


@pytest.fixture
def two_members():
    """Customer 1 holds two cards (issued 1 Feb and 10 Jan: the first counts), customer 2 one (20 Jan)."""
    cards = pd.DataFrame(
        {
            "card_id": [1, 2, 3],
            "customer_id": [1, 1, 2],
            "issued_date": [ts("2026-02-01"), ts("2026-01-10"), ts("2026-01-20")],
        }
    )
    tx = pd.DataFrame(
        {
            "transaction_id": [1, 2, 3],
            "customer_id": [1, 2, 3],
            "date": [ts("2026-01-15"), ts("2026-01-15"), ts("2026-01-09")],
            "gross_amount": [100.0, 200.0, 300.0],
        }
    )
    return tx, cards


def test_a_member_counts_from_the_first_card_and_the_program_from_the_first_issue(two_members):
    tx, cards = two_members
    out = basket.label_receipts(tx, cards)
    # customer 1 is a member from 10 Jan (not 1 Feb), customer 2 from 20 Jan, customer 3 never
    assert out["issued_date"].tolist()[:2] == [ts("2026-01-10"), ts("2026-01-20")]
    assert out["status"].tolist() == ["member", "member_before_issue", "non_member"]
    # the launch is the first issue date (10 Jan): 15 Jan is after it, 9 Jan before
    assert out["post_launch"].tolist() == [True, True, False]
    # a launch date given by the study wins over the first issue date
    late = basket.label_receipts(tx, cards, launch="2026-01-16")
    assert late["post_launch"].tolist() == [False, False, False]


def test_without_cards_or_launch_nothing_is_post_launch_and_no_thresholds_give_one_tier(two_members):
    tx, _ = two_members
    out = basket.label_receipts(tx, no_cards(), thresholds=())
    assert out["post_launch"].tolist() == [False, False, False]
    assert out["status"].tolist() == ["non_member"] * 3
    assert out["tier"].astype(str).tolist() == ["all checks"] * 3


def test_a_return_without_its_sale_in_the_data_keeps_its_own_tier():
    tx = pd.DataFrame(
        {
            "transaction_id": [1, 2, 3],
            "customer_id": [1, 1, 1],
            "date": [ts("2026-01-05"), ts("2026-01-06"), ts("2026-01-07")],
            "gross_amount": [6000.0, -600.0, -50.0],
            # receipt 2 refunds receipt 1 (tier 5,000-15,000); receipt 3 refunds a sale from
            # before the data (99), so it keeps the tier of its own amount
            "original_receipt_id": [None, 1, 99],
        }
    )
    out = basket.label_receipts(tx, no_cards())
    assert out["tier"].astype(str).tolist() == ["5,000-15,000", "5,000-15,000", "<1,500"]
    # a return naming no sale keeps its own tier as well
    out = basket.label_receipts(tx.assign(original_receipt_id=[None, 1, None]), no_cards())
    assert out["tier"].astype(str).tolist() == ["5,000-15,000", "5,000-15,000", "<1,500"]


# ---------------------------------------------------------------- average check and tier shares
def test_items_per_check_needs_an_items_column_and_one_known_count():
    tx = pd.DataFrame(
        {"customer_id": [1, 1, 2], "amount": [100.0, 200.0, 300.0], "gross_amount": [100.0, 200.0, 300.0]}
    )
    # no items column: the default items_col is skipped, not an error
    out = basket.check_summary(tx)
    assert out["metric"].tolist() == ["net_check", "gross_check"]
    assert out.index.tolist() == [0, 1]
    # items known on one receipt only: 4 items per check, from that receipt
    one = basket.check_summary(tx.assign(n_items=[4, np.nan, np.nan])).set_index("metric")
    assert one.loc["items_per_check", "estimate"] == 4 and one.loc["items_per_check", "n"] == 1
    # items known on none: no items row (not 0 / 0)
    assert "items_per_check" not in basket.check_summary(tx.assign(n_items=np.nan))["metric"].tolist()


def test_tier_shares_interval_by_hand():
    # customer 1: two checks in tier A; customer 2: one in A, one in B -> share of A 3/4, B 1/4
    tx = pd.DataFrame({"customer_id": [1, 1, 2, 2], "tier": ["A", "A", "A", "B"], "gross_amount": 100.0})
    out = basket.tier_shares(tx)
    assert out.index.tolist() == [0, 1]
    assert out["tier"].cat.ordered and out["tier"].astype(str).tolist() == ["A", "B"]
    a, b = out.iloc[0], out.iloc[1]
    assert a["estimate"] == pytest.approx(0.75) and b["estimate"] == pytest.approx(0.25)
    # clustered se: customer sums in A (2, 1), checks (2, 2); residuals 2 - 1.5, 1 - 1.5 = +-0.5;
    # var = G / (G - 1) * sum r^2 / (sum checks)^2 = 2 * 0.5 / 16 -> se 0.25 for both tiers
    assert a["ci_low"] == pytest.approx(0.75 - Z * 0.25)
    assert a["ci_high"] == 1.0  # 0.75 + 0.49 is cut at 1
    assert b["ci_low"] == 0.0  # 0.25 - 0.49 is cut at 0
    assert b["ci_high"] == pytest.approx(0.25 + Z * 0.25)
    assert (out["n"] == 4).all() and (out["n_customers"] == 2).all()
    # by group: rows sorted by group, then tier, and numbered 0, 1, 2, ... in that order
    by = basket.tier_shares(tx.assign(g=["y", "y", "x", "x"]), by="g")
    assert by[["g", "tier"]].astype(str).to_numpy().tolist() == [["x", "A"], ["x", "B"], ["y", "A"], ["y", "B"]]
    assert by.index.tolist() == [0, 1, 2, 3]
    assert by["estimate"].tolist() == pytest.approx([0.5, 0.5, 1.0, 0.0])


def test_group_difference_depends_on_the_half_widths_only():
    # a 90 % summary: half-widths 3 and 4 add in quadrature to 5, whatever the level is called
    s = pd.DataFrame(
        {
            "status": ["member", "non_member"],
            "metric": "net_check",
            "estimate": [300.0, 200.0],
            "ci_low": [297.0, 196.0],
            "ci_high": [303.0, 204.0],
            "n": [10, 20],
        }
    )
    for level in (0.9, 0.95):
        out = basket.group_difference(s, level=level).iloc[0]
        assert (out["ci_low"], out["ci_high"]) == pytest.approx((95.0, 105.0))


# ---------------------------------------------------------------- before / after
def test_before_after_windows_include_their_last_day():
    # two cards: the first (10 Jan 2026) counts. Default window 365 days: 10 Jan 2025 and
    # 10 Jan 2027 are in, 9 Jan 2025 and 11 Jan 2027 out; the issue day itself in neither
    cards = pd.DataFrame({"customer_id": [1, 1], "issued_date": [ts("2026-03-01"), ts("2026-01-10")]})
    tx = pd.DataFrame(
        {
            "customer_id": 1,
            "date": [
                ts("2025-01-09"),
                ts("2025-01-10"),
                ts("2026-01-09 23:00"),
                ts("2026-01-10 08:00"),
                ts("2027-01-10 20:00"),
                ts("2027-01-11"),
            ],
            "gross_amount": [1000.0, 100.0, 200.0, 999.0, 300.0, 5000.0],
        }
    )
    out = basket.before_after_checks(tx, cards).iloc[0]
    assert out["issued_date"] == ts("2026-01-10")
    assert (out["n_before"], out["n_after"]) == (2, 1)
    assert (out["check_before"], out["check_after"], out["difference"]) == (150.0, 300.0, 150.0)


def test_before_after_needs_a_sale_on_both_sides():
    cards = pd.DataFrame({"customer_id": [1, 2], "issued_date": [ts("2026-01-10")] * 2})
    only_before = pd.DataFrame(
        {"customer_id": [1, 2], "date": [ts("2026-01-01"), ts("2026-01-02")], "gross_amount": [100.0, 50.0]}
    )
    empty = basket.before_after_checks(only_before, cards)
    assert empty.empty
    # the same columns, in the same order, as when there is something to compare
    cols = ["customer_id", "issued_date", "n_before", "n_after", "check_before", "check_after", "difference"]
    assert empty.columns.tolist() == cols
    # customer 2's only receipt after the card is a return: no check to compare, so left out
    tx = pd.concat(
        [
            only_before,
            pd.DataFrame({"customer_id": [1, 2], "date": [ts("2026-02-01")] * 2, "gross_amount": [80.0, -50.0]}),
        ]
    )
    out = basket.before_after_checks(tx, cards)
    assert out.columns.tolist() == cols
    assert out["customer_id"].tolist() == [1]
    assert out["difference"].tolist() == [-20.0]


def test_paired_change_of_two_members_with_the_ratio_interval_by_hand():
    pm = pd.DataFrame({"check_before": [100.0, 300.0], "check_after": [150.0, 330.0]})
    out = basket.paired_change(pm)
    # d = (50, 30): mean 40, mean before 200 -> relative 0.2; influence values (d - 0.2 b) / 200 =
    # (0.15, -0.15): sd 0.212132, t(0.975, 1) = 12.706 -> half-width 12.706 * 0.212132 / sqrt(2)
    r = out.loc["relative_change"]
    half = sps.t.ppf(0.975, 1) * 0.15
    assert r["estimate"] == pytest.approx(0.2)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((0.2 - half, 0.2 + half))
    d = out.loc["difference"]
    assert d["ci_high"] == pytest.approx(40 + sps.t.ppf(0.975, 1) * np.sqrt(200) / np.sqrt(2))
    assert (out["n"] == 2).all()


def test_paired_change_edges():
    # checks in thousands: before 0.5 and 1.5 (mean 1), after 1.5 and 2.5 -> the check doubled
    small = basket.paired_change(pd.DataFrame({"check_before": [0.5, 1.5], "check_after": [1.5, 2.5]}))
    assert small.loc["relative_change", "estimate"] == pytest.approx(1.0)
    # no check before: no relative change (not infinite)
    zero = basket.paired_change(pd.DataFrame({"check_before": [0.0, 0.0], "check_after": [10.0, 20.0]}))
    assert np.isnan(zero.loc["relative_change", "estimate"])
    assert zero.loc["difference", "estimate"] == 15.0
    # one member: the means, no interval and no relative change
    one = basket.paired_change(pd.DataFrame({"check_before": [100.0], "check_after": [130.0]}))
    assert one["estimate"].iloc[:3].tolist() == [100.0, 130.0, 30.0]
    assert one["ci_low"].isna().all() and np.isnan(one.loc["relative_change", "estimate"])
    # nobody: every figure missing, n = 0
    none = basket.paired_change(pd.DataFrame({"check_before": [], "check_after": []}))
    assert none["estimate"].isna().all() and (none["n"] == 0).all()


# ---------------------------------------------------------------- discount cost
def test_discount_cost_keeps_empty_tiers_and_sorts_groups():
    tiers = pd.Categorical(["high", "low"], categories=["low", "mid", "high"], ordered=True)
    tx = pd.DataFrame({"tier": tiers, "gross_amount": [2000.0, 100.0], "discount_amount": [200.0, 0.0]})
    out = basket.discount_cost(tx.assign(amount=tx["gross_amount"] - tx["discount_amount"]))
    assert out["tier"].tolist() == ["low", "mid", "high", "total"]
    assert out.index.tolist() == [0, 1, 2, 3]
    assert out["n_checks"].tolist() == [1, 0, 1, 2]
    by_text = basket.discount_cost(
        pd.DataFrame({"g": ["b", "a"], "gross_amount": 1.0, "amount": 1.0, "discount_amount": 0.0}), by="g"
    )
    assert by_text["g"].tolist() == ["a", "b", "total"]


def test_discount_cost_rates_on_tiny_and_zero_revenue():
    # tier a: a sale of 100 with 5 off, fully refunded without giving the discount back: gross 0;
    # tier b: a check of 0.5 (thousands) with 0.25 off. All gross 0.5, all discounts 5.25
    tx = pd.DataFrame(
        {
            "tier": ["a", "a", "b"],
            "gross_amount": [100.0, -100.0, 0.5],
            "discount_amount": [5.0, 0.0, 0.25],
            "amount": [95.0, -100.0, 0.25],
        }
    )
    out = basket.discount_cost(tx).set_index("tier")
    assert np.isnan(out.loc["a", "effective_rate"])  # no gross revenue: no rate (not infinite)
    assert out.loc["b", "effective_rate"] == pytest.approx(0.5)
    assert out.loc["a", "share_of_revenue"] == pytest.approx(10.0)
    assert out.loc["a", "n_checks"] == 1
    # everything refunded: gross 0 -> no share of revenue; the discounts 0.5 are all tier a's
    gone = basket.discount_cost(tx.iloc[:2].assign(discount_amount=[0.5, 0.0])).set_index("tier")
    assert gone["share_of_revenue"].isna().all()
    assert gone.loc["a", "share_of_discounts"] == pytest.approx(1.0)
    # discounts that net to 0 over all tiers (a refund in another tier): no share of discounts
    net0 = pd.DataFrame(
        {"tier": ["a", "b"], "gross_amount": [100.0, -50.0], "discount_amount": [5.0, -5.0], "amount": [95.0, -45.0]}
    )
    assert basket.discount_cost(net0)["share_of_discounts"].isna().all()


# ---------------------------------------------------------------- bunching
def _flat(ranges, per_bin=10):
    """Gross amounts at every bin middle of each ``(first_mid, last_mid, width)`` range, ``per_bin`` each."""
    return np.concatenate([np.repeat(np.arange(a, b + w / 2, w), per_bin) for a, b, w in ranges])


def _move(g, frm, to, k):
    """Move ``k`` checks from amount ``frm`` to ``to``."""
    at = np.flatnonzero(g == frm)[:k]
    g = g.copy()
    g[at] = to
    return g


# thresholds 1000, 2000, 4000 with the default 40 % span and 1 % bins: the ranges are
# [600, 1400) in 10s, [1500, 2800) in 20s (clipped half-way to 1000 and to 4000) and [3000, 5600) in 40s
RANGES = [(605.0, 1395.0, 10.0), (1510.0, 2790.0, 20.0), (3020.0, 5580.0, 40.0)]


def _three_tiers():
    g = _flat(RANGES)
    for frm in (955.0, 965.0, 975.0, 985.0, 995.0):  # 1000: 3 checks from each of 5 bins to 1005
        g = _move(g, frm, 1005.0, 3)
    g = np.concatenate([g, [1015.0] * 4])  # and 4 checks more just above 1000, from nowhere
    for frm in (1950.0, 1970.0, 1990.0):  # 2000: 2 checks from each of 3 bins to 2010
        g = _move(g, frm, 2010.0, 2)
    g = _move(g, 3980.0, 4020.0, 1)  # 4000: one check moved
    return pd.DataFrame({"customer_id": np.arange(len(g)), "gross_amount": g})


def test_bunching_at_three_tiers_by_hand():
    tx = _three_tiers()
    out = basket.bunching(tx, [1000, 2000, 4000], n_boot=20)
    # 1000: excess 15 + 4 = 19, missing 15; top-up = where the missing sat (45..5 below, 25 on
    # average) + where the excess landed ((15 * 5 + 4 * 15) / 19 above)
    # 2000: excess 6, missing 6, top-up 30 + 10; 4000: one check, 20 below -> 20 above: 40
    assert out["estimate"].to_numpy() == pytest.approx([19, 6, 1], abs=1e-6)
    assert out["missing_mass"].to_numpy() == pytest.approx([15, 6, 1], abs=1e-6)
    assert out["top_up"].to_numpy() == pytest.approx([25 + 135 / 19, 40, 40], abs=1e-6)
    assert out["counterfactual_above"].to_numpy() == pytest.approx([50, 50, 50])
    assert out["n"].tolist() == [804, 650, 650]
    h = basket.bunching_histogram(tx, [1000, 2000, 4000])
    assert h.index.tolist() == list(range(80 + 65 + 65))
    lo, hi = h.groupby("threshold").agg(lo=("bin_left", "min"), hi=("bin_right", "max")).T.to_numpy()
    assert lo.tolist() == [600, 1500, 3000] and hi.tolist() == [1400, 2800, 5600]


def test_checks_outside_the_studied_ranges_change_nothing():
    tx = _three_tiers()
    # amounts below, between and above the ranges, and on the ranges' own edges
    extra = pd.DataFrame(
        {"customer_id": -np.arange(1, 8), "gross_amount": [10.0, 599.0, 1400.0, 1450.0, 2800.0, 2900.0, 9000.0]}
    )
    on_edge = pd.DataFrame({"customer_id": [-10, -11], "gross_amount": [600.0, 1500.0]})
    base = basket.bunching(tx, [1000, 2000, 4000], n_boot=5)
    more = basket.bunching(pd.concat([tx, extra]), [1000, 2000, 4000], n_boot=5)
    cols = ["estimate", "missing_mass", "top_up", "counterfactual_above", "n"]
    pd.testing.assert_frame_equal(more[cols], base[cols])
    # a check of exactly 600 opens the first bin of 1000's range, 1500 the first of 2000's
    edge = basket.bunching(pd.concat([tx, on_edge]), [1000, 2000, 4000], n_boot=5)
    assert edge["n"].tolist() == [805, 651, 650]


def test_window_edges_hold_the_bin_whose_middle_sits_on_them():
    tx = _three_tiers()
    h = basket.bunching_histogram(tx, [1000], below_pct=15.5, above_pct=5.5)
    w = h.set_index("bin_mid")["window"]
    # below: 845 <= mid < 1000 (845 is in); above: 1000 <= mid < 1055 (1055 is out)
    assert (w.loc[845.0], w.loc[835.0], w.loc[1045.0], w.loc[1055.0]) == ("below", "outside", "above", "outside")
    assert h.set_index("bin_mid")["distance_pct"].loc[[605.0, 1005.0]].tolist() == pytest.approx([-39.5, 0.5])
    # windows of 15.55 % and 5.55 %: [844.5, 1055.5) holds the bins from 845 to 1055
    w = basket.bunching_histogram(tx, [1000], below_pct=15.55, above_pct=5.55).set_index("bin_mid")["window"]
    assert (w.loc[845.0], w.loc[1055.0], w.loc[1065.0]) == ("below", "above", "outside")
    # bins of 2 % of T: 40 bins of 20 over [600, 1400)
    wide = basket.bunching_histogram(tx, [1000], bin_pct=2)
    assert len(wide) == 40 and (wide["bin_right"] - wide["bin_left"]).eq(20).all()
    # no checks at the top of the range: its bins are still there, with no receipts
    top = basket.bunching_histogram(tx[tx["gross_amount"] < 1200], [1000])
    assert len(top) == 80 and top["count"].iloc[-20:].eq(0).all()


def test_bunching_defaults_are_the_documented_ones():
    tx = _three_tiers()
    tx = tx.assign(customer_id=tx.index % 40)  # 40 customers, so the bootstrap varies
    thr = [1000, 2000, 4000]
    settings = dict(span_pct=40.0, bin_pct=1.0, below_pct=15.0, above_pct=5.0, degree=3)
    pd.testing.assert_frame_equal(basket.bunching_histogram(tx, thr), basket.bunching_histogram(tx, thr, **settings))
    pd.testing.assert_frame_equal(
        basket.bunching(tx, thr), basket.bunching(tx, thr, **settings, n_boot=200, seed=0, level=0.95)
    )
    assert basket.DEFAULT_THRESHOLDS == (1500.0, 5000.0, 15000.0)
    pd.testing.assert_frame_equal(
        basket.bunching_histogram(tx.assign(gross_amount=tx["gross_amount"] * 1.5)),
        basket.bunching_histogram(tx.assign(gross_amount=tx["gross_amount"] * 1.5), basket.DEFAULT_THRESHOLDS),
    )


def test_bunching_interval_is_the_customer_bootstrap_rebuilt_by_hand():
    """The same customer resamples, with the counts, fit and masses computed another way (numpy polyfit)."""
    rng = np.random.default_rng(3)
    n_cust = 30
    g = rng.uniform(600, 1400, size=(n_cust, 12))
    g[(g >= 950) & (g < 1000) & (rng.random(g.shape) < 0.6)] += 30  # some checks topped up over 1000
    # customers are numbered in the order of their first receipt (ids 0, 7, 14, ... here), and
    # two customers with receipts outside the range only (ids 31, 30) come after the others
    ids = np.repeat(np.arange(n_cust) * 7 % n_cust, 12)
    tx = pd.DataFrame({"customer_id": ids, "gross_amount": g.ravel()})
    tx = pd.concat([tx, pd.DataFrame({"customer_id": [31, 30, 31], "gross_amount": [200.0, 3000.0, 90.0]})])
    order = [*(np.arange(n_cust) * 7 % n_cust), 31, 30]
    per_customer = [tx.loc[tx["customer_id"] == c, "gross_amount"].to_numpy() for c in order]
    edges = np.arange(600.0, 1400.5, 10.0)
    mid = (edges[:-1] + edges[1:]) / 2
    x = (mid - 1000) / 10
    below, above = (x < 0) & (x >= -15), (x >= 0) & (x < 5)
    fit = ~(below | above)

    def masses(idx):
        rows = []
        for row in idx:
            c = np.histogram(np.concatenate([per_customer[i] for i in row]), bins=edges)[0].astype(float)
            cf = np.polyval(np.polyfit(x[fit], c[fit], 3), x)
            up, down = (c - cf)[above], (cf - c)[below]
            e, m = up.sum(), down.sum()
            # a top-up only where both masses are positive
            top = up @ (mid[above] - 1000) / e + down @ (1000 - mid[below]) / m if e > 0 and m > 0 else np.nan
            rows.append([e, m, top])
        return np.array(rows)

    draws = stats.bootstrap_draws(32, masses, n_boot=40, seed=5)
    lo, hi = stats.percentile_interval(draws, level=0.9)
    out = basket.bunching(tx, [1000], n_boot=40, seed=5, level=0.9).iloc[0]
    point = masses([np.arange(32)])[0]
    assert [out["estimate"], out["missing_mass"], out["top_up"]] == pytest.approx(point, abs=1e-6)
    assert [out["ci_low"], out["missing_ci_low"], out["top_up_ci_low"]] == pytest.approx(lo, abs=1e-6)
    assert [out["ci_high"], out["missing_ci_high"], out["top_up_ci_high"]] == pytest.approx(hi, abs=1e-6)
    assert out["n"] == 360


# ---------------------------------------------------------------- planted top-up (synthetic truth)
def test_planted_top_up_counts_only_checks_that_landed_in_the_window():
    tx = pd.DataFrame({"transaction_id": [1, 2, 3, 4, 5], "gross_amount": [1500.0, 1560.0, 1559.0, 1600.0, 1400.0]})
    tt = pd.DataFrame({"transaction_id": [1, 2, 3, 4, 5], "cf_gross_amount": [1000.0] * 5, "bunched": True})
    out = basket.planted_top_up(tx, tt, [1500, 5000], landing_pct=4, uplift_pct=0)
    # landing window at 1500: [1500, 1560): 1500 and 1559 are in (top-ups 500, 559), 1560 and 1600
    # above it, 1400 below the first threshold -> mean 529.5; nothing landed at 5000
    assert out.loc[1500.0] == pytest.approx(529.5)
    assert np.isnan(out.loc[5000.0])
