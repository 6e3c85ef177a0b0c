"""The scored population monitoring reads: a scores file, and the features of exactly the
people it scored (from a features file or recomputed from the store), checked against the
scores' input hashes so CSI is never computed on data other than what was scored."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def read_scores(path: Path, factors: list[str]) -> pa.Table:
    """A scores file (``openbureau score`` / ``rescore``) with the columns monitoring reads."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"scores file {path} does not exist")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(f"{path} is not a readable Parquet file: {exc}") from None
    need = ["person_id", "as_of", "score", "pd", *(f"points_{f}" for f in factors)]
    missing = [c for c in need if c not in table.column_names]
    if missing:
        raise ValueError(f"{path} is not a scores file: it lacks columns {missing}")
    if table.num_rows == 0:
        raise ValueError(f"{path} holds no scores")
    return table


def align_features(scores: pa.Table, features: pa.Table, source: str) -> pa.Table:
    """The feature rows of the scored people, in the scores' order (extra rows ignored);
    joined on person_id, and on as_of too when the features carry it."""
    if "person_id" not in features.column_names:
        raise ValueError(f"{source} has no person_id column")
    keys = ["person_id"]
    if "as_of" in features.column_names:
        keys.append("as_of")
        at = features.column_names.index("as_of")
        date_type = scores.schema.field("as_of").type
        features = features.set_column(at, "as_of", pc.cast(features.column("as_of"), date_type))
    features = features.append_column("_found", pa.array(np.ones(features.num_rows, bool)))
    left = scores.select(keys).append_column("_row", pa.array(np.arange(scores.num_rows)))
    joined = left.join(features, keys, join_type="left outer")
    if joined.num_rows != scores.num_rows:
        raise ValueError(f"{source} holds more than one feature row for some scored person")
    joined = joined.sort_by("_row")
    lacking = pc.invert(pc.fill_null(joined.column("_found"), False))
    n = pc.sum(lacking).as_py() or 0
    if n:
        ids = joined.filter(lacking).column("person_id").to_pylist()[:3]
        raise ValueError(f"{source} has no feature row for {n} scored people (e.g. {ids})")
    return joined.drop_columns(["_row", "_found"])


def features_from_store(store: str | Path | None, model_dir: Path, scores: pa.Table) -> pa.Table:
    """The scored people's features recomputed from the store at the scores' as_of (under
    the pack the model was trained with, like ``openbureau score``)."""
    from openbureau.features import build_features
    from openbureau.store import Store
    from openbureau.workflow.score import prepare_scoring

    _, pack = prepare_scoring(Path(model_dir))
    dates = pc.unique(scores.column("as_of")).to_pylist()
    with Store(store, read_only=True) as db:
        if len(dates) == 1:
            built = build_features(db.con, dates[0], params=pack.feature_params())
        else:
            built = build_features(
                db.con, scores.select(["person_id", "as_of"]), params=pack.feature_params()
            )
    return align_features(scores, without_forbidden(built, model_dir), f"the store at {db.path}")


def without_forbidden(features: pa.Table, model_dir: Path) -> pa.Table:
    """``features`` without the columns of factors the model's policy pack forbids, as
    ``openbureau score`` drops them before hashing (``rescore`` keeps them in its file)."""
    from openbureau.features import feature_specs
    from openbureau.policy import drop_forbidden_columns
    from openbureau.workflow.score import scoring_pack

    pack = scoring_pack(json.loads((Path(model_dir) / "artifact.json").read_text()))
    return drop_forbidden_columns(features, {s.name: s.factor for s in feature_specs()}, pack)


def hash_mismatches(scores: pa.Table, features: pa.Table) -> int | None:
    """How many scored people's features do not reproduce their score's ``input_hash``
    (None when it cannot be checked: no hashes, or features without their as_of)."""
    from openbureau.workflow.score import input_hash

    if "input_hash" not in scores.column_names or features.column_names[:2] != [
        "person_id",
        "as_of",
    ]:
        return None
    given = pc.cast(scores.column("input_hash"), pa.string())
    same = pc.equal(input_hash(features), given)
    return int(pc.sum(pc.invert(same)).as_py() or 0)
