"""The batch report on tiny throwaway notebooks and a hand-made three-customer data set.

One module-scoped run executes two notebooks (one publishes KPIs, one raises) on data with a
broken row under ``--quarantine``; the other tests read what it wrote, so the suite starts two
kernels in all.
"""

from __future__ import annotations

import contextlib
import hashlib
import io as _io
import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from loyalty_lib import cli, outdir, report
from loyalty_lib.report import ReportError, kpi_status, prepare_out_dir, read_params

KERNELSPEC = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
CODE_MARK = "# CODE_ONLY_MARK"  # appears in the code of the KPI notebook, never in its output


def write_tiny_data(folder: Path, *, broken: bool = False) -> Path:
    """Three customers, three cards (one in stock), four receipts; CSV like an export.

    With ``broken``, receipt 103 gets a negative amount (gross 80, discount 0, amount -80).
    Clean: 2 of 4 receipts carry a card. After quarantining 103: 2 of 3 receipts.
    """
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "customer_type": ["b2c", "b2c", "b2b"],
            "first_seen": ["2025-01-05", "2025-01-06", "2025-02-01"],
        }
    ).to_csv(folder / "customers.csv", index=False)
    pd.DataFrame(
        {
            "card_id": [10, 11, 12],
            "customer_id": pd.array([1, 2, None], dtype="Int64"),  # ids as a till writes them: 1, not 1.0
            "issued_date": ["2025-01-05", "2025-01-10", None],
            "issue_channel": ["offline", "delivery", None],
        }
    ).to_csv(folder / "cards.csv", index=False)
    pd.DataFrame(
        {
            "transaction_id": [100, 101, 102, 103],
            "customer_id": [1, 1, 2, 3],
            "date": [
                "2025-01-05 10:00",
                "2025-02-01 11:00",
                "2025-01-12 09:30",
                "2025-02-02 12:00",
            ],
            "gross_amount": [100.0, 200.0, 50.0, 80.0],
            "discount_amount": [5.0, 14.0, 0.0, 0.0],
            "amount": [95.0, 186.0, 50.0, -80.0 if broken else 80.0],
            "channel": ["offline", "offline", "delivery", "offline"],
            "store_id": [1, 1, 2, 1],
            "card_id": pd.array([10, 10, None, None], dtype="Int64"),
        }
    ).to_csv(folder / "transactions.csv", index=False)
    return folder


