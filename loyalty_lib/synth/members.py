"""Member piece: what a card changes in a holder's visits (frequency uplift, stamp-card goal gradient)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from loyalty_lib.synth.scenario import Scenario

_COLUMNS = {"cust": np.int64, "t": float, "card_used": bool, "stamps_before": np.int64, "cf_exists": bool}


def member_visits(
    joins: pd.DataFrame,
    latent: pd.DataFrame,
    card_use_prob: np.ndarray,
    sc: Scenario,
    rng: np.random.Generator,
    progress=None,
    *,
    breaks: Sequence[float] = (),
    extra_visits: Callable[[float, np.ndarray], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Visits of active card holders after the card is issued.

    The visit rate is the customer's own rate times ``1 + uplift_frequency``, and, in the stamp
    card, times ``exp(goal_gradient * stamps held)``: clients come sooner as the reward nears.
    Each visit also records whether it would have happened without the program, by thinning
    (kept with probability base rate / actual rate), which gives the exact counterfactual.
    The loop runs over the visit number, vectorised across all holders at once.

    Visits the program brings on top (a campaign contact's visit) earn a stamp too when the
    card is shown, and so change the rate from then on: at each time in ``breaks`` the
    simulation stops, asks ``extra_visits(time, last_visit)`` for the extra visits that follow
    (``last_visit``: each customer's last member visit so far, NaN if none), and counts the
    stamps of those with ``card_used`` when they happen. Between two events a holder's rate is
    constant, so restarting the waiting time there leaves the process unchanged (an exponential
    wait has no memory).

    Parameters
    ----------
    joins : pandas.DataFrame
        ``cust, t_issue`` of active holders (one row per customer).
    latent : pandas.DataFrame
    card_use_prob : numpy.ndarray
        Per-customer probability of showing the card (aligned with ``latent``).
    sc : Scenario
    rng : numpy.random.Generator
    progress : tqdm-like, optional
        Receives ``update(0)`` per visit round.
    breaks : sequence of float, optional
        Days from the data start at which ``extra_visits`` is asked, increasing.
    extra_visits : callable, optional
        ``(time, last_visit) -> DataFrame`` with ``cust, t, card_used`` of visits after
        ``time``; they are not returned here (the caller keeps them).

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
    holder = np.full(len(latent), -1, dtype=np.int64)
    holder[cust] = np.arange(len(cust))
    last = np.full(len(latent), np.nan)
    out = []

    def stamp(h: np.ndarray, used: np.ndarray) -> None:
        if sc.reward == "stamps":
            s[h] = np.where(used, s[h] + 1, s[h])
            s[h] = np.where(s[h] >= sc.reward_every, 0, s[h])

    def advance(until: np.ndarray) -> None:
        """Simulate every holder's visits up to its own time ``until``, then stop its clock there."""
        idx = np.flatnonzero(t < until)
        while len(idx):
            rate = base[idx] * (1 + sc.uplift_frequency) * np.exp(g * s[idx])
            t_next = t[idx] + rng.exponential(1.0 / rate)
            hit = t_next < until[idx]
            t[idx[~hit]] = until[idx[~hit]]
            idx, rate = idx[hit], rate[hit]
            t[idx] = t_next[hit]
            used = rng.random(len(idx)) < use[idx]
            cf = rng.random(len(idx)) < base[idx] / rate
            out.append((cust[idx], t[idx], used, s[idx], cf))
            last[cust[idx]] = t[idx]
            stamp(idx, used)
            if progress is not None:
                progress.update(0)

    pending = pd.DataFrame({"h": np.array([], dtype=np.int64), "t": np.array([], dtype=float)})
    for b in [*(x for x in breaks if x < days), days]:
        while True:  # the extra card visits before b, each holder's earliest first
            due = pending[pending["t"] < b].sort_values("t", kind="stable").drop_duplicates("h")
            if due.empty:
                break
            until = np.full(len(cust), b)
            until[due["h"].to_numpy()] = due["t"].to_numpy()
            advance(until)
            h = due["h"].to_numpy()
            stamp(h, np.ones(len(h), dtype=bool))
            pending = pending.drop(index=due.index)
        advance(np.full(len(cust), b))
        if extra_visits is not None and b < days:
            new = extra_visits(b, last)
            new = new[new["card_used"].to_numpy(dtype=bool)]
            h = holder[new["cust"].to_numpy(dtype=np.int64)]
            add = pd.DataFrame({"h": h[h >= 0], "t": new["t"].to_numpy(dtype=float)[h >= 0]})
            pending = pd.concat([pending, add], ignore_index=True)
    if not out:
        return pd.DataFrame({c: np.array([], dtype=d) for c, d in _COLUMNS.items()})
    columns = zip(*out, strict=True)
    return pd.DataFrame({c: np.concatenate(v).astype(d) for (c, d), v in zip(_COLUMNS.items(), columns, strict=True)})
