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

Cell tags a notebook can use for its pages: ``hide-input`` (code hidden on both pages),
``remove-output`` (output hidden on both), ``remove-cell`` (cell left out of both) and
``analyst-only`` (cell left out of the managers' page). Managers' pages also leave out all
code, warnings on stderr, object reprs such as ``<BarContainer ...>`` and the plain-text copies
printed by ``# NBVAL_CHECK_OUTPUT`` cells.

A stage that fails does not stop the others; its page shows the error, the index marks it red,
and the result's exit code is non-zero. Each stage runs in a worker process; Ctrl-C or SIGTERM
stops the workers and their kernels at once and leaves the report folder as it was, and a worker
whose run was killed (``kill -9``) stops its kernel and itself. The index names folders by paths
relative to the report; every string on a page is HTML-escaped.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import copy
import datetime as dt
import html
import json
import math
import multiprocessing
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from loyalty_lib import config
from loyalty_lib.kpi import KPI_COLUMNS, read_kpis
from loyalty_lib.params import ParameterError, check_params
from loyalty_lib.stats import format_number
from loyalty_lib.validation import count_set_aside, set_aside_message

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


# --------------------------------------------------------------------------- files


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _publish(tmp: str | Path, path: Path) -> None:
    """Give a finished temporary file normal permissions and move it into place."""
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    """Write text to ``path`` via a temporary file in the same folder and :func:`os.replace`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        _publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def prepare_out_dir(
    out: str | Path | None,
    *,
    force: bool = False,
    runs_dir: Path | None = None,
    data_dir: str | Path | None = None,
) -> Path:
    """Return the report folder a run will publish into, refusing any that could hurt a file.

    Nothing is written into the folder here: the report is built beside it and swapped in when
    complete (see :mod:`loyalty_lib.outdir`).

    Parameters
    ----------
    out : str or Path or None
        Wanted folder; ``None`` makes a new, empty ``outputs/runs/YYYYmmdd-HHMMSS`` folder (with
        a ``-2``, ``-3`` ... suffix when two runs start in the same second).
    force : bool
        Allow replacing an earlier report of the suite in ``out``.
    runs_dir : Path, optional
        Parent of timestamped folders (default ``outputs/runs``).
    data_dir : str or Path, optional
        The data folder: ``out`` may not be it, lie inside it or contain it.

    Returns
    -------
    Path
        Absolute path of the folder.

    Raises
    ------
    ReportError
        When ``out`` overlaps the data folder; holds files the suite did not write (no
        manifest, or files the manifest does not list: ``force`` never removes those); or
        holds an earlier report and ``force`` is not set.
    """
    from loyalty_lib import outdir

    if out is None:
        parent = Path(runs_dir or config.OUTPUTS_DIR / "runs")
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        if data_dir is not None:
            _refuse(outdir.refuse_data_overlap, parent / stamp, [data_dir])
        parent.mkdir(parents=True, exist_ok=True)
        for i in range(1, 1000):
            cand = parent / (stamp if i == 1 else f"{stamp}-{i}")
            try:
                cand.mkdir()
                return cand.resolve()
            except FileExistsError:
                continue
        raise ReportError(f"could not make a new run folder in {parent}")  # pragma: no cover
    out = Path(out).resolve()
    _refuse(outdir.refuse_data_overlap, out, [data_dir])
    _refuse(outdir.check_replaceable, out, force=force, what="--out")
    return out


def _refuse(check, *args, **kwargs) -> None:
    """Run an output-folder check; turn its refusal into a :class:`ReportError` (exit 2)."""
    from loyalty_lib.outdir import OutputFolderError

    try:
        check(*args, **kwargs)
    except OutputFolderError as e:
        raise ReportError(str(e)) from None


# --------------------------------------------------------------------------- parameters


def read_params(params: str | Path | dict | None) -> tuple[dict, dict]:
    """Split a params YAML into parameters for all notebooks and per-notebook overrides.

    Parameters
    ----------
    params : path, dict or None
        Top-level keys apply to every notebook; a ``notebooks: {NN_name: {...}}`` section
        overrides them per notebook.

    Returns
    -------
    common : dict
    per_notebook : dict of str to dict

    Raises
    ------
    ReportError
        When the file is missing or malformed.
    """
    if params is None:
        return {}, {}
    if isinstance(params, dict):
        spec = dict(params)
    else:
        path = Path(params)
        if not path.is_file():
            raise ReportError(f"params file {path} does not exist")
        try:
            spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ReportError(f"params file {path} is not valid YAML: {e}") from e
    if not isinstance(spec, dict):
        raise ReportError("params: the file must hold a mapping of parameter names to values")
    per = spec.pop("notebooks", None) or {}
    if not isinstance(per, dict) or not all(isinstance(v, dict) or v is None for v in per.values()):
        raise ReportError("params: 'notebooks' must map notebook names (NN_name) to parameter mappings")
    return spec, {str(k).removesuffix(".ipynb"): dict(v or {}) for k, v in per.items()}


def find_notebooks(folder: str | Path | None = None) -> list[Path]:
    """Return the stage notebooks ``NN_*.ipynb`` of ``folder`` (default ``notebooks/``), sorted."""
    folder = Path(folder or config.NOTEBOOKS_DIR)
    if not folder.is_dir():
        raise ReportError(f"notebook folder {folder} does not exist")
    return sorted(p for p in folder.iterdir() if NOTEBOOK_PATTERN.match(p.name))


def declared_parameters(path: Path) -> set[str]:
    """Return the names assigned in a notebook's cell tagged ``parameters``.

    See :func:`loyalty_lib.params.parameters_cell`.
    """
    from loyalty_lib.params import parameters_cell

    return set(parameters_cell(path))


def notebook_parameters(path: Path, common: dict, per_notebook: dict, data_dir: str | None) -> tuple[dict, dict]:
    """Return the parameters to pass to one notebook, and those it does not declare.

    Only parameters that the notebook's ``parameters`` cell declares are passed (see
    :func:`declared_parameters`); ``data_dir`` is passed as an absolute path.

    Returns
    -------
    passed : dict
    ignored : dict
    """
    declared = declared_parameters(path)
    wanted = dict(common)
    if data_dir is not None:
        wanted["data_dir"] = data_dir
    wanted.update(per_notebook.get(path.stem, {}))
    passed = {k: v for k, v in wanted.items() if k in declared}
    ignored = {k: v for k, v in wanted.items() if k not in declared}
    return passed, ignored


# --------------------------------------------------------------------------- HTML pages

_PAGE_CSS = """
body.jp-Notebook { background: #f6f7f9; }
main { max-width: 1120px; margin: 0 auto !important; background: #fff; padding: 0 28px 40px !important;
       box-shadow: 0 0 0 1px #e3e6ea; min-height: 100vh; }
.lr-nav { position: sticky; top: 0; z-index: 10; background: #1f3a5f; color: #fff; margin: 0 -28px 16px;
          padding: 10px 28px; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
          display: flex; gap: 18px; align-items: center; flex-wrap: wrap; }
.lr-nav a { color: #fff; text-decoration: none; }
.lr-nav a:hover { text-decoration: underline; }
.lr-nav .lr-title { font-weight: 600; flex: 1; }
.lr-nav .lr-flavour { background: rgba(255,255,255,.15); border-radius: 4px; padding: 2px 8px; }
.lr-banner { border-left: 6px solid #c62828; background: #fdecea; color: #611a15; padding: 12px 16px;
             margin: 8px 0 16px; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.lr-banner code { white-space: pre-wrap; font-size: 14px; }
.jp-OutputArea-output img { max-width: 100%; height: auto; }
.jp-RenderedHTMLCommon table { font-size: 13px; }
.lr-manager .jp-Cell { padding: 2px 0; }
.lr-manager .jp-OutputArea-prompt, .lr-manager .jp-InputPrompt { display: none; }
"""  # noqa: E501

_PAGE_TEMPLATE = r"""
{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}<style type="text/css">{{ resources.lr_css }}</style>{%- endblock extra_css -%}
{%- block body_header -%}
<body class="jp-Notebook {{ resources.lr_body_class }}" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<main>
{{ resources.lr_header }}
{%- endblock body_header -%}
"""  # noqa: E501


def _exporter(manager: bool):
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exp = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"loyalty_page.html.j2": _PAGE_TEMPLATE})],
        template_file="loyalty_page.html.j2",
        exclude_input=manager,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    tags = TagRemovePreprocessor(
        remove_cell_tags=REMOVE_CELL_TAGS,
        remove_all_outputs_tags=REMOVE_OUTPUT_TAGS,
        remove_input_tags=HIDE_INPUT_TAGS,
        enabled=True,
    )
    exp.register_preprocessor(tags, enabled=True)
    return exp


def _clean_outputs(nb, *, manager: bool):
    """Drop object reprs (``<matplotlib... at 0x...>``).

    For managers, also drop warnings on stderr, the cells tagged ``analyst-only``, and what
    the ``# NBVAL_CHECK_OUTPUT`` cells print: rounded plain-text copies kept for the notebook
    tests, which repeat a table the page already shows (their rich outputs stay).
    """
    nb = copy.deepcopy(nb)
    if manager:  # papermill's "execution encountered an exception" notes: the banner says it plainly
        drop = ANALYST_ONLY_TAGS | {ERROR_CELL_TAG}
        nb.cells = [c for c in nb.cells if not drop & set(c.get("metadata", {}).get("tags", []))]
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        keep = []
        check_cell = NBVAL_MARK in cell.source
        for out in cell.get("outputs", []):
            if manager and out.get("output_type") == "stream" and (out.get("name") == "stderr" or check_cell):
                continue
            if out.get("output_type") in ("execute_result", "display_data"):
                data = out.get("data", {})
                if set(data) == {"text/plain"} and _REPR_RE.match(str(data["text/plain"])):
                    continue
            keep.append(out)
        cell["outputs"] = keep
    return nb


def _nav(title: str, name: str, manager: bool, error: str | None) -> str:
    other = f"{name}.code.html" if manager else f"{name}.html"
    other_label = "show the code" if manager else "hide the code"
    flavour = "summary for managers" if manager else "with code, for analysts"
    out = (
        f'<nav class="lr-nav"><a href="../index.html">← report index</a>'
        f'<span class="lr-title">{html.escape(title)}</span>'
        f'<span class="lr-flavour">{flavour}</span><a href="{other}">{other_label}</a>'
        f'<a href="../notebooks/{name}.ipynb" download>notebook</a></nav>'
    )
    if error:
        out += (
            '<div class="lr-banner"><strong>This stage did not finish.</strong> Its figures below '
            "stop where the error happened, and the scorecard has no figures from it.<br>"
            f"<code>{html.escape(error)}</code></div>"
        )
    return out


def render_pages(nb, name: str, title: str, pages_dir: Path, error: str | None = None) -> dict:
    """Write the manager's and the analyst's HTML page of one executed notebook.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        Executed notebook.
    name : str
        Notebook name (``NN_stage``); pages are ``<name>.html`` and ``<name>.code.html``.
    title : str
        Title shown in the page's header.
    pages_dir : Path
        Folder of the pages.
    error : str, optional
        Error line to show in a banner when the notebook failed.

    Returns
    -------
    dict
        ``{"manager": path, "analyst": path}``.
    """
    paths = {}
    for flavour, manager, fname in (
        ("manager", True, f"{name}.html"),
        ("analyst", False, f"{name}.code.html"),
    ):
        exp = _exporter(manager)
        body, _ = exp.from_notebook_node(
            _clean_outputs(nb, manager=manager),
            resources={
                "metadata": {"name": title},
                "lr_css": _PAGE_CSS,
                "lr_header": _nav(title, name, manager, error),
                "lr_body_class": "lr-manager" if manager else "lr-analyst",
            },
        )
        path = pages_dir / fname
        atomic_write_text(path, body)
        paths[flavour] = path
    return paths


def _error_page(name: str, title: str, error: str, pages_dir: Path) -> dict:
    """Pages for a notebook that produced no executed copy (the kernel did not start, ...)."""
    paths = {}
    for flavour, manager, fname in (
        ("manager", True, f"{name}.html"),
        ("analyst", False, f"{name}.code.html"),
    ):
        text = (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}"
            f"</title><style>{_PAGE_CSS}</style></head><body class='jp-Notebook'><main>"
            f"{_nav(title, name, manager, error)}</main></body></html>"
        )
        path = pages_dir / fname
        atomic_write_text(path, text)
        paths[flavour] = path
    return paths


def notebook_title(nb, default: str) -> str:
    """Return the first Markdown heading of a notebook, or ``default``."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        if ERROR_CELL_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        for line in cell.source.splitlines():
            m = re.match(r"^\s*#{1,3}\s+(.+?)\s*#*\s*$", line)
            if m:
                return re.sub(r"[*_`]", "", m.group(1))
    return default


# --------------------------------------------------------------------------- one stage


def _last_line(name, value) -> str:
    lines = str(value).strip().splitlines()
    return f"{name}: {lines[-1]}" if lines else str(name)


def run_stage(path: str, out_dir: str, parameters: dict, kernel_name: str = "python3") -> dict:
    """Execute one stage notebook and write its executed copy and HTML pages.

    Runs in a worker process; never raises for a notebook's own failure.

    Parameters
    ----------
    path : str
        The stage notebook.
    out_dir : str
        Report folder (``notebooks/`` and ``pages/`` are written inside).
    parameters : dict
        Passed to papermill.
    kernel_name : str
        Jupyter kernel.

    Returns
    -------
    dict
        ``name, title, status ("ok"/"failed"), error, seconds, kpis`` (list of records),
        ``notebook, page, code_page`` (paths relative to ``out_dir``).
    """
    import logging

    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    # papermill warns about help comments it cannot parse; parameters are checked here instead
    logging.getLogger("papermill").setLevel(logging.ERROR)
    path, out = Path(path), Path(out_dir)
    name = path.stem
    nb_dir, pages_dir = out / "notebooks", out / "pages"
    nb_dir.mkdir(parents=True, exist_ok=True)
    pages_dir.mkdir(parents=True, exist_ok=True)
    executed = nb_dir / f"{name}.ipynb"
    fd, tmp = tempfile.mkstemp(dir=nb_dir, prefix=f".{name}.", suffix=".ipynb")
    os.close(fd)
    tmp = Path(tmp)
    t0 = time.perf_counter()
    error = None
    try:
        papermill.execute_notebook(
            str(path),
            str(tmp),
            parameters=parameters,
            kernel_name=kernel_name,
            progress_bar=False,
            cwd=str(nb_dir),  # a relative data_dir (``../data``) reads the report's own copy
            execution_timeout=CELL_TIMEOUT,
            extra_arguments=["--log-level=CRITICAL"],  # no kernel log noise ("running over TCP")
        )
    except PapermillExecutionError as e:
        error = _last_line(e.ename, e.evalue)
        error += f" (in cell [{e.exec_count}])" if e.exec_count else ""
    except Exception as e:  # the kernel did not start, the notebook is unreadable, ...
        error = _last_line(type(e).__name__, e)
    seconds = time.perf_counter() - t0
    result = {
        "name": name,
        "title": name,
        "status": "failed" if error else "ok",
        "error": error,
        "seconds": round(seconds, 1),
        "kpis": [],
        "parameters": parameters,
        "notebook": None,
        "page": f"pages/{name}.html",
        "code_page": f"pages/{name}.code.html",
    }
    try:
        if tmp.exists() and tmp.stat().st_size > 0:
            nb = nbformat.read(tmp, as_version=4)
            _publish(tmp, executed)
            result["notebook"] = f"notebooks/{name}.ipynb"
            result["title"] = notebook_title(nb, name)
            kpis = read_kpis(nb)
            result["kpis"] = json.loads(kpis.to_json(orient="records")) if len(kpis) else []
            render_pages(nb, name, result["title"], pages_dir, error)
        else:
            try:
                result["title"] = notebook_title(nbformat.read(path, as_version=4), name)
            except Exception:  # noqa: BLE001 - an unreadable notebook keeps its file name
                pass
            _error_page(name, result["title"], error or "the notebook produced no output", pages_dir)
    except Exception as e:  # pages could not be made: report it rather than lose the stage
        result["status"] = "failed"
        result["error"] = result["error"] or f"report page failed: {type(e).__name__}: {e}"
        _error_page(name, result["title"], result["error"], pages_dir)
    finally:
        tmp.unlink(missing_ok=True)
    return result


# --------------------------------------------------------------------------- scorecard


def kpi_status(estimate, ci_low, ci_high, target, better: str = "higher") -> str:
    """Traffic-light status of one KPI against its target.

    ``"green"`` when the whole 95 % CI is on the good side of the target, ``"amber"`` when the
    target lies inside the CI, ``"red"`` when the CI is wholly on the bad side, ``"grey"``
    without a target. Without a CI the estimate alone decides (green or red).

    Examples
    --------
    >>> [kpi_status(0.4, lo, hi, 0.3) for lo, hi in [(0.35, 0.45), (0.25, 0.45), (0.1, 0.25)]]
    ['green', 'amber', 'red']
    >>> kpi_status(3.0, 2.0, 4.0, 5.0, "lower"), kpi_status(3.0, None, None, None)
    ('green', 'grey')
    """

    def missing(x):
        return x is None or (isinstance(x, float) and math.isnan(x))

    if missing(target) or missing(estimate):
        return "grey"
    if missing(ci_low) or missing(ci_high):
        ok = estimate <= target if better == "lower" else estimate >= target
        return "green" if ok else "red"
    lo, hi = ci_low, ci_high
    if better == "lower":
        if hi < target:
            return "green"
        return "red" if lo > target else "amber"
    if lo > target:
        return "green"
    return "red" if hi < target else "amber"


def scorecard(stages: list[dict]) -> pd.DataFrame:
    """Return the scorecard table of a run: one row per KPI, with its status.

    Returns
    -------
    pandas.DataFrame
        Columns ``notebook`` plus :data:`~loyalty_lib.kpi.KPI_COLUMNS` plus ``status``.
    """
    rows = [dict(r, notebook=s["name"]) for s in stages for r in s.get("kpis", [])]
    df = pd.DataFrame(rows, columns=["notebook", *KPI_COLUMNS])
    for c in ("estimate", "ci_low", "ci_high", "target", "truth"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    df["status"] = [kpi_status(r.estimate, r.ci_low, r.ci_high, r.target, r.better) for r in df.itertuples()]
    df["reason"] = df["reason"].fillna("").astype(str)
    df.loc[df["estimate"].isna() & (df["reason"] != ""), "status"] = "na"
    return df


# --------------------------------------------------------------------------- index page

_INDEX_TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{{ title }}</title>
<style>
:root { --green:#1a7f37; --green-bg:#dafbe1; --amber:#9a6700; --amber-bg:#fff4cc; --red:#b42318;
        --red-bg:#fde7e6; --grey:#57606a; --grey-bg:#eef0f2; --ink:#1f2328; --line:#d8dee4; --head:#1f3a5f; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: var(--ink);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background: var(--head); color: #fff; padding: 22px 32px 18px; }
header h1 { margin: 0 0 4px; font-size: 24px; font-weight: 600; }
header p { margin: 0; opacity: .85; }
main { max-width: 1120px; margin: 0 auto; padding: 20px 32px 48px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 18px 22px; margin: 0 0 20px; }
h2 { font-size: 19px; margin: 0 0 12px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--grey); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.card { table-layout: fixed; }
table.card td.num, table.card th.num { white-space: normal; }
tr.stage td { background: #f3f5f8; font-weight: 600; border-top: 2px solid var(--line); }
tr.stage td a { font-weight: 400; font-size: 13px; margin-left: 10px; }
.chip { display: inline-block; border-radius: 999px; padding: 1px 10px; font-size: 13px; font-weight: 600; white-space: nowrap; }
.green { color: var(--green); background: var(--green-bg); }
.amber { color: var(--amber); background: var(--amber-bg); }
.red   { color: var(--red);   background: var(--red-bg); }
.grey  { color: var(--grey);  background: var(--grey-bg); }
.na    { color: var(--grey);  background: #fff; border: 1px dashed var(--line); }
.box { border-left: 6px solid; padding: 12px 16px; margin: 0 0 20px; border-radius: 4px; }
.box.red { border-color: var(--red); } .box.amber { border-color: var(--amber); } .box.green { border-color: var(--green); }
.box p { margin: 4px 0; color: var(--ink); }
.summary { display: flex; gap: 14px; flex-wrap: wrap; margin: 0 0 20px; }
.summary div { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; min-width: 140px; }
.summary b { display: block; font-size: 22px; }
.legend { color: var(--grey); font-size: 13px; margin: 10px 0 0; }
.legend .chip { margin-right: 4px; }
.muted { color: var(--grey); }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
pre { background: #f6f8fa; padding: 10px 12px; border-radius: 6px; overflow-x: auto; margin: 0; }
dl.meta { display: grid; grid-template-columns: 190px 1fr; gap: 6px 16px; margin: 0; }
dl.meta dt { color: var(--grey); } dl.meta dd { margin: 0; overflow-wrap: anywhere; }
a { color: #0b5cad; }
.err { color: var(--red); font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
</style>
</head>
<body>
<header>
  <h1>{{ title }}</h1>
  <p>{{ subtitle }}</p>
</header>
<main>
{% macro rule_table(rows) %}
  <table>
    <tr><th>table</th><th>column</th><th>rule</th><th class="num">rows</th><th>first row ids</th><th>their values</th></tr>
    {% for p in rows %}
    <tr><td><code>{{ p.table }}</code></td><td><code>{{ p.column }}</code></td><td>{{ p.rule }}</td>
        <td class="num">{{ "{:,}".format(p.n_rows) }}</td><td><code>{{ p.row_ids }}</code></td>
        <td><code>{{ p.first_values }}</code></td></tr>
    {% endfor %}
  </table>
{%- endmacro %}
{% if fatal %}
<div class="box red"><p><strong>The report could not run.</strong> {{ fatal }}</p></div>
{% endif %}
{% if problems is not none %}
<section>
  <div class="box red" style="margin:0 0 14px">
    <p><strong>The data break the data contract, so no stage was run.</strong></p>
    <p>Fix the export (or the column mapping) and run the report again, or run it with
       <code>--quarantine</code> to set the offending rows aside and go on with the rest.
       Each line names the table, the column, the rule, how many rows break it and the first row ids.</p>
  </div>
  <h2>Data problems ({{ problems|length }})</h2>
{{ rule_table(problems) }}
</section>
{% endif %}
{% if stages %}
<div class="summary">
  <div><span class="muted">stages run</span><b>{{ n_ok }} / {{ stages|length }}</b></div>
  {% for colour, n in counts %}<div><span class="chip {{ colour }}">{{ status_text[colour] }}</span><b>{{ n }}</b></div>{% endfor %}
</div>
{% if failed %}
<div class="box red"><p><strong>{{ failed|length }} stage{{ "s" if failed|length > 1 }} failed:</strong>
  {% for s in failed %}<a href="{{ s.page }}">{{ s.title }}</a> ({{ s.name }}){{ ", " if not loop.last }}{% endfor %}.
  Their pages show the error; the other stages are complete.</p></div>
{% endif %}
{% if quarantined is not none %}
<section>
  <div class="box amber" style="margin:0 0 14px"><p><strong>{{ "{:,}".format(n_quarantined) }} row{{ "s" if n_quarantined != 1 }}
    broke the data contract and were set aside</strong> ({{ quarantined|length }} rule{{ "s" if quarantined|length != 1 }} broken, listed below); every figure below is computed without them.
    The rows, with the rule each broke, are in <a href="quarantine/">quarantine/</a>.</p></div>
  <h2>Rows set aside</h2>
{{ rule_table(quarantined) }}
</section>
{% endif %}
<section>
  <h2>Scorecard by stage of the client journey</h2>
  <table class="card">
    {% if has_truth %}<colgroup><col style="width:33%"><col style="width:12%"><col style="width:18%"><col style="width:11%"><col style="width:15%"><col style="width:11%"></colgroup>
    {% else %}<colgroup><col style="width:38%"><col style="width:13%"><col style="width:20%"><col style="width:12%"><col style="width:17%"></colgroup>{% endif %}
    <tr><th>figure</th><th class="num">estimate</th><th class="num">95 % CI</th><th class="num">target</th>
        <th>status</th>{% if has_truth %}<th class="num">planted truth</th>{% endif %}</tr>
    {% for s in stages %}
    <tr class="stage"><td colspan="{{ 6 if has_truth else 5 }}">{{ s.title }}
      <a href="{{ s.page }}">read the stage</a><a href="{{ s.code_page }}">with code</a>
      {% if s.status == "failed" %}<span class="chip red" style="margin-left:10px">failed</span>{% endif %}</td></tr>
    {% if s.status == "failed" %}
    <tr><td colspan="{{ 6 if has_truth else 5 }}"><span class="err">{{ s.error }}</span></td></tr>
    {% endif %}
    {% for k in s.rows %}
    <tr><td class="label">{{ k.label }}</td><td class="num"><b>{{ k.estimate }}</b></td><td class="num">{{ k.ci }}</td>
        <td class="num">{{ k.target }}</td><td><span class="chip {{ k.status }}">{{ status_text[k.status] }}</span></td>
        {% if has_truth %}<td class="num">{{ k.truth }}</td>{% endif %}</tr>
    {% endfor %}
    {% if not s.rows and s.status != "failed" %}
    <tr><td colspan="{{ 6 if has_truth else 5 }}" class="muted">No scorecard figures from this stage on this data (its page says why).</td></tr>
    {% endif %}
    {% endfor %}
  </table>
  <p class="legend"><span class="chip green">{{ status_text.green }}</span> the whole 95 % interval is on the good side of the target ·
    <span class="chip amber">{{ status_text.amber }}</span> the data cannot yet tell whether the target is met ·
    <span class="chip red">{{ status_text.red }}</span> the whole interval is on the wrong side ·
    <span class="chip grey">{{ status_text.grey }}</span> no target set (targets come from the parameters).
    {% if has_truth %}“Planted truth” is the value built into the synthetic data, shown to check the method; it is empty on real data.{% endif %}</p>
</section>
<section>
  <h2>Stage pages</h2>
  <table>
    <tr><th>stage</th><th>pages</th><th>status</th><th class="num">run time</th></tr>
    {% for s in stages %}
    <tr><td>{{ s.title }} <span class="muted">({{ s.name }})</span></td>
        <td style="white-space:nowrap"><a href="{{ s.page }}">summary</a> · <a href="{{ s.code_page }}">with code</a>{% if s.notebook %} · <a href="{{ s.notebook }}">notebook</a>{% endif %}</td>
        <td>{% if s.status == "ok" %}<span class="chip green">ran</span>{% else %}<span class="chip red">failed</span> <span class="err">{{ s.error }}</span>{% endif %}</td>
        <td class="num">{{ "%.1f"|format(s.seconds) }} s</td></tr>
    {% endfor %}
  </table>
</section>
{% endif %}
<section>
  <h2>About this run</h2>
  <dl class="meta">
  {% for k, v in meta %}<dt>{{ k }}</dt><dd>{% if "\n" in v %}<pre>{{ v }}</pre>{% else %}{{ v }}{% endif %}</dd>
  {% endfor %}
  </dl>
</section>
</main>
</body>
</html>
"""  # noqa: E501


def fmt(value, unit: str) -> str:
    """Format a scorecard number for people (:func:`loyalty_lib.stats.format_number`, millions as ``M``).

    Examples
    --------
    >>> fmt(500.0, "RUB"), fmt(125.0, "count"), fmt(0.348, ""), fmt(0.25, "%")
    ('500 RUB', '125', '0.348', '25.0 %')
    >>> fmt(107_620_021.0, "RUB")
    '107.6 M RUB'
    """
    return format_number(value, unit, millions=True)


def fmt_ci(low, high, unit: str, estimate=None) -> str:
    """Format a confidence interval with one precision for both ends and the unit once.

    Examples
    --------
    >>> fmt_ci(3.17, 1079.4, "RUB", 541.0), fmt_ci(0.284, 0.378, "%"), fmt_ci(0.0896, 0.281, "")
    ('3 – 1\u202f079 RUB', '28.4 – 37.8 %', '0.090 – 0.281')
    >>> fmt_ci(95_862_352.0, 117_849_606.0, "RUB")
    '95.9 – 117.8 M RUB'
    """
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return "–"
    if unit == "%":
        return f"{100 * low:.1f} – {100 * high:.1f} %"
    if unit == "pp":
        return f"{100 * low:+.1f} – {100 * high:+.1f} pp"
    ref = [abs(float(low)), abs(float(high))]
    if estimate is not None and not pd.isna(estimate):
        ref.append(abs(float(estimate)))
    scale = max(ref)
    div, mil = (1e6, " M") if scale >= 1e6 else (1.0, "")
    decimals = 1 if mil else 0 if scale >= 100 else 1 if scale >= 10 else 2 if scale >= 1 else 3
    ends = [f"{float(v) / div:,.{decimals}f}".replace(",", "\u202f") for v in (low, high)]
    return f"{ends[0]} – {ends[1]}{mil}" + ("" if unit in ("", "count") else f" {unit}")


def _fmt_target(target, unit, better) -> str:
    if target is None or (isinstance(target, float) and math.isnan(target)):
        return "–"
    return f"{'≥' if better != 'lower' else '≤'} {fmt(float(target), unit)}"


def _stage_rows(stage: dict, card: pd.DataFrame) -> list[dict]:
    rows = []
    for r in card[card["notebook"] == stage["name"]].itertuples(index=False):
        unit = r.unit if isinstance(r.unit, str) else ""
        ci = fmt_ci(r.ci_low, r.ci_high, unit, r.estimate)
        rows.append(
            {
                "label": r.label,
                "estimate": fmt(r.estimate, unit) if r.status != "na" else f"not available: {r.reason}",
                "ci": ci,
                "target": _fmt_target(r.target, unit, r.better),
                "status": r.status,
                "truth": fmt(r.truth, unit),
            }
        )
    return rows


def _git(*args: str) -> str:
    """Output of one ``git`` command run in the project folder (stripped)."""
    return subprocess.run(
        ["git", "-C", str(config.PROJECT_DIR), *args],
        capture_output=True,
        text=True,
        timeout=5,
        check=True,
    ).stdout.strip()


def _git_commit() -> str:
    try:
        sha = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
        return sha + (" (with local changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "not available"


def package_versions() -> dict[str, str]:
    """Return the versions of Python and the main packages, for the run's metadata."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for p in VERSION_PACKAGES:
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            continue
    return out


def write_index(out_dir: Path, *, stages=(), problems=None, quarantined=None, meta=None, fatal=None) -> Path:
    """Write ``index.html`` (and ``run.json``) of a report folder.

    Parameters
    ----------
    out_dir : Path
        Report folder.
    stages : list of dict
        Results of :func:`run_stage`, in notebook order.
    problems : pandas.DataFrame, optional
        Contract problems that stopped the run.
    quarantined : pandas.DataFrame, optional
        Summary of rows set aside.
    meta : dict, optional
        Run metadata, label to text.
    fatal : str, optional
        A one-line reason the run could not start (unreadable data folder, bad mapping).

    Returns
    -------
    Path
        The index page.
    """
    from jinja2 import Environment

    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    stages = [dict(s) for s in stages]
    card = scorecard(stages)
    for s in stages:
        s["rows"] = _stage_rows(s, card)
    failed = [s for s in stages if s["status"] != "ok"]
    counts = [(c, int((card["status"] == c).sum())) for c in ("green", "amber", "red", "grey", "na")]
    meta = dict(meta or {})
    source = meta.get("data", "")
    if fatal or problems is not None:
        subtitle = f"data: {source} · the run stopped before the stage notebooks: see below"
    else:
        subtitle = f"{len(stages) - len(failed)} of {len(stages)} stages ran · data: {source}"
    name = Path(source).name if source else ""
    text = env.from_string(_INDEX_TEMPLATE).render(
        title=f"Loyalty program report · {name}" if name else "Loyalty program report",
        subtitle=subtitle,
        fatal=fatal,
        problems=None if problems is None else problems.to_dict("records"),
        quarantined=None if quarantined is None else quarantined.to_dict("records"),
        n_quarantined=count_set_aside(Path(out_dir) / "quarantine", quarantined),
        stages=stages,
        failed=failed,
        n_ok=len(stages) - len(failed),
        counts=[(c, n) for c, n in counts if n],
        status_text=STATUS_TEXT,
        has_truth=bool(card["truth"].notna().any()),
        meta=list(meta.items()),
    )
    path = Path(out_dir) / "index.html"
    atomic_write_text(path, text)
    run = {
        "status": "failed" if (fatal or problems is not None or failed) else "ok",
        "failed": [s["name"] for s in failed],
        "fatal": fatal,
        "problems": None if problems is None else problems.to_dict("records"),
        "quarantined": None if quarantined is None else quarantined.to_dict("records"),
        "stages": [{k: v for k, v in s.items() if k != "rows"} for s in stages],
        "meta": meta,
    }
    atomic_write_text(Path(out_dir) / "run.json", json.dumps(run, indent=2, default=str) + "\n")
    return path


# --------------------------------------------------------------------------- the run


def _needs_copy(folder: Path, mapping, ds) -> bool:
    from loyalty_lib.io import table_path
    from loyalty_lib.schema import TABLES

    if mapping is not None or (ds.quarantined is not None and len(ds.quarantined)):
        return True
    return any((p := table_path(folder, n)) is not None and p.suffix == ".csv" for n in TABLES)


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (Ctrl-C's SIGINT, or SIGTERM); ``signum`` says which."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _stop_on_signals():
    """Turn SIGINT and SIGTERM into :class:`Interrupted` in the main thread, for a clean stop."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, _frame):
        raise Interrupted(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _stop_pool(pool: cf.ProcessPoolExecutor) -> None:
    """Stop every worker now (each kills its kernels' process groups first), then the pool."""
    procs = list(getattr(pool, "_processes", {}).values())
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():
            p.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def _relative(path: str | Path, base: Path) -> str:
    """``path`` relative to the report folder, for pages that must not show absolute paths."""
    return os.path.relpath(Path(path).resolve(), base)


def _command_line(out: Path) -> str:
    """The ``loyalty`` command of this run, with absolute paths made relative to the report."""
    if not (sys.argv and "loyalty" in sys.argv[0]):
        return "run_report(...)"
    args = []
    for a in sys.argv[1:]:
        flag, eq, value = a.partition("=") if a.startswith("--") else ("", "", a)
        if os.path.isabs(value):
            value = _relative(value, out)
        args.append(f"{flag}{eq}{value}")
    return " ".join(["loyalty", *args])


def run_report(
    data_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    *,
    params: str | Path | dict | None = None,
    mapping: str | Path | dict | None = None,
    jobs: int = 2,
    force: bool = False,
    quarantine: bool = False,
    notebooks_dir: str | Path | None = None,
    progress: bool = True,
    kernel_name: str = "python3",
) -> ReportResult:
    """Check the data, run every stage notebook and write the HTML report.

    The report is built in a hidden folder beside ``out_dir`` while the run holds a lock on
    ``out_dir``, and swapped in whole when it is complete: ``out_dir`` holds either the previous
    report or the new one, never a mix, whatever happens to the run (see
    :mod:`loyalty_lib.outdir`). SIGINT (Ctrl-C) and SIGTERM stop the run at once: the stage
    workers and their kernels are killed, the partial build is removed and
    :class:`Interrupted` is raised.

    Parameters
    ----------
    data_dir : str or Path, optional
        Folder of contract tables or own exports (default: the teaching sample ``data/sample``).
    out_dir : str or Path, optional
        Report folder (default: a new ``outputs/runs/YYYYmmdd-HHMMSS``).
    params : path or dict, optional
        Notebook parameters (see :func:`read_params`), checked against
        :mod:`loyalty_lib.params` before anything runs.
    mapping : path or dict, optional
        Column mapping for own exports (see :mod:`loyalty_lib.mapping`).
    jobs : int
        Notebooks run at once (each in a worker process).
    force : bool
        Replace the earlier report in ``out_dir`` (only files its manifest lists).
    quarantine : bool
        Set rows that break the contract aside instead of stopping.
    notebooks_dir : str or Path, optional
        Folder of ``NN_*.ipynb`` (default ``notebooks/``).
    progress : bool
        Show a progress bar.
    kernel_name : str
        Jupyter kernel for the notebooks.

    Returns
    -------
    ReportResult
        ``exit_code`` 0 when the data passed and every stage ran, else 1.

    Raises
    ------
    ReportError
        Before anything is written: bad or unknown parameters, no notebooks, a report folder
        that overlaps the data, holds files the suite did not write, holds an earlier report
        without ``force``, or is being written by another run.
    Interrupted
        On SIGINT or SIGTERM; the report folder is left as it was.
    """
    from loyalty_lib import outdir

    if jobs < 1:
        raise ReportError("--jobs must be at least 1")
    notebooks = find_notebooks(notebooks_dir)
    if not notebooks:
        raise ReportError(f"no stage notebooks (NN_name.ipynb) in {notebooks_dir or config.NOTEBOOKS_DIR}")
    common, per_nb = read_params(params)
    unknown = sorted(set(per_nb) - {p.stem for p in notebooks})
    if unknown:
        raise ReportError(
            f"params name unknown notebook(s) {', '.join(unknown)}; "
            f"stage notebooks are {', '.join(p.stem for p in notebooks)}"
        )
    try:
        check_params(common, per_nb, notebooks)
    except ParameterError as e:
        raise ReportError(str(e)) from None
    data = (Path(data_dir) if data_dir is not None else config.SAMPLE_DIR).resolve()
    out = prepare_out_dir(out_dir, force=force, data_dir=data)
    lock = outdir.FolderLock(out)
    build, published = None, False
    try:
        try:
            lock.acquire()
            outdir.check_replaceable(out, force=force, what="--out")  # again, now under the lock
            if outdir.clean_leftovers(out) or lock.stale:
                print(f"note: removed what an interrupted run into {out} had left beside it", file=sys.stderr)
            build = outdir.new_build_dir(out)
        except outdir.OutputFolderError as e:
            raise ReportError(str(e)) from None
        except OSError as e:  # a read-only or missing parent folder, ...
            raise ReportError(f"cannot write the report folder {out}: {e.strerror or e}") from None
        with _stop_on_signals():
            result = _build(
                build,
                out,
                data,
                notebooks,
                common=common,
                per_nb=per_nb,
                params=params,
                mapping=mapping,
                jobs=jobs,
                quarantine=quarantine,
                progress=progress,
                kernel_name=kernel_name,
            )
            kept = outdir.publish(build, out)
            build, published = None, True
        if kept:
            print(f"note: kept {len(kept)} file(s) the suite did not write: {', '.join(kept[:5])}", file=sys.stderr)
    finally:
        if build is not None:  # not published: remove the partial build
            shutil.rmtree(build, ignore_errors=True)
        if out_dir is None and not published:  # and the new run folder, still empty
            with contextlib.suppress(OSError):
                out.rmdir()
        lock.release()
    result.out_dir = out
    return result


def _build(build, out, data, notebooks, *, common, per_nb, params, mapping, jobs, quarantine, progress, kernel_name):
    """Everything a run writes, into the build folder ``build`` (published later as ``out``)."""
    from tqdm.auto import tqdm

    from loyalty_lib import io, validation
    from loyalty_lib.mapping import MappingError

    t_start = time.perf_counter()
    started = dt.datetime.now().astimezone()
    result = ReportResult(out_dir=build)
    meta = {
        "started": started.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "data": _relative(data, out),
    }
    if mapping is not None:
        meta["column mapping"] = _relative(mapping, out) if not isinstance(mapping, dict) else "(given in code)"
    if params is not None:
        meta["parameter file"] = _relative(params, out) if not isinstance(params, dict) else "(given in code)"

    def finish_meta():
        meta["duration"] = f"{time.perf_counter() - t_start:.1f} s"
        meta["git commit"] = _git_commit()
        meta["package versions"] = ", ".join(f"{k} {v}" for k, v in package_versions().items())
        meta["command"] = _command_line(out)
        return meta

    # 1. data
    try:
        ds = io.load(
            data,
            mapping=mapping,
            on_error="quarantine" if quarantine else "raise",
            quarantine_dir=build / "quarantine",
        )
    except validation.ValidationError as e:
        result.problems = e.report.problems
        result.exit_code = 1
        write_index(build, problems=e.report.problems, meta=finish_meta())
        return result
    except (FileNotFoundError, MappingError, ValueError, OSError) as e:
        result.exit_code = 1
        fatal = f"{type(e).__name__}: {e}".replace(str(data), meta["data"])
        write_index(build, fatal=fatal, meta=finish_meta())
        return result
    if ds.quarantined is not None and len(ds.quarantined):
        result.quarantined = ds.quarantined
        meta["set aside"] = set_aside_message(ds.set_aside)
    present = ", ".join(f"{n} {len(t):,}" for n, t in ds.tables.items())
    from loyalty_lib.schema import TABLES

    absent = [n for n, t in TABLES.items() if not t.required and not ds.has(n)]
    meta["tables (rows)"] = present + (f"; not in the data: {', '.join(absent)}" if absent else "")
    meta["synthetic data"] = "yes: planted truth shown beside the estimates" if ds.is_synthetic else "no"
    run_data = str(data)
    if _needs_copy(data, mapping, ds):
        io.save(ds, build / "data", fmt="parquet", force=True)
        run_data = "../data"  # relative to the executed notebooks: valid in the build and once published
        meta["data the notebooks read"] = "data/ (clean contract tables as Parquet; the original files are untouched)"
    del ds

    # 2. notebooks
    jobs_list, ignored_all = [], {}
    for nb in notebooks:
        passed, ignored = notebook_parameters(nb, common, per_nb, run_data)
        jobs_list.append((str(nb), str(build), passed, kernel_name))
        for k in ignored:
            ignored_all.setdefault(k, []).append(nb.stem)
    never = sorted(k for k, v in ignored_all.items() if len(v) == len(notebooks) and k != "data_dir")
    if never:
        print(
            f"warning: no stage notebook declares parameter(s) {', '.join(never)}; not passed",
            file=sys.stderr,
        )
        meta["parameters no notebook declares"] = ", ".join(never)
    if common or per_nb:
        meta["parameters"] = yaml.safe_dump(
            {**common, **({"notebooks": per_nb} if per_nb else {})}, sort_keys=False
        ).strip()
    meta["jobs"] = str(jobs)

    results: dict[str, dict] = {}
    bar = tqdm(total=len(jobs_list), desc="stage notebooks", unit="nb", disable=not progress)
    ctx = multiprocessing.get_context("spawn")
    workers = min(jobs, len(jobs_list))
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init)
    try:
        futs = {pool.submit(run_stage, *j): Path(j[0]).stem for j in jobs_list}
        for f in cf.as_completed(futs):
            name = futs[f]
            try:
                r = f.result()
            except Exception as e:  # a worker died: the stage is failed, the run goes on
                err = f"{type(e).__name__}: {e}"
                _error_page(name, name, err, build / "pages")
                r = {
                    "name": name,
                    "title": name,
                    "status": "failed",
                    "error": err,
                    "seconds": 0.0,
                    "kpis": [],
                    "parameters": {},
                    "notebook": None,
                    "page": f"pages/{name}.html",
                    "code_page": f"pages/{name}.code.html",
                }
            results[name] = r
            _tick(bar, r)
    except BaseException:
        _stop_pool(pool)
        raise
    finally:
        bar.close()
    pool.shutdown(wait=True)
    result.stages = [results[Path(j[0]).stem] for j in jobs_list]
    result.failed = [s["name"] for s in result.stages if s["status"] != "ok"]
    write_index(build, stages=result.stages, quarantined=result.quarantined, meta=finish_meta())
    result.exit_code = 1 if result.failed else 0
    return result


def _worker_init() -> None:
    """Set up a stage worker: one BLAS thread, and stop with its kernels when told or orphaned."""
    from loyalty_lib import outdir

    _one_blas_thread()
    outdir.worker_init()


def _one_blas_thread() -> None:
    """In a worker (and so in its kernels): one BLAS thread, as the notebooks already run in parallel."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def _tick(bar, r: dict) -> None:
    if r["status"] != "ok":
        bar.write(f"FAILED {r['name']}: {r['error']}", file=sys.stderr)
    bar.set_postfix_str(r["name"], refresh=False)
    bar.update(1)


def run_from_cli(args) -> int:
    """Run ``loyalty report`` from parsed arguments; print what happened; return the exit code."""
    try:
        res = run_report(
            args.data,
            args.out,
            params=args.params,
            mapping=args.mapping,
            jobs=args.jobs,
            force=args.force,
            quarantine=getattr(args, "quarantine", False),
            notebooks_dir=getattr(args, "notebooks", None),
            progress=not getattr(args, "quiet", False),
        )
    except ReportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        signum = e.signum if isinstance(e, Interrupted) else signal.SIGINT
        where = f"the report folder {args.out}" if args.out else "no report folder"
        print(
            f"interrupted ({signal.Signals(signum).name}): the stage notebooks were stopped and "
            f"{where} was left as it was",
            file=sys.stderr,
        )
        return 128 + signum
    except OSError as e:  # the disk filled up, a folder became unwritable, ...
        where = f"the report folder {args.out}" if args.out else "no report folder"
        print(f"error: the report could not be written ({e}); {where} was left as it was", file=sys.stderr)
        return 1
    data = args.data if args.data is not None else config.SAMPLE_DIR
    if res.problems is not None:
        print(
            f"error: data {data} break the data contract ({len(res.problems)} problem(s)); "
            f"no stage was run. The list is in {res.index} (or run with --quarantine)",
            file=sys.stderr,
        )
    elif not res.stages:
        print(f"error: the report for data {data} could not run; see {res.index}", file=sys.stderr)
    elif res.failed:
        print(
            f"error: report for data {data}: {len(res.failed)} of {len(res.stages)} "
            "stage notebook(s) "
            f"failed: {', '.join(res.failed)}. The other stages are complete; see {res.index}",
            file=sys.stderr,
        )
    else:
        q = ""
        if res.quarantined is not None:
            n = count_set_aside(res.out_dir / "quarantine", res.quarantined)
            q = f"; {n:,} row(s) set aside in {res.out_dir / 'quarantine'}"
        print(f"wrote the report of {len(res.stages)} stages to {res.index}{q}")
    return res.exit_code
