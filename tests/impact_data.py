"""Data sets of the shapes real exports take, cut from the generator, for the impact designs.

Each function takes a generated branch (``synth.generate``) and returns a new ``Dataset``: the
generator's tables with what a real export lacks removed. Transaction ids are kept, so the
planted counterfactual of the source branch still names every receipt's no-program value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalty_lib import synth
from loyalty_lib.dataset import Dataset


def _members(ds: Dataset) -> set:
    held = set(ds.cards["customer_id"].dropna())
    return held | set(ds.transactions.loc[ds.transactions["card_id"].notna(), "customer_id"])


def members_only(ds: Dataset, *, truth: bool = True) -> Dataset:
    """Only card holders are in the export (non-members' receipts are absent); issue dates known.

    No surveys, points ledger, offers or cost ledger.
    """
    keep = _members(ds)
    tx = ds.transactions[ds.transactions["customer_id"].isin(keep)].reset_index(drop=True)
    return Dataset(
        customers=ds.customers[ds.customers["customer_id"].isin(keep)].reset_index(drop=True),
        cards=ds.cards[ds.cards["customer_id"].isin(keep)].reset_index(drop=True),
        transactions=tx,
        truth=ds.truth if truth else None,
        truth_tables=ds.truth_tables if truth else {},
        source="members only, issue dates known",
    )


def members_only_older(ds: Dataset) -> Dataset:
    """Members only, issue dates unknown, the export starts after the launch; no other table."""
    launch = pd.Timestamp(ds.truth["period"]["launch"])
    start = launch + pd.DateOffset(months=3)
    keep = _members(ds)
    tx = ds.transactions
    tx = tx[tx["customer_id"].isin(keep) & (tx["date"] >= start)].reset_index(drop=True)
    ids = set(tx["customer_id"])
    cards = ds.cards[ds.cards["customer_id"].isin(ids)].assign(issued_date=pd.NaT).reset_index(drop=True)
    customers = ds.customers[ds.customers["customer_id"].isin(ids)].assign(first_seen=pd.NaT)
    return Dataset(
        customers=customers.reset_index(drop=True),
        cards=cards,
        transactions=tx,
        source="members only, program older than the data, issue dates unknown",
    )


def no_program_world(ds: Dataset, *, store: str, offset: int) -> pd.DataFrame:
    """The receipts the generator's customers make without any program (its counterfactual).

    Customer and transaction ids are shifted by ``offset`` so that several worlds can share a table.
    """
    cf = ds.truth_tables["transactions"].set_index("transaction_id").reindex(ds.transactions["transaction_id"])
    keep = ~cf["incremental"].to_numpy(bool)
    tx = ds.transactions[keep].copy()
    cf = cf[keep]
    tx["gross_amount"] = cf["cf_gross_amount"].to_numpy(float)
    tx["amount"] = cf["cf_amount"].to_numpy(float)
    tx["discount_amount"] = (tx["gross_amount"] - tx["amount"]).round(2).clip(lower=0)
    tx["amount"] = tx["gross_amount"] - tx["discount_amount"]
    if "discount_rate" in tx:
        tx["discount_rate"] = np.where(tx["gross_amount"] > 0, tx["discount_amount"] / tx["gross_amount"], 0.0)
    tx["card_id"] = pd.array([pd.NA] * len(tx), dtype="Int64")
    tx["store_id"] = store
    tx["customer_id"] += offset
    tx["transaction_id"] += offset
    return tx.reset_index(drop=True)


def chain(launching: Dataset, others: list[Dataset]) -> Dataset:
    """One branch launches the program (issue dates unknown); the other branches never run it.

    The launching branch keeps its receipts, cards (without issue dates) and cost ledger; every
    other branch is the no-program world of another generated branch, its customers identified
    but never members. Store ids become ``"A"`` (launching), ``"B"``, ``"C"``...
    """
    parts = [launching.transactions.assign(store_id="A")]
    customers = [launching.customers.assign(home_store_id="A")]
    for i, ds in enumerate(others):
        store, offset = chr(ord("B") + i), 10_000_000 * (i + 1)
        tx = no_program_world(ds, store=store, offset=offset)
        parts.append(tx)
        c = ds.customers.assign(home_store_id=store, customer_id=ds.customers["customer_id"] + offset)
        customers.append(c[c["customer_id"].isin(set(tx["customer_id"]))])
    return Dataset(
        customers=pd.concat(customers, ignore_index=True),
        cards=launching.cards.assign(issued_date=pd.NaT, store_id="A"),
        transactions=pd.concat(parts, ignore_index=True),
        program_costs=launching.program_costs,
        source="a chain: branch A launches the program, the others never run it",
    )


#: The data shapes the notebook runs of 06 and 07 use: name -> how to build it from the generator.
SHAPES = {
    # members only, card issue dates known, a year before the launch: the event study
    "members_issue_dates": lambda: members_only(synth.generate(n_customers=2000, seed=5), truth=False),
    # the generator's members-only export: program older than the data, issue dates unknown, USD
    "members_only": lambda: synth.generate("members_only", n_customers=1500, seed=5),
    # walk-ins: anonymous receipts, four branches of which one launches the program
    "walk_ins": lambda: synth.generate("walk_ins", n_customers=2000, seed=3),
}


def shape_folder(shape: str, root) -> object:
    """Write one of :data:`SHAPES` as a contract folder under ``root`` (once) and return its path."""
    from pathlib import Path

    from loyalty_lib import io

    folder = Path(root) / shape
    if not (folder / "transactions.parquet").exists():
        io.save(SHAPES[shape](), folder)
    return folder


def established_card_panel(ds: Dataset) -> pd.DataFrame:
    """Customer-month panel of the customers seen before the data start, treatment timed from the card.

    Besides ``revenue`` it carries the planted no-program ``cf_revenue`` and ``cf_visits`` (and their
    ``_card`` parts), so a test can run a design on the world without the program (true effect 0).
    """
    from loyalty_lib.metrics import impact as im

    period = ds.truth["period"]
    tx = im.counterfactual_columns(ds.transactions, ds.truth_tables["transactions"])
    est = ds.customers.loc[ds.customers["first_seen"] < pd.Timestamp(period["start"]), "customer_id"]
    panel = im.customer_month_panel(
        tx[tx["customer_id"].isin(est)],
        customers=ds.customers[ds.customers["customer_id"].isin(est)],
        start=period["start"],
        end=period["end"],
        values={"revenue": "amount", "cf_revenue": "cf_amount", "cf_visits": "cf_visit"},
        cards=ds.cards,
    )
    return im.add_treatment(panel, ds.cards, launch=period["launch"])


def hand_card_panel(months=None) -> pd.DataFrame:
    """Three customers over three months, small enough to work the impact designs out by hand.

    January is before the launch, February and March after. Member A got a card on 14 February
    (28 days): with a card from 15 February, 14/28 = 0.5 of February and all of March; B and C
    never got one. ``months`` gives the three month labels (default the month starts of 2026).
    """
    months = pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"]) if months is None else months
    return pd.DataFrame(
        {
            "customer_id": list("AAABBBCCC"),
            "month": list(months) * 3,
            "revenue": [10.0, 30, 40, 5, 7, 9, 15, 11, 21],
            "revenue_card": [0.0, 20, 40] + [0.0] * 6,
            "visits": [1, 3, 2, 1, 1, 1, 1, 1, 2],
            "visits_card": [0, 2, 2] + [0] * 6,
            "card_exposure": [0.0, 0.5, 1.0] + [0.0] * 6,
            "post": [False, True, True] * 3,
        }
    )
