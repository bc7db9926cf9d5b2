"""The index's executive summary, scorecard rules, targets and downloads, on hand-made KPI rows."""

from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pytest

from loyalty_lib import config
from loyalty_lib.report import ReportError, read_params, scorecard
from loyalty_lib.report.downloads import write_downloads
from loyalty_lib.report.summary import ACTION_RULES, QUESTIONS, actions, verdicts
from loyalty_lib.report.targets import default_targets, read_targets


def kpi(key, estimate, **kw):
    return {"kpi": key, "label": kw.pop("label", key.replace("_", " ").capitalize()), "estimate": estimate, **kw}


@pytest.fixture
def stages():
    """A run like the suite's: the map (01) repeats 02's issue rate; 07 has ROI, naive ROI, break-even."""
    return [
        {"name": "01_metrics_map", "title": "01 Map", "kpis": [kpi("issue_rate", 0.30, unit="%", target=0.2)]},
        {
            "name": "02_enrollment",
            "title": "02 Enrollment",
            "kpis": [
                kpi("issue_rate", 0.367, ci_low=0.341, ci_high=0.394, unit="%", target=0.3),
                kpi("sellers_below_target", 9.0, unit="count", better="lower"),
                kpi("activation_rate", 0.5, ci_low=0.45, ci_high=0.55, unit="%", target=0.7),
            ],
        },
        {
            "name": "06_impact",
            "title": "06 Impact",
            "kpis": [
                kpi("did_revenue", 1447.0, ci_low=1200.0, ci_high=1700.0, unit="RUB", basis="net", truth=1396.0),
                kpi("naive_gap", 6288.0, unit="RUB", better="lower", truth=1396.0),
            ],
        },
        {
            "name": "07_roi_clv",
            "title": "07 ROI",
            "kpis": [
                kpi("roi_pct", 0.535, ci_low=-0.1, ci_high=1.09, unit="%", target=0.0, label="Program ROI"),
                kpi("naive_roi_pct", 4.97, unit="%", better="lower", label="Naive ROI"),
                kpi("break_even_uplift", 1594.0, unit="RUB", better="lower", basis="gross"),
            ],
        },
    ]


def test_one_row_per_figure_kept_by_the_stage_that_measures_it(stages):
    card = scorecard(stages)
    assert card["kpi"].is_unique
    row = card.set_index("kpi").loc["issue_rate"]
    assert row["notebook"] == "02_enrollment" and row["also_in"] == "01_metrics_map"
    assert row["estimate"] == pytest.approx(0.367) and row["target"] == pytest.approx(0.3)


def test_every_figure_has_a_direction_and_naive_ones_no_planted_truth(stages):
    card = scorecard(stages)
    assert set(card["better"]) <= {"higher", "lower"} and card["better"].notna().all()
    naive = card[card["naive"]]
    assert sorted(naive["kpi"]) == ["naive_gap", "naive_roi_pct"]
    assert naive["truth"].isna().all()  # 1,396 is the effect's truth, not the gap's
    assert card.set_index("kpi").loc["did_revenue", "truth"] == 1396.0


def test_default_targets_fill_in_and_the_params_file_overrides(stages):
    card = scorecard(stages).set_index("kpi")
    # sellers: no target published; the documented default is 0 (lower is better) -> 9 > 0: red
    assert card.loc["sellers_below_target", "target"] == 0 and card.loc["sellers_below_target", "status"] == "red"
    mine = read_targets({"targets": {"sellers_below_target": 10, "issue_rate": {"target": 0.4}}})
    card = scorecard(stages, mine).set_index("kpi")
    assert card.loc["sellers_below_target", "status"] == "green"  # 9 <= 10
    assert card.loc["issue_rate", "target"] == 0.4 and card.loc["issue_rate", "status"] == "red"  # CI below 40 %


@pytest.mark.parametrize(
    ("section", "match"),
    [
        ({"nps": "high"}, "nps"),
        ({"nps": {"target": 40, "better": "up"}}, "better"),
        ({"nps": {"goal": 40}}, "mapping"),
        ([1, 2], "figure keys"),
    ],
)
def test_bad_targets_are_refused_with_the_figure_named(section, match):
    with pytest.raises(ReportError, match=match):
        read_targets({"targets": section})


def test_the_targets_section_is_not_a_notebook_parameter():
    common, per = read_params({"targets": {"nps": 40}, "seed": 3})
    assert common == {"seed": 3} and per == {}


