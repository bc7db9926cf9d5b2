"""The index's small trend charts: PNG images embedded in the page (nothing fetched, nothing beside it)."""

from __future__ import annotations

import base64
import io

import pandas as pd

from loyalty_lib.plotting.trends import TREND_LABELS
from loyalty_lib.stats import format_number


def trend_charts(trends: pd.DataFrame, currency: str) -> list[dict]:
    """Draw one small chart per trend of :data:`~loyalty_lib.plotting.trends.TREND_LABELS`.

    Parameters
    ----------
    trends : pandas.DataFrame
        The output of :func:`~loyalty_lib.metrics.trends.monthly_trends`.
    currency : str
        Currency of the money trends.

    Returns
    -------
    list of dict
        ``title, src`` (a ``data:image/png;base64`` address), ``latest`` (the last month's value
        for people) and ``latest_month`` (``"March 2025"``); empty without any month.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from loyalty_lib.plotting import theme
    from loyalty_lib.plotting.trends import plot_trend

    if trends is None or trends.empty:
        return []
    out = []
    with plt.rc_context(theme.RC):
        for column, (title, kind) in TREND_LABELS.items():
            fig, ax = plt.subplots(figsize=(4.2, 2.5))
            plot_trend(trends, column, currency=currency, ax=ax)
            ax.set_title("")
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
            plt.close(fig)
            last = trends.iloc[-1]
            unit = {"money": currency, "share": "%", "count": "count"}[kind]
            out.append(
                {
                    "title": title,
                    "src": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"),
                    "latest": format_number(last[column], unit),
                    "latest_month": pd.Timestamp(last["month"]).strftime("%B %Y"),
                }
            )
    return out
