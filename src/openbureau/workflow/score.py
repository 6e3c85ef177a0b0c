"""Score everyone in the store as of a date with a saved model: scores, factor sub-scores,
reasons (codes, texts, points), model version, catalog version and an input hash per
person, written as Parquet."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


@dataclass(frozen=True)
class ScoreRunReport:
    out: Path
    model_id: str
    as_of: dt.date
    people: int
    mean_score: float
    seconds: float

    def __str__(self) -> str:
        return (
            f"scored {self.people:,} people as of {self.as_of} with model {self.model_id} "
            f"(mean score {self.mean_score:.0f}) -> {self.out} ({self.seconds:.1f}s)"
        )


def input_hash(features: pa.Table) -> pa.Array:
    """MD5 of each person's exact inputs (id, date, segment, every feature), so a score can
    be tied to the data it was computed from."""
    con = duckdb.connect()
    con.register("f", features)
    cols = ", ".join(f'CAST("{c}" AS VARCHAR)' for c in features.column_names)
    hashed = con.sql(f"SELECT md5(concat_ws('|', {cols})) AS h FROM f").to_arrow_table()
    con.close()
    return hashed.column("h").combine_chunks()


def _reason_texts(codes: pa.DictionaryArray, texts: dict[str, str]) -> pa.Array:
    dictionary = pa.array([texts[c] for c in codes.dictionary.to_pylist()], pa.string())
    return pa.DictionaryArray.from_arrays(codes.indices, dictionary).cast(pa.string())


def score_store(
    store: str | Path | None, model_dir: Path, as_of: dt.date, out: Path
) -> ScoreRunReport:
    """Score every person known before ``as_of`` and write the result to ``out``."""
    import time

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from openbureau.explain import breakdown_table
    from openbureau.features import build_features, catalog_version
    from openbureau.model import load
    from openbureau.store import Store

    started = time.perf_counter()
    manifest = json.loads((Path(model_dir) / "artifact.json").read_text())
    if manifest["catalog_version"] != catalog_version():
        raise ValueError(
            f"model {manifest['model_id']} was trained on feature catalog "
            f"{manifest['catalog_version']}, but this openbureau computes catalog "
            f"{catalog_version()}: retrain, or score with the openbureau it was trained with"
        )
    model = load(model_dir)
    with Store(store, read_only=True) as db:
        features = build_features(db.con, as_of)
    if features.num_rows == 0:
        raise ValueError(f"no people known before {as_of} in the store")
    result = breakdown_table(model.score_breakdown(features))
    texts = {m.name: m.reason for m in model.feature_metas}
    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        "person_id": features.column("person_id"),
        "as_of": features.column("as_of"),
    }
    for name in result.column_names:
        column = result.column(name)
        if name.startswith("reason_") and not name.endswith("_points"):
            codes = column.combine_chunks()
            columns[name] = pc.cast(codes, pa.string())
            columns[f"{name}_text"] = _reason_texts(codes, texts)
        elif name == "segment":
            columns[name] = pc.cast(column, pa.string())
        else:
            columns[name] = column
    n = features.num_rows
    columns["model_id"] = pa.array([manifest["model_id"]] * n, pa.string()).dictionary_encode()
    columns["catalog_version"] = pa.array(
        [manifest["catalog_version"]] * n, pa.string()
    ).dictionary_encode()
    columns["input_hash"] = input_hash(features)
    table = pa.table(columns)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out)
    return ScoreRunReport(
        out=out,
        model_id=manifest["model_id"],
        as_of=as_of,
        people=n,
        mean_score=float(pc.mean(table.column("score")).as_py()),
        seconds=time.perf_counter() - started,
    )
