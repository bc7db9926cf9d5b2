"""The stages' aggregates through the engine: by hand, pandas = DuckDB, and the same panels as the in-memory path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_engine import receipts, tiny

from loyalty_lib import engine
from loyalty_lib.dataset import Dataset, visits_mask
from loyalty_lib.metrics import activity, designs, impact
from loyalty_lib.metrics import audience as au
from loyalty_lib.metrics import branches as br
from loyalty_lib.snapshot import open_snapshot, write_snapshot
from loyalty_lib.study import Study

BACKENDS = ["pandas", "duckdb"]
MONEY = {"revenue", "gross", "revenue_card", "gross_card", "revenue_after", "gross_after", "check"}


def close(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Same rows and columns; counts and keys exact, money to 1e-9 relative."""
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for c in a.columns:
        x, y = a[c].reset_index(drop=True), b[c].reset_index(drop=True)
        if c in MONEY or x.dtype.kind == "f":
            np.testing.assert_allclose(x.to_numpy(float), y.to_numpy(float), rtol=1e-9, atol=1e-7, err_msg=c)
        else:
            assert x.astype(object).tolist() == y.astype(object).tolist(), c


@pytest.mark.parametrize("backend", BACKENDS)
def test_customer_month_split_at_the_card_by_hand(backend):
    # a's card on Jan 6: the two receipts of that day stay before it; the Jan 20 return (-20, no
    # visit) and the Mar 3 visit (30) come after. b has no card: nothing after.
    card = pd.DataFrame({"customer_id": ["a", "a"], "date": pd.to_datetime(["2025-01-06 12:00", "2025-02-01 00:00"])})
    cm = engine.customer_month(tiny(), values={"revenue": "amount"}, after=card, backend=backend)
    assert list(cm.columns) == [
        "customer_id",
        "month",
        "receipts",
        "visits",
        "revenue",
        "visits_after",
        "revenue_after",
    ]
    assert cm[["customer_id", "receipts", "visits", "revenue", "visits_after", "revenue_after"]].values.tolist() == [
        ["a", 3, 2, 120.0, 0, -20.0],
        ["a", 1, 1, 30.0, 1, 30.0],
        ["b", 1, 1, 80.0, 0, 0.0],
    ]
    late = engine.customer_month(
        tiny(), start="2025-01-10", end="2025-03-01", values={"net": "amount"}, backend=backend
    )
    # from Jan 10 to the end of February: a's return and b's visit only
    assert late[["customer_id", "receipts", "visits", "net"]].values.tolist() == [["a", 1, 0, -20.0], ["b", 1, 1, 80.0]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_store_month_visits_and_values_by_hand(backend):
    sm = engine.store_month(
        tiny(), start="2025-01-01", values={"revenue": "amount", "gross": "gross_amount"}, backend=backend
    )
    # s2 in January: a's return (no visit) and the anonymous 10 (a visit)
    assert sm[["store_id", "receipts", "customers", "visits", "revenue", "gross"]].values.tolist() == [
        ["s1", 2, 1, 2, 140.0, 150.0],
        ["s1", 1, 1, 1, 30.0, 30.0],
        ["s2", 2, 1, 1, -10.0, -10.0],
        ["s2", 1, 1, 1, 80.0, 80.0],
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_return_counts_among_some_customers_by_hand(backend):
    # only a: visits Jan 6 10:00 -> Jan 6 18:00 (same day, a success), -> Mar 3 (56 days: none)
    rc = engine.return_counts(tiny(), horizon_days=30, end="2025-06-01", k_max=3, customers=["a"], backend=backend)
    assert rc.values.tolist() == [[1, 1, 1], [2, 1, 0], [3, 1, 0]]


def test_new_options_give_the_pandas_numbers_on_duckdb_and_from_parquet(tmp_path):
    tx = receipts(n=20_000, n_customers=1_500, seed=7)
    tx.to_parquet(tmp_path / "transactions.parquet")
    ids = tx["customer_id"].dropna().unique()
    cards = pd.DataFrame(
        {
            "customer_id": ids[::3],
            "date": pd.Timestamp("2024-09-01") + pd.to_timedelta(np.arange(len(ids[::3])) % 200, "D"),
        }
    )
    vals = {"revenue": "amount", "gross": "gross_amount"}
    for fn, kw in [
        (engine.customer_month, {"start": "2024-04-01", "end": "2025-03-01", "values": vals, "after": cards}),
        (engine.store_month, {"start": "2024-04-01", "end": "2025-03-01", "values": vals}),
        (engine.return_counts, {"end": "2025-03-01", "horizon_days": 60, "k_max": 6, "customers": ids[::2]}),
    ]:
        a = fn(tx, backend="pandas", **kw)
        close(a, fn(tx, backend="duckdb", **kw))
        close(a, fn(tmp_path, backend="duckdb", **kw))


@pytest.fixture(scope="module")
def snap(small_ds, tmp_path_factory):
    folder = tmp_path_factory.mktemp("snapshot")
    write_snapshot(small_ds, folder)
    return open_snapshot(folder)


@pytest.fixture(scope="module")
def study(snap):
    return Study.from_data(snap)


def test_receipts_of_gives_the_parquet_file_to_a_database_only(snap, small_ds):
    assert str(engine.receipts_of(snap, "duckdb")).endswith("transactions.parquet")
    assert isinstance(engine.receipts_of(snap, "pandas"), pd.DataFrame)
    assert isinstance(engine.receipts_of(snap, "auto"), pd.DataFrame)  # small data: pandas
    assert engine.receipts_of(small_ds, "duckdb") is small_ds.transactions  # generated in memory


def per_receipt_panel(ds, study, keep):
    """The impact panel summed receipt by receipt in memory (the stage's path before the engine)."""
    tx = ds.transactions[ds.transactions["customer_id"].isin(keep)]
    tx = tx.assign(date=pd.to_datetime(tx["date"]), _visit=visits_mask(tx).to_numpy(bool))
    tx = tx[(tx["date"] >= study.start) & (tx["date"] < study.end)]
    m = study.members
    cards = pd.DataFrame({"customer_id": m["customer_id"], "issued_date": pd.to_datetime(m["join_date"])})
    panel = impact.customer_month_panel(
        tx,
        customers=ds.customers[ds.customers["customer_id"].isin(keep)],
        start=study.start,
        end=study.end,
        values={"revenue": "amount", "gross": "gross_amount"},
        cards=cards,
        visit_col="_visit",
    )
    return impact.add_treatment(panel, cards, launch=designs.reference_end(study)).reset_index(drop=True)


def test_the_impact_panel_is_the_per_receipt_panel_on_every_backend(snap, study):
    ref = per_receipt_panel(snap, study, set(study.established_ids))
    assert ref["revenue_card"].abs().sum() > 0 and ref["visits"].sum() > 0
    for backend in BACKENDS:
        close(designs.impact_panel(snap, study, backend=backend), ref)
    everybody = per_receipt_panel(snap, study, set(snap.customers["customer_id"]))
    close(designs.impact_panel(snap, study, established=False, joined_only=False, backend="duckdb"), everybody)


def test_the_stage_estimates_are_the_same_through_either_backend(snap, study):
    design = designs.choose_design(study)
    got = [
        designs.program_effect(
            designs.impact_panel(snap, study, design=design, backend=b),
            design,
            outcomes=["revenue", "visits"],
            n_boot=20,
            seed=3,
        )
        for b in BACKENDS
    ]
    close(got[0][["estimate", "ci_low", "ci_high"]], got[1][["estimate", "ci_low", "ci_high"]])
    kw = {"start": study.start, "end": study.end, "values": {"revenue": "amount", "gross": "gross_amount"}}
    mem = br.store_month_panel(snap.transactions, **kw)
    assert mem["visits"].sum() > 0
    for b in BACKENDS:
        close(br.store_month_panel(engine.receipts_of(snap, b), backend=b, **kw), mem)
    new = study.new_ids
    for customers in (new, None):
        ref = activity.return_curve(snap.transactions, horizon_days=90, end=study.end, k_max=6, customers=customers)
        for b in BACKENDS:
            close(
                activity.return_curve(
                    engine.receipts_of(snap, b), horizon_days=90, end=study.end, k_max=6, customers=customers, backend=b
                ),
                ref,
            )


def test_cohort_retention_is_the_same_through_the_engine(snap, study):
    tx = snap.transactions
    for customers in (study.new_ids, None):
        ref = activity.cohort_retention(tx, end=study.end, max_months=6, customers=customers)
        assert ref["successes"].sum() > 0
        for b in BACKENDS:
            got = activity.cohort_retention(
                engine.receipts_of(snap, b), end=study.end, max_months=6, customers=customers, backend=b
            )
            close(got, ref)


@pytest.mark.parametrize("backend", BACKENDS)
def test_customer_summary_in_a_window_by_hand(backend):
    # from Jan 10: a's return (Jan 20) and visit (Mar 3); b's visit (Feb 10)
    cs = engine.customer_summary(tiny(), start="2025-01-10", backend=backend)
    assert cs[["customer_id", "receipts", "visits", "revenue"]].values.tolist() == [
        ["a", 2, 1, 10.0],
        ["b", 1, 1, 80.0],
    ]


def test_rfm_segments_are_the_same_through_the_engine(snap):
    tx = snap.transactions
    as_of = pd.Timestamp(tx["date"].max()).normalize() + pd.Timedelta(days=1)
    ids = snap.customers["customer_id"]
    ref = au.rfm_table(tx, as_of=as_of, window_days=365, customers=ids)
    unordered = au.rfm_table(tx, as_of=as_of, window_days=180).sort_values("customer_id", ignore_index=True)
    months = pd.date_range(end=as_of, periods=3, freq="MS")
    seg = au.monthly_segments(tx, months, customers=ids)
    assert ref["frequency"].sum() > 0 and seg["segment"].nunique() > 2
    for b in BACKENDS:
        src = engine.receipts_of(snap, b)
        close(au.rfm_table(src, as_of=as_of, window_days=365, customers=ids, backend=b), ref)
        close(au.rfm_table(src, as_of=as_of, window_days=180, backend=b), unordered)
        close(au.monthly_segments(src, months, customers=ids, backend=b), seg)


@pytest.mark.parametrize("backend", BACKENDS)
def test_last_visits_by_hand(backend):
    tx = tiny().assign(card_id=[1, None, 1, None, 2, None])
    # a's last visit is Mar 3 (the Jan 20 return is none); with the card, the Jan 6 10:00 one
    got = engine.last_visits(tx, end="2025-04-01", backend=backend)
    assert got["last_visit"].tolist() == pd.to_datetime(["2025-03-03", "2025-02-10"]).tolist()
    card = engine.last_visits(tx, end="2025-04-01", with_card=True, customers=["a"], backend=backend)
    assert card.values.tolist() == [["a", pd.Timestamp("2025-01-06 10:00")]]


def test_active_members_are_the_same_through_the_engine(snap, study):
    kw = {"end": study.end, "windows": [30, 90, 365], "member_since": study.member_since}
    for basis in ("any", "card"):
        ref = activity.active_members(snap.transactions, snap.cards, basis=basis, **kw)
        assert ref["successes"].sum() > 0
        for b in BACKENDS:
            got = activity.active_members(engine.receipts_of(snap, b), snap.cards, basis=basis, backend=b, **kw)
            close(got, ref)


def test_churn_is_the_same_through_the_engine(snap, study):
    groups = activity.customer_groups(snap.customers, snap.cards, members=study.members["customer_id"])
    for days in (60, 120):
        ref = activity.churn_rate(snap.transactions, end=study.end, churn_days=days, groups=groups, by="member")
        assert ref["successes"].sum() > 0
        for b in BACKENDS:
            src = engine.receipts_of(snap, b)
            got = activity.churn_rate(src, end=study.end, churn_days=days, groups=groups, by="member", backend=b)
            close(got, ref)


def test_a_connection_string_reads_the_receipts_where_they_are(tmp_path, snap):
    import duckdb

    url = f"duckdb://{tmp_path / 'shop.ddb'}"
    with duckdb.connect(str(tmp_path / "shop.ddb")) as db:
        db.register("tx", tiny())
        db.execute("CREATE TABLE transactions AS SELECT * FROM tx")
    ds = Dataset(
        customers=pd.DataFrame(), cards=pd.DataFrame(), transactions=tiny().iloc[:0]
    )  # the warehouse's table is read, not this one
    src = engine.receipts_of(ds, url)
    assert not isinstance(src, pd.DataFrame)
    close(engine.customer_month(src, backend=url), engine.customer_month(tiny(), backend="pandas"))
    # a database without the receipts: the snapshot's Parquet file is read into it
    other = f"duckdb://{tmp_path / 'empty.ddb'}"
    assert str(engine.receipts_of(snap, other)).endswith("transactions.parquet")
    close(
        engine.store_month(engine.receipts_of(snap, other), backend=other),
        engine.store_month(snap.transactions, backend="pandas"),
    )
