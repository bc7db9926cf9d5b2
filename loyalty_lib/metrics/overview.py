"""Overview of a data set for the case notebook (00): sizes, periods, monthly revenue."""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalty_lib.dataset import Dataset
from loyalty_lib.schema import TABLES
from loyalty_lib.stats import check_columns


def table_overview(ds: Dataset) -> pd.DataFrame:
    """One row per contract table: present or not, rows, columns, key, date range.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``table`` with columns ``present, rows, columns, key, first_date, last_date,
        needed``.
    """
    rows = []
    present = set(ds.table_names())
    for name, spec in TABLES.items():  # a prepared snapshot answers from its manifest and reads one column
        cols = ds.columns_of(name) if name in present else []
        n = ds.n_rows(name) if name in present else 0
        date_col = next((c.name for c in spec.columns if c.kind == "datetime" and c.name in cols), None)
        dates = ds.read_columns(name, [date_col])[date_col] if date_col and n else None
        rows.append(
            {
                "table": name,
                "present": name in present,
                "rows": n,
                "columns": len(cols),
                "key": spec.key,
                "first_date": dates.min().date() if dates is not None else None,
                "last_date": dates.max().date() if dates is not None else None,
                "needed": "required" if spec.required else "optional",
            }
        )
    return pd.DataFrame(rows).set_index("table")


def monthly_revenue(
    transactions: pd.DataFrame, cards: pd.DataFrame, *, customer_col: str = "customer_id", date_col: str = "date"
) -> pd.DataFrame:
    """Net revenue, receipts and buyers per month, split by whether the buyer ever got a card.

    Returns
    -------
    pandas.DataFrame
        Columns ``month, group`` (``"card holder"``, ``"no card"`` or ``"anonymous"`` for
        receipts without a customer id), ``revenue, receipts, buyers``.
    """
    check_columns(transactions, [customer_col, date_col, "amount"], "monthly_revenue", table="transactions")
    holders = cards["customer_id"].dropna()
    ids = transactions[customer_col]
    group = pd.Series(
        np.select([ids.isna(), ids.isin(holders)], ["anonymous", "card holder"], "no card"), index=transactions.index
    )
    month = transactions[date_col].dt.to_period("M").dt.to_timestamp()
    g = transactions.assign(month=month, group=group).groupby(["month", "group"], observed=True)
    return g.agg(revenue=("amount", "sum"), receipts=("amount", "size"), buyers=(customer_col, "nunique")).reset_index()


def truth_summary(truth: dict | None, *, currency: str = "") -> pd.DataFrame:
    """The main planted effects as a readable two-column table (empty for real data).

    Parameters
    ----------
    truth : dict or None
        ``Dataset.truth``.
    currency : str
        Currency of the planted amounts (``Study.currency``), for the labels; empty: no unit.

    Returns
    -------
    pandas.DataFrame
        Columns ``effect, planted``.
    """
    if truth is None:
        return pd.DataFrame(columns=["effect", "planted"])
    t = truth
    rc = t["return_curve"]["p_return_within_horizon"]
    unit = f" ({currency})" if currency else ""
    rows = [
        ("cards printed / issued", f"{t['printed_cards']:,} / {t['cards_issued']:,}"),
        (
            "tiers (gross check ≥ threshold → rate)",
            ", ".join(
                f"{a:,.0f} → {r:.0%}" for a, r in zip(t["tiers"]["thresholds"], t["tiers"]["rates"], strict=True)
            ),
        ),
        ("member visit-rate uplift", f"+{t['uplift']['frequency_pct']:.0f} %"),
        ("member basket uplift (card receipts, before discount)", f"+{t['uplift']['check_pct']:.0f} %"),
        (
            "self-selection (log-odds of accepting per log visit rate)",
            f"{t['selection']['accept_log_odds_per_log_rate']:.2f}",
        ),
        (
            f"return within {t['return_curve']['horizon_days']} days after visit 1 / 2",
            f"{rc.get('1', float('nan')):.0%} / {rc.get('2', float('nan')):.0%}",
        ),
        (
            "checks topped up over a threshold",
            ", ".join(f"{k}: {v:,}" for k, v in t["bunching"]["moved_checks"].items()),
        ),
        ("goal gradient (log visit rate per stamp held)", f"{t['goal_gradient']['log_rate_per_stamp']:.2f}"),
        ("satisfaction: odds ratio of returning per NPS point", f"{t['satisfaction']['odds_ratio_per_nps_point']:.3f}"),
        (f"true net effect per member-month after issue{unit}", f"{t['impact']['att_revenue_per_member_month']:,.0f}"),
        (f"true incremental gross revenue after launch{unit}", f"{t['program']['incremental_gross_revenue']:,.0f}"),
        (f"program cost{unit}", f"{t['program']['cost_total']:,.0f}"),
        (f"true ROI at margin {t['program']['margin']:.0%}", f"{t['program']['roi_pct']:.0f} %"),
    ]
    return pd.DataFrame(rows, columns=["effect", "planted"])
