"""Activation within d days: the plain share, and its planted value with campaign visits."""

import numpy as np
import pandas as pd

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
