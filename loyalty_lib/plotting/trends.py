"""Small monthly charts of the report's trends (:func:`loyalty_lib.metrics.trends.monthly_trends`)."""

from __future__ import annotations

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

from loyalty_lib.plotting import theme

#: What each trend column is, for people, and how its axis is written.
TREND_LABELS = {
    "members": ("Members", "count"),
    "active_members": ("Active members (bought in the month)", "count"),
    "revenue_per_active_member": ("Revenue per active member", "money"),
    "average_check": ("Average check (all buyers)", "money"),
    "member_share_of_revenue": ("Members' share of revenue", "share"),
}
#: The y-axis title of each trend (a money axis adds the currency).
TREND_AXES = {
    "members": "members",
    "active_members": "members who bought",
    "revenue_per_active_member": "revenue per member",
    "average_check": "average check",
    "member_share_of_revenue": "share of revenue",
}


def plot_trend(
    data: pd.DataFrame, column: str, *, currency: str = "", ax: Axes | None = None, color: str | None = None
) -> Axes:
    """One trend as a small line chart by month; months seen only in part are drawn hollow.

    Parameters
    ----------
    data : pandas.DataFrame
        The output of :func:`~loyalty_lib.metrics.trends.monthly_trends`.
    column : str
        A key of :data:`TREND_LABELS`.
    currency : str
        Currency of money columns, written in the axis label.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: current axes).
    color : str, optional
        Line colour (default: the theme's first series colour).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> t = pd.DataFrame({"month": pd.to_datetime(["2025-01-01", "2025-02-01"]), "days_covered": [31, 10],
    ...                   "average_check": [1200.0, 1300.0]})
    >>> fig, ax = plt.subplots()
    >>> plot_trend(t, "average_check", currency="EUR", ax=ax).get_ylabel()
    'average check, EUR'
    >>> plt.close(fig)
    """
    if column not in TREND_LABELS:
        raise ValueError(f"plot_trend: column must be one of {', '.join(TREND_LABELS)}; got {column!r}")
    ax = ax or plt.gca()
    color = color or theme.PALETTE[0]
    title, kind = TREND_LABELS[column]
    x, y = pd.to_datetime(data["month"]), data[column]
    full = data["days_covered"].to_numpy() >= x.dt.days_in_month.to_numpy()
    ax.plot(x, y, color=color, linewidth=2)
    ax.scatter(x[full], y[full], color=color, s=18, zorder=3)
    ax.scatter(x[~full], y[~full], facecolor="white", edgecolor=color, s=22, zorder=3, label="month seen in part")
    ax.set_title(title)
    axis_title = TREND_AXES[column]
    if kind == "money":
        theme.money_axis(ax, currency, label=axis_title)
    elif kind == "share":
        theme.share_axis(ax, label=axis_title)
        ax.set_ylim(0, max(1.0, float(y.max()) if y.notna().any() else 1.0) * 1.02)
    else:
        theme.count_axis(ax, label=axis_title)
        ax.set_ylim(bottom=0)
    ax.tick_params(axis="x", labelrotation=0)
    loc = mdates.AutoDateLocator(maxticks=6)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
    return ax
