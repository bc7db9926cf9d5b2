"""The one statistical core: input checks, intervals, the customer bootstrap, estimate frames.

Every estimate in the suite comes back as a frame with ``estimate, ci_low, ci_high, n``
columns (:data:`ESTIMATE_COLUMNS`), so tables and plots can show the interval and the planted
truth can be joined beside it. This module is the only place that

- checks that a table has the columns a function needs (:func:`check_columns`);
- turns a confidence level into a quantile (:func:`z_value`, :func:`t_value`);
- builds intervals: normal (:func:`normal_interval`), Student t (:func:`t_interval`,
  :func:`mean_frame`), Wilson for proportions (:func:`wilson_ci`, :func:`proportion_frame`),
  cluster-robust ratio of sums (:func:`ratio_frame`) and bootstrap percentile
  (:func:`percentile_interval`);
- resamples customers (:func:`bootstrap_draws`, on :func:`scipy.stats.bootstrap`;
  :func:`cluster_bootstrap` for a statistic of a tidy frame) and turns the replicates into an
  estimate frame (:func:`bootstrap_frame`);
- assembles estimate frames (:func:`estimate_frame`) and joins planted truth
  (:func:`with_truth`);
- formats a number for people (:func:`format_number`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

ESTIMATE_COLUMNS = ["estimate", "ci_low", "ci_high", "n"]

__all__ = [
    "ESTIMATE_COLUMNS",
    "bootstrap_draws",
    "bootstrap_frame",
    "bootstrap_se",
    "check_columns",
    "cluster_bootstrap",
    "covers",
    "estimate_frame",
    "format_number",
    "mean_frame",
    "normal_interval",
    "percentile_interval",
    "proportion_frame",
    "ratio_frame",
    "resample_counts",
    "t_interval",
    "t_value",
    "wilson_ci",
    "with_truth",
    "z_value",
]


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------
def check_columns(
    df: pd.DataFrame,
    cols: Sequence[str],
    where: str,
    *,
    table: str | None = None,
    quote: bool = True,
    frame: bool = True,
) -> None:
    """Raise ``ValueError`` naming every column of ``cols`` missing from ``df``.

    Parameters
    ----------
    df : pandas.DataFrame
        The table to check.
    cols : sequence of str
        Columns the caller needs.
    where : str
        Name of the calling function, put first in the message.
    table : str, optional
        Name of the table (``transactions``, ``cards``...), put in the message.
    quote : bool
        Name the missing columns as ``'a', 'b'`` (default) or bare, ``a, b``.
    frame : bool
        Also refuse anything that is not a pandas DataFrame (default).

    Returns
    -------
    None

    Raises
    ------
    ValueError
        ``"<where>: table '<table>' lacks column(s) 'a', 'b' (present: x, y)"`` (without a
        table: ``"<where>: missing column(s) 'a', 'b' (present: x, y)"``), or ``"<where>:
        expected a pandas DataFrame, got <type>"``.

    Examples
    --------
    >>> check_columns(pd.DataFrame({"x": [1]}), ["x", "y"], "f", table="receipts")
    Traceback (most recent call last):
    ...
    ValueError: f: table 'receipts' lacks column(s) 'y' (present: x)
    """
    if frame and not isinstance(df, pd.DataFrame):
        what = f"table '{table}'" if table else "the input"
        raise ValueError(f"{where}: {what} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        names = ", ".join(repr(c) if quote else str(c) for c in missing)
        lead = f"table '{table}' lacks column(s)" if table else "missing column(s)"
        raise ValueError(f"{where}: {lead} {names} (present: {', '.join(map(str, df.columns))})")


# --------------------------------------------------------------------------------------------
# quantiles and intervals
# --------------------------------------------------------------------------------------------
def _check_level(level: float) -> float:
    level = float(level)
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be between 0 and 1 (e.g. 0.95), got {level}")
    return level


def z_value(level: float = 0.95) -> float:
    """Two-sided standard-normal quantile of a confidence level: 1.96 for 95 %.

    Parameters
    ----------
    level : float
        Confidence level in (0, 1).

    Returns
    -------
    float
        ``z`` with ``P(-z < Z < z) = level``.

    Examples
    --------
    >>> round(z_value(0.95), 4), round(z_value(0.90), 4)
    (1.96, 1.6449)
    """
    return float(sps.norm.ppf(0.5 + _check_level(level) / 2))


def t_value(level: float, dof) -> np.ndarray | float:
    """Two-sided Student-t quantile of a confidence level with ``dof`` degrees of freedom.

    Parameters
    ----------
    level : float
        Confidence level in (0, 1).
    dof : float or array-like
        Degrees of freedom (``n - 1`` for a mean of ``n`` values); NaN where ``dof < 1``.

    Returns
    -------
    float or numpy.ndarray
        ``t`` with ``P(-t < T < t) = level``.

    Examples
    --------
    >>> round(float(t_value(0.95, 2)), 4)
    4.3027
    """
    d = np.asarray(dof, dtype=float)
    out = np.where(d >= 1, sps.t.ppf(0.5 + _check_level(level) / 2, np.maximum(d, 1)), np.nan)
    return float(out) if out.ndim == 0 else out


def normal_interval(estimate, se, *, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Normal (Wald) interval ``estimate ± z · se``.

    Parameters
    ----------
    estimate, se : float or array-like
        Point estimates and their standard errors.
    level : float
        Confidence level.

    Returns
    -------
    low, high : numpy.ndarray
        Interval bounds (NaN where ``se`` is NaN).

    Examples
    --------
    >>> lo, hi = normal_interval(10.0, 1.0)
    >>> round(float(lo), 2), round(float(hi), 2)
    (8.04, 11.96)
    """
    est = np.asarray(estimate, dtype=float)
    half = z_value(level) * np.asarray(se, dtype=float)
    return est - half, est + half


