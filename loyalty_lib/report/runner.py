"""The run: check the data, execute the stage notebooks in worker processes, publish the report."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import datetime as dt
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import yaml

from loyalty_lib import config
from loyalty_lib.params import ParameterError, check_params
from loyalty_lib.report.base import ReportError, ReportResult
from loyalty_lib.report.files import prepare_out_dir
from loyalty_lib.report.index import write_index
from loyalty_lib.report.memory import memory_budget_mb, process_tree_mb, run_within, stage_memory_mb
from loyalty_lib.report.meta import _command_line, _git_commit, _relative, package_versions
from loyalty_lib.report.pages import _error_page
from loyalty_lib.report.parameters import find_notebooks, notebook_parameters, read_params
from loyalty_lib.report.stage import SHARED_KERNEL_MAX_RECEIPTS, drop_shared_kernel, run_stage
from loyalty_lib.report.targets import read_targets
from loyalty_lib.validation import count_set_aside, set_aside_message


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


def _worker_pids(pool: cf.ProcessPoolExecutor) -> list[int]:
    """Process ids of the pool's workers (their kernels are their children)."""
    return [p.pid for p in (getattr(pool, "_processes", None) or {}).values() if p.pid is not None]


def _stop_pool(pool: cf.ProcessPoolExecutor) -> None:
    """Stop every worker now (each kills its kernels' process groups first), then the pool."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():
            p.kill()
    pool.shutdown(wait=False, cancel_futures=True)


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
    targets = read_targets(params)
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
            # the workers start (and import papermill and nbconvert) while this process loads the data
            pool = _start_pool(jobs, len(notebooks), kernel_name, build / "notebooks")
            try:
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
                    targets=targets,
                    pool=pool,
                )
            except BaseException:
                _stop_pool(pool)
                raise
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
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


def _build(
    build,
    out,
    data,
    notebooks,
    *,
    common,
    per_nb,
    params,
    mapping,
    jobs,
    quarantine,
    progress,
    kernel_name,
    targets,
    pool,
):
    """Everything a run writes, into the build folder ``build`` (published later as ``out``)."""
    from tqdm.auto import tqdm

    from loyalty_lib import io, validation
    from loyalty_lib.mapping import MappingError
    from loyalty_lib.snapshot import write_snapshot

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
    # Load once: the notebooks read this typed snapshot (no parsing, no second validation, each
    # table read only when a stage uses it) instead of loading and checking the data again.
    write_snapshot(
        ds,
        build / "data",
        source=meta["data"],
        mapping=meta.get("column mapping"),
        study_params=[notebook_parameters(nb, common, per_nb, None)[0] for nb in notebooks],  # the study, once
    )
    run_data = "../data"  # relative to the executed notebooks: valid in the build and once published
    meta["data the notebooks read"] = (
        "data/ (the data as loaded and checked once, as typed Parquet; the original files are untouched)"
    )
    currency = _currency(ds, common)
    # small data: a worker runs its stages in one kernel (imports once), large: a new kernel each
    n_receipts = len(ds.transactions)
    shared_kernel = n_receipts <= SHARED_KERNEL_MAX_RECEIPTS
    if shared_kernel:
        # the index's monthly trends are needed only at the end: computed while the stages run
        trends_of = _in_background(_trends, ds)
    else:
        trends_of = _done(_trends(ds))
        del ds
        _give_back_memory()  # the stages' kernels need it more than this process does

    # 2. notebooks
    jobs_list, ignored_all = [], {}
    for nb in notebooks:
        passed, ignored = notebook_parameters(nb, common, per_nb, run_data)
        jobs_list.append((str(nb), str(build), passed, kernel_name, shared_kernel))
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
    try:
        # longest first, and a stage starts only while the stages' estimated peaks fit in the free
        # memory: on large data two heavy stages side by side run the machine out of memory
        by_name = {Path(j[0]).stem: j for j in _longest_first(jobs_list, out)}
        estimate = {n: stage_memory_mb(n, n_receipts) for n in by_name}
        started = run_within(
            lambda n: pool.submit(run_stage, *by_name[n]),
            list(by_name),
            workers=min(jobs, len(jobs_list)),
            # the memory free when each stage is to start, beside what the running stages hold
            budget_mb=lambda: memory_budget_mb(held_mb=process_tree_mb(_worker_pids(pool))),
            estimate=estimate,
        )
        for name, f in started:
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
    trends, trends_note = trends_of()
    result.stages = [results[Path(j[0]).stem] for j in jobs_list]
    result.failed = [s["name"] for s in result.stages if s["status"] != "ok"]
    write_index(
        build,
        stages=result.stages,
        quarantined=result.quarantined,
        meta=finish_meta(),
        targets=targets,
        trends=trends,
        trends_note=trends_note,
        currency=currency,
    )
    result.exit_code = 1 if result.failed else 0
    return result


#: Seconds each stage took at 25,000 customers (2 jobs), for a first run's schedule.
EXPECTED_SECONDS = {
    "06_impact": 48,
    "09_offers": 39,
    "04_average_check": 39,
    "03_activity": 38,
    "08_audience": 36,
    "10_campaigns": 35,
    "07_roi_clv": 32,
    "01_metrics_map": 32,
    "00_case_and_data": 31,
    "02_enrollment": 30,
    "05_satisfaction": 29,
}


def _longest_first(jobs_list: list, out: Path) -> list:
    """The stage jobs, longest first, so that the last stage to start is a short one.

    A stage's length is what it took in the previous report in ``out`` (its ``run.json``),
    else :data:`EXPECTED_SECONDS`, else as long as the longest (a new stage starts early).
    """
    import json

    took = dict(EXPECTED_SECONDS)
    try:
        took |= {s["name"]: float(s["seconds"]) for s in json.loads((out / "run.json").read_text())["stages"]}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    longest = max(took.values(), default=0.0)
    return sorted(jobs_list, key=lambda j: -took.get(Path(j[0]).stem, longest))


def _in_background(fn, *args):
    """Start ``fn(*args)`` on a thread; return a function that waits for it and returns its result (or raises)."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn(*args)
        except BaseException as e:  # noqa: BLE001 - raised again where the result is wanted
            box["error"] = e

    thread = threading.Thread(target=run, name=f"report-{getattr(fn, '__name__', 'task')}", daemon=True)
    thread.start()

    def result():
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["value"]

    return result


