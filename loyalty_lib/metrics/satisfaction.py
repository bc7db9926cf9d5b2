"""Stage 05, after use: NPS, CSAT and whether satisfaction predicts that a client comes back.

* **NPS** (Net Promoter Score): "How likely are you to recommend us, 0-10?" Promoters answer
  9-10, detractors 0-6; NPS = % promoters - % detractors, on a scale from -100 to +100.
* **CSAT**: "How satisfied are you, 1-5?" Reported as the share answering 4 or 5 and as the
  mean answer.
* **Return after a survey**: did the respondent buy again within ``horizon_days``? A logistic
  regression of that on the NPS answer (plus controls) gives an odds ratio per NPS point. It
  says how strongly satisfaction *predicts* return; it is not proof that raising satisfaction
  *causes* return (both may follow from how good a customer the respondent already is; the
  controls only remove what they measure).

Intervals resample whole customers (one customer may answer several surveys).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from loyalty_lib.metrics._common import as_list
from loyalty_lib.stats import (
    ESTIMATE_COLUMNS,
    bootstrap_draws,
    bootstrap_frame,
    estimate_frame,
    normal_interval,
    proportion_frame,
)
from loyalty_lib.stats import check_columns as _require

__all__ = [
    "csat",
    "fitted_return_curve",
    "nps",
    "nps_class",
    "retention_frame",
    "retention_logit",
    "return_rate_by_score",
    "survey_context",
]

PROMOTER_MIN = 9
DETRACTOR_MAX = 6


def _check_range(s: pd.Series, lo: int, hi: int, name: str) -> None:
    v = s.dropna()
    bad = (v < lo) | (v > hi)
    if bad.any():
        raise ValueError(f"column '{name}' must lie in [{lo}, {hi}]; offending rows {list(v.index[bad][:5])}")


def _answers(
    surveys: pd.DataFrame, score_col: str, customer_col: str, groups: list[str], scale: tuple[int, int], where: str
) -> tuple[pd.DataFrame, pd.Series]:
    """Check the survey columns and the answer scale; the answered rows and their scores.

    Returns ``(d, s)``: ``d`` holds ``customer_col`` and ``groups`` of the rows with an answer
    (a copy), ``s`` their answers as floats.
    """
    _require(surveys, [customer_col, score_col, *groups], where)
    _check_range(surveys[score_col], *scale, score_col)
    answered = surveys[score_col].notna()
    d = surveys.loc[answered, [customer_col, *groups]].copy()
    s = surveys.loc[answered, score_col].astype(float)
    return d, s


def nps_class(scores) -> pd.Categorical:
    """Promoter (9-10), passive (7-8) or detractor (0-6) for each NPS answer.

    Returns
    -------
    pandas.Categorical
        Categories ``detractor, passive, promoter``; NaN answers stay NaN.

    Examples
    --------
    >>> list(nps_class([10, 8, 6]))
    ['promoter', 'passive', 'detractor']
    """
    s = np.asarray(scores, dtype=float)
    codes = np.where(np.isnan(s), -1, np.where(s >= PROMOTER_MIN, 2, np.where(s > DETRACTOR_MAX, 1, 0)))
    return pd.Categorical.from_codes(codes, categories=["detractor", "passive", "promoter"])


def _grouped_bootstrap(
    d: pd.DataFrame,
    groups: list[str],
    value_cols: list[str],
    combine,
    *,
    customer_col: str,
    n_boot: int,
    seed: int,
    level: float,
    extras: dict | None = None,
) -> pd.DataFrame:
    """Bootstrap (customers resampled) of ``combine(sums, n)`` per group.

    ``sums`` is a (k, G) array of per-group sums of ``value_cols`` and ``n`` the per-group
    counts; ``combine`` returns the statistic per group (G,) and must broadcast, as it is also
    called on a batch of resamples (``sums`` (k, b, G), ``n`` (b, G)). ``extras`` maps column
    names to functions of the same arguments, evaluated on the full data only (no interval).
    """
    if len(groups) > 1:  # an answer with any grouping value missing is in no group, as with one column
        complete = d[groups].notna().all(axis=1).to_numpy()
        codes = np.full(len(d), -1, dtype=np.int64)  # no mutate: any negative code means no group
        keys = pd.Series(list(map(tuple, d.loc[complete, groups].astype(object).to_numpy())), dtype=object)
        codes[complete], uniq = pd.factorize(keys, sort=True)
    elif groups:
        codes, uniq = pd.factorize(d[groups[0]], sort=True)
    else:
        codes, uniq = np.zeros(len(d), dtype=np.int64), pd.Index(["all"])
    G = len(uniq)
    f = pd.DataFrame({"_g": codes, "_c": d[customer_col].to_numpy()})
    for c in value_cols:
        f[c] = d[c].to_numpy(float)
    f = f[f["_g"] >= 0]

    # per customer and group: answers and sums; a resample weights customers by how often
    # they were drawn, so each replicate is a matrix product (no loop over customers)
    g = f["_g"].to_numpy()
    cust, _ = pd.factorize(f["_c"], sort=False)  # no mutate: the codes' order only relabels the resampled customers
    C = int(cust.max()) + 1 if len(cust) else 0
    key = cust * G + g
    n_cg = np.bincount(key, minlength=C * G).reshape(C, G).astype(float)
    v_cg = np.stack([np.bincount(key, weights=f[c].to_numpy(), minlength=C * G).reshape(C, G) for c in value_cols])
    n = n_cg.sum(axis=0)
    sums = v_cg.sum(axis=1)

    def stat(w: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return combine(w @ v_cg, w @ n_cg)

    draws = bootstrap_draws(C, stat, n_boot=n_boot, seed=seed, counts=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = bootstrap_frame(combine(sums, n), draws, n=n.astype(int), level=level)
    for name, fn in (extras or {}).items():
        with np.errstate(invalid="ignore", divide="ignore"):
            boot[name] = fn(sums, n)
    if groups:  # one column per grouping column (a group of several columns is a tuple)
        boot = pd.concat([pd.DataFrame(list(uniq), columns=groups), boot], axis=1)
    return boot


def nps(
    surveys: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    score_col: str = "nps",
    customer_col: str = "customer_id",
    n_boot: int = 300,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Net Promoter Score (points, -100..100) with a customer-bootstrap interval.

    Parameters
    ----------
    surveys : pandas.DataFrame
        Survey answers; rows with an empty ``score_col`` are left out.
    by : str or list of str, optional
        Grouping columns (e.g. ``"stage"``, ``"customer_type"``).
    score_col, customer_col : str
        Column names.
    n_boot, seed, level
        Bootstrap settings.

    Returns
    -------
    pandas.DataFrame
        Columns ``*by, estimate, ci_low, ci_high, n, promoters, passives, detractors``
        (the last three are shares in [0, 1]; ``n`` = answers).

    Examples
    --------
    >>> sv = pd.DataFrame({"customer_id": [1, 2, 3, 4, 5], "nps": [10, 9, 8, 6, 0]})
    >>> float(nps(sv, n_boot=10)["estimate"].iloc[0])  # (2 promoters - 2 detractors) / 5
    0.0
    """
    groups = as_list(by)
    d, s = _answers(surveys, score_col, customer_col, groups, (0, 10), "nps")
    d["_p"] = (s >= PROMOTER_MIN).astype(float)
    d["_d"] = (s <= DETRACTOR_MAX).astype(float)
    out = _grouped_bootstrap(
        d,
        groups,
        ["_p", "_d"],
        lambda sums, n: 100 * (sums[0] - sums[1]) / n,
        customer_col=customer_col,
        n_boot=n_boot,
        seed=seed,
        level=level,
        extras={
            "promoters": lambda sums, n: sums[0] / n,
            "detractors": lambda sums, n: sums[1] / n,
            "passives": lambda sums, n: 1 - (sums[0] + sums[1]) / n,
        },
    )
    return out[[*groups, *ESTIMATE_COLUMNS, "promoters", "passives", "detractors"]]


