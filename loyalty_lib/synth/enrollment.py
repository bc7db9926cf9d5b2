"""Enrollment piece: sellers offer cards at purchases; heavier buyers accept more; stock is finite."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from loyalty_lib.synth.population import stores_and_sellers
from loyalty_lib.synth.scenario import Scenario


def seller_offer_rates(sc: Scenario, rng: np.random.Generator) -> pd.Series:
    """Probability that each seller offers a card at a purchase (couriers offer less).

    When only some stores run the program (``program_stores``), sellers of the other stores and
    the couriers never offer a card.
    """
    _, sellers, seller_store = stores_and_sellers(sc)
    k = sc.offer_rate_concentration
    p = rng.beta(sc.offer_rate_mean * k, (1 - sc.offer_rate_mean) * k, len(sellers))
    p = np.where(seller_store == "DLV", p * sc.courier_offer_factor, p)
    if sc.program_stores is not None:
        p = np.where(np.isin(seller_store, sc.program_stores), p, 0.0)
    return pd.Series(p, index=sellers, name="offer_rate")


def accept_prob(latent: pd.DataFrame, sc: Scenario) -> np.ndarray:
    """Probability a customer accepts an offered card: rises with the visit rate (self-selection)."""
    rate = latent["rate"].to_numpy()
    ref = np.exp(np.mean(np.log(rate)))
    lo = logit(sc.accept_prob_at_mean) + sc.accept_log_odds_per_log_rate * np.log(rate / ref)
    return expit(lo + sc.accept_b2b_shift * latent["b2b"].to_numpy())


def issue_cards(
    visits: pd.DataFrame,
    latent: pd.DataFrame,
    offer_rate: pd.Series,
    n_printed: int,
    sc: Scenario,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hand out cards at post-launch purchases until the printed stock runs out.

    Parameters
    ----------
    visits : pandas.DataFrame
        Base visits with ``cust, t, channel, store_id, seller_id``, sorted by customer and time.
    latent : pandas.DataFrame
    offer_rate : pandas.Series
        Offer probability per seller.
    n_printed : int
        Cards printed.
    sc : Scenario
    rng : numpy.random.Generator

    Returns
    -------
    cards : pandas.DataFrame
        The contract's ``cards`` table (all printed cards; unissued ones without holder).
    joins : pandas.DataFrame
        ``cust, t_issue, visit_index, card_id`` of every issued card.
    """
    post = visits["t"].to_numpy() >= sc.pre_days
    offered = post & (rng.random(len(visits)) < visits["seller_id"].map(offer_rate).to_numpy())
    refuser = rng.random(len(latent)) < sc.refuse_share
    p_acc = np.where(refuser, 0.0, accept_prob(latent, sc))[visits["cust"].to_numpy()]
    accepted = offered & (rng.random(len(visits)) < p_acc)
    cand = np.flatnonzero(accepted)
    _, first = np.unique(visits["cust"].to_numpy()[cand], return_index=True)
    idx = cand[first]
    idx = idx[np.argsort(visits["t"].to_numpy()[idx], kind="stable")][:n_printed]
    joins = pd.DataFrame(
        {
            "cust": visits["cust"].to_numpy()[idx],
            "t_issue": visits["t"].to_numpy()[idx],
            "visit_index": idx,
            "card_id": np.arange(1, len(idx) + 1, dtype=np.int64),
        }
    )
    stock = np.arange(len(idx) + 1, n_printed + 1, dtype=np.int64)
    issued_date = sc.t_start + pd.to_timedelta(np.floor(joins["t_issue"].to_numpy()), unit="D")
    cards = pd.DataFrame(
        {
            "card_id": np.concatenate([joins["card_id"].to_numpy(), stock]),
            "customer_id": pd.array(
                np.concatenate([latent["customer_id"].to_numpy()[joins["cust"]], np.full(len(stock), -1)]),
                dtype="Int64",
            ),
            "issued_date": np.concatenate([issued_date.to_numpy(), np.full(len(stock), np.datetime64("NaT"))]),
            "issue_channel": np.concatenate([visits["channel"].to_numpy()[idx], np.full(len(stock), None)]),
            "store_id": np.concatenate([visits["store_id"].to_numpy()[idx], np.full(len(stock), None)]),
            "seller_id": np.concatenate([visits["seller_id"].to_numpy()[idx], np.full(len(stock), None)]),
        }
    )
    cards.loc[cards["customer_id"] < 0, "customer_id"] = pd.NA
    cards["issued_date"] = pd.to_datetime(cards["issued_date"])
    return cards, joins


def stock_out_date(joins: pd.DataFrame, n_printed: int, sc: Scenario) -> str | None:
    """ISO date the last printed card was handed out, or ``None`` when stock remains."""
    if len(joins) < n_printed or n_printed == 0:
        return None
    return (sc.t_start + pd.Timedelta(days=float(np.floor(joins["t_issue"].max())))).date().isoformat()
