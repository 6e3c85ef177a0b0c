"""Check the promise of each feature's direction on the compiled step functions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from openbureau.model.bounded import NetworkGate
from openbureau.model.meta import FeatureMeta
from openbureau.model.tables import Shape


def monotone_violations(
    shapes: Sequence[Shape], metas: Sequence[FeatureMeta], tol: float = 1e-12
) -> list[str]:
    """Features whose log-odds of default move against their declared direction.

    'increasing' (a higher value never lowers the score) means the log-odds of default never
    rise from one value bin to the next; 'decreasing' the reverse. The NaN bin has no order.
    """
    bad = []
    for sh, m in zip(shapes, metas, strict=True):
        if m.sign == 0:
            continue
        steps = np.diff(sh.values[:, :-1], axis=1) * m.sign  # > 0: log-odds rise against it
        if steps.size and steps.max() > tol:
            bad.append(f"{m.name} ({m.direction}) rises by {steps.max():.3g} log-odds")
    return bad


def _excess(
    shapes: Sequence[Shape], intercept: np.ndarray, s: int, gate: NetworkGate | None
) -> float:
    """Worst case over all inputs of (log-odds in segment s+1) - (log-odds in segment s)."""
    members = set(gate.members) if gate is not None else set()
    worst = float(intercept[s + 1] - intercept[s])
    net = 0.0
    for j, sh in enumerate(shapes):
        d = float(np.max(sh.values[s + 1] - sh.values[s]))
        if j in members:
            net += d
        else:
            worst += d
    if gate is not None:  # gated rows get the neutral network sub-score instead
        net = max(net, float(gate.neutral_raw[s + 1] - gate.neutral_raw[s]))
    return worst + net


def segment_order_violations(
    shapes: Sequence[Shape],
    intercept: np.ndarray,
    segments: Sequence[str],
    gate: NetworkGate | None = None,
    tol: float = 1e-9,
) -> list[str]:
    """Consecutive segments where the later one can score below the earlier on equal inputs.

    The worst case over all inputs of (log-odds in segment s+1) - (log-odds in segment s):
    the intercepts' difference plus, per feature, the largest difference over its bins
    (features vary independently); with a network gate, the gated network sub-score
    (neutral) is the other case. Above 0, some person moved from segment s to s+1 with the
    same inputs would lose points.
    """
    bad = []
    for s in range(len(segments) - 1):
        worst = _excess(shapes, intercept, s, gate)
        if worst > tol:
            bad.append(
                f"segment {segments[s + 1]!r} can score below {segments[s]!r} on equal inputs "
                f"(by {worst:.3g} log-odds)"
            )
    return bad


def segment_order_shift(
    shapes: Sequence[Shape],
    intercept: np.ndarray,
    segments: Sequence[str],
    gate: NetworkGate | None = None,
) -> np.ndarray:
    """(S,) what to subtract from each segment's constant so the order holds exactly.

    Trees keep the order by construction; the network safeguards (a shrink and a neutral
    value per segment) can break it by a little, and this lowers a later segment's log-odds
    by exactly its excess, segment after segment.
    """
    fixed = np.array(intercept, dtype=np.float64)
    for s in range(len(segments) - 1):
        excess = _excess(shapes, fixed, s, gate)
        if excess > 0:
            fixed[s + 1] -= excess
    return np.asarray(intercept, dtype=np.float64) - fixed
