"""Causal impact of membership (stage 06): what the program *caused*, not what members spent.

Members are not a random sample of customers: heavier buyers are offered a card more often (they
come more often) and accept it more often. A plain member-vs-non-member comparison therefore
mixes the program's effect with who joined. This module builds the customer-by-month panel and
the estimators that separate the two:

* :func:`naive_gap` - the dashboard figure (members minus non-members after launch), biased;
* :func:`did_panel` - difference-in-differences with customer and month fixed effects and
  customer-clustered standard errors (pyfixest; ``linearmodels.PanelOLS`` as the reference);
  :func:`did_balanced` is the same
  estimator in closed form for a balanced panel, with a fast customer bootstrap;
* :func:`propensity_weights` / :func:`psw_att` / :func:`balance_table` - propensity-score (ATT)
  weighting on pre-launch behaviour and demographics;
* :func:`event_study` - month-by-month member/non-member gaps around launch (parallel trends).

On synthetic data :func:`planted_effect` computes the true effect over exactly the cells an
estimator uses, from the generator's per-receipt counterfactual.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from loyalty_lib.stats import (
    bootstrap_draws,
    bootstrap_frame,
    bootstrap_se,
    check_columns,
    estimate_frame,
    normal_interval,
    percentile_interval,
)

__all__ = [
    "add_treatment",
    "balance_table",
    "card_months",
    "counterfactual_columns",
    "customer_month_panel",
    "did_balanced",
    "did_imputation",
    "did_panel",
    "event_study",
    "join_event_profile",
    "naive_gap",
    "planted_card_effect",
    "planted_effect",
    "pre_period_features",
    "propensity_weights",
    "psw_att",
    "truth_value",
]

OUTCOMES = ("revenue", "visits", "check")


# ----------------------------------------------------------------------------- helpers
def _month_number(s: pd.Series | pd.Timestamp) -> np.ndarray | int:
    """Months since year 0 (``year * 12 + month - 1``), vectorised; NaT gives -1."""
    if isinstance(s, pd.Timestamp):
        return s.year * 12 + s.month - 1
    s = pd.to_datetime(s)
    out = (s.dt.year * 12 + s.dt.month - 1).to_numpy(dtype=float)
    return np.where(np.isnan(out), -1, out).astype(np.int64)  # no mutate: NaT needs any negative number; uses test >= 0


def _month_start(number: np.ndarray) -> pd.DatetimeIndex:
    """First day of each month number (see :func:`_month_number`)."""
    n = np.asarray(number, dtype=np.int64)
    stamps = pd.to_datetime(
        {
            "year": (n // 12).ravel(),
            "month": (n % 12 + 1).ravel(),
            "day": np.ones(n.size, dtype=int),
        }
    )
    return pd.DatetimeIndex(stamps)


def _outcomes(names) -> pd.Index:
    """Index of an impact estimate frame: one row per outcome."""
    return pd.Index(list(names), name="outcome")


def truth_value(truth: Mapping | None, key: str, default: float = np.nan):
    """Look up a planted value by dotted key in a flat or nested truth dict.

    Parameters
    ----------
    truth : mapping or None
        ``Dataset.truth``; ``None`` (real data) returns ``default``.
    key : str
        Dotted key such as ``"impact.did_revenue_per_customer_month"``.
    default : float
        Returned when the key is absent.

    Returns
    -------
    object
        The planted value, or ``default``.

    Examples
    --------
    >>> truth_value({"impact": {"att": 3.0}}, "impact.att")
    3.0
    >>> truth_value({"impact.att": 3.0}, "impact.att")
    3.0
    """
    if truth is None:
        return default
    if key in truth:
        return truth[key]
    node = truth
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


# ----------------------------------------------------------------------------- panel
def customer_month_panel(
    transactions: pd.DataFrame,
    *,
    customers: pd.DataFrame | None = None,
    start=None,
    end=None,
    values: Mapping[str, str] | None = None,
    cards: pd.DataFrame | None = None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    first_seen_col: str = "first_seen",
    issued_col: str = "issued_date",
    visit_col: str | None = None,
    after_col: str | None = None,
) -> pd.DataFrame:
    """Build the customer-by-month panel, with zeros for months without purchases.

    Every customer gets one row per calendar month from their first month (the month of
    ``first_seen`` or of their first receipt, whichever is earlier, but not before ``start``)
    up to the last month before ``end``. Built without a loop over customers.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts with ``customer_col``, ``date_col`` and the columns named in ``values``.
    customers : pandas.DataFrame, optional
        Customer table; customers without receipts in the window still get zero rows from their
        ``first_seen_col`` month on.
    start, end : date-like, optional
        Window ``[start, end)``; default: from the first receipt's month to the last receipt's
        month inclusive. Receipts outside the window are ignored.
    values : mapping of str to str, optional
        Output column -> receipt column to sum per cell; default ``{"revenue": "amount"}``.
    cards : pandas.DataFrame, optional
        Cards with ``customer_col`` and ``issued_col``. When given, every count also gets a
        ``<name>_card`` twin: the part of the cell from receipts dated *after the day* the
        customer's first card was handed out (the receipt at which it was handed out, and
        anything else that day, stays on the before-the-card side). See :func:`did_imputation`.
    customer_col, date_col, first_seen_col, issued_col : str
        Column names.
    visit_col : str, optional
        Boolean column saying which receipts are visits (``dataset.visits_mask``: a return
        receipt is not), or the number of visits a row stands for (rows that are already
        customer-month totals, from :func:`loyalty_lib.engine.customer_month`); default every
        receipt is one.
    after_col : str, optional
        Boolean column saying which rows fall after the day of the card (for rows that are
        already totals split at that day); default worked out from ``cards`` and the dates.

    Returns
    -------
    pandas.DataFrame
        One row per customer-month, sorted by customer and month, with columns
        ``customer_id`` (named ``customer_col``), ``month`` (month start), ``month_index``
        (0 = the window's first month), ``visits`` (receipts that are visits) and one column per
        ``values`` key;
        with ``cards`` also ``visits_card`` and ``<key>_card``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "amount": [10.0, 5.0, 7.0],
    ...                    "date": pd.to_datetime(["2024-01-03", "2024-03-09", "2024-02-01"])})
    >>> p = customer_month_panel(tx)
    >>> p["visits"].tolist(), p["revenue"].tolist()
    ([1, 0, 1, 1, 0], [10.0, 0.0, 5.0, 7.0, 0.0])
    """
    values = dict(values or {"revenue": "amount"})
    check_columns(transactions, [customer_col, date_col, *values.values()], "customer_month_panel")
    if customers is not None:
        check_columns(customers, [customer_col], "customer_month_panel (customers)")
    if cards is not None:
        check_columns(cards, [customer_col, issued_col], "customer_month_panel (cards)")
    tx_month = _month_number(transactions[date_col])
    if len(transactions) == 0 and (start is None or end is None):
        raise ValueError("customer_month_panel: no transactions; give start and end")
    s = _month_number(pd.Timestamp(start)) if start is not None else int(tx_month.min())
    if end is not None:
        end = pd.Timestamp(end)
        e = _month_number(end) + (0 if end == end.to_period("M").to_timestamp() else 1)
    else:
        e = int(tx_month.max()) + 1
    if e <= s:
        raise ValueError("customer_month_panel: end must be after start")
    n_months = e - s

    ids = transactions[customer_col]
    if customers is not None:
        ids = pd.concat([customers[customer_col], ids], ignore_index=True)  # no mutate: factorize ignores the index
    codes_all, uniques = pd.factorize(ids, sort=True)
    n_cust = len(uniques)
    tx_codes = codes_all[len(ids) - len(transactions) :]

    # first month per customer: min over receipts (and first_seen when given)
    first = np.full(n_cust, np.iinfo(np.int64).max, dtype=np.int64)
    valid_tx = tx_month >= 0  # no mutate: month numbers count from year 0; only NaT (-1) is below 1
    np.minimum.at(first, tx_codes[valid_tx], tx_month[valid_tx])
    if customers is not None and first_seen_col in customers:
        fs = _month_number(customers[first_seen_col])
        c_codes = codes_all[: len(customers)]
        ok = fs >= 0  # no mutate: month numbers count from year 0; only NaT (-1) is below 1
        np.minimum.at(first, c_codes[ok], fs[ok])
    first = np.clip(first, s, None)
    keep = first < e  # no mutate: a customer first seen in month e gets n_months - n_months = 0 rows either way
    f_idx = np.where(keep, first - s, n_months)  # local month index of the first cell
    counts = n_months - f_idx
    total = int(counts.sum())
    cust_rep = np.repeat(np.arange(n_cust), counts)
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    m_idx = np.repeat(f_idx, counts) + (np.arange(total) - offsets)

    # cell position of every receipt in the window
    in_win = (tx_month >= s) & (tx_month < e)
    rc, rm = tx_codes[in_win], tx_month[in_win] - s
    starts = np.cumsum(counts) - counts
    pos = starts[rc] + (rm - f_idx[rc])
    visit = transactions[visit_col].to_numpy(dtype=float)[in_win] if visit_col is not None else np.ones(len(pos))
    out = pd.DataFrame(
        {
            customer_col: uniques.take(cust_rep) if hasattr(uniques, "take") else uniques[cust_rep],
            "month": _month_start(m_idx + s) if total else pd.DatetimeIndex([]),
            "month_index": m_idx.astype(np.int64),
            "visits": np.bincount(pos, weights=visit, minlength=total).astype(np.int64),
        }
    )
    for name, col in values.items():
        v = pd.to_numeric(transactions[col], errors="raise").to_numpy(dtype=float)[in_win]
        out[name] = np.bincount(pos, weights=v, minlength=total)
    if cards is not None and after_col is not None:
        with_card = transactions[after_col].to_numpy(dtype=bool)[in_win]
    elif cards is not None:
        day = pd.to_datetime(transactions[date_col]).dt.normalize()
        issue_day = transactions[customer_col].map(_first_issue(cards, customer_col, issued_col).dt.normalize())
        with_card = (day > pd.to_datetime(issue_day)).to_numpy(dtype=bool)[in_win]
    if cards is not None:
        out["visits_card"] = np.bincount(pos, weights=with_card * visit, minlength=total).astype(np.int64)
        for name, col in values.items():
            v = pd.to_numeric(transactions[col], errors="raise").to_numpy(dtype=float)[in_win]
            out[f"{name}_card"] = np.bincount(pos, weights=v * with_card, minlength=total)
    return out


def _first_issue(cards: pd.DataFrame, customer_col: str, issued_col: str) -> pd.Series:
    """Date of each holder's first card, indexed by customer (cards in stock are ignored)."""
    # no mutate: a card without a holder has no group, and a holder's card without a date gives NaT (no card)
    held = cards.loc[cards[customer_col].notna() & cards[issued_col].notna(), [customer_col, issued_col]]  # no mutate
    return pd.to_datetime(held[issued_col]).groupby(held[customer_col]).min()


