"""The feature catalog on Spark: the very Ibis expressions ``build_features`` runs, kept as
Spark DataFrames so nothing is collected to the driver.

The network walk runs apart from the rest of the catalog, step by step with each step's
state checkpointed (``openbureau.spark.network``), then joins the matrix the way the
embedded engine attaches it (``openbureau.features.network.attach``): people without a
consented contact get the specs' defaults.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import ibis
from ibis.backends import BaseBackend

from openbureau.features import network
from openbureau.features.build import DATES, INPUT, as_date, query, source_tables
from openbureau.features.catalog import CATALOG
from openbureau.features.spec import KEYS, FeatureParams

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def backend(spark: SparkSession) -> BaseBackend:
    """Ibis's pyspark backend over ``spark`` (contract tables registered as views by
    ``spark_tables``): pass it to ``openbureau.features.build_features`` to collect the
    matrix as Arrow on the driver."""
    return ibis.pyspark.connect(spark)


def dates_frame(spark: SparkSession, as_of: dt.date) -> DataFrame:
    """The one-row ``as_of`` table, built in the JVM as one partition.

    ``createDataFrame`` from a Python list would be a Python RDD split over
    ``spark.default.parallelism`` slices, re-run (a Python worker per slice) by every
    query that reads it: at 160 partitions that cost ~25 task-seconds per read, for one row.
    """
    from pyspark.sql import functions as F

    return spark.range(0, 1, 1, numPartitions=1).select(F.lit(as_of).alias("as_of"))


def feature_frame(
    spark: SparkSession,
    as_of: dt.date | str,
    params: FeatureParams | None = None,
    *,
    checkpoint: bool = True,
) -> DataFrame:
    """The feature matrix of everyone known before ``as_of`` as a Spark DataFrame (the
    columns of ``build_features``, unknown values null rather than NaN, types as Spark
    computes them; ``openbureau.features.build.finish`` makes them exact per batch).

    The network walk is computed (and checkpointed step by step) when this is called;
    the rest stays lazy. ``checkpoint=False`` plans the whole catalog as one expression
    instead (the plan then grows with the walk's steps: for comparison only).
    """
    from pyspark.sql import functions as F

    from openbureau.spark.network import network_frame

    params = params or FeatureParams()
    dates_frame(spark, as_date(as_of)).createOrReplaceTempView(INPUT)
    be = backend(spark)
    tables = source_tables(be)
    if not checkpoint:
        return spark.sql(str(be.compile(query(tables, be.table(INPUT), DATES, params))))
    base = spark.sql(
        str(be.compile(query(tables, be.table(INPUT), DATES, params, with_network=False)))
    )
    net = network_frame(spark, be, tables, be.table(INPUT), params.network)
    joined = base.join(net, list(KEYS), "left")
    specs = {s.name: s for s in network.SPECS}
    columns = []
    for name in ("segment", *(s.name for s in CATALOG)):
        spec = specs.get(name)
        if spec is None:
            columns.append(F.col(name))
        elif spec.default is None:
            columns.append(F.col(name).cast("double").alias(name))
        else:
            columns.append(F.coalesce(F.col(name), F.lit(spec.default)).cast("double").alias(name))
    return joined.select(*KEYS, *columns)
