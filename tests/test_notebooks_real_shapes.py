"""Stages 00-05 on shapes of real exports: they run to the end, speak of the shop, and say what they cannot do.

The teaching branch runs in ``test_notebooks.py`` with its planted-truth checks. Here the same
notebooks run on (i) the generator's members-only export of a program older than the data (no
non-members, no issue dates, no printed stock, no surveys, ledger or costs) and (ii) the example
shop of ``examples/own_data`` read through its column mapping (no planted truth at all). Neither
is the teaching case: no page may tell its story, speak of roubles, or show a traceback, and the
sections these data cannot support must say so.
"""

from __future__ import annotations

import re

import nbformat
import pandas as pd
import papermill as pm
import pytest
from real_shapes import write_members_only, write_own_data

from loyalty_lib import config
from loyalty_lib.kpi import read_kpis

EARLY = ["00_case_and_data", "01_metrics_map", "02_enrollment", "03_activity", "04_average_check", "05_satisfaction"]
#: Words of the teaching case that must never reach a page about a shop's own data.
CASE_WORDS = re.compile(r"Sergey|RUB|roubles?|rubles?|10,000 (printed )?cards|5 %, 7 %", re.I)


@pytest.fixture(scope="session")
def shapes(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes")
    return {"members_only": write_members_only(root / "members_only"), "own_data": write_own_data(root / "own_data")}


def _run(notebook: str, data_dir, out_dir) -> nbformat.NotebookNode:
    path = config.NOTEBOOKS_DIR / f"{notebook}.ipynb"
    out = out_dir / path.name
    pm.execute_notebook(
        str(path),
        str(out),
        parameters={
            "data_dir": str(data_dir),
            "n_boot": 50,
        },  # small bootstraps: these runs check shapes, not intervals
        kernel_name="python3",
        cwd=str(path.parent),
        progress_bar=False,
    )
    return nbformat.read(out, as_version=4)


def _page_text(nb) -> str:
    """Everything a reader of the page sees: the markdown cells and every text output."""
    parts = [c.source for c in nb.cells if c.cell_type == "markdown"]
    for c in nb.cells:
        for o in c.get("outputs", []):
            parts.append(o.get("text", ""))
            data = o.get("data", {})
            parts += [data.get(k, "") for k in ("text/plain", "text/markdown", "text/html")]
            if o.get("output_type") == "error":
                parts.append("Traceback " + o.get("ename", ""))
    return "\n".join(p if isinstance(p, str) else "".join(p) for p in parts)


#: Per data shape and notebook: KPIs that must be "not available" with a reason, and words that must be on the page.
EXPECTED = {
    ("members_only", "01_metrics_map"): (["issue_rate", "activation_rate"], ["not available", "non-members"]),
    ("members_only", "02_enrollment"): (
        ["issue_rate", "activation_rate", "repeat_use_rate", "activation_by_day", "days_to_stock_out"],
        ["Not available on these data: enrollment funnel", "printed cards is unknown", "program_costs"],
    ),
    ("members_only", "00_case_and_data"): (
        [],
        ["older than the data", "Amounts are in USD"],
    ),  # the till writes its currency
    ("members_only", "03_activity"): (
        ["goal_gradient_slope"],
        ["flat and high", "Not available on these data: stamps and points", "100 % by construction"],
    ),
    ("members_only", "04_average_check"): (
        ["member_check_paired_change"],
        ["Not available on these data: the member / non-member gap", "Not available on these data: the placebo"],
    ),
    ("members_only", "05_satisfaction"): (
        ["nps", "return_odds_ratio_per_nps_point"],
        ["Not available on these data: NPS"],
    ),
    ("own_data", "02_enrollment"): ([], ["program_costs"]),
    ("own_data", "01_metrics_map"): ([], ["no survey answers"]),
    ("own_data", "03_activity"): (["goal_gradient_slope"], ["Members bring"]),
    ("own_data", "05_satisfaction"): (["nps"], ["Not available on these data: NPS"]),
}


@pytest.mark.parametrize("shape", ["members_only", "own_data"])
@pytest.mark.parametrize("notebook", EARLY)
def test_stage_runs_on_a_real_shape(notebook, shape, shapes, tmp_path):
    nb = _run(notebook, shapes[shape], tmp_path)
    text = _page_text(nb)
    assert "Traceback" not in text and "Error" not in text.replace("Errors", "")
    found = [m.group(0) for m in CASE_WORDS.finditer(text)]
    assert not found, f"{notebook} on {shape} tells the teaching case: {found[:5]}"
    assert "all checks passed" in text
    if shape == "own_data":  # a shop's own data: nothing planted, nothing checked against it
        assert "all checks passed; 0 against the planted truth" in text and "generator planted" not in text
    kpis = read_kpis(nb).set_index("kpi")
    assert len(kpis), "the stage publishes its scorecard rows"
    missing, words = EXPECTED.get((shape, notebook), ([], []))
    for k in missing:
        assert k in kpis.index and pd.isna(kpis.loc[k, "estimate"]), (k, kpis)
        assert len(kpis.loc[k, "reason"]) > 20, kpis.loc[k]
    assert (kpis["estimate"].notna() | (kpis["reason"].str.len() > 0)).all()
    for w in words:
        assert w in text, f"{notebook} on {shape}: expected {w!r} on the page"
