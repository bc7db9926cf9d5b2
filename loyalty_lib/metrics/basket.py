"""Stage 04, the basket: average check, items per check, discount cost and tier bunching.

Every function takes contract tables (``transactions``, ``cards``, ``transaction_items``) plus
column names and returns a frame with fixed, documented columns. Estimates carry
``estimate, ci_low, ci_high, n``.

Two warnings the notebook repeats in plain words:

* the member / non-member gap in the average check is *not* the effect of the card: heavier
  buyers are more likely to take a card (self-selection);
* a member's check before vs after joining mixes the card's effect with everything else that
  changed over time (season, prices, the member's own life). The causal estimate is in
  ``metrics.impact`` (notebook 06).

Bunching (Chetty, Friedman, Olsen and Pistaferri 2011, "Adjustment costs, firm responses, and
micro vs. macro labor supply elasticities", QJE): when a discount starts at a check size ``T``,
some buyers add an item to get over ``T``. The histogram of check sizes then has too many
checks just above ``T`` and too few just below. A smooth polynomial fitted to the histogram
*outside* a window around ``T`` gives the counterfactual (what the histogram would look like
without the threshold); the excess mass is observed minus counterfactual in the window above.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import pandas as pd
from scipy import sparse

from loyalty_lib.dataset import visits_mask
from loyalty_lib.metrics._common import as_list
from loyalty_lib.stats import (
    ESTIMATE_COLUMNS,
    bootstrap_draws,
    bootstrap_frame,
    estimate_frame,
    normal_interval,
    ratio_frame,
    t_interval,
    z_value,
)
from loyalty_lib.stats import check_columns as _require

DEFAULT_THRESHOLDS = (1500.0, 5000.0, 15000.0)
DEFAULT_RATES = (0.05, 0.07, 0.10)

__all__ = [
    "DEFAULT_RATES",
    "DEFAULT_THRESHOLDS",
    "assign_tier",
    "before_after_checks",
    "bunching",
    "bunching_histogram",
    "check_summary",
    "discount_cost",
    "group_difference",
    "label_receipts",
    "paired_change",
    "planted_top_up",
    "tier_labels",
    "tier_shares",
]


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _check_thresholds(thresholds: Sequence[float]) -> np.ndarray:
    t = np.asarray(list(thresholds), dtype=float)
    if t.ndim != 1 or len(t) == 0 or np.any(t <= 0) or np.any(np.diff(t) <= 0):
        raise ValueError(f"thresholds must be positive and strictly increasing, got {list(thresholds)}")
    return t


# --------------------------------------------------------------------------------------------
# tiers and receipt labels
# --------------------------------------------------------------------------------------------
def _with_clusters(d: pd.DataFrame, customer_col: str) -> pd.DataFrame:
    """A copy whose customer column is an integer cluster code; an anonymous receipt is its own cluster.

    The codes follow the sorted customer ids, so the clusters keep the order they would have as
    ids, and the grouping that follows, repeated for each figure, does not hash strings again.
    """
    d = d.copy()
    codes, _ = pd.factorize(d[customer_col], sort=True)
    anonymous = codes < 0
    if anonymous.any():
        codes[anonymous] = codes.max(initial=-1) + 1 + np.arange(int(anonymous.sum()))
    d[customer_col] = codes
    return d


def _ratio(df: pd.DataFrame, groups: list[str], cluster: str, num: str, den: str, level: float) -> pd.DataFrame:
    """Ratio of sums per group (customer-clustered interval) with ``n`` receipts, ``n_customers``."""
    r = ratio_frame(df, num, den, cluster=cluster, by=groups, level=level)
    return r.assign(n_customers=r["n"], n=r["denominator"].round().astype("int64")).drop(
        columns=["numerator", "denominator"]
    )


def tier_labels(thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> list[str]:
    """Readable labels of the check-size tiers cut by ``thresholds``.

    Parameters
    ----------
    thresholds : sequence of float
        Increasing gross-check thresholds (RUB); a check ``>= thresholds[i]`` is in tier ``i + 1``.

    Returns
    -------
    list of str
        ``len(thresholds) + 1`` labels, e.g. ``["<1,500", "1,500-5,000", "5,000-15,000",
        "15,000+"]``.

    Examples
    --------
    >>> tier_labels([1500, 5000])
    ['<1,500', '1,500-5,000', '5,000+']
    """
    t = _check_thresholds(thresholds)
    f = [f"{x:,.0f}" for x in t]
    return [f"<{f[0]}"] + [f"{a}-{b}" for a, b in pairwise(f)] + [f"{f[-1]}+"]


def assign_tier(gross, thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> pd.Categorical:
    """Check-size tier of each gross amount (``gross >= threshold`` reaches the tier).

    Parameters
    ----------
    gross : array-like
        Gross check amounts (before discount).
    thresholds : sequence of float
        Increasing thresholds.

    Returns
    -------
    pandas.Categorical
        Ordered categories :func:`tier_labels` ``(thresholds)``.

    Examples
    --------
    >>> list(assign_tier([100, 1500, 4999.99, 20000], [1500, 5000, 15000]))
    ['<1,500', '1,500-5,000', '1,500-5,000', '15,000+']
    """
    t = _check_thresholds(thresholds)
    g = np.asarray(gross, dtype=float)
    codes = np.searchsorted(t, g, side="right")
    codes = np.where(np.isnan(g), -1, codes)
    return pd.Categorical.from_codes(codes, categories=tier_labels(t), ordered=True)


def label_receipts(
    transactions: pd.DataFrame,
    cards: pd.DataFrame,
    *,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    transaction_items: pd.DataFrame | None = None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    gross_col: str = "gross_amount",
    issued_col: str = "issued_date",
    member_since: pd.Series | None = None,
    launch=None,
) -> pd.DataFrame:
    """Label every receipt with the buyer's membership status and its check-size tier.

    A customer's issue date is the first ``issued_date`` among their cards, or, when
    ``member_since`` is given (``Study.member_since``: issue date, else first card use, else the
    data start for a program older than the data), that date. The launch date is ``launch``,
    else the first issue date in ``cards``. Receipts without a customer id are ``anonymous``.

    Parameters
    ----------
    transactions, cards : pandas.DataFrame
        Contract tables.
    thresholds : sequence of float
        Tier thresholds (gross amount); empty: one tier ``"all checks"``.
    transaction_items : pandas.DataFrame, optional
        Receipt lines; used for ``n_items`` (lines per receipt) when ``transactions`` has no
        ``n_items`` column.
    customer_col, date_col, gross_col, issued_col : str
        Column names.
    member_since : pandas.Series, optional
        Day each member counts as a member from, indexed by customer id (replaces the issue
        dates of ``cards``, which may be unknown).
    launch : date-like, optional
        First day of the program in the data (``Study.launch``, or ``Study.start`` when the
        program is older than the data); default the first issue date.

    Returns
    -------
    pandas.DataFrame
        A copy of ``transactions`` plus ``issued_date`` (the member's start, NaT for
        never-members), ``ever_member`` (bool), ``status`` (``"member"`` on or after that day,
        ``"member_before_issue"``, ``"non_member"``, ``"anonymous"`` without a customer id),
        ``post_launch`` (bool), ``visit`` (bool: a sales receipt, see
        :func:`loyalty_lib.dataset.visits_mask`), ``tier`` (categorical; a return receipt takes
        the tier of the sale it refunds when ``original_receipt_id`` names one in the data, so
        the discount it gives back nets out in that tier) and ``n_items`` (float, NaN when
        unknown).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, None], "gross_amount": [100.0, 2000.0, 50.0, 70.0],
    ...                    "date": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-02-01", "2025-02-02"])})
    >>> since = pd.Series(pd.to_datetime(["2025-01-15"]), index=[1])
    >>> label_receipts(tx, pd.DataFrame(), member_since=since, launch="2025-01-10")["status"].tolist()
    ['member_before_issue', 'member', 'non_member', 'anonymous']
    """
    _require(transactions, [customer_col, date_col, gross_col], "label_receipts(transactions)")
    if member_since is not None:
        issued = pd.to_datetime(pd.Series(member_since)).dropna().rename("issued_date")
        issued.index.name = customer_col
    else:
        _require(cards, [customer_col, issued_col], "label_receipts(cards)")
        held = cards.dropna(subset=[customer_col, issued_col])
        issued = held.groupby(customer_col)[issued_col].min().rename("issued_date")
    out = transactions.drop(columns=["issued_date"], errors="ignore").merge(
        issued, left_on=customer_col, right_index=True, how="left"
    )
    out.index = transactions.index
    day = out[date_col].dt.normalize()
    iss_day = out["issued_date"].dt.normalize()
    out["ever_member"] = out["issued_date"].notna()
    out["status"] = np.select(
        [out[customer_col].isna(), ~out["ever_member"], day >= iss_day],
        ["anonymous", "non_member", "member"],
        "member_before_issue",
    )
    launch = pd.Timestamp(launch) if launch is not None else (issued.min() if len(issued) else pd.NaT)
    out["post_launch"] = (day >= launch.normalize()) if pd.notna(launch) else False
    out["visit"] = visits_mask(out, gross_col=gross_col).to_numpy()
    out["tier"] = (
        assign_tier(out[gross_col], thresholds) if len(thresholds) else pd.Categorical(["all checks"] * len(out))
    )
    if "original_receipt_id" in out.columns and "transaction_id" in out.columns:
        orig = out["original_receipt_id"]
        tier_of = pd.Series(out["tier"].to_numpy(), index=out["transaction_id"].to_numpy())
        tier_of = tier_of[~tier_of.index.duplicated()]
        found = orig.notna() & orig.isin(tier_of.index) & ~out["visit"]
        out.loc[found, "tier"] = tier_of.reindex(orig[found].to_numpy()).to_numpy()
    if "n_items" in transactions.columns:
        out["n_items"] = pd.to_numeric(transactions["n_items"], errors="coerce").astype(float)
    elif transaction_items is not None:
        _require(transaction_items, ["transaction_id"], "label_receipts(transaction_items)")
        _require(transactions, ["transaction_id"], "label_receipts(transactions)")
        lines = transaction_items.groupby("transaction_id").size()
        out["n_items"] = transactions["transaction_id"].map(lines).astype(float)
    else:
        out["n_items"] = np.nan
    return out


# --------------------------------------------------------------------------------------------
# average check
# --------------------------------------------------------------------------------------------
def check_summary(
    transactions: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    customer_col: str = "customer_id",
    amount_col: str = "amount",
    gross_col: str = "gross_amount",
    items_col: str | None = "n_items",
    level: float = 0.95,
) -> pd.DataFrame:
    """Average net check, average gross check and items per check, with customer-clustered CIs.

    The average check is revenue over the number of sales receipts (visits, see
    :func:`loyalty_lib.dataset.visits_mask`): a return receipt is not a check, and its negative
    amount is netted into the revenue of its group (docs/metrics.md). Items per check counts the
    lines of sales receipts only. Receipts of one customer are not independent, so the interval
    is the delta-method interval of a ratio of sums with customers as clusters (equivalent to a
    cluster-robust standard error).

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts (e.g. the output of :func:`label_receipts`).
    by : str or list of str, optional
        Grouping columns (e.g. ``"status"``, ``["customer_type", "status"]``).
    customer_col, amount_col, gross_col : str
        Column names.
    items_col : str or None
        Items per receipt; receipts with NaN items are left out of that metric only. ``None``
        or an absent column skips the metric.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Columns ``*by, metric, estimate, ci_low, ci_high, n, n_customers``; ``metric`` is
        ``net_check``, ``gross_check`` (in the data's currency) or ``items_per_check``; ``n``
        counts sales receipts, ``n_customers`` customers with one (an anonymous receipt is a
        customer of its own).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "amount": [100.0, 200.0, 300.0],
    ...                    "gross_amount": [100.0, 200.0, 330.0]})
    >>> check_summary(tx, items_col=None)[["metric", "estimate"]].to_dict("list")
    {'metric': ['net_check', 'gross_check'], 'estimate': [200.0, 210.0]}

    A return receipt of 60 nets into revenue but is not a check: (600 - 60) / 3 = 180.

    >>> ret = pd.DataFrame({"customer_id": [2], "amount": [-60.0], "gross_amount": [-60.0]})
    >>> check_summary(pd.concat([tx, ret]), items_col=None)["estimate"].tolist()
    [180.0, 190.0]
    """
    groups = as_list(by)
    _require(transactions, [customer_col, amount_col, gross_col, *groups], "check_summary")
    d = _with_clusters(transactions[[customer_col, *groups]], customer_col)
    visit = visits_mask(transactions, gross_col=gross_col).to_numpy()
    d["_amount"] = transactions[amount_col].astype(float)
    d["_gross"] = transactions[gross_col].astype(float)
    d["_one"] = visit.astype(float)
    pieces = [("net_check", "_amount", "_one"), ("gross_check", "_gross", "_one")]
    if items_col is not None and items_col in transactions.columns:
        it = pd.to_numeric(transactions[items_col], errors="coerce").astype(float).where(visit)
        d["_items"] = it.fillna(0.0)
        d["_has_items"] = it.notna().astype(float)
        if it.notna().any():
            pieces.append(("items_per_check", "_items", "_has_items"))
    frames = []
    for name, num, den in pieces:
        r = _ratio(d, groups, customer_col, num, den, level)
        r.insert(len(groups), "metric", name)
        frames.append(r)
    out = pd.concat(frames, ignore_index=True)
    return out[[*groups, "metric", *ESTIMATE_COLUMNS, "n_customers"]]


def group_difference(
    summary: pd.DataFrame,
    *,
    metric: str = "net_check",
    by: str = "status",
    a: str = "member",
    b: str = "non_member",
    level: float = 0.95,  # no mutate: the level cancels (the two half-widths add in quadrature; tested)
) -> pd.DataFrame:
    """Difference of one metric between two groups of :func:`check_summary`, with a CI.

    The two groups must hold different customers (e.g. members vs never-members), so their
    estimates are independent and ``se(a - b) = sqrt(se_a^2 + se_b^2)``.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of :func:`check_summary` grouped by ``by``.
    metric : str
        Which metric (``net_check``, ``gross_check``, ``items_per_check``).
    by : str
        The grouping column.
    a, b : str
        The two groups; the difference is ``a - b``.
    level : float
        Confidence level (the same as the summary's).

    Returns
    -------
    pandas.DataFrame
        One row indexed ``"a - b"``: ``estimate, ci_low, ci_high, n`` (receipts in both),
        ``relative`` (a / b - 1).

    Examples
    --------
    >>> s = pd.DataFrame({"status": ["m", "n"], "metric": "net_check", "estimate": [300.0, 200.0],
    ...                   "ci_low": [280.0, 190.0], "ci_high": [320.0, 210.0], "n": [10, 20]})
    >>> float(group_difference(s, a="m", b="n")["estimate"].iloc[0])
    100.0
    """
    _require(summary, [by, "metric", "estimate", "ci_low", "ci_high", "n"], "group_difference")
    d = summary[summary["metric"] == metric].set_index(by)
    missing = [g for g in (a, b) if g not in d.index]
    if missing:
        raise ValueError(f"group_difference: no {metric} row for {by} = {missing}")
    se = (d["ci_high"] - d["ci_low"]) / (2 * z_value(level))
    est = float(d.loc[a, "estimate"] - d.loc[b, "estimate"])
    lo, hi = normal_interval(est, float(np.hypot(se[a], se[b])), level=level)
    return estimate_frame(
        [est],
        [lo],
        [hi],
        [int(d.loc[a, "n"] + d.loc[b, "n"])],
        index=[f"{a} - {b}"],
        relative=[float(d.loc[a, "estimate"] / d.loc[b, "estimate"] - 1)],
    )


def tier_shares(
    transactions: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    tier_col: str = "tier",
    customer_col: str = "customer_id",
    gross_col: str = "gross_amount",
    level: float = 0.95,
) -> pd.DataFrame:
    """Share of sales receipts in each check-size tier, with customer-clustered CIs.

    Only sales receipts (visits) count: a return receipt has no check size of its own.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts with a tier column (see :func:`label_receipts`).
    by : str or list of str, optional
        Grouping columns (e.g. ``"status"``).
    tier_col, customer_col, gross_col : str
        Column names.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Columns ``*by, tier, estimate, ci_low, ci_high, n, n_customers``; ``estimate`` is the
        share of the group's receipts in the tier (shares add up to 1 within a group), ``n`` the
        group's receipts.
    """
    groups = as_list(by)
    _require(transactions, [customer_col, tier_col, gross_col, *groups], "tier_shares")
    transactions = transactions[visits_mask(transactions, gross_col=gross_col).to_numpy()]
    tiers = pd.Categorical(transactions[tier_col])
    frames = []
    clustered = _with_clusters(transactions[[customer_col, *groups]], customer_col)
    for label in tiers.categories:
        d = clustered.copy()
        d["_in"] = (np.asarray(tiers) == label).astype(float)
        d["_one"] = 1.0
        r = _ratio(d, groups, customer_col, "_in", "_one", level)
        r.insert(len(groups), "tier", label)
        frames.append(r)
    out = pd.concat(frames, ignore_index=True)  # no mutate: the index is renumbered after sorting
    # a share's interval lies around it, so only the outer bounds can leave [0, 1]
    out["ci_low"] = out["ci_low"].clip(lower=0)
    out["ci_high"] = out["ci_high"].clip(upper=1)
    out["tier"] = pd.Categorical(out["tier"], categories=tiers.categories, ordered=True)
    out = out.sort_values([*groups, "tier"], kind="stable", ignore_index=True)
    return out[[*groups, "tier", *ESTIMATE_COLUMNS, "n_customers"]]


def before_after_checks(
    transactions: pd.DataFrame,
    cards: pd.DataFrame,
    *,
    window_days: int = 365,
    amount_col: str = "gross_amount",
    customer_col: str = "customer_id",
    date_col: str = "date",
    issued_col: str = "issued_date",
    gross_col: str = "gross_amount",
) -> pd.DataFrame:
    """Each member's mean check in the window before the card was issued and after it.

    A mean check is the member's amount over all receipts of the window (returns netted in)
    divided by their sales receipts there (see :func:`check_summary`). Receipts on the issue day
    itself are left out of both windows (the card is handed out at a purchase, so that receipt is
    neither "before" nor shaped by the card). Only members with at least one sales receipt in
    each window are returned.

    Parameters
    ----------
    transactions, cards : pandas.DataFrame
        Contract tables.
    window_days : int
        Length of each window in days (365 = 12 months).
    amount_col : str
        Check amount to compare (``"gross_amount"`` before discount, ``"amount"`` net).
    customer_col, date_col, issued_col, gross_col : str
        Column names; ``gross_col`` tells sales receipts from returns.

    Returns
    -------
    pandas.DataFrame
        One row per member: ``customer_id, issued_date, n_before, n_after`` (sales receipts),
        ``check_before, check_after, difference`` (after - before, in the data's currency).
    """
    if window_days <= 0:
        raise ValueError(f"window_days must be positive, got {window_days}")
    _require(transactions, [customer_col, date_col, amount_col, gross_col], "before_after_checks(transactions)")
    _require(cards, [customer_col, issued_col], "before_after_checks(cards)")
    issued = cards.dropna(subset=[customer_col, issued_col]).groupby(customer_col)[issued_col].min()
    # each receipt's member as a position in ``issued`` (sorted by id): integer keys from here on
    member = pd.Index(issued.index).get_indexer(transactions[customer_col])
    mine = member >= 0
    member = member[mine]
    iss = pd.DatetimeIndex(issued.to_numpy()).normalize().to_numpy()[member]
    day = pd.DatetimeIndex(transactions[date_col].to_numpy()[mine]).normalize().to_numpy()
    delta = (day - iss) // np.timedelta64(1, "D")
    side = np.select([(delta < 0) & (delta >= -window_days), (delta > 0) & (delta <= window_days)], [0, 1], default=-1)
    keep = side >= 0
    d = pd.DataFrame(
        {
            "cid": member[keep],
            "side": pd.Categorical.from_codes(side[keep], ["before", "after"]),
            "amt": transactions[amount_col].astype(float).to_numpy()[mine][keep],
            "visits": visits_mask(transactions, gross_col=gross_col).to_numpy(dtype=float)[mine][keep],
        }
    )
    agg = d.groupby(["cid", "side"], observed=True)[["amt", "visits"]].sum().unstack("side")
    columns = [customer_col, "issued_date", "n_before", "n_after", "check_before", "check_after", "difference"]
    if agg.empty or "before" not in agg["amt"] or "after" not in agg["amt"]:
        return pd.DataFrame(columns=columns)
    n = agg["visits"].where(agg["visits"] > 0)
    out = pd.DataFrame(
        {
            "check_before": agg["amt"]["before"] / n["before"],
            "check_after": agg["amt"]["after"] / n["after"],
            "n_before": n["before"],
            "n_after": n["after"],
        }
    ).dropna()
    out["n_before"] = out["n_before"].astype("int64")
    out["n_after"] = out["n_after"].astype("int64")
    out["difference"] = out["check_after"] - out["check_before"]
    pos = out.index.to_numpy()
    out.index = issued.index[pos].rename(customer_col)
    out = out.reset_index()
    out["issued_date"] = issued.to_numpy()[pos]
    return out[columns]


def paired_change(per_member: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """Paired before/after summary of members' mean checks.

    Each member is compared with themselves, so differences between members cancel; what does
    *not* cancel is everything that changed over time (season, prices, the member's life).

    Parameters
    ----------
    per_member : pandas.DataFrame
        Output of :func:`before_after_checks` (``check_before, check_after``).
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``check_before``, ``check_after``, ``difference`` (RUB, t intervals over
        members) and ``relative_change`` (mean after / mean before - 1, delta-method interval),
        with columns ``estimate, ci_low, ci_high, n`` (``n`` = members).

    Examples
    --------
    >>> pm = pd.DataFrame({"check_before": [100.0, 200.0, 300.0],
    ...                    "check_after": [110.0, 230.0, 330.0]})
    >>> round(float(paired_change(pm).loc["difference", "estimate"]), 6)
    23.333333
    """
    _require(per_member, ["check_before", "check_after"], "paired_change")
    b = per_member["check_before"].to_numpy(float)
    a = per_member["check_after"].to_numpy(float)
    d = a - b
    n = len(d)
    # three means and the linearised ratio mean(d) / mean(b), whose influence values are
    # (d - r b) / mean(b): one t interval each, over members
    r = d.mean() / b.mean() if n > 1 and b.mean() > 0 else np.nan
    cols = np.column_stack([b, a, d, (d - r * b) / b.mean() if np.isfinite(r) else np.full(n, np.nan)])
    mean = np.append(cols[:, :3].mean(axis=0) if n else np.full(3, np.nan), r)
    sd = cols.std(axis=0, ddof=1) if n > 1 else np.full(4, np.nan)
    lo, hi = t_interval(mean, sd, n, level=level)
    return estimate_frame(mean, lo, hi, n, index=["check_before", "check_after", "difference", "relative_change"])


# --------------------------------------------------------------------------------------------
# discount cost
# --------------------------------------------------------------------------------------------
def discount_cost(
    transactions: pd.DataFrame,
    *,
    by: str | Sequence[str] = "tier",
    gross_col: str = "gross_amount",
    amount_col: str = "amount",
    discount_col: str = "discount_amount",
) -> pd.DataFrame:
    """Discount cost by tier (or any grouping): an accounting total, not a sample estimate.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts with the grouping columns (e.g. ``tier`` from :func:`label_receipts`).
    by : str or list of str
        Grouping columns.
    gross_col, amount_col, discount_col : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        One row per group plus a final ``"total"`` row: ``*by, n_checks`` (sales receipts),
        ``gross_revenue, net_revenue, discount_cost`` (sums over all receipts: a return's
        negative amounts and the discount it gives back net in), ``effective_rate`` (discount /
        gross within the group),
        ``share_of_revenue`` (discount / gross revenue of *all* receipts) and
        ``share_of_discounts`` (group's share of all discounts).

    Examples
    --------
    >>> tx = pd.DataFrame({"tier": ["a", "b", "b"], "gross_amount": [100.0, 2000.0, 3000.0],
    ...                    "discount_amount": [0.0, 100.0, 150.0],
    ...                    "amount": [100.0, 1900.0, 2850.0]})
    >>> discount_cost(tx)["discount_cost"].tolist()
    [0.0, 250.0, 250.0]
    """
    groups = as_list(by)
    _require(transactions, [gross_col, amount_col, discount_col, *groups], "discount_cost")
    visit = visits_mask(transactions, gross_col=gross_col).astype("int64")
    g = transactions.assign(_visit=visit.to_numpy()).groupby(groups, observed=False, sort=True)
    out = pd.DataFrame(
        {
            "n_checks": g["_visit"].sum(),
            "gross_revenue": g[gross_col].sum(),
            "net_revenue": g[amount_col].sum(),
            "discount_cost": g[discount_col].sum(),
        }
    ).reset_index()
    for c in groups:
        out[c] = out[c].astype(object)
    total = {c: "total" for c in groups}
    total.update({k: out[k].sum() for k in ("n_checks", "gross_revenue", "net_revenue", "discount_cost")})
    out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    all_gross = float(transactions[gross_col].sum())
    all_disc = float(transactions[discount_col].sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        out["effective_rate"] = out["discount_cost"] / out["gross_revenue"].where(out["gross_revenue"] > 0)
        out["share_of_revenue"] = out["discount_cost"] / all_gross if all_gross > 0 else np.nan
        out["share_of_discounts"] = out["discount_cost"] / all_disc if all_disc > 0 else np.nan
    out["n_checks"] = out["n_checks"].astype("int64")
    return out


# --------------------------------------------------------------------------------------------
# bunching
# --------------------------------------------------------------------------------------------
#: Relative rounding slack: when counting whole bins between a threshold and a range end
#: ((T - lo) / w can come out as 39.999999999 for 40 bins), and, times the receipts of a range,
#: the largest mass that is the rounding of an exact fit rather than moved checks.
_ROUNDING = 1e-9


def _bins(t: np.ndarray, span_pct: float, bin_pct: float) -> list[np.ndarray]:
    """Bin edges around each threshold, ``T`` itself an edge, clipped half-way to neighbours."""
    edges = []
    for i, T in enumerate(t):
        w = T * bin_pct / 100
        lo = T * (1 - span_pct / 100)
        hi = T * (1 + span_pct / 100)
        if i > 0:
            lo = max(lo, (t[i - 1] + T) / 2)
        if i < len(t) - 1:
            hi = min(hi, (T + t[i + 1]) / 2)
        n_lo = int(np.floor((T - lo) / w + _ROUNDING))
        n_hi = int(np.floor((hi - T) / w + _ROUNDING))
        edges.append(T + w * np.arange(-n_lo, n_hi + 1))
    return edges


def _setup(t, span_pct, bin_pct, below_pct, above_pct, degree):
    if not 0 < bin_pct < span_pct:
        raise ValueError(f"bin_pct must be in (0, span_pct), got {bin_pct}")
    if below_pct <= 0 or above_pct <= 0:
        raise ValueError("below_pct and above_pct must be positive")
    specs = []
    for T, e in zip(t, _bins(t, span_pct, bin_pct), strict=True):  # no mutate: one edge array per threshold
        mid = (e[:-1] + e[1:]) / 2
        # distance in % of T, scaled to about [-1, 1]: any affine scale spans the same polynomials,
        # this one only keeps the least-squares fit well conditioned
        x = (mid - T) / T * 100 / span_pct  # no mutate: any affine change of x spans the same polynomials
        lower = mid < T  # no mutate: T is a bin edge, so no bin's middle equals it
        below = lower & (mid >= T * (1 - below_pct / 100))
        above = ~lower & (mid < T * (1 + above_pct / 100))
        fit = ~(below | above)
        if fit.sum() < degree + 3:
            raise ValueError(
                f"threshold {T:,.0f}: only {int(fit.sum())} bins outside the bunching window for a "
                f"degree-{degree} polynomial; widen span_pct or shrink bin_pct / the window"
            )
        X = np.vander(x, degree + 1)
        specs.append({"T": T, "edges": e, "mid": mid, "below": below, "above": above, "fit": fit, "X": X})
    return specs


def _fit(spec: dict, counts: np.ndarray) -> np.ndarray:
    """Counterfactual counts for every bin; ``counts`` is (n_bins,) or (n_bins, k)."""
    beta, *_ = np.linalg.lstsq(spec["X"][spec["fit"]], counts[spec["fit"]], rcond=None)
    return spec["X"] @ beta


def _bin_index(gross: np.ndarray, specs: list[dict]) -> np.ndarray:
    """Global bin number of each receipt across all thresholds' bins (-1 outside every range).

    Bins are closed on the left and open on the right, the last one too: a check on the upper
    end of a range is outside it.
    """
    idx = -np.ones(len(gross), dtype=np.int64)
    offset = 0
    for s in specs:
        e = s["edges"]
        k = np.searchsorted(e, gross, side="right") - 1
        inside = (k >= 0) & (k < len(e) - 1)
        idx[inside] = offset + k[inside]
        offset += len(e) - 1
    return idx


def _bin_counts(idx: np.ndarray, specs: list[dict]) -> np.ndarray:
    """Receipts in every bin of every threshold's range, from :func:`_bin_index`."""
    return np.bincount(idx[idx >= 0], minlength=sum(len(s["edges"]) - 1 for s in specs)).astype(float)


def _per_threshold(counts: np.ndarray, specs: list[dict]) -> list[np.ndarray]:
    """The counts of all bins split into one array per threshold's range."""
    return np.split(counts, np.cumsum([len(s["edges"]) - 1 for s in specs])[:-1])


def _bunch_from_counts(counts: np.ndarray, specs: list[dict]) -> np.ndarray:
    """Per threshold: excess mass above, missing mass below and the mean top-up (RUB).

    ``counts`` holds the receipts of every bin of every threshold's range (:func:`_bin_counts`).
    The mean top-up is the mass-weighted mean distance of the missing checks below ``T`` plus
    that of the excess checks above it: how far, on average, a moved check travelled.
    Returns ``[e_1, m_1, u_1, e_2, m_2, u_2, ...]``.
    """
    out = []
    for s, c in zip(specs, _per_threshold(counts, specs), strict=True):  # no mutate: one piece per threshold
        cf = _fit(s, c)
        up, down = (c - cf)[s["above"]], (cf - c)[s["below"]]
        e, m = float(up.sum()), float(down.sum())
        # no mass to average over where either is not positive (a threshold with no receipts
        # around it) or is the rounding of a fit that matches the counts exactly
        noise = _ROUNDING * float(c.sum())
        if e > noise and m > noise:
            land = float(up @ (s["mid"][s["above"]] - s["T"])) / e
            origin = float(down @ (s["T"] - s["mid"][s["below"]])) / m
            out += [e, m, land + origin]
        else:
            out += [e, m, np.nan]
    return np.asarray(out)


def bunching_histogram(
    transactions: pd.DataFrame,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    *,
    gross_col: str = "gross_amount",
    span_pct: float = 40.0,
    bin_pct: float = 1.0,
    below_pct: float = 15.0,
    above_pct: float = 5.0,
    degree: int = 3,
) -> pd.DataFrame:
    """Histogram of gross checks around each threshold with the fitted counterfactual.

    Bins are ``bin_pct`` % of the threshold wide, with the threshold on a bin edge (a check of
    exactly ``T`` falls in the first bin above); every bin is closed on the left and open on the
    right, the last one too, so a check on the upper end of a range is outside it, as in
    :func:`bunching`. A polynomial of ``degree`` in the distance to
    ``T`` is fitted to the counts outside the window ``[T (1 - below_pct/100), T (1 +
    above_pct/100))``; its prediction is the counterfactual: the histogram without the
    threshold.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts (typically card receipts only).
    thresholds : sequence of float
        Tier thresholds (RUB).
    gross_col : str
        Gross check column.
    span_pct : float
        Half-width of the studied range around each threshold, % of ``T`` (clipped half-way to
        a neighbouring threshold).
    bin_pct : float
        Bin width, % of ``T``.
    below_pct, above_pct : float
        The excluded window below and above ``T``, % of ``T``: wide enough to hold where moved
        checks come from and where they land.
    degree : int
        Polynomial degree of the counterfactual.

    Returns
    -------
    pandas.DataFrame
        One row per bin: ``threshold, bin_left, bin_right, bin_mid, distance_pct, count,
        counterfactual, window`` (``"below"``, ``"above"`` or ``"outside"``).
    """
    _require(transactions, [gross_col], "bunching_histogram")
    t = _check_thresholds(thresholds)
    specs = _setup(t, span_pct, bin_pct, below_pct, above_pct, degree)
    counts = _per_threshold(_bin_counts(_bin_index(transactions[gross_col].to_numpy(float), specs), specs), specs)
    frames = []
    for s, c in zip(specs, counts, strict=True):  # no mutate: one piece per threshold
        frames.append(
            pd.DataFrame(
                {
                    "threshold": s["T"],
                    "bin_left": s["edges"][:-1],
                    "bin_right": s["edges"][1:],
                    "bin_mid": s["mid"],
                    "distance_pct": (s["mid"] - s["T"]) / s["T"] * 100,
                    "count": c.astype("int64"),
                    "counterfactual": _fit(s, c),
                    "window": np.select([s["below"], s["above"]], ["below", "above"], "outside"),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def bunching(
    transactions: pd.DataFrame,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    *,
    gross_col: str = "gross_amount",
    customer_col: str | None = "customer_id",
    span_pct: float = 40.0,
    bin_pct: float = 1.0,
    below_pct: float = 15.0,
    above_pct: float = 5.0,
    degree: int = 3,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Excess mass of checks just above each tier threshold, with a bootstrap CI.

    Excess mass = observed - counterfactual receipts in the window just above ``T``; missing
    mass = counterfactual - observed in the window just below (see
    :func:`bunching_histogram`). If buyers top up their basket to reach the discount, both are
    positive and about equal; with no response both are about 0. The interval resamples whole
    customers (``customer_col``) or, with ``customer_col=None``, single receipts.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts (card receipts for the effect, non-member receipts for a placebo).
    thresholds : sequence of float
        Tier thresholds (RUB).
    gross_col : str
        Gross check column.
    customer_col : str or None
        Cluster column for the bootstrap; ``None`` resamples receipts.
    span_pct, bin_pct, below_pct, above_pct, degree
        Histogram and fit settings, as in :func:`bunching_histogram`.
    n_boot : int
        Bootstrap resamples.
    seed : int
        Seed of the bootstrap.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``threshold``: ``estimate, ci_low, ci_high`` (excess mass, receipts),
        ``n`` (receipts in the studied range), ``missing_mass, missing_ci_low,
        missing_ci_high``, ``counterfactual_above`` (expected receipts in the window above
        without bunching), ``excess_ratio`` (excess / counterfactual_above) and ``top_up,
        top_up_ci_low, top_up_ci_high``: how many RUB a moved check grew on average (mean
        distance of the missing mass below ``T`` plus that of the excess mass above it; NaN
        when either mass is not positive, so read it only where bunching is clear).
    """
    cols = [gross_col] + ([customer_col] if customer_col else [])
    _require(transactions, cols, "bunching")
    t = _check_thresholds(thresholds)
    specs = _setup(t, span_pct, bin_pct, below_pct, above_pct, degree)
    g = transactions[gross_col].to_numpy(float)
    b = _bin_index(g, specs)
    clusters = transactions[customer_col].to_numpy() if customer_col else np.arange(len(g))
    # the statistic depends on the bin counts only: receipts per customer and bin;
    # a resample's counts are the customers' counts weighted by how often each was drawn
    # (customers with no receipt in a studied range still count as clusters)
    keep = b >= 0
    # customers numbered by first receipt inside a studied range, then the others
    codes, uniques = pd.factorize(np.concatenate([clusters[keep], clusters[~keep]]), sort=False)
    n_cust, n_bins = len(uniques), sum(len(s["edges"]) - 1 for s in specs)
    per = sparse.csr_matrix((np.ones(keep.sum()), (codes[: keep.sum()], b[keep])), shape=(n_cust, n_bins))
    names = [f"{k}_{i}" for i in range(len(t)) for k in ("e", "m", "u")]

    def stat(w: np.ndarray) -> np.ndarray:
        return np.vstack([_bunch_from_counts(c, specs) for c in np.asarray((per.T @ w.T).T)])

    draws = bootstrap_draws(n_cust, stat, n_boot=n_boot, seed=seed, counts=True)
    counts = _bin_counts(b, specs)
    boot = bootstrap_frame(_bunch_from_counts(counts, specs), draws, n=n_cust, level=level, index=names)
    pieces = list(zip(specs, _per_threshold(counts, specs), strict=True))  # no mutate: one piece per threshold
    n_in = [int(c.sum()) for _, c in pieces]
    cf_above = [float(_fit(s, c)[s["above"]].sum()) for s, c in pieces]
    e, m, u = boot.iloc[0::3], boot.iloc[1::3], boot.iloc[2::3]
    out = pd.DataFrame(
        {
            "estimate": e["estimate"].to_numpy(),
            "ci_low": e["ci_low"].to_numpy(),
            "ci_high": e["ci_high"].to_numpy(),
            "n": n_in,
            "missing_mass": m["estimate"].to_numpy(),
            "missing_ci_low": m["ci_low"].to_numpy(),
            "missing_ci_high": m["ci_high"].to_numpy(),
            "counterfactual_above": cf_above,
        },
        index=pd.Index(t, name="threshold"),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out["excess_ratio"] = out["estimate"] / out["counterfactual_above"]
    out["top_up"] = u["estimate"].to_numpy()
    out["top_up_ci_low"] = u["ci_low"].to_numpy()
    out["top_up_ci_high"] = u["ci_high"].to_numpy()
    return out


def planted_top_up(
    transactions: pd.DataFrame,
    truth_transactions: pd.DataFrame,
    thresholds: Sequence[float],
    *,
    landing_pct: float,
    uplift_pct: float,
    gross_col: str = "gross_amount",
) -> pd.Series:
    """Mean planted top-up (RUB) of the checks the generator moved over each threshold.

    Synthetic data only: a moved (``bunched``) receipt's check before the move was its
    no-program check times the planted basket uplift, ``cf_gross_amount * (1 +
    uplift_pct / 100)``; the top-up is the gross amount minus that. A moved check is assigned
    to the threshold ``T`` it landed above, ``T <= gross < T (1 + landing_pct / 100)``.
    Receipts with no no-program twin (``cf_gross_amount == 0``) are left out.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts with ``transaction_id`` and ``gross_col``.
    truth_transactions : pandas.DataFrame
        ``ds.truth_tables["transactions"]`` (``transaction_id, cf_gross_amount, bunched``).
    thresholds : sequence of float
        Thresholds to report.
    landing_pct, uplift_pct : float
        Planted ``bunching.landing_pct`` and ``uplift.check_pct``.
    gross_col : str
        Gross check column.

    Returns
    -------
    pandas.Series
        Mean top-up per threshold (NaN where no moved check landed), indexed by ``threshold``.

    Examples
    --------
    >>> tx = pd.DataFrame({"transaction_id": [1, 2], "gross_amount": [1510.0, 900.0]})
    >>> tt = pd.DataFrame({"transaction_id": [1, 2], "cf_gross_amount": [1250.0, 900.0],
    ...                    "bunched": [True, False]})
    >>> float(planted_top_up(tx, tt, [1500], landing_pct=4, uplift_pct=8).iloc[0])  # 1510 - 1350
    160.0
    """
    _require(transactions, ["transaction_id", gross_col], "planted_top_up(transactions)")
    _require(truth_transactions, ["transaction_id", "cf_gross_amount", "bunched"], "planted_top_up(truth_transactions)")
    t = _check_thresholds(thresholds)
    d = transactions[["transaction_id", gross_col]].merge(
        truth_transactions[["transaction_id", "cf_gross_amount", "bunched"]], on="transaction_id"
    )
    d = d[d["bunched"].astype(bool) & (d["cf_gross_amount"] > 0)]
    g = d[gross_col].to_numpy(float)
    k = np.searchsorted(t, g, side="right") - 1
    ok = (k >= 0) & (g < t[np.clip(k, 0, None)] * (1 + landing_pct / 100))
    top = g - d["cf_gross_amount"].to_numpy(float) * (1 + uplift_pct / 100)
    means = pd.Series(top[ok]).groupby(k[ok]).mean()
    return pd.Series(
        [means.get(i, np.nan) for i in range(len(t))], index=pd.Index(t, name="threshold"), name="planted_top_up"
    )
