"""Check tables against the data contract; report every problem; quarantine bad rows on request.

Single-table rules (presence, empties, bounds, allowed values, unique keys) are checked by
pandera schemas built from :mod:`loyalty_lib.schema`; rules across tables (keys that must exist,
a card issued before its first use, net = gross - discount, ...) are vectorised pandas here.
Every problem names the table, the column, the rule, how many rows, the first offending row
ids (a row without a key by its file line) and the offending values as they are, and all
problems are collected before anything is raised.

Implausible values are not errors: dates more than a year after the day of the check or
before 1900, and amounts more than 1,000 times the column's median are kept, and listed
as warnings with their counts (:attr:`ValidationReport.warnings`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from loyalty_lib.schema import TABLES, pandera_schema

#: How many offending row ids each problem lists.
N_EXAMPLES = 10
PROBLEM_COLUMNS = ["table", "column", "rule", "n_rows", "row_ids", "first_values"]
#: Tables without which no stage can run: an empty one is an error, not a warning.
CORE_TABLES = ("customers", "transactions")
#: Plausibility: a date more than this after the day of the check is flagged (a typing slip such as 2099).
FUTURE_MARGIN = pd.Timedelta(days=366)
#: Plausibility: a date before this is flagged (an empty date some systems write as 1899-12-30 or 1900-01-01).
EARLIEST_DATE = pd.Timestamp("1900-01-02")
#: Plausibility: an amount more than this many times its column's median (of non-zero amounts) is flagged.
AMOUNT_FACTOR = 1000
#: Plausibility: the amount rule needs at least this many non-zero amounts to know the column's range.
AMOUNT_MIN_ROWS = 20


class DataWarning(UserWarning):
    """Data were loaded, but some values look implausible (see ``ValidationReport.warnings``)."""


@dataclass
class ValidationReport:
    """All contract problems of one data set.

    Attributes
    ----------
    problems : pandas.DataFrame
        One row per (table, column, rule) with columns ``table, column, rule, n_rows,
        row_ids, first_values``: the first offending key values (``line N`` for a row without a
        key), and the offending values of the column as they are, comma-separated.
    rows : dict
        ``(table, column, rule) -> index`` of every offending row, for quarantine.
    fatal : list
        ``(table, column, rule)`` of problems no row can be set aside for (a missing table).
    warnings : pandas.DataFrame
        Implausible values that were kept, same columns as ``problems``.
    written : dict
        ``(table, column, rule) -> Series`` of the values as written (by row) of every value
        that did not parse, for the quarantine files (the parsed table holds none there).
    """

    problems: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROBLEM_COLUMNS))
    rows: dict = field(default_factory=dict)
    fatal: list = field(default_factory=list)
    warnings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROBLEM_COLUMNS))
    written: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether no rule is broken."""
        return self.problems.empty

    def message(self) -> str:
        """Human-readable list of every problem (and of the warnings, if any)."""
        head = (
            "data contract: all rules pass" if self.ok else f"data contract violated: {len(self.problems)} problem(s)"
        )
        lines = [head, *_lines(self.problems)]
        if not self.warnings.empty:
            lines.append(self.warning_message())
        return "\n".join(lines)

    def warning_message(self) -> str:
        """Human-readable list of the warnings (implausible values that were kept)."""
        n = len(self.warnings)
        return "\n".join([f"values kept with a warning: {n} warning(s)", *_lines(self.warnings)])


def _lines(frame: pd.DataFrame) -> list[str]:
    lines = []
    for r in frame.itertuples(index=False):
        ids = f"; first row ids: {r.row_ids}" if r.row_ids else ""
        vals = f"; values: {r.first_values}" if r.first_values else ""
        lines.append(f"  - table '{r.table}', column '{r.column}', rule '{r.rule}': {r.n_rows} row(s){ids}{vals}")
    return lines


class ValidationError(ValueError):
    """Raised when data break the contract; ``.report`` holds every problem."""

    def __init__(self, report: ValidationReport):
        super().__init__(report.message())
        self.report = report


