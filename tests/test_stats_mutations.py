"""Hand-worked values of the statistical core that a subtly wrong formula cannot match.

Written against the survivors of ``make mutation`` (tools/mutate.py): each test fails when a
confidence level, a degree of freedom, a boundary or an operator in the interval builders moves.
"""

import numpy as np
import pandas as pd
import pytest

from loyalty_lib import stats

Z95, Z90 = 1.959964, 1.644854  # standard-normal quantiles 0.975 and 0.95
T95 = {1: 12.706205, 2: 4.302653, 9: 2.262157}  # Student-t 0.975 quantiles by degrees of freedom


def test_default_level_is_95_percent():
    assert stats.z_value() == pytest.approx(Z95, rel=1e-6)
    assert stats.z_value(0.90) == pytest.approx(Z90, rel=1e-6)
    lo, hi = stats.normal_interval(10.0, 2.0)  # 10 ± 1.96 x 2
    assert (lo, hi) == pytest.approx((10 - 2 * Z95, 10 + 2 * Z95), rel=1e-6)
    lo, hi = stats.percentile_interval(np.arange(1001.0))  # 2.5 % and 97.5 % of 0..1000
    assert (lo, hi) == pytest.approx((25.0, 975.0))


def test_t_value_from_one_degree_of_freedom():
    got = stats.t_value(0.95, [0, 0.5, 1, 2, 9])
    assert np.isnan(got[:2]).all()  # fewer than one degree of freedom: no interval
    assert got[2:] == pytest.approx([T95[1], T95[2], T95[9]], rel=1e-6)


def test_t_interval_scales_with_the_standard_deviation():
    # n = 2: half-width 12.706205 x sd 3 / sqrt(2) = 26.953; n = 10: 2.262157 x 3 / sqrt(10) = 2.146
    lo, hi = stats.t_interval([5.0, 5.0, 5.0], [3.0, 3.0, 3.0], [1, 2, 10])
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    half = np.array([T95[1] * 3 / np.sqrt(2), T95[9] * 3 / np.sqrt(10)])
    np.testing.assert_allclose(hi[1:] - 5.0, half, rtol=1e-6)
    np.testing.assert_allclose(5.0 - lo[1:], half, rtol=1e-6)


def test_percentile_interval_ignores_missing_draws_and_works_by_column():
    draws = np.column_stack([np.arange(101.0), 2 * np.arange(101.0)])
    draws = np.vstack([draws, [np.nan, np.nan]])
    lo, hi = stats.percentile_interval(draws, level=0.8)  # 10 % and 90 % of 0..100, and of 0..200
    np.testing.assert_allclose(lo, [10.0, 20.0])
    np.testing.assert_allclose(hi, [90.0, 180.0])


def test_bootstrap_se_is_the_sample_standard_deviation():
    # draws 1, 2, 3, 6: mean 3, squares 4 + 1 + 0 + 9 = 14, / (4 - 1) -> sqrt(14 / 3) = 2.160247
    assert float(stats.bootstrap_se([1.0, 2.0, 3.0, 6.0, np.nan])) == pytest.approx(2.160247, rel=1e-6)
    assert np.isnan(stats.bootstrap_se([4.0]))


def test_wilson_interval_by_hand_at_the_edges():
    # 0 of 10: low 0, high z^2 / (n + z^2) = 3.841459 / 13.841459 = 0.277533
    # 10 of 10: low n / (n + z^2) = 0.722467, high 1
    lo, hi = stats.wilson_ci([0, 10, 5, 0], [10, 10, 10, 0])
    np.testing.assert_allclose(lo[:2], [0.0, 0.722467], atol=1e-6)
    np.testing.assert_allclose(hi[:2], [0.277533, 1.0], atol=1e-6)
    # 5 of 10: symmetric about 0.5, half-width z sqrt(0.025 + z^2 / 400) / (1 + z^2 / 10) = 0.263407
    np.testing.assert_allclose([lo[2], hi[2]], [0.5 - 0.263407, 0.5 + 0.263407], atol=1e-6)
    assert np.isnan(lo[3]) and np.isnan(hi[3])  # no trials, no interval
    lo90, hi90 = stats.wilson_ci(5, 10, level=0.9)
    assert hi90 - lo90 < hi[2] - lo[2]


def _clustered_data_sets(n_sets=120, n_customers=60, seed=11):
    """Data sets of customers with 1-8 receipts each, all of a customer's receipts alike."""
    rng = np.random.default_rng(seed)
    visits = rng.integers(1, 9, (n_sets, n_customers))
    level = rng.gamma(2.0, 50.0, (n_sets, n_customers))  # the customer's own spend per receipt
    spend = visits * level * rng.uniform(0.9, 1.1, (n_sets, n_customers))  # little noise within
    return visits.astype(float), spend


