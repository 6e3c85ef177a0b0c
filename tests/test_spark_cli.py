"""`openbureau score --engine spark --master local[2]` against `openbureau score` on the same
small store: identical scores, sub-scores, reasons and input hashes; a folder of part files
each person is in once; a merged file the service publishes with its store snapshot check
(the input hash recomputed from the embedded features); precise errors before Spark starts.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from conftest_service import database_url  # noqa: F401
from openbureau.cli import app
from openbureau.ingest import ingest
from openbureau.sim import simulate
from openbureau.store import Store
from openbureau.workflow import train_from_store

pytest.importorskip("pyspark")

AS_OF = "2025-05-01"
runner = CliRunner()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spark_cli")
    simulate(root / "sim", people=250, months=24, seed=5)
    with Store(root / "store") as db:
        assert ingest([root / "sim"], db).clean
    train_from_store(
        root / "store",
        dt.date(2024, 12, 31),
        root / "model",
        seed=2,
        model_params={"n_estimators": 30},
    )
    return root


def _score(*args: str) -> dict:
    result = runner.invoke(app, ["score", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def runs(world: Path) -> dict[str, object]:
    """Both engines through the CLI, once for the module. The Spark run reads the store
    (exported), as a user without a Parquet copy of the tables would."""
    common = ["--model", str(world / "model"), "--as-of", AS_OF, "--store", str(world / "store")]
    embedded = _score(*common, "--out", str(world / "duckdb.parquet"))
    spark = _score(
        *common,
        "--engine",
        "spark",
        "--master",
        "local[2]",
        "--out",
        str(world / "spark_out"),
        "--partitions",
        "3",
        "--merged",
        str(world / "spark.parquet"),
        "--conf",
        "spark.sql.shuffle.partitions=3",
    )
    return {"embedded": embedded, "spark": spark}


def _plain(t: pa.Table) -> pa.Table:
    cols = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in t.columns]
    table = pa.Table.from_arrays(cols, names=t.column_names)
    return table.sort_by([("as_of", "ascending"), ("person_id", "ascending")])


def test_spark_cli_writes_what_the_duckdb_cli_writes(world: Path, runs: dict) -> None:
    assert runs["spark"]["engine"] == "spark" and runs["spark"]["master"] == "local[2]"
    assert runs["spark"]["people"] == runs["embedded"]["people"] > 200
    assert runs["spark"]["model_id"] == runs["embedded"]["model_id"]
    want = _plain(pq.read_table(world / "duckdb.parquet"))
    got = _plain(pq.read_table(world / "spark_out"))
    assert got.column_names == want.column_names
    for name in want.column_names:  # every column, input_hash included
        assert got[name].to_pylist() == want[name].to_pylist(), name
    # the comparison means something: scores spread, reasons given, hashes per person
    assert len(set(want["score"].to_pylist())) > 20
    assert want["reason_1"].null_count < want.num_rows
    assert len(set(want["input_hash"].to_pylist())) == want.num_rows


def test_spark_folder_is_split_by_person_and_sorted(world: Path, runs: dict) -> None:
    parts = sorted((world / "spark_out").glob("part-*.parquet"))
    assert (world / "spark_out" / "_SUCCESS").is_file() and 1 <= len(parts) <= 3
    seen: list[str] = []
    for part in parts:
        ids = pq.read_table(part, columns=["person_id"])["person_id"].to_pylist()
        assert ids == sorted(ids), part.name
        seen += ids
    assert len(seen) == len(set(seen)) == runs["spark"]["people"]


def test_merged_file_has_the_embedded_schema(world: Path, runs: dict) -> None:
    merged = pq.read_table(world / "spark.parquet")
    embedded = pq.read_table(world / "duckdb.parquet")
    assert merged.schema.remove_metadata() == embedded.schema.remove_metadata()
    assert merged.equals(embedded)  # same rows, same order (as_of, person_id)


def test_service_publishes_the_spark_file_with_store_snapshots(
    world: Path,
    runs: dict,
    database_url: str,  # noqa: F811
) -> None:
    from openbureau.service.db import make_engine, migrate, session_factory
    from openbureau.service.publish import publish

    engine = make_engine(database_url)
    migrate(engine)
    try:
        report = publish(
            session_factory(engine),
            world / "spark.parquet",
            model_dir=world / "model",
            store=world / "store",  # rebuilt features must reproduce every input hash
        )
    finally:
        engine.dispose()
    assert report.replayable and report.people == runs["spark"]["people"]


def test_duckdb_engine_refuses_spark_options(world: Path) -> None:
    result = Run(
        runner.invoke(
            app,
            [
                *("score", "--model", str(world / "model"), "--as-of", AS_OF),
                *("--out", "x.parquet", "--master", "local[1]", "--tables", "t"),
            ],
        )
    )
    assert result.exit_code == 2
    assert "--master, --tables only apply with --engine spark" in result.output
    result = Run(
        runner.invoke(
            app, ["score", "--model", "m", "--as-of", AS_OF, "--out", "x", "--engine", "flink"]
        )
    )
    assert result.exit_code == 2 and "--engine must be one of duckdb, spark" in result.output


class Run:
    """A CLI run's exit code and its output with Rich's line wrapping undone."""

    def __init__(self, result: object) -> None:
        self.exit_code = result.exit_code  # type: ignore[attr-defined]
        self.output = " ".join(result.output.split())  # type: ignore[attr-defined]


def _spark(world: Path, *extra: str) -> Run:
    return Run(
        runner.invoke(
            app,
            [
                *("score", "--engine", "spark", "--model", str(world / "model"), "--as-of", AS_OF),
                *("--store", str(world / "store"), *extra),
            ],
        )
    )


def test_spark_errors_name_what_is_wrong(world: Path, tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    result = _spark(world, "--out", str(tmp_path / "notes"))
    assert result.exit_code == 2 and "not an earlier Spark output" in result.output
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"

    (tmp_path / "tables" / "people").mkdir(parents=True)
    result = _spark(world, "--out", str(tmp_path / "o"), "--tables", str(tmp_path / "tables"))
    assert result.exit_code == 2 and "lacks contract tables" in result.output
    assert "'accounts'" in result.output and "'people'" in result.output

    result = _spark(world, "--out", str(tmp_path / "o"), "--master", "yarn")
    assert result.exit_code == 2 and "--tables is needed with --master yarn" in result.output

    result = _spark(world, "--out", str(tmp_path / "o"), "--conf", "spark.executor.memory")
    assert result.exit_code == 2 and "is not KEY=VALUE" in result.output


def test_missing_java_and_pyspark_are_named(
    world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    result = _spark(world, "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "JAVA_HOME=" in result.output and "has no executable bin/java" in result.output

    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on PATH
    result = _spark(world, "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "Java not found" in result.output

    monkeypatch.setitem(sys.modules, "pyspark", None)  # what an uninstalled package looks like
    result = _spark(world, "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "pyspark is not installed" in result.output
    assert not (tmp_path / "o").exists()


def test_input_hash_is_of_nine_significant_digits() -> None:
    import numpy as np

    from openbureau.workflow.score import input_hash

    x = 0.1 + 0.2  # 0.30000000000000004
    base = {"person_id": ["a", "a", "a", "a"], "segment": ["thin"] * 4}
    values = [x, np.nextafter(x, 1.0), 0.3, 0.300000001]
    h = input_hash(pa.table({**base, "f": pa.array(values, pa.float64())})).to_pylist()
    assert h[0] == h[1] == h[2]  # the last bits (what engines' sum orders change) do not count
    assert h[3] != h[0]  # a change in the ninth significant digit does
    nan = input_hash(pa.table({**base, "f": pa.array([float("nan"), -0.0, 0.0, 1e300])}))
    assert len(set(nan.to_pylist())) == 3  # nan, 0 (either sign), 1e300
