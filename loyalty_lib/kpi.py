"""Headline figures (KPIs) that a stage notebook hands to the report's scorecard.

A notebook calls :func:`publish_kpis` once, near its end. The call displays a readable table
and, beside it, a machine-readable copy under the MIME type :data:`KPI_MIME`, which the batch
report reads back out of the executed notebook to build the scorecard on ``index.html``.
"""

from __future__ import annotations

import json

import pandas as pd

from loyalty_lib.stats import format_number

KPI_MIME = "application/vnd.loyalty.kpis+json"
KPI_COLUMNS = [
    "stage",
    "kpi",
    "label",
    "estimate",
    "ci_low",
    "ci_high",
    "unit",
    "target",
    "better",
    "truth",
    "reason",
    "basis",
]


def kpi_frame(rows: list[dict]) -> pd.DataFrame:
    """Build a KPI frame from dicts, filling optional fields.

    Each row needs ``stage, kpi, label, estimate`` and may give ``ci_low, ci_high, unit``
    (``"%"`` for shares in [0, 1], ``"RUB"``, ``"count"``, ``"days"``, ...), ``target``,
    ``better`` (``"higher"`` or ``"lower"``) and ``truth`` (planted value on synthetic data).
    A figure the data cannot support keeps its row, with ``estimate`` missing and ``reason``
    saying in one plain sentence why (see :func:`not_available`); the scorecard then shows
    "not available (reason)" instead of a number. ``basis`` (``"net"`` or ``"gross"``) says
    on which revenue a money figure is counted; the report sets two figures side by side (an
    effect and its break-even) only when both declare the same basis.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`KPI_COLUMNS`.
    """
    df = pd.DataFrame(rows)
    defaults = {"unit": "", "better": "higher", "reason": "", "basis": ""}
    for c in KPI_COLUMNS:
        if c not in df:
            df[c] = defaults.get(c, float("nan"))
        elif c in defaults:
            df[c] = df[c].fillna(defaults[c])
    missing = [c for c in ("stage", "kpi", "label") if df[c].isna().any()]
    if df["estimate"].isna().any() and (df.loc[df["estimate"].isna(), "reason"].astype(str).str.strip() == "").any():
        missing.append("estimate (or a reason why it is not available)")
    if missing:
        raise ValueError(f"kpi_frame: every KPI needs {', '.join(missing)}")
    bad = ~df["better"].isin(["higher", "lower"])
    if bad.any():
        raise ValueError(f"kpi_frame: 'better' must be 'higher' or 'lower' (rows {list(df.index[bad])})")
    return df[KPI_COLUMNS]


def not_available(stage: str, kpi: str, label: str, reason: str, **fields) -> dict:
    """A KPI row for a figure the data cannot support, with the plain sentence why.

    Examples
    --------
    >>> row = not_available("06", "did_revenue", "Revenue caused per member-month",
    ...                     "no identified non-members to compare with", unit="USD")
    >>> r = kpi_frame([row]).iloc[0]
    >>> bool(pd.isna(r["estimate"])), r["reason"]
    (True, 'no identified non-members to compare with')
    """
    if not str(reason).strip():
        raise ValueError("not_available: give the reason the figure cannot be estimated")
    return {"stage": stage, "kpi": kpi, "label": label, "estimate": float("nan"), "reason": reason, **fields}


def kpi_markdown(df: pd.DataFrame) -> str:
    """Render a KPI frame as a Markdown table (estimate, 95 % CI, target, planted truth)."""
    lines = ["| figure | estimate | 95 % CI | target | planted truth |", "|---|---|---|---|---|"]
    for r in df.itertuples(index=False):
        if pd.isna(r.estimate):
            lines.append(f"| {r.label} | not available ({r.reason}) | – | – | – |")
            continue
        ci = f"{format_number(r.ci_low, r.unit)} – {format_number(r.ci_high, r.unit)}" if not pd.isna(r.ci_low) else "–"
        lines.append(
            f"| {r.label} | **{format_number(r.estimate, r.unit)}** | {ci} | "
            f"{format_number(r.target, r.unit)} | {format_number(r.truth, r.unit)} |"
        )
    return "\n".join(lines)


def publish_kpis(df: pd.DataFrame) -> None:
    """Display KPIs in a notebook: a Markdown table plus the scorecard's machine copy."""
    from IPython.display import display

    df = kpi_frame(df.to_dict("records")) if isinstance(df, pd.DataFrame) else kpi_frame(df)
    payload = json.loads(df.to_json(orient="records"))
    display({KPI_MIME: payload, "text/markdown": kpi_markdown(df)}, raw=True)


def read_kpis(notebook) -> pd.DataFrame:
    """Collect the KPIs published in an executed notebook (an ``nbformat`` node).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`KPI_COLUMNS`; empty when the notebook published none.
    """
    rows = []
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if KPI_MIME in data:
                rows.extend(data[KPI_MIME])
    return kpi_frame(rows) if rows else pd.DataFrame(columns=KPI_COLUMNS)
