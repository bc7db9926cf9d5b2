"""The two-way fixed-effects DiD through pyfixest gives PanelOLS's coefficient and clustered error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalty_lib.metrics import impact as im


def panel(n: int = 400, months: int = 12, seed: int = 0) -> pd.DataFrame:
    """Customers with their own levels, a month trend, heavy buyers joining more, effect 15; 10 % of cells missing."""
    rng = np.random.default_rng(seed)
    level = rng.gamma(2.0, 50.0, n)
    member = rng.random(n) < np.where(level > 100, 0.6, 0.3)
    c, m = np.repeat(np.arange(n), months), np.tile(np.arange(months), n)
    treated = (member[c] & (m >= months // 2)).astype(float)
    y = level[c] + 2.0 * m + 15.0 * treated + rng.normal(0, 40, n * months)
    p = pd.DataFrame(
        {"customer_id": c, "month": m, "revenue": y, "treated": treated, "visits": rng.integers(1, 4, n * months)}
    )
    return p.sample(frac=0.9, random_state=seed).reset_index(drop=True)


@pytest.mark.parametrize("weights_col", [None, "visits"])
def test_pyfixest_matches_panelols(weights_col):
    p = panel()
    a = im.did_panel(p, fit="panelols", weights_col=weights_col).iloc[0]
    b = im.did_panel(p, fit="pyfixest", weights_col=weights_col).iloc[0]
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
