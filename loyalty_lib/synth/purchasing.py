"""Purchasing piece: when customers buy, where, from whom, and how much (before any program)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalty_lib.synth.arrays import rank_within
from loyalty_lib.synth.population import stores_and_sellers
from loyalty_lib.synth.scenario import Scenario


def base_visits(latent: pd.DataFrame, sc: Scenario, rng: np.random.Generator) -> pd.DataFrame:
    """Visits of the no-program world: a Poisson process per customer at its own rate.

    New customers' first visit is their arrival day; established customers buy from the data
    start. Counts are Poisson and times uniform within each customer's window (vectorised).

    Returns
    -------
    pandas.DataFrame
        ``cust`` (row position in ``latent``), ``t`` (days from the data start), sorted by
        customer then time.
    """
    days = float(sc.pre_days + sc.post_days)
    arrival = latent["arrival_day"].to_numpy()
    begin = np.maximum(arrival, 0.0)
    length = days - begin
    counts = rng.poisson(latent["rate"].to_numpy() * length)
    cust = np.repeat(np.arange(len(latent)), counts)
    t = np.repeat(begin, counts) + rng.random(counts.sum()) * np.repeat(length, counts)
    new = arrival >= 0
    cust = np.concatenate([cust, np.flatnonzero(new)])
    t = np.concatenate([t, arrival[new]])
    order = np.lexsort((t, cust))
    cust, t = cust[order], t[order]
    if sc.dropout_a is not None:
        # after each repeat purchase the customer leaves for good with probability p, exactly as
        # in the BG/NBD model (which lets nobody leave right after the first purchase): the
        # number of repeat purchases before leaving is geometric, so keep the first purchase
        # and the next N
        p = rng.beta(sc.dropout_a, sc.dropout_b, len(latent))
        n_repeat = rng.geometric(p)
        keep = rank_within(cust) <= n_repeat[cust]
        cust, t = cust[keep], t[keep]
    return pd.DataFrame({"cust": cust, "t": t})


def visit_context(
    cust: np.ndarray, latent: pd.DataFrame, customers: pd.DataFrame, sc: Scenario, rng: np.random.Generator
) -> pd.DataFrame:
    """Channel, store and seller of each visit.

    Offline visits happen mostly (``home_store_prob``) at the customer's home store, served by
    one of its sellers; deliveries are served by a courier and booked to the delivery hub
    ``DLV``, or to the home store when ``delivery_from_home_store`` is set.

    Returns
    -------
    pandas.DataFrame
        ``channel, store_id, seller_id`` aligned with ``cust``.
    """
    n = len(cust)
    b2b = latent["b2b"].to_numpy()[cust]
    p_del = np.where(b2b, sc.delivery_share["b2b"], sc.delivery_share["b2c"])
    delivery = rng.random(n) < p_del
    stores, sellers, seller_store = stores_and_sellers(sc)
    home = pd.Index(stores).get_indexer(customers["home_store_id"].to_numpy())[cust]
    store = np.where(rng.random(n) < sc.home_store_prob, home, rng.integers(0, len(stores), n))
    store_sellers = np.flatnonzero(seller_store != "DLV").reshape(len(stores), sc.sellers_per_store)
    seller = store_sellers[store, rng.integers(0, sc.sellers_per_store, n)]
    couriers = np.flatnonzero(seller_store == "DLV")
    seller = np.where(delivery, couriers[rng.integers(0, len(couriers), n)], seller)
    # categorical columns built from integer codes: no per-row string work, even at 10M receipts
    return pd.DataFrame(
        {
            "channel": pd.Categorical.from_codes(delivery.astype(np.int8), ["offline", "delivery"]),
            "store_id": pd.Categorical.from_codes(
                np.where(delivery, home if sc.delivery_from_home_store else len(stores), store), [*stores, "DLV"]
            ),
            "seller_id": pd.Categorical.from_codes(seller, list(sellers)),
        }
    )


def draw_baskets(cust: np.ndarray, latent: pd.DataFrame, sc: Scenario, rng: np.random.Generator) -> np.ndarray:
    """Gross check of each visit in the no-program world (log-normal around the customer's scale)."""
    s = sc.basket_visit_sigma
    scale = latent["basket_scale"].to_numpy()[cust]
    return scale * np.exp(s * rng.standard_normal(len(cust)) - s**2 / 2)
