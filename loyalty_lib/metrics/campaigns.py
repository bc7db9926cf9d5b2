"""Campaigns: did a contact cause a purchase, which offer and channel paid, how big a holdout.

Every function takes contract tables (``offers``, ``transactions``, ``program_costs``) or the
per-contact frame of :func:`contact_outcomes`, and returns a tidy estimate frame
(``estimate, ci_low, ci_high, n``). Nothing loops over customers or contacts.

The design matters more than the arithmetic here:

- **Randomised holdout** (the ``offers`` table has a ``holdout`` group): contacted and held-out
  addressees differ only by chance, so the difference of their means is the uplift the
  contact caused (:func:`uplift`, :func:`visit_ratio`, :func:`campaign_roi`).
- **No holdout** (campaigns went to chosen customers): contacted customers differ from the
  others before any contact. :func:`targeting_comparison` shows the naive gap beside a
  before/after comparison and a balance table, so the reader sees how much of the gap was
  there already.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from loyalty_lib.dataset import visit_flags
from loyalty_lib.metrics._common import as_list
from loyalty_lib.stats import (
    check_columns,
    estimate_frame,
    mean_frame,
    normal_interval,
    ratio_frame,
    z_value,
)

__all__ = [
    "OUTCOMES",
    "campaign_roi",
    "contact_outcomes",
    "detectable_uplift",
    "holdout_size",
    "qini_curve",
    "shrink_uplift",
    "targeting_comparison",
    "uplift",
    "uplift_scores",
    "visit_ratio",
    "window_counts",
]

#: Outcomes of a contact measured in its response window, with their unit.
OUTCOMES = {"responded": "%", "visits": "visits", "revenue": "money"}

_DAY_NS = 86_400 * 10**9


def _days(dates: pd.Series) -> np.ndarray:
    """Timestamps as float days since the epoch (NaT -> NaN)."""
    d = pd.to_datetime(dates)
    v = d.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float) / _DAY_NS
    v[d.isna().to_numpy()] = np.nan
    return v


def window_counts(
    events_key: np.ndarray,
    events_day: np.ndarray,
    events_value: np.ndarray,
    query_key: np.ndarray,
    query_start: np.ndarray,
    query_end: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Count events and sum their values in ``(start, end]`` per query, by binary search.

    Parameters
    ----------
    events_key, events_day, events_value : numpy.ndarray
        Integer key (customer code), time (float days) and value of each event.
    query_key, query_start, query_end : numpy.ndarray
        Key and half-open window ``(start, end]`` of each query.

    Returns
    -------
    count, total : numpy.ndarray
        Events in each query's window, and the sum of their values.

    Examples
    --------
    >>> c, s = window_counts(np.array([0, 0, 1]), np.array([1.0, 5.0, 2.0]), np.array([10.0, 20.0, 7.0]),
    ...                      np.array([0, 1]), np.array([0.0, 2.0]), np.array([5.0, 9.0]))
    >>> c.tolist(), s.tolist()
    ([2, 0], [30.0, 0.0])
    """
    span = _span(events_day, query_start, query_end)
    ek, order = _sorted_events(events_key, events_day, span)
    return _window_sums(ek, _cumsum(events_value, order), query_key.astype(float) * span, query_start, query_end)


def _span(*days) -> float:
    """A key multiplier larger than twice any time, so ``key * span + day`` sorts by key, then time."""
    return (
        float(np.nanmax(np.concatenate([np.abs(np.asarray(d, dtype=float)).ravel() for d in days] + [[1.0]]))) * 2 + 2
    )


def _sorted_events(key: np.ndarray, day: np.ndarray, span: float) -> tuple[np.ndarray, np.ndarray]:
    """Events sorted by customer, then time: the sorted ``key * span + day`` and the order."""
    ek = key.astype(float) * span + day
    order = np.argsort(ek, kind="stable")
    return ek[order], order


