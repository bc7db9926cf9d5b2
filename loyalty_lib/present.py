"""Tables for people: one dictionary of column labels and one table formatter, installed in a notebook by one call.

A notebook's import cell calls :func:`install`; from then on every DataFrame the notebook
displays is shown by :func:`format_table` (its rich HTML; the plain-text copy is unchanged), and
a Styler the notebook built itself keeps its styling but gets the column labels:

- column names from :data:`LABELS` (``customer_type`` → "Client type"), any other snake_case
  name written as words (``n_card_receipts`` → "Card receipts (n)" is in the dictionary,
  ``share_b2b`` → "Share b2b" is not);
- numbers with thin-space thousands separators (:func:`loyalty_lib.stats.format_number`), shares
  (columns named ``share``, ``rate``, ``*_share``, ...) as percentages, p-values as ``< 0.001``,
  never scientific notation;
- dates without a time of day, ``yes``/``no`` instead of True/False, ``–`` instead of NaN,
  lists as ``1 500, 5 000``, categories written as codes (``after_first_use``) as words;
- no index numbers (a named index becomes the first column).

:func:`install` also applies the house chart style (:func:`loyalty_lib.plotting.theme.use`) and
silences tqdm's warning that a notebook has no progress widgets.
"""

from __future__ import annotations

import copy
import hashlib
import math
import re
import warnings

import numpy as np
import pandas as pd

from loyalty_lib.stats import format_number

#: Human labels of the column names the library's tables use (one dictionary for every page).
LABELS = {
    "estimate": "Estimate",
    "ci_low": "95 % CI, low",
    "clv": "Lifetime value",
    "ci_high": "95 % CI, high",
    "n": "n",
    "truth": "Planted truth",
    "covered": "Truth inside the CI",
    "se": "Standard error",
    "p_value": "p-value",
    "pvalue": "p-value",
    "unit": "Unit",
    "target": "Target",
    "status": "Status",
    "stage": "Stage",
    "kpi": "Figure key",
    "label": "Figure",
    "metric": "Measure",
    "figure": "Figure",
    "group": "Group",
    "segment": "Segment",
    "month": "Month",
    "week": "Week",
    "date": "Date",
    "customer_id": "Customer",
    "customer_type": "Client type",
    "card_id": "Card",
    "store_id": "Store",
    "seller_id": "Seller",
    "channel": "Channel",
    "issue_channel": "Issued at",
    "issued_date": "Issued on",
    "first_use_date": "First use",
    "first_seen": "First seen",
    "tier": "Tier",
    "threshold": "Threshold",
    "discount_rate": "Discount",
    "share": "Share",
    "share_of_revenue": "Share of revenue",
    "revenue": "Revenue",
    "receipts": "Receipts",
    "buyers": "Buyers",
    "members": "Members",
    "active_members": "Active members",
    "amount": "Net amount",
    "gross_amount": "Gross amount",
    "discount_amount": "Discount",
    "net_check": "Net check",
    "gross_check": "Gross check",
    "items_per_check": "Items per check",
    "n_items": "Items",
    "n_customers": "Customers",
    "n_members": "Members",
    "n_receipts": "Receipts",
    "n_card_receipts": "Card receipts (n)",
    "activated": "Used the card",
    "repeat_use": "Used it again",
    "days_to_activation": "Days to first use",
    "followup_days": "Days followed",
    "window_days": "Window (days)",
    "successes": "Successes",
    "member": "Member",
    "non_member": "Non-member",
    "member_before_issue": "Member, before the card",
    "before": "Before",
    "after": "After",
    "change": "Change",
    "effect": "Effect",
    "weight": "Weight",
    "nps": "NPS",
    "csat": "CSAT",
    "csat_share": "CSAT (share 4-5)",
    "roi_pct": "ROI",
    "cost": "Cost",
    "cost_total": "Program cost",
    "value": "Value",
    "source": "Source",
    "note": "Note",
    "reason": "Why",
    "table": "Table",
    "column": "Column",
    "rule": "Rule",
    "n_rows": "Rows",
    "row_ids": "First row ids",
}
#: Words of a column name that mark a share in [0, 1], shown as a percentage.
SHARE_WORDS = (
    "share",
    "rate",
    "ratio_share",
    "proportion",
    "prop",
    "retention",
    "pct_share",
    # NPS composition, association rules and recommender quality: all shares of 0 to 1
    "promoters",
    "passives",
    "detractors",
    "support",
    "confidence",
    "precision",
    "recall",
    "coverage",
    "ndcg",
)
#: Columns of an estimate frame that carry its unit (the estimate, its interval, its planted truth).
ESTIMATE_COLUMNS = (
    "estimate",
    "ci_low",
    "ci_high",
    "truth",
    "target",
    "cum_estimate",
    "cum_ci_low",
    "cum_ci_high",
    "shrunk_estimate",
    "shrunk_ci_low",
    "shrunk_ci_high",
)
#: A column that marks an estimate frame as one of shares (counts of successes, cumulative shares, shrunk rates).
SHARE_FRAME_MARKS = ("successes", "cum_estimate", "shrunk_estimate")
#: At most this many rows are shown; a line under the table says how many more there are.
MAX_ROWS = 60
_P_VALUE = re.compile(r"(^|_)p(_?value)?$")
_SNAKE_VALUE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)+")  # a category written as a code: card_issued


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _is_flag(value) -> bool:
    return isinstance(value, bool | np.bool_) or value is None


