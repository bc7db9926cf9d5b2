import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from loyalty_lib.metrics import basket
from loyalty_lib.plotting import basket as pb

Z = sps.norm.ppf(0.975)


def ts(s):
    return pd.Timestamp(s)


# ---------------------------------------------------------------- tiers
def test_tier_labels_and_assign():
    assert basket.tier_labels([1500, 5000, 15000]) == ["<1,500", "1,500-5,000", "5,000-15,000", "15,000+"]
    # gross >= threshold reaches the tier: 1500 -> tier 1, 4999.99 -> tier 1, 5000 -> tier 2
    t = basket.assign_tier([100, 1500, 4999.99, 5000, 15000, 20000], [1500, 5000, 15000])
    assert list(t.codes) == [0, 1, 1, 2, 3, 3]


@pytest.mark.parametrize("bad", [[], [5000, 1500], [0, 100], [100, 100]])
def test_bad_thresholds_raise(bad):
    with pytest.raises(ValueError, match="thresholds"):
        basket.assign_tier([1.0], bad)


# ---------------------------------------------------------------- receipts and checks
@pytest.fixture
def tiny():
    # customer 1 gets a card on 10 Jan 2026; customer 2 never does
    cards = pd.DataFrame({"card_id": [1, 2], "customer_id": [1, None], "issued_date": [ts("2026-01-10"), pd.NaT]})
    tx = pd.DataFrame(
        {
            "transaction_id": [1, 2, 3, 4, 5],
            "customer_id": [1, 1, 1, 2, 2],
            "date": [ts("2026-01-05"), ts("2026-01-10 14:00"), ts("2026-01-20"), ts("2026-01-02"), ts("2026-02-01")],
            "gross_amount": [100.0, 1600.0, 5200.0, 300.0, 900.0],
            "discount_amount": [0.0, 80.0, 364.0, 0.0, 0.0],
            "amount": [100.0, 1520.0, 4836.0, 300.0, 900.0],
            "n_items": [1, 3, 5, 2, 4],
        }
    )
    return tx, cards


def test_label_receipts(tiny):
    tx, cards = tiny
    out = basket.label_receipts(tx, cards)
    # the issue day counts as member; launch = 10 Jan, so 5 Jan and 2 Jan are pre-launch
    assert out["status"].tolist() == ["member_before_issue", "member", "member", "non_member", "non_member"]
    assert out["post_launch"].tolist() == [False, True, True, False, True]
    assert out["tier"].astype(str).tolist() == ["<1,500", "1,500-5,000", "5,000-15,000", "<1,500", "<1,500"]
    assert out["ever_member"].tolist() == [True, True, True, False, False]
    assert "status" not in tx  # input untouched


def test_label_receipts_items_from_lines(tiny):
    tx, cards = tiny
    lines = pd.DataFrame({"transaction_item_id": range(4), "transaction_id": [1, 1, 3, 3]})
    out = basket.label_receipts(tx.drop(columns="n_items"), cards, transaction_items=lines)
    # receipts 1 and 3 have 2 lines each; the rest have no lines listed -> NaN
    np.testing.assert_array_equal(out["n_items"].to_numpy(), [2.0, np.nan, 2.0, np.nan, np.nan])


def test_check_summary_by_hand():
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 2],
            "amount": [100.0, 200.0, 300.0],
            "gross_amount": [100.0, 200.0, 330.0],
            "n_items": [1, 3, np.nan],
        }
    )
    out = basket.check_summary(tx).set_index("metric")
    # net: (100 + 200 + 300) / 3 = 200; gross: 630 / 3 = 210; items: (1 + 3) / 2 = 2
    assert out.loc["net_check", "estimate"] == pytest.approx(200)
    assert out.loc["gross_check", "estimate"] == pytest.approx(210)
    assert out.loc["items_per_check", "estimate"] == pytest.approx(2)
    assert out.loc["items_per_check", "n"] == 2
    # clustered SE: customer sums A = (300, 300), N = (2, 1), m = 200,
    # z = A - m N = (-100, 100); Var = G/(G-1) * sum z^2 / (sum N)^2 = 2 * 20000 / 9
    se = np.sqrt(2 * 20000 / 9)
    assert out.loc["net_check", "ci_high"] - 200 == pytest.approx(Z * se)
    assert out.loc["net_check", "n_customers"] == 2


