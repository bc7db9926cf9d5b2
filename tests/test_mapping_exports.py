"""Mapping features for real exports: constants, recoding, monthly files, workbooks, encodings.

Each test writes a tiny export in a shop's own shape and checks what the loader makes of it
(worked out by hand), and that the export files are left byte-identical.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from loyalty_lib import io
from loyalty_lib.io import ReadError
from loyalty_lib.mapping import MappingError
from loyalty_lib.study import Study

CLIENTS = "Клиент;Тип;Почта\n0001;частный;Y\n0002;частный;N\n0003;фирма;-\n"
RECEIPTS_JAN = (
    "Чек;Клиент;Дата;Сумма;Скидка карты;Купон;Акция;Оплачено;Карта\n"
    "101;0001;05.01.2025;100,00;5,00;10,00;0,00;85,00;K1\n"
    "102;;06.01.2025;40,00;0,00;;;40,00;-\n"
)
RECEIPTS_FEB = (
    "Чек;Клиент;Дата;Сумма;Скидка карты;Купон;Акция;Оплачено;Карта\n"
    "201;0002;03.02.2025;60,00;0,00;5,00;5,00;50,00;-\n"
    "202;0003;04.02.2025;30,00;0,00;0,00;0,00;30,00;-\n"
)
CARDS = "card_id,customer_id\nK1,0001\n"

MAPPING = {
    "currency": "rub",
    "csv": {"sep": ";", "decimal": ",", "encoding": "cp1251"},
    "tables": {
        "customers": {
            "file": "clients.csv",
            "columns": {"Клиент": "customer_id", "Тип": "customer_type", "Почта": "opt_in_email"},
            "values": {
                "customer_type": {"частный": "b2c", "фирма": "b2b"},
                "opt_in_email": {"Y": True, "N": False, "-": None},
            },
        },
        "cards": {"file": "cards.csv", "csv": {"sep": ",", "encoding": "utf-8"}},
        "transactions": {
            "file": "receipts_2025-*.csv",
            "columns": {
                "Чек": "transaction_id",
                "Клиент": "customer_id",
                "Дата": "date",
                "Сумма": "gross_amount",
                "Скидка карты": "discount_amount",
                "Оплачено": "amount",
                "Карта": "card_id",
            },
            "sums": {"other_discount_amount": ["Купон", "Акция"]},
            "date_formats": {"date": "%d.%m.%Y"},
            "values": {"card_id": {"-": None}},
            "constants": {"channel": "offline", "store_id": "S1"},
        },
    },
}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def export(folder: Path, *, feb: str = RECEIPTS_FEB, clients_encoding: str = "cp1251") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clients.csv").write_bytes(CLIENTS.encode(clients_encoding))
    (folder / "receipts_2025-01.csv").write_bytes(RECEIPTS_JAN.encode("cp1251"))
    (folder / "receipts_2025-02.csv").write_bytes(feb.encode("cp1251"))
    (folder / "cards.csv").write_text(CARDS)
    return folder


def test_cp1251_monthly_files_constants_recoding_sums_and_currency(tmp_path):
    folder = export(tmp_path / "shop")
    before = snapshot(folder)
    ds = io.load(folder, mapping=MAPPING)
    tx = ds.transactions
    # two monthly files, stacked in name order; ids keep their leading zeros
    assert tx["transaction_id"].tolist() == ["101", "102", "201", "202"]
    assert tx["customer_id"].isna().tolist() == [False, True, False, False]
    assert tx["customer_id"].iloc[0] == "0001"
    # constants on every row; "-" recoded to no card
    assert set(tx["channel"]) == {"offline"} and set(tx["store_id"]) == {"S1"}
    assert tx["card_id"].notna().tolist() == [True, False, False, False]
    # coupon + promotion columns add up into the other discounts: 10 + 0, (empty), 5 + 5, 0 + 0
    other = tx["other_discount_amount"].tolist()
    assert other[0] == pytest.approx(10.0) and pd.isna(other[1]) and other[2:] == pytest.approx([10.0, 0.0])
    assert "Купон" not in tx and "Акция" not in tx
    # Y/N/- recoded to true/false/empty
    assert ds.customers["opt_in_email"].tolist()[:2] == [True, False] and pd.isna(ds.customers["opt_in_email"].iloc[2])
    assert ds.customers["customer_type"].tolist() == ["b2c", "b2c", "b2b"]
    # the currency of the mapping reaches the data set and the Study
    assert ds.currency == "RUB" and Study.from_data(ds).currency == "RUB"
    assert snapshot(folder) == before


def test_a_keyless_bad_row_is_named_by_its_file_and_line(tmp_path):
    feb = RECEIPTS_FEB + ";0002;31.02.2025;10,00;0,00;0,00;0,00;10,00;-\n"
    _, report = io.check_folder(export(tmp_path / "shop", feb=feb), mapping=MAPPING)
    p = report.problems.set_index(["column", "rule"])
    assert p.loc[("transaction_id", "not empty"), "row_ids"] == "receipts_2025-02.csv line 4"
    assert p.loc[("date", "dates parse"), "first_values"] == "'31.02.2025'"


def test_monthly_files_with_different_headers_are_named(tmp_path):
    feb = RECEIPTS_FEB.replace("Акция", "Промо")
    with pytest.raises(
        ReadError, match=r"file receipts_2025-02\.csv does not have the columns of receipts_2025-01\.csv"
    ):
        io.check_folder(export(tmp_path / "shop", feb=feb), mapping=MAPPING)


def test_files_listed_and_a_pattern_that_matches_nothing(tmp_path):
    folder = export(tmp_path / "shop")
    listed = {**MAPPING, "tables": {**MAPPING["tables"]}}
    listed["tables"]["transactions"] = {
        **MAPPING["tables"]["transactions"],
        "file": ["receipts_2025-02.csv", "receipts_2025-01.csv"],
    }
    ds = io.load(folder, mapping=listed)
    assert ds.transactions["transaction_id"].tolist() == ["201", "202", "101", "102"]  # the order listed
    listed["tables"]["transactions"]["file"] = "receipts_2024-*.csv"
    with pytest.raises(FileNotFoundError, match=r"no file in .* matches receipts_2024-\*\.csv"):
        io.load(folder, mapping=listed)
    listed["tables"]["transactions"]["file"] = "../*.csv"
    with pytest.raises(MappingError, match="not inside the data folder"):
        io.load(folder, mapping=listed)


def test_a_utf8_bom_wins_over_a_declared_cp1251(tmp_path):
    folder = export(tmp_path / "shop", clients_encoding="utf-8-sig")
    ds = io.load(folder, mapping=MAPPING)
    assert ds.customers["customer_id"].tolist() == ["0001", "0002", "0003"]


def test_xlsx_workbook_is_read_with_its_types(tmp_path):
    folder = export(tmp_path / "shop")
    clients = pd.DataFrame(
        {
            "Клиент": ["0001", "0002", "0003"],  # text cells: leading zeros stay
            "Тип": ["частный", "частный", "фирма"],
            "Почта": ["Y", "N", None],
            "С": pd.to_datetime(["2024-05-01", "2024-12-31", None]),  # date cells
            "Возраст": [34, 51.0, None],  # number cells
        }
    )
    with pd.ExcelWriter(folder / "clients.xlsx", engine="openpyxl") as xl:
        pd.DataFrame({"note": ["a cover sheet"]}).to_excel(xl, sheet_name="About", index=False)
        clients.to_excel(xl, sheet_name="Clients", index=False)
    (folder / "clients.csv").unlink()
    before = snapshot(folder)
    spec = {**MAPPING, "tables": {**MAPPING["tables"]}}
    cust = dict(MAPPING["tables"]["customers"], file="clients.xlsx", sheet="Clients")
    cust["columns"] = {**cust["columns"], "С": "first_seen", "Возраст": "age"}
    spec["tables"]["customers"] = cust
    ds = io.load(folder, mapping=spec)
    c = ds.customers
    assert c["customer_id"].tolist() == ["0001", "0002", "0003"]
    assert c["first_seen"].iloc[0] == pd.Timestamp("2024-05-01") and pd.isna(c["first_seen"].iloc[2])
    assert c["age"].iloc[:2].tolist() == [34, 51]
    assert c["opt_in_email"].iloc[:2].tolist() == [True, False]
    assert snapshot(folder) == before
    spec["tables"]["customers"] = dict(cust, sheet="Kunden")
    with pytest.raises(ReadError, match=r"has no sheet 'Kunden'; its sheets are 'About', 'Clients'"):
        io.load(folder, mapping=spec)
    (folder / "broken.xlsx").write_text("not a workbook")
    spec["tables"]["customers"] = dict(cust, file="broken.xlsx")
    with pytest.raises(ReadError, match=r"broken\.xlsx\) is not a readable \.xlsx workbook"):
        io.load(folder, mapping=spec)


def test_receipt_lines_without_a_key_get_receipt_and_line_number(tmp_path):
    folder = export(tmp_path / "shop")
    (folder / "lines.csv").write_text("receipt,product,qty,line\n101,P1,1,60\n101,P2,0,0\n202,P1,3,30\n101,P3,1,40\n")
    spec = {**MAPPING, "tables": {**MAPPING["tables"]}}
    spec["tables"]["transaction_items"] = {
        "file": "lines.csv",
        "csv": {"sep": ",", "encoding": "utf-8", "decimal": "."},
        "columns": {"receipt": "transaction_id", "product": "product_id", "qty": "quantity", "line": "line_amount"},
        "generate_key": True,
    }
    ds = io.load(folder, mapping=spec)
    items = ds.transaction_items
    # receipt 101's lines are its 1st, 2nd and 3rd in file order, wherever they are
    assert items["transaction_item_id"].tolist() == ["101-1", "101-2", "202-1", "101-3"]


@pytest.mark.parametrize(
    "change,match",
    [
        (
            {"tables": {"transactions": {"constants": {"amount": 1.0}}}},
            "amount is both a column of the export and a constant",
        ),
        ({"tables": {"transactions": {"constants": {"colour": "red"}}}}, "constant colour is not a contract column"),
        ({"tables": {"transactions": {"constants": {"n_items": "lots"}}}}, "'lots' is not a value of kind int"),
        ({"tables": {"customers": {"values": {"opt_in_email": {True: True}}}}}, "YAML read from yes/no"),
        ({"tables": {"cards": {"generate_key": True}}}, "'generate_key' is for receipt lines"),
        ({"tables": {"transactions": {"sums": {"other_discount_amount": ["Coupon"]}}}}, "the export lacks Coupon"),
        ({"currency": ""}, "'currency' must be a currency code"),
        ({"curency": "USD"}, "unknown top-level key"),
        ({"tables": {"transactions": {"file": 3}}}, "'file' must be a file name"),
    ],
)
def test_mapping_mistakes_are_named(tmp_path, change, match):
    folder = export(tmp_path / "shop")
    spec = {**MAPPING, "tables": {k: dict(v) for k, v in MAPPING["tables"].items()}}
    for key, value in change.items():
        if key == "tables":
            for t, tspec in value.items():
                spec["tables"][t] = {**spec["tables"][t], **tspec}
        else:
            spec[key] = value
    with pytest.raises(MappingError, match=match):
        io.load(folder, mapping=spec)


def test_a_till_that_knows_only_card_numbers(tmp_path):
    folder = tmp_path / "till"
    folder.mkdir()
    (folder / "customers.csv").write_text("customer_id,customer_type\nc1,b2c\nc2,b2c\n")
    (folder / "cards.csv").write_text("card_id,customer_id\n0001,c1\n0002,c2\n0003,\n")
    (folder / "receipts.csv").write_text(
        "receipt,when,total,paid,card\n"
        "1,2025-03-01,10,10,0001\n"  # c1's card -> c1
        "2,2025-03-01,20,20,\n"  # no card: a walk-in, stays anonymous
        "3,2025-03-02,30,30,0003\n"  # a card in stock: nobody to name, stays anonymous
        "4,2025-03-02,40,40,0002\n"  # c2's card -> c2
    )
    receipts = {
        "file": "receipts.csv",
        "columns": {"receipt": "transaction_id", "when": "date", "total": "gross_amount", "paid": "amount"},
        "constants": {"discount_amount": 0.0, "channel": "offline", "store_id": "S1"},
        "customer_from_card": True,
    }
    receipts["columns"]["card"] = "card_id"
    tables, report = io.check_folder(folder, mapping={"tables": {"transactions": receipts}})
    assert report.ok, report.message()
    tx = tables["transactions"]
    assert tx["customer_id"].iloc[0] == "c1" and tx["customer_id"].iloc[3] == "c2"
    assert tx["customer_id"].isna().tolist() == [False, True, True, False]
    w = report.warnings.set_index("rule")
    assert w.loc["customer from the card's holder (mapping: customer_from_card)", "row_ids"] == "1, 4"
    with pytest.raises(MappingError, match="'customer_from_card' .* is for receipts"):
        io.check_folder(folder, mapping={"tables": {"cards": {"customer_from_card": True}}})


def test_a_workbook_named_after_its_table_needs_no_mapping(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    pd.DataFrame({"customer_id": ["0001", "0002"], "customer_type": ["b2c", "b2b"]}).to_excel(
        folder / "customers.xlsx", index=False
    )
    (folder / "cards.csv").write_text("card_id,customer_id\nK1,0001\n")
    (folder / "transactions.csv").write_text(
        "transaction_id,customer_id,date,gross_amount,discount_amount,amount,channel,store_id,card_id\n"
        "1,0001,2025-03-01,10,0,10,offline,S1,K1\n"
    )
    tables, report = io.check_folder(folder)
    assert report.ok, report.message()
    assert tables["customers"]["customer_id"].tolist() == ["0001", "0002"]
    (folder / "customers.csv").write_text("customer_id,customer_type\n0001,b2c\n")
    with pytest.raises(ReadError, match=r"twice: customers\.csv and customers\.xlsx"):
        io.check_folder(folder)