def _done(value):
    """A function returning ``value`` (the same interface as :func:`_in_background`, computed already)."""
    return lambda: value


def _trends(ds) -> tuple[pd.DataFrame | None, str]:
    """The monthly trends of the data, or ``None`` and the plain reason they cannot be computed."""
    from loyalty_lib.metrics.trends import monthly_trends

    try:
        t = monthly_trends(ds.transactions, ds.cards)
    except (ValueError, KeyError, TypeError) as e:  # a table without the columns it needs
        return None, f"the monthly figures could not be computed ({e})"
    if t.empty:
        return None, "the data have no receipts"
    partial = t["days_covered"].to_numpy() < pd.to_datetime(t["month"]).dt.days_in_month.to_numpy()
    note = "Hollow points mark months the data cover only in part." if partial.any() else ""
    return t, note


def _currency(ds, common: dict) -> str:
    """Currency of the money figures: the ``currency`` parameter, the data's currency column, else a default."""
    from loyalty_lib.study import _currency as from_data

    given = str(common.get("currency") or "").strip().upper()
    if given:
        return given
    found, _why = from_data(ds)
    return found or ("RUB" if ds.is_synthetic else "money units")


def _start_pool(jobs: int, n_stages: int, kernel_name: str, nb_dir: Path) -> cf.ProcessPoolExecutor:
    """The stage workers, started at once: each gets ready for its first stage while the data load.

    Each imports papermill and nbconvert, starts its kernel in ``nb_dir`` (where the stages
    run) and imports the stages' libraries in it (:func:`loyalty_lib.report.stage.warm_shared_kernel`),
    on the core the parent's single-threaded load leaves idle.
    """
    ctx = multiprocessing.get_context("spawn")
    workers = min(jobs, n_stages)
    pool = cf.ProcessPoolExecutor(max_workers=max(workers, 1), mp_context=ctx, initializer=_worker_init)
    nb_dir.mkdir(parents=True, exist_ok=True)
    for _ in range(workers):
        pool.submit(_warm_worker, kernel_name, str(nb_dir))
    return pool


def _warm_worker(kernel_name: str | None = None, nb_dir: str | None = None) -> None:
    """Import what running a stage and writing its pages needs (about 2.4 CPU-s), then warm the kernel."""
    import nbformat  # noqa: F401
    import papermill  # noqa: F401

    from loyalty_lib.report import pages
    from loyalty_lib.report.stage import warm_shared_kernel

    pages._exporter(True)
    pages._exporter(False)
    if kernel_name is not None and nb_dir is not None:
        warm_shared_kernel(kernel_name, nb_dir)


def _give_back_memory() -> None:
    """Return freed memory to the system: the loaded data set's buffers, once the snapshot is written.

    Freed pandas and Arrow buffers otherwise stay with this process for reuse (Arrow's pool and
    the C allocator keep them): half of what the load took at 25,000 customers, gigabytes at a
    million, which the stages' kernels then lack.
    """
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(Exception):  # an Arrow without the call: nothing to release
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: its allocator gives memory back itself
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _worker_init() -> None:
    """Set up a stage worker: one BLAS thread, and stop with its kernels when told or orphaned."""
    import atexit

    from loyalty_lib import outdir

    _one_blas_thread()
    outdir.worker_init()
    atexit.register(drop_shared_kernel)  # the kernel kept for a next stage ends with the worker


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