def test_check_summary_by_group(tiny):
    tx, cards = tiny
    out = basket.check_summary(basket.label_receipts(tx, cards), by="status")
    net = out[out["metric"] == "net_check"].set_index("status")["estimate"]
    # member: (1520 + 4836) / 2 = 3178; non-member: (300 + 900) / 2 = 600
    assert net["member"] == pytest.approx(3178)
    assert net["non_member"] == pytest.approx(600)
    assert net["member_before_issue"] == pytest.approx(100)
    assert set(out.columns) == {"status", "metric", "estimate", "ci_low", "ci_high", "n", "n_customers"}


@pytest.mark.parametrize("drop", ["customer_id", "amount", "gross_amount"])
def test_check_summary_names_missing_column(tiny, drop):
    tx, _ = tiny
    with pytest.raises(ValueError, match=drop):
        basket.check_summary(tx.drop(columns=drop))


def test_tier_shares(tiny):
    tx, cards = tiny
    out = basket.tier_shares(basket.label_receipts(tx, cards), by="ever_member")
    mem = out[out["ever_member"]].set_index("tier")["estimate"]
    # member receipts: 100 (<1,500), 1600 (1,500-5,000), 5200 (5,000-15,000): 1/3 each
    assert mem.to_numpy() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 0])
    assert out.groupby("ever_member")["estimate"].sum().to_numpy() == pytest.approx([1, 1])


@pytest.fixture
def with_return(tiny):
    """The tiny till plus a return receipt: on 25 Jan member 1 brings back 520 of receipt 3 (5,200).

    Gross -520, card discount given back -36.40 (7 % of 520), paid -483.60; one returned line.
    """
    tx, cards = tiny
    ret = pd.DataFrame(
        {
            "transaction_id": [6],
            "customer_id": [1],
            "date": [ts("2026-01-25")],
            "gross_amount": [-520.0],
            "discount_amount": [-36.4],
            "amount": [-483.6],
            "n_items": [1],
            "original_receipt_id": [3],
        }
    )
    tx = pd.concat([tx.assign(original_receipt_id=pd.NA), ret], ignore_index=True)
    return tx, cards


def test_a_return_receipt_is_not_a_check_but_nets_into_revenue(with_return):
    tx, cards = with_return
    lab = basket.label_receipts(tx, cards)
    assert lab["visit"].tolist() == [True] * 5 + [False]
    # the return takes the tier of the sale it refunds (5,200: tier 5,000-15,000), not "<1,500"
    assert lab["tier"].astype(str).iloc[5] == "5,000-15,000"
    out = basket.check_summary(lab, by="status")
    net = out[out["metric"] == "net_check"].set_index("status")
    # member: (1520 + 4836 - 483.60) / 2 sales receipts = 2936.20 (3178 without the return)
    assert net.loc["member", "estimate"] == pytest.approx(2936.2)
    assert net.loc["member", "n"] == 2
    gross = out[out["metric"] == "gross_check"].set_index("status")
    assert gross.loc["member", "estimate"] == pytest.approx((1600 + 5200 - 520) / 2)
    items = out[out["metric"] == "items_per_check"].set_index("status")
    assert items.loc["member", "estimate"] == pytest.approx((3 + 5) / 2)  # the returned line is no item bought
    # tier shares count sales receipts only: member 1/3 in each of the first three tiers, as before
    shares = basket.tier_shares(lab, by="ever_member")
    mem = shares[shares["ever_member"]].set_index("tier")["estimate"]
    assert mem.to_numpy() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 0])


def test_discount_cost_nets_a_return_into_the_tier_it_refunds(with_return):
    tx, cards = with_return
    cost = basket.discount_cost(basket.label_receipts(tx, cards)).set_index("tier")
    # tier 5,000-15,000: one sales receipt; discount 364 - 36.40 = 327.60 on gross 5200 - 520 = 4680
    row = cost.loc["5,000-15,000"]
    assert row["n_checks"] == 1
    assert row["discount_cost"] == pytest.approx(327.6)
    assert row["effective_rate"] == pytest.approx(327.6 / 4680)
    assert cost.loc["total", "n_checks"] == 5
    assert cost.loc["total", "net_revenue"] == pytest.approx(100 + 1520 + 4836 + 300 + 900 - 483.6)


