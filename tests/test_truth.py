"""The truth layer: planted values beside estimates, and nowhere else."""

from __future__ import annotations

import ast
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from loyalty_lib import config, truth
from loyalty_lib.metrics import activity, enrollment, impact
from loyalty_lib.study import Study


@pytest.fixture(scope="module")
def study(small_ds):
    return Study.from_data(small_ds)


def _frame(index, estimate=0.0):
    idx = list(index)
    return pd.DataFrame({"estimate": estimate, "ci_low": -1.0, "ci_high": 1.0}, index=idx)


def test_real_data_get_an_empty_truth_column_and_nothing_else(small_ds):
    real = replace(small_ds, truth=None, truth_tables={})
    for figure in truth.FIGURES:
        f = _frame(["revenue", "visits"], 3.0)
        out = truth.annotate(f, real, figure)  # no context needed: nothing is planted
        assert list(out.columns) == [*f.columns, "truth"]
        assert out["truth"].isna().all()
        pd.testing.assert_frame_equal(out.drop(columns="truth"), f)
    assert np.isnan(truth.planted(real, "impact.did_revenue_per_customer_month"))


def test_unknown_figure_and_missing_context(small_ds):
    with pytest.raises(ValueError, match="unknown figure 'nope'; known: return_curve"):
        truth.annotate(_frame([1]), small_ds, "nope")
    with pytest.raises(ValueError, match="pass horizon_days"):
        truth.annotate(_frame([1]), small_ds, "return_curve")


def test_return_curve_only_at_the_planted_horizon(small_ds, study):
    curve = activity.return_curve(
        small_ds.transactions, horizon_days=study.return_horizon_days, end=study.end, k_max=3, customers=study.new_ids
    )
    out = truth.annotate(curve, small_ds, "return_curve", horizon_days=study.return_horizon_days)
    planted = small_ds.truth["return_curve"]["p_return_within_horizon"]
    assert out["truth"].tolist() == pytest.approx([planted[str(k)] for k in curve.index])
    other = truth.annotate(curve, small_ds, "return_curve", horizon_days=90)
    assert other["truth"].isna().all()


def test_bunching_goal_gradient_nps_and_did_from_the_planted_dict(small_ds):
    moved = small_ds.truth["bunching"]["moved_checks"]
    b = truth.annotate(_frame([1500.0, 5000.0, 15000.0, 2000.0]), small_ds, "bunching")
    assert b["truth"].iloc[:3].tolist() == [moved["1500"], moved["5000"], moved["15000"]]
    assert np.isnan(b["truth"].iloc[3])
    g = truth.annotate(_frame(["pooled", "within"]), small_ds, "goal_gradient")
    assert g["truth"].tolist() == [-0.04, -0.04]
    n = truth.annotate(_frame(["nps", "const"]), small_ds, "nps", horizon_days=90)
    assert n["truth"].iloc[0] == pytest.approx(small_ds.truth["satisfaction"]["odds_ratio_per_nps_point"])
    assert np.isnan(n["truth"].iloc[1])
    assert truth.annotate(_frame(["nps"]), small_ds, "nps", horizon_days=30)["truth"].isna().all()
    d = truth.annotate(_frame(["revenue", "visits", "check"]), small_ds, "did")
    imp = small_ds.truth["impact"]
    assert d["truth"].iloc[:2].tolist() == [imp["did_revenue_per_customer_month"], imp["did_visits_per_customer_month"]]


def test_impact_on_the_study_panel_matches_the_planted_did(small_ds, study):
    # the estimators' path: receipts only, window, launch and established customers from the Study
    panel = impact.customer_month_panel(
        small_ds.transactions, customers=small_ds.customers, start=study.start, end=study.end
    )
    panel = impact.add_treatment(panel, small_ds.cards, launch=study.launch)
    est = panel[panel["customer_id"].isin(study.established_ids)].reset_index(drop=True)
    assert "cf_revenue" not in est  # truth never enters the estimation data
    out = truth.annotate(
        _frame(["revenue", "visits", "gross", "check"]), small_ds, "impact", panel=est, cells="treated"
    )
    imp = small_ds.truth["impact"]
    assert out.loc["revenue", "truth"] == pytest.approx(imp["did_revenue_per_customer_month"], rel=1e-6)
    assert out.loc["visits", "truth"] == pytest.approx(imp["did_visits_per_customer_month"], rel=1e-6)
    assert out.loc["gross", "truth"] > out.loc["revenue", "truth"]  # gross effect before discounts
    # the counterfactual panel is aligned with the estimation panel, cell by cell
    cf = truth.counterfactual_panel(small_ds, est)
    assert len(cf) == len(est)
    np.testing.assert_allclose(cf["revenue"], est["revenue"])
    np.testing.assert_array_equal(cf["visits"], est["visits"])


