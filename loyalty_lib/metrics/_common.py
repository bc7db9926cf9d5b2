"""Input checks shared by the metric and plot modules."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def check_columns(
    df: pd.DataFrame, cols: Sequence[str], where: str, *, frame: bool = False, quote: bool = True
) -> None:
    """Raise ``ValueError`` naming every column of ``cols`` missing from ``df``.

    Parameters
    ----------
    df : pandas.DataFrame
        The frame to check.
    cols : sequence of str
        Required columns.
    where : str
        Name of the calling function, put first in the message.
    frame : bool
        Also raise ``ValueError`` when ``df`` is not a pandas DataFrame.
    quote : bool
        Name the missing columns as ``'a', 'b'`` (default) or bare, ``a, b``.

    Returns
    -------
    None

    Raises
    ------
    ValueError
        ``"<where>: missing column(s) 'a', 'b'"`` (or ``"<where>: expected a pandas
        DataFrame, got <type>"`` with ``frame=True``).
    """
    if frame and not isinstance(df, pd.DataFrame):
        raise ValueError(f"{where}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        names = ", ".join(repr(c) for c in missing) if quote else ", ".join(missing)
        raise ValueError(f"{where}: missing column(s) {names}")


def as_list(by) -> list[str]:
    """Grouping argument as a list: ``None`` -> ``[]``, ``"a"`` -> ``["a"]``, else ``list(by)``."""
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)
