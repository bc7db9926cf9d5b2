"""Stage 03, activity: whether members keep buying, how often, and whether rewards pull them back.

Active members in 30/90-day windows, purchase frequency and inter-purchase time, card use as a
share of members' receipts, monthly cohort retention, the return curve P(visit k+1 | visit k)
within a horizon, churn, points accrual, redemption, breakage and liability, and the goal
gradient (customers come sooner as a reward nears).

A *visit* is a sales receipt (:func:`loyalty_lib.dataset.visits_mask`: ``gross_amount > 0``):
return receipts and zero receipts are receipts but not visits, so they never make a customer
active, start a gap or count on the return curve; revenue still nets them in (docs/metrics.md).
A table without ``gross_amount`` (a hand-made one) counts every row as a visit. A *member* is a
customer holding a card issued before the relevant date (see
:func:`loyalty_lib.metrics.enrollment.member_table`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from loyalty_lib.dataset import visit_flags
from loyalty_lib.metrics._common import isin
from loyalty_lib.metrics.enrollment import member_table
from loyalty_lib.stats import (
    ESTIMATE_COLUMNS,
    check_columns,
    estimate_frame,
    mean_frame,
    normal_interval,
    proportion_frame,
    ratio_frame,
)

DAY = pd.Timedelta(days=1)

#: Published return benchmarks: share of customers who come back after their k-th visit.
#: Fivestars (small US merchants): 60 % never return after the first visit, 80 % return after
#: the second. Paytronix (restaurants): full-service 45 / 75 / 90 % after visits 1 / 2 / 4,
#: quick-service 50 / 70 / 85 %. Benchmarks, not targets: a real panel can sit far above them.
BENCHMARKS = pd.DataFrame(
    {
        "source": ["Fivestars"] * 2 + ["Paytronix full-service"] * 3 + ["Paytronix quick-service"] * 3,
        "k": [1, 2, 1, 2, 4, 1, 2, 4],
        "p_return": [0.40, 0.80, 0.45, 0.75, 0.90, 0.50, 0.70, 0.85],
    }
)


def _receipts(transactions, cols, func, customer_col="customer_id", date_col="date"):
    """The visits (sales receipts) of ``transactions``: ``customer_id``, ``date`` and ``cols``."""
    check_columns(transactions, [customer_col, date_col, *cols], func, table="transactions")
    visit = visit_flags(transactions)
    t = transactions[[customer_col, date_col, *cols]]  # the columns first: the row filter copies only them
    t = t if visit.all() else t[visit]
    t = t.rename(columns={customer_col: "customer_id", date_col: "date"})
    return t.assign(date=pd.to_datetime(t["date"]))


def _member_starts(cards, transactions, end, member_since) -> pd.DataFrame:
    """``customer_id, issued_date`` of every member: from ``member_since`` or the cards' issue dates."""
    if member_since is None:
        return member_table(cards, transactions, end=end)[["customer_id", "issued_date"]]
    since = pd.to_datetime(pd.Series(member_since)).dropna()
    out = pd.DataFrame({"customer_id": since.index.to_numpy(), "issued_date": since.to_numpy()})
    return out if end is None else out[out["issued_date"] < pd.Timestamp(end)]


def active_members(
    transactions: pd.DataFrame,
    cards: pd.DataFrame,
    *,
    end,
    windows: Sequence[int] = (30, 90),
    basis: str = "any",
    member_since: pd.Series | None = None,
    level: float = 0.95,
    backend=None,
) -> pd.DataFrame:
    """Share of members active in the last *w* days before ``end``, with Wilson CIs.

    For each window the members are holders whose card was issued before ``end - w`` (so each
    had the whole window as a member and the purchase at which the card was handed out is not
    counted as activity). A member is active with at least one receipt in ``[end - w, end)``
    (``basis="any"``) or at least one receipt with the card (``basis="card"``).

    Parameters
    ----------
    transactions, cards : pandas.DataFrame
        Contract tables.
    end : date-like
        Exclusive end of the windows.
    windows : sequence of int
        Window lengths in days.
    basis : {"any", "card"}
        What counts as activity.
    member_since : pandas.Series, optional
        Day each member counts as a member from, by customer id (``Study.member_since``), for
        data whose cards carry no issue date; default the cards' issue dates.
    level : float
        Confidence level.
    backend : str or Ibis backend, optional
        When given, each member's last visit is found by :func:`loyalty_lib.engine.last_visits`
        on that backend (``transactions`` may then be a Parquet path or an Ibis table, and
        ``member_since`` is needed) and only those dates reach pandas; default: in memory here.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``window_days``, columns ``estimate, ci_low, ci_high, n, successes``
        (``n`` members, ``successes`` active members).

    Examples
    --------
    >>> cards = pd.DataFrame({"card_id": [1, 2], "customer_id": [1, 2],
    ...                       "issued_date": pd.to_datetime(["2025-01-01", "2025-01-01"])})
    >>> tx = pd.DataFrame({"customer_id": [1], "card_id": [1],
    ...                    "date": pd.to_datetime(["2025-03-20"])})
    >>> active_members(tx, cards, end="2025-04-01", windows=[30])["estimate"].tolist()
    [0.5]
    """
    f = "active_members"
    if basis not in ("any", "card"):
        raise ValueError(f"{f}: basis must be 'any' or 'card', got {basis!r}")
    if backend is not None:
        return _active_members_engine(transactions, cards, end, windows, basis, member_since, level, backend)
    t = _receipts(transactions, ["card_id"], f)
    end = pd.Timestamp(end)
    m = _member_starts(cards, transactions, end, member_since)
    if basis == "card":
        t = t[t["card_id"].notna()]
    ks, ns = [], []
    for w in windows:  # a handful of windows, each vectorised
        start = end - pd.Timedelta(days=int(w))
        members = m.loc[m["issued_date"] < start, "customer_id"]
        act = t.loc[(t["date"] >= start) & (t["date"] < end), "customer_id"].unique()
        ks.append(int(isin(members, pd.Index(act)).sum()))
        ns.append(len(members))
    return proportion_frame(ks, ns, index=pd.Index(list(windows), name="window_days"), level=level)


def _active_members_engine(transactions, cards, end, windows, basis, member_since, level, backend):
    """:func:`active_members` on the members' last visits, found by the engine."""
    from loyalty_lib import engine

    if member_since is None and not isinstance(transactions, pd.DataFrame):
        raise ValueError("active_members: give member_since when the receipts are not a DataFrame")
    end = pd.Timestamp(end)
    m = _member_starts(cards, transactions, end, member_since)
    last = engine.last_visits(
        transactions, end=end, customers=m["customer_id"], with_card=basis == "card", backend=backend
    )
    last = m["customer_id"].map(last.set_index("customer_id")["last_visit"]).to_numpy("datetime64[ns]")
    ks, ns = [], []
    for w in windows:  # a handful of windows, each vectorised
        start = end - pd.Timedelta(days=int(w))
        is_member = (m["issued_date"] < start).to_numpy()
        ks.append(int((is_member & (last >= start.to_datetime64())).sum()))
        ns.append(int(is_member.sum()))
    return proportion_frame(ks, ns, index=pd.Index(list(windows), name="window_days"), level=level)


