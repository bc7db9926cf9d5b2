"""Customer lifetime value: RFM summaries, BG/NBD and Gamma-Gamma models, discounted CLV.

The buy-till-you-die approach in four steps:

1. :func:`rfm_summary` turns receipts into one row per customer with ``frequency`` (repeat
   purchase periods), ``recency`` (age at the last purchase), ``T`` (age at the end of the
   observation) and ``monetary_value`` (mean spend of the repeat periods), with the same
   definitions as ``lifetimes.utils.summary_data_from_transaction_data`` and pymc-marketing's
   ``rfm_summary``; :func:`calibration_and_holdout` adds what happened in a later holdout window.
2. :func:`fit_bgnbd` fits the BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your
   customers the easy way") on ``frequency, recency, T``.
3. :func:`fit_gamma_gamma` fits the Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and
   CLV: using iso-value curves") on ``frequency, monetary_value`` of repeat buyers.
4. :func:`expected_purchases`, :func:`probability_alive`, :func:`expected_spend` and :func:`clv`
   turn the fitted parameters into per-customer predictions and a discounted lifetime value.

Both fits are maximum likelihood over log-parameters with :func:`scipy.optimize.minimize`;
standard errors come from a numerical Hessian (delta method back to the natural scale), so every
parameter has a 95 % interval (:meth:`ClvFit.to_frame`).

What the models can and cannot tell: they extrapolate each customer's own past (how often, how
recently, how much) under stationary behaviour. They say nothing about *why* customers differ,
so a member/non-member CLV gap is descriptive, not the causal effect of the card.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import special as sc

from loyalty_lib.stats import check_columns, estimate_frame, mean_frame, normal_interval, percentile_interval

__all__ = [
    "ClvFit",
    "ClvFitError",
    "ClvFitWarning",
    "calibration_and_holdout",
    "calibration_holdout_table",
    "clv",
    "clv_interval",
    "expected_purchases",
    "expected_purchases_population",
    "expected_spend",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "probability_alive",
    "rfm_summary",
    "summarise_clv",
]

RFM_COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary_value"]
HOLDOUT_COLUMNS = ["frequency_holdout", "monetary_value_holdout", "duration_holdout"]
BGNBD_PARAMS = ("r", "alpha", "a", "b")
GAMMA_GAMMA_PARAMS = ("p", "q", "gamma")
#: Average number of each time unit in a month (365.25 / 12 days).
PERIODS_PER_MONTH = {"D": 365.25 / 12, "W": 365.25 / 12 / 7, "M": 1.0}


class ClvFitError(RuntimeError):
    """A CLV model could not be fitted (optimiser did not converge, or the data are degenerate)."""


class ClvFitWarning(UserWarning):
    """A CLV fit converged, but to the edge of the parameter space or without standard errors."""


#: Log-parameters are searched in [-_BOUND, _BOUND]. A shape parameter (r, a, b, p, q) beyond
#: e^_EDGE_SHAPE (~22,000) or a scale parameter (alpha, gamma; in time or money units) beyond
#: e^_EDGE_SCALE (~6.6e7) counts as run to the edge of the parameter space.
_BOUND = 20.0
_EDGE_SHAPE = 10.0
_EDGE_SCALE = 18.0
_SCALES = ("alpha", "gamma")
_EDGE_HINT = {
    "r": "r, alpha -> infinity means buying rates hardly differ between customers.",
    "alpha": "r, alpha -> infinity means buying rates hardly differ between customers.",
    "a": (
        "a -> 0 or b -> infinity means the data show (almost) no dropout, so the BG/NBD reduces "
        "to a pure NBD purchase model; predictions remain usable, a and b are not separately "
        "identified."
    ),
    "p": (
        "p -> infinity means customers' spends hardly vary around their own mean compared with "
        "the spread between customers; expected spend is then each repeat buyer's own average."
    ),
    "q": (
        "q -> infinity means mean spend hardly differs between customers; expected spend is "
        "then close to the population mean."
    ),
}
_EDGE_HINT["b"] = _EDGE_HINT["a"]
_EDGE_HINT["gamma"] = "gamma -> 0 or infinity goes with p or q running off."


# --------------------------------------------------------------------------------------------
# RFM summaries
# --------------------------------------------------------------------------------------------


def _period_ordinals(dates: pd.Series | pd.Timestamp, freq: str) -> np.ndarray:
    """Integer period numbers of ``dates`` (differences are whole periods of ``freq``)."""
    if isinstance(dates, pd.Timestamp):
        dates = pd.Series([dates])
    values = pd.to_datetime(dates)
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    if freq == "D":
        return values.to_numpy("datetime64[D]").astype(np.int64)
    if freq == "W":
        # pandas' "W" periods are weeks ending on Sunday (Monday to Sunday); day 0
        # (1970-01-01) is a Thursday, so day -3 is the Monday that starts week 0.
        return (values.to_numpy("datetime64[D]").astype(np.int64) + 3) // 7
    return values.dt.to_period(freq).array.asi8.astype(np.int64)


def _period_table(
    transactions: pd.DataFrame,
    *,
    customer_col: str,
    date_col: str,
    amount_col: str | None,
    freq: str,
    who: str,
):
    """Validate receipts and return (customer codes, uniques, period ordinals, amounts)."""
    cols = [customer_col, date_col] + ([amount_col] if amount_col else [])
    check_columns(transactions, cols, who)
    ids = transactions[customer_col]
    bad_id = ids.isna().to_numpy()
    if bad_id.any():
        rows = list(transactions.index[bad_id][:10])
        raise ValueError(f"{who}: column '{customer_col}' has {bad_id.sum()} empty value(s), rows {rows}")
    try:
        dates = pd.to_datetime(transactions[date_col])
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{who}: column '{date_col}' cannot be read as dates ({exc})") from exc
    bad_date = dates.isna().to_numpy()
    if bad_date.any():
        rows = list(transactions.index[bad_date][:10])
        raise ValueError(f"{who}: column '{date_col}' has {bad_date.sum()} missing date(s), rows {rows}")
    if amount_col:
        amount = pd.to_numeric(transactions[amount_col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(amount) | (amount < 0)
        if bad.any():
            rows = list(transactions.index[bad][:10])
            raise ValueError(
                f"{who}: column '{amount_col}' has {bad.sum()} missing, non-numeric or negative value(s), rows {rows}"
            )
    else:
        amount = np.zeros(len(transactions))
    codes, uniques = pd.factorize(ids, sort=True)
    return codes.astype(np.int64), uniques, _period_ordinals(dates, freq), amount


def _customer_periods(codes, ordinals, amount, keep, n_customers):
    """Per customer: distinct purchase periods, first and last period, spend outside the first.

    Sort-free: first/last by ``np.minimum.at``/``np.maximum.at``, distinct periods by hashing
    (customer, period) keys, sums by ``np.bincount``.
    """
    codes, ordinals, amount = codes[keep], ordinals[keep], amount[keep]
    first = np.full(n_customers, np.iinfo(np.int64).max)
    last = np.full(n_customers, np.iinfo(np.int64).min)
    np.minimum.at(first, codes, ordinals)
    np.maximum.at(last, codes, ordinals)
    if len(codes):
        omin = ordinals.min()
        span = int(ordinals.max() - omin) + 1
        ukey = pd.unique(codes * span + (ordinals - omin))
        n_periods = np.bincount(ukey // span, minlength=n_customers)
    else:
        n_periods = np.zeros(n_customers, dtype=np.int64)
    in_first = ordinals == first[codes]
    total = np.bincount(codes, weights=amount, minlength=n_customers)
    after_first = np.bincount(codes, weights=np.where(in_first, 0.0, amount), minlength=n_customers)
    return n_periods, first, last, total, after_first


def rfm_summary(
    transactions: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = "amount",
    observation_end=None,
    freq: str = "D",
    time_scaler: float = 1.0,
) -> pd.DataFrame:
    """Recency-frequency-monetary summary per customer, as the BG/NBD and Gamma-Gamma need it.

    Receipts are first collapsed per period of ``freq`` (several purchases in one period count
    as one purchase period, their amounts summed). Receipts in periods after the period of
    ``observation_end`` are ignored. Definitions are those of lifetimes'
    ``summary_data_from_transaction_data`` and pymc-marketing's ``rfm_summary``.

    Parameters
    ----------
    transactions : pandas.DataFrame
        One row per receipt.
    customer_col, date_col : str
        Customer key and purchase time columns.
    amount_col : str or None
        Spend column; ``None`` gives ``monetary_value`` 0 for everybody.
    observation_end : str or datetime-like, optional
        End of observation (inclusive, by period); default the last receipt's date.
    freq : str
        Period length: ``"D"`` day, ``"W"`` week (Monday to Sunday, as pandas' ``"W"``) or any
        other pandas period alias.
    time_scaler : float
        ``recency`` and ``T`` are divided by it (e.g. ``freq="D", time_scaler=7`` gives ages in
        weeks counted to the day, the convention of the published CDNOW summary).

    Returns
    -------
    pandas.DataFrame
        One row per customer with a purchase period up to ``observation_end``, sorted by
        customer, indexed by the customer key (unnamed index, so that ``merge``/``groupby`` on
        the column stay unambiguous) and with columns:

        - ``customer_id``: the customer key (whatever ``customer_col`` was called);
        - ``frequency`` (int): number of repeat purchase periods (purchase periods − 1);
        - ``recency`` (float): last − first purchase period, in periods / time_scaler;
        - ``T`` (float): period of ``observation_end`` − first purchase period, same units;
        - ``monetary_value`` (float): mean spend of the repeat periods, 0 when ``frequency`` is 0.

    Raises
    ------
    ValueError
        If a column is missing, a customer key or date is empty, or an amount is missing or
        negative (the message names the column and the first offending rows).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 1, 2],
    ...                    "date": ["2026-01-01", "2026-01-01", "2026-01-05", "2026-01-03"],
    ...                    "amount": [10.0, 5.0, 20.0, 7.0]})
    >>> out = rfm_summary(tx, observation_end="2026-01-11")
    >>> out[["frequency", "recency", "T", "monetary_value"]]
       frequency  recency     T  monetary_value
    1          1      4.0  10.0            20.0
    2          0      0.0   8.0             0.0
    """
    who = "rfm_summary"
    codes, uniques, ords, amount = _period_table(
        transactions,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        freq=freq,
        who=who,
    )
    if not time_scaler > 0:
        raise ValueError(f"{who}: time_scaler must be positive, got {time_scaler}")
    if observation_end is None:
        if len(ords) == 0:
            raise ValueError(f"{who}: no transactions and no observation_end")
        end = int(ords.max())
    else:
        end = int(_period_ordinals(pd.Timestamp(observation_end), freq)[0])
    n_periods, first, last, _, repeat_spend = _customer_periods(codes, ords, amount, ords <= end, len(uniques))
    present = n_periods > 0
    f = np.maximum(n_periods - 1, 0)
    mon = np.where(f > 0, repeat_spend / np.maximum(f, 1), 0.0)
    rec = (last - first) / time_scaler
    t_age = (end - first) / time_scaler
    ids = pd.Index(uniques)[present]
    out = pd.DataFrame(
        {
            "customer_id": ids,
            "frequency": f[present],
            "recency": rec[present].astype(float),
            "T": t_age[present].astype(float),
            "monetary_value": mon[present],
        },
    )
    out.index = pd.Index(ids.to_numpy(), name=None)
    return out


def calibration_and_holdout(
    transactions: pd.DataFrame,
    *,
    calibration_end,
    observation_end,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str | None = "amount",
    freq: str = "D",
    time_scaler: float = 1.0,
) -> pd.DataFrame:
    """Split receipts into a calibration summary and what each customer did in the holdout.

    Parameters
    ----------
    transactions : pandas.DataFrame
        One row per receipt.
    calibration_end, observation_end : str or datetime-like
        Last day (period) of the calibration window and of the holdout window.
    customer_col, date_col, amount_col, freq, time_scaler
        As in :func:`rfm_summary`.

    Returns
    -------
    pandas.DataFrame
        The :func:`rfm_summary` of the calibration window (customers who bought in it), plus

        - ``frequency_holdout`` (int): purchase periods in the holdout window;
        - ``monetary_value_holdout`` (float): their mean spend (0 when none);
        - ``duration_holdout`` (float): holdout length, in periods / time_scaler.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "amount": [10.0, 4.0, 6.0],
    ...                    "date": ["2026-01-01", "2026-01-09", "2026-01-02"]})
    >>> calibration_and_holdout(tx, calibration_end="2026-01-05",
    ...                         observation_end="2026-01-12")[["frequency", "frequency_holdout"]]
       frequency  frequency_holdout
    1          0                  1
    2          0                  0
    """
    who = "calibration_and_holdout"
    cal_end = int(_period_ordinals(pd.Timestamp(calibration_end), freq)[0])
    obs_end = int(_period_ordinals(pd.Timestamp(observation_end), freq)[0])
    if obs_end <= cal_end:
        raise ValueError(
            f"{who}: observation_end ({observation_end}) must be after calibration_end ({calibration_end})"
        )
    cal = rfm_summary(
        transactions,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        observation_end=calibration_end,
        freq=freq,
        time_scaler=time_scaler,
    )
    codes, uniques, ords, amount = _period_table(
        transactions,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        freq=freq,
        who=who,
    )
    n_hold, _, _, spend_hold, _ = _customer_periods(
        codes, ords, amount, (ords > cal_end) & (ords <= obs_end), len(uniques)
    )
    pos = pd.Index(uniques).get_indexer(cal.index)
    out = cal.copy()
    out["frequency_holdout"] = n_hold[pos]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["monetary_value_holdout"] = np.where(n_hold[pos] > 0, spend_hold[pos] / np.maximum(n_hold[pos], 1), 0.0)
    out["duration_holdout"] = float((obs_end - cal_end) / time_scaler)
    return out


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClvFit:
    """A fitted CLV model.

    Attributes
    ----------
    model : str
        ``"bgnbd"`` or ``"gamma_gamma"``.
    params : dict of str to float
        Maximum-likelihood estimates (``r, alpha, a, b`` or ``p, q, gamma``).
    se : dict of str to float
        Standard errors from the numerical Hessian (delta method; NaN if it is not invertible).
    log_likelihood : float
        Maximised log-likelihood.
    n : int
        Number of customers the model was fitted on.
    cov_log : numpy.ndarray
        Covariance of the log-parameters (inverse Hessian of the negative log-likelihood).
    boundary : tuple of str
        Parameters that ran to the edge of the parameter space (a :class:`ClvFitWarning` was
        issued; their standard errors are NaN).
    """

    model: str
    params: dict[str, float]
    se: dict[str, float]
    log_likelihood: float
    n: int
    cov_log: np.ndarray = field(repr=False)
    boundary: tuple[str, ...] = ()

    def to_frame(self, *, level: float = 0.95) -> pd.DataFrame:
        """Parameter table with intervals.

        The interval is symmetric on the log scale (``exp(log θ ± z·se_log)``), so it stays
        positive.

        Returns
        -------
        pandas.DataFrame
            Indexed by parameter name, columns ``estimate, se, ci_low, ci_high, n``.
        """
        names = list(self.params)
        est = np.array([self.params[k] for k in names])
        se_log = np.sqrt(np.diag(self.cov_log)) if self.cov_log.size else np.full(len(names), np.nan)
        lo, hi = normal_interval(np.log(est), se_log, level=level)
        frame = estimate_frame(
            est, np.exp(lo), np.exp(hi), self.n, index=pd.Index(names, name="parameter"), se=[self.se[k] for k in names]
        )
        return frame[["estimate", "se", "ci_low", "ci_high", "n"]]


def _numerical_hessian(grad, x, step=1e-5):
    """Hessian by central differences of an analytic gradient, symmetrised."""
    k = len(x)
    hess = np.empty((k, k))
    for i in range(k):
        h = step * max(1.0, abs(x[i]))
        e = np.zeros(k)
        e[i] = h
        hess[:, i] = (grad(x + e) - grad(x - e)) / (2 * h)
    return (hess + hess.T) / 2


def _maximise(neg_ll, grad, x0, names, *, model, n, who):
    """Minimise the mean negative log-likelihood over log-parameters; return a ClvFit.

    ``neg_ll(logp)`` is the total negative log-likelihood and ``grad(logp)`` its gradient with
    respect to the log-parameters.
    """

    def mean_nll(x):
        v = neg_ll(x) / n
        if not np.isfinite(v):
            return 1e100, np.zeros_like(x)
        return v, grad(x) / n

    bounds = [(-_BOUND, _BOUND)] * len(x0)
    opts = {"ftol": 1e-13, "gtol": 1e-9, "maxiter": 10000}
    res = optimize.minimize(mean_nll, x0, jac=True, method="L-BFGS-B", bounds=bounds, options=opts)
    # a line search that stops on rounding noise of the numerical gradient is fine when the
    # gradient (of the mean log-likelihood per customer) is already tiny
    if not (res.success or np.max(np.abs(res.jac)) < 1e-4):
        # quasi-Newton can stop on precision loss; restart from a simplex search.
        nm = optimize.minimize(
            lambda z: mean_nll(z)[0],
            res.x,
            method="Nelder-Mead",
            bounds=bounds,
            options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000, "maxfev": 40000},
        )
        res = optimize.minimize(mean_nll, nm.x, jac=True, method="L-BFGS-B", bounds=bounds, options=opts)
        if not (res.success or nm.success or np.max(np.abs(res.jac)) < 1e-4):
            raise ClvFitError(f"{who}: the optimiser did not converge ({res.message})")
        if not res.success:
            res = nm
    if not np.all(np.isfinite(res.x)) or not np.isfinite(neg_ll(res.x)):
        raise ClvFitError(f"{who}: the optimiser ended on a non-finite log-likelihood")
    limit = np.array([_EDGE_SCALE if k in _SCALES else _EDGE_SHAPE for k in names])
    edge = np.abs(res.x) > limit
    if model == "bgnbd":
        a, b = np.exp(res.x[2:4])
        if edge[2:4].any() or a / (a + b) < 1e-6:
            edge[2:4] = True  # no visible dropout: a and b are not separately identified
    if edge.any():
        est = {k: float(f"{v:.4g}") for k, v in zip(names, np.exp(res.x), strict=True)}
        ran = [k for k, e in zip(names, edge, strict=True) if e]
        hints = " ".join(dict.fromkeys(_EDGE_HINT[k] for k in ran))
        extra = ""
        if model == "bgnbd" and "a" in ran:
            extra = f" (mean dropout probability a/(a+b) = {a / (a + b):.2g})"
        warnings.warn(
            ClvFitWarning(
                f"{who}: {ran} ran to the edge of the parameter space{extra}: {est}. {hints} "
                "Their standard errors are NaN; the others' are conditional on them."
            ),
            stacklevel=3,
        )
    # covariance of the interior log-parameters (edge ones held fixed)
    cov = np.full((len(names), len(names)), np.nan)
    inner = np.flatnonzero(~edge)
    if len(inner):
        hess = _numerical_hessian(grad, res.x)[np.ix_(inner, inner)]
        try:
            sub = np.linalg.inv(hess)
            if np.any(np.diag(sub) <= 0) or not np.all(np.isfinite(sub)):
                raise np.linalg.LinAlgError
            cov[np.ix_(inner, inner)] = sub
        except np.linalg.LinAlgError:
            warnings.warn(
                ClvFitWarning(f"{who}: Hessian not invertible; standard errors set to NaN"),
                stacklevel=3,
            )
    est = np.exp(res.x)
    se = est * np.sqrt(np.diag(cov))
    return ClvFit(
        model=model,
        params={k: float(v) for k, v in zip(names, est, strict=True)},
        se={k: float(v) for k, v in zip(names, se, strict=True)},
        log_likelihood=float(-neg_ll(res.x)),
        n=int(n),
        cov_log=cov,
        boundary=tuple(k for k, e in zip(names, edge, strict=True) if e),
    )


def _rfm_arrays(summary: pd.DataFrame, cols, who: str) -> list[np.ndarray]:
    check_columns(summary, cols, who)
    out = []
    for c in cols:
        v = pd.to_numeric(summary[c], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(v) | (v < 0)
        if bad.any():
            rows = list(summary.index[bad][:10])
            raise ValueError(f"{who}: column '{c}' has {bad.sum()} missing or negative value(s), rows {rows}")
        out.append(v)
    return out


def _check_rfm(x, t_x, big_t, who):
    bad = (t_x > big_t + 1e-9) | ((x == 0) & (t_x > 0))
    if bad.any():
        raise ValueError(
            f"{who}: {bad.sum()} row(s) are not a valid RFM summary (recency must be <= T, and 0 when frequency is 0)"
        )


def _dot(u, v) -> float:
    """Inner product without BLAS (threaded BLAS is slower than this on busy small machines)."""
    return float((u * v).sum())


def _bgnbd_loglik(logp, x, t_x, big_t):
    r, alpha, a, b = np.exp(logp)
    a1 = sc.gammaln(r + x) - sc.gammaln(r) + r * np.log(alpha)
    a2 = sc.betaln(a, b + x) - sc.betaln(a, b)
    a3 = -(r + x) * np.log(alpha + big_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return a1 + a2 + np.logaddexp(a3, a4)


def _bgnbd_grad(logp, x, t_x, big_t, weight):
    """Gradient of the weighted BG/NBD log-likelihood with respect to the log-parameters."""
    r, alpha, a, b = np.exp(logp)
    log_at, log_atx = np.log(alpha + big_t), np.log(alpha + t_x)
    a3 = -(r + x) * log_at
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * log_atx, -np.inf)
    w4 = np.exp(a4 - np.logaddexp(a3, a4))  # posterior weight of "dropped out after t_x"
    w3 = 1.0 - w4
    d_r = sc.digamma(r + x) - sc.digamma(r) + np.log(alpha) - w3 * log_at - w4 * log_atx
    d_alpha = r / alpha - (r + x) * (w3 / (alpha + big_t) + w4 / (alpha + t_x))
    ab = sc.digamma(a + b) - sc.digamma(a + b + x)
    d_a = ab + w4 / a
    d_b = ab + sc.digamma(b + x) - sc.digamma(b) - w4 / np.maximum(b + x - 1, 1e-300)
    d = np.array([_dot(d_r, weight), _dot(d_alpha, weight), _dot(d_a, weight), _dot(d_b, weight)])
    return d * np.array([r, alpha, a, b])


def _bgnbd_value_grad(logp, xv, xi, x, t_x, big_t, weight, wx):
    """Weighted BG/NBD log-likelihood and its log-parameter gradient, in one pass.

    Special functions of ``x`` are evaluated once per distinct frequency ``xv`` (``xi`` maps
    rows to them, ``wx`` sums the weights per distinct frequency).
    """
    r, alpha, a, b = np.exp(logp)
    log_at, log_atx = np.log(alpha + big_t), np.log(alpha + t_x)
    inv_bx1 = np.where(xv > 0, 1.0 / np.maximum(b + xv - 1, 1e-300), 0.0)
    with np.errstate(divide="ignore"):
        a4_x = np.log(a) + np.log(inv_bx1)  # -inf where x = 0
    a3 = -(r + x) * log_at
    a4 = a4_x[xi] - (r + x) * log_atx
    lse = np.logaddexp(a3, a4)
    w4 = np.exp(a4 - lse)  # posterior weight of "dropped out after the last purchase"
    w3 = 1.0 - w4
    per_x = sc.gammaln(r + xv) - sc.gammaln(r) + r * np.log(alpha) + sc.betaln(a, b + xv) - sc.betaln(a, b)
    ll = _dot(per_x, wx) + _dot(lse, weight)
    ab = sc.digamma(a + b) - sc.digamma(a + b + xv)
    d_r = _dot(sc.digamma(r + xv) - sc.digamma(r) + np.log(alpha), wx) - _dot(w3 * log_at + w4 * log_atx, weight)
    d_alpha = r / alpha * weight.sum() - _dot((r + x) * (w3 / (alpha + big_t) + w4 / (alpha + t_x)), weight)
    w4w = w4 * weight
    d_a = _dot(ab, wx) + w4w.sum() / a
    d_b = _dot(ab + sc.digamma(b + xv) - sc.digamma(b), wx) - _dot(inv_bx1[xi], w4w)
    return ll, np.array([d_r, d_alpha, d_a, d_b]) * np.array([r, alpha, a, b])


def fit_bgnbd(summary: pd.DataFrame) -> ClvFit:
    """Fit the BG/NBD purchase model by maximum likelihood.

    Each customer buys at a Poisson rate λ ~ Gamma(r, α) while alive, and after every purchase
    drops out with probability p ~ Beta(a, b) (Fader, Hardie & Lee 2005).

    Parameters
    ----------
    summary : pandas.DataFrame
        RFM summary with ``frequency, recency, T`` (see :func:`rfm_summary`).

    Returns
    -------
    ClvFit
        ``params`` with keys ``r, alpha, a, b``; ``se``, ``log_likelihood``, ``n``.

    Raises
    ------
    ValueError
        Missing columns, negative or missing values, or ``recency > T``.
    ClvFitError
        No repeat buyers (the dropout process is not identified) or no convergence.

    Examples
    --------
    >>> fit = fit_bgnbd(summary)  # doctest: +SKIP
    >>> fit.params["r"]  # doctest: +SKIP
    """
    who = "fit_bgnbd"
    x, t_x, big_t = _rfm_arrays(summary, ["frequency", "recency", "T"], who)
    _check_rfm(x, t_x, big_t, who)
    if len(x) < 4:
        raise ClvFitError(f"{who}: {len(x)} customer(s) cannot identify 4 parameters")
    if not (x > 0).any():
        raise ClvFitError(f"{who}: no repeat buyers (frequency > 0), so dropout cannot be estimated")
    if not (big_t > 0).any():
        raise ClvFitError(f"{who}: every customer has T = 0 (no observation time)")
    # start: r=1, alpha = mean T / (mean frequency + 1), a = 1, b = 1
    x0 = np.log([1.0, max(big_t.mean() / (x.mean() + 1.0), 1e-3), 1.0, 1.0])

    # customers with the same (x, t_x, T) share a likelihood term: fit on unique rows with counts
    rows, weight = np.unique(np.column_stack([x, t_x, big_t]), axis=0, return_counts=True)
    ux, ut_x, ut = rows.T

    weight = weight.astype(float)
    xv, xi = np.unique(ux, return_inverse=True)
    xi = xi.ravel()
    wx = np.bincount(xi, weights=weight)
    last: dict = {}

    def value_grad(logp):
        key = logp.tobytes()
        if key not in last:
            last.clear()
            last[key] = _bgnbd_value_grad(logp, xv, xi, ux, ut_x, ut, weight, wx)
        return last[key]

    def neg_ll(logp):
        return -value_grad(logp)[0]

    def grad(logp):
        return -value_grad(logp)[1]

    return _maximise(neg_ll, grad, x0, BGNBD_PARAMS, model="bgnbd", n=len(x), who=who)


def fit_gamma_gamma(summary: pd.DataFrame) -> ClvFit:
    """Fit the Gamma-Gamma spend model on repeat buyers by maximum likelihood.

    A customer's purchase amounts are Gamma(p, ν), with ν ~ Gamma(q, γ) across customers, so
    the mean spend ``monetary_value`` of ``frequency`` repeat purchases carries information on
    the customer's own mean p/ν (Fader, Hardie & Lee 2005, iso-value curves). Only rows with
    ``frequency > 0`` are used; the model assumes spend is independent of frequency.

    Parameters
    ----------
    summary : pandas.DataFrame
        RFM summary with ``frequency, monetary_value``.

    Returns
    -------
    ClvFit
        ``params`` with keys ``p, q, gamma``; ``n`` = repeat buyers used.

    Raises
    ------
    ValueError
        Missing columns, or negative/missing values.
    ClvFitError
        Fewer than 3 repeat buyers with positive spend, or no convergence.
    """
    who = "fit_gamma_gamma"
    x, m = _rfm_arrays(summary, ["frequency", "monetary_value"], who)
    use = (x > 0) & (m > 0)
    if use.sum() < 3:
        raise ClvFitError(f"{who}: {use.sum()} repeat buyer(s) with positive spend; need at least 3")
    x, m = x[use], m[use]
    if np.ptp(m) == 0:
        raise ClvFitError(f"{who}: every repeat buyer has the same mean spend; nothing to fit")
    # start: method of moments-ish (p = 1, q = 2, gamma = mean spend)
    x0 = np.log([1.0, 2.0, float(m.mean())])
    log_x, log_m = np.log(x), np.log(m)

    def neg_ll(logp):
        p, q, g = np.exp(logp)
        px = p * x
        ll = (
            sc.gammaln(px + q)
            - sc.gammaln(px)
            - sc.gammaln(q)
            + q * np.log(g)
            + (px - 1) * log_m
            + px * log_x
            - (px + q) * np.log(x * m + g)
        )
        return -ll.sum()

    def grad(logp):
        p, q, g = np.exp(logp)
        px = p * x
        dig = sc.digamma(px + q)
        log_xmg = np.log(x * m + g)
        d_p = (x * (dig - sc.digamma(px) + log_m + log_x - log_xmg)).sum()
        d_q = (dig - sc.digamma(q) + np.log(g) - log_xmg).sum()
        d_g = (q / g - (px + q) / (x * m + g)).sum()
        return -np.array([d_p * p, d_q * q, d_g * g])

    return _maximise(neg_ll, grad, x0, GAMMA_GAMMA_PARAMS, model="gamma_gamma", n=int(use.sum()), who=who)


# --------------------------------------------------------------------------------------------
# Predictions
# --------------------------------------------------------------------------------------------


def _params(params, names, who) -> list[float]:
    p = params.params if isinstance(params, ClvFit) else params
    if not isinstance(p, Mapping):
        raise TypeError(f"{who}: params must be a ClvFit or a dict with keys {list(names)}")
    missing = [k for k in names if k not in p]
    if missing:
        raise ValueError(f"{who}: params lack {missing}")
    vals = [float(p[k]) for k in names]
    if not all(np.isfinite(v) and v > 0 for v in vals):
        raise ValueError(f"{who}: params must be positive and finite, got {dict(zip(names, vals, strict=True))}")
    return vals


def _log_c(r, alpha, a, b, x, t_x, big_t):
    """Log of a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x), the 'dropped out' odds (x > 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x)),
            -np.inf,
        )


