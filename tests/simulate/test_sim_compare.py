"""Variants from plain dicts, the recommendation rule, the tornado and the charts."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from loyalty_lib.plotting import program_design as ppd
from loyalty_lib.simulate import (
    Combined,
    FixedCosts,
    NoProgram,
    Points,
    Population,
    Responses,
    StampCard,
    TieredDiscount,
    prior_ranges,
    run,
    summarise,
    variant_from_dict,
)
from loyalty_lib.simulate.compare import comparison, recommend, relevant_responses, tornado


def summary_of(rows: dict) -> pd.DataFrame:
    """A summarise()-shaped frame from {variant: {figure: (estimate, low, high)}}."""
    recs = [(v, f, est, lo, hi, 10.0) for v, figs in rows.items() for f, (est, lo, hi) in figs.items()]
    df = pd.DataFrame(recs, columns=["variant", "figure", "estimate", "ci_low", "ci_high", "n"])
    return df.set_index(["variant", "figure"])


def test_variant_from_dict_reads_every_kind_and_the_costs():
    base = FixedCosts(cards_printed=100, card_print_cost=2.0)
    v = variant_from_dict(
        {"name": "tiers", "kind": "tiers", "thresholds": [10, 20], "rates": [0.01, 0.02]}, default_costs=base
    )
    assert v == TieredDiscount((10.0, 20.0), (0.01, 0.02), name="tiers", costs=base)
    p = variant_from_dict({"kind": "points", "earn_rate": 0.02, "min_redemption": 300, "setup_cost": 9})
    assert p.earn_rate == 0.02 and p.costs.setup_cost == 9.0 and p.label.startswith("2 points per 100")
    c = variant_from_dict(
        {"name": "both", "kind": ["tiers", "stamps"], "thresholds": [10], "rates": [0.05], "every_n": 5}
    )
    assert isinstance(c, Combined) and c.parts[1] == StampCard(5, 0.0)
    assert variant_from_dict({"name": "none", "kind": "none"}) == NoProgram(name="none")


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"name": "x", "kind": "lottery"}, "kind must be one"),
        ({"name": "x", "kind": "stamps", "every_n": 10, "colour": "red"}, "unknown setting.*colour"),
        ({"name": "x", "kind": "tiers", "thresholds": [20, 10], "rates": [0.1, 0.2]}, "strictly increase"),
        ({"name": "x", "kind": "tiers", "thresholds": [10], "rates": [0.1, 0.2]}, "one rate per threshold"),
        ({"name": "x", "kind": "points", "min_redemption": 0}, "min_redemption > 0"),
        ({"name": "x", "kind": ["points", "stamps"]}, "one reward scheme"),
        ({"name": "x", "kind": "stamps", "setup_cost": -1}, "setup_cost must be >= 0"),
    ],
)
def test_bad_variants_are_named(spec, message):
    with pytest.raises(ValueError, match=message):
        variant_from_dict(spec)


def test_recommend_takes_the_highest_roi_that_pays_back_in_almost_every_world():
    s = summary_of(
        {
            "none": {"roi_pct": (np.nan,) * 3, "net_gain": (0, 0, 0), "cost_total": (0, 0, 0)},
            "tiers": {"roi_pct": (30, 5, 60), "net_gain": (9, 2, 15), "cost_total": (30, 28, 32)},
            "stamps": {"roi_pct": (80, 20, 140), "net_gain": (4, 1, 7), "cost_total": (5, 4, 6)},
            "points": {"roi_pct": (120, -10, 250), "net_gain": (6, -1, 12), "cost_total": (5, 4, 6)},
        }
    )
    rec = recommend(s)
    # points has the highest mean but can lose money; stamps beats tiers among the safe ones
    assert rec["variant"] == "stamps" and rec["pays_back"]
    assert "stamps returns 80 %" in rec["reason"] and "1 other variant" in rec["reason"]


def test_recommend_says_plainly_when_nothing_pays_back():
    s = summary_of(
        {
            "tiers": {"roi_pct": (-40, -60, -20), "net_gain": (-9, -12, -5), "cost_total": (30, 28, 32)},
            "stamps": {"roi_pct": (10, -30, 50), "net_gain": (1, -3, 5), "cost_total": (5, 4, 6)},
        }
    )
    rec = recommend(s)
    assert rec["variant"] == "stamps" and not rec["pays_back"]
    assert rec["reason"].startswith("No variant pays back reliably")


def test_comparison_has_each_figure_with_its_spread():
    pop = Population.fixed([12.0] * 50, [500.0] * 50)
    res = run(pop, [NoProgram(name="none"), StampCard(5, 50.0, name="stamps")], Responses(take_up=0.3), n_seeds=3)
    t = comparison(summarise(res))
    assert list(t.index) == ["none", "stamps"]
    assert {"roi_pct", "roi_pct_low", "roi_pct_high", "members_low"} <= set(t.columns)
    assert (t["members_low"] <= t["members"]).all() and (t["members"] <= t["members_high"]).all()


def test_tornado_moves_one_response_at_a_time_on_the_same_customers():
    rng = np.random.default_rng(2)
    pop = Population.fixed(rng.gamma(1.0, 12.0, 300), np.full(300, 1000.0), check_sigma=0.3)
    r = Responses(take_up=0.5, never_join=0.0)
    v = TieredDiscount((900.0,), (0.05,), costs=FixedCosts(setup_cost=1000.0))
    t = tornado(pop, v, r, prior_ranges(), seeds=(0,), margin_range=(0.25, 0.35))
    assert "goal_gradient" not in set(t["parameter"])  # no reward scheme: the goal pull cannot matter
    assert {"visit_uplift", "bunching_prob", "margin"} <= set(t["parameter"])
    assert t["swing"].is_monotonic_decreasing
    row = t.set_index("parameter").loc["visit_uplift"]
    assert row["roi_high"] > row["base_roi"] > row["roi_low"]  # more extra visits, more return


def test_relevant_responses_follow_the_mechanics():
    ranges = prior_ranges()
    assert relevant_responses(NoProgram(), ranges) == []
    pts = relevant_responses(Points(0.01, 1.0, 100.0), ranges)
    assert "redemption" in pts and "bunching_prob" not in pts and "referral_rate" not in pts


def test_charts_draw_on_the_given_axes_with_labels():
    c = pd.DataFrame(
        {
            "roi_pct": [np.nan, 20.0, -10.0],
            "roi_pct_low": [np.nan, 5.0, -30.0],
            "roi_pct_high": [np.nan, 40.0, 5.0],
            "incremental_gross": [0.0, 1000.0, 300.0],
            "incremental_gross_low": [0.0, 800.0, 100.0],
            "incremental_gross_high": [0.0, 1200.0, 500.0],
            "cost_total": [0.0, 250.0, 100.0],
            "cost_total_low": [0.0, 240.0, 90.0],
            "cost_total_high": [0.0, 260.0, 110.0],
        },
        index=pd.Index(["none", "tiers", "stamps"], name="variant"),
    )
    fig, axes = plt.subplots(1, 3)
    ax = ppd.plot_variant_roi(c, highlight="tiers", ax=axes[0])
    assert ax is axes[0] and "ROI" in ax.get_xlabel()
    assert sorted(t.get_text() for t in ax.get_yticklabels()) == ["stamps", "tiers"]  # no ROI without cost
    ax = ppd.plot_money_in_out(c, currency="EUR", ax=axes[1])
    assert "EUR" in ax.get_ylabel() and len(ax.get_xticks()) == 2
    t = pd.DataFrame(
        {
            "label": ["a", "b"],
            "low": [0.0, 1.0],
            "high": [1.0, 2.0],
            "roi_low": [-5.0, 8.0],
            "roi_high": [30.0, 12.0],
            "base_roi": [10.0, 10.0],
        }
    )
    ax = ppd.plot_response_tornado(t, ax=axes[2])
    assert ax.get_xlabel() == "ROI, %" and len(ax.get_yticks()) == 2
    with pytest.raises(ValueError, match="roi_pct"):
        ppd.plot_variant_roi(c.drop(columns="roi_pct"), ax=axes[0])
