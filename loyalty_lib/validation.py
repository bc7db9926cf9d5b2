"""Check tables against the data contract; report every problem; quarantine bad rows on request.

Single-table rules (presence, empties, bounds, allowed values, unique keys) are checked by
pandera schemas built from :mod:`loyalty_lib.schema`; rules across tables (keys that must exist,
a card issued before its first use, net = gross - discount, ...) are vectorised pandas here.
Every problem names the table, the column, the rule, how many rows and the first offending row
ids, and all problems are collected before anything is raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.errors as pa_errors

from loyalty_lib.schema import TABLES, pandera_schema

#: How many offending row ids each problem lists.
N_EXAMPLES = 10
PROBLEM_COLUMNS = ["table", "column", "rule", "n_rows", "row_ids"]


@dataclass
class ValidationReport:
    """All contract problems of one data set.

    Attributes
    ----------
    problems : pandas.DataFrame
        One row per (table, column, rule) with columns ``table, column, rule, n_rows,
        row_ids`` (the first offending key values, comma-separated).
    rows : dict
        ``(table, column, rule) -> index`` of every offending row, for quarantine.
    """

    problems: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROBLEM_COLUMNS))
    rows: dict = field(default_factory=dict)
    fatal: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no rule is broken."""
        return self.problems.empty

    def message(self) -> str:
        """Human-readable list of every problem."""
        if self.ok:
            return "data contract: all rules pass"
        lines = [f"data contract violated: {len(self.problems)} problem(s)"]
        for r in self.problems.itertuples(index=False):
            ids = f"; first row ids: {r.row_ids}" if r.row_ids else ""
            lines.append(f"  - table '{r.table}', column '{r.column}', rule '{r.rule}': {r.n_rows} row(s){ids}")
        return "\n".join(lines)


class ValidationError(ValueError):
    """Raised when data break the contract; ``.report`` holds every problem."""

    def __init__(self, report: ValidationReport):
        super().__init__(report.message())
        self.report = report


class _Collector:
    def __init__(self, tables: dict[str, pd.DataFrame]):
        self.tables = tables
        self.records: list[dict] = []
        self.rows: dict = {}
        self.fatal: list = []

    def add(self, table: str, column: str, rule: str, index, *, fatal: bool = False) -> None:
        index = pd.Index(index).unique()
        if len(index) == 0 and not fatal:
            return
        df = self.tables.get(table)
        key = TABLES[table].key
        ids = ""
        if df is not None and len(index) and key in df:
            ex = df.loc[index[:N_EXAMPLES], key]
            ids = ", ".join(map(str, ex.tolist()))
        self.records.append({"table": table, "column": column, "rule": rule, "n_rows": int(len(index)), "row_ids": ids})
        self.rows[(table, column, rule)] = index
        if fatal:
            self.fatal.append((table, column, rule))

    def report(self) -> ValidationReport:
        problems = pd.DataFrame(self.records, columns=PROBLEM_COLUMNS)
        return ValidationReport(problems=problems, rows=self.rows, fatal=self.fatal)


_PANDERA_RULES = {
    "not_nullable": "not empty",
    "field_uniqueness": "unique key",
}


def _single_table(c: _Collector, name: str, df: pd.DataFrame, parse_problems: pd.DataFrame | None):
    spec = TABLES[name]
    missing = [col.name for col in spec.columns if col.required and col.name not in df.columns]
    for m in missing:
        c.add(name, m, "required column present", [], fatal=True)
    already: dict[str, set] = {}
    if parse_problems is not None and len(parse_problems):
        for (col, rule), grp in parse_problems.groupby(["column", "rule"], sort=False):
            c.add(name, col, rule, grp["index"].to_numpy())
            already.setdefault(col, set()).update(grp["index"].tolist())
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


def _not_in(values: pd.Series, allowed: pd.Series) -> np.ndarray:
    return values.notna().to_numpy() & ~values.isin(allowed.dropna()).to_numpy()


