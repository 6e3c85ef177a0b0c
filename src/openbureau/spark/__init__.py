"""Cluster execution on Apache Spark: a session, the contract tables from Parquet, the
feature catalog through Ibis's pyspark backend (the network walk checkpointed step by
step), and batch scoring with ``mapInArrow``.

Needs the ``spark`` extra (``pip install 'openbureau[spark]'``) and Java 17.
"""

from openbureau.spark.features import backend, feature_frame
from openbureau.spark.network import network_frame
from openbureau.spark.score import SparkScoreReport, merge_parts, score_frame, score_parquet
from openbureau.spark.session import (
    DEFAULTS,
    SparkUnavailable,
    check_runtime,
    export_store,
    read_table,
    session,
    spark_tables,
)

__all__ = [
    "DEFAULTS",
    "SparkScoreReport",
    "SparkUnavailable",
    "backend",
    "check_runtime",
    "export_store",
    "feature_frame",
    "merge_parts",
    "network_frame",
    "read_table",
    "score_frame",
    "score_parquet",
    "session",
    "spark_tables",
]