def customer_groups(
    customers: pd.DataFrame,
    cards: pd.DataFrame,
    *,
    end=None,
    members: Sequence | None = None,
    customer_col: str = "customer_id",
) -> pd.DataFrame:
    """Member status and customer type per customer, for comparisons by group.

    Parameters
    ----------
    customers, cards : pandas.DataFrame
        Contract tables.
    end : date-like, optional
        A member is a customer whose card was issued before ``end`` (default: ever).
    members : sequence, optional
        Ids of the members (``Study.members``: holders and customers who bought with a card),
        for data whose cards carry no issue date; replaces the cards' issue dates.
    customer_col : str
        Customer key column.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id, customer_type, member`` (``"member"`` / ``"non-member"``).
    """
    f = "customer_groups"
    check_columns(customers, [customer_col, "customer_type"], f, table="customers")
    out = customers[[customer_col, "customer_type"]].rename(columns={customer_col: "customer_id"})
    if members is not None:
        is_m = isin(out["customer_id"], pd.Index(members))
        return out.assign(member=np.where(is_m, "member", "non-member"))
    check_columns(cards, ["customer_id", "issued_date"], f, table="cards")
    held = cards.loc[cards["customer_id"].notna() & cards["issued_date"].notna()]
    if end is not None:
        held = held[pd.to_datetime(held["issued_date"]) < pd.Timestamp(end)]
    is_m = isin(out["customer_id"], held["customer_id"])
    return out.assign(member=np.where(is_m, "member", "non-member"))


def purchase_frequency(
    transactions: pd.DataFrame,
    groups: pd.DataFrame,
    *,
    start,
    end,
    by: Sequence[str] = ("member", "customer_type"),
    level: float = 0.95,
) -> pd.DataFrame:
    """Purchases per 30 days and inter-purchase time, by group, with t intervals.

    Each buyer (at least one receipt in ``[start, end)``) counts once: the purchase rate is
    receipts / window length × 30; the inter-purchase time is the median of that customer's
    gaps between consecutive receipts in the window (customers with one receipt have none).
    Intervals are t intervals of the mean over customers. This is a *naive* comparison:
    frequent buyers take cards more often (self-selection), so the member/non-member gap is
    not the card's effect (stage 06 estimates that).

    Parameters
    ----------
    transactions : pandas.DataFrame
        Contract table ``transactions``.
    groups : pandas.DataFrame
        ``customer_id`` plus the ``by`` columns (e.g. from :func:`customer_groups`).
    start, end : date-like
        Window.
    by : sequence of str
        Group columns.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Long frame with the ``by`` columns, ``metric`` (``purchases_per_30d`` or
        ``median_gap_days``, the customer's median gap averaged over customers) and
        ``estimate, ci_low, ci_high, n`` (``n`` customers).
    """
    f = "purchase_frequency"
    by = list(by)
    check_columns(groups, ["customer_id", *by], f, table="groups")
    t = _receipts(transactions, [], f)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if end <= start:
        raise ValueError(f"{f}: end must be after start")
    t = t[(t["date"] >= start) & (t["date"] < end)].sort_values(["customer_id", "date"])
    days = (end - start) / DAY
    per = t.groupby("customer_id").size().rename("n_receipts").reset_index()
    per["purchases_per_30d"] = per["n_receipts"] / days * 30
    gap = t["date"].diff() / DAY
    gap = gap.where(t["customer_id"].eq(t["customer_id"].shift()))
    med = gap.groupby(t["customer_id"]).median().rename("median_gap_days")
    per = per.merge(med, left_on="customer_id", right_index=True, how="left")
    per = per.merge(groups[["customer_id", *by]], on="customer_id", how="inner")
    out = []
    for metric in ("purchases_per_30d", "median_gap_days"):
        d = per.dropna(subset=[metric])
        r = mean_frame(d[metric], [d[c] for c in by], level=level).drop(columns="total")
        out.append(r.reset_index().assign(metric=metric))
    out = pd.concat(out, ignore_index=True)
    return out[[*by, "metric", "estimate", "ci_low", "ci_high", "n"]]


