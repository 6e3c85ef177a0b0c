"""Spark's execution-memory failure is named with the settings to raise, and a local job
sizes its shuffle partitions from the people it scores (no Spark session needed)."""

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openbureau.spark.job import (
    PEOPLE_PER_LOCAL_PARTITION,
    SparkOutOfMemory,
    local_partitions,
    memory_advice,
    people_in,
)

JVM_TEXT = (
    "An error occurred while calling o1234.parquet.\n: org.apache.spark.SparkException: Job "
    "aborted due to stage failure: Task 1 in stage 118.0 failed 1 times, most recent failure: "
    "org.apache.spark.memory.SparkOutOfMemoryError: [UNABLE_TO_ACQUIRE_MEMORY] Unable to "
    "acquire 262144 bytes of memory, got 65536. SQLSTATE: 53200"
)


def test_the_memory_failure_names_the_settings_in_force():
    settings = {"spark.sql.shuffle.partitions": "4", "spark.driver.memory": "4g"}
    advice = memory_advice(RuntimeError(JVM_TEXT), settings)
    assert isinstance(advice, SparkOutOfMemory)
    text = str(advice)
    assert "spark.sql.shuffle.partitions=4" in text and "spark.driver.memory=4g" in text
    assert f"one per {PEOPLE_PER_LOCAL_PARTITION:,} people" in text


def test_other_failures_are_left_alone():
    assert memory_advice(RuntimeError("Path does not exist: /x/people"), {}) is None


@pytest.mark.parametrize(
    ("people", "partitions"), [(0, 4), (2_000, 4), (20_000, 4), (100_000, 16), (1_000_000, 160)]
)
def test_local_partitions_follow_the_measured_points(people, partitions):
    assert local_partitions(people) == partitions


@pytest.mark.parametrize(
    ("people", "error"), [(-1, ValueError), (1.5, TypeError), (True, TypeError)]
)
def test_local_partitions_refuse_bad_counts(people, error):
    with pytest.raises(error, match="people"):
        local_partitions(people)


def test_people_are_counted_from_the_parquet_footers(tmp_path: Path):
    folder = tmp_path / "tables" / "people"
    folder.mkdir(parents=True)
    for i in range(3):
        pq.write_table(
            pa.table({"person_id": [f"p{i}-{j}" for j in range(7)]}), folder / f"part-{i}.parquet"
        )
    assert people_in(tmp_path / "tables") == 21
    assert people_in(tmp_path / "nowhere") is None
    assert people_in("s3a://bucket/tables") is None
