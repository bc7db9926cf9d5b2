"""Reading and writing contract folders (Parquet or CSV), with type parsing and atomic writes.

A user's files are only ever read. Parsing problems (a date that does not parse, a number that
is text) are not turned into silent blanks: they come back as problems for
:mod:`loyalty_lib.validation` to report with the row ids.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from loyalty_lib.dataset import Dataset
from loyalty_lib.schema import TABLES

FORMATS = ("parquet", "csv")
TRUTH_FILE = "ground_truth.json"
TRUTH_PREFIX = "truth_"

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def table_path(folder: Path, name: str) -> Path | None:
    """Return the file holding table ``name`` in ``folder`` (Parquet first), or ``None``."""
    for fmt in FORMATS:
        p = folder / f"{name}.{fmt}"
        if p.exists():
            return p
    return None


def read_table(path: Path) -> pd.DataFrame:
    """Read one table file; CSV values stay text until :func:`coerce_table` parses them."""
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def _parse(kind: str, s: pd.Series, date_format: str | None) -> pd.Series:
    if kind == "datetime":
        if pd.api.types.is_datetime64_any_dtype(s):
            return s.astype("datetime64[ns]") if s.dt.tz is None else s.dt.tz_localize(None)
        return pd.to_datetime(s, errors="coerce", format=date_format or "ISO8601").astype("datetime64[ns]")
    if kind in ("float", "int"):
        out = pd.to_numeric(s, errors="coerce")
        if kind == "int":
            whole = out.isna() | (out == np.round(out))
            out = out.where(whole).astype("Int64" if out.isna().any() else "int64")
        return out.astype("float64") if kind == "float" else out
    if kind == "bool":
        if pd.api.types.is_bool_dtype(s):
            return s
        low = s.astype("string").str.strip().str.lower()
        out = pd.Series(pd.NA, index=s.index, dtype="boolean")
        out[low.isin(_TRUE)] = True
        out[low.isin(_FALSE)] = False
        return out if out.isna().any() else out.astype(bool)
    if kind == "id":
        if pd.api.types.is_float_dtype(s) and (s.dropna() == s.dropna().round()).all():
            return s.astype("Int64")
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            num = pd.to_numeric(s, errors="coerce")
            if num.notna().sum() == s.notna().sum() and (num.dropna() == num.dropna().round()).all():
                return num.astype("Int64") if num.isna().any() else num.astype("int64")
        return s
    return s


def coerce_table(
    name: str, df: pd.DataFrame, date_formats: Mapping[str, str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse a table's columns to the contract's kinds without losing bad values.

    Parameters
    ----------
    name : str
        Table name.
    df : pandas.DataFrame
        Raw table (text from CSV, or typed from Parquet). Not modified.
    date_formats : mapping of str to str, optional
        ``strftime`` format per datetime column, for exports that do not use ISO dates.

    Returns
    -------
    table : pandas.DataFrame
        Parsed copy.
    problems : pandas.DataFrame
        Columns ``column, rule, index``: one row per value that was present but did not parse.
    """
    out = df.copy()
    probs = []
    for c in TABLES[name].columns:
        if c.name not in out:
            continue
        raw = out[c.name]
        parsed = _parse(c.kind, raw, (date_formats or {}).get(c.name))
        bad = parsed.isna() & raw.notna()
        if bad.any():
            rule = {"datetime": "dates parse", "bool": "true/false value"}.get(c.kind, f"{c.kind} value")
            probs.append(pd.DataFrame({"column": c.name, "rule": rule, "index": out.index[bad]}))
        out[c.name] = parsed
    problems = pd.concat(probs, ignore_index=True) if probs else pd.DataFrame({"column": [], "rule": [], "index": []})
    return out, problems


