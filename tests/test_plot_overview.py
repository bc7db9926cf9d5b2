"""Overview plots of the case notebook (00)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from loyalty_lib.plotting.overview import plot_check_distribution, plot_monthly_revenue  # noqa: E402


def test_monthly_revenue_axis_writes_numbers_like_the_report():
    data = pd.DataFrame(
        {
            "month": pd.to_datetime(["2026-01-01", "2026-02-01"] * 2),
            "group": ["card holder", "card holder", "no card", "no card"],
            "revenue": [1.2e6, 2.5e6, 900_000.0, 1.1e6],
        }
    )
    fig, ax = plt.subplots()
    assert plot_monthly_revenue(data, launch="2026-01-15", currency="RUB", ax=ax) is ax
    assert ax.get_ylabel() == "net revenue, RUB"
    tick = ax.yaxis.get_major_formatter()
    # the shared formatter: millions as M, thousands with a thin space
    assert tick(2_500_000, 0) == "2.5 M" and tick(12_000, 0) == "12\u202f000"
    plt.close("all")


def test_monthly_revenue_without_a_currency_shows_no_unit():
    data = pd.DataFrame({"month": pd.to_datetime(["2026-01-01"]), "group": ["no card"], "revenue": [10.0]})
    fig, ax = plt.subplots()
    plot_monthly_revenue(data, ax=ax)
    assert ax.get_ylabel() == "net revenue"


def test_check_distribution_draws_every_positive_check():
    # a shop of small checks: 3 of 7 receipts are below 10, which a fixed floor of 10 used to hide
    data = pd.DataFrame({"gross_amount": [2.5, 4.0, 9.0, 12.0, 30.0, 55.0, 0.0]})
    fig, ax = plt.subplots()
    plot_check_distribution(data, thresholds=[20.0], currency="USD", ax=ax)
    drawn = sum(p.get_height() for p in ax.patches)
    assert drawn == 6  # every positive check is in a bar
    assert "1 receipts of 0 or less not shown" in ax.get_title()
    assert ax.get_xlabel() == "gross amount, USD (log scale)"
    assert np.isclose(min(p.get_x() for p in ax.patches), 2.5)
    plt.close("all")
