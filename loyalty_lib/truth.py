"""The truth layer: put the generator's planted value beside an estimate of the same figure.

Synthetic data carry the truth the generator planted (``Dataset.truth``, ``Dataset.truth_tables``).
This module is the only place that reads it for the stages: :func:`annotate` takes an estimate
frame, as a metric function returned it, and adds a ``truth`` column holding the planted value of
the same estimand, row by row. It computes no estimate and changes no other column.

Estimator modules (``loyalty_lib.metrics``, ``loyalty_lib.clv``) and the :class:`~loyalty_lib.study.Study`
never import it, so a synthetic run takes exactly the code path of real data.

On real data (``ds.truth is None``) every frame gets a ``truth`` column of NaN: the frame has the
same columns on every data set, and a table or plot shows the planted value only where one exists.
A row whose estimand the generator did not plant (another horizon, a threshold without planted
bunching) also gets NaN.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np
import pandas as pd

from loyalty_lib.dataset import Dataset
from loyalty_lib.metrics._common import isin
from loyalty_lib.metrics.impact import truth_value as _truth_value
from loyalty_lib.stats import covers


def planted(ds: Dataset, key: str, default: float = np.nan):
    """Return one planted value by dotted key (``"impact.did_revenue_per_customer_month"``).

    Parameters
    ----------
    ds : Dataset
    key : str
        Dotted path into ``ds.truth``.
    default : float
        Returned on real data or when the generator planted no such value.

    Returns
    -------
    object
    """
    return _truth_value(ds.truth, key, default)


#: Columns of the planted receipts that the counterfactual outcomes use.
_CF_COLUMNS = ["transaction_id", "cf_amount", "cf_gross_amount", "incremental"]


def _planted_table(ds: Dataset, name: str, columns: list[str] | None = None) -> pd.DataFrame | None:
    """Some columns of a planted table (only those are read from a snapshot), ``None`` when there is none."""
    tables = ds.truth_tables
    if name not in tables:
        return None
    reader = getattr(tables, "read_columns", None)  # a snapshot's tables: read column by column
    if reader is not None:
        return reader(name, columns)
    return tables[name] if columns is None else tables[name][list(columns)]


def _planted_has(ds: Dataset, name: str, column: str) -> bool:
    """Whether planted table ``name`` exists and has ``column`` (nothing read from a snapshot)."""
    tables = ds.truth_tables
    if name not in tables:
        return False
    names = getattr(tables, "columns", None)
    return column in (names(name) if callable(names) else tables[name].columns)


def _with(frame: pd.DataFrame, values) -> pd.DataFrame:
    out = frame.copy()
    out["truth"] = np.asarray(values, dtype=float) if values is not None else np.nan
    return out


def _by_index(frame: pd.DataFrame, mapping: dict) -> list[float]:
    return [float(mapping.get(k, np.nan)) for k in frame.index]


def _return_curve(frame, ds, *, horizon_days: int, key: str = "p_return_within_horizon"):
    rc = ds.truth.get("return_curve") or {}
    if int(horizon_days) != int(rc.get("horizon_days", -1)):
        return None
    curve = {int(k): float(v) for k, v in (rc.get(key) or {}).items()}
    return _by_index(frame, curve)


def _activation(frame, ds, *, members: pd.DataFrame):
    from loyalty_lib.metrics.enrollment import planted_activation_by_day
    from loyalty_lib.synth.campaigns import RESPONSE_DELAY_MEAN_DAYS

    tc = ds.truth_tables.get("customers")
    if tc is None:
        return None
    uplift = float(planted(ds, "uplift.frequency_pct", 0.0)) / 100
    camp = planted(ds, "campaigns", None) or {}
    offers = ds.offers if getattr(ds, "offers", None) is not None and camp.get("extra_visit_prob") else None
    period = ds.truth.get("period") or {}
    curve = planted_activation_by_day(
        tc,
        members,
        list(frame.index),
        frequency_uplift=uplift,
        offers=offers,
        extra_visit_prob=camp.get("extra_visit_prob"),
        start=pd.Timestamp(period["start"]) if offers is not None else None,
        end=pd.Timestamp(period["end"]) if offers is not None else None,
        response_window_days=int(camp.get("response_window_days", 14)),
        response_delay_days=RESPONSE_DELAY_MEAN_DAYS,
    )
    return curve.to_numpy(dtype=float)


def _bunching(frame, ds):
    moved = {float(k): float(v) for k, v in (planted(ds, "bunching.moved_checks", None) or {}).items()}
    return [moved.get(float(t), np.nan) for t in frame.index]


def _goal_gradient(frame, ds):
    gg = ds.truth.get("goal_gradient") or {}
    value = gg.get("log_gap_per_stamp")
    return None if value is None else np.full(len(frame), float(value))


def _nps(frame, ds, *, horizon_days: int):
    sat = ds.truth.get("satisfaction") or {}
    if int(horizon_days) != int(sat.get("horizon_days", -1)):
        return None
    return _by_index(frame, {"nps": sat.get("odds_ratio_per_nps_point", np.nan)})


def _nps_score(frame, ds):
    from loyalty_lib.synth.surveys import expected_nps

    if ds.surveys is None or not _planted_has(ds, "customers", "satisfaction_z"):
        return None
    tc = _planted_table(ds, "customers", ["customer_id", "satisfaction_z"])
    z = ds.surveys["customer_id"].map(tc.set_index("customer_id")["satisfaction_z"])
    return np.full(len(frame), float(np.mean(expected_nps(z.to_numpy(dtype=float)))))


def _did(frame, ds):
    imp = ds.truth.get("impact") or {}
    return _by_index(
        frame,
        {
            "revenue": imp.get("did_revenue_per_customer_month", np.nan),
            "visits": imp.get("did_visits_per_customer_month", np.nan),
        },
    )


def counterfactual_panel(
    ds: Dataset, panel: pd.DataFrame, *, card_time: bool = False, customer_col: str = "customer_id"
) -> pd.DataFrame:
    """Planted no-program outcomes on the cells of a customer-month panel (synthetic data only).

    Parameters
    ----------
    ds : Dataset
        Synthetic data with ``truth_tables["transactions"]``.
    panel : pandas.DataFrame
        A panel from :func:`loyalty_lib.metrics.impact.customer_month_panel` (``customer_col``,
        ``month``), built from the receipts alone.
    card_time : bool
        Also split each cell at the day after the card was handed out (the ``*_card`` twins of
        ``customer_month_panel(..., cards=ds.cards)``).
    customer_col : str
        Customer column of ``panel``.

    Returns
    -------
    pandas.DataFrame
        One row per panel row, same order: ``visits``, ``revenue`` (net), ``gross`` as recorded,
        and their planted no-program values ``cf_visits``, ``cf_revenue``, ``cf_gross``; with
        ``card_time`` also each of them with a ``_card`` suffix.
    """
    from loyalty_lib.metrics import impact

    receipts = ds.transactions
    receipts = receipts[isin(receipts[customer_col], panel[customer_col].unique())]  # the panel's customers only
    tx = impact.counterfactual_columns(receipts, _planted_table(ds, "transactions", _CF_COLUMNS))
    values = {
        "revenue": "amount",
        "gross": "gross_amount",
        "cf_revenue": "cf_amount",
        "cf_gross": "cf_gross_amount",
        "cf_visits": "cf_visit",
    }
    months = pd.to_datetime(panel["month"])
    full = impact.customer_month_panel(
        tx,
        start=months.min(),
        end=months.max() + pd.offsets.MonthBegin(1),
        values=values,
        customer_col=customer_col,
        cards=ds.cards if card_time else None,
    )
    keys = panel[[customer_col, "month"]].assign(month=months)
    out = keys.merge(full, on=[customer_col, "month"], how="left")
    cols = ["visits", *values]
    if card_time:
        cols += [f"{c}_card" for c in cols]
    return out[cols].fillna(0.0).reset_index(drop=True)


def _impact(frame, ds, *, panel: pd.DataFrame, cells):
    from loyalty_lib.metrics.impact import planted_effect

    if "transactions" not in ds.truth_tables:
        return None
    cf = counterfactual_panel(ds, panel)
    mask = panel[cells].to_numpy(bool) if isinstance(cells, str) else np.asarray(cells, dtype=bool)
    net = planted_effect(cf, mask)
    gross = planted_effect(cf, mask, revenue_col="gross", cf_revenue_col="cf_gross")
    return _by_index(frame, {**net.to_dict(), "gross": gross["revenue"]})


def _receipt_effect(ds: Dataset, keep: np.ndarray, n: float) -> dict:
    """Planted actual minus no-program revenue, visits, check and gross over the kept receipts, per ``n``."""
    from loyalty_lib.metrics.impact import counterfactual_columns

    tx = counterfactual_columns(ds.transactions.loc[keep], _planted_table(ds, "transactions", _CF_COLUMNS))
    rev, cf = tx["amount"].sum(), tx["cf_amount"].sum()
    vis, cfv = len(tx), tx["cf_visit"].sum()
    n = max(n, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        check = rev / vis - cf / cfv
    gross = (tx["gross_amount"].sum() - tx["cf_gross_amount"].sum()) / n
    return {"revenue": (rev - cf) / n, "visits": (vis - cfv) / n, "check": check, "gross": gross}


def _impact_totals(frame, ds, *, totals: pd.DataFrame):
    if "transactions" not in ds.truth_tables:
        return None
    members = totals.loc[totals["ever_member"].to_numpy(bool), "customer_id"]
    tx = ds.transactions
    dates = pd.to_datetime(tx["date"])
    keep = isin(tx["customer_id"], members.tolist()) & (
        (dates >= totals.attrs["start"]) & (dates < totals.attrs["end"])
    ).to_numpy(bool)
    n = float(totals.loc[totals["ever_member"].to_numpy(bool), "cells"].sum())
    return _by_index(frame, _receipt_effect(ds, keep, n))


def planted_over(ds: Dataset, key: str, customers) -> float:
    """The planted impact figure ``key`` over some of the customers (a model's sample), as the generator defines it.

    The generator plants its impact figures over every established member
    (``impact.card_revenue_per_member_month``: the receipts after the day of the card, per
    member-month with a card; ``impact.did_revenue_per_customer_month``: the receipts from the
    launch on, per member and post-launch month; ``_visits_``, ``card_gross_``). This is the same
    figure over the established members among ``customers``: the reference of a model fitted on a
    sample. Computed from the receipts and the truth tables, not from a panel.

    Parameters
    ----------
    ds : Dataset
        Synthetic data with ``truth_tables["customers"]`` and ``["transactions"]``.
    key : str
        One of the six keys above (``impact.`` prefix).
    customers : collection of ids

    Returns
    -------
    float
        NaN on real data.
    """
    if ds.truth is None or "transactions" not in ds.truth_tables or "customers" not in ds.truth_tables:
        return float("nan")
    from loyalty_lib.metrics.impact import card_months

    tc = _planted_table(ds, "customers", ["customer_id", "established", "member", "issued_date"])
    ids = list(customers) if isinstance(customers, (set, frozenset)) else pd.Series(customers).tolist()
    est = tc[tc["established"].to_numpy(bool) & tc["member"].to_numpy(bool) & isin(tc["customer_id"], ids)]
    issue = pd.to_datetime(est.set_index("customer_id")["issued_date"]).dt.normalize()
    period = ds.truth["period"]
    launch, end = pd.Timestamp(period["launch"]), pd.Timestamp(period["end"])
    tx = ds.transactions
    day = pd.to_datetime(tx["date"]).dt.normalize()
    if key.startswith("impact.card_"):
        keep = (day > pd.to_datetime(tx["customer_id"].map(issue))).to_numpy(bool)
        n = float(card_months(issue.to_numpy(), end).sum())
    elif key.startswith("impact.did_"):
        keep = isin(tx["customer_id"], issue.index.tolist()) & (day >= launch).to_numpy(bool)
        n = len(issue) * len(pd.date_range(launch, end, freq="MS", inclusive="left"))
    else:
        raise ValueError(f"planted_over: no per-customer definition of {key!r}")
    figures = _receipt_effect(ds, keep, n)
    name = key.split(".", 1)[1]
    return float(figures["gross" if "gross" in name else "visits" if "visits" in name else "revenue"])


def _card_impact(frame, ds, *, panel: pd.DataFrame):
    from loyalty_lib.metrics.impact import planted_card_effect

    if "transactions" not in ds.truth_tables:
        return None
    cf = counterfactual_panel(ds, panel, card_time=True).assign(card_exposure=panel["card_exposure"].to_numpy(float))
    net = planted_card_effect(cf)
    gross = planted_card_effect(cf, revenue="gross", cf_revenue="cf_gross")
    return _by_index(frame, {**net.to_dict(), "gross": gross["revenue"]})


def _branch_did(frame, ds, *, stores, launch):
    from loyalty_lib.metrics.impact import counterfactual_columns

    if "transactions" not in ds.truth_tables:
        return None
    tx = counterfactual_columns(ds.transactions, _planted_table(ds, "transactions", _CF_COLUMNS))
    month = pd.to_datetime(tx["date"]).dt.to_period("M").dt.to_timestamp()
    first = pd.Timestamp(launch).to_period("M").to_timestamp()
    after = tx["store_id"].isin(list(stores)) & (month >= first)
    n = month[after].nunique() * len(set(stores))  # launching-branch months after the launch
    rows = {
        "revenue": (tx["amount"] - tx["cf_amount"])[after].sum() / n,
        "gross": (tx["gross_amount"] - tx["cf_gross_amount"])[after].sum() / n,
        "visits": (1 - tx["cf_visit"])[after].sum() / n,
    }
    return _by_index(frame, rows)


def _card_did(frame, ds):
    imp = ds.truth.get("impact") or {}
    keys = {
        "revenue": "card_revenue_per_member_month",
        "visits": "card_visits_per_member_month",
        "gross": "card_gross_per_member_month",
    }
    return _by_index(frame, {k: imp.get(v, np.nan) for k, v in keys.items()})


def _roi(frame, ds, *, margin: float, cost_total: float, key: str = "program.incremental_gross_revenue"):
    return _roi_rows(frame, planted(ds, key), margin=margin, cost_total=cost_total)


def _roi_carried_over(frame, ds, *, margin: float, cost_total: float):
    """ROI of the established members' planted effect per member-month times every member's months."""
    per_month = planted(ds, "impact.card_gross_per_member_month")
    months = planted(ds, "program.member_months_with_card")
    return _roi_rows(frame, per_month * months, margin=margin, cost_total=cost_total)


def _roi_carried_over_of(frame, ds, *, per_month: float, margin: float, cost_total: float):
    """ROI of a given planted effect per member-month (a model's sample's) times every member's months."""
    return _roi_rows(
        frame, per_month * planted(ds, "program.member_months_with_card"), margin=margin, cost_total=cost_total
    )


def _roi_rows(frame, inc, *, margin: float, cost_total: float):
    from loyalty_lib.metrics.roi import roi_pct

    if inc is None or not np.isfinite(inc):
        return None
    rows = {
        "incremental_gross_revenue": inc,
        "incremental_margin": margin * inc,
        "net_gain": margin * inc - cost_total,
        "roi_pct": roi_pct(inc, cost_total, margin=margin),
    }
    return _by_index(frame, rows)


def _headline(frame, ds, *, horizon_days: int, survey_horizon_days: int):
    """The metrics map's figures (``metrics_map.headline_figures``), rows by key."""
    values = {}
    rc = ds.truth.get("return_curve") or {}
    if int(horizon_days) == int(rc.get("horizon_days", -1)):
        curve = rc.get("p_return_within_horizon") or {}
        values["return_after_first"] = curve.get("1", np.nan)
        values["return_after_second"] = curve.get("2", np.nan)
    for t, moved in (planted(ds, "bunching.moved_checks", None) or {}).items():
        values[f"bunching_{float(t):g}"] = moved
    sat = ds.truth.get("satisfaction") or {}
    if int(survey_horizon_days) == int(sat.get("horizon_days", -1)):
        values["nps_return_odds_ratio"] = sat.get("odds_ratio_per_nps_point", np.nan)
    values["did_revenue"] = planted(ds, "impact.card_revenue_per_member_month")
    return _by_index(frame, values)


#: The last per-offer table of caused receipts, with a weak reference to the data set it came from.
_PER_OFFER: dict[str, tuple] = {}


def _caused_per_offer(ds: Dataset) -> pd.DataFrame:
    """Receipts each campaign contact caused, and their amount, by offer id (as text).

    Stage 10 asks for it once per planted figure; it joins every receipt, so the last one is kept
    for its data set (a weak reference: it never holds the data in memory; the data set's tables
    never change).
    """
    hit = _PER_OFFER.get("last")
    if hit is not None and hit[0]() is ds:
        return hit[1]
    tt = _planted_table(ds, "transactions", ["transaction_id", "campaign_offer_id"])
    if tt is None:
        raise KeyError("contact_effects: these data carry no planted receipts (truth_tables['transactions'])")
    tx = ds.read_columns("transactions", ["transaction_id", "amount"])
    caused = tt.loc[tt["campaign_offer_id"].notna(), ["transaction_id", "campaign_offer_id"]]
    caused = caused.assign(transaction_id=caused["transaction_id"].astype(str)).merge(
        tx.assign(transaction_id=tx["transaction_id"].astype(str)), on="transaction_id", how="left"
    )
    per = caused.groupby(caused["campaign_offer_id"].astype("int64").astype(str))["amount"].agg(["size", "sum"])
    _PER_OFFER["last"] = (weakref.ref(ds), per)
    return per


def contact_effects(outcomes: pd.DataFrame, ds: Dataset) -> pd.DataFrame:
    """What each contact caused, from the generator's hidden receipts (synthetic data only).

    Parameters
    ----------
    outcomes : pandas.DataFrame
        Contacts from :func:`loyalty_lib.metrics.campaigns.contact_outcomes` (``offer_id, treated,
        visits``).
    ds : Dataset
        Synthetic data with ``truth_tables["transactions"]``.

    Returns
    -------
    pandas.DataFrame
        ``outcomes`` plus ``caused_visits``, ``caused_revenue`` and ``caused_response`` (the contact
        bought in its window only because of the campaign: every visit in the window was caused);
        all 0 for held-out contacts.
    """
    per = _caused_per_offer(ds)
    key = outcomes["offer_id"].astype(str)
    treated = outcomes["treated"].to_numpy(dtype=bool)
    visits = np.where(treated, key.map(per["size"]).fillna(0).to_numpy(dtype=float), 0.0)
    revenue = np.where(treated, key.map(per["sum"]).fillna(0).to_numpy(dtype=float), 0.0)
    response = (visits > 0) & (outcomes["visits"].to_numpy() == visits)
    return outcomes.assign(caused_visits=visits, caused_revenue=revenue, caused_response=response.astype(float))


_CAUSED = {"responded": "caused_response", "visits": "caused_visits", "revenue": "caused_revenue"}


def _campaign_uplift(frame, ds, *, outcomes: pd.DataFrame, outcome: str):
    """Planted uplift per contact of each row's group: what the campaign caused, over contacted addressees."""
    if not _planted_has(ds, "transactions", "campaign_offer_id"):
        return None
    eff = contact_effects(outcomes, ds)
    keys = [c for c in ("offer_type", "channel", "month", "customer_type") if c in frame.columns]
    t = eff[eff["treated"]]
    col = _CAUSED[outcome]
    if not keys:
        return [float(t[col].mean())] * len(frame)
    means = t.groupby(keys)[col].mean()
    idx = pd.MultiIndex.from_frame(frame[keys]) if len(keys) > 1 else pd.Index(frame[keys[0]])
    return means.reindex(idx).to_numpy(dtype=float)


def _visit_ratio(frame, ds, *, outcomes: pd.DataFrame):
    """Planted ratio of contacted addressees' visits to what they would have made without the contact."""
    if not _planted_has(ds, "transactions", "campaign_offer_id"):
        return None
    t = contact_effects(outcomes, ds)
    t = t[t["treated"]]
    return [float(t["visits"].mean() / (t["visits"] - t["caused_visits"]).mean())] * len(frame)


def _campaign_roi(frame, ds, *, outcomes: pd.DataFrame, margin: float):
    """Planted incremental revenue and ROI of each campaign (rows of ``campaign_roi``)."""
    if not _planted_has(ds, "transactions", "campaign_offer_id"):
        return None
    eff = contact_effects(outcomes, ds)
    keys = [c for c in ("month", "offer_type", "channel") if c in frame.columns and c in eff.columns]
    if not keys:
        return [float(eff.loc[eff["treated"], "caused_revenue"].sum())] * len(frame)
    inc = eff[eff["treated"]].groupby(keys)["caused_revenue"].sum()
    idx = pd.MultiIndex.from_frame(frame[keys]) if len(keys) > 1 else pd.Index(frame[keys[0]])
    return inc.reindex(idx).to_numpy(dtype=float)


def _band_ages(label: str) -> tuple[float, float] | None:
    """Ages ``[low, high]`` of an age-band label (``<25``, ``25-34``, ``65+``), ``None`` if not a band."""
    label = str(label)
    try:
        if label.startswith("<"):
            return -np.inf, float(label[1:]) - 1
        if label.endswith("+"):
            return float(label[:-1]), np.inf
        low, high = label.split("-")
        return float(low), float(high)
    except ValueError:
        return None


def _population_shares(frame, ds):
    """Planted share of customers of each (dimension, segment) row, where the generator planted one."""
    pop = ds.truth.get("population")
    if not pop:
        return None
    b2b = pop["b2b_share"]
    planted = {
        ("customer_type", "b2b"): b2b,
        ("customer_type", "b2c"): 1 - b2b,
        ("gender", "f"): (1 - b2b) * pop["female_share_b2c"],
        ("gender", "m"): (1 - b2b) * (1 - pop["female_share_b2c"]),
        ("gender", "unknown"): b2b,
        ("age_band", "unknown"): b2b,
        ("income_band", "unknown"): b2b,
        **{("district", d): 1 / len(pop["districts"]) for d in pop["districts"]},
    }
    ages = pd.Series(pop["age_distribution_b2c"]).rename(index=float)
    out = []
    for dim, seg in zip(frame["dimension"], frame["segment"], strict=True):
        value = planted.get((dim, seg), np.nan)
        band = _band_ages(seg) if dim == "age_band" and seg != "unknown" else None
        if band is not None:
            value = (1 - b2b) * float(ages[(ages.index >= band[0]) & (ages.index <= band[1])].sum())
        out.append(value)
    return out


#: Figures :func:`annotate` knows: name -> (function, the context it needs, what the rows are).
FIGURES: dict[str, tuple[Callable, tuple[str, ...], str]] = {
    "return_curve": (_return_curve, ("horizon_days",), "rows by visit number k; planted only at the planted horizon"),
    "return_curve_from_data_start": (
        lambda frame, ds, **kw: _return_curve(frame, ds, key="p_return_from_data_start", **kw),
        ("horizon_days",),
        "rows by visit number k, all customers' visits counted from the data start; planted at the planted horizon",
    ),
    "activation": (_activation, ("members",), "rows by day since issue; needs the member table averaged over"),
    "bunching": (_bunching, (), "rows by threshold; planted count of checks moved over it"),
    "goal_gradient": (_goal_gradient, (), "every row: planted log pause per stamp held"),
    "headline": (
        _headline,
        ("horizon_days", "survey_horizon_days"),
        "rows by key of metrics_map.headline_figures: return curve, bunching, NPS odds ratio, card-timed DiD",
    ),
    "nps": (_nps, ("horizon_days",), "row 'nps': planted odds ratio of returning per NPS point (NPS alone)"),
    "nps_score": (
        _nps_score,
        (),
        "every row: planted NPS of the survey table's answers, from each client's satisfaction",
    ),
    "did": (_did, (), "rows 'revenue', 'visits': planted effect per established customer-month after launch"),
    "impact": (
        _impact,
        ("panel", "cells"),
        "rows 'revenue', 'gross', 'visits', 'check': planted effect over the panel cells the estimator used",
    ),
    "card_did": (
        _card_did,
        (),
        "rows 'revenue', 'visits', 'gross': planted effect per member-month with a card (the card-timed design)",
    ),
    "card_impact": (
        _card_impact,
        ("panel",),
        "rows 'revenue', 'gross', 'visits', 'check': planted effect over the panel's time with a card "
        "(the panel needs card_exposure from add_treatment)",
    ),
    "branch_did": (
        _branch_did,
        ("stores", "launch"),
        "rows 'revenue', 'gross', 'visits': planted effect per launching-branch month from the launch month on",
    ),
    "roi": (
        _roi,
        ("margin", "cost_total"),
        "rows of roi_estimate: planted incremental revenue at this margin and cost",
    ),
    "roi_with_card": (
        lambda frame, ds, **kw: _roi(frame, ds, key="program.incremental_gross_revenue_with_card", **kw),
        ("margin", "cost_total"),
        "rows of roi_estimate: planted incremental revenue over members' time with a card",
    ),
    "impact_totals": (
        _impact_totals,
        ("totals",),
        "rows of naive_gap on designs.naive_totals: planted actual minus no-program outcome over the "
        "members' summed customer-months",
    ),
    "roi_card_effect": (
        _roi_carried_over,
        ("margin", "cost_total"),
        "rows of roi_estimate: the established members' planted effect per member-month with a card "
        "(impact.card_gross_per_member_month, what the card-timed DiD estimates) times every member's "
        "months with a card: the figure 07's ROI estimates, which carries that effect over to new members",
    ),
    "roi_card_effect_of": (
        _roi_carried_over_of,
        ("per_month", "margin", "cost_total"),
        "rows of roi_estimate: as roi_card_effect with the planted effect per member-month given (over the "
        "customers the impact model was fitted on, when it used a sample)",
    ),
    "population_shares": (
        _population_shares,
        (),
        "rows of audience.segment_shares (dimension, segment): planted share of customers",
    ),
    "campaign_uplift": (
        _campaign_uplift,
        ("outcomes", "outcome"),
        "rows of campaigns.uplift (by offer type, channel, month or none): planted effect per contacted addressee",
    ),
    "campaign_visit_ratio": (
        _visit_ratio,
        ("outcomes",),
        "every row: contacted addressees' visits over their visits had they not been contacted",
    ),
    "campaign_incremental_revenue": (
        _campaign_roi,
        ("outcomes", "margin"),
        "rows of campaigns.campaign_roi (by month, offer type, channel, or all): planted incremental revenue",
    ),
}


def annotate(frame: pd.DataFrame, ds: Dataset, figure: str, **context) -> pd.DataFrame:
    """Add the planted value of the same estimand as a ``truth`` column.

    Parameters
    ----------
    frame : pandas.DataFrame
        Estimate frame, indexed as the metric function returns it (see :data:`FIGURES`).
    ds : Dataset
        The data the estimate came from.
    figure : str
        A key of :data:`FIGURES`.
    **context
        What the figure needs to name its estimand exactly: ``horizon_days`` (return curve,
        NPS), ``members`` (activation), ``panel`` and ``cells`` (a boolean mask or column name:
        the panel cells the effect refers to; impact; card_impact takes the panel alone),
        ``stores`` and ``launch`` (branch_did: the launching branches), ``margin`` and
        ``cost_total`` (ROI).

    Returns
    -------
    pandas.DataFrame
        A copy of ``frame`` plus ``truth`` (float). NaN on real data and on rows whose estimand
        was not planted.

    Raises
    ------
    ValueError
        An unknown figure, or synthetic data without the context the figure needs.

    Examples
    --------
    >>> ds = Dataset(customers=None, cards=None, transactions=None, truth={"bunching": {"moved_checks": {"1500": 65}}})
    >>> annotate(pd.DataFrame({"estimate": [60.0, 2.0]}, index=[1500.0, 5000.0]), ds, "bunching")["truth"].tolist()
    [65.0, nan]
    """
    if figure not in FIGURES:
        raise ValueError(f"annotate: unknown figure {figure!r}; known: {', '.join(FIGURES)}")
    fn, needs, _ = FIGURES[figure]
    if ds.truth is None:
        return _with(frame, None)
    missing = [k for k in needs if k not in context]
    if missing:
        raise ValueError(f"annotate({figure!r}): pass {', '.join(missing)} to name the planted estimand")
    return _with(frame, fn(frame, ds, **{k: context[k] for k in needs}))


def covered(frame: pd.DataFrame) -> pd.Series:
    """Whether each row's interval covers its planted value (``<NA>`` where none is planted).

    Parameters
    ----------
    frame : pandas.DataFrame
        A frame from :func:`annotate` with ``ci_low``, ``ci_high`` and ``truth``.

    Returns
    -------
    pandas.Series of boolean
    """
    return covers(frame)


__all__ = ["FIGURES", "annotate", "contact_effects", "counterfactual_panel", "covered", "planted"]
