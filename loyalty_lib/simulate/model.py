"""The forward simulation: a population of customers over a horizon, with and without a program.

Every variant of one seed runs on the same simulated customers and the same potential visits
(common random numbers): a pool of candidate visits is drawn once at the highest visit rate any
variant can reach, and a variant keeps a candidate when its uniform draw falls below the
customer's rate under that variant over the pool rate. The no-program world keeps the
candidates below the customer's own rate, so a member's extra visits are exactly the candidates
between the two, and the difference between a variant and the baseline is the program's doing,
not the luck of the draw. Each candidate also carries its own check-size draw, so a visit that
happens in both worlds has the same basket before the program's effect on it.

The loop runs over periods (a week by default), vectorised over all customers and visits of
the period: rewards held at the start of a period set the goal-gradient pull in it; cards are
taken at visits and count from the next period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from loyalty_lib.metrics import roi
from loyalty_lib.simulate.responses import Responses, draw_responses
from loyalty_lib.simulate.variants import NoProgram, Points, StampCard, Variant, mechanics

__all__ = [
    "MONTH_DAYS",
    "RESULT_COLUMNS",
    "Population",
    "giveback_share",
    "member_effect",
    "run",
    "simulate",
    "summarise",
]

#: Most a variant's uplifts can be scaled up for being more generous than the measured program.
MAX_GIVEBACK_FACTOR = 3.0

MONTH_DAYS = 365.25 / 12

#: Columns of one simulated variant (one row per variant and seed), money in the data's currency.
RESULT_COLUMNS = [
    "variant",
    "seed",
    "members",
    "member_months",
    "visits_baseline",
    "incremental_visits",
    "card_visits",
    "gross_baseline",
    "incremental_gross",
    "incremental_margin",
    "discounts",
    "rewards",
    "referral_bonuses",
    "printing",
    "setup",
    "communications",
    "staff",
    "cost_total",
    "net_gain",
    "roi_pct",
    "break_even_uplift_pct",
    "rewards_owed_at_end",
    "breakage",
    "referred_newcomers",
]


@dataclass(frozen=True)
class Population:
    """The customers a simulation draws from: each one's visit rate and typical check.

    A simulated customer is one of these rows drawn at random (with replacement); its visit rate
    is drawn from a gamma distribution with the row's ``rate_shape`` and mean ``rate_mean``
    (the uncertainty about that customer's rate), its checks are log-normal around
    ``exp(check_mu)`` with spread ``check_sigma``.

    Attributes
    ----------
    rate_mean : numpy.ndarray
        No-program visits per day.
    rate_shape : numpy.ndarray
        Gamma shape of the rate (``inf``: the rate is exactly ``rate_mean``).
    check_mu : numpy.ndarray
        Mean log gross check.
    arrival_day : numpy.ndarray
        Day of the horizon from which the customer buys (0: from the start).
    check_sigma : float
        Standard deviation of a visit's log check around the customer's ``check_mu``.
    """

    rate_mean: np.ndarray
    rate_shape: np.ndarray
    check_mu: np.ndarray
    arrival_day: np.ndarray
    check_sigma: float = 0.0

    def __post_init__(self):
        n = len(self.rate_mean)
        for name in ("rate_shape", "check_mu", "arrival_day"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Population: {name} has {len(getattr(self, name))} rows, rate_mean has {n}")
        if n == 0:
            raise ValueError("Population: no customers")
        if np.any(~np.isfinite(self.rate_mean)) or np.any(self.rate_mean < 0):
            raise ValueError("Population: rate_mean must be finite and >= 0")

    @classmethod
    def fixed(cls, rates_per_year, checks, *, check_sigma: float = 0.0, arrival_day=None) -> Population:
        """A population with known rates (visits per year) and typical checks, for worked examples.

        Examples
        --------
        >>> (Population.fixed([36.5, 73.0], [1000.0, 2000.0]).rate_mean * 10).round(6).tolist()
        [1.0, 2.0]
        """
        r = np.asarray(rates_per_year, dtype=float) / 365.0
        return cls(
            rate_mean=r,
            rate_shape=np.full(len(r), np.inf),
            check_mu=np.log(np.asarray(checks, dtype=float)),
            arrival_day=np.zeros(len(r)) if arrival_day is None else np.asarray(arrival_day, dtype=float),
            check_sigma=float(check_sigma),
        )

    def __len__(self) -> int:
        return len(self.rate_mean)

    @property
    def reference_rate(self) -> float:
        """Typical visit rate (geometric mean of the positive rates) at which ``take_up`` is read."""
        r = self.rate_mean[self.rate_mean > 0]
        return float(np.exp(np.mean(np.log(r)))) if len(r) else 1.0


def _draw_customers(pop: Population, n: int | None, rng: np.random.Generator):
    idx = np.arange(len(pop)) if n is None else rng.integers(0, len(pop), n)
    shape, mean = pop.rate_shape[idx], pop.rate_mean[idx]
    finite = np.isfinite(shape)
    rate = mean.copy()
    if finite.any():
        rate[finite] = rng.gamma(shape[finite], mean[finite] / shape[finite])
    return idx, rate, pop.check_mu[idx], pop.arrival_day[idx]


@dataclass
class _World:
    """The candidate visits of one seed, shared by every variant."""

    n: int
    rate: np.ndarray
    mu: np.ndarray
    sigma: float
    pool: float
    horizon: float
    n_periods: int
    offsets: np.ndarray  # candidate rows of period p: offsets[p]:offsets[p + 1]
    cust: np.ndarray
    t: np.ndarray
    u_visit: np.ndarray
    z_check: np.ndarray
    u_bunch: np.ndarray
    u_land: np.ndarray
    u_card: np.ndarray
    u_join: np.ndarray
    u_redeem: np.ndarray  # per customer: redeems rewards when below the redemption share
    u_never: np.ndarray  # per customer: never takes a card when below the never-join share
    g0: np.ndarray  # no-program gross check of each candidate visit
    ref_seed: int


def _world(pop, n, responses, horizon, period_days, rng) -> _World:
    idx, rate, mu, arrival = _draw_customers(pop, n, rng)
    n_cust = len(idx)
    n_periods = max(1, int(round(horizon / period_days)))
    pool = (1 + MAX_GIVEBACK_FACTOR * max(responses.visit_uplift, 0.0)) * np.exp(max(responses.goal_gradient, 0.0))
    begin = np.clip(arrival, 0.0, horizon)
    counts = rng.poisson(rate * pool * (horizon - begin))
    cust = np.repeat(np.arange(n_cust), counts)
    t = np.repeat(begin, counts) + rng.random(counts.sum()) * np.repeat(horizon - begin, counts)
    period = np.minimum((t / (horizon / n_periods)).astype(np.int64), n_periods - 1)
    order = np.lexsort((t, period))
    cust, t, period = cust[order], t[order], period[order]
    k = len(cust)
    z = rng.standard_normal(k)
    return _World(
        n=n_cust,
        rate=rate,
        mu=mu,
        sigma=pop.check_sigma,
        pool=pool,
        horizon=horizon,
        n_periods=n_periods,
        offsets=np.searchsorted(period, np.arange(n_periods + 1)),
        cust=cust,
        t=t,
        u_visit=rng.random(k),
        z_check=z,
        u_bunch=rng.random(k),
        u_land=rng.random(k),
        u_card=rng.random(k),
        u_join=rng.random(k),
        u_redeem=rng.random(n_cust),
        u_never=rng.random(n_cust),
        g0=np.exp(mu[cust] + pop.check_sigma * z),
        ref_seed=int(rng.integers(0, 2**31)),
    )


def _tier_rate(gross: np.ndarray, thresholds: np.ndarray, rates: np.ndarray) -> np.ndarray:
    tier = np.searchsorted(thresholds, gross, side="right")
    return np.concatenate([[0.0], rates])[tier]


def giveback_share(variant: Variant, checks: np.ndarray, responses: Responses) -> float:
    """Share of members' spending a variant gives back in discounts and rewards (before any response).

    Tiers: the discount of each check; points: ``earn_rate * burn_value`` per money paid;
    stamps: ``reward_value`` per ``every_n`` checks; both rewards times the share of members who
    redeem; everything times the share of visits with the card shown. A referral bonus gives
    nothing back on members' own purchases.

    Parameters
    ----------
    variant : Variant
    checks : numpy.ndarray
        Gross checks of visits (weighted as visits happen).
    responses : Responses

    Returns
    -------
    float

    Examples
    --------
    >>> from loyalty_lib.simulate.variants import StampCard, TieredDiscount
    >>> r = Responses(card_use=1.0, redemption=1.0)
    >>> giveback_share(TieredDiscount((150.0,), (0.1,)), np.array([100.0, 200.0]), r)  # 20 of 300
    0.0666...
    >>> giveback_share(StampCard(10, 50.0), np.array([100.0, 100.0]), r)  # 50 per 10 x 100
    0.05
    """
    m = mechanics(variant)
    checks = np.asarray(checks, dtype=float)
    total = float(checks.sum())
    if isinstance(variant, NoProgram) or total <= 0:
        return 0.0
    share = 0.0
    tiers, reward = m["tiers"], m["reward"]
    if tiers is not None:
        thr, rates = np.asarray(tiers.thresholds), np.asarray(tiers.rates)
        share += float(np.sum(checks * _tier_rate(checks, thr, rates))) / total
    if isinstance(reward, Points):
        share += reward.earn_rate * reward.burn_value * responses.redemption
    elif isinstance(reward, StampCard):
        share += reward.reward_value / (reward.every_n * total / len(checks)) * responses.redemption
    return share * responses.card_use


def _giveback_factor(variant: Variant, checks: np.ndarray, r: Responses) -> float:
    """Multiplier of the measured uplifts for this variant's generosity."""
    m = mechanics(variant)
    if isinstance(variant, NoProgram) or (m["tiers"] is None and m["reward"] is None):
        return 0.0
    g = giveback_share(variant, checks, r)
    if g <= 0:
        return 0.0
    if r.giveback_reference <= 0:
        return 1.0
    return float(min((g / r.giveback_reference) ** r.giveback_elasticity, MAX_GIVEBACK_FACTOR))


def _one(w: _World, variant: Variant, r: Responses, pop: Population, *, margin: float, scale: float = 1.0) -> dict:
    """Simulate one variant on a world; totals over the horizon, for ``scale`` times as many customers."""
    m = mechanics(variant)
    card = not isinstance(variant, NoProgram)
    tiers, reward, referral = m["tiers"], m["reward"], m["referral"]
    factor_gb = _giveback_factor(variant, w.g0, r)
    uplift = r.visit_uplift * factor_gb
    check_up = r.check_uplift * factor_gb
    gg = r.goal_gradient if reward is not None else 0.0
    thr = np.asarray(tiers.thresholds if tiers else [], dtype=float)
    rates = np.asarray(tiers.rates if tiers else [], dtype=float)
    if isinstance(reward, StampCard):
        unit, value_per_point, expiry = float(reward.every_n), reward.reward_value / reward.every_n, 0.0
    elif isinstance(reward, Points):
        unit, value_per_point, expiry = reward.min_redemption, reward.burn_value, float(reward.expiry_days)
    else:
        unit, value_per_point, expiry = 1.0, 0.0, 0.0
    costs = variant.costs
    cap = costs.cards_printed / scale if costs.cards_printed > 0 else np.inf
    q = np.zeros(w.n)
    if card and r.take_up > 0:
        ref = pop.reference_rate
        with np.errstate(divide="ignore"):
            lr = np.log(np.maximum(w.rate, 1e-12) / ref)
        q = expit(logit(min(r.take_up, 1 - 1e-9)) + r.selection * lr) if r.take_up < 1 else np.ones(w.n)
        q = np.where(w.u_never < r.never_join, 0.0, q)

    L = w.horizon / w.n_periods
    member = np.zeros(w.n, dtype=bool)
    join_t = np.full(w.n, np.inf)
    balance = np.zeros(w.n)
    earned_hist = [np.zeros(w.n)]  # cumulative points earned by the end of each period
    used = np.zeros(w.n)  # cumulative points redeemed or lapsed
    redeemer = w.u_redeem < r.redemption
    lag = int(np.ceil(expiry / L)) if expiry > 0 else 0
    tot = dict.fromkeys(["vb", "vp", "gb", "gp", "disc", "rew", "brk", "gbm", "gpm", "vbm", "vpm", "cv"], 0.0)
    for p in range(w.n_periods):
        if reward is not None and lag and p - lag >= 0:  # points older than the expiry lapse (oldest first)
            lapse = np.maximum(earned_hist[p - lag] - used, 0.0)
            lapse = np.minimum(lapse, balance)
            balance -= lapse
            used += lapse
            tot["brk"] += float(lapse.sum()) * value_per_point
        s = slice(w.offsets[p], w.offsets[p + 1])
        c, u = w.cust[s], w.u_visit[s]
        mem = member[c]
        factor = np.ones(len(c))
        if card:
            progress = np.minimum(balance[c] / unit, 1.0) if gg else 0.0
            factor = np.where(mem, (1 + uplift) * np.exp(gg * progress), 1.0)
        base_v = u * w.pool < 1.0
        prog_v = u * w.pool < factor
        g0 = w.g0[s]
        tot["vb"] += float(base_v.sum())
        tot["gb"] += float(g0[base_v].sum())
        tot["gbm"] += float(g0[base_v & mem].sum())
        tot["vbm"] += float((base_v & mem).sum())
        tot["vpm"] += float((prog_v & mem).sum())
        if not card:
            tot["vp"] += float(prog_v.sum())
            tot["gp"] += float(g0[prog_v].sum())
            continue
        shown = mem & (w.u_card[s] < r.card_use) & prog_v
        g = np.where(shown, g0 * (1 + check_up), g0)
        for T in thr:  # a loop over the few thresholds, vectorised over the period's visits
            near = shown & (g >= T * (1 - r.bunching_window)) & (g < T) & (w.u_bunch[s] < r.bunching_prob)
            g = np.where(near, T * (1 + r.bunching_landing * w.u_land[s]), g)
        disc = np.where(shown, g * _tier_rate(g, thr, rates), 0.0) if len(thr) else np.zeros(len(c))
        tot["vp"] += float(prog_v.sum())
        tot["gp"] += float(g[prog_v].sum())
        tot["gpm"] += float(g[prog_v & mem].sum())
        tot["disc"] += float(disc[prog_v].sum())
        tot["cv"] += float(shown.sum())
        if reward is not None:
            earn = np.ones(len(c)) if isinstance(reward, StampCard) else reward.earn_rate * (g - disc)
            got = np.bincount(c[shown], weights=earn[shown], minlength=w.n)
            balance += got
            earned_hist.append(earned_hist[-1] + got)
            ready = redeemer & (balance >= unit) & (np.bincount(c[shown], minlength=w.n) > 0)
            n_units = np.where(ready, np.floor(balance / unit), 0.0)
            balance -= n_units * unit
            used += n_units * unit
            tot["rew"] += float(n_units.sum()) * unit * value_per_point
        # cards taken at this period's visits by non-members, first come first served
        join = prog_v & ~mem & (w.u_join[s] < q[c])
        if join.any():
            jc, jt = c[join], w.t[s][join]
            first = np.unique(jc, return_index=True)[1]
            jc, jt = jc[first], jt[first]
            room = cap - member.sum()
            if room < len(jc):
                keep = np.argsort(jt, kind="stable")[: int(max(room, 0))]
                jc, jt = jc[keep], jt[keep]
            member[jc] = True
            join_t[jc] = jt

    n_members = int(member.sum())
    member_days = float(np.sum(w.horizon - join_t[member]))
    # referral: newcomers arrive over each member's time with the card, and buy at the pace of a
    # customer drawn from the population until the end of the horizon
    ref_gross = ref_visits = 0.0
    n_ref = 0
    if referral is not None and n_members:
        rr = np.random.default_rng(w.ref_seed)
        k = rr.poisson(r.referral_rate / 365.0 * (w.horizon - join_t[member]))
        n_ref = int(k.sum())
        if n_ref:
            start = np.repeat(join_t[member], k) + rr.random(n_ref) * np.repeat(w.horizon - join_t[member], k)
            _, rate_j, mu_j, _ = _draw_customers(pop, n_ref, rr)
            stay = w.horizon - start
            new = rr.random(n_ref) >= r.referral_deadweight
            ref_visits = float(np.sum(rate_j * stay * new))
            ref_gross = float(np.sum(rate_j * stay * np.exp(mu_j + w.sigma**2 / 2) * new))
    # sums over the simulated customers stand for ``scale`` times as many; printing and set-up do not grow
    members = n_members * scale
    member_months = member_days / MONTH_DAYS * scale
    n_ref_all = n_ref * scale
    ref_bonus = n_ref_all * (referral.bonus + referral.newcomer_bonus) if referral is not None else 0.0
    disc, rew = tot["disc"] * scale, tot["rew"] * scale
    printing = (costs.cards_printed if costs.cards_printed > 0 else members) * costs.card_print_cost if card else 0.0
    setup = costs.setup_cost if card else 0.0
    comms = costs.communications_per_member_month * member_months
    staff = costs.staff_per_card * members
    cost = disc + rew + ref_bonus + printing + setup + comms + staff
    inc_gross = (tot["gp"] + ref_gross - tot["gb"]) * scale
    owed = float(balance[redeemer].sum()) * value_per_point if reward is not None else 0.0
    lapsed = tot["brk"] + (float(balance[~redeemer].sum()) * value_per_point if reward is not None else 0.0)
    gbm = tot["gbm"] * scale
    return {
        "variant": variant.label,
        "members": members,
        "member_months": member_months,
        "visits_baseline": tot["vb"] * scale,
        "incremental_visits": (tot["vp"] + ref_visits - tot["vb"]) * scale,
        "card_visits": tot["cv"] * scale,
        "gross_baseline": tot["gb"] * scale,
        "incremental_gross": inc_gross,
        "incremental_margin": margin * inc_gross,
        "discounts": disc,
        "rewards": rew,
        "referral_bonuses": ref_bonus,
        "printing": float(printing),
        "setup": float(setup),
        "communications": comms,
        "staff": staff,
        "cost_total": cost,
        "net_gain": margin * inc_gross - cost,
        # stage 07's definitions: one ROI and one break-even in the suite
        "roi_pct": roi.roi_pct(inc_gross, cost, margin=margin) if cost > 0 else np.nan,
        "break_even_uplift_pct": (
            roi.break_even_uplift(cost, margin=margin, exposure=member_months, baseline_per_month=gbm / member_months)[
                "uplift_pct"
            ]
            if gbm > 0 and member_months > 0
            else np.nan
        ),
        "rewards_owed_at_end": owed * scale,
        "breakage": lapsed * scale,
        "referred_newcomers": n_ref_all,
        # members' own visits with and without the program (for the calibration; not a result column)
        "_member_visits": tot["vpm"],
        "_member_visits_baseline": tot["vbm"],
        "_member_gross": tot["gpm"],
        "_member_gross_baseline": tot["gbm"],
    }


def member_effect(
    population: Population,
    variant: Variant,
    responses: Responses,
    *,
    n_customers: int | None = None,
    horizon_days: float = 365.0,
    period_days: float = 7.0,
    seed: int = 0,
    population_size: int | None = None,
) -> tuple[float, float]:
    """Members' visits and gross spending under ``variant`` over what the same members do without it.

    The simulated counterpart of the effect an impact design measures on members: over the
    members' time with a card (from the period after they joined), the visits they make with the
    program (``1 + visit_uplift``, the goal pull of the rewards they hold, the generosity factor)
    over their no-program visits, and the same for their gross spending (the visits, the check
    uplift and the bunching of checks shown with the card), in one simulated world.

    Parameters
    ----------
    population : Population
    variant : Variant
    responses : Responses
    n_customers : int, optional
        Customers to draw (with replacement); default every row of ``population`` once.
    horizon_days, period_days : float
        As in :func:`simulate`.
    seed : int
        Seed of the world.
    population_size : int, optional
        Customers the simulated ones stand for, as in :func:`simulate`: the printed cards that
        cap the members are scaled down to the sample (who holds a card, and from when, moves
        the goal pull members feel).

    Returns
    -------
    (float, float)
        The two ratios, visits and gross (1 means no effect); NaN without a member.

    Examples
    --------
    Everybody joins at the first visit and visits 10 % more often (a 5 % discount on every check,
    the card always shown: as generous as the measured program), no reward to pull them:

    >>> from loyalty_lib.simulate.variants import TieredDiscount
    >>> pop = Population.fixed([365.0] * 200, [100.0] * 200)
    >>> r = Responses(visit_uplift=0.1, take_up=1.0, never_join=0.0, selection=0.0, goal_gradient=0.0,
    ...               card_use=1.0, giveback_reference=0.05)
    >>> visits, gross = member_effect(pop, TieredDiscount((50.0,), (0.05,)), r, seed=3)
    >>> round(visits, 2), round(gross / visits, 3)  # every check 2 % bigger: the card is always shown
    (1.1, 1.02)
    """
    rng = np.random.default_rng(seed)
    w = _world(population, n_customers, responses, float(horizon_days), float(period_days), rng)
    scale = population_size / w.n if population_size else 1.0
    out = _one(w, variant, responses, population, margin=1.0, scale=scale)
    if not out["_member_visits_baseline"]:
        return np.nan, np.nan
    v = out["_member_visits"] / out["_member_visits_baseline"]
    return float(v), float(out["_member_gross"] / out["_member_gross_baseline"])


def simulate(
    population: Population,
    variants: Sequence[Variant],
    responses: Responses,
    *,
    n_customers: int | None = None,
    horizon_days: float = 365.0,
    period_days: float = 7.0,
    margin: float = 0.3,
    seed: int = 0,
    population_size: int | None = None,
) -> pd.DataFrame:
    """Simulate every variant on one simulated population (common random numbers).

    Parameters
    ----------
    population : Population
        Customers to draw from.
    variants : sequence of Variant
        Programs to compare; the no-program baseline is simulated alongside each.
    responses : Responses
        Behavioural responses (the same for every variant of the run).
    n_customers : int, optional
        Customers to draw (with replacement); default: every row of ``population`` once.
    horizon_days : float
        Length of the simulated period from the launch, days.
    period_days : float
        Length of one step of the loop, days.
    margin : float
        Gross-margin share of a sale, in (0, 1].
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same result.
    population_size : int, optional
        Customers the simulated ones stand for (a shop too big to simulate whole is simulated
        on a sample of ``n_customers``): every total is scaled up by ``population_size /
        n_customers`` and the cards printed, which cap the members, scaled down to the sample;
        printing and set-up costs stay as they are. Default: no scaling.

    Returns
    -------
    pandas.DataFrame
        One row per variant, columns :data:`RESULT_COLUMNS`: ``members`` (cards taken),
        ``member_months``, no-program visits and gross revenue of the whole population
        (``visits_baseline``, ``gross_baseline``), the program's ``incremental_visits``,
        ``incremental_gross`` and ``incremental_margin``, ``card_visits`` (visits with the card
        shown), the costs (``discounts``, ``rewards``
        redeemed, ``referral_bonuses``, ``printing``, ``setup``, ``communications``, ``staff``,
        ``cost_total``), ``net_gain`` (margin on the incremental gross minus cost), ``roi_pct``
        (NaN without cost), ``break_even_uplift_pct`` (rise of members' no-program spending with
        the card that would pay the cost), ``rewards_owed_at_end`` (redeemable balances at the
        end, a future cost), ``breakage`` (rewards lapsed or never to be redeemed) and
        ``referred_newcomers``.

    Examples
    --------
    Two customers, everybody takes a card at the first visit, 10 % more visits with a 5 % discount:

    >>> from loyalty_lib.simulate.variants import TieredDiscount
    >>> pop = Population.fixed([52.0, 52.0], [100.0, 100.0])
    >>> r = Responses(visit_uplift=0.1, check_uplift=0.0, take_up=1.0, never_join=0.0, selection=0.0, goal_gradient=0.0)
    >>> out = simulate(pop, [TieredDiscount((50.0,), (0.05,))], r, seed=1)
    >>> int(out["members"].iloc[0]), bool(out["incremental_visits"].iloc[0] > 0)
    (2, True)
    """
    if not 0 < margin <= 1:
        raise ValueError(f"simulate: margin must be in (0, 1], got {margin}")
    if horizon_days <= 0 or period_days <= 0:
        raise ValueError("simulate: horizon_days and period_days must be positive")
    if not variants:
        raise ValueError("simulate: no variant to simulate")
    names = [v.label for v in variants]
    if len(set(names)) != len(names):
        raise ValueError(f"simulate: variant names must differ, got {names}")
    rng = np.random.default_rng(seed)
    w = _world(population, n_customers, responses, float(horizon_days), float(period_days), rng)
    scale = population_size / w.n if population_size else 1.0
    rows = [_one(w, v, responses, population, margin=margin, scale=scale) | {"seed": seed} for v in variants]
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def run(
    population: Population,
    variants: Sequence[Variant],
    responses: Responses,
    *,
    ranges: pd.DataFrame | None = None,
    n_seeds: int = 20,
    seed: int = 0,
    **kwargs,
) -> pd.DataFrame:
    """Simulate every variant over several seeds; each seed draws its own responses from ``ranges``.

    Parameters
    ----------
    population, variants, responses
        As in :func:`simulate`.
    ranges : pandas.DataFrame, optional
        Range table of the responses (see :mod:`loyalty_lib.simulate.responses`); each seed
        draws the responses with :func:`~loyalty_lib.simulate.responses.draw_responses`.
        ``None``: the responses stay fixed and the spread is the luck of the draw alone.
    n_seeds : int
        Number of simulated worlds.
    seed : int
        Master seed; seed ``k`` of the run uses ``[seed, k]``.
    **kwargs
        Passed to :func:`simulate` (``n_customers, horizon_days, period_days, margin,
        population_size``).

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`simulate` for every seed (``seed`` = 0 .. n_seeds - 1).
    """
    if n_seeds < 1:
        raise ValueError("run: n_seeds must be at least 1")
    out = []
    for k in range(n_seeds):  # a loop over seeds; each simulation is vectorised over customers
        rng = np.random.default_rng([seed, k])
        r = draw_responses(responses, ranges, rng)
        out.append(simulate(population, variants, r, seed=int(rng.integers(0, 2**31)), **kwargs).assign(seed=k))
    return pd.concat(out, ignore_index=True)


def summarise(results: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """Mean and spread over seeds of each variant's figures.

    Parameters
    ----------
    results : pandas.DataFrame
        Output of :func:`run` (or several :func:`simulate` frames).
    level : float
        Share of seeds inside the spread (0.95: from the 2.5 % to the 97.5 % quantile).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``variant`` (in the order given) and ``figure`` (each numeric column of
        :data:`RESULT_COLUMNS`), columns ``estimate`` (mean over seeds), ``ci_low, ci_high``
        (quantiles) and ``n`` (seeds).

    Examples
    --------
    >>> res = pd.DataFrame({"variant": ["a"] * 3, "seed": [0, 1, 2], "roi_pct": [1.0, 2.0, 3.0]})
    >>> summarise(res).loc[("a", "roi_pct"), ["estimate", "n"]].tolist()
    [2.0, 3.0]
    """
    figs = [c for c in RESULT_COLUMNS if c in results and c not in ("variant", "seed")]
    order = pd.unique(results["variant"])
    long = results.melt(id_vars=["variant"], value_vars=figs, var_name="figure")
    a = (1 - level) / 2
    g = long.groupby(["variant", "figure"], sort=False)["value"]
    out = pd.DataFrame(
        {"estimate": g.mean(), "ci_low": g.quantile(a), "ci_high": g.quantile(1 - a), "n": g.count().astype(float)}
    )
    idx = pd.MultiIndex.from_product([order, figs], names=["variant", "figure"])
    return out.reindex(idx)
