"""Writes that cannot hurt: output folders away from the data, manifests, locks, atomic publish,
and nothing executable in what the suite writes (escaped Markdown, neutralised CSV cells)."""

from __future__ import annotations

import json
import signal

import pandas as pd
import pytest
from nbconvert.filters import markdown2html
from test_report import digest, run_cli, write_notebooks, write_tiny_data

from loyalty_lib import outdir
from loyalty_lib.escape import md_escape, neutralise_formulas, write_csv
from loyalty_lib.outdir import MANIFEST, FolderLock, OutputFolderError

HOSTILE = "exports/q1`<img src=x onerror=alert(1)>`_*bold*_[link](http://x)"


# ----------------------------------------------------------------------------- escaping


def test_md_escape_shows_a_hostile_path_as_text():
    page = markdown2html(f"Data: {md_escape(HOSTILE)} — real data.")
    assert "<img" not in page and "<a " not in page and "<em>" not in page and "<code>" not in page
    # what a reader sees is the path itself
    from html import unescape

    text = unescape(page.replace("<p>", "").replace("</p>", "")).strip()
    assert text == f"Data: {HOSTILE} — real data."


def test_neutralise_formulas_on_a_hand_made_table():
    t = pd.DataFrame(
        {
            "customer_id": ['=HYPERLINK("http://x","y")', "+1-2", "@SUM(A1)", "\tx", "-5", "007", None],
            "amount": [-5.0, 3.0, 2.0, 1.0, 0.0, -1.5, 4.0],
            "n": [-5, 1, 2, 3, 4, 5, 6],
        }
    )
    before = t.copy()
    out = neutralise_formulas(t)
    assert out["customer_id"].tolist()[:6] == [
        '\'=HYPERLINK("http://x","y")',
        "'+1-2",  # not a plain number: a formula could hide in it
        "'@SUM(A1)",
        "'\tx",
        "-5",  # a plain number written as text stays as it is
        "007",
    ]
    assert pd.isna(out["customer_id"].iloc[6])
    assert out["amount"].tolist() == t["amount"].tolist() and out["n"].dtype == t["n"].dtype  # numbers stay numbers
    pd.testing.assert_frame_equal(t, before)  # the input is not modified


def test_write_csv_neutralises_header_and_cells(tmp_path):
    path = write_csv(pd.DataFrame({"=cmd": ["=1+1"], "x": [-3]}), tmp_path / "t.csv")
    assert path.read_text().splitlines() == ["'=cmd,x", "'=1+1,-3"]


# ----------------------------------------------------------------------------- data folders


@pytest.mark.parametrize("where", ["same", "inside", "parent"])
def test_validate_never_quarantines_into_the_data_folder(tmp_path, where):
    """Defect 1: ``validate D --quarantine D`` replaced transactions.csv with the bad rows."""
    data = write_tiny_data(tmp_path / "export", broken=True)
    before = digest(data)
    q = {"same": data, "inside": data / "q", "parent": tmp_path}[where]
    code, _, err = run_cli(["validate", str(data), "--quarantine", str(q)])
    assert code == 2 and "outside the data folder" in err and str(data) in err
    assert digest(data) == before
    assert not (data / "q").exists()


def test_quarantine_files_are_neutralised_and_replace_only_their_own(tmp_path):
    data = write_tiny_data(tmp_path / "export", broken=True)
    customers = pd.read_csv(data / "customers.csv")
    customers.loc[0, "customer_type"] = '=HYPERLINK("http://evil","open")'
    customers.to_csv(data / "customers.csv", index=False)
    before = digest(data)
    q = tmp_path / "q"
    code, _, err = run_cli(["validate", str(data), "--quarantine", str(q)])
    assert code == 1 and "quarantined" in err
    text = (q / "customers.csv").read_text()
    assert "'=HYPERLINK" in text and "\n=" not in text and ",=" not in text
    assert (q / "transactions.csv").read_text().count(",-80.0,") == 1  # a negative amount stays a number
    listed = set(json.loads((q / MANIFEST).read_text())["files"])
    assert listed == {p.name for p in q.iterdir()} - {MANIFEST}
    assert {"customers.csv", "transactions.csv", "summary.csv"} <= listed
    # a second check replaces the earlier quarantine; a file the user put there is refused
    assert run_cli(["validate", str(data), "--quarantine", str(q)])[0] == 1
    (q / "my_notes.txt").write_text("mine")
    code, _, err = run_cli(["validate", str(data), "--quarantine", str(q)])
    assert code == 2 and "my_notes.txt" in err
    assert (q / "my_notes.txt").read_text() == "mine"
    other = tmp_path / "documents"
    other.mkdir()
    (other / "transactions.csv").write_text("the user's own file\n")
    code, _, err = run_cli(["validate", str(data), "--quarantine", str(other)])
    assert code == 2 and "not written by this suite" in err
    assert (other / "transactions.csv").read_text() == "the user's own file\n"
    assert digest(data) == before


# ----------------------------------------------------------------------------- manifest, lock, publish


