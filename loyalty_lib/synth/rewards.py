"""Rewards piece: the stamp or points ledger, built from card receipts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalty_lib.synth.scenario import Scenario


def ledger(card_tx: pd.DataFrame, sc: Scenario) -> pd.DataFrame:
    """Accrual and redemption entries for card receipts (sorted by customer and date).

    Stamps: one per card receipt, a reward worth ``reward_value`` at every ``reward_every``-th.
    Points: ``points_per_rub`` per rouble paid; each ``points_per_reward`` points are redeemed
    for a reward worth ``reward_value``. Redemptions are found from cumulative sums per customer.

    Parameters
    ----------
    card_tx : pandas.DataFrame
        ``transaction_id, customer_id, card_id, date, amount`` of card receipts, sorted by
        customer then date.

    Returns
    -------
    pandas.DataFrame
        The contract's ``points_ledger`` table.
    """
    if sc.reward == "stamps":
        earn = np.ones(len(card_tx))
        unit = sc.reward_every
    else:
        earn = np.floor(card_tx["amount"].to_numpy() * sc.points_per_rub)
        unit = sc.points_per_reward
    cust = card_tx["customer_id"].to_numpy()
    cum = np.cumsum(earn)
    start = np.r_[True, cust[1:] != cust[:-1]]
    offset = np.maximum.accumulate(np.where(start, cum - earn, 0.0))
    cum_c = cum - offset  # cumulative points per customer
    n_red = np.floor(cum_c / unit) - np.floor((cum_c - earn) / unit)
    value_per_point = sc.reward_value / unit
    acc = card_tx.assign(entry_type="accrual", points=earn, value=earn * value_per_point)
    acc = acc[acc["points"] > 0]
    red = card_tx[n_red > 0].assign(
        entry_type="redemption", points=-n_red[n_red > 0] * unit, value=n_red[n_red > 0] * sc.reward_value
    )
    out = pd.concat([acc, red], ignore_index=True).sort_values(["customer_id", "date", "entry_type"], kind="stable")
    out.insert(0, "points_entry_id", np.arange(1, len(out) + 1, dtype=np.int64))
    return out[
        ["points_entry_id", "customer_id", "card_id", "date", "transaction_id", "entry_type", "points", "value"]
    ].reset_index(drop=True)
