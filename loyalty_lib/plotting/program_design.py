"""Plots of the program-design stage (11): ROI of each variant, money in and out, the tornado."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from loyalty_lib.plotting.theme import BAD, GOOD, NEUTRAL, PALETTE, legend_outside, money_axis, reference_line
from loyalty_lib.stats import check_columns

__all__ = ["plot_money_in_out", "plot_response_tornado", "plot_variant_roi"]


def plot_variant_roi(data: pd.DataFrame, *, highlight: str | None = None, ax: Axes | None = None, **kwargs) -> Axes:
    """ROI of each variant: mean over the simulated worlds, with the 2.5-97.5 % spread.

    Parameters
    ----------
    data : pandas.DataFrame
        :func:`loyalty_lib.simulate.compare.comparison` output (``roi_pct, roi_pct_low,
        roi_pct_high``, indexed by variant); rows without ROI (no cost) are left out.
    highlight : str, optional
        The recommended variant, drawn in the colour that means good.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    **kwargs
        Passed to ``Axes.barh``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_columns(data, ["roi_pct", "roi_pct_low", "roi_pct_high"], "plot_variant_roi", quote=False)
    ax = ax or plt.gca()
    d = data[data["roi_pct"].notna()]
    y = np.arange(len(d))[::-1]
    colors = [GOOD if v == highlight else PALETTE[0] for v in d.index]
    ax.barh(y, d["roi_pct"], color=colors, height=0.6, **kwargs)
    err = np.abs(np.vstack([d["roi_pct"] - d["roi_pct_low"], d["roi_pct_high"] - d["roi_pct"]]))
    ax.errorbar(d["roi_pct"], y, xerr=err, fmt="none", ecolor=NEUTRAL, capsize=4, label="spread over worlds (95 %)")
    reference_line(ax, 0.0, "break-even", axis="x")
    ax.set(yticks=y, yticklabels=list(d.index), xlabel="ROI, % of the program's cost")
    ax.grid(axis="x")
    legend_outside(ax, where="below")
    return ax


def plot_money_in_out(
    data: pd.DataFrame, *, currency: str = "", margin: float = 0.3, ax: Axes | None = None, **kwargs
) -> Axes:
    """What each variant brings (margin on incremental revenue) beside what it costs, with spreads.

    Parameters
    ----------
    data : pandas.DataFrame
        :func:`loyalty_lib.simulate.compare.comparison` output with ``incremental_gross`` and
        ``cost_total`` (and their ``_low``/``_high``); rows without cost are left out.
    currency : str
        Currency for the axis label.
    margin : float
        Gross-margin share that turns incremental revenue into margin.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    **kwargs
        Passed to ``Axes.bar``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    need = ["incremental_gross", "incremental_gross_low", "incremental_gross_high", "cost_total"]
    check_columns(data, need + ["cost_total_low", "cost_total_high"], "plot_money_in_out", quote=False)
    ax = ax or plt.gca()
    d = data[data["cost_total"] > 0]
    x = np.arange(len(d))
    w = 0.38
    gain = margin * d["incremental_gross"]
    gerr = margin * np.abs(
        np.vstack(
            [d["incremental_gross"] - d["incremental_gross_low"], d["incremental_gross_high"] - d["incremental_gross"]]
        )
    )
    cerr = np.abs(np.vstack([d["cost_total"] - d["cost_total_low"], d["cost_total_high"] - d["cost_total"]]))
    ax.bar(x - w / 2, gain, w, color=GOOD, label="margin on the extra revenue", **kwargs)
    ax.bar(x + w / 2, d["cost_total"], w, color=BAD, label="program cost", **kwargs)
    ax.errorbar(x - w / 2, gain, yerr=gerr, fmt="none", ecolor=NEUTRAL, capsize=3)
    ax.errorbar(x + w / 2, d["cost_total"], yerr=cerr, fmt="none", ecolor=NEUTRAL, capsize=3)
    ax.set(xticks=x)
    ax.set_xticklabels(list(d.index), rotation=20, ha="right")
    money_axis(ax, currency, label="money over the horizon")
    legend_outside(ax, where="right")
    return ax


def plot_response_tornado(data: pd.DataFrame, *, ax: Axes | None = None, **kwargs) -> Axes:
    """Tornado chart: how far a variant's ROI moves when one uncertain response moves across its range.

    Parameters
    ----------
    data : pandas.DataFrame
        :func:`loyalty_lib.simulate.compare.tornado` output (``label, low, high, roi_low,
        roi_high, base_roi``), widest swing first.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    **kwargs
        Passed to ``Axes.barh``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_columns(
        data, ["label", "low", "high", "roi_low", "roi_high", "base_roi"], "plot_response_tornado", quote=False
    )
    ax = ax or plt.gca()
    if data.empty:
        ax.set(xlabel="ROI, %")
        return ax
    base = float(data["base_roi"].iloc[0])
    y = np.arange(len(data))[::-1]
    ax.barh(y, data["roi_low"] - base, left=base, color=PALETTE[1], label="response at its low value", **kwargs)
    ax.barh(y, data["roi_high"] - base, left=base, color=PALETTE[0], label="response at its high value", **kwargs)
    labels = [f"{r.label} ({r.low:.3g} to {r.high:.3g})" for r in data.itertuples()]
    reference_line(ax, base, "central value", axis="x", text=False)
    reference_line(ax, 0.0, "break-even", axis="x", color=BAD, text=False)
    ax.set(yticks=y, yticklabels=labels, xlabel="ROI, %")
    ax.grid(axis="x")
    legend_outside(ax, where="below")
    return ax
