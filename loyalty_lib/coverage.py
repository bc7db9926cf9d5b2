"""Interval coverage of the headline estimators over generator seeds (synthetic data only).

A 95 % interval is honest when, over many data sets, it contains the planted value of the same
figure about 95 % of the time, the estimates are centred on it (no bias), and the width the
interval claims matches how much the estimates really scatter. This module measures that.

For one generated branch, each function in :data:`ESTIMATORS` runs one headline estimator the way
its stage notebook does and returns rows ``estimate, ci_low, ci_high, truth`` (the planted value
comes from :mod:`loyalty_lib.truth` or the generator's counterfactual). :func:`sweep` repeats
that over seeds, :func:`summarise` turns the rows into a coverage table and
:func:`validation_markdown` writes it for ``docs/validation.md``. ``make test`` runs a small
sweep; ``make test-slow`` the large one, which rewrites the page.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats as sps

from loyalty_lib import truth as tl
from loyalty_lib.dataset import Dataset
from loyalty_lib.metrics import activity, basket, designs, enrollment, impact, roi
from loyalty_lib.metrics import satisfaction as sat
from loyalty_lib.stats import z_value
from loyalty_lib.study import Study

ROW_COLUMNS = ["estimator", "estimate", "ci_low", "ci_high", "truth"]
LEVEL = 0.95

#: Figures whose flag in docs/validation.md has a known cause, and what it is. The large sweep
#: lists them under its table and does not fail on them; remove an entry once its fix lands.
KNOWN_ISSUES: dict[str, str] = {
    "activation_km_90d": (
        "the Kaplan-Meier reading assumes cards issued late activate like cards issued early; a "
        "seller offers cards at purchases, so the first cards go to the most frequent buyers and "
        "the reading runs about half a point high (100k customers: 63.1 % against a planted "
        "62.6 %); the plain share among cards watched 90 days (`activation_90d`) is the headline. "
        "Checked over the 10 seeds at 25,000 customers: the cards watched less than 90 days (the "
        "last 13 % issued) have a planted 90-day activation 11.4 points below the cards watched "
        "longer; the cards watched 90 days, censored at random (uniform 0-180 days), give a "
        "Kaplan-Meier reading +0.0018 from their planted value (z +1.4, covered 10 of 10), and the "
        "same censoring times handed out by issue order (the latest cards watched shortest) give "
        "+0.0073 (z +4.4): the estimator is right, the censoring is informative."
    ),
    "did_revenue": (
        "the classic ever-member x post DiD, shown in 06 for comparison: a card handed out at a purchase "
        "makes membership depend on a post-launch visit, which biases it upward (docs/impact_design.md); "
        "the headline is the imputation DiD timed from the card."
    ),
    "did_visits": "the same design bias as did_revenue, larger on visits.",
    "psw_revenue": "compared over the same cells as the classic DiD (members' post-launch months); see did_revenue.",
    "roi_pct_program": (
        "07's ROI measures the card's effect per member-month on the established members (the only ones "
        "with a level of their own before the launch) and applies it to every member's months with a card. "
        "New customers who got a card gain less per month (at 250,000 customers, seed 200: 2,072 RUB "
        "against 2,308 for established members, about 10 % less; their months with a card also fall later "
        "in the year, when the members' effect is lower), so against the program's own planted ROI it runs "
        "5.6 points high at 250,000 customers (2 seeds); at 25,000 customers the interval is wide enough to "
        "cover it. The `roi_pct` row compares it with the planted value of the figure it estimates "
        "(docs/impact_design.md, 'What 07's ROI estimates')."
    ),
}

#: Checks beside the table: what else was measured on the flagged figures (hand-run sweeps, their
#: figures written here), listed under the table so that the page keeps them when it is rewritten.
OTHER_CHECKS: dict[str, str] = {
    "goal_gradient": (
        "the slope of log gap on stamps held within members (until this change) was biased toward no pull: "
        "+0.0032 at 25,000 customers over 10 seeds (coverage 50 %), +0.0035 at 250,000 over 2 (0 %). The "
        "generator draws a member's visits at their own rate x exp(pull x stamps held), so the fit is now a "
        "model of that rate over every member's days at each stamp count, the unfinished last pause included "
        "(`activity.goal_gradient_fit`). Tried on the same branches (error of the log pause per stamp): a "
        "fixed rate per member estimated from the same visits (Poisson with member fixed effects), +0.0090 and "
        "+0.0100 (seeds 100 and 101 at 25,000): the last, unfinished pause falls at the stamp count the member has "
        "reached, which the stamps push up, and a member's own few visits cannot tell that apart from a "
        "weaker pull; the same on finished pauses only, +0.0029; its split-watch jackknife, +0.0042. Members' "
        "rates from a gamma law whose mean depends on the days watched, integrated out (the estimator now "
        "used): -0.0003 (z -1.0) over 10 seeds at 25,000, +0.0001 (z +0.5) over 2 at 250,000. Taking the "
        "treated contacts' 14-day response windows out of the time at risk moved it to -0.0015 (z -3.7, 10 "
        "seeds at 25,000) and -0.0012 at 250,000, so campaign visits are counted like any visit (about one "
        "receipt in 300)."
    ),
    "activation": (
        "02's planted share of cards used by day d read d days from the hand-out purchase, while the "
        "count reads them from the issue date's midnight (an issue date is a day; the card is handed "
        "out at a purchase during it): about half a day longer, so the reference ran 0.4 points above "
        "the count at 30 days and 0.8 at 7 (the 1M report's failed check: 41.1 % against 41.4 %). "
        "The reference now averages over the hand-out time (uniform over the shop day) and reads the "
        "horizon on the count's clock (`enrollment.planted_activation_by_day`). Sweep "
        "(`tests/metrics/test_activation_truth.py`, slow): 20 seeds at 25,000 customers and 6 at "
        "250,000, at 1, 7, 30, 90 and 180 days: every interval covers (100 %); mean error -0.01 to "
        "+0.06 points at 25,000, +0.03 to +0.14 at 250,000 (within 1.5 of the intervals' own standard "
        "errors); the old reading at 1 day is off by 40 and 67 of them. What is left, about +0.1 points at "
        "90 and 180 days at 250,000 customers (6 seeds, against the spread over seeds: z +1.2 and +4.4), "
        "comes from the campaigns: a win-back offer goes to a holder who has not come for 60 days, and "
        "so has not used the card, and the reference conditions on the offers sent but not on why "
        "(without campaigns, 6 seeds at 250,000: +0.00 to +0.05 points, z below 0.8). The report's "
        "snapshots read 42.3 % (41.9-42.7) against 42.4 % at 30 days at 250,000 customers and 41.1 % "
        "(40.9-41.3) against 41.1 % at 1M; 90 and 180 days covered at both."
    ),
    "imputation_did placebo": (
        "the imputation DiD on the no-program world (revenue replaced by the planted no-program revenue; the "
        "true effect is 0), 42 seeds of a 3,000-customer branch (established customers, 100 bootstrap "
        "resamples): mean +25 RUB per member-month (standard error over seeds 40, z +0.6): no bias (an "
        "earlier 16-draw mean of +128 was chance). Its interval is too narrow at that size: the bootstrap "
        "standard error averages 210 against a spread of 258 over seeds (SE/spread 0.81) and the 95 % "
        "interval contains 0 in 33 of 42 seeds (79 %); at 25,000 customers the table's row covers (SE/spread "
        "above 1)."
    ),
}

#: Short words for the flag column of the page, for the figures whose flag has a known cause.
KNOWN_IN_TABLE: dict[str, str] = {
    "activation_km_90d": "known: early cards go to frequent buyers",
    "did_revenue": "expected: the classic design, shown for comparison, is biased upward",
    "did_visits": "expected: the classic design, shown for comparison, is biased upward",
    "psw_revenue": "compared with the classic design's planted figure",
    "roi_pct_program": "expected: new members' effect assumed equal to established members'",
}


@dataclass
class Branch:
    """One generated branch and the pieces several estimators share (built once, on demand).

    Parameters
    ----------
    ds : Dataset
        Synthetic data with planted truth.
    seed : int
        Seed of the bootstraps.
    n_boot : int
        Bootstrap resamples (customers) for the estimators that use them.
    """

    ds: Dataset
    seed: int = 0
    n_boot: int = 200
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def period(self) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp]:
        """``start, launch, end`` of the synthetic branch."""
        p = self.ds.truth["period"]
        return pd.Timestamp(p["start"]), pd.Timestamp(p["launch"]), pd.Timestamp(p["end"])

    @cached_property
    def study(self) -> Study:
        """The study of the branch, derived from its tables as notebooks 06 and 07 derive it."""
        return Study.from_data(self.ds)

    @cached_property
    def design(self) -> designs.ImpactDesign:
        """The impact design the branch allows (the card-timed DiD on the teaching branch)."""
        return designs.choose_design(self.study)

    @cached_property
    def established(self) -> pd.DataFrame:
        """The customer-month panel of notebooks 06 and 07 (:func:`~loyalty_lib.metrics.designs.impact_panel`).

        The established customers of the study, treatment from the study's join dates (receipts
        split at the day after each card was handed out). The planted no-program outcomes stay in
        the truth layer, which :func:`loyalty_lib.truth.annotate` reads for each figure.
        """
        return designs.impact_panel(self.ds, self.study, design=self.design)


def _rows(frame: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    out = frame[["estimate", "ci_low", "ci_high", "truth"]].astype(float).copy()
    out.insert(0, "estimator", list(names))
    return out.reset_index(drop=True)


def return_curve_rows(b: Branch) -> pd.DataFrame:
    """Chance of a next visit within the planted horizon after visit 1 and visit 2 (``03_activity``).

    Planted value: the mean planted probability of a return within the horizon over the same
    eligible visits of customers first seen inside the data.
    """
    start, _, end = b.period
    ds = b.ds
    h = int(ds.truth["return_curve"]["horizon_days"])
    new = ds.customers.loc[pd.to_datetime(ds.customers["first_seen"]) >= start, "customer_id"]
    curve = activity.return_curve(ds.transactions, horizon_days=h, end=end, k_max=2, customers=new)
    return _rows(tl.annotate(curve, ds, "return_curve", horizon_days=h), ["return_curve_k1", "return_curve_k2"])


def activation_rows(b: Branch, days: float = 90) -> pd.DataFrame:
    """Share of cards used within ``days`` of issue (``02_enrollment``), two ways.

    ``activation_{days}d``: the plain share among cards watched at least ``days`` (the
    headline); ``activation_km_{days}d``: the Kaplan-Meier reading over all cards. Planted
    value: the mean over the same holders of the chance of a card use by then, from the member
    visit rate, the card-use probability and the campaign visits
    (:func:`~loyalty_lib.metrics.enrollment.planted_activation_by_day`).
    """
    _, launch, end = b.period
    members = enrollment.member_table(b.ds.cards, b.ds.transactions, end=end)
    members = members[members["issued_date"] >= launch]
    watched = members[members["followup_days"] >= days]
    plain = enrollment.activation_within(members, [days])[["estimate", "ci_low", "ci_high", "n"]]
    km = enrollment.activation_by_day(enrollment.time_to_activation(members), [days])
    return pd.concat(
        [
            _rows(tl.annotate(plain, b.ds, "activation", members=watched), [f"activation_{days:g}d"]),
            _rows(tl.annotate(km, b.ds, "activation", members=members), [f"activation_km_{days:g}d"]),
        ],
        ignore_index=True,
    )


def bunching_rows(b: Branch) -> pd.DataFrame:
    """Excess mass of card receipts just above each planted tier threshold (``04_average_check``).

    Planted value: the number of checks the generator topped up over that threshold.
    """
    thresholds = [float(t) for t in b.ds.truth["tiers"]["thresholds"]]
    card = b.ds.transactions[b.ds.transactions["card_id"].notna()]
    bunch = basket.bunching(card, thresholds, n_boot=b.n_boot, seed=b.seed)
    return _rows(tl.annotate(bunch, b.ds, "bunching"), [f"bunching_{t:g}" for t in thresholds])


def nps_rows(b: Branch) -> pd.DataFrame:
    """NPS of all survey answers, customer bootstrap (``05_satisfaction``).

    Planted value: the expected NPS of the same answers given each respondent's planted satisfaction.
    """
    score = sat.nps(b.ds.surveys, n_boot=b.n_boot, seed=b.seed)
    return _rows(tl.annotate(score.set_axis(["score"]), b.ds, "nps_score"), ["nps"])


def odds_ratio_rows(b: Branch, horizon_days: int = 90) -> pd.DataFrame:
    """Odds ratio of buying again within the horizon per NPS point, NPS alone (``05_satisfaction``).

    Planted value: the fractional-logit fit of the planted return probability on the same answers.
    """
    ds = b.ds
    _, _, end = b.period
    ret = sat.retention_frame(ds.surveys, ds.transactions, horizon_days=horizon_days, end=end)
    odds = sat.retention_logit(ret[ret["eligible"]], controls=())
    frame = tl.annotate(odds.loc[["nps"]], ds, "nps", horizon_days=horizon_days)
    return _rows(frame, ["satisfaction_odds_ratio"])


def goal_gradient_rows(b: Branch) -> pd.DataFrame:
    """Log pause per stamp held, each member at a usual rate of their own (``03_activity``).

    The visit-rate model of :func:`~loyalty_lib.metrics.activity.goal_gradient_fit` over every
    member's time at each stamp count, the unfinished last pause included. Planted value: minus
    the planted log visit rate per stamp held.
    """
    _, _, end = b.period
    panel = activity.goal_gradient_panel(b.ds.transactions, b.ds.points_ledger, b.ds.cards, end=end)
    fit = activity.goal_gradient_fit(panel).loc[["within"]]
    return _rows(tl.annotate(fit, b.ds, "goal_gradient"), ["goal_gradient"])


def did_rows(b: Branch) -> pd.DataFrame:
    """Two-way fixed-effects DiD, ever-member x post, revenue and visits (``06_impact``).

    Planted value: mean of actual minus no-program outcome over established members' post-launch months.
    """
    est = b.established
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        did = pd.concat([impact.did_panel(est, outcome="revenue"), impact.did_panel(est, outcome="visits")])
    return _rows(tl.annotate(did, b.ds, "impact", panel=est, cells="treated"), ["did_revenue", "did_visits"])


def imputation_rows(b: Branch) -> pd.DataFrame:
    """DiD by imputation timed from the card, revenue and visits per member-month with a card (``06_impact``).

    The headline of 06: :func:`~loyalty_lib.metrics.designs.program_effect` on the study's panel.
    Planted value: actual minus no-program outcome over members' time with a card, per member-month.
    """
    est = b.established
    imp = designs.program_effect(est, b.design, outcomes=["revenue", "visits"], n_boot=b.n_boot, seed=b.seed)
    frame = tl.annotate(imp, b.ds, "card_impact", panel=est).loc[["revenue", "visits"]]
    return _rows(frame, ["imputation_did_revenue", "imputation_did_visits"])


def psw_rows(b: Branch) -> pd.DataFrame:
    """Propensity-score weighting (ATT), revenue per member-month after launch (``06_impact``).

    Planted value: the DiD's (established members' post-launch months).
    """
    est, study = b.established, b.study
    customers = b.ds.customers[b.ds.customers["customer_id"].isin(est["customer_id"].unique())]
    features = impact.pre_period_features(b.ds.transactions, customers, launch=study.launch, start=study.start)
    member = est.groupby("customer_id")["ever_member"].first().reindex(features.index).to_numpy()
    post = est[est["post"]].groupby("customer_id")[["revenue", "visits"]].mean().reindex(features.index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        psw = impact.psw_att(features, member, post, n_boot=b.n_boot, seed=b.seed).loc[["revenue"]]
    return _rows(tl.annotate(psw, b.ds, "impact", panel=est, cells="treated"), ["psw_revenue"])


def roi_rows(b: Branch) -> pd.DataFrame:
    """Program ROI, exactly as ``07_roi_clv`` computes it, against two planted values.

    The incremental gross revenue of :func:`~loyalty_lib.metrics.designs.incremental_revenue` (the
    effect per member-month with a card, measured on the established members, times every member's
    months with a card), the cost of the ledger, the generator's margin (07's default). ``roi_pct``:
    planted value of the same figure, the ROI of the established members' planted effect per
    member-month with a card times every member's months with a card (``impact.card_gross_per_member_month``
    x ``program.member_months_with_card``). ``roi_pct_program``: the program's own planted ROI over
    members' time with a card (``program.roi_pct_with_card``, new members at their own planted effect).
    """
    ds = b.ds
    inc = designs.incremental_revenue(ds, b.study, b.design, n_boot=b.n_boot, seed=b.seed)
    margin = float(ds.truth["program"]["margin"])
    cost_total = float(roi.cost_ledger(ds.program_costs).drop(columns="total").sum().sum())
    table = inc.roi(cost_total=cost_total, margin=margin).loc[["roi_pct"]]
    same = tl.annotate(table, ds, "roi_card_effect", margin=margin, cost_total=cost_total)
    program = tl.annotate(table, ds, "roi_with_card", margin=margin, cost_total=cost_total)
    return pd.concat([_rows(same, ["roi_pct"]), _rows(program, ["roi_pct_program"])], ignore_index=True)


#: Every headline estimator: name -> function of a :class:`Branch` returning its rows.
ESTIMATORS: dict[str, Callable[[Branch], pd.DataFrame]] = {
    "return_curve": return_curve_rows,
    "activation": activation_rows,
    "bunching": bunching_rows,
    "nps": nps_rows,
    "satisfaction_odds_ratio": odds_ratio_rows,
    "goal_gradient": goal_gradient_rows,
    "did": did_rows,
    "imputation_did": imputation_rows,
    "psw": psw_rows,
    "roi": roi_rows,
}


def seed_rows(
    seed: int,
    n_customers: int,
    *,
    estimators: Sequence[str] | None = None,
    n_boot: int = 200,
    scenario: str = "sergey_branch",
) -> pd.DataFrame:
    """Generate one branch and run the chosen estimators on it.

    Parameters
    ----------
    seed : int
        Generator seed (also the bootstraps' seed).
    n_customers : int
        Generator size.
    estimators : sequence of str, optional
        Keys of :data:`ESTIMATORS`; all by default.
    n_boot : int
        Bootstrap resamples.
    scenario : str
        Generator scenario.

    Returns
    -------
    pandas.DataFrame
        Columns ``estimator, estimate, ci_low, ci_high, truth, seed, n_customers``.
    """
    from loyalty_lib import synth

    names = list(estimators) if estimators is not None else list(ESTIMATORS)
    unknown = [n for n in names if n not in ESTIMATORS]
    if unknown:
        raise ValueError(f"unknown estimators {unknown}; known: {', '.join(ESTIMATORS)}")
    b = Branch(synth.generate(scenario, n_customers=n_customers, seed=seed), seed=seed, n_boot=n_boot)
    out = pd.concat([ESTIMATORS[n](b) for n in names], ignore_index=True)
    return out.assign(seed=seed, n_customers=n_customers)


def _seed_rows_star(args) -> pd.DataFrame:
    seed, n, kw = args
    return seed_rows(seed, n, **kw)


def sweep(
    seeds: Sequence[int],
    n_customers: int,
    *,
    estimators: Sequence[str] | None = None,
    n_boot: int = 200,
    jobs: int = 1,
) -> pd.DataFrame:
    """Run :func:`seed_rows` for every seed (in ``jobs`` processes) and stack the rows.

    Returns
    -------
    pandas.DataFrame
        Columns ``estimator, estimate, ci_low, ci_high, truth, seed, n_customers``.
    """
    kw = {"estimators": estimators, "n_boot": n_boot}
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            parts = list(pool.map(_seed_rows_star, [(s, n_customers, kw) for s in seeds]))
    else:
        parts = [seed_rows(s, n_customers, **kw) for s in seeds]
    return pd.concat(parts, ignore_index=True)


def summarise(rows: pd.DataFrame, *, level: float = LEVEL) -> pd.DataFrame:
    """Coverage table: one row per estimator and size.

    Parameters
    ----------
    rows : pandas.DataFrame
        Output of :func:`sweep` (several sizes may be stacked).
    level : float
        Level the intervals claim (to turn a width into a standard error).

    Returns
    -------
    pandas.DataFrame
        Columns ``estimator, n_customers, seeds, coverage`` (share of seeds whose interval
        contains the planted value), ``mean_truth, mean_bias`` (mean of estimate − truth),
        ``bias_se`` (its standard error over seeds), ``bias_z`` (``mean_bias / bias_se``),
        ``mean_width`` (of the interval), ``se_ratio`` (the standard error the interval claims,
        width / 2z, averaged, over the standard deviation of estimate − truth across seeds: about
        1 when the width is right, below 1 when the interval is too narrow).

    Examples
    --------
    >>> rows = pd.DataFrame({"estimator": "x", "n_customers": 100, "seed": [1, 2, 3],
    ...                      "estimate": [1.0, 2.0, 3.0], "ci_low": [0.0, 1.0, 2.5],
    ...                      "ci_high": [2.0, 3.0, 3.5], "truth": 2.0})
    >>> t = summarise(rows).iloc[0]
    >>> round(float(t.coverage), 3), float(t.mean_bias), round(float(t.mean_width), 3)
    (0.667, 0.0, 1.667)
    """
    z = z_value(level)
    d = rows.dropna(subset=["estimate", "ci_low", "ci_high", "truth"]).assign(
        err=lambda f: f["estimate"] - f["truth"],
        width=lambda f: f["ci_high"] - f["ci_low"],
        covered=lambda f: (f["ci_low"] <= f["truth"]) & (f["truth"] <= f["ci_high"]),
    )
    g = d.groupby(["estimator", "n_customers"], sort=False)
    out = g.agg(
        seeds=("err", "size"),
        coverage=("covered", "mean"),
        mean_truth=("truth", "mean"),
        mean_bias=("err", "mean"),
        sd_err=("err", "std"),
        mean_width=("width", "mean"),
    ).reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["bias_se"] = out["sd_err"] / np.sqrt(out["seeds"])
        out["bias_z"] = out["mean_bias"] / out["bias_se"]
        out["se_ratio"] = out["mean_width"] / (2 * z) / out["sd_err"]
    cols = ["estimator", "n_customers", "seeds", "coverage", "mean_truth", "mean_bias", "bias_se", "bias_z"]
    return out[cols + ["mean_width", "se_ratio"]]


def coverage_floor(seeds: int, *, level: float = LEVEL, alpha: float = 0.01) -> float:
    """Lowest coverage a calibrated interval reaches over ``seeds`` seeds with probability 1 − ``alpha``.

    Examples
    --------
    >>> coverage_floor(20)
    0.8
    """
    return float(sps.binom.ppf(alpha, seeds, level) / seeds)


def flags(table: pd.DataFrame, *, z_max: float | None = None, ratio_min: float = 0.7) -> pd.Series:
    """What is wrong with each row of a coverage table, in words (empty when nothing is).

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`summarise`.
    z_max : float, optional
        A mean bias further than this many standard errors from 0 is flagged *biased*. By
        default the two-sided 1 % point of Student's t with ``seeds - 1`` degrees of freedom
        (4.0 for 6 seeds, 3.2 for 10), so chance alone flags a figure once in a hundred.
    ratio_min : float
        An SE/spread ratio below this is flagged *too narrow*.

    Returns
    -------
    pandas.Series of str
        ``"low coverage"`` (below :func:`coverage_floor` for its seeds), ``"biased"``, ``"too
        narrow"``, joined by commas; aligned with ``table``.

    Examples
    --------
    >>> t = pd.DataFrame({"seeds": [20, 20], "coverage": [0.95, 0.6], "bias_z": [0.5, 4.0], "se_ratio": [1.0, 0.5]})
    >>> flags(t).tolist()
    ['', 'low coverage, biased, too narrow']
    """
    floor = table["seeds"].map(lambda n: coverage_floor(int(n)))
    limit = z_max if z_max is not None else sps.t.ppf(0.995, np.maximum(table["seeds"] - 1, 1))
    parts = pd.DataFrame(
        {
            "low coverage": table["coverage"] < floor - 1e-12,
            "biased": table["bias_z"].abs() > limit,
            "too narrow": table["se_ratio"] < ratio_min,
        }
    )
    return parts.apply(lambda r: ", ".join(k for k, v in r.items() if v), axis=1).astype(str)


def validation_markdown(table: pd.DataFrame, *, note: str = "", known: dict[str, str] | None = None) -> str:
    """Render a :func:`summarise` table as the ``docs/validation.md`` page.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`summarise`.
    note : str
        How the sweep was run (seeds, sizes, time), put under the title.
    known : dict of str to str, optional
        Figure name -> what is known about its flag (cause, fix under way), listed under the table.

    Returns
    -------
    str
        Markdown.
    """
    lines = [
        "# Validation: do the 95 % intervals cover the planted truth?",
        "",
        "Generated by `make test-slow` (`tests/test_coverage.py::test_coverage_sweep_large`, "
        "code in `loyalty_lib/coverage.py`); do not edit by hand.",
        "",
        "For every seed the generator builds a branch and plants known effects; each headline "
        "estimator runs as in its stage notebook and its 95 % interval is compared with the planted "
        "value of the same figure. Columns: *coverage* = share of seeds whose interval contains the "
        "planted value (95 % expected; with few seeds it moves by several points by chance: the "
        "1 %-lower bound for a calibrated interval is shown as *floor*); *mean bias* = mean of "
        "estimate − truth, with *z* = mean bias / its standard error over seeds (flagged *biased* "
        "beyond Student's t 1 % point for the seeds run: 3.2 for 10 seeds, 5.8 for 4); "
        "*CI width* = mean width of the interval; *SE/spread* = the "
        "standard error the interval claims over the actual spread of estimate − truth across seeds "
        "(about 1 is right; well below 1, the interval is too narrow; above 1, too wide or the "
        "planted value is the data set's own and moves with the estimate).",
        "",
    ]
    if note:
        lines += [note, ""]
    lines += [
        "| estimator | customers | seeds | coverage | floor | mean truth | mean bias | z | CI width "
        "| SE/spread | flag |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r, flag in zip(table.itertuples(), flags(table), strict=True):
        floor = coverage_floor(int(r.seeds))
        if flag and r.estimator in KNOWN_IN_TABLE:
            flag = f"{flag} ({KNOWN_IN_TABLE[r.estimator]}; see below)"
        lines.append(
            f"| {r.estimator} | {int(r.n_customers):,} | {int(r.seeds)} | {r.coverage:.0%} | {floor:.0%} | "
            f"{r.mean_truth:.4g} | {r.mean_bias:+.3g} | {r.bias_z:+.1f} | {r.mean_width:.3g} | {r.se_ratio:.2f} | "
            f"{flag} |"
        )
    if known:
        lines += ["", "## Known causes of the flags", ""]
        lines += [f"- **{name}**: {text}" for name, text in known.items()]
    lines += ["", "## Other checks", ""]
    lines += [f"- **{name}**: {text}" for name, text in OTHER_CHECKS.items()]
    lines += ["", "## What each row compares", ""]
    for name, fn in ESTIMATORS.items():
        summary, planted = (" ".join(part.split()) for part in fn.__doc__.strip().split("\n\n")[:2])
        lines.append(f"- `{name}` (`coverage.{fn.__name__}`): {summary} {planted}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Render ``docs/validation.md`` from sweep rows saved as CSV (``python -m loyalty_lib.coverage``).

    Parameters
    ----------
    argv : sequence of str, optional
        ``ROWS.csv [ROWS.csv ...] --out FILE [--note TEXT]``.

    Returns
    -------
    int
        Exit code.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m loyalty_lib.coverage", description=main.__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="+", help="CSV files of sweep rows (from the large sweep)")
    parser.add_argument("--out", required=True, help="markdown file to write")
    parser.add_argument("--note", default="", help="how the sweep was run")
    args = parser.parse_args(argv)
    rows = pd.concat([pd.read_csv(f) for f in args.rows], ignore_index=True)
    rows = rows.drop_duplicates(subset=["estimator", "seed", "n_customers"], keep="last")
    table = summarise(rows.sort_values(["n_customers", "seed"], kind="stable"))
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(validation_markdown(table, note=args.note, known=KNOWN_ISSUES))
    return 0


__all__ = [
    "Branch",
    "ESTIMATORS",
    "KNOWN_ISSUES",
    "KNOWN_IN_TABLE",
    "OTHER_CHECKS",
    "coverage_floor",
    "flags",
    "main",
    "seed_rows",
    "summarise",
    "sweep",
    "validation_markdown",
]


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
