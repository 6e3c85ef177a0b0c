"""Evaluate a labelled table: check it against its factor map, cross-validate, report.

``evaluate_table`` is what ``openbureau evaluate`` runs; it returns the JSON report as a
dict. The five-factor model and the unconstrained LightGBM reference share the folds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from openbureau.evaluate.crossval import CVResult, cross_validate
from openbureau.evaluate.factormap import FactorMap, FactorMapError, load_factor_map
from openbureau.evaluate.models import (
    Context,
    ReferenceGBM,
    factor_model,
)
from openbureau.evaluate.table import Prepared, TableError, prepare, read_table
from openbureau.model.meta import FeatureMeta

MODEL = "openbureau"
REFERENCE = "reference"
WITHOUT_NETWORK = "openbureau_without_network"
MONOTONE_ROWS = 200  # test rows of the first fold varied along every directional input


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
    from openbureau.model.gbm import UNCONSTRAINED_PARAMS

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
            "params": {**UNCONSTRAINED_PARAMS, "min_data_in_leaf": "leaf_size(rows)"},
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
    edges: str | Path | None = None,
) -> tuple[dict[str, Any], CVResult, Prepared]:
    """Cross-validate openbureau's model and the reference on ``table``; the JSON report.

    With ``edges`` (an edges CSV between ids of the table), network features are built per
    fold from training labels only, and openbureau's model is also fitted without the
    network factor: the report's ``auc`` is with it, ``auc_without_network`` without.
    """
    started = time.perf_counter()
    fmap, prep = load_inputs(table, factor_map, label, id_column=id_column, positive=positive)
    _check_model_params(fmap)
    metas = list(fmap.metas)
    overrides = dict(fmap.model)
    augment = None
    network: dict[str, Any] | None = None
    factories: dict[str, Any] = {}
    if edges is not None:
        graph, net_metas, augment = _network(edges, prep, seed)
        metas += [m.meta for m in net_metas]
        overrides.setdefault("network_exposures", [m.name for m in net_metas if m.exposure])
        factories[WITHOUT_NETWORK] = _without_network(fmap.model)
        network = {
            "edges_file": graph.source,
            "edges": graph.n_edges,
            "nodes": graph.n_nodes,
            "nodes_not_in_table": graph.n_nodes - prep.n_rows,
            "self_loops_dropped": graph.dropped_self_loops,
            "negative_weight_dropped": graph.dropped_negative,
            "features": [m.meta.to_dict() for m in net_metas],
            "seeds": "training-fold labels only; inner folds keep a row's own label from "
            "reaching it; test rows' labels are never seeds",
            "consent": "the edges file is taken to hold consented relationships only",
        }
    factories = {
        MODEL: partial(factor_model, overrides=overrides),
        REFERENCE: ReferenceGBM,
        **factories,
        **dict(extra or {}),
    }
    monotone: dict[str, Any] = {}

    def inspect(fold: int, name: str, est: Any, Xte: Any, te: np.ndarray) -> None:
        """On the first fold's model: monotonicity over the whole model, boundaries included."""
        if fold != 0 or name != MODEL:
            return
        from openbureau.evaluate.monotone import whole_model_violations

        ctx = None if prep.context is None else prep.context.iloc[te].reset_index(drop=True)
        rows = min(MONOTONE_ROWS, int(te.shape[0]))
        bad = whole_model_violations(est, fmap, Xte, ctx, rows=rows, seed=seed)
        monotone.update(
            fold=0,
            rows=rows,
            checked=[f.name for f in fmap.features if f.meta.direction != "none"],
            violations=[v.to_dict() for v in bad],
        )

    cv = cross_validate(
        prep, metas, factories, k=folds, seed=seed, threads=threads, on_fold=on_fold,
        augment=augment, inspect=inspect,
    )  # fmt: skip
    fold0 = Context(metas, prep.segment_names, int((cv.assignment != 0).sum()), seed)
    params = factor_model(fold0, overrides).get_params(deep=False)
    params.pop("features", None)
    params["segments"] = list(params["segments"])
    if params.get("network_exposures") is not None:
        params["network_exposures"] = list(params["network_exposures"])
    out = report(fmap, prep, cv, time.perf_counter() - started, params)
    out["whole_model_monotone"] = monotone
    if network is not None:
        alone = cv.models[WITHOUT_NETWORK].summary()
        out["auc_without_network"] = alone["auc"]
        out["auc_without_network_std"] = alone["auc_std"]
        out["network_lift"] = out["auc"] - alone["auc"]
        out["network"] = network
        out = _finite(out)
    return out, cv, prep


@dataclass(frozen=True)
class NetworkMeta:
    meta: FeatureMeta
    exposure: bool

    @property
    def name(self) -> str:
        return self.meta.name


def _network(
    edges: str | Path, prep: Prepared, seed: int
) -> tuple[Any, list[Any], Callable[[np.ndarray], Any]]:
    """The edges, the network features' metadata, and the per-fold feature builder."""
    from openbureau.evaluate.edges import fold_network_features, read_edges
    from openbureau.features.network import SPECS
    from openbureau.network import SEED_DEPENDENT

    if prep.ids is None:
        raise TableError(
            f"{prep.source}: --edges needs the table's id column (--id, or `id:` in the "
            "factor map) to match edge sources and targets"
        )
    graph = read_edges(edges, prep.ids)
    metas = [
        NetworkMeta(
            FeatureMeta(s.name, s.factor, s.reason, s.direction, s.actionable, s.description),
            s.name in SEED_DEPENDENT,
        )
        for s in SPECS
    ]

    def augment(train: np.ndarray) -> Any:
        return fold_network_features(graph, prep.y, train, seed)

    return graph, metas, augment


def _without_network(model_overrides: Mapping[str, Any]) -> Callable[[Context], Any]:
    """openbureau's model on the same rows with every network-factor feature left out."""

    def make(ctx: Context) -> Any:
        own = [m for m in ctx.features if m.factor != "network"]
        return factor_model(replace(ctx, features=own), model_overrides)

    return make


__all__ = ["TableError", "evaluate_table", "load_inputs", "report"]
