"""A generated world that is exactly the BG/NBD model: the lifetime-value fit finds its parameters."""

import numpy as np
import pytest
from scipy import stats as sps

from loyalty_lib import clv, synth, validation


@pytest.fixture(scope="module")
def world():
    return synth.generate("bgnbd_check", n_customers=20_000, seed=5)


def test_world_is_valid_and_plants_the_model(world):
    assert validation.validate(world.tables).ok
    assert world.truth["bgnbd"] == {"r": 0.8, "alpha": pytest.approx(36.5), "a": 0.8, "b": 2.4}
    assert len(world.cards) == 0 and world.truth["cards_issued"] == 0
    assert world.truth_tables["transactions"]["incremental"].sum() == 0


def test_drop_out_stops_purchases(world):
    # the same customers and rates without drop-out buy far more often
    alive = synth.generate("bgnbd_check", n_customers=20_000, seed=5, dropout_a=None, dropout_b=None)
    repeat = world.transactions.groupby("customer_id").size() - 1
    repeat_alive = alive.transactions.groupby("customer_id").size() - 1
    assert repeat.mean() < 0.6 * repeat_alive.mean()
    assert alive.truth["bgnbd"] is None and alive.truth["dropout"] is None


@pytest.mark.parametrize("seed", [5, 6])
def test_bgnbd_fit_recovers_the_planted_parameters(seed, world):
    ds = world if seed == 5 else synth.generate("bgnbd_check", n_customers=20_000, seed=seed)
    t = ds.truth["bgnbd"]
    # hourly periods in units of days: daily periods merge same-day purchases of heavy buyers
    # and bias the rate parameters by a few per cent (a real caveat for shop data too)
    s = clv.rfm_summary(ds.transactions, end=ds.truth["period"]["end"], freq="h", time_scaler=24)
    fit = clv.fit_bgnbd(s)
    truth = np.log([t["r"], t["alpha"], t["a"], t["b"]])
    ll_truth = clv.bgnbd._loglik(truth, *(s[c].to_numpy(float) for c in ("frequency", "recency", "T"))).sum()
    # likelihood-ratio test of the planted parameters against the fit: chi2 with 4 df
    assert 2 * (fit.log_likelihood - ll_truth) < sps.chi2.ppf(0.999, 4)
    for k in ("r", "alpha", "a", "b"):
        assert fit.params[k] == pytest.approx(t[k], rel=0.15), k


def test_drop_out_needs_a_world_without_the_program():
    with pytest.raises(ValueError, match="printed_cards=0"):
        synth.generate(n_customers=100, dropout_a=0.5, dropout_b=2.0)
    with pytest.raises(ValueError, match="both"):
        synth.generate(n_customers=100, printed_cards=0, dropout_a=0.5)
