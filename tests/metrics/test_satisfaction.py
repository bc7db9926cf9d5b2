import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from loyalty_lib.metrics import satisfaction as sat
from loyalty_lib.plotting import satisfaction as ps


def ts(s):
    return pd.Timestamp(s)


# ---------------------------------------------------------------- NPS and CSAT
def test_nps_by_hand():
    sv = pd.DataFrame({"customer_id": [1, 2, 3, 4, 5], "nps": [10, 9, 8, 6, 0]})
    out = sat.nps(sv, n_boot=50).iloc[0]
    # promoters 10, 9 (2 of 5); passives 8 (1); detractors 6, 0 (2): (2 - 2) / 5 * 100 = 0
    assert out["estimate"] == pytest.approx(0)
    assert (out["promoters"], out["passives"], out["detractors"]) == pytest.approx((0.4, 0.2, 0.4))
    assert out["n"] == 5
    assert out["ci_low"] <= 0 <= out["ci_high"]


def test_nps_by_group_by_hand():
    sv = pd.DataFrame(
        {"customer_id": [1, 2, 3, 4, 5, 6], "stage": ["a", "a", "a", "b", "b", "b"], "nps": [10, 10, 0, 7, 8, np.nan]}
    )
    out = sat.nps(sv, by="stage", n_boot=50).set_index("stage")
    # a: (2 promoters - 1 detractor) / 3 = +33.3; b: two passives, the empty answer dropped -> 0
    assert out.loc["a", "estimate"] == pytest.approx(100 / 3)
    assert out.loc["b", "estimate"] == pytest.approx(0)
    assert out.loc["b", "n"] == 2
    assert out.loc["b", "passives"] == pytest.approx(1)


def test_nps_class():
    assert list(sat.nps_class([10, 9, 8, 7, 6, 0])) == [
        "promoter",
        "promoter",
        "passive",
        "passive",
        "detractor",
        "detractor",
    ]


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"customer_id": [1], "nps": [11]}), "'nps'"),
        (pd.DataFrame({"customer_id": [1], "score": [5]}), "'nps'"),
        (pd.DataFrame({"nps": [5]}), "'customer_id'"),
    ],
)
def test_nps_bad_input_names_column(frame, match):
    with pytest.raises(ValueError, match=match):
        sat.nps(frame)


def test_csat_by_hand():
    sv = pd.DataFrame({"customer_id": [1, 2, 3, 4], "csat": [5, 4, 3, 1]})
    out = sat.csat(sv, n_boot=50).set_index("metric")
    # share of 4-5: 2 / 4 = 0.5; mean: (5 + 4 + 3 + 1) / 4 = 3.25
    assert out.loc["csat_share", "estimate"] == pytest.approx(0.5)
    assert out.loc["csat_mean", "estimate"] == pytest.approx(3.25)
    assert out.loc["csat_share", "ci_low"] >= 0 and out.loc["csat_share", "ci_high"] <= 1


def test_csat_out_of_range_raises():
    with pytest.raises(ValueError, match="'csat'"):
        sat.csat(pd.DataFrame({"customer_id": [1], "csat": [0]}))


def test_bootstrap_resamples_customers():
    # one customer answering 10 times counts as one cluster: with two customers the interval
    # spans both customers' values, however many answers each gave
    sv = pd.DataFrame({"customer_id": [1] * 10 + [2], "nps": [10] * 10 + [0]})
    out = sat.nps(sv, n_boot=200, seed=1).iloc[0]
    assert out["ci_low"] == pytest.approx(-100) and out["ci_high"] == pytest.approx(100)


# ---------------------------------------------------------------- context and retention
@pytest.fixture
def shop():
    customers = pd.DataFrame({"customer_id": [1, 2], "customer_type": ["b2c", "b2b"]})
    tx = pd.DataFrame(
        {
            "transaction_id": [11, 12, 13, 14, 21],
            "customer_id": [1, 1, 1, 1, 2],
            "date": [
                ts("2026-01-01 10:00"),
                ts("2026-01-01 18:00"),
                ts("2026-02-15 09:00"),
                ts("2026-02-15 17:00"),
                ts("2026-01-01 12:00"),
            ],
            "gross_amount": [1000.0, 2000.0, 6000.0, 300.0, 20000.0],
            "channel": ["offline", "offline", "delivery", "offline", "delivery"],
        }
    )
    sv = pd.DataFrame(
        {
            "survey_id": [1, 2, 3],
            "customer_id": [1, 2, 1],
            "date": [ts("2026-01-03 12:00"), ts("2026-01-02 12:00"), ts("2026-02-15 10:00")],
            "transaction_id": [11, np.nan, 13],
            "stage": ["after_first_use", "after_first_use", "periodic"],
            "nps": [9, 3, 7],
        }
    )
    return customers, tx, sv


def test_survey_context(shop):
    customers, tx, sv = shop
    out = sat.survey_context(sv, tx, customers)
    assert out["customer_type"].tolist() == ["b2c", "b2b", "b2c"]
    # survey 2 has no receipt id: the last receipt on or before it is 21 (20,000, delivery)
    assert out["gross_amount"].tolist() == [1000.0, 20000.0, 6000.0]
    assert out["channel"].tolist() == ["offline", "delivery", "delivery"]
    assert out["tier"].astype(str).tolist() == ["<1,500", "15,000+", "5,000-15,000"]


