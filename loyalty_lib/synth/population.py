"""Population piece: who the customers are, and their hidden buying habits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalty_lib.synth.scenario import Scenario

DISTRICTS = np.array(["Central", "North", "South", "East", "West", "Riverside", "Industrial", "Suburbs"])
#: Private clients' ages: normal, rounded to whole years and clipped (business clients have none).
AGE_MEAN, AGE_SD, AGE_MIN, AGE_MAX = 42.0, 13.0, 18, 85
#: Share of women among private clients (business clients have no gender).
FEMALE_SHARE = 0.55


def age_distribution() -> dict[str, float]:
    """Planted probability of each whole age of a private client (normal, rounded, clipped)."""
    from scipy.stats import norm

    ages = np.arange(AGE_MIN, AGE_MAX + 1)
    upper = norm.cdf((ages + 0.5 - AGE_MEAN) / AGE_SD)
    lower = norm.cdf((ages - 0.5 - AGE_MEAN) / AGE_SD)
    upper[-1], lower[0] = 1.0, 0.0  # clipping piles the tails on the first and last age
    return {str(int(a)): float(p) for a, p in zip(ages, upper - lower, strict=True)}


def stores_and_sellers(sc: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return store ids, seller ids and each seller's store (couriers belong to ``DLV``)."""
    stores = np.array([f"S{i + 1}" for i in range(sc.n_stores)])
    sellers = [f"{s}-{j + 1:02d}" for s in stores for j in range(sc.sellers_per_store)]
    sellers += [f"DLV-{j + 1:02d}" for j in range(sc.n_couriers)]
    seller_store = np.array([s.split("-")[0] for s in sellers])
    return stores, np.array(sellers), seller_store


def population(sc: Scenario, n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Draw customers and their latent habits.

    Visit rates are gamma-distributed (heavily skewed for b2c: many one-off buyers, a core of
    regulars), which makes the return-after-k-visits curve rise as in the Fivestars figures.
    Latent satisfaction raises the visit rate.

    Parameters
    ----------
    sc : Scenario
    n : int
        Number of customers.
    rng : numpy.random.Generator

    Returns
    -------
    customers : pandas.DataFrame
        The contract's ``customers`` table.
    latent : pandas.DataFrame
        ``customer_id, b2b, established, arrival_day, rate, basket_scale, satisfaction_z``;
        ``rate`` is visits per day, ``arrival_day`` days from the data start (negative for
        established customers, whose earlier visits are not in the data).
    """
    days = sc.pre_days + sc.post_days
    b2b = rng.random(n) < sc.b2b_share
    established = rng.random(n) < sc.established_share
    arrival = np.where(established, -rng.random(n) * 730.0, rng.random(n) * (days - 1))
    shape = np.where(b2b, sc.b2b_rate_shape, sc.b2c_rate_shape)
    mean = np.where(b2b, sc.b2b_rate_mean, sc.b2c_rate_mean)
    sat = rng.standard_normal(n)
    rate = rng.gamma(shape, mean / shape) * np.exp(sc.satisfaction_effect * sat - sc.satisfaction_effect**2 / 2)
    rate = np.minimum(rate, sc.max_rate) / 365.0
    median = np.where(b2b, sc.b2b_basket_median, sc.b2c_basket_median)
    basket_scale = median * np.exp(sc.basket_customer_sigma * rng.standard_normal(n))

    stores, _, _ = stores_and_sellers(sc)
    home = stores[rng.choice(len(stores), n, p=_store_weights(len(stores)))]
    age = np.clip(np.round(rng.normal(AGE_MEAN, AGE_SD, n)), AGE_MIN, AGE_MAX)
    income_p = np.clip((np.log(basket_scale / median) + 0.5) / 1.5, 0.05, 0.95)
    u = rng.random(n)
    income = np.where(u < (1 - income_p) * 0.6, "low", np.where(u < 1 - income_p * 0.5, "middle", "high"))
    gender = np.where(rng.random(n) < FEMALE_SHARE, "f", "m")
    t0 = sc.t_start
    first_seen = t0 + pd.to_timedelta(np.floor(arrival), unit="D")
    birth = pd.Timestamp("2026-01-01") - pd.to_timedelta(age * 365.25 + rng.random(n) * 365, unit="D")
    customer_id = np.arange(1, n + 1, dtype=np.int64)
    opt = {
        "opt_in_email": rng.random(n) < np.where(b2b, 0.9, 0.6),
        "opt_in_sms": rng.random(n) < np.where(b2b, 0.4, 0.5),
        "opt_in_push": rng.random(n) < np.where(b2b, 0.1, 0.3),
        "opt_in_social": rng.random(n) < np.where(b2b, 0.2, 0.4),
    }
    customers = pd.DataFrame(
        {
            "customer_id": customer_id,
            "customer_type": np.where(b2b, "b2b", "b2c"),
            "first_seen": first_seen,
            "home_store_id": home,
            "age": pd.array(np.where(b2b, np.nan, age), dtype="Int64"),
            "gender": pd.Series(np.where(b2b, None, gender), dtype=object),
            "income_band": pd.Series(np.where(b2b, None, income), dtype=object),
            "district": DISTRICTS[rng.integers(0, len(DISTRICTS), n)],
            "birthday": pd.Series(birth.normalize()).where(~b2b),
            **opt,
        }
    )
    latent = pd.DataFrame(
        {
            "customer_id": customer_id,
            "b2b": b2b,
            "established": established,
            "arrival_day": arrival,
            "rate": rate,
            "basket_scale": basket_scale,
            "satisfaction_z": sat,
        }
    )
    return customers, latent


def _store_weights(k: int) -> np.ndarray:
    w = 1.0 / np.arange(1, k + 1) ** 0.5
    return w / w.sum()
