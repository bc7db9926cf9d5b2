"""Plots for the CLV stage: calibration/holdout check of the BG/NBD and CLV distributions."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from loyalty_lib.clv import calibration_holdout_table
from loyalty_lib.plotting.common import errorbar_ci, money_label
from loyalty_lib.plotting.theme import (
    group_thousands,
    label_text,
    legend_outside,
    money_axis,
    reference_line,
    share_axis,
)
from loyalty_lib.stats import check_columns


def plot_calibration_holdout(
    data: pd.DataFrame,
    *,
    params=None,
    max_frequency: int = 7,
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Mean holdout purchases by calibration frequency, actual (95 % CI) against the model.

    Parameters
    ----------
    data : pandas.DataFrame
        Either the table of :func:`loyalty_lib.clv.calibration_holdout_table` (columns
        ``frequency, actual, ci_low, ci_high, model``) or the output of
        :func:`loyalty_lib.clv.calibration_and_holdout` together with ``params``.
    params : ClvFit or dict, optional
        BG/NBD parameters, needed when ``data`` is the calibration/holdout frame.
    max_frequency : int
        Pool calibration frequencies above this (when the table is built here).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: current axes).
    **kwargs
        Passed to the ``Axes.plot`` call of the model line.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax or plt.gca()
    if not {"actual", "model"} <= set(data.columns):
        if params is None:
            raise ValueError(
                "plot_calibration_holdout: pass the calibration_holdout_table, or the "
                "calibration_and_holdout frame together with params="
            )
        data = calibration_holdout_table(params, data, max_frequency=max_frequency)
    x = data["frequency"].to_numpy()
    errorbar_ci(ax, data, x, estimate="actual", label="actual (95 % CI)")
    ax.plot(
        x,
        data["model"],
        marker="s",
        ls="--",
        color=kwargs.pop("color", "C1"),
        label="BG/NBD model",
        **kwargs,
    )
    labels = [str(v) for v in x]
    if len(labels) and x[-1] == max_frequency:
        labels[-1] = f"{labels[-1]}+"
    ax.set(
        xticks=x,
        xticklabels=labels,
        xlabel="repeat purchases in calibration period",
        ylabel="mean purchases in holdout period",
    )
    legend_outside(ax)
    return ax


def plot_clv_distribution(
    data: pd.DataFrame,
    *,
    by: str | None = None,
    value_col: str = "clv",
    log_scale: bool = True,
    bins: int = 40,
    currency: str = "",
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Distribution of customer lifetime value, optionally one histogram per group.

    CLV is very skewed, so by default the x axis is logarithmic with log-spaced bins. Each
    group's bars show the share of that group's customers in the bin (groups of different size
    compare); values beyond the 0.5 % / 99.5 % quantiles of all customers are counted in the
    end bins. Dashed lines mark group means (over all values).

    Parameters
    ----------
    data : pandas.DataFrame
        Output of :func:`loyalty_lib.clv.clv`, with the grouping column when ``by`` is given.
    by : str, optional
        Grouping column (e.g. ``member``).
    value_col : str
        Column to plot.
    log_scale : bool
        Logarithmic x axis (non-positive values are counted in the first bin).
    bins : int
        Number of histogram bins.
    currency : str
        Currency of the values, for the axis label (empty when unknown: no unit).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: current axes).
    **kwargs
        Passed to ``Axes.hist``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax or plt.gca()
    check_columns(data, [value_col] + ([by] if by else []), "plot_clv_distribution")
    values = data[value_col].to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    if log_scale and (values > 0).any():
        pos = values[values > 0]
        lo, hi = np.quantile(pos, [0.005, 0.995])
        edges = np.geomspace(lo, max(hi, lo * 1.01), bins + 1)
    else:
        log_scale = False
        lo, hi = np.quantile(values, [0.005, 0.995]) if len(values) else (0.0, 1.0)
        edges = np.linspace(lo, max(hi, lo + 1e-9), bins + 1)
    groups = data.groupby(by, sort=True)[value_col] if by else [(None, data[value_col])]
    for i, (name, v) in enumerate(groups):
        colour = f"C{i}"
        value = ("yes" if name else "no") if isinstance(name, bool | np.bool_) else label_text(name)
        label = "all customers" if name is None else f"{label_text(by)}: {value}"
        v = v.to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        ax.hist(
            np.clip(v, edges[0], edges[-1]),
            bins=edges,
            weights=np.full(len(v), 1 / max(len(v), 1)),
            histtype="stepfilled",
            alpha=0.35,
            color=colour,
            label=f"{label}: n = {group_thousands(len(v))}, mean = {group_thousands(v.mean())}",
            **kwargs,
        )
        reference_line(ax, float(v.mean()), f"mean, {label}", axis="x", color=colour, text=False, legend=False)
    if log_scale:
        ax.set_xscale("log")
    money_axis(ax, currency, axis="x")
    suffix = "(log scale)" if log_scale else ""
    ax.set_xlabel(money_label(f"{label_text(value_col).lower()} per customer", currency, suffix=suffix))
    share_axis(ax, label="share of customers")
    legend_outside(ax, where="below")
    return ax
