"""The engine's aggregates: one Ibis expression and one pandas path each (see :mod:`loyalty_lib.engine`)."""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

#: With ``backend="auto"`` (or empty), receipts tables of at least this many rows run on DuckDB.
AUTO_DUCKDB_ROWS = 1_000_000
#: Period lengths the engine's RFM summary knows (day, week Monday to Sunday, calendar month).
RFM_FREQS = ("D", "W", "M")
_DAY_S = 86_400


# ----------------------------------------------------------------------------- backends
@functools.cache
def _duckdb():
    import ibis

    return ibis.duckdb.connect()


def connect(backend="duckdb"):
    """Return the Ibis backend ``backend`` names, or ``None`` for the pandas path.

    Parameters
    ----------
    backend : str or Ibis backend
        ``"pandas"``; ``"duckdb"`` (one embedded in-memory database per process, reused); an
        Ibis connection string (``"duckdb:///file.ddb"``, ``"bigquery://project/dataset"``,
        ...); or a backend object already connected, returned as it is.

    Returns
    -------
    Ibis backend or None

    Examples
    --------
    >>> connect("pandas") is None
    True
    """
    if not isinstance(backend, str):
        return backend
    name = backend.strip()
    if name == "pandas":
        return None
    if name == "duckdb":
        return _duckdb()
    if "://" not in name:
        raise ValueError(
            f"backend must be 'pandas', 'duckdb', 'auto' or an Ibis connection string such as "
            f"'duckdb:///file.ddb' or 'bigquery://project/dataset', got {backend!r}"
        )
    return _connect_url(name)


@functools.cache
def _connect_url(url: str):
    """One connection per connection string and process (a DuckDB file opened once)."""
    import ibis

    return ibis.connect(url)


def resolve(backend, n_rows: int):
    """The backend ``backend`` names for a receipts table of ``n_rows`` rows (``None``: pandas).

    ``"auto"`` (or empty) is pandas below :data:`AUTO_DUCKDB_ROWS` rows and DuckDB from there
    on; anything else is :func:`connect`'s.

    Examples
    --------
    >>> resolve("auto", 10) is None
    True
    """
    if isinstance(backend, str) and backend.strip() in ("", "auto"):
        return _duckdb() if n_rows >= AUTO_DUCKDB_ROWS else None
    return connect(backend)


def receipts_of(ds, backend="auto"):
    """The receipts of a data set, as the engine should read them on ``backend``.

    On a database backend, a data set opened from a report's prepared snapshot gives the path
    of its ``transactions.parquet`` file, so that the database reads the file itself and only
    the aggregate comes back; otherwise (the pandas path, or data loaded from exports or
    generated in memory) the table in memory.

    Parameters
    ----------
    ds : loyalty_lib.dataset.Dataset
        The data set.
    backend : str or Ibis backend
        As the engine's functions take it.

    Returns
    -------
    pandas.DataFrame or pathlib.Path
    """
    folder = getattr(ds, "_folder", None)
    path = Path(folder) / "transactions.parquet" if folder is not None else None
    if isinstance(backend, str) and "://" in backend:
        import ibis.common.exceptions as ibis_errors

        with _quiet(), contextlib.suppress(ibis_errors.TableNotFound):  # (list_tables fails on DuckDB 2)
            return connect(backend).table("transactions")  # a warehouse holding the receipts
    if path is not None and path.is_file() and resolve(backend, _n_rows(path)) is not None:
        return path
    return ds.transactions


def _source(receipts):
    """A DataFrame, an Ibis table, or the Parquet file a path names (a folder: its transactions)."""
    if isinstance(receipts, str | Path):
        p = Path(receipts)
        p = p / "transactions.parquet" if p.is_dir() else p
        if not p.is_file():
            raise FileNotFoundError(f"engine: no receipts file {p}")
        return p
    return receipts


def _n_rows(src) -> int:
    if isinstance(src, pd.DataFrame):
        return len(src)
    if isinstance(src, Path):
        import pyarrow.parquet as pq

        return pq.ParquetFile(src).metadata.num_rows
    return AUTO_DUCKDB_ROWS  # an Ibis table lives in its backend


def _columns(src) -> list[str]:
    if isinstance(src, Path):
        import pyarrow.parquet as pq

        return list(pq.read_schema(src).names)
    return [str(c) for c in src.columns]


def _plan(receipts, backend, columns: Sequence[str], who: str, optional: Sequence[str] = ()):
    """Resolve the backend; return ``(con, data)``: a pandas frame when ``con`` is None, else an Ibis table.

    ``columns`` must be in the receipts; ``optional`` ones are taken when they are.
    """
    import ibis

    src = _source(receipts)
    if isinstance(src, ibis.Table):  # it runs where the table lives
        con = None if backend == "pandas" else (src.get_backend() if isinstance(backend, str) else backend)
    else:
        con = resolve(backend, _n_rows(src))
    have = _columns(src)
    _check(have, columns, who)
    cols = [*columns, *(c for c in optional if c in have and c not in columns)]
    if con is None:
        if isinstance(src, ibis.Table):
            raise ValueError(f"{who}: an Ibis table needs an Ibis backend, not the pandas path")
        return None, (pd.read_parquet(src, columns=cols) if isinstance(src, Path) else src[cols])
    if isinstance(src, ibis.Table):
        t = src
    elif isinstance(src, Path):
        with _quiet():
            t = con.read_parquet(str(src))
    else:
        with _quiet():
            t = ibis.memtable(src[cols])
    t = t.select(*cols)
    if "date" in cols and t.date.type().is_timestamp() and t.date.type().scale not in (None, 6):
        # nanosecond times (pandas' default, kept in Parquet) to microseconds: DuckDB 2.0's statistics
        # propagation over EXTRACT on a Parquet nanosecond column drops rows (no cohort came back)
        t = t.mutate(date=t.date.cast("timestamp(6)"))
    return con, t


