"""Offers: rules, similarity, the recommender and its evaluation by hand; it beats the baselines on planted taste."""

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from loyalty_lib import synth
from loyalty_lib.escape import write_csv
from loyalty_lib.metrics import offers as of
from loyalty_lib.plotting import offers as po


def test_line_history_keeps_identified_customers_in_the_window():
    items = pd.DataFrame({"transaction_id": ["t1", "t2", "t3", "t4"], "product_id": ["p", "q", "p", "x"]})
    tx = pd.DataFrame(
        {
            "transaction_id": ["t1", "t2", "t3", "t4"],
            "customer_id": ["a", None, "b", "a"],
            "date": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-03-01", "2026-02-01"]),
        }
    )
    prod = pd.DataFrame({"product_id": ["p", "q"], "category": ["tea", "water"]})
    h = of.line_history(items, tx, prod, end="2026-03-01")
    assert h["transaction_id"].tolist() == ["t1", "t4"]  # t2 anonymous, t3 on the end day
    assert h["category"].iloc[0] == "tea" and pd.isna(h["category"].iloc[1])  # x: not in the catalogue, kept


def test_association_rules_count_a_receipt_once():
    lines = pd.DataFrame({"transaction_id": [1, 1, 1, 2, 3], "product_id": ["a", "a", "b", "a", "b"]})
    r = of.association_rules(lines, item="product_id").set_index(["antecedent", "consequent"])
    # receipts: {a, b}, {a}, {b}: support(a, b) = 1/3; confidence a -> b = 1/2; lift = (1/2) / (2/3)
    assert r.loc[("a", "b"), "n_both"] == 1
    assert r.loc[("a", "b"), "confidence"] == pytest.approx(0.5)
    assert r.loc[("a", "b"), "lift"] == pytest.approx(0.75)
    assert of.association_rules(lines, item="product_id", min_support=0.5).empty


def test_recommender_batches_and_exclusion():
    m = sparse.csr_matrix(np.array([[3.0, 0, 0, 1], [0, 1, 0, 0], [1, 1, 1, 0], [0, 0, 2, 2]]))
    s = of.item_similarity(m)
    whole = of.recommend_products(m, s, k=3, batch=100)
    one_by_one = of.recommend_products(m, s, k=3, batch=1)
    pd.testing.assert_frame_equal(whole, one_by_one)
    new = of.recommend_products(m, s, k=2, exclude_bought=True)
    bought = {(r, c) for r, c in zip(*m.nonzero(), strict=True)}
    assert not {(r, c) for r, c in zip(new["row"], new["item"], strict=True)} & bought
    assert set(new["reason"]) <= {"clients like you", "popular"}


def test_evaluation_by_hand():
    recs = {
        "m": pd.DataFrame(
            {"customer_id": ["a", "a", "b", "b"], "product_id": ["p", "q", "r", "p"], "rank": [1, 2, 1, 2]}
        ),
        "n": pd.DataFrame(
            {"customer_id": ["a", "a", "b", "b"], "product_id": ["z", "p", "z", "y"], "rank": [1, 2, 1, 2]}
        ),
    }
    test = pd.DataFrame({"customer_id": ["a", "b", "b", "c"], "product_id": ["q", "r", "s", "p"]})
    s, p = of.evaluate_recommendations(recs, test, k=2, n_products=10, customers=["a", "b"])
    # m: a hits q at rank 2 -> ndcg 1/log2(3) = 0.6309 over an ideal 1;
    # b hits r at rank 1 of 2 relevant -> 1 / (1 + 0.6309)
    ndcg_a, ndcg_b = 1 / np.log2(3), 1 / (1 + 1 / np.log2(3))
    assert s.loc[("m", "ndcg"), "estimate"] == pytest.approx((ndcg_a + ndcg_b) / 2)
    assert s.loc[("m", "precision"), "estimate"] == pytest.approx(0.5)
    assert s.loc[("m", "recall"), "estimate"] == pytest.approx((1 + 0.5) / 2)
    assert s.loc[("m", "hit_rate"), "estimate"] == 1.0 and s.loc[("n", "hit_rate"), "estimate"] == 0.0
    assert s.loc[("m", "coverage"), "estimate"] == pytest.approx(3 / 10)
    assert p.loc[("m", "n", "precision"), "estimate"] == pytest.approx(0.5)
    assert s.loc[("m", "ndcg"), "n"] == 2  # c is not judged


