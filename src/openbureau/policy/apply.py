"""Applying a pack: which features a model may train on, and whether a model may score.

Training drops the features of forbidden factors before fitting, and says so. Scoring
refuses a model that uses a forbidden factor rather than neutralising it: any "neutral"
sub-score would be a made-up number (0 points is the worst, the mean is someone else's),
and it would leave the model's probabilities uncalibrated. Retraining under the pack is
the honest fix, and the error says how.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openbureau.contract import FACTORS
from openbureau.policy.pack import PolicyError, PolicyPack

if TYPE_CHECKING:  # the model package pulls in LightGBM: keep `openbureau policy` fast
    import pyarrow as pa

    from openbureau.model.meta import FeatureMeta


CAP_TOLERANCE = 0.05  # points: half the 0.1-point rounding of published sub-scores


@dataclass(frozen=True)
class DroppedFeature:
    name: str
    factor: str
    reason: str


@dataclass(frozen=True)
class PolicyDecision:
    """The features a pack lets a model use, the ones it drops and why."""

    pack: str
    digest: str
    kept: tuple[FeatureMeta, ...]
    dropped: tuple[DroppedFeature, ...]
    forbidden: tuple[tuple[str, str], ...]  # (factor, cite) of every factor the pack forbids

    @property
    def dropped_factors(self) -> dict[str, int]:
        """Features dropped per forbidden factor (0 when the factor had none)."""
        counts = {factor: 0 for factor, _ in self.forbidden}
        for d in self.dropped:
            counts[d.factor] += 1
        return counts

    @property
    def message(self) -> str:
        """One sentence a person can read, e.g. 'policy eu forbids the network factor (...):
        dropped 8 features'."""
        if not self.forbidden:
            return f"policy {self.pack} allows all five factors: kept {len(self.kept)} features"
        counts = self.dropped_factors
        parts = []
        for factor, cite in self.forbidden:
            n = counts[factor]
            did = f"dropped {n} feature{'s' if n != 1 else ''}" if n else "no features to drop"
            parts.append(f"policy {self.pack} forbids the {factor} factor ({cite}): {did}")
        return "; ".join(parts)

    def record(self) -> dict[str, Any]:
        return {
            "pack": self.pack,
            "digest": self.digest,
            "kept": len(self.kept),
            "dropped_factors": self.dropped_factors,
            "dropped_features": [d.name for d in self.dropped],
            "message": self.message,
        }


def apply_policy(features: Sequence[object], pack: PolicyPack) -> PolicyDecision:
    """Split feature specs (``FeatureMeta`` or anything with its attributes) into those the
    pack allows and those it drops, each dropped one with the pack's reason."""
    from openbureau.model.meta import as_meta

    kept: list[FeatureMeta] = []
    dropped: list[DroppedFeature] = []
    for spec in features:
        meta = as_meta(spec)
        rule = pack.forbidden(meta.factor)
        if rule is None:
            kept.append(meta)
        else:
            dropped.append(DroppedFeature(meta.name, meta.factor, f"{rule.cite}: {rule.why}"))
    return PolicyDecision(
        pack=pack.name,
        digest=pack.digest,
        kept=tuple(kept),
        dropped=tuple(dropped),
        forbidden=tuple((f.factor, f.cite) for f in pack.forbidden_factors),
    )


def drop_forbidden_columns(
    table: pa.Table, factor_of: Mapping[str, str], pack: PolicyPack
) -> pa.Table:
    """``table`` without the columns of forbidden factors, so their values are neither used
    nor hashed nor written; ``factor_of`` maps feature column names to factors."""
    gone = [c for c in table.column_names if c in factor_of and not pack.allows(factor_of[c])]
    return table.drop_columns(gone) if gone else table


def check_model(
    pack: PolicyPack,
    features: Sequence[FeatureMeta],
    factor_max_points: Mapping[str, Mapping[str, float]] | None = None,
    *,
    model_id: str = "the model",
) -> None:
    """Raise ``PolicyError`` if a model may not score under ``pack``: it uses a forbidden
    factor, or gives the network factor more points than the pack's cap."""
    for factor in FACTORS:
        rule = pack.forbidden(factor)
        used = [m.name for m in features if m.factor == factor]
        if rule is not None and used:
            shown = ", ".join(used[:5]) + (", ..." if len(used) > 5 else "")
            raise PolicyError(
                f"policy {pack.name} forbids the {factor} factor ({rule.cite}), but model "
                f"{model_id} uses {len(used)} {factor} feature{'s' if len(used) != 1 else ''} "
                f"({shown}): retrain it with --policy {pack.name}"
            )
    excess = network_excess(pack, factor_max_points)
    if excess is not None:
        segment, points = excess
        assert pack.network is not None
        raise PolicyError(
            f"policy {pack.name} caps the network factor at {pack.network.cap_points:g} points, "
            f"but model {model_id} gives it up to {points:.1f} points ({segment} files)"
        )


def network_excess(
    pack: PolicyPack, factor_max_points: Mapping[str, Mapping[str, float]] | None
) -> tuple[str, float] | None:
    """(segment, points) where the network factor can earn more than the pack's cap, or None."""
    if pack.network is None or not factor_max_points:
        return None
    segment, points = max(
        ((s, float(row.get("network", 0.0))) for s, row in factor_max_points.items()),
        key=lambda sp: sp[1],
    )
    return (segment, points) if points > pack.network.cap_points + CAP_TOLERANCE else None