def test_clustered_errors_match_the_spread_over_data_sets():
    # The spend per receipt over 120 data sets: the standard error each data set reports must
    # match how much the estimate really moves from one data set to the next. Receipts of one
    # customer are nearly alike, so counting them as independent draws (no clustering) would
    # claim an error about half as large; a bootstrap of receipts instead of customers, too.
    visits, spend = _clustered_data_sets()
    est, se_delta, se_boot = [], [], []
    for v, s in zip(visits, spend, strict=True):
        rows = pd.DataFrame({"c": np.repeat(np.arange(len(v)), v.astype(int))})
        rows["spend"] = np.repeat(s / v, v.astype(int))
        rows["one"] = 1.0
        r = stats.ratio_frame(rows, "spend", "one", cluster="c").iloc[0]
        est.append(r["estimate"])
        se_delta.append((r["ci_high"] - r["ci_low"]) / (2 * Z95))
        draws = stats.bootstrap_draws(len(v), lambda w, s=s, v=v: (w @ s) / (w @ v), n_boot=200, counts=True)
        se_boot.append(float(stats.bootstrap_se(draws[:, 0])))
    spread = np.std(est, ddof=1)
    assert np.mean(se_delta) / spread == pytest.approx(1.0, abs=0.2)
    assert np.mean(se_boot) / spread == pytest.approx(1.0, abs=0.2)
    # the same receipts as independent rows: far too small
    v, s = visits[0], spend[0]
    rows = pd.DataFrame({"c": np.arange(int(v.sum())), "spend": np.repeat(s / v, v.astype(int)), "one": 1.0})
    naive = stats.ratio_frame(rows, "spend", "one", cluster="c").iloc[0]
    assert (naive["ci_high"] - naive["ci_low"]) / (2 * Z95) < 0.7 * np.mean(se_delta)


def test_wilson_bounds_stay_in_the_unit_interval_and_one_trial_has_one():
    # by rounding, 16 of 16 gives a high bound a hair above 1 and 0 of 21 a low one a hair below 0
    lo, hi = stats.wilson_ci([16, 0], [16, 21])
    assert hi[0] == 1.0 and lo[1] == 0.0
    # one trial is enough for an interval: 1 of 1 -> low 1 / (1 + z^2) = 0.206543, high 1
    lo, hi = stats.wilson_ci(1, 1)
    assert float(lo) == pytest.approx(1 / (1 + Z95**2), rel=1e-6) and float(hi) == 1.0
    # the proportion frame's default level is 95 %
    pd.testing.assert_frame_equal(stats.proportion_frame([3], [10]), stats.proportion_frame([3], [10], level=0.95))


def test_proportion_of_one_trial():
    f = stats.proportion_frame([1, 0], [1, 0])
    assert f["estimate"].iloc[0] == 1.0 and np.isnan(f["estimate"].iloc[1])


def test_mean_frame_groups_sorted_and_only_those_seen():
    by = pd.Series(pd.Categorical(["b", "b", "a", "a"], categories=["c", "b", "a"]))
    out = stats.mean_frame(pd.Series([1.0, 3.0, 10.0, 20.0]), by)
    # category "c" has no value: no row; the rows follow the categories' order (b before a)
    assert out.index.tolist() == ["b", "a"] and out["estimate"].tolist() == [2.0, 15.0]
    plain = stats.mean_frame([5.0, 1.0, 3.0], ["z", "x", "y"])
    assert plain.index.tolist() == ["x", "y", "z"]


def test_ratio_frame_counts_only_customers_seen_and_keeps_missing_groups():
    d = pd.DataFrame({"c": [1, 1, 2, 3], "y": [1.0, 0.0, 1.0, 1.0], "one": 1.0})
    plain = stats.ratio_frame(d, "y", "one", cluster="c")
    # customers as a categorical with two customers never seen: the same three clusters
    cat = d.assign(c=pd.Categorical(d["c"], categories=[1, 2, 3, 4, 5]))
    pd.testing.assert_frame_equal(stats.ratio_frame(cat, "y", "one", cluster="c"), plain)
    # receipts without a group are a group of their own, not dropped: customer 1's 1 of 2, and
    # customers 2 and 3 with 1 and 0: ratio 1/2, residuals +-0.5, Var = 2/1 x 0.5 / 2^2 -> se 0.5
    d2 = d.assign(y=[1.0, 0.0, 1.0, 0.0], k=["g", "g", None, None])
    grouped = stats.ratio_frame(d2, "y", "one", cluster="c", by="k")
    assert grouped["estimate"].tolist() == [0.5, 0.5] and grouped["k"].isna().tolist() == [False, True]
    assert grouped["ci_high"].iloc[1] - grouped["ci_low"].iloc[1] == pytest.approx(2 * Z95 * 0.5, rel=1e-6)
    # a customer whose denominator is 0 (no visit in the window) adds nothing and is not counted
    zero = pd.concat([d, pd.DataFrame({"c": [9], "y": [0.0], "one": [0.0]})], ignore_index=True)
    assert stats.ratio_frame(zero, "y", "one", cluster="c").loc[0, "n"] == 3
    # a group whose denominator is 0 has no ratio (not an infinite one)
    lone = pd.DataFrame({"c": [1, 2], "y": [1.0, 2.0], "one": [1.0, 0.0], "k": ["a", "b"]})
    out = stats.ratio_frame(lone, "y", "one", cluster="c", by="k")
    assert out["estimate"].iloc[0] == 1.0 and np.isnan(out["estimate"].iloc[1])
    # groups as a categorical with a category never seen: no row for it, the others in order
    cats = d2.assign(k=pd.Categorical(["h", "h", "g", "g"], categories=["z", "g", "h"]))
    by_cat = stats.ratio_frame(cats, "y", "one", cluster="c", by="k")
    assert by_cat["k"].tolist() == ["g", "h"] and by_cat["estimate"].tolist() == [0.5, 0.5]


