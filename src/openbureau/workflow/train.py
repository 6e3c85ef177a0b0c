"""Train a five-factor model on the store: training set as of a date, fit, hold-out check,
versioned artifact. The hold-out scores and the development bins are written beside the
model so the report and later stability checks compare against what the model was
judged on."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from openbureau.policy import PolicyPack

EVALUATION_DIR = "evaluation"
HOLDOUT_FILE = "holdout.parquet"
DEVELOPMENT_FILE = "development.json"


@dataclass(frozen=True)
class TrainReport:
    model_dir: Path
    model_id: str
    as_of: dt.date
    rows: int
    train_rows: int
    holdout_rows: int
    default_rate: float
    holdout_auc: float
    holdout_ks: float
    holdout_brier: float
    seconds: float
    policy: str = ""
    policy_digest: str = ""
    policy_message: str = ""
    dropped_factors: dict[str, int] | None = None

    def __str__(self) -> str:
        return (
            f"model {self.model_id} -> {self.model_dir}\n"
            f"  {self.policy_message}\n"
            f"  as of {self.as_of}: {self.rows:,} people ({self.default_rate:.2%} defaulted "
            f"within the horizon); trained on {self.train_rows:,}, held out {self.holdout_rows:,}\n"
            f"  hold-out AUC {self.holdout_auc:.4f}  KS {self.holdout_ks:.4f}  "
            f"Brier {self.holdout_brier:.4f}  ({self.seconds:.1f}s)"
        )


def ks_statistic(y: np.ndarray, score: np.ndarray) -> float:
    """Largest gap between the score distributions of defaulters and the rest."""
    order = np.argsort(score, kind="stable")
    y_sorted = np.asarray(y)[order]
    bad = np.cumsum(y_sorted) / max(y_sorted.sum(), 1)
    good = np.cumsum(1 - y_sorted) / max((1 - y_sorted).sum(), 1)
    return float(np.max(np.abs(bad - good)))


def stratified_holdout(y: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Boolean mask of a hold-out sample with the same default rate as the whole."""
    if not 0.0 < share < 1.0:
        raise ValueError(f"holdout share must be between 0 and 1, got {share}")
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(y), dtype=bool)
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        take = rng.choice(idx, size=round(len(idx) * share), replace=False)
        mask[take] = True
    return mask


