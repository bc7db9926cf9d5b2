"""The Study: every set-up choice derived from the data and the parameters, never from planted truth."""

from __future__ import annotations

import contextlib
import io as _io
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from loyalty_lib import cli, config, io
from loyalty_lib.dataset import Dataset
from loyalty_lib.study import ANALYSES, Study, format_study, infer_tiers, merge_parameters
from loyalty_lib.synth.scenario import SCENARIOS

EXAMPLE = config.PROJECT_DIR / "examples" / "own_data"


def toy(
    *,
    members: int = 30,
    non_members: int = 0,
    start: str = "2024-01-01",
    days: int = 364,
    gap: int = 7,
    join_day: int | None = 0,
    issue_dates: bool = True,
    issue_offset: int = 0,
    first_seen_before: bool = False,
    anonymous: int = 0,
    currency=None,
    **tables,
) -> Dataset:
    """A hand-made shop: every customer buys every ``gap`` days; members show a card from ``join_day``.

    Customer i buys on days ``i % gap + k * gap``. Checks are 500 + 100 * (i % 10), no discount.
    """
    n = members + non_members
    ids = np.arange(1, n + 1)
    t0 = pd.Timestamp(start)
    k = np.arange(days // gap + 1)
    cust = np.repeat(ids, len(k))
    day = np.repeat(ids % gap, len(k)) + np.tile(k * gap, n)
    keep = day < days
    cust, day = cust[keep], day[keep]
    date = t0 + pd.to_timedelta(day, unit="D") + pd.Timedelta(hours=10)
    is_member = cust <= members
    jd = 0 if join_day is None else join_day
    card = np.where(is_member & (day >= jd), cust.astype(float), np.nan)
    gross = 500.0 + 100.0 * (cust % 10)
    tx = pd.DataFrame(
        {
            "transaction_id": np.arange(1, len(cust) + 1),
            "customer_id": cust.astype(float),
            "date": date,
            "gross_amount": gross,
            "discount_amount": 0.0,
            "amount": gross,
            "channel": "offline",
            "store_id": "S1",
            "card_id": card,
        }
    )
    if anonymous:
        anon = tx.iloc[:anonymous].copy()
        anon["transaction_id"] = np.arange(len(tx) + 1, len(tx) + anonymous + 1)
        anon["customer_id"] = np.nan
        anon["card_id"] = np.nan
        tx = pd.concat([tx, anon], ignore_index=True)
    if currency is not None:
        tx["currency"] = currency if isinstance(currency, str) else np.resize(currency, len(tx))
    mids = ids[:members]
    issued = t0 + pd.to_timedelta(np.full(members, jd + issue_offset), unit="D") if issue_dates else pd.NaT
    cards = pd.DataFrame({"card_id": mids.astype(float), "customer_id": mids.astype(float), "issued_date": issued})
    cards["issued_date"] = pd.to_datetime(cards["issued_date"])
    fs = t0 - pd.Timedelta(days=400) if first_seen_before else t0 + pd.to_timedelta(ids % gap, unit="D")
    customers = pd.DataFrame({"customer_id": ids.astype(float), "customer_type": "b2c", "first_seen": fs})
    return Dataset(customers=customers, cards=cards, transactions=tx, **tables)


# ----------------------------------------------------------------------------- the committed data
@pytest.fixture(scope="module")
def sample():
    return io.load(config.SAMPLE_DIR)


def test_sample_study_matches_the_teaching_case(sample):
    s = Study.from_data(sample)
    assert (s.start, s.end, s.launch) == (
        pd.Timestamp("2025-01-01"),
        pd.Timestamp("2027-01-01"),
        pd.Timestamp("2026-01-01"),
    )
    assert s.program == "launched in the data" and s.pre_period_days == 365
    assert s.tier_thresholds == (1500.0, 5000.0, 15000.0)
    assert s.tier_rates == pytest.approx((0.05, 0.07, 0.10))
    assert s.currency == "" and s.currency_label == "money units"  # never assumed: the teaching case passes RUB
    assert s.issue_dates_known and s.left_censored
    assert s.printed_cards == len(sample.cards)
    assert s.n_members == sample.cards["customer_id"].nunique()
    assert s.last_day == pd.Timestamp("2026-12-31")
    # every analysis but the branch comparison: the teaching branch's cards are used in all its stores
    assert [a for a in ANALYSES if not s.can(a)] == ["branch_did"], s.capabilities()
    d = s.describe()
    assert list(d.columns) == ["concept", "value", "source", "note"]
    assert set(d["source"]) <= {"parameter", "data", "default"}
    assert d["concept"].is_unique


def test_example_export_through_its_mapping():
    ds = io.load(EXAMPLE / "export", mapping=EXAMPLE / "mapping.yaml")
    s = Study.from_data(ds)
    first_issue = pd.to_datetime(ds.cards["issued_date"]).min().normalize()
    assert s.launch == first_issue and s.program == "launched in the data"
    assert s.tier_thresholds == (1500.0, 5000.0, 15000.0)
    assert not s.can("nps") and "surveys" in s.why("nps")
    assert not s.can("goal_gradient") and "points_ledger" in s.why("goal_gradient")
    assert not s.can("campaigns")
    assert s.can("roi") and "ledger" in s.why("roi")
    assert s.can("did") and s.can("clv")


# ----------------------------------------------------------------------------- never from truth
class _Forbidden(Mapping):
    """A truth that fails the test on any look inside."""

    def __getitem__(self, key):
        raise AssertionError(f"the Study read planted truth ({key!r})")

    def __iter__(self):
        raise AssertionError("the Study iterated over planted truth")

    def __len__(self):
        raise AssertionError("the Study looked at planted truth")


def test_study_is_derived_from_data_only_and_recovers_the_scenario(small_ds):
    s = Study.from_data(small_ds)
    blind = Study.from_data(replace(small_ds, truth=None, truth_tables={}))
    poisoned = Study.from_data(replace(small_ds, truth=_Forbidden(), truth_tables=_Forbidden()))
    for other in (blind, poisoned):
        assert other == s
        pd.testing.assert_frame_equal(other.describe(), s.describe())
        pd.testing.assert_frame_equal(other.capabilities(), s.capabilities())
        pd.testing.assert_frame_equal(other.customers, s.customers)
    sc = SCENARIOS["sergey_branch"]
    assert (s.start, s.launch, s.end) == (sc.t_start, sc.t_launch, sc.t_end)
    assert s.tier_thresholds == sc.tier_thresholds
    assert s.tier_rates == pytest.approx(sc.tier_rates)
    # the data's "first seen before the start" is exactly the generator's established customers
    tc = small_ds.truth_tables["customers"]
    planted = set(tc.loc[tc["established"].astype(bool), "customer_id"])
    assert set(s.established_ids) == planted


def test_tiers_follow_a_changed_schedule():
    from loyalty_lib import synth

    ds = synth.generate(n_customers=1500, seed=3, tier_thresholds=(1000, 3000), tier_rates=(0.03, 0.08))
    s = Study.from_data(ds)
    assert s.tier_thresholds == (1000.0, 3000.0)
    assert s.tier_rates == pytest.approx((0.03, 0.08))


# ----------------------------------------------------------------------------- launch rules
def test_members_only_without_issue_dates_is_a_program_older_than_the_data():
    ds = toy(members=40, non_members=0, issue_dates=False, join_day=0)
    s = Study.from_data(ds)
    assert s.program == "older than the data" and s.launch is None and s.program_older_than_data
    assert s.pre_period_days == 0 and not s.issue_dates_known
    assert (s.members["join_source"] == "first card use").all()
    assert not s.can("did")
    assert s.why("did").startswith(
        "no identified non-members: the export has receipts of card holders only; "
        "no pre-period: the program is older than the data"
    )
    assert "control group" in s.why("did")
    assert not s.can("enrollment_funnel") and "older than the data" in s.why("enrollment_funnel")
    assert not s.can("activation") and "issue dates are unknown" in s.why("activation")
    assert not s.can("imputation_did") and not s.can("propensity")
    assert not s.can("nps") and not s.can("goal_gradient") and not s.can("campaigns")
    assert not s.can("roi") and "program_costs" in s.why("roi")
    assert s.can("return_curve") and s.can("clv")
    # 40 weekly shoppers all appear in the first week: histories began before the data
    assert s.left_censored
    assert len(s.established_ids) == 40
    row = s.describe().set_index("concept").loc["program launch"]
    assert (row["value"], row["source"]) == ("older than the data", "data")


def test_launch_from_the_first_card_receipt_when_issue_dates_are_unknown():
    ds = toy(members=25, non_members=25, issue_dates=False, join_day=100)
    s = Study.from_data(ds)
    # the first card receipt: day 100 or the first purchase day after it (customer i buys on i % 7 + 7k)
    first_card = ds.transactions.loc[ds.transactions["card_id"].notna(), "date"].min().normalize()
    assert first_card == pd.Timestamp("2024-01-01") + pd.Timedelta(days=100)
    assert s.launch == first_card and s.program == "launched in the data"
    assert s.pre_period_days == 100
    assert s.describe().set_index("concept").loc["program launch", "note"].startswith("issue dates unknown")
    assert s.can("did") and s.can("propensity")
    assert not s.can("activation")


def test_launch_from_the_first_issue_date():
    ds = toy(members=25, non_members=25, join_day=60, issue_offset=-3)
    s = Study.from_data(ds)
    assert s.launch == pd.Timestamp("2024-01-01") + pd.Timedelta(days=57)
    assert (s.members["join_source"] == "issue date").all()
    assert s.can("activation") and s.can("enrollment_funnel") and s.can("did")
    assert s.pre_period_days == 57


def test_cards_issued_before_the_data_mean_an_older_program():
    ds = toy(members=25, non_members=25, join_day=0, issue_offset=-30)
    s = Study.from_data(ds)
    assert s.program == "older than the data" and s.launch is None
    assert "before the data start" in s.describe().set_index("concept").loc["program launch", "note"]
    assert not s.can("did") and "no pre-period" in s.why("did")


def test_issue_dates_piled_up_on_the_first_day_are_truncated():
    ds = toy(members=40, non_members=10, join_day=0)  # all 40 cards "issued" on the data's first day
    s = Study.from_data(ds)
    assert s.program == "older than the data"
    assert "truncated" in s.describe().set_index("concept").loc["program launch", "note"]


def test_a_launch_parameter_wins_and_is_labelled():
    ds = toy(members=25, non_members=25, join_day=60)
    s = Study.from_data(ds, {"launch_date": "2024-02-15", "seed": 7})  # notebook keys are ignored
    assert s.launch == pd.Timestamp("2024-02-15") and s.pre_period_days == 45
    row = s.describe().set_index("concept").loc["program launch"]
    assert (row["value"], row["source"]) == ("2024-02-15", "parameter")
    older = Study.from_data(ds, {"program_older_than_data": True})
    assert older.program_older_than_data and older.launch is None


def test_no_card_at_all_means_no_program():
    ds = toy(members=0, non_members=30)
    s = Study.from_data(ds)
    assert s.program == "none in the data" and s.launch is None
    assert not s.can("enrollment_funnel") and "no card" in s.why("enrollment_funnel")
    assert not s.can("bunching")
    assert s.can("clv") and s.can("return_curve")


# ----------------------------------------------------------------------------- who is observed
def test_non_members_anonymous_receipts_and_established_customers():
    ds = toy(members=25, non_members=30, join_day=60, anonymous=7, first_seen_before=True)
    s = Study.from_data(ds)
    assert (s.n_members, s.n_non_members, s.n_customers) == (25, 30, 55)
    assert s.n_anonymous_receipts == 7 and s.n_receipts == len(ds.transactions)
    assert s.left_censored and len(s.established_ids) == 55 and len(s.new_ids) == 0
    assert s.describe().set_index("concept").loc["anonymous receipts", "value"].startswith("7 (")
    assert s.new_ids_known  # first-seen dates say who was buying before the data


def test_new_customers_are_only_a_guess_without_first_seen_dates():
    ds = toy(members=10, non_members=50, gap=84, join_day=60)  # first visits (and first-seen dates) spread over weeks
    assert Study.from_data(ds).new_ids_known  # histories begin in the data: the new are new
    s = Study.from_data(ds, {"left_censored": True})  # the user says histories began before it
    assert len(s.new_ids) > 0 and not s.new_ids_known  # those first seen after 28 days may be rare old buyers


def test_first_visits_spread_over_weeks_are_not_left_censored():
    # first visits spread evenly over the first 12 weeks (a cohort, CDNOW-like), first seen when they first
    # buy: the first week holds 1/12 of them, no pile-up. (Quarterly shoppers of an old shop look the same:
    # the left_censored parameter says so when the user knows better.)
    ds = toy(members=10, non_members=50, gap=84, join_day=60)
    s = Study.from_data(ds)
    assert not s.left_censored and len(s.established_ids) == 0
    assert Study.from_data(ds, {"left_censored": True}).left_censored


# ----------------------------------------------------------------------------- currency
def test_currency_from_parameter_column_or_unknown():
    assert Study.from_data(toy(currency="usd")).currency == "USD"
    assert Study.from_data(toy(currency="usd"), {"currency": "eur"}).currency == "EUR"
    mixed = Study.from_data(toy(currency=["USD", "EUR"]))
    assert (
        mixed.currency == "" and "several currencies" in mixed.describe().set_index("concept").loc["currency", "note"]
    )
    plain = Study.from_data(toy())
    assert plain.currency == "" and plain.currency_label == "money units"


# ----------------------------------------------------------------------------- tiers
def _tier_tx(gross, rate, card=True):
    return pd.DataFrame({"card_id": 1.0 if card else np.nan, "gross_amount": gross, "discount_rate": rate})


def test_infer_tiers_by_hand():
    # 0 % below 1,500; 5 % from 1,500.27 (largest 0 % check 1,499.90) -> 1,500; 7 % from 5,003 -> 5,000
    gross = [100.0, 800.0, 1499.9] * 5 + [1500.27, 2000.0, 4999.0] * 5 + [5003.0, 9000.0] * 5
    rate = [0.0] * 15 + [0.05] * 15 + [0.07] * 10
    thr, rates, note = infer_tiers(_tier_tx(gross, rate))
    assert thr == (1500.0, 5000.0) and rates == pytest.approx((0.05, 0.07))
    assert "100.0%" in note
    # the same from the discount amount alone
    tx = _tier_tx(gross, rate).drop(columns="discount_rate").assign(discount_amount=np.array(gross) * np.array(rate))
    assert infer_tiers(tx)[0] == (1500.0, 5000.0)
    # a rare coupon rate (2 of 41 card receipts, under 5) is not a tier
    assert infer_tiers(_tier_tx([*gross, 300.0], [*rate, 0.15]))[0] == (1500.0, 5000.0)


@pytest.mark.parametrize(
    ("gross", "rate", "phrase"),
    [
        ([100.0, 2000.0, 9000.0] * 5, [0.05] * 15, "flat 5.0%"),  # every card receipt has 5 %
        ([100.0, 300.0] * 5 + [2000.0, 9000.0] * 5, [0.0, 0.07] * 5 + [0.05] * 10, "do not grow"),
        ([100.0, 2000.0, 2100.0, 2200.0] * 10, [0.0, 0.05, 0.0, 0.0] * 10, "no check-size schedule"),
        ([100.0, 2000.0] * 5, [0.0] * 10, "no discount"),
    ],
)
def test_infer_tiers_refuses_what_is_not_a_tier_schedule(gross, rate, phrase):
    thr, rates, note = infer_tiers(_tier_tx(gross, rate))
    assert thr == () and rates == ()
    assert phrase in note


def test_tier_parameters_win_and_are_checked():
    s = Study.from_data(toy(), {"tier_thresholds": [1000, 2000], "tier_rates": [0.03, 0.05]})
    assert s.tier_thresholds == (1000.0, 2000.0) and s.can("bunching")
    assert s.describe().set_index("concept").loc["tier thresholds", "source"] == "parameter"
    assert not Study.from_data(toy()).can("bunching")  # no discount on the toy's cards
    assert "tier_thresholds" in Study.from_data(toy()).why("bunching")
    with pytest.raises(ValueError, match="one tier rate per threshold"):
        Study.from_data(toy(), {"tier_thresholds": [1000, 2000], "tier_rates": [0.03]})
    with pytest.raises(ValueError, match="without tier_thresholds"):
        Study.from_data(toy(), {"tier_rates": [0.03]})
    with pytest.raises(ValueError, match="strictly increase"):
        Study.from_data(toy(), {"tier_thresholds": [2000, 1000]})


# ----------------------------------------------------------------------------- horizons and CLV
def test_horizons_are_clipped_to_the_window():
    ds = toy(members=25, non_members=25, days=100, join_day=40)
    s = Study.from_data(ds)
    # receipts from day 0 to day 99 of 2024 -> window [Jan 1, Apr 10) = 100 days, half of it 50
    assert s.window_length_days == 100
    assert s.return_horizon_days == 50 and s.survey_horizon_days == 50 and s.churn_days == 50
    assert s.activation_horizons == (30,)  # launch on day 40 -> 60 days observed after it
    assert s.active_windows == (30, 90) and s.window_days == 100
    long = Study.from_data(ds, {"return_horizon_days": 180})
    assert long.return_horizon_days == 180
    assert "longer than the window" in long.describe().set_index("concept").loc["return horizon", "note"]
    assert not s.can("clv") and "at least 180 days" in s.why("clv")


def test_clv_split_from_the_window_and_parameters(sample):
    s = Study.from_data(sample)
    # 24 months -> a third is 8, capped at 6: calibration ends 2026-07-01
    assert s.holdout_months == 6 and s.clv_calibration_end == pd.Timestamp("2026-07-01") and s.clv_freq == "W"
    split = {"calibration_end": pd.Timestamp("2026-07-01"), "end": pd.Timestamp("2027-01-01"), "freq": "W"}
    assert s.clv_split() == split
    short = Study.from_data(toy(days=364))  # 2024-01-02 .. 2024-12-29: 11 month steps -> 3 months
    assert short.holdout_months == 3
    assert short.clv_calibration_end == short.end - pd.DateOffset(months=3)
    given = Study.from_data(sample, {"holdout_months": 2, "clv_freq": "d"})
    assert given.holdout_months == 2 and given.clv_freq == "D"
    assert given.clv_calibration_end == pd.Timestamp("2026-11-01")
    with pytest.raises(ValueError, match="clv_freq"):
        Study.from_data(sample, {"clv_freq": "Q"})
    # a calibration end given: the holdout is what remains, 2026-10-01 to 2027-01-01 = 92 days, 3 months
    cal = Study.from_data(sample, {"clv_calibration_end": "2026-10-01"})
    assert cal.clv_calibration_end == pd.Timestamp("2026-10-01") and cal.holdout_months == 3
    assert cal.describe().set_index("concept").loc["CLV calibration end", "source"] == "parameter"
    with pytest.raises(ValueError, match="clv_calibration_end 2027-02-01 must fall inside the window"):
        Study.from_data(sample, {"clv_calibration_end": "2027-02-01"})


def test_window_parameters_and_complete_months():
    ds = toy(members=25, non_members=25, join_day=60)
    s = Study.from_data(ds, {"start": "2024-01-15", "end": "2024-06-01"})
    assert (s.start, s.end) == (pd.Timestamp("2024-01-15"), pd.Timestamp("2024-06-01"))
    assert (s.month_start, s.month_end) == (pd.Timestamp("2024-02-01"), pd.Timestamp("2024-06-01"))
    assert s.n_receipts == int(ds.transactions["date"].between("2024-01-15", "2024-06-01", inclusive="left").sum())
    with pytest.raises(ValueError, match="must be after start"):
        Study.from_data(ds, {"start": "2024-06-01", "end": "2024-01-15"})
    with pytest.raises(ValueError, match="no receipt between"):
        Study.from_data(ds, {"start": "2030-01-01", "end": "2030-02-01"})


# ----------------------------------------------------------------------------- capabilities
def _offers(ids, group):
    n = len(ids)
    return pd.DataFrame(
        {
            "offer_id": np.arange(n),
            "customer_id": ids,
            "date": pd.Timestamp("2024-03-01"),
            "channel": "email",
            "offer_type": "win_back",
            "group": group,
            "responded": False,
        }
    )


def test_campaigns_randomised_only_with_a_holdout_group():
    ids = np.arange(1.0, 21.0)
    targeted = Study.from_data(toy(offers=_offers(ids, "treatment")))
    assert targeted.can("campaigns") and "not randomised" in targeted.why("campaigns")
    assert not targeted.can("campaign_uplift") and "held-out group" in targeted.why("campaign_uplift")
    rand = Study.from_data(toy(offers=_offers(ids, np.where(ids <= 4, "holdout", "treatment"))))
    assert rand.can("campaign_uplift") and rand.why("campaign_uplift").startswith("4 customers held out")


def test_branch_did_needs_a_branch_without_the_program():
    ds = toy(members=25, non_members=25, join_day=90, anonymous=40)
    s = Study.from_data(ds)
    assert not s.can("branch_did") and "cards are used in every branch (1)" in s.why("branch_did")
    tx = ds.transactions.copy()
    tx.loc[tx["customer_id"].isna(), "store_id"] = "S2"  # the anonymous walk-ins buy at a branch without cards
    two = Study.from_data(replace(ds, transactions=tx))
    assert two.can("branch_did") and two.why("branch_did").endswith("against 1 without: S2")
    older = Study.from_data(replace(ds, transactions=tx), {"program_older_than_data": True})
    assert not older.can("branch_did") and "no pre-period" in older.why("branch_did")


def test_roi_needs_costs_and_an_impact_estimate():
    ds = toy(members=25, non_members=25, join_day=90)
    assert not Study.from_data(ds).can("roi")
    with_cost = Study.from_data(ds, {"card_print_cost": 10.0})
    assert with_cost.can("roi") and "cost parameters" in with_cost.why("roi")
    members_only = Study.from_data(toy(members=40, issue_dates=False), {"card_print_cost": 10.0})
    assert not members_only.can("roi") and members_only.why("roi").startswith("no impact estimate")


def test_surveys_and_ledger_enable_their_analyses():
    sv = pd.DataFrame(
        {
            "survey_id": [1, 2],
            "customer_id": [1.0, 2.0],
            "date": pd.Timestamp("2024-02-01"),
            "stage": "periodic",
            "nps": [9, 3],
        }
    )
    led = pd.DataFrame(
        {
            "points_entry_id": [1],
            "customer_id": [1.0],
            "date": pd.Timestamp("2024-02-01"),
            "entry_type": "accrual",
            "points": [1.0],
        }
    )
    s = Study.from_data(toy(surveys=sv, points_ledger=led))
    assert s.can("nps") and s.why("nps") == "2 NPS answers"
    assert s.can("satisfaction") and s.can("goal_gradient")


def test_unknown_analysis_names_the_known_ones():
    s = Study.from_data(toy())
    with pytest.raises(KeyError, match="enrollment_funnel"):
        s.can("telepathy")
    caps = s.capabilities()
    assert list(caps["analysis"]) == list(ANALYSES)
    assert (caps["reason"].str.len() > 0).all()


def test_study_is_frozen():
    s = Study.from_data(toy())
    with pytest.raises(AttributeError):
        s.end = pd.Timestamp("2030-01-01")


# ----------------------------------------------------------------------------- params file and CLI
def test_merge_parameters_takes_agreeing_notebook_sections():
    params, notes = merge_parameters(
        {"seed": 7, "currency": "USD"},
        {
            "04_average_check": {"tier_thresholds": [1, 2]},
            "01_metrics_map": {"tier_thresholds": [1, 2]},
            "05_satisfaction": {"survey_horizon_days": 30},
            "03_activity": {"survey_horizon_days": 60},
        },
    )
    assert params == {"currency": "USD", "tier_thresholds": [1, 2]}
    assert any("survey_horizon_days differs" in n for n in notes)


def _run(argv):
    out, err = _io.StringIO(), _io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def test_cli_study_on_the_sample():
    code, out, _ = _run(["study", str(config.SAMPLE_DIR)])
    assert code == 0
    assert "program launch" in out and "2026-01-01" in out and "1,500, 5,000, 15,000" in out
    assert "What these data support" in out and "yes  did" in out


def test_cli_study_with_mapping_and_params():
    code, out, _ = _run(
        [
            "study",
            str(EXAMPLE / "export"),
            "--mapping",
            str(EXAMPLE / "mapping.yaml"),
            "--params",
            str(EXAMPLE / "params.yaml"),
        ]
    )
    assert code == 0
    assert "tier_thresholds taken from the section of 04_average_check" in out
    assert "no   nps" in out and "surveys table" in out


def test_cli_study_reports_a_missing_folder(tmp_path):
    code, _, err = _run(["study", str(tmp_path / "nowhere")])
    assert code == 2 and "error" in err


def test_format_study_lists_every_concept_and_analysis(sample):
    s = Study.from_data(sample)
    text = format_study(s)
    for concept in s.describe()["concept"]:
        assert concept in text
    for a in ANALYSES:
        assert a in text


# ----------------------------------------------------------------------------- a real log: CDNOW
def test_cdnow_a_shop_without_a_program():
    """CDNOW (Fader & Hardie): 2,357 first-quarter-1997 buyers, every purchase to 1998-06-30, nothing else."""
    raw = pd.read_csv(
        config.PROJECT_DIR / "tests" / "data" / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "n_cds", "amount"],
        dtype={"date": str},
    )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    tx = pd.DataFrame(
        {
            "transaction_id": np.arange(len(raw)),
            "customer_id": raw["customer_id"],
            "date": raw["date"],
            "gross_amount": raw["amount"],
            "discount_amount": 0.0,
            "amount": raw["amount"],
            "card_id": np.nan,
        }
    )
    first = tx.groupby("customer_id")["date"].min()
    customers = pd.DataFrame({"customer_id": first.index, "customer_type": "b2c", "first_seen": first.to_numpy()})
    cards = pd.DataFrame({"card_id": pd.Series(dtype=float), "customer_id": pd.Series(dtype=float)})
    ds = Dataset(customers=customers, cards=cards, transactions=tx)
    s = Study.from_data(ds)
    assert (s.start, s.end) == (pd.Timestamp("1997-01-01"), pd.Timestamp("1998-07-01"))
    assert s.program == "none in the data" and not s.issue_dates_known
    assert not s.left_censored  # a cohort of new buyers, first purchases spread over 12 weeks
    assert s.n_customers == 2357 and s.n_members == 0 and s.n_non_members == 2357
    # 18 months: a third is 6 months of holdout
    assert s.holdout_months == 6 and s.clv_calibration_end == pd.Timestamp("1998-01-01")
    assert s.can("clv") and s.can("return_curve")
    for a in ("enrollment_funnel", "activation", "bunching", "did", "imputation_did", "propensity", "roi", "nps"):
        assert not s.can(a), a
    assert s.why("did").startswith("no pre-period: no card appears in the data")
    # the published calibration period of Fader, Hardie & Lee (2005): 39 weeks, to 1997-09-30 inclusive
    pub = Study.from_data(ds, {"holdout_months": 9})
    assert pub.clv_split()["calibration_end"] == pd.Timestamp("1997-10-01")


