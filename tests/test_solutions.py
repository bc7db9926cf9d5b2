"""Exercises and their worked solutions: one solution notebook per stage, answering exactly the
exercises the stage shows, run on the teaching data with the checks of its answers."""

import re
import warnings

import matplotlib
import nbformat
import pytest

from loyalty_lib import config, nbtools

SOLUTIONS_DIR = config.NOTEBOOKS_DIR / "solutions"
#: Stages whose exercises have no worked solution yet, each with the reason (docs/teaching.md lists
#: them); a stage leaves the list when its solution notebook arrives, or this test fails.
PENDING = {
    "11_program_design": "the program-design stage is new; each answer needs simulator runs, not yet written up",
}
ALL_STAGES = sorted(config.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
STAGES = [p for p in ALL_STAGES if p.stem not in PENDING]


def exercise_cell(nb):
    """The one cell of a stage notebook that shows its exercises."""
    cells = [c for c in nb.cells if "## Exercises" in c.source]
    assert len(cells) == 1, "one exercises cell per stage notebook"
    return cells[0]


def stage_titles(nb) -> list[str]:
    """Titles of a stage's exercises, in order (``1. **Title.** question``)."""
    return [t.rstrip(".") for t in re.findall(r"\d+\. \*\*(.+?)\*\*", exercise_cell(nb).source)]


def solution_titles(nb) -> list[str]:
    """Titles a solution notebook answers, in order (``## Exercise 1 · **Title**``)."""
    found = [
        re.findall(r"^## Exercise (\d+) · \*\*(.+?)\*\*", c.source, re.M) for c in nb.cells if c.cell_type == "markdown"
    ]
    pairs = [p for f in found for p in f]
    assert [int(n) for n, _ in pairs] == list(range(1, len(pairs) + 1)), "exercises numbered 1, 2, ..."
    return [t.rstrip(".") for _, t in pairs]


def test_titles_are_read():
    stage = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell('x = "## Exercises\\n1. **Why?** a\\n2. **Cut.** b"')]
    )
    solution = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("## Exercise 1 · **Why?**"),
            nbformat.v4.new_markdown_cell("## Exercise 2 · **Cut**"),
        ]
    )
    assert stage_titles(stage) == solution_titles(solution) == ["Why?", "Cut"]


def test_every_stage_has_a_solution_notebook():
    solutions = sorted(p.name for p in SOLUTIONS_DIR.glob("*.ipynb"))
    assert solutions == [p.name for p in STAGES], "a stage without a solution belongs in PENDING, with its reason"
    assert not {f"{k}.ipynb" for k in PENDING} & set(solutions), "a solved stage leaves PENDING"
    guide = (config.PROJECT_DIR / "docs" / "teaching.md").read_text(encoding="utf-8")
    assert all(f"`{k}`" in guide for k in PENDING), "the teacher's guide names the stages without solutions"


@pytest.mark.parametrize("path", STAGES, ids=lambda p: p.stem)
def test_exercises_are_for_the_teaching_data_and_analysts_only(path):
    cell = exercise_cell(nbformat.read(path, as_version=4))
    # a conditional code cell: the exercises never show on a shop's data, and never on a manager's page
    assert cell.cell_type == "code" and re.search(r"^if (teaching|is_teaching\(ds\)):", cell.source, re.M), cell.source
    assert "analyst-only" in cell.metadata.get("tags", [])


@pytest.mark.parametrize("path", STAGES, ids=lambda p: p.stem)
def test_the_solution_answers_the_stage_exercises(path):
    titles = stage_titles(nbformat.read(path, as_version=4))
    assert titles, "the stage has exercises"
    assert solution_titles(nbformat.read(SOLUTIONS_DIR / path.name, as_version=4)) == titles


@pytest.mark.parametrize("path", STAGES, ids=lambda p: p.stem)
def test_solution_runs_on_the_teaching_data_and_its_answers_hold(path):
    nb = nbformat.read(SOLUTIONS_DIR / path.name, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nbtools.stray_outputs(nb) == [], "solutions are committed without outputs"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1
    checks = code[-1]
    assert checks.source.count("assert ") >= 2 and "analyst-only" in checks.metadata.get("tags", [])
    # run it as a notebook would, in this process (one interpreter for all solutions); the
    # house chart style and warning filters the notebook installs are undone afterwards
    ns = {"__name__": "__main__"}
    with matplotlib.rc_context(), warnings.catch_warnings():
        for i, cell in enumerate(code):
            exec(compile(cell.source, f"{path.stem} solution, code cell {i}", "exec"), ns)
    assert ns["is_teaching"](ns["ds"]), "answers are checked on the teaching data"
