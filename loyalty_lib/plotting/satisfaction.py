"""Plots for stage 05 (after use): NPS composition and return rate by NPS answer."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from loyalty_lib.plotting.common import errorbar_ci
from loyalty_lib.plotting.theme import BAD, GOOD, label_text, legend_outside, share_axis
from loyalty_lib.stats import check_columns as _need

__all__ = ["plot_nps_composition", "plot_return_by_score"]


def plot_nps_composition(
    data: pd.DataFrame,
    *,
    label: str,
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Stacked bars of detractors / passives / promoters per group, NPS (95 % CI) written beside.

    Parameters
    ----------
    data : pandas.DataFrame
        Output of :func:`loyalty_lib.metrics.satisfaction.nps` grouped by one column.
    label : str
        The grouping column naming each bar.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    **kwargs
        Passed to ``Axes.barh``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _need(data, [label, "estimate", "ci_low", "ci_high", "promoters", "passives", "detractors"], "plot_nps_composition")
    ax = ax or plt.gca()
    y = np.arange(len(data))[::-1]
    left = np.zeros(len(data))
    for col, colour in (("detractors", BAD), ("passives", "0.75"), ("promoters", GOOD)):
        v = data[col].to_numpy(float)
        ax.barh(y, v, left=left, color=colour, label=col, **kwargs)
        left += v
    for yi, r in zip(y, data.itertuples(index=False), strict=True):
        ax.text(
            1.01,
            yi,
            f"NPS {r.estimate:+.0f} [{r.ci_low:+.0f}, {r.ci_high:+.0f}]",
            va="center",
            fontsize="small",
            transform=ax.get_yaxis_transform(),
        )
    ax.set(yticks=y, yticklabels=[label_text(v) for v in data[label].astype(str)], xlim=(0, 1))
    share_axis(ax, axis="x", label="share of answers")
    ax.grid(axis="y", visible=False)
    legend_outside(ax, where="below")
    return ax


def plot_return_by_score(
    data: pd.DataFrame,
    *,
    curve: pd.DataFrame | None = None,
    ax: Axes | None = None,
    color: str = "C0",
    **kwargs,
) -> Axes:
    """Observed return rate per NPS answer (95 % CI) with the fitted logistic curve.

    Parameters
    ----------
    data : pandas.DataFrame
        Output of :func:`loyalty_lib.metrics.satisfaction.return_rate_by_score`.
    curve : pandas.DataFrame, optional
        Output of :func:`loyalty_lib.metrics.satisfaction.fitted_return_curve`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    color : str
        Colour of the observed rates.
    **kwargs
        Passed to ``Axes.errorbar``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _need(data, ["score", "estimate", "ci_low", "ci_high", "n"], "plot_return_by_score")
    ax = ax or plt.gca()
    d = data[data["n"] > 0]
    errorbar_ci(ax, d, d["score"], color=color, label="observed share returning (95 % CI)", **kwargs)
    if curve is not None:
        _need(curve, ["score", "estimate", "ci_low", "ci_high"], "plot_return_by_score(curve)")
        ax.plot(curve["score"], curve["estimate"], color="black", lw=1.5, label="logistic fit")
        ax.fill_between(curve["score"], curve["ci_low"], curve["ci_high"], color="black", alpha=0.12, lw=0)
    ax.set(xlabel="NPS answer (0-10)", xticks=range(11))
    share_axis(ax, label="share who bought again")
    legend_outside(ax)
    return ax
