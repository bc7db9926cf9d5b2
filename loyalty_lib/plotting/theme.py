"""The house chart style: readable sizes, labelled reference lines, legends outside the data, people's numbers.

Two parts:

- :func:`use` sets matplotlib's defaults once (``loyalty_lib.present.install()`` calls it in
  every notebook; the report calls it before it draws): font sizes readable on a page, no top
  or right spine, a light grid behind the data, horizontal tick labels, legends without frames;
- small helpers a plot helper calls on its ``ax``: :func:`money_axis` (thousands separators and
  the currency in the axis label), :func:`count_axis`, :func:`share_axis` (percent ticks),
  :func:`reference_line` (a target or reference line that says what it is), :func:`baseline`
  (a thin unlabelled zero line) and :func:`legend_outside` (the legend beside the axes, never
  over the data, its entries in people's words).

Every helper of ``loyalty_lib.plotting`` draws its legends and lines through these
(``tests/test_plot_theme.py`` checks the modules' source for a direct ``legend``, ``axhline`` or
``axvline``).

Colour: :data:`GOOD`, :data:`BAD` and :data:`NEUTRAL` mean good, bad and neither, and are used
only for that; series take :data:`PALETTE`.
"""

from __future__ import annotations

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, NullFormatter

#: Colours that carry a meaning, and only that one.
GOOD, BAD, NEUTRAL = "#1a7f37", "#b42318", "#57606a"
#: Series colours (colour-blind safe, none of them read as good or bad).
PALETTE = ("#1f5f9e", "#e08a1e", "#6b4c9a", "#2a9d8f", "#8c8c8c", "#c05a8a")
#: The matplotlib defaults of the house style.
RC = {
    "figure.figsize": (7.0, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 110,
    "savefig.bbox": "tight",
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.titleweight": "semibold",
    "axes.titlelocation": "left",
    "axes.labelsize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "axes.axisbelow": True,
    "axes.prop_cycle": mpl.cycler(color=list(PALETTE)),
    "grid.color": "#e3e6ea",
    "grid.linewidth": 0.8,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.frameon": False,
    "legend.fontsize": 10,
    "axes.formatter.useoffset": False,
    "axes.formatter.limits": (-6, 9),
}


def use() -> None:
    """Make the house style matplotlib's default for the plots that follow (idempotent)."""
    mpl.rcParams.update(RC)


def group_thousands(value: float, decimals: int = 0) -> str:
    """Write a number with thin-space thousands separators, as the report's tables do.

    Examples
    --------
    >>> group_thousands(1234567), group_thousands(-2500.5, 1), group_thousands(0.25, 2)
    ('1\u202f234\u202f567', '-2\u202f500.5', '0.25')
    """
    return f"{value:,.{decimals}f}".replace(",", "\u202f")


def _short(value: float, _pos=None) -> str:
    """Tick text: thousands separators, millions as ``M``, no needless decimals."""
    a = abs(value)
    if a >= 1e6:
        return f"{value / 1e6:.1f}".rstrip("0").rstrip(".") + " M"
    if a >= 100 or a == int(a):
        return group_thousands(value)
    return f"{value:.2f}".rstrip("0").rstrip(".")


def money_axis(ax: Axes, currency: str, *, axis: str = "y", label: str | None = None) -> Axes:
    """Money on an axis: thousands separators on the ticks and the currency in the label.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes.
    currency : str
        Currency code (``RUB``, ``EUR``) or ``"money units"``.
    axis : {"x", "y"}
        Which axis.
    label : str, optional
        What the axis shows; the label becomes ``"<label>, <currency>"``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = money_axis(ax, "RUB", label="revenue")
    >>> ax.get_ylabel(), ax.yaxis.get_major_formatter()(12500, 0)
    ('revenue, RUB', '12\u202f500')
    >>> plt.close(fig)
    """
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(_short))
    if target.get_scale() == "log":  # no 2x10^3 minor labels between the people's numbers
        target.set_minor_formatter(NullFormatter())
    if label is not None:
        (ax.set_ylabel if axis == "y" else ax.set_xlabel)(f"{label}, {currency}" if currency else label)
    return ax


