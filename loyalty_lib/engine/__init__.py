"""The engine: the heavy aggregates over every receipt, written once, run where the data are.

Receipts become per-customer, per-customer-month, per-store-month and per-cohort tables, RFM
summaries, return-curve counts and activity-window counts. Each aggregate is written once as
an `Ibis <https://ibis-project.org>`_ expression, which runs unchanged on the embedded DuckDB
(straight from a Parquet file, larger than memory if need be), on Spark, or on a warehouse
(BigQuery, Snowflake, ...) given an Ibis connection string; a plain pandas/numpy path computes
the same tables in memory for small data, without any database.

The ``backend`` argument of every function (and the ``engine_backend`` parameter of notebooks
03, 06 and 08, ``backend`` in 07) chooses where it runs:

- ``"pandas"``: in memory, in this process (the pandas path);
- ``"duckdb"``: an embedded DuckDB database in this process (:func:`connect`);
- ``""`` or ``"auto"``: pandas below :data:`AUTO_DUCKDB_ROWS` receipts, DuckDB from there on;
- any other text: an Ibis connection string, e.g. ``"duckdb:///path/to/file.ddb"``,
  ``"bigquery://project/dataset"`` or ``"snowflake://user:pass@account/db/schema"``;
- an Ibis backend object already connected (``ibis.pyspark.connect(spark)``, say).

Receipts are given as a DataFrame, as the path of a Parquet file (or of a folder holding
``transactions.parquet``, such as a report's prepared snapshot), or as an Ibis table of the
backend (``con.table("transactions")`` in a warehouse). Every function returns a pandas
DataFrame with fixed, documented columns, sorted by its keys; the backends agree exactly on
counts and to rounding on sums (tests compare pandas, DuckDB and PySpark).

Customer-level models run on every customer up to ``max_model_customers`` and on a documented
random sample above it (:func:`sample_customers`, :func:`add_sample_cost`).
"""

from loyalty_lib.engine.aggregates import (
    AUTO_DUCKDB_ROWS,
    active_counts,
    cohort_counts,
    connect,
    customer_month,
    customer_summary,
    last_visits,
    receipt_lines,
    receipts_of,
    resolve,
    return_counts,
    rfm_summary,
    store_month,
)
from loyalty_lib.engine.sampling import ModelSample, add_sample_cost, sample_customers

__all__ = [
    "AUTO_DUCKDB_ROWS",
    "ModelSample",
    "add_sample_cost",
    "active_counts",
    "cohort_counts",
    "connect",
    "customer_month",
    "customer_summary",
    "last_visits",
    "receipt_lines",
    "receipts_of",
    "resolve",
    "return_counts",
    "rfm_summary",
    "sample_customers",
    "store_month",
]
