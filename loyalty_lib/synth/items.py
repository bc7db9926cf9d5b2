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


def _popularity(n_products: int) -> np.ndarray:
    """Skewed product popularity (Zipf-like, exponent 0.8), summing to 1, in catalogue-rank order."""
    pop = 1.0 / np.arange(1, n_products + 1) ** 0.8
    return pop / pop.sum()


def repertoires(
    n_customers: int, catalogue: pd.DataFrame, size: int, popularity: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Each customer's repertoire: the ``size`` products (catalogue rows) they keep coming back to.

    A customer has two favourite categories (drawn by the categories' popularity): half of the
    repertoire comes from the first, a quarter from the second and the rest from the whole
    catalogue, each product drawn by its popularity. Repeats within a repertoire are allowed (a
    customer with a narrow taste).

    Parameters
    ----------
    n_customers : int
    catalogue : pandas.DataFrame
        The ``products`` table (``category``).
    size : int
        Products per repertoire.
    popularity : numpy.ndarray
        Popularity of each catalogue row (sums to 1).
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        ``(n_customers, size)`` catalogue row numbers.
    """
    n = len(catalogue)
    pop = np.asarray(popularity, dtype=float)
    cats, cat_of = np.unique(catalogue["category"].to_numpy(), return_inverse=True)
    cat_pop = np.bincount(cat_of, pop, minlength=len(cats))
    order = np.lexsort((np.arange(n), cat_of))  # rows grouped by category
    cum_in = np.zeros(n)
    for c in range(len(cats)):  # a dozen categories: cumulative popularity within each
        rows = order[cat_of[order] == c]
        cum_in[rows] = np.cumsum(pop[rows]) / pop[rows].sum()
    starts = np.searchsorted(cat_of[order], np.arange(len(cats)))
    counts = np.bincount(cat_of, minlength=len(cats))

    def draw_in(cat: np.ndarray, k: int) -> np.ndarray:
        u = rng.random((len(cat), k))
        out = np.empty((len(cat), k), dtype=np.int64)
        for c in range(len(cats)):
            who = cat == c
            rows = order[starts[c] : starts[c] + counts[c]]
            out[who] = rows[np.minimum(np.searchsorted(cum_in[rows], u[who]), counts[c] - 1)]
        return out

    fav = rng.choice(len(cats), (n_customers, 2), p=cat_pop / cat_pop.sum())
    k1, k2 = size // 2, size // 4
    glob = rng.choice(n, (n_customers, size - k1 - k2), p=pop / pop.sum())
    return np.hstack([draw_in(fav[:, 0], k1), draw_in(fav[:, 1], k2), glob])


def receipt_lines(
    transaction_id: np.ndarray,
    gross: np.ndarray,
    catalogue: pd.DataFrame,
    rng: np.random.Generator,
    *,
    line_scale: float = 400.0,
    customer: np.ndarray | None = None,
    n_customers: int = 0,
    repertoire_size: int = 8,
    repertoire_share: float = 0.0,
    taste_rng: np.random.Generator | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Split each gross check into receipt lines that add up to it exactly.

    Line counts grow with the check (one more line on average each time the check grows by a
    factor e above ``line_scale``, 400 roubles at Sergey's prices); products follow a skewed
    popularity; each line's share of the check is random; quantity is the line amount over the
    list price, rounded (at least 1). With ``repertoire_share`` above 0 (and ``customer``, the
    customer row of each receipt), that share of a customer's lines are products of their own
    repertoire (:func:`repertoires`, drawn with ``taste_rng``, so every draw of ``rng``, and
    every other table, is the same as without it): the personal taste a recommender can learn.

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
    rank_to_row = rng.permutation(len(catalogue))
    prod = rank_to_row[rng.choice(len(catalogue), len(tx), p=_popularity(len(catalogue)))]
    if repertoire_share > 0:
        row_pop = np.empty(len(catalogue))
        row_pop[rank_to_row] = _popularity(len(catalogue))
        repertoire = repertoires(n_customers, catalogue, repertoire_size, row_pop, taste_rng)
        own = taste_rng.random(len(tx)) < repertoire_share
        # earlier products of the repertoire are the favourites: weights 1, 1/2, 1/3 ...
        w = 1.0 / np.arange(1, repertoire.shape[1] + 1)
        slot = np.searchsorted(np.cumsum(w) / w.sum(), taste_rng.random(len(tx)))
        prod = np.where(own, repertoire[customer[tx], np.minimum(slot, repertoire.shape[1] - 1)], prod)
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