def card_months(first_issue, end) -> np.ndarray:
    """Months with a card per holder: from the day after the card was handed out to ``end``.

    Each calendar month counts the share of its days that fall there, exactly as the
    ``card_exposure`` column of :func:`add_treatment` (a card handed out on 20 April gives
    10/30 of April, then 1 for every later month).

    Parameters
    ----------
    first_issue : array-like of date-like
        Date each holder's (first) card was handed out.
    end : date-like
        End of the data (exclusive); a month that ``end`` cuts counts in full, as in the panel.

    Returns
    -------
    numpy.ndarray
        Months with a card, one per holder (0 when the card came on the last day or later).

    Examples
    --------
    >>> card_months(pd.to_datetime(["2026-04-20", "2026-12-31"]), "2027-01-01").round(3).tolist()
    [8.333, 0.0]
    """
    d = pd.Series(pd.to_datetime(first_issue)).dt.normalize() + pd.Timedelta(days=1)
    month = d.dt.to_period("M").dt.to_timestamp()
    nxt = month + pd.offsets.MonthBegin(1)
    frac = ((nxt - d).dt.days / (nxt - month).dt.days).to_numpy(dtype=float)
    end = pd.Timestamp(end)
    last = _month_number(end) + (0 if end == end.to_period("M").to_timestamp() else 1)  # first month not in the data
    first = _month_number(month)
    full = np.clip(last - first - 1, 0, None)
    return np.where(first < last, frac + full, 0.0)


def add_treatment(
    panel: pd.DataFrame,
    cards: pd.DataFrame,
    *,
    launch,
    customer_col: str = "customer_id",
    issued_col: str = "issued_date",
) -> pd.DataFrame:
    """Mark who became a member and when, on a customer-month panel.

    Parameters
    ----------
    panel : pandas.DataFrame
        Output of :func:`customer_month_panel` (needs ``customer_col`` and ``month``).
    cards : pandas.DataFrame
        Cards with ``customer_col`` and ``issued_col``; cards in stock (no holder) are ignored. A
        customer with several cards counts from the first.
    launch : date-like
        Program launch; months from the launch month on are "post".

    Returns
    -------
    pandas.DataFrame
        A copy of ``panel`` plus ``issue_month`` (month of the first card, NaT for non-members),
        ``ever_member`` (bool), ``post`` (bool, month >= launch month), ``treated``
        (``ever_member & post``: the ever-member x post-launch DiD regressor), ``issue_cell``
        (the month the card was handed out), ``after_issue`` (months strictly after it) and
        ``card_exposure``: the share of the month's days after the day the card was handed out
        (0 before and for non-members, 1 in later months, in between in the issue month).

    Examples
    --------
    >>> p = pd.DataFrame({"customer_id": [1, 1], "month": pd.to_datetime(["2026-04-01", "2026-05-01"])})
    >>> cards = pd.DataFrame({"customer_id": [1], "issued_date": pd.to_datetime(["2026-04-20"])})
    >>> add_treatment(p, cards, launch="2026-04-01")["card_exposure"].round(3).tolist()
    [0.333, 1.0]
    """
    check_columns(panel, [customer_col, "month"], "add_treatment (panel)")
    check_columns(cards, [customer_col, issued_col], "add_treatment (cards)")
    first_issue = _first_issue(cards, customer_col, issued_col)
    issue_month = first_issue.dt.to_period("M").dt.to_timestamp()
    out = panel.copy()
    out["issue_month"] = out[customer_col].map(issue_month)
    out["issue_month"] = pd.to_datetime(out["issue_month"])
    launch_month = pd.Timestamp(launch).to_period("M").to_timestamp()
    out["ever_member"] = out["issue_month"].notna()
    out["post"] = out["month"] >= launch_month
    out["treated"] = out["ever_member"] & out["post"]
    out["issue_cell"] = out["month"] == out["issue_month"]
    out["after_issue"] = out["month"] > out["issue_month"]
    # the card counts from the day after it was handed out (see did_imputation)
    card_from = pd.to_datetime(out[customer_col].map(first_issue.dt.normalize())) + pd.Timedelta(days=1)
    month = pd.to_datetime(out["month"])
    month_end = month + pd.offsets.MonthBegin(1)
    days = (month_end - month).dt.days.to_numpy(dtype=float)
    with_card = (month_end - np.maximum(month, card_from)).dt.days.to_numpy(dtype=float)
    out["card_exposure"] = np.maximum(np.nan_to_num(with_card, nan=0.0) / days, 0.0)  # never above the month's days
    return out


def counterfactual_columns(
    transactions: pd.DataFrame,
    truth_transactions: pd.DataFrame,
    *,
    id_col: str = "transaction_id",
) -> pd.DataFrame:
    """Attach the generator's no-program counterfactual to each receipt (synthetic data only).

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts with ``id_col``.
    truth_transactions : pandas.DataFrame
        ``Dataset.truth_tables["transactions"]`` with ``id_col, cf_amount, cf_gross_amount,
        incremental``.

    Returns
    -------
    pandas.DataFrame
        A copy of ``transactions`` plus ``cf_amount``, ``cf_gross_amount`` and ``cf_visit``
        (1 when the receipt would also exist without the program, else 0).
    """
    check_columns(transactions, [id_col], "counterfactual_columns (transactions)")
    need = [id_col, "cf_amount", "cf_gross_amount", "incremental"]
    check_columns(truth_transactions, need, "counterfactual_columns (truth transactions)")
    t = truth_transactions[need].set_index(id_col)
    out = transactions.copy()
    idx = t.index.get_indexer(out[id_col])
    if (idx < 0).any():
        raise ValueError(f"counterfactual_columns: {(idx < 0).sum()} receipts have no counterfactual row")
    out["cf_amount"] = t["cf_amount"].to_numpy(dtype=float)[idx]
    out["cf_gross_amount"] = t["cf_gross_amount"].to_numpy(dtype=float)[idx]
    out["cf_visit"] = (~t["incremental"].to_numpy(dtype=bool)[idx]).astype(np.int64)
    return out


