"""Satisfaction estimators on hand-worked tables that a subtly wrong line cannot match.

Written against the survivors of ``tools/mutate.py loyalty_lib/metrics/satisfaction.py``: the
documented defaults, NPS by two grouping columns, the day boundaries of the return window, the
receipt a survey followed, and clustering by customer in the logit.
"""

import numpy as np
import pandas as pd
import pytest

from loyalty_lib.metrics import satisfaction as sat


def ts(s):
    return pd.Timestamp(s)


@pytest.fixture
def answers():
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {"customer_id": np.arange(60) % 40, "nps": rng.integers(0, 11, 60), "csat": rng.integers(1, 6, 60)}
    )


@pytest.mark.parametrize("metric", [sat.nps, sat.csat])
def test_documented_defaults(metric, answers):
    # n_boot=300, seed=0, level=0.95 as the docstring says: the same resamples, the same interval
    pd.testing.assert_frame_equal(metric(answers), metric(answers, n_boot=300, seed=0, level=0.95))


def test_nps_class_keeps_an_empty_answer_empty():
    assert pd.isna(sat.nps_class([np.nan, 9])[0]) and sat.nps_class([np.nan, 9])[1] == "promoter"


def test_nps_by_two_columns_by_hand():
    sv = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 5, 6, 7],
            "stage": ["b", "b", "a", "a", "a", "b", None],
            "customer_type": ["b2c", "b2c", "b2c", "b2c", "b2b", "b2b", "b2c"],
            "nps": [10, 0, 9, 9, 3, 7, 10],
        }
    )
    out = sat.nps(sv, by=["stage", "customer_type"], n_boot=20)
    # groups in sorted order; the answer without a stage is in no group:
    # (a, b2b): one detractor -> -100; (a, b2c): two promoters -> +100;
    # (b, b2b): one passive -> 0; (b, b2c): a promoter and a detractor -> 0
    assert list(out.columns[:2]) == ["stage", "customer_type"]
    assert list(zip(out["stage"], out["customer_type"], strict=True)) == [
        ("a", "b2b"),
        ("a", "b2c"),
        ("b", "b2b"),
        ("b", "b2c"),
    ]
    assert out["estimate"].tolist() == pytest.approx([-100, 100, 0, 0])
    assert out["n"].tolist() == [1, 2, 1, 2] and out["n"].sum() == 6
    assert out["passives"].tolist() == pytest.approx([0, 0, 1, 0])


def test_nps_one_group_drops_answers_without_a_group():
    sv = pd.DataFrame({"customer_id": [1, 2, 3], "stage": ["a", None, "b"], "nps": [10, 0, 0]})
    out = sat.nps(sv, by="stage", n_boot=20)
    assert out["stage"].tolist() == ["a", "b"] and out["estimate"].tolist() == pytest.approx([100, -100])


def test_csat_scale_and_rows():
    out = sat.csat(pd.DataFrame({"customer_id": [1, 2], "csat": [1, 5]}), n_boot=20)
    assert list(out.index) == [0, 1] and out["metric"].tolist() == ["csat_share", "csat_mean"]
    assert out["estimate"].tolist() == pytest.approx([0.5, 3.0])
    with pytest.raises(ValueError, match="'csat'"):
        sat.csat(pd.DataFrame({"customer_id": [1], "csat": [6]}))


@pytest.fixture
def shop():
    tx = pd.DataFrame(
        {
            "transaction_id": [11, 12, 13, 14],
            "customer_id": [1, 1, 1, 2],
            "date": [ts("2026-01-01 10:00"), ts("2026-01-01 18:00"), ts("2026-02-15 09:00"), ts("2026-03-01 12:00")],
        }
    )
    sv = pd.DataFrame(
        {
            "customer_id": [1, 1, 3],
            # survey 2 is dated the day before the receipt it followed (a till clock or a late receipt)
            "date": [ts("2026-01-03 12:00"), ts("2026-02-14 08:00"), ts("2026-01-05 12:00")],
            "transaction_id": [11, 13, np.nan],
        }
    )
    return tx, sv


