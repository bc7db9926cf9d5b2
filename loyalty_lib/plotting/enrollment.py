"""Plots of stage 02, enrollment: funnel, seller league, card stock, time to activation."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from loyalty_lib.plotting.common import errorbar_ci
from loyalty_lib.plotting.theme import (
    BAD,
    GOOD,
    NEUTRAL,
    count_axis,
    group_thousands,
    label_text,
    legend_outside,
    reference_line,
    share_axis,
)

#: Good and bad in the house colours: a seller clearly below the target is bad, clearly above good.
STATUS_COLORS = {"below target": BAD, "on target": NEUTRAL, "above target": GOOD}


def plot_funnel(data: pd.DataFrame, *, ax: Axes | None = None, color: str = "C0", **kwargs) -> Axes:
    """Horizontal funnel: count at each step, labelled with the cumulative and step rates.

    Parameters
    ----------
    data : pandas.DataFrame
        Output of :func:`loyalty_lib.metrics.enrollment.funnel`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: current axes).
    color : str
        Bar colour.
    **kwargs
        Passed to ``Axes.barh``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax or plt.gca()
    y = np.arange(len(data))[::-1]
    ax.barh(y, data["count"], color=color, **kwargs)
    top = float(data["count"].max()) or 1.0
    for yi, r in zip(y, data.itertuples(), strict=True):
        txt = group_thousands(r.count)
        if not np.isnan(r.estimate):
            txt += (
                f"  ({100 * r.cum_estimate:.1f} % of buyers; step {100 * r.estimate:.1f} %,"
                f" CI {100 * r.ci_low:.1f}–{100 * r.ci_high:.1f})"
            )
        ax.text(r.count + 0.01 * top, yi, txt, va="center", fontsize=8)
    ax.set(yticks=y, yticklabels=[label_text(s) for s in data.index], xlim=(0, top * 1.9))
    # room on the right for the rates, but the axis itself runs only as far as the data
    ticks = [t for t in MaxNLocator(nbins=4).tick_values(0, top) if 0 <= t <= top]  # few, so they never overlap
    ax.set_xticks(ticks)
    ax.spines["bottom"].set_bounds(0, max(ticks[-1] if ticks else top, 0))
    count_axis(ax, axis="x", label="customers")
    ax.grid(axis="y", visible=False)
    return ax


def plot_seller_league(
    data: pd.DataFrame,
    *,
    seller_col: str = "seller_id",
    shrunk: bool = True,
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Seller league: issuance rate with its 95 % CI per seller, coloured by status, and target.

    Parameters
    ----------
    data : pandas.DataFrame
        Output of :func:`loyalty_lib.metrics.enrollment.seller_league`.
    seller_col : str
        Seller column.
    shrunk : bool
        Also mark the empirical-Bayes estimate (if present).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    **kwargs
        Passed to ``Axes.errorbar``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax or plt.gca()
    d = data.dropna(subset=["estimate"])
    y = np.arange(len(d))[::-1]
    for status, color in STATUS_COLORS.items():
        m = (d["status"] == status).to_numpy()
        if m.any():
            errorbar_ci(ax, d[m], y[m], horizontal=True, color=color, label=status, **kwargs)
    if shrunk and "shrunk_estimate" in d:
        ax.scatter(
            d["shrunk_estimate"],
            y,
            marker="|",
            s=120,
            color="black",
            zorder=3,
            label="shrunk (empirical Bayes)",
        )
    if "target" in d and len(d):
        target = float(d["target"].iloc[0])
        reference_line(ax, target, f"target {100 * target:.0f} %", axis="x")
    labels = [f"{s} (n = {group_thousands(n)})" for s, n in zip(d[seller_col], d["n"], strict=True)]
    ax.set(yticks=y, yticklabels=labels)
    share_axis(ax, axis="x", label="cards issued per eligible purchase (95 % CI)")
    ax.grid(axis="y", visible=False)
    legend_outside(ax)
    return ax


def plot_stock_burndown(
    data: pd.DataFrame,
    *,
    projection: pd.DataFrame | None = None,
    printed: int | None = None,
    truth_date=None,
    ax: Axes | None = None,
    color: str = "C0",
) -> Axes:
    """Cards left in stock by day, with the projected stock-out date and its interval.

    Parameters
    ----------
    data : pandas.DataFrame
        Output of :func:`loyalty_lib.metrics.enrollment.stock_burndown`.
    projection : pandas.DataFrame, optional
        Output of :func:`loyalty_lib.metrics.enrollment.stock_projection`.
    printed : int, optional
        Printed stock, drawn as a reference line.
    truth_date : date-like, optional
        Planted stock-out date, drawn as a black line.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    color : str
        Line colour.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax or plt.gca()
    ax.plot(data["date"], data["remaining"], color=color, label="cards in stock")
    if printed:
        reference_line(ax, printed, f"printed ({group_thousands(printed)})")
    if projection is not None and not bool(projection["already_out"].iloc[0]):
        p = projection.iloc[0]
        if pd.notna(p["stock_out_date"]):
            ax.plot(
                [p["as_of"], p["stock_out_date"]],
                [p["remaining"], 0],
                color="C1",
                ls="--",
                label="projection at recent pace",
            )
        lo, hi = p["stock_out_low"], p["stock_out_high"]
        if pd.notna(lo) and pd.notna(hi):
            ax.axvspan(lo, hi, color="C1", alpha=0.2, label="projected stock-out, 95 % CI")
    if truth_date is not None and pd.notna(pd.Timestamp(truth_date)):
        reference_line(ax, pd.Timestamp(truth_date), "planted stock-out", axis="x", color="black")
    ax.set(xlabel="date", ylim=(0, None))
    count_axis(ax, label="cards in stock")
    legend_outside(ax)
    return ax


def plot_time_to_activation(
    data: pd.DataFrame,
    *,
    truth: float | None = None,
    naive: float | None = None,
    ax: Axes | None = None,
    color: str = "C0",
) -> Axes:
    """Kaplan-Meier share of cards activated by day after issue, with its 95 % band.

    Parameters
    ----------
    data : pandas.DataFrame
        Output of :func:`loyalty_lib.metrics.enrollment.time_to_activation`.
    truth : float, optional
        Planted ever-activation probability (horizontal line).
    naive : float, optional
        Naive share activated within the data window (horizontal dotted line).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    color : str
        Curve colour.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax or plt.gca()
    ax.step(
        data["day"],
        data["estimate"],
        where="post",
        color=color,
        label="Kaplan-Meier share activated",
    )
    ax.fill_between(
        data["day"],
        data["ci_low"],
        data["ci_high"],
        step="post",
        color=color,
        alpha=0.2,
        label="95 % CI",
    )
    if truth is not None:
        reference_line(ax, truth, "planted ever-activation", color="black", text=False)
    if naive is not None:
        reference_line(ax, naive, "naive: activated within the data", color="C1", text=False)
    ax.set(xlabel="days since the card was issued", ylim=(0, 1))
    share_axis(ax, label="share of cards used at least once")
    legend_outside(ax)
    return ax
