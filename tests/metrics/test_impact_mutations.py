"""Impact figures that must move when an estimator is subtly wrong.

Every test is a tiny panel whose answer is worked out by hand in the comments, or rebuilt
independently: the bootstrap intervals are recomputed from the very customer resamples the
estimators draw (``stats.bootstrap_draws`` with the documented default seed and count), so a
changed default, confidence level, resampling unit or group mean fails. The clustering and
coverage checks over many data sets live in ``test_impact_calibration.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from loyalty_lib import stats
from loyalty_lib.metrics import impact as im

MONTHS = pd.date_range("2026-01-01", periods=3, freq="MS")


def resamples(n: int, n_boot: int, seed: int = 0) -> np.ndarray:
    """How often each of ``n`` customers is drawn in each resample, as the estimators draw them."""
    return stats.bootstrap_draws(n, lambda c: c, n_boot=n_boot, seed=seed, counts=True)


def percentile(draws, level: float = 0.95):
    a = (1 - level) / 2
    return np.nanquantile(np.asarray(draws, float), [a, 1 - a], axis=0)


# ----------------------------------------------------------------------------- panel
def panel_receipts():
    tx = pd.DataFrame(
        {
            "customer_id": [10, 10, 10, 10, 10, 10, 20],
            "date": pd.to_datetime(
                [
                    "2025-12-20 10:00",  # before the window: left out
                    "2026-01-15 10:00",  # the day the card is handed out: before the card
                    "2026-01-25 10:00",  # after the first card, before the second
                    "2026-02-20 10:00",
                    "2026-03-31 23:00",  # a return: not a visit
                    "2026-04-01 00:00",  # at the end: left out
                    "2026-02-10 10:00",
                ]
            ),
            "amount": [99.0, 10, 3, 8, -5, 99, 7],
            "gross_amount": [99.0, 12, 3, 10, -5, 99, 7],
            "is_visit": [True, True, True, True, False, True, True],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": [40, 5, 30, 20, 10],
            # 40 from before the window; 5 first seen after it (no rows); 30 from March;
            # 20 unknown (from the first receipt); 10 from February (the Dec receipt is earlier)
            "first_seen": pd.to_datetime(["2025-01-01", "2026-05-01", "2026-03-05", None, "2026-02-01"]),
        }
    )
    cards = pd.DataFrame(
        {
            "customer_id": pd.array([10, 10, None], dtype="Int64"),
            "issued_date": pd.to_datetime(["2026-02-01 09:00", "2026-01-15 10:00", None]),
        }
    )
    return tx, customers, cards


def test_customer_month_panel_by_hand():
    tx, customers, cards = panel_receipts()
    p = im.customer_month_panel(
        tx,
        customers=customers,
        start="2026-01-01",
        end="2026-04-01",
        values={"revenue": "amount", "gross": "gross_amount"},
        cards=cards,
        visit_col="is_visit",
    )
    assert list(p.columns) == [
        "customer_id",
        "month",
        "month_index",
        "visits",
        "revenue",
        "gross",
        "visits_card",
        "revenue_card",
        "gross_card",
    ]
    assert p["customer_id"].tolist() == [10, 10, 10, 20, 20, 30, 40, 40, 40]
    assert p["month"].tolist() == list(MONTHS[[0, 1, 2, 1, 2, 2, 0, 1, 2]])
    assert p["month_index"].tolist() == [0, 1, 2, 1, 2, 2, 0, 1, 2]
    assert p["visits"].tolist() == [2, 1, 0, 1, 0, 0, 0, 0, 0]
    assert p["revenue"].tolist() == [13, 8, -5, 7, 0, 0, 0, 0, 0]
    assert p["gross"].tolist() == [15, 10, -5, 7, 0, 0, 0, 0, 0]
    # the first card (15 Jan, not the one of 1 Feb) counts from the day after: 25 Jan on
    assert p["visits_card"].tolist() == [1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert p["revenue_card"].tolist() == [3, 8, -5, 0, 0, 0, 0, 0, 0]
    assert p["gross_card"].tolist() == [3, 10, -5, 0, 0, 0, 0, 0, 0]


def test_customer_month_panel_window_defaults_and_cut_months():
    tx, _, _ = panel_receipts()
    # no window: from the first receipt's month (Dec 2025) to the last one's (Apr 2026) inclusive
    p = im.customer_month_panel(tx)
    assert p["month"].tolist() == list(pd.date_range("2025-12-01", periods=5, freq="MS")) + list(
        pd.date_range("2026-02-01", periods=3, freq="MS")
    )
    assert p["revenue"].tolist() == [99, 13, 8, -5, 99, 7, 0, 0]
    assert p["visits"].tolist() == [1, 2, 1, 1, 1, 1, 0, 0]  # every receipt a visit by default
    # an end inside a month keeps that month whole; an end on a month start leaves it out
    mid = im.customer_month_panel(tx, start="2026-01-01", end="2026-03-15")
    assert mid.equals(im.customer_month_panel(tx, start="2026-01-01", end="2026-04-01"))
    cut = im.customer_month_panel(tx, start="2026-01-01", end="2026-03-01")
    assert cut["month"].max() == pd.Timestamp("2026-02-01") and cut["revenue"].sum() == 28


def test_card_months_end_cuts_a_month_in_full():
    # handed out 20 April: 10 of April's 30 days, then May..January in full (end 15 Jan counts whole)
    got = im.card_months(pd.to_datetime(["2026-04-20", "2027-01-10", "2027-01-31", "2027-02-01"]), "2027-01-15")
    # a card in the last month: 21 of January's 31 days and no full month
    np.testing.assert_allclose(got, [10 / 30 + 9, 21 / 31, 0.0, 0.0])
    # a card on the last day of the last month has no time with it
    assert im.card_months(pd.to_datetime(["2027-01-31"]), "2027-02-01").tolist() == [0.0]


def test_add_treatment_flags_around_the_issue_month():
    p = pd.DataFrame({"customer_id": [1] * 3 + [2] * 3, "month": list(MONTHS) * 2})
    cards = pd.DataFrame({"customer_id": [1], "issued_date": pd.to_datetime(["2026-01-31 12:00"])})
    out = im.add_treatment(p, cards, launch="2026-01-15")
    # launch in mid-January: January is already "post"; the card counts from 1 February
    assert out["post"].tolist() == [True] * 6
    assert out["treated"].tolist() == [True] * 3 + [False] * 3
    assert out["issue_cell"].tolist() == [True, False, False] + [False] * 3
    assert out["after_issue"].tolist() == [False, True, True] + [False] * 3
    assert out["card_exposure"].tolist() == [0.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    assert out["issue_month"].iloc[0] == pd.Timestamp("2026-01-01") and out["issue_month"].iloc[3:].isna().all()


def test_counterfactual_columns_and_planted_effect_per_exposure():
    tx = pd.DataFrame({"transaction_id": [3, 1], "amount": [5.0, 7.0]})
    truth = pd.DataFrame(
        {"transaction_id": [1, 3], "cf_amount": [6.0, 0.0], "cf_gross_amount": [6.5, 0.0], "incremental": [False, True]}
    )
    out = im.counterfactual_columns(tx, truth)
    assert out["cf_amount"].tolist() == [0.0, 6.0] and out["cf_gross_amount"].tolist() == [0.0, 6.5]
    assert out["cf_visit"].tolist() == [0, 1]  # an incremental receipt would not exist without the program
    p = pd.DataFrame(
        {"visits": [2, 1, 4], "revenue": [30.0, 10, 99], "cf_visits": [1, 1, 0], "cf_revenue": [10.0, 4, 0]}
    )
    # cells 0 and 1 over 1.5 months of exposure: revenue (20 + 6) / 1.5, visits 1 / 1.5
    t = im.planted_effect(p, [True, True, False], exposure=[1.0, 0.5, 7.0])
    assert t.tolist() == pytest.approx([26 / 1.5, 1 / 1.5, 40 / 3 - 14 / 2])
    # per cell without exposure; no cell chosen: no division by zero cells
    assert im.planted_effect(p, [True, False, False])["revenue"] == 20
    assert im.planted_effect(p, [False] * 3)["revenue"] == 0
    # the card effect counts the with-card parts over the with-card exposure only
    c = p.assign(
        revenue_card=[30.0, 0, 0],
        cf_revenue_card=[10.0, 0, 0],
        visits_card=[2, 0, 0],
        cf_visits_card=[1, 0, 0],
        card_exposure=[0.5, 0.0, 0.0],
    )
    assert im.planted_card_effect(c).tolist() == pytest.approx([40.0, 2.0, 15 - 10])


def test_truth_value_paths():
    t = {"impact": {"att": 3.0, "deep": {"x": 1.0}}, "flat.key": 2.0, "impact.att_flat": 4.0}
    assert im.truth_value(t, "impact.deep.x") == 1.0
    assert im.truth_value(t, "flat.key") == 2.0
    assert im.truth_value(t, "impact.att_flat") == 4.0
    assert np.isnan(im.truth_value(t, "impact.none"))
    assert im.truth_value(t, "impact.att.x", default=-1.0) == -1.0  # a number has no children
    assert im.truth_value(None, "impact.att", default=7.0) == 7.0


# ----------------------------------------------------------------------------- naive gap
def three_month_panel():
    # members A, B; non-members C, D; January and February before launch, March after
    #   revenue  A 10 20 | 40   B 30 10 | 30   C 5 15 | 14   D 20 20 | 22
    #   visits   A  1  2 |  3   B  2  2 |  2   C 1  1 |  1   D  0  2 |  2
    return pd.DataFrame(
        {
            "customer_id": np.repeat(list("ABCD"), 3),
            "month": list(MONTHS) * 4,
            "revenue": [10.0, 20, 40, 30, 10, 30, 5, 15, 14, 20, 20, 22],
            "visits": [1, 2, 3, 2, 2, 2, 1, 1, 1, 0, 2, 2],
            "ever_member": [True] * 6 + [False] * 6,
            "post": [False, False, True] * 4,
        }
    )


def random_panel(n: int = 8, seed: int = 4) -> pd.DataFrame:
    """Three months (the last after launch) of ``n`` distinct customers, every other one a member."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": np.repeat(np.arange(n), 3),
            "month": list(MONTHS) * n,
            "revenue": rng.gamma(2.0, 20.0, 3 * n).round(2),
            "visits": rng.integers(1, 4, 3 * n),
            "ever_member": np.repeat(np.arange(n) % 2 == 0, 3),
            "post": [False, False, True] * n,
        }
    )


