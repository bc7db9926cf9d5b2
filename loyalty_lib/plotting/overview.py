"""Overview plots for the case notebook (00)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from loyalty_lib.plotting.common import money_label
from loyalty_lib.plotting.theme import label_text, legend_outside, reference_line
from loyalty_lib.stats import format_number


def _thousands(ax: Axes, axis: str = "y") -> None:
    fmt = FuncFormatter(lambda v, _: format_number(v, "count", millions=True))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def plot_monthly_revenue(
    data: pd.DataFrame, *, launch=None, currency: str = "", ax: Axes | None = None, **kwargs
) -> Axes:
    """Monthly net revenue by group (from :func:`loyalty_lib.metrics.overview.monthly_revenue`)."""
    ax = ax or plt.gca()
    sns.lineplot(data=data, x="month", y="revenue", hue="group", marker="o", ax=ax, **kwargs)
    if launch is not None:
        reference_line(ax, pd.Timestamp(launch), "program launch", axis="x")
    ax.set(
        xlabel="month",
        ylabel=money_label("net revenue", currency),
        title="Monthly revenue: buyers who got a card vs the rest",
    )
    _thousands(ax)
    legend_outside(ax, where="below")
    return ax


def plot_check_distribution(
    data: pd.DataFrame,
    *,
    thresholds=(),
    amount: str = "gross_amount",
    currency: str = "",
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Histogram of check sizes on a log scale, with the discount-tier thresholds marked.

    The bins span every positive check, from the smallest to the largest (no fixed floor that
    would hide small checks); checks of zero or less cannot sit on a log axis and are counted
    in the title instead.
    """
    ax = ax or plt.gca()
    x = pd.to_numeric(data[amount], errors="coerce").to_numpy(float)
    x = x[np.isfinite(x)]
    pos = x[x > 0]
    if len(pos):
        lo, hi = pos.min(), pos.max()
        bins = np.geomspace(lo, hi if hi > lo else lo * 1.01, 81)
        ax.hist(pos, bins=bins, color="C0", alpha=0.8, **kwargs)
    ax.set_xscale("log")
    for t in thresholds:  # each tier line says where it is, beside the line
        reference_line(ax, t, f"tier {format_number(t, currency)}", axis="x", legend=False)
    left_out = len(x) - len(pos)
    title = "Check sizes and discount tiers" if len(thresholds) else "Check sizes"
    if left_out:
        title += f" ({left_out:,} receipts of 0 or less not shown)"
    ax.set(xlabel=money_label(amount.replace("_", " "), currency, suffix="(log scale)"), ylabel="receipts", title=title)
    _thousands(ax, "x")
    return ax


def plot_cards_issued(cards: pd.DataFrame, *, printed: int | None = None, ax: Axes | None = None) -> Axes:
    """Cumulative cards handed out by channel, against the printed stock."""
    ax = ax or plt.gca()
    c = cards.dropna(subset=["issued_date"]).sort_values("issued_date")
    for ch, grp in c.groupby("issue_channel"):
        ax.step(grp["issued_date"], np.arange(1, len(grp) + 1), where="post", label=f"issued at {label_text(ch)}")
    ax.step(c["issued_date"], np.arange(1, len(c) + 1), where="post", color="black", label="all")
    if printed:
        reference_line(ax, printed, f"printed stock ({format_number(printed, 'count')})")
    ax.set(xlabel="date", ylabel="cards handed out (cumulative)", title="Cards handed out")
    legend_outside(ax)
    _thousands(ax)
    return ax
