"""Shape piece: turn a generated world into what a retailer's export really looks like.

The behavioural model (population, purchasing, enrollment, members, tiers, campaigns) is the
same for every scenario; a *shape* only decides what the export shows of that world, the way a
real CRM or till system does (see /docs/ground_truth.md, "Realistic exports"):

- :func:`members_only`: the program is older than the data. The export covers the last
  ``export_days`` of the world and holds only receipts of card holders who joined before it
  starts; issue dates and first-seen dates are empty, demographics are filled in for a minority
  and in bands, and there are no surveys, points ledger or cost ledger.
- :func:`walk_ins`: most receipts are anonymous. A receipt names its customer only when it is
  a delivery, a business client's invoice or a card receipt; the receipt lines are not exported.
- :func:`messy_till`: the till export of a shop: return receipts with negative lines that point
  to the receipt they undo, voided (zero-quantity) lines, lines of products missing from the
  catalogue and a coupon discount beside the card discount (drawn in :func:`coupons`).

Each shape also rewrites the planted truth for what the export can show: the window, the
return curve counted from the export's first day, the bunching counted on exported receipts,
and the store-month effect of a branch launch. Everything is vectorised.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from loyalty_lib.dataset import Dataset
from loyalty_lib.synth.arrays import rank_within
from loyalty_lib.synth.scenario import Scenario
from loyalty_lib.synth.truth import MONTH_DAYS, effective_rate

#: Age bands of a members-only export (lower bound of each band, label).
AGE_BANDS = ((18, "19-24"), (25, "25-34"), (35, "35-44"), (45, "45-54"), (55, "55-64"), (65, "65+"))
#: Product codes on receipt lines that the catalogue does not list (service and internal codes).
UNKNOWN_PRODUCTS = np.arange(990_001, 990_013, dtype=np.int64)


@dataclass(frozen=True)
class World:
    """The hidden side of a generated world that a shape needs to rewrite the truth.

    Attributes
    ----------
    latent : pandas.DataFrame
        Hidden habits per customer (see :func:`loyalty_lib.synth.population.population`).
    visits : pandas.DataFrame
        One row per receipt, aligned with ``transactions``: ``cust`` (row in ``latent``) and
        ``t`` (days from the world's first day).
    activator : numpy.ndarray of bool
        Card holders who use their card.
    t_issue : numpy.ndarray
        Day each customer's card was handed out (``inf`` without a card).
    bunched : numpy.ndarray of int
        Threshold index a receipt was moved over, or -1.
    """

    latent: pd.DataFrame
    visits: pd.DataFrame
    activator: np.ndarray
    t_issue: np.ndarray
    bunched: np.ndarray


def coupons(n: int, sc: Scenario, rng: np.random.Generator) -> np.ndarray | None:
    """Shop-coupon discount per receipt (half, one or two times ``coupon_value``), or ``None``.

    A coupon is independent of the card: it is redeemed on a share ``coupon_share`` of all
    receipts, with and without the program, so the program did not cause it.

    Examples
    --------
    >>> from loyalty_lib.synth.scenario import Scenario
    >>> c = coupons(1000, Scenario(coupon_share=0.1, coupon_value=200.0), np.random.default_rng(1))
    >>> bool(0.05 < (c > 0).mean() < 0.15), sorted(set(c[c > 0].tolist()))
    (True, [100.0, 200.0, 400.0])
    """
    if sc.coupon_share <= 0:
        return None
    has = rng.random(n) < sc.coupon_share
    value = np.round(sc.coupon_value * rng.choice([0.5, 1.0, 2.0], n), 2)
    return np.where(has, value, 0.0)


def planted_return_curve(
    world: World, sc: Scenario, rows: np.ndarray, *, first_day: float, k_max: int = 10
) -> dict[str, float]:
    """Planted chance of another receipt within the horizon after receipt k, k counted from ``first_day``.

    Receipts ``rows`` (positions in ``world.visits``) are numbered per customer from the first
    one on or after ``first_day``; a receipt counts when it is at least the horizon before the
    world's end, exactly as the return-curve estimator counts them on the export.

    Returns
    -------
    dict of str to float
        ``{"1": p1, "2": p2, ...}``, empty when no receipt qualifies.
    """
    H = sc.return_horizon_days
    days = sc.pre_days + sc.post_days
    v = world.visits.iloc[rows]
    v = v[v["t"].to_numpy() >= first_day].sort_values(["cust", "t"], kind="stable")
    cust, t = v["cust"].to_numpy(), v["t"].to_numpy()
    k = rank_within(cust) + 1
    p = 1 - np.exp(-effective_rate(world.latent, world.activator, world.t_issue, cust, t, sc) * H)
    ok = (t <= days - H) & (k <= k_max)
    curve = pd.Series(p[ok]).groupby(k[ok]).mean()
    return {str(int(i)): float(x) for i, x in curve.items()}


def _moved(world: World, sc: Scenario, rows: np.ndarray) -> dict[str, int]:
    b = world.bunched[rows]
    return {f"{thr:g}": int(np.sum(b == k)) for k, thr in enumerate(sc.tier_thresholds)}


def _effects(ds: Dataset, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Net and gross revenue caused, and caused receipts, of receipts ``rows``."""
    tx, tt = ds.transactions.iloc[rows], ds.truth_tables["transactions"].iloc[rows]
    delta = tx["amount"].to_numpy() - tt["cf_amount"].to_numpy()
    delta_gross = tx["gross_amount"].to_numpy() - tt["cf_gross_amount"].to_numpy()
    return delta, delta_gross, tt["incremental"].to_numpy(dtype=bool)


def _day(sc: Scenario, days: float) -> str:
    return (sc.t_start + pd.Timedelta(days=float(days))).date().isoformat()


def members_only(ds: Dataset, world: World, sc: Scenario, rng: np.random.Generator) -> Dataset:
    """The last ``export_days`` of a program older than the data, card holders' receipts only.

    Returns
    -------
    Dataset
        ``customers`` (members with a receipt in the window; ``first_seen`` empty; gender,
        income and an extra ``age_band`` column for about a third, ``age`` empty), ``cards``
        (no issue dates, no issue channel), ``transactions`` (card receipts in the window; no
        seller, no discount rate), ``transaction_items``, ``products``, ``offers`` (sent in the
        window, none held out); no surveys, points ledger or cost ledger. The truth's
        ``period.start`` is the export's first day and ``period.program_older_than_data`` true.
    """
    days = sc.pre_days + sc.post_days
    first = float(days - (sc.export_days or days))
    cust, t = world.visits["cust"].to_numpy(), world.visits["t"].to_numpy()
    held = world.activator & (world.t_issue < first)
    card = ds.transactions["card_id"].notna().to_numpy()
    rows = np.flatnonzero((t >= first) & held[cust] & card)
    kept = np.zeros(len(world.latent), dtype=bool)
    kept[cust[rows]] = True
    ids = world.latent["customer_id"].to_numpy()[kept]
    start = sc.t_start + pd.Timedelta(days=first)

    c = ds.customers[kept].drop(columns=["district", "birthday"]).reset_index(drop=True)
    demo = rng.random(len(c)) < 0.35
    age = c["age"].to_numpy(dtype=float, na_value=np.nan)
    lows = np.array([b for b, _ in AGE_BANDS])
    band = np.array([label for _, label in AGE_BANDS], dtype=object)[
        np.clip(np.searchsorted(lows, age, "right") - 1, 0, 5)
    ]
    c["age_band"] = pd.Series(np.where(demo & np.isfinite(age), band, None), dtype=object)
    c["age"] = pd.array([pd.NA] * len(c), dtype="Int64")
    c["gender"] = c["gender"].where(demo)
    c["income_band"] = c["income_band"].where(demo)
    c["first_seen"] = pd.Series(pd.NaT, index=c.index, dtype="datetime64[ns]")

    cards = ds.cards[ds.cards["customer_id"].isin(ids)].drop(columns=["store_id", "seller_id"]).reset_index(drop=True)
    cards["issued_date"] = pd.Series(pd.NaT, index=cards.index, dtype="datetime64[ns]")
    cards["issue_channel"] = pd.Series(None, index=cards.index, dtype=object)
    tx = ds.transactions.iloc[rows].drop(columns=["seller_id", "discount_rate"]).reset_index(drop=True)
    lines = ds.transaction_items[ds.transaction_items["transaction_id"].isin(tx["transaction_id"])]
    offers = ds.offers[(ds.offers["date"] >= start) & ds.offers["customer_id"].isin(ids)].reset_index(drop=True)

    truth = copy.deepcopy(ds.truth)
    delta, delta_gross, inc = _effects(ds, rows)
    member_months = float(len(ids) * (days - first) / MONTH_DAYS)
    truth["period"] = {
        "start": start.date().isoformat(),
        "launch": sc.t_launch.date().isoformat(),
        "end": sc.t_end.date().isoformat(),
        "program_older_than_data": True,
    }
    truth["export"] = _export_note(sc, len(tx), len(c))
    truth["return_curve"] = {
        "horizon_days": sc.return_horizon_days,
        "p_return_within_horizon": {},
        "p_return_from_data_start": planted_return_curve(world, sc, rows, first_day=first),
        "design_note": (
            "every customer was buying before the export starts: visits are counted from its first day, and "
            "the planted chance of another visit within the horizon is that of long-standing members"
        ),
    }
    truth["bunching"]["moved_checks"] = _moved(world, sc, rows)
    truth["impact"] = {
        "identified": False,
        "note": "no pre-period, no issue dates and no non-members: no design can estimate what the card caused",
        "att_revenue_per_member_month": float(delta.sum() / member_months),
        "att_visits_per_member_month": float(inc.sum() / member_months),
        "member_months": member_months,
    }
    truth["program"] = {
        "incremental_gross_revenue": float(delta_gross.sum()),
        "incremental_net_revenue": float(delta.sum()),
        "discounts_given": float(tx["discount_amount"].sum()),
        "cost_total": float("nan"),
        "margin": sc.margin,
        "roi_pct": float("nan"),
    }
    truth["satisfaction"]["odds_ratio_per_nps_point"] = float("nan")
    tc = ds.truth_tables["customers"][kept].reset_index(drop=True)
    tt = ds.truth_tables["transactions"].iloc[rows].reset_index(drop=True)
    return Dataset(
        customers=c,
        cards=cards,
        transactions=tx,
        transaction_items=lines.reset_index(drop=True),
        products=ds.products,
        offers=offers,
        truth=truth,
        truth_tables={"customers": tc, "transactions": tt},
        source=ds.source,
    )


def walk_ins(ds: Dataset, world: World, sc: Scenario, rng: np.random.Generator) -> Dataset:
    """Several branches, one launching the program; most receipts without a customer.

    A receipt keeps its customer when it is a delivery, a business client's or a card receipt;
    the others are anonymous (empty ``customer_id``). Customers are those named on a receipt or
    holding a card. Receipt lines, the catalogue, sellers, discount rates and line counts are not
    exported.

    Returns
    -------
    Dataset
        The truth gains ``impact.branch_*``: the net revenue and receipts the program caused per
        store-month in the launching branch after the launch (``branch.by_month`` per month),
        and the same per store-month in the other branches (zero: the card works nowhere else).
    """
    tx = ds.transactions.drop(columns=["seller_id", "discount_rate", "n_items"])
    cust = world.visits["cust"].to_numpy()
    b2b = world.latent["b2b"].to_numpy()[cust]
    named = b2b | (tx["channel"] == "delivery").to_numpy() | tx["card_id"].notna().to_numpy()
    tx["customer_id"] = pd.array(np.where(named, tx["customer_id"].to_numpy(), 0), dtype="Int64")
    tx.loc[~named, "customer_id"] = pd.NA
    holders = ds.cards["customer_id"].dropna().to_numpy()
    keep = ds.customers["customer_id"].isin(tx["customer_id"].dropna()) | ds.customers["customer_id"].isin(holders)
    customers = ds.customers[keep].reset_index(drop=True)

    truth = copy.deepcopy(ds.truth)
    days = sc.pre_days + sc.post_days
    t = world.visits["t"].to_numpy()
    post = t >= sc.pre_days
    launch_stores = list(sc.program_stores or [])
    at = tx["store_id"].isin(launch_stores).to_numpy()
    control = sorted(set(tx["store_id"].astype(str)) - set(launch_stores))
    months = pd.period_range(sc.t_launch, sc.t_end - pd.Timedelta(days=1), freq="M")
    delta, _, inc = _effects(ds, np.arange(len(tx)))
    month = tx["date"].dt.to_period("M")
    cells = len(months) * max(len(launch_stores), 1)
    ctrl_cells = len(months) * max(len(control), 1)
    by_month = pd.Series(delta[at & post]).groupby(month[at & post].to_numpy()).sum()
    truth["period"]["launch_stores"] = launch_stores
    truth["export"] = _export_note(sc, len(tx), len(customers))
    truth["export"]["anonymous_receipts"] = int((~named).sum())
    truth["impact"].update(
        {
            "branch_revenue_per_store_month": float(delta[at & post].sum() / cells),
            "branch_receipts_per_store_month": float(inc[at & post].sum() / cells),
            "branch_control_revenue_per_store_month": float(delta[~at & post].sum() / ctrl_cells),
            "branch_store_months": int(cells),
        }
    )
    truth["branch"] = {
        "launch_stores": launch_stores,
        "control_stores": control,
        "post_months": [str(m) for m in months],
        "revenue_by_month": {str(m): float(v) for m, v in by_month.items()},
    }
    truth["return_curve"]["p_return_within_horizon"] = {}
    truth["return_curve"]["design_note"] = (
        "not planted for this export: anonymous receipts hide most visits of private customers"
    )
    truth["period"]["end"] = _day(sc, days)
    return Dataset(
        customers=customers,
        cards=ds.cards,
        transactions=tx,
        surveys=ds.surveys,
        offers=ds.offers,
        program_costs=ds.program_costs,
        points_ledger=ds.points_ledger,
        truth=truth,
        truth_tables={
            "customers": ds.truth_tables["customers"][keep.to_numpy()].reset_index(drop=True),
            "transactions": ds.truth_tables["transactions"],
        },
        source=ds.source,
    )


def messy_till(ds: Dataset, world: World, sc: Scenario, rng: np.random.Generator) -> Dataset:
    """A till export with returns, voided lines and products the catalogue does not list.

    - A share ``return_share`` of the sales receipts at least three weeks before the end get a
      return receipt 1 to 20 days later: some of their lines (always the first) come back with
      negative quantity and amount, the card discount is given back at the receipt's rate, and
      ``original_receipt_id`` points to the sale.
    - A share ``zero_qty_share`` of receipts get an extra voided line (quantity 0, amount 0).
    - A share ``unknown_product_share`` of lines carry a product code missing from the catalogue.
    - ``broken_receipts`` sales (never one that is later returned) have a paid amount one money
      unit above gross minus discounts: rows that break the contract, for the quarantine to set
      aside whole (receipt and lines).

    Returns
    -------
    Dataset
        ``transactions`` gains ``original_receipt_id`` (empty on sales); the truth gains a
        ``till`` section counting each kind of row, and return receipts get truth rows equal to
        their own amounts (a return happens in both worlds: it adds nothing to a planted effect).
    """
    tx, lines = ds.transactions, ds.transaction_items
    n = len(tx)
    cand = (tx["date"] < sc.t_end - pd.Timedelta(days=21)).to_numpy()
    ret = cand & (rng.random(n) < sc.return_share)
    orig = tx[ret]
    L = lines[lines["transaction_id"].isin(orig["transaction_id"])]
    back = (rank_within(L["transaction_id"].to_numpy()) == 0) | (rng.random(len(L)) < 0.4)
    L = L[back]
    new_id = pd.Series(tx["transaction_id"].max() + 1 + np.arange(len(orig)), index=orig["transaction_id"].to_numpy())
    gross = -L.groupby("transaction_id")["line_amount"].sum().reindex(orig["transaction_id"]).to_numpy()
    rate = orig["discount_rate"].to_numpy()
    disc = np.round(gross * rate, 2)
    returns = pd.DataFrame(
        {
            "transaction_id": new_id.to_numpy(),
            "customer_id": orig["customer_id"].to_numpy(),
            "date": (orig["date"] + pd.to_timedelta(rng.integers(1, 21, len(orig)), unit="D")).to_numpy(),
            "gross_amount": np.round(gross, 2),
            "discount_amount": disc,
            "other_discount_amount": 0.0,
            "amount": np.round(gross - disc, 2),
            "discount_rate": rate,
            "channel": orig["channel"].to_numpy(),
            "store_id": orig["store_id"].to_numpy(),
            "seller_id": orig["seller_id"].to_numpy(),
            "card_id": orig["card_id"].array,
            "n_items": L.groupby("transaction_id").size().reindex(orig["transaction_id"]).to_numpy(),
            "original_receipt_id": orig["transaction_id"].to_numpy(),
        }
    )
    ret_lines = L.assign(
        transaction_id=new_id.reindex(L["transaction_id"]).to_numpy(),
        quantity=-L["quantity"],
        line_amount=-L["line_amount"],
    )
    catalogue = ds.products
    void_rx = np.flatnonzero(rng.random(n) < sc.zero_qty_share)
    prod = catalogue["product_id"].to_numpy()[rng.integers(0, len(catalogue), len(void_rx))]
    void = pd.DataFrame(
        {
            "transaction_id": tx["transaction_id"].to_numpy()[void_rx],
            "product_id": prod,
            "quantity": 0,
            "unit_price": catalogue.set_index("product_id")["list_price"].reindex(prod).to_numpy(),
            "line_amount": 0.0,
        }
    )
    sales = lines.drop(columns="transaction_item_id")
    unknown = rng.random(len(sales)) < sc.unknown_product_share
    sales = sales.assign(
        product_id=np.where(
            unknown, UNKNOWN_PRODUCTS[rng.integers(0, len(UNKNOWN_PRODUCTS), len(sales))], sales["product_id"]
        )
    )
    all_lines = pd.concat([sales, void, ret_lines.drop(columns="transaction_item_id")], ignore_index=True)
    all_lines = all_lines.sort_values("transaction_id", kind="stable").reset_index(drop=True)
    all_lines.insert(0, "transaction_item_id", np.arange(1, len(all_lines) + 1, dtype=np.int64))

    sales_tx = tx.assign(original_receipt_id=pd.array([pd.NA] * n, dtype="Int64"))
    broken = rng.choice(np.flatnonzero(~ret), size=min(sc.broken_receipts, int((~ret).sum())), replace=False)
    sales_tx.loc[broken, "amount"] = np.round(sales_tx.loc[broken, "amount"] + 1.0, 2)
    sales_tx["n_items"] = sales_tx["n_items"] + np.bincount(void_rx, minlength=n)
    returns["card_id"] = returns["card_id"].astype("Int64")
    returns["original_receipt_id"] = returns["original_receipt_id"].astype("Int64")
    out_tx = pd.concat([sales_tx, returns], ignore_index=True)
    order = np.argsort(out_tx["date"].to_numpy(), kind="stable")
    out_tx = out_tx.iloc[order].reset_index(drop=True)

    tt = ds.truth_tables["transactions"]
    tt_ret = pd.DataFrame(
        {
            "transaction_id": returns["transaction_id"].to_numpy(),
            "cf_gross_amount": returns["gross_amount"].to_numpy(),
            "cf_amount": returns["amount"].to_numpy(),
            "incremental": False,
            "bunched": False,
            "campaign_offer_id": pd.array([pd.NA] * len(returns), dtype="Int64"),
        }
    )
    tt_all = pd.concat([tt, tt_ret], ignore_index=True).iloc[order].reset_index(drop=True)
    truth = copy.deepcopy(ds.truth)
    other = tx["other_discount_amount"] if "other_discount_amount" in tx else pd.Series(0.0, index=tx.index)
    truth["export"] = _export_note(sc, len(out_tx), len(ds.customers))
    truth["till"] = {
        "sales_receipts": int(n),
        "return_receipts": int(len(returns)),
        "returned_lines": int(len(ret_lines)),
        "returned_amount": float(-returns["amount"].sum()),
        "voided_lines": int(len(void)),
        "unknown_product_lines": int(unknown.sum()),
        "coupon_receipts": int((other > 0).sum()),
        "coupon_discounts": float(other.sum()),
        "broken_receipts": sorted(int(i) for i in tx["transaction_id"].to_numpy()[broken]),
        "broken_receipt_lines": int(lines["transaction_id"].isin(tx["transaction_id"].to_numpy()[broken]).sum()),
        "note": "returns happen in both worlds: planted effects are those of the sales receipts",
    }
    return Dataset(
        **{
            **ds.__dict__,
            "transactions": out_tx,
            "transaction_items": all_lines,
            "truth": truth,
            "truth_tables": {"customers": ds.truth_tables["customers"], "transactions": tt_all},
        }
    )


def apply(ds: Dataset, world: World, sc: Scenario, seed: int) -> Dataset:
    """Show a generated world in the scenario's export shape (``sc.shape``), with its truth.

    The shape draws from its own random stream (seeded by ``seed``), so the world itself is
    the one every other scenario with the same settings would generate. The receipts gain a
    ``currency`` column (as a retailer's till export carries one) and the truth ``currency``.
    """
    out = SHAPERS[sc.shape](ds, world, sc, np.random.default_rng([seed, 1]))
    out.truth["currency"] = sc.currency
    return replace(out, transactions=out.transactions.assign(currency=sc.currency))


def _export_note(sc: Scenario, n_receipts: int, n_customers: int) -> dict:
    return {"shape": sc.shape, "currency": sc.currency, "receipts": int(n_receipts), "customers": int(n_customers)}


#: Shape name -> function applying it (``"full"``: the world as generated).
SHAPERS = {"members_only": members_only, "walk_ins": walk_ins, "messy_till": messy_till}