def card_use_share(
    transactions: pd.DataFrame,
    cards: pd.DataFrame,
    *,
    end=None,
    groups: pd.DataFrame | None = None,
    by: str | None = None,
    member_since: pd.Series | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Share of members' receipts (from the day after issue) on which the card was shown.

    The share is a ratio of sums over members (card receipts / all receipts after issue); its
    interval is cluster-robust by member, because one member's receipts are not independent
    draws (a member who never shows the card pulls all their receipts down together).

    Parameters
    ----------
    transactions, cards : pandas.DataFrame
        Contract tables.
    end : date-like, optional
        Exclusive end of the window (default: just after the last receipt).
    groups : pandas.DataFrame, optional
        ``customer_id`` and the ``by`` column.
    by : str, optional
        Group column of ``groups``; ``None`` gives one row ``all``.
    member_since : pandas.Series, optional
        Day each member counts as a member from, by customer id (``Study.member_since``);
        default the cards' issue dates.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Indexed by group (``all`` without ``by``), columns ``estimate, ci_low, ci_high, n``
        (members) and ``receipts`` (their receipts after issue).
    """
    f = "card_use_share"
    t = _receipts(transactions, ["card_id"], f)
    m = _member_starts(cards, transactions, end, member_since)
    if end is not None:
        t = t[t["date"] < pd.Timestamp(end)]
    t = t.merge(m[["customer_id", "issued_date"]], on="customer_id", how="inner")
    # from the day after issue: the purchase that handed out the card was no chance to use it
    t = t[t["date"] >= t["issued_date"].dt.normalize() + DAY]
    per = t.assign(card=t["card_id"].notna()).groupby("customer_id")["card"].agg(["sum", "size"])
    if by is None:
        per["group"] = "all"
    else:
        if groups is None:
            raise ValueError(f"{f}: by={by!r} needs groups with customer_id and {by!r}")
        check_columns(groups, ["customer_id", by], f, table="groups")
        per["group"] = per.index.map(groups.set_index("customer_id")[by])
    r = ratio_frame(per.reset_index(), "sum", "size", cluster="customer_id", by="group", level=level)
    out = r.set_index("group")[ESTIMATE_COLUMNS].assign(receipts=r["denominator"].to_numpy().astype(int))
    out[["ci_low", "ci_high"]] = out[["ci_low", "ci_high"]].clip(0, 1)
    out.index.name = by or "group"
    return out


def cohort_retention(
    transactions: pd.DataFrame,
    cards: pd.DataFrame | None = None,
    *,
    cohort: str = "first_purchase",
    end,
    max_months: int = 12,
    customers: Sequence | None = None,
    level: float = 0.95,
    backend=None,
) -> pd.DataFrame:
    """Monthly cohort retention: share of a cohort with a receipt in month *m* after joining.

    The cohort is the calendar month of the customer's first receipt in the data
    (``cohort="first_purchase"``) or of card issue (``"card_issue"``). Month *m* counts only
    when it is complete before ``end``, so the last cohorts have shorter rows rather than
    falsely low shares.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Contract table ``transactions``.
    cards : pandas.DataFrame, optional
        Contract table ``cards``; needed for ``cohort="card_issue"``.
    cohort : {"first_purchase", "card_issue"}
        Cohort definition.
    end : date-like
        Exclusive end of the data.
    max_months : int
        Last month after joining shown.
    customers : sequence, optional
        Restrict to these customer ids (e.g. customers first seen inside the data window,
        so an old customer's first receipt in the data is not mistaken for a first purchase).
    level : float
        Confidence level.
    backend : str or Ibis backend, optional
        With ``cohort="first_purchase"``: the counts are made by
        :func:`loyalty_lib.engine.cohort_counts` on that backend (``transactions`` may then be a
        Parquet path or an Ibis table) and only they reach pandas; default: in memory here.

    Returns
    -------
    pandas.DataFrame
        Long frame, columns ``cohort`` (month start), ``month`` (0..``max_months``),
        ``estimate, ci_low, ci_high, n`` (cohort size), ``successes`` (active in that month).
    """
    f = "cohort_retention"
    if cohort not in ("first_purchase", "card_issue"):
        raise ValueError(f"{f}: cohort must be 'first_purchase' or 'card_issue', got {cohort!r}")
    end = pd.Timestamp(end)
    if backend is not None and cohort == "first_purchase":
        from loyalty_lib import engine

        got = engine.cohort_counts(transactions, end=end, max_months=max_months, customers=customers, backend=backend)
        c = got["cohort"].dt.year * 12 + got["cohort"].dt.month - 1
        k = pd.Series(got["customers"].to_numpy(), index=pd.MultiIndex.from_arrays([c, got["month"]], names=["c", "m"]))
        size = pd.Series(got["cohort_size"].to_numpy(), index=c.to_numpy()).groupby(level=0).first()
    else:
        t = _receipts(transactions, [], f)
        t = t[t["date"] < end]  # no mutate: a receipt from end on is in a month not complete, dropped below
        if customers is not None:
            t = t[isin(t["customer_id"], customers)]
        mon = t["date"].dt.year * 12 + t["date"].dt.month - 1
        if cohort == "first_purchase":
            start = mon.groupby(t["customer_id"]).min()
        else:
            if cards is None:
                raise ValueError(f"{f}: cohort='card_issue' needs the cards table")
            mt = member_table(cards, transactions, end=end)
            if customers is not None:
                mt = mt[isin(mt["customer_id"], customers)]
            d = mt["issued_date"]
            start = pd.Series((d.dt.year * 12 + d.dt.month - 1).to_numpy(), index=mt["customer_id"])
        diff = mon - t["customer_id"].map(start)
        act = pd.DataFrame({"customer_id": t["customer_id"], "c": t["customer_id"].map(start), "m": diff})
        # customers active per cohort and month; months before joining or after max_months are not
        # on the grid below
        k = act.drop_duplicates().groupby(["c", "m"]).size()
        size = start.value_counts()
    grid = pd.MultiIndex.from_product([size.index.sort_values(), range(max_months + 1)], names=["c", "m"])
    cells = pd.DataFrame(index=grid).reset_index()
    cells["n"] = cells["c"].map(size).astype(int)
    cells["successes"] = k.reindex(grid, fill_value=0).to_numpy()
    # month c + m is complete when it ends before ``end``: its index + 1 <= end's month index
    complete = (cells["c"] + cells["m"] + 1) <= end.year * 12 + end.month - 1
    cells = cells[complete.to_numpy()]
    pf = proportion_frame(cells["successes"], cells["n"], level=level)
    cohort_ts = pd.to_datetime({"year": cells["c"] // 12, "month": cells["c"] % 12 + 1, "day": 1})
    return pd.DataFrame(
        {
            "cohort": cohort_ts.to_numpy(),
            "month": cells["m"].to_numpy(),
            "estimate": pf["estimate"].to_numpy(),
            "ci_low": pf["ci_low"].to_numpy(),
            "ci_high": pf["ci_high"].to_numpy(),
            "n": cells["n"].to_numpy(),
            "successes": cells["successes"].to_numpy(),
        }
    )


def return_curve(
    transactions: pd.DataFrame,
    *,
    horizon_days: float,
    end,
    k_max: int = 8,
    customers: Sequence | None = None,
    level: float = 0.95,
    backend=None,
) -> pd.DataFrame:
    """Return curve: P(visit k+1 within ``horizon_days`` | visit k), k = 1..``k_max``.

    Visits are numbered per customer from the first receipt in the data. A visit *k* counts in
    the denominator only if it happened at least ``horizon_days`` before ``end``: every counted
    visit had the full horizon to be followed, so the curve is not pulled down by customers
    whose window was cut short (right-censoring).

    Parameters
    ----------
    transactions : pandas.DataFrame
        Contract table ``transactions``.
    horizon_days : float
        Horizon H.
    end : date-like
        Exclusive end of the data.
    k_max : int
        Largest k.
    customers : sequence, optional
        Restrict to these customer ids; pass customers whose first purchase is inside the
        data window, so that k counts their real visits and not visits since the data began.
    level : float
        Confidence level.
    backend : str or Ibis backend, optional
        When given, the counts are made by :func:`loyalty_lib.engine.return_counts` on that
        backend (``transactions`` may then be a Parquet path or an Ibis table) and only they
        reach pandas; default: in memory here.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``k``, columns ``estimate, ci_low, ci_high, n`` (eligible k-th visits),
        ``successes`` (followed by another visit within H).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2],
    ...                    "date": pd.to_datetime(["2025-01-01", "2025-01-10", "2025-01-02"])})
    >>> return_curve(tx, horizon_days=30, end="2025-06-01", k_max=1)["estimate"].tolist()
    [0.5]
    """
    f = "return_curve"
    if horizon_days <= 0 or k_max < 1:
        raise ValueError(f"{f}: horizon_days and k_max must be positive")
    if backend is not None:
        from loyalty_lib import engine

        c = engine.return_counts(
            transactions, horizon_days=horizon_days, end=end, k_max=k_max, customers=customers, backend=backend
        )
        return proportion_frame(
            c["successes"].to_numpy(), c["n"].to_numpy(), index=pd.Index(c["k"], name="k"), level=level
        )
    t = _receipts(transactions, [], f)
    end = pd.Timestamp(end)
    t = t[t["date"] < end]
    if customers is not None:
        t = t[isin(t["customer_id"], customers)]
    t = t.sort_values(["customer_id", "date"], kind="stable")
    k = t.groupby("customer_id").cumcount() + 1
    nxt = t.groupby("customer_id")["date"].shift(-1)
    h = pd.Timedelta(days=float(horizon_days))
    elig = (t["date"] <= end - h) & (k <= k_max)
    ok = (nxt - t["date"]) <= h
    n = k[elig].value_counts().reindex(range(1, k_max + 1), fill_value=0)
    s = k[elig & ok].value_counts().reindex(range(1, k_max + 1), fill_value=0)
    return proportion_frame(s.to_numpy(), n.to_numpy(), index=pd.Index(n.index, name="k"), level=level)


def _window(transactions, start, end, customers, func, cols=()):
    t = _receipts(transactions, list(cols), func)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if end <= start:
        raise ValueError(f"{func}: end must be after start")
    t = t[(t["date"] >= start) & (t["date"] < end) & t["customer_id"].notna()]
    if customers is not None:
        t = t[isin(t["customer_id"], pd.Index(customers))]
    return t


def monthly_active(
    transactions: pd.DataFrame,
    *,
    start,
    end,
    customer_col: str = "customer_id",
    date_col: str = "date",
) -> pd.DataFrame:
    """Monthly active customers: identified customers with at least one visit in each month.

    Only calendar months wholly inside ``[start, end)`` are listed, so a month cut by the data
    start or end does not look like a drop. Visits are sales receipts (a return receipt makes
    nobody active); those without a customer id count in ``anonymous_receipts`` only.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts with ``customer_col`` and ``date_col``.
    start, end : date-like
        Observation window ``[start, end)`` (``Study.start``, ``Study.end``).
    customer_col, date_col : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``month`` (first day), columns ``active_customers`` (distinct identified
        customers with a visit), ``receipts`` (their sales receipts), ``shopping_days`` (distinct
        customer-days with a visit) and ``anonymous_receipts`` (sales receipts without a customer).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 1, 2, None],
    ...                    "date": pd.to_datetime(["2025-01-03", "2025-01-03", "2025-01-20", "2025-02-01",
    ...                                            "2025-01-05"])})
    >>> monthly_active(tx, start="2025-01-01", end="2025-03-01").to_dict("list")
    {'active_customers': [1, 1], 'receipts': [3, 1], 'shopping_days': [2, 1], 'anonymous_receipts': [1, 0]}
    """
    f = "monthly_active"
    t = _receipts(transactions, [], f, customer_col=customer_col, date_col=date_col)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    first = start.to_period("M") if start == start.to_period("M").to_timestamp() else start.to_period("M") + 1
    last = end.to_period("M") - 1
    months = pd.period_range(first, last, freq="M") if last >= first else pd.PeriodIndex([], freq="M")
    # the complete months lie inside [start, end), so keeping their receipts keeps the window
    t = t.assign(month=t["date"].dt.to_period("M"), day=t["date"].dt.normalize())
    t = t[t["month"].isin(months)]
    ident = t[t["customer_id"].notna()]
    g = ident.groupby("month")
    out = pd.DataFrame(
        {
            "active_customers": g["customer_id"].nunique(),
            "receipts": g.size(),
            "shopping_days": ident.drop_duplicates(["customer_id", "day"]).groupby("month").size(),
            "anonymous_receipts": t[t["customer_id"].isna()].groupby("month").size(),
        }
    ).reindex(months, fill_value=0)
    out = out.fillna(0).astype("int64")
    out.index = months.to_timestamp()
    out.index.name = "month"
    return out


def visit_counts(
    transactions: pd.DataFrame,
    *,
    start,
    end,
    customers: Sequence | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Visits per customer counted two ways: as sales receipts and as shopping days.

    Two receipts of one customer on one day (a forgotten item, a split basket) are two receipts
    but one shopping day; a return receipt is neither. Every figure is a mean over the customers with a receipt in the
    window, with a t interval.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts (``customer_id``, ``date``).
    start, end : date-like
        Observation window ``[start, end)``.
    customers : sequence, optional
        Restrict to these customer ids.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``metric``: ``receipts_per_customer``, ``shopping_days_per_customer`` and
        ``receipts_per_shopping_day`` (each customer's receipts / shopping days, averaged over
        customers); columns ``estimate, ci_low, ci_high, n`` (customers).

    Examples
    --------
    Customer 1: three receipts on two days; customer 2: one receipt.

    >>> days = ["2025-01-03 10:00", "2025-01-03 18:00", "2025-01-09 09:00", "2025-01-04 12:00"]
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 1, 2], "date": pd.to_datetime(days)})
    >>> visit_counts(tx, start="2025-01-01", end="2025-02-01")["estimate"].round(2).tolist()
    [2.0, 1.5, 1.25]
    """
    t = _window(transactions, start, end, customers, "visit_counts")
    t = t.assign(day=t["date"].dt.normalize())
    g = t.groupby("customer_id")
    receipts = g.size().astype(float)
    days = g["day"].nunique().astype(float)
    metrics = {
        "receipts_per_customer": receipts,
        "shopping_days_per_customer": days,
        "receipts_per_shopping_day": receipts / days,
    }
    frames = [mean_frame(v, level=level).assign(metric=k) for k, v in metrics.items()]
    out = pd.concat(frames).set_index("metric")
    return out[["estimate", "ci_low", "ci_high", "n"]]


