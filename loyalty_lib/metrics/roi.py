"""Return on the program (stage 07): incremental margin against the program's cost.

``ROI = (margin x incremental gross revenue - program cost) / program cost x 100``.

*Incremental* revenue is what the program caused (from the stage-06 impact estimate), not what
members spent. Discounts are counted once: the cost includes the discounts given, so the
revenue side is the incremental *gross* revenue (before discount). Using net revenue (after
discount) and also counting the discounts as a cost would subtract them twice.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from loyalty_lib.schema import COST_CATEGORIES
from loyalty_lib.stats import check_columns, percentile_interval

__all__ = [
    "break_even_members",
    "break_even_uplift",
    "cost_from_parameters",
    "cost_ledger",
    "incremental_from_effect",
    "member_months",
    "roi_estimate",
    "roi_pct",
    "roi_sensitivity",
]


def roi_pct(incremental_gross_revenue, cost_total, *, margin: float):
    """Return on investment in percent, vectorised.

    Parameters
    ----------
    incremental_gross_revenue : float or array-like
        Revenue the program caused, before discounts (RUB).
    cost_total : float or array-like
        Program cost including the discounts given (RUB); must be positive.
    margin : float
        Gross-margin share in (0, 1].

    Returns
    -------
    float or numpy.ndarray
        ``(margin * incremental_gross_revenue - cost_total) / cost_total * 100``.

    Examples
    --------
    >>> roi_pct(1_000_000, 200_000, margin=0.3)
    50.0
    """
    if not 0 < margin <= 1:
        raise ValueError(f"roi_pct: margin must be in (0, 1], got {margin}")
    c = np.asarray(cost_total, dtype=float)
    if np.any(c <= 0):
        raise ValueError("roi_pct: cost_total must be positive")
    out = (margin * np.asarray(incremental_gross_revenue, dtype=float) - c) / c * 100
    return float(out) if np.ndim(out) == 0 else out


def cost_ledger(
    program_costs: pd.DataFrame,
    *,
    date_col: str = "date",
    category_col: str = "category",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Program costs by month and category.

    Parameters
    ----------
    program_costs : pandas.DataFrame
        The contract's ``program_costs`` table.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``month`` (month start), one column per cost category of the contract
        (:data:`loyalty_lib.schema.COST_CATEGORIES`, zeros where none) and ``total``.

    Examples
    --------
    >>> c = pd.DataFrame({"date": pd.to_datetime(["2026-01-05", "2026-01-20", "2026-02-01"]),
    ...                   "category": ["staff", "discounts", "staff"], "amount": [10.0, 5.0, 7.0]})
    >>> cost_ledger(c)["total"].tolist()
    [15.0, 7.0]
    """
    check_columns(program_costs, [date_col, category_col, amount_col], "cost_ledger")
    month = pd.to_datetime(program_costs[date_col]).dt.to_period("M").dt.to_timestamp()
    wide = program_costs.assign(month=month).pivot_table(
        index="month",
        columns=category_col,
        values=amount_col,
        aggfunc="sum",
        fill_value=0.0,
        observed=True,
    )
    cats = list(COST_CATEGORIES) + [c for c in wide.columns if c not in COST_CATEGORIES]
    wide = wide.reindex(columns=cats, fill_value=0.0).astype(float)
    wide.columns.name = None
    wide["total"] = wide.sum(axis=1)
    return wide


def cost_from_parameters(
    *,
    printed_cards: int,
    card_print_cost: float,
    discounts_given: float,
    fixed_costs: Mapping[str, float] | None = None,
) -> pd.Series:
    """Program cost built from parameters, for data without a ``program_costs`` table.

    Parameters
    ----------
    printed_cards : int
        Cards printed.
    card_print_cost : float
        Cost of printing one card (RUB).
    discounts_given : float
        Sum of ``discount_amount`` over members' receipts (the data know it).
    fixed_costs : mapping, optional
        Other categories (``staff``, ``communications``, ``rewards``, ``other``) in RUB.

    Returns
    -------
    pandas.Series
        Cost by category (:data:`loyalty_lib.schema.COST_CATEGORIES`), named ``amount``.
    """
    if printed_cards < 0 or card_print_cost < 0 or discounts_given < 0:
        raise ValueError("cost_from_parameters: costs and counts must be non-negative")
    s = pd.Series(0.0, index=list(COST_CATEGORIES), name="amount")
    s["card_printing"] = printed_cards * card_print_cost
    s["discounts"] = discounts_given
    for k, v in (fixed_costs or {}).items():
        if k not in s.index:
            raise ValueError(f"cost_from_parameters: unknown cost category {k!r}")
        s[k] += float(v)
    return s


