"""What must never reach a manager's page: raw column names, NaN, True/False, scientific notation, tracebacks, paths.

:func:`page_problems` reads a page's visible text (styles, scripts and image data left out) and
names every such problem with a bit of its context. The report's tests run it on the index and
on the managers' pages; an analyst can run it on a page of their own report.
"""

from __future__ import annotations

import html as _html
import re

_HIDDEN = re.compile(r"<(style|script)\b.*?</\1>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")
_HEADER = re.compile(r"<th\b[^>]*>(.*?)</th>", re.S | re.I)
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
#: Visible-text patterns a manager's page must not show, with what each means.
RULES = (
    (re.compile(r"\b(NaN|nan|NaT|None|<NA>)\b"), "a missing value written as NaN/None"),
    (re.compile(r"(?<![\w.])(True|False)(?![\w.])"), "True/False instead of yes/no"),
    # 7.24e-179, 1.5e+06, 3e-05 (a decimal point or a signed exponent: a commit id such as 1210e36 is not one)
    (re.compile(r"(?<![\w.])(\d+\.\d+[eE][+-]?\d+|\d+[eE][+-]\d+)(?![\w.])"), "a number in scientific notation"),
    (re.compile(r"Traceback \(most recent call last\)|\w+Error: .*\n?.*line \d+|ipython-input"), "a traceback"),
    (re.compile(r"(?<![\w.~-])/(home|root|tmp|work|Users|var|mnt|private)/[\w./-]+"), "an absolute local path"),
    (re.compile(r"[A-Z]:\\\\[\w\\]+"), "an absolute local path"),
    (re.compile(r"file://"), "a local file address"),
    (re.compile(r"\b\d{4}-\d\d-\d\d 00:00:00\b"), "a date with a time of midnight"),
)


def visible_text(page: str) -> str:
    """The text a reader sees on an HTML page: no styles, scripts or tags; entities decoded."""
    return _html.unescape(_TAG.sub(" ", _HIDDEN.sub(" ", page)))


def page_problems(page: str) -> list[str]:
    """Every sign of a notebook dump on a manager's page, each named with its context.

    Parameters
    ----------
    page : str
        The page's HTML.

    Returns
    -------
    list of str
        One line per problem (``"a raw column name in a table header: 'customer_type'"``);
        empty for a clean page.

    Examples
    --------
    >>> page_problems("<table><tr><th>customer_type</th></tr><tr><td>NaN</td></tr></table>")
    ["a raw column name in a table header: 'customer_type'", "a missing value written as NaN/None: '  NaN  '"]
    >>> page_problems("<p>Revenue 1\u202f200 RUB, 35.5 % of checks, 2025-03-01</p>")
    []
    """
    found = []
    for cell in _HEADER.findall(_HIDDEN.sub(" ", page)):
        text = _html.unescape(_TAG.sub("", cell)).strip()
        if _SNAKE.match(text):
            found.append(f"a raw column name in a table header: {text!r}")
    text = visible_text(page)
    for pattern, what in RULES:
        for m in pattern.finditer(text):
            ctx = text[max(0, m.start() - 2) : m.end() + 2].replace("\n", " ")
            found.append(f"{what}: {ctx!r}")
    return found
