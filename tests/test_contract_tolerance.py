"""The contract accepts what is normal in real till exports and counts it by documented rules.

Every case is a tiny hand-made export whose outcome is worked out by hand in the comments:
anonymous receipts, returns, zero receipts and zero-quantity lines, two discount kinds, a
catalogue without prices, lines of unknown products, unknown card issue dates, and a
quarantine that sets a receipt aside whole and counts it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loyalty_lib import dataset, io, validation
from loyalty_lib.study import Study

CUSTOMERS = "customer_id,customer_type,first_seen\nc1,b2c,2024-11-03\nc2,b2c,\nc3,b2b,2025-01-02\n"
# K1's issue date is unknown (it is used on the data's first day); K3 is still in stock.
CARDS = "card_id,customer_id,issued_date,issue_channel\nK1,c1,,offline\nK2,c3,2025-01-02,delivery\nK3,,,\n"
TRANSACTIONS = (
    "transaction_id,customer_id,date,gross_amount,discount_amount,other_discount_amount,amount,"
    "channel,store_id,card_id,original_receipt_id\n"
    "T1,c1,2025-01-01 10:00,100.00,5.00,10.00,85.00,offline,S1,K1,\n"  # sale: card 5 + coupon 10
    "T2,,2025-01-01 11:00,40.00,0,0,40.00,offline,S1,,\n"  # anonymous sale
    "T3,,2025-01-02 12:00,0,0,0,0,offline,S1,,\n"  # anonymous zero receipt (voided)
    "T4,c1,2025-01-05 09:00,-20.00,-1.00,0,-19.00,offline,S1,K1,T1\n"  # return of part of T1
    "T5,c3,2025-01-06 09:00,50.00,5.00,,45.00,delivery,S2,K2,\n"  # card sale, no other discount
    "T6,c2,2025-01-07 09:00,-10.00,0,0,-10.00,offline,S1,,T0\n"  # return of a receipt before the data
    "T7,c2,2025-01-08 09:00,30.00,0,30.00,0.00,offline,S1,,\n"  # paid fully by a coupon: still a visit
)
ITEMS = (
    "transaction_item_id,transaction_id,product_id,quantity,unit_price,line_amount\n"
    "L1,T1,P1,2,30.00,60.00\n"
    "L2,T1,P2,1,40.00,40.00\n"
    "L3,T1,P9,0,5.00,0.00\n"  # zero-quantity line of a product missing from the catalogue
    "L4,T2,P1,1,40.00,40.00\n"
    "L5,T4,P2,-0.5,40.00,-20.00\n"  # returned weighed goods
    "L6,T5,P1,1,50.00,50.00\n"
    "L7,T7,P9,1,30.00,30.00\n"  # unknown product again
)
PRODUCTS = "product_id,category\nP1,bakery\nP2,dairy\n"  # no price, no premium flag


def write(folder: Path, **files: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    texts = {
        "customers": CUSTOMERS,
        "cards": CARDS,
        "transactions": TRANSACTIONS,
        "transaction_items": ITEMS,
        "products": PRODUCTS,
        **files,
    }
    for name, text in texts.items():
        if text is not None:
            (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def rules(frame: pd.DataFrame) -> dict[tuple[str, str, str], pd.Series]:
    return {(r.table, r.column, r.rule): r for r in frame.itertuples(index=False)}


@pytest.fixture
def shop(tmp_path):
    return write(tmp_path / "shop")


def test_normal_till_data_pass_the_contract(shop):
    tables, report = io.check_folder(shop)
    assert report.ok, report.message()
    w = rules(report.warnings)
    # two lines (L3, L7) of product P9, which the catalogue lacks: kept and counted
    missing = w[("transaction_items", "product_id", "product in the catalogue (lines of unknown products are kept)")]
    assert missing.n_rows == 2 and missing.row_ids == "L3, L7"
    # T6 returns T0, bought before the data start: kept and counted
    orig = [k for k in w if k[:2] == ("transactions", "original_receipt_id")]
    assert len(orig) == 1 and w[orig[0]].row_ids == "T6"
    assert tables["transaction_items"]["quantity"].tolist() == [2, 1, 0, 1, -0.5, 1, 1]


def test_receipts_visits_returns_and_revenue_by_the_documented_rules(shop):
    with pytest.warns(validation.DataWarning):
        ds = io.load(shop)
    tx = ds.transactions
    kinds = dataset.receipt_kind(tx)
    assert kinds.tolist() == ["sale", "sale", "zero", "return", "sale", "return", "sale"]
    # visits: T1, T2, T5 and T7 (T7 was paid by a coupon, but something was bought)
    assert tx.loc[dataset.visits_mask(tx), "transaction_id"].tolist() == ["T1", "T2", "T5", "T7"]
    # revenue net of discounts and returns: 85 + 40 + 0 - 19 + 45 - 10 + 0 = 141
    assert dataset.net_revenue(tx) == pytest.approx(141.0)
    # the program's discount is its own column: 5 - 1 + 5 = 9; coupons are not its cost: 10 + 30 = 40
    assert tx["discount_amount"].sum() == pytest.approx(9.0)
    assert tx["other_discount_amount"].sum() == pytest.approx(40.0)
    assert dataset.anonymous_mask(tx).sum() == 2 and ds.n_anonymous_receipts == 2


def test_anonymous_receipts_reach_the_study_but_never_as_customers(shop):
    with pytest.warns(validation.DataWarning):
        ds = io.load(shop)
    s = Study.from_data(ds)
    assert s.n_receipts == 7 and s.n_anonymous_receipts == 2
    assert s.n_customers == 3  # c1, c2, c3: the two walk-in receipts are nobody
    assert set(s.customers["customer_id"]) == {"c1", "c2", "c3"}
    # c1 first seen before the data start: a history that began before the data
    assert s.left_censored


def test_unknown_issue_date_is_not_a_problem_but_an_issue_date_without_holder_is(tmp_path):
    cards = CARDS.replace("K3,,,", "K3,,2025-01-03,")
    _, report = io.check_folder(write(tmp_path / "d", cards=cards))
    p = rules(report.problems)
    assert list(p) == [("cards", "issued_date", "issue date only with a holder")]
    assert p[("cards", "issued_date", "issue date only with a holder")].row_ids == "K3"


def test_optional_issue_date_column_and_first_seen_column_may_be_absent(tmp_path):
    cards = "card_id,customer_id\nK1,c1\nK2,c3\nK3,\n"
    customers = "customer_id,customer_type\nc1,b2c\nc2,b2c\nc3,b2b\n"
    _, report = io.check_folder(write(tmp_path / "d", cards=cards, customers=customers))
    assert report.ok, report.message()


@pytest.mark.parametrize(
    "old,new,rule",
    [
        # a sale whose card discount is more than the check: 5 -> 120 (amount kept consistent)
        ("T1,c1,2025-01-01 10:00,100.00,5.00,10.00,85.00", "T1,c1,2025-01-01 10:00,100.00,120.00,0,-20.00", "disc"),
        # a return that "gives back" a positive discount: a discount must lie between -20 and 0
        ("-20.00,-1.00,0,-19.00", "-20.00,1.00,0,-21.00", "disc"),
        # net paid does not match: 100 - 5 - 10 = 85, not 95
        ("100.00,5.00,10.00,85.00", "100.00,5.00,10.00,95.00", "net"),
        # an anonymous receipt that shows c3's card: the card's holder must be named
        (
            "T2,,2025-01-01 11:00,40.00,0,0,40.00,offline,S1,,",
            "T2,,2025-01-01 11:00,40.00,0,0,40.00,offline,S1,K2,",
            "card",
        ),
    ],
)
def test_strict_about_what_is_wrong(tmp_path, old, new, rule):
    assert old in TRANSACTIONS
    _, report = io.check_folder(write(tmp_path / "d", transactions=TRANSACTIONS.replace(old, new)))
    expected = {
        "disc": ("transactions", "discount_amount", "discount between 0 and gross_amount"),
        "net": ("transactions", "amount", "amount = gross_amount - discount_amount - other_discount_amount"),
        "card": ("transactions", "card_id", "card belongs to the transaction's customer"),
    }[rule]
    p = rules(report.problems)
    assert expected in p, report.message()
    assert p[expected].n_rows == 1


def test_a_set_aside_line_takes_its_whole_receipt_and_is_counted(shop, tmp_path):
    # L2's quantity does not parse: L2 breaks a rule, so T1 and all of its lines (L1, L2, L3) go
    items = ITEMS.replace("L2,T1,P2,1,", "L2,T1,P2,one,")
    folder = write(tmp_path / "d", transaction_items=items)
    with pytest.warns(validation.DataWarning):
        ds = io.load(folder, on_error="quarantine", quarantine_dir=tmp_path / "q")
    assert "T1" not in set(ds.transactions["transaction_id"])
    assert set(ds.transaction_items["transaction_id"]) == {"T2", "T4", "T5", "T7"}
    c = ds.set_aside.set_index("table")
    assert c.loc["transactions", "rows_set_aside"] == 1 and c.loc["transaction_items", "rows_set_aside"] == 3
    # shares by hand: 1 of 7 receipts; revenue by absolute amount 85 of 85+40+0+19+45+10+0 = 199
    assert c.loc["transactions", "share_of_rows"] == pytest.approx(1 / 7)
    assert c.loc["transactions", "share_of_revenue"] == pytest.approx(85 / 199)
    assert c.loc["transaction_items", "share_of_rows"] == pytest.approx(3 / 7)
    assert validation.set_aside_message(ds.set_aside) == (
        "set aside: 1 receipt (14.29 % of receipts, 42.71 % of revenue), 3 rows of transaction_items (42.86 %)"
    )
    q = pd.read_csv(tmp_path / "q" / "transaction_items.csv", dtype=str).set_index("transaction_item_id")
    assert q.loc["L2", "_problems"] == "quantity: float value (one)"
    assert q.loc["L1", "_problems"] == f"transaction_id: {validation.WHOLE_RECEIPT}"
    assert validation.count_set_aside(tmp_path / "q", ds.quarantined) == 4
    # the copy a report writes for its notebooks still says what was set aside
    io.save(ds, tmp_path / "copy")
    with pytest.warns(validation.DataWarning, match="original receipt in the data"):  # T4 returns T1
        back = io.load(tmp_path / "copy")
    assert back.set_aside["rows_set_aside"].tolist() == [1, 3]
    assert back.quarantined is not None and len(back.quarantined) == len(ds.quarantined)
    # the copy passes the contract, but the scorecard's count of broken rules is not 0: the
    # quantity rule set L2 aside (the lines that went with it are not a rule of their own)
    report = validation.validate(back.tables)
    assert report.ok and validation.rules_broken(report, back.quarantined) == 1


def test_rows_without_a_key_are_each_counted(tmp_path):
    # two receipts without an id (and without a date): set aside, and counted as two rows,
    # where counting distinct ids in the quarantine file would have found none
    tx = TRANSACTIONS + ",c1,,5.00,0,0,5.00,offline,S1,,\n,c2,,6.00,0,0,6.00,offline,S1,,\n"
    folder = write(tmp_path / "d", transactions=tx)
    with pytest.warns(validation.DataWarning):
        ds = io.load(folder, on_error="quarantine", quarantine_dir=tmp_path / "q")
    assert len(ds.transactions) == 7
    assert validation.count_set_aside(tmp_path / "q", ds.quarantined) == 2
    (tmp_path / "q" / validation.SET_ASIDE_FILE).unlink()  # an older quarantine: count the file's rows
    assert validation.count_set_aside(tmp_path / "q", ds.quarantined) == 2
    p = rules(ds.quarantined)
    assert p[("transactions", "transaction_id", "not empty")].row_ids == "line 9, line 10"


def test_set_aside_counts_by_hand():
    tx = pd.DataFrame({"transaction_id": ["a", "b", None, "d"], "amount": [10.0, -5.0, 20.0, 25.0]})
    items = pd.DataFrame({"transaction_item_id": ["1", "2"], "transaction_id": ["a", "a"]})
    clean = {"transactions": tx.iloc[[0, 3]], "transaction_items": items}
    counts = validation.set_aside_counts({"transactions": tx, "transaction_items": items}, clean)
    # rows b and (keyless) 2 go: 2 of 4 receipts; amount -5 + 20 = 15; by size 5 + 20 = 25 of
    # 10 + 5 + 20 + 25 = 60; no line goes
    assert counts["table"].tolist() == ["transactions"]
    r = counts.iloc[0]
    assert (r.rows_set_aside, r.rows_total) == (2, 4)
    assert r.amount_set_aside == pytest.approx(15.0) and r.share_of_revenue == pytest.approx(25 / 60)
    assert validation.set_aside_message(counts.iloc[:0]) == ""


def test_money_plausibility_counts_returns_by_size():
    amounts = np.r_[np.full(30, 100.0), -500_000.0]
    tx = pd.DataFrame({"transaction_id": [str(i) for i in range(31)], "amount": amounts})
    c = validation._Collector({"transactions": tx})
    validation._plausibility(c, "transactions", tx, pd.Timestamp("2026-01-01"))
    # |-500,000| > 1,000 x the median 100: the return of an absurd amount is flagged, the rest not
    assert [w["row_ids"] for w in c.warned] == ["30"]


def test_validate_command_says_what_it_set_aside(tmp_path, capsys):
    from loyalty_lib.cli import main as cli_main

    items = ITEMS.replace("L2,T1,P2,1,", "L2,T1,P2,one,")
    folder = write(tmp_path / "d", transaction_items=items)
    assert cli_main(["validate", str(folder), "--quarantine", str(tmp_path / "q")]) == 1
    err = capsys.readouterr().err
    # L2 and, with it, receipt T1 and its other lines L1 and L3: 1 + 3 rows
    assert "quarantined 4 row(s) into" in err
    assert (
        "set aside: 1 receipt (14.29 % of receipts, 42.71 % of revenue), 3 rows of transaction_items (42.86 %)" in err
    )
    assert "rule 'receipt set aside whole (one of its rows broke a rule)'" not in err  # not a rule the user broke


def test_campaigns_by_direct_mail_and_age_bands_are_contract_values(tmp_path):
    customers = "customer_id,customer_type,age_band\nc1,b2c,35-44\nc2,b2c,\nc3,b2b,\n"
    offers = (
        "offer_id,customer_id,date,channel,offer_type,group,responded\n"
        "O1,c1,2025-01-02,direct_mail,personal_discount,treatment,true\n"
        "O2,c2,2025-01-02,fax,personal_discount,treatment,false\n"
    )
    _, report = io.check_folder(write(tmp_path / "d", customers=customers, offers=offers))
    p = rules(report.problems)
    # a printed mailing is a channel; a fax is not
    assert list(p) == [("offers", "channel", "one of email, push, sms, social, direct_mail")]
    assert p[("offers", "channel", "one of email, push, sms, social, direct_mail")].row_ids == "O2"