def test_retention_frame_reads_from_the_later_of_survey_and_receipt(shop):
    tx, sv = shop
    out = sat.retention_frame(sv, tx, horizon_days=43, end="2026-06-01")
    # survey 1: 3 Jan; next purchase 15 Feb = 43 days later, a return at exactly the horizon.
    # survey 2 followed receipt 13 (15 Feb): nothing after it; 3 receipts up to that day.
    # survey 3: customer 3 never bought: no receipt before, none after.
    assert out["prior_visits"].tolist() == [2, 3, 0]
    assert out["days_to_return"].tolist()[0] == 43 and out["returned"].tolist() == [True, False, False]
    # without receipt ids the survey's own day counts: survey 2 (14 Feb) then returns the next day
    plain = sat.retention_frame(sv, tx.drop(columns="transaction_id"), horizon_days=43, end="2026-06-01")
    assert plain["prior_visits"].tolist() == [2, 2, 0] and plain["returned"].tolist() == [True, True, False]


def test_retention_frame_window_must_end_before_the_data(shop):
    tx, sv = shop
    # survey 1's window ends 3 Jan + 30 days = 2 Feb; survey 2's 15 Feb + 30 = 17 Mar
    out = sat.retention_frame(sv.iloc[:2], tx, horizon_days=30, end="2026-03-17")
    assert out["eligible"].tolist() == [True, False]  # ending on the end day itself is cut off
    # default end: the day after the last receipt (1 Mar) -> 2 Mar; 2 Feb < 2 Mar but 17 Mar is not
    default = sat.retention_frame(sv.iloc[:2], tx, horizon_days=30)
    assert default["eligible"].tolist() == [True, False]
    assert sat.retention_frame(sv.iloc[:2], tx, horizon_days=28)["eligible"].tolist() == [True, False]
    # the default end is the day after the last receipt (1 Mar), 2 Mar: survey 1 (3 Jan) is
    # watched 57 days to 1 Mar, but 58 days would end on 2 Mar itself
    assert sat.retention_frame(sv.iloc[:1], tx, horizon_days=57)["eligible"].tolist() == [True]
    assert sat.retention_frame(sv.iloc[:1], tx, horizon_days=58)["eligible"].tolist() == [False]


def test_retention_frame_default_horizon_is_90_days():
    # a return 90 days after the survey counts, one 91 days after does not
    tx = pd.DataFrame({"customer_id": [1, 2], "date": [ts("2026-04-01 10:00"), ts("2026-04-02 10:00")]})
    sv = pd.DataFrame({"customer_id": [1, 2], "date": [ts("2026-01-01 12:00"), ts("2026-01-01 12:00")]})
    out = sat.retention_frame(sv, tx, end="2026-12-31")
    assert out["days_to_return"].tolist() == [90, 91] and out["returned"].tolist() == [True, False]


@pytest.mark.filterwarnings("ignore")  # ten answers and three controls: the names are the point, not the fit
def test_controls_enter_as_named_terms(binary):
    out = sat.retention_logit(binary, controls=("delivery", "channel", "prior_visits"))
    # a yes/no and a two-level text control become one dummy each (first level dropped); a
    # count enters as log(1 + visits)
    assert list(out.index) == ["nps", "delivery_True", "channel_online", "log1p_prior_visits"]


def test_a_control_without_variation_is_left_out(binary):
    # every respondent with 3 earlier visits: log(1 + 3) is a constant, which the intercept holds
    out = sat.retention_logit(binary.assign(prior_visits=3), controls=("prior_visits",))
    assert list(out.index) == ["nps"] and out.loc["nps", "estimate"] == pytest.approx(6, rel=1e-5)


