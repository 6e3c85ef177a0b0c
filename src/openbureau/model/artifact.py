"""Model artifacts: a versioned folder of plain text (LightGBM text model, JSON, Markdown).

No pickles: everything scoring needs is in ``tables.json`` and ``artifact.json``, written
with exact float round-trips, so a loaded model reproduces every score, sub-score and
reason bit for bit. ``model.txt`` keeps the booster for audit and re-compilation; file
checksums in ``artifact.json`` are verified on load.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from openbureau import __version__
from openbureau.model.base import AdditiveModel
from openbureau.model.bounded import NetworkGate
from openbureau.model.card import model_card
from openbureau.model.gbm import FactorAdditiveClassifier
from openbureau.model.meta import FACTORS, FeatureMeta
from openbureau.model.scaling import Calibration, Scaling
from openbureau.model.scorecard import WoEScorecardClassifier
from openbureau.model.tables import Shape

FORMAT_VERSION = 1
KINDS: dict[str, type[AdditiveModel]] = {
    "factor_additive_gbm": FactorAdditiveClassifier,
    "woe_scorecard": WoEScorecardClassifier,
}


def _kind(model: AdditiveModel) -> str:
    for name, cls in KINDS.items():
        if type(model) is cls:
            return name
    raise TypeError(f"cannot save a {type(model).__name__}")


def _json_default(o: object) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def _clean(o: Any) -> Any:
    """NaN/inf are not JSON: write them as null (only metrics may hold them)."""
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    return o


def _dump(obj: Any) -> bytes:
    return (
        json.dumps(_clean(obj), indent=1, default=_json_default, allow_nan=False) + "\n"
    ).encode()


def _params(model: AdditiveModel) -> dict[str, Any]:
    params = model.get_params(deep=False)
    params.pop("features", None)
    params["scaling"] = None if params.get("scaling") is None else params["scaling"].to_json()
    params["segments"] = list(params["segments"])
    if params.get("network_exposures") is not None:
        params["network_exposures"] = list(params["network_exposures"])
    for key in ("extra_params", "teacher_params"):
        if params.get(key) is not None:
            params[key] = dict(params[key])
    return params


def save(
    model: AdditiveModel,
    path: str | Path,
    catalog_version: str,
    *,
    overwrite: bool = False,
    policy: dict[str, Any] | None = None,
) -> Path:
    """Write the fitted model to folder ``path``; returns it. Refuses a non-empty folder.

    ``policy`` (a jurisdiction pack's record and what it dropped) is kept in the manifest
    and the model card, so a model names the rules it was trained under."""
    if not isinstance(catalog_version, str) or not catalog_version:
        raise TypeError("catalog_version must be a non-empty str")
    kind = _kind(model)
    if not hasattr(model, "scorer_"):
        raise ValueError("the model is not fitted")
    out = Path(path)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} is not empty (pass overwrite=True to replace)")
    out.mkdir(parents=True, exist_ok=True)
    gate = getattr(model, "network_gate_", None)
    files: dict[str, bytes] = {
        "tables.json": _dump(
            {
                "shapes": [s.to_json() for s in model.shapes_],
                "intercept": model.intercept_,
                **({"network_gate": gate.to_json()} if gate is not None else {}),
            }
        )
    }
    extra: dict[str, Any] = {}
    if isinstance(model, FactorAdditiveClassifier):
        boosters = getattr(model, "boosters_", [model.booster_])
        files["model.txt"] = boosters[0].model_to_string().encode()
        for b, booster in enumerate(boosters[1:], start=1):
            files[f"model_bag{b}.txt"] = booster.model_to_string().encode()
        extra["lightgbm_params"] = model.lgb_params(model.n_features_in_, len(model.segments_))
        extra["lightgbm_version"] = lgb.__version__
    if isinstance(model, WoEScorecardClassifier):
        extra["coef"] = model.coef_
        if hasattr(model, "binning_"):
            files["binning.json"] = _dump(_binning_tables(model))
    digest = hashlib.sha256(b"".join(files[k] for k in sorted(files))).hexdigest()
    manifest = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "model_id": digest[:16],
        "openbureau_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "catalog_version": catalog_version,
        "data_hash": model.data_hash_,
        "classes": model.classes_.tolist(),
        "factors": list(FACTORS),
        "segments": list(model.segments_),
        "segment_column": model.segment_column,
        "features": [m.to_dict() for m in model.features_],
        "scaling": model.scaling_.to_json(),
        "calibration": model.calibration_.to_json(),
        "base_points": dict(zip(model.segments_, model.scorer_.base.tolist(), strict=True)),
        "factor_max_points": model.factor_ranges().to_dict(orient="index"),
        "calibration_table": model.calibration_table_,
        "metrics": model.metrics_,
        "params": _params(model),
        **({"network_bound": model.network_bound_} if model.network_bound_ else {}),
        **extra,
        **({"policy": policy} if policy is not None else {}),
        "files": {k: hashlib.sha256(v).hexdigest() for k, v in files.items()},
    }
    files["artifact.json"] = _dump(manifest)
    card_md, card_json = model_card(manifest)
    files["model_card.md"] = card_md.encode()
    files["model_card.json"] = _dump(card_json)
    for name, data in files.items():
        tmp = out / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(out / name)
    return out


def _binning_tables(model: WoEScorecardClassifier) -> dict[str, Any]:
    tables = {}
    for m in model.features_:
        bt = model.binning_.get_binned_variable(m.name).binning_table.build()
        tables[m.name] = json.loads(bt.astype(str).to_json(orient="records"))
    return tables


def load(path: str | Path) -> AdditiveModel:
    """A fitted model from a folder written by ``save``; checksums are verified."""
    root = Path(path)
    manifest_path = root / "artifact.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{root} holds no artifact.json")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"unsupported artifact format {manifest.get('format_version')!r}")
    for name, sha in manifest["files"].items():
        data = (root / name).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha:
            raise ValueError(f"{name} does not match its checksum in artifact.json")
    cls = KINDS[manifest["kind"]]
    params = dict(manifest["params"])
    params["segments"] = tuple(params["segments"])
    scaling = Scaling(**manifest["scaling"])
    params["scaling"] = None if params["scaling"] is None else Scaling(**params["scaling"])
    metas = [FeatureMeta(**d) for d in manifest["features"]]
    model = cls(metas, **params)
    tables = json.loads((root / "tables.json").read_text())
    model.shapes_ = [Shape.from_json(d) for d in tables["shapes"]]
    model.intercept_ = np.array(tables["intercept"], dtype=np.float64)
    gate = tables.get("network_gate")
    model.network_gate_ = None if gate is None else NetworkGate.from_json(gate)
    model.network_bound_ = manifest.get("network_bound", {})
    model.features_ = tuple(metas)
    model.n_features_in_ = len(metas)
    model.feature_names_in_ = np.array([m.name for m in metas], dtype=object)
    model.classes_ = np.array(manifest["classes"])
    model.segments_ = tuple(manifest["segments"])
    model.scaling_ = scaling
    model.calibration_ = Calibration(**manifest["calibration"])
    model.metrics_ = manifest["metrics"]
    model.calibration_table_ = manifest["calibration_table"]
    model.data_hash_ = manifest["data_hash"]
    model.model_id_ = manifest["model_id"]
    if isinstance(model, FactorAdditiveClassifier):
        model.booster_ = lgb.Booster(model_str=(root / "model.txt").read_text())
        bags = sorted(
            (n for n in manifest["files"] if n.startswith("model_bag")),
            key=lambda n: int(n[len("model_bag") : -len(".txt")]),
        )
        model.boosters_ = [model.booster_] + [
            lgb.Booster(model_str=(root / n).read_text()) for n in bags
        ]
    if isinstance(model, WoEScorecardClassifier):
        model.coef_ = np.array(manifest["coef"], dtype=np.float64)
    model.scorer_ = model._build_scorer()
    return model