def _visits(con, t):
    """Only the visits (receipts with ``gross_amount > 0``) when the receipts say; else every receipt.

    The one definition of :func:`loyalty_lib.dataset.visits_mask`, as the activity stage counts.
    """
    if "gross_amount" not in t.columns:
        return t
    if con is None:
        return t[_visit_flag(t)]
    return t.filter((t.gross_amount > 0).fill_null(False))


def _check(have, need, who):
    missing = [c for c in need if c not in set(have)]
    if missing:
        raise ValueError(f"{who}: the receipts have no column(s) {', '.join(map(repr, missing))}")


@contextlib.contextmanager
def _quiet():
    """Ibis 12 calls APIs that pandas 3 and DuckDB 2 deprecated; those warnings say nothing to a user."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*future.infer_string.*")
        warnings.filterwarnings("ignore", message=".*fetch_arrow_table.*", category=DeprecationWarning)
        yield


def _run(con, expr) -> pd.DataFrame:
    with _quiet():
        return con.execute(expr)


def _tidy(df: pd.DataFrame, keys: list[str], ints=(), floats=(), times=()) -> pd.DataFrame:
    """Same shape from every backend: sorted by ``keys``, fixed dtypes, a fresh index."""
    out = df.copy(deep=False)  # columns are replaced below, never written into: no copy of the data
    for c in keys:  # a category key (a snapshot's store ids) sorts by its values, as in a database
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(out[c].cat.categories.dtype)
    for c in ints:
        out[c] = out[c].astype("int64")
    for c in floats:
        out[c] = out[c].astype("float64")
    for c in times:
        out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
    return out.sort_values(keys, kind="stable", ignore_index=True)


def _visit_flag(df: pd.DataFrame) -> np.ndarray:
    return (pd.to_numeric(df["gross_amount"], errors="coerce").fillna(0.0) > 0).to_numpy()


def _end(end) -> pd.Timestamp:
    return pd.Timestamp(end)


def _identified(con, t, end):
    """Receipts with a customer id, before ``end`` if given (a pandas frame, or an Ibis table)."""
    if con is None:
        d = t[t["customer_id"].notna()]
        return d if end is None else d[d["date"] < _end(end)]
    d = t.filter(t.customer_id.notnull())
    return d if end is None else d.filter(d.date < _end(end).to_pydatetime())


#: The totals per customer (and month) on the pandas path: named aggregations.
_TOTALS = {
    "receipts": ("date", "size"),
    "visits": ("visit", "sum"),
    "revenue": ("amount", "sum"),
    "gross_revenue": ("gross_amount", "sum"),
}


def _ibis_totals(d) -> dict:
    """The same totals as Ibis expressions over ``d``."""
    return {
        "receipts": d.count(),
        "visits": (d.gross_amount > 0).fill_null(False).cast("int64").sum(),
        "revenue": d.amount.sum(),
        "gross_revenue": d.gross_amount.sum(),
    }


# ----------------------------------------------------------------------------- customer summary
def customer_summary(receipts, *, start=None, end=None, backend="auto") -> pd.DataFrame:
    """One row per identified customer: receipts, visits, revenue, first and last purchase.

    Parameters
    ----------
    receipts : DataFrame, path or Ibis table
        Receipts with ``customer_id, date, amount, gross_amount``; anonymous receipts (no
        customer id) are left out.
    start : date-like, optional
        Receipts before it are left out.
    end : date-like, optional
        Exclusive end: receipts on or after it are left out.
    backend : str or Ibis backend
        Where it runs (see :mod:`loyalty_lib.engine`).

    Returns
    -------
    pandas.DataFrame
        ``customer_id, receipts, visits`` (receipts with ``gross_amount > 0``), ``revenue``
        (sum of ``amount``), ``gross_revenue``, ``first_purchase, last_purchase``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", None], "gross_amount": [10.0, -2.0, 5.0],
    ...                    "amount": [9.0, -2.0, 5.0],
    ...                    "date": pd.to_datetime(["2025-01-01", "2025-01-05", "2025-01-02"])})
    >>> customer_summary(tx, backend="pandas")[["customer_id", "receipts", "visits", "revenue"]].values.tolist()
    [['a', 2, 1, 7.0]]
    """
    cols = ["customer_id", "date", "amount", "gross_amount"]
    con, t = _plan(receipts, backend, cols, "customer_summary")
    d = _since(con, _identified(con, t, end), start)
    if con is None:
        out = (
            d.assign(visit=_visit_flag(d))
            .groupby("customer_id", sort=False)
            .agg(**_TOTALS, first_purchase=("date", "min"), last_purchase=("date", "max"))
            .reset_index()
        )
    else:
        totals = _ibis_totals(d)
        out = _run(
            con, d.group_by("customer_id").aggregate(**totals, first_purchase=d.date.min(), last_purchase=d.date.max())
        )
    return _tidy(
        out,
        ["customer_id"],
        ints=("receipts", "visits"),
        floats=("revenue", "gross_revenue"),
        times=("first_purchase", "last_purchase"),
    )


# ----------------------------------------------------------------------------- RFM summary
def _period_expr(date, freq: str):
    day = date.epoch_seconds() // _DAY_S
    if freq == "D":
        return day
    if freq == "W":  # Monday to Sunday, as pandas' "W": day 0 (1970-01-01) is a Thursday
        return (day + 3) // 7
    return (date.year() - 1970) * 12 + date.month() - 1


def _period_ordinals(dates: pd.Series, freq: str) -> np.ndarray:
    days = dates.to_numpy("datetime64[D]").astype(np.int64)
    if freq == "D":
        return days
    if freq == "W":
        return (days + 3) // 7
    return dates.to_numpy("datetime64[M]").astype(np.int64)


def rfm_summary(
    receipts,
    *,
    end,
    freq: str = "D",
    time_scaler: float = 1.0,
    amount_col: str = "amount",
    backend="auto",
) -> pd.DataFrame:
    """Recency-frequency-monetary summary per identified customer, on any backend.

    The definitions are those of :func:`loyalty_lib.clv.rfm_summary` (and so of lifetimes'
    ``summary_data_from_transaction_data``): receipts collapse into purchase periods of
    ``freq``; ``frequency`` is the number of repeat periods, ``recency`` the age at the last
    one, ``T`` the age at the last period before ``end``, ``monetary_value`` the mean spend of
    the repeat periods. The pandas path *is* :func:`loyalty_lib.clv.rfm_summary`; the Ibis
    path computes the same numbers in the database.

    Parameters
    ----------
    receipts : DataFrame, path or Ibis table
        Receipts with ``customer_id, date`` and ``amount_col``; anonymous receipts are left out.
    end : date-like
        Exclusive end of the observation.
    freq : {"D", "W", "M"}
        Period length.
    time_scaler : float
        ``recency`` and ``T`` are divided by it.
    amount_col : str
        Spend column (non-negative).
    backend : str or Ibis backend
        Where it runs (see :mod:`loyalty_lib.engine`).

    Returns
    -------
    pandas.DataFrame
        ``customer_id, frequency, recency, T, monetary_value``, one row per customer with a
        purchase before ``end``, sorted by customer and indexed by the customer key (unnamed),
        as :func:`loyalty_lib.clv.rfm_summary`.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 1, 2], "amount": [10.0, 5.0, 20.0, 7.0],
    ...                    "date": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-01-05", "2026-01-03"])})
    >>> rfm_summary(tx, end="2026-01-12", backend="pandas")[["frequency", "recency", "T"]].values.tolist()
    [[1.0, 4.0, 10.0], [0.0, 0.0, 8.0]]
    """
    from loyalty_lib import clv
    from loyalty_lib.clv.data import _last_period

    if freq not in RFM_FREQS:
        raise ValueError(f"rfm_summary: freq must be one of {', '.join(RFM_FREQS)}, got {freq!r}")
    if not time_scaler > 0:
        raise ValueError(f"rfm_summary: time_scaler must be positive, got {time_scaler}")
    con, t = _plan(receipts, backend, ["customer_id", "date", amount_col], "rfm_summary")
    if con is None:
        ident = t[t["customer_id"].notna()]
        out = clv.rfm_summary(ident, amount_col=amount_col, end=end, freq=freq, time_scaler=time_scaler)
        out = out.reset_index(drop=True)
    else:
        last = _last_period(end, freq)
        d = t.filter(t.customer_id.notnull())
        d = d.mutate(p=_period_expr(d.date, freq), a=d[amount_col].cast("float64"))
        d = d.filter(d.p <= last)
        per = d.group_by(["customer_id", "p"]).aggregate(spend=d.a.sum())
        cust = per.group_by("customer_id").aggregate(
            n=per.count(),
            first=per.p.min(),
            last_p=per.p.max(),
            total=per.spend.sum(),
            first_spend=per.spend.argmin(per.p),
        )
        f = cust.n - 1
        expr = cust.select(
            "customer_id",
            frequency=f,
            recency=(cust.last_p - cust.first).cast("float64") / time_scaler,
            T=(last - cust.first).cast("float64") / time_scaler,
            monetary_value=(f > 0).ifelse((cust.total - cust.first_spend) / f.cast("float64"), 0.0),
        )
        out = _run(con, expr)
    out = _tidy(out, ["customer_id"], ints=("frequency",), floats=("recency", "T", "monetary_value"))
    out.index = pd.Index(out["customer_id"].to_numpy(), name=None)
    return out


# ----------------------------------------------------------------------------- panels
def customer_month(receipts, *, start=None, end=None, values=None, after=None, backend="auto") -> pd.DataFrame:
    """Customer-by-month totals of identified customers (months with a receipt only).

    Parameters
    ----------
    receipts : DataFrame, path or Ibis table
        Receipts with ``customer_id, date``, the columns of ``values`` and, when present,
        ``gross_amount`` (a visit is a receipt with ``gross_amount > 0``; without that column
        every receipt is one).
    start, end : date-like, optional
        Window ``[start, end)``: receipts outside it are left out.
    values : mapping of str to str, optional
        Output column -> receipt column to sum; default ``{"revenue": "amount",
        "gross_revenue": "gross_amount"}``.
    after : pandas.DataFrame, optional
        ``customer_id, date``: one day per customer (a card handed out, say; the earliest when
        a customer has several). The part of each cell from receipts dated *after that day* (the
        day itself stays before) is also given, as ``visits_after`` and ``<value>_after``.
    backend : str or Ibis backend
        Where it runs (see :mod:`loyalty_lib.engine`).

    Returns
    -------
    pandas.DataFrame
        ``customer_id, month`` (first day), ``receipts, visits``, one column per ``values``
        key and, with ``after``, ``visits_after`` and ``<key>_after``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a"], "gross_amount": [10.0, 4.0], "amount": [9.0, 4.0],
    ...                    "date": pd.to_datetime(["2025-01-01", "2025-01-31"])})
    >>> customer_month(tx, backend="pandas")[["receipts", "revenue"]].values.tolist()
    [[2.0, 13.0]]
    >>> card = pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2025-01-15"])})
    >>> customer_month(tx, values={"revenue": "amount"}, after=card, backend="pandas")[
    ...     ["visits", "visits_after", "revenue_after"]].values.tolist()
    [[2.0, 1.0, 4.0]]
    """
    vals = dict(values) if values is not None else {"revenue": "amount", "gross_revenue": "gross_amount"}
    cols = ["customer_id", "date", *dict.fromkeys(vals.values())]
    con, t = _plan(receipts, backend, cols, "customer_month", optional=["gross_amount"])
    d = _since(con, _identified(con, t, end), start)
    twins = {f"{k}_after": k for k in ["visits", *vals]} if after is not None else {}
    if con is None:
        visit = _visit_flag(d) if "gross_amount" in d else np.ones(len(d), bool)
        cols_out = {"visits": visit.astype(np.int64), **{k: d[c].to_numpy(float) for k, c in vals.items()}}
        if after is not None:
            cut = d["customer_id"].map(_after_days(after))
            aft = (d["date"] >= cut).to_numpy(bool)  # no day: never after
            cols_out |= {k: cols_out[v] * aft for k, v in twins.items()}
        frame = pd.DataFrame(
            {"customer_id": d["customer_id"].to_numpy(), "month": d["date"].to_numpy("datetime64[M]"), **cols_out}
        )
        g = frame.groupby(["customer_id", "month"], sort=False)
        out = g.sum().join(g.size().rename("receipts")).reset_index()
    else:
        d = d.mutate(month=d.date.truncate("M"), v_=_ibis_visit(d))
        if after is not None:
            import ibis

            with _quiet():
                cuts = ibis.memtable(_after_days(after).rename_axis("c_").rename("cut_").reset_index())
            d = d.left_join(cuts, d.customer_id == cuts.c_).drop("c_")
            d = d.mutate(a_=(d.date >= d.cut_).fill_null(False))
        aggs = {"receipts": d.count(), "visits": d.v_.sum(), **{k: d[c].cast("float64").sum() for k, c in vals.items()}}
        for k, v in twins.items():
            x = d.v_ if v == "visits" else d[vals[v]].cast("float64")
            aggs[k] = d.a_.ifelse(x, 0).sum()
        out = _run(con, d.group_by(["customer_id", "month"]).aggregate(**aggs))
    names = ["customer_id", "month", "receipts", "visits", *vals, *twins]
    return _tidy(
        out[names],
        ["customer_id", "month"],
        ints=("receipts", "visits", *(k for k in twins if k == "visits_after")),
        floats=(*vals, *(k for k in twins if k != "visits_after")),
        times=("month",),
    )


def _after_days(after: pd.DataFrame) -> pd.Series:
    """The first moment counted *after* each customer's day: the next midnight, by customer."""
    _check(after.columns, ["customer_id", "date"], "customer_month (after)")
    a = after[after["customer_id"].notna() & after["date"].notna()]
    days = pd.to_datetime(a["date"]).dt.normalize() + pd.Timedelta(days=1)
    return days.groupby(a["customer_id"].to_numpy()).min().astype("datetime64[ns]")


