"""Stage 02, enrollment: from buyer to card holder to first and repeat use of the card.

The funnel *buyers → card issued → activated → repeat use*, the same funnel by segment, the
seller league table of issuance rates, the burn-down of the printed card stock with a projected
stock-out date, cost per issued and per active member, and the time from issue to first use
with right-censoring handled by Kaplan-Meier.

Definitions used throughout:

- **buyer**: a customer with at least one receipt in ``[launch, end)``;
- **issued**: a buyer holding a card whose ``issued_date`` is in ``[launch, end)`` (a customer
  with several cards counts once, from the earliest);
- **card receipt**: a receipt of the holder that carries a ``card_id``, dated strictly after the
  issue time (the purchase at which the card was handed out is not a *use*), before ``end``;
- **activated**: at least one card receipt; **repeat use**: at least two.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from loyalty_lib.metrics._common import isin
from loyalty_lib.stats import check_columns, proportion_frame, z_value

FUNNEL_STEPS = ["buyers", "card_issued", "activated", "repeat_use"]

#: Cost categories counted as the cost of *acquiring* a member by default: money spent to get a
#: card into a hand and the holder informed. Discounts and rewards scale with use and belong to
#: the ROI stage.
ACQUISITION_COST_CATEGORIES = ("card_printing", "communications", "staff", "other")

#: Floors of the seller league's empirical-Bayes prior: the between-seller variance of rates (an
#: under-dispersed league is then pooled almost fully; doubling it moves a shrunk rate by < 1e-5)
#: and the prior's size ``a + b`` (an over-dispersed league is then hardly pooled).
_TAU2_FLOOR = 1e-6
_AB_FLOOR = 1e-3


def _ts(value) -> pd.Timestamp | None:
    return None if value is None or value == "" else pd.Timestamp(value)


def _end_of(transactions: pd.DataFrame, end, date_col: str) -> pd.Timestamp:
    """Exclusive end of the observation window: ``end`` or just after the last receipt."""
    if _ts(end) is not None:
        return _ts(end)
    return pd.to_datetime(transactions[date_col]).max() + pd.Timedelta(seconds=1)


def member_table(
    cards: pd.DataFrame,
    transactions: pd.DataFrame,
    *,
    end=None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    card_col: str = "card_id",
    issued_col: str = "issued_date",
) -> pd.DataFrame:
    """One row per card holder: the first card issued and how the holder used cards since.

    Parameters
    ----------
    cards : pandas.DataFrame
        Contract table ``cards`` (cards in stock, with no holder, are ignored).
    transactions : pandas.DataFrame
        Contract table ``transactions``.
    end : date-like, optional
        Exclusive end of the observation window (default: just after the last receipt). Cards
        issued and receipts dated at or after ``end`` are ignored.
    customer_col, date_col, card_col, issued_col : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        One row per holder, columns ``customer_id, card_id, issued_date`` plus, when present in
        ``cards``, ``issue_channel, store_id, seller_id``; then ``n_card_receipts`` (receipts
        with a card strictly after the issue time and before ``end``), ``first_use_date``,
        ``activated`` (bool, ≥ 1 card receipt), ``repeat_use`` (bool, ≥ 2),
        ``days_to_activation`` (days from issue to first use, NaN if not activated) and
        ``followup_days`` (days from issue to ``end``: the censoring time).

    Examples
    --------
    >>> cards = pd.DataFrame({"card_id": [1, 2], "customer_id": [10, None],
    ...                       "issued_date": pd.to_datetime(["2025-01-01", None])})
    >>> tx = pd.DataFrame({"customer_id": [10, 10], "card_id": [1, 1],
    ...                    "date": pd.to_datetime(["2025-01-01", "2025-01-05"])})
    >>> member_table(cards, tx, end="2025-02-01")[["n_card_receipts", "days_to_activation"]]
       n_card_receipts  days_to_activation
    0                1                 4.0
    """
    f = "member_table"
    check_columns(cards, [card_col, customer_col, issued_col], f, table="cards")
    check_columns(transactions, [customer_col, date_col, card_col], f, table="transactions")
    end_ts = _end_of(transactions, end, date_col)
    extra = [c for c in ("issue_channel", "store_id", "seller_id") if c in cards.columns]
    c = cards.loc[
        cards[customer_col].notna() & cards[issued_col].notna(),
        [customer_col, card_col, issued_col, *extra],
    ].copy()
    c[issued_col] = pd.to_datetime(c[issued_col])
    c = c[c[issued_col] < end_ts]
    c = c.sort_values([issued_col, card_col], kind="stable").drop_duplicates(customer_col)
    c = c.reset_index(drop=True)

    t = transactions.loc[transactions[card_col].notna(), [customer_col, date_col]]
    t = t.assign(**{date_col: pd.to_datetime(t[date_col])})
    t = t.merge(c[[customer_col, issued_col]], on=customer_col, how="inner")
    t = t[(t[date_col] > t[issued_col]) & (t[date_col] < end_ts)]
    use = t.groupby(customer_col)[date_col].agg(n_card_receipts="size", first_use_date="min")

    out = c.merge(use, left_on=customer_col, right_index=True, how="left")
    out["n_card_receipts"] = out["n_card_receipts"].fillna(0).astype(int)
    out["activated"] = out["n_card_receipts"] >= 1
    out["repeat_use"] = out["n_card_receipts"] >= 2
    day = pd.Timedelta(days=1)
    out["days_to_activation"] = (out["first_use_date"] - out[issued_col]) / day
    out["followup_days"] = (end_ts - out[issued_col]) / day
    return out.rename(columns={customer_col: "customer_id", card_col: "card_id", issued_col: "issued_date"})


def _buyers(transactions, launch, end_ts, customer_col, date_col) -> pd.Index:
    d = pd.to_datetime(transactions[date_col])
    sel = (d >= pd.Timestamp(launch)) & (d < end_ts)
    return pd.Index(transactions.loc[sel, customer_col].unique())


def funnel(
    transactions: pd.DataFrame,
    cards: pd.DataFrame,
    *,
    launch,
    end=None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    level: float = 0.95,
) -> pd.DataFrame:
    """Enrollment funnel: buyers → card issued → activated → repeat use, with Wilson CIs.

    Parameters
    ----------
    transactions, cards : pandas.DataFrame
        Contract tables.
    launch : date-like
        Programme launch; buyers are customers with a receipt in ``[launch, end)``.
    end : date-like, optional
        Exclusive end of the window (default: just after the last receipt).
    customer_col, date_col : str
        Column names.
    level : float
        Confidence level of the intervals.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``step`` (:data:`FUNNEL_STEPS`), columns ``count``; the step conversion
        (count / previous step's count) as ``estimate, ci_low, ci_high, n`` (NaN on the first
        step); and the cumulative conversion from buyers as
        ``cum_estimate, cum_ci_low, cum_ci_high``.

    Examples
    --------
    >>> cards = pd.DataFrame({"card_id": [1], "customer_id": [10],
    ...                       "issued_date": pd.to_datetime(["2025-01-02"])})
    >>> tx = pd.DataFrame({"customer_id": [10, 11], "card_id": [None, None],
    ...                    "date": pd.to_datetime(["2025-01-02", "2025-01-03"])})
    >>> funnel(tx, cards, launch="2025-01-01")["count"].tolist()
    [2, 1, 0, 0]
    """
    f = "funnel"
    check_columns(transactions, [customer_col, date_col, "card_id"], f, table="transactions")
    end_ts = _end_of(transactions, end, date_col)
    buyers = _buyers(transactions, launch, end_ts, customer_col, date_col)
    m = member_table(cards, transactions, end=end_ts, customer_col=customer_col, date_col=date_col)
    m = m[(m["issued_date"] >= pd.Timestamp(launch)) & isin(m["customer_id"], buyers)]
    counts = np.array([len(buyers), len(m), int(m["activated"].sum()), int(m["repeat_use"].sum())])
    prev = np.r_[0, counts[:-1]]
    step = proportion_frame(counts, prev, index=pd.Index(FUNNEL_STEPS, name="step"), level=level)
    cum = proportion_frame(counts, np.full(4, counts[0]), level=level)
    out = pd.DataFrame({"count": counts}, index=step.index)
    out[["estimate", "ci_low", "ci_high", "n"]] = step[["estimate", "ci_low", "ci_high", "n"]]
    out["cum_estimate"] = cum["estimate"].to_numpy()
    out["cum_ci_low"] = cum["ci_low"].to_numpy()
    out["cum_ci_high"] = cum["ci_high"].to_numpy()
    return out


def funnel_by(
    transactions: pd.DataFrame,
    cards: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    *,
    by: str,
    launch,
    end=None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    level: float = 0.95,
) -> pd.DataFrame:
    """Compute the enrollment funnel's step conversions by segment, with Wilson CIs.

    A segment that describes the *customer* (``by`` a column of ``customers``, e.g.
    ``customer_type``) has the full funnel from buyers. A segment that describes the *card*
    (``issue_channel``, ``store_id``, ``seller_id`` of ``cards``) exists only from issue on, so
    its funnel starts at ``card_issued``.

    Parameters
    ----------
    transactions, cards : pandas.DataFrame
        Contract tables.
    customers : pandas.DataFrame, optional
        Contract table ``customers``; needed when ``by`` is one of its columns.
    by : str
        Segment column.
    launch, end, customer_col, date_col, level
        As in :func:`funnel`.

    Returns
    -------
    pandas.DataFrame
        Long frame, one row per segment and step, columns ``<by>, step, count, estimate,
        ci_low, ci_high, n``: ``estimate`` is the conversion from the previous step (``n`` its
        denominator); the ``buyers`` row of a customer segment has NaN rates.
    """
    f = "funnel_by"
    end_ts = _end_of(transactions, end, date_col)
    m = member_table(cards, transactions, end=end_ts, customer_col=customer_col, date_col=date_col)
    m = m[m["issued_date"] >= pd.Timestamp(launch)]
    if by in m.columns and by != "customer_id":
        frame = m.assign(card_issued=True)
        steps = FUNNEL_STEPS[1:]
    else:
        if customers is None:
            raise ValueError(f"{f}: column '{by}' is not in cards; pass customers with '{by}'")
        check_columns(customers, [customer_col, by], f, table="customers")
        buyers = _buyers(transactions, launch, end_ts, customer_col, date_col)
        frame = customers.loc[isin(customers[customer_col], buyers), [customer_col, by]]
        frame = frame.rename(columns={customer_col: "customer_id"}).merge(
            m[["customer_id", "activated", "repeat_use"]], on="customer_id", how="left"
        )
        frame["card_issued"] = frame["activated"].notna()
        frame["activated"] = frame["activated"].fillna(False).astype(bool)
        frame["repeat_use"] = frame["repeat_use"].fillna(False).astype(bool)
        frame["buyers"] = True
        steps = FUNNEL_STEPS
    counts = frame.groupby(by, observed=True)[steps].sum().astype(int)
    long = counts.stack().rename("count").reset_index()
    long.columns = [by, "step", "count"]
    prev = counts.shift(1, axis=1).stack(future_stack=True).rename("n").reset_index()
    prev.columns = [by, "step", "n"]
    long = long.merge(prev, on=[by, "step"])
    pf = proportion_frame(long["count"], long["n"].fillna(0), level=level)
    long[["estimate", "ci_low", "ci_high"]] = pf[["estimate", "ci_low", "ci_high"]].to_numpy()
    long["n"] = long["n"].fillna(0).astype(int)
    return long[[by, "step", "count", "estimate", "ci_low", "ci_high", "n"]]


def seller_league(
    transactions: pd.DataFrame,
    cards: pd.DataFrame,
    *,
    launch,
    end=None,
    target: float = 0.2,
    seller_col: str = "seller_id",
    customer_col: str = "customer_id",
    date_col: str = "date",
    shrink: bool = True,
    level: float = 0.95,
) -> pd.DataFrame:
    """Seller league table: cards issued per eligible purchase, against a target.

    An *eligible* purchase is a receipt in ``[launch, end)`` served by the seller to a customer
    who held no card issued before that day (the purchase at which a card is handed out is
    eligible). The issuance rate is cards the seller issued in the window / eligible purchases
    the seller served. A seller is flagged ``below target`` only when the whole Wilson interval
    lies below the target, so a seller with few purchases is not shamed by chance; likewise
    ``above target``. Optionally an empirical-Bayes estimate (beta-binomial, method of moments)
    pulls each small seller toward the overall rate.

    Parameters
    ----------
    transactions, cards : pandas.DataFrame
        Contract tables, both with ``seller_col``.
    launch, end : date-like
        Window; ``end`` defaults to just after the last receipt.
    target : float
        Target issuance rate in [0, 1].
    seller_col, customer_col, date_col : str
        Column names.
    shrink : bool
        Add the empirical-Bayes columns.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per seller, sorted by ``estimate`` descending, columns ``seller_id`` (named
        ``seller_col``), ``eligible, issued, estimate, ci_low, ci_high, n, target, status``
        (``below target`` / ``on target`` (CI covers it) / ``above target``) and, with
        ``shrink``, ``shrunk_estimate, shrunk_ci_low, shrunk_ci_high``. ``issued`` is capped
        at ``eligible`` (an issue without a matching eligible purchase would be a data error).
    """
    f = "seller_league"
    if not 0 <= target <= 1:
        raise ValueError(f"{f}: target must be a share in [0, 1], got {target}")
    check_columns(transactions, [customer_col, date_col, seller_col], f, table="transactions")
    check_columns(cards, [customer_col, "issued_date", seller_col], f, table="cards")
    end_ts = _end_of(transactions, end, date_col)
    launch = pd.Timestamp(launch)
    issued = cards.loc[
        cards[customer_col].notna() & cards["issued_date"].notna(),
        [customer_col, "issued_date", seller_col],
    ].copy()
    issued["issued_date"] = pd.to_datetime(issued["issued_date"])
    first = issued.groupby(customer_col)["issued_date"].min().dt.normalize()
    t = transactions[[customer_col, date_col, seller_col]]
    d = pd.to_datetime(t[date_col])
    t = t[(d >= launch) & (d < end_ts) & t[seller_col].notna()]
    day = pd.to_datetime(t[date_col]).dt.normalize()
    held_since = t[customer_col].map(first)
    eligible = t[held_since.isna() | (day <= held_since)]
    n = eligible.groupby(seller_col).size()
    win = issued[(issued["issued_date"] >= launch) & (issued["issued_date"] < end_ts)]
    k = win.groupby(seller_col).size()
    idx = n.index.union(k.index)
    n = n.reindex(idx, fill_value=0)
    k = np.minimum(k.reindex(idx, fill_value=0), n)
    out = proportion_frame(k, n, index=idx, level=level)
    out.insert(0, "issued", k.to_numpy())
    out.insert(0, "eligible", n.to_numpy())
    out = out.drop(columns="successes")
    out["target"] = target
    out["status"] = np.select(
        [out["ci_high"] < target, out["ci_low"] > target],
        ["below target", "above target"],
        "on target",
    )
    if shrink:
        ok = n > 0
        p = (k[ok] / n[ok]).to_numpy()
        m = k[ok].sum() / max(n[ok].sum(), 1)
        several = ok.sum() > 1  # no mutate: one seller's rates have no spread; the floor applies either way
        tau2 = max(np.var(p) - np.mean(m * (1 - m) / n[ok].to_numpy()), _TAU2_FLOOR) if several else _TAU2_FLOOR
        ab = max(m * (1 - m) / tau2 - 1, _AB_FLOOR)
        a, b = m * ab, (1 - m) * ab
        lo = (1 - level) / 2
        out["shrunk_estimate"] = (k + a) / (n + a + b)
        out["shrunk_ci_low"] = sps.beta.ppf(lo, k + a, n - k + b)
        out["shrunk_ci_high"] = sps.beta.ppf(1 - lo, k + a, n - k + b)
    out.index.name = seller_col
    return out.sort_values("estimate", ascending=False, kind="stable").reset_index()


def stock_burndown(
    cards: pd.DataFrame,
    *,
    printed: int,
    start=None,
    end=None,
    issued_col: str = "issued_date",
) -> pd.DataFrame:
    """Daily card issues and the printed stock left.

    Parameters
    ----------
    cards : pandas.DataFrame
        Contract table ``cards``.
    printed : int
        Cards printed (the stock at launch).
    start, end : date-like, optional
        First day and exclusive end of the daily axis (default: first and last issue day).
    issued_col : str
        Issue date column.

    Returns
    -------
    pandas.DataFrame
        One row per day, columns ``date, issued, cumulative_issued, remaining``
        (``printed - cumulative_issued``, may go negative when more cards were issued than
        the ``printed`` given).
    """
    check_columns(cards, [issued_col], "stock_burndown", table="cards")
    if printed is None or printed <= 0:
        raise ValueError(f"stock_burndown: printed must be a positive count, got {printed}")
    days = pd.to_datetime(cards[issued_col]).dropna().dt.normalize()
    first = pd.Timestamp(start).normalize() if _ts(start) is not None else days.min()
    last = (pd.Timestamp(end) - pd.Timedelta(days=1)).normalize() if _ts(end) is not None else days.max()
    axis = pd.date_range(first, last, freq="D")
    daily = days.value_counts().reindex(axis, fill_value=0)  # days off the axis drop out here
    before = int((days < first).sum())
    out = pd.DataFrame({"date": axis, "issued": daily.to_numpy().astype(int)})
    out["cumulative_issued"] = before + out["issued"].cumsum()
    out["remaining"] = printed - out["cumulative_issued"]
    return out


def stock_out_date(cards: pd.DataFrame, *, printed: int, issued_col: str = "issued_date"):
    """Day the ``printed``-th card was handed out, or ``NaT`` if the stock has not run out.

    Returns
    -------
    pandas.Timestamp
        Normalised day, or ``NaT``.
    """
    check_columns(cards, [issued_col], "stock_out_date", table="cards")
    d = pd.to_datetime(cards[issued_col]).dropna().sort_values()
    return d.iloc[printed - 1].normalize() if len(d) >= printed > 0 else pd.NaT


def stock_projection(
    cards: pd.DataFrame,
    *,
    printed: int,
    as_of,
    window_days: int = 28,
    level: float = 0.95,
    issued_col: str = "issued_date",
) -> pd.DataFrame:
    """Projected date the printed stock runs out, at the pace of the last ``window_days``.

    The pace is the number of cards issued in ``[as_of - window_days, as_of)`` per day, with an
    exact Poisson (Garwood) interval on that count; days left = stock left / pace, so the
    interval on the date comes from the pace's uncertainty only. It assumes the pace stays as
    it was (in a new branch it usually falls as regulars get their cards, so the projection
    tends to be early).

    Parameters
    ----------
    cards : pandas.DataFrame
        Contract table ``cards``.
    printed : int
        Cards printed.
    as_of : date-like
        Date of the projection (exclusive).
    window_days : int
        Length of the pace window.
    level : float
        Confidence level.
    issued_col : str
        Issue date column.

    Returns
    -------
    pandas.DataFrame
        One row indexed ``days_to_stock_out`` with ``estimate, ci_low, ci_high, n`` (days left;
        ``n`` = cards issued in the window), ``remaining, pace_per_day, pace_ci_low,
        pace_ci_high, as_of, stock_out_date, stock_out_low, stock_out_high`` and
        ``already_out`` (then the days are 0 and the date is the observed one).
    """
    f = "stock_projection"
    check_columns(cards, [issued_col], f, table="cards")
    if window_days <= 0:
        raise ValueError(f"{f}: window_days must be positive, got {window_days}")
    as_of = pd.Timestamp(as_of)
    d = pd.to_datetime(cards[issued_col]).dropna()
    d = d[d < as_of]
    remaining = printed - len(d)
    k = int((d >= as_of - pd.Timedelta(days=window_days)).sum())
    a = 1 - level
    pace = k / window_days
    pace_lo = (sps.chi2.ppf(a / 2, 2 * k) / 2 if k > 0 else 0.0) / window_days
    pace_hi = sps.chi2.ppf(1 - a / 2, 2 * k + 2) / 2 / window_days
    already = remaining <= 0
    with np.errstate(divide="ignore"):
        days = 0.0 if already else (remaining / pace if pace > 0 else np.inf)
        lo = 0.0 if already else remaining / pace_hi
        hi = 0.0 if already else (remaining / pace_lo if pace_lo > 0 else np.inf)

    def when(x):
        return pd.NaT if not np.isfinite(x) else (as_of + pd.Timedelta(days=float(x))).normalize()

    observed = stock_out_date(cards, printed=printed, issued_col=issued_col) if already else None
    return pd.DataFrame(
        {
            "estimate": days,
            "ci_low": lo,
            "ci_high": hi,
            "n": k,
            "remaining": remaining,
            "pace_per_day": pace,
            "pace_ci_low": pace_lo,
            "pace_ci_high": pace_hi,
            "as_of": as_of,
            "stock_out_date": observed if already else when(days),
            "stock_out_low": observed if already else when(lo),
            "stock_out_high": observed if already else when(hi),
            "already_out": already,
        },
        index=pd.Index(["days_to_stock_out"]),
    )


def cost_per_member(
    program_costs: pd.DataFrame,
    *,
    n_issued: int,
    n_active: int,
    categories: Sequence[str] | None = ACQUISITION_COST_CATEGORIES,
    start=None,
    end=None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Acquisition cost per issued card and per active (activated) member.

    The costs and the counts are what happened, so the cost per issued card has no sampling
    interval. The cost per active member carries the Wilson interval of the activation rate
    ``n_active / n_issued``: it reads as "what one active member costs at this activation
    rate", which is what a decision about printing more cards needs.

    Parameters
    ----------
    program_costs : pandas.DataFrame
        Contract table ``program_costs``.
    n_issued, n_active : int
        Cards issued and members who activated in the same window.
    categories : sequence of str or None
        Cost categories counted (default :data:`ACQUISITION_COST_CATEGORIES`); ``None`` = all.
    start, end : date-like, optional
        Window of booking dates.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Indexed ``cost_per_issued, cost_per_active``, columns ``cost`` (RUB counted),
        ``estimate, ci_low, ci_high, n`` (``n`` = the denominator) and ``categories``
        (the counted categories, comma-separated).
    """
    f = "cost_per_member"
    check_columns(program_costs, ["date", "category", "amount"], f, table="program_costs")
    if n_active > n_issued or n_issued < 0 or n_active < 0:
        raise ValueError(f"{f}: need 0 <= n_active <= n_issued, got {n_active}, {n_issued}")
    c = program_costs
    d = pd.to_datetime(c["date"])
    sel = pd.Series(True, index=c.index)
    if _ts(start) is not None:
        sel &= d >= pd.Timestamp(start)
    if _ts(end) is not None:
        sel &= d < pd.Timestamp(end)
    if categories is not None:
        sel &= c["category"].isin(list(categories))
    counted = sorted(c.loc[sel, "category"].unique()) if categories is None else list(categories)
    cost = float(c.loc[sel, "amount"].sum())
    act = proportion_frame([n_active], [n_issued], level=level).iloc[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        per_issued = cost / n_issued if n_issued else np.nan
        per_active = cost / n_active if n_active else np.nan
        lo = cost / (n_issued * act["ci_high"]) if n_issued else np.nan
        hi = cost / (n_issued * act["ci_low"]) if n_issued and act["ci_low"] > 0 else np.nan
    return pd.DataFrame(
        {
            "cost": cost,
            "estimate": [per_issued, per_active],
            "ci_low": [np.nan, lo],
            "ci_high": [np.nan, hi],
            "n": [n_issued, n_active],
            "categories": ", ".join(counted),
        },
        index=pd.Index(["cost_per_issued", "cost_per_active"]),
    )


def time_to_activation(
    members: pd.DataFrame,
    *,
    max_days: float | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Kaplan-Meier share of issued cards activated by day *d* after issue.

    A card not used yet is *censored* at its follow-up time (issue to data end): we know only
    that it was not used for that long. Dropping such cards, or counting them as never used,
    would bias the curve (late issues have had little time). Kaplan-Meier uses each card for
    exactly as long as it was watched.

    Parameters
    ----------
    members : pandas.DataFrame
        Output of :func:`member_table` (``activated, days_to_activation, followup_days``).
    max_days : float, optional
        Cut the curve at this many days.
    level : float
        Confidence level (pointwise log-log interval from Greenwood's variance).

    Returns
    -------
    pandas.DataFrame
        One row per distinct event day, starting with day 0 and ending at the longest
        follow-up, columns ``day, estimate`` (share activated by that day, 1 − S(d)),
        ``ci_low, ci_high, n_at_risk, n_events``.
    """
    f = "time_to_activation"
    check_columns(members, ["activated", "days_to_activation", "followup_days"], f, table="members")
    if len(members) == 0:
        raise ValueError(f"{f}: members is empty")
    from statsmodels.duration.survfunc import SurvfuncRight

    act = members["activated"].to_numpy(bool)
    time = np.where(act, members["days_to_activation"], members["followup_days"]).astype(float)
    if np.isnan(time).any() or (time < 0).any():
        raise ValueError(f"{f}: days_to_activation/followup_days must be non-negative numbers")
    sf = SurvfuncRight(time, act.astype(int))
    s = np.asarray(sf.surv_prob, float)
    se = np.asarray(sf.surv_prob_se, float)
    z = z_value(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        ll_se = se / (s * np.abs(np.log(s)))
        s_lo = s ** np.exp(z * ll_se)
        s_hi = s ** np.exp(-z * ll_se)
    # no mutate (both): S is never below 0, and at S = 0 the non-finite branch gives S = 0 too
    s_lo = np.where(s <= 0, 0.0, np.where(np.isfinite(s_lo), s_lo, s))  # no mutate
    s_hi = np.where(s <= 0, 0.0, np.where(np.isfinite(s_hi), s_hi, s))  # no mutate
    out = pd.DataFrame(
        {
            "day": np.asarray(sf.surv_times, float),
            "estimate": 1 - s,
            "ci_low": 1 - s_hi,
            "ci_high": 1 - s_lo,
            "n_at_risk": np.asarray(sf.n_risk, int),
            "n_events": np.asarray(sf.n_events, int),
        }
    )
    if len(out) == 0 or out["day"].iloc[0] > 0:
        top = pd.DataFrame(
            {
                "day": [0.0],
                "estimate": [0.0],
                "ci_low": [0.0],
                "ci_high": [0.0],
                "n_at_risk": [len(members)],
                "n_events": [0],
            }
        )
        out = pd.concat([top, out], ignore_index=True)  # no mutate: rows are taken by position, re-indexed at the end
    t_max = float(time.max())
    if t_max > out["day"].iloc[-1]:  # the curve is known (flat) up to the longest follow-up
        last = out.iloc[[-1]].assign(day=t_max, n_at_risk=int((time >= t_max).sum()), n_events=0)
        out = pd.concat([out, last], ignore_index=True)  # no mutate: rows are taken by position, re-indexed at the end
    if max_days is not None:
        out = out[out["day"] <= max_days]
    return out.reset_index(drop=True)


def activation_by_day(km: pd.DataFrame, days: Sequence[float]) -> pd.DataFrame:
    """Read the Kaplan-Meier curve of :func:`time_to_activation` at given horizons.

    Parameters
    ----------
    km : pandas.DataFrame
        Output of :func:`time_to_activation`.
    days : sequence of float
        Horizons in days.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``day``, columns ``estimate, ci_low, ci_high, n`` (``n`` = cards still
        watched and not yet activated after that horizon). Horizons past the longest follow-up
        would be an extrapolation and get NaN.
    """
    check_columns(km, ["day", "estimate", "ci_low", "ci_high", "n_at_risk"], "activation_by_day", table="km")
    d = np.asarray(days, float)
    pos = np.searchsorted(km["day"].to_numpy(), d, side="right") - 1
    rows = km.iloc[np.clip(pos, 0, None)][["estimate", "ci_low", "ci_high"]].to_numpy().copy()
    at_risk_after = km["n_at_risk"].to_numpy() - km["n_events"].to_numpy()
    n = at_risk_after[np.clip(pos, 0, None)]
    beyond = d > km["day"].max()
    rows[beyond] = np.nan
    return pd.DataFrame(
        {"estimate": rows[:, 0], "ci_low": rows[:, 1], "ci_high": rows[:, 2], "n": n},
        index=pd.Index(d, name="day"),
    )


def activation_within(members: pd.DataFrame, days: Sequence[float], *, level: float = 0.95) -> pd.DataFrame:
    """Share of cards used within *d* days of issue, among cards watched for at least *d* days.

    A plain proportion a retailer can recount: of the cards issued at least *d* days before the
    data end, how many were used (a card receipt) within *d* days. Unlike the Kaplan-Meier
    curve of :func:`time_to_activation`, it does not assume that cards issued late activate
    like cards issued early; where the first cards go to the most frequent buyers (a seller
    offers a card at a purchase) that assumption fails and the Kaplan-Meier reading runs high.

    Parameters
    ----------
    members : pandas.DataFrame
        Output of :func:`member_table` (``days_to_activation``, ``followup_days``).
    days : sequence of float
        Horizons in days.
    level : float
        Confidence level of the Wilson interval.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``day``: ``estimate, ci_low, ci_high, n`` (cards watched ≥ *d* days) and
        ``successes`` (of them, used within *d* days); NaN where no card was watched that long.

    Examples
    --------
    >>> m = pd.DataFrame({"days_to_activation": [1.0, 40.0, np.nan, 5.0], "followup_days": [100, 100, 100, 20]})
    >>> activation_within(m, [30, 90])[["estimate", "n"]].to_dict("list")
    {'estimate': [0.3333333333333333, 0.6666666666666666], 'n': [3, 3]}
    """
    check_columns(members, ["days_to_activation", "followup_days"], "activation_within", table="members")
    d = np.asarray(days, float)
    follow = members["followup_days"].to_numpy(float)[:, None] >= d[None, :]
    used = members["days_to_activation"].to_numpy(float)[:, None] <= d[None, :]
    return proportion_frame((follow & used).sum(axis=0), follow.sum(axis=0), index=pd.Index(d, name="day"), level=level)


def planted_activation_by_day(
    truth_customers: pd.DataFrame,
    members: pd.DataFrame,
    days: Sequence[float],
    *,
    frequency_uplift: float,
    offers: pd.DataFrame | None = None,
    extra_visit_prob: dict | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    response_window_days: int = 14,
    response_delay_days: float = 4.0,
) -> pd.Series:
    """Planted share of holders who use their card by day *d* (synthetic data only).

    In the generator a holder is an *activator* or not; an activator visits at their base rate
    times ``1 + frequency_uplift`` and shows the card with their own probability ``u`` at each
    visit, so, without campaigns, the wait for the first use is exponential with rate
    ``r = base rate × (1 + uplift) × u``. Campaigns add visits: a treated contact at time ``c``
    brings a visit with probability ``p`` (by offer type and channel) at
    ``c + 0.5 + min(delay, window − 1)`` days, ``delay`` exponential with mean
    ``response_delay_days``, and only before the data end; the holder shows the card there
    with the same ``u``.

    The reference is read on the clock of the count (:func:`member_table`,
    :func:`activation_within`): a card is *used by day d* when its first card receipt is dated
    at most *d* days after ``issued_date``. The generator's time runs in shop days (9:00–21:00),
    so that moment is ``H``, the generator time of ``issued_date + d``. An ``issued_date`` at
    midnight is a day, not a moment: the card was handed out at a purchase some time during that
    shop day, at a share ``f`` of it that is uniform (a purchase time of a Poisson process), and
    the count's clock starts at midnight, before it. With ``a = H − issue day`` the chance of no
    use of the holder's own visits is then the mean over ``f`` of ``exp(−r (a − f))`` (1 where
    ``f ≥ a``)::

        exp(−r a) × (exp(r m) − 1) / r + (1 − m),   m = min(a, 1)

    (about the wait ``d − 0.5`` at a whole-day horizon: reading it as ``d`` from the issue put the
    reference about 0.4 points above the count at 30 days and 0.8 points at 7). An
    ``issued_date`` with a time of day is the issue moment ``s`` itself, and the wait runs *d*
    days from it: ``exp(−r d)``, ``H = s + d``.
    The campaign visits multiply it by ``Π_contacts (1 − p × u × F(min(H, end) − c − 0.5))``,
    with ``F`` the capped delay's distribution function. Averaging ``activator × (1 − that)``
    over the holders gives the expected share the count reads on the same cards. Without
    ``offers`` the campaign factor is left out (the curve is then slightly too slow wherever
    campaigns ran).

    Parameters
    ----------
    truth_customers : pandas.DataFrame
        ``ds.truth_tables["customers"]`` with ``customer_id, base_rate_per_year, activator,
        card_use_prob``.
    members : pandas.DataFrame
        Output of :func:`member_table` (the holders to average over); without ``issued_date``
        the wait runs *d* days from the issue moment.
    days : sequence of float
        Horizons.
    frequency_uplift : float
        Planted member visit-rate uplift as a fraction (``truth["uplift"]["frequency_pct"] / 100``).
    offers : pandas.DataFrame, optional
        The offers table (``customer_id, date, channel, offer_type, group``); only the
        ``treatment`` rows bring visits.
    extra_visit_prob : dict, optional
        ``{offer_type: {channel: p}}``, the planted ``truth["campaigns"]["extra_visit_prob"]``.
    start, end : pandas.Timestamp, optional
        Data start (model time 0, shop opening 9:00 of that day) and exclusive end; needed with
        ``offers``. Issue and contact times are mapped back to the generator's time scale
        (a shop day is 9:00–21:00).
    response_window_days, response_delay_days : float
        The planted response window and mean delay of a campaign visit.

    Returns
    -------
    pandas.Series
        Planted share activated by each day, indexed by ``day``.

    Examples
    --------
    One activator with one visit a day who always shows the card, issued on a day (midnight):
    by day 2 the count misses a use only when no visit fell between the issue and the end of
    the next day, ``exp(−2) × (e − 1)``.

    >>> tc = pd.DataFrame({"customer_id": [1], "base_rate_per_year": [365.0], "activator": [True],
    ...                    "card_use_prob": [1.0]})
    >>> m = pd.DataFrame({"customer_id": [1], "issued_date": pd.to_datetime(["2025-03-01"])})
    >>> round(float(planted_activation_by_day(tc, m, [2], frequency_uplift=0.0).iloc[0]), 4)
    0.7675
    """
    f = "planted_activation_by_day"
    check_columns(
        truth_customers, ["customer_id", "base_rate_per_year", "activator", "card_use_prob"], f, table="truth_customers"
    )
    check_columns(members, ["customer_id"], f, table="members")
    tc = truth_customers.set_index("customer_id").reindex(members["customer_id"])
    rate = (
        tc["base_rate_per_year"].to_numpy(float) / 365.0 * (1 + frequency_uplift) * tc["card_use_prob"].to_numpy(float)
    )
    act = tc["activator"].fillna(False).to_numpy(bool)  # no mutate: a holder missing here has no rate: NaN either way
    d = np.asarray(days, float)
    log_none, horizon = _own_visits_log_no_use(members, rate, d)
    if offers is not None and extra_visit_prob:
        if start is None or end is None or "issued_date" not in members:
            raise ValueError(f"{f}: campaign visits need start, end and members' issued_date")
        log_none = log_none + _campaign_log_no_use(
            members,
            tc["card_use_prob"].to_numpy(float),
            offers,
            extra_visit_prob,
            horizon,
            start=start,
            end=end,
            window=response_window_days,
            mean_delay=response_delay_days,
        )
    share = (act[:, None] * (1 - np.exp(log_none))).mean(axis=0)
    return pd.Series(share, index=pd.Index(d, name="day"), name="truth")


def _own_visits_log_no_use(members: pd.DataFrame, rate: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per holder and horizon, log of the chance that none of the holder's own visits used the card.

    On the count's clock (see :func:`planted_activation_by_day`). Also returns the horizon in
    days since the issue day in generator time (``H − issue day``), for the campaign visits.
    """
    if "issued_date" not in members:
        return -rate[:, None] * d[None, :], np.broadcast_to(d[None, :], (len(members), len(d)))
    issued = pd.to_datetime(members["issued_date"])
    offset = ((issued - issued.dt.normalize()) / pd.Timedelta(days=1)).to_numpy(float)  # time of day of the issue
    on_day = (offset == 0)[:, None]  # a date, not a moment
    s = _shop_share(offset)[:, None]  # the issue moment, in generator time since the issue day
    a = _shop_share(d)[None, :]  # the horizon H of a card issued on a day, since that midnight
    r = rate[:, None]
    m = np.clip(a, 0.0, 1.0)
    r_pos = np.where(r > 0, r, 1.0)
    mean_f = np.exp(-r * a) * np.where(r > 0, np.expm1(r * m) / r_pos, m) + (1 - m)
    log_none = np.where(on_day, np.log(mean_f), -r * d[None, :])
    return log_none, np.where(on_day, a, s + d[None, :])


def _shop_share(delta: np.ndarray) -> np.ndarray:
    """Days since a midnight, as generator time: whole days plus the share of the 9:00–21:00 shop day."""
    day = np.floor(delta)
    return day + np.clip((delta - day - 9 / 24) * 2, 0.0, 1.0)


def _model_days(stamps: pd.Series, start: pd.Timestamp) -> np.ndarray:
    """Map shop timestamps back to the generator's time scale.

    Whole days since ``start`` plus the share of the 9:00–21:00 shop day elapsed.
    """
    delta = (pd.to_datetime(stamps) - pd.Timestamp(start).normalize()) / pd.Timedelta(days=1)
    return _shop_share(delta.to_numpy(float))


def _campaign_log_no_use(members, use_prob, offers, extra_visit_prob, horizon, *, start, end, window, mean_delay):
    """Per holder and horizon, log of the chance that no campaign visit brought a card use.

    ``horizon`` (holders × horizons): each horizon in generator days since the holder's issue day.
    """
    cols = ["customer_id", "date", "channel", "offer_type", "group"]
    check_columns(offers, cols, "planted_activation_by_day", table="offers")
    issue_day = pd.to_datetime(members["issued_date"]).dt.normalize() - pd.Timestamp(start).normalize()
    day0 = (issue_day / pd.Timedelta(days=1)).to_numpy(float)
    t_end = float((pd.Timestamp(end) - pd.Timestamp(start).normalize()) / pd.Timedelta(days=1))
    pos = pd.Index(members["customer_id"].astype(str)).get_indexer(offers["customer_id"].astype(str))
    treated = (offers["group"].astype(str) == "treatment").to_numpy() & (pos >= 0)
    o = offers.loc[treated]
    holder = pos[treated]
    probs = pd.Series(
        {(ot, ch): float(v) for ot, by_channel in extra_visit_prob.items() for ch, v in by_channel.items()}, dtype=float
    )
    key = pd.MultiIndex.from_arrays([o["offer_type"].astype(str), o["channel"].astype(str)])
    p = probs.reindex(key).fillna(0.0).to_numpy(float)
    c = _model_days(o["date"], start)
    # capped delay: exponential below window - 1, a point mass at window - 1
    x = np.minimum(day0[holder, None] + horizon[holder], t_end) - c[:, None] - 0.5
    cdf = np.where(x >= window - 1, 1.0, 1 - np.exp(-np.clip(x, 0, None) / mean_delay))
    cdf = np.where(x <= 0, 0.0, cdf)  # no mutate: at x = 0 the exponential gives 0 as well
    q = p[:, None] * use_prob[holder, None] * cdf
    q = np.minimum(q, 1.0 - 1e-12)  # no mutate: keeps log1p finite; p, u and the cdf are all <= 1
    out = np.zeros(horizon.shape)
    np.add.at(out, holder, np.log1p(-q))
    return out
