"""Which impact design the data allow (stages 06 and 07), and the panels each design runs on.

What the program caused can be estimated in several ways, and which one a data set supports
depends on who is in it and when (:class:`loyalty_lib.study.Study`):

* ``card_did`` - identified non-members and a pre-period: the difference-in-differences timed
  from the day each card was handed out (:func:`loyalty_lib.metrics.impact.did_imputation`) on
  the established customers, members and non-members (``docs/impact_design.md``);
* ``event_study`` - members only, card issue dates known and a year before the launch: each
  member's time with the card against their own level before the launch, moved by the season the
  members showed in the same calendar month a year earlier;
* ``staggered`` - members only, issue dates known, a shorter pre-period: the same imputation
  estimator restricted to members, members who have not yet joined serving as the controls of
  those who have (staggered adoption; biased low where cards are handed out at purchases);
* ``branch_did`` - a branch that launched the program while others did not: a
  difference-in-differences of store-month figures (:mod:`loyalty_lib.metrics.branches`);
* ``none`` - members only, issue dates unknown, a program older than the data: nobody is seen
  without the program, so no causal effect can be estimated; the reason says what data would
  enable it.

:func:`choose_design` picks the first of these the study supports and states its assumption in
plain words; :func:`impact_panel` builds the customer-month panel of the customer-level designs
and :func:`program_effect` runs the headline estimate exactly as notebooks 06 and 07 (and the
coverage sweep) do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from loyalty_lib import engine
from loyalty_lib.dataset import Dataset
from loyalty_lib.metrics import impact
from loyalty_lib.study import MIN_PRE_DAYS, Study

__all__ = [
    "ANONYMOUS_SHARE",
    "CUSTOMER_DESIGNS",
    "DESIGNS",
    "SHORT_NAMES",
    "ImpactDesign",
    "Incremental",
    "choose_design",
    "impact_panel",
    "card_revenue",
    "incremental_revenue",
    "naive_totals",
    "panel_customers",
    "program_effect",
    "reference_end",
]

#: Design key -> (label, the assumption it rests on, in plain words).
DESIGNS: dict[str, tuple[str, str]] = {
    "card_did": (
        "difference-in-differences timed from the card, members against identified non-members",
        "without the card, a member's purchases would have changed month by month as all customers' "
        "purchases before a card did (members waiting for their card and non-members together), from "
        "the member's own level before the launch",
    ),
    "event_study": (
        "before and after each member's join date, against the member's own level and last year's season",
        "without the card, each member would have bought at their own monthly level of the year before the "
        "launch, moved up or down in each calendar month as the members' purchases moved in the same month a "
        "year earlier: the months repeat from one year to the next, with no trend beyond the season",
    ),
    "staggered": (
        "event study around each member's join date, members not yet joined as controls",
        "without the card, a member's purchases would have changed month by month as those of the members "
        "who had not joined yet, from the member's own level before the reference period ended; members "
        "who join later are assumed comparable to those who join earlier. Where a card is handed out at a "
        "purchase this fails: the controls' time before their card ends with that purchase, so the imputed "
        "no-card level is too high and the effect too low (12 months before the launch allow the seasonal "
        "comparison instead)",
    ),
    "branch_did": (
        "difference-in-differences of store-month figures, the launching branch against branches without the program",
        "without the program, the launching branch's monthly figures would have stayed in the same proportion "
        "to the other branches' as before the launch (the months before the launch show whether they did); "
        "months are treated as independent, so a drift shared by neighbouring months makes the interval too "
        "narrow",
    ),
    "none": ("no causal design", ""),
}


#: Designs estimated on the customer-month panel of :func:`impact_panel`.
CUSTOMER_DESIGNS = ("card_did", "event_study", "staggered")


#: Share of receipts without a customer id from which the customer-level designs are not used: where
#: walk-in purchases are anonymous, a member's purchases before the card are among them, so the
#: member's own level before the card cannot be measured.
ANONYMOUS_SHARE = 0.01

#: Design key -> a short name for tables and the scorecard.
SHORT_NAMES: dict[str, str] = {
    "card_did": "DiD from the card",
    "event_study": "event study, members only",
    "staggered": "event study, not-yet-joined controls",
    "branch_did": "branch DiD",
    "none": "no design",
}


@dataclass(frozen=True)
class ImpactDesign:
    """The impact design the data allow.

    Attributes
    ----------
    key : str
        A key of :data:`DESIGNS`.
    label : str
        Plain name of the design.
    assumption : str
        What it assumes, in plain words (empty for ``none``).
    reason : str
        Why this design: the study's sentence on what the data hold or lack.
    """

    key: str
    label: str
    assumption: str
    reason: str

    @property
    def short(self) -> str:
        """A short name for tables and the scorecard."""
        return SHORT_NAMES[self.key]

    @property
    def available(self) -> bool:
        """Whether a causal effect can be estimated at all."""
        return self.key != "none"


def choose_design(study: Study) -> ImpactDesign:
    """Pick the impact design the study supports, in the order of :data:`DESIGNS`.

    Parameters
    ----------
    study : loyalty_lib.study.Study

    Returns
    -------
    ImpactDesign
        ``card_did`` when identified non-members, card issue dates and a pre-period are there;
        else ``event_study`` (a year before the launch) or ``staggered`` when members join inside
        the window with known issue dates; else ``branch_did`` when a branch without the program
        can serve as control; else ``none``, whose ``reason`` says why and what data would enable
        an estimate. The customer-level designs are skipped when :data:`ANONYMOUS_SHARE` or more
        of the receipts carry no customer id.
    """

    def make(key: str, reason: str) -> ImpactDesign:
        label, assumption = DESIGNS[key]
        return ImpactDesign(key, label, assumption, reason)

    share = study.n_anonymous_receipts / max(study.n_receipts, 1)
    hidden = ""
    if share >= ANONYMOUS_SHARE:
        hidden = (
            f"{share:.0%} of receipts carry no customer id, so members' purchases before their card are among "
            "them and no member's own level before the card can be measured (receipts tied to customers before "
            "they joined, through an account or a phone number, would enable a customer-level design)"
        )
    elif study.can("did") and study.can("imputation_did") and study.issue_dates_known:
        return make("card_did", study.why("did"))
    if not hidden and study.can("imputation_did") and study.issue_dates_known:
        if study.program == "launched in the data" and study.pre_period_days >= 365:
            return make(
                "event_study",
                f"members only; {study.pre_period_days} days before the launch give each "
                "member's own level and the season",
            )
        return make("staggered", study.why("imputation_did"))
    if study.can("branch_did"):
        return make("branch_did", study.why("branch_did") + (f"; no customer-level design: {hidden}" if hidden else ""))
    reason = hidden or study.why("imputation_did")
    if not study.can("branch_did"):
        reason += "; a branch-level comparison is not possible either: " + study.why("branch_did")
    return make("none", reason)


def reference_end(study: Study) -> pd.Timestamp:
    """End of the period that gives each customer's own no-card level (exclusive).

    The launch when the program starts inside the data; for a program older than the data, the
    first month start at least :data:`loyalty_lib.study.MIN_PRE_DAYS` days after the data start
    (members who joined before it are left out of the customer-level designs).

    Parameters
    ----------
    study : loyalty_lib.study.Study

    Returns
    -------
    pandas.Timestamp
    """
    if study.launch is not None and study.launch > study.start:
        return study.launch
    t = study.start + pd.Timedelta(days=MIN_PRE_DAYS)
    return t if t == t.to_period("M").to_timestamp() else (t.to_period("M") + 1).to_timestamp()


def panel_customers(
    study: Study, design: ImpactDesign | None = None, *, established: bool = True, joined_only: bool | None = None
) -> pd.Series | None:
    """The customers :func:`impact_panel` keeps (sorted ids), or ``None`` for every identified customer.

    Parameters
    ----------
    study : loyalty_lib.study.Study
    design : ImpactDesign, optional
        Default :func:`choose_design`.
    established, joined_only
        As :func:`impact_panel`.

    Returns
    -------
    pandas.Series or None
        The ids (a model's sample is drawn from them: :func:`loyalty_lib.engine.sample_customers`).
    """
    design = design or choose_design(study)
    m = study.members
    keep = None
    if established:
        keep = set(study.established_ids)
    if joined_only is None:
        joined_only = design.key in ("event_study", "staggered")
    if joined_only:
        joined = m.loc[(m["join_source"] == "issue date") & (m["join_date"] >= reference_end(study)), "customer_id"]
        keep = set(joined) if keep is None else keep & set(joined)
    return (
        None
        if keep is None
        else pd.Series(sorted(keep), name="customer_id", dtype=study.customers["customer_id"].dtype)
    )


def impact_panel(
    ds: Dataset,
    study: Study,
    *,
    design: ImpactDesign | None = None,
    values: dict[str, str] | None = None,
    established: bool = True,
    joined_only: bool | None = None,
    customers=None,
    backend="auto",
) -> pd.DataFrame:
    """The customer-month panel of the customer-level designs, set up by the study.

    One row per identified customer and calendar month of the window (zeros for months without a
    purchase; visits are the receipts that are visits, ``dataset.visits_mask``, and revenue is net
    of returns), the receipts split at the day after each member joined (the first card's issue
    date, or the first card use when issue dates are unknown: ``study.members``), and the treatment
    columns of :func:`loyalty_lib.metrics.impact.add_treatment` with ``post`` from
    :func:`reference_end`.

    Parameters
    ----------
    ds : Dataset
        Contract tables.
    study : loyalty_lib.study.Study
    design : ImpactDesign, optional
        Default :func:`choose_design`. With ``event_study`` the panel holds members only, those
        who joined on or after :func:`reference_end`.
    values : dict, optional
        Output column -> receipt column to sum; default net ``revenue`` and ``gross``.
    established : bool
        Keep only the study's established customers (history before the data start), the
        customers with a level of their own before the card. ``False`` keeps everybody (the naive
        comparison).
    joined_only : bool, optional
        Keep only the members who joined on or after :func:`reference_end`. Default: for the
        members-only designs (``event_study``, ``staggered``).
    customers : collection of ids, optional
        Keep only these of them (a model's sample of :func:`panel_customers`): the panel is
        built for them alone.

    Returns
    -------
    pandas.DataFrame
        The panel of :func:`~loyalty_lib.metrics.impact.customer_month_panel` (``customer_id,
        month, month_index, visits``, the ``values`` columns and their ``_card`` twins) plus the
        columns of :func:`~loyalty_lib.metrics.impact.add_treatment`.
    """
    design = design or choose_design(study)
    values = dict(values or {"revenue": "amount", "gross": "gross_amount"})
    only = customers
    customers = ds.customers
    # who joined when, as the study reads it: the first card's issue date, else the first card use
    m = study.members
    cards = pd.DataFrame({"customer_id": m["customer_id"], "issued_date": pd.to_datetime(m["join_date"])})
    ref = reference_end(study)
    kept = panel_customers(study, design, established=established, joined_only=joined_only)
    keep = None if kept is None else set(kept)
    if only is not None:
        keep = set(only) if keep is None else keep & set(only)
        cards = cards[cards["customer_id"].isin(keep)]
    # the receipts summed per customer-month in the engine, split at the day of the card
    cells = engine.customer_month(
        engine.receipts_of(ds, backend),
        start=study.start,
        end=study.end,
        values=values,
        after=cards.rename(columns={"issued_date": "date"}),
        backend=backend,
    )
    if keep is not None:
        cells = cells[cells["customer_id"].isin(keep)]
        customers = customers[customers["customer_id"].isin(keep)]
    rows = _card_sides(cells, list(values))
    del cells  # not held while the dense panel is built
    panel = impact.customer_month_panel(
        rows,
        customers=customers,
        start=study.start,
        end=study.end,
        values={k: k for k in values},
        cards=cards,
        visit_col="visits",
        after_col="after",
    )
    return impact.add_treatment(panel, cards, launch=ref).reset_index(drop=True)


def naive_totals(ds: Dataset, study: Study, *, values: dict[str, str] | None = None, backend="auto") -> pd.DataFrame:
    """Each identified customer's totals over the cells of the naive gap, without the customer-month panel.

    The figures of :func:`impact_panel` ``(established=False, joined_only=False)`` summed per
    customer over the months from the launch month on (over every month when all or none of the
    panel's months are after the launch), with the number of those months: what
    :func:`loyalty_lib.metrics.impact.naive_gap` needs (``cells_col="cells"``), from the
    engine's sparse customer-month table instead of a dense row for every customer and month.

    Parameters
    ----------
    ds : Dataset
    study : loyalty_lib.study.Study
    values : dict, optional
        Output column -> receipt column to sum; default net ``revenue``.
    backend
        Where the receipts are summed (:mod:`loyalty_lib.engine`).

    Returns
    -------
    pandas.DataFrame
        One row per customer of the panel, sorted by id: ``customer_id, ever_member, visits``,
        the ``values`` columns and ``cells`` (customer-months summed); ``attrs["start"]`` and
        ``attrs["end"]`` are the first and the first-after-last month of the summed cells.
    """
    values = dict(values or {"revenue": "amount"})
    cells = engine.customer_month(
        engine.receipts_of(ds, backend), start=study.start, end=study.end, values=values, backend=backend
    )
    s = int(impact._month_number(pd.Timestamp(study.start)))
    end = pd.Timestamp(study.end)
    e = int(impact._month_number(end)) + (0 if end == end.to_period("M").to_timestamp() else 1)
    launch = int(impact._month_number(reference_end(study).to_period("M").to_timestamp()))
    customers = ds.customers
    ids = pd.concat([customers["customer_id"], cells["customer_id"]], ignore_index=True)
    codes, uniques = pd.factorize(ids, sort=True)
    n = len(uniques)
    c_codes, r_codes = codes[: len(customers)], codes[len(customers) :]
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)  # as customer_month_panel: first receipt or first_seen
    cell_month = np.asarray(impact._month_number(cells["month"]))
    np.minimum.at(first, r_codes, cell_month)
    if "first_seen" in customers:
        fs = np.asarray(impact._month_number(customers["first_seen"]))
        ok = fs >= 0  # no mutate: month numbers count from year 0; only NaT (-1) is below 1
        np.minimum.at(first, c_codes[ok], fs[ok])
    first = np.clip(first, s, None)
    months = np.clip(e - first, 0, None)  # the customer's months in the panel
    post = np.clip(e - np.maximum(first, launch), 0, None)
    split = post.sum() > 0 and (months - post).sum() > 0  # the naive gap compares the months after launch
    lo = launch if split else s
    out = pd.DataFrame({"customer_id": uniques})
    m = study.members
    members = set(m.loc[m["join_date"].notna(), "customer_id"])
    out["ever_member"] = out["customer_id"].isin(members).to_numpy(bool)
    take = cell_month >= lo
    for name in ["visits", *values]:
        out[name] = np.bincount(r_codes[take], weights=cells[name].to_numpy(float)[take], minlength=n)
    out["visits"] = out["visits"].round().astype(np.int64)
    out["cells"] = (post if split else months).astype(np.int64)
    out = out[months > 0].reset_index(drop=True)
    out.attrs["start"] = impact._month_start(np.array([lo]))[0]
    out.attrs["end"] = impact._month_start(np.array([e]))[0]
    return out


def card_revenue(ds: Dataset, study: Study, *, amount: str = "gross_amount", backend="auto") -> float:
    """Every identified customer's revenue after the day of their card, inside the study's window.

    The sum of the ``_card`` column of :func:`impact_panel` ``(established=False,
    joined_only=False)`` (what a dashboard credits the program with), from the engine's sparse
    customer-month table instead of the dense panel.

    Parameters
    ----------
    ds : Dataset
    study : loyalty_lib.study.Study
    amount : str
        Receipt column summed (default gross revenue).
    backend
        Where the receipts are summed (:mod:`loyalty_lib.engine`).

    Returns
    -------
    float
    """
    m = study.members
    cells = engine.customer_month(
        engine.receipts_of(ds, backend),
        start=study.start,
        end=study.end,
        values={"x": amount},
        after=pd.DataFrame({"customer_id": m["customer_id"], "date": pd.to_datetime(m["join_date"])}),
        backend=backend,
    )
    return float(cells["x_after"].sum())


def _card_sides(cells: pd.DataFrame, values: list[str]) -> pd.DataFrame:
    """Each customer-month cell as two rows, before and after the day of the card (``after``)."""
    cols = ["customer_id", "month", "visits", *values]
    before = cells[cols].assign(
        visits=cells["visits"] - cells["visits_after"], **{k: cells[k] - cells[f"{k}_after"] for k in values}
    )
    after = cells[["customer_id", "month", "visits_after", *(f"{k}_after" for k in values)]]
    after = after.set_axis(cols, axis=1)
    rows = pd.concat([before.assign(after=False), after.assign(after=True)], ignore_index=True)
    return rows.rename(columns={"month": "date"})


def program_effect(
    panel: pd.DataFrame,
    design: ImpactDesign,
    *,
    outcomes=("gross",),
    n_boot: int = 300,
    seed: int = 0,
    level: float = 0.95,
    return_draws: bool = False,
):
    """The headline effect per member-month with a card, on a panel from :func:`impact_panel`.

    The imputation DiD timed from the card (:func:`loyalty_lib.metrics.impact.did_imputation`)
    for the customer-level designs: ``card_did`` takes each month's change from all
    before-the-card time (non-members' included); ``event_study`` from the same calendar month of
    the year before the launch (``month_effects="year_before"``); ``staggered`` from the members
    not yet joined.

    Parameters
    ----------
    panel : pandas.DataFrame
        From :func:`impact_panel`.
    design : ImpactDesign
        A customer-level design (``card_did``, ``event_study`` or ``staggered``).
    outcomes : sequence of str
        Outcome columns (with ``revenue`` and ``visits`` a ``check`` row is added).
    n_boot, seed, level
        Customer bootstrap.
    return_draws : bool
        Also return the bootstrap draws of the outcomes.

    Returns
    -------
    pandas.DataFrame or (pandas.DataFrame, numpy.ndarray)
        As :func:`~loyalty_lib.metrics.impact.did_imputation`.

    Raises
    ------
    ValueError
        When the panel holds no time with a card or none before it (the message says which).
    """
    if design.key not in CUSTOMER_DESIGNS:
        known = ", ".join(CUSTOMER_DESIGNS)
        raise ValueError(f"program_effect: {design.key!r} is not a customer-level design ({known})")
    if panel.empty:
        raise ValueError("program_effect: the panel is empty (no established customer in the study)")
    if not (panel["card_exposure"].to_numpy(float) > 0).any():
        raise ValueError("program_effect: no member of the panel holds a card inside the window")
    return impact.did_imputation(
        panel,
        outcomes=list(outcomes),
        month_effects="year_before" if design.key == "event_study" else "before_card",
        n_boot=n_boot,
        seed=seed,
        level=level,
        return_draws=return_draws,
    )


def exposure_start(study: Study, design: ImpactDesign) -> pd.Timestamp | None:
    """Day from which members' time with a card counts for the program's totals (07).

    ``None`` (from each card's issue) when the program was launched inside the data; the data
    start otherwise, so time with a card before the data is not counted.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> exposure_start(SimpleNamespace(program="older than the data", start=pd.Timestamp("2026-01-01")), None)
    Timestamp('2026-01-01 00:00:00')
    """
    return None if study.program == "launched in the data" else study.start


def treated_branches(ds: Dataset) -> list:
    """Branches whose receipts show a card (the launching branches of the branch design)."""
    from loyalty_lib.metrics import branches

    return branches.program_branches(ds.transactions)[0]


def n_members_with_card(ds: Dataset) -> int:
    """Card holders with a known issue date (the members the exposure counts)."""
    cards = ds.cards
    if "issued_date" not in cards:
        return 0
    return int(cards.loc[cards["customer_id"].notna() & cards["issued_date"].notna(), "customer_id"].nunique())


@dataclass(frozen=True)
class Incremental:
    """What the program caused per unit of exposure, and the exposure it applies to (stage 07).

    Attributes
    ----------
    design : ImpactDesign
    effect : pandas.DataFrame
        One row, ``gross``: the effect on gross revenue per ``unit`` with ``estimate, ci_low,
        ci_high, n`` (and ``counterfactual``, the no-program figure per unit).
    draws : numpy.ndarray or None
        Bootstrap draws of the effect (customer-level designs), else ``None``.
    exposure : float
        Units the effect applies to: every member's months with a card, or the launching
        branches' months after the launch.
    unit : str
        ``"member-month"`` or ``"branch-month"``.
    panel : pandas.DataFrame
        The panel the effect was estimated on (customer-month or store-month).
    sample : loyalty_lib.engine.ModelSample or None
        The customers the customer-level effect was estimated on (``None`` for the branch design).
    """

    design: ImpactDesign
    effect: pd.DataFrame
    draws: object
    exposure: float
    unit: str
    panel: pd.DataFrame
    sample: engine.ModelSample | None = None

    def roi(self, *, cost_total: float, margin: float, level: float = 0.95) -> pd.DataFrame:
        """ROI figures of :func:`loyalty_lib.metrics.roi.roi_estimate` for this increment."""
        from loyalty_lib.metrics import roi

        e = self.effect.loc["gross"]
        return roi.roi_estimate(
            float(e["estimate"]),
            exposure=self.exposure,
            cost_total=cost_total,
            margin=margin,
            draws=None if self.draws is None else self.draws[:, 0],
            effect_interval=None if self.draws is not None else (float(e["ci_low"]), float(e["ci_high"])),
            level=level,
        )


def incremental_revenue(
    ds: Dataset,
    study: Study,
    design: ImpactDesign | None = None,
    *,
    n_boot: int = 300,
    seed: int = 0,
    max_customers: int = 0,
    backend="auto",
) -> Incremental:
    """The program's incremental gross revenue, by the design the data allow (stage 07).

    Customer-level designs: the effect per member-month with a card on gross revenue
    (:func:`program_effect` on :func:`impact_panel`) times every member's months with a card
    (:func:`loyalty_lib.metrics.roi.member_months`, from the data start when the program is older
    than the data). That product assumes members who are not in the panel (new customers, members
    who joined before the reference period) gain as much per month with a card as those in it.
    Branch design: the effect per launching-branch month (:func:`loyalty_lib.metrics.branches.
    branch_did`) times the launching branches' months from the launch month on.

    Parameters
    ----------
    ds : Dataset
    study : loyalty_lib.study.Study
    design : ImpactDesign, optional
        Default :func:`choose_design`.
    n_boot, seed
        Customer bootstrap of the customer-level designs (the seed also draws the sample).
    max_customers : int
        The customer-level effect is estimated on a random sample of this many of the panel's
        customers above it (:func:`loyalty_lib.engine.sample_customers`, whose panel alone is
        built); 0 means all. The exposure always counts every member.
    backend
        Where the receipts are summed (:mod:`loyalty_lib.engine`).

    Returns
    -------
    Incremental

    Raises
    ------
    ValueError
        When the design estimates no effect (``none``): the message is the study's reason.
    """
    from loyalty_lib.metrics import branches, roi

    design = design or choose_design(study)
    if design.key in CUSTOMER_DESIGNS:
        ids, sample = engine.sample_customers(panel_customers(study, design).to_frame(), max_customers, seed=seed)
        panel = impact_panel(
            ds, study, design=design, customers=ids["customer_id"] if sample.sampled else None, backend=backend
        )
        effect, draws = program_effect(panel, design, outcomes=["gross"], n_boot=n_boot, seed=seed, return_draws=True)
        effect = engine.add_sample_cost(effect, sample) if sample.sampled else effect
        exposure = roi.member_months(ds.cards, end=study.end, start=exposure_start(study, design))
        return Incremental(design, effect, draws, exposure, "member-month", panel, sample)
    if design.key == "branch_did":
        treated = treated_branches(ds)
        panel = branches.store_month_panel(
            ds.transactions, start=study.start, end=study.end, values={"gross": "gross_amount"}
        )
        effect = branches.branch_did(panel, treated=treated, launch=study.launch, outcomes=["gross"])
        exposure = float(effect["n_post"].iloc[0] * len(treated))
        return Incremental(design, effect, None, exposure, "branch-month", panel)
    raise ValueError(f"incremental_revenue: no impact design on these data: {design.reason}")
