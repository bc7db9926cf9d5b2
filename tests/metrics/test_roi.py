"""Tests of loyalty_lib.metrics.roi: hand-worked arithmetic and recovery of the planted ROI."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from loyalty_lib.metrics import impact as im
from loyalty_lib.metrics import roi
from loyalty_lib.plotting import roi as proi


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_roi_pct_by_hand():
    # margin 0.3 x 1,000,000 = 300,000; (300,000 - 200,000) / 200,000 = 50 %
    assert roi.roi_pct(1_000_000, 200_000, margin=0.3) == pytest.approx(50.0)
    # break-even: 0.25 x 800 = 200 = cost
    assert roi.roi_pct(800, 200, margin=0.25) == pytest.approx(0.0)
    np.testing.assert_allclose(roi.roi_pct(np.array([0.0, 1000.0]), 100, margin=0.2), [-100.0, 100.0])


@pytest.mark.parametrize("kw", [dict(margin=0.0), dict(margin=1.5)])
def test_roi_pct_bad_margin(kw):
    with pytest.raises(ValueError, match="margin"):
        roi.roi_pct(100, 10, **kw)


def test_roi_pct_bad_cost():
    with pytest.raises(ValueError, match="cost"):
        roi.roi_pct(100, 0, margin=0.3)


def test_cost_ledger_by_hand():
    c = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-01-05", "2026-01-20", "2026-02-01", "2026-02-11"]),
            "category": ["staff", "discounts", "staff", "discounts"],
            "amount": [10.0, 5.0, 7.0, 1.0],
        }
    )
    led = roi.cost_ledger(c)
    # Jan: staff 10 + discounts 5 = 15; Feb: 7 + 1 = 8
    assert led["total"].tolist() == [15.0, 8.0]
    assert led.loc["2026-01-01", "discounts"] == 5.0
    assert led["card_printing"].sum() == 0.0  # every contract category is a column
    with pytest.raises(ValueError, match="'category'"):
        roi.cost_ledger(c.drop(columns="category"))


def test_cost_from_parameters_by_hand():
    s = roi.cost_from_parameters(
        printed_cards=1000, card_print_cost=15, discounts_given=2500, fixed_costs={"other": 100}
    )
    # 1000 x 15 = 15,000 printing + 2,500 discounts + 100 other = 17,600
    assert s.sum() == pytest.approx(17_600)
    assert s["card_printing"] == 15_000
    with pytest.raises(ValueError, match="unknown"):
        roi.cost_from_parameters(printed_cards=1, card_print_cost=1, discounts_given=0, fixed_costs={"lunch": 1})


def test_member_months_by_hand():
    cards = pd.DataFrame(
        {
            "customer_id": pd.array([1, 1, 2, pd.NA], dtype="Int64"),
            "issued_date": pd.to_datetime(["2026-01-01", "2026-06-01", "2026-12-01", None]),
        }
    )
    # with a card from the day after the first card: customer 1 from 2 Jan (30/31 of January,
    # then 11 months), customer 2 from 2 Dec (30/31 of December)
    assert roi.member_months(cards, end="2027-01-01") == pytest.approx(11 + 60 / 31)


def test_roi_estimate_with_draws_by_hand():
    # effect 10 per member-month x 1,000 member-months = 10,000; margin 0.5 -> 5,000; cost 2,500
    # ROI = (5,000 - 2,500) / 2,500 = 100 %; draws 8 and 12 give ROI 60 % and 140 %
    out = roi.roi_estimate(10.0, exposure=1000, cost_total=2500, margin=0.5, draws=[8.0, 12.0] * 50)
    assert out.loc["incremental_gross_revenue", "estimate"] == pytest.approx(10_000)
    assert out.loc["roi_pct", "estimate"] == pytest.approx(100.0)
    assert out.loc["roi_pct", "ci_low"] == pytest.approx(60.0)
    assert out.loc["roi_pct", "ci_high"] == pytest.approx(140.0)
    assert out.loc["net_gain", "estimate"] == pytest.approx(2_500)
    with pytest.raises(ValueError, match="exposure"):
        roi.roi_estimate(1.0, exposure=0, cost_total=1, margin=0.3)
    # an effect with a t interval (8, 12) instead of draws: the same ends
    out = roi.roi_estimate(10.0, exposure=1000, cost_total=2500, margin=0.5, effect_interval=(8.0, 12.0))
    assert out.loc["roi_pct", ["ci_low", "ci_high"]].tolist() == pytest.approx([60.0, 140.0])
    assert out.loc["incremental_gross_revenue", ["ci_low", "ci_high"]].tolist() == pytest.approx([8_000, 12_000])


def test_break_even_by_hand():
    be = roi.break_even_uplift(300.0, margin=0.3, exposure=10, baseline_per_month=200)
    # 300 / 0.3 = 1,000 in total; / 10 member-months = 100; 100 / 200 = 50 %
    assert be.tolist() == pytest.approx([1000.0, 100.0, 50.0])
    # members: 1,000 / (0.3 x 100 - 10) = 50
    assert roi.break_even_members(
        1000.0, variable_cost_per_member=10.0, incremental_gross_per_member=100.0, margin=0.3
    ) == pytest.approx(50.0)
    # at the edges: 0.5 left per member -> 1,000 / 0.5 = 2,000; nothing or less left -> never
    assert roi.break_even_members(
        1000.0, variable_cost_per_member=29.5, incremental_gross_per_member=100.0, margin=0.3
    ) == pytest.approx(2000.0)
    for own_cost in (30.0, 40.0):
        assert (
            roi.break_even_members(
                1000.0, variable_cost_per_member=own_cost, incremental_gross_per_member=100.0, margin=0.3
            )
            == np.inf
        )


def test_sensitivity_by_hand():
    s = roi.roi_sensitivity(
        incremental_gross_revenue=1000.0,
        cost_total=200.0,
        margin=0.3,
        ranges={"margin": (0.2, 0.4), "cost": (0.5, 2.0)},
    )
    # base (300 - 200) / 200 = 50 %. margin: (200-200)/200 = 0, (400-200)/200 = 100 -> swing 100
    # cost: 100 -> (300-100)/100 = 200, 400 -> (300-400)/400 = -25 -> swing 225 (first)
    assert s["parameter"].tolist() == ["cost", "margin"]
    assert s.loc[0, "roi_low"] == pytest.approx(200.0) and s.loc[0, "roi_high"] == pytest.approx(-25.0)
    assert s.loc[1, "swing"] == pytest.approx(100.0)
    assert (s["base_roi"] == 50.0).all()
    with pytest.raises(ValueError, match="unknown"):
        roi.roi_sensitivity(incremental_gross_revenue=1, cost_total=1, margin=0.3, ranges={"x": (0, 1)})
    ax = proi.plot_tornado(s, ax=plt.figure().gca())
    assert ax.get_xlabel() == "ROI, %"


def test_plots_label_axes():
    led = roi.cost_ledger(
        pd.DataFrame({"date": pd.to_datetime(["2026-01-05"]), "category": ["staff"], "amount": [10.0]})
    )
    ax = proi.plot_cost_ledger(led, ax=plt.figure().gca())
    assert ax.get_ylabel() == "program cost"  # no currency named unless given
    assert proi.plot_cost_ledger(led, currency="USD", ax=plt.figure().gca()).get_ylabel() == "program cost, USD"
    grid = pd.DataFrame({"per_member_month": [0.0, 10.0], "roi_pct": [-100.0, 50.0]})
    ax = proi.plot_roi_curve(
        grid,
        estimate=pd.Series({"estimate": 5.0, "ci_low": 4.0, "ci_high": 6.0}),
        truth=5.5,
        currency="EUR",
        ax=plt.figure().gca(),
    )
    assert ax.get_ylabel() == "ROI, %" and ax.get_xlabel() == "incremental gross revenue per member-month, EUR"


def test_roi_recovers_planted_roi():
    from loyalty_lib import synth

    ds = synth.generate("sergey_branch", n_customers=4000, seed=42)
    P, prog = ds.truth["period"], ds.truth["program"]
    est_ids = ds.customers.loc[ds.customers["first_seen"] < pd.Timestamp(P["start"]), "customer_id"]
    tx = ds.transactions[ds.transactions["customer_id"].isin(est_ids)]
    panel = im.customer_month_panel(
        tx,
        customers=ds.customers[ds.customers["customer_id"].isin(est_ids)],
        start=P["start"],
        end=P["end"],
        values={"gross": "gross_amount"},
        cards=ds.cards,
    )
    panel = im.add_treatment(panel, ds.cards, launch=P["launch"])
    eff, draws = im.did_imputation(panel, outcomes=["gross"], n_boot=300, return_draws=True)
    cost = roi.cost_ledger(ds.program_costs)["total"].sum()
    assert cost == pytest.approx(prog["cost_total"])
    exposure = roi.member_months(ds.cards, end=P["end"])
    assert exposure == pytest.approx(prog["member_months_with_card"], rel=1e-9)
    out = roi.roi_estimate(
        eff["estimate"].iloc[0],
        exposure=exposure,
        cost_total=cost,
        margin=prog["margin"],
        draws=draws[:, 0],
    )
    # the estimand: incremental gross revenue over every member's time with a card (from the day
    # after the card), established members' effect per member-month carried to all members
    assert out.loc["roi_pct", "ci_low"] <= prog["roi_pct_with_card"] <= out.loc["roi_pct", "ci_high"]
    inc = out.loc["incremental_gross_revenue"]
    assert inc.ci_low <= prog["incremental_gross_revenue_with_card"] <= inc.ci_high
    # the issue days left out hold almost none of the program's effect
    assert prog["incremental_gross_revenue_with_card"] == pytest.approx(prog["incremental_gross_revenue"], rel=0.01)
