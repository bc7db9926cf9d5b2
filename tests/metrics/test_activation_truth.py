"""Activation within d days: the plain share, and its planted value with campaign visits."""

import numpy as np
import pandas as pd
import pytest

from loyalty_lib import truth as tl
from loyalty_lib.metrics import enrollment

START = pd.Timestamp("2025-01-01")


def test_activation_within_counts_only_cards_watched_long_enough():
    m = pd.DataFrame(
        {
            "days_to_activation": [1.0, 40.0, np.nan, 5.0, np.nan],
            "followup_days": [100.0, 100.0, 100.0, 20.0, 10.0],
        }
    )
    out = enrollment.activation_within(m, [30, 90, 200])
    # day 30: watched >= 30 are rows 0-2, used by day 30 only row 0 -> 1/3
    # day 90: the same three cards, rows 0 and 1 used -> 2/3; day 200: no card watched that long
    assert out["n"].tolist() == [3, 3, 0]
    np.testing.assert_allclose(out["estimate"].to_numpy()[:2], [1 / 3, 2 / 3])
    assert np.isnan(out.loc[200.0, "estimate"])
    assert (out["ci_low"].iloc[:2] < out["estimate"].iloc[:2]).all()


def test_planted_activation_adds_the_visits_campaigns_bring():
    # one activator who never visits on their own (rate 0) and always shows the card; one treated
    # contact on day 10 (09:00 = generator time 10.0) with a 50 % chance of bringing a visit,
    # 0.5 days later plus an exponential delay of mean 4 days capped at window - 1 = 13 days
    tc = pd.DataFrame({"customer_id": ["a"], "base_rate_per_year": [0.0], "activator": [True], "card_use_prob": [1.0]})
    members = pd.DataFrame({"customer_id": ["a"], "issued_date": [START + pd.Timedelta(hours=9)]})
    offers = pd.DataFrame(
        {
            "customer_id": ["a", "a"],
            "date": [START + pd.Timedelta(days=10, hours=9)] * 2,
            "channel": ["sms", "sms"],
            "offer_type": ["win_back", "win_back"],
            "group": ["treatment", "holdout"],  # the held-out contact brings nothing
        }
    )
    median = 10.5 + 4 * np.log(2)  # half of the responders have come by then
    days = [5.0, median, 40.0]
    s = enrollment.planted_activation_by_day(
        tc,
        members,
        days,
        frequency_uplift=0.0,
        offers=offers,
        extra_visit_prob={"win_back": {"sms": 0.5}},
        start=START,
        end=START + pd.Timedelta(days=365),
        response_window_days=14,
        response_delay_days=4.0,
    )
    np.testing.assert_allclose(s.to_numpy(), [0.0, 0.25, 0.5])
    # a data end before the visit can happen cuts it off
    cut = enrollment.planted_activation_by_day(
        tc,
        members,
        [40.0],
        frequency_uplift=0.0,
        offers=offers,
        extra_visit_prob={"win_back": {"sms": 0.5}},
        start=START,
        end=START + pd.Timedelta(days=10),
    )
    assert cut.iloc[0] == 0.0


def test_plain_activation_share_recovers_the_planted_share(branch_dir):
    from loyalty_lib import io

    ds = io.load(branch_dir)
    launch, end = pd.Timestamp(ds.truth["period"]["launch"]), pd.Timestamp(ds.truth["period"]["end"])
    m = enrollment.member_table(ds.cards, ds.transactions, end=end)
    m = m[m["issued_date"] >= launch]
    days = [30.0, 90.0]
    est = enrollment.activation_within(m, days)
    out = tl.annotate(est, ds, "activation", members=m[m["followup_days"] >= 90])
    r = out.loc[90.0]
    se = (r["ci_high"] - r["ci_low"]) / (2 * 1.96)
    assert abs(r["estimate"] - r["truth"]) < 2.5 * se, out
    # without the campaign visits the planted share would be about a point lower, outside it
    plain = enrollment.planted_activation_by_day(
        ds.truth_tables["customers"],
        m[m["followup_days"] >= 90],
        [90.0],
        frequency_uplift=ds.truth["uplift"]["frequency_pct"] / 100,
    ).iloc[0]
    assert r["truth"] - plain > 0.005


