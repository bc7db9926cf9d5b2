"""The one object every metric and notebook receives: the contract's tables plus optional truth."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import pandas as pd

from loyalty_lib.schema import TABLES


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
