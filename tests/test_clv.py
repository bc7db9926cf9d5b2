"""Tests for loyalty_lib.clv: RFM summaries, BG/NBD and Gamma-Gamma fits, CLV, plots."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from loyalty_lib import clv
from loyalty_lib.plotting.clv import plot_calibration_holdout, plot_clv_distribution

DATA = Path(__file__).parent / "data"

# Published estimates (Fader, Hardie & Lee 2005; Fader & Hardie's note on the Gamma-Gamma).
BGNBD_PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
BGNBD_LL_PUBLISHED = -9582.4
GG_PUBLISHED = {"p": 6.25, "q": 3.74, "gamma": 15.44}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def rng():
    return np.random.default_rng(20260101)


@pytest.fixture(scope="module")
def cdnow_raw():
    """CDNOW 1/10th sample: one row per order, 2,357 customers, 1997-01-01..1998-06-30."""
    raw = pd.read_csv(
        DATA / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "n_cds", "amount"],
        dtype={"date": str},
    )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw


@pytest.fixture(scope="module")
def cdnow_published():
    """The published 39-week calibration summary (x, t_x, T in weeks; zbar in dollars)."""
    pub = pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv")
    return pub.rename(
        columns={"ID": "customer_id", "x": "frequency", "t_x": "recency", "zbar": "monetary_value"}
    ).set_index("customer_id", drop=False)


@pytest.fixture(scope="module")
def cdnow_summary(cdnow_raw):
    # daily periods, ages in weeks counted to the day, calibration ends 1997-09-30 (week 39)
    return clv.rfm_summary(cdnow_raw, end="1997-10-01", freq="D", time_scaler=7)


@pytest.fixture(scope="module")
def bgnbd_fit(cdnow_summary):
    return clv.fit_bgnbd(cdnow_summary)


@pytest.fixture(scope="module")
def gg_fit(cdnow_summary):
    return clv.fit_gamma_gamma(cdnow_summary)


def sig3(v):
    return float(f"{v:.3g}")


# ------------------------------------------------------------------ rfm_summary, hand-worked


@pytest.fixture
def tiny():
    # 2026-01-01 is a Thursday; pandas "W" weeks run Monday..Sunday:
    # week 0 = 2025-12-29..2026-01-04, week 1 = 01-05..01-11, week 2 = 01-12..18, week 3 = 01-19..25
    return pd.DataFrame(
        {
            "customer_id": ["A", "A", "A", "B", "C", "C"],
            "date": pd.to_datetime(
                ["2026-01-01", "2026-01-01", "2026-01-04", "2026-01-03", "2026-01-06", "2026-01-20"]
            ),
            "amount": [10.0, 5.0, 20.0, 7.0, 12.0, 99.0],
        }
    )


def test_rfm_summary_daily_by_hand(tiny):
    out = clv.rfm_summary(tiny, end="2026-01-11")
    # A: days Jan 1 (10 + 5 = 15, one period) and Jan 4 (20) -> frequency 1,
    #    recency 4 - 1 = 3, T 10 - 1 = 9, monetary = mean of repeat periods = 20
    # B: only Jan 3 -> frequency 0, recency 0, T 10 - 3 = 7, monetary 0
    # C: Jan 6 (Jan 20 is after the end, ignored) -> frequency 0, recency 0, T 10 - 6 = 4
    assert list(out.columns) == clv.RFM_COLUMNS
    assert list(out["customer_id"]) == ["A", "B", "C"] and list(out.index) == ["A", "B", "C"]
    assert out["frequency"].tolist() == [1, 0, 0]
    assert out["recency"].tolist() == [3.0, 0.0, 0.0]
    assert out["T"].tolist() == [9.0, 7.0, 4.0]
    assert out["monetary_value"].tolist() == [20.0, 0.0, 0.0]
    # the input is not modified
    assert tiny["amount"].tolist() == [10.0, 5.0, 20.0, 7.0, 12.0, 99.0]


def test_rfm_summary_weekly_by_hand(tiny):
    out = clv.rfm_summary(tiny, end="2026-01-21", freq="W")
    # end = week 3. A: Jan 1, 1, 4 all in week 0 -> one period, frequency 0, T = 3 - 0 = 3
    # B: week 0 -> frequency 0, T 3.  C: week 1 (12) and week 3 (99) -> frequency 1,
    #    recency 3 - 1 = 2, T 3 - 1 = 2, monetary 99
    assert out["frequency"].tolist() == [0, 0, 1]
    assert out["recency"].tolist() == [0.0, 0.0, 2.0]
    assert out["T"].tolist() == [3.0, 3.0, 2.0]
    assert out["monetary_value"].tolist() == [0.0, 0.0, 99.0]


def test_rfm_summary_default_end_custom_columns(tiny):
    tx = tiny.rename(columns={"customer_id": "cid", "date": "ts", "amount": "net"})
    out = clv.rfm_summary(tx, customer_col="cid", date_col="ts", amount_col="net")
    # end = last receipt, Jan 20: C now has Jan 6 and Jan 20 -> frequency 1, recency 14, T 14
    assert out.loc["C", ["frequency", "recency", "T", "monetary_value"]].tolist() == [1, 14, 14, 99]
    assert out.loc["A", "T"] == 19  # Jan 20 - Jan 1
    assert "customer_id" in out.columns


def test_calibration_and_holdout_by_hand(tiny):
    out = clv.calibration_and_holdout(tiny, calibration_end="2026-01-06", end="2026-01-21")
    # calibration to Jan 5: A f1 r3 T4; B f0 T2; C f0 T0 (first purchase Jan 6 is after: C absent)
    assert list(out.index) == ["A", "B"]
    assert out["T"].tolist() == [4.0, 2.0]
    # holdout Jan 6..Jan 20: A none, B none (C not in calibration) -> 0, duration 15 days
    assert out["frequency_holdout"].tolist() == [0, 0]
    assert out["monetary_value_holdout"].tolist() == [0.0, 0.0]
    assert out["duration_holdout"].tolist() == [15.0, 15.0]
    tx = pd.concat(
        [
            tiny,
            pd.DataFrame(
                {
                    "customer_id": ["A", "A"],
                    "amount": [3.0, 5.0],
                    "date": pd.to_datetime(["2026-01-07", "2026-01-07"]),
                }
            ),
        ]
    )
    out = clv.calibration_and_holdout(tx, calibration_end="2026-01-06", end="2026-01-21")
    # A's two Jan 7 receipts are one holdout period of 3 + 5 = 8
    assert out.loc["A", ["frequency_holdout", "monetary_value_holdout"]].tolist() == [1, 8.0]


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda d: d.drop(columns="date"), r"missing column\(s\) 'date'"),
        (lambda d: d.drop(columns=["amount", "customer_id"]), r"missing column\(s\) 'customer_id', 'amount'"),
        (
            lambda d: d.assign(amount=[1.0, -2.0, 3.0, 4.0, 5.0, 6.0]),
            "'amount'.*negative.*rows \\[1\\]",
        ),
        (lambda d: d.assign(date=d["date"].where(d.index != 2)), "'date'.*missing date"),
        (lambda d: d.assign(customer_id=[None, "A", "A", "B", "C", "C"]), "'customer_id'.*empty"),
    ],
)
def test_rfm_summary_bad_input(tiny, change, match):
    with pytest.raises(ValueError, match=match):
        clv.rfm_summary(change(tiny))


def test_calibration_end_must_precede_end(tiny):
    with pytest.raises(ValueError, match="must be at least one D period after"):
        clv.calibration_and_holdout(tiny, calibration_end="2026-01-11", end="2026-01-11")


# ------------------------------------------------------------------ CDNOW: published summary


def test_rfm_summary_rebuilds_published_cdnow_summary(cdnow_summary, cdnow_published):
    s = cdnow_summary.loc[cdnow_published.index]
    assert len(cdnow_summary) == 2357
    np.testing.assert_array_equal(s["frequency"], cdnow_published["frequency"])
    # the published file rounds weeks and dollars to 2 decimals
    np.testing.assert_allclose(s["recency"], cdnow_published["recency"], atol=0.005)
    np.testing.assert_allclose(s["T"], cdnow_published["T"], atol=0.005)
    np.testing.assert_allclose(s["monetary_value"], cdnow_published["monetary_value"], atol=0.0051)
    assert (s["frequency"] > 0).sum() == 946


def test_cdnow_calibration_and_holdout(cdnow_raw, cdnow_summary):
    ch = clv.calibration_and_holdout(
        cdnow_raw,
        calibration_end="1997-10-01",
        end="1998-07-01",
        freq="D",
        time_scaler=7,
    )
    pd.testing.assert_frame_equal(ch[clv.RFM_COLUMNS], cdnow_summary)
    # 1997-09-30 -> 1998-06-30 is 273 days = 39 weeks
    assert (ch["duration_holdout"] == 39.0).all()
    # customer 1 bought once more in the holdout (1997-12-12, $26.48)
    assert ch.loc[1, ["frequency_holdout", "monetary_value_holdout"]].tolist() == [1, 26.48]
    # total repeat periods in the holdout: every holdout day with a purchase, counted once
    raw = cdnow_raw[cdnow_raw["date"] > "1997-09-30"]
    assert ch["frequency_holdout"].sum() == raw[["customer_id", "date"]].drop_duplicates().shape[0]


def test_rfm_summary_matches_lifetimes(cdnow_raw):
    lt_utils = pytest.importorskip("lifetimes.utils")
    for freq in ["D", "W"]:
        ours = clv.rfm_summary(cdnow_raw, end="1998-01-01", freq=freq)
        ref = lt_utils.summary_data_from_transaction_data(
            cdnow_raw,
            "customer_id",
            "date",
            monetary_value_col="amount",
            observation_period_end="1997-12-31",
            freq=freq,
        )
        ref = ref.loc[ours.index]
        for col in ["frequency", "recency", "T", "monetary_value"]:
            np.testing.assert_allclose(ours[col], ref[col], rtol=1e-12, err_msg=f"{freq} {col}")


# ------------------------------------------------------------------ CDNOW: published fits


def test_bgnbd_reproduces_published_cdnow_estimates(bgnbd_fit):
    assert {k: sig3(v) for k, v in bgnbd_fit.params.items()} == {k: sig3(v) for k, v in BGNBD_PUBLISHED.items()}
    assert bgnbd_fit.log_likelihood == pytest.approx(BGNBD_LL_PUBLISHED, abs=0.05)
    assert bgnbd_fit.n == 2357
    table = bgnbd_fit.to_frame()
    assert list(table.columns) == ["estimate", "se", "ci_low", "ci_high", "n"]
    assert (table["ci_low"] < table["estimate"]).all() and (table["estimate"] < table["ci_high"]).all()
    assert np.isfinite(table["se"]).all() and (table["se"] > 0).all()


def test_bgnbd_on_published_summary_file(cdnow_published):
    fit = clv.fit_bgnbd(cdnow_published)
    for k, v in BGNBD_PUBLISHED.items():
        assert sig3(fit.params[k]) == sig3(v)


def test_gamma_gamma_reproduces_published_cdnow_estimates(gg_fit, cdnow_published):
    assert gg_fit.n == 946
    assert {k: sig3(v) for k, v in gg_fit.params.items()} == {k: sig3(v) for k, v in GG_PUBLISHED.items()}
    fit = clv.fit_gamma_gamma(cdnow_published)  # the 2-decimal published zbar
    assert {k: sig3(v) for k, v in fit.params.items()} == {k: sig3(v) for k, v in GG_PUBLISHED.items()}


# ------------------------------------------------------- predictions, checked independently


def test_expected_purchases_published_example(bgnbd_fit):
    # Fader, Hardie & Lee (2005), section 5: a customer with x = 2, t_x = 30.43, T = 38.86 is
    # expected to make 1.226 purchases in the next 39 weeks.
    one = pd.DataFrame({"frequency": [2], "recency": [30.43], "T": [38.86]})
    assert clv.expected_purchases(bgnbd_fit, 39, one).iloc[0] == pytest.approx(1.226, abs=5e-4)


def test_expected_purchases_zero_frequency_by_quadrature():
    # x = 0: the customer is surely alive (BG/NBD drops out only right after a purchase), the
    # posterior is lambda ~ Gamma(r, alpha + T), p ~ Beta(a, b), and an alive customer makes
    # (1 - exp(-lambda p t)) / p purchases in t on average; integrating lambda out gives
    # E = E_p[(1 - ((alpha+T)/(alpha+T+p t))^r) / p], a 1-D integral over the Beta(a, b) prior.
    par = {"r": 0.8, "alpha": 3.0, "a": 1.7, "b": 4.0}
    big_t, t = 20.0, 52.0

    def integrand(p):
        cond = (1 - ((par["alpha"] + big_t) / (par["alpha"] + big_t + p * t)) ** par["r"]) / p
        return cond * stats.beta.pdf(p, par["a"], par["b"])

    expect, _ = integrate.quad(integrand, 0, 1)
    one = pd.DataFrame({"frequency": [0], "recency": [0.0], "T": [big_t]})
    assert clv.expected_purchases(par, t, one).iloc[0] == pytest.approx(expect, rel=1e-7)
    assert clv.probability_alive(par, one).iloc[0] == 1.0
    # a new customer (T = 0) expects the population E[X(t)]
    fresh = pd.DataFrame({"frequency": [0], "recency": [0.0], "T": [0.0]})
    assert clv.expected_purchases(par, t, fresh).iloc[0] == pytest.approx(
        clv.expected_purchases_population(par, t), rel=1e-10
    )


def test_probability_alive_by_quadrature():
    # P(alive | x, t_x, T) = I_alive / (I_alive + I_dead) with, over the priors,
    # I_alive = E[lambda^x e^{-lambda T}] E[(1-p)^x],
    # I_dead = E[lambda^x e^{-lambda t_x}] E[p (1-p)^(x-1)]
    par = {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 2.5}
    x, t_x, big_t = 3, 12.0, 30.0
    gam = stats.gamma(par["r"], scale=1 / par["alpha"])
    bet = stats.beta(par["a"], par["b"])
    lam = lambda age: integrate.quad(lambda v: v**x * np.exp(-v * age) * gam.pdf(v), 0, np.inf)[0]  # noqa: E731
    i_alive = lam(big_t) * integrate.quad(lambda p: (1 - p) ** x * bet.pdf(p), 0, 1)[0]
    i_dead = lam(t_x) * integrate.quad(lambda p: p * (1 - p) ** (x - 1) * bet.pdf(p), 0, 1)[0]
    one = pd.DataFrame({"frequency": [x], "recency": [t_x], "T": [big_t]})
    assert clv.probability_alive(par, one).iloc[0] == pytest.approx(i_alive / (i_alive + i_dead), rel=1e-6)


def test_population_expectation_small_t():
    # for small t, E[X(t)] ~ (buying rate) * t = (r / alpha) * t
    par = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert clv.expected_purchases_population(par, 1e-6) == pytest.approx(0.243 / 4.414 * 1e-6, rel=1e-4)
    assert clv.expected_purchases_population(par, 0.0) == 0.0


def test_expected_spend_by_hand():
    # p = 2, q = 3, gamma = 10: population mean p*gamma/(q-1) = 20/2 = 10
    # x = 0 -> 10; x = 1, zbar = 30: w = 2/(2+2) = 0.5 -> 0.5*30 + 0.5*10 = 20
    # x = 4, zbar = 5: w = 8/(8+2) = 0.8 -> 0.8*5 + 0.2*10 = 6
    s = pd.DataFrame({"frequency": [0, 1, 4], "monetary_value": [0.0, 30.0, 5.0]})
    out = clv.expected_spend({"p": 2, "q": 3, "gamma": 10}, s)
    np.testing.assert_allclose(out, [10.0, 20.0, 6.0])
    with pytest.raises(ValueError, match="q = 0.9"):
        clv.expected_spend({"p": 2, "q": 0.9, "gamma": 10}, s)


def test_clv_one_month_undiscounted_is_purchases_times_spend(bgnbd_fit, gg_fit, cdnow_summary):
    s = cdnow_summary.head(50)
    out = clv.clv(bgnbd_fit, gg_fit, s, horizon_months=1, discount_rate_annual=0.0, freq="W", margin=0.5)
    k = 365.25 / 12 / 7
    expect = 0.5 * clv.expected_purchases(bgnbd_fit, k, s) * clv.expected_spend(gg_fit, s)
    np.testing.assert_allclose(out["clv"], expect, rtol=1e-12)
    assert list(out.columns) == [
        "customer_id",
        "probability_alive",
        "expected_purchases",
        "expected_spend",
        "clv",
    ]
    longer = clv.clv(bgnbd_fit, gg_fit, s, horizon_months=24, freq="W")
    shorter = clv.clv(bgnbd_fit, gg_fit, s, horizon_months=12, freq="W")
    cheaper = clv.clv(bgnbd_fit, gg_fit, s, horizon_months=12, freq="W", discount_rate_annual=0.5)
    assert (longer["clv"] > shorter["clv"]).all() and (cheaper["clv"] < shorter["clv"]).all()


def test_clv_matches_lifetimes(bgnbd_fit, gg_fit, cdnow_summary):
    pytest.importorskip("lifetimes")
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    bgf = BetaGeoFitter()
    bgf.params_ = pd.Series(bgnbd_fit.params)
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time  # set by .fit() normally
    ggf = GammaGammaFitter()
    ggf.params_ = pd.Series({"p": gg_fit.params["p"], "q": gg_fit.params["q"], "v": gg_fit.params["gamma"]})
    s = cdnow_summary.head(200)
    ref = ggf.customer_lifetime_value(
        bgf,
        s["frequency"],
        s["recency"],
        s["T"],
        s["monetary_value"],
        time=12,
        discount_rate=0.01,
        freq="W",
    )
    # lifetimes: 4.345 weeks per month and a monthly rate of 1 %
    ours = clv.clv(bgnbd_fit, gg_fit, s, horizon_months=12, freq=4.345, discount_rate_annual=1.01**12 - 1)
    np.testing.assert_allclose(ours["clv"], ref.to_numpy(), rtol=1e-8)


def test_calibration_holdout_table_cdnow(cdnow_raw):
    ch = clv.calibration_and_holdout(
        cdnow_raw,
        calibration_end="1997-10-01",
        end="1998-07-01",
        freq="D",
        time_scaler=7,
    )
    fit = clv.fit_bgnbd(ch)
    table = clv.calibration_holdout_table(fit, ch, max_frequency=7)
    assert table["frequency"].tolist() == list(range(8))
    assert table["n"].sum() == 2357
    # the BG/NBD tracks the holdout well on CDNOW (Fader et al. 2005, figure 4)
    assert np.abs(table["model"] - table["actual"]).max() < 1.0
    inside = (table["ci_low"] <= table["model"]) & (table["model"] <= table["ci_high"])
    assert inside.mean() >= 0.6


# ------------------------------------------------------- recovery on simulated BG/NBD data


def simulate_bgnbd(rng, n, par, big_t):
    """Draw (frequency, recency, T) from the BG/NBD with a common observation length T."""
    lam = rng.gamma(par["r"], 1 / par["alpha"], n)
    p = rng.beta(par["a"], par["b"], n)
    n_arrivals = rng.poisson(lam * big_t)  # purchases if never dropping out
    dies_after = rng.geometric(p)  # drop out right after this repeat purchase
    x = np.minimum(n_arrivals, dies_after)
    # the x-th of N uniform arrival times on [0, T] is T * Beta(x, N - x + 1)
    t_x = np.where(x > 0, big_t * rng.beta(np.maximum(x, 1), np.maximum(n_arrivals - x + 1, 1)), 0.0)
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": np.full(n, float(big_t))})


def test_bgnbd_recovers_simulated_parameters(rng):
    truth = {"r": 0.6, "alpha": 5.0, "a": 0.8, "b": 3.0}
    data = simulate_bgnbd(rng, 8000, truth, big_t=52.0)
    table = clv.fit_bgnbd(data).to_frame()
    z = (np.log(table["estimate"]) - np.log(pd.Series(truth))) / (table["se"] / table["estimate"])
    assert (z.abs() < 3.5).all(), table.assign(truth=pd.Series(truth))


def test_gamma_gamma_recovers_simulated_parameters(rng):
    truth = {"p": 4.0, "q": 5.0, "gamma": 60.0}
    n = 4000
    x = rng.integers(1, 8, n)
    nu = rng.gamma(truth["q"], 1 / truth["gamma"], n)
    zbar = rng.gamma(truth["p"] * x, 1 / (nu * x))  # mean of x Gamma(p, nu) spends
    table = clv.fit_gamma_gamma(pd.DataFrame({"frequency": x, "monetary_value": zbar})).to_frame()
    covered = (table["ci_low"] <= pd.Series(truth)) & (pd.Series(truth) <= table["ci_high"])
    z = (np.log(table["estimate"]) - np.log(pd.Series(truth))) / (table["se"] / table["estimate"])
    assert (z.abs() < 3.5).all(), table.assign(truth=pd.Series(truth), covered=covered)


# ------------------------------------------------------------------ fits: bad input


@pytest.mark.parametrize(
    "frame, exc, match",
    [
        (pd.DataFrame({"frequency": [1, 0], "recency": [1.0, 0.0]}), ValueError, r"missing column\(s\) 'T'"),
        (
            pd.DataFrame({"frequency": [0] * 5, "recency": [0.0] * 5, "T": [5.0] * 5}),
            clv.ClvFitError,
            "no repeat buyers",
        ),
        (
            pd.DataFrame({"frequency": [1, -1, 0, 2], "recency": [1.0, 0, 0, 2], "T": [3.0] * 4}),
            ValueError,
            "'frequency'.*negative",
        ),
        (
            pd.DataFrame({"frequency": [1, 1, 0, 2], "recency": [5.0, 0, 0, 2], "T": [3.0] * 4}),
            ValueError,
            "recency must be <= T",
        ),
        (
            pd.DataFrame({"frequency": [1, 2], "recency": [1.0, 2.0], "T": [3.0, 3.0]}),
            clv.ClvFitError,
            "cannot identify",
        ),
    ],
)
def test_fit_bgnbd_bad_input(frame, exc, match):
    with pytest.raises(exc, match=match):
        clv.fit_bgnbd(frame)


@pytest.mark.parametrize(
    "frame, exc, match",
    [
        (pd.DataFrame({"frequency": [1, 2]}), ValueError, r"missing column\(s\) 'monetary_value'"),
        (
            pd.DataFrame({"frequency": [0, 0, 0], "monetary_value": [0.0, 0, 0]}),
            clv.ClvFitError,
            "0 repeat buyer",
        ),
        (
            pd.DataFrame({"frequency": [1, 2, 3], "monetary_value": [5.0, 5.0, 5.0]}),
            clv.ClvFitError,
            "same mean spend",
        ),
        (
            pd.DataFrame({"frequency": [1, 2, 3], "monetary_value": [5.0, np.nan, 5.0]}),
            ValueError,
            "'monetary_value'.*missing",
        ),
    ],
)
def test_fit_gamma_gamma_bad_input(frame, exc, match):
    with pytest.raises(exc, match=match):
        clv.fit_gamma_gamma(frame)


def test_clv_fit_error_is_runtime_error():
    assert issubclass(clv.ClvFitError, RuntimeError)


def test_predictions_reject_bad_params():
    s = pd.DataFrame({"frequency": [1], "recency": [1.0], "T": [2.0]})
    with pytest.raises(ValueError, match=r"lack \['b'\]"):
        clv.probability_alive({"r": 1, "alpha": 1, "a": 1}, s)
    with pytest.raises(ValueError, match="positive"):
        clv.expected_purchases({"r": 1, "alpha": -1, "a": 1, "b": 1}, 5, s)


# ------------------------------------------------------------------ summaries and plots


def test_summarise_clv_by_group():
    data = pd.DataFrame({"clv": [1.0, 3.0, 10.0, 20.0, 30.0], "member": [False, False, True, True, True]})
    out = clv.summarise_clv(data, by="member")
    # non-members: mean (1 + 3)/2 = 2, n 2; members: mean 60/3 = 20, n 3, total 60
    assert out.loc[False, "estimate"] == 2.0 and out.loc[True, "estimate"] == 20.0
    assert out.loc[True, "n"] == 3 and out.loc[True, "total"] == 60.0
    assert out.loc[True, "ci_low"] < 20 < out.loc[True, "ci_high"]
    assert clv.summarise_clv(data).loc["all", "n"] == 5


def test_plot_calibration_holdout(cdnow_raw):
    ch = clv.calibration_and_holdout(
        cdnow_raw,
        calibration_end="1997-10-01",
        end="1998-07-01",
        freq="D",
        time_scaler=7,
    )
    fit = clv.fit_bgnbd(ch)
    fig, ax = plt.subplots()
    out = plot_calibration_holdout(ch, params=fit, ax=ax)
    assert out is ax
    assert ax.get_xlabel() == "repeat purchases in calibration period"
    assert ax.get_ylabel() == "mean purchases in holdout period"
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "7+"
    _, ax2 = plt.subplots()
    plot_calibration_holdout(clv.calibration_holdout_table(fit, ch), ax=ax2)
    with pytest.raises(ValueError, match="params="):
        plot_calibration_holdout(ch)


def test_plot_clv_distribution(bgnbd_fit, gg_fit, cdnow_summary):
    values = clv.clv(bgnbd_fit, gg_fit, cdnow_summary, freq="W")
    values["member"] = values["customer_id"] % 2 == 0
    fig, ax = plt.subplots()
    assert plot_clv_distribution(values, by="member", ax=ax) is ax
    assert ax.get_ylabel() == "share of customers"
    assert ax.get_xlabel() == "lifetime value per customer (log scale)"
    assert len(ax.patches) == 2  # one filled step histogram per group
    assert 0 < ax.get_ylim()[1] <= 1  # shares of each group's customers
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("Member: no") and labels[1].startswith("Member: yes")
    with pytest.raises(ValueError, match="segment"):
        plot_clv_distribution(values, by="segment", ax=ax)


def test_analytic_gradients_match_finite_differences(cdnow_published):
    from scipy.optimize import approx_fprime

    x, t_x, big_t = (cdnow_published[c].to_numpy(float) for c in ["frequency", "recency", "T"])
    w = np.ones_like(x)
    logp = np.log([0.3, 5.0, 0.9, 2.0])
    num = approx_fprime(logp, lambda lp: clv.bgnbd._loglik(lp, x, t_x, big_t).sum(), 1e-6)
    np.testing.assert_allclose(clv.bgnbd._grad(logp, x, t_x, big_t, w), num, rtol=1e-4)


# ------------------------------------------------------- recovery on the synthetic branch


@pytest.fixture(scope="module")
def synthetic_branch():
    synth = pytest.importorskip("loyalty_lib.synth")
    return synth.generate("sergey_branch", n_customers=3000, seed=11)


def test_clv_pipeline_on_synthetic_branch(synthetic_branch):
    ds = synthetic_branch
    # stay before the program launch (2026-01-01), where visit rates are the planted base rates
    ch = clv.calibration_and_holdout(ds.transactions, calibration_end="2025-09-01", end="2026-01-01")
    with pytest.warns(clv.ClvFitWarning, match="no dropout"):
        # the generator plants Poisson buying without churn: a/(a+b) -> 0 is the right answer
        fit = clv.fit_bgnbd(ch)
    gg = clv.fit_gamma_gamma(ch)
    assert all(np.isfinite(v) and v > 0 for v in {**fit.params, **gg.params}.values())
    assert fit.params["a"] / (fit.params["a"] + fit.params["b"]) < 1e-3
    assert 0.1 < fit.params["r"] < 5 and gg.params["q"] > 1
    assert np.isfinite(fit.se["r"]) and np.isfinite(fit.se["alpha"])
    # planted truth: a customer's expected holdout visits are base_rate_per_year / 365 * days
    truth = ds.truth_tables["customers"].set_index("customer_id")
    expected_true = truth.loc[ch.index, "base_rate_per_year"] / 365 * ch["duration_holdout"]
    pred = clv.expected_purchases(fit, ch["duration_holdout"], ch)
    assert pred.sum() / expected_true.sum() == pytest.approx(1, abs=0.08)
    assert np.corrcoef(pred, expected_true)[0, 1] > 0.85
    # expected spend tracks the planted basket scale of repeat buyers
    rep = ch["frequency"] > 0
    spend = clv.expected_spend(gg, ch)[rep]
    assert np.corrcoef(np.log(spend), np.log(truth.loc[ch.index[rep], "basket_scale"]))[0, 1] > 0.85
    # full-period CLV, members vs everybody else
    summary = clv.rfm_summary(ds.transactions, end=ds.truth["period"]["end"])
    with pytest.warns(clv.ClvFitWarning):
        fit_all = clv.fit_bgnbd(summary)
    values = clv.clv(fit_all, clv.fit_gamma_gamma(summary), summary, freq="D", margin=0.3)
    values["member"] = values["customer_id"].isin(ds.cards["customer_id"].dropna())
    table = clv.summarise_clv(values, by="member")
    assert (values["clv"] >= 0).all() and np.isfinite(values["clv"]).all()
    assert table.loc[True, "estimate"] > table.loc[False, "estimate"]  # heavy buyers join more
    summary["member"] = values["member"]
    with_model = clv.clv_interval(
        fit_all, clv.fit_gamma_gamma(summary), summary, by="member", n_draws=40, freq="D", margin=0.3
    )
    assert np.isfinite(with_model[["ci_low", "ci_high"]].to_numpy()).all()
    assert (with_model["ci_low"] < table["estimate"]).all()
    assert (table["estimate"] < with_model["ci_high"]).all()


def test_clv_interval(bgnbd_fit, gg_fit, cdnow_summary):
    s = cdnow_summary.assign(group=np.where(cdnow_summary["customer_id"] % 2 == 0, "even", "odd"))
    out = clv.clv_interval(bgnbd_fit, gg_fit, s, by="group", n_draws=60, seed=3, freq="W")
    assert list(out.columns) == ["estimate", "ci_low", "ci_high", "n"]
    assert out.index.tolist() == ["even", "odd"] and out["n"].sum() == 2357
    point = clv.clv(bgnbd_fit, gg_fit, s, freq="W").groupby(s["group"])["clv"].mean()
    np.testing.assert_allclose(out["estimate"], point)
    assert (out["ci_low"] < out["estimate"]).all() and (out["estimate"] < out["ci_high"]).all()
    # same seed, same answer; fixed parameters (dicts) give a narrower, sampling-only interval
    again = clv.clv_interval(bgnbd_fit, gg_fit, s, by="group", n_draws=60, seed=3, freq="W")
    pd.testing.assert_frame_equal(out, again)
    fixed = clv.clv_interval(bgnbd_fit.params, gg_fit.params, s, n_draws=60, freq="W")
    assert fixed.index.tolist() == ["all"] and fixed.loc["all", "n"] == 2357


def test_week_numbers_match_pandas_weekly_periods(rng):
    dates = pd.Series(pd.Timestamp("1996-12-25") + pd.to_timedelta(rng.integers(0, 2000, 500), "D"))
    ours = clv.data._period_ordinals(dates, "W")
    ref = dates.dt.to_period("W").array.asi8
    np.testing.assert_array_equal(ours - ours.min(), ref - ref.min())
    # other pandas period aliases also work (months here)
    monthly = clv.rfm_summary(
        pd.DataFrame({"customer_id": [1, 1], "date": ["2026-01-31", "2026-03-01"], "amount": [1, 2]}),
        freq="M",
    )
    assert monthly[["frequency", "recency", "T"]].iloc[0].tolist() == [1, 2.0, 2.0]


def test_rfm_summary_without_amounts_and_with_time_zones(tiny):
    out = clv.rfm_summary(tiny.drop(columns="amount"), amount_col=None, end="2026-01-11")
    assert out["frequency"].tolist() == [1, 0, 0] and (out["monetary_value"] == 0).all()
    tz = tiny.assign(date=tiny["date"].dt.tz_localize("Europe/Moscow"))
    out_tz = clv.rfm_summary(tz, end="2026-01-11")
    pd.testing.assert_frame_equal(out_tz, clv.rfm_summary(tiny, end="2026-01-11"))


def test_one_pass_likelihood_matches_reference(cdnow_published):
    x, t_x, big_t = (cdnow_published[c].to_numpy(float) for c in ["frequency", "recency", "T"])
    w = np.random.default_rng(0).integers(1, 4, len(x)).astype(float)
    xv, xi = np.unique(x, return_inverse=True)
    logp = np.log([0.3, 5.0, 0.9, 2.0])
    ll, grad = clv.bgnbd._value_grad(logp, xv, xi, x, t_x, big_t, w, np.bincount(xi, weights=w))
    assert ll == pytest.approx(w @ clv.bgnbd._loglik(logp, x, t_x, big_t), rel=1e-12)
    np.testing.assert_allclose(grad, clv.bgnbd._grad(logp, x, t_x, big_t, w), rtol=1e-10)


def test_gamma_gamma_without_within_customer_spread_warns(rng):
    # every repeat purchase of a customer costs exactly the customer's mean: p -> infinity
    n = 400
    x = rng.integers(1, 8, n)
    zbar = 1 / rng.gamma(3.0, 1 / 600.0, n)
    with pytest.warns(clv.ClvFitWarning, match=r"\['p'\] ran to the edge"):
        fit = clv.fit_gamma_gamma(pd.DataFrame({"frequency": x, "monetary_value": zbar}))
    assert fit.boundary == ("p",) and np.isnan(fit.se["p"]) and np.isfinite(fit.se["q"])
    # expected spend is then the customer's own average
    s = pd.DataFrame({"frequency": x, "monetary_value": zbar})
    np.testing.assert_allclose(clv.expected_spend(fit, s), zbar, rtol=1e-3)


# ------------------------------------------------------------------ the shared fitting base


class _PoissonRate(clv.ClvModel):
    """Purchases x in time T at one rate lam: the simplest model on the base, solvable by hand."""

    name = "poisson"
    who = "fit_poisson"
    param_names = ("lam",)

    def prepare(self, summary):
        return {"x": summary["frequency"].to_numpy(float), "t": summary["T"].to_numpy(float)}, len(summary)

    def start_values(self, data):
        return np.array([1.0])

    def objective(self, data):
        x, t = data["x"].sum(), data["t"].sum()
        # log L = x log(lam) - lam t; in log-parameters u = log(lam): d/du = x - lam t
        return (lambda u: -(x * u[0] - np.exp(u[0]) * t)), (lambda u: -np.array([x - np.exp(u[0]) * t]))


def test_fitting_base_owns_optimisation_standard_errors_and_summary():
    # 12 purchases in 40 periods: lam = 12/40 = 0.3; Fisher information of log(lam) is
    # lam * T = 12, so se(log lam) = 1/sqrt(12) and se(lam) = 0.3/sqrt(12) = 0.0866025
    s = pd.DataFrame({"frequency": [2, 4, 6], "T": [10.0, 10.0, 20.0]})
    fit = _PoissonRate().fit(s)
    assert fit.model == "poisson" and fit.n == 3 and fit.boundary == ()
    assert fit.params["lam"] == pytest.approx(0.3, rel=1e-6)
    assert fit.se["lam"] == pytest.approx(0.3 / np.sqrt(12), rel=1e-4)
    assert fit.log_likelihood == pytest.approx(12 * np.log(0.3) - 12, rel=1e-9)
    table = fit.to_frame()
    # interval symmetric on the log scale: 0.3 * exp(-/+ 1.959964 / sqrt(12))
    assert table.loc["lam", "ci_low"] == pytest.approx(0.3 * np.exp(-1.959964 / np.sqrt(12)), rel=1e-4)
    assert table.loc["lam", "ci_high"] == pytest.approx(0.3 * np.exp(1.959964 / np.sqrt(12)), rel=1e-4)
    narrow = fit.to_frame(level=0.9)
    assert np.log(narrow.loc["lam", "ci_high"] / 0.3) == pytest.approx(1.644854 / np.sqrt(12), rel=1e-4)
    assert list(table.columns) == ["estimate", "se", "ci_low", "ci_high", "n"]
    # parameter checks come with the base too
    assert _PoissonRate.check_params({"lam": 0.5}, "f") == [0.5]
    with pytest.raises(ValueError, match=r"f: params lack \['lam'\]"):
        _PoissonRate.check_params({}, "f")


def test_models_are_classes_on_the_base():
    assert issubclass(clv.BetaGeoModel, clv.ClvModel) and issubclass(clv.GammaGammaModel, clv.ClvModel)
    assert clv.BetaGeoModel.param_names == clv.BGNBD_PARAMS
