"""ROI arithmetic on hand-worked numbers that a subtly wrong line cannot match.

Written against the survivors of ``tools/mutate.py loyalty_lib/metrics/roi.py``: the documented
defaults, months without a cost category, the edges of the break-even, the scaling of a
per-member-month effect.
"""

import numpy as np
import pandas as pd
import pytest

from loyalty_lib.metrics import roi


def test_roi_pct_gives_a_number_for_a_number_and_an_array_for_an_array():
    one = roi.roi_pct(1_000_000, 200_000, margin=0.3)
    assert isinstance(one, float) and one == pytest.approx(50.0)
    many = roi.roi_pct([1_000_000, 400_000], 200_000, margin=0.3)  # (120,000 - 200,000) / 200,000 = -40 %
    assert isinstance(many, np.ndarray) and many.tolist() == pytest.approx([50.0, -40.0])


def test_cost_ledger_months_without_a_category_and_other_categories():
    c = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-01-05", "2026-02-01", "2026-02-03"]),
            "category": ["staff", "discounts", "lunch"],
            "amount": [10.0, 5.0, 2.0],
        }
    )
    led = roi.cost_ledger(c)
    # January had no discount and February no staff cost: zeros, not gaps; a category outside
    # the contract comes after the contract's own, before the total
    assert led.loc["2026-01-01", "discounts"] == 0.0 and led.loc["2026-02-01", "staff"] == 0.0
    assert led["total"].tolist() == [10.0, 7.0]
    assert list(led.columns[-2:]) == ["lunch", "total"]


def test_incremental_from_effect_scales_the_interval():
    effect = pd.DataFrame({"estimate": [10.0], "ci_low": [8.0], "ci_high": [12.0], "n": [5]})
    # 10 (8-12) per member-month x 1,000 member-months
    assert roi.incremental_from_effect(effect, 1000).tolist() == [10_000.0, 8_000.0, 12_000.0]
    assert roi.incremental_from_effect(effect.iloc[0], 2).tolist() == [20.0, 16.0, 24.0]
    with pytest.raises(ValueError, match="ci_high"):
        roi.incremental_from_effect(effect.drop(columns="ci_high"), 1)


def test_roi_estimate_every_figure_and_the_default_level():
    draws = np.linspace(6.0, 14.0, 201)
    out = roi.roi_estimate(10.0, exposure=1000, cost_total=2500, margin=0.5, draws=draws)
    # 10 x 1,000 = 10,000 gross; x 0.5 = 5,000 margin; - 2,500 = 2,500 net; 100 % ROI
    assert out["estimate"].tolist() == pytest.approx([10_000, 5_000, 2_500, 100.0])
    # the default interval is the 95 % one: the 2.5 % and 97.5 % draws, 6.2 and 13.8
    assert out.loc["incremental_gross_revenue", ["ci_low", "ci_high"]].tolist() == pytest.approx([6_200, 13_800])
    at90 = roi.roi_estimate(10.0, exposure=1000, cost_total=2500, margin=0.5, draws=draws, level=0.9)
    assert at90.loc["incremental_gross_revenue", ["ci_low", "ci_high"]].tolist() == pytest.approx([6_400, 13_600])
    # without draws or an interval: the figures, and no interval
    bare = roi.roi_estimate(10.0, exposure=1000, cost_total=2500, margin=0.5)
    assert bare["estimate"].tolist() == pytest.approx([10_000, 5_000, 2_500, 100.0])
    assert bare[["ci_low", "ci_high"]].isna().all(axis=None)


def test_sensitivity_default_ranges():
    s = roi.roi_sensitivity(incremental_gross_revenue=1000.0, cost_total=200.0, margin=0.3).set_index("parameter")
    # margin 0.25 / 0.35: (250 - 200) / 200 = 25 %, (350 - 200) / 200 = 75 %
    assert s.loc["margin", ["low", "high"]].tolist() == pytest.approx([0.25, 0.35])
    assert s.loc["margin", ["roi_low", "roi_high"]].tolist() == pytest.approx([25.0, 75.0])
    # cost x 0.8 / 1.2: (300 - 160) / 160 = 87.5 %, (300 - 240) / 240 = 25 %
    assert s.loc["cost", ["low", "high"]].tolist() == pytest.approx([0.8, 1.2])
    assert s.loc["cost", ["roi_low", "roi_high"]].tolist() == pytest.approx([87.5, 25.0])
    # uplift x 0.8 / 1.2: (240 - 200) / 200 = 20 %, (360 - 200) / 200 = 80 %
    assert s.loc["uplift", ["roi_low", "roi_high"]].tolist() == pytest.approx([20.0, 80.0])
    assert s.index.tolist() == ["cost", "uplift", "margin"]  # swings 62.5, 60, 50


def test_cost_ledger_ignores_categories_never_used():
    # a category column read as categorical may list categories no cost row uses: no column for them
    c = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-01-05"]),
            "category": pd.Categorical(["staff"], categories=["staff", "lunch"]),
            "amount": [10.0],
        }
    )
    assert "lunch" not in roi.cost_ledger(c).columns
