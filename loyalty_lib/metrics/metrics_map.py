"""Stage 01, the metrics map: which metric a loyalty program measures first, when, and why.

:func:`metrics_map` holds the answer to the case question as data: one row per metric, by
stage of the client journey (card offered → issued → first use → repeat use → after use →
program level), with when and how to measure it, the notebook and library function that
compute it, and why it comes at that point. :func:`headline_figures` computes the few numbers
the map quotes by calling the stage modules (``enrollment``, ``activity``, ``basket``,
``satisfaction``, ``impact``) on a :class:`~loyalty_lib.dataset.Dataset`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalty_lib.metrics._common import isin
from loyalty_lib.stats import format_number

__all__ = ["JOURNEY_STAGES", "MAP_COLUMNS", "FIGURE_COLUMNS", "headline_figures", "metrics_map"]

#: Fewest customers first seen inside the data for a return curve "from a first visit".
MIN_NEW_CUSTOMERS = 20

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
    "reason",
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
        "metric": "Cards handed out vs the printed stock; projected stock-out date; b2c/b2b and offline/delivery mix",
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
        "why_first": "Return is what the program is for. For new clients the step from the first "
        "to the second visit is where most are lost in published benchmarks; the curve "
        "measured on the data shows where this shop loses them.",
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
        "why_first": "Where the discount is tiered by check size, the tiers are meant to move "
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
        One row per metric in the order a program introduces them, columns :data:`MAP_COLUMNS`:
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


def _row(key, stage, figure, est, lo=np.nan, hi=np.nan, n=np.nan, unit="", truth=np.nan, notebook="", reason=""):
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
        "reason": reason,
    }


def _missing(key, stage, figure, unit, notebook, reason):
    """A figure the data cannot support: no estimate, and the plain reason why."""
    return _row(key, stage, figure, np.nan, unit=unit, notebook=notebook, reason=reason)


def headline_figures(ds, study, *, n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
    """Compute the figures the metrics map quotes, by calling each stage's library functions.

    Every date, threshold and horizon comes from ``study`` (a :class:`~loyalty_lib.study.Study`
    of the same data), and each figure is computed only when the study says the data support
    it; otherwise its row says why in ``reason``. Planted truth is not read here: put it beside
    the estimates with ``loyalty_lib.truth.annotate(frame, ds, "headline", ...)``.

    Parameters
    ----------
    ds : loyalty_lib.dataset.Dataset
        The data (synthetic or a shop's own).
    study : loyalty_lib.study.Study
        The study of ``ds``: window, launch, tiers, horizons, who is new and who is established.
    n_boot, seed
        Bootstrap settings.

    Returns
    -------
    pandas.DataFrame
        One row per figure, columns :data:`FIGURE_COLUMNS`: ``key`` (as in
        :func:`metrics_map`), ``stage``, ``figure`` (a label), ``estimate, ci_low, ci_high, n``,
        ``unit`` (``"%"`` for shares, the study's currency for money, ``"count"``,
        ``"points"``, ``""``), ``truth`` (NaN: filled by the truth layer), ``notebook`` and
        ``reason`` (why the estimate is missing; empty when there is one). Every key of the
        map but ``roi`` has at least one row; bunching has one per tier threshold.
    """
    from loyalty_lib.metrics import activity, basket, enrollment, satisfaction

    tx, cards = ds.transactions, ds.cards
    start, end = study.start, study.end
    launch = study.launch if study.launch is not None else start
    money = study.currency
    rows = []

    # card offered / issued / first use / repeat: the enrollment funnel
    steps = [
        ("issue_rate", "card_issued", "card offered", "Buyers since launch who got a card"),
        ("activation_rate", "activated", "first use", "Issued cards used at least once"),
        ("repeat_use_rate", "repeat_use", "repeat use", "Activated cards used again"),
    ]
    if study.can("enrollment_funnel"):
        fun = enrollment.funnel(tx, cards, launch=launch, end=end)
        for key, step, stage, label in steps:
            r = fun.loc[step]
            rows.append(
                _row(key, stage, label, r["estimate"], r["ci_low"], r["ci_high"], r["n"], "%", notebook="02_enrollment")
            )
    else:
        rows += [_missing(k, st, lab, "%", "02_enrollment", study.why("enrollment_funnel")) for k, _, st, lab in steps]
    issued = int(cards["customer_id"].notna().sum())
    if study.can("card_stock"):
        printed = study.printed_cards
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
    else:
        rows.append(
            _missing(
                "stock_used", "card issued", "Printed cards handed out", "%", "02_enrollment", study.why("card_stock")
            )
        )

    # repeat use: the return curve of customers whose first visit is inside the data
    H = study.return_horizon_days
    labels = [(1, "return_after_first", "after a first visit"), (2, "return_after_second", "after a second visit")]
    new = study.new_ids
    curve = None
    if not study.can("return_curve"):
        reason = study.why("return_curve")
    elif len(new) < MIN_NEW_CUSTOMERS:
        reason = (
            f"only {len(new):,} customers are first seen inside the data (the others were buying before it "
            "started), too few for a return curve from a first visit; see the plain return curve in 03"
        )
    elif not study.new_ids_known:
        reason = (
            "the data do not say who was buying before they start (no first-seen dates), so customers first seen "
            "a few weeks in may be established ones who buy rarely; 03 counts visits from the data start instead"
        )
    else:
        curve = activity.return_curve(tx, horizon_days=H, end=end, k_max=2, customers=new)
        reason = f"no {H}-day window after a first visit is complete before the data end"
    for k, key, label in labels:
        if curve is not None and k in curve.index and pd.notna(curve.loc[k, "estimate"]):
            r = curve.loc[k]
            rows.append(
                _row(
                    key,
                    "repeat use",
                    f"New clients coming back within {H} days {label}",
                    r["estimate"],
                    r["ci_low"],
                    r["ci_high"],
                    r["n"],
                    "%",
                    notebook="03_activity",
                )
            )
        else:
            rows.append(
                _missing(
                    key, "repeat use", f"New clients coming back within {H} days {label}", "%", "03_activity", reason
                )
            )

    # repeat use: the basket
    lab = basket.label_receipts(
        tx,
        cards,
        thresholds=study.tier_thresholds or basket.DEFAULT_THRESHOLDS,
        member_since=study.member_since,
        launch=launch,
    )
    post = lab[lab["post_launch"] & (lab["date"] < end)]
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
                money,
                notebook="04_average_check",
            )
        )
    else:
        rows.append(
            _missing(
                "member_check",
                "repeat use",
                "Members' average net check",
                money,
                "04_average_check",
                "no receipt of a member since the program runs",
            )
        )
    gap_label = "Member minus non-member net check (naive, self-selected)"
    if {"member", "non_member"} <= set(checks["status"]):
        g = basket.group_difference(checks, metric="net_check").iloc[0]
        rows.append(
            _row(
                "member_check_gap",
                "repeat use",
                gap_label,
                g["estimate"],
                g["ci_low"],
                g["ci_high"],
                g["n"],
                money,
                notebook="04_average_check",
            )
        )
    else:
        rows.append(
            _missing(
                "member_check_gap",
                "repeat use",
                gap_label,
                money,
                "04_average_check",
                "no identified non-members to compare with: the export ties receipts to card holders only",
            )
        )
    if study.can("bunching"):
        card = lab[lab["card_id"].notna() & (lab["date"] >= start) & (lab["date"] < end)]
        b = basket.bunching(card, study.tier_thresholds, n_boot=n_boot, seed=seed)
        for t, r in b.iterrows():
            rows.append(
                _row(
                    f"bunching_{t:g}",
                    "repeat use",
                    f"Checks topped up over {format_number(t, money)} (excess mass)",
                    r["estimate"],
                    r["ci_low"],
                    r["ci_high"],
                    r["n"],
                    "count",
                    notebook="04_average_check",
                )
            )
    else:
        rows.append(
            _missing(
                "bunching",
                "repeat use",
                "Checks topped up over a tier threshold (excess mass)",
                "count",
                "04_average_check",
                study.why("bunching"),
            )
        )
    cost = basket.discount_cost(post) if len(post) else None
    if cost is not None and pd.notna(cost["share_of_revenue"].iloc[-1]):
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
    nps_label = "NPS after the first card use"
    if study.can("nps"):
        sv = ds.surveys
        nps = satisfaction.nps(sv, by="stage", n_boot=n_boot, seed=seed).set_index("stage")
        if "after_first_use" in nps.index:
            r = nps.loc["after_first_use"]
            rows.append(
                _row(
                    "nps_after_first_use",
                    "after use",
                    nps_label,
                    r["estimate"],
                    r["ci_low"],
                    r["ci_high"],
                    r["n"],
                    "points",
                    notebook="05_satisfaction",
                )
            )
        else:
            rows.append(
                _missing(
                    "nps_after_first_use",
                    "after use",
                    nps_label,
                    "points",
                    "05_satisfaction",
                    "no survey is marked as asked after the first card use",
                )
            )
        sh = study.survey_horizon_days
        ret = satisfaction.retention_frame(sv, tx, horizon_days=sh, end=end)
        el = ret[ret["eligible"]]
        if len(el) >= 30 and el["returned"].nunique() == 2:
            r = satisfaction.retention_logit(el, controls=()).loc["nps"]
            rows.append(
                _row(
                    "nps_return_odds_ratio",
                    "after use",
                    f"Odds ratio of returning within {sh} days per NPS point",
                    r["estimate"],
                    r["ci_low"],
                    r["ci_high"],
                    r["n"],
                    "",
                    notebook="05_satisfaction",
                )
            )
    else:
        rows.append(
            _missing("nps_after_first_use", "after use", nps_label, "points", "05_satisfaction", study.why("nps"))
        )

    # program level: the causal impact (DiD on established customers)
    rows.append(_did_row(ds, study, n_boot=n_boot, seed=seed))
    return pd.DataFrame(rows, columns=FIGURE_COLUMNS)


def _did_row(ds, study, *, n_boot: int, seed: int) -> dict:
    """DiD revenue per member-month with a card, on customers who bought before the data start."""
    from loyalty_lib.metrics import impact

    label = "Net revenue caused per member-month with a card (DiD, established customers)"
    unit = study.currency
    if not study.can("imputation_did"):
        return _missing("did_revenue", "program level", label, unit, "06_impact", study.why("imputation_did"))
    # the panel of the established customers only (each customer's rows depend on their own
    # receipts and card): the same rows as the full panel filtered, built from fewer receipts
    ids = pd.Index(study.established_ids)
    tx = ds.transactions[isin(ds.transactions["customer_id"], ids)]
    customers = ds.customers[isin(ds.customers["customer_id"], ids)] if ds.customers is not None else None
    est = impact.customer_month_panel(tx, customers=customers, start=study.start, end=study.end, cards=ds.cards)
    est = impact.add_treatment(est, ds.cards, launch=study.launch if study.launch is not None else study.start)
    est = est.reset_index(drop=True)
    if est["post"].nunique() < 2 or not (est["card_exposure"] > 0).any():
        return _missing(
            "did_revenue",
            "program level",
            label,
            unit,
            "06_impact",
            "no customer who bought before the data start is seen both before and after getting a card",
        )
    d = impact.did_imputation(est, outcomes=["revenue"], n_boot=n_boot, seed=seed).loc["revenue"]
    return _row(
        "did_revenue",
        "program level",
        label,
        d["estimate"],
        d["ci_low"],
        d["ci_high"],
        d["n"],
        unit,
        notebook="06_impact",
    )