def return_shares(
    transactions: pd.DataFrame,
    *,
    start,
    end,
    k_max: int = 8,
    customers: Sequence | None = None,
    basis: str = "receipts",
    level: float = 0.95,
) -> pd.DataFrame:
    """The plain return curve: share_k = N(at least k + 1 visits) / N(at least k visits).

    Of the customers with at least *k* visits in the window, the share who made another one.
    No horizon and no eligibility rule: every visit in the window counts, so the curve is easy
    to check against a shop's own figures. Recent customers have had less time for a next
    visit, and for customers who were buying before the data start, visit *k* is their *k*-th
    visit *in the data*, not their *k*-th ever; :func:`return_curve` is the horizon version
    for customers whose first visit is in the data.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts (``customer_id``, ``date``).
    start, end : date-like
        Observation window ``[start, end)``.
    k_max : int
        Largest *k*.
    customers : sequence, optional
        Restrict to these customer ids.
    basis : {"receipts", "days"}
        A visit is a receipt, or a shopping day (several receipts of a day count once).
    level : float
        Confidence level of the Wilson interval.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``k`` (1 to ``k_max``), columns ``estimate, ci_low, ci_high, n`` (customers
        with at least *k* visits) and ``successes`` (those with at least *k* + 1); NaN where
        ``n`` is 0.

    Examples
    --------
    Customers with 1, 2, 3 and 3 visits: N(>=1) = 4, N(>=2) = 3, N(>=3) = 2, N(>=4) = 0.

    >>> tx = pd.DataFrame({"customer_id": [1, 2, 2, 3, 3, 3, 4, 4, 4],
    ...                    "date": pd.date_range("2025-01-01", periods=9, freq="D")})
    >>> return_shares(tx, start="2025-01-01", end="2025-02-01", k_max=3)["estimate"].round(3).tolist()
    [0.75, 0.667, 0.0]
    """
    f = "return_shares"
    if basis not in ("receipts", "days"):
        raise ValueError(f"{f}: basis must be 'receipts' or 'days', got {basis!r}")
    if k_max < 1:
        raise ValueError(f"{f}: k_max must be at least 1, got {k_max}")
    t = _window(transactions, start, end, customers, f)
    if basis == "days":
        t = t.assign(date=t["date"].dt.normalize()).drop_duplicates(["customer_id", "date"])
    visits = t.groupby("customer_id").size().to_numpy()
    ks = np.arange(1, k_max + 1)
    at_least = (visits[None, :] >= ks[:, None]).sum(axis=1)  # k_max x customers: a handful of rows
    more = (visits[None, :] >= ks[:, None] + 1).sum(axis=1)
    return proportion_frame(more, at_least, index=pd.Index(ks, name="k"), level=level)


