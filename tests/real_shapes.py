"""Real-export shapes for the stage-notebook tests, built from the teaching sample.

``members_only``: the export of a chain whose program is older than the data. Every identified
customer is a member, non-members' receipts are absent, the card issue dates are unknown, there
are no cards in stock, no surveys, no points ledger, no costs and no campaigns, and no planted truth.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from loyalty_lib import config, io
from loyalty_lib.dataset import Dataset

EXAMPLE_DIR = config.PROJECT_DIR / "examples" / "own_data"


def members_only(sample: Dataset) -> Dataset:
    """The members-only export of ``sample`` (a synthetic branch), without its planted truth."""
    cards = sample.cards[sample.cards["customer_id"].notna()].copy()
    launch = cards["issued_date"].min().normalize()
    members = cards["customer_id"].unique()
    tx = sample.transactions
    tx = tx[tx["customer_id"].isin(members) & (tx["date"] >= launch)].copy()
    cards["issued_date"] = pd.NaT  # the export does not know when the cards were handed out
    keep = {"customers": sample.customers[sample.customers["customer_id"].isin(members)], "cards": cards}
    keep["transactions"] = tx
    if sample.transaction_items is not None:
        items = sample.transaction_items
        keep["transaction_items"] = items[items["transaction_id"].isin(tx["transaction_id"])]
        keep["products"] = sample.products
    return Dataset.from_tables(keep, source="members-only export (test shape)")


def write_members_only(folder: Path) -> Path:
    """Write :func:`members_only` of the committed teaching sample to ``folder``."""
    return io.save(members_only(io.load(config.SAMPLE_DIR)), folder, force=True)


def write_own_data(folder: Path) -> Path:
    """Read ``examples/own_data`` through its column mapping and write the clean tables to ``folder``.

    This is what ``loyalty report`` does before the notebooks run.
    """
    ds = io.load(EXAMPLE_DIR / "export", mapping=EXAMPLE_DIR / "mapping.yaml")
    return io.save(ds, folder, force=True)
