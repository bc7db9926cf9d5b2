"""Stage 01, the metrics map: which metric Sergey measures first, when, and why.

:func:`metrics_map` holds the answer to the case question as data: one row per metric, by
stage of the client journey (card offered → issued → first use → repeat use → after use →
program level), with when and how to measure it, the notebook and library function that
compute it, and why it comes at that point. :func:`headline_figures` computes the few numbers
the map quotes by calling the stage modules (``enrollment``, ``activity``, ``basket``,
``satisfaction``, ``impact``) on a :class:`~loyalty_lib.dataset.Dataset`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["JOURNEY_STAGES", "MAP_COLUMNS", "FIGURE_COLUMNS", "headline_figures", "metrics_map"]

#: Stages of the client journey, in the order a client (and the program) passes them.
JOURNEY_STAGES = (
    "card offered",
    "card issued",
    "first use",
    "repeat use",
    "after use",
    "program level",
)

MAP_COLUMNS = [
    "order",
    "stage",
    "metric",
    "key",
    "when",
    "how",
    "notebook",
    "function",
    "why_first",
]

FIGURE_COLUMNS = [
    "key",
    "stage",
    "figure",
    "estimate",
    "ci_low",
    "ci_high",
    "n",
    "unit",
    "truth",
    "notebook",
]

_MAP = [
    {
        "stage": "card offered",
        "metric": "Cards issued per eligible purchase, by seller and channel",
        "key": "issue_rate",
        "when": "From the launch day, daily; reviewed weekly per seller and courier",
        "how": "Buyers since launch who got a card (funnel step); per seller: cards handed out "
        "/ purchases by clients without a card (league table with shrinkage)",
        "notebook": "02_enrollment",
        "function": "enrollment.funnel, enrollment.seller_league",
        "why_first": "Nothing else can be measured before cards reach hands. Sellers and couriers "
        "decide who is offered a card, so this is the first lever and the first "
        "bottleneck; a weak seller is visible within days.",
    },
    {
        "stage": "card issued",
        "metric": "Cards handed out vs the 10,000 printed; projected stock-out date; b2c/b2b and offline/delivery mix",
        "key": "stock_used",
        "when": "Weekly from launch",
        "how": "Count of issued cards / printed stock; stock-out date projected from the recent pace with an interval",
        "notebook": "02_enrollment",
        "function": "enrollment.stock_burndown, enrollment.stock_projection",
        "why_first": "The printed stock is finite: reorder before it runs out. The issued base is "
        "the denominator of every later rate.",
    },
    {
        "stage": "first use",
        "metric": "Activation rate: issued cards used at least once; days to first use",
        "key": "activation_rate",
        "when": "From the first weeks; read at fixed days after issue (Kaplan-Meier for cards still waiting)",
        "how": "Holders with a card receipt after the issue day / holders (Wilson CI)",
        "notebook": "02_enrollment",
        "function": "enrollment.funnel, enrollment.time_to_activation",
        "why_first": "The earliest signal that the card has value to the client: a card that is "
        "never shown costs printing and a seller's time and changes nothing.",
    },
    {
        "stage": "repeat use",
        "metric": "Repeat use and the return curve: P(visit k+1 | visit k), active members, visit frequency",
        "key": "return_after_first",
        "when": "As soon as the first cohort has had the horizon (e.g. 3-6 months) to come back",
        "how": "Share of k-th visits followed by another within the horizon, only visits with "
        "the full horizon observed",
        "notebook": "03_activity",
        "function": "activity.return_curve, enrollment.funnel",
        "why_first": "Return is what the program is for. Most first-time buyers never come back, "
        "but after a second visit most do: the step from visit 1 to 2 is where the "
        "card must work.",
    },
    {
        "stage": "repeat use",
        "metric": "Average check and items per check, members vs non-members; bunching of checks "
        "just above each discount tier; discount cost by tier",
        "key": "member_check",
        "when": "Monthly once members have repeat purchases",
        "how": "Ratio of sums with a customer-clustered CI; excess mass above each threshold "
        "against a polynomial counterfactual (bootstrap CI); sum of discounts",
        "notebook": "04_average_check",
        "function": "basket.check_summary, basket.bunching, basket.discount_cost",
        "why_first": "Sergey's discount is tiered by check size, so the tiers are meant to move "
        "the check: bunching shows directly whether clients top up to reach a "
        "tier, and the discount cost is the price paid for it.",
    },
    {
        "stage": "after use",
        "metric": "NPS and CSAT after the first use and after repeat purchases; does satisfaction predict return",
        "key": "nps_after_first_use",
        "when": "A short survey a day or two after the first card use, again after a repeat "
        "purchase, then periodically",
        "how": "% promoters - % detractors with a customer bootstrap; logistic regression of "
        "returning within the horizon on the NPS answer (odds ratio)",
        "notebook": "05_satisfaction",
        "function": "satisfaction.nps, satisfaction.csat, satisfaction.retention_logit",
        "why_first": "Explains the activation and repeat numbers: a detractor after the first use "
        "is an early warning of a client who will not return, while there is still "
        "time to call back.",
    },
    {
        "stage": "program level",
        "metric": "Incremental revenue caused by the card (difference-in-differences timed from "
        "the day each card was handed out, pre vs post)",
        "key": "did_revenue",
        "when": "Plan on day one (keep receipts of non-members, keep 12 months of history before "
        "the launch); estimate after 6-12 months",
        "how": "Members' revenue with the card minus their own pre-launch level and the change "
        "all customers show before their card, customer bootstrap",
        "notebook": "06_impact",
        "function": "impact.customer_month_panel, impact.did_imputation",
        "why_first": "The naive member/non-member gap is biased by self-selection (heavy buyers "
        "join). The causal estimate needs a pre-period and a control group, which "
        "cannot be created afterwards: collect them from the start.",
    },
    {
        "stage": "program level",
        "metric": "ROI = (incremental margin - program cost) / program cost",
        "key": "roi",
        "when": "Quarterly, once the incremental revenue is estimated",
        "how": "Margin on the DiD incremental revenue minus the cost ledger (cards, discounts, staff, communications)",
        "notebook": "07_roi_clv",
        "function": "roi.roi_estimate, roi.cost_ledger",
        "why_first": "The last question, answerable only when all the above exist: is the program worth its cost?",
    },
]


def metrics_map() -> pd.DataFrame:
    """Return the metrics map: which metric, at which stage, when, how, where, and why first.

    Returns
    -------
    pandas.DataFrame
        One row per metric in the order Sergey introduces them, columns :data:`MAP_COLUMNS`:
        ``order`` (1, 2, ...), ``stage`` (one of :data:`JOURNEY_STAGES`), ``metric``, ``key``
        (the matching row of :func:`headline_figures`), ``when``, ``how``, ``notebook``,
        ``function`` and ``why_first``.

    Examples
    --------
    >>> metrics_map()["stage"].iloc[0]
    'card offered'
    """
    out = pd.DataFrame(_MAP)
    out.insert(0, "order", np.arange(1, len(out) + 1))
    out["stage"] = pd.Categorical(out["stage"], categories=list(JOURNEY_STAGES), ordered=True)
    return out[MAP_COLUMNS]


def _row(key, stage, figure, est, lo=np.nan, hi=np.nan, n=np.nan, unit="", truth=np.nan, notebook=""):
    return {
        "key": key,
        "stage": stage,
        "figure": figure,
        "estimate": float(est),
        "ci_low": float(lo),
        "ci_high": float(hi),
        "n": float(n),
        "unit": unit,
        "truth": float(truth),
        "notebook": notebook,
    }


def headline_figures(
    ds,
    *,
    tier_thresholds: Sequence[float] | None = None,
    return_horizon_days: int | None = None,
    survey_horizon_days: int = 90,
    n_boot: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Compute the figures the metrics map quotes, by calling each stage's library functions.

    Parameters
    ----------
    ds : loyalty_lib.dataset.Dataset
        The data (synthetic, with truth, or a shop's own).
    tier_thresholds : sequence of float, optional
        Check-size tiers for the bunching figure; default the planted ones on synthetic data,
        else 1,500 / 5,000 / 15,000 RUB.
    return_horizon_days : int, optional
        Horizon of the return curve; default the planted ``return_curve.horizon_days`` on
        synthetic data, else 180.
    survey_horizon_days : int
        Return window after a survey (for the odds ratio).
    n_boot, seed
        Bootstrap settings.

    Returns
    -------
    pandas.DataFrame
        One row per figure, columns :data:`FIGURE_COLUMNS`: ``key`` (as in
        :func:`metrics_map`; several figures may share a key's stage), ``stage``, ``figure``
        (a label), ``estimate, ci_low, ci_high, n``, ``unit`` (``"%"`` for shares, ``"RUB"``,
        ``"count"``, ``"points"``, ``""``), ``truth`` (planted value or NaN) and ``notebook``.
        Figures whose table is missing (no surveys) or whose module is not available are left
        out.
    """
    from loyalty_lib.metrics import activity, basket, enrollment, satisfaction

    truth = ds.truth
    tx, cards = ds.transactions, ds.cards
    if truth:
        start, launch, end = (pd.Timestamp(truth["period"][k]) for k in ("start", "launch", "end"))
    else:
        start = tx["date"].min().normalize()
        launch = pd.to_datetime(cards["issued_date"]).min().normalize()
        end = tx["date"].max().normalize() + pd.Timedelta(days=1)
    thresholds = list(tier_thresholds or (truth["tiers"]["thresholds"] if truth else basket.DEFAULT_THRESHOLDS))
    H = int(return_horizon_days or (truth["return_curve"]["horizon_days"] if truth else 180))
    rows = []

    # card offered / issued / first use / repeat: the enrollment funnel
    fun = enrollment.funnel(tx, cards, launch=launch, end=end)
    for key, step, stage, label in [
        ("issue_rate", "card_issued", "card offered", "Buyers since launch who got a card"),
        ("activation_rate", "activated", "first use", "Issued cards used at least once"),
        ("repeat_use_rate", "repeat_use", "repeat use", "Activated cards used again"),
    ]:
        r = fun.loc[step]
        rows.append(
            _row(key, stage, label, r["estimate"], r["ci_low"], r["ci_high"], r["n"], "%", notebook="02_enrollment")
        )
    printed = int(truth["printed_cards"]) if truth else int(len(cards))
    issued = int(cards["customer_id"].notna().sum())
    rows.append(
        _row(
            "stock_used",
            "card issued",
            f"Printed cards handed out (of {printed:,})",
            issued / printed if printed else np.nan,
            n=printed,
            unit="%",
            notebook="02_enrollment",
        )
    )

    # repeat use: the return curve of customers whose first purchase is inside the data
    new = ds.customers.loc[pd.to_datetime(ds.customers["first_seen"]) >= start, "customer_id"]
    curve = activity.return_curve(tx, horizon_days=H, end=end, k_max=2, customers=new)
    planted_curve = truth["return_curve"]["p_return_within_horizon"] if truth else {}
    for k, label in [(1, "after a first visit"), (2, "after a second visit")]:
        if k in curve.index:
            r = curve.loc[k]
            rows.append(
                _row(
                    "return_after_first" if k == 1 else "return_after_second",
                    "repeat use",
                    f"Come back within {H} days {label}",
                    r["estimate"],
                    r["ci_low"],
                    r["ci_high"],
                    r["n"],
                    "%",
                    planted_curve.get(str(k), np.nan),
                    "03_activity",
                )
            )

    # repeat use: the basket
    lab = basket.label_receipts(tx, cards, thresholds=thresholds)
    post = lab[lab["post_launch"]]
    checks = basket.check_summary(post, by="status", items_col=None)
    m = checks[(checks["metric"] == "net_check") & (checks["status"] == "member")]
    if len(m):
        r = m.iloc[0]
        rows.append(
            _row(
                "member_check",
                "repeat use",
                "Members' average net check",
                r["estimate"],
                r["ci_low"],
                r["ci_high"],
                r["n"],
                "RUB",
                notebook="04_average_check",
            )
        )
    if {"member", "non_member"} <= set(checks["status"]):
        g = basket.group_difference(checks, metric="net_check").iloc[0]
        rows.append(
            _row(
                "member_check_gap",
                "repeat use",
                "Member minus non-member net check (naive, self-selected)",
                g["estimate"],
                g["ci_low"],
                g["ci_high"],
                g["n"],
                "RUB",
                notebook="04_average_check",
            )
        )
    card = lab[lab["card_id"].notna()]
    if len(card):
        moved = {float(k): v for k, v in truth["bunching"]["moved_checks"].items()} if truth else {}
        b = basket.bunching(card, thresholds, n_boot=n_boot, seed=seed)
        for t, r in b.iterrows():
            rows.append(
                _row(
                    f"bunching_{t:g}",
                    "repeat use",
                    f"Checks topped up over {t:,.0f} RUB (excess mass)",
                    r["estimate"],
                    r["ci_low"],
                    r["ci_high"],
                    r["n"],
                    "count",
                    moved.get(t, np.nan),
                    "04_average_check",
                )
            )
    cost = basket.discount_cost(post)
    rows.append(
        _row(
            "discount_share",
            "program level",
            "Discounts as a share of gross revenue",
            cost["share_of_revenue"].iloc[-1],
            n=len(post),
            unit="%",
            notebook="04_average_check",
        )
    )

    # after use: satisfaction
    if ds.has("surveys"):
        sv = ds.surveys
        nps = satisfaction.nps(sv, by="stage", n_boot=n_boot, seed=seed).set_index("stage")
        if "after_first_use" in nps.index:
            r = nps.loc["after_first_use"]
            rows.append(
                _row(
                    "nps_after_first_use",
                    "after use",
                    "NPS after the first card use",
                    r["estimate"],
                    r["ci_low"],
                    r["ci_high"],
                    r["n"],
                    "points",
                    notebook="05_satisfaction",
                )
            )
        ret = satisfaction.retention_frame(sv, tx, horizon_days=survey_horizon_days, data_end=end)
        el = ret[ret["eligible"]]
        if len(el) >= 30 and el["returned"].nunique() == 2:
            r = satisfaction.retention_logit(el, controls=()).loc["nps"]
            t_or = (
                truth["satisfaction"]["odds_ratio_per_nps_point"]
                if truth and truth["satisfaction"]["horizon_days"] == survey_horizon_days
                else np.nan
            )
            rows.append(
                _row(
                    "nps_return_odds_ratio",
                    "after use",
                    f"Odds ratio of returning within {survey_horizon_days} days per NPS point",
                    r["estimate"],
                    r["ci_low"],
                    r["ci_high"],
                    r["n"],
                    "",
                    t_or,
                    "05_satisfaction",
                )
            )

    # program level: the causal impact (DiD on established customers)
    rows += _did_rows(ds, start, launch, end, n_boot=n_boot, seed=seed)
    return pd.DataFrame(rows, columns=FIGURE_COLUMNS)