def inter_purchase_time(
    transactions: pd.DataFrame,
    *,
    start,
    end,
    customers: Sequence | None = None,
    groups: pd.DataFrame | None = None,
    by: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Days between consecutive shopping days, pooled over all gaps and per customer.

    A gap is the number of days from one shopping day of a customer to their next (several
    receipts on one day are one shopping day). Two averages answer two questions:

    - **pooled**: the mean of all gaps in the window (sum of gaps / number of gaps). Frequent
      buyers have many gaps, so they weigh more: "how long is a typical pause between two
      purchases". Interval: ratio of sums, clustered by customer.
    - **per customer**: each customer's mean gap, averaged over customers with at least one
      gap; every customer weighs the same: "how long does a typical customer wait". Interval:
      t interval over customers.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts (``customer_id``, ``date``).
    start, end : date-like
        Observation window ``[start, end)``.
    customers : sequence, optional
        Restrict to these customer ids.
    groups : pandas.DataFrame, optional
        ``customer_id`` and the ``by`` column.
    by : str, optional
        Group column of ``groups``.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Columns ``[by,] average`` (``"pooled"`` or ``"per customer"``), ``estimate, ci_low,
        ci_high, n`` (gaps for pooled, customers for per customer) and ``n_customers``.

    Examples
    --------
    Customer 1 shops on days 1, 3 and 7 (gaps 2 and 4), customer 2 on days 1 and 11 (gap 10),
    customer 3 once: pooled (2 + 4 + 10) / 3 = 5.33, per customer (3 + 10) / 2 = 6.5.

    >>> tx = pd.DataFrame({"customer_id": [1, 1, 1, 2, 2, 3],
    ...                    "date": pd.to_datetime(["2025-01-01", "2025-01-03", "2025-01-07",
    ...                                            "2025-01-01", "2025-01-11", "2025-01-02"])})
    >>> inter_purchase_time(tx, start="2025-01-01", end="2025-02-01")[["average", "estimate"]].round(2).to_dict("list")
    {'average': ['pooled', 'per customer'], 'estimate': [5.33, 6.5]}
    """
    f = "inter_purchase_time"
    t = _window(transactions, start, end, customers, f)
    t = t.assign(day=t["date"].dt.normalize()).drop_duplicates(["customer_id", "day"])
    t = t.sort_values(["customer_id", "day"])
    gap = (t["day"].diff() / DAY).where(t["customer_id"].eq(t["customer_id"].shift()))
    gaps = pd.DataFrame({"customer_id": t["customer_id"].to_numpy(), "gap": gap.to_numpy()}).dropna()
    if by is not None:
        if groups is None:
            raise ValueError(f"{f}: by={by!r} needs groups with customer_id and {by!r}")
        check_columns(groups, ["customer_id", by], f, table="groups")
        gaps[by] = gaps["customer_id"].map(groups.drop_duplicates("customer_id").set_index("customer_id")[by])
        gaps = gaps.dropna(subset=[by])
    keys = [by] if by else []
    per = gaps.groupby(["customer_id", *keys], as_index=False)["gap"].agg(gap_sum="sum", gaps="size")
    pooled = ratio_frame(per, "gap_sum", "gaps", cluster="customer_id", by=by, level=level)
    pooled = pooled.assign(average="pooled", n=pooled["denominator"].astype(int))
    mean_gap = per["gap_sum"] / per["gaps"]
    # the columns are picked at the end: the group column comes out of the index, "total" is left
    pc = mean_frame(mean_gap, [per[by]], level=level).reset_index() if by else mean_frame(mean_gap, level=level)
    pc = pc.assign(average="per customer")
    n_cust = per.groupby(keys).size() if by else pd.Series([len(per)])
    out = pd.concat([pooled, pc], ignore_index=True)
    out["n_customers"] = out[by].map(n_cust).to_numpy() if by else len(per)
    return out[[*keys, "average", "estimate", "ci_low", "ci_high", "n", "n_customers"]]


def member_share(
    transactions: pd.DataFrame,
    *,
    members: Sequence,
    start,
    end,
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Share of receipts and of revenue that members bring, beside identified non-members and anonymous buyers.

    Every receipt of the window is counted (a census of the till, not a sample), so the shares
    carry no sampling interval. Receipts are visits (sales receipts); revenue is net of returns:
    a return receipt's negative amount counts for the buyer of the return receipt, and the
    return receipt is not a visit. Without anonymous receipts or identified non-members the
    members' share is 100 % by construction, and says nothing.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts (``customer_id``, ``date``, ``amount_col``); anonymous receipts have no
        customer id.
    members : sequence
        Member ids (``Study.members``).
    start, end : date-like
        Observation window ``[start, end)``.
    amount_col : str
        Revenue column.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``buyer`` (``member``, ``identified non-member``, ``anonymous``), columns
        ``receipts`` (sales receipts), ``revenue`` (net of discounts and returns),
        ``receipt_share, revenue_share``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, None], "amount": [100.0, 50.0, 30.0, 20.0],
    ...                    "date": pd.to_datetime(["2025-01-02"] * 4)})
    >>> share = member_share(tx, members=[1], start="2025-01-01", end="2025-02-01")
    >>> share.loc["member", ["receipt_share", "revenue_share"]].tolist()
    [0.5, 0.75]
    """
    f = "member_share"
    check_columns(transactions, ["customer_id", "date", amount_col], f, table="transactions")
    d = pd.to_datetime(transactions["date"])
    t = transactions[(d >= pd.Timestamp(start)) & (d < pd.Timestamp(end))]
    ids = t["customer_id"]
    buyer = np.select([ids.isna(), isin(ids, pd.Index(members))], ["anonymous", "member"], "identified non-member")
    order = ["member", "identified non-member", "anonymous"]
    visit = visit_flags(t)
    d = pd.DataFrame({"buyer": buyer, "amount": t[amount_col].astype(float).to_numpy(), "visit": visit})
    g = d.groupby("buyer")
    out = pd.DataFrame({"receipts": g["visit"].sum(), "revenue": g["amount"].sum()}).reindex(order, fill_value=0)
    out["receipts"] = out["receipts"].astype("int64")
    out["receipt_share"] = out["receipts"] / max(int(out["receipts"].sum()), 1)
    total = float(out["revenue"].sum())
    out["revenue_share"] = out["revenue"] / total if total else np.nan
    out.index.name = "buyer"
    return out


def churn_rate(
    transactions: pd.DataFrame,
    *,
    end,
    churn_days: int = 90,
    groups: pd.DataFrame | None = None,
    by: str | None = None,
    level: float = 0.95,
    backend=None,
) -> pd.DataFrame:
    """Churn over one period: of customers who bought in the previous N days, who stopped.

    The base is every customer with a receipt in ``[end - 2N, end - N)``; a customer
    *churned* when they have no receipt in ``[end - N, end)`` (no purchase in N days).
    N is a choice: a rare buyer (b2c average ~4 purchases a year) looks churned after 90 days
    far more often than a weekly one, so read the rate together with the purchase frequency.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Contract table ``transactions``.
    end : date-like
        Exclusive end of the churn period.
    churn_days : int
        N.
    groups : pandas.DataFrame, optional
        ``customer_id`` and ``by``.
    by : str, optional
        Group column; ``None`` gives one row ``all``.
    level : float
        Confidence level.
    backend : str or Ibis backend, optional
        When given, the base and who came back are read off each customer's last visit before
        ``end - N`` and before ``end`` (:func:`loyalty_lib.engine.last_visits` on that backend;
        ``transactions`` may then be a Parquet path or an Ibis table); anonymous receipts are
        then no customer. Default: in memory here.

    Returns
    -------
    pandas.DataFrame
        Indexed by group, columns ``estimate, ci_low, ci_high, n`` (base customers),
        ``successes`` (churned).
    """
    f = "churn_rate"
    if churn_days <= 0:
        raise ValueError(f"{f}: churn_days must be positive, got {churn_days}")
    end = pd.Timestamp(end)
    n_ = pd.Timedelta(days=int(churn_days))
    if backend is None:
        t = _receipts(transactions, [], f)
        base = pd.Index(t.loc[(t["date"] >= end - 2 * n_) & (t["date"] < end - n_), "customer_id"].unique())
        recent = t.loc[(t["date"] >= end - n_) & (t["date"] < end), "customer_id"].unique()
    else:
        from loyalty_lib import engine

        before = engine.last_visits(transactions, end=end - n_, backend=backend)
        base = pd.Index(before.loc[before["last_visit"] >= end - 2 * n_, "customer_id"])
        last = engine.last_visits(transactions, end=end, customers=base, backend=backend)
        recent = last.loc[last["last_visit"] >= end - n_, "customer_id"]
    frame = pd.DataFrame({"customer_id": base, "churned": ~isin(base, recent)})
    if by is None:
        frame["group"] = "all"
    else:
        if groups is None:
            raise ValueError(f"{f}: by={by!r} needs groups with customer_id and {by!r}")
        check_columns(groups, ["customer_id", by], f, table="groups")
        frame["group"] = frame["customer_id"].map(groups.set_index("customer_id")[by])
    g = frame.groupby("group")["churned"].agg(["sum", "size"])
    return proportion_frame(g["sum"], g["size"], index=pd.Index(g.index, name=by or "group"), level=level)


def points_summary(
    points_ledger: pd.DataFrame,
    transactions: pd.DataFrame,
    *,
    end,
    inactive_days: int = 180,
    value_per_point: float | None = None,
    currency: str = "",
    level: float = 0.95,
) -> pd.DataFrame:
    """Accrual, redemption, breakage and the outstanding liability of a points/stamp program.

    - *redemption rate*: points redeemed / points accrued (a stamp card can never reach 1:
      stamps short of the next reward are still on the cards);
    - *outstanding*: points accrued minus redeemed and expired, on every member's balance;
    - *breakage share*: the part of the outstanding points held by members with no receipt in
      the last ``inactive_days`` days: points that will likely never be redeemed;
    - *liability*: outstanding points × value per point (RUB), and the *expected* liability
      after breakage.

    Ratios carry cluster-robust intervals by member; totals are what is on the books (no
    sampling interval), except the expected liability, which inherits the breakage interval.

    Parameters
    ----------
    points_ledger : pandas.DataFrame
        Contract table ``points_ledger``.
    transactions : pandas.DataFrame
        Contract table ``transactions`` (for the last receipt of each member).
    end : date-like
        Exclusive end; entries and receipts from then on are ignored.
    inactive_days : int
        Inactivity that makes points count as breakage.
    value_per_point : float, optional
        Money per point; default: the ledger's accrual ``value`` / ``points``.
    currency : str
        Currency of the money rows (``Study.currency``; empty when unknown).
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``metric`` (``points_accrued, points_redeemed, redemption_rate,
        outstanding_points, breakage_share, liability, expected_liability``; money in ``currency``), columns
        ``estimate, ci_low, ci_high, n`` (members) and ``unit``.
    """
    f = "points_summary"
    check_columns(points_ledger, ["customer_id", "date", "entry_type", "points"], f, table="points_ledger")
    t = _receipts(transactions, [], f)
    end = pd.Timestamp(end)
    lg = points_ledger[pd.to_datetime(points_ledger["date"]) < end]
    if value_per_point is None:
        if "value" not in lg.columns:
            raise ValueError(f"{f}: points_ledger lacks column 'value'; pass value_per_point")
        acc = lg[lg["entry_type"] == "accrual"]
        accrued = acc["points"].sum()
        value_per_point = float(acc["value"].sum() / accrued) if accrued else np.nan
    pts = lg["points"].astype(float)
    per = (
        pd.DataFrame(
            {
                "accrued": pts.where(lg["entry_type"] == "accrual", 0.0),
                "redeemed": -pts.where(lg["entry_type"] == "redemption", 0.0),
                "balance": pts,
            }
        )
        .groupby(lg["customer_id"])
        .sum()
    )
    last = t[t["date"] < end].groupby("customer_id")["date"].max()
    inactive = per.index.map(last).to_series(index=per.index) < end - pd.Timedelta(days=int(inactive_days))
    bal = per["balance"].clip(lower=0)
    m = len(per)
    pf = per.assign(_idle=bal.where(inactive, 0.0), _held=bal).reset_index()
    cl = pf.columns[0]
    interval = ["estimate", "ci_low", "ci_high"]
    rr = ratio_frame(pf, "redeemed", "accrued", cluster=cl, level=level)[interval].iloc[0].to_numpy()
    # the idle balances are part of all balances: the share and its interval lie in [0, 1]
    br = ratio_frame(pf, "_idle", "_held", cluster=cl, level=level)[interval].iloc[0].to_numpy().clip(0, 1)
    out_pts = float(bal.sum())
    liab = out_pts * value_per_point
    rows = {
        "points_accrued": (per["accrued"].sum(), np.nan, np.nan, m, "points"),
        "points_redeemed": (per["redeemed"].sum(), np.nan, np.nan, m, "points"),
        "redemption_rate": (*rr, m, "%"),
        "outstanding_points": (out_pts, np.nan, np.nan, m, "points"),
        "breakage_share": (*br, m, "%"),
        "liability": (liab, np.nan, np.nan, m, currency),
        "expected_liability": (
            liab * (1 - br[0]),
            liab * (1 - br[2]),
            liab * (1 - br[1]),
            m,
            currency,
        ),
    }
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["estimate", "ci_low", "ci_high", "n", "unit"])
    out.index.name = "metric"
    return out


