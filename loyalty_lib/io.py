"""Reading and writing contract folders (Parquet or CSV), with type parsing and atomic writes.

A user's files are only ever read, and reading never guesses silently:

- **ids** are text exactly as written (``0001`` stays ``0001``; ``02`` and ``2`` are two ids),
  unless a column mapping says ``ids: integer``;
- a value that does not parse (a ``TOTAL`` footer, ``NULL``, ``371.81`` in a column declared
  with decimal comma) is reported as that value, in that row and column, and affects only its
  row: it comes back as a problem for :mod:`loyalty_lib.validation` to report;
- numbers are read with the decimal mark, thousands separator and currency signs declared in
  the mapping (default: decimal point, no thousands separator, no currency sign), and a value
  written with the other decimal mark is refused, not reinterpreted;
- a time written with a UTC offset (``2026-03-01 14:05+03:00``, ``...Z``) is read as the
  wall-clock time written (``14:05``), the offset dropped: every time is the shop's local time;
- a CSV file is UTF-8 (with or without BOM) or UTF-16 with a BOM unless the mapping declares
  another encoding (a byte-order mark at the start of the file always wins: it says what the
  file is); its field separator is the one declared, else the one its header line uses (``,``,
  ``;``, tab or ``|``); every reading error names the table and the file;
- an ``.xlsx`` workbook is read from its first sheet (or the one the mapping names): numbers
  and dates stored as such keep their values, text cells are read like CSV text;
- a table exported as several files (one per month) is read file by file and concatenated
  (:func:`read_tables`); a row without a key is then named by its file and line.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from loyalty_lib.dataset import Dataset
from loyalty_lib.schema import TABLES

FORMATS = ("parquet", "csv")
#: Formats a table is looked for in, as ``<table>.<format>`` (a workbook is read, never written).
READ_FORMATS = (*FORMATS, "xlsx")
#: Workbook suffixes read with openpyxl (a mapping names them with ``file:``).
WORKBOOKS = (".xlsx", ".xlsm")
TRUTH_FILE = "ground_truth.json"
TRUTH_PREFIX = "truth_"

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
#: How id columns are read: as written (the default) or as whole numbers.
ID_MODES = ("text", "integer")
#: Field separators recognised in a CSV header when none is declared.
SEPARATORS = (",", ";", "\t", "|")
_SPACES = (" ", "\u00a0", "\u202f")
#: A time followed by a UTC offset or ``Z``; the offset is dropped (the wall-clock time is kept).
_OFFSET = r"(\d:\d\d(?::\d\d(?:[.,]\d+)?)?)\s*(?:Z|UTC|[+-]\d\d(?::?\d\d)?)$"


class ReadError(ValueError):
    """A table file cannot be read as a table; the message names the table, the file and a fix."""


@dataclass(frozen=True)
class Parsing:
    """How one table's values are read into the contract's kinds (set by a column mapping).

    Attributes
    ----------
    date_formats : mapping of str to str
        ``strftime`` format per datetime column (default ISO 8601).
    decimal : str
        Decimal mark of numbers written as text: ``"."`` (default) or ``","``.
    thousands : str or None
        Thousands separator (``" "``, ``"."``, ``","`` or ``"'"``), or ``None`` (default):
        no separator is accepted. A space also stands for a no-break space.
    currency : tuple of str
        Currency signs removed from numbers before reading (``"₽"``, ``"руб."``, ``"$"``).
    ids : {"text", "integer"}
        How id columns are read (see :func:`as_ids`).
    generate_key : bool
        The export has no key of its own (receipt lines only): :func:`coerce_table` builds
        ``transaction_item_id`` as ``<transaction_id>-<n>``, ``n`` the line's position (1, 2, ...)
        within its receipt in the export's row order.
    sums : mapping of str to tuple of str
        Contract column -> export columns whose numbers are added up into it (several
        discount columns into ``other_discount_amount``, say); an empty cell counts as 0, a
        row with all of them empty stays empty.
    customer_from_card : bool
        Receipts only: a receipt without a customer id but with a card gets the card's holder
        (:func:`check_folder` fills it once the cards are read; a till that knows only card
        numbers).
    """

    date_formats: Mapping[str, str] = field(default_factory=dict)
    decimal: str = "."
    thousands: str | None = None
    currency: tuple[str, ...] = ()
    ids: str = "text"
    generate_key: bool = False
    sums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    customer_from_card: bool = False


def _table_files(folder: Path, name: str) -> list[Path]:
    return [folder / f"{name}.{fmt}" for fmt in READ_FORMATS if (folder / f"{name}.{fmt}").exists()]


def table_path(folder: Path, name: str) -> Path | None:
    """Return the file holding table ``name`` in ``folder``, or ``None``.

    Raises
    ------
    ReadError
        If the table is there in two formats (a stale CSV beside a newer Parquet, say): the
        suite does not pick one for the user.
    """
    found = _table_files(Path(folder), name)
    if len(found) > 1:
        raise ReadError(
            f"table '{name}' is in the data folder {folder} twice: {found[0].name} and {found[1].name}; "
            f"remove or move the one that is out of date"
        )
    return found[0] if found else None


def _encoding(head: bytes, declared: str | None) -> str:
    """The file's encoding: a byte-order mark decides, else the declared one, else UTF-8."""
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if declared:
        enc = str(declared)
        return "utf-8-sig" if enc.lower().replace("_", "-") in ("utf-8", "utf8") else enc
    return "utf-8-sig"