def planted_effect(
    panel: pd.DataFrame,
    mask,
    *,
    revenue_col: str = "revenue",
    cf_revenue_col: str = "cf_revenue",
    cf_visits_col: str = "cf_visits",
    visits_col: str = "visits",
    exposure=None,
) -> pd.Series:
    """Compute the true effect of the program over chosen panel cells (synthetic data only).

    The no-program outcome of each receipt comes from the generator's planted counterfactual.

    Parameters
    ----------
    panel : pandas.DataFrame
        Panel with ``visits_col``, ``revenue_col``, ``cf_revenue_col`` and ``cf_visits_col``
        (build it with :func:`customer_month_panel` from :func:`counterfactual_columns` output).
    mask : array-like of bool
        The cells the estimator's effect refers to (e.g. ever-members' post-launch months).
    exposure : array-like of float, optional
        Months of exposure in each cell (e.g. ``card_exposure``); the effect is then per month
        of exposure instead of per cell.

    Returns
    -------
    pandas.Series
        Indexed by ``revenue`` (mean actual - no-program revenue per cell, or per month of
        exposure), ``visits`` (the same for receipts) and ``check`` (actual mean check minus
        no-program mean check over the cells' receipts).

    Examples
    --------
    >>> p = pd.DataFrame({"visits": [2, 1], "revenue": [30.0, 10], "cf_visits": [1, 1], "cf_revenue": [10.0, 10]})
    >>> planted_effect(p, [True, True]).round(3).tolist()
    [10.0, 0.5, 3.333]
    """
    check_columns(panel, [visits_col, revenue_col, cf_revenue_col, cf_visits_col], "planted_effect")
    m = np.asarray(mask, dtype=bool)
    p = panel.loc[m]
    rev, cf = p[revenue_col].sum(), p[cf_revenue_col].sum()
    vis, cfv = p[visits_col].sum(), p[cf_visits_col].sum()
    n = max(len(p), 1) if exposure is None else float(np.asarray(exposure, dtype=float)[m].sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        check = rev / vis - cf / cfv
    return pd.Series({"revenue": (rev - cf) / n, "visits": (vis - cfv) / n, "check": check})


def planted_card_effect(
    panel: pd.DataFrame,
    *,
    revenue: str = "revenue",
    cf_revenue: str = "cf_revenue",
    exposure_col: str = "card_exposure",
    suffix: str = "_card",
) -> pd.Series:
    """True effect per member-month with a card: the estimand of :func:`did_imputation`.

    Over the with-card part of every cell (receipts after the day the card was handed out):
    planted (actual - no-program) outcome divided by the member-months of with-card time.

    Parameters
    ----------
    panel : pandas.DataFrame
        Panel from :func:`customer_month_panel` with ``cards`` and the counterfactual values
        (``cf_revenue``, ``cf_visits``), then :func:`add_treatment`.
    revenue, cf_revenue : str
        Revenue column and its no-program twin (e.g. ``gross`` and ``cf_gross``).
    exposure_col, suffix : str
        As in :func:`did_imputation`.

    Returns
    -------
    pandas.Series
        ``revenue``, ``visits`` and ``check``, as :func:`planted_effect`.
    """
    e = panel[exposure_col].to_numpy(dtype=float)
    return planted_effect(
        panel,
        e > 0,  # no mutate: a cell without card time has no with-card receipts either
        revenue_col=revenue + suffix,
        cf_revenue_col=cf_revenue + suffix,
        cf_visits_col="cf_visits" + suffix,
        visits_col="visits" + suffix,
        exposure=e,
    )


# ----------------------------------------------------------------------------- estimators
def _customer_sums(panel: pd.DataFrame, mask, customer_col: str, revenue_col: str, cells_col: str | None = None):
    """Per-customer sums of revenue, visits and cells over the masked rows."""
    codes, uniques = pd.factorize(panel[customer_col], sort=True)
    m = np.asarray(mask, dtype=float)
    n = len(uniques)
    rev = np.bincount(codes, weights=panel[revenue_col].to_numpy(dtype=float) * m, minlength=n)
    vis = np.bincount(codes, weights=panel["visits"].to_numpy(dtype=float) * m, minlength=n)
    per_row = m if cells_col is None else m * panel[cells_col].to_numpy(dtype=float)
    cells = np.bincount(codes, weights=per_row, minlength=n)
    return codes, uniques, rev, vis, cells


def naive_gap(
    panel: pd.DataFrame,
    *,
    group_col: str = "ever_member",
    mask=None,
    customer_col: str = "customer_id",
    revenue_col: str = "revenue",
    cells_col: str | None = None,
    n_boot: int = 300,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Members minus non-members, no adjustment (the dashboard figure), with a customer bootstrap.

    Revenue and visits are per customer-month (cells pooled within each group); the check is
    the group's revenue divided by its receipts.

    Parameters
    ----------
    panel : pandas.DataFrame
        Customer-month panel with ``visits``, ``revenue_col`` and the boolean ``group_col``.
    group_col : str
        Member flag (constant within a customer).
    mask : array-like of bool, optional
        Cells to compare (e.g. ``panel["post"]``); default all.
    cells_col : str, optional
        Number of customer-months each row stands for, when the rows are already sums over a
        customer's cells (:func:`loyalty_lib.metrics.designs.naive_totals`); default one each.
    n_boot, seed, level
        Bootstrap over customers.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``revenue, visits, check`` with ``estimate, ci_low, ci_high, n`` (customers),
        ``members`` and ``non_members`` (the two group means).

    Examples
    --------
    The same customers as one row per customer-month or as their totals:

    >>> p = pd.DataFrame({"customer_id": list("AABB"), "ever_member": [True, True, False, False],
    ...                   "visits": [1, 3, 1, 0], "revenue": [10.0, 30, 8, 0]})
    >>> t = pd.DataFrame({"customer_id": list("AB"), "ever_member": [True, False], "visits": [4, 1],
    ...                   "revenue": [40.0, 8], "cells": [2, 2]})
    >>> naive_gap(p, n_boot=20)["estimate"].tolist() == naive_gap(t, cells_col="cells", n_boot=20)["estimate"].tolist()
    True
    >>> naive_gap(t, cells_col="cells", n_boot=20)["estimate"].tolist()  # (40 - 8) / 2, (4 - 1) / 2, 10 - 8
    [16.0, 1.5, 2.0]
    """
    check_columns(
        panel, [customer_col, group_col, "visits", revenue_col, *([cells_col] if cells_col else [])], "naive_gap"
    )
    mask = np.ones(len(panel), bool) if mask is None else np.asarray(mask, bool)
    codes, _, rev, vis, cells = _customer_sums(panel, mask, customer_col, revenue_col, cells_col)
    g = np.zeros(len(rev), bool)
    g[codes] = panel[group_col].to_numpy(dtype=bool)
    present = cells > 0
    if not (g & present).any() or not (~g & present).any():
        raise ValueError(f"naive_gap: need both groups of '{group_col}' among the chosen cells")
    tm, cm = g.astype(float), (~g).astype(float)
    M = np.vstack([rev * tm, vis * tm, cells * tm, rev * cm, vis * cm, cells * cm]).T

    def stat(S):  # S: (..., 6) sums -> (..., 3) gaps and group means
        with np.errstate(invalid="ignore", divide="ignore"):
            a = np.stack([S[..., 0] / S[..., 2], S[..., 1] / S[..., 2], S[..., 0] / S[..., 1]], -1)
            b = np.stack([S[..., 3] / S[..., 5], S[..., 4] / S[..., 5], S[..., 3] / S[..., 4]], -1)
        return a - b, a, b

    point, a, b = stat(M.sum(0))  # no mutate: ratios of sums; a mean divides both alike
    with np.errstate(invalid="ignore", divide="ignore"):
        draws = bootstrap_draws(len(rev), lambda c: stat(c @ M)[0], n_boot=n_boot, seed=seed, counts=True)
    return bootstrap_frame(
        point, draws, n=int(present.sum()), level=level, index=_outcomes(OUTCOMES), members=a, non_members=b
    )


#: How :func:`did_panel` fits: ``auto`` (the default: ``within``, pyfixest if its demeaning does not
#: converge), ``within`` (the suite's own demeaning: closed form on a balanced panel), pyfixest
#: (alternating projections) or linearmodels' PanelOLS (the reference).
DID_FITS = ("auto", "within", "pyfixest", "panelols")


def did_panel(
    panel: pd.DataFrame,
    *,
    outcome: str = "revenue",
    treat_col: str = "treated",
    customer_col: str = "customer_id",
    month_col: str = "month",
    weights_col: str | None = None,
    level: float = 0.95,
    fit: str = "auto",
) -> pd.DataFrame:
    """Difference-in-differences with customer and month fixed effects (two-way FE).

    Fits ``y_it = a_i + b_t + tau * D_it + e_it`` with both fixed effects absorbed (not
    dummies) and standard errors clustered by customer. With ``D = ever_member x post`` on a
    balanced panel, ``tau`` equals the classic difference of the two groups' pre/post changes
    (see :func:`did_balanced`).

    The fixed effects are removed by demeaning ``y`` and the treatment: exactly in closed form
    on a balanced panel without weights (every customer once in every month: ``y - customer
    mean - month mean + overall mean``), else by alternating weighted customer and month
    demeaning to convergence, the method of pyfixest's ``feols`` and fixest (``fit="within"``,
    what ``"auto"`` does; pyfixest itself, about 6x faster than linearmodels' ``PanelOLS`` on a
    million-row panel, is one option, and ``PanelOLS`` the reference).
    All give the same coefficient and error (the tests compare them with PanelOLS). The standard error
    is the customer-clustered sandwich with the small-sample factor ``PanelOLS`` applies by
    default (``count_effects``): the variance times ``N / (N - K)``, N cells and K every
    estimated parameter, customer and month effects included (K = customers + months). So the
    suite's figures do not move with the fitting library. (fixest, Stata's ``reghdfe`` and
    pyfixest's own default instead multiply by ``G/(G-1) * (N-1)/(N-k)``, G customers and k
    without the customer effects, which sit inside the clusters; with 24 months per customer
    that error is about 2 % smaller.) The interval and p-value are normal, as before.

    Parameters
    ----------
    panel : pandas.DataFrame
        Customer-month panel.
    outcome : str
        Outcome column (e.g. ``revenue``, ``visits``, or a per-cell mean check).
    treat_col : str
        0/1 treatment regressor.
    weights_col : str, optional
        Observation weights (e.g. ``visits`` for a mean-check outcome).
    level : float
        Confidence level.
    fit : {"auto", "within", "pyfixest", "panelols"}
        How to fit: ``"within"`` demeans in the suite (closed form on a balanced panel without
        weights) and raises if the alternating demeaning does not converge; ``"auto"`` (the
        default) then falls back to pyfixest; ``"panelols"`` (linearmodels) is kept as the
        reference the tests and the benchmark compare with.

    Returns
    -------
    pandas.DataFrame
        One row indexed by ``outcome`` with ``estimate, ci_low, ci_high, n`` (customers),
        ``se``, ``p_value`` and ``n_obs``.
    """
    from scipy import stats as sps

    if fit not in DID_FITS:
        raise ValueError(f"did_panel: fit must be one of {', '.join(DID_FITS)}, got {fit!r}")
    cols = [customer_col, month_col, outcome, treat_col] + ([weights_col] if weights_col else [])
    check_columns(panel, cols, "did_panel")
    d = panel[cols].dropna(subset=[outcome])
    if weights_col:
        d = d[d[weights_col] > 0]
    if d[treat_col].nunique() < 2:
        raise ValueError(f"did_panel: '{treat_col}' must vary (both treated and untreated cells)")
    ent = pd.factorize(d[customer_col], sort=True)[0]  # no mutate: the codes only label the fixed effects
    tim = pd.factorize(d[month_col], sort=True)[0]  # no mutate: the codes only label the fixed effects
    y = d[outcome].to_numpy(dtype=float)
    x = d[treat_col].to_numpy(dtype=float)
    w = d[weights_col].to_numpy(dtype=float) if weights_col else None
    fitted = _twfe_within(y, x, w, ent, tim) if fit in ("auto", "within") else None
    if fit == "within" and fitted is None:
        raise ValueError("did_panel: the customer and month demeaning did not converge; use fit='pyfixest'")
    if fitted is None:
        fitted = _twfe_panelols(y, x, w, ent, tim) if fit == "panelols" else _twfe_pyfixest(y, x, w, ent, tim)
    est, se = fitted
    lo, hi = normal_interval(est, se, level=level)
    # no mutate: a fitted standard error is never exactly 0 (an exact fit gives about 1e-16)
    p = float(2 * sps.norm.sf(abs(est / se))) if se > 0 else np.nan  # no mutate
    return estimate_frame(
        [est],
        [lo],
        [hi],
        [int(ent.max() + 1)],
        index=_outcomes([outcome]),
        se=[se],
        p_value=[p],
        n_obs=[len(d)],
    )


def _balanced(ent: np.ndarray, tim: np.ndarray) -> bool:
    """Whether every entity code meets every time code exactly once."""
    g, t = int(ent.max()) + 1, int(tim.max()) + 1
    if len(ent) != g * t:
        return False
    return bool((np.bincount(ent * t + tim, minlength=g * t) == 1).all())


def _twfe_within(y, x, w, ent, tim, *, tol: float = 1e-12, max_iter: int = 10_000) -> tuple[float, float] | None:
    """Coefficient and customer-clustered error of ``y ~ x | customer + month``, with PanelOLS's factor.

    Both fixed effects are removed from ``y`` and ``x`` by demeaning: exactly in closed form on a
    balanced panel without weights (``v - row mean - column mean + mean``), else by alternating
    (weighted) customer and month demeaning until a pass moves nothing by more than ``tol`` of
    the values' scale (the method of pyfixest and fixest). The clustered variance is
    ``sum_i (sum_t w x e)^2 / (sum w x^2)^2`` on the demeaned ``x`` and the residuals ``e``, times
    ``N / (N - K)`` (K = customers + months), as :func:`_twfe_pyfixest`. ``None`` when the
    demeaning has not converged after ``max_iter`` passes.
    """
    g, t = int(ent.max()) + 1, int(tim.max()) + 1
    wt = np.ones(len(y)) if w is None else np.asarray(w, dtype=float)
    V = np.column_stack([y, x]).astype(float)
    if w is None and _balanced(ent, tim):
        grid = np.empty((g * t, 2))
        grid[ent * t + tim] = V
        grid = grid.reshape(g, t, 2)
        grid = grid - grid.mean(1, keepdims=True) - grid.mean(0, keepdims=True) + grid.mean((0, 1))
        V = grid.reshape(g * t, 2)[ent * t + tim]
    else:
        sw_e, sw_t = np.bincount(ent, wt, g), np.bincount(tim, wt, t)
        scale = np.abs(V).max(0) + 1.0
        for _ in range(max_iter):  # one pass per step of the alternating projections
            before = V.copy()
            for codes, sw, m in ((ent, sw_e, g), (tim, sw_t, t)):
                for j in range(2):
                    V[:, j] -= (np.bincount(codes, wt * V[:, j], m) / sw)[codes]
            if (np.abs(V - before).max(0) <= tol * scale).all():
                break
        else:
            return None
    yd, xd = V[:, 0], V[:, 1]
    sxx = float(wt @ (xd * xd))
    if not sxx > 1e-12 * float(wt @ (x * x) + 1.0):
        raise ValueError("did_panel: the treatment is absorbed by the customer and month effects")
    tau = float(wt @ (xd * yd)) / sxx
    score = np.bincount(ent, wt * xd * (yd - tau * xd), g)  # per customer
    n, k = len(y), g + t  # every estimated effect, as PanelOLS counts them
    return tau, float(np.sqrt((score @ score) / sxx**2 * n / (n - k)))


def _twfe_pyfixest(y, x, w, ent, tim) -> tuple[float, float]:
    """Coefficient and customer-clustered error of ``y ~ x | customer + month`` by pyfixest, PanelOLS's factor."""
    import warnings

    import pyfixest as pf

    data = pd.DataFrame({"y": y, "x": x, "cid": ent, "mid": tim})
    if w is not None:
        data["w"] = w
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyfixest warns about pandas 3 internals it uses
        res = pf.feols(
            "y ~ x | cid + mid",
            data=data,
            vcov={"CRV1": "cid"},
            weights="w" if w is not None else None,
            ssc=pf.ssc(k_adj=False, G_adj=False),
            fixef_rm="none",  # keep customers seen once: they count as clusters, as in PanelOLS
            copy_data=False,  # no mutate: memory only
            store_data=False,  # no mutate: memory only
            lean=True,  # no mutate: memory only
        )
    n, k = len(y), int(ent.max()) + 1 + int(tim.max()) + 1  # every estimated effect, as PanelOLS counts them
    return float(res.coef()["x"]), float(res.se()["x"]) * float(np.sqrt(n / (n - k)))


