"""The pipeline on Apache Spark (local[2]) against the embedded one on the same simulated
Parquet files: contract tables, every feature to the bit, and batch scores and reasons.

One Spark session and one simulated population for the whole module: the JVM takes ~10 s
to start and the catalog ~30 s to plan and run.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openbureau.contract import TABLES
from openbureau.features import build_features
from openbureau.features.build import finish
from openbureau.features.catalog import CATALOG
from openbureau.ingest import ingest
from openbureau.sim import simulate
from openbureau.store import Store
from openbureau.workflow import score_store, train_from_store

pytest.importorskip("pyspark")

# After the simulator's own as_of (2024-12-31): some outcomes and late payments are on file.
AS_OF = dt.date(2025, 5, 1)
TRAIN_AS_OF = dt.date(2024, 12, 31)
KEYS = ["as_of", "person_id"]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spark")
    simulate(root / "sim", people=300, months=24, seed=11)
    with Store(root / "store") as db:
        assert ingest([root / "sim"], db).clean
    return root


@pytest.fixture(scope="module")
def spark(root: Path) -> Iterator[object]:
    from openbureau.spark import session, spark_tables

    s = session("local[2]", app_name="openbureau-tests")
    spark_tables(s, root / "sim")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def spark_features(spark: object) -> object:
    from openbureau.spark import feature_frame

    frame = feature_frame(spark, AS_OF).cache()  # type: ignore[arg-type]
    frame.count()
    return frame


def _sorted(t: pa.Table) -> pa.Table:
    return t.sort_by([(k, "ascending") for k in KEYS])


def _naive(t: pa.DataType) -> pa.DataType:
    return pa.timestamp(t.unit) if pa.types.is_timestamp(t) and t.tz == "UTC" else t


def test_session_settings(spark: object) -> None:
    conf = spark.conf  # type: ignore[attr-defined]
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert conf.get("spark.sql.execution.arrow.pyspark.enabled") == "true"
    assert int(conf.get("spark.sql.shuffle.partitions")) <= 8
    # small pages: the catalog's stage holds many sorters and hash maps at once
    assert spark.sparkContext.getConf().get("spark.buffer.pageSize") == "2m"  # type: ignore[attr-defined]


def test_contract_tables_match_the_store(spark: object, root: Path) -> None:
    from pyspark.sql.pandas.types import to_arrow_schema

    with Store(root / "store", read_only=True) as db:
        for table in TABLES:
            df = spark.table(table.name)  # type: ignore[attr-defined]
            schema = to_arrow_schema(df.schema)
            assert schema.names == table.schema.names, table.name
            # naive UTC timestamps are Spark TIMESTAMPs in a UTC session
            types = [_naive(t) for t in schema.types]
            assert types == table.schema.types, table.name
            (n,) = db.con.execute(f'SELECT count(*) FROM "{table.name}"').fetchone()
            assert df.count() == n, table.name


def test_features_are_identical_on_spark(spark_features: object, root: Path) -> None:
    with Store(root / "store", read_only=True) as db:
        want = build_features(db, AS_OF)
    got = _sorted(finish(spark_features.toArrow(), CATALOG))  # type: ignore[attr-defined]
    assert got.schema == want.schema
    assert got.num_rows == want.num_rows > 250
    for name in ("person_id", "as_of", "segment"):
        assert got[name].to_pylist() == want[name].to_pylist(), name
    differ = []
    for spec in CATALOG:
        a = want[spec.name].to_numpy()
        b = got[spec.name].to_numpy()
        same = (np.isnan(a) & np.isnan(b)) | (a == b)
        if not same.all():
            differ.append((spec.name, int((~same).sum())))
    assert not differ, differ
    # the comparison means something: network walks and recorded defaults did run
    share = want["network_default_share"].to_numpy()
    assert np.nanmax(share) > 0 and not math.isnan(float(np.nanmean(share)))


def test_batch_scores_and_reasons_are_identical_on_spark(spark: object, root: Path) -> None:
    from openbureau.spark import feature_frame, score_parquet
    from openbureau.workflow.score import prepare_scoring

    model = root / "model"
    train_from_store(root / "store", TRAIN_AS_OF, model, seed=1, model_params={"n_estimators": 40})
    embedded = pq.read_table(score_store(root / "store", model, AS_OF, root / "scores.parquet").out)
    # the features of the pack the model was trained under (its network k, not the default)
    params = prepare_scoring(model)[1].feature_params()
    spark_features = feature_frame(spark, AS_OF, params).cache()  # type: ignore[arg-type]
    report = score_parquet(
        spark,  # type: ignore[arg-type]
        model,
        AS_OF,
        root / "spark_scores",
        features=spark_features,
    )
    assert report.people == embedded.num_rows
    got = _sorted(pq.read_table(root / "spark_scores"))
    assert got.column_names == embedded.column_names
    for name in embedded.column_names:  # input_hash included
        want_col = embedded[name]
        if pa.types.is_dictionary(want_col.type):
            want_col = want_col.cast(want_col.type.value_type)
        assert got[name].to_pylist() == want_col.to_pylist(), name
    # Every feature is equal to the bit, network ones included: the walk's sums are of
    # values on its grid (network.config.WALK_GRID_BITS), exact in whatever order Spark's
    # aggregates and the sparse engine's kernel add them.
    with Store(root / "store", read_only=True) as db:
        want = build_features(db, AS_OF, params=params)
    spark_rows = _sorted(finish(spark_features.toArrow(), CATALOG))
    assert spark_rows["person_id"].to_pylist() == want["person_id"].to_pylist()
    differ = {}
    for spec in CATALOG:
        a, b = want[spec.name].to_numpy(), spark_rows[spec.name].to_numpy()
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        if not same.all():
            differ[spec.name] = int((~same).sum())
    assert not differ, differ
    walk = want["network_walk_default_ratio"].to_numpy()
    assert np.isfinite(walk).sum() > 100 and np.unique(walk[np.isfinite(walk)]).size > 50


def test_network_walk_is_checkpointed_and_released(spark: object) -> None:
    from openbureau.features.build import source_tables
    from openbureau.network.config import FEATURES, NetworkConfig
    from openbureau.spark import backend, network_frame

    be = backend(spark)  # type: ignore[arg-type]
    dates = be.table("_openbureau_features_input")
    views = {t.name for t in spark.catalog.listTables()}  # type: ignore[attr-defined]
    plans = []
    for steps in (2, 12):
        config = NetworkConfig(steps=steps)
        df = network_frame(spark, be, source_tables(be), dates, config)  # type: ignore[arg-type]
        assert df.columns == ["person_id", "as_of", *FEATURES]
        plan = df._jdf.queryExecution().optimizedPlan()  # type: ignore[attr-defined]
        plans.append(plan.toString())
        assert df.count() > 100
    # stored data with its lineage cut: no joins left, the same plan whatever the steps
    for plan in plans:
        assert "Join" not in plan and "Aggregate" not in plan, plan[:500]
    assert len(plans[1]) < 2 * len(plans[0])
    assert {t.name for t in spark.catalog.listTables()} == views  # type: ignore[attr-defined]


def test_as_of_table_is_one_partition_built_in_the_jvm(spark: object) -> None:
    """The one-row date table is read by most of the catalog's queries and cross-joined
    with whole tables. Made from a Python list it was a Python RDD of
    ``spark.default.parallelism`` slices, and its cross join with a scan a
    ``CartesianProduct`` of slices x files: 12,800 tasks, each starting a Python worker,
    at a million people."""
    from pyspark.sql import functions as F

    from openbureau.spark.features import dates_frame

    dates = dates_frame(spark, AS_OF)  # type: ignore[arg-type]
    assert dates.collect()[0]["as_of"] == AS_OF
    assert dates.rdd.getNumPartitions() == 1
    people = spark.table("people").select("person_id")  # type: ignore[attr-defined]
    crossed = people.crossJoin(dates).where(F.col("as_of") == F.lit(AS_OF))
    plan = crossed._jdf.queryExecution().executedPlan().toString()  # type: ignore[attr-defined]
    assert "ExistingRDD" not in plan and "PythonRDD" not in plan, plan
    assert "CartesianProduct" not in plan, plan
    assert crossed.count() == people.count() > 250