def probability_alive(params, summary: pd.DataFrame) -> pd.Series:
    """Probability that each customer is still active at the end of observation (BG/NBD).

    Parameters
    ----------
    params : ClvFit or dict
        BG/NBD parameters ``r, alpha, a, b``.
    summary : pandas.DataFrame
        RFM summary with ``frequency, recency, T``.

    Returns
    -------
    pandas.Series
        ``probability_alive`` in [0, 1], aligned with ``summary``; 1 for customers with no repeat
        purchase (in BG/NBD a customer can only drop out right after a purchase).
    """
    who = "probability_alive"
    r, alpha, a, b = _params(params, BGNBD_PARAMS, who)
    x, t_x, big_t = _rfm_arrays(summary, ["frequency", "recency", "T"], who)
    p = np.exp(-np.logaddexp(0.0, _log_c(r, alpha, a, b, x, t_x, big_t)))
    return pd.Series(p, index=summary.index, name="probability_alive")


def _expected_purchases(r, alpha, a, b, x, t_x, big_t, t):
    """Array core of :func:`expected_purchases` (arguments broadcast)."""
    z = t / (alpha + big_t + t)
    hyp = sc.hyp2f1(r + x, b + x, a + b + x - 1, z)
    term = 1.0 - np.exp((r + x) * (np.log(alpha + big_t) - np.log(alpha + big_t + t))) * hyp
    num = (a + b + x - 1) / (a - 1) * term
    out = num * np.exp(-np.logaddexp(0.0, _log_c(r, alpha, a, b, x, t_x, big_t)))
    return np.where(t == 0, 0.0, out)


