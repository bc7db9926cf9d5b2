"""Plots of the impact stage (06): parallel trends, event study, balance, propensity overlap."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from loyalty_lib.plotting.theme import baseline, label_text, legend_outside, money_axis, reference_line
from loyalty_lib.stats import check_columns as _need

__all__ = ["plot_balance", "plot_branch_gap", "plot_event_study", "plot_parallel_trends", "plot_propensity_overlap"]


def plot_parallel_trends(
    data: pd.DataFrame,
    *,
    launch=None,
    weighted: pd.DataFrame | None = None,
    ax: Axes | None = None,
    ylabel: str = "net revenue per customer-month",
    **kwargs,
) -> Axes:
    """Monthly mean outcome of members and non-members around the launch.

    Parameters
    ----------
    data : pandas.DataFrame
        :func:`loyalty_lib.metrics.impact.event_study` output (``month, mean_members,
        mean_non_members``).
    launch : date-like, optional
        Draws a vertical line at the launch.
    weighted : pandas.DataFrame, optional
        The same computed with propensity weights: adds the weighted non-members' line.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    ylabel : str
        Y-axis label.
    **kwargs
        Passed to ``Axes.plot``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _need(data, ["month", "mean_members", "mean_non_members"], "plot_parallel_trends")
    ax = ax or plt.gca()
    ax.plot(data["month"], data["mean_members"], marker="o", color="C1", label="members", **kwargs)
    ax.plot(
        data["month"],
        data["mean_non_members"],
        marker="o",
        color="C0",
        label="non-members",
        **kwargs,
    )
    if weighted is not None:
        ax.plot(
            weighted["month"],
            weighted["mean_non_members"],
            ls="--",
            color="C2",
            label="non-members, weighted like members",
            **kwargs,
        )
    if launch is not None:
        reference_line(ax, pd.Timestamp(launch), "launch", axis="x")
    ax.set(xlabel="month", ylabel=ylabel)
    money_axis(ax, "")  # thousands separators; the unit is in the label the caller gives
    legend_outside(ax, where="below")
    return ax


def plot_event_study(
    data: pd.DataFrame,
    *,
    truth=None,
    ax: Axes | None = None,
    ylabel: str = "members minus non-members, change since the month before launch",
    xlabel: str = "months since launch",
    event: str = "launch",
    **kwargs,
) -> Axes:
    """Month-by-month gap relative to the reference month, with 95 % intervals.

    Parameters
    ----------
    data : pandas.DataFrame
        :func:`loyalty_lib.metrics.impact.event_study` output (``relative_month, estimate,
        ci_low, ci_high``).
    truth : float or array-like, optional
        Planted effect after launch (a horizontal line, or one value per month).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    ylabel, xlabel : str
        Axis labels (``join_event_profile`` output: ``xlabel="months since the card"``).
    event : str
        Name of the event drawn between months -1 and 0.
    **kwargs
        Passed to ``Axes.plot``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _need(data, ["relative_month", "estimate", "ci_low", "ci_high"], "plot_event_study")
    ax = ax or plt.gca()
    x = data["relative_month"].to_numpy()
    ax.fill_between(x, data["ci_low"], data["ci_high"], color="C0", alpha=0.2, label="95 % CI")
    ax.plot(x, data["estimate"], marker="o", color="C0", label="estimate", **kwargs)
    baseline(ax)
    reference_line(ax, -0.5, event, axis="x")
    if truth is not None:
        t = np.broadcast_to(np.asarray(truth, dtype=float), x.shape)
        post = x >= 0
        ax.plot(x[post], t[post], color="black", ls="--", label="planted truth")
    ax.set(xlabel=xlabel, ylabel=ylabel)
    money_axis(ax, "")
    legend_outside(ax, where="below")
    return ax


def plot_balance(data: pd.DataFrame, *, threshold: float = 0.1, ax: Axes | None = None, **kwargs) -> Axes:
    """Love plot: standardised mean difference of each feature before and after weighting.

    Parameters
    ----------
    data : pandas.DataFrame
        :func:`loyalty_lib.metrics.impact.balance_table` output (``smd_before, smd_after``).
    threshold : float
        Draws the +-threshold band (0.1 = the usual "balanced" rule of thumb).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    **kwargs
        Passed to ``Axes.scatter``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _need(data, ["smd_before", "smd_after"], "plot_balance")
    ax = ax or plt.gca()
    y = np.arange(len(data))[::-1]
    ax.scatter(data["smd_before"], y, color="C3", label="before weighting", **kwargs)
    ax.scatter(data["smd_after"], y, color="C2", marker="D", label="after weighting", **kwargs)
    ax.axvspan(-threshold, threshold, color="grey", alpha=0.15, label=f"balanced (|SMD| < {threshold:g})")
    baseline(ax, axis="x")
    ax.set(
        yticks=y,
        yticklabels=[label_text(v) for v in data.index.astype(str)],
        xlabel="standardised mean difference (members - non-members)",
    )
    legend_outside(ax)
    return ax


def plot_propensity_overlap(data: pd.DataFrame, *, bins: int = 30, ax: Axes | None = None, **kwargs) -> Axes:
    """Histograms of the propensity score among members and non-members (overlap check).

    Parameters
    ----------
    data : pandas.DataFrame
        :func:`loyalty_lib.metrics.impact.propensity_weights` output (``treated, propensity``).
    bins : int
        Histogram bins.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    **kwargs
        Passed to ``Axes.hist``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _need(data, ["treated", "propensity"], "plot_propensity_overlap")
    ax = ax or plt.gca()
    edges = np.linspace(0, 1, bins + 1)
    t = data["treated"].to_numpy(dtype=bool)
    for rows, color, label in ((~t, "C0", "non-members"), (t, "C1", "members")):
        ax.hist(data.loc[rows, "propensity"], bins=edges, density=True, alpha=0.5, color=color, label=label, **kwargs)
    ax.set(xlabel="propensity score (modelled chance of joining)", ylabel="density")
    legend_outside(ax)
    return ax


def plot_branch_gap(
    data: pd.DataFrame,
    *,
    ax: Axes | None = None,
    ylabel: str = "net revenue per branch-month",
    **kwargs,
) -> Axes:
    """The launching branch's monthly figure against what the other branches imply without the program.

    Parameters
    ----------
    data : pandas.DataFrame
        :func:`loyalty_lib.metrics.branches.branch_gap` output (``month, post, treated, expected``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.
    ylabel : str
        Y-axis label.
    **kwargs
        Passed to ``Axes.plot``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _need(data, ["month", "post", "treated", "expected"], "plot_branch_gap")
    ax = ax or plt.gca()
    ax.plot(data["month"], data["treated"], marker="o", color="C1", label="launching branch", **kwargs)
    ax.plot(
        data["month"],
        data["expected"],
        marker="o",
        color="C0",
        ls="--",
        label="other branches, scaled to it before the launch",
        **kwargs,
    )
    first_post = data.loc[data["post"].astype(bool), "month"].min()
    reference_line(ax, pd.Timestamp(first_post), "launch month", axis="x")
    ax.set(xlabel="month", ylabel=ylabel)
    money_axis(ax, "")
    legend_outside(ax, where="below")
    return ax