def test_naive_gap_by_hand_with_its_bootstrap():
    p = three_month_panel()
    out = im.naive_gap(p)  # every cell by default
    # members: revenue 140 over 6 cells, visits 12, check 140/12; non-members 96, 7, 96/7
    assert out["members"].tolist() == pytest.approx([140 / 6, 2.0, 140 / 12])
    assert out["non_members"].tolist() == pytest.approx([16.0, 7 / 6, 96 / 7])
    assert out["estimate"].tolist() == pytest.approx([140 / 6 - 16, 2 - 7 / 6, 140 / 12 - 96 / 7])
    assert out["n"].tolist() == [4, 4, 4]
    # the customer bootstrap by hand: 300 resamples, seed 0, whole customers (eight distinct ones)
    p = random_panel()
    out = im.naive_gap(p)
    S = p.groupby("customer_id")[["revenue", "visits"]].sum().to_numpy()
    c = resamples(8, 300)
    m = np.arange(8) % 2 == 0
    rev_m, vis_m, cells_m = c[:, m] @ S[m, 0], c[:, m] @ S[m, 1], 3 * c[:, m].sum(1)
    rev_c, vis_c, cells_c = c[:, ~m] @ S[~m, 0], c[:, ~m] @ S[~m, 1], 3 * c[:, ~m].sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        draws = np.column_stack(
            [rev_m / cells_m - rev_c / cells_c, vis_m / cells_m - vis_c / cells_c, rev_m / vis_m - rev_c / vis_c]
        )
    lo, hi = percentile(draws)
    np.testing.assert_allclose(out["ci_low"], lo)
    np.testing.assert_allclose(out["ci_high"], hi)