def _twfe_panelols(y, x, w, ent, tim) -> tuple[float, float]:
    """The same fit by linearmodels' PanelOLS (its default clustered covariance, effects counted)."""
    from linearmodels.panel import PanelOLS

    idx = pd.MultiIndex.from_arrays([ent, tim], names=["entity", "time"])
    weights = pd.Series(w, index=idx) if w is not None else None
    res = PanelOLS(
        pd.Series(y, index=idx, name="y"),
        pd.DataFrame({"treated": x}, index=idx),
        entity_effects=True,
        time_effects=True,
        weights=weights,
    ).fit(cov_type="clustered", cluster_entity=True)
    return float(res.params["treated"]), float(res.std_errors["treated"])


def did_balanced(
    panel: pd.DataFrame,
    *,
    outcomes: Sequence[str] = ("revenue",),
    group_col: str = "ever_member",
    post_col: str = "post",
    customer_col: str = "customer_id",
    n_boot: int = 300,
    seed: int = 0,
    level: float = 0.95,
    return_draws: bool = False,
):
    """Ever-member x post DiD in closed form, with a vectorised customer bootstrap.

    On a balanced panel (every customer observed in every month) the two-way fixed-effects
    coefficient of ``group x post`` equals
    ``mean over members of (post mean - pre mean) - the same over non-members``.
    Computing it that way makes a bootstrap over customers cheap (no refit), which the ROI
    interval needs.

    Parameters
    ----------
    panel : pandas.DataFrame
        Balanced customer-month panel with ``group_col`` and ``post_col`` booleans.
    outcomes : sequence of str
        Outcome columns.
    n_boot, seed, level
        Bootstrap over customers.
    return_draws : bool
        Also return the ``(n_boot, len(outcomes))`` bootstrap draws.

    Returns
    -------
    pandas.DataFrame or (pandas.DataFrame, numpy.ndarray)
        Indexed by outcome with ``estimate, ci_low, ci_high, n`` (customers), ``se`` (bootstrap
        standard deviation) and ``pre_members, post_members, pre_non_members, post_non_members``
        (group means per customer-month).
    """
    outcomes = list(outcomes)
    check_columns(panel, [customer_col, group_col, post_col, *outcomes], "did_balanced")
    codes, uniques = pd.factorize(panel[customer_col], sort=True)
    n = len(uniques)
    post = panel[post_col].to_numpy(dtype=bool)
    n_post = np.bincount(codes, weights=post.astype(float), minlength=n)
    n_pre = np.bincount(codes, weights=(~post).astype(float), minlength=n)
    if not (np.all(n_post == n_post[0]) and np.all(n_pre == n_pre[0])) or n_pre[0] == 0 or n_post[0] == 0:
        raise ValueError(
            "did_balanced: the panel is not balanced (every customer needs the same pre and post months); use did_panel"
        )
    g = np.zeros(n, bool)
    g[codes] = panel[group_col].to_numpy(dtype=bool)
    if g.all() or not g.any():
        raise ValueError(f"did_balanced: need both groups of '{group_col}'")
    cols = []
    for o in outcomes:
        y = panel[o].to_numpy(dtype=float)
        pre_m = np.bincount(codes, weights=y * ~post, minlength=n) / n_pre
        post_m = np.bincount(codes, weights=y * post, minlength=n) / n_post
        cols += [pre_m, post_m]
    Y = np.vstack(cols).T  # (n, 2k)
    tm, cm = g.astype(float), (~g).astype(float)

    def stat(c):  # c: (b, n) counts -> (b, k) DiD, plus group means
        mt = (c * tm) @ Y / (c @ tm)[:, None]
        mc = (c * cm) @ Y / (c @ cm)[:, None]
        d = (mt[:, 1::2] - mt[:, 0::2]) - (mc[:, 1::2] - mc[:, 0::2])
        return d, mt, mc

    point, mt, mc = stat(np.ones((1, n)))  # no mutate: more identical rows give the same row 0
    with np.errstate(invalid="ignore", divide="ignore"):
        draws = bootstrap_draws(n, lambda c: stat(c)[0], n_boot=n_boot, seed=seed, counts=True)
    out = bootstrap_frame(
        point[0],
        draws,
        n=n,
        level=level,
        index=_outcomes(outcomes),
        se=bootstrap_se(draws),
        pre_members=mt[0, 0::2],
        post_members=mt[0, 1::2],
        pre_non_members=mc[0, 0::2],
        post_non_members=mc[0, 1::2],
    )
    return (out, draws) if return_draws else out


