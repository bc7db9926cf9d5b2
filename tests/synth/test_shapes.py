"""Realistic-export scenarios: each shows the world the way a retailer's export does, with its truth."""

import numpy as np
import pandas as pd
import pytest

from loyalty_lib import synth
from loyalty_lib.synth.shapes import AGE_BANDS, UNKNOWN_PRODUCTS


@pytest.fixture(scope="module")
def members():
    return synth.generate("members_only", n_customers=3000, seed=5)


@pytest.fixture(scope="module")
def walk():
    return synth.generate("walk_ins", n_customers=6000, seed=5)


@pytest.fixture(scope="module")
def till():
    return synth.generate("messy_till", n_customers=1500, seed=5)


@pytest.mark.parametrize("scenario", ["members_only", "walk_ins", "messy_till"])
def test_same_seed_same_export(scenario):
    a = synth.generate(scenario, n_customers=300, seed=2)
    b = synth.generate(scenario, n_customers=300, seed=2)
    assert a.tables.keys() == b.tables.keys()
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert a.truth["export"] == b.truth["export"]


def test_shape_is_a_checked_setting():
    with pytest.raises(ValueError, match="shape must be one of"):
        synth.generate(n_customers=100, shape="tidy")


def test_members_only_is_one_year_of_card_holders(members):
    ds, t = members, members.truth
    tx = ds.transactions
    start, end = pd.Timestamp(t["period"]["start"]), pd.Timestamp(t["period"]["end"])
    assert (end - start).days == 365 and t["period"]["program_older_than_data"]
    assert pd.Timestamp(t["period"]["launch"]) < start  # the program is older than the data
    assert tx["date"].min() >= start and tx["date"].max() < end
    assert tx["card_id"].notna().all() and tx["customer_id"].notna().all()
    # every customer holds a card; no issue date and no first-seen date are known
    assert set(ds.customers["customer_id"]) == set(ds.cards["customer_id"]) == set(tx["customer_id"])
    assert ds.cards["issued_date"].isna().all() and ds.customers["first_seen"].isna().all()
    # ... and each of them was already a member before the export starts (left-censored)
    tc = ds.truth_tables["customers"]
    assert (tc["issued_date"] < start).all()
    assert ds.surveys is None and ds.points_ledger is None and ds.program_costs is None
    assert ds.products is not None and ds.transaction_items["transaction_id"].isin(tx["transaction_id"]).all()
    assert "seller_id" not in tx and "discount_rate" not in tx
    assert t["currency"] == t["export"]["currency"] == "USD"


def test_members_only_demographics_partial_and_in_bands(members):
    c = members.customers
    assert c["age"].isna().all()
    filled = c["age_band"].notna().mean()
    assert 0.2 < filled < 0.5
    assert set(c["age_band"].dropna()) <= {label for _, label in AGE_BANDS}
    assert c["income_band"].notna().mean() < 0.5


def test_members_only_campaigns_target_heavy_buyers(members):
    offers = members.offers
    assert (offers["group"] == "treatment").all()  # no holdout
    tc = members.truth_tables["customers"].set_index("customer_id")
    contacted = tc.index.isin(offers["customer_id"])
    rate = tc["base_rate_per_year"]
    assert rate[contacted].median() > 1.3 * rate[~contacted].median()


def test_members_only_return_curve_is_flat_and_high_and_planted(members):
    """The realised share returning within the horizon after visit k matches the planted chance."""
    t = members.truth["return_curve"]
    H = t["horizon_days"]
    planted = {int(k): v for k, v in t["p_return_from_data_start"].items()}
    assert t["p_return_within_horizon"] == {}  # nobody is seen from a first-ever visit
    assert min(planted.values()) > 0.9
    tx = members.transactions.sort_values(["customer_id", "date"], kind="stable")
    end = pd.Timestamp(members.truth["period"]["end"])
    nxt = tx.groupby("customer_id")["date"].shift(-1)
    k = tx.groupby("customer_id").cumcount() + 1
    ok = tx["date"] <= end - pd.Timedelta(days=H)
    back = ((nxt - tx["date"]).dt.total_seconds() / 86400 <= H)[ok]
    share = back.groupby(k[ok]).mean()
    for kk in (1, 2, 3):
        n = int((k[ok] == kk).sum())
        se = np.sqrt(planted[kk] * (1 - planted[kk]) / n)
        assert abs(share[kk] - planted[kk]) < 4 * se + 0.01, (kk, share[kk], planted[kk])


def test_members_only_bunching_counted_on_exported_receipts(members):
    moved = members.truth["bunching"]["moved_checks"]
    tt = members.truth_tables["transactions"]
    assert sum(moved.values()) == int(tt["bunched"].sum()) > 0
    assert set(moved) == {"30", "75", "200"}


def test_walk_ins_anonymous_and_named_receipts(walk):
    tx = walk.transactions
    anon = tx["customer_id"].isna()
    assert anon.mean() > 0.5 and walk.truth["export"]["anonymous_receipts"] == int(anon.sum())
    named = tx[~anon]
    b2b = named["customer_id"].map(walk.customers.set_index("customer_id")["customer_type"]) == "b2b"
    assert (b2b | (named["channel"] == "delivery") | named["card_id"].notna()).all()
    assert not (anon & tx["card_id"].notna()).any()
    assert walk.transaction_items is None and walk.products is None


def test_walk_ins_one_branch_runs_the_program(walk):
    tx = walk.transactions
    assert sorted(tx["store_id"].astype(str).unique()) == ["S1", "S2", "S3", "S4"]
    assert set(tx.loc[tx["card_id"].notna(), "store_id"].astype(str)) == {"S1"}
    assert set(walk.cards["store_id"].dropna().astype(str)) == {"S1"}
    b = walk.truth["branch"]
    assert b["launch_stores"] == ["S1"] and b["control_stores"] == ["S2", "S3", "S4"]
    assert walk.truth["impact"]["branch_control_revenue_per_store_month"] == 0.0
    assert walk.truth["impact"]["branch_revenue_per_store_month"] > 0


