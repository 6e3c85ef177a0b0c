"""One Spark scoring job, as ``openbureau score --engine spark`` runs it (and a
``spark-submit`` script can): check the runtime, start or join a session, read the
contract tables, score, write the Parquet folder (and, if asked, the single file the
service publishes)."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlparse

from openbureau.spark.score import SparkScoreReport, merge_parts, score_parquet
from openbureau.spark.session import (
    check_runtime,
    export_store,
    session,
    spark_tables,
    under_spark_submit,
)

LOCAL_MASTER = "local[2]"
# Shuffle partitions on one machine: measured with local[2] and a 4 GB driver, 20,000
# people ran with 4 and 100,000 needed 16 (4 ran out of execution memory), so about one
# partition per 6,250 people, never fewer than the 4 of ``session.DEFAULTS``.
PEOPLE_PER_LOCAL_PARTITION = 6_250
MEMORY_MARKERS = ("UNABLE_TO_ACQUIRE_MEMORY", "SparkOutOfMemoryError")


class SparkOutOfMemory(RuntimeError):
    """Spark ran out of execution memory; the message says which settings to raise."""


def local_partitions(people: int) -> int:
    """Shuffle partitions for ``people`` on a local master."""
    if isinstance(people, bool) or not isinstance(people, int):
        raise TypeError(f"people must be an int, got {type(people).__name__}")
    if people < 0:
        raise ValueError(f"people must be >= 0, got {people}")
    return max(4, -(-people // PEOPLE_PER_LOCAL_PARTITION))


def people_in(tables: str | Path) -> int | None:
    """Rows of the people table under a local ``tables`` folder, from Parquet footers
    (no data read); None when it is not a local folder of Parquet."""
    import pyarrow.dataset as ds

    folder = Path(str(tables)) / "people"
    if not is_local(tables) or not folder.is_dir():
        return None
    try:
        return int(ds.dataset(folder, format="parquet").count_rows())
    except (OSError, ValueError):
        return None


def memory_advice(exc: BaseException, settings: Mapping[str, str]) -> SparkOutOfMemory | None:
    """A ``SparkOutOfMemory`` naming the settings to raise if ``exc`` is Spark's
    execution-memory failure (it surfaces as a Py4J or PySpark error whose text holds the
    JVM's), else None."""
    text = str(exc)
    if not any(marker in text for marker in MEMORY_MARKERS):
        return None
    partitions = settings.get("spark.sql.shuffle.partitions", "?")
    memory = settings.get("spark.driver.memory", "?")
    return SparkOutOfMemory(
        "Spark ran out of execution memory (UNABLE_TO_ACQUIRE_MEMORY) with "
        f"spark.sql.shuffle.partitions={partitions} and spark.driver.memory={memory}: "
        "give each task less to hold at once with more shuffle partitions (--conf "
        f"spark.sql.shuffle.partitions=N, about one per {PEOPLE_PER_LOCAL_PARTITION:,} people "
        "on one machine) or more memory (--conf spark.driver.memory=8g locally, "
        "executor memory on a cluster)"
    )


@dataclass(frozen=True)
class SparkJobReport(SparkScoreReport):
    master: str = ""
    tables: str = ""
    merged: str | None = None

    def __str__(self) -> str:
        merged = f"; one file for the service: {self.merged}" if self.merged else ""
        return f"{super().__str__()} [master {self.master}, tables {self.tables}]{merged}"


def is_local(path: str | Path) -> bool:
    """Whether ``path`` is on this machine (no scheme, or ``file:``)."""
    scheme = urlparse(str(path)).scheme
    return scheme in ("", "file") or (len(scheme) == 1 and str(path)[1:2] == ":")


def check_output(out: str | Path) -> None:
    """Spark overwrites ``out`` whole: refuse a local path holding anything but an
    earlier Spark output (a folder with ``_SUCCESS``) or nothing."""
    if not is_local(out):
        return
    path = Path(urlparse(str(out)).path if str(out).startswith("file:") else out)
    if path.is_file():
        raise FileExistsError(f"--out {out} is a file; the Spark engine writes a folder")
    if path.is_dir() and any(path.iterdir()) and not (path / "_SUCCESS").is_file():
        raise FileExistsError(
            f"--out {out} is a folder that is not an earlier Spark output (no _SUCCESS): "
            "refusing to overwrite it; give a new or empty folder"
        )


def check_tables(tables: str | Path) -> None:
    """A local ``--tables`` folder must exist and hold the contract tables' folders."""
    from openbureau.contract import TABLES

    if not is_local(tables):
        return
    root = Path(str(tables).removeprefix("file:"))
    if not root.is_dir():
        raise FileNotFoundError(f"--tables {tables} is not a folder")
    missing = [t.name for t in TABLES if not any((root / t.name).glob("part-*.parquet"))]
    if missing:
        raise FileNotFoundError(
            f"--tables {tables} lacks contract tables {missing} "
            "(expected <tables>/<table>/part-*.parquet, as `openbureau simulate` writes)"
        )


def run(
    model_dir: Path,
    as_of: dt.date,
    out: str | Path,
    *,
    tables: str | Path | None = None,
    store: str | Path | None = None,
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    policy: str | Path | None = None,
    partitions: int | None = None,
    merged: Path | None = None,
    checkpoint_dir: str | None = None,
) -> SparkJobReport:
    """Score everyone known before ``as_of`` on Spark.

    ``tables`` is a folder of contract tables as Parquet (``<table>/part-*.parquet``) on
    any path Spark reads; without it the store is exported to a temporary folder first
    (local masters only: executors elsewhere cannot read this machine's files).
    ``master`` defaults to spark-submit's, else ``local[2]``.
    """
    check_runtime()
    if master is None and not under_spark_submit():
        master = LOCAL_MASTER
    if tables is None and master is not None and not master.startswith("local"):
        raise ValueError(
            f"--tables is needed with --master {master}: executors cannot read the store on "
            "this machine; write the contract tables as Parquet where they can"
        )
    if tables is not None:
        check_tables(tables)
    check_output(out)
    if not (Path(model_dir) / "artifact.json").is_file():
        raise FileNotFoundError(f"--model {model_dir} is not a model folder (no artifact.json)")
    exported = None
    spark = None
    try:
        if tables is None:
            exported = Path(tempfile.mkdtemp(prefix="openbureau-spark-tables-"))
            tables = export_store(store, exported)
        conf = dict(conf or {})
        people = people_in(tables) if master is not None and master.startswith("local") else None
        if people is not None and "spark.sql.shuffle.partitions" not in conf:
            conf["spark.sql.shuffle.partitions"] = str(local_partitions(people))
        spark = session(master, conf=conf)
        if checkpoint_dir:
            spark.sparkContext.setCheckpointDir(checkpoint_dir)
        spark_tables(spark, tables)
        try:
            report = score_parquet(
                spark, model_dir, as_of, out, policy=policy, partitions=partitions
            )
        except Exception as exc:  # Py4JJavaError or a PySpark error carrying the JVM's text
            advice = memory_advice(exc, dict(spark.sparkContext.getConf().getAll()))
            if advice is None:
                raise
            raise advice from exc
        merged_file = merge_parts(out, merged) if merged is not None else None
        used = spark.sparkContext.master
    finally:
        if spark is not None and not under_spark_submit():
            spark.stop()
        if exported is not None:
            shutil.rmtree(exported, ignore_errors=True)
    fields = {f: getattr(report, f) for f in SparkScoreReport.__dataclass_fields__}
    return replace(
        SparkJobReport(**fields),
        master=str(used),
        tables="the store (exported)" if exported is not None else str(tables),
        merged=str(merged_file) if merged_file is not None else None,
    )