def _cumsum(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    return np.r_[0.0, np.cumsum(np.asarray(values, dtype=float)[order])]


def _window_sums(ek, cum, qk, start, end) -> tuple[np.ndarray, np.ndarray]:
    """Events and the sum of their values in ``(start, end]`` of each query (``qk``: key * span)."""
    a = np.searchsorted(ek, qk + start, side="right")
    b = np.searchsorted(ek, qk + end, side="right")
    return b - a, cum[b] - cum[a]


def contact_outcomes(
    offers: pd.DataFrame,
    transactions: pd.DataFrame,
    *,
    window_days: int | None = None,
    history_days: int = 90,
) -> pd.DataFrame:
    """One row per contact: what the addressee did in the response window, and before it.

    A purchase counts in the window when it is after the contact (or planned contact, for the
    holdout) and at most ``window_days`` later. The history (``history_days`` before the
    contact) describes the addressee at the time of the contact, for targeting models and
    balance checks. Visits are sales receipts (:func:`loyalty_lib.dataset.visits_mask`; every
    receipt when the table has no ``gross_amount``); revenue is net: a return receipt in the
    window is no visit, and its negative amount counts on its day (docs/metrics.md), so the
    revenue of a window holding only a return is negative.

    Parameters
    ----------
    offers : pandas.DataFrame
        The contract's ``offers`` table: ``offer_id, customer_id, date, channel, offer_type,
        group`` (``response_window_days`` optional).
    transactions : pandas.DataFrame
        Receipts: ``customer_id, date, amount`` (and ``gross_amount``, which tells a sale from a
        return); receipts without a customer are left out.
    window_days : int, optional
        Response window; default the table's ``response_window_days`` (14 when absent).
    history_days : int
        Length of the history before each contact.

    Returns
    -------
    pandas.DataFrame
        ``offer_id, customer_id, date, month, channel, offer_type, treated`` (bool), ``responded``
        (bought in the window), ``visits`` and ``revenue`` in the window, ``prior_visits``,
        ``prior_revenue`` and ``days_since_last`` (NaN when no earlier visit) over the history.

    Raises
    ------
    ValueError
        A missing column, naming the table.

    Examples
    --------
    >>> off = pd.DataFrame({"offer_id": [1, 2], "customer_id": ["a", "b"], "channel": "sms",
    ...     "date": pd.to_datetime(["2026-03-05", "2026-03-05"]), "offer_type": "birthday",
    ...     "group": ["treatment", "holdout"]})
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [100.0, 50.0, 80.0],
    ...     "date": pd.to_datetime(["2026-03-01", "2026-03-10", "2026-04-01"])})
    >>> contact_outcomes(off, tx, window_days=14)[["responded", "visits", "revenue", "prior_visits"]]
       responded  visits  revenue  prior_visits
    0       True       1     50.0             1
    1      False       0      0.0             0
    """
    check_columns(
        offers,
        ["offer_id", "customer_id", "date", "channel", "offer_type", "group"],
        "contact_outcomes",
        table="offers",
    )
    check_columns(transactions, ["customer_id", "date", "amount"], "contact_outcomes", table="transactions")
    if window_days is None:
        w = offers["response_window_days"].dropna() if "response_window_days" in offers else pd.Series(dtype=float)
        window_days = int(w.mode().iloc[0]) if len(w) else 14
    if window_days < 1 or history_days < 1:
        raise ValueError(
            f"contact_outcomes: window_days and history_days must be at least 1, got {window_days} and {history_days}"
        )
    tx = transactions[transactions["customer_id"].notna()]
    codes, uniques = pd.factorize(pd.concat([tx["customer_id"], offers["customer_id"]], ignore_index=True))
    tkey, okey = codes[: len(tx)], codes[len(tx) :]
    tday, oday = _days(tx["date"]), _days(offers["date"])
    amount = tx["amount"].to_numpy(dtype=float)
    visit = visit_flags(tx)
    # the receipts sorted once by customer and time (any key multiplier above twice the days gives
    # the same order); every window is then two binary searches on the keys of its own multiplier
    eps = 1e-9
    order = np.argsort(tkey.astype(float) * _span(tday, oday, oday + window_days) + tday, kind="stable")
    skey, sday = tkey[order].astype(float), tday[order]
    cum_r, cum_v = _cumsum(amount, order), _cumsum(visit, order)

    def windows(start, end):
        span = _span(tday, start, end)
        ek, qk = skey * span + sday, okey.astype(float) * span
        return _window_sums(ek, cum_r, qk, start, end)[1], _window_sums(ek, cum_v, qk, start, end)[1]

    # revenue over every receipt (returns netted in), visits over sales receipts only
    revenue, visits = windows(oday, oday + window_days)
    # history: receipts in [contact - history, contact), i.e. (start - eps, contact - eps]
    prior_r, prior_v = windows(oday - history_days - eps, oday - eps)
    # days since the last visit before the contact: binary search on the sorted visits
    span = _span(tday, oday)
    sv = np.asarray(visit, dtype=bool)[order]
    ek = skey[sv] * span + sday[sv]
    pos = np.searchsorted(ek, okey.astype(float) * span + oday, side="left") - 1
    prev = ek[np.maximum(pos, 0)] if len(ek) else np.zeros(len(okey))
    same = (pos >= 0) & (np.floor(prev / span) == okey)
    last = np.where(same, oday - (prev - okey.astype(float) * span), np.nan)
    out = pd.DataFrame(
        {
            "offer_id": offers["offer_id"].to_numpy(),
            "customer_id": offers["customer_id"].to_numpy(),
            "date": pd.to_datetime(offers["date"]).to_numpy(),
            "month": pd.to_datetime(offers["date"]).dt.to_period("M").astype(str).to_numpy(),
            "channel": offers["channel"].astype(str).to_numpy(),
            "offer_type": offers["offer_type"].astype(str).to_numpy(),
            "treated": (offers["group"] == "treatment").to_numpy(),
            "responded": visits > 0,
            "visits": np.rint(visits).astype(np.int64),
            "revenue": revenue,
            "prior_visits": np.rint(prior_v).astype(np.int64),
            "prior_revenue": prior_r,
            "days_since_last": last,
        }
    )
    return out


def _arms(outcomes: pd.DataFrame, outcome: str, groups: list[str], level: float) -> pd.DataFrame:
    """Each arm's mean of ``outcome`` per group, customer-clustered, side by side.

    Returns the group columns and ``mean_t, se_t, n_t, mean_h, se_h, n_h`` (``_t`` contacted,
    ``_h`` held out; ``n`` counts contacts). One addressee's contacts move together, so each
    customer is one draw (:func:`loyalty_lib.stats.ratio_frame`).
    """
    d = outcomes.assign(_y=outcomes[outcome].astype(float), _one=1.0, _arm=outcomes["treated"].astype(bool))
    arms = ratio_frame(d, "_y", "_one", cluster="customer_id", by=[*groups, "_arm"], level=level)
    arms = arms.assign(se=(arms["ci_high"] - arms["ci_low"]) / (2 * z_value(level)), rows=arms["denominator"])
    arms = arms[[*groups, "_arm", "estimate", "se", "rows"]].rename(columns={"estimate": "mean", "rows": "n"})
    t = arms[arms["_arm"]].drop(columns="_arm").add_suffix("_t")
    h = arms[~arms["_arm"]].drop(columns="_arm").add_suffix("_h")
    if groups:
        t = t.rename(columns={f"{g}_t": g for g in groups})
        h = h.rename(columns={f"{g}_h": g for g in groups})
        m = t.merge(h, on=groups, how="outer").sort_values(groups).reset_index(drop=True)
    else:
        m = pd.concat([t.reset_index(drop=True), h.reset_index(drop=True)], axis=1)
        if m.empty:
            m = pd.DataFrame({c: [np.nan] for c in ["mean_t", "se_t", "n_t", "mean_h", "se_h", "n_h"]})
    for c in ["n_t", "n_h"]:
        m[c] = m[c].fillna(0).astype(np.int64)
    return m


def uplift(
    outcomes: pd.DataFrame,
    *,
    outcome: str = "responded",
    by: str | Sequence[str] | None = ("offer_type", "channel"),
    covariate: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Uplift of a randomised campaign: contacted mean minus held-out mean, per group.

    The interval treats each addressee as one draw (several contacts of one customer move
    together): each arm's mean has a customer-clustered standard error
    (:func:`loyalty_lib.stats.ratio_frame`), and the two arms' errors add in quadrature.

    With a ``covariate`` measured before the contact (e.g. ``prior_revenue``) the outcome is
    first adjusted, ``y - theta (x - mean x)`` with ``theta = cov(y, x) / var(x)`` over all
    contacts (CUPED): the random split makes the adjustment leave the uplift unbiased while it
    removes the part of the spread that the history already explains, so the interval narrows.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        From :func:`contact_outcomes` (``customer_id, treated`` and the outcome).
    outcome : {"responded", "visits", "revenue"} or str
        Per-contact outcome column.
    by : str or sequence of str, optional
        Group columns (default offer type and channel); ``None`` for one overall row.
    covariate : str, optional
        Pre-contact column to adjust the outcome by (CUPED); ``None`` for the plain difference.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per group (the ``by`` columns first): ``estimate, ci_low, ci_high, n``
        (contacts), ``treated_mean, holdout_mean, n_treated, n_holdout, se, outcome``.
        Groups without both arms get NaN.

    Examples
    --------
    >>> o = pd.DataFrame({"customer_id": [1, 2, 3, 4, 5, 6], "treated": [True] * 3 + [False] * 3,
    ...                   "responded": [1, 1, 0, 1, 0, 0]})
    >>> r = uplift(o, by=None).iloc[0]  # 2/3 - 1/3
    >>> round(float(r["estimate"]), 4), int(r["n_treated"]), int(r["n_holdout"])
    (0.3333, 3, 3)
    """
    groups = as_list(by)
    extra = [covariate] if covariate else []
    check_columns(outcomes, ["customer_id", "treated", outcome, *groups, *extra], "uplift", table="contact outcomes")
    if covariate:
        x = outcomes[covariate].to_numpy(dtype=float)
        y = outcomes[outcome].to_numpy(dtype=float)
        var = np.var(x)
        theta = np.cov(y, x, ddof=0)[0, 1] / var if var > 0 else 0.0
        outcomes = outcomes.assign(**{outcome: y - theta * (x - x.mean())})
    m = _arms(outcomes, outcome, groups, level)
    est = m["mean_t"] - m["mean_h"]
    se = np.sqrt(m["se_t"] ** 2 + m["se_h"] ** 2)
    lo, hi = normal_interval(est, se, level=level)
    res = estimate_frame(
        est.to_numpy(dtype=float),
        lo,
        hi,
        (m["n_t"] + m["n_h"]).to_numpy(),
        treated_mean=m["mean_t"].to_numpy(dtype=float),
        holdout_mean=m["mean_h"].to_numpy(dtype=float),
        n_treated=m["n_t"].to_numpy(),
        n_holdout=m["n_h"].to_numpy(),
        se=se.to_numpy(dtype=float),
        outcome=outcome,
    )
    return pd.concat([m[groups].reset_index(drop=True), res], axis=1) if groups else res


def shrink_uplift(frame: pd.DataFrame) -> pd.Series:
    """Uplifts of several groups pulled towards their mean, the less the more precise each is.

    An empirical-Bayes (James-Stein) shrinkage: with ``m`` the mean of the estimates, ``tau^2``
    their spread beyond what their standard errors explain (at least 0), a group's shrunk uplift
    is ``m + tau^2 / (tau^2 + se^2) (estimate - m)``. Small, noisy groups move most; when the
    groups differ no more than chance, all get ``m``. Useful to rank offer types or channels
    without chasing noise.

    Parameters
    ----------
    frame : pandas.DataFrame
        From :func:`uplift` (``estimate, se``).

    Returns
    -------
    pandas.Series
        Shrunk uplifts, aligned with ``frame``.

    Examples
    --------
    Two groups 0.10 and 0.00 apart (variance 0.005): with standard errors of 0.1 the noise (0.01)
    explains it all and both get the mean; with 0.05, tau^2 = 0.005 - 0.0025, so each moves half
    way to the mean.

    >>> shrink_uplift(pd.DataFrame({"estimate": [0.10, 0.00], "se": [0.1, 0.1]})).round(3).tolist()
    [0.05, 0.05]
    >>> shrink_uplift(pd.DataFrame({"estimate": [0.10, 0.00], "se": [0.05, 0.05]})).round(3).tolist()
    [0.075, 0.025]
    """
    check_columns(frame, ["estimate", "se"], "shrink_uplift", table="uplift")
    est, se = frame["estimate"].astype(float), frame["se"].astype(float)
    ok = est.notna() & se.notna()
    if ok.sum() < 2:
        return est.copy()
    m = est[ok].mean()
    tau2 = max(est[ok].var(ddof=1) - (se[ok] ** 2).mean(), 0.0)
    weight = tau2 / (tau2 + se**2) if tau2 > 0 else se * 0.0
    return (m + weight * (est - m)).where(ok, est)


def visit_ratio(outcomes: pd.DataFrame, *, by: str | Sequence[str] | None = None, level: float = 0.95) -> pd.DataFrame:
    """How many times as often contacted addressees visit as held-out ones, in the window.

    The ratio of the two arms' mean visits per contact, with a delta-method interval on the log
    scale from each arm's customer-clustered standard error. A ratio of 2 is the claim
    "clients contacted outside the store visit about twice as often".

    Parameters
    ----------
    outcomes : pandas.DataFrame
        From :func:`contact_outcomes`.
    by : str or sequence of str, optional
        Group columns; ``None`` for one row.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        ``estimate, ci_low, ci_high, n, treated_mean, holdout_mean`` (mean visits per contact).

    Examples
    --------
    >>> o = pd.DataFrame({"customer_id": [1, 2, 3, 4], "treated": [True, True, False, False],
    ...                   "visits": [2, 2, 1, 1]})
    >>> float(visit_ratio(o)["estimate"].iloc[0])  # 2 / 1
    2.0
    """
    groups = as_list(by)
    check_columns(outcomes, ["customer_id", "treated", "visits", *groups], "visit_ratio", table="contact outcomes")
    m = _arms(outcomes, "visits", groups, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (m["mean_t"] / m["mean_h"]).to_numpy(dtype=float)
        se_log = np.sqrt((m["se_t"] / m["mean_t"]) ** 2 + (m["se_h"] / m["mean_h"]) ** 2).to_numpy(dtype=float)
        lo, hi = normal_interval(np.log(ratio), se_log, level=level)
    res = estimate_frame(
        ratio,
        np.exp(lo),
        np.exp(hi),
        (m["n_t"] + m["n_h"]).to_numpy(),
        treated_mean=m["mean_t"].to_numpy(dtype=float),
        holdout_mean=m["mean_h"].to_numpy(dtype=float),
    )
    return pd.concat([m[groups].reset_index(drop=True), res], axis=1) if groups else res


def campaign_roi(
    outcomes: pd.DataFrame,
    costs: pd.DataFrame | pd.Series | float,
    *,
    margin: float,
    by: str | Sequence[str] = "month",
    covariate: str | None = "prior_revenue",
    level: float = 0.95,
) -> pd.DataFrame:
    """Incremental revenue and ROI of each campaign, from its randomised holdout.

    Incremental revenue = revenue uplift per contact x contacted addressees; ROI = (margin x
    incremental revenue - cost) / cost x 100. Both are linear in the uplift, so their
    intervals are the uplift's interval carried through.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        From :func:`contact_outcomes`.
    costs : pandas.Series, pandas.DataFrame or float
        Cost of each campaign: a Series indexed like the groups, a frame with the ``by``
        columns and ``cost``, or a cost per contacted addressee (a number).
    margin : float
        Share of a sale kept as margin (0 to 1).
    by : str or sequence of str
        What a campaign is (default the month of the contact).
    covariate : str, optional
        Pre-contact column that narrows the revenue uplift's interval (see :func:`uplift`).
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Per campaign: the ``by`` columns, ``n_treated, n_holdout, uplift_revenue`` (per
        contact) with ``uplift_ci_low/high``, ``incremental_revenue`` with
        ``incremental_ci_low/high``, ``cost``, ``roi_pct`` with ``roi_ci_low/high``,
        ``break_even_revenue`` (the incremental revenue at which the margin repays the cost:
        cost / margin) and ``roi_informative``: False when the cost is smaller than the
        uncertainty of the incremental margin (margin x half the incremental interval's width).
        The ROI interval is then more than 200 percentage points wide, because it divides an
        uncertain margin by a small cost; whether the incremental revenue clears
        ``break_even_revenue`` is the reading that still means something.

    Examples
    --------
    >>> o = pd.DataFrame({"customer_id": [1, 2, 3, 4], "month": "2026-03", "treated": [True, True, False, False],
    ...                   "revenue": [150.0, 250.0, 100.0, 100.0]})
    >>> r = campaign_roi(o, 10.0, margin=0.5).iloc[0]  # uplift 100 x 2 contacted = 200; (0.5*200 - 20)/20
    >>> float(r["incremental_revenue"]), float(r["cost"]), float(r["roi_pct"])
    (200.0, 20.0, 400.0)
    >>> float(r["break_even_revenue"])  # 20 / 0.5
    40.0
    """
    if not 0 <= margin <= 1:
        raise ValueError(f"campaign_roi: margin must be a share between 0 and 1, got {margin}")
    keys = as_list(by)
    u = uplift(
        outcomes, outcome="revenue", by=keys, covariate=covariate if covariate in outcomes else None, level=level
    )
    if isinstance(costs, int | float):
        cost = u["n_treated"].to_numpy(dtype=float) * float(costs)
    elif isinstance(costs, pd.DataFrame):
        check_columns(costs, [*keys, "cost"], "campaign_roi", table="campaign costs")
        cost = u[keys].merge(costs[[*keys, "cost"]], on=keys, how="left")["cost"].to_numpy(dtype=float)
    else:
        cost = pd.Series(costs).reindex(u[keys[0]]).to_numpy(dtype=float)
    n_t = u["n_treated"].to_numpy(dtype=float)
    out = u[keys].copy()
    out["n_treated"] = u["n_treated"].to_numpy()
    out["n_holdout"] = u["n_holdout"].to_numpy()
    out["uplift_revenue"] = u["estimate"].to_numpy()
    out["uplift_ci_low"] = u["ci_low"].to_numpy()
    out["uplift_ci_high"] = u["ci_high"].to_numpy()
    for name, col in [
        ("incremental_revenue", "estimate"),
        ("incremental_ci_low", "ci_low"),
        ("incremental_ci_high", "ci_high"),
    ]:
        out[name] = u[col].to_numpy() * n_t
    out["cost"] = cost
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, col in [
            ("roi_pct", "incremental_revenue"),
            ("roi_ci_low", "incremental_ci_low"),
            ("roi_ci_high", "incremental_ci_high"),
        ]:
            out[name] = np.where(cost > 0, (margin * out[col] - cost) / cost * 100, np.nan)
        out["break_even_revenue"] = np.where(margin > 0, cost / margin, np.nan)
    half_margin = margin * (out["incremental_ci_high"] - out["incremental_ci_low"]) / 2
    out["roi_informative"] = (cost > 0) & (cost >= half_margin.to_numpy(dtype=float))
    return out


def holdout_size(
    baseline: float,
    uplift: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    holdout_share: float = 0.2,
) -> pd.DataFrame:
    """Addressees a campaign needs to detect a given uplift in the response rate.

    Cohen's effect size for two proportions (arcsine transform) and the normal-approximation
    power of a two-sided test (``statsmodels.stats.power.NormalIndPower``), with a holdout of
    ``holdout_share`` of the addressees.

    Parameters
    ----------
    baseline : float
        Response rate without contact (the holdout's rate), 0 to 1.
    uplift : float or array-like
        Uplift to detect, in rate points (0.02 = 2 points).
    alpha : float
        Significance level of the test.
    power : float
        Chance of detecting the uplift when it is there.
    holdout_share : float
        Share of addressees held out (0 to 1, exclusive).

    Returns
    -------
    pandas.DataFrame
        ``uplift, effect_size, n_holdout, n_treated, n_total`` (whole addressees, rounded up).

    Examples
    --------
    Equal arms, 30 % -> 35 %: Cohen's h = 0.1068 and n = 2 (1.960 + 0.842)^2 / h^2 = 1375.6 per arm.

    >>> holdout_size(0.30, 0.05, holdout_share=0.5)[["n_holdout", "n_treated"]].iloc[0].tolist()
    [1376, 1376]
    """
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    if not 0 < holdout_share < 1:
        raise ValueError(f"holdout_size: holdout_share must be strictly between 0 and 1, got {holdout_share}")
    if not 0 < baseline < 1:
        raise ValueError(f"holdout_size: baseline must be a rate strictly between 0 and 1, got {baseline}")
    u = np.atleast_1d(np.asarray(uplift, dtype=float))
    if (u <= 0).any() or (baseline + u >= 1).any():
        raise ValueError(f"holdout_size: uplift must be positive and keep the rate below 1, got {u.tolist()}")
    es = np.abs(proportion_effectsize(baseline + u, baseline))
    ratio = (1 - holdout_share) / holdout_share  # treated per held-out addressee
    n_h = np.array([NormalIndPower().solve_power(effect_size=e, alpha=alpha, power=power, ratio=ratio) for e in es])
    n_h = np.ceil(n_h).astype(np.int64)
    n_t = np.ceil(n_h * ratio - 1e-9).astype(np.int64)
    return pd.DataFrame({"uplift": u, "effect_size": es, "n_holdout": n_h, "n_treated": n_t, "n_total": n_h + n_t})


def detectable_uplift(
    baseline: float, n_treated: int, n_holdout: int, *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest uplift in the response rate a campaign of this size detects with this power.

    Parameters
    ----------
    baseline : float
        Holdout response rate, 0 to 1.
    n_treated, n_holdout : int
        Addressees contacted and held out.
    alpha, power : float
        Test level and power.

    Returns
    -------
    float
        Uplift in rate points (NaN when either arm is empty).

    Examples
    --------
    >>> round(detectable_uplift(0.30, 1376, 1376), 3)
    0.05
    """
    from statsmodels.stats.power import NormalIndPower

    if n_treated < 1 or n_holdout < 1 or not 0 < baseline < 1:
        return float("nan")
    es = NormalIndPower().solve_power(nobs1=n_holdout, alpha=alpha, power=power, ratio=n_treated / n_holdout)
    # invert Cohen's h: h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p0))
    p1 = np.sin(np.arcsin(np.sqrt(baseline)) + es / 2) ** 2
    return float(p1 - baseline)


def targeting_comparison(
    transactions: pd.DataFrame,
    contacted: pd.Series,
    customers: pd.Series,
    *,
    reference_date,
    before_days: int = 90,
    after_days: int = 90,
    level: float = 0.95,
) -> pd.DataFrame:
    """Contacted vs not contacted without a randomised holdout: naive gap, before/after and balance.

    Spending per customer in the ``after_days`` from ``reference_date`` (the first contact),
    and in the ``before_days`` before it (revenue net of returns, visits counted as sales
    receipts, see :func:`contact_outcomes`). The naive gap compares the groups after; the
    before/after comparison (a difference in differences) subtracts the gap that was already
    there before; the balance rows show the gap before in standard deviations (the
    standardised mean difference; above 0.1 the groups are not alike).

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts: ``customer_id, date, amount``.
    contacted : pandas.Series
        Ids of customers who were contacted.
    customers : pandas.Series
        Ids of every customer to compare (contacted ones among them).
    reference_date : str or Timestamp
        Start of the "after" period (the campaign start).
    before_days, after_days : int
        Lengths of the two periods.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``comparison`` (``naive_gap_revenue``, ``before_after_revenue``,
        ``naive_gap_visits``, ``before_after_visits``, ``balance_revenue``, ``balance_visits``):
        ``estimate, ci_low, ci_high, n, contacted_mean, others_mean``. Balance rows are
        standardised differences (no interval).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3, 4], "amount": [10.0, 30.0, 10.0, 5.0, 5.0],
    ...     "date": pd.to_datetime(["2026-01-10", "2026-02-10", "2026-01-10", "2026-02-10", "2026-01-10"])})
    >>> r = targeting_comparison(tx, pd.Series([1, 2]), pd.Series([1, 2, 3, 4]), reference_date="2026-02-01",
    ...                          before_days=30, after_days=30)
    >>> r.loc[["naive_gap_revenue", "before_after_revenue"], "estimate"].tolist()  # 15 - 2.5; 12.5 - (10 - 2.5)
    [12.5, 5.0]
    """
    check_columns(transactions, ["customer_id", "date", "amount"], "targeting_comparison", table="transactions")
    ref = pd.Timestamp(reference_date)
    ids = pd.Index(pd.unique(customers.dropna()))
    # the two periods first, then the customers: the membership test runs on those receipts only
    when = transactions["date"]
    tx = transactions[(when >= ref - pd.Timedelta(days=before_days)) & (when < ref + pd.Timedelta(days=after_days))]
    tx = tx[tx["customer_id"].isin(ids)]
    period = np.select(
        [
            (tx["date"] >= ref - pd.Timedelta(days=before_days)) & (tx["date"] < ref),
            (tx["date"] >= ref) & (tx["date"] < ref + pd.Timedelta(days=after_days)),
        ],
        ["before", "after"],
        "",
    )
    visit = visit_flags(tx)
    tx = tx.assign(_p=period, _visit=visit.astype(float))[period != ""]
    agg = (
        tx.groupby(["customer_id", "_p"]).agg(sum=("amount", "sum"), size=("_visit", "sum")).unstack("_p", fill_value=0)
    )
    per = pd.DataFrame(index=ids)
    for what, col in [("revenue", "sum"), ("visits", "size")]:
        for p in ["before", "after"]:
            per[f"{what}_{p}"] = agg[(col, p)].reindex(ids, fill_value=0).astype(float) if (col, p) in agg else 0.0
    grp = np.where(ids.isin(contacted), "contacted", "others")
    rows = {}
    for what in ["revenue", "visits"]:
        after = mean_frame(per[f"{what}_after"].to_numpy(), grp, level=level)
        diff = mean_frame((per[f"{what}_after"] - per[f"{what}_before"]).to_numpy(), grp, level=level)
        before = per[f"{what}_before"].groupby(grp).agg(["mean", "std"])
        z = z_value(level)
        for name, f in [(f"naive_gap_{what}", after), (f"before_after_{what}", diff)]:
            if {"contacted", "others"} <= set(f.index):
                c, o = f.loc["contacted"], f.loc["others"]
                se = np.sqrt(((c.ci_high - c.ci_low) / (2 * z)) ** 2 + ((o.ci_high - o.ci_low) / (2 * z)) ** 2)
                est = c.estimate - o.estimate
                lo, hi = normal_interval(est, se, level=level)
                rows[name] = (est, float(lo), float(hi), int(c.n + o.n), c.estimate, o.estimate)
            else:
                rows[name] = (np.nan, np.nan, np.nan, int(f["n"].sum()), np.nan, np.nan)
        if {"contacted", "others"} <= set(before.index):
            pooled = np.sqrt((before.loc["contacted", "std"] ** 2 + before.loc["others", "std"] ** 2) / 2)
            smd = (before.loc["contacted", "mean"] - before.loc["others", "mean"]) / pooled if pooled > 0 else np.nan
            rows[f"balance_{what}"] = (
                smd,
                np.nan,
                np.nan,
                len(ids),
                before.loc["contacted", "mean"],
                before.loc["others", "mean"],
            )
        else:
            rows[f"balance_{what}"] = (np.nan, np.nan, np.nan, len(ids), np.nan, np.nan)
    order = [f"{k}_{w}" for w in ["revenue", "visits"] for k in ["naive_gap", "before_after", "balance"]]
    out = pd.DataFrame.from_dict(
        rows, orient="index", columns=["estimate", "ci_low", "ci_high", "n", "contacted_mean", "others_mean"]
    )
    out.index.name = "comparison"
    return out.loc[order]


#: Features of a contact the targeting model reads (numbers, then categories one-hot encoded).
TARGETING_NUMBERS = ("prior_visits", "prior_revenue", "days_since_last")
TARGETING_CATEGORIES = ("offer_type", "channel")


def _design(outcomes: pd.DataFrame, numbers: Sequence[str], categories: Sequence[str]) -> np.ndarray:
    """Numeric design matrix: log1p of the numbers (missing days as a large gap), one-hot categories."""
    cols = []
    for c in numbers:
        v = outcomes[c].to_numpy(dtype=float)
        v = np.where(np.isnan(v), np.nanmax(np.r_[v, 0.0]) * 2 + 365, v)
        cols.append(np.log1p(np.maximum(v, 0))[:, None])
    for c in categories:
        cols.append(pd.get_dummies(outcomes[c].astype(str), dtype=float).to_numpy())
    return np.hstack(cols) if cols else np.zeros((len(outcomes), 0))


def uplift_scores(
    outcomes: pd.DataFrame,
    *,
    outcome: str = "responded",
    test_share: float = 0.5,
    seed: int = 0,
    numbers: Sequence[str] = TARGETING_NUMBERS,
    categories: Sequence[str] = TARGETING_CATEGORIES,
) -> pd.DataFrame:
    """Predicted uplift of each held-out contact from a two-model learner (scikit-learn).

    Customers are split at random into a training and a test part (all of a customer's
    contacts on the same side). On the training part one logistic regression learns the
    response of contacted addressees and another that of held-out ones; a test contact's
    predicted uplift is the difference of the two predicted probabilities. The test part is
    never seen by the models, so the curves of :func:`qini_curve` on it are honest.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        From :func:`contact_outcomes` (a randomised holdout is needed).
    outcome : str
        Binary outcome to model.
    test_share : float
        Share of customers held out for the evaluation.
    seed : int
        Seed of the customer split.
    numbers, categories : sequence of str
        Feature columns.

    Returns
    -------
    pandas.DataFrame
        The test contacts: their ``outcomes`` columns plus ``score`` (predicted uplift).

    Raises
    ------
    ValueError
        When the training part lacks contacted or held-out addressees, or responses of both kinds.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    check_columns(
        outcomes, ["customer_id", "treated", outcome, *numbers, *categories], "uplift_scores", table="contact outcomes"
    )
    if not 0 < test_share < 1:
        raise ValueError(f"uplift_scores: test_share must be strictly between 0 and 1, got {test_share}")
    ids = pd.unique(outcomes["customer_id"])
    rng = np.random.default_rng(seed)
    test_ids = ids[rng.random(len(ids)) < test_share]
    is_test = outcomes["customer_id"].isin(test_ids).to_numpy()
    X = _design(outcomes, numbers, categories)
    y = outcomes[outcome].to_numpy(dtype=int)
    w = outcomes["treated"].to_numpy(dtype=bool)
    preds = []
    for arm in (True, False):
        fit_rows = ~is_test & (w == arm)
        if fit_rows.sum() < 10 or len(np.unique(y[fit_rows])) < 2:
            raise ValueError(
                "uplift_scores: the training part needs contacted and held-out addressees with both outcomes "
                f"({'contacted' if arm else 'held-out'}: {int(fit_rows.sum())} contacts)"
            )
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
        model.fit(X[fit_rows], y[fit_rows])
        preds.append(model.predict_proba(X[is_test])[:, 1])
    return outcomes[is_test].assign(score=preds[0] - preds[1]).reset_index(drop=True)


def qini_curve(scored: pd.DataFrame, *, score: str = "score", outcome: str = "responded", points: int = 20):
    """Qini curve: extra responses gained by contacting the top share of addressees by ``score``.

    At each share ``k`` of addressees ranked by ``score`` (highest first), the incremental
    responses are ``R_t(k) - R_h(k) * N_t(k) / N_h(k)`` (responses among contacted minus held-out
    responses scaled to the contacted count), per 100 contacts ranked; the uplift at ``k`` is the
    difference of the two arms' response rates in the top ``k`` with a normal interval. A random
    order gives the straight line from 0 to the overall gain.

    Parameters
    ----------
    scored : pandas.DataFrame
        Contacts with ``treated``, the outcome and the score column.
    score : str
        Ranking column (higher is contacted first).
    outcome : str
        Binary outcome.
    points : int
        Number of shares on the curve (1/points, 2/points, ... 1).

    Returns
    -------
    pandas.DataFrame
        ``share, incremental_per_100`` (Qini), ``estimate, ci_low, ci_high`` (uplift at k, rate
        points), ``n``.

    Examples
    --------
    >>> s = pd.DataFrame({"treated": [True, False, True, False], "responded": [1, 0, 0, 0],
    ...                   "score": [4, 3, 2, 1]})
    >>> qini_curve(s, points=2)[["share", "incremental_per_100", "estimate"]]
       share  incremental_per_100  estimate
    0    0.5                 25.0       1.0
    1    1.0                 25.0       0.5
    """
    check_columns(scored, ["treated", outcome, score], "qini_curve", table="scored contacts")
    d = scored.sort_values(score, ascending=False, kind="stable")
    w = d["treated"].to_numpy(dtype=bool)
    y = d[outcome].to_numpy(dtype=float)
    n_t, n_h = np.cumsum(w), np.cumsum(~w)
    r_t, r_h = np.cumsum(y * w), np.cumsum(y * ~w)
    n = len(d)
    cut = np.unique(np.ceil(np.arange(1, points + 1) / points * n).astype(int)) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(n_h[cut] > 0, r_t[cut] - r_h[cut] * n_t[cut] / n_h[cut], np.nan)
        p_t, p_h = r_t[cut] / n_t[cut], r_h[cut] / n_h[cut]
        se = np.sqrt(p_t * (1 - p_t) / n_t[cut] + p_h * (1 - p_h) / n_h[cut])
    lo, hi = normal_interval(p_t - p_h, se)
    return pd.DataFrame(
        {
            "share": (cut + 1) / n,
            "incremental_per_100": 100 * gain / n,
            "estimate": p_t - p_h,
            "ci_low": lo,
            "ci_high": hi,
            "n": cut + 1,
        }
    )
