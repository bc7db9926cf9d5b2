"""The report folder under hostile conditions: other people's files, interrupted and concurrent
runs, killed processes, and folder names made to inject HTML.

The slow notebook below records its kernel's process id (and its worker's) in a marker file and
then sleeps, so a test can interrupt a run while a kernel is busy, then check that no process
of the run survives and that the report folder holds one whole report.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from test_report import KERNELSPEC, digest, run_cli, write_tiny_data

from loyalty_lib import config, io, outdir, synth
from loyalty_lib.outdir import MANIFEST

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="process checks read /proc (Linux)")


def write_slow_notebook(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nb = new_notebook(
        metadata=KERNELSPEC,
        cells=[
            new_markdown_cell("# A slow stage"),
            new_code_cell(
                'data_dir: str = ""  # data folder\nmarker: str = ""  # file for the kernel pid\n'
                "seconds: float = 0.0  # how long to sleep",
                metadata={"tags": ["parameters"]},
            ),
            new_code_cell(
                "import os, time, pathlib\n"
                "if marker:\n"
                "    pathlib.Path(marker).write_text(f'{os.getpid()} {os.getppid()}')\n"
                "time.sleep(seconds)\nprint('slept')"
            ),
        ],
    )
    nbformat.write(nb, folder / "01_slow.ipynb")
    return folder


def running(pid: int) -> bool:
    """A process that exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def wait_for(cond, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def old_report(out: Path) -> str:
    """A complete earlier report written by the suite (with its manifest); returns its digest."""
    (out / "pages").mkdir(parents=True)
    (out / "index.html").write_text("<html>last month's report</html>")
    (out / "pages" / "01_slow.html").write_text("<html>last month's page</html>")
    (out / "pages" / "09_retired_stage.html").write_text("<html>a stage since removed</html>")
    outdir.write_manifest(out)
    return digest(out)


def beside(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def start_slow_run(base: Path) -> dict:
    """Start ``loyalty report`` on the slow notebook in a child process, over an earlier report."""
    data = write_tiny_data(base / "d")
    nbs = write_slow_notebook(base / "nbs")
    out = base / "o"
    before = old_report(out)
    marker = base / "kernel.pid"
    params = base / "p.yaml"
    params.write_text(f"marker: {marker}\nseconds: 120\n")
    argv = ["report", "--data", str(data), "--out", str(out), "--notebooks", str(nbs), "--force", "--quiet"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "loyalty_lib.cli", *argv, "--params", str(params), "--jobs", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=config.PROJECT_DIR,
    )
    return {"proc": proc, "out": out, "before": before, "marker": marker, "argv": argv, "base": base}


def busy(run: dict) -> dict:
    """Wait until the run's kernel is executing the slow cell; add the kernel's and worker's pids."""
    proc = run["proc"]
    assert wait_for(run["marker"].exists, 240), proc.stderr.read() if proc.poll() is not None else "no kernel"
    time.sleep(0.2)
    run["kernel"], run["worker"] = (int(x) for x in run["marker"].read_text().split())
    return run


@pytest.fixture
def slow_run(tmp_path):
    """A run of the slow notebook whose kernel is busy; killed at the end if still running."""
    run = start_slow_run(tmp_path)
    try:
        yield busy(run)
    finally:
        if run["proc"].poll() is None:
            run["proc"].kill()
        run["proc"].wait()


def test_ctrl_c_stops_promptly_kills_the_kernel_and_keeps_the_old_report(slow_run):
    run, out = slow_run, slow_run["out"]
    # a second run into the same folder while the first holds it is refused at once
    code, _, err = run_cli([*run["argv"], "--params", str(run["base"] / "p.yaml")])
    assert code == 2 and "another report run" in err and f"pid {run['proc'].pid}" in err
    t0 = time.monotonic()
    run["proc"].send_signal(signal.SIGINT)
    _, stderr = run["proc"].communicate(timeout=60)
    assert time.monotonic() - t0 < 30  # the notebook would have slept two minutes
    assert run["proc"].returncode == 130
    assert "interrupted (SIGINT)" in stderr and "left as it was" in stderr
    assert wait_for(lambda: not running(run["kernel"]) and not running(run["worker"]), 10)
    assert digest(out) == run["before"]  # the old report, whole
    assert beside(out) == []  # no build folder, no lock


def test_sigterm_stops_the_run_the_same_way(tmp_path, monkeypatch):
    """SIGTERM (a scheduler's stop) takes Ctrl-C's path: exit 143, the old report kept."""
    from loyalty_lib import report

    def terminated_midway(build, *_args, **_kwargs):
        (build / "index.html").write_text("half a report")
        os.kill(os.getpid(), signal.SIGTERM)  # a real signal, to this process
        time.sleep(5)  # not reached: the handler raises at once
        raise AssertionError("SIGTERM was not handled")

    monkeypatch.setattr(report.runner, "_build", terminated_midway)
    handler = signal.getsignal(signal.SIGTERM)
    out = tmp_path / "o"
    before = old_report(out)
    argv = ["report", "--data", str(write_tiny_data(tmp_path / "d")), "--out", str(out), "--force"]
    code, _, err = run_cli([*argv, "--notebooks", str(write_slow_notebook(tmp_path / "nbs"))])
    assert code == 143 and "interrupted (SIGTERM)" in err
    assert digest(out) == before and beside(out) == []
    assert signal.getsignal(signal.SIGTERM) == handler  # the process's own handler is restored


def test_killed_run_leaves_the_old_report_and_the_next_run_cleans_up(slow_run):
    run, out = slow_run, slow_run["out"]
    run["proc"].kill()  # kill -9: no handler runs
    run["proc"].wait()
    # the worker notices its parent is gone, kills its kernel's process group and exits
    assert wait_for(lambda: not running(run["kernel"]) and not running(run["worker"]), 10)
    left = beside(out)
    assert f".{out.name}.lock" in left and any(".build-" in n for n in left)
    time.sleep(1.0)
    assert beside(out) == left and digest(out) == run["before"]  # no orphan goes on writing
    # the next run takes the dead run's lock, removes its leftovers and publishes a whole report
    # (here the page of broken data, which needs no kernel)
    broken = write_tiny_data(run["base"] / "broken", broken=True)
    code, _, err = run_cli(["report", "--data", str(broken), *run["argv"][3:]])
    assert code == 1 and "interrupted run" in err, err
    assert beside(out) == []
    assert not (out / "pages").exists()  # every file of the old report was listed: all replaced
    assert "Data problems" in (out / "index.html").read_text()
    assert sorted(outdir.read_manifest(out)) == sorted(
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != MANIFEST
    )


def test_force_never_removes_files_the_suite_did_not_write(tmp_path):
    """Defect 2: ``--force`` into a folder that merely held an index.html deleted the user's files."""
    data = write_tiny_data(tmp_path / "d")
    nbs = write_slow_notebook(tmp_path / "nbs")
    site = tmp_path / "site"
    (site / "notebooks").mkdir(parents=True)
    (site / "pages").mkdir()
    (site / "index.html").write_text("<html>my site</html>")
    (site / "notebooks" / "my_analysis.ipynb").write_text("{}")
    (site / "pages" / "about.html").write_text("<html>about me</html>")
    before = digest(site)
    argv = ["report", "--data", str(data), "--out", str(site), "--notebooks", str(nbs), "--force", "--quiet"]
    code, _, err = run_cli(argv)
    assert code == 2 and "not written by this suite" in err
    assert digest(site) == before
    # an earlier report of the suite, plus one file the user added to it: refused too, by name
    report = tmp_path / "report"
    old_report(report)
    (report / "pages" / "my_notes.html").write_text("mine")
    before = digest(report)
    code, _, err = run_cli([*argv[:4], str(report), *argv[5:]])
    assert code == 2 and "pages/my_notes.html" in err
    assert digest(report) == before
    assert beside(site) == [] and beside(report) == []


def test_hostile_folder_names_reach_no_page_as_html(tmp_path):
    """Defect 6: an --out or data folder named with a backtick and an <img onerror> went live in 00."""
    hostile = "x`<img src=x onerror=alert(1)>`"
    data = tmp_path / f"data {hostile}"
    io.save(synth.generate(n_customers=800, seed=3), data, fmt="parquet")  # read in place: no copy
    # the 00 notebook up to the cell that names the data: imports, parameters, loading
    nb00 = nbformat.read(config.NOTEBOOKS_DIR / "00_case_and_data.ipynb", as_version=4)
    code = [c for c in nb00.cells if c.cell_type == "code"]
    upto = next(i for i, c in enumerate(code) if "ds.source" in c.source)
    nb00.cells = [nb00.cells[0], *code[: upto + 1]]
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    nbformat.write(nb00, nbs / "00_case_and_data.ipynb")
    out = tmp_path / f"out {hostile}"
    code, _, err = run_cli(["report", "--data", str(data), "--out", str(out), "--notebooks", str(nbs), "--quiet"])
    assert code == 0, err
    pages = [out / "index.html", out / "pages" / "00_case_and_data.html", out / "pages" / "00_case_and_data.code.html"]
    for page in pages:
        text = page.read_text()
        assert "<img src=x" not in text and "onerror=alert(1)>" not in text, page.name
    manager = pages[1].read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in manager  # shown, as text
    index = pages[0].read_text()
    assert str(tmp_path) not in index  # the index names folders by relative paths
    assert os.path.relpath(data, out) in index.replace("&lt;", "<").replace("&gt;", ">").replace("&#39;", "'")


@pytest.mark.parametrize(("failures", "status"), [(1, "ok"), (2, "ok"), (3, "failed")])
def test_a_kernel_that_dies_at_start_is_started_again(tmp_path, monkeypatch, failures, status):
    """Two kernels starting at once can collide; the stage starts again, at most twice, since no cell ran."""
    import papermill

    from loyalty_lib.report import stage

    calls = []

    def execute(src, dst, **kw):
        calls.append(dst)
        if len(calls) <= failures:
            raise RuntimeError("Kernel died before replying to kernel_info")
        Path(dst).write_text(Path(src).read_text(encoding="utf-8"), encoding="utf-8")

    monkeypatch.setattr(papermill, "execute_notebook", execute)
    nb = tmp_path / "00_x.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 00 · X")]), nb)
    result = stage.run_stage(str(nb), str(tmp_path / "out"), {})
    assert result["status"] == status
    assert len(calls) == min(failures + 1, 1 + stage.KERNEL_START_RETRIES)
    if status == "failed":
        assert "kernel_info" in result["error"]


def test_a_notebook_error_is_not_run_again(tmp_path, monkeypatch):
    import papermill

    from loyalty_lib.report import stage

    calls = []

    def execute(src, dst, **kw):
        calls.append(dst)
        raise RuntimeError("division by zero")

    monkeypatch.setattr(papermill, "execute_notebook", execute)
    nb = tmp_path / "00_x.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 00 · X")]), nb)
    assert stage.run_stage(str(nb), str(tmp_path / "out"), {})["status"] == "failed"
    assert len(calls) == 1
