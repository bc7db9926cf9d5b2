"""Audience: segments, shares, headroom and RFM on hand-worked tables; planted shares recovered."""

import numpy as np
import pandas as pd
import pytest

from loyalty_lib import truth
from loyalty_lib.metrics import audience as au
from loyalty_lib.plotting import audience as pa


def test_segment_columns_by_hand():
    c = pd.DataFrame(
        {
            "customer_id": ["1", "2", "3", "4"],
            "customer_type": ["b2c", "b2c", "b2b", None],
            "age": [24, 25, 70, None],
            "gender": ["f", None, None, "m"],
        }
    )
    tx = pd.DataFrame({"customer_id": ["1", "1", "2", None], "channel": ["offline", "delivery", "offline", "delivery"]})
    s = au.segment_columns(c, tx, age_edges=(25, 65))
    assert s["age_band"].tolist() == ["<25", "25-64", "65+", "unknown"]
    assert s["gender"].tolist() == ["f", "unknown", "unknown", "m"]
    assert s["customer_type"].tolist() == ["b2c", "b2c", "b2b", "unknown"]
    assert s["channel"].tolist() == ["both", "offline", "none", "none"]  # the anonymous receipt is nobody's
    assert "income_band" not in s and "district" not in s
    banded = au.segment_columns(c.drop(columns="age").assign(age_band=["18-24", "25-34", None, "35-44"]))
    assert banded["age_band"].tolist() == ["18-24", "25-34", "unknown", "35-44"]
    with pytest.raises(ValueError, match="table 'customers' lacks column.*'customer_type'"):
        au.segment_columns(c.drop(columns="customer_type"))


def test_customer_values_count_the_window_and_the_discount():
    c = pd.DataFrame({"customer_id": ["a", "b", "c"]})
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", None, "b"],
            "date": pd.to_datetime(["2026-01-01", "2026-06-30", "2026-03-01", "2026-03-01", "2026-07-01"]),
            "gross_amount": [100.0, 200.0, 50.0, 999.0, 70.0],
            "discount_amount": [10.0, 0.0, 5.0, 0.0, 0.0],
        }
    ).assign(amount=lambda d: d["gross_amount"] - d["discount_amount"])
    v = au.customer_values(c, tx, start="2026-01-01", end="2026-07-01", margin=0.25)
    # a: 90 + 200 = 290 revenue, margin 0.25 * 300 - 10 = 65; b: only March (July is past the end)
    assert v["revenue"].tolist() == [290.0, 45.0, 0.0]
    assert v["margin"].tolist() == pytest.approx([65.0, 0.25 * 50 - 5, 0.0])
    assert v["receipts"].tolist() == [2, 1, 0]
    with pytest.raises(ValueError, match="margin"):
        au.customer_values(c, tx, margin=30)


def test_segment_shares_by_hand():
    v = pd.DataFrame(
        {"customer_id": [1, 2, 3, 4, 5], "revenue": [10.0, 30.0, 0.0, 60.0, 0.0], "margin": [1.0, 3.0, 0.0, 2.0, 4.0]}
    )
    s = pd.DataFrame({"customer_id": [5, 4, 3, 2, 1], "t": ["x", "y", "x", "x", "x"]})  # another order: joined by id
    r = au.segment_shares(v, s, n_boot=50, seed=1).set_index("segment")
    # y = customer 4 only: 1/5 of customers, 60/100 of revenue, 2/10 of margin, index 0.6 / 0.2 = 3
    assert r.loc["y", "customer_share"] == pytest.approx(0.2)
    assert r.loc["y", "revenue_share"] == pytest.approx(0.6)
    assert r.loc["y", "margin_share"] == pytest.approx(0.2)
    assert r.loc["y", "index"] == pytest.approx(3.0)
    assert r.loc["x", "revenue_per_customer"] == pytest.approx(40 / 4)
    assert r["customers"].tolist() == [4, 1]
    for f in ["customer_share", "revenue_share"]:
        assert (r[f"{f}_ci_low"] <= r[f] + 1e-12).all() and (r[f] <= r[f"{f}_ci_high"] + 1e-12).all()


def test_headroom_leaves_unknown_out():
    s = pd.DataFrame(
        {
            "dimension": ["g"] * 3,
            "segment": ["f", "m", "unknown"],
            "customers": [4, 2, 9],
            "revenue_per_customer": [5.0, 8.0, 100.0],
        }
    )
    h = au.headroom(s).set_index("segment")
    assert "unknown" not in h.index
    assert h.loc["f", "headroom"] == 4 * 3.0 and h.loc["f", "next_segment"] == "m"
    assert h.loc["m", "headroom"] == 0.0


def test_rfm_table_by_hand():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", None],
            "date": pd.to_datetime(
                ["2025-03-01 00:00", "2026-01-05 00:00", "2026-03-10 18:00", "2026-03-11 00:00", "2026-03-01 00:00"]
            ),
            "amount": [1000.0, 20.0, 30.0, 5.0, 7.0],
        }
    )
    r = au.rfm_table(tx, as_of="2026-03-11", window_days=90, customers=pd.Series(["a", "b", "z"])).set_index(
        "customer_id"
    )
    # a: January and March count (March 2025 is before the window), last at 10 March 18:00 -> 0.25 days
    assert r.loc["a", "frequency"] == 2 and r.loc["a", "monetary"] == 50.0
    assert r.loc["a", "recency_days"] == pytest.approx(0.25)
    # b bought on the as-of day itself, which is after the last day counted
    assert r.loc["b", "frequency"] == 0 and np.isnan(r.loc["b", "recency_days"])
    assert r.loc["z", "frequency"] == 0


