"""A SparkSession for openbureau, and the contract tables read from Parquet folders.

The session defaults suit a laptop or a CI runner (``local[2]``); on a cluster the
settings given to ``spark-submit`` (``--master``, ``--conf``) win, because
``SparkSession.builder.getOrCreate`` reuses the session spark-submit started.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from openbureau.contract import TABLES

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# Small-machine settings. Every one can be overridden through ``conf``.
DEFAULTS: dict[str, str] = {
    # A few hundred thousand rows per table on one machine: 200 shuffle partitions
    # would mean 200 tiny tasks per join.
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    # Arrow moves batches between the JVM and Python (toArrow, mapInArrow, createDataFrame).
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
    # Contract timestamps are UTC without a zone; dates must not shift with the host's zone.
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.memory": "1g",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    # Adaptive execution re-plans every stage; on one machine it costs more than it
    # saves on the network walk's long plan (20 s against 30 s on 300 people). Turn it
    # on for a cluster (docs/spark.md).
    "spark.sql.adaptive.enabled": "false",
    # The network walk is a long plan of self joins; broadcast small sides.
    "spark.sql.autoBroadcastJoinThreshold": str(32 * 1024 * 1024),
}

_SPARK_TYPES = {
    "string": "string",
    "int": "bigint",
    "float": "double",
    "bool": "boolean",
    "date": "date",
    "timestamp": "timestamp",
}


def session(
    master: str | None = "local[2]",
    *,
    app_name: str = "openbureau",
    conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """A SparkSession with ``DEFAULTS`` (then ``conf``) applied.

    ``master=None`` leaves the master to spark-submit (``--master yarn``, ``k8s://...``).
    Driver memory only takes effect when this call starts the JVM (not under spark-submit,
    where ``--driver-memory`` sets it).
    """
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    settings = dict(DEFAULTS)
    if master is not None:
        builder = builder.master(master)
        if master.startswith("local"):
            # Python workers run this interpreter (the one openbureau is installed in),
            # not whatever ``python3`` is first on PATH; pyspark reads only the variable.
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    # getOrCreate may return a running session: the SQL settings still apply to it.
    for key, value in settings.items():
        if key.startswith("spark.sql."):
            spark.conf.set(key, value)
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def read_table(spark: SparkSession, root: str | Path, name: str) -> DataFrame:
    """One contract table from ``<root>/<name>/part-*.parquet``, contract columns and types.

    ``root`` may be a local path or any URI Spark reads (``s3a://``, ``hdfs://``,
    ``abfss://``). Columns beyond the contract are dropped; a missing one is an error.
    """
    from pyspark.sql import functions as F

    table = next((t for t in TABLES if t.name == name), None)
    if table is None:
        raise KeyError(f"{name!r} is not a contract table")
    path = f"{str(root).rstrip('/')}/{name}/part-*.parquet"
    df = spark.read.parquet(path)
    missing = [f.name for f in table.fields if f.name not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing contract columns {missing}")
    return df.select(
        *(F.col(f.name).cast(_SPARK_TYPES[f.kind]).alias(f.name) for f in table.fields)
    )


def spark_tables(
    spark: SparkSession, parquet_root: str | Path, *, register: bool = True
) -> dict[str, DataFrame]:
    """Every contract table read from ``parquet_root`` (laid out like the simulator's
    output), registered as a temporary view of its own name unless ``register=False``."""
    out = {}
    for table in TABLES:
        df = read_table(spark, parquet_root, table.name)
        if register:
            df.createOrReplaceTempView(table.name)
        out[table.name] = df
    return out


def contract_schema(name: str) -> pa.Schema:
    """The Arrow schema of a contract table (what ``read_table`` returns, as Arrow)."""
    return next(t for t in TABLES if t.name == name).schema
