"""Data preparation for the CLV models: receipts to RFM summaries and calibration/holdout splits.

:func:`rfm_summary` turns receipts into one row per customer with ``frequency`` (repeat purchase
periods), ``recency`` (age at the last purchase), ``T`` (age at the end of the observation) and
``monetary_value`` (mean spend of the repeat periods), with the same definitions as
``lifetimes.utils.summary_data_from_transaction_data`` and pymc-marketing's ``rfm_summary``;
:func:`calibration_and_holdout` adds what happened in a later holdout window. The models read
a summary through :func:`rfm_arrays`, which checks it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalty_lib.stats import check_columns

__all__ = ["HOLDOUT_COLUMNS", "RFM_COLUMNS", "calibration_and_holdout", "check_rfm", "rfm_arrays", "rfm_summary"]

RFM_COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary_value"]
HOLDOUT_COLUMNS = ["frequency_holdout", "monetary_value_holdout", "duration_holdout"]


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


def _last_period(end, freq: str) -> int:
    """Period number of the last instant before ``end`` (the exclusive end of a window)."""
    return int(_period_ordinals(pd.Timestamp(end) - pd.Timedelta(1, "ns"), freq)[0])


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
    codes, uniques = _sorted_codes(ids)
    return codes, uniques, _period_ordinals(dates, freq), amount


def _sorted_codes(ids: pd.Series):
    """Customer codes 0..n-1 in sorted key order, and the sorted keys (``pd.factorize(sort=True)``).

    Whole-number ids spanning a range not much wider than the rows are ranked by a presence
    table (no hashing, no sort); other ids go through ``pd.factorize``.
    """
    if pd.api.types.is_integer_dtype(ids.dtype) and not isinstance(ids.dtype, pd.CategoricalDtype) and len(ids):
        v = ids.to_numpy(dtype=np.int64)
        lo, hi = int(v.min()), int(v.max())
        if hi - lo < 4 * len(v) + 1024:
            present = np.zeros(hi - lo + 1, dtype=bool)
            present[v - lo] = True
            rank = np.cumsum(present) - 1
            return rank[v - lo], pd.Index(np.flatnonzero(present) + lo, dtype=ids.dtype)
    codes, uniques = pd.factorize(ids, sort=True)
    return codes.astype(np.int64), uniques


#: Distinct (customer, period) pairs are marked on a presence grid of this many bytes, reused for
#: one block of customers after another (small enough to stay in the processor's cache).
GRID_BYTES = 1 << 22


def _distinct_periods(codes, ordinals, n_customers):
    """Distinct purchase periods per customer, marked on a presence grid of customers x periods.

    Each customer has a row of one byte per period (padded to whole 64-bit words); the grid of
    :data:`GRID_BYTES` bytes holds one block of customers at a time, so that it stays in the
    processor's cache and is never allocated again: receipts are put in block order (a radix
    sort of the small block numbers, not of the receipts' keys), each block's pairs are marked
    and each row is counted with a population count of its words. Only when a single row does
    not fit (many thousand years of daily periods) or there would be more than 65,535 blocks
    are the (customer, period) pairs hashed instead.
    """
    omin = ordinals.min()
    span = int(ordinals.max() - omin) + 1
    row = -(-span // 8) * 8  # bytes per customer: whole 64-bit words
    per = GRID_BYTES // row  # customers per block
    n_blocks = -(-n_customers // per) if per >= 1 else 0
    if per < 1 or n_blocks > np.iinfo(np.uint16).max:
        return np.bincount(pd.unique(codes * span + (ordinals - omin)) // span, minlength=n_customers)
    key = codes * row + (ordinals - omin)
    bounds = [0, len(key)]
    if n_blocks > 1:
        block = (codes // per).astype(np.uint16)
        key = key[np.argsort(block, kind="stable")]  # a radix sort: 16-bit keys
        bounds = np.concatenate([[0], np.cumsum(np.bincount(block, minlength=n_blocks))])
    out = np.empty(n_customers, dtype=np.int64)
    grid = np.zeros(min(per, n_customers) * row, dtype=np.uint8)
    for b in range(n_blocks):
        lo, hi = b * per, min((b + 1) * per, n_customers)
        cells = grid[: (hi - lo) * row]
        if b:
            cells[:] = 0
        cells[key[bounds[b] : bounds[b + 1]] - lo * row] = 1
        out[lo:hi] = np.bitwise_count(cells.view(np.uint64)).reshape(hi - lo, row // 8).sum(axis=1, dtype=np.int64)
    return out


def _customer_periods(codes, ordinals, amount, keep, n_customers):
    """Per customer: distinct purchase periods, first and last period, spend outside the first.

    No sort of the receipts: first/last by ``np.minimum.at``/``np.maximum.at``, distinct periods
    on a cache-sized presence grid (:func:`_distinct_periods`), sums by ``np.bincount``.
    """
    if not keep.all():
        codes, ordinals, amount = codes[keep], ordinals[keep], amount[keep]
    first = np.full(n_customers, np.iinfo(np.int64).max)
    last = np.full(n_customers, np.iinfo(np.int64).min)
    np.minimum.at(first, codes, ordinals)
    np.maximum.at(last, codes, ordinals)
    if len(codes):
        n_periods = _distinct_periods(codes, ordinals, n_customers)
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
    end=None,
    freq: str = "D",
    time_scaler: float = 1.0,
) -> pd.DataFrame:
    """Recency-frequency-monetary summary per customer, as the BG/NBD and Gamma-Gamma need it.

    Receipts are first collapsed per period of ``freq`` (several purchases in one period count
    as one purchase period, their amounts summed). Receipts in periods after the one that
    holds the last instant before ``end`` are ignored. Definitions are those of lifetimes'
    ``summary_data_from_transaction_data`` and pymc-marketing's ``rfm_summary`` (whose
    inclusive ``observation_period_end`` is the day before ``end``).

    Parameters
    ----------
    transactions : pandas.DataFrame
        One row per receipt.
    customer_col, date_col : str
        Customer key and purchase time columns.
    amount_col : str or None
        Spend column; ``None`` gives ``monetary_value`` 0 for everybody.
    end : str or datetime-like, optional
        End of observation, exclusive: the first day *after* the observed window (the library's
        one convention, as :attr:`loyalty_lib.study.Study.end`). ``T`` runs to the period that
        holds the last instant before it. Default: the day after the last receipt.
    freq : str
        Period length: ``"D"`` day, ``"W"`` week (Monday to Sunday, as pandas' ``"W"``) or any
        other pandas period alias.
    time_scaler : float
        ``recency`` and ``T`` are divided by it (e.g. ``freq="D", time_scaler=7`` gives ages in
        weeks counted to the day, the convention of the published CDNOW summary).

    Returns
    -------
    pandas.DataFrame
        One row per customer with a purchase before ``end``, sorted by
        customer, indexed by the customer key (unnamed index, so that ``merge``/``groupby`` on
        the column stay unambiguous) and with columns:

        - ``customer_id``: the customer key (whatever ``customer_col`` was called);
        - ``frequency`` (int): number of repeat purchase periods (purchase periods − 1);
        - ``recency`` (float): last − first purchase period, in periods / time_scaler;
        - ``T`` (float): last period before ``end`` − first purchase period, same units;
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
    >>> out = rfm_summary(tx, end="2026-01-12")
    >>> out[["frequency", "recency", "T", "monetary_value"]]
       frequency  recency     T  monetary_value
    1          1      4.0  10.0            20.0
    2          0      0.0   8.0             0.0
    """
    who = "rfm_summary"
    table = _period_table(
        transactions, customer_col=customer_col, date_col=date_col, amount_col=amount_col, freq=freq, who=who
    )
    return _summary(table, None if end is None else _last_period(end, freq), time_scaler, who)


def _summary(table, last: int | None, time_scaler: float, who: str) -> pd.DataFrame:
    """RFM summary of parsed receipts (:func:`_period_table`) up to period ``last`` (default: the last)."""
    codes, uniques, ords, amount = table
    if not time_scaler > 0:
        raise ValueError(f"{who}: time_scaler must be positive, got {time_scaler}")
    if last is None:
        if len(ords) == 0:
            raise ValueError(f"{who}: no transactions and no end")
        last = int(ords.max())
    n_periods, first, last_p, _, repeat_spend = _customer_periods(codes, ords, amount, ords <= last, len(uniques))
    present = n_periods > 0
    f = np.maximum(n_periods - 1, 0)
    mon = np.where(f > 0, repeat_spend / np.maximum(f, 1), 0.0)
    rec = (last_p - first) / time_scaler
    t_age = (last - first) / time_scaler
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
    end,
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
    calibration_end, end : str or datetime-like
        Exclusive ends: ``calibration_end`` is the first day of the holdout (the calibration
        window is the receipts before it), ``end`` the first day after the holdout (as
        :meth:`loyalty_lib.study.Study.clv_split` returns them). The calibration runs to the
        period that holds the last instant before ``calibration_end``, the holdout from the
        next period to the one that holds the last instant before ``end`` (whole periods, as
        lifetimes' ``calibration_and_holdout_data``).
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
    >>> calibration_and_holdout(tx, calibration_end="2026-01-06",
    ...                         end="2026-01-13")[["frequency", "frequency_holdout"]]
       frequency  frequency_holdout
    1          0                  1
    2          0                  0
    """
    who = "calibration_and_holdout"
    cal_last, obs_last = _last_period(calibration_end, freq), _last_period(end, freq)
    if obs_last <= cal_last:
        raise ValueError(
            f"{who}: end ({end}) must be at least one {freq} period after calibration_end ({calibration_end})"
        )
    table = _period_table(
        transactions, customer_col=customer_col, date_col=date_col, amount_col=amount_col, freq=freq, who=who
    )
    cal = _summary(table, cal_last, time_scaler, who)
    codes, uniques, ords, amount = table
    in_hold = (ords > cal_last) & (ords <= obs_last)
    n_hold, _, _, spend_hold, _ = _customer_periods(codes, ords, amount, in_hold, len(uniques))
    pos = pd.Index(uniques).get_indexer(cal.index)
    out = cal.copy()
    out["frequency_holdout"] = n_hold[pos]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["monetary_value_holdout"] = np.where(n_hold[pos] > 0, spend_hold[pos] / np.maximum(n_hold[pos], 1), 0.0)
    out["duration_holdout"] = float((obs_last - cal_last) / time_scaler)
    return out


def rfm_arrays(summary: pd.DataFrame, cols, who: str) -> list[np.ndarray]:
    """Columns of an RFM summary as float arrays, refusing missing, non-numeric or negative values.

    Parameters
    ----------
    summary : pandas.DataFrame
        RFM summary (see :func:`rfm_summary`).
    cols : sequence of str
        Columns wanted, in order.
    who : str
        Calling function, for the messages.

    Returns
    -------
    list of numpy.ndarray
        One array per column.

    Raises
    ------
    ValueError
        A missing column, or a missing or negative value (naming the column and first rows).
    """
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


def check_rfm(x, t_x, big_t, who):
    """Refuse rows that cannot come from an RFM summary (recency above T, recency without repeats).

    Parameters
    ----------
    x, t_x, big_t : numpy.ndarray
        ``frequency``, ``recency`` and ``T``.
    who : str
        Calling function, for the message.

    Raises
    ------
    ValueError
        When a row has ``recency > T``, or ``recency > 0`` with ``frequency`` 0.
    """
    bad = (t_x > big_t + 1e-9) | ((x == 0) & (t_x > 0))
    if bad.any():
        raise ValueError(
            f"{who}: {bad.sum()} row(s) are not a valid RFM summary (recency must be <= T, and 0 when frequency is 0)"
        )
