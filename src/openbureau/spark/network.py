"""The network features on Spark: the relational walk of ``openbureau.network.relational``
(the one definition, as Ibis), with the population, the contact pairs, the walk's edges
and every step's state checkpointed.

Without checkpoints step t's plan holds steps 1..t-1 and the whole population query, so
Spark plans (and, where it cannot reuse an exchange, recomputes) a plan that grows with
the steps. A checkpoint computes a table once and cuts its lineage: each step's plan is
one join and one aggregate over stored data, whatever the number of steps.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import ibis.expr.types as ir
from ibis.backends import BaseBackend

from openbureau.network.config import NetworkConfig
from openbureau.network.relational import network_table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_RUNS = itertools.count()


@dataclass
class Checkpoints:
    """Materialises Ibis tables on Spark and keeps them until ``release``.

    ``reliable=True`` writes them to the session's checkpoint directory
    (``SparkContext.setCheckpointDir``, e.g. on HDFS or S3: survives losing an executor);
    otherwise they are local checkpoints, kept in the executors' block managers (faster,
    fine on one machine or a short job).
    """

    spark: SparkSession
    backend: BaseBackend
    reliable: bool = False
    frames: list[DataFrame] = field(default_factory=list)
    views: list[str] = field(default_factory=list)
    prefix: str = field(default_factory=lambda: f"_openbureau_net{next(_RUNS)}")

    def frame(self, table: ir.Table) -> DataFrame:
        """The Spark DataFrame of an Ibis table on this backend (lazy)."""
        return self.spark.sql(str(self.backend.compile(table)))

    def store(self, df: DataFrame) -> DataFrame:
        """``df`` computed now and its lineage cut."""
        stored = df.checkpoint(eager=True) if self.reliable else df.localCheckpoint(eager=True)
        self.frames.append(stored)
        return stored

    def __call__(self, name: str, table: ir.Table) -> ir.Table:
        """The ``materialize`` hook of ``network_table``: ``table`` stored, as a view."""
        view = f"{self.prefix}_{name}"
        self.store(self.frame(table)).createOrReplaceTempView(view)
        self.views.append(view)
        return self.backend.table(view)

    def release(self, keep: DataFrame | None = None) -> None:
        """Drop every view and stored table but ``keep``."""
        for view in self.views:
            self.spark.catalog.dropTempView(view)
        for df in self.frames:
            if df is not keep:
                df.unpersist()
        self.views.clear()
        self.frames = [keep] if keep is not None else []


def network_frame(
    spark: SparkSession,
    backend: BaseBackend,
    tables: dict[str, ir.Table],
    dates: ir.Table,
    config: NetworkConfig,
    *,
    reliable: bool | None = None,
) -> DataFrame:
    """(person_id, as_of, every network feature) for people with a consented contact, as
    a stored DataFrame (its lineage cut: what it was computed from is released).

    ``reliable`` defaults to whether the session has a checkpoint directory.
    """
    if reliable is None:
        reliable = spark.sparkContext.getCheckpointDir() is not None
    keep = Checkpoints(spark, backend, reliable)
    try:
        result = keep.store(keep.frame(network_table(tables, dates, config, materialize=keep)))
    except BaseException:
        keep.release()
        raise
    keep.release(keep=result)
    return result
