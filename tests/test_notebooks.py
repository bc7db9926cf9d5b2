"""Every stage notebook: clean when committed, documented parameters, runs with its truth checks."""

import ast
import json
import re
import subprocess
import sys

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
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "def " not in code.replace("undef", "") or code.count("def ") <= 2, "no long function definitions"
    # exercises for class: shown on the teaching data only, so they may sit in a conditional cell
    assert any("Exercises" in c.source for c in nb.cells)


def assigned_names(source: str) -> list[str]:
    """Names a parameters cell assigns, in order, read with Python's own parser."""
    names = []
    for node in ast.parse(source).body:
        targets = [node.target] if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [])
        names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


def undocumented_parameters(path) -> list[str]:
    """Parameters of a notebook that ``papermill --help-notebook`` does not list with a help text."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    documented = pm.inspect_notebook(str(path))
    return [n for n in assigned_names(cell.source) if not documented.get(n, {}).get("help")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_help_notebook_documents_every_parameter(path):
    missing = undocumented_parameters(path)
    assert not missing, (
        f"papermill --help-notebook {path.name} lacks {missing}: give each a # comment, and keep "
        "quotes and a second = sign out of the line (papermill cannot parse them)"
    )


def test_help_notebook_check_catches_an_unparsable_comment(tmp_path):
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [
        nbformat.v4.new_code_cell(
            "seed: int = 42  # generator seed\n"
            "plant: bool = False  # with generate=True: plant the tiers\n"
            "size: int = 10\n",
            metadata={"tags": ["parameters"]},
        )
    ]
    nbformat.write(nb, tmp_path / "99_x.ipynb")
    assert undocumented_parameters(tmp_path / "99_x.ipynb") == ["plant", "size"]


def test_help_notebook_command_lists_the_parameters():
    path = NOTEBOOKS[4]
    out = subprocess.run(
        [sys.executable, "-m", "papermill", "--help-notebook", str(path)], capture_output=True, text=True, check=True
    ).stdout
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert all(f"  {name}: " in out for name in assigned_names(cell.source)), out


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
