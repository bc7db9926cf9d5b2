"""Notebooks 06 and 07 on the data shapes of real exports: each picks the design the data allow.

Three folders cut from the generator and written as a shop's export would be (no planted truth):
members only with card issue dates (the event study), members only of a program older than the
data without issue dates (no causal design: "not available"), and a chain where one branch
launches the program (the store-month DiD). The teaching branch runs in tests/test_notebooks.py.
"""

import sys
from pathlib import Path

import nbformat
import numpy as np
import papermill as pm
import pytest

from loyalty_lib import config, io, synth
from loyalty_lib.kpi import read_kpis

sys.path.insert(0, str(Path(__file__).resolve().parent))
import impact_data  # noqa: E402

NB = {n: config.NOTEBOOKS_DIR / f"{n}.ipynb" for n in ("06_impact", "07_roi_clv")}


SHAPES = {
    "members_issue_dates": lambda b: impact_data.members_only(b, truth=False),
    "members_older": impact_data.members_only_older,
    "chain": lambda b: impact_data.chain(b, [synth.generate(n_customers=1200, seed=105 + i) for i in range(2)]),
}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Each shape written once, on first use, from one generated branch."""
    root = tmp_path_factory.mktemp("impact_shapes")
    branch = synth.generate(n_customers=2500, seed=5)
    made = {}

    def folder(shape: str) -> Path:
        if shape not in made:
            made[shape] = io.save(SHAPES[shape](branch), root / shape)
        return made[shape]

    return folder


def run(notebook: str, folder: Path, tmp_path: Path):
    out = tmp_path / f"{notebook}.ipynb"
    pm.execute_notebook(
        str(NB[notebook]),
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


@pytest.mark.parametrize(
    "shape, design, available, missing",
    [
        (
            "members_issue_dates",
            "event study, members only",
            ["did_revenue", "did_visits"],
            ["naive_gap", "psw_revenue"],
        ),
    ],
)
def test_impact_takes_the_design_the_data_allow(folders, tmp_path, shape, design, available, missing):
    kpis, text = run("06_impact", folders(shape), tmp_path)
    for k in available:
        assert np.isfinite(kpis.loc[k, "estimate"]) and kpis.loc[k, "ci_low"] <= kpis.loc[k, "estimate"], k
    for k in missing:
        assert np.isnan(kpis.loc[k, "estimate"]) and kpis.loc[k, "reason"].strip(), k
    if design is None:
        assert "No causal effect of the program can be estimated from these data" in text
        assert "issue dates" in kpis.loc["did_revenue", "reason"]
    else:
        assert f"({design})" in kpis.loc[available[0], "label"] or shape == "chain"
        assert "What it assumes" in text


@pytest.mark.parametrize(
    "shape, roi_available",
    [("members_issue_dates", False)],
)
def test_roi_needs_costs_and_an_impact_design_while_lifetime_value_runs_on_any_data(
    folders, tmp_path, shape, roi_available
):
    kpis, text = run("07_roi_clv", folders(shape), tmp_path)
    # the lifetime value and its holdout check run whatever the impact design
    assert np.isfinite(kpis.loc["clv_mean", "estimate"])
    assert "predicted" in text or "model" in text
    if roi_available:  # the chain keeps the launching branch's cost ledger
        r = kpis.loc["roi_pct"]
        assert np.isfinite(r["estimate"]) and r["ci_low"] <= r["estimate"] <= r["ci_high"]
        assert "branch DiD" in r["label"] and np.isfinite(kpis.loc["cost_total", "estimate"])
    else:
        assert np.isnan(kpis.loc["roi_pct", "estimate"])
        assert np.isnan(kpis.loc["cost_total", "estimate"])
        assert "ROI not available: no costs" in text
    if shape == "members_older":
        assert np.isnan(kpis.loc["incremental_gross_revenue", "estimate"])
    else:
        assert np.isfinite(kpis.loc["incremental_gross_revenue", "estimate"])