def train_from_store(
    store: str | Path | None,
    as_of: dt.date,
    out: Path,
    *,
    horizon_months: int = 12,
    holdout: float = 0.2,
    seed: int = 0,
    overwrite: bool = False,
    model_params: dict[str, Any] | None = None,
    policy: str | Path | PolicyPack | None = None,
) -> TrainReport:
    """Fit the factor-additive model on the store as of ``as_of`` and save it to ``out``.

    ``policy`` names a jurisdiction pack (default ``openbureau.policy.DEFAULT_PACK``):
    features of the factors it forbids are dropped before fitting, its public-record
    expiry shapes the features, and the pack and what it dropped are saved with the model.
    """
    import time

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from sklearn.metrics import brier_score_loss, roc_auc_score

    from openbureau.explain import breakdown_table
    from openbureau.features import catalog_version, feature_specs, training_set
    from openbureau.model import FactorAdditiveClassifier, save
    from openbureau.monitor import Bins
    from openbureau.policy import (
        PolicyError,
        apply_policy,
        drop_forbidden_columns,
        load_pack,
        network_excess,
    )
    from openbureau.store import Store

    started = time.perf_counter()
    pack = load_pack(policy)
    params = pack.feature_params()
    specs = feature_specs()
    decision = apply_policy(specs, pack)
    with Store(store, read_only=True) as db:
        data = training_set(db.con, [as_of], horizon_months=horizon_months, params=params)
    data = drop_forbidden_columns(data, {s.name: s.factor for s in specs}, pack)
    if data.num_rows < 50:
        raise ValueError(
            f"only {data.num_rows} people are eligible as of {as_of}: too few to train"
        )
    y = data.column("label").to_numpy().astype(np.int8)
    if y.min() == y.max():
        raise ValueError(f"every eligible person as of {as_of} has label {y[0]}: nothing to learn")
    mask = stratified_holdout(y, holdout, seed)
    train, test = data.filter(pa.array(~mask)), data.filter(pa.array(mask))
    accepted = FactorAdditiveClassifier(list(decision.kept)).get_params(deep=False)
    pack_params = pack.model_params(accepted)
    for key, value in pack_params.items():
        given = (model_params or {}).get(key)
        if given is not None and (given > value if key == "network_cap" else given < value):
            raise PolicyError(
                f"model_params {key}={given:g} is looser than policy {pack.name}'s {value:g}"
            )
    params_used = {**pack_params, **(model_params or {})}
    if any(m.factor == "network" for m in decision.kept):
        # exactly the features one contact's record moves by at most 1/k: the model's
        # one-contact bound is then tight, not spread over features a contact cannot move
        from openbureau.network import SEED_DEPENDENT

        kept = {m.name for m in decision.kept}
        params_used.setdefault("network_exposures", [n for n in SEED_DEPENDENT if n in kept])
    # A file turns from thin to established as it ages (file_age_months, direction
    # 'increasing'): an established file never scores below a thin one with the same
    # features, so the score cannot fall when a file crosses the boundary.
    params_used.setdefault("segment_order", "increasing")
    model = FactorAdditiveClassifier(list(decision.kept), random_state=seed, **params_used)
    model.fit(train, y[~mask])
    excess = network_excess(pack, model.factor_ranges().to_dict(orient="index"))
    if excess is not None:
        assert pack.network is not None
        raise PolicyError(
            f"policy {pack.name} caps the network factor at {pack.network.cap_points:g} points, "
            f"but the fitted model gives it up to {excess[1]:.1f} points ({excess[0]} files): "
            "nothing was saved; train under a pack that forbids the factor, or raise the cap "
            "in a pack of your own"
        )
    saved = save(
        model,
        out,
        catalog_version(params),
        overwrite=overwrite,
        policy={"pack": pack.record(), "decision": decision.record()},
    )

    result = model.score_breakdown(test)
    y_test = y[mask]
    scored = breakdown_table(result)
    holdout_table = pa.table(
        {
            "label": pa.array(y_test),
            "score": scored.column("score"),
            "pd": scored.column("pd"),
            "segment": pa.array(test.column("segment").to_pylist(), pa.string()),
            **{c: scored.column(c) for c in scored.column_names if c.startswith("points_")},
        }
    )
    evaluation = saved / EVALUATION_DIR
    evaluation.mkdir(exist_ok=True)
    pq.write_table(holdout_table, evaluation / HOLDOUT_FILE)
    train_scores = model.score_breakdown(train)
    development = {
        "as_of": as_of.isoformat(),
        "horizon_months": horizon_months,
        "score_bins": Bins.from_sample(train_scores.score).to_dict(),
        "factor_bins": {
            f: Bins.from_sample(train_scores.subscores[:, k]).to_dict()
            for k, f in enumerate(train_scores.factors)
        },
        "factor_weights": json.loads(model.factor_weights(train).to_json(orient="index")),
        "holdout": {"rows": int(mask.sum()), "seed": seed, "share": holdout},
        **development_features(train, ["segment", *(m.name for m in decision.kept)]),
    }
    (evaluation / DEVELOPMENT_FILE).write_text(json.dumps(development, indent=2))
    return TrainReport(
        model_dir=saved,
        model_id=model.model_id_ if hasattr(model, "model_id_") else _model_id(saved),
        as_of=as_of,
        rows=data.num_rows,
        train_rows=int((~mask).sum()),
        holdout_rows=int(mask.sum()),
        default_rate=float(y.mean()),
        holdout_auc=float(roc_auc_score(y_test, result.pd)),
        holdout_ks=ks_statistic(y_test, -result.score),
        holdout_brier=float(brier_score_loss(y_test, result.pd)),
        seconds=time.perf_counter() - started,
        policy=pack.name,
        policy_digest=pack.digest,
        policy_message=decision.message,
        dropped_factors=decision.dropped_factors,
    )


def development_features(train: pa.Table, inputs: list[str]) -> dict[str, Any]:
    """Per-input bins and missing-value rates of the development sample, so monitoring can
    compute each input's CSI and missing-rate change later (``openbureau monitor``)."""
    from openbureau.monitor.reference import feature_reference

    bins = feature_reference(train, inputs)
    return {
        "feature_bins": {name: ref.to_dict() for name, ref in bins.items()},
        "missing_rates": {name: ref.missing for name, ref in bins.items()},
    }


def _model_id(model_dir: Path) -> str:
    return str(json.loads((model_dir / "artifact.json").read_text())["model_id"])
