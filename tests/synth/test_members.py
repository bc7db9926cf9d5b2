"""The member piece: the stamps that drive a holder's visit rate are the stamps the ledger counts."""

import numpy as np
import pandas as pd
import pytest

from loyalty_lib import synth
from loyalty_lib.synth import members
from loyalty_lib.synth.scenario import SCENARIOS


def _one_holder(rate_per_day=0.5):
    joins = pd.DataFrame({"cust": [0], "t_issue": [0.0]})
    latent = pd.DataFrame({"rate": [rate_per_day]})
    return joins, latent, np.array([1.0])  # the card is shown at every visit


def test_an_extra_card_visit_earns_a_stamp_that_the_next_visit_holds():
    sc = SCENARIOS["sergey_branch"].with_(pre_days=0, post_days=60)
    joins, latent, use = _one_holder()
    asked = []

    def extra(t, last):
        asked.append((t, last[0]))
        return pd.DataFrame({"cust": [0], "t": [t + 1.0], "card_used": [True]})

    out = members.member_visits(joins, latent, use, sc, np.random.default_rng(0), breaks=[20.0], extra_visits=extra)
    # asked once, at day 20, with the last member visit before it
    assert len(asked) == 1 and asked[0][0] == 20.0
    assert asked[0][1] == out.loc[out["t"] < 20, "t"].max()
    # every visit holds one stamp per earlier card visit (member visits plus the extra one at
    # day 21), modulo the reward at 10: count them by hand from the visit times
    earlier = np.arange(len(out)) + (out["t"].to_numpy() > 21.0)
    assert out["stamps_before"].tolist() == (earlier % sc.reward_every).tolist()
    assert (out["t"].diff().dropna() > 0).all() and out["t"].max() < 60


def test_without_breaks_the_simulation_is_the_plain_loop():
    # breaks only stop and restart the clock; with none, one holder's visits follow rate x
    # (1 + uplift) x exp(0.04 x stamps): over 400 days about 0.5 x 1.15 x 1.2 x 400 = 276 visits
    sc = SCENARIOS["sergey_branch"].with_(pre_days=0, post_days=400)
    joins, latent, use = _one_holder()
    out = members.member_visits(joins, latent, use, sc, np.random.default_rng(1))
    mean_mult = np.mean(np.exp(sc.goal_gradient * np.arange(sc.reward_every)))
    expected = 0.5 * (1 + sc.uplift_frequency) * mean_mult * 400
    assert abs(len(out) - expected) < 4 * np.sqrt(expected)
    again = members.member_visits(joins, latent, use, sc, np.random.default_rng(1), breaks=[400.0])
    pd.testing.assert_frame_equal(out, again)


@pytest.fixture(scope="module")
def captured():
    """A branch and the member visits the generator simulated for it (with their stamps)."""
    seen = {}
    original = members.member_visits

    def spy(*args, **kwargs):
        seen["visits"] = original(*args, **kwargs)
        return seen["visits"]

    members.member_visits = spy
    try:
        ds = synth.generate(n_customers=3000, seed=3)
    finally:
        members.member_visits = original
    return ds, seen["visits"]


def test_the_stamps_driving_the_rate_are_the_ledgers(captured):
    # the ledger counts one stamp per card receipt, campaign visits included; the generator's
    # stamp count (which sets the visit rate) must be the same at every member visit. Before
    # campaign visits were counted, about 7 % of the member visits disagreed.
    ds, mv = captured
    tx, truth_tx = ds.transactions, ds.truth_tables["transactions"]
    card = tx[tx["card_id"].notna()].merge(truth_tx[["transaction_id", "campaign_offer_id"]], on="transaction_id")
    card = card.sort_values(["customer_id", "date", "transaction_id"], kind="stable")
    card["held"] = card.groupby("customer_id").cumcount() % 10
    assert card["campaign_offer_id"].notna().sum() > 20  # campaign visits with the card exist
    ids = ds.truth_tables["customers"]["customer_id"].to_numpy()
    sim = mv[mv["card_used"]].assign(customer_id=lambda d: ids[d["cust"]]).sort_values(["customer_id", "t"])
    sim["k"] = sim.groupby("customer_id").cumcount()
    own = card[card["campaign_offer_id"].isna()].copy()
    own["k"] = own.groupby("customer_id").cumcount()
    both = sim.merge(own, on=["customer_id", "k"], how="outer", indicator=True)
    assert (both["_merge"] == "both").all()
    assert (both["stamps_before"] == both["held"]).all()
