"""Overview plots of the case notebook (00)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from loyalty_lib.plotting.overview import plot_monthly_revenue  # noqa: E402


def test_monthly_revenue_axis_writes_numbers_like_the_report():
    data = pd.DataFrame(
        {
            "month": pd.to_datetime(["2026-01-01", "2026-02-01"] * 2),
            "group": ["card holder", "card holder", "no card", "no card"],
            "revenue": [1.2e6, 2.5e6, 900_000.0, 1.1e6],
        }
    )
    fig, ax = plt.subplots()
    assert plot_monthly_revenue(data, launch="2026-01-15", ax=ax) is ax
    assert ax.get_ylabel() == "net revenue, RUB"
    tick = ax.yaxis.get_major_formatter()
    # the shared formatter: millions as M, thousands with a thin space
    assert tick(2_500_000, 0) == "2.5 M" and tick(12_000, 0) == "12\u202f000"
    plt.close("all")