def t_interval(mean, sd, n, *, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Student-t interval of a mean, ``mean ± t(n - 1) · sd / sqrt(n)``.

    Parameters
    ----------
    mean, sd, n : float or array-like
        Sample means, standard deviations (``ddof=1``) and sizes; NaN bounds where ``n < 2``.
    level : float
        Confidence level.

    Returns
    -------
    low, high : numpy.ndarray
        Interval bounds.

    Examples
    --------
    >>> lo, hi = t_interval(2.0, 1.0, 3)  # half-width 4.3027 / sqrt(3) = 2.4841
    >>> round(float(lo), 4), round(float(hi), 4)
    (-0.4841, 4.4841)
    """
    m = np.asarray(mean, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = t_value(level, n - 1) * np.asarray(sd, dtype=float) / np.sqrt(n)
    return m - half, m + half


def percentile_interval(draws, *, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of bootstrap draws, column by column, ignoring NaN draws.

    Parameters
    ----------
    draws : array-like
        ``(n_boot,)`` or ``(n_boot, k)`` bootstrap replicates.
    level : float
        Confidence level.

    Returns
    -------
    low, high : numpy.ndarray
        The ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles (linear interpolation).

    Examples
    --------
    >>> lo, hi = percentile_interval(np.arange(101.0), level=0.9)
    >>> round(float(lo), 6), round(float(hi), 6)
    (5.0, 95.0)
    """
    a = (1 - _check_level(level)) / 2
    d = np.asarray(draws, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column gives NaN bounds
        low, high = np.nanquantile(d, [a, 1 - a], axis=0)
    return low, high


def bootstrap_se(draws) -> np.ndarray:
    """Bootstrap standard error: the standard deviation (``ddof=1``) of the replicates.

    Parameters
    ----------
    draws : array-like
        ``(n_boot,)`` or ``(n_boot, k)`` replicates; NaN replicates are left out.

    Returns
    -------
    numpy.ndarray
        One standard error per column (NaN with fewer than two finite replicates).

    Examples
    --------
    >>> float(bootstrap_se([1.0, 2.0, 3.0]))
    1.0
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanstd(np.asarray(draws, dtype=float), axis=0, ddof=1)


def estimate_frame(estimate, ci_low, ci_high, n, *, index=None, **extra) -> pd.DataFrame:
    """Build the estimate frame every estimator returns: ``estimate, ci_low, ci_high, n``.

    Parameters
    ----------
    estimate, ci_low, ci_high, n : scalar or array-like
        Point estimates, interval bounds and sample sizes (scalars are broadcast).
    index : array-like or pandas.Index, optional
        What each row estimates.
    **extra
        Further columns, in the order given (``se``, ``n_customers``...).

    Returns
    -------
    pandas.DataFrame
        Columns ``estimate, ci_low, ci_high, n`` then the ``extra`` columns.

    Examples
    --------
    >>> estimate_frame([1.0], [0.5], [1.5], 10, index=["a"], se=0.25)
       estimate  ci_low  ci_high   n    se
    a       1.0     0.5      1.5  10  0.25
    """
    cols = {"estimate": estimate, "ci_low": ci_low, "ci_high": ci_high, "n": n, **extra}
    if all(np.ndim(v) == 0 for v in cols.values()):
        cols = {k: [v] for k, v in cols.items()}
    return pd.DataFrame(cols, index=index)


# --------------------------------------------------------------------------------------------
# proportions, means, ratios
# --------------------------------------------------------------------------------------------
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
    z = z_value(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        low, high = centre - half, centre + half
    bad = n <= 0  # no mutate: with no trials the formula gives NaN by itself, so < and <= agree
    low, high = np.where(bad, np.nan, low), np.where(bad, np.nan, high)
    # the bounds lie in [0, 1]; rounding can put the low one a hair below 0 (0 of 21) and the
    # high one a hair above 1 (16 of 16)
    return np.maximum(low, 0.0), np.minimum(high, 1.0)


def proportion_frame(successes, trials, *, index=None, level: float = 0.95) -> pd.DataFrame:
    """Proportions with Wilson intervals as an estimate frame.

    Parameters
    ----------
    successes, trials : array-like
        Counts per row.
    index : array-like, optional
        Row labels.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Columns ``estimate, ci_low, ci_high, n, successes``.

    Examples
    --------
    >>> proportion_frame([1, 3], [4, 4], index=["a", "b"])["estimate"].tolist()
    [0.25, 0.75]
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    lo, hi = wilson_ci(k, n, level=level)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = np.where(n > 0, k / n, np.nan)  # no mutate: with no trials (and so no successes) k / n is NaN anyway
    return estimate_frame(est, lo, hi, n.astype(int), index=index, successes=k.astype(int))


def mean_frame(values, by=None, *, level: float = 0.95) -> pd.DataFrame:
    """Means with Student-t intervals, overall or per group (vectorised over groups).

    Parameters
    ----------
    values : array-like or pandas.Series
        Values; NaN are left out (and not counted in ``n``).
    by : array-like or pandas.Series or list of them, optional
        Group keys aligned with ``values``; ``None`` gives one row labelled ``all``.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Indexed by group, columns ``estimate, ci_low, ci_high, n, total`` (``total`` = sum of
        the values); the interval is NaN for a group of fewer than two values.

    Examples
    --------
    >>> mean_frame([1.0, 2.0, 3.0, np.nan]).round(4)  # t(0.975, 2) = 4.3027
         estimate  ci_low  ci_high  n  total
    all       2.0 -0.4841   4.4841  3    6.0
    """
    v = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=float))
    v = v.astype(float)
    if by is None:
        by = pd.Series("all", index=v.index)
    a = v.groupby(by, observed=True, sort=True).agg(["mean", "std", "count", "sum"])
    lo, hi = t_interval(a["mean"], a["std"], a["count"], level=level)
    return estimate_frame(
        a["mean"].to_numpy(), lo, hi, a["count"].to_numpy(int), index=a.index, total=a["sum"].to_numpy()
    )


