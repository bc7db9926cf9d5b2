"""Plots for stage 04 (the basket): check-size histograms with the bunching counterfactual."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from loyalty_lib.plotting.common import bars_with_ci, money_label
from loyalty_lib.plotting.theme import count_axis, label_text, legend_outside, money_axis, reference_line, share_axis
from loyalty_lib.stats import check_columns as _need
from loyalty_lib.stats import format_number

__all__ = ["plot_before_after", "plot_bunching", "plot_check_histogram", "plot_discount_cost", "plot_tier_shares"]


def plot_bunching(
    data: pd.DataFrame,
    *,
    threshold: float | None = None,
    currency: str = "",
    ax: Axes | None = None,
    color: str = "C0",
    legend: bool = True,
    **kwargs,
) -> Axes:
    """Histogram of checks around one threshold, the fitted counterfactual and the windows.

    Parameters
    ----------
    data : pandas.DataFrame
        Output of :func:`loyalty_lib.metrics.basket.bunching_histogram`.
    threshold : float, optional
        Which threshold to draw; may be omitted when ``data`` holds only one.
    currency : str
        Currency of the amounts, for the labels (empty when unknown: no unit).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: current axes).
    color : str
        Bar colour.
    legend : bool
        Draw the legend (below the axes).
    **kwargs
        Passed to ``Axes.bar``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _need(data, ["threshold", "bin_left", "bin_right", "bin_mid", "count", "counterfactual", "window"], "plot_bunching")
    ts = data["threshold"].unique()
    if threshold is None:
        if len(ts) != 1:
            raise ValueError(f"plot_bunching: pass threshold=, the data hold {sorted(ts)}")
        threshold = float(ts[0])
    d = data[data["threshold"] == threshold]
    if d.empty:
        raise ValueError(f"plot_bunching: no bins for threshold {threshold}")
    ax = ax or plt.gca()
    width = (d["bin_right"] - d["bin_left"]).to_numpy()
    shade = np.where(d["window"] == "outside", 0.45, 0.85)
    colors = [(*plt.matplotlib.colors.to_rgb(color), a) for a in shade]
    ax.bar(
        d["bin_left"], d["count"], width=width, align="edge", color=colors, label="receipts (window darker)", **kwargs
    )
    ax.plot(
        d["bin_mid"],
        d["counterfactual"],
        color="black",
        lw=1.5,
        label="counterfactual (polynomial fit outside the window)",
    )
    reference_line(ax, threshold, f"threshold {format_number(threshold, currency)}", axis="x")
    money_axis(ax, currency, axis="x", label="gross check")
    count_axis(ax, label="receipts per bin")
    if legend:
        legend_outside(ax, where="below", fontsize="small")
    return ax