def test_naive_gap_mask_counts_only_customers_with_cells():
    p = three_month_panel()
    mask = p["post"] & (p["customer_id"] != "D")  # D has no chosen cell
    out = im.naive_gap(p, mask=mask, n_boot=20)
    assert out.loc["revenue", "estimate"] == pytest.approx(35 - 14)
    assert out["n"].tolist() == [3, 3, 3]


# ----------------------------------------------------------------------------- DiD
def test_did_balanced_by_hand_with_its_bootstrap():
    p = three_month_panel()
    out = im.did_balanced(p, outcomes=["revenue", "visits"])
    # per customer pre (mean of 2 months) and post: revenue changes A 25, B 10, C 4, D 2;
    # visits A 1.5, B 0, C 0, D 1
    assert out["estimate"].tolist() == pytest.approx([17.5 - 3, 0.75 - 0.5])
    assert out["pre_members"].tolist() == pytest.approx([17.5, 1.75])
    assert out["post_members"].tolist() == pytest.approx([35.0, 2.5])
    assert out["pre_non_members"].tolist() == pytest.approx([15.0, 1.0])
    assert out["post_non_members"].tolist() == pytest.approx([18.0, 1.5])
    assert out["n"].tolist() == [4, 4]
    change = np.array([[25.0, 1.5], [10, 0], [4, 0], [2, 1]])
    c = resamples(4, 300)
    with np.errstate(invalid="ignore", divide="ignore"):
        draws = (c[:, :2] @ change[:2]) / c[:, :2].sum(1, keepdims=True) - (c[:, 2:] @ change[2:]) / c[:, 2:].sum(
            1, keepdims=True
        )
    lo, hi = percentile(draws)
    np.testing.assert_allclose(out["ci_low"], lo)
    np.testing.assert_allclose(out["ci_high"], hi)
    np.testing.assert_allclose(out["se"], np.nanstd(draws, axis=0, ddof=1))
    # with four customers many resamples coincide: eight distinct ones tell 300 draws from 301
    q = random_panel()
    wide = q.pivot(index="customer_id", columns="month", values="revenue").to_numpy()
    ch = wide[:, 2] - wide[:, :2].mean(1)
    m = np.arange(8) % 2 == 0
    c8 = resamples(8, 300)
    with np.errstate(invalid="ignore", divide="ignore"):
        d8 = (c8[:, m] @ ch[m]) / c8[:, m].sum(1) - (c8[:, ~m] @ ch[~m]) / c8[:, ~m].sum(1)
    np.testing.assert_allclose(im.did_balanced(q, return_draws=True)[1][:, 0], d8, atol=1e-9)
    frame, d = im.did_balanced(p, outcomes=["revenue", "visits"], return_draws=True)
    np.testing.assert_allclose(d, draws, atol=1e-12)
    assert frame.equals(out)


def test_did_panel_reports_its_p_value_size_and_weights():
    p = three_month_panel().assign(treated=lambda d: d["ever_member"] & d["post"])
    p.loc[0, "visits"] = 0  # a cell weighted 0 is left out (and not counted)
    out = im.did_panel(p, weights_col="visits").iloc[0]
    assert out["n_obs"] == 10 and out["n"] == 4
    assert out["p_value"] == pytest.approx(2 * sps.norm.sf(abs(out["estimate"] / out["se"])))
    lo, hi = stats.normal_interval(out["estimate"], out["se"], level=0.95)
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((lo, hi))
    # a customer whose every cell weighs 0 is not counted
    q = p.assign(visits=np.where(p["customer_id"] == "D", 0, p["visits"]))
    assert im.did_panel(q, weights_col="visits").iloc[0][["n", "n_obs"]].tolist() == [3, 8]
    # a small standard error still gets its p-value
    small = im.did_panel(p.assign(revenue=p["revenue"] / 1000)).iloc[0]
    assert small["se"] < 1 and small["p_value"] == pytest.approx(2 * sps.norm.sf(abs(small["estimate"] / small["se"])))


