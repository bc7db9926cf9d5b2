"""The shared statistical core on hand-worked numbers."""

import numpy as np
import pandas as pd
import pytest

from loyalty_lib import stats

Z95, Z90 = 1.959964, 1.644854


# ----------------------------------------------------------------------------- column check
def test_check_columns_names_table_function_columns_and_what_is_there():
    df = pd.DataFrame({"a": [1], "b": [2]})
    stats.check_columns(df, ["a", "b"], "f")  # nothing missing: no error
    with pytest.raises(ValueError, match=r"^f: table 'receipts' lacks column\(s\) 'x', 'y' \(present: a, b\)$"):
        stats.check_columns(df, ["a", "x", "y"], "f", table="receipts")
    with pytest.raises(ValueError, match=r"^g: missing column\(s\) x \(present"):
        stats.check_columns(df, ["x"], "g", quote=False)
    with pytest.raises(ValueError, match="g: table 'cards' must be a pandas DataFrame, got list"):
        stats.check_columns([1, 2], ["x"], "g", table="cards")


# ----------------------------------------------------------------------------- quantiles
def test_z_and_t_values_and_levels_out_of_range():
    assert stats.z_value(0.95) == pytest.approx(Z95, abs=1e-6)
    assert stats.z_value(0.90) == pytest.approx(Z90, abs=1e-6)
    assert stats.z_value(0.99) == pytest.approx(2.575829, abs=1e-6)
    # t(0.975, 2) = 4.302653 and t(0.975, 10) = 2.228139 (tables); NaN without a degree of freedom
    t = stats.t_value(0.95, [2, 10, 0])
    assert t[:2] == pytest.approx([4.302653, 2.228139], abs=1e-6) and np.isnan(t[2])
    for bad in (95, 0.0, 1.0, -0.5):
        with pytest.raises(ValueError, match="confidence level"):
            stats.z_value(bad)


def test_normal_interval_level_is_honoured():
    lo, hi = stats.normal_interval([10.0, 0.0], [1.0, 2.0])
    assert lo == pytest.approx([10 - Z95, -2 * Z95], abs=1e-6) and hi == pytest.approx([10 + Z95, 2 * Z95], abs=1e-6)
    lo90, hi90 = stats.normal_interval(10.0, 1.0, level=0.90)
    # a 90 % interval is narrower than a 95 % one by exactly z(0.95) / z(0.975) = 0.83923
    assert (hi90 - lo90) / (hi[0] - lo[0]) == pytest.approx(Z90 / Z95, rel=1e-6)


def test_t_interval_hand_worked():
    # values 1, 2, 3: mean 2, sd 1, n 3 -> half-width 4.302653 / sqrt(3) = 2.484138
    lo, hi = stats.t_interval(2.0, 1.0, 3)
    assert float(lo) == pytest.approx(2 - 2.484138, abs=1e-6) and float(hi) == pytest.approx(2 + 2.484138, abs=1e-6)
    lo1, hi1 = stats.t_interval(5.0, np.nan, 1)
    assert np.isnan(lo1) and np.isnan(hi1)
    # level: at 90 % t(0.95, 2) = 2.919986 -> half-width 1.685854
    lo, hi = stats.t_interval(2.0, 1.0, 3, level=0.90)
    assert float(hi) - 2 == pytest.approx(1.685854, abs=1e-6)


def test_percentile_interval_hand_worked_and_ignores_nan():
    draws = np.arange(101.0)  # quantiles of 0..100 are the percentages themselves
    assert [float(v) for v in stats.percentile_interval(draws, level=0.9)] == pytest.approx([5.0, 95.0])
    assert [float(v) for v in stats.percentile_interval(draws)] == pytest.approx([2.5, 97.5])
    two = np.column_stack([draws, np.append(draws[:-1], np.nan)])
    lo, hi = stats.percentile_interval(two, level=0.5)
    assert lo == pytest.approx([25.0, 24.75]) and hi == pytest.approx([75.0, 74.25])  # 0..99 without the NaN


def test_estimate_frame_shape():
    f = stats.estimate_frame([1.0, 2.0], [0.5, 1.5], [1.5, 2.5], 10, index=["a", "b"], se=[0.2, 0.3])
    assert list(f.columns) == [*stats.ESTIMATE_COLUMNS, "se"] and f.loc["b", "n"] == 10
    one = stats.estimate_frame(1.0, 0.0, 2.0, 3)
    assert one.shape == (1, 4)


# ----------------------------------------------------------------------------- proportions, means, ratios
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


def test_mean_frame_overall_and_by_group():
    out = stats.mean_frame([1, 2, 3, np.nan])
    # mean 2, sd 1, t(0.975, 2)=4.302653 -> half = 2.484138; the NaN is left out
    assert out.index.tolist() == ["all"] and out.loc["all", "n"] == 3 and out.loc["all", "total"] == 6.0
    assert out.loc["all", "ci_low"] == pytest.approx(2 - 2.484138, abs=1e-6)
    values = pd.Series([1.0, 2.0, 3.0, 10.0])
    g = stats.mean_frame(values, pd.Series(["a", "a", "a", "b"], name="grp"))
    assert g.index.name == "grp" and g.loc["a", "estimate"] == 2.0 and g.loc["b", "n"] == 1
    assert np.isnan(g.loc["b", "ci_low"])  # one value: no interval