def test_before_after_checks_net_a_return_into_the_window(with_return):
    tx, cards = with_return
    out = basket.before_after_checks(tx, cards, window_days=30, amount_col="amount").set_index("customer_id")
    # member 1: before (5 Jan) 100 on 1 receipt; after (20 Jan sale 4836, 25 Jan return -483.60) on 1 receipt;
    # the issue-day receipt (10 Jan) is in neither window
    assert out.loc[1, "n_after"] == 1
    assert out.loc[1, "check_after"] == pytest.approx(4836 - 483.6)
    assert out.loc[1, "check_before"] == pytest.approx(100)


# ---------------------------------------------------------------- before / after
def test_before_after_checks_by_hand():
    cards = pd.DataFrame({"card_id": [1, 2, 3], "customer_id": [1, 2, 3], "issued_date": [ts("2026-01-10")] * 3})
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 2, 3, 3, 4],
            "date": [
                ts("2025-12-01"),
                ts("2025-12-15"),
                ts("2026-01-10 12:00"),
                ts("2026-02-01"),
                ts("2026-02-01"),
                ts("2024-01-01"),
                ts("2026-03-01"),
                ts("2026-01-01"),
            ],
            "gross_amount": [100.0, 300.0, 999.0, 260.0, 50.0, 70.0, 80.0, 10.0],
        }
    )
    out = basket.before_after_checks(tx, cards)
    # customer 1: before (100 + 300) / 2 = 200, the issue-day 999 is skipped, after 260.
    # customer 2 has nothing before; customer 3's 2024 receipt is > 365 days before issue;
    # customer 4 has no card.
    assert out["customer_id"].tolist() == [1]
    r = out.iloc[0]
    assert (r.check_before, r.check_after, r.difference, r.n_before, r.n_after) == (200.0, 260.0, 60.0, 2, 1)


def test_paired_change_by_hand():
    pm = pd.DataFrame({"check_before": [100.0, 200.0, 300.0], "check_after": [110.0, 230.0, 330.0]})
    out = basket.paired_change(pm)
    # d = (10, 30, 30): mean 70/3; sd = sqrt(((-40/3)^2 + 2 (20/3)^2) / 2) = sqrt(400/3)
    assert out.loc["difference", "estimate"] == pytest.approx(70 / 3)
    half = sps.t.ppf(0.975, 2) * np.sqrt(400 / 3) / np.sqrt(3)
    assert out.loc["difference", "ci_high"] == pytest.approx(70 / 3 + half)
    # relative change = mean(d) / mean(before) = (70/3) / 200
    assert out.loc["relative_change", "estimate"] == pytest.approx(70 / 600)
    assert out.loc["check_after", "estimate"] == pytest.approx(670 / 3)
    assert (out["n"] == 3).all()


def test_before_after_bad_window():
    with pytest.raises(ValueError, match="window_days"):
        basket.before_after_checks(pd.DataFrame(), pd.DataFrame(), window_days=0)


# ---------------------------------------------------------------- discount cost
def test_discount_cost_by_hand():
    tx = pd.DataFrame(
        {
            "tier": ["a", "b", "b", "c"],
            "gross_amount": [100.0, 2000.0, 3000.0, 900.0],
            "discount_amount": [0.0, 100.0, 150.0, 90.0],
            "amount": [100.0, 1900.0, 2850.0, 810.0],
        }
    )
    out = basket.discount_cost(tx).set_index("tier")
    # tier b: 250 discount on 5000 gross -> 5 %; share of all gross 250 / 6000
    assert out.loc["b", "discount_cost"] == 250
    assert out.loc["b", "effective_rate"] == pytest.approx(0.05)
    assert out.loc["b", "share_of_revenue"] == pytest.approx(250 / 6000)
    assert out.loc["c", "share_of_discounts"] == pytest.approx(90 / 340)
    assert out.loc["total", "discount_cost"] == 340
    assert out.loc["total", "n_checks"] == 4
    assert out.loc["total", "share_of_revenue"] == pytest.approx(340 / 6000)


def test_discount_cost_names_missing_column():
    with pytest.raises(ValueError, match="discount_amount"):
        basket.discount_cost(pd.DataFrame({"tier": [1], "gross_amount": [1.0], "amount": [1.0]}))