def csat(
    surveys: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    score_col: str = "csat",
    customer_col: str = "customer_id",
    n_boot: int = 300,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """CSAT as the share of 4-5 answers and as the mean answer, with bootstrap intervals.

    Parameters
    ----------
    surveys : pandas.DataFrame
        Survey answers; rows with an empty ``score_col`` are left out.
    by : str or list of str, optional
        Grouping columns.
    score_col, customer_col : str
        Column names.
    n_boot, seed, level
        Bootstrap settings.

    Returns
    -------
    pandas.DataFrame
        Columns ``*by, metric, estimate, ci_low, ci_high, n``; ``metric`` is ``csat_share``
        (share of 4-5, in [0, 1]) or ``csat_mean`` (1-5).

    Examples
    --------
    >>> sv = pd.DataFrame({"customer_id": [1, 2, 3, 4], "csat": [5, 4, 3, 1]})
    >>> csat(sv, n_boot=10)["estimate"].tolist()  # 2 of 4 are 4-5; (5+4+3+1)/4
    [0.5, 3.25]
    """
    groups = as_list(by)
    d, s = _answers(surveys, score_col, customer_col, groups, (1, 5), "csat")
    d["_top"] = (s >= 4).astype(float)
    d["_s"] = s
    frames = []
    for name, col in (("csat_share", "_top"), ("csat_mean", "_s")):
        r = _grouped_bootstrap(
            d,
            groups,
            [col],
            lambda sums, n: sums[0] / n,
            customer_col=customer_col,
            n_boot=n_boot,
            seed=seed,
            level=level,
        )
        r.insert(len(groups), "metric", name)
        frames.append(r)
    return pd.concat(frames, ignore_index=True)[[*groups, "metric", *ESTIMATE_COLUMNS]]


def _position(values, keys) -> np.ndarray:
    from loyalty_lib.validation import _position as lookup  # Arrow's hash lookup for text ids

    return lookup(values, keys)


def _of_customers(transactions: pd.DataFrame, ids: pd.Series, customer_col: str) -> pd.DataFrame:
    """The receipts of the customers ``ids`` (all rows of each, in their order)."""
    return transactions[_position(transactions[customer_col], pd.Series(ids).dropna().unique()) >= 0]


def survey_context(
    surveys: pd.DataFrame,
    transactions: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    thresholds: Sequence[float] = (1500.0, 5000.0, 15000.0),
    customer_col: str = "customer_id",
    date_col: str = "date",
) -> pd.DataFrame:
    """Attach segments to each survey: customer type, channel and tier of the receipt it followed.

    The receipt is the survey's ``transaction_id`` when given, otherwise the respondent's last
    receipt on or before the survey date.

    Parameters
    ----------
    surveys, transactions, customers : pandas.DataFrame
        Contract tables.
    thresholds : sequence of float
        Tier thresholds for the receipt's gross amount.
    customer_col, date_col : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        A copy of ``surveys`` (same index) plus ``customer_type``, ``channel``,
        ``gross_amount`` and ``tier`` (NaN when no receipt is found).
    """
    from loyalty_lib.metrics.basket import assign_tier

    _require(surveys, [customer_col, date_col], "survey_context(surveys)")
    _require(
        transactions,
        ["transaction_id", customer_col, date_col, "gross_amount", "channel"],
        "survey_context(transactions)",
    )
    _require(customers, [customer_col, "customer_type"], "survey_context(customers)")
    out = surveys.drop(columns=["customer_type", "channel", "gross_amount", "tier"], errors="ignore").copy()
    out["customer_type"] = out[customer_col].map(
        customers.drop_duplicates(customer_col).set_index(customer_col)["customer_type"]
    )
    tx = transactions[["transaction_id", customer_col, date_col, "gross_amount", "channel"]]
    ch = pd.Series(np.nan, index=out.index, dtype=object)
    gross = pd.Series(np.nan, index=out.index, dtype=float)
    if "transaction_id" in out.columns:  # the survey's receipt: the first receipt row with its id
        at = _position(out["transaction_id"], tx["transaction_id"])
        found = at >= 0
        ch = pd.Series(
            np.where(found, tx["channel"].to_numpy(dtype=object)[np.maximum(at, 0)], np.nan),
            index=out.index,
            dtype=object,
        )
        gross = pd.Series(
            np.where(found, tx["gross_amount"].to_numpy(dtype=float)[np.maximum(at, 0)], np.nan), index=out.index
        )
    todo = gross.isna() & out[date_col].notna()
    if todo.any():
        left = out.loc[todo, [customer_col, date_col]].reset_index().sort_values(date_col)
        right = _of_customers(tx, left[customer_col], customer_col)[[customer_col, date_col, "gross_amount", "channel"]]
        right = right.sort_values(date_col)
        right = right.rename(columns={date_col: "_tx_date"})
        m = pd.merge_asof(
            left, right, left_on=date_col, right_on="_tx_date", by=customer_col, direction="backward"
        ).set_index(left.columns[0])
        gross.loc[m.index] = m["gross_amount"].astype(float)
        ch.loc[m.index] = m["channel"].astype(object)
    out["channel"] = ch
    out["gross_amount"] = gross
    out["tier"] = assign_tier(gross, thresholds) if len(thresholds) else np.nan  # no tiers known: no tier segment
    return out


def retention_frame(
    surveys: pd.DataFrame,
    transactions: pd.DataFrame,
    *,
    horizon_days: int = 90,
    end=None,
    customer_col: str = "customer_id",
    date_col: str = "date",
) -> pd.DataFrame:
    """Whether each respondent bought again within ``horizon_days`` after the survey.

    "After" means on a later calendar day than the survey and than the receipt the survey
    followed, so the surveyed purchase itself never counts as a return. Only surveys answered
    at least ``horizon_days`` before the end of the data are ``eligible``: for later ones the
    window is cut off and a "no return" could just be "not yet".

    Parameters
    ----------
    surveys, transactions : pandas.DataFrame
        Contract tables.
    horizon_days : int
        Return window in days.
    end : date-like, optional
        End of the observation window (exclusive, ``Study.end``); default the day after the
        last receipt.
    customer_col, date_col : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        A copy of ``surveys`` (same index) plus ``prior_visits`` (receipts up to and including
        the survey day), ``next_purchase`` (first later receipt, NaT if none),
        ``days_to_return``, ``returned`` (bool) and ``eligible`` (bool).
    """
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be positive, got {horizon_days}")
    _require(surveys, [customer_col, date_col], "retention_frame(surveys)")
    _require(transactions, [customer_col, date_col], "retention_frame(transactions)")
    end = pd.Timestamp(end) if end is not None else transactions[date_col].max().normalize() + pd.Timedelta(days=1)
    out = surveys.copy()
    ref = out[date_col].dt.normalize()
    if "transaction_id" in out.columns and "transaction_id" in transactions.columns:
        at = _position(out["transaction_id"], transactions["transaction_id"])  # first receipt row with the id
        when = transactions[date_col].to_numpy()[np.maximum(at, 0)]
        tdate = pd.Series(np.where(at >= 0, when, np.datetime64("NaT")), index=out.index).astype(
            transactions[date_col].dtype
        )
        ref = pd.concat([ref, tdate.dt.normalize()], axis=1).max(axis=1)
    # customers as integer codes shared by both tables: sorting, grouping and the as-of joins on
    # string ids cost most of the time on millions of receipts; only the respondents' receipts matter
    mine = _of_customers(transactions, out[customer_col], customer_col)[[customer_col, date_col]]
    codes, _ = pd.factorize(pd.concat([mine[customer_col], out[customer_col]], ignore_index=True))
    tx = pd.DataFrame({customer_col: codes[: len(mine)], "_day": mine[date_col].dt.normalize().to_numpy()})
    tx = tx[tx[customer_col] >= 0].sort_values([customer_col, "_day"], kind="stable")  # anonymous receipts: no one
    tx["_k"] = tx.groupby(customer_col).cumcount() + 1
    # receipts up to and including a day: the last cumulative count of that day
    daily = tx.groupby([customer_col, "_day"], sort=False)["_k"].max().reset_index()  # no mutate: re-sorted next
    daily = daily.sort_values("_day")
    left = pd.DataFrame(
        {"_row": np.arange(len(out)), customer_col: codes[len(mine) :], "_ref": ref.to_numpy()}
    ).sort_values("_ref")
    left = left[left["_ref"].notna()]
    back = pd.merge_asof(
        left,
        daily.rename(columns={"_day": "_prev"}),
        left_on="_ref",
        right_on="_prev",
        by=customer_col,
        direction="backward",
    )
    fwd = pd.merge_asof(
        left,
        daily[[customer_col, "_day"]].rename(columns={"_day": "_next"}),
        left_on="_ref",
        right_on="_next",
        by=customer_col,
        direction="forward",
        allow_exact_matches=False,
    )
    prior = np.zeros(len(out))
    nxt = np.full(len(out), np.datetime64("NaT"), dtype="datetime64[ns]")
    prior[back["_row"].to_numpy()] = back["_k"].fillna(0).to_numpy()
    nxt[fwd["_row"].to_numpy()] = fwd["_next"].to_numpy()
    out["prior_visits"] = prior.astype("int64")
    out["next_purchase"] = pd.to_datetime(nxt)
    out["days_to_return"] = (out["next_purchase"] - ref).dt.days
    returned = out["days_to_return"] <= horizon_days
    eligible = ref + pd.Timedelta(days=horizon_days) < end
    # a comparison with a missing day is already False; the fill guards nullable dtypes
    out["returned"] = returned.fillna(False).astype(bool)  # no mutate: see above
    out["eligible"] = eligible.fillna(False).astype(bool)  # no mutate: see above
    return out


def return_rate_by_score(
    frame: pd.DataFrame,
    *,
    score_col: str = "nps",
    returned_col: str = "returned",
    level: float = 0.95,
) -> pd.DataFrame:
    """Share of respondents who came back, for each NPS answer 0-10 (Wilson intervals).

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of :func:`retention_frame`, already filtered to eligible surveys.
    score_col, returned_col : str
        Column names.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per score 0..10: ``score, estimate, ci_low, ci_high, n, successes``.
    """
    _require(frame, [score_col, returned_col], "return_rate_by_score")
    d = frame[frame[score_col].notna()]
    s = d[score_col].astype(int)
    n = s.value_counts().reindex(range(11), fill_value=0)
    k = d[returned_col].astype(float).groupby(s).sum().reindex(range(11), fill_value=0)
    out = proportion_frame(k.to_numpy(), n.to_numpy(), level=level)
    out.insert(0, "score", np.arange(11))
    return out


def _design(frame: pd.DataFrame, score_col: str, controls: Sequence[str]) -> pd.DataFrame:
    one = 1.0  # no mutate: any non-zero constant makes the intercept's column (the intercept is not reported)
    X = pd.DataFrame({"const": one, score_col: frame[score_col].astype(float)}, index=frame.index)
    for c in controls:
        v = frame[c]
        if pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v):
            name = f"log1p_{c}" if c.endswith(("visits", "count")) else c
            X[name] = np.log1p(v.astype(float)) if name.startswith("log1p_") else v.astype(float)
        else:
            dummies = pd.get_dummies(v.astype(str), prefix=c, drop_first=True, dtype=float)
            X = X.join(dummies)
    keep = [c for c in X.columns if c == "const" or X[c].nunique() > 1]
    return X[keep]


