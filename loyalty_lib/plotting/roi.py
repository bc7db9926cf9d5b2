"""Plots of the ROI stage (07): cost ledger, ROI tornado, ROI against the uplift."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from loyalty_lib.plotting.theme import label_text, legend_outside, money_axis, reference_line
from loyalty_lib.stats import check_columns

__all__ = ["plot_cost_ledger", "plot_roi_curve", "plot_tornado"]


def plot_cost_ledger(data: pd.DataFrame, *, currency: str = "", ax: Axes | None = None, **kwargs) -> Axes:
    """Stacked monthly program costs by category.

    Parameters
    ----------
    data : pandas.DataFrame
        :func:`loyalty_lib.metrics.roi.cost_ledger` output (months x categories, plus ``total``).
    currency : str
        Currency of the amounts, for the axis label (empty: none named).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    **kwargs
        Passed to ``Axes.bar``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if not isinstance(data, pd.DataFrame) or len(data.columns) == 0:
        raise ValueError("plot_cost_ledger: expected the cost_ledger frame")
    ax = ax or plt.gca()
    cats = [c for c in data.columns if c != "total" and data[c].sum() > 0]
    x = np.arange(len(data))
    bottom = np.zeros(len(data))
    for i, c in enumerate(cats):
        ax.bar(x, data[c], bottom=bottom, color=f"C{i}", label=label_text(c), **kwargs)
        bottom += data[c].to_numpy()
    # horizontal month labels: every third month when there are many
    step = max(1, int(np.ceil(len(x) / 12)))
    ax.set(
        xticks=x[::step],
        xticklabels=[pd.Timestamp(m).strftime("%b %Y") for m in data.index[::step]],
        xlabel="month",
    )
    money_axis(ax, currency, label="program cost")
    legend_outside(ax)
    return ax


def plot_tornado(data: pd.DataFrame, *, ax: Axes | None = None, **kwargs) -> Axes:
    """Tornado plot: how far ROI moves when one input moves across its range.

    Parameters
    ----------
    data : pandas.DataFrame
        :func:`loyalty_lib.metrics.roi.roi_sensitivity` output.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    **kwargs
        Passed to ``Axes.barh``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    need = ["parameter", "low", "high", "roi_low", "roi_high", "base_roi"]
    check_columns(data, need, "plot_tornado", quote=False)
    ax = ax or plt.gca()
    base = float(data["base_roi"].iloc[0])
    y = np.arange(len(data))[::-1]
    ax.barh(y, data["roi_low"] - base, left=base, color="C3", label="input at its low value", **kwargs)
    ax.barh(y, data["roi_high"] - base, left=base, color="C2", label="input at its high value", **kwargs)
    labels = [f"{label_text(r.parameter)} ({r.low:g} to {r.high:g})" for r in data.itertuples()]
    reference_line(ax, base, f"estimated ROI {base:.0f} %", axis="x", color="black", text=False)
    reference_line(ax, 0, "break-even (ROI 0 %)", axis="x", text=False)
    ax.set(yticks=y, yticklabels=labels, xlabel="ROI, %")
    legend_outside(ax, where="below")
    return ax


def plot_roi_curve(
    data: pd.DataFrame,
    *,
    estimate=None,
    truth: float | None = None,
    unit: str = "member-month",
    currency: str = "",
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """ROI against the incremental revenue per member-month, with the break-even point.

    Parameters
    ----------
    data : pandas.DataFrame
        Columns ``per_member_month`` and ``roi_pct`` (a grid of effects and their ROI).
    estimate : pandas.Series, optional
        The estimated effect with ``estimate, ci_low, ci_high`` per member-month (a shaded band).
    truth : float, optional
        Planted effect per member-month.
    unit : str
        What the effect is per (``member-month``; ``branch-month`` for the branch design).
    currency : str
        Currency of the amounts, for the axis label.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    **kwargs
        Passed to ``Axes.plot``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_columns(data, ("per_member_month", "roi_pct"), "plot_roi_curve", quote=False)
    ax = ax or plt.gca()
    ax.plot(data["per_member_month"], data["roi_pct"], color="C0", label="ROI", **kwargs)
    reference_line(ax, 0, "break-even (ROI 0 %)")
    if estimate is not None:
        ax.axvspan(
            estimate["ci_low"],
            estimate["ci_high"],
            color="C1",
            alpha=0.2,
            label="estimated effect, 95 % CI",
        )
        reference_line(ax, estimate["estimate"], "estimated effect", axis="x", color="C1", text=False)
    if truth is not None and np.isfinite(truth):
        reference_line(ax, truth, "planted truth", axis="x", color="black", text=False)
    ax.set(ylabel="ROI, %")
    money_axis(ax, currency, axis="x", label=f"incremental gross revenue per {unit}")
    legend_outside(ax)
    return ax