def test_ratio_frame_columns_and_one_customer_groups():
    d = pd.DataFrame({"c": [1, 1, 2, 3], "y": [1.0, 0.0, 1.0, 1.0], "one": 1.0})
    assert list(stats.ratio_frame(d, "y", "one", cluster="c").columns) == [
        *stats.ESTIMATE_COLUMNS,
        "numerator",
        "denominator",
    ]
    # one customer with 49 receipts, one of them a success: 1 - (1/49) x 49 is 1e-16, not 0, in
    # floating point; a group of one customer still has no interval (not an infinite one)
    one = pd.DataFrame({"c": 7, "y": [1.0] + [0.0] * 48, "one": 1.0, "k": "solo"})
    out = stats.ratio_frame(one, "y", "one", cluster="c", by="k")
    assert out["estimate"].iloc[0] == pytest.approx(1 / 49)
    assert np.isnan(out["ci_low"].iloc[0]) and np.isnan(out["ci_high"].iloc[0])


def test_bootstrap_draws_documented_defaults():
    v = np.array([1.0, 2.0, 4.0, 8.0])
    default = stats.bootstrap_draws(4, lambda idx: v[idx].mean(axis=1))
    explicit = stats.bootstrap_draws(4, lambda idx: v[idx].mean(axis=1), n_boot=500, seed=0)
    assert default.shape == (500, 1)
    np.testing.assert_array_equal(default, explicit)


def test_one_customer_resamples_to_itself():
    draws = stats.bootstrap_draws(1, lambda idx: idx.sum(axis=1) + 5.0, n_boot=7)
    assert draws.shape == (7, 1) and (draws == 5.0).all()


def test_two_customers_are_resampled():
    # customers worth 0 and 10: a resample's mean is 0, 5 or 10 (with chances 1/4, 1/2, 1/4)
    draws = stats.bootstrap_draws(2, lambda idx: np.array([0.0, 10.0])[idx].mean(axis=1), n_boot=400, seed=1)
    assert set(np.unique(draws)) == {0.0, 5.0, 10.0}
    assert np.mean(draws == 5.0) == pytest.approx(0.5, abs=0.08)


def test_cluster_bootstrap_documented_defaults():
    df = pd.DataFrame({"customer_id": [1, 1, 2, 3, 4], "x": [1.0, 3.0, 2.0, 8.0, 5.0]})
    default = stats.cluster_bootstrap(df, lambda d: d["x"].mean())
    explicit = stats.cluster_bootstrap(df, lambda d: d["x"].mean(), n_boot=500, seed=0, level=0.95)
    pd.testing.assert_frame_equal(default, explicit)


def test_an_interval_covers_its_own_ends():
    f = pd.DataFrame({"ci_low": [0.0, 0.0, 0.0], "ci_high": [1.0, 1.0, 1.0], "truth": [0.0, 1.0, 1.0000001]})
    assert stats.covers(f).tolist() == [True, True, False]


@pytest.mark.parametrize(
    "value, unit, millions, text",
    [
        (100.0, "RUB", False, "100 RUB"),  # from 100 up: no decimals
        (99.94, "RUB", False, "99.9 RUB"),
        (10.0, "", False, "10.0"),  # from 10 up: one decimal
        (9.876, "", False, "9.88"),
        (-150.0, "RUB", False, "-150 RUB"),  # the size, not the sign, decides
        (-12.34, "", False, "-12.3"),
        (1_000_000.0, "RUB", True, "1.0 M RUB"),  # a million is written in millions
        (-2_000_000.0, "", True, "-2.0 M"),
        (999_999.0, "RUB", True, "999\u202f999 RUB"),
    ],
)
def test_number_format_at_its_boundaries(value, unit, millions, text):
    assert stats.format_number(value, unit, millions=millions) == text


def test_number_format_writes_millions_in_full_by_default():
    assert stats.format_number(2_500_000.0, "RUB") == "2\u202f500\u202f000 RUB"