def test_did_panel_default_fit_is_pyfixest(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the reference fit ran")

    monkeypatch.setattr(im, "_twfe_panelols", refuse)
    p = three_month_panel().assign(treated=lambda d: d["ever_member"] & d["post"])
    # on a balanced panel the coefficient is the closed-form DiD
    assert im.did_panel(p).iloc[0]["estimate"] == pytest.approx(14.5)


# ----------------------------------------------------------------------------- imputation DiD
def card_panel():
    # as in test_impact.test_did_imputation_by_hand: Jan before launch, Feb and Mar after; A's card
    # from 15 Feb (half of Feb, all of Mar); B and C never get one
    return pd.DataFrame(
        {
            "customer_id": list("AAABBBCCC"),
            "month": list(MONTHS) * 3,
            "revenue": [10.0, 30, 40, 5, 7, 9, 15, 11, 21],
            "revenue_card": [0.0, 20, 40] + [0.0] * 6,
            "visits": [1, 3, 2, 1, 1, 1, 1, 1, 2],
            "visits_card": [0, 2, 2] + [0] * 6,
            "card_exposure": [0.0, 0.5, 1.0] + [0.0] * 6,
            "post": [False, True, True] * 3,
        }
    )


def imputation_by_hand(p: pd.DataFrame, outcome: str):
    """The imputation estimator written out per customer and month: c -> (effect, no-card outcome)."""
    grid = p.pivot(index="customer_id", columns="month")
    Y, Yc = grid[outcome].to_numpy(float), grid[outcome + "_card"].to_numpy(float)
    E, post = grid["card_exposure"].to_numpy(float), grid["post"].to_numpy(bool)[0]
    level = Y[:, ~post].mean(1)  # each customer's own pre-launch month

    def fit(c):
        delta = np.zeros(len(post))  # month effect: mean change over before-the-card time
        for t in np.flatnonzero(post):
            den = c @ (1 - E[:, t])
            if den > 0:
                delta[t] = c @ ((Y[:, t] - Yc[:, t]) - (1 - E[:, t]) * level) / den
        imputed = E * (level[:, None] + delta[None, :])  # no-card outcome over with-card time
        mm = c @ E.sum(1)
        if mm == 0:
            return np.nan, np.nan
        return c @ (Yc - imputed).sum(1) / mm, c @ imputed.sum(1) / mm

    return fit


def random_card_panel(n: int = 8, seed: int = 5) -> pd.DataFrame:
    """January before launch, February to April after; the first four customers get a card."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2026-01-01", periods=4, freq="MS")
    E = np.zeros((n, 4))
    for i in range(4):
        start = 1 + i % 3
        E[i, start] = 0.5
        E[i, start + 1 :] = 1.0
    Y = rng.gamma(2.0, 20.0, (n, 4)).round(2)
    V = rng.integers(1, 5, (n, 4)).astype(float)
    return pd.DataFrame(
        {
            "customer_id": np.repeat(np.arange(n), 4),
            "month": list(months) * n,
            "revenue": Y.ravel(),
            "revenue_card": (Y * E).ravel(),
            "visits": V.ravel(),
            "visits_card": (V * E).ravel(),
            "card_exposure": E.ravel(),
            "post": [False, True, True, True] * n,
        }
    )


def test_did_imputation_interval_from_its_own_resamples():
    p = card_panel()
    out, draws = im.did_imputation(p, outcomes=["revenue", "visits"], return_draws=True)
    c = resamples(3, 300)
    fits = [imputation_by_hand(p, o) for o in ("revenue", "visits")]
    hand = np.array([[fit(row) for fit in fits] for row in c])  # (300, outcome, effect / no-card)
    np.testing.assert_allclose(draws, hand[:, :, 0], rtol=1e-9)
    with np.errstate(invalid="ignore", divide="ignore"):
        check = (hand[:, 0, 1] + hand[:, 0, 0]) / (hand[:, 1, 1] + hand[:, 1, 0]) - hand[:, 0, 1] / hand[:, 1, 1]
    all_draws = np.column_stack([hand[:, :, 0], check])
    lo, hi = percentile(all_draws)
    np.testing.assert_allclose(out["ci_low"], lo, rtol=1e-9)
    np.testing.assert_allclose(out["ci_high"], hi, rtol=1e-9)
    np.testing.assert_allclose(out["se"], stats.bootstrap_se(all_draws), rtol=1e-9)
    # the no-card outcome per member-month: revenue 20.6 / 1.5, visits 2.1 / 1.5, check their ratio
    assert out["counterfactual"].tolist() == pytest.approx([20.6 / 1.5, 2.1 / 1.5, 20.6 / 2.1])
    assert out["member_months"].tolist() == [1.5] * 3 and out["n"].tolist() == [3] * 3
    assert list(out.index) == ["revenue", "visits", "check"]
    # one outcome alone: no check row
    assert list(im.did_imputation(p, outcomes=["visits"], n_boot=5).index) == ["visits"]
    # eight distinct customers: the 300 default draws, one by one
    q = random_card_panel()
    fit = imputation_by_hand(q, "revenue")
    _, d = im.did_imputation(q, return_draws=True)
    np.testing.assert_allclose(d[:, 0], [fit(row)[0] for row in resamples(8, 300)], rtol=1e-9)
    assert im.did_imputation(q, n_boot=5).loc["revenue", "estimate"] == pytest.approx(fit(np.ones(8))[0])


def test_did_imputation_month_effects_from_the_year_before():
    # 24 months before launch, 2 after; B never gets a card. Every customer is +2 in January 2024
    # and +6 in January 2025 and 2026. A's own pre-launch level is 10 + 8/24; B's 20 + 8/24.
    months = pd.date_range("2024-01-01", periods=26, freq="MS")
    season = np.where(months.month == 1, np.where(months.year == 2024, 2.0, 6.0), 0.0)
    a = 10 + season + np.r_[np.zeros(24), 3.0, 5.0]  # A: +3 in Jan 2026 (half with the card), +5 in Feb
    b = 20 + season
    p = pd.DataFrame(
        {
            "customer_id": ["A"] * 26 + ["B"] * 26,
            "month": list(months) * 2,
            "revenue": np.r_[a, b],
            "card_exposure": np.r_[np.zeros(24), 0.5, 1.0, np.zeros(26)],
            "post": list(months >= "2026-01-01") * 2,
        }
    )
    p["revenue_card"] = p["revenue"] * p["card_exposure"]
    # with exactly 12 months before launch the year-before months are the panel's first ones
    # (January 2025 is month 0): the same answer, levels 10.5 and 20.5, effects 5.5 and -0.5
    short = p[p["month"] >= "2025-01-01"]
    assert im.did_imputation(short, month_effects="year_before", n_boot=5).loc["revenue", "estimate"] == (
        pytest.approx(6.5 / 1.5)
    )
    out = im.did_imputation(p, month_effects="year_before", n_boot=20).loc["revenue"]
    # month effects from the latest January and February before launch (2025): the panel's mean
    # deviation from own level, Jan 16 - (10 + 1/3) = 5 + 2/3, Feb -1/3. A with the card: Jan
    # 0.5 * 19 - 0.5 * 16 = 1.5, Feb 15 - 10 = 5; over 1.5 member-months
    assert out["estimate"] == pytest.approx(6.5 / 1.5)
    assert out["counterfactual"] == pytest.approx((0.5 * 16 + 10) / 1.5)


# ----------------------------------------------------------------------------- event studies
def test_event_study_reference_month_weights_and_interval():
    p = three_month_panel()
    es = im.event_study(p)  # reference: February, the last month before the first "post" month
    assert es["relative_month"].tolist() == [-2, -1, 0]
    # changes since February: members A (-10, 0, 20), B (20, 0, 20); non-members C (-10, 0, -1),
    # D (0, 0, 2)
    assert es["estimate"].tolist() == pytest.approx([5 - -5, 0, 20 - 0.5])
    assert es["mean_members"].tolist() == pytest.approx([20.0, 15, 35])
    assert es["mean_non_members"].tolist() == pytest.approx([12.5, 17.5, 18])
    # variance: members' changes (ddof 1) / 2, non-members' (mean square about their mean) / 2^2
    vt = np.array([450.0, 0.0, 0.0]) / 2
    vc = np.array([50.0, 0.0, 4.5]) / 4
    z = sps.norm.ppf(0.975)
    np.testing.assert_allclose(es["ci_high"] - es["estimate"], z * np.sqrt(vt + vc))
    assert es["n"].tolist() == [4, 4, 4]
    assert list(es.columns) == [
        "month",
        "relative_month",
        "estimate",
        "ci_low",
        "ci_high",
        "n",
        "mean_members",
        "mean_non_members",
    ]
    # a chosen reference month, and ATT weights on the non-members (C weighs 3, D 1)
    w = pd.Series({"C": 3.0, "D": 1.0, "A": 99.0})
    es = im.event_study(p, ref_month="2026-01-15", weights=w)
    # changes since January: members A (0, 10, 30), B (0, -20, 0);
    # non-members C (0, 10, 9), D (0, 0, 2) weighted 3:1 -> (0, 7.5, 7.25)
    assert es["estimate"].tolist() == pytest.approx([0, -5 - 7.5, 15 - 7.25])
    assert es["relative_month"].tolist() == [-1, 0, 1]
    assert es["mean_non_members"].tolist() == pytest.approx([(3 * 5 + 20) / 4, (3 * 15 + 20) / 4, (3 * 14 + 22) / 4])
    # weighted variance of the non-members' mean: sum w^2 (change - mean)^2 / (sum w)^2
    vc = (9 * (np.array([10, 9.0]) - [7.5, 7.25]) ** 2 + (np.array([0, 2.0]) - [7.5, 7.25]) ** 2) / 16
    np.testing.assert_allclose((es["ci_high"] - es["estimate"]).iloc[1:], z * np.sqrt(225 + vc))


def test_event_study_without_post_uses_the_middle_month():
    p = three_month_panel().drop(columns="post")
    es = im.event_study(p)
    assert es["relative_month"].tolist() == [-2, -1, 0]  # reference: month 3 // 2 = February
    assert es.loc[1, "estimate"] == 0
    # four months: the reference is the third (4 // 2)
    q = random_panel().drop(columns="post")
    q = pd.concat([q, q[q["month"] == MONTHS[2]].assign(month=pd.Timestamp("2026-04-01"))])
    assert im.event_study(q)["relative_month"].tolist() == [-3, -2, -1, 0]


def test_event_study_non_members_without_a_weight_count_nothing():
    p = three_month_panel()
    es = im.event_study(p, weights=pd.Series({"C": 2.0}))  # D has no weight
    # non-members are C alone: changes since February -10, 0, -1
    assert es["mean_non_members"].tolist() == [5.0, 15.0, 14.0]
    assert es["estimate"].tolist() == pytest.approx([5 + 10, 0, 20 + 1])


def test_join_event_profile_by_hand_with_its_bootstrap():
    p = card_panel()
    prof = im.join_event_profile(p, window=(-2, 2))
    # A's card counts from February (month 0). Own level 10; month effects over before-the-card
    # time (test_impact: Feb +1.2, Mar +5). Gaps: Jan (month -1, before launch) 10 - 10 = 0;
    # Feb 30 - 10 - 1.2 = 18.8; Mar 40 - 10 - 5 = 25. Month -2 and 2 fall outside the panel.
    assert prof["relative_month"].tolist() == [-1, 0, 1]
    assert prof["estimate"].tolist() == pytest.approx([0.0, 18.8, 25.0])
    assert prof["n"].tolist() == [1, 1, 1]
    # the default window (-6, 12) keeps the same three months
    assert im.join_event_profile(p, n_boot=5)["relative_month"].tolist() == [-1, 0, 1]

    c = resamples(3, 300)
    draws = []
    for w in c:  # month effects re-estimated on each resample; A drawn w[0] times
        lvl = {"A": 10.0, "B": 5.0, "C": 15.0}
        feb = (w[0] * (10 - 0.5 * 10) + w[1] * (7 - 5) + w[2] * (11 - 15)) / (0.5 * w[0] + w[1] + w[2])
        den = w[1] + w[2]
        mar = (w[1] * (9 - 5) + w[2] * (21 - 15)) / den if den > 0 else 0.0
        gaps = np.array([10 - lvl["A"], 30 - lvl["A"] - feb, 40 - lvl["A"] - mar])
        draws.append(gaps if w[0] > 0 else np.full(3, np.nan))
    lo, hi = percentile(np.array(draws))
    np.testing.assert_allclose(prof["ci_low"], lo)
    np.testing.assert_allclose(prof["ci_high"], hi)


def test_join_event_profile_default_interval_on_distinct_customers():
    # the profile written out: each member's gap k months after the first month with a card,
    # own pre-launch level and that month's effect (over before-the-card time) taken off
    q = random_card_panel()
    grid = q.pivot(index="customer_id", columns="month")
    Y, Yc, E = (grid[c].to_numpy(float) for c in ("revenue", "revenue_card", "card_exposure"))
    level = Y[:, 0]  # one month before launch
    first = np.where(E.sum(1) > 0, (E > 0).argmax(1), -1)
    ks = np.arange(-3, 3)

    def gaps(c):
        delta = np.r_[0.0, [c @ (Y[:, t] - Yc[:, t] - (1 - E[:, t]) * level) / (c @ (1 - E[:, t])) for t in (1, 2, 3)]]
        out = []
        for k in ks:
            ok = (first >= 0) & (first + k >= 0) & (first + k < 4)
            t = np.clip(first + k, 0, 3)
            g = Y[np.arange(8), t] - level - np.where(t >= 1, delta[t], 0.0)
            out.append((c * ok) @ g / (c @ ok) if c @ ok > 0 else np.nan)
        return np.array(out)

    prof = im.join_event_profile(q)
    assert prof["relative_month"].tolist() == ks.tolist()
    np.testing.assert_allclose(prof["estimate"], gaps(np.ones(8)))
    assert prof["n"].tolist() == [1, 2, 4, 4, 3, 2]  # cards from months 1, 2, 3, 1
    lo, hi = percentile(np.array([gaps(c) for c in resamples(8, 300)]))
    np.testing.assert_allclose(prof["ci_low"], lo)
    np.testing.assert_allclose(prof["ci_high"], hi)


def test_join_event_profile_default_window():
    # 21 months, launch in the second; A's card from month 7, B never: months -7 to 13 exist
    months = pd.date_range("2025-01-01", periods=21, freq="MS")
    e = (np.arange(21) >= 7).astype(float)
    p = pd.DataFrame(
        {
            "customer_id": ["A"] * 21 + ["B"] * 21,
            "month": list(months) * 2,
            "revenue": np.r_[10 + 5 * e, np.full(21, 10.0)],
            "revenue_card": np.r_[(10 + 5 * e) * e, np.zeros(21)],
            "card_exposure": np.r_[e, np.zeros(21)],
            "post": list(np.arange(21) >= 1) * 2,
        }
    )
    prof = im.join_event_profile(p, n_boot=5)
    assert list(prof.columns) == ["relative_month", "estimate", "ci_low", "ci_high", "n"]
    assert prof.index.tolist() == list(range(19))
    assert prof["relative_month"].tolist() == list(range(-6, 13))
    assert prof["estimate"].tolist() == pytest.approx([0.0] * 6 + [5.0] * 13)


# ----------------------------------------------------------------------------- propensity
def clipped_strata():
    # x = 0: 1 member, 199 non-members (share 0.005, clipped to 0.01);
    # x = 1: 199 members, 1 non-member (share 0.995, clipped to 0.99)
    x = np.r_[np.zeros(200), np.ones(200)]
    t = np.r_[np.ones(1), np.zeros(199), np.ones(199), np.zeros(1)].astype(bool)
    return pd.DataFrame({"x": x}), t


def test_propensity_scores_are_clipped_at_the_documented_default():
    f, t = clipped_strata()
    pw = im.propensity_weights(f, t)
    assert pw["propensity"].iloc[[0, 399]].tolist() == pytest.approx([0.01, 0.99])
    # non-member odds 0.01/0.99 (x 199) and 99 (x 1), rescaled to sum to the 200 members
    raw = np.r_[np.full(199, 0.01 / 0.99), 99.0]
    np.testing.assert_allclose(pw.loc[~t, "weight"], raw * 200 / raw.sum())
    assert (pw.loc[t, "weight"] == 1).all() and pw["treated"].tolist() == t.tolist()


def psw_data(seed: int = 1):
    # one binary feature, 60 customers: x=0 10 members of 30, x=1 20 of 30 (exact strata)
    rng = np.random.default_rng(seed)
    x = np.repeat([0.0, 1.0], 30)
    t = np.r_[np.ones(10), np.zeros(20), np.ones(20), np.zeros(10)].astype(bool)
    y = pd.DataFrame({"revenue": rng.gamma(2.0, 50.0, 60) + 40 * x, "visits": rng.integers(1, 6, 60).astype(float)})
    base = pd.DataFrame({"revenue": rng.gamma(2.0, 40.0, 60) + 30 * x, "visits": rng.integers(1, 5, 60).astype(float)})
    return pd.DataFrame({"x": x}), t, y, base


def stratified(c, x, t, Y, B=None):
    """ATT by exact stratification with customer counts ``c``: members minus reweighted non-members."""
    wt = c * t
    p = np.array([(wt * (x == v)).sum() / (c * (x == v)).sum() for v in (0, 1)])[x.astype(int)]
    wc = c * ~t * p / (1 - p)
    mt, mc = wt @ Y / wt.sum(), wc @ Y / wc.sum()
    if B is None:
        return np.r_[mt - mc, mt[0] / mt[1] - mc[0] / mc[1]], mt, mc
    bt, bc = wt @ B / wt.sum(), wc @ B / wc.sum()
    chk = (mt[0] / mt[1] - bt[0] / bt[1]) - (mc[0] / mc[1] - bc[0] / bc[1])
    return np.r_[(mt - bt) - (mc - bc), chk], mt, mc


def test_psw_att_by_hand_with_its_refitted_bootstrap():
    f, t, y, base = psw_data()
    x, Y, B = f["x"].to_numpy(), y.to_numpy(), base.to_numpy()
    out = im.psw_att(f, t, y)
    point, mt, mc = stratified(np.ones(60), x, t, Y)
    np.testing.assert_allclose(out["estimate"], point, rtol=1e-6)
    np.testing.assert_allclose(out["members"], np.r_[mt, mt[0] / mt[1]], rtol=1e-9)
    np.testing.assert_allclose(out["non_members_weighted"], np.r_[mc, mc[0] / mc[1]], rtol=1e-6)
    assert out["n"].tolist() == [60] * 3
    # the bootstrap refits the model on each resample (200, seed 0); four Newton steps from the
    # full-data fit land within 1e-4 of the exact refit
    draws = np.array([stratified(c, x, t, Y)[0] for c in resamples(60, 200)])
    lo, hi = percentile(draws)
    np.testing.assert_allclose(out["ci_low"], lo, rtol=1e-4)
    np.testing.assert_allclose(out["ci_high"], hi, rtol=1e-4)
    # with a baseline the comparison is made on the change (weighted DiD)
    did = im.psw_att(f, t, y, baseline=base, n_boot=50)
    np.testing.assert_allclose(did["estimate"], stratified(np.ones(60), x, t, Y, B)[0], rtol=1e-6)
    draws = np.array([stratified(c, x, t, Y, B)[0] for c in resamples(60, 50)])
    lo, hi = percentile(draws)
    np.testing.assert_allclose(did["ci_low"], lo, rtol=1e-4)
    np.testing.assert_allclose(did["ci_high"], hi, rtol=1e-4)


def test_psw_att_clips_like_the_weights():
    f, t = clipped_strata()
    y = pd.DataFrame({"revenue": np.arange(400.0), "visits": np.ones(400)})
    out = im.psw_att(f, t, y, n_boot=3)
    w = im.propensity_weights(f, t)["weight"].to_numpy()
    assert out.loc["revenue", "non_members_weighted"] == pytest.approx((w[~t] * y["revenue"][~t]).sum() / w[~t].sum())


def test_balance_table_unweighted_variances_and_weighted_means():
    f = pd.DataFrame({"x": [1.0, 3, 2, 4, 9], "k": [5.0] * 5})
    t = [True, True, False, False, False]
    b = im.balance_table(f, t, weights=[1, 1, 1, 1, 2])
    # x: members 2 (var 2), non-members 5 (var 13); sd sqrt(7.5); weighted (2 + 4 + 18) / 4 = 6
    assert b.loc["x", "mean_members"] == 2 and b.loc["x", "mean_non_members"] == 5
    assert b.loc["x", "smd_before"] == pytest.approx(-3 / np.sqrt(7.5))
    assert b.loc["x", "mean_non_members_weighted"] == pytest.approx(6.0)
    assert b.loc["x", "smd_after"] == pytest.approx(-4 / np.sqrt(7.5))
    # a constant feature has no spread: its differences are 0, not a division by zero
    assert b.loc["k", ["smd_before", "smd_after"]].tolist() == [0.0, 0.0]
    plain = im.balance_table(f, t)
    assert plain[["mean_non_members_weighted", "smd_after"]].isna().all().all()


def test_pre_period_features_window_and_demographics():
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2],
            "date": pd.to_datetime(["2025-01-01", "2025-06-01", "2026-01-01", "2024-12-31", "2025-12-31"]),
            "amount": [10.0, 20, 999, 50, 5],
        }
    )
    cust = pd.DataFrame(
        {
            "customer_id": [2, 1, 3, 4],
            "age": [20.0, np.nan, 30.0, 70.0],
            "score": [np.nan] * 4,
            "vip": [True, False, True, False],
            "customer_type": ["b2c", "b2b", None, "b2c"],
        }
    )
    demographics = ["age", "score", "vip", "customer_type", "gender"]  # no gender column: skipped
    f = im.pre_period_features(tx, cust, launch="2026-01-01", start="2025-01-01", demographics=demographics)
    # the pre-period is [1 Jan 2025, 1 Jan 2026): customer 1's launch-day receipt and
    # customer 2's receipt of 31 Dec 2024 are outside it
    assert f.index.tolist() == [2, 1, 3, 4]
    assert f["pre_visits"].tolist() == [1.0, 2.0, 0.0, 0.0]
    assert f["pre_spend"].tolist() == [5.0, 30.0, 0.0, 0.0]
    assert f["log_pre_visits"].tolist() == pytest.approx(np.log1p([1.0, 2.0, 0.0, 0.0]))
    assert f["log_pre_spend"].tolist() == pytest.approx(np.log1p([5.0, 30.0, 0.0, 0.0]))
    assert f["pre_recency_days"].tolist() == [1.0, 214.0, 365.0, 365.0]
    assert f["pre_buyer"].tolist() == [1.0, 1.0, 0.0, 0.0]
    # a missing age gets the median of the others (30, not their mean 40) and a flag
    assert f["age"].tolist() == [20.0, 30.0, 30.0, 70.0] and f["age_missing"].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert f["score"].tolist() == [0.0] * 4 and f["score_missing"].tolist() == [1.0] * 4
    assert f["vip_True"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert f["customer_type_b2c"].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert f["customer_type_missing"].tolist() == [0.0, 0.0, 1.0, 0.0]
    assert "customer_type_b2b" not in f and "vip_False" not in f and "gender" not in str(list(f.columns))
    # no start: the pre-period opens at the first receipt (31 Dec 2024, 366 days before launch)
    g = im.pre_period_features(tx, cust, launch="2026-01-01", demographics=[])
    assert g["pre_visits"].tolist() == [2.0, 2.0, 0.0, 0.0] and g["pre_recency_days"].tolist()[2] == 366.0
    assert "age" not in g


def test_design_drops_constant_duplicate_and_collinear_columns():
    f = pd.DataFrame(
        {
            "a": [1.0, 2, 3, 4, 6],
            "const": [7.0] * 5,
            "a_again": [1.0, 2, 3, 4, 6],
            "b": [0.0, 1, 0, 1, 1],
            "a_plus_b": [1.0, 3, 3, 5, 7],
        }
    )
    X, names = im._design(f)
    # the constant feature and the copy go; of a, b and a + b two stay, the constant first
    assert (
        names[0] == "const"
        and len(names) == 3
        and "a_again" not in names
        and set(names) < {"const", "a", "b", "a_plus_b"}
    )
    z = {c: (f[c] - f[c].mean()) / f[c].std(ddof=0) for c in names[1:]}
    np.testing.assert_allclose(X, np.column_stack([np.ones(5), *[z[c] for c in names[1:]]]))


def test_logit_newton_steps_solve_the_weighted_score():
    X = np.column_stack([np.ones(6), [0.0, 0, 0, 1, 1, 1]])
    t = np.array([1.0, 0, 0, 1, 1, 0])
    w = np.array([1.0, 1, 1, 2, 1, 1])
    beta = im._logit_irls(X, t, w, np.zeros(2))
    # weighted shares: x=0 1/3, x=1 3/4 -> logits log(1/2) and log(3)
    assert beta == pytest.approx([np.log(0.5), np.log(3) - np.log(0.5)], abs=1e-9)
    # symmetric data: the intercept is 0 from the first step on, the slope still has to converge
    X = np.column_stack([np.ones(6), [-1.0, -1, -1, 1, 1, 1]])
    beta = im._logit_irls(X, np.array([1.0, 0, 0, 1, 1, 0]), np.ones(6), np.zeros(2))
    assert beta == pytest.approx([0.0, np.log(2)], abs=1e-9)
    beta = im._logit_irls(X, t, w, np.zeros(2))
    # four steps from the solution stay there
    assert im._logit_irls(X, t, w, beta, iters=4) == pytest.approx(beta, abs=1e-12)


def test_row_order_does_not_change_any_figure():
    # the same panel in reverse row order: the same customers drawn in every resample, the same months
    rng = np.random.default_rng(4)
    p = pd.DataFrame(
        {
            "customer_id": np.repeat(np.arange(8), 3),
            "month": list(MONTHS) * 8,
            "revenue": rng.gamma(2.0, 20.0, 24).round(2),
            "visits": rng.integers(0, 4, 24),
            "ever_member": np.repeat(np.arange(8) % 2 == 0, 3),
            "post": [False, False, True] * 8,
        }
    )
    q = p.iloc[::-1]
    pd.testing.assert_frame_equal(im.naive_gap(q, n_boot=50), im.naive_gap(p, n_boot=50))
    pd.testing.assert_frame_equal(im.did_balanced(q, n_boot=50), im.did_balanced(p, n_boot=50))
    c, d = card_panel(), card_panel().iloc[::-1]
    pd.testing.assert_frame_equal(im.did_imputation(d, n_boot=50), im.did_imputation(c, n_boot=50))
    pd.testing.assert_frame_equal(
        im.join_event_profile(d, window=(-2, 2), n_boot=50), im.join_event_profile(c, window=(-2, 2), n_boot=50)
    )
