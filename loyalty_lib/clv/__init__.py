"""Customer lifetime value: RFM summaries, BG/NBD and Gamma-Gamma models, discounted CLV.

The buy-till-you-die approach in four steps:

1. :func:`rfm_summary` turns receipts into one row per customer with ``frequency`` (repeat
   purchase periods), ``recency`` (age at the last purchase), ``T`` (age at the end of the
   observation) and ``monetary_value`` (mean spend of the repeat periods), with the same
   definitions as ``lifetimes.utils.summary_data_from_transaction_data`` and pymc-marketing's
   ``rfm_summary``; :func:`calibration_and_holdout` adds what happened in a later holdout window.
2. :func:`fit_bgnbd` fits the BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your
   customers the easy way") on ``frequency, recency, T``.
3. :func:`fit_gamma_gamma` fits the Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and
   CLV: using iso-value curves") on ``frequency, monetary_value`` of repeat buyers.
4. :func:`expected_purchases`, :func:`probability_alive`, :func:`expected_spend` and :func:`clv`
   turn the fitted parameters into per-customer predictions and a discounted lifetime value.

Both fits are maximum likelihood over log-parameters with :func:`scipy.optimize.minimize`;
standard errors come from a numerical Hessian (delta method back to the natural scale), so every
parameter has a 95 % interval (:meth:`ClvFit.to_frame`).

The package is split by role, as pymc-marketing's ``clv``: :mod:`~loyalty_lib.clv.data` (RFM
summaries and calibration/holdout splits), :mod:`~loyalty_lib.clv.base` (the fitting base
:class:`ClvModel`, which owns starting values, optimisation, standard errors and the fitted
result, as lifetimes' ``BaseFitter``), one module per model (:mod:`~loyalty_lib.clv.bgnbd`,
:mod:`~loyalty_lib.clv.gamma_gamma`) and :mod:`~loyalty_lib.clv.value` (lifetime value). Every
public name is importable from ``loyalty_lib.clv``.

What the models can and cannot tell: they extrapolate each customer's own past (how often, how
recently, how much) under stationary behaviour. They say nothing about *why* customers differ,
so a member/non-member CLV gap is descriptive, not the causal effect of the card.
"""

from __future__ import annotations

from loyalty_lib.clv.base import ClvFit, ClvFitError, ClvFitWarning, ClvModel
from loyalty_lib.clv.bgnbd import (
    BGNBD_PARAMS,
    BetaGeoModel,
    calibration_holdout_table,
    expected_purchases,
    expected_purchases_population,
    fit_bgnbd,
    probability_alive,
)
from loyalty_lib.clv.data import HOLDOUT_COLUMNS, RFM_COLUMNS, calibration_and_holdout, rfm_summary
from loyalty_lib.clv.gamma_gamma import GAMMA_GAMMA_PARAMS, GammaGammaModel, expected_spend, fit_gamma_gamma
from loyalty_lib.clv.value import PERIODS_PER_MONTH, clv, clv_interval, summarise_clv

__all__ = [
    "BGNBD_PARAMS",
    "GAMMA_GAMMA_PARAMS",
    "HOLDOUT_COLUMNS",
    "PERIODS_PER_MONTH",
    "RFM_COLUMNS",
    "BetaGeoModel",
    "ClvFit",
    "ClvFitError",
    "ClvFitWarning",
    "ClvModel",
    "GammaGammaModel",
    "calibration_and_holdout",
    "calibration_holdout_table",
    "clv",
    "clv_interval",
    "expected_purchases",
    "expected_purchases_population",
    "expected_spend",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "probability_alive",
    "rfm_summary",
    "summarise_clv",
]
