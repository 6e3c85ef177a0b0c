"""Compile a LightGBM booster, from its ``dump_model()`` JSON, into per-feature step functions.

Every tree of a factor-additive booster splits, on any root-to-leaf path, on one feature
besides the segment. Fixing the segment therefore leaves a function of that one feature,
so the whole model is, per segment, a constant plus one step function per feature. We fill
each step function by running the real trees on one value inside every interval between
consecutive thresholds, and on NaN, with LightGBM's own decision rule (missing_type and
default_left), so the tables reproduce ``booster.predict(raw_score=True)`` to rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from openbureau.model.tables import Shape, bin_ranges

# LightGBM's kZeroThreshold (1e-35f): with missing_type 'Zero', |x| <= it counts as missing.
K_ZERO = float(np.float32(1e-35))


def go_left(node: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """LightGBM's ``NumericalDecision``, vectorised: True where the row goes left."""
    if node.get("decision_type", "<=") != "<=":
        raise ValueError("categorical splits are not supported in a factor-additive model")
    missing = node.get("missing_type", "None")
    if missing == "NaN":
        is_missing = np.isnan(x)
        xv = x
    else:
        xv = np.where(np.isnan(x), 0.0, x)  # LightGBM reads NaN as 0 unless NaN is 'missing'
        if missing == "Zero":
            is_missing = (xv >= -K_ZERO) & (xv <= K_ZERO)
        else:
            is_missing = np.zeros(x.shape, dtype=bool)
    return np.where(is_missing, bool(node["default_left"]), xv <= node["threshold"])


def eval_tree(root: dict[str, Any], cols: dict[int, np.ndarray], n: int) -> np.ndarray:
    """The tree's output for n rows whose split features are given in ``cols``."""
    out = np.empty(n, dtype=np.float64)
    stack = [(root, np.arange(n))]
    while stack:
        node, idx = stack.pop()
        if idx.size == 0:  # a branch no row takes (e.g. another segment's subtree)
            continue
        if "leaf_value" in node:
            out[idx] = node["leaf_value"]
            continue
        left = go_left(node, cols[node["split_feature"]][idx])
        stack.append((node["left_child"], idx[left]))
        stack.append((node["right_child"], idx[~left]))
    return out


def _walk(node: dict[str, Any], path: tuple[int, ...], paths: list[tuple[int, ...]]) -> None:
    if "leaf_value" in node:
        paths.append(path)
        return
    f = int(node["split_feature"])
    _walk(node["left_child"], (*path, f), paths)
    _walk(node["right_child"], (*path, f), paths)


def reached_features(node: dict[str, Any], seg_index: int | None, segment: int) -> set[int]:
    """Features (other than the segment) a row of ``segment`` can meet in this tree."""
    out: set[int] = set()
    stack = [node]
    while stack:
        nd = stack.pop()
        if "leaf_value" in nd:
            continue
        f = int(nd["split_feature"])
        if f == seg_index:
            left = bool(go_left(nd, np.array([float(segment)]))[0])
            stack.append(nd["left_child"] if left else nd["right_child"])
        else:
            out.add(f)
            stack.append(nd["left_child"])
            stack.append(nd["right_child"])
    return out


@dataclass
class TreeAudit:
    """What each tree splits on: the evidence that the model is additive by factor."""

    n_trees: int = 0
    path_features: list[set[int]] = field(default_factory=list)  # per tree: features on paths
    path_factors: list[list[set[str]]] = field(default_factory=list)  # per tree, per path
    violations: list[str] = field(default_factory=list)


def audit_trees(dump: dict[str, Any], factors: Sequence[str], seg_index: int | None) -> TreeAudit:
    """Check every root-to-leaf path: at most one feature besides the segment."""
    audit = TreeAudit()
    for t, info in enumerate(dump["tree_info"]):
        paths: list[tuple[int, ...]] = []
        _walk(info["tree_structure"], (), paths)
        feats: set[int] = set()
        per_path: list[set[str]] = []
        for p in paths:
            own = {f for f in p if f != seg_index}
            feats |= own
            per_path.append({factors[f] for f in own})
            if len(own) > 1:
                audit.violations.append(f"tree {t}: a path splits on features {sorted(own)}")
        audit.path_features.append(feats)
        audit.path_factors.append(per_path)
    audit.n_trees = len(dump["tree_info"])
    return audit


def _thresholds(dump: dict[str, Any], n_features: int) -> list[set[float]]:
    found: list[set[float]] = [set() for _ in range(n_features)]
    stack = [info["tree_structure"] for info in dump["tree_info"]]
    while stack:
        nd = stack.pop()
        if "leaf_value" in nd:
            continue
        f = int(nd["split_feature"])
        if f < n_features:
            found[f].add(float(nd["threshold"]))
            if nd.get("missing_type") == "Zero":  # the [-K_ZERO, K_ZERO] band is its own bin
                found[f].update((float(np.nextafter(-K_ZERO, -np.inf)), K_ZERO))
        stack.append(nd["left_child"])
        stack.append(nd["right_child"])
    return found


def compile_dump(
    dump: dict[str, Any],
    names: Sequence[str],
    n_segments: int,
    train_values: np.ndarray,
) -> tuple[list[Shape], np.ndarray]:
    """Per-feature shapes and the per-segment constant; the segment is feature ``len(names)``.

    ``train_values`` (J, n) only records which values each bin saw (for counterfactuals).
    """
    n_feat = len(names)
    seg_index = n_feat if n_segments > 1 else None
    audit = audit_trees(dump, [""] * (n_feat + 1), seg_index)
    if audit.violations:
        raise ValueError("booster is not additive per feature: " + "; ".join(audit.violations[:3]))
    found = _thresholds(dump, n_feat)
    shapes: list[Shape] = []
    reps: list[np.ndarray] = []
    for j, name in enumerate(names):
        breaks = np.array(sorted(found[j]), dtype=np.float64)
        empty = np.zeros((n_segments, breaks.shape[0] + 2))
        low, high = bin_ranges(breaks, True, train_values[j])
        shape = Shape(name, breaks, True, empty, low, high)
        shapes.append(shape)
        reps.append(shape.representatives())
    intercept = np.zeros(n_segments)
    for info in dump["tree_info"]:
        root = info["tree_structure"]
        for s in range(n_segments):
            used = reached_features(root, seg_index, s)
            cols: dict[int, np.ndarray] = {}
            if seg_index is not None:
                cols[seg_index] = np.full(1, float(s))
            if not used:
                intercept[s] += eval_tree(root, cols, 1)[0]
                continue
            (j,) = used
            r = reps[j]
            if seg_index is not None:
                cols[seg_index] = np.full(r.shape[0], float(s))
            cols[j] = r
            shapes[j].values[s] += eval_tree(root, cols, r.shape[0])
    return shapes, intercept