def _shop():
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "birthday": pd.to_datetime(["1980-03-05", None, "1990-12-01"]),
            "opt_in_email": [True, True, False],
            "opt_in_sms": [True, False, False],
        }
    )
    products = pd.DataFrame(
        {
            "product_id": ["tea", "tea_gold", "soap", "mug"],
            "category": ["drinks", "drinks", "hygiene", "kitchen"],
            "is_premium": [False, True, False, False],
            "replenishment_days": [np.nan, np.nan, 30.0, np.nan],
        }
    )
    # a buys tea every 10 days (last on 20 Feb); b bought soap once, 25 days before 1 March;
    # c bought mugs every 5 days until 100 days ago
    rows = [("a", f"2026-02-{d:02d}", "tea") for d in (1, 10, 20)] + [("b", "2026-02-04", "soap")]
    rows += [("c", str((pd.Timestamp("2025-11-21") - pd.Timedelta(days=5 * i)).date()), "mug") for i in range(4)]
    rows += [("x", "2026-02-02", "tea_gold")]
    d = pd.DataFrame(rows, columns=["customer_id", "date", "product_id"]).assign(
        date=lambda x: pd.to_datetime(x["date"])
    )
    d["transaction_id"] = [f"t{i}" for i in range(len(d))]
    tx = d[["transaction_id", "customer_id", "date"]].assign(amount=10.0)
    return customers, products, d, tx


def test_next_best_offers_by_hand():
    customers, products, lines, tx = _shop()
    nbo = of.next_best_offers(lines, tx, customers, products, as_of="2026-03-01", n_offers=5)
    got = {(r.customer_id, r.offer_type): r for r in nbo.itertuples()}
    # a: tea every (20 - 1) / 2 = 9.5 days, last 9 days ago -> due in half a day
    rep = got[("a", "replenishment")]
    assert rep.product_id == "tea" and rep.reason == "due again: bought about every 10 days, last 9 days ago"
    # a bought tea three times, never the premium tea_gold
    assert got[("a", "up_sell")].product_id == "tea_gold"
    # a's birthday on 5 March, within 30 days; valid until a week after it
    assert got[("a", "birthday")].valid_to == pd.Timestamp("2026-03-12")
    # b: one purchase of soap, the catalogue's 30-day cycle: due in 5 days
    assert got[("b", "replenishment")].product_id == "soap"
    # c: every 5 days, then nothing for 100 days: win-back
    assert got[("c", "win_back")].reason == "no purchase for 100 days; usually every 5"
    # channels: a has e-mail and SMS (weights tie: first listed), c none -> in the store
    assert set(nbo.loc[nbo["customer_id"] == "c", "channel"]) == {"in_store"}
    assert nbo.groupby("customer_id")["rank"].apply(lambda r: list(r) == list(range(1, len(r) + 1))).all()
    weighted = of.next_best_offers(
        lines,
        tx,
        customers,
        products,
        as_of="2026-03-01",
        n_offers=1,
        type_weight={"birthday": 0.01},
        channel_weight={"sms": 2.0},
    )
    first_a = weighted[weighted["customer_id"] == "a"].iloc[0]
    assert first_a["offer_type"] != "birthday" and first_a["channel"] == "sms"


def test_crm_file_neutralises_formulas(tmp_path):
    customers, products, lines, tx = _shop()
    nbo = of.next_best_offers(
        lines, tx, customers.assign(customer_id=["=cmd|a", "b", "c"]), products, as_of="2026-03-01"
    )
    # the customer id "=cmd|a" is no longer in the lines: its offers are birthday only
    path = write_csv(nbo, tmp_path / "nbo.csv")
    text = path.read_text()
    assert "'=cmd|a" in text and "\n=cmd" not in text


