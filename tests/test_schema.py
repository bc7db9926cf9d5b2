"""The data contract: every rule fires on a broken input and names table, column, rule and rows."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loyalty_lib import config, io, schema, synth, validation
from loyalty_lib.cli import main as cli_main


@pytest.fixture(scope="module")
def tables():
    return synth.generate(n_customers=300, seed=21).tables


def broken(tables, table, fn):
    t = {k: v.copy() for k, v in tables.items()}
    t[table] = fn(t[table])
    return t


def problem(report, table, column, rule):
    p = report.problems
    hit = p[(p["table"] == table) & (p["column"] == column) & (p["rule"] == rule)]
    assert len(hit) == 1, report.message()
    return hit.iloc[0]


def first_tx_with_card(t):
    return t["transactions"].index[t["transactions"]["card_id"].notna()][0]


CASES = [
    # (table, column, rule, breaker returning (frame, offending key values))
    (
        "transactions",
        "amount",
        "amount = gross_amount - discount_amount",
        lambda d: d.assign(amount=d["amount"].where(d.index != 3, -5.0)),
    ),
    (  # a negative discount on a sale (a return receipt's discount is negative, a sale's is not)
        "transactions",
        "discount_amount",
        "discount between 0 and gross_amount",
        lambda d: d.assign(
            discount_amount=d["discount_amount"].where(d.index != 4, -1.0),
            amount=d["amount"].where(d.index != 4, d["gross_amount"] + 1.0),
        ),
    ),
    (
        "transactions",
        "channel",
        "one of offline, delivery",
        lambda d: d.assign(channel=d["channel"].astype(str).where(d.index != 5, "phone")),
    ),
    (
        "transactions",
        "transaction_id",
        "unique key",
        lambda d: d.assign(transaction_id=d["transaction_id"].where(d.index != 6, d["transaction_id"].iloc[7])),
    ),
    (
        "customers",
        "customer_id",
        "not empty",
        lambda d: d.assign(customer_id=d["customer_id"].astype("Int64").where(d.index != 8)),
    ),
    (
        "transactions",
        "customer_id",
        "customer exists in customers",
        lambda d: d.assign(customer_id=d["customer_id"].where(d.index != 9, 10**9)),
    ),
    (
        "transactions",
        "discount_amount",
        "discount between 0 and gross_amount",
        lambda d: d.assign(
            discount_amount=d["discount_amount"].where(d.index != 10, d["gross_amount"] + 50),
            amount=d["amount"].where(d.index != 10, 0.0),
        ),
    ),
    (
        "transactions",
        "amount",
        "amount = gross_amount - discount_amount",
        lambda d: d.assign(amount=d["amount"].where(d.index != 11, d["amount"] + 3)),
    ),
    (
        "customers",
        "customer_type",
        "one of b2c, b2b",
        lambda d: d.assign(customer_type=d["customer_type"].where(d.index != 2, "vip")),
    ),
    ("customers", "age", ">= 14", lambda d: d.assign(age=d["age"].where(d.index != 0, 3))),
    (  # an issue date without a holder (a holder without an issue date is an unknown date: allowed)
        "cards",
        "issued_date",
        "issue date only with a holder",
        lambda d: d.assign(customer_id=d["customer_id"].where(d.index != d.index[d["issued_date"].notna()][0])),
    ),
    ("surveys", "nps", "<= 10", lambda d: d.assign(nps=d["nps"].where(d.index != 0, 11))),
    ("offers", "group", "one of treatment, holdout", lambda d: d.assign(group=d["group"].where(d.index != 0, "both"))),
    ("program_costs", "amount", ">= 0", lambda d: d.assign(amount=d["amount"].where(d.index != 0, -10.0))),
    ("transaction_items", "unit_price", ">= 0", lambda d: d.assign(unit_price=d["unit_price"].where(d.index != 0, -1))),
    (
        "transaction_items",
        "transaction_id",
        "receipt exists in transactions",
        lambda d: d.assign(transaction_id=d["transaction_id"].where(d.index != 0, 10**12)),
    ),
    (
        "points_ledger",
        "entry_type",
        "one of accrual, redemption, expiry, adjustment",
        lambda d: d.assign(entry_type=d["entry_type"].where(d.index != 0, "gift")),
    ),
]


@pytest.mark.parametrize("table,column,rule,breaker", CASES, ids=[f"{c[0]}.{c[1]}:{c[2]}" for c in CASES])
def test_each_rule_fires_with_row_ids(tables, table, column, rule, breaker):
    t = broken(tables, table, breaker)
    report = validation.validate(t)
    assert not report.ok
    p = problem(report, table, column, rule)
    assert p["n_rows"] >= 1
    assert p["row_ids"]  # names the offending key values
    msg = report.message()
    assert f"table '{table}'" in msg and f"column '{column}'" in msg and rule in msg


def test_card_must_be_issued_before_first_use(tables):
    t = {k: v.copy() for k, v in tables.items()}
    i = first_tx_with_card(t)
    card = t["transactions"].loc[i, "card_id"]
    cards = t["cards"]
    cards.loc[cards["card_id"] == card, "issued_date"] = t["transactions"].loc[i, "date"] + pd.Timedelta(days=30)
    p = problem(validation.validate(t), "transactions", "card_id", "card issued before its first use")
    assert str(t["transactions"].loc[i, "transaction_id"]) in p["row_ids"].split(", ")


def test_card_must_belong_to_the_buyer(tables):
    t = {k: v.copy() for k, v in tables.items()}
    i = first_tx_with_card(t)
    other = t["customers"]["customer_id"].iloc[-1]
    t["transactions"].loc[i, "customer_id"] = other
    problem(validation.validate(t), "transactions", "card_id", "card belongs to the transaction's customer")


def test_unknown_card_and_lines_that_do_not_add_up(tables):
    t = {k: v.copy() for k, v in tables.items()}
    i = first_tx_with_card(t)
    t["transactions"].loc[i, "card_id"] = 10**9
    t["transaction_items"].loc[0, "line_amount"] += 1000
    r = validation.validate(t)
    problem(r, "transactions", "card_id", "card exists in cards")
    problem(r, "transactions", "gross_amount", "receipt lines add up to gross_amount")


def test_every_problem_is_reported_not_only_the_first(tables):
    t = broken(tables, "transactions", CASES[0][3])
    t = broken(t, "customers", CASES[8][3])
    t = broken(t, "surveys", CASES[11][3])
    assert len(validation.validate(t).problems) >= 3


def test_missing_table_and_column_are_fatal(tables):
    t = {k: v for k, v in tables.items() if k != "cards"}
    t["transactions"] = t["transactions"].drop(columns="amount")
    r = validation.validate(t)
    problem(r, "cards", "-", "required table present")
    problem(r, "transactions", "amount", "required column present")
    with pytest.raises(validation.ValidationError):
        validation.quarantine(t, r)


def test_dates_that_do_not_parse_are_reported(tables, tmp_path):
    tx = tables["transactions"].copy()
    tx["date"] = tx["date"].dt.strftime("%Y-%m-%d %H:%M:%S")
    tx.loc[2, "date"] = "31/02/2026"
    parsed, probs = io.coerce_table("transactions", tx)
    assert list(probs["rule"]) == ["dates parse"] and list(probs["index"]) == [2]
    r = validation.validate({**tables, "transactions": parsed}, parse_problems={"transactions": probs})
    p = problem(r, "transactions", "date", "dates parse")
    assert p["row_ids"] == str(tx.loc[2, "transaction_id"])


def test_quarantine_sets_rows_aside_and_cascades(tables, tmp_path):
    t = broken(tables, "transactions", CASES[0][3])
    bad_id = t["transactions"].loc[3, "transaction_id"]
    n_lines = (t["transaction_items"]["transaction_id"] == bad_id).sum()
    clean, summary = validation.quarantine(t, validation.validate(t), out_dir=tmp_path)
    assert bad_id not in set(clean["transactions"]["transaction_id"])
    assert len(clean["transaction_items"]) == len(t["transaction_items"]) - n_lines
    assert validation.validate(clean).ok
    q = pd.read_csv(tmp_path / "transactions.csv")
    assert len(q) == 1 and q.loc[0, "transaction_id"] == bad_id
    assert q.loc[0, "_problems"] == "amount: amount = gross_amount - discount_amount"
    lines = pd.read_csv(tmp_path / "transaction_items.csv")
    assert len(lines) == n_lines > 0 and set(lines["_problems"]) == {f"transaction_id: {validation.WHOLE_RECEIPT}"}
    assert summary["n_rows"].sum() == 1 + n_lines
    counts = pd.read_csv(tmp_path / validation.SET_ASIDE_FILE).set_index("table")
    assert counts.loc["transactions", "rows_set_aside"] == 1
    assert counts.loc["transaction_items", "rows_set_aside"] == n_lines


def test_io_round_trip_both_formats(tables, tmp_path):
    ds = synth.generate(n_customers=300, seed=21)
    for fmt in ("parquet", "csv"):
        io.save(ds, tmp_path / fmt, fmt=fmt)
        back = io.load(tmp_path / fmt)
        assert back.truth == ds.truth
        for name, df in ds.tables.items():
            got = back.tables[name]
            assert list(got.columns) == list(df.columns), name
            assert len(got) == len(df), name
        np.testing.assert_allclose(back.transactions["amount"], ds.transactions["amount"])
        assert (back.transactions["date"] == ds.transactions["date"]).all()


def test_save_refuses_to_overwrite(tmp_path):
    ds = synth.generate(n_customers=100, seed=1)
    io.save(ds, tmp_path, fmt="csv")
    with pytest.raises(FileExistsError):
        io.save(ds, tmp_path, fmt="csv")
    io.save(ds, tmp_path, fmt="csv", force=True)


def test_load_never_modifies_user_files(tables, tmp_path):
    ds = synth.generate(n_customers=200, seed=2)
    io.save(ds, tmp_path, fmt="csv")
    tx = pd.read_csv(tmp_path / "transactions.csv")
    tx.loc[0, "amount"] = -1
    tx.to_csv(tmp_path / "transactions.csv", index=False)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(validation.ValidationError, match="transactions"):
        io.load(tmp_path)
    out = io.load(tmp_path, on_error="quarantine", quarantine_dir=tmp_path.parent / "q")
    assert out.quarantined["n_rows"].sum() >= 1
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_contract_page_is_up_to_date():
    page = (config.PROJECT_DIR / "docs" / "data_contract.md").read_text()
    assert page == schema.contract_markdown(), "run: python -m loyalty_lib.schema > docs/data_contract.md"


def test_cli_generate_and_validate(tmp_path, capsys):
    out = tmp_path / "d"
    assert (
        cli_main(["generate", "--out", str(out), "--customers", "200", "--seed", "3", "--format", "csv", "--quiet"])
        == 0
    )
    assert (out / "transactions.csv").exists() and (out / "ground_truth.json").exists()
    assert cli_main(["validate", str(out)]) == 0
    tx = pd.read_csv(out / "transactions.csv")
    tx.loc[[1, 2], "channel"] = "fax"
    tx.to_csv(out / "transactions.csv", index=False)
    assert cli_main(["validate", str(out), "--quarantine", str(tmp_path / "q")]) == 1
    err = capsys.readouterr().err
    assert "table 'transactions', column 'channel', rule 'one of offline, delivery': 2 row(s)" in err
    assert (tmp_path / "q" / "transactions.csv").exists()


def test_environment_yml_lists_the_pyproject_dependencies():
    import tomllib

    deps = tomllib.loads((config.PROJECT_DIR / "pyproject.toml").read_text())["project"]["dependencies"]
    env = (config.PROJECT_DIR / "environment.yml").read_text()
    names = {d.split(">")[0].split("=")[0].split("<")[0].strip().lower() for d in deps}
    missing = [n for n in names if n not in env.lower()]
    assert not missing, f"environment.yml lacks {missing}"


def test_paths_do_not_depend_on_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert config.SAMPLE_DIR == Path(config.__file__).resolve().parent.parent / "data" / "sample"