def test_retention_frame_by_hand(shop):
    _, tx, sv = shop
    out = sat.retention_frame(sv, tx, horizon_days=90, end="2026-06-01")
    # survey 1 (3 Jan, after receipt 11): 2 receipts up to that day; next purchase 15 Feb,
    # 43 days later -> returned. Survey 2 (2 Jan): 1 receipt before, none after -> not returned.
    # Survey 3 (15 Feb, after receipt 13): receipt 14 is the same day, not a return; 4 prior.
    assert out["prior_visits"].tolist() == [2, 1, 4]
    assert out["days_to_return"].tolist()[0] == 43
    assert out["returned"].tolist() == [True, False, False]
    # 15 Feb + 90 days = 16 May < 1 Jun -> eligible
    assert out["eligible"].tolist() == [True, True, True]
    # with 120 days, 15 Feb + 120 = 15 Jun is past the end: survey 3 is cut off
    late = sat.retention_frame(sv, tx, horizon_days=120, end="2026-06-01")
    assert late["eligible"].tolist() == [True, True, False]
    # a 30-day window misses the 43-day return
    assert sat.retention_frame(sv, tx, horizon_days=30)["returned"].tolist() == [False] * 3


def test_retention_frame_bad_horizon(shop):
    _, tx, sv = shop
    with pytest.raises(ValueError, match="horizon_days"):
        sat.retention_frame(sv, tx, horizon_days=0)
    with pytest.raises(ValueError, match="'date'"):
        sat.retention_frame(sv.drop(columns="date"), tx)


def test_retention_logit_by_hand(binary):
    out = sat.retention_logit(binary, controls=("customer_type",))
    # one binary regressor: the logit odds ratio is the 2x2 table's (4 / 1) / (2 / 3) = 6;
    # customer_type has a single value and is dropped
    assert list(out.index) == ["nps"]
    assert out.loc["nps", "estimate"] == pytest.approx(6, rel=1e-5)
    assert out.loc["nps", "ci_low"] < 6 < out.loc["nps", "ci_high"]
    assert out.loc["nps", "n"] == 10


def test_retention_logit_too_small(binary):
    with pytest.raises(ValueError, match="at least 10"):
        sat.retention_logit(binary.head(5), controls=())


def test_fitted_curve_and_rates_by_hand(binary):
    curve = sat.fitted_return_curve(binary)
    # the saturated fit reproduces the shares: 2/5 at score 0, 4/5 at score 1
    assert curve.loc[curve["score"] == 0, "estimate"].item() == pytest.approx(0.4, rel=1e-5)
    assert curve.loc[np.isclose(curve["score"], 1), "estimate"].item() == pytest.approx(0.8, rel=1e-5)
    rates = sat.return_rate_by_score(binary)
    assert len(rates) == 11 and rates["n"].tolist()[:3] == [5, 5, 0]
    assert rates["estimate"].tolist()[:2] == pytest.approx([0.4, 0.8])


# ---------------------------------------------------------------- plots
def test_plots_draw_on_given_ax(binary):
    fig, (a1, a2) = plt.subplots(1, 2)
    sv = pd.DataFrame({"customer_id": range(6), "stage": list("aaabbb"), "nps": [10, 9, 0, 7, 8, 10]})
    assert ps.plot_nps_composition(sat.nps(sv, by="stage", n_boot=20), label="stage", ax=a1) is a1
    assert a1.get_xlabel() == "share of answers" and len(a1.patches) == 6
    out = ps.plot_return_by_score(sat.return_rate_by_score(binary), curve=sat.fitted_return_curve(binary), ax=a2)
    assert out is a2 and a2.get_xlabel() == "NPS answer (0-10)"


def test_plot_return_by_score_names_missing_column():
    with pytest.raises(ValueError, match="'score'"):
        ps.plot_return_by_score(pd.DataFrame({"estimate": [0.5]}), ax=plt.subplots()[1])


# ---------------------------------------------------------------- recovery on generated data
def test_odds_ratio_recovers_planted_truth():
    from loyalty_lib import synth

    ds = synth.generate(n_customers=12000, seed=5)
    truth = ds.truth["satisfaction"]
    rf = sat.retention_frame(
        ds.surveys, ds.transactions, horizon_days=truth["horizon_days"], end=ds.truth["period"]["end"]
    )
    out = sat.retention_logit(rf[rf["eligible"]], controls=())
    r = out.loc["nps"]
    assert r["ci_low"] <= truth["odds_ratio_per_nps_point"] <= r["ci_high"], (r.to_dict(), truth)
    assert r["estimate"] > 1


@pytest.mark.parametrize("metric", [sat.nps, sat.csat])
def test_default_interval_is_95_percent(metric):
    # A changed default level (95 % -> 90 %) must not pass unnoticed: the default interval is
    # the explicit 95 % one, and strictly wider than the 90 % one drawn from the same resamples.
    rng = np.random.default_rng(3)
    sv = pd.DataFrame({"customer_id": np.arange(400), "nps": rng.integers(0, 11, 400), "csat": rng.integers(1, 6, 400)})
    default = metric(sv, n_boot=200)
    at95 = metric(sv, n_boot=200, level=0.95)
    at90 = metric(sv, n_boot=200, level=0.90)
    np.testing.assert_allclose(default[["ci_low", "ci_high"]], at95[["ci_low", "ci_high"]])
    assert ((default["ci_high"] - default["ci_low"]) > (at90["ci_high"] - at90["ci_low"])).all()
