"""How customers respond to a program: the simulator's behavioural parameters and their sources.

:class:`Responses` holds one value per response. :data:`PRIORS` gives each response a default,
a plausible low-high range and its source when the data cannot measure it; calibration
(:func:`loyalty_lib.simulate.calibrate`) replaces what the data identify and records where each
value came from in a table with the columns of :data:`RANGE_COLUMNS`. The range is used twice:
every simulated seed draws the uncertain responses from it (so the spread over seeds carries the
uncertainty of the responses, not only the luck of the draw), and the tornado chart moves one
response at a time to its low and high ends.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd

__all__ = ["BOUNDS", "PRIORS", "RANGE_COLUMNS", "Responses", "draw_responses", "prior_ranges"]


@dataclass(frozen=True)
class Responses:
    """Behavioural responses to a program, each a plain number (see docs/program_design.md).

    Attributes
    ----------
    visit_uplift : float
        Relative rise of a member's visit rate from holding the card (0.1: 10 % more visits).
        Applies to programs that give members something at each purchase (discount, points,
        stamps), not to a referral bonus alone.
    check_uplift : float
        Relative rise of a member's check when the card is shown (before any bunching above a
        tier threshold).
    giveback_reference : float
        Share of members' spending the program whose uplifts were measured gives back
        (discounts and rewards); the uplifts above hold for a program that generous.
    giveback_elasticity : float
        How the uplifts scale with a variant's give-back ``g``: times ``(g /
        giveback_reference) ** giveback_elasticity`` (0: every card works alike; 1: in
        proportion to what it gives back; capped at 3 times).
    take_up : float
        Probability that a buyer at the population's typical visit rate takes a card at a visit.
    never_join : float
        Share of customers who never take a card, however often they buy.
    selection : float
        Self-selection: log-odds of taking a card per log of the buyer's visit rate (heavier
        buyers join more; 0 means no selection).
    card_use : float
        Share of a member's visits at which the card is shown (discount and points only then).
    bunching_prob : float
        Probability that a card check within ``bunching_window`` below a tier threshold is
        topped up to just above it.
    bunching_window : float
        How far below a threshold (share of it) a check can be topped up.
    bunching_landing : float
        A topped-up check lands uniformly within this share above the threshold.
    goal_gradient : float
        Log of the visit-rate rise from an empty card to a full one (stamps or points held as a
        share of the next reward); 0.2 means about 22 % more visits just before a reward.
    redemption : float
        Share of members who redeem their rewards (the others let them lapse: breakage).
    referral_rate : float
        New customers a member brings per year under a referral bonus.
    referral_deadweight : float
        Share of referred newcomers who would have come anyway.
    """

    visit_uplift: float = 0.05
    check_uplift: float = 0.02
    giveback_reference: float = 0.05
    giveback_elasticity: float = 0.5
    take_up: float = 0.02
    never_join: float = 0.3
    selection: float = 0.5
    card_use: float = 0.8
    bunching_prob: float = 0.2
    bunching_window: float = 0.15
    bunching_landing: float = 0.05
    goal_gradient: float = 0.2
    redemption: float = 0.7
    referral_rate: float = 0.1
    referral_deadweight: float = 0.3

    def __post_init__(self):
        bad = [
            f"{f.name}={getattr(self, f.name)} (allowed {BOUNDS[f.name][0]} to {BOUNDS[f.name][1]})"
            for f in fields(self)
            if not BOUNDS[f.name][0] <= getattr(self, f.name) <= BOUNDS[f.name][1]
        ]
        if bad:
            raise ValueError("Responses: out of range: " + "; ".join(bad))

    def with_(self, **kw) -> Responses:
        """Return a copy with some responses changed."""
        return replace(self, **kw)


#: Allowed range of each response (a value outside raises; seed draws are clipped to it).
BOUNDS: dict[str, tuple[float, float]] = {
    "visit_uplift": (-0.5, 2.0),
    "check_uplift": (-0.5, 2.0),
    "giveback_reference": (0.0, 1.0),
    "giveback_elasticity": (0.0, 2.0),
    "take_up": (0.0, 1.0),
    "never_join": (0.0, 1.0),
    "selection": (-3.0, 3.0),
    "card_use": (0.0, 1.0),
    "bunching_prob": (0.0, 1.0),
    "bunching_window": (0.0, 0.5),
    "bunching_landing": (0.0, 0.5),
    "goal_gradient": (0.0, 2.0),
    "redemption": (0.0, 1.0),
    "referral_rate": (0.0, 12.0),
    "referral_deadweight": (0.0, 1.0),
}

#: Default, low, high and source of each response when the data cannot measure it.
PRIORS: dict[str, tuple[float, float, float, str]] = {
    "visit_uplift": (
        0.05,
        0.0,
        0.15,
        "prior: studies of grocery and retail programs find small effects on visit frequency, a few per cent, "
        "seldom above 15 % (Liu 2007; Meyer-Waarden 2007; Dorotic et al. 2012 review)",
    ),
    "check_uplift": (
        0.02,
        0.0,
        0.08,
        "prior: effects on basket size are smaller than on frequency in the same studies",
    ),
    "giveback_reference": (
        0.05,
        0.05,
        0.05,
        "prior: the uplift priors are read as those of a program giving back about 5 % of members' spending",
    ),
    "giveback_elasticity": (
        0.5,
        0.0,
        1.0,
        "prior: an assumption, since data on one program cannot show how the effect grows with generosity; "
        "0.5 is a middle way between every card working alike (0) and an effect in proportion to what it "
        "gives back (1)",
    ),
    "take_up": (
        0.02,
        0.01,
        0.04,
        "prior: about 2 % of visits end with a card taken (a seller offers it at a minority of purchases, "
        "and a minority of those offered accept)",
    ),
    "never_join": (
        0.3,
        0.1,
        0.5,
        "prior: a share of buyers refuse any card (privacy, one more card in the wallet)",
    ),
    "selection": (
        0.5,
        0.0,
        1.0,
        "prior: heavier buyers take a card more often (every program study reports it); log-odds per log visit rate",
    ),
    "card_use": (0.8, 0.6, 0.95, "prior: members forget or do not show the card at some purchases"),
    "bunching_prob": (
        0.15,
        0.0,
        0.3,
        "prior: a minority of checks just below a threshold are topped up (bunching at price and "
        "discount thresholds is common but small)",
    ),
    "bunching_window": (0.15, 0.15, 0.15, "fixed: the window the bunching estimator reads (15 % below)"),
    "bunching_landing": (0.05, 0.05, 0.05, "fixed: the window the bunching estimator reads (5 % above)"),
    "goal_gradient": (
        0.2,
        0.0,
        0.4,
        "prior: coffee-card members bought about a fifth faster as the reward neared (Kivetz, Urminsky & Zheng 2006)",
    ),
    "redemption": (
        0.7,
        0.5,
        0.9,
        "prior: industry reports put the share of rewards never redeemed (breakage) at 10-50 %",
    ),
    "referral_rate": (
        0.1,
        0.02,
        0.3,
        "prior: a small share of members refer anybody; a tenth of a newcomer per member-year",
    ),
    "referral_deadweight": (
        0.3,
        0.1,
        0.5,
        "prior: some referred customers would have come anyway (Schmitt, Skiera & Van den Bulte 2011 "
        "found referred customers similar to others in who they are)",
    ),
}

RANGE_COLUMNS = ["response", "value", "low", "high", "source", "measured"]


def prior_ranges() -> pd.DataFrame:
    """The priors as a range table (every response from its prior, none measured).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RANGE_COLUMNS`, one row per response, indexed by ``response``.

    Examples
    --------
    >>> prior_ranges().loc["visit_uplift", ["value", "low", "high"]].tolist()
    [0.05, 0.0, 0.15]
    """
    rows = [
        {"response": k, "value": v, "low": lo, "high": hi, "source": src, "measured": False}
        for k, (v, lo, hi, src) in PRIORS.items()
    ]
    return pd.DataFrame(rows, columns=RANGE_COLUMNS).set_index("response", drop=False)


def draw_responses(responses: Responses, ranges: pd.DataFrame | None, rng: np.random.Generator) -> Responses:
    """Draw one set of responses: each uncertain one from a normal spanning its low-high range.

    The low-high range is read as a 95 % interval (a normal with standard deviation
    ``(high - low) / 3.92`` around ``value``), clipped to :data:`BOUNDS`. Responses whose range
    has no width keep their value.

    Parameters
    ----------
    responses : Responses
        Central values.
    ranges : pandas.DataFrame or None
        Range table (columns ``low, high``, indexed by response); ``None``: no uncertainty.
    rng : numpy.random.Generator

    Returns
    -------
    Responses
    """
    if ranges is None:
        return responses
    kw = {}
    for f in fields(responses):
        v = getattr(responses, f.name)
        if f.name in ranges.index:
            lo, hi = float(ranges.at[f.name, "low"]), float(ranges.at[f.name, "high"])
            sd = (hi - lo) / 3.92
            if sd > 0:
                v = float(np.clip(v + sd * rng.standard_normal(), *BOUNDS[f.name]))
        kw[f.name] = v
    return Responses(**kw)
