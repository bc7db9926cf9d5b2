"""Reading a user's files never guesses silently (issue 10, the reading side).

Every test checks that the user's files are byte-identical after loading, failed or not.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loyalty_lib import io, synth, validation
from loyalty_lib.cli import main as cli_main
from loyalty_lib.io import ReadError, as_ids, parse_dates, parse_numbers, read_table
from loyalty_lib.mapping import MappingError

CUSTOMERS = "customer_id,customer_type,first_seen\n0001,b2c,2025-01-05\n02,b2c,2025-01-06\n2,b2b,2025-02-01\n"
CARDS = "card_id,customer_id,issued_date,issue_channel\n007900001788,0001,2025-01-05,offline\n0079,,,\n"
TRANSACTIONS = (
    "transaction_id,customer_id,date,gross_amount,discount_amount,amount,channel,store_id,card_id\n"
    "100,0001,2025-01-05 10:00,100.00,5.00,95.00,offline,01,007900001788\n"
    "101,02,2025-02-01 11:00,200.00,0,200.00,offline,01,\n"
    "102,2,2025-01-12 09:30,50.00,0,50.00,delivery,2,\n"
)


def write(folder: Path, **files: str) -> Path:
    """Write ``name=text`` files (``.csv`` added) into ``folder``; default the three small tables."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = {"customers": CUSTOMERS, "cards": CARDS, "transactions": TRANSACTIONS, **files}
    for name, text in texts.items():
        if text is not None:
            (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def unchanged():
    """Check at the end of the test that the folders it registered are byte-identical."""
    seen: list[tuple[Path, dict]] = []
    yield lambda folder: seen.append((folder, snapshot(folder))) or folder
    for folder, before in seen:
        assert snapshot(folder) == before, f"files in {folder} changed"


def problems(report: validation.ValidationReport) -> dict[tuple[str, str, str], pd.Series]:
    return {(r.table, r.column, r.rule): r for r in report.problems.itertuples(index=False)}


# --- Defect 5: ids are text exactly as written ----------------------------------------------


def test_ids_keep_leading_zeros_and_02_is_not_2(tmp_path, unchanged):
    folder = unchanged(write(tmp_path / "d"))
    ds = io.load(folder)
    assert ds.customers["customer_id"].tolist() == ["0001", "02", "2"]
    assert ds.cards["card_id"].tolist() == ["007900001788", "0079"]
    # 02 and 2 are two customers, each with their own receipt: nothing merged
    assert ds.transactions.groupby("customer_id").size().to_dict() == {"0001": 1, "02": 1, "2": 1}
    for t in ds.tables.values():
        for col in t.columns:
            if col in io.ID_COLUMNS:
                assert pd.api.types.is_string_dtype(t[col]), col


def test_ids_as_written_reach_messages_quarantine_and_the_data_copy(tmp_path, unchanged):
    text = TRANSACTIONS.replace("102,2,2025-01-12 09:30,50.00,0,50.00", "0102,0002,2025-01-12 09:30,50.00,0,-50.00")
    folder = unchanged(write(tmp_path / "d", transactions=text))
    tables, report = io.check_folder(folder)
    p = problems(report)
    assert p[("transactions", "customer_id", "customer exists in customers")].row_ids == "0102"
    assert p[("transactions", "customer_id", "customer exists in customers")].first_values == "'0002'"
    assert p[("transactions", "amount", "amount = gross_amount - discount_amount")].row_ids == "0102"
    ds = io.load(folder, on_error="quarantine", quarantine_dir=tmp_path / "q")
    q = pd.read_csv(tmp_path / "q" / "transactions.csv", dtype=str)
    assert q["transaction_id"].tolist() == ["0102"] and q["customer_id"].tolist() == ["0002"]
    io.save(ds, tmp_path / "copy", fmt="parquet")  # what the report writes for its notebooks
    back = io.load(tmp_path / "copy")
    assert back.cards["card_id"].tolist() == ["007900001788", "0079"]
    assert back.transactions["store_id"].tolist() == ["01", "01"]


def test_ids_integer_mapping_reads_whole_numbers(tmp_path, unchanged):
    folder = unchanged(write(tmp_path / "d", customers=CUSTOMERS.replace("02,b2c", "3,b2c")))
    ds = io.load(folder, mapping={"ids": "integer"})
    assert ds.customers["customer_id"].tolist() == [1, 3, 2]
    assert ds.cards["card_id"].tolist() == [7900001788, 79]
    # 02 in transactions is now customer 2
    assert ds.transactions["customer_id"].tolist() == [1, 2, 2]


def test_as_ids_by_hand():
    ids, bad = as_ids(pd.Series([7.0, np.nan, 12.0]))  # a float id column from Parquet
    assert ids.tolist()[0] == "7" and pd.isna(ids.iloc[1]) and ids.iloc[2] == "12"
    ids, bad = as_ids(pd.Series(["0001", "1.0", " 2 ", "A7", None], dtype=object), "integer")
    assert ids.tolist()[:3] == [1, 1, 2] and bad.tolist() == [False, False, False, True, False]
    with pytest.raises(ValueError, match="ids must be one of"):
        as_ids(pd.Series(["1"]), "number")


def test_generated_data_round_trips_with_text_ids_and_truth_on_the_same_keys(tmp_path):
    ds = synth.generate(n_customers=200, seed=4)
    io.save(ds, tmp_path / "g", fmt="parquet")
    back = io.load(tmp_path / "g")
    tx, truth_tx = back.transactions, back.truth_tables["transactions"]
    assert pd.api.types.is_string_dtype(tx["transaction_id"])
    assert pd.api.types.is_string_dtype(truth_tx["transaction_id"])
    assert set(truth_tx["transaction_id"]) == set(tx["transaction_id"])
    assert (tx["transaction_id"] == ds.transactions["transaction_id"].astype(str)).all()


# --- Defect 3: one bad value affects its own row only -----------------------------------------


@pytest.fixture(scope="module")
def generated_csv(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gen") / "d"
    io.save(synth.generate(n_customers=300, seed=21), folder, fmt="csv")
    return folder


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def test_total_footer_and_null_ids_affect_only_their_rows(generated_csv, tmp_path, unchanged):
    folder = _copy(generated_csv, tmp_path / "d")
    tx = (folder / "transactions.csv").read_text()
    n_tx = tx.count("\n") - 1
    lines = tx.splitlines()
    # two receipts whose customer is written NULL, and a footer with the total
    for i in (3, 5):
        cells = lines[i].split(",")
        cells[1] = "NULL"
        lines[i] = ",".join(cells)
    total = pd.read_csv(folder / "transactions.csv")["amount"].sum()  # what a till's footer holds
    lines.append(f"TOTAL,,,{total:.2f},,{total:.2f},,,,,,")
    (folder / "transactions.csv").write_text("\n".join(lines) + "\n")
    ledger = (folder / "points_ledger.csv").read_text().splitlines()
    ledger.append("TOTAL" + "," * (ledger[0].count(",")))
    (folder / "points_ledger.csv").write_text("\n".join(ledger) + "\n")
    unchanged(folder)

    tables, report = io.check_folder(folder)
    assert pd.api.types.is_string_dtype(tables["transactions"]["customer_id"])
    p = problems(report)
    exists = p[("transactions", "customer_id", "customer exists in customers")]
    assert exists.n_rows == 2 and exists.first_values == "'NULL', 'NULL'"
    # an empty customer is an anonymous receipt, but a footer has no date either
    assert ("transactions", "customer_id", "not empty") not in p
    assert p[("transactions", "date", "not empty")].row_ids == "TOTAL"
    # the footer's total is an implausible amount, flagged beside the errors
    w = report.warnings
    assert w.loc[w["column"] == "amount", "row_ids"].tolist() == ["TOTAL"]
    # no other table is blamed for the broken rows: surveys and items still join
    assert not any(k[0] in ("surveys", "transaction_items", "cards") for k in p)
    with pytest.warns(validation.DataWarning):
        ds = io.load(folder, on_error="quarantine", quarantine_dir=tmp_path / "q")
    assert len(ds.transactions) == n_tx - 2  # only the two NULL receipts are set aside (and the footer)
    q = pd.read_csv(tmp_path / "q" / "transactions.csv", dtype=str)
    assert len(q) == 3 and "TOTAL" in q["transaction_id"].tolist()
    assert len(pd.read_csv(tmp_path / "q" / "points_ledger.csv", dtype=str)) <= 1 + 10


def test_value_that_does_not_parse_is_named_with_its_row_and_value(tmp_path, unchanged):
    text = TRANSACTIONS.replace("200.00,0,200.00", "200.00,0,n/a").replace("2025-01-12 09:30", "31/02/2025")
    folder = unchanged(write(tmp_path / "d", transactions=text))
    p = problems(io.check_folder(folder)[1])
    assert (
        p[("transactions", "amount", "float value")].row_ids,
        p[("transactions", "amount", "float value")].first_values,
    ) == (
        "101",
        "'n/a'",
    )
    assert p[("transactions", "date", "dates parse")].first_values == "'31/02/2025'"
    io.load(folder, on_error="quarantine", quarantine_dir=tmp_path / "q")
    q = pd.read_csv(tmp_path / "q" / "transactions.csv", dtype=str).set_index("transaction_id")
    assert q.loc["101", "_problems"] == "amount: float value (n/a)"  # the value the file holds
    assert q.loc["102", "_problems"] == "date: dates parse (31/02/2025)"


def test_row_without_a_key_is_named_by_its_line_not_na(tmp_path, unchanged):
    text = TRANSACTIONS.replace("101,02,", ",02,")
    folder = unchanged(write(tmp_path / "d", transactions=text))
    p = problems(io.check_folder(folder)[1])
    # header is line 1, receipt 100 line 2, the keyless receipt line 3
    assert p[("transactions", "transaction_id", "not empty")].row_ids == "line 3"
    assert "<NA>" not in io.check_folder(folder)[1].message()


def test_missing_markers_are_declared_not_guessed(tmp_path, unchanged):
    text = TRANSACTIONS.replace("offline,01,\n", "offline,01,NULL\n")
    folder = unchanged(write(tmp_path / "d", transactions=text))
    p = problems(io.check_folder(folder)[1])
    assert p[("transactions", "card_id", "card exists in cards")].first_values == "'NULL'"
    tables, report = io.check_folder(folder, mapping={"csv": {"missing": "NULL"}})
    assert report.ok and tables["transactions"]["card_id"].isna().sum() == 2


# --- Defect 4: numbers follow declared options; nothing is multiplied by 100 -------------------


@pytest.mark.parametrize(
    ("texts", "options", "expected", "refused"),
    [
        # plain: 371.81, -2, 1e3 = 1000; "1,5" is refused (comma, decimal point declared)
        (["371.81", "-2", "1e3", "1,5"], {}, [371.81, -2.0, 1000.0, None], ["decimal mark is a point"]),
        # decimal comma: 371,81; "371.81" must not become 37181
        (["371,81", "371.81"], {"decimal": ","}, [371.81, None], ["decimal mark is a comma"]),
        # decimal comma, dot thousands: 1.234,50 = 1234.5; 371.81 is not a thousands group
        (["1.234,50", "371.81"], {"decimal": ",", "thousands": "."}, [1234.5, None], ["number"]),
        # space (also no-break space) thousands and a currency sign: 1 234,50 = 1234.5
        (
            ["1 234,50 ₽", "12\u00a0000 ₽"],
            {"decimal": ",", "thousands": " ", "currency": ("₽",)},
            [1234.5, 12000.0],
            [],
        ),
        # comma thousands: 1,234.5 = 1234.5; 12,34 is not a thousands group
        (["$1,234.5", "12,34"], {"thousands": ",", "currency": ("$",)}, [1234.5, None], ["number"]),
    ],
)
def test_parse_numbers_by_hand(texts, options, expected, refused):
    values, probs = parse_numbers(pd.Series(texts, dtype="str"), **options)
    for got, want in zip(values, expected, strict=True):
        assert pd.isna(got) if want is None else got == pytest.approx(want)
    assert [rule for mask, rule in probs if mask.any()] == refused


def test_decimal_comma_mapping_refuses_a_point_instead_of_multiplying(tmp_path, unchanged):
    text = (
        "transaction_id;customer_id;date;gross_amount;discount_amount;amount;channel;store_id;card_id\n"
        "100;0001;2025-01-05 10:00;371,81;0;371,81;offline;1;\n"
        "101;02;2025-02-01 11:00;371.81;0;371.81;offline;1;\n"
    )
    folder = unchanged(write(tmp_path / "d", transactions=text))
    spec = {"tables": {"transactions": {"csv": {"sep": ";", "decimal": ","}}}}
    tables, report = io.check_folder(folder, mapping=spec)
    p = problems(report)
    hit = p[("transactions", "amount", "decimal mark is a comma")]
    assert (hit.row_ids, hit.first_values) == ("101", "'371.81'")
    assert tables["transactions"]["amount"].iloc[0] == pytest.approx(371.81)
    assert tables["transactions"]["amount"].max() < 1000  # never 37,181


@pytest.mark.parametrize(
    ("csv", "match"),
    [
        ({"decimal": ";"}, "decimal"),
        ({"thousands": "_"}, "thousands"),
        ({"decimal": ",", "thousands": ","}, "both decimal mark and thousands"),
        ({"currency": 5}, "currency"),
        ({"sep": ";;"}, "sep"),
    ],
)
def test_number_options_are_checked(csv, match):
    with pytest.raises(MappingError, match=match):
        io.check_folder(".", mapping={"csv": csv})


# --- Defect 8: crashes and unclear messages ---------------------------------------------------


def test_times_with_offsets_keep_their_wall_clock_time():
    text = pd.Series(["2026-03-01 14:05+03:00", "2026-03-01T09:00:30Z", "2026-03-01 23:30 -0500", "01-03-2026"])
    values, probs = parse_dates(text)
    assert values.iloc[0] == pd.Timestamp("2026-03-01 14:05")
    assert values.iloc[1] == pd.Timestamp("2026-03-01 09:00:30")
    assert values.iloc[2] == pd.Timestamp("2026-03-01 23:30")
    assert [int(m.sum()) for m, _ in probs] == [0, 1]  # 01-03-2026 is not ISO: reported, not guessed
    day_first, _ = parse_dates(pd.Series(["01.03.2026 14:05+0300"]), "%d.%m.%Y %H:%M%z")
    assert day_first.iloc[0] == pd.Timestamp("2026-03-01 14:05")


def test_offset_dates_in_a_file_load(tmp_path, unchanged):
    text = TRANSACTIONS.replace("2025-01-05 10:00", "2025-01-05T10:00:00+03:00").replace(
        "2025-02-01 11:00", "2025-02-01 11:00Z"
    )
    folder = unchanged(write(tmp_path / "d", transactions=text))
    tx = io.load(folder).transactions
    assert tx["date"].dt.hour.tolist() == [10, 11, 9]


def test_dates_beyond_what_pandas_holds_are_row_problems(tmp_path, unchanged):
    folder = unchanged(write(tmp_path / "d", customers=CUSTOMERS.replace("2025-02-01", "3025-02-01")))
    hit = problems(io.check_folder(folder)[1])[("customers", "first_seen", "date between 1678 and 2261")]
    assert (hit.row_ids, hit.first_values) == ("2", "'3025-02-01'")


def test_semicolon_and_tab_files_without_mapping_are_read(tmp_path, unchanged):
    folder = unchanged(
        write(tmp_path / "d", transactions=TRANSACTIONS.replace(",", ";"), customers=CUSTOMERS.replace(",", "\t"))
    )
    ds = io.load(folder)
    assert ds.transactions["amount"].tolist() == [95.0, 200.0, 50.0]
    assert ds.customers["customer_type"].tolist() == ["b2c", "b2c", "b2b"]


def test_a_header_that_splits_two_ways_is_refused(tmp_path, unchanged):
    header = "transaction_id;customer_id,date\n1;2,2025-01-01\n"
    folder = unchanged(write(tmp_path / "d", transactions=header))
    with pytest.raises(ReadError, match=r"table 'transactions' \(transactions.csv\).*sep"):
        io.load(folder)


def test_unreadable_file_is_named(tmp_path, unchanged):
    folder = write(tmp_path / "d", transactions=None)
    (folder / "transactions.csv").mkdir()  # exists, cannot be read as a file
    unchanged(folder)
    with pytest.raises(ReadError, match=r"table 'transactions' \(transactions.csv\): cannot read"):
        io.load(folder)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_file_without_read_permission_is_named(tmp_path):
    folder = write(tmp_path / "d")
    (folder / "cards.csv").chmod(0)
    try:
        with pytest.raises(ReadError, match=r"table 'cards' \(cards.csv\): cannot read.*ermission"):
            io.load(folder)
    finally:
        (folder / "cards.csv").chmod(0o644)


def test_cp1251_file_without_mapping_names_table_line_and_fix(tmp_path, unchanged):
    folder = write(tmp_path / "d")
    body = "customer_id,customer_type,district,first_seen\n1,b2c,Центр,2025-01-05\n"
    (folder / "customers.csv").write_bytes(body.encode("cp1251"))
    unchanged(folder)
    with pytest.raises(ReadError, match=r"table 'customers' \(customers.csv\): line 2 .*encoding: cp1251"):
        io.load(folder)
    tables, _ = io.check_folder(folder, mapping={"tables": {"customers": {"csv": {"encoding": "cp1251"}}}})
    assert tables["customers"]["district"].iloc[0] == "Центр"


def test_utf16_export_with_bom_is_read(tmp_path, unchanged):
    folder = write(tmp_path / "d")
    (folder / "customers.csv").write_bytes(CUSTOMERS.replace(",", "\t").encode("utf-16"))
    unchanged(folder)
    assert io.load(folder).customers["customer_id"].tolist() == ["0001", "02", "2"]


def test_empty_file_and_malformed_line_name_the_table(tmp_path, unchanged):
    folder = unchanged(write(tmp_path / "a", cards=""))
    with pytest.raises(ReadError, match=r"table 'cards' \(cards.csv\) is empty \(0 bytes\)"):
        io.load(folder)
    folder = unchanged(write(tmp_path / "b", transactions=TRANSACTIONS + "103,2,2025-01-12,1,0,1,offline,2,,extra\n"))
    with pytest.raises(ReadError, match=r"table 'transactions' \(transactions.csv\): malformed CSV.*line 5"):
        io.load(folder)


def test_empty_tables(tmp_path, unchanged):
    header_only = TRANSACTIONS.splitlines()[0] + "\n"
    folder = unchanged(write(tmp_path / "a", transactions=header_only))
    report = io.check_folder(folder)[1]
    assert ("transactions", "-", "table has rows") in problems(report) and report.fatal
    blank = header_only + ",,,,,,,,\n,,,,,,,,\n"
    folder = unchanged(write(tmp_path / "b", transactions=blank))
    assert ("transactions", "-", "table has rows") in problems(io.check_folder(folder)[1])
    surveys = "survey_id,customer_id,date,stage,nps\n"
    folder = unchanged(write(tmp_path / "c", surveys=surveys))
    report = io.check_folder(folder)[1]
    assert report.ok and report.warnings["table"].tolist() == ["surveys"]


def test_duplicated_header_is_refused(tmp_path, unchanged):
    text = TRANSACTIONS.replace("card_id\n", "amount\n", 1)
    folder = unchanged(write(tmp_path / "d", transactions=text))
    with pytest.raises(ReadError, match=r"table 'transactions'.*'amount' appear more than once"):
        io.load(folder)


def test_table_in_two_formats_is_refused(tmp_path, unchanged):
    folder = write(tmp_path / "d")
    pd.read_csv(folder / "cards.csv", dtype=str).to_parquet(folder / "cards.parquet")
    unchanged(folder)
    with pytest.raises(ReadError, match=r"table 'cards'.*cards.parquet and cards.csv"):
        io.load(folder)


@pytest.mark.parametrize("file", ["/etc/passwd", "../outside.csv"])
def test_mapping_file_outside_the_data_folder_is_refused_unread(tmp_path, unchanged, file, capsys):
    folder = unchanged(write(tmp_path / "d"))
    (tmp_path / "outside.csv").write_text("secret_column\nsecret_value\n")
    spec = {"tables": {"customers": {"file": file, "columns": {"x": "customer_id"}}}}
    with pytest.raises(MappingError, match="not inside the data folder") as err:
        io.load(folder, mapping=spec)
    assert "root:" not in str(err.value) and "secret" not in str(err.value)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(f"tables:\n  customers:\n    file: {file}\n    columns: {{x: customer_id}}\n")
    assert cli_main(["validate", str(folder), "--mapping", str(mapping)]) == 2
    out = capsys.readouterr()
    assert "not inside the data folder" in out.err and "root:" not in out.err + out.out


# --- plausibility: warnings with counts, data kept --------------------------------------------


def test_dates_far_in_the_future_and_before_1900_are_warnings(tmp_path, unchanged):
    text = CUSTOMERS.replace("2025-01-06", "2099-01-06").replace("2025-02-01", "1899-12-30")
    folder = unchanged(write(tmp_path / "d", customers=text))
    tables, report = io.check_folder(folder)
    assert report.ok  # kept: only warned about
    w = {r.rule: r for r in report.warnings.itertuples(index=False) if r.column == "first_seen"}
    future = next(r for rule, r in w.items() if rule.startswith("date not after"))
    assert (future.n_rows, future.row_ids, future.first_values) == (1, "02", "2099-01-06 00:00:00")
    assert w["date not before 1900"].row_ids == "2"
    with pytest.warns(validation.DataWarning, match="2099"):
        ds = io.load(folder)
    assert len(ds.customers) == 3 and len(ds.warnings) == 2


def test_future_rule_counts_from_the_day_of_the_check():
    t = {
        "customers": pd.DataFrame(
            {
                "customer_id": ["1", "2"],
                "customer_type": ["b2c", "b2c"],
                "first_seen": pd.to_datetime(["2026-06-01", "2027-07-01"]),
            }
        )
    }
    w = validation.validate(t, today="2026-06-01").warnings  # a year on: 2027-06-02
    assert w.loc[w["column"] == "first_seen", "n_rows"].tolist() == [1]
    assert validation.validate(t, today="2027-01-01").warnings.query("column == 'first_seen'").empty


def test_amount_far_beyond_the_rest_is_a_warning():
    tables = synth.generate(n_customers=100, seed=3).tables
    amounts = tables["transactions"]["amount"].copy()
    median = amounts[amounts > 0].median()
    # 1,500 x the median is flagged, 500 x is not (the rule's factor is 1,000)
    amounts.iloc[[4, 9]] = [median * 1500, median * 500]
    report = validation.validate({**tables, "transactions": tables["transactions"].assign(amount=amounts)})
    w = report.warnings
    hit = w[(w["table"] == "transactions") & (w["column"] == "amount")]
    assert hit["n_rows"].tolist() == [1]
    assert hit["row_ids"].iloc[0] == str(tables["transactions"]["transaction_id"].iloc[4])


def test_generated_data_raise_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", validation.DataWarning)
        report = validation.validate(synth.generate(n_customers=2000, seed=8).tables, today="2026-01-01")
    assert report.ok and report.warnings.empty, report.warning_message()


def test_read_table_attributes_lines_only_to_csv(tmp_path):
    folder = write(tmp_path / "d")
    assert read_table(folder / "cards.csv", table="cards").attrs["first_line"] == 2
    pd.read_csv(folder / "cards.csv", dtype=str).to_parquet(tmp_path / "cards.parquet")
    assert "first_line" not in read_table(tmp_path / "cards.parquet", table="cards").attrs
