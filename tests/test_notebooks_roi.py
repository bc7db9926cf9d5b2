"""Notebook 07 on the data shapes of real exports (see tests/test_notebooks_impact.py).

ROI needs costs (a ledger or cost parameters) and an impact design; the lifetime value runs on any
data with repeat purchases, whatever the design.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_notebooks_impact import run_notebook, shapes  # noqa: E402, F401 (shapes is the fixture of the folders)


@pytest.mark.parametrize(
    "shape, roi_design",
    [("members_issue_dates", None), ("members_only", None), ("walk_ins", "branch DiD")],
)
def test_roi_needs_costs_and_a_design_while_lifetime_value_runs_on_any_data(shapes, tmp_path, shape, roi_design):  # noqa: F811
    kpis, text = run_notebook("07_roi_clv", shapes(shape), tmp_path)
    # the lifetime value and its holdout check run whatever the impact design
    assert np.isfinite(kpis.loc["clv_mean", "estimate"])
    assert "holdout to" in text
    if roi_design:  # the walk-in chain has a cost ledger and a launching branch
        r = kpis.loc["roi_pct"]
        assert np.isfinite(r["estimate"]) and r["ci_low"] <= r["estimate"] <= r["ci_high"]
        assert roi_design in r["label"] and np.isfinite(kpis.loc["cost_total", "estimate"])
    else:  # no cost ledger, no cost parameters
        assert pd.isna(kpis.loc["roi_pct", "estimate"]) and pd.isna(kpis.loc["cost_total", "estimate"])
        assert "ROI not available: no costs" in text
    if shape == "members_only":  # nobody is seen without the program
        assert pd.isna(kpis.loc["incremental_gross_revenue", "estimate"])
    else:
        assert np.isfinite(kpis.loc["incremental_gross_revenue", "estimate"])
