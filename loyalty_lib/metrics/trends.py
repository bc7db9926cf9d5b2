"""The program's main figures month by month, from the receipts and the cards (the report's trends).

A manager reads these as small charts on the report's index and downloads them as a table. They
are descriptive (what members did), not causal (what the card caused: stage 06).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalty_lib.stats import check_columns

#: Output columns of :func:`monthly_trends`, in order.
TREND_COLUMNS = [
    "month",
    "days_covered",
    "receipts",
    "revenue",
    "members",
    "active_members",
    "member_revenue",
    "revenue_per_active_member",
    "average_check",
    "member_share_of_revenue",
]


def monthly_trends(
    transactions: pd.DataFrame,
    cards: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    issued_col: str = "issued_date",
) -> pd.DataFrame:
    """Members, active members, revenue per active member, average check and member share, by month.

    A customer is a member from the time their first card was handed out (``issued_date``, the
    earliest of their cards). A receipt is a member's receipt when it is dated at or after that
    time, so the purchase at which the card was handed out counts as a member's purchase. Every
    calendar month from the first to the last receipt gets a row, also a month without receipts.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Contract table ``transactions`` (``customer_id, date, amount``; ``amount`` is net).
    cards : pandas.DataFrame
        Contract table ``cards`` (``customer_id, issued_date``; cards in stock have neither).
    customer_col, date_col, amount_col, issued_col : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        One row per month, columns :data:`TREND_COLUMNS`:

        - ``month``: first day of the month;
        - ``days_covered``: days of the month between the first and the last receipt of the data
          (fewer than the month's length in a first or last month seen in part);
        - ``receipts``, ``revenue``: all receipts and their net amount;
        - ``members``: customers whose first card was handed out before the month's end;
        - ``active_members``: members with at least one member's receipt in the month;
        - ``member_revenue``: net amount of the members' receipts;
        - ``revenue_per_active_member``: ``member_revenue / active_members`` (missing without
          active members);
        - ``average_check``: ``revenue / receipts`` over all buyers (missing without receipts);
        - ``member_share_of_revenue``: ``member_revenue / revenue``, a share in [0, 1].

    Raises
    ------
    ValueError
        When a column is missing (named with its table).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3],
    ...     "date": pd.to_datetime(["2025-01-10", "2025-02-03", "2025-02-20", "2025-02-25"]),
    ...     "amount": [100.0, 300.0, 50.0, 150.0]})
    >>> cards = pd.DataFrame({"customer_id": [1, 2, None],
    ...     "issued_date": pd.to_datetime(["2025-01-10", "2025-02-21", None])})
    >>> t = monthly_trends(tx, cards)
    >>> t[["members", "active_members", "revenue_per_active_member", "member_share_of_revenue"]].round(3)
       members  active_members  revenue_per_active_member  member_share_of_revenue
    0        1               1                      100.0                      1.0
    1        2               1                      300.0                      0.6
    """
    f = "monthly_trends"
    check_columns(transactions, [customer_col, date_col, amount_col], f, table="transactions")
    check_columns(cards, [customer_col, issued_col], f, table="cards")
    tx = transactions[[customer_col, date_col, amount_col]]
    if tx.empty:
        return pd.DataFrame(columns=TREND_COLUMNS)
    dates = pd.to_datetime(tx[date_col])
    held = cards[[customer_col, issued_col]].dropna()
    first_issue = pd.to_datetime(held[issued_col]).groupby(held[customer_col]).min()

    start, end = dates.min().normalize(), dates.max().normalize()
    months = pd.period_range(start.to_period("M"), end.to_period("M"), freq="M")
    month_start = months.to_timestamp()
    month_end = (months + 1).to_timestamp()  # exclusive
    covered = (np.minimum(month_end, end + pd.Timedelta(days=1)) - np.maximum(month_start, start)).days

    period = dates.dt.to_period("M")
    issued_at = tx[customer_col].map(first_issue)
    is_member = (issued_at.notna() & (dates >= issued_at)).to_numpy()
    amount = tx[amount_col].astype(float)
    all_g = amount.groupby(period)
    mem_g = amount[is_member].groupby(period[is_member])
    active = tx.loc[is_member, customer_col].groupby(period[is_member]).nunique()
    issue_month = first_issue.dt.to_period("M").value_counts().sort_index()
    members = issue_month.reindex(months, fill_value=0).cumsum()
    members += int(issue_month[issue_month.index < months[0]].sum())  # cards handed out before the data

    out = pd.DataFrame(
        {
            "month": month_start,
            "days_covered": np.asarray(covered, dtype=int),
            "receipts": all_g.size().reindex(months, fill_value=0).to_numpy(),
            "revenue": all_g.sum().reindex(months, fill_value=0.0).to_numpy(),
            "members": members.to_numpy(),
            "active_members": active.reindex(months, fill_value=0).to_numpy(),
            "member_revenue": mem_g.sum().reindex(months, fill_value=0.0).to_numpy(),
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out["revenue_per_active_member"] = out["member_revenue"] / out["active_members"].where(
            out["active_members"] > 0
        )
        out["average_check"] = out["revenue"] / out["receipts"].where(out["receipts"] > 0)
        out["member_share_of_revenue"] = out["member_revenue"] / out["revenue"].where(out["revenue"] > 0)
    return out[TREND_COLUMNS]