def _tc(rates, use=1.0):
    n = len(rates)
    return pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1),
            "base_rate_per_year": np.asarray(rates, float) * 365.0,
            "activator": True,
            "card_use_prob": use,
        }
    )


def test_planted_activation_of_a_card_issued_on_a_day_by_hand():
    # one visit a day, always with the card; issued on 1 March (a date: the hand-out purchase
    # fell at a uniform share f of that shop day, the count's clock starts at midnight)
    tc = _tc([1.0])
    m = pd.DataFrame({"customer_id": [1], "issued_date": pd.to_datetime(["2025-03-01"])})
    s = enrollment.planted_activation_by_day(tc, m, [0.5, 1.0, 2.0], frequency_uplift=0.0)
    # day 2 (2 March 24:00 = generator time 2 since the issue day): no use when the visits of the
    # 2 - f days after the issue missed it, mean over f of exp(-(2 - f)) = exp(-2) (e - 1)
    # day 1: 1 - exp(-1) (e - 1) = exp(-1); day 0.5 (12:00 = a quarter of the shop day): only
    # issues before then count, each with 0.25 - f of the day left: 0.25 - (1 - exp(-0.25))
    want = [0.25 - (1 - np.exp(-0.25)), np.exp(-1.0), 1 - np.exp(-2.0) * (np.e - 1)]
    np.testing.assert_allclose(s.to_numpy(), want, rtol=1e-12)
    # the same card with its issue moment known (15:00, half the shop day): d days from it
    at = m.assign(issued_date=pd.to_datetime(["2025-03-01 15:00"]))
    np.testing.assert_allclose(
        enrollment.planted_activation_by_day(tc, at, [1.0, 2.0], frequency_uplift=0.0).to_numpy(),
        1 - np.exp(-np.array([1.0, 2.0])),
        rtol=1e-12,
    )
    # a holder who never visits, and a non-activator, never use it
    never = enrollment.planted_activation_by_day(_tc([0.0]), m, [30.0], frequency_uplift=0.0)
    assert never.iloc[0] == 0.0


def test_planted_activation_and_the_count_agree_on_the_generators_clock():
    # cards handed out at purchases on the generator's clock (generator days: whole days plus the
    # share of the 9:00-21:00 shop day), first uses after exponential waits, stamped as the
    # generator stamps receipts; member_table and activation_within count them from the issue
    # date, exactly as 02 does. The reference reads the same clock, so the two agree up to the
    # sampling error; reading d days from the issue moment instead is off by many errors.
    from loyalty_lib.synth import _timestamps
    from loyalty_lib.synth.scenario import SCENARIOS

    sc = SCENARIOS["sergey_branch"]
    rng = np.random.default_rng(7)
    n = 60_000
    rate = rng.choice([0.02, 0.1, 0.5], n)  # card uses per day
    t_issue = rng.integers(0, 200, n) + rng.random(n)
    t_use = t_issue + rng.exponential(1 / rate)
    end = sc.t_start + pd.Timedelta(days=400)
    cards = pd.DataFrame(
        {
            "card_id": np.arange(1, n + 1),
            "customer_id": np.arange(1, n + 1),
            "issued_date": _timestamps(sc, t_issue).dt.normalize(),
        }
    )
    tx = pd.DataFrame(
        {"customer_id": np.arange(1, n + 1), "card_id": np.arange(1, n + 1), "date": _timestamps(sc, t_use)}
    )
    members = enrollment.member_table(cards, tx, end=end)
    days = [1.0, 7.0, 30.0]
    count = enrollment.activation_within(members, days)
    planted = enrollment.planted_activation_by_day(_tc(rate), members, days, frequency_uplift=0.0)
    se = np.sqrt(planted * (1 - planted) / count["n"])
    z = (count["estimate"] - planted) / se
    assert (z.abs() < 3.5).all(), pd.DataFrame({"count": count["estimate"], "planted": planted, "z": z})
    from_issue = 1 - np.exp(-np.outer(rate, days)).mean(axis=0)  # d days from the hand-out purchase
    assert ((from_issue - count["estimate"]) / se)[[1.0, 7.0]].min() > 5