def _did_rows(ds, start, launch, end, *, n_boot: int, seed: int) -> list[dict]:
    """DiD revenue per member-month with a card, on customers who bought before the data start."""
    try:
        from loyalty_lib.metrics import impact
    except ImportError:  # pragma: no cover - the impact stage is optional for the map
        return []
    panel = impact.customer_month_panel(ds.transactions, customers=ds.customers, start=start, end=end, cards=ds.cards)
    panel = impact.add_treatment(panel, ds.cards, launch=launch)
    tc = ds.truth_tables.get("customers") if ds.truth_tables else None
    if tc is not None and "established" in tc:
        est_ids = tc.loc[tc["established"].astype(bool), "customer_id"]
    else:
        est_ids = ds.customers.loc[pd.to_datetime(ds.customers["first_seen"]) < start, "customer_id"]
    est = panel[panel["customer_id"].isin(est_ids)].reset_index(drop=True)
    if est["post"].nunique() < 2 or not (est["card_exposure"] > 0).any():
        return []
    d = impact.did_imputation(est, outcomes=["revenue"], n_boot=n_boot, seed=seed).loc["revenue"]
    t = impact.truth_value(ds.truth, "impact.card_revenue_per_member_month")
    return [
        _row(
            "did_revenue",
            "program level",
            "Net revenue caused per member-month with a card (DiD, established customers)",
            d["estimate"],
            d["ci_low"],
            d["ci_high"],
            d["n"],
            "RUB",
            t,
            "06_impact",
        )
    ]
