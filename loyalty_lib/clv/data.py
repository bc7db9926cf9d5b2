"""Data preparation for the CLV models: receipts to RFM summaries and calibration/holdout splits.

:func:`rfm_summary` turns receipts into one row per customer with ``frequency`` (repeat purchase
periods), ``recency`` (age at the last purchase), ``T`` (age at the end of the observation) and
``monetary_value`` (mean spend of the repeat periods), with the same definitions as
``lifetimes.utils.summary_data_from_transaction_data`` and pymc-marketing's ``rfm_summary``;
:func:`calibration_and_holdout` adds what happened in a later holdout window. The models read
a summary through :func:`rfm_arrays`, which checks it.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from loyalty_lib.stats import check_columns

__all__ = ["HOLDOUT_COLUMNS", "RFM_COLUMNS", "calibration_and_holdout", "check_rfm", "rfm_arrays", "rfm_summary"]

RFM_COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary_value"]
HOLDOUT_COLUMNS = ["frequency_holdout", "monetary_value_holdout", "duration_holdout"]


#: Receipts from which the work is split into :data:`PARTS` parts of rows (or of customers)
#: that run on threads: numpy releases the interpreter lock in its loops, so two cores work at
#: once. Below it the work is one part: starting threads would cost more than they save.
PARALLEL_MIN_ROWS = 1 << 20

#: Parts the work is split into above :data:`PARALLEL_MIN_ROWS` receipts. A fixed number, not the
#: number of threads, so that the sums (added part by part) are the same on any machine.
PARTS = 2


def _threads(threads: int | None) -> int:
    """Threads to use: ``threads``, or the processor's cores up to :data:`PARTS`."""
    if threads is None:
        return max(1, min(PARTS, os.cpu_count() or 1))
    if int(threads) < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    return int(threads)