def expected_purchases(params, t, summary: pd.DataFrame) -> pd.Series:
    """Conditional expected number of purchases in the next ``t`` periods (BG/NBD).

    E[Y(t) | x, t_x, T] = (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ·
    ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))] / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)).

    Parameters
    ----------
    params : ClvFit or dict
        BG/NBD parameters ``r, alpha, a, b``.
    t : float or array-like
        Horizon in the summary's time unit (a scalar, or one value per row).
    summary : pandas.DataFrame
        RFM summary with ``frequency, recency, T``.

    Returns
    -------
    pandas.Series
        ``expected_purchases``, aligned with ``summary``.
    """
    who = "expected_purchases"
    r, alpha, a, b = _params(params, BGNBD_PARAMS, who)
    x, t_x, big_t = _rfm_arrays(summary, ["frequency", "recency", "T"], who)
    t = np.broadcast_to(np.asarray(t, dtype=float), x.shape)
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ValueError(f"{who}: t must be finite and >= 0")
    out = _expected_purchases(r, alpha, a, b, x, t_x, big_t, t)
    return pd.Series(out, index=summary.index, name="expected_purchases")


def expected_purchases_population(params, t) -> np.ndarray:
    """Unconditional expected purchases E[X(t)] of a new customer in ``t`` periods (BG/NBD).

    E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r · ₂F₁(r, b; a+b−1; t/(α+t))].

    Parameters
    ----------
    params : ClvFit or dict
        BG/NBD parameters ``r, alpha, a, b``.
    t : float or array-like
        Time since the first purchase, in the model's time unit.

    Returns
    -------
    numpy.ndarray
        Expected repeat purchases, same shape as ``t``.
    """
    r, alpha, a, b = _params(params, BGNBD_PARAMS, "expected_purchases_population")
    t = np.asarray(t, dtype=float)
    hyp = sc.hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)


