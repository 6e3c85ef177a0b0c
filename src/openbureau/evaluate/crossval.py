"""Cross-validation of several models on the very same stratified, seeded folds.

Each fold codes text features on its training rows only, then fits every model on the same
training rows and scores the same test rows, so differences between models are differences
between models, not between splits. Factor weights per segment are measured on test rows.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from openbureau.evaluate.metrics import mean_std, scores
from openbureau.evaluate.models import Context
from openbureau.evaluate.table import SEGMENT_COLUMN, Prepared, TextCoder

Factory = Callable[[Context], Any]  # -> an estimator with fit(X, y) and predict_proba(X)
# Columns that depend on the fold (network features seeded by training labels): given the
# training rows, a frame of extra columns for every row of the table.
Augment = Callable[[np.ndarray], pd.DataFrame]
# Called after each fit: (fold, model name, fitted estimator, test design, test row indices)
Inspect = Callable[[int, str, Any, pd.DataFrame, np.ndarray], None]
METRICS = ("auc", "ks", "brier")


@dataclass
class ModelResult:
    """One model's out-of-fold predictions and per-fold scores."""

    name: str
    oof: np.ndarray
    per_fold: list[dict[str, Any]] = field(default_factory=list)
    factor_weights: list[dict[str, dict[str, float]]] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        """Mean and standard deviation over folds of each metric, and total fit seconds."""
        out: dict[str, float] = {}
        for m in (*METRICS, "fit_seconds"):
            mean, std = mean_std([f[m] for f in self.per_fold])
            out[m], out[f"{m}_std"] = mean, std
        return out

    def mean_factor_weights(self) -> dict[str, dict[str, float]]:
        """Factor weights per segment, averaged over folds."""
        if not self.factor_weights:
            return {}
        segs = self.factor_weights[0].keys()
        out = {}
        for s in segs:
            rows = pd.DataFrame([fw[s] for fw in self.factor_weights])
            out[s] = {k: float(v) for k, v in rows.mean(skipna=True).items()}
        return out


@dataclass
class CVResult:
    assignment: np.ndarray  # fold of each row
    k: int
    seed: int
    models: dict[str, ModelResult]
    y: np.ndarray

    @property
    def assignment_sha256(self) -> str:
        return hashlib.sha256(self.assignment.astype(np.int8).tobytes()).hexdigest()

    def folds_json(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "seed": self.seed,
            "stratified": True,
            "assignment_sha256": self.assignment_sha256,
            "rows": [int((self.assignment == i).sum()) for i in range(self.k)],
            "defaults": [int(self.y[self.assignment == i].sum()) for i in range(self.k)],
        }


def fold_assignment(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold index of every row: stratified by label, shuffled with ``seed``."""
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"folds must be an int, got {type(k).__name__}")
    if k < 2:
        raise ValueError(f"folds must be >= 2, got {k}")
    counts = np.bincount(y, minlength=2)
    if counts.min() < k:
        raise ValueError(
            f"{k} folds need at least {k} rows of each class; the table has "
            f"{counts[1]} default(s) and {counts[0]} other row(s)"
        )
    out = np.empty(y.shape[0], dtype=np.int64)
    for i, (_, te) in enumerate(StratifiedKFold(k, shuffle=True, random_state=seed).split(y, y)):
        out[te] = i
    return out


def _design(prep: Prepared, rows: np.ndarray, coder: TextCoder) -> pd.DataFrame:
    X = coder.transform(prep.data.iloc[rows].reset_index(drop=True))
    X = X.astype(np.float64)
    if prep.segment is not None:
        X[SEGMENT_COLUMN] = prep.segment[rows]
    return X


def cross_validate(
    prep: Prepared,
    features: list[Any],
    factories: Mapping[str, Factory],
    *,
    k: int = 5,
    seed: int = 0,
    threads: int = 2,
    on_fold: Callable[[int, str, dict[str, Any]], None] | None = None,
    augment: Augment | None = None,
    inspect: Inspect | None = None,
) -> CVResult:
    """Fit every factory's model on each fold's training rows; score its test rows.

    ``augment(train_rows)`` adds fold-dependent columns (computed from training labels
    only) to both the training and the test design.
    """
    from openbureau.model.base import AdditiveModel

    y = prep.y
    assignment = fold_assignment(y, k, seed)
    segments = prep.segment_names
    results = {name: ModelResult(name, np.full(y.shape[0], np.nan)) for name in factories}
    for i in range(k):
        tr, te = np.flatnonzero(assignment != i), np.flatnonzero(assignment == i)
        coder = TextCoder(prep.text).fit(prep.data.iloc[tr].reset_index(drop=True), y[tr])
        Xtr, Xte = _design(prep, tr, coder), _design(prep, te, coder)
        if augment is not None:
            extra = augment(tr)
            for c in extra.columns:
                Xtr[c] = extra[c].to_numpy()[tr]
                Xte[c] = extra[c].to_numpy()[te]
        ctx = Context(features, segments, int(tr.shape[0]), seed, threads)
        for name, factory in factories.items():
            est = factory(ctx)
            started = time.perf_counter()
            est.fit(Xtr, y[tr])
            fit_s = time.perf_counter() - started
            p = np.asarray(est.predict_proba(Xte))[:, 1]
            res = results[name]
            res.oof[te] = p
            row: dict[str, Any] = {
                "fold": i,
                "rows": int(te.shape[0]),
                **scores(y[te], p),
                "fit_seconds": fit_s,
            }
            rounds = getattr(est, "n_rounds_", None)
            if rounds is not None:
                row["rounds"] = int(rounds)
            res.per_fold.append(row)
            fitted = getattr(est, "model_", est)
            if isinstance(fitted, AdditiveModel):
                fw = fitted.factor_weights(Xte)
                res.factor_weights.append(
                    {str(s): {f: float(v) for f, v in r.items()} for s, r in fw.iterrows()}
                )
            if inspect is not None:
                inspect(i, name, est, Xte, te)
            if on_fold is not None:
                on_fold(i, name, row)
    return CVResult(assignment, k, seed, results, y)
