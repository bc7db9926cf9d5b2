"""Seaborn-style, axes-level plot helpers: ``plot_x(data, *, ..., ax=None) -> Axes``.

One module per stage (``plotting.enrollment``, ``plotting.activity``, ...) plus shared pieces in
:mod:`loyalty_lib.plotting.common`. No helper touches global pyplot state beyond ``plt.gca()``
when no ``ax`` is given.
"""

from loyalty_lib.plotting.common import plot_estimates

__all__ = ["plot_estimates"]
