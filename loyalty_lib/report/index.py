"""The report's front page, ``index.html`` (and ``run.json`` for schedulers), from a template."""

from __future__ import annotations

import json
import re
from pathlib import Path

from loyalty_lib import config
from loyalty_lib.report.base import STATUS_TEXT
from loyalty_lib.report.charts import trend_charts
from loyalty_lib.report.downloads import write_downloads
from loyalty_lib.report.files import atomic_write_text
from loyalty_lib.report.scoring import _stage_rows, card_row, scorecard
from loyalty_lib.report.summary import next_steps, verdicts
from loyalty_lib.report.templates import render, stylesheet
from loyalty_lib.validation import count_set_aside

#: The definitions of every figure (docs/metrics.md), copied into each report as a page of its own.
DEFINITIONS_SOURCE = config.PROJECT_DIR / "docs" / "metrics.md"


def write_definitions(out_dir: Path, source: Path | None = None) -> str | None:
    """Write ``definitions.html``: the definition and formula of every figure, from docs/metrics.md.

    The report folder stays self-contained (it can be mailed or moved): the page is a copy, not a
    link into the project. Links between the project's documents become plain text.

    Returns
    -------
    str or None
        The page's path relative to the report, or ``None`` when the project's docs are not there
        (an installed package without its repository).
    """
    from nbconvert.filters.markdown import markdown2html  # the notebooks' own Markdown renderer

    source = Path(source or DEFINITIONS_SOURCE)
    if not source.is_file():
        return None
    text = re.sub(r"\[([^\]]+)\]\((?!https?://)[^)]*\)", r"\1", source.read_text(encoding="utf-8"))
    body = markdown2html(text)
    page = render("definitions.html.j2", css=stylesheet("page.css", "print.css"), body=body)
    atomic_write_text(Path(out_dir) / "definitions.html", page)
    return "definitions.html"


def write_index(
    out_dir: Path,
    *,
    stages=(),
    problems=None,
    quarantined=None,
    meta=None,
    fatal=None,
    targets=None,
    trends=None,
    trends_note: str = "",
    currency: str = "",
) -> Path:
    """Write ``index.html`` (and ``run.json``) of a report folder.

    Parameters
    ----------
    out_dir : Path
        Report folder.
    stages : list of dict
        Results of :func:`run_stage`, in notebook order.
    problems : pandas.DataFrame, optional
        Contract problems that stopped the run.
    quarantined : pandas.DataFrame, optional
        Summary of rows set aside.
    meta : dict, optional
        Run metadata, label to text.
    fatal : str, optional
        A one-line reason the run could not start (unreadable data folder, bad mapping).
    targets : dict, optional
        The params file's ``targets:`` section (:func:`~loyalty_lib.report.targets.read_targets`).
    trends : pandas.DataFrame, optional
        The run's :func:`~loyalty_lib.metrics.trends.monthly_trends`: small charts on the page and
        a table to download.
    trends_note : str
        A sentence about the trends (why there are none, or a caveat).
    currency : str
        Currency of money figures in the trend charts.

    Returns
    -------
    Path
        The index page.
    """
    stages = [dict(s) for s in stages]
    card = scorecard(stages, targets)
    for s in stages:
        s["rows"] = _stage_rows(s, card)
        moved = card.loc[card["also_in"].str.contains(s["name"], regex=False), "notebook"].unique()
        s["moved"] = ", ".join(t["title"] for t in stages if t["name"] in set(moved))
    failed = [s for s in stages if s["status"] != "ok"]
    shown = card[~card["naive"]]
    counts = [(c, int((shown["status"] == c).sum())) for c in ("green", "amber", "red", "grey", "info", "na")]
    downloads, charts, definitions = [], [], None
    if stages:
        downloads = write_downloads(out_dir, card, stages, trends, targets)
        charts = trend_charts(trends, currency) if trends is not None else []
        definitions = write_definitions(out_dir)
    meta = dict(meta or {})
    source = meta.get("data", "")
    if fatal or problems is not None:
        subtitle = f"data: {source} · the run stopped before the stage notebooks: see below"
    else:
        subtitle = f"{len(stages) - len(failed)} of {len(stages)} stages ran · data: {source}"
    name = Path(source).name if source else ""
    text = render(
        "index.html.j2",
        css=stylesheet("index.css", "print.css"),
        title=f"Loyalty program report · {name}" if name else "Loyalty program report",
        subtitle=subtitle,
        fatal=fatal,
        problems=None if problems is None else problems.to_dict("records"),
        quarantined=None if quarantined is None else quarantined.to_dict("records"),
        n_quarantined=count_set_aside(Path(out_dir) / "quarantine", quarantined),
        stages=stages,
        failed=failed,
        n_ok=len(stages) - len(failed),
        counts=[(c, n) for c, n in counts if n],
        status_text=STATUS_TEXT,
        has_truth=bool(card["truth"].notna().any()),
        verdicts=verdicts(card),
        next=next_steps(card),
        naive_rows=[card_row(r) for r in card[card["naive"]].itertuples(index=False)],
        trends=charts,
        trends_note=trends_note,
        downloads=[d for d in downloads if d["stage"] is None] + [d for d in downloads if d["stage"] is not None],
        definitions=definitions,
        meta=list(meta.items()),
    )
    path = Path(out_dir) / "index.html"
    atomic_write_text(path, text)
    run = {
        "status": "failed" if (fatal or problems is not None or failed) else "ok",
        "failed": [s["name"] for s in failed],
        "fatal": fatal,
        "problems": None if problems is None else problems.to_dict("records"),
        "quarantined": None if quarantined is None else quarantined.to_dict("records"),
        "stages": [{k: v for k, v in s.items() if k not in ("rows", "moved")} for s in stages],
        "summary": [{"question": v["question"], "status": v["status"]} for v in verdicts(card)] if stages else [],
        "actions": [a["text"] for a in next_steps(card)["actions"]] if stages else [],
        "meta": meta,
    }
    atomic_write_text(Path(out_dir) / "run.json", json.dumps(run, indent=2, default=str) + "\n")
    return path
