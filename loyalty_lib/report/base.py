"""What the report's modules share: cell tags, status words, the run's result and its error."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

#: Stage notebooks are files named like ``02_enrollment.ipynb``.
NOTEBOOK_PATTERN = re.compile(r"^\d\d_[A-Za-z0-9_]+\.ipynb$")
#: Cell tags honoured in the HTML pages.
HIDE_INPUT_TAGS = {
    "hide-input",
    "hide_input",
    "remove-input",
    "remove_input",
}
REMOVE_CELL_TAGS = {"remove-cell", "remove_cell"}
REMOVE_OUTPUT_TAGS = {"remove-output", "remove_output", "hide-output", "hide_output"}
#: Cells for analysts only (raw frames, diagnostics): left out of the managers' page.
ANALYST_ONLY_TAGS = {"analyst-only", "analyst_only"}
#: First words of Markdown headings whose sections are for analysts and teachers only.
ANALYST_SECTIONS = frozenset(
    {"checks", "assertions", "exercise", "exercises", "versions", "environment", "reproducibility"}
)
ERROR_CELL_TAG = "papermill-error-cell-tag"
NBVAL_MARK = "# NBVAL_CHECK_OUTPUT"
#: Per-cell time limit of a notebook run, in seconds.
CELL_TIMEOUT = 900
#: Packages whose versions the index lists.
VERSION_PACKAGES = (
    "loyalty-lib",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "linearmodels",
    "matplotlib",
    "seaborn",
    "pyarrow",
    "pandera",
    "papermill",
    "nbconvert",
    "ipykernel",
)
STATUS_TEXT = {
    "green": "✓ met",
    "amber": "≈ target inside CI",
    "red": "✗ missed",
    "grey": "no target",
    "info": "for information",
    "na": "not available",
}

#: Text-only results that are object reprs (``<BarContainer object of 3 artists>``,
#: ``[<matplotlib.lines.Line2D at 0x7f...>]``, ``<Axes: xlabel='x'>``, ``Text(0.5, 1.0, 'a')``).
_REPR_RE = re.compile(r"^\s*\[?\s*((<[^<>\n]+>|Text\([^\n]*\)|<Axes:[^\n]*>),?\s*)+\]?\s*$")


class ReportError(ValueError):
    """A report cannot start: bad arguments, parameters or report folder."""


@dataclass
class ReportResult:
    """What a report run produced.

    Attributes
    ----------
    out_dir : Path
        The report folder.
    exit_code : int
        0 when the data passed and every stage ran; 1 otherwise.
    stages : list of dict
        Per notebook: ``name, title, status ("ok"/"failed"), error, seconds, kpis`` and page paths.
    failed : list of str
        Names of the notebooks that failed.
    problems : pandas.DataFrame or None
        Contract problems that stopped the run (``table, column, rule, n_rows, row_ids``).
    quarantined : pandas.DataFrame or None
        Rows set aside, by ``table, column, rule`` (``n_rows``).
    """

    out_dir: Path
    exit_code: int = 0
    stages: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    problems: pd.DataFrame | None = None
    quarantined: pd.DataFrame | None = None

    @property
    def index(self) -> Path:
        """Path of ``index.html``."""
        return self.out_dir / "index.html"