def _ibis_visit(d):
    """1 for a visit (``gross_amount > 0``; every receipt without that column), else 0, as an Ibis column."""
    if "gross_amount" not in d.columns:
        import ibis

        return ibis.literal(1, type="int64")
    return (d.gross_amount > 0).fill_null(False).cast("int64")


def _among(con, t, customers):
    """Only the receipts of ``customers`` (all when None): a semi-join on the backend."""
    if customers is None:
        return t
    ids = pd.unique(pd.Series(customers).dropna())
    if con is None:
        return t[t["customer_id"].isin(ids)]
    import ibis

    with _quiet():
        keep = ibis.memtable(pd.DataFrame({"customer_id": ids}))
    return t.semi_join(keep, "customer_id")


def _since(con, d, start):
    """Receipts on or after ``start`` (all when ``start`` is None)."""
    if start is None:
        return d
    if con is None:
        return d[d["date"] >= _end(start)]
    return d.filter(d.date >= _end(start).to_pydatetime())


def store_month(receipts, *, start=None, end=None, values=None, backend="auto") -> pd.DataFrame:
    """Store-by-month totals of all receipts (anonymous ones included).

    Parameters
    ----------
    receipts : DataFrame, path or Ibis table
        Receipts with ``store_id, customer_id, date``, the columns of ``values`` and, when
        present, ``gross_amount`` (visits: as :func:`customer_month`).
    start, end : date-like, optional
        Window ``[start, end)``.
    values : mapping of str to str, optional
        Output column -> receipt column to sum; default ``{"revenue": "amount"}``.
    backend : str or Ibis backend
        Where it runs (see :mod:`loyalty_lib.engine`).

    Returns
    -------
    pandas.DataFrame
        ``store_id, month`` (first day), ``receipts, customers`` (distinct identified),
        ``visits`` and one column per ``values`` key; receipts without a store are left out.

    Examples
    --------
    >>> tx = pd.DataFrame({"store_id": ["s", "s", "s"], "customer_id": ["a", None, "a"],
    ...                    "amount": [9.0, 4.0, 1.0],
    ...                    "date": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"])})
    >>> store_month(tx, backend="pandas")[["receipts", "customers", "revenue"]].values.tolist()
    [[3.0, 1.0, 14.0]]
    """
    vals = dict(values) if values is not None else {"revenue": "amount"}
    cols = ["store_id", "customer_id", "date", *dict.fromkeys(vals.values())]
    con, t = _plan(receipts, backend, cols, "store_month", optional=["gross_amount"])
    if con is None:
        d = _since(con, t[t["store_id"].notna()], start)
        d = d if end is None else d[d["date"] < _end(end)]
        visit = _visit_flag(d) if "gross_amount" in d else np.ones(len(d), bool)
        out = (
            d.assign(month=d["date"].to_numpy("datetime64[M]"), visit_=visit.astype(np.int64))
            .groupby(["store_id", "month"], sort=False)
            .agg(
                receipts=("date", "size"),
                customers=("customer_id", "nunique"),
                visits=("visit_", "sum"),
                **{k: (c, "sum") for k, c in vals.items()},
            )
            .reset_index()
        )
    else:
        d = _since(con, t.filter(t.store_id.notnull()), start)
        d = d if end is None else d.filter(d.date < _end(end).to_pydatetime())
        d = d.mutate(month=d.date.truncate("M"), v_=_ibis_visit(d))
        out = _run(
            con,
            d.group_by(["store_id", "month"]).aggregate(
                receipts=d.count(),
                customers=d.customer_id.nunique(),
                visits=d.v_.sum(),
                **{k: d[c].cast("float64").sum() for k, c in vals.items()},
            ),
        )
    out = out[["store_id", "month", "receipts", "customers", "visits", *vals]]
    return _tidy(
        out, ["store_id", "month"], ints=("receipts", "customers", "visits"), floats=tuple(vals), times=("month",)
    )


