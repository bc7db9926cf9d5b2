"""Costs piece: the program's cost ledger by month and category."""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalty_lib.synth.scenario import Scenario


def cost_ledger(
    tx: pd.DataFrame,
    cards: pd.DataFrame,
    ledger: pd.DataFrame | None,
    offers: pd.DataFrame,
    n_printed: int,
    sc: Scenario,
) -> pd.DataFrame:
    """Monthly program costs: printing and set-up at launch, discounts, rewards, contacts, seller bonuses.

    Returns
    -------
    pandas.DataFrame
        The contract's ``program_costs`` table.
    """
    month = lambda d: d.dt.to_period("M").dt.to_timestamp()  # noqa: E731
    parts = [
        pd.DataFrame(
            {
                "date": [sc.t_launch, sc.t_launch],
                "category": ["card_printing", "other"],
                "amount": [n_printed * sc.card_print_cost, sc.setup_cost],
                "description": [f"{n_printed:,} cards printed", "card design and till software set-up"],
            }
        )
    ]
    disc = tx[tx["discount_amount"] > 0]
    parts.append(
        disc.groupby(month(disc["date"]))["discount_amount"]
        .sum()
        .rename("amount")
        .reset_index()
        .assign(category="discounts", description="tier discounts given on card receipts")
    )
    if ledger is not None and len(ledger):
        red = ledger[ledger["entry_type"] == "redemption"]
        parts.append(
            red.groupby(month(red["date"]))["value"]
            .sum()
            .rename("amount")
            .reset_index()
            .assign(category="rewards", description="rewards redeemed")
        )
    sent = offers[offers["group"] == "treatment"]
    parts.append(
        sent.assign(amount=sent["channel"].map(sc.contact_cost))
        .groupby(month(sent["date"]))["amount"]
        .sum()
        .reset_index()
        .assign(category="communications", description="campaign contacts")
    )
    issued = cards[cards["issued_date"].notna()]
    parts.append(
        issued.assign(amount=sc.seller_bonus_per_card)
        .groupby(month(issued["issued_date"]))["amount"]
        .sum()
        .reset_index()
        .rename(columns={"issued_date": "date"})
        .assign(category="staff", description="seller bonus per card issued")
    )
    out = pd.concat([p.rename(columns={p.columns[0]: "date"}) for p in parts], ignore_index=True)
    out["amount"] = np.round(out["amount"].astype(float), 2)
    out = out.sort_values(["date", "category"], kind="stable").reset_index(drop=True)
    out.insert(0, "cost_id", np.arange(1, len(out) + 1, dtype=np.int64))
    return out[["cost_id", "date", "category", "amount", "description"]]
