"""Campaigns: hand-worked contacts, then recovery of the planted uplift on generated branches."""

import numpy as np
import pandas as pd
import pytest

from loyalty_lib import io, synth, truth
from loyalty_lib.metrics import campaigns as cp
from loyalty_lib.plotting import campaigns as pc


def _offers(rows):
    df = pd.DataFrame(rows, columns=["customer_id", "date", "group"])
    return df.assign(
        offer_id=np.arange(1, len(df) + 1), date=pd.to_datetime(df["date"]), channel="sms", offer_type="win_back"
    )


def test_contact_outcomes_counts_the_window_and_the_history_by_hand():
    off = _offers([("a", "2026-03-05 10:00", "treatment"), ("b", "2026-03-05 10:00", "holdout")])
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", None, "b"],
            "date": pd.to_datetime(
                [
                    "2026-02-01 10:00",  # a: 32 days before: outside a 30-day history
                    "2026-03-01 10:00",  # a: in the history, 4 days before
                    "2026-03-05 10:00",  # a: at the contact itself: neither before nor after
                    "2026-03-19 10:00",  # a: exactly 14 days after: the window's last instant counts
                    "2026-03-19 10:01",  # b: one minute past the window
                    "2026-03-06 10:00",  # anonymous receipt: nobody's response
                    "2026-03-04 22:00",  # b: in the history
                ]
            ),
            "amount": [1.0, 20.0, 300.0, 4000.0, 50000.0, 7.0, 60.0],
        }
    )
    o = cp.contact_outcomes(off, tx, window_days=14, history_days=30)
    assert o["responded"].tolist() == [True, False]
    assert o["visits"].tolist() == [1, 0]
    assert o["revenue"].tolist() == [4000.0, 0.0]
    assert o["prior_visits"].tolist() == [1, 1]
    assert o["prior_revenue"].tolist() == [20.0, 60.0]
    # a's last receipt before the contact: 4 days; b's: 12 hours
    assert o["days_since_last"].round(6).tolist() == [4.0, 0.5]
    assert o["treated"].tolist() == [True, False] and o["month"].tolist() == ["2026-03", "2026-03"]


def test_contact_outcomes_a_return_is_no_response_but_nets_into_revenue():
    """a: sale 1 Mar (200), contact 5 Mar, return of that sale 8 Mar (-50), sale 12 Mar (80).
    b: sale 2 Mar (90), contact 5 Mar, only a return 9 Mar (-90) in the window.
    """
    off = _offers([("a", "2026-03-05", "treatment"), ("b", "2026-03-05", "holdout")])
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b"],
            "date": pd.to_datetime(["2026-03-01", "2026-03-08", "2026-03-12", "2026-03-02", "2026-03-09"]),
            "gross_amount": [200.0, -50.0, 80.0, 90.0, -90.0],
            "amount": [200.0, -50.0, 80.0, 90.0, -90.0],
        }
    )
    o = cp.contact_outcomes(off, tx, window_days=14, history_days=30)
    assert o["visits"].tolist() == [1, 0]  # the returns are no visits
    assert o["responded"].tolist() == [True, False]  # b only brought something back: no response
    assert o["revenue"].tolist() == pytest.approx([30.0, -90.0])  # 80 - 50; -90
    assert o["prior_visits"].tolist() == [1, 1] and o["prior_revenue"].tolist() == pytest.approx([200.0, 90.0])
    assert o["days_since_last"].tolist() == pytest.approx([4.0, 3.0])
    # before (1 Feb - 4 Mar) and after (5 Mar - 3 Apr) the first contact: a sale each before; after, a's
    # sale of 80 and return of 50, b's return of 90 (no visit)
    r = cp.targeting_comparison(
        tx, pd.Series(["a"]), pd.Series(["a", "b"]), reference_date="2026-03-05", before_days=32, after_days=30
    )
    assert r.loc["naive_gap_visits", ["contacted_mean", "others_mean"]].tolist() == [1.0, 0.0]
    assert r.loc["naive_gap_revenue", ["contacted_mean", "others_mean"]].tolist() == pytest.approx([30.0, -90.0])


def test_contact_outcomes_reads_the_window_from_the_table_and_names_a_missing_column():
    off = _offers([("a", "2026-03-05", "treatment")]).assign(response_window_days=3)
    tx = pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2026-03-07"]), "amount": [5.0]})
    assert cp.contact_outcomes(off, tx)["visits"].tolist() == [1]
    assert cp.contact_outcomes(off.assign(response_window_days=1), tx)["visits"].tolist() == [0]
    with pytest.raises(ValueError, match="table 'offers' lacks column.*'group'"):
        cp.contact_outcomes(off.drop(columns="group"), tx)
    with pytest.raises(ValueError, match="window_days"):
        cp.contact_outcomes(off, tx, window_days=0)