# ---------------------------------------------------------------- bunching
def _flat_with_bunch(moved_per_bin=2, n_moved_bins=5, per_bin=10):
    """Receipts on a flat histogram around T = 1000 with 10 RUB bins (1 % of T).

    span 40 % -> bins from 600 to 1400 (80 bins), per_bin receipts at each bin middle.
    Then ``moved_per_bin`` receipts leave each of the ``n_moved_bins`` bins just below T and
    land in the first bin above T.
    """
    mids = np.arange(605.0, 1400.0, 10.0)
    counts = np.full(len(mids), per_bin)
    below = (mids > 1000 - 10 * n_moved_bins) & (mids < 1000)
    counts[below] -= moved_per_bin
    counts[mids == 1005.0] += moved_per_bin * n_moved_bins
    g = np.repeat(mids, counts)
    return pd.DataFrame({"customer_id": np.arange(len(g)), "gross_amount": g})


def test_bunching_histogram_by_hand():
    tx = _flat_with_bunch()
    h = basket.bunching_histogram(tx, [1000], span_pct=40, bin_pct=1, below_pct=15, above_pct=5)
    assert len(h) == 80 and h["bin_left"].iloc[0] == 600 and h["bin_right"].iloc[-1] == 1400
    # the fit sees only bins outside [850, 1050): all hold 10, so the counterfactual is 10
    assert h["counterfactual"].to_numpy() == pytest.approx(np.full(80, 10.0))
    assert h.loc[h["bin_mid"] == 1005, "count"].item() == 20
    assert (h["window"] == "below").sum() == 15 and (h["window"] == "above").sum() == 5


def test_bunching_excess_mass_by_hand():
    tx = _flat_with_bunch()
    out = basket.bunching(tx, [1000], span_pct=40, bin_pct=1, below_pct=15, above_pct=5, n_boot=50)
    r = out.loc[1000.0]
    # 5 bins just below lose 2 receipts each; the bin above gains 10:
    # excess = sum(observed - 10) above = 10; missing = sum(10 - observed) below = 10
    assert r["estimate"] == pytest.approx(10)
    assert r["missing_mass"] == pytest.approx(10)
    # counterfactual in the 5 bins above = 5 * 10 = 50; excess ratio = 10 / 50
    assert r["counterfactual_above"] == pytest.approx(50)
    assert r["excess_ratio"] == pytest.approx(0.2)
    assert r["n"] == 800
    assert r["ci_low"] <= r["estimate"] <= r["ci_high"]
    # top-up: the 10 missing checks sat 45, 35, 25, 15, 5 RUB below T (2 each) -> mean 25;
    # all 10 landed in the bin 5 RUB above T -> 5; a moved check grew by 25 + 5 = 30 RUB
    assert r["top_up"] == pytest.approx(30)


def test_bunching_placebo_flat_is_zero():
    tx = _flat_with_bunch(moved_per_bin=0)
    out = basket.bunching(tx, [1000], n_boot=20, customer_col=None)
    assert np.isnan(out["top_up"].item())  # no moved checks, no top-up to speak of
    assert out["estimate"].item() == pytest.approx(0, abs=1e-9)
    assert out["missing_mass"].item() == pytest.approx(0, abs=1e-9)


def test_bunching_ranges_stop_half_way_between_thresholds():
    tx = _flat_with_bunch()
    h = basket.bunching_histogram(tx, [1000, 1200], span_pct=40, below_pct=5, above_pct=3)
    # the range of 1000 ends at (1000 + 1200) / 2 = 1100, the range of 1200 starts there
    assert h.loc[h["threshold"] == 1000, "bin_right"].max() <= 1100
    assert h.loc[h["threshold"] == 1200, "bin_left"].min() >= 1100


def test_bunching_too_few_bins_raises():
    with pytest.raises(ValueError, match="bins outside"):
        basket.bunching(_flat_with_bunch(), [1000], span_pct=10, below_pct=9, above_pct=9)


def test_bunching_names_missing_column():
    with pytest.raises(ValueError, match="gross_amount"):
        basket.bunching(pd.DataFrame({"customer_id": [1]}), [1000])


def test_planted_top_up_by_hand():
    tx = pd.DataFrame({"transaction_id": [1, 2, 3, 4, 5], "gross_amount": [1510.0, 1530.0, 5100.0, 900.0, 1520.0]})
    tt = pd.DataFrame(
        {
            "transaction_id": [1, 2, 3, 4, 5],
            "cf_gross_amount": [1250.0, 1300.0, 4500.0, 900.0, 0.0],
            "bunched": [True, True, True, False, True],
        }
    )
    out = basket.planted_top_up(tx, tt, [1500, 5000, 15000], landing_pct=4, uplift_pct=8)
    # at 1500: 1510 - 1250 * 1.08 = 160 and 1530 - 1300 * 1.08 = 126 -> mean 143;
    # receipt 5 has no no-program twin; at 5000: 5100 - 4500 * 1.08 = 240; none at 15000
    assert out.loc[1500.0] == pytest.approx(143)
    assert out.loc[5000.0] == pytest.approx(240)
    assert np.isnan(out.loc[15000.0])
    with pytest.raises(ValueError, match="bunched"):
        basket.planted_top_up(tx, tt.drop(columns="bunched"), [1500], landing_pct=4, uplift_pct=8)


