"""The forward simulation on tiny populations whose answers can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalty_lib.simulate import (
    Combined,
    FixedCosts,
    NoProgram,
    Points,
    Population,
    Referral,
    Responses,
    StampCard,
    TieredDiscount,
    run,
    simulate,
    summarise,
)
from loyalty_lib.simulate.model import _tier_rate

#: Nobody responds: no extra visits, no bigger checks, no bunching, no goal pull; everybody
#: takes a card at the first visit and shows it every time, and redeems every reward; any uplift
#: set below holds for every card whatever it gives back (elasticity 0).
NO_RESPONSE = Responses(
    visit_uplift=0.0,
    check_uplift=0.0,
    take_up=1.0,
    never_join=0.0,
    selection=0.0,
    card_use=1.0,
    bunching_prob=0.0,
    goal_gradient=0.0,
    redemption=1.0,
    referral_rate=0.0,
    giveback_elasticity=0.0,
)
COSTS = FixedCosts(cards_printed=0, card_print_cost=10.0, setup_cost=1000.0, communications_per_member_month=2.0)


def one_customer(rate_per_year=365.0, check=100.0):
    return Population.fixed([rate_per_year], [check])


def crowd(n=400, seed=3):
    rng = np.random.default_rng(seed)
    return Population.fixed(
        rng.gamma(1.0, 12.0, n), np.exp(np.log(1200) + 0.5 * rng.standard_normal(n)), check_sigma=0.5
    )


def test_tier_rate_by_hand():
    # thresholds 1500 / 5000 / 15000 at 5 / 7 / 10 %: a check of 1499.99 has no discount, 1500 has 5 %
    thr, rates = np.array([1500.0, 5000.0, 15000.0]), np.array([0.05, 0.07, 0.10])
    got = _tier_rate(np.array([1499.99, 1500.0, 4999.0, 5000.0, 20000.0]), thr, rates)
    assert got.tolist() == [0.0, 0.05, 0.05, 0.07, 0.10]


def test_stamp_rewards_are_one_per_full_card():
    # one customer, every visit with the card: a reward of 300 per 10 stamps; the balance is redeemed
    # in the period it fills, so what is left at the end is less than a card: 300 * floor(visits / 10)
    out = simulate(one_customer(), [StampCard(10, 300.0, costs=COSTS)], NO_RESPONSE, seed=4).iloc[0]
    assert out["card_visits"] > 100
    assert out["rewards"] == 300.0 * np.floor(out["card_visits"] / 10)
    assert out["rewards_owed_at_end"] == 30.0 * (out["card_visits"] % 10)


def test_points_by_hand():
    # a check of 100 earns 0.1 * 100 = 10 points; redeemed by 50 at 1 each: 50 * floor(10 * visits / 50)
    out = simulate(one_customer(), [Points(0.1, 1.0, 50.0, 0, costs=COSTS)], NO_RESPONSE, seed=5).iloc[0]
    assert out["rewards"] == pytest.approx(50.0 * np.floor(10 * out["card_visits"] / 50))


def test_unredeemed_points_lapse_at_expiry_and_cost_nothing():
    r = NO_RESPONSE.with_(redemption=0.0)
    out = simulate(one_customer(), [Points(0.1, 1.0, 50.0, 30, costs=COSTS)], r, seed=6).iloc[0]
    earned = 10 * out["card_visits"]  # points, worth 1 each
    assert out["rewards"] == 0 and out["rewards_owed_at_end"] == 0
    assert out["breakage"] == pytest.approx(earned)  # lapsed at expiry, or never to be redeemed


def test_discount_is_the_tier_rate_of_every_card_check():
    # checks of exactly 2000 (no scatter), 5 % from 1500: the discount is 100 per card visit
    out = simulate(one_customer(check=2000.0), [TieredDiscount((1500.0,), (0.05,), costs=COSTS)], NO_RESPONSE, seed=7)
    row = out.iloc[0]
    assert row["discounts"] == pytest.approx(100.0 * row["card_visits"])


def test_bunching_moves_checks_below_a_threshold_to_just_above_it():
    # checks of 1400 sit within 15 % below 1500: all topped up (prob 1) to 1500 .. 1575
    r = NO_RESPONSE.with_(bunching_prob=1.0)
    out = simulate(one_customer(check=1400.0), [TieredDiscount((1500.0,), (0.0,))], r, seed=8).iloc[0]
    extra_per_visit = out["incremental_gross"] / out["card_visits"]
    assert 100.0 <= extra_per_visit <= 175.0


def test_without_a_response_a_program_only_costs():
    variants = [TieredDiscount((500.0,), (0.05,), costs=COSTS), StampCard(10, 300.0, costs=COSTS)]
    out = simulate(crowd(), variants, NO_RESPONSE, seed=9)
    assert (out["incremental_gross"] == 0).all() and (out["incremental_visits"] == 0).all()
    assert out["roi_pct"].tolist() == [-100.0, -100.0]


def test_more_discount_with_the_same_response_lowers_roi():
    r = NO_RESPONSE.with_(visit_uplift=0.1, check_uplift=0.05)
    low = TieredDiscount((1000.0, 3000.0), (0.03, 0.05), name="low", costs=COSTS)
    high = TieredDiscount((1000.0, 3000.0), (0.06, 0.10), name="high", costs=COSTS)
    out = simulate(crowd(), [low, high], r, seed=10).set_index("variant")
    assert out.at["high", "discounts"] > out.at["low", "discounts"]
    assert out.at["high", "roi_pct"] < out.at["low", "roi_pct"]
    # the same members, visits and revenue: only the discount differs
    assert out.at["high", "incremental_gross"] == out.at["low", "incremental_gross"]


def test_richer_earn_rates_cost_more():
    r = NO_RESPONSE.with_(visit_uplift=0.05)
    variants = [Points(rate, 1.0, 200.0, 0, name=f"earn {rate}", costs=COSTS) for rate in (0.01, 0.03, 0.05)]
    out = simulate(crowd(), variants, r, seed=11)
    assert out["rewards"].is_monotonic_increasing and out["rewards"].iloc[0] < out["rewards"].iloc[-1]
    assert out["cost_total"].is_monotonic_increasing


def test_zero_discount_variants_cost_only_their_fixed_costs():
    r = NO_RESPONSE.with_(visit_uplift=0.1, bunching_prob=0.3, goal_gradient=0.3)
    variants = [
        TieredDiscount((1000.0,), (0.0,), name="zero tiers", costs=COSTS),
        StampCard(10, 0.0, name="free stamps", costs=COSTS),
        Points(0.05, 0.0, 100.0, 0, name="worthless points", costs=COSTS),
    ]
    out = simulate(crowd(), variants, r, seed=12)
    fixed = out["members"] * COSTS.card_print_cost + COSTS.setup_cost + 2.0 * out["member_months"]
    assert np.allclose(out["cost_total"], fixed, rtol=1e-12)
    assert (out[["discounts", "rewards", "referral_bonuses"]] == 0).all().all()


def test_no_program_is_the_baseline_and_costs_nothing():
    out = simulate(crowd(), [NoProgram(name="none"), TieredDiscount((1000.0,), (0.05,))], NO_RESPONSE, seed=13)
    base = out.iloc[0]
    assert base["members"] == 0 and base["cost_total"] == 0 and base["incremental_gross"] == 0
    assert np.isnan(base["roi_pct"])
    # common random numbers: every variant of a seed has the same no-program world
    assert out["visits_baseline"].nunique() == 1 and out["gross_baseline"].nunique() == 1


def test_results_reproduce_per_seed_and_differ_between_seeds():
    args = (crowd(), [StampCard(8, 200.0, costs=COSTS)], NO_RESPONSE.with_(visit_uplift=0.1, take_up=0.2))
    a, b, c = simulate(*args, seed=1), simulate(*args, seed=1), simulate(*args, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not a.drop(columns="seed").equals(c.drop(columns="seed"))


def test_printed_cards_cap_the_members():
    capped = FixedCosts(cards_printed=25, card_print_cost=10.0)
    out = simulate(crowd(), [TieredDiscount((1000.0,), (0.05,), costs=capped)], NO_RESPONSE, seed=14).iloc[0]
    assert out["members"] == 25 and out["printing"] == 250.0


def test_heavier_buyers_join_more_under_self_selection():
    pop = crowd(2000)
    r = NO_RESPONSE.with_(take_up=0.002)
    v = [TieredDiscount((1000.0,), (0.05,))]
    flat = simulate(pop, v, r.with_(selection=0.0), seed=15).iloc[0]
    steep = simulate(pop, v, r.with_(selection=1.5), seed=15).iloc[0]
    # every member shows the card at every visit: card visits per member-month is the members' visit rate
    rate = lambda row: row["card_visits"] / row["member_months"]  # noqa: E731
    assert rate(steep) > 1.2 * rate(flat)


def test_referral_brings_newcomers_and_pays_their_bonus():
    r = NO_RESPONSE.with_(referral_rate=2.0, referral_deadweight=0.0)
    out = simulate(crowd(), [Referral(50.0, 20.0, costs=COSTS)], r, seed=16).iloc[0]
    assert out["referred_newcomers"] > 0
    assert out["referral_bonuses"] == 70.0 * out["referred_newcomers"]
    assert out["incremental_gross"] > 0  # newcomers' purchases; no uplift of members' own visits
    alone = simulate(crowd(), [Referral(50.0, costs=COSTS)], r.with_(referral_rate=0.0), seed=16).iloc[0]
    assert alone["incremental_gross"] == 0


def test_a_sample_stands_for_the_whole_population():
    # 400 simulated customers for 4,000: totals x10, printing and set-up unchanged, the cap / 10
    costs = FixedCosts(cards_printed=1000, card_print_cost=1.0, setup_cost=500.0)
    v = [TieredDiscount((1000.0,), (0.05,), costs=costs)]
    out = simulate(crowd(), v, NO_RESPONSE, seed=17, n_customers=400, population_size=4000).iloc[0]
    assert out["members"] <= 1000 and out["members"] % 10 == 0
    assert out["printing"] == 1000.0 and out["setup"] == 500.0


def test_combined_card_adds_its_parts_costs():
    tiers, stamps = TieredDiscount((1000.0,), (0.05,)), StampCard(10, 300.0)
    parts = simulate(crowd(), [tiers, stamps, Combined((tiers, stamps))], NO_RESPONSE, seed=18)
    assert parts["discounts"].iloc[2] == parts["discounts"].iloc[0]
    assert parts["rewards"].iloc[2] == parts["rewards"].iloc[1]


def test_run_and_summarise_give_mean_and_spread_per_variant():
    res = run(crowd(), [NoProgram(name="none"), StampCard(10, 300.0, costs=COSTS)], NO_RESPONSE, n_seeds=4)
    assert len(res) == 8 and sorted(res["seed"].unique()) == [0, 1, 2, 3]
    s = summarise(res)
    row = s.loc[(StampCard(10, 300.0).label, "cost_total")]
    assert row["ci_low"] <= row["estimate"] <= row["ci_high"] and row["n"] == 4


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"margin": 0.0}, "margin"),
        ({"horizon_days": 0}, "horizon_days"),
    ],
)
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate(crowd(), [NoProgram()], NO_RESPONSE, **kwargs)


def test_variants_need_distinct_names():
    with pytest.raises(ValueError, match="names must differ"):
        simulate(crowd(), [StampCard(10, 1.0), StampCard(10, 1.0)], NO_RESPONSE)


def test_a_more_generous_card_gets_more_of_the_measured_uplift():
    # uplifts measured for a program giving back 5 %; with elasticity 1 a 10 % card gets twice the
    # extra visits of a 5 % one (capped at three times), a card giving nothing gets none
    r = NO_RESPONSE.with_(visit_uplift=0.1, giveback_reference=0.05, giveback_elasticity=1.0)
    v = [TieredDiscount((1.0,), (rate,), name=f"{rate}") for rate in (0.0, 0.05, 0.10, 0.5)]
    out = simulate(crowd(), v, r, seed=19).set_index("variant")["incremental_visits"]
    assert out["0.0"] == 0
    assert out["0.1"] / out["0.05"] == pytest.approx(2.0, rel=0.2)
    assert out["0.5"] / out["0.05"] == pytest.approx(3.0, rel=0.2)
