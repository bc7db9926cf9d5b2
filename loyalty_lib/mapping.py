"""Column mapping from a shop's own exports to the data contract.

A shop's CRM and till system rarely export files named ``customers.csv`` with the contract's
column names, ISO dates and the contract's category values. A mapping file (YAML) says how to
read each export and how its names translate; the user's files are only ever read::

    ids: text               # optional: ids as written (default) or `integer` (0001 = 1)
    csv:                    # optional, defaults for every CSV export
      sep: ";"              # field separator (default: the one the header line uses)
      encoding: cp1251      # text encoding (default utf-8, with or without BOM)
      decimal: ","          # decimal mark of numbers (default ".")
      thousands: " "        # thousands separator (default: none accepted)
      currency: ["₽", "руб."]  # signs removed from numbers (default: none)
      missing: ["NULL", "-"]   # texts meaning "no value" besides an empty cell
    tables:
      transactions:
        file: receipts.csv  # export file inside the data folder (default transactions.csv/.parquet)
        csv: {sep: ","}     # optional, overrides the defaults above for this file
        columns:            # export name: contract name
          receipt_no: transaction_id
          client_code: customer_id
          sum_paid: amount
        date_formats:       # contract column: strftime format of the export
          date: "%d.%m.%Y %H:%M"
        values:             # contract column: {export value: contract value}
          channel: {shop: offline, courier: delivery}

Besides these, a table may say (see docs/own_data.md for examples):

- ``file: [jan.csv, feb.csv]`` or ``file: "receipts_2025-*.csv"``: the table is exported as
  several files (one per month); they are read in the order listed (a pattern: in name order),
  must share one header, and are stacked; a row without a key is named by file and line;
- ``file: clients.xlsx`` and ``sheet: Clients``: an ``.xlsx`` workbook (default: its first sheet);
- ``constants: {channel: offline}``: a contract column the export lacks, the same value on every
  row, written as the contract writes it (ISO dates, decimal point);
- ``values:`` recodes any column, not only categories (``{Y: true, N: false}``, ``{"-": null}``:
  ``null`` means "no value");
- ``generate_key: true`` (receipt lines only): the export has no line key, so the suite builds
  ``transaction_item_id`` as ``<transaction_id>-<n>``, ``n`` the line's place in its receipt;
- ``customer_from_card: true`` (receipts only): a till that records card numbers only; a
  receipt without a customer id gets its card's holder (counted in the check's warnings).

At the top level, ``currency: USD`` says which currency every amount is in: it becomes the
``currency`` column of ``transactions`` (a constant), which the Study and every page read.

Tables the mapping does not mention are read from ``<table>.parquet`` / ``.csv`` / ``.xlsx`` as
usual; optional tables that are in neither place are simply absent. Columns the mapping does
not mention keep their names (so an export that already uses a contract name needs no line),
and values not listed under ``values`` are kept as they are (the contract check then names
any that are still not allowed). Quote values YAML would read as something else
(``"yes"``, ``"no"``, ``"on"``, numbers with leading zeros).

Nothing is guessed: a number written with the other decimal mark than the declared one
(``371.81`` under ``decimal: ","``) or with an undeclared thousands separator is reported
with its row, never reinterpreted; a ``file:`` must lie inside the data folder.

:func:`read_mapped_folder` reads a folder through a mapping; :func:`loyalty_lib.io.load`
calls it when given ``mapping=``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import yaml

from loyalty_lib.io import _FALSE, _TRUE, ID_MODES, Parsing, read_tables, table_path
from loyalty_lib.schema import TABLES

_TABLE_KEYS = {
    "file",
    "csv",
    "columns",
    "date_formats",
    "values",
    "constants",
    "sheet",
    "generate_key",
    "sums",
    "customer_from_card",
}
_TOP_KEYS = {"ids", "csv", "tables", "currency"}
#: Characters that make a ``file:`` entry a pattern (``receipts_*.csv``) rather than a name.
_GLOB = set("*?[")
_CSV_KEYS = {"sep", "decimal", "thousands", "currency", "missing", "encoding"}
_THOUSANDS = (" ", "\u00a0", "\u202f", ".", ",", "'")


class MappingError(ValueError):
    """The column-mapping file is malformed or names things the data does not have."""


def _texts(where: str, key: str, value) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(v, str) and v for v in items):
        raise MappingError(f"mapping: '{where}.{key}' must be a text or a list of texts (quote them)")
    return tuple(items)


def _check_csv(where: str, opts) -> dict:
    if opts is None:
        return {}
    if not isinstance(opts, Mapping):
        raise MappingError(f"mapping: '{where}' must be a mapping with keys {', '.join(sorted(_CSV_KEYS))}")
    unknown = sorted(set(opts) - _CSV_KEYS)
    if unknown:
        raise MappingError(
            f"mapping: '{where}' has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_CSV_KEYS))}"
        )
    opts = dict(opts)
    if "decimal" in opts and opts["decimal"] not in (".", ","):
        raise MappingError(f'mapping: \'{where}.decimal\' must be "." or ",", not {opts["decimal"]!r}')
    if opts.get("thousands") is not None:
        if opts["thousands"] not in _THOUSANDS:
            shown = ", ".join(repr(t) for t in _THOUSANDS)
            raise MappingError(f"mapping: '{where}.thousands' must be one of {shown}, not {opts['thousands']!r}")
        if opts["thousands"] == opts.get("decimal", "."):
            raise MappingError(f"mapping: '{where}' declares {opts['thousands']!r} as both decimal mark and thousands")
    for key in ("currency", "missing"):
        if key in opts:
            opts[key] = _texts(where, key, opts[key])
    if "sep" in opts and (not isinstance(opts["sep"], str) or len(opts["sep"]) != 1):
        raise MappingError(f"mapping: '{where}.sep' must be one character, e.g. \";\" (quote it)")
    return opts


def read_mapping(mapping: str | Path | Mapping) -> dict:
    """Return the mapping as a dict, reading YAML from a path if given one.

    Parameters
    ----------
    mapping : str, Path or mapping
        Path of a YAML file, or the already-parsed mapping.

    Returns
    -------
    dict
        The mapping, checked for structure (known tables and keys).

    Raises
    ------
    MappingError
        When the file is missing, is not valid YAML, or names unknown tables or keys.
    """
    if isinstance(mapping, Mapping):
        spec = dict(mapping)
    else:
        path = Path(mapping)
        if not path.exists():
            raise MappingError(f"mapping file {path} does not exist")
        try:
            spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise MappingError(f"mapping file {path} is not valid YAML: {e}") from e
        if not isinstance(spec, Mapping):
            raise MappingError(f"mapping file {path} must hold a mapping with a 'tables' section")
    unknown_top = sorted(set(spec) - _TOP_KEYS)
    if unknown_top:
        raise MappingError(
            f"mapping has unknown top-level key(s) {', '.join(map(str, unknown_top))}; "
            f"allowed: {', '.join(sorted(_TOP_KEYS))} (table settings go under 'tables:')"
        )
    if "currency" in spec and not (isinstance(spec["currency"], str) and spec["currency"].strip()):
        raise MappingError("mapping: 'currency' must be a currency code such as USD, EUR or RUB")
    tables = spec.get("tables")
    tables = {} if tables is None else tables
    if not isinstance(tables, Mapping):
        raise MappingError("mapping: 'tables' must map table names to their settings")
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise MappingError(
            f"mapping names unknown table(s) {', '.join(unknown)}; contract tables are {', '.join(TABLES)}"
        )
    _check_csv("csv", spec.get("csv"))
    if spec.get("ids", "text") not in ID_MODES:
        raise MappingError(f"mapping: 'ids' must be one of {', '.join(ID_MODES)}, not {spec['ids']!r}")
    for name, tspec in tables.items():
        if tspec is None:
            continue
        if not isinstance(tspec, Mapping):
            raise MappingError(f"mapping for table '{name}' must be a mapping")
        bad = sorted(set(tspec) - _TABLE_KEYS)
        if bad:
            raise MappingError(
                f"mapping for table '{name}' has unknown key(s) {', '.join(bad)}; "
                f"allowed: {', '.join(sorted(_TABLE_KEYS))}"
            )
        _check_csv(f"tables.{name}.csv", tspec.get("csv"))
        for key in ("columns", "date_formats", "values", "constants", "sums"):
            if tspec.get(key) is not None and not isinstance(tspec[key], Mapping):
                raise MappingError(f"mapping for table '{name}': '{key}' must be a mapping")
        files = tspec.get("file")
        if files is not None and not (
            (isinstance(files, str) and files)
            or (isinstance(files, list) and files and all(isinstance(f, str) and f for f in files))
        ):
            raise MappingError(f"mapping for table '{name}': 'file' must be a file name, a pattern or a list of names")
        if "sheet" in tspec and not isinstance(tspec["sheet"], str | int):
            raise MappingError(f"mapping for table '{name}': 'sheet' must be a sheet name or its 0-based number")
        if "customer_from_card" in tspec and (
            name != "transactions" or not isinstance(tspec["customer_from_card"], bool)
        ):
            raise MappingError(
                f"mapping for table '{name}': 'customer_from_card' (true or false) is for receipts (transactions) only"
            )
        if "generate_key" in tspec:
            if not isinstance(tspec["generate_key"], bool):
                raise MappingError(f"mapping for table '{name}': 'generate_key' must be true or false")
            if tspec["generate_key"] and name != "transaction_items":
                raise MappingError(
                    f"mapping for table '{name}': 'generate_key' is for receipt lines (transaction_items) "
                    f"only; {name} needs its own key column {TABLES[name].key}"
                )
    return dict(spec, tables=dict(tables))


def _recode(s: pd.Series, codes: Mapping, where: str) -> pd.Series:
    """Replace export values by contract values (``None``: no value); unlisted values are kept."""
    flags = [k for k in codes if isinstance(k, bool)]
    if flags:
        raise MappingError(
            f"mapping: {where} lists the export value {flags[0]}, which YAML read from yes/no/on/off/true/false; "
            f'quote the export value as the file writes it, e.g. "yes": true'
        )
    codes = {
        str(k): (None if v is None else str(v).lower() if isinstance(v, bool) else str(v)) for k, v in codes.items()
    }
    text = s.astype("string")
    hit = text.isin(list(codes)).fillna(False).to_numpy(dtype=bool)
    if not hit.any():
        return s
    out = s.astype(object).copy()
    out[hit] = text[hit].map(codes).to_numpy()
    return out


def _constant(table: str, column: str, value, index: pd.Index) -> pd.Series:
    """A contract column holding one value on every row, typed as the contract reads it."""
    kind = TABLES[table].col(column).kind
    where = f"mapping for table '{table}': constant {column}"
    if value is None:
        raise MappingError(f"{where} has no value")
    try:
        if kind == "datetime":
            return pd.Series(pd.Timestamp(str(value)), index=index, dtype="datetime64[ns]")
        if kind in ("float", "int"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError("not a number")
            if kind == "int" and float(value) != int(value):
                raise ValueError("not a whole number")
            return pd.Series(value, index=index, dtype="float64" if kind == "float" else "int64")
        if kind == "bool":
            text = str(value).strip().lower()
            if text not in _TRUE | _FALSE:
                raise ValueError("not true or false")
            return pd.Series(text in _TRUE, index=index, dtype=bool)
    except ValueError as e:
        raise MappingError(f"{where}: {value!r} is not a value of kind {kind} ({e})") from e
    return pd.Series(str(value), index=index, dtype="str")


def id_mode(mapping: str | Path | Mapping | None) -> str:
    """Return how a mapping reads ids: ``"text"`` (the default, also without a mapping) or ``"integer"``."""
    return "text" if mapping is None else read_mapping(mapping).get("ids", "text")


def _parsing(spec: Mapping, name: str) -> Parsing:
    tspec = spec["tables"].get(name) or {}
    opts = {**_check_csv("csv", spec.get("csv")), **_check_csv(f"tables.{name}.csv", tspec.get("csv"))}
    return Parsing(
        date_formats=dict(tspec.get("date_formats") or {}),
        decimal=opts.get("decimal", "."),
        thousands=opts.get("thousands"),
        currency=opts.get("currency", ()),
        ids=spec.get("ids", "text"),
        generate_key=bool(tspec.get("generate_key", False)),
        customer_from_card=bool(tspec.get("customer_from_card", False)),
        sums={str(k): _texts(f"tables.{name}.sums", str(k), v) for k, v in (tspec.get("sums") or {}).items()},
    )


def apply_mapping(
    raw: dict[str, pd.DataFrame], mapping: str | Path | Mapping
) -> tuple[dict[str, pd.DataFrame], dict[str, Parsing]]:
    """Rename export columns to contract names and recode category values.

    Parameters
    ----------
    raw : dict of str to pandas.DataFrame
        Tables as read (not modified).
    mapping : path or mapping
        See the module docstring (``columns`` and ``values`` are applied here; ``file`` and
        the CSV reading options by :func:`read_mapped_folder`).

    Returns
    -------
    tables : dict of str to pandas.DataFrame
        Renamed, recoded copies.
    parsing : dict of str to loyalty_lib.io.Parsing
        Per table of ``raw``: its date formats, number format (``decimal``, ``thousands``,
        ``currency``) and how ids are read, for :func:`loyalty_lib.io.coerce_table`.

    Raises
    ------
    MappingError
        When the mapping names an export column the table lacks, maps to a name outside the
        contract, or recodes a column the table does not have.

    Examples
    --------
    >>> raw = {"customers": pd.DataFrame({"client": ["1"], "kind": ["private"]})}
    >>> cols = {"client": "customer_id", "kind": "customer_type"}
    >>> values = {"customer_type": {"private": "b2c"}}
    >>> spec = {"tables": {"customers": {"columns": cols, "values": values}}}
    >>> apply_mapping(raw, spec)[0]["customers"].to_dict("records")
    [{'customer_id': '1', 'customer_type': 'b2c'}]
    """
    spec = read_mapping(mapping)
    out = dict(raw)
    for name, tspec in spec.get("tables", {}).items():
        tspec = tspec or {}
        cols = tspec.get("columns", {}) or {}
        if name in out:
            df = out[name]
            missing = [c for c in cols if c not in df.columns]
            if missing:
                raise MappingError(
                    f"mapping for table '{name}' names column(s) {', '.join(map(str, missing))} "
                    f"that the export does not have (it has: {', '.join(map(str, df.columns))})"
                )
            bad = [v for v in cols.values() if v not in TABLES[name].names]
            if bad:
                raise MappingError(
                    f"mapping for table '{name}' maps to {', '.join(map(str, bad))}, not contract "
                    f"columns of {name} ({', '.join(TABLES[name].names)})"
                )
            for target, sources in (tspec.get("sums", {}) or {}).items():
                sources = _texts(f"tables.{name}.sums", str(target), sources)
                gone = [c for c in sources if c not in df.columns]
                if gone or target not in TABLES[name].names or TABLES[name].col(target).kind != "float":
                    raise MappingError(
                        f"mapping for table '{name}': sums of {target} must add up export columns "
                        f"({', '.join(map(str, df.columns))}) into a number column of the contract"
                        + (f"; the export lacks {', '.join(gone)}" if gone else "")
                    )
                if target in cols.values() or target in df.columns or set(sources) & set(cols):
                    raise MappingError(
                        f"mapping for table '{name}': {target} comes both from sums and from a column; keep one"
                    )
            df = df.rename(columns=cols)
            dup = df.columns[df.columns.duplicated()].tolist()
            if dup:
                raise MappingError(f"mapping for table '{name}' gives two columns the name {', '.join(map(str, dup))}")
            for col, codes in (tspec.get("values", {}) or {}).items():
                if col not in df.columns:
                    raise MappingError(
                        f"mapping for table '{name}' recodes values of '{col}', which the table "
                        f"does not have after renaming (it has: {', '.join(map(str, df.columns))})"
                    )
                if not isinstance(codes, Mapping):
                    raise MappingError(
                        f"mapping for table '{name}': values of '{col}' must map export values to contract values"
                    )
                df = df.assign(**{col: _recode(df[col], codes, f"table '{name}', values of '{col}'")})
            constants = dict(tspec.get("constants", {}) or {})
            if name == "transactions" and "currency" in spec:
                if "currency" in constants:
                    raise MappingError("mapping: the currency is given twice, at the top level and as a constant")
                constants["currency"] = str(spec["currency"]).strip().upper()
            for col, value in constants.items():
                if col not in TABLES[name].names:
                    raise MappingError(
                        f"mapping for table '{name}': constant {col} is not a contract column of {name} "
                        f"({', '.join(TABLES[name].names)})"
                    )
                if col in df.columns:
                    raise MappingError(
                        f"mapping for table '{name}': {col} is both a column of the export and a constant; keep one"
                    )
                df = df.assign(**{col: _constant(name, col, value, df.index)})
            if tspec.get("generate_key") and TABLES[name].key in df.columns:
                raise MappingError(
                    f"mapping for table '{name}': generate_key is set but the export has a key column "
                    f"{TABLES[name].key}; remove one of them"
                )
            out[name] = df
    return out, {name: _parsing(spec, name) for name in out}


def _files(folder: Path, name: str, entries) -> list[Path]:
    """The export files of one table: names or patterns, each inside the data folder."""
    paths: list[Path] = []
    for entry in [entries] if isinstance(entries, str) else list(entries):
        entry = str(entry)
        path = folder / entry
        outside = MappingError(
            f"mapping for table '{name}' names file {entry}, which is not inside the "
            f"data folder {folder}; copy the export into the data folder and name it relative to it"
        )
        if Path(entry).is_absolute() or not path.resolve().is_relative_to(folder.resolve()):
            raise outside
        if _GLOB & set(entry):
            found = sorted(p for p in folder.glob(entry) if p.is_file())
            if any(not p.resolve().is_relative_to(folder.resolve()) for p in found):
                raise outside
            if not found:
                raise FileNotFoundError(f"mapping for table '{name}': no file in {folder} matches {entry}")
        elif path.is_file():
            found = [path]
        else:
            raise FileNotFoundError(f"mapping for table '{name}' names file {entry}, which is not in {folder}")
        paths += [p for p in found if p not in paths]
    return paths


def read_mapped_folder(
    folder: str | Path, mapping: str | Path | Mapping
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, str]]]:
    """Read a folder of exports through a mapping, giving contract-named raw tables.

    Parameters
    ----------
    folder : str or Path
        Folder of exports (never modified).
    mapping : path or mapping
        See the module docstring.

    Returns
    -------
    tables : dict of str to pandas.DataFrame
        Raw tables under contract names, columns renamed and values recoded (CSV values are
        still text; :func:`loyalty_lib.io.coerce_table` parses them).
    parsing : dict of str to loyalty_lib.io.Parsing
        Per table, how its dates, numbers and ids are read.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist, a file the mapping names is missing, or a required table
        is in neither the mapping nor the folder.
    MappingError
        If the mapping is malformed, does not fit the exports, or names a file outside the
        data folder (its content is never read or shown).
    loyalty_lib.io.ReadError
        If an export cannot be read as a table (see :func:`loyalty_lib.io.read_table`).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"data folder {folder} does not exist")
    spec = read_mapping(mapping)
    default_csv = _check_csv("csv", spec.get("csv"))
    raw = {}
    for name in TABLES:
        tspec = spec["tables"].get(name) or {}
        if tspec.get("file"):
            paths = _files(folder, name, tspec["file"])
        else:
            path = table_path(folder, name)
            if path is None:
                continue
            paths = [path]
        raw[name] = read_tables(
            paths,
            table=name,
            csv_options={**default_csv, **_check_csv(f"tables.{name}.csv", tspec.get("csv"))},
            sheet=tspec.get("sheet"),
        )
    missing = [n for n, t in TABLES.items() if t.required and n not in raw]
    if missing:
        raise FileNotFoundError(
            f"data folder {folder} lacks the required table(s) {', '.join(missing)} "
            f"(name the export with 'file:' in the mapping, or call it <table>.csv / "
            f"<table>.parquet; see docs/own_data.md)"
        )
    return apply_mapping(raw, spec)
