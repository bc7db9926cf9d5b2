"""Small vectorised array helpers shared by the generator's pieces."""

from __future__ import annotations

import numpy as np


def rank_within(ids: np.ndarray) -> np.ndarray:
    """Position of each row within its run of equal ``ids`` (0 for the first), without a loop.

    ``ids`` must be sorted (or at least grouped), e.g. receipts sorted by customer then time.

    Examples
    --------
    >>> rank_within(np.array([4, 4, 4, 7, 9, 9])).tolist()
    [0, 1, 2, 0, 0, 1]
    """
    n = len(ids)
    start = np.r_[True, ids[1:] != ids[:-1]] if n else np.zeros(0, dtype=bool)
    pos = np.arange(n)
    return pos - np.maximum.accumulate(np.where(start, pos, 0))