def _show(v) -> str:
    """A value as the user wrote it: text in quotes, numbers and dates plain."""
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, float | np.floating):
        return f"{v:g}"
    return str(v)


def _file_line(df: pd.DataFrame, label) -> str | None:
    """Where a row came from: ``line N`` of its file, or ``FILE line N`` for a table of several files."""
    if not isinstance(label, int | np.integer):
        return None
    files = df.attrs.get("files")
    if files:
        start = 0
        for name, n, first in files:
            if label < start + n:
                return f"{name} line {int(label) - start + (first or 2)}"
            start += n
        return None
    first_line = df.attrs.get("first_line")
    return None if first_line is None else f"line {int(label) + first_line}"


def _row_names(df: pd.DataFrame, index: pd.Index, key: str) -> list[str]:
    """Key values of the rows; a row without a key is named by its file line (or row label)."""
    names = []
    for label, k in zip(index, df.loc[index, key].tolist(), strict=True):
        if not pd.isna(k):
            names.append(str(k))
        else:
            names.append(_file_line(df, label) or f"row {label}")
    return names


class _Collector:
    def __init__(self, tables: dict[str, pd.DataFrame]):
        self.tables = tables
        self.records: list[dict] = []
        self.warned: list[dict] = []
        self.rows: dict = {}
        self.written: dict = {}
        self.fatal: list = []

    def _record(self, table: str, column: str, rule: str, index: pd.Index, values) -> dict:
        df = self.tables.get(table)
        key = TABLES[table].key
        ids = vals = ""
        if df is not None and len(index):
            first = index[:N_EXAMPLES]
            if key in df:
                ids = ", ".join(_row_names(df, first, key))
            if values is None and column in df and column != key:
                values = df.loc[first, column]
            if values is not None:
                shown = pd.Series(values).reindex(first) if isinstance(values, pd.Series) else pd.Series(values)
                vals = ", ".join(_show(v) for v in shown.iloc[:N_EXAMPLES].tolist() if not pd.isna(v))
        return {
            "table": table,
            "column": column,
            "rule": rule,
            "n_rows": int(len(index)),
            "row_ids": ids,
            "first_values": vals,
        }

    def add(self, table: str, column: str, rule: str, index, *, fatal: bool = False, values=None) -> None:
        """Record a broken rule; ``values`` (by row) overrides the column's parsed values."""
        index = pd.Index(index).unique()
        if len(index) == 0 and not fatal:
            return
        self.records.append(self._record(table, column, rule, index, values))
        self.rows[(table, column, rule)] = index
        if isinstance(values, pd.Series):
            self.written[(table, column, rule)] = values
        if fatal:
            self.fatal.append((table, column, rule))

    def warn(self, table: str, column: str, rule: str, index) -> None:
        """Record values that are kept but counted: implausible ones, or normal-but-notable ones."""
        index = pd.Index(index).unique()
        if len(index):
            self.warned.append(self._record(table, column, rule, index, None))

    def report(self) -> ValidationReport:
        problems = pd.DataFrame(self.records, columns=PROBLEM_COLUMNS)
        warned = pd.DataFrame(self.warned, columns=PROBLEM_COLUMNS)
        return ValidationReport(
            problems=problems, rows=self.rows, fatal=self.fatal, warnings=warned, written=self.written
        )


_PANDERA_RULES = {
    "not_nullable": "not empty",
    "field_uniqueness": "unique key",
}