def label(name) -> str:
    """The label of a column for people: from :data:`LABELS`, else its words, capitalised.

    Examples
    --------
    >>> label("customer_type"), label("share_b2b"), label("ci_low"), label(2025), label("step")
    ('Client type', 'Share b2b', '95 % CI, low', '2025', 'Step')
    """
    if isinstance(name, tuple):
        return " · ".join(label(n) for n in name if str(n) != "")
    if isinstance(name, pd.Timestamp | np.datetime64 | pd.Period):  # a month as a column: the date, no time
        return format_value(name)
    s = str(name)
    if s in LABELS:
        return LABELS[s]
    if re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)+|[a-z]+", s):
        words = s.replace("_", " ")
        return words[0].upper() + words[1:]
    return s


def _is_share(name, s: pd.Series) -> bool:
    words = str(name).lower().split("_")
    if not any(w in SHARE_WORDS for w in words):
        return False
    v = pd.to_numeric(s, errors="coerce").dropna()
    return bool(len(v)) and bool(((v >= 0) & (v <= 1)).all())


def format_value(value, unit: str = "", *, p_value: bool = False) -> str:
    """One cell for people: thousands separators, percent for ``unit="%"``, no scientific notation.

    Examples
    --------
    >>> format_value(4294.849), format_value(0.355, "%"), format_value(7.24e-179, p_value=True)
    ('4\u202f295', '35.5 %', '< 0.001')
    >>> format_value(True), format_value(float("nan")), format_value([1500.0, 5000.0])
    ('yes', '–', '1\u202f500, 5\u202f000')
    >>> format_value(pd.Timestamp("2028-07-24")), format_value(3e-7), format_value(-0.0412)
    ('2028-07-24', '< 0.001', '-0.0412')
    """
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | np.ndarray):
        return ", ".join(format_value(v, unit) for v in value)
    if value is None or value is pd.NA or value is pd.NaT:
        return "–"
    if isinstance(value, pd.Timestamp | np.datetime64):
        t = pd.Timestamp(value)
        if pd.isna(t):
            return "–"
        return t.strftime("%Y-%m-%d") if t == t.normalize() else t.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, pd.Period):
        return str(value)
    if isinstance(value, str):
        return label(value) if _SNAKE_VALUE.fullmatch(value) else value
    if isinstance(value, pd.Timedelta):
        return f"{value.days:,} days".replace(",", "\u202f")
    if isinstance(value, int | float | np.integer | np.floating):
        v = float(value)
        if math.isnan(v):
            return "–"
        if math.isinf(v):
            return "∞" if v > 0 else "-∞"
        if p_value and v < 0.001:
            return "< 0.001"
        if unit == "%":
            return format_number(v, "%")
        if v != 0 and abs(v) < 0.001:
            return "< 0.001" if v > 0 else "> -0.001"
        if isinstance(value, int | np.integer) or (v == int(v) and abs(v) >= 1):
            return format_number(v, "count")
        return format_number(v, "")
    return str(value)