def test_remove_listed_keeps_what_the_suite_did_not_write(tmp_path):
    f = tmp_path / "r"
    (f / "pages").mkdir(parents=True)
    (f / "index.html").write_text("i")
    (f / "pages" / "01.html").write_text("p")
    outdir.write_manifest(f)
    (f / "pages" / "about.html").write_text("the user's page")
    assert outdir.foreign_files(f) == ["pages/about.html"]
    with pytest.raises(OutputFolderError, match="about.html"):
        outdir.check_replaceable(f, force=True)
    assert outdir.remove_listed(f) == ["pages/about.html"]
    assert (f / "pages" / "about.html").read_text() == "the user's page" and not (f / "index.html").exists()


def test_a_forged_manifest_cannot_reach_outside_its_folder(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    f = tmp_path / "r"
    f.mkdir()
    (f / MANIFEST).write_text(json.dumps({"written_by": "loyalty_lib", "files": ["../victim.txt", str(victim)]}))
    outdir.remove_listed(f)
    assert victim.read_text() == "keep"


def test_lock_refuses_a_second_holder_and_is_free_after_release(tmp_path):
    out = tmp_path / "report"
    first = FolderLock(out).acquire()
    with pytest.raises(OutputFolderError, match="another report run"):
        FolderLock(out).acquire()
    first.release()
    assert not first.path.exists()
    with FolderLock(out) as again:
        assert again.fd is not None


def test_publish_swaps_whole_folders_and_keeps_foreign_files(tmp_path):
    out = tmp_path / "report"
    b1 = outdir.new_build_dir(out)
    (b1 / "index.html").write_text("first")
    assert outdir.publish(b1, out) == [] and (out / "index.html").read_text() == "first"
    b2 = outdir.new_build_dir(out)
    (b2 / "index.html").write_text("second")
    assert outdir.publish(b2, out) == []
    assert (out / "index.html").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # nothing left beside it


def test_leftovers_of_killed_runs_are_recognised_by_name(tmp_path):
    out = tmp_path / "report"
    build = outdir.new_build_dir(out)
    (build / "pages").mkdir()
    (build / "pages" / ".01.ipynb").write_text("half")
    neighbour = tmp_path / ".report.builder-notes"  # not ours: the name does not match
    neighbour.mkdir()
    found = outdir.clean_leftovers(out)
    assert found == [build] and not build.exists() and neighbour.exists()


def test_a_run_stopped_before_publishing_leaves_no_trace(tmp_path, monkeypatch):
    from loyalty_lib import config, report

    def stopped(*_args, **_kwargs):
        raise report.Interrupted(signal.SIGTERM)

    monkeypatch.setattr(config, "OUTPUTS_DIR", tmp_path / "outputs")
    monkeypatch.setattr(report.runner, "_build", stopped)
    data = write_tiny_data(tmp_path / "d")
    nbs = write_notebooks(tmp_path / "nbs")
    with pytest.raises(report.Interrupted):
        report.run_report(data, None, notebooks_dir=nbs, progress=False)
    assert list((tmp_path / "outputs" / "runs").iterdir()) == []  # no empty run folder, build or lock
    out = tmp_path / "o"
    before = old_report_like(out)
    with pytest.raises(report.Interrupted):
        report.run_report(data, out, notebooks_dir=nbs, force=True, progress=False)
    assert digest(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["d", "nbs", "o", "outputs"]


def old_report_like(out):
    (out / "pages").mkdir(parents=True)
    (out / "index.html").write_text("earlier")
    outdir.write_manifest(out)
    return digest(out)


def test_a_legacy_report_without_manifest_is_refused_with_a_hint(tmp_path):
    f = tmp_path / "report"
    f.mkdir()
    (f / "index.html").write_text("old")
    (f / "run.json").write_text("{}")
    with pytest.raises(OutputFolderError, match="older than the manifest"):
        outdir.check_replaceable(f, force=True)


def test_generate_force_never_overwrites_a_shops_exports(tmp_path):
    exports = write_tiny_data(tmp_path / "exports")
    before = digest(exports)
    code, _, err = run_cli(["generate", "--out", str(exports), "--customers", "200", "--force", "--quiet"])
    assert code == 2 and "ground_truth.json" in err and "own exports" in err
    assert digest(exports) == before
    synthetic = tmp_path / "synthetic"
    gen = ["generate", "--out", str(synthetic), "--customers", "200", "--quiet"]
    assert run_cli(gen)[0] == 0
    assert run_cli([*gen, "--seed", "2", "--force"])[0] == 0  # earlier generated data: replaced
    (synthetic / "notes.txt").write_text("mine")
    code, _, err = run_cli([*gen, "--force"])
    assert code == 2 and "notes.txt" in err


def test_an_unwritable_report_folder_is_a_clear_error_not_a_traceback(tmp_path, monkeypatch):
    from loyalty_lib import report

    data = write_tiny_data(tmp_path / "d")
    nbs = write_notebooks(tmp_path / "nbs")
    (tmp_path / "a_file").write_text("x")
    code, _, err = run_cli(
        ["report", "--data", str(data), "--out", str(tmp_path / "a_file" / "r"), "--notebooks", str(nbs)]
    )
    assert code == 2 and "cannot write the report folder" in err

    def disk_full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report.runner, "_build", disk_full)
    out = tmp_path / "o"
    before = old_report_like(out)
    code, _, err = run_cli(["report", "--data", str(data), "--out", str(out), "--notebooks", str(nbs), "--force"])
    assert code == 1 and "No space left on device" in err and "left as it was" in err
    assert digest(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "d", "nbs", "o"]