def write_notebooks(folder: Path) -> Path:
    """``01_kpis`` reads the data and publishes three KPIs and a plot; ``02_broken`` raises."""
    folder.mkdir(parents=True, exist_ok=True)
    good = new_notebook(
        metadata=KERNELSPEC,
        cells=[
            new_markdown_cell("# Cards at the till\nHow many receipts carry a card."),
            new_code_cell(
                "import matplotlib.pyplot as plt\n"
                "from loyalty_lib.dataset import load_or_generate\n"
                "from loyalty_lib.kpi import kpi_frame, publish_kpis",
                metadata={"tags": ["hide-input"]},
            ),
            new_code_cell(
                # papermill's own parser skips a line whose comment holds "=": the report must not
                'data_dir: str = ""  # data folder; "" = the sample\ntarget: float = 0.3  # target share',
                metadata={"tags": ["parameters"]},
            ),
            new_code_cell(
                f"{CODE_MARK}\nds = load_or_generate(data_dir)\n"
                "n = len(ds.transactions)\nshare = ds.transactions['card_id'].notna().mean()"
            ),
            new_code_cell("fig, ax = plt.subplots(figsize=(4, 3))\nax.bar(['card', 'no card'], [share, 1 - share])"),
            new_code_cell("import warnings\nwarnings.warn('noisy warning for analysts')"),
            new_code_cell("print('RAW_PANEL_HEAD')", metadata={"tags": ["analyst-only"]}),
            new_code_cell(
                # a table as an analysis returns it: snake_case names, NaN, True/False, a tiny
                # p-value, a date at midnight, a share, a list and a named index
                "from loyalty_lib import present\npresent.install()\nimport pandas as pd\n"
                "pd.DataFrame({'customer_type': ['b2c', 'b2b'], 'net_check': [4294.849, float('nan')],"
                " 'p_value': [7.24e-179, 0.2], 'repeat_use': [True, False],"
                " 'first_use_date': pd.to_datetime(['2028-07-24', '2028-07-25']),"
                " 'member_share': [0.355, 0.5], 'tiers': [[1500.0, 5000.0], []]},"
                " index=pd.Index(['S1', 'S2'], name='store_id'))"
            ),
            new_markdown_cell("## Checks\nWhat the checks below test."),
            new_code_cell("print('CHECKS_SECTION_OUTPUT')"),
            new_markdown_cell("## Exercises\nSet `generate = True` and run again."),
            new_code_cell("# NBVAL_CHECK_OUTPUT\nprint('ROUNDED_TEST_COPY', round(share, 3))"),
            new_code_cell(
                "publish_kpis(kpi_frame([\n"
                " dict(stage='enrollment', kpi='n_tx', label='Receipts', estimate=float(n),\n"
                "      unit='count'),\n"
                " dict(stage='enrollment', kpi='card_share', label='Receipts with a card',\n"
                "      estimate=share, ci_low=share - 0.1, ci_high=share + 0.1, unit='%',\n"
                "      target=target),\n"
                " dict(stage='enrollment', kpi='low', label='A weak figure', estimate=0.1,\n"
                "      ci_low=0.05, ci_high=0.15, unit='%', target=0.5),\n"
                "]))"
            ),
        ],
    )
    bad = new_notebook(
        metadata=KERNELSPEC,
        cells=[
            new_markdown_cell("# A broken stage"),
            new_code_cell('data_dir: str = ""', metadata={"tags": ["parameters"]}),
            new_code_cell("raise ValueError('the branch has no receipts in March')"),
            new_code_cell("print('never reached')"),
        ],
    )
    nbformat.write(good, folder / "01_kpis.ipynb")
    nbformat.write(bad, folder / "02_broken.ipynb")
    (folder / "helper.ipynb").write_text("not a stage notebook")  # ignored: no NN_ prefix
    return folder


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = _io.StringIO(), _io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One report run: broken row quarantined, two notebooks (one fails), params file."""
    base = tmp_path_factory.mktemp("report")
    data = write_tiny_data(base / "export", broken=True)
    before = digest(data)
    nbs = write_notebooks(base / "notebooks")
    params = base / "params.yaml"
    params.write_text("target: 0.5\nnot_declared_anywhere: 1\nnotebooks:\n  02_broken: {}\n")
    out = base / "out"
    code, stdout, stderr = run_cli(
        [
            "report",
            "--data",
            str(data),
            "--out",
            str(out),
            "--notebooks",
            str(nbs),
            "--params",
            str(params),
            "--jobs",
            "2",
            "--quarantine",
            "--quiet",
        ]
    )
    return {
        "code": code,
        "stdout": stdout,
        "stderr": stderr,
        "out": out,
        "data": data,
        "before": before,
        "nbs": nbs,
        "base": base,
    }


# ----------------------------------------------------------------------------- pure parts


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((0.40, 0.35, 0.45, 0.30, "higher"), "green"),  # whole CI above the target
        ((0.40, 0.25, 0.45, 0.30, "higher"), "amber"),  # target inside the CI
        ((0.40, 0.30, 0.45, 0.30, "higher"), "amber"),  # CI touches the target: not yet met
        ((0.20, 0.10, 0.25, 0.30, "higher"), "red"),  # whole CI below
        ((3.0, 2.0, 4.0, 5.0, "lower"), "green"),  # lower is better, CI below the target
        ((6.0, 5.5, 7.0, 5.0, "lower"), "red"),
        ((0.40, None, None, 0.30, "higher"), "green"),  # no CI: the estimate decides
        ((0.0, None, None, 0.0, "lower"), "green"),  # reaching the target counts
        ((2.0, None, None, 0.0, "lower"), "red"),
        ((0.40, 0.3, 0.5, float("nan"), "higher"), "grey"),  # no target
        ((float("nan"), None, None, 0.3, "higher"), "grey"),
    ],
)
def test_kpi_status(args, expected):
    assert kpi_status(*args) == expected


def test_read_params_splits_common_and_per_notebook(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("seed: 3\nnotebooks:\n  02_enrollment.ipynb: {seed: 4}\n  03_activity:\n")
    assert read_params(p) == ({"seed": 3}, {"02_enrollment": {"seed": 4}, "03_activity": {}})
    p.write_text("notebooks: [1, 2]\n")
    with pytest.raises(ReportError, match="notebooks"):
        read_params(p)
    with pytest.raises(ReportError, match="does not exist"):
        read_params(tmp_path / "missing.yaml")


def test_notebook_parameters_passes_only_declared(tmp_path):
    nbs = write_notebooks(tmp_path / "nbs")
    passed, ignored = report.notebook_parameters(
        nbs / "01_kpis.ipynb", {"target": 0.4, "seed": 1}, {"01_kpis": {"target": 0.6}}, "/abs/data"
    )
    assert passed == {"data_dir": "/abs/data", "target": 0.6}
    assert ignored == {"seed": 1}


def test_timestamped_run_folders_never_collide(tmp_path):
    a = prepare_out_dir(None, runs_dir=tmp_path)
    b = prepare_out_dir(None, runs_dir=tmp_path)
    assert a != b and a.parent == b.parent == tmp_path
    assert re.fullmatch(r"\d{8}-\d{6}(-\d+)?", a.name)


def test_out_folder_rules(tmp_path):
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "index.html").write_text("an earlier report")
    outdir.write_manifest(earlier)  # written by the suite
    with pytest.raises(ReportError, match="--force"):
        prepare_out_dir(earlier)
    assert prepare_out_dir(earlier, force=True) == earlier.resolve()
    other = tmp_path / "other"
    other.mkdir()
    (other / "index.html").write_text("not a report of the suite")
    with pytest.raises(ReportError, match="not written by this suite"):
        prepare_out_dir(other, force=True)  # --force never takes over a folder it did not write
    assert prepare_out_dir(tmp_path / "new") == (tmp_path / "new").resolve()
    assert not (tmp_path / "new").exists()  # built beside it and published whole at the end


def test_params_naming_unknown_notebook_is_refused_before_anything_runs(tmp_path):
    nbs = write_notebooks(tmp_path / "nbs")
    p = tmp_path / "p.yaml"
    p.write_text("notebooks:\n  09_nothing: {seed: 1}\n")
    code, _, err = run_cli(
        [
            "report",
            "--data",
            str(write_tiny_data(tmp_path / "d")),
            "--out",
            str(tmp_path / "o"),
            "--notebooks",
            str(nbs),
            "--params",
            str(p),
        ]
    )
    assert code == 2 and "09_nothing" in err
    assert not (tmp_path / "o").exists()


def test_broken_data_gives_problem_page_and_nonzero_exit(tmp_path):
    data = write_tiny_data(tmp_path / "branch_7", broken=True)
    out = tmp_path / "o"
    code, _, err = run_cli(
        [
            "report",
            "--data",
            str(data),
            "--out",
            str(out),
            "--notebooks",
            str(write_notebooks(tmp_path / "nbs")),
            "--quiet",
        ]
    )
    assert code == 1
    assert "branch_7" in err and "contract" in err
    page = (out / "index.html").read_text()
    assert "no stage was run" in page
    # the problem names table, column, rule, row count and the offending receipt id
    row = re.search(r"<tr><td><code>transactions</code></td><td><code>amount</code></td>(.*?)</tr>", page, re.S)
    assert row and "103" in row.group(1) and ">1<" in row.group(1)
    assert not (out / "pages").exists()
    assert json.loads((out / "run.json").read_text())["status"] == "failed"


def test_unreadable_data_folder_gives_error_page(tmp_path):
    out = tmp_path / "o"
    code, _, err = run_cli(
        [
            "report",
            "--data",
            str(tmp_path / "nothing"),
            "--out",
            str(out),
            "--notebooks",
            str(write_notebooks(tmp_path / "nbs")),
            "--quiet",
        ]
    )
    assert code == 1 and "could not run" in err
    assert "does not exist" in (out / "index.html").read_text()


# ----------------------------------------------------------------------------- the full run


def test_exit_code_and_message_name_the_failed_notebook(run):
    assert run["code"] == 1
    assert "02_broken" in run["stderr"] and "01_kpis" not in run["stderr"].split("failed:")[-1]
    assert "not_declared_anywhere" in run["stderr"]  # a parameter no notebook declares is named


def test_both_pages_and_executed_notebooks_are_written(run):
    out = run["out"]
    for name in ("01_kpis", "02_broken"):
        assert (out / "pages" / f"{name}.html").is_file()
        assert (out / "pages" / f"{name}.code.html").is_file()
        assert (out / "notebooks" / f"{name}.ipynb").is_file()
    assert not list(out.rglob(".*.tmp")) and not list(out.rglob(".*.ipynb"))  # no temp leftovers
    assert not (out / "pages" / "helper.html").exists()


def test_pages_are_self_contained(run):
    for page in [run["out"] / "index.html", *(run["out"] / "pages").glob("*.html")]:
        text = page.read_text()
        assert not re.search(r"<script[^>]+src=[\"']?(https?:)?//", text, re.I), page.name
        assert not re.search(r"<link[^>]+href=[\"']?(https?:)?//", text, re.I), page.name
        assert not re.search(r"@import\s+url\(\s*[\"']?https?:", text, re.I), page.name
        for src in re.findall(r"<img[^>]+src=[\"']([^\"']+)", text, re.I):
            assert src.startswith("data:image/"), (page.name, src[:40])
    kpi_page = (run["out"] / "pages" / "01_kpis.html").read_text()
    assert "data:image/png;base64," in kpi_page  # the plot is embedded


def test_manager_page_hides_code_and_noise_analyst_page_shows_code(run):
    manager = (run["out"] / "pages" / "01_kpis.html").read_text()
    analyst = (run["out"] / "pages" / "01_kpis.code.html").read_text()
    assert "CODE_ONLY_MARK" not in manager and "CODE_ONLY_MARK" in analyst
    assert "noisy warning" not in manager and "noisy warning" in analyst
    assert "RAW_PANEL_HEAD" not in manager and "RAW_PANEL_HEAD" in analyst
    assert "ROUNDED_TEST_COPY" not in manager and "ROUNDED_TEST_COPY" in analyst
    assert "BarContainer" not in manager and "BarContainer" not in analyst  # no object reprs
    assert "CHECKS_SECTION_OUTPUT" not in manager and "CHECKS_SECTION_OUTPUT" in analyst
    assert "generate = True" not in manager and "generate = True" in analyst
    assert "01_kpis.code.html" in manager and "../index.html" in manager


def test_failed_notebook_page_shows_the_error(run):
    for name in ("02_broken.html", "02_broken.code.html"):
        page = (run["out"] / "pages" / name).read_text()
        assert "This stage did not finish" in page
        assert "ValueError: the branch has no receipts in March" in page


def test_index_has_scorecard_with_values_ci_target_and_status(run):
    page = (run["out"] / "index.html").read_text()
    # after quarantining receipt 103: 2 of 3 receipts carry a card = 66.7 %, CI 56.7-76.7 %,
    # target 50 % from params.yaml -> the whole CI is above it -> green
    row = re.search(r"<td class=\"label\">Receipts with a card</td>(.*?)</tr>", page, re.S).group(1)
    assert "66.7 %" in row and "56.7 – 76.7 %" in row and "≥ 50.0 %" in row and "chip green" in row
    row = re.search(r"<td class=\"label\">A weak figure</td>(.*?)</tr>", page, re.S).group(1)
    assert "10.0 %" in row and "chip red" in row
    row = re.search(r"<td class=\"label\">Receipts</td>(.*?)</tr>", page, re.S).group(1)
    assert "<b>3</b>" in row and "chip grey" in row
    assert 'href="pages/01_kpis.html"' in page and 'href="pages/01_kpis.code.html"' in page


def test_index_marks_the_failed_stage(run):
    page = (run["out"] / "index.html").read_text()
    assert "1 stage failed" in page
    assert "ValueError: the branch has no receipts in March" in page
    run_json = json.loads((run["out"] / "run.json").read_text())
    assert run_json["failed"] == ["02_broken"]
    assert [s["status"] for s in run_json["stages"]] == ["ok", "failed"]


def test_quarantine_counts_rows_and_notebooks_read_the_clean_copy(run):
    out = run["out"]
    page = (out / "index.html").read_text()
    # receipt 103 breaks one rule (amount = gross - discount: a return is a negative gross, not
    # only a negative amount): one row set aside, 1 of 4 receipts, by absolute amount 80 of
    # 95 + 186 + 50 + 80 = 411 = 19.46 % of revenue
    assert "1 row\n" in page and "1 rule broken" in page and "amount = gross_amount - discount_amount" in page
    assert "set aside: 1 receipt (25.00 % of receipts, 19.46 % of revenue)" in page
    q = pd.read_csv(out / "quarantine" / "transactions.csv")
    assert q["transaction_id"].tolist() == [103] * len(q)
    stages = json.loads((out / "run.json").read_text())["stages"]
    # the copy, relative to the executed notebook: valid in the build folder and once published
    assert stages[0]["parameters"] == {"data_dir": "../data", "target": 0.5}
    assert len(pd.read_parquet(out / "data" / "transactions.parquet")) == 3
    assert digest(run["data"]) == run["before"]  # the user's files are untouched


def test_index_lists_run_metadata(run):
    page = (run["out"] / "index.html").read_text()
    for label in ("started", "duration", "git commit", "package versions", "parameter file"):
        assert f"<dt>{label}</dt>" in page
    assert "pandas " in page and "<dd>../export</dd>" in page  # the data folder, relative to the report
    assert str(run["base"]) not in page


def test_existing_report_is_not_overwritten_without_force(run):
    before = digest(run["out"])
    code, _, err = run_cli(
        [
            "report",
            "--data",
            str(run["data"]),
            "--out",
            str(run["out"]),
            "--notebooks",
            str(run["nbs"]),
            "--quiet",
        ]
    )
    assert code == 2 and "--force" in err
    assert digest(run["out"]) == before


def test_force_replaces_an_earlier_report_without_leaving_its_pages(tmp_path):
    out = tmp_path / "o"
    (out / "pages").mkdir(parents=True)
    (out / "index.html").write_text("<html>last month</html>")
    (out / "pages" / "09_old_stage.html").write_text("<html>old</html>")
    outdir.write_manifest(out)
    data = write_tiny_data(tmp_path / "d", broken=True)
    code, _, _ = run_cli(
        [
            "report",
            "--data",
            str(data),
            "--out",
            str(out),
            "--notebooks",
            str(write_notebooks(tmp_path / "nbs")),
            "--force",
            "--quiet",
        ]
    )
    assert code == 1
    assert "Data problems" in (out / "index.html").read_text()
    assert not (out / "pages" / "09_old_stage.html").exists()


def test_stage_whose_kernel_cannot_start_gets_an_error_page(tmp_path):
    nbs = write_notebooks(tmp_path / "nbs")
    r = report.run_stage(str(nbs / "02_broken.ipynb"), str(tmp_path / "o"), {}, kernel_name="no-such-kernel")
    assert r["status"] == "failed" and "NoSuchKernel" in r["error"]
    page = (tmp_path / "o" / "pages" / "02_broken.html").read_text()
    assert "This stage did not finish" in page and "NoSuchKernel" in page
    # the notebook as papermill left it (parameters injected, nothing run) and no temp files
    assert [p.name for p in (tmp_path / "o" / "notebooks").iterdir()] == ["02_broken.ipynb"]
    nbformat.read(tmp_path / "o" / "notebooks" / "02_broken.ipynb", as_version=4)


def test_interrupted_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    page = tmp_path / "index.html"
    report.atomic_write_text(page, "complete old page")

    def boom(src, dst):
        raise KeyboardInterrupt

    # interrupt the move into place of this one write only: patching os.replace on the os
    # module interrupted every file move of the whole test process while the test ran (a
    # finaliser or another library's cache write), where the KeyboardInterrupt cannot be caught
    # and surfaces as an unraisable-exception warning at the end of the run
    monkeypatch.setattr(report.files, "_publish", boom)
    with pytest.raises(KeyboardInterrupt):
        report.atomic_write_text(page, "new page")
    assert page.read_text() == "complete old page"
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]


def test_report_folder_must_be_outside_the_data_folder(tmp_path):
    data = write_tiny_data(tmp_path / "export")
    nbs = write_notebooks(tmp_path / "nbs")
    for out in (data / "report", data, tmp_path):
        code, _, err = run_cli(["report", "--data", str(data), "--out", str(out), "--notebooks", str(nbs)])
        assert code == 2 and "outside the data folder" in err
    assert not (data / "report").exists()


def test_analyst_page_shows_the_injected_parameters(run):
    analyst = (run["out"] / "pages" / "01_kpis.code.html").read_text()
    manager = (run["out"] / "pages" / "01_kpis.html").read_text()
    injected = "../data"  # the data_dir papermill injected
    assert "# Parameters" in analyst and injected in analyst
    assert injected not in manager


def test_a_figure_the_data_cannot_support_is_marked_not_available_with_its_reason():
    from loyalty_lib.kpi import kpi_frame, kpi_markdown, not_available
    from loyalty_lib.report import scorecard

    rows = kpi_frame(
        [
            {"stage": "06", "kpi": "naive", "label": "Naive gap", "estimate": 10.0, "target": 5.0},
            not_available("06", "did", "Revenue caused", "no identified non-members to compare with"),
        ]
    )
    card = scorecard([{"name": "06_impact", "kpis": rows.to_dict("records")}])
    assert card["status"].tolist() == ["green", "na"]
    assert "not available (no identified non-members to compare with)" in kpi_markdown(rows)
    with pytest.raises(ValueError, match="reason"):
        kpi_frame([{"stage": "06", "kpi": "x", "label": "X", "estimate": float("nan")}])


def test_manager_page_and_index_read_like_a_report(run):
    """No raw column names, NaN, True/False, scientific notation, tracebacks or local paths."""
    from loyalty_lib.report.lint import page_problems, visible_text

    manager = (run["out"] / "pages" / "01_kpis.html").read_text()
    assert page_problems(manager) == []
    text = visible_text(manager)
    # the messy table, formatted for people (values worked out by hand above)
    for shown in ("Client type", "Net check", "p-value", "Used it again", "First use", "Member share", "Store"):
        assert shown in text, shown
    for cell in ("4\u202f295", "< 0.001", "yes", "no", "2028-07-24", "35.5 %", "1\u202f500, 5\u202f000", "–"):
        assert cell in text, cell
    assert page_problems((run["out"] / "index.html").read_text()) == []
    broken = (run["out"] / "pages" / "02_broken.html").read_text()
    assert page_problems(broken) == []  # the error is named in the banner, without a traceback


def test_page_check_catches_what_a_notebook_dump_shows():
    from loyalty_lib.report.lint import page_problems

    dump = (
        "<table><tr><th>member_before_issue</th><th>n</th></tr><tr><td>NaN</td><td>True</td></tr>"
        "<tr><td>7.24e-179</td><td>2028-07-24 00:00:00</td></tr></table>"
        "<pre>Traceback (most recent call last)</pre><p>data: /home/sergey/exports</p>"
    )
    found = page_problems("<dd>git commit 1210e36</dd><p>3e-05</p>")  # a commit id is not a number
    assert len(found) == 1 and "scientific notation" in found[0] and "3e-05" in found[0]
    problems = " | ".join(page_problems(dump))
    for what in ("raw column name", "NaN", "True/False", "scientific", "traceback", "absolute local path", "midnight"):
        assert what in problems, what


def test_index_opens_with_the_verdicts_and_links_the_downloads(run):
    page = (run["out"] / "index.html").read_text()
    assert page.index("At a glance") < page.index("Scorecard by stage")
    for q in ("Does the program pay?", "Is it reaching customers?", "What to do next?"):
        assert q in page
    # the tiny notebooks publish no ROI: the question keeps its card, "not available" and why
    pays = re.search(r"<h3>Does the program pay\?</h3>(.*?)</article>", page, re.S).group(1)
    assert "not available" in pays and "no stage of this run published this figure" in pays
    assert 'href="downloads/scorecard.csv"' in page and 'href="downloads/loyalty_report.xlsx"' in page
    assert (run["out"] / "downloads" / "01_kpis.csv").is_file()
    assert "Month by month" in page and 'href="downloads/trends.csv"' in page
    trends = pd.read_csv(run["out"] / "downloads" / "trends.csv")
    # after quarantining receipt 103: January 95 + 50, February 186 (customer 1, a member since 5 Jan)
    assert trends["Month"].tolist() == ["2025-01", "2025-02"]
    assert trends["Revenue (net)"].tolist() == [145.0, 186.0]
    assert trends["Members"].tolist() == [2, 2]


def test_print_stylesheet_keeps_tables_rows_and_charts_whole(run):
    for page in (run["out"] / "index.html", run["out"] / "pages" / "01_kpis.html"):
        css = " ".join(re.findall(r"<style[^>]*>(.*?)</style>", page.read_text(), re.S))
        block = css[css.index("@media print") :]
        assert re.search(r"tr, td, th \{[^}]*break-inside: avoid", block)
        assert re.search(r"img[^{]*\{[^}]*max-width: 100%", block) or "img," in block
        assert "thead { display: table-header-group; }" in block
        assert re.search(r"\.lr-nav a\[download\][^{]*\{ display: none", block)
