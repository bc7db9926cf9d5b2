"""Run one stage notebook with papermill and write its executed copy and its two pages."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from loyalty_lib.kpi import read_kpis
from loyalty_lib.report.base import CELL_TIMEOUT
from loyalty_lib.report.downloads import page_downloads
from loyalty_lib.report.files import _publish
from loyalty_lib.report.pages import _error_page, notebook_title, render_pages


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
            render_pages(nb, name, result["title"], pages_dir, error, downloads=page_downloads(name, bool(len(kpis))))
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
