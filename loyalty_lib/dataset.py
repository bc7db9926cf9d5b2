"""The one object every metric and notebook receives: the contract's tables plus optional truth.

It also holds the one definition of what a receipt counts as (see the section "Receipts, visits,
returns and discounts" of docs/data_contract.md): :func:`receipt_kind`, :func:`visits_mask`,
:func:`anonymous_mask` and :func:`net_revenue`, so every stage counts visits, returns and
anonymous receipts the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

from loyalty_lib.schema import TABLES

#: What a receipt is, by the sign of its gross amount (see :func:`receipt_kind`).
RECEIPT_KINDS = ("sale", "return", "zero")


def _column(tx: pd.DataFrame, col: str, fn: str) -> pd.Series:
    if col not in tx:
        raise ValueError(f"{fn}: the receipts table has no column {col!r} (it has: {', '.join(map(str, tx.columns))})")
    return tx[col]


def receipt_kind(tx: pd.DataFrame, *, gross_col: str = "gross_amount") -> pd.Series:
    """Say what each receipt is: a sale, a return, or a zero receipt.

    Parameters
    ----------
    tx : pandas.DataFrame
        Receipts (the ``transactions`` table); not modified.
    gross_col : str
        Check before any discount.

    Returns
    -------
    pandas.Series
        Category ``receipt_kind`` on the index of ``tx``: ``"sale"`` (gross > 0, a visit),
        ``"return"`` (gross < 0) or ``"zero"`` (gross = 0 or missing: voided, nothing sold).

    Examples
    --------
    >>> tx = pd.DataFrame({"gross_amount": [120.0, -30.0, 0.0]})
    >>> receipt_kind(tx).tolist()
    ['sale', 'return', 'zero']
    """
    g = pd.to_numeric(_column(tx, gross_col, "receipt_kind"), errors="coerce").to_numpy(dtype="float64", na_value=0.0)
    codes = np.select([g > 0, g < 0], [0, 1], default=2).astype(np.int8)  # positions in RECEIPT_KINDS
    kind = pd.Categorical.from_codes(codes, categories=RECEIPT_KINDS)  # no strings per receipt: ~10x faster
    return pd.Series(kind, index=tx.index, name="receipt_kind")


def visits_mask(tx: pd.DataFrame, *, gross_col: str = "gross_amount") -> pd.Series:
    """Which receipts are visits: the one definition every stage uses.

    A visit is a receipt on which something was bought: ``gross_amount > 0``. Return receipts
    and zero receipts are receipts but not visits; a receipt paid fully by discounts is a visit.

    Parameters
    ----------
    tx : pandas.DataFrame
        Receipts; not modified.
    gross_col : str
        Check before any discount.

    Returns
    -------
    pandas.Series of bool
        ``True`` for a visit, on the index of ``tx``.

    Examples
    --------
    >>> tx = pd.DataFrame({"gross_amount": [120.0, -30.0, 0.0, 50.0], "amount": [110.0, -30.0, 0.0, 0.0]})
    >>> visits_mask(tx).tolist()
    [True, False, False, True]
    """
    return (receipt_kind(tx, gross_col=gross_col) == "sale").rename("visit")


def visit_flags(tx: pd.DataFrame, *, gross_col: str = "gross_amount") -> np.ndarray:
    """:func:`visits_mask` as a boolean array; every row is a visit when ``tx`` has no ``gross_col``.

    A hand-made receipts table without the check before discounts cannot tell a return from a
    sale, so each of its rows counts as a visit (the rule the metric modules document).

    Examples
    --------
    >>> visit_flags(pd.DataFrame({"gross_amount": [120.0, -30.0]})).tolist()
    [True, False]
    >>> visit_flags(pd.DataFrame({"amount": [10.0, 5.0]})).tolist()
    [True, True]
    """
    if gross_col not in tx.columns:
        return np.ones(len(tx), dtype=bool)
    return visits_mask(tx, gross_col=gross_col).to_numpy()


def anonymous_mask(tx: pd.DataFrame, *, customer_col: str = "customer_id") -> pd.Series:
    """Which receipts are anonymous (no customer id: walk-in buyers).

    Examples
    --------
    >>> anonymous_mask(pd.DataFrame({"customer_id": ["7", None]})).tolist()
    [False, True]
    """
    return _column(tx, customer_col, "anonymous_mask").isna().rename("anonymous")


def net_revenue(tx: pd.DataFrame, *, amount_col: str = "amount") -> float:
    """Revenue: the sum of ``amount`` over all receipts, net of discounts and of returns.

    Examples
    --------
    >>> net_revenue(pd.DataFrame({"amount": [110.0, -30.0, 0.0]}))
    80.0
    """
    return float(pd.to_numeric(_column(tx, amount_col, "net_revenue"), errors="coerce").sum())


class MissingTableError(LookupError):
    """An analysis needs an optional table that this data set does not have."""


@dataclass(frozen=True)
class Dataset:
    """Tables of the data contract, from the generator or a shop's own exports.

    Optional tables are ``None`` when the data has none; :meth:`require` turns that into a
    clear :class:`MissingTableError` naming the analysis that needed it.

    Attributes
    ----------
    customers, cards, transactions : pandas.DataFrame
        Required tables.
    transaction_items, products, points_ledger, surveys, offers, program_costs : pandas.DataFrame or None
        Optional tables.
    truth : dict or None
        Ground truth planted by the generator (``None`` for real data).
    truth_tables : dict of str to pandas.DataFrame
        Per-customer and per-transaction hidden truth from the generator (empty for real data).
    source : str
        Where the data came from, for report metadata.
    quarantined : pandas.DataFrame or None
        Summary of rows set aside by the loader (``table, column, rule, n_rows, row_ids, first_values``).
    warnings : pandas.DataFrame or None
        Implausible values the loader kept but flagged (same columns), e.g. dates in 2099.
    set_aside : pandas.DataFrame or None
        What the quarantine set aside, per table (see
        :func:`loyalty_lib.validation.set_aside_counts`): rows, and for receipts their share of
        receipts and of revenue.
    """

    customers: pd.DataFrame
    cards: pd.DataFrame
    transactions: pd.DataFrame
    transaction_items: pd.DataFrame | None = None
    products: pd.DataFrame | None = None
    points_ledger: pd.DataFrame | None = None
    surveys: pd.DataFrame | None = None
    offers: pd.DataFrame | None = None
    program_costs: pd.DataFrame | None = None
    truth: dict | None = None
    truth_tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    source: str = ""
    quarantined: pd.DataFrame | None = None
    warnings: pd.DataFrame | None = None
    set_aside: pd.DataFrame | None = None

    @property
    def currency(self) -> str:
        """The currency code of the amounts (the ``currency`` column of receipts), ``""`` when unknown or mixed."""
        tx = self.transactions
        if "currency" not in tx:
            return ""
        found = tx["currency"].dropna().astype("str").str.strip().str.upper().unique()
        found = [c for c in found if c]
        return found[0] if len(found) == 1 else ""

    @property
    def n_anonymous_receipts(self) -> int:
        """Receipts without a customer id (walk-in buyers)."""
        return int(anonymous_mask(self.transactions).sum()) if "customer_id" in self.transactions else 0

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Present contract tables by name, in contract order."""
        return {n: getattr(self, n) for n in TABLES if getattr(self, n) is not None}

    @property
    def is_synthetic(self) -> bool:
        """Whether planted ground truth is available."""
        return self.truth is not None

    def has(self, name: str) -> bool:
        """Return whether table ``name`` is present and non-empty."""
        t = getattr(self, name)
        return t is not None and len(t) > 0

    def n_rows(self, name: str) -> int:
        """Return the number of rows of table ``name``, 0 when the data set has no such table."""
        t = getattr(self, name)
        return 0 if t is None else len(t)

    def columns_of(self, name: str) -> list[str]:
        """Return the columns of table ``name``, ``[]`` when the data set has no such table."""
        t = getattr(self, name)
        return [] if t is None else list(t.columns)

    def table_names(self) -> list[str]:
        """Return the names of the tables present, in contract order."""
        return [n for n in TABLES if getattr(self, n) is not None]

    def read_columns(self, name: str, columns) -> pd.DataFrame:
        """Return the columns ``columns`` of table ``name`` (a prepared snapshot reads only those)."""
        return getattr(self, name)[list(columns)]

    def require(self, name: str, purpose: str = "this analysis") -> pd.DataFrame:
        """Return table ``name`` or raise :class:`MissingTableError` saying who needs it."""
        if not self.has(name):
            raise MissingTableError(
                f"{purpose} needs the optional table '{name}', which this data set does not have "
                f"(add {name}.csv or {name}.parquet to the data folder; see docs/data_contract.md)."
            )
        return getattr(self, name)

    @classmethod
    def from_tables(cls, tables: dict[str, pd.DataFrame], **kw) -> Dataset:
        """Build a Dataset from a dict of tables, ignoring names outside the contract."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in tables.items() if k in names and k in TABLES}, **kw)


def load_or_generate(
    data_dir: str | Path = "",
    *,
    generate: bool = False,
    seed: int = 42,
    n_customers: int = 25_000,
    scenario: str = "sergey_branch",
    **generator_kw,
) -> Dataset:
    """Return the data a notebook works on, from its parameters.

    Parameters
    ----------
    data_dir : str or Path
        Folder of contract tables; ``""`` means the committed teaching sample in ``data/sample``.
    generate : bool
        Generate synthetic data in memory instead of reading a folder.
    seed, n_customers, scenario
        Generator settings, used when ``generate`` is true.
    **generator_kw
        Passed on to :func:`loyalty_lib.synth.generate`.

    Returns
    -------
    Dataset
        Validated tables (the loader raises on contract violations).
    """
    from loyalty_lib import config, io, synth

    if generate:
        return synth.generate(scenario, n_customers=n_customers, seed=seed, **generator_kw)
    return io.load(Path(data_dir) if str(data_dir) else config.SAMPLE_DIR)
