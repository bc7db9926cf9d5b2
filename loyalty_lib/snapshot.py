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
stage that never touches the receipt lines never holds them. The planted truth tables are read
the same way (:class:`TruthTables`): when first used, and only the columns asked for when the
truth layer asks for some.

The report also derives the :class:`~loyalty_lib.study.Study` once, with the study parameters
the stages are given, and stores it in the snapshot (``study/``: its scalars as JSON, its
customer table as Parquet), keyed by a hash of the parameters, of the data (the Parquet
footers of the contract tables) and of the study's rules (the source of
:mod:`loyalty_lib.study`). :meth:`Study.from_data <loyalty_lib.study.Study.from_data>` on a
snapshot loads the stored study whose key matches (:func:`stored_study`) instead of reading the
receipts to derive it again; other parameters (a user editing ``launch_date``) find no match and
derive it as before. A notebook run by hand on a data folder without a manifest loads and
validates the data itself, as before.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import fields
from pathlib import Path

import pandas as pd

from loyalty_lib.dataset import Dataset
from loyalty_lib.schema import TABLES

__all__ = [
    "MANIFEST",
    "SnapshotDataset",
    "TruthTables",
    "is_snapshot",
    "open_snapshot",
    "recorded_validation",
    "stored_study",
    "study_key",
    "write_snapshot",
    "write_study",
]

#: The manifest file that marks a folder as a prepared snapshot.
MANIFEST = "snapshot.json"
#: Version of the manifest's layout.
FORMAT = 1
#: The loader's warnings (implausible values kept), saved beside the tables.
WARNINGS_FILE = "snapshot_warnings.csv"
#: Folder of the snapshot that holds the studies derived when it was written.
STUDY_DIR = "study"
#: Version of the stored study's layout (part of its key).
STUDY_FORMAT = 1


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
    manifest without reading anything (as do :meth:`n_rows`), and :meth:`read_columns` reads
    only some columns.
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

    def n_rows(self, name: str) -> int:
        """Return the number of rows of table ``name`` (from the manifest), 0 when absent."""
        info = self._manifest_tables().get(name)
        return int(info["rows"]) if info else 0

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