def format_frame(df: pd.DataFrame, *, labels: dict | None = None, max_rows: int | None = MAX_ROWS) -> pd.DataFrame:
    """A copy of ``df`` as text for people: named index as columns, labels, every cell formatted.

    Parameters
    ----------
    df : pandas.DataFrame
        Any table (not modified).
    labels : dict, optional
        Extra or different column labels (beside :data:`LABELS`).
    max_rows : int, optional
        Show at most this many rows (``None``: all).

    Returns
    -------
    pandas.DataFrame
        Strings only, a plain 0..n-1 index (not shown by :func:`format_table`), columns labelled.

    Examples
    --------
    >>> t = pd.DataFrame({"estimate": [0.3551, 4294.849], "unit": ["%", "RUB"],
    ...                   "member_share": [0.5, 0.25]}, index=pd.Index(["a", "b"], name="metric"))
    >>> format_frame(t).values.tolist()
    [['a', '35.5 %', '%', '50.0 %'], ['b', '4\u202f295 RUB', 'RUB', '25.0 %']]
    >>> list(format_frame(t).columns)
    ['Measure', 'Estimate', 'Unit', 'Member share']
    """
    t = df if max_rows is None else df.head(max_rows)
    if not isinstance(t.index, pd.RangeIndex) or any(n is not None for n in t.index.names):
        if not (isinstance(t.index, pd.RangeIndex) and t.index.name is None):
            t = t.reset_index()
    t = t.reset_index(drop=True)
    names = {**LABELS, **(labels or {})}
    out = {}
    # a unit per row (an estimate frame of several figures); a row without one has no unit
    per_row_unit = "unit" in t.columns and t["unit"].map(lambda u: isinstance(u, str) or _missing(u)).all()
    if per_row_unit:
        t = t.assign(unit=t["unit"].map(lambda u: u if isinstance(u, str) else ""))
    units = t["unit"] if per_row_unit else _share_units(t)
    unit_cols = {"estimate", "ci_low", "ci_high", "target", "truth", "value"}
    for i, col in enumerate(t.columns):
        s = t.iloc[:, i]
        if per_row_unit and col in unit_cols:
            cells = [
                format_value(v, u) if u == "%" else _with_unit(format_value(v), u)
                for v, u in zip(s, t["unit"], strict=True)
            ]
        elif units is not None and col in ESTIMATE_COLUMNS and pd.api.types.is_numeric_dtype(s):
            cells = [format_value(v, u) for v, u in zip(s, units, strict=True)]
        elif pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) and _is_share(col, s):
            cells = [format_value(v, "%") for v in s]
        else:
            p = bool(_P_VALUE.search(str(col).lower()))
            cells = [format_value(v, p_value=p) for v in s]
        out[i] = cells
    frame = pd.DataFrame(out, index=pd.RangeIndex(len(t)))
    frame.columns = [names[c] if isinstance(c, str) and c in names else label(c) for c in t.columns]
    return frame


def _share_units(t: pd.DataFrame) -> pd.Series | None:
    """Per row, ``"%"`` where an estimate frame's figures are shares, else ``""``; ``None`` if none are.

    A frame of shares says so by a column of :data:`SHARE_FRAME_MARKS` (a proportion frame counts
    its ``successes``); a frame of several measures, by a ``metric`` column naming a share
    (``csat_share``). Only rows whose estimate columns all lie in 0..1 are written as percent.
    """
    cols = [c for c in ESTIMATE_COLUMNS if c in t.columns and pd.api.types.is_numeric_dtype(t[c])]
    if not cols:
        return None
    if any(m in t.columns for m in SHARE_FRAME_MARKS):
        share_rows = pd.Series(True, index=t.index)
    elif "metric" in t.columns and t["metric"].map(lambda m: isinstance(m, str)).all():
        share_rows = t["metric"].map(lambda m: any(w in SHARE_WORDS for w in m.lower().split("_")))
    else:
        return None
    values = t[cols].apply(pd.to_numeric, errors="coerce")
    inside = ((values >= 0) & (values <= 1)) | values.isna()
    rows = share_rows & inside.all(axis=1) & values.notna().any(axis=1)
    return rows.map({True: "%", False: ""}) if rows.any() else None


