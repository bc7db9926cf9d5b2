"""The prepared snapshot of a run: the data read, parsed and validated once, as typed Parquet.

``loyalty report`` loads a data folder once (:func:`loyalty_lib.io.load`: reading, parsing,
validation, quarantine), then writes what it loaded into the run folder with
:func:`write_snapshot`: one Parquet file per contract table (types kept: ids as text, dates as
dates), the planted truth when there is one, the quarantine summary, and a manifest
(``snapshot.json``) that records where the data came from, the column mapping, the validation
result (its warnings) and each table's rows and columns.

The stage notebooks are given the snapshot folder as their ``data_dir``. :func:`open_snapshot`
(called by :func:`loyalty_lib.io.load` when the folder holds a manifest) reads it without
validating again, and lazily: a table is read from its Parquet file the first time a notebook
asks for it, and :meth:`SnapshotDataset.read_columns` reads only the columns asked for, so a
stage that never touches the receipt lines never holds them. A notebook run by hand on a data
folder without a manifest loads and validates the data itself, as before.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

import pandas as pd

from loyalty_lib.dataset import Dataset
from loyalty_lib.schema import TABLES

__all__ = ["MANIFEST", "SnapshotDataset", "is_snapshot", "open_snapshot", "recorded_validation", "write_snapshot"]

#: The manifest file that marks a folder as a prepared snapshot.
MANIFEST = "snapshot.json"
#: Version of the manifest's layout.
FORMAT = 1
#: The loader's warnings (implausible values kept), saved beside the tables.
WARNINGS_FILE = "snapshot_warnings.csv"


class _Pending:
    """Placeholder for a table not read yet (the file it will be read from)."""

    __slots__ = ("path",)

    def __init__(self, path: Path):
        self.path = path

    def __repr__(self) -> str:
        return f"<table not read yet: {self.path.name}>"


class SnapshotDataset(Dataset):
    """A :class:`~loyalty_lib.dataset.Dataset` read from a snapshot, one table at a time.

    Each contract table is read from its Parquet file the first time it is used and kept
    afterwards; :meth:`has`, :meth:`columns_of` and :meth:`table_names` answer from the
    manifest without reading anything, and :meth:`read_columns` reads only some columns.
    """

    def __getattribute__(self, name):
        value = object.__getattribute__(self, name)
        if isinstance(value, _Pending):
            value = pd.read_parquet(value.path)
            object.__setattr__(self, name, value)
        return value

    def _manifest_tables(self) -> dict:
        return object.__getattribute__(self, "__dict__").get("_tables", {})

    def has(self, name: str) -> bool:
        """Return whether table ``name`` is present and non-empty (from the manifest: nothing is read)."""
        info = self._manifest_tables().get(name)
        return info is not None and info["rows"] > 0

    def columns_of(self, name: str) -> list[str]:
        """Return the columns of table ``name`` (from the manifest), ``[]`` when absent."""
        info = self._manifest_tables().get(name)
        return list(info["columns"]) if info else []

    def table_names(self) -> list[str]:
        """Return the names of the tables present, in contract order, without reading them."""
        return [n for n in TABLES if n in self._manifest_tables()]

    def read_columns(self, name: str, columns: Sequence[str]) -> pd.DataFrame:
        """Return some columns of table ``name``, reading only those unless the table is already read."""
        value = object.__getattribute__(self, name)
        if isinstance(value, _Pending):
            return pd.read_parquet(value.path, columns=list(columns))
        return super().read_columns(name, columns)


def is_snapshot(folder: str | Path) -> bool:
    """Return whether ``folder`` is a prepared snapshot (holds a :data:`MANIFEST`)."""
    return (Path(folder) / MANIFEST).is_file()


def write_snapshot(ds: Dataset, folder: str | Path, *, source: str = "", mapping: str | None = None) -> Path:
    """Write a loaded, validated data set as a snapshot folder.

    Parameters
    ----------
    ds : Dataset
        What :func:`loyalty_lib.io.load` returned (clean rows only when rows were set aside).
    folder : str or Path
        Folder to write (created; earlier contract tables in it are replaced).
    source : str
        Where the data came from, as the report names it (a relative path, never absolute
        when the report shows it).
    mapping : str, optional
        The column mapping the data were read through, as the report names it.

    Returns
    -------
    Path
        The manifest written.
    """
    from loyalty_lib import io

    folder = Path(folder)
    io.save(ds, folder, fmt="parquet", force=True)
    if ds.warnings is not None and len(ds.warnings):
        io.write_table(ds.warnings, folder / WARNINGS_FILE)
    manifest = {
        "format": FORMAT,
        "source": source,
        "mapping": mapping,
        "validated": True,
        "synthetic": ds.is_synthetic,
        "rows_set_aside": bool(ds.quarantined is not None and len(ds.quarantined)),
        "warnings": 0 if ds.warnings is None else len(ds.warnings),
        "tables": {
            name: {"rows": len(t), "columns": [str(c) for c in t.columns], "dtypes": [str(d) for d in t.dtypes]}
            for name, t in ds.tables.items()
        },
    }
    path = folder / MANIFEST
    io._atomic_write(path, lambda p: p.write_text(json.dumps(manifest, indent=2) + "\n"))
    return path


def open_snapshot(folder: str | Path) -> SnapshotDataset:
    """Open a snapshot folder without validating it again; tables are read when first used.

    Parameters
    ----------
    folder : str or Path
        A folder written by :func:`write_snapshot`.

    Returns
    -------
    SnapshotDataset

    Raises
    ------
    FileNotFoundError
        When the folder has no manifest, or a table the manifest lists has no file.
    """
    from loyalty_lib import io

    folder = Path(folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    tables = {}
    for name in manifest["tables"]:
        p = folder / f"{name}.parquet"
        if not p.is_file():
            raise FileNotFoundError(f"snapshot {folder}: {MANIFEST} lists table '{name}' but {p.name} is missing")
        tables[name] = _Pending(p)
    truth, truth_tables = io.read_truth(folder)
    summary, counts = io._read_set_aside(folder)
    w = folder / WARNINGS_FILE
    warnings = None
    if w.is_file():
        warnings = pd.read_csv(w, dtype={"row_ids": str, "first_values": str}, keep_default_na=False)
    names = {f.name for f in fields(Dataset)}
    ds = SnapshotDataset(
        **{k: v for k, v in tables.items() if k in names},
        truth=truth,
        truth_tables=truth_tables,
        source=manifest.get("source") or str(folder),
        quarantined=summary,
        warnings=warnings,
        set_aside=counts,
    )
    object.__setattr__(ds, "_tables", manifest["tables"])
    object.__setattr__(ds, "_folder", folder)  # where the engine reads the Parquet files from
    return ds


def recorded_validation(ds: Dataset):
    """The validation result recorded with a snapshot, or ``None`` for data loaded otherwise.

    The report validated the data before writing the snapshot; what it kept passed, and its
    warnings (implausible values kept) are recorded. A notebook shows this instead of
    validating the same tables again.

    Returns
    -------
    loyalty_lib.validation.ValidationReport or None
    """
    from loyalty_lib.validation import PROBLEM_COLUMNS, ValidationReport

    if not isinstance(ds, SnapshotDataset):
        return None
    w = ds.warnings if ds.warnings is not None else pd.DataFrame(columns=PROBLEM_COLUMNS)
    return ValidationReport(warnings=w)