def ratio_frame(
    frame: pd.DataFrame,
    num: str,
    den: str,
    *,
    cluster: str,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Ratio of sums per group with a cluster-robust (linearised, delta-method) interval.

    For the ``G`` clusters ``c`` (customers) of a group, with sums ``A_c`` of ``num`` and
    ``N_c`` of ``den``, the ratio is ``m = sum A / sum N`` and ``Var(m) ~= G / (G - 1) *
    sum (A_c - m N_c)^2 / (sum N)^2``: one customer's rows move together, so they count as one
    draw, not as independent rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows (receipts, ledger entries... or already one row per cluster).
    num, den : str
        Numerator and denominator columns.
    cluster : str
        Cluster column.
    by : str or sequence of str, optional
        Group columns; ``None`` gives one row.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per group (the ``by`` columns first, positional index), columns ``estimate,
        ci_low, ci_high, n`` (clusters with a positive denominator), ``numerator,
        denominator`` (the sums). No interval for a group of fewer than two clusters.

    Examples
    --------
    >>> d = pd.DataFrame({"c": [1, 1, 2, 3], "y": [1.0, 0.0, 1.0, 1.0], "one": 1.0})
    >>> ratio_frame(d, "y", "one", cluster="c")[["estimate", "n", "denominator"]]
       estimate  n  denominator
    0      0.75  3          4.0
    """
    groups = [by] if isinstance(by, str) else list(by or [])
    check_columns(frame, [cluster, num, den, *groups], "ratio_frame")
    keys = groups or ["_all"]
    d = frame[[cluster, *groups]].assign(_num=frame[num].astype(float), _den=frame[den].astype(float))
    if not groups:
        d["_all"] = 0  # no mutate: one constant key, whatever its value
    per = d.groupby([*keys, cluster], observed=True, dropna=False)[["_num", "_den"]].sum().reset_index()
    g = per.groupby(keys, dropna=False)  # for transform: the rows keep their order
    tot = g[["_num", "_den"]].transform("sum")
    with np.errstate(invalid="ignore", divide="ignore"):
        m = tot["_num"] / tot["_den"]
    per = per.assign(_z2=(per["_num"] - m * per["_den"]) ** 2, _pos=per["_den"] > 0)
    out = per.groupby(keys, observed=True, dropna=False).agg(  # sorted like per
        numerator=("_num", "sum"),
        denominator=("_den", "sum"),
        _z2=("_z2", "sum"),
        _g=("_z2", "size"),
        n=("_pos", "sum"),
    )
    size = out["_g"].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = (out["numerator"] / out["denominator"]).where(out["denominator"] > 0)
        se = (np.sqrt(size / (size - 1) * out["_z2"]) / out["denominator"]).where(size > 1)
    lo, hi = normal_interval(est, se, level=level)
    res = estimate_frame(
        est.to_numpy(),
        lo,
        hi,
        out["n"].to_numpy("int64"),
        index=out.index,
        numerator=out["numerator"].to_numpy(),
        denominator=out["denominator"].to_numpy(),
    )
    return res.reset_index() if groups else res.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# the customer (cluster) bootstrap
# --------------------------------------------------------------------------------------------
def bootstrap_draws(
    n_clusters: int,
    statistic: Callable[[np.ndarray], np.ndarray],
    *,
    n_boot: int = 500,
    seed: int = 0,
    batch: int = 50,  # no mutate: the batch size changes memory, not the draws (tested)
    counts: bool = False,
) -> np.ndarray:
    """Bootstrap replicates of a statistic of resampled clusters (customers).

    Each resample draws ``n_clusters`` cluster numbers out of ``0 .. n_clusters - 1`` with
    replacement (:func:`scipy.stats.bootstrap` draws them, ``batch`` resamples at a time, from
    ``numpy.random.default_rng(seed)``). The statistic sees the drawn numbers, so it can select
    whole customers' rows, or weight per-customer sums by how often each customer was drawn
    (:func:`resample_counts`) - a resample then costs a matrix product, not a loop.

    Parameters
    ----------
    n_clusters : int
        Number of clusters.
    statistic : callable
        ``statistic(idx)`` with ``idx`` an ``(b, n_clusters)`` integer array of drawn clusters,
        one resample per row; returns ``(b,)`` or ``(b, k)`` values.
    n_boot : int
        Number of resamples.
    seed : int
        Seed of the generator.
    batch : int
        Resamples per call of ``statistic`` (memory: ``batch * n_clusters`` integers).
    counts : bool
        Hand the statistic ``(b, n_clusters)`` float counts of how often each cluster was
        drawn (:func:`resample_counts`) instead of the drawn numbers: a statistic of
        per-customer sums ``S`` is then ``counts @ S``.

    Returns
    -------
    numpy.ndarray
        ``(n_boot, k)`` replicates (``k = 1`` for a scalar statistic).

    Examples
    --------
    >>> v = np.array([1.0, 2.0, 3.0])
    >>> bootstrap_draws(3, lambda idx: v[idx].mean(axis=1), n_boot=4).shape
    (4, 1)
    """
    if n_boot < 1:
        raise ValueError(f"bootstrap: n_boot must be at least 1, got {n_boot}")
    if n_clusters < 1:
        raise ValueError("bootstrap: no clusters (customers) to resample")
    rng = np.random.default_rng(seed)

    def per_batch(idx):
        out = np.asarray(statistic(resample_counts(idx, n_clusters) if counts else idx), dtype=float)
        return out.reshape(len(idx), -1)  # no mutate: any negative size means "the rest" to numpy

    if n_clusters < 2:  # scipy needs two observations; one cluster resamples to itself
        return np.vstack([per_batch(np.zeros((1, n_clusters), dtype=np.int64))] * n_boot)
    with warnings.catch_warnings():
        # scipy warns when a replicate is NaN; percentile_interval ignores NaN replicates
        warnings.simplefilter("ignore", sps.DegenerateDataWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        res = sps.bootstrap(
            (np.arange(n_clusters),),
            lambda idx, axis=-1: per_batch(idx).T,  # no mutate: axis is scipy's argument, unused here
            n_resamples=int(n_boot),
            batch=int(batch),
            vectorized=True,
            method="percentile",
            rng=rng,
        )
    draws = np.asarray(res.bootstrap_distribution, dtype=float)
    return draws.reshape(-1, int(n_boot)).T  # no mutate: any negative size means "the rest" to numpy


def resample_counts(idx: np.ndarray, n_clusters: int) -> np.ndarray:
    """How often each cluster was drawn, per resample.

    Parameters
    ----------
    idx : numpy.ndarray
        ``(b, m)`` drawn cluster numbers (as passed to the statistic of
        :func:`bootstrap_draws`).
    n_clusters : int
        Number of clusters.

    Returns
    -------
    numpy.ndarray
        ``(b, n_clusters)`` float counts; a statistic that is a ratio of per-customer sums
        becomes ``counts @ sums``.

    Examples
    --------
    >>> resample_counts(np.array([[0, 0, 2], [1, 2, 2]]), 3)
    array([[2., 0., 1.],
           [0., 1., 2.]])
    """
    idx = np.asarray(idx)
    b = len(idx)
    flat = (idx + (np.arange(b) * n_clusters)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n_clusters).reshape(b, n_clusters).astype(float)


def bootstrap_frame(point, draws, *, n, level: float = 0.95, index=None, **extra) -> pd.DataFrame:
    """Estimate frame of a bootstrap: the point estimates with percentile intervals of the draws.

    Parameters
    ----------
    point : array-like
        ``(k,)`` estimates on the data.
    draws : array-like
        ``(n_boot, k)`` replicates (from :func:`bootstrap_draws`); NaN replicates are left out.
    n : int or array-like
        Sample size (customers).
    level : float
        Confidence level.
    index : array-like or pandas.Index, optional
        What each estimate is.
    **extra
        Further columns.

    Returns
    -------
    pandas.DataFrame
        Columns ``estimate, ci_low, ci_high, n`` then the ``extra`` columns.

    Examples
    --------
    >>> bootstrap_frame([2.0], np.arange(101.0)[:, None] / 25, n=5, level=0.9)[["ci_low", "ci_high"]]
       ci_low  ci_high
    0     0.2      3.8
    """
    low, high = percentile_interval(draws, level=level)
    return estimate_frame(np.asarray(point, dtype=float), low, high, n, index=index, **extra)


def cluster_bootstrap(
    frame: pd.DataFrame,
    statistic: Callable[[pd.DataFrame], float | pd.Series],
    *,
    cluster_col: str = "customer_id",
    n_boot: int = 500,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Percentile bootstrap of a statistic of a tidy frame, resampling whole customers.

    Resampling customers, not rows, keeps each customer's purchases together, so the interval
    reflects that one customer's receipts are not independent. Built on
    :func:`bootstrap_draws`; use that directly when the statistic can be written on
    per-customer sums (much faster).

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
        One row per statistic component with ``estimate, ci_low, ci_high, n`` (``n`` =
        clusters) and ``se`` (standard deviation of the replicates).

    Examples
    --------
    >>> df = pd.DataFrame({"customer_id": [1, 1, 2, 3], "x": [1.0, 1.0, 2.0, 3.0]})
    >>> out = cluster_bootstrap(df, lambda d: d["x"].mean(), n_boot=50)
    >>> float(out.loc[0, "estimate"]), int(out.loc[0, "n"])
    (1.75, 3)
    """
    check_columns(frame, [cluster_col], "cluster_bootstrap")
    codes, uniques = pd.factorize(frame[cluster_col], sort=False)  # no mutate: the order only relabels customers
    n_clusters = len(uniques)
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(n_clusters + 1))  # no mutate: extra starts go unused
    sizes = np.diff(starts)
    point = pd.Series(statistic(frame), dtype=float)

    def stat(idx):
        rows = []
        for pick in idx:
            counts = sizes[pick]
            # positions of every row of every picked cluster, without a loop over clusters
            offs = np.repeat(starts[pick] - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
            rows.append(pd.Series(statistic(frame.iloc[order[offs]]), dtype=float).to_numpy())
        return np.vstack(rows)

    draws = bootstrap_draws(n_clusters, stat, n_boot=n_boot, seed=seed)
    return bootstrap_frame(
        point.to_numpy(), draws, n=n_clusters, level=level, index=point.index, se=bootstrap_se(draws)
    )


# --------------------------------------------------------------------------------------------
# planted truth and formatting
# --------------------------------------------------------------------------------------------
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

    Examples
    --------
    >>> est = estimate_frame([1.0], [0.5], [1.5], 10, index=["a"])
    >>> bool(with_truth(est, {"a": 1.2}).loc["a", "covered"])
    True
    """
    out = estimates.copy()
    t = pd.Series(truth if truth is not None else {}, dtype=float)
    out["truth"] = out.index.map(lambda k: t.get(k, np.nan))
    out["covered"] = covers(out)
    return out


def covers(frame: pd.DataFrame) -> pd.Series:
    """Whether each row's interval contains its ``truth`` (``<NA>`` where no truth is given).

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``ci_low``, ``ci_high`` and ``truth``.

    Returns
    -------
    pandas.Series of boolean

    Examples
    --------
    >>> f = pd.DataFrame({"ci_low": [0.0, 0.0, 0.0], "ci_high": [1.0, 1.0, 1.0], "truth": [0.5, 2.0, None]})
    >>> covers(f).tolist()
    [True, False, <NA>]
    """
    t = frame["truth"]
    inside = (frame["ci_low"] <= t) & (t <= frame["ci_high"])
    return inside.astype("boolean").mask(t.isna())


def format_number(value, unit: str = "", *, millions: bool = False) -> str:
    """Format a number for people: shares as percent, money with thousands separators.

    Shares (``unit="%"``) print as percent with one decimal, ``"pp"`` as signed percentage
    points; counts and anything from 100 up without decimals (thin-space thousands), from 10 up
    with one decimal, smaller numbers with three significant digits. A missing value prints
    as ``–``.

    Parameters
    ----------
    value : float or None
        The number.
    unit : str
        ``"%"``, ``"pp"``, ``"count"``, a currency or unit name, or ``""``.
    millions : bool
        Write a million and more as ``107.6 M`` (scorecards).

    Returns
    -------
    str
        The number with its unit.

    Examples
    --------
    >>> format_number(12345.6, "RUB"), format_number(0.4567, "%"), format_number(12.34, "days")
    ('12\u202f346 RUB', '45.7 %', '12.3 days')
    >>> format_number(107_620_021.0, "RUB", millions=True), format_number(float("nan"), "RUB")
    ('107.6 M RUB', '–')
    """
    if value is None or pd.isna(value):
        return "–"
    value = float(value)
    if unit == "%":
        return f"{100 * value:.1f} %"
    if unit == "pp":
        return f"{100 * value:+.1f} pp"
    suffix = ""
    if millions and abs(value) >= 1e6:
        s, suffix = f"{value / 1e6:,.1f}", " M"
    elif unit == "count" or abs(value) >= 100:
        s = f"{value:,.0f}"
    elif abs(value) >= 10:
        s = f"{value:.1f}"
    else:
        s = f"{value:.3g}"
    s = s.replace(",", "\u202f") + suffix
    return s if unit in ("", "count") else f"{s} {unit}"