# ----------------------------------------------------------------------------- propensity
def pre_period_features(
    transactions: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    launch,
    start=None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    demographics: Sequence[str] = ("customer_type", "age", "gender", "income_band"),
) -> pd.DataFrame:
    """Pre-launch behaviour and demographics per customer, ready for a propensity model.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts with ``customer_col, date_col, amount_col``.
    customers : pandas.DataFrame
        One row per customer; demographic columns that are absent are skipped.
    launch : date-like
        Program launch; behaviour is measured on ``[start, launch)``.
    start : date-like, optional
        Start of the pre-period (default: the first receipt).
    demographics : sequence of str
        Customer columns to include; numbers are kept (missing filled with the median plus a
        ``<col>_missing`` flag), categories become 0/1 dummies (first level dropped).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_col`` (every customer of ``customers``) with ``pre_visits``,
        ``pre_spend``, ``log_pre_visits``, ``log_pre_spend``, ``pre_recency_days`` (days from the
        last pre-launch receipt to launch; the pre-period length when none), ``pre_buyer``
        (0/1) and the demographic columns.
    """
    check_columns(transactions, [customer_col, date_col, amount_col], "pre_period_features (transactions)")
    check_columns(customers, [customer_col], "pre_period_features (customers)")
    launch = pd.Timestamp(launch)
    dates = pd.to_datetime(transactions[date_col])
    start = pd.Timestamp(start) if start is not None else dates.min()
    pre = transactions.loc[(dates >= start) & (dates < launch)]
    g = pre.groupby(customer_col)
    ids = pd.Index(customers[customer_col], name=customer_col)
    visits = g.size().reindex(ids, fill_value=0)
    spend = g[amount_col].sum().reindex(ids, fill_value=0.0)
    last = pd.to_datetime(g[date_col].max()).reindex(ids)
    span = (launch - start).days
    recency = ((launch - last).dt.days).fillna(span).clip(upper=span)
    out = pd.DataFrame(
        {"pre_visits": visits.to_numpy(dtype=float), "pre_spend": spend.to_numpy(dtype=float)},
        index=ids,
    )
    out["log_pre_visits"] = np.log1p(out["pre_visits"])
    out["log_pre_spend"] = np.log1p(out["pre_spend"])
    out["pre_recency_days"] = recency.to_numpy(dtype=float)
    out["pre_buyer"] = (out["pre_visits"] > 0).astype(float)
    cust = customers.set_index(customer_col)
    for c in demographics:
        if c not in cust:
            continue
        col = cust[c]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            v = col.astype(float)
            if v.isna().any():
                out[f"{c}_missing"] = v.isna().astype(float).to_numpy()
            out[c] = v.fillna(v.median() if v.notna().any() else 0.0).to_numpy()
        else:
            dummies = pd.get_dummies(col.astype("string").fillna("missing"), prefix=c, drop_first=True, dtype=float)
            for d in dummies:
                out[d] = dummies[d].to_numpy()
    return out


# no mutate: the loop below stops once a step is below 1e-8, long before the 25 steps of the default
def _logit_irls(X: np.ndarray, t: np.ndarray, w: np.ndarray, beta0: np.ndarray, iters: int = 25):  # no mutate
    """Weighted logistic regression by Newton steps (used inside the bootstrap)."""
    beta = beta0.copy()
    for _ in range(iters):
        eta = np.clip(X @ beta, -30, 30)  # no mutate: guards exp() only; at |30| p moves by < 1e-13
        p = 1 / (1 + np.exp(-eta))
        W = w * p * (1 - p)
        H = (X * W[:, None]).T @ X + 1e-8 * np.eye(X.shape[1])  # no mutate: keeps H invertible only
        step = np.linalg.solve(H, X.T @ (w * (t - p)))
        beta += step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta


def _logit_irls_batch(X: np.ndarray, t: np.ndarray, C: np.ndarray, beta0: np.ndarray, iters: int = 25) -> np.ndarray:
    """:func:`_logit_irls` for many weight vectors at once (the rows of ``C``), one Newton step for all per pass.

    The Hessians of the whole batch are one matrix product of the weights with the rows' outer
    products ``x x'`` (their upper triangles, computed once), instead of one product per weight
    vector; a fit stops moving once its step is below 1e-8, as in :func:`_logit_irls`.

    Returns
    -------
    numpy.ndarray
        ``(len(C), X.shape[1])`` coefficients.
    """
    n, k = X.shape
    iu = np.triu_indices(k)
    XX = X[:, iu[0]] * X[:, iu[1]]  # (n, k(k+1)/2): each row's outer product, upper triangle
    B = np.tile(np.asarray(beta0, dtype=float), (len(C), 1))
    active = np.arange(len(C))
    for _ in range(iters):
        Ca = C[active]
        eta = np.clip(X @ B[active].T, -30, 30)  # no mutate: guards exp() only; at |30| p moves by < 1e-13
        P = 1 / (1 + np.exp(-eta))  # (n, a)
        h = (Ca.T * (P * (1 - P))).T @ XX  # (a, k(k+1)/2)
        H = np.zeros((len(active), k, k))
        H[:, iu[0], iu[1]] = h
        H[:, iu[1], iu[0]] = h
        H += 1e-8 * np.eye(k)  # no mutate: keeps H invertible only
        g = (Ca.T * (t[:, None] - P)).T @ X  # (a, k)
        step = np.linalg.solve(H, g[:, :, None])[:, :, 0]
        B[active] += step
        active = active[np.max(np.abs(step), axis=1) >= 1e-8]
        if not len(active):
            break
    return B


