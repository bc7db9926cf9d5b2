"""The prepared snapshot: the data loaded and checked once, read back lazily and unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalty_lib import config, io, snapshot
from loyalty_lib.narrative import stage_study
from loyalty_lib.snapshot import SnapshotDataset


@pytest.fixture(scope="module")
def loaded():
    return io.load(config.SAMPLE_DIR)


@pytest.fixture(scope="module")
def snap(loaded, tmp_path_factory):
    folder = tmp_path_factory.mktemp("snap") / "data"
    snapshot.write_snapshot(loaded, folder, source="sample")
    return folder


def test_snapshot_reads_back_the_same_tables_and_truth(loaded, snap):
    ds = io.load(snap)
    assert isinstance(ds, SnapshotDataset) and ds.source == "sample"
    for name, table in loaded.tables.items():
        pd.testing.assert_frame_equal(getattr(ds, name), table, check_exact=True)
    assert ds.truth == loaded.truth
    for name, table in loaded.truth_tables.items():
        pd.testing.assert_frame_equal(ds.truth_tables[name], table)


def test_snapshot_reads_a_table_only_when_used(loaded, snap):
    ds = io.load(snap)
    pending = object.__getattribute__(ds, "transaction_items")
    assert isinstance(pending, snapshot._Pending)  # opening read no table
    assert ds.has("transaction_items") and ds.columns_of("transaction_items") == list(loaded.transaction_items.columns)
    assert ds.table_names() == loaded.table_names()
    part = ds.read_columns("transaction_items", ["transaction_id"])
    assert list(part.columns) == ["transaction_id"] and len(part) == len(loaded.transaction_items)
    assert isinstance(object.__getattribute__(ds, "transaction_items"), snapshot._Pending)  # still not all read
    assert len(ds.transaction_items) == len(loaded.transaction_items)
    assert isinstance(object.__getattribute__(ds, "transaction_items"), pd.DataFrame)  # read once, kept


def test_a_study_on_the_snapshot_is_the_study_on_the_data(loaded, snap):
    a = stage_study(loaded).describe()
    b = stage_study(io.load(snap)).describe()
    pd.testing.assert_frame_equal(a, b)


def test_recorded_validation_only_for_a_snapshot(loaded, snap):
    assert snapshot.recorded_validation(loaded) is None
    report = snapshot.recorded_validation(io.load(snap))
    assert report.ok and report.warnings.empty


def test_a_snapshot_without_a_table_file_is_refused(loaded, tmp_path):
    snapshot.write_snapshot(loaded, tmp_path, source="x")
    (tmp_path / "surveys.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="surveys"):
        snapshot.open_snapshot(tmp_path)


def test_a_folder_without_manifest_is_loaded_and_checked_as_before(loaded):
    assert not snapshot.is_snapshot(config.SAMPLE_DIR)
    assert not isinstance(loaded, SnapshotDataset)


@pytest.mark.parametrize(
    ("values", "mode", "expected"),
    [
        (["b7", None, "a", "b7"], "text", ["b7", None, "a", "b7"]),
        (["0007", "3", "3"], "text", ["0007", "3", "3"]),  # as written
        ([7.0, None, 2.0], "text", ["7", None, "2"]),  # a float category 7.0 is the id 7, as a float column
        (["0007", "3", None], "integer", [7, 3, None]),
    ],
)
def test_ids_stored_as_categories_read_like_the_rows(values, mode, expected):
    s = pd.Series(pd.Categorical(values), index=[10, 11, 12, 13][: len(values)])
    out, bad = io.as_ids(s, mode)
    assert out.index.equals(s.index) and not bad.any()
    assert [None if pd.isna(v) else v for v in out.tolist()] == expected
    # the same as reading the column row by row
    plain, _ = io.as_ids(s.astype(object if mode == "integer" or isinstance(values[0], str) else "float64"), mode)
    assert [None if pd.isna(v) else v for v in plain.tolist()] == expected


def test_a_category_id_that_is_not_a_whole_number_is_a_problem():
    s = pd.Series(pd.Categorical(["1", "x", "1", np.nan]))
    out, bad = io.as_ids(s, "integer")
    assert bad.tolist() == [False, True, False, False]
    assert out.dtype == "Int64" and out.isna().tolist() == [False, True, False, True]


def test_the_report_hands_its_notebooks_the_snapshot(tmp_path):
    import json

    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook
    from test_report import KERNELSPEC, write_tiny_data

    from loyalty_lib.report import run_report

    data = write_tiny_data(tmp_path / "export")
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    probe = new_notebook(
        metadata=KERNELSPEC,
        cells=[
            new_code_cell('data_dir = ""  # folder of contract tables', metadata={"tags": ["parameters"]}),
            new_code_cell(
                "from loyalty_lib.dataset import load_or_generate\n"
                "from loyalty_lib.snapshot import recorded_validation\n"
                "ds = load_or_generate(data_dir)\n"
                "assert type(ds).__name__ == 'SnapshotDataset', type(ds)\n"
                "assert recorded_validation(ds).ok and len(ds.transactions) == 4"
            ),
        ],
    )
    nbformat.write(probe, nbs / "01_probe.ipynb")
    res = run_report(data, tmp_path / "out", notebooks_dir=nbs, progress=False)
    assert res.exit_code == 0, res.stages
    manifest = json.loads((tmp_path / "out" / "data" / snapshot.MANIFEST).read_text())
    assert manifest["validated"] and manifest["tables"]["transactions"]["rows"] == 4
    assert manifest["source"] == "../export"  # as the report names it: never an absolute path
