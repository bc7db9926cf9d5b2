"""Shared statistical building blocks: proportion intervals, cluster bootstrap, estimate frames.

Every estimate in the suite comes back as a frame with ``estimate, ci_low, ci_high, n``
columns (:data:`ESTIMATE_COLUMNS`), so tables and plots can show the interval and the planted
truth can be joined beside it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats as sps

ESTIMATE_COLUMNS = ["estimate", "ci_low", "ci_high", "n"]


def wilson_ci(successes, trials, *, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for binomial proportions (vectorised).

    Parameters
    ----------
    successes, trials : array-like
        Counts; where ``trials`` is 0 the interval is ``(nan, nan)``.
    level : float
        Confidence level.

    Returns
    -------
    low, high : numpy.ndarray
        Interval bounds.

    Examples
    --------
    >>> lo, hi = wilson_ci(8, 10)
    >>> round(float(lo), 3), round(float(hi), 3)
    (0.49, 0.943)
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = sps.norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        low, high = centre - half, centre + half
    bad = n <= 0
    low, high = np.where(bad, np.nan, low), np.where(bad, np.nan, high)
    return np.clip(low, 0, 1), np.clip(high, 0, 1)


def proportion_frame(successes, trials, *, index=None, level: float = 0.95) -> pd.DataFrame:
    """Proportions with Wilson intervals as an estimate frame.

    Returns
    -------
    pandas.DataFrame
        Columns ``estimate, ci_low, ci_high, n, successes``.
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    lo, hi = wilson_ci(k, n, level=level)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = np.where(n > 0, k / n, np.nan)
    return pd.DataFrame(
        {"estimate": est, "ci_low": lo, "ci_high": hi, "n": n.astype(int), "successes": k.astype(int)},
        index=index,
    )


def mean_ci(values, *, level: float = 0.95) -> tuple[float, float, float, int]:
    """Mean with a t interval.

    Returns
    -------
    tuple
        ``(estimate, ci_low, ci_high, n)``.
    """
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    n = len(v)
    if n == 0:
        return (np.nan, np.nan, np.nan, 0)
    m = float(v.mean())
    if n == 1:
        return (m, np.nan, np.nan, 1)
    half = sps.t.ppf(0.5 + level / 2, n - 1) * v.std(ddof=1) / np.sqrt(n)
    return (m, m - half, m + half, n)


def cluster_bootstrap(
    frame: pd.DataFrame,
    statistic: Callable[[pd.DataFrame], float | pd.Series],
    *,
    cluster_col: str = "customer_id",
    n_boot: int = 500,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Percentile bootstrap that resamples whole clusters (customers) with replacement.

    Resampling customers, not rows, keeps each customer's purchases together, so the interval
    reflects that one customer's receipts are not independent.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy data with one or more rows per cluster.
    statistic : callable
        ``statistic(frame) -> float or Series``; called on the data and on each resample.
    cluster_col : str
        Column identifying clusters.
    n_boot : int
        Number of resamples.
    seed : int
        Seed of ``numpy.random.default_rng``.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per statistic component with ``estimate, ci_low, ci_high, n`` (``n`` = clusters).
    """
    if cluster_col not in frame:
        raise ValueError(f"cluster_bootstrap: column '{cluster_col}' not in the frame")
    rng = np.random.default_rng(seed)
    codes, uniques = pd.factorize(frame[cluster_col], sort=False)
    n_clusters = len(uniques)
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(n_clusters + 1))
    sizes = np.diff(starts)
    point = pd.Series(statistic(frame), dtype=float)
    draws = np.empty((n_boot, len(point)))
    for b in range(n_boot):
        pick = rng.integers(0, n_clusters, n_clusters)
        counts = sizes[pick]
        # positions of every row of every picked cluster, without a loop over clusters
        offs = np.repeat(starts[pick] - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        draws[b] = pd.Series(statistic(frame.iloc[order[offs]]), dtype=float).to_numpy()
    a = (1 - level) / 2
    low, high = np.nanquantile(draws, [a, 1 - a], axis=0)
    return pd.DataFrame(
        {"estimate": point.to_numpy(), "ci_low": low, "ci_high": high, "n": n_clusters},
        index=point.index,
    )


def with_truth(estimates: pd.DataFrame, truth: dict | pd.Series | None) -> pd.DataFrame:
    """Join planted truth beside estimates and flag whether the interval covers it.

    Parameters
    ----------
    estimates : pandas.DataFrame
        Estimate frame indexed by what is estimated.
    truth : mapping or Series or None
        Planted values by the same index; ``None`` (real data) adds empty columns.

    Returns
    -------
    pandas.DataFrame
        ``estimates`` plus ``truth`` and ``covered`` columns.
    """
    out = estimates.copy()
    t = pd.Series(truth if truth is not None else {}, dtype=float)
    out["truth"] = out.index.map(lambda k: t.get(k, np.nan))
    covered = ((out["ci_low"] <= out["truth"]) & (out["truth"] <= out["ci_high"])).astype("boolean")
    out["covered"] = covered.mask(out["truth"].isna())
    return out