def test_uplift_counts_a_customer_once_by_hand():
    # contacted: customer 1 twice (1, 0), customer 2 once (1) -> 2/3; held out: 3 (0), 4 (1) -> 1/2
    o = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 3, 4],
            "treated": [True, True, True, False, False],
            "responded": [1, 0, 1, 0, 1],
            "offer_type": "x",
        }
    )
    r = cp.uplift(o, by="offer_type").iloc[0]
    assert r["offer_type"] == "x"
    assert r["estimate"] == pytest.approx(2 / 3 - 1 / 2)
    assert (r["n_treated"], r["n_holdout"], r["n"]) == (3, 2, 5)
    # clustered SE of the contacted mean: per-customer residuals (1 - 2*2/3), (1 - 2/3) -> sqrt(2 * (1/9 + 1/9)) / 3
    se_t = np.sqrt(2 * (1 / 9 + 1 / 9)) / 3
    se_h = np.sqrt(2 * (1 / 4 + 1 / 4)) / 2
    assert r["se"] == pytest.approx(np.hypot(se_t, se_h))
    assert r["ci_low"] == pytest.approx(r["estimate"] - 1.959964 * r["se"], rel=1e-5)


def test_uplift_groups_without_a_holdout_get_no_estimate():
    o = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "treated": [True, True, False],
            "responded": [1, 0, 1],
            "channel": ["sms", "email", "sms"],
        }
    )
    u = cp.uplift(o, by="channel").set_index("channel")
    assert np.isnan(u.loc["email", "estimate"]) and u.loc["email", "n_holdout"] == 0
    assert u.loc["sms", "estimate"] == pytest.approx(0.0)


def test_cuped_removes_what_the_history_explains():
    # revenue = history + 10 when contacted: the plain difference is off by the chance gap in history,
    # the adjusted one is exactly 10 with no spread left
    x = np.array([0.0, 100.0, 50.0, 10.0, 90.0, 30.0])
    w = np.array([True, True, True, False, False, False])
    o = pd.DataFrame({"customer_id": range(6), "treated": w, "revenue": x + 10 * w, "prior_revenue": x})
    plain = cp.uplift(o, outcome="revenue", by=None).iloc[0]
    adj = cp.uplift(o, outcome="revenue", by=None, covariate="prior_revenue").iloc[0]
    assert plain["estimate"] == pytest.approx(10 + (150 / 3 - 130 / 3))
    # theta = cov(y, x) / var(x) is not exactly 1 (y also holds the 10 of contacted rows), but close
    assert abs(adj["estimate"] - 10) < abs(plain["estimate"] - 10)
    assert adj["se"] < plain["se"]


def test_visit_ratio_by_hand():
    o = pd.DataFrame({"customer_id": [1, 2, 3, 4], "treated": [True, True, False, False], "visits": [3, 1, 1, 1]})
    r = cp.visit_ratio(o).iloc[0]
    assert r["estimate"] == pytest.approx(2.0) and r["treated_mean"] == 2.0 and r["holdout_mean"] == 1.0
    assert r["ci_low"] < 2.0 < r["ci_high"]


def test_campaign_roi_with_a_cost_table_by_hand():
    o = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 5, 6],
            "month": ["m1"] * 4 + ["m2"] * 2,
            "treated": [True, True, False, False, True, False],
            "revenue": [300.0, 100.0, 100.0, 100.0, 50.0, 50.0],
        }
    )
    costs = pd.DataFrame({"month": ["m1", "m2"], "cost": [40.0, 10.0]})
    r = cp.campaign_roi(o, costs, margin=0.25, covariate=None).set_index("month")
    # m1: uplift 200 - 100 = 100 per contact x 2 contacted = 200; ROI (0.25 * 200 - 40) / 40 = 25 %
    assert r.loc["m1", "incremental_revenue"] == pytest.approx(200.0)
    assert r.loc["m1", "roi_pct"] == pytest.approx(25.0)
    # m2: no uplift, the cost is lost: -100 %
    assert r.loc["m2", "roi_pct"] == pytest.approx(-100.0)
    # break-even incremental revenue = cost / margin: 40 / 0.25 = 160 and 10 / 0.25 = 40
    assert r["break_even_revenue"].tolist() == pytest.approx([160.0, 40.0])
    with pytest.raises(ValueError, match="margin"):
        cp.campaign_roi(o, costs, margin=30)


