"""Every stage's page for managers, on the default-size branch, reads like a report: the page
check (:func:`loyalty_lib.report.lint.page_problems`) finds no raw column name, NaN, True/False,
scientific notation, traceback or local path on it.

Slow (each stage runs on 25,000 customers): ``make test-slow``. ``make test`` runs the same
check on the tiny report of ``tests/test_report.py``.
"""

import os

import nbformat
import papermill as pm
import pytest

from loyalty_lib import config
from loyalty_lib.report.lint import page_problems
from loyalty_lib.report.pages import render_pages

STAGES = sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", STAGES, ids=lambda p: p.stem)
def test_the_managers_page_of_the_default_branch_is_clean(path, branch_dir, tmp_path):
    out = tmp_path / path.name
    # as the report runs it: the data folder named relative to the notebooks, never as a local path
    data_dir = os.path.relpath(branch_dir, path.parent)
    pm.execute_notebook(
        str(path),
        str(out),
        parameters={"data_dir": data_dir},
        kernel_name="python3",
        cwd=str(path.parent),
        progress_bar=False,
    )
    pages = render_pages(nbformat.read(out, as_version=4), path.stem, path.stem, tmp_path)
    problems = page_problems(pages["manager"].read_text(encoding="utf-8"))
    assert problems == [], "\n".join(problems[:20])
