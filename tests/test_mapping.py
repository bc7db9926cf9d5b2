"""Reading a shop's own exports through a column mapping."""

from __future__ import annotations

import contextlib
import io as _io
from pathlib import Path

import pandas as pd
import pytest

from loyalty_lib import cli, config, io
from loyalty_lib.mapping import MappingError, apply_mapping, read_mapped_folder, read_mapping

EXAMPLE = config.PROJECT_DIR / "examples" / "own_data"

MAPPING = {
    "csv": {"sep": ";", "decimal": ",", "thousands": "."},
    "tables": {
        "customers": {
            "file": "clients.csv",
            "columns": {"Client": "customer_id", "Kind": "customer_type", "Since": "first_seen"},
            "date_formats": {"first_seen": "%d.%m.%Y"},
            "values": {"customer_type": {"private": "b2c", "business": "b2b"}},
        },
        "cards": {
            "file": "cards.csv",
            "csv": {"sep": ","},
            "columns": {
                "Card": "card_id",
                "Holder": "customer_id",
                "Issued": "issued_date",
                "Where": "issue_channel",
            },
            "date_formats": {"issued_date": "%d.%m.%Y"},
            "values": {"issue_channel": {"shop": "offline", "courier": "delivery"}},
        },
        "transactions": {
            "file": "receipts.csv",
            "columns": {
                "Receipt": "transaction_id",
                "Client": "customer_id",
                "When": "date",
                "Total": "gross_amount",
                "Discount": "discount_amount",
                "Paid": "amount",
                "Sale": "channel",
                "Shop": "store_id",
                "Card": "card_id",
            },
            "date_formats": {"date": "%d.%m.%Y %H:%M"},
            "values": {"channel": {"shop": "offline", "courier": "delivery"}},
        },
    },
}


def write_export(folder: Path) -> Path:
    """Two clients, one card, three receipts in the shop's own format.

    Receipt 7 paid "1.234,50" = 1234.50 (thousands dot, decimal comma) after a 0,50 discount
    on 1.235,00.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clients.csv").write_text(
        "\ufeffClient;Kind;Since\n1;private;05.01.2025\n2;business;06.01.2025\n", encoding="utf-8"
    )
    (folder / "cards.csv").write_text("Card,Holder,Issued,Where\nA1,1,05.01.2025,shop\n")
    (folder / "receipts.csv").write_text(
        "Receipt;Client;When;Total;Discount;Paid;Sale;Shop;Card\n"
        "7;1;05.01.2025 10:30;1.235,00;0,50;1.234,50;shop;S1;A1\n"
        "8;2;07.01.2025 18:05;99,90;0;99,90;courier;S1;\n"
        "9;1;09.02.2025 09:00;10;0;10;shop;S2;A1\n"
    )
    return folder


def test_mapped_export_loads_with_contract_names_types_and_values(tmp_path):
    folder = write_export(tmp_path / "export")
    ds = io.load(folder, mapping=MAPPING)
    assert ds.customers["customer_type"].tolist() == ["b2c", "b2b"]
    assert ds.customers["first_seen"].iloc[0] == pd.Timestamp("2025-01-05")
    assert ds.cards["issue_channel"].tolist() == ["offline"]
    tx = ds.transactions.set_index("transaction_id")
    assert tx.loc["7", "amount"] == pytest.approx(1234.50)
    assert tx.loc["7", "gross_amount"] == pytest.approx(1235.00)
    assert tx.loc["8", "channel"] == "delivery"
    assert tx.loc["7", "date"] == pd.Timestamp("2025-01-05 10:30")
    assert not ds.has("surveys")  # optional tables the shop lacks are simply absent


def test_user_files_are_not_modified(tmp_path):
    folder = write_export(tmp_path / "export")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    io.load(folder, mapping=MAPPING)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_unlisted_values_are_kept_so_the_contract_check_names_them(tmp_path):
    folder = write_export(tmp_path / "export")
    text = (folder / "receipts.csv").read_text().replace("courier", "pickup")
    (folder / "receipts.csv").write_text(text)
    raw, _ = read_mapped_folder(folder, MAPPING)
    assert raw["transactions"]["channel"].tolist() == ["offline", "pickup", "offline"]
    with pytest.raises(ValueError, match="channel"):
        io.load(folder, mapping=MAPPING)


def test_apply_mapping_does_not_modify_its_input():
    raw = {"customers": pd.DataFrame({"Client": ["1"], "Kind": ["private"], "Since": ["x"]})}
    before = raw["customers"].copy()
    out, parsing = apply_mapping(raw, MAPPING)
    pd.testing.assert_frame_equal(raw["customers"], before)
    assert list(out["customers"].columns) == ["customer_id", "customer_type", "first_seen"]
    assert parsing["customers"].date_formats == {"first_seen": "%d.%m.%Y"}
    assert (parsing["customers"].decimal, parsing["customers"].thousands) == (",", ".")


def test_mapping_read_from_yaml(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text("tables:\n  customers:\n    file: clients.csv\n    columns: {Client: customer_id}\n")
    assert read_mapping(p)["tables"]["customers"]["file"] == "clients.csv"


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"tables": {"clients": {}}}, "unknown table"),
        ({"tables": {"customers": {"colums": {}}}}, "unknown key"),
        ({"tables": {"customers": {"columns": ["a"]}}}, "must be a mapping"),
        ({"csv": {"delimiter": ";"}}, "unknown key"),
        ({"tables": []}, "'tables' must map"),
    ],
)
def test_malformed_mapping_is_refused(spec, match):
    with pytest.raises(MappingError, match=match):
        read_mapping(spec)


def _with(table: str, **changes) -> dict:
    spec = {**MAPPING, "tables": {k: dict(v) for k, v in MAPPING["tables"].items()}}
    spec["tables"][table].update(changes)
    return spec


@pytest.mark.parametrize(
    ("spec", "error", "match"),
    [
        (_with("customers", columns={"Klient": "customer_id"}), MappingError, "Klient"),
        (_with("customers", columns={"Client": "client_id"}), MappingError, "client_id"),
        (_with("customers", values={"segment": {"a": "b"}}), MappingError, "segment"),
        (_with("customers", file="kunden.csv"), FileNotFoundError, "kunden.csv"),
    ],
)
def test_mapping_that_does_not_fit_the_export_names_the_problem(tmp_path, spec, error, match):
    folder = write_export(tmp_path / "export")
    with pytest.raises(error, match=match):
        read_mapped_folder(folder, spec)


def test_missing_required_table_is_named(tmp_path):
    folder = write_export(tmp_path / "export")
    (folder / "receipts.csv").unlink()
    spec = {
        **MAPPING,
        "tables": {k: v for k, v in MAPPING["tables"].items() if k != "transactions"},
    }
    with pytest.raises(FileNotFoundError, match="transactions"):
        read_mapped_folder(folder, spec)


def test_worked_example_validates():
    """The example of docs/own_data.md: `loyalty validate` passes on it."""
    out, err = _io.StringIO(), _io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["validate", str(EXAMPLE / "export"), "--mapping", str(EXAMPLE / "mapping.yaml")])
    assert code == 0, err.getvalue()
    assert "all contract rules pass" in out.getvalue()
    ds = io.load(EXAMPLE / "export", mapping=EXAMPLE / "mapping.yaml")
    assert not ds.has("surveys") and ds.has("program_costs")
    assert set(ds.transactions["channel"]) <= {"offline", "delivery"}
    size = sum(p.stat().st_size for p in (EXAMPLE / "export").iterdir())
    assert size < 1_000_000