def _not_text(what: str, path: Path, enc: str, declared: bool) -> ReadError:
    data = path.read_bytes()
    try:
        data.decode(enc)
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        where = f"line {line} holds byte 0x{data[e.start]:02x}, which is not {e.encoding} text"
    except LookupError:
        return ReadError(f"{what}: unknown encoding {enc!r} (see docs/own_data.md for the 'encoding' option)")
    else:  # pragma: no cover - pandas and Python disagree on the bytes
        where = f"it is not {enc} text"
    fix = (
        "check the encoding declared in the column mapping"
        if declared
        else "declare its encoding in a column mapping, e.g. `csv: {encoding: cp1251}` for Windows Cyrillic"
    )
    return ReadError(f"{what}: {where}; {fix}")


def _header(first_line: str, what: str, sep: str | None) -> tuple[str, list[str]]:
    """Return the separator and the stripped column names of a CSV header line."""
    if sep is None:
        splits = {s: next(csv.reader([first_line], delimiter=s)) for s in SEPARATORS if s in first_line}
        several = [s for s, cols in splits.items() if len(cols) > 1]
        if len(several) > 1:
            shown = " and ".join(repr(s) for s in several)
            raise ReadError(
                f"{what}: the header line could be split at {shown}; declare the separator in a "
                f'column mapping, e.g. `csv: {{sep: ";"}}`'
            )
        sep = several[0] if several else ","
    return _header_names(next(csv.reader([first_line], delimiter=sep)) if first_line else [], what, sep)


def _header_names(cells: list[str], what: str, sep: str = ",") -> tuple[str, list[str]]:
    """Strip the header's column names and refuse a name that appears twice."""
    names = [str(c).strip() for c in cells]
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        raise ReadError(
            f"{what}: column(s) {', '.join(repr(c) for c in dup)} appear more than once in the header; "
            f"rename or remove the copies (only one of them could be read)"
        )
    return sep, names


def read_table(
    path: str | Path, *, table: str = "", csv_options: Mapping | None = None, sheet: str | int | None = None
) -> pd.DataFrame:
    """Read one table file; CSV values stay text until :func:`coerce_table` parses them.

    Parameters
    ----------
    path : str or Path
        A ``.parquet`` file, an ``.xlsx`` workbook, or a CSV (any other suffix).
    table : str
        Contract table the file holds, named in every error.
    csv_options : mapping, optional
        ``sep`` (default: the separator the header uses), ``encoding`` (default UTF-8, or
        UTF-16 with a BOM; a byte-order mark always wins) and ``missing`` (texts meaning "no
        value" besides an empty cell; also used for workbooks).
    sheet : str or int, optional
        Workbook sheet, by name or 0-based position (default: the first).

    Returns
    -------
    pandas.DataFrame
        Column names stripped of surrounding spaces; CSV values as text (``str``), an empty
        cell as missing. ``attrs["first_line"]`` is the file line of the first row (CSV), so
        a row without a key can be named by its line.

    Raises
    ------
    ReadError
        When the file cannot be opened, is empty, is not text in its encoding, has a header
        that repeats a column or cannot tell its separator, or has a malformed line.
    """
    path = Path(path)
    opts = dict(csv_options or {})
    what = f"table '{table}' ({path.name})" if table else f"file {path.name}"
    try:
        size = path.stat().st_size
        if path.suffix.lower() in WORKBOOKS:
            return _read_workbook(path, what, sheet, [str(m) for m in opts.get("missing") or []])
        if path.suffix.lower() == ".parquet":
            try:
                df = pd.read_parquet(path)
            except OSError:
                raise
            except Exception as e:  # pyarrow raises its own error types for a broken file
                raise ReadError(f"{what} is not a readable Parquet file: {e}") from e
            df.columns = [str(c).strip() for c in df.columns]
            return df
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError as e:
        raise ReadError(f"{what}: cannot read {path}: {e.strerror or e}") from e
    if size == 0:
        raise ReadError(f"{what} is empty (0 bytes): export the table again, or remove the file")
    enc = _encoding(head, opts.get("encoding"))
    try:
        first_line = head.decode(enc, errors="replace").lstrip("\ufeff").splitlines()[0]
    except LookupError as e:
        raise ReadError(f"{what}: unknown encoding {enc!r} (see docs/own_data.md for the 'encoding' option)") from e
    except IndexError:
        first_line = ""
    sep, _ = _header(first_line, what, opts.get("sep"))
    missing = [str(m) for m in opts.get("missing") or []]
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=["", *missing], sep=sep, encoding=enc)
    except UnicodeDecodeError:
        raise _not_text(what, path, enc, "encoding" in opts) from None
    except (pd.errors.ParserError, csv.Error) as e:
        raise ReadError(f"{what}: malformed CSV ({e}); fix that line or quote its fields") from e
    except pd.errors.EmptyDataError as e:
        raise ReadError(f"{what} holds no header line") from e
    except OSError as e:
        raise ReadError(f"{what}: cannot read {path}: {e.strerror or e}") from e
    df.columns = [str(c).strip() for c in df.columns]
    df.attrs["first_line"] = 2
    return df


