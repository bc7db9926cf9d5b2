"""The report's tables to download: CSV files beside the pages and one workbook with a sheet per stage.

Every table goes through :func:`loyalty_lib.escape.neutralise_formulas` (a text cell starting
with ``=``, ``+``, ``-`` or ``@`` gets a leading apostrophe) before it is written, as CSV by
:func:`loyalty_lib.escape.write_csv` and as ``.xlsx`` by openpyxl. Columns carry people's names
(:data:`SCORECARD_COLUMNS`, :data:`TREND_COLUMNS_TEXT`); numbers stay numbers.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from loyalty_lib.escape import neutralise_formulas, write_csv
from loyalty_lib.report.files import _publish
from loyalty_lib.report.scoring import scorecard

#: Scorecard columns written to the downloads, with their names for people.
SCORECARD_COLUMNS = {
    "notebook": "Stage",
    "label": "Figure",
    "estimate": "Estimate",
    "ci_low": "95 % CI low",
    "ci_high": "95 % CI high",
    "unit": "Unit",
    "target": "Target",
    "better": "Better when",
    "status": "Status",
    "reason": "Why not available",
    "truth": "Planted truth",
    "kpi": "Figure key",
}
#: Trend columns, with their names for people.
TREND_COLUMNS_TEXT = {
    "month": "Month",
    "days_covered": "Days of the month in the data",
    "receipts": "Receipts",
    "revenue": "Revenue (net)",
    "members": "Members",
    "active_members": "Active members",
    "member_revenue": "Members' revenue (net)",
    "revenue_per_active_member": "Revenue per active member",
    "average_check": "Average check",
    "member_share_of_revenue": "Members' share of revenue",
}
_STATUS_WORDS = {
    "green": "met",
    "amber": "target inside the interval",
    "red": "missed",
    "grey": "no target",
    "info": "for information",
    "na": "not available",
}


def scorecard_table(card: pd.DataFrame) -> pd.DataFrame:
    """The scorecard as a table for people: named columns, statuses in words, shares as stored (0 to 1).

    Parameters
    ----------
    card : pandas.DataFrame
        A run's :func:`~loyalty_lib.report.scoring.scorecard`.

    Returns
    -------
    pandas.DataFrame
        Columns the values of :data:`SCORECARD_COLUMNS`; naive figures are marked in "Figure".
    """
    t = card.copy()
    t["status"] = t["status"].map(_STATUS_WORDS).fillna(t["status"])
    t["label"] = t["label"].where(~t["naive"], t["label"] + " (naive, biased)")
    return t[list(SCORECARD_COLUMNS)].rename(columns=SCORECARD_COLUMNS)


def trends_table(trends: pd.DataFrame) -> pd.DataFrame:
    """The monthly trends with names for people and months as dates (no time of day)."""
    t = trends.copy()
    t["month"] = pd.to_datetime(t["month"]).dt.strftime("%Y-%m")
    return t[list(TREND_COLUMNS_TEXT)].rename(columns=TREND_COLUMNS_TEXT)


def _sheet_name(name: str, used: set[str]) -> str:
    """A valid, unique Excel sheet name (at most 31 characters, none of the characters Excel refuses)."""
    base = "".join("_" if c in "[]:*?/\\" else c for c in name)[:31] or "sheet"
    cand, i = base, 2
    while cand.lower() in used:
        cand = f"{base[: 31 - len(str(i)) - 1]}~{i}"
        i += 1
    used.add(cand.lower())
    return cand


def write_workbook(sheets: dict[str, pd.DataFrame], path: Path) -> Path:
    """Write tables as one ``.xlsx`` workbook, a sheet each, formulas neutralised, atomically.

    Parameters
    ----------
    sheets : dict of str to pandas.DataFrame
        Sheet name (shortened to Excel's 31 characters) to table.
    path : Path
        The workbook.

    Returns
    -------
    Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp.xlsx")
    os.close(fd)
    try:
        used: set[str] = set()
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            for name, table in sheets.items():
                sheet = _sheet_name(name, used)
                neutralise_formulas(table).to_excel(xw, sheet_name=sheet, index=False)
                ws = xw.sheets[sheet]
                for col in ws.columns:  # wide enough to read the header and the values
                    width = max(len(str(c.value)) if c.value is not None else 0 for c in col)
                    ws.column_dimensions[col[0].column_letter].width = min(60, max(10, width + 2))
                ws.freeze_panes = "A2"
        _publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def stage_csv(name: str) -> str:
    """Where a stage's figures are downloaded from, relative to the report folder.

    Examples
    --------
    >>> stage_csv("02_enrollment")
    'downloads/02_enrollment.csv'
    """
    return f"downloads/{name}.csv"


def page_downloads(name: str, has_figures: bool) -> list[dict]:
    """The download links a stage's own pages show: its figures (when it published any) and the workbook.

    Examples
    --------
    >>> [d["href"] for d in page_downloads("02_enrollment", True)]
    ['downloads/02_enrollment.csv', 'downloads/loyalty_report.xlsx']
    """
    links = [{"href": stage_csv(name), "label": "figures (CSV)"}] if has_figures else []
    return links + [{"href": "downloads/loyalty_report.xlsx", "label": "all tables (Excel)"}]


def write_downloads(
    out_dir: Path, card: pd.DataFrame, stages: list[dict], trends: pd.DataFrame | None, targets: dict | None = None
) -> list[dict]:
    """Write every KPI and trend table of a run as CSV, and all of them as one workbook.

    Files, in ``<out_dir>/downloads/``: ``scorecard.csv`` (every figure), ``<NN_stage>.csv`` (the
    figures of each stage that published any), ``trends.csv`` (with trends) and
    ``loyalty_report.xlsx`` (a sheet "scorecard", one per stage and one "trends"). A stage's file
    holds every figure it published, also those the scorecard shows under a later stage.

    Parameters
    ----------
    out_dir : Path
        The report folder.
    card : pandas.DataFrame
        The run's :func:`~loyalty_lib.report.scoring.scorecard`.
    stages : list of dict
        Stage results (``name``), in notebook order.
    trends : pandas.DataFrame, optional
        The run's :func:`~loyalty_lib.metrics.trends.monthly_trends`.
    targets : dict, optional
        The params file's ``targets:`` section.

    Returns
    -------
    list of dict
        ``{"href": path relative to the report, "label": text, "stage": name or None}`` per file.
    """
    folder = Path(out_dir) / "downloads"
    folder.mkdir(parents=True, exist_ok=True)
    links, sheets = [], {}
    table = scorecard_table(card)
    write_csv(table, folder / "scorecard.csv")
    links.append({"href": "downloads/scorecard.csv", "label": "Scorecard, every figure (CSV)", "stage": None})
    sheets["scorecard"] = table
    for s in stages:
        if not s.get("kpis"):
            continue
        mine = scorecard_table(scorecard([s], targets))
        write_csv(mine, Path(out_dir) / stage_csv(s["name"]))
        links.append(
            {"href": stage_csv(s["name"]), "label": f"{s.get('title') or s['name']}: figures (CSV)", "stage": s["name"]}
        )
        sheets[s["name"]] = mine
    if trends is not None and not trends.empty:
        t = trends_table(trends)
        write_csv(t, folder / "trends.csv")
        links.append({"href": "downloads/trends.csv", "label": "Main figures by month (CSV)", "stage": None})
        sheets["trends"] = t
    write_workbook(sheets, folder / "loyalty_report.xlsx")
    links.append(
        {"href": "downloads/loyalty_report.xlsx", "label": "All tables, a sheet per stage (Excel)", "stage": None}
    )
    return links
