"""Program-design simulator at shop scale: 100,000 customers, five program variants, one year.

The population imitates the teaching branch's mix (private clients with gamma visit rates of shape
0.22 and mean 4 a year, one in eight a business client buying 20 times a year; log-normal checks
around 1,200 and 7,000) without running the generator. The target is one simulated world of
five variants in under a minute::

    python benchmarks/bench_simulate.py                    # 100k customers, 1 world
    python benchmarks/bench_simulate.py --customers 1000000 --worlds 1

It prints ``inner <seconds>`` (the simulation alone) and ``peak <KiB>`` (max RSS), as the other
benchmark scripts do.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from loyalty_lib.simulate import (
    Combined,
    FixedCosts,
    Points,
    Population,
    Referral,
    Responses,
    StampCard,
    TieredDiscount,
    run,
)

TARGET_SECONDS = 60.0


def population(n: int, seed: int = 0) -> Population:
    """A synthetic population of ``n`` customers shaped like the teaching branch."""
    rng = np.random.default_rng(seed)
    b2b = rng.random(n) < 0.12
    shape = np.where(b2b, 1.0, 0.222)
    mean = np.where(b2b, 20.0, 4.05)
    rate = rng.gamma(shape, mean / shape) / 365.0
    median = np.where(b2b, 7000.0, 1200.0)
    mu = np.log(median) + 0.5 * rng.standard_normal(n)
    return Population(
        rate_mean=rate, rate_shape=np.full(n, np.inf), check_mu=mu, arrival_day=np.zeros(n), check_sigma=0.55
    )


def variants(n: int):
    """Five card variants with the teaching branch's running costs (cards for two customers in five)."""
    costs = FixedCosts(
        cards_printed=int(0.4 * n),
        card_print_cost=15.0,
        setup_cost=150_000.0,
        communications_per_member_month=0.7,
        staff_per_card=50.0,
    )
    tiers = TieredDiscount((1500.0, 5000.0, 15000.0), (0.05, 0.07, 0.10))
    return [
        TieredDiscount(tiers.thresholds, tiers.rates, name="tiers", costs=costs),
        Points(0.03, 1.0, 100.0, 365, name="points", costs=costs),
        StampCard(10, 300.0, name="stamps", costs=costs),
        Referral(400.0, name="referral", costs=costs),
        Combined((tiers, StampCard(10, 300.0)), name="tiers and stamps", costs=costs),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when one world takes longer than the target."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--worlds", type=int, default=1)
    args = ap.parse_args(argv)
    pop = population(args.customers)
    r = Responses(
        visit_uplift=0.07,
        check_uplift=0.04,
        take_up=0.2,
        never_join=0.35,
        selection=1.0,
        card_use=0.65,
        bunching_prob=0.3,
        goal_gradient=0.4,
        redemption=0.9,
        giveback_reference=0.07,
    )
    t = time.perf_counter()
    res = run(pop, variants(args.customers), r, n_seeds=args.worlds)
    inner = time.perf_counter() - t
    per_world = inner / args.worlds
    print(res.groupby("variant", sort=False)[["members", "incremental_gross", "cost_total", "roi_pct"]].mean().round(0))
    print("inner", round(inner, 2))
    print("peak", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    print(f"{args.customers:,} customers, 5 variants: {per_world:.1f} s per world (target {TARGET_SECONDS:.0f} s)")
    return 0 if per_world < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