def plot_check_histogram(
    data: pd.DataFrame,
    *,
    thresholds: Sequence[float] = (),
    x: str = "gross_amount",
    hue: str | None = None,
    bins: int = 80,
    currency: str = "",
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Distribution of check sizes on a log axis, with the tier thresholds marked.

    Parameters
    ----------
    data : pandas.DataFrame
        Receipts.
    thresholds : sequence of float
        Tier thresholds to mark.
    x : str
        Amount column.
    hue : str, optional
        Column splitting the receipts into overlaid histograms, each showing its share of
        receipts per bin.
    bins : int
        Number of log-spaced bins.
    currency : str
        Currency of the amounts, for the labels (empty when unknown: no unit).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    **kwargs
        Passed to ``Axes.hist``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _need(data, [x] + ([hue] if hue else []), "plot_check_histogram")
    ax = ax or plt.gca()
    v = data[x].to_numpy(float)
    v = v[v > 0]
    edges = np.geomspace(max(v.min(), 1.0), v.max(), bins + 1) if len(v) else np.array([1, 10])
    groups = [(None, data)] if hue is None else list(data.groupby(hue, sort=True))
    for name, g in groups:
        v = g[x][g[x] > 0].to_numpy(float)
        w = np.full(len(v), 1 / max(len(v), 1)) if hue is not None else None
        ax.hist(v, bins=edges, weights=w, histtype="step", lw=1.5, label=None if name is None else str(name), **kwargs)
    for t in thresholds:
        reference_line(ax, t, "discount tier", axis="x", text=False)
    ax.set(xscale="log", xlabel=money_label(label_text(x).lower(), currency, suffix="(log scale)"))
    money_axis(ax, currency, axis="x")
    if hue:
        share_axis(ax, label="share of receipts per bin", decimals=1)
    else:
        count_axis(ax, label="receipts per bin")
    legend_outside(ax, title=hue)
    return ax


def plot_before_after(
    data: pd.DataFrame,
    *,
    currency: str = "",
    ax: Axes | None = None,
    max_points: int = 3000,
    seed: int = 0,
    **kwargs,
) -> Axes:
    """Each member's mean check before vs after the card (log-log scatter with the diagonal).

    Parameters
    ----------
    data : pandas.DataFrame
        Output of :func:`loyalty_lib.metrics.basket.before_after_checks`.
    currency : str
        Currency of the amounts, for the labels (empty when unknown: no unit).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    max_points : int
        Draw at most this many members (a seeded random subset) to keep the plot readable.
    seed : int
        Seed of the subset.
    **kwargs
        Passed to ``Axes.scatter``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _need(data, ["check_before", "check_after"], "plot_before_after")
    ax = ax or plt.gca()
    d = data
    if len(d) > max_points:
        d = d.iloc[np.sort(np.random.default_rng(seed).choice(len(d), max_points, replace=False))]
    kw = {"s": 6, "alpha": 0.35, "color": "C0"} | kwargs
    ax.scatter(d["check_before"], d["check_after"], **kw)
    lim = (
        [
            float(np.nanmin(d[["check_before", "check_after"]].to_numpy())),
            float(np.nanmax(d[["check_before", "check_after"]].to_numpy())),
        ]
        if len(d)
        else [1, 10]
    )
    ax.plot(lim, lim, color="black", lw=1, label="no change")
    ax.set(xscale="log", yscale="log")
    money_axis(ax, currency, axis="x", label="mean check before the card")
    money_axis(ax, currency, label="mean check after the card")
    legend_outside(ax)
    return ax


def plot_tier_shares(
    data: pd.DataFrame,
    *,
    by: str = "status",
    currency: str = "",
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Share of each group's receipts in each discount tier, bars side by side with 95 % intervals.

    Parameters
    ----------
    data : pandas.DataFrame
        Output of :func:`loyalty_lib.metrics.basket.tier_shares` (``tier, estimate, ci_low,
        ci_high`` and the ``by`` column).
    by : str
        Group column (``status``: members, members before their card, non-members).
    currency : str
        Currency of the tier bounds, for the axis label (empty when unknown: no unit).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: current axes).
    **kwargs
        Passed to ``Axes.bar``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> d = pd.DataFrame({"status": ["member", "member", "non_member", "non_member"],
    ...                   "tier": ["< 1,500", ">= 1,500"] * 2, "estimate": [0.4, 0.6, 0.7, 0.3],
    ...                   "ci_low": [0.35, 0.55, 0.65, 0.25], "ci_high": [0.45, 0.65, 0.75, 0.35]})
    >>> fig, ax = plt.subplots()
    >>> [t.get_text() for t in plot_tier_shares(d, ax=ax).get_legend().get_texts()]
    ['Member', 'Non-member']
    >>> plt.close(fig)
    """
    _need(data, [by, "tier", "estimate", "ci_low", "ci_high"], "plot_tier_shares")
    ax = ax or plt.gca()
    tiers = list(dict.fromkeys(data["tier"].astype(str)))
    groups = list(dict.fromkeys(data[by]))
    rows = data.assign(tier=data["tier"].astype(str))
    x = bars_with_ci(ax, {g: rows[rows[by] == g].set_index("tier").reindex(tiers) for g in groups}, **kwargs)
    ax.set(xticks=x, xticklabels=tiers, xlabel=money_label("tier (gross check", currency) + ")")
    share_axis(ax, label="share of the group's receipts (95 % CI)")
    legend_outside(ax)
    return ax


def plot_discount_cost(
    data: pd.DataFrame,
    *,
    by: str = "tier",
    currency: str = "",
    ax: Axes | None = None,
    color: str = "C1",
    **kwargs,
) -> Axes:
    """Discount cost by tier (bars), each labelled with its share of all revenue.

    Parameters
    ----------
    data : pandas.DataFrame
        Output of :func:`loyalty_lib.metrics.basket.discount_cost` (the ``total`` row is
        skipped).
    by : str
        Grouping column.
    currency : str
        Currency of the amounts, for the labels (empty when unknown: no unit).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    color : str
        Bar colour.
    **kwargs
        Passed to ``Axes.bar``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _need(data, [by, "discount_cost", "share_of_revenue"], "plot_discount_cost")
    ax = ax or plt.gca()
    d = data[data[by].astype(str) != "total"]
    x = np.arange(len(d))
    bars = ax.bar(x, d["discount_cost"], color=color, **kwargs)
    ax.bar_label(bars, labels=[f"{100 * s:.2f} % of revenue" for s in d["share_of_revenue"]], fontsize="small")
    xlabel = money_label(f"{label_text(by).lower()} (gross check", currency) + ")"
    ax.set(xticks=x, xticklabels=d[by].astype(str), xlabel=xlabel)
    money_axis(ax, currency, label="discount cost")
    return ax