def test_campaign_roi_says_when_the_cost_is_too_small_for_the_roi_to_mean_anything():
    # two contacted (300, 100), two held out (100, 100): uplift 100 per contact, 200 in all;
    # margin 0.5 x half the incremental interval's width against the cost decides the flag
    o = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "month": "m1",
            "treated": [True, True, False, False],
            "revenue": [300.0, 100.0, 100.0, 100.0],
        }
    )
    r = cp.campaign_roi(o, 0.01, margin=0.5, covariate=None).iloc[0]
    half = 0.5 * (r["incremental_ci_high"] - r["incremental_ci_low"]) / 2
    assert half > 0.02 and not r["roi_informative"]
    assert r["roi_ci_high"] - r["roi_ci_low"] > 200  # the interval that says little
    # a cost as large as that uncertainty makes the ROI a reading again; at exactly the boundary it is
    r2 = cp.campaign_roi(o, half / 2, margin=0.5, covariate=None).iloc[0]
    assert r2["cost"] == pytest.approx(half) and r2["roi_informative"]
    assert r2["roi_ci_high"] - r2["roi_ci_low"] == pytest.approx(200.0)
    r3 = cp.campaign_roi(o, half / 2 * 0.99, margin=0.5, covariate=None).iloc[0]
    assert not r3["roi_informative"]


def test_holdout_size_and_detectable_uplift_invert_each_other():
    # Cohen's h for 35 % vs 30 %: 2 asin(sqrt(.35)) - 2 asin(sqrt(.30)) = 0.10682;
    # equal arms: n = 2 (1.95996 + 0.84162)^2 / h^2 = 1375.6 -> 1376 each
    s = cp.holdout_size(0.30, 0.05, holdout_share=0.5).iloc[0]
    assert s["effect_size"] == pytest.approx(0.10682, abs=1e-5)
    assert (s["n_holdout"], s["n_treated"], s["n_total"]) == (1376, 1376, 2752)
    # a 20 % holdout: the held-out arm grows, n_h = (1 + 1/4) (z_a + z_b)^2 / h^2
    s20 = cp.holdout_size(0.30, 0.05, holdout_share=0.2).iloc[0]
    assert s20["n_holdout"] == int(np.ceil(1.25 * (1.959964 + 0.841621) ** 2 / 0.1068242**2))
    assert cp.detectable_uplift(0.30, int(s20["n_treated"]), int(s20["n_holdout"])) == pytest.approx(0.05, abs=5e-4)
    assert np.isnan(cp.detectable_uplift(0.3, 0, 10))
    with pytest.raises(ValueError, match="holdout_share"):
        cp.holdout_size(0.3, 0.05, holdout_share=1.0)
    with pytest.raises(ValueError, match="uplift"):
        cp.holdout_size(0.3, -0.01)


def test_qini_of_a_good_and_a_reversed_ranking_by_hand():
    # ranked by "good": contacted responders first, held-out responders last
    s = pd.DataFrame({"treated": [True, False] * 4, "responded": [1, 0, 1, 0, 0, 1, 0, 1]})
    s["good"] = np.arange(8)[::-1]
    s["bad"] = np.arange(8)
    g, b = cp.qini_curve(s, score="good", points=2), cp.qini_curve(s, score="bad", points=2)
    # top half, good: R_t = 2 of N_t = 2, R_h = 0 -> gain 2 -> 25 per 100 of 8; reversed: 0 - 2 * 2/2 = -2 -> -25
    assert g["incremental_per_100"].tolist() == [25.0, 0.0]
    assert b["incremental_per_100"].tolist() == [-25.0, 0.0]
    assert g["estimate"].tolist() == [1.0, 0.0] and g["n"].tolist() == [4, 8]


def test_targeting_comparison_balance_by_hand():
    tx = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 1, 3],
            "date": pd.to_datetime(["2026-01-10"] * 4 + ["2026-02-10"] * 2),
            "amount": [30.0, 10.0, 0.5, 1.5, 40.0, 1.0],
        }
    )
    r = cp.targeting_comparison(
        tx, pd.Series([1, 2]), pd.Series([1, 2, 3, 4]), reference_date="2026-02-01", before_days=30, after_days=30
    )
    # before: contacted 30, 10 (mean 20, sd 14.142); others 0.5, 1.5 (mean 1, sd 0.7071)
    pooled = np.sqrt((200 + 0.5) / 2)
    assert r.loc["balance_revenue", "estimate"] == pytest.approx(19 / pooled)
    # after: contacted 40, 0 -> 20; others 1, 0 -> 0.5; naive gap 19.5; change 0 vs -0.5 -> 0.5
    assert r.loc["naive_gap_revenue", "estimate"] == pytest.approx(19.5)
    assert r.loc["before_after_revenue", "estimate"] == pytest.approx(0.5)
    assert r.loc["naive_gap_visits", "estimate"] == pytest.approx(0.5 - 0.5)