def _single_table(c: _Collector, name: str, df: pd.DataFrame, parse_problems: pd.DataFrame | None):
    spec = TABLES[name]
    missing = [col.name for col in spec.columns if col.required and col.name not in df.columns]
    for m in missing:
        c.add(name, m, "required column present", [], fatal=True)
    if len(df) == 0 or df.isna().all(axis=None):
        if name in CORE_TABLES:
            c.add(name, "-", "table has rows", [], fatal=True)
        else:
            c.warned.append(dict(zip(PROBLEM_COLUMNS, [name, "-", "table has rows", 0, "", ""], strict=True)))
        return
    already: dict[str, set] = {}
    if parse_problems is not None and len(parse_problems):
        for (col, rule), grp in parse_problems.groupby(["column", "rule"], sort=False):
            raw = pd.Series(grp["value"].to_numpy(), index=grp["index"].to_numpy()) if "value" in grp else None
            c.add(name, col, rule, grp["index"].to_numpy(), values=raw)
            already.setdefault(col, set()).update(grp["index"].tolist())
    import pandera.errors as pa_errors  # here, not at import: a notebook reading a checked snapshot never needs pandera

    schema = pandera_schema(name, list(df.columns))
    present = df[[col for col in schema.columns if col in df.columns]]
    try:
        schema.validate(present, lazy=True)
    except pa_errors.SchemaErrors as err:
        fc = err.failure_cases
        fc = fc[fc["index"].notna() & fc["column"].notna()]
        for (col, check), grp in fc.groupby(["column", "check"], sort=False):
            idx = pd.Index(grp["index"])
            if check == "not_nullable" and col in already:
                idx = idx.difference(pd.Index(list(already[col])))
            c.add(name, str(col), _PANDERA_RULES.get(str(check), str(check)), idx)


def _position(values: pd.Series | pd.Index, keys: pd.Series | pd.Index) -> np.ndarray:
    """Position in ``keys`` of each value (its first occurrence), -1 where absent or missing.

    Ids are compared as they are (text with text, numbers with numbers). Text ids go through
    Arrow's hash lookup: pandas' own ``isin``/``map`` on Arrow strings walk the keys in Python.
    """
    values, keys = pd.Series(values, copy=False), pd.Series(keys, copy=False)
    if pd.api.types.is_string_dtype(values) and pd.api.types.is_string_dtype(keys):
        found = pc.index_in(pa.array(values, type=pa.large_string()), value_set=pa.array(keys, type=pa.large_string()))
        pos = np.asarray(found.fill_null(-1), dtype=np.int64)
        return np.where(values.notna().to_numpy(), pos, -1)
    codes, uniques = pd.factorize(keys)
    first = np.full(len(uniques), -1, dtype=np.int64)
    ok = codes >= 0
    first[codes[ok][::-1]] = np.flatnonzero(ok)[::-1]
    if not len(uniques):
        return np.full(len(values), -1, dtype=np.int64)
    hit = uniques.get_indexer(values)
    return np.where(hit >= 0, first[np.maximum(hit, 0)], -1)


def _positions(probes: list[pd.Series], keys: pd.Series) -> list[np.ndarray]:
    """:func:`_position` of several columns in the same keys: for text ids one hash table of the keys.

    Arrow builds the keys' hash table once and looks every column up in it (a column of 2.6M
    receipt ids took 0.7-0.9 CPU-s to hash for each lookup); other ids go one by one.
    """
    keys = pd.Series(keys, copy=False)
    probes = [pd.Series(v, copy=False) for v in probes]
    if not (pd.api.types.is_string_dtype(keys) and all(pd.api.types.is_string_dtype(v) for v in probes)):
        return [_position(v, keys) for v in probes]
    chunks = pa.chunked_array([pa.array(v, type=pa.large_string()) for v in probes], type=pa.large_string())
    found = pc.index_in(chunks, value_set=pa.array(keys, type=pa.large_string()))
    pos = np.asarray(found.fill_null(-1), dtype=np.int64)
    out, at = [], 0
    for v in probes:
        part = pos[at : at + len(v)]
        out.append(np.where(v.notna().to_numpy(), part, -1))
        at += len(v)
    return out


def _not_in(values: pd.Series, allowed: pd.Series) -> np.ndarray:
    """Which present values are not among ``allowed``."""
    return values.notna().to_numpy() & (_position(values, allowed) < 0)


def _outside_check(discount: pd.Series, gross: pd.Series) -> np.ndarray:
    """A discount outside [0, gross] (outside [gross, 0] on a return receipt), a cent of slack."""
    d = discount.to_numpy(dtype="float64", na_value=np.nan)
    g = gross.to_numpy(dtype="float64", na_value=np.nan)
    low, high = np.minimum(g, 0.0), np.maximum(g, 0.0)
    with np.errstate(invalid="ignore"):
        return (d < low - 0.005) | (d > high + 0.005)