def count_axis(ax: Axes, *, axis: str = "y", label: str | None = None) -> Axes:
    """Counts on an axis: thousands separators, whole numbers."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda v, _p=None: group_thousands(v)))
    if target.get_scale() == "log":
        target.set_minor_formatter(NullFormatter())
    if label is not None:
        (ax.set_ylabel if axis == "y" else ax.set_xlabel)(label)
    return ax


def share_axis(ax: Axes, *, axis: str = "y", label: str | None = None, decimals: int = 0) -> Axes:
    """Shares (0 to 1) on an axis, written as percent.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> share_axis(ax).yaxis.get_major_formatter()(0.25, 0)
    '25 %'
    >>> plt.close(fig)
    """
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda v, _p=None: f"{100 * v:.{decimals}f} %"))
    if label is not None:
        (ax.set_ylabel if axis == "y" else ax.set_xlabel)(label)
    return ax


def reference_line(
    ax: Axes,
    value: float,
    label: str,
    *,
    axis: str = "y",
    color: str = NEUTRAL,
    text: bool = True,
    legend: bool = True,
) -> Axes:
    """A dashed target or reference line that says what it is, in the legend and beside the line.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes.
    value : float
        Where the line goes.
    label : str
        What it is (``"target 30 %"``, ``"break-even"``); shown in the legend and, with ``text``,
        at the line's end.
    axis : {"y", "x"}
        A horizontal line at ``y=value`` or a vertical one at ``x=value``.
    color : str
        Line colour (neutral grey by default; :data:`GOOD`/:data:`BAD` only when it means that).
    text : bool
        Also write the label at the line's end.
    legend : bool
        Give the line a legend entry (leave it out where another entry already names it).

    Returns
    -------
    matplotlib.axes.Axes
    """
    kw = {"color": color, "linestyle": "--", "linewidth": 1.2, "label": label if legend else f"_{label}", "zorder": 1.5}
    if axis == "y":
        ax.axhline(value, **kw)
        if text:
            ax.annotate(
                label,
                (1, value),
                xycoords=("axes fraction", "data"),
                xytext=(-2, 3),
                textcoords="offset points",
                ha="right",
                va="bottom",
                fontsize=9,
                color=color,
            )
    else:
        ax.axvline(value, **kw)
        if text:
            ax.annotate(
                label,
                (value, 1),
                xycoords=("data", "axes fraction"),
                xytext=(3, -2),
                textcoords="offset points",
                ha="left",
                va="top",
                fontsize=9,
                color=color,
                rotation=90,
            )
    return ax


def label_text(name) -> str:
    """A category or column name as people write it (``member_before_issue`` → "Member, before the card").

    Uses the one dictionary of labels of :data:`loyalty_lib.present.LABELS`; any other
    snake_case name is written as words.

    Examples
    --------
    >>> label_text("member_before_issue"), label_text("b2c"), label_text("non_member")
    ('Member, before the card', 'b2c', 'Non-member')
    """
    from loyalty_lib.present import label

    return label(name)


def legend_outside(ax: Axes, *, where: str = "right", **kwargs) -> Axes:
    """Put the legend beside the axes (``"right"``) or below them (``"below"``), never over the data.

    Entries are written as people write them (:func:`label_text`: ``member_before_issue`` becomes
    "Member, before the card"); an entry repeated under the same text is shown once.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes.
    where : {"right", "below"}
        Beside the axes or under them (the x-axis label stays readable: the legend starts below it).
    **kwargs
        Passed to ``Axes.legend`` (``title=``, ``fontsize=``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], label="member_before_issue")
    >>> _ = ax.plot([1, 0], label="non_member")
    >>> [t.get_text() for t in legend_outside(ax).get_legend().get_texts()]
    ['Member, before the card', 'Non-member']
    >>> plt.close(fig)
    """
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return ax
    shown = {}
    for h, lab in zip(handles, labels, strict=True):
        shown.setdefault(label_text(lab), h)
    if "title" in kwargs and kwargs["title"]:
        kwargs["title"] = label_text(kwargs["title"])
    args = (list(shown.values()), list(shown))
    if where == "below":
        ax.legend(*args, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=min(len(shown), 3), **kwargs)
    else:
        ax.legend(*args, loc="upper left", bbox_to_anchor=(1.01, 1.0), **kwargs)
    return ax


def baseline(ax: Axes, value: float = 0.0, *, axis: str = "y") -> Axes:
    """A thin neutral line at ``value`` (zero effect, no change) that needs no legend entry.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> float(baseline(ax).get_lines()[0].get_ydata()[0])
    0.0
    >>> plt.close(fig)
    """
    kw = {"color": NEUTRAL, "linewidth": 0.8, "zorder": 1.2}
    (ax.axhline if axis == "y" else ax.axvline)(value, **kw)
    return ax
