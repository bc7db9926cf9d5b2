"""Tiers piece: member check uplift, bunching of checks just above a tier threshold, tier discounts."""

from __future__ import annotations

import numpy as np

from loyalty_lib.synth.scenario import Scenario


def apply_tiers(
    base_gross: np.ndarray, card_used: np.ndarray, sc: Scenario, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn no-program checks into program checks for receipts where the card is shown.

    With the card, the basket is ``1 + uplift_check`` times larger; a check that lands within
    ``bunching_window`` below a threshold is topped up, with probability ``bunching_prob``, to
    just above it (uniformly within ``bunching_landing``); the tier's rate is then discounted.

    Returns
    -------
    gross : numpy.ndarray
        Gross check (2 decimals).
    rate : numpy.ndarray
        Discount rate applied (0 without the card or below the first tier).
    bunched : numpy.ndarray of int
        Index of the threshold a check was moved over, or -1.
    """
    g = np.where(card_used, base_gross * (1 + sc.uplift_check), base_gross)
    bunched = np.full(len(g), -1)
    thr = np.asarray(sc.tier_thresholds, dtype=float)
    for k, T in enumerate(thr):  # a loop over the (three) thresholds, vectorised over receipts
        near = card_used & (g >= T * (1 - sc.bunching_window)) & (g < T)
        move = near & (rng.random(len(g)) < sc.bunching_prob)
        g = np.where(move, T * (1 + sc.bunching_landing * rng.random(len(g))), g)
        bunched[move] = k
    g = np.maximum(np.round(g, 2), 0.01)
    tier = np.searchsorted(thr, g, side="right") - 1
    rates = np.concatenate([[0.0], np.asarray(sc.tier_rates, dtype=float)])
    rate = np.where(card_used, rates[tier + 1], 0.0)
    return g, rate, bunched
