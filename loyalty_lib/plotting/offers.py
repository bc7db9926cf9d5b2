"""Plots of the offers stage: recommender metrics against the baselines, and the offer mix."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from loyalty_lib.plotting.common import bars_with_ci
from loyalty_lib.plotting.theme import count_axis, label_text, legend_outside, share_axis

__all__ = ["plot_offer_mix", "plot_recommender_metrics"]


def plot_recommender_metrics(
    summary: pd.DataFrame,
    *,
    metrics: tuple[str, ...] = ("hit_rate", "precision", "recall", "ndcg"),
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Bars of each method's hit rate, precision, recall and NDCG with their 95 % intervals.

    Parameters
    ----------
    summary : pandas.DataFrame
        From :func:`loyalty_lib.metrics.offers.evaluate_recommendations` (index ``method, metric``).
    metrics : tuple of str
        Metrics to draw, one group of bars each.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: current axes).
    **kwargs
        Passed to ``Axes.bar``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax or plt.gca()
    methods = list(dict.fromkeys(summary.index.get_level_values("method")))
    x = bars_with_ci(ax, {m: summary.loc[m].reindex(list(metrics)) for m in methods}, **kwargs)
    ax.set(xticks=x, xlabel="metric at k")
    share_axis(ax, label="share (95 % CI)")
    ax.set_xticklabels([label_text(m) for m in metrics])
    legend_outside(ax)
    return ax


def plot_offer_mix(offers: pd.DataFrame, *, by: str = "offer_type", ax: Axes | None = None, **kwargs) -> Axes:
    """Horizontal bars: how many offers of each kind (or channel), split by rank.

    Parameters
    ----------
    offers : pandas.DataFrame
        From :func:`loyalty_lib.metrics.offers.next_best_offers` (``rank`` and ``by``).
    by : str
        Column to count by (``offer_type`` or ``channel``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    **kwargs
        Passed to ``Axes.barh``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax or plt.gca()
    counts = offers.pivot_table(index=by, columns="rank", values="customer_id", aggfunc="size", fill_value=0)
    counts = counts.loc[counts.sum(axis=1).sort_values().index]
    left = np.zeros(len(counts))
    for j, rank in enumerate(counts.columns):
        names = [label_text(v) for v in counts.index.astype(str)]
        ax.barh(names, counts[rank], left=left, color=f"C{j}", label=f"rank {rank}", **kwargs)
        left += counts[rank].to_numpy()
    ax.set(ylabel=label_text(by))
    count_axis(ax, axis="x", label="offers")
    ax.grid(axis="y", visible=False)
    legend_outside(ax)
    return ax
