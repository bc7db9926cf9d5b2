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


#: How often a stage is started again when its kernel dies before running any cell (two kernels
#: starting at once on a busy machine can collide over a port); a notebook's own error is never retried.
KERNEL_START_RETRIES = 2


def kernel_failed_to_start(error: BaseException) -> bool:
    """Whether ``error`` says the kernel died before it ran a cell (nothing of the notebook ran).

    Examples
    --------
    >>> kernel_failed_to_start(RuntimeError("Kernel died before replying to kernel_info"))
    True
    >>> kernel_failed_to_start(RuntimeError("division by zero"))
    False
    """
    return "before replying to kernel_info" in str(error)


#: Up to this many receipts, the stages a worker runs share one kernel (see
#: :mod:`loyalty_lib.report.kernel_state`); above it every stage gets a new kernel, so that the
#: memory one stage held is given back before the next starts.
SHARED_KERNEL_MAX_RECEIPTS = 2_000_000

#: The worker's kernel kept for its next stage (``None``: start a new one).
_SHARED = {"km": None, "kernel_name": None}

#: Run in the kernel before each stage; binds no name in the notebook's namespace.
_PREPARE = '__import__("loyalty_lib.report.kernel_state", fromlist=["fresh_stage"]).fresh_stage()'


class KernelResetError(RuntimeError):
    """The shared kernel could not be made ready for the next stage (nothing of the stage ran)."""


def _shared_engine():
    """The papermill engine that runs a notebook in the worker's kept kernel (registered once)."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    name = "loyalty-shared-kernel"
    if name in papermill_engines._engines:
        return name

    class Client(PapermillNotebookClient):
        def papermill_execute_cells(self):
            reply = self.wait_for_reply(self.kc.execute(_PREPARE, silent=True, store_history=False))
            if reply is None or reply["content"].get("status") != "ok":
                why = "" if reply is None else f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}"
                raise KernelResetError(f"the kernel could not be made ready for the next stage ({why})")
            super().papermill_execute_cells()

    class Engine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None, start_timeout=60,
            execution_timeout=None, **kwargs,
        ):  # fmt: skip
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            client = Client(
                nb_man,
                **merge_kwargs(
                    kwargs,
                    timeout=execution_timeout,
                    startup_timeout=start_timeout,
                    kernel_name=kernel_name,
                    log=logger,
                    log_output=log_output,
                    stdout_file=stdout_file,
                    stderr_file=stderr_file,
                ),
            )
            try:
                return client.execute()
            finally:  # the kernel stays for the next stage; this client's channels do not
                if client.kc is not None:
                    client.kc.stop_channels()

    papermill_engines.register(name, Engine)
    return name


def _shared_kernel(kernel_name: str):
    """The worker's kept kernel manager (started by the first notebook run in it)."""
    from jupyter_client.manager import AsyncKernelManager

    if _SHARED["km"] is None or _SHARED["kernel_name"] != kernel_name:
        drop_shared_kernel()
        _SHARED["km"] = AsyncKernelManager(kernel_name=kernel_name)
        _SHARED["kernel_name"] = kernel_name
    return _SHARED["km"]


#: Imported in each worker's kernel while the report loads the data: what every stage's first cell
#: imports (about 2 CPU-seconds, on the core the single-threaded load leaves idle).
WARM_IMPORTS = """\
import matplotlib.pyplot
import numpy
import pandas
import scipy.stats
from IPython.display import Markdown, display
import loyalty_lib.dataset, loyalty_lib.kpi, loyalty_lib.narrative, loyalty_lib.plotting.common
import loyalty_lib.present, loyalty_lib.stats, loyalty_lib.study, loyalty_lib.truth
"""


def warm_shared_kernel(kernel_name: str, cwd: str, code: str = WARM_IMPORTS) -> bool:
    """Start the worker's kept kernel in ``cwd`` and run ``code`` in it (the stages' imports).

    Called while the report loads the data, so that the first stage finds its kernel started
    and its libraries imported. Nothing of a notebook runs here, and the state the first stage
    records as the fresh kernel's (:func:`loyalty_lib.report.kernel_state.fresh_stage`) is taken
    after these imports, as a kernel that imported them itself would have it. A kernel that
    fails to start or to import is shut down: the stage then starts its own as before.

    Returns
    -------
    bool
        Whether the kernel is started and warmed.
    """
    from jupyter_core.utils import run_sync

    km = _shared_kernel(kernel_name)
    if km.has_kernel:
        return True
    try:
        run_sync(km.start_kernel)(cwd=cwd, extra_arguments=["--log-level=CRITICAL"])
        kc = km.client()
        kc.start_channels()
        try:
            run_sync(kc.wait_for_ready)(timeout=120)
            reply = run_sync(kc.execute_interactive)(code, silent=True, store_history=False, timeout=300)
        finally:
            kc.stop_channels()
        if reply["content"].get("status") != "ok":
            raise RuntimeError(f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}")
    except Exception:  # noqa: BLE001 - the stage starts a kernel of its own, and reports any error itself
        drop_shared_kernel()
        return False
    return True


def drop_shared_kernel() -> None:
    """Shut the worker's kept kernel down (after a failed stage, and when the worker ends)."""
    km, _SHARED["km"] = _SHARED["km"], None
    if km is None or not km.has_kernel:
        return
    from jupyter_core.utils import run_sync

    try:
        run_sync(km.shutdown_kernel)(now=True)
    except Exception:  # noqa: BLE001 - already dead: nothing to stop
        pass


def run_stage(
    path: str, out_dir: str, parameters: dict, kernel_name: str = "python3", shared_kernel: bool = False
) -> dict:
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
    shared_kernel : bool
        Run in the kernel the worker's previous stage ran in (made fresh by
        :func:`loyalty_lib.report.kernel_state.fresh_stage`), and keep it for the next one; a
        stage that fails leaves it to be shut down. Else a new kernel for this stage alone.

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
    if not shared_kernel:  # large data: a kernel warmed during the load is not for this stage
        drop_shared_kernel()
    try:
        for attempt in range(1 + KERNEL_START_RETRIES):
            shared = {"engine_name": _shared_engine(), "km": _shared_kernel(kernel_name)} if shared_kernel else {}
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
                    **shared,
                )
                break
            except RuntimeError as e:  # the kernel died before running a cell: starting again is safe
                if shared_kernel:
                    drop_shared_kernel()
                if (
                    not (kernel_failed_to_start(e) or isinstance(e, KernelResetError))
                    or attempt == KERNEL_START_RETRIES
                ):
                    raise
    except PapermillExecutionError as e:
        error = _last_line(e.ename, e.evalue)
        error += f" (in cell [{e.exec_count}])" if e.exec_count else ""
    except Exception as e:  # the kernel did not start, the notebook is unreadable, ...
        error = _last_line(type(e).__name__, e)
    if error and shared_kernel:  # whatever the notebook left in its kernel is not for the next stage
        drop_shared_kernel()
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
