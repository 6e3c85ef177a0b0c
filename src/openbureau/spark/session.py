"""A SparkSession for openbureau, and the contract tables read from Parquet folders.

The session defaults suit a laptop or a CI runner (``local[2]``); on a cluster the
settings given to ``spark-submit`` (``--master``, ``--conf``) win, because
``SparkSession.builder.getOrCreate`` reuses the session spark-submit started.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
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
    # A busy shared machine can starve the local executor's heartbeat for minutes; the
    # 120 s default then declares it lost and fails the job.
    "spark.network.timeout": "900s",
    "spark.executor.heartbeatInterval": "60s",
    # The catalog's feature matrix is one stage of many sort-merge joins and aggregates
    # feeding the scorer: every sorter and hash map in it holds at least one memory page at
    # once, and Spark sizes pages from the memory per core (up to 64 MB). With local[2] and
    # 20k people that failed with SparkOutOfMemoryError (UNABLE_TO_ACQUIRE_MEMORY) even with
    # a 4 GB driver; 2 MB pages and the larger execution share ran it (bench_spark.py).
    "spark.buffer.pageSize": "2m",
    "spark.memory.fraction": "0.8",
    # The network walk is a long plan of self joins; broadcast small sides.
    "spark.sql.autoBroadcastJoinThreshold": str(32 * 1024 * 1024),
}

JAVA_MIN = 17


class SparkUnavailable(RuntimeError):
    """Spark cannot start here: pyspark is not installed or no usable Java was found."""


def under_spark_submit() -> bool:
    """Whether this Python runs under ``spark-submit`` (which started the JVM and
    chose the master)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def java_version(java: str) -> int:
    """The major version ``java -version`` reports (``17`` for 17.0.15, ``8`` for 1.8)."""
    try:
        done = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError as exc:
        raise SparkUnavailable(f"cannot run {java}: {exc}") from None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if found is None:
        raise SparkUnavailable(f"{java} -version printed no version: {done.stderr.strip()!r}")
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def check_runtime() -> None:
    """Raise ``SparkUnavailable`` naming what is missing (pyspark, Java, Java >= 17)
    before a SparkSession is started, rather than a Py4J traceback after."""
    if importlib.util.find_spec("pyspark") is None:
        raise SparkUnavailable(
            f"pyspark is not installed for {sys.executable}: "
            "pip install 'openbureau[spark]' (pyspark and ibis-framework[pyspark])"
        )
    if under_spark_submit():
        return
    home = os.environ.get("JAVA_HOME")
    if home:
        java = str(Path(home) / "bin" / "java")
        if not os.access(java, os.X_OK):
            raise SparkUnavailable(
                f"JAVA_HOME={home} has no executable bin/java: point JAVA_HOME at a Java "
                f"{JAVA_MIN}+ installation, or unset it to use the java on PATH"
            )
    else:
        found = shutil.which("java")
        if found is None:
            raise SparkUnavailable(
                f"Java not found (no JAVA_HOME, no java on PATH): Spark needs Java {JAVA_MIN} "
                "or 21, e.g. apt-get install openjdk-17-jre-headless"
            )
        java = found
    major = java_version(java)
    if major < JAVA_MIN:
        raise SparkUnavailable(
            f"{java} is Java {major}; Spark 4 needs Java {JAVA_MIN} or 21: "
            "install one and set JAVA_HOME"
        )


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


def export_store(store: str | Path | None, root: str | Path) -> Path:
    """Every contract table of a store written as ``root/<table>/part-0.parquet`` (contract
    columns only, lineage columns dropped): the layout ``spark_tables`` reads."""
    from openbureau.store import Store

    root = Path(root)
    with Store(store, read_only=True) as db:
        for table in TABLES:
            folder = root / table.name
            folder.mkdir(parents=True, exist_ok=True)
            columns = ", ".join(f'"{f.name}"' for f in table.fields)
            target = str(folder / "part-0.parquet").replace("'", "''")
            db.con.execute(
                f"COPY (SELECT {columns} FROM \"{table.name}\") TO '{target}' (FORMAT parquet)"
            )
    return root


def contract_schema(name: str) -> pa.Schema:
    """The Arrow schema of a contract table (what ``read_table`` returns, as Arrow)."""
    return next(t for t in TABLES if t.name == name).schema