def expected_spend(gg_params, summary: pd.DataFrame) -> pd.Series:
    """Conditional expected average spend per purchase (Gamma-Gamma).

    E[Z | x, z̄] = w · z̄ + (1 − w) · pγ/(q−1) with w = px / (px + q − 1): a weighted mean of the
    customer's own average and the population mean, the customer's weight growing with the
    number of repeat purchases. Customers with ``frequency`` 0 get the population mean.

    Parameters
    ----------
    gg_params : ClvFit or dict
        Gamma-Gamma parameters ``p, q, gamma`` (needs q > 1 for the mean to exist).
    summary : pandas.DataFrame
        RFM summary with ``frequency, monetary_value``.

    Returns
    -------
    pandas.Series
        ``expected_spend``, aligned with ``summary``.
    """
    who = "expected_spend"
    p, q, g = _params(gg_params, GAMMA_GAMMA_PARAMS, who)
    if q <= 1:
        raise ValueError(f"{who}: q = {q:.3g} <= 1, the Gamma-Gamma mean spend does not exist")
    x, m = _rfm_arrays(summary, ["frequency", "monetary_value"], who)
    w = p * x / (p * x + q - 1)
    out = (1 - w) * (p * g / (q - 1)) + w * m
    return pd.Series(out, index=summary.index, name="expected_spend")


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
    x, t_x, big_t = _rfm_arrays(summary, ["frequency", "recency", "T"], who)
    cum = _cumulative_purchases(_params(bgnbd, BGNBD_PARAMS, who), x, t_x, big_t, k, len(disc))
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


