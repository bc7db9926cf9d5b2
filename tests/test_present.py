"""Tables for people (loyalty_lib.present) and the house chart style (loyalty_lib.plotting.theme)."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from loyalty_lib import present
from loyalty_lib.plotting import theme
from loyalty_lib.report.lint import page_problems


@pytest.fixture
def messy():
    """A table as an analysis returns it (values chosen so each formatting rule shows once)."""
    return pd.DataFrame(
        {
            "customer_type": ["b2c", "b2b", "b2c"],
            "n_receipts": [12345, 7, 0],
            "net_check": [4294.849, float("nan"), 12.34],
            "repeat_rate": [0.355, 1.0, 0.0],
            "p_value": [7.24e-179, 0.2, 0.05],
            "activated": [True, False, True],
            "issued_date": pd.to_datetime(["2028-07-24 00:00", None, "2025-01-02 13:30"]),
        },
        index=pd.Index(["S1", "S2", "S3"], name="store_id"),
    )


def test_format_frame_writes_every_cell_for_people(messy):
    t = present.format_frame(messy)
    assert list(t.columns) == [
        "Store",
        "Client type",
        "Receipts",
        "Net check",
        "Repeat rate",
        "p-value",
        "Used the card",
        "Issued on",
    ]
    assert t.values.tolist() == [
        ["S1", "b2c", "12\u202f345", "4\u202f295", "35.5 %", "< 0.001", "yes", "2028-07-24"],
        ["S2", "b2b", "7", "–", "100.0 %", "0.2", "no", "–"],
        ["S3", "b2c", "0", "12.3", "0.0 %", "0.05", "yes", "2025-01-02 13:30"],
    ]
    assert messy.index.name == "store_id" and messy["net_check"].isna().sum() == 1  # input untouched


def test_a_share_column_outside_zero_one_is_not_a_percentage():
    t = present.format_frame(pd.DataFrame({"growth_rate": [1.5, 0.2]}))
    assert t["Growth rate"].tolist() == ["1.5", "0.2"]


def test_format_table_is_deterministic_without_index_and_cut_long(messy):
    a, b = present.format_table(messy).to_html(), present.format_table(messy.copy()).to_html()
    assert a == b  # no random ids: the notebook tests compare this HTML
    assert page_problems(a) == [] and "S1" in a
    long = pd.DataFrame({"n": range(100)})
    html = present.format_table(long, max_rows=10).to_html()
    assert "first 10 of 100 rows" in html.lower() and ">99<" not in html


def test_a_notebooks_own_styler_keeps_its_style_and_gets_labels():
    sty = pd.DataFrame({"why_first": ["visits"], "ci_low": [0.1]}).style.hide(axis="index")
    html = present._styler_html(sty.set_properties(**{"color": "red"}))
    assert "Why first" in html and "95 % CI, low" in html and "color: red" in html
    assert page_problems(html) == []


def test_install_outside_ipython_applies_the_chart_style_and_quiets_tqdm():
    from tqdm import TqdmWarning

    with plt.rc_context(), warnings.catch_warnings():
        present.install()
        assert matplotlib.rcParams["axes.spines.top"] is False
        assert matplotlib.rcParams["legend.frameon"] is False
        with warnings.catch_warnings(record=True) as caught:
            warnings.warn("IProgress not found", TqdmWarning, stacklevel=1)
        assert caught == []


def test_theme_helpers_label_money_shares_and_reference_lines():
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [1000, 25000, 1_500_000], label="revenue")
    theme.money_axis(ax, "EUR", label="revenue per month")
    theme.reference_line(ax, 20000, "target 20 000 EUR")
    theme.legend_outside(ax)
    fmt = ax.yaxis.get_major_formatter()
    assert ax.get_ylabel() == "revenue per month, EUR"
    assert [fmt(v, 0) for v in (25000, 1_500_000, 12.5)] == ["25\u202f000", "1.5 M", "12.5"]
    assert "target 20 000 EUR" in [t.get_text() for t in ax.texts]  # written beside the line
    legend = ax.get_legend()
    # legend entries in people's words (a single lower-case word is capitalised, as a column label)
    assert [t.get_text() for t in legend.get_texts()] == ["Revenue", "target 20 000 EUR"]
    assert legend.get_bbox_to_anchor().x0 > ax.get_window_extent().x1 - 1  # beside the axes
    theme.share_axis(ax)
    assert ax.yaxis.get_major_formatter()(0.25, 0) == "25 %"
    plt.close("all")


def test_categories_written_as_codes_read_as_words_and_ids_stay_as_written():
    t = present.format_frame(pd.DataFrame({"step": ["card_issued", "repeat_use", "S1-02", "0001"]}))
    assert t["Step"].tolist() == ["Card issued", "Used it again", "S1-02", "0001"]


def test_shares_of_an_estimate_frame_print_as_percent():
    format_frame = present.format_frame
    # a proportion frame (it counts successes): every figure is a share
    prop = pd.DataFrame({"estimate": [0.367], "ci_low": [0.341], "ci_high": [0.394], "n": [1278], "successes": [469]})
    assert format_frame(prop).iloc[0, :3].tolist() == ["36.7 %", "34.1 %", "39.4 %"]
    # a frame of several measures: only the rows that name a share
    mixed = pd.DataFrame({"metric": ["csat_share", "mean_csat"], "estimate": [0.758, 4.1], "n": [300, 300]})
    assert format_frame(mixed)["Estimate"].tolist() == ["75.8 %", "4.1"]
    # the funnel's cumulative shares, and the NPS composition
    fun = pd.DataFrame({"count": [100, 40], "estimate": [np.nan, 0.4], "cum_estimate": [1.0, 0.4]})
    assert format_frame(fun).iloc[1].tolist()[1:] == ["40.0 %", "40.0 %"]
    nps = pd.DataFrame({"estimate": [29.8], "promoters": [0.483], "detractors": [0.185]})
    assert format_frame(nps).iloc[0].tolist() == ["29.8", "48.3 %", "18.5 %"]
    # an estimate frame without a mark of shares keeps its numbers (a visit count of 0.28 is not 28 %)
    visits = pd.DataFrame({"estimate": [0.277], "ci_low": [0.2], "ci_high": [0.3], "n": [900]})
    assert format_frame(visits)["Estimate"].tolist() == ["0.277"]
    # a share frame row outside 0..1 (an uplift below zero) is not written as percent
    uplift = pd.DataFrame(
        {"estimate": [0.05, -0.02], "ci_low": [0.01, -0.06], "ci_high": [0.09, 0.01], "successes": [5, 3]}
    )
    assert format_frame(uplift)["Estimate"].tolist() == ["5.0 %", "-0.02"]


def test_a_notebooks_own_table_says_yes_no_and_months_without_a_time():
    from loyalty_lib.report.lint import page_problems

    caps = pd.DataFrame({"label": ["funnel", "branches"], "available": [True, False], "reason": ["", "one branch"]})
    assert page_problems(present._styler_html(caps.style.hide(axis="index"))) == []
    months = pd.DataFrame({"active": [10, 12]}, index=pd.to_datetime(["2025-01-01", "2025-02-01"])).T
    assert page_problems(present._html(months)) == [] and "2025-02-01" in present._html(months)


def test_a_figure_without_a_unit_keeps_its_number_beside_shares():
    t = pd.DataFrame({"figure": ["issue rate", "odds ratio"], "estimate": [0.355, 1.12], "unit": ["%", np.nan]})
    assert present.format_frame(t)["Estimate"].tolist() == ["35.5 %", "1.12"]


def test_format_table_escapes_text_for_html():
    # a p-value shown as "< 0.001" and a shop's own names are text, not markup
    df = pd.DataFrame({"store": ["A&B <west>"], "p_value": [0.0001]})
    html = present.format_table(df).to_html()
    assert "A&amp;B &lt;west&gt;" in html and "&lt; 0.001" in html
    assert "<west>" not in html and ">< 0.001<" not in html
