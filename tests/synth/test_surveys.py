import numpy as np
import pytest

from loyalty_lib import truth
from loyalty_lib.metrics import satisfaction as sat
from loyalty_lib.synth.surveys import NPS_CENTRE, NPS_NOISE, NPS_PER_SD, expected_nps


def test_expected_nps_by_hand():
    # z = 0: the unrounded answer is 8 + noise of sd 1.2; a promoter needs >= 8.5 (P = 1 - Phi(0.5 / 1.2)
    # = 0.3385), a detractor < 6.5 (P = Phi(-1.5 / 1.2) = 0.1056): NPS 100 * (0.3385 - 0.1056) = 23.3
    assert expected_nps(0.0) == pytest.approx(23.28, abs=0.01)
    assert expected_nps(5.0) == pytest.approx(100, abs=1e-6) and expected_nps(-5.0) == pytest.approx(-100, abs=1e-3)
    z = np.array([-1.0, 0.0, 1.0])
    assert np.all(np.diff(expected_nps(z)) > 0)


def test_expected_nps_matches_simulated_answers(rng):
    z = rng.normal(size=400_000)
    answers = np.clip(np.round(NPS_CENTRE + NPS_PER_SD * z + rng.normal(0, NPS_NOISE, len(z))), 0, 10)
    simulated = 100 * ((answers >= 9).mean() - (answers <= 6).mean())
    se = 100 * np.sqrt(1 / len(z))  # bound on the standard error of a difference of shares
    assert abs(simulated - expected_nps(z).mean()) < 4 * se


def test_planted_nps_beside_the_estimate(small_ds):
    est = sat.nps(small_ds.surveys, n_boot=50, seed=1)
    out = truth.annotate(est, small_ds, "nps_score")
    tc = small_ds.truth_tables["customers"].set_index("customer_id")["satisfaction_z"]
    by_hand = expected_nps(small_ds.surveys["customer_id"].map(tc).to_numpy()).mean()
    assert out["truth"].iloc[0] == pytest.approx(by_hand)
    assert -100 < by_hand < 100 and abs(out["estimate"].iloc[0] - by_hand) < 15
    real = truth.annotate(est, small_ds.__class__(customers=None, cards=None, transactions=None), "nps_score")
    assert real["truth"].isna().all()
