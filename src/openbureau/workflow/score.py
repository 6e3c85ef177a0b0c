"""Score everyone in the store as of a date with a saved model: scores, factor sub-scores,
reasons (codes, texts, points), model version, catalog version and an input hash per
person, written as Parquet."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from openbureau.model import AdditiveModel
    from openbureau.policy import PolicyPack


@dataclass(frozen=True)
class ScoreRunReport:
    out: Path
    model_id: str
    as_of: dt.date
    people: int
    mean_score: float
    seconds: float
    policy: str = ""

    def __str__(self) -> str:
        return (
            f"scored {self.people:,} people as of {self.as_of} with model {self.model_id} "
            f"under policy {self.policy} (mean score {self.mean_score:.0f}) -> {self.out} "
            f"({self.seconds:.1f}s)"
        )


# Significant digits a float input is hashed with: 9 keep every input that matters
# (money to the cent below 10 million, counts, shares to 1e-9). Engines compute every
# feature to the same bits (money as decimals, the network walk on its grid), so the
# rounding only keeps the hash readable and stable across float formatting.
HASH_DIGITS = 9


def canonical_text(column: str, kind: pa.DataType) -> str:
    """The DuckDB SQL text a column is hashed as: floats to ``HASH_DIGITS`` significant
    digits ('%.9g': -0.0 and 0.0 alike, 'nan', 'inf'), anything else cast to text."""
    if pa.types.is_floating(kind):
        return f"printf('%.{HASH_DIGITS}g', \"{column}\" + 0.0)"  # + 0.0: -0.0 is 0.0
    return f'CAST("{column}" AS VARCHAR)'


def input_hash(features: pa.Table) -> pa.Array:
    """MD5 of each person's inputs (id, date, segment, every feature, floats to
    ``HASH_DIGITS`` significant digits), so a score can be tied to the data it was
    computed from, whichever engine computed it."""
    con = duckdb.connect()
    con.register("f", features)
    cols = ", ".join(canonical_text(f.name, f.type) for f in features.schema)
    hashed = con.sql(f"SELECT md5(concat_ws('|', {cols})) AS h FROM f").to_arrow_table()
    con.close()
    return hashed.column("h").combine_chunks()


def scoring_pack(
    manifest: dict[str, Any], policy: str | Path | PolicyPack | None = None
) -> PolicyPack:
    """The pack to score under: the one named, else the one the model was trained under,
    else the default pack (models saved before packs existed)."""
    from openbureau.policy import PolicyPack, load_pack

    if policy is not None:
        return load_pack(policy)
    recorded = manifest.get("policy")
    if recorded:
        return PolicyPack.from_record(recorded["pack"], f"model {manifest['model_id']}")
    return load_pack(None)


def _check_catalog(manifest: dict[str, Any], pack: PolicyPack, expected: str) -> None:
    if manifest["catalog_version"] == expected:
        return
    trained = (manifest.get("policy") or {}).get("pack")
    if trained and trained["public_record_expiry_years"] != pack.public_record_expiry_years:
        raise ValueError(
            f"model {manifest['model_id']} was trained under policy {trained['name']} "
            f"(public records expire after {trained['public_record_expiry_years']} years), "
            f"but policy {pack.name} sets {pack.public_record_expiry_years} years: retrain it "
            f"with --policy {pack.name}"
        )
    raise ValueError(
        f"model {manifest['model_id']} was trained on feature catalog "
        f"{manifest['catalog_version']}, but this openbureau computes catalog "
        f"{expected} under policy {pack.name}: retrain, or score with the openbureau it "
        "was trained with"
    )


def prepare_scoring(
    model_dir: Path, policy: str | Path | PolicyPack | None = None
) -> tuple[dict[str, Any], PolicyPack]:
    """The model's manifest and the pack to score under, after the checks every scoring
    path makes: the model uses no factor the pack forbids, and it was trained on the
    feature catalog this openbureau computes under the pack."""
    from openbureau.features import catalog_version
    from openbureau.model import FeatureMeta
    from openbureau.policy import check_model

    manifest = json.loads((Path(model_dir) / "artifact.json").read_text())
    pack = scoring_pack(manifest, policy)
    check_model(
        pack,
        [FeatureMeta(**f) for f in manifest["features"]],
        manifest["factor_max_points"],
        model_id=manifest["model_id"],
    )
    _check_catalog(manifest, pack, catalog_version(pack.feature_params()))
    return manifest, pack


def score_store(
    store: str | Path | None,
    model_dir: Path,
    as_of: dt.date,
    out: Path,
    *,
    policy: str | Path | PolicyPack | None = None,
) -> ScoreRunReport:
    """Score every person known before ``as_of`` and write the result to ``out``.

    Under ``policy`` (default: the pack the model was trained under) a model that uses a
    forbidden factor is refused (``PolicyError``), the forbidden factors' columns are
    dropped before anything reads or hashes them, and at most the pack's number of
    adverse reasons is written.
    """
    import time

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from openbureau.features import build_features
    from openbureau.model import load
    from openbureau.store import Store

    started = time.perf_counter()
    manifest, pack = prepare_scoring(model_dir, policy)
    params = pack.feature_params()
    model = load(model_dir)
    with Store(store, read_only=True) as db:
        features = build_features(db.con, as_of, params=params)
    if features.num_rows == 0:
        raise ValueError(f"no people known before {as_of} in the store")
    table = score_table(model, manifest, pack, features)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out)
    return ScoreRunReport(
        out=out,
        model_id=manifest["model_id"],
        as_of=as_of,
        people=table.num_rows,
        mean_score=float(pc.mean(table.column("score")).as_py()),
        seconds=time.perf_counter() - started,
        policy=pack.name,
    )


def score_table(
    model: AdditiveModel, manifest: dict[str, Any], pack: PolicyPack, features: pa.Table
) -> pa.Table:
    """The rows ``score_store`` writes for a feature matrix (``build_features``' schema):
    forbidden factors' columns dropped first, then scores, sub-scores, reasons, versions and
    the input hash. Row by row independent, so any split of ``features`` (Spark's
    partitions) gives the same rows."""
    from openbureau.explain import breakdown_table, reason_text_columns
    from openbureau.features import feature_specs
    from openbureau.policy import drop_forbidden_columns

    features = drop_forbidden_columns(features, {s.name: s.factor for s in feature_specs()}, pack)
    scored = model.score_breakdown(features)
    result = breakdown_table(scored)
    texts = reason_text_columns(model, features, scored)
    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        "person_id": features.column("person_id"),
        "as_of": features.column("as_of"),
    }
    max_reasons = pack.adverse_action.max_reasons
    for name in result.column_names:
        column = result.column(name)
        if name.startswith("reason_") and int(name.split("_")[1]) > max_reasons:
            continue
        if name.startswith("reason_") and not name.endswith("_points"):
            codes = column.combine_chunks()
            columns[name] = pc.cast(codes, pa.string())
            columns[f"{name}_text"] = texts[f"{name}_text"]
        elif name == "segment":
            columns[name] = pc.cast(column, pa.string())
        else:
            columns[name] = column
    n = features.num_rows
    columns["model_id"] = pa.array([manifest["model_id"]] * n, pa.string()).dictionary_encode()
    columns["catalog_version"] = pa.array(
        [manifest["catalog_version"]] * n, pa.string()
    ).dictionary_encode()
    columns["policy"] = pa.array([pack.name] * n, pa.string()).dictionary_encode()
    columns["policy_digest"] = pa.array([pack.digest] * n, pa.string()).dictionary_encode()
    columns["input_hash"] = input_hash(features)
    return pa.table(columns)
