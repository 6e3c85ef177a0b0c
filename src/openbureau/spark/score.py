"""Batch scoring on Spark: the model's artifact files are broadcast (no pickles, as
everywhere in openbureau), loaded once per Python worker, and the compiled scorer is
applied to each Arrow batch with ``mapInArrow``. The rows are those ``openbureau score``
writes (``workflow.score.score_table``), written as a Parquet folder."""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from openbureau.features.build import as_date, feature_schema, finish
from openbureau.features.catalog import CATALOG

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from openbureau.model import AdditiveModel
    from openbureau.policy import PolicyPack

# Columns ``workflow.score.score_table`` dictionary-encodes (one value per file).
DICTIONARY_COLUMNS = ("model_id", "catalog_version", "policy", "policy_digest")
# Loaded models in this Python worker, by the digest of their files.
_MODELS: dict[str, AdditiveModel] = {}


@dataclass(frozen=True)
class SparkScoreReport:
    out: str
    model_id: str
    as_of: dt.date
    people: int
    seconds: float
    policy: str

    def __str__(self) -> str:
        return (
            f"scored {self.people:,} people as of {self.as_of} on Spark with model "
            f"{self.model_id} under policy {self.policy} -> {self.out} ({self.seconds:.1f}s)"
        )


def artifact_files(model_dir: Path) -> dict[str, bytes]:
    """Every file of a saved model, by name (``artifact.json`` and what it lists)."""
    return {p.name: p.read_bytes() for p in sorted(Path(model_dir).iterdir()) if p.is_file()}


def _digest(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for name, data in sorted(files.items()):
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def model_from_files(files: dict[str, bytes]) -> AdditiveModel:
    """The model the files hold, loaded (checksums verified) once per process."""
    from openbureau.model import load

    key = _digest(files)
    if key not in _MODELS:
        with tempfile.TemporaryDirectory(prefix="openbureau-model-") as tmp:
            for name, data in files.items():
                (Path(tmp) / name).write_bytes(data)
            _MODELS[key] = load(tmp)
    return _MODELS[key]


def plain(table: pa.Table) -> pa.Table:
    """Dictionary columns decoded (Spark's Arrow exchange takes plain types)."""
    columns = [
        c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns
    ]
    return pa.Table.from_arrays(columns, names=table.column_names)


def scorer(
    files: Any, manifest: dict[str, Any], pack: PolicyPack
) -> Any:  # a function of Iterator[pa.RecordBatch]
    """The ``mapInArrow`` function: each feature batch to score rows. ``files`` is a
    broadcast of ``artifact_files`` (or the dict itself)."""

    def apply(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from openbureau.workflow.score import score_table

        model = model_from_files(getattr(files, "value", files))
        for batch in batches:
            if batch.num_rows == 0:
                continue
            features = finish(pa.Table.from_batches([batch]), CATALOG)
            yield from plain(score_table(model, manifest, pack, features)).to_batches()

    return apply


def output_schema(model: AdditiveModel, manifest: dict[str, Any], pack: PolicyPack) -> pa.Schema:
    """The Arrow schema of the score rows, from scoring one all-unknown row on the driver."""
    from openbureau.workflow.score import score_table

    schema = feature_schema(CATALOG)
    row = {
        f.name: pa.array([float("nan")], f.type)
        if pa.types.is_floating(f.type)
        else pa.array([None], f.type)
        for f in schema
    }
    row["person_id"] = pa.array(["_"], pa.string())
    row["as_of"] = pa.array([dt.date(2000, 1, 1)], pa.date32())
    row["segment"] = pa.array([model.segments[0]], pa.string())
    return plain(score_table(model, manifest, pack, pa.table(row, schema=schema))).schema


def score_frame(
    spark: SparkSession,
    features: DataFrame,
    model_dir: Path,
    *,
    policy: str | Path | PolicyPack | None = None,
) -> DataFrame:
    """Score rows for a feature DataFrame (``feature_frame``), lazily."""
    from pyspark.sql.pandas.types import from_arrow_schema

    from openbureau.workflow.score import prepare_scoring

    manifest, pack = prepare_scoring(Path(model_dir), policy)
    files = artifact_files(Path(model_dir))
    schema = output_schema(model_from_files(files), manifest, pack)
    shared = spark.sparkContext.broadcast(files)
    names = feature_schema(CATALOG).names
    return features.select(*names).mapInArrow(
        scorer(shared, manifest, pack), from_arrow_schema(schema)
    )


def score_parquet(
    spark: SparkSession,
    model_dir: Path,
    as_of: dt.date | str,
    out: str | Path,
    *,
    policy: str | Path | PolicyPack | None = None,
    features: DataFrame | None = None,
    partitions: int | None = None,
) -> SparkScoreReport:
    """Score everyone known before ``as_of`` in the contract tables registered on ``spark``
    (``spark_tables``) and write a Parquet folder to ``out`` (overwritten). ``features``
    is a ``feature_frame`` already computed (and perhaps cached) under the same pack.

    The folder holds ``partitions`` part files (default: the shuffle partitions), split
    by a hash of person_id and sorted by it within each: every person in exactly one
    file, so a loader can insert the files in parallel, and ``merge_parts`` writes the
    single file ``openbureau serve --scores`` publishes."""
    from openbureau.spark.features import feature_frame
    from openbureau.workflow.score import prepare_scoring

    started = time.perf_counter()
    day = as_date(as_of)
    manifest, pack = prepare_scoring(Path(model_dir), policy)
    if features is None:
        features = feature_frame(spark, day, pack.feature_params())
    scores = score_frame(spark, features, Path(model_dir), policy=pack)
    if partitions is not None and (isinstance(partitions, bool) or not isinstance(partitions, int)):
        raise TypeError(f"partitions must be an int, got {type(partitions).__name__}")
    if partitions is not None and partitions < 1:
        raise ValueError(f"partitions must be at least 1, got {partitions}")
    n = partitions or int(spark.conf.get("spark.sql.shuffle.partitions") or 1)
    scores = scores.repartition(n, "person_id").sortWithinPartitions("person_id")
    scores.write.mode("overwrite").parquet(str(out))
    people = spark.read.parquet(str(out)).count()
    if people == 0:
        raise ValueError(f"no people known before {day} in the tables")
    return SparkScoreReport(
        out=str(out),
        model_id=manifest["model_id"],
        as_of=day,
        people=people,
        seconds=time.perf_counter() - started,
        policy=pack.name,
    )


def merge_parts(folder: str | Path, out: str | Path) -> Path:
    """The part files of a ``score_parquet`` folder as one Parquet file with the schema
    ``openbureau score`` writes (the version columns dictionary-encoded, rows by
    person_id): what ``openbureau serve --scores`` and ``publish`` load. Local paths."""
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    folder, out = Path(folder), Path(out)
    parts = sorted(folder.glob("*.parquet"))
    if not (folder / "_SUCCESS").is_file() or not parts:
        raise FileNotFoundError(f"{folder} is not a finished Spark scores folder (no _SUCCESS)")
    table = ds.dataset([str(p) for p in parts], format="parquet").to_table()
    table = table.sort_by([("as_of", "ascending"), ("person_id", "ascending")])
    columns = [
        table[name].dictionary_encode() if name in DICTIONARY_COLUMNS else table[name]
        for name in table.column_names
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_arrays(columns, names=table.column_names), out)
    return out