def test_ratio_frame_hand_worked_cluster_robust():
    # customer 1 has two rows (y = 1, 0), customers 2 and 3 one row each (y = 1): ratio 3/4.
    # per customer A = (1, 1, 1), N = (2, 1, 1); residuals A - 0.75 N = (-0.5, 0.25, 0.25),
    # squares sum 0.375; Var = 3/2 * 0.375 / 4^2 = 0.03515625 -> se = 0.1875
    d = pd.DataFrame({"c": [1, 1, 2, 3], "y": [1.0, 0.0, 1.0, 1.0], "one": 1.0})
    r = stats.ratio_frame(d, "y", "one", cluster="c")
    assert r.loc[0, "estimate"] == 0.75 and r.loc[0, "n"] == 3 and r.loc[0, "denominator"] == 4
    assert r.loc[0, "ci_low"] == pytest.approx(0.75 - Z95 * 0.1875, abs=1e-6)
    assert r.loc[0, "ci_high"] == pytest.approx(0.75 + Z95 * 0.1875, abs=1e-6)
    # the same rows treated as four independent customers give a different (smaller) se:
    # residuals (0.25, -0.75, 0.25, 0.25), squares 0.75, Var = 4/3 * 0.75 / 16 = 0.0625 -> se 0.25;
    # row 2's zero is then its own customer's, so the spread is larger here, not smaller
    rows = stats.ratio_frame(d.assign(c=[1, 2, 3, 4]), "y", "one", cluster="c")
    assert rows.loc[0, "ci_high"] == pytest.approx(0.75 + Z95 * 0.25, abs=1e-6)
    # by group: group "g" holds customers 1 and 2 only -> ratio 2/3, one-customer group has no interval
    grouped = stats.ratio_frame(d.assign(k=["g", "g", "g", "h"]), "y", "one", cluster="c", by="k")
    assert grouped["k"].tolist() == ["g", "h"] and grouped.loc[0, "estimate"] == pytest.approx(2 / 3)
    assert np.isnan(grouped.loc[1, "ci_low"]) and grouped.loc[1, "estimate"] == 1.0
    with pytest.raises(ValueError, match="'one'"):
        stats.ratio_frame(d.drop(columns="one"), "y", "one", cluster="c")


# ----------------------------------------------------------------------------- bootstrap
def test_bootstrap_draws_resample_customers_with_a_fixed_seed():
    v = np.array([1.0, 2.0, 4.0])
    draws = stats.bootstrap_draws(3, lambda idx: v[idx].mean(axis=1), n_boot=7, seed=5, batch=3)
    # the resamples are the rows of numpy's default_rng(seed).integers(0, 3, (7, 3))
    idx = np.random.default_rng(5).integers(0, 3, (7, 3))
    np.testing.assert_allclose(draws[:, 0], v[idx].mean(axis=1))
    again = stats.bootstrap_draws(3, lambda idx: v[idx].mean(axis=1), n_boot=7, seed=5, batch=50)
    np.testing.assert_array_equal(draws, again)  # batch size changes memory, not the answer
    two = stats.bootstrap_draws(3, lambda idx: np.column_stack([v[idx].min(1), v[idx].max(1)]), n_boot=4)
    assert two.shape == (4, 2) and (two[:, 0] <= two[:, 1]).all()
    with pytest.raises(ValueError, match="n_boot"):
        stats.bootstrap_draws(3, lambda idx: idx.sum(1), n_boot=0)


def test_bootstrap_draws_with_counts_weight_per_customer_sums():
    # customer sums 1, 2, 4: a resample's total is counts @ sums, the same as summing the drawn
    sums = np.array([1.0, 2.0, 4.0])
    by_counts = stats.bootstrap_draws(3, lambda c: c @ sums, n_boot=9, seed=3, counts=True)
    by_index = stats.bootstrap_draws(3, lambda idx: sums[idx].sum(axis=1), n_boot=9, seed=3)
    np.testing.assert_allclose(by_counts, by_index)


def test_bootstrap_frame_percentiles_and_level():
    # replicates 0, 0.04, ..., 4.00 (101 of them): the 5 % and 95 % quantiles are 0.2 and 3.8
    draws = np.arange(101.0)[:, None] / 25
    f = stats.bootstrap_frame([2.0], draws, n=5, level=0.9, index=["x"], se=[1.0])
    assert list(f.columns) == [*stats.ESTIMATE_COLUMNS, "se"]
    assert f.loc["x", "ci_low"] == pytest.approx(0.2) and f.loc["x", "ci_high"] == pytest.approx(3.8)
    wide = stats.bootstrap_frame([2.0], draws, n=5)  # 95 %: 2.5 % and 97.5 % quantiles
    assert wide.loc[0, "ci_low"] == pytest.approx(0.1) and wide.loc[0, "ci_high"] == pytest.approx(3.9)


