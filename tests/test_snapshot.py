"""The prepared snapshot: the data loaded and checked once, read back lazily and unchanged."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

from loyalty_lib import config, io, snapshot
from loyalty_lib import study as study_module
from loyalty_lib.narrative import stage_study, study_parameters
from loyalty_lib.snapshot import SnapshotDataset
from loyalty_lib.study import Study


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


def _assert_same_study(a, b):
    for f in fields(Study):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_exact=True)
        else:
            assert x == y and type(x) is type(y), (f.name, x, y)


@pytest.fixture(scope="module")
def snap_with_study(loaded, tmp_path_factory):
    folder = tmp_path_factory.mktemp("snap_study") / "data"
    # the parameters two stage notebooks pass (the report's defaults): one study
    nb_params = [{"data_dir": "", "launch_date": "", "n_boot": 200}, {"currency": "", "printed_cards": 0}]
    snapshot.write_snapshot(loaded, folder, source="sample", study_params=nb_params)
    return folder


def test_the_stored_study_is_the_study_derived_again(loaded, snap_with_study):
    assert len(list((snap_with_study / snapshot.STUDY_DIR).glob("*.json"))) == 1  # one set of parameters
    ds = io.load(snap_with_study)
    stored = stage_study(ds, {"launch_date": "", "tier_thresholds": []})
    assert isinstance(object.__getattribute__(ds, "transactions"), snapshot._Pending)  # loaded: no receipt read
    derived = study_module._build(io.load(snap_with_study), study_parameters(ds))  # from the snapshot's tables
    _assert_same_study(stored, derived)
    _assert_same_study(stored, stage_study(loaded))  # and from the data as loaded
    assert stored.currency == "RUB" and stored.rows and stored.capability  # the teaching data's roubles
    # 06 builds its study by hand with the same parameters: the same stored study
    again = Study.from_data(ds, {"launch_date": "", "currency": "RUB"})
    assert isinstance(object.__getattribute__(ds, "transactions"), snapshot._Pending)
    _assert_same_study(again, stored)


def test_other_parameters_derive_the_study_again(loaded, snap_with_study):
    ds = io.load(snap_with_study)
    params = study_parameters(ds, {"launch_date": "2024-03-01"})
    assert snapshot.stored_study(ds, params) is None
    edited = stage_study(ds, {"launch_date": "2024-03-01"})
    assert edited.launch == pd.Timestamp("2024-03-01") and edited.launch != stage_study(loaded).launch
    _assert_same_study(edited, stage_study(loaded, {"launch_date": "2024-03-01"}))
    assert snapshot.stored_study(ds, {"left_censored": False}) is None  # a false flag that overrides the data
    assert snapshot.stored_study(loaded, study_parameters(loaded)) is None  # data not opened from a snapshot


def test_a_study_stored_for_other_data_is_not_used(loaded, snap_with_study, tmp_path):
    import shutil

    folder = tmp_path / "data"
    shutil.copytree(snap_with_study, folder)
    ds = io.load(folder)
    assert snapshot.stored_study(ds, study_parameters(ds)) is not None  # a copy keeps its study
    tx = pd.read_parquet(folder / "transactions.parquet")
    io.write_table(tx.iloc[:-1], folder / "transactions.parquet")  # one receipt fewer: other data
    assert snapshot.stored_study(io.load(folder), study_parameters(ds)) is None


def test_truth_tables_are_read_column_by_column(loaded, snap):
    ds = io.load(snap)
    tables = ds.truth_tables
    assert isinstance(tables, snapshot.TruthTables) and "transactions" in tables and "nothing" not in tables
    assert tables._cols == {}  # opening read none of them
    assert tables.columns("transactions") == list(loaded.truth_tables["transactions"].columns)
    part = tables.read_columns("transactions", ["transaction_id", "cf_amount"])
    pd.testing.assert_frame_equal(part, loaded.truth_tables["transactions"][["transaction_id", "cf_amount"]])
    assert set(tables._cols["transactions"]) == {"transaction_id", "cf_amount"}  # only what was asked
    with pytest.raises(KeyError, match="no column"):
        tables.read_columns("transactions", ["nope"])
    assert tables.get("nothing") is None


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
            new_code_cell(
                'data_dir = ""  # folder of contract tables\ncurrency = ""  # currency code',
                metadata={"tags": ["parameters"]},
            ),
            new_code_cell(
                "from loyalty_lib.dataset import load_or_generate\n"
                "from loyalty_lib.snapshot import recorded_validation, stored_study\n"
                "ds = load_or_generate(data_dir)\n"
                "assert type(ds).__name__ == 'SnapshotDataset', type(ds)\n"
                "assert stored_study(ds, {'currency': currency}).currency == 'EUR'  # the report's study, stored\n"
                "assert stored_study(ds, {}) is None  # other parameters: derived in the notebook\n"
                "assert recorded_validation(ds).ok and len(ds.transactions) == 4"
            ),
        ],
    )
    nbformat.write(probe, nbs / "01_probe.ipynb")
    res = run_report(data, tmp_path / "out", notebooks_dir=nbs, params={"currency": "EUR"}, progress=False)
    assert res.exit_code == 0, res.stages
    manifest = json.loads((tmp_path / "out" / "data" / snapshot.MANIFEST).read_text())
    assert manifest["validated"] and manifest["tables"]["transactions"]["rows"] == 4
    assert manifest["source"] == "../export"  # as the report names it: never an absolute path


def test_truth_tables_of_parquet_data_are_copied_into_the_snapshot_unread(tmp_path):
    from loyalty_lib import synth

    gen = synth.generate(n_customers=300, seed=3)
    io.save(gen, tmp_path / "raw", fmt="parquet")
    ds = io.load(tmp_path / "raw")
    assert isinstance(ds.truth_tables, snapshot.TruthTables) and ds.truth_tables._cols == {}  # loading read none
    snapshot.write_snapshot(ds, tmp_path / "snap", source="raw")
    assert ds.truth_tables._cols == {}  # the snapshot copied their files
    back = io.load(tmp_path / "snap").truth_tables
    for name in gen.truth_tables:  # as the loader read them before: ids as text, like the data's
        t = pd.read_parquet(tmp_path / "raw" / f"truth_{name}.parquet")
        t = t.assign(**{c: io.as_ids(t[c], "text")[0] for c in t.columns if c in io.ID_COLUMNS})
        pd.testing.assert_frame_equal(back[name], t, check_exact=True)
        pd.testing.assert_frame_equal(ds.truth_tables[name], t, check_exact=True)
