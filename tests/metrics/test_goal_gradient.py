"""Goal gradient (stage 03): spells of stamps held, the visit-rate model, checked by hand and on planted truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalty_lib.metrics import activity

END = "2025-03-01"


@pytest.fixture
def member():
    # one member, card issued Jan 1 at a purchase; card receipts Jan 11 and Jan 21 (one stamp
    # each), a receipt without the card Feb 10; a non-member's receipts are ignored
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 2],
            "date": pd.to_datetime(["2025-01-01", "2025-01-11", "2025-01-21", "2025-02-10", "2025-01-05"]),
            "card_id": pd.array([None, 7, 7, None, None], dtype="Int64"),
        }
    )
    cards = pd.DataFrame({"card_id": [7], "customer_id": [1], "issued_date": pd.to_datetime(["2025-01-01"])})
    ledger = pd.DataFrame({"customer_id": [1, 1], "date": pd.to_datetime(["2025-01-11", "2025-01-21"]), "points": 1.0})
    return tx, ledger, cards


def test_panel_lists_every_spell_with_the_censored_last(member):
    tx, ledger, cards = member
    p = activity.goal_gradient_panel(tx, ledger, cards, end=END)
    # spells: Jan 1-11 (0 stamps), Jan 11-21 (1), Jan 21-Feb 10 (2), Feb 10-Mar 1 unfinished (2)
    assert p["customer_id"].tolist() == [1, 1, 1, 1]
    assert p["stamps_held"].tolist() == [0, 1, 2, 2]
    assert p["exposure_days"].tolist() == [10, 10, 20, 19]
    assert p["visit"].tolist() == [1, 1, 1, 0]
    assert p["censored"].tolist() == [False, False, False, True]
    assert p["gap_days"].iloc[:3].tolist() == [10, 10, 20] and np.isnan(p["gap_days"].iloc[3])
    assert p["log_gap"].iloc[2] == pytest.approx(np.log(20)) and np.isnan(p["log_gap"].iloc[3])
    assert p["date"].iloc[3] == pd.Timestamp(END)


def _cells(visits, exposure=(10.0, 5.0)):
    """Members 1, 2, ... with ``exposure`` days at 0 and 1 stamps and the given visits there."""
    rows = [(i + 1, s, exposure[s], v[s]) for i, v in enumerate(visits) for s in (0, 1)]
    return pd.DataFrame(rows, columns=["customer_id", "stamps_held", "exposure_days", "visit"])


def test_fit_by_hand_when_every_member_doubles_their_rate():
    # each member visits twice as often per day at 1 stamp as at 0 (2 in 10 days, 2 in 5 days;
    # 1 and 1; 3 and 3): whatever the members' own rates and the gamma law fitted to them, the
    # score of the slope is sum N1 - 10 x sum of members' expected rates, which the mean
    # equation sets to 0 at exp(b) = 2, so the pause per stamp is -log 2
    fit = activity.goal_gradient_fit(_cells([(2, 2), (1, 1), (3, 3)]))
    assert fit.loc["within", "estimate"] == pytest.approx(-np.log(2), abs=1e-6)
    assert fit.loc["pooled", "estimate"] == pytest.approx(-np.log(2), abs=1e-9)
    assert fit.loc["within", "n"] == 12 and fit.loc["within", "exposure_days"] == 45


def test_pooled_rate_by_hand_mixes_who_visits_with_what_stamps_do():
    # member 3 visits often and never holds a stamp: one rate for everybody reads the stamp as a
    # brake: at 0 stamps (2 + 1 + 9) / 30 days = 0.4, at 1 stamp (4 + 2) / 10 days = 0.6
    cells = pd.concat(
        [
            _cells([(2, 4), (1, 2)]),
            pd.DataFrame({"customer_id": [3], "stamps_held": [0], "exposure_days": [10.0], "visit": [9]}),
        ]
    )
    fit = activity.goal_gradient_fit(cells)
    assert fit.loc["pooled", "estimate"] == pytest.approx(-np.log(0.6 / 0.4), abs=1e-9)
    # within members both doubled their rate (2 -> 4 and 1 -> 2 visits in 10 -> 5 days): a pull
    assert fit.loc["within", "estimate"] < -0.5


def test_errors_are_clustered_by_member():
    rng = np.random.default_rng(3)
    usual = rng.gamma(2.0, 0.5, size=(12, 1))  # members' own rates differ
    cells = _cells([tuple(v) for v in rng.poisson(usual * [3, 4])])
    one = activity.goal_gradient_fit(cells).loc["within"]
    copies = pd.concat([cells, cells.assign(customer_id=cells["customer_id"] + 100)])
    two = activity.goal_gradient_fit(copies).loc["within"]
    # the same members twice over: the same slope; the clustered variance halves, up to the
    # small-sample factor G / (G - 1) of 12 and of 24 members
    assert two["estimate"] == pytest.approx(one["estimate"], abs=1e-6)
    assert two["se"] / one["se"] == pytest.approx(np.sqrt(11 / 23), rel=1e-3)


def test_profile_compares_each_member_with_their_own_rate():
    prof = activity.goal_gradient_profile(_cells([(2, 4), (1, 2)]))
    # member 1: 6 visits in 15 days -> expected 4 at 0 stamps (10 days), 2 at 1 stamp (5 days);
    # member 2: 3 in 15 -> 2 and 1. At 0 stamps 6 expected for 3 visits: log(6/3); at 1: log(3/6)
    assert prof.loc[0.0, "estimate"] == pytest.approx(np.log(2))
    assert prof.loc[1.0, "estimate"] == pytest.approx(-np.log(2))
    assert prof.loc[1.0, "visits"] == 6 and prof.loc[1.0, "expected_visits"] == 3


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="exposure_days"):
        activity.goal_gradient_fit(pd.DataFrame({"customer_id": [1], "stamps_held": [0], "visit": [1]}))
    with pytest.raises(ValueError, match=r"exposure_days must be >= 0; rows \[1\]"):
        activity.goal_gradient_fit(_cells([(1, 1)], exposure=(10.0, -5.0)))
    with pytest.raises(ValueError, match="two or more stamp counts"):
        activity.goal_gradient_fit(_cells([(1, 1), (2, 2)]).query("stamps_held == 0"))


@pytest.fixture(scope="module")
def generated():
    from loyalty_lib import synth

    return synth.generate("sergey_branch", n_customers=8000, seed=5)


def test_recovers_the_planted_pull(generated):
    ds = generated
    truth = ds.truth["goal_gradient"]["log_gap_per_stamp"]
    panel = activity.goal_gradient_panel(ds.transactions, ds.points_ledger, ds.cards, end=ds.truth["period"]["end"])
    fit = activity.goal_gradient_fit(panel)
    w = fit.loc["within"]
    assert w["ci_high"] < 0  # the pull of the reward is detected
    assert w["ci_low"] <= truth <= w["ci_high"], fit
    # one rate for everybody is far off: heavy buyers earn stamps fast and visit often anyway
    assert fit.loc["pooled", "estimate"] < truth - 0.02
    # every member's time counts, the unfinished last pause included
    assert panel["censored"].sum() == panel["customer_id"].nunique()