def goal_gradient_panel(
    transactions: pd.DataFrame,
    points_ledger: pd.DataFrame,
    cards: pd.DataFrame,
    *,
    end=None,
) -> pd.DataFrame:
    """Each member's watch cut into spells of constant stamps held, with their time at risk.

    The card is handed out at a purchase, so a member's watch starts at their first receipt on
    or after the card's issue date (not counted as a visit). From there each receipt ends a
    spell that began at the member's previous receipt; the stamps (points) held during the
    spell are the ledger balance right after that previous receipt. The last spell, from the
    member's last receipt to ``end``, ends without a visit (censored): it is listed too, since
    a long pause that has not ended yet is part of the member's time at a stamp count.

    Campaign visits are visits like the others here, and their stamps count from then on. They
    come on top of the reward's pull, but they are few (on the synthetic branch about one
    receipt in 300): taking each contacted member's response windows out of the time at risk
    was tried and moved the slope further from the planted one (docs/validation.md).

    Parameters
    ----------
    transactions, points_ledger, cards : pandas.DataFrame
        Contract tables.
    end : date-like, optional
        Exclusive end of the data (default: just after the last receipt).

    Returns
    -------
    pandas.DataFrame
        One row per spell, columns ``customer_id, start`` (the receipt opening the spell),
        ``date`` (the receipt ending it; ``end`` for the censored last spell), ``gap_number``
        (1, 2, ... per member), ``stamps_held``, ``gap_days`` (NaN for the censored spell),
        ``log_gap`` (NaN for the censored spell and for a zero gap), ``censored``,
        ``exposure_days`` (time at risk: the spell's days, the censored one's up to ``end``) and
        ``visit`` (1 when the spell ends with a visit, 0 for the censored spell).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": 1, "date": pd.to_datetime(["2025-01-01", "2025-01-05", "2025-01-07"]),
    ...                    "card_id": 9})
    >>> cards = pd.DataFrame({"card_id": 9, "customer_id": 1, "issued_date": pd.to_datetime(["2025-01-01"])})
    >>> ledger = pd.DataFrame({"customer_id": 1, "date": tx["date"][:2], "points": 1.0})
    >>> p = goal_gradient_panel(tx, ledger, cards, end="2025-01-10")
    >>> p[["stamps_held", "exposure_days", "visit", "censored"]]
       stamps_held  exposure_days  visit  censored
    0          1.0            4.0      1     False
    1          2.0            2.0      1     False
    2          2.0            3.0      0      True
    """
    f = "goal_gradient_panel"
    check_columns(points_ledger, ["customer_id", "date", "points"], f, table="points_ledger")
    t = _receipts(transactions, [], f)
    end_ts = pd.Timestamp(end) if end is not None else t["date"].max() + pd.Timedelta(seconds=1)
    m = member_table(cards, transactions, end=end_ts)
    t = t[t["date"] < end_ts]
    t = t.merge(m[["customer_id", "issued_date"]], on="customer_id", how="inner")
    t = t[t["date"] >= t["issued_date"]].sort_values("date", kind="stable")
    lg = points_ledger[["customer_id", "date", "points"]].assign(date=lambda d: pd.to_datetime(d["date"]))
    lg = lg.sort_values(["customer_id", "date"], kind="stable")
    lg = lg.assign(balance=lg.groupby("customer_id")["points"].cumsum()).sort_values("date", kind="stable")
    t = pd.merge_asof(t, lg[["customer_id", "date", "balance"]], on="date", by="customer_id")
    t["balance"] = t["balance"].fillna(0.0)
    t = t.sort_values(["customer_id", "date"], kind="stable").reset_index(drop=True)
    nxt = t["date"].shift(-1)
    last = t["customer_id"].ne(t["customer_id"].shift(-1))
    stop = nxt.where(~last, end_ts)
    gap = (stop - t["date"]) / DAY
    out = pd.DataFrame(
        {
            "customer_id": t["customer_id"],
            "start": t["date"],
            "date": stop,
            "gap_number": t.groupby("customer_id").cumcount() + 1,
            "stamps_held": t["balance"].astype(float),
            "gap_days": gap.where(~last),
            "censored": last.to_numpy(),
        }
    )
    with np.errstate(divide="ignore"):
        out["log_gap"] = np.log(out["gap_days"].where(out["gap_days"] > 0))
    out["exposure_days"] = gap.to_numpy(float)
    out["visit"] = (~last).to_numpy().astype(np.int64)
    cols = ["customer_id", "start", "date", "gap_number", "stamps_held", "gap_days", "log_gap", "censored"]
    return out[[*cols, "exposure_days", "visit"]]


