"""Cluster execution on Apache Spark: a session, the contract tables from Parquet, the
feature catalog through Ibis's pyspark backend, and batch scoring with ``mapInArrow``.

Needs the ``spark`` extra (``pip install 'openbureau[spark]'``) and Java 17.
"""

from openbureau.spark.features import backend, feature_frame
from openbureau.spark.score import SparkScoreReport, score_frame, score_parquet
from openbureau.spark.session import DEFAULTS, read_table, session, spark_tables

__all__ = [
    "DEFAULTS",
    "SparkScoreReport",
    "backend",
    "feature_frame",
    "read_table",
    "score_frame",
    "score_parquet",
    "session",
    "spark_tables",
]