def retention_logit(
    frame: pd.DataFrame,
    *,
    score_col: str = "nps",
    controls: Sequence[str] = ("customer_type", "prior_visits"),
    returned_col: str = "returned",
    customer_col: str = "customer_id",
    level: float = 0.95,
) -> pd.DataFrame:
    """Logistic regression of returning on the NPS answer: odds ratios with 95 % CIs.

    ``logit P(returned) = b0 + b1 * nps + controls``. ``exp(b1)`` is the odds ratio per NPS
    point: how many times the odds of coming back multiply for each extra point, holding the
    controls fixed. Numeric controls whose name ends in ``visits`` or ``count`` enter as
    ``log(1 + x)``; text controls as dummies (first level dropped); a control with a single
    value in the data is dropped. Standard errors are clustered by customer.

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of :func:`retention_frame` filtered to eligible surveys (plus the control
        columns, e.g. from :func:`survey_context`).
    score_col : str
        NPS column.
    controls : sequence of str
        Control columns; ``()`` for the unadjusted model.
    returned_col, customer_col : str
        Column names.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``term`` (``nps``, the controls, not the intercept): ``estimate`` (odds
        ratio), ``ci_low, ci_high, n`` (surveys), ``coef, std_err, p_value``.
    """
    import statsmodels.api as sm

    _require(frame, [score_col, returned_col, customer_col, *controls], "retention_logit")
    d = frame.dropna(subset=[score_col, *controls])
    if len(d) < 10 or d[returned_col].nunique() < 2:
        raise ValueError(f"retention_logit: need at least 10 eligible surveys with both outcomes, got {len(d)}")
    X = _design(d, score_col, controls)
    y = d[returned_col].astype(float)
    groups = pd.factorize(d[customer_col])[0]
    cluster = {"cov_type": "cluster", "cov_kwds": {"groups": groups}}
    res = sm.Logit(y, X).fit(disp=0, **cluster)  # no mutate: disp only prints the optimiser's progress
    b, se = res.params, res.bse
    lo, hi = normal_interval(b, se, level=level)
    out = estimate_frame(
        np.exp(b), np.exp(lo), np.exp(hi), int(res.nobs), index=b.index, coef=b, std_err=se, p_value=res.pvalues
    ).drop(index="const")
    out.index.name = "term"
    return out


