"""Calibration on the data in front of it, and the planted-ROI check on the teaching branch."""

from __future__ import annotations

import numpy as np
import pytest

from loyalty_lib import config, io, synth
from loyalty_lib import truth as tl
from loyalty_lib.simulate import Combined, StampCard, TieredDiscount, run, summarise
from loyalty_lib.simulate.calibrate import (
    calibrate,
    fit_gamma_rates,
    fit_take_up,
    shrunk_log_checks,
    standard_variants,
)
from loyalty_lib.study import Study


def test_gamma_fit_by_hand_on_equal_counts():
    # every customer bought 4 times in 2 years: no spread beyond Poisson, so the shape is huge
    # (capped) and the mean rate is 4 / 2 = 2 a year
    k, m = fit_gamma_rates(np.full(50, 4), np.full(50, 2.0))
    assert m == pytest.approx(2.0, rel=1e-3) and k > 100


def test_shrinkage_by_hand():
    # customer 1: log checks 0 and 2 (mean 1), customer 2: 4 and 6 (mean 5); within variance
    # (1 + 1 + 1 + 1) / 2 = 2, between variance of the means 4 minus 2 / 2 = 3, kappa = 2 / 3;
    # grand mean 3: mu_1 = (2 * 1 + 2/3 * 3) / (2 + 2/3) = 1.5, mu_2 = 4.5
    mu, sd = shrunk_log_checks([0.0, 2.0, 4.0, 6.0], [1, 1, 2, 2])
    assert mu.tolist() == pytest.approx([1.5, 4.5]) and sd == pytest.approx(np.sqrt(2.0))


def test_take_up_fit_sees_that_nobody_joined_less_often_than_everybody():
    rate = np.full(1000, 0.02)
    rng = np.random.default_rng(0)
    joined = rng.random(1000) < 0.4
    fit = fit_take_up(rate, 300.0, joined, reference_rate=0.02)
    # P(join) = (1 - rho)(1 - exp(-q * 6)) = 0.4 has many solutions; the fit reproduces the share
    p = (1 - fit["never_join"]) * (1 - np.exp(-fit["take_up"] * 0.02 * 300))
    assert p == pytest.approx(joined.mean(), abs=0.01)


@pytest.fixture(scope="module")
def small_cal(small_ds):
    study = Study.from_data(small_ds, {})
    return small_ds, study, calibrate(small_ds, study, n_boot=50)


def test_calibration_measures_what_the_teaching_branch_identifies(small_cal):
    ds, study, cal = small_cal
    t = cal.table().set_index("response")
    measured = t.index[t["source"].str.startswith("measured")].tolist()
    for name in ("visit_uplift", "check_uplift", "take_up", "selection", "card_use", "bunching_prob"):
        assert name in measured, t.loc[name, "source"]
    assert t.loc["referral_rate", "source"].startswith("prior")  # no referral program in the data
    assert (t["low"] <= t["value"]).all() and (t["value"] <= t["high"]).all()
    # the current program is read from the data: the study's tiers and the ledger's stamp card
    assert cal.current == Combined(
        (TieredDiscount(study.tier_thresholds, study.tier_rates), StampCard(10, 300.0)),
        name="current program",
        costs=cal.costs,
    )
    assert cal.costs.card_print_cost == pytest.approx(tl.planted(ds, "program.cost_by_category.card_printing") / 1200)
    assert len(cal.population) == study.customers["first_purchase"].notna().sum()


def test_simulator_reproduces_the_planted_roi_of_the_planted_program(small_cal):
    # The teaching branch (3,000 customers) planted tiers of 5/7/10 % plus a stamp card; the
    # simulator, calibrated on its data alone, runs that program for the same year on the same
    # customers. Its spread over 20 simulated worlds (which also draw the responses from their
    # measured ranges) must hold the ROI the generator planted.
    ds, study, cal = small_cal
    res = run(cal.population, [cal.current], cal.responses, ranges=cal.ranges, n_seeds=20, seed=1)
    roi = summarise(res).loc[("current program", "roi_pct")]
    planted = tl.planted(ds, "program.roi_pct")
    assert roi["ci_low"] <= planted <= roi["ci_high"], (roi.to_dict(), planted)


def test_calibration_on_data_without_any_program_falls_back_to_priors():
    ds = synth.generate("bgnbd_check", n_customers=600, seed=3)  # no card, no ledger, no program
    study = Study.from_data(ds, {})
    cal = calibrate(ds, study, n_boot=20)
    t = cal.table().set_index("response")
    for name in ("visit_uplift", "take_up", "card_use", "bunching_prob", "goal_gradient", "redemption"):
        assert t.loc[name, "source"].startswith("prior"), t.loc[name, "source"]
        assert "not measured" in t.loc[name, "source"]  # with the study's reason
    assert cal.current is None
    names = [v.label for v in standard_variants(cal, study)]
    assert names == ["no program", "discount tiers", "points", "stamp card", "referral bonus"]


def _current_roi(ds, *, seed: int = 42, population: int = 10_000):
    """The simulated ROI of the program in the data, as notebook 11 runs it, and the planted one."""
    study = Study.from_data(ds, {})
    cal = calibrate(ds, study, seed=seed)
    n = min(population, len(cal.population))
    scale = len(cal.population) if n < len(cal.population) else None
    res = run(
        cal.population,
        [cal.current],
        cal.responses,
        ranges=cal.ranges,
        n_seeds=20,
        seed=seed,
        n_customers=n,
        population_size=scale,
    )
    return summarise(res).loc[("current program", "roi_pct")], tl.planted(ds, "program.roi_pct"), cal