def test_verdicts_answer_each_question_with_status_in_words(stages):
    v = {x["key"]: x for x in verdicts(scorecard(stages))}
    assert [q.key for q in QUESTIONS] == list(v)
    pays = v["pays"]
    # ROI 53.5 %, CI -10 % to 109 %, target 0: the target is inside the interval
    assert pays["status"] == "amber" and pays["headline"]["estimate"] == "53.5 %"
    assert pays["verdict"].startswith("too early to tell")
    assert [n["label"] for n in pays["naive"]] == ["Naive ROI", "Naive gap"]
    # the effect is net, the break-even gross: never set side by side
    assert pays["comparison"] is None
    reach = v["reach"]
    assert reach["status"] == "green" and reach["headline"]["kpi"] == "issue_rate"
    assert v["satisfied"]["status"] == "na" and "published" in v["satisfied"]["reason"]


def test_effect_and_break_even_on_one_basis_are_compared(stages):
    stages[3]["kpis"][2]["basis"] = "net"
    pays = verdicts(scorecard(stages))[0]
    assert pays["comparison"] == {
        "effect": "1\u202f447 RUB",
        "break_even": "1\u202f594 RUB",
        "basis": "net",
        "pays": False,
    }


def test_the_effect_on_the_break_evens_basis_is_the_one_compared(stages):
    # 06's effect is net, 07's break-even gross; 07 also publishes the effect on gross revenue
    stages[3]["kpis"].append(kpi("did_gross_revenue", 1700.0, ci_low=1400.0, ci_high=2000.0, unit="RUB", basis="gross"))
    card = scorecard(stages)
    pays = verdicts(card)[0]
    assert pays["comparison"] == {
        "effect": "1\u202f700 RUB",
        "break_even": "1\u202f594 RUB",
        "basis": "gross",
        "pays": True,
    }
    # and every row says its basis
    labels = {s["kpi"]: s["label"] for s in pays["support"]}
    assert labels["did_revenue"].endswith("· on net revenue")


def test_actions_follow_the_written_rules_most_urgent_first(stages):
    acts = actions(scorecard(stages))
    assert [a["kpi"] for a in acts] == ["sellers_below_target", "activation_rate", "roi_pct"]
    assert acts[0]["text"].startswith("Coach the 9 seller(s)")
    assert "50.0 %" in acts[1]["text"] and "70.0 %" in acts[1]["text"]


def test_segment_offer_and_holdout_questions_name_what_to_act_on(stages):
    stages.append(
        {
            "name": "08_audience",
            "title": "08 Audience",
            "kpis": [kpi("segment_headroom", 1_250_000.0, unit="RUB", label="district north, spending like center")],
        }
    )
    stages.append(
        {
            "name": "10_campaigns",
            "title": "10 Campaigns",
            "kpis": [
                kpi(
                    "best_offer_uplift",
                    0.05,
                    ci_low=0.03,
                    ci_high=0.07,
                    unit="pp",
                    target=0.02,
                    label="win back offers",
                ),
                kpi(
                    "best_channel_uplift",
                    0.04,
                    ci_low=0.01,
                    ci_high=0.07,
                    unit="pp",
                    target=0.02,
                    label="best channel: sms",
                ),
                kpi("contactable_clients", 20_000.0, unit="count"),
                kpi("next_holdout_size", 30_655.0, unit="count", target=20_000.0, better="lower"),
            ],
        }
    )
    card = scorecard(stages)
    v = {x["key"]: x for x in verdicts(card)}
    assert v["grow"]["status"] == "info" and v["grow"]["headline"]["estimate"] == "1.2 M RUB"
    assert v["grow"]["headline"]["label"].startswith("district north")
    # CI 3 to 7 points, target 2 points: clearly above
    assert v["offers"]["status"] == "green" and v["offers"]["headline"]["estimate"] == "+5.0 pp"
    assert [s["kpi"] for s in v["offers"]["support"]] == ["best_channel_uplift"]
    # 30,655 addressees needed, 20,000 reachable: off target
    assert v["holdout"]["status"] == "red" and v["holdout"]["headline"]["target"] == "≤ 20\u202f000"
    texts = {a["kpi"]: a["text"] for a in actions(card)}
    assert "district north, spending like center would bring about 1.2 M RUB" in texts["segment_headroom"]
    assert texts["best_offer_uplift"].startswith("Send more win back offers:")
    assert texts["best_offer_uplift"].endswith("best channel: sms: +4.0 pp.")
    assert "need 30\u202f655 addressees, more than the 20\u202f000 clients" in texts["next_holdout_size"]