def member_months(
    cards: pd.DataFrame, *, end, start=None, issued_col: str = "issued_date", customer_col: str = "customer_id"
) -> float:
    """Member-months with a card: from the day after each holder's first card to the data end.

    The same exposure the impact estimate is measured per (:func:`loyalty_lib.metrics.impact.
    did_imputation`): the day a card is handed out belongs to the time before it, and each
    calendar month counts the share of its days with a card.

    Parameters
    ----------
    cards : pandas.DataFrame
        Cards with ``customer_col`` and ``issued_col`` (cards in stock are ignored).
    end : date-like
        End of the data (exclusive).
    start : date-like, optional
        First day that counts (the data start, for a program older than the data): time with a
        card before it is left out. Default: from each card's issue.

    Returns
    -------
    float
        Sum over members of their months with a card (:func:`~loyalty_lib.metrics.impact.card_months`).

    Examples
    --------
    >>> cards = pd.DataFrame({"customer_id": [1, 2, None],
    ...                       "issued_date": pd.to_datetime(["2026-11-30", "2026-12-16", None])})
    >>> round(member_months(cards, end="2027-01-01"), 3)  # 1 month + 15/31
    1.484
    >>> round(member_months(cards, end="2027-01-01", start="2026-12-01"), 3)  # December only: 1 + 15/31
    1.484
    >>> round(member_months(cards, end="2027-01-01", start="2026-12-20"), 3)  # 12/31 + 12/31
    0.774
    """
    from loyalty_lib.metrics.impact import _first_issue, card_months

    check_columns(cards, [customer_col, issued_col], "member_months")
    first = _first_issue(cards, customer_col, issued_col)
    if start is not None:  # the card counts from the day after issue: a card before start counts from start
        first = first.clip(lower=pd.Timestamp(start) - pd.Timedelta(days=1))
    return float(card_months(first, end).sum())


def incremental_from_effect(effect: pd.DataFrame | pd.Series, exposure: float) -> pd.Series:
    """Scale a per-member-month effect (with its interval) to a total over the exposure.

    Parameters
    ----------
    effect : pandas.Series or one-row DataFrame
        With ``estimate, ci_low, ci_high`` per member-month.
    exposure : float
        Member-months (see :func:`member_months`).

    Returns
    -------
    pandas.Series
        ``estimate, ci_low, ci_high`` multiplied by ``exposure``.
    """
    e = effect.iloc[0] if isinstance(effect, pd.DataFrame) else effect
    missing = [c for c in ("estimate", "ci_low", "ci_high") if c not in e.index]
    if missing:
        raise ValueError(f"incremental_from_effect: missing {', '.join(missing)}")
    return e[["estimate", "ci_low", "ci_high"]].astype(float) * float(exposure)