def _with_unit(text: str, unit: str) -> str:
    return text if text == "–" or unit in ("", "count") else f"{text} {unit}"


def format_table(df: pd.DataFrame, *, labels: dict | None = None, max_rows: int | None = MAX_ROWS, caption=None):
    """The one table formatter of the suite: a pandas Styler of :func:`format_frame`, without index.

    Parameters
    ----------
    df : pandas.DataFrame
        Any table (not modified).
    labels : dict, optional
        Extra column labels.
    max_rows : int, optional
        Rows shown; a caption says how many more the table has.
    caption : str, optional
        Caption above the table.

    Returns
    -------
    pandas.io.formats.style.Styler
        Text cells, numbers right-aligned, the class ``lr-table`` for the report's stylesheet.
    """
    shown = format_frame(df, labels=labels, max_rows=max_rows)
    more = len(df) - len(shown)
    if more > 0:
        extra = f"first {len(shown):,} of {len(df):,} rows".replace(",", "\u202f")
        caption = f"{caption} ({extra})" if caption else extra.capitalize()
    raw = df.head(len(shown))
    if not (isinstance(raw.index, pd.RangeIndex) and raw.index.name is None):
        raw = raw.reset_index()
    numeric = [shown.columns[i] for i in range(raw.shape[1]) if pd.api.types.is_numeric_dtype(raw.iloc[:, i])]
    # ids from the content, not random: the same table gives the same HTML (notebook tests compare it)
    uid = hashlib.sha1(shown.to_json().encode("utf-8")).hexdigest()[:10]
    sty = shown.style.set_uuid(uid).hide(axis="index").set_table_attributes('class="lr-table"')
    # the cells and labels are text for people ("< 0.001", a shop's "A&B" store): escaped for HTML
    sty = sty.format(escape="html").format_index(escape="html", axis="columns")
    if numeric:
        sty = sty.set_properties(subset=numeric, **{"text-align": "right", "white-space": "nowrap"})
    if caption:
        sty = sty.set_caption(caption)
    return sty


def _html(df: pd.DataFrame) -> str:
    return format_table(df).to_html()


def _styler_html(sty) -> str:
    """A Styler a notebook built itself keeps its styling; its column names get the labels."""
    sty = copy.copy(sty)
    # yes/no and dates without a time in the notebook's own table too (its numbers keep their format)
    people = [
        c
        for c in sty.data.columns
        if pd.api.types.is_bool_dtype(sty.data[c])
        or pd.api.types.is_datetime64_any_dtype(sty.data[c])
        or sty.data[c].map(_is_flag).all()
    ]
    if people:
        sty.format(format_value, subset=people)
    sty.format_index(lambda c: label(c), axis="columns")
    if sty.data.columns.nlevels == 1 and not (
        isinstance(sty.data.index, pd.RangeIndex) and sty.data.index.name is None
    ):
        sty.format_index(lambda c: label(c) if isinstance(c, str) else format_value(c), axis="index")
    return sty.to_html()


def install(*, theme: bool = True) -> None:
    """Show every DataFrame of this notebook through :func:`format_table`; apply the chart style.

    Call it once in a notebook's import cell. Outside IPython it only applies the chart style.

    Parameters
    ----------
    theme : bool
        Also apply the house chart style (:func:`loyalty_lib.plotting.theme.use`).
    """
    from tqdm import TqdmWarning

    warnings.filterwarnings("ignore", category=TqdmWarning)
    if theme:
        from loyalty_lib.plotting import theme as chart_theme

        chart_theme.use()
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of the notebooks
        return
    ip = get_ipython()
    if ip is None:
        return
    from pandas.io.formats.style import Styler

    html = ip.display_formatter.formatters["text/html"]
    html.for_type(pd.DataFrame, _html)
    html.for_type(Styler, _styler_html)
