"""The scorecard: one row per figure, its status against the target, and numbers for people."""

from __future__ import annotations

import math

import pandas as pd

from loyalty_lib.kpi import KPI_COLUMNS
from loyalty_lib.stats import format_number


def kpi_status(estimate, ci_low, ci_high, target, better: str = "higher") -> str:
    """Traffic-light status of one KPI against its target.

    ``"green"`` when the whole 95 % CI is on the good side of the target, ``"amber"`` when the
    target lies inside the CI, ``"red"`` when the CI is wholly on the bad side, ``"grey"``
    without a target. Without a CI the estimate alone decides (green or red).

    Examples
    --------
    >>> [kpi_status(0.4, lo, hi, 0.3) for lo, hi in [(0.35, 0.45), (0.25, 0.45), (0.1, 0.25)]]
    ['green', 'amber', 'red']
    >>> kpi_status(3.0, 2.0, 4.0, 5.0, "lower"), kpi_status(3.0, None, None, None)
    ('green', 'grey')
    """

    def missing(x):
        return x is None or (isinstance(x, float) and math.isnan(x))

    if missing(target) or missing(estimate):
        return "grey"
    if missing(ci_low) or missing(ci_high):
        ok = estimate <= target if better == "lower" else estimate >= target
        return "green" if ok else "red"
    lo, hi = ci_low, ci_high
    if better == "lower":
        if hi < target:
            return "green"
        return "red" if lo > target else "amber"
    if lo > target:
        return "green"
    return "red" if hi < target else "amber"


def scorecard(stages: list[dict]) -> pd.DataFrame:
    """Return the scorecard table of a run: one row per KPI, with its status.

    Returns
    -------
    pandas.DataFrame
        Columns ``notebook`` plus :data:`~loyalty_lib.kpi.KPI_COLUMNS` plus ``status``.
    """
    rows = [dict(r, notebook=s["name"]) for s in stages for r in s.get("kpis", [])]
    df = pd.DataFrame(rows, columns=["notebook", *KPI_COLUMNS])
    for c in ("estimate", "ci_low", "ci_high", "target", "truth"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    df["status"] = [kpi_status(r.estimate, r.ci_low, r.ci_high, r.target, r.better) for r in df.itertuples()]
    df["reason"] = df["reason"].fillna("").astype(str)
    df.loc[df["estimate"].isna() & (df["reason"] != ""), "status"] = "na"
    return df


def fmt(value, unit: str) -> str:
    """Format a scorecard number for people (:func:`loyalty_lib.stats.format_number`, millions as ``M``).

    Examples
    --------
    >>> fmt(500.0, "RUB"), fmt(125.0, "count"), fmt(0.348, ""), fmt(0.25, "%")
    ('500 RUB', '125', '0.348', '25.0 %')
    >>> fmt(107_620_021.0, "RUB")
    '107.6 M RUB'
    """
    return format_number(value, unit, millions=True)


def fmt_ci(low, high, unit: str, estimate=None) -> str:
    """Format a confidence interval with one precision for both ends and the unit once.

    Examples
    --------
    >>> fmt_ci(3.17, 1079.4, "RUB", 541.0), fmt_ci(0.284, 0.378, "%"), fmt_ci(0.0896, 0.281, "")
    ('3 – 1\u202f079 RUB', '28.4 – 37.8 %', '0.090 – 0.281')
    >>> fmt_ci(95_862_352.0, 117_849_606.0, "RUB")
    '95.9 – 117.8 M RUB'
    """
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return "–"
    if unit == "%":
        return f"{100 * low:.1f} – {100 * high:.1f} %"
    if unit == "pp":
        return f"{100 * low:+.1f} – {100 * high:+.1f} pp"
    ref = [abs(float(low)), abs(float(high))]
    if estimate is not None and not pd.isna(estimate):
        ref.append(abs(float(estimate)))
    scale = max(ref)
    div, mil = (1e6, " M") if scale >= 1e6 else (1.0, "")
    decimals = 1 if mil else 0 if scale >= 100 else 1 if scale >= 10 else 2 if scale >= 1 else 3
    ends = [f"{float(v) / div:,.{decimals}f}".replace(",", "\u202f") for v in (low, high)]
    return f"{ends[0]} – {ends[1]}{mil}" + ("" if unit in ("", "count") else f" {unit}")


def _fmt_target(target, unit, better) -> str:
    if target is None or (isinstance(target, float) and math.isnan(target)):
        return "–"
    return f"{'≥' if better != 'lower' else '≤'} {fmt(float(target), unit)}"


def _stage_rows(stage: dict, card: pd.DataFrame) -> list[dict]:
    rows = []
    for r in card[card["notebook"] == stage["name"]].itertuples(index=False):
        unit = r.unit if isinstance(r.unit, str) else ""
        ci = fmt_ci(r.ci_low, r.ci_high, unit, r.estimate)
        rows.append(
            {
                "label": r.label,
                "estimate": fmt(r.estimate, unit) if r.status != "na" else f"not available: {r.reason}",
                "ci": ci,
                "target": _fmt_target(r.target, unit, r.better),
                "status": r.status,
                "truth": fmt(r.truth, unit),
            }
        )
    return rows
