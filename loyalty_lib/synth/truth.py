"""Truth piece: write down every effect the generator planted (see docs/ground_truth.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

from loyalty_lib.dataset import Dataset
from loyalty_lib.metrics.impact import card_months
from loyalty_lib.synth.arrays import rank_within
from loyalty_lib.synth.population import DISTRICTS, FEMALE_SHARE, age_distribution
from loyalty_lib.synth.scenario import Scenario

MONTH_DAYS = 365.25 / 12


def _member_rate_factor(sc: Scenario) -> float:
    """Mean visit-rate multiplier of an active holder over a stamp cycle."""
    if sc.reward == "stamps" and sc.goal_gradient:
        return (1 + sc.uplift_frequency) * float(np.mean(np.exp(sc.goal_gradient * np.arange(sc.reward_every))))
    return 1 + sc.uplift_frequency


def _per(total: float, denominator: float) -> float:
    """``total / denominator`` as a float, NaN when the denominator is 0 (nothing to average over)."""
    return float(total / denominator) if denominator else float("nan")


def effective_rate(latent, activator, t_issue, cust, t, sc: Scenario) -> np.ndarray:
    """Visit rate (per day) in force at time ``t`` for customer rows ``cust``."""
    r = latent["rate"].to_numpy()[cust]
    member_now = activator[cust] & (t >= t_issue[cust])
    return np.where(member_now, r * _member_rate_factor(sc), r)


def return_curve(latent, visits, activator, t_issue, sc: Scenario, k_max: int = 10) -> dict:
    """Mean planted probability of a next visit within the horizon, by visit number k.

    Only customers whose first purchase is inside the data and k-th visits at least the
    horizon before the data end count, which is exactly the estimable target.
    """
    H = sc.return_horizon_days
    days = sc.pre_days + sc.post_days
    new = latent["arrival_day"].to_numpy() >= 0
    v = visits[new[visits["cust"].to_numpy()]].sort_values(["cust", "t"], kind="stable")
    cust, t = v["cust"].to_numpy(), v["t"].to_numpy()
    k = rank_within(cust) + 1
    p = 1 - np.exp(-effective_rate(latent, activator, t_issue, cust, t, sc) * H)
    ok = t <= days - H
    frame = pd.DataFrame({"k": k[ok], "p": p[ok]})
    curve = frame[frame["k"] <= k_max].groupby("k")["p"].mean()
    return {str(int(i)): float(x) for i, x in curve.items()}


def satisfaction_odds_ratio(ds: Dataset, latent, activator, t_issue, sc: Scenario) -> float:
    """Population odds ratio per NPS point of a purchase within the horizon after a survey.

    The planted probability of returning, ``1 - exp(-rate * horizon)``, is regressed on the NPS
    answer with a fractional logit (binomial GLM), the same specification an analyst fits to
    the observed 0/1 returns.
    """
    H = sc.satisfaction_horizon_days
    s = ds.surveys
    s = s[s["date"] <= sc.t_end - pd.Timedelta(days=H)]
    if len(s) < 20:
        return float("nan")
    cust = (s["customer_id"].to_numpy() - 1).astype(np.int64)
    t = (s["date"] - sc.t_start).dt.total_seconds().to_numpy() / 86400
    p = 1 - np.exp(-effective_rate(latent, activator, t_issue, cust, t, sc) * H)
    X = sm.add_constant(s["nps"].to_numpy(dtype=float))
    fit = sm.GLM(p, X, family=sm.families.Binomial()).fit()
    return float(np.exp(fit.params[1]))


def _bgnbd_truth(sc: Scenario) -> dict | None:
    """BG/NBD parameters (time unit: days) when the world is exactly that model, else ``None``."""
    pure = (
        sc.dropout_a is not None
        and sc.b2b_share == 0
        and sc.satisfaction_effect == 0
        and sc.printed_cards == 0
        and sc.max_rate >= 1e6
    )
    if not pure:
        return None
    return {
        "r": sc.b2c_rate_shape,
        "alpha": sc.b2c_rate_shape * 365.0 / sc.b2c_rate_mean,
        "a": sc.dropout_a,
        "b": sc.dropout_b,
    }


def ground_truth(
    ds: Dataset,
    sc: Scenario,
    *,
    seed,
    n_customers,
    n_printed,
    latent,
    visits,
    joins,
    offer_rate,
    bunched,
    truth_tx,
    contacts,
    activator,
    t_issue,
) -> dict:
    """Assemble the ground-truth dict (JSON-ready)."""
    from loyalty_lib.synth.enrollment import stock_out_date

    tx = ds.transactions
    days = sc.pre_days + sc.post_days
    t = visits["t"].to_numpy()
    cust = visits["cust"].to_numpy()
    delta = tx["amount"].to_numpy() - truth_tx["cf_amount"].to_numpy()
    delta_gross = tx["gross_amount"].to_numpy() - truth_tx["cf_gross_amount"].to_numpy()
    incremental = truth_tx["incremental"].to_numpy()

    member = np.isfinite(t_issue)
    post_issue = member[cust] & (t > t_issue[cust])
    member_months = float(np.sum(np.maximum(days - t_issue[member], 0.0)) / MONTH_DAYS)
    both_worlds = post_issue & ~incremental
    established = latent["established"].to_numpy()
    est_members = established & member
    did_cells = est_members[cust] & (t >= sc.pre_days)
    n_est_members = int(est_members.sum())
    post_months = len(pd.date_range(sc.t_launch, sc.t_end, freq="MS", inclusive="left"))

    # time with a card: from the day after the card was handed out (the estimand of the
    # imputation DiD; the issue day, with the receipt at which the card was handed out, is before)
    issue_day = np.floor(t_issue)
    with_card = member[cust] & (np.floor(t) > issue_day[cust])
    card_mm = np.zeros(len(t_issue))
    card_mm[member] = card_months(sc.t_start + pd.to_timedelta(issue_day[member], unit="D"), sc.t_end)
    est_card = with_card & established[cust]
    est_card_mm = float(card_mm[est_members].sum())

    cost = ds.program_costs
    cost_total = float(cost["amount"].sum())
    post = t >= sc.pre_days
    inc_gross = float(delta_gross[post].sum())
    inc_net = float(delta[post].sum())
    inc_card = float(delta_gross[with_card].sum())

    seller_channel = pd.Series(
        np.where(offer_rate.index.str.startswith("DLV"), "delivery", "offline"), index=offer_rate.index
    )
    m = _member_rate_factor(sc)
    uplift = {}
    if len(contacts):
        r = latent["rate"].to_numpy()[contacts["cust"].to_numpy().astype(np.int64)]
        act = activator[contacts["cust"].to_numpy().astype(np.int64)]
        p_organic = 1 - np.exp(-np.where(act, r * m, r) * sc.response_window_days)
        p_extra = (
            contacts["offer_type"].map(sc.extra_visit_prob).to_numpy()
            * contacts["channel"].map(sc.channel_multiplier).to_numpy()
        )
        cell = pd.DataFrame(
            {"type": contacts["offer_type"], "channel": contacts["channel"], "u": p_extra * (1 - p_organic)}
        )
        for (ot, ch), u in cell.groupby(["type", "channel"])["u"].mean().items():
            uplift.setdefault(ot, {})[ch] = float(u)

    return {
        "scenario": sc.name,
        "seed": int(seed),
        "n_customers": int(n_customers),
        "period": {
            "start": sc.t_start.date().isoformat(),
            "launch": sc.t_launch.date().isoformat(),
            "end": sc.t_end.date().isoformat(),
        },
        "printed_cards": int(n_printed),
        "cards_issued": int(len(joins)),
        "stock_out_date": stock_out_date(joins, n_printed, sc),
        "tiers": {"thresholds": list(sc.tier_thresholds), "rates": list(sc.tier_rates)},
        "enrollment": {
            "offer_rate_by_seller": {k: float(v) for k, v in offer_rate.items()},
            "offer_rate_by_channel": {k: float(v) for k, v in offer_rate.groupby(seller_channel).mean().items()},
            "accept_prob_at_mean_rate": sc.accept_prob_at_mean,
            "activation_prob": sc.activation_prob,
        },
        "uplift": {"frequency_pct": 100 * sc.uplift_frequency, "check_pct": 100 * sc.uplift_check},
        "visit_rates": {
            "gamma_shape": {"b2c": sc.b2c_rate_shape, "b2b": sc.b2b_rate_shape},
            "mean_per_year": {"b2c": sc.b2c_rate_mean, "b2b": sc.b2b_rate_mean},
            "satisfaction_log_rate_per_sd": sc.satisfaction_effect,
            "cap_per_year": sc.max_rate,
        },
        "dropout": None if sc.dropout_a is None else {"beta_a": sc.dropout_a, "beta_b": sc.dropout_b},
        "bgnbd": _bgnbd_truth(sc),
        "selection": {"accept_log_odds_per_log_rate": sc.accept_log_odds_per_log_rate},
        "return_curve": {
            "horizon_days": sc.return_horizon_days,
            "p_return_within_horizon": return_curve(latent, visits, activator, t_issue, sc),
            "design_note": (
                "b2c visit rates are gamma(0.222) so that about 40 % return after a first visit "
                "and 80 % after a second (Fivestars)"
            ),
        },
        "bunching": {
            "window_pct": 100 * sc.bunching_window,
            "landing_pct": 100 * sc.bunching_landing,
            "top_up_prob": sc.bunching_prob,
            "moved_checks": {f"{thr:g}": int(np.sum(bunched == k)) for k, thr in enumerate(sc.tier_thresholds)},
        },
        "goal_gradient": {
            "reward": sc.reward,
            "reward_every": sc.reward_every if sc.reward == "stamps" else None,
            "log_rate_per_stamp": sc.goal_gradient if sc.reward == "stamps" else 0.0,
            "log_gap_per_stamp": -sc.goal_gradient if sc.reward == "stamps" else 0.0,
            "reward_value": sc.reward_value,
        },
        "campaigns": {
            "response_window_days": sc.response_window_days,
            "holdout_share": sc.holdout_share,
            "extra_visit_prob": {
                ot: {ch: p * sc.channel_multiplier[ch] for ch in sc.channel_multiplier}
                for ot, p in sc.extra_visit_prob.items()
            },
            "uplift": uplift,
        },
        "population": {
            "b2b_share": sc.b2b_share,
            "female_share_b2c": FEMALE_SHARE,
            "districts": [str(d) for d in DISTRICTS],
            "age_distribution_b2c": age_distribution(),
        },
        "taste": {"repertoire_share": sc.repertoire_share, "repertoire_size": sc.repertoire_size},
        "satisfaction": {
            "log_rate_per_sd": sc.satisfaction_effect,
            "horizon_days": sc.satisfaction_horizon_days,
            "odds_ratio_per_nps_point": satisfaction_odds_ratio(ds, latent, activator, t_issue, sc),
        },
        "impact": {
            "att_revenue_per_member_month": _per(delta[post_issue].sum(), member_months),
            "att_visits_per_member_month": _per(incremental[post_issue].sum(), member_months),
            "att_check": float(delta[both_worlds].mean()) if both_worlds.any() else float("nan"),
            "did_revenue_per_customer_month": _per(delta[did_cells].sum(), (n_est_members * post_months)),
            "did_visits_per_customer_month": _per(incremental[did_cells].sum(), (n_est_members * post_months)),
            "member_months": member_months,
            "n_established_members": n_est_members,
            "card_revenue_per_member_month": _per(delta[est_card].sum(), est_card_mm),
            "card_visits_per_member_month": _per(incremental[est_card].sum(), est_card_mm),
            "card_gross_per_member_month": _per(delta_gross[est_card].sum(), est_card_mm),
            "card_member_months": est_card_mm,
        },
        "program": {
            "incremental_gross_revenue": inc_gross,
            "incremental_net_revenue": inc_net,
            "discounts_given": float(tx["discount_amount"].sum()),
            "cost_total": cost_total,
            "cost_by_category": {k: float(v) for k, v in cost.groupby("category")["amount"].sum().items()},
            "margin": sc.margin,
            "roi_pct": float((sc.margin * inc_gross - cost_total) / cost_total * 100) if cost_total else float("nan"),
            "incremental_gross_revenue_with_card": inc_card,
            "member_months_with_card": float(card_mm.sum()),
            "roi_pct_with_card": _per(100 * (sc.margin * inc_card - cost_total), cost_total),
        },
    }
