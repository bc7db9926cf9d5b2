"""Campaign piece: monthly contacts to opted-in members with a randomised holdout."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from loyalty_lib.schema import CONTACT_CHANNELS
from loyalty_lib.synth.scenario import Scenario

#: Mean delay (days) between a treated contact and the visit it brings (capped at the window).
RESPONSE_DELAY_MEAN_DAYS = 4.0

ROUTINE_OFFERS = np.array(
    ["cross_sell", "up_sell", "similar_clients", "personal_discount", "replenishment", "subscription"]
)


def last_visit_before(keys_sorted: np.ndarray, cust: np.ndarray, t: np.ndarray, span: float) -> np.ndarray:
    """Time of each (cust, t) query's last visit before ``t`` (NaN if none), by binary search.

    ``keys_sorted`` are visit keys ``cust * span + t`` in increasing order.
    """
    q = cust * span + t
    pos = np.searchsorted(keys_sorted, q, side="left") - 1
    prev = np.where(pos >= 0, keys_sorted[np.maximum(pos, 0)], np.nan)
    same = np.floor(prev / span) == cust
    return np.where(same & (pos >= 0), prev - cust * span, np.nan)


def wave_times(sc: Scenario) -> list[tuple[pd.Timestamp, float]]:
    """The campaign waves: the 5th of each post-launch month, as a date and as days from the data start."""
    months = pd.date_range(sc.t_launch, sc.t_end, freq="MS", inclusive="left") + pd.Timedelta(days=4)
    return [(wave, float((wave - sc.t_start).days)) for wave in months]


def contact_probability(members: pd.DataFrame, n_customers: int, sc: Scenario, rate: np.ndarray | None = None):
    """Each customer's chance of being contacted in a wave (see :func:`contacts` on targeting)."""
    cust_all = members["cust"].to_numpy()
    p_contact = np.full(n_customers, sc.contact_prob)
    if sc.campaign_targeting and rate is not None and len(cust_all):
        lr = np.log(rate)
        p_contact = expit(logit(sc.contact_prob) + sc.campaign_targeting * (lr - lr[cust_all].mean()))
    return p_contact


def wave_contacts(
    wave: pd.Timestamp,
    tw: float,
    members: pd.DataFrame,
    customers: pd.DataFrame,
    p_contact: np.ndarray,
    last_visit: Callable[[np.ndarray, float], np.ndarray],
    sc: Scenario,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The contacts of one wave (see :func:`contacts`).

    ``last_visit(cust, tw)`` gives each customer's last visit before ``tw`` (NaN if none), which
    makes a win-back offer after 60 days without a visit.

    Returns
    -------
    pandas.DataFrame
        ``cust, t, channel, offer_type, treated`` (possibly no rows).
    """
    opt = customers[[f"opt_in_{c}" for c in CONTACT_CHANNELS]].to_numpy(dtype=bool)
    cust_all = members["cust"].to_numpy()
    m = cust_all[(members["t_issue"].to_numpy() < tw) & opt[cust_all].any(axis=1)]
    m = m[rng.random(len(m)) < p_contact[m]]
    # a random opted-in channel: argmax of random keys over allowed channels
    keys = np.where(opt[m], rng.random((len(m), len(CONTACT_CHANNELS))), -1.0)
    channel = np.asarray(CONTACT_CHANNELS)[keys.argmax(axis=1)]
    last = last_visit(m, tw)
    offer = ROUTINE_OFFERS[rng.integers(0, len(ROUTINE_OFFERS), len(m))]
    offer = np.where(tw - np.nan_to_num(last, nan=-1e9) > 60, "win_back", offer)
    offer = np.where(customers["birthday"].dt.month.to_numpy()[m] == wave.month, "birthday", offer)
    return pd.DataFrame(
        {
            "cust": m,
            "t": tw + rng.random(len(m)) * 0.5,
            "channel": channel,
            "offer_type": offer,
            "treated": rng.random(len(m)) >= sc.holdout_share,
        }
    )


def contacts(
    members: pd.DataFrame,
    customers: pd.DataFrame,
    visit_keys: np.ndarray,
    span: float,
    sc: Scenario,
    rng: np.random.Generator,
    rate: np.ndarray | None = None,
) -> pd.DataFrame:
    """Draw campaign contacts: one wave on the 5th of each post-launch month.

    Each opted-in member already holding a card is contacted with ``contact_prob`` through one
    of the channels they opted in to; with ``campaign_targeting`` > 0 the heavier buyers are
    chosen more often (log-odds of contact rise by ``campaign_targeting`` per log of the visit
    rate ``rate``, relative to the members' geometric mean), as in a campaign sent to the best
    customers. The offer is a birthday offer in the birthday month, a
    win-back after 60 days without a visit, otherwise a routine offer. A random
    ``holdout_share`` is held out (not contacted) to measure uplift. All visits are known
    beforehand (``visit_keys``); :func:`wave_contacts` draws one wave when visits are simulated
    wave by wave.

    Returns
    -------
    pandas.DataFrame
        ``cust, t, channel, offer_type, treated``.
    """
    p_contact = contact_probability(members, len(customers), sc, rate)

    def last(m: np.ndarray, tw: float) -> np.ndarray:
        return last_visit_before(visit_keys, m.astype(float), np.full(len(m), tw), span)

    waves = wave_times(sc) or [(sc.t_launch, -np.inf)]  # no post-launch month: no contacts
    frames = [wave_contacts(w, tw, members, customers, p_contact, last, sc, rng) for w, tw in waves]
    return pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)


def campaign_visits(offers: pd.DataFrame, sc: Scenario, rng: np.random.Generator) -> pd.DataFrame:
    """Extra visits caused by treated contacts (they do not exist without the program).

    Returns
    -------
    pandas.DataFrame
        ``offer_row, cust, t`` of each caused visit, within the response window.
    """
    p = (
        offers["offer_type"].map(sc.extra_visit_prob).to_numpy()
        * offers["channel"].map(sc.channel_multiplier).to_numpy()
    )
    hit = offers["treated"].to_numpy() & (rng.random(len(offers)) < p)
    delay = rng.exponential(RESPONSE_DELAY_MEAN_DAYS, len(offers))
    t = offers["t"].to_numpy() + 0.5 + np.minimum(delay, sc.response_window_days - 1)
    hit &= t < sc.pre_days + sc.post_days
    idx = np.flatnonzero(hit)
    return pd.DataFrame({"offer_row": idx, "cust": offers["cust"].to_numpy()[idx], "t": t[idx]})


def responses(offers: pd.DataFrame, visit_keys: np.ndarray, visit_amount_cum: np.ndarray, span: float, window: int):
    """Whether each contact was followed by a purchase within the window, and its net spend.

    Parameters
    ----------
    visit_keys : numpy.ndarray
        Sorted keys ``cust * span + t`` of all receipts.
    visit_amount_cum : numpy.ndarray
        Cumulative net amount in key order, with a leading 0.

    Returns
    -------
    responded : numpy.ndarray of bool
    amount : numpy.ndarray
    """
    lo = offers["cust"].to_numpy() * span + offers["t"].to_numpy()
    a = np.searchsorted(visit_keys, lo, side="right")
    b = np.searchsorted(visit_keys, lo + window, side="right")
    return b > a, visit_amount_cum[b] - visit_amount_cum[a]
