"""The models a release compares and the out-of-time sample both are judged on.

The sample is the training-set builder's output at the release date (people eligible at
``as_of``: known before it and not yet defaulted; features from events before it; label
from the ``horizon`` months after it), scored by each model exactly as ``openbureau score``
scores (``score_table``), so every check sees the columns a published score has.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    from openbureau.model import AdditiveModel


@dataclass(frozen=True)
class ModelInfo:
    """A model folder written by ``openbureau train``, loaded with the pack it scores under."""

    role: str
    path: Path
    manifest: dict[str, Any]
    pack: Any  # PolicyPack
    model: AdditiveModel
    train_as_of: dt.date
    train_horizon: int

    @property
    def model_id(self) -> str:
        return str(self.manifest["model_id"])

    def summary(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "path": str(self.path),
            "trained_as_of": self.train_as_of.isoformat(),
            "horizon_months": self.train_horizon,
            "policy": self.pack.name,
            "features": len(self.manifest["features"]),
        }


def load_model_info(path: str | Path, role: str) -> ModelInfo:
    """Load the ``role`` model at ``path``; errors say which model and what is missing."""
    from openbureau.model import load
    from openbureau.workflow.score import scoring_pack
    from openbureau.workflow.train import DEVELOPMENT_FILE, EVALUATION_DIR

    p = Path(path)
    if not (p / "artifact.json").is_file():
        raise FileNotFoundError(f"--{role}: {p} is not a model folder (no artifact.json)")
    dev_file = p / EVALUATION_DIR / DEVELOPMENT_FILE
    if not dev_file.is_file():
        raise ValueError(
            f"--{role}: {p} has no {EVALUATION_DIR}/{DEVELOPMENT_FILE}: the gate needs a "
            "model folder written by `openbureau train` (it records the training as_of)"
        )
    manifest = json.loads((p / "artifact.json").read_text())
    development = json.loads(dev_file.read_text())
    return ModelInfo(
        role=role,
        path=p,
        manifest=manifest,
        pack=scoring_pack(manifest, None),
        model=load(p),
        train_as_of=dt.date.fromisoformat(development["as_of"]),
        train_horizon=int(development["horizon_months"]),
    )


@dataclass(frozen=True)
class Sample:
    """The out-of-time sample: labels, and per role the scores and the feature rows."""

    person_id: pa.ChunkedArray
    label: np.ndarray
    scores: dict[str, pa.Table]
    features: dict[str, pa.Table]

    @property
    def people(self) -> int:
        return int(self.label.size)

    @property
    def defaults(self) -> int:
        return int(self.label.sum())


def out_of_time(
    store: str | Path | None, models: list[ModelInfo], as_of: dt.date, horizon: int
) -> Sample:
    """Build the sample once per feature catalog the models need and score it with each."""
    from openbureau.features import catalog_version, training_set
    from openbureau.store import Store
    from openbureau.workflow.score import score_table

    built: dict[str, pa.Table] = {}
    scores: dict[str, pa.Table] = {}
    features: dict[str, pa.Table] = {}
    with Store(store, read_only=True) as db:
        for info in models:
            params = info.pack.feature_params()
            key = catalog_version(params)
            if key not in built:
                built[key] = training_set(db.con, [as_of], horizon_months=horizon, params=params)
            data = built[key]
            features[info.role] = data.drop_columns(["label"])
            scores[info.role] = score_table(
                info.model, info.manifest, info.pack, features[info.role]
            )
    first = next(iter(built.values()))
    ids = first.column("person_id")
    for data in built.values():
        if not data.column("person_id").equals(ids):
            raise ValueError(
                "the models' feature catalogs select different people at "
                f"{as_of}: they cannot be compared on one sample"
            )
    label = first.column("label").to_numpy().astype(np.int8)
    if first.num_rows == 0:
        raise ValueError(f"no people are eligible at {as_of} in the store")
    if label.min() == label.max():
        raise ValueError(
            f"every one of the {first.num_rows} people eligible at {as_of} has label "
            f"{int(label[0])} within {horizon} months: the store holds no outcomes to judge "
            "the models on (is the window past the end of the data?)"
        )
    return Sample(ids, label, scores, features)