# --------------------------------------------------------------------------------------------
# Tables for the report
# --------------------------------------------------------------------------------------------


def calibration_holdout_table(params, data: pd.DataFrame, *, max_frequency: int = 7) -> pd.DataFrame:
    """Mean holdout purchases by calibration frequency: actual (with 95 % CI) vs BG/NBD.

    Parameters
    ----------
    params : ClvFit or dict
        BG/NBD parameters fitted on the calibration columns.
    data : pandas.DataFrame
        Output of :func:`calibration_and_holdout`.
    max_frequency : int
        Calibration frequencies above it are pooled into the last row.

    Returns
    -------
    pandas.DataFrame
        One row per calibration frequency with ``frequency`` (int; the last row means "≥"),
        ``n`` (customers), ``actual, ci_low, ci_high`` (mean holdout purchase periods and its t
        interval) and ``model`` (mean BG/NBD conditional expectation).
    """
    check_columns(
        data,
        ["frequency", "recency", "T", "frequency_holdout", "duration_holdout"],
        "calibration_holdout_table",
    )
    pred = expected_purchases(params, data["duration_holdout"].to_numpy(dtype=float), data)
    freq_cap = np.minimum(data["frequency"].to_numpy(), max_frequency).astype(int)
    frame = pd.DataFrame(
        {
            "frequency": freq_cap,
            "actual": data["frequency_holdout"].to_numpy(float),
            "model": pred.to_numpy(),
        }
    )
    out = mean_frame(frame["actual"], frame["frequency"]).rename(columns={"estimate": "actual"})
    out["n"] = frame.groupby("frequency").size()
    out["model"] = frame.groupby("frequency")["model"].mean()
    return out.rename_axis("frequency").reset_index()[["frequency", "n", "actual", "ci_low", "ci_high", "model"]]


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
    x, t_x, big_t, m = _rfm_arrays(summary, ["frequency", "recency", "T", "monetary_value"], who)
    # customers sharing (x, t_x, T) share the expected purchases: compute them once
    rows, inverse = np.unique(np.column_stack([x, t_x, big_t]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    means = np.full((n_draws, len(names)), np.nan)
    for i, (pb, pg) in enumerate(zip(_draw_params(bgnbd, rng, n_draws), _draw_params(gg, rng, n_draws), strict=True)):
        p, q, g = (pg[key] for key in GAMMA_GAMMA_PARAMS)
        if q <= 1:  # the mean spend does not exist for this draw
            continue
        cum = _cumulative_purchases([pb[key] for key in BGNBD_PARAMS], *rows.T, k, len(disc))
        w = p * x / (p * x + q - 1)
        spend = (1 - w) * (p * g / (q - 1)) + w * m
        values = margin * spend * (np.diff(cum, axis=1) * disc).sum(axis=1)[inverse]
        for j, pos in enumerate(members):
            means[i, j] = values[rng.choice(pos, len(pos))].mean()
    low, high = percentile_interval(means, level=level)
    return estimate_frame([point[pos].mean() for pos in members], low, high, [len(pos) for pos in members], index=names)
