"""Plots of the audience stage: segment shares beside each other, RFM migration and flows."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from loyalty_lib.plotting.common import bars_with_ci
from loyalty_lib.plotting.theme import label_text, legend_outside, share_axis

__all__ = ["plot_migration", "plot_segment_flow", "plot_segment_shares"]


def plot_segment_shares(
    shares: pd.DataFrame,
    *,
    dimension: str,
    figures: tuple[str, ...] = ("customer_share", "revenue_share", "margin_share"),
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Bars of each segment's share of customers, revenue and margin, with 95 % intervals.

    Parameters
    ----------
    shares : pandas.DataFrame
        From :func:`loyalty_lib.metrics.audience.segment_shares`.
    dimension : str
        Which dimension to draw (``customer_type``, ``age_band`` ...).
    figures : tuple of str
        Share columns to draw side by side.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: current axes).
    **kwargs
        Passed to ``Axes.bar``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax or plt.gca()
    d = shares[shares["dimension"] == dimension].reset_index(drop=True)
    groups = {
        f: d[[f, f"{f}_ci_low", f"{f}_ci_high"]].set_axis(["estimate", "ci_low", "ci_high"], axis=1) for f in figures
    }
    x = bars_with_ci(ax, groups, **kwargs)
    ax.set(xticks=x, xlabel=label_text(dimension))
    share_axis(ax, label="share (95 % CI)")
    ax.set_xticklabels([label_text(v) for v in d["segment"].astype(str)], rotation=30, ha="right")
    legend_outside(ax)
    return ax


def plot_migration(matrix: pd.DataFrame, *, ax: Axes | None = None, cmap: str = "Blues", **kwargs) -> Axes:
    """Heatmap of a segment transition matrix, each cell written as a percentage.

    Parameters
    ----------
    matrix : pandas.DataFrame
        From :func:`loyalty_lib.metrics.audience.migration_matrix` (rows: from; columns: to).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    cmap : str
        Colour map.
    **kwargs
        Passed to ``Axes.imshow``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax or plt.gca()
    v = matrix.to_numpy(dtype=float)
    ax.imshow(np.nan_to_num(v), cmap=cmap, vmin=0, vmax=1, aspect="auto", **kwargs)
    for (i, j), val in np.ndenumerate(v):
        if np.isfinite(val) and val >= 0.005:
            colour = "white" if val > 0.6 else "black"
            ax.text(j, i, f"{100 * val:.0f} %", ha="center", va="center", fontsize=8, color=colour)
    ax.set(
        xticks=range(v.shape[1]),
        yticks=range(v.shape[0]),
        xlabel="segment the month after",
        ylabel="segment this month",
    )
    ax.set_xticklabels([label_text(c) for c in matrix.columns], rotation=30, ha="right")
    ax.set_yticklabels([label_text(c) for c in matrix.index])
    ax.grid(False)
    return ax


def plot_segment_flow(
    counts: pd.DataFrame, *, ax: Axes | None = None, labels: tuple[str, str] = ("from", "to"), **kwargs
) -> Axes:
    """A Sankey-like chart: customers flowing from the segments of one day to those of another.

    Parameters
    ----------
    counts : pandas.DataFrame
        Customers moving from each row segment to each column segment (a count matrix, e.g.
        ``pd.crosstab`` of two days' segments).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    labels : tuple of str
        Names of the two days, written under the columns.
    **kwargs
        Passed to ``Axes.fill_between`` (the bands).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax or plt.gca()
    c = counts.to_numpy(dtype=float)
    total = c.sum() or 1.0
    c = c / total
    gap = 0.01
    left_tot, right_tot = c.sum(axis=1), c.sum(axis=0)
    left_top = 1 + gap * len(left_tot) - np.r_[0, np.cumsum(left_tot + gap)[:-1]]
    right_top = 1 + gap * len(right_tot) - np.r_[0, np.cumsum(right_tot + gap)[:-1]]
    colours = {name: f"C{k % 10}" for k, name in enumerate(dict.fromkeys([*counts.index, *counts.columns]))}
    out_used = np.zeros(len(left_tot))
    in_used = np.zeros(len(right_tot))
    xs = np.linspace(0.1, 0.9, 50)
    s = (1 - np.cos(np.pi * (xs - 0.1) / 0.8)) / 2  # smooth S-shaped band
    for i, j in np.ndindex(c.shape):
        h = c[i, j]
        if h <= 0:
            continue
        y0 = left_top[i] - out_used[i]
        y1 = right_top[j] - in_used[j]
        top = y0 + (y1 - y0) * s
        ax.fill_between(xs, top - h, top, color=colours[counts.index[i]], alpha=0.45, lw=0, **kwargs)
        out_used[i] += h
        in_used[j] += h
    for x, tops, tots, names in [
        (0.05, left_top, left_tot, counts.index),
        (0.95, right_top, right_tot, counts.columns),
    ]:
        for top, tot, name in zip(tops, tots, names, strict=True):
            if tot > 0:
                ax.bar(x, tot, bottom=top - tot, width=0.1, color=colours[name])
                ax.text(
                    x + (-0.07 if x < 0.5 else 0.07),
                    top - tot / 2,
                    f"{label_text(name)} {100 * tot:.0f} %",
                    ha="right" if x < 0.5 else "left",
                    va="center",
                    fontsize=8,
                )
    ax.set(xlim=(-0.45, 1.45), xticks=[0.05, 0.95], yticks=[], ylabel="share of customers")
    ax.set_xticklabels(labels)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return ax