def _sweep(seeds, n_customers, days):
    """Per seed and horizon, the plain share and its planted value over the same cards, as 02 reads
    them; beside it, the old reference (d days from an issue at opening time) at the first horizon."""
    from loyalty_lib import synth

    rows = []
    for seed in seeds:
        ds = synth.generate(n_customers=n_customers, seed=seed)
        launch, end = pd.Timestamp(ds.truth["period"]["launch"]), pd.Timestamp(ds.truth["period"]["end"])
        members = enrollment.member_table(ds.cards, ds.transactions, end=end)
        members = members[members["issued_date"] >= launch]
        within = enrollment.activation_within(members, days)
        watched = [members[members["followup_days"] >= d] for d in days]
        frames = [tl.annotate(within.loc[[d]], ds, "activation", members=w) for d, w in zip(days, watched, strict=True)]
        at_opening = watched[0].assign(issued_date=watched[0]["issued_date"] + pd.Timedelta(hours=9))
        frames.append(tl.annotate(within.loc[[days[0]]], ds, "activation", members=at_opening))
        names = [f"activation_{d:g}d" for d in days] + [f"from_opening_{days[0]:g}d"]
        out = pd.concat(frames)[["estimate", "ci_low", "ci_high", "truth"]].reset_index(drop=True)
        rows.append(out.assign(estimator=names, seed=seed, n_customers=n_customers))
    return pd.concat(rows, ignore_index=True)


def _pooled_z(rows):
    se = (rows["ci_high"] - rows["ci_low"]) / (2 * 1.959964)
    err = rows["estimate"] - rows["truth"]
    return (
        err.groupby(rows["estimator"]).mean()
        / np.sqrt((se**2).groupby(rows["estimator"]).sum())
        * rows.groupby("estimator").size()
    )


def test_activation_sweep_covers_the_planted_share():
    # 4 seeds x 25,000 customers (about 6 CPU-s): the plain share at 1, 7, 30, 90 and 180 days
    # against the reference on the count's clock; the slow sweep below runs 20 + 6 seeds
    from loyalty_lib import coverage as cv

    rows = _sweep(range(300, 304), 25_000, [1.0, 7.0, 30.0, 90.0, 180.0])
    plain = rows[rows["estimator"].str.startswith("activation_")]
    table = cv.summarise(plain)
    flags = cv.flags(table, ratio_min=0.5)
    assert (flags == "").all(), table.assign(flag=flags).T
    z = _pooled_z(rows)
    assert z.drop("from_opening_1d").abs().max() < 3.5, z
    # the reference read d days from the hand-out purchase is far off at one day (about half the
    # issue day's share is before the purchase): the sweep can tell a wrong clock
    assert z["from_opening_1d"] < -8, z


@pytest.mark.slow
def test_activation_sweep_large():
    # 20 seeds x 25,000 and 6 x 250,000 customers, about 5 minutes of one core; prints the table.
    # Measured (docs/validation.md, "activation"): every interval covers at 1 to 180 days; the
    # mean error over the 250,000-customer seeds is within 1.7 of the intervals' own standard
    # errors, but the spread over seeds is smaller than those (the planted value is the branch's
    # own), and against it 90 and 180 days read about +0.1 points high: the campaign offers
    # depend on the visits before each wave (a win-back offer goes to a holder who has not come
    # for 60 days, and so has not used the card), which the reference, conditioning on the
    # offers sent but not on why, does not see. Without campaigns (contact_prob=0) no bias.
    from loyalty_lib import coverage as cv

    days = [1.0, 7.0, 30.0, 90.0, 180.0]
    rows = pd.concat([_sweep(range(400, 420), 25_000, days), _sweep(range(500, 506), 250_000, days)])
    plain = rows[rows["estimator"].str.startswith("activation_")]
    table = cv.summarise(plain)
    z = rows.groupby("n_customers")[rows.columns].apply(_pooled_z)
    print(table.to_string(), z.to_string(), sep="\n")
    assert not cv.flags(table).str.contains("low coverage|too narrow").any(), table
    assert z.drop(columns="from_opening_1d").abs().max().max() < 3.5, z
    assert (table["mean_bias"].abs() < 0.002).all(), table  # within 0.2 points at every horizon and size
    assert (z["from_opening_1d"] < -8).all(), z
