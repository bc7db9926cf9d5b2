"""Tests of loyalty_lib.metrics.designs: the design the data allow, and the event study on members only."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loyalty_lib import synth
from loyalty_lib import truth as tl
from loyalty_lib.dataset import Dataset
from loyalty_lib.metrics import designs
from loyalty_lib.metrics import impact as im
from loyalty_lib.study import Study

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import impact_data  # noqa: E402


def year_panel():
    # two customers, 12 months before the launch (2025) and one after (January 2026).
    # A: 10 a month, 16 in January 2025 -> own level (16 + 11 * 10) / 12 = 10.5
    # B: 20 a month, 26 in January 2025 -> own level (26 + 11 * 20) / 12 = 20.5
    # January's season: mean of (16 - 10.5, 26 - 20.5) = 5.5; A holds a card all of January 2026 and
    # buys 30: imputed 10.5 + 5.5 = 16, effect 14 per member-month
    months = pd.date_range("2025-01-01", periods=13, freq="MS")
    a = [16.0] + [10.0] * 11 + [30.0]
    b = [26.0] + [20.0] * 11 + [24.0]
    return pd.DataFrame(
        {
            "customer_id": ["A"] * 13 + ["B"] * 13,
            "month": list(months) * 2,
            "revenue": a + b,
            "revenue_card": [0.0] * 12 + [30.0] + [0.0] * 13,
            "card_exposure": [0.0] * 12 + [1.0] + [0.0] * 13,
            "post": [False] * 12 + [True] + [False] * 12 + [True],
        }
    )


def test_year_before_month_effects_by_hand():
    out = im.did_imputation(year_panel(), month_effects="year_before", n_boot=20)
    assert out.loc["revenue", "estimate"] == pytest.approx(14.0)
    assert out.loc["revenue", "counterfactual"] == pytest.approx(16.0)
    # the default takes January's change from before-the-card time: B alone, 24 - 20.5 = 3.5
    assert im.did_imputation(year_panel(), n_boot=20).loc["revenue", "estimate"] == pytest.approx(30 - 10.5 - 3.5)


def test_year_before_needs_twelve_months_before_the_launch():
    p = year_panel()
    short = p[p["month"] >= "2025-03-01"]
    with pytest.raises(ValueError, match="needs 12 months before the launch, the panel has 10"):
        im.did_imputation(short, month_effects="year_before", n_boot=5)
    with pytest.raises(ValueError, match="month_effects must be"):
        im.did_imputation(p, month_effects="calendar", n_boot=5)


@pytest.fixture(scope="module")
def branch():
    return synth.generate(n_customers=1500, seed=3)


def test_the_design_follows_what_the_data_hold(branch):
    full = designs.choose_design(Study.from_data(branch))
    assert full.key == "card_did" and full.available and "non-members" in full.label
    members = designs.choose_design(Study.from_data(impact_data.members_only(branch)))
    assert members.key == "event_study" and "season" in members.assumption
    older = designs.choose_design(Study.from_data(impact_data.members_only_older(branch)))
    assert older.key == "none" and not older.available
    assert "issue dates" in older.reason and "branch" in older.reason  # what data would enable it
    chain = impact_data.chain(branch, [synth.generate(n_customers=800, seed=4)])
    assert designs.choose_design(Study.from_data(chain)).key == "branch_did"
    # walk-ins: members are named only by their card, so their purchases before it are anonymous
    walk = designs.choose_design(Study.from_data(synth.generate("walk_ins", n_customers=800, seed=4)))
    assert walk.key == "branch_did" and "carry no customer id" in walk.reason


def test_a_short_pre_period_leaves_the_not_yet_joined_members_as_controls(branch):
    mo = impact_data.members_only(branch)
    launch = pd.Timestamp(branch.truth["period"]["launch"])
    tx = mo.transactions[mo.transactions["date"] >= launch - pd.DateOffset(months=3)]
    short = Dataset(customers=mo.customers, cards=mo.cards, transactions=tx)
    study = Study.from_data(short)
    d = designs.choose_design(study)
    assert d.key == "staggered" and "too low" in d.assumption
    assert designs.reference_end(study) == study.launch


def test_reference_end_of_a_program_older_than_the_data():
    tx = pd.DataFrame(
        {
            "transaction_id": [1, 2],
            "customer_id": [1, 2],
            "date": pd.to_datetime(["2026-01-10", "2026-06-01"]),
            "card_id": [7, None],
            "amount": [1.0, 2.0],
        }
    )
    ds = Dataset(
        customers=pd.DataFrame({"customer_id": [1, 2]}),
        cards=pd.DataFrame({"card_id": [7], "customer_id": [1], "issued_date": pd.to_datetime(["2025-05-01"])}),
        transactions=tx,
    )
    study = Study.from_data(ds)
    assert study.program == "older than the data"
    # 56 days after 2026-01-10 is 2026-03-07: the next month start
    assert designs.reference_end(study) == pd.Timestamp("2026-04-01")


def test_program_effect_takes_customer_level_designs_only(branch):
    study = Study.from_data(branch)
    panel = designs.impact_panel(branch, study)
    with pytest.raises(ValueError, match="not a customer-level design"):
        designs.program_effect(panel, designs.ImpactDesign("branch_did", "", "", ""))
    with pytest.raises(ValueError, match="panel is empty"):
        designs.program_effect(panel.iloc[:0], designs.choose_design(study))


def test_the_panel_uses_the_study_window_and_join_dates(branch):
    study = Study.from_data(branch)
    panel = designs.impact_panel(branch, study)
    assert set(panel["customer_id"]) == set(study.established_ids)
    assert panel["month"].min() == study.start and panel["month"].max() < study.end
    members = panel.loc[panel["ever_member"], "customer_id"].unique()
    joined = study.members.set_index("customer_id")["join_date"]
    first = panel[panel["card_exposure"] > 0].groupby("customer_id")["month"].min()
    # the card counts from the day after the join date: the first month with a card is the join month
    # (or the next, when the card came on the month's last day)
    lag = (first.dt.to_period("M") - joined.reindex(first.index).dt.to_period("M")).map(lambda d: d.n)
    assert set(lag) <= {0, 1} and set(first.index) <= set(members)


def test_event_study_on_members_only_recovers_the_planted_effect():
    # a members-only export cut from a generated branch: non-members' receipts absent, issue dates
    # kept, a year before the launch. The planted value: actual minus no-program outcome over the
    # members' time with a card (the same figure as the card-timed design's, on these members).
    ds = synth.generate(n_customers=8000, seed=21)
    mo = impact_data.members_only(ds)
    study = Study.from_data(mo)
    design = designs.choose_design(study)
    assert design.key == "event_study"
    panel = designs.impact_panel(mo, study, design=design)
    assert not (~panel["ever_member"]).any()
    est = designs.program_effect(panel, design, outcomes=["revenue", "visits"], n_boot=200, seed=21)
    out = tl.annotate(est, ds, "card_impact", panel=panel).loc[["revenue", "visits"]]
    assert tl.covered(out).all(), out
    assert (out["ci_low"] > 0).all()
    assert np.isfinite(out["truth"]).all()
    # the same imputation month by month around each member's card: the months with a card carry the
    # effect, their mean (weighted by members) near the headline; the months before it near zero
    prof = im.join_event_profile(panel, outcome="visits", month_effects="year_before", n_boot=50, seed=1)
    after = prof[prof["relative_month"].between(1, 9)]
    assert (after["ci_low"] > 0).all()
    assert np.average(after["estimate"], weights=after["n"]) == pytest.approx(out.loc["visits", "estimate"], rel=0.25)
    before = prof[prof["relative_month"] < 0]
    assert (before["estimate"].abs() < 0.25 * out.loc["visits", "estimate"]).all()


# ----------------------------------------------------------------------------- models on a sample, totals
@pytest.fixture(scope="module")
def small(small_ds):
    study = Study.from_data(small_ds, {})
    return small_ds, study, designs.choose_design(study)


def test_naive_totals_give_the_panels_naive_gap_and_its_truth(small):
    ds, study, _ = small
    full = designs.impact_panel(ds, study, established=False, joined_only=False)
    a = im.naive_gap(full, mask=full["post"], n_boot=40, seed=2)
    a = tl.annotate(a, ds, "impact", panel=full, cells=(full["ever_member"] & full["post"]).to_numpy(bool))
    totals = designs.naive_totals(ds, study)
    assert totals["customer_id"].tolist() == sorted(full["customer_id"].unique())
    assert totals["cells"].sum() == full["post"].sum()
    b = im.naive_gap(totals, cells_col="cells", n_boot=40, seed=2)
    b = tl.annotate(b, ds, "impact_totals", totals=totals)
    pd.testing.assert_frame_equal(a, b, rtol=1e-9)


def test_a_panel_of_some_customers_is_their_rows_of_the_whole_panel(small):
    ds, study, design = small
    ids = designs.panel_customers(study, design)
    whole = designs.impact_panel(ds, study, design=design)
    assert ids.tolist() == sorted(whole["customer_id"].unique())
    some = ids.sample(400, random_state=3)
    part = designs.impact_panel(ds, study, design=design, customers=some)
    pd.testing.assert_frame_equal(part, whole[whole["customer_id"].isin(set(some))].reset_index(drop=True))


def test_planted_figures_over_a_sample_of_customers(small):
    ds, study, design = small
    ids = designs.panel_customers(study, design)
    keys = [
        "card_revenue_per_member_month",
        "card_visits_per_member_month",
        "card_gross_per_member_month",
        "did_revenue_per_customer_month",
        "did_visits_per_customer_month",
    ]
    for k in keys:  # over every established customer: the generator's own key
        assert tl.planted_over(ds, f"impact.{k}", ids) == pytest.approx(tl.planted(ds, f"impact.{k}"), rel=1e-9)
    # over a sample: what the truth layer puts beside the estimates on the sample's panel
    some = ids.sample(500, random_state=4)
    part = designs.impact_panel(ds, study, design=design, customers=some)
    card = tl.annotate(
        pd.DataFrame(index=pd.Index(["revenue", "visits", "gross"], name="outcome")), ds, "card_impact", panel=part
    )["truth"]
    did = tl.annotate(
        pd.DataFrame(index=pd.Index(["revenue", "visits"], name="outcome")), ds, "impact", panel=part, cells="treated"
    )["truth"]
    assert tl.planted_over(ds, "impact.card_revenue_per_member_month", some) == pytest.approx(card["revenue"], rel=1e-9)
    assert tl.planted_over(ds, "impact.card_gross_per_member_month", some) == pytest.approx(card["gross"], rel=1e-9)
    assert tl.planted_over(ds, "impact.did_visits_per_customer_month", some) == pytest.approx(did["visits"], rel=1e-9)
    assert tl.planted_over(ds, "impact.card_revenue_per_member_month", some) != pytest.approx(
        tl.planted(ds, "impact.card_revenue_per_member_month"), rel=1e-6
    )
    with pytest.raises(ValueError, match="no per-customer definition"):
        tl.planted_over(ds, "impact.att_check", ids)


def test_card_revenue_is_the_panels_with_card_column(small):
    ds, study, _ = small
    full = designs.impact_panel(ds, study, established=False, joined_only=False)
    assert designs.card_revenue(ds, study) == pytest.approx(full["gross_card"].sum(), rel=1e-12)
    assert designs.card_revenue(ds, study, amount="amount") == pytest.approx(full["revenue_card"].sum(), rel=1e-12)


def test_incremental_revenue_on_a_sample(small):
    ds, study, design = small
    whole = designs.incremental_revenue(ds, study, design, n_boot=20, seed=5)
    part = designs.incremental_revenue(ds, study, design, n_boot=20, seed=5, max_customers=500)
    assert not whole.sample.sampled and part.sample.sampled and part.panel["customer_id"].nunique() == 500
    assert part.exposure == whole.exposure  # every member's months with a card, whatever the model saw
    assert part.effect.loc["gross", "customers_used"] == pytest.approx(500 / whole.panel["customer_id"].nunique())
    # the ROI's planted value follows the planted effect it is given
    roi = part.roi(cost_total=1e6, margin=0.3)
    per = float(tl.annotate(part.effect, ds, "card_impact", panel=part.panel).loc["gross", "truth"])
    t = tl.annotate(roi, ds, "roi_card_effect_of", per_month=per, margin=0.3, cost_total=1e6)
    assert t.loc["incremental_gross_revenue", "truth"] == pytest.approx(
        per * tl.planted(ds, "program.member_months_with_card")
    )