def test_rfm_scores_from_the_data_give_equal_values_equal_scores():
    rfm = pd.DataFrame(
        {
            "customer_id": range(10),
            "recency_days": np.arange(10.0) * 10,
            "frequency": [1, 1, 1, 1, 1, 1, 2, 3, 8, 20],
            "monetary": np.arange(1.0, 11.0) * 100,
        }
    )
    s, cuts = au.rfm_scores(rfm)
    # quintile cuts of frequency: 1, 1, 1.4, 4 (linear interpolation) -> value 1 beats none
    assert cuts["frequency"] == pytest.approx([1.0, 1.0, 1.4, 4.0])
    assert s["f_score"].tolist() == [1] * 6 + [4, 4, 5, 5]
    assert s["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]  # recent is better
    assert s["m_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    with pytest.raises(ValueError, match="cuts\\['recency'\\] must be 4 increasing"):
        au.rfm_scores(rfm, cuts={"recency": [1, 2]})
    with pytest.raises(ValueError, match="bins"):
        au.rfm_scores(rfm, bins=1)


def test_monthly_segments_and_migration_by_hand():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "b", "b"],
            "date": pd.to_datetime(["2026-01-10", "2026-01-15", "2026-02-10"]),
            "amount": [10.0, 10.0, 10.0],
        }
    )
    cuts = {"recency": [10, 20, 40, 60], "frequency": [1, 1.5, 2.5, 3.5], "monetary": [5, 15, 25, 35]}
    m = au.monthly_segments(tx, ["2026-02-01", "2026-03-01"], window_days=365, cuts=cuts)
    seg = m.pivot(index="customer_id", columns="as_of", values="segment")
    # 1 Feb: a (22 days, 1 receipt) and b (17 days) are promising/new territory; 1 Mar: a is 50 days out
    s = au.rfm_scores(au.rfm_table(tx, as_of="2026-03-01"), cuts=cuts)[0].set_index("customer_id")
    assert seg.iloc[:, 1].to_dict() == s["segment"].to_dict()
    mat = au.migration_matrix(m, normalize=False)
    assert mat.to_numpy().sum() == 2  # two customers, one pair of months
    assert m.attrs["cuts"] == cuts


def test_migration_matrix_counts_moves_by_hand():
    m = pd.DataFrame(
        {
            "as_of": pd.to_datetime(
                ["2026-03-01", "2026-01-01", "2026-02-01", "2026-01-01", "2026-02-01", "2026-01-01"]
            ),
            "customer_id": ["a", "a", "a", "b", "b", "c"],
            "segment": ["loyal", "champions", "champions", "champions", "loyal", "at_risk"],
        }
    )
    # a: champions -> champions (Jan -> Feb), champions -> loyal (Feb -> Mar); b: champions -> loyal;
    # c has no February: no pair. Rows and columns in RFM_SEGMENTS order, only the segments seen
    mat = au.migration_matrix(m, normalize=False)
    assert list(mat.index) == list(mat.columns) == ["champions", "loyal", "at_risk"]
    assert mat.loc["champions"].tolist() == [1, 2, 0] and mat.to_numpy().sum() == 3
    share = au.migration_matrix(m)
    assert share.loc["champions", "loyal"] == pytest.approx(2 / 3) and share.loc["loyal"].isna().all()
    with pytest.raises(ValueError, match="column segment: not RFM segments.*'vip'"):
        au.migration_matrix(m.assign(segment=["vip"] + m["segment"].tolist()[1:]))


def test_plots_label_their_axes():
    import matplotlib.pyplot as plt

    shares = pd.DataFrame(
        {
            "dimension": "t",
            "segment": ["a", "b"],
            **{
                f"{f}{e}": [0.4, 0.6]
                for f in ("customer_share", "revenue_share", "margin_share")
                for e in ("", "_ci_low", "_ci_high")
            },
        }
    )
    _, ax = plt.subplots()
    assert pa.plot_segment_shares(shares, dimension="t", ax=ax) is ax and ax.get_ylabel() == "share (95 % CI)"
    mat = pd.DataFrame([[0.9, 0.1], [0.2, 0.8]], index=["new", "loyal"], columns=["new", "loyal"])
    _, ax = plt.subplots()
    assert pa.plot_migration(mat, ax=ax).get_xlabel() == "segment the month after"
    _, ax = plt.subplots()
    pa.plot_segment_flow(mat * 10, ax=ax, labels=("Jan", "Dec"))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Jan", "Dec"]


def test_segments_sort_the_planted_visit_rate(small_ds):
    ds = small_ds
    seg = au.assign_segments(ds.transactions, customers=ds.customers["customer_id"])
    planted = ds.truth_tables["customers"].set_index("customer_id")["base_rate_per_year"]
    rate = seg.assign(rate=seg["customer_id"].map(planted)).groupby("segment")["rate"].mean()
    assert rate["champions"] > rate["loyal"] > rate["hibernating"] > rate["inactive"]


@pytest.mark.parametrize("seed", [11, 12])
def test_customer_shares_recover_the_planted_population(seed, small_ds):
    from loyalty_lib import synth

    ds = small_ds if seed == 11 else synth.generate(n_customers=3000, seed=seed)
    seg = au.segment_columns(ds.customers, ds.transactions)
    values = au.customer_values(ds.customers, ds.transactions)
    shares = truth.annotate(au.segment_shares(values, seg, n_boot=200, seed=seed), ds, "population_shares")
    planted = au.share_frame(shares[shares["truth"].notna()])
    assert set(planted["dimension"]) >= {"customer_type", "gender", "district", "age_band"}
    assert truth.covered(planted).mean() >= 0.85, planted
    assert truth.covered(planted[planted["dimension"] == "customer_type"]).all()
