"""Tests of loyalty_lib.metrics.trends on a hand-worked table, and on a generated branch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loyalty_lib.metrics.trends import TREND_COLUMNS, monthly_trends


@pytest.fixture
def tables():
    """Four customers over January-March 2025 (no receipt in February), two cards handed out.

    Customer 1: card issued 2024-12-20 (before the data), buys 15 Jan (200) and 5 Mar (400).
    Customer 2: card issued 2025-01-20 at a purchase of 100 (same time: a member's receipt),
    buys again 10 Mar (300). Customer 3: never a member, buys 20 Jan (60) and 31 Mar (40).
    Customer 4: card issued 2025-03-31 after her only purchase on 2 Mar (80): not a member's.
    A card in stock has no holder and no date.
    """
    tx = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 1, 4, 2, 3],
            "date": pd.to_datetime(
                [
                    "2025-01-15 10:00",
                    "2025-01-20 12:00",
                    "2025-01-20 13:00",
                    "2025-03-05 09:00",
                    "2025-03-02 09:00",
                    "2025-03-10 18:00",
                    "2025-03-31 17:00",
                ]
            ),
            "amount": [200.0, 100.0, 60.0, 400.0, 80.0, 300.0, 40.0],
        }
    )
    cards = pd.DataFrame(
        {
            "card_id": [1, 2, 3, 4, 5],
            "customer_id": [1, 2, 2, 4, None],  # customer 2 holds two cards: the first one counts
            "issued_date": pd.to_datetime(
                ["2024-12-20 00:00", "2025-01-20 12:00", "2025-03-01 00:00", "2025-03-31 00:00", None]
            ),
        }
    )
    return tx, cards


def test_monthly_trends_by_hand(tables):
    tx, cards = tables
    t = monthly_trends(tx, cards)
    assert list(t.columns) == TREND_COLUMNS
    assert t["month"].tolist() == list(pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]))
    # data run from 15 Jan to 31 Mar: 17 days of January, all 28 of February, all 31 of March
    assert t["days_covered"].tolist() == [17, 28, 31]
    assert t["receipts"].tolist() == [3, 0, 4]
    assert t["revenue"].tolist() == [360.0, 0.0, 820.0]
    # members at each month's end: 1 and 2 by January (1 before the data), 4 joins in March
    assert t["members"].tolist() == [2, 2, 3]
    # January: 1 (200) and 2 (100, the purchase at which the card was handed out) -> 300 from 2
    # February: nothing. March: 1 (400) and 2 (300) -> 700 from 2; 4's receipt precedes her card
    assert t["active_members"].tolist() == [2, 0, 2]
    assert t["member_revenue"].tolist() == [300.0, 0.0, 700.0]
    np.testing.assert_allclose(t["revenue_per_active_member"], [150.0, np.nan, 350.0])
    np.testing.assert_allclose(t["average_check"], [120.0, np.nan, 205.0])  # 360 / 3, 820 / 4
    np.testing.assert_allclose(t["member_share_of_revenue"], [300 / 360, np.nan, 700 / 820])


def test_monthly_trends_leaves_its_input_alone(tables):
    tx, cards = tables
    before = tx.copy(), cards.copy()
    monthly_trends(tx, cards)
    pd.testing.assert_frame_equal(tx, before[0])
    pd.testing.assert_frame_equal(cards, before[1])


def test_monthly_trends_names_a_missing_column(tables):
    tx, cards = tables
    with pytest.raises(ValueError, match="transactions.*amount"):
        monthly_trends(tx.drop(columns="amount"), cards)
    with pytest.raises(ValueError, match="cards.*issued_date"):
        monthly_trends(tx, cards.drop(columns="issued_date"))


def test_monthly_trends_of_no_receipts_is_an_empty_table(tables):
    tx, cards = tables
    assert list(monthly_trends(tx.iloc[:0], cards).columns) == TREND_COLUMNS


def test_monthly_trends_on_a_generated_branch_add_up():
    from loyalty_lib import synth

    ds = synth.generate(n_customers=1500, seed=5)
    t = monthly_trends(ds.transactions, ds.cards)
    assert t["receipts"].sum() == len(ds.transactions)
    assert t["revenue"].sum() == pytest.approx(ds.transactions["amount"].sum(), rel=1e-9)
    assert t["members"].is_monotonic_increasing
    assert t["members"].iloc[-1] == ds.cards["customer_id"].nunique()
    share = t["member_share_of_revenue"].dropna()
    assert ((share >= 0) & (share <= 1)).all()
    assert (t["active_members"] <= t["members"]).all()
    # before the launch nobody is a member; after it, members bring revenue
    launch = pd.Timestamp(ds.cards["issued_date"].min()).to_period("M").to_timestamp()
    assert (t.loc[t["month"] < launch, "member_revenue"] == 0).all()
    assert (t.loc[t["month"] > launch, "member_revenue"] > 0).all()