def _design(features: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    X = features.to_numpy(dtype=float)
    sd = X.std(0)
    # drop constant columns and exact duplicates (e.g. several "missing" flags of one pattern)
    # a column equal to an earlier one is a copy (compared column by column: a few dozen columns at most)
    copy = np.zeros(X.shape[1], bool)
    for j in range(X.shape[1]):  # one step per feature
        copy[j] = any(not copy[i] and np.array_equal(X[:, i], X[:, j]) for i in range(j))
    keep = (sd > 0) & ~copy
    mu = X[:, keep].mean(0)
    Xs = np.column_stack([np.ones(len(X)), (X[:, keep] - mu) / sd[keep]])
    names = ["const", *features.columns[keep]]
    # drop columns that are linear combinations of others (rank-revealing QR, order kept)
    from scipy.linalg import qr

    _, r, piv = qr(Xs, mode="economic", pivoting=True)
    # no mutate: the tolerance of exact collinearity; 1e-8 or 2e-8 of the largest pivot finds the same columns
    rank = int((np.abs(np.diag(r)) > 1e-8 * abs(r[0, 0])).sum())  # no mutate
    cols = np.sort(piv[:rank])  # the constant is orthogonal to the centred columns: always kept
    return Xs[:, cols], [names[i] for i in cols]


def propensity_weights(
    features: pd.DataFrame,
    treated,
    *,
    clip: float = 0.99,
) -> pd.DataFrame:
    """Propensity scores (logistic regression, statsmodels) and ATT weights.

    The score is the modelled probability of becoming a member given pre-launch behaviour and
    demographics. ATT weights keep every member at 1 and give each non-member
    ``p / (1 - p)``, rescaled so non-member weights sum to the number of members: the weighted
    non-members then resemble the members on the modelled features.

    Parameters
    ----------
    features : pandas.DataFrame
        Numeric features, one row per customer (e.g. :func:`pre_period_features`).
    treated : array-like of bool
        Member flag aligned with ``features``.
    clip : float
        Scores are clipped to ``[1 - clip, clip]`` so one control cannot dominate.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``features`` with ``treated`` (bool), ``propensity`` and ``weight``.
    """
    import statsmodels.api as sm

    if not isinstance(features, pd.DataFrame):
        raise ValueError("propensity_weights: features must be a DataFrame")
    t = np.asarray(treated, dtype=bool)
    if len(t) != len(features):
        raise ValueError("propensity_weights: treated and features differ in length")
    if t.all() or not t.any():
        raise ValueError("propensity_weights: need both members and non-members")
    bad = [c for c in features if not np.isfinite(features[c].to_numpy(dtype=float)).all()]
    if bad:
        raise ValueError(f"propensity_weights: non-finite values in column(s) {', '.join(bad)}")
    X, _ = _design(features)
    res = sm.GLM(t.astype(float), X, family=sm.families.Binomial()).fit()
    p = np.clip(res.predict(X), 1 - clip, clip)
    w = np.where(t, 1.0, p / (1 - p))
    w[~t] *= t.sum() / w[~t].sum()
    return pd.DataFrame({"treated": t, "propensity": p, "weight": w}, index=features.index)


def balance_table(features: pd.DataFrame, treated, weights=None) -> pd.DataFrame:
    """Standardised mean differences of each feature, before and after weighting.

    ``SMD = (mean_members - mean_non_members) / sqrt((var_members + var_non_members) / 2)``
    with the unweighted variances in the denominator both times, so the two columns are
    comparable. |SMD| below 0.1 is the usual "balanced" rule of thumb.

    Parameters
    ----------
    features : pandas.DataFrame
        Numeric features, one row per customer.
    treated : array-like of bool
        Member flag.
    weights : array-like, optional
        ATT weights (e.g. ``propensity_weights(...)["weight"]``).

    Returns
    -------
    pandas.DataFrame
        Indexed by feature with ``mean_members``, ``mean_non_members``,
        ``mean_non_members_weighted``, ``smd_before`` and ``smd_after`` (NaN without weights).
    """
    if not isinstance(features, pd.DataFrame):
        raise ValueError("balance_table: features must be a DataFrame")
    t = np.asarray(treated, dtype=bool)
    X = features.to_numpy(dtype=float)
    mt, mc = X[t].mean(0), X[~t].mean(0)
    sd = np.sqrt((X[t].var(0, ddof=1) + X[~t].var(0, ddof=1)) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        before = np.where(sd > 0, (mt - mc) / sd, 0.0)
        if weights is not None:
            w = np.asarray(weights, dtype=float)[~t]
            mw = (w[:, None] * X[~t]).sum(0) / w.sum()
            after = np.where(sd > 0, (mt - mw) / sd, 0.0)
        else:
            mw, after = np.full_like(mt, np.nan), np.full_like(mt, np.nan)
    return pd.DataFrame(
        {
            "mean_members": mt,
            "mean_non_members": mc,
            "mean_non_members_weighted": mw,
            "smd_before": before,
            "smd_after": after,
        },
        index=pd.Index(features.columns, name="feature"),
    )


def psw_att(
    features: pd.DataFrame,
    treated,
    outcomes: pd.DataFrame,
    *,
    baseline: pd.DataFrame | None = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    clip: float = 0.99,
) -> pd.DataFrame:
    """Effect on the members (ATT) by propensity-score weighting, with a customer bootstrap.

    Members' mean outcome minus the ATT-weighted mean of non-members. Revenue and visits are
    per customer-month; the check is revenue over visits within each (weighted) group. With
    ``baseline`` (the same outcomes measured before launch) the weighted comparison is made on
    the change, post minus pre ("weighted difference-in-differences"), which also removes
    stable differences the model does not capture. The bootstrap refits the propensity model
    on every resample, so the interval includes the uncertainty of the weights.

    Parameters
    ----------
    features : pandas.DataFrame
        Propensity-model features, one row per customer.
    treated : array-like of bool
        Member flag.
    outcomes : pandas.DataFrame
        Aligned with ``features``; columns ``revenue`` and ``visits`` per customer-month after
        launch.
    baseline : pandas.DataFrame, optional
        Same columns before launch.
    n_boot, seed, level, clip
        Bootstrap and weight settings.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``revenue, visits, check`` with ``estimate, ci_low, ci_high, n`` (customers),
        ``members`` and ``non_members_weighted``.
    """
    check_columns(outcomes, ["revenue", "visits"], "psw_att (outcomes)")
    if baseline is not None:
        check_columns(baseline, ["revenue", "visits"], "psw_att (baseline)")
    t = np.asarray(treated, dtype=bool)
    pw = propensity_weights(features, t, clip=clip)
    X, _ = _design(features)
    Y = outcomes[["revenue", "visits"]].to_numpy(dtype=float)
    B = baseline[["revenue", "visits"]].to_numpy(dtype=float) if baseline is not None else None
    tf = t.astype(float)
    beta_full = _logit_irls(X, tf, np.ones(len(t)), np.zeros(X.shape[1]))

    def stat(c, p):  # c: (b, n) counts, p: (n, b) scores -> (b, 3) effects and (b, 2) group means
        wt = c * tf
        wc = c * (1 - tf) * (p / (1 - p)).T
        mt_, mc_ = wt @ Y / wt.sum(1)[:, None], wc @ Y / wc.sum(1)[:, None]
        if B is None:
            return np.column_stack([mt_ - mc_, mt_[:, 0] / mt_[:, 1] - mc_[:, 0] / mc_[:, 1]]), mt_, mc_
        bt, bc = wt @ B / wt.sum(1)[:, None], wc @ B / wc.sum(1)[:, None]
        chk = (mt_[:, 0] / mt_[:, 1] - bt[:, 0] / bt[:, 1]) - (mc_[:, 0] / mc_[:, 1] - bc[:, 0] / bc[:, 1])
        return np.column_stack([(mt_ - bt) - (mc_ - bc), chk]), mt_, mc_

    # point estimate from the statsmodels fit; the bootstrap refits by Newton steps from it
    point, mt, mc = (a[0] for a in stat(np.ones((1, len(t))), pw["propensity"].to_numpy()[:, None]))

    def refit(counts):  # each resample refits the propensity model by a few Newton steps, the batch at once
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            # no mutate: more Newton steps only refine the refit (four land within 1e-4 of the exact one)
            beta = _logit_irls_batch(X, tf, counts, beta_full, iters=4)  # no mutate
            eta = np.clip(X @ beta.T, -30, 30)  # no mutate: guards exp() only; at |30| p moves by < 1e-13
            return stat(counts, np.clip(1 / (1 + np.exp(-eta)), 1 - clip, clip))[0]

    # no mutate: the batch size changes memory, not the draws (tests/test_stats.py)
    draws = bootstrap_draws(len(t), refit, n_boot=n_boot, seed=seed, batch=25, counts=True)  # no mutate
    with np.errstate(invalid="ignore", divide="ignore"):
        members = np.r_[mt, mt[0] / mt[1]]
        non = np.r_[mc, mc[0] / mc[1]]
    return bootstrap_frame(
        point, draws, n=len(t), level=level, index=_outcomes(OUTCOMES), members=members, non_members_weighted=non
    )


# ----------------------------------------------------------------------------- event study
def event_study(
    panel: pd.DataFrame,
    *,
    outcome: str = "revenue",
    group_col: str = "ever_member",
    ref_month=None,
    weights: pd.Series | None = None,
    customer_col: str = "customer_id",
    month_col: str = "month",
    level: float = 0.95,
) -> pd.DataFrame:
    """Month-by-month member/non-member gap relative to a reference month (event study).

    On a balanced panel this equals the coefficients of ``group x month`` dummies in a two-way
    fixed-effects regression (reference month left out): for each month, the members' mean change
    since the reference month minus the non-members' (optionally ATT-weighted) mean change.
    Before launch the gaps should hover around zero (parallel pre-trends); after launch they
    trace the effect.

    Parameters
    ----------
    panel : pandas.DataFrame
        Balanced customer-month panel with ``outcome`` and ``group_col``.
    ref_month : date-like, optional
        Reference month (default: the last month before the first month where any ``post``
        column is true, else the middle month).
    weights : pandas.Series, optional
        Non-member weights indexed by customer (e.g. ATT weights); members always weigh 1.
    level : float
        Confidence level (normal approximation, customer-level variances).

    Returns
    -------
    pandas.DataFrame
        One row per month with ``month``, ``relative_month`` (0 = launch month when ``post``
        exists, else 0 = reference month + 1), ``estimate, ci_low, ci_high, n`` (customers),
        ``mean_members`` and ``mean_non_members`` (levels, weighted when ``weights`` given).
    """
    check_columns(panel, [customer_col, month_col, outcome, group_col], "event_study")
    wide = panel.pivot(index=customer_col, columns=month_col, values=outcome)
    if wide.isna().any().any():
        raise ValueError("event_study: the panel is not balanced (every customer in every month)")
    g = panel.groupby(customer_col)[group_col].first().reindex(wide.index).to_numpy(dtype=bool)
    months = wide.columns
    if ref_month is None:
        if "post" in panel:
            first_post = panel.loc[panel["post"].astype(bool), month_col].min()
            ref = months[months < first_post].max()
        else:
            ref = months[len(months) // 2]
    else:
        ref = pd.Timestamp(ref_month).to_period("M").to_timestamp()
    if ref not in months:
        raise ValueError(f"event_study: reference month {ref} not in the panel")
    Y = wide.to_numpy(dtype=float)
    D = Y - Y[:, [months.get_loc(ref)]]
    w = np.ones(len(wide))
    if weights is not None:
        w = weights.reindex(wide.index).fillna(0).to_numpy(dtype=float)  # members' weights are not used
    wc = w[~g]
    mt = D[g].mean(0)
    mc = wc @ D[~g] / wc.sum()
    vt = D[g].var(0, ddof=1) / g.sum()
    vc = (wc[:, None] ** 2 * (D[~g] - mc) ** 2).sum(0) / wc.sum() ** 2
    est = mt - mc
    lo, hi = normal_interval(est, np.sqrt(vt + vc), level=level)
    ref_pos = months.get_loc(ref)
    return pd.DataFrame(
        {
            "month": months,
            "relative_month": np.arange(len(months)) - ref_pos - 1,
            "estimate": est,
            "ci_low": lo,
            "ci_high": hi,
            "n": len(wide),
            "mean_members": Y[g].mean(0),
            "mean_non_members": wc @ Y[~g] / wc.sum(),
        }
    ).reset_index(drop=True)


def _imputation_setup(panel, outcomes, exposure_col, post_col, customer_col, month_col, suffix, month_effects, who):
    """Grids of the imputation design: exposure, control weights and per-outcome pieces (see did_imputation).

    Returns a dict with ``n``, ``T``, ``months``, ``post`` (bool per month), ``E`` (with-card
    exposure, customers x months), ``W`` (the weight of each cell in the month effects), ``e_i``
    (exposure per customer) and ``parts``: per outcome ``(own, before, alpha, Y)`` - with-card
    outcome minus own level per customer, each cell's contribution to the month effects, the
    own pre-launch level and the outcome grid.
    """
    card_cols = [o + suffix for o in outcomes]
    check_columns(
        panel,
        [customer_col, month_col, exposure_col, post_col, *outcomes, *card_cols],
        who,
    )
    ci, cust = pd.factorize(panel[customer_col], sort=True)
    mi, months = pd.factorize(panel[month_col], sort=True)
    n, T = len(cust), len(months)
    if len(panel) != n * T or pd.Series(ci * T + mi).duplicated().any():
        raise ValueError(f"{who}: the panel is not balanced (every customer in every month)")
    flat = ci * T + mi

    def grid(col):
        out = np.zeros(n * T)
        out[flat] = panel[col].to_numpy(dtype=float)
        return out.reshape(n, T)

    post_m = np.zeros(T, bool)
    post_m[mi] = panel[post_col].to_numpy(dtype=bool)
    if post_m.all() or not post_m.any():
        raise ValueError(f"{who}: '{post_col}' must mark some months before and some after launch")
    E = grid(exposure_col)
    if (E[:, ~post_m] > 0).any() or (E < 0).any() or (E > 1).any():
        raise ValueError(f"{who}: '{exposure_col}' must be a share in [0, 1], and 0 before launch")
    U = np.where(post_m, 1.0 - E, 0.0)  # before-the-card exposure after launch
    if month_effects not in ("before_card", "year_before"):
        raise ValueError(f"{who}: month_effects must be 'before_card' or 'year_before', got {month_effects!r}")
    if E.sum() == 0 or (month_effects == "before_card" and U.sum() == 0):
        raise ValueError(f"{who}: need time with a card ('{exposure_col}' > 0) and without one after launch")
    pre = (~post_m).astype(float)
    lag = np.full(T, -1)  # year_before: the latest pre-launch month of the same calendar month
    if month_effects == "year_before":
        cal = np.asarray(pd.DatetimeIndex(months).month)
        pre_idx = np.flatnonzero(~post_m)
        if len(set(cal[pre_idx])) < 12:
            raise ValueError(
                f"{who}: month_effects='year_before' needs 12 months before the launch, the panel has {len(pre_idx)}"
            )
        for t in np.flatnonzero(post_m):  # one step per month of the window
            same = pre_idx[cal[pre_idx] == cal[t]]
            lag[t] = same.max()
    e_i = E.sum(1)
    parts = []
    for o, oc in zip(outcomes, card_cols, strict=True):
        Y, Yc = grid(o), grid(oc)
        if (Yc[:, ~post_m] != 0).any():
            raise ValueError(f"{who}: '{oc}' is not 0 before launch")
        alpha = Y @ pre / pre.sum()  # own pre-launch monthly mean
        if month_effects == "before_card":
            before = (Y - Yc) - U * alpha[:, None]  # before-the-card outcome minus own level
        else:  # own deviation in the same calendar month a year before, placed on the post month
            before = np.where(lag >= 0, Y[:, np.maximum(lag, 0)] - alpha[:, None], 0.0)
        own = Yc.sum(1) - e_i * alpha  # with-card outcome minus own level, per customer
        parts.append((own, before, alpha, Y))
    W = U if month_effects == "before_card" else np.broadcast_to((lag >= 0).astype(float), (n, T))
    return {"n": n, "T": T, "months": months, "post": post_m, "E": E, "W": W, "e_i": e_i, "parts": parts}


def did_imputation(
    panel: pd.DataFrame,
    *,
    outcomes: Sequence[str] = ("revenue",),
    exposure_col: str = "card_exposure",
    post_col: str = "post",
    customer_col: str = "customer_id",
    month_col: str = "month",
    suffix: str = "_card",
    month_effects: str = "before_card",
    n_boot: int = 300,
    seed: int = 0,
    level: float = 0.95,
    return_draws: bool = False,
):
    """DiD by imputation, timed from the day each card was handed out: effect per member-month.

    A card is handed out *at a purchase*, so who becomes a member, and when, depends on the
    outcome itself: a member has at least one purchase after launch (the one where the card was
    handed out) and a non-member is someone none of whose purchases ended in a card. Comparing
    "ever members" after launch with non-members therefore mixes in a bias even when the card
    does nothing. This design removes it by splitting every customer's time at the card:

    * **before the card**: the pre-launch months, then from the launch up to *and including*
      the day the card was handed out (with the receipt at which it was handed out); all of a
      non-member's time;
    * **with the card**: from the day after the card was handed out (``exposure_col`` is the
      share of each month that falls there; the outcome of that part is ``<outcome><suffix>``).

    The no-card level of each customer is their own pre-launch monthly mean (pre-launch
    purchases do not decide who gets a card later); the month effects are the mean change,
    per month of exposure, over *all* before-the-card time after launch, members' and
    non-members' alike. Counting the issuing receipt on the before side is what makes that
    honest: up to the moment a card is handed out, the purchases seen are on average exactly
    the purchases the customer makes without a program (the stopped-process argument), and
    after it a member's purchases start afresh. The estimate is, over all with-card time,
    actual minus imputed no-card outcome, divided by the member-months of with-card time (the
    effect on the treated, ATT, per member-month from the day after the card; Borusyak,
    Jaravel and Spiess's imputation estimator with the customer effects taken from before the
    launch).

    Parameters
    ----------
    panel : pandas.DataFrame
        Balanced customer-month panel from :func:`customer_month_panel` (with ``cards``) and
        :func:`add_treatment`: ``outcome`` and ``outcome + suffix`` for each outcome,
        ``exposure_col`` and ``post_col``.
    outcomes : sequence of str
        Outcome columns. With both ``revenue`` and ``visits`` a ``check`` row is added: the
        members' mean check with the card minus the imputed no-card mean check.
    exposure_col, post_col, customer_col, month_col : str
        Column names.
    suffix : str
        Suffix of the with-card part of each outcome.
    month_effects : {"before_card", "year_before"}
        Where each month's change comes from. ``"before_card"`` (above): all before-the-card
        time after launch, which is honest only when the panel also holds the customers who never
        got a card (identified non-members). ``"year_before"``: the same calendar month in the
        year before the launch, as the panel's customers' mean deviation from their own pre-launch
        level (the most recent such month); for a members-only panel, where the members' time
        before their card ends with the purchase at which it was handed out and so cannot serve
        as a control. It needs at least 12 months before the launch and assumes the months repeat
        from one year to the next (no trend beyond the season).
    n_boot, seed, level
        Bootstrap over customers (vectorised): each resample redraws customers with all their
        months, so the interval allows for the correlation of a customer's months.
    return_draws : bool
        Also return the bootstrap draws ``(n_boot, len(outcomes))`` (outcomes only, no check).

    Returns
    -------
    pandas.DataFrame or (pandas.DataFrame, numpy.ndarray)
        Indexed by outcome with ``estimate, ci_low, ci_high, n`` (customers), ``se`` (bootstrap
        standard deviation), ``member_months`` (with-card exposure averaged over) and
        ``counterfactual`` (imputed no-card outcome per member-month, for the same time).

    Examples
    --------
    >>> p = pd.DataFrame({
    ...     "customer_id": list("AABB"), "month": pd.to_datetime(["2026-01-01", "2026-02-01"] * 2),
    ...     "revenue": [10.0, 30, 10, 20], "revenue_card": [0.0, 30, 0, 0],
    ...     "card_exposure": [0.0, 1, 0, 0], "post": [False, True] * 2})
    >>> did_imputation(p, n_boot=10)["estimate"].tolist()  # 30 - (10 + 10)
    [10.0]
    """
    outcomes = list(outcomes)
    g = _imputation_setup(
        panel, outcomes, exposure_col, post_col, customer_col, month_col, suffix, month_effects, "did_imputation"
    )
    n, E, W, e_i, parts = g["n"], g["E"], g["W"], g["e_i"], g["parts"]

    def stat(c):  # (b, n) counts -> (b, k) effects and (b, k) counterfactual means
        exp_t = c @ E  # (b, T) with-card exposure per month
        u_t = c @ W
        mm = c @ e_i
        eff, cf = [], []
        with np.errstate(invalid="ignore", divide="ignore"):
            for own, before, alpha, _ in parts:
                delta = np.where(u_t > 0, (c @ before) / u_t, 0.0)  # month effects
                shift = (exp_t * delta).sum(1)
                eff.append((c @ own - shift) / mm)
                cf.append((c @ (e_i * alpha) + shift) / mm)
        return np.vstack(eff).T, np.vstack(cf).T

    point, cf_point = (a[0] for a in stat(np.ones((1, n))))  # no mutate: more identical rows give the same row 0
    k = len(outcomes)
    both = bootstrap_draws(n, lambda c: np.hstack(stat(c)), n_boot=n_boot, seed=seed, counts=True)
    draws, cf_draws = both[:, :k], both[:, k:]
    names, est, all_draws, cf_all = list(outcomes), point, draws, cf_point
    if "revenue" in outcomes and "visits" in outcomes:
        r, v = outcomes.index("revenue"), outcomes.index("visits")
        with np.errstate(invalid="ignore", divide="ignore"):
            chk = lambda e, f: (f[..., r] + e[..., r]) / (f[..., v] + e[..., v]) - f[..., r] / f[..., v]  # noqa: E731
            est = np.r_[point, chk(point, cf_point)]
            all_draws = np.column_stack([draws, chk(draws, cf_draws)])
            cf_all = np.r_[cf_point, cf_point[r] / cf_point[v]]
        names.append("check")
    out = bootstrap_frame(
        est,
        all_draws,
        n=n,
        level=level,
        index=_outcomes(names),
        se=bootstrap_se(all_draws),
        member_months=float(E.sum()),
        counterfactual=cf_all,
    )
    return (out, draws) if return_draws else out


def join_event_profile(
    panel: pd.DataFrame,
    *,
    outcome: str = "revenue",
    month_effects: str = "before_card",
    window: tuple[int, int] = (-6, 12),
    exposure_col: str = "card_exposure",
    post_col: str = "post",
    customer_col: str = "customer_id",
    month_col: str = "month",
    suffix: str = "_card",
    n_boot: int = 300,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Event study around each member's card: actual minus imputed no-card outcome by months since it.

    The imputation of :func:`did_imputation` (each member's own pre-launch level plus the month's
    change, from ``month_effects``), read month by month relative to the first month with a card
    (0: that month, partly with the card). Before 0 the gaps should hover around zero: a dip or a
    rise there means the members were changing before their card (where a card is handed out at a
    purchase, the months just before it look busier, and the wait before them quieter, by
    construction); from 0 on they trace the effect as the card ages.

    Parameters
    ----------
    panel : pandas.DataFrame
        As :func:`did_imputation`.
    outcome : str
        Outcome column (its ``<outcome><suffix>`` twin is needed as well).
    month_effects : {"before_card", "year_before"}
        As :func:`did_imputation`.
    window : tuple of int
        First and last month relative to the card.
    exposure_col, post_col, customer_col, month_col, suffix : str
        Column names.
    n_boot, seed, level
        Bootstrap over customers: every resample redraws members with all their months and
        re-estimates the month effects.

    Returns
    -------
    pandas.DataFrame
        One row per month relative to the card with ``relative_month``, ``estimate, ci_low,
        ci_high`` (mean gap per member in that month) and ``n`` (members observed then).

    Examples
    --------
    One member, a card from the third of four months, no other customer moving: the level is the
    pre-launch mean 10, so the gaps are 0, 0 (months -2, -1) and 6, 8 (months 0, 1).

    >>> p = pd.DataFrame({"customer_id": "A", "month": pd.date_range("2026-01-01", periods=4, freq="MS"),
    ...                   "revenue": [10.0, 10, 16, 18], "revenue_card": [0.0, 0, 16, 18],
    ...                   "card_exposure": [0.0, 0, 1, 1], "post": [False, True, True, True]})
    >>> q = pd.concat([p, p.assign(customer_id="B", revenue=[5.0, 5, 5, 5], revenue_card=0.0, card_exposure=0.0)])
    >>> join_event_profile(q, window=(-2, 1), n_boot=20)["estimate"].tolist()
    [0.0, 0.0, 6.0, 8.0]
    """
    g = _imputation_setup(
        panel, [outcome], exposure_col, post_col, customer_col, month_col, suffix, month_effects, "join_event_profile"
    )
    n, T, E, W = g["n"], g["T"], g["E"], g["W"]
    _, before, alpha, Y = g["parts"][0]
    member = E.sum(1) > 0  # no mutate: a mean is above 0 exactly when the sum is
    if not member.any():
        raise ValueError("join_event_profile: no member holds a card in the panel")
    first = np.where(member, (E > 0).argmax(1), -1)  # no mutate: month the card counts from; -1 = no member
    cohorts = np.unique(first[member])
    C = (first[:, None] == cohorts[None, :]).astype(float)  # members x cohorts
    post = g["post"].astype(float)
    ks = np.arange(window[0], window[1] + 1)
    A, D, Q, idx = [], [], [], []
    for k in ks:  # one step per month of the window
        t = first + k
        ok = member & (t >= 0) & (t < T)
        tt = np.clip(t, 0, T - 1)
        A.append(np.where(ok, Y[np.arange(n), tt] - alpha, 0.0))  # gap before the month effect
        D.append(ok.astype(float))
        # which cohorts' cell k months from their card gets the month effect: the same for every member of a cohort
        tc = cohorts + k
        Q.append(((tc >= 0) & (tc < T) & post[np.clip(tc, 0, T - 1)].astype(bool)).astype(float))
        # no mutate: month 0 is always before launch, so a cell raised to it never gets a month effect
        cell = np.maximum(tc, 0)  # no mutate
        idx.append(np.minimum(cell, T - 1))
    A, D = np.vstack(A).T, np.vstack(D).T  # (n, K)
    Q, idx = np.vstack(Q), np.vstack(idx)  # (K, cohorts)

    def stat(c):  # (b, n) counts -> (b, K) mean gaps
        with np.errstate(invalid="ignore", divide="ignore"):
            w_t = c @ W
            delta = np.where(w_t > 0, (c @ before) / w_t, 0.0)  # (b, T) month effects
            # members drawn per cohort, times the month effect their cell k months from the card gets
            shift = np.einsum("bc,kc,bkc->bk", c @ C, Q, delta[:, idx])
            return (c @ A - shift) / (c @ D)

    point = stat(np.ones((1, n)))[0]  # no mutate: more identical rows give the same row 0
    draws = bootstrap_draws(n, stat, n_boot=n_boot, seed=seed, counts=True)
    lo, hi = percentile_interval(draws, level=level)
    out = pd.DataFrame(
        {"relative_month": ks, "estimate": point, "ci_low": lo, "ci_high": hi, "n": D.sum(0).astype(np.int64)}
    )
    return out[out["n"] > 0].reset_index(drop=True)
