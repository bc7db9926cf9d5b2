"""The batch report: check the data, run every stage notebook, write HTML pages and a scorecard.

:func:`run_report` (the ``loyalty report`` command) does, in order:

1. picks the report folder: a new ``outputs/runs/YYYYmmdd-HHMMSS/`` by default; never one that is,
   lies inside or contains the data folder; an existing, non-empty folder only with
   ``force=True`` and only if it holds an earlier report of the suite and nothing else (its
   manifest lists every file). The run locks the folder (a second run into it is refused),
   builds the whole report in a hidden folder beside it, and swaps it in when complete
   (:mod:`loyalty_lib.outdir`);
2. loads and checks the data with :func:`loyalty_lib.io.load`. Broken data stop the run with an
   ``index.html`` that lists every problem (table, column, rule, rows, ids), unless
   ``quarantine=True``: then the bad rows are set aside into ``<out>/quarantine/`` and counted
   on the index. When the data came through a column mapping, from CSV or lost rows to the
   quarantine, the clean contract tables are written as Parquet to ``<out>/data/`` and the
   notebooks read that copy; the user's files are never modified;
3. executes every ``notebooks/NN_*.ipynb`` with papermill, ``jobs`` at a time, each with
   ``data_dir`` (the data folder, or ``../data``: the report's copy, relative to the executed
   notebook, so it stays valid when the report is moved) and the parameters of the params YAML
   it declares, all checked against :mod:`loyalty_lib.params` before step 1;
4. writes, per stage, the executed notebook and two self-contained HTML pages (no code for
   managers, with code for analysts; images embedded, nothing fetched from the internet);
5. writes ``index.html``: the KPI scorecard (value, 95 % CI, target, status colour), links to
   the pages, and the run's metadata; plus ``run.json`` for schedulers.

A stage that fails does not stop the others; its page shows the error, the index marks it red,
and the result's exit code is non-zero. Each stage runs in a worker process; Ctrl-C or SIGTERM
stops the workers and their kernels at once and leaves the report folder as it was, and a worker
whose run was killed (``kill -9``) stops its kernel and itself. The index names folders by paths
relative to the report; every string on a page is HTML-escaped.

The package has one module per job: :mod:`~loyalty_lib.report.runner` (the run, workers,
signals, the command line), :mod:`~loyalty_lib.report.stage` (papermill on one notebook),
:mod:`~loyalty_lib.report.parameters` (the params YAML), :mod:`~loyalty_lib.report.pages`
(stage pages), :mod:`~loyalty_lib.report.scoring` (the scorecard, statuses and number formats),
:mod:`~loyalty_lib.report.index` (the front page), :mod:`~loyalty_lib.report.meta` (git and
versions), :mod:`~loyalty_lib.report.files` (atomic writes, the report folder) and
:mod:`~loyalty_lib.report.templates` (the Jinja2 templates in ``loyalty_lib/templates``).
"""

from loyalty_lib.report.base import (
    ANALYST_ONLY_TAGS,
    ANALYST_SECTIONS,
    CELL_TIMEOUT,
    ERROR_CELL_TAG,
    HIDE_INPUT_TAGS,
    NBVAL_MARK,
    NOTEBOOK_PATTERN,
    REMOVE_CELL_TAGS,
    REMOVE_OUTPUT_TAGS,
    STATUS_TEXT,
    VERSION_PACKAGES,
    ReportError,
    ReportResult,
)
from loyalty_lib.report.files import atomic_write_text, prepare_out_dir
from loyalty_lib.report.index import write_index
from loyalty_lib.report.meta import package_versions
from loyalty_lib.report.pages import analyst_cells, notebook_title, render_pages
from loyalty_lib.report.parameters import declared_parameters, find_notebooks, notebook_parameters, read_params
from loyalty_lib.report.runner import Interrupted, run_from_cli, run_report
from loyalty_lib.report.scoring import fmt, fmt_ci, kpi_status, scorecard
from loyalty_lib.report.stage import run_stage

__all__ = [
    "ANALYST_ONLY_TAGS",
    "ANALYST_SECTIONS",
    "CELL_TIMEOUT",
    "ERROR_CELL_TAG",
    "HIDE_INPUT_TAGS",
    "NBVAL_MARK",
    "NOTEBOOK_PATTERN",
    "REMOVE_CELL_TAGS",
    "REMOVE_OUTPUT_TAGS",
    "STATUS_TEXT",
    "VERSION_PACKAGES",
    "Interrupted",
    "ReportError",
    "ReportResult",
    "analyst_cells",
    "atomic_write_text",
    "declared_parameters",
    "find_notebooks",
    "fmt",
    "fmt_ci",
    "kpi_status",
    "notebook_parameters",
    "notebook_title",
    "package_versions",
    "prepare_out_dir",
    "read_params",
    "render_pages",
    "run_from_cli",
    "run_report",
    "run_stage",
    "scorecard",
    "write_index",
]