# ---------------------------------------------------------------- plots
def test_plot_bunching_draws_on_given_ax():
    h = basket.bunching_histogram(_flat_with_bunch(), [1000])
    fig, ax = plt.subplots()
    out = pb.plot_bunching(h, currency="RUB", ax=ax)
    assert out is ax
    assert ax.get_xlabel() == "gross check, RUB" and ax.get_ylabel() == "receipts per bin"
    assert pb.plot_bunching(h, ax=plt.subplots()[1]).get_xlabel() == "gross check"  # no currency assumed
    assert len(ax.patches) == len(h)


def test_plot_bunching_needs_threshold_when_several():
    h = basket.bunching_histogram(_flat_with_bunch(), [1000, 1300], below_pct=5, above_pct=3)
    with pytest.raises(ValueError, match="threshold"):
        pb.plot_bunching(h, ax=plt.subplots()[1])


def test_other_plots_draw_on_given_ax(tiny):
    tx, cards = tiny
    lab = basket.label_receipts(tx, cards)
    fig, axes = plt.subplots(1, 3)
    assert pb.plot_check_histogram(lab, thresholds=[1500], hue="status", ax=axes[0]) is axes[0]
    assert axes[0].get_xscale() == "log"
    pm = pd.DataFrame({"check_before": [100.0, 200.0], "check_after": [120.0, 180.0]})
    assert pb.plot_before_after(pm, currency="EUR", ax=axes[1]).get_ylabel() == "mean check after the card, EUR"
    assert pb.plot_discount_cost(basket.discount_cost(lab), ax=axes[2]) is axes[2]
    assert len(axes[2].patches) == 4  # four tiers, the total row skipped


# ---------------------------------------------------------------- recovery on generated data
def _bunching_sweep(scenario, n_customers, seeds):
    """Excess mass at the tiers of generated data, one row per seed and threshold, beside the moved checks."""
    from loyalty_lib import synth

    rows = []
    for seed in seeds:
        ds = synth.generate(scenario, n_customers=n_customers, seed=seed)
        card = ds.transactions[ds.transactions["card_id"].notna()]
        out = basket.bunching(card, ds.truth["tiers"]["thresholds"], n_boot=300, seed=7)
        moved = ds.truth["bunching"]["moved_checks"]
        rows += [
            dict(seed=seed, threshold=t, moved=moved[f"{t:g}"], estimate=r["estimate"], lo=r["ci_low"], hi=r["ci_high"])
            for t, r in out.iterrows()
        ]
    d = pd.DataFrame(rows)
    return d.assign(error=d["estimate"] - d["moved"], covered=(d["lo"] <= d["moved"]) & (d["moved"] <= d["hi"]))


def _unbiased_and_covering(d, max_misses):
    g = d.groupby("threshold")["error"].agg(["mean", "std", "size"])
    assert (g["mean"].abs() <= 3 * g["std"] / np.sqrt(g["size"])).all(), g
    assert (~d["covered"]).sum() <= max_misses, d


def test_bunching_recovers_planted_moved_checks():
    """On 5 seeds of the teaching branch (8,000 customers) the excess mass is unbiased at each tier and at
    most one of the 15 intervals misses the checks the generator moved (one in twenty may, by chance)."""
    from loyalty_lib import synth

    _unbiased_and_covering(_bunching_sweep("sergey_branch", 8000, range(1, 6)), max_misses=1)
    ds = synth.generate(n_customers=8000, seed=1)
    truth = ds.truth["bunching"]
    # the excluded window must hold where moved checks come from and where they land
    assert truth["window_pct"] <= 15 and truth["landing_pct"] <= 5
    # placebo: receipts of customers who never held a card show no bunching
    lab = basket.label_receipts(ds.transactions, ds.cards)
    placebo = basket.bunching(lab[lab["status"] == "non_member"], n_boot=200, seed=1)
    assert ((placebo["ci_low"] <= 0) & (placebo["ci_high"] >= 0)).all(), placebo


