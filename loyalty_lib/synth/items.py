"""Catalogue piece: products with categories, premium variants and re-buy cycles; receipt lines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalty_lib.synth.scenario import Scenario

CATEGORIES = {
    # category: (median price, replenishment days or None)
    "paper_office": (450, 30),
    "cleaning": (320, 21),
    "coffee_tea": (520, 14),
    "water": (260, 7),
    "snacks": (180, 10),
    "hygiene": (240, 21),
    "printer_supplies": (1900, 60),
    "stationery": (150, None),
    "tableware": (700, None),
    "packaging": (380, 30),
    "small_appliances": (3900, None),
    "furniture_accessories": (2600, None),
}


def products(sc: Scenario, rng: np.random.Generator, per_category: int = 25) -> pd.DataFrame:
    """The product catalogue: ``per_category`` products per category, a quarter premium.

    Prices are those of :data:`CATEGORIES` (roubles at a median b2c check of 1,200) scaled to the
    scenario's median b2c check, so a catalogue in another currency keeps its proportions.
    """
    cats = np.repeat(list(CATEGORIES), per_category)
    scale = sc.b2c_basket_median / 1200.0
    med = np.repeat([v[0] for v in CATEGORIES.values()], per_category).astype(float) * scale
    rep = np.repeat([np.nan if v[1] is None else v[1] for v in CATEGORIES.values()], per_category)
    premium = rng.random(len(cats)) < 0.25
    digits = 0 if scale >= 0.5 else 2
    price = np.round(med * np.exp(0.35 * rng.standard_normal(len(cats))) * np.where(premium, 1.8, 1.0), digits)
    return pd.DataFrame(
        {
            "product_id": np.arange(1, len(cats) + 1, dtype=np.int64),
            "category": cats,
            "is_premium": premium,
            "list_price": price,
            "replenishment_days": rep,
        }
    )


def receipt_lines(
    transaction_id: np.ndarray,
    gross: np.ndarray,
    catalogue: pd.DataFrame,
    rng: np.random.Generator,
    *,
    line_scale: float = 400.0,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Split each gross check into receipt lines that add up to it exactly.

    Line counts grow with the check (one more line on average each time the check grows by a
    factor e above ``line_scale``, 400 roubles at Sergey's prices); products follow a skewed
    popularity; each line's share of the check is random; quantity is the line amount over the
    list price, rounded (at least 1).

    Returns
    -------
    lines : pandas.DataFrame
        The contract's ``transaction_items`` table.
    n_items : numpy.ndarray
        Lines per receipt.
    """
    n_items = 1 + rng.poisson(np.maximum(np.log(gross / line_scale), 0.0) + 0.3)
    n_items = np.minimum(n_items, 30)
    tx = np.repeat(np.arange(len(gross)), n_items)
    pop = 1.0 / np.arange(1, len(catalogue) + 1) ** 0.8
    prod = rng.permutation(len(catalogue))[rng.choice(len(catalogue), len(tx), p=pop / pop.sum())]
    w = rng.exponential(1.0, len(tx))
    starts = np.concatenate([[0], np.cumsum(n_items)[:-1]])
    share = w / np.repeat(np.add.reduceat(w, starts), n_items)
    line = np.round(np.repeat(gross, n_items) * share, 2)
    # the last line of each receipt takes the rounding remainder, so lines add up to the check
    last = np.cumsum(n_items) - 1
    line[last] += np.round(gross - np.add.reduceat(line, starts), 2)
    line = np.round(np.maximum(line, 0.0), 2)
    price = catalogue["list_price"].to_numpy()[prod]
    qty = np.maximum(np.round(line / price), 1).astype(np.int64)
    lines = pd.DataFrame(
        {
            "transaction_item_id": np.arange(1, len(tx) + 1, dtype=np.int64),
            "transaction_id": transaction_id[tx],
            "product_id": catalogue["product_id"].to_numpy()[prod],
            "quantity": qty,
            "unit_price": np.round(line / qty, 2),
            "line_amount": line,
        }
    )
    return lines, n_items
