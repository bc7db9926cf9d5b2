"""Small helpers shared by the metric modules (the column check is :func:`loyalty_lib.stats.check_columns`)."""

from __future__ import annotations

__all__ = ["as_list"]


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
