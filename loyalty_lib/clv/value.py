"""Customer lifetime value: the BG/NBD and Gamma-Gamma predictions combined and discounted.

:func:`clv` gives each customer's discounted value over a horizon, :func:`summarise_clv` the
mean per group with a t interval over customers, and :func:`clv_interval` an interval that
also carries the uncertainty of the fitted parameters.

What the models can and cannot tell: they extrapolate each customer's own past (how often, how
recently, how much) under stationary behaviour. They say nothing about *why* customers differ,
so a member/non-member CLV gap is descriptive, not the causal effect of the card.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalty_lib.clv.base import ClvFit
from loyalty_lib.clv.bgnbd import BGNBD_PARAMS, BetaGeoModel, _expected_purchases, probability_alive
from loyalty_lib.clv.data import rfm_arrays
from loyalty_lib.clv.gamma_gamma import GAMMA_GAMMA_PARAMS, _expected_spend, expected_spend
from loyalty_lib.stats import bootstrap_frame, check_columns, mean_frame

__all__ = ["PERIODS_PER_MONTH", "clv", "clv_interval", "summarise_clv"]

#: Average number of each time unit in a month (365.25 / 12 days).
PERIODS_PER_MONTH = {"D": 365.25 / 12, "W": 365.25 / 12 / 7, "M": 1.0}


def clv(
    bgnbd,
    gg,
    summary: pd.DataFrame,
    *,
    horizon_months: int = 12,
    discount_rate_annual: float = 0.1,
    freq: str | float = "D",
    margin: float = 1.0,
) -> pd.DataFrame:
    """Discounted customer lifetime value over a horizon, BG/NBD × Gamma-Gamma.

    CLV = margin · E[spend] · Σ_{m=1..H} (E[Y(m·k)] − E[Y((m−1)·k)]) / (1 + d)^(m/12), with k
    periods per month and d the annual discount rate (lifetimes' ``customer_lifetime_value``
    with a monthly rate (1+d)^(1/12) − 1; lifetimes counts a month as 30 days / 4.345 weeks,
    here as 365.25/12 days and 365.25/84 weeks).

    Parameters
    ----------
    bgnbd : ClvFit or dict
        BG/NBD parameters.
    gg : ClvFit or dict
        Gamma-Gamma parameters.
    summary : pandas.DataFrame
        RFM summary with ``frequency, recency, T, monetary_value`` in the time unit ``freq``.
    horizon_months : int
        Number of months to sum over.
    discount_rate_annual : float
        Annual discount rate.
    freq : {"D", "W", "M"} or float
        Time unit of ``recency``/``T`` (or the number of such units in a month).
    margin : float
        Profit margin applied to spend (1 = revenue CLV).

    Returns
    -------
    pandas.DataFrame
        Aligned with ``summary`` (``customer_id`` kept when present), columns
        ``probability_alive, expected_purchases`` (over the horizon, undiscounted),
        ``expected_spend`` and ``clv``.
    """
    who = "clv"
    k, disc = _clv_schedule(freq, horizon_months, discount_rate_annual, who)
    check_columns(summary, ["frequency", "recency", "T", "monetary_value"], who)
    x, t_x, big_t = rfm_arrays(summary, ["frequency", "recency", "T"], who)
    cum = _cumulative_purchases(BetaGeoModel.check_params(bgnbd, who), x, t_x, big_t, k, len(disc))
    spend = expected_spend(gg, summary)
    out = pd.DataFrame(index=summary.index)
    if "customer_id" in summary:
        out["customer_id"] = summary["customer_id"]
    out["probability_alive"] = probability_alive(bgnbd, summary)
    out["expected_purchases"] = cum[:, -1]
    out["expected_spend"] = spend
    out["clv"] = margin * spend.to_numpy() * (np.diff(cum, axis=1) * disc).sum(axis=1)
    return out


def _clv_schedule(freq, horizon_months, discount_rate_annual, who):
    """Periods per month and the monthly discount factors."""
    if isinstance(freq, str):
        if freq not in PERIODS_PER_MONTH:
            raise ValueError(f"{who}: freq must be one of {list(PERIODS_PER_MONTH)} or a number")
        k = PERIODS_PER_MONTH[freq]
    else:
        k = float(freq)
    if int(horizon_months) != horizon_months or horizon_months < 1:
        raise ValueError(f"{who}: horizon_months must be a positive integer")
    if discount_rate_annual <= -1:
        raise ValueError(f"{who}: discount_rate_annual must be > -1")
    months = np.arange(1, int(horizon_months) + 1)
    return k, (1 + discount_rate_annual) ** (-months / 12)


def _cumulative_purchases(bg, x, t_x, big_t, k, horizon):
    """Return expected purchases up to the end of months 0..horizon, one column per month."""
    r, alpha, a, b = bg
    t = np.arange(horizon + 1)[None, :] * k
    col = (x[:, None], t_x[:, None], big_t[:, None])
    return _expected_purchases(r, alpha, a, b, *col, t)


def summarise_clv(data: pd.DataFrame, *, by: str | None = None, value_col: str = "clv") -> pd.DataFrame:
    """Mean CLV per group with a 95 % t interval over customers.

    The interval covers customer-to-customer variation only, not the uncertainty of the fitted
    model parameters, and a gap between groups is descriptive (who joins differs), not causal.

    Parameters
    ----------
    data : pandas.DataFrame
        Output of :func:`clv`, optionally with a grouping column.
    by : str, optional
        Grouping column (e.g. ``member``); ``None`` gives one row ``all``.
    value_col : str
        Column to summarise.

    Returns
    -------
    pandas.DataFrame
        Indexed by group, columns ``estimate, ci_low, ci_high, n, total``.
    """
    check_columns(data, [value_col] + ([by] if by else []), "summarise_clv")
    out = mean_frame(data[value_col], data[by] if by else None)
    out.index.name = by or "group"
    return out


def _draw_params(fit, rng, n_draws: int) -> list[dict]:
    """Parameter draws from the asymptotic normal of the log-parameters (edge ones fixed)."""
    if not isinstance(fit, ClvFit):
        return [dict(fit)] * n_draws
    names = list(fit.params)
    mean = np.log([fit.params[k] for k in names])
    cov = np.nan_to_num(fit.cov_log, nan=0.0)
    draws = np.exp(rng.multivariate_normal(mean, cov, size=n_draws, method="eigh"))
    return [dict(zip(names, row, strict=True)) for row in draws]


def clv_interval(
    bgnbd,
    gg,
    summary: pd.DataFrame,
    *,
    by: str | None = None,
    n_draws: int = 100,
    seed: int = 0,
    level: float = 0.95,
    **clv_kw,
) -> pd.DataFrame:
    """Mean CLV per group with an interval for both model and sampling uncertainty.

    Each of ``n_draws`` rounds draws the BG/NBD and Gamma-Gamma parameters from the normal
    approximation of their maximum-likelihood estimates (log scale, covariance from the
    Hessian) and resamples the group's customers with replacement; the interval is the
    percentile interval of the group means. Parameters without a standard error (e.g. a and b
    when the data show no dropout) are held at their estimates. The interval assumes the model
    is right: it says how precisely the model's CLV is known, not whether the BG/NBD's
    assumptions (stationary buying, no seasonality) hold for the future.

    Parameters
    ----------
    bgnbd, gg : ClvFit
        Fitted models (plain dicts give no parameter uncertainty).
    summary : pandas.DataFrame
        RFM summary (plus the ``by`` column when given).
    by : str, optional
        Grouping column, e.g. ``member``.
    n_draws : int
        Number of simulation rounds.
    seed : int
        Seed of ``numpy.random.default_rng``.
    level : float
        Interval level.
    **clv_kw
        ``horizon_months, discount_rate_annual, freq, margin`` for :func:`clv`.

    Returns
    -------
    pandas.DataFrame
        Indexed by group (``all`` without ``by``), columns ``estimate, ci_low, ci_high, n``.
    """
    who = "clv_interval"
    if by is not None:
        check_columns(summary, [by], who)
    rng = np.random.default_rng(seed)
    point = clv(bgnbd, gg, summary, **clv_kw)["clv"].to_numpy()
    if by is None:
        codes, names = np.zeros(len(summary), dtype=np.int64), pd.Index(["all"], name="group")
    else:
        codes, names = pd.factorize(summary[by], sort=True)
        names = pd.Index(names, name=by)
    members = [np.flatnonzero(codes == g) for g in range(len(names))]
    k, disc = _clv_schedule(
        clv_kw.get("freq", "D"),
        clv_kw.get("horizon_months", 12),
        clv_kw.get("discount_rate_annual", 0.1),
        who,
    )
    margin = clv_kw.get("margin", 1.0)
    x, t_x, big_t, m = rfm_arrays(summary, ["frequency", "recency", "T", "monetary_value"], who)
    # customers sharing (x, t_x, T) share the expected purchases: compute them once
    rows, inverse = np.unique(np.column_stack([x, t_x, big_t]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    means = np.full((n_draws, len(names)), np.nan)
    for i, (pb, pg) in enumerate(zip(_draw_params(bgnbd, rng, n_draws), _draw_params(gg, rng, n_draws), strict=True)):
        p, q, g = (pg[key] for key in GAMMA_GAMMA_PARAMS)
        if q <= 1:  # the mean spend does not exist for this draw
            continue
        cum = _cumulative_purchases([pb[key] for key in BGNBD_PARAMS], *rows.T, k, len(disc))
        spend = _expected_spend(p, q, g, x, m)
        values = margin * spend * (np.diff(cum, axis=1) * disc).sum(axis=1)[inverse]
        for j, pos in enumerate(members):
            means[i, j] = values[rng.choice(pos, len(pos))].mean()
    point_means = [point[pos].mean() for pos in members]
    return bootstrap_frame(point_means, means, n=[len(pos) for pos in members], level=level, index=names)