def roi_estimate(
    effect: float,
    *,
    exposure: float,
    cost_total: float,
    margin: float,
    draws=None,
    effect_interval: tuple[float, float] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Incremental revenue, incremental margin and ROI with a bootstrap interval.

    Parameters
    ----------
    effect : float
        Incremental gross revenue per member-month (the impact estimate).
    exposure : float
        Member-months the effect applies to.
    cost_total : float
        Program cost including discounts.
    margin : float
        Gross-margin share.
    draws : array-like, optional
        Bootstrap draws of ``effect`` (e.g. from ``did_imputation(..., return_draws=True)``);
        the percentile interval of each figure comes from them.
    effect_interval : tuple of float, optional
        Instead of draws, the interval of ``effect`` (e.g. a t interval); every figure grows with
        the effect, so its interval is the figure at the two ends. Without draws or interval the
        interval is empty.
    level : float
        Confidence level of ``draws``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``incremental_gross_revenue``, ``incremental_margin``, ``net_gain`` (margin
        minus cost) and ``roi_pct``, with ``estimate, ci_low, ci_high``.
    """
    if exposure <= 0:
        raise ValueError("roi_estimate: exposure must be positive")

    def figures(e):
        inc = np.asarray(e, dtype=float) * exposure
        return np.vstack(
            [
                inc,
                margin * inc,
                margin * inc - cost_total,
                np.atleast_1d(roi_pct(inc, cost_total, margin=margin)),
            ]
        )

    point = figures([effect])[:, 0]
    if draws is not None:
        lo, hi = percentile_interval(figures(np.ravel(draws)).T, level=level)
    elif effect_interval is not None:
        ends = figures(np.asarray(effect_interval, dtype=float))
        lo, hi = ends[:, 0], ends[:, 1]
    else:
        lo = hi = np.full(4, np.nan)
    return pd.DataFrame(
        {"estimate": point, "ci_low": lo, "ci_high": hi},
        index=pd.Index(["incremental_gross_revenue", "incremental_margin", "net_gain", "roi_pct"], name="figure"),
    )


def break_even_uplift(
    cost_total: float, *, margin: float, exposure: float, baseline_per_month: float | None = None
) -> pd.Series:
    """Find the smallest program effect that pays the cost back (ROI = 0).

    Parameters
    ----------
    cost_total : float
        Program cost including discounts.
    margin : float
        Gross-margin share.
    exposure : float
        Member-months.
    baseline_per_month : float, optional
        Members' no-program gross revenue per member-month, to express the break-even as a %.

    Returns
    -------
    pandas.Series
        ``incremental_gross_revenue`` (= cost / margin), ``per_member_month`` (that over the
        exposure) and ``uplift_pct`` (per member-month over the baseline x 100; NaN without it).

    Examples
    --------
    >>> break_even_uplift(300.0, margin=0.3, exposure=10, baseline_per_month=200).tolist()
    [1000.0, 100.0, 50.0]
    """
    if not 0 < margin <= 1 or exposure <= 0 or cost_total < 0:
        raise ValueError("break_even_uplift: need 0 < margin <= 1, exposure > 0, cost >= 0")
    total = cost_total / margin
    per = total / exposure
    pct = 100 * per / baseline_per_month if baseline_per_month else np.nan
    return pd.Series({"incremental_gross_revenue": total, "per_member_month": per, "uplift_pct": pct})


def break_even_members(
    fixed_cost: float,
    *,
    variable_cost_per_member: float,
    incremental_gross_per_member: float,
    margin: float,
) -> float:
    """Members needed for the program to break even.

    ``n * (margin * incremental_gross_per_member - variable_cost_per_member) = fixed_cost``.

    Parameters
    ----------
    fixed_cost : float
        Costs that do not grow with members (printing, setup, staff).
    variable_cost_per_member : float
        Costs per member (discounts, rewards, contacts).
    incremental_gross_per_member : float
        Incremental gross revenue one member brings.
    margin : float
        Gross-margin share.

    Returns
    -------
    float
        Members needed; ``inf`` when a member's margin does not cover their own variable cost.

    Examples
    --------
    >>> break_even_members(1000.0, variable_cost_per_member=10.0,
    ...                    incremental_gross_per_member=100.0, margin=0.3)
    50.0
    """
    if not 0 < margin <= 1:
        raise ValueError(f"break_even_members: margin must be in (0, 1], got {margin}")
    per = margin * incremental_gross_per_member - variable_cost_per_member
    return float(fixed_cost / per) if per > 0 else float("inf")


def roi_sensitivity(
    *,
    incremental_gross_revenue: float,
    cost_total: float,
    margin: float,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> pd.DataFrame:
    """ROI when one input moves at a time (the data of a tornado plot).

    Parameters
    ----------
    incremental_gross_revenue, cost_total, margin : float
        Base case.
    ranges : mapping, optional
        ``{"margin": (low, high), "cost": (low_factor, high_factor), "uplift": (low_factor,
        high_factor)}``: margin as shares, cost and uplift (incremental revenue) as multipliers of
        the base. Default: margin +-0.05, cost and uplift +-20 %.

    Returns
    -------
    pandas.DataFrame
        One row per input, widest swing first: ``parameter``, ``low``, ``high`` (input values),
        ``roi_low``, ``roi_high`` (ROI at them), ``base_roi`` and ``swing`` (|roi_high - roi_low|).
    """
    ranges = dict(ranges or {"margin": (margin - 0.05, margin + 0.05), "cost": (0.8, 1.2), "uplift": (0.8, 1.2)})
    bad = [k for k in ranges if k not in ("margin", "cost", "uplift")]
    if bad:
        raise ValueError(f"roi_sensitivity: unknown input(s) {', '.join(bad)}")
    base = roi_pct(incremental_gross_revenue, cost_total, margin=margin)
    rows = []
    for k, (lo, hi) in ranges.items():

        def at(v, k=k):
            if k == "margin":
                return roi_pct(incremental_gross_revenue, cost_total, margin=v)
            if k == "cost":
                return roi_pct(incremental_gross_revenue, cost_total * v, margin=margin)
            return roi_pct(incremental_gross_revenue * v, cost_total, margin=margin)

        rows.append({"parameter": k, "low": lo, "high": hi, "roi_low": at(lo), "roi_high": at(hi)})
    out = pd.DataFrame(rows)
    out["base_roi"] = base
    out["swing"] = (out["roi_high"] - out["roi_low"]).abs()
    return out.sort_values("swing", ascending=False, ignore_index=True)