def _month_index(ts: pd.Timestamp) -> int:
    return (ts.year - 1970) * 12 + ts.month - 1


def cohort_counts(receipts, *, end, max_months: int = 12, customers=None, backend="auto") -> pd.DataFrame:
    """Customers of each first-purchase cohort with a visit *m* months after their first month.

    The cohort is the calendar month of a customer's first visit before ``end``; month *m* is
    listed only when it is complete before ``end`` and ``m <= max_months``. Visits are the
    receipts with ``gross_amount > 0`` when the receipts have that column (returns and voided
    receipts are no visits), else every receipt.

    Parameters
    ----------
    receipts : DataFrame, path or Ibis table
        Receipts with ``customer_id, date`` (and ``gross_amount`` when known).
    end : date-like
        Exclusive end of the data.
    max_months : int
        Last month after the cohort's first listed.
    customers : sequence, optional
        Only these customers (those first seen inside the data, say).
    backend : str or Ibis backend
        Where it runs (see :mod:`loyalty_lib.engine`).

    Returns
    -------
    pandas.DataFrame
        ``cohort`` (month start), ``month`` (0, 1, ...), ``customers`` (with a receipt in that
        month), ``cohort_size``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                    "date": pd.to_datetime(["2025-01-05", "2025-03-01", "2025-01-20"])})
    >>> cohort_counts(tx, end="2025-04-01", backend="pandas")[["month", "customers", "cohort_size"]].values.tolist()
    [[0, 2, 2], [2, 1, 2]]
    """
    if max_months < 0:
        raise ValueError("cohort_counts: max_months must be 0 or more")
    end = _end(end)
    last_complete = _month_index(end) - 1
    con, t = _plan(receipts, backend, ["customer_id", "date"], "cohort_counts", optional=["gross_amount"])
    t = _among(con, _visits(con, t), customers)
    if con is None:
        d = t[t["customer_id"].notna() & (t["date"] < end)]
        mi = d["date"].to_numpy("datetime64[M]").astype(np.int64)
        d = pd.DataFrame({"customer_id": d["customer_id"].to_numpy(), "mi": mi})
        first = d.groupby("customer_id", sort=False)["mi"].transform("min").to_numpy()
        d["cohort_mi"], d["month"] = first, mi - first
        sizes = d.drop_duplicates("customer_id").groupby("cohort_mi").size().rename("cohort_size")
        keep = d[(d["month"] <= max_months) & (d["mi"] <= last_complete)]
        out = (
            keep.drop_duplicates(["customer_id", "mi"])
            .groupby(["cohort_mi", "month"])
            .size()
            .rename("customers")
            .reset_index()
            .join(sizes, on="cohort_mi")
        )
    else:
        d = t.filter(t.customer_id.notnull() & (t.date < end.to_pydatetime()))
        d = d.mutate(mi=_period_expr(d.date, "M"))
        first = d.group_by("customer_id").aggregate(cohort_mi=d.mi.min())
        sizes = first.group_by("cohort_mi").aggregate(cohort_size=first.count())
        j = d.join(first, "customer_id")
        j = j.mutate(month=j.mi - j.cohort_mi)
        j = j.filter((j.month <= max_months) & (j.mi <= last_complete))
        counts = j.group_by(["cohort_mi", "month"]).aggregate(customers=j.customer_id.nunique())
        out = _run(con, counts.join(sizes, "cohort_mi"))
    out = out.assign(cohort=pd.to_datetime(out["cohort_mi"].to_numpy(np.int64).astype("datetime64[M]")))
    out = out[["cohort", "month", "customers", "cohort_size"]]
    return _tidy(out, ["cohort", "month"], ints=("month", "customers", "cohort_size"), times=("cohort",))


