"""Plot pieces shared by every stage: estimates with intervals beside planted truth."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes


def plot_estimates(
    data: pd.DataFrame,
    *,
    label: str | None = None,
    truth: str | None = "truth",
    ax: Axes | None = None,
    xlabel: str = "estimate (95 % CI)",
    title: str | None = None,
    color: str = "C0",
    **kwargs,
) -> Axes:
    """Forest plot: one row per estimate, its 95 % interval, and the planted truth if known.

    Parameters
    ----------
    data : pandas.DataFrame
        Estimate frame with ``estimate, ci_low, ci_high`` (and optionally a truth column).
    label : str, optional
        Column naming each row; the index is used when ``None``.
    truth : str or None
        Column holding the planted truth; rows without it show no truth marker.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: current axes).
    xlabel, title : str
        Axis label and title.
    color : str
        Colour of the estimates.
    **kwargs
        Passed to ``Axes.errorbar``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax or plt.gca()
    names = data[label].astype(str) if label else data.index.astype(str)
    y = np.arange(len(data))[::-1]
    err = np.vstack([data["estimate"] - data["ci_low"], data["ci_high"] - data["estimate"]])
    ax.errorbar(
        data["estimate"], y, xerr=np.abs(err), fmt="o", color=color, capsize=3, label="estimate, 95 % CI", **kwargs
    )
    if truth and truth in data and data[truth].notna().any():
        ax.scatter(data[truth], y, marker="D", color="black", zorder=3, label="planted truth")
    ax.set(yticks=y, yticklabels=names, xlabel=xlabel)
    if title:
        ax.set_title(title)
    ax.legend(loc="best", frameon=False)
    return ax
