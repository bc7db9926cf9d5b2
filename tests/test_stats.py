"""Shared statistics on hand-worked numbers."""

import numpy as np
import pandas as pd
import pytest

from loyalty_lib import stats


def test_wilson_hand_worked():
    # k=8, n=10, z=1.96: centre=(0.8+0.19208)/1.38416=0.71674, half=1.96*sqrt(0.016+0.0096040)/1.38416=0.22658
    lo, hi = stats.wilson_ci(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    lo, hi = stats.wilson_ci([0, 5], [0, 5])
    assert np.isnan(lo[0]) and hi[1] == 1.0


def test_proportion_frame():
    f = stats.proportion_frame([1, 3], [4, 4], index=["a", "b"])
    assert list(f.columns) == ["estimate", "ci_low", "ci_high", "n", "successes"]
    assert f.loc["b", "estimate"] == 0.75 and f.loc["a", "n"] == 4


def test_mean_ci_hand_worked():
    # values 1,2,3: mean 2, sd 1, t(0.975, 2)=4.3027 -> half = 4.3027/sqrt(3) = 2.4841
    est, lo, hi, n = stats.mean_ci([1, 2, 3, np.nan])
    assert (est, n) == (2.0, 3) and lo == pytest.approx(2 - 2.4841, abs=1e-4)


def test_cluster_bootstrap_keeps_customers_together():
    df = pd.DataFrame({"customer_id": [1, 1, 2, 3, 3, 3], "amount": [10.0, 10, 20, 30, 30, 30]})
    out = stats.cluster_bootstrap(df, lambda d: d["amount"].mean(), n_boot=200, seed=1)
    assert out.loc[0, "estimate"] == pytest.approx(130 / 6)
    assert out.loc[0, "n"] == 3 and out.loc[0, "ci_low"] <= out.loc[0, "estimate"] <= out.loc[0, "ci_high"]
    # every resample is a union of whole customers: means are from {10, 20, 30}-weighted mixes
    with pytest.raises(ValueError, match="customer_id"):
        stats.cluster_bootstrap(df.drop(columns="customer_id"), lambda d: 0.0)


def test_with_truth_flags_coverage_and_leaves_unknown_empty():
    est = pd.DataFrame(
        {"estimate": [1.0, 2.0], "ci_low": [0.5, 1.5], "ci_high": [1.5, 2.5], "n": [10, 10]}, index=["a", "b"]
    )
    out = stats.with_truth(est, {"a": 1.2})
    assert out.loc["a", "covered"] is True or out.loc["a", "covered"] == True  # noqa: E712
    assert pd.isna(out.loc["b", "covered"]) and pd.isna(out.loc["b", "truth"])
    assert stats.with_truth(est, None)["truth"].isna().all()


def test_kpi_numbers_are_formatted_for_people():
    from loyalty_lib.kpi import format_value

    assert format_value(600.0, "count") == "600"
    assert format_value(12345.6, "RUB") == "12\u202f346 RUB"
    assert format_value(500.0, "RUB") == "500 RUB"
    assert format_value(0.4567, "%") == "45.7 %"
    assert format_value(12.34, "days") == "12.3 days"
    assert format_value(float("nan"), "RUB") == "–"