# ----------------------------------------------------------------------------- activity
def return_counts(
    receipts, *, horizon_days: float, end, k_max: int = 8, customers=None, backend="auto"
) -> pd.DataFrame:
    """The counts behind the return curve: k-th visits with a full horizon, and those followed within it.

    Visits (receipts with ``gross_amount > 0`` when the receipts have that column, else every
    receipt) are numbered per identified customer in time order (1, 2, ...); visit *k* counts
    (``n``) when it lies at least ``horizon_days`` before ``end``, and is a success when the
    customer's next visit follows within ``horizon_days``. These are the ``n`` and
    ``successes`` of :func:`loyalty_lib.metrics.activity.return_curve`.

    Parameters
    ----------
    receipts : DataFrame, path or Ibis table
        Receipts with ``customer_id, date`` (and ``gross_amount`` when known).
    horizon_days : float
        Horizon H.
    end : date-like
        Exclusive end of the data.
    k_max : int
        Largest visit number.
    customers : sequence, optional
        Count only these customers' visits (numbered among their own visits).
    backend : str or Ibis backend
        Where it runs (see :mod:`loyalty_lib.engine`).

    Returns
    -------
    pandas.DataFrame
        ``k`` (1..``k_max``), ``n``, ``successes``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2],
    ...                    "date": pd.to_datetime(["2025-01-01", "2025-01-10", "2025-01-02"])})
    >>> return_counts(tx, horizon_days=30, end="2025-06-01", k_max=2, backend="pandas").values.tolist()
    [[1, 2, 1], [2, 1, 0]]
    """
    if horizon_days <= 0 or k_max < 1:
        raise ValueError("return_counts: horizon_days and k_max must be positive")
    end = _end(end)
    h = pd.Timedelta(days=float(horizon_days))
    con, t = _plan(receipts, backend, ["customer_id", "date"], "return_counts", optional=["gross_amount"])
    t = _visits(con, t)
    t = _among(con, t, customers)
    if con is None:
        d = t[t["customer_id"].notna() & (t["date"] < end)][["customer_id", "date"]]
        d = d.sort_values(["customer_id", "date"], kind="stable")
        g = d.groupby("customer_id", sort=False)
        k = g.cumcount().to_numpy() + 1
        nxt = g["date"].shift(-1)
        elig = ((d["date"] <= end - h).to_numpy()) & (k <= k_max)
        ok = ((nxt - d["date"]) <= h).to_numpy()
        n = np.bincount(k[elig], minlength=k_max + 1)[1:]
        s = np.bincount(k[elig & ok], minlength=k_max + 1)[1:]
        out = pd.DataFrame({"k": np.arange(1, k_max + 1), "n": n, "successes": s})
    else:
        import ibis

        d = t.filter(t.customer_id.notnull() & (t.date < end.to_pydatetime()))
        w = ibis.window(group_by=d.customer_id, order_by=d.date)
        e = d.mutate(k=ibis.row_number().over(w) + 1, nxt=d.date.lead().over(w))
        gap = e.nxt.epoch_seconds() - e.date.epoch_seconds()
        e = e.mutate(ok=(gap <= h.total_seconds()).fill_null(False).cast("int64"))
        e = e.filter((e.date <= (end - h).to_pydatetime()) & (e.k <= k_max))
        got = _run(con, e.group_by("k").aggregate(n=e.count(), successes=e.ok.sum()))
        out = (
            pd.DataFrame({"k": np.arange(1, k_max + 1)})
            .merge(got.astype({"k": "int64"}), on="k", how="left")
            .fillna({"n": 0, "successes": 0})
        )
    return _tidy(out, ["k"], ints=("k", "n", "successes"))


