"""The stages that sum their receipts through the engine publish the same KPIs on pandas and on DuckDB.

Each notebook runs twice on a generated branch's snapshot, with ``engine_backend`` set to
``pandas`` and to ``duckdb`` (which reads the snapshot's Parquet file); every published figure
must agree, counts exactly and money to 1e-9. Slow (six notebook runs): ``make test-slow``.
"""

from __future__ import annotations

import nbformat
import numpy as np
import papermill as pm
import pytest

from loyalty_lib import config, io, synth
from loyalty_lib.kpi import read_kpis
from loyalty_lib.snapshot import write_snapshot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def snapshot_dir(tmp_path_factory):
    raw, folder = tmp_path_factory.mktemp("export"), tmp_path_factory.mktemp("snap")
    io.save(synth.generate(n_customers=6000, seed=42), raw, fmt="parquet", force=True)
    write_snapshot(io.load(raw), folder)  # as the report prepares it
    return folder


def kpis(notebook: str, folder, backend: str, tmp_path):
    out = tmp_path / f"{notebook}.{backend}.ipynb"
    try:
        pm.execute_notebook(
            str(config.NOTEBOOKS_DIR / f"{notebook}.ipynb"),
            str(out),
            parameters={"data_dir": str(folder), "engine_backend": backend, "n_boot": 40},
            kernel_name="python3",
            cwd=str(config.NOTEBOOKS_DIR),
            progress_bar=False,
        )
    except pm.PapermillExecutionError as e:  # the KPIs are published before the final checks
        assert "AssertionError" in e.ename or e.ename == "AssertionError", e
    return read_kpis(nbformat.read(out, as_version=4)).set_index("kpi")


@pytest.mark.parametrize("notebook", ["03_activity", "06_impact", "08_audience"])
def test_a_stage_publishes_the_same_kpis_through_pandas_and_duckdb(notebook, snapshot_dir, tmp_path):
    a = kpis(notebook, snapshot_dir, "pandas", tmp_path)
    b = kpis(notebook, snapshot_dir, "duckdb", tmp_path)
    assert list(a.index) == list(b.index) and len(a) > 0
    for col in ["estimate", "ci_low", "ci_high"]:
        np.testing.assert_allclose(
            a[col].to_numpy(float), b[col].to_numpy(float), rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=col
        )