def _ranges(n: int, parts: int | None = None) -> list[tuple[int, int]]:
    """``range(n)`` cut into ``parts`` runs (default: :data:`PARTS` from :data:`PARALLEL_MIN_ROWS` on, else one)."""
    if parts is None:
        parts = 1 if n < PARALLEL_MIN_ROWS else PARTS
    cuts = [n * k // parts for k in range(parts + 1)]
    return list(zip(cuts[:-1], cuts[1:], strict=True))


def _in_parts(n_or_ranges, fn, threads: int) -> list:
    """``fn(lo, hi)`` on each run of :func:`_ranges` (or the runs given), on up to ``threads`` threads.

    Returns the results in the runs' order.
    """
    ranges = _ranges(n_or_ranges) if isinstance(n_or_ranges, int) else list(n_or_ranges)
    if threads <= 1 or len(ranges) <= 1:
        return [fn(lo, hi) for lo, hi in ranges]
    with ThreadPoolExecutor(max_workers=min(threads, len(ranges))) as pool:
        return list(pool.map(lambda r: fn(*r), ranges))


#: Rows handled at once inside a part: the temporary arrays of one step stay small enough to be
#: reused by the allocator instead of being mapped afresh (page faults cost as much as the work).
CHUNK_ROWS = 1 << 20


def _chunks(lo: int, hi: int):
    """The runs of at most :data:`CHUNK_ROWS` rows that make up ``range(lo, hi)``."""
    return ((s, min(s + CHUNK_ROWS, hi)) for s in range(lo, hi, CHUNK_ROWS))


def _nondecreasing(a: np.ndarray) -> bool:
    """Whether ``a`` never decreases (receipts already in customer or date order), cheaply.

    The first few thousand values are looked at first, so unordered data cost almost nothing.
    """
    head = a[:4096]
    if len(head) > 1 and not (head[1:] >= head[:-1]).all():
        return False
    return bool(len(a) < 2 or (a[1:] >= a[:-1]).all())


def _period_ordinals(dates: pd.Series | pd.Timestamp, freq: str, threads: int = 1) -> np.ndarray:
    """Integer period numbers of ``dates`` (differences are whole periods of ``freq``)."""
    if isinstance(dates, pd.Timestamp):
        dates = pd.Series([dates])
    values = pd.to_datetime(dates)
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    if freq not in ("D", "W"):
        return values.dt.to_period(freq).array.asi8.astype(np.int64)
    stamps = values.to_numpy()
    unit, count = np.datetime_data(stamps.dtype)
    per_day = int(np.timedelta64(1, "D") // np.timedelta64(count, unit))
    ticks = stamps.view(np.int64)
    out = np.empty(len(stamps), dtype=np.int64)

    def part(lo, hi):
        np.floor_divide(ticks[lo:hi], per_day, out=out[lo:hi])  # whole days, floored (before 1970 too)
        if freq == "W":
            # pandas' "W" periods are weeks ending on Sunday (Monday to Sunday); day 0
            # (1970-01-01) is a Thursday, so day -3 is the Monday that starts week 0.
            out[lo:hi] += 3
            out[lo:hi] //= 7

    _in_parts(len(stamps), part, threads)
    return out


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
    threads: int = 1,
):
    """Validate receipts and return (customer codes, customer keys, period ordinals, amounts).

    The codes number the keys 0..n-1 in sorted key order; whole-number keys spanning a range
    not much wider than the receipts are numbered by their offset from the smallest one, so the
    keys may include numbers without a receipt (they get no row in a summary).
    """
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
    codes, uniques = _sorted_codes(ids, compact=False, threads=threads)
    return codes, uniques, _period_ordinals(dates, freq, threads), amount


def _sorted_codes(ids: pd.Series, *, compact: bool = True, threads: int = 1):
    """Customer codes in sorted key order, and the keys they number.

    With ``compact`` the codes are 0..n-1 and the keys the sorted distinct keys (as
    ``pd.factorize(sort=True)``). Whole-number ids spanning a range not much wider than the
    rows are ranked by a presence table (no hashing, no sort); without ``compact`` they are
    numbered by their offset from the smallest id, one pass, and the keys are every whole number
    of the range (some without a row). Other ids go through ``pd.factorize``.
    """
    if pd.api.types.is_integer_dtype(ids.dtype) and not isinstance(ids.dtype, pd.CategoricalDtype) and len(ids):
        v = ids.to_numpy(dtype=np.int64)
        lo, hi = int(v.min()), int(v.max())
        if hi - lo < 4 * len(v) + 1024:
            if not compact:
                codes = np.empty(len(v), dtype=np.int64)

                def part(a, b):
                    np.subtract(v[a:b], lo, out=codes[a:b])

                _in_parts(len(v), part, threads)
                return codes, pd.Index(np.arange(lo, hi + 1), dtype=ids.dtype)
            present = np.zeros(hi - lo + 1, dtype=bool)
            present[v - lo] = True
            rank = np.cumsum(present) - 1
            return rank[v - lo], pd.Index(np.flatnonzero(present) + lo, dtype=ids.dtype)
    codes, uniques = pd.factorize(ids, sort=True)
    return codes.astype(np.int64), uniques


#: Distinct (customer, period) pairs are marked on a presence grid of this many bytes, reused for
#: one block of customers after another (small enough to stay in the processor's cache).
GRID_BYTES = 1 << 22

#: Up to this size the grid is made larger than :data:`GRID_BYTES` so that there are at most 255
#: blocks: a block number then fits one byte, and putting the receipts in block order is one
#: pass of a radix sort instead of two (about four times faster).
GRID_MAX_BYTES = 1 << 24

#: Receipts in date order take the path that needs no reordering (:func:`_distinct_by_period`)
#: when there are at least this many receipts per purchase period on average.
DATE_ORDER_MIN_ROWS_PER_PERIOD = 256


def _distinct_periods(codes, ordinals, n_customers, threads: int = 1, scratch=None):
    """Distinct purchase periods per customer, marked on a presence grid of customers x periods.

    Each customer has a row of one byte per period (padded to whole 64-bit words); the grid of
    :data:`GRID_BYTES` bytes holds one block of customers at a time, so that it stays in the
    processor's cache and is never allocated again: each block's pairs are marked and each row
    is counted with a population count of its words. The receipts of a block must be found
    first: receipts in customer order already sit block by block (found by a binary search);
    receipts in date order are counted period by period instead (:func:`_distinct_by_period`),
    which needs no reordering either; other receipts are put in block order chunk by chunk by a
    radix sort of the one-byte block numbers (not of the receipts' keys), each part of the rows
    on its own thread. The blocks are then split between the threads, each with its own grid.
    Only when a single row does not fit (many thousand years of daily periods) or there would be
    more than 65,535 blocks are the (customer, period) pairs hashed instead.

    ``scratch``: one int64 array per run of :func:`_ranges` (as long as it), for the reordered
    receipts; allocated here when not given.
    """
    omin = ordinals.min()
    span = int(ordinals.max() - omin) + 1
    row = -(-span // 8) * 8  # bytes per customer: whole 64-bit words
    per = GRID_BYTES // row  # customers per block
    if -(-n_customers // max(per, 1)) > 255 and -(-n_customers // 255) * row <= GRID_MAX_BYTES:
        per = -(-n_customers // 255)  # larger blocks, so that a block number fits one byte
    n_blocks = -(-n_customers // per) if per >= 1 else 0
    if per < 1 or n_blocks > np.iinfo(np.uint16).max:
        return np.bincount(pd.unique(codes * span + (ordinals - omin)) // span, minlength=n_customers)
    n = len(codes)
    if n >= DATE_ORDER_MIN_ROWS_PER_PERIOD * span and not _nondecreasing(codes) and _nondecreasing(ordinals):
        return _distinct_by_period(codes, ordinals, n_customers, threads)
    ranges = _ranges(n)
    if n_blocks == 1 or _nondecreasing(codes):
        # customer order (or one block): block b's receipts are one run of rows
        cuts = np.searchsorted(codes, np.arange(n_blocks + 1) * per) if n_blocks > 1 else np.array([0, n])
        sources = [(None, cuts)]
    else:
        small = np.uint8 if n_blocks <= 255 else np.uint16
        if scratch is None:
            scratch = [np.empty(hi - lo, dtype=np.int64) for lo, hi in ranges]

        def partition(lo, hi, out):
            found = []
            for s, e in _chunks(lo, hi):
                block = (codes[s:e] // per).astype(small)
                order = np.argsort(block, kind="stable")  # a radix sort of 8- or 16-bit keys
                key = codes[s:e] * row
                key += ordinals[s:e]
                key -= omin
                np.take(key, order, out=out[s - lo : e - lo])
                cuts = np.concatenate([[0], np.cumsum(np.bincount(block, minlength=n_blocks))])
                found.append((out[s - lo : e - lo], cuts))
            return found

        parts = _in_parts(ranges, lambda lo, hi: partition(lo, hi, scratch[ranges.index((lo, hi))]), threads)
        sources = [src for part in parts for src in part]
    out = np.empty(n_customers, dtype=np.int64)

    def count(b_lo, b_hi):
        grid = np.zeros(min(per, n_customers) * row, dtype=np.uint8)
        for b in range(b_lo, b_hi):
            lo, hi = b * per, min((b + 1) * per, n_customers)
            cells = grid[: (hi - lo) * row]
            if b > b_lo:
                cells[:] = 0
            for key, cuts in sources:
                s, e = cuts[b], cuts[b + 1]
                if s == e:
                    continue
                if key is None:
                    cells[(codes[s:e] - lo) * row + (ordinals[s:e] - omin)] = 1
                else:
                    cells[key[s:e] - lo * row] = 1
            out[lo:hi] = np.bitwise_count(cells.view(np.uint64)).reshape(hi - lo, row // 8).sum(axis=1, dtype=np.int64)

    _in_parts(_ranges(n_blocks, PARTS if n >= PARALLEL_MIN_ROWS and n_blocks > 1 else 1), count, threads)
    return out


def _distinct_by_period(codes, ordinals, n_customers, threads: int = 1):
    """Distinct purchase periods per customer, for receipts in date order (no reordering).

    The receipts of one period are one run of rows. In each run every receipt writes its row
    number into its customer's cell of a table with one cell per customer, then reads the cell
    back: the receipt that reads its own number stands for its (customer, period) pair, once,
    whichever of the customer's receipts wrote last. Row numbers never repeat, so the table is
    never cleared. The rows are split between the threads at a change of period, each thread
    with its own table.
    """
    n = len(codes)
    starts = np.flatnonzero(ordinals[1:] != ordinals[:-1]) + 1
    bounds = np.concatenate([[0], starts, [n]])
    cell = np.int32 if n < np.iinfo(np.int32).max else np.int64

    def part(p_lo, p_hi):
        table = np.empty(n_customers, dtype=cell)
        counts = np.zeros(n_customers, dtype=np.int64)
        for s, e in zip(bounds[p_lo:p_hi], bounds[p_lo + 1 : p_hi + 1], strict=True):
            c = codes[s:e]
            rows = np.arange(s, e, dtype=cell)
            table[c] = rows
            counts[c[table[c] == rows]] += 1  # one receipt per (customer, period) pair: no index twice
        return counts

    counts = _in_parts(_ranges(len(bounds) - 1, PARTS if n >= PARALLEL_MIN_ROWS else 1), part, threads)
    return counts[0] if len(counts) == 1 else np.sum(counts, axis=0)


def _customer_periods(codes, ordinals, amount, keep, n_customers, threads: int = 1):
    """Per customer: distinct purchase periods, first and last period, spend, spend outside the first.

    No sort of the receipts: first/last by ``np.minimum.at``/``np.maximum.at``, distinct periods
    on a cache-sized presence grid (:func:`_distinct_periods`), sums by ``np.bincount``. Above
    :data:`PARALLEL_MIN_ROWS` receipts each step runs on :data:`PARTS` parts of the rows on
    threads, and the parts' results are combined (minimum, maximum, sum), the same whatever the
    number of threads. Each part has one scratch array, reused by the steps; the rest of the
    temporaries are chunks of :data:`CHUNK_ROWS` rows.
    """
    if not keep.all():
        codes, ordinals, amount = codes[keep], ordinals[keep], amount[keep]
    n = len(codes)
    ranges = _ranges(n)
    scratch = [np.empty(hi - lo, dtype=np.int64) for lo, hi in ranges]

    def extremes(lo, hi):
        first = np.full(n_customers, np.iinfo(np.int64).max)
        last = np.full(n_customers, np.iinfo(np.int64).min)
        np.minimum.at(first, codes[lo:hi], ordinals[lo:hi])
        np.maximum.at(last, codes[lo:hi], ordinals[lo:hi])
        return first, last

    parts = _in_parts(ranges, extremes, threads)
    first, last = parts[0]
    for f, la in parts[1:]:
        np.minimum(first, f, out=first)
        np.maximum(last, la, out=last)
    if n:
        n_periods = _distinct_periods(codes, ordinals, n_customers, threads, scratch)
    else:
        n_periods = np.zeros(n_customers, dtype=np.int64)

    def sums(lo, hi):
        weights = scratch[ranges.index((lo, hi))].view(np.float64)  # the spend outside the first period
        for s, e in _chunks(lo, hi):
            in_first = ordinals[s:e] == first[codes[s:e]]
            np.copyto(weights[s - lo : e - lo], amount[s:e])
            weights[s - lo : e - lo][in_first] = 0.0
        c = codes[lo:hi]
        return np.bincount(c, weights=amount[lo:hi], minlength=n_customers), np.bincount(
            c, weights=weights, minlength=n_customers
        )

    parts = _in_parts(ranges, sums, threads)
    total, after_first = parts[0]
    for t, af in parts[1:]:
        total, after_first = total + t, after_first + af
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
    threads: int | None = None,
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
    threads : int, optional
        Threads for the work on more than a million receipts (default: the processor's cores,
        up to 2). The numbers do not depend on it.

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
    threads = _threads(threads)
    table = _period_table(
        transactions,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        freq=freq,
        who=who,
        threads=threads,
    )
    return _summary(table, None if end is None else _last_period(end, freq), time_scaler, who, threads)


def _summary(table, last: int | None, time_scaler: float, who: str, threads: int = 1) -> pd.DataFrame:
    """RFM summary of parsed receipts (:func:`_period_table`) up to period ``last`` (default: the last)."""
    codes, uniques, ords, amount = table
    if not time_scaler > 0:
        raise ValueError(f"{who}: time_scaler must be positive, got {time_scaler}")
    if last is None:
        if len(ords) == 0:
            raise ValueError(f"{who}: no transactions and no end")
        last = int(ords.max())
    n_periods, first, last_p, _, repeat_spend = _customer_periods(
        codes, ords, amount, ords <= last, len(uniques), threads
    )
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
    threads: int | None = None,
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
    customer_col, date_col, amount_col, freq, time_scaler, threads
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
    threads = _threads(threads)
    table = _period_table(
        transactions,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        freq=freq,
        who=who,
        threads=threads,
    )
    cal = _summary(table, cal_last, time_scaler, who, threads)
    codes, uniques, ords, amount = table
    in_hold = (ords > cal_last) & (ords <= obs_last)
    n_hold, _, _, spend_hold, _ = _customer_periods(codes, ords, amount, in_hold, len(uniques), threads)
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