def last_visits(receipts, *, end, customers=None, with_card: bool = False, backend="auto") -> pd.DataFrame:
    """Each identified customer's last visit before ``end``: what the activity windows are counted on.

    Visits are the receipts with ``gross_amount > 0`` when the receipts have that column, else
    every receipt.

    Parameters
    ----------
    receipts : DataFrame, path or Ibis table
        Receipts with ``customer_id, date`` (``card_id`` with ``with_card``).
    end : date-like
        Exclusive end.
    customers : sequence, optional
        Only these customers (the members, say).
    with_card : bool
        Only visits paid with a card (``card_id`` given).
    backend : str or Ibis backend
        Where it runs (see :mod:`loyalty_lib.engine`).

    Returns
    -------
    pandas.DataFrame
        ``customer_id, last_visit``, one row per customer with such a visit.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "gross_amount": [5.0, -5.0, 3.0],
    ...                    "date": pd.to_datetime(["2025-05-01", "2025-05-20", "2025-05-30"])})
    >>> last_visits(tx, end="2025-06-01", backend="pandas")["last_visit"].dt.day.tolist()
    [1, 30]
    """
    end = _end(end)
    cols = ["customer_id", "date", *(["card_id"] if with_card else [])]
    con, t = _plan(receipts, backend, cols, "last_visits", optional=["gross_amount"])
    t = _among(con, _visits(con, t), customers)
    if con is None:
        d = t[t["customer_id"].notna() & (t["date"] < end)]
        d = d[d["card_id"].notna()] if with_card else d
        out = d.groupby("customer_id", sort=False)["date"].max().rename("last_visit").reset_index()
    else:
        d = t.filter(t.customer_id.notnull() & (t.date < end.to_pydatetime()))
        d = d.filter(d.card_id.notnull()) if with_card else d
        out = _run(con, d.group_by("customer_id").aggregate(last_visit=d.date.max()))
    return _tidy(out, ["customer_id"], times=("last_visit",))