def fitted_return_curve(
    frame: pd.DataFrame,
    *,
    score_col: str = "nps",
    returned_col: str = "returned",
    customer_col: str = "customer_id",
    level: float = 0.95,
) -> pd.DataFrame:
    """Return probability by NPS answer from the one-variable logistic fit, with a band.

    Parameters
    ----------
    frame : pandas.DataFrame
        Eligible surveys (see :func:`retention_frame`).
    score_col, returned_col, customer_col : str
        Column names.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        101 rows over scores 0..10: ``score, estimate, ci_low, ci_high``.
    """
    import statsmodels.api as sm

    _require(frame, [score_col, returned_col, customer_col], "fitted_return_curve")
    d = frame.dropna(subset=[score_col])
    X = sm.add_constant(d[score_col].astype(float).to_numpy())
    y = d[returned_col].astype(float).to_numpy()
    cluster = {"cov_type": "cluster", "cov_kwds": {"groups": pd.factorize(d[customer_col])[0]}}
    res = sm.Logit(y, X).fit(disp=0, **cluster)  # no mutate: disp only prints the optimiser's progress
    grid = np.linspace(0, 10, 101)
    G = np.column_stack([np.ones_like(grid), grid])
    eta = G @ res.params
    se = np.sqrt(np.einsum("ij,jk,ik->i", G, res.cov_params(), G))
    lo, hi = normal_interval(eta, se, level=level)
    expit = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    return pd.DataFrame({"score": grid, "estimate": expit(eta), "ci_low": expit(lo), "ci_high": expit(hi)})
