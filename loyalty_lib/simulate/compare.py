"""Read the simulation for a decision: comparison table, sensitivity (tornado) and the recommendation.

The recommendation follows one written rule (:func:`recommend`), so a manager can check it:
among the variants whose ROI stays above 0 % across the spread of the simulated worlds (its
2.5 % quantile is positive), the one with the highest mean ROI; when none does, the variant
that loses least, said plainly as a loss.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from loyalty_lib.simulate.model import Population, simulate
from loyalty_lib.simulate.responses import Responses
from loyalty_lib.simulate.variants import NoProgram, Variant, mechanics

__all__ = [
    "COMPARISON_FIGURES",
    "RESPONSE_LABELS",
    "comparison",
    "comparison_text",
    "recommend",
    "relevant_responses",
    "tornado",
]

#: Figures of the comparison table, in order.
COMPARISON_FIGURES = [
    "members",
    "incremental_visits",
    "incremental_gross",
    "cost_total",
    "net_gain",
    "roi_pct",
    "break_even_uplift_pct",
]

#: Plain names of the responses, for tables and the tornado chart.
RESPONSE_LABELS = {
    "visit_uplift": "members' extra visits",
    "check_uplift": "members' bigger checks",
    "giveback_reference": "give-back of the measured program",
    "giveback_elasticity": "effect growing with what a card gives back",
    "take_up": "card take-up at a visit",
    "never_join": "share who never take a card",
    "selection": "heavier buyers joining more",
    "card_use": "card shown at a visit",
    "bunching_prob": "checks topped up to a tier",
    "bunching_window": "top-up window below a tier",
    "bunching_landing": "landing window above a tier",
    "goal_gradient": "pull of a nearing reward",
    "redemption": "rewards redeemed",
    "referral_rate": "newcomers per member-year",
    "referral_deadweight": "newcomers who would have come anyway",
    "margin": "gross margin",
}


def comparison(summary: pd.DataFrame, figures: Sequence[str] = COMPARISON_FIGURES) -> pd.DataFrame:
    """One row per variant: each figure's mean over seeds with its spread.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of :func:`loyalty_lib.simulate.summarise`.
    figures : sequence of str
        Figures to show (default :data:`COMPARISON_FIGURES`).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``variant``; for each figure ``<figure>``, ``<figure>_low`` and
        ``<figure>_high`` (the 2.5 % and 97.5 % quantiles over seeds).

    Examples
    --------
    >>> s = pd.DataFrame({"estimate": [5.0], "ci_low": [1.0], "ci_high": [9.0], "n": [3.0]},
    ...                  index=pd.MultiIndex.from_tuples([("a", "roi_pct")], names=["variant", "figure"]))
    >>> comparison(s, ["roi_pct"]).loc["a"].tolist()
    [5.0, 1.0, 9.0]
    """
    out = {}
    for f in figures:
        part = summary.xs(f, level="figure")
        out[f] = part["estimate"]
        out[f"{f}_low"] = part["ci_low"]
        out[f"{f}_high"] = part["ci_high"]
    frame = pd.DataFrame(out)
    frame.index.name = "variant"
    return frame


#: How each comparison figure is written for people: column title and unit.
_TEXT = {
    "members": ("Members", "count"),
    "incremental_visits": ("Extra visits", "count"),
    "incremental_gross": ("Extra revenue", "money"),
    "cost_total": ("Cost", "money"),
    "net_gain": ("Margin minus cost", "money"),
    "roi_pct": ("ROI, %", "pct"),
    "break_even_uplift_pct": ("Break-even uplift, %", "pct"),
}


def comparison_text(table: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """The comparison written for a manager: each figure as "mean (low to high)".

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`comparison`.
    currency : str
        Currency named in the money columns' titles.

    Returns
    -------
    pandas.DataFrame
        One row per variant (a ``Variant`` column), one text column per figure of
        :data:`COMPARISON_FIGURES` present; a figure without a value (the ROI of no program) is
        a dash.

    Examples
    --------
    >>> t = pd.DataFrame({"roi_pct": [12.345], "roi_pct_low": [-3.0], "roi_pct_high": [30.0]},
    ...                  index=pd.Index(["stamps"], name="variant"))
    >>> comparison_text(t).iloc[0].tolist()
    ['stamps', '12 (-3 to 30)']
    """

    def fmt(v: float, unit: str) -> str:
        return f"{v:,.0f}" if np.isfinite(v) else "–"

    out = pd.DataFrame({"Variant": list(table.index)})
    for f, (title, unit) in _TEXT.items():
        if f not in table:
            continue
        if unit == "money" and currency:
            title = f"{title}, {currency}"
        out[title] = [
            "–" if not np.isfinite(e) else f"{fmt(e, unit)} ({fmt(lo, unit)} to {fmt(hi, unit)})"
            for e, lo, hi in zip(table[f], table[f"{f}_low"], table[f"{f}_high"], strict=True)
        ]
    return out


def recommend(summary: pd.DataFrame) -> pd.Series:
    """The variant to launch, by the written rule, and why in plain words.

    Rule: among the variants with a cost (the no-program baseline is the yardstick, not a
    candidate), those whose ROI's lower spread bound is above 0 % pay back in almost every
    simulated world; recommend the one of them with the highest mean ROI. When none does,
    name the one with the highest lower bound (it loses least in a bad world) and say that no
    variant pays back reliably.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of :func:`loyalty_lib.simulate.summarise`.

    Returns
    -------
    pandas.Series
        ``variant``, ``pays_back`` (bool: the rule's first branch), ``roi_pct``,
        ``roi_pct_low``, ``roi_pct_high``, ``net_gain`` and ``reason`` (a sentence).

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product([["a", "b"], ["roi_pct", "net_gain", "cost_total"]],
    ...                                  names=["variant", "figure"])
    >>> s = pd.DataFrame({"estimate": [30, 9, 1, 60, 5, 1.], "ci_low": [10, 1, 1, -5, -1, 1.],
    ...                   "ci_high": [50, 20, 1, 120, 9, 1.], "n": 10.0}, index=idx)
    >>> recommend(s)["variant"]
    'a'
    """
    t = comparison(summary, ["roi_pct", "net_gain", "cost_total"])
    t = t[(t["cost_total"] > 0) & t["roi_pct"].notna()]
    if t.empty:
        raise ValueError("recommend: no variant with a cost to compare")
    safe = t[t["roi_pct_low"] > 0]
    if len(safe):
        best = safe["roi_pct"].idxmax()
        others = len(safe) - 1
        reason = (
            f"{best} returns {t.at[best, 'roi_pct']:.0f} % on its cost on average, and more than 0 % in "
            f"at least 97.5 % of the simulated worlds"
            + (f"; {others} other variant(s) also pay back, with a lower mean ROI" if others else "")
            + "."
        )
        pays = True
    else:
        best = t["roi_pct_low"].idxmax()
        reason = (
            f"No variant pays back reliably: every one loses money in a bad simulated world. {best} loses least "
            f"there (ROI {t.at[best, 'roi_pct_low']:.0f} % at the low end, {t.at[best, 'roi_pct']:.0f} % on "
            "average); launching no program, or a cheaper design, is the careful choice."
        )
        pays = False
    row = t.loc[best]
    return pd.Series(
        {
            "variant": best,
            "pays_back": pays,
            "roi_pct": row["roi_pct"],
            "roi_pct_low": row["roi_pct_low"],
            "roi_pct_high": row["roi_pct_high"],
            "net_gain": row["net_gain"],
            "reason": reason,
        }
    )


def relevant_responses(variant: Variant, ranges: pd.DataFrame) -> list[str]:
    """The uncertain responses (a range with width) that can move this variant's result.

    Examples
    --------
    >>> from loyalty_lib.simulate.responses import prior_ranges
    >>> from loyalty_lib.simulate.variants import StampCard
    >>> relevant_responses(StampCard(10, 300), prior_ranges())[:3]
    ['visit_uplift', 'check_uplift', 'giveback_elasticity']
    """
    if isinstance(variant, NoProgram):
        return []
    m = mechanics(variant)
    skip = set()
    if m["tiers"] is None:
        skip |= {"bunching_prob", "bunching_window", "bunching_landing"}
    if m["reward"] is None:
        skip |= {"goal_gradient", "redemption"}
        if m["tiers"] is None:
            skip |= {"visit_uplift", "check_uplift", "giveback_elasticity"}
    if m["referral"] is None:
        skip |= {"referral_rate", "referral_deadweight"}
    wide = ranges[ranges["high"] > ranges["low"]].index
    return [k for k in ranges.index if k in wide and k not in skip]


def tornado(
    population: Population,
    variant: Variant,
    responses: Responses,
    ranges: pd.DataFrame,
    *,
    margin: float = 0.3,
    margin_range: tuple[float, float] | None = None,
    seeds: Sequence[int] = (0, 1),
    **kwargs,
) -> pd.DataFrame:
    """ROI of one variant when one uncertain response at a time moves to its low and high value.

    Every run uses the same simulated customers (the same seeds), so a bar's length is the
    response's doing, not the luck of the draw.

    Parameters
    ----------
    population : Population
    variant : Variant
    responses : Responses
        Central values.
    ranges : pandas.DataFrame
        Range table (``low, high`` per response).
    margin : float
        Gross-margin share.
    margin_range : (float, float), optional
        Also move the margin between these values.
    seeds : sequence of int
        Seeds averaged at each setting.
    **kwargs
        Passed to :func:`~loyalty_lib.simulate.model.simulate` (``n_customers, horizon_days,
        period_days``).

    Returns
    -------
    pandas.DataFrame
        One row per response, widest swing first: ``parameter`` (the response), ``label``
        (plain words), ``low, high`` (its values), ``roi_low, roi_high`` (mean ROI at them),
        ``base_roi`` and ``swing`` (``|roi_high - roi_low|``), the columns of
        :func:`loyalty_lib.metrics.roi.roi_sensitivity`.
    """

    def roi(r: Responses, m: float = margin) -> float:
        vals = [simulate(population, [variant], r, seed=s, margin=m, **kwargs)["roi_pct"].iloc[0] for s in seeds]
        return float(np.mean(vals))

    base = roi(responses)
    rows = []
    for k in relevant_responses(variant, ranges):
        lo, hi = float(ranges.at[k, "low"]), float(ranges.at[k, "high"])
        rows.append(
            {
                "parameter": k,
                "label": RESPONSE_LABELS.get(k, k),
                "low": lo,
                "high": hi,
                "roi_low": roi(responses.with_(**{k: lo})),
                "roi_high": roi(responses.with_(**{k: hi})),
            }
        )
    if margin_range is not None:
        lo, hi = margin_range
        rows.append(
            {
                "parameter": "margin",
                "label": RESPONSE_LABELS["margin"],
                "low": lo,
                "high": hi,
                "roi_low": roi(responses, lo),
                "roi_high": roi(responses, hi),
            }
        )
    out = pd.DataFrame(rows, columns=["parameter", "label", "low", "high", "roi_low", "roi_high"])
    out["base_roi"] = base
    out["swing"] = (out["roi_high"] - out["roi_low"]).abs()
    return out.sort_values("swing", ascending=False, ignore_index=True)