def test_walk_ins_bunching_is_unbiased_on_a_few_seeds():
    """Walk-ins put the first tier (25 EUR) near the mode of the card checks: the counterfactual still holds.

    The smaller version of the sweep below, on the example's size: on 5 seeds the mean error at each
    threshold stays within 3 standard errors of 0, and at most one interval in the 15 misses its moved checks.
    """
    _unbiased_and_covering(_bunching_sweep("walk_ins", 2400, range(1, 6)), max_misses=1)


@pytest.mark.slow
def test_walk_ins_bunching_intervals_cover_the_moved_checks_across_seeds():
    """40 seeds of the walk-ins example: measured 39/40, 40/40, 40/40 covered at 25, 80, 250 EUR; mean error
    +0.00, +0.22 and +0.46 checks against a spread of 5.6, 4.0 and 2.6 (the example's seed 11 was the one miss:
    its checks without the program happen to dip below 25 EUR and bump above it)."""
    d = _bunching_sweep("walk_ins", 2400, range(1, 41))
    g = d.groupby("threshold").agg(coverage=("covered", "mean"), bias=("error", "mean"), sd=("error", "std"))
    assert (g["coverage"] >= 0.88).all(), g
    assert (g["bias"].abs() <= 3 * g["sd"] / np.sqrt(40)).all(), g


def test_group_difference_by_hand():
    s = pd.DataFrame(
        {
            "status": ["member", "non_member"],
            "metric": "net_check",
            "estimate": [300.0, 200.0],
            "ci_low": [300 - 3 * Z, 200 - 4 * Z],
            "ci_high": [300 + 3 * Z, 200 + 4 * Z],
            "n": [10, 20],
        }
    )
    out = basket.group_difference(s).iloc[0]
    # se 3 and 4 -> se of the difference sqrt(9 + 16) = 5; 300 / 200 - 1 = 0.5
    assert out["estimate"] == 100 and out["ci_high"] == pytest.approx(100 + 5 * Z)
    assert out["relative"] == pytest.approx(0.5) and out["n"] == 30
    with pytest.raises(ValueError, match="no net_check row"):
        basket.group_difference(s, b="ghost")


def test_top_up_recovers_planted_at_default_size(default_ds):
    # how many RUB a moved check grew: the mean planted top-up lies in the bootstrap interval
    tx, truth = default_ds.transactions, default_ds.truth
    out = basket.bunching(tx[tx["card_id"].notna()], truth["tiers"]["thresholds"], n_boot=200, seed=1)
    top = basket.planted_top_up(
        tx,
        default_ds.truth_tables["transactions"],
        out.index,
        landing_pct=truth["bunching"]["landing_pct"],
        uplift_pct=truth["uplift"]["check_pct"],
    )
    for thr, r in out.iterrows():
        assert r["top_up_ci_low"] <= top[thr] <= r["top_up_ci_high"], (thr, top[thr], r.to_dict())


def test_anonymous_receipts_are_clusters_of_their_own():
    # two receipts of customer 1 (100, 300) and two anonymous receipts (50, 150): the average check
    # is 600 / 4 = 150 for all receipts, and the anonymous ones count as two clusters, not zero
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, None, None],
            "amount": [100.0, 300.0, 50.0, 150.0],
            "gross_amount": [100.0, 300.0, 50.0, 150.0],
            "date": pd.to_datetime(["2025-01-02"] * 4),
        }
    )
    lab = basket.label_receipts(
        tx, pd.DataFrame(), thresholds=[120.0], member_since=pd.Series(dtype="M8[ns]"), launch="2025-01-01"
    )
    assert lab["status"].tolist() == ["non_member", "non_member", "anonymous", "anonymous"]
    out = basket.check_summary(lab, items_col=None).set_index("metric")
    assert out.loc["net_check", "estimate"] == 150.0 and out.loc["net_check", "n_customers"] == 3
    by = basket.check_summary(lab, by="status", items_col=None)
    anon = by[(by["status"] == "anonymous") & (by["metric"] == "net_check")].iloc[0]
    assert anon["estimate"] == 100.0 and anon["n_customers"] == 2 and anon["ci_low"] < 100.0 < anon["ci_high"]
    shares = basket.tier_shares(lab, by="status")
    assert shares["estimate"].between(0, 1).all()
    a = shares[shares["status"] == "anonymous"].set_index("tier")["estimate"]
    assert a.tolist() == [0.5, 0.5]  # 50 below the 120 tier, 150 above
