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


def scorecard(stages: list[dict], targets: dict | None = None) -> pd.DataFrame:
    """Return the scorecard table of a run: one row per figure, with its target, direction and status.

    A figure (a ``kpi`` key) that several stages publish keeps one row, the one of the last stage
    that publishes it: the stage that measures it in detail (the metrics map, 01, repeats figures
    of 02 and 03); ``also_in`` names the others. Targets and directions are completed by
    :func:`~loyalty_lib.report.targets.apply_targets`. A naive figure (key ``naive_*``) keeps its
    row, flagged ``naive``, without a planted truth: nothing planted is the value a biased
    comparison should find (the truth of the effect it misjudges is on the effect's own row).

    Parameters
    ----------
    stages : list of dict
        Stage results (``name`` and ``kpis``, a list of KPI records), in notebook order.
    targets : dict, optional
        The params file's ``targets:`` section (:func:`~loyalty_lib.report.targets.read_targets`).

    Returns
    -------
    pandas.DataFrame
        Columns ``notebook`` plus :data:`~loyalty_lib.kpi.KPI_COLUMNS` plus ``info`` (shown for
        information, no target makes sense), ``status`` (``green, amber, red, grey, info, na``),
        ``naive`` and ``also_in``.

    Examples
    --------
    >>> st = [{"name": "01_map", "kpis": [{"kpi": "issue_rate", "label": "a", "estimate": 0.3}]},
    ...       {"name": "02_enrollment", "kpis": [{"kpi": "issue_rate", "label": "b", "estimate": 0.3},
    ...                                          {"kpi": "customers", "label": "c", "estimate": 9.0}]}]
    >>> scorecard(st)[["notebook", "kpi", "status", "also_in"]].values.tolist()
    [['02_enrollment', 'issue_rate', 'grey', '01_map'], ['02_enrollment', 'customers', 'info', '']]
    """
    from loyalty_lib.report.targets import apply_targets

    rows = [dict(r, notebook=s["name"]) for s in stages for r in s.get("kpis", [])]
    df = pd.DataFrame(rows, columns=["notebook", *KPI_COLUMNS])
    for c in ("estimate", "ci_low", "ci_high", "target", "truth"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    for c, default in (("better", "higher"), ("unit", ""), ("reason", ""), ("basis", "")):
        df[c] = df[c].astype(object).where(df[c].notna(), default).astype(str)
    df = apply_targets(df, targets)
    df["status"] = [kpi_status(r.estimate, r.ci_low, r.ci_high, r.target, r.better) for r in df.itertuples()]
    df.loc[df["info"] & (df["status"] == "grey"), "status"] = "info"
    df.loc[df["estimate"].isna() & (df["reason"] != ""), "status"] = "na"
    df["naive"] = df["kpi"].astype(str).str.startswith("naive")
    df.loc[df["naive"], "truth"] = float("nan")
    others = df.groupby("kpi", sort=False)["notebook"].agg(list)
    df = df[~df.duplicated("kpi", keep="last")].reset_index(drop=True)
    df["also_in"] = pd.Series(
        [
            ", ".join(n for n in dict.fromkeys(others[k]) if n != nb)
            for k, nb in zip(df["kpi"], df["notebook"], strict=True)
        ],
        index=df.index,
        dtype=object,
    )
    df["naive"] = df["naive"].astype(bool)
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


#: How the scorecard says which way a figure is good.
DIRECTION_TEXT = {"higher": "↑ higher is better", "lower": "↓ lower is better"}


def card_row(r) -> dict:
    """One scorecard row (a row of :func:`scorecard`) as the texts a page shows."""
    unit = r.unit if isinstance(r.unit, str) else ""
    basis = getattr(r, "basis", "") if isinstance(getattr(r, "basis", ""), str) else ""
    return {
        "kpi": r.kpi,
        # a money figure says on which revenue it is counted, so two figures compare on one basis
        "label": f"{r.label} · on {basis} revenue" if basis and basis not in str(r.label).lower() else r.label,
        "basis": basis,
        "estimate": fmt(r.estimate, unit) if r.status != "na" else "not available",
        "reason": r.reason if r.status == "na" else "",
        "ci": fmt_ci(r.ci_low, r.ci_high, unit, r.estimate),
        "target": _fmt_target(r.target, unit, r.better),
        "direction": DIRECTION_TEXT.get(r.better, ""),
        "arrow": DIRECTION_TEXT.get(r.better, " ")[0],
        "status": r.status,
        "truth": fmt(r.truth, unit),
        "also_in": r.also_in,
    }


def _stage_rows(stage: dict, card: pd.DataFrame) -> list[dict]:
    mine = card[(card["notebook"] == stage["name"]) & ~card["naive"]]
    return [card_row(r) for r in mine.itertuples(index=False)]
