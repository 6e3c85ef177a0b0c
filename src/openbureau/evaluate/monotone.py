"""Monotonicity of the whole model, segment boundaries included, on its own predictions.

The model checks each segment's shapes when it is fitted (``model.monotone``), but a row
whose input crosses a segment boundary takes another segment's shapes: per-segment
monotone shapes can still make the score rise where it must fall. This check varies each
directional input of sampled rows over its whole range (quantiles of the data, every split
of the model on it, and every number the segment rules compare with, on both sides),
recomputes the segment from the segment rules for every value, scores with the model and
reports every step that moves the score against the declared direction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from openbureau.evaluate.factormap import FactorMap
from openbureau.evaluate.table import SEGMENT_COLUMN, rule_numbers, segment_codes, sweep_values


@dataclass(frozen=True)
class MonotoneViolation:
    """A directional input along which the whole model's score moves the wrong way."""

    feature: str
    direction: str
    rows: int  # sampled rows whose score moves against the direction somewhere
    checked: int  # sampled rows
    points: float  # the largest move against the direction, in score points

    def __str__(self) -> str:
        return (
            f"{self.feature} ({self.direction}): the score moves against the direction for "
            f"{self.rows} of {self.checked} rows checked, by up to {self.points:.1f} points"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def whole_model_violations(
    model: Any,
    fmap: FactorMap,
    X: pd.DataFrame,
    context: pd.DataFrame | None,
    *,
    rows: int = 200,
    grid: int = 48,
    seed: int = 0,
    tol: float = 1e-9,
) -> list[MonotoneViolation]:
    """Directional inputs along which the fitted ``model``'s score moves the wrong way.

    ``X`` is the design the model scores (coded features, and the segment column when the
    map has segments); ``context`` holds, for the same rows, the table columns the segment
    rules read (``Prepared.context``). Only the varied input changes; the segment is
    recomputed from the rules on the changed row, so a boundary on the input is crossed.
    """
    from openbureau.model.tables import Shape

    n_rows = X.shape[0]
    pick = np.random.default_rng(seed).permutation(n_rows)[: min(rows, n_rows)]
    base = X.iloc[pick].reset_index(drop=True)
    ctx = None if context is None else context.iloc[pick].reset_index(drop=True)
    numbers = rule_numbers(fmap)
    names = [m.name for m in model.features_]
    shapes: list[Shape] = list(model.shapes_)
    factor = float(model.scaling_.factor)
    out = []
    for f in fmap.features:
        sign = f.meta.sign
        if sign == 0 or f.name not in names:
            continue
        shape = shapes[names.index(f.name)]
        values = sweep_values(X[f.name].to_numpy(np.float64), grid, shape.breaks, numbers)
        if f.categories is not None:  # codes are list positions
            values = np.arange(len(f.categories), dtype=np.float64)
        if values.shape[0] < 2:
            continue
        g = values.shape[0]
        design = base.loc[base.index.repeat(g)].reset_index(drop=True)
        design[f.name] = np.tile(values, base.shape[0])
        if fmap.segments:
            if ctx is None:
                raise ValueError("a map with segments needs the context the rules read")
            c = ctx.loc[ctx.index.repeat(g)].reset_index(drop=True)
            if f.name in c.columns:
                tiled = np.tile(values, base.shape[0])
                if f.categories is not None:
                    c[f.name] = np.asarray(f.categories, dtype=object)[tiled.astype(int)]
                else:
                    c[f.name] = tiled
            codes = segment_codes(c, fmap)
            if (codes < 0).any():
                raise ValueError(f"varying {f.name} leaves rows in no segment")
            design[SEGMENT_COLUMN] = np.asarray(fmap.segment_names, dtype=object)[codes]
        log_odds = np.asarray(model.decision_function(design)).reshape(base.shape[0], g)
        against = np.diff(log_odds, axis=1) * sign  # > 0: the odds of default rise
        worst = against.max(axis=1)
        bad = worst > tol
        if bad.any():
            out.append(
                MonotoneViolation(
                    f.name,
                    f.meta.direction,
                    int(bad.sum()),
                    int(base.shape[0]),
                    float(worst.max() * factor),
                )
            )
    return out
