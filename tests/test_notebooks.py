"""Every stage notebook: clean when committed, documented parameters, runs with its truth checks."""

import json
import re

import nbformat
import papermill as pm
import pytest

from loyalty_lib import config, nbtools
from loyalty_lib.kpi import read_kpis

NOTEBOOKS = sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
STANDARD = {"data_dir", "generate", "seed", "n_customers"}


def test_there_are_notebooks():
    assert NOTEBOOKS and NOTEBOOKS[0].name == "00_case_and_data.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_clean(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nbtools.stray_outputs(nb) == [], "only # NBVAL_CHECK_OUTPUT cells may keep output"
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert sum("parameters" in t for t in tags) == 1
    params = pm.inspect_notebook(str(path))
    assert STANDARD <= set(params), f"parameters cell lacks {STANDARD - set(params)}"
    assert all(p["help"] for p in params.values()), "every parameter carries a comment"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "def " not in code.replace("undef", "") or code.count("def ") <= 2, "no long function definitions"
    assert any(c.cell_type == "markdown" and "Exercises" in c.source for c in nb.cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_with_its_truth_checks_on_the_default_branch(path, branch_dir, tmp_path):
    # nbval runs the notebooks on the 2,000-customer teaching sample; this run reads the cached
    # default-size branch (25,000 customers), where every planted-truth check in the notebook's
    # checks cell runs against intervals as narrow as a real branch gives
    out = tmp_path / path.name
    pm.execute_notebook(
        str(path),
        str(out),
        parameters={"data_dir": str(branch_dir)},
        kernel_name="python3",
        cwd=str(path.parent),
        progress_bar=False,
    )
    nb = nbformat.read(out, as_version=4)
    kpis = read_kpis(nb)
    assert len(kpis), "the notebook publishes its scorecard figures"
    assert kpis["estimate"].notna().all()
    json.dumps(kpis.to_dict("records"))
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "all checks passed" in printed, "the checks cell ran to its end"
    counted = re.search(r"all checks passed; (\d+) against the planted truth", printed)
    assert counted is None or int(counted.group(1)) >= 1, "the planted-truth checks ran on synthetic data"
