"""Surveys piece: NPS/CSAT after card use, driven by latent satisfaction (which also drives visits)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from loyalty_lib.synth.arrays import rank_within
from loyalty_lib.synth.scenario import Scenario

# An NPS answer is round(NPS_CENTRE + NPS_PER_SD * satisfaction + normal noise of sd NPS_NOISE), clipped to 0-10.
NPS_CENTRE, NPS_PER_SD, NPS_NOISE = 8.0, 1.8, 1.2


def expected_nps(sat_z) -> np.ndarray:
    """Planted NPS contribution of an answer by a client of latent satisfaction ``sat_z``.

    An answer is a promoter (9-10) when the unrounded score reaches 8.5 and a detractor (0-6)
    below 6.5, so its expected contribution is ``100 * (P(promoter) - P(detractor))``; the mean
    over the answers of a survey table is the NPS the generator planted for those respondents.

    Parameters
    ----------
    sat_z : array-like
        Latent satisfaction (standard normal across the population).

    Returns
    -------
    numpy.ndarray
        Points, from -100 to 100.

    Examples
    --------
    >>> round(float(expected_nps(0.0)), 1)
    23.3
    """
    mu = NPS_CENTRE + NPS_PER_SD * np.asarray(sat_z, dtype=float)
    promoter = sps.norm.sf((8.5 - mu) / NPS_NOISE)
    detractor = sps.norm.cdf((6.5 - mu) / NPS_NOISE)
    return 100 * (promoter - detractor)


def surveys(card_tx: pd.DataFrame, sat_z: np.ndarray, sc: Scenario, rng: np.random.Generator) -> pd.DataFrame:
    """Survey answers after the first card use, after the 5th, and periodically.

    Parameters
    ----------
    card_tx : pandas.DataFrame
        ``transaction_id, customer_id, cust, date`` of card receipts sorted by customer and date.
    sat_z : numpy.ndarray
        Latent satisfaction per customer row.

    Returns
    -------
    pandas.DataFrame
        The contract's ``surveys`` table.
    """
    cust = card_tx["cust"].to_numpy()
    rank = rank_within(cust)
    u = rng.random(len(cust))
    first = (rank == 0) & (u < sc.survey_first_use_prob)
    repeat = (rank == 4) & (u < sc.survey_repeat_prob)
    periodic = (rank > 0) & (rank != 4) & (u < sc.survey_periodic_prob)
    pick = first | repeat | periodic
    stage = np.where(first, "after_first_use", np.where(repeat, "after_repeat", "periodic"))[pick]
    z = sat_z[cust[pick]]
    n = int(pick.sum())
    nps = np.clip(np.round(NPS_CENTRE + NPS_PER_SD * z + rng.normal(0, NPS_NOISE, n)), 0, 10).astype(np.int64)
    csat = np.clip(np.round(4.0 + 0.7 * z + rng.normal(0, 0.6, n)), 1, 5).astype(np.int64)
    date = card_tx["date"].to_numpy()[pick] + pd.to_timedelta(rng.integers(1, 4, n), unit="D").to_numpy()
    out = pd.DataFrame(
        {
            "customer_id": card_tx["customer_id"].to_numpy()[pick],
            "date": date,
            "transaction_id": card_tx["transaction_id"].to_numpy()[pick],
            "stage": stage,
            "nps": nps,
            "csat": csat,
        }
    )
    end = sc.t_end
    out = out[out["date"] < end].sort_values("date", kind="stable").reset_index(drop=True)
    out.insert(0, "survey_id", np.arange(1, len(out) + 1, dtype=np.int64))
    return out
