"""What the registry records about a trained model folder, read from the folder itself.

Everything comes from files ``openbureau train`` writes: ``artifact.json`` (id, data hash,
policy pack), ``model_card.json``, and the hold-out sample in ``evaluation/`` from which the
hold-out AUC and KS are computed the same way ``train`` reported them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openbureau.registry.errors import RegistryError


@dataclass(frozen=True)
class ModelFolder:
    """A model folder's registry record, before it is written."""

    model_id: str
    path: Path
    kind: str
    catalog_version: str
    data_hash: str
    policy: str
    policy_digest: str
    metrics: dict[str, Any]
    card: dict[str, Any]


def _holdout_metrics(folder: Path) -> dict[str, Any]:
    import numpy as np
    import pyarrow.parquet as pq
    from sklearn.metrics import roc_auc_score

    from openbureau.workflow.train import EVALUATION_DIR, HOLDOUT_FILE, ks_statistic

    path = folder / EVALUATION_DIR / HOLDOUT_FILE
    if not path.is_file():
        raise RegistryError(
            f"{folder} has no {EVALUATION_DIR}/{HOLDOUT_FILE}: register a folder written by "
            "`openbureau train` (the hold-out sample gives the AUC and KS)"
        )
    table = pq.read_table(path, columns=["label", "score", "pd"])
    y = table.column("label").to_numpy().astype(np.int8)
    if y.min() == y.max():
        raise RegistryError(f"{path}: every hold-out label is {y[0]}, so AUC and KS are undefined")
    return {
        "holdout_rows": len(y),
        "holdout_default_rate": float(y.mean()),
        "holdout_auc": float(roc_auc_score(y, table.column("pd").to_numpy())),
        "holdout_ks": ks_statistic(y, -table.column("score").to_numpy()),
    }


def read_model_folder(path: Path | str) -> ModelFolder:
    """Check the folder is an intact model (checksums verified by loading it) and read what
    the registry keeps; a precise ``RegistryError`` otherwise."""
    from openbureau.model import load

    if not isinstance(path, str | Path):
        raise TypeError(f"path must be a str or Path, got {type(path).__name__}")
    folder = Path(path).resolve()
    if not folder.is_dir():
        raise RegistryError(f"model folder {folder} does not exist")
    try:
        model = load(folder)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        raise RegistryError(f"{folder} is not an intact model folder: {exc}") from None
    manifest = json.loads((folder / "artifact.json").read_text())
    pack = (manifest.get("policy") or {}).get("pack") or {}
    if not pack.get("name") or not pack.get("digest"):
        raise RegistryError(
            f"{folder}/artifact.json names no policy pack (name and digest): retrain it with "
            "`openbureau train --policy ...`"
        )
    card_path = folder / "model_card.json"
    if not card_path.is_file():
        raise RegistryError(f"{folder} has no model_card.json")
    metrics = {**_holdout_metrics(folder), "development": manifest.get("metrics", {})}
    return ModelFolder(
        model_id=str(model.model_id_),
        path=folder,
        kind=str(manifest["kind"]),
        catalog_version=str(manifest["catalog_version"]),
        data_hash=str(manifest["data_hash"]),
        policy=str(pack["name"]),
        policy_digest=str(pack["digest"]),
        metrics=metrics,
        card=json.loads(card_path.read_text()),
    )
