"""The feature catalog on Spark: the very Ibis expression ``build_features`` runs, kept as
a Spark DataFrame so nothing is collected to the driver."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import ibis
from ibis.backends import BaseBackend

from openbureau.features.build import DATES, INPUT, as_date, query, source_tables
from openbureau.features.spec import FeatureParams

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def backend(spark: SparkSession) -> BaseBackend:
    """Ibis's pyspark backend over ``spark`` (contract tables registered as views by
    ``spark_tables``): pass it to ``openbureau.features.build_features`` to collect the
    matrix as Arrow on the driver."""
    return ibis.pyspark.connect(spark)


def feature_frame(
    spark: SparkSession, as_of: dt.date | str, params: FeatureParams | None = None
) -> DataFrame:
    """The feature matrix of everyone known before ``as_of`` as a Spark DataFrame (the
    columns of ``build_features``, unknown values null rather than NaN, types as Spark
    computes them; ``openbureau.features.build.finish`` makes them exact per batch)."""
    from pyspark.sql.types import DateType, StructField, StructType

    params = params or FeatureParams()
    dates = spark.createDataFrame(
        [(as_date(as_of),)], StructType([StructField("as_of", DateType(), False)])
    )
    dates.createOrReplaceTempView(INPUT)
    be = backend(spark)
    expr = query(source_tables(be), be.table(INPUT), DATES, params)
    return spark.sql(str(be.compile(expr)))
