"""Feature metadata the model needs: which factor a feature feeds, its direction, its reason.

The feature catalog's ``FeatureSpec`` carries these attributes; any object that has them is
accepted (``FeatureLike``), and copied into a frozen ``FeatureMeta`` so a fitted model never
depends on objects its caller may later change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

FACTORS = ("history", "behavior", "capacity", "identity", "network")
DIRECTIONS = ("increasing", "decreasing", "none")
# How segments relate. 'increasing': each segment never scores below the one before it on
# the same inputs (the segment is a monotone input), so a rule that moves rows to a later
# segment as a directional input improves (thin -> established as a file ages) keeps the
# score monotone across the boundary. 'none': segments are free.
SEGMENT_ORDERS = ("none", "increasing")
_FIELDS = ("name", "factor", "reason", "direction", "actionable", "description")


@runtime_checkable
class FeatureLike(Protocol):
    name: str
    factor: str
    reason: str
    direction: str
    actionable: bool
    description: str


@dataclass(frozen=True)
class FeatureMeta:
    """One model input: ``direction='increasing'`` means a higher value never lowers the score."""

    name: str
    factor: str
    reason: str
    direction: str = "none"
    actionable: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        for field in ("name", "factor", "reason", "direction", "description"):
            value = getattr(self, field)
            if not isinstance(value, str):
                raise TypeError(f"feature {field} must be a str, got {type(value).__name__}")
        if not self.name:
            raise ValueError("feature name must not be empty")
        if self.factor not in FACTORS:
            raise ValueError(f"feature {self.name!r}: factor {self.factor!r} not in {FACTORS}")
        if self.direction not in DIRECTIONS:
            raise ValueError(
                f"feature {self.name!r}: direction {self.direction!r} not in {DIRECTIONS}"
            )
        if not self.reason.strip():
            raise ValueError(f"feature {self.name!r}: reason text must not be empty")
        if not isinstance(self.actionable, bool):
            raise TypeError(
                f"feature {self.name!r}: actionable must be a bool, "
                f"got {type(self.actionable).__name__}"
            )

    @property
    def sign(self) -> int:
        """+1 if a higher value may only raise the score, -1 if only lower it, 0 if free."""
        return {"increasing": 1, "decreasing": -1, "none": 0}[self.direction]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def as_meta(spec: object) -> FeatureMeta:
    """Copy any spec-like object into a ``FeatureMeta``, naming the attribute it lacks."""
    if isinstance(spec, FeatureMeta):
        return spec
    if isinstance(spec, dict):
        missing = [f for f in _FIELDS if f not in spec]
        if missing:
            raise TypeError(f"feature spec {spec!r} lacks {missing}")
        return FeatureMeta(**{f: spec[f] for f in _FIELDS})
    missing = [f for f in _FIELDS if not hasattr(spec, f)]
    if missing:
        raise TypeError(f"feature spec {spec!r} lacks attributes {missing}")
    return FeatureMeta(**{f: getattr(spec, f) for f in _FIELDS})


def resolve_features(features: Sequence[object] | None, names: Sequence[str]) -> list[FeatureMeta]:
    """Metadata for every input column; without metadata each column is a free 'history' input."""
    if features is None:
        return [FeatureMeta(n, "history", f"value of {n}") for n in names]
    if isinstance(features, str | bytes) or not isinstance(features, Sequence):
        raise TypeError(
            f"features must be a sequence of feature specs, got {type(features).__name__}"
        )
    metas = [as_meta(f) for f in features]
    if not metas:
        raise ValueError("features must name at least one feature")
    seen: set[str] = set()
    for m in metas:
        if m.name in seen:
            raise ValueError(f"feature {m.name!r} is listed twice")
        seen.add(m.name)
    return metas