def test_walk_ins_planted_store_month_effect_is_the_sum_of_receipt_effects(walk):
    tx, tt = walk.transactions, walk.truth_tables["transactions"]
    post = tx["date"] >= pd.Timestamp(walk.truth["period"]["launch"])
    at = (tx["store_id"] == "S1") & post
    delta = (tx["amount"] - tt["cf_amount"])[at]
    assert np.isclose(delta.sum() / 12, walk.truth["impact"]["branch_revenue_per_store_month"])
    by_month = delta.groupby(tx.loc[at, "date"].dt.to_period("M").astype(str)).sum()
    np.testing.assert_allclose(by_month.to_numpy(), list(walk.truth["branch"]["revenue_by_month"].values()))


def test_walk_ins_store_month_did_recovers_the_planted_effect(walk):
    """A two-way (store, month) difference in differences on store-month revenue lands on the truth."""
    tx = walk.transactions
    sm = tx.groupby([tx["store_id"].astype(str), tx["date"].dt.to_period("M")])["amount"].sum().unstack(0)
    gap = sm["S1"] - sm[["S2", "S3", "S4"]].mean(axis=1)
    post = sm.index >= pd.Period(walk.truth["period"]["launch"], "M")
    est = gap[post].mean() - gap[~post].mean()
    se = np.sqrt(gap[post].var() / post.sum() + gap[~post].var() / (~post).sum())
    truth = walk.truth["impact"]["branch_revenue_per_store_month"]
    assert abs(est - truth) < 3 * se, (est, truth, se)
    assert est - 2 * se > 0  # the effect is visible at this size


def test_messy_till_returns_point_to_earlier_sales(till):
    tx = till.transactions
    ret = tx[tx["original_receipt_id"].notna()]
    t = till.truth["till"]
    assert len(ret) == t["return_receipts"] > 0
    assert (ret["amount"] < 0).all() and (ret["gross_amount"] < 0).all() and (ret["discount_amount"] <= 0).all()
    orig = tx.set_index("transaction_id").loc[ret["original_receipt_id"].astype("int64")]
    assert (orig["date"].to_numpy() < ret["date"].to_numpy()).all()
    assert (orig["customer_id"].to_numpy() == ret["customer_id"].to_numpy()).all()
    assert np.isclose(-ret["amount"].sum(), t["returned_amount"])


def test_messy_till_lines_add_up_on_sales_and_returns(till):
    tx, lines = till.transactions, till.transaction_items
    sums = lines.groupby("transaction_id")["line_amount"].sum().reindex(tx["transaction_id"]).to_numpy()
    np.testing.assert_allclose(sums, tx["gross_amount"].to_numpy(), atol=0.011)
    counts = lines.groupby("transaction_id").size().reindex(tx["transaction_id"]).to_numpy()
    assert (counts == tx["n_items"].to_numpy()).all()
    t = till.truth["till"]
    assert int((lines["quantity"] == 0).sum()) == t["voided_lines"] > 0
    assert int((lines["quantity"] < 0).sum()) == t["returned_lines"]
    unknown = ~lines["product_id"].isin(till.products["product_id"])
    assert int(unknown.sum()) == t["unknown_product_lines"] > 0
    assert lines.loc[unknown, "product_id"].isin(UNKNOWN_PRODUCTS).all()


def test_messy_till_two_discounts_and_only_the_card_one_is_a_program_cost(till):
    tx = till.transactions
    ok = ~tx["transaction_id"].isin(till.truth["till"]["broken_receipts"])
    paid = tx["gross_amount"] - tx["discount_amount"] - tx["other_discount_amount"]
    assert np.allclose(tx.loc[ok, "amount"], paid[ok])
    coupon = tx["other_discount_amount"] > 0
    assert coupon.sum() == till.truth["till"]["coupon_receipts"] > 0
    assert tx.loc[coupon, "card_id"].isna().any() and tx.loc[coupon, "card_id"].notna().any()
    booked = till.program_costs.loc[till.program_costs["category"] == "discounts", "amount"].sum()
    sales = tx["original_receipt_id"].isna()
    assert np.isclose(booked, tx.loc[sales, "discount_amount"].sum(), rtol=1e-6)


def test_messy_till_planted_effects_use_sales_receipts_only(till):
    """Returns exist in both worlds: their truth rows equal their amounts and add nothing."""
    tx, tt = till.transactions, till.truth_tables["transactions"]
    assert (tx["transaction_id"].to_numpy() == tt["transaction_id"].to_numpy()).all()
    ret = tx["original_receipt_id"].notna().to_numpy()
    assert np.allclose(tx["amount"].to_numpy()[ret], tt["cf_amount"].to_numpy()[ret])
    assert till.truth["currency"] == "KZT"


def test_messy_till_broken_receipts_break_only_the_amount_rule(till):
    tx = till.transactions
    broken = till.truth["till"]["broken_receipts"]
    assert len(broken) == 4
    gap = tx["amount"] - (tx["gross_amount"] - tx["discount_amount"] - tx["other_discount_amount"])
    off = set(tx.loc[gap.abs() > 0.005, "transaction_id"])
    assert off == set(broken) and np.allclose(gap[tx["transaction_id"].isin(broken)], 1.0)
    assert not tx["original_receipt_id"].isin(broken).any()  # none of them is returned later
    lines = till.transaction_items["transaction_id"].isin(broken).sum()
    assert lines == till.truth["till"]["broken_receipt_lines"] >= 4
