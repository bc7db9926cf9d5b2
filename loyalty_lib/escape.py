"""Make text safe where the suite writes it: Markdown/HTML pages and CSV files people open.

Two rules, one helper each:

- :func:`md_escape` — any string (a path, a parameter, a value from the data) that goes into
  Markdown is shown as literal text: every ASCII punctuation character is backslash-escaped
  (CommonMark's escape, honoured by Jupyter and nbconvert), so a folder named
  ``x`<img onerror=...>`` reads as that name and never becomes a tag, a link or a code span.
  Strings that go straight into HTML are escaped by the page templates (Jinja2 autoescape).
- :func:`neutralise_formulas` / :func:`write_csv` — a CSV the suite writes for people (quarantine
  files, tables of the report) must not carry spreadsheet formulas: a *text* cell that starts with
  ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe (``'=HYPERLINK(...)``),
  the mitigation OWASP recommends for CSV injection. Numbers (``-5``, ``+3.2`` held as numbers) are
  never touched, and neither is a text cell that is itself a plain number such as ``"-5"``: a
  spreadsheet reads it as the number it is, and no formula can hide in it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

#: First characters with which a spreadsheet starts a formula (or a DDE payload).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_MD_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character


def md_escape(text: object) -> str:
    r"""Return ``text`` as literal Markdown text: nothing in it can become markup.

    Parameters
    ----------
    text : object
        Any value; ``str(text)`` is escaped.

    Returns
    -------
    str
        The text with every ASCII punctuation character backslash-escaped.

    Examples
    --------
    >>> print(md_escape("q1`<img onerror=x>"))
    q1\`\<img onerror\=x\>
    """
    return _MD_PUNCT.sub(r"\\\1", str(text))


def _neutral_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.match(value.strip()):
        return "'" + value
    return value


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``df`` whose text cells cannot start a spreadsheet formula.

    A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
    leading apostrophe; numeric columns, and text cells that are plain numbers (``"-5"``), are
    left as they are. Column names get the same treatment.

    Parameters
    ----------
    df : pandas.DataFrame
        Table to be written for people (not modified).

    Returns
    -------
    pandas.DataFrame
        Same shape, index and dtypes of the numeric columns.

    Examples
    --------
    >>> t = pd.DataFrame({"id": ["=HYPERLINK(1)", "-5", "@x", "ok"], "amount": [-5.0, 1.0, 2.0, 3.0]})
    >>> neutralise_formulas(t)["id"].tolist(), neutralise_formulas(t)["amount"].tolist()
    (["'=HYPERLINK(1)", '-5', "'@x", 'ok'], [-5.0, 1.0, 2.0, 3.0])
    """
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype):
            out[col] = s.map(_neutral_cell, na_action="ignore")
    out.columns = [_neutral_cell(c) for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a table for people as CSV, atomically, with formula-leading text cells neutralised.

    Parameters
    ----------
    df : pandas.DataFrame
        The table (not modified); its index is not written.
    path : str or Path
        Target file; written via a temporary file in the same folder and renamed.

    Returns
    -------
    Path
        The file written.
    """
    from loyalty_lib.io import write_table

    path = Path(path)
    write_table(neutralise_formulas(df), path.with_suffix(".csv"))
    return path.with_suffix(".csv")
