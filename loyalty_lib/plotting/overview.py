"""Overview plots for the case notebook (00)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from loyalty_lib.stats import format_number


def _thousands(ax: Axes, axis: str = "y") -> None:
    fmt = FuncFormatter(lambda v, _: format_number(v, "count", millions=True))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def plot_monthly_revenue(data: pd.DataFrame, *, launch=None, ax: Axes | None = None, **kwargs) -> Axes:
    """Monthly net revenue by group (from :func:`loyalty_lib.metrics.overview.monthly_revenue`)."""
    ax = ax or plt.gca()
    sns.lineplot(data=data, x="month", y="revenue", hue="group", marker="o", ax=ax, **kwargs)
    if launch is not None:
        ax.axvline(pd.Timestamp(launch), color="grey", ls="--", lw=1)
        ax.annotate(
            "program launch", (pd.Timestamp(launch), ax.get_ylim()[1]), ha="left", va="top", fontsize=9, color="grey"
        )
    ax.set(xlabel="month", ylabel="net revenue, RUB", title="Monthly revenue: buyers who got a card vs the rest")
    _thousands(ax)
    return ax


def plot_check_distribution(
    data: pd.DataFrame, *, thresholds=(), amount: str = "gross_amount", ax: Axes | None = None, **kwargs
) -> Axes:
    """Histogram of check sizes on a log scale, with the discount-tier thresholds marked."""
    ax = ax or plt.gca()
    x = data[amount].to_numpy()
    bins = np.geomspace(max(x.min(), 10), x.max(), 80)
    ax.hist(x, bins=bins, color="C0", alpha=0.8, **kwargs)
    ax.set_xscale("log")
    for t in thresholds:
        ax.axvline(t, color="C3", ls="--", lw=1)
    ax.set(
        xlabel=f"{amount.replace('_', ' ')}, RUB (log scale)", ylabel="receipts", title="Check sizes and discount tiers"
    )
    _thousands(ax, "x")
    return ax


def plot_cards_issued(cards: pd.DataFrame, *, printed: int | None = None, ax: Axes | None = None) -> Axes:
    """Cumulative cards handed out by channel, against the printed stock."""
    ax = ax or plt.gca()
    c = cards.dropna(subset=["issued_date"]).sort_values("issued_date")
    for ch, grp in c.groupby("issue_channel"):
        ax.step(grp["issued_date"], np.arange(1, len(grp) + 1), where="post", label=f"issued at {ch}")
    ax.step(c["issued_date"], np.arange(1, len(c) + 1), where="post", color="black", label="all")
    if printed:
        ax.axhline(printed, color="C3", ls="--", lw=1, label=f"printed stock ({printed:,})")
    ax.set(xlabel="date", ylabel="cards handed out (cumulative)", title="Cards handed out")
    ax.legend(frameon=False)
    _thousands(ax)
    return ax