def test_card_timed_impact_matches_its_planted_figure(small_ds, study):
    panel = impact.customer_month_panel(
        small_ds.transactions, customers=small_ds.customers, start=study.start, end=study.end, cards=small_ds.cards
    )
    panel = impact.add_treatment(panel, small_ds.cards, launch=study.launch)
    est = panel[panel["customer_id"].isin(study.established_ids)].reset_index(drop=True)
    out = truth.annotate(_frame(["revenue", "visits", "gross"]), small_ds, "card_impact", panel=est)
    imp = small_ds.truth["impact"]
    assert out.loc["revenue", "truth"] == pytest.approx(imp["card_revenue_per_member_month"], rel=1e-6)
    assert out.loc["visits", "truth"] == pytest.approx(imp["card_visits_per_member_month"], rel=1e-6)
    assert out.loc["gross", "truth"] == pytest.approx(imp["card_gross_per_member_month"], rel=1e-6)
    d = truth.annotate(_frame(["revenue", "visits", "gross"]), small_ds, "card_did")
    np.testing.assert_allclose(d["truth"], out["truth"], rtol=1e-6)


def test_activation_and_roi(small_ds, study):
    members = enrollment.member_table(small_ds.cards, small_ds.transactions, end=study.end)
    members = members[members["issued_date"] >= study.launch]
    days = list(study.activation_horizons)
    out = truth.annotate(_frame(days), small_ds, "activation", members=members)
    direct = enrollment.planted_activation_by_day(
        small_ds.truth_tables["customers"],
        members,
        days,
        frequency_uplift=small_ds.truth["uplift"]["frequency_pct"] / 100,
        offers=small_ds.offers,
        extra_visit_prob=small_ds.truth["campaigns"]["extra_visit_prob"],
        start=pd.Timestamp(small_ds.truth["period"]["start"]),
        end=pd.Timestamp(small_ds.truth["period"]["end"]),
    )
    np.testing.assert_allclose(out["truth"], direct.to_numpy())
    assert out["truth"].is_monotonic_increasing and out["truth"].between(0, 1).all()

    rows = ["incremental_gross_revenue", "incremental_margin", "net_gain", "roi_pct"]
    r = truth.annotate(_frame(rows), small_ds, "roi", margin=0.3, cost_total=1000.0)
    inc = small_ds.truth["program"]["incremental_gross_revenue"]
    # by hand: margin 0.3 x inc, minus cost 1,000; ROI = (0.3 inc - 1000) / 1000 x 100
    assert r["truth"].tolist() == pytest.approx([inc, 0.3 * inc, 0.3 * inc - 1000, (0.3 * inc - 1000) / 10])
    card = truth.annotate(_frame(rows), small_ds, "roi_with_card", margin=0.3, cost_total=1000.0)
    planted_card = small_ds.truth["program"]["incremental_gross_revenue_with_card"]
    assert card.loc["incremental_gross_revenue", "truth"] == pytest.approx(planted_card)
    # the figure 07 estimates: established members' effect per member-month x every member's months
    carried = truth.annotate(_frame(rows), small_ds, "roi_card_effect", margin=0.3, cost_total=1000.0)
    per_month = small_ds.truth["impact"]["card_gross_per_member_month"]
    months = small_ds.truth["program"]["member_months_with_card"]
    inc = per_month * months
    assert carried["truth"].tolist() == pytest.approx([inc, 0.3 * inc, 0.3 * inc - 1000, (0.3 * inc - 1000) / 10])


def test_branch_effect_over_every_store_is_the_program_total(small_ds):
    # with every store "launching" at the launch (a month start), the planted effect per branch-month
    # times the branch-months is the generator's incremental revenue over every day after launch
    launch = pd.Timestamp(small_ds.truth["period"]["launch"])
    stores = sorted(small_ds.transactions["store_id"].dropna().unique())
    months = small_ds.transactions.loc[small_ds.transactions["date"] >= launch, "date"].dt.to_period("M").nunique()
    frame = pd.DataFrame({"estimate": [0.0, 0.0]}, index=["revenue", "gross"])
    out = truth.annotate(frame, small_ds, "branch_did", stores=stores, launch=launch)["truth"] * months * len(stores)
    prog = small_ds.truth["program"]
    assert out["revenue"] == pytest.approx(prog["incremental_net_revenue"], rel=1e-9)
    assert out["gross"] == pytest.approx(prog["incremental_gross_revenue"], rel=1e-9)


def test_covered_by_hand():
    f = pd.DataFrame({"ci_low": [0.0, 0.0, 0.0], "ci_high": [1.0, 1.0, 1.0], "truth": [0.5, 2.0, np.nan]})
    assert truth.covered(f).tolist() == [True, False, pd.NA]


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_estimators_and_the_study_never_import_the_truth_layer():
    pkg = config.PACKAGE_DIR
    modules = [
        *sorted((pkg / "metrics").glob("*.py")),
        *sorted((pkg / "clv").glob("*.py")),
        pkg / "study.py",
        pkg / "stats.py",
    ]
    for path in modules:
        assert "loyalty_lib.truth" not in _imports(path), path


def test_the_study_never_reads_planted_truth():
    tree = ast.parse((config.PACKAGE_DIR / "study.py").read_text(encoding="utf-8"))
    attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert not {"truth", "truth_tables", "is_synthetic"} & attrs