def test_uplift_scores_find_who_responds_to_the_contact(rng):
    n = 4000
    kind = rng.choice(["a", "b"], n)
    w = rng.random(n) < 0.5
    p = 0.3 + np.where((kind == "a") & w, 0.3, 0.0)  # only kind a responds to a contact
    o = pd.DataFrame(
        {
            "customer_id": np.arange(n) // 2,
            "treated": w,
            "responded": rng.random(n) < p,
            "prior_visits": rng.poisson(2, n),
            "prior_revenue": rng.gamma(2, 100, n),
            "days_since_last": rng.exponential(30, n),
            "offer_type": kind,
            "channel": "sms",
        }
    )
    s = cp.uplift_scores(o, seed=1)
    # half of the customers are tested, each with both of their contacts (never split between the parts)
    assert 0.4 < len(s) / n < 0.6 and (s.groupby("customer_id").size() == 2).all()
    assert s.groupby("offer_type")["score"].mean().idxmax() == "a"
    with pytest.raises(ValueError, match="held-out"):
        cp.uplift_scores(o.assign(treated=True), seed=1)


def test_plots_label_their_axes():
    import matplotlib.pyplot as plt

    curve = pd.DataFrame({"share": [0.5, 1.0], "incremental_per_100": [2.0, 3.0]})
    _, ax = plt.subplots()
    assert pc.plot_qini({"model": curve}, ax=ax) is ax and "share" in ax.get_xlabel()
    _, ax = plt.subplots()
    pc.plot_holdout_size(cp.holdout_size(0.3, [0.02, 0.05]), ax=ax)
    assert "uplift" in ax.get_xlabel() and ax.get_ylabel() == "addressees needed (log scale)"


@pytest.mark.parametrize("seed", [3, 5, 8])
def test_response_uplift_recovers_the_planted_one_across_seeds(seed):
    ds = synth.generate(n_customers=6000, seed=seed)
    o = cp.contact_outcomes(ds.offers, ds.transactions)
    # the generator's own response flag is what contact_outcomes computes from the receipts
    assert (o["responded"].to_numpy() == ds.offers["responded"].to_numpy()).all()
    overall = truth.annotate(cp.uplift(o, by=None), ds, "campaign_uplift", outcomes=o, outcome="responded")
    assert truth.covered(overall).all(), overall
    planted_json = ds.truth["campaigns"]["uplift"]
    by_type = truth.annotate(cp.uplift(o, by="offer_type"), ds, "campaign_uplift", outcomes=o, outcome="responded")
    assert truth.covered(by_type).mean() >= 0.75, by_type
    by_cell = truth.annotate(cp.uplift(o), ds, "campaign_uplift", outcomes=o, outcome="responded")
    assert truth.covered(by_cell).mean() >= 0.8
    # the realised effect per cell sits near the generator's planted probability
    cell_json = [planted_json[t][c] for t, c in zip(by_cell["offer_type"], by_cell["channel"], strict=True)]
    assert np.corrcoef(by_cell["truth"], cell_json)[0, 1] > 0.7
    revenue = truth.annotate(
        cp.uplift(o, outcome="revenue", by=None, covariate="prior_revenue"),
        ds,
        "campaign_uplift",
        outcomes=o,
        outcome="revenue",
    )
    assert truth.covered(revenue).all(), revenue


def test_predicted_uplift_beats_the_heaviest_buyers_on_the_default_branch(branch_dir):
    ds = io.load(branch_dir)
    o = cp.contact_outcomes(ds.offers, ds.transactions)
    s = cp.uplift_scores(o, seed=42)
    eff = truth.contact_effects(s, ds)
    k = int(0.3 * len(s))
    caught = {
        rule: eff.loc[s.nlargest(k, col).index].query("treated")["caused_response"].mean()
        for rule, col in [("model", "score"), ("heaviest", "prior_revenue")]
    }
    assert caught["model"] > 2 * caught["heaviest"], caught
    ratio = truth.annotate(cp.visit_ratio(o), ds, "campaign_visit_ratio", outcomes=o).iloc[0]
    assert ratio["ci_low"] <= ratio["truth"] <= ratio["ci_high"] and ratio["ci_high"] < 2
