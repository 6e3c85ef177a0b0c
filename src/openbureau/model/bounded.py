"""The network factor's safeguards, applied to the compiled tables of any additive model.

Three promises, each enforced here rather than hoped for from training:

* **neutral below k contacts**: a person with fewer than ``min_contacts`` consented contacts
  (or none on file) gets the neutral network sub-score — the average of people with enough
  contacts in their segment — and no network reason; too few contacts is never a penalty;
* **capped**: the network sub-score spans at most ``cap`` points in every segment;
* **one contact moves a score by at most cap/k points**: every *exposure* feature (one whose
  value a single contact's default moves by at most 1/k; see ``openbureau.network``) has its
  shape shrunk until the points it can change over any value window of width 1/k, summed
  over the exposure features, are at most cap/k.

Shrinking keeps each shape's order (monotone stays monotone) and its training-weighted
mean, so the average log-odds, and with it the calibration, barely move; the model then
refits its calibration on the bounded tables. No library bounds a fitted GBM's sensitivity
to one input; this is a few lines of numpy over the step tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from openbureau.model.frame import Frame
from openbureau.model.meta import FeatureMeta
from openbureau.model.tables import Shape
from openbureau.network.config import ROUNDING_SLACK

NETWORK = "network"


@dataclass(frozen=True)
class NetworkGate:
    """What scoring needs: which rows are neutral, and the neutral raw log-odds per segment."""

    contacts: int  # feature index of the contact count
    min_contacts: int
    members: tuple[int, ...]  # feature indices of the network factor
    neutral_raw: np.ndarray  # (S,) sum of network shape values of a neutral person

    def gated(self, values: np.ndarray) -> np.ndarray:
        """Rows (columns of ``values``, features x rows) that get the neutral sub-score."""
        n = values[self.contacts]
        return ~(n >= self.min_contacts)  # NaN compares False: no contacts on file

    def to_json(self) -> dict[str, object]:
        return {
            "contacts": self.contacts,
            "min_contacts": self.min_contacts,
            "members": list(self.members),
            "neutral_raw": [float(v) for v in self.neutral_raw],
        }

    @classmethod
    def from_json(cls, d: dict[str, object]) -> NetworkGate:
        return cls(
            int(d["contacts"]),  # type: ignore[call-overload]
            int(d["min_contacts"]),  # type: ignore[call-overload]
            tuple(int(v) for v in d["members"]),  # type: ignore[attr-defined]
            np.array(d["neutral_raw"], dtype=np.float64),
        )


def network_members(features: Sequence[FeatureMeta]) -> list[int]:
    return [j for j, m in enumerate(features) if m.factor == NETWORK]


def window_variation(shape: Shape, width: float) -> np.ndarray:
    """(S,) the most the step function can change between two values at most ``width`` apart.

    Steps sit at the breaks; values within ``width`` of each other cross the breaks in some
    interval [b_i, b_i + width], so the largest sum of |jumps| over such runs of breaks is
    the bound (missing values are gated, so the NaN bin is not compared).
    """
    v = shape.values[:, :-1]
    jumps = np.abs(np.diff(v, axis=1))  # (S, k): jump at each break
    b = shape.breaks
    if b.size == 0:
        return np.zeros(v.shape[0])
    ends = np.searchsorted(b, b + width, side="right")
    csum = np.concatenate([np.zeros((v.shape[0], 1)), np.cumsum(jumps, axis=1)], axis=1)
    runs = csum[:, ends] - csum[:, np.arange(b.size)]
    return runs.max(axis=1)


def value_range(shape: Shape) -> np.ndarray:
    """(S,) max minus min over every bin, the missing-value bin included (as the model
    card's factor maxima count it)."""
    v = shape.values
    return v.max(axis=1) - v.min(axis=1)


def _shrink(shape: Shape, factor: np.ndarray, centre: np.ndarray) -> Shape:
    """Jumps times ``factor`` (per segment) around ``centre``; order and mean are kept."""
    f = np.minimum(factor, 1.0)[:, None]
    c = centre[:, None]
    return replace(shape, values=c + f * (shape.values - c))


def _weighted_centre(shape: Shape, frame: Frame, j: int, rows: np.ndarray) -> np.ndarray:
    """(S,) mean shape value over ``rows`` of each segment (the shape's own mean if none)."""
    S = shape.values.shape[0]
    idx = shape.bin_index(frame.values[j])
    vals = shape.values[frame.segment, idx]
    out = np.empty(S)
    for s in range(S):
        pick = rows & (frame.segment == s)
        out[s] = vals[pick].mean() if pick.any() else shape.values[s, :-1].mean()
    return out


def bound_network(
    shapes: Sequence[Shape],
    features: Sequence[FeatureMeta],
    frame: Frame,
    per_point: float,
    *,
    cap: float,
    min_contacts: int,
    contacts_feature: str,
    exposures: Sequence[str] | None,
) -> tuple[list[Shape], NetworkGate | None, dict[str, object]]:
    """Bounded shapes, the gate for scoring (None without a contact count), and a report.

    ``per_point`` converts raw log-odds into score points (scaling factor x calibration
    slope). ``exposures`` None treats every network feature but the contact count as an
    exposure: always safe, stricter than needed.
    """
    members = network_members(features)
    if not members:
        return list(shapes), None, {}
    names = [m.name for m in features]
    # Without a contact count (a bring-your-own table may have none) nobody can be told
    # apart as having too few contacts: the cap and the one-contact bound still hold.
    gate_j = names.index(contacts_feature) if contacts_feature in names else -1
    if gate_j >= 0 and features[gate_j].factor != NETWORK:
        raise ValueError(f"{contacts_feature!r} must be a network feature to gate the factor")
    if exposures is None:
        exposed = [j for j in members if j != gate_j]
    else:
        unknown = sorted(set(exposures) - {names[j] for j in members})
        if unknown:
            raise ValueError(f"network exposures {unknown} are not network features")
        exposed = [names.index(n) for n in exposures]
    out = list(shapes)
    S = shapes[0].values.shape[0]
    eligible = np.ones(frame.n_rows, bool)
    if gate_j >= 0:
        eligible = frame.values[gate_j] >= min_contacts
    centres = {j: _weighted_centre(out[j], frame, j, eligible) for j in members}

    # one contact: sum over exposures of the points moved in any 1/k window <= cap / k
    width = 1.0 / min_contacts + ROUNDING_SLACK  # the walk's grid can add ~1e-9 at most
    moved = sum((window_variation(out[j], width) for j in exposed), np.zeros(S)) * per_point
    # sub-scores are published in tenths: rounding can add 0.1 to a change, so keep 0.1 spare
    budget = max(cap / min_contacts - 0.1, 0.0)
    factor = np.where(moved > budget, budget / np.maximum(moved, 1e-300), 1.0)
    for j in exposed:
        out[j] = _shrink(out[j], factor, centres[j])
    # the whole factor: the sub-score spans at most cap points
    span = sum((value_range(out[j]) for j in members), np.zeros(S)) * per_point
    range_factor = np.where(span > cap, cap / np.maximum(span, 1e-300), 1.0)
    for j in members:
        out[j] = _shrink(out[j], range_factor, centres[j])

    neutral = np.zeros(S)
    for j in members:
        neutral += _weighted_centre(out[j], frame, j, eligible)
    gate = NetworkGate(gate_j, int(min_contacts), tuple(members), neutral) if gate_j >= 0 else None
    report: dict[str, object] = {
        "cap_points": float(cap),
        "min_contacts": int(min_contacts),
        "contacts_feature": contacts_feature if gate_j >= 0 else None,
        "exposures": [names[j] for j in exposed],
        "one_contact_points_before": [float(v) for v in moved],
        "one_contact_shrink": [float(min(f, 1.0)) for f in factor],
        "range_points_before": [float(v) for v in span],
        "range_shrink": [float(min(f, 1.0)) for f in range_factor],
        "neutral_share": float(1.0 - eligible.mean()) if eligible.size else 0.0,
    }
    return out, gate, report


def gated_raw(shapes: Sequence[Shape], gate: NetworkGate | None, frame: Frame) -> np.ndarray:
    """(n,) what the gate adds to each row's raw log-odds instead of its network shapes."""
    out = np.zeros(frame.n_rows)
    if gate is None:
        return out
    g = gate.gated(frame.values)
    if not g.any():
        return out
    actual = np.zeros(int(g.sum()))
    seg = frame.segment[g]
    for j in gate.members:
        idx = shapes[j].bin_index(frame.values[j, g])
        actual += shapes[j].values[seg, idx]
    out[g] = gate.neutral_raw[seg] - actual
    return out
