"""Plots of stage 03, activity: return curve, cohort retention heatmap, goal gradient."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from loyalty_lib.plotting.common import errorbar_ci
from loyalty_lib.plotting.theme import baseline, legend_outside, share_axis


def plot_return_curve(
    data: pd.DataFrame,
    *,
    benchmarks: pd.DataFrame | None = None,
    truth: dict | pd.Series | None = None,
    ax: Axes | None = None,
    color: str = "C0",
    **kwargs,
) -> Axes:
    """Return curve P(visit k+1 | visit k) with 95 % CIs, benchmarks and planted truth.

    Parameters
    ----------
    data : pandas.DataFrame
        Output of :func:`loyalty_lib.metrics.activity.return_curve` (indexed by ``k``).
    benchmarks : pandas.DataFrame, optional
        ``source, k, p_return`` (e.g. :data:`loyalty_lib.metrics.activity.BENCHMARKS`).
    truth : mapping or Series, optional
        Planted probability by k.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    color : str
        Colour of the estimates.
    **kwargs
        Passed to ``Axes.errorbar``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax or plt.gca()
    k = data.index.to_numpy()
    errorbar_ci(ax, data, k, fmt="o-", color=color, **kwargs)
    if truth is not None and len(truth):
        t = pd.Series(truth, dtype=float)
        t.index = t.index.astype(int)
        t = t[t.index.isin(k)]
        ax.scatter(t.index, t.to_numpy(), marker="D", color="black", zorder=3, label="planted truth")
    if benchmarks is not None:
        for (src, b), marker in zip(benchmarks.groupby("source"), "sv^P", strict=False):
            ax.plot(b["k"], b["p_return"], marker=marker, ls=":", color="grey", alpha=0.8, label=src)
    ax.set(xlabel="visit number k", ylim=(0, 1), xticks=k)
    share_axis(ax, label="clients coming back within the horizon")
    legend_outside(ax)
    return ax


def plot_cohort_heatmap(
    data: pd.DataFrame,
    *,
    ax: Axes | None = None,
    cmap: str = "viridis",
    annotate: bool = True,
    vmax: float | None = None,
) -> Axes:
    """Cohort retention heatmap: rows are cohorts, columns months since joining.

    Parameters
    ----------
    data : pandas.DataFrame
        Output of :func:`loyalty_lib.metrics.activity.cohort_retention`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    cmap : str
        Colour map.
    annotate : bool
        Write the percentage in each cell.
    vmax : float, optional
        Top of the colour scale; default the largest share after month 0 (month 0 of a
        first-purchase cohort is 100 % by definition and would wash out the rest).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax or plt.gca()
    grid = data.pivot(index="cohort", columns="month", values="estimate")
    sizes = data.groupby("cohort")["n"].first().reindex(grid.index)
    later = data.loc[data["month"] > 0, "estimate"]
    top = vmax if vmax is not None else (float(later.max()) if later.notna().any() else 1.0)
    im = ax.imshow(grid.to_numpy(dtype=float), aspect="auto", cmap=cmap, vmin=0, vmax=top)
    if annotate:
        for (i, j), v in np.ndenumerate(grid.to_numpy(dtype=float)):
            if not np.isnan(v):
                ax.text(
                    j,
                    i,
                    f"{100 * v:.0f}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if v < 0.5 * top else "black",
                )
    # the bar in the cells' own unit (percent), the top of the scale marked as such when it clips month 0
    bar = ax.figure.colorbar(im, ax=ax, label="% of the cohort buying in the month")
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p=None: f"{100 * v:.0f}"))
    ax.set(
        xticks=range(grid.shape[1]),
        xticklabels=grid.columns,
        yticks=range(grid.shape[0]),
        yticklabels=[f"{pd.Timestamp(c):%Y-%m} (n={n:,})" for c, n in zip(grid.index, sizes, strict=True)],
        xlabel="months since joining",
        ylabel="cohort",
    )
    return ax


def plot_goal_gradient(
    data: pd.DataFrame,
    *,
    fit: pd.DataFrame | None = None,
    truth: float | None = None,
    ax: Axes | None = None,
    color: str = "C0",
) -> Axes:
    """Members' pause to the next visit by stamps held, relative to their usual, with the fitted slope.

    Parameters
    ----------
    data : pandas.DataFrame
        Output of :func:`loyalty_lib.metrics.activity.goal_gradient_profile`.
    fit : pandas.DataFrame, optional
        Output of :func:`loyalty_lib.metrics.activity.goal_gradient_fit` (row ``within``).
    truth : float, optional
        Planted slope, drawn as a dashed line.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    color : str
        Colour of the estimates.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax or plt.gca()
    x = data.index.to_numpy(dtype=float)
    errorbar_ci(ax, data, x, color=color, label="log pause against the member's usual, 95 % CI")
    xm = np.average(x, weights=data["n"]) if len(x) else 0.0
    if fit is not None:
        b = float(fit.loc["within", "estimate"])
        ax.plot(x, b * (x - xm), color=color, label=f"fitted slope {b:+.3f} per stamp")
    if truth is not None:
        ax.plot(x, truth * (x - xm), color="black", ls="--", label=f"planted slope {truth:+.3f}")
    baseline(ax)
    ax.set(xlabel="stamps held before the visit", ylabel="log pause − member's usual")
    legend_outside(ax, where="below")
    return ax
