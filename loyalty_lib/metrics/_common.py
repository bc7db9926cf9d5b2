"""Small helpers shared by the metric modules (the column check is :func:`loyalty_lib.stats.check_columns`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["as_list", "isin"]


def as_list(by) -> list[str]:
    """Grouping argument as a list: ``None`` -> ``[]``, ``"a"`` -> ``["a"]``, else ``list(by)``.

    Examples
    --------
    >>> as_list(None), as_list("a"), as_list(("a", "b"))
    ([], ['a'], ['a', 'b'])
    """
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def isin(s: pd.Series, values) -> np.ndarray:
    """``s.isin(values)`` as a boolean array, fast on Arrow-backed strings.

    pandas' ``isin`` on an Arrow string column turns every value of ``values`` into a Python
    scalar first (about 1.7 s for 300,000 customer ids); this hands both arrays to Arrow's
    ``is_in`` instead, with the same result (a missing value matches only a missing value).
    ``values`` may be a Series, an Index or an array of the same dtype, or any collection of
    strings (a list, a set); any other column dtype goes to ``Series.isin``.

    Examples
    --------
    >>> s = pd.Series(["a", "b", None], dtype="str")
    >>> isin(s, pd.Index(["b", "c"], dtype="str")).tolist()
    [False, True, False]
    >>> isin(s, {"a", "c"}).tolist(), isin(s, ["b"]).tolist()
    ([True, False, False], [False, True, False])
    >>> isin(pd.Series([1, 2]), [2]).tolist()
    [False, True]
    """
    arrow = isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"
    if not arrow:
        return np.asarray(s.isin(values), dtype=bool)
    col = s.array.__arrow_array__()
    if getattr(values, "dtype", None) == s.dtype:  # a Series, Index or array of the same strings
        keys = pd.array(values).__arrow_array__()
        keys = keys.combine_chunks() if hasattr(keys, "combine_chunks") else keys
    else:
        vals = list(values) if isinstance(values, set | frozenset | dict) else values
        keys = pa.array([v for v in vals if isinstance(v, str)], type=col.type)  # as isin: text values only
    hit = pc.is_in(col, value_set=keys.cast(col.type))
    return np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=bool)
