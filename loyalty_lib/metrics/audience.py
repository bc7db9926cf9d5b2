"""Audience: who the clients are, what each segment brings, and RFM segments over time.

Functions take contract tables (``customers``, ``transactions``) and return tidy frames.
Segment shares come with customer-bootstrap intervals (:func:`loyalty_lib.stats.bootstrap_draws`
with ``counts=True``: a resample is a matrix product of draw counts and per-customer sums, never
a loop). :func:`assign_segments` is the one call a CRM export needs: receipts in, one named RFM
segment per customer out; it uses integer codes and numpy reductions, so a million customers
take seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from loyalty_lib.stats import bootstrap_draws, check_columns, percentile_interval

__all__ = [
    "DIMENSIONS",
    "RFM_SEGMENTS",
    "assign_segments",
    "customer_values",
    "headroom",
    "migration_matrix",
    "monthly_segments",
    "rfm_scores",
    "rfm_table",
    "segment_columns",
    "segment_shares",
    "share_frame",
]

#: Segment dimensions of :func:`segment_columns`, in the order of the page.
DIMENSIONS = ("customer_type", "age_band", "gender", "income_band", "district", "channel")

#: Named RFM segments: name -> plain meaning (rules in :func:`rfm_scores`).
RFM_SEGMENTS = {
    "champions": "bought recently, often and much",
    "loyal": "buy often; not the very latest",
    "promising": "recent, not yet frequent",
    "new": "first purchases just now",
    "need_attention": "middling on every count",
    "at_risk": "used to buy often, not lately",
    "hibernating": "long ago, rarely, little",
    "inactive": "no purchase in the window",
}

UNKNOWN = "unknown"
_DAY_NS = 86_400 * 10**9


def _age_band_labels(edges: Sequence[int]) -> list[str]:
    e = list(edges)
    return [f"<{e[0]}"] + [f"{a}-{b - 1}" for a, b in zip(e[:-1], e[1:], strict=True)] + [f"{e[-1]}+"]


def _segment_order(label: str) -> tuple:
    """Sort key of segment labels: bands by their first number (``<25`` first), text after, unknown last."""
    lead = label.lstrip("<")
    num = pd.to_numeric(lead.split("-")[0].rstrip("+"), errors="coerce")
    if np.isnan(num):
        return (label in (UNKNOWN, "none"), True, 0.0, label)
    return (False, False, float(num) - 0.5 if label.startswith("<") else float(num), label)


def segment_columns(
    customers: pd.DataFrame,
    transactions: pd.DataFrame | None = None,
    *,
    age_edges: Sequence[int] = (25, 35, 45, 55, 65),
) -> pd.DataFrame:
    """One row per customer with the segment of each dimension; missing values read ``unknown``.

    Parameters
    ----------
    customers : pandas.DataFrame
        The contract's ``customers`` table (``customer_id, customer_type`` and whichever of
        ``age, gender, income_band, district`` it has; an ``age_band`` column written in bands
        such as ``35-44`` is used as it is).
    transactions : pandas.DataFrame, optional
        Receipts (``customer_id, channel``): a customer's ``channel`` segment is ``offline``,
        ``delivery`` or ``both``; ``none`` without a receipt.
    age_edges : sequence of int
        Lower edges of the age bands after the first (``<25, 25-34, ... 65+`` by default).

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` and one text column per dimension of :data:`DIMENSIONS` the data have.

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": ["1", "2"], "customer_type": ["b2c", "b2b"], "age": [30, None]})
    >>> segment_columns(c, age_edges=(25, 50)).to_dict("list")
    {'customer_id': ['1', '2'], 'customer_type': ['b2c', 'b2b'], 'age_band': ['25-49', 'unknown']}
    """
    check_columns(customers, ["customer_id", "customer_type"], "segment_columns", table="customers")
    out = pd.DataFrame({"customer_id": customers["customer_id"].to_numpy()})
    out["customer_type"] = customers["customer_type"].astype(object).fillna(UNKNOWN).astype(str).to_numpy()
    if "age_band" in customers:
        out["age_band"] = customers["age_band"].astype(object).fillna(UNKNOWN).astype(str).to_numpy()
    elif "age" in customers:
        age = pd.to_numeric(customers["age"], errors="coerce").to_numpy(dtype=float)
        labels = np.array(_age_band_labels(age_edges) + [UNKNOWN], dtype=object)
        idx = np.where(np.isnan(age), len(labels) - 1, np.searchsorted(np.asarray(age_edges, float), age, "right"))
        out["age_band"] = labels[idx.astype(int)]
    for col in ("gender", "income_band", "district"):
        if col in customers:
            out[col] = customers[col].astype(object).fillna(UNKNOWN).astype(str).to_numpy()
    if transactions is not None and "channel" in transactions:
        check_columns(transactions, ["customer_id", "channel"], "segment_columns", table="transactions")
        tx = transactions[transactions["customer_id"].notna()]
        ch = tx.assign(channel=tx["channel"].astype(str)).groupby("customer_id")["channel"].agg(["min", "max"])
        both = np.where(ch["min"] == ch["max"], ch["min"].astype(str), "both")
        out["channel"] = out["customer_id"].map(pd.Series(both, index=ch.index)).fillna("none").to_numpy()
    return out


def customer_values(
    customers: pd.DataFrame,
    transactions: pd.DataFrame,
    *,
    start=None,
    end=None,
    margin: float = 0.3,
) -> pd.DataFrame:
    """Revenue, margin and receipts of every customer in ``[start, end)`` (0 for customers without one).

    The margin of a receipt is ``margin x gross_amount - discount_amount``: the shop keeps its
    margin share of the sale before discount and pays the discount out of it (without the
    discount columns it is ``margin x amount``).

    Parameters
    ----------
    customers : pandas.DataFrame
        ``customer_id`` of every customer counted (those without a receipt count too).
    transactions : pandas.DataFrame
        Receipts: ``customer_id, date, amount`` (``gross_amount, discount_amount`` optional).
    start, end : str or Timestamp, optional
        Window; ``None`` for no bound.
    margin : float
        Gross-margin share of a sale.

    Returns
    -------
    pandas.DataFrame
        ``customer_id, revenue, margin, receipts`` in the order of ``customers``.

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": ["a", "b"]})
    >>> tx = pd.DataFrame({"customer_id": ["a", "a"], "date": pd.to_datetime(["2026-01-01", "2026-02-01"]),
    ...                    "amount": [95.0, 50.0], "gross_amount": [100.0, 50.0], "discount_amount": [5.0, 0.0]})
    >>> customer_values(c, tx, margin=0.3).round(2).to_dict("list")  # a: 0.3 * 150 - 5
    {'customer_id': ['a', 'b'], 'revenue': [145.0, 0.0], 'margin': [40.0, 0.0], 'receipts': [2, 0]}
    """
    check_columns(customers, ["customer_id"], "customer_values", table="customers")
    check_columns(transactions, ["customer_id", "date", "amount"], "customer_values", table="transactions")
    if not 0 <= margin <= 1:
        raise ValueError(f"customer_values: margin must be a share between 0 and 1, got {margin}")
    tx = transactions[transactions["customer_id"].notna()]
    keep = np.ones(len(tx), dtype=bool)
    if start is not None:
        keep &= (tx["date"] >= pd.Timestamp(start)).to_numpy()
    if end is not None:
        keep &= (tx["date"] < pd.Timestamp(end)).to_numpy()
    tx = tx[keep]
    if {"gross_amount", "discount_amount"} <= set(tx.columns):
        m = margin * tx["gross_amount"].to_numpy(dtype=float) - tx["discount_amount"].to_numpy(dtype=float)
    else:
        m = margin * tx["amount"].to_numpy(dtype=float)
    ids = pd.Index(customers["customer_id"])
    code = ids.get_indexer(tx["customer_id"])
    ok = code >= 0
    n = len(ids)
    return pd.DataFrame(
        {
            "customer_id": customers["customer_id"].to_numpy(),
            "revenue": np.bincount(code[ok], tx["amount"].to_numpy(dtype=float)[ok], minlength=n),
            "margin": np.bincount(code[ok], m[ok], minlength=n),
            "receipts": np.bincount(code[ok], minlength=n).astype(np.int64),
        }
    )


def segment_shares(
    values: pd.DataFrame,
    segments: pd.DataFrame,
    *,
    dimensions: Sequence[str] | None = None,
    n_boot: int = 300,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Each segment's share of customers, revenue and margin, with customer-bootstrap intervals.

    Also the **index** of each segment: its share of revenue over its share of customers (1 =
    brings its share; 2 = twice its share), and its revenue per customer.

    Parameters
    ----------
    values : pandas.DataFrame
        From :func:`customer_values` (``customer_id, revenue, margin``).
    segments : pandas.DataFrame
        From :func:`segment_columns`, aligned on ``customer_id``.
    dimensions : sequence of str, optional
        Dimensions to break down (default every column of ``segments`` but the id).
    n_boot, seed, level
        Bootstrap resamples of customers, seed and confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per (``dimension, segment``): ``customers`` (count), ``customer_share``,
        ``revenue_share``, ``margin_share``, ``index``, ``revenue_per_customer`` (estimates), and
        ``<figure>_ci_low`` / ``<figure>_ci_high`` for each of them.

    Examples
    --------
    >>> v = pd.DataFrame({"customer_id": [1, 2, 3, 4], "revenue": [10.0, 30.0, 0.0, 60.0], "margin": 1.0})
    >>> s = pd.DataFrame({"customer_id": [1, 2, 3, 4], "customer_type": ["b2c", "b2c", "b2c", "b2b"]})
    >>> r = segment_shares(v, s, n_boot=20).set_index("segment")
    >>> r.loc["b2b", ["customer_share", "revenue_share", "index"]].tolist()  # 1/4, 60/100, 0.6/0.25
    [0.25, 0.6, 2.4]
    """
    check_columns(values, ["customer_id", "revenue", "margin"], "segment_shares", table="customer values")
    dims = list(dimensions) if dimensions is not None else [c for c in segments.columns if c != "customer_id"]
    check_columns(segments, ["customer_id", *dims], "segment_shares", table="segments")
    seg = segments.set_index("customer_id").reindex(values["customer_id"])
    rev = values["revenue"].to_numpy(dtype=float)
    mar = values["margin"].to_numpy(dtype=float)
    n = len(values)
    # one-hot of every (dimension, segment) pair, as columns of one sparse matrix (one entry per
    # customer and dimension): a resample's totals are counts @ per, at the cost of its entries
    labels, rows, cols = [], [], []
    for d in dims:
        col = seg[d].fillna(UNKNOWN).astype(str)
        order = sorted(col.unique(), key=_segment_order)
        code = pd.Index(order).get_indexer(col)
        rows.append(np.arange(n))
        cols.append(len(labels) + code)
        labels += [(d, u) for u in order]
    k = len(labels)
    rows, cols = (np.concatenate(rows), np.concatenate(cols)) if dims else (np.zeros(0, int), np.zeros(0, int))
    onehot = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, k))
    per = sparse.hstack(
        [
            onehot,
            sparse.diags(rev) @ onehot,
            sparse.diags(mar) @ onehot,
            sparse.csr_matrix(np.c_[rev, mar, np.ones(n)]),
        ],
        format="csc",
    )

    def stat(totals: np.ndarray) -> np.ndarray:
        cust, r, m = totals[:, :k], totals[:, k : 2 * k], totals[:, 2 * k : 3 * k]
        r_all, m_all, n_all = totals[:, 3 * k], totals[:, 3 * k + 1], totals[:, 3 * k + 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            cs = cust / n_all[:, None]
            rs = r / r_all[:, None]
            return np.hstack([cs, rs, m / m_all[:, None], rs / cs, r / cust])

    point = stat(np.asarray(per.sum(axis=0)).reshape(1, -1))[0]
    draws = bootstrap_draws(n, lambda counts: stat(np.asarray(counts @ per)), n_boot=n_boot, seed=seed, counts=True)
    lo, hi = percentile_interval(draws, level=level)
    out = pd.DataFrame(labels, columns=["dimension", "segment"])
    out["customers"] = np.asarray(onehot.sum(axis=0)).ravel().astype(np.int64)
    for j, name in enumerate(["customer_share", "revenue_share", "margin_share", "index", "revenue_per_customer"]):
        sl = slice(j * k, (j + 1) * k)
        out[name], out[f"{name}_ci_low"], out[f"{name}_ci_high"] = point[sl], lo[sl], hi[sl]
    return out


def share_frame(shares: pd.DataFrame, figure: str = "customer_share") -> pd.DataFrame:
    """One figure of :func:`segment_shares` as an estimate frame (``estimate, ci_low, ci_high, n``).

    Parameters
    ----------
    shares : pandas.DataFrame
        From :func:`segment_shares` (a ``truth`` column, if any, is kept).
    figure : str
        ``customer_share``, ``revenue_share``, ``margin_share``, ``index`` or ``revenue_per_customer``.

    Returns
    -------
    pandas.DataFrame
        ``dimension, segment, estimate, ci_low, ci_high, n`` (customers) and ``truth`` when present.

    Examples
    --------
    >>> s = pd.DataFrame({"dimension": ["t"], "segment": ["a"], "customers": [3], "index": [1.5],
    ...                   "index_ci_low": [1.0], "index_ci_high": [2.0]})
    >>> share_frame(s, "index")
      dimension segment  estimate  ci_low  ci_high  n
    0         t       a       1.5     1.0      2.0  3
    """
    check_columns(
        shares,
        ["dimension", "segment", "customers", figure, f"{figure}_ci_low", f"{figure}_ci_high"],
        "share_frame",
        table="segment shares",
    )
    out = pd.DataFrame(
        {
            "dimension": shares["dimension"],
            "segment": shares["segment"],
            "estimate": shares[figure],
            "ci_low": shares[f"{figure}_ci_low"],
            "ci_high": shares[f"{figure}_ci_high"],
            "n": shares["customers"],
        }
    )
    if "truth" in shares:
        out["truth"] = shares["truth"]
    return out


def headroom(shares: pd.DataFrame) -> pd.DataFrame:
    """Revenue a segment would add if its customers spent like the next segment up.

    Within each dimension, segments are ranked by revenue per customer; a segment's headroom is
    its customers times the gap to the revenue per customer of the segment just above it (0 for
    the top one). The ``unknown`` segment is left out: it is not a group one can grow.

    Parameters
    ----------
    shares : pandas.DataFrame
        From :func:`segment_shares`.

    Returns
    -------
    pandas.DataFrame
        ``dimension, segment, customers, revenue_per_customer, next_segment,
        next_revenue_per_customer, headroom``, largest headroom first.

    Examples
    --------
    >>> s = pd.DataFrame({"dimension": "t", "segment": ["a", "b", "c"], "customers": [10, 5, 1],
    ...                   "revenue_per_customer": [1.0, 3.0, 10.0]})
    >>> headroom(s)[["segment", "headroom"]].to_dict("list")  # a: 10 x (3 - 1); b: 5 x (10 - 3)
    {'segment': ['b', 'a', 'c'], 'headroom': [35.0, 20.0, 0.0]}
    """
    check_columns(
        shares, ["dimension", "segment", "customers", "revenue_per_customer"], "headroom", table="segment shares"
    )
    s = shares[(shares["segment"] != UNKNOWN) & (shares["customers"] > 0)]
    s = s.sort_values(["dimension", "revenue_per_customer"], kind="stable").reset_index(drop=True)
    g = s.groupby("dimension", sort=False)
    out = s[["dimension", "segment", "customers", "revenue_per_customer"]].copy()
    out["next_segment"] = g["segment"].shift(-1)
    out["next_revenue_per_customer"] = g["revenue_per_customer"].shift(-1)
    gap = (out["next_revenue_per_customer"] - out["revenue_per_customer"]).fillna(0.0)
    out["headroom"] = out["customers"] * gap
    return out.sort_values("headroom", ascending=False, kind="stable").reset_index(drop=True)


def _codes(customer_id: pd.Series) -> tuple[np.ndarray, pd.Index]:
    codes, uniques = pd.factorize(customer_id)
    return codes, pd.Index(uniques)


def rfm_table(
    transactions: pd.DataFrame,
    *,
    as_of,
    window_days: int = 365,
    customers: pd.Series | None = None,
    backend=None,
) -> pd.DataFrame:
    """Recency, frequency and monetary value of every customer as of a day.

    Only receipts before ``as_of`` and at most ``window_days`` earlier count.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts: ``customer_id, date, amount``.
    as_of : str or Timestamp
        The day after the last day counted.
    window_days : int
        Days counted back from ``as_of``.
    customers : pandas.Series, optional
        Ids to report (those without a receipt in the window get frequency 0); default every
        customer with a receipt in the window.
    backend : str or Ibis backend, optional
        When given, the receipts are summed per customer by
        :func:`loyalty_lib.engine.customer_summary` on that backend (``transactions`` may then
        be a Parquet path or an Ibis table, with ``gross_amount`` too) and only the totals reach
        pandas; without ``customers`` the rows are then sorted by customer. Default: in memory.

    Returns
    -------
    pandas.DataFrame
        ``customer_id, recency_days`` (days from the last receipt to ``as_of``; NaN without one),
        ``frequency`` (receipts), ``monetary`` (revenue).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [10.0, 20.0, 5.0],
    ...                    "date": pd.to_datetime(["2026-01-01", "2026-03-01", "2025-01-01"])})
    >>> rfm_table(tx, as_of="2026-03-11", window_days=365).to_dict("list")
    {'customer_id': ['a'], 'recency_days': [10.0], 'frequency': [2], 'monetary': [30.0]}
    """
    end = pd.Timestamp(as_of)
    if backend is not None:
        from loyalty_lib import engine

        start = end - pd.Timedelta(days=window_days)
        from loyalty_lib.validation import _position  # Arrow's hash lookup: get_indexer on text ids is 5x slower

        cs = engine.customer_summary(transactions, start=start, end=end, backend=backend)
        ids = pd.Index(pd.unique(customers.dropna())) if customers is not None else pd.Index(cs["customer_id"])
        at = _position(pd.Series(ids), cs["customer_id"])  # each id's row in the summary, -1 without a receipt
        got = at >= 0
        last = cs["last_purchase"].to_numpy("datetime64[ns]")[np.maximum(at, 0)]
        return pd.DataFrame(
            {
                "customer_id": np.asarray(ids),
                "recency_days": np.where(got, (end.to_datetime64() - last) / np.timedelta64(1, "D"), np.nan),
                "frequency": np.where(got, cs["receipts"].to_numpy(np.int64)[np.maximum(at, 0)], 0),
                "monetary": np.where(got, cs["revenue"].to_numpy(float)[np.maximum(at, 0)], 0.0),
            }
        )
    check_columns(transactions, ["customer_id", "date", "amount"], "rfm_table", table="transactions")
    d = transactions["date"]
    keep = (d < end) & (d >= end - pd.Timedelta(days=window_days)) & transactions["customer_id"].notna()
    tx = transactions[keep.to_numpy()]
    if customers is None:
        codes, ids = _codes(tx["customer_id"])
    else:
        ids = pd.Index(pd.unique(customers.dropna()))
        codes = ids.get_indexer(tx["customer_id"])
        tx, codes = tx[codes >= 0], codes[codes >= 0]
    n = len(ids)
    t = tx["date"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    last = np.full(n, np.iinfo(np.int64).min)
    if len(t):
        order = np.argsort(codes, kind="stable")
        c_sorted = codes[order]
        starts = np.flatnonzero(np.r_[True, c_sorted[1:] != c_sorted[:-1]])
        last[c_sorted[starts]] = np.maximum.reduceat(t[order], starts)
    freq = np.bincount(codes, minlength=n)
    recency = np.where(freq > 0, (end.value - last) / _DAY_NS, np.nan)
    return pd.DataFrame(
        {
            "customer_id": np.asarray(ids),
            "recency_days": recency,
            "frequency": freq.astype(np.int64),
            "monetary": np.bincount(codes, tx["amount"].to_numpy(dtype=float), minlength=n),
        }
    )


def _score(values: np.ndarray, cuts: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Score 1..len(cuts)+1: how many cut points a value exceeds (recency: how many it is below)."""
    if higher_is_better:
        return 1 + np.searchsorted(cuts, values, side="left")
    return 1 + len(cuts) - np.searchsorted(cuts, values, side="right")


def rfm_scores(
    rfm: pd.DataFrame,
    *,
    cuts: Mapping[str, Sequence[float]] | None = None,
    bins: int = 5,
) -> tuple[pd.DataFrame, dict[str, list[float]]]:
    """Score recency, frequency and money 1 (worst) to ``bins`` (best) and name each customer's segment.

    Cut points are the data's quantiles (``bins`` equal parts of the active customers) unless
    given. A score counts the cut points a value beats, so equal values always get the same
    score (frequency, where most customers bought once, then uses fewer distinct scores).
    Segments, with R, F, M the scores and FM the rounded mean of F and M:

    - ``champions``: R >= 4 and FM >= 4; ``loyal``: F >= 4 and R >= 3 (not champions);
    - ``new``: R = 5 and F = 1; ``promising``: R >= 4 and F <= 3 (not new);
    - ``at_risk``: R <= 2 and F >= 3; ``hibernating``: R <= 2 and F <= 2;
    - ``need_attention``: everyone else; ``inactive``: no receipt in the window.

    Parameters
    ----------
    rfm : pandas.DataFrame
        From :func:`rfm_table`.
    cuts : mapping, optional
        ``{"recency": [...], "frequency": [...], "monetary": [...]}``, each ``bins - 1``
        increasing cut points (days, receipts, money); missing keys come from the data.
    bins : int
        Number of scores (2 to 10).

    Returns
    -------
    scored : pandas.DataFrame
        ``rfm`` plus ``r_score, f_score, m_score`` (0 for inactive customers) and ``segment``.
    cuts : dict
        The cut points used, to score another month or another shop alike.

    Examples
    --------
    >>> rfm = pd.DataFrame({"customer_id": list("abcd"), "recency_days": [5.0, 200.0, 20.0, np.nan],
    ...                     "frequency": [12, 6, 1, 0], "monetary": [900.0, 400.0, 50.0, 0.0]})
    >>> cuts = {"recency": [30, 60, 90, 180], "frequency": [1, 2, 4, 8], "monetary": [100, 200, 300, 600]}
    >>> scored, _ = rfm_scores(rfm, cuts=cuts)
    >>> scored[["r_score", "f_score", "m_score", "segment"]].values.tolist()
    [[5, 5, 5, 'champions'], [1, 4, 4, 'at_risk'], [5, 1, 1, 'new'], [0, 0, 0, 'inactive']]
    """
    check_columns(rfm, ["customer_id", "recency_days", "frequency", "monetary"], "rfm_scores", table="rfm")
    if not 2 <= bins <= 10:
        raise ValueError(f"rfm_scores: bins must be between 2 and 10, got {bins}")
    active = rfm["frequency"].to_numpy() > 0
    q = np.arange(1, bins) / bins
    used: dict[str, list[float]] = {}
    for name, col in [("recency", "recency_days"), ("frequency", "frequency"), ("monetary", "monetary")]:
        given = (cuts or {}).get(name)
        if given is not None:
            c = np.asarray(given, dtype=float)
            if len(c) != bins - 1 or np.any(np.diff(c) < 0):
                raise ValueError(f"rfm_scores: cuts[{name!r}] must be {bins - 1} increasing numbers, got {list(given)}")
        else:
            v = rfm[col].to_numpy(dtype=float)[active]
            c = np.quantile(v, q) if len(v) else np.zeros(bins - 1)
        used[name] = [float(x) for x in c]
    r = _score(rfm["recency_days"].to_numpy(dtype=float), np.asarray(used["recency"]), higher_is_better=False)
    f = _score(rfm["frequency"].to_numpy(dtype=float), np.asarray(used["frequency"]), higher_is_better=True)
    m = _score(rfm["monetary"].to_numpy(dtype=float), np.asarray(used["monetary"]), higher_is_better=True)
    r, f, m = (np.where(active, x, 0) for x in (r, f, m))
    top = bins - 1  # "4 of 5" scales with the number of bins
    low = max(2 * bins // 5, 1)
    fm = np.floor((f + m) / 2 + 0.5)
    segment = np.select(
        [
            ~active,
            (r >= top) & (fm >= top),
            (f >= top) & (r >= low + 1),
            (r == bins) & (f == 1),
            (r >= top) & (f <= top - 1),
            (r <= low) & (f >= low + 1),
            (r <= low) & (f <= low),
        ],
        ["inactive", "champions", "loyal", "new", "promising", "at_risk", "hibernating"],
        "need_attention",
    )
    out = rfm.assign(
        r_score=r.astype(np.int64), f_score=f.astype(np.int64), m_score=m.astype(np.int64), segment=segment
    )
    return out, used


def assign_segments(
    transactions: pd.DataFrame,
    *,
    as_of=None,
    window_days: int = 365,
    cuts: Mapping[str, Sequence[float]] | None = None,
    bins: int = 5,
    customers: pd.Series | None = None,
    backend=None,
) -> pd.DataFrame:
    """One call for a CRM export: each customer's RFM scores and named segment.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts: ``customer_id, date, amount``.
    as_of : str or Timestamp, optional
        The day after the last day counted (default the day after the last receipt).
    window_days, cuts, bins
        See :func:`rfm_table` and :func:`rfm_scores`.
    customers : pandas.Series, optional
        Every customer to segment (those without a receipt in the window are ``inactive``).
    backend : str or Ibis backend, optional
        Where the receipts are summed (see :func:`rfm_table`).

    Returns
    -------
    pandas.DataFrame
        ``customer_id, recency_days, frequency, monetary, r_score, f_score, m_score, segment``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b"], "amount": [10.0, 5.0],
    ...                    "date": pd.to_datetime(["2026-03-01", "2025-06-01"])})
    >>> cuts = {"recency": [30, 60, 90, 180], "frequency": [1, 2, 4, 8], "monetary": [5, 10, 20, 40]}
    >>> assign_segments(tx, as_of="2026-03-02", cuts=cuts, customers=pd.Series(["a", "b", "c"]))["segment"].tolist()
    ['new', 'hibernating', 'inactive']
    """
    if as_of is None:
        as_of = pd.Timestamp(_last_receipt(transactions, backend)).normalize() + pd.Timedelta(days=1)
    rfm = rfm_table(transactions, as_of=as_of, window_days=window_days, customers=customers, backend=backend)
    return rfm_scores(rfm, cuts=cuts, bins=bins)[0]


def _last_receipt(transactions, backend):
    """The time of the last receipt (a customer's, through the engine when a backend is given)."""
    if backend is None:
        return transactions["date"].max()
    from loyalty_lib import engine

    return engine.customer_summary(transactions, backend=backend)["last_purchase"].max()


def monthly_segments(
    transactions: pd.DataFrame,
    months: Sequence,
    *,
    window_days: int = 365,
    cuts: Mapping[str, Sequence[float]] | None = None,
    bins: int = 5,
    customers: pd.Series | None = None,
    backend=None,
) -> pd.DataFrame:
    """Each customer's segment at the start of every month (one vectorised call per month).

    The cut points are fixed across months (given, or taken from the last month), so a customer
    moves between segments only because of what they did.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts: ``customer_id, date, amount``.
    months : sequence of str or Timestamp
        The days to segment on (usually the first day of each month).
    window_days, cuts, bins
        See :func:`rfm_scores`.
    customers : pandas.Series, optional
        Every customer to follow (default those with any receipt).
    backend : str or Ibis backend, optional
        Where the receipts are summed, once per month (see :func:`rfm_table`).

    Returns
    -------
    pandas.DataFrame
        ``as_of, customer_id, segment`` (long format) with the cut points in ``attrs["cuts"]``.
    """
    days = [pd.Timestamp(m) for m in months]
    if customers is None and backend is None:
        customers = pd.Series(pd.unique(transactions["customer_id"].dropna()))
    elif customers is None:
        from loyalty_lib import engine

        customers = engine.customer_summary(transactions, backend=backend)["customer_id"]
    if cuts is None:
        last = rfm_table(transactions, as_of=days[-1], window_days=window_days, customers=customers, backend=backend)
        cuts = rfm_scores(last, bins=bins)[1]
    frames = []
    for day in days:  # one call per month, each vectorised over all customers
        seg = assign_segments(
            transactions,
            as_of=day,
            window_days=window_days,
            cuts=cuts,
            bins=bins,
            customers=customers,
            backend=backend,
        )
        frames.append(pd.DataFrame({"as_of": day, "customer_id": seg["customer_id"], "segment": seg["segment"]}))
    out = pd.concat(frames, ignore_index=True)
    out.attrs["cuts"] = dict(cuts)
    return out


def migration_matrix(monthly: pd.DataFrame, *, normalize: bool = True) -> pd.DataFrame:
    """Month-to-month moves between segments, summed over every pair of consecutive months.

    Parameters
    ----------
    monthly : pandas.DataFrame
        From :func:`monthly_segments` (``as_of, customer_id, segment``).
    normalize : bool
        Rows as shares (where the customers of a segment went next month) instead of counts.

    Returns
    -------
    pandas.DataFrame
        Rows: segment in a month; columns: segment the month after (in :data:`RFM_SEGMENTS` order).

    Examples
    --------
    >>> m = pd.DataFrame({"as_of": [1, 1, 2, 2], "customer_id": ["a", "b", "a", "b"],
    ...                   "segment": ["new", "new", "promising", "new"]})
    >>> migration_matrix(m).loc["new", ["new", "promising"]].tolist()
    [0.5, 0.5]
    """
    check_columns(monthly, ["as_of", "customer_id", "segment"], "migration_matrix", table="monthly segments")
    # on integer codes: month, customer and segment of each row; a customer's segment next month is
    # looked up in a (month, customer) table, and the pairs are counted with one bincount
    day, days = pd.factorize(monthly["as_of"], sort=True)
    cust, ids = pd.factorize(monthly["customer_id"])
    present = pd.unique(monthly["segment"].dropna())
    order = [s for s in RFM_SEGMENTS if s in set(present)]
    seg = pd.Index(order).get_indexer(monthly["segment"])
    unknown = sorted(set(present) - set(order))
    if unknown:
        raise ValueError(f"migration_matrix: monthly segments, column segment: not RFM segments: {unknown[:5]}")
    n_c, n_k = len(ids), len(order)
    table = np.full(len(days) * n_c, -1, dtype=np.int64)
    ok = (day >= 0) & (cust >= 0)
    table[day[ok].astype(np.int64) * n_c + cust[ok]] = seg[ok]
    has_next = ok & (day < len(days) - 1) & (seg >= 0)
    to = table[(day[has_next].astype(np.int64) + 1) * n_c + cust[has_next]]
    frm = seg[has_next][to >= 0]
    to = to[to >= 0]
    counts = pd.DataFrame(
        np.bincount(frm * n_k + to, minlength=n_k * n_k).reshape(n_k, n_k).astype(np.int64),
        index=pd.Index(order, name="segment_from"),
        columns=pd.Index(order, name="segment_to"),
    )
    if not normalize:
        return counts
    return counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0)
