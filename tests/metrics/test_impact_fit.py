"""The two-way fixed-effects DiD through pyfixest gives PanelOLS's coefficient and clustered error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalty_lib.metrics import impact as im


def panel(n: int = 400, months: int = 12, seed: int = 0, keep: float = 0.9) -> pd.DataFrame:
    """Customers with own levels, a month trend, heavy buyers joining more, effect 15; ``keep`` of the cells kept."""
    rng = np.random.default_rng(seed)
    level = rng.gamma(2.0, 50.0, n)
    member = rng.random(n) < np.where(level > 100, 0.6, 0.3)
    c, m = np.repeat(np.arange(n), months), np.tile(np.arange(months), n)
    treated = (member[c] & (m >= months // 2)).astype(float)
    y = level[c] + 2.0 * m + 15.0 * treated + rng.normal(0, 40, n * months)
    p = pd.DataFrame(
        {"customer_id": c, "month": m, "revenue": y, "treated": treated, "visits": rng.integers(1, 4, n * months)}
    )
    return p.sample(frac=keep, random_state=seed).reset_index(drop=True)


@pytest.mark.parametrize("fit", ["pyfixest", "within"])
@pytest.mark.parametrize("weights_col", [None, "visits"])
def test_pyfixest_and_own_demeaning_match_panelols(weights_col, fit):
    p = panel()
    a = im.did_panel(p, fit="panelols", weights_col=weights_col).iloc[0]
    b = im.did_panel(p, fit=fit, weights_col=weights_col).iloc[0]
    assert b["estimate"] == pytest.approx(a["estimate"], rel=1e-8)
    # the same small-sample factor as PanelOLS (effects counted): far inside the 2 % the two
    # libraries' own defaults differ by
    assert b["se"] == pytest.approx(a["se"], rel=1e-6)
    assert b["p_value"] == pytest.approx(a["p_value"], rel=1e-4)
    assert (b["n"], b["n_obs"]) == (a["n"], a["n_obs"])
    assert abs(b["estimate"] - 15.0) < 4 * b["se"]  # and it finds the planted effect


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")
def test_pyfixest_default_error_differs_by_the_documented_factor():
    import warnings

    import pyfixest as pf

    p = panel(n=60, months=6, seed=3)
    ours = im.did_panel(p).iloc[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyfixest's use of pandas 3 deprecations
        fx = pf.feols("revenue ~ treated | customer_id + month", data=p, vcov={"CRV1": "customer_id"}, fixef_rm="none")
    n, g, t = len(p), p["customer_id"].nunique(), p["month"].nunique()
    # pyfixest / fixest: G/(G-1) * (N-1)/(N-k), k = the coefficient and the month effects outside the clusters;
    # ours (PanelOLS): N/(N-K), K = every customer and month effect
    k = 1 + t
    raw = ours["se"] / np.sqrt(n / (n - (g + t)))
    assert float(fx.se()["treated"]) == pytest.approx(raw * np.sqrt(g / (g - 1) * (n - 1) / (n - k)), rel=1e-6)


def test_unknown_fit_is_refused():
    with pytest.raises(ValueError, match="pyfixest"):
        im.did_panel(panel(n=20, months=4), fit="statsmodels")


def test_within_fit_on_a_balanced_panel_matches_panelols(monkeypatch):
    p = panel(n=300, months=8, seed=1, keep=1.0)  # every cell, rows shuffled
    a = im.did_panel(p, fit="panelols").iloc[0]
    w = im.did_panel(p, fit="within").iloc[0]
    assert w["estimate"] == pytest.approx(a["estimate"], rel=1e-10)
    assert w["se"] == pytest.approx(a["se"], rel=1e-8)
    assert (w["n"], w["n_obs"]) == (a["n"], a["n_obs"])
    # the closed form is the limit of the alternating demeaning
    q = p.assign(w=1.0)
    assert im.did_panel(q, fit="within", weights_col="w").iloc[0]["estimate"] == pytest.approx(w["estimate"], rel=1e-9)

    # "auto" demeans in the suite; pyfixest only when that does not converge
    def refuse(*args, **kwargs):
        raise AssertionError("pyfixest ran")

    monkeypatch.setattr(im, "_twfe_pyfixest", refuse)
    assert im.did_panel(p).iloc[0]["estimate"] == w["estimate"]
    assert im.did_panel(p.iloc[1:]).iloc[0]["estimate"] == pytest.approx(
        im.did_panel(p.iloc[1:], fit="panelols").iloc[0]["estimate"], rel=1e-8
    )
    monkeypatch.setattr(im, "_twfe_within", lambda *a, **k: None)
    with pytest.raises(AssertionError, match="pyfixest ran"):
        im.did_panel(p)
    with pytest.raises(ValueError, match="did not converge"):
        im.did_panel(p, fit="within")


def test_batched_newton_steps_give_each_weight_vectors_own_fit():
    rng = np.random.default_rng(4)
    X = np.column_stack([np.ones(500), rng.normal(size=(500, 3))])
    t = (rng.random(500) < 1 / (1 + np.exp(-X @ [0.2, 1.0, -0.5, 0.3]))).astype(float)
    C = rng.multinomial(500, np.full(500, 1 / 500), size=7).astype(float)  # seven bootstrap resamples
    beta0 = im._logit_irls(X, t, np.ones(500), np.zeros(4))
    for iters in (1, 4, 25):
        batch = im._logit_irls_batch(X, t, C, beta0, iters=iters)
        one_by_one = np.vstack([im._logit_irls(X, t, c, beta0, iters=iters) for c in C])
        np.testing.assert_allclose(batch, one_by_one, rtol=1e-9, atol=1e-12)


def test_psw_bootstrap_draws_are_the_refits_one_resample_at_a_time():
    """The batched refit gives the draws of refitting the propensity model on each resample alone."""
    from loyalty_lib import stats

    rng = np.random.default_rng(5)
    n = 400
    f = pd.DataFrame({"x": rng.normal(size=n), "z": rng.integers(0, 2, n).astype(float)})
    t = rng.random(n) < 1 / (1 + np.exp(-(0.5 * f["x"] - 0.3 * f["z"])))
    y = pd.DataFrame({"revenue": 100 + 20 * f["x"] + 10 * t + rng.normal(0, 5, n), "visits": 1 + rng.poisson(2, n)})
    out = im.psw_att(f, t, y, n_boot=40, seed=3)
    X, _ = im._design(f)
    tf = t.astype(float)
    beta_full = im._logit_irls(X, tf, np.ones(n), np.zeros(X.shape[1]))
    Y = y.to_numpy(dtype=float)

    def one(c):  # the statistic of one resample, refitted on its own
        p = np.clip(1 / (1 + np.exp(-X @ im._logit_irls(X, tf, c, beta_full, iters=4))), 0.01, 0.99)
        wt, wc = c * tf, c * (1 - tf) * p / (1 - p)
        mt, mc = wt @ Y / wt.sum(), wc @ Y / wc.sum()
        return np.r_[mt - mc, mt[0] / mt[1] - mc[0] / mc[1]]

    draws = stats.bootstrap_draws(n, lambda cs: np.vstack([one(c) for c in cs]), n_boot=40, seed=3, counts=True)
    ref = stats.bootstrap_frame(out["estimate"].to_numpy(), draws, n=n, index=out.index)
    np.testing.assert_allclose(out[["ci_low", "ci_high"]], ref[["ci_low", "ci_high"]], rtol=1e-9)