def _stamp_cells(panel: pd.DataFrame, func: str) -> pd.DataFrame:
    """Visits and time at risk per member and stamps held, from a :func:`goal_gradient_panel` frame."""
    check_columns(panel, ["customer_id", "stamps_held", "exposure_days", "visit"], func, table="panel")
    p = panel.dropna(subset=["stamps_held", "exposure_days"])
    bad = p.index[p["exposure_days"] < 0]
    if len(bad):
        raise ValueError(f"{func}: panel.exposure_days must be >= 0; rows {list(bad[:10])} are not")
    cells = p.groupby(["customer_id", "stamps_held"], sort=True)[["visit", "exposure_days"]].sum().reset_index()
    return cells[cells["exposure_days"] > 0]


def _conditional_poisson(
    cells: pd.DataFrame, group: np.ndarray, cluster: np.ndarray, *, max_iter: int = 100
) -> tuple[float, float, int]:
    """Slope of the log visit rate on stamps held, each ``group`` with a rate of its own.

    Maximises the Poisson likelihood of the visits given the time at risk, with the group's rate
    profiled out (the conditional, multinomial likelihood: the same slope as a Poisson
    regression with group fixed effects and log time at risk as offset), by Newton's method.
    The standard error is clustered by ``cluster`` (``G / (G - 1)`` small-sample factor).

    Returns
    -------
    tuple
        ``slope, se, clusters`` (clusters whose score can move: at least one visit and time at
        two stamp counts in their group).
    """
    s = cells["stamps_held"].to_numpy(float)
    n = cells["visit"].to_numpy(float)
    t = cells["exposure_days"].to_numpy(float)
    ng = int(group.max()) + 1 if len(group) else 0
    nc = int(cluster.max()) + 1 if len(cluster) else 0
    b = 0.0
    for _ in range(max_iter):
        w = t * np.exp(b * (s - s.mean()))
        wg = np.bincount(group, w, ng)
        mean_s = np.bincount(group, w * s, ng) / np.where(wg > 0, wg, 1)
        ng_visits = np.bincount(group, n, ng)
        mu = ng_visits[group] * w / np.where(wg > 0, wg, 1)[group]  # expected visits of each cell
        dev = s - mean_s[group]
        score = float(np.sum(dev * (n - mu)))
        info = float(np.sum(mu * dev**2))
        if info <= 0:
            return np.nan, np.nan, 0
        step = score / info
        b += step
        if abs(step) < 1e-12:
            break
    u = np.bincount(cluster, dev * (n - mu), nc)
    moves = np.bincount(cluster, mu * dev**2, nc) > 0
    g = int(moves.sum())
    se = float(np.sqrt(g / (g - 1) * np.sum(u[moves] ** 2)) / info) if g > 1 else np.nan
    return b, se, g