def test_simulated_members_respond_as_measured(small_cal):
    # the visit and check uplifts are set so that the current program, simulated, gives members the
    # visits and the gross spending the impact design measured over their no-card level (1 + f and
    # 1 + g), not the lower visits the pull of a card filled at random gave; checked on a fresh
    # world and a bigger sample than the calibration's own
    from loyalty_lib.metrics import designs
    from loyalty_lib.simulate.model import member_effect

    ds, study, cal = small_cal
    design = designs.choose_design(study)
    panel = designs.impact_panel(ds, study, design=design)
    eff = designs.program_effect(panel, design, outcomes=["visits", "gross"], n_boot=20)
    measured = 1 + eff["estimate"] / eff["counterfactual"]
    visits, gross = member_effect(
        cal.population, cal.current, cal.responses, n_customers=60_000, population_size=len(cal.population), seed=7
    )
    assert visits == pytest.approx(measured["visits"], rel=0.015)
    assert gross == pytest.approx(measured["gross"], rel=0.015)
    assert "in a simulated year of it" in cal.table().set_index("response").loc["visit_uplift", "source"]


@pytest.mark.parametrize("seed", [5])
def test_planted_roi_inside_the_spread_on_another_small_branch(seed):
    # a second small branch beside the fixture's (seed 11); the seeds sweep at 25,000 and
    # 250,000 customers is the slow test below
    roi, planted, _ = _current_roi(synth.generate(n_customers=3000, seed=seed))
    assert roi["ci_low"] <= planted <= roi["ci_high"], (roi.to_dict(), planted)


@pytest.mark.slow
@pytest.mark.parametrize(("n_customers", "seeds"), [(25_000, [1, 2, 3, 4, 5, 6]), (250_000, [7])])
def test_planted_roi_inside_the_spread_over_a_seeds_sweep(n_customers, seeds):
    # The simulated ROI of the program in the data covers the planted ROI (each branch's worlds
    # drawn with its own seed): a 95 % spread may miss one branch in 20, so at 25,000 customers 5
    # of 6 must hold it (two misses or more: about 3 % by chance), at 250,000 every one. Before the
    # calibration matched members' simulated visits and checks to the measured ones, the
    # 250,000-customer branch of seed 42 missed (38.1 %, 32.2-46.0, against 46.3 %): a bias the
    # spread at 25,000 customers hid. At 25,000 the spread still sits about 5 points high
    # (docs/program_design.md).
    inside = []
    for seed in seeds:
        roi, planted, _ = _current_roi(synth.generate(n_customers=n_customers, seed=seed), seed=seed)
        inside.append((bool(roi["ci_low"] <= planted <= roi["ci_high"]), seed, round(roi["estimate"], 1), planted))
    assert sum(ok for ok, *_ in inside) >= len(seeds) - (len(seeds) >= 6), inside


@pytest.mark.slow
def test_simulator_reproduces_the_planted_roi_on_the_default_branch(branch_dir):
    ds = io.load(branch_dir)
    study = Study.from_data(ds, {})
    cal = calibrate(ds, study)
    res = run(cal.population, [cal.current], cal.responses, ranges=cal.ranges, n_seeds=20, seed=1)
    s = summarise(res)
    roi = s.loc[("current program", "roi_pct")]
    planted = tl.planted(ds, "program.roi_pct")
    assert roi["ci_low"] <= planted <= roi["ci_high"], (roi.to_dict(), planted)
    members = s.loc[("current program", "members")]
    assert members["estimate"] == pytest.approx(tl.planted(ds, "cards_issued"), rel=0.1)


@pytest.mark.slow  # make test runs the program-design notebook on all three through test_examples
@pytest.mark.parametrize("name", ["members_only", "walk_ins", "messy_till"])
def test_calibration_runs_on_the_realistic_exports(name):
    folder = config.PROJECT_DIR / "examples" / name
    ds = io.load(folder / "export", mapping=folder / "mapping.yaml", on_error="quarantine")
    study = Study.from_data(ds, {})
    cal = calibrate(ds, study, n_boot=20)
    t = cal.table().set_index("response")
    assert t["source"].str.match(r"^(measured|prior|fixed)").all()
    if not study.can("did") and not study.can("imputation_did"):
        assert t.loc["visit_uplift", "source"].startswith("prior")
    assert np.isfinite(cal.population.rate_mean).all() and cal.population.check_sigma > 0


def test_a_big_shop_is_calibrated_on_a_sample_that_stands_for_all_its_customers(small_cal):
    ds, study, cal = small_cal
    part = calibrate(ds, study, n_boot=20, max_customers=1000)
    assert len(part.population) == 1000 and part.n_customers == cal.n_customers == len(cal.population)
    assert part.costs == cal.costs  # the cost ledger and the printed cards are read whole
    assert "a random sample of 1,000" in part.data_rows.set_index("item").at["customers", "source"]
    again = calibrate(ds, study, n_boot=20, max_customers=1000)
    assert np.array_equal(again.population.rate_mean, part.population.rate_mean)  # a seeded sample
