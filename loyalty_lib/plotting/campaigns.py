"""Plots of the campaigns stage: Qini curves of targeting rules, holdout size against uplift."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import NullFormatter

from loyalty_lib.plotting.theme import baseline, count_axis, group_thousands, legend_outside, reference_line, share_axis

__all__ = ["plot_holdout_size", "plot_qini"]


def plot_qini(curves: dict[str, pd.DataFrame], *, ax: Axes | None = None, **kwargs) -> Axes:
    """Qini curves: extra responses per 100 contacts ranked, against the share contacted.

    Parameters
    ----------
    curves : dict of str to pandas.DataFrame
        Rule name to a frame of :func:`loyalty_lib.metrics.campaigns.qini_curve`
        (``share, incremental_per_100``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: current axes).
    **kwargs
        Passed to ``Axes.plot``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax or plt.gca()
    end = None
    for i, (name, c) in enumerate(curves.items()):
        x = [0.0, *c["share"].tolist()]
        y = [0.0, *c["incremental_per_100"].tolist()]
        ax.plot(x, y, marker="o", ms=3, color=f"C{i}", label=name, **kwargs)
        end = y[-1]
    if end is not None:
        ax.plot([0, 1], [0, end], ls=":", color="grey", label="random order")
    baseline(ax)
    ax.set(ylabel="extra responses per 100 addressees")
    share_axis(ax, axis="x", label="share of addressees contacted, best first")
    legend_outside(ax)
    return ax


def plot_holdout_size(sizes: pd.DataFrame, *, reachable: float | None = None, ax: Axes | None = None, **kwargs) -> Axes:
    """Addressees a campaign needs against the uplift it must detect.

    Parameters
    ----------
    sizes : pandas.DataFrame
        From :func:`loyalty_lib.metrics.campaigns.holdout_size` (``uplift, n_holdout, n_total``).
    reachable : float, optional
        Clients who can be contacted: a labelled line, above which a campaign cannot be run.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    **kwargs
        Passed to ``Axes.plot``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax or plt.gca()
    ax.plot(100 * sizes["uplift"], sizes["n_total"], marker="o", label="all addressees", **kwargs)
    ax.plot(100 * sizes["uplift"], sizes["n_holdout"], marker="s", label="of them held out", **kwargs)
    if reachable is not None:
        reference_line(ax, reachable, f"clients who can be contacted ({group_thousands(reachable)})")
    ax.set(xlabel="uplift in response rate to detect, percentage points", yscale="log")
    count_axis(ax, label="addressees needed (log scale)")
    ax.yaxis.set_minor_formatter(NullFormatter())
    legend_outside(ax)
    return ax
