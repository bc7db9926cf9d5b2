"""Fixtures shared by the metric tests."""

import pandas as pd
import pytest


@pytest.fixture
def binary():
    """Ten eligible surveys: score 0, 2 of 5 returned (odds 2/3); score 1, 4 of 5 (odds 4).

    Controls: a single-valued ``customer_type`` (dropped by the logit), a yes/no ``delivery``,
    a two-level text ``channel`` and a count ``prior_visits``.
    """
    return pd.DataFrame(
        {
            "customer_id": range(10),
            "nps": [0] * 5 + [1] * 5,
            "returned": [True, True, False, False, False, True, True, True, True, False],
            "customer_type": ["b2c"] * 10,
            "delivery": [True, False] * 5,
            "channel": ["online", "offline", "offline", "online", "offline"] * 2,
            "prior_visits": [1, 2, 3, 4, 5, 1, 2, 3, 4, 5],
        }
    )
