"""The fitting base shared by the CLV models: starting values, optimisation, standard errors.

Each model (:class:`~loyalty_lib.clv.bgnbd.BetaGeoModel`,
:class:`~loyalty_lib.clv.gamma_gamma.GammaGammaModel`) is a :class:`ClvModel` that says what it
needs - its parameter names, how to read an RFM summary, where to start, and its
log-likelihood with the gradient over log-parameters - and the base owns the rest, as lifetimes'
``BaseFitter`` does: maximum likelihood over log-parameters with
:func:`scipy.optimize.minimize` (L-BFGS-B, with a simplex restart when the quasi-Newton search
stalls), detection of parameters that run to the edge of the parameter space, standard errors
from a numerical Hessian (delta method back to the natural scale) and the fitted result
:class:`ClvFit`, whose :meth:`ClvFit.to_frame` is the parameter table with intervals.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import optimize

from loyalty_lib.stats import estimate_frame, normal_interval

__all__ = ["ClvFit", "ClvFitError", "ClvFitWarning", "ClvModel"]


class ClvFitError(RuntimeError):
    """A CLV model could not be fitted (optimiser did not converge, or the data are degenerate)."""


class ClvFitWarning(UserWarning):
    """A CLV fit converged, but to the edge of the parameter space or without standard errors."""


#: Log-parameters are searched in [-_BOUND, _BOUND]. A shape parameter (r, a, b, p, q) beyond
#: e^_EDGE_SHAPE (~22,000) or a scale parameter (alpha, gamma; in time or money units) beyond
#: e^_EDGE_SCALE (~6.6e7) counts as run to the edge of the parameter space.


@dataclass(frozen=True)
class ClvFit:
    """A fitted CLV model.

    Attributes
    ----------
    model : str
        ``"bgnbd"`` or ``"gamma_gamma"``.
    params : dict of str to float
        Maximum-likelihood estimates (``r, alpha, a, b`` or ``p, q, gamma``).
    se : dict of str to float
        Standard errors from the numerical Hessian (delta method; NaN if it is not invertible).
    log_likelihood : float
        Maximised log-likelihood.
    n : int
        Number of customers the model was fitted on.
    cov_log : numpy.ndarray
        Covariance of the log-parameters (inverse Hessian of the negative log-likelihood).
    boundary : tuple of str
        Parameters that ran to the edge of the parameter space (a :class:`ClvFitWarning` was
        issued; their standard errors are NaN).
    """

    model: str
    params: dict[str, float]
    se: dict[str, float]
    log_likelihood: float
    n: int
    cov_log: np.ndarray = field(repr=False)
    boundary: tuple[str, ...] = ()

    def to_frame(self, *, level: float = 0.95) -> pd.DataFrame:
        """Parameter table with intervals.

        The interval is symmetric on the log scale (``exp(log θ ± z·se_log)``), so it stays
        positive.

        Returns
        -------
        pandas.DataFrame
            Indexed by parameter name, columns ``estimate, se, ci_low, ci_high, n``.
        """
        names = list(self.params)
        est = np.array([self.params[k] for k in names])
        se_log = np.sqrt(np.diag(self.cov_log)) if self.cov_log.size else np.full(len(names), np.nan)
        lo, hi = normal_interval(np.log(est), se_log, level=level)
        frame = estimate_frame(
            est, np.exp(lo), np.exp(hi), self.n, index=pd.Index(names, name="parameter"), se=[self.se[k] for k in names]
        )
        return frame[["estimate", "se", "ci_low", "ci_high", "n"]]


def _numerical_hessian(grad, x, step=1e-5):
    """Hessian by central differences of an analytic gradient, symmetrised."""
    k = len(x)
    hess = np.empty((k, k))
    for i in range(k):
        h = step * max(1.0, abs(x[i]))
        e = np.zeros(k)
        e[i] = h
        hess[:, i] = (grad(x + e) - grad(x - e)) / (2 * h)
    return (hess + hess.T) / 2


class ClvModel(ABC):
    """Maximum-likelihood fitting shared by the CLV models (the role of lifetimes' ``BaseFitter``).

    A model sets :attr:`name`, :attr:`who`, :attr:`param_names`, :attr:`scale_params` and
    :attr:`edge_hints`, and implements :meth:`prepare`, :meth:`start_values` and
    :meth:`objective` (optionally :meth:`boundary`). :meth:`fit` does the rest.

    Attributes
    ----------
    name : str
        Model name stored in :attr:`ClvFit.model`.
    who : str
        Public function named in messages (``fit_bgnbd``...).
    param_names : tuple of str
        Parameter names, in the order of the log-parameter vector.
    scale_params : tuple of str
        Parameters in time or money units (their edge lies further out than a shape's).
    edge_hints : dict of str to str
        What it means when a parameter runs to the edge, for the warning.
    bound : float
        Log-parameters are searched in ``[-bound, bound]``.
    edge_shape, edge_scale : float
        A shape parameter beyond ``e^edge_shape`` (~22,000) or a scale parameter beyond
        ``e^edge_scale`` (~6.6e7) counts as run to the edge of the parameter space.
    """

    name: ClassVar[str] = ""
    who: ClassVar[str] = ""
    param_names: ClassVar[tuple[str, ...]] = ()
    scale_params: ClassVar[tuple[str, ...]] = ()
    edge_hints: ClassVar[dict[str, str]] = {}
    bound: ClassVar[float] = 20.0
    edge_shape: ClassVar[float] = 10.0
    edge_scale: ClassVar[float] = 18.0

    # -- what a model provides ------------------------------------------------------------
    @abstractmethod
    def prepare(self, summary: pd.DataFrame) -> tuple[dict, int]:
        """Check the RFM summary and return the model's arrays and the number of customers used."""

    @abstractmethod
    def start_values(self, data: dict) -> np.ndarray:
        """Starting values of the parameters (natural scale)."""

    @abstractmethod
    def objective(self, data: dict) -> tuple[Callable, Callable]:
        """Total negative log-likelihood of the log-parameters and its gradient, as two callables."""

    def boundary(self, logp: np.ndarray) -> tuple[np.ndarray, str]:
        """Parameters at the edge of the parameter space, and a note for the warning.

        Parameters
        ----------
        logp : numpy.ndarray
            Fitted log-parameters.

        Returns
        -------
        edge : numpy.ndarray of bool
            One flag per parameter.
        note : str
            Extra words for the warning (empty by default).
        """
        limit = np.array([self.edge_scale if k in self.scale_params else self.edge_shape for k in self.param_names])
        return np.abs(logp) > limit, ""

    # -- what the base does -----------------------------------------------------------------
    def fit(self, summary: pd.DataFrame) -> ClvFit:
        """Fit the model to an RFM summary by maximum likelihood.

        Parameters
        ----------
        summary : pandas.DataFrame
            RFM summary with the columns the model needs.

        Returns
        -------
        ClvFit
            Estimates, standard errors, log-likelihood and covariance of the log-parameters.
        """
        data, n = self.prepare(summary)
        neg_ll, grad = self.objective(data)
        return self._maximise(neg_ll, grad, np.log(self.start_values(data)), n)

    @classmethod
    def check_params(cls, params, who: str) -> list[float]:
        """Parameter values of a :class:`ClvFit` or a dict, in :attr:`param_names` order.

        Parameters
        ----------
        params : ClvFit or dict
            Fitted model or plain parameter values.
        who : str
            Calling function, for the messages.

        Returns
        -------
        list of float
            Positive, finite values.

        Raises
        ------
        TypeError
            ``params`` is neither a ClvFit nor a mapping.
        ValueError
            A parameter is missing, not positive or not finite.
        """
        p = params.params if isinstance(params, ClvFit) else params
        if not isinstance(p, Mapping):
            raise TypeError(f"{who}: params must be a ClvFit or a dict with keys {list(cls.param_names)}")
        missing = [k for k in cls.param_names if k not in p]
        if missing:
            raise ValueError(f"{who}: params lack {missing}")
        vals = [float(p[k]) for k in cls.param_names]
        if not all(np.isfinite(v) and v > 0 for v in vals):
            raise ValueError(
                f"{who}: params must be positive and finite, got {dict(zip(cls.param_names, vals, strict=True))}"
            )
        return vals

    def _maximise(self, neg_ll, grad, x0, n) -> ClvFit:
        """Minimise the mean negative log-likelihood over log-parameters; return a ClvFit."""

        def mean_nll(x):
            v = neg_ll(x) / n
            if not np.isfinite(v):
                return 1e100, np.zeros_like(x)
            return v, grad(x) / n

        bounds = [(-self.bound, self.bound)] * len(x0)
        opts = {"ftol": 1e-13, "gtol": 1e-9, "maxiter": 10000}
        res = optimize.minimize(mean_nll, x0, jac=True, method="L-BFGS-B", bounds=bounds, options=opts)
        # a line search that stops on rounding noise of the numerical gradient is fine when the
        # gradient (of the mean log-likelihood per customer) is already tiny
        if not (res.success or np.max(np.abs(res.jac)) < 1e-4):
            # quasi-Newton can stop on precision loss; restart from a simplex search.
            nm = optimize.minimize(
                lambda z: mean_nll(z)[0],
                res.x,
                method="Nelder-Mead",
                bounds=bounds,
                options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000, "maxfev": 40000},
            )
            res = optimize.minimize(mean_nll, nm.x, jac=True, method="L-BFGS-B", bounds=bounds, options=opts)
            if not (res.success or nm.success or np.max(np.abs(res.jac)) < 1e-4):
                raise ClvFitError(f"{self.who}: the optimiser did not converge ({res.message})")
            if not res.success:
                res = nm
        if not np.all(np.isfinite(res.x)) or not np.isfinite(neg_ll(res.x)):
            raise ClvFitError(f"{self.who}: the optimiser ended on a non-finite log-likelihood")
        edge, note = self.boundary(res.x)
        if edge.any():
            est = {k: float(f"{v:.4g}") for k, v in zip(self.param_names, np.exp(res.x), strict=True)}
            ran = [k for k, e in zip(self.param_names, edge, strict=True) if e]
            hints = " ".join(dict.fromkeys(self.edge_hints[k] for k in ran))
            warnings.warn(
                ClvFitWarning(
                    f"{self.who}: {ran} ran to the edge of the parameter space{note}: {est}. {hints} "
                    "Their standard errors are NaN; the others' are conditional on them."
                ),
                stacklevel=4,
            )
        # covariance of the interior log-parameters (edge ones held fixed)
        cov = np.full((len(self.param_names), len(self.param_names)), np.nan)
        inner = np.flatnonzero(~edge)
        if len(inner):
            hess = _numerical_hessian(grad, res.x)[np.ix_(inner, inner)]
            try:
                sub = np.linalg.inv(hess)
                if np.any(np.diag(sub) <= 0) or not np.all(np.isfinite(sub)):
                    raise np.linalg.LinAlgError
                cov[np.ix_(inner, inner)] = sub
            except np.linalg.LinAlgError:
                warnings.warn(
                    ClvFitWarning(f"{self.who}: Hessian not invertible; standard errors set to NaN"),
                    stacklevel=4,
                )
        est = np.exp(res.x)
        se = est * np.sqrt(np.diag(cov))
        return ClvFit(
            model=self.name,
            params={k: float(v) for k, v in zip(self.param_names, est, strict=True)},
            se={k: float(v) for k, v in zip(self.param_names, se, strict=True)},
            log_likelihood=float(-neg_ll(res.x)),
            n=int(n),
            cov_log=cov,
            boundary=tuple(k for k, e in zip(self.param_names, edge, strict=True) if e),
        )
