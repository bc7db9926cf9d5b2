"""The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves").

A customer's purchase amounts are Gamma(p, ν), with ν ~ Gamma(q, γ) across customers.
:class:`GammaGammaModel` fits it on the ``frequency, monetary_value`` of repeat buyers
(:func:`fit_gamma_gamma`); :func:`expected_spend` gives each customer's expected spend per
purchase.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special as sc

from loyalty_lib.clv.base import ClvFit, ClvFitError, ClvModel
from loyalty_lib.clv.data import rfm_arrays

__all__ = ["GAMMA_GAMMA_PARAMS", "GammaGammaModel", "expected_spend", "fit_gamma_gamma"]

GAMMA_GAMMA_PARAMS = ("p", "q", "gamma")


class GammaGammaModel(ClvModel):
    """Gamma-Gamma on the shared fitting base: repeat buyers with positive spend, start, likelihood.

    Examples
    --------
    The fit uses the repeat buyers only:

    >>> from loyalty_lib import synth
    >>> from loyalty_lib.clv import rfm_summary
    >>> ds = synth.generate("bgnbd_check", n_customers=2000, seed=1)
    >>> summary = rfm_summary(ds.transactions, end=ds.truth["period"]["end"])
    >>> fit = GammaGammaModel().fit(summary)
    >>> fit.n == int((summary["frequency"] > 0).sum()), sorted(fit.params)
    (True, ['gamma', 'p', 'q'])
    """

    name = "gamma_gamma"
    who = "fit_gamma_gamma"
    param_names = GAMMA_GAMMA_PARAMS
    scale_params = ("gamma",)
    edge_hints = {
        "p": (
            "p -> infinity means customers' spends hardly vary around their own mean compared with "
            "the spread between customers; expected spend is then each repeat buyer's own average."
        ),
        "q": (
            "q -> infinity means mean spend hardly differs between customers; expected spend is "
            "then close to the population mean."
        ),
        "gamma": "gamma -> 0 or infinity goes with p or q running off.",
    }

    def prepare(self, summary: pd.DataFrame) -> tuple[dict, int]:
        """Keep repeat buyers with positive spend."""
        who = self.who
        x, m = rfm_arrays(summary, ["frequency", "monetary_value"], who)
        use = (x > 0) & (m > 0)
        if use.sum() < 3:
            raise ClvFitError(f"{who}: {use.sum()} repeat buyer(s) with positive spend; need at least 3")
        x, m = x[use], m[use]
        if np.ptp(m) == 0:
            raise ClvFitError(f"{who}: every repeat buyer has the same mean spend; nothing to fit")
        return {"x": x, "m": m}, int(use.sum())

    def start_values(self, data: dict) -> np.ndarray:
        """Start at p = 1, q = 2, gamma = mean spend (method of moments, roughly)."""
        return np.array([1.0, 2.0, float(data["m"].mean())])

    def objective(self, data: dict):
        """Negative log-likelihood and its gradient over the log-parameters."""
        x, m = data["x"], data["m"]
        log_x, log_m = np.log(x), np.log(m)

        def neg_ll(logp):
            p, q, g = np.exp(logp)
            px = p * x
            ll = (
                sc.gammaln(px + q)
                - sc.gammaln(px)
                - sc.gammaln(q)
                + q * np.log(g)
                + (px - 1) * log_m
                + px * log_x
                - (px + q) * np.log(x * m + g)
            )
            return -ll.sum()

        def grad(logp):
            p, q, g = np.exp(logp)
            px = p * x
            dig = sc.digamma(px + q)
            log_xmg = np.log(x * m + g)
            d_p = (x * (dig - sc.digamma(px) + log_m + log_x - log_xmg)).sum()
            d_q = (dig - sc.digamma(q) + np.log(g) - log_xmg).sum()
            d_g = (q / g - (px + q) / (x * m + g)).sum()
            return -np.array([d_p * p, d_q * q, d_g * g])

        return neg_ll, grad


def fit_gamma_gamma(summary: pd.DataFrame) -> ClvFit:
    """Fit the Gamma-Gamma spend model on repeat buyers by maximum likelihood.

    A customer's purchase amounts are Gamma(p, ν), with ν ~ Gamma(q, γ) across customers, so
    the mean spend ``monetary_value`` of ``frequency`` repeat purchases carries information on
    the customer's own mean p/ν (Fader, Hardie & Lee 2005, iso-value curves). Only rows with
    ``frequency > 0`` are used; the model assumes spend is independent of frequency.

    Parameters
    ----------
    summary : pandas.DataFrame
        RFM summary with ``frequency, monetary_value``.

    Returns
    -------
    ClvFit
        ``params`` with keys ``p, q, gamma``; ``n`` = repeat buyers used.

    Raises
    ------
    ValueError
        Missing columns, or negative/missing values.
    ClvFitError
        Fewer than 3 repeat buyers with positive spend, or no convergence.
    """
    return GammaGammaModel().fit(summary)


def expected_spend(gg_params, summary: pd.DataFrame) -> pd.Series:
    """Conditional expected average spend per purchase (Gamma-Gamma).

    E[Z | x, z̄] = w · z̄ + (1 − w) · pγ/(q−1) with w = px / (px + q − 1): a weighted mean of the
    customer's own average and the population mean, the customer's weight growing with the
    number of repeat purchases. Customers with ``frequency`` 0 get the population mean.

    Parameters
    ----------
    gg_params : ClvFit or dict
        Gamma-Gamma parameters ``p, q, gamma`` (needs q > 1 for the mean to exist).
    summary : pandas.DataFrame
        RFM summary with ``frequency, monetary_value``.

    Returns
    -------
    pandas.Series
        ``expected_spend``, aligned with ``summary``.
    """
    who = "expected_spend"
    p, q, g = GammaGammaModel.check_params(gg_params, who)
    if q <= 1:
        raise ValueError(f"{who}: q = {q:.3g} <= 1, the Gamma-Gamma mean spend does not exist")
    x, m = rfm_arrays(summary, ["frequency", "monetary_value"], who)
    return pd.Series(_expected_spend(p, q, g, x, m), index=summary.index, name="expected_spend")


def _expected_spend(p, q, g, x, m):
    """Array core of :func:`expected_spend` (arguments broadcast; needs q > 1)."""
    w = p * x / (p * x + q - 1)
    return (1 - w) * (p * g / (q - 1)) + w * m
