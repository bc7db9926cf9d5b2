"""Branch-level impact (stage 06): a branch that launched the program against branches that did not.

When customers cannot serve as their own control group (members only, issue dates unknown), a
chain often still has one: the branches that never ran the program. This module builds the
store-by-month panel from the receipts (anonymous ones included: a walk-in's purchase is revenue
of the branch) and compares the launching branch with the others before and after the launch.

The comparison is proportional: before the launch, the launching branch's monthly figure is a
stable multiple of the other branches' (the scale factor ``k`` is their ratio over the months
before the launch). After the launch, ``k`` times the other branches' figure is what the launching
branch would have done without the program, and the gap is the effect per branch-month. This
allows branches of different size and a season that lifts every branch by the same share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from loyalty_lib.dataset import visits_mask
from loyalty_lib.stats import check_columns, estimate_frame, t_value

__all__ = ["branch_did", "branch_gap", "program_branches", "store_month_panel"]


def program_branches(
    transactions: pd.DataFrame, *, store_col: str = "store_id", card_col: str = "card_id"
) -> tuple[list, list]:
    """Split the branches into those whose receipts show a card and those whose never do.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts with ``store_col`` and ``card_col``.
    store_col, card_col : str
        Column names.

    Returns
    -------
    with_program, without : list
        Sorted store ids.

    Examples
    --------
    >>> tx = pd.DataFrame({"store_id": ["a", "a", "b"], "card_id": ["c1", None, None]})
    >>> program_branches(tx)
    (['a'], ['b'])
    """
    check_columns(transactions, [store_col, card_col], "program_branches")
    stores = set(transactions[store_col].dropna())
    with_card = set(transactions.loc[transactions[card_col].notna(), store_col].dropna())
    return sorted(with_card), sorted(stores - with_card)


def store_month_panel(
    transactions: pd.DataFrame,
    *,
    start,
    end,
    values: Mapping[str, str] | None = None,
    store_col: str = "store_id",
    date_col: str = "date",
    visit_col: str | None = None,
    backend=None,
) -> pd.DataFrame:
    """Monthly figures per branch: visits and the sums of ``values``, zeros where none.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Receipts (anonymous ones included) with ``store_col``, ``date_col`` and the columns of
        ``values``.
    start, end : date-like
        Window ``[start, end)``; every calendar month it touches gets a row per branch.
    values : mapping of str to str, optional
        Output column -> receipt column to sum; default ``{"revenue": "amount"}``.
    store_col, date_col : str
        Column names.
    visit_col : str, optional
        Boolean column saying which receipts are visits; default: those of
        :func:`loyalty_lib.dataset.visits_mask` when the receipts have ``gross_amount`` (a
        return is not a visit), else every receipt; it may also hold the number of visits a row
        stands for (rows that are already totals).
    backend : str or Ibis backend, optional
        When given, the receipts are first summed per branch and month by
        :func:`loyalty_lib.engine.store_month` on that backend (``transactions`` may then be a
        Parquet path or an Ibis table, with the contract's column names) and only the totals
        reach pandas; default: in memory here.

    Returns
    -------
    pandas.DataFrame
        One row per branch and month, sorted: ``store_id`` (named ``store_col``), ``month``
        (month start), ``visits`` (receipts that are visits) and one column per ``values`` key
        (returns subtract).

    Examples
    --------
    >>> tx = pd.DataFrame({"store_id": ["a", "a", "b"], "amount": [10.0, 5.0, 7.0],
    ...                    "date": pd.to_datetime(["2026-01-03", "2026-01-09", "2026-02-01"])})
    >>> p = store_month_panel(tx, start="2026-01-01", end="2026-03-01")
    >>> p["visits"].tolist(), p["revenue"].tolist()
    ([2, 0, 0, 1], [15.0, 0.0, 0.0, 7.0])
    """
    values = dict(values or {"revenue": "amount"})
    if backend is not None:
        from loyalty_lib import engine

        cells = engine.store_month(transactions, start=start, end=end, values=values, backend=backend)
        return store_month_panel(
            cells, start=start, end=end, values={k: k for k in values}, date_col="month", visit_col="visits"
        )
    check_columns(transactions, [store_col, date_col, *values.values()], "store_month_panel")
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if end <= start:
        raise ValueError("store_month_panel: end must be after start")
    dates = pd.to_datetime(transactions[date_col])
    keep = (dates >= start) & (dates < end) & transactions[store_col].notna()
    tx = transactions.loc[keep]
    month = dates[keep].dt.to_period("M").dt.to_timestamp()
    months = pd.period_range(start.to_period("M"), (end - pd.Timedelta(days=1)).to_period("M"), freq="M")
    stores = sorted(tx[store_col].unique())
    grid = pd.MultiIndex.from_product([stores, months.to_timestamp()], names=[store_col, "month"])
    if visit_col is not None:
        visit = tx[visit_col].to_numpy()
    elif "gross_amount" in tx:
        visit = visits_mask(tx).to_numpy(bool)
    else:
        visit = np.ones(len(tx), bool)
    g = tx.assign(month=month.to_numpy(), _visit=visit).groupby([store_col, "month"])
    out = pd.DataFrame({"visits": g["_visit"].sum()}).reindex(grid, fill_value=0)
    for name, col in values.items():
        out[name] = g[col].sum().reindex(grid, fill_value=0.0).astype(float)
    out["visits"] = out["visits"].astype(np.int64)
    return out.reset_index()


def branch_gap(
    panel: pd.DataFrame,
    *,
    treated: Sequence,
    launch,
    outcome: str = "revenue",
    store_col: str = "store_id",
) -> pd.DataFrame:
    """Month by month: the launching branches' figure against the others', scaled before launch.

    Parameters
    ----------
    panel : pandas.DataFrame
        From :func:`store_month_panel`.
    treated : sequence
        Store ids of the branches that launched the program; every other branch is a control.
    launch : date-like
        Launch day; months from its month on are "post".
    outcome : str
        Column of ``panel``.
    store_col : str
        Store column.

    Returns
    -------
    pandas.DataFrame
        One row per month: ``month``, ``relative_month`` (0 = launch month), ``post`` (bool),
        ``treated`` (mean over launching branches), ``control`` (mean over the others),
        ``expected`` (``k`` x control, ``k`` = treated / control summed over the months before
        launch) and ``gap`` (treated - expected).

    Examples
    --------
    >>> p = pd.DataFrame({"store_id": list("aaabbb"), "month": pd.to_datetime(["2026-01-01", "2026-02-01",
    ...                   "2026-03-01"] * 2), "revenue": [20.0, 40, 70, 10, 20, 30]})
    >>> branch_gap(p, treated=["a"], launch="2026-03-01")["gap"].tolist()  # k = 60 / 30 = 2
    [0.0, 0.0, 10.0]
    """
    check_columns(panel, [store_col, "month", outcome], "branch_gap")
    treated = set(treated)
    is_t = panel[store_col].isin(treated)
    if not is_t.any() or is_t.all():
        raise ValueError("branch_gap: need at least one launching branch and one branch without the program")
    wide_t = panel[is_t].groupby("month")[outcome].mean()
    wide_c = panel[~is_t].groupby("month")[outcome].mean().reindex(wide_t.index)
    launch_month = pd.Timestamp(launch).to_period("M").to_timestamp()
    post = wide_t.index >= launch_month
    if post.all() or not post.any():
        raise ValueError("branch_gap: need months before and after the launch")
    pre_c = wide_c[~post].sum()
    if not pre_c > 0:
        raise ValueError(f"branch_gap: the branches without the program have no '{outcome}' before the launch")
    k = wide_t[~post].sum() / pre_c
    expected = k * wide_c
    months = wide_t.index
    rel = (months.to_period("M") - launch_month.to_period("M")).map(lambda d: d.n)
    return pd.DataFrame(
        {
            "month": months,
            "relative_month": np.asarray(rel, dtype=np.int64),
            "post": post,
            "treated": wide_t.to_numpy(float),
            "control": wide_c.to_numpy(float),
            "expected": expected.to_numpy(float),
            "gap": (wide_t - expected).to_numpy(float),
        }
    ).reset_index(drop=True)


def _newey_west_shift(y: np.ndarray, post: np.ndarray) -> tuple[float, float]:
    """Shift of ``y`` after ``post`` (OLS on a constant and ``post``) and its Newey-West standard error.

    Examples
    --------
    >>> est, se = _newey_west_shift(np.array([0.0, 1, -1, 0, 10, 11, 9, 10]), np.array([0.0] * 4 + [1] * 4))
    >>> round(est, 3), bool(se > 0)
    (10.0, True)
    """
    X = np.column_stack([np.ones(len(y)), post])
    xtx_inv = np.linalg.inv(X.T @ X)
    beta = xtx_inv @ X.T @ y
    u = X * (y - X @ beta)[:, None]  # score contributions, one row per month
    lags = max(1, round(len(y) ** (1 / 3)))
    S = u.T @ u
    for k in range(1, min(lags, len(y) - 1) + 1):  # one step per lag (a handful)
        G = u[k:].T @ u[:-k]
        S += (1 - k / (lags + 1)) * (G + G.T)
    dof = max(len(y) - 2, 1)
    cov = xtx_inv @ S @ xtx_inv * len(y) / dof  # small-sample factor n / (n - 2)
    return float(beta[1]), float(np.sqrt(max(cov[1, 1], 0.0)))


def branch_did(
    panel: pd.DataFrame,
    *,
    treated: Sequence,
    launch,
    outcomes: Sequence[str] = ("revenue", "visits"),
    store_col: str = "store_id",
    level: float = 0.95,
) -> pd.DataFrame:
    """Effect of the program per launching-branch month, against the branches without it.

    The mean gap of :func:`branch_gap` over the months from the launch on minus its mean before
    (zero by construction of the scale ``k``): the coefficient of a regression of the monthly gap
    on an after-launch indicator. Its standard error is Newey and West's, which allows
    neighbouring months' gaps to move together (a branch gaining or losing a big customer shifts
    several months; Bartlett weights up to ``round(n_months ** (1/3))`` months apart), and the
    interval a Student t interval with ``n_months - 2`` degrees of freedom. With one launching
    branch and a year or two of months the interval is approximate.

    Parameters
    ----------
    panel : pandas.DataFrame
        From :func:`store_month_panel`.
    treated : sequence
        Store ids of the launching branches.
    launch : date-like
        Launch day.
    outcomes : sequence of str
        Columns of ``panel``.
    store_col : str
        Store column.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Indexed by outcome with ``estimate, ci_low, ci_high, n`` (branches), ``se``,
        ``n_pre``, ``n_post`` (months), ``scale`` (``k``) and ``counterfactual`` (mean expected
        figure of the launching branches after the launch, per branch-month).

    Examples
    --------
    Gaps after scaling: 0, 0 before and 10, 14 after the launch (k = 2):

    >>> p = pd.DataFrame({"store_id": list("aaaabbbb"),
    ...                   "month": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"] * 2),
    ...                   "revenue": [20.0, 40, 70, 74, 10, 20, 30, 30]})
    >>> round(float(branch_did(p, treated=["a"], launch="2026-03-01", outcomes=["revenue"])["estimate"].iloc[0]), 3)
    12.0
    """
    rows = []
    for o in outcomes:
        g = branch_gap(panel, treated=treated, launch=launch, outcome=o, store_col=store_col)
        post_m = g["post"].to_numpy(float)
        n_post = int(post_m.sum())
        n_pre = len(g) - n_post
        est, se = _newey_west_shift(g["gap"].to_numpy(float), post_m)
        dof = len(g) - 2
        half = float(t_value(level, dof)) * se if dof > 0 else np.nan
        k = g.loc[~g["post"], "treated"].sum() / g.loc[~g["post"], "control"].sum()
        rows.append((est, est - half, est + half, se, n_pre, n_post, k, float(g.loc[g["post"], "expected"].mean())))
    arr = np.array(rows, dtype=float)
    n = int(panel[store_col].nunique())
    return estimate_frame(
        arr[:, 0],
        arr[:, 1],
        arr[:, 2],
        [n] * len(rows),
        index=pd.Index(list(outcomes), name="outcome"),
        se=arr[:, 3],
        n_pre=arr[:, 4].astype(int),
        n_post=arr[:, 5].astype(int),
        scale=arr[:, 6],
        counterfactual=arr[:, 7],
    )
