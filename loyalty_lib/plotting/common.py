"""Plot pieces shared by every stage: estimates with intervals beside planted truth."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from loyalty_lib.plotting.theme import label_text, legend_outside, share_axis


def money_label(text: str, currency: str = "", *, suffix: str = "") -> str:
    """An axis label for an amount: ``"net revenue, USD"``, or no unit when the currency is unknown.

    Examples
    --------
    >>> money_label("gross check", "EUR", suffix="(log scale)"), money_label("gross check", suffix="(log scale)")
    ('gross check, EUR (log scale)', 'gross check (log scale)')
    """
    unit = f", {currency}" if currency else ""
    return f"{text}{unit}" + (f" {suffix}" if suffix else "")


def ci_errors(data: pd.DataFrame, estimate: str = "estimate") -> np.ndarray:
    """Error-bar lengths below and above each estimate, from its ``ci_low, ci_high``.

    Parameters
    ----------
    data : pandas.DataFrame
        Frame with ``estimate`` (or the column named by ``estimate``), ``ci_low, ci_high``.
    estimate : str
        Column of the point estimates.

    Returns
    -------
    numpy.ndarray
        Shape (2, n), non-negative: ``estimate - ci_low`` and ``ci_high - estimate``, ready
        for ``xerr=`` / ``yerr=`` of ``Axes.errorbar``.
    """
    return np.abs(np.vstack([data[estimate] - data["ci_low"], data["ci_high"] - data[estimate]]))


def errorbar_ci(
    ax: Axes,
    data: pd.DataFrame,
    at,
    *,
    horizontal: bool = False,
    estimate: str = "estimate",
    fmt: str = "o",
    color: str = "C0",
    label: str | None = "estimate, 95 % CI",
    **kwargs,
):
    """Draw each estimate of ``data`` with its 95 % interval as an error bar at positions ``at``.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes to draw on.
    data : pandas.DataFrame
        Frame with ``estimate`` (or the column named by ``estimate``), ``ci_low, ci_high``.
    at : array-like
        Position of each row on the other axis.
    horizontal : bool
        Estimates along x (a forest plot) instead of along y.
    estimate : str
        Column of the point estimates.
    fmt, color, label
        Passed to ``Axes.errorbar`` (caps of size 3 are always drawn).
    **kwargs
        Passed to ``Axes.errorbar``.

    Returns
    -------
    matplotlib.container.ErrorbarContainer
    """
    err = ci_errors(data, estimate)
    if horizontal:
        return ax.errorbar(data[estimate], at, xerr=err, fmt=fmt, color=color, capsize=3, label=label, **kwargs)
    return ax.errorbar(at, data[estimate], yerr=err, fmt=fmt, color=color, capsize=3, label=label, **kwargs)


def bars_with_ci(ax: Axes, groups: dict, **kwargs) -> np.ndarray:
    """Groups of bars side by side, one colour per group, each bar with its 95 % interval.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes to draw on.
    groups : dict of str to pandas.DataFrame
        Legend entry (written in people's words) to a frame of ``estimate, ci_low, ci_high``,
        one row per position on the x axis; every frame has the same rows in the same order.
    **kwargs
        Passed to ``Axes.bar``.

    Returns
    -------
    numpy.ndarray
        The centres of the positions, for the tick labels.
    """
    n = max((len(d) for d in groups.values()), default=0)
    x = np.arange(n)
    width = 0.8 / max(len(groups), 1)
    for i, (name, d) in enumerate(groups.items()):
        at = x + (i - (len(groups) - 1) / 2) * width
        ax.bar(at, d["estimate"], width=width, color=f"C{i}", label=label_text(name), **kwargs)
        errorbar_ci(ax, d, at, fmt="none", color="black", label=None, lw=0.8)
    return x


def plot_estimates(
    data: pd.DataFrame,
    *,
    label: str | None = None,
    truth: str | None = "truth",
    ax: Axes | None = None,
    xlabel: str = "estimate (95 % CI)",
    title: str | None = None,
    color: str = "C0",
    share: bool | None = None,
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
    share : bool, optional
        Write the axis in percent; by default when the label speaks of a share or a rate and
        every estimate and interval end lies between 0 and 1.
    **kwargs
        Passed to ``Axes.errorbar``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> d = pd.DataFrame({"estimate": [0.3, 0.5], "ci_low": [0.25, 0.45], "ci_high": [0.35, 0.55]}, index=["a", "b"])
    >>> fig, ax = plt.subplots()
    >>> plot_estimates(d, ax=ax, xlabel="step rate (95 % CI)").xaxis.get_major_formatter()(0.3, 0)
    '30 %'
    >>> plt.close(fig)
    """
    ax = ax or plt.gca()
    if share is None:
        ends = data[["estimate", "ci_low", "ci_high"]].to_numpy(dtype=float)
        ends = ends[np.isfinite(ends)]
        words = ("share", "rate", "proportion")
        share = any(w in xlabel.lower() for w in words) and bool(len(ends)) and bool(((ends >= 0) & (ends <= 1)).all())
    names = data[label].astype(str) if label else data.index.astype(str)
    y = np.arange(len(data))[::-1]
    errorbar_ci(ax, data, y, horizontal=True, color=color, **kwargs)
    if truth and truth in data and data[truth].notna().any():
        ax.scatter(data[truth], y, marker="D", color="black", zorder=3, label="planted truth")
    ax.set(yticks=y, yticklabels=[label_text(n) for n in names], xlabel=xlabel)
    if share:
        share_axis(ax, axis="x", label=xlabel)
    ax.grid(axis="x", color="#e3e6ea", linewidth=0.8)
    ax.grid(axis="y", visible=False)
    if title:
        ax.set_title(title)
    legend_outside(ax, where="below")  # never over the estimates
    return ax
