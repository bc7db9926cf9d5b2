"""Customer-level models on every customer up to a size, on a documented random sample above it.

Aggregates (totals, counts, means over receipts) always use every row. Models fitted per
customer (the fixed-effects DiD, propensity weighting, the lifetime-value fits) grow in time and
memory with the number of customers; above ``max_model_customers`` they are fitted on a simple
random sample of customers, drawn with the notebook's seed, every row of a sampled customer
kept. The price is precision, and it is shown beside the estimate: a standard error from a
sample of *n* of *N* customers is about ``sqrt(N / n)`` times the one all customers would give
(:func:`add_sample_cost`); the estimate itself stays unbiased, since the sample is random.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ModelSample", "add_sample_cost", "sample_customers"]


@dataclass(frozen=True)
class ModelSample:
    """Which customers a model was fitted on.

    Attributes
    ----------
    n_all : int
        Customers in the data given to the model.
    n_used : int
        Customers it was fitted on (``n_all`` when no sample was drawn).
    max_customers : int
        The limit (``max_model_customers``; 0 means none).
    seed : int
        Seed of the draw.
    """

    n_all: int
    n_used: int
    max_customers: int
    seed: int

    @property
    def sampled(self) -> bool:
        """Whether a sample was drawn."""
        return self.n_used < self.n_all

    @property
    def se_factor(self) -> float:
        """About how many times wider the errors are than with every customer: ``sqrt(n_all / n_used)``."""
        return float(np.sqrt(self.n_all / self.n_used)) if self.n_used else float("nan")

    def sentence(self, what: str = "the models") -> str:
        """One plain sentence on the sample, for the page (empty when every customer was used)."""
        if not self.sampled:
            return ""
        return (
            f"{what[:1].upper() + what[1:]} are fitted on a random sample of {self.n_used:,} of the "
            f"{self.n_all:,} customers (the `max_model_customers` parameter, seed {self.seed}); the totals and "
            f"counts use every customer. A random sample keeps the estimates unbiased but widens their "
            f"intervals about {self.se_factor:.2f} times compared with fitting on everyone."
        )


def sample_customers(
    frame: pd.DataFrame, max_customers: int, *, seed: int = 0, customer_col: str = "customer_id"
) -> tuple[pd.DataFrame, ModelSample]:
    """Keep every row of a random sample of ``max_customers`` customers, or the frame as it is.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows of customers (a customer-month panel, an RFM summary, ...); not modified.
    max_customers : int
        Largest number of customers kept; 0 means no limit.
    seed : int
        Seed of the draw (the same seed draws the same customers).
    customer_col : str
        Customer key.

    Returns
    -------
    frame : pandas.DataFrame
        The rows of the sampled customers (``frame`` itself when no sample is needed).
    sample : ModelSample

    Examples
    --------
    >>> p = pd.DataFrame({"customer_id": [1, 1, 2, 3, 4], "revenue": [1.0, 2, 3, 4, 5]})
    >>> kept, s = sample_customers(p, 2, seed=1)
    >>> kept["customer_id"].nunique(), s.n_all, round(s.se_factor, 3)
    (2, 4, 1.414)
    """
    if max_customers < 0:
        raise ValueError(f"max_model_customers must be 0 (no limit) or positive, got {max_customers}")
    if customer_col not in frame:
        raise ValueError(f"sample_customers: no column {customer_col!r}")
    ids = pd.unique(frame[customer_col].dropna())
    n_all = len(ids)
    if not max_customers or n_all <= max_customers:
        return frame, ModelSample(n_all, n_all, max_customers, seed)
    rng = np.random.default_rng(seed)
    keep = np.sort(ids)[rng.choice(n_all, size=max_customers, replace=False)]
    out = frame[frame[customer_col].isin(keep)]
    return out, ModelSample(n_all, max_customers, max_customers, seed)


def add_sample_cost(estimates: pd.DataFrame, sample: ModelSample) -> pd.DataFrame:
    """Add the precision a sample costs beside the estimates.

    Returns
    -------
    pandas.DataFrame
        A copy with ``customers_used`` (share of customers the model saw) and
        ``interval_vs_all`` (about how many times wider the interval is than with every
        customer: ``sqrt(N / n)``; 1 when every customer was used).

    Examples
    --------
    >>> e = pd.DataFrame({"estimate": [15.0]})
    >>> add_sample_cost(e, ModelSample(400, 100, 100, 0))[["customers_used", "interval_vs_all"]].values.tolist()
    [[0.25, 2.0]]
    """
    out = estimates.copy()
    out["customers_used"] = sample.n_used / sample.n_all if sample.n_all else np.nan
    out["interval_vs_all"] = sample.se_factor
    return out
