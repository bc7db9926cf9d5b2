"""The engine on PySpark in local mode gives DuckDB's numbers (``make test-spark``).

PySpark is kept out of the main environment: pandera imports it whenever it is installed,
which slows every notebook's start. ``make test-spark`` installs the pinned PySpark into
``.spark/`` beside the environment and runs this file with it; Spark needs Java 17.
"""

from __future__ import annotations

import pandas as pd
import pytest
from test_engine import receipts, same

from loyalty_lib import engine

pyspark = pytest.importorskip("pyspark", reason="PySpark is installed by `make test-spark` only")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark_con():
    import ibis
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("loyalty-engine-test")
        .config("spark.sql.session.timeZone", "UTC")  # receipt times are wall-clock times, no zone
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    yield ibis.pyspark.connect(session)
    session.stop()


def test_spark_gives_the_duckdb_numbers(spark_con):
    tx = receipts(n=3_000, n_customers=300, seed=11)
    pos = tx[tx["amount"] >= 0]
    end = "2025-03-01"
    ids = tx["customer_id"].dropna().unique()
    cards = pd.DataFrame(
        {"customer_id": ids[::3], "date": pd.Timestamp("2024-09-01") + pd.to_timedelta(range(len(ids[::3])), "D")}
    )
    vals = {"revenue": "amount", "gross": "gross_amount"}
    window = {"start": "2024-04-01", "end": end}
    cases = [
        (engine.customer_summary, tx, window),
        (engine.customer_month, tx, {**window, "values": vals, "after": cards}),
        (engine.store_month, tx, {**window, "values": vals}),
        (engine.cohort_counts, tx, {"end": end, "max_months": 6, "customers": ids[::2]}),
        (engine.return_counts, tx, {"end": end, "horizon_days": 60, "k_max": 4, "customers": ids[::2]}),
        (
            engine.last_visits,
            tx.assign(card_id=tx["customer_id"]),
            {"end": end, "with_card": True, "customers": ids[::2]},
        ),
        (engine.customer_summary, tx, {"end": end}),
        (engine.customer_month, tx, {}),
        (engine.store_month, tx, {"end": end}),
        (engine.cohort_counts, tx, {"end": end, "max_months": 6}),
        (engine.return_counts, tx, {"end": end, "horizon_days": 60, "k_max": 4}),
        (engine.active_counts, tx, {"end": end, "windows": (30, 90)}),
        (engine.rfm_summary, pos, {"end": end, "freq": "D"}),
        (engine.rfm_summary, pos, {"end": end, "freq": "W"}),
    ]
    for fn, data, kw in cases:
        same(fn(data, backend="duckdb", **kw), fn(data, backend=spark_con, **kw))