def _cross_tables(c: _Collector, t: dict[str, pd.DataFrame]) -> None:
    cust = t.get("customers")
    cards = t.get("cards")
    tx = t.get("transactions")
    has = lambda name, *cols: name in t and all(col in t[name] for col in cols)  # noqa: E731

    if cust is not None and "customer_id" in cust:
        names = [n for n in ("transactions", "cards", "points_ledger", "surveys", "offers") if has(n, "customer_id")]
        found = _positions([t[n]["customer_id"] for n in names], cust["customer_id"])
        for name, pos in zip(names, found, strict=True):
            bad = t[name]["customer_id"].notna().to_numpy() & (pos < 0)
            c.add(name, "customer_id", "customer exists in customers", t[name].index[bad])
    if has("transactions", "gross_amount", "discount_amount", "amount"):
        g, d, a = tx["gross_amount"], tx["discount_amount"], tx["amount"]
        other = tx["other_discount_amount"].fillna(0.0) if "other_discount_amount" in tx else 0.0
        for col in ("discount_amount", "other_discount_amount"):
            if col in tx:
                c.add("transactions", col, "discount between 0 and gross_amount", tx.index[_outside_check(tx[col], g)])
        net_bad = ((a - (g - d - other)).abs() > 0.011 + 1e-9 * g.abs()).fillna(False)
        rule = "amount = gross_amount - discount_amount" + (
            " - other_discount_amount" if "other_discount_amount" in tx else ""
        )
        c.add("transactions", "amount", rule, tx.index[net_bad])
    if has("cards", "customer_id", "issued_date"):
        orphan = cards["customer_id"].isna() & cards["issued_date"].notna()
        c.add("cards", "issued_date", "issue date only with a holder", cards.index[orphan])
    if has("transactions", "card_id", "customer_id") and has("cards", "card_id", "customer_id"):
        c.add("transactions", "card_id", "card exists in cards", tx.index[_not_in(tx["card_id"], cards["card_id"])])
    if (
        has("transactions", "card_id", "customer_id")
        and has("cards", "card_id", "customer_id")
        and (tx["card_id"].notna().any() and len(cards))
    ):
        used = tx.index[tx["card_id"].notna().to_numpy()]
        pos = _position(tx.loc[used, "card_id"], cards["card_id"])
        known = pos >= 0
        at = np.where(known, pos, 0)
        holder = cards["customer_id"].iloc[at].reset_index(drop=True)
        buyer = tx.loc[used, "customer_id"].reset_index(drop=True)
        same = (holder.isna() & buyer.isna()) | (holder.astype(str) == buyer.astype(str)) & holder.notna()
        wrong = known & ~same.to_numpy(dtype=bool)
        c.add("transactions", "card_id", "card belongs to the transaction's customer", used[wrong])
        if "issued_date" in cards and "date" in tx:
            issued = cards["issued_date"].iloc[at].dt.normalize().to_numpy()
            bought = tx.loc[used, "date"].dt.normalize().to_numpy()
            early = known & ~np.isnat(issued) & (bought < issued)
            c.add("transactions", "card_id", "card issued before its first use", used[early])
    # every lookup of a receipt id among the receipts' ids, from one hash table of those
    refs: dict[tuple[str, str], pd.Series] = {}
    if tx is not None and "transaction_id" in tx:
        refs["transactions", "transaction_id"] = tx["transaction_id"]  # each receipt row: the first row of its id
        if "original_receipt_id" in tx:
            refs["transactions", "original_receipt_id"] = tx["original_receipt_id"]
        for name in ("transaction_items", "points_ledger", "surveys"):
            if has(name, "transaction_id"):
                refs[name, "transaction_id"] = t[name]["transaction_id"]
    at = dict(zip(refs, _positions(list(refs.values()), tx["transaction_id"]), strict=True)) if refs else {}
    absent = {k: refs[k].notna().to_numpy() & (pos < 0) for k, pos in at.items()}
    if ("transactions", "original_receipt_id") in at:
        c.warn(
            "transactions",
            "original_receipt_id",
            "original receipt in the data (a return of an earlier purchase is kept)",
            tx.index[absent[("transactions", "original_receipt_id")]],
        )
    if ("transaction_items", "transaction_id") in at:
        items = t["transaction_items"]
        c.add(
            "transaction_items",
            "transaction_id",
            "receipt exists in transactions",
            items.index[absent[("transaction_items", "transaction_id")]],
        )
        if has("products", "product_id") and "product_id" in items:
            c.warn(
                "transaction_items",
                "product_id",
                "product in the catalogue (lines of unknown products are kept)",
                items.index[_not_in(items["product_id"], t["products"]["product_id"])],
            )
        if "line_amount" in items and "gross_amount" in tx:
            # the lines' amounts summed per receipt id (a missing amount adds nothing), given to every
            # receipt row with that id; a receipt without lines gets none
            line = at[("transaction_items", "transaction_id")]
            ok = line >= 0
            amount = pd.to_numeric(items["line_amount"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            sums = np.bincount(line[ok], weights=np.nan_to_num(amount[ok], nan=0.0), minlength=len(tx))
            lines = np.bincount(line[ok], minlength=len(tx))
            first = at[("transactions", "transaction_id")]
            has_lines = (first >= 0) & (lines[np.maximum(first, 0)] > 0)
            s = pd.Series(np.where(has_lines, sums[np.maximum(first, 0)], np.nan), index=tx.index)
            off = s.notna() & ((s - tx["gross_amount"]).abs() > 0.01 * tx["gross_amount"].abs() + 0.02)
            c.add("transactions", "gross_amount", "receipt lines add up to gross_amount", tx.index[off])
    for name in ("points_ledger", "surveys"):
        if (name, "transaction_id") in at:
            c.add(
                name,
                "transaction_id",
                "receipt exists in transactions",
                t[name].index[absent[(name, "transaction_id")]],
            )


def _plausibility(c: _Collector, name: str, df: pd.DataFrame, today: pd.Timestamp) -> None:
    """Warn (never fail) about dates far in the future or before 1900, and outlandish amounts."""
    latest = today.normalize() + FUTURE_MARGIN
    for col in TABLES[name].columns:
        if col.name not in df or len(df) == 0:
            continue
        s = df[col.name]
        if col.kind == "datetime" and pd.api.types.is_datetime64_any_dtype(s):
            c.warn(
                name,
                col.name,
                f"date not after {latest:%Y-%m-%d} (a year from today)",
                df.index[(s > latest).fillna(False)],
            )
            c.warn(name, col.name, f"date not before {EARLIEST_DATE.year}", df.index[(s < EARLIEST_DATE).fillna(False)])
        elif col.money and pd.api.types.is_numeric_dtype(s):
            size = s.abs()
            positive = size[size > 0]
            if len(positive) >= AMOUNT_MIN_ROWS:
                limit = AMOUNT_FACTOR * float(positive.median())
                c.warn(
                    name,
                    col.name,
                    f"at most {AMOUNT_FACTOR:,} x the median ({limit:,.2f})",
                    df.index[(size > limit).fillna(False)],
                )


def validate(
    tables: dict[str, pd.DataFrame],
    *,
    parse_problems: dict[str, pd.DataFrame] | None = None,
    today: pd.Timestamp | str | None = None,
    notes: list[tuple[str, str, str, pd.Index]] | None = None,
) -> ValidationReport:
    """Check a set of tables against the contract.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        Parsed tables (see :func:`loyalty_lib.io.coerce_table`), or ``Dataset.tables``.
    parse_problems : dict of str to pandas.DataFrame, optional
        Values that did not parse, per table, from :func:`~loyalty_lib.io.coerce_table`.
    today : Timestamp or str, optional
        The day of the check, for the "date in the future" warning (default: today).
    notes : list of (table, column, rule, index), optional
        What the loader did on the mapping's word (customers filled in from their cards), listed
        with the warnings so it is counted, never silent.

    Returns
    -------
    ValidationReport
        Every problem found; ``report.ok`` is true when there is none.

    Examples
    --------
    >>> from loyalty_lib import synth
    >>> validate(synth.generate(n_customers=300, seed=1).tables).ok
    True
    """
    c = _Collector(tables)
    for name, spec in TABLES.items():
        if name not in tables:
            if spec.required:
                c.add(name, "-", "required table present", [], fatal=True)
            continue
        _single_table(c, name, tables[name], (parse_problems or {}).get(name))
        _plausibility(c, name, tables[name], pd.Timestamp(today) if today is not None else pd.Timestamp.now())
    _cross_tables(c, tables)
    for table, column, rule, index in notes or []:
        c.warn(table, column, rule, index)
    return c.report()


def quarantine(
    tables: dict[str, pd.DataFrame], report: ValidationReport, *, out_dir: str | Path | None = None
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Set aside every row that breaks a rule, and rows that depended on them.

    Removing a receipt removes its lines too, so the rules are checked again until they
    all pass. Nothing is dropped silently: each set-aside row is written once, with every
    rule it broke in a ``_problems`` column, to ``out_dir/<table>.csv`` (plus
    ``summary.csv``), and the counts come back as a summary. Text cells that would start a
    spreadsheet formula are neutralised (:func:`loyalty_lib.escape.write_csv`); the folder gets a
    manifest, and a later quarantine into it replaces only the files listed there.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        Parsed tables (not modified).
    report : ValidationReport
        From :func:`validate` on the same tables.
    out_dir : str or Path, optional
        Folder for the quarantine files; nothing is written when ``None``.

    Returns
    -------
    clean : dict of str to pandas.DataFrame
        Tables without the quarantined rows.
    summary : pandas.DataFrame
        Columns ``table, column, rule, n_rows, row_ids`` of everything set aside.

    Raises
    ------
    ValidationError
        When a problem cannot be fixed by dropping rows (a required table or column is missing).
    loyalty_lib.outdir.OutputFolderError
        When ``out_dir`` holds files an earlier quarantine did not write.
    """
    if report.fatal:
        raise ValidationError(report)
    clean = dict(tables)
    reasons: dict[str, list[pd.Series]] = {}
    summaries = []
    for _ in range(6):
        if report.ok:
            break
        summaries.append(report.problems)
        rows = dict(report.rows)
        for (table, column, rule), idx in report.rows.items():
            idx = clean[table].index.intersection(idx)
            why = pd.Series(f"{column}: {rule}", index=idx)
            if (table, column, rule) in report.written:  # the value as written: the table holds none
                why = why + " (" + report.written[(table, column, rule)].reindex(idx).astype(str) + ")"
            reasons.setdefault(table, []).append(why)
        whole = _whole_receipts(clean, rows)
        for key, idx in whole.items():
            reasons.setdefault(key[0], []).append(pd.Series(f"{key[1]}: {key[2]}", index=idx))
            rows[key] = idx
        summaries += [_summary_row(clean, key, idx) for key, idx in whole.items()]
        for table in {k[0] for k in rows}:
            drop = pd.Index([]).append([rows[k] for k in rows if k[0] == table])
            clean[table] = clean[table].drop(index=clean[table].index.intersection(drop))
        report = validate(clean)
    if not report.ok:  # pragma: no cover - guards against a rule that keeps firing
        raise ValidationError(report)
    summary = pd.concat(summaries, ignore_index=True) if summaries else report.problems
    if out_dir is not None and reasons:
        from loyalty_lib import outdir
        from loyalty_lib.escape import write_csv

        out = Path(out_dir)
        outdir.check_replaceable(out, force=True, what="quarantine folder", kind="quarantine")
        outdir.remove_listed(out)  # an earlier quarantine of this folder: only its own files
        for table, parts in reasons.items():
            why = pd.concat(parts).groupby(level=0).agg("; ".join)
            write_csv(tables[table].loc[why.index].assign(_problems=why), out / f"{table}.csv")
        write_csv(summary, out / "summary.csv")
        write_csv(set_aside_counts(tables, clean), out / SET_ASIDE_FILE)
        outdir.write_manifest(out)
    return clean, summary


#: Rules under which whole receipts go with a set-aside line or header.
WHOLE_RECEIPT = "receipt set aside whole (one of its rows broke a rule)"
#: The per-table counts the quarantine writes beside its files.
SET_ASIDE_FILE = "set_aside.csv"
SET_ASIDE_COLUMNS = ["table", "rows_set_aside", "rows_total", "share_of_rows", "amount_set_aside", "share_of_revenue"]


def _whole_receipts(tables: dict[str, pd.DataFrame], rows: dict) -> dict:
    """The receipts (header and every line) of set-aside lines and headers not yet set aside."""
    tx, items = tables.get("transactions"), tables.get("transaction_items")
    if tx is None or items is None or "transaction_id" not in items or "transaction_id" not in tx:
        return {}
    drop_tx = pd.Index([]).append([idx for k, idx in rows.items() if k[0] == "transactions"])
    drop_items = pd.Index([]).append([idx for k, idx in rows.items() if k[0] == "transaction_items"])
    receipts = pd.concat(
        [
            tx.loc[tx.index.intersection(drop_tx), "transaction_id"],
            items.loc[items.index.intersection(drop_items), "transaction_id"],
        ]
    ).dropna()
    if receipts.empty:
        return {}
    more_tx = tx.index[(_position(tx["transaction_id"], receipts) >= 0)].difference(drop_tx)
    more_items = items.index[(_position(items["transaction_id"], receipts) >= 0)].difference(drop_items)
    out = {}
    if len(more_tx):
        out[("transactions", "transaction_id", WHOLE_RECEIPT)] = more_tx
    if len(more_items):
        out[("transaction_items", "transaction_id", WHOLE_RECEIPT)] = more_items
    return out


def _summary_row(tables: dict[str, pd.DataFrame], key: tuple, idx: pd.Index) -> pd.DataFrame:
    c = _Collector(tables)
    return pd.DataFrame([c._record(*key, idx, None)], columns=PROBLEM_COLUMNS)


def set_aside_counts(tables: dict[str, pd.DataFrame], clean: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Count what a quarantine set aside: rows per table, and the receipts' share of revenue.

    Rows are counted by comparing the tables before and after, so a row without a key, or one
    that broke several rules, counts once.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        The tables as loaded.
    clean : dict of str to pandas.DataFrame
        The same tables without the rows set aside (from :func:`quarantine`).

    Returns
    -------
    pandas.DataFrame
        One row per table that lost rows: ``table, rows_set_aside, rows_total, share_of_rows,
        amount_set_aside, share_of_revenue`` (the last two for ``transactions`` only: the sum of
        ``amount`` of the receipts set aside, and their share of revenue by absolute amount, so
        a return receipt set aside weighs as much as a sale of its size).

    Examples
    --------
    >>> tx = pd.DataFrame({"transaction_id": ["1", "2", "3", "4"], "amount": [-10.0, 20.0, 30.0, 40.0]})
    >>> counts = set_aside_counts({"transactions": tx}, {"transactions": tx.iloc[1:]})
    >>> r = counts.iloc[0]
    >>> int(r.rows_set_aside), float(r.amount_set_aside), float(r.share_of_rows), round(float(r.share_of_revenue), 3)
    (1, -10.0, 0.25, 0.1)
    """
    out = []
    for name, df in tables.items():
        kept = clean.get(name)
        gone = df.index.difference(kept.index) if kept is not None else df.index
        if not len(gone):
            continue
        amount = share = np.nan
        if name == "transactions" and "amount" in df:
            size = df["amount"].abs()  # a return set aside weighs like a sale of its size
            total = float(size.sum())
            amount = float(df.loc[gone, "amount"].sum())
            share = float(size.loc[gone].sum()) / total if total else np.nan
        out.append([name, len(gone), len(df), len(gone) / len(df), amount, share])
    return pd.DataFrame(out, columns=SET_ASIDE_COLUMNS).astype({"rows_set_aside": "int64", "rows_total": "int64"})


def set_aside_message(counts: pd.DataFrame | None) -> str:
    """Say in one line what was set aside (from :func:`set_aside_counts`), or ``""``.

    Examples
    --------
    >>> counts = pd.DataFrame([["transactions", 36, 155000, 36 / 155000, 1200.0, 0.0004],
    ...                        ["transaction_items", 410, 1500000, 410 / 1500000, None, None]],
    ...                       columns=SET_ASIDE_COLUMNS)
    >>> print(set_aside_message(counts))
    set aside: 36 receipts (0.02 % of receipts, 0.04 % of revenue), 410 rows of transaction_items (0.03 %)
    """
    if counts is None or counts.empty:
        return ""
    parts = []
    for r in counts.itertuples(index=False):
        if r.table == "transactions":
            rev = "" if pd.isna(r.share_of_revenue) else f", {_pct(r.share_of_revenue)} of revenue"
            n = f"{r.rows_set_aside:,} receipt{'s' if r.rows_set_aside != 1 else ''}"
            parts.insert(0, f"{n} ({_pct(r.share_of_rows)} of receipts{rev})")
        else:
            parts.append(f"{r.rows_set_aside:,} rows of {r.table} ({_pct(r.share_of_rows)})")
    return "set aside: " + ", ".join(parts)


def _pct(share: float) -> str:
    return f"{100 * share:.2f} %"


def rules_broken(report: ValidationReport, quarantined: pd.DataFrame | None = None) -> int:
    """Count the contract rules broken, including those whose rows the loader set aside.

    A data set loaded with quarantine (or the report's clean copy of it) passes the contract,
    so its own check finds no problem; the rules that made the loader set rows aside still
    count, so a scorecard never says "0 problems" about data that lost rows.

    Parameters
    ----------
    report : ValidationReport
        A check of the tables as they are now.
    quarantined : pandas.DataFrame or None
        ``Dataset.quarantined``: the rules the loader's quarantine set rows aside for.

    Returns
    -------
    int
        Distinct ``(table, column, rule)`` of both, not counting the receipts set aside whole
        only because another of their rows broke a rule.

    Examples
    --------
    >>> q = pd.DataFrame({"table": ["transactions", "transaction_items"], "column": ["amount", "transaction_id"],
    ...                   "rule": ["amount = gross_amount - discount_amount", WHOLE_RECEIPT]})
    >>> rules_broken(ValidationReport(), q)
    1
    """
    keys = set(report.problems[["table", "column", "rule"]].itertuples(index=False, name=None))
    if quarantined is not None and len(quarantined):
        keys |= set(quarantined[["table", "column", "rule"]].itertuples(index=False, name=None))
    return len({k for k in keys if k[2] != WHOLE_RECEIPT})


def count_set_aside(qdir: str | Path, summary: pd.DataFrame | None) -> int:
    """Rows a quarantine set aside (each once, with or without a key), from its folder.

    Parameters
    ----------
    qdir : str or Path
        The quarantine folder written by :func:`quarantine`.
    summary : pandas.DataFrame or None
        The rule summary (``Dataset.quarantined``); ``None`` means nothing was set aside.

    Returns
    -------
    int
        The rows set aside over all tables: from ``set_aside.csv`` when the folder has it, else
        the rows of the per-table files (one row per row set aside), else the summary's largest
        count per table.
    """
    if summary is None:
        return 0
    qdir = Path(qdir)
    if (qdir / SET_ASIDE_FILE).is_file():
        return int(pd.read_csv(qdir / SET_ASIDE_FILE)["rows_set_aside"].sum())
    n = 0
    for table in summary["table"].unique():
        f = qdir / f"{table}.csv"
        if f.is_file():
            n += len(pd.read_csv(f, dtype=str))
        else:
            n += int(summary.loc[summary["table"] == table, "n_rows"].max())
    return n
