"""The house chart style on every plot helper: legends outside the data in people's words, labelled
reference lines, people's numbers on the axes."""

import ast
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from loyalty_lib import plotting
from loyalty_lib.plotting import activity, basket, enrollment, theme, trends

MODULES = sorted(p for p in Path(plotting.__file__).parent.glob("*.py") if p.stem not in ("__init__", "theme"))


def direct_calls(path: Path) -> list[str]:
    """Calls of ``legend``, ``axhline`` or ``axvline`` in a module: those belong to the theme's helpers."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("legend", "axhline", "axvline"):
                found.append(f"{path.name}:{node.lineno} {node.func.attr}")
    return found


def test_the_check_finds_a_direct_call(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(ax):\n    ax.axvline(0)\n    ax.legend(loc='best')\n")
    assert direct_calls(bad) == ["bad.py:2 axvline", "bad.py:3 legend"]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_every_plot_module_draws_legends_and_lines_through_the_theme(path):
    assert direct_calls(path) == []
    source = path.read_text(encoding="utf-8")
    assert "plotting.theme import" in source or "plotting import theme" in source, "uses the house style"


def test_legend_entries_in_peoples_words_beside_the_axes():
    d = pd.DataFrame(
        {
            "status": ["member", "member_before_issue", "non_member"],
            "tier": ["< 1,500"] * 3,
            "estimate": [0.2, 0.3, 0.5],
            "ci_low": [0.1, 0.2, 0.4],
            "ci_high": [0.3, 0.4, 0.6],
        }
    )
    ax = basket.plot_tier_shares(d, currency="RUB", ax=plt.figure().gca())
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["Member", "Member, before the card", "Non-member"]
    assert legend.get_bbox_to_anchor().x0 > ax.get_window_extent().x1 - 1  # starts right of the data
    assert ax.yaxis.get_major_formatter()(0.25, 0) == "25 %"
    assert ax.get_xlabel() == "tier (gross check, RUB)"


def test_a_target_line_says_what_it_is():
    league = pd.DataFrame(
        {
            "seller_id": ["A", "B"],
            "estimate": [0.05, 0.2],
            "ci_low": [0.02, 0.15],
            "ci_high": [0.08, 0.25],
            "n": [1200, 300],
            "target": 0.1,
            "status": ["below target", "above target"],
        }
    )
    ax = enrollment.plot_seller_league(league, shrunk=False, ax=plt.figure().gca())
    assert "target 10 %" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert "target 10 %" in [t.get_text() for t in ax.texts]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A (n = 1\u202f200)", "B (n = 300)"]
    # bad in the bad colour, good in the good one, and only those
    colours = {c.get_label(): c.lines[0].get_color() for c in ax.containers}
    assert colours == {"below target": theme.BAD, "above target": theme.GOOD}


def test_the_funnel_axis_ends_at_the_largest_step():
    fun = pd.DataFrame(
        {"count": [15_883, 5_000, 3_000], "estimate": [np.nan, 0.31, 0.6], "cum_estimate": [1.0, 0.31, 0.19]},
        index=["buyers", "card_issued", "activated"],
    ).assign(ci_low=lambda d: d["estimate"] - 0.01, ci_high=lambda d: d["estimate"] + 0.01)
    ax = enrollment.plot_funnel(fun, ax=plt.figure().gca())
    assert max(ax.get_xticks()) <= 15_883 and len(ax.get_xticks()) <= 5  # few ticks: their labels never overlap
    steps = [t.get_text() for t in ax.get_yticklabels()]
    assert steps[0] == "Buyers" and not any("_" in s for s in steps), steps


def test_the_heatmap_colour_bar_speaks_the_cells_unit():
    ret = pd.DataFrame(
        {
            "cohort": pd.to_datetime(["2025-01-01"] * 3),
            "month": [0, 1, 2],
            "estimate": [1.0, 0.25, 0.22],
            "n": [100] * 3,
        }
    )
    ax = activity.plot_cohort_heatmap(ret, ax=plt.figure().gca())
    bar = ax.figure.axes[-1]
    assert bar.get_ylabel() == "% of the cohort buying in the month"
    assert bar.yaxis.get_major_formatter()(0.25, 0) == "25"  # as the cells write 25


@pytest.mark.parametrize("column", list(trends.TREND_LABELS))
def test_every_index_trend_has_a_y_axis_title(column):
    t = pd.DataFrame(
        {"month": pd.to_datetime(["2025-01-01", "2025-02-01"]), "days_covered": [31, 28], column: [1.0, 2.0]}
    )
    ax = trends.plot_trend(t, column, currency="RUB", ax=plt.figure().gca())
    assert ax.get_ylabel().startswith(trends.TREND_AXES[column])
    assert ax.get_ylabel().endswith("RUB") == (trends.TREND_LABELS[column][1] == "money")