def active_counts(receipts, *, end, windows: Sequence[int] = (30, 90), backend="auto") -> pd.DataFrame:
    """Identified customers with a visit in each window of the last *w* days before ``end``.

    Visits are the receipts with ``gross_amount > 0`` when the receipts have that column.

    Returns
    -------
    pandas.DataFrame
        ``window_days, customers``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "b"],
    ...                    "date": pd.to_datetime(["2025-05-20", "2025-03-01", "2025-05-30"])})
    >>> active_counts(tx, end="2025-06-01", windows=[7, 30, 120], backend="pandas").values.tolist()
    [[7, 1], [30, 2], [120, 2]]
    """
    end = _end(end)
    windows = [int(w) for w in windows]
    if any(w <= 0 for w in windows):
        raise ValueError("active_counts: windows must be positive numbers of days")
    con, t = _plan(receipts, backend, ["customer_id", "date"], "active_counts", optional=["gross_amount"])
    t = _visits(con, t)
    if con is None:
        d = t[t["customer_id"].notna() & (t["date"] < end)]
        last = d.groupby("customer_id", sort=False)["date"].max()
        counts = [int((last >= end - pd.Timedelta(days=w)).sum()) for w in windows]
    else:
        d = t.filter(t.customer_id.notnull() & (t.date < end.to_pydatetime()))
        last = d.group_by("customer_id").aggregate(last=d.date.max())
        row = _run(
            con,
            last.aggregate(
                **{
                    f"w{i}": (last["last"] >= (end - pd.Timedelta(days=w)).to_pydatetime()).cast("int64").sum()
                    for i, w in enumerate(windows)
                }
            ),
        )
        counts = [0 if pd.isna(row[f"w{i}"].iloc[0]) else int(row[f"w{i}"].iloc[0]) for i in range(len(windows))]
    return pd.DataFrame({"window_days": np.asarray(windows, dtype=np.int64), "customers": np.asarray(counts, np.int64)})


# ----------------------------------------------------------------------------- receipt lines as codes
def receipt_lines(items, receipts, *, customers, products, end=None, backend="auto") -> tuple[pd.DataFrame, pd.Index]:
    """The receipt lines of identified customers as small integer codes, in the order of the lines table.

    Every line of a receipt with a customer id (and a date before ``end``) becomes one row of
    four numbers instead of three text ids: the customer's position in ``customers``, the
    receipt's row in the receipts table, its time, and the product's position in ``products``
    (a product missing from the catalogue gets a code after the catalogue's, one per distinct id,
    in the order of the ids). At a million customers (31M lines) that is about 0.6 GB instead
    of several GB of text. On DuckDB the join runs in the database, straight from the Parquet
    files of a report's snapshot; the pandas path joins in memory. Both give the same table.

    Parameters
    ----------
    items : DataFrame or path
        Receipt lines with ``transaction_id, product_id`` (a path: ``transaction_items.parquet``).
    receipts : DataFrame or path
        Receipts with ``transaction_id, customer_id, date`` (a path: ``transactions.parquet``).
    customers, products : sequence
        The customer ids and the product ids (the catalogue) whose positions are the codes.
    end : date-like, optional
        Keep receipts dated before it.
    backend : str or Ibis backend
        ``"pandas"``, ``"duckdb"`` (or an Ibis DuckDB backend), or ``"auto"``: DuckDB from
        :data:`AUTO_DUCKDB_ROWS` receipts on. The order of the lines is kept, which a
        warehouse does not promise: other backends raise ``ValueError``.

    Returns
    -------
    lines : pandas.DataFrame
        ``customer`` (int32), ``receipt`` (int32), ``date`` (datetime64[ns]), ``product``
        (int32), one row per line, in the order of ``items``.
    product_labels : pandas.Index
        The product id of each product code: ``products``, then the ids missing from it.

    Raises
    ------
    ValueError
        When a receipt's customer id is not in ``customers`` (the contract's rule "customer
        exists in customers"): such lines are never dropped silently.

    Examples
    --------
    >>> items = pd.DataFrame({"transaction_id": ["t2", "t1", "t3", "t1"], "product_id": ["q", "p", "p", "z"]})
    >>> tx = pd.DataFrame({"transaction_id": ["t1", "t2", "t3"], "customer_id": ["b", None, "a"],
    ...                    "date": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"])})
    >>> lines, labels = receipt_lines(items, tx, customers=["a", "b"], products=["p", "q"], backend="pandas")
    >>> lines[["customer", "receipt", "product"]].values.tolist(), list(labels)
    ([[1, 0, 0], [0, 2, 0], [1, 0, 2]], ['p', 'q', 'z'])
    """
    cust = pd.Index(customers)
    prod = pd.Index(products)
    end = None if end is None else _end(end)
    items_src, receipts_src = _source_file(items, "transaction_items"), _source_file(receipts, "transactions")
    con = resolve(backend, _n_rows(receipts_src))
    if con is not None:
        raw = getattr(con, "con", None)
        if getattr(con, "name", "") != "duckdb" or raw is None:
            raise ValueError("receipt_lines: the order of the lines needs pandas or DuckDB, not a warehouse")
        return _receipt_lines_duckdb(raw, items_src, receipts_src, cust, prod, end)
    it = pd.read_parquet(items_src, columns=["transaction_id", "product_id"]) if isinstance(items_src, Path) else items
    tx = (
        pd.read_parquet(receipts_src, columns=["transaction_id", "customer_id", "date"])
        if isinstance(receipts_src, Path)
        else receipts
    )
    _check(it.columns, ["transaction_id", "product_id"], "receipt_lines (lines)")
    _check(tx.columns, ["transaction_id", "customer_id", "date"], "receipt_lines (receipts)")
    from loyalty_lib.validation import _position  # Arrow's hash lookup: pandas' get_indexer on text ids is 5x slower

    ok = tx["customer_id"].notna().to_numpy()
    if end is not None:
        ok = ok & (tx["date"] < end).to_numpy()
    r = _position(it["transaction_id"], tx["transaction_id"])
    keep = r >= 0
    keep[keep] = ok[r[keep]]
    r = r[keep]
    c = _position(tx["customer_id"], pd.Series(cust))[r]  # looked up once per receipt, not per line
    _no_unknown_customers(c < 0, tx["customer_id"].to_numpy()[r])
    codes, ids = pd.factorize(it["product_id"])  # the few distinct products, looked up once each
    at = _position(pd.Series(ids), pd.Series(prod))
    unknown = np.sort(np.asarray(ids[at < 0]).astype(str).astype(object))
    if len(unknown):
        at[at < 0] = len(prod) + np.searchsorted(unknown, np.asarray(ids[at < 0]).astype(str))
    p = np.where(codes[keep] >= 0, at[np.maximum(codes[keep], 0)], -1)
    lines = pd.DataFrame(
        {
            "customer": c.astype(np.int32),
            "receipt": r.astype(np.int32),
            "date": tx["date"].to_numpy()[r].astype("datetime64[ns]"),
            "product": p.astype(np.int32),
        }
    )
    return lines, prod.append(pd.Index(unknown, dtype=prod.dtype))