def test_plots_label_their_axes():
    import matplotlib.pyplot as plt

    idx = pd.MultiIndex.from_product([["a", "b"], ["hit_rate", "ndcg"]], names=["method", "metric"])
    summary = pd.DataFrame({"estimate": [0.5, 0.3, 0.4, 0.2], "ci_low": 0.1, "ci_high": 0.6}, index=idx)
    _, ax = plt.subplots()
    assert po.plot_recommender_metrics(summary, metrics=("hit_rate", "ndcg"), ax=ax) is ax
    assert ax.get_ylabel() == "share (95 % CI)"
    _, ax = plt.subplots()
    po.plot_offer_mix(
        pd.DataFrame({"customer_id": [1, 1, 2], "rank": [1, 2, 1], "channel": ["sms", "email", "sms"]}),
        by="channel",
        ax=ax,
    )
    assert ax.get_xlabel() == "offers"


def _evaluate(ds, k=10):
    lines = of.line_history(ds.transaction_items, ds.transactions, ds.products)
    split = pd.Timestamp(ds.truth["period"]["end"]) - pd.Timedelta(days=90)
    train, test = lines[lines["date"] < split], lines[lines["date"] >= split]
    m, cust, items = of.interaction_matrix(train, items=pd.Index(ds.products["product_id"]))
    rec = of.recommend_products(m, of.item_similarity(m), k=k)
    pop = of.popular_products(train, k=2 * k)
    methods = {
        "model": pd.DataFrame({"customer_id": cust[rec["row"]], "product_id": items[rec["item"]], "rank": rec["rank"]}),
        "popular": pd.DataFrame(
            {
                "customer_id": np.repeat(cust.to_numpy(), k),
                "product_id": np.tile(pop[:k], len(cust)),
                "rank": np.tile(np.arange(1, k + 1), len(cust)),
            }
        ),
        "last": of.last_bought(train, k=k, fill=pop),
    }
    judged = pd.Index(pd.unique(test["customer_id"])).intersection(cust)
    return of.evaluate_recommendations(methods, test, k=k, n_products=len(items), customers=judged)


def test_recommender_beats_both_baselines_on_planted_taste(small_ds):
    _, paired = _evaluate(small_ds)
    for base in ["popular", "last"]:
        for metric in ["ndcg", "precision", "recall"]:
            assert paired.loc[("model", base, metric), "ci_low"] > 0, (base, metric)


def test_without_planted_taste_the_recommender_has_little_to_learn():
    ds = synth.generate(n_customers=3000, seed=11, repertoire_share=0.0)
    summary, paired = _evaluate(ds)
    # products are drawn by one popularity for everyone: the best-sellers are as good as it gets
    gain = paired.loc[("model", "popular", "ndcg")]
    assert gain["estimate"] < 0.02, gain


def test_coded_lines_give_the_text_lines_offers_and_baselines(small_ds):
    """The integer-coded history is the text history, and every step gives the same answer on it."""
    ds = small_ds
    text = of.line_history(ds.transaction_items, ds.transactions, ds.products)
    h = of.coded_line_history(ds)
    back = h.label(h.lines, {"customer_id": "customer", "product_id": "product"})
    assert len(back) == len(text)
    for col in ["customer_id", "product_id", "date"]:
        assert back[col].tolist() == text[col].tolist(), col
    cats = np.asarray(h.categories, dtype=object)[h.lines["category"].to_numpy(dtype=np.int64)]
    assert cats.tolist() == text["category"].tolist()
    pop_text = of.popular_products(text, k=20)
    pop_code = of.popular_products(h.lines, k=20, labels=h.products)
    assert list(pop_text) == list(h.products[pop_code])
    rules_text = of.association_rules(text, item="category")
    rules_code = h.label(
        of.association_rules(h.lines, item="category"), {"antecedent": "category", "consequent": "category"}
    )
    pd.testing.assert_frame_equal(rules_text, rules_code)
    as_of = pd.Timestamp(ds.truth["period"]["end"])
    kw = dict(as_of=as_of, contacts=ds.offers)
    nbo_text = of.next_best_offers(text, ds.transactions, ds.customers, ds.products, **kw)
    nbo_code = of.next_best_offers(h.lines, ds.transactions, ds.customers, ds.products, codes=True, **kw)
    pd.testing.assert_frame_equal(nbo_text, nbo_code)