class TruthTables(Mapping):
    """The planted truth tables of a snapshot, each column read from its Parquet file when first used.

    A mapping of table name to DataFrame, like ``Dataset.truth_tables`` of data loaded
    otherwise: ``name in tables`` and :meth:`columns` answer without reading anything,
    ``tables[name]`` reads the whole table, :meth:`read_columns` only the columns asked for.
    Columns once read are kept, so a stage holds the planted columns it used and no others. Id
    columns are read as text, like the data's (:func:`loyalty_lib.io.as_ids`).

    Parameters
    ----------
    paths : mapping of str to Path
        Parquet file of each truth table.
    """

    def __init__(self, paths: Mapping[str, Path]):
        self._paths = dict(paths)
        self._cols: dict[str, dict[str, pd.Series]] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.read_columns(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __contains__(self, name) -> bool:
        return name in self._paths

    def __repr__(self) -> str:
        return f"<planted truth tables {', '.join(self._paths)}: read when used>"

    def path(self, name: str) -> Path:
        """Return the Parquet file truth table ``name`` is read from."""
        return self._paths[name]

    def columns(self, name: str) -> list[str]:
        """Return the columns of truth table ``name`` (from its Parquet schema: nothing is read)."""
        import pyarrow.parquet as pq

        return [c for c in pq.read_schema(self._paths[name]).names if not c.startswith("__index_level_")]

    def read_columns(self, name: str, columns: Iterable[str] | None) -> pd.DataFrame:
        """Return some columns of truth table ``name`` (all when ``columns`` is ``None``), reading only new ones.

        Raises
        ------
        KeyError
            When there is no truth table ``name``, or it lacks one of ``columns``.
        """
        from loyalty_lib.io import ID_COLUMNS, as_ids

        path = self._paths[name]
        every = self.columns(name)
        cols = every if columns is None else list(columns)
        absent = [c for c in cols if c not in every]
        if absent:
            raise KeyError(f"truth table '{name}' has no column(s) {', '.join(absent)} (it has: {', '.join(every)})")
        if not cols:
            return pd.read_parquet(path, columns=[])
        have = self._cols.setdefault(name, {})
        missing = [c for c in cols if c not in have]
        if missing:
            t = pd.read_parquet(path, columns=missing)
            for c in missing:
                have[c] = as_ids(t[c], "text")[0] if c in ID_COLUMNS else t[c]
        return pd.concat([have[c] for c in cols], axis=1)


def is_snapshot(folder: str | Path) -> bool:
    """Return whether ``folder`` is a prepared snapshot (holds a :data:`MANIFEST`)."""
    return (Path(folder) / MANIFEST).is_file()


def write_snapshot(
    ds: Dataset,
    folder: str | Path,
    *,
    source: str = "",
    mapping: str | None = None,
    study_params: Iterable[Mapping] = (),
) -> Path:
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
    study_params : iterable of mapping
        The parameters of each stage notebook; the study of each distinct set of study
        parameters among them (as :func:`loyalty_lib.narrative.stage_study` builds it) is
        derived from ``ds`` and stored with :func:`write_study`.

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
    write_study(ds, folder, study_params)
    return path


def _data_fingerprint(folder: Path, names: Iterable[str]) -> str:
    """Hash of the contract tables of a snapshot: each Parquet file's size and footer.

    The footer holds every row group's rows, byte sizes and column statistics (minimum,
    maximum, nulls), so a table written with other data has another fingerprint; reading it
    costs milliseconds, whatever the size of the table.
    """
    h = hashlib.sha256()
    for name in sorted(names):
        p = folder / f"{name}.parquet"
        size = p.stat().st_size
        with p.open("rb") as f:
            f.seek(max(size - 8, 0))
            tail = f.read(8)
            n = int.from_bytes(tail[:4], "little") if len(tail) == 8 and tail[4:] == b"PAR1" else 0
            f.seek(max(size - 8 - n, 0))
            footer = f.read(n + 8)
        h.update(f"{name}:{size}:".encode())
        h.update(footer)
    return h.hexdigest()


def _rules_fingerprint() -> str:
    """Hash of the study's rules: the source of :mod:`loyalty_lib.study` (a changed rule derives again)."""
    from loyalty_lib import study

    return hashlib.sha256(Path(study.__file__).read_bytes()).hexdigest()


def study_key(folder: str | Path, params: Mapping | None) -> str:
    """Key of the study of a snapshot's data under ``params``.

    A hash of the canonical study parameters (:func:`loyalty_lib.study.canonical_parameters`),
    of the snapshot's contract tables (their Parquet footers) and of the study's rules.

    Parameters
    ----------
    folder : str or Path
        A snapshot folder (with its manifest).
    params : mapping or None
        Study parameters, as given to :meth:`Study.from_data <loyalty_lib.study.Study.from_data>`.

    Returns
    -------
    str
        40 hexadecimal digits.
    """
    from loyalty_lib.study import canonical_parameters

    folder = Path(folder)
    tables = json.loads((folder / MANIFEST).read_text())["tables"]
    spec = {
        "format": STUDY_FORMAT,
        "parameters": canonical_parameters(params),
        "data": _data_fingerprint(folder, tables),
        "rules": _rules_fingerprint(),
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:40]


def write_study(ds: Dataset, folder: str | Path, param_sets: Iterable[Mapping]) -> list[Path]:
    """Derive and store in a snapshot the study of each distinct set of study parameters.

    Each notebook's parameters are turned into its study parameters as
    :func:`loyalty_lib.narrative.stage_study` does (the teaching data's currency included);
    each distinct canonical set is derived once from ``ds`` and written to ``study/``:
    ``<key>.json`` (:meth:`Study.to_record <loyalty_lib.study.Study.to_record>`, the
    parameters and the key) and ``<key>.customers.parquet``. A set whose study cannot be
    derived (a window without receipts) is not stored: the notebook given it says why.

    Parameters
    ----------
    ds : Dataset
        The data the snapshot in ``folder`` was written from.
    folder : str or Path
        The snapshot folder.
    param_sets : iterable of mapping
        The stage notebooks' parameters.

    Returns
    -------
    list of Path
        The JSON files written.
    """
    from loyalty_lib import io
    from loyalty_lib.narrative import study_parameters
    from loyalty_lib.study import Study, canonical_parameters

    folder = Path(folder)
    out, seen = [], set()
    for params in param_sets:
        p = study_parameters(ds, params)
        canon = json.dumps(canonical_parameters(p), sort_keys=True)
        if canon in seen:
            continue
        seen.add(canon)
        try:
            study = Study.from_data(ds, p)
        except ValueError:
            continue
        key = study_key(folder, p)
        target = folder / STUDY_DIR
        target.mkdir(exist_ok=True)
        io.write_table(study.customers, target / f"{key}.customers.parquet")
        record = {"key": key, "parameters": json.loads(canon), "study": study.to_record()}
        path = target / f"{key}.json"
        io._atomic_write(path, lambda q, r=record: q.write_text(json.dumps(r, indent=1) + "\n"))
        out.append(path)
    return out


def stored_study(ds: Dataset, params: Mapping | None):
    """The study stored in ``ds``'s snapshot for ``params``, or ``None`` (then derive it).

    ``None`` for data not opened from a snapshot, and when the snapshot holds no study under
    the key of these parameters, these data and these rules (:func:`study_key`).

    Parameters
    ----------
    ds : Dataset
    params : mapping or None
        Study parameters.

    Returns
    -------
    loyalty_lib.study.Study or None
    """
    from loyalty_lib.study import Study

    if not isinstance(ds, SnapshotDataset):
        return None
    folder = object.__getattribute__(ds, "__dict__").get("_folder")
    if folder is None or not (Path(folder) / STUDY_DIR).is_dir():
        return None
    key = study_key(folder, params)
    path = Path(folder) / STUDY_DIR / f"{key}.json"
    table = path.with_name(f"{key}.customers.parquet")
    if not (path.is_file() and table.is_file()):
        return None
    record = json.loads(path.read_text())
    if record.get("key") != key:
        return None
    return Study.from_record(record["study"], pd.read_parquet(table))


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
    truth_file = folder / io.TRUTH_FILE
    truth = json.loads(truth_file.read_text()) if truth_file.is_file() else None
    truth_tables = TruthTables(
        {p.stem.removeprefix(io.TRUTH_PREFIX): p for p in sorted(folder.glob(f"{io.TRUTH_PREFIX}*.parquet"))}
    )
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
