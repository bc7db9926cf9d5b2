"""Notebook 06 on the data shapes of real exports: it takes the design the data allow.

Three folders written as a shop's export would be: members only with card issue dates (the event
study), the generator's members-only export of a program older than the data without issue dates
(no causal design: "not available"), and walk-in receipts at four branches of which one launches
the program (the store-month DiD). The teaching branch runs in tests/test_notebooks.py; notebook 07
on the same shapes in tests/test_notebooks_roi.py.
"""

import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import papermill as pm
import pytest

from loyalty_lib import config
from loyalty_lib.kpi import read_kpis

sys.path.insert(0, str(Path(__file__).resolve().parent))
import impact_data  # noqa: E402


def run_notebook(notebook: str, folder: Path, tmp_path: Path):
    """Run a notebook on a folder; return its KPIs (by kpi) and every text it showed."""
    out = tmp_path / f"{notebook}.ipynb"
    pm.execute_notebook(
        str(config.NOTEBOOKS_DIR / f"{notebook}.ipynb"),
        str(out),
        parameters={"data_dir": str(folder), "n_boot": 60},
        kernel_name="python3",
        cwd=str(config.NOTEBOOKS_DIR),
        progress_bar=False,
    )
    nb = nbformat.read(out, as_version=4)
    texts = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            assert o.get("output_type") != "error", o
            texts.append(o.get("text", ""))
            texts += [str(v) for k, v in o.get("data", {}).items() if k.startswith("text/")]
    text = "\n".join(texts)
    assert "all checks passed" in text
    assert "Sergey" not in text and "RUB" not in text and "Traceback" not in text
    return read_kpis(nb).set_index("kpi"), text


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes")
    return lambda shape: impact_data.shape_folder(shape, root)


@pytest.mark.parametrize(
    "shape, design, available, missing",
    [
        (
            "members_issue_dates",
            "event study, members only",
            ["did_revenue", "did_visits"],
            ["naive_gap", "psw_revenue"],
        ),
        ("members_only", None, [], ["did_revenue", "did_visits", "naive_gap", "psw_revenue"]),
        ("walk_ins", "branch DiD", ["branch_revenue", "naive_gap"], ["did_revenue", "did_visits", "psw_revenue"]),
    ],
)
def test_impact_takes_the_design_the_data_allow(shapes, tmp_path, shape, design, available, missing):
    kpis, text = run_notebook("06_impact", shapes(shape), tmp_path)
    for k in available:
        assert np.isfinite(kpis.loc[k, "estimate"]) and kpis.loc[k, "ci_low"] <= kpis.loc[k, "estimate"], k
    for k in missing:
        assert pd.isna(kpis.loc[k, "estimate"]) and kpis.loc[k, "reason"].strip(), k
    if design is None:
        assert "No causal effect of the program can be estimated from these data" in text
        assert "issue dates" in kpis.loc["did_revenue", "reason"] and "branch" in kpis.loc["did_revenue", "reason"]
    else:
        assert f"Design: {design}" in text or design in kpis.loc[available[0], "label"] or shape == "walk_ins"
        assert "What it assumes" in text
    if shape == "walk_ins":  # members are named only by their card: no customer-level design
        assert "carry no customer id" in kpis.loc["did_revenue", "reason"]
        assert "Launching: S1" in text
