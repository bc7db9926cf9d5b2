"""Small helpers shared by the metric modules.

The column check lives in :mod:`loyalty_lib.stats` (:func:`~loyalty_lib.stats.check_columns`)
and is re-exported here for the modules that import it from this place.
"""

from __future__ import annotations

from loyalty_lib.stats import check_columns

__all__ = ["as_list", "check_columns"]


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