def read_folder(folder: str | Path) -> dict[str, pd.DataFrame]:
    """Read every contract table present in ``folder`` as raw frames.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist or holds none of the required tables.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"data folder {folder} does not exist")
    tables = {}
    for name in TABLES:
        p = table_path(folder, name)
        if p is not None:
            tables[name] = read_table(p)
    missing = [n for n, t in TABLES.items() if t.required and n not in tables]
    if missing:
        raise FileNotFoundError(
            f"data folder {folder} lacks the required table(s) {', '.join(missing)} "
            f"(expected <table>.parquet or <table>.csv; see docs/data_contract.md)"
        )
    return tables


def read_truth(folder: Path) -> tuple[dict | None, dict[str, pd.DataFrame]]:
    """Read ``ground_truth.json`` and ``truth_*`` tables if the folder has them."""
    truth_path = folder / TRUTH_FILE
    truth = json.loads(truth_path.read_text()) if truth_path.exists() else None
    tables = {}
    for p in sorted(folder.glob(f"{TRUTH_PREFIX}*")):
        if p.suffix in (".parquet", ".csv"):
            t = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
            tables[p.stem.removeprefix(TRUTH_PREFIX)] = t
    return truth, tables


def check_folder(folder: str | Path, *, mapping: str | Path | Mapping | None = None):
    """Read a contract folder (through a column mapping if given), parse it and check it.

    Parameters
    ----------
    folder : str or Path
        Folder of ``<table>.parquet`` / ``<table>.csv`` files (never modified).
    mapping : path or mapping, optional
        Column-mapping (see :mod:`loyalty_lib.mapping`).

    Returns
    -------
    tables : dict of str to pandas.DataFrame
        Parsed tables.
    report : loyalty_lib.validation.ValidationReport
        Every contract problem, parsing problems included.
    """
    from loyalty_lib import validation
    from loyalty_lib.mapping import read_mapped_folder

    date_formats: dict[str, dict[str, str]] = {}
    if mapping is not None:
        raw, date_formats = read_mapped_folder(Path(folder), mapping)
    else:
        raw = read_folder(folder)
    tables, parse_problems = {}, {}
    for name, df in raw.items():
        tables[name], parse_problems[name] = coerce_table(name, df, date_formats.get(name))
    return tables, validation.validate(tables, parse_problems=parse_problems)


def load(
    folder: str | Path,
    *,
    mapping: str | Path | Mapping | None = None,
    on_error: str = "raise",
    quarantine_dir: str | Path | None = None,
) -> Dataset:
    """Load and validate a contract folder.

    Parameters
    ----------
    folder : str or Path
        Folder of ``<table>.parquet`` / ``<table>.csv`` files (never modified).
    mapping : path or mapping, optional
        Column-mapping (see :mod:`loyalty_lib.mapping`) from the export's names to the contract's.
    on_error : {"raise", "quarantine"}
        ``"raise"``: any contract violation raises :class:`~loyalty_lib.validation.ValidationError`
        listing all of them. ``"quarantine"``: invalid rows are set aside, written to
        ``quarantine_dir`` with the rule they broke, and summarised in
        ``Dataset.quarantined``; the analysis goes on with the rest.
    quarantine_dir : str or Path, optional
        Where quarantined rows are written (default ``outputs/quarantine/<folder name>``); it
        must lie outside ``folder``, and is refused when it holds files an earlier quarantine
        did not write.

    Returns
    -------
    Dataset
    """
    from loyalty_lib import config, outdir, validation

    folder = Path(folder)
    tables, report = check_folder(folder, mapping=mapping)
    truth, truth_tables = read_truth(folder)
    summary = None
    if not report.ok:
        if on_error == "raise":
            raise validation.ValidationError(report)
        qdir = Path(quarantine_dir) if quarantine_dir else config.QUARANTINE_DIR / folder.name
        outdir.refuse_data_overlap(qdir, [folder], what="quarantine folder")
        tables, summary = validation.quarantine(tables, report, out_dir=qdir)
    return Dataset.from_tables(tables, truth=truth, truth_tables=truth_tables, source=str(folder), quarantined=summary)


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(df: pd.DataFrame, path: Path) -> None:
    """Write one table atomically as Parquet or CSV (by the file's suffix)."""
    if path.suffix == ".parquet":
        _atomic_write(path, lambda p: df.to_parquet(p, index=False))
    else:
        _atomic_write(path, lambda p: df.to_csv(p, index=False, date_format="%Y-%m-%d %H:%M:%S"))


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, pd.Timestamp):
        return o.isoformat()
    raise TypeError(f"cannot write {type(o)} to JSON")


def save(dataset: Dataset, folder: str | Path, *, fmt: str = "parquet", force: bool = False) -> Path:
    """Write a Dataset as a contract folder, plus ``ground_truth.json`` and truth tables.

    Parameters
    ----------
    dataset : Dataset
    folder : str or Path
        Target folder, created if needed.
    fmt : {"parquet", "csv"}
    force : bool
        Overwrite a folder that already holds contract tables.

    Returns
    -------
    Path
        The folder written.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    folder = Path(folder)
    if folder.exists() and any(table_path(folder, n) for n in TABLES) and not force:
        raise FileExistsError(f"{folder} already holds data; pass force=True (--force) to overwrite")
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in dataset.tables.items():
        for other in FORMATS:
            (folder / f"{name}.{other}").unlink(missing_ok=True)
        write_table(df, folder / f"{name}.{fmt}")
    for name, df in dataset.truth_tables.items():
        write_table(df, folder / f"{TRUTH_PREFIX}{name}.{fmt}")
    if dataset.truth is not None:
        text = json.dumps(dataset.truth, indent=2, default=_json_default, sort_keys=False)
        _atomic_write(folder / TRUTH_FILE, lambda p: p.write_text(text + "\n"))
    return folder