def _cell_text(v) -> str:
    """A workbook cell as text, written as a person would read it in the sheet."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, pd.Timestamp | np.datetime64) or hasattr(v, "isoformat"):
        t = pd.Timestamp(v)
        return f"{t:%Y-%m-%d}" if t == t.normalize() else f"{t:%Y-%m-%d %H:%M:%S}"
    return str(v)


def _sheet_column(s: pd.Series) -> pd.Series:
    """One workbook column: all numbers, all dates or all true/false keep their type; else text."""
    present = s.dropna()
    if present.empty:
        return pd.Series(pd.NA, index=s.index, dtype="str")
    kinds = present.map(type)
    if kinds.map(lambda k: issubclass(k, bool | np.bool_)).all():
        return s.astype("boolean")
    if kinds.map(lambda k: issubclass(k, int | float | np.number) and not issubclass(k, bool | np.bool_)).all():
        return pd.to_numeric(s)
    if kinds.map(lambda k: hasattr(k, "isoformat") and not issubclass(k, str)).all():
        return pd.to_datetime(s)
    return s.map(_cell_text, na_action="ignore").astype("str")


def _read_workbook(path: Path, what: str, sheet: str | int | None, missing: list[str]) -> pd.DataFrame:
    """Read one sheet of an ``.xlsx`` workbook (header in its first row)."""
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except ImportError as e:  # pragma: no cover - openpyxl is a dependency
        raise ReadError(f"{what}: reading .xlsx needs the openpyxl package ({e})") from e
    except Exception as e:  # openpyxl raises zipfile/KeyError/InvalidFileException on a broken file
        raise ReadError(f"{what} is not a readable .xlsx workbook ({type(e).__name__}: {e})") from e
    with book:
        names = book.sheet_names
        if sheet is None:
            sheet = 0
        if (isinstance(sheet, int) and not 0 <= sheet < len(names)) or (isinstance(sheet, str) and sheet not in names):
            raise ReadError(f"{what} has no sheet {sheet!r}; its sheets are {', '.join(map(repr, names))}")
        grid = pd.read_excel(book, sheet, header=None, dtype=object, keep_default_na=False, na_values=["", *missing])
    if grid.empty:
        raise ReadError(f"{what}: sheet {sheet!r} holds no header line")
    _, names = _header_names([_cell_text(v) if not pd.isna(v) else "" for v in grid.iloc[0].tolist()], what)
    df = grid.iloc[1:].reset_index(drop=True)
    df.columns = names
    out = pd.DataFrame({c: _sheet_column(df[c]) for c in df.columns}, index=df.index)
    out.attrs["first_line"] = 2
    return out


def read_tables(
    paths: list[Path], *, table: str = "", csv_options: Mapping | None = None, sheet: str | int | None = None
) -> pd.DataFrame:
    """Read a table exported as several files (one per month, say) and stack them in order.

    Parameters
    ----------
    paths : list of Path
        The files, in the order their rows are stacked; each is read with :func:`read_table`.
    table, csv_options, sheet
        As for :func:`read_table`.

    Returns
    -------
    pandas.DataFrame
        The rows of every file, numbered 0, 1, ... across files. With more than one file,
        ``attrs["files"]`` lists ``(file name, rows, file line of its first row)`` per file, so a
        row without a key is named by its file and line.

    Raises
    ------
    ReadError
        When a file cannot be read, or the files do not have the same columns (the message
        names the two files and the columns one has and the other lacks).
    """
    if len(paths) == 1:
        return read_table(paths[0], table=table, csv_options=csv_options, sheet=sheet)
    frames = [read_table(p, table=table, csv_options=csv_options, sheet=sheet) for p in paths]
    first = frames[0]
    for p, f in zip(paths[1:], frames[1:], strict=True):
        if set(f.columns) != set(first.columns):
            extra = sorted(set(f.columns) - set(first.columns))
            lacks = sorted(set(first.columns) - set(f.columns))
            said = "; ".join(
                part
                for part in (
                    f"it has {', '.join(map(repr, extra))}" if extra else "",
                    f"it lacks {', '.join(map(repr, lacks))}" if lacks else "",
                )
                if part
            )
            raise ReadError(
                f"table '{table}': file {p.name} does not have the columns of {paths[0].name} ({said}); "
                f"every file of a table needs the same header"
            )
    out = pd.concat([f[list(first.columns)] for f in frames], ignore_index=True)
    out.attrs = {"files": [(p.name, len(f), f.attrs.get("first_line")) for p, f in zip(paths, frames, strict=True)]}
    return out


def as_ids(s: pd.Series, ids: str = "text") -> tuple[pd.Series, pd.Series]:
    """Read an id column as the contract's key: text exactly as written, or whole numbers.

    Parameters
    ----------
    s : pandas.Series
        Raw column: text from a CSV export, or typed values from Parquet.
    ids : {"text", "integer"}
        ``"text"`` (the default): ids are strings exactly as written, so ``0001`` stays
        ``0001`` and ``02`` and ``2`` are two ids; numbers stored in Parquet become their
        decimal text (``7.0`` stored as a float becomes ``7``). ``"integer"``: ids are whole
        numbers (``0001``, ``1`` and ``1.0`` are the same id); a value that is not one is a
        problem.

    Returns
    -------
    ids : pandas.Series
        ``str`` dtype for ``"text"``, ``int64`` (``Int64`` when some are empty) for ``"integer"``.
    bad : pandas.Series of bool
        Values present but not readable as ids (only with ``ids="integer"``).

    Examples
    --------
    >>> as_ids(pd.Series(["0001", "02", "2"]))[0].tolist()
    ['0001', '02', '2']
    >>> as_ids(pd.Series(["0001", "02", "x"]), "integer")[0].tolist()
    [1, 2, <NA>]
    """
    if ids not in ID_MODES:
        raise ValueError(f"ids must be one of {', '.join(ID_MODES)}, got {ids!r}")
    if isinstance(s.dtype, pd.CategoricalDtype):
        return _category_ids(s, ids)
    no_bad = pd.Series(False, index=s.index)
    if ids == "text":
        if pd.api.types.is_float_dtype(s):
            whole = s.notna() & (s == np.round(s))
            out = s.astype("str")
            out[whole] = s[whole].astype("int64").astype("str")
            return out, no_bad
        return s.astype("str"), no_bad
    if pd.api.types.is_integer_dtype(s):
        return s, no_bad
    if pd.api.types.is_float_dtype(s):
        num = s
    else:
        text = s.astype("str").str.strip()
        num = pd.to_numeric(text.where(text.str.fullmatch(r"[+-]?\d+(?:\.0*)?")), errors="coerce")
    bad = s.notna() & (num.isna() | (num != np.round(num)))
    num = num.where(~bad)
    return num.astype("Int64" if num.isna().any() else "int64"), bad


def _category_ids(s: pd.Series, ids: str) -> tuple[pd.Series, pd.Series]:
    """Ids stored as categories (a Parquet dictionary column): each distinct value is read once.

    The categories are read as ids (:func:`as_ids`: ``7.0`` stored as a float category is the
    id ``7``) and spread over the rows by their codes, instead of converting every row.
    """
    cats = pd.Series(s.cat.categories, copy=False)
    if not len(cats):  # nothing but missing values
        return as_ids(s.astype(object), ids)
    parsed, bad_cat = as_ids(cats, ids)
    codes = s.cat.codes.to_numpy()
    missing = codes < 0
    if missing.any() and ids == "integer":
        parsed = parsed.astype("Int64")
    at = np.where(missing, 0, codes)
    out = parsed.take(at).set_axis(s.index).rename(s.name)
    if missing.any():
        out = out.where(~missing)
    return out, pd.Series(bad_cat.to_numpy()[at] & ~missing, index=s.index)


def _is_text(s: pd.Series) -> bool:
    return s.dtype == object or pd.api.types.is_string_dtype(s)


def parse_numbers(
    s: pd.Series, *, decimal: str = ".", thousands: str | None = None, currency: tuple[str, ...] = ()
) -> tuple[pd.Series, list[tuple[pd.Series, str]]]:
    """Read numbers written as text with a declared decimal mark, thousands separator and currency.

    Parameters
    ----------
    s : pandas.Series
        Text (from CSV) or already numbers (from Parquet: returned as they are).
    decimal : str
        Decimal mark, ``"."`` or ``","``.
    thousands : str or None
        Thousands separator, or ``None``: then none is accepted. Groups must have three digits.
    currency : tuple of str
        Signs removed wherever they appear (``"₽"``, ``"$"``).

    Returns
    -------
    values : pandas.Series
        float64; a value that is not a number as declared is missing here.
    problems : list of (mask, rule)
        The values present that were refused, by reason: written with the other decimal mark
        (``371.81`` where the decimal mark is ``,``: never reinterpreted), or not a number.

    Examples
    --------
    >>> v, probs = parse_numbers(pd.Series(["1.234,50", "371.81", "7"]), decimal=",", thousands=".")
    >>> v.tolist()[0], [int(m.sum()) for m, _ in probs]
    (1234.5, [1])
    """
    if not _is_text(s):
        return pd.to_numeric(s, errors="coerce").astype("float64"), []
    t = s.astype("str").str.strip()
    for sign in currency:
        t = t.str.replace(str(sign), "", regex=False)
    t = t.str.strip()
    th = thousands
    if th in _SPACES:
        t = t.str.replace(r"[\u00a0\u202f]", " ", regex=True)
        th = " "
    dec = re.escape(decimal)
    digits = rf"(?:\d{{1,3}}(?:{re.escape(th)}\d{{3}})+|\d+)" if th else r"\d+"
    ok = t.str.fullmatch(rf"[+-]?(?:{digits}(?:{dec}\d*)?|{dec}\d+)(?:[eE][+-]?\d+)?").fillna(False).astype(bool)
    clean = t.where(ok)
    if th:
        clean = clean.str.replace(th, "", regex=False)
    if decimal != ".":
        clean = clean.str.replace(decimal, ".", regex=False)
    values = pd.to_numeric(clean, errors="coerce").astype("float64")
    bad = s.notna() & ~ok
    problems = []
    other = {".": ",", ",": "."}.get(decimal)
    if other is not None and other != th:
        mixed = bad & t.str.contains(other, regex=False).fillna(False).astype(bool)
        problems.append((mixed, f"decimal mark is a {'comma' if decimal == ',' else 'point'}"))
        bad = bad & ~mixed
    return values, [*problems, (bad, "number")]


def parse_dates(s: pd.Series, date_format: str | None = None) -> tuple[pd.Series, list[tuple[pd.Series, str]]]:
    """Read dates and times; a time with a UTC offset keeps its wall-clock time.

    Parameters
    ----------
    s : pandas.Series
        Text, or datetimes (from Parquet; a time-zone-aware column keeps its local times).
    date_format : str, optional
        ``strftime`` format (default ISO 8601). A ``%z`` in it is accepted and the offset
        dropped like any other.

    Returns
    -------
    values : pandas.Series
        ``datetime64[ns]``, time-zone naive.
    problems : list of (mask, rule)
        Values that are not dates, and dates outside 1678-2261 (what the suite can hold).

    Examples
    --------
    >>> parse_dates(pd.Series(["2026-03-01 14:05+03:00", "2026-03-01 09:00Z"]))[0].dt.hour.tolist()
    [14, 9]
    """
    if pd.api.types.is_datetime64_any_dtype(s):
        return (s if s.dt.tz is None else s.dt.tz_localize(None)).astype("datetime64[ns]"), []
    t = s.astype("str").str.strip()
    offset = t.str.contains(_OFFSET.replace("(", "(?:", 1), regex=True).fillna(False).astype(bool)
    if offset.any():
        t = t.where(~offset, t.str.replace(_OFFSET, r"\1", regex=True))
    fmt = (date_format or "ISO8601").replace("%z", "").replace("%Z", "").strip()
    try:
        parsed = pd.to_datetime(t, errors="coerce", format=fmt)
    except ValueError as e:
        raise ReadError(f"date format {date_format!r} cannot be used: {e}") from e
    if parsed.dt.tz is not None:
        parsed = parsed.dt.tz_localize(None)
    far = parsed.notna() & ((parsed < pd.Timestamp.min) | (parsed > pd.Timestamp.max))
    values = parsed.where(~far).astype("datetime64[ns]")
    return values, [(far, "date between 1678 and 2261"), (s.notna() & parsed.isna(), "dates parse")]


def _parse(kind: str, s: pd.Series, col: str, parsing: Parsing) -> tuple[pd.Series, list[tuple[pd.Series, str]]]:
    """Parse one column; return the values and the refused values by reason."""
    if kind == "datetime":
        return parse_dates(s, parsing.date_formats.get(col))
    if kind in ("float", "int"):
        out, probs = parse_numbers(s, decimal=parsing.decimal, thousands=parsing.thousands, currency=parsing.currency)
        if kind == "float":
            return out, [(m, "float value" if r == "number" else r) for m, r in probs]
        frac = out.notna() & (out != np.round(out))
        out = out.where(~frac)
        out = out.astype("Int64" if out.isna().any() else "int64")
        return out, [*((m, "int value" if r == "number" else r) for m, r in probs), (frac, "int value")]
    if kind == "bool":
        if pd.api.types.is_bool_dtype(s):
            return s, []
        low = s.astype("string").str.strip().str.lower()
        out = pd.Series(pd.NA, index=s.index, dtype="boolean")
        out[low.isin(_TRUE)] = True
        out[low.isin(_FALSE)] = False
        return (out if out.isna().any() else out.astype(bool)), [(out.isna() & s.notna(), "true/false value")]
    if kind == "id":
        out, bad = as_ids(s, parsing.ids)
        return out, [(bad, "whole-number id")]
    return s, []


def coerce_table(name: str, df: pd.DataFrame, parsing: Parsing | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse a table's columns to the contract's kinds without losing bad values.

    A value that does not parse is reported as that value, in that row and column; it does
    not change how the rest of its column is read.

    Parameters
    ----------
    name : str
        Table name.
    df : pandas.DataFrame
        Raw table (text from CSV, or typed from Parquet). Not modified.
    parsing : Parsing, optional
        Date formats, number format and id reading (default: ISO dates, decimal point, ids
        as text).

    Returns
    -------
    table : pandas.DataFrame
        Parsed copy.
    problems : pandas.DataFrame
        Columns ``column, rule, index, value``: one row per value that was present but did
        not parse, ``value`` being the value as written.

    Examples
    --------
    >>> raw = pd.DataFrame({"cost_id": ["007", "8"], "date": ["2026-01-05", "2026-01-06"],
    ...                     "category": ["other", "other"], "amount": ["12.5", "TOTAL"]})
    >>> table, problems = coerce_table("program_costs", raw)
    >>> table["cost_id"].tolist(), problems[["column", "rule", "value"]].values.tolist()
    (['007', '8'], [['amount', 'float value', 'TOTAL']])
    """
    parsing = parsing or Parsing()
    out = df.copy()
    probs = []
    for target, sources in parsing.sums.items():
        total = pd.Series(0.0, index=out.index)
        present = pd.Series(False, index=out.index)
        for src in sources:
            values, found = parse_numbers(
                out[src], decimal=parsing.decimal, thousands=parsing.thousands, currency=parsing.currency
            )
            for bad, rule in found:
                if bad.any():
                    rule = "float value" if rule == "number" else rule
                    shown = out.loc[bad, src].astype(str).to_numpy()
                    probs.append(
                        pd.DataFrame({"column": target, "rule": rule, "index": out.index[bad], "value": shown})
                    )
            total = total + values.fillna(0.0)
            present |= values.notna() | out[src].notna()
        out = out.drop(columns=list(sources)).assign(**{target: total.where(present)})
    for c in TABLES[name].columns:
        if c.name not in out:
            continue
        raw = out[c.name]
        parsed, found = _parse(c.kind, raw, c.name, parsing)
        for bad, rule in found:
            if bad.any():
                values = raw[bad].astype(str).to_numpy()
                probs.append(pd.DataFrame({"column": c.name, "rule": rule, "index": out.index[bad], "value": values}))
        out[c.name] = parsed
    if parsing.generate_key:
        out = _with_line_keys(name, out)
    cols = {"column": [], "rule": [], "index": [], "value": []}
    problems = pd.concat(probs, ignore_index=True) if probs else pd.DataFrame(cols)
    return out, problems


