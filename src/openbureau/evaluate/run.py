"""Evaluate a labelled table: check it against its factor map, cross-validate, report.

``evaluate_table`` is what ``openbureau evaluate`` runs; it returns the JSON report as a
dict. The five-factor model and the unconstrained LightGBM reference share the folds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from openbureau.evaluate.crossval import CVResult, cross_validate
from openbureau.evaluate.factormap import FactorMap, FactorMapError, load_factor_map
from openbureau.evaluate.models import (
    REFERENCE_DEFAULTS,
    Context,
    ReferenceGBM,
    factor_model,
)
from openbureau.evaluate.table import Prepared, TableError, prepare, read_table

MODEL = "openbureau"
REFERENCE = "reference"


def load_inputs(
    table: str | Path,
    factor_map: str | Path | FactorMap,
    label: str | None = None,
    *,
    id_column: str | None = None,
    positive: Any = None,
) -> tuple[FactorMap, Prepared]:
    """Read and check the factor map and the table; label/id default to the map's."""
    fmap = factor_map if isinstance(factor_map, FactorMap) else load_factor_map(factor_map)
    label = label or fmap.label
    if label is None:
        raise FactorMapError(f"{fmap.source}: no label: pass --label or set `label:` in the map")
    df = read_table(table)
    prep = prepare(
        df,
        table,
        fmap,
        label,
        id_column=id_column or fmap.id,
        positive=positive if positive is not None else fmap.positive,
    )
    return fmap, prep


def _check_model_params(fmap: FactorMap) -> None:
    from openbureau.model import FactorAdditiveClassifier

    probe = Context(fmap.metas, fmap.segment_names or None, 1000)
    try:
        est = factor_model(probe, fmap.model)
        if not isinstance(est, FactorAdditiveClassifier):  # pragma: no cover - defensive
            raise TypeError(type(est).__name__)
        est._check_params()
    except (TypeError, ValueError) as exc:
        raise FactorMapError(f"{fmap.source}: model: {exc}") from None


def _finite(v: Any) -> Any:
    """NaN is not JSON: write null."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_finite(x) for x in v]
    return v


def report(
    fmap: FactorMap, prep: Prepared, cv: CVResult, seconds: float, model_params: dict[str, Any]
) -> dict[str, Any]:
    """The JSON report: means over folds at the top, then everything behind them."""
    ours, ref = cv.models[MODEL], cv.models[REFERENCE]
    s, r = ours.summary(), ref.summary()
    per_fold = []
    for a, b in zip(ours.per_fold, ref.per_fold, strict=True):
        row = dict(a)
        row.update({f"reference_{k}": v for k, v in b.items() if k not in ("fold", "rows")})
        per_fold.append(row)
    segments = {}
    if prep.segment is not None:
        for rule in fmap.segments:
            m = prep.segment == rule.name
            segments[rule.name] = {
                "rule": rule.when or "every other row",
                "rows": int(m.sum()),
                "default_rate": float(prep.y[m].mean()),
            }
    out = {
        "table": prep.source,
        "factor_map": fmap.source,
        "label": prep.label,
        "label_values": prep.label_values,
        "rows": prep.n_rows,
        "defaults": int(prep.y.sum()),
        "default_rate": float(prep.y.mean()),
        "auc": s["auc"],
        "ks": s["ks"],
        "brier": s["brier"],
        "reference_auc": r["auc"],
        "reference_ks": r["ks"],
        "reference_brier": r["brier"],
        "auc_gap": r["auc"] - s["auc"],
        "auc_std": s["auc_std"],
        "ks_std": s["ks_std"],
        "brier_std": s["brier_std"],
        "reference_auc_std": r["auc_std"],
        "reference_ks_std": r["ks_std"],
        "reference_brier_std": r["brier_std"],
        "folds": cv.folds_json(),
        "per_fold": per_fold,
        "factor_weights": ours.mean_factor_weights(),
        "factor_weights_per_fold": ours.factor_weights,
        "segments": segments,
        "features": [f.meta.to_dict() | ({"sql": f.sql} if f.sql else {}) for f in fmap.features],
        "text_features": {
            n: list(c) if c else "ordered by training default rate" for n, c in prep.text.items()
        },
        "ignored": fmap.ignore,
        "model": {"kind": "factor_additive_gbm", "params": model_params},
        "reference": {
            "kind": "lightgbm (unconstrained, same features, no segment column)",
            "params": {**REFERENCE_DEFAULTS, "min_data_in_leaf": "leaf_size(rows)"},
        },
        "seconds": seconds,
    }
    return _finite(out)


def evaluate_table(
    table: str | Path,
    factor_map: str | Path | FactorMap,
    label: str | None = None,
    *,
    folds: int = 5,
    seed: int = 0,
    id_column: str | None = None,
    positive: Any = None,
    threads: int = 2,
    on_fold: Callable[[int, str, dict[str, Any]], None] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], CVResult, Prepared]:
    """Cross-validate openbureau's model and the reference on ``table``; the JSON report."""
    started = time.perf_counter()
    fmap, prep = load_inputs(table, factor_map, label, id_column=id_column, positive=positive)
    _check_model_params(fmap)
    factories = {
        MODEL: partial(factor_model, overrides=fmap.model),
        REFERENCE: ReferenceGBM,
        **dict(extra or {}),
    }
    cv = cross_validate(
        prep, fmap.metas, factories, k=folds, seed=seed, threads=threads, on_fold=on_fold
    )
    fold0 = Context(fmap.metas, prep.segment_names, int((cv.assignment != 0).sum()), seed)
    params = factor_model(fold0, fmap.model).get_params(deep=False)
    params.pop("features", None)
    params["segments"] = list(params["segments"])
    return report(fmap, prep, cv, time.perf_counter() - started, params), cv, prep


__all__ = ["TableError", "evaluate_table", "load_inputs", "report"]