def test_dates_as_text_are_parsed_and_the_table_is_left_alone():
    ds = toy(members=25, non_members=25, join_day=60)
    text = ds.transactions.assign(date=ds.transactions["date"].dt.strftime("%Y-%m-%d %H:%M"))
    before = text.copy()
    s = Study.from_data(replace(ds, transactions=text))
    assert s == Study.from_data(ds)
    pd.testing.assert_frame_equal(text, before)


def test_cli_study_counts_rows_that_break_the_contract_and_rejects_bad_parameters(tmp_path):
    import shutil

    data = tmp_path / "export"
    shutil.copytree(config.SAMPLE_DIR, data)
    tx = pd.read_csv(data / "transactions.csv")
    tx.loc[0, "amount"] = -5.0  # breaks amount >= 0 (and amount = gross - discount)
    tx.to_csv(data / "transactions.csv", index=False)
    written = (data / "transactions.csv").read_bytes()
    code, out, _ = _run(["study", str(data)])
    assert code == 0 and "break the data contract and are left out here" in out
    assert (data / "transactions.csv").read_bytes() == written  # the user's file is untouched
    assert sorted(p.name for p in data.iterdir()) == sorted(p.name for p in config.SAMPLE_DIR.iterdir())
    bad = tmp_path / "params.yaml"
    bad.write_text("tier_thresholds: [5000, 1500]\n")
    code, _, err = _run(["study", str(data), "--params", str(bad)])
    assert code == 2 and "tier_thresholds" in err and "increas" in err