def test_a_question_the_data_cannot_answer_says_why(stages):
    stages.append(
        {
            "name": "10_campaigns",
            "title": "10 Campaigns",
            "kpis": [
                {
                    "kpi": "best_offer_uplift",
                    "label": "The offer that moved most clients",
                    "estimate": float("nan"),
                    "reason": "the offers table has no held-out group",
                }
            ],
        }
    )
    v = {x["key"]: x for x in verdicts(scorecard(stages))}
    assert v["offers"]["status"] == "na" and v["offers"]["reason"] == "the offers table has no held-out group"
    assert v["holdout"]["status"] == "na" and "published" in v["holdout"]["reason"]
    assert "best_offer_uplift" not in [a["kpi"] for a in actions(scorecard(stages))]


@pytest.mark.parametrize("with_point", [True, False])
def test_low_satisfaction_advice_names_the_point_rated_lowest(stages, with_point):
    rows = [kpi("csat_share", 0.70, ci_low=0.66, ci_high=0.74, unit="%", target=0.8)]
    if with_point:
        rows.append(kpi("csat_weakest_point", 0.61, ci_low=0.5, ci_high=0.7, unit="%", label="the delivery channel"))
    stages.append({"name": "05_satisfaction", "title": "05", "kpis": rows})
    text = {a["kpi"]: a["text"] for a in actions(scorecard(stages))}["csat_share"]
    assert text.startswith("Improve the service where clients rate it lowest")
    named = "(the delivery channel: 61.0 % of answers 4 or 5)"
    assert (named in text) == with_point
    assert with_point or "the satisfaction page lists the scores by channel" in text
    assert "70.0 %" in text and "80.0 %" in text


def test_the_report_guide_lists_every_rule_and_default_target():
    guide = (config.PROJECT_DIR / "docs" / "report.md").read_text(encoding="utf-8")
    for rule in ACTION_RULES:
        assert f"`{rule.kpi}`" in guide, rule.kpi
        first_words = " ".join(rule.text.split()[:3])
        assert first_words in guide, first_words
    for key in default_targets():
        assert f"`{key}`" in guide, key
    for q in QUESTIONS:
        assert q.text in guide


def test_downloads_are_csv_and_one_workbook_with_formulas_neutralised(stages, tmp_path):
    stages[1]["kpis"][1]["label"] = "=HYPERLINK(1)"
    trends = pd.DataFrame(
        {
            "month": pd.to_datetime(["2025-01-01"]),
            "days_covered": [31],
            "receipts": [3],
            "revenue": [360.0],
            "members": [2],
            "active_members": [2],
            "member_revenue": [300.0],
            "revenue_per_active_member": [150.0],
            "average_check": [120.0],
            "member_share_of_revenue": [300 / 360],
        }
    )
    card = scorecard(stages)
    links = write_downloads(tmp_path, card, stages, trends)
    hrefs = [d["href"] for d in links]
    assert "downloads/scorecard.csv" in hrefs and "downloads/trends.csv" in hrefs
    assert "downloads/01_metrics_map.csv" in hrefs  # every figure the stage published, also moved ones
    sc = pd.read_csv(tmp_path / "downloads" / "scorecard.csv")
    assert "Figure" in sc.columns and not any(re.fullmatch(r"[a-z]+(_[a-z]+)+", c) for c in sc.columns)
    assert "'=HYPERLINK(1)" in sc["Figure"].tolist()
    assert pd.read_csv(tmp_path / "downloads" / "trends.csv")["Month"].tolist() == ["2025-01"]
    wb = openpyxl.load_workbook(tmp_path / "downloads" / "loyalty_report.xlsx")
    assert wb.sheetnames == ["scorecard", "01_metrics_map", "02_enrollment", "06_impact", "07_roi_clv", "trends"]
    cells = [c.value for row in wb["02_enrollment"].iter_rows() for c in row]
    assert "'=HYPERLINK(1)" in cells and "=HYPERLINK(1)" not in cells
    assert wb["scorecard"]["C1"].value == "Estimate" and isinstance(wb["scorecard"]["C2"].value, float)