def _with_line_keys(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Receipt lines without a key: ``<transaction_id>-<n>``, n the line's place in its receipt."""
    key = TABLES[name].key
    if name != "transaction_items" or key in df or "transaction_id" not in df:
        return df
    tid = df["transaction_id"]
    n = (tid.groupby(tid, sort=False, dropna=True).cumcount() + 1).fillna(0).astype("int64")
    made = (tid.astype("str") + "-" + n.astype("str")).where(tid.notna())
    out = df.copy()
    out.insert(0, key, made.astype("str"))
    return out


def read_folder(folder: str | Path) -> dict[str, pd.DataFrame]:
    """Read every contract table present in ``folder`` as raw frames.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist or lacks a required table.
    ReadError
        If a table file cannot be read (see :func:`read_table`) or a table is there twice.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"data folder {folder} does not exist")
    tables = {}
    for name in TABLES:
        p = table_path(folder, name)
        if p is not None:
            tables[name] = read_table(p, table=name)
    missing = [n for n, t in TABLES.items() if t.required and n not in tables]
    if missing:
        raise FileNotFoundError(
            f"data folder {folder} lacks the required table(s) {', '.join(missing)} "
            f"(expected <table>.parquet, <table>.csv or <table>.xlsx; see docs/data_contract.md)"
        )
    return tables


#: Every column name the contract reads as an id, in any table.
ID_COLUMNS = frozenset(c.name for t in TABLES.values() for c in t.columns if c.kind == "id")


def read_truth(folder: Path, *, ids: str = "text") -> tuple[dict | None, dict[str, pd.DataFrame]]:
    """Read ``ground_truth.json`` and ``truth_*`` tables if the folder has them.

    Id columns of the truth tables are read like the data's (see :func:`as_ids`), so the
    truth joins the loaded tables on the same keys. Parquet tables with ids read as text are
    not read here: they come as a :class:`loyalty_lib.snapshot.TruthTables`, which reads each
    column when it is first used (the checks never use them, and :func:`save` copies their files).
    """
    truth_path = folder / TRUTH_FILE
    truth = json.loads(truth_path.read_text()) if truth_path.exists() else None
    files = [p for p in sorted(folder.glob(f"{TRUTH_PREFIX}*")) if p.suffix in (".parquet", ".csv")]
    if ids == "text" and all(p.suffix == ".parquet" for p in files):
        from loyalty_lib.snapshot import TruthTables

        return truth, TruthTables({p.stem.removeprefix(TRUTH_PREFIX): p for p in files})
    tables = {}
    for p in files:
        if p.suffix in (".parquet", ".csv"):
            t = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p, dtype={c: str for c in ID_COLUMNS})
            t = t.assign(**{c: as_ids(t[c], ids)[0] for c in t.columns if c in ID_COLUMNS})
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

    parsing: dict[str, Parsing] = {}
    if mapping is not None:
        raw, parsing = read_mapped_folder(Path(folder), mapping)
    else:
        raw = read_folder(folder)
    tables, parse_problems = {}, {}
    for name, df in raw.items():
        try:
            tables[name], parse_problems[name] = coerce_table(name, df, parsing.get(name))
        except ReadError as e:
            raise ReadError(f"table '{name}': {e}") from e
    notes = []
    tx_parsing = parsing.get("transactions")
    if tx_parsing is not None and tx_parsing.customer_from_card and "cards" in tables:
        tables["transactions"], filled = customers_from_cards(tables["transactions"], tables["cards"])
        notes.append(
            ("transactions", "customer_id", "customer from the card's holder (mapping: customer_from_card)", filled)
        )
    return tables, validation.validate(tables, parse_problems=parse_problems, notes=notes)


def customers_from_cards(tx: pd.DataFrame, cards: pd.DataFrame) -> tuple[pd.DataFrame, pd.Index]:
    """Give each receipt without a customer id, but with a held card, the card's holder.

    For tills that record the card number only, when the mapping says so
    (``customer_from_card: true``). A receipt that names a customer keeps it (the check then
    says whether the card is theirs); a receipt with an unknown card, or a card without a
    holder, stays anonymous.

    Parameters
    ----------
    tx : pandas.DataFrame
        Receipts with ``card_id`` (and ``customer_id``, added empty if the export has none).
    cards : pandas.DataFrame
        Cards with ``card_id`` and ``customer_id``.

    Returns
    -------
    receipts : pandas.DataFrame
        A copy with the holders filled in.
    filled : pandas.Index
        The receipts that got their customer from their card.

    Examples
    --------
    >>> tx = pd.DataFrame({"card_id": ["K1", "K2", None, "K9"], "customer_id": [None, "c7", None, None]})
    >>> cards = pd.DataFrame({"card_id": ["K1", "K2"], "customer_id": ["c1", "c2"]})
    >>> out, filled = customers_from_cards(tx, cards)
    >>> out["customer_id"].tolist(), filled.tolist()
    (['c1', 'c7', nan, nan], [0])
    """
    from loyalty_lib.validation import _position

    out = tx.copy()
    if "customer_id" not in out:
        out["customer_id"] = pd.Series(pd.NA, index=out.index, dtype=cards["customer_id"].dtype)
    if "card_id" not in out or "card_id" not in cards:
        return out, out.index[:0]
    pos = _position(out["card_id"], cards["card_id"])
    holder = cards["customer_id"].to_numpy(dtype=object)[np.maximum(pos, 0)]
    fill = (pos >= 0) & out["customer_id"].isna().to_numpy() & pd.notna(holder)
    if fill.any():
        out.loc[fill, "customer_id"] = holder[fill]
    return out, out.index[fill]


def load(
    folder: str | Path,
    *,
    mapping: str | Path | Mapping | None = None,
    on_error: str = "raise",
    quarantine_dir: str | Path | None = None,
) -> Dataset:
    """Load and validate a contract folder.

    A folder holding a report's prepared snapshot (``snapshot.json``, see
    :mod:`loyalty_lib.snapshot`) was validated when it was written: it is opened as it is,
    without parsing or validating again, each table read when first used.

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
        ``Dataset.warnings`` lists what looked implausible (dates far in the future, amounts
        far beyond the rest); they are also issued as a :class:`~loyalty_lib.validation.DataWarning`.
    """
    import warnings

    from loyalty_lib import config, outdir, validation
    from loyalty_lib.mapping import id_mode

    folder = Path(folder)
    if mapping is None:
        from loyalty_lib.snapshot import is_snapshot, open_snapshot

        if is_snapshot(folder):  # a report's prepared snapshot: validated when it was written
            return open_snapshot(folder)
    tables, report = check_folder(folder, mapping=mapping)
    if not report.warnings.empty:
        warnings.warn(validation.DataWarning(report.warning_message()), stacklevel=2)
    truth, truth_tables = read_truth(folder, ids=id_mode(mapping))
    summary, counts = _read_set_aside(folder)
    if not report.ok:
        if on_error == "raise":
            raise validation.ValidationError(report)
        qdir = Path(quarantine_dir) if quarantine_dir else config.QUARANTINE_DIR / folder.name
        outdir.refuse_data_overlap(qdir, [folder], what="quarantine folder")
        loaded = tables
        tables, summary = validation.quarantine(tables, report, out_dir=qdir)
        counts = validation.set_aside_counts(loaded, tables)
    return Dataset.from_tables(
        tables,
        truth=truth,
        truth_tables=truth_tables,
        source=str(folder),
        quarantined=summary,
        warnings=report.warnings if not report.warnings.empty else None,
        set_aside=counts,
    )


#: Files a saved data set keeps about the rows its loader set aside (see :func:`save`).
SET_ASIDE_FILES = {"quarantined": "quarantine_summary.csv", "set_aside": "quarantine_set_aside.csv"}


def _read_set_aside(folder: Path) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The set-aside summary and counts a saved data set carries (a report's clean copy)."""
    out = []
    for name in SET_ASIDE_FILES.values():
        p = folder / name
        out.append(
            pd.read_csv(p, dtype={"row_ids": str, "first_values": str}, keep_default_na=False) if p.is_file() else None
        )
    if out[1] is not None:
        out[1] = out[1].replace("", np.nan).astype({"amount_set_aside": "float64", "share_of_revenue": "float64"})
    return out[0], out[1]


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
    if folder.exists() and any(_table_files(folder, n) for n in TABLES) and not force:
        raise FileExistsError(f"{folder} already holds data; pass force=True (--force) to overwrite")
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in dataset.tables.items():
        for other in READ_FORMATS:
            (folder / f"{name}.{other}").unlink(missing_ok=True)
        write_table(df, folder / f"{name}.{fmt}")
    lazy = getattr(dataset.truth_tables, "path", None)  # truth tables not read: their Parquet files are copied
    for name in dataset.truth_tables:
        target = folder / f"{TRUTH_PREFIX}{name}.{fmt}"
        if lazy is not None and fmt == "parquet":
            source = lazy(name)
            _atomic_write(target, lambda p, src=source: shutil.copyfile(src, p))
        else:
            write_table(dataset.truth_tables[name], target)
    if dataset.truth is not None:
        text = json.dumps(dataset.truth, indent=2, default=_json_default, sort_keys=False)
        _atomic_write(folder / TRUTH_FILE, lambda p: p.write_text(text + "\n"))
    for attr, name in SET_ASIDE_FILES.items():
        frame = getattr(dataset, attr)
        if frame is not None:  # the loader set rows aside: a copy says so, so its readers can too
            write_table(frame, folder / name)
    return folder