def test_logit_errors_are_clustered_by_customer(binary):
    # every customer answering twice, identically, adds no information: with errors clustered by
    # customer the standard error stays (up to the small-sample factor) what it was; treating
    # the 20 answers as independent would shrink it by 1 / sqrt(2)
    once = sat.retention_logit(binary, controls=())
    twice = sat.retention_logit(pd.concat([binary, binary], ignore_index=True), controls=())
    assert twice.loc["nps", "estimate"] == pytest.approx(once.loc["nps", "estimate"], rel=1e-6)
    ratio = twice.loc["nps", "std_err"] / once.loc["nps", "std_err"]
    assert 0.9 < ratio < 1.1
    curve_once = sat.fitted_return_curve(binary)
    curve_twice = sat.fitted_return_curve(pd.concat([binary, binary], ignore_index=True))
    w1 = curve_once["ci_high"] - curve_once["ci_low"]
    w2 = curve_twice["ci_high"] - curve_twice["ci_low"]
    assert ((w2 / w1) > 0.9).all()


def test_logit_and_curve_default_level_is_95_percent(binary):
    pd.testing.assert_frame_equal(
        sat.retention_logit(binary, controls=()), sat.retention_logit(binary, controls=(), level=0.95)
    )
    pd.testing.assert_frame_equal(sat.fitted_return_curve(binary), sat.fitted_return_curve(binary, level=0.95))
    rates = sat.return_rate_by_score(binary)
    pd.testing.assert_frame_equal(rates, sat.return_rate_by_score(binary, level=0.95))
    assert list(rates.columns) == ["score", "estimate", "ci_low", "ci_high", "n", "successes"]
    assert rates["successes"].tolist() == [2, 4] + [0] * 9  # no answer, no success


def test_fitted_curve_is_the_logistic_of_the_fit(binary):
    curve = sat.fitted_return_curve(binary)
    assert len(curve) == 101 and curve["score"].iloc[0] == 0 and curve["score"].iloc[-1] == 10
    # logit(0.4) = log(2/3) at score 0, log(4) at score 1: the line through them, at score 2.5
    eta = np.log(2 / 3) + 2.5 * (np.log(4) - np.log(2 / 3))
    at = curve.loc[np.isclose(curve["score"], 2.5), "estimate"].item()
    assert at == pytest.approx(1 / (1 + np.exp(-eta)), rel=1e-5)


def test_nps_groups_come_sorted():
    sv = pd.DataFrame({"customer_id": [1, 2, 3], "stage": ["b", "a", "c"], "nps": [0, 10, 8]})
    assert sat.nps(sv, by="stage", n_boot=20)["stage"].tolist() == ["a", "b", "c"]


def test_nps_interval_is_the_customer_bootstrap_by_hand():
    # five customers, customer 1 answering twice: the replicate is 100 x (promoters - detractors)
    # / answers over the resampled customers, drawn exactly as stats.bootstrap_draws draws them
    from loyalty_lib import stats

    sv = pd.DataFrame({"customer_id": [1, 1, 2, 3, 4, 5], "nps": [10, 9, 0, 8, 10, 3]})
    promoters = np.array([2.0, 0, 0, 1, 0])  # per customer, in order of first answer
    detractors = np.array([0.0, 1, 0, 0, 1])
    answers = np.array([2.0, 1, 1, 1, 1])
    draws = stats.bootstrap_draws(
        5, lambda w: 100 * (w @ promoters - w @ detractors) / (w @ answers), n_boot=300, seed=0, counts=True
    )
    lo, hi = stats.percentile_interval(draws[:, 0])
    out = sat.nps(sv).iloc[0]
    assert out["estimate"] == pytest.approx(100 * (3 - 2) / 6)
    assert (out["promoters"], out["passives"], out["detractors"]) == pytest.approx((3 / 6, 1 / 6, 2 / 6))
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((float(lo), float(hi)))


def test_nps_without_any_answer_says_so():
    with pytest.raises(ValueError, match="no clusters"):
        sat.nps(pd.DataFrame({"customer_id": [1, 2], "nps": [np.nan, np.nan]}))


def test_nps_groups_follow_the_order_of_categories():
    # stages as an ordered list of categories (b before a) come out in that order
    stage = pd.Categorical(["a", "b", "a"], categories=["b", "a"])
    sv = pd.DataFrame({"customer_id": [1, 2, 3], "stage": stage, "nps": [10, 0, 9]})
    out = sat.nps(sv, by="stage", n_boot=20)
    assert out["stage"].tolist() == ["b", "a"] and out["estimate"].tolist() == pytest.approx([-100, 100])
