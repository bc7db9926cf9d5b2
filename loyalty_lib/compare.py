"""Compare two generated data sets as a person would: same ids and counts, floats up to rounding.

The generator is deterministic given its seed, but a sum or a matrix product may differ in its
last bit on another CPU or BLAS. These functions say *where* two data sets differ, treating a
float as equal within a relative tolerance and everything else (ids, counts, dates, labels,
missing values) exactly, so that a real change to the generator is caught and a last bit is not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

#: Relative tolerance for floats: far above a last-bit difference (about 1e-16), far below any
#: change a person would notice in a planted effect.
RTOL = 1e-6
#: Absolute tolerance for floats near zero (rates, probabilities, money in RUB).
ATOL = 1e-9


def truth_differences(expected: object, got: object, *, rtol: float = RTOL, atol: float = ATOL) -> list[str]:
    """List where two nested ground-truth structures differ.

    Parameters
    ----------
    expected, got : object
        Nested dicts, lists, numbers, strings, booleans and ``None`` (a ``ground_truth.json``).
    rtol, atol : float
        Tolerances for two floats (``math.isclose``); ints, booleans, strings and ``None`` must
        be equal, and a float never equals a string.

    Returns
    -------
    list of str
        One line per difference, ``"path: expected … got …"``; empty when they agree.

    Examples
    --------
    >>> truth_differences({"a": {"b": 0.1 + 0.2, "n": 3}}, {"a": {"b": 0.3, "n": 3}})
    []
    >>> truth_differences({"a": [1, 2.0]}, {"a": [1, 2.5], "c": "x"})
    ['a[1]: expected 2.0, got 2.5', 'c: unexpected key']
    """
    out: list[str] = []
    _diff(expected, got, "", rtol, atol, out)
    return out


def _diff(a: object, b: object, path: str, rtol: float, atol: float, out: list[str]) -> None:
    where = path or "<root>"
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for k in a:
            sub = f"{path}.{k}" if path else str(k)
            if k not in b:
                out.append(f"{sub}: missing")
            else:
                _diff(a[k], b[k], sub, rtol, atol, out)
        out.extend(f"{path}.{k}: unexpected key" if path else f"{k}: unexpected key" for k in b if k not in a)
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            out.append(f"{where}: expected {len(a)} items, got {len(b)}")
            return
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, f"{path}[{i}]", rtol, atol, out)
    elif _is_float(a) or _is_float(b):
        same = _is_number(a) and _is_number(b) and _floats_agree(float(a), float(b), rtol, atol)
        if not same:
            out.append(f"{where}: expected {a!r}, got {b!r}")
    elif type(a) is not type(b) or a != b:
        out.append(f"{where}: expected {a!r}, got {b!r}")


def _is_float(x: object) -> bool:
    return isinstance(x, float | np.floating)


def _is_number(x: object) -> bool:
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)


def _floats_agree(x: float, y: float, rtol: float, atol: float) -> bool:
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return math.isclose(x, y, rel_tol=rtol, abs_tol=atol)


def table_differences(
    expected: pd.DataFrame, got: pd.DataFrame, *, name: str = "table", rtol: float = RTOL, atol: float = ATOL
) -> list[str]:
    """List where two tables differ: columns, length, and values column by column.

    Float columns agree within ``rtol``/``atol`` (missing where the other is missing); dates
    must be the same instant (a date read back from CSV as text is parsed first); every other
    column (ids, counts, categories) must agree exactly, compared as text so that a table read
    back from CSV compares equal to the one written.

    Parameters
    ----------
    expected, got : pandas.DataFrame
        The reference table and the one to check.
    name : str
        Table name used in the messages.
    rtol, atol : float
        Tolerances for float columns.

    Returns
    -------
    list of str
        One line per differing column, ``"table.column: n row(s) differ, first at row i
        (expected …, got …)"``; empty when the tables agree.

    Examples
    --------
    >>> a = pd.DataFrame({"id": ["c1", "c2"], "amount": [10.0, 0.1 + 0.2]})
    >>> table_differences(a, a.assign(amount=[10.0, 0.3]), name="receipts")
    []
    >>> table_differences(a, a.assign(id=["c1", "c3"]), name="receipts")
    ["receipts.id: 1 row(s) differ, first at row 1 (expected 'c2', got 'c3')"]
    """
    if list(got.columns) != list(expected.columns):
        return [f"{name}: expected columns {list(expected.columns)}, got {list(got.columns)}"]
    if len(got) != len(expected):
        return [f"{name}: expected {len(expected):,} rows, got {len(got):,}"]
    out = []
    for col in expected.columns:
        a, b = expected[col], got[col]
        na_a, na_b = a.isna().to_numpy(), b.isna().to_numpy()
        if pd.api.types.is_float_dtype(a) or pd.api.types.is_float_dtype(b):
            x, y = a.to_numpy(float, na_value=np.nan), b.to_numpy(float, na_value=np.nan)
            bad = (na_a != na_b) | ~(np.isclose(x, y, rtol=rtol, atol=atol) | (na_a & na_b))
        elif pd.api.types.is_datetime64_any_dtype(a) or pd.api.types.is_datetime64_any_dtype(b):
            x, y = pd.to_datetime(a).to_numpy("datetime64[ns]"), pd.to_datetime(b).to_numpy("datetime64[ns]")
            bad = (na_a != na_b) | ((x != y) & ~na_a & ~na_b)
        else:
            both = ~na_a & ~na_b
            bad = na_a != na_b
            bad[both] |= a[both].astype(str).to_numpy() != b[both].astype(str).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            out.append(
                f"{name}.{col}: {int(bad.sum()):,} row(s) differ, first at row {i} "
                f"(expected {a.iloc[i]!r}, got {b.iloc[i]!r})"
            )
    return out
