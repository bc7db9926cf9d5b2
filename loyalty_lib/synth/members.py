"""Member piece: what a card changes in a holder's visits (frequency uplift, stamp-card goal gradient)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalty_lib.synth.scenario import Scenario


def member_visits(
    joins: pd.DataFrame,
    latent: pd.DataFrame,
    card_use_prob: np.ndarray,
    sc: Scenario,
    rng: np.random.Generator,
    progress=None,
) -> pd.DataFrame:
    """Visits of active card holders after the card is issued.

    The visit rate is the customer's own rate times ``1 + uplift_frequency``, and, in the stamp
    card, times ``exp(goal_gradient * stamps held)``: clients come sooner as the reward nears.
    Each visit also records whether it would have happened without the program, by thinning
    (kept with probability base rate / actual rate), which gives the exact counterfactual.
    The loop runs over the visit number, vectorised across all holders at once.

    Parameters
    ----------
    joins : pandas.DataFrame
        ``cust, t_issue`` of active holders.
    latent : pandas.DataFrame
    card_use_prob : numpy.ndarray
        Per-customer probability of showing the card (aligned with ``latent``).
    sc : Scenario
    rng : numpy.random.Generator
    progress : tqdm-like, optional
        Receives ``update(1)`` per visit round.

    Returns
    -------
    pandas.DataFrame
        ``cust, t, card_used, stamps_before, cf_exists``.
    """
    days = float(sc.pre_days + sc.post_days)
    cust = joins["cust"].to_numpy()
    t = joins["t_issue"].to_numpy().astype(float)
    base = latent["rate"].to_numpy()[cust]
    use = card_use_prob[cust]
    s = np.zeros(len(cust), dtype=np.int64)
    g = sc.goal_gradient if sc.reward == "stamps" else 0.0
    out = []
    while len(cust):
        rate = base * (1 + sc.uplift_frequency) * np.exp(g * s)
        t = t + rng.exponential(1.0 / rate)
        alive = t < days
        cust, t, base, use, s, rate = (a[alive] for a in (cust, t, base, use, s, rate))
        used = rng.random(len(cust)) < use
        cf = rng.random(len(cust)) < base / rate
        out.append(pd.DataFrame({"cust": cust, "t": t, "card_used": used, "stamps_before": s, "cf_exists": cf}))
        if sc.reward == "stamps":
            s = np.where(used, s + 1, s)
            s = np.where(s >= sc.reward_every, 0, s)
        if progress is not None:
            progress.update(0)
    if not out:
        return pd.DataFrame(
            {
                "cust": np.array([], dtype=np.int64),
                "t": np.array([], dtype=float),
                "card_used": np.array([], dtype=bool),
                "stamps_before": np.array([], dtype=np.int64),
                "cf_exists": np.array([], dtype=bool),
            }
        )
    return pd.concat(out, ignore_index=True)