def _cross_tables(c: _Collector, t: dict[str, pd.DataFrame]) -> None:
    cust = t.get("customers")
    cards = t.get("cards")
    tx = t.get("transactions")
    has = lambda name, *cols: name in t and all(col in t[name] for col in cols)  # noqa: E731

    if cust is not None and "customer_id" in cust:
        for name in ("transactions", "cards", "points_ledger", "surveys", "offers"):
            if has(name, "customer_id"):
                bad = _not_in(t[name]["customer_id"], cust["customer_id"])
                c.add(name, "customer_id", "customer exists in customers", t[name].index[bad])
    if has("transactions", "gross_amount", "discount_amount", "amount"):
        g, d, a = tx["gross_amount"], tx["discount_amount"], tx["amount"]
        c.add(
            "transactions",
            "discount_amount",
            "discount_amount <= gross_amount",
            tx.index[(d > g + 0.005).fillna(False)],
        )
        net_bad = ((a - (g - d)).abs() > 0.011 + 1e-9 * g.abs()).fillna(False)
        c.add("transactions", "amount", "amount = gross_amount - discount_amount", tx.index[net_bad])
    if has("cards", "customer_id", "issued_date"):
        mismatch = cards["customer_id"].notna() != cards["issued_date"].notna()
        c.add("cards", "issued_date", "holder and issue date go together", cards.index[mismatch])
    if has("transactions", "card_id", "customer_id", "date") and has("cards", "card_id", "customer_id", "issued_date"):
        c.add("transactions", "card_id", "card exists in cards", tx.index[_not_in(tx["card_id"], cards["card_id"])])
    if (
        has("transactions", "card_id", "customer_id", "date")
        and has("cards", "card_id", "customer_id", "issued_date")
        and (tx["card_id"].notna().any() and len(cards))
    ):
        used = tx["card_id"].notna()
        lookup = cards.drop_duplicates("card_id").set_index("card_id")
        holder = tx.loc[used, "card_id"].map(lookup["customer_id"])
        issued = tx.loc[used, "card_id"].map(lookup["issued_date"])
        known = tx.loc[used, "card_id"].isin(lookup.index)
        wrong = known & (holder.astype(str) != tx.loc[used, "customer_id"].astype(str))
        c.add("transactions", "card_id", "card belongs to the transaction's customer", wrong.index[wrong])
        early = known & (issued.isna() | (tx.loc[used, "date"].dt.normalize() < issued.dt.normalize()))
        c.add("transactions", "card_id", "card issued before its first use", early.index[early.fillna(False)])
    if has("transaction_items", "transaction_id") and tx is not None:
        items = t["transaction_items"]
        c.add(
            "transaction_items",
            "transaction_id",
            "receipt exists in transactions",
            items.index[_not_in(items["transaction_id"], tx["transaction_id"])],
        )
        if has("products", "product_id") and "product_id" in items:
            c.add(
                "transaction_items",
                "product_id",
                "product exists in products",
                items.index[_not_in(items["product_id"], t["products"]["product_id"])],
            )
        if "line_amount" in items and "gross_amount" in tx:
            sums = items.groupby("transaction_id")["line_amount"].sum()
            s = tx["transaction_id"].map(sums)
            off = s.notna() & ((s - tx["gross_amount"]).abs() > 0.01 * tx["gross_amount"].abs() + 0.02)
            c.add("transactions", "gross_amount", "receipt lines add up to gross_amount", tx.index[off])
    if tx is not None:
        for name in ("points_ledger", "surveys"):
            if has(name, "transaction_id"):
                bad = _not_in(t[name]["transaction_id"], tx["transaction_id"])
                c.add(name, "transaction_id", "receipt exists in transactions", t[name].index[bad])


def validate(
    tables: dict[str, pd.DataFrame], *, parse_problems: dict[str, pd.DataFrame] | None = None
) -> ValidationReport:
    """Check a set of tables against the contract.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        Parsed tables (see :func:`loyalty_lib.io.coerce_table`), or ``Dataset.tables``.
    parse_problems : dict of str to pandas.DataFrame, optional
        Values that did not parse, per table, from :func:`~loyalty_lib.io.coerce_table`.

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
    _cross_tables(c, tables)
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
    for _ in range(5):
        if report.ok:
            break
        summaries.append(report.problems)
        for (table, column, rule), idx in report.rows.items():
            idx = clean[table].index.intersection(idx)
            reasons.setdefault(table, []).append(pd.Series(f"{column}: {rule}", index=idx))
        for table in {k[0] for k in report.rows}:
            drop = pd.Index([]).append([report.rows[k] for k in report.rows if k[0] == table])
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
        outdir.write_manifest(out)
    return clean, summary
