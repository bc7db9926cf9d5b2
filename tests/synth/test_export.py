"""The export writer: a generated data set written as a retailer exports it, read back by its mapping."""

import numpy as np
import pandas as pd
import pytest
import yaml

from loyalty_lib import io, synth
from loyalty_lib.schema import TABLES
from loyalty_lib.synth import export
from loyalty_lib.synth.export import Column, TableStyle, expected_tables, export_frame, write_export


def test_export_frame_names_words_dates_and_padded_ids():
    ts = TableStyle(
        "cards",
        "karty.csv",
        (
            Column("card_id", "Номер карты", zfill=10),
            Column("customer_id", "Код клиента"),
            Column("issued_date", "Дата выдачи", date="%d.%m.%Y"),
            Column("issue_channel", "Где выдана", values={"offline": "магазин", "delivery": "доставка"}),
        ),
    )
    df = pd.DataFrame(
        {
            "card_id": [7, 123],
            "customer_id": pd.array([5, pd.NA], dtype="Int64"),
            "issued_date": pd.to_datetime(["2026-03-01", None]),
            "issue_channel": ["delivery", None],
            "store_id": ["S1", None],
        }
    )
    out = export_frame(df, ts)
    assert list(out.columns) == ["Номер карты", "Код клиента", "Дата выдачи", "Где выдана"]
    assert out["Номер карты"].tolist() == ["0000000007", "0000000123"]
    assert out["Дата выдачи"].iloc[0] == "01.03.2026" and pd.isna(out["Дата выдачи"].iloc[1])
    assert out["Где выдана"].iloc[0] == "доставка" and pd.isna(out["Где выдана"].iloc[1])
    assert df["card_id"].tolist() == [7, 123]  # the table is not changed


def test_export_frame_refuses_a_value_without_a_word():
    ts = TableStyle("cards", "c.csv", (Column("issue_channel", "At", values={"offline": "shop"}),))
    with pytest.raises(ValueError, match="no word for value"):
        export_frame(pd.DataFrame({"issue_channel": ["offline", "delivery"]}), ts)


def test_mapping_reads_words_back_and_declares_constants():
    spec = export.mapping_for(export.MEMBERS_ONLY)
    assert "currency" not in spec  # the receipts carry their own currency column
    tx = spec["tables"]["transactions"]
    assert tx["columns"]["CURRENCY"] == "currency"
    assert export.mapping_for(export.WALK_INS)["currency"] == "EUR"  # no such column: the mapping declares it
    assert tx["file"] == "transactions_*.csv" and tx["columns"]["BASKET_ID"] == "transaction_id"
    assert tx["values"]["channel"] == {"in-store": "offline", "home delivery": "delivery"}
    assert spec["tables"]["offers"]["constants"] == {"group": "treatment", "response_window_days": 14}
    assert spec["tables"]["transaction_items"]["generate_key"] is True
    assert spec["tables"]["products"]["sheet"] == "products"
    assert "date_formats" not in spec["tables"]["products"]  # an xlsx cell holds the date itself
    ru = export.mapping_for(export.MESSY_TILL)
    assert ru["csv"] == {"sep": ";", "decimal": ",", "encoding": "cp1251"}
    assert "csv" not in export.mapping_for(export.WALK_INS)  # a byte-order mark needs no declaration


def test_every_style_column_is_a_contract_column_or_a_documented_extra():
    for style in export.STYLES.values():
        for ts in style.tables:
            extra = {c.contract for c in ts.columns} - set(TABLES[ts.table].names)
            assert extra <= export.EXTRA_COLUMNS, (style.name, ts.table, extra)


@pytest.fixture(scope="module", params=["members_only", "walk_ins", "messy_till"])
def written(request, tmp_path_factory):
    ds = synth.generate(request.param, n_customers=400, seed=3)
    folder = tmp_path_factory.mktemp(request.param)
    return ds, write_export(ds, folder)


def test_files_as_the_retailer_writes_them(written):
    ds, mapping = written
    folder, name = mapping.parent, ds.truth["scenario"]
    spec = yaml.safe_load(mapping.read_text(encoding="utf-8"))
    if name == "members_only":
        months = sorted(p.name for p in folder.glob("transactions_*.csv"))
        assert len(months) == 12 and months[0] == "transactions_2025_04.csv"
        assert (folder / "product.xlsx").read_bytes()[:2] == b"PK"  # a zip: an xlsx workbook
    if name == "walk_ins":
        assert (folder / "receipts.csv").read_bytes()[:3] == b"\xef\xbb\xbf"  # UTF-8 byte-order mark
        assert (folder / "clients.xlsx").exists()
    if name == "messy_till":
        raw = (folder / "cheki.csv").read_bytes()
        head = raw.split(b"\r\n" if b"\r\n" in raw[:500] else b"\n")[0].decode("cp1251")
        assert head.startswith("Номер чека;Дата и время;")
        line = raw.decode("cp1251").splitlines()[1].split(";")
        assert "," in line[7] and line[1][2] == "." and line[1][5] == "."  # decimal comma, dd.mm.yyyy
        card = pd.read_csv(folder / "karty.csv", sep=";", encoding="cp1251", dtype=str)["Номер карты"]
        assert card.str.len().eq(10).all() and card.str.startswith("0").all()
    assert set(spec["tables"]) == {t for t in ds.tables if export.STYLES[name].table(t)}


def test_no_overwrite_without_force(written):
    ds, mapping = written
    with pytest.raises(FileExistsError):
        write_export(ds, mapping.parent)
    assert write_export(ds, mapping.parent, force=True) == mapping


def _same(actual: pd.Series, expected: pd.Series, where: str) -> None:
    a, e = actual.reset_index(drop=True), expected.reset_index(drop=True)
    assert len(a) == len(e), where
    assert (a.isna().to_numpy() == e.isna().to_numpy()).all(), f"{where}: missing values differ"
    ok = e.notna().to_numpy()
    a, e = a[ok], e[ok]
    if pd.api.types.is_datetime64_any_dtype(e):
        assert (pd.to_datetime(a).to_numpy() == e.to_numpy()).all(), where
    elif pd.api.types.is_float_dtype(e) or pd.api.types.is_integer_dtype(e):
        np.testing.assert_allclose(a.astype(float), e.astype(float), rtol=0, atol=1e-6, err_msg=where)
    else:
        assert (a.astype(str).to_numpy() == e.astype(str).to_numpy()).all(), where


def test_round_trip_through_the_mapping(written):
    """generate -> export -> io.load(mapping) gives the same tables (ids exact as text)."""
    ds, mapping = written
    qdir = mapping.parent.with_name(f"{mapping.parent.name}-quarantine")  # the till's broken receipts, set aside
    loaded = io.load(mapping.parent, mapping=mapping, on_error="quarantine", quarantine_dir=qdir)
    broken = {str(i) for i in (ds.truth.get("till") or {}).get("broken_receipts", [])}
    for name, expected in expected_tables(ds).items():
        got = getattr(loaded, name)
        assert got is not None, name
        if "transaction_id" in expected and name in ("transactions", "transaction_items"):
            expected = expected[~expected["transaction_id"].isin(broken)]
        for col in expected.columns:
            _same(got[col], expected[col], f"{name}.{col}")
    assert set(loaded.transactions["currency"]) == {ds.truth["currency"]}