def test_resample_counts_hand_worked():
    counts = stats.resample_counts(np.array([[0, 0, 2], [1, 2, 2]]), 3)
    np.testing.assert_array_equal(counts, [[2, 0, 1], [0, 1, 2]])


def test_cluster_bootstrap_keeps_customers_together():
    df = pd.DataFrame({"customer_id": [1, 1, 2, 3, 3, 3], "amount": [10.0, 10, 20, 30, 30, 30]})
    out = stats.cluster_bootstrap(df, lambda d: d["amount"].mean(), n_boot=200, seed=1)
    assert out.loc[0, "estimate"] == pytest.approx(130 / 6)
    assert out.loc[0, "n"] == 3 and out.loc[0, "ci_low"] <= out.loc[0, "estimate"] <= out.loc[0, "ci_high"]

    # every resample is a union of whole customers: customer 1 comes with 2 rows, 3 with 3
    def whole(d):
        rows = d.groupby("customer_id").size()
        return float((rows.get(1, 0) % 2 == 0) and (rows.get(3, 0) % 3 == 0) and len(d) > 0)

    assert (stats.cluster_bootstrap(df, whole, n_boot=50)[["ci_low", "ci_high"]] == 1.0).all(axis=None)
    with pytest.raises(ValueError, match="customer_id"):
        stats.cluster_bootstrap(df.drop(columns="customer_id"), lambda d: 0.0)


def test_cluster_bootstrap_se_matches_the_spread_between_customers():
    # 300 customers with 5 identical receipts each: the mean of receipts is known to the
    # precision of 300 draws (sd / sqrt(300)), not of 1500 independent ones
    rng = np.random.default_rng(0)
    v = rng.normal(0, 1, 300)
    df = pd.DataFrame({"customer_id": np.repeat(np.arange(300), 5), "x": np.repeat(v, 5)})
    out = stats.cluster_bootstrap(df, lambda d: d["x"].mean(), n_boot=400, seed=2)
    expected = v.std(ddof=1) / np.sqrt(300)
    assert out.loc[0, "se"] == pytest.approx(expected, rel=0.15)
    assert out.loc[0, "se"] > 1.8 * v.std(ddof=1) / np.sqrt(1500)  # a row bootstrap's answer
    # the level is honoured: the 90 % percentile interval is narrower by about z(0.95) / z(0.975)
    o90 = stats.cluster_bootstrap(df, lambda d: d["x"].mean(), n_boot=400, seed=2, level=0.90)
    ratio = (o90.loc[0, "ci_high"] - o90.loc[0, "ci_low"]) / (out.loc[0, "ci_high"] - out.loc[0, "ci_low"])
    assert ratio == pytest.approx(Z90 / Z95, abs=0.08)


def test_bootstrap_se():
    # replicates 1, 2, 3: sd = 1; NaN replicates are left out
    assert float(stats.bootstrap_se([1.0, 2.0, np.nan, 3.0])) == pytest.approx(1.0)


# ----------------------------------------------------------------------------- truth and formatting
def test_with_truth_flags_coverage_and_leaves_unknown_empty():
    est = pd.DataFrame(
        {"estimate": [1.0, 2.0], "ci_low": [0.5, 1.5], "ci_high": [1.5, 2.5], "n": [10, 10]}, index=["a", "b"]
    )
    out = stats.with_truth(est, {"a": 1.2})
    assert out.loc["a", "covered"] is True or out.loc["a", "covered"] == True  # noqa: E712
    assert pd.isna(out.loc["b", "covered"]) and pd.isna(out.loc["b", "truth"])
    assert stats.with_truth(est, None)["truth"].isna().all()
    assert not stats.with_truth(est, {"a": 1.6}).loc["a", "covered"]


@pytest.mark.parametrize(
    "value, unit, millions, text",
    [
        (600.0, "count", False, "600"),
        (12345.6, "RUB", False, "12\u202f346 RUB"),
        (500.0, "RUB", False, "500 RUB"),
        (0.4567, "%", False, "45.7 %"),
        (-0.012, "pp", False, "-1.2 pp"),
        (12.34, "days", False, "12.3 days"),
        (0.348, "", False, "0.348"),
        (float("nan"), "RUB", False, "–"),
        (None, "%", False, "–"),
        (107_620_021.0, "RUB", True, "107.6 M RUB"),
        (107_620_021.0, "RUB", False, "107\u202f620\u202f021 RUB"),
        (2_500_000.0, "count", True, "2.5 M"),
    ],
)
def test_numbers_are_formatted_for_people(value, unit, millions, text):
    assert stats.format_number(value, unit, millions=millions) == text