def _frailty_poisson(cells: pd.DataFrame, covariate: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
    """Slope of the log visit rate on stamps held, members' own rates drawn from a gamma law.

    Member ``i`` visits at ``theta_i x exp(b x stamps held)`` per day; ``theta_i`` is gamma
    distributed with shape ``k`` and mean ``exp(g0 + g1 x covariate_i)``. Integrating
    ``theta_i`` out gives each member's likelihood in closed form (a negative-binomial
    process): ``k log(k / mu) + lgamma(k + N) - lgamma(k) - (k + N) log(k / mu + L(b)) + b S``
    with ``N`` the member's visits, ``S`` the stamps held at them and ``L(b)`` the time at risk
    weighted by ``exp(b x stamps held)``. Maximised with its analytic gradient (BFGS); the
    covariance is the member-clustered sandwich (``G / (G - 1)`` small-sample factor).

    Returns
    -------
    tuple
        Parameters ``b, log k, g0, g1`` (no ``g1`` when the covariate does not vary), their
        covariance and the number of members.
    """
    from scipy import optimize, special

    m, ids = pd.factorize(cells["customer_id"])
    held = cells["stamps_held"].to_numpy(float)
    scale = max(float(np.std(held)), 1e-12)  # points can run to thousands: fit on a unit scale
    s = held / scale
    n = cells["visit"].to_numpy(float)
    t = cells["exposure_days"].to_numpy(float)
    g = len(ids)
    n_i, s_i = np.bincount(m, n, g), np.bincount(m, s * n, g)
    x = covariate.reindex(ids).to_numpy(float)
    x = np.column_stack([np.ones(g), x - x.mean()]) if np.ptp(x) > 0 else np.ones((g, 1))

    def scores(th: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b, k, gam = th[0], np.exp(th[1]), th[2:]
        mu = np.exp(x @ gam)
        e = t * np.exp(b * s)
        big_l, d_l = np.bincount(m, e, g), np.bincount(m, e * s, g)
        d = k / mu + big_l
        ll = k * np.log(k / mu) + special.gammaln(k + n_i) - special.gammaln(k) - (k + n_i) * np.log(d) + b * s_i
        post = (k + n_i) / d  # the member's expected rate given their visits
        u = np.column_stack(
            [
                s_i - post * d_l,
                k * (np.log(k / mu) + 1 + special.digamma(k + n_i) - special.digamma(k) - np.log(d) - post / mu),
                (post * k / mu - k)[:, None] * x,
            ]
        )
        return ll, u

    th0 = np.r_[0.0, 0.0, np.log(n_i.sum() / t.sum()), np.zeros(x.shape[1] - 1)]
    res = optimize.minimize(
        lambda th: tuple(-v.sum(axis=0) for v in scores(th)), th0, jac=True, method="BFGS", options={"gtol": 1e-8}
    )
    th = res.x
    h = np.empty((len(th), len(th)))
    for j in range(len(th)):  # Hessian: central differences of the analytic gradient
        dj = np.zeros(len(th))
        dj[j] = 1e-5 * max(1.0, abs(th[j]))
        h[:, j] = (scores(th + dj)[1].sum(axis=0) - scores(th - dj)[1].sum(axis=0)) / (2 * dj[j])
    h = (h + h.T) / 2
    u = scores(th)[1]
    bread = np.linalg.inv(-h)
    cov = g / (g - 1) * bread @ (u.T @ u) @ bread
    back = np.r_[1 / scale, np.ones(len(th) - 1)]  # the slope per stamp (point) held
    return th * back, cov * np.outer(back, back), g


def _watch_days(panel: pd.DataFrame, cells: pd.DataFrame) -> pd.Series:
    """Days each member is watched: the sum of their spells (the time at risk without ``start``)."""
    if {"start", "date"} <= set(panel.columns):
        span = (pd.to_datetime(panel["date"]) - pd.to_datetime(panel["start"])) / DAY
        return span.groupby(panel["customer_id"]).sum()
    return cells.groupby("customer_id")["exposure_days"].sum()


def goal_gradient_fit(panel: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """How much sooner members come back per stamp held: the log pause per stamp.

    A model of each member's visits as they happen: a member visits at their own usual rate
    times ``exp(b x stamps held)``, and the time they spend at each stamp count is counted in
    full, the long pause that has not ended by the end of the data included (a fit on the
    finished pauses alone misses those and reads the pull too weak). Members' usual
    rates differ a lot; they are drawn from a gamma law whose mean depends on how long the
    member has been watched (the first cards go to the most frequent buyers) and integrated out
    (a negative-binomial process). A fixed rate per member estimated from the same visits would
    be biased toward no pull: a member's last, unfinished pause falls at whatever stamp count
    they had reached, which the stamps themselves push up over the watch.

    The figure reported is ``-b``, the change of the log of the expected pause per extra stamp:
    negative means members come sooner as the reward nears; exp(-b) - 1 is the relative change
    of the typical pause per stamp. Standard errors are clustered by member. The pooled row
    fits one rate for everybody, for contrast: heavy buyers earn stamps fast and also visit
    often, so it mixes who they are with what the stamps do.

    Parameters
    ----------
    panel : pandas.DataFrame
        Output of :func:`goal_gradient_panel`.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Indexed ``within`` (each member at a usual rate of their own) and ``pooled``, columns
        ``estimate, ci_low, ci_high`` (log pause per stamp held), ``n`` (visits counted),
        ``se, n_customers`` (members with time at risk), ``exposure_days`` (time at risk).

    Examples
    --------
    >>> cells = pd.DataFrame({"customer_id": [1, 1, 2, 2, 3, 3], "stamps_held": [0, 1] * 3,
    ...                       "exposure_days": [10.0, 5.0] * 3, "visit": [2, 2, 1, 1, 3, 3]})
    >>> fit = goal_gradient_fit(cells)
    >>> round(float(fit.loc["pooled", "estimate"]), 4)  # the rate doubles per stamp: the pause halves
    -0.6931
    """
    f = "goal_gradient_fit"
    cells = _stamp_cells(panel, f)
    member = pd.factorize(cells["customer_id"])[0]
    if np.bincount(member, cells["visit"].to_numpy(float)).clip(0, 1).sum() < 2 or cells["stamps_held"].nunique() < 2:
        raise ValueError(f"{f}: needs visits of at least two members and time at two or more stamp counts")
    th, cov, g = _frailty_poisson(cells, np.log(_watch_days(panel, cells)))
    b, se = float(th[0]), float(np.sqrt(cov[0, 0]))
    pb, pse, _ = _conditional_poisson(cells, np.zeros(len(cells), dtype=np.int64), member)
    est = np.array([-b, -pb])
    lo, hi = normal_interval(est, [se, pse], level=level)
    return estimate_frame(
        est,
        lo,
        hi,
        int(cells["visit"].sum()),
        index=pd.Index(["within", "pooled"], name="model"),
        se=[se, pse],
        n_customers=g,
        exposure_days=float(cells["exposure_days"].sum()),
    )


def goal_gradient_profile(panel: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """Each member's pause by stamps held, relative to the member's usual pause, for a picture.

    For every stamp count, the visits members made while holding it are compared with the
    visits they would have made in the same time at their own average rate (visits over time
    at risk); the log of expected over actual visits is the log pause relative to the member's
    usual (0 = usual, negative = they came sooner). The interval is clustered by member.

    Parameters
    ----------
    panel : pandas.DataFrame
        Output of :func:`goal_gradient_panel`.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``stamps_held``, columns ``estimate, ci_low, ci_high`` (log pause relative to
        the member's usual), ``n`` (members with a visit at that stamp count), ``visits,
        expected_visits``.
    """
    cells = _stamp_cells(panel, "goal_gradient_profile")
    per = cells.groupby("customer_id")[["visit", "exposure_days"]].transform("sum")
    cells = cells.assign(expected=per["visit"] / per["exposure_days"] * cells["exposure_days"])
    r = ratio_frame(cells, "expected", "visit", cluster="customer_id", by="stamps_held", level=level)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(r[["estimate", "ci_low", "ci_high"]].where(r[["estimate", "ci_low", "ci_high"]] > 0))
    out = pd.concat([logs, r[["n"]]], axis=1).assign(visits=r["denominator"], expected_visits=r["numerator"])
    return out.set_index(r["stamps_held"].rename("stamps_held"))