def _source_file(src, name: str):
    """A DataFrame as it is; a path (or a snapshot folder) as the Parquet file of table ``name``."""
    if isinstance(src, str | Path):
        p = Path(src)
        p = p / f"{name}.parquet" if p.is_dir() else p
        if not p.is_file():
            raise FileNotFoundError(f"engine: no {name} file {p}")
        return p
    return src


def _no_unknown_customers(bad: np.ndarray, ids: np.ndarray) -> None:
    if bad.any():
        shown = ", ".join(map(repr, pd.unique(ids[bad])[:5]))
        raise ValueError(
            f"receipt_lines: {int(bad.sum()):,} receipt lines have a transactions.customer_id missing from "
            f"customers (rule: customer exists in customers), e.g. {shown}"
        )


def _receipt_lines_duckdb(raw, items, receipts, cust: pd.Index, prod: pd.Index, end) -> tuple[pd.DataFrame, pd.Index]:
    """:func:`receipt_lines` in DuckDB: the join and the codes in the database, the order by line number."""
    cur = raw.cursor()  # its own cursor: the frames registered here never meet another query's
    cur.execute("SET enable_progress_bar = false")
    try:
        src = {}
        for name, frame in (("items", items), ("tx", receipts)):
            if isinstance(frame, Path):
                src[name] = f"read_parquet('{frame.as_posix()}', file_row_number = true)"
            else:
                cur.register(f"_rl_{name}", frame.assign(file_row_number=np.arange(len(frame), dtype=np.int64)))
                src[name] = f"_rl_{name}"
        cur.register("_rl_cust", pd.DataFrame({"customer_id": cust.astype(str), "code": np.arange(len(cust))}))
        cur.register("_rl_prod", pd.DataFrame({"product_id": prod.astype(str), "code": np.arange(len(prod))}))
        unknown = [
            u[0]
            for u in cur.execute(
                f"SELECT DISTINCT CAST(product_id AS VARCHAR) AS p FROM {src['items']} "
                "WHERE p NOT IN (SELECT product_id FROM _rl_prod) AND p IS NOT NULL ORDER BY p"
            ).fetchall()
        ]
        cur.register("_rl_unknown", pd.DataFrame({"product_id": unknown, "code": len(prod) + np.arange(len(unknown))}))
        when = "" if end is None else f"AND t.date < TIMESTAMP '{end.isoformat(sep=' ')}'"
        lines = f"""
            WITH t AS (
                SELECT t.transaction_id, COALESCE(c.code, -1) AS customer, CAST(t.date AS TIMESTAMP) AS date,
                       t.file_row_number AS r
                FROM {src["tx"]} t LEFT JOIN _rl_cust c ON t.customer_id = c.customer_id
                WHERE t.customer_id IS NOT NULL {when})
            SELECT i.file_row_number AS line, CAST(i.product_id AS VARCHAR) AS product_id, t.customer, t.r, t.date
            FROM {src["items"]} i JOIN t ON i.transaction_id = t.transaction_id"""
        reader = cur.sql(
            f"""SELECT CAST(l.line AS INTEGER) AS line, CAST(l.customer AS INTEGER) AS customer,
                       CAST(l.r AS INTEGER) AS receipt, l.date, CAST(COALESCE(p.code, u.code, -1) AS INTEGER) AS product
                FROM ({lines}) l LEFT JOIN _rl_prod p ON l.product_id = p.product_id
                     LEFT JOIN _rl_unknown u ON l.product_id = u.product_id"""
        ).to_arrow_reader()
        # back in the order of the lines table: each batch scattered to its line numbers (no sort),
        # so only one batch of the result is ever held beside the columns
        n_items = _n_rows(items)
        cols = {"customer": np.int32, "receipt": np.int32, "date": "datetime64[ns]", "product": np.int32}
        full = {name: np.empty(n_items, dtype=dtype) for name, dtype in cols.items()}
        kept = np.zeros(n_items, dtype=bool)
        for batch in reader:
            line = batch.column("line").to_numpy()
            kept[line] = True
            for name, dtype in cols.items():
                full[name][line] = batch.column(name).to_numpy().astype(dtype, copy=False)
        out = pd.DataFrame({name: full.pop(name)[kept] for name in cols})
        if (out["customer"].to_numpy() < 0).any():
            ids = cur.execute(
                f"SELECT t.customer_id FROM {src['tx']} t JOIN {src['items']} i ON i.transaction_id = t.transaction_id "
                f"WHERE t.customer_id IS NOT NULL {when} "
                "AND t.customer_id NOT IN (SELECT customer_id FROM _rl_cust)"
            ).fetchall()
            _no_unknown_customers(np.ones(len(ids), bool), np.array([i[0] for i in ids], dtype=object))
    finally:
        cur.close()
    return out, prod.append(pd.Index(unknown, dtype=prod.dtype))
